// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * napvd configuration: parse the INI file with inih, check every key and value, and print the
 * result back in normal form for "napvd -n". The file is trusted (root-owned) but typed by
 * people, so every value is validated and unknown keys are errors rather than silently ignored.
 * A failed parse leaves nothing behind; reload relies on that.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <inttypes.h>
#include <ldap.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nap/util.h"
#include "napvd.h"

static const char *const napvd_class_keys[NAPVD_CLASS_COUNT] = {
	[NAPVD_CLASS_COMPLIANT] = "compliant",
	[NAPVD_CLASS_NONCOMPLIANT] = "noncompliant",
	[NAPVD_CLASS_NONCAPABLE] = "noncapable",
};

/* Built-in enforcement defaults (a missing section behaves like this). */
static const enum nap_action napvd_default_actions[NAPVD_CLASS_COUNT] = {
	[NAPVD_CLASS_COMPLIANT] = NAP_ACTION_FULL,
	[NAPVD_CLASS_NONCOMPLIANT] = NAP_ACTION_RESTRICTED,
	[NAPVD_CLASS_NONCAPABLE] = NAP_ACTION_RESTRICTED,
};
#define NAPVD_DEFAULT_PROBATION (3 * 86400)

static const struct {
	const char *name;
	unsigned bit;
} napvd_wsh_names[] = {
	{"firewall", NAP_WSH_CHECK_FIREWALL},
	{"antivirus", NAP_WSH_CHECK_ANTIVIRUS},
	{"auto-updates", NAP_WSH_CHECK_AUTO_UPDATES},
	{"security-updates", NAP_WSH_CHECK_SECURITY_UPDATES},
	{"antispyware", NAP_WSH_CHECK_ANTISPYWARE},
};

/* The five failure categories of [validation], indexed by enum nap_result. */
static const char *const napvd_category_keys[NAP_RESULT_COUNT] = {
	[NAP_RESULT_CLIENT_COMPONENT] = "client_component",
	[NAP_RESULT_CLIENT_COMMUNICATION] = "client_communication",
	[NAP_RESULT_SERVER_COMPONENT] = "server_component",
	[NAP_RESULT_SERVER_COMMUNICATION] = "server_communication",
	[NAP_RESULT_OTHER] = "other",
};

/* ---- addresses ---- */

int
napvd_sockaddr_parse(const char *s, uint16_t default_port, struct napvd_sockaddr *out)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *port = NULL;
	unsigned long pv = default_port;
	size_t hl;

	memset(out, 0, sizeof(*out));
	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (close == NULL)
			return -EINVAL;
		hl = (size_t)(close - s - 1);
		if (close[1] == ':')
			port = close + 2;
		else if (close[1] != '\0')
			return -EINVAL;
		s++;
	} else {
		const char *colon = strchr(s, ':');

		if (colon != NULL && strchr(colon + 1, ':') != NULL) {
			hl = strlen(s); /* bare IPv6 without a port */
		} else {
			hl = colon != NULL ? (size_t)(colon - s) : strlen(s);
			if (colon != NULL)
				port = colon + 1;
		}
	}
	if (hl == 0 || hl >= sizeof(host))
		return -EINVAL;
	memcpy(host, s, hl);
	host[hl] = '\0';
	if (port != NULL) {
		char *end;

		if (*port == '\0' || !isdigit((unsigned char)*port))
			return -EINVAL;
		errno = 0;
		pv = strtoul(port, &end, 10);
		if (errno != 0 || *end != '\0' || pv == 0 || pv > 65535)
			return -EINVAL;
	}
	if (strchr(host, ':') != NULL) {
		struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&out->ss;

		if (inet_pton(AF_INET6, host, &a6->sin6_addr) != 1)
			return -EINVAL;
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)pv);
		out->len = sizeof(*a6);
	} else {
		struct sockaddr_in *a4 = (struct sockaddr_in *)&out->ss;

		if (inet_pton(AF_INET, host, &a4->sin_addr) != 1)
			return -EINVAL;
		a4->sin_family = AF_INET;
		a4->sin_port = htons((uint16_t)pv);
		out->len = sizeof(*a4);
	}
	return 0;
}

void
napvd_sockaddr_format(const struct sockaddr *sa, char *out, size_t cap, bool with_port)
{
	char host[INET6_ADDRSTRLEN];

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *a4 = (const struct sockaddr_in *)sa;

		inet_ntop(AF_INET, &a4->sin_addr, host, sizeof(host));
		if (with_port)
			snprintf(out, cap, "%s:%u", host, ntohs(a4->sin_port));
		else
			snprintf(out, cap, "%s", host);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)sa;

		inet_ntop(AF_INET6, &a6->sin6_addr, host, sizeof(host));
		if (with_port)
			snprintf(out, cap, "[%s]:%u", host, ntohs(a6->sin6_port));
		else
			snprintf(out, cap, "%s", host);
	} else {
		snprintf(out, cap, "?");
	}
}

bool
napvd_sockaddr_equal(const struct napvd_sockaddr *a, const struct napvd_sockaddr *b)
{
	if (a->ss.ss_family != b->ss.ss_family)
		return false;
	if (a->ss.ss_family == AF_INET) {
		const struct sockaddr_in *x = (const struct sockaddr_in *)&a->ss;
		const struct sockaddr_in *y = (const struct sockaddr_in *)&b->ss;

		return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	if (a->ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *x = (const struct sockaddr_in6 *)&a->ss;
		const struct sockaddr_in6 *y = (const struct sockaddr_in6 *)&b->ss;

		return x->sin6_port == y->sin6_port &&
		       memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(x->sin6_addr)) == 0;
	}
	return false;
}

static void
napvd_mask(uint8_t *net, size_t len, unsigned prefix)
{
	for (size_t i = 0; i < len; i++) {
		unsigned bits = prefix > i * 8 ? prefix - (unsigned)i * 8 : 0;

		if (bits >= 8)
			continue;
		net[i] &= (uint8_t)(0xff00u >> bits);
	}
}

static int
napvd_cidr_parse(const char *s, struct napvd_client *cl)
{
	char buf[INET6_ADDRSTRLEN + 8];
	char *slash;
	unsigned long prefix;
	unsigned max;

	if (strlen(s) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, s);
	slash = strchr(buf, '/');
	if (slash != NULL)
		*slash++ = '\0';
	memset(cl->net, 0, sizeof(cl->net));
	if (inet_pton(AF_INET, buf, cl->net) == 1) {
		cl->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, buf, cl->net) == 1) {
		cl->family = AF_INET6;
		max = 128;
	} else {
		return -EINVAL;
	}
	prefix = max;
	if (slash != NULL) {
		char *end;

		if (!isdigit((unsigned char)*slash))
			return -EINVAL;
		errno = 0;
		prefix = strtoul(slash, &end, 10);
		if (errno != 0 || *end != '\0' || prefix > max)
			return -EINVAL;
	}
	cl->prefix = (unsigned)prefix;
	napvd_mask(cl->net, max / 8, cl->prefix);
	return 0;
}

static bool
napvd_prefix_match(const uint8_t *net, const uint8_t *addr, unsigned prefix)
{
	size_t full = prefix / 8;
	unsigned rest = prefix % 8;

	if (memcmp(net, addr, full) != 0)
		return false;
	if (rest == 0)
		return true;
	return ((net[full] ^ addr[full]) & (uint8_t)(0xff00u >> rest)) == 0;
}

/*
 * Most specific client whose network holds the source address. IPv4-mapped IPv6 sources match
 * IPv4 clients. Linear: client lists are short and the scan is cheap next to the HMAC.
 */
const struct napvd_client *
napvd_client_lookup(const struct napvd_config *c, const struct sockaddr *sa)
{
	const struct napvd_client *best = NULL;
	uint8_t addr[16];
	int family;

	if (sa->sa_family == AF_INET) {
		memcpy(addr, &((const struct sockaddr_in *)sa)->sin_addr, 4);
		family = AF_INET;
	} else if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a6 = &((const struct sockaddr_in6 *)sa)->sin6_addr;

		if (IN6_IS_ADDR_V4MAPPED(a6)) {
			memcpy(addr, &a6->s6_addr[12], 4);
			family = AF_INET;
		} else {
			memcpy(addr, a6, 16);
			family = AF_INET6;
		}
	} else {
		return NULL;
	}
	for (size_t i = 0; i < c->n_clients; i++) {
		const struct napvd_client *cl = &c->clients[i];

		if (cl->family != family || !napvd_prefix_match(cl->net, addr, cl->prefix))
			continue;
		if (best == NULL || cl->prefix > best->prefix)
			best = cl;
	}
	return best;
}

/* ---- value parsers ---- */

static int
napvd_size_parse(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;
	uint64_t mult = 1;

	if (!isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0)
		return -EINVAL;
	switch (*end) {
	case '\0':
		break;
	case 'k':
	case 'K':
		mult = 1024;
		break;
	case 'm':
	case 'M':
		mult = 1024 * 1024;
		break;
	case 'g':
	case 'G':
		mult = 1024ull * 1024 * 1024;
		break;
	default:
		return -EINVAL;
	}
	if (*end != '\0' && end[1] != '\0')
		return -EINVAL;
	if (v > UINT64_MAX / mult)
		return -ERANGE;
	*out = v * mult;
	return 0;
}

static int
napvd_bool_parse(const char *s, bool *out)
{
	if (strcmp(s, "compliant") == 0) {
		*out = true;
		return 0;
	}
	if (strcmp(s, "noncompliant") == 0) {
		*out = false;
		return 0;
	}
	return -EINVAL;
}

static char *
napvd_trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

/* ---- the parser ---- */

enum napvd_section { SEC_NONE, SEC_NAPVD, SEC_HSR, SEC_VALIDATION, SEC_CLIENT, SEC_ENFORCEMENT };

struct napvd_parse {
	struct napvd_config *c;
	char *err;
	size_t err_len;
	bool failed;
	uint32_t client_seen[NAPVD_MAX_CLIENTS];
	uint32_t ep_seen[NAP_EP_COUNT];
	uint32_t sec_seen[3]; /* scalar keys of [napvd], [hsr], [validation] */
	uint32_t managed_seen;
	uint32_t status_seen;
	const struct napvd_overlay *ov; /* keys that replace the file's (managed.c) */
	bool in_overlay;                /* feeding the overlay's keys */
};

__attribute__((format(printf, 2, 3))) static int
napvd_perr(struct napvd_parse *p, const char *fmt, ...)
{
	va_list ap;

	if (!p->failed) {
		va_start(ap, fmt);
		vsnprintf(p->err, p->err_len, fmt, ap);
		va_end(ap);
		p->failed = true;
	}
	return 0; /* inih: error */
}

static int
napvd_strdup_into(char **dst, const char *v)
{
	char *s = strdup(v);

	if (s == NULL)
		return -ENOMEM;
	free(*dst);
	*dst = s;
	return 0;
}

typedef int napvd_list_cb(struct napvd_parse *p, const char *item, void *arg);

/* Split a value on commas and whitespace and call cb for each item. */
static int
napvd_list_each(struct napvd_parse *p, const char *value, napvd_list_cb *cb, void *arg)
{
	char buf[4096];
	char *save = NULL, *tok;

	if (strlen(value) >= sizeof(buf))
		return napvd_perr(p, "value too long");
	strcpy(buf, value);
	for (tok = strtok_r(buf, ", \t", &save); tok != NULL; tok = strtok_r(NULL, ", \t", &save)) {
		if (cb(p, tok, arg) == 0)
			return 0;
	}
	return 1;
}

static int
napvd_listen_cb(struct napvd_parse *p, const char *item, void *arg)
{
	struct napvd_config *c = p->c;
	struct napvd_sockaddr sa;

	(void)arg;
	if (napvd_sockaddr_parse(item, NAPVD_DEFAULT_PORT, &sa) < 0)
		return napvd_perr(p, "listen: bad address \"%s\" (want ADDR[:PORT] or [V6]:PORT)",
				  item);
	for (size_t i = 0; i < c->n_listen; i++)
		if (napvd_sockaddr_equal(&c->listen[i], &sa))
			return napvd_perr(p, "listen: \"%s\" given twice", item);
	if (c->n_listen == NAPVD_MAX_LISTEN)
		return napvd_perr(p, "listen: more than %d addresses", NAPVD_MAX_LISTEN);
	c->listen[c->n_listen++] = sa;
	return 1;
}

static int
napvd_site_cb(struct napvd_parse *p, const char *item, void *arg)
{
	struct napvd_config *c = p->c;
	size_t n = strlen(item);
	void *nv;

	(void)arg;
	if (n == 0 || n > NAP_SITE_MAX)
		return napvd_perr(p, "sites: \"%s\" is not 1..%d characters", item, NAP_SITE_MAX);
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)item[i]) && item[i] != '_' && item[i] != '-')
			return napvd_perr(p, "sites: \"%s\" has characters outside [A-Za-z0-9_-]",
					  item);
	for (size_t i = 0; i < c->n_sites; i++)
		if (strcmp(c->sites[i], item) == 0)
			return napvd_perr(p, "sites: \"%s\" given twice", item);
	if (c->n_sites == NAP_HSR_MAX_SITES)
		return napvd_perr(p, "sites: more than %d", NAP_HSR_MAX_SITES);
	nv = realloc(c->sites, (c->n_sites + 1) * sizeof(*c->sites));
	if (nv == NULL)
		return napvd_perr(p, "out of memory");
	c->sites = nv;
	memcpy(c->sites[c->n_sites++], item, n + 1);
	return 1;
}

static int
napvd_known_error_cb(struct napvd_parse *p, const char *item, void *arg)
{
	struct napvd_config *c = p->c;
	char *end;
	unsigned long long v;

	(void)arg;
	errno = 0;
	v = strtoull(item, &end, 0);
	if (errno != 0 || *end != '\0' || v > UINT32_MAX || !isdigit((unsigned char)*item))
		return napvd_perr(p, "known_client_errors: bad code \"%s\"", item);
	if (c->vc.n_known_client_errors == NAPVD_MAX_KNOWN_ERRORS)
		return napvd_perr(p, "known_client_errors: more than %d codes",
				  NAPVD_MAX_KNOWN_ERRORS);
	c->known_errors[c->vc.n_known_client_errors++] = (uint32_t)v;
	return 1;
}

static int
napvd_wsh_cb(struct napvd_parse *p, const char *item, void *arg)
{
	unsigned *bits = arg;

	for (size_t i = 0; i < NAP_ARRAY_SIZE(napvd_wsh_names); i++) {
		if (strcmp(item, napvd_wsh_names[i].name) == 0) {
			*bits |= napvd_wsh_names[i].bit;
			return 1;
		}
	}
	return napvd_perr(p, "wsh_checks: unknown check \"%s\" (firewall antivirus auto-updates "
			     "security-updates antispyware)",
			  item);
}

static int
napvd_remediation_cb(struct napvd_parse *p, const char *item, void *arg)
{
	struct napvd_enforcement *e = arg;

	if (e->n_remediation == NAPVD_MAX_REMEDIATION)
		return napvd_perr(p, "remediation_servers: more than %d", NAPVD_MAX_REMEDIATION);
	if (inet_pton(AF_INET, item, e->remediation[e->n_remediation]) != 1)
		return napvd_perr(p, "remediation_servers: \"%s\" is not an IPv4 address", item);
	e->n_remediation++;
	return 1;
}

/* Scalar keys may appear once per section instance; returns false on a repeat. */
static bool
napvd_once(uint32_t *seen, unsigned bit)
{
	if (*seen & (1u << bit))
		return false;
	*seen |= 1u << bit;
	return true;
}

static int
napvd_duration_key(struct napvd_parse *p, const char *name, const char *value, int64_t *out)
{
	if (nap_parse_duration(value, out) < 0)
		return napvd_perr(p, "%s: bad duration \"%s\" (e.g. 90s, 15m, 26h, 7d)", name, value);
	return 1;
}

static int
napvd_key_napvd(struct napvd_parse *p, const char *name, const char *value)
{
	struct napvd_config *c = p->c;
	uint32_t *seen = &p->sec_seen[0];

	if (strcmp(name, "listen") == 0)
		return napvd_list_each(p, value, napvd_listen_cb, NULL);
	if (strcmp(name, "metrics") == 0) {
		if (!napvd_once(seen, 0))
			goto dup;
		if (*value == '\0')
			return 1;
		if (napvd_sockaddr_parse(value, 9812, &c->metrics) < 0)
			return napvd_perr(p, "metrics: bad address \"%s\"", value);
		c->has_metrics = true;
		return 1;
	}
	if (strcmp(name, "user") == 0) {
		if (!napvd_once(seen, 1))
			goto dup;
		if (*value == '\0')
			return 1;
		return napvd_strdup_into(&c->user, value) == 0 ? 1 : napvd_perr(p, "no memory");
	}
	if (strcmp(name, "state_dir") == 0) {
		if (!napvd_once(seen, 2))
			goto dup;
		if (*value != '/')
			return napvd_perr(p, "state_dir: must be an absolute path");
		return napvd_strdup_into(&c->state_dir, value) == 0 ? 1 : napvd_perr(p, "no memory");
	}
	if (strcmp(name, "spool_max") == 0) {
		if (!napvd_once(seen, 3))
			goto dup;
		if (napvd_size_parse(value, &c->spool_max) < 0 || c->spool_max < 4096)
			return napvd_perr(p, "spool_max: bad size \"%s\" (at least 4096, e.g. 64M)",
					  value);
		return 1;
	}
	if (strcmp(name, "dup_cache_ttl") == 0) {
		if (!napvd_once(seen, 4))
			goto dup;
		if (napvd_duration_key(p, name, value, &c->dup_cache_ttl) == 0)
			return 0;
		if (c->dup_cache_ttl > 3600)
			return napvd_perr(p, "dup_cache_ttl: at most 1h");
		return 1;
	}
	if (strcmp(name, "spool_sync") == 0) {
		if (!napvd_once(seen, 6))
			goto dup;
		if (strcmp(value, "batch") == 0)
			c->spool_sync = NAPVD_SYNC_BATCH;
		else if (strcmp(value, "reply") == 0)
			c->spool_sync = NAPVD_SYNC_REPLY;
		else
			return napvd_perr(p, "spool_sync: \"%s\" is neither batch nor reply", value);
		return 1;
	}
	if (strcmp(name, "pidfile") == 0) {
		if (!napvd_once(seen, 5))
			goto dup;
		if (*value == '\0')
			return 1;
		if (*value != '/')
			return napvd_perr(p, "pidfile: must be an absolute path");
		return napvd_strdup_into(&c->pidfile, value) == 0 ? 1 : napvd_perr(p, "no memory");
	}
	return napvd_perr(p, "unknown key \"%s\" in [napvd]", name);
dup:
	return napvd_perr(p, "key \"%s\" given twice", name);
}

/* ---- [hsr] keys of the LDAP source ---- */

static bool
napvd_dn_ok(const char *s)
{
	LDAPDN dn = NULL;

	if (*s == '\0' || ldap_str2dn(s, &dn, LDAP_DN_FORMAT_LDAPV3) != LDAP_SUCCESS)
		return false;
	ldap_dnfree(dn);
	return true;
}

/*
 * A search filter: in parentheses and balanced. Literal parentheses inside a value are escaped
 * as \28 and \29 (RFC 4515), so every parenthesis counts; the directory checks the rest.
 */
static bool
napvd_filter_ok(const char *s)
{
	size_t n = strlen(s);
	int depth = 0;

	if (n < 3 || s[0] != '(' || s[n - 1] != ')')
		return false;
	for (size_t i = 0; i < n; i++) {
		if ((unsigned char)s[i] < 0x20)
			return false;
		if (s[i] == '(') {
			depth++;
		} else if (s[i] == ')') {
			if (--depth < 0 || (depth == 0 && i != n - 1))
				return false;
		} else if (depth == 0) {
			return false;
		}
	}
	return depth == 0;
}

static int
napvd_uri_cb(struct napvd_parse *p, const char *item, void *arg)
{
	struct napvd_config *c = p->c;
	LDAPURLDesc *lud = NULL;
	const char *rest;
	bool plain, port_ok;
	size_t n;

	(void)arg;
	if (strncasecmp(item, "ldap://", 7) != 0 && strncasecmp(item, "ldaps://", 8) != 0)
		return napvd_perr(p, "uri: \"%s\" is neither ldap:// nor ldaps://", item);
	if (ldap_url_parse(item, &lud) != LDAP_URL_SUCCESS)
		return napvd_perr(p, "uri: \"%s\" is not a valid LDAP URI", item);
	rest = strstr(item, "://") + 3;
	n = strcspn(rest, "/?#");
	plain = lud->lud_host != NULL && *lud->lud_host != '\0' &&
		(rest[n] == '\0' || (rest[n] == '/' && rest[n + 1] == '\0'));
	port_ok = lud->lud_port >= 0 && lud->lud_port <= 65535;
	ldap_free_urldesc(lud);
	if (!port_ok)
		return napvd_perr(p, "uri: \"%s\": port out of range", item);
	if (!plain)
		return napvd_perr(p, "uri: \"%s\": give scheme://host[:port] only (base and filter "
				     "are keys of their own)",
				  item);
	for (size_t i = 0; i < c->n_hsr_uris; i++)
		if (strcasecmp(c->hsr_uris[i], item) == 0)
			return napvd_perr(p, "uri: \"%s\" given twice", item);
	if (c->n_hsr_uris == NAPVD_HSR_MAX_URIS)
		return napvd_perr(p, "uri: more than %d URIs", NAPVD_HSR_MAX_URIS);
	if ((c->hsr_uris[c->n_hsr_uris] = strdup(item)) == NULL)
		return napvd_perr(p, "out of memory");
	c->n_hsr_uris++;
	return 1;
}

/*
 * The bind password: read while napvd still runs as root, from a regular file that only its
 * owner may read. One trailing newline is not part of it.
 */
static int
napvd_bind_password_read(struct napvd_parse *p, const char *path)
{
	char why[256];

	if (nap_read_secret_file(path, NAPVD_BIND_PW_MAX, &p->c->hsr_bind_password, NULL, why,
				 sizeof(why)) < 0)
		return napvd_perr(p, "bind_password_file %s: %s", path, why);
	return 1;
}

static int
napvd_yes_no(const char *s, bool *out)
{
	if (strcmp(s, "yes") == 0) {
		*out = true;
		return 0;
	}
	if (strcmp(s, "no") == 0) {
		*out = false;
		return 0;
	}
	return -EINVAL;
}

static int
napvd_key_hsr(struct napvd_parse *p, const char *name, const char *value)
{
	struct napvd_config *c = p->c;
	uint32_t *seen = &p->sec_seen[1];

	if (strcmp(name, "sites") == 0)
		return napvd_list_each(p, value, napvd_site_cb, NULL);
	if (strcmp(name, "source") == 0) {
		if (!napvd_once(seen, 0))
			goto dup;
		if (napvd_hsr_source_find(value) == NULL)
			return napvd_perr(p, "source: unknown HSR source \"%s\" (have: %s)", value,
					  napvd_hsr_source_names());
		return napvd_strdup_into(&c->hsr_source, value) == 0 ? 1 : napvd_perr(p, "no memory");
	}
	if (strcmp(name, "file") == 0) {
		if (!napvd_once(seen, 1))
			goto dup;
		return napvd_strdup_into(&c->hsr_file, value) == 0 ? 1 : napvd_perr(p, "no memory");
	}
	if (strcmp(name, "trusted_keys") == 0) {
		if (!napvd_once(seen, 2))
			goto dup;
		return napvd_strdup_into(&c->hsr_trusted_keys, value) == 0
			       ? 1
			       : napvd_perr(p, "no memory");
	}
	if (strcmp(name, "query_interval") == 0) {
		if (!napvd_once(seen, 3))
			goto dup;
		if (napvd_duration_key(p, name, value, &c->hsr_query_interval) == 0)
			return 0;
		if (c->hsr_query_interval < 1)
			return napvd_perr(p, "query_interval: at least 1s");
		return 1;
	}
	if (strcmp(name, "max_age") == 0) {
		if (!napvd_once(seen, 4))
			goto dup;
		return napvd_duration_key(p, name, value, &c->hsr_max_age);
	}
	/* The LDAP source. uri may repeat (and continue on indented lines) like sites. */
	if (strcmp(name, "uri") == 0)
		return napvd_list_each(p, value, napvd_uri_cb, NULL);
	if (strcmp(name, "base") == 0) {
		if (!napvd_once(seen, 5))
			goto dup;
		if (*value == '\0')
			return 1;
		if (!napvd_dn_ok(value))
			return napvd_perr(p, "base: \"%s\" is not a DN", value);
		return napvd_strdup_into(&c->hsr_base, value) == 0 ? 1 : napvd_perr(p, "no memory");
	}
	if (strcmp(name, "filter") == 0) {
		if (!napvd_once(seen, 6))
			goto dup;
		if (!napvd_filter_ok(value))
			return napvd_perr(p, "filter: \"%s\" is not an LDAP filter such as %s", value,
					  NAPVD_HSR_DEFAULT_FILTER);
		return napvd_strdup_into(&c->hsr_filter, value) == 0 ? 1 : napvd_perr(p, "no memory");
	}
	if (strcmp(name, "bind_dn") == 0) {
		if (!napvd_once(seen, 7))
			goto dup;
		if (*value == '\0')
			return 1;
		if (!napvd_dn_ok(value))
			return napvd_perr(p, "bind_dn: \"%s\" is not a DN", value);
		return napvd_strdup_into(&c->hsr_bind_dn, value) == 0 ? 1 : napvd_perr(p, "no memory");
	}
	if (strcmp(name, "bind_password_file") == 0) {
		if (!napvd_once(seen, 8))
			goto dup;
		if (*value == '\0')
			return 1;
		if (*value != '/')
			return napvd_perr(p, "bind_password_file: must be an absolute path");
		if (napvd_strdup_into(&c->hsr_bind_password_file, value) < 0)
			return napvd_perr(p, "no memory");
		return napvd_bind_password_read(p, value);
	}
	if (strcmp(name, "starttls") == 0) {
		if (!napvd_once(seen, 9))
			goto dup;
		if (napvd_yes_no(value, &c->hsr_starttls) < 0)
			return napvd_perr(p, "starttls: want yes or no, not \"%s\"", value);
		return 1;
	}
	if (strcmp(name, "ca_file") == 0) {
		if (!napvd_once(seen, 10))
			goto dup;
		if (*value == '\0')
			return 1;
		if (*value != '/')
			return napvd_perr(p, "ca_file: must be an absolute path");
		if (access(value, R_OK) < 0)
			return napvd_perr(p, "ca_file %s: %s", value, strerror(errno));
		return napvd_strdup_into(&c->hsr_ca_file, value) == 0 ? 1 : napvd_perr(p, "no memory");
	}
	if (strcmp(name, "timeout") == 0) {
		if (!napvd_once(seen, 11))
			goto dup;
		if (napvd_duration_key(p, name, value, &c->hsr_timeout) == 0)
			return 0;
		if (c->hsr_timeout < 1 || c->hsr_timeout > 3600)
			return napvd_perr(p, "timeout: between 1s and 1h");
		return 1;
	}
	if (strcmp(name, "persist") == 0) {
		if (!napvd_once(seen, 12))
			goto dup;
		if (strcmp(value, "auto") == 0)
			c->hsr_persist = NAPVD_PERSIST_AUTO;
		else if (strcmp(value, "no") == 0)
			c->hsr_persist = NAPVD_PERSIST_NO;
		else
			return napvd_perr(p, "persist: want auto or no, not \"%s\"", value);
		return 1;
	}
	return napvd_perr(p, "unknown key \"%s\" in [hsr]", name);
dup:
	return napvd_perr(p, "key \"%s\" given twice", name);
}

static int
napvd_key_validation(struct napvd_parse *p, const char *name, const char *value)
{
	struct napvd_config *c = p->c;
	uint32_t *seen = &p->sec_seen[2];

	if (strcmp(name, "known_client_errors") == 0)
		return napvd_list_each(p, value, napvd_known_error_cb, NULL);
	if (strcmp(name, "validity_period") == 0) {
		if (!napvd_once(seen, 10))
			goto dup;
		return napvd_duration_key(p, name, value, &c->vc.validity_period);
	}
	if (strcmp(name, "absolute_cutoff") == 0) {
		if (!napvd_once(seen, 11))
			goto dup;
		c->vc.absolute_cutoff = 0;
		if (*value == '\0')
			return 1;
		if (nap_parse_time(value, &c->vc.absolute_cutoff) < 0)
			return napvd_perr(p, "absolute_cutoff: bad time \"%s\" (RFC 3339 UTC)", value);
		return 1;
	}
	for (size_t i = 0; i < NAP_RESULT_COUNT; i++) {
		if (napvd_category_keys[i] == NULL || strcmp(name, napvd_category_keys[i]) != 0)
			continue;
		if (!napvd_once(seen, 12 + (unsigned)i))
			goto dup;
		if (napvd_bool_parse(value, &c->vc.maps_compliant[i]) < 0)
			return napvd_perr(p, "%s: want compliant or noncompliant, not \"%s\"", name,
					  value);
		return 1;
	}
	return napvd_perr(p, "unknown key \"%s\" in [validation]", name);
dup:
	return napvd_perr(p, "key \"%s\" given twice", name);
}

static int
napvd_key_client(struct napvd_parse *p, const char *cname, const char *name, const char *value)
{
	struct napvd_config *c = p->c;
	struct napvd_client *cl = NULL;
	size_t idx;

	if (*cname == '\0' || strlen(cname) > NAPVD_NAME_MAX)
		return napvd_perr(p, "[client NAME]: name missing or too long");
	for (idx = 0; idx < c->n_clients; idx++) {
		if (strcmp(c->clients[idx].name, cname) == 0) {
			cl = &c->clients[idx];
			break;
		}
	}
	if (cl == NULL) {
		if (c->n_clients == NAPVD_MAX_CLIENTS)
			return napvd_perr(p, "more than %d clients", NAPVD_MAX_CLIENTS);
		idx = c->n_clients++;
		cl = &c->clients[idx];
		memset(cl, 0, sizeof(*cl));
		strcpy(cl->name, cname);
	}
	if (strcmp(name, "address") == 0) {
		if (!napvd_once(&p->client_seen[idx], 0))
			goto dup;
		if (napvd_cidr_parse(value, cl) < 0)
			return napvd_perr(p, "[client %s] address: bad IP or CIDR \"%s\"", cname,
					  value);
		cl->has_address = true;
		return 1;
	}
	if (strcmp(name, "secret") == 0 || strcmp(name, "secret_file") == 0) {
		if (!napvd_once(&p->client_seen[idx], 1))
			return napvd_perr(p, "[client %s]: give secret or secret_file once", cname);
		if (strcmp(name, "secret_file") == 0) {
			uint8_t *buf = NULL;
			size_t len = 0, n = 0;
			int r;

			if (napvd_strdup_into(&cl->secret_file, value) < 0)
				return napvd_perr(p, "no memory");
			r = nap_read_file(value, 64 * 1024, &buf, &len);
			if (r < 0)
				return napvd_perr(p, "[client %s] secret_file %s: %s", cname, value,
						  strerror(-r));
			while (n < len && buf[n] != '\n' && buf[n] != '\r')
				n++;
			if (n <= sizeof(cl->secret)) {
				memcpy(cl->secret, buf, n);
				cl->secret_len = n;
			}
			nap_wipe(buf, len);
			free(buf);
			if (n > sizeof(cl->secret))
				return napvd_perr(p, "[client %s] secret_file: secret over %d bytes",
						  cname, NAPVD_SECRET_MAX);
		} else {
			size_t n = strlen(value);

			if (n > sizeof(cl->secret))
				return napvd_perr(p, "[client %s] secret: over %d bytes", cname,
						  NAPVD_SECRET_MAX);
			memcpy(cl->secret, value, n);
			cl->secret_len = n;
		}
		if (cl->secret_len == 0)
			return napvd_perr(p, "[client %s]: empty secret", cname);
		return 1;
	}
	return napvd_perr(p, "unknown key \"%s\" in [client %s]", name, cname);
dup:
	return napvd_perr(p, "[client %s]: key \"%s\" given twice", cname, name);
}

static int
napvd_key_enforcement(struct napvd_parse *p, const char *ename, const char *name,
		      const char *value)
{
	struct napvd_config *c = p->c;
	struct napvd_enforcement *e;
	enum nap_enforcement ep;

	if (nap_enforcement_from_name(ename, &ep) < 0)
		return napvd_perr(p, "[enforcement %s]: unknown enforcement point (unspecified "
				     "ts-gateway vpn dhcp wireless hra hcap)",
				  ename);
	e = &c->enforcement[ep];
	e->present = true;
	for (size_t k = 0; k < NAPVD_CLASS_COUNT; k++) {
		if (strcmp(name, napvd_class_keys[k]) != 0)
			continue;
		if (!napvd_once(&p->ep_seen[ep], (unsigned)k))
			goto dup;
		if (nap_action_from_name(value, &e->action[k]) < 0)
			return napvd_perr(p, "[enforcement %s] %s: want full, restricted, probation "
					     "or reject, not \"%s\"",
					  ename, name, value);
		return 1;
	}
	if (strcmp(name, "wsh_checks") == 0)
		return napvd_list_each(p, value, napvd_wsh_cb, &e->wsh_checks);
	if (strcmp(name, "remediation_servers") == 0)
		return napvd_list_each(p, value, napvd_remediation_cb, e);
	if (strcmp(name, "user_class") == 0) {
		if (!napvd_once(&p->ep_seen[ep], 5))
			goto dup;
		if (strlen(value) > NAPVD_USER_CLASS_MAX)
			return napvd_perr(p, "user_class: over %d bytes", NAPVD_USER_CLASS_MAX);
		strcpy(e->user_class, value);
		return 1;
	}
	if (strcmp(name, "probation") == 0) {
		if (!napvd_once(&p->ep_seen[ep], 6))
			goto dup;
		if (napvd_duration_key(p, name, value, &e->probation) == 0)
			return 0;
		if (e->probation < 1)
			return napvd_perr(p, "probation: at least 1s");
		return 1;
	}
	return napvd_perr(p, "unknown key \"%s\" in [enforcement %s]", name, ename);
dup:
	return napvd_perr(p, "[enforcement %s]: key \"%s\" given twice", ename, name);
}

/* [status]: shipping the spool to the site server (shipper.c). */
static int
napvd_key_status(struct napvd_parse *p, const char *name, const char *value)
{
	static const char *const keys[] = {"ship", "credentials", "ship_interval", "batch_max",
					   "segment_size"};
	struct napvd_config *c = p->c;
	unsigned k;

	for (k = 0; k < NAP_ARRAY_SIZE(keys); k++)
		if (strcmp(name, keys[k]) == 0)
			break;
	if (k == NAP_ARRAY_SIZE(keys))
		return napvd_perr(p, "unknown key \"%s\" in [status]", name);
	if (!napvd_once(&p->status_seen, k))
		return napvd_perr(p, "[status]: key \"%s\" given twice", name);
	switch (k) {
	case 0:
		if (*value == '\0')
			return 1;
		if (strncmp(value, "smb://", 6) != 0 || strchr(value + 6, '/') == NULL ||
		    value[6] == '/' || strchr(value, ' ') != NULL)
			return napvd_perr(p, "[status] ship: \"%s\" is not smb://HOST[:PORT]/SHARE[/DIR]",
					  value);
		return napvd_strdup_into(&c->status_ship, value) == 0 ? 1
								      : napvd_perr(p, "no memory");
	case 1:
		if (*value == '\0')
			return 1;
		if (*value != '/')
			return napvd_perr(p, "[status] credentials: must be an absolute path");
		return napvd_strdup_into(&c->status_credentials, value) == 0
			       ? 1
			       : napvd_perr(p, "no memory");
	case 2:
		if (napvd_duration_key(p, name, value, &c->status_ship_interval) == 0)
			return 0;
		if (c->status_ship_interval < 1 || c->status_ship_interval > 3600)
			return napvd_perr(p, "[status] ship_interval: between 1s and 1h");
		return 1;
	case 3: {
		char *end;
		unsigned long v;

		errno = 0;
		v = strtoul(value, &end, 10);
		if (errno != 0 || end == value || *end != '\0' || v < 1 || v > 100000)
			return napvd_perr(p, "[status] batch_max: \"%s\" not between 1 and 100000",
					  value);
		c->status_batch_max = (uint32_t)v;
		return 1;
	}
	default:
		if (napvd_size_parse(value, &c->status_segment) < 0 ||
		    c->status_segment < 64 * 1024)
			return napvd_perr(p, "[status] segment_size: bad size \"%s\" (at least 64K)",
					  value);
		return 1;
	}
}

/* [managed]: the settings file napsited writes into this host's share (managed.c). */
static int
napvd_key_managed(struct napvd_parse *p, const char *name, const char *value)
{
	struct napvd_config *c = p->c;

	if (strcmp(name, "file") == 0) {
		if (!napvd_once(&p->managed_seen, 0))
			goto dup;
		if (*value == '\0')
			return 1;
		if (*value != '/' || value[strlen(value) - 1] == '/')
			return napvd_perr(p, "[managed] file: must be an absolute path of a file");
		return napvd_strdup_into(&c->managed_file, value) == 0 ? 1
								       : napvd_perr(p, "no memory");
	}
	if (strcmp(name, "check_interval") == 0) {
		if (!napvd_once(&p->managed_seen, 1))
			goto dup;
		if (napvd_duration_key(p, name, value, &c->managed_check_interval) == 0)
			return 0;
		if (c->managed_check_interval < 1 || c->managed_check_interval > 86400)
			return napvd_perr(p, "check_interval: between 1s and 1d");
		return 1;
	}
	return napvd_perr(p, "unknown key \"%s\" in [managed]", name);
dup:
	return napvd_perr(p, "[managed]: key \"%s\" given twice", name);
}

/* napvd.conf's lines of a key the overlay gives are left out. */
static bool
napvd_overlaid(const struct napvd_overlay *ov, const char *section, const char *name)
{
	for (size_t i = 0; i < ov->n; i++)
		if (strcmp(ov->kv[i].section, section) == 0 && strcmp(ov->kv[i].key, name) == 0)
			return true;
	return false;
}

static int
napvd_ini_handler(void *user, const char *section, const char *name, const char *value)
{
	struct napvd_parse *p = user;
	char sec[128], *arg;
	char *val = NULL;
	int r;

	if (p->failed)
		return 0;
	if (strlen(section) >= sizeof(sec))
		return napvd_perr(p, "section name too long");
	strcpy(sec, section);
	arg = strchr(sec, ' ');
	if (arg != NULL) {
		*arg++ = '\0';
		arg = napvd_trim(arg);
	}
	if (p->ov != NULL && !p->in_overlay && arg == NULL && napvd_overlaid(p->ov, sec, name))
		return 1;
	val = strdup(value != NULL ? value : "");
	if (val == NULL)
		return napvd_perr(p, "out of memory");
	value = napvd_trim(val);
	if (strcmp(sec, "managed") == 0 && arg == NULL)
		r = napvd_key_managed(p, name, value);
	else if (strcmp(sec, "status") == 0 && arg == NULL)
		r = napvd_key_status(p, name, value);
	else if (strcmp(sec, "napvd") == 0 && arg == NULL)
		r = napvd_key_napvd(p, name, value);
	else if (strcmp(sec, "hsr") == 0 && arg == NULL)
		r = napvd_key_hsr(p, name, value);
	else if (strcmp(sec, "validation") == 0 && arg == NULL)
		r = napvd_key_validation(p, name, value);
	else if (strcmp(sec, "client") == 0 && arg != NULL)
		r = napvd_key_client(p, arg, name, value);
	else if (strcmp(sec, "enforcement") == 0 && arg != NULL)
		r = napvd_key_enforcement(p, arg, name, value);
	else if (*section == '\0')
		r = napvd_perr(p, "key \"%s\" outside a section", name);
	else
		r = napvd_perr(p, "unknown section [%s]", section);
	free(val);
	return r;
}

static struct napvd_config *
napvd_config_new(void)
{
	struct napvd_config *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	c->clients = calloc(NAPVD_MAX_CLIENTS, sizeof(*c->clients));
	if (c->clients == NULL) {
		free(c);
		return NULL;
	}
	c->spool_max = 64ull * 1024 * 1024;
	c->status_ship_interval = 1;
	c->status_batch_max = 5000;
	c->status_segment = 4ull * 1024 * 1024;
	c->dup_cache_ttl = 30;
	c->hsr_query_interval = 60;
	c->hsr_max_age = 24 * 3600;
	c->hsr_starttls = true;
	c->hsr_timeout = 5;
	c->hsr_persist = NAPVD_PERSIST_AUTO;
	c->managed_check_interval = 60;
	/* ConfigMgr's default SoH validity period was 26 hours. */
	c->vc.validity_period = 26 * 3600;
	for (size_t ep = 0; ep < NAP_EP_COUNT; ep++) {
		memcpy(c->enforcement[ep].action, napvd_default_actions,
		       sizeof(napvd_default_actions));
		c->enforcement[ep].probation = NAPVD_DEFAULT_PROBATION;
	}
	return c;
}

void
napvd_config_free(struct napvd_config *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < c->n_clients; i++) {
		free(c->clients[i].secret_file);
		nap_radius_secret_free(c->clients[i].keyed);
	}
	nap_wipe(c->clients, NAPVD_MAX_CLIENTS * sizeof(*c->clients));
	free(c->clients);
	free(c->path);
	free(c->user);
	free(c->state_dir);
	free(c->pidfile);
	free(c->hsr_source);
	free(c->hsr_file);
	free(c->hsr_trusted_keys);
	free(c->sites);
	for (size_t i = 0; i < c->n_hsr_uris; i++)
		free(c->hsr_uris[i]);
	free(c->hsr_base);
	free(c->hsr_filter);
	free(c->hsr_bind_dn);
	free(c->hsr_bind_password_file);
	if (c->hsr_bind_password != NULL) {
		nap_wipe(c->hsr_bind_password, strlen(c->hsr_bind_password));
		free(c->hsr_bind_password);
	}
	free(c->hsr_ca_file);
	free(c->managed_file);
	free(c->status_ship);
	free(c->status_credentials);
	free(c);
}

/* Defaults that depend on other keys, and checks across sections. */
static int
napvd_config_finish(struct napvd_parse *p)
{
	struct napvd_config *c = p->c;

	if (c->n_listen == 0) {
		napvd_listen_cb(p, "0.0.0.0:1812", NULL);
		napvd_listen_cb(p, "[::]:1812", NULL);
	}
	if (c->state_dir == NULL && napvd_strdup_into(&c->state_dir, "/var/lib/nap/napvd") < 0)
		return napvd_perr(p, "out of memory");
	if (c->hsr_source == NULL && napvd_strdup_into(&c->hsr_source, "file") < 0)
		return napvd_perr(p, "out of memory");
	if (strcmp(c->hsr_source, "file") == 0) {
		if (c->hsr_file == NULL || *c->hsr_file == '\0')
			return napvd_perr(p, "[hsr] file is required for source = file");
	}
	if (strcmp(c->hsr_source, "ldap") == 0) {
		if (c->n_hsr_uris == 0)
			return napvd_perr(p, "[hsr] uri is required for source = ldap");
		if (c->hsr_base == NULL)
			return napvd_perr(p, "[hsr] base is required for source = ldap");
		if ((c->hsr_bind_dn != NULL) != (c->hsr_bind_password_file != NULL))
			return napvd_perr(p, "[hsr] bind_dn and bind_password_file go together "
					     "(neither: anonymous)");
	}
	if (c->hsr_trusted_keys == NULL || *c->hsr_trusted_keys == '\0')
		return napvd_perr(p, "[hsr] trusted_keys is required: napvd verifies every HSR "
				     "signature");
	if (c->hsr_filter == NULL && napvd_strdup_into(&c->hsr_filter, NAPVD_HSR_DEFAULT_FILTER) < 0)
		return napvd_perr(p, "out of memory");
	if (c->status_ship != NULL && c->status_credentials == NULL)
		return napvd_perr(p, "[status] ship needs credentials = FILE");
	if (c->status_ship != NULL && c->state_dir == NULL)
		return napvd_perr(p, "[status] ship needs [napvd] state_dir (the spool)");
	if (c->n_clients == 0)
		return napvd_perr(p, "no [client NAME] section: napvd would answer nobody");
	for (size_t i = 0; i < c->n_clients; i++) {
		struct napvd_client *cl = &c->clients[i];
		int r;

		if (!cl->has_address)
			return napvd_perr(p, "[client %s]: address is required", cl->name);
		if (cl->secret_len == 0)
			return napvd_perr(p, "[client %s]: secret or secret_file is required",
					  cl->name);
		for (size_t j = 0; j < i; j++) {
			const struct napvd_client *o = &c->clients[j];

			if (o->family == cl->family && o->prefix == cl->prefix &&
			    memcmp(o->net, cl->net, sizeof(o->net)) == 0)
				return napvd_perr(p, "[client %s] and [client %s] have the same "
						     "address",
						  o->name, cl->name);
		}
		/* Keyed once here, so the request path skips the HMAC key schedule. */
		if ((r = nap_radius_secret_new(cl->secret, cl->secret_len, &cl->keyed)) < 0)
			return napvd_perr(p, "[client %s]: preparing the secret: %s", cl->name,
					  strerror(-r));
	}
	c->vc.hsr_max_age = c->hsr_max_age;
	c->vc.known_client_errors = c->known_errors;
	for (size_t ep = 0; ep < NAP_EP_COUNT; ep++)
		c->vc.wsh_checks[ep] = c->enforcement[ep].wsh_checks;
	/* A missing section behaves like [enforcement unspecified]. */
	for (size_t ep = 1; ep < NAP_EP_COUNT; ep++) {
		if (!c->enforcement[ep].present && c->enforcement[NAP_EP_UNSPECIFIED].present) {
			c->enforcement[ep] = c->enforcement[NAP_EP_UNSPECIFIED];
			c->enforcement[ep].present = false;
			c->vc.wsh_checks[ep] = c->vc.wsh_checks[NAP_EP_UNSPECIFIED];
		}
	}
	return 1;
}

/* inih truncates long lines silently; refuse them instead. */
/* The overlay's keys, through the same handler as the file's. */
static int
napvd_overlay_feed(struct napvd_parse *p)
{
	p->in_overlay = true;
	for (size_t i = 0; i < p->ov->n && !p->failed; i++)
		napvd_ini_handler(p, p->ov->kv[i].section, p->ov->kv[i].key, p->ov->kv[i].value);
	p->in_overlay = false;
	return p->failed ? -EINVAL : 0;
}

int
napvd_config_parse_string(const char *text, const char *name, struct napvd_config **out,
			  char *err, size_t err_len)
{
	return napvd_config_parse_string_overlay(text, name, NULL, out, err, err_len);
}

int
napvd_config_parse_string_overlay(const char *text, const char *name,
				  const struct napvd_overlay *ov, struct napvd_config **out,
				  char *err, size_t err_len)
{
	struct napvd_parse *p;
	int line, r = 0;

	*out = NULL;
	p = calloc(1, sizeof(*p));
	if (p == NULL)
		return -ENOMEM;
	p->err = err;
	p->err_len = err_len;
	p->ov = ov;
	p->c = napvd_config_new();
	if (p->c == NULL) {
		free(p);
		return -ENOMEM;
	}
	{
		char why[64];
		int ln;

		if (nap_conf_text_check(text, NAP_CONF_LINE_MAX, &ln, why, sizeof(why)) < 0) {
			snprintf(err, err_len, "%s: line %d: %s", name, ln, why);
			r = -EINVAL;
			goto fail;
		}
	}
	line = ini_parse_string(text, napvd_ini_handler, p);
	if (line != 0 || p->failed) {
		char msg[512];

		if (!p->failed)
			snprintf(msg, sizeof(msg), "syntax error");
		else
			snprintf(msg, sizeof(msg), "%s", err);
		if (line > 0)
			snprintf(err, err_len, "%s:%d: %s", name, line, msg);
		else
			snprintf(err, err_len, "%s: %s", name, msg);
		r = -EINVAL;
		goto fail;
	}
	if (ov != NULL && napvd_overlay_feed(p) < 0) {
		char msg[512];

		snprintf(msg, sizeof(msg), "%s", err);
		snprintf(err, err_len, "%s: %s", ov->name, msg);
		r = -EINVAL;
		goto fail;
	}
	if (napvd_config_finish(p) == 0) {
		char msg[512];

		/* A check across sections that the overlay broke names both files. */
		snprintf(msg, sizeof(msg), "%s", err);
		if (ov != NULL)
			snprintf(err, err_len, "%s with %s: %s", name, ov->name, msg);
		else
			snprintf(err, err_len, "%s: %s", name, msg);
		r = -EINVAL;
		goto fail;
	}
	if (napvd_strdup_into(&p->c->path, name) < 0) {
		r = -ENOMEM;
		goto fail;
	}
	*out = p->c;
	free(p);
	return 0;
fail:
	napvd_config_free(p->c);
	free(p);
	return r;
}

int
napvd_config_parse_file(const char *path, struct napvd_config **out, char *err, size_t err_len)
{
	return napvd_config_parse_file_overlay(path, NULL, out, err, err_len);
}

int
napvd_config_parse_file_overlay(const char *path, const struct napvd_overlay *ov,
				struct napvd_config **out, char *err, size_t err_len)
{
	size_t len;
	char *text;
	int r;

	*out = NULL;
	if ((r = nap_read_text_file(path, NAPVD_CONF_MAX_LEN, &text, &len, err, err_len)) < 0)
		return r;
	r = napvd_config_parse_string_overlay(text, path, ov, out, err, err_len);
	nap_wipe(text, len);
	free(text);
	return r;
}

/* ---- printing back ---- */

static void
napvd_print_duration(FILE *f, const char *key, int64_t s)
{
	if (s != 0 && s % 86400 == 0)
		fprintf(f, "%s = %" PRId64 "d\n", key, s / 86400);
	else if (s != 0 && s % 3600 == 0)
		fprintf(f, "%s = %" PRId64 "h\n", key, s / 3600);
	else if (s != 0 && s % 60 == 0)
		fprintf(f, "%s = %" PRId64 "m\n", key, s / 60);
	else
		fprintf(f, "%s = %" PRId64 "s\n", key, s);
}

static void
napvd_print_size(FILE *f, const char *key, uint64_t v)
{
	if (v % (uint64_t)(1024 * 1024 * 1024) == 0)
		fprintf(f, "%s = %" PRIu64 "G\n", key, v / (uint64_t)(1024 * 1024 * 1024));
	else if (v % (1024 * 1024) == 0)
		fprintf(f, "%s = %" PRIu64 "M\n", key, v / (1024 * 1024));
	else if (v % 1024 == 0)
		fprintf(f, "%s = %" PRIu64 "K\n", key, v / 1024);
	else
		fprintf(f, "%s = %" PRIu64 "\n", key, v);
}

static void
napvd_print_enforcement(FILE *f, enum nap_enforcement ep, const struct napvd_enforcement *e)
{
	/* Effective values, so a section missing from the file prints its defaults. */
	fprintf(f, "\n[enforcement %s]\n", nap_enforcement_name(ep));
	for (size_t k = 0; k < NAPVD_CLASS_COUNT; k++)
		fprintf(f, "%s = %s\n", napvd_class_keys[k], nap_action_name(e->action[k]));
	fprintf(f, "wsh_checks =");
	for (size_t i = 0; i < NAP_ARRAY_SIZE(napvd_wsh_names); i++)
		if (e->wsh_checks & napvd_wsh_names[i].bit)
			fprintf(f, " %s", napvd_wsh_names[i].name);
	fprintf(f, "\nremediation_servers =");
	for (size_t i = 0; i < e->n_remediation; i++) {
		char a[INET_ADDRSTRLEN];

		inet_ntop(AF_INET, e->remediation[i], a, sizeof(a));
		fprintf(f, " %s", a);
	}
	fprintf(f, "\nuser_class = %s\n", e->user_class);
	napvd_print_duration(f, "probation", e->probation);
}

void
napvd_config_print(const struct napvd_config *c, FILE *f)
{
	char a[INET6_ADDRSTRLEN + 16];

	fprintf(f, "[napvd]\nlisten =");
	for (size_t i = 0; i < c->n_listen; i++) {
		napvd_sockaddr_format((const struct sockaddr *)&c->listen[i].ss, a, sizeof(a), true);
		fprintf(f, "%s %s", i ? "," : "", a);
	}
	fprintf(f, "\n");
	if (c->has_metrics)
		napvd_sockaddr_format((const struct sockaddr *)&c->metrics.ss, a, sizeof(a), true);
	fprintf(f, "metrics = %s\n", c->has_metrics ? a : "");
	fprintf(f, "user = %s\n", c->user ? c->user : "");
	fprintf(f, "state_dir = %s\n", c->state_dir);
	napvd_print_size(f, "spool_max", c->spool_max);
	fprintf(f, "spool_sync = %s\n", c->spool_sync == NAPVD_SYNC_REPLY ? "reply" : "batch");
	napvd_print_duration(f, "dup_cache_ttl", c->dup_cache_ttl);
	fprintf(f, "pidfile = %s\n", c->pidfile ? c->pidfile : "");

	fprintf(f, "\n[hsr]\nsource = %s\n", c->hsr_source);
	fprintf(f, "file = %s\n", c->hsr_file ? c->hsr_file : "");
	fprintf(f, "trusted_keys = %s\n", c->hsr_trusted_keys ? c->hsr_trusted_keys : "");
	napvd_print_duration(f, "query_interval", c->hsr_query_interval);
	napvd_print_duration(f, "max_age", c->hsr_max_age);
	fprintf(f, "sites =");
	for (size_t i = 0; i < c->n_sites; i++)
		fprintf(f, " %s", c->sites[i]);
	fprintf(f, "\n");
	fprintf(f, "uri =");
	for (size_t i = 0; i < c->n_hsr_uris; i++)
		fprintf(f, " %s", c->hsr_uris[i]);
	fprintf(f, "\n");
	fprintf(f, "base = %s\n", c->hsr_base ? c->hsr_base : "");
	fprintf(f, "filter = %s\n", c->hsr_filter);
	fprintf(f, "bind_dn = %s\n", c->hsr_bind_dn ? c->hsr_bind_dn : "");
	/* The password itself is never printed. */
	fprintf(f, "bind_password_file = %s\n",
		c->hsr_bind_password_file ? c->hsr_bind_password_file : "");
	fprintf(f, "starttls = %s\n", c->hsr_starttls ? "yes" : "no");
	fprintf(f, "ca_file = %s\n", c->hsr_ca_file ? c->hsr_ca_file : "");
	napvd_print_duration(f, "timeout", c->hsr_timeout);
	fprintf(f, "persist = %s\n", c->hsr_persist == NAPVD_PERSIST_NO ? "no" : "auto");

	fprintf(f, "\n[validation]\n");
	napvd_print_duration(f, "validity_period", c->vc.validity_period);
	if (c->vc.absolute_cutoff != 0) {
		char t[32];

		nap_format_time(c->vc.absolute_cutoff, t, sizeof(t));
		fprintf(f, "absolute_cutoff = %s\n", t);
	} else {
		fprintf(f, "absolute_cutoff =\n");
	}
	for (size_t i = 0; i < NAP_RESULT_COUNT; i++)
		if (napvd_category_keys[i] != NULL)
			fprintf(f, "%s = %s\n", napvd_category_keys[i],
				c->vc.maps_compliant[i] ? "compliant" : "noncompliant");
	fprintf(f, "known_client_errors =");
	for (size_t i = 0; i < c->vc.n_known_client_errors; i++)
		fprintf(f, " 0x%08" PRIx32, c->known_errors[i]);
	fprintf(f, "\n");

	for (size_t i = 0; i < c->n_clients; i++) {
		const struct napvd_client *cl = &c->clients[i];
		char net[INET6_ADDRSTRLEN];

		inet_ntop(cl->family, cl->net, net, sizeof(net));
		fprintf(f, "\n[client %s]\naddress = %s/%u\n", cl->name, net, cl->prefix);
		/* The secret itself is never printed. */
		if (cl->secret_file != NULL)
			fprintf(f, "secret_file = %s\n", cl->secret_file);
		else
			fprintf(f, "; secret = (%zu bytes, not shown)\n", cl->secret_len);
	}
	for (size_t ep = 0; ep < NAP_EP_COUNT; ep++)
		napvd_print_enforcement(f, (enum nap_enforcement)ep, &c->enforcement[ep]);
	fprintf(f, "\n[managed]\nfile = %s\n", c->managed_file ? c->managed_file : "");
	napvd_print_duration(f, "check_interval", c->managed_check_interval);
	fprintf(f, "\n[status]\nship = %s\ncredentials = %s\n", c->status_ship ? c->status_ship : "",
		c->status_credentials ? c->status_credentials : "");
	napvd_print_duration(f, "ship_interval", c->status_ship_interval);
	fprintf(f, "batch_max = %u\n", c->status_batch_max);
	napvd_print_size(f, "segment_size", c->status_segment);
}

int
napvd_config_warnings(const struct napvd_config *c, FILE *f)
{
	int n = 0;

	if (c->hsr_max_age != 0 && c->hsr_query_interval >= c->hsr_max_age) {
		fprintf(f, "warning: [hsr] query_interval (%" PRId64 "s) is not shorter than "
			   "max_age (%" PRId64 "s): one missed refresh fails every client\n",
			c->hsr_query_interval, c->hsr_max_age);
		n++;
	}
	if (strcmp(c->hsr_source, "ldap") == 0) {
		bool plain = false;

		for (size_t i = 0; i < c->n_hsr_uris; i++)
			plain |= strncasecmp(c->hsr_uris[i], "ldap://", 7) == 0;
		if (c->hsr_timeout >= c->hsr_query_interval) {
			fprintf(f, "warning: [hsr] timeout (%" PRId64 "s) is not shorter than "
				   "query_interval (%" PRId64 "s): a hung directory delays every "
				   "refresh by the whole timeout\n",
				c->hsr_timeout, c->hsr_query_interval);
			n++;
		}
		if (plain && !c->hsr_starttls && c->hsr_bind_dn != NULL) {
			fprintf(f, "warning: [hsr] starttls = no: the bind password crosses the "
				   "network in clear to the ldap:// URIs\n");
			n++;
		}
		if (c->hsr_file != NULL) {
			fprintf(f, "warning: [hsr] file is ignored with source = ldap\n");
			n++;
		}
	} else if (c->n_hsr_uris > 0 || c->hsr_base != NULL || c->hsr_bind_dn != NULL) {
		fprintf(f, "warning: [hsr] uri, base and bind_dn are ignored with source = %s\n",
			c->hsr_source);
		n++;
	}
	if (c->vc.validity_period != 0 && c->vc.validity_period <= c->hsr_query_interval) {
		fprintf(f, "warning: [validation] validity_period (%" PRId64 "s) is not longer "
			   "than [hsr] query_interval (%" PRId64 "s)\n",
			c->vc.validity_period, c->hsr_query_interval);
		n++;
	}
	for (size_t ep = 0; ep < NAP_EP_COUNT; ep++) {
		const struct napvd_enforcement *e = &c->enforcement[ep];
		bool restricted = false;

		for (size_t k = 0; k < NAPVD_CLASS_COUNT; k++)
			restricted |= e->action[k] == NAP_ACTION_RESTRICTED;
		if (e->present && restricted && e->n_remediation == 0 && ep == NAP_EP_DHCP) {
			fprintf(f, "warning: [enforcement %s] restricts clients but lists no "
				   "remediation_servers\n",
				nap_enforcement_name(ep));
			n++;
		}
	}
	return n;
}
