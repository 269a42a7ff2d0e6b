/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Small helpers shared by libnap and the programs: hex text, escaping wire bytes for logs,
 * time conversion (Unix seconds <-> FILETIME), constant-time compare and key wiping, and the
 * start-up chores both daemons share (secret files, dropping root, the pidfile).
 */
#ifndef NAP_UTIL_H
#define NAP_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define NAP_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* 100-ns intervals between 1601-01-01 and 1970-01-01. */
#define NAP_FILETIME_UNIX_EPOCH 116444736000000000ULL

uint64_t nap_unix_to_filetime(int64_t unix_seconds);
int64_t nap_filetime_to_unix(uint64_t filetime);

/*
 * Decode hex text: whitespace (spaces, tabs, newlines) and lines starting with '#' are skipped;
 * an optional "0x" prefix per token is accepted. Returns the byte count or a negative error;
 * *bad_at receives the offset in the text of the first offending character.
 */
long nap_hex_decode(const char *text, size_t text_len, uint8_t *out, size_t out_cap,
		    size_t *bad_at);
/* Lowercase hex of n bytes into out (2n+1 bytes, NUL-terminated). */
void nap_hex_encode(const uint8_t *p, size_t n, char *out);

/* Escape bytes for a log line: printable ASCII kept, everything else \xNN; always NUL-terminates. */
void nap_escape(const uint8_t *p, size_t n, char *out, size_t out_cap);

bool nap_consttime_eq(const void *a, const void *b, size_t n);
/* CLOCK_MONOTONIC in milliseconds: for timeouts and intervals, never for dates. */
int64_t nap_mono_ms(void);
/* Two optional strings are the same: both NULL, or both set and equal. */
bool nap_streq_null(const char *a, const char *b);
void nap_wipe(void *p, size_t n);

/* Read a whole file (at most max bytes). Returns 0 or a negative errno. Caller frees *out. */
int nap_read_file(const char *path, size_t max, uint8_t **out, size_t *out_len);
/*
 * Read a text file (a configuration file) of at most max bytes: NUL-terminated, refused with
 * -EINVAL when it holds a NUL byte (the text would be cut short). err gets "PATH: reason".
 * Returns 0 or a negative errno; the caller frees *text.
 */
int nap_read_text_file(const char *path, size_t max, char **text, size_t *len, char *err,
		       size_t err_len);
/*
 * A TLS listener's certificate and key (PEM text, as read from cert_path and key_path) checked
 * before they are handed to a TLS library that says little about them: both parse and belong
 * together. err gets "WHO: PATH: reason". Returns 0 or -EINVAL.
 */
int nap_tls_pair_check(const char *cert_pem, const char *key_pem, const char *cert_path,
		       const char *key_path, const char *who, char *err, size_t err_len);
/*
 * What every configuration file is checked for before the INI reader sees it (the reader cuts
 * long lines and takes some control characters for blanks): no line longer than line_max
 * characters (a CR before the LF not counted) and no control character but a tab. Returns 0,
 * or -E2BIG (too long) or -EINVAL (a control character) with *line (from 1) and the reason in
 * why ("longer than 197 characters", "control character 0x0b").
 */
int nap_conf_text_check(const char *text, size_t line_max, int *line, char *why, size_t why_len);
/* inih's compiled-in line limit (INI_MAX_LINE 200) less CR, LF and NUL. */
#define NAP_CONF_LINE_MAX 197

/* Write a file atomically (tmp + fsync + rename + fsync dir). */
int nap_write_file_atomic(const char *path, const void *p, size_t n, unsigned mode);
/*
 * Remove the temporary files of puts whose writer stopped between creating and renaming them:
 * regular files in dir named ".PREFIX*.tmp" (prefix "" for any) last modified before
 * older_than (Unix seconds; now - NAP_TMP_STALE_S in the daemons). Each put has its own
 * temporary name, so nothing else would ever replace them. Each removal is logged as "WHO:
 * removed DIR/NAME ...". Returns how many were removed, or -errno when dir cannot be read.
 */
int nap_sweep_stale_tmp(const char *dir, const char *prefix, int64_t older_than, const char *who);
#define NAP_TMP_STALE_S 86400 /* a temporary file untouched this long has no writer left */

/*
 * Read a one-line secret (a bind password) from a file only its owner may read: the path must
 * name a regular file, not a symbolic link (-ELOOP), with no group or other permission bits
 * (-EPERM; *mode, when not NULL, receives the permission bits so the caller can word the
 * refusal). One trailing newline (LF or CRLF) is dropped; what is left must be 1 to max bytes
 * (-EINVAL empty, -EFBIG longer) with no NUL or line break (-EINVAL). Returns 0 and a
 * NUL-terminated *out (wipe it, then free it), or a negative errno with a message in err that
 * does not name the path and never holds the secret. The read buffer is wiped.
 */
int nap_read_secret_file(const char *path, size_t max, char **out, unsigned *mode, char *err,
			 size_t err_len);

/*
 * Give up root for good: supplementary groups, then real/effective/saved gid and uid, become
 * user's; afterwards regaining root must fail. Not running as root, it succeeds only when the
 * process already is that user. Returns 0 after a switch, 1 when there was nothing to switch,
 * or a negative errno with a message in err.
 */
int nap_drop_privileges(const char *user, char *err, size_t err_len);

/* Write "PID\n" to path atomically, mode 0644. Returns 0 or a negative errno. */
int nap_write_pidfile(const char *path);

struct addrinfo;
/*
 * Resolve "ADDR:PORT" or "[V6ADDR]:PORT" (numeric port) for UDP. Returns 0 or -EINVAL for a
 * malformed string, -EHOSTUNREACH when the name does not resolve. Free with freeaddrinfo().
 */
int nap_resolve_udp(const char *hostport, struct addrinfo **res);

/* Parse a duration such as "90", "90s", "15m", "26h", "7d" into seconds. */
int nap_parse_duration(const char *s, int64_t *seconds);
/* Parse an RFC 3339 UTC time "2026-11-25T10:00:00Z" (or date only) into Unix seconds. */
int nap_parse_time(const char *s, int64_t *unix_seconds);
/* Format Unix seconds as RFC 3339 UTC into out (at least 21 bytes). */
void nap_format_time(int64_t unix_seconds, char *out, size_t out_cap);

#endif
