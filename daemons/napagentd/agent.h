/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * napagentd, the nap health agent: the configuration, the package database readers, the policy
 * (HSR) client, the evaluation, the SoH it builds and the SoHR it acts on. Every module but
 * main() forms the napagentd_core library that the unit tests, the fuzzers and bench/agent-eval
 * link.
 *
 * Module map:
 *   config.c   napagentd.conf ([agent] [site] [packages], and the sections other modules own:
 *              [checks] collector.h, [remediation] remediate.h, [dhcp] dhcp_hook.h, [hra]
 *              hcep.h), -n output
 *   pkgdb.c    the installed packages: dpkg status file parser, rpmdb through librpm
 *   policy.c   the HSR: cache / policy_file loading and verification
 *   site.c     HTTPS to napsited with libcurl: enrollment, GET /v1/policy, POST /v1/state
 *   eval.c     the evaluation (required updates, checks) and agent_eval_once()
 *   soh.c      the SoH from an evaluation, the SoHR's instructions, --json output
 *   hcep.c     the HCEP client: health certificates from an HRA for strongSwan ([hra], hcep.h)
 *   napagentd.c  main(): modes, the daemon's poll loop, signals
 */
#ifndef NAPAGENTD_AGENT_H
#define NAPAGENTD_AGENT_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "nap/health.h"
#include "nap/hsr.h"
#include "nap/soh.h"

#include "collector.h"
#include "dhcp_hook.h"
#include "hcep.h"
#include "remediate.h"

/*
 * Error codes the agent sends in Error-Codes with a failure category (napvd.conf's
 * known_client_errors must list them for napvd to keep the category; doc/man/napagentd.8).
 * 0xC07E.... : severity bit + the nap enterprise prefix.
 */
#define AGENT_ERR_PKGDB     0xC07E0001u /* client component: package database unreadable/malformed */
#define AGENT_ERR_SCHEME    0xC07E0002u /* client component: version scheme not supported here */
#define AGENT_ERR_VERSION   0xC07E0003u /* client component: a version does not parse */
#define AGENT_ERR_INTERNAL  0xC07E0004u /* client component: out of memory, collector failure */
#define AGENT_ERR_REMEDIATION 0xC07E0005u /* client component: the package manager failed */
#define AGENT_ERR_NO_POLICY 0xC07E0101u /* client communication: no policy, no valid cache */
#define AGENT_ERR_POLICY    0xC07E0102u /* client communication: policy does not verify */
#define AGENT_ERR_SITE      0xC07E0103u /* client communication: no HSR for the site */

/* Limits. */
#define AGENT_PKGDB_MAX_PACKAGES 200000      /* installed packages */
#define AGENT_PKGDB_MAX_STRINGS  (64u << 20) /* bytes of names + versions + architectures */
#define AGENT_PKGDB_FIELD_MAX    255         /* one Package / Version / Architecture value */
#define AGENT_POLICY_MAX         NAP_HSR_MAX_LEN
#define AGENT_HTTP_BODY_MAX      NAP_HSR_MAX_LEN

/* POST /v1/state states (ConfigMgr topic 200). */
enum agent_state {
	AGENT_STATE_UNRESTRICTED = 1,
	AGENT_STATE_DEFERRED = 2, /* compliant now, missing updates whose effective date is ahead */
	AGENT_STATE_RESTRICTED = 3,
};

enum agent_backend { AGENT_BACKEND_DPKG, AGENT_BACKEND_RPM };

struct agent_conf {
	char *path;
	/* [agent] */
	char *site;          /* expected site code; NULL = the policy document's only site */
	char *machine_name;  /* NULL = gethostname() */
	char *state_dir;     /* default /var/lib/napagentd */
	char *pidfile;       /* default /run/napagentd.pid */
	int64_t evaluate_interval; /* seconds, default 3600 */
	int64_t validity_period;   /* napvd's SoH validity period, for -n only; 0 = unknown */
	int64_t settle;      /* seconds to wait after a package database change, default 2 */
	/* [site] */
	char *url;           /* https://host:port of napsited's agent endpoint; NULL = offline */
	char *ca;            /* CA that signed the endpoint's TLS certificate */
	char *cert, *key;    /* client certificate; default state_dir/agent.pem, agent.key */
	char *hsr_key;       /* site public key(s) (PEM) the HSR must be signed with */
	char *policy_file;   /* offline: read the HSR document from this file, no fetching */
	int64_t policy_interval; /* seconds, default 3600 */
	int64_t http_timeout;    /* seconds, default 30 */
	bool report_state;       /* POST /v1/state after every evaluation (default yes with url) */
	/* [packages] */
	enum agent_backend backend;
	char *dpkg_status;   /* default /var/lib/dpkg/status */
	char *rpm_dbpath;    /* NULL = rpm's default */
	/* the other modules' sections */
	struct agent_checks_conf checks;
	struct agent_remediation_conf remediation;
	struct agent_dhcp_conf dhcp;
	struct agent_hra_conf hra;
};

int agent_conf_parse_file(const char *path, struct agent_conf **out, char *err, size_t len);
/* Defaults only (no file): tests and the bench fill the fields they need afterwards. */
struct agent_conf *agent_conf_new(void);
void agent_conf_free(struct agent_conf *c);
void agent_conf_print(const struct agent_conf *c, FILE *f);
/* The -n warnings about contradicting timings; returns how many were printed. */
int agent_conf_warn(const struct agent_conf *c, FILE *f);
/* Paths in effect (the configured ones or their defaults under state_dir); into buf. */
const char *agent_conf_cert(const struct agent_conf *c, char *buf, size_t len);
const char *agent_conf_key(const struct agent_conf *c, char *buf, size_t len);
/* The machine name in effect into buf (config, else the host name). */
int agent_machine_name(const struct agent_conf *c, char *buf, size_t len);

/* ---- installed packages (pkgdb.c) ---- */

struct agent_pkg {
	uint32_t name, version, arch; /* offsets into the string pool */
	uint32_t next;                /* next package with the same name hash chain, or UINT32_MAX */
};

struct agent_pkgdb {
	struct agent_pkg *pkgs;
	size_t n, cap;
	char *pool;
	size_t pool_len, pool_cap;
	uint32_t *buckets; /* hash -> first package index */
	size_t n_buckets;
	size_t stanzas;    /* stanzas read (installed or not) */
};

/*
 * Read a dpkg status file: deb822 stanzas; a package counts when its Status says it is
 * installed ("<want> ok installed", also "triggers-pending" / "triggers-awaited", which have
 * their files in place); every other state (config-files, half-installed, unpacked, not-installed,
 * a reinst-required flag) does not. Package, Version and Architecture are kept; the same package
 * for several architectures (Multi-Arch) gives several entries. Returns 0 or a negative errno
 * with a message in err: -ENOENT / -EACCES / -EIO the file, -EBADMSG a malformed file (the
 * line number in err), -EMSGSIZE over a limit.
 */
int agent_pkgdb_read_dpkg(const char *path, struct agent_pkgdb *db, char *err, size_t len);
/* The same from memory (fuzzer, tests). */
int agent_pkgdb_parse_dpkg(const char *text, size_t n, struct agent_pkgdb *db, char *err,
			   size_t len);
/* The rpm database (librpm); -ENOTSUP in a build without librpm. */
int agent_pkgdb_read_rpm(const char *dbpath, struct agent_pkgdb *db, char *err, size_t len);
/* Read the backend the configuration names. */
int agent_pkgdb_read(const struct agent_conf *c, struct agent_pkgdb *db, char *err, size_t len);
void agent_pkgdb_free(struct agent_pkgdb *db);
/* First entry of a package name (then follow agent_pkgdb_next), or NULL. */
const struct agent_pkg *agent_pkgdb_find(const struct agent_pkgdb *db, const char *name);
const struct agent_pkg *agent_pkgdb_next(const struct agent_pkgdb *db, const struct agent_pkg *p,
					 const char *name);
static inline const char *
agent_pkgdb_str(const struct agent_pkgdb *db, uint32_t off)
{
	return db->pool + off;
}

/* ---- the policy (policy.c) ---- */

struct agent_policy {
	struct nap_hsr_set *set;
	const struct nap_hsr *hsr; /* the site's HSR in set */
	char source[PATH_MAX];     /* file it came from */
	char etag[80];             /* of the cached copy ("" = none) */
};

/*
 * Load the policy the evaluation uses: policy_file when configured, else state_dir/policy.json
 * (the cache the fetcher writes). Verifies the signature with hsr_key (required unless
 * policy_file is used without one: labs) and picks the site's HSR. On failure returns a negative
 * errno, message in err, and *category / *code say what the SoH reports.
 */
int agent_policy_load(const struct agent_conf *c, struct agent_policy *p, uint8_t *category,
		      uint32_t *code, char *err, size_t len);
/* Check a document's text as agent_policy_load does (used before caching a fetched one). */
int agent_policy_parse(const struct agent_conf *c, const uint8_t *text, size_t n,
		       struct agent_policy *p, char *err, size_t len);
void agent_policy_clear(struct agent_policy *p);
/* state_dir/NAME into buf. */
const char *agent_state_path(const struct agent_conf *c, const char *name, char *buf, size_t len);

/* ---- napsited (site.c) ---- */

/* Global libcurl init (once per process). */
int agent_site_init(void);

/*
 * One HTTP(S) request with libcurl (loaded on first use), shared by the napsited client and
 * the HCEP client (hcep.c). The server's certificate must chain to ca (no system store);
 * cert/key (both or neither) are the client certificate. body NULL = GET, else POST of
 * body_len bytes. headers: NULL-terminated "Name: value" lines. The response body is kept up
 * to max bytes (more aborts the transfer: -EMSGSIZE); on_header sees every header line.
 * Returns the HTTP status (> 0) or a negative errno with err filled: -ECONNREFUSED,
 * -ETIMEDOUT, -EHOSTUNREACH, -EPROTO (TLS), -EMSGSIZE, -EIO, -ENOENT (no libcurl).
 */
struct agent_http_req {
	const char *url;
	bool allow_http;   /* http:// as well as https:// */
	const char *ca;
	const char *cert, *key;
	int64_t timeout;   /* seconds, whole request */
	const void *body;
	size_t body_len;
	const char *const *headers;
	size_t max;
	void (*on_header)(const char *line, size_t len, void *arg);
	void *arg;
};
struct agent_http_resp {
	char *p;           /* body, NUL-terminated (malloc'ed; free()) */
	size_t n, max;
	bool overflow;
	char etag[80];     /* napsited's ETag (site.c) */
	void (*on_header)(const char *line, size_t len, void *arg);
	void *arg;
};
long agent_http_request(const struct agent_http_req *rq, struct agent_http_resp *resp, char *err,
			size_t len);
/*
 * --enroll: generate an EC P-256 key and a CSR (CN = machine name), POST /v1/enroll, store
 * the certificate, the key (0600) and the agent CA in state_dir. 0 or a negative errno + err.
 */
int agent_site_enroll(const struct agent_conf *c, const char *token, char *err, size_t len);
/*
 * GET /v1/policy with If-None-Match. Returns 0 when a new document was verified and cached
 * (state_dir/policy.json, policy.etag written atomically), 1 when the cached copy is current
 * (304), or a negative errno with err (-ECONNREFUSED/-ETIMEDOUT/-EHOSTUNREACH the site, -EAGAIN
 * 503 no policy yet, -EACCES 401/403, -EBADMSG the document does not verify).
 */
int agent_site_fetch_policy(const struct agent_conf *c, char *err, size_t len);

/* ---- evaluation (eval.c) ---- */

enum agent_policy_status {
	AGENT_POLICY_OK = 0,
	AGENT_POLICY_MISSING,  /* a required package is not installed */
	AGENT_POLICY_OUTDATED, /* installed older than min_version */
	AGENT_POLICY_ERROR,    /* could not compare (scheme, version syntax) */
};

/* One policy (or check) that is not satisfied. */
struct agent_finding {
	char id[NAP_UPDATE_ID_MAX + 1];
	enum agent_policy_status status;
	bool deferred;          /* effective date in the future */
	int64_t effective;
	const char *package;    /* points into the policy (valid while the eval lives) */
	const char *required;   /* min_version */
	char installed[AGENT_PKGDB_FIELD_MAX + 1]; /* "" = not installed */
	enum nap_version_scheme scheme;
};

struct agent_eval {
	int64_t eval_time;     /* Unix seconds */
	int64_t duration_us;
	/* the policy evaluated against */
	bool has_policy;
	char site[NAP_SITE_MAX + 1];
	uint64_t revision;
	uint8_t digest[NAP_HSR_DIGEST_LEN];
	/* package database */
	size_t n_installed;
	size_t n_policies, n_reqs_checked, n_not_applicable;
	/* results */
	bool compliant;
	enum agent_state state;
	struct agent_finding *findings; /* policies not satisfied (in force or deferred) */
	size_t n_findings;
	struct agent_check_result *checks; /* every HSR check, in HSR order */
	bool *check_deferred;
	size_t n_checks;
	/* failure */
	uint8_t failure_category; /* NAP_FAILURE_* */
	uint32_t error_code;
	char failure[512];
	/* the WSHA view */
	struct nap_wsh wsh;
	bool has_wsh;
	/* The policy stays referenced by findings: owned here. */
	struct agent_policy policy;
};

/*
 * Evaluate the installed packages in db against the policy p (NULL with a failure category
 * set in out beforehand: the evaluation then only records that) at time now. Runs the checks
 * through collector.h. out must be zeroed or come from a previous agent_eval_free().
 */
void agent_evaluate(const struct agent_conf *c, const struct nap_hsr *hsr,
		    const struct agent_pkgdb *db, int64_t now, struct agent_eval *out);
/*
 * The whole evaluation as the daemon runs it: load the policy (cache or policy_file, no
 * network), read the package database, evaluate. Never fails: failures become the failure
 * category of *out. The bench (bench/agent-eval) times this call.
 */
void agent_eval_once(const struct agent_conf *c, struct agent_eval *out);
void agent_eval_free(struct agent_eval *e);
const char *agent_state_name(enum agent_state s);
const char *agent_policy_status_name(enum agent_policy_status s);

/* ---- SoH / SoHR / reports (soh.c) ---- */

/* Build the SoH for an evaluation; *out malloc'ed (<= NAP_SOH_MAX_LEN), corr receives the
 * correlation id. 0 or a negative errno. */
int agent_soh_build(const struct agent_conf *c, const struct agent_eval *e, int64_t now,
		    uint8_t **out, size_t *out_len, uint8_t corr[NAP_CORRELATION_ID_LEN]);

/* What an SoHR tells the agent. */
struct agent_sohr_info {
	bool has_nap;        /* a nap SHV entry was found */
	uint8_t result;      /* enum nap_result */
	uint8_t branch;
	uint8_t instructions; /* NAP_INSTRUCT_* */
	uint64_t hsr_revision;
	bool has_qstate;
	uint8_t quarantine_state; /* NAP_ISOLATION_* from the SSoHR, when present */
};
/* Parse an SoHR (untrusted bytes from the DHCP server). 0 or -EBADMSG/-EMSGSIZE + err. */
int agent_sohr_parse(const uint8_t *p, size_t n, struct agent_sohr_info *out, char *err,
		     size_t len);

/*
 * What the daemon does with a SoHR: fetch the policy (REFRESH_POLICY), evaluate now
 * (REEVALUATE, REFRESH_POLICY, or a restricted isolation state: napvd may have judged an old
 * SoH), and count itself quarantined until an evaluation is compliant (restricted).
 */
struct agent_sohr_actions {
	bool refresh_policy;
	bool reevaluate;
	bool restricted;
};
void agent_sohr_actions(const struct agent_sohr_info *info, struct agent_sohr_actions *out);

/* The evaluation as JSON text (--json, POST /v1/state detail); malloc'ed, NUL-terminated. */
char *agent_eval_json(const struct agent_eval *e, const char *machine_name);
/* The POST /v1/state body for an evaluation; malloc'ed. */
char *agent_state_body(const struct agent_eval *e);
/* POST /v1/state (site.c). 0 or a negative errno + err. */
int agent_site_post_state(const struct agent_conf *c, const struct agent_eval *e, char *err,
			  size_t len);

#endif
