// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * napctl report compliance|clients|policies|history|feed and napctl explain CLIENT: the
 * report queries of include/nap/report.h as tables for people and as JSON for scripts (the JSON
 * members are stable: new ones may be added, none renamed or removed). Every option is checked
 * here and again by the library; nothing typed here ends up in SQL text.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "nap/report.h"
#include "nap/siteconf.h"
#include "nap/store.h"
#include "napctl.h"

enum {
	OPT_SILENT_AFTER = 0x300,
	OPT_SILENT,
	OPT_COMPLIANT,
	OPT_NONCOMPLIANT,
	OPT_EXEMPT,
	OPT_ACTION,
	OPT_PREFIX,
	OPT_SORT,
	OPT_LIMIT,
	OPT_OFFSET,
	OPT_POLICY,
	OPT_SINCE,
	OPT_UNTIL,
	OPT_BUCKET,
	OPT_CLIENT,
};

static const char *const agent_state_names[] = {"", "unrestricted", "deferred", "restricted"};

static const char *
agent_state_name(int s)
{
	return s >= 1 && s <= 3 ? agent_state_names[s] : "unknown";
}

static json_t *
json_time(int64_t t)
{
	char buf[32];

	if (t <= 0)
		return json_null();
	return json_string(ctl_time_text(t, "", buf, sizeof(buf)));
}

/* "12 s", "5 min", "3 h", "2 d" ago, for the tables. */
static const char *
ago(int64_t now, int64_t t, char *buf, size_t cap)
{
	int64_t s = now - t;

	if (t <= 0)
		return "-";
	if (s < 0)
		s = 0;
	if (s < 120)
		snprintf(buf, cap, "%llds ago", (long long)s);
	else if (s < 2 * 3600)
		snprintf(buf, cap, "%lldmin ago", (long long)(s / 60));
	else if (s < 2 * 86400)
		snprintf(buf, cap, "%lldh ago", (long long)(s / 3600));
	else
		snprintf(buf, cap, "%lldd ago", (long long)(s / 86400));
	return buf;
}

/* A count option: an integer in [lo, hi]. */
static int
parse_count(const struct ctl_cmd *cmd, const char *opt, const char *s, int64_t lo, int64_t hi,
	    int64_t *out)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi)
		return ctl_usage_error(cmd, "--%s: a whole number from %lld to %lld", opt,
				       (long long)lo, (long long)hi);
	*out = v;
	return -1;
}

static int
parse_silent_after(const struct ctl_cmd *cmd, const char *s, int64_t *out)
{
	int64_t ms;

	if (ctl_parse_ms(s, &ms) != 0 || ms < 1000 || ms > 10LL * 365 * 86400 * 1000)
		return ctl_usage_error(cmd, "--silent-after: a duration from 1s to 3650d (30min, "
					    "2h, 1d)");
	*out = ms / 1000;
	return -1;
}

/* --silent-after when given (>= 0), else napsited.conf's [status] silent_after, else 30 min. */
static int64_t
report_silent_after(const struct ctl_site *site, int64_t given)
{
	if (given >= 0)
		return given;
	if (site->conf != NULL && site->conf->status_silent_after > 0)
		return site->conf->status_silent_after;
	return NAP_REPORT_SILENT_DEFAULT;
}

/* --since/--until: an RFC 3339 time or YYYY-MM-DD, or a duration before now (24h, 7d). */
static int
parse_when(const struct ctl_cmd *cmd, const char *opt, const char *s, int64_t now, int64_t *out)
{
	int64_t ms;

	if (ctl_parse_ms(s, &ms) == 0 && ms >= 0 && ms / 1000 <= now) {
		*out = now - ms / 1000;
		return -1;
	}
	if (ctl_parse_time(s, false, out) == 0 && *out >= 0)
		return -1;
	return ctl_usage_error(cmd, "--%s: a time (2026-12-01, 2026-12-01T08:00:00Z) or a "
				    "duration before now (24h, 7d)",
			       opt);
}

static json_t *
counts_json(const struct nap_report_counts *c)
{
	json_t *o = json_object();

	for (size_t i = 0; i < c->n; i++)
		json_object_set_new(o, c->v[i].key, json_integer(c->v[i].n));
	return o;
}

static void
counts_print(const char *title, const struct nap_report_counts *c)
{
	printf("%-16s", title);
	if (c->n == 0)
		printf(" -");
	for (size_t i = 0; i < c->n; i++)
		printf("%s %s %" PRId64, i > 0 ? "," : "", c->v[i].key, c->v[i].n);
	putchar('\n');
}

static const char *
pct(int64_t n, int64_t total, char *buf, size_t cap)
{
	if (total <= 0)
		return "";
	snprintf(buf, cap, " (%.1f%%)", 100.0 * (double)n / (double)total);
	return buf;
}

int
cmd_report_compliance(const struct ctl_cmd *cmd, int argc, char *argv[])
{
	static const struct option opts[] = {
		{"silent-after", required_argument, NULL, OPT_SILENT_AFTER},
		{"json", no_argument, NULL, CTL_OPT_JSON},
		CTL_SITE_OPTIONS,
		CTL_HELP_OPTION,
		{NULL, 0, NULL, 0},
	};
	struct nap_report_compliance s;
	struct nap_store_err err = {{0}};
	struct ctl_site site;
	int64_t silent_after = -1; /* not given */
	bool json = false;
	char d[32], p[32];
	int c, r, ret = NAPCTL_EXIT_ERROR;

	while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		if (c == OPT_SILENT_AFTER) {
			if ((r = parse_silent_after(cmd, optarg, &silent_after)) >= 0)
				return r;
		} else if (c == CTL_OPT_JSON) {
			json = true;
		} else if ((r = ctl_common_option(cmd, c)) >= 0) {
			return r;
		}
	}
	if (optind != argc)
		return ctl_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
	if (ctl_site_open(&site, "report compliance", true) != 0)
		goto out;
	silent_after = report_silent_after(&site, silent_after);
	if ((r = nap_report_compliance(site.store, 0, silent_after, &s, &err)) < 0) {
		ctl_store_error("report compliance", r, err.msg);
		goto out;
	}
	if (json) {
		ret = ctl_json_print(json_pack(
			"{s:o, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o, s:o, s:o, s:o,"
			" s:{s:I, s:I, s:I, s:I, s:I, s:I}}",
			"now", json_time(s.now), "silent_after", (json_int_t)s.silent_after,
			"revision", (json_int_t)s.revision, "clients", (json_int_t)s.clients,
			"compliant", (json_int_t)s.compliant, "noncompliant",
			(json_int_t)s.noncompliant, "exempt", (json_int_t)s.exempt, "silent",
			(json_int_t)s.silent, "stale_revision", (json_int_t)s.stale_revision,
			"messages", (json_int_t)s.messages, "by_result", counts_json(&s.by_result),
			"by_action", counts_json(&s.by_action), "by_enforcement",
			counts_json(&s.by_enforcement), "by_branch", counts_json(&s.by_branch),
			"agents", "total", (json_int_t)s.agents, "compliant",
			(json_int_t)s.agents_compliant, "unrestricted",
			(json_int_t)s.agents_unrestricted, "deferred", (json_int_t)s.agents_deferred,
			"restricted", (json_int_t)s.agents_restricted, "missing",
			(json_int_t)s.agents_missing));
		goto out;
	}
	printf("%-16s %" PRId64 "\n", "clients", s.clients);
	printf("%-16s %" PRId64 "%s\n", "compliant", s.compliant,
	       pct(s.compliant, s.clients, p, sizeof(p)));
	printf("%-16s %" PRId64 "%s\n", "noncompliant", s.noncompliant,
	       pct(s.noncompliant, s.clients, p, sizeof(p)));
	printf("%-16s %" PRId64 "\n", "exempt", s.exempt);
	if (s.silent_after % 3600 == 0)
		snprintf(d, sizeof(d), "%lldh", (long long)(s.silent_after / 3600));
	else if (s.silent_after % 60 == 0)
		snprintf(d, sizeof(d), "%lldmin", (long long)(s.silent_after / 60));
	else
		snprintf(d, sizeof(d), "%llds", (long long)s.silent_after);
	printf("%-16s %" PRId64 " (nothing heard for more than %s)\n", "silent", s.silent, d);
	printf("%-16s %" PRId64 " (judged against a revision before %" PRIu64 ")\n",
	       "stale revision", s.stale_revision, s.revision);
	printf("%-16s %" PRId64 "\n", "messages", s.messages);
	counts_print("by result", &s.by_result);
	counts_print("by action", &s.by_action);
	counts_print("by enforcement", &s.by_enforcement);
	counts_print("by branch", &s.by_branch);
	printf("%-16s %" PRId64 " (compliant %" PRId64 "; unrestricted %" PRId64
	       ", deferred %" PRId64 ", restricted %" PRId64 "; missing updates %" PRId64 ")\n",
	       "agents", s.agents, s.agents_compliant, s.agents_unrestricted, s.agents_deferred,
	       s.agents_restricted, s.agents_missing);
	ret = fflush(stdout) == 0 ? 0 : NAPCTL_EXIT_ERROR;
out:
	ctl_site_close(&site);
	return ret;
}

static json_t *
client_json(const struct nap_report_client *c)
{
	json_t *o = json_object(), *m = json_array();

	json_object_set_new(o, "machine", json_string(c->machine));
	json_object_set_new(o, "judged", json_boolean(c->has_verdict));
	json_object_set_new(o, "compliant", json_boolean(c->compliant));
	json_object_set_new(o, "silent", json_boolean(c->silent));
	json_object_set_new(o, "last_seen", json_time(c->last_seen));
	if (c->has_verdict) {
		json_object_set_new(
			o, "verdict",
			json_pack("{s:s, s:o, s:s, s:s, s:s, s:o, s:s, s:s, s:I, s:s, s:s, s:s, "
				  "s:o, s:I}",
				  "id", c->id, "time", json_time(c->time), "result", c->result,
				  "branch", c->branch, "action", c->action, "exemption",
				  c->exemption[0] != '\0' ? json_string(c->exemption) : json_null(),
				  "enforcement", c->enforcement, "site", c->site, "hsr_revision",
				  (json_int_t)c->hsr_revision, "napvd", c->napvd, "nas", c->nas,
				  "client", c->client, "first_seen", json_time(c->first_seen),
				  "messages", (json_int_t)c->messages));
	} else {
		json_object_set_new(o, "verdict", json_null());
	}
	if (c->has_agent) {
		for (size_t i = 0; i < c->n_missing; i++)
			json_array_append_new(m, json_string(c->missing[i]));
		json_object_set_new(o, "agent",
				    json_pack("{s:s, s:b, s:I, s:o, s:o, s:o}", "state",
					      agent_state_name(c->agent_state), "compliant",
					      c->agent_compliant, "hsr_revision",
					      (json_int_t)c->agent_revision, "evaluated",
					      json_time(c->agent_evaluated), "received",
					      json_time(c->agent_received), "missing", m));
	} else {
		json_decref(m);
		json_object_set_new(o, "agent", json_null());
	}
	return o;
}

static void
clients_print(const struct nap_report_client_list *l, int64_t now, int64_t offset)
{
	int w = 7;
	char a[32];

	for (size_t i = 0; i < l->n; i++)
		if ((int)strlen(l->v[i].machine) > w)
			w = (int)strlen(l->v[i].machine) > 40 ? 40 : (int)strlen(l->v[i].machine);
	if (l->n > 0)
		printf("%-*s  %-14s  %-12s  %-10s  %-11s  %4s  %-12s  %s\n", w, "MACHINE", "RESULT",
		       "BRANCH", "ACTION", "LAST SEEN", "REV", "AGENT", "MISSING");
	for (size_t i = 0; i < l->n; i++) {
		const struct nap_report_client *c = &l->v[i];
		char rev[24];

		snprintf(rev, sizeof(rev), "%" PRIu64, c->hsr_revision);
		printf("%-*s  %-14s  %-12s  %-10s  %-11s  %4s  %-12s  ", w, c->machine,
		       c->has_verdict ? c->result : "-", c->has_verdict ? c->branch : "-",
		       c->has_verdict ? c->action : "-", ago(now, c->last_seen, a, sizeof(a)),
		       c->has_verdict ? rev : "-",
		       c->has_agent ? agent_state_name(c->agent_state) : "-");
		for (size_t k = 0; k < c->n_missing; k++)
			printf("%s%s", k > 0 ? " " : "", c->missing[k]);
		printf("%s%s\n", c->n_missing == 0 ? "-" : "", c->silent ? "  [silent]" : "");
	}
	if (l->n == 0)
		printf("no clients (%" PRId64 " match)\n", l->total);
	else if (offset > 0)
		printf("%zu of %" PRId64 " clients, from number %" PRId64 "\n", l->n, l->total,
		       offset + 1);
	else
		printf("%zu of %" PRId64 " clients\n", l->n, l->total);
}

int
cmd_report_clients(const struct ctl_cmd *cmd, int argc, char *argv[])
{
	static const struct option opts[] = {
		{"silent", no_argument, NULL, OPT_SILENT},
		{"silent-after", required_argument, NULL, OPT_SILENT_AFTER},
		{"compliant", no_argument, NULL, OPT_COMPLIANT},
		{"noncompliant", no_argument, NULL, OPT_NONCOMPLIANT},
		{"exempt", no_argument, NULL, OPT_EXEMPT},
		{"action", required_argument, NULL, OPT_ACTION},
		{"prefix", required_argument, NULL, OPT_PREFIX},
		{"sort", required_argument, NULL, OPT_SORT},
		{"limit", required_argument, NULL, OPT_LIMIT},
		{"offset", required_argument, NULL, OPT_OFFSET},
		{"policy", required_argument, NULL, OPT_POLICY},
		{"json", no_argument, NULL, CTL_OPT_JSON},
		CTL_SITE_OPTIONS,
		CTL_HELP_OPTION,
		{NULL, 0, NULL, 0},
	};
	struct nap_report_client_query q = {.silent_after = -1,
					    .limit = NAP_REPORT_LIMIT_DEFAULT};
	struct nap_report_client_list *l = NULL;
	struct nap_store_err err = {{0}};
	struct ctl_site site;
	const char *policy = NULL;
	bool json = false;
	int c, r, ret = NAPCTL_EXIT_ERROR, filters = 0;

	while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		r = -1;
		switch (c) {
		case OPT_SILENT:
			q.silent_only = true;
			break;
		case OPT_SILENT_AFTER:
			r = parse_silent_after(cmd, optarg, &q.silent_after);
			break;
		case OPT_COMPLIANT:
			q.filter = NAP_REPORT_COMPLIANT;
			filters++;
			break;
		case OPT_NONCOMPLIANT:
			q.filter = NAP_REPORT_NONCOMPLIANT;
			filters++;
			break;
		case OPT_EXEMPT:
			q.filter = NAP_REPORT_EXEMPT;
			filters++;
			break;
		case OPT_ACTION:
			if (strcmp(optarg, "full") != 0 && strcmp(optarg, "restricted") != 0 &&
			    strcmp(optarg, "probation") != 0 && strcmp(optarg, "reject") != 0)
				return ctl_usage_error(cmd, "--action: full, restricted, probation "
							    "or reject");
			q.action = optarg;
			break;
		case OPT_PREFIX:
			if (!nap_report_machine_valid(optarg))
				return ctl_usage_error(cmd, "--prefix: 1-%d printable ASCII "
							    "characters without spaces",
						       NAP_REPORT_NAME_MAX);
			q.prefix = optarg;
			break;
		case OPT_SORT:
			if (strcmp(optarg, "name") == 0)
				q.sort = NAP_REPORT_SORT_NAME;
			else if (strcmp(optarg, "last-seen") == 0)
				q.sort = NAP_REPORT_SORT_LAST_SEEN;
			else if (strcmp(optarg, "silent") == 0)
				q.sort = NAP_REPORT_SORT_SILENT;
			else
				return ctl_usage_error(cmd, "--sort: name, last-seen or silent");
			break;
		case OPT_LIMIT:
			r = parse_count(cmd, "limit", optarg, 1, NAP_REPORT_LIMIT_MAX, &q.limit);
			break;
		case OPT_OFFSET:
			r = parse_count(cmd, "offset", optarg, 0, NAP_REPORT_OFFSET_MAX, &q.offset);
			break;
		case OPT_POLICY:
			if (!nap_policy_id_valid(optarg))
				return ctl_usage_error(cmd, "--policy: not a policy or check id");
			policy = optarg;
			break;
		case CTL_OPT_JSON:
			json = true;
			break;
		default:
			r = ctl_common_option(cmd, c);
		}
		if (r >= 0)
			return r;
	}
	if (optind != argc)
		return ctl_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
	if (filters > 1)
		return ctl_usage_error(cmd, "--compliant, --noncompliant and --exempt exclude each "
					    "other");
	if (q.silent_only && q.sort == NAP_REPORT_SORT_NAME)
		q.sort = NAP_REPORT_SORT_SILENT; /* the longest silent first */
	if (ctl_site_open(&site, "report clients", true) != 0)
		goto out;
	q.silent_after = report_silent_after(&site, q.silent_after);
	q.now = (int64_t)time(NULL);
	r = policy != NULL ? nap_report_policy_clients(site.store, policy, &q, &l, &err)
			   : nap_report_clients(site.store, &q, &l, &err);
	if (r < 0) {
		ctl_store_error("report clients", r, err.msg);
		goto out;
	}
	if (json) {
		json_t *a = json_array();

		for (size_t i = 0; i < l->n; i++)
			json_array_append_new(a, client_json(&l->v[i]));
		ret = ctl_json_print(json_pack("{s:I, s:I, s:I, s:I, s:o}", "total",
					       (json_int_t)l->total, "limit", (json_int_t)q.limit,
					       "offset", (json_int_t)q.offset, "silent_after",
					       (json_int_t)q.silent_after, "clients", a));
		goto out;
	}
	clients_print(l, q.now, q.offset);
	ret = fflush(stdout) == 0 ? 0 : NAPCTL_EXIT_ERROR;
out:
	nap_report_client_list_free(l);
	ctl_site_close(&site);
	return ret;
}

int
cmd_report_policies(const struct ctl_cmd *cmd, int argc, char *argv[])
{
	static const struct option opts[] = {
		{"limit", required_argument, NULL, OPT_LIMIT},
		{"offset", required_argument, NULL, OPT_OFFSET},
		{"json", no_argument, NULL, CTL_OPT_JSON},
		CTL_SITE_OPTIONS,
		CTL_HELP_OPTION,
		{NULL, 0, NULL, 0},
	};
	struct nap_report_policy_list *l = NULL;
	struct nap_store_err err = {{0}};
	struct ctl_site site;
	int64_t limit = NAP_REPORT_LIMIT_DEFAULT, offset = 0;
	bool json = false;
	char t[32];
	int c, r, ret = NAPCTL_EXIT_ERROR, w = 6;

	while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		r = -1;
		if (c == OPT_LIMIT)
			r = parse_count(cmd, "limit", optarg, 1, NAP_REPORT_LIMIT_MAX, &limit);
		else if (c == OPT_OFFSET)
			r = parse_count(cmd, "offset", optarg, 0, NAP_REPORT_OFFSET_MAX, &offset);
		else if (c == CTL_OPT_JSON)
			json = true;
		else
			r = ctl_common_option(cmd, c);
		if (r >= 0)
			return r;
	}
	if (optind != argc)
		return ctl_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
	if (ctl_site_open(&site, "report policies", true) != 0)
		goto out;
	if ((r = nap_report_policies(site.store, limit, offset, &l, &err)) < 0) {
		ctl_store_error("report policies", r, err.msg);
		goto out;
	}
	if (json) {
		json_t *a = json_array();

		for (size_t i = 0; i < l->n; i++) {
			const struct nap_report_policy *p = &l->v[i];

			json_array_append_new(
				a, json_pack("{s:s, s:s, s:s?, s:o, s:I}", "id", p->id, "kind",
					     p->kind, "severity",
					     p->severity[0] != '\0' ? p->severity : NULL,
					     "effective", json_time(p->effective), "missing",
					     (json_int_t)p->missing));
		}
		ret = ctl_json_print(json_pack("{s:I, s:I, s:I, s:I, s:o}", "agents",
					       (json_int_t)l->agents, "total", (json_int_t)l->total,
					       "limit", (json_int_t)limit, "offset",
					       (json_int_t)offset, "policies", a));
		goto out;
	}
	for (size_t i = 0; i < l->n; i++)
		if ((int)strlen(l->v[i].id) > w)
			w = (int)strlen(l->v[i].id);
	if (l->n > 0)
		printf("%-*s  %-7s  %-9s  %-20s  %8s  %s\n", w, "POLICY", "KIND", "SEVERITY",
		       "EFFECTIVE", "MISSING", "OF AGENTS");
	for (size_t i = 0; i < l->n; i++) {
		const struct nap_report_policy *p = &l->v[i];
		char pc[32];

		printf("%-*s  %-7s  %-9s  %-20s  %8" PRId64 "  %s\n", w, p->id, p->kind,
		       p->severity[0] != '\0' ? p->severity : "-",
		       strcmp(p->kind, "unknown") == 0 ? "-"
						       : ctl_time_text(p->effective, "asap", t,
								       sizeof(t)),
		       p->missing, pct(p->missing, l->agents, pc, sizeof(pc)));
	}
	printf("%zu of %" PRId64 " policies and checks; %" PRId64 " agents report\n", l->n,
	       l->total, l->agents);
	ret = fflush(stdout) == 0 ? 0 : NAPCTL_EXIT_ERROR;
out:
	nap_report_policy_list_free(l);
	ctl_site_close(&site);
	return ret;
}

int
cmd_report_history(const struct ctl_cmd *cmd, int argc, char *argv[])
{
	static const struct option opts[] = {
		{"since", required_argument, NULL, OPT_SINCE},
		{"until", required_argument, NULL, OPT_UNTIL},
		{"bucket", required_argument, NULL, OPT_BUCKET},
		{"json", no_argument, NULL, CTL_OPT_JSON},
		CTL_SITE_OPTIONS,
		CTL_HELP_OPTION,
		{NULL, 0, NULL, 0},
	};
	struct nap_report_history *h = NULL;
	struct nap_store_err err = {{0}};
	struct ctl_site site;
	int64_t now = (int64_t)time(NULL), since = -1, until = -1, bucket = 3600;
	bool json = false;
	char t[32];
	int c, r, ret = NAPCTL_EXIT_ERROR;

	while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		r = -1;
		if (c == OPT_SINCE) {
			r = parse_when(cmd, "since", optarg, now, &since);
		} else if (c == OPT_UNTIL) {
			r = parse_when(cmd, "until", optarg, now, &until);
		} else if (c == OPT_BUCKET) {
			if (strcmp(optarg, "hour") == 0)
				bucket = 3600;
			else if (strcmp(optarg, "day") == 0)
				bucket = 86400;
			else
				return ctl_usage_error(cmd, "--bucket: hour or day");
		} else if (c == CTL_OPT_JSON) {
			json = true;
		} else {
			r = ctl_common_option(cmd, c);
		}
		if (r >= 0)
			return r;
	}
	if (optind != argc)
		return ctl_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
	if (until < 0)
		until = now + 1;
	if (since < 0)
		since = until - (bucket == 3600 ? 24 * 3600 : 30 * 86400);
	if (since < 0)
		since = 0;
	if (since >= until)
		return ctl_usage_error(cmd, "--since must be before --until");
	if (ctl_site_open(&site, "report history", true) != 0)
		goto out;
	if ((r = nap_report_history(site.store, since, until, bucket, &h, &err)) < 0) {
		ctl_store_error("report history", r, err.msg);
		goto out;
	}
	if (json) {
		json_t *a = json_array();

		for (size_t i = 0; i < h->n; i++)
			json_array_append_new(a, json_pack("{s:o, s:I, s:I, s:I}", "start",
							   json_time(h->v[i].start), "compliant",
							   (json_int_t)h->v[i].compliant,
							   "noncompliant",
							   (json_int_t)h->v[i].noncompliant,
							   "messages",
							   (json_int_t)h->v[i].messages));
		ret = ctl_json_print(json_pack("{s:o, s:o, s:s, s:o}", "since",
					       json_time(h->since), "until", json_time(h->until),
					       "bucket", bucket == 3600 ? "hour" : "day", "points",
					       a));
		goto out;
	}
	printf("%-20s  %10s  %12s  %9s\n", bucket == 3600 ? "HOUR (UTC)" : "DAY (UTC)",
	       "COMPLIANT", "NONCOMPLIANT", "MESSAGES");
	for (size_t i = 0; i < h->n; i++)
		printf("%-20s  %10" PRId64 "  %12" PRId64 "  %9" PRId64 "\n",
		       ctl_time_text(h->v[i].start, "", t, sizeof(t)), h->v[i].compliant,
		       h->v[i].noncompliant, h->v[i].messages);
	ret = fflush(stdout) == 0 ? 0 : NAPCTL_EXIT_ERROR;
out:
	nap_report_history_free(h);
	ctl_site_close(&site);
	return ret;
}

static json_t *
msg_json(const struct nap_report_msg *m)
{
	return json_pack("{s:s, s:o, s:o, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:s, s:I, "
			 "s:s}",
			 "id", m->id, "time", json_time(m->time), "received",
			 json_time(m->received), "napvd", m->napvd, "nas", m->nas, "client",
			 m->client, "machine", m->machine, "site", m->site, "enforcement",
			 m->enforcement, "result", m->result, "branch", m->branch, "exemption",
			 m->exemption[0] != '\0' ? json_string(m->exemption) : json_null(),
			 "action", m->action, "hsr_revision", (json_int_t)m->hsr_revision,
			 "correlation_id", m->correlation_id);
}

static void
msg_print(const struct nap_report_msg *m)
{
	char t[32];

	printf("%-20s  %-20s  %-11s  %-14s  %-16s  %-10s  %4" PRIu64 "  %s\n",
	       ctl_time_text(m->time, "-", t, sizeof(t)), m->machine[0] != '\0' ? m->machine : "-",
	       m->enforcement, m->result, m->branch, m->action, m->hsr_revision, m->napvd);
}

static void
msg_header(void)
{
	printf("%-20s  %-20s  %-11s  %-14s  %-16s  %-10s  %4s  %s\n", "TIME (UTC)", "MACHINE",
	       "ENFORCEMENT", "RESULT", "BRANCH", "ACTION", "REV", "NAPVD");
}

int
cmd_report_feed(const struct ctl_cmd *cmd, int argc, char *argv[])
{
	static const struct option opts[] = {
		{"client", required_argument, NULL, OPT_CLIENT},
		{"limit", required_argument, NULL, OPT_LIMIT},
		{"offset", required_argument, NULL, OPT_OFFSET},
		{"json", no_argument, NULL, CTL_OPT_JSON},
		CTL_SITE_OPTIONS,
		CTL_HELP_OPTION,
		{NULL, 0, NULL, 0},
	};
	struct nap_report_feed *f = NULL;
	struct nap_store_err err = {{0}};
	struct ctl_site site;
	const char *machine = NULL;
	int64_t limit = 20, offset = 0;
	bool json = false;
	int c, r, ret = NAPCTL_EXIT_ERROR;

	while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		r = -1;
		if (c == OPT_CLIENT) {
			if (!nap_report_machine_valid(optarg))
				return ctl_usage_error(cmd, "--client: 1-%d printable ASCII "
							    "characters without spaces",
						       NAP_REPORT_NAME_MAX);
			machine = optarg;
		} else if (c == OPT_LIMIT) {
			r = parse_count(cmd, "limit", optarg, 1, NAP_REPORT_LIMIT_MAX, &limit);
		} else if (c == OPT_OFFSET) {
			r = parse_count(cmd, "offset", optarg, 0, NAP_REPORT_OFFSET_MAX, &offset);
		} else if (c == CTL_OPT_JSON) {
			json = true;
		} else {
			r = ctl_common_option(cmd, c);
		}
		if (r >= 0)
			return r;
	}
	if (optind != argc)
		return ctl_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
	if (ctl_site_open(&site, "report feed", true) != 0)
		goto out;
	if ((r = nap_report_feed(site.store, machine, limit, offset, &f, &err)) < 0) {
		ctl_store_error("report feed", r, err.msg);
		goto out;
	}
	if (json) {
		json_t *a = json_array();

		for (size_t i = 0; i < f->n; i++)
			json_array_append_new(a, msg_json(&f->v[i]));
		ret = ctl_json_print(json_pack("{s:I, s:I, s:o}", "limit", (json_int_t)limit,
					       "offset", (json_int_t)offset, "messages", a));
		goto out;
	}
	if (f->n > 0)
		msg_header();
	for (size_t i = 0; i < f->n; i++)
		msg_print(&f->v[i]);
	printf("%zu %s\n", f->n, f->n == 1 ? "message" : "messages");
	ret = fflush(stdout) == 0 ? 0 : NAPCTL_EXIT_ERROR;
out:
	nap_report_feed_free(f);
	ctl_site_close(&site);
	return ret;
}

static json_t *
explain_json(const struct nap_report_explain *e)
{
	json_t *o = client_json(&e->c), *a = json_array(), *fx = json_array(), *fc = json_array();
	json_t *rc = json_array();

	json_object_set_new(o, "now", json_time(e->now));
	json_object_set_new(o, "silent_after", json_integer(e->silent_after));
	json_object_set_new(o, "revision", json_integer((json_int_t)e->revision));
	json_object_set_new(o, "revision_current",
			    e->has_verdict ? json_boolean(e->revision_current) : json_null());
	json_object_set_new(o, "meaning", e->meaning != NULL ? json_string(e->meaning) : json_null());
	for (size_t i = 0; i < e->n_missing; i++) {
		const struct nap_report_missing *m = &e->missing[i];
		json_t *reqs = json_array();

		for (size_t k = 0; k < m->n_reqs; k++)
			json_array_append_new(reqs, json_pack("{s:s, s:s, s:s}", "package",
							      m->reqs[k].package, "min_version",
							      m->reqs[k].min_version, "scheme",
							      m->reqs[k].scheme));
		json_array_append_new(
			a, json_pack("{s:s, s:s, s:s?, s:o, s:b, s:s?, s:o}", "id", m->id, "kind",
				     m->kind, "severity",
				     m->severity[0] != '\0' ? m->severity : NULL, "effective",
				     json_time(m->effective), "in_force", m->in_force, "check_type",
				     m->check_type[0] != '\0' ? m->check_type : NULL, "requires",
				     reqs));
	}
	json_object_set_new(o, "missing", a);
	for (size_t i = 0; i < e->n_failed_checks; i++)
		json_array_append_new(fc, json_pack("{s:s, s:s}", "id", e->failed_checks[i],
						    "status", e->failed_status[i]));
	json_object_set_new(o, "failed_checks", fc);
	json_object_set_new(o, "agent_failure",
			    e->agent_failure[0] != '\0' ? json_string(e->agent_failure)
							: json_null());
	for (size_t i = 0; i < e->n_recent; i++)
		json_array_append_new(rc, msg_json(&e->recent[i]));
	json_object_set_new(o, "recent", rc);
	for (size_t i = 0; i < e->n_fixes; i++)
		json_array_append_new(fx, json_string(e->fixes[i]));
	json_object_set_new(o, "fixes", fx);
	return o;
}

static void
explain_print(const struct nap_report_explain *e)
{
	const struct nap_report_client *c = &e->c;
	char t[32], a[32];

	printf("%s: ", c->machine);
	if (!e->has_verdict)
		printf("never judged by napvd\n");
	else
		printf("%s, %s (%s)\n", c->compliant ? "COMPLIANT" : "NOT COMPLIANT", c->action,
		       c->result);
	printf("  last seen        %s (%s)%s\n", ctl_time_text(c->last_seen, "-", t, sizeof(t)),
	       ago(e->now, c->last_seen, a, sizeof(a)), c->silent ? "  SILENT" : "");
	if (e->has_verdict) {
		printf("  last verdict     %s by %s via %s (%s), message %s\n",
		       ctl_time_text(c->time, "-", t, sizeof(t)), c->napvd, c->enforcement,
		       c->nas, c->id);
		printf("  branch           %s: %s\n", c->branch, e->meaning);
		if (c->exemption[0] != '\0')
			printf("  exemption        %s\n", c->exemption);
		printf("  HSR revision     judged against %" PRIu64 ", the site is at %" PRIu64
		       "%s\n",
		       c->hsr_revision, e->revision, e->revision_current ? "" : "  OUT OF DATE");
		printf("  verdicts         %" PRId64 " since %s\n", c->messages,
		       ctl_time_text(c->first_seen, "-", t, sizeof(t)));
	}
	if (c->has_agent) {
		printf("  agent            %s, %s, evaluated revision %" PRIu64 " at %s\n",
		       agent_state_name(c->agent_state),
		       c->agent_compliant ? "compliant" : "not compliant", c->agent_revision,
		       ctl_time_text(c->agent_evaluated, "-", t, sizeof(t)));
		if (e->agent_failure[0] != '\0')
			printf("  agent failure    %s\n", e->agent_failure);
	} else {
		printf("  agent            no state reported\n");
	}
	for (size_t i = 0; i < e->n_missing; i++) {
		const struct nap_report_missing *m = &e->missing[i];

		printf("  %-16s %s (%s", i == 0 ? "missing" : "", m->id, m->kind);
		if (m->severity[0] != '\0')
			printf(", %s", m->severity);
		if (strcmp(m->kind, "unknown") != 0 && m->effective == 0)
			printf(", in force");
		else if (strcmp(m->kind, "unknown") != 0)
			printf(", %s %s", m->in_force ? "in force since" : "effective",
			       ctl_time_text(m->effective, "", t, sizeof(t)));
		printf(")");
		for (size_t k = 0; k < m->n_reqs; k++)
			printf("%s %s >= %s", k == 0 ? ":" : ",", m->reqs[k].package,
			       m->reqs[k].min_version);
		if (m->n_reqs_total > m->n_reqs)
			printf(" and %zu more", m->n_reqs_total - m->n_reqs);
		if (m->check_type[0] != '\0')
			printf(": %s check", m->check_type);
		putchar('\n');
	}
	for (size_t i = 0; i < e->n_failed_checks; i++)
		printf("  %-16s %s (%s)\n", i == 0 ? "failed checks" : "", e->failed_checks[i],
		       e->failed_status[i]);
	if (e->n_fixes == 0) {
		printf("  to fix           nothing\n");
	} else {
		for (size_t i = 0; i < e->n_fixes; i++)
			printf("  %-16s %zu. %s\n", i == 0 ? "to fix" : "", i + 1, e->fixes[i]);
	}
	if (e->n_recent > 0) {
		printf("\n");
		msg_header();
		for (size_t i = 0; i < e->n_recent; i++)
			msg_print(&e->recent[i]);
	}
}

int
cmd_explain(const struct ctl_cmd *cmd, int argc, char *argv[])
{
	static const struct option opts[] = {
		{"silent-after", required_argument, NULL, OPT_SILENT_AFTER},
		{"json", no_argument, NULL, CTL_OPT_JSON},
		CTL_SITE_OPTIONS,
		CTL_HELP_OPTION,
		{NULL, 0, NULL, 0},
	};
	struct nap_report_explain *e = NULL;
	struct nap_store_err err = {{0}};
	struct ctl_site site;
	int64_t silent_after = -1; /* not given */
	const char *machine;
	bool json = false;
	int c, r, ret = NAPCTL_EXIT_ERROR;

	while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		if (c == OPT_SILENT_AFTER) {
			if ((r = parse_silent_after(cmd, optarg, &silent_after)) >= 0)
				return r;
		} else if (c == CTL_OPT_JSON) {
			json = true;
		} else if ((r = ctl_common_option(cmd, c)) >= 0) {
			return r;
		}
	}
	if (optind >= argc)
		return ctl_usage_error(cmd, "missing CLIENT");
	machine = argv[optind++];
	if (optind != argc)
		return ctl_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
	if (!nap_report_machine_valid(machine))
		return ctl_usage_error(cmd, "CLIENT: a machine name of 1-%d printable ASCII "
					    "characters without spaces",
				       NAP_REPORT_NAME_MAX);
	if (ctl_site_open(&site, "explain", true) != 0)
		goto out;
	silent_after = report_silent_after(&site, silent_after);
	if ((e = malloc(sizeof(*e))) == NULL) {
		ctl_error("explain: out of memory");
		goto out;
	}
	if ((r = nap_report_explain(site.store, machine, 0, silent_after, e, &err)) < 0) {
		ctl_store_error("explain", r, err.msg);
		goto out;
	}
	if (json) {
		ret = ctl_json_print(explain_json(e));
		goto out;
	}
	explain_print(e);
	ret = fflush(stdout) == 0 ? 0 : NAPCTL_EXIT_ERROR;
out:
	free(e);
	ctl_site_close(&site);
	return ret;
}
