// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * napsited.conf(5): parse the INI file with inih, check every key and value, fill in the
 * defaults and print the result back in the file's own syntax (napsited -n). napsited and napctl
 * both read it. The file is trusted (root-owned) but typed by people: unknown sections and keys,
 * repeated keys, bad values and missing required keys are errors with file:line, never ignored.
 * A failed parse leaves nothing behind, which SIGHUP relies on.
 *
 * Also here: the DN of a site's HSR entry (RFC 4514 escaping of the site code) and reading the
 * directory bind password from a file that only its owner may read.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <inttypes.h>
#include <lber.h>
#include <ldap.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nap/siteconf.h"
#include "nap/util.h"

#define SITECONF_MAX_LEN (256 * 1024)
#define SITECONF_PASSWORD_MAX 4096

#define SITECONF_DEFAULT_STATE_DIR  "/var/lib/nap"
#define SITECONF_DEFAULT_CONTAINER  "cn=System Management"
#define SITECONF_DEFAULT_POLL_MS    1000
#define SITECONF_DEFAULT_TIMEOUT_MS 10000
#define SITECONF_DEFAULT_RETRY_MIN  1000
#define SITECONF_DEFAULT_RETRY_MAX  300000
#define SITECONF_DEFAULT_CERT_LIFE  (365 * 86400)
#define SITECONF_DEFAULT_TOKEN_LIFE (24 * 3600)
#define SITECONF_DEFAULT_WEB_THREADS 4
#define SITECONF_DEFAULT_WEB_REFRESH 60 /* seconds */

enum siteconf_section {
	SEC_SITE,
	SEC_STORE,
	SEC_DIRECTORY,
	SEC_AGENT,
	SEC_WEB,
	SEC_DEPLOYMENT,
	SEC_STATUS,
	SEC_COUNT
};

static const char *const siteconf_section_names[SEC_COUNT] = {
	[SEC_SITE] = "site",
	[SEC_STORE] = "store",
	[SEC_DIRECTORY] = "directory",
	[SEC_AGENT] = "agent",
	[SEC_WEB] = "web",
	[SEC_DEPLOYMENT] = "deployment",
	[SEC_STATUS] = "status",
};

struct siteconf_parse {
	struct nap_siteconf *c;
	char *err;
	size_t err_len;
	bool failed;
	int sec_line[SEC_COUNT];  /* line of each section's first header, 0: absent */
	uint32_t seen[SEC_COUNT]; /* keys given, one bit each (a key may appear once) */
};

__attribute__((format(printf, 2, 3))) static int
siteconf_perr(struct siteconf_parse *p, const char *fmt, ...)
{
	va_list ap;

	if (!p->failed) {
		va_start(ap, fmt);
		vsnprintf(p->err, p->err_len, fmt, ap);
		va_end(ap);
		p->failed = true;
	}
	return 0; /* inih: error at this line */
}

static int
siteconf_strdup_into(struct siteconf_parse *p, char **dst, const char *v)
{
	char *s = strdup(v);

	if (s == NULL)
		return siteconf_perr(p, "out of memory");
	free(*dst);
	*dst = s;
	return 1;
}

static char *
siteconf_trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

/* ---- value checks ---- */

static bool
siteconf_site_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > NAP_SITE_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '-')
			return false;
	return true;
}

int
nap_siteconf_sockaddr(const char *s, struct sockaddr_storage *out, socklen_t *out_len)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *port;
	unsigned long pv;
	char *end;
	size_t hl;

	memset(out, 0, sizeof(*out));
	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (close == NULL || close[1] != ':')
			return -EINVAL;
		hl = (size_t)(close - s - 1);
		port = close + 2;
		s++;
	} else {
		const char *colon = strrchr(s, ':');

		if (colon == NULL || memchr(s, ':', (size_t)(colon - s)) != NULL)
			return -EINVAL; /* no port, or a bare IPv6 address */
		hl = (size_t)(colon - s);
		port = colon + 1;
	}
	if (hl == 0 || hl >= sizeof(host) || !isdigit((unsigned char)*port))
		return -EINVAL;
	memcpy(host, s, hl);
	host[hl] = '\0';
	errno = 0;
	pv = strtoul(port, &end, 10);
	if (errno != 0 || *end != '\0' || pv == 0 || pv > 65535)
		return -EINVAL;
	if (strchr(host, ':') != NULL) {
		struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)out;

		if (inet_pton(AF_INET6, host, &a6->sin6_addr) != 1)
			return -EINVAL;
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)pv);
		*out_len = sizeof(*a6);
	} else {
		struct sockaddr_in *a4 = (struct sockaddr_in *)out;

		if (inet_pton(AF_INET, host, &a4->sin_addr) != 1)
			return -EINVAL;
		a4->sin_family = AF_INET;
		a4->sin_port = htons((uint16_t)pv);
		*out_len = sizeof(*a4);
	}
	return 0;
}

static bool
siteconf_dn_ok(const char *s)
{
	LDAPDN dn = NULL;

	if (*s == '\0' || ldap_str2dn(s, &dn, LDAP_DN_FORMAT_LDAPV3) != LDAP_SUCCESS)
		return false;
	ldap_dnfree(dn);
	return true;
}

static int
siteconf_bool(const char *s, bool *out)
{
	static const char *const yes[] = {"yes", "true", "on", "1"};
	static const char *const no[] = {"no", "false", "off", "0"};

	for (size_t i = 0; i < NAP_ARRAY_SIZE(yes); i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return -EINVAL;
}

/*
 * A duration in milliseconds: "250ms", "5min" (the spelling people type) or anything
 * nap_parse_duration() takes ("90", "90s", "15m", "26h", "7d").
 */
static int
siteconf_duration_ms(const char *s, int64_t *ms)
{
	size_t n = strlen(s);
	int64_t sec, unit = 0;
	char buf[32];
	char *end;
	long long v;

	if (n > 3 && strcmp(s + n - 3, "min") == 0) {
		n -= 3;
		unit = 60000;
	} else if (n > 2 && strcmp(s + n - 2, "ms") == 0) {
		n -= 2;
		unit = 1;
	}
	if (unit == 0) {
		if (nap_parse_duration(s, &sec) < 0 || sec > INT64_MAX / 1000)
			return -EINVAL;
		*ms = sec * 1000;
		return 0;
	}
	if (n >= sizeof(buf) || !isdigit((unsigned char)s[0]))
		return -EINVAL;
	memcpy(buf, s, n);
	buf[n] = '\0';
	errno = 0;
	v = strtoll(buf, &end, 10);
	if (errno != 0 || *end != '\0' || v < 0 || v > INT64_MAX / unit)
		return -EINVAL;
	*ms = v * unit;
	return 0;
}

/* ---- keys ---- */

typedef int siteconf_key_fn(struct siteconf_parse *p, const char *name, const char *value);

static int
siteconf_path_key(struct siteconf_parse *p, const char *name, const char *value, char **dst,
		  bool may_be_empty)
{
	if (*value == '\0') {
		if (!may_be_empty)
			return siteconf_perr(p, "%s: empty", name);
		free(*dst);
		*dst = NULL;
		return 1;
	}
	if (*value != '/')
		return siteconf_perr(p, "%s: \"%s\" is not an absolute path", name, value);
	return siteconf_strdup_into(p, dst, value);
}

static int
siteconf_ms_key(struct siteconf_parse *p, const char *name, const char *value, int64_t *dst,
		int64_t min_ms, int64_t max_ms)
{
	int64_t v;

	if (siteconf_duration_ms(value, &v) < 0)
		return siteconf_perr(p, "%s: bad duration \"%s\" (e.g. 500ms, 10s, 5m)", name,
				     value);
	if (v < min_ms || v > max_ms)
		return siteconf_perr(p, "%s: \"%s\" is outside %" PRId64 "ms..%" PRId64 "s", name,
				     value, min_ms, max_ms / 1000);
	*dst = v;
	return 1;
}

static int
siteconf_seconds_key(struct siteconf_parse *p, const char *name, const char *value, int64_t *dst,
		     int64_t min_s, int64_t max_s)
{
	int64_t v;

	if (siteconf_duration_ms(value, &v) < 0 || v % 1000 != 0)
		return siteconf_perr(p, "%s: bad duration \"%s\" (e.g. 90s, 15m, 26h, 365d)", name,
				     value);
	v /= 1000;
	if (v < min_s || v > max_s)
		return siteconf_perr(p, "%s: \"%s\" is outside %" PRId64 "s..%" PRId64 "d", name,
				     value, min_s, max_s / 86400);
	*dst = v;
	return 1;
}

static int
siteconf_addr_key(struct siteconf_parse *p, const char *name, const char *value, char **dst,
		  bool may_be_empty)
{
	struct sockaddr_storage ss;
	socklen_t len;

	if (*value == '\0' && may_be_empty) {
		free(*dst);
		*dst = NULL;
		return 1;
	}
	if (nap_siteconf_sockaddr(value, &ss, &len) < 0)
		return siteconf_perr(p, "%s: bad address \"%s\" (want IPV4:PORT or [IPV6]:PORT)",
				     name, value);
	return siteconf_strdup_into(p, dst, value);
}

static int
siteconf_key_site(struct siteconf_parse *p, const char *name, const char *value)
{
	struct nap_siteconf *c = p->c;

	if (strcmp(name, "code") == 0) {
		if (!siteconf_site_ok(value))
			return siteconf_perr(p,
					     "code: \"%s\" is not 1..%d characters of "
					     "[A-Za-z0-9_-]",
					     value, NAP_SITE_MAX);
		strcpy(c->site, value);
		return 1;
	}
	if (strcmp(name, "key") == 0)
		return siteconf_path_key(p, name, value, &c->key, false);
	if (strcmp(name, "state_dir") == 0)
		return siteconf_path_key(p, name, value, &c->state_dir, false);
	if (strcmp(name, "user") == 0) {
		if (*value == '\0') {
			free(c->user);
			c->user = NULL;
			return 1;
		}
		for (const char *s = value; *s != '\0'; s++)
			if (isspace((unsigned char)*s) || *s == ':' || *s == '/')
				return siteconf_perr(p, "user: \"%s\" is not a user name", value);
		return siteconf_strdup_into(p, &c->user, value);
	}
	if (strcmp(name, "pidfile") == 0)
		return siteconf_path_key(p, name, value, &c->pidfile, true);
	if (strcmp(name, "metrics") == 0)
		return siteconf_addr_key(p, name, value, &c->metrics, true);
	if (strcmp(name, "poll_interval") == 0)
		return siteconf_ms_key(p, name, value, &c->poll_interval_ms, 10, 3600 * 1000);
	return -1;
}

static int
siteconf_key_store(struct siteconf_parse *p, const char *name, const char *value)
{
	if (strcmp(name, "uri") == 0) {
		if (*value == '\0')
			return siteconf_perr(p, "uri: empty");
		return siteconf_strdup_into(p, &p->c->store_uri, value);
	}
	return -1;
}

static int
siteconf_dir_uris(struct siteconf_parse *p, const char *value)
{
	struct nap_siteconf *c = p->c;
	char *buf, *save = NULL, *tok;
	int r = 1;

	if ((buf = strdup(value)) == NULL)
		return siteconf_perr(p, "out of memory");
	for (tok = strtok_r(buf, ", \t", &save); tok != NULL; tok = strtok_r(NULL, ", \t", &save)) {
		LDAPURLDesc *lud = NULL;

		if (strncasecmp(tok, "ldap://", 7) != 0 && strncasecmp(tok, "ldaps://", 8) != 0 &&
		    strncasecmp(tok, "ldapi://", 8) != 0) {
			r = siteconf_perr(
				p, "uri: \"%s\" is not an ldap://, ldaps:// or ldapi:// URI", tok);
			break;
		}
		if (ldap_url_parse(tok, &lud) != LDAP_URL_SUCCESS) {
			r = siteconf_perr(p, "uri: \"%s\" is not a valid LDAP URI", tok);
			break;
		}
		ldap_free_urldesc(lud);
		for (size_t i = 0; i < c->n_dir_uri; i++) {
			if (strcasecmp(c->dir_uri[i], tok) == 0) {
				r = siteconf_perr(p, "uri: \"%s\" given twice", tok);
				goto out;
			}
		}
		if (c->n_dir_uri == NAP_SITECONF_MAX_URIS) {
			r = siteconf_perr(p, "uri: more than %d URIs", NAP_SITECONF_MAX_URIS);
			break;
		}
		if ((c->dir_uri[c->n_dir_uri] = strdup(tok)) == NULL) {
			r = siteconf_perr(p, "out of memory");
			break;
		}
		c->n_dir_uri++;
	}
	if (r == 1 && c->n_dir_uri == 0)
		r = siteconf_perr(p, "uri: empty");
out:
	free(buf);
	return r;
}

static int
siteconf_key_directory(struct siteconf_parse *p, const char *name, const char *value)
{
	struct nap_siteconf *c = p->c;

	if (strcmp(name, "uri") == 0)
		return siteconf_dir_uris(p, value);
	if (strcmp(name, "base") == 0) {
		if (!siteconf_dn_ok(value))
			return siteconf_perr(p, "base: \"%s\" is not a DN", value);
		return siteconf_strdup_into(p, &c->dir_base, value);
	}
	if (strcmp(name, "container") == 0) {
		/* Empty: the entries go directly under base. */
		if (*value != '\0' && !siteconf_dn_ok(value))
			return siteconf_perr(p, "container: \"%s\" is not a relative DN", value);
		return siteconf_strdup_into(p, &c->dir_container, value);
	}
	if (strcmp(name, "bind_dn") == 0) {
		if (*value == '\0') {
			free(c->dir_bind_dn);
			c->dir_bind_dn = NULL;
			return 1;
		}
		if (!siteconf_dn_ok(value))
			return siteconf_perr(p, "bind_dn: \"%s\" is not a DN", value);
		return siteconf_strdup_into(p, &c->dir_bind_dn, value);
	}
	if (strcmp(name, "bind_password_file") == 0)
		return siteconf_path_key(p, name, value, &c->dir_bind_password_file, true);
	if (strcmp(name, "starttls") == 0 || strcmp(name, "create_container") == 0) {
		bool *dst = name[0] == 's' ? &c->dir_starttls : &c->dir_create_container;

		if (siteconf_bool(value, dst) < 0)
			return siteconf_perr(p, "%s: want yes or no, not \"%s\"", name, value);
		return 1;
	}
	if (strcmp(name, "ca_file") == 0)
		return siteconf_path_key(p, name, value, &c->dir_ca_file, true);
	if (strcmp(name, "timeout") == 0)
		return siteconf_ms_key(p, name, value, &c->dir_timeout_ms, 100, 3600 * 1000);
	if (strcmp(name, "retry_min") == 0)
		return siteconf_ms_key(p, name, value, &c->dir_retry_min_ms, 10, 86400 * 1000);
	if (strcmp(name, "retry_max") == 0)
		return siteconf_ms_key(p, name, value, &c->dir_retry_max_ms, 10, 86400 * 1000);
	return -1;
}

static int
siteconf_key_agent(struct siteconf_parse *p, const char *name, const char *value)
{
	struct nap_siteconf *c = p->c;

	if (strcmp(name, "listen") == 0)
		return siteconf_addr_key(p, name, value, &c->agent_listen, false);
	if (strcmp(name, "cert") == 0)
		return siteconf_path_key(p, name, value, &c->agent_cert, false);
	if (strcmp(name, "key") == 0)
		return siteconf_path_key(p, name, value, &c->agent_key, false);
	if (strcmp(name, "ca_cert") == 0)
		return siteconf_path_key(p, name, value, &c->agent_ca_cert, false);
	if (strcmp(name, "ca_key") == 0)
		return siteconf_path_key(p, name, value, &c->agent_ca_key, false);
	if (strcmp(name, "cert_lifetime") == 0)
		return siteconf_seconds_key(p, name, value, &c->agent_cert_lifetime, 3600,
					    100LL * 365 * 86400);
	if (strcmp(name, "token_lifetime") == 0)
		return siteconf_seconds_key(p, name, value, &c->agent_token_lifetime, 60,
					    365LL * 86400);
	return -1;
}

int
nap_siteconf_cidr_parse(const char *s, struct nap_siteconf_cidr *out)
{
	char host[INET6_ADDRSTRLEN + 1], *end;
	const char *slash = strchr(s, '/');
	size_t hl = slash != NULL ? (size_t)(slash - s) : strlen(s);
	unsigned long pl;
	unsigned max, i;

	memset(out, 0, sizeof(*out));
	if (hl == 0 || hl >= sizeof(host))
		return -EINVAL;
	memcpy(host, s, hl);
	host[hl] = '\0';
	if (inet_pton(AF_INET, host, out->addr) == 1) {
		out->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, host, out->addr) == 1) {
		out->family = AF_INET6;
		max = 128;
	} else {
		return -EINVAL;
	}
	out->prefix = max;
	if (slash != NULL) {
		if (!isdigit((unsigned char)slash[1]))
			return -EINVAL;
		errno = 0;
		pl = strtoul(slash + 1, &end, 10);
		if (errno != 0 || *end != '\0' || pl > max)
			return -EINVAL;
		out->prefix = (unsigned)pl;
	}
	/* Host bits set ("10.0.0.1/8") are most likely a typo: refuse rather than guess. */
	for (i = out->prefix; i < max; i++)
		if (out->addr[i / 8] & (0x80u >> (i % 8)))
			return -EINVAL;
	return 0;
}

bool
nap_siteconf_cidr_match(const struct nap_siteconf_cidr *nets, size_t n, const struct sockaddr *sa)
{
	static const uint8_t v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	const uint8_t *a;
	int family;

	if (sa == NULL)
		return false;
	if (sa->sa_family == AF_INET) {
		family = AF_INET;
		a = (const uint8_t *)&((const struct sockaddr_in *)(const void *)sa)->sin_addr;
	} else if (sa->sa_family == AF_INET6) {
		a = ((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr.s6_addr;
		family = AF_INET6;
		if (memcmp(a, v4mapped, sizeof(v4mapped)) == 0) {
			family = AF_INET;
			a += sizeof(v4mapped);
		}
	} else {
		return false;
	}
	for (size_t k = 0; k < n; k++) {
		unsigned full = nets[k].prefix / 8, rest = nets[k].prefix % 8;

		if (nets[k].family != family || memcmp(nets[k].addr, a, full) != 0)
			continue;
		if (rest == 0 || ((nets[k].addr[full] ^ a[full]) & (0xffu << (8 - rest)) & 0xff) == 0)
			return true;
	}
	return false;
}

static int
siteconf_web_allow(struct siteconf_parse *p, const char *value)
{
	struct nap_siteconf *c = p->c;
	char *buf, *save = NULL, *tok;
	int r = 1;

	if ((buf = strdup(value)) == NULL)
		return siteconf_perr(p, "out of memory");
	c->n_web_allow = 0;
	for (tok = strtok_r(buf, ", \t", &save); tok != NULL; tok = strtok_r(NULL, ", \t", &save)) {
		if (c->n_web_allow == NAP_SITECONF_MAX_ALLOW) {
			r = siteconf_perr(p, "allow: more than %d networks", NAP_SITECONF_MAX_ALLOW);
			break;
		}
		if (nap_siteconf_cidr_parse(tok, &c->web_allow[c->n_web_allow]) < 0) {
			r = siteconf_perr(p,
					  "allow: \"%s\" is not ADDRESS[/PREFIX] (e.g. 10.1.0.0/16, "
					  "::1; no host bits past the prefix)",
					  tok);
			break;
		}
		c->n_web_allow++;
	}
	if (r == 1 && c->n_web_allow == 0)
		r = siteconf_perr(p, "allow: empty (leave the key out for loopback only)");
	free(buf);
	return r;
}

static int
siteconf_key_web(struct siteconf_parse *p, const char *name, const char *value)
{
	struct nap_siteconf *c = p->c;

	if (strcmp(name, "listen") == 0)
		return siteconf_addr_key(p, name, value, &c->web_listen, false);
	if (strcmp(name, "cert") == 0)
		return siteconf_path_key(p, name, value, &c->web_cert, true);
	if (strcmp(name, "key") == 0)
		return siteconf_path_key(p, name, value, &c->web_key, true);
	if (strcmp(name, "allow") == 0)
		return siteconf_web_allow(p, value);
	if (strcmp(name, "token_file") == 0)
		return siteconf_path_key(p, name, value, &c->web_token_file, true);
	if (strcmp(name, "threads") == 0) {
		char *end;
		long v;

		errno = 0;
		v = strtol(value, &end, 10);
		if (errno != 0 || *value == '\0' || *end != '\0' || v < 1 || v > 64)
			return siteconf_perr(p, "threads: \"%s\" is not a number 1..64", value);
		c->web_threads = v;
		return 1;
	}
	if (strcmp(name, "refresh") == 0) {
		if (strcmp(value, "0") == 0) { /* the pages do not reload themselves */
			c->web_refresh = 0;
			return 1;
		}
		return siteconf_seconds_key(p, name, value, &c->web_refresh, 5, 86400);
	}
	return -1;
}

/* ---- [deployment]: the other hosts, for napctl ports/check/firewall ---- */

static bool
siteconf_hostname_ok(const char *h)
{
	size_t n = strlen(h);

	if (n == 0 || n > 253)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)h[i]) && h[i] != '-' && h[i] != '.' && h[i] != '_')
			return false;
	return true;
}

int
nap_siteconf_hostport(const char *s, char *host, size_t host_cap, uint16_t *port,
		      uint16_t default_port)
{
	const char *h = s, *ps = NULL;
	size_t hl;

	if (s[0] == '[') {
		const char *close = strchr(s, ']');
		struct in6_addr a6;

		if (close == NULL || (close[1] != '\0' && close[1] != ':'))
			return -EINVAL;
		h = s + 1;
		hl = (size_t)(close - h);
		if (close[1] == ':')
			ps = close + 2;
		if (hl == 0 || hl >= host_cap)
			return -EINVAL;
		memcpy(host, h, hl);
		host[hl] = '\0';
		if (inet_pton(AF_INET6, host, &a6) != 1)
			return -EINVAL;
	} else {
		const char *colon = strchr(s, ':');

		if (colon != NULL && strchr(colon + 1, ':') != NULL) {
			struct in6_addr a6;

			/* A bare IPv6 address: no port. */
			if (inet_pton(AF_INET6, s, &a6) != 1 || strlen(s) >= host_cap)
				return -EINVAL;
			memcpy(host, s, strlen(s) + 1);
			*port = default_port;
			return 0;
		}
		hl = colon != NULL ? (size_t)(colon - s) : strlen(s);
		if (colon != NULL)
			ps = colon + 1;
		if (hl == 0 || hl >= host_cap)
			return -EINVAL;
		memcpy(host, h, hl);
		host[hl] = '\0';
		if (!siteconf_hostname_ok(host))
			return -EINVAL;
	}
	if (ps != NULL) {
		unsigned long pv;
		char *end;

		if (!isdigit((unsigned char)*ps))
			return -EINVAL;
		errno = 0;
		pv = strtoul(ps, &end, 10);
		if (errno != 0 || *end != '\0' || pv == 0 || pv > 65535)
			return -EINVAL;
		*port = (uint16_t)pv;
	} else {
		*port = default_port;
	}
	return 0;
}

int
nap_siteconf_url_hostport(const char *url, char *scheme, size_t scheme_cap, char *host,
			  size_t host_cap, uint16_t *port)
{
	static const struct {
		const char *scheme;
		uint16_t port;
	} known[] = {{"ldap", 389}, {"ldaps", 636}, {"smb", 445}, {"http", 80}, {"https", 443}};
	const char *sep = strstr(url, "://"), *a, *e, *at;
	char hp[300];
	uint16_t def = 0;
	size_t sl;

	if (sep == NULL || sep == url || (sl = (size_t)(sep - url)) >= scheme_cap)
		return -EINVAL;
	for (size_t i = 0; i < sl; i++) {
		if (!isalpha((unsigned char)url[i]))
			return -EINVAL;
		scheme[i] = (char)tolower((unsigned char)url[i]);
	}
	scheme[sl] = '\0';
	for (size_t i = 0; i < NAP_ARRAY_SIZE(known); i++)
		if (strcmp(scheme, known[i].scheme) == 0)
			def = known[i].port;
	if (def == 0)
		return -EINVAL;
	a = sep + 3;
	e = a + strcspn(a, "/?#");
	at = memchr(a, '@', (size_t)(e - a));
	if (at != NULL)
		a = at + 1;
	if (e == a || (size_t)(e - a) >= sizeof(hp))
		return -EINVAL;
	memcpy(hp, a, (size_t)(e - a));
	hp[e - a] = '\0';
	return nap_siteconf_hostport(hp, host, host_cap, port, def);
}

/* A space-separated list of at most max values, each checked by ok(); into dst[], *n. */
static int
siteconf_list_key(struct siteconf_parse *p, const char *name, const char *value, char **dst,
		  size_t *n, size_t max, bool (*ok)(const char *), const char *want)
{
	char *buf, *save = NULL, *tok;
	int r = 1;

	if ((buf = strdup(value)) == NULL)
		return siteconf_perr(p, "out of memory");
	for (tok = strtok_r(buf, ", \t", &save); tok != NULL; tok = strtok_r(NULL, ", \t", &save)) {
		if (!ok(tok)) {
			r = siteconf_perr(p, "%s: \"%s\" is not %s", name, tok, want);
			break;
		}
		for (size_t i = 0; i < *n; i++)
			if (strcasecmp(dst[i], tok) == 0) {
				r = siteconf_perr(p, "%s: \"%s\" given twice", name, tok);
				goto out;
			}
		if (*n == max) {
			r = siteconf_perr(p, "%s: more than %zu values", name, max);
			break;
		}
		if ((dst[*n] = strdup(tok)) == NULL) {
			r = siteconf_perr(p, "out of memory");
			break;
		}
		(*n)++;
	}
out:
	free(buf);
	return r;
}

static bool
siteconf_hostport_ok(const char *s)
{
	char host[256];
	uint16_t port;

	return nap_siteconf_hostport(s, host, sizeof(host), &port, 1) == 0;
}

static bool
siteconf_url_is(const char *s, const char *s1, const char *s2)
{
	char scheme[8], host[256];
	uint16_t port;

	if (nap_siteconf_url_hostport(s, scheme, sizeof(scheme), host, sizeof(host), &port) < 0)
		return false;
	return strcmp(scheme, s1) == 0 || (s2 != NULL && strcmp(scheme, s2) == 0);
}

static bool
siteconf_ldap_url_ok(const char *s)
{
	LDAPURLDesc *lud = NULL;

	if (!siteconf_url_is(s, "ldap", "ldaps") || ldap_url_parse(s, &lud) != LDAP_URL_SUCCESS)
		return false;
	ldap_free_urldesc(lud);
	return true;
}

static bool
siteconf_http_url_ok(const char *s)
{
	return siteconf_url_is(s, "http", "https");
}

static int
siteconf_key_deployment(struct siteconf_parse *p, const char *name, const char *value)
{
	struct nap_siteconf *c = p->c;
	char **unset = NULL;

	if (strcmp(name, "site_host") == 0)
		unset = &c->dep_site_host;
	else if (strcmp(name, "inbox_url") == 0)
		unset = &c->dep_inbox_url;
	else if (strcmp(name, "gc_bind_dn") == 0)
		unset = &c->dep_gc_bind_dn;

	if (unset != NULL && *value == '\0') {
		/* What -n prints for an unset value reads back. */
		free(*unset);
		*unset = NULL;
		return 1;
	}
	if (strcmp(name, "site_host") == 0) {
		if (!siteconf_hostname_ok(value))
			return siteconf_perr(p, "site_host: \"%s\" is not a host name or address",
					     value);
		return siteconf_strdup_into(p, &c->dep_site_host, value);
	}
	if (strcmp(name, "inbox_url") == 0) {
		if (!siteconf_url_is(value, "smb", NULL))
			return siteconf_perr(p, "inbox_url: \"%s\" is not smb://HOST[:PORT]/SHARE",
					     value);
		return siteconf_strdup_into(p, &c->dep_inbox_url, value);
	}
	if (strcmp(name, "inbox_credentials") == 0)
		return siteconf_path_key(p, name, value, &c->dep_inbox_credentials, true);
	if (strcmp(name, "radius") == 0)
		return siteconf_list_key(p, name, value, c->dep_radius, &c->n_dep_radius,
					 NAP_SITECONF_MAX_PEERS, siteconf_hostport_ok,
					 "HOST[:PORT]");
	if (strcmp(name, "radius_secret_file") == 0)
		return siteconf_path_key(p, name, value, &c->dep_radius_secret_file, true);
	if (strcmp(name, "gc") == 0)
		return siteconf_list_key(p, name, value, c->dep_gc, &c->n_dep_gc,
					 NAP_SITECONF_MAX_URIS, siteconf_ldap_url_ok,
					 "an ldap:// or ldaps:// URI with a host");
	if (strcmp(name, "gc_bind_dn") == 0) {
		if (!siteconf_dn_ok(value))
			return siteconf_perr(p, "gc_bind_dn: \"%s\" is not a DN", value);
		return siteconf_strdup_into(p, &c->dep_gc_bind_dn, value);
	}
	if (strcmp(name, "gc_bind_password_file") == 0)
		return siteconf_path_key(p, name, value, &c->dep_gc_bind_password_file, true);
	if (strcmp(name, "dhcp") == 0)
		return siteconf_list_key(p, name, value, c->dep_dhcp, &c->n_dep_dhcp,
					 NAP_SITECONF_MAX_PEERS, siteconf_hostport_ok, "a host");
	if (strcmp(name, "hra") == 0)
		return siteconf_list_key(p, name, value, c->dep_hra, &c->n_dep_hra,
					 NAP_SITECONF_MAX_PEERS, siteconf_http_url_ok,
					 "an http:// or https:// URL");
	if (strcmp(name, "ipsec") == 0) {
		if (siteconf_bool(value, &c->dep_ipsec) < 0)
			return siteconf_perr(p, "ipsec: want yes or no, not \"%s\"", value);
		return 1;
	}
	if (strcmp(name, "ca_file") == 0)
		return siteconf_path_key(p, name, value, &c->dep_ca_file, true);
	return -1;
}

/* ---- [status]: status messages napvd ships into the inbox share (napsited ingest.c) ---- */

static int
siteconf_key_status(struct siteconf_parse *p, const char *name, const char *value)
{
	struct nap_siteconf *c = p->c;

	if (strcmp(name, "inbox") == 0)
		return siteconf_path_key(p, name, value, &c->status_inbox, false);
	if (strcmp(name, "quarantine") == 0)
		return siteconf_path_key(p, name, value, &c->status_quarantine, true);
	if (strcmp(name, "silent_after") == 0)
		return siteconf_seconds_key(p, name, value, &c->status_silent_after, 60,
					    30 * 86400);
	if (strcmp(name, "scan_interval") == 0)
		return siteconf_ms_key(p, name, value, &c->status_scan_interval_ms, 50, 600000);
	if (strcmp(name, "keep") == 0 || strcmp(name, "keep_daily") == 0) {
		int64_t *dst = name[4] == '\0' ? &c->status_keep : &c->status_keep_daily;

		if (strcmp(value, "0") == 0) { /* forever */
			*dst = 0;
			return 1;
		}
		return siteconf_seconds_key(p, name, value, dst, 86400, 100 * 366 * 86400LL);
	}
	return -1;
}

/* Every key of every section, in order: its bit in siteconf_parse.seen is its index. */
static const char *const siteconf_keys[SEC_COUNT][16] = {
	[SEC_SITE] = {"code", "key", "state_dir", "user", "pidfile", "metrics", "poll_interval"},
	[SEC_STORE] = {"uri"},
	[SEC_DIRECTORY] = {"uri", "base", "container", "bind_dn", "bind_password_file", "starttls",
			   "ca_file", "timeout", "retry_min", "retry_max", "create_container"},
	[SEC_AGENT] = {"listen", "cert", "key", "ca_cert", "ca_key", "cert_lifetime",
		       "token_lifetime"},
	[SEC_WEB] = {"listen", "cert", "key", "allow", "token_file", "threads", "refresh"},
	[SEC_DEPLOYMENT] = {"site_host", "inbox_url", "inbox_credentials", "radius",
			    "radius_secret_file", "gc", "gc_bind_dn", "gc_bind_password_file",
			    "dhcp", "hra", "ipsec", "ca_file"},
	[SEC_STATUS] = {"inbox", "quarantine", "silent_after", "scan_interval", "keep",
			"keep_daily"},
};

static siteconf_key_fn *const siteconf_key_fns[SEC_COUNT] = {
	[SEC_SITE] = siteconf_key_site,
	[SEC_STORE] = siteconf_key_store,
	[SEC_DIRECTORY] = siteconf_key_directory,
	[SEC_AGENT] = siteconf_key_agent,
	[SEC_WEB] = siteconf_key_web,
	[SEC_DEPLOYMENT] = siteconf_key_deployment,
	[SEC_STATUS] = siteconf_key_status,
};

static int
siteconf_ini_handler(void *user, const char *section, const char *name, const char *value)
{
	struct siteconf_parse *p = user;
	size_t sec, k;
	char *val;
	int r;

	if (p->failed)
		return 0;
	if (*section == '\0')
		return siteconf_perr(p, "key \"%s\" outside a section", name);
	for (sec = 0; sec < SEC_COUNT; sec++)
		if (strcmp(section, siteconf_section_names[sec]) == 0)
			break;
	if (sec == SEC_COUNT) {
		char known[256] = "";

		/* The list comes from the table, so a new section cannot be left out of it. */
		for (size_t i = 0; i < SEC_COUNT; i++)
			snprintf(known + strlen(known), sizeof(known) - strlen(known), "%s%s",
				 i > 0 ? ", " : "", siteconf_section_names[i]);
		return siteconf_perr(p, "unknown section [%s] (%s)", section, known);
	}
	for (k = 0; siteconf_keys[sec][k] != NULL; k++)
		if (strcmp(name, siteconf_keys[sec][k]) == 0)
			break;
	if (siteconf_keys[sec][k] == NULL)
		return siteconf_perr(p, "unknown key \"%s\" in [%s]", name, section);
	if (p->seen[sec] & (1u << k))
		return siteconf_perr(p, "[%s] %s given twice", section, name);
	p->seen[sec] |= 1u << k;
	if (sec == SEC_DIRECTORY)
		p->c->has_directory = true;
	else if (sec == SEC_AGENT)
		p->c->has_agent = true;
	else if (sec == SEC_WEB)
		p->c->has_web = true;
	else if (sec == SEC_DEPLOYMENT)
		p->c->has_deployment = true;
	else if (sec == SEC_STATUS)
		p->c->has_status = true;
	/* "key=;x" reaches us as ";x", but "key = ;x" is an empty value and a comment. */
	if (value != NULL && value[0] == ';')
		return siteconf_perr(p,
				     "%s: a value may not start with ';' (after a blank it starts "
				     "a comment)",
				     name);
	if ((val = strdup(value != NULL ? value : "")) == NULL)
		return siteconf_perr(p, "out of memory");
	/* What -n prints ("key = value") must read back: inih's line limit applies to it too. */
	if (strlen(name) + 3 + strlen(siteconf_trim(val)) > NAP_CONF_LINE_MAX) {
		free(val);
		return siteconf_perr(p, "%s: value longer than %zu characters", name,
				     NAP_CONF_LINE_MAX - 3 - strlen(name));
	}
	r = siteconf_key_fns[sec](p, name, siteconf_trim(val));
	free(val);
	return r;
}

/*
 * Before inih: refuse lines inih would truncate silently, and note the line of each section's
 * first header so that errors found after the parse (a missing key) still point into the file.
 */
static int
siteconf_prescan(const char *text, struct siteconf_parse *p, int *bad_line)
{
	char why[64];
	int line = 1;

	if (nap_conf_text_check(text, NAP_CONF_LINE_MAX, bad_line, why, sizeof(why)) < 0)
		return siteconf_perr(p, "%s", why);

	for (const char *s = text; *s != '\0'; line++) {
		const char *nl = strchr(s, '\n');
		size_t n = nl != NULL ? (size_t)(nl - s) : strlen(s);
		const char *b = s;

		if (n > 0 && s[n - 1] == '\r')
			n--;
		while (b < s + n && isspace((unsigned char)*b))
			b++;
		if (b < s + n && *b == '[') {
			const char *e = memchr(b, ']', (size_t)(s + n - b));

			for (size_t sec = 0; e != NULL && sec < SEC_COUNT; sec++) {
				const char *nm = siteconf_section_names[sec];

				if ((size_t)(e - b - 1) == strlen(nm) &&
				    memcmp(b + 1, nm, strlen(nm)) == 0 && p->sec_line[sec] == 0)
					p->sec_line[sec] = line;
			}
		}
		if (nl == NULL)
			break;
		s = nl + 1;
	}
	return 1;
}

/* Defaults that depend on other keys, and the checks across keys. *line gets where to point. */
static int
siteconf_finish(struct siteconf_parse *p, int *line)
{
	struct nap_siteconf *c = p->c;
	char buf[4096];

	*line = p->sec_line[SEC_SITE];
	if (p->sec_line[SEC_SITE] == 0)
		return siteconf_perr(p, "no [site] section (code and key are required)");
	if (c->site[0] == '\0')
		return siteconf_perr(p, "[site] code is required");
	if (c->key == NULL)
		return siteconf_perr(p, "[site] key is required (the site's Ed25519 signing key)");
	if (c->state_dir == NULL &&
	    siteconf_strdup_into(p, &c->state_dir, SITECONF_DEFAULT_STATE_DIR) == 0)
		return 0;
	if (c->store_uri == NULL) {
		snprintf(buf, sizeof(buf), "sqlite:%s/site.db", c->state_dir);
		if (siteconf_strdup_into(p, &c->store_uri, buf) == 0)
			return 0;
	}
	if (c->has_directory) {
		*line = p->sec_line[SEC_DIRECTORY];
		if (c->n_dir_uri == 0)
			return siteconf_perr(p, "[directory] uri is required");
		if (c->dir_base == NULL)
			return siteconf_perr(p, "[directory] base is required");
		if (c->dir_container == NULL &&
		    siteconf_strdup_into(p, &c->dir_container, SITECONF_DEFAULT_CONTAINER) == 0)
			return 0;
		if (c->dir_bind_dn != NULL && c->dir_bind_password_file == NULL)
			return siteconf_perr(p, "[directory] bind_dn needs bind_password_file");
		if (c->dir_bind_dn == NULL && c->dir_bind_password_file != NULL)
			return siteconf_perr(p, "[directory] bind_password_file without bind_dn");
		if (c->dir_retry_min_ms > c->dir_retry_max_ms)
			return siteconf_perr(p,
					     "[directory] retry_min (%" PRId64 "ms) is longer "
					     "than retry_max (%" PRId64 "ms)",
					     c->dir_retry_min_ms, c->dir_retry_max_ms);
		if (nap_siteconf_hsr_dn(c, c->site, buf, sizeof(buf)) < 0)
			return siteconf_perr(p, "[directory] the entry's DN is too long");
	}
	if (c->has_agent) {
		*line = p->sec_line[SEC_AGENT];
		if (c->agent_listen == NULL)
			return siteconf_perr(p, "[agent] listen is required");
		if (c->agent_cert == NULL || c->agent_key == NULL)
			return siteconf_perr(p, "[agent] cert and key are required (the endpoint's "
						"TLS certificate)");
		if (c->metrics != NULL && strcmp(c->metrics, c->agent_listen) == 0)
			return siteconf_perr(p, "[agent] listen is the same address as [site] "
						"metrics");
		if (c->agent_ca_cert == NULL) {
			snprintf(buf, sizeof(buf), "%s/agent-ca.pem", c->state_dir);
			if (siteconf_strdup_into(p, &c->agent_ca_cert, buf) == 0)
				return 0;
		}
		if (c->agent_ca_key == NULL) {
			snprintf(buf, sizeof(buf), "%s/agent-ca.key", c->state_dir);
			if (siteconf_strdup_into(p, &c->agent_ca_key, buf) == 0)
				return 0;
		}
	}
	if (c->has_status && c->status_inbox != NULL && c->status_quarantine == NULL) {
		char q[4096];

		*line = p->sec_line[SEC_STATUS];
		snprintf(q, sizeof(q), "%s/quarantine", c->status_inbox);
		if (siteconf_strdup_into(p, &c->status_quarantine, q) != 1)
			return 0;
	}
	if (c->has_web) {
		*line = p->sec_line[SEC_WEB];
		if (c->web_listen == NULL)
			return siteconf_perr(p, "[web] listen is required");
		if ((c->web_cert == NULL) != (c->web_key == NULL))
			return siteconf_perr(p, "[web] cert and key go together (HTTPS), or neither "
						"(plain HTTP)");
		if ((c->metrics != NULL && strcmp(c->metrics, c->web_listen) == 0) ||
		    (c->has_agent && strcmp(c->agent_listen, c->web_listen) == 0))
			return siteconf_perr(p, "[web] listen is the same address as [site] metrics "
						"or [agent] listen");
		if (c->n_web_allow == 0) {
			/* Loopback only, unless the administrator says otherwise. */
			if (nap_siteconf_cidr_parse("127.0.0.0/8", &c->web_allow[0]) < 0 ||
			    nap_siteconf_cidr_parse("::1", &c->web_allow[1]) < 0)
				return siteconf_perr(p, "internal error: default allow");
			c->n_web_allow = 2;
		}
	}
	if (c->has_deployment) {
		*line = p->sec_line[SEC_DEPLOYMENT];
		if ((c->dep_gc_bind_dn == NULL) != (c->dep_gc_bind_password_file == NULL))
			return siteconf_perr(p, "[deployment] gc_bind_dn and gc_bind_password_file "
						"go together");
	}
	return 1;
}

static struct nap_siteconf *
siteconf_new(void)
{
	struct nap_siteconf *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	c->poll_interval_ms = SITECONF_DEFAULT_POLL_MS;
	c->dir_starttls = true;
	c->dir_timeout_ms = SITECONF_DEFAULT_TIMEOUT_MS;
	c->dir_retry_min_ms = SITECONF_DEFAULT_RETRY_MIN;
	c->dir_retry_max_ms = SITECONF_DEFAULT_RETRY_MAX;
	c->dir_create_container = true;
	c->agent_cert_lifetime = SITECONF_DEFAULT_CERT_LIFE;
	c->agent_token_lifetime = SITECONF_DEFAULT_TOKEN_LIFE;
	c->web_threads = SITECONF_DEFAULT_WEB_THREADS;
	c->web_refresh = SITECONF_DEFAULT_WEB_REFRESH;
	c->status_silent_after = 30 * 60;
	c->status_scan_interval_ms = 1000;
	c->status_keep = 90 * 86400;
	c->status_keep_daily = 400 * 86400;
	return c;
}

void
nap_siteconf_free(struct nap_siteconf *c)
{
	if (c == NULL)
		return;
	free(c->path);
	free(c->key);
	free(c->state_dir);
	free(c->user);
	free(c->pidfile);
	free(c->metrics);
	free(c->store_uri);
	for (size_t i = 0; i < c->n_dir_uri; i++)
		free(c->dir_uri[i]);
	free(c->dir_base);
	free(c->dir_container);
	free(c->dir_bind_dn);
	free(c->dir_bind_password_file);
	free(c->dir_ca_file);
	free(c->status_inbox);
	free(c->status_quarantine);
	free(c->agent_listen);
	free(c->agent_cert);
	free(c->agent_key);
	free(c->agent_ca_cert);
	free(c->agent_ca_key);
	free(c->web_listen);
	free(c->web_cert);
	free(c->web_key);
	free(c->web_token_file);
	free(c->dep_site_host);
	free(c->dep_inbox_url);
	free(c->dep_inbox_credentials);
	for (size_t i = 0; i < c->n_dep_radius; i++)
		free(c->dep_radius[i]);
	free(c->dep_radius_secret_file);
	for (size_t i = 0; i < c->n_dep_gc; i++)
		free(c->dep_gc[i]);
	free(c->dep_gc_bind_dn);
	free(c->dep_gc_bind_password_file);
	for (size_t i = 0; i < c->n_dep_dhcp; i++)
		free(c->dep_dhcp[i]);
	for (size_t i = 0; i < c->n_dep_hra; i++)
		free(c->dep_hra[i]);
	free(c->dep_ca_file);
	free(c);
}

int
nap_siteconf_parse_string(const char *text, const char *name, struct nap_siteconf **out, char *err,
			  size_t err_len)
{
	struct siteconf_parse p = {.err = err, .err_len = err_len};
	char msg[512];
	int line = 0;

	*out = NULL;
	if (err_len > 0)
		err[0] = '\0';
	if ((p.c = siteconf_new()) == NULL) {
		snprintf(err, err_len, "%s: out of memory", name);
		return -ENOMEM;
	}
	if (siteconf_prescan(text, &p, &line) == 0)
		goto fail;
	line = ini_parse_string(text, siteconf_ini_handler, &p);
	if (line != 0 || p.failed) {
		if (!p.failed) {
			p.failed = true;
			snprintf(err, err_len, "syntax error");
		}
		goto fail;
	}
	if (siteconf_finish(&p, &line) == 0)
		goto fail;
	if ((p.c->path = strdup(name)) == NULL) {
		snprintf(err, err_len, "%s: out of memory", name);
		nap_siteconf_free(p.c);
		return -ENOMEM;
	}
	*out = p.c;
	return 0;
fail:
	snprintf(msg, sizeof(msg), "%s", err);
	if (line > 0)
		snprintf(err, err_len, "%s:%d: %s", name, line, msg);
	else
		snprintf(err, err_len, "%s: %s", name, msg);
	nap_siteconf_free(p.c);
	return -EINVAL;
}

int
nap_siteconf_parse_file(const char *path, struct nap_siteconf **out, char *err, size_t err_len)
{
	char *text;
	int r;

	*out = NULL;
	if ((r = nap_read_text_file(path, SITECONF_MAX_LEN, &text, NULL, err, err_len)) < 0)
		return r;
	r = nap_siteconf_parse_string(text, path, out, err, err_len);
	free(text);
	return r;
}

/* ---- printing back ---- */

static void
siteconf_print_ms(FILE *f, const char *key, int64_t ms)
{
	if (ms % 1000 != 0) {
		fprintf(f, "%s = %" PRId64 "ms\n", key, ms);
		return;
	}
	ms /= 1000;
	if (ms != 0 && ms % 86400 == 0)
		fprintf(f, "%s = %" PRId64 "d\n", key, ms / 86400);
	else if (ms != 0 && ms % 3600 == 0)
		fprintf(f, "%s = %" PRId64 "h\n", key, ms / 3600);
	else if (ms != 0 && ms % 60 == 0)
		fprintf(f, "%s = %" PRId64 "m\n", key, ms / 60);
	else
		fprintf(f, "%s = %" PRId64 "s\n", key, ms);
}

/* "key = value", or "key =" for an unset value (no trailing blank). */
static void
siteconf_print_str(FILE *f, const char *key, const char *v)
{
	if (v != NULL && *v != '\0')
		fprintf(f, "%s = %s\n", key, v);
	else
		fprintf(f, "%s =\n", key);
}

void
nap_siteconf_print(const struct nap_siteconf *c, FILE *f)
{
	fprintf(f, "[site]\ncode = %s\nkey = %s\nstate_dir = %s\n", c->site, c->key, c->state_dir);
	siteconf_print_str(f, "user", c->user);
	siteconf_print_str(f, "pidfile", c->pidfile);
	siteconf_print_str(f, "metrics", c->metrics);
	siteconf_print_ms(f, "poll_interval", c->poll_interval_ms);
	fprintf(f, "\n[store]\nuri = %s\n", c->store_uri);
	if (c->has_directory) {
		fprintf(f, "\n[directory]\nuri =");
		for (size_t i = 0; i < c->n_dir_uri; i++)
			fprintf(f, " %s", c->dir_uri[i]);
		fprintf(f, "\nbase = %s\n", c->dir_base);
		siteconf_print_str(f, "container", c->dir_container);
		siteconf_print_str(f, "bind_dn", c->dir_bind_dn);
		siteconf_print_str(f, "bind_password_file", c->dir_bind_password_file);
		fprintf(f, "starttls = %s\n", c->dir_starttls ? "yes" : "no");
		siteconf_print_str(f, "ca_file", c->dir_ca_file);
		siteconf_print_ms(f, "timeout", c->dir_timeout_ms);
		siteconf_print_ms(f, "retry_min", c->dir_retry_min_ms);
		siteconf_print_ms(f, "retry_max", c->dir_retry_max_ms);
		fprintf(f, "create_container = %s\n", c->dir_create_container ? "yes" : "no");
	}
	if (c->has_agent) {
		fprintf(f, "\n[agent]\nlisten = %s\ncert = %s\nkey = %s\n", c->agent_listen,
			c->agent_cert, c->agent_key);
		fprintf(f, "ca_cert = %s\nca_key = %s\n", c->agent_ca_cert, c->agent_ca_key);
		siteconf_print_ms(f, "cert_lifetime", c->agent_cert_lifetime * 1000);
		siteconf_print_ms(f, "token_lifetime", c->agent_token_lifetime * 1000);
	}
	if (c->has_web) {
		fprintf(f, "\n[web]\nlisten = %s\n", c->web_listen);
		siteconf_print_str(f, "cert", c->web_cert);
		siteconf_print_str(f, "key", c->web_key);
		fprintf(f, "allow =");
		for (size_t i = 0; i < c->n_web_allow; i++) {
			char a[INET6_ADDRSTRLEN];

			inet_ntop(c->web_allow[i].family, c->web_allow[i].addr, a, sizeof(a));
			fprintf(f, " %s/%u", a, c->web_allow[i].prefix);
		}
		fprintf(f, "\n");
		siteconf_print_str(f, "token_file", c->web_token_file);
		fprintf(f, "threads = %" PRId64 "\n", c->web_threads);
		if (c->web_refresh == 0)
			fprintf(f, "refresh = 0\n");
		else
			siteconf_print_ms(f, "refresh", c->web_refresh * 1000);
	}
	if (c->has_status) {
		fprintf(f, "\n[status]\n");
		siteconf_print_str(f, "inbox", c->status_inbox);
		siteconf_print_str(f, "quarantine", c->status_quarantine);
		siteconf_print_ms(f, "silent_after", c->status_silent_after * 1000);
		siteconf_print_ms(f, "scan_interval", c->status_scan_interval_ms);
		if (c->status_keep == 0)
			fprintf(f, "keep = 0\n");
		else
			siteconf_print_ms(f, "keep", c->status_keep * 1000);
		if (c->status_keep_daily == 0)
			fprintf(f, "keep_daily = 0\n");
		else
			siteconf_print_ms(f, "keep_daily", c->status_keep_daily * 1000);
	}
	if (c->has_deployment) {
		static const char *const lists[] = {"radius", "gc", "dhcp", "hra"};
		char *const *lv[] = {c->dep_radius, c->dep_gc, c->dep_dhcp, c->dep_hra};
		const size_t ln[] = {c->n_dep_radius, c->n_dep_gc, c->n_dep_dhcp, c->n_dep_hra};

		fprintf(f, "\n[deployment]\n");
		siteconf_print_str(f, "site_host", c->dep_site_host);
		siteconf_print_str(f, "inbox_url", c->dep_inbox_url);
		siteconf_print_str(f, "inbox_credentials", c->dep_inbox_credentials);
		for (size_t k = 0; k < NAP_ARRAY_SIZE(lists); k++) {
			fprintf(f, "%s =", lists[k]);
			for (size_t i = 0; i < ln[k]; i++)
				fprintf(f, " %s", lv[k][i]);
			fprintf(f, "\n");
		}
		siteconf_print_str(f, "radius_secret_file", c->dep_radius_secret_file);
		siteconf_print_str(f, "gc_bind_dn", c->dep_gc_bind_dn);
		siteconf_print_str(f, "gc_bind_password_file", c->dep_gc_bind_password_file);
		fprintf(f, "ipsec = %s\n", c->dep_ipsec ? "yes" : "no");
		siteconf_print_str(f, "ca_file", c->dep_ca_file);
	}
}

int
nap_siteconf_warnings(const struct nap_siteconf *c, FILE *f)
{
	int n = 0;

	if (!c->has_directory) {
		fprintf(f, "warning: no [directory] section: napsited will not publish the HSR\n");
		return 1;
	}
	if (c->dir_bind_dn == NULL) {
		fprintf(f, "warning: [directory] no bind_dn: an anonymous bind cannot write the "
			   "HSR entry\n");
		n++;
	}
	if (c->dir_bind_dn != NULL && !c->dir_starttls) {
		for (size_t i = 0; i < c->n_dir_uri; i++) {
			if (strncasecmp(c->dir_uri[i], "ldap://", 7) == 0) {
				fprintf(f,
					"warning: [directory] starttls = no: the bind password "
					"crosses %s in clear text\n",
					c->dir_uri[i]);
				n++;
			}
		}
	}
	/* One pass over every URI may take n * timeout; backoff is measured from its end. */
	if (c->dir_timeout_ms * (int64_t)c->n_dir_uri > c->dir_retry_max_ms) {
		fprintf(f,
			"warning: [directory] one attempt over %zu URI(s) can take %" PRId64
			"ms (timeout), longer than retry_max (%" PRId64 "ms)\n",
			c->n_dir_uri, c->dir_timeout_ms * (int64_t)c->n_dir_uri,
			c->dir_retry_max_ms);
		n++;
	}
	/*
	 * Polling slower than the first retry means a policy change can sit unseen for longer
	 * than a failed publish sits unretried: the timing knobs are upside down.
	 */
	if (c->poll_interval_ms > c->dir_retry_min_ms) {
		fprintf(f,
			"warning: [site] poll_interval (%" PRId64 "ms) is longer than "
			"[directory] retry_min (%" PRId64 "ms): a change waits longer to be "
			"seen than a failed publish waits to be retried\n",
			c->poll_interval_ms, c->dir_retry_min_ms);
		n++;
	}
	if (c->has_agent && c->agent_token_lifetime > c->agent_cert_lifetime) {
		fprintf(f, "warning: [agent] token_lifetime is longer than cert_lifetime\n");
		n++;
	}
	return n;
}

/* ---- the entry's DN ---- */

/* RFC 4514 section 2.4: escape an attribute value for a string DN. */
static int
siteconf_dn_escape(const char *v, char *out, size_t cap)
{
	size_t n = strlen(v), o = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)v[i];
		bool esc = strchr("\"+,;<>\\=", ch) != NULL ||
			   (i == 0 && (ch == ' ' || ch == '#')) || (i == n - 1 && ch == ' ');

		if (ch < 0x20 || ch == 0x7f) {
			if (o + 3 >= cap)
				return -ENAMETOOLONG;
			snprintf(out + o, cap - o, "\\%02x", ch);
			o += 3;
			continue;
		}
		if (o + (esc ? 2 : 1) >= cap)
			return -ENAMETOOLONG;
		if (esc)
			out[o++] = '\\';
		out[o++] = (char)ch;
	}
	if (o >= cap)
		return -ENAMETOOLONG;
	out[o] = '\0';
	return 0;
}

int
nap_siteconf_hsr_dn(const struct nap_siteconf *c, const char *site, char *out, size_t cap)
{
	char esc[3 * NAP_SITE_MAX + 1];
	const char *container =
		c->dir_container != NULL ? c->dir_container : SITECONF_DEFAULT_CONTAINER;
	int n;

	if (c->dir_base == NULL || site == NULL || *site == '\0' || strlen(site) > NAP_SITE_MAX)
		return -EINVAL;
	if (siteconf_dn_escape(site, esc, sizeof(esc)) < 0)
		return -EINVAL;
	if (*container != '\0')
		n = snprintf(out, cap, "cn=%s,%s,%s", esc, container, c->dir_base);
	else
		n = snprintf(out, cap, "cn=%s,%s", esc, c->dir_base);
	if (n < 0 || (size_t)n >= cap)
		return -ENAMETOOLONG;
	return 0;
}

/* ---- the bind password ---- */

int
nap_siteconf_bind_password(const struct nap_siteconf *c, char **out, char *err, size_t err_len)
{
	const char *path = c->dir_bind_password_file;
	char why[256];
	unsigned mode = 0;
	int r;

	*out = NULL;
	if (path == NULL) {
		snprintf(err, err_len, "no bind_password_file configured");
		return -ENOENT;
	}
	r = nap_read_secret_file(path, SITECONF_PASSWORD_MAX, out, &mode, why, sizeof(why));
	if (r == -EPERM && (mode & 077) != 0)
		snprintf(err, err_len,
			 "bind_password_file %s: mode %04o lets group or other "
			 "at it; refusing (chmod 600 it, owned by the daemon's user)",
			 path, mode);
	else if (r < 0)
		snprintf(err, err_len, "bind_password_file %s: %s", path, why);
	return r;
}
