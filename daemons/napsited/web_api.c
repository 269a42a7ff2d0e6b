// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * The JSON API of the admin web listener, /api/v1/...: the report queries of include/nap/report.h
 * as JSON documents (times as Unix seconds, absent values as null). The parameters were declared
 * by the route (web.c) and are parsed and bounded here before a query runs; the report functions
 * check them once more and bind every value. Strings from the store are passed through jansson,
 * which escapes them; a string that is not UTF-8 has its non-ASCII bytes replaced by '?'.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "nap/hsr.h"
#include "nap/report.h"
#include "nap/store.h"
#include "web.h"

#define WEB_JSON "application/json"

/* A JSON string of s; never NULL unless out of memory (bad UTF-8 is made ASCII). */
static json_t *
js(const char *s)
{
	json_t *j;
	char *copy;

	if (s == NULL)
		return json_null();
	if ((j = json_string(s)) != NULL)
		return j;
	if ((copy = strdup(s)) == NULL)
		return NULL;
	for (char *p = copy; *p != '\0'; p++)
		if ((unsigned char)*p >= 0x80 || (unsigned char)*p < 0x20)
			*p = '?';
	j = json_string(copy);
	free(copy);
	return j;
}

/* "" as null: optional words of the store. */
static json_t *
js_opt(const char *s)
{
	return s == NULL || *s == '\0' ? json_null() : js(s);
}

static void
set(json_t *o, const char *k, json_t *v)
{
	json_object_set_new(o, k, v);
}

static int
web_json_reply(struct web_req *r, json_t *o)
{
	char *text = o != NULL ? json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;

	json_decref(o);
	if (text == NULL)
		return web_fail(r, 500, "out of memory");
	r->body = text;
	r->len = strlen(text);
	r->ctype = WEB_JSON;
	r->status = 200;
	return 0;
}

static json_t *
counts(const struct nap_report_counts *c)
{
	json_t *o = json_object();

	for (size_t i = 0; i < c->n; i++)
		set(o, c->v[i].key, json_integer(c->v[i].n));
	return o;
}

int
web_api_compliance(struct web_req *r)
{
	struct nap_report_compliance c;
	struct nap_store_err e = {{0}};
	json_t *o, *ag;
	int rc;

	rc = nap_report_compliance(r->st, r->now, r->silent_after, &c, &e);
	if (rc < 0)
		return web_store_fail(r, rc, &e);
	o = json_object();
	set(o, "site", js(r->site));
	set(o, "now", json_integer(c.now));
	set(o, "silent_after", json_integer(c.silent_after));
	set(o, "revision", json_integer((json_int_t)c.revision));
	set(o, "clients", json_integer(c.clients));
	set(o, "compliant", json_integer(c.compliant));
	set(o, "noncompliant", json_integer(c.noncompliant));
	set(o, "exempt", json_integer(c.exempt));
	set(o, "silent", json_integer(c.silent));
	set(o, "stale_revision", json_integer(c.stale_revision));
	set(o, "messages", json_integer(c.messages));
	set(o, "by_result", counts(&c.by_result));
	set(o, "by_action", counts(&c.by_action));
	set(o, "by_enforcement", counts(&c.by_enforcement));
	set(o, "by_branch", counts(&c.by_branch));
	ag = json_object();
	set(ag, "total", json_integer(c.agents));
	set(ag, "compliant", json_integer(c.agents_compliant));
	set(ag, "unrestricted", json_integer(c.agents_unrestricted));
	set(ag, "deferred", json_integer(c.agents_deferred));
	set(ag, "restricted", json_integer(c.agents_restricted));
	set(ag, "missing", json_integer(c.agents_missing));
	set(o, "agents", ag);
	return web_json_reply(r, o);
}

static json_t *
client_json(const struct nap_report_client *c, bool has_verdict)
{
	json_t *o = json_object(), *a, *m;

	set(o, "machine", js(c->machine));
	if (has_verdict) {
		set(o, "result", js(c->result));
		set(o, "compliant", json_boolean(c->compliant));
		set(o, "branch", js(c->branch));
		set(o, "exemption", js_opt(c->exemption));
		set(o, "action", js(c->action));
		set(o, "enforcement", js(c->enforcement));
		set(o, "site", js(c->site));
		set(o, "napvd", js(c->napvd));
		set(o, "nas", js(c->nas));
		set(o, "client", js(c->client));
		set(o, "hsr_revision", json_integer((json_int_t)c->hsr_revision));
		set(o, "id", js(c->id));
		set(o, "time", json_integer(c->time));
		set(o, "first_seen", json_integer(c->first_seen));
		set(o, "messages", json_integer(c->messages));
	}
	set(o, "last_seen", json_integer(c->last_seen));
	set(o, "silent", json_boolean(c->silent));
	if (!c->has_agent) {
		set(o, "agent", json_null());
		return o;
	}
	a = json_object();
	set(a, "state", js(web_agent_state_name(c->agent_state)));
	set(a, "compliant", json_boolean(c->agent_compliant));
	set(a, "hsr_revision", json_integer((json_int_t)c->agent_revision));
	set(a, "evaluated", json_integer(c->agent_evaluated));
	set(a, "received", json_integer(c->agent_received));
	m = json_array();
	for (size_t i = 0; i < c->n_missing; i++)
		json_array_append_new(m, js(c->missing[i]));
	set(a, "missing", m);
	set(o, "agent", a);
	return o;
}

static json_t *
client_list_json(const struct nap_report_client_list *l, const struct nap_report_client_query *q)
{
	json_t *o = json_object(), *a = json_array();

	set(o, "total", json_integer(l->total));
	set(o, "limit", json_integer(q->limit));
	set(o, "offset", json_integer(q->offset));
	for (size_t i = 0; i < l->n; i++)
		json_array_append_new(a, client_json(&l->v[i], true));
	set(o, "clients", a);
	return o;
}

int
web_api_clients(struct web_req *r)
{
	struct nap_report_client_query q;
	struct nap_report_client_list *l = NULL;
	struct nap_store_err e = {{0}};
	json_t *o;
	int rc;

	if (web_client_query(r, &q) < 0)
		return -EINVAL;
	rc = nap_report_clients(r->st, &q, &l, &e);
	if (rc < 0)
		return web_store_fail(r, rc, &e);
	o = client_list_json(l, &q);
	nap_report_client_list_free(l);
	return web_json_reply(r, o);
}

static json_t *
msg_json(const struct nap_report_msg *m)
{
	json_t *o = json_object();

	set(o, "id", js(m->id));
	set(o, "time", json_integer(m->time));
	set(o, "received", json_integer(m->received));
	set(o, "machine", js(m->machine));
	set(o, "result", js(m->result));
	set(o, "branch", js(m->branch));
	set(o, "exemption", js_opt(m->exemption));
	set(o, "action", js(m->action));
	set(o, "enforcement", js(m->enforcement));
	set(o, "site", js(m->site));
	set(o, "napvd", js(m->napvd));
	set(o, "nas", js(m->nas));
	set(o, "client", js(m->client));
	set(o, "hsr_revision", json_integer((json_int_t)m->hsr_revision));
	set(o, "correlation_id", js(m->correlation_id));
	return o;
}

int
web_api_client(struct web_req *r)
{
	struct nap_report_explain *x;
	struct nap_store_err e = {{0}};
	json_t *o, *a;
	int rc;

	if (!nap_report_machine_valid(r->arg))
		return web_fail(r, 400, "machine name: 1-%d printable characters without blanks",
				NAP_REPORT_NAME_MAX);
	if ((x = calloc(1, sizeof(*x))) == NULL)
		return web_fail(r, 500, "out of memory");
	rc = nap_report_explain(r->st, r->arg, r->now, r->silent_after, x, &e);
	if (rc < 0) {
		free(x);
		if (rc == -ENOENT)
			return web_fail(r, 404, "no such client");
		return web_store_fail(r, rc, &e);
	}
	o = client_json(&x->c, x->has_verdict);
	set(o, "now", json_integer(x->now));
	set(o, "silent_after", json_integer(x->silent_after));
	set(o, "revision", json_integer((json_int_t)x->revision));
	set(o, "has_verdict", json_boolean(x->has_verdict));
	set(o, "meaning", x->meaning != NULL ? js(x->meaning) : json_null());
	set(o, "revision_current", json_boolean(x->revision_current));
	a = json_array();
	for (size_t i = 0; i < x->n_missing; i++) {
		const struct nap_report_missing *m = &x->missing[i];
		json_t *mo = json_object(), *reqs = json_array();

		set(mo, "id", js(m->id));
		set(mo, "kind", js(m->kind));
		set(mo, "severity", js_opt(m->severity));
		set(mo, "effective", json_integer(m->effective));
		set(mo, "in_force", json_boolean(m->in_force));
		set(mo, "check_type", js_opt(m->check_type));
		for (size_t k = 0; k < m->n_reqs; k++) {
			json_t *q = json_object();

			set(q, "package", js(m->reqs[k].package));
			set(q, "min_version", js(m->reqs[k].min_version));
			set(q, "scheme", js(m->reqs[k].scheme));
			json_array_append_new(reqs, q);
		}
		set(mo, "requirements", reqs);
		set(mo, "requirements_total", json_integer((json_int_t)m->n_reqs_total));
		json_array_append_new(a, mo);
	}
	set(o, "missing", a);
	a = json_array();
	for (size_t i = 0; i < x->n_failed_checks; i++)
		json_array_append_new(a, json_pack("{s:o,s:o}", "id", js(x->failed_checks[i]),
						   "status", js(x->failed_status[i])));
	set(o, "failed_checks", a);
	set(o, "agent_failure", js_opt(x->agent_failure));
	a = json_array();
	for (size_t i = 0; i < x->n_recent; i++)
		json_array_append_new(a, msg_json(&x->recent[i]));
	set(o, "recent", a);
	a = json_array();
	for (size_t i = 0; i < x->n_fixes; i++)
		json_array_append_new(a, js(x->fixes[i]));
	set(o, "fixes", a);
	free(x);
	return web_json_reply(r, o);
}

int
web_api_policies(struct web_req *r)
{
	struct nap_report_policy_list *l = NULL;
	struct nap_store_err e = {{0}};
	int64_t limit, offset;
	json_t *o, *a;
	int rc;

	if (web_param_int(r, 0, "limit", 1, NAP_REPORT_LIMIT_MAX, NAP_REPORT_LIMIT_DEFAULT,
			  &limit) < 0 ||
	    web_param_int(r, 1, "offset", 0, NAP_REPORT_OFFSET_MAX, 0, &offset) < 0)
		return -EINVAL;
	rc = nap_report_policies(r->st, limit, offset, &l, &e);
	if (rc < 0)
		return web_store_fail(r, rc, &e);
	o = json_object();
	set(o, "agents", json_integer(l->agents));
	set(o, "total", json_integer(l->total));
	set(o, "limit", json_integer(limit));
	set(o, "offset", json_integer(offset));
	a = json_array();
	for (size_t i = 0; i < l->n; i++) {
		const struct nap_report_policy *p = &l->v[i];

		json_array_append_new(a, json_pack("{s:o,s:o,s:o,s:I,s:I}", "id", js(p->id), "kind",
						   js(p->kind), "severity", js_opt(p->severity),
						   "effective", (json_int_t)p->effective, "missing",
						   (json_int_t)p->missing));
	}
	set(o, "policies", a);
	nap_report_policy_list_free(l);
	return web_json_reply(r, o);
}

/* Kind "policy" or "check" with its settings, or "unknown" (an id agents report that the store
 * does not have). Shared with the HTML page. */
json_t *
web_policy_detail(struct web_req *r, const char *id, int *rc_out)
{
	struct nap_store_err e = {{0}};
	struct nap_policy p;
	struct nap_check c;
	json_t *o = json_object(), *a;
	int rc;

	*rc_out = 0;
	memset(&p, 0, sizeof(p));
	rc = nap_store_policy_get(r->st, id, &p, &e);
	if (rc == 0) {
		set(o, "kind", js("policy"));
		set(o, "severity", js(p.severity));
		set(o, "effective", json_integer(p.effective));
		set(o, "reason", js(p.reason));
		a = json_array();
		for (size_t i = 0; i < p.n_reqs; i++) {
			const char *sch = nap_policy_scheme_name(p.reqs[i].scheme);

			json_array_append_new(a, json_pack("{s:o,s:o,s:o}", "package",
							   js(p.reqs[i].package), "min_version",
							   js(p.reqs[i].min_version), "scheme",
							   js(sch != NULL ? sch : "?")));
		}
		set(o, "requirements", a);
		nap_policy_clear(&p);
		return o;
	}
	if (rc != -ENOENT)
		goto fail;
	memset(&c, 0, sizeof(c));
	rc = nap_store_check_get(r->st, id, &c, &e);
	if (rc == 0) {
		set(o, "kind", js("check"));
		set(o, "type", js(nap_check_type_name(c.type)));
		set(o, "severity", js(c.severity));
		set(o, "effective", json_integer(c.effective));
		set(o, "reason", js(c.reason));
		nap_check_clear(&c);
		return o;
	}
	if (rc != -ENOENT)
		goto fail;
	set(o, "kind", js("unknown"));
	return o;
fail:
	json_decref(o);
	*rc_out = web_store_fail(r, rc, &e);
	return NULL;
}

int
web_api_policy(struct web_req *r)
{
	struct nap_report_client_query q;
	struct nap_report_client_list *l = NULL;
	struct nap_store_err e = {{0}};
	json_t *o;
	int rc;

	if (!nap_policy_id_valid(r->arg))
		return web_fail(r, 400, "policy id: 1-%d characters of [A-Za-z0-9._:+~-]",
				NAP_POLICY_ID_MAX);
	if (web_client_query(r, &q) < 0)
		return -EINVAL;
	o = web_policy_detail(r, r->arg, &rc);
	if (o == NULL)
		return rc;
	rc = nap_report_policy_clients(r->st, r->arg, &q, &l, &e);
	if (rc < 0) {
		json_decref(o);
		return web_store_fail(r, rc, &e);
	}
	if (strcmp(json_string_value(json_object_get(o, "kind")), "unknown") == 0 &&
	    l->total == 0) {
		json_decref(o);
		nap_report_client_list_free(l);
		return web_fail(r, 404, "no such policy or check, and no agent reports it missing");
	}
	set(o, "id", js(r->arg));
	set(o, "missing", client_list_json(l, &q));
	nap_report_client_list_free(l);
	return web_json_reply(r, o);
}

static const char *const step_names[] = {"hour", "day", NULL};

/* to defaults to now, from to 48 hours (step hour, the default) or 30 days (day) before it. */
int
web_history_params(struct web_req *r, int64_t *since, int64_t *until, int64_t *bucket)
{
	int step;

	if (web_param_word(r, 2, "step", step_names, 0, &step) < 0)
		return -EINVAL;
	*bucket = step == 0 ? 3600 : 86400;
	if (web_param_time(r, 1, "to", r->now, until) < 0 ||
	    web_param_time(r, 0, "from", *until - (step == 0 ? 48 * 3600 : 30 * 86400), since) < 0)
		return -EINVAL;
	if (*since >= *until)
		return web_fail(r, 400, "from must be before to");
	if ((*until - *since) / *bucket >= NAP_REPORT_BUCKETS_MAX)
		return web_fail(r, 400, "from..to spans more than %d %ss", NAP_REPORT_BUCKETS_MAX,
				step_names[step]);
	return 0;
}

int
web_api_history(struct web_req *r)
{
	struct nap_report_history *h = NULL;
	struct nap_store_err e = {{0}};
	int64_t since, until, bucket;
	json_t *o, *a;
	int rc;

	if (web_history_params(r, &since, &until, &bucket) < 0)
		return -EINVAL;
	rc = nap_report_history(r->st, since, until, bucket, &h, &e);
	if (rc < 0)
		return web_store_fail(r, rc, &e);
	o = json_object();
	set(o, "from", json_integer(h->since));
	set(o, "to", json_integer(h->until));
	set(o, "step", js(h->bucket == 3600 ? "hour" : "day"));
	a = json_array();
	for (size_t i = 0; i < h->n; i++)
		json_array_append_new(a, json_pack("{s:I,s:I,s:I,s:I}", "start",
						   (json_int_t)h->v[i].start, "compliant",
						   (json_int_t)h->v[i].compliant, "noncompliant",
						   (json_int_t)h->v[i].noncompliant, "messages",
						   (json_int_t)h->v[i].messages));
	set(o, "points", a);
	nap_report_history_free(h);
	return web_json_reply(r, o);
}

int
web_api_feed(struct web_req *r)
{
	struct nap_report_feed *f = NULL;
	struct nap_store_err e = {{0}};
	int64_t limit, offset;
	const char *machine;
	json_t *o, *a;
	int rc;

	if (web_param_int(r, 0, "limit", 1, NAP_REPORT_LIMIT_MAX, NAP_REPORT_LIMIT_DEFAULT,
			  &limit) < 0 ||
	    web_param_int(r, 1, "offset", 0, NAP_REPORT_OFFSET_MAX, 0, &offset) < 0 ||
	    web_param_machine(r, 2, "machine", &machine) < 0)
		return -EINVAL;
	rc = nap_report_feed(r->st, machine, limit, offset, &f, &e);
	if (rc < 0)
		return web_store_fail(r, rc, &e);
	o = json_object();
	set(o, "limit", json_integer(limit));
	set(o, "offset", json_integer(offset));
	set(o, "machine", js(machine));
	a = json_array();
	for (size_t i = 0; i < f->n; i++)
		json_array_append_new(a, msg_json(&f->v[i]));
	set(o, "messages", a);
	nap_report_feed_free(f);
	return web_json_reply(r, o);
}
