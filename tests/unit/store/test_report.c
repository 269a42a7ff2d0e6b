// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * The report queries (include/nap/report.h) against a real database: SQLite in a temporary
 * directory, or the PostgreSQL server named by NAP_TEST_STORE_URI. One known fixture: policies
 * and a check through the store API (revision 3), agent states through the store API, status
 * messages and client_last rows through SQL as the ingester writes them (last message by time
 * wins, messages counts every row). Every number of every report is checked, and every bad
 * parameter is refused before any SQL runs.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <libpq-fe.h>
#include <sqlite3.h>

#include "nap/report.h"
#include "nap/store.h"

#define NOW 1767225600LL /* 2026-01-01T00:00:00Z, on an hour and a day */
#define H   3600LL
#define D   86400LL

static const char *env_uri;
static char tmpdir[256];
static unsigned file_seq;

struct fx {
	struct nap_store *st;
	char uri[1024];
	char path[512];
};

static bool
uri_is_pg(const char *u)
{
	return strncmp(u, "postgresql://", 13) == 0 || strncmp(u, "postgres://", 11) == 0 ||
	       strncmp(u, "pg:", 3) == 0;
}

static void
pg_quiet(void *arg, const char *msg)
{
	(void)arg;
	(void)msg;
}

static void
raw_exec(const struct fx *f, const char *sql)
{
	if (uri_is_pg(f->uri)) {
		PGconn *c = PQconnectdb(strncmp(f->uri, "pg:", 3) == 0 ? f->uri + 3 : f->uri);
		PGresult *res;

		if (PQstatus(c) != CONNECTION_OK)
			fail_msg("postgresql: %s", PQerrorMessage(c));
		PQsetNoticeProcessor(c, pg_quiet, NULL);
		res = PQexec(c, sql);
		if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK)
			fail_msg("%s: %s", sql, PQerrorMessage(c));
		PQclear(res);
		PQfinish(c);
	} else {
		sqlite3 *db;
		char *msg = NULL;

		assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
		sqlite3_busy_timeout(db, 5000);
		if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
			fail_msg("%s: %s", sql, msg);
		sqlite3_close(db);
	}
}

/* One status message, and client_last and status_daily as the ingester keeps them. Test
 * constants only. */
static void
msg(const struct fx *f, const char *id, const char *machine, int64_t t, const char *enforcement,
    const char *result, const char *branch, const char *exemption, const char *action,
    int64_t rev)
{
	char ex[80], sql[4096];

	if (exemption != NULL)
		snprintf(ex, sizeof(ex), "'%s'", exemption);
	else
		snprintf(ex, sizeof(ex), "NULL");
	snprintf(sql, sizeof(sql),
		 "INSERT INTO status_messages (id, time, received, napvd, nas, client, machine,"
		 " site, enforcement, result, branch, exemption, action, hsr_revision,"
		 " correlation_id) VALUES ('%s', %lld, %lld, 'napvd-a', '127.0.0.1', 'dhcp1', '%s',"
		 " 'S01', '%s', '%s', '%s', %s, '%s', %lld, 'c0ffee');"
		 "INSERT INTO client_last (machine, id, time, first_seen, napvd, nas, client, site,"
		 " enforcement, result, branch, exemption, action, hsr_revision, messages)"
		 " VALUES ('%s', '%s', %lld, %lld, 'napvd-a', '127.0.0.1', 'dhcp1', 'S01', '%s', '%s',"
		 " '%s', %s, '%s', %lld, 1)"
		 " ON CONFLICT (machine) DO UPDATE SET messages = client_last.messages + 1,"
		 " first_seen = CASE WHEN excluded.time < client_last.first_seen"
		 " THEN excluded.time ELSE client_last.first_seen END,"
		 " id = CASE WHEN excluded.time > client_last.time THEN excluded.id"
		 " ELSE client_last.id END,"
		 " enforcement = CASE WHEN excluded.time > client_last.time"
		 " THEN excluded.enforcement ELSE client_last.enforcement END,"
		 " result = CASE WHEN excluded.time > client_last.time THEN excluded.result"
		 " ELSE client_last.result END,"
		 " branch = CASE WHEN excluded.time > client_last.time THEN excluded.branch"
		 " ELSE client_last.branch END,"
		 " exemption = CASE WHEN excluded.time > client_last.time THEN excluded.exemption"
		 " ELSE client_last.exemption END,"
		 " action = CASE WHEN excluded.time > client_last.time THEN excluded.action"
		 " ELSE client_last.action END,"
		 " hsr_revision = CASE WHEN excluded.time > client_last.time"
		 " THEN excluded.hsr_revision ELSE client_last.hsr_revision END,"
		 " time = CASE WHEN excluded.time > client_last.time THEN excluded.time"
		 " ELSE client_last.time END;"
		 "INSERT INTO status_daily (day, machine, v, messages) VALUES (%lld, '%s', %lld, 1)"
		 " ON CONFLICT (day, machine) DO UPDATE SET messages = status_daily.messages + 1,"
		 " v = CASE WHEN excluded.v > status_daily.v THEN excluded.v ELSE status_daily.v END",
		 id, (long long)t, (long long)t + 5, machine, enforcement, result, branch, ex, action,
		 (long long)rev, machine, id, (long long)t, (long long)t, enforcement, result, branch,
		 ex, action, (long long)rev, (long long)(t / 86400), machine,
		 (long long)(t * 2 + (strcmp(result, "compliant") != 0)));
	raw_exec(f, sql);
}

static void
agent(const struct fx *f, const char *client, int state, bool compliant, uint64_t rev,
      int64_t received, const char *missing, const char *detail)
{
	struct nap_agent_state s;
	struct nap_store_err err = {{0}};
	char buf[256];
	char *save = NULL;

	memset(&s, 0, sizeof(s));
	snprintf(s.client, sizeof(s.client), "%s", client);
	s.state = (enum nap_agent_state_id)state;
	s.compliant = compliant;
	s.hsr_revision = rev;
	s.evaluated = received - 10;
	s.received = received;
	snprintf(buf, sizeof(buf), "%s", missing);
	for (char *t = strtok_r(buf, " ", &save); t != NULL; t = strtok_r(NULL, " ", &save))
		snprintf(s.missing[s.n_missing++], sizeof(s.missing[0]), "%s", t);
	s.detail = (char *)detail;
	if (nap_store_agent_state_put(f->st, &s, &err) != 0)
		fail_msg("agent state %s: %s", client, err.msg);
}

static void
policy(const struct fx *f, const char *id, const char *package, const char *version,
       int64_t effective)
{
	struct nap_policy p;
	struct nap_policy_req req = {.package = (char *)package, .min_version = (char *)version,
				     .scheme = NAP_SCHEME_DPKG};
	struct nap_store_err err = {{0}};

	memset(&p, 0, sizeof(p));
	snprintf(p.id, sizeof(p.id), "%s", id);
	snprintf(p.severity, sizeof(p.severity), "critical");
	p.effective = effective;
	p.reqs = &req;
	p.n_reqs = 1;
	if (nap_store_policy_put(f->st, &p, false, NULL, &err) != 0)
		fail_msg("policy %s: %s", id, err.msg);
}

/*
 * The fixture (now = NOW, silent after 30 min):
 *   pc-1   NOW-2h noncompliant, NOW-10min compliant (dhcp); agent unrestricted, seen NOW-500
 *   pc-2   NOW-1000s compliant, NOW-5min noncompliant (vpn); agent restricted, missing DSA-1 av
 *   pc-3   NOW-3h noncompliant out_of_date rev 2 (dhcp); agent restricted rev 2, missing
 *          DSA-1 OLD-9, seen NOW-3h: silent
 *   lab-1  NOW-100s compliant exempt (dhcp)
 *   pc-4   NOW-25h compliant (hra): silent
 *   pc-9   agent only: deferred, compliant, missing DSA-2 (effective NOW+10d)
 */
static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct nap_store_err err = {{0}};
	struct nap_check c;

	assert_non_null(f);
	if (env_uri != NULL) {
		snprintf(f->uri, sizeof(f->uri), "%s", env_uri);
		raw_exec(f, "DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public");
	} else {
		snprintf(f->path, sizeof(f->path), "%s/r%u.db", tmpdir, file_seq++);
		snprintf(f->uri, sizeof(f->uri), "sqlite:%s", f->path);
	}
	if (nap_store_open(f->uri, &f->st, &err) != 0)
		fail_msg("open %s: %s", f->uri, err.msg);
	policy(f, "DSA-1", "openssl", "3.0.15-1~deb12u1", 0);
	policy(f, "DSA-2", "curl", "7.88.1-10+deb12u8", NOW + 10 * D);
	memset(&c, 0, sizeof(c));
	snprintf(c.id, sizeof(c.id), "av");
	c.type = NAP_CHECK_TYPE_ANTIVIRUS;
	snprintf(c.severity, sizeof(c.severity), "important");
	c.max_age = 86400;
	if (nap_store_check_add(f->st, &c, false, NULL, &err) != 0)
		fail_msg("check: %s", err.msg);

	msg(f, "a-1", "pc-1", NOW - 2 * H, "dhcp", "noncompliant", "matches", NULL, "restricted", 3);
	msg(f, "a-2", "pc-1", NOW - 600, "dhcp", "compliant", "matches", NULL, "full", 3);
	msg(f, "a-3", "pc-2", NOW - 1000, "vpn", "compliant", "matches", NULL, "full", 3);
	msg(f, "a-4", "pc-2", NOW - 300, "vpn", "noncompliant", "matches", NULL, "restricted", 3);
	msg(f, "a-5", "pc-3", NOW - 3 * H, "dhcp", "noncompliant", "out_of_date", NULL,
	    "restricted", 2);
	msg(f, "a-6", "lab-1", NOW - 100, "dhcp", "compliant", "exempt", "lab", "full", 3);
	msg(f, "a-7", "pc-4", NOW - 25 * H, "hra", "compliant", "matches", NULL, "full", 3);

	agent(f, "pc-1", 1, true, 3, NOW - 500, "", NULL);
	agent(f, "pc-2", 3, false, 3, NOW - 200, "DSA-1 av",
	      "{\"checks\":{\"av\":\"fail\",\"fw\":\"pass\"},\"failure\":\"clamd not running\"}");
	agent(f, "pc-3", 3, false, 2, NOW - 3 * H, "DSA-1 OLD-9", NULL);
	agent(f, "pc-9", 2, true, 3, NOW - 60, "DSA-2", NULL);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;
	char p[600];

	nap_store_close(f->st);
	if (f->path[0] != '\0') {
		unlink(f->path);
		snprintf(p, sizeof(p), "%s-wal", f->path);
		unlink(p);
		snprintf(p, sizeof(p), "%s-shm", f->path);
		unlink(p);
	}
	free(f);
	return 0;
}

static int64_t
count_of(const struct nap_report_counts *c, const char *key)
{
	for (size_t i = 0; i < c->n; i++)
		if (strcmp(c->v[i].key, key) == 0)
			return c->v[i].n;
	return -1;
}

static void
test_compliance(void **state)
{
	struct fx *f = *state;
	struct nap_report_compliance s;
	struct nap_store_err err = {{0}};

	assert_int_equal(nap_report_compliance(f->st, NOW, 1800, &s, &err), 0);
	assert_int_equal(s.now, NOW);
	assert_int_equal(s.silent_after, 1800);
	assert_int_equal(s.revision, 3);
	assert_int_equal(s.clients, 5);
	assert_int_equal(s.compliant, 3);
	assert_int_equal(s.noncompliant, 2);
	assert_int_equal(s.exempt, 1);
	assert_int_equal(s.silent, 2);
	assert_int_equal(s.stale_revision, 1);
	assert_int_equal(s.messages, 7);
	assert_int_equal(s.by_result.n, 2);
	assert_string_equal(s.by_result.v[0].key, "compliant");
	assert_int_equal(s.by_result.v[0].n, 3);
	assert_string_equal(s.by_result.v[1].key, "noncompliant");
	assert_int_equal(s.by_result.v[1].n, 2);
	assert_int_equal(s.by_action.n, 2);
	assert_int_equal(count_of(&s.by_action, "full"), 3);
	assert_int_equal(count_of(&s.by_action, "restricted"), 2);
	assert_int_equal(s.by_enforcement.n, 3);
	assert_string_equal(s.by_enforcement.v[0].key, "dhcp");
	assert_int_equal(count_of(&s.by_enforcement, "dhcp"), 3);
	assert_int_equal(count_of(&s.by_enforcement, "hra"), 1);
	assert_int_equal(count_of(&s.by_enforcement, "vpn"), 1);
	assert_int_equal(s.by_branch.n, 3);
	assert_int_equal(count_of(&s.by_branch, "matches"), 3);
	assert_int_equal(count_of(&s.by_branch, "exempt"), 1);
	assert_int_equal(count_of(&s.by_branch, "out_of_date"), 1);
	assert_int_equal(s.agents, 4);
	assert_int_equal(s.agents_compliant, 2);
	assert_int_equal(s.agents_unrestricted, 1);
	assert_int_equal(s.agents_deferred, 1);
	assert_int_equal(s.agents_restricted, 2);
	assert_int_equal(s.agents_missing, 3);

	/* A threshold of 4 h: only pc-4 is silent; the default is 30 min. */
	assert_int_equal(nap_report_compliance(f->st, NOW, 4 * H, &s, &err), 0);
	assert_int_equal(s.silent, 1);
	assert_int_equal(nap_report_compliance(f->st, NOW, 0, &s, &err), 0);
	assert_int_equal(s.silent_after, NAP_REPORT_SILENT_DEFAULT);
	assert_int_equal(s.silent, 2);
	assert_int_equal(nap_report_compliance(f->st, NOW, -5, &s, &err), -EINVAL);
	assert_int_equal(nap_report_compliance(f->st, -1, 60, &s, &err), -EINVAL);
}

static void
names_are(const struct nap_report_client_list *l, int64_t total, const char *const *names,
	  size_t n)
{
	assert_int_equal(l->total, total);
	assert_int_equal(l->n, n);
	for (size_t i = 0; i < n; i++)
		assert_string_equal(l->v[i].machine, names[i]);
}

#define NAMES(l, total, ...)                                                                       \
	names_are(l, total, (const char *const[]){__VA_ARGS__},                                    \
		  sizeof((const char *const[]){__VA_ARGS__}) / sizeof(const char *))

static struct nap_report_client_list *
clients(const struct fx *f, struct nap_report_client_query q)
{
	struct nap_report_client_list *l = NULL;
	struct nap_store_err err = {{0}};

	q.now = NOW;
	q.silent_after = 1800;
	if (nap_report_clients(f->st, &q, &l, &err) != 0)
		fail_msg("clients: %s", err.msg);
	return l;
}

static void
test_clients(void **state)
{
	struct fx *f = *state;
	struct nap_report_client_list *l;
	const struct nap_report_client *c;

	l = clients(f, (struct nap_report_client_query){0});
	NAMES(l, 6, "lab-1", "pc-1", "pc-2", "pc-3", "pc-4", "pc-9");
	/* Every field of pc-2 and of the agent-only pc-9. */
	c = &l->v[2];
	assert_true(c->has_verdict);
	assert_string_equal(c->id, "a-4");
	assert_int_equal(c->time, NOW - 300);
	assert_int_equal(c->first_seen, NOW - 1000);
	assert_int_equal(c->messages, 2);
	assert_string_equal(c->napvd, "napvd-a");
	assert_string_equal(c->nas, "127.0.0.1");
	assert_string_equal(c->client, "dhcp1");
	assert_string_equal(c->site, "S01");
	assert_string_equal(c->enforcement, "vpn");
	assert_string_equal(c->result, "noncompliant");
	assert_string_equal(c->branch, "matches");
	assert_string_equal(c->exemption, "");
	assert_string_equal(c->action, "restricted");
	assert_int_equal(c->hsr_revision, 3);
	assert_false(c->compliant);
	assert_int_equal(c->last_seen, NOW - 200);
	assert_false(c->silent);
	assert_true(c->has_agent);
	assert_int_equal(c->agent_state, 3);
	assert_false(c->agent_compliant);
	assert_int_equal(c->agent_revision, 3);
	assert_int_equal(c->agent_evaluated, NOW - 210);
	assert_int_equal(c->agent_received, NOW - 200);
	assert_int_equal(c->n_missing, 2);
	assert_string_equal(c->missing[0], "DSA-1");
	assert_string_equal(c->missing[1], "av");
	c = &l->v[5];
	assert_false(c->has_verdict);
	assert_false(c->compliant);
	assert_true(c->has_agent);
	assert_int_equal(c->agent_state, 2);
	assert_true(c->agent_compliant);
	assert_int_equal(c->last_seen, NOW - 60);
	assert_int_equal(c->n_missing, 1);
	assert_string_equal(c->missing[0], "DSA-2");
	assert_string_equal(l->v[0].exemption, "lab");
	assert_true(l->v[0].compliant);
	assert_false(l->v[0].has_agent);
	assert_true(l->v[3].silent);
	assert_true(l->v[4].silent);
	assert_int_equal(l->v[4].last_seen, NOW - 25 * H);
	assert_int_equal(l->v[1].last_seen, NOW - 500);
	nap_report_client_list_free(l);

	l = clients(f, (struct nap_report_client_query){.filter = NAP_REPORT_COMPLIANT});
	NAMES(l, 3, "lab-1", "pc-1", "pc-4");
	nap_report_client_list_free(l);
	l = clients(f, (struct nap_report_client_query){.filter = NAP_REPORT_NONCOMPLIANT});
	NAMES(l, 2, "pc-2", "pc-3");
	nap_report_client_list_free(l);
	l = clients(f, (struct nap_report_client_query){.filter = NAP_REPORT_EXEMPT});
	NAMES(l, 1, "lab-1");
	nap_report_client_list_free(l);
	l = clients(f, (struct nap_report_client_query){.silent_only = true});
	NAMES(l, 2, "pc-3", "pc-4");
	nap_report_client_list_free(l);
	l = clients(f, (struct nap_report_client_query){.silent_only = true,
							.sort = NAP_REPORT_SORT_SILENT});
	NAMES(l, 2, "pc-4", "pc-3");
	nap_report_client_list_free(l);
	l = clients(f, (struct nap_report_client_query){.sort = NAP_REPORT_SORT_SILENT});
	NAMES(l, 6, "pc-4", "pc-3", "pc-1", "pc-2", "lab-1", "pc-9");
	nap_report_client_list_free(l);
	l = clients(f, (struct nap_report_client_query){.sort = NAP_REPORT_SORT_LAST_SEEN});
	NAMES(l, 6, "pc-9", "lab-1", "pc-2", "pc-1", "pc-3", "pc-4");
	nap_report_client_list_free(l);
	l = clients(f, (struct nap_report_client_query){.prefix = "pc-"});
	NAMES(l, 5, "pc-1", "pc-2", "pc-3", "pc-4", "pc-9");
	nap_report_client_list_free(l);
	l = clients(f, (struct nap_report_client_query){.prefix = "pc-1"});
	NAMES(l, 1, "pc-1");
	nap_report_client_list_free(l);
	l = clients(f, (struct nap_report_client_query){.action = "restricted"});
	NAMES(l, 2, "pc-2", "pc-3");
	nap_report_client_list_free(l);
	l = clients(f, (struct nap_report_client_query){.limit = 2, .offset = 1});
	NAMES(l, 6, "pc-1", "pc-2");
	nap_report_client_list_free(l);
	l = clients(f, (struct nap_report_client_query){.limit = 2, .offset = 100});
	assert_int_equal(l->total, 6);
	assert_int_equal(l->n, 0);
	nap_report_client_list_free(l);
	/* Both filters and a silence threshold of 2 h 30 min: pc-3 (3 h) only. */
	l = clients(f, (struct nap_report_client_query){.filter = NAP_REPORT_NONCOMPLIANT,
							.silent_only = true, .prefix = "pc"});
	NAMES(l, 1, "pc-3");
	nap_report_client_list_free(l);
	/* Quotes and SQL in a prefix are only bytes to compare. */
	l = clients(f, (struct nap_report_client_query){.prefix = "x'OR'1'='1';--"});
	assert_int_equal(l->total, 0);
	assert_int_equal(l->n, 0);
	nap_report_client_list_free(l);
}

static void
test_clients_bad(void **state)
{
	struct fx *f = *state;
	struct nap_report_client_list *l = (void *)1;
	struct nap_store_err err = {{0}};
	const struct nap_report_client_query bad[] = {
		{.limit = -1},
		{.limit = NAP_REPORT_LIMIT_MAX + 1},
		{.offset = -1},
		{.offset = NAP_REPORT_OFFSET_MAX + 1},
		{.action = "full' OR 1=1"},
		{.action = "bogus"},
		{.prefix = "a b"},
		{.prefix = "pc\n"},
		{.filter = (enum nap_report_filter)9},
		{.sort = (enum nap_report_sort)-1},
		{.silent_after = -60},
		{.now = -1},
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err.msg[0] = '\0';
		assert_int_equal(nap_report_clients(f->st, &bad[i], &l, &err), -EINVAL);
		assert_null(l);
		assert_true(err.msg[0] != '\0');
	}
	assert_int_equal(nap_report_policy_clients(f->st, "DSA 1", NULL, &l, &err), -EINVAL);
	assert_int_equal(nap_report_policy_clients(f->st, "", NULL, &l, &err), -EINVAL);
	assert_int_equal(nap_report_policy_clients(f->st, NULL, NULL, &l, &err), -EINVAL);
}

static void
test_policies(void **state)
{
	struct fx *f = *state;
	struct nap_report_policy_list *p = NULL;
	struct nap_report_client_list *l = NULL;
	struct nap_store_err err = {{0}};

	assert_int_equal(nap_report_policies(f->st, 0, 0, &p, &err), 0);
	assert_int_equal(p->agents, 4);
	assert_int_equal(p->total, 4);
	assert_int_equal(p->n, 4);
	assert_string_equal(p->v[0].id, "DSA-1");
	assert_string_equal(p->v[0].kind, "policy");
	assert_string_equal(p->v[0].severity, "critical");
	assert_int_equal(p->v[0].effective, 0);
	assert_int_equal(p->v[0].missing, 2);
	assert_string_equal(p->v[1].id, "DSA-2");
	assert_int_equal(p->v[1].effective, NOW + 10 * D);
	assert_int_equal(p->v[1].missing, 1);
	assert_string_equal(p->v[2].id, "OLD-9");
	assert_string_equal(p->v[2].kind, "unknown");
	assert_int_equal(p->v[2].missing, 1);
	assert_string_equal(p->v[3].id, "av");
	assert_string_equal(p->v[3].kind, "check");
	assert_string_equal(p->v[3].severity, "important");
	assert_int_equal(p->v[3].missing, 1);
	nap_report_policy_list_free(p);
	assert_int_equal(nap_report_policies(f->st, 2, 1, &p, &err), 0);
	assert_int_equal(p->total, 4);
	assert_int_equal(p->n, 2);
	assert_string_equal(p->v[0].id, "DSA-2");
	assert_string_equal(p->v[1].id, "OLD-9");
	nap_report_policy_list_free(p);
	assert_int_equal(nap_report_policies(f->st, 10, 4, &p, &err), 0);
	assert_int_equal(p->n, 0);
	nap_report_policy_list_free(p);
	assert_int_equal(nap_report_policies(f->st, -3, 0, &p, &err), -EINVAL);
	assert_null(p);
	assert_int_equal(nap_report_policies(f->st, 10, -1, &p, &err), -EINVAL);

	assert_int_equal(nap_report_policy_clients(f->st, "DSA-1", NULL, &l, &err), 0);
	NAMES(l, 2, "pc-2", "pc-3");
	nap_report_client_list_free(l);
	assert_int_equal(nap_report_policy_clients(f->st, "av", NULL, &l, &err), 0);
	NAMES(l, 1, "pc-2");
	nap_report_client_list_free(l);
	assert_int_equal(nap_report_policy_clients(f->st, "DSA-2", NULL, &l, &err), 0);
	NAMES(l, 1, "pc-9");
	assert_false(l->v[0].has_verdict);
	nap_report_client_list_free(l);
	/* Whole ids only, case-sensitive. */
	assert_int_equal(nap_report_policy_clients(f->st, "DSA", NULL, &l, &err), 0);
	assert_int_equal(l->total, 0);
	nap_report_client_list_free(l);
	assert_int_equal(nap_report_policy_clients(f->st, "AV", NULL, &l, &err), 0);
	assert_int_equal(l->total, 0);
	nap_report_client_list_free(l);
	assert_int_equal(
		nap_report_policy_clients(f->st, "DSA-1",
					  &(struct nap_report_client_query){.silent_only = true,
									    .now = NOW},
					  &l, &err),
		0);
	NAMES(l, 1, "pc-3");
	nap_report_client_list_free(l);
}

static void
test_history(void **state)
{
	struct fx *f = *state;
	struct nap_report_history *h = NULL;
	struct nap_store_err err = {{0}};

	/* since is aligned down to the hour, until up. */
	assert_int_equal(nap_report_history(f->st, NOW - 4 * H + 5, NOW - 1, H, &h, &err), 0);
	assert_int_equal(h->since, NOW - 4 * H);
	assert_int_equal(h->until, NOW);
	assert_int_equal(h->bucket, H);
	assert_int_equal(h->n, 4);
	for (size_t i = 0; i < 4; i++)
		assert_int_equal(h->v[i].start, NOW - 4 * H + (int64_t)i * H);
	assert_int_equal(h->v[0].compliant, 0);
	assert_int_equal(h->v[0].noncompliant, 0);
	assert_int_equal(h->v[0].messages, 0);
	assert_int_equal(h->v[1].compliant, 0); /* pc-3 */
	assert_int_equal(h->v[1].noncompliant, 1);
	assert_int_equal(h->v[1].messages, 1);
	assert_int_equal(h->v[2].compliant, 0); /* pc-1 at NOW-2h */
	assert_int_equal(h->v[2].noncompliant, 1);
	assert_int_equal(h->v[2].messages, 1);
	/* pc-1 and lab-1 compliant; pc-2 compliant then noncompliant: its last verdict counts */
	assert_int_equal(h->v[3].compliant, 2);
	assert_int_equal(h->v[3].noncompliant, 1);
	assert_int_equal(h->v[3].messages, 4);
	nap_report_history_free(h);

	assert_int_equal(nap_report_history(f->st, NOW - 2 * D, NOW, D, &h, &err), 0);
	assert_int_equal(h->n, 2);
	assert_int_equal(h->v[0].start, NOW - 2 * D);
	assert_int_equal(h->v[0].compliant, 1); /* pc-4 */
	assert_int_equal(h->v[0].noncompliant, 0);
	assert_int_equal(h->v[0].messages, 1);
	/* pc-1 (last compliant), lab-1; pc-2 (last noncompliant), pc-3 */
	assert_int_equal(h->v[1].compliant, 2);
	assert_int_equal(h->v[1].noncompliant, 2);
	assert_int_equal(h->v[1].messages, 6);
	nap_report_history_free(h);

	assert_int_equal(nap_report_history(f->st, NOW - H, NOW, 60, &h, &err), -EINVAL);
	assert_null(h);
	assert_int_equal(nap_report_history(f->st, NOW, NOW, H, &h, &err), -EINVAL);
	assert_int_equal(nap_report_history(f->st, NOW, NOW - H, H, &h, &err), -EINVAL);
	assert_int_equal(nap_report_history(f->st, -H, NOW, D, &h, &err), -EINVAL);
	assert_int_equal(nap_report_history(f->st, NOW - 2 * 365 * D, NOW, H, &h, &err),
			 -EINVAL);
	assert_non_null(strstr(err.msg, "buckets"));
}

static void
test_feed(void **state)
{
	struct fx *f = *state;
	struct nap_report_feed *fd = NULL;
	struct nap_store_err err = {{0}};

	assert_int_equal(nap_report_feed(f->st, NULL, 3, 0, &fd, &err), 0);
	assert_int_equal(fd->n, 3);
	assert_string_equal(fd->v[0].id, "a-6");
	assert_string_equal(fd->v[0].machine, "lab-1");
	assert_int_equal(fd->v[0].time, NOW - 100);
	assert_int_equal(fd->v[0].received, NOW - 95);
	assert_string_equal(fd->v[0].napvd, "napvd-a");
	assert_string_equal(fd->v[0].nas, "127.0.0.1");
	assert_string_equal(fd->v[0].client, "dhcp1");
	assert_string_equal(fd->v[0].site, "S01");
	assert_string_equal(fd->v[0].enforcement, "dhcp");
	assert_string_equal(fd->v[0].result, "compliant");
	assert_string_equal(fd->v[0].branch, "exempt");
	assert_string_equal(fd->v[0].exemption, "lab");
	assert_string_equal(fd->v[0].action, "full");
	assert_int_equal(fd->v[0].hsr_revision, 3);
	assert_string_equal(fd->v[0].correlation_id, "c0ffee");
	assert_string_equal(fd->v[1].id, "a-4");
	assert_string_equal(fd->v[2].id, "a-2");
	nap_report_feed_free(fd);
	assert_int_equal(nap_report_feed(f->st, "", 0, 0, &fd, &err), 0);
	assert_int_equal(fd->n, 7);
	assert_string_equal(fd->v[6].id, "a-7");
	nap_report_feed_free(fd);
	assert_int_equal(nap_report_feed(f->st, NULL, 10, 6, &fd, &err), 0);
	assert_int_equal(fd->n, 1);
	assert_string_equal(fd->v[0].id, "a-7");
	nap_report_feed_free(fd);
	assert_int_equal(nap_report_feed(f->st, "pc-1", 10, 0, &fd, &err), 0);
	assert_int_equal(fd->n, 2);
	assert_string_equal(fd->v[0].id, "a-2");
	assert_string_equal(fd->v[1].id, "a-1");
	nap_report_feed_free(fd);
	assert_int_equal(nap_report_feed(f->st, "pc-1' OR '1'='1", 10, 0, &fd, &err), -EINVAL);
	assert_null(fd);
	assert_int_equal(nap_report_feed(f->st, "pc-1'OR'1'='1", 10, 0, &fd, &err), 0);
	assert_int_equal(fd->n, 0);
	nap_report_feed_free(fd);
	assert_int_equal(nap_report_feed(f->st, NULL, -1, 0, &fd, &err), -EINVAL);
	assert_int_equal(nap_report_feed(f->st, NULL, 10, -1, &fd, &err), -EINVAL);
	assert_int_equal(nap_report_feed(f->st, NULL, NAP_REPORT_LIMIT_MAX + 1, 0, &fd, &err),
			 -EINVAL);
}

static bool
has_fix(const struct nap_report_explain *e, const char *text)
{
	for (size_t i = 0; i < e->n_fixes; i++)
		if (strstr(e->fixes[i], text) != NULL)
			return true;
	return false;
}

static void
test_explain(void **state)
{
	struct fx *f = *state;
	struct nap_report_explain *e = malloc(sizeof(*e));
	struct nap_store_err err = {{0}};

	assert_non_null(e);
	/* pc-2: judged against the current revision, missing a policy and a check. */
	assert_int_equal(nap_report_explain(f->st, "pc-2", NOW, 1800, e, &err), 0);
	assert_true(e->has_verdict);
	assert_int_equal(e->revision, 3);
	assert_true(e->revision_current);
	assert_string_equal(e->c.result, "noncompliant");
	assert_string_equal(e->c.branch, "matches");
	assert_string_equal(e->meaning, nap_report_branch_meaning("matches"));
	assert_non_null(strstr(e->meaning, "current policy revision"));
	assert_int_equal(e->c.messages, 2);
	assert_false(e->c.silent);
	assert_int_equal(e->c.last_seen, NOW - 200);
	assert_int_equal(e->n_missing, 2);
	assert_string_equal(e->missing[0].id, "DSA-1");
	assert_string_equal(e->missing[0].kind, "policy");
	assert_string_equal(e->missing[0].severity, "critical");
	assert_true(e->missing[0].in_force);
	assert_int_equal(e->missing[0].n_reqs, 1);
	assert_int_equal(e->missing[0].n_reqs_total, 1);
	assert_string_equal(e->missing[0].reqs[0].package, "openssl");
	assert_string_equal(e->missing[0].reqs[0].min_version, "3.0.15-1~deb12u1");
	assert_string_equal(e->missing[0].reqs[0].scheme, "dpkg");
	assert_string_equal(e->missing[1].id, "av");
	assert_string_equal(e->missing[1].kind, "check");
	assert_string_equal(e->missing[1].check_type, "antivirus");
	assert_int_equal(e->n_failed_checks, 1);
	assert_string_equal(e->failed_checks[0], "av");
	assert_string_equal(e->failed_status[0], "fail");
	assert_string_equal(e->agent_failure, "clamd not running");
	assert_int_equal(e->n_recent, 2);
	assert_string_equal(e->recent[0].id, "a-4");
	assert_string_equal(e->recent[1].id, "a-3");
	assert_int_equal(e->n_fixes, 3);
	assert_string_equal(e->fixes[0], "install openssl >= 3.0.15-1~deb12u1 (DSA-1)");
	assert_true(has_fix(e, "update the antivirus signatures"));
	assert_true(has_fix(e, "check av reported fail"));

	/* pc-3: silent 3 h, judged against revision 2, a missing id the store no longer has. */
	assert_int_equal(nap_report_explain(f->st, "pc-3", NOW, 1800, e, &err), 0);
	assert_true(e->c.silent);
	assert_false(e->revision_current);
	assert_int_equal(e->c.hsr_revision, 2);
	assert_string_equal(e->c.branch, "out_of_date");
	assert_non_null(strstr(e->meaning, "older policy revision"));
	assert_string_equal(e->fixes[0], "agent silent for 3 h: check napagentd on the host");
	assert_true(has_fix(e, "HSR revision out of date: napvd judged it against revision 2, "
			       "the site is at 3"));
	assert_true(has_fix(e, "the agent evaluated policy revision 2"));
	assert_true(has_fix(e, "install openssl >= 3.0.15-1~deb12u1 (DSA-1)"));
	assert_true(has_fix(e, "OLD-9 is no longer a policy or check"));
	assert_true(has_fix(e, "refresh its policy"));
	assert_string_equal(e->missing[1].kind, "unknown");

	/* pc-9: only its agent reported; the policy it lacks is not in force yet. */
	assert_int_equal(nap_report_explain(f->st, "pc-9", NOW, 1800, e, &err), 0);
	assert_false(e->has_verdict);
	assert_null(e->meaning);
	assert_true(e->c.has_agent);
	assert_false(e->missing[0].in_force);
	assert_true(has_fix(e, "napvd never judged pc-9"));
	assert_true(has_fix(e, "install curl >= 7.88.1-10+deb12u8 before 2026-01-11 (DSA-2)"));
	assert_int_equal(e->n_recent, 0);

	/* lab-1: compliant by exemption, nothing to fix. */
	assert_int_equal(nap_report_explain(f->st, "lab-1", NOW, 1800, e, &err), 0);
	assert_true(e->c.compliant);
	assert_string_equal(e->c.exemption, "lab");
	assert_int_equal(e->n_fixes, 0);

	/* pc-4: silent a day: "25 h". */
	assert_int_equal(nap_report_explain(f->st, "pc-4", NOW, 1800, e, &err), 0);
	assert_string_equal(e->fixes[0], "agent silent for 25 h: check napagentd on the host");

	assert_int_equal(nap_report_explain(f->st, "nobody", NOW, 1800, e, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "nobody"));
	assert_int_equal(nap_report_explain(f->st, "x';DROP", NOW, 1800, e, &err), -ENOENT);
	assert_int_equal(nap_report_explain(f->st, "x'; DROP TABLE client_last;--", NOW, 1800, e,
					    &err),
			 -EINVAL);
	assert_int_equal(nap_report_explain(f->st, "", NOW, 1800, e, &err), -EINVAL);
	assert_int_equal(nap_report_explain(f->st, NULL, NOW, 1800, e, &err), -EINVAL);
	assert_int_equal(nap_report_explain(f->st, "pc-2", NOW, -1, e, &err), -EINVAL);
	/* Nothing was dropped. */
	assert_int_equal(nap_report_explain(f->st, "pc-1", NOW, 1800, e, &err), 0);
	assert_int_equal(e->c.messages, 2);
	free(e);
}

static void
test_empty_store(void **state)
{
	struct fx *f = *state;
	struct nap_report_compliance s;
	struct nap_report_history *h = NULL;
	struct nap_report_policy_list *p = NULL;
	struct nap_store_err err = {{0}};

	raw_exec(f, "DELETE FROM status_messages; DELETE FROM status_daily; DELETE FROM "
		    "client_last; DELETE FROM agent_state");
	assert_int_equal(nap_report_compliance(f->st, NOW, 60, &s, &err), 0);
	assert_int_equal(s.clients, 0);
	assert_int_equal(s.messages, 0);
	assert_int_equal(s.silent, 0);
	assert_int_equal(s.agents, 0);
	assert_int_equal(s.by_result.n, 0);
	assert_int_equal(nap_report_history(f->st, NOW - D, NOW, H, &h, &err), 0);
	assert_int_equal(h->n, 24);
	for (size_t i = 0; i < h->n; i++)
		assert_int_equal(h->v[i].messages, 0);
	nap_report_history_free(h);
	assert_int_equal(nap_report_history(f->st, NOW - 3 * D, NOW, D, &h, &err), 0);
	assert_int_equal(h->n, 3);
	for (size_t i = 0; i < h->n; i++)
		assert_int_equal(h->v[i].compliant + h->v[i].noncompliant + h->v[i].messages, 0);
	nap_report_history_free(h);
	assert_int_equal(nap_report_policies(f->st, 0, 0, &p, &err), 0);
	assert_int_equal(p->total, 3);
	for (size_t i = 0; i < p->n; i++)
		assert_int_equal(p->v[i].missing, 0);
	nap_report_policy_list_free(p);
}

static void
test_names(void **state)
{
	(void)state;
	assert_true(nap_report_machine_valid("pc-1.example.org"));
	assert_false(nap_report_machine_valid(""));
	assert_false(nap_report_machine_valid("a b"));
	assert_false(nap_report_machine_valid("a\tb"));
	assert_false(nap_report_machine_valid("caf\xc3\xa9"));
	char longname[NAP_REPORT_NAME_MAX + 2];

	memset(longname, 'a', sizeof(longname) - 1);
	longname[NAP_REPORT_NAME_MAX + 1] = '\0';
	assert_false(nap_report_machine_valid(longname));
	longname[NAP_REPORT_NAME_MAX] = '\0';
	assert_true(nap_report_machine_valid(longname));
	assert_non_null(strstr(nap_report_branch_meaning("exempt"), "exemption"));
	assert_non_null(strstr(nap_report_branch_meaning("nonsense"), "does not know"));
	assert_non_null(nap_report_branch_meaning(NULL));
}

int
main(void)
{
	const char *base = getenv("TMPDIR");
	int r;
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		T(test_compliance),
		T(test_clients),
		T(test_clients_bad),
		T(test_policies),
		T(test_history),
		T(test_feed),
		T(test_explain),
		T(test_empty_store),
	};

	env_uri = getenv("NAP_TEST_STORE_URI");
	if (env_uri != NULL && env_uri[0] == '\0')
		env_uri = NULL;
	snprintf(tmpdir, sizeof(tmpdir), "%s/nap-report-test.XXXXXX",
		 base != NULL && base[0] != '\0' ? base : "/tmp");
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	r = cmocka_run_group_tests(tests, NULL, NULL);
	rmdir(tmpdir);
	return r;
}
