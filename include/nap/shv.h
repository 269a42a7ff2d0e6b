/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * SHV point configuration (doc/man/napctl.8 "shv", napvd.conf(5) [managed]): the settings
 * napsited keeps for each SHV point (napvd host), the settings file nap-shv.conf it writes into
 * that host's configuration share over SMB, and the status file nap-shv.status napvd writes
 * back beside it.
 *
 * The settings file is INI with the section and key names of napvd.conf ([hsr], [validation])
 * plus [shv] for the revision and the site code. napctl validates it before a push and napvd
 * validates it again before it applies it, with this same parser: the file comes from a share
 * and is untrusted input. Every value is kept in normal form as text; a key that is not set
 * leaves napvd.conf's value in force on the SHV point. Secrets never travel in the file: the
 * LDAP bind password is named by bind_password_file, a path on the napvd host.
 *
 * Store functions for the shv_points table are in the second half (lib/site/shv_store.c,
 * libnapsite); the settings model above them links without the store (libnapshv), so napvd
 * uses it without SQLite or libpq.
 */
#ifndef NAP_SHV_H
#define NAP_SHV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define NAP_SHV_FILE_NAME   "nap-shv.conf"
#define NAP_SHV_STATUS_NAME "nap-shv.status"
#define NAP_SHV_FILE_MAX    (64 * 1024) /* bytes of a settings file */
#define NAP_SHV_STATUS_MAX  (64 * 1024) /* bytes of a status file */
#define NAP_SHV_LINE_MAX    197         /* inih's line limit minus CR, LF and NUL (as napvd.conf) */
#define NAP_SHV_MAX_URIS    16          /* napvd's NAPVD_HSR_MAX_URIS */
#define NAP_SHV_MAX_SITES   256         /* NAP_HSR_MAX_SITES */
#define NAP_SHV_MAX_KNOWN_ERRORS 64     /* napvd's NAPVD_MAX_KNOWN_ERRORS */
#define NAP_SHV_MAX_ERRORS  16          /* messages one parse collects */
#define NAP_SHV_ERROR_LEN   256
#define NAP_SHV_HOST_MAX    253         /* an SHV point's name (DNS name) */
#define NAP_SHV_URL_MAX     1024        /* smb://HOST[:PORT]/SHARE[/DIR] */
#define NAP_SHV_PATH_MAX    1024
#define NAP_SHV_REVISION_MAX 9007199254740991ULL /* 2^53 - 1: exact in JSON numbers */

/* The managed settings, in the order the file lists them. */
enum nap_shv_key {
	NAP_SHV_SITE = 0,           /* [shv] site: the SHV point's own site code */
	NAP_SHV_SITES,              /* [hsr] sites: more sites it trusts (roaming) */
	NAP_SHV_URI,                /* [hsr] uri: ldap:// or ldaps:// directory URIs, in order */
	NAP_SHV_BASE,               /* [hsr] base DN */
	NAP_SHV_BIND_DN,            /* [hsr] bind_dn */
	NAP_SHV_BIND_PASSWORD_FILE, /* [hsr] bind_password_file: a path on the napvd host */
	NAP_SHV_QUERY_INTERVAL,     /* [hsr] query_interval */
	NAP_SHV_MAX_AGE,            /* [hsr] max_age */
	NAP_SHV_VALIDITY_PERIOD,    /* [validation] validity_period */
	NAP_SHV_ABSOLUTE_CUTOFF,    /* [validation] absolute_cutoff (RFC 3339 UTC or none) */
	NAP_SHV_CLIENT_COMPONENT,   /* [validation] failure category mappings: */
	NAP_SHV_CLIENT_COMMUNICATION, /*   compliant or noncompliant */
	NAP_SHV_SERVER_COMPONENT,
	NAP_SHV_SERVER_COMMUNICATION,
	NAP_SHV_OTHER,
	NAP_SHV_KNOWN_CLIENT_ERRORS, /* [validation] known_client_errors: codes, may be empty */
	NAP_SHV_KEY_COUNT
};

/*
 * value[k] is the key's value in normal form (durations as 26h, codes as 0x%08x, lists
 * space-separated), or NULL when the key is not managed (napvd.conf's value stays).
 */
struct nap_shv_settings {
	uint64_t revision; /* from the file; the store keeps its own column */
	char *value[NAP_SHV_KEY_COUNT];
};

struct nap_shv_errors {
	size_t n;
	size_t dropped; /* errors past NAP_SHV_MAX_ERRORS */
	char msg[NAP_SHV_MAX_ERRORS][NAP_SHV_ERROR_LEN];
};

/* The key's name ("validity_period"), its section ("validation"); NULL past the end. */
const char *nap_shv_key_name(enum nap_shv_key k);
const char *nap_shv_key_section(enum nap_shv_key k);
/* The key of a name, or -EINVAL. */
int nap_shv_key_from_name(const char *name, enum nap_shv_key *k);

void nap_shv_settings_init(struct nap_shv_settings *s);
void nap_shv_settings_clear(struct nap_shv_settings *s);
int nap_shv_settings_copy(struct nap_shv_settings *dst, const struct nap_shv_settings *src);
bool nap_shv_settings_equal(const struct nap_shv_settings *a, const struct nap_shv_settings *b);

/*
 * Set one key from text (a command line, the store): validated and normalised; value NULL
 * unsets it. 0, -EINVAL (why in err) or -ENOMEM. A failed set leaves s as it was.
 */
int nap_shv_settings_set(struct nap_shv_settings *s, enum nap_shv_key k, const char *value,
			 char *err, size_t err_len);
/* Checks across keys (site is required; bind_dn and bind_password_file go together). */
int nap_shv_settings_check(const struct nap_shv_settings *s, char *err, size_t err_len);

/*
 * Parse and validate a whole settings file (untrusted; need not be NUL-terminated). Every
 * problem is collected into errs (with its line); nothing is half-read: on error *out is
 * empty. 0, -EINVAL or -ENOMEM. *out must be initialised; it is cleared first.
 */
int nap_shv_settings_parse(const char *text, size_t len, struct nap_shv_settings *out,
			   struct nap_shv_errors *errs);
/*
 * The file for host at revision (written over SMB). *out is NUL-terminated, free() it.
 * 0 or -ENOMEM; -EINVAL when the settings break a rule (what the parser would refuse).
 */
int nap_shv_settings_render(const struct nap_shv_settings *s, const char *host,
			    uint64_t revision, char **out, size_t *len);

/*
 * What napvd applies: each managed key as the napvd.conf section, key and value that says the
 * same (site and sites become one [hsr] sites list, absolute_cutoff none an empty value).
 * Stops at and returns the first non-zero cb return.
 */
int nap_shv_settings_each(const struct nap_shv_settings *s,
			  int (*cb)(const char *section, const char *key, const char *value,
				    void *arg),
			  void *arg);

/* The settings as a JSON object of key: value (the store's settings column), and back. */
json_t *nap_shv_settings_to_json(const struct nap_shv_settings *s);
int nap_shv_settings_from_json(const json_t *obj, struct nap_shv_settings *out, char *err,
			       size_t err_len);

/* An SHV point's name: 1..253 of [A-Za-z0-9.-_]. An smb:// URL of the configuration share. */
bool nap_shv_host_valid(const char *host);
bool nap_shv_url_valid(const char *url);

/* ---- the status file napvd writes beside the settings file ---- */

enum nap_shv_result {
	NAP_SHV_ACCEPTED = 0,
	NAP_SHV_REJECTED,
};

struct nap_shv_status {
	uint64_t revision;         /* of the file judged (0: it had none readable) */
	uint64_t running_revision; /* in force after the decision (0: napvd.conf alone) */
	enum nap_shv_result result;
	int64_t applied;           /* Unix seconds of the decision */
	size_t n_errors;
	char errors[NAP_SHV_MAX_ERRORS][NAP_SHV_ERROR_LEN];
};

/* The JSON text of a status (one line, newline-terminated); free() it. NULL on ENOMEM. */
char *nap_shv_status_format(const struct nap_shv_status *st);
/* Parse a status file (untrusted). 0 or -EINVAL with why. */
int nap_shv_status_parse(const char *text, size_t len, struct nap_shv_status *out, char *why,
			 size_t why_len);

/* ---- the store's shv_points (lib/site/shv_store.c) ---- */

struct nap_store;
struct nap_store_err;

struct nap_shv_point {
	char host[NAP_SHV_HOST_MAX + 1];
	char url[NAP_SHV_URL_MAX + 1];          /* the share (directory) holding nap-shv.conf */
	char credentials[NAP_SHV_PATH_MAX + 1]; /* smbclient -A file on the site server */
	struct nap_shv_settings settings;
	uint64_t revision;        /* bumped by every change of the settings */
	uint64_t pushed_revision; /* written to the share; 0 never */
	int64_t pushed;           /* Unix seconds of that push, 0 never */
	char *status;             /* accepted, rejected, or NULL before any read back */
	char *status_detail;      /* the status file's JSON text, or the error reading it */
	int64_t created, updated;
};

void nap_shv_point_clear(struct nap_shv_point *p);
void nap_shv_points_free(struct nap_shv_point *v, size_t n);

/* Add a point at revision 1 (-EEXIST when host is present). */
int nap_store_shv_add(struct nap_store *st, const struct nap_shv_point *p,
		      struct nap_store_err *err);
int nap_store_shv_get(struct nap_store *st, const char *host, struct nap_shv_point *out,
		      struct nap_store_err *err);
/* Every point, by host. */
int nap_store_shv_list(struct nap_store *st, struct nap_shv_point **out, size_t *n,
		       struct nap_store_err *err);
/*
 * Replace url, credentials (either NULL: keep) and the settings; the revision moves on only when
 * the settings changed. *revision (may be NULL) gets the point's revision after the write.
 */
int nap_store_shv_update(struct nap_store *st, const char *host, const char *url,
			 const char *credentials, const struct nap_shv_settings *s,
			 uint64_t *revision, struct nap_store_err *err);
int nap_store_shv_remove(struct nap_store *st, const char *host, struct nap_store_err *err);
/* A push of revision finished at time when (never moves pushed_revision backwards). */
int nap_store_shv_pushed(struct nap_store *st, const char *host, uint64_t revision,
			 int64_t when, struct nap_store_err *err);
/* What was read back: status (accepted, rejected, pending, unreachable) and its detail. */
int nap_store_shv_status_put(struct nap_store *st, const char *host, const char *status,
			     const char *detail, struct nap_store_err *err);

/* ---- over SMB (lib/site/shv_smb.c, links libsmbclient) ---- */

struct nap_smb;

/* Write p's settings file at p's revision into p->url. 0 or a negative errno with err. */
int nap_shv_push(struct nap_smb *smb, const struct nap_shv_point *p, char *err, size_t err_len);
/*
 * Read nap-shv.status from url: *raw (free()) is the file's text, *out its parse. -ENOENT when
 * napvd has written none yet; -EINVAL when it does not parse (why in err).
 */
int nap_shv_status_fetch(struct nap_smb *smb, const char *url, struct nap_shv_status *out,
			 char **raw, char *err, size_t err_len);

#endif
