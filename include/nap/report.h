/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Reports over the site store: what napctl report / napctl explain print and what napsited's
 * web listener serves. Read-only queries over status_messages and client_last (napvd's verdicts,
 * shipped and ingested; include/nap/status.h), agent_state (what the agents reported), policies
 * and checks. SQLite and PostgreSQL, the same SQL; every parameter is bound, no SQL is ever
 * built from input, and every input is checked here (-EINVAL with err) before any query runs.
 *
 * Words used below:
 *   client      a machine napvd judged at least once (one row of client_last)
 *   compliant   the client's last verdict has result "compliant" (this includes branch
 *               "exempt": an exemption covered it); every other result is noncompliant
 *   last seen   the later of its last verdict and its agent's last state report
 *   silent      last seen before now - silent_after (napsited.conf [status] silent_after)
 *   missing     the ids the agent's current state lists (agent_state.missing): policies it
 *               lacks, or HSR checks that did not pass
 *
 * Return values: 0 or a negative errno; err (when not NULL) says why.
 *   -EINVAL a parameter breaks its rule    -ENOENT no such client (explain)
 *   -EIO    backend error                   -ENOMEM out of memory
 * Lists are malloc'ed; free each with its _free function (NULL is fine).
 */
#ifndef NAP_REPORT_H
#define NAP_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nap/health.h"
#include "nap/store.h"

#define NAP_REPORT_LIMIT_MAX      5000  /* rows of one list page */
#define NAP_REPORT_LIMIT_DEFAULT  100
#define NAP_REPORT_OFFSET_MAX     100000000
#define NAP_REPORT_SILENT_DEFAULT 1800  /* seconds, napsited.conf [status] silent_after */
#define NAP_REPORT_BUCKETS_MAX    10000 /* points of one history */
#define NAP_REPORT_NAME_MAX       255   /* machine names kept (longer ones are cut) */
#define NAP_REPORT_WORD_MAX       63    /* result, branch, action, napvd, nas, client ... */
#define NAP_REPORT_KEYS_MAX       32    /* distinct values of one "by" count kept */
#define NAP_REPORT_FIXES_MAX      40    /* suggestions of one explain */
#define NAP_REPORT_FIX_MAX        300   /* one suggestion, bytes */
#define NAP_REPORT_REQS_MAX       8     /* requirements shown per missing policy */
#define NAP_REPORT_RECENT_MAX     10    /* recent verdicts shown by explain */

/* A machine name as a report parameter: 1-255 printable ASCII bytes, no space. */
bool nap_report_machine_valid(const char *s);
/* What a validation branch (nap_branch_name: "matches", "out_of_date", ...) means, in words;
 * a generic text for a name it does not know. Never NULL. */
const char *nap_report_branch_meaning(const char *branch);

/* ---- compliance summary ---- */

struct nap_report_count {
	char key[NAP_REPORT_WORD_MAX + 1]; /* a result, action, enforcement point or branch */
	int64_t n;
};

struct nap_report_counts {
	size_t n; /* sorted by key; at most NAP_REPORT_KEYS_MAX */
	struct nap_report_count v[NAP_REPORT_KEYS_MAX];
};

struct nap_report_compliance {
	int64_t now, silent_after;  /* as asked */
	uint64_t revision;          /* the store's current policy revision */
	int64_t clients;            /* rows of client_last */
	int64_t compliant;          /* last result "compliant" (exempt included) */
	int64_t noncompliant;       /* clients - compliant */
	int64_t exempt;             /* last branch "exempt" */
	int64_t silent;             /* last seen before now - silent_after */
	int64_t stale_revision;     /* last verdict judged against a revision < revision */
	int64_t messages;           /* rows of status_messages */
	struct nap_report_counts by_result, by_action, by_enforcement, by_branch;
	/* Agents (agent_state): how many report, and their ConfigMgr states. */
	int64_t agents;
	int64_t agents_compliant;
	int64_t agents_unrestricted, agents_deferred, agents_restricted;
	int64_t agents_missing;     /* agents whose state lists at least one missing id */
};

/* now: Unix seconds (0 = the clock); silent_after: seconds > 0 (0 = the default). */
int nap_report_compliance(struct nap_store *st, int64_t now, int64_t silent_after,
			  struct nap_report_compliance *out, struct nap_store_err *err);

/* ---- clients ---- */

enum nap_report_filter {
	NAP_REPORT_ALL = 0,
	NAP_REPORT_COMPLIANT,    /* result compliant (exempt included) */
	NAP_REPORT_NONCOMPLIANT, /* any other result */
	NAP_REPORT_EXEMPT,       /* branch exempt */
};

enum nap_report_sort {
	NAP_REPORT_SORT_NAME = 0,  /* machine name, byte order */
	NAP_REPORT_SORT_LAST_SEEN, /* most recently seen first */
	NAP_REPORT_SORT_SILENT,    /* longest silent first */
};

struct nap_report_client_query {
	enum nap_report_filter filter;
	const char *action;   /* NULL or "": any; else full | restricted | probation | reject */
	bool silent_only;     /* only clients silent for longer than silent_after */
	const char *prefix;   /* NULL or "": any; else machine names starting with it (same rule
				 as nap_report_machine_valid) */
	enum nap_report_sort sort;
	int64_t now;          /* 0 = the clock */
	int64_t silent_after; /* seconds; 0 = NAP_REPORT_SILENT_DEFAULT */
	int64_t limit;        /* 1..NAP_REPORT_LIMIT_MAX; 0 = NAP_REPORT_LIMIT_DEFAULT */
	int64_t offset;       /* 0..NAP_REPORT_OFFSET_MAX */
};

struct nap_report_client {
	char machine[NAP_REPORT_NAME_MAX + 1];
	/* The last verdict (client_last), when has_verdict: a machine only its agent reported
	 * (agent_state, never judged by napvd) is listed with has_verdict false, its verdict fields
	 * empty, and matches neither the compliant nor the noncompliant filter. */
	bool has_verdict;
	char id[NAP_REPORT_WORD_MAX * 2 + 1]; /* its status message id */
	int64_t time;                         /* when napvd decided */
	int64_t first_seen;
	int64_t messages;                     /* verdicts stored for this machine */
	char napvd[NAP_REPORT_WORD_MAX + 1], nas[NAP_REPORT_WORD_MAX + 1];
	char client[NAP_REPORT_WORD_MAX + 1]; /* the RADIUS client (enforcement point) */
	char site[NAP_REPORT_WORD_MAX + 1], enforcement[NAP_REPORT_WORD_MAX + 1];
	char result[NAP_REPORT_WORD_MAX + 1], branch[NAP_REPORT_WORD_MAX + 1];
	char exemption[NAP_REPORT_WORD_MAX + 1]; /* "" unless branch exempt */
	char action[NAP_REPORT_WORD_MAX + 1];
	uint64_t hsr_revision;                /* the revision napvd judged it against */
	bool compliant;                       /* result == "compliant" */
	int64_t last_seen;                    /* max(time, agent_received) */
	bool silent;
	/* The agent's current state (agent_state), when has_agent. */
	bool has_agent;
	int agent_state;      /* enum nap_agent_state_id */
	bool agent_compliant;
	uint64_t agent_revision;
	int64_t agent_evaluated, agent_received;
	size_t n_missing;
	char missing[NAP_AGENT_MAX_MISSING][NAP_UPDATE_ID_MAX + 1];
};

struct nap_report_client_list {
	int64_t total; /* clients matching the query, before limit/offset */
	size_t n;
	struct nap_report_client *v;
};

int nap_report_clients(struct nap_store *st, const struct nap_report_client_query *q,
		       struct nap_report_client_list **out, struct nap_store_err *err);
void nap_report_client_list_free(struct nap_report_client_list *l);

/* ---- one client: explain ---- */

struct nap_report_req {
	char package[NAP_HSR_MAX_FIELD + 1];
	char min_version[NAP_HSR_MAX_FIELD + 1];
	char scheme[16];
};

struct nap_report_missing {
	char id[NAP_UPDATE_ID_MAX + 1];
	char kind[16];      /* "policy", "check" or "unknown" (no longer in the store) */
	char severity[16];  /* "" when unknown */
	int64_t effective;  /* 0 = as soon as possible */
	bool in_force;      /* effective <= now */
	char check_type[16];                       /* kind check: antivirus, file, service ... */
	size_t n_reqs;                             /* kind policy: its packages (first ones) */
	size_t n_reqs_total;
	struct nap_report_req reqs[NAP_REPORT_REQS_MAX];
};

struct nap_report_msg {
	char id[NAP_REPORT_WORD_MAX * 2 + 1];
	int64_t time, received;
	char napvd[NAP_REPORT_WORD_MAX + 1], nas[NAP_REPORT_WORD_MAX + 1];
	char client[NAP_REPORT_WORD_MAX + 1];
	char machine[NAP_REPORT_NAME_MAX + 1];
	char site[NAP_REPORT_WORD_MAX + 1], enforcement[NAP_REPORT_WORD_MAX + 1];
	char result[NAP_REPORT_WORD_MAX + 1], branch[NAP_REPORT_WORD_MAX + 1];
	char exemption[NAP_REPORT_WORD_MAX + 1];
	char action[NAP_REPORT_WORD_MAX + 1];
	uint64_t hsr_revision;
	char correlation_id[NAP_REPORT_WORD_MAX + 1];
};

struct nap_report_explain {
	int64_t now, silent_after;
	uint64_t revision;       /* the store's current revision */
	bool has_verdict;        /* napvd judged it (c's verdict fields are set) */
	struct nap_report_client c; /* machine, last verdict, agent state, silent */
	const char *meaning;     /* nap_report_branch_meaning(c.branch), or NULL without verdict */
	bool revision_current;   /* c.hsr_revision >= revision */
	size_t n_missing;        /* c.missing with what the store says about each */
	struct nap_report_missing missing[NAP_AGENT_MAX_MISSING];
	size_t n_failed_checks;  /* checks the agent reported fail/error (agent_state detail) */
	char failed_checks[NAP_HEALTH_MAX_CHECKS][NAP_UPDATE_ID_MAX + 1];
	char failed_status[NAP_HEALTH_MAX_CHECKS][8]; /* "fail" / "error" */
	char agent_failure[NAP_REPORT_FIX_MAX];       /* the agent's failure message, or "" */
	size_t n_recent;         /* its latest verdicts, newest first */
	struct nap_report_msg recent[NAP_REPORT_RECENT_MAX];
	/* What would fix it, in words, most important first ("install openssl >= 3.0.15-1~deb12u1",
	 * "agent silent for 2 h: check napagentd on the host", "HSR revision out of date: ..."). */
	size_t n_fixes;
	char fixes[NAP_REPORT_FIXES_MAX][NAP_REPORT_FIX_MAX];
};

/* -ENOENT when neither napvd nor an agent ever reported machine. out is large: heap it. */
int nap_report_explain(struct nap_store *st, const char *machine, int64_t now,
		       int64_t silent_after, struct nap_report_explain *out,
		       struct nap_store_err *err);

/* ---- policies ---- */

struct nap_report_policy {
	char id[NAP_UPDATE_ID_MAX + 1];
	char kind[16];      /* "policy", "check" or "unknown" (missing ids the store lacks) */
	char severity[16];
	int64_t effective;
	int64_t missing;    /* agents whose current state lists it */
};

struct nap_report_policy_list {
	int64_t agents; /* agent_state rows */
	int64_t total;  /* entries before limit/offset */
	size_t n;       /* sorted by missing (most first), then id */
	struct nap_report_policy *v;
};

/* limit 0 = NAP_REPORT_LIMIT_DEFAULT. */
int nap_report_policies(struct nap_store *st, int64_t limit, int64_t offset,
			struct nap_report_policy_list **out, struct nap_store_err *err);
void nap_report_policy_list_free(struct nap_report_policy_list *l);
/* The clients whose agent lists id as missing, by name; q's filter/sort/prefix apply too. */
int nap_report_policy_clients(struct nap_store *st, const char *id,
			      const struct nap_report_client_query *q,
			      struct nap_report_client_list **out, struct nap_store_err *err);

/* ---- history ---- */

struct nap_report_point {
	int64_t start;        /* bucket start, Unix seconds (a multiple of the bucket) */
	int64_t compliant;    /* machines whose last verdict in the bucket was compliant */
	int64_t noncompliant; /* machines whose last verdict in the bucket was not */
	int64_t messages;     /* verdicts in the bucket */
};

struct nap_report_history {
	int64_t since, until, bucket; /* since aligned down, until up, to the bucket */
	size_t n;                     /* every bucket of [since, until), empty ones as zeros */
	struct nap_report_point *v;
};

/* bucket: 3600 or 86400; since < until; at most NAP_REPORT_BUCKETS_MAX buckets. */
int nap_report_history(struct nap_store *st, int64_t since, int64_t until, int64_t bucket,
		       struct nap_report_history **out, struct nap_store_err *err);
void nap_report_history_free(struct nap_report_history *h);

/* ---- status feed ---- */

struct nap_report_feed {
	size_t n; /* newest first (time, then id) */
	struct nap_report_msg *v;
};

/* machine NULL or "": every machine. limit 0 = NAP_REPORT_LIMIT_DEFAULT. */
int nap_report_feed(struct nap_store *st, const char *machine, int64_t limit, int64_t offset,
		    struct nap_report_feed **out, struct nap_store_err *err);
void nap_report_feed_free(struct nap_report_feed *f);

#endif
