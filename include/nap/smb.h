/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * SMB file access over libsmbclient, for the files nap moves between hosts on port 445 (status
 * messages from napvd to the site server's inbox share, the SHV point's settings file).
 *
 * Security: SMB3 only (client min and max protocol SMB3: 3.0, 3.0.2 or 3.1.1), signing
 * required (the session fails rather than run unsigned), NTLMv2 with the user and password of
 * a credentials file, never Kerberos and never an anonymous or guest fallback.
 *
 * URLs are smb://HOST[:PORT]/SHARE/PATH (PORT defaults to 445). Functions return 0 or a
 * negative errno and put a sentence into err saying why: "logon failure (wrong user or
 * password)", "connection refused", "no such file or directory", "disk full" etc.
 *
 * libsmbclient keeps process-wide state (its configuration, debug settings). One mutex in this
 * module serialises every call into it, so handles may live in different threads; a call
 * blocks its caller for up to the timeout (10 s per network operation by default), so daemons
 * call these functions off their request path.
 */
#ifndef NAP_SMB_H
#define NAP_SMB_H

#include <stddef.h>
#include <stdint.h>

struct nap_smb;

/* Largest file nap_smb_get reads (and the default for max = 0). */
#define NAP_SMB_GET_MAX (64u * 1024 * 1024)

/*
 * A handle authenticated by the credentials file (smbclient -A format: "username = U",
 * "password = P", optional "domain = D"; # and ; comments). The file must be a regular file
 * only its owner may read or write (mode 0600 or stricter): anything else is refused with
 * -EPERM, as an unreadable or incomplete file is with -EINVAL. No connection is made yet; the
 * first operation connects (and reconnects after a dropped session).
 */
int nap_smb_open(struct nap_smb **out, const char *credentials_file, char *err, size_t errlen);
void nap_smb_close(struct nap_smb *s);

/* Network operation timeout in milliseconds (default 10000). */
void nap_smb_set_timeout(struct nap_smb *s, int timeout_ms);

/*
 * Write len bytes to url: first to ".NAME.XXXXXXXX.tmp" (random, one per put) in the same
 * directory, then renamed over NAME, so a reader of the directory never sees a partial file under
 * NAME and two writers of NAME at once do not disturb each other (the last rename wins; a
 * sharing violation on the rename is retried for up to 620 ms). A failure removes the temporary
 * file when it can.
 */
int nap_smb_put(struct nap_smb *s, const char *url, const void *data, size_t len, char *err,
		size_t errlen);
/* Read a whole file of at most max bytes (0: NAP_SMB_GET_MAX; larger: -EFBIG). *data is
 * NUL-terminated (one byte more than *len) and freed by the caller. */
int nap_smb_get(struct nap_smb *s, const char *url, size_t max, uint8_t **data, size_t *len,
		char *err, size_t errlen);
/*
 * Call cb for each regular file in dir_url ("." and "..", directories and other entries are
 * left out). A non-zero return from cb stops the listing and is returned.
 */
int nap_smb_list(struct nap_smb *s, const char *dir_url, int (*cb)(const char *name, void *arg),
		 void *arg, char *err, size_t errlen);
int nap_smb_unlink(struct nap_smb *s, const char *url, char *err, size_t errlen);
/* Rename within one share; an existing target is replaced. */
int nap_smb_rename(struct nap_smb *s, const char *from_url, const char *to_url, char *err,
		   size_t errlen);
/* Create a directory and its missing parents below the share (like mkdir -p). */
int nap_smb_mkdir_p(struct nap_smb *s, const char *dir_url, char *err, size_t errlen);

#endif
