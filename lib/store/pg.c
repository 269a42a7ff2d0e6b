// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * PostgreSQL backend of the site store (libpq). Parameterized statements only, each prepared
 * once per connection. Concurrent writers serialize on the revision row: every transaction that
 * may bump the revision opens with SELECT .. FOR UPDATE on it, so two napctl runs (or napctl and
 * napsited) never interleave their read-compare-write; reads run REPEATABLE READ, so a snapshot
 * is one consistent view. A serialization failure or deadlock is reported as -EAGAIN and the
 * store runs the transaction again. A connection lost between transactions is re-established at
 * the next one (napsited outlives a database restart). Bulk writes (an import's rows, a group's
 * members) go out in libpq pipeline mode, a few hundred statements per round trip; their errors
 * surface at the next synchronous call, and the transaction fails whole.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "store-int.h"

#define PG_CACHE_SIZE      128       /* distinct statements kept prepared */
#define PG_LOCK_TIMEOUT_MS "5000"    /* like SQLite's busy timeout: then -EBUSY */
#define PG_CONNECT_TIMEOUT "10"      /* seconds, unless the URI says otherwise */
#define PG_MIGRATE_LOCK    "7237989" /* advisory lock id ("nap") held while migrating */
/*
 * Statements in flight before the pipeline is synced: small enough that the results the server
 * writes back while we are still sending fit in the socket buffers (libpq is in blocking mode).
 */
#define PG_PIPELINE_MAX 256

struct pg_entry {
	const char *sql; /* the caller's string: the store's SQL is static text */
	char name[24];
};

struct pg_db {
	PGconn *conn;
	struct pg_entry cache[PG_CACHE_SIZE];
	size_t n_cache;
	unsigned long next_name; /* statement names are never reused within a session */
	bool pipeline;           /* in pipeline mode with statements in flight */
	unsigned pending;        /* statements (and prepares) sent, results unread */
	size_t pipeline_mark;    /* n_cache when the pipeline began */
};

struct store_cursor {
	PGresult *res;
	int row, nrows;
};

static void
pg_notice(void *arg, const char *message)
{
	/* "relation already exists, skipping" and the like: not for the admin's terminal. */
	(void)arg;
	(void)message;
}

/* The first line of libpq's message, without the trailing newline. */
static const char *
pg_message(PGconn *conn, const PGresult *res, char *buf, size_t cap)
{
	const char *m = res != NULL ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	size_t n;

	if (m == NULL)
		m = PQerrorMessage(conn);
	n = strcspn(m, "\n");
	snprintf(buf, cap, "%.*s", (int)n, m);
	return buf;
}

/* Map a failed result to the store's codes. res may be NULL (libpq out of memory, no conn). */
static int
pg_err(struct pg_db *d, const PGresult *res, const char *what, struct nap_store_err *err)
{
	const char *state = res != NULL ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	char msg[200];

	pg_message(d->conn, res, msg, sizeof(msg));
	if (state != NULL) {
		if (strcmp(state, "23505") == 0) /* unique_violation */
			return nap_store_errf(err, -EEXIST, "%s: %s", what, msg);
		if (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0)
			return nap_store_errf(err, -EAGAIN, "%s: %s", what, msg);
		if (strcmp(state, "55P03") == 0) /* lock_not_available: lock_timeout */
			return nap_store_errf(err, -EBUSY, "%s: database locked past %s ms", what,
					      PG_LOCK_TIMEOUT_MS);
	}
	return nap_store_errf(err, -EIO, "%s: %s", what, msg);
}

static bool
pg_ok(const PGresult *res)
{
	ExecStatusType s = PQresultStatus(res);

	return s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK;
}

/* Run SQL without parameters (one or several statements). */
static int
pg_simple(struct pg_db *d, const char *sql, struct nap_store_err *err)
{
	PGresult *res = PQexec(d->conn, sql);
	int r = 0;

	if (!pg_ok(res))
		r = pg_err(d, res, "postgresql", err);
	PQclear(res);
	return r;
}

/*
 * Sync the pipeline and read every result in it: 0, or the first error. Statements prepared in a
 * failed pipeline are forgotten (they may not exist on the server).
 */
static int pg_session(struct pg_db *d, struct nap_store_err *err);

static int
pg_flush(struct pg_db *d, struct nap_store_err *err)
{
	PGresult *res;
	bool synced;
	int r = 0;

	if (!d->pipeline)
		return 0;
	synced = PQpipelineSync(d->conn) == 1;
	if (!synced)
		r = pg_err(d, NULL, "postgresql: pipeline", err);
	/* Every result is read, also after an error: the aborted ones come back too. */
	for (unsigned i = 0; synced && i < d->pending && PQstatus(d->conn) == CONNECTION_OK; i++) {
		/* One query: its result(s), then NULL. */
		while ((res = PQgetResult(d->conn)) != NULL) {
			ExecStatusType s = PQresultStatus(res);

			if (s == PGRES_FATAL_ERROR && r == 0)
				r = pg_err(d, res, "postgresql", err);
			else if (s == PGRES_PIPELINE_ABORTED && r == 0)
				r = nap_store_errf(err, -EIO, "postgresql: pipeline aborted");
			PQclear(res);
		}
	}
	if (synced && PQstatus(d->conn) == CONNECTION_OK) {
		/* Then the sync point: no NULL follows it. */
		res = PQgetResult(d->conn);
		if (res == NULL || PQresultStatus(res) != PGRES_PIPELINE_SYNC) {
			if (r == 0)
				r = nap_store_errf(err, -EIO, "postgresql: pipeline out of step");
		}
		PQclear(res);
	}
	if (r == 0 && PQstatus(d->conn) != CONNECTION_OK)
		r = pg_err(d, NULL, "postgresql", err);
	if (r < 0)
		d->n_cache = d->pipeline_mark;
	d->pipeline = false;
	d->pending = 0;
	if (PQexitPipelineMode(d->conn) != 1) {
		if (r == 0)
			r = pg_err(d, NULL, "postgresql: pipeline", err);
		/* Out of step with the server or cut off: a new session rather than a guess. */
		PQreset(d->conn);
		if (PQstatus(d->conn) == CONNECTION_OK)
			pg_session(d, NULL);
	}
	return r;
}

/* Session settings, after every (re)connect. */
static int
pg_session(struct pg_db *d, struct nap_store_err *err)
{
	d->n_cache = 0; /* prepared statements belong to the old session */
	d->pipeline = false;
	d->pending = 0;
	return pg_simple(d, "SET lock_timeout = " PG_LOCK_TIMEOUT_MS, err);
}

static int
pg_open(struct nap_store *st, const char *conninfo, struct nap_store_err *err)
{
	/* Later entries win; the URI (expanded from dbname) can override the defaults before it. */
	const char *const keys[] = {"connect_timeout", "application_name", "client_encoding",
				    "dbname", NULL};
	const char *const values[] = {PG_CONNECT_TIMEOUT, "nap", "UTF8", conninfo, NULL};
	char msg[200];
	struct pg_db *d;
	int r;

	d = calloc(1, sizeof(*d));
	if (d == NULL)
		return nap_store_errf(err, -ENOMEM, "out of memory");
	d->conn = PQconnectdbParams(keys, values, 1);
	if (d->conn == NULL) {
		free(d);
		return nap_store_errf(err, -ENOMEM, "out of memory");
	}
	if (PQstatus(d->conn) != CONNECTION_OK) {
		r = nap_store_errf(err, -EIO, "postgresql: %s",
				   pg_message(d->conn, NULL, msg, sizeof(msg)));
		PQfinish(d->conn);
		free(d);
		return r;
	}
	PQsetNoticeProcessor(d->conn, pg_notice, NULL);
	r = pg_session(d, err);
	if (r < 0) {
		PQfinish(d->conn);
		free(d);
		return r;
	}
	st->db = d;
	return 0;
}

static void
pg_close(struct nap_store *st)
{
	struct pg_db *d = st->db;

	if (d == NULL)
		return;
	PQfinish(d->conn);
	free(d);
	st->db = NULL;
}

static int
pg_reconnect(struct pg_db *d, struct nap_store_err *err)
{
	char msg[200];

	d->pipeline = false; /* PQreset leaves pipeline mode with the old session */
	d->pending = 0;
	PQreset(d->conn);
	if (PQstatus(d->conn) != CONNECTION_OK)
		return nap_store_errf(err, -EIO, "postgresql: reconnect: %s",
				      pg_message(d->conn, NULL, msg, sizeof(msg)));
	return pg_session(d, err);
}

static void
pg_rollback(struct nap_store *st)
{
	struct pg_db *d = st->db;

	pg_flush(d, NULL);
	if (PQstatus(d->conn) == CONNECTION_OK && PQtransactionStatus(d->conn) != PQTRANS_IDLE)
		PQclear(PQexec(d->conn, "ROLLBACK"));
}

static int
pg_begin(struct nap_store *st, enum store_tx tx, struct nap_store_err *err)
{
	static const char *const sql[] = {
		[STORE_TX_READ] = "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY",
		[STORE_TX_WRITE] = "BEGIN",
		[STORE_TX_REVISION] = "BEGIN; SELECT revision FROM meta WHERE id = 1 FOR UPDATE",
		[STORE_TX_MIGRATE] = "BEGIN; SELECT pg_advisory_xact_lock(" PG_MIGRATE_LOCK ")",
	};
	struct pg_db *d = st->db;
	int r;

	pg_flush(d, NULL); /* a previous transaction's leftovers: none in practice */
	if (PQstatus(d->conn) != CONNECTION_OK && (r = pg_reconnect(d, err)) < 0)
		return r;
	r = pg_simple(d, sql[tx], err);
	if (r < 0 && PQstatus(d->conn) != CONNECTION_OK) {
		/* The server went away since the last transaction: once more on a new session. */
		if ((r = pg_reconnect(d, err)) < 0)
			return r;
		r = pg_simple(d, sql[tx], err);
	}
	if (r < 0)
		pg_rollback(st);
	return r;
}

static int
pg_commit(struct nap_store *st, struct nap_store_err *err)
{
	struct pg_db *d = st->db;
	PGresult *res;
	int r;

	if ((r = pg_flush(d, err)) < 0)
		return r;
	res = PQexec(d->conn, "COMMIT");
	if (!pg_ok(res))
		r = pg_err(d, res, "commit", err);
	else if (strcmp(PQcmdStatus(res), "COMMIT") != 0)
		r = nap_store_errf(err, -EIO, "commit: the transaction was rolled back");
	PQclear(res);
	return r;
}

static int
pg_script(struct nap_store *st, const char *sql, struct nap_store_err *err)
{
	int r = pg_flush(st->db, err);

	return r < 0 ? r : pg_simple(st->db, sql, err);
}

/*
 * The prepared statement for sql, preparing it on first use (in the pipeline when one is
 * active); NULL to run it unnamed.
 */
static const char *
pg_prepared(struct pg_db *d, const char *sql, int *r, struct nap_store_err *err)
{
	struct pg_entry *e = NULL;
	PGresult *res;

	*r = 0;
	for (size_t i = 0; i < d->n_cache && e == NULL; i++) {
		if (d->cache[i].sql == sql)
			e = &d->cache[i];
	}
	for (size_t i = 0; i < d->n_cache && e == NULL; i++) {
		if (strcmp(d->cache[i].sql, sql) == 0)
			e = &d->cache[i];
	}
	if (e != NULL)
		return e->name;
	if (d->n_cache >= PG_CACHE_SIZE)
		return NULL;
	e = &d->cache[d->n_cache];
	snprintf(e->name, sizeof(e->name), "nap%lu", d->next_name++);
	if (d->pipeline) {
		if (PQsendPrepare(d->conn, e->name, sql, 0, NULL) != 1) {
			*r = pg_err(d, NULL, "prepare", err);
			return NULL;
		}
		d->pending++;
	} else {
		res = PQprepare(d->conn, e->name, sql, 0, NULL);
		if (!pg_ok(res)) {
			*r = pg_err(d, res, "prepare", err);
			PQclear(res);
			return NULL;
		}
		PQclear(res);
	}
	e->sql = sql;
	d->n_cache++;
	return e->name;
}

/* Parameters as libpq takes them: text, integers printed into ints. */
static void
pg_values(const struct store_param *p, size_t n, char ints[][24], const char **values)
{
	for (size_t i = 0; i < n; i++) {
		switch (p[i].type) {
		case STORE_P_NULL:
			values[i] = NULL;
			break;
		case STORE_P_TEXT:
			values[i] = p[i].s;
			break;
		case STORE_P_INT:
		default:
			snprintf(ints[i], sizeof(ints[i]), "%" PRId64, p[i].i);
			values[i] = ints[i];
			break;
		}
	}
}

/* Queue a statement whose result nobody reads: sent now, checked at the next sync. */
static int
pg_batch(struct nap_store *st, const char *sql, const struct store_param *p, size_t n,
	 struct nap_store_err *err)
{
	struct pg_db *d = st->db;
	char ints[STORE_MAX_PARAMS][24];
	const char *values[STORE_MAX_PARAMS];
	const char *name;
	int r;

	if (n > STORE_MAX_PARAMS)
		return nap_store_errf(err, -EINVAL, "too many parameters");
	if (d->pending >= PG_PIPELINE_MAX && (r = pg_flush(d, err)) < 0)
		return r;
	if (!d->pipeline) {
		if (PQenterPipelineMode(d->conn) != 1)
			return pg_err(d, NULL, "postgresql: pipeline", err);
		d->pipeline = true;
		d->pending = 0;
		d->pipeline_mark = d->n_cache;
	}
	pg_values(p, n, ints, values);
	name = pg_prepared(d, sql, &r, err);
	if (r < 0)
		return r;
	if (name != NULL)
		r = PQsendQueryPrepared(d->conn, name, (int)n, values, NULL, NULL, 0);
	else
		r = PQsendQueryParams(d->conn, sql, (int)n, NULL, values, NULL, NULL, 0);
	if (r != 1)
		return pg_err(d, NULL, "postgresql", err);
	d->pending++;
	return 0;
}

static int
pg_query(struct nap_store *st, const char *sql, const struct store_param *p, size_t n,
	 struct store_cursor **out, struct nap_store_err *err)
{
	struct pg_db *d = st->db;
	char ints[STORE_MAX_PARAMS][24];
	const char *values[STORE_MAX_PARAMS];
	struct store_cursor *c;
	const char *name;
	PGresult *res;
	int r;

	*out = NULL;
	if (n > STORE_MAX_PARAMS)
		return nap_store_errf(err, -EINVAL, "too many parameters");
	if ((r = pg_flush(d, err)) < 0)
		return r;
	pg_values(p, n, ints, values);
	name = pg_prepared(d, sql, &r, err);
	if (r < 0)
		return r;
	if (name != NULL)
		res = PQexecPrepared(d->conn, name, (int)n, values, NULL, NULL, 0);
	else
		res = PQexecParams(d->conn, sql, (int)n, NULL, values, NULL, NULL, 0);
	if (!pg_ok(res)) {
		r = pg_err(d, res, "postgresql", err);
		PQclear(res);
		return r;
	}
	c = malloc(sizeof(*c));
	if (c == NULL) {
		PQclear(res);
		return nap_store_errf(err, -ENOMEM, "out of memory");
	}
	c->res = res;
	c->row = -1;
	c->nrows = PQntuples(res);
	*out = c;
	return 0;
}

static int
pg_next(struct store_cursor *c, struct nap_store_err *err)
{
	(void)err;
	if (c->row + 1 >= c->nrows)
		return 0;
	c->row++;
	return 1;
}

static bool
pg_is_null(struct store_cursor *c, int col)
{
	return PQgetisnull(c->res, c->row, col) != 0;
}

static const char *
pg_text(struct store_cursor *c, int col)
{
	return PQgetvalue(c->res, c->row, col); /* "" for NULL */
}

static int64_t
pg_col_int64(struct store_cursor *c, int col)
{
	return strtoll(PQgetvalue(c->res, c->row, col), NULL, 10);
}

static int64_t
pg_changes(struct store_cursor *c)
{
	return strtoll(PQcmdTuples(c->res), NULL, 10);
}

static void
pg_done(struct store_cursor *c)
{
	if (c == NULL)
		return;
	PQclear(c->res);
	free(c);
}

/*
 * The same schema versions as sqlite.c, in PostgreSQL's dialect. Keys, names and ids sort by
 * byte order (COLLATE "C"), as SQLite's BINARY does, so lists come back in one order on both.
 */
static const char *const pg_migrations[] = {
	/* 1: the initial schema */
	"CREATE TABLE meta ("
	" id INTEGER PRIMARY KEY CHECK (id = 1),"
	" revision BIGINT NOT NULL,"
	" changed BIGINT NOT NULL);"
	"INSERT INTO meta (id, revision, changed) VALUES (1, 0, 0);"
	"CREATE TABLE policies ("
	" id TEXT COLLATE \"C\" PRIMARY KEY,"
	" severity TEXT NOT NULL,"
	" effective BIGINT NOT NULL,"
	" reason TEXT,"
	" created BIGINT NOT NULL,"
	" updated BIGINT NOT NULL);"
	"CREATE TABLE policy_reqs ("
	" policy_id TEXT COLLATE \"C\" NOT NULL REFERENCES policies (id) ON DELETE CASCADE,"
	" seq INTEGER NOT NULL,"
	" package TEXT NOT NULL,"
	" min_version TEXT NOT NULL,"
	" scheme TEXT NOT NULL,"
	" PRIMARY KEY (policy_id, seq));"
	"CREATE TABLE exemptions ("
	" id TEXT COLLATE \"C\" PRIMARY KEY,"
	" client TEXT,"
	" group_name TEXT,"
	" valid_from BIGINT NOT NULL,"
	" valid_until BIGINT NOT NULL,"
	" reason TEXT,"
	" created BIGINT NOT NULL,"
	" CHECK ((client IS NULL) <> (group_name IS NULL)));"
	"CREATE TABLE exemption_policies ("
	" exemption_id TEXT COLLATE \"C\" NOT NULL REFERENCES exemptions (id) ON DELETE CASCADE,"
	" policy_id TEXT COLLATE \"C\" NOT NULL,"
	" PRIMARY KEY (exemption_id, policy_id));"
	"CREATE TABLE client_groups ("
	" name TEXT COLLATE \"C\" PRIMARY KEY,"
	" created BIGINT NOT NULL,"
	" updated BIGINT NOT NULL);"
	"CREATE TABLE group_members ("
	" group_name TEXT COLLATE \"C\" NOT NULL REFERENCES client_groups (name) ON DELETE CASCADE,"
	" member TEXT COLLATE \"C\" NOT NULL,"
	" PRIMARY KEY (group_name, member));"
	"CREATE TABLE publish_records ("
	" site TEXT COLLATE \"C\" PRIMARY KEY,"
	" revision BIGINT NOT NULL,"
	" published BIGINT NOT NULL,"
	" target TEXT NOT NULL);"
	"CREATE TABLE agent_tokens ("
	" hash TEXT COLLATE \"C\" PRIMARY KEY,"
	" client TEXT NOT NULL,"
	" created BIGINT NOT NULL,"
	" expires BIGINT NOT NULL,"
	" used BIGINT);"
	"CREATE TABLE agent_certs ("
	" serial TEXT COLLATE \"C\" PRIMARY KEY,"
	" client TEXT COLLATE \"C\" NOT NULL,"
	" issued BIGINT NOT NULL,"
	" not_after BIGINT NOT NULL,"
	" revoked INTEGER NOT NULL DEFAULT 0);"
	"CREATE INDEX agent_certs_client ON agent_certs (client);"
	"CREATE TABLE agent_state ("
	" client TEXT COLLATE \"C\" PRIMARY KEY,"
	" state INTEGER NOT NULL,"
	" compliant INTEGER NOT NULL,"
	" hsr_revision BIGINT NOT NULL,"
	" hsr_digest TEXT NOT NULL,"
	" evaluated BIGINT NOT NULL,"
	" received BIGINT NOT NULL,"
	" missing TEXT NOT NULL,"
	" detail TEXT);"
	"CREATE TABLE agent_state_history ("
	" seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
	" client TEXT COLLATE \"C\" NOT NULL,"
	" state INTEGER NOT NULL,"
	" compliant INTEGER NOT NULL,"
	" hsr_revision BIGINT NOT NULL,"
	" hsr_digest TEXT NOT NULL,"
	" evaluated BIGINT NOT NULL,"
	" received BIGINT NOT NULL,"
	" missing TEXT NOT NULL,"
	" detail TEXT);"
	"CREATE INDEX agent_state_history_client ON agent_state_history (client, seq);",
	/* 2: HSR checks (doc/hsr.md "checks"); argv is a JSON array of strings */
	"CREATE TABLE checks ("
	" id TEXT COLLATE \"C\" PRIMARY KEY,"
	" type TEXT NOT NULL,"
	" severity TEXT NOT NULL,"
	" effective BIGINT NOT NULL,"
	" reason TEXT,"
	" max_age BIGINT NOT NULL DEFAULT 0,"
	" path TEXT,"
	" sha256 TEXT,"
	" unit TEXT,"
	" argv TEXT,"
	" expect_exit INTEGER NOT NULL DEFAULT 0,"
	" created BIGINT NOT NULL,"
	" updated BIGINT NOT NULL);",
	/* 3: status messages from napvd (doc/formats.md "status messages"), the latest per machine,
	 * what the ingester quarantined, and the SHV points napsited configures over SMB */
	"CREATE TABLE status_messages ("
	" id TEXT COLLATE \"C\" PRIMARY KEY,"
	" time BIGINT NOT NULL,"
	" received BIGINT NOT NULL,"
	" napvd TEXT NOT NULL,"
	" nas TEXT NOT NULL,"
	" client TEXT NOT NULL,"
	" machine TEXT COLLATE \"C\" NOT NULL,"
	" site TEXT NOT NULL,"
	" enforcement TEXT NOT NULL,"
	" result TEXT NOT NULL,"
	" branch TEXT NOT NULL,"
	" exemption TEXT,"
	" action TEXT NOT NULL,"
	" hsr_revision BIGINT NOT NULL,"
	" correlation_id TEXT NOT NULL);"
	"CREATE INDEX status_messages_machine ON status_messages (machine, time);"
	"CREATE INDEX status_messages_time ON status_messages (time);"
	"CREATE TABLE client_last ("
	" machine TEXT COLLATE \"C\" PRIMARY KEY,"
	" id TEXT NOT NULL,"
	" time BIGINT NOT NULL,"
	" first_seen BIGINT NOT NULL,"
	" napvd TEXT NOT NULL,"
	" nas TEXT NOT NULL,"
	" client TEXT NOT NULL,"
	" site TEXT NOT NULL,"
	" enforcement TEXT NOT NULL,"
	" result TEXT NOT NULL,"
	" branch TEXT NOT NULL,"
	" exemption TEXT,"
	" action TEXT NOT NULL,"
	" hsr_revision BIGINT NOT NULL,"
	" messages BIGINT NOT NULL);"
	"CREATE INDEX client_last_time ON client_last (time);"
	"CREATE TABLE status_quarantine ("
	" seq BIGSERIAL PRIMARY KEY,"
	" file TEXT NOT NULL,"
	" line BIGINT NOT NULL,"
	" reason TEXT NOT NULL,"
	" received BIGINT NOT NULL);"
	"CREATE TABLE shv_points ("
	" host TEXT COLLATE \"C\" PRIMARY KEY,"
	" url TEXT NOT NULL,"
	" credentials TEXT NOT NULL,"
	" settings TEXT NOT NULL,"
	" revision BIGINT NOT NULL,"
	" pushed_revision BIGINT NOT NULL DEFAULT 0,"
	" pushed BIGINT,"
	" status TEXT,"
	" status_detail TEXT,"
	" created BIGINT NOT NULL,"
	" updated BIGINT NOT NULL);",
	/* 4: the history report reads (time, machine, result) from the index alone; it replaces
	 * the index on time, its prefix */
	"DROP INDEX status_messages_time;"
	" CREATE INDEX status_messages_history"
	" ON status_messages (time, machine, result);",
	/* 5: the daily rollup the history report reads for day buckets (sqlite.c has the why) */
	"CREATE TABLE status_daily ("
	" day BIGINT NOT NULL,"
	" machine TEXT COLLATE \"C\" NOT NULL,"
	" v BIGINT NOT NULL,"
	" messages BIGINT NOT NULL,"
	" PRIMARY KEY (day, machine));"
	"INSERT INTO status_daily (day, machine, v, messages)"
	" SELECT time / 86400, machine,"
	" max(time * 2 + CASE WHEN result = 'compliant' THEN 0 ELSE 1 END), count(*)"
	" FROM status_messages GROUP BY 1, 2;",
	/* 6: a quarantined line is recorded once (sqlite.c has the why) */
	"DELETE FROM status_quarantine WHERE seq NOT IN"
	" (SELECT min(seq) FROM status_quarantine GROUP BY file, line);"
	"ALTER TABLE status_quarantine ADD COLUMN digest TEXT NOT NULL DEFAULT '';"
	"CREATE UNIQUE INDEX status_quarantine_once ON status_quarantine (file, digest, line);",
};

const struct store_ops nap_store_pg_ops = {
	.name = "postgresql",
	.open = pg_open,
	.close = pg_close,
	.begin = pg_begin,
	.commit = pg_commit,
	.rollback = pg_rollback,
	.script = pg_script,
	.query = pg_query,
	.batch = pg_batch,
	.next = pg_next,
	.is_null = pg_is_null,
	.text = pg_text,
	.int64 = pg_col_int64,
	.changes = pg_changes,
	.done = pg_done,
	.migrations = pg_migrations,
	.n_migrations = sizeof(pg_migrations) / sizeof(pg_migrations[0]),
};
