// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * Policy import files (include/nap/policy_import.h): JSON or CSV lists of NAP policies, parsed
 * into struct nap_policy and checked with nap_policy_check() before the store sees them.
 * Handles untrusted input (advisory feeds, files an administrator downloaded): sizes are bounded
 * by named constants, bytes from the input are escaped before they go into an error message, and
 * nothing is returned unless every entry is good.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "nap/policy_import.h"
#include "nap/util.h"

#define ESC_MAX 48 /* an escaped value quoted in an error message */

/* CSV columns the importer knows. */
enum col {
	COL_ID,
	COL_PACKAGE,
	COL_MIN_VERSION,
	COL_SCHEME,
	COL_SEVERITY,
	COL_EFFECTIVE,
	COL_REASON,
	COL_COUNT,
};

static const char *const col_names[COL_COUNT] = {
	[COL_ID] = "id",         [COL_PACKAGE] = "package",   [COL_MIN_VERSION] = "min_version",
	[COL_SCHEME] = "scheme", [COL_SEVERITY] = "severity", [COL_EFFECTIVE] = "effective",
	[COL_REASON] = "reason",
};

static int import_err(struct nap_store_err *err, int r, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int
import_err(struct nap_store_err *err, int r, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL) {
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
	}
	return r;
}

/* Untrusted text for an error message: printable ASCII kept, the rest \xNN, cut at cap. */
static const char *
esc(const char *s, char *buf, size_t cap)
{
	nap_escape((const uint8_t *)s, strlen(s), buf, cap);
	return buf;
}

int
nap_policy_time_parse(const char *s, int64_t *unix_seconds)
{
	static const char shape[] = "dddd-dd-ddTdd:dd:ddZ";
	char buf[sizeof(shape)], back[32];
	size_t len;
	int64_t t;

	if (s == NULL)
		return -EINVAL;
	len = strlen(s);
	if (len == 10) {
		memcpy(buf, s, 10);
		memcpy(buf + 10, "T00:00:00Z", sizeof("T00:00:00Z"));
	} else if (len == sizeof(shape) - 1) {
		memcpy(buf, s, sizeof(shape));
	} else {
		return -EINVAL;
	}
	for (size_t i = 0; i < sizeof(shape) - 1; i++) {
		if (shape[i] == 'd' ? buf[i] < '0' || buf[i] > '9' : buf[i] != shape[i])
			return -EINVAL;
	}
	if (nap_parse_time(buf, &t) < 0 || t < 0)
		return -EINVAL;
	/* timegm() normalises 2026-02-30 to March 2: only a time that formats back is real. */
	nap_format_time(t, back, sizeof(back));
	if (strcmp(back, buf) != 0)
		return -EINVAL;
	*unix_seconds = t;
	return 0;
}

int
nap_policy_scheme_parse(const char *s, enum nap_version_scheme *out)
{
	if (strcmp(s, "dpkg") == 0)
		*out = NAP_SCHEME_DPKG;
	else if (strcmp(s, "rpm") == 0)
		*out = NAP_SCHEME_RPM;
	else
		return -EINVAL;
	return 0;
}

static size_t
skip_bom(const uint8_t *buf, size_t len)
{
	return len >= 3 && buf[0] == 0xef && buf[1] == 0xbb && buf[2] == 0xbf ? 3 : 0;
}

enum nap_policy_import_format
nap_policy_import_guess(const uint8_t *buf, size_t len)
{
	for (size_t i = skip_bom(buf, len); i < len; i++) {
		if (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\r' || buf[i] == '\n')
			continue;
		return buf[i] == '[' || buf[i] == '{' ? NAP_POLICY_IMPORT_JSON
						      : NAP_POLICY_IMPORT_CSV;
	}
	return NAP_POLICY_IMPORT_CSV;
}

void
nap_policy_import_free(struct nap_policy *v, size_t n)
{
	if (v == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		nap_policy_clear(&v[i]);
	free(v);
}

/* Is package already required by p? */
static bool
has_package(const struct nap_policy *p, const char *package)
{
	for (size_t i = 0; i < p->n_reqs; i++)
		if (strcmp(p->reqs[i].package, package) == 0)
			return true;
	return false;
}

/* ---- JSON ---- */

static int
json_text(json_t *v, const char *label, const char *member, const char **out,
	  struct nap_store_err *err)
{
	if (!json_is_string(v))
		return import_err(err, -EINVAL, "%s: %s: not a string", label, member);
	*out = json_string_value(v);
	return 0;
}

/* A member name we do not know: quoted in the message, escaped. */
static int
json_unknown(const char *label, const char *key, struct nap_store_err *err)
{
	char e[ESC_MAX];

	return import_err(err, -EINVAL, "%s: unknown member '%s'", label, esc(key, e, sizeof(e)));
}

static int
json_req(json_t *o, const char *label, enum nap_version_scheme dflt, struct nap_policy_req *rq,
	 struct nap_store_err *err)
{
	const char *key, *pkg = NULL, *min = NULL, *scheme = NULL;
	json_t *v;
	int r;

	if (!json_is_object(o))
		return import_err(err, -EINVAL, "%s: not an object", label);
	json_object_foreach(o, key, v)
	{
		if (strcmp(key, "package") == 0)
			r = json_text(v, label, key, &pkg, err);
		else if (strcmp(key, "min_version") == 0)
			r = json_text(v, label, key, &min, err);
		else if (strcmp(key, "scheme") == 0)
			r = json_text(v, label, key, &scheme, err);
		else if (strncmp(key, "x-", 2) == 0)
			r = 0;
		else
			r = json_unknown(label, key, err);
		if (r < 0)
			return r;
	}
	if (pkg == NULL || min == NULL)
		return import_err(err, -EINVAL, "%s: %s: missing", label,
				  pkg == NULL ? "package" : "min_version");
	rq->scheme = dflt;
	if (scheme != NULL && nap_policy_scheme_parse(scheme, &rq->scheme) < 0)
		return import_err(err, -EINVAL, "%s: scheme: not \"dpkg\" or \"rpm\"", label);
	if ((rq->package = strdup(pkg)) == NULL || (rq->min_version = strdup(min)) == NULL)
		return import_err(err, -ENOMEM, "out of memory");
	return 0;
}

static int
json_policy(json_t *o, char *label, size_t label_cap, struct nap_policy *p,
	    struct nap_store_err *err)
{
	json_t *v, *jreq = NULL;
	const char *key, *id = NULL, *pkg = NULL, *min = NULL, *scheme = NULL, *sev = NULL;
	const char *eff = NULL, *reason = NULL;
	enum nap_version_scheme sch = NAP_SCHEME_DPKG;
	char e[ESC_MAX], sub[128];
	int r;

	if (!json_is_object(o))
		return import_err(err, -EINVAL, "%s: not a policy object", label);
	/* The id first, so that every later message names the policy. */
	if ((v = json_object_get(o, "id")) == NULL)
		return import_err(err, -EINVAL, "%s: id: missing", label);
	if ((r = json_text(v, label, "id", &id, err)) < 0)
		return r;
	if (id[0] == '\0' || strlen(id) > NAP_POLICY_ID_MAX)
		return import_err(err, -EINVAL, "%s: id: must be 1-%d characters", label,
				  NAP_POLICY_ID_MAX);
	memcpy(p->id, id, strlen(id) + 1);
	snprintf(label + strlen(label), label_cap - strlen(label), " (id %s)",
		 esc(id, e, sizeof(e)));

	json_object_foreach(o, key, v)
	{
		r = 0;
		if (strcmp(key, "id") == 0)
			continue;
		else if (strcmp(key, "package") == 0)
			r = json_text(v, label, key, &pkg, err);
		else if (strcmp(key, "min_version") == 0)
			r = json_text(v, label, key, &min, err);
		else if (strcmp(key, "scheme") == 0)
			r = json_text(v, label, key, &scheme, err);
		else if (strcmp(key, "severity") == 0)
			r = json_text(v, label, key, &sev, err);
		else if (strcmp(key, "effective") == 0)
			r = json_text(v, label, key, &eff, err);
		else if (strcmp(key, "reason") == 0) {
			if (!json_is_null(v))
				r = json_text(v, label, key, &reason, err);
		} else if (strcmp(key, "requires") == 0)
			jreq = v;
		else if (strcmp(key, "created") == 0 || strcmp(key, "updated") == 0 ||
			 strncmp(key, "x-", 2) == 0)
			continue; /* `napctl policy list --json` output; extensions */
		else
			r = json_unknown(label, key, err);
		if (r < 0)
			return r;
	}

	if (scheme != NULL && nap_policy_scheme_parse(scheme, &sch) < 0)
		return import_err(err, -EINVAL, "%s: scheme: '%s' is not \"dpkg\" or \"rpm\"",
				  label, esc(scheme, e, sizeof(e)));
	if (jreq != NULL) {
		size_t n;

		if (pkg != NULL || min != NULL)
			return import_err(err, -EINVAL,
					  "%s: requires: not together with package/min_version",
					  label);
		if (!json_is_array(jreq) || (n = json_array_size(jreq)) == 0)
			return import_err(err, -EINVAL, "%s: requires: not a non-empty array",
					  label);
		if (n > NAP_POLICY_MAX_REQS)
			return import_err(err, -EMSGSIZE, "%s: requires: more than %d packages",
					  label, NAP_POLICY_MAX_REQS);
		if ((p->reqs = calloc(n, sizeof(*p->reqs))) == NULL)
			return import_err(err, -ENOMEM, "out of memory");
		for (size_t i = 0; i < n; i++) {
			struct nap_policy_req rq = {NULL, NULL, NAP_SCHEME_DPKG};

			snprintf(sub, sizeof(sub), "%s: requires[%zu]", label, i);
			r = json_req(json_array_get(jreq, i), sub, sch, &rq, err);
			if (r == 0 && has_package(p, rq.package))
				r = import_err(err, -EINVAL, "%s: package '%s' listed twice", sub,
					       esc(rq.package, e, sizeof(e)));
			if (r < 0) {
				free(rq.package);
				free(rq.min_version);
				return r;
			}
			p->reqs[p->n_reqs++] = rq;
		}
	} else if (pkg != NULL || min != NULL) {
		if (pkg == NULL || min == NULL)
			return import_err(err, -EINVAL,
					  "%s: %s: missing (package and min_version "
					  "go together)",
					  label, pkg == NULL ? "package" : "min_version");
		if ((p->reqs = calloc(1, sizeof(*p->reqs))) == NULL)
			return import_err(err, -ENOMEM, "out of memory");
		p->n_reqs = 1;
		p->reqs[0].scheme = sch;
		if ((p->reqs[0].package = strdup(pkg)) == NULL ||
		    (p->reqs[0].min_version = strdup(min)) == NULL)
			return import_err(err, -ENOMEM, "out of memory");
	}

	if (sev == NULL)
		return import_err(err, -EINVAL, "%s: severity: missing", label);
	if (strlen(sev) >= sizeof(p->severity))
		return import_err(err, -EINVAL, "%s: severity: unknown severity '%s'", label,
				  esc(sev, e, sizeof(e)));
	memcpy(p->severity, sev, strlen(sev) + 1);
	p->effective = 0;
	if (eff != NULL && strcmp(eff, "asap") != 0 &&
	    nap_policy_time_parse(eff, &p->effective) < 0)
		return import_err(err, -EINVAL,
				  "%s: effective: '%s' is not \"asap\", YYYY-MM-DD or "
				  "YYYY-MM-DDTHH:MM:SSZ",
				  label, esc(eff, e, sizeof(e)));
	if (reason != NULL && (p->reason = strdup(reason)) == NULL)
		return import_err(err, -ENOMEM, "out of memory");
	return 0;
}

struct id_index {
	const char *id;
	size_t index;
};

static int
id_index_cmp(const void *a, const void *b)
{
	const struct id_index *x = a, *y = b;
	int c = strcmp(x->id, y->id);

	if (c != 0)
		return c;
	return x->index < y->index ? -1 : x->index > y->index;
}

static int
import_json(const uint8_t *buf, size_t len, struct nap_policy **out, size_t *out_n,
	    struct nap_store_err *err)
{
	json_error_t je;
	json_t *root, *arr = NULL, *v;
	struct nap_policy *pv = NULL;
	struct id_index *ids = NULL;
	const char *key, *prefix = "";
	char label[160], e[ESC_MAX];
	size_t n = 0, done = 0;
	int r;

	if ((root = json_loadb((const char *)buf, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY,
			       &je)) == NULL)
		return import_err(err, -EINVAL, "JSON: line %d column %d: %s", je.line, je.column,
				  esc(je.text, e, sizeof(e)));
	if (json_is_array(root)) {
		arr = root;
	} else if (json_is_object(root)) {
		prefix = "policies";
		json_object_foreach(root, key, v)
		{
			if (strcmp(key, "policies") == 0)
				arr = v;
			else if (strcmp(key, "revision") != 0 && strcmp(key, "changed") != 0 &&
				 strncmp(key, "x-", 2) != 0) {
				r = json_unknown("JSON", key, err);
				goto out;
			}
		}
		if (arr == NULL || !json_is_array(arr)) {
			r = import_err(err, -EINVAL, "JSON: policies: %s",
				       arr == NULL ? "missing" : "not an array");
			goto out;
		}
	} else {
		r = import_err(err, -EINVAL,
			       "JSON: expected an array of policies or {\"policies\": [...]}");
		goto out;
	}
	n = json_array_size(arr);
	if (n > NAP_POLICY_IMPORT_MAX_POLICIES) {
		r = import_err(err, -EMSGSIZE, "JSON: %zu policies, at most %d", n,
			       NAP_POLICY_IMPORT_MAX_POLICIES);
		goto out;
	}
	if ((pv = calloc(n + 1, sizeof(*pv))) == NULL ||
	    (ids = calloc(n + 1, sizeof(*ids))) == NULL) {
		r = import_err(err, -ENOMEM, "out of memory");
		goto out;
	}
	for (done = 0; done < n; done++) {
		snprintf(label, sizeof(label), "%s[%zu]", prefix, done);
		if ((r = json_policy(json_array_get(arr, done), label, sizeof(label), &pv[done],
				     err)) < 0) {
			done++; /* free what the failed one holds too */
			goto out;
		}
		ids[done].id = pv[done].id;
		ids[done].index = done;
	}
	qsort(ids, n, sizeof(*ids), id_index_cmp);
	for (size_t i = 1; i < n; i++) {
		if (strcmp(ids[i - 1].id, ids[i].id) == 0) {
			r = import_err(err, -EINVAL, "%s[%zu] (id %s): id already used by %s[%zu]",
				       prefix, ids[i].index, esc(ids[i].id, e, sizeof(e)), prefix,
				       ids[i - 1].index);
			goto out;
		}
	}
	for (size_t i = 0; i < n; i++) {
		struct nap_store_err ce = {{0}};

		if (nap_policy_check(&pv[i], &ce) < 0) {
			r = import_err(err, -EINVAL, "%s[%zu]: %s", prefix, i, ce.msg);
			goto out;
		}
	}
	*out = pv;
	*out_n = n;
	pv = NULL;
	r = 0;
out:
	nap_policy_import_free(pv, done);
	free(ids);
	json_decref(root);
	return r;
}

/* ---- CSV ---- */

struct csv {
	const uint8_t *p;
	size_t len, pos;
	size_t line; /* physical line of p[pos], from 1 */
	/* the current record: n cells, NUL-terminated, in buf */
	char *buf;
	size_t used;
	char *cell[NAP_POLICY_IMPORT_MAX_COLUMNS];
	size_t n;
	size_t rec_line; /* where the record starts */
};

#define CSV_BUF_SIZE (NAP_POLICY_IMPORT_MAX_COLUMNS * (NAP_POLICY_IMPORT_MAX_FIELD + 1))

static int
csv_put(struct csv *c, size_t *cell_len, uint8_t ch, struct nap_store_err *err)
{
	if (ch == '\0')
		return import_err(err, -EINVAL, "line %zu: NUL byte", c->line);
	if (*cell_len >= NAP_POLICY_IMPORT_MAX_FIELD)
		return import_err(err, -EMSGSIZE, "line %zu: column %zu: longer than %d bytes",
				  c->line, c->n + 1, NAP_POLICY_IMPORT_MAX_FIELD);
	c->buf[c->used++] = (char)ch;
	(*cell_len)++;
	return 0;
}

/* The next record into c->cell: 1, 0 at the end of the input, or a negative errno. */
static int
csv_next(struct csv *c, struct nap_store_err *err)
{
	uint8_t ch;
	int r;

	if (c->pos >= c->len)
		return 0;
	c->n = 0;
	c->used = 0;
	c->rec_line = c->line;
	for (;;) {
		size_t cl = 0;

		if (c->n == NAP_POLICY_IMPORT_MAX_COLUMNS)
			return import_err(err, -EMSGSIZE, "line %zu: more than %d columns", c->line,
					  NAP_POLICY_IMPORT_MAX_COLUMNS);
		c->cell[c->n] = c->buf + c->used;
		if (c->pos < c->len && c->p[c->pos] == '"') {
			size_t open_line = c->line;

			c->pos++;
			for (;;) {
				if (c->pos >= c->len)
					return import_err(err, -EINVAL,
							  "line %zu: quoted field never closed",
							  open_line);
				ch = c->p[c->pos++];
				if (ch == '"') {
					if (c->pos < c->len && c->p[c->pos] == '"')
						c->pos++; /* "" is one quote */
					else
						break;
				} else if (ch == '\n') {
					c->line++;
				}
				if ((r = csv_put(c, &cl, ch, err)) < 0)
					return r;
			}
			if (c->pos < c->len && c->p[c->pos] != ',' && c->p[c->pos] != '\n' &&
			    c->p[c->pos] != '\r')
				return import_err(
					err, -EINVAL,
					"line %zu: text after the closing quote of column "
					"%zu",
					c->line, c->n + 1);
		} else {
			while (c->pos < c->len) {
				ch = c->p[c->pos];
				if (ch == ',' || ch == '\n' || ch == '\r')
					break;
				if (ch == '"')
					return import_err(err, -EINVAL,
							  "line %zu: column %zu: quote inside an "
							  "unquoted field (quote the whole field)",
							  c->line, c->n + 1);
				if ((r = csv_put(c, &cl, ch, err)) < 0)
					return r;
				c->pos++;
			}
		}
		c->buf[c->used++] = '\0';
		c->n++;
		if (c->pos >= c->len)
			return 1;
		ch = c->p[c->pos++];
		if (ch == ',')
			continue;
		if (ch == '\r') {
			if (c->pos >= c->len || c->p[c->pos] != '\n')
				return import_err(err, -EINVAL,
						  "line %zu: carriage return without line feed",
						  c->line);
			c->pos++;
		}
		c->line++;
		return 1;
	}
}

/* What the CSV rows say about one policy beyond struct nap_policy. */
struct csv_policy {
	size_t line;   /* its first row */
	bool advisory; /* that row has no package */
	bool eff_set;  /* some row gave an effective time */
};

#define CSV_HASH_SIZE 32768 /* power of two, > 2 * NAP_POLICY_IMPORT_MAX_POLICIES */

static uint32_t
csv_hash(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s != '\0'; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	return h;
}

struct csv_import {
	struct csv c;
	int col[COL_COUNT]; /* column index or -1 */
	size_t ncols;       /* cells in the header */
	struct nap_policy *pv;
	struct csv_policy *info;
	size_t n, cap;
	uint32_t *hash; /* policy index + 1, 0 = free */
};

static const char *
csv_cell(const struct csv_import *im, enum col k)
{
	return im->col[k] < 0 ? "" : im->c.cell[im->col[k]];
}

static int
csv_header(struct csv_import *im, struct nap_store_err *err)
{
	char e[ESC_MAX];
	int r;

	if ((r = csv_next(&im->c, err)) < 0)
		return r;
	if (r == 0)
		return import_err(err, -EINVAL,
				  "CSV: empty: a header line is required (%s,%s,%s,"
				  "%s,%s,%s,%s)",
				  col_names[0], col_names[1], col_names[2], col_names[3],
				  col_names[4], col_names[5], col_names[6]);
	for (size_t k = 0; k < COL_COUNT; k++)
		im->col[k] = -1;
	for (size_t i = 0; i < im->c.n; i++) {
		char *name = im->c.cell[i];
		size_t k, l;

		while (*name == ' ' || *name == '\t')
			name++;
		for (l = strlen(name); l > 0 && (name[l - 1] == ' ' || name[l - 1] == '\t'); l--)
			name[l - 1] = '\0';
		if (strncasecmp(name, "x-", 2) == 0)
			continue;
		for (k = 0; k < COL_COUNT; k++)
			if (strcasecmp(name, col_names[k]) == 0)
				break;
		if (k == COL_COUNT)
			return import_err(
				err, -EINVAL,
				"line %zu: unknown column '%s' (id, package, min_version, "
				"scheme, severity, effective, reason)",
				im->c.rec_line, esc(name, e, sizeof(e)));
		if (im->col[k] >= 0)
			return import_err(err, -EINVAL, "line %zu: column %s twice", im->c.rec_line,
					  col_names[k]);
		im->col[k] = (int)i;
	}
	im->ncols = im->c.n;
	if (im->col[COL_ID] < 0 || im->col[COL_SEVERITY] < 0)
		return import_err(err, -EINVAL, "line %zu: the header needs an %s column",
				  im->c.rec_line, im->col[COL_ID] < 0 ? "id" : "severity");
	if ((im->col[COL_PACKAGE] < 0) != (im->col[COL_MIN_VERSION] < 0))
		return import_err(err, -EINVAL,
				  "line %zu: columns package and min_version go together",
				  im->c.rec_line);
	return 0;
}

/* Index of the policy with this id, or n when there is none (*slot: where to add it). */
static size_t
csv_find(const struct csv_import *im, const char *id, uint32_t *slot)
{
	uint32_t h = csv_hash(id) & (CSV_HASH_SIZE - 1);

	while (im->hash[h] != 0) {
		if (strcmp(im->pv[im->hash[h] - 1].id, id) == 0)
			return im->hash[h] - 1;
		h = (h + 1) & (CSV_HASH_SIZE - 1);
	}
	*slot = h;
	return im->n;
}

static int
csv_add_req(struct nap_policy *p, const char *pkg, const char *min, enum nap_version_scheme sch)
{
	struct nap_policy_req *nr;

	/* Grow by powers of two: at most NAP_POLICY_MAX_REQS entries. */
	if ((p->n_reqs & (p->n_reqs - 1)) == 0) {
		size_t cap = p->n_reqs == 0 ? 1 : p->n_reqs * 2;

		if ((nr = realloc(p->reqs, cap * sizeof(*nr))) == NULL)
			return -ENOMEM;
		p->reqs = nr;
	}
	nr = &p->reqs[p->n_reqs];
	nr->scheme = sch;
	nr->package = strdup(pkg);
	nr->min_version = strdup(min);
	p->n_reqs++;
	if (nr->package == NULL || nr->min_version == NULL)
		return -ENOMEM;
	return 0;
}

static int
csv_differs(size_t line, const struct nap_policy *p, size_t first, const char *what,
	    const char *now, const char *before, struct nap_store_err *err)
{
	char e1[ESC_MAX], e2[ESC_MAX], e3[ESC_MAX];

	return import_err(err, -EINVAL, "line %zu (id %s): %s '%s' differs from '%s' on line %zu",
			  line, esc(p->id, e1, sizeof(e1)), what, esc(now, e2, sizeof(e2)),
			  esc(before, e3, sizeof(e3)), first);
}

static int
csv_row(struct csv_import *im, struct nap_store_err *err)
{
	const char *id = csv_cell(im, COL_ID), *pkg = csv_cell(im, COL_PACKAGE);
	const char *min = csv_cell(im, COL_MIN_VERSION), *scheme = csv_cell(im, COL_SCHEME);
	const char *sev = csv_cell(im, COL_SEVERITY), *eff = csv_cell(im, COL_EFFECTIVE);
	const char *reason = csv_cell(im, COL_REASON);
	size_t line = im->c.rec_line, i;
	enum nap_version_scheme sch = NAP_SCHEME_DPKG;
	struct nap_policy *p;
	struct csv_policy *info;
	int64_t t = 0;
	uint32_t slot = 0;
	char e[ESC_MAX], e2[ESC_MAX];

	if (id[0] == '\0')
		return import_err(err, -EINVAL, "line %zu: id: empty", line);
	if (strlen(id) > NAP_POLICY_ID_MAX)
		return import_err(err, -EINVAL, "line %zu: id: longer than %d characters", line,
				  NAP_POLICY_ID_MAX);
	esc(id, e, sizeof(e));
	if ((pkg[0] == '\0') != (min[0] == '\0'))
		return import_err(
			err, -EINVAL,
			"line %zu (id %s): %s: empty (package and min_version go together)", line,
			e, pkg[0] == '\0' ? "package" : "min_version");
	if (scheme[0] != '\0' && nap_policy_scheme_parse(scheme, &sch) < 0)
		return import_err(err, -EINVAL, "line %zu (id %s): scheme: '%s' is not dpkg or rpm",
				  line, e, esc(scheme, e2, sizeof(e2)));
	if (strlen(sev) >= sizeof(p->severity))
		return import_err(err, -EINVAL, "line %zu (id %s): severity: unknown severity '%s'",
				  line, e, esc(sev, e2, sizeof(e2)));
	if (eff[0] != '\0' && strcmp(eff, "asap") != 0 && nap_policy_time_parse(eff, &t) < 0)
		return import_err(err, -EINVAL,
				  "line %zu (id %s): effective: '%s' is not asap, YYYY-MM-DD or "
				  "YYYY-MM-DDTHH:MM:SSZ",
				  line, e, esc(eff, e2, sizeof(e2)));

	i = csv_find(im, id, &slot);
	if (i == im->n) {
		/* A new policy. */
		if (im->n == NAP_POLICY_IMPORT_MAX_POLICIES)
			return import_err(err, -EMSGSIZE, "line %zu: more than %d policies", line,
					  NAP_POLICY_IMPORT_MAX_POLICIES);
		if (im->n == im->cap) {
			size_t cap = im->cap == 0 ? 64 : im->cap * 2;
			struct nap_policy *pv;
			struct csv_policy *iv;

			if (cap > NAP_POLICY_IMPORT_MAX_POLICIES)
				cap = NAP_POLICY_IMPORT_MAX_POLICIES;
			if ((pv = realloc(im->pv, cap * sizeof(*pv))) == NULL)
				return import_err(err, -ENOMEM, "out of memory");
			im->pv = pv;
			if ((iv = realloc(im->info, cap * sizeof(*iv))) == NULL)
				return import_err(err, -ENOMEM, "out of memory");
			im->info = iv;
			im->cap = cap;
		}
		p = &im->pv[im->n];
		info = &im->info[im->n];
		memset(p, 0, sizeof(*p));
		memset(info, 0, sizeof(*info));
		im->n++;
		im->hash[slot] = (uint32_t)im->n;
		memcpy(p->id, id, strlen(id) + 1);
		info->line = line;
		info->advisory = pkg[0] == '\0';
	} else {
		p = &im->pv[i];
		info = &im->info[i];
		if (pkg[0] == '\0' || info->advisory)
			return import_err(err, -EINVAL,
					  "line %zu (id %s): id already on line %zu (rows share an "
					  "id only to list different packages)",
					  line, e, info->line);
		if (has_package(p, pkg))
			return import_err(err, -EINVAL,
					  "line %zu (id %s): package '%s' listed twice", line, e,
					  esc(pkg, e2, sizeof(e2)));
		if (p->n_reqs == NAP_POLICY_MAX_REQS)
			return import_err(err, -EMSGSIZE, "line %zu (id %s): more than %d packages",
					  line, e, NAP_POLICY_MAX_REQS);
	}

	if (sev[0] != '\0') {
		if (p->severity[0] != '\0' && strcmp(p->severity, sev) != 0)
			return csv_differs(line, p, info->line, "severity", sev, p->severity, err);
		memcpy(p->severity, sev, strlen(sev) + 1);
	}
	if (eff[0] != '\0') {
		if (info->eff_set && p->effective != t) {
			char before[32];

			if (p->effective == 0)
				snprintf(before, sizeof(before), "asap");
			else
				nap_format_time(p->effective, before, sizeof(before));
			return csv_differs(line, p, info->line, "effective", eff, before, err);
		}
		p->effective = t;
		info->eff_set = true;
	}
	if (reason[0] != '\0') {
		if (p->reason != NULL && strcmp(p->reason, reason) != 0)
			return csv_differs(line, p, info->line, "reason", reason, p->reason, err);
		if (p->reason == NULL && (p->reason = strdup(reason)) == NULL)
			return import_err(err, -ENOMEM, "out of memory");
	}
	if (pkg[0] != '\0' && csv_add_req(p, pkg, min, sch) < 0)
		return import_err(err, -ENOMEM, "out of memory");
	return 0;
}

static int
import_csv(const uint8_t *buf, size_t len, struct nap_policy **out, size_t *out_n,
	   struct nap_store_err *err)
{
	struct csv_import im;
	char e[ESC_MAX];
	int r;

	memset(&im, 0, sizeof(im));
	im.c.p = buf;
	im.c.len = len;
	im.c.pos = skip_bom(buf, len);
	im.c.line = 1;
	if ((im.c.buf = malloc(CSV_BUF_SIZE)) == NULL ||
	    (im.hash = calloc(CSV_HASH_SIZE, sizeof(*im.hash))) == NULL) {
		r = import_err(err, -ENOMEM, "out of memory");
		goto out;
	}
	if ((r = csv_header(&im, err)) < 0)
		goto out;
	while ((r = csv_next(&im.c, err)) > 0) {
		if (im.c.n == 1 && im.c.cell[0][0] == '\0')
			continue; /* a blank line */
		if (im.c.n != im.ncols) {
			r = import_err(err, -EINVAL, "line %zu: %zu fields, the header has %zu",
				       im.c.rec_line, im.c.n, im.ncols);
			goto out;
		}
		if ((r = csv_row(&im, err)) < 0)
			goto out;
	}
	if (r < 0)
		goto out;
	for (size_t i = 0; i < im.n; i++) {
		struct nap_store_err ce = {{0}};

		if (im.pv[i].severity[0] == '\0') {
			r = import_err(err, -EINVAL, "line %zu (id %s): severity: empty",
				       im.info[i].line, esc(im.pv[i].id, e, sizeof(e)));
			goto out;
		}
		if (nap_policy_check(&im.pv[i], &ce) < 0) {
			r = import_err(err, -EINVAL, "line %zu: %s", im.info[i].line, ce.msg);
			goto out;
		}
	}
	if (im.n == 0) {
		/* calloc(0) may return NULL: hand back a real (empty) array. */
		if ((im.pv = calloc(1, sizeof(*im.pv))) == NULL) {
			r = import_err(err, -ENOMEM, "out of memory");
			goto out;
		}
	}
	*out = im.pv;
	*out_n = im.n;
	im.pv = NULL;
	im.n = 0;
	r = 0;
out:
	nap_policy_import_free(im.pv, im.n);
	free(im.info);
	free(im.hash);
	free(im.c.buf);
	return r;
}

int
nap_policy_import_parse(const uint8_t *buf, size_t len, enum nap_policy_import_format format,
			struct nap_policy **out, size_t *n, struct nap_store_err *err)
{
	*out = NULL;
	*n = 0;
	if (err != NULL)
		err->msg[0] = '\0';
	if (len > NAP_POLICY_IMPORT_MAX_LEN)
		return import_err(err, -EMSGSIZE, "%zu bytes, at most %d", len,
				  NAP_POLICY_IMPORT_MAX_LEN);
	switch (format) {
	case NAP_POLICY_IMPORT_JSON:
		return import_json(buf, len, out, n, err);
	case NAP_POLICY_IMPORT_CSV:
		return import_csv(buf, len, out, n, err);
	}
	return import_err(err, -EINVAL, "unknown import format");
}
