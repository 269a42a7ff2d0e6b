// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * The site store against a real database: SQLite in a temporary directory by default, or the
 * PostgreSQL server named by NAP_TEST_STORE_URI (tests/integration/test-store-pg.sh), so the same
 * cases run on both backends. Every case starts from an empty database (a new SQLite file, or a
 * dropped and recreated schema). Covers every function of store.h: the checks, error codes, the
 * revision rule (every change bumps it once, rejected and no-op writes do not), import
 * all-or-nothing, one-time tokens and their expiry, agent state and history order, reopening,
 * migrations, concurrent writers and the HSR document signed and parsed back.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <sqlite3.h>

#include "nap/hsr.h"
#include "nap/store.h"
#include "nap/util.h"

#define V(name) NAP_HSR_VECTORS "/" name

static const char *env_uri; /* NAP_TEST_STORE_URI, or NULL for SQLite files */
static char tmpdir[256];
static unsigned file_seq;

struct fx {
	struct nap_store *st;
	char uri[1024];
	char path[512]; /* SQLite file */
};

/* ---- database plumbing ---- */

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

static PGconn *
pg_connect(const char *uri)
{
	PGconn *c = PQconnectdb(strncmp(uri, "pg:", 3) == 0 ? uri + 3 : uri);

	if (PQstatus(c) != CONNECTION_OK)
		fail_msg("postgresql %s: %s", uri, PQerrorMessage(c));
	PQsetNoticeProcessor(c, pg_quiet, NULL);
	return c;
}

/* Run SQL directly on the test database (behind the store's back). */
static void
raw_exec(const struct fx *f, const char *sql)
{
	if (uri_is_pg(f->uri)) {
		PGconn *c = pg_connect(f->uri);
		PGresult *res = PQexec(c, sql);

		if (PQresultStatus(res) != PGRES_COMMAND_OK &&
		    PQresultStatus(res) != PGRES_TUPLES_OK)
			fail_msg("%s: %s", sql, PQerrorMessage(c));
		PQclear(res);
		PQfinish(c);
	} else {
		sqlite3 *db;
		char *msg = NULL;

		assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
		if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
			fail_msg("%s: %s", sql, msg);
		sqlite3_close(db);
	}
}

/* One integer from SQL run directly on the test database. */
static long long
raw_int(const struct fx *f, const char *sql)
{
	long long v = -1;

	if (uri_is_pg(f->uri)) {
		PGconn *c = pg_connect(f->uri);
		PGresult *res = PQexec(c, sql);

		if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
			fail_msg("%s: %s", sql, PQerrorMessage(c));
		v = atoll(PQgetvalue(res, 0, 0));
		PQclear(res);
		PQfinish(c);
	} else {
		sqlite3 *db;
		sqlite3_stmt *stmt;

		assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
		assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &stmt, NULL), SQLITE_OK);
		assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
		v = sqlite3_column_int64(stmt, 0);
		sqlite3_finalize(stmt);
		sqlite3_close(db);
	}
	return v;
}

static void
store_open_ok(struct fx *f)
{
	struct nap_store_err err = {{0}};
	int r = nap_store_open(f->uri, &f->st, &err);

	if (r != 0)
		fail_msg("open %s: %d %s", f->uri, r, err.msg);
}

static void
store_reopen(struct fx *f)
{
	nap_store_close(f->st);
	f->st = NULL;
	store_open_ok(f);
}

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	if (env_uri != NULL) {
		snprintf(f->uri, sizeof(f->uri), "%s", env_uri);
		/* A fresh, empty schema for every case: cheaper than a database each. */
		raw_exec(f, "DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public");
	} else {
		snprintf(f->path, sizeof(f->path), "%s/t%u.db", tmpdir, file_seq++);
		snprintf(f->uri, sizeof(f->uri), "sqlite:%s", f->path);
	}
	store_open_ok(f);
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

/* ---- builders ---- */

static char *
xstrdup(const char *s)
{
	char *d = s != NULL ? strdup(s) : NULL;

	if (s != NULL)
		assert_non_null(d);
	return d;
}

static void
pol_init(struct nap_policy *p, const char *id, const char *severity, int64_t effective,
	 const char *reason)
{
	memset(p, 0, sizeof(*p));
	snprintf(p->id, sizeof(p->id), "%s", id);
	snprintf(p->severity, sizeof(p->severity), "%s", severity);
	p->effective = effective;
	p->reason = xstrdup(reason);
}

static void
pol_req(struct nap_policy *p, const char *package, const char *min_version,
	enum nap_version_scheme scheme)
{
	p->reqs = realloc(p->reqs, (p->n_reqs + 1) * sizeof(*p->reqs));
	assert_non_null(p->reqs);
	p->reqs[p->n_reqs].package = xstrdup(package);
	p->reqs[p->n_reqs].min_version = xstrdup(min_version);
	p->reqs[p->n_reqs].scheme = scheme;
	p->n_reqs++;
}

/* A package policy in one call. */
static void
pol_pkg(struct nap_policy *p, const char *id, const char *package, const char *version)
{
	pol_init(p, id, "important", 0, NULL);
	pol_req(p, package, version, NAP_SCHEME_DPKG);
}

static char **
strv(size_t n, ...)
{
	char **v = calloc(n > 0 ? n : 1, sizeof(*v));
	va_list ap;

	assert_non_null(v);
	va_start(ap, n);
	for (size_t i = 0; i < n; i++)
		v[i] = xstrdup(va_arg(ap, const char *));
	va_end(ap);
	return v;
}

static void
exm_init(struct nap_exemption *e, const char *id, const char *client, const char *group)
{
	memset(e, 0, sizeof(*e));
	snprintf(e->id, sizeof(e->id), "%s", id);
	e->client = xstrdup(client);
	e->group = xstrdup(group);
}

static void
grp_init(struct nap_group *g, const char *name, size_t n, char **members)
{
	memset(g, 0, sizeof(*g));
	snprintf(g->name, sizeof(g->name), "%s", name);
	g->members = members;
	g->n_members = n;
}

static uint64_t
revision(struct fx *f)
{
	uint64_t rev = 0;

	assert_int_equal(nap_store_revision(f->st, &rev, NULL, NULL), 0);
	return rev;
}

static void
put_ok(struct fx *f, const struct nap_policy *p, bool replace, uint64_t want_rev)
{
	struct nap_store_err err = {{0}};
	uint64_t rev = 0;
	int r = nap_store_policy_put(f->st, p, replace, &rev, &err);

	if (r != 0)
		fail_msg("put %s: %d %s", p->id, r, err.msg);
	assert_int_equal(rev, want_rev);
}

/* ---- open, migrations ---- */

static void
test_open_errors(void **state)
{
	struct fx *f = *state;
	struct nap_store_err err = {{0}};
	struct nap_store *st = (struct nap_store *)1;
	char path[600];

	assert_string_equal(nap_store_backend(f->st), uri_is_pg(f->uri) ? "postgresql" : "sqlite");
	assert_int_equal(nap_store_open("", &st, &err), -EINVAL);
	assert_null(st);
	assert_int_equal(nap_store_open("mysql://localhost/nap", &st, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "scheme"));
	assert_int_equal(nap_store_open("sqlite:", &st, &err), -EINVAL);
	snprintf(path, sizeof(path), "sqlite:%s/no/such/dir/site.db", tmpdir);
	err.msg[0] = '\0';
	assert_int_equal(nap_store_open(path, &st, &err), -EIO);
	assert_true(err.msg[0] != '\0');
	/* Nothing listens on port 1 of the loopback address. */
	err.msg[0] = '\0';
	assert_int_equal(
		nap_store_open("postgresql://nap@127.0.0.1:1/nap?connect_timeout=2", &st, &err),
		-EIO);
	assert_true(err.msg[0] != '\0');
	assert_null(st);
}

static void
test_plain_path_is_sqlite(void **state)
{
	struct nap_store *st;
	char path[600];

	(void)state;
	snprintf(path, sizeof(path), "%s/plain.db", tmpdir);
	assert_int_equal(nap_store_open(path, &st, NULL), 0);
	assert_string_equal(nap_store_backend(st), "sqlite");
	nap_store_close(st);
	assert_int_equal(access(path, F_OK), 0);
	unlink(path);
	strcat(path, "-wal");
	unlink(path);
	path[strlen(path) - 4] = '\0';
	strcat(path, "-shm");
	unlink(path);
}

static void
test_migrations(void **state)
{
	struct fx *f = *state;
	struct nap_store *second;
	int v = -1;

	assert_true(nap_store_schema_latest() >= 1);
	assert_int_equal(nap_store_schema_version(f->st, &v), 0);
	assert_int_equal(v, nap_store_schema_latest());
	assert_int_equal(raw_int(f, "SELECT count(*) FROM schema_migrations"),
			 nap_store_schema_latest());
	/* Opening again applies nothing twice; two handles at once are fine. */
	assert_int_equal(nap_store_open(f->uri, &second, NULL), 0);
	store_reopen(f);
	assert_int_equal(nap_store_schema_version(f->st, &v), 0);
	assert_int_equal(v, nap_store_schema_latest());
	assert_int_equal(nap_store_schema_version(second, &v), 0);
	assert_int_equal(v, nap_store_schema_latest());
	nap_store_close(second);
	assert_int_equal(raw_int(f, "SELECT count(*) FROM schema_migrations"),
			 nap_store_schema_latest());
	assert_int_equal(revision(f), 0);
}

/*
 * Migrations 5 and 6 on a store that already holds status messages and quarantine rows:
 * status_daily is built from the messages (per day and machine the count and max(time * 2 +
 * noncompliant)), and rows recorded twice for one quarantined line are made one.
 */
static void
test_migration_daily_backfill(void **state)
{
	struct fx *f = *state;
	int v = -1;

	/* back to version 4: migration 6 undone, then 5 */
	raw_exec(f, "DROP INDEX status_quarantine_once;"
		    "ALTER TABLE status_quarantine DROP COLUMN digest;"
		    "DROP TABLE status_daily; DELETE FROM schema_migrations WHERE version >= 5;"
		    "INSERT INTO status_quarantine (file, line, reason, received) VALUES"
		    " ('q.jsonl', 2, 'bad', 1), ('q.jsonl', 2, 'bad', 2), ('q.jsonl', 3, 'bad', 1);"
		    "INSERT INTO status_messages (id, time, received, napvd, nas, client, machine,"
		    " site, enforcement, result, branch, exemption, action, hsr_revision,"
		    " correlation_id) VALUES"
		    " ('a-1', 172800100, 0, 'a', 'n', 'c', 'pc-1', 'S', 'dhcp', 'compliant', 'm',"
		    " NULL, 'full', 1, 'x'),"
		    " ('a-2', 172800200, 0, 'a', 'n', 'c', 'pc-1', 'S', 'dhcp', 'noncompliant', 'm',"
		    " NULL, 'restricted', 1, 'x'),"
		    " ('a-3', 172886400, 0, 'a', 'n', 'c', 'pc-1', 'S', 'dhcp', 'compliant', 'm',"
		    " NULL, 'full', 1, 'x'),"
		    " ('a-4', 172800200, 0, 'a', 'n', 'c', 'pc-2', 'S', 'dhcp', 'compliant', 'm',"
		    " NULL, 'full', 1, 'x')");
	store_reopen(f);
	assert_int_equal(nap_store_schema_version(f->st, &v), 0);
	assert_int_equal(v, nap_store_schema_latest());
	assert_int_equal(raw_int(f, "SELECT count(*) FROM status_daily"), 3);
	assert_int_equal(raw_int(f, "SELECT v FROM status_daily WHERE day = 2000 AND machine = "
				    "'pc-1'"),
			 172800200LL * 2 + 1);
	assert_int_equal(raw_int(f, "SELECT messages FROM status_daily WHERE day = 2000 AND "
				    "machine = 'pc-1'"),
			 2);
	assert_int_equal(raw_int(f, "SELECT v FROM status_daily WHERE day = 2001"),
			 172886400LL * 2);
	assert_int_equal(raw_int(f, "SELECT v FROM status_daily WHERE machine = 'pc-2'"),
			 172800200LL * 2);
	/* migration 6: a quarantined line recorded twice before it keeps its first row */
	assert_int_equal(raw_int(f, "SELECT count(*) FROM status_quarantine"), 2);
	assert_int_equal(raw_int(f, "SELECT received FROM status_quarantine WHERE line = 2"), 1);
}

static void
test_schema_newer_refused(void **state)
{
	struct fx *f = *state;
	struct nap_store_err err = {{0}};
	struct nap_store *st;

	raw_exec(f, "INSERT INTO schema_migrations (version, applied) VALUES (9999, 0)");
	assert_int_equal(nap_store_open(f->uri, &st, &err), -EPROTO);
	assert_non_null(strstr(err.msg, "newer"));
	assert_null(st);
}

/* ---- the checks ---- */

static void
expect_policy_invalid(struct nap_policy *p, const char *needle)
{
	struct nap_store_err err = {{0}};

	assert_int_equal(nap_policy_check(p, &err), -EINVAL);
	if (needle != NULL && strstr(err.msg, needle) == NULL)
		fail_msg("message \"%s\" lacks \"%s\"", err.msg, needle);
	nap_policy_clear(p);
}

static void
test_policy_check(void **state)
{
	struct nap_policy p;
	char longs[1100];

	(void)state;
	pol_pkg(&p, "DSA-5001-1", "openssl", "3.0.11-1~deb12u2");
	assert_int_equal(nap_policy_check(&p, NULL), 0);
	nap_policy_clear(&p);
	pol_init(&p, "a._:+~-Z9", "low", 0, "advisory-only, ünïcödé");
	assert_int_equal(nap_policy_check(&p, NULL), 0);
	nap_policy_clear(&p);
	pol_init(&p, "RHSA-2026:0200", "critical", 253402300799LL, NULL);
	pol_req(&p, "openssl", "1:3.0.7-28.el9", NAP_SCHEME_RPM);
	pol_req(&p, "openssl", "3.0.15-1~deb12u1", NAP_SCHEME_DPKG); /* other scheme: fine */
	assert_int_equal(nap_policy_check(&p, NULL), 0);
	nap_policy_clear(&p);

	pol_pkg(&p, "", "openssl", "1");
	expect_policy_invalid(&p, "policy id");
	pol_pkg(&p, "bad id", "openssl", "1");
	expect_policy_invalid(&p, "policy id");
	pol_pkg(&p, "bad/id", "openssl", "1");
	expect_policy_invalid(&p, NULL);
	memset(longs, 'a', 64);
	longs[64] = '\0';
	pol_pkg(&p, "x", "openssl", "1");
	memcpy(p.id, longs, sizeof(p.id) - 1); /* 63 characters: the maximum */
	p.id[sizeof(p.id) - 1] = '\0';
	assert_int_equal(nap_policy_check(&p, NULL), 0);
	nap_policy_clear(&p);
	pol_pkg(&p, "P1", "open ssl", "1");
	expect_policy_invalid(&p, "package 1");
	pol_pkg(&p, "P1", "openssl", "1\t");
	expect_policy_invalid(&p, "min_version");
	pol_pkg(&p, "P1", "öpenssl", "1");
	expect_policy_invalid(&p, "package");
	memset(longs, 'p', 256);
	longs[256] = '\0';
	pol_pkg(&p, "P1", longs, "1");
	expect_policy_invalid(&p, "package");
	longs[255] = '\0';
	pol_pkg(&p, "P1", longs, "1"); /* 255: the maximum */
	assert_int_equal(nap_policy_check(&p, NULL), 0);
	nap_policy_clear(&p);
	pol_pkg(&p, "P1", "openssl", "1");
	free(p.reqs[0].min_version);
	p.reqs[0].min_version = NULL; /* package without min_version */
	expect_policy_invalid(&p, "min_version");
	pol_pkg(&p, "P1", "openssl", "1");
	p.reqs[0].scheme = (enum nap_version_scheme)7;
	expect_policy_invalid(&p, "scheme");
	pol_pkg(&p, "P1", "openssl", "1");
	pol_req(&p, "openssl", "2", NAP_SCHEME_DPKG);
	expect_policy_invalid(&p, "twice");
	pol_init(&p, "P1", "urgent", 0, NULL);
	expect_policy_invalid(&p, "severity");
	pol_init(&p, "P1", "low", 0, NULL);
	memset(p.severity, 'x', sizeof(p.severity)); /* no NUL */
	expect_policy_invalid(&p, "severity");
	pol_init(&p, "P1", "low", -1, NULL);
	expect_policy_invalid(&p, "effective");
	pol_init(&p, "P1", "low", 253402300800LL, NULL);
	expect_policy_invalid(&p, "effective");
	pol_init(&p, "P1", "low", 0, "two\nlines");
	expect_policy_invalid(&p, "control");
	pol_init(&p, "P1", "low", 0, "bad \xff utf-8");
	expect_policy_invalid(&p, "UTF-8");
	pol_init(&p, "P1", "low", 0, "overlong \xc0\xaf");
	expect_policy_invalid(&p, "UTF-8");
	pol_init(&p, "P1", "low", 0, "surrogate \xed\xa0\x80");
	expect_policy_invalid(&p, "UTF-8");
	memset(longs, 'r', 1025);
	longs[1025] = '\0';
	pol_init(&p, "P1", "low", 0, longs);
	expect_policy_invalid(&p, "too long");
	longs[1024] = '\0';
	pol_init(&p, "P1", "low", 0, longs);
	assert_int_equal(nap_policy_check(&p, NULL), 0);
	nap_policy_clear(&p);
	pol_init(&p, "P1", "low", 0, NULL);
	for (int i = 0; i <= NAP_POLICY_MAX_REQS; i++) {
		char pkg[16];

		snprintf(pkg, sizeof(pkg), "p%d", i);
		pol_req(&p, pkg, "1", NAP_SCHEME_DPKG);
	}
	expect_policy_invalid(&p, "at most");
}

static void
test_exemption_check(void **state)
{
	struct nap_store_err err = {{0}};
	struct nap_exemption e;

	(void)state;
	exm_init(&e, "EX-1", "lab-*", NULL);
	assert_int_equal(nap_exemption_check(&e, NULL), 0);
	e.policies = strv(2, "DSA-1", "DSA-2");
	e.n_policies = 2;
	e.from = 100;
	e.until = 200;
	assert_int_equal(nap_exemption_check(&e, NULL), 0);
	e.until = 100;
	assert_int_equal(nap_exemption_check(&e, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "before"));
	e.until = 0; /* open-ended */
	assert_int_equal(nap_exemption_check(&e, NULL), 0);
	e.from = -5;
	assert_int_equal(nap_exemption_check(&e, NULL), -EINVAL);
	e.from = 0;
	free(e.policies[1]);
	e.policies[1] = xstrdup("DSA-1");
	assert_int_equal(nap_exemption_check(&e, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "twice"));
	free(e.policies[1]);
	e.policies[1] = xstrdup("bad id");
	assert_int_equal(nap_exemption_check(&e, NULL), -EINVAL);
	nap_exemption_clear(&e);

	exm_init(&e, "EX-1", NULL, NULL);
	assert_int_equal(nap_exemption_check(&e, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "exactly one"));
	nap_exemption_clear(&e);
	exm_init(&e, "EX-1", "pc1", "kiosks");
	assert_int_equal(nap_exemption_check(&e, NULL), -EINVAL);
	nap_exemption_clear(&e);
	exm_init(&e, "EX-1", NULL, "kiosks");
	assert_int_equal(nap_exemption_check(&e, NULL), 0);
	nap_exemption_clear(&e);
	exm_init(&e, "EX-1", NULL, "bad:group");
	assert_int_equal(nap_exemption_check(&e, NULL), -EINVAL);
	nap_exemption_clear(&e);
	exm_init(&e, "EX-1", "two words", NULL);
	assert_int_equal(nap_exemption_check(&e, NULL), -EINVAL);
	nap_exemption_clear(&e);
	exm_init(&e, "EX 1", "pc1", NULL);
	assert_int_equal(nap_exemption_check(&e, NULL), -EINVAL);
	nap_exemption_clear(&e);
	exm_init(&e, "EX-1", "pc1", NULL);
	e.reason = xstrdup("tab\there");
	assert_int_equal(nap_exemption_check(&e, NULL), -EINVAL);
	nap_exemption_clear(&e);
	exm_init(&e, "EX-1", "pc1", NULL);
	e.n_policies = NAP_EXEMPTION_MAX_POLICIES + 1;
	e.policies = calloc(e.n_policies, sizeof(*e.policies));
	for (size_t i = 0; i < e.n_policies; i++) {
		char id[32];

		snprintf(id, sizeof(id), "P%zu", i);
		e.policies[i] = xstrdup(id);
	}
	assert_int_equal(nap_exemption_check(&e, NULL), -EINVAL);
	nap_exemption_clear(&e);
}

static void
test_group_check(void **state)
{
	struct nap_store_err err = {{0}};
	struct nap_group g;

	(void)state;
	grp_init(&g, "kiosks", 2, strv(2, "reception", "kiosk-??"));
	assert_int_equal(nap_group_check(&g, NULL), 0);
	nap_group_clear(&g);
	grp_init(&g, "empty", 0, NULL);
	assert_int_equal(nap_group_check(&g, NULL), 0);
	grp_init(&g, "a.b_c-D9", 0, NULL);
	assert_int_equal(nap_group_check(&g, NULL), 0);
	grp_init(&g, "bad:name", 0, NULL);
	assert_int_equal(nap_group_check(&g, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "group name"));
	grp_init(&g, "", 0, NULL);
	assert_int_equal(nap_group_check(&g, NULL), -EINVAL);
	grp_init(&g, "x", 0, NULL);
	memset(g.name, 'g', sizeof(g.name)); /* no NUL */
	assert_int_equal(nap_group_check(&g, NULL), -EINVAL);
	grp_init(&g, "kiosks", 2, strv(2, "PC1", "pc1"));
	assert_int_equal(nap_group_check(&g, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "twice"));
	nap_group_clear(&g);
	grp_init(&g, "kiosks", 1, strv(1, "has space"));
	assert_int_equal(nap_group_check(&g, NULL), -EINVAL);
	nap_group_clear(&g);
	grp_init(&g, "kiosks", NAP_GROUP_MAX_MEMBERS + 1, NULL);
	assert_int_equal(nap_group_check(&g, NULL), -EINVAL);
}

static void
state_init(struct nap_agent_state *s, const char *client, enum nap_agent_state_id id,
	   int64_t evaluated)
{
	memset(s, 0, sizeof(*s));
	snprintf(s->client, sizeof(s->client), "%s", client);
	s->state = id;
	s->compliant = id == NAP_AGENT_UNRESTRICTED;
	s->hsr_revision = 7;
	snprintf(s->hsr_digest, sizeof(s->hsr_digest), "%s",
		 "4f53cda18c2baa0c0354bb5f9a3ecbe5ed12ab4d8e11ba873c2f11161202b945");
	s->evaluated = evaluated;
	s->received = evaluated + 1;
}

static void
test_agent_state_check(void **state)
{
	struct nap_agent_state s;

	(void)state;
	state_init(&s, "pc1.example.org", NAP_AGENT_RESTRICTED, 1000);
	assert_int_equal(nap_agent_state_check(&s, NULL), 0);
	s.hsr_digest[0] = '\0'; /* no HSR evaluated yet */
	assert_int_equal(nap_agent_state_check(&s, NULL), 0);
	snprintf(s.hsr_digest, sizeof(s.hsr_digest), "%s", "ABCDEF");
	assert_int_equal(nap_agent_state_check(&s, NULL), -EINVAL);
	state_init(&s, "pc1", (enum nap_agent_state_id)4, 1000);
	assert_int_equal(nap_agent_state_check(&s, NULL), -EINVAL);
	state_init(&s, "pc 1", NAP_AGENT_DEFERRED, 1000);
	assert_int_equal(nap_agent_state_check(&s, NULL), -EINVAL);
	state_init(&s, "pc1", NAP_AGENT_DEFERRED, 1000);
	s.n_missing = NAP_AGENT_MAX_MISSING + 1;
	assert_int_equal(nap_agent_state_check(&s, NULL), -EINVAL);
	s.n_missing = 1;
	snprintf(s.missing[0], sizeof(s.missing[0]), "%s", "bad id");
	assert_int_equal(nap_agent_state_check(&s, NULL), -EINVAL);
	snprintf(s.missing[0], sizeof(s.missing[0]), "%s", "DSA-1");
	assert_int_equal(nap_agent_state_check(&s, NULL), 0);
	s.hsr_revision = (uint64_t)INT64_MAX + 1;
	assert_int_equal(nap_agent_state_check(&s, NULL), -EINVAL);
	s.hsr_revision = 1;
	s.detail = "\xff";
	assert_int_equal(nap_agent_state_check(&s, NULL), -EINVAL);
	s.detail = malloc(NAP_AGENT_DETAIL_MAX + 2);
	memset(s.detail, 'd', NAP_AGENT_DETAIL_MAX + 1);
	s.detail[NAP_AGENT_DETAIL_MAX + 1] = '\0';
	assert_int_equal(nap_agent_state_check(&s, NULL), -EINVAL);
	s.detail[NAP_AGENT_DETAIL_MAX] = '\0';
	assert_int_equal(nap_agent_state_check(&s, NULL), 0);
	nap_agent_state_clear(&s);
	assert_null(s.detail);
}

/* ---- policies ---- */

static void
test_policy_crud(void **state)
{
	struct fx *f = *state;
	struct nap_store_err err = {{0}};
	struct nap_policy p, got;
	struct nap_policy_list *l;
	uint64_t rev = 99;
	int64_t before = (int64_t)time(NULL);

	assert_int_equal(nap_store_policy_get(f->st, "DSA-1", &got, &err), -ENOENT);
	assert_int_equal(nap_store_policy_list(f->st, &l, NULL), 0);
	assert_int_equal(l->n, 0);
	nap_policy_list_free(l);

	pol_pkg(&p, "DSA-2", "curl", "7.88.1-10+deb12u5");
	put_ok(f, &p, false, 1);
	nap_policy_clear(&p);
	pol_init(&p, "DSA-1", "critical", 1795132800, "OpenSSL: several vulnerabilities");
	pol_req(&p, "openssl", "3.0.11-1~deb12u2", NAP_SCHEME_DPKG);
	put_ok(f, &p, false, 2);

	assert_int_equal(nap_store_policy_get(f->st, "DSA-1", &got, &err), 0);
	assert_string_equal(got.id, "DSA-1");
	assert_string_equal(got.severity, "critical");
	assert_int_equal(got.effective, 1795132800);
	assert_string_equal(got.reason, "OpenSSL: several vulnerabilities");
	assert_int_equal(got.n_reqs, 1);
	assert_string_equal(got.reqs[0].package, "openssl");
	assert_string_equal(got.reqs[0].min_version, "3.0.11-1~deb12u2");
	assert_int_equal(got.reqs[0].scheme, NAP_SCHEME_DPKG);
	assert_true(got.created >= before && got.created <= (int64_t)time(NULL));
	assert_int_equal(got.updated, got.created);
	nap_policy_clear(&got);

	/* Adding an existing id without replace: -EEXIST, nothing changes. */
	free(p.reason);
	p.reason = xstrdup("changed");
	assert_int_equal(nap_store_policy_put(f->st, &p, false, &rev, &err), -EEXIST);
	assert_non_null(strstr(err.msg, "DSA-1"));
	assert_int_equal(rev, 99);
	assert_int_equal(revision(f), 2);
	put_ok(f, &p, true, 3);
	assert_int_equal(nap_store_policy_get(f->st, "DSA-1", &got, NULL), 0);
	assert_string_equal(got.reason, "changed");
	nap_policy_clear(&got);
	nap_policy_clear(&p);

	assert_int_equal(nap_store_policy_list(f->st, &l, NULL), 0);
	assert_int_equal(l->n, 2);
	assert_string_equal(l->v[0].id, "DSA-1"); /* sorted by id */
	assert_string_equal(l->v[1].id, "DSA-2");
	assert_string_equal(l->v[1].reqs[0].package, "curl");
	assert_null(l->v[1].reason);
	nap_policy_list_free(l);

	assert_int_equal(nap_store_policy_remove(f->st, "DSA-1", &rev, NULL), 0);
	assert_int_equal(rev, 4);
	rev = 99;
	assert_int_equal(nap_store_policy_remove(f->st, "DSA-1", &rev, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "DSA-1"));
	assert_int_equal(rev, 99);
	assert_int_equal(nap_store_policy_remove(f->st, "not valid!", NULL, NULL), -ENOENT);
	assert_int_equal(nap_store_policy_get(f->st, "DSA-1", &got, NULL), -ENOENT);
	assert_int_equal(nap_store_policy_get(f->st, "x y", &got, NULL), -ENOENT);
	assert_int_equal(revision(f), 4);
	/* Its packages went with it. */
	assert_int_equal(raw_int(f, "SELECT count(*) FROM policy_reqs"), 1);
}

static void
test_policy_forms(void **state)
{
	struct fx *f = *state;
	struct nap_policy p, got;
	struct nap_policy_list *l;

	/* An advisory resolving to several packages, given out of order. */
	pol_init(&p, "RHSA-2026:0200", "important", 1795996800, NULL);
	pol_req(&p, "openssl-libs", "1:3.0.7-28.el9", NAP_SCHEME_RPM);
	pol_req(&p, "openssl", "1:3.0.7-28.el9", NAP_SCHEME_RPM);
	pol_req(&p, "openssl", "3.0.15-1~deb12u1", NAP_SCHEME_DPKG);
	put_ok(f, &p, false, 1);
	/* The same set in another order is no change. */
	{
		struct nap_policy_req t = p.reqs[0];

		p.reqs[0] = p.reqs[2];
		p.reqs[2] = t;
	}
	put_ok(f, &p, true, 1);
	nap_policy_clear(&p);
	pol_init(&p, "NAP-BASELINE-2026", "low", 0, "advisory-only policy – “quoted”");
	put_ok(f, &p, false, 2);
	nap_policy_clear(&p);

	assert_int_equal(nap_store_policy_get(f->st, "RHSA-2026:0200", &got, NULL), 0);
	assert_int_equal(got.n_reqs, 3);
	/* Returned in the HSR's canonical order: package, then scheme name. */
	assert_string_equal(got.reqs[0].package, "openssl");
	assert_int_equal(got.reqs[0].scheme, NAP_SCHEME_DPKG);
	assert_string_equal(got.reqs[0].min_version, "3.0.15-1~deb12u1");
	assert_string_equal(got.reqs[1].package, "openssl");
	assert_int_equal(got.reqs[1].scheme, NAP_SCHEME_RPM);
	assert_string_equal(got.reqs[2].package, "openssl-libs");
	assert_int_equal(got.reqs[2].scheme, NAP_SCHEME_RPM);
	assert_null(got.reason);
	nap_policy_clear(&got);
	assert_int_equal(nap_store_policy_get(f->st, "NAP-BASELINE-2026", &got, NULL), 0);
	assert_int_equal(got.n_reqs, 0);
	assert_null(got.reqs);
	assert_string_equal(got.reason, "advisory-only policy – “quoted”");
	assert_int_equal(got.effective, 0);
	nap_policy_clear(&got);

	assert_int_equal(nap_store_policy_list(f->st, &l, NULL), 0);
	assert_int_equal(l->n, 2);
	assert_string_equal(l->v[0].id, "NAP-BASELINE-2026");
	assert_int_equal(l->v[0].n_reqs, 0);
	assert_string_equal(l->v[1].id, "RHSA-2026:0200");
	assert_int_equal(l->v[1].n_reqs, 3);
	assert_string_equal(l->v[1].reqs[2].package, "openssl-libs");
	nap_policy_list_free(l);

	/* Going from several packages to one replaces the list. */
	pol_pkg(&p, "RHSA-2026:0200", "bash", "5.1.8-9.el9");
	p.reqs[0].scheme = NAP_SCHEME_RPM;
	snprintf(p.severity, sizeof(p.severity), "%s", "important");
	p.effective = 1795996800;
	put_ok(f, &p, true, 3);
	nap_policy_clear(&p);
	assert_int_equal(nap_store_policy_get(f->st, "RHSA-2026:0200", &got, NULL), 0);
	assert_int_equal(got.n_reqs, 1);
	assert_string_equal(got.reqs[0].package, "bash");
	nap_policy_clear(&got);
}

/* Byte order, the same on both backends whatever the database's locale. */
static void
test_sort_order(void **state)
{
	struct fx *f = *state;
	static const char *const ids[] = {"b", "B", "a", "_x", "A-1", "a.1", "Z", "1", "~"};
	static const char *const want[] = {"1", "A-1", "B", "Z", "_x", "a", "a.1", "b", "~"};
	struct nap_policy_list *l;
	struct nap_policy p;

	for (size_t i = 0; i < NAP_ARRAY_SIZE(ids); i++) {
		pol_init(&p, ids[i], "low", 0, NULL);
		put_ok(f, &p, false, i + 1);
		nap_policy_clear(&p);
	}
	assert_int_equal(nap_store_policy_list(f->st, &l, NULL), 0);
	assert_int_equal(l->n, NAP_ARRAY_SIZE(want));
	for (size_t i = 0; i < NAP_ARRAY_SIZE(want); i++)
		assert_string_equal(l->v[i].id, want[i]);
	nap_policy_list_free(l);
}

/* Every change bumps the revision once, in its transaction; nothing else moves it. */
static void
test_revision_rule(void **state)
{
	struct fx *f = *state;
	struct nap_store_err err = {{0}};
	struct nap_policy p;
	struct nap_exemption e;
	struct nap_group g;
	struct nap_publish_record rec = {.site = "S01", .revision = 1, .published = 5};
	struct nap_agent_cert cert = {
		.client = "pc1", .serial = "0a1b", .issued = 1, .not_after = 2};
	struct nap_agent_state s;
	uint8_t hash[32] = {1};
	char client[NAP_CLIENT_NAME_MAX + 1];
	uint64_t rev = 0;
	int64_t changed = -1, t0 = (int64_t)time(NULL);

	assert_int_equal(nap_store_revision(f->st, &rev, &changed, NULL), 0);
	assert_int_equal(rev, 0);
	assert_int_equal(changed, 0);

	pol_pkg(&p, "DSA-1", "openssl", "3.0.11");
	put_ok(f, &p, false, 1);
	assert_int_equal(nap_store_revision(f->st, &rev, &changed, NULL), 0);
	assert_int_equal(rev, 1);
	assert_true(changed >= t0 && changed <= (int64_t)time(NULL));
	put_ok(f, &p, true, 1); /* the same again: no change */
	p.effective = 1795132800;
	put_ok(f, &p, true, 2);
	/* Rejected writes change nothing. */
	snprintf(p.severity, sizeof(p.severity), "%s", "bogus");
	assert_int_equal(nap_store_policy_put(f->st, &p, true, NULL, &err), -EINVAL);
	assert_int_equal(nap_store_policy_put(f->st, &p, false, NULL, NULL), -EINVAL);
	nap_policy_clear(&p);
	pol_pkg(&p, "DSA-1", "openssl", "3.0.12");
	assert_int_equal(nap_store_policy_put(f->st, &p, false, NULL, NULL), -EEXIST);
	assert_int_equal(nap_store_policy_remove(f->st, "DSA-404", NULL, NULL), -ENOENT);
	assert_int_equal(revision(f), 2);
	nap_policy_clear(&p);

	exm_init(&e, "EX-1", "lab-*", NULL);
	assert_int_equal(nap_store_exemption_put(f->st, &e, false, &rev, NULL), 0);
	assert_int_equal(rev, 3);
	assert_int_equal(nap_store_exemption_put(f->st, &e, true, &rev, NULL), 0);
	assert_int_equal(rev, 3);
	assert_int_equal(nap_store_exemption_remove(f->st, "EX-404", NULL, NULL), -ENOENT);
	nap_exemption_clear(&e);
	grp_init(&g, "kiosks", 1, strv(1, "kiosk-01"));
	assert_int_equal(nap_store_group_put(f->st, &g, &rev, NULL), 0);
	assert_int_equal(rev, 4);
	assert_int_equal(nap_store_group_put(f->st, &g, &rev, NULL), 0);
	assert_int_equal(rev, 4);
	assert_int_equal(nap_store_group_remove(f->st, "nogroup", NULL, NULL), -ENOENT);
	nap_group_clear(&g);

	/* Publishing and the agents' tables are not part of the HSR. */
	assert_int_equal(nap_store_publish_record_put(f->st, &rec, NULL), 0);
	assert_int_equal(nap_store_token_add(f->st, "pc1", hash, t0 + 60, NULL), 0);
	assert_int_equal(nap_store_token_use(f->st, hash, t0, client, NULL), 0);
	assert_int_equal(nap_store_agent_cert_add(f->st, &cert, NULL), 0);
	assert_int_equal(nap_store_agent_revoke(f->st, "pc1", NULL), 0);
	state_init(&s, "pc1", NAP_AGENT_UNRESTRICTED, t0);
	assert_int_equal(nap_store_agent_state_put(f->st, &s, NULL), 0);
	assert_int_equal(revision(f), 4);

	assert_int_equal(nap_store_exemption_remove(f->st, "EX-1", &rev, NULL), 0);
	assert_int_equal(rev, 5);
	assert_int_equal(nap_store_group_remove(f->st, "kiosks", &rev, NULL), 0);
	assert_int_equal(rev, 6);
	assert_int_equal(nap_store_policy_remove(f->st, "DSA-1", &rev, NULL), 0);
	assert_int_equal(rev, 7);
	assert_int_equal(revision(f), 7);
}

/* ---- import ---- */

static struct nap_policy *
pol_array(size_t n, const char *prefix)
{
	struct nap_policy *v = calloc(n, sizeof(*v));

	assert_non_null(v);
	for (size_t i = 0; i < n; i++) {
		char id[32], pkg[32];

		snprintf(id, sizeof(id), "%s%05zu", prefix, i);
		snprintf(pkg, sizeof(pkg), "pkg%zu", i);
		pol_pkg(&v[i], id, pkg, "1.0-1");
	}
	return v;
}

static void
pol_array_free(struct nap_policy *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		nap_policy_clear(&v[i]);
	free(v);
}

static size_t
policy_count(struct fx *f)
{
	struct nap_policy_list *l;
	size_t n;

	assert_int_equal(nap_store_policy_list(f->st, &l, NULL), 0);
	n = l->n;
	nap_policy_list_free(l);
	return n;
}

static void
test_import_all_or_nothing(void **state)
{
	struct fx *f = *state;
	struct nap_store_err err = {{0}};
	struct nap_policy *v = pol_array(10, "P");
	uint64_t rev = 99;

	snprintf(v[5].severity, sizeof(v[5].severity), "%s", "bogus");
	assert_int_equal(nap_store_policy_import(f->st, v, 10, false, &rev, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "entry 6"));
	assert_non_null(strstr(err.msg, "P00005"));
	assert_int_equal(rev, 99);
	snprintf(v[5].severity, sizeof(v[5].severity), "%s", "low");
	snprintf(v[7].id, sizeof(v[7].id), "%s", "P00002");
	assert_int_equal(nap_store_policy_import(f->st, v, 10, false, &rev, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "entries 3 and 8"));
	assert_int_equal(policy_count(f), 0);
	assert_int_equal(revision(f), 0);
	snprintf(v[7].id, sizeof(v[7].id), "%s", "P00007");
	assert_int_equal(nap_store_policy_import(f->st, v, 10, false, &rev, &err), 0);
	assert_int_equal(rev, 1); /* ten policies, one revision */
	assert_int_equal(policy_count(f), 10);
	/* The same import again changes nothing. */
	assert_int_equal(nap_store_policy_import(f->st, v, 10, false, &rev, &err), 0);
	assert_int_equal(rev, 1);
	/* An empty import is no change either (and replace_all of nothing empties the store). */
	assert_int_equal(nap_store_policy_import(f->st, NULL, 0, false, &rev, &err), 0);
	assert_int_equal(rev, 1);
	assert_int_equal(nap_store_policy_import(f->st, NULL, 0, true, &rev, &err), 0);
	assert_int_equal(rev, 2);
	assert_int_equal(policy_count(f), 0);
	pol_array_free(v, 10);
}

static void
test_import_merge(void **state)
{
	struct fx *f = *state;
	struct nap_policy *a = pol_array(5, "A"), *b = pol_array(3, "B"), got;
	struct nap_policy_list *l;
	uint64_t rev;

	assert_int_equal(nap_store_policy_import(f->st, a, 5, false, &rev, NULL), 0);
	assert_int_equal(rev, 1);
	/* Merge: A00001 changes, B* are new, the other A* stay. */
	free(a[1].reqs[0].min_version);
	a[1].reqs[0].min_version = xstrdup("2.0-1");
	assert_int_equal(nap_store_policy_import(f->st, &a[1], 1, false, &rev, NULL), 0);
	assert_int_equal(rev, 2);
	assert_int_equal(nap_store_policy_import(f->st, b, 3, false, &rev, NULL), 0);
	assert_int_equal(rev, 3);
	assert_int_equal(policy_count(f), 8);
	assert_int_equal(nap_store_policy_get(f->st, "A00001", &got, NULL), 0);
	assert_string_equal(got.reqs[0].min_version, "2.0-1");
	nap_policy_clear(&got);
	/* replace_all: exactly the list afterwards. */
	assert_int_equal(nap_store_policy_import(f->st, &a[2], 2, true, &rev, NULL), 0);
	assert_int_equal(rev, 4);
	assert_int_equal(nap_store_policy_list(f->st, &l, NULL), 0);
	assert_int_equal(l->n, 2);
	assert_string_equal(l->v[0].id, "A00002");
	assert_string_equal(l->v[1].id, "A00003");
	assert_int_equal(l->v[0].n_reqs, 1);
	nap_policy_list_free(l);
	assert_int_equal(raw_int(f, "SELECT count(*) FROM policy_reqs"), 2);
	/* replace_all with the same list: no change. */
	assert_int_equal(nap_store_policy_import(f->st, &a[2], 2, true, &rev, NULL), 0);
	assert_int_equal(rev, 4);
	pol_array_free(a, 5);
	pol_array_free(b, 3);
}

/*
 * The database itself refusing a row in the middle of a bulk write (a constraint added behind
 * the store's back): the error comes back, nothing of the import stays, and the handle works on.
 * On PostgreSQL the failing row is in the second pipeline chunk, after one went through.
 */
static void
test_backend_failure_rolls_back(void **state)
{
	struct fx *f = *state;
	struct nap_store_err err = {{0}};
	struct nap_policy *v = pol_array(600, "P");
	uint64_t rev = 0;
	int r;

	if (uri_is_pg(f->uri))
		raw_exec(f, "ALTER TABLE policy_reqs ADD CONSTRAINT no_forbidden "
			    "CHECK (package <> 'forbidden')");
	else
		raw_exec(f,
			 "CREATE TRIGGER no_forbidden BEFORE INSERT ON policy_reqs "
			 "WHEN NEW.package = 'forbidden' BEGIN SELECT RAISE(ABORT, 'forbidden'); "
			 "END");
	free(v[400].reqs[0].package);
	v[400].reqs[0].package = xstrdup("forbidden");
	r = nap_store_policy_import(f->st, v, 600, false, &rev, &err);
	assert_int_equal(r, -EIO);
	assert_true(err.msg[0] != '\0');
	assert_int_equal(revision(f), 0);
	assert_int_equal(policy_count(f), 0);
	assert_int_equal(raw_int(f, "SELECT count(*) FROM policy_reqs"), 0);
	/* The same handle, the same statements: fine without the bad row. */
	free(v[400].reqs[0].package);
	v[400].reqs[0].package = xstrdup("allowed");
	r = nap_store_policy_import(f->st, v, 600, false, &rev, &err);
	if (r != 0)
		fail_msg("import after failure: %d %s", r, err.msg);
	assert_int_equal(rev, 1);
	assert_int_equal(policy_count(f), 600);
	pol_array_free(v, 600);
}

/* The store never holds more than one HSR carries. */
static void
test_import_limit(void **state)
{
	struct fx *f = *state;
	struct nap_store_err err = {{0}};
	struct nap_policy *v = pol_array(NAP_HSR_MAX_POLICIES + 1, "P"), extra;
	uint64_t rev = 0;

	assert_int_equal(
		nap_store_policy_import(f->st, v, NAP_HSR_MAX_POLICIES + 1, false, &rev, &err),
		-ENOSPC);
	assert_int_equal(
		nap_store_policy_import(f->st, v, NAP_HSR_MAX_POLICIES - 1, false, &rev, &err), 0);
	assert_int_equal(rev, 1);
	/* One more: 10,000. Two more (in one import): refused whole. */
	assert_int_equal(
		nap_store_policy_import(f->st, &v[NAP_HSR_MAX_POLICIES - 1], 2, false, &rev, &err),
		-ENOSPC);
	assert_non_null(strstr(err.msg, "10001"));
	assert_int_equal(revision(f), 1);
	put_ok(f, &v[NAP_HSR_MAX_POLICIES - 1], false, 2);
	pol_pkg(&extra, "ZZZ", "z", "1");
	assert_int_equal(nap_store_policy_put(f->st, &extra, false, NULL, &err), -ENOSPC);
	/* Replacing one at the limit is fine. */
	put_ok(f, &v[0], true, 2);
	free(v[0].reqs[0].min_version);
	v[0].reqs[0].min_version = xstrdup("9");
	put_ok(f, &v[0], true, 3);
	/* replace_all may swap the whole set at the limit. */
	assert_int_equal(
		nap_store_policy_import(f->st, &v[1], NAP_HSR_MAX_POLICIES, true, &rev, &err), 0);
	assert_int_equal(rev, 4);
	assert_int_equal(policy_count(f), NAP_HSR_MAX_POLICIES);
	nap_policy_clear(&extra);
	pol_array_free(v, NAP_HSR_MAX_POLICIES + 1);
}

/* ---- exemptions and groups ---- */

static void
test_exemptions(void **state)
{
	struct fx *f = *state;
	struct nap_store_err err = {{0}};
	struct nap_exemption e, got;
	struct nap_exemption_list *l;
	uint64_t rev;
	int64_t t0 = (int64_t)time(NULL);

	exm_init(&e, "EX-SRV-DB", "SRV-DB-0[1-3]", NULL);
	e.policies = strv(2, "RHSA-2026:0101", "DSA-5001-1");
	e.n_policies = 2;
	e.reason = xstrdup("database servers");
	assert_int_equal(nap_store_exemption_put(f->st, &e, false, &rev, NULL), 0);
	assert_int_equal(rev, 1);
	assert_int_equal(nap_store_exemption_put(f->st, &e, false, &rev, &err), -EEXIST);
	/* The same policies in another order: no change. */
	{
		char *t = e.policies[0];

		e.policies[0] = e.policies[1];
		e.policies[1] = t;
	}
	assert_int_equal(nap_store_exemption_put(f->st, &e, true, &rev, NULL), 0);
	assert_int_equal(rev, 1);
	nap_exemption_clear(&e);
	exm_init(&e, "EX-KIOSK", NULL, "kiosks");
	e.from = 1793491200;
	e.until = 1796083200;
	assert_int_equal(nap_store_exemption_put(f->st, &e, false, &rev, NULL), 0);
	assert_int_equal(rev, 2);
	nap_exemption_clear(&e);
	exm_init(&e, "EX-BAD", NULL, NULL);
	assert_int_equal(nap_store_exemption_put(f->st, &e, false, &rev, &err), -EINVAL);
	nap_exemption_clear(&e);

	assert_int_equal(nap_store_exemption_get(f->st, "EX-SRV-DB", &got, NULL), 0);
	assert_string_equal(got.client, "SRV-DB-0[1-3]");
	assert_null(got.group);
	assert_int_equal(got.n_policies, 2);
	assert_string_equal(got.policies[0], "DSA-5001-1"); /* sorted */
	assert_string_equal(got.policies[1], "RHSA-2026:0101");
	assert_int_equal(got.from, 0);
	assert_int_equal(got.until, 0);
	assert_string_equal(got.reason, "database servers");
	assert_true(got.created >= t0);
	nap_exemption_clear(&got);
	assert_int_equal(nap_store_exemption_get(f->st, "EX-404", &got, &err), -ENOENT);

	assert_int_equal(nap_store_exemption_list(f->st, &l, NULL), 0);
	assert_int_equal(l->n, 2);
	assert_string_equal(l->v[0].id, "EX-KIOSK");
	assert_null(l->v[0].client);
	assert_string_equal(l->v[0].group, "kiosks");
	assert_int_equal(l->v[0].n_policies, 0);
	assert_int_equal(l->v[0].from, 1793491200);
	assert_int_equal(l->v[0].until, 1796083200);
	assert_null(l->v[0].reason);
	assert_string_equal(l->v[1].id, "EX-SRV-DB");
	assert_int_equal(l->v[1].n_policies, 2);
	nap_exemption_list_free(l);

	/* Replace: from a group to a client, policies dropped (= all). */
	exm_init(&e, "EX-KIOSK", "kiosk-01", NULL);
	assert_int_equal(nap_store_exemption_put(f->st, &e, true, &rev, NULL), 0);
	assert_int_equal(rev, 3);
	nap_exemption_clear(&e);
	assert_int_equal(nap_store_exemption_get(f->st, "EX-KIOSK", &got, NULL), 0);
	assert_string_equal(got.client, "kiosk-01");
	assert_null(got.group);
	assert_int_equal(got.until, 0);
	nap_exemption_clear(&got);

	assert_int_equal(nap_store_exemption_remove(f->st, "EX-SRV-DB", &rev, NULL), 0);
	assert_int_equal(rev, 4);
	assert_int_equal(nap_store_exemption_remove(f->st, "EX-SRV-DB", &rev, &err), -ENOENT);
	assert_int_equal(raw_int(f, "SELECT count(*) FROM exemption_policies"), 0);
	assert_int_equal(nap_store_exemption_list(f->st, &l, NULL), 0);
	assert_int_equal(l->n, 1);
	nap_exemption_list_free(l);
}

static void
test_groups(void **state)
{
	struct fx *f = *state;
	struct nap_store_err err = {{0}};
	struct nap_group g, got;
	struct nap_group_list *l;
	uint64_t rev;
	char name[32];

	grp_init(&g, "kiosks", 3, strv(3, "reception", "kiosk-??", "Lobby"));
	assert_int_equal(nap_store_group_put(f->st, &g, &rev, NULL), 0);
	assert_int_equal(rev, 1);
	nap_group_clear(&g);
	grp_init(&g, "empty", 0, NULL);
	assert_int_equal(nap_store_group_put(f->st, &g, &rev, NULL), 0);
	assert_int_equal(rev, 2);
	grp_init(&g, "bad name", 0, NULL);
	assert_int_equal(nap_store_group_put(f->st, &g, &rev, &err), -EINVAL);

	assert_int_equal(nap_store_group_get(f->st, "kiosks", &got, NULL), 0);
	assert_string_equal(got.name, "kiosks");
	assert_int_equal(got.n_members, 3);
	assert_string_equal(got.members[0], "Lobby"); /* byte order */
	assert_string_equal(got.members[1], "kiosk-??");
	assert_string_equal(got.members[2], "reception");
	nap_group_clear(&got);
	assert_int_equal(nap_store_group_get(f->st, "empty", &got, NULL), 0);
	assert_int_equal(got.n_members, 0);
	nap_group_clear(&got);
	assert_int_equal(nap_store_group_get(f->st, "nogroup", &got, &err), -ENOENT);

	/* Exactly these members: one dropped, one added. */
	grp_init(&g, "kiosks", 3, strv(3, "reception", "kiosk-??", "hall"));
	assert_int_equal(nap_store_group_put(f->st, &g, &rev, NULL), 0);
	assert_int_equal(rev, 3);
	nap_group_clear(&g);
	assert_int_equal(nap_store_group_list(f->st, &l, NULL), 0);
	assert_int_equal(l->n, 2);
	assert_string_equal(l->v[0].name, "empty");
	assert_int_equal(l->v[0].n_members, 0);
	assert_string_equal(l->v[1].name, "kiosks");
	assert_int_equal(l->v[1].n_members, 3);
	assert_string_equal(l->v[1].members[0], "hall");
	assert_string_equal(l->v[1].members[1], "kiosk-??");
	assert_string_equal(l->v[1].members[2], "reception");
	nap_group_list_free(l);

	/* The largest group. */
	grp_init(&g, "all", NAP_GROUP_MAX_MEMBERS, calloc(NAP_GROUP_MAX_MEMBERS, sizeof(char *)));
	for (size_t i = 0; i < g.n_members; i++) {
		snprintf(name, sizeof(name), "pc-%05zu", NAP_GROUP_MAX_MEMBERS - i);
		g.members[i] = xstrdup(name);
	}
	assert_int_equal(nap_store_group_put(f->st, &g, &rev, NULL), 0);
	assert_int_equal(rev, 4);
	nap_group_clear(&g);
	assert_int_equal(nap_store_group_get(f->st, "all", &got, NULL), 0);
	assert_int_equal(got.n_members, NAP_GROUP_MAX_MEMBERS);
	assert_string_equal(got.members[0], "pc-00001");
	nap_group_clear(&got);
	assert_int_equal(nap_store_group_list(f->st, &l, NULL), 0);
	assert_int_equal(l->n, 3);
	assert_string_equal(l->v[0].name, "all");
	assert_int_equal(l->v[0].n_members, NAP_GROUP_MAX_MEMBERS);
	assert_int_equal(l->v[2].n_members, 3);
	nap_group_list_free(l);

	assert_int_equal(nap_store_group_remove(f->st, "all", &rev, NULL), 0);
	assert_int_equal(rev, 5);
	assert_int_equal(nap_store_group_remove(f->st, "all", &rev, &err), -ENOENT);
	assert_int_equal(raw_int(f, "SELECT count(*) FROM group_members"), 3);
}

/* ---- snapshot and the HSR document ---- */

static void
populate(struct fx *f)
{
	struct nap_policy p;
	struct nap_exemption e;
	struct nap_group g;

	pol_init(&p, "DSA-5001-1", "critical", 1795132800, "OpenSSL: several vulnerabilities");
	pol_req(&p, "openssl", "3.0.11-1~deb12u2", NAP_SCHEME_DPKG);
	assert_int_equal(nap_store_policy_put(f->st, &p, false, NULL, NULL), 0);
	nap_policy_clear(&p);
	pol_init(&p, "RHSA-2026:0101", "moderate", 1796083200, "bash: example advisory");
	pol_req(&p, "bash", "5.1.8-9.el9", NAP_SCHEME_RPM);
	assert_int_equal(nap_store_policy_put(f->st, &p, false, NULL, NULL), 0);
	nap_policy_clear(&p);
	pol_init(&p, "NAP-BASELINE-2026", "low", 0, "advisory-only policy without a package");
	assert_int_equal(nap_store_policy_put(f->st, &p, false, NULL, NULL), 0);
	nap_policy_clear(&p);
	pol_init(&p, "DSA-5100-1", "critical", 0, "an advisory fixing two packages");
	pol_req(&p, "openssl", "3.0.15-1~deb12u1", NAP_SCHEME_DPKG);
	pol_req(&p, "libssl3", "3.0.15-1~deb12u1", NAP_SCHEME_DPKG);
	assert_int_equal(nap_store_policy_put(f->st, &p, false, NULL, NULL), 0);
	nap_policy_clear(&p);
	exm_init(&e, "EX-LAB", "lab-*", NULL);
	e.reason = xstrdup("lab machines are never restricted");
	assert_int_equal(nap_store_exemption_put(f->st, &e, false, NULL, NULL), 0);
	nap_exemption_clear(&e);
	exm_init(&e, "EX-KIOSK-OPENSSL", NULL, "kiosks");
	e.policies = strv(1, "DSA-5001-1");
	e.n_policies = 1;
	e.from = 1793491200;
	e.until = 1796083200;
	assert_int_equal(nap_store_exemption_put(f->st, &e, false, NULL, NULL), 0);
	nap_exemption_clear(&e);
	grp_init(&g, "kiosks", 2, strv(2, "reception", "kiosk-??"));
	assert_int_equal(nap_store_group_put(f->st, &g, NULL, NULL), 0);
	nap_group_clear(&g);
	grp_init(&g, "empty", 0, NULL);
	assert_int_equal(nap_store_group_put(f->st, &g, NULL, NULL), 0);
}

static void
test_snapshot(void **state)
{
	struct fx *f = *state;
	struct nap_store_snapshot *s;

	assert_int_equal(nap_store_snapshot(f->st, &s, NULL), 0);
	assert_int_equal(s->revision, 0);
	assert_int_equal(s->policies->n, 0);
	assert_int_equal(s->exemptions->n, 0);
	assert_int_equal(s->groups->n, 0);
	nap_store_snapshot_free(s);
	populate(f);
	assert_int_equal(nap_store_snapshot(f->st, &s, NULL), 0);
	assert_int_equal(s->revision, 8);
	assert_true(s->changed > 0);
	assert_int_equal(s->policies->n, 4);
	assert_string_equal(s->policies->v[0].id, "DSA-5001-1");
	assert_string_equal(s->policies->v[1].id, "DSA-5100-1");
	assert_int_equal(s->policies->v[1].n_reqs, 2);
	assert_string_equal(s->policies->v[1].reqs[0].package, "libssl3");
	assert_int_equal(s->exemptions->n, 2);
	assert_string_equal(s->exemptions->v[0].id, "EX-KIOSK-OPENSSL");
	assert_int_equal(s->exemptions->v[0].n_policies, 1);
	assert_int_equal(s->groups->n, 2);
	assert_string_equal(s->groups->v[1].name, "kiosks");
	assert_int_equal(s->groups->v[1].n_members, 2);
	nap_store_snapshot_free(s);
	nap_store_snapshot_free(NULL);
}

static json_t *
doc_json(const struct nap_store_snapshot *s, const char *site, int64_t issued, char **text)
{
	struct nap_store_err err = {{0}};
	json_error_t jerr;
	json_t *doc;
	int r = nap_store_hsr_document(s, site, issued, text, &err);

	if (r != 0)
		fail_msg("hsr document: %d %s", r, err.msg);
	doc = json_loads(*text, JSON_REJECT_DUPLICATES, &jerr);
	assert_non_null(doc);
	return doc;
}

static void
test_hsr_document(void **state)
{
	struct fx *f = *state;
	struct nap_store_snapshot *s;
	json_t *doc, *pol, *ex, *gr;
	char *text;

	populate(f);
	assert_int_equal(nap_store_snapshot(f->st, &s, NULL), 0);
	doc = doc_json(s, "S01", 1795600800, &text);
	/* Compact, keys sorted: the canonical form's shape already. */
	assert_int_equal(strncmp(text, "{\"exemptions\":[{", 16), 0);
	assert_null(strchr(text, '\n'));
	assert_int_equal(json_integer_value(json_object_get(doc, "version")), 1);
	assert_string_equal(json_string_value(json_object_get(doc, "site")), "S01");
	assert_int_equal(json_integer_value(json_object_get(doc, "revision")), 8);
	assert_string_equal(json_string_value(json_object_get(doc, "issued")),
			    "2026-11-25T10:00:00Z");
	pol = json_object_get(doc, "policies");
	assert_int_equal(json_array_size(pol), 4);
	/* single package */
	assert_string_equal(json_string_value(json_object_get(json_array_get(pol, 0), "id")),
			    "DSA-5001-1");
	assert_string_equal(json_string_value(json_object_get(json_array_get(pol, 0), "package")),
			    "openssl");
	assert_null(json_object_get(json_array_get(pol, 0), "scheme")); /* dpkg: the default */
	assert_string_equal(json_string_value(json_object_get(json_array_get(pol, 0), "effective")),
			    "2026-11-20T00:00:00Z");
	/* several packages */
	assert_null(json_object_get(json_array_get(pol, 1), "package"));
	assert_int_equal(json_array_size(json_object_get(json_array_get(pol, 1), "requires")), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(pol, 1), "effective")),
			    "asap");
	/* advisory-only */
	assert_string_equal(json_string_value(json_object_get(json_array_get(pol, 2), "id")),
			    "NAP-BASELINE-2026");
	assert_null(json_object_get(json_array_get(pol, 2), "package"));
	assert_null(json_object_get(json_array_get(pol, 2), "requires"));
	assert_string_equal(json_string_value(json_object_get(json_array_get(pol, 3), "scheme")),
			    "rpm");
	ex = json_object_get(doc, "exemptions");
	assert_int_equal(json_array_size(ex), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(ex, 0), "group")),
			    "kiosks");
	assert_string_equal(json_string_value(json_object_get(json_array_get(ex, 0), "from")),
			    "2026-11-01T00:00:00Z");
	assert_string_equal(json_string_value(json_object_get(json_array_get(ex, 0), "until")),
			    "2026-12-01T00:00:00Z");
	assert_int_equal(json_array_size(json_object_get(json_array_get(ex, 0), "policies")), 1);
	assert_null(json_object_get(json_array_get(ex, 1), "policies")); /* all */
	assert_null(json_object_get(json_array_get(ex, 1), "from"));
	gr = json_object_get(doc, "groups");
	assert_int_equal(json_array_size(gr), 2);
	assert_int_equal(json_array_size(json_object_get(json_array_get(gr, 0), "members")), 0);
	json_decref(doc);
	free(text);

	/* Bad arguments. */
	assert_int_equal(nap_store_hsr_document(s, "S 01", 0, &text, NULL), -EINVAL);
	assert_null(text);
	assert_int_equal(nap_store_hsr_document(s, "S0123456789012345", 0, &text, NULL), -EINVAL);
	assert_int_equal(nap_store_hsr_document(s, "S01", -1, &text, NULL), -EINVAL);
	s->revision = 0;
	assert_int_equal(nap_store_hsr_document(s, "S01", 0, &text, NULL), -EINVAL);
	nap_store_snapshot_free(s);
}

/* The document is exactly what nap_hsr_sign takes and nap_hsr_set_parse accepts. */
static void
test_hsr_document_signs_and_parses(void **state)
{
	struct fx *f = *state;
	struct nap_store_snapshot *s;
	struct nap_keyring *kr;
	struct nap_hsr_set *set;
	struct nap_err err = {0};
	const struct nap_hsr *h;
	struct nap_policy p;
	char *text, *signed_text = NULL;
	int r;

	pol_init(&p, "DSA-5001-1", "critical", 1795132800, "OpenSSL: several vulnerabilities");
	pol_req(&p, "openssl", "3.0.11-1~deb12u2", NAP_SCHEME_DPKG);
	put_ok(f, &p, false, 1);
	nap_policy_clear(&p);
	pol_init(&p, "RHSA-2026:0101", "moderate", 0, NULL);
	pol_req(&p, "bash", "5.1.8-9.el9", NAP_SCHEME_RPM);
	put_ok(f, &p, false, 2);
	nap_policy_clear(&p);
	pol_init(&p, "NAP-BASELINE-2026", "low", 0, "advisory-only");
	put_ok(f, &p, false, 3);
	nap_policy_clear(&p);

	assert_int_equal(nap_store_snapshot(f->st, &s, NULL), 0);
	assert_int_equal(nap_store_hsr_document(s, "S01", 1795600800, &text, NULL), 0);
	r = nap_hsr_sign((const uint8_t *)text, strlen(text), V("TEST-ONLY-ed25519-private.pem"),
			 &signed_text, &err);
	if (r != 0)
		fail_msg("sign: %d %s", r, err.what);
	assert_int_equal(nap_keyring_new(&kr), 0);
	assert_int_equal(nap_keyring_add_file(kr, V("TEST-ONLY-ed25519-public.pem")), 0);
	r = nap_hsr_set_parse((const uint8_t *)signed_text, strlen(signed_text), kr, &set, &err);
	if (r != 0)
		fail_msg("parse: %d %s", r, err.what);
	h = nap_hsr_set_find(set, "S01");
	assert_non_null(h);
	assert_int_equal(h->revision, 3);
	assert_int_equal(h->issued, 1795600800);
	assert_int_equal(h->n_policies, 3);
	assert_string_equal(h->policies[0].id, "DSA-5001-1");
	assert_string_equal(h->policies[0].package, "openssl");
	assert_int_equal(h->policies[0].effective, 1795132800);
	assert_string_equal(h->policies[0].severity, "critical");
	assert_string_equal(h->policies[1].id, "NAP-BASELINE-2026");
	assert_null(h->policies[1].package);
	assert_string_equal(h->policies[2].id, "RHSA-2026:0101");
	assert_int_equal(h->policies[2].scheme, NAP_SCHEME_RPM);
	assert_int_equal(h->policies[2].effective, 0);
	assert_null(h->policies[2].reason);
	nap_hsr_set_free(set);
	nap_keyring_free(kr);
	free(signed_text);
	free(text);
	nap_store_snapshot_free(s);
}

static struct nap_keyring *
test_keyring(void)
{
	struct nap_keyring *kr;

	assert_int_equal(nap_keyring_new(&kr), 0);
	assert_int_equal(nap_keyring_add_file(kr, V("TEST-ONLY-ed25519-public.pem")), 0);
	return kr;
}

/* Snapshot -> document -> nap_hsr_sign -> nap_hsr_set_parse: 0, the parsed set in *set. */
static char *
sign_and_parse(struct fx *f, const struct nap_keyring *kr, struct nap_hsr_set **set,
	       char **unsigned_doc)
{
	struct nap_store_snapshot *s;
	struct nap_err err = {0};
	char *text, *signed_text = NULL;
	int r;

	assert_int_equal(nap_store_snapshot(f->st, &s, NULL), 0);
	assert_int_equal(nap_store_hsr_document(s, "S01", 1795600800, &text, NULL), 0);
	nap_store_snapshot_free(s);
	r = nap_hsr_sign((const uint8_t *)text, strlen(text), V("TEST-ONLY-ed25519-private.pem"),
			 &signed_text, &err);
	if (r != 0)
		fail_msg("sign: %d %s", r, err.what);
	r = nap_hsr_set_parse((const uint8_t *)signed_text, strlen(signed_text), kr, set, &err);
	if (r != 0)
		fail_msg("parse: %d %s", r, err.what);
	if (unsigned_doc != NULL)
		*unsigned_doc = text;
	else
		free(text);
	return signed_text;
}

/*
 * Everything the store holds survives the trip through the HSR: policies in all three forms,
 * exemptions by client and group with windows and policy lists, groups (one empty). The document
 * is already in canonical form: the signed one is it plus digest and signature.
 */
static void
test_hsr_document_full_round_trip(void **state)
{
	struct fx *f = *state;
	struct nap_keyring *kr = test_keyring();
	struct nap_store_snapshot *s;
	struct nap_hsr_set *set;
	const struct nap_hsr *h;
	struct nap_policy p;
	json_t *signed_json;
	char *text, *signed_text, *stripped;

	populate(f);
	pol_init(&p, "XDIST-1", "moderate", 0, NULL);
	pol_req(&p, "openssl", "1:3.0.7-28.el9", NAP_SCHEME_RPM);
	pol_req(&p, "openssl", "3.0.15-1~deb12u1", NAP_SCHEME_DPKG);
	assert_int_equal(nap_store_policy_put(f->st, &p, false, NULL, NULL), 0);
	nap_policy_clear(&p);

	assert_int_equal(nap_store_snapshot(f->st, &s, NULL), 0);
	signed_text = sign_and_parse(f, kr, &set, &text);
	assert_int_equal(set->n, 1);
	h = &set->v[0];
	assert_string_equal(h->site, "S01");
	assert_int_equal(h->revision, s->revision);
	assert_int_equal(h->issued, 1795600800);
	assert_true(h->key_id[0] != '\0');
	assert_int_equal(h->n_policies, s->policies->n);
	for (size_t i = 0; i < h->n_policies; i++) {
		const struct nap_policy *sp = &s->policies->v[i];
		const struct nap_hsr_policy *hp = &h->policies[i];

		assert_string_equal(hp->id, sp->id);
		assert_string_equal(hp->severity, sp->severity);
		assert_int_equal(hp->effective, sp->effective);
		if (sp->reason == NULL)
			assert_null(hp->reason);
		else
			assert_string_equal(hp->reason, sp->reason);
		assert_int_equal(hp->n_reqs, sp->n_reqs);
		for (size_t j = 0; j < hp->n_reqs; j++) {
			assert_string_equal(hp->reqs[j].package, sp->reqs[j].package);
			assert_string_equal(hp->reqs[j].min_version, sp->reqs[j].min_version);
			assert_int_equal(hp->reqs[j].scheme, sp->reqs[j].scheme);
		}
		/* One package: the single form; several or none: no package member. */
		if (sp->n_reqs == 1)
			assert_string_equal(hp->package, sp->reqs[0].package);
		else
			assert_null(hp->package);
	}
	assert_int_equal(h->n_exemptions, s->exemptions->n);
	for (size_t i = 0; i < h->n_exemptions; i++) {
		const struct nap_exemption *se = &s->exemptions->v[i];
		const struct nap_hsr_exemption *he = &h->exemptions[i];

		assert_string_equal(he->id, se->id);
		if (se->client != NULL)
			assert_string_equal(he->client, se->client);
		else
			assert_null(he->client);
		if (se->group != NULL)
			assert_string_equal(he->group, se->group);
		else
			assert_null(he->group);
		assert_int_equal(he->from, se->from);
		assert_int_equal(he->until, se->until);
		assert_int_equal(he->n_policies, se->n_policies);
		for (size_t j = 0; j < he->n_policies; j++)
			assert_string_equal(he->policies[j], se->policies[j]);
		if (se->reason == NULL)
			assert_null(he->reason);
		else
			assert_string_equal(he->reason, se->reason);
	}
	assert_int_equal(h->n_groups, s->groups->n);
	for (size_t i = 0; i < h->n_groups; i++) {
		assert_string_equal(h->groups[i].name, s->groups->v[i].name);
		assert_int_equal(h->groups[i].n_members, s->groups->v[i].n_members);
		for (size_t j = 0; j < h->groups[i].n_members; j++)
			assert_string_equal(h->groups[i].members[j], s->groups->v[i].members[j]);
	}
	nap_hsr_set_free(set);

	/* Canonical already: the signed document without digest and signature is ours. */
	signed_json = json_loads(signed_text, 0, NULL);
	assert_non_null(signed_json);
	json_object_del(signed_json, "digest");
	json_object_del(signed_json, "signature");
	stripped = json_dumps(signed_json, JSON_COMPACT | JSON_SORT_KEYS);
	assert_string_equal(stripped, text);
	free(stripped);
	json_decref(signed_json);
	free(signed_text);
	free(text);
	nap_store_snapshot_free(s);
	nap_keyring_free(kr);
}

/* Whatever passes the store's checks the HSR parser takes: every limit at its maximum. */
static void
test_hsr_document_edges(void **state)
{
	struct fx *f = *state;
	struct nap_keyring *kr = test_keyring();
	struct nap_hsr_set *set;
	const struct nap_hsr *h;
	struct nap_policy p;
	struct nap_exemption e;
	struct nap_group g;
	char id[NAP_POLICY_ID_MAX + 1], pkg[NAP_HSR_MAX_FIELD + 1], reason[NAP_HSR_MAX_REASON + 1];
	char client[NAP_CLIENT_NAME_MAX + 1], gname[NAP_GROUP_NAME_MAX + 1];
	size_t i;

	/* 63 characters using every allowed punctuation mark. */
	memset(id, 'a', NAP_POLICY_ID_MAX);
	memcpy(id, "A.b_c:d+e~f-9", 13);
	id[NAP_POLICY_ID_MAX] = '\0';
	/* 255 printable characters, quotes and backslashes included (JSON escapes them). */
	for (i = 0; i < NAP_HSR_MAX_FIELD; i++)
		pkg[i] = (char)(0x21 + i % 94);
	pkg[NAP_HSR_MAX_FIELD] = '\0';
	/* 1,024 bytes of UTF-8: 341 two-byte "é" and two ASCII. */
	for (i = 0; i + 2 <= NAP_HSR_MAX_REASON - 2; i += 2)
		memcpy(reason + i, "\xc3\xa9", 2);
	memcpy(reason + i, "ok", 2);
	reason[NAP_HSR_MAX_REASON] = '\0';
	assert_int_equal(strlen(reason), NAP_HSR_MAX_REASON);
	pol_init(&p, id, "critical", 253402300799LL, reason);
	for (i = 0; i < NAP_POLICY_MAX_REQS; i++) {
		char name[32];

		snprintf(name, sizeof(name), "p%03zu", i);
		pol_req(&p, i == 0 ? pkg : name, pkg, i % 2 ? NAP_SCHEME_RPM : NAP_SCHEME_DPKG);
	}
	put_ok(f, &p, false, 1);
	nap_policy_clear(&p);
	for (i = 0; i < NAP_CLIENT_NAME_MAX; i++)
		client[i] = (char)(0x21 + (i * 7) % 94);
	client[NAP_CLIENT_NAME_MAX] = '\0';
	memset(gname, 'g', NAP_GROUP_NAME_MAX);
	memcpy(gname, "G.r_o-up", 8);
	gname[NAP_GROUP_NAME_MAX] = '\0';
	exm_init(&e, id, client, NULL);
	e.reason = xstrdup(reason);
	e.from = 1;
	e.until = 253402300799LL;
	e.n_policies = NAP_EXEMPTION_MAX_POLICIES;
	e.policies = calloc(e.n_policies, sizeof(*e.policies));
	for (i = 0; i < e.n_policies; i++) {
		char pid[32];

		snprintf(pid, sizeof(pid), "P%03zu", i);
		e.policies[i] = xstrdup(i == 0 ? id : pid);
	}
	assert_int_equal(nap_store_exemption_put(f->st, &e, false, NULL, NULL), 0);
	nap_exemption_clear(&e);
	exm_init(&e, "EX-G", NULL, gname);
	assert_int_equal(nap_store_exemption_put(f->st, &e, false, NULL, NULL), 0);
	nap_exemption_clear(&e);
	grp_init(&g, gname, 3, strv(3, client, "\\*", "[!a-z]?"));
	assert_int_equal(nap_store_group_put(f->st, &g, NULL, NULL), 0);
	nap_group_clear(&g);

	free(sign_and_parse(f, kr, &set, NULL));
	h = &set->v[0];
	assert_int_equal(h->n_policies, 1);
	assert_string_equal(h->policies[0].id, id);
	assert_string_equal(h->policies[0].reason, reason);
	assert_int_equal(h->policies[0].n_reqs, NAP_POLICY_MAX_REQS);
	assert_int_equal(h->policies[0].effective, 253402300799LL);
	assert_int_equal(h->n_exemptions, 2);
	assert_string_equal(h->exemptions[0].client, client); /* "A.b_c..." sorts first */
	assert_int_equal(h->exemptions[0].n_policies, NAP_EXEMPTION_MAX_POLICIES);
	assert_int_equal(h->exemptions[0].from, 1);
	assert_string_equal(h->exemptions[1].group, gname);
	assert_int_equal(h->n_groups, 1);
	assert_string_equal(h->groups[0].name, gname);
	assert_int_equal(h->groups[0].n_members, 3);
	nap_hsr_set_free(set);
	nap_keyring_free(kr);
}

/*
 * The digest covers the policies only: an exemption or group change moves the revision and
 * keeps the digest (clients need not refresh); a policy change moves both.
 */
static void
test_hsr_digest_rule(void **state)
{
	struct fx *f = *state;
	struct nap_keyring *kr = test_keyring();
	struct nap_hsr_set *a, *b, *c;
	struct nap_exemption e;
	struct nap_policy p;

	populate(f);
	free(sign_and_parse(f, kr, &a, NULL));
	exm_init(&e, "EX-NEW", "new-pc", NULL);
	assert_int_equal(nap_store_exemption_put(f->st, &e, false, NULL, NULL), 0);
	nap_exemption_clear(&e);
	free(sign_and_parse(f, kr, &b, NULL));
	pol_pkg(&p, "DSA-9999-1", "zlib", "1:1.2.13");
	assert_int_equal(nap_store_policy_put(f->st, &p, false, NULL, NULL), 0);
	nap_policy_clear(&p);
	free(sign_and_parse(f, kr, &c, NULL));
	assert_int_equal(b->v[0].revision, a->v[0].revision + 1);
	assert_memory_equal(b->v[0].digest, a->v[0].digest, NAP_HSR_DIGEST_LEN);
	assert_int_equal(c->v[0].revision, b->v[0].revision + 1);
	assert_memory_not_equal(c->v[0].digest, b->v[0].digest, NAP_HSR_DIGEST_LEN);
	nap_hsr_set_free(a);
	nap_hsr_set_free(b);
	nap_hsr_set_free(c);
	nap_keyring_free(kr);
}

/* 10,000 policies with reasons do not fit in one HSR document: refused, not truncated. */
static void
test_hsr_document_too_large(void **state)
{
	struct nap_store_snapshot s = {.revision = 1};
	struct nap_policy_list l = {.n = NAP_HSR_MAX_POLICIES};
	char reason[401], *text = (char *)1;
	struct nap_store_err err = {{0}};

	(void)state;
	memset(reason, 'r', sizeof(reason) - 1);
	reason[sizeof(reason) - 1] = '\0';
	l.v = calloc(l.n, sizeof(*l.v));
	assert_non_null(l.v);
	for (size_t i = 0; i < l.n; i++) {
		snprintf(l.v[i].id, sizeof(l.v[i].id), "P%05zu", i);
		snprintf(l.v[i].severity, sizeof(l.v[i].severity), "%s", "low");
		l.v[i].reason = reason;
	}
	s.policies = &l;
	assert_int_equal(nap_store_hsr_document(&s, "S01", 0, &text, &err), -EMSGSIZE);
	assert_null(text);
	assert_non_null(strstr(err.msg, "limit"));
	l.n = NAP_HSR_MAX_POLICIES + 1;
	assert_int_equal(nap_store_hsr_document(&s, "S01", 0, &text, &err), -EMSGSIZE);
	free(l.v);
}

/* ---- publish records ---- */

static void
test_publish_records(void **state)
{
	struct fx *f = *state;
	struct nap_publish_record rec = {.site = "S01",
					 .revision = 4,
					 .published = 1795600800,
					 .target = "ldap://127.0.0.1:389 cn=S01,cn=System "
						   "Management,dc=napt,dc=test"};
	struct nap_publish_record got;
	struct nap_store_err err = {{0}};

	assert_int_equal(nap_store_publish_record_get(f->st, "S01", &got, &err), -ENOENT);
	assert_int_equal(nap_store_publish_record_put(f->st, &rec, NULL), 0);
	assert_int_equal(nap_store_publish_record_get(f->st, "S01", &got, NULL), 0);
	assert_string_equal(got.site, "S01");
	assert_int_equal(got.revision, 4);
	assert_int_equal(got.published, 1795600800);
	assert_string_equal(got.target, rec.target);
	rec.revision = 5;
	rec.published++;
	snprintf(rec.target, sizeof(rec.target), "%s", "ldaps://dc2/cn=S01,dc=örg");
	assert_int_equal(nap_store_publish_record_put(f->st, &rec, NULL), 0);
	assert_int_equal(nap_store_publish_record_get(f->st, "S01", &got, NULL), 0);
	assert_int_equal(got.revision, 5);
	assert_string_equal(got.target, "ldaps://dc2/cn=S01,dc=örg");
	snprintf(rec.site, sizeof(rec.site), "%s", "S02");
	assert_int_equal(nap_store_publish_record_put(f->st, &rec, NULL), 0);
	assert_int_equal(nap_store_publish_record_get(f->st, "S01", &got, NULL), 0);
	assert_int_equal(got.revision, 5);
	snprintf(rec.site, sizeof(rec.site), "%s", "S 3");
	assert_int_equal(nap_store_publish_record_put(f->st, &rec, &err), -EINVAL);
	snprintf(rec.site, sizeof(rec.site), "%s", "S03");
	snprintf(rec.target, sizeof(rec.target), "%s", "line\nbreak");
	assert_int_equal(nap_store_publish_record_put(f->st, &rec, &err), -EINVAL);
	assert_int_equal(nap_store_publish_record_get(f->st, "bad site", &got, NULL), -ENOENT);
}

/* ---- agents ---- */

static void
test_tokens(void **state)
{
	struct fx *f = *state;
	struct nap_store_err err = {{0}};
	uint8_t h1[32], h2[32], h3[32];
	char client[NAP_CLIENT_NAME_MAX + 1];
	int64_t now = 1795600800;

	memset(h1, 0x11, sizeof(h1));
	memset(h2, 0x22, sizeof(h2));
	memset(h3, 0x33, sizeof(h3));
	assert_int_equal(nap_store_token_add(f->st, "pc1.example.org", h1, now + 3600, NULL), 0);
	assert_int_equal(nap_store_token_add(f->st, "pc2", h2, now + 10, NULL), 0);
	assert_int_equal(nap_store_token_add(f->st, "pc3", h1, now + 10, &err), -EEXIST);
	assert_int_equal(nap_store_token_add(f->st, "bad name", h3, now + 10, &err), -EINVAL);
	assert_int_equal(nap_store_token_add(f->st, "pc3", h3, 0, &err), -EINVAL);

	/* One use only. */
	assert_int_equal(nap_store_token_use(f->st, h1, now, client, &err), 0);
	assert_string_equal(client, "pc1.example.org");
	assert_int_equal(nap_store_token_use(f->st, h1, now + 1, client, &err), -EALREADY);
	assert_string_equal(client, "");
	/* Expiry: valid until (not at) the expiry second. */
	assert_int_equal(nap_store_token_use(f->st, h2, now + 10, client, &err), -ESTALE);
	assert_non_null(strstr(err.msg, "expired"));
	assert_int_equal(nap_store_token_use(f->st, h2, now + 9, client, &err), 0);
	assert_string_equal(client, "pc2");
	assert_int_equal(nap_store_token_use(f->st, h3, now, client, &err), -ENOENT);
	/* Only the hash is stored. */
	assert_int_equal(raw_int(f, "SELECT count(*) FROM agent_tokens WHERE hash = "
				    "'11111111111111111111111111111111"
				    "11111111111111111111111111111111'"),
			 1);
}

struct token_race {
	const char *uri;
	const uint8_t *hash;
	int result;
};

static void *
token_race_thread(void *arg)
{
	struct token_race *t = arg;
	struct nap_store *st;
	char client[NAP_CLIENT_NAME_MAX + 1];

	if (nap_store_open(t->uri, &st, NULL) != 0) {
		t->result = -999;
		return NULL;
	}
	t->result = nap_store_token_use(st, t->hash, 1000, client, NULL);
	nap_store_close(st);
	return NULL;
}

/* Several connections presenting one token at once: exactly one enrolls. */
static void
test_token_race(void **state)
{
	struct fx *f = *state;
	uint8_t hash[32];
	struct token_race t[4];
	pthread_t th[4];
	int wins = 0;

	memset(hash, 0x44, sizeof(hash));
	assert_int_equal(nap_store_token_add(f->st, "pc1", hash, 2000, NULL), 0);
	for (int i = 0; i < 4; i++) {
		t[i] = (struct token_race){.uri = f->uri, .hash = hash};
		assert_int_equal(pthread_create(&th[i], NULL, token_race_thread, &t[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		if (t[i].result == 0)
			wins++;
		else
			assert_int_equal(t[i].result, -EALREADY);
	}
	assert_int_equal(wins, 1);
}

static void
test_certs(void **state)
{
	struct fx *f = *state;
	struct nap_store_err err = {{0}};
	struct nap_agent_cert c = {
		.client = "pc1", .serial = "7f3a", .issued = 100, .not_after = 200};
	struct nap_agent_cert got;

	assert_int_equal(nap_store_agent_cert_add(f->st, &c, NULL), 0);
	assert_int_equal(nap_store_agent_cert_add(f->st, &c, &err), -EEXIST);
	snprintf(c.serial, sizeof(c.serial), "%s", "7f3b");
	assert_int_equal(nap_store_agent_cert_add(f->st, &c, NULL), 0);
	snprintf(c.serial, sizeof(c.serial), "%s", "7F3C");
	assert_int_equal(nap_store_agent_cert_add(f->st, &c, &err), -EINVAL);
	snprintf(c.serial, sizeof(c.serial), "%s", "01");
	snprintf(c.client, sizeof(c.client), "%s", "pc2");
	assert_int_equal(nap_store_agent_cert_add(f->st, &c, NULL), 0);
	snprintf(c.client, sizeof(c.client), "%s", "p c");
	assert_int_equal(nap_store_agent_cert_add(f->st, &c, &err), -EINVAL);

	assert_int_equal(nap_store_agent_cert_get(f->st, "7f3a", &got, NULL), 0);
	assert_string_equal(got.client, "pc1");
	assert_string_equal(got.serial, "7f3a");
	assert_int_equal(got.issued, 100);
	assert_int_equal(got.not_after, 200);
	assert_false(got.revoked);
	assert_int_equal(nap_store_agent_cert_get(f->st, "ffff", &got, &err), -ENOENT);
	assert_int_equal(nap_store_agent_cert_get(f->st, "XYZ", &got, &err), -ENOENT);

	assert_int_equal(nap_store_agent_revoke(f->st, "pc1", NULL), 0);
	assert_int_equal(nap_store_agent_cert_get(f->st, "7f3a", &got, NULL), 0);
	assert_true(got.revoked);
	assert_int_equal(nap_store_agent_cert_get(f->st, "7f3b", &got, NULL), 0);
	assert_true(got.revoked);
	assert_int_equal(nap_store_agent_cert_get(f->st, "01", &got, NULL), 0);
	assert_false(got.revoked);
	assert_int_equal(nap_store_agent_revoke(f->st, "pc9", &err), -ENOENT);
	/* Revoking again is fine: the client has certificates. */
	assert_int_equal(nap_store_agent_revoke(f->st, "pc1", NULL), 0);
}

static void
test_agent_state(void **state)
{
	struct fx *f = *state;
	struct nap_store_err err = {{0}};
	struct nap_agent_state s, got, *hist;
	size_t n;

	assert_int_equal(nap_store_agent_state_get(f->st, "pc1", &got, &err), -ENOENT);
	assert_int_equal(nap_store_agent_history(f->st, "pc1", 10, &hist, &n, NULL), 0);
	assert_int_equal(n, 0);
	assert_null(hist);
	assert_int_equal(nap_store_agent_state_list(f->st, &hist, &n, NULL), 0);
	assert_int_equal(n, 0);
	assert_null(hist);

	state_init(&s, "pc1", NAP_AGENT_RESTRICTED, 1000);
	s.n_missing = 2;
	snprintf(s.missing[0], sizeof(s.missing[0]), "%s", "DSA-5001-1");
	snprintf(s.missing[1], sizeof(s.missing[1]), "%s", "RHSA-2026:0101");
	s.detail = "{\"packages\":{\"openssl\":\"3.0.9\"}}";
	assert_int_equal(nap_store_agent_state_put(f->st, &s, NULL), 0);
	state_init(&s, "pc1", NAP_AGENT_DEFERRED, 2000);
	s.n_missing = 1;
	snprintf(s.missing[0], sizeof(s.missing[0]), "%s", "DSA-5001-1");
	assert_int_equal(nap_store_agent_state_put(f->st, &s, NULL), 0);
	state_init(&s, "pc1", NAP_AGENT_UNRESTRICTED, 1500); /* agent clock went back */
	s.hsr_digest[0] = '\0';
	assert_int_equal(nap_store_agent_state_put(f->st, &s, NULL), 0);
	state_init(&s, "pc2", NAP_AGENT_DEFERRED, 5000);
	assert_int_equal(nap_store_agent_state_put(f->st, &s, NULL), 0);
	state_init(&s, "pc2", (enum nap_agent_state_id)0, 5000);
	assert_int_equal(nap_store_agent_state_put(f->st, &s, &err), -EINVAL);

	/* The current state is the last stored, whatever the agent's clock said. */
	assert_int_equal(nap_store_agent_state_get(f->st, "pc1", &got, NULL), 0);
	assert_string_equal(got.client, "pc1");
	assert_int_equal(got.state, NAP_AGENT_UNRESTRICTED);
	assert_true(got.compliant);
	assert_int_equal(got.hsr_revision, 7);
	assert_string_equal(got.hsr_digest, "");
	assert_int_equal(got.evaluated, 1500);
	assert_int_equal(got.received, 1501);
	assert_int_equal(got.n_missing, 0);
	assert_null(got.detail);
	nap_agent_state_clear(&got);

	assert_int_equal(nap_store_agent_history(f->st, "pc1", 10, &hist, &n, NULL), 0);
	assert_int_equal(n, 3);
	assert_int_equal(hist[0].evaluated, 1500); /* newest first */
	assert_int_equal(hist[1].evaluated, 2000);
	assert_int_equal(hist[1].state, NAP_AGENT_DEFERRED);
	assert_int_equal(hist[1].n_missing, 1);
	assert_int_equal(hist[2].evaluated, 1000);
	assert_int_equal(hist[2].state, NAP_AGENT_RESTRICTED);
	assert_false(hist[2].compliant);
	assert_int_equal(hist[2].n_missing, 2);
	assert_string_equal(hist[2].missing[0], "DSA-5001-1");
	assert_string_equal(hist[2].missing[1], "RHSA-2026:0101");
	assert_string_equal(hist[2].detail, "{\"packages\":{\"openssl\":\"3.0.9\"}}");
	assert_string_equal(hist[2].hsr_digest,
			    "4f53cda18c2baa0c0354bb5f9a3ecbe5ed12ab4d8e11ba873c2f11161202b945");
	for (size_t i = 0; i < n; i++)
		nap_agent_state_clear(&hist[i]);
	free(hist);
	assert_int_equal(nap_store_agent_history(f->st, "pc1", 2, &hist, &n, NULL), 0);
	assert_int_equal(n, 2);
	assert_int_equal(hist[1].evaluated, 2000);
	for (size_t i = 0; i < n; i++)
		nap_agent_state_clear(&hist[i]);
	free(hist);
	assert_int_equal(nap_store_agent_history(f->st, "pc2", 0, &hist, &n, NULL), 0);
	assert_int_equal(n, 0);
	assert_int_equal(nap_store_agent_history(f->st, "pc2", 5, &hist, &n, NULL), 0);
	assert_int_equal(n, 1);
	nap_agent_state_clear(&hist[0]);
	free(hist);

	/* Every client's current state, by name. */
	state_init(&s, "PC0", NAP_AGENT_DEFERRED, 7000);
	assert_int_equal(nap_store_agent_state_put(f->st, &s, NULL), 0);
	assert_int_equal(nap_store_agent_state_list(f->st, &hist, &n, NULL), 0);
	assert_int_equal(n, 3);
	assert_string_equal(hist[0].client, "PC0");
	assert_string_equal(hist[1].client, "pc1");
	assert_int_equal(hist[1].evaluated, 1500);
	assert_string_equal(hist[2].client, "pc2");
	assert_int_equal(hist[2].state, NAP_AGENT_DEFERRED);
	for (size_t i = 0; i < n; i++)
		nap_agent_state_clear(&hist[i]);
	free(hist);
}

/* The history keeps the newest NAP_AGENT_HISTORY_MAX entries per client. */
static void
test_agent_history_bound(void **state)
{
	struct fx *f = *state;
	struct nap_agent_state s, *hist;
	size_t n;

	raw_exec(f, "DELETE FROM agent_state_history");
	/* Fill behind the store's back (one transaction), then let one put prune. */
	if (uri_is_pg(f->uri))
		raw_exec(f, "INSERT INTO agent_state_history (client, state, compliant, "
			    "hsr_revision, hsr_digest, evaluated, received, missing) "
			    "SELECT 'pc1', 1, 1, 1, '', g, g, '' FROM generate_series(1, 1004) g");
	else
		raw_exec(f, "WITH RECURSIVE g(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM g "
			    "WHERE x < 1004) INSERT INTO agent_state_history (client, state, "
			    "compliant, hsr_revision, hsr_digest, evaluated, received, missing) "
			    "SELECT 'pc1', 1, 1, 1, '', x, x, '' FROM g");
	state_init(&s, "pc2", NAP_AGENT_DEFERRED, 1);
	assert_int_equal(nap_store_agent_state_put(f->st, &s, NULL), 0);
	assert_int_equal(raw_int(f, "SELECT count(*) FROM agent_state_history WHERE "
				    "client = 'pc1'"),
			 1004); /* another client's history is left alone */
	state_init(&s, "pc1", NAP_AGENT_DEFERRED, 5000);
	assert_int_equal(nap_store_agent_state_put(f->st, &s, NULL), 0);
	assert_int_equal(raw_int(f, "SELECT count(*) FROM agent_state_history WHERE "
				    "client = 'pc1'"),
			 NAP_AGENT_HISTORY_MAX);
	assert_int_equal(raw_int(f, "SELECT min(evaluated) FROM agent_state_history WHERE "
				    "client = 'pc1'"),
			 1004 - NAP_AGENT_HISTORY_MAX + 2);
	assert_int_equal(nap_store_agent_history(f->st, "pc1", 100000, &hist, &n, NULL), 0);
	assert_int_equal(n, NAP_AGENT_HISTORY_MAX);
	assert_int_equal(hist[0].evaluated, 5000);
	assert_int_equal(hist[1].evaluated, 1004);
	for (size_t i = 0; i < n; i++)
		nap_agent_state_clear(&hist[i]);
	free(hist);
}

/* ---- durability and concurrency ---- */

static void
test_reopen_keeps_data(void **state)
{
	struct fx *f = *state;
	struct nap_policy p, got;
	struct nap_exemption e;
	struct nap_group g;
	struct nap_store_snapshot *s;
	uint8_t hash[32] = {9};
	char client[NAP_CLIENT_NAME_MAX + 1];

	pol_pkg(&p, "DSA-1", "openssl", "3");
	put_ok(f, &p, false, 1);
	nap_policy_clear(&p);
	exm_init(&e, "EX-1", "pc-*", NULL);
	assert_int_equal(nap_store_exemption_put(f->st, &e, false, NULL, NULL), 0);
	nap_exemption_clear(&e);
	grp_init(&g, "g1", 1, strv(1, "pc1"));
	assert_int_equal(nap_store_group_put(f->st, &g, NULL, NULL), 0);
	nap_group_clear(&g);
	assert_int_equal(nap_store_token_add(f->st, "pc1", hash, 5000, NULL), 0);

	store_reopen(f);
	assert_int_equal(revision(f), 3);
	assert_int_equal(nap_store_policy_get(f->st, "DSA-1", &got, NULL), 0);
	assert_string_equal(got.reqs[0].package, "openssl");
	nap_policy_clear(&got);
	assert_int_equal(nap_store_snapshot(f->st, &s, NULL), 0);
	assert_int_equal(s->exemptions->n, 1);
	assert_int_equal(s->groups->n, 1);
	nap_store_snapshot_free(s);
	assert_int_equal(nap_store_token_use(f->st, hash, 100, client, NULL), 0);
	store_reopen(f);
	assert_int_equal(nap_store_token_use(f->st, hash, 100, client, NULL), -EALREADY);
}

#define WRITERS     3
#define WRITER_PUTS 15

struct writer {
	const char *uri;
	int id;
	int failures;
	uint64_t last;
};

static void *
writer_thread(void *arg)
{
	struct writer *w = arg;
	struct nap_store *st;
	struct nap_store_err err;

	if (nap_store_open(w->uri, &st, &err) != 0) {
		w->failures = WRITER_PUTS;
		return NULL;
	}
	for (int i = 0; i < WRITER_PUTS; i++) {
		struct nap_policy p = {.severity = "low"};

		snprintf(p.id, sizeof(p.id), "W%d-%02d", w->id, i);
		if (nap_store_policy_put(st, &p, false, &w->last, &err) != 0)
			w->failures++;
	}
	nap_store_close(st);
	return NULL;
}

/* Writers on separate connections: every change gets its own revision, none is lost. */
static void
test_concurrent_writers(void **state)
{
	struct fx *f = *state;
	struct writer w[WRITERS];
	pthread_t th[WRITERS];

	for (int i = 0; i < WRITERS; i++) {
		w[i] = (struct writer){.uri = f->uri, .id = i};
		assert_int_equal(pthread_create(&th[i], NULL, writer_thread, &w[i]), 0);
	}
	for (int i = 0; i < WRITERS; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(w[i].failures, 0);
		assert_true(w[i].last >= WRITER_PUTS && w[i].last <= WRITERS * WRITER_PUTS);
	}
	assert_int_equal(revision(f), WRITERS * WRITER_PUTS);
	assert_int_equal(policy_count(f), WRITERS * WRITER_PUTS);
}

struct shared_handle {
	struct nap_store *st;
	int id;
	int failures;
};

static void *
shared_thread(void *arg)
{
	struct shared_handle *s = arg;

	for (int i = 0; i < WRITER_PUTS; i++) {
		struct nap_policy p = {.severity = "low"};
		struct nap_policy_list *l;

		snprintf(p.id, sizeof(p.id), "S%d-%02d", s->id, i);
		if (nap_store_policy_put(s->st, &p, false, NULL, NULL) != 0)
			s->failures++;
		if (nap_store_policy_list(s->st, &l, NULL) != 0)
			s->failures++;
		nap_policy_list_free(l);
	}
	return NULL;
}

/* One handle used from several threads at once (napsited's agent endpoint does). */
static void
test_shared_handle(void **state)
{
	struct fx *f = *state;
	struct shared_handle s[WRITERS];
	pthread_t th[WRITERS];

	for (int i = 0; i < WRITERS; i++) {
		s[i] = (struct shared_handle){.st = f->st, .id = i};
		assert_int_equal(pthread_create(&th[i], NULL, shared_thread, &s[i]), 0);
	}
	for (int i = 0; i < WRITERS; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(s[i].failures, 0);
	}
	assert_int_equal(revision(f), WRITERS * WRITER_PUTS);
}

/* The test database's URI as "pg:" key=value pairs, user replaced when user != NULL. */
static void
pg_keywords(const char *uri, const char *user, char *kw, size_t cap)
{
	PQconninfoOption *opts, *o;
	char *msg = NULL;

	snprintf(kw, cap, "pg:");
	opts = PQconninfoParse(strncmp(uri, "pg:", 3) == 0 ? uri + 3 : uri, &msg);
	assert_non_null(opts);
	for (o = opts; o->keyword != NULL; o++) {
		const char *v = user != NULL && strcmp(o->keyword, "user") == 0 ? user : o->val;

		if (v != NULL && v[0] != '\0' && strlen(kw) + strlen(v) + 32 < cap)
			snprintf(kw + strlen(kw), cap - strlen(kw), "%s%s=%s",
				 kw[3] != '\0' ? " " : "", o->keyword, v);
	}
	PQconninfoFree(opts);
}

/* "pg:" with libpq key=value pairs reaches the same database as the URI. */
static void
test_pg_keyword_form(void **state)
{
	struct fx *f = *state;
	struct nap_store_err err = {{0}};
	struct nap_store *st;
	struct nap_policy p;
	char kw[1024];
	uint64_t rev = 0;

	if (!uri_is_pg(f->uri))
		skip();
	pg_keywords(f->uri, NULL, kw, sizeof(kw));
	pol_pkg(&p, "DSA-1", "openssl", "3");
	put_ok(f, &p, false, 1);
	nap_policy_clear(&p);
	if (nap_store_open(kw, &st, &err) != 0)
		fail_msg("open %s: %s", kw, err.msg);
	assert_string_equal(nap_store_backend(st), "postgresql");
	assert_int_equal(nap_store_revision(st, &rev, NULL, NULL), 0);
	assert_int_equal(rev, 1);
	nap_store_close(st);
}

/*
 * napsited may run as a role that can read and write the tables but not create any: once the
 * schema is current, opening does not try to.
 */
static void
test_pg_role_without_create(void **state)
{
	struct fx *f = *state;
	struct nap_store_err err = {{0}};
	struct nap_store *st;
	struct nap_policy p;
	char kw[1024];
	uint64_t rev = 0;

	if (!uri_is_pg(f->uri))
		skip();
	raw_exec(f, "DO $$ BEGIN IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'nap_dml') "
		    "THEN EXECUTE 'DROP OWNED BY nap_dml'; DROP ROLE nap_dml; END IF; END $$");
	raw_exec(f,
		 "CREATE ROLE nap_dml LOGIN; REVOKE CREATE ON SCHEMA public FROM PUBLIC; "
		 "GRANT USAGE ON SCHEMA public TO nap_dml; "
		 "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO nap_dml; "
		 "GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO nap_dml");
	pg_keywords(f->uri, "nap_dml", kw, sizeof(kw));
	if (nap_store_open(kw, &st, &err) != 0)
		fail_msg("open as nap_dml: %s", err.msg);
	pol_pkg(&p, "DSA-1", "openssl", "3");
	assert_int_equal(nap_store_policy_put(st, &p, false, &rev, &err), 0);
	assert_int_equal(rev, 1);
	nap_policy_clear(&p);
	nap_store_close(st);
	raw_exec(f, "DROP OWNED BY nap_dml; DROP ROLE nap_dml");
}

/* PostgreSQL restarted under an open handle: the next transaction reconnects. */
static void
test_pg_reconnect(void **state)
{
	struct fx *f = *state;
	const char *cmd = getenv("NAP_TEST_STORE_RESTART");
	struct nap_store_err err = {{0}};
	struct nap_policy p;
	int r;

	if (cmd == NULL || cmd[0] == '\0' || !uri_is_pg(f->uri))
		skip();
	pol_pkg(&p, "DSA-1", "openssl", "3");
	put_ok(f, &p, false, 1);
	nap_policy_clear(&p);
	assert_int_equal(system(cmd), 0);
	pol_pkg(&p, "DSA-2", "curl", "8");
	r = nap_store_policy_put(f->st, &p, false, NULL, &err);
	if (r != 0)
		fail_msg("put after restart: %d %s", r, err.msg);
	nap_policy_clear(&p);
	assert_int_equal(revision(f), 2);
	assert_int_equal(policy_count(f), 2);
}

/* ---- checks ---- */

static void
chk_init(struct nap_check *c, const char *id, enum nap_check_type type)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->id, sizeof(c->id), "%s", id);
	c->type = type;
	snprintf(c->severity, sizeof(c->severity), "important");
}

static void
chk_argv(struct nap_check *c, const char *a0, const char *a1)
{
	c->argv = calloc(2, sizeof(*c->argv));
	assert_non_null(c->argv);
	c->argv[c->n_argv++] = xstrdup(a0);
	if (a1 != NULL)
		c->argv[c->n_argv++] = xstrdup(a1);
}

static void
chk_add_ok(struct fx *f, const struct nap_check *c, bool replace, uint64_t want_rev)
{
	struct nap_store_err err = {{0}};
	uint64_t rev = 0;
	int r = nap_store_check_add(f->st, c, replace, &rev, &err);

	if (r != 0)
		fail_msg("check add %s: %d %s", c->id, r, err.msg);
	assert_int_equal(rev, want_rev);
}

static void
test_check_validate(void **state)
{
	struct nap_store_err err = {{0}};
	struct nap_check c;

	(void)state;
	chk_init(&c, "CHK-FW", NAP_CHECK_TYPE_FIREWALL);
	assert_int_equal(nap_check_validate(&c, &err), 0);
	c.max_age = 5;
	assert_int_equal(nap_check_validate(&c, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "only antivirus"));
	c.max_age = 0;
	c.type = NAP_CHECK_TYPE_ANTIVIRUS;
	assert_int_equal(nap_check_validate(&c, &err), -EINVAL);
	c.max_age = 86400;
	assert_int_equal(nap_check_validate(&c, &err), 0);
	c.type = NAP_CHECK_TYPE_COUNT;
	c.max_age = 0;
	assert_int_equal(nap_check_validate(&c, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "unknown type"));

	chk_init(&c, "CHK-FILE", NAP_CHECK_TYPE_FILE);
	assert_int_equal(nap_check_validate(&c, &err), -EINVAL);
	c.path = xstrdup("etc/passwd");
	assert_int_equal(nap_check_validate(&c, &err), -EINVAL);
	free(c.path);
	c.path = xstrdup("/etc/../passwd");
	assert_int_equal(nap_check_validate(&c, &err), -EINVAL);
	free(c.path);
	c.path = xstrdup("/etc/passwd");
	assert_int_equal(nap_check_validate(&c, &err), 0);
	c.sha256 = xstrdup("ABC");
	assert_int_equal(nap_check_validate(&c, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "sha256"));
	nap_check_clear(&c);

	chk_init(&c, "CHK-SVC", NAP_CHECK_TYPE_SERVICE);
	c.unit = xstrdup("ssh");
	assert_int_equal(nap_check_validate(&c, &err), -EINVAL);
	free(c.unit);
	c.unit = xstrdup("ssh.service");
	assert_int_equal(nap_check_validate(&c, &err), 0);
	c.expect_exit = 1;
	assert_int_equal(nap_check_validate(&c, &err), -EINVAL);
	nap_check_clear(&c);

	chk_init(&c, "CHK-CMD", NAP_CHECK_TYPE_COMMAND);
	assert_int_equal(nap_check_validate(&c, &err), -EINVAL);
	chk_argv(&c, "true", NULL);
	assert_int_equal(nap_check_validate(&c, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "absolute path"));
	free(c.argv[0]);
	c.argv[0] = xstrdup("/bin/true");
	assert_int_equal(nap_check_validate(&c, &err), 0);
	c.expect_exit = 256;
	assert_int_equal(nap_check_validate(&c, &err), -EINVAL);
	c.expect_exit = 3;
	snprintf(c.severity, sizeof(c.severity), "urgent");
	assert_int_equal(nap_check_validate(&c, &err), -EINVAL);
	snprintf(c.severity, sizeof(c.severity), "low");
	c.reason = xstrdup("line\nbreak");
	assert_int_equal(nap_check_validate(&c, &err), -EINVAL);
	nap_check_clear(&c);
	chk_init(&c, "bad id", NAP_CHECK_TYPE_REBOOT);
	assert_int_equal(nap_check_validate(&c, &err), -EINVAL);
}

static void
test_check_crud(void **state)
{
	struct fx *f = *state;
	struct nap_store_err err = {{0}};
	struct nap_check c, got;
	struct nap_check_list *l;
	struct nap_policy p;
	uint64_t rev;

	chk_init(&c, "CHK-AIDE", NAP_CHECK_TYPE_COMMAND);
	chk_argv(&c, "/usr/bin/aide", "--check");
	c.expect_exit = 0;
	c.reason = xstrdup("file integrity");
	c.effective = 1795132800;
	chk_add_ok(f, &c, false, 1);
	/* The same again: no change; without replace: exists. */
	chk_add_ok(f, &c, true, 1);
	assert_int_equal(nap_store_check_add(f->st, &c, false, &rev, &err), -EEXIST);
	assert_int_equal(nap_store_check_get(f->st, "CHK-AIDE", &got, NULL), 0);
	assert_int_equal(got.type, NAP_CHECK_TYPE_COMMAND);
	assert_int_equal(got.n_argv, 2);
	assert_string_equal(got.argv[0], "/usr/bin/aide");
	assert_string_equal(got.argv[1], "--check");
	assert_string_equal(got.reason, "file integrity");
	assert_int_equal(got.effective, 1795132800);
	assert_true(got.created > 0);
	nap_check_clear(&got);
	/* A change bumps the revision. */
	c.expect_exit = 2;
	chk_add_ok(f, &c, true, 2);
	assert_int_equal(nap_store_check_get(f->st, "CHK-AIDE", &got, NULL), 0);
	assert_int_equal(got.expect_exit, 2);
	nap_check_clear(&got);
	nap_check_clear(&c);

	chk_init(&c, "CHK-AV", NAP_CHECK_TYPE_ANTIVIRUS);
	c.max_age = 604800;
	chk_add_ok(f, &c, false, 3);
	nap_check_clear(&c);
	chk_init(&c, "CHK-CONF", NAP_CHECK_TYPE_FILE);
	c.path = xstrdup("/etc/nap/napagentd.conf");
	c.sha256 = xstrdup("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08");
	chk_add_ok(f, &c, false, 4);
	nap_check_clear(&c);
	assert_int_equal(nap_store_check_list(f->st, &l, NULL), 0);
	assert_int_equal(l->n, 3);
	assert_string_equal(l->v[0].id, "CHK-AIDE");
	assert_string_equal(l->v[1].id, "CHK-AV");
	assert_int_equal(l->v[1].max_age, 604800);
	assert_null(l->v[1].path);
	assert_int_equal(l->v[1].n_argv, 0);
	assert_string_equal(l->v[2].sha256,
			    "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08");
	nap_check_list_free(l);

	/* Policies and checks share ids, both ways, imports too. */
	pol_init(&p, "CHK-AV", "low", 0, NULL);
	assert_int_equal(nap_store_policy_put(f->st, &p, true, &rev, &err), -EEXIST);
	assert_non_null(strstr(err.msg, "a check has the id CHK-AV"));
	assert_int_equal(nap_store_policy_import(f->st, &p, 1, false, &rev, &err), -EEXIST);
	nap_policy_clear(&p);
	pol_init(&p, "DSA-1", "low", 0, NULL);
	put_ok(f, &p, false, 5);
	nap_policy_clear(&p);
	chk_init(&c, "DSA-1", NAP_CHECK_TYPE_REBOOT);
	assert_int_equal(nap_store_check_add(f->st, &c, true, &rev, &err), -EEXIST);
	assert_non_null(strstr(err.msg, "a policy has the id DSA-1"));
	/* Invalid input never reaches the database. */
	c.max_age = 1;
	assert_int_equal(nap_store_check_add(f->st, &c, true, &rev, &err), -EINVAL);
	assert_int_equal(nap_store_revision(f->st, &rev, NULL, NULL), 0);
	assert_int_equal(rev, 5);

	/* Remove. */
	assert_int_equal(nap_store_check_remove(f->st, "CHK-AV", &rev, NULL), 0);
	assert_int_equal(rev, 6);
	assert_int_equal(nap_store_check_remove(f->st, "CHK-AV", &rev, &err), -ENOENT);
	assert_int_equal(nap_store_check_get(f->st, "CHK-AV", &got, NULL), -ENOENT);
	assert_int_equal(nap_store_check_get(f->st, "no such", &got, NULL), -ENOENT);
	assert_int_equal(nap_store_check_remove(f->st, "bad id", &rev, NULL), -ENOENT);

	/* At most one SoH's worth of checks. */
	for (int i = 0; i < NAP_STORE_MAX_CHECKS - 2; i++) {
		char id[32];

		snprintf(id, sizeof(id), "C-%02d", i);
		chk_init(&c, id, NAP_CHECK_TYPE_REBOOT);
		assert_int_equal(nap_store_check_add(f->st, &c, false, NULL, NULL), 0);
	}
	chk_init(&c, "C-LAST", NAP_CHECK_TYPE_REBOOT);
	assert_int_equal(nap_store_check_add(f->st, &c, false, &rev, &err), -ENOSPC);
	assert_non_null(strstr(err.msg, "32 checks"));
	/* The reopened store still has them (migration 2 is durable). */
	store_reopen(f);
	assert_int_equal(nap_store_check_list(f->st, &l, NULL), 0);
	assert_int_equal(l->n, NAP_STORE_MAX_CHECKS);
	nap_check_list_free(l);
}

/* Store -> HSR document -> signed -> parsed: the checks arrive as stored. */
static void
test_check_hsr_document(void **state)
{
	struct fx *f = *state;
	struct nap_store_snapshot *s;
	struct nap_hsr_set *set;
	struct nap_err err = {0};
	struct nap_check c;
	struct nap_policy p;
	const struct nap_hsr *h;
	char *text, *signed_text = NULL, hex[65];
	json_t *doc;

	pol_init(&p, "DSA-5001-1", "critical", 1795132800, NULL);
	pol_req(&p, "openssl", "3.0.11-1~deb12u2", NAP_SCHEME_DPKG);
	put_ok(f, &p, false, 1);
	nap_policy_clear(&p);
	/* Without checks: no member, the policies' digest. */
	assert_int_equal(nap_store_snapshot(f->st, &s, NULL), 0);
	assert_non_null(s->checks);
	assert_int_equal(s->checks->n, 0);
	doc = doc_json(s, "S01", 1795600800, &text);
	assert_null(json_object_get(doc, "checks"));
	json_decref(doc);
	free(text);
	nap_store_snapshot_free(s);

	chk_init(&c, "CHK-SSH", NAP_CHECK_TYPE_SERVICE);
	c.unit = xstrdup("ssh.service");
	chk_add_ok(f, &c, false, 2);
	nap_check_clear(&c);
	chk_init(&c, "CHK-CMD", NAP_CHECK_TYPE_COMMAND);
	chk_argv(&c, "/usr/bin/test", "-f");
	c.expect_exit = 1;
	chk_add_ok(f, &c, false, 3);
	nap_check_clear(&c);
	chk_init(&c, "CHK-FW", NAP_CHECK_TYPE_FIREWALL);
	c.effective = 1795132800;
	c.reason = xstrdup("firewall on");
	chk_add_ok(f, &c, false, 4);
	nap_check_clear(&c);

	assert_int_equal(nap_store_snapshot(f->st, &s, NULL), 0);
	assert_int_equal(s->checks->n, 3);
	doc = doc_json(s, "S01", 1795600800, &text);
	assert_int_equal(json_array_size(json_object_get(doc, "checks")), 3);
	json_decref(doc);
	if (nap_hsr_sign((const uint8_t *)text, strlen(text), V("TEST-ONLY-ed25519-private.pem"),
			 &signed_text, &err) != 0)
		fail_msg("sign: %s", err.what);
	if (nap_hsr_set_parse((const uint8_t *)signed_text, strlen(signed_text), NULL, &set,
			      &err) != 0)
		fail_msg("parse: %s", err.what);
	h = &set->v[0];
	assert_int_equal(h->revision, 4);
	assert_int_equal(h->n_checks, 3);
	assert_string_equal(h->checks[0].id, "CHK-CMD");
	assert_int_equal(h->checks[0].n_argv, 2);
	assert_string_equal(h->checks[0].argv[1], "-f");
	assert_int_equal(h->checks[0].expect_exit, 1);
	assert_string_equal(h->checks[1].id, "CHK-FW");
	assert_int_equal(h->checks[1].effective, 1795132800);
	assert_string_equal(h->checks[1].reason, "firewall on");
	assert_string_equal(h->checks[2].unit, "ssh.service");
	nap_hex_encode(h->digest, sizeof(h->digest), hex);
	nap_hsr_set_free(set);
	free(signed_text);
	signed_text = NULL;
	/* The checks are in the digest: removing them gives the policies-only digest back. */
	assert_int_equal(nap_store_check_remove(f->st, "CHK-SSH", NULL, NULL), 0);
	assert_int_equal(nap_store_check_remove(f->st, "CHK-CMD", NULL, NULL), 0);
	assert_int_equal(nap_store_check_remove(f->st, "CHK-FW", NULL, NULL), 0);
	free(text);
	nap_store_snapshot_free(s);
	assert_int_equal(nap_store_snapshot(f->st, &s, NULL), 0);
	doc = doc_json(s, "S01", 1795600800, &text);
	assert_null(json_object_get(doc, "checks"));
	json_decref(doc);
	assert_int_equal(nap_hsr_sign((const uint8_t *)text, strlen(text),
				      V("TEST-ONLY-ed25519-private.pem"), &signed_text, &err),
			 0);
	assert_int_equal(nap_hsr_set_parse((const uint8_t *)signed_text, strlen(signed_text), NULL,
					   &set, &err),
			 0);
	{
		char hex2[65];

		nap_hex_encode(set->v[0].digest, sizeof(set->v[0].digest), hex2);
		assert_string_not_equal(hex, hex2);
	}
	nap_hsr_set_free(set);
	free(signed_text);
	free(text);
	nap_store_snapshot_free(s);
}

static int
group_setup(void **state)
{
	const char *u = getenv("NAP_TEST_STORE_URI");

	(void)state;
	env_uri = u != NULL && u[0] != '\0' ? u : NULL;
	snprintf(tmpdir, sizeof(tmpdir), "%s/nap-store-test.XXXXXX",
		 getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp");
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	return 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	rmdir(tmpdir);
	return 0;
}

int
main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_open_errors),
		cmocka_unit_test(test_plain_path_is_sqlite),
		T(test_migrations),
		T(test_migration_daily_backfill),
		T(test_schema_newer_refused),
		cmocka_unit_test(test_policy_check),
		cmocka_unit_test(test_exemption_check),
		cmocka_unit_test(test_group_check),
		cmocka_unit_test(test_agent_state_check),
		T(test_policy_crud),
		T(test_policy_forms),
		T(test_sort_order),
		T(test_revision_rule),
		T(test_import_all_or_nothing),
		T(test_import_merge),
		T(test_import_limit),
		T(test_backend_failure_rolls_back),
		T(test_exemptions),
		T(test_groups),
		T(test_snapshot),
		T(test_hsr_document),
		T(test_hsr_document_signs_and_parses),
		T(test_hsr_document_full_round_trip),
		T(test_hsr_digest_rule),
		T(test_hsr_document_edges),
		cmocka_unit_test(test_hsr_document_too_large),
		cmocka_unit_test(test_check_validate),
		T(test_check_crud),
		T(test_check_hsr_document),
		T(test_publish_records),
		T(test_tokens),
		T(test_token_race),
		T(test_certs),
		T(test_agent_state),
		T(test_agent_history_bound),
		T(test_reopen_keeps_data),
		T(test_concurrent_writers),
		T(test_shared_handle),
		T(test_pg_keyword_form),
		T(test_pg_role_without_create),
		T(test_pg_reconnect),
	};
#undef T

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
