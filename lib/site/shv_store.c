// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * The store's shv_points (migration 3): the SHV points napsited configures over SMB, their
 * settings (a JSON object of include/nap/shv.h keys), the revision that moves with every change
 * of them, what was pushed, and the status read back from the share. Written once in the SQL
 * both backends read, through lib/store's transaction runner. Input (napctl arguments, the
 * status file from a share) is checked before any SQL runs; rows read back are checked again.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "../store/store-int.h"
#include "nap/shv.h"
#include "nap/store.h"
#include "nap/util.h"

#define SHV_STATUS_DETAIL_MAX (NAP_SHV_STATUS_MAX + 1024)

void
nap_shv_point_clear(struct nap_shv_point *p)
{
	nap_shv_settings_clear(&p->settings);
	free(p->status);
	free(p->status_detail);
	memset(p, 0, sizeof(*p));
}

void
nap_shv_points_free(struct nap_shv_point *v, size_t n)
{
	if (v == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		nap_shv_point_clear(&v[i]);
	free(v);
}

static int
shv_point_check(const char *host, const char *url, const char *credentials,
		const struct nap_shv_settings *s, struct nap_store_err *err)
{
	char why[NAP_SHV_ERROR_LEN];

	if (!nap_shv_host_valid(host))
		return nap_store_errf(err, -EINVAL,
				      "SHV point name: 1-%d of A-Z a-z 0-9 . _ - (a host name)",
				      NAP_SHV_HOST_MAX);
	if (url != NULL && !nap_shv_url_valid(url))
		return nap_store_errf(err, -EINVAL,
				      "url: want smb://HOST[:PORT]/SHARE[/DIR] (at most %d bytes, "
				      "no spaces)",
				      NAP_SHV_URL_MAX);
	if (credentials != NULL &&
	    (credentials[0] != '/' || strlen(credentials) > NAP_SHV_PATH_MAX ||
	     !nap_store_utf8_valid(credentials) || strpbrk(credentials, "\n\r\t") != NULL))
		return nap_store_errf(err, -EINVAL,
				      "credentials: an absolute path of at most %d bytes",
				      NAP_SHV_PATH_MAX);
	if (s != NULL && nap_shv_settings_check(s, why, sizeof(why)) < 0)
		return nap_store_errf(err, -EINVAL, "%s", why);
	return 0;
}

static char *
shv_settings_text(const struct nap_shv_settings *s)
{
	json_t *o = nap_shv_settings_to_json(s);
	char *text;

	if (o == NULL)
		return NULL;
	text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(o);
	return text;
}

#define SHV_COLUMNS                                                                                \
	"host, url, credentials, settings, revision, pushed_revision, pushed, status, "           \
	"status_detail, created, updated"

/* One row of SHV_COLUMNS into out. */
static int
shv_row(struct nap_store *st, struct store_cursor *c, struct nap_shv_point *out,
	struct nap_store_err *err)
{
	const char *settings;
	json_error_t je;
	json_t *o;
	char why[NAP_SHV_ERROR_LEN];
	int r = 0;

	nap_shv_point_clear(out);
	if ((r = col_copy(st, c, 0, out->host, sizeof(out->host), err)) < 0 ||
	    (r = col_copy(st, c, 1, out->url, sizeof(out->url), err)) < 0 ||
	    (r = col_copy(st, c, 2, out->credentials, sizeof(out->credentials), err)) < 0)
		return r;
	settings = st->ops->text(c, 3);
	o = json_loads(settings, JSON_REJECT_DUPLICATES, &je);
	if (o == NULL)
		return nap_store_errf(err, -EIO, "shv_points %s: settings are not JSON", out->host);
	r = nap_shv_settings_from_json(o, &out->settings, why, sizeof(why));
	json_decref(o);
	if (r < 0)
		return nap_store_errf(err, -EIO, "shv_points %s: settings: %s", out->host, why);
	out->revision = (uint64_t)st->ops->int64(c, 4);
	out->pushed_revision = (uint64_t)st->ops->int64(c, 5);
	out->pushed = st->ops->is_null(c, 6) ? 0 : st->ops->int64(c, 6);
	r = 0;
	out->status = col_dup(st, c, 7, &r);
	out->status_detail = col_dup(st, c, 8, &r);
	if (r < 0)
		return nap_store_errf(err, r, "out of memory");
	out->created = st->ops->int64(c, 9);
	out->updated = st->ops->int64(c, 10);
	out->settings.revision = out->revision;
	return 0;
}

/* ---- add ---- */

static int
shv_add_tx(struct nap_store *st, void *arg, struct nap_store_err *err)
{
	const struct nap_shv_point *p = ((void **)arg)[0];
	const char *settings = ((void **)arg)[1];
	int64_t now = (int64_t)time(NULL), n;
	int r;

	r = q_int(st, "SELECT COUNT(*) FROM shv_points WHERE host = $1", SP_ARGS(SP_T(p->host)),
		  &n, err);
	if (r < 0)
		return r;
	if (n > 0)
		return nap_store_errf(err, -EEXIST, "SHV point %s exists", p->host);
	return q_exec(st,
		      "INSERT INTO shv_points (host, url, credentials, settings, revision, "
		      "pushed_revision, created, updated) VALUES ($1, $2, $3, $4, 1, 0, $5, $5)",
		      SP_ARGS(SP_T(p->host), SP_T(p->url), SP_T(p->credentials), SP_T(settings),
			      SP_I(now)),
		      NULL, err);
}

int
nap_store_shv_add(struct nap_store *st, const struct nap_shv_point *p, struct nap_store_err *err)
{
	char *settings;
	void *ctx[2];
	int r;

	if ((r = shv_point_check(p->host, p->url, p->credentials, &p->settings, err)) < 0)
		return r;
	if ((settings = shv_settings_text(&p->settings)) == NULL)
		return nap_store_errf(err, -ENOMEM, "out of memory");
	ctx[0] = (void *)p;
	ctx[1] = settings;
	r = store_run(st, STORE_TX_WRITE, shv_add_tx, ctx, err);
	free(settings);
	return r;
}

/* ---- get, list ---- */

struct shv_get_ctx {
	const char *host;
	struct nap_shv_point *out;
};

static int
shv_get_tx(struct nap_store *st, void *arg, struct nap_store_err *err)
{
	struct shv_get_ctx *ctx = arg;
	struct store_cursor *c;
	int r;

	r = st->ops->query(st, "SELECT " SHV_COLUMNS " FROM shv_points WHERE host = $1",
			   SP_ARGS(SP_T(ctx->host)), &c, err);
	if (r < 0)
		return r;
	r = st->ops->next(c, err);
	if (r > 0)
		r = shv_row(st, c, ctx->out, err);
	else if (r == 0)
		r = nap_store_errf(err, -ENOENT, "no SHV point %s", ctx->host);
	st->ops->done(c);
	return r;
}

int
nap_store_shv_get(struct nap_store *st, const char *host, struct nap_shv_point *out,
		  struct nap_store_err *err)
{
	struct shv_get_ctx ctx = {.host = host, .out = out};

	memset(out, 0, sizeof(*out));
	if (!nap_shv_host_valid(host))
		return nap_store_errf(err, -ENOENT, "no such SHV point (not a host name)");
	return store_run(st, STORE_TX_READ, shv_get_tx, &ctx, err);
}

struct shv_list_ctx {
	struct nap_shv_point *v;
	size_t n, cap;
};

static void
shv_list_reset(struct shv_list_ctx *ctx)
{
	nap_shv_points_free(ctx->v, ctx->cap);
	memset(ctx, 0, sizeof(*ctx));
}

static int
shv_list_tx(struct nap_store *st, void *arg, struct nap_store_err *err)
{
	struct shv_list_ctx *ctx = arg;
	struct store_cursor *c;
	int r;

	shv_list_reset(ctx);
	r = st->ops->query(st, "SELECT " SHV_COLUMNS " FROM shv_points ORDER BY host", SP_NONE, &c,
			   err);
	if (r < 0)
		return r;
	while ((r = st->ops->next(c, err)) > 0) {
		if (ctx->n == ctx->cap) {
			size_t ncap = ctx->cap == 0 ? 8 : ctx->cap * 2;
			struct nap_shv_point *nv = realloc(ctx->v, ncap * sizeof(*nv));

			if (nv == NULL) {
				r = nap_store_errf(err, -ENOMEM, "out of memory");
				break;
			}
			memset(nv + ctx->cap, 0, (ncap - ctx->cap) * sizeof(*nv));
			ctx->v = nv;
			ctx->cap = ncap;
		}
		if ((r = shv_row(st, c, &ctx->v[ctx->n], err)) < 0)
			break;
		ctx->n++;
	}
	st->ops->done(c);
	return r;
}

int
nap_store_shv_list(struct nap_store *st, struct nap_shv_point **out, size_t *n,
		   struct nap_store_err *err)
{
	struct shv_list_ctx ctx = {0};
	int r;

	*out = NULL;
	*n = 0;
	r = store_run(st, STORE_TX_READ, shv_list_tx, &ctx, err);
	if (r < 0) {
		shv_list_reset(&ctx);
		return r;
	}
	*out = ctx.v;
	*n = ctx.n;
	return 0;
}

/* ---- update, remove ---- */

struct shv_update_ctx {
	const char *host, *url, *credentials;
	const struct nap_shv_settings *s;
	const char *settings;
	uint64_t revision;
};

static int
shv_update_tx(struct nap_store *st, void *arg, struct nap_store_err *err)
{
	struct shv_update_ctx *ctx = arg;
	struct nap_shv_point cur = {0};
	struct shv_get_ctx g = {.host = ctx->host, .out = &cur};
	int64_t now = (int64_t)time(NULL);
	bool changed;
	int r;

	if ((r = shv_get_tx(st, &g, err)) < 0)
		goto out;
	changed = !nap_shv_settings_equal(&cur.settings, ctx->s);
	ctx->revision = cur.revision + (changed ? 1 : 0);
	r = q_exec(st,
		   "UPDATE shv_points SET url = $2, credentials = $3, settings = $4, revision = $5, "
		   "updated = $6 WHERE host = $1",
		   SP_ARGS(SP_T(ctx->host), SP_T(ctx->url != NULL ? ctx->url : cur.url),
			   SP_T(ctx->credentials != NULL ? ctx->credentials : cur.credentials),
			   SP_T(ctx->settings), SP_I(ctx->revision), SP_I(now)),
		   NULL, err);
out:
	nap_shv_point_clear(&cur);
	return r;
}

int
nap_store_shv_update(struct nap_store *st, const char *host, const char *url,
		     const char *credentials, const struct nap_shv_settings *s, uint64_t *revision,
		     struct nap_store_err *err)
{
	struct shv_update_ctx ctx = {.host = host, .url = url, .credentials = credentials, .s = s};
	char *settings;
	int r;

	if ((r = shv_point_check(host, url, credentials, s, err)) < 0)
		return r;
	if ((settings = shv_settings_text(s)) == NULL)
		return nap_store_errf(err, -ENOMEM, "out of memory");
	ctx.settings = settings;
	r = store_run(st, STORE_TX_WRITE, shv_update_tx, &ctx, err);
	free(settings);
	if (r == 0 && revision != NULL)
		*revision = ctx.revision;
	return r;
}

static int
shv_remove_tx(struct nap_store *st, void *arg, struct nap_store_err *err)
{
	const char *host = arg;
	int64_t changes = 0;
	int r;

	r = q_exec(st, "DELETE FROM shv_points WHERE host = $1", SP_ARGS(SP_T(host)), &changes,
		   err);
	if (r == 0 && changes == 0)
		r = nap_store_errf(err, -ENOENT, "no SHV point %s", host);
	return r;
}

int
nap_store_shv_remove(struct nap_store *st, const char *host, struct nap_store_err *err)
{
	if (!nap_shv_host_valid(host))
		return nap_store_errf(err, -ENOENT, "no such SHV point (not a host name)");
	return store_run(st, STORE_TX_WRITE, shv_remove_tx, (void *)host, err);
}

/* ---- what the pusher and napctl record ---- */

struct shv_pushed_ctx {
	const char *host;
	uint64_t revision;
	int64_t when;
};

static int
shv_pushed_tx(struct nap_store *st, void *arg, struct nap_store_err *err)
{
	struct shv_pushed_ctx *ctx = arg;
	int64_t changes = 0;
	int r;

	r = q_exec(st,
		   "UPDATE shv_points SET pushed_revision = $2, pushed = $3 WHERE host = $1 AND "
		   "pushed_revision <= $2",
		   SP_ARGS(SP_T(ctx->host), SP_I(ctx->revision), SP_I(ctx->when)), &changes, err);
	if (r < 0)
		return r;
	if (changes == 0) {
		int64_t n;

		r = q_int(st, "SELECT COUNT(*) FROM shv_points WHERE host = $1",
			  SP_ARGS(SP_T(ctx->host)), &n, err);
		if (r == 0 && n == 0)
			r = nap_store_errf(err, -ENOENT, "no SHV point %s", ctx->host);
	}
	return r;
}

int
nap_store_shv_pushed(struct nap_store *st, const char *host, uint64_t revision, int64_t when,
		     struct nap_store_err *err)
{
	struct shv_pushed_ctx ctx = {.host = host, .revision = revision, .when = when};

	if (!nap_shv_host_valid(host) || revision > NAP_SHV_REVISION_MAX)
		return nap_store_errf(err, -EINVAL, "bad SHV point or revision");
	return store_run(st, STORE_TX_WRITE, shv_pushed_tx, &ctx, err);
}

struct shv_status_ctx {
	const char *host, *status, *detail;
};

static int
shv_status_tx(struct nap_store *st, void *arg, struct nap_store_err *err)
{
	struct shv_status_ctx *ctx = arg;
	int64_t changes = 0;
	int r;

	r = q_exec(st, "UPDATE shv_points SET status = $2, status_detail = $3 WHERE host = $1",
		   SP_ARGS(SP_T(ctx->host), SP_T(ctx->status), SP_T(ctx->detail)), &changes, err);
	if (r == 0 && changes == 0)
		r = nap_store_errf(err, -ENOENT, "no SHV point %s", ctx->host);
	return r;
}

int
nap_store_shv_status_put(struct nap_store *st, const char *host, const char *status,
			 const char *detail, struct nap_store_err *err)
{
	struct shv_status_ctx ctx = {.host = host, .status = status, .detail = detail};

	if (!nap_shv_host_valid(host))
		return nap_store_errf(err, -EINVAL, "bad SHV point name");
	if (status == NULL || (strcmp(status, "accepted") != 0 && strcmp(status, "rejected") != 0 &&
			       strcmp(status, "unreachable") != 0 && strcmp(status, "pending") != 0))
		return nap_store_errf(err, -EINVAL, "status: accepted, rejected, pending or "
						    "unreachable");
	/* The detail comes from a share: text, bounded. */
	if (detail != NULL &&
	    (strlen(detail) > SHV_STATUS_DETAIL_MAX || !nap_store_utf8_valid(detail)))
		return nap_store_errf(err, -EINVAL, "status detail: not UTF-8 text of at most %d "
						    "bytes",
				      SHV_STATUS_DETAIL_MAX);
	return store_run(st, STORE_TX_WRITE, shv_status_tx, &ctx, err);
}
