// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * The site store, backend-neutral: URI dispatch, migrations, the transaction runner (retries a
 * serialization failure) and every operation of include/nap/store.h written once in the SQL both
 * backends read. Each write that alters what the HSR carries bumps the revision in its own
 * transaction; a rejected or no-op write changes nothing. Input passes the checks in check.c
 * before any SQL runs; values read back are bounded again before they land in fixed buffers.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "nap/util.h"
#include "store-int.h"

#define STORE_RETRIES 8 /* serialization failures retried before giving up */

static const struct {
	const char *prefix;
	const struct store_ops *ops;
	bool strip; /* pass the rest after the prefix, not the whole URI */
} store_schemes[] = {
	{"sqlite:", &nap_store_sqlite_ops, true},
	{"postgresql://", &nap_store_pg_ops, false},
	{"postgres://", &nap_store_pg_ops, false},
	{"pg:", &nap_store_pg_ops, true},
};

static int
store_oom(struct nap_store_err *err)
{
	return nap_store_errf(err, -ENOMEM, "out of memory");
}

static int64_t
store_now(void)
{
	return (int64_t)time(NULL);
}

/*
 * Run fn in one transaction: commit when it returns 0, roll back otherwise. A serialization
 * failure (-EAGAIN, PostgreSQL) runs the whole transaction again after a short pause; fn must
 * therefore reset whatever it fills before it starts.
 */
int
store_run(struct nap_store *st, enum store_tx tx, store_tx_fn fn, void *ctx,
	  struct nap_store_err *err)
{
	int r;

	pthread_mutex_lock(&st->lock);
	for (unsigned attempt = 0;; attempt++) {
		r = st->ops->begin(st, tx, err);
		if (r == 0) {
			r = fn(st, ctx, err);
			if (r == 0)
				r = st->ops->commit(st, err);
			if (r < 0)
				st->ops->rollback(st);
		}
		if (r != -EAGAIN || attempt + 1 >= STORE_RETRIES)
			break;
		usleep(1000u << (attempt < 6 ? attempt : 6));
	}
	pthread_mutex_unlock(&st->lock);
	if (r == -EAGAIN)
		r = nap_store_errf(err, -EBUSY,
				   "transaction conflicted %d times with concurrent ones",
				   STORE_RETRIES);
	return r;
}

/* ---- query helpers ---- */

int
q_exec(struct nap_store *st, const char *sql, const struct store_param *p, size_t n,
       int64_t *changes, struct nap_store_err *err)
{
	struct store_cursor *c;
	int r;

	r = st->ops->query(st, sql, p, n, &c, err);
	if (r < 0)
		return r;
	while ((r = st->ops->next(c, err)) > 0)
		;
	if (r == 0 && changes != NULL)
		*changes = st->ops->changes(c);
	st->ops->done(c);
	return r;
}

/* A write whose result is not read: the backend may send it without waiting (pipelining). */
int
q_batch(struct nap_store *st, const char *sql, const struct store_param *p, size_t n,
	struct nap_store_err *err)
{
	return st->ops->batch(st, sql, p, n, err);
}

/* The first column of the only row as an integer; -ENOENT when there is no row. */
int
q_int(struct nap_store *st, const char *sql, const struct store_param *p, size_t n, int64_t *out,
      struct nap_store_err *err)
{
	struct store_cursor *c;
	int r;

	r = st->ops->query(st, sql, p, n, &c, err);
	if (r < 0)
		return r;
	r = st->ops->next(c, err);
	if (r > 0) {
		*out = st->ops->int64(c, 0);
		r = 0;
	} else if (r == 0) {
		r = -ENOENT;
	}
	st->ops->done(c);
	return r;
}

/* Copy a text column into a fixed buffer; a value that does not fit is a corrupt row. */
int
col_copy(struct nap_store *st, struct store_cursor *c, int col, char *buf, size_t cap,
	 struct nap_store_err *err)
{
	const char *s = st->ops->text(c, col);
	size_t n = strlen(s);

	if (n >= cap)
		return nap_store_errf(err, -EIO, "database holds a value longer than %zu bytes",
				      cap - 1);
	memcpy(buf, s, n + 1);
	return 0;
}

/* A text column as a new string, NULL for SQL NULL; -ENOMEM through r. */
char *
col_dup(struct nap_store *st, struct store_cursor *c, int col, int *r)
{
	char *s;

	if (st->ops->is_null(c, col))
		return NULL;
	s = strdup(st->ops->text(c, col));
	if (s == NULL)
		*r = -ENOMEM;
	return s;
}

/* Grow an array of elements of size sz to hold one more; capacity doubles. */
static int
store_grow(void **v, size_t *cap, size_t n, size_t sz)
{
	size_t ncap;
	void *nv;

	if (n < *cap)
		return 0;
	ncap = *cap == 0 ? 16 : *cap * 2;
	nv = realloc(*v, ncap * sz);
	if (nv == NULL)
		return -ENOMEM;
	memset((char *)nv + *cap * sz, 0, (ncap - *cap) * sz);
	*v = nv;
	*cap = ncap;
	return 0;
}

static int
store_strcmp_p(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* A sorted copy of an array of strings (the strings are not copied). */
static const char **
store_sorted(char *const *v, size_t n)
{
	const char **s = malloc((n > 0 ? n : 1) * sizeof(*s));

	if (s == NULL)
		return NULL;
	if (n > 0)
		memcpy(s, v, n * sizeof(*s));
	qsort(s, n, sizeof(*s), store_strcmp_p);
	return s;
}

/* ---- open, close, migrations ---- */

static int
migrate_step(struct nap_store *st, void *ctx, struct nap_store_err *err)
{
	bool *done = ctx;
	struct nap_store_err e = {{0}};
	int64_t cur = 0;
	int r;

	*done = false;
	r = st->ops->script(st,
			    "CREATE TABLE IF NOT EXISTS schema_migrations ("
			    "version INTEGER PRIMARY KEY, applied BIGINT NOT NULL)",
			    err);
	if (r < 0)
		return r;
	r = q_int(st, "SELECT coalesce(max(version), 0) FROM schema_migrations", SP_NONE, &cur,
		  err);
	if (r < 0)
		return r;
	if (cur > (int64_t)st->ops->n_migrations)
		return nap_store_errf(err, -EPROTO,
				      "database schema version %lld is newer than this program's "
				      "(%zu): upgrade nap",
				      (long long)cur, st->ops->n_migrations);
	if (cur == (int64_t)st->ops->n_migrations) {
		*done = true;
		return 0;
	}
	r = st->ops->script(st, st->ops->migrations[cur], &e);
	if (r < 0)
		return nap_store_errf(err, r, "schema migration %lld: %s", (long long)cur + 1,
				      e.msg);
	return q_exec(st, "INSERT INTO schema_migrations (version, applied) VALUES ($1, $2)",
		      SP_ARGS(SP_I(cur + 1), SP_I(store_now())), NULL, err);
}

static int
schema_version_tx(struct nap_store *st, void *ctx, struct nap_store_err *err)
{
	return q_int(st, "SELECT coalesce(max(version), 0) FROM schema_migrations", SP_NONE, ctx,
		     err);
}

/* Apply the migrations the database lacks, one transaction each. */
static int
store_migrate(struct nap_store *st, struct nap_store_err *err)
{
	bool done = false;
	int64_t cur = 0;
	int r;

	/*
	 * A store already at this version is only read: no lock, no DDL, so a role without the
	 * right to create tables (napsited's, once an administrator migrated) can open it.
	 */
	r = store_run(st, STORE_TX_READ, schema_version_tx, &cur, NULL);
	if (r == 0 && cur == (int64_t)st->ops->n_migrations)
		return 0;
	while (!done) {
		r = store_run(st, STORE_TX_MIGRATE, migrate_step, &done, err);
		if (r < 0)
			return r;
	}
	return 0;
}

int
nap_store_schema_latest(void)
{
	return (int)nap_store_sqlite_ops.n_migrations;
}

int
nap_store_open(const char *uri, struct nap_store **out, struct nap_store_err *err)
{
	const struct store_ops *ops = &nap_store_sqlite_ops;
	const char *conninfo = uri;
	struct nap_store *st;
	int r;

	*out = NULL;
	if (uri == NULL || uri[0] == '\0')
		return nap_store_errf(err, -EINVAL, "empty store URI");
	for (size_t i = 0; i < NAP_ARRAY_SIZE(store_schemes); i++) {
		size_t n = strlen(store_schemes[i].prefix);

		if (strncmp(uri, store_schemes[i].prefix, n) == 0) {
			ops = store_schemes[i].ops;
			conninfo = store_schemes[i].strip ? uri + n : uri;
			break;
		}
	}
	if (ops == &nap_store_sqlite_ops && conninfo == uri && strstr(uri, "://") != NULL)
		return nap_store_errf(
			err, -EINVAL,
			"store URI %s: unknown scheme (sqlite:PATH, postgresql://...)", uri);
	if (conninfo[0] == '\0')
		return nap_store_errf(err, -EINVAL, "store URI %s: nothing after the scheme", uri);
	/* Both backends must know the same schema versions. */
	if (nap_store_sqlite_ops.n_migrations != nap_store_pg_ops.n_migrations)
		return nap_store_errf(err, -EPROTO, "backends disagree on the schema version");
	st = calloc(1, sizeof(*st));
	if (st == NULL)
		return store_oom(err);
	pthread_mutex_init(&st->lock, NULL);
	st->ops = ops;
	r = ops->open(st, conninfo, err);
	if (r < 0) {
		pthread_mutex_destroy(&st->lock);
		free(st);
		return r;
	}
	r = store_migrate(st, err);
	if (r < 0) {
		nap_store_close(st);
		return r;
	}
	*out = st;
	return 0;
}

void
nap_store_close(struct nap_store *st)
{
	if (st == NULL)
		return;
	st->ops->close(st);
	pthread_mutex_destroy(&st->lock);
	free(st);
}

const char *
nap_store_backend(const struct nap_store *st)
{
	return st->ops->name;
}

int
nap_store_schema_version(struct nap_store *st, int *version)
{
	int64_t v = 0;
	int r;

	r = store_run(st, STORE_TX_READ, schema_version_tx, &v, NULL);
	if (r < 0)
		return r;
	*version = (int)v;
	return 0;
}

/* ---- the revision ---- */

static int
revision_read(struct nap_store *st, uint64_t *revision, int64_t *changed, struct nap_store_err *err)
{
	struct store_cursor *c;
	int r;

	r = st->ops->query(st, "SELECT revision, changed FROM meta WHERE id = 1", SP_NONE, &c, err);
	if (r < 0)
		return r;
	r = st->ops->next(c, err);
	if (r > 0) {
		if (revision != NULL)
			*revision = (uint64_t)st->ops->int64(c, 0);
		if (changed != NULL)
			*changed = st->ops->int64(c, 1);
		r = 0;
	} else if (r == 0) {
		r = nap_store_errf(err, -EIO, "database has no revision row");
	}
	st->ops->done(c);
	return r;
}

static int
revision_bump(struct nap_store *st, uint64_t *revision, struct nap_store_err *err)
{
	int64_t v;
	int r;

	r = q_int(st,
		  "UPDATE meta SET revision = revision + 1, changed = $1 WHERE id = 1 "
		  "RETURNING revision",
		  SP_ARGS(SP_I(store_now())), &v, err);
	if (r == -ENOENT)
		return nap_store_errf(err, -EIO, "database has no revision row");
	if (r == 0)
		*revision = (uint64_t)v;
	return r;
}

struct revision_ctx {
	uint64_t revision;
	int64_t changed;
};

static int
revision_tx(struct nap_store *st, void *arg, struct nap_store_err *err)
{
	struct revision_ctx *ctx = arg;

	return revision_read(st, &ctx->revision, &ctx->changed, err);
}

int
nap_store_revision(struct nap_store *st, uint64_t *revision, int64_t *changed,
		   struct nap_store_err *err)
{
	struct revision_ctx ctx = {0};
	int r;

	r = store_run(st, STORE_TX_READ, revision_tx, &ctx, err);
	if (r < 0)
		return r;
	if (revision != NULL)
		*revision = ctx.revision;
	if (changed != NULL)
		*changed = ctx.changed;
	return 0;
}

/* ---- policies ---- */

#define POLICY_COLS "id, severity, effective, reason, created, updated"

static int
scheme_from_text(const char *s, enum nap_version_scheme *out, struct nap_store_err *err)
{
	if (strcmp(s, "dpkg") == 0)
		*out = NAP_SCHEME_DPKG;
	else if (strcmp(s, "rpm") == 0)
		*out = NAP_SCHEME_RPM;
	else
		return nap_store_errf(err, -EIO, "database holds an unknown scheme");
	return 0;
}

static int
policy_from_row(struct nap_store *st, struct store_cursor *c, struct nap_policy *p,
		struct nap_store_err *err)
{
	int r = 0;

	memset(p, 0, sizeof(*p));
	if ((r = col_copy(st, c, 0, p->id, sizeof(p->id), err)) < 0 ||
	    (r = col_copy(st, c, 1, p->severity, sizeof(p->severity), err)) < 0)
		return r;
	p->effective = st->ops->int64(c, 2);
	p->reason = col_dup(st, c, 3, &r);
	p->created = st->ops->int64(c, 4);
	p->updated = st->ops->int64(c, 5);
	return r < 0 ? store_oom(err) : 0;
}

/* Append a requirement from a row (package, min_version, scheme at columns col..col+2). */
static int
policy_req_from_row(struct nap_store *st, struct store_cursor *c, int col, struct nap_policy *p,
		    struct nap_store_err *err)
{
	struct nap_policy_req *q;
	enum nap_version_scheme scheme = NAP_SCHEME_DPKG;
	int r;

	if (p->n_reqs >= NAP_POLICY_MAX_REQS)
		return nap_store_errf(err, -EIO, "policy %s: database holds too many packages",
				      p->id);
	r = scheme_from_text(st->ops->text(c, col + 2), &scheme, err);
	if (r < 0)
		return r;
	q = realloc(p->reqs, (p->n_reqs + 1) * sizeof(*q));
	if (q == NULL)
		return store_oom(err);
	p->reqs = q;
	q = &p->reqs[p->n_reqs];
	q->package = strdup(st->ops->text(c, col));
	q->min_version = strdup(st->ops->text(c, col + 1));
	q->scheme = scheme;
	if (q->package == NULL || q->min_version == NULL) {
		free(q->package);
		free(q->min_version);
		return store_oom(err);
	}
	p->n_reqs++;
	return 0;
}

static int
policy_load(struct nap_store *st, const char *id, struct nap_policy *p, struct nap_store_err *err)
{
	struct store_cursor *c;
	int r;

	memset(p, 0, sizeof(*p));
	r = st->ops->query(st, "SELECT " POLICY_COLS " FROM policies WHERE id = $1",
			   SP_ARGS(SP_T(id)), &c, err);
	if (r < 0)
		return r;
	r = st->ops->next(c, err);
	if (r > 0)
		r = policy_from_row(st, c, p, err);
	else if (r == 0)
		r = nap_store_errf(err, -ENOENT, "no policy %s", id);
	st->ops->done(c);
	if (r < 0)
		goto fail;
	r = st->ops->query(st,
			   "SELECT package, min_version, scheme FROM policy_reqs "
			   "WHERE policy_id = $1 ORDER BY seq",
			   SP_ARGS(SP_T(id)), &c, err);
	if (r < 0)
		goto fail;
	while ((r = st->ops->next(c, err)) > 0) {
		r = policy_req_from_row(st, c, 0, p, err);
		if (r < 0)
			break;
	}
	st->ops->done(c);
	if (r < 0)
		goto fail;
	return 0;
fail:
	nap_policy_clear(p);
	return r;
}

static int
policy_load_all(struct nap_store *st, struct nap_policy_list **out, struct nap_store_err *err)
{
	struct nap_policy_list *l;
	struct store_cursor *c;
	size_t cap = 0, j = 0;
	int r;

	*out = NULL;
	l = calloc(1, sizeof(*l));
	if (l == NULL)
		return store_oom(err);
	r = st->ops->query(st, "SELECT " POLICY_COLS " FROM policies ORDER BY id", SP_NONE, &c,
			   err);
	if (r < 0)
		goto fail;
	while ((r = st->ops->next(c, err)) > 0) {
		if (store_grow((void **)&l->v, &cap, l->n, sizeof(*l->v)) < 0) {
			r = store_oom(err);
			break;
		}
		r = policy_from_row(st, c, &l->v[l->n], err);
		l->n++; /* cleared by nap_policy_list_free even when half filled */
		if (r < 0)
			break;
	}
	st->ops->done(c);
	if (r < 0)
		goto fail;
	/* Both sides sorted by id in byte order: one merge pass attaches the packages. */
	r = st->ops->query(st,
			   "SELECT policy_id, package, min_version, scheme FROM policy_reqs "
			   "ORDER BY policy_id, seq",
			   SP_NONE, &c, err);
	if (r < 0)
		goto fail;
	while ((r = st->ops->next(c, err)) > 0) {
		const char *pid = st->ops->text(c, 0);

		while (j < l->n && strcmp(l->v[j].id, pid) < 0)
			j++;
		if (j == l->n || strcmp(l->v[j].id, pid) != 0) {
			r = nap_store_errf(err, -EIO, "database holds packages of no policy");
			break;
		}
		r = policy_req_from_row(st, c, 1, &l->v[j], err);
		if (r < 0)
			break;
	}
	st->ops->done(c);
	if (r < 0)
		goto fail;
	*out = l;
	return 0;
fail:
	nap_policy_list_free(l);
	return r;
}

static int
policy_write(struct nap_store *st, const struct nap_policy *p, bool exists, int64_t now,
	     struct nap_store_err *err)
{
	const struct nap_policy_req *sorted[NAP_POLICY_MAX_REQS];
	int r;

	if (exists) {
		r = q_batch(st,
			    "UPDATE policies SET severity = $2, effective = $3, reason = $4, "
			    "updated = $5 WHERE id = $1",
			    SP_ARGS(SP_T(p->id), SP_T(p->severity), SP_I(p->effective),
				    SP_T(p->reason), SP_I(now)),
			    err);
		if (r == 0)
			r = q_batch(st, "DELETE FROM policy_reqs WHERE policy_id = $1",
				    SP_ARGS(SP_T(p->id)), err);
	} else {
		r = q_batch(
			st,
			"INSERT INTO policies (id, severity, effective, reason, created, updated) "
			"VALUES ($1, $2, $3, $4, $5, $5)",
			SP_ARGS(SP_T(p->id), SP_T(p->severity), SP_I(p->effective), SP_T(p->reason),
				SP_I(now)),
			err);
	}
	/* Stored in the HSR's canonical order, so they come back as they are published. */
	nap_policy_reqs_sorted(p, sorted);
	for (size_t i = 0; r == 0 && i < p->n_reqs; i++) {
		r = q_batch(
			st,
			"INSERT INTO policy_reqs (policy_id, seq, package, min_version, scheme) "
			"VALUES ($1, $2, $3, $4, $5)",
			SP_ARGS(SP_T(p->id), SP_I(i), SP_T(sorted[i]->package),
				SP_T(sorted[i]->min_version),
				SP_T(nap_policy_scheme_name(sorted[i]->scheme))),
			err);
	}
	if (r == -EEXIST)
		r = nap_store_errf(err, -EEXIST, "policy %s exists", p->id);
	return r;
}

/* -ENOSPC when the table counted by sql already holds max rows. */
static int
store_room(struct nap_store *st, const char *sql, const char *what, int max,
	   struct nap_store_err *err)
{
	int64_t n;
	int r;

	r = q_int(st, sql, SP_NONE, &n, err);
	if (r < 0)
		return r;
	if (n >= max)
		return nap_store_errf(err, -ENOSPC,
				      "the store holds %lld %s, the most an HSR carries",
				      (long long)n, what);
	return 0;
}

/* -EEXIST when the table counted by sql (WHERE id = $1) holds id: policies and checks share ids. */
static int
store_id_free(struct nap_store *st, const char *sql, const char *what, const char *id,
	      struct nap_store_err *err)
{
	int64_t n;
	int r;

	r = q_int(st, sql, SP_ARGS(SP_T(id)), &n, err);
	if (r < 0)
		return r;
	if (n > 0)
		return nap_store_errf(err, -EEXIST, "%s has the id %s (policies and checks share ids)",
				      what, id);
	return 0;
}

struct policy_put_ctx {
	const struct nap_policy *p;
	bool replace;
	uint64_t revision;
};

static int
policy_put_tx(struct nap_store *st, void *arg, struct nap_store_err *err)
{
	struct policy_put_ctx *ctx = arg;
	struct nap_policy old;
	bool exists, same = false;
	int r;

	r = policy_load(st, ctx->p->id, &old, err);
	if (r < 0 && r != -ENOENT)
		return r;
	exists = r == 0;
	if (exists) {
		same = nap_policy_equal(&old, ctx->p);
		nap_policy_clear(&old);
		if (!ctx->replace)
			return nap_store_errf(err, -EEXIST, "policy %s exists", ctx->p->id);
		if (same)
			return revision_read(st, &ctx->revision, NULL, err);
	} else {
		r = store_room(st, "SELECT count(*) FROM policies", "policies",
			       NAP_HSR_MAX_POLICIES, err);
		if (r == 0)
			r = store_id_free(st, "SELECT count(*) FROM checks WHERE id = $1", "a check",
					  ctx->p->id, err);
		if (r < 0)
			return r;
	}
	r = policy_write(st, ctx->p, exists, store_now(), err);
	if (r < 0)
		return r;
	return revision_bump(st, &ctx->revision, err);
}

int
nap_store_policy_put(struct nap_store *st, const struct nap_policy *p, bool replace,
		     uint64_t *revision, struct nap_store_err *err)
{
	struct policy_put_ctx ctx = {.p = p, .replace = replace};
	int r;

	r = nap_policy_check(p, err);
	if (r < 0)
		return r;
	r = store_run(st, STORE_TX_REVISION, policy_put_tx, &ctx, err);
	if (r == 0 && revision != NULL)
		*revision = ctx.revision;
	return r;
}

struct policy_get_ctx {
	const char *id;
	struct nap_policy *out;
};

static int
policy_get_tx(struct nap_store *st, void *arg, struct nap_store_err *err)
{
	struct policy_get_ctx *ctx = arg;

	return policy_load(st, ctx->id, ctx->out, err);
}

int
nap_store_policy_get(struct nap_store *st, const char *id, struct nap_policy *out,
		     struct nap_store_err *err)
{
	struct policy_get_ctx ctx = {.id = id, .out = out};

	memset(out, 0, sizeof(*out));
	if (!nap_policy_id_valid(id))
		return nap_store_errf(err, -ENOENT, "no such policy (not a valid id)");
	return store_run(st, STORE_TX_READ, policy_get_tx, &ctx, err);
}

static int
policy_list_tx(struct nap_store *st, void *arg, struct nap_store_err *err)
{
	struct nap_policy_list **out = arg;

	nap_policy_list_free(*out);
	return policy_load_all(st, out, err);
}

int
nap_store_policy_list(struct nap_store *st, struct nap_policy_list **out, struct nap_store_err *err)
{
	*out = NULL;
	return store_run(st, STORE_TX_READ, policy_list_tx, out, err);
}

struct remove_ctx {
	const char *sql; /* DELETE ... WHERE key = $1 */
	const char *what;
	const char *key;
	uint64_t revision;
};

static int
remove_tx(struct nap_store *st, void *arg, struct nap_store_err *err)
{
	struct remove_ctx *ctx = arg;
	int64_t n = 0;
	int r;

	r = q_exec(st, ctx->sql, SP_ARGS(SP_T(ctx->key)), &n, err);
	if (r < 0)
		return r;
	if (n == 0)
		return nap_store_errf(err, -ENOENT, "no %s %s", ctx->what, ctx->key);
	return revision_bump(st, &ctx->revision, err);
}

static int
store_remove(struct nap_store *st, const char *sql, const char *what, const char *key,
	     bool (*valid)(const char *), uint64_t *revision, struct nap_store_err *err)
{
	struct remove_ctx ctx = {.sql = sql, .what = what, .key = key};
	int r;

	if (!valid(key))
		return nap_store_errf(err, -ENOENT, "no such %s (not a valid name)", what);
	r = store_run(st, STORE_TX_REVISION, remove_tx, &ctx, err);
	if (r == 0 && revision != NULL)
		*revision = ctx.revision;
	return r;
}

int
nap_store_policy_remove(struct nap_store *st, const char *id, uint64_t *revision,
			struct nap_store_err *err)
{
	return store_remove(st, "DELETE FROM policies WHERE id = $1", "policy", id,
			    nap_policy_id_valid, revision, err);
}

struct policy_import_ctx {
	const struct nap_policy *const *sorted; /* the input, sorted by id */
	size_t n;
	bool replace_all;
	uint64_t revision;
};

static int
policy_ptr_cmp(const void *a, const void *b)
{
	const struct nap_policy *const *x = a, *const *y = b;

	return strcmp((*x)->id, (*y)->id);
}

static int
policy_import_tx(struct nap_store *st, void *arg, struct nap_store_err *err)
{
	struct policy_import_ctx *ctx = arg;
	struct nap_policy_list *old;
	size_t i = 0, j = 0, total = 0;
	int64_t now = store_now();
	bool changed = false;
	int r;

	r = policy_load_all(st, &old, err);
	if (r < 0)
		return r;
	/* How many the store holds afterwards. */
	if (ctx->replace_all) {
		total = ctx->n;
	} else {
		while (i < ctx->n || j < old->n) {
			int cmp = i == ctx->n   ? 1
				  : j == old->n ? -1
						: strcmp(ctx->sorted[i]->id, old->v[j].id);

			i += cmp <= 0;
			j += cmp >= 0;
			total++;
		}
	}
	if (total > NAP_HSR_MAX_POLICIES) {
		r = nap_store_errf(
			err, -ENOSPC,
			"the store would hold %zu policies, more than an HSR carries (%d)", total,
			NAP_HSR_MAX_POLICIES);
		goto out;
	}
	/* Check ids are not policy ids (at most NAP_STORE_MAX_CHECKS of them). */
	{
		struct store_cursor *c;

		r = st->ops->query(st, "SELECT id FROM checks", SP_NONE, &c, err);
		if (r < 0)
			goto out;
		while ((r = st->ops->next(c, err)) > 0) {
			const char *cid = st->ops->text(c, 0);
			struct nap_policy key;
			const struct nap_policy *kp = &key;

			snprintf(key.id, sizeof(key.id), "%s", cid);
			if (bsearch(&kp, ctx->sorted, ctx->n, sizeof(*ctx->sorted),
				    policy_ptr_cmp) != NULL) {
				r = nap_store_errf(err, -EEXIST,
						   "a check has the id %s (policies and checks "
						   "share ids)",
						   key.id);
				break;
			}
		}
		st->ops->done(c);
		if (r < 0)
			goto out;
	}
	for (i = 0, j = 0; r == 0 && (i < ctx->n || j < old->n);) {
		int cmp = i == ctx->n   ? 1
			  : j == old->n ? -1
					: strcmp(ctx->sorted[i]->id, old->v[j].id);

		if (cmp < 0) {
			r = policy_write(st, ctx->sorted[i], false, now, err);
			changed = true;
		} else if (cmp == 0) {
			if (!nap_policy_equal(ctx->sorted[i], &old->v[j])) {
				r = policy_write(st, ctx->sorted[i], true, now, err);
				changed = true;
			}
		} else if (ctx->replace_all) {
			r = q_batch(st, "DELETE FROM policies WHERE id = $1",
				    SP_ARGS(SP_T(old->v[j].id)), err);
			changed = true;
		}
		i += cmp <= 0;
		j += cmp >= 0;
	}
	if (r == 0)
		r = changed ? revision_bump(st, &ctx->revision, err)
			    : revision_read(st, &ctx->revision, NULL, err);
out:
	nap_policy_list_free(old);
	return r;
}

int
nap_store_policy_import(struct nap_store *st, const struct nap_policy *v, size_t n,
			bool replace_all, uint64_t *revision, struct nap_store_err *err)
{
	struct policy_import_ctx ctx = {.n = n, .replace_all = replace_all};
	const struct nap_policy **sorted;
	struct nap_store_err e;
	int r;

	if (n > NAP_HSR_MAX_POLICIES)
		return nap_store_errf(err, -ENOSPC, "%zu policies, more than an HSR carries (%d)",
				      n, NAP_HSR_MAX_POLICIES);
	for (size_t i = 0; i < n; i++) {
		r = nap_policy_check(&v[i], &e);
		if (r < 0)
			return nap_store_errf(err, r, "entry %zu: %s", i + 1, e.msg);
	}
	sorted = malloc((n > 0 ? n : 1) * sizeof(*sorted));
	if (sorted == NULL)
		return store_oom(err);
	for (size_t i = 0; i < n; i++)
		sorted[i] = &v[i];
	qsort(sorted, n, sizeof(*sorted), policy_ptr_cmp);
	for (size_t i = 1; i < n; i++) {
		if (strcmp(sorted[i - 1]->id, sorted[i]->id) == 0) {
			size_t a = (size_t)(sorted[i - 1] - v), b = (size_t)(sorted[i] - v);

			r = nap_store_errf(err, -EINVAL, "entries %zu and %zu: policy %s twice",
					   (a < b ? a : b) + 1, (a < b ? b : a) + 1, sorted[i]->id);
			free(sorted);
			return r;
		}
	}
	ctx.sorted = sorted;
	r = store_run(st, STORE_TX_REVISION, policy_import_tx, &ctx, err);
	free(sorted);
	if (r == 0 && revision != NULL)
		*revision = ctx.revision;
	return r;
}

/* ---- exemptions ---- */

#define EXEMPTION_COLS "id, client, group_name, valid_from, valid_until, reason, created"

static int
exemption_from_row(struct nap_store *st, struct store_cursor *c, struct nap_exemption *e,
		   struct nap_store_err *err)
{
	int r = 0;

	memset(e, 0, sizeof(*e));
	if ((r = col_copy(st, c, 0, e->id, sizeof(e->id), err)) < 0)
		return r;
	e->client = col_dup(st, c, 1, &r);
	e->group = col_dup(st, c, 2, &r);
	e->from = st->ops->int64(c, 3);
	e->until = st->ops->int64(c, 4);
	e->reason = col_dup(st, c, 5, &r);
	e->created = st->ops->int64(c, 6);
	return r < 0 ? store_oom(err) : 0;
}

static int
exemption_add_policy(struct nap_exemption *e, const char *id, struct nap_store_err *err)
{
	char **v;

	if (e->n_policies >= NAP_EXEMPTION_MAX_POLICIES)
		return nap_store_errf(err, -EIO, "exemption %s: database holds too many policies",
				      e->id);
	v = realloc(e->policies, (e->n_policies + 1) * sizeof(*v));
	if (v == NULL)
		return store_oom(err);
	e->policies = v;
	v[e->n_policies] = strdup(id);
	if (v[e->n_policies] == NULL)
		return store_oom(err);
	e->n_policies++;
	return 0;
}

static int
exemption_load(struct nap_store *st, const char *id, struct nap_exemption *e,
	       struct nap_store_err *err)
{
	struct store_cursor *c;
	int r;

	memset(e, 0, sizeof(*e));
	r = st->ops->query(st, "SELECT " EXEMPTION_COLS " FROM exemptions WHERE id = $1",
			   SP_ARGS(SP_T(id)), &c, err);
	if (r < 0)
		return r;
	r = st->ops->next(c, err);
	if (r > 0)
		r = exemption_from_row(st, c, e, err);
	else if (r == 0)
		r = nap_store_errf(err, -ENOENT, "no exemption %s", id);
	st->ops->done(c);
	if (r < 0)
		goto fail;
	r = st->ops->query(st,
			   "SELECT policy_id FROM exemption_policies WHERE exemption_id = $1 "
			   "ORDER BY policy_id",
			   SP_ARGS(SP_T(id)), &c, err);
	if (r < 0)
		goto fail;
	while ((r = st->ops->next(c, err)) > 0) {
		r = exemption_add_policy(e, st->ops->text(c, 0), err);
		if (r < 0)
			break;
	}
	st->ops->done(c);
	if (r < 0)
		goto fail;
	return 0;
fail:
	nap_exemption_clear(e);
	return r;
}

static int
exemption_load_all(struct nap_store *st, struct nap_exemption_list **out, struct nap_store_err *err)
{
	struct nap_exemption_list *l;
	struct store_cursor *c;
	size_t cap = 0, j = 0;
	int r;

	*out = NULL;
	l = calloc(1, sizeof(*l));
	if (l == NULL)
		return store_oom(err);
	r = st->ops->query(st, "SELECT " EXEMPTION_COLS " FROM exemptions ORDER BY id", SP_NONE, &c,
			   err);
	if (r < 0)
		goto fail;
	while ((r = st->ops->next(c, err)) > 0) {
		if (store_grow((void **)&l->v, &cap, l->n, sizeof(*l->v)) < 0) {
			r = store_oom(err);
			break;
		}
		r = exemption_from_row(st, c, &l->v[l->n], err);
		l->n++;
		if (r < 0)
			break;
	}
	st->ops->done(c);
	if (r < 0)
		goto fail;
	r = st->ops->query(st,
			   "SELECT exemption_id, policy_id FROM exemption_policies "
			   "ORDER BY exemption_id, policy_id",
			   SP_NONE, &c, err);
	if (r < 0)
		goto fail;
	while ((r = st->ops->next(c, err)) > 0) {
		const char *eid = st->ops->text(c, 0);

		while (j < l->n && strcmp(l->v[j].id, eid) < 0)
			j++;
		if (j == l->n || strcmp(l->v[j].id, eid) != 0) {
			r = nap_store_errf(err, -EIO, "database holds policies of no exemption");
			break;
		}
		r = exemption_add_policy(&l->v[j], st->ops->text(c, 1), err);
		if (r < 0)
			break;
	}
	st->ops->done(c);
	if (r < 0)
		goto fail;
	*out = l;
	return 0;
fail:
	nap_exemption_list_free(l);
	return r;
}

static bool
store_streq_null(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

/* old comes from the database (policies sorted); sorted is e's policy list sorted. */
static bool
exemption_equal(const struct nap_exemption *old, const struct nap_exemption *e,
		const char *const *sorted)
{
	if (!store_streq_null(old->client, e->client) || !store_streq_null(old->group, e->group) ||
	    old->from != e->from || old->until != e->until ||
	    !store_streq_null(old->reason, e->reason) || old->n_policies != e->n_policies)
		return false;
	for (size_t i = 0; i < e->n_policies; i++) {
		if (strcmp(old->policies[i], sorted[i]) != 0)
			return false;
	}
	return true;
}

struct exemption_put_ctx {
	const struct nap_exemption *e;
	const char *const *sorted;
	bool replace;
	uint64_t revision;
};

static int
exemption_put_tx(struct nap_store *st, void *arg, struct nap_store_err *err)
{
	struct exemption_put_ctx *ctx = arg;
	const struct nap_exemption *e = ctx->e;
	struct nap_exemption old;
	bool exists, same;
	int r;

	r = exemption_load(st, e->id, &old, err);
	if (r < 0 && r != -ENOENT)
		return r;
	exists = r == 0;
	if (exists) {
		same = exemption_equal(&old, e, ctx->sorted);
		nap_exemption_clear(&old);
		if (!ctx->replace)
			return nap_store_errf(err, -EEXIST, "exemption %s exists", e->id);
		if (same)
			return revision_read(st, &ctx->revision, NULL, err);
		r = q_batch(st,
			    "UPDATE exemptions SET client = $2, group_name = $3, valid_from = $4, "
			    "valid_until = $5, reason = $6 WHERE id = $1",
			    SP_ARGS(SP_T(e->id), SP_T(e->client), SP_T(e->group), SP_I(e->from),
				    SP_I(e->until), SP_T(e->reason)),
			    err);
		if (r == 0)
			r = q_batch(st, "DELETE FROM exemption_policies WHERE exemption_id = $1",
				    SP_ARGS(SP_T(e->id)), err);
	} else {
		r = store_room(st, "SELECT count(*) FROM exemptions", "exemptions",
			       NAP_STORE_MAX_EXEMPTIONS, err);
		if (r == 0)
			r = q_batch(st,
				    "INSERT INTO exemptions (" EXEMPTION_COLS ") "
				    "VALUES ($1, $2, $3, $4, $5, $6, $7)",
				    SP_ARGS(SP_T(e->id), SP_T(e->client), SP_T(e->group),
					    SP_I(e->from), SP_I(e->until), SP_T(e->reason),
					    SP_I(store_now())),
				    err);
	}
	for (size_t i = 0; r == 0 && i < e->n_policies; i++)
		r = q_batch(
			st,
			"INSERT INTO exemption_policies (exemption_id, policy_id) VALUES ($1, $2)",
			SP_ARGS(SP_T(e->id), SP_T(e->policies[i])), err);
	if (r < 0)
		return r;
	return revision_bump(st, &ctx->revision, err);
}

int
nap_store_exemption_put(struct nap_store *st, const struct nap_exemption *e, bool replace,
			uint64_t *revision, struct nap_store_err *err)
{
	struct exemption_put_ctx ctx = {.e = e, .replace = replace};
	const char **sorted;
	int r;

	r = nap_exemption_check(e, err);
	if (r < 0)
		return r;
	sorted = store_sorted(e->policies, e->n_policies);
	if (sorted == NULL)
		return store_oom(err);
	ctx.sorted = sorted;
	r = store_run(st, STORE_TX_REVISION, exemption_put_tx, &ctx, err);
	free(sorted);
	if (r == 0 && revision != NULL)
		*revision = ctx.revision;
	return r;
}

struct exemption_get_ctx {
	const char *id;
	struct nap_exemption *out;
};

static int
exemption_get_tx(struct nap_store *st, void *arg, struct nap_store_err *err)
{
	struct exemption_get_ctx *ctx = arg;

	return exemption_load(st, ctx->id, ctx->out, err);
}

int
nap_store_exemption_get(struct nap_store *st, const char *id, struct nap_exemption *out,
			struct nap_store_err *err)
{
	struct exemption_get_ctx ctx = {.id = id, .out = out};

	memset(out, 0, sizeof(*out));
	if (!nap_policy_id_valid(id))
		return nap_store_errf(err, -ENOENT, "no such exemption (not a valid id)");
	return store_run(st, STORE_TX_READ, exemption_get_tx, &ctx, err);
}

static int
exemption_list_tx(struct nap_store *st, void *arg, struct nap_store_err *err)
{
	struct nap_exemption_list **out = arg;

	nap_exemption_list_free(*out);
	return exemption_load_all(st, out, err);
}

int
nap_store_exemption_list(struct nap_store *st, struct nap_exemption_list **out,
			 struct nap_store_err *err)
{
	*out = NULL;
	return store_run(st, STORE_TX_READ, exemption_list_tx, out, err);
}

int
nap_store_exemption_remove(struct nap_store *st, const char *id, uint64_t *revision,
			   struct nap_store_err *err)
{
	return store_remove(st, "DELETE FROM exemptions WHERE id = $1", "exemption", id,
			    nap_policy_id_valid, revision, err);
}

/* ---- groups ---- */

static int
group_add_member(struct nap_group *g, size_t *cap, const char *m, struct nap_store_err *err)
{
	if (g->n_members >= NAP_GROUP_MAX_MEMBERS)
		return nap_store_errf(err, -EIO, "group %s: database holds too many members",
				      g->name);
	if (store_grow((void **)&g->members, cap, g->n_members, sizeof(*g->members)) < 0)
		return store_oom(err);
	g->members[g->n_members] = strdup(m);
	if (g->members[g->n_members] == NULL)
		return store_oom(err);
	g->n_members++;
	return 0;
}

static int
group_load(struct nap_store *st, const char *name, struct nap_group *g, struct nap_store_err *err)
{
	struct store_cursor *c;
	size_t cap = 0;
	int64_t one;
	int r;

	memset(g, 0, sizeof(*g));
	r = q_int(st, "SELECT 1 FROM client_groups WHERE name = $1", SP_ARGS(SP_T(name)), &one,
		  err);
	if (r == -ENOENT)
		return nap_store_errf(err, -ENOENT, "no group %s", name);
	if (r < 0)
		return r;
	snprintf(g->name, sizeof(g->name), "%s", name);
	r = st->ops->query(st,
			   "SELECT member FROM group_members WHERE group_name = $1 ORDER BY member",
			   SP_ARGS(SP_T(name)), &c, err);
	if (r < 0)
		return r;
	while ((r = st->ops->next(c, err)) > 0) {
		r = group_add_member(g, &cap, st->ops->text(c, 0), err);
		if (r < 0)
			break;
	}
	st->ops->done(c);
	if (r < 0)
		nap_group_clear(g);
	return r;
}

static int
group_load_all(struct nap_store *st, struct nap_group_list **out, struct nap_store_err *err)
{
	struct nap_group_list *l;
	struct store_cursor *c;
	size_t cap = 0, mcap = 0, j = 0, mcap_of = SIZE_MAX;
	int r;

	*out = NULL;
	l = calloc(1, sizeof(*l));
	if (l == NULL)
		return store_oom(err);
	r = st->ops->query(st, "SELECT name FROM client_groups ORDER BY name", SP_NONE, &c, err);
	if (r < 0)
		goto fail;
	while ((r = st->ops->next(c, err)) > 0) {
		if (store_grow((void **)&l->v, &cap, l->n, sizeof(*l->v)) < 0) {
			r = store_oom(err);
			break;
		}
		r = col_copy(st, c, 0, l->v[l->n].name, sizeof(l->v[l->n].name), err);
		l->n++;
		if (r < 0)
			break;
	}
	st->ops->done(c);
	if (r < 0)
		goto fail;
	r = st->ops->query(
		st, "SELECT group_name, member FROM group_members ORDER BY group_name, member",
		SP_NONE, &c, err);
	if (r < 0)
		goto fail;
	while ((r = st->ops->next(c, err)) > 0) {
		const char *gname = st->ops->text(c, 0);

		while (j < l->n && strcmp(l->v[j].name, gname) < 0)
			j++;
		if (j == l->n || strcmp(l->v[j].name, gname) != 0) {
			r = nap_store_errf(err, -EIO, "database holds members of no group");
			break;
		}
		if (mcap_of != j) { /* the first member of this group */
			mcap = 0;
			mcap_of = j;
		}
		r = group_add_member(&l->v[j], &mcap, st->ops->text(c, 1), err);
		if (r < 0)
			break;
	}
	st->ops->done(c);
	if (r < 0)
		goto fail;
	*out = l;
	return 0;
fail:
	nap_group_list_free(l);
	return r;
}

struct group_put_ctx {
	const struct nap_group *g;
	const char *const *sorted; /* g's members sorted */
	uint64_t revision;
};

/* Create the group or change its members to exactly the new set: only the difference is
 * written, so adding one member to a large group is one row. */
static int
group_put_tx(struct nap_store *st, void *arg, struct nap_store_err *err)
{
	struct group_put_ctx *ctx = arg;
	const struct nap_group *g = ctx->g;
	struct nap_group old;
	bool changed = false;
	size_t i = 0, j = 0;
	int64_t now = store_now();
	int r;

	r = group_load(st, g->name, &old, err);
	if (r == -ENOENT) {
		r = store_room(st, "SELECT count(*) FROM client_groups", "groups",
			       NAP_STORE_MAX_GROUPS, err);
		if (r < 0)
			return r;
		r = q_batch(
			st,
			"INSERT INTO client_groups (name, created, updated) VALUES ($1, $2, $2)",
			SP_ARGS(SP_T(g->name), SP_I(now)), err);
		if (r < 0)
			return r;
		changed = true;
	} else if (r < 0) {
		return r;
	}
	while (r == 0 && (i < g->n_members || j < old.n_members)) {
		int cmp = i == g->n_members    ? 1
			  : j == old.n_members ? -1
					       : strcmp(ctx->sorted[i], old.members[j]);

		if (cmp < 0)
			r = q_batch(
				st,
				"INSERT INTO group_members (group_name, member) VALUES ($1, $2)",
				SP_ARGS(SP_T(g->name), SP_T(ctx->sorted[i])), err);
		else if (cmp > 0)
			r = q_batch(
				st,
				"DELETE FROM group_members WHERE group_name = $1 AND member = $2",
				SP_ARGS(SP_T(g->name), SP_T(old.members[j])), err);
		changed |= cmp != 0;
		i += cmp <= 0;
		j += cmp >= 0;
	}
	nap_group_clear(&old);
	if (r < 0)
		return r;
	if (!changed)
		return revision_read(st, &ctx->revision, NULL, err);
	r = q_batch(st, "UPDATE client_groups SET updated = $2 WHERE name = $1",
		    SP_ARGS(SP_T(g->name), SP_I(now)), err);
	if (r < 0)
		return r;
	return revision_bump(st, &ctx->revision, err);
}

int
nap_store_group_put(struct nap_store *st, const struct nap_group *g, uint64_t *revision,
		    struct nap_store_err *err)
{
	struct group_put_ctx ctx = {.g = g};
	const char **sorted;
	int r;

	r = nap_group_check(g, err);
	if (r < 0)
		return r;
	sorted = store_sorted(g->members, g->n_members);
	if (sorted == NULL)
		return store_oom(err);
	ctx.sorted = sorted;
	r = store_run(st, STORE_TX_REVISION, group_put_tx, &ctx, err);
	free(sorted);
	if (r == 0 && revision != NULL)
		*revision = ctx.revision;
	return r;
}

struct group_get_ctx {
	const char *name;
	struct nap_group *out;
};

static int
group_get_tx(struct nap_store *st, void *arg, struct nap_store_err *err)
{
	struct group_get_ctx *ctx = arg;

	return group_load(st, ctx->name, ctx->out, err);
}

int
nap_store_group_get(struct nap_store *st, const char *name, struct nap_group *out,
		    struct nap_store_err *err)
{
	struct group_get_ctx ctx = {.name = name, .out = out};

	memset(out, 0, sizeof(*out));
	if (!nap_group_name_valid(name))
		return nap_store_errf(err, -ENOENT, "no such group (not a valid name)");
	return store_run(st, STORE_TX_READ, group_get_tx, &ctx, err);
}

static int
group_list_tx(struct nap_store *st, void *arg, struct nap_store_err *err)
{
	struct nap_group_list **out = arg;

	nap_group_list_free(*out);
	return group_load_all(st, out, err);
}

int
nap_store_group_list(struct nap_store *st, struct nap_group_list **out, struct nap_store_err *err)
{
	*out = NULL;
	return store_run(st, STORE_TX_READ, group_list_tx, out, err);
}

int
nap_store_group_remove(struct nap_store *st, const char *name, uint64_t *revision,
		       struct nap_store_err *err)
{
	return store_remove(st, "DELETE FROM client_groups WHERE name = $1", "group", name,
			    nap_group_name_valid, revision, err);
}

/* ---- checks ---- */

#define CHECK_COLS                                                                               \
	"id, type, severity, effective, reason, max_age, path, sha256, unit, argv, expect_exit, " \
	"created, updated"

/* argv travels as a JSON array of strings in one column. */
static int
check_argv_decode(const char *text, struct nap_check *c, struct nap_store_err *err)
{
	json_t *arr = json_loads(text, 0, NULL), *v;
	size_t i;

	if (!json_is_array(arr) || json_array_size(arr) > NAP_HSR_MAX_ARGV) {
		json_decref(arr);
		return nap_store_errf(err, -EIO, "check %s: database holds a bad argv", c->id);
	}
	c->argv = calloc(json_array_size(arr) + 1, sizeof(*c->argv));
	if (c->argv == NULL) {
		json_decref(arr);
		return store_oom(err);
	}
	json_array_foreach(arr, i, v)
	{
		if (!json_is_string(v)) {
			json_decref(arr);
			return nap_store_errf(err, -EIO, "check %s: database holds a bad argv",
					      c->id);
		}
		c->argv[i] = strdup(json_string_value(v));
		if (c->argv[i] == NULL) {
			json_decref(arr);
			return store_oom(err);
		}
		c->n_argv = i + 1;
	}
	json_decref(arr);
	return 0;
}

static char *
check_argv_encode(const struct nap_check *c)
{
	json_t *arr = json_array();
	char *s;

	for (size_t i = 0; arr != NULL && i < c->n_argv; i++) {
		if (json_array_append_new(arr, json_string(c->argv[i])) < 0) {
			json_decref(arr);
			return NULL;
		}
	}
	s = arr != NULL ? json_dumps(arr, JSON_COMPACT) : NULL;
	json_decref(arr);
	return s;
}

static int
check_from_row(struct nap_store *st, struct store_cursor *c, struct nap_check *k,
	       struct nap_store_err *err)
{
	int r = 0;

	memset(k, 0, sizeof(*k));
	if ((r = col_copy(st, c, 0, k->id, sizeof(k->id), err)) < 0)
		return r;
	if (nap_check_type_from_name(st->ops->text(c, 1), &k->type) < 0)
		return nap_store_errf(err, -EIO, "check %s: database holds an unknown type", k->id);
	if ((r = col_copy(st, c, 2, k->severity, sizeof(k->severity), err)) < 0)
		return r;
	k->effective = st->ops->int64(c, 3);
	k->reason = col_dup(st, c, 4, &r);
	k->max_age = st->ops->int64(c, 5);
	k->path = col_dup(st, c, 6, &r);
	k->sha256 = col_dup(st, c, 7, &r);
	k->unit = col_dup(st, c, 8, &r);
	if (r < 0)
		return store_oom(err);
	if (!st->ops->is_null(c, 9) && (r = check_argv_decode(st->ops->text(c, 9), k, err)) < 0)
		return r;
	k->expect_exit = (int)st->ops->int64(c, 10);
	k->created = st->ops->int64(c, 11);
	k->updated = st->ops->int64(c, 12);
	return 0;
}

static int
check_load(struct nap_store *st, const char *id, struct nap_check *k, struct nap_store_err *err)
{
	struct store_cursor *c;
	int r;

	memset(k, 0, sizeof(*k));
	r = st->ops->query(st, "SELECT " CHECK_COLS " FROM checks WHERE id = $1",
			   SP_ARGS(SP_T(id)), &c, err);
	if (r < 0)
		return r;
	r = st->ops->next(c, err);
	if (r > 0)
		r = check_from_row(st, c, k, err);
	else if (r == 0)
		r = nap_store_errf(err, -ENOENT, "no check %s", id);
	st->ops->done(c);
	if (r < 0)
		nap_check_clear(k);
	return r;
}

static int
check_load_all(struct nap_store *st, struct nap_check_list **out, struct nap_store_err *err)
{
	struct nap_check_list *l;
	struct store_cursor *c;
	size_t cap = 0;
	int r;

	*out = NULL;
	l = calloc(1, sizeof(*l));
	if (l == NULL)
		return store_oom(err);
	r = st->ops->query(st, "SELECT " CHECK_COLS " FROM checks ORDER BY id", SP_NONE, &c, err);
	if (r < 0)
		goto fail;
	while ((r = st->ops->next(c, err)) > 0) {
		if (store_grow((void **)&l->v, &cap, l->n, sizeof(*l->v)) < 0) {
			r = store_oom(err);
			break;
		}
		r = check_from_row(st, c, &l->v[l->n], err);
		l->n++;
		if (r < 0)
			break;
	}
	st->ops->done(c);
	if (r < 0)
		goto fail;
	*out = l;
	return 0;
fail:
	nap_check_list_free(l);
	return r;
}

struct check_add_ctx {
	const struct nap_check *c;
	bool replace;
	uint64_t revision;
};

static int
check_add_tx(struct nap_store *st, void *arg, struct nap_store_err *err)
{
	struct check_add_ctx *ctx = arg;
	const struct nap_check *k = ctx->c;
	const char *type = nap_check_type_name(k->type);
	struct nap_check old;
	int64_t now = store_now();
	char *argv = NULL;
	bool exists;
	int r;

	r = check_load(st, k->id, &old, err);
	if (r < 0 && r != -ENOENT)
		return r;
	exists = r == 0;
	if (exists) {
		bool same = nap_check_equal(&old, k);

		nap_check_clear(&old);
		if (!ctx->replace)
			return nap_store_errf(err, -EEXIST, "check %s exists", k->id);
		if (same)
			return revision_read(st, &ctx->revision, NULL, err);
	} else {
		r = store_room(st, "SELECT count(*) FROM checks", "checks", NAP_STORE_MAX_CHECKS,
			       err);
		if (r == -ENOSPC)
			return nap_store_errf(err, -ENOSPC,
					      "the store holds %d checks, the most one SoH reports "
					      "results for",
					      NAP_STORE_MAX_CHECKS);
		if (r == 0)
			r = store_id_free(st, "SELECT count(*) FROM policies WHERE id = $1",
					  "a policy", k->id, err);
		if (r < 0)
			return r;
	}
	if (k->n_argv > 0 && (argv = check_argv_encode(k)) == NULL)
		return store_oom(err);
	if (exists)
		r = q_batch(st,
			    "UPDATE checks SET type = $2, severity = $3, effective = $4, reason = $5, "
			    "max_age = $6, path = $7, sha256 = $8, unit = $9, argv = $10, "
			    "expect_exit = $11, updated = $12 WHERE id = $1",
			    SP_ARGS(SP_T(k->id), SP_T(type), SP_T(k->severity), SP_I(k->effective),
				    SP_T(k->reason), SP_I(k->max_age), SP_T(k->path),
				    SP_T(k->sha256), SP_T(k->unit), SP_T(argv),
				    SP_I(k->expect_exit), SP_I(now)),
			    err);
	else
		r = q_batch(st,
			    "INSERT INTO checks (id, type, severity, effective, reason, max_age, "
			    "path, sha256, unit, argv, expect_exit, created, updated) "
			    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12)",
			    SP_ARGS(SP_T(k->id), SP_T(type), SP_T(k->severity), SP_I(k->effective),
				    SP_T(k->reason), SP_I(k->max_age), SP_T(k->path),
				    SP_T(k->sha256), SP_T(k->unit), SP_T(argv),
				    SP_I(k->expect_exit), SP_I(now)),
			    err);
	free(argv);
	if (r == -EEXIST)
		r = nap_store_errf(err, -EEXIST, "check %s exists", k->id);
	if (r < 0)
		return r;
	return revision_bump(st, &ctx->revision, err);
}

int
nap_store_check_add(struct nap_store *st, const struct nap_check *c, bool replace,
		    uint64_t *revision, struct nap_store_err *err)
{
	struct check_add_ctx ctx = {.c = c, .replace = replace};
	int r;

	r = nap_check_validate(c, err);
	if (r < 0)
		return r;
	r = store_run(st, STORE_TX_REVISION, check_add_tx, &ctx, err);
	if (r == 0 && revision != NULL)
		*revision = ctx.revision;
	return r;
}

struct check_get_ctx {
	const char *id;
	struct nap_check *out;
};

static int
check_get_tx(struct nap_store *st, void *arg, struct nap_store_err *err)
{
	struct check_get_ctx *ctx = arg;

	nap_check_clear(ctx->out);
	return check_load(st, ctx->id, ctx->out, err);
}

int
nap_store_check_get(struct nap_store *st, const char *id, struct nap_check *out,
		    struct nap_store_err *err)
{
	struct check_get_ctx ctx = {.id = id, .out = out};

	memset(out, 0, sizeof(*out));
	if (!nap_policy_id_valid(id))
		return nap_store_errf(err, -ENOENT, "no such check (not a valid id)");
	return store_run(st, STORE_TX_READ, check_get_tx, &ctx, err);
}

static int
check_list_tx(struct nap_store *st, void *arg, struct nap_store_err *err)
{
	struct nap_check_list **out = arg;

	nap_check_list_free(*out);
	*out = NULL;
	return check_load_all(st, out, err);
}

int
nap_store_check_list(struct nap_store *st, struct nap_check_list **out, struct nap_store_err *err)
{
	*out = NULL;
	return store_run(st, STORE_TX_READ, check_list_tx, out, err);
}

int
nap_store_check_remove(struct nap_store *st, const char *id, uint64_t *revision,
		       struct nap_store_err *err)
{
	return store_remove(st, "DELETE FROM checks WHERE id = $1", "check", id,
			    nap_policy_id_valid, revision, err);
}

/* ---- snapshot ---- */

static void
snapshot_reset(struct nap_store_snapshot *s)
{
	nap_policy_list_free(s->policies);
	nap_exemption_list_free(s->exemptions);
	nap_group_list_free(s->groups);
	nap_check_list_free(s->checks);
	memset(s, 0, sizeof(*s));
}

static int
snapshot_tx(struct nap_store *st, void *arg, struct nap_store_err *err)
{
	struct nap_store_snapshot *s = arg;
	int r;

	snapshot_reset(s);
	if ((r = revision_read(st, &s->revision, &s->changed, err)) < 0 ||
	    (r = policy_load_all(st, &s->policies, err)) < 0 ||
	    (r = exemption_load_all(st, &s->exemptions, err)) < 0 ||
	    (r = group_load_all(st, &s->groups, err)) < 0 ||
	    (r = check_load_all(st, &s->checks, err)) < 0)
		return r;
	return 0;
}

int
nap_store_snapshot(struct nap_store *st, struct nap_store_snapshot **out, struct nap_store_err *err)
{
	struct nap_store_snapshot *s;
	int r;

	*out = NULL;
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return store_oom(err);
	r = store_run(st, STORE_TX_READ, snapshot_tx, s, err);
	if (r < 0) {
		nap_store_snapshot_free(s);
		return r;
	}
	*out = s;
	return 0;
}

void
nap_store_snapshot_free(struct nap_store_snapshot *s)
{
	if (s == NULL)
		return;
	snapshot_reset(s);
	free(s);
}

/* ---- publish records ---- */

static bool
store_site_valid(const char *s)
{
	size_t n = strnlen(s, NAP_SITE_MAX + 1);

	if (n == 0 || n > NAP_SITE_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-'))
			return false;
	}
	return true;
}

static int
publish_put_tx(struct nap_store *st, void *arg, struct nap_store_err *err)
{
	const struct nap_publish_record *rec = arg;

	return q_exec(st,
		      "INSERT INTO publish_records (site, revision, published, target) "
		      "VALUES ($1, $2, $3, $4) ON CONFLICT (site) DO UPDATE SET "
		      "revision = excluded.revision, published = excluded.published, "
		      "target = excluded.target",
		      SP_ARGS(SP_T(rec->site), SP_I(rec->revision), SP_I(rec->published),
			      SP_T(rec->target)),
		      NULL, err);
}

int
nap_store_publish_record_put(struct nap_store *st, const struct nap_publish_record *r,
			     struct nap_store_err *err)
{
	if (memchr(r->site, '\0', sizeof(r->site)) == NULL || !store_site_valid(r->site))
		return nap_store_errf(err, -EINVAL, "publish record: bad site code");
	if (r->revision > INT64_MAX)
		return nap_store_errf(err, -EINVAL, "publish record: revision out of range");
	if (memchr(r->target, '\0', sizeof(r->target)) == NULL || !nap_store_utf8_valid(r->target))
		return nap_store_errf(err, -EINVAL, "publish record: target is not UTF-8 text");
	for (const unsigned char *p = (const unsigned char *)r->target; *p != '\0'; p++) {
		if (*p < 0x20)
			return nap_store_errf(err, -EINVAL,
					      "publish record: control character in target");
	}
	return store_run(st, STORE_TX_WRITE, publish_put_tx, (void *)r, err);
}

struct publish_get_ctx {
	const char *site;
	struct nap_publish_record *out;
};

static int
publish_get_tx(struct nap_store *st, void *arg, struct nap_store_err *err)
{
	struct publish_get_ctx *ctx = arg;
	struct store_cursor *c;
	int r;

	r = st->ops->query(st,
			   "SELECT site, revision, published, target FROM publish_records "
			   "WHERE site = $1",
			   SP_ARGS(SP_T(ctx->site)), &c, err);
	if (r < 0)
		return r;
	r = st->ops->next(c, err);
	if (r > 0) {
		memset(ctx->out, 0, sizeof(*ctx->out));
		r = col_copy(st, c, 0, ctx->out->site, sizeof(ctx->out->site), err);
		ctx->out->revision = (uint64_t)st->ops->int64(c, 1);
		ctx->out->published = st->ops->int64(c, 2);
		if (r == 0)
			r = col_copy(st, c, 3, ctx->out->target, sizeof(ctx->out->target), err);
	} else if (r == 0) {
		r = nap_store_errf(err, -ENOENT, "nothing published for site %s", ctx->site);
	}
	st->ops->done(c);
	return r;
}

int
nap_store_publish_record_get(struct nap_store *st, const char *site, struct nap_publish_record *out,
			     struct nap_store_err *err)
{
	struct publish_get_ctx ctx = {.site = site, .out = out};

	memset(out, 0, sizeof(*out));
	if (!store_site_valid(site))
		return nap_store_errf(err, -ENOENT, "nothing published (not a valid site code)");
	return store_run(st, STORE_TX_READ, publish_get_tx, &ctx, err);
}

/* ---- agents: tokens and certificates ---- */

struct token_ctx {
	char hash[2 * 32 + 1];
	const char *client;
	int64_t expires, now;
	char *out; /* token_use: client name, NAP_CLIENT_NAME_MAX + 1 */
};

static int
token_add_tx(struct nap_store *st, void *arg, struct nap_store_err *err)
{
	struct token_ctx *ctx = arg;
	int r;

	r = q_exec(
		st,
		"INSERT INTO agent_tokens (hash, client, created, expires, used) "
		"VALUES ($1, $2, $3, $4, NULL)",
		SP_ARGS(SP_T(ctx->hash), SP_T(ctx->client), SP_I(store_now()), SP_I(ctx->expires)),
		NULL, err);
	if (r == -EEXIST)
		return nap_store_errf(err, -EEXIST, "this token exists");
	return r;
}

int
nap_store_token_add(struct nap_store *st, const char *client, const uint8_t hash[32],
		    int64_t expires, struct nap_store_err *err)
{
	struct token_ctx ctx = {.client = client, .expires = expires};

	if (!nap_client_name_valid(client))
		return nap_store_errf(
			err, -EINVAL,
			"token: client: 1-%d printable ASCII characters without spaces",
			NAP_CLIENT_NAME_MAX);
	if (expires <= 0)
		return nap_store_errf(err, -EINVAL, "token: no expiry time");
	nap_hex_encode(hash, 32, ctx.hash);
	return store_run(st, STORE_TX_WRITE, token_add_tx, &ctx, err);
}

/*
 * One UPDATE both checks and consumes, so two agents presenting the same token at once cannot
 * both win; when it matches nothing, a second look says why.
 */
static int
token_use_tx(struct nap_store *st, void *arg, struct nap_store_err *err)
{
	struct token_ctx *ctx = arg;
	struct store_cursor *c;
	bool used = false;
	int64_t expires = 0;
	int r;

	r = st->ops->query(st,
			   "UPDATE agent_tokens SET used = $2 WHERE hash = $1 AND used IS NULL "
			   "AND expires > $2 RETURNING client",
			   SP_ARGS(SP_T(ctx->hash), SP_I(ctx->now)), &c, err);
	if (r < 0)
		return r;
	r = st->ops->next(c, err);
	if (r > 0) {
		r = col_copy(st, c, 0, ctx->out, NAP_CLIENT_NAME_MAX + 1, err);
		while (r == 0 && (r = st->ops->next(c, err)) > 0)
			;
		st->ops->done(c);
		return r;
	}
	st->ops->done(c);
	if (r < 0)
		return r;
	r = st->ops->query(st, "SELECT used, expires FROM agent_tokens WHERE hash = $1",
			   SP_ARGS(SP_T(ctx->hash)), &c, err);
	if (r < 0)
		return r;
	r = st->ops->next(c, err);
	if (r > 0) {
		used = !st->ops->is_null(c, 0);
		expires = st->ops->int64(c, 1);
	}
	st->ops->done(c);
	if (r < 0)
		return r;
	if (r == 0)
		return nap_store_errf(err, -ENOENT, "unknown enrollment token");
	if (used)
		return nap_store_errf(err, -EALREADY, "enrollment token already used");
	return nap_store_errf(err, -ESTALE, "enrollment token expired %lld s ago",
			      (long long)(ctx->now - expires));
}

int
nap_store_token_use(struct nap_store *st, const uint8_t hash[32], int64_t now,
		    char client[NAP_CLIENT_NAME_MAX + 1], struct nap_store_err *err)
{
	struct token_ctx ctx = {.now = now, .out = client};

	client[0] = '\0';
	nap_hex_encode(hash, 32, ctx.hash);
	return store_run(st, STORE_TX_WRITE, token_use_tx, &ctx, err);
}

static bool
store_serial_valid(const char *s)
{
	size_t n = strnlen(s, 65);

	if (n == 0 || n > 64)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	}
	return true;
}

static int
cert_add_tx(struct nap_store *st, void *arg, struct nap_store_err *err)
{
	const struct nap_agent_cert *c = arg;
	int r;

	r = q_exec(st,
		   "INSERT INTO agent_certs (serial, client, issued, not_after, revoked) "
		   "VALUES ($1, $2, $3, $4, $5)",
		   SP_ARGS(SP_T(c->serial), SP_T(c->client), SP_I(c->issued), SP_I(c->not_after),
			   SP_I(c->revoked ? 1 : 0)),
		   NULL, err);
	if (r == -EEXIST)
		return nap_store_errf(err, -EEXIST, "certificate serial %s exists", c->serial);
	return r;
}

int
nap_store_agent_cert_add(struct nap_store *st, const struct nap_agent_cert *c,
			 struct nap_store_err *err)
{
	if (memchr(c->client, '\0', sizeof(c->client)) == NULL || !nap_client_name_valid(c->client))
		return nap_store_errf(
			err, -EINVAL,
			"certificate: client: 1-%d printable ASCII characters without "
			"spaces",
			NAP_CLIENT_NAME_MAX);
	if (memchr(c->serial, '\0', sizeof(c->serial)) == NULL || !store_serial_valid(c->serial))
		return nap_store_errf(err, -EINVAL,
				      "certificate: serial must be 1-64 lowercase hex digits");
	return store_run(st, STORE_TX_WRITE, cert_add_tx, (void *)c, err);
}

struct cert_get_ctx {
	const char *serial;
	struct nap_agent_cert *out;
};

static int
cert_get_tx(struct nap_store *st, void *arg, struct nap_store_err *err)
{
	struct cert_get_ctx *ctx = arg;
	struct store_cursor *c;
	int r;

	r = st->ops->query(st,
			   "SELECT serial, client, issued, not_after, revoked FROM agent_certs "
			   "WHERE serial = $1",
			   SP_ARGS(SP_T(ctx->serial)), &c, err);
	if (r < 0)
		return r;
	r = st->ops->next(c, err);
	if (r > 0) {
		memset(ctx->out, 0, sizeof(*ctx->out));
		r = col_copy(st, c, 0, ctx->out->serial, sizeof(ctx->out->serial), err);
		if (r == 0)
			r = col_copy(st, c, 1, ctx->out->client, sizeof(ctx->out->client), err);
		ctx->out->issued = st->ops->int64(c, 2);
		ctx->out->not_after = st->ops->int64(c, 3);
		ctx->out->revoked = st->ops->int64(c, 4) != 0;
	} else if (r == 0) {
		r = nap_store_errf(err, -ENOENT, "no certificate with serial %s", ctx->serial);
	}
	st->ops->done(c);
	return r;
}

int
nap_store_agent_cert_get(struct nap_store *st, const char *serial, struct nap_agent_cert *out,
			 struct nap_store_err *err)
{
	struct cert_get_ctx ctx = {.serial = serial, .out = out};

	memset(out, 0, sizeof(*out));
	if (!store_serial_valid(serial))
		return nap_store_errf(err, -ENOENT,
				      "no such certificate (not a lowercase hex serial)");
	return store_run(st, STORE_TX_READ, cert_get_tx, &ctx, err);
}

static int
revoke_tx(struct nap_store *st, void *arg, struct nap_store_err *err)
{
	const char *client = arg;
	int64_t n = 0;
	int r;

	r = q_exec(st, "UPDATE agent_certs SET revoked = 1 WHERE client = $1",
		   SP_ARGS(SP_T(client)), &n, err);
	if (r == 0 && n == 0)
		r = nap_store_errf(err, -ENOENT, "no certificate issued to %s", client);
	return r;
}

int
nap_store_agent_revoke(struct nap_store *st, const char *client, struct nap_store_err *err)
{
	if (!nap_client_name_valid(client))
		return nap_store_errf(err, -ENOENT, "no such client (not a valid name)");
	return store_run(st, STORE_TX_WRITE, revoke_tx, (void *)client, err);
}

/* ---- agents: state and history ---- */

#define STATE_COLS                                                                                 \
	"client, state, compliant, hsr_revision, hsr_digest, evaluated, received, missing, detail"

static int
state_put_tx(struct nap_store *st, void *arg, struct nap_store_err *err)
{
	const struct nap_agent_state *s = arg;
	char missing[NAP_AGENT_MAX_MISSING * (NAP_UPDATE_ID_MAX + 1) + 1];
	size_t off = 0;
	int r;

	/* Ids carry no spaces: one space-separated text column holds the list. */
	missing[0] = '\0';
	for (size_t i = 0; i < s->n_missing; i++)
		off += (size_t)snprintf(missing + off, sizeof(missing) - off, "%s%s",
					i > 0 ? " " : "", s->missing[i]);
#define STATE_ARGS                                                                                 \
	SP_ARGS(SP_T(s->client), SP_I(s->state), SP_I(s->compliant ? 1 : 0),                       \
		SP_I(s->hsr_revision), SP_T(s->hsr_digest), SP_I(s->evaluated), SP_I(s->received), \
		SP_T(missing), SP_T(s->detail))
	r = q_batch(st,
		    "INSERT INTO agent_state (" STATE_COLS ") VALUES ($1, $2, $3, $4, $5, $6, $7, "
		    "$8, $9) ON CONFLICT (client) DO UPDATE SET state = excluded.state, "
		    "compliant = excluded.compliant, hsr_revision = excluded.hsr_revision, "
		    "hsr_digest = excluded.hsr_digest, evaluated = excluded.evaluated, "
		    "received = excluded.received, missing = excluded.missing, "
		    "detail = excluded.detail",
		    STATE_ARGS, err);
	if (r == 0)
		r = q_batch(st,
			    "INSERT INTO agent_state_history (" STATE_COLS
			    ") VALUES ($1, $2, $3, $4, "
			    "$5, $6, $7, $8, $9)",
			    STATE_ARGS, err);
#undef STATE_ARGS
	if (r == 0)
		r = q_batch(st,
			    "DELETE FROM agent_state_history WHERE client = $1 AND seq <= "
			    "(SELECT seq FROM agent_state_history WHERE client = $1 "
			    "ORDER BY seq DESC LIMIT 1 OFFSET $2)",
			    SP_ARGS(SP_T(s->client), SP_I(NAP_AGENT_HISTORY_MAX)), err);
	return r;
}

int
nap_store_agent_state_put(struct nap_store *st, const struct nap_agent_state *s,
			  struct nap_store_err *err)
{
	int r;

	r = nap_agent_state_check(s, err);
	if (r < 0)
		return r;
	return store_run(st, STORE_TX_WRITE, state_put_tx, (void *)s, err);
}

static int
state_from_row(struct nap_store *st, struct store_cursor *c, struct nap_agent_state *s,
	       struct nap_store_err *err)
{
	const char *m;
	int r = 0;

	memset(s, 0, sizeof(*s));
	if ((r = col_copy(st, c, 0, s->client, sizeof(s->client), err)) < 0)
		return r;
	s->state = (enum nap_agent_state_id)st->ops->int64(c, 1);
	s->compliant = st->ops->int64(c, 2) != 0;
	s->hsr_revision = (uint64_t)st->ops->int64(c, 3);
	if ((r = col_copy(st, c, 4, s->hsr_digest, sizeof(s->hsr_digest), err)) < 0)
		return r;
	s->evaluated = st->ops->int64(c, 5);
	s->received = st->ops->int64(c, 6);
	m = st->ops->text(c, 7);
	while (*m != '\0') {
		size_t n = strcspn(m, " ");

		if (s->n_missing >= NAP_AGENT_MAX_MISSING || n > NAP_UPDATE_ID_MAX)
			return nap_store_errf(err, -EIO,
					      "database holds a bad missing-update list");
		memcpy(s->missing[s->n_missing], m, n);
		s->missing[s->n_missing][n] = '\0';
		s->n_missing++;
		m += n;
		m += *m == ' ';
	}
	s->detail = col_dup(st, c, 8, &r);
	return r < 0 ? store_oom(err) : 0;
}

struct state_get_ctx {
	const char *client;
	size_t limit;
	struct nap_agent_state *v;
	size_t n, cap;
};

static int
state_get_tx(struct nap_store *st, void *arg, struct nap_store_err *err)
{
	struct state_get_ctx *ctx = arg;
	struct store_cursor *c;
	int r;

	r = st->ops->query(st, "SELECT " STATE_COLS " FROM agent_state WHERE client = $1",
			   SP_ARGS(SP_T(ctx->client)), &c, err);
	if (r < 0)
		return r;
	r = st->ops->next(c, err);
	if (r > 0) {
		r = state_from_row(st, c, ctx->v, err);
		if (r < 0)
			nap_agent_state_clear(ctx->v);
	} else if (r == 0) {
		r = nap_store_errf(err, -ENOENT, "no state from %s", ctx->client);
	}
	st->ops->done(c);
	return r;
}

int
nap_store_agent_state_get(struct nap_store *st, const char *client, struct nap_agent_state *out,
			  struct nap_store_err *err)
{
	struct state_get_ctx ctx = {.client = client, .v = out};

	memset(out, 0, sizeof(*out));
	if (!nap_client_name_valid(client))
		return nap_store_errf(err, -ENOENT, "no such client (not a valid name)");
	return store_run(st, STORE_TX_READ, state_get_tx, &ctx, err);
}

static void
state_array_free(struct nap_agent_state *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		nap_agent_state_clear(&v[i]);
	free(v);
}

static int
history_tx(struct nap_store *st, void *arg, struct nap_store_err *err)
{
	struct state_get_ctx *ctx = arg;
	struct store_cursor *c;
	int r;

	state_array_free(ctx->v, ctx->n);
	ctx->v = NULL;
	ctx->n = ctx->cap = 0;
	r = st->ops->query(st,
			   "SELECT " STATE_COLS " FROM agent_state_history WHERE client = $1 "
			   "ORDER BY seq DESC LIMIT $2",
			   SP_ARGS(SP_T(ctx->client), SP_I(ctx->limit)), &c, err);
	if (r < 0)
		return r;
	while ((r = st->ops->next(c, err)) > 0) {
		if (store_grow((void **)&ctx->v, &ctx->cap, ctx->n, sizeof(*ctx->v)) < 0) {
			r = store_oom(err);
			break;
		}
		r = state_from_row(st, c, &ctx->v[ctx->n], err);
		ctx->n++;
		if (r < 0)
			break;
	}
	st->ops->done(c);
	return r;
}

static int
state_list_tx(struct nap_store *st, void *arg, struct nap_store_err *err)
{
	struct state_get_ctx *ctx = arg;
	struct store_cursor *c;
	int r;

	state_array_free(ctx->v, ctx->n);
	ctx->v = NULL;
	ctx->n = ctx->cap = 0;
	r = st->ops->query(st, "SELECT " STATE_COLS " FROM agent_state ORDER BY client", SP_NONE,
			   &c, err);
	if (r < 0)
		return r;
	while ((r = st->ops->next(c, err)) > 0) {
		if (store_grow((void **)&ctx->v, &ctx->cap, ctx->n, sizeof(*ctx->v)) < 0) {
			r = store_oom(err);
			break;
		}
		r = state_from_row(st, c, &ctx->v[ctx->n], err);
		ctx->n++;
		if (r < 0)
			break;
	}
	st->ops->done(c);
	return r;
}

int
nap_store_agent_state_list(struct nap_store *st, struct nap_agent_state **out, size_t *n,
			   struct nap_store_err *err)
{
	struct state_get_ctx ctx = {0};
	int r;

	*out = NULL;
	*n = 0;
	r = store_run(st, STORE_TX_READ, state_list_tx, &ctx, err);
	if (r < 0) {
		state_array_free(ctx.v, ctx.n);
		return r;
	}
	*out = ctx.v;
	*n = ctx.n;
	return 0;
}

int
nap_store_agent_history(struct nap_store *st, const char *client, size_t limit,
			struct nap_agent_state **out, size_t *n, struct nap_store_err *err)
{
	struct state_get_ctx ctx = {.client = client};
	int r;

	*out = NULL;
	*n = 0;
	if (!nap_client_name_valid(client) || limit == 0)
		return 0;
	if (limit > NAP_AGENT_HISTORY_MAX)
		limit = NAP_AGENT_HISTORY_MAX;
	ctx.limit = limit;
	r = store_run(st, STORE_TX_READ, history_tx, &ctx, err);
	if (r < 0) {
		state_array_free(ctx.v, ctx.n);
		return r;
	}
	*out = ctx.v;
	*n = ctx.n;
	return 0;
}
