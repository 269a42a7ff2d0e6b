// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * The SHV point settings file nap-shv.conf (include/nap/shv.h): one table of the managed keys,
 * a validator per kind of value, the parser napctl runs before a push and napvd runs before it
 * applies a file, the writer, and the status file napvd writes back. Handles untrusted input:
 * the settings and status files come from an SMB share. The rules are napvd.conf's own for the
 * same keys (daemons/napvd/config.c), and napvd passes every value through its own key parser
 * as well, so a file this parser accepts but napvd would not is still rejected whole there.
 */
#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <inttypes.h>
#include <jansson.h>
#include <ldap.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "nap/health.h"
#include "nap/shv.h"
#include "nap/util.h"

/* Ten years: a longer duration is a typo, and napvd multiplies durations into milliseconds. */
#define SHV_DURATION_MAX (10LL * 365 * 86400)
#define SHV_LIST_MAX     8192 /* bytes of a whole list value in normal form */

enum shv_kind { K_SITE, K_SITES, K_URIS, K_DN, K_PATH, K_DURATION, K_TIME, K_MAP, K_CODES };

static const struct {
	const char *name;
	const char *section;
	enum shv_kind kind;
} shv_keys[NAP_SHV_KEY_COUNT] = {
	[NAP_SHV_SITE] = {"site", "shv", K_SITE},
	[NAP_SHV_SITES] = {"sites", "hsr", K_SITES},
	[NAP_SHV_URI] = {"uri", "hsr", K_URIS},
	[NAP_SHV_BASE] = {"base", "hsr", K_DN},
	[NAP_SHV_BIND_DN] = {"bind_dn", "hsr", K_DN},
	[NAP_SHV_BIND_PASSWORD_FILE] = {"bind_password_file", "hsr", K_PATH},
	[NAP_SHV_QUERY_INTERVAL] = {"query_interval", "hsr", K_DURATION},
	[NAP_SHV_MAX_AGE] = {"max_age", "hsr", K_DURATION},
	[NAP_SHV_VALIDITY_PERIOD] = {"validity_period", "validation", K_DURATION},
	[NAP_SHV_ABSOLUTE_CUTOFF] = {"absolute_cutoff", "validation", K_TIME},
	[NAP_SHV_CLIENT_COMPONENT] = {"client_component", "validation", K_MAP},
	[NAP_SHV_CLIENT_COMMUNICATION] = {"client_communication", "validation", K_MAP},
	[NAP_SHV_SERVER_COMPONENT] = {"server_component", "validation", K_MAP},
	[NAP_SHV_SERVER_COMMUNICATION] = {"server_communication", "validation", K_MAP},
	[NAP_SHV_OTHER] = {"other", "validation", K_MAP},
	[NAP_SHV_KNOWN_CLIENT_ERRORS] = {"known_client_errors", "validation", K_CODES},
};

/* napvd.conf keys of the same sections that stay local to the SHV point. */
static const char *const shv_local_keys[] = {
	"source", "file", "trusted_keys", "filter", "starttls", "ca_file", "timeout", "persist",
};

const char *
nap_shv_key_name(enum nap_shv_key k)
{
	return (unsigned)k < NAP_SHV_KEY_COUNT ? shv_keys[k].name : NULL;
}

const char *
nap_shv_key_section(enum nap_shv_key k)
{
	return (unsigned)k < NAP_SHV_KEY_COUNT ? shv_keys[k].section : NULL;
}

int
nap_shv_key_from_name(const char *name, enum nap_shv_key *k)
{
	for (size_t i = 0; i < NAP_SHV_KEY_COUNT; i++) {
		if (strcmp(shv_keys[i].name, name) == 0) {
			*k = (enum nap_shv_key)i;
			return 0;
		}
	}
	return -EINVAL;
}

void
nap_shv_settings_init(struct nap_shv_settings *s)
{
	memset(s, 0, sizeof(*s));
}

void
nap_shv_settings_clear(struct nap_shv_settings *s)
{
	for (size_t i = 0; i < NAP_SHV_KEY_COUNT; i++)
		free(s->value[i]);
	memset(s, 0, sizeof(*s));
}

int
nap_shv_settings_copy(struct nap_shv_settings *dst, const struct nap_shv_settings *src)
{
	struct nap_shv_settings t;

	nap_shv_settings_init(&t);
	t.revision = src->revision;
	for (size_t i = 0; i < NAP_SHV_KEY_COUNT; i++) {
		if (src->value[i] == NULL)
			continue;
		if ((t.value[i] = strdup(src->value[i])) == NULL) {
			nap_shv_settings_clear(&t);
			return -ENOMEM;
		}
	}
	nap_shv_settings_clear(dst);
	*dst = t;
	return 0;
}

bool
nap_shv_settings_equal(const struct nap_shv_settings *a, const struct nap_shv_settings *b)
{
	for (size_t i = 0; i < NAP_SHV_KEY_COUNT; i++) {
		if ((a->value[i] == NULL) != (b->value[i] == NULL))
			return false;
		if (a->value[i] != NULL && strcmp(a->value[i], b->value[i]) != 0)
			return false;
	}
	return true;
}

/* ---- one value ---- */

__attribute__((format(printf, 3, 4))) static int
shv_err(char *err, size_t err_len, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL && err_len > 0) {
		va_start(ap, fmt);
		vsnprintf(err, err_len, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/* A value for messages: escaped and cut short. */
static const char *
shv_show(const char *s, char *buf, size_t cap)
{
	nap_escape((const uint8_t *)s, strnlen(s, 48), buf, cap);
	return buf;
}

/* Growable text with a hard maximum. */
struct shv_buf {
	char *p;
	size_t len, cap, max;
	bool failed; /* out of memory or over max */
};

static void
shv_buf_add(struct shv_buf *b, const char *s, size_t n)
{
	if (b->failed)
		return;
	if (b->len + n + 1 > b->max) {
		b->failed = true;
		return;
	}
	if (b->len + n + 1 > b->cap) {
		size_t ncap = b->cap == 0 ? 256 : b->cap;
		char *np;

		while (ncap < b->len + n + 1)
			ncap *= 2;
		if ((np = realloc(b->p, ncap)) == NULL) {
			b->failed = true;
			return;
		}
		b->p = np;
		b->cap = ncap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

__attribute__((format(printf, 2, 3))) static void
shv_buf_printf(struct shv_buf *b, const char *fmt, ...)
{
	char tmp[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(tmp)) {
		b->failed = true;
		return;
	}
	shv_buf_add(b, tmp, (size_t)n);
}

static void
shv_buf_free(struct shv_buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

static bool
shv_site_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > NAP_SITE_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '-')
			return false;
	return true;
}

/* What a line of the file cannot carry: control characters and a comment start. */
static const char *
shv_text_problem(const char *v)
{
	for (const unsigned char *p = (const unsigned char *)v; *p != '\0'; p++) {
		if (*p < 0x20 || *p == 0x7f)
			return "control character";
		if (*p == ';' || *p == '#')
			return "';' or '#' (they start a comment in the file)";
	}
	return NULL;
}

static bool
shv_dn_ok(const char *s)
{
	LDAPDN dn = NULL;

	if (*s == '\0' || ldap_str2dn(s, &dn, LDAP_DN_FORMAT_LDAPV3) != LDAP_SUCCESS)
		return false;
	ldap_dnfree(dn);
	return true;
}

/* napvd's [hsr] uri rule: ldap:// or ldaps://, host and port only. */
static const char *
shv_uri_problem(const char *item)
{
	LDAPURLDesc *lud = NULL;
	const char *rest;
	bool plain, port_ok;
	size_t n;

	if (strncasecmp(item, "ldap://", 7) != 0 && strncasecmp(item, "ldaps://", 8) != 0)
		return "is neither ldap:// nor ldaps://";
	if (ldap_url_parse(item, &lud) != LDAP_URL_SUCCESS)
		return "is not a valid LDAP URI";
	rest = strstr(item, "://") + 3;
	n = strcspn(rest, "/?#");
	plain = lud->lud_host != NULL && *lud->lud_host != '\0' &&
		(rest[n] == '\0' || (rest[n] == '/' && rest[n + 1] == '\0'));
	port_ok = lud->lud_port >= 0 && lud->lud_port <= 65535;
	ldap_free_urldesc(lud);
	if (!port_ok)
		return "has a port out of range";
	if (!plain)
		return "is more than scheme://host[:port] (base is a key of its own)";
	return NULL;
}

static void
shv_format_duration(int64_t s, char *out, size_t cap)
{
	if (s != 0 && s % 86400 == 0)
		snprintf(out, cap, "%" PRId64 "d", s / 86400);
	else if (s != 0 && s % 3600 == 0)
		snprintf(out, cap, "%" PRId64 "h", s / 3600);
	else if (s != 0 && s % 60 == 0)
		snprintf(out, cap, "%" PRId64 "m", s / 60);
	else
		snprintf(out, cap, "%" PRId64 "s", s);
}

/* The items of a list value, separated by commas and white space (as napvd.conf). */
static char *
shv_next_item(char **save, char *first)
{
	return strtok_r(first, ", \t", save);
}

/*
 * A list value in normal form: items checked by kind, no repeats, joined by single spaces.
 */
static int
shv_normalise_list(enum nap_shv_key k, const char *value, char **out, char *err, size_t err_len)
{
	const char *name = shv_keys[k].name;
	enum shv_kind kind = shv_keys[k].kind;
	struct shv_buf b = {.max = SHV_LIST_MAX};
	char *copy, *tok, *save = NULL, show[200];
	char **items = NULL;
	size_t n = 0, max;
	int r = 0;

	max = kind == K_SITES ? NAP_SHV_MAX_SITES
	      : kind == K_URIS ? NAP_SHV_MAX_URIS
			       : NAP_SHV_MAX_KNOWN_ERRORS;
	if ((copy = strdup(value)) == NULL)
		return -ENOMEM;
	if ((items = calloc(max, sizeof(*items))) == NULL) {
		free(copy);
		return -ENOMEM;
	}
	shv_buf_add(&b, "", 0);
	for (tok = shv_next_item(&save, copy); tok != NULL; tok = shv_next_item(&save, NULL)) {
		char norm[64];
		const char *item = tok, *why;

		if (n == max) {
			r = shv_err(err, err_len, "%s: more than %zu items", name, max);
			goto out;
		}
		if (kind == K_SITES) {
			if (!shv_site_ok(tok)) {
				r = shv_err(err, err_len,
					    "%s: \"%s\" is not a site code (1-%d of A-Z a-z 0-9 _ -)",
					    name, shv_show(tok, show, sizeof(show)), NAP_SITE_MAX);
				goto out;
			}
		} else if (kind == K_URIS) {
			if (strlen(tok) > NAP_SHV_LINE_MAX - 8) {
				r = shv_err(err, err_len, "%s: \"%s...\" is too long", name,
					    shv_show(tok, show, sizeof(show)));
				goto out;
			}
			if ((why = shv_uri_problem(tok)) != NULL) {
				r = shv_err(err, err_len, "%s: \"%s\" %s", name,
					    shv_show(tok, show, sizeof(show)), why);
				goto out;
			}
		} else {
			char *end;
			unsigned long long v;

			errno = 0;
			v = strtoull(tok, &end, 0);
			if (!isdigit((unsigned char)*tok) || errno != 0 || *end != '\0' ||
			    v > UINT32_MAX) {
				r = shv_err(err, err_len,
					    "%s: \"%s\" is not a 32-bit code (decimal or 0x hex)", name,
					    shv_show(tok, show, sizeof(show)));
				goto out;
			}
			snprintf(norm, sizeof(norm), "0x%08llx", v);
			item = norm;
		}
		for (size_t i = 0; i < n; i++) {
			if ((kind == K_URIS ? strcasecmp(items[i], item) : strcmp(items[i], item)) ==
			    0) {
				r = shv_err(err, err_len, "%s: \"%s\" given twice", name,
					    shv_show(item, show, sizeof(show)));
				goto out;
			}
		}
		if ((items[n] = strdup(item)) == NULL) {
			r = -ENOMEM;
			goto out;
		}
		n++;
		if (b.len > 0)
			shv_buf_add(&b, " ", 1);
		shv_buf_add(&b, item, strlen(item));
	}
	if (n == 0 && kind != K_CODES) {
		r = shv_err(err, err_len, "%s: empty (unset the key instead)", name);
		goto out;
	}
	if (b.failed) {
		r = shv_err(err, err_len, "%s: longer than %d bytes", name, SHV_LIST_MAX);
		goto out;
	}
	*out = b.p;
	b.p = NULL;
out:
	for (size_t i = 0; i < n; i++)
		free(items[i]);
	free(items);
	free(copy);
	shv_buf_free(&b);
	return r;
}

/* One value in normal form into *out (malloc'd), or -EINVAL with why. */
static int
shv_normalise(enum nap_shv_key k, const char *value, char **out, char *err, size_t err_len)
{
	const char *name = shv_keys[k].name, *why;
	char buf[64], show[200];
	int64_t v;

	*out = NULL;
	if ((why = shv_text_problem(value)) != NULL)
		return shv_err(err, err_len, "%s: %s in the value", name, why);
	switch (shv_keys[k].kind) {
	case K_SITES:
	case K_URIS:
	case K_CODES:
		return shv_normalise_list(k, value, out, err, err_len);
	case K_SITE:
		if (!shv_site_ok(value))
			return shv_err(err, err_len,
				       "%s: \"%s\" is not a site code (1-%d of A-Z a-z 0-9 _ -)",
				       name, shv_show(value, show, sizeof(show)), NAP_SITE_MAX);
		break;
	case K_DN:
		if (!shv_dn_ok(value))
			return shv_err(err, err_len, "%s: \"%s\" is not a DN", name,
				       shv_show(value, show, sizeof(show)));
		break;
	case K_PATH:
		if (*value != '/')
			return shv_err(err, err_len,
				       "%s: \"%s\" is not an absolute path (a file on the napvd "
				       "host)",
				       name, shv_show(value, show, sizeof(show)));
		if (strlen(value) > NAP_SHV_PATH_MAX)
			return shv_err(err, err_len, "%s: longer than %d bytes", name,
				       NAP_SHV_PATH_MAX);
		break;
	case K_DURATION:
		if (nap_parse_duration(value, &v) < 0 || !isdigit((unsigned char)*value))
			return shv_err(err, err_len,
				       "%s: bad duration \"%s\" (e.g. 90s, 15m, 26h, 7d)", name,
				       shv_show(value, show, sizeof(show)));
		if (v > SHV_DURATION_MAX)
			return shv_err(err, err_len, "%s: longer than ten years", name);
		if (k == NAP_SHV_QUERY_INTERVAL && v < 1)
			return shv_err(err, err_len, "%s: at least 1s", name);
		shv_format_duration(v, buf, sizeof(buf));
		value = buf;
		break;
	case K_TIME:
		if (strcmp(value, "none") == 0)
			break;
		if (nap_parse_time(value, &v) < 0)
			return shv_err(err, err_len,
				       "%s: bad time \"%s\" (RFC 3339 UTC such as "
				       "2026-11-25T10:00:00Z, or none)",
				       name, shv_show(value, show, sizeof(show)));
		nap_format_time(v, buf, sizeof(buf));
		value = buf;
		break;
	case K_MAP:
		if (strcmp(value, "compliant") != 0 && strcmp(value, "noncompliant") != 0)
			return shv_err(err, err_len, "%s: want compliant or noncompliant, not \"%s\"",
				       name, shv_show(value, show, sizeof(show)));
		break;
	}
	/* A scalar line of the file is "name = value" within inih's limit. */
	if (strlen(name) + 3 + strlen(value) > NAP_SHV_LINE_MAX)
		return shv_err(err, err_len, "%s: value longer than %zu characters", name,
			       NAP_SHV_LINE_MAX - 3 - strlen(name));
	if ((*out = strdup(value)) == NULL)
		return -ENOMEM;
	return 0;
}

int
nap_shv_settings_set(struct nap_shv_settings *s, enum nap_shv_key k, const char *value,
		     char *err, size_t err_len)
{
	char *norm = NULL;
	int r;

	if ((unsigned)k >= NAP_SHV_KEY_COUNT)
		return shv_err(err, err_len, "no such key");
	if (value != NULL && (r = shv_normalise(k, value, &norm, err, err_len)) < 0)
		return r;
	free(s->value[k]);
	s->value[k] = norm;
	return 0;
}

int
nap_shv_settings_check(const struct nap_shv_settings *s, char *err, size_t err_len)
{
	const char *site = s->value[NAP_SHV_SITE], *sites = s->value[NAP_SHV_SITES];

	if (site == NULL)
		return shv_err(err, err_len, "site: the SHV point's site code is required");
	if ((s->value[NAP_SHV_BIND_DN] != NULL) != (s->value[NAP_SHV_BIND_PASSWORD_FILE] != NULL))
		return shv_err(err, err_len, "bind_dn and bind_password_file go together "
					     "(neither: anonymous bind)");
	if (sites != NULL) {
		size_t n = 1, sl = strlen(site);

		for (const char *p = sites; *p != '\0'; p++)
			n += *p == ' ';
		if (n + 1 > NAP_SHV_MAX_SITES)
			return shv_err(err, err_len, "sites: with site more than %d sites",
				       NAP_SHV_MAX_SITES);
		for (const char *p = sites; *p != '\0';) {
			size_t il = strcspn(p, " ");

			if (il == sl && memcmp(p, site, sl) == 0)
				return shv_err(err, err_len,
					       "sites: \"%s\" is the site itself (list the others)",
					       site);
			p += il;
			if (*p == ' ')
				p++;
		}
	}
	return 0;
}

/* ---- the file ---- */

struct shv_reader {
	const char *p, *end;
	int line;
};

/* inih's line source: one line per call, counting them for the messages. */
static char *
shv_read_line(char *str, int num, void *stream)
{
	struct shv_reader *rd = stream;
	size_t n = 0;

	if (rd->p >= rd->end || num < 2)
		return NULL;
	while (rd->p < rd->end && n < (size_t)num - 1) {
		char c = *rd->p++;

		str[n++] = c;
		if (c == '\n')
			break;
	}
	str[n] = '\0';
	rd->line++;
	return str;
}

struct shv_parse {
	struct shv_reader rd;
	struct nap_shv_settings *s;
	struct nap_shv_errors *errs;
	bool seen[NAP_SHV_KEY_COUNT];
	bool seen_revision, seen_host;
	bool nomem;
	int last_error_line;
};

__attribute__((format(printf, 2, 3))) static void
shv_perr(struct shv_parse *p, const char *fmt, ...)
{
	char msg[NAP_SHV_ERROR_LEN - 24];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	p->last_error_line = p->rd.line;
	if (p->errs->n == NAP_SHV_MAX_ERRORS) {
		p->errs->dropped++;
		return;
	}
	if (p->rd.line > 0)
		snprintf(p->errs->msg[p->errs->n++], NAP_SHV_ERROR_LEN, "line %d: %s", p->rd.line,
			 msg);
	else
		snprintf(p->errs->msg[p->errs->n++], NAP_SHV_ERROR_LEN, "%s", msg);
}

static void
shv_key_shv(struct shv_parse *p, const char *name, const char *value)
{
	char show[200], err[NAP_SHV_ERROR_LEN];

	if (strcmp(name, "revision") == 0) {
		char *end;
		unsigned long long v;

		if (p->seen_revision) {
			shv_perr(p, "[shv] revision given twice");
			return;
		}
		p->seen_revision = true;
		errno = 0;
		v = strtoull(value, &end, 10);
		if (!isdigit((unsigned char)*value) || errno != 0 || *end != '\0' || v == 0 ||
		    v > NAP_SHV_REVISION_MAX) {
			shv_perr(p, "revision: \"%s\" is not a number from 1 to 2^53-1",
				 shv_show(value, show, sizeof(show)));
			return;
		}
		p->s->revision = v;
		return;
	}
	if (strcmp(name, "host") == 0) {
		/* Says which SHV point the file was written for; napvd does not need it. */
		if (p->seen_host)
			shv_perr(p, "[shv] host given twice");
		else if (!nap_shv_host_valid(value))
			shv_perr(p, "host: \"%s\" is not a host name",
				 shv_show(value, show, sizeof(show)));
		p->seen_host = true;
		return;
	}
	if (strcmp(name, "site") == 0) {
		int r;

		if (p->seen[NAP_SHV_SITE]) {
			shv_perr(p, "[shv] site given twice");
			return;
		}
		p->seen[NAP_SHV_SITE] = true;
		r = nap_shv_settings_set(p->s, NAP_SHV_SITE, value, err, sizeof(err));
		if (r == -ENOMEM)
			p->nomem = true;
		else if (r < 0)
			shv_perr(p, "%s", err);
		return;
	}
	shv_perr(p, "unknown key \"%s\" in [shv] (revision host site)",
		 shv_show(name, show, sizeof(show)));
}

static void
shv_key_managed(struct shv_parse *p, const char *section, const char *name, const char *value)
{
	char show[200], err[NAP_SHV_ERROR_LEN];
	enum nap_shv_key k;
	char *joined = NULL;
	int r;

	if (nap_shv_key_from_name(name, &k) < 0 || strcmp(shv_keys[k].section, section) != 0) {
		if (strcmp(name, "bind_password") == 0 || strcmp(name, "secret") == 0) {
			shv_perr(p, "%s: secrets never travel in the share; name a file on the "
				    "napvd host with bind_password_file",
				 name);
			return;
		}
		for (size_t i = 0; i < NAP_ARRAY_SIZE(shv_local_keys); i++) {
			if (strcmp(name, shv_local_keys[i]) == 0 && strcmp(section, "hsr") == 0) {
				shv_perr(p, "[hsr] %s is not managed over SMB: it stays in "
					    "napvd.conf",
					 name);
				return;
			}
		}
		shv_perr(p, "unknown key \"%s\" in [%s]", shv_show(name, show, sizeof(show)),
			 section);
		return;
	}
	if (p->seen[k]) {
		enum shv_kind kind = shv_keys[k].kind;

		/* Lists go on over several lines, as in napvd.conf; other keys come once. */
		if (kind != K_SITES && kind != K_URIS && kind != K_CODES) {
			shv_perr(p, "key \"%s\" given twice", name);
			return;
		}
		if (p->s->value[k] == NULL)
			return; /* its first line was bad: reported there */
		if (asprintf(&joined, "%s %s", p->s->value[k], value) < 0) {
			p->nomem = true;
			return;
		}
		value = joined;
	}
	p->seen[k] = true;
	r = nap_shv_settings_set(p->s, k, value, err, sizeof(err));
	if (r == -ENOMEM)
		p->nomem = true;
	else if (r < 0)
		shv_perr(p, "%s", err);
	free(joined);
}

static int
shv_ini_handler(void *user, const char *section, const char *name, const char *value)
{
	struct shv_parse *p = user;
	char show[200];

	if (value == NULL)
		value = "";
	if (strcmp(section, "shv") == 0)
		shv_key_shv(p, name, value);
	else if (strcmp(section, "hsr") == 0 || strcmp(section, "validation") == 0)
		shv_key_managed(p, section, name, value);
	else if (*section == '\0')
		shv_perr(p, "key \"%s\" outside a section", shv_show(name, show, sizeof(show)));
	else
		shv_perr(p, "unknown section [%s] (shv hsr validation)",
			 shv_show(section, show, sizeof(show)));
	return 1; /* go on: every problem is collected */
}

/* Lines inih would cut silently, and bytes it cannot carry. */
static void
shv_check_bytes(struct shv_parse *p, const char *text, size_t len)
{
	size_t col = 0;
	int line = 1;

	for (size_t i = 0; i < len; i++) {
		if (text[i] == '\n') {
			line++;
			col = 0;
			continue;
		}
		if (text[i] == '\0' || ++col == NAP_SHV_LINE_MAX + 1) {
			p->rd.line = line;
			shv_perr(p, text[i] == '\0' ? "NUL byte" : "longer than %d characters",
				 NAP_SHV_LINE_MAX);
			if (text[i] == '\0')
				col = NAP_SHV_LINE_MAX + 1; /* once per line */
		}
	}
	p->rd.line = 0;
}

int
nap_shv_settings_parse(const char *text, size_t len, struct nap_shv_settings *out,
		       struct nap_shv_errors *errs)
{
	struct shv_parse p;
	char err[NAP_SHV_ERROR_LEN];
	int line;

	nap_shv_settings_clear(out);
	memset(errs, 0, sizeof(*errs));
	memset(&p, 0, sizeof(p));
	p.s = out;
	p.errs = errs;
	p.rd.p = text;
	p.rd.end = text + len;
	if (len > NAP_SHV_FILE_MAX) {
		shv_perr(&p, "larger than %d bytes", NAP_SHV_FILE_MAX);
		return -EINVAL;
	}
	shv_check_bytes(&p, text, len);
	if (errs->n > 0)
		return -EINVAL;
	line = ini_parse_stream(shv_read_line, &p.rd, shv_ini_handler, &p);
	if (p.nomem) {
		nap_shv_settings_clear(out);
		return -ENOMEM;
	}
	if (line > 0 && line != p.last_error_line) {
		/* inih's own complaint: a line that is neither [section] nor key = value. */
		p.rd.line = line;
		shv_perr(&p, "syntax error (want [section] or key = value)");
	} else if (line < 0) {
		nap_shv_settings_clear(out);
		return -ENOMEM;
	}
	p.rd.line = 0;
	if (!p.seen_revision)
		shv_perr(&p, "[shv] revision is required");
	if (errs->n == 0 && nap_shv_settings_check(out, err, sizeof(err)) < 0)
		shv_perr(&p, "%s", err);
	if (errs->n > 0) {
		nap_shv_settings_clear(out);
		return -EINVAL;
	}
	return 0;
}

/* A list over as many continuation lines as inih's line limit needs. */
static void
shv_render_list(struct shv_buf *b, const char *name, const char *value)
{
	size_t col;
	const char *p = value;

	shv_buf_printf(b, "%s =", name);
	col = strlen(name) + 2;
	while (*p != '\0') {
		size_t n = strcspn(p, " ");

		if (col > strlen(name) + 2 && col + 1 + n > NAP_SHV_LINE_MAX) {
			shv_buf_add(b, "\n\t", 2);
			col = 1;
			shv_buf_add(b, p, n);
			col += n;
		} else {
			shv_buf_add(b, " ", 1);
			shv_buf_add(b, p, n);
			col += 1 + n;
		}
		p += n;
		if (*p == ' ')
			p++;
	}
	shv_buf_add(b, "\n", 1);
}

int
nap_shv_settings_render(const struct nap_shv_settings *s, const char *host, uint64_t revision,
			char **out, size_t *len)
{
	static const char *const sections[] = {"hsr", "validation"};
	struct shv_buf b = {.max = NAP_SHV_FILE_MAX};
	char err[NAP_SHV_ERROR_LEN];

	*out = NULL;
	if (revision == 0 || revision > NAP_SHV_REVISION_MAX || !nap_shv_host_valid(host) ||
	    nap_shv_settings_check(s, err, sizeof(err)) < 0)
		return -EINVAL;
	shv_buf_printf(&b,
		       "; nap-shv.conf: the settings of SHV point %s, written by napsited.\n"
		       "; A key not given here keeps its napvd.conf value. Do not edit: the next\n"
		       "; push replaces this file (napctl shv set %s KEY=VALUE instead).\n"
		       "[shv]\nrevision = %" PRIu64 "\nhost = %s\nsite = %s\n",
		       host, host, revision, host, s->value[NAP_SHV_SITE]);
	for (size_t sec = 0; sec < NAP_ARRAY_SIZE(sections); sec++) {
		bool header = false;

		for (size_t k = 0; k < NAP_SHV_KEY_COUNT; k++) {
			const char *v = s->value[k];
			enum shv_kind kind = shv_keys[k].kind;

			if (v == NULL || strcmp(shv_keys[k].section, sections[sec]) != 0)
				continue;
			if (!header)
				shv_buf_printf(&b, "\n[%s]\n", sections[sec]);
			header = true;
			if (kind == K_SITES || kind == K_URIS || kind == K_CODES)
				shv_render_list(&b, shv_keys[k].name, v);
			else
				shv_buf_printf(&b, "%s = %s\n", shv_keys[k].name, v);
		}
	}
	if (b.failed) {
		bool big = b.len + 1024 >= b.max;

		shv_buf_free(&b);
		return big ? -EINVAL : -ENOMEM;
	}
	*out = b.p;
	*len = b.len;
	return 0;
}

int
nap_shv_settings_each(const struct nap_shv_settings *s,
		      int (*cb)(const char *section, const char *key, const char *value, void *arg),
		      void *arg)
{
	int r;

	for (size_t k = 0; k < NAP_SHV_KEY_COUNT; k++) {
		const char *v = s->value[k];
		enum shv_kind kind = shv_keys[k].kind;

		if (k == NAP_SHV_SITES)
			continue; /* with site */
		if (v == NULL)
			continue;
		if (k == NAP_SHV_SITE) {
			/* The SHV point trusts its own site and the others listed. */
			if ((r = cb("hsr", "sites", v, arg)) != 0)
				return r;
			v = s->value[NAP_SHV_SITES];
			kind = K_SITES;
			if (v == NULL)
				continue;
		}
		if (k == NAP_SHV_ABSOLUTE_CUTOFF && strcmp(v, "none") == 0)
			v = "";
		if (*v == '\0' || (kind != K_SITES && kind != K_URIS && kind != K_CODES)) {
			if ((r = cb(kind == K_SITES ? "hsr" : shv_keys[k].section,
				    kind == K_SITES ? "sites" : shv_keys[k].name, v, arg)) != 0)
				return r;
			continue;
		}
		/* A list one item at a time: napvd.conf's repeated list keys add up. */
		for (const char *p = v; *p != '\0';) {
			char item[NAP_SHV_LINE_MAX + 1];
			size_t n = strcspn(p, " ");

			if (n < sizeof(item)) {
				memcpy(item, p, n);
				item[n] = '\0';
				if ((r = cb(kind == K_SITES ? "hsr" : shv_keys[k].section,
					    kind == K_SITES ? "sites" : shv_keys[k].name, item,
					    arg)) != 0)
					return r;
			}
			p += n;
			if (*p == ' ')
				p++;
		}
	}
	return 0;
}

json_t *
nap_shv_settings_to_json(const struct nap_shv_settings *s)
{
	json_t *o = json_object();

	if (o == NULL)
		return NULL;
	for (size_t k = 0; k < NAP_SHV_KEY_COUNT; k++) {
		if (s->value[k] == NULL)
			continue;
		if (json_object_set_new(o, shv_keys[k].name, json_string(s->value[k])) < 0) {
			json_decref(o);
			return NULL;
		}
	}
	return o;
}

int
nap_shv_settings_from_json(const json_t *obj, struct nap_shv_settings *out, char *err,
			   size_t err_len)
{
	struct nap_shv_settings t;
	const char *key;
	json_t *v;
	int r;

	if (!json_is_object(obj))
		return shv_err(err, err_len, "settings: not a JSON object");
	nap_shv_settings_init(&t);
	json_object_foreach((json_t *)obj, key, v) {
		enum nap_shv_key k;

		if (nap_shv_key_from_name(key, &k) < 0) {
			nap_shv_settings_clear(&t);
			return shv_err(err, err_len, "settings: unknown key \"%.40s\"", key);
		}
		if (!json_is_string(v)) {
			nap_shv_settings_clear(&t);
			return shv_err(err, err_len, "settings: %s is not a string", key);
		}
		if ((r = nap_shv_settings_set(&t, k, json_string_value(v), err, err_len)) < 0) {
			nap_shv_settings_clear(&t);
			return r;
		}
	}
	nap_shv_settings_clear(out);
	*out = t;
	return 0;
}

bool
nap_shv_host_valid(const char *host)
{
	size_t n = strnlen(host, NAP_SHV_HOST_MAX + 1);

	if (n == 0 || n > NAP_SHV_HOST_MAX || host[0] == '-' || host[0] == '.')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)host[i]) && host[i] != '-' && host[i] != '.' &&
		    host[i] != '_')
			return false;
	return true;
}

bool
nap_shv_url_valid(const char *url)
{
	size_t n = strnlen(url, NAP_SHV_URL_MAX + 1);
	const char *host, *share;

	if (n > NAP_SHV_URL_MAX || strncmp(url, "smb://", 6) != 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)url[i] <= 0x20 || url[i] == 0x7f || url[i] == '\\')
			return false;
	host = url + 6;
	share = strchr(host, '/');
	/* smb://HOST[:PORT]/SHARE[/DIR...]: a host and a share at least. */
	return share != NULL && share > host && share[1] != '\0' && share[1] != '/' &&
	       strstr(host, "/../") == NULL && strstr(host, "//") == NULL;
}

/* ---- the status file ---- */

char *
nap_shv_status_format(const struct nap_shv_status *st)
{
	json_t *o, *errs;
	char t[32], *text, *line;
	size_t n;

	nap_format_time(st->applied, t, sizeof(t));
	errs = json_array();
	o = json_object();
	if (errs == NULL || o == NULL) {
		json_decref(errs);
		json_decref(o);
		return NULL;
	}
	for (size_t i = 0; i < st->n_errors && i < NAP_SHV_MAX_ERRORS; i++)
		json_array_append_new(errs, json_string(st->errors[i]));
	json_object_set_new(o, "revision", json_integer((json_int_t)st->revision));
	json_object_set_new(o, "result",
			    json_string(st->result == NAP_SHV_ACCEPTED ? "accepted" : "rejected"));
	json_object_set_new(o, "errors", errs);
	json_object_set_new(o, "applied", json_string(t));
	json_object_set_new(o, "running_revision",
			    json_integer((json_int_t)st->running_revision));
	text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);
	json_decref(o);
	if (text == NULL)
		return NULL;
	n = strlen(text);
	line = malloc(n + 2);
	if (line != NULL) {
		memcpy(line, text, n);
		memcpy(line + n, "\n", 2);
	}
	free(text);
	return line;
}

static int
shv_status_revision(json_t *o, const char *key, uint64_t *out, char *why, size_t why_len)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    (uint64_t)json_integer_value(v) > NAP_SHV_REVISION_MAX)
		return shv_err(why, why_len, "%s: not a revision number", key);
	*out = (uint64_t)json_integer_value(v);
	return 0;
}

int
nap_shv_status_parse(const char *text, size_t len, struct nap_shv_status *out, char *why,
		     size_t why_len)
{
	json_error_t je;
	json_t *o, *v, *errs;
	const char *res;
	int r = -EINVAL;

	memset(out, 0, sizeof(*out));
	if (len > NAP_SHV_STATUS_MAX)
		return shv_err(why, why_len, "larger than %d bytes", NAP_SHV_STATUS_MAX);
	o = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	if (o == NULL)
		return shv_err(why, why_len, "not JSON: %s", je.text);
	if (!json_is_object(o)) {
		shv_err(why, why_len, "not a JSON object");
		goto out;
	}
	if (shv_status_revision(o, "revision", &out->revision, why, why_len) < 0 ||
	    shv_status_revision(o, "running_revision", &out->running_revision, why, why_len) < 0)
		goto out;
	v = json_object_get(o, "result");
	res = json_is_string(v) ? json_string_value(v) : "";
	if (strcmp(res, "accepted") == 0) {
		out->result = NAP_SHV_ACCEPTED;
	} else if (strcmp(res, "rejected") == 0) {
		out->result = NAP_SHV_REJECTED;
	} else {
		shv_err(why, why_len, "result: neither accepted nor rejected");
		goto out;
	}
	v = json_object_get(o, "applied");
	if (!json_is_string(v) || nap_parse_time(json_string_value(v), &out->applied) < 0) {
		shv_err(why, why_len, "applied: not an RFC 3339 time");
		goto out;
	}
	errs = json_object_get(o, "errors");
	if (!json_is_array(errs)) {
		shv_err(why, why_len, "errors: not an array");
		goto out;
	}
	for (size_t i = 0; i < json_array_size(errs); i++) {
		json_t *e = json_array_get(errs, i);

		if (!json_is_string(e)) {
			shv_err(why, why_len, "errors: item %zu is not a string", i + 1);
			goto out;
		}
		if (out->n_errors < NAP_SHV_MAX_ERRORS)
			snprintf(out->errors[out->n_errors++], NAP_SHV_ERROR_LEN, "%s",
				 json_string_value(e));
	}
	if (out->result == NAP_SHV_REJECTED && out->n_errors == 0) {
		shv_err(why, why_len, "rejected without an error");
		goto out;
	}
	r = 0;
out:
	json_decref(o);
	if (r < 0)
		memset(out, 0, sizeof(*out));
	return r;
}
