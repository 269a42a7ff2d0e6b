// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * Status messages (include/nap/status.h): the strict line parser, and the batch insert on a
 * fresh store per case — SQLite files in a temporary directory, or the PostgreSQL server named
 * by NAP_TEST_STORE_URI (tests/integration/test-status-store-pg.sh). Exactly-once counting:
 * duplicates across and within batches, client_last by time then sequence whatever the order
 * of delivery, first_seen, the messages counter; all or nothing; the quarantine table.
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

#include "nap/status.h"
#include "nap/store.h"
#include "nap/util.h"
#include "../../../lib/store/store-int.h"

#define INST "0123456789abcdef"
#define INST2 "fedcba9876543210"

static const char *env_uri;
static char tmpdir[256];
static unsigned file_seq;

struct fx {
	struct nap_store *st;
	char uri[1024];
	char path[512];
};

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct nap_store_err err = {{0}};

	assert_non_null(f);
	if (env_uri != NULL) {
		snprintf(f->uri, sizeof(f->uri), "%s", env_uri);
		if (nap_store_open(f->uri, &f->st, &err) != 0)
			fail_msg("open %s: %s", f->uri, err.msg);
		/* a fresh start: the tables this file writes */
		assert_int_equal(q_exec(f->st, "DELETE FROM status_messages", SP_NONE, NULL, &err),
				 0);
		assert_int_equal(q_exec(f->st, "DELETE FROM client_last", SP_NONE, NULL, &err), 0);
		assert_int_equal(q_exec(f->st, "DELETE FROM status_daily", SP_NONE, NULL, &err), 0);
		assert_int_equal(q_exec(f->st, "DELETE FROM status_quarantine", SP_NONE, NULL, &err),
				 0);
	} else {
		snprintf(f->path, sizeof(f->path), "%s/s%u.db", tmpdir, file_seq++);
		snprintf(f->uri, sizeof(f->uri), "sqlite:%s", f->path);
		if (nap_store_open(f->uri, &f->st, &err) != 0)
			fail_msg("open %s: %s", f->uri, err.msg);
	}
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	nap_store_close(f->st);
	if (f->path[0] != '\0') {
		char p[600];

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
count(struct fx *f, const char *sql, const char *arg)
{
	struct nap_store_err err = {{0}};
	int64_t n = -1;
	int r;

	if (arg != NULL)
		r = q_int(f->st, sql, SP_ARGS(SP_T(arg)), &n, &err);
	else
		r = q_int(f->st, sql, SP_NONE, &n, &err);
	if (r != 0)
		fail_msg("%s: %s", sql, err.msg);
	return n;
}

static char *
text(struct fx *f, const char *sql, const char *arg)
{
	struct nap_store_err err = {{0}};
	struct store_cursor *c;
	char *s;
	int r;

	r = f->st->ops->query(f->st, sql, SP_ARGS(SP_T(arg)), &c, &err);
	if (r != 0)
		fail_msg("%s: %s", sql, err.msg);
	assert_int_equal(f->st->ops->next(c, &err), 1);
	s = strdup(f->st->ops->text(c, 0));
	f->st->ops->done(c);
	return s;
}

/* A message as napvd writes it; seq and time vary. */
static void
make(struct nap_status_msg *m, const char *inst, unsigned seq, const char *machine, int64_t t,
     const char *result)
{
	char line[1024], ts[32], why[200];
	int n;

	nap_format_time(t, ts, sizeof(ts));
	n = snprintf(line, sizeof(line),
		     "{\"id\":\"%s-%u\",\"time\":\"%s\",\"nas\":\"127.0.0.1\",\"client\":\"local\","
		     "\"machine\":\"%s\",\"site\":\"S01\",\"enforcement\":\"dhcp\",\"result\":\"%s\","
		     "\"branch\":\"matches\",\"action\":\"%s\",\"hsr_revision\":5,"
		     "\"correlation_id\":\"00112233445566778899aabbccddeeff0011223344\"}",
		     inst, seq, ts, machine, result,
		     strcmp(result, "compliant") == 0 ? "full" : "restricted");
	if (nap_status_msg_parse(line, (size_t)n, m, why, sizeof(why)) != 0)
		fail_msg("parse %s: %s", line, why);
}

static void
test_parse_good(void **state)
{
	static const char line[] =
		"{\"id\":\"" INST "-42\",\"time\":\"2026-11-25T10:00:01Z\",\"nas\":\"127.0.0.1\","
		"\"client\":\"local\",\"machine\":\"pc\\u00e9-1\\u0001x\",\"site\":\"S01\","
		"\"enforcement\":\"dhcp\",\"result\":\"compliant\",\"branch\":\"exempt\","
		"\"exemption\":\"lab\",\"action\":\"full\",\"hsr_revision\":7,"
		"\"correlation_id\":\"\"}";
	struct nap_status_msg m;
	char why[200] = "";

	(void)state;
	/* control characters in the machine name are refused */
	assert_int_equal(nap_status_msg_parse(line, strlen(line), &m, why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "machine"));
	{
		char ok[sizeof(line)];
		char *p;

		memcpy(ok, line, sizeof(line));
		p = strstr(ok, "\\u0001x");
		memmove(p, p + 6, strlen(p + 6) + 1);
		assert_int_equal(nap_status_msg_parse(ok, strlen(ok), &m, why, sizeof(why)), 0);
	}
	assert_string_equal(m.id, INST "-42");
	assert_string_equal(m.napvd, INST);
	assert_int_equal(m.seq, 42);
	assert_int_equal(m.time, 1795600801);
	assert_string_equal(m.machine, "pc\xc3\xa9-1x");
	assert_string_equal(m.exemption, "lab");
	assert_int_equal(m.hsr_revision, 7);
	assert_string_equal(m.correlation_id, "");
}

static void
test_parse_bad(void **state)
{
#define GOOD_REST                                                                                  \
	"\"nas\":\"127.0.0.1\",\"client\":\"local\",\"machine\":\"pc\",\"site\":\"S01\","          \
	"\"enforcement\":\"dhcp\",\"result\":\"compliant\",\"branch\":\"matches\","                \
	"\"action\":\"full\",\"hsr_revision\":7,\"correlation_id\":\"ab\""
	static const struct {
		const char *line, *why;
	} bad[] = {
		{"", "empty"},
		{"[1]", "not a JSON object"},
		{"{\"id\":\"x\"", "not a JSON object"},
		{"{\"id\":\"" INST "-1\",\"time\":\"2026-11-25T10:00:01Z\"," GOOD_REST ",}",
		 "malformed JSON"},
		{"{\"id\":\"" INST "-1\",\"time\":\"2026-11-25T10:00:01Z\"," GOOD_REST
		 ",\"id\":\"" INST "-2\"}",
		 "malformed JSON"}, /* duplicate member */
		{"{\"id\":\"" INST "-0\",\"time\":\"2026-11-25T10:00:01Z\"," GOOD_REST "}", "id:"},
		{"{\"id\":\"" INST "-01\",\"time\":\"2026-11-25T10:00:01Z\"," GOOD_REST "}", "id:"},
		{"{\"id\":\"0123456789ABCDEF-1\",\"time\":\"2026-11-25T10:00:01Z\"," GOOD_REST "}",
		 "id:"},
		{"{\"id\":\"" INST "-99999999999999999999\",\"time\":\"2026-11-25T10:00:01Z\","
		 GOOD_REST "}",
		 "id:"},
		{"{\"id\":\"" INST "-1\",\"time\":\"2026-02-30T10:00:01Z\"," GOOD_REST "}", "time:"},
		{"{\"id\":\"" INST "-1\",\"time\":\"2026-11-25 10:00:01\"," GOOD_REST "}", "time:"},
		{"{\"id\":\"" INST "-1\",\"time\":1795082401," GOOD_REST "}", "time: not a string"},
		{"{\"id\":\"" INST "-1\"," GOOD_REST "}", "\"time\" missing"},
		{"{\"id\":\"" INST "-1\",\"time\":\"2026-11-25T10:00:01Z\"," GOOD_REST
		 ",\"extra\":1}",
		 "unknown member"},
		{"{\"id\":\"" INST "-1\",\"time\":\"2026-11-25T10:00:01Z\"," GOOD_REST
		 ",\"exemption\":\"lab\"}",
		 "exemption given"},
		{"{\"id\":\"" INST "-1\",\"time\":\"2026-11-25T10:00:01Z\",\"nas\":\"127.0.0.1\","
		 "\"client\":\"local\",\"machine\":\"pc\",\"site\":\"S01\",\"enforcement\":\"DHCP\","
		 "\"result\":\"compliant\",\"branch\":\"matches\",\"action\":\"full\","
		 "\"hsr_revision\":7,\"correlation_id\":\"ab\"}",
		 "enforcement: characters"},
		{"{\"id\":\"" INST "-1\",\"time\":\"2026-11-25T10:00:01Z\",\"nas\":\"127.0.0.1\","
		 "\"client\":\"local\",\"machine\":\"pc\",\"site\":\"S01\",\"enforcement\":\"dhcp\","
		 "\"result\":\"compliant\",\"branch\":\"matches\",\"action\":\"full\","
		 "\"hsr_revision\":-1,\"correlation_id\":\"ab\"}",
		 "hsr_revision"},
		{"{\"id\":\"" INST "-1\",\"time\":\"2026-11-25T10:00:01Z\",\"nas\":\"127.0.0.1\","
		 "\"client\":\"local\",\"machine\":\"pc\",\"site\":\"S01\",\"enforcement\":\"dhcp\","
		 "\"result\":\"compliant\",\"branch\":\"matches\",\"action\":\"full\","
		 "\"hsr_revision\":7,\"correlation_id\":\"abc\"}",
		 "correlation_id: odd"},
		{"{\"id\":\"" INST "-1\",\"time\":\"2026-11-25T10:00:01Z\",\"nas\":\"127.0.0.1\","
		 "\"client\":\"local\",\"machine\":\"\\u0000\",\"site\":\"S01\","
		 "\"enforcement\":\"dhcp\",\"result\":\"compliant\",\"branch\":\"matches\","
		 "\"action\":\"full\",\"hsr_revision\":7,\"correlation_id\":\"ab\"}",
		 "malformed JSON"},
		{"{\"id\":\"" INST "-1\",\"time\":\"2026-11-25T10:00:01Z\",\"nas\":\"127.0.0.1\","
		 "\"client\":\"local\",\"machine\":\"\\ud800\",\"site\":\"S01\","
		 "\"enforcement\":\"dhcp\",\"result\":\"compliant\",\"branch\":\"matches\","
		 "\"action\":\"full\",\"hsr_revision\":7,\"correlation_id\":\"ab\"}",
		 "malformed JSON"},
	};
	struct nap_status_msg m;
	char why[200];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why[0] = '\0';
		if (nap_status_msg_parse(bad[i].line, strlen(bad[i].line), &m, why, sizeof(why)) !=
		    -EINVAL)
			fail_msg("case %zu accepted: %s", i, bad[i].line);
		if (strstr(why, bad[i].why) == NULL)
			fail_msg("case %zu: reason '%s', expected '%s'", i, why, bad[i].why);
		assert_string_equal(m.id, ""); /* nothing half-read */
	}
	/* a line longer than the limit */
	{
		size_t n = NAP_STATUS_LINE_MAX + 10;
		char *big = malloc(n);

		memset(big, ' ', n);
		big[0] = '{';
		big[n - 1] = '}';
		assert_int_equal(nap_status_msg_parse(big, n, &m, why, sizeof(why)), -EINVAL);
		assert_non_null(strstr(why, "more than"));
		free(big);
	}
#undef GOOD_REST
}

static void
test_put_once(void **state)
{
	struct fx *f = *state;
	struct nap_store_err err = {{0}};
	struct nap_status_msg m[3];
	size_t ins = 99;

	make(&m[0], INST, 1, "pc-1", 1000, "noncompliant");
	make(&m[1], INST, 2, "pc-1", 1010, "compliant");
	make(&m[2], INST, 3, "pc-2", 1005, "compliant");
	if (nap_store_status_put(f->st, m, 3, 2000, &ins, &err) != 0)
		fail_msg("put: %s", err.msg);
	assert_int_equal(ins, 3);
	/* delivered again (napvd re-shipped after a crash): nothing new */
	if (nap_store_status_put(f->st, m, 3, 2001, &ins, &err) != 0)
		fail_msg("put again: %s", err.msg);
	assert_int_equal(ins, 0);
	assert_int_equal(count(f, "SELECT count(*) FROM status_messages", NULL), 3);
	assert_int_equal(count(f, "SELECT messages FROM client_last WHERE machine = $1", "pc-1"), 2);
	assert_int_equal(count(f, "SELECT messages FROM client_last WHERE machine = $1", "pc-2"), 1);
	assert_int_equal(count(f, "SELECT time FROM client_last WHERE machine = $1", "pc-1"), 1010);
	assert_int_equal(count(f, "SELECT first_seen FROM client_last WHERE machine = $1", "pc-1"),
			 1000);
	assert_int_equal(count(f, "SELECT received FROM status_messages WHERE id = $1",
			       INST "-1"),
			 2000);
	{
		char *s = text(f, "SELECT result FROM client_last WHERE machine = $1", "pc-1");

		assert_string_equal(s, "compliant");
		free(s);
		s = text(f, "SELECT napvd FROM status_messages WHERE id = $1", INST "-3");
		assert_string_equal(s, INST);
		free(s);
	}
}

static void
test_put_order(void **state)
{
	struct fx *f = *state;
	struct nap_store_err err = {{0}};
	struct nap_status_msg m[4];
	size_t ins;
	char *s;

	/* newest first, then older ones; same second: sequence 10 beats 9 (not text order) */
	make(&m[0], INST, 10, "pc-1", 1000, "compliant");
	make(&m[1], INST, 9, "pc-1", 1000, "noncompliant");
	make(&m[2], INST, 8, "pc-1", 900, "noncompliant");
	if (nap_store_status_put(f->st, m, 1, 2000, &ins, &err) != 0)
		fail_msg("put: %s", err.msg);
	if (nap_store_status_put(f->st, m + 1, 2, 2000, &ins, &err) != 0)
		fail_msg("put: %s", err.msg);
	assert_int_equal(ins, 2);
	s = text(f, "SELECT id FROM client_last WHERE machine = $1", "pc-1");
	assert_string_equal(s, INST "-10");
	free(s);
	s = text(f, "SELECT result FROM client_last WHERE machine = $1", "pc-1");
	assert_string_equal(s, "compliant");
	free(s);
	assert_int_equal(count(f, "SELECT first_seen FROM client_last WHERE machine = $1", "pc-1"),
			 900);
	assert_int_equal(count(f, "SELECT messages FROM client_last WHERE machine = $1", "pc-1"), 3);
	/* a later message of another napvd takes over */
	make(&m[3], INST2, 1, "pc-1", 1001, "noncompliant");
	if (nap_store_status_put(f->st, m + 3, 1, 2000, &ins, &err) != 0)
		fail_msg("put: %s", err.msg);
	s = text(f, "SELECT napvd FROM client_last WHERE machine = $1", "pc-1");
	assert_string_equal(s, INST2);
	free(s);
	s = text(f, "SELECT action FROM client_last WHERE machine = $1", "pc-1");
	assert_string_equal(s, "restricted");
	free(s);
	assert_int_equal(count(f, "SELECT messages FROM client_last WHERE machine = $1", "pc-1"), 4);
}

static void
test_put_dup_in_batch(void **state)
{
	struct fx *f = *state;
	struct nap_store_err err = {{0}};
	struct nap_status_msg m[4];
	size_t ins;

	make(&m[0], INST, 1, "pc-1", 1000, "compliant");
	m[1] = m[0];
	make(&m[2], INST, 2, "pc-1", 1001, "compliant");
	m[3] = m[2];
	if (nap_store_status_put(f->st, m, 4, 2000, &ins, &err) != 0)
		fail_msg("put: %s", err.msg);
	assert_int_equal(ins, 2);
	assert_int_equal(count(f, "SELECT messages FROM client_last WHERE machine = $1", "pc-1"), 2);
}

/* status_daily's v for (day, machine), -1 when there is no row. */
static int64_t
daily(struct fx *f, int64_t day, const char *machine, int64_t *messages)
{
	struct nap_store_err err = {{0}};
	struct store_cursor *c;
	int64_t v = -1;
	int r;

	r = f->st->ops->query(f->st,
			      "SELECT v, messages FROM status_daily WHERE day = $1 AND machine = $2",
			      SP_ARGS(SP_I(day), SP_T(machine)), &c, &err);
	if (r != 0)
		fail_msg("status_daily: %s", err.msg);
	*messages = 0;
	if ((r = f->st->ops->next(c, &err)) == 1) {
		v = f->st->ops->int64(c, 0);
		*messages = f->st->ops->int64(c, 1);
	}
	f->st->ops->done(c);
	assert_true(r >= 0);
	return v;
}

/*
 * The daily rollup the ingester keeps (migration 5): per (day, machine) the message count
 * and max(time * 2 + noncompliant); duplicates do not count twice, batches across midnight
 * split, a same-second tie goes to the noncompliant verdict, and the rollup equals the same
 * aggregate recomputed from the messages.
 */
static void
test_put_daily(void **state)
{
	struct fx *f = *state;
	struct nap_store_err err = {{0}};
	struct nap_status_msg m[6];
	const int64_t d0 = 20000 * 86400LL;
	int64_t n;
	size_t ins;

	make(&m[0], INST, 1, "pc-1", d0 + 100, "noncompliant");
	make(&m[1], INST, 2, "pc-1", d0 + 86399, "compliant");
	make(&m[2], INST, 3, "pc-1", d0 + 86400, "noncompliant"); /* the next day */
	make(&m[3], INST, 4, "pc-2", d0 + 500, "compliant");
	make(&m[4], INST, 5, "pc-2", d0 + 500, "noncompliant"); /* same second */
	make(&m[5], INST, 6, "pc-2", d0 + 400, "compliant");     /* earlier, later batch */
	if (nap_store_status_put(f->st, m, 3, 2000, &ins, &err) != 0 ||
	    nap_store_status_put(f->st, m + 3, 2, 2000, &ins, &err) != 0 ||
	    nap_store_status_put(f->st, m, 6, 2001, &ins, &err) != 0) /* re-delivered + one new */
		fail_msg("put: %s", err.msg);
	assert_int_equal(ins, 1);
	assert_int_equal(daily(f, 20000, "pc-1", &n), (d0 + 86399) * 2);
	assert_int_equal(n, 2);
	assert_int_equal(daily(f, 20001, "pc-1", &n), (d0 + 86400) * 2 + 1);
	assert_int_equal(n, 1);
	assert_int_equal(daily(f, 20000, "pc-2", &n), (d0 + 500) * 2 + 1);
	assert_int_equal(n, 3);
	assert_int_equal(daily(f, 20001, "pc-2", &n), -1);
	assert_int_equal(count(f, "SELECT count(*) FROM status_daily", NULL), 3);
	/* every row as recomputed from the messages, and nothing else */
	assert_int_equal(count(f,
			       "SELECT count(*) FROM status_daily d JOIN (SELECT time / 86400 AS"
			       " day, machine, max(time * 2 + CASE WHEN result = 'compliant' THEN 0"
			       " ELSE 1 END) AS v, count(*) AS n FROM status_messages GROUP BY 1, 2)"
			       " x ON x.day = d.day AND x.machine = d.machine AND x.v = d.v"
			       " AND x.n = d.messages",
			       NULL),
			 3);
}

/*
 * Retention: messages older than the bound go oldest first, at most limit per call, quarantine
 * rows by their ingest time, daily rows by day; client_last stays whatever is pruned.
 */
static void
test_prune(void **state)
{
	struct fx *f = *state;
	struct nap_store_err err = {{0}};
	struct nap_status_pruned p;
	struct nap_status_msg m[5];
	const int64_t d0 = 20000 * 86400LL;
	size_t ins;

	make(&m[0], INST, 1, "pc-1", d0 + 10, "compliant");
	make(&m[1], INST, 2, "pc-2", d0 + 20, "noncompliant");
	make(&m[2], INST, 3, "pc-1", d0 + 30, "compliant");
	make(&m[3], INST, 4, "pc-3", d0 + 86400 + 5, "compliant"); /* the next day */
	make(&m[4], INST, 5, "pc-1", d0 + 2 * 86400, "noncompliant");
	if (nap_store_status_put(f->st, m, 5, d0 + 2 * 86400, &ins, &err) != 0 ||
	    nap_store_status_quarantine(f->st, "old.jsonl", NULL, 1, "bad", d0, &err) != 0 ||
	    nap_store_status_quarantine(f->st, "new.jsonl", NULL, 1, "bad", d0 + 2 * 86400, &err) != 0)
		fail_msg("put: %s", err.msg);
	/* nothing older than the bounds: nothing goes */
	assert_int_equal(nap_store_status_prune(f->st, d0, 20000, 10, &p, &err), 0);
	assert_int_equal(p.messages + p.quarantine + p.daily, 0);
	/* limit 2: the two oldest messages of the three before d0 + 86400 */
	assert_int_equal(nap_store_status_prune(f->st, d0 + 86400, 0, 2, &p, &err), 0);
	assert_int_equal(p.messages, 2);
	assert_int_equal(p.quarantine, 1);
	assert_int_equal(p.daily, 0);
	assert_int_equal(count(f, "SELECT min(time) FROM status_messages", NULL), d0 + 30);
	assert_int_equal(nap_store_status_prune(f->st, d0 + 86400, 0, 2, &p, &err), 0);
	assert_int_equal(p.messages, 1);
	assert_int_equal(p.quarantine, 0);
	assert_int_equal(count(f, "SELECT count(*) FROM status_messages", NULL), 2);
	assert_int_equal(count(f, "SELECT count(*) FROM status_quarantine", NULL), 1);
	/* the daily history outlives the messages until its own bound */
	assert_int_equal(count(f, "SELECT count(*) FROM status_daily", NULL), 4);
	assert_int_equal(nap_store_status_prune(f->st, 0, 20001, 10, &p, &err), 0);
	assert_int_equal(p.messages, 0);
	assert_int_equal(p.daily, 2);
	assert_int_equal(count(f, "SELECT min(day) FROM status_daily", NULL), 20001);
	/* client_last keeps every machine, pc-2 included (all its messages are gone) */
	assert_int_equal(count(f, "SELECT count(*) FROM client_last", NULL), 3);
	assert_int_equal(count(f, "SELECT messages FROM client_last WHERE machine = $1", "pc-1"), 3);
	assert_int_equal(nap_store_status_prune(f->st, -1, 0, 10, &p, &err), -EINVAL);
	assert_int_equal(nap_store_status_prune(f->st, 0, 0, 0, &p, &err), -EINVAL);
}

static void
test_put_big(void **state)
{
	struct fx *f = *state;
	struct nap_store_err err = {{0}};
	size_t n = 3000, ins;
	struct nap_status_msg *m = calloc(n, sizeof(*m));
	char name[32];

	for (size_t i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "pc-%zu", i % 500);
		make(&m[i], INST, (unsigned)(i + 1), name, 1000 + (int64_t)i, "compliant");
	}
	/* half of them first, then all: the second batch adds the other half only */
	if (nap_store_status_put(f->st, m, n / 2, 2000, &ins, &err) != 0)
		fail_msg("put: %s", err.msg);
	assert_int_equal(ins, n / 2);
	if (nap_store_status_put(f->st, m, n, 2000, &ins, &err) != 0)
		fail_msg("put: %s", err.msg);
	assert_int_equal(ins, n - n / 2);
	assert_int_equal(count(f, "SELECT count(*) FROM status_messages", NULL), (int64_t)n);
	assert_int_equal(count(f, "SELECT sum(messages) FROM client_last", NULL), (int64_t)n);
	assert_int_equal(count(f, "SELECT count(*) FROM client_last", NULL), 500);
	free(m);
}

static void
test_put_bad(void **state)
{
	struct fx *f = *state;
	struct nap_store_err err = {{0}};
	struct nap_status_msg m[2];
	size_t ins = 7;

	make(&m[0], INST, 1, "pc-1", 1000, "compliant");
	make(&m[1], INST, 2, "pc-1", 1000, "compliant");
	snprintf(m[1].id, sizeof(m[1].id), "garbage");
	assert_int_equal(nap_store_status_put(f->st, m, 2, 2000, &ins, &err), -EINVAL);
	assert_int_equal(ins, 0);
	/* all or nothing */
	assert_int_equal(count(f, "SELECT count(*) FROM status_messages", NULL), 0);
	assert_int_equal(nap_store_status_put(f->st, m, 0, 2000, &ins, &err), 0);
}

static void
test_quarantine(void **state)
{
	struct fx *f = *state;
	struct nap_store_err err = {{0}};

	if (nap_store_status_quarantine(f->st, "x-1-2.jsonl", "d1", 3, "time: not ...", 2000,
					&err) != 0)
		fail_msg("quarantine: %s", err.msg);
	if (nap_store_status_quarantine(f->st, "y.jsonl", NULL, 0, "not UTF-8", 2001, &err) != 0)
		fail_msg("quarantine: %s", err.msg);
	assert_int_equal(count(f, "SELECT count(*) FROM status_quarantine", NULL), 2);
	assert_int_equal(count(f, "SELECT line FROM status_quarantine WHERE file = $1",
			       "x-1-2.jsonl"),
			 3);
	/* the same file read again (napsited stopped before moving it): no second row */
	if (nap_store_status_quarantine(f->st, "x-1-2.jsonl", "d1", 3, "time: not ...", 2500,
					&err) != 0)
		fail_msg("quarantine: %s", err.msg);
	assert_int_equal(count(f, "SELECT count(*) FROM status_quarantine", NULL), 2);
	assert_int_equal(count(f, "SELECT received FROM status_quarantine WHERE file = $1",
			       "x-1-2.jsonl"),
			 2000);
	/* another file of the same name (other bytes): its own row */
	if (nap_store_status_quarantine(f->st, "x-1-2.jsonl", "d2", 3, "time: not ...", 2600,
					&err) != 0)
		fail_msg("quarantine: %s", err.msg);
	assert_int_equal(count(f, "SELECT count(*) FROM status_quarantine", NULL), 3);
	assert_int_equal(nap_store_status_quarantine(f->st, "\xff", NULL, 0, "r", 1, &err), -EINVAL);
}

int
main(void)
{
	const char *base = getenv("TMPDIR");
	int r;
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_good),
		cmocka_unit_test(test_parse_bad),
		T(test_put_once),
		T(test_put_order),
		T(test_put_dup_in_batch),
		T(test_put_daily),
		T(test_prune),
		T(test_put_big),
		T(test_put_bad),
		T(test_quarantine),
	};

	env_uri = getenv("NAP_TEST_STORE_URI");
	if (env_uri != NULL && env_uri[0] == '\0')
		env_uri = NULL;
	snprintf(tmpdir, sizeof(tmpdir), "%s/nap-status-test.XXXXXX",
		 base != NULL && base[0] != '\0' ? base : "/tmp");
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	r = cmocka_run_group_tests(tests, NULL, NULL);
	rmdir(tmpdir);
	return r;
}
