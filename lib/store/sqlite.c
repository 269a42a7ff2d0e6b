// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * SQLite backend of the site store: one database file in WAL mode with synchronous=FULL (a
 * committed change survives a power cut), a 5 s busy timeout, foreign keys on. Writers open
 * their transactions with BEGIN IMMEDIATE, so two processes writing at once queue on the
 * database lock instead of failing halfway. Statements are prepared once and kept per SQL text;
 * the store's "$N" parameters are SQLite named parameters, bound through a per-statement map.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "store-int.h"

#define SQ_BUSY_TIMEOUT_MS 5000
#define SQ_CACHE_SIZE      128 /* distinct statements kept prepared */

struct store_cursor {
	struct sq_db *d;
	sqlite3_stmt *stmt;
	bool owned;   /* not from the cache: finalize when done */
	bool pending; /* the first row was fetched by query() and not yet returned */
	bool busy;    /* in use (cache entries) */
};

struct sq_entry {
	const char *sql;               /* the caller's string: the store's SQL is static text */
	int map[STORE_MAX_PARAMS + 1]; /* $N -> SQLite parameter index, 0 when absent */
	struct store_cursor cur;
};

struct sq_db {
	sqlite3 *db;
	struct sq_entry cache[SQ_CACHE_SIZE];
	size_t n_cache;
};

/* Map an SQLite result to the store's codes, with SQLite's message. */
static int
sq_err(struct sq_db *d, int rc, const char *what, struct nap_store_err *err)
{
	int ext = sqlite3_extended_errcode(d->db);

	switch (rc & 0xff) {
	case SQLITE_CONSTRAINT:
		if (ext == SQLITE_CONSTRAINT_PRIMARYKEY || ext == SQLITE_CONSTRAINT_UNIQUE)
			return nap_store_errf(err, -EEXIST, "%s: %s", what, sqlite3_errmsg(d->db));
		break;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return nap_store_errf(err, -EBUSY, "%s: database locked past %d ms", what,
				      SQ_BUSY_TIMEOUT_MS);
	case SQLITE_NOMEM:
		return nap_store_errf(err, -ENOMEM, "%s: out of memory", what);
	default:
		break;
	}
	return nap_store_errf(err, -EIO, "%s: %s", what, sqlite3_errmsg(d->db));
}

static int
sq_exec(struct sq_db *d, const char *sql, struct nap_store_err *err)
{
	int rc = sqlite3_exec(d->db, sql, NULL, NULL, NULL);

	return rc == SQLITE_OK ? 0 : sq_err(d, rc, "sqlite", err);
}

static int
sq_open(struct nap_store *st, const char *path, struct nap_store_err *err)
{
	static const char *const pragmas[] = {
		"PRAGMA foreign_keys = ON",
		"PRAGMA synchronous = FULL",
		"PRAGMA trusted_schema = OFF",
	};
	struct sq_db *d;
	sqlite3_stmt *stmt;
	int rc, r;

	d = calloc(1, sizeof(*d));
	if (d == NULL)
		return nap_store_errf(err, -ENOMEM, "out of memory");
	rc = sqlite3_open_v2(path, &d->db,
			     SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX |
				     SQLITE_OPEN_EXRESCODE,
			     NULL);
	if (rc != SQLITE_OK) {
		r = nap_store_errf(err, -EIO, "sqlite %s: %s", path,
				   d->db != NULL ? sqlite3_errmsg(d->db) : sqlite3_errstr(rc));
		sqlite3_close(d->db);
		free(d);
		return r;
	}
	sqlite3_busy_timeout(d->db, SQ_BUSY_TIMEOUT_MS);
	st->db = d;
	/* WAL: readers never wait for the writer, napsited polls while napctl writes. */
	rc = sqlite3_prepare_v2(d->db, "PRAGMA journal_mode = WAL", -1, &stmt, NULL);
	if (rc == SQLITE_OK) {
		rc = sqlite3_step(stmt);
		if (rc == SQLITE_ROW) {
			const char *mode = (const char *)sqlite3_column_text(stmt, 0);

			/* An in-memory database answers "memory"; anything else is a failure. */
			if (mode == NULL ||
			    (strcmp(mode, "wal") != 0 && strcmp(mode, "memory") != 0))
				rc = SQLITE_CANTOPEN;
			else
				rc = SQLITE_OK;
		}
		sqlite3_finalize(stmt);
	}
	if (rc != SQLITE_OK) {
		r = rc == SQLITE_CANTOPEN
			    ? nap_store_errf(err, -EIO, "sqlite %s: cannot switch to WAL mode",
					     path)
			    : sq_err(d, rc, path, err);
		goto fail;
	}
	for (size_t i = 0; i < sizeof(pragmas) / sizeof(pragmas[0]); i++) {
		r = sq_exec(d, pragmas[i], err);
		if (r < 0)
			goto fail;
	}
	return 0;
fail:
	sqlite3_close(d->db);
	free(d);
	st->db = NULL;
	return r;
}

static void
sq_close(struct nap_store *st)
{
	struct sq_db *d = st->db;

	if (d == NULL)
		return;
	for (size_t i = 0; i < d->n_cache; i++)
		sqlite3_finalize(d->cache[i].cur.stmt);
	sqlite3_close(d->db);
	free(d);
	st->db = NULL;
}

static int
sq_begin(struct nap_store *st, enum store_tx tx, struct nap_store_err *err)
{
	struct sq_db *d = st->db;

	/* A read transaction sees one snapshot from its first read to its end (WAL). */
	return sq_exec(d, tx == STORE_TX_READ ? "BEGIN DEFERRED" : "BEGIN IMMEDIATE", err);
}

static int
sq_commit(struct nap_store *st, struct nap_store_err *err)
{
	return sq_exec(st->db, "COMMIT", err);
}

static void
sq_rollback(struct nap_store *st)
{
	struct sq_db *d = st->db;

	if (!sqlite3_get_autocommit(d->db))
		sqlite3_exec(d->db, "ROLLBACK", NULL, NULL, NULL);
}

static int
sq_script(struct nap_store *st, const char *sql, struct nap_store_err *err)
{
	return sq_exec(st->db, sql, err);
}

/* Fill the $N -> index map of a prepared statement. */
static int
sq_map(sqlite3_stmt *stmt, int map[STORE_MAX_PARAMS + 1])
{
	int count = sqlite3_bind_parameter_count(stmt);

	memset(map, 0, (STORE_MAX_PARAMS + 1) * sizeof(map[0]));
	for (int i = 1; i <= count; i++) {
		const char *name = sqlite3_bind_parameter_name(stmt, i);
		char *end;
		long n;

		if (name == NULL || name[0] != '$')
			return -1;
		n = strtol(name + 1, &end, 10);
		if (*end != '\0' || n < 1 || n > STORE_MAX_PARAMS)
			return -1;
		map[n] = i;
	}
	return 0;
}

static int
sq_query(struct nap_store *st, const char *sql, const struct store_param *p, size_t n,
	 struct store_cursor **out, struct nap_store_err *err)
{
	struct sq_db *d = st->db;
	struct sq_entry *e = NULL, tmp;
	struct store_cursor *c;
	bool keep;
	int rc, r;

	*out = NULL;
	if (n > STORE_MAX_PARAMS)
		return nap_store_errf(err, -EINVAL, "too many parameters");
	/* The store's SQL is static text: the pointer usually finds it, the text always. */
	for (size_t i = 0; i < d->n_cache && e == NULL; i++) {
		if (d->cache[i].sql == sql)
			e = &d->cache[i];
	}
	for (size_t i = 0; i < d->n_cache && e == NULL; i++) {
		if (strcmp(d->cache[i].sql, sql) == 0)
			e = &d->cache[i];
	}
	keep = e == NULL && d->n_cache < SQ_CACHE_SIZE;
	if (e != NULL && e->cur.busy)
		e = NULL; /* nested use of one statement: a second, uncached one */
	if (e == NULL) {
		memset(&tmp, 0, sizeof(tmp));
		rc = sqlite3_prepare_v3(d->db, sql, -1, keep ? SQLITE_PREPARE_PERSISTENT : 0,
					&tmp.cur.stmt, NULL);
		if (rc != SQLITE_OK)
			return sq_err(d, rc, "prepare", err);
		if (sq_map(tmp.cur.stmt, tmp.map) < 0) {
			sqlite3_finalize(tmp.cur.stmt);
			return nap_store_errf(err, -EINVAL, "statement parameters are not $1..$%d",
					      STORE_MAX_PARAMS);
		}
		tmp.sql = sql;
		tmp.cur.d = d;
		if (keep) {
			d->cache[d->n_cache] = tmp;
			e = &d->cache[d->n_cache++];
			c = &e->cur;
		} else {
			c = malloc(sizeof(*c));
			if (c == NULL) {
				sqlite3_finalize(tmp.cur.stmt);
				return nap_store_errf(err, -ENOMEM, "out of memory");
			}
			*c = tmp.cur;
			c->owned = true;
			e = &tmp;
		}
	} else {
		c = &e->cur;
	}
	c->busy = true;
	c->pending = false;
	for (size_t i = 0; i < n; i++) {
		int idx = e->map[i + 1];

		if (idx == 0)
			continue;
		switch (p[i].type) {
		case STORE_P_NULL:
			rc = sqlite3_bind_null(c->stmt, idx);
			break;
		case STORE_P_TEXT:
			rc = sqlite3_bind_text(c->stmt, idx, p[i].s, -1, SQLITE_STATIC);
			break;
		case STORE_P_INT:
		default:
			rc = sqlite3_bind_int64(c->stmt, idx, p[i].i);
			break;
		}
		if (rc != SQLITE_OK) {
			r = sq_err(d, rc, "bind", err);
			st->ops->done(c);
			return r;
		}
	}
	rc = sqlite3_step(c->stmt);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		r = sq_err(d, rc, "sqlite", err);
		st->ops->done(c);
		return r;
	}
	c->pending = rc == SQLITE_ROW;
	*out = c;
	return 0;
}

static void sq_done(struct store_cursor *c);
static int sq_next(struct store_cursor *c, struct nap_store_err *err);

/* SQLite has no round trips to save: run it now. */
static int
sq_batch(struct nap_store *st, const char *sql, const struct store_param *p, size_t n,
	 struct nap_store_err *err)
{
	struct store_cursor *c;
	int r;

	r = sq_query(st, sql, p, n, &c, err);
	if (r < 0)
		return r;
	while ((r = sq_next(c, err)) > 0)
		;
	sq_done(c);
	return r;
}

static int
sq_next(struct store_cursor *c, struct nap_store_err *err)
{
	int rc;

	if (c->pending) {
		c->pending = false;
		return 1;
	}
	if (sqlite3_stmt_busy(c->stmt) == 0)
		return 0; /* ran to its end already */
	rc = sqlite3_step(c->stmt);
	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	return sq_err(c->d, rc, "sqlite", err);
}

static bool
sq_is_null(struct store_cursor *c, int col)
{
	return sqlite3_column_type(c->stmt, col) == SQLITE_NULL;
}

static const char *
sq_text(struct store_cursor *c, int col)
{
	const unsigned char *s = sqlite3_column_text(c->stmt, col);

	return s != NULL ? (const char *)s : "";
}

static int64_t
sq_int64(struct store_cursor *c, int col)
{
	return sqlite3_column_int64(c->stmt, col);
}

static int64_t
sq_changes(struct store_cursor *c)
{
	return sqlite3_changes64(c->d->db);
}

static void
sq_done(struct store_cursor *c)
{
	if (c == NULL)
		return;
	sqlite3_reset(c->stmt);
	sqlite3_clear_bindings(c->stmt);
	c->busy = false;
	c->pending = false;
	if (c->owned) {
		sqlite3_finalize(c->stmt);
		free(c);
	}
}

/*
 * Schema migrations, in order; version N is migrations[N - 1]. Never edit one that shipped:
 * add the next. pg.c holds the same versions in PostgreSQL's dialect.
 */
static const char *const sq_migrations[] = {
	/* 1: the initial schema */
	"CREATE TABLE meta ("
	" id INTEGER PRIMARY KEY CHECK (id = 1),"
	" revision INTEGER NOT NULL,"
	" changed INTEGER NOT NULL);"
	"INSERT INTO meta (id, revision, changed) VALUES (1, 0, 0);"
	"CREATE TABLE policies ("
	" id TEXT PRIMARY KEY,"
	" severity TEXT NOT NULL,"
	" effective INTEGER NOT NULL,"
	" reason TEXT,"
	" created INTEGER NOT NULL,"
	" updated INTEGER NOT NULL);"
	"CREATE TABLE policy_reqs ("
	" policy_id TEXT NOT NULL REFERENCES policies (id) ON DELETE CASCADE,"
	" seq INTEGER NOT NULL,"
	" package TEXT NOT NULL,"
	" min_version TEXT NOT NULL,"
	" scheme TEXT NOT NULL,"
	" PRIMARY KEY (policy_id, seq));"
	"CREATE TABLE exemptions ("
	" id TEXT PRIMARY KEY,"
	" client TEXT,"
	" group_name TEXT,"
	" valid_from INTEGER NOT NULL,"
	" valid_until INTEGER NOT NULL,"
	" reason TEXT,"
	" created INTEGER NOT NULL,"
	" CHECK ((client IS NULL) <> (group_name IS NULL)));"
	"CREATE TABLE exemption_policies ("
	" exemption_id TEXT NOT NULL REFERENCES exemptions (id) ON DELETE CASCADE,"
	" policy_id TEXT NOT NULL,"
	" PRIMARY KEY (exemption_id, policy_id));"
	"CREATE TABLE client_groups ("
	" name TEXT PRIMARY KEY,"
	" created INTEGER NOT NULL,"
	" updated INTEGER NOT NULL);"
	"CREATE TABLE group_members ("
	" group_name TEXT NOT NULL REFERENCES client_groups (name) ON DELETE CASCADE,"
	" member TEXT NOT NULL,"
	" PRIMARY KEY (group_name, member));"
	"CREATE TABLE publish_records ("
	" site TEXT PRIMARY KEY,"
	" revision INTEGER NOT NULL,"
	" published INTEGER NOT NULL,"
	" target TEXT NOT NULL);"
	"CREATE TABLE agent_tokens ("
	" hash TEXT PRIMARY KEY,"
	" client TEXT NOT NULL,"
	" created INTEGER NOT NULL,"
	" expires INTEGER NOT NULL,"
	" used INTEGER);"
	"CREATE TABLE agent_certs ("
	" serial TEXT PRIMARY KEY,"
	" client TEXT NOT NULL,"
	" issued INTEGER NOT NULL,"
	" not_after INTEGER NOT NULL,"
	" revoked INTEGER NOT NULL DEFAULT 0);"
	"CREATE INDEX agent_certs_client ON agent_certs (client);"
	"CREATE TABLE agent_state ("
	" client TEXT PRIMARY KEY,"
	" state INTEGER NOT NULL,"
	" compliant INTEGER NOT NULL,"
	" hsr_revision INTEGER NOT NULL,"
	" hsr_digest TEXT NOT NULL,"
	" evaluated INTEGER NOT NULL,"
	" received INTEGER NOT NULL,"
	" missing TEXT NOT NULL,"
	" detail TEXT);"
	"CREATE TABLE agent_state_history ("
	" seq INTEGER PRIMARY KEY AUTOINCREMENT,"
	" client TEXT NOT NULL,"
	" state INTEGER NOT NULL,"
	" compliant INTEGER NOT NULL,"
	" hsr_revision INTEGER NOT NULL,"
	" hsr_digest TEXT NOT NULL,"
	" evaluated INTEGER NOT NULL,"
	" received INTEGER NOT NULL,"
	" missing TEXT NOT NULL,"
	" detail TEXT);"
	"CREATE INDEX agent_state_history_client ON agent_state_history (client, seq);",
	/* 2: HSR checks (doc/hsr.md "checks"); argv is a JSON array of strings */
	"CREATE TABLE checks ("
	" id TEXT PRIMARY KEY,"
	" type TEXT NOT NULL,"
	" severity TEXT NOT NULL,"
	" effective INTEGER NOT NULL,"
	" reason TEXT,"
	" max_age INTEGER NOT NULL DEFAULT 0,"
	" path TEXT,"
	" sha256 TEXT,"
	" unit TEXT,"
	" argv TEXT,"
	" expect_exit INTEGER NOT NULL DEFAULT 0,"
	" created INTEGER NOT NULL,"
	" updated INTEGER NOT NULL);",
	/* 3: status messages from napvd (doc/formats.md "status messages"), the latest per machine,
	 * what the ingester quarantined, and the SHV points napsited configures over SMB */
	"CREATE TABLE status_messages ("
	" id TEXT PRIMARY KEY,"
	" time INTEGER NOT NULL,"
	" received INTEGER NOT NULL,"
	" napvd TEXT NOT NULL,"
	" nas TEXT NOT NULL,"
	" client TEXT NOT NULL,"
	" machine TEXT NOT NULL,"
	" site TEXT NOT NULL,"
	" enforcement TEXT NOT NULL,"
	" result TEXT NOT NULL,"
	" branch TEXT NOT NULL,"
	" exemption TEXT,"
	" action TEXT NOT NULL,"
	" hsr_revision INTEGER NOT NULL,"
	" correlation_id TEXT NOT NULL);"
	"CREATE INDEX status_messages_machine ON status_messages (machine, time);"
	"CREATE INDEX status_messages_time ON status_messages (time);"
	"CREATE TABLE client_last ("
	" machine TEXT PRIMARY KEY,"
	" id TEXT NOT NULL,"
	" time INTEGER NOT NULL,"
	" first_seen INTEGER NOT NULL,"
	" napvd TEXT NOT NULL,"
	" nas TEXT NOT NULL,"
	" client TEXT NOT NULL,"
	" site TEXT NOT NULL,"
	" enforcement TEXT NOT NULL,"
	" result TEXT NOT NULL,"
	" branch TEXT NOT NULL,"
	" exemption TEXT,"
	" action TEXT NOT NULL,"
	" hsr_revision INTEGER NOT NULL,"
	" messages INTEGER NOT NULL);"
	"CREATE INDEX client_last_time ON client_last (time);"
	"CREATE TABLE status_quarantine ("
	" seq INTEGER PRIMARY KEY AUTOINCREMENT,"
	" file TEXT NOT NULL,"
	" line INTEGER NOT NULL,"
	" reason TEXT NOT NULL,"
	" received INTEGER NOT NULL);"
	"CREATE TABLE shv_points ("
	" host TEXT PRIMARY KEY,"
	" url TEXT NOT NULL,"
	" credentials TEXT NOT NULL,"
	" settings TEXT NOT NULL,"
	" revision INTEGER NOT NULL,"
	" pushed_revision INTEGER NOT NULL DEFAULT 0,"
	" pushed INTEGER,"
	" status TEXT,"
	" status_detail TEXT,"
	" created INTEGER NOT NULL,"
	" updated INTEGER NOT NULL);",
	/* 4: the history report reads (time, machine, result) from the index alone; it replaces
	 * the index on time, its prefix */
	"DROP INDEX status_messages_time;"
	" CREATE INDEX status_messages_history"
	" ON status_messages (time, machine, result);",
	/* 5: the daily rollup the history report reads for day buckets: per day and machine the
	 * message count and max(time * 2 + noncompliant), the day's last verdict (report.c);
	 * kept by the ingester (status.c; an explicit upsert: a trigger measured twice as dear
	 * per row); rows stay when messages are pruned */
	"CREATE TABLE status_daily ("
	" day INTEGER NOT NULL,"
	" machine TEXT NOT NULL,"
	" v INTEGER NOT NULL,"
	" messages INTEGER NOT NULL,"
	" PRIMARY KEY (day, machine)) WITHOUT ROWID;"
	"INSERT INTO status_daily (day, machine, v, messages)"
	" SELECT time / 86400, machine, max(time * 2 + (result <> 'compliant')), count(*)"
	" FROM status_messages GROUP BY 1, 2;",
	/* 6: a quarantined line is recorded once: a file read again (napsited stopped between its
	 * rows and moving it, or its messages refused by the store and retried) adds no row; the
	 * digest of the file's bytes keeps a later, different file of the same name apart */
	"DELETE FROM status_quarantine WHERE seq NOT IN"
	" (SELECT min(seq) FROM status_quarantine GROUP BY file, line);"
	"ALTER TABLE status_quarantine ADD COLUMN digest TEXT NOT NULL DEFAULT '';"
	"CREATE UNIQUE INDEX status_quarantine_once ON status_quarantine (file, digest, line);",
};

const struct store_ops nap_store_sqlite_ops = {
	.name = "sqlite",
	.open = sq_open,
	.close = sq_close,
	.begin = sq_begin,
	.commit = sq_commit,
	.rollback = sq_rollback,
	.script = sq_script,
	.query = sq_query,
	.batch = sq_batch,
	.next = sq_next,
	.is_null = sq_is_null,
	.text = sq_text,
	.int64 = sq_int64,
	.changes = sq_changes,
	.done = sq_done,
	.migrations = sq_migrations,
	.n_migrations = sizeof(sq_migrations) / sizeof(sq_migrations[0]),
};
