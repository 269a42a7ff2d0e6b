// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * Reports (include/nap/report.h): read-only queries over client_last, status_messages,
 * agent_state, policies and checks, written once in the SQL both backends read. Every statement
 * is static text; what varies (filters, sort, limits) is a bound parameter or the choice of one
 * of a few fixed statements, never text built from input. Inputs are checked before any query
 * runs; values read back are copied bounded (a value longer than its field is cut, never
 * overflowed), so a strange row in the database cannot break a report.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "nap/report.h"
#include "nap/util.h"
#include "store-int.h"

/* One consistent read (PostgreSQL: REPEATABLE READ READ ONLY) through the shared runner. */
static int
rep_run(struct nap_store *st, store_tx_fn fn, void *ctx, struct nap_store_err *err)
{
	return store_run(st, STORE_TX_READ, fn, ctx, err);
}

static int
rep_oom(struct nap_store_err *err)
{
	return nap_store_errf(err, -ENOMEM, "out of memory");
}

/* The first column of the only row; 0 when there is no row. */
static int
rep_int(struct nap_store *st, const char *sql, const struct store_param *p, size_t n,
	int64_t *out, struct nap_store_err *err)
{
	struct store_cursor *c;
	int r;

	*out = 0;
	r = st->ops->query(st, sql, p, n, &c, err);
	if (r < 0)
		return r;
	r = st->ops->next(c, err);
	if (r > 0) {
		*out = st->ops->int64(c, 0);
		r = 0;
	}
	st->ops->done(c);
	return r;
}

/* Copy a text column, cut to the buffer. */
static void
rep_col(struct nap_store *st, struct store_cursor *c, int col, char *buf, size_t cap)
{
	const char *s = st->ops->text(c, col);
	size_t n = strnlen(s, cap - 1);

	memcpy(buf, s, n);
	buf[n] = '\0';
}

static void
rep_copy(char *buf, size_t cap, const char *s)
{
	size_t n = strnlen(s, cap - 1);

	memcpy(buf, s, n);
	buf[n] = '\0';
}

static int64_t
rep_now(int64_t now)
{
	return now > 0 ? now : (int64_t)time(NULL);
}

static int
rep_silent_after(int64_t *v, struct nap_store_err *err)
{
	if (*v == 0)
		*v = NAP_REPORT_SILENT_DEFAULT;
	if (*v < 1 || *v > 10LL * 365 * 86400)
		return nap_store_errf(err, -EINVAL,
				      "silent threshold must be 1 s to 10 years, not %lld s",
				      (long long)*v);
	return 0;
}

static int
rep_limit(int64_t *limit, int64_t offset, struct nap_store_err *err)
{
	if (*limit == 0)
		*limit = NAP_REPORT_LIMIT_DEFAULT;
	if (*limit < 1 || *limit > NAP_REPORT_LIMIT_MAX)
		return nap_store_errf(err, -EINVAL, "limit must be 1 to %d, not %lld",
				      NAP_REPORT_LIMIT_MAX, (long long)*limit);
	if (offset < 0 || offset > NAP_REPORT_OFFSET_MAX)
		return nap_store_errf(err, -EINVAL, "offset must be 0 to %d, not %lld",
				      NAP_REPORT_OFFSET_MAX, (long long)offset);
	return 0;
}

bool
nap_report_machine_valid(const char *s)
{
	size_t n;

	if (s == NULL)
		return false;
	n = strnlen(s, NAP_REPORT_NAME_MAX + 1);
	if (n == 0 || n > NAP_REPORT_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
			return false;
	return true;
}

static const struct {
	const char *branch;
	const char *meaning;
} rep_meanings[] = {
	{"matches", "the client evaluated the current policy revision; its own compliance flag "
		    "stands"},
	{"newer", "the client evaluated a revision newer than napvd's cached HSR; its own "
		  "compliance flag stands"},
	{"out_of_date", "the client evaluated an older policy revision than napvd holds: "
			"noncompliant until it refreshes its policy and evaluates again"},
	{"expired_ttl", "the client's evaluation is older than the validity period: it must "
			"evaluate again"},
	{"expired_absolute", "the client's evaluation was made before the absolute cut-off: it "
			     "must evaluate again"},
	{"invalid", "the compliance data was malformed, forged or carried an unknown client "
		    "error code"},
	{"unknown_site", "napvd holds no HSR for the client's site code"},
	{"no_policies", "the site's HSR holds no policies"},
	{"client_failure", "the agent reported a failure (component or communication) with a "
			   "known error code; the failure mapping decided"},
	{"server_failure", "napvd could not judge: its HSR is unavailable or older than its "
			   "maximum age, or an internal error"},
	{"no_nap_entry", "the statement of health carried no nap entry (no napagentd answered)"},
	{"wsh_failed", "a security check the enforcement point requires (firewall, antivirus, "
		       "automatic updates) failed"},
	{"no_soh", "the request carried no statement of health: a NAP-incapable client"},
	{"exempt", "noncompliant, but an exemption in the HSR covers the client"},
	{"check_failed", "the client called itself compliant but did not report a pass for every "
			 "HSR check in force"},
};

const char *
nap_report_branch_meaning(const char *branch)
{
	for (size_t i = 0; branch != NULL && i < NAP_ARRAY_SIZE(rep_meanings); i++)
		if (strcmp(branch, rep_meanings[i].branch) == 0)
			return rep_meanings[i].meaning;
	return "a branch this version of nap does not know";
}

/* ---- compliance summary ---- */

static int
rep_count_cmp(const void *a, const void *b)
{
	return strcmp(((const struct nap_report_count *)a)->key,
		      ((const struct nap_report_count *)b)->key);
}

static int
rep_revision(struct nap_store *st, uint64_t *rev, struct nap_store_err *err)
{
	int64_t v;
	int r = rep_int(st, "SELECT revision FROM meta WHERE id = 1", SP_NONE, &v, err);

	*rev = r == 0 && v > 0 ? (uint64_t)v : 0;
	return r;
}

/* Add n to key's count (keys past NAP_REPORT_KEYS_MAX are dropped: napvd writes far fewer). */
static void
counts_add(struct nap_report_counts *c, const char *key, int64_t n)
{
	for (size_t i = 0; i < c->n; i++) {
		if (strcmp(c->v[i].key, key) == 0) {
			c->v[i].n += n;
			return;
		}
	}
	if (c->n >= NAP_REPORT_KEYS_MAX)
		return;
	rep_copy(c->v[c->n].key, sizeof(c->v[c->n].key), key);
	c->v[c->n++].n = n;
}

static int
compliance_tx(struct nap_store *st, void *ctx, struct nap_store_err *err)
{
	struct nap_report_compliance *o = ctx;
	struct store_cursor *c;
	int64_t now = o->now, silent_after = o->silent_after;
	int r;

	memset(o, 0, sizeof(*o));
	o->now = now;
	o->silent_after = silent_after;
	if ((r = rep_revision(st, &o->revision, err)) < 0)
		return r;
	/* One scan of client_last: every count is a sum over its (few) distinct combinations. */
	r = st->ops->query(st,
			   "SELECT result, action, enforcement, branch, count(*),"
			   " sum(CASE WHEN hsr_revision < $1 THEN 1 ELSE 0 END), sum(messages)"
			   " FROM client_last GROUP BY result, action, enforcement, branch",
			   SP_ARGS(SP_I(o->revision)), &c, err);
	if (r < 0)
		return r;
	while ((r = st->ops->next(c, err)) > 0) {
		const char *result = st->ops->text(c, 0);
		int64_t n = st->ops->int64(c, 4);

		o->clients += n;
		if (strcmp(result, "compliant") == 0)
			o->compliant += n;
		if (strcmp(st->ops->text(c, 3), "exempt") == 0)
			o->exempt += n;
		o->stale_revision += st->ops->int64(c, 5);
		o->messages += st->ops->int64(c, 6);
		counts_add(&o->by_result, result, n);
		counts_add(&o->by_action, st->ops->text(c, 1), n);
		counts_add(&o->by_enforcement, st->ops->text(c, 2), n);
		counts_add(&o->by_branch, st->ops->text(c, 3), n);
	}
	st->ops->done(c);
	if (r < 0)
		return r;
	o->noncompliant = o->clients - o->compliant;
	qsort(o->by_result.v, o->by_result.n, sizeof(o->by_result.v[0]), rep_count_cmp);
	qsort(o->by_action.v, o->by_action.n, sizeof(o->by_action.v[0]), rep_count_cmp);
	qsort(o->by_enforcement.v, o->by_enforcement.n, sizeof(o->by_enforcement.v[0]),
	      rep_count_cmp);
	qsort(o->by_branch.v, o->by_branch.n, sizeof(o->by_branch.v[0]), rep_count_cmp);
	/* Silent: the time index finds the candidates, the agent's last report may save them. */
	r = rep_int(st,
		    "SELECT count(*) FROM client_last c WHERE c.time < $1 AND NOT EXISTS"
		    " (SELECT 1 FROM agent_state a WHERE a.client = c.machine"
		    " AND a.received >= $1)",
		    SP_ARGS(SP_I(o->now - o->silent_after)), &o->silent, err);
	if (r < 0)
		return r;
	r = st->ops->query(st,
			   "SELECT count(*), coalesce(sum(compliant), 0),"
			   " coalesce(sum(CASE WHEN state = 1 THEN 1 ELSE 0 END), 0),"
			   " coalesce(sum(CASE WHEN state = 2 THEN 1 ELSE 0 END), 0),"
			   " coalesce(sum(CASE WHEN state = 3 THEN 1 ELSE 0 END), 0),"
			   " coalesce(sum(CASE WHEN missing <> '' THEN 1 ELSE 0 END), 0)"
			   " FROM agent_state",
			   SP_NONE, &c, err);
	if (r < 0)
		return r;
	if ((r = st->ops->next(c, err)) > 0) {
		o->agents = st->ops->int64(c, 0);
		o->agents_compliant = st->ops->int64(c, 1);
		o->agents_unrestricted = st->ops->int64(c, 2);
		o->agents_deferred = st->ops->int64(c, 3);
		o->agents_restricted = st->ops->int64(c, 4);
		o->agents_missing = st->ops->int64(c, 5);
	}
	st->ops->done(c);
	return r < 0 ? r : 0;
}

int
nap_report_compliance(struct nap_store *st, int64_t now, int64_t silent_after,
		      struct nap_report_compliance *out, struct nap_store_err *err)
{
	int r;

	memset(out, 0, sizeof(*out));
	if (now < 0)
		return nap_store_errf(err, -EINVAL, "negative time");
	if ((r = rep_silent_after(&silent_after, err)) < 0)
		return r;
	out->now = rep_now(now);
	out->silent_after = silent_after;
	r = rep_run(st, compliance_tx, out, err);
	if (r < 0) {
		int64_t keep_now = out->now;

		memset(out, 0, sizeof(*out));
		out->now = keep_now;
		out->silent_after = silent_after;
	}
	return r;
}

/* ---- clients ---- */

/*
 * Every client: the machines napvd judged (client_last, with their agent's state when there is
 * one) and the machines only an agent reported. Columns:
 *  0 machine  1 id  2 time  3 first_seen  4 messages  5 napvd  6 nas  7 client  8 site
 *  9 enforcement  10 result  11 branch  12 exemption  13 action  14 hsr_revision  15 last_seen
 * 16 has_agent  17 state  18 agent_compliant  19 agent_revision  20 evaluated  21 received
 * 22 missing  23 has_verdict
 * Parameters: $1 filter (enum nap_report_filter), $2 action or '', $3 silent only (0/1),
 * $4 silent before (unix s), $5 prefix (lower bound), $6 prefix upper bound or '', $7 limit,
 * $8 offset, $9 a missing id the agent must list, or ''.
 */
#define CLIENTS_FROM                                                                               \
	" FROM (SELECT c.machine AS machine, c.id AS id, c.time AS time,"                          \
	" c.first_seen AS first_seen, c.messages AS messages, c.napvd AS napvd, c.nas AS nas,"     \
	" c.client AS client, c.site AS site, c.enforcement AS enforcement, c.result AS result,"   \
	" c.branch AS branch, c.exemption AS exemption, c.action AS action,"                       \
	" c.hsr_revision AS hsr_revision,"                                                         \
	" CASE WHEN a.received > c.time THEN a.received ELSE c.time END AS last_seen,"             \
	" CASE WHEN a.client IS NULL THEN 0 ELSE 1 END AS has_agent, a.state AS state,"            \
	" a.compliant AS agent_compliant, a.hsr_revision AS agent_revision,"                       \
	" a.evaluated AS evaluated, a.received AS received, a.missing AS missing,"                 \
	" 1 AS has_verdict"                                                                        \
	" FROM client_last c LEFT JOIN agent_state a ON a.client = c.machine"                      \
	" UNION ALL"                                                                               \
	" SELECT a.client, '', 0, 0, 0, '', '', '', '', '', '', '', NULL, '', 0, a.received, 1,"   \
	" a.state, a.compliant, a.hsr_revision, a.evaluated, a.received, a.missing, 0"             \
	" FROM agent_state a"                                                                      \
	" WHERE NOT EXISTS (SELECT 1 FROM client_last c WHERE c.machine = a.client)) x"           \
	" WHERE ($1 = 0 OR ($1 = 1 AND has_verdict = 1 AND result = 'compliant')"                 \
	" OR ($1 = 2 AND has_verdict = 1 AND result <> 'compliant')"                               \
	" OR ($1 = 3 AND branch = 'exempt'))"                                                      \
	" AND ($2 = '' OR action = $2)"                                                            \
	" AND ($3 = 0 OR last_seen < $4)"                                                          \
	" AND machine >= $5 AND ($6 = '' OR machine < $6)"                                         \
	" AND ($9 = '' OR replace(' ' || missing || ' ', ' ' || $9 || ' ', ' ')"                  \
	" <> ' ' || missing || ' ')"
#define CLIENTS_SELECT                                                                             \
	"SELECT machine, id, time, first_seen, messages, napvd, nas, client, site, enforcement,"   \
	" result, branch, exemption, action, hsr_revision, last_seen, has_agent, state,"           \
	" agent_compliant, agent_revision, evaluated, received, missing, has_verdict" CLIENTS_FROM

static const char *const clients_sql[] = {
	[NAP_REPORT_SORT_NAME] = CLIENTS_SELECT " ORDER BY machine LIMIT $7 OFFSET $8",
	[NAP_REPORT_SORT_LAST_SEEN] =
		CLIENTS_SELECT " ORDER BY last_seen DESC, machine LIMIT $7 OFFSET $8",
	[NAP_REPORT_SORT_SILENT] = CLIENTS_SELECT " ORDER BY last_seen, machine LIMIT $7 OFFSET $8",
};
/* The count takes $7 and $8 too (as a no-op), so both statements bind the same parameters. */
static const char clients_count_sql[] =
	"SELECT count(*)" CLIENTS_FROM " AND $7 > 0 AND $8 >= 0";

/* Split agent_state.missing (ids separated by single spaces) into a client's list. */
static void
rep_missing_split(const char *text, struct nap_report_client *cl)
{
	const char *p = text;

	cl->n_missing = 0;
	while (*p != '\0' && cl->n_missing < NAP_AGENT_MAX_MISSING) {
		size_t n = strcspn(p, " ");

		if (n > 0) {
			size_t k = n < NAP_UPDATE_ID_MAX ? n : NAP_UPDATE_ID_MAX;

			memcpy(cl->missing[cl->n_missing], p, k);
			cl->missing[cl->n_missing][k] = '\0';
			cl->n_missing++;
		}
		p += n;
		while (*p == ' ')
			p++;
	}
}

static void
client_from_row(struct nap_store *st, struct store_cursor *c, int64_t silent_before,
		struct nap_report_client *cl)
{
	memset(cl, 0, sizeof(*cl));
	rep_col(st, c, 0, cl->machine, sizeof(cl->machine));
	rep_col(st, c, 1, cl->id, sizeof(cl->id));
	cl->time = st->ops->int64(c, 2);
	cl->first_seen = st->ops->int64(c, 3);
	cl->messages = st->ops->int64(c, 4);
	rep_col(st, c, 5, cl->napvd, sizeof(cl->napvd));
	rep_col(st, c, 6, cl->nas, sizeof(cl->nas));
	rep_col(st, c, 7, cl->client, sizeof(cl->client));
	rep_col(st, c, 8, cl->site, sizeof(cl->site));
	rep_col(st, c, 9, cl->enforcement, sizeof(cl->enforcement));
	rep_col(st, c, 10, cl->result, sizeof(cl->result));
	rep_col(st, c, 11, cl->branch, sizeof(cl->branch));
	rep_col(st, c, 12, cl->exemption, sizeof(cl->exemption));
	rep_col(st, c, 13, cl->action, sizeof(cl->action));
	cl->hsr_revision = (uint64_t)st->ops->int64(c, 14);
	cl->last_seen = st->ops->int64(c, 15);
	cl->has_agent = st->ops->int64(c, 16) != 0;
	if (cl->has_agent) {
		cl->agent_state = (int)st->ops->int64(c, 17);
		cl->agent_compliant = st->ops->int64(c, 18) != 0;
		cl->agent_revision = (uint64_t)st->ops->int64(c, 19);
		cl->agent_evaluated = st->ops->int64(c, 20);
		cl->agent_received = st->ops->int64(c, 21);
		rep_missing_split(st->ops->text(c, 22), cl);
	}
	cl->has_verdict = st->ops->int64(c, 23) != 0;
	cl->compliant = cl->has_verdict && strcmp(cl->result, "compliant") == 0;
	cl->silent = cl->last_seen < silent_before;
}

struct clients_ctx {
	const struct nap_report_client_query *q;
	const char *missing_id;
	char upper[NAP_REPORT_NAME_MAX + 1];
	struct nap_report_client_list *l;
	size_t cap;
};

static int
clients_tx(struct nap_store *st, void *arg, struct nap_store_err *err)
{
	struct clients_ctx *x = arg;
	const struct nap_report_client_query *q = x->q;
	int64_t before = q->now - q->silent_after;
	const char *prefix = q->prefix != NULL ? q->prefix : "";
	const char *action = q->action != NULL ? q->action : "";
	const struct store_param p[] = {
		SP_I(q->filter), SP_T(action),	 SP_I(q->silent_only ? 1 : 0),
		SP_I(before),	 SP_T(prefix),	 SP_T(x->upper),
		SP_I(q->limit),	 SP_I(q->offset), SP_T(x->missing_id),
	};
	struct store_cursor *c;
	int r;

	x->l->n = 0;
	r = rep_int(st, clients_count_sql, p, NAP_ARRAY_SIZE(p), &x->l->total, err);
	if (r < 0)
		return r;
	r = st->ops->query(st, clients_sql[q->sort], p, NAP_ARRAY_SIZE(p), &c, err);
	if (r < 0)
		return r;
	while ((r = st->ops->next(c, err)) > 0) {
		if (x->l->n >= x->cap) {
			size_t ncap = x->cap == 0 ? 64 : x->cap * 2;
			struct nap_report_client *nv = realloc(x->l->v, ncap * sizeof(*nv));

			if (nv == NULL) {
				r = rep_oom(err);
				break;
			}
			x->l->v = nv;
			x->cap = ncap;
		}
		client_from_row(st, c, before, &x->l->v[x->l->n++]);
	}
	st->ops->done(c);
	return r < 0 ? r : 0;
}

static const char *const rep_actions[] = {"full", "restricted", "probation", "reject"};

/* Check q and fill in its defaults into *out. */
static int
clients_query_check(const struct nap_report_client_query *q, struct nap_report_client_query *out,
		    struct nap_store_err *err)
{
	int r;

	*out = *q;
	if ((unsigned)q->filter > NAP_REPORT_EXEMPT)
		return nap_store_errf(err, -EINVAL, "unknown client filter %d", (int)q->filter);
	if ((unsigned)q->sort > NAP_REPORT_SORT_SILENT)
		return nap_store_errf(err, -EINVAL, "unknown sort order %d", (int)q->sort);
	if (q->action != NULL && q->action[0] != '\0') {
		bool ok = false;

		for (size_t i = 0; i < NAP_ARRAY_SIZE(rep_actions); i++)
			ok = ok || strcmp(q->action, rep_actions[i]) == 0;
		if (!ok)
			return nap_store_errf(err, -EINVAL,
					      "action must be full, restricted, probation or "
					      "reject");
	}
	if (q->prefix != NULL && q->prefix[0] != '\0' && !nap_report_machine_valid(q->prefix))
		return nap_store_errf(err, -EINVAL,
				      "name prefix: 1-%d printable ASCII characters without spaces",
				      NAP_REPORT_NAME_MAX);
	if (q->now < 0)
		return nap_store_errf(err, -EINVAL, "negative time");
	out->now = rep_now(q->now);
	if ((r = rep_silent_after(&out->silent_after, err)) < 0)
		return r;
	return rep_limit(&out->limit, q->offset, err);
}

static int
clients_run(struct nap_store *st, const struct nap_report_client_query *q0, const char *missing_id,
	    struct nap_report_client_list **out, struct nap_store_err *err)
{
	static const struct nap_report_client_query all;
	struct nap_report_client_query q;
	struct clients_ctx x = {.q = &q, .missing_id = missing_id};
	int r;

	*out = NULL;
	if (q0 == NULL)
		q0 = &all;
	if ((r = clients_query_check(q0, &q, err)) < 0)
		return r;
	/* The upper bound of the prefix range: the prefix with its last byte one higher (the
	 * bytes are printable ASCII, so it cannot overflow). */
	if (q.prefix != NULL && q.prefix[0] != '\0') {
		size_t n = strlen(q.prefix);

		memcpy(x.upper, q.prefix, n + 1);
		x.upper[n - 1]++;
	}
	x.l = calloc(1, sizeof(*x.l));
	if (x.l == NULL)
		return rep_oom(err);
	r = rep_run(st, clients_tx, &x, err);
	if (r < 0) {
		nap_report_client_list_free(x.l);
		return r;
	}
	*out = x.l;
	return 0;
}

int
nap_report_clients(struct nap_store *st, const struct nap_report_client_query *q,
		   struct nap_report_client_list **out, struct nap_store_err *err)
{
	return clients_run(st, q, "", out, err);
}

void
nap_report_client_list_free(struct nap_report_client_list *l)
{
	if (l == NULL)
		return;
	free(l->v);
	free(l);
}

int
nap_report_policy_clients(struct nap_store *st, const char *id,
			  const struct nap_report_client_query *q,
			  struct nap_report_client_list **out, struct nap_store_err *err)
{
	*out = NULL;
	if (id == NULL || !nap_policy_id_valid(id))
		return nap_store_errf(err, -EINVAL,
				      "policy id: 1-%d characters of A-Z a-z 0-9 . _ : + ~ -",
				      NAP_POLICY_ID_MAX);
	return clients_run(st, q, id, out, err);
}

/* ---- explain ---- */

#define MSG_COLS                                                                                   \
	"id, time, received, napvd, nas, client, machine, site, enforcement, result, branch,"      \
	" exemption, action, hsr_revision, correlation_id"

static void
msg_from_row(struct nap_store *st, struct store_cursor *c, struct nap_report_msg *m)
{
	memset(m, 0, sizeof(*m));
	rep_col(st, c, 0, m->id, sizeof(m->id));
	m->time = st->ops->int64(c, 1);
	m->received = st->ops->int64(c, 2);
	rep_col(st, c, 3, m->napvd, sizeof(m->napvd));
	rep_col(st, c, 4, m->nas, sizeof(m->nas));
	rep_col(st, c, 5, m->client, sizeof(m->client));
	rep_col(st, c, 6, m->machine, sizeof(m->machine));
	rep_col(st, c, 7, m->site, sizeof(m->site));
	rep_col(st, c, 8, m->enforcement, sizeof(m->enforcement));
	rep_col(st, c, 9, m->result, sizeof(m->result));
	rep_col(st, c, 10, m->branch, sizeof(m->branch));
	rep_col(st, c, 11, m->exemption, sizeof(m->exemption));
	rep_col(st, c, 12, m->action, sizeof(m->action));
	m->hsr_revision = (uint64_t)st->ops->int64(c, 13);
	rep_col(st, c, 14, m->correlation_id, sizeof(m->correlation_id));
}

/* "45 min", "2 h", "3 d": how long, for a person. */
static void
rep_duration(int64_t s, char *buf, size_t cap)
{
	if (s < 120)
		snprintf(buf, cap, "%lld s", (long long)s);
	else if (s < 2 * 3600)
		snprintf(buf, cap, "%lld min", (long long)(s / 60));
	else if (s < 2 * 86400)
		snprintf(buf, cap, "%lld h", (long long)(s / 3600));
	else
		snprintf(buf, cap, "%lld d", (long long)(s / 86400));
}

static void
rep_date(int64_t t, char *buf, size_t cap)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL || strftime(buf, cap, "%Y-%m-%d", &tm) == 0)
		snprintf(buf, cap, "@%lld", (long long)t);
}

static void fix_add(struct nap_report_explain *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Add a suggestion unless the same text is already there. */
static void
fix_add(struct nap_report_explain *e, const char *fmt, ...)
{
	char buf[NAP_REPORT_FIX_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	for (size_t i = 0; i < e->n_fixes; i++)
		if (strcmp(e->fixes[i], buf) == 0)
			return;
	if (e->n_fixes < NAP_REPORT_FIXES_MAX)
		memcpy(e->fixes[e->n_fixes++], buf, sizeof(buf));
}

/* What the store says about one missing id. */
static int
missing_load(struct nap_store *st, struct nap_report_missing *m, int64_t now,
	     struct nap_store_err *err)
{
	struct store_cursor *c;
	int r;

	rep_copy(m->kind, sizeof(m->kind), "unknown");
	r = st->ops->query(st, "SELECT severity, effective FROM policies WHERE id = $1",
			   SP_ARGS(SP_T(m->id)), &c, err);
	if (r < 0)
		return r;
	if ((r = st->ops->next(c, err)) > 0) {
		rep_copy(m->kind, sizeof(m->kind), "policy");
		rep_col(st, c, 0, m->severity, sizeof(m->severity));
		m->effective = st->ops->int64(c, 1);
	}
	st->ops->done(c);
	if (r < 0)
		return r;
	if (strcmp(m->kind, "policy") == 0) {
		r = st->ops->query(st,
				   "SELECT package, min_version, scheme FROM policy_reqs"
				   " WHERE policy_id = $1 ORDER BY seq",
				   SP_ARGS(SP_T(m->id)), &c, err);
		if (r < 0)
			return r;
		while ((r = st->ops->next(c, err)) > 0) {
			if (m->n_reqs < NAP_REPORT_REQS_MAX) {
				struct nap_report_req *q = &m->reqs[m->n_reqs++];

				rep_col(st, c, 0, q->package, sizeof(q->package));
				rep_col(st, c, 1, q->min_version, sizeof(q->min_version));
				rep_col(st, c, 2, q->scheme, sizeof(q->scheme));
			}
			m->n_reqs_total++;
		}
		st->ops->done(c);
		if (r < 0)
			return r;
	} else {
		r = st->ops->query(st, "SELECT type, severity, effective FROM checks WHERE id = $1",
				   SP_ARGS(SP_T(m->id)), &c, err);
		if (r < 0)
			return r;
		if ((r = st->ops->next(c, err)) > 0) {
			rep_copy(m->kind, sizeof(m->kind), "check");
			rep_col(st, c, 0, m->check_type, sizeof(m->check_type));
			rep_col(st, c, 1, m->severity, sizeof(m->severity));
			m->effective = st->ops->int64(c, 2);
		}
		st->ops->done(c);
		if (r < 0)
			return r;
	}
	m->in_force = m->effective <= now;
	return 0;
}

/* The agent's detail (JSON it sent, stored verbatim): failed checks and its failure message. */
static void
detail_read(const char *text, struct nap_report_explain *e)
{
	json_t *root, *checks, *v;
	const char *key;

	if (text == NULL || text[0] == '\0')
		return;
	root = json_loads(text, 0, NULL);
	if (root == NULL)
		return;
	checks = json_object_get(root, "checks");
	if (json_is_object(checks)) {
		json_object_foreach(checks, key, v) {
			const char *s = json_string_value(v);

			if (s == NULL || strcmp(s, "pass") == 0)
				continue;
			if (e->n_failed_checks >= NAP_HEALTH_MAX_CHECKS)
				break;
			rep_copy(e->failed_checks[e->n_failed_checks],
				 sizeof(e->failed_checks[0]), key);
			rep_copy(e->failed_status[e->n_failed_checks], sizeof(e->failed_status[0]),
				 strcmp(s, "fail") == 0 ? "fail" : "error");
			e->n_failed_checks++;
		}
	}
	v = json_object_get(root, "failure");
	if (json_is_string(v))
		rep_copy(e->agent_failure, sizeof(e->agent_failure), json_string_value(v));
	json_decref(root);
}

static const char *
check_fix(const char *type)
{
	static const struct {
		const char *type, *fix;
	} fixes[] = {
		{"antivirus", "update the antivirus signatures (or start the scanner)"},
		{"file", "restore the file the check expects"},
		{"service", "start the systemd unit and enable it"},
		{"command", "make the check's command succeed"},
		{"firewall", "enable the host firewall"},
		{"auto_updates", "enable automatic updates"},
		{"reboot", "reboot the host (an update asks for it)"},
	};

	for (size_t i = 0; i < NAP_ARRAY_SIZE(fixes); i++)
		if (strcmp(type, fixes[i].type) == 0)
			return fixes[i].fix;
	return "make the check pass";
}

/* The fixes for an explained client, most important first. */
static void
explain_fixes(struct nap_report_explain *e)
{
	const struct nap_report_client *c = &e->c;
	char d[32];

	if (!e->has_verdict)
		fix_add(e, "napvd never judged %s: check that its enforcement point sends it to "
			   "napvd and that napvd ships its status messages",
			c->machine);
	if (c->silent) {
		rep_duration(e->now - c->last_seen, d, sizeof(d));
		fix_add(e, "agent silent for %s: check napagentd on the host", d);
	}
	if (e->has_verdict && !e->revision_current)
		fix_add(e,
			"HSR revision out of date: napvd judged it against revision %llu, the site "
			"is at %llu: check that napsited publishes and napvd reads the directory",
			(unsigned long long)c->hsr_revision, (unsigned long long)e->revision);
	if (c->has_agent && c->agent_revision < e->revision)
		fix_add(e,
			"the agent evaluated policy revision %llu, the site is at %llu: it refreshes "
			"its policy on its next run (or restart napagentd)",
			(unsigned long long)c->agent_revision, (unsigned long long)e->revision);
	for (size_t i = 0; i < e->n_missing; i++) {
		const struct nap_report_missing *m = &e->missing[i];
		char when[48] = "";

		if (!m->in_force) {
			rep_date(m->effective, d, sizeof(d));
			snprintf(when, sizeof(when), " before %s", d);
		}
		if (strcmp(m->kind, "policy") == 0) {
			if (m->n_reqs == 0)
				fix_add(e, "apply advisory %s%s", m->id, when);
			for (size_t k = 0; k < m->n_reqs; k++)
				fix_add(e, "install %s >= %s%s (%s)", m->reqs[k].package,
					m->reqs[k].min_version, when, m->id);
		} else if (strcmp(m->kind, "check") == 0) {
			fix_add(e, "%s: %s check %s%s", check_fix(m->check_type), m->check_type,
				m->id, when);
		} else {
			fix_add(e,
				"%s is no longer a policy or check: the agent clears it when it "
				"evaluates the current revision",
				m->id);
		}
	}
	for (size_t i = 0; i < e->n_failed_checks; i++)
		fix_add(e, "check %s reported %s: make it pass on the host", e->failed_checks[i],
			e->failed_status[i]);
	if (!e->has_verdict)
		return;
	if (strcmp(c->branch, "out_of_date") == 0)
		fix_add(e, "the agent must refresh its policy and evaluate again (napagentd does "
			   "so on its own; restart it if it does not)");
	else if (strcmp(c->branch, "expired_ttl") == 0 ||
		 strcmp(c->branch, "expired_absolute") == 0)
		fix_add(e, "the agent must evaluate again: check that napagentd runs");
	else if (strcmp(c->branch, "invalid") == 0)
		fix_add(e, "the compliance data was refused: check the agent's version and its "
			   "site key");
	else if (strcmp(c->branch, "unknown_site") == 0)
		fix_add(e, "napvd holds no HSR for site \"%s\": check the agent's site code and "
			   "napvd's [hsr] source",
			c->site);
	else if (strcmp(c->branch, "server_failure") == 0)
		fix_add(e, "napvd's HSR is unavailable or too old: check the directory and napvd's "
			   "[hsr] settings");
	else if (strcmp(c->branch, "client_failure") == 0)
		fix_add(e, "the agent reported a failure%s%s: check napagentd's log",
			e->agent_failure[0] != '\0' ? ": " : "", e->agent_failure);
	else if (strcmp(c->branch, "no_nap_entry") == 0 || strcmp(c->branch, "no_soh") == 0)
		fix_add(e, "no nap statement of health: install and start napagentd, or exempt "
			   "the machine");
	else if (strcmp(c->branch, "wsh_failed") == 0)
		fix_add(e, "a security check the enforcement point requires failed (firewall, "
			   "antivirus, automatic updates): fix it on the host");
	else if (strcmp(c->branch, "check_failed") == 0 && e->n_failed_checks == 0 &&
		 e->n_missing == 0)
		fix_add(e, "the agent did not report a pass for every HSR check: update "
			   "napagentd or fix the checks on the host");
	else if (!c->compliant && e->n_fixes == 0)
		fix_add(e, "evaluate again on the host (napagentd) and see napctl agent show %s",
			c->machine);
}

struct explain_ctx {
	const char *machine;
	struct nap_report_explain *e;
};

static int
explain_tx(struct nap_store *st, void *arg, struct nap_store_err *err)
{
	struct explain_ctx *x = arg;
	struct nap_report_explain *e = x->e;
	struct nap_report_client *cl = &e->c;
	int64_t now = e->now, silent_after = e->silent_after;
	struct store_cursor *c;
	char *detail = NULL;
	int r;

	memset(e, 0, sizeof(*e));
	e->now = now;
	e->silent_after = silent_after;
	rep_copy(cl->machine, sizeof(cl->machine), x->machine);
	if ((r = rep_revision(st, &e->revision, err)) < 0)
		return r;
	r = st->ops->query(st,
			   "SELECT id, time, first_seen, messages, napvd, nas, client, site,"
			   " enforcement, result, branch, exemption, action, hsr_revision"
			   " FROM client_last WHERE machine = $1",
			   SP_ARGS(SP_T(x->machine)), &c, err);
	if (r < 0)
		return r;
	if ((r = st->ops->next(c, err)) > 0) {
		e->has_verdict = cl->has_verdict = true;
		rep_col(st, c, 0, cl->id, sizeof(cl->id));
		cl->time = st->ops->int64(c, 1);
		cl->first_seen = st->ops->int64(c, 2);
		cl->messages = st->ops->int64(c, 3);
		rep_col(st, c, 4, cl->napvd, sizeof(cl->napvd));
		rep_col(st, c, 5, cl->nas, sizeof(cl->nas));
		rep_col(st, c, 6, cl->client, sizeof(cl->client));
		rep_col(st, c, 7, cl->site, sizeof(cl->site));
		rep_col(st, c, 8, cl->enforcement, sizeof(cl->enforcement));
		rep_col(st, c, 9, cl->result, sizeof(cl->result));
		rep_col(st, c, 10, cl->branch, sizeof(cl->branch));
		rep_col(st, c, 11, cl->exemption, sizeof(cl->exemption));
		rep_col(st, c, 12, cl->action, sizeof(cl->action));
		cl->hsr_revision = (uint64_t)st->ops->int64(c, 13);
		cl->compliant = strcmp(cl->result, "compliant") == 0;
		cl->last_seen = cl->time;
	}
	st->ops->done(c);
	if (r < 0)
		return r;
	r = st->ops->query(st,
			   "SELECT state, compliant, hsr_revision, evaluated, received, missing,"
			   " detail FROM agent_state WHERE client = $1",
			   SP_ARGS(SP_T(x->machine)), &c, err);
	if (r < 0)
		return r;
	if ((r = st->ops->next(c, err)) > 0) {
		cl->has_agent = true;
		cl->agent_state = (int)st->ops->int64(c, 0);
		cl->agent_compliant = st->ops->int64(c, 1) != 0;
		cl->agent_revision = (uint64_t)st->ops->int64(c, 2);
		cl->agent_evaluated = st->ops->int64(c, 3);
		cl->agent_received = st->ops->int64(c, 4);
		rep_missing_split(st->ops->text(c, 5), cl);
		if (!st->ops->is_null(c, 6) && (detail = strdup(st->ops->text(c, 6))) == NULL)
			r = -ENOMEM;
		if (cl->agent_received > cl->last_seen)
			cl->last_seen = cl->agent_received;
	}
	st->ops->done(c);
	if (r == -ENOMEM)
		return rep_oom(err);
	if (r < 0)
		return r;
	if (!e->has_verdict && !cl->has_agent)
		return nap_store_errf(err, -ENOENT,
				      "no client %s: napvd never judged it and no agent reported it",
				      x->machine);
	detail_read(detail, e);
	free(detail);
	cl->silent = cl->last_seen < now - silent_after;
	e->revision_current = cl->hsr_revision >= e->revision;
	if (e->has_verdict)
		e->meaning = nap_report_branch_meaning(cl->branch);
	for (size_t i = 0; i < cl->n_missing; i++) {
		struct nap_report_missing *m = &e->missing[e->n_missing++];

		rep_copy(m->id, sizeof(m->id), cl->missing[i]);
		if ((r = missing_load(st, m, now, err)) < 0)
			return r;
	}
	r = st->ops->query(st,
			   "SELECT " MSG_COLS " FROM status_messages WHERE machine = $1"
			   " ORDER BY time DESC, id DESC LIMIT $2",
			   SP_ARGS(SP_T(x->machine), SP_I(NAP_REPORT_RECENT_MAX)), &c, err);
	if (r < 0)
		return r;
	while ((r = st->ops->next(c, err)) > 0 && e->n_recent < NAP_REPORT_RECENT_MAX)
		msg_from_row(st, c, &e->recent[e->n_recent++]);
	st->ops->done(c);
	if (r < 0)
		return r;
	explain_fixes(e);
	return 0;
}

int
nap_report_explain(struct nap_store *st, const char *machine, int64_t now, int64_t silent_after,
		   struct nap_report_explain *out, struct nap_store_err *err)
{
	struct explain_ctx x = {.machine = machine, .e = out};
	int r;

	memset(out, 0, sizeof(*out));
	if (!nap_report_machine_valid(machine))
		return nap_store_errf(err, -EINVAL,
				      "client name: 1-%d printable ASCII characters without spaces",
				      NAP_REPORT_NAME_MAX);
	if (now < 0)
		return nap_store_errf(err, -EINVAL, "negative time");
	if ((r = rep_silent_after(&silent_after, err)) < 0)
		return r;
	out->now = rep_now(now);
	out->silent_after = silent_after;
	return rep_run(st, explain_tx, &x, err);
}

/* ---- policies ---- */

struct policies_ctx {
	struct nap_report_policy_list *l;
	size_t cap;
	char *ids;      /* every missing id of every agent, NUL-separated */
	size_t ids_len, ids_cap;
};

static int
policies_push(struct policies_ctx *x, const struct nap_report_policy *p)
{
	if (x->l->n >= x->cap) {
		size_t ncap = x->cap == 0 ? 64 : x->cap * 2;
		struct nap_report_policy *nv = realloc(x->l->v, ncap * sizeof(*nv));

		if (nv == NULL)
			return -ENOMEM;
		x->l->v = nv;
		x->cap = ncap;
	}
	x->l->v[x->l->n++] = *p;
	return 0;
}

static int
policy_id_cmp(const void *a, const void *b)
{
	return strcmp(((const struct nap_report_policy *)a)->id,
		      ((const struct nap_report_policy *)b)->id);
}

static int
str_p_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int
policies_load(struct nap_store *st, struct policies_ctx *x, const char *sql, const char *kind,
	      struct nap_store_err *err)
{
	struct store_cursor *c;
	int r;

	r = st->ops->query(st, sql, SP_NONE, &c, err);
	if (r < 0)
		return r;
	while ((r = st->ops->next(c, err)) > 0) {
		struct nap_report_policy p = {0};

		rep_col(st, c, 0, p.id, sizeof(p.id));
		rep_copy(p.kind, sizeof(p.kind), kind);
		rep_col(st, c, 1, p.severity, sizeof(p.severity));
		p.effective = st->ops->int64(c, 2);
		if (policies_push(x, &p) < 0) {
			r = rep_oom(err);
			break;
		}
	}
	st->ops->done(c);
	return r < 0 ? r : 0;
}

static int
policies_tx(struct nap_store *st, void *arg, struct nap_store_err *err)
{
	struct policies_ctx *x = arg;
	struct store_cursor *c;
	const char **ids = NULL;
	size_t n_ids = 0, known;
	int r;

	x->l->n = 0;
	x->ids_len = 0;
	if ((r = rep_int(st, "SELECT count(*) FROM agent_state", SP_NONE, &x->l->agents, err)) < 0)
		return r;
	if ((r = policies_load(st, x, "SELECT id, severity, effective FROM policies", "policy",
			       err)) < 0 ||
	    (r = policies_load(st, x, "SELECT id, severity, effective FROM checks", "check",
			       err)) < 0)
		return r;
	known = x->l->n;
	qsort(x->l->v, known, sizeof(x->l->v[0]), policy_id_cmp);
	/* Every agent's missing ids, counted here: one scan instead of a match per policy. */
	r = st->ops->query(st, "SELECT missing FROM agent_state WHERE missing <> ''", SP_NONE, &c,
			   err);
	if (r < 0)
		return r;
	while ((r = st->ops->next(c, err)) > 0) {
		const char *s = st->ops->text(c, 0);
		size_t n = strlen(s) + 1;

		if (x->ids_len + n > x->ids_cap) {
			size_t ncap = x->ids_cap == 0 ? 65536 : x->ids_cap;
			char *nv;

			while (ncap < x->ids_len + n)
				ncap *= 2;
			if ((nv = realloc(x->ids, ncap)) == NULL) {
				r = rep_oom(err);
				break;
			}
			x->ids = nv;
			x->ids_cap = ncap;
		}
		memcpy(x->ids + x->ids_len, s, n);
		x->ids_len += n;
	}
	st->ops->done(c);
	if (r < 0)
		return r;
	/* Split into ids (spaces become NULs), sort, and count the runs. */
	for (size_t i = 0; i < x->ids_len; i++) {
		if (x->ids[i] == ' ')
			x->ids[i] = '\0';
		if (x->ids[i] != '\0' && (i == 0 || x->ids[i - 1] == '\0'))
			n_ids++;
	}
	ids = malloc((n_ids > 0 ? n_ids : 1) * sizeof(*ids));
	if (ids == NULL)
		return rep_oom(err);
	n_ids = 0;
	for (size_t i = 0; i < x->ids_len; i++)
		if (x->ids[i] != '\0' && (i == 0 || x->ids[i - 1] == '\0'))
			ids[n_ids++] = x->ids + i;
	qsort(ids, n_ids, sizeof(*ids), str_p_cmp);
	for (size_t i = 0; i < n_ids;) {
		size_t j = i + 1;
		struct nap_report_policy key = {0}, *hit;

		while (j < n_ids && strcmp(ids[j], ids[i]) == 0)
			j++;
		rep_copy(key.id, sizeof(key.id), ids[i]);
		hit = bsearch(&key, x->l->v, known, sizeof(key), policy_id_cmp);
		if (hit != NULL) {
			hit->missing = (int64_t)(j - i);
		} else {
			rep_copy(key.kind, sizeof(key.kind), "unknown");
			key.missing = (int64_t)(j - i);
			if (policies_push(x, &key) < 0) {
				free(ids);
				return rep_oom(err);
			}
		}
		i = j;
	}
	free(ids);
	return 0;
}

static int
policy_report_cmp(const void *a, const void *b)
{
	const struct nap_report_policy *x = a, *y = b;

	if (x->missing != y->missing)
		return x->missing > y->missing ? -1 : 1;
	return strcmp(x->id, y->id);
}

int
nap_report_policies(struct nap_store *st, int64_t limit, int64_t offset,
		    struct nap_report_policy_list **out, struct nap_store_err *err)
{
	struct policies_ctx x = {0};
	size_t from, n;
	int r;

	*out = NULL;
	if ((r = rep_limit(&limit, offset, err)) < 0)
		return r;
	x.l = calloc(1, sizeof(*x.l));
	if (x.l == NULL)
		return rep_oom(err);
	r = rep_run(st, policies_tx, &x, err);
	free(x.ids);
	if (r < 0) {
		nap_report_policy_list_free(x.l);
		return r;
	}
	qsort(x.l->v, x.l->n, sizeof(x.l->v[0]), policy_report_cmp);
	x.l->total = (int64_t)x.l->n;
	from = (size_t)offset < x.l->n ? (size_t)offset : x.l->n;
	n = x.l->n - from < (size_t)limit ? x.l->n - from : (size_t)limit;
	if (from > 0 && n > 0)
		memmove(x.l->v, x.l->v + from, n * sizeof(x.l->v[0]));
	x.l->n = n;
	*out = x.l;
	return 0;
}

void
nap_report_policy_list_free(struct nap_report_policy_list *l)
{
	if (l == NULL)
		return;
	free(l->v);
	free(l);
}

/* ---- history ---- */

/*
 * Per bucket and machine the last verdict decides; time * 2 + (compliant ? 0 : 1) carries both
 * the time and the verdict in one maximum, so that of two verdicts in the same second (times
 * are whole seconds) the noncompliant one counts: the conservative reading. Day buckets read
 * status_daily, that maximum and the message count per (day, machine), kept by the ingester
 * (status.c, migration 5). Hour buckets read the messages: PostgreSQL aggregates in SQL (one sort
 * of the range's (hour, machine) pairs, given the memory to stay off disk); SQLite would sort
 * every pair, so instead the rows are read in time order from the time index and folded here,
 * with one slot per machine: its current bucket and best value, counted into the bucket when a
 * later bucket (or the end) comes.
 */
struct hist_slot {
	char *machine; /* NULL: free */
	int64_t bucket, v;
};

struct hist_map {
	struct hist_slot *v;
	size_t cap, n; /* cap a power of two */
};

static uint64_t
hist_hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

static void
hist_count(struct nap_report_history *h, const struct hist_slot *e)
{
	size_t i = (size_t)((e->bucket * h->bucket - h->since) / h->bucket);

	if (i < h->n) {
		if (e->v & 1)
			h->v[i].noncompliant++;
		else
			h->v[i].compliant++;
	}
}

static int
hist_grow(struct hist_map *m)
{
	size_t ncap = m->cap == 0 ? 4096 : m->cap * 2;
	struct hist_slot *nv = calloc(ncap, sizeof(*nv));

	if (nv == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < m->cap; i++) {
		size_t k;

		if (m->v[i].machine == NULL)
			continue;
		k = (size_t)hist_hash(m->v[i].machine) & (ncap - 1);
		while (nv[k].machine != NULL)
			k = (k + 1) & (ncap - 1);
		nv[k] = m->v[i];
	}
	free(m->v);
	m->v = nv;
	m->cap = ncap;
	return 0;
}

/* One row (in time order) into the map. */
static int
hist_fold(struct nap_report_history *h, struct hist_map *m, const char *machine, int64_t b,
	  int64_t v)
{
	size_t k;

	if ((m->n + 1) * 2 > m->cap && hist_grow(m) < 0)
		return -ENOMEM;
	k = (size_t)hist_hash(machine) & (m->cap - 1);
	while (m->v[k].machine != NULL && strcmp(m->v[k].machine, machine) != 0)
		k = (k + 1) & (m->cap - 1);
	if (m->v[k].machine == NULL) {
		if ((m->v[k].machine = strdup(machine)) == NULL)
			return -ENOMEM;
		m->n++;
	} else if (m->v[k].bucket == b) {
		if (v > m->v[k].v)
			m->v[k].v = v;
		return 0;
	} else {
		hist_count(h, &m->v[k]);
	}
	m->v[k].bucket = b;
	m->v[k].v = v;
	return 0;
}

static int
history_fold_tx(struct nap_store *st, struct nap_report_history *h, struct nap_store_err *err)
{
	struct hist_map m = {0};
	struct store_cursor *c;
	int r;

	r = st->ops->query(st,
			   "SELECT time, machine, CASE WHEN result = 'compliant' THEN 0 ELSE 1 END"
			   " FROM status_messages WHERE time >= $1 AND time < $2 ORDER BY time",
			   SP_ARGS(SP_I(h->since), SP_I(h->until)), &c, err);
	if (r < 0)
		return r;
	while ((r = st->ops->next(c, err)) > 0) {
		int64_t t = st->ops->int64(c, 0), b = t / h->bucket;
		size_t i = (size_t)((b * h->bucket - h->since) / h->bucket);

		if (t < h->since || i >= h->n)
			continue;
		h->v[i].messages++;
		if (hist_fold(h, &m, st->ops->text(c, 1), b, t * 2 + st->ops->int64(c, 2)) < 0) {
			r = rep_oom(err);
			break;
		}
	}
	st->ops->done(c);
	for (size_t i = 0; i < m.cap; i++) {
		if (m.v[i].machine == NULL)
			continue;
		if (r == 0)
			hist_count(h, &m.v[i]);
		free(m.v[i].machine);
	}
	free(m.v);
	return r < 0 ? r : 0;
}

static int
history_tx(struct nap_store *st, void *arg, struct nap_store_err *err)
{
	struct nap_report_history *h = arg;
	struct store_cursor *c;
	int r;

	memset(h->v, 0, h->n * sizeof(h->v[0]));
	for (size_t i = 0; i < h->n; i++)
		h->v[i].start = h->since + (int64_t)i * h->bucket;
	if (h->bucket == 86400) {
		/* days: the rollup the ingester keeps (status.c), one row per (day, machine) */
		r = st->ops->query(st,
				   "SELECT day, sum(v % 2), count(*), sum(messages) FROM status_daily"
				   " WHERE day >= $1 AND day < $2 GROUP BY day ORDER BY day",
				   SP_ARGS(SP_I(h->since / 86400), SP_I(h->until / 86400)), &c,
				   err);
	} else if (strcmp(st->ops->name, "postgresql") != 0) {
		return history_fold_tx(st, h, err);
	} else {
		/*
		 * Hours in PostgreSQL: the (bucket, machine) groups sort in this memory (the
		 * default 4 MB spills to disk); sorting them measured about 40% cheaper than
		 * hashing them.
		 */
		if ((r = q_exec(st, "SET LOCAL work_mem = '256MB'", SP_NONE, NULL, err)) < 0 ||
		    (r = q_exec(st, "SET LOCAL enable_hashagg = off", SP_NONE, NULL, err)) < 0)
			return r;
		r = st->ops->query(st,
				   "SELECT b, sum(v % 2), count(*), sum(n) FROM"
				   " (SELECT time / $1 AS b, machine,"
				   " max(" STATUS_VERDICT_V ")"
				   " AS v, count(*) AS n FROM status_messages"
				   " WHERE time >= $2 AND time < $3 GROUP BY 1, 2) x"
				   " GROUP BY b ORDER BY b",
				   SP_ARGS(SP_I(h->bucket), SP_I(h->since), SP_I(h->until)), &c,
				   err);
	}
	if (r < 0)
		return r;
	while ((r = st->ops->next(c, err)) > 0) {
		int64_t b = st->ops->int64(c, 0) * h->bucket;
		size_t i;

		if (b < h->since || b >= h->until)
			continue;
		i = (size_t)((b - h->since) / h->bucket);
		h->v[i].noncompliant = st->ops->int64(c, 1);
		h->v[i].compliant = st->ops->int64(c, 2) - h->v[i].noncompliant;
		h->v[i].messages = st->ops->int64(c, 3);
	}
	st->ops->done(c);
	return r < 0 ? r : 0;
}

int
nap_report_history(struct nap_store *st, int64_t since, int64_t until, int64_t bucket,
		   struct nap_report_history **out, struct nap_store_err *err)
{
	struct nap_report_history *h;
	int64_t n;
	int r;

	*out = NULL;
	if (bucket != 3600 && bucket != 86400)
		return nap_store_errf(err, -EINVAL, "history bucket must be an hour or a day");
	if (since < 0 || until <= since || until > 253402300799LL)
		return nap_store_errf(err, -EINVAL, "history range must be 0 <= since < until");
	since -= since % bucket;
	until = until % bucket == 0 ? until : until - until % bucket + bucket;
	n = (until - since) / bucket;
	if (n > NAP_REPORT_BUCKETS_MAX)
		return nap_store_errf(err, -EINVAL, "history range holds %lld buckets, at most %d",
				      (long long)n, NAP_REPORT_BUCKETS_MAX);
	h = calloc(1, sizeof(*h));
	if (h == NULL || (h->v = calloc((size_t)n, sizeof(h->v[0]))) == NULL) {
		free(h);
		return rep_oom(err);
	}
	h->since = since;
	h->until = until;
	h->bucket = bucket;
	h->n = (size_t)n;
	r = rep_run(st, history_tx, h, err);
	if (r < 0) {
		nap_report_history_free(h);
		return r;
	}
	*out = h;
	return 0;
}

void
nap_report_history_free(struct nap_report_history *h)
{
	if (h == NULL)
		return;
	free(h->v);
	free(h);
}

/* ---- status feed ---- */

struct feed_ctx {
	const char *machine;
	int64_t limit, offset;
	struct nap_report_feed *f;
};

static int
feed_tx(struct nap_store *st, void *arg, struct nap_store_err *err)
{
	struct feed_ctx *x = arg;
	struct store_cursor *c;
	int r;

	x->f->n = 0;
	if (x->machine[0] != '\0')
		r = st->ops->query(st,
				   "SELECT " MSG_COLS " FROM status_messages WHERE machine = $1"
				   " ORDER BY time DESC, id DESC LIMIT $2 OFFSET $3",
				   SP_ARGS(SP_T(x->machine), SP_I(x->limit), SP_I(x->offset)), &c,
				   err);
	else
		r = st->ops->query(st,
				   "SELECT " MSG_COLS " FROM status_messages"
				   " ORDER BY time DESC, id DESC LIMIT $1 OFFSET $2",
				   SP_ARGS(SP_I(x->limit), SP_I(x->offset)), &c, err);
	if (r < 0)
		return r;
	while ((r = st->ops->next(c, err)) > 0 && x->f->n < (size_t)x->limit)
		msg_from_row(st, c, &x->f->v[x->f->n++]);
	st->ops->done(c);
	return r < 0 ? r : 0;
}

int
nap_report_feed(struct nap_store *st, const char *machine, int64_t limit, int64_t offset,
		struct nap_report_feed **out, struct nap_store_err *err)
{
	struct feed_ctx x = {.machine = machine != NULL ? machine : "", .offset = offset};
	int r;

	*out = NULL;
	x.limit = limit;
	if ((r = rep_limit(&x.limit, offset, err)) < 0)
		return r;
	if (x.machine[0] != '\0' && !nap_report_machine_valid(x.machine))
		return nap_store_errf(err, -EINVAL,
				      "client name: 1-%d printable ASCII characters without spaces",
				      NAP_REPORT_NAME_MAX);
	x.f = calloc(1, sizeof(*x.f));
	if (x.f == NULL || (x.f->v = calloc((size_t)x.limit, sizeof(x.f->v[0]))) == NULL) {
		free(x.f);
		return rep_oom(err);
	}
	r = rep_run(st, feed_tx, &x, err);
	if (r < 0) {
		nap_report_feed_free(x.f);
		return r;
	}
	*out = x.f;
	return 0;
}

void
nap_report_feed_free(struct nap_report_feed *f)
{
	if (f == NULL)
		return;
	free(f->v);
	free(f);
}
