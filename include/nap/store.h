/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The site store: napsited's NAP policies, exemptions, client groups, the policy revision,
 * agent enrollment and agent state. One narrow interface, two backends: SQLite (default; WAL,
 * one file) and PostgreSQL (the scale option). Both apply the same numbered migrations on open.
 * napctl and napsited open the same store; every change that alters what the HSR says (policies,
 * exemptions, groups, checks) bumps the revision in the same transaction, and napsited publishes when it
 * sees the revision move.
 *
 * Everything that comes in (napctl, import files, the agent endpoint) passes
 * nap_policy_check() / nap_exemption_check() / nap_group_check() before it is stored: the rules
 * are the HSR's (doc/hsr.md), so whatever the store holds can be published. A rejected write
 * changes nothing.
 *
 * Return values: 0 or a negative errno; err (when not NULL) gets a message for the admin.
 *   -EINVAL  input breaks a rule          -EEXIST  id already present (add without replace)
 *   -ENOENT  no such id / token           -ESTALE  token expired
 *   -EALREADY token already used          -EIO     backend error (message in err)
 *   -EBUSY   database locked past the busy timeout
 *   -ENOSPC  the write would take the store past what one HSR carries (NAP_HSR_MAX_POLICIES
 *            policies, NAP_STORE_MAX_EXEMPTIONS exemptions, NAP_STORE_MAX_GROUPS groups)
 *   -EMSGSIZE the HSR document would exceed NAP_HSR_MAX_LEN
 *   -EPROTO  the database's schema is newer than this program
 *
 * A write that changes nothing (the same policy, exemption or group put again) is no change:
 * it succeeds and leaves the revision where it was. A struct nap_store may be shared between
 * threads: each call holds the handle's lock for its duration.
 */
#ifndef NAP_STORE_H
#define NAP_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nap/health.h"
#include "nap/hsr.h"

#define NAP_STORE_ERR_MAX      256
#define NAP_POLICY_ID_MAX      NAP_UPDATE_ID_MAX /* 63: travels in the SoH missing list */
#define NAP_POLICY_MAX_REQS    256               /* packages one advisory can require */
#define NAP_CLIENT_NAME_MAX    NAP_HSR_MAX_CLIENT     /* machine name or glob */
#define NAP_GROUP_NAME_MAX     NAP_HSR_MAX_GROUP_NAME
#define NAP_GROUP_MAX_MEMBERS  10000
#define NAP_STORE_MAX_EXEMPTIONS 10000 /* what one HSR carries */
#define NAP_STORE_MAX_GROUPS     10000
#define NAP_EXEMPTION_MAX_POLICIES 256
#define NAP_AGENT_TOKEN_LEN    32 /* raw bytes; shown as 64 hex chars */
#define NAP_AGENT_MAX_MISSING  NAP_HEALTH_MAX_MISSING
#define NAP_AGENT_DETAIL_MAX   (64 * 1024) /* agent state detail text, bytes */
#define NAP_AGENT_HISTORY_MAX  1000        /* history entries kept per client, oldest dropped */

struct nap_store_err {
	char msg[NAP_STORE_ERR_MAX];
};

/* ---- open / close ---- */

/*
 * Open (and create/migrate) a store.
 *   "sqlite:/path/to/site.db" or a plain path        SQLite, WAL, busy timeout 5 s
 *   "postgresql://..." or "postgres://..."            PostgreSQL, libpq connection URI
 *   "pg:host=... dbname=..."                          PostgreSQL, libpq key=value conninfo
 */
struct nap_store;
int nap_store_open(const char *uri, struct nap_store **out, struct nap_store_err *err);
void nap_store_close(struct nap_store *st);
const char *nap_store_backend(const struct nap_store *st); /* "sqlite" or "postgresql" */
int nap_store_schema_version(struct nap_store *st, int *version);
/* The newest schema version this program knows (what nap_store_open migrates to). */
int nap_store_schema_latest(void);

/* The rules of single names, shared with the parsers of napctl and the import files. */
bool nap_policy_id_valid(const char *id);         /* policy and exemption ids */
bool nap_client_name_valid(const char *name);     /* machine names and globs */
bool nap_group_name_valid(const char *name);
bool nap_severity_valid(const char *severity);
const char *nap_policy_scheme_name(enum nap_version_scheme scheme); /* NULL if unknown */

/* ---- policies ---- */

struct nap_policy_req {
	char *package;     /* package name */
	char *min_version; /* minimum version, scheme's syntax */
	enum nap_version_scheme scheme;
};

struct nap_policy {
	char id[NAP_POLICY_ID_MAX + 1]; /* [A-Za-z0-9._:+~-], unique */
	/*
	 * Required updates: one (a package policy) or several (an advisory id resolving to a list,
	 * the id being the advisory's); none = advisory-only, judged by the agent by other means.
	 * No package twice with the same scheme. The store returns them in the HSR's canonical
	 * order (by package, then scheme name).
	 */
	struct nap_policy_req *reqs;
	size_t n_reqs;
	char severity[16]; /* critical | important | moderate | low */
	int64_t effective; /* Unix seconds UTC; 0 = as soon as possible */
	char *reason;      /* free text or NULL, <= NAP_HSR_MAX_REASON bytes, no control chars */
	int64_t created, updated; /* set by the store */
};

struct nap_policy_list {
	size_t n;
	struct nap_policy *v; /* sorted by id (byte order) */
};

/* The HSR's rules (doc/hsr.md) on one policy; 0 or -EINVAL with err. */
int nap_policy_check(const struct nap_policy *p, struct nap_store_err *err);
void nap_policy_clear(struct nap_policy *p); /* frees members, not p */
void nap_policy_list_free(struct nap_policy_list *l);

/* Add one policy; -EEXIST unless replace. *revision (may be NULL) gets the new revision. */
int nap_store_policy_put(struct nap_store *st, const struct nap_policy *p, bool replace,
			 uint64_t *revision, struct nap_store_err *err);
int nap_store_policy_get(struct nap_store *st, const char *id, struct nap_policy *out,
			 struct nap_store_err *err);
int nap_store_policy_list(struct nap_store *st, struct nap_policy_list **out,
			  struct nap_store_err *err);
int nap_store_policy_remove(struct nap_store *st, const char *id, uint64_t *revision,
			    struct nap_store_err *err);
/*
 * Import many in one transaction and one revision: every policy is checked first, nothing is
 * written if one fails (err names its index and id). replace_all removes policies absent from
 * the list; otherwise existing ids are replaced and others kept.
 */
int nap_store_policy_import(struct nap_store *st, const struct nap_policy *v, size_t n,
			    bool replace_all, uint64_t *revision, struct nap_store_err *err);

/* ---- exemptions and groups ---- */

struct nap_exemption {
	char id[NAP_POLICY_ID_MAX + 1];
	char *client; /* machine name or glob (fnmatch, case-insensitive), or NULL */
	char *group;  /* group name, or NULL; exactly one of client / group */
	char **policies; /* policy ids the exemption covers; n_policies == 0: all */
	size_t n_policies;
	int64_t from, until; /* Unix seconds; 0 = open-ended */
	char *reason;
	int64_t created;
};

struct nap_exemption_list {
	size_t n;
	struct nap_exemption *v; /* sorted by id */
};

struct nap_group {
	char name[NAP_GROUP_NAME_MAX + 1]; /* [A-Za-z0-9._-] */
	char **members; /* machine names or globs, sorted, unique */
	size_t n_members;
};

struct nap_group_list {
	size_t n;
	struct nap_group *v; /* sorted by name */
};

int nap_exemption_check(const struct nap_exemption *e, struct nap_store_err *err);
void nap_exemption_clear(struct nap_exemption *e);
void nap_exemption_list_free(struct nap_exemption_list *l);
int nap_group_check(const struct nap_group *g, struct nap_store_err *err);
void nap_group_clear(struct nap_group *g);
void nap_group_list_free(struct nap_group_list *l);

int nap_store_exemption_put(struct nap_store *st, const struct nap_exemption *e, bool replace,
			    uint64_t *revision, struct nap_store_err *err);
int nap_store_exemption_get(struct nap_store *st, const char *id, struct nap_exemption *out,
			    struct nap_store_err *err);
int nap_store_exemption_list(struct nap_store *st, struct nap_exemption_list **out,
			     struct nap_store_err *err);
int nap_store_exemption_remove(struct nap_store *st, const char *id, uint64_t *revision,
			       struct nap_store_err *err);
/* Create or replace a group with exactly these members. */
int nap_store_group_put(struct nap_store *st, const struct nap_group *g, uint64_t *revision,
			struct nap_store_err *err);
int nap_store_group_get(struct nap_store *st, const char *name, struct nap_group *out,
			struct nap_store_err *err);
int nap_store_group_list(struct nap_store *st, struct nap_group_list **out,
			 struct nap_store_err *err);
int nap_store_group_remove(struct nap_store *st, const char *name, uint64_t *revision,
			   struct nap_store_err *err);

/* ---- checks (doc/hsr.md "checks") ---- */

/* What one SoH reports results for: more checks could never all pass. */
#define NAP_STORE_MAX_CHECKS NAP_HEALTH_MAX_CHECKS

struct nap_check {
	char id[NAP_POLICY_ID_MAX + 1]; /* the policy id rule; no policy may have the same id */
	enum nap_check_type type;
	char severity[16];
	int64_t effective; /* Unix seconds UTC; 0 = as soon as possible */
	char *reason;      /* or NULL */
	/* Type parameters, as the HSR's check objects; the others are 0 / NULL. */
	int64_t max_age;   /* antivirus: seconds, required (> 0) */
	char *path;        /* file: absolute path, required */
	char *sha256;      /* file: 64 lowercase hex digits, optional */
	char *unit;        /* service: systemd unit name, required */
	char **argv;       /* command: 1..NAP_HSR_MAX_ARGV, argv[0] absolute, required */
	size_t n_argv;
	int expect_exit;   /* command: 0..255 */
	int64_t created, updated; /* set by the store */
};

struct nap_check_list {
	size_t n;
	struct nap_check *v; /* sorted by id */
};

/* The HSR's rules on one check; 0 or -EINVAL with err. */
int nap_check_validate(const struct nap_check *c, struct nap_store_err *err);
void nap_check_clear(struct nap_check *c);
void nap_check_list_free(struct nap_check_list *l);

/*
 * Add a check (-EEXIST unless replace; -EEXIST too when a policy has its id, and adding a
 * policy with a check's id fails the same way); -ENOSPC past NAP_STORE_MAX_CHECKS. Every
 * change bumps the revision.
 */
int nap_store_check_add(struct nap_store *st, const struct nap_check *c, bool replace,
			uint64_t *revision, struct nap_store_err *err);
int nap_store_check_get(struct nap_store *st, const char *id, struct nap_check *out,
			struct nap_store_err *err);
int nap_store_check_list(struct nap_store *st, struct nap_check_list **out,
			 struct nap_store_err *err);
int nap_store_check_remove(struct nap_store *st, const char *id, uint64_t *revision,
			   struct nap_store_err *err);

/* ---- revision and the HSR ---- */

/* Current revision (0 before the first change) and when it last changed. */
int nap_store_revision(struct nap_store *st, uint64_t *revision, int64_t *changed,
		       struct nap_store_err *err);

/* Everything the HSR carries, read in one consistent transaction. */
struct nap_store_snapshot {
	uint64_t revision;
	int64_t changed;
	struct nap_policy_list *policies;
	struct nap_exemption_list *exemptions;
	struct nap_group_list *groups;
	struct nap_check_list *checks;
};
int nap_store_snapshot(struct nap_store *st, struct nap_store_snapshot **out,
		       struct nap_store_err *err);
void nap_store_snapshot_free(struct nap_store_snapshot *s);

/*
 * The unsigned HSR document (doc/hsr.md) for a snapshot: site, revision (at least 1), issued,
 * policies, exemptions, groups, checks. Malloc'ed, NUL-terminated; feed it to nap_hsr_sign().
 */
int nap_store_hsr_document(const struct nap_store_snapshot *s, const char *site, int64_t issued,
			   char **out, struct nap_store_err *err);

/* What napsited last published where (napctl hsr show reports it). */
struct nap_publish_record {
	char site[NAP_SITE_MAX + 1];
	uint64_t revision;
	int64_t published; /* Unix seconds */
	char target[256];  /* directory URI + DN */
};
int nap_store_publish_record_put(struct nap_store *st, const struct nap_publish_record *r,
				 struct nap_store_err *err);
int nap_store_publish_record_get(struct nap_store *st, const char *site,
				 struct nap_publish_record *out, struct nap_store_err *err);

/* ---- agents ---- */

/* One-time enrollment token: only its SHA-256 is stored. */
int nap_store_token_add(struct nap_store *st, const char *client,
			const uint8_t hash[32], int64_t expires, struct nap_store_err *err);
/* Consume a token atomically: the client name it was issued for. */
int nap_store_token_use(struct nap_store *st, const uint8_t hash[32], int64_t now,
			char client[NAP_CLIENT_NAME_MAX + 1], struct nap_store_err *err);

/* Certificates issued to agents (serial as lowercase hex). */
struct nap_agent_cert {
	char client[NAP_CLIENT_NAME_MAX + 1];
	char serial[65];
	int64_t issued, not_after;
	bool revoked;
};
int nap_store_agent_cert_add(struct nap_store *st, const struct nap_agent_cert *c,
			     struct nap_store_err *err);
int nap_store_agent_cert_get(struct nap_store *st, const char *serial, struct nap_agent_cert *out,
			     struct nap_store_err *err);
/* Revoke every certificate of a client; -ENOENT when it has none. */
int nap_store_agent_revoke(struct nap_store *st, const char *client, struct nap_store_err *err);

/* ConfigMgr topic-200 states. */
enum nap_agent_state_id {
	NAP_AGENT_UNRESTRICTED = 1,
	NAP_AGENT_DEFERRED = 2,
	NAP_AGENT_RESTRICTED = 3,
};

struct nap_agent_state {
	char client[NAP_CLIENT_NAME_MAX + 1];
	enum nap_agent_state_id state;
	bool compliant;
	uint64_t hsr_revision;     /* the revision the agent evaluated against */
	char hsr_digest[65];       /* lowercase hex or "" */
	int64_t evaluated;         /* when the agent evaluated (its clock) */
	int64_t received;          /* when napsited stored it (set by the caller) */
	size_t n_missing;
	char missing[NAP_AGENT_MAX_MISSING][NAP_UPDATE_ID_MAX + 1];
	char *detail;              /* optional JSON text from the agent, <= 64 KiB, or NULL */
};

/* Store as the client's current state and append to its history, one transaction. */
int nap_store_agent_state_put(struct nap_store *st, const struct nap_agent_state *s,
			      struct nap_store_err *err);
int nap_store_agent_state_get(struct nap_store *st, const char *client,
			      struct nap_agent_state *out, struct nap_store_err *err);
/* Newest first, at most limit; *out is an array of *n (free each with nap_agent_state_clear). */
int nap_store_agent_history(struct nap_store *st, const char *client, size_t limit,
			    struct nap_agent_state **out, size_t *n, struct nap_store_err *err);
/* Every client's current state, sorted by client (napctl agent list); free as above. */
int nap_store_agent_state_list(struct nap_store *st, struct nap_agent_state **out, size_t *n,
			       struct nap_store_err *err);
void nap_agent_state_clear(struct nap_agent_state *s);
/* The rules nap_store_agent_state_put applies; 0 or -EINVAL with err. */
int nap_agent_state_check(const struct nap_agent_state *s, struct nap_store_err *err);

#endif
