/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Inside the site store: the backend ops table that store.c drives, the parameter and cursor
 * model the SQL runs through, and the error helpers. SQL is written once, in the subset both
 * SQLite and PostgreSQL read the same way: $1.. parameters (SQLite binds them by name),
 * statements passed as static text (both backends keep them prepared, keyed by the string),
 * INSERT .. ON CONFLICT, RETURNING, no FOR UPDATE, integers for booleans. Only the schema
 * migrations and the transaction openings differ per backend.
 */
#ifndef NAP_STORE_INT_H
#define NAP_STORE_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nap/store.h"

/* How a transaction opens. */
enum store_tx {
	STORE_TX_READ,     /* a consistent read (pg: REPEATABLE READ READ ONLY) */
	STORE_TX_WRITE,    /* a write that does not touch the revision */
	STORE_TX_REVISION, /* a write that may bump the revision: serialized with all of its kind */
	STORE_TX_MIGRATE,  /* schema migrations: serialized between processes opening the store */
};

enum store_ptype { STORE_P_NULL, STORE_P_TEXT, STORE_P_INT };

struct store_param {
	enum store_ptype type;
	const char *s;
	int64_t i;
};

/* A text parameter (NULL becomes SQL NULL) and an integer one. */
#define SP_T(x)                                                                                    \
	{                                                                                          \
		.type = (x) != NULL ? STORE_P_TEXT : STORE_P_NULL, .s = (x)                        \
	}
#define SP_I(x)                                                                                    \
	{                                                                                          \
		.type = STORE_P_INT, .i = (int64_t)(x)                                             \
	}
/* Parameter array and its count, for the (params, n) argument pairs below. */
#define SP_ARGS(...)                                                                               \
	(const struct store_param[]){__VA_ARGS__},                                                 \
		(sizeof((const struct store_param[]){__VA_ARGS__}) / sizeof(struct store_param))
#define SP_NONE NULL, 0

#define STORE_MAX_PARAMS 16

/*
 * A status message's verdict for the history: time * 2 + (noncompliant ? 1 : 0), so that the
 * maximum over a bucket is its last verdict and a same-second tie goes to noncompliant
 * (report.c; status_daily.v holds it per day and machine, status.c).
 */
#define STATUS_VERDICT_V "time * 2 + CASE WHEN result = 'compliant' THEN 0 ELSE 1 END"

/* Backend cursor over the rows of one statement. */
struct store_cursor;

struct store_ops {
	const char *name; /* "sqlite", "postgresql" */
	/* Connect to conninfo (the URI with any "sqlite:" / "pg:" prefix removed). */
	int (*open)(struct nap_store *st, const char *conninfo, struct nap_store_err *err);
	void (*close)(struct nap_store *st);
	int (*begin)(struct nap_store *st, enum store_tx tx, struct nap_store_err *err);
	int (*commit)(struct nap_store *st, struct nap_store_err *err);
	void (*rollback)(struct nap_store *st);
	/* Run a script of several statements without parameters (migrations). */
	int (*script)(struct nap_store *st, const char *sql, struct nap_store_err *err);
	/*
	 * Run one statement. The first row (if any) is fetched before this returns, so constraint
	 * and other errors surface here: -EEXIST for a unique violation, -EAGAIN for a
	 * serialization failure or deadlock (the transaction is retried), -EBUSY, -EIO.
	 */
	int (*query)(struct nap_store *st, const char *sql, const struct store_param *p, size_t n,
		     struct store_cursor **out, struct nap_store_err *err);
	/*
	 * Run a statement whose rows and counts nobody reads. The backend may send it without
	 * waiting (PostgreSQL pipelines them); its error then surfaces at the next query, batch
	 * flush or commit, and the transaction fails whole.
	 */
	int (*batch)(struct nap_store *st, const char *sql, const struct store_param *p, size_t n,
		     struct nap_store_err *err);
	int (*next)(struct store_cursor *c, struct nap_store_err *err); /* 1 row, 0 end, <0 */
	bool (*is_null)(struct store_cursor *c, int col);
	const char *(*text)(struct store_cursor *c, int col); /* "" for NULL */
	int64_t (*int64)(struct store_cursor *c, int col);
	int64_t (*changes)(struct store_cursor *c); /* rows changed by an INSERT/UPDATE/DELETE */
	void (*done)(struct store_cursor *c);
	/* Numbered schema migrations: migrations[0] is version 1. */
	const char *const *migrations;
	size_t n_migrations;
};

struct nap_store {
	const struct store_ops *ops;
	void *db; /* backend state */
	pthread_mutex_t lock;
};

/*
 * The backend-neutral helpers of store.c, for the feature files (status.c, report.c,
 * lib/site/shv_store.c). store_run runs fn in one transaction (commit on 0, roll back
 * otherwise, a serialization failure runs it again: fn resets what it fills).
 */
typedef int (*store_tx_fn)(struct nap_store *st, void *ctx, struct nap_store_err *err);
int store_run(struct nap_store *st, enum store_tx tx, store_tx_fn fn, void *ctx,
	      struct nap_store_err *err);
/* Run a statement and skip its rows; *changes (may be NULL) gets the rows changed. */
int q_exec(struct nap_store *st, const char *sql, const struct store_param *p, size_t n,
	   int64_t *changes, struct nap_store_err *err);
/* A write whose result is not read (may be pipelined). */
int q_batch(struct nap_store *st, const char *sql, const struct store_param *p, size_t n,
	    struct nap_store_err *err);
/* The first column of the only row as an integer; -ENOENT when there is no row. */
int q_int(struct nap_store *st, const char *sql, const struct store_param *p, size_t n,
	  int64_t *out, struct nap_store_err *err);
/* A text column into a fixed buffer (-EIO when it does not fit), or as a new string (NULL for
 * SQL NULL; -ENOMEM through r). */
int col_copy(struct nap_store *st, struct store_cursor *c, int col, char *buf, size_t cap,
	     struct nap_store_err *err);
char *col_dup(struct nap_store *st, struct store_cursor *c, int col, int *r);

extern const struct store_ops nap_store_sqlite_ops;
extern const struct store_ops nap_store_pg_ops;

int nap_store_errf(struct nap_store_err *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Valid UTF-8 (no overlongs, surrogates or code points past U+10FFFF). */
bool nap_store_utf8_valid(const char *s);

/* Equality of what the HSR carries (not created/updated): a write that changes nothing is no
 * change and does not bump the revision. Exemption policies and group members compare as sets
 * given sorted arrays. */
bool nap_policy_equal(const struct nap_policy *a, const struct nap_policy *b);
bool nap_check_equal(const struct nap_check *a, const struct nap_check *b);
/* The HSR's canonical order of requirements: by package, then scheme name. */
int nap_policy_req_cmp(const struct nap_policy_req *a, const struct nap_policy_req *b);
/* p's requirements in that order, as pointers into p->reqs (out holds p->n_reqs). */
void nap_policy_reqs_sorted(const struct nap_policy *p, const struct nap_policy_req **out);

#endif
