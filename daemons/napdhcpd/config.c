// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * napdhcpd configuration: the INI file (inih) with [server], [napvd], [scope NAME] and
 * [class NAME] sections, every value checked, the sections checked against each other (pools
 * and reservations inside their subnet, no overlapping pools or subnets, renew < rebind <
 * lease), and the result printed back in normal form for "napdhcpd -n". The NAP keys of a scope
 * and the [napvd] section are handed to nap.c (dhcpd_scope_nap_set, dhcpd_nap_servers_set).
 * The file is trusted but typed by people: errors name the line. A failed parse leaves nothing
 * behind; reload relies on that.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nap/util.h"
#include "napdhcpd.h"

#define DHCPD_CONF_MAX_LEN  (4u << 20)

void
dhcpd_ip_format(uint32_t addr, char *out, size_t cap)
{
	snprintf(out, cap, "%u.%u.%u.%u", addr >> 24, (addr >> 16) & 255, (addr >> 8) & 255,
		 addr & 255);
}

static int
dhcpd_ip_parse(const char *s, uint32_t *out)
{
	struct in_addr in;

	if (inet_pton(AF_INET, s, &in) != 1)
		return -EINVAL;
	*out = ntohl(in.s_addr);
	return 0;
}

static uint32_t
dhcpd_prefix_mask(unsigned prefix)
{
	return prefix == 0 ? 0 : 0xffffffffu << (32 - prefix);
}

static int
dhcpd_cidr_parse(const char *s, uint32_t *net, uint8_t *prefix, bool strict)
{
	char buf[32], *slash, *end;
	unsigned long p;

	if (strlen(s) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, s);
	if ((slash = strchr(buf, '/')) == NULL)
		return -EINVAL;
	*slash++ = '\0';
	if (!isdigit((unsigned char)*slash))
		return -EINVAL;
	errno = 0;
	p = strtoul(slash, &end, 10);
	if (errno != 0 || *end != '\0' || p > 32)
		return -EINVAL;
	if (dhcpd_ip_parse(buf, net) < 0)
		return -EINVAL;
	if (strict && (*net & ~dhcpd_prefix_mask((unsigned)p)) != 0)
		return -EINVAL;
	*net &= dhcpd_prefix_mask((unsigned)p);
	*prefix = (uint8_t)p;
	return 0;
}

static int
dhcpd_mac_parse(const char *s, uint8_t mac[6])
{
	unsigned v[6];
	char sep = s[2], tail;

	if (sep != ':' && sep != '-')
		return -EINVAL;
	if (sep == ':' && sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3],
				 &v[4], &v[5], &tail) != 6)
		return -EINVAL;
	if (sep == '-' && sscanf(s, "%2x-%2x-%2x-%2x-%2x-%2x%c", &v[0], &v[1], &v[2], &v[3],
				 &v[4], &v[5], &tail) != 6)
		return -EINVAL;
	if (strlen(s) != 17)
		return -EINVAL;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)v[i];
	return 0;
}

static int
dhcpd_sockaddr_parse(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
	char host[64];
	const char *colon;
	char *end;
	unsigned long port;

	if (s[0] == '[') {
		const char *close = strchr(s, ']');
		struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;

		if (close == NULL || close[1] != ':' || (size_t)(close - s - 1) >= sizeof(host))
			return -EINVAL;
		memcpy(host, s + 1, (size_t)(close - s - 1));
		host[close - s - 1] = '\0';
		colon = close + 1;
		memset(ss, 0, sizeof(*ss));
		if (inet_pton(AF_INET6, host, &a6->sin6_addr) != 1)
			return -EINVAL;
		a6->sin6_family = AF_INET6;
		*len = sizeof(*a6);
	} else {
		struct sockaddr_in *a4 = (struct sockaddr_in *)ss;

		colon = strrchr(s, ':');
		if (colon == NULL || (size_t)(colon - s) >= sizeof(host))
			return -EINVAL;
		memcpy(host, s, (size_t)(colon - s));
		host[colon - s] = '\0';
		memset(ss, 0, sizeof(*ss));
		if (inet_pton(AF_INET, host, &a4->sin_addr) != 1)
			return -EINVAL;
		a4->sin_family = AF_INET;
		*len = sizeof(*a4);
	}
	if (!isdigit((unsigned char)colon[1]))
		return -EINVAL;
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (errno != 0 || *end != '\0' || port == 0 || port > 65535)
		return -EINVAL;
	if (ss->ss_family == AF_INET)
		((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)port);
	else
		((struct sockaddr_in6 *)ss)->sin6_port = htons((uint16_t)port);
	return 0;
}

static int
dhcpd_duration_parse(const char *s, uint32_t min, uint32_t max, uint32_t *out)
{
	int64_t v;

	if (nap_parse_duration(s, &v) < 0 || v < (int64_t)min || v > (int64_t)max)
		return -EINVAL;
	*out = (uint32_t)v;
	return 0;
}

static int
dhcpd_uint_parse(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

static char *
dhcpd_trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

/* ---- parser state ---- */

struct dhcpd_parse {
	struct dhcpd_config *c;
	char *err;
	size_t err_len;
	bool failed;
	struct dhcpd_scope *scope; /* the section being read */
	struct dhcpd_class *cls;
	bool napvd_section;
	size_t res_cap;
	bool seen_subnet[DHCPD_MAX_SCOPES];
};

__attribute__((format(printf, 2, 3))) static int
dhcpd_perr(struct dhcpd_parse *p, const char *fmt, ...)
{
	va_list ap;

	if (!p->failed) {
		va_start(ap, fmt);
		vsnprintf(p->err, p->err_len, fmt, ap);
		va_end(ap);
		p->failed = true;
	}
	return 0; /* inih: error on this line */
}

static int
dhcpd_strdup_into(char **dst, const char *v)
{
	char *s = strdup(v);

	if (s == NULL)
		return -ENOMEM;
	free(*dst);
	*dst = s;
	return 0;
}

typedef int dhcpd_item_cb(struct dhcpd_parse *p, const char *key, char *item, void *arg);

/* Split a value on sep characters and call cb for each non-empty item. */
static int
dhcpd_each(struct dhcpd_parse *p, const char *key, const char *value, const char *sep,
	   dhcpd_item_cb *cb, void *arg)
{
	char buf[1024], *save = NULL, *tok;

	if (strlen(value) >= sizeof(buf))
		return dhcpd_perr(p, "%s: value too long", key);
	strcpy(buf, value);
	for (tok = strtok_r(buf, sep, &save); tok != NULL; tok = strtok_r(NULL, sep, &save)) {
		tok = dhcpd_trim(tok);
		if (*tok == '\0')
			continue;
		if (cb(p, key, tok, arg) == 0)
			return 0;
	}
	return 1;
}

struct dhcpd_addr_list {
	uint32_t *v;
	size_t *n;
	size_t max;
};

static int
dhcpd_addr_cb(struct dhcpd_parse *p, const char *key, char *item, void *arg)
{
	struct dhcpd_addr_list *l = arg;
	uint32_t a;

	if (dhcpd_ip_parse(item, &a) < 0)
		return dhcpd_perr(p, "%s: bad IPv4 address \"%s\"", key, item);
	if (*l->n >= l->max)
		return dhcpd_perr(p, "%s: more than %zu addresses", key, l->max);
	l->v[(*l->n)++] = a;
	return 1;
}

static int
dhcpd_route_cb(struct dhcpd_parse *p, const char *key, char *item, void *arg)
{
	struct dhcpd_opts *o = arg;
	struct dhcpd_route rt;
	char *gw = strpbrk(item, " \t");

	if (gw == NULL)
		return dhcpd_perr(p, "%s: \"%s\": want DEST/PREFIX GATEWAY", key, item);
	*gw++ = '\0';
	gw = dhcpd_trim(gw);
	if (strncmp(gw, "via ", 4) == 0)
		gw = dhcpd_trim(gw + 4);
	if (dhcpd_cidr_parse(item, &rt.dest, &rt.prefix, true) < 0)
		return dhcpd_perr(p, "%s: bad destination \"%s\" (want A.B.C.D/N, host bits zero)",
				  key, item);
	if (dhcpd_ip_parse(gw, &rt.gw) < 0)
		return dhcpd_perr(p, "%s: bad gateway \"%s\"", key, gw);
	if (o->n_routes >= DHCPD_MAX_ROUTES)
		return dhcpd_perr(p, "%s: more than %d routes", key, DHCPD_MAX_ROUTES);
	o->routes[o->n_routes++] = rt;
	return 1;
}

static bool
dhcpd_domain_ok(const char *s)
{
	size_t n = strlen(s), label = 0;

	if (n == 0 || n > DHCPD_DOMAIN_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '.') {
			if (label == 0)
				return false;
			label = 0;
		} else if (isalnum((unsigned char)s[i]) || s[i] == '-' || s[i] == '_') {
			if (++label > 63)
				return false;
		} else {
			return false;
		}
	}
	return true;
}

/* Keys a scope and a class share. 1 = taken, 0 = error, 2 = not one of them. */
static int
dhcpd_key_opts(struct dhcpd_parse *p, struct dhcpd_opts *o, const char *name, const char *value)
{
	if (strcmp(name, "router") == 0 || strcmp(name, "routers") == 0) {
		struct dhcpd_addr_list l = {o->routers, &o->n_routers, DHCPD_MAX_ADDRS};

		return dhcpd_each(p, name, value, ", \t", dhcpd_addr_cb, &l);
	}
	if (strcmp(name, "dns") == 0) {
		struct dhcpd_addr_list l = {o->dns, &o->n_dns, DHCPD_MAX_ADDRS};

		return dhcpd_each(p, name, value, ", \t", dhcpd_addr_cb, &l);
	}
	if (strcmp(name, "domain") == 0) {
		if (!dhcpd_domain_ok(value))
			return dhcpd_perr(p, "domain: \"%s\" is not a domain name", value);
		strcpy(o->domain, value);
		return 1;
	}
	if (strcmp(name, "routes") == 0 || strcmp(name, "route") == 0)
		return dhcpd_each(p, name, value, ",", dhcpd_route_cb, o);
	if (strcmp(name, "lease_time") == 0) {
		if (dhcpd_duration_parse(value, 60, 0x7fffffff, &o->lease_time) < 0)
			return dhcpd_perr(p, "lease_time: bad duration \"%s\" (60s or more)", value);
		return 1;
	}
	return 2;
}

static int
dhcpd_range_cb(struct dhcpd_parse *p, const char *key, char *item, void *arg)
{
	struct dhcpd_scope *s = arg;
	char *dash = strchr(item, '-');
	struct dhcpd_range r;

	if (dash == NULL)
		return dhcpd_perr(p, "%s: \"%s\": want START-END", key, item);
	*dash++ = '\0';
	if (dhcpd_ip_parse(dhcpd_trim(item), &r.start) < 0 ||
	    dhcpd_ip_parse(dhcpd_trim(dash), &r.end) < 0)
		return dhcpd_perr(p, "%s: bad address range", key);
	if (r.start > r.end)
		return dhcpd_perr(p, "%s: range starts after it ends", key);
	if (s->n_ranges >= DHCPD_MAX_RANGES)
		return dhcpd_perr(p, "%s: more than %d ranges in a scope", key, DHCPD_MAX_RANGES);
	s->ranges[s->n_ranges++] = r;
	return 1;
}

static int
dhcpd_reservation_key(struct dhcpd_parse *p, struct dhcpd_scope *s, const char *value)
{
	char buf[256], *save = NULL, *mac, *ip, *host, *extra;
	struct dhcpd_reservation r = {0};

	if (strlen(value) >= sizeof(buf))
		return dhcpd_perr(p, "reservation: value too long");
	strcpy(buf, value);
	mac = strtok_r(buf, " \t", &save);
	ip = strtok_r(NULL, " \t", &save);
	host = strtok_r(NULL, " \t", &save);
	extra = strtok_r(NULL, " \t", &save);
	if (mac == NULL || ip == NULL || extra != NULL)
		return dhcpd_perr(p, "reservation: want MAC IP [HOSTNAME]");
	if (dhcpd_mac_parse(mac, r.mac) < 0)
		return dhcpd_perr(p, "reservation: bad MAC \"%s\" (aa:bb:cc:dd:ee:ff)", mac);
	if (dhcpd_ip_parse(ip, &r.addr) < 0)
		return dhcpd_perr(p, "reservation: bad IPv4 address \"%s\"", ip);
	if (host != NULL) {
		if (strlen(host) > DHCPD_NAME_MAX || !dhcpd_domain_ok(host))
			return dhcpd_perr(p, "reservation: bad host name \"%s\"", host);
		strcpy(r.hostname, host);
	}
	if (s->n_res == p->res_cap) {
		size_t cap = p->res_cap == 0 ? 16 : p->res_cap * 2;
		struct dhcpd_reservation *n = realloc(s->res, cap * sizeof(*n));

		if (n == NULL)
			return dhcpd_perr(p, "out of memory");
		s->res = n;
		p->res_cap = cap;
	}
	s->res[s->n_res++] = r;
	return 1;
}

static int
dhcpd_key_scope(struct dhcpd_parse *p, struct dhcpd_scope *s, const char *name, const char *value)
{
	char err[256];
	int r;

	r = dhcpd_key_opts(p, &s->opts, name, value);
	if (r != 2) {
		if (r == 1 && strcmp(name, "lease_time") == 0)
			s->lease_time = s->opts.lease_time;
		return r;
	}
	if (strcmp(name, "subnet") == 0) {
		if (dhcpd_cidr_parse(value, &s->net, &s->prefix, true) < 0 || s->prefix < 8 ||
		    s->prefix > 30)
			return dhcpd_perr(p, "subnet: \"%s\": want A.B.C.D/N with N 8..30 and the "
					     "host bits zero", value);
		s->mask = dhcpd_prefix_mask(s->prefix);
		s->broadcast = s->net | ~s->mask;
		p->seen_subnet[s - p->c->scopes] = true;
		return 1;
	}
	if (strcmp(name, "pool") == 0 || strcmp(name, "range") == 0)
		return dhcpd_each(p, name, value, ",", dhcpd_range_cb, s);
	if (strcmp(name, "reservation") == 0)
		return dhcpd_reservation_key(p, s, value);
	if (strcmp(name, "renew_time") == 0) {
		if (dhcpd_duration_parse(value, 1, 0x7fffffff, &s->renew_time) < 0)
			return dhcpd_perr(p, "renew_time: bad duration \"%s\"", value);
		return 1;
	}
	if (strcmp(name, "rebind_time") == 0) {
		if (dhcpd_duration_parse(value, 1, 0x7fffffff, &s->rebind_time) < 0)
			return dhcpd_perr(p, "rebind_time: bad duration \"%s\"", value);
		return 1;
	}
	if (strcmp(name, "server_id") == 0) {
		if (dhcpd_ip_parse(value, &s->server_id) < 0 || s->server_id == 0)
			return dhcpd_perr(p, "server_id: bad IPv4 address \"%s\"", value);
		return 1;
	}
	r = dhcpd_scope_nap_set(&s->nap, name, value, err, sizeof(err));
	if (r < 0)
		return dhcpd_perr(p, "%s", err);
	if (r == 0)
		return 1;
	return dhcpd_perr(p, "unknown key \"%s\" in [scope %s]", name, s->name);
}

static int
dhcpd_key_class(struct dhcpd_parse *p, struct dhcpd_class *cl, const char *name,
		const char *value)
{
	int r = dhcpd_key_opts(p, &cl->opts, name, value);

	if (r != 2)
		return r;
	return dhcpd_perr(p, "unknown key \"%s\" in [class %s] (router, dns, domain, routes, "
			     "lease_time)", name, cl->name);
}

static int
dhcpd_iface_cb(struct dhcpd_parse *p, const char *key, char *item, void *arg)
{
	struct dhcpd_config *c = p->c;

	(void)arg;
	if (strlen(item) >= 16)
		return dhcpd_perr(p, "%s: interface name \"%s\" too long", key, item);
	for (size_t i = 0; i < c->n_ifaces; i++)
		if (strcmp(c->ifaces[i], item) == 0)
			return dhcpd_perr(p, "%s: %s named twice", key, item);
	if (c->n_ifaces >= DHCPD_MAX_IFACES)
		return dhcpd_perr(p, "%s: more than %d interfaces", key, DHCPD_MAX_IFACES);
	if ((c->ifaces[c->n_ifaces] = strdup(item)) == NULL)
		return dhcpd_perr(p, "out of memory");
	c->n_ifaces++;
	return 1;
}

static int
dhcpd_listen_cb(struct dhcpd_parse *p, const char *key, char *item, void *arg)
{
	struct dhcpd_config *c = p->c;
	struct sockaddr_storage ss;
	socklen_t len;

	(void)arg;
	if (dhcpd_sockaddr_parse(item, &ss, &len) < 0 || ss.ss_family != AF_INET)
		return dhcpd_perr(p, "%s: bad address \"%s\" (want IPV4:PORT)", key, item);
	if (c->n_listen >= DHCPD_MAX_LISTEN)
		return dhcpd_perr(p, "%s: more than %d addresses", key, DHCPD_MAX_LISTEN);
	for (size_t i = 0; i < c->n_listen; i++)
		if (memcmp(&c->listen[i], &ss, sizeof(c->listen[i])) == 0)
			return dhcpd_perr(p, "%s: %s named twice", key, item);
	memcpy(&c->listen[c->n_listen++], &ss, sizeof(struct sockaddr_in));
	return 1;
}

/* HOST:PORT or [V6]:PORT with a numeric port (names resolve when napdhcpd starts). */
static int
dhcpd_hostport_cb(struct dhcpd_parse *p, const char *key, char *item, void *arg)
{
	const char *colon = strrchr(item, ':');
	char *end;
	unsigned long port;

	(void)arg;
	if (colon == NULL || colon == item || (item[0] == '[' && colon[-1] != ']') ||
	    (item[0] != '[' && strchr(item, ':') != colon) || !isdigit((unsigned char)colon[1]))
		return dhcpd_perr(p, "%s: \"%s\": want HOST:PORT or [IPV6]:PORT", key, item);
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (errno != 0 || *end != '\0' || port == 0 || port > 65535)
		return dhcpd_perr(p, "%s: \"%s\": bad port", key, item);
	return 1;
}

static int
dhcpd_key_server(struct dhcpd_parse *p, const char *name, const char *value)
{
	struct dhcpd_config *c = p->c;
	uint64_t u;

	if (strcmp(name, "interfaces") == 0 || strcmp(name, "interface") == 0)
		return dhcpd_each(p, name, value, ", \t", dhcpd_iface_cb, NULL);
	if (strcmp(name, "listen") == 0)
		return dhcpd_each(p, name, value, ", \t", dhcpd_listen_cb, NULL);
	if (strcmp(name, "user") == 0 || strcmp(name, "state_dir") == 0 ||
	    strcmp(name, "pidfile") == 0) {
		char **dst = name[0] == 'u' ? &c->user : name[0] == 's' ? &c->state_dir :
									&c->pidfile;

		if (*value == '\0')
			return dhcpd_perr(p, "%s: empty value", name);
		if (name[0] != 'u' && value[0] != '/')
			return dhcpd_perr(p, "%s: \"%s\" is not an absolute path", name, value);
		return dhcpd_strdup_into(dst, value) < 0 ? dhcpd_perr(p, "out of memory") : 1;
	}
	if (strcmp(name, "metrics") == 0) {
		if (dhcpd_sockaddr_parse(value, &c->metrics, &c->metrics_len) < 0)
			return dhcpd_perr(p, "metrics: bad address \"%s\" (want ADDR:PORT, e.g. "
					     "127.0.0.1:9867)", value);
		c->has_metrics = true;
		return 1;
	}
	if (strcmp(name, "server_id") == 0) {
		if (dhcpd_ip_parse(value, &c->server_id) < 0 || c->server_id == 0)
			return dhcpd_perr(p, "server_id: bad IPv4 address \"%s\"", value);
		return 1;
	}
	if (strcmp(name, "offer_timeout") == 0) {
		if (dhcpd_duration_parse(value, 1, 3600, &c->offer_timeout) < 0)
			return dhcpd_perr(p, "offer_timeout: bad duration \"%s\" (1s..1h)", value);
		return 1;
	}
	if (strcmp(name, "decline_time") == 0) {
		if (dhcpd_duration_parse(value, 1, 7 * 86400, &c->decline_time) < 0)
			return dhcpd_perr(p, "decline_time: bad duration \"%s\" (1s..7d)", value);
		return 1;
	}
	if (strcmp(name, "min_lease") == 0) {
		if (dhcpd_duration_parse(value, 1, 86400, &c->min_lease) < 0)
			return dhcpd_perr(p, "min_lease: bad duration \"%s\" (1s..1d)", value);
		return 1;
	}
	if (strcmp(name, "pending_max") == 0) {
		if (dhcpd_uint_parse(value, 1, 1u << 20, &u) < 0)
			return dhcpd_perr(p, "pending_max: want 1..1048576");
		c->pending_max = (size_t)u;
		return 1;
	}
	if (strcmp(name, "journal_compact") == 0) {
		if (dhcpd_uint_parse(value, 16, 1u << 30, &u) < 0)
			return dhcpd_perr(p, "journal_compact: want 16..2^30 records");
		c->journal_compact = (uint32_t)u;
		return 1;
	}
	return dhcpd_perr(p, "unknown key \"%s\" in [server]", name);
}

static int
dhcpd_name_ok(const char *s)
{
	if (*s == '\0' || strlen(s) > DHCPD_NAME_MAX)
		return 0;
	for (; *s != '\0'; s++)
		if (!isalnum((unsigned char)*s) && strchr("-_.", *s) == NULL)
			return 0;
	return 1;
}

static int
dhcpd_ini_handler(void *user, const char *section, const char *name, const char *value)
{
	struct dhcpd_parse *p = user;
	struct dhcpd_config *c = p->c;
	char sec[128], *arg, *val;
	int r;

	if (p->failed)
		return 0;
	if (strlen(section) >= sizeof(sec))
		return dhcpd_perr(p, "section name too long");
	strcpy(sec, section);
	if ((arg = strchr(sec, ' ')) != NULL) {
		*arg++ = '\0';
		arg = dhcpd_trim(arg);
	}
	if ((val = strdup(value != NULL ? value : "")) == NULL)
		return dhcpd_perr(p, "out of memory");
	value = dhcpd_trim(val);
	/* Values may be quoted ("MSFT Quarantine"). */
	if (value[0] == '"' && strlen(value) >= 2 && value[strlen(value) - 1] == '"') {
		val[strlen(val) - 1] = '\0';
		value++;
	}
	if (strcmp(sec, "server") == 0 && arg == NULL) {
		r = dhcpd_key_server(p, name, value);
	} else if (strcmp(sec, "napvd") == 0 && arg == NULL) {
		char err[256];

		c->has_napvd = true;
		if (strcmp(name, "server") == 0 &&
		    dhcpd_each(p, name, value, ", \t", dhcpd_hostport_cb, NULL) == 0) {
			r = 0;
			goto out;
		}
		r = dhcpd_nap_servers_set(&c->napvd, name, value, err, sizeof(err));
		if (r < 0)
			r = dhcpd_perr(p, "%s", err);
		else if (r == 1)
			r = dhcpd_perr(p, "unknown key \"%s\" in [napvd]", name);
		else
			r = 1;
	} else if (strcmp(sec, "scope") == 0 && arg != NULL) {
		if (!dhcpd_name_ok(arg)) {
			r = dhcpd_perr(p, "[scope %s]: bad name (letters, digits, - _ .)", arg);
		} else {
			struct dhcpd_scope *s = NULL;

			for (size_t i = 0; i < c->n_scopes; i++)
				if (strcmp(c->scopes[i].name, arg) == 0)
					s = &c->scopes[i];
			if (s == NULL && c->n_scopes >= DHCPD_MAX_SCOPES) {
				r = dhcpd_perr(p, "more than %d scopes", DHCPD_MAX_SCOPES);
				goto out;
			}
			if (s == NULL) {
				s = &c->scopes[c->n_scopes++];
				strcpy(s->name, arg);
				dhcpd_scope_nap_init(&s->nap);
			}
			if (s != p->scope)
				p->res_cap = s->n_res; /* realloc grows from the exact size */
			p->scope = s;
			r = dhcpd_key_scope(p, s, name, value);
		}
	} else if (strcmp(sec, "class") == 0 && arg != NULL) {
		struct dhcpd_class *cl = NULL;

		if (strlen(arg) > DHCPD_NAME_MAX) {
			r = dhcpd_perr(p, "[class %s]: name too long", arg);
			goto out;
		}
		for (size_t i = 0; i < c->n_classes; i++)
			if (strcmp(c->classes[i].name, arg) == 0)
				cl = &c->classes[i];
		if (cl == NULL && c->n_classes >= DHCPD_MAX_CLASSES) {
			r = dhcpd_perr(p, "more than %d classes", DHCPD_MAX_CLASSES);
			goto out;
		}
		if (cl == NULL) {
			cl = &c->classes[c->n_classes++];
			strcpy(cl->name, arg);
		}
		r = dhcpd_key_class(p, cl, name, value);
	} else if (*section == '\0') {
		r = dhcpd_perr(p, "key \"%s\" outside a section", name);
	} else {
		r = dhcpd_perr(p, "unknown section [%s] (server, napvd, scope NAME, class NAME)",
			       section);
	}
out:
	free(val);
	return r;
}

static struct dhcpd_config *
dhcpd_config_new(void)
{
	struct dhcpd_config *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	c->scopes = calloc(DHCPD_MAX_SCOPES, sizeof(*c->scopes));
	c->classes = calloc(DHCPD_MAX_CLASSES, sizeof(*c->classes));
	if (c->scopes == NULL || c->classes == NULL) {
		free(c->scopes);
		free(c->classes);
		free(c);
		return NULL;
	}
	c->offer_timeout = 30;
	c->decline_time = 600;
	c->min_lease = 60;
	c->pending_max = DHCPD_PENDING_DEFAULT;
	c->journal_compact = 10000;
	dhcpd_nap_servers_init(&c->napvd);
	return c;
}

void
dhcpd_config_free(struct dhcpd_config *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < c->n_ifaces; i++)
		free(c->ifaces[i]);
	for (size_t i = 0; i < c->n_scopes; i++)
		free(c->scopes[i].res);
	free(c->scopes);
	free(c->classes);
	free(c->path);
	free(c->user);
	free(c->state_dir);
	free(c->pidfile);
	free(c);
}

static int
dhcpd_res_cmp(const void *a, const void *b)
{
	return memcmp(((const struct dhcpd_reservation *)a)->mac,
		      ((const struct dhcpd_reservation *)b)->mac, 6);
}

static bool
dhcpd_in_subnet(const struct dhcpd_scope *s, uint32_t a)
{
	return (a & s->mask) == s->net;
}

static const char *
dhcpd_ip_str(uint32_t a, char *buf)
{
	dhcpd_ip_format(a, buf, 16);
	return buf;
}

/* Checks across keys and sections. 1 = fine, 0 = error (in p->err). */
static int
dhcpd_config_finish(struct dhcpd_parse *p)
{
	struct dhcpd_config *c = p->c;
	uint64_t total = 0;
	char a[16], b[16];

	if (c->state_dir == NULL && dhcpd_strdup_into(&c->state_dir, DHCPD_DEFAULT_STATE_DIR) < 0)
		return dhcpd_perr(p, "out of memory");
	if (c->n_ifaces == 0 && c->n_listen == 0)
		return dhcpd_perr(p, "[server]: interfaces or listen is required");
	if (c->n_scopes == 0)
		return dhcpd_perr(p, "no [scope NAME] section: napdhcpd would hand out nothing");
	for (size_t i = 0; i < c->n_scopes; i++) {
		struct dhcpd_scope *s = &c->scopes[i];

		if (!p->seen_subnet[i])
			return dhcpd_perr(p, "[scope %s]: subnet is required", s->name);
		if (s->lease_time == 0)
			s->lease_time = 3600;
		s->opts.lease_time = s->lease_time;
		if (s->renew_time != 0 && s->renew_time >= s->lease_time)
			return dhcpd_perr(p, "[scope %s]: renew_time must be shorter than lease_time",
					  s->name);
		if (s->rebind_time != 0 && s->rebind_time >= s->lease_time)
			return dhcpd_perr(p, "[scope %s]: rebind_time must be shorter than "
					     "lease_time", s->name);
		if (s->renew_time != 0 && s->rebind_time != 0 && s->renew_time >= s->rebind_time)
			return dhcpd_perr(p, "[scope %s]: renew_time must be shorter than "
					     "rebind_time", s->name);
		if (s->n_ranges == 0 && s->n_res == 0)
			return dhcpd_perr(p, "[scope %s]: no pool and no reservation", s->name);
		for (size_t j = 0; j < s->n_ranges; j++) {
			const struct dhcpd_range *r = &s->ranges[j];

			if (!dhcpd_in_subnet(s, r->start) || !dhcpd_in_subnet(s, r->end))
				return dhcpd_perr(p, "[scope %s]: pool %s-%s is not inside subnet "
						     "%s/%u", s->name, dhcpd_ip_str(r->start, a),
						  dhcpd_ip_str(r->end, b),
						  dhcpd_ip_str(s->net, a), s->prefix);
			total += (uint64_t)r->end - r->start + 1;
		}
		for (size_t j = 0; j < s->opts.n_routers; j++)
			if (!dhcpd_in_subnet(s, s->opts.routers[j]))
				return dhcpd_perr(p, "[scope %s]: router %s is not inside the "
						     "subnet", s->name,
						  dhcpd_ip_str(s->opts.routers[j], a));
		if (s->server_id != 0 && !dhcpd_in_subnet(s, s->server_id))
			return dhcpd_perr(p, "[scope %s]: server_id %s is not inside the subnet",
					  s->name, dhcpd_ip_str(s->server_id, a));
		if (s->n_res > 1)
			qsort(s->res, s->n_res, sizeof(*s->res), dhcpd_res_cmp);
		for (size_t j = 0; j < s->n_res; j++) {
			const struct dhcpd_reservation *r = &s->res[j];

			if (!dhcpd_in_subnet(s, r->addr) || r->addr == s->net ||
			    r->addr == s->broadcast)
				return dhcpd_perr(p, "[scope %s]: reservation %s is not a host "
						     "address of subnet %s/%u", s->name,
						  dhcpd_ip_str(r->addr, a),
						  dhcpd_ip_str(s->net, b), s->prefix);
			if (j > 0 && memcmp(s->res[j - 1].mac, r->mac, 6) == 0)
				return dhcpd_perr(p, "[scope %s]: two reservations for MAC "
						     "%02x:%02x:%02x:%02x:%02x:%02x", s->name,
						  r->mac[0], r->mac[1], r->mac[2], r->mac[3],
						  r->mac[4], r->mac[5]);
			for (size_t k = 0; k < j; k++)
				if (s->res[k].addr == r->addr)
					return dhcpd_perr(p, "[scope %s]: address %s reserved "
							     "twice", s->name,
							  dhcpd_ip_str(r->addr, a));
			for (size_t k = 0; k < s->opts.n_routers; k++)
				if (s->opts.routers[k] == r->addr)
					return dhcpd_perr(p, "[scope %s]: reservation %s is the "
							     "router's address", s->name,
							  dhcpd_ip_str(r->addr, a));
		}
		total += s->n_res;
		/* Pools of this scope against each other and against other scopes. */
		for (size_t k = 0; k <= i; k++) {
			const struct dhcpd_scope *o = &c->scopes[k];

			if (k < i && (s->net & o->mask) == o->net)
				return dhcpd_perr(p, "[scope %s] and [scope %s]: subnets overlap",
						  o->name, s->name);
			if (k < i && (o->net & s->mask) == s->net)
				return dhcpd_perr(p, "[scope %s] and [scope %s]: subnets overlap",
						  o->name, s->name);
			for (size_t x = 0; x < s->n_ranges; x++)
				for (size_t y = 0; y < o->n_ranges; y++) {
					const struct dhcpd_range *r1 = &s->ranges[x];
					const struct dhcpd_range *r2 = &o->ranges[y];

					if (k == i && y >= x)
						break;
					if (r1->start <= r2->end && r2->start <= r1->end)
						return dhcpd_perr(p, "[scope %s]: pools %s-%s and "
								     "%s-... overlap", s->name,
								  dhcpd_ip_str(r1->start, a),
								  dhcpd_ip_str(r1->end, b),
								  dhcpd_ip_str(r2->start, a));
				}
		}
		if (s->nap.restricted_lease_time > s->lease_time)
			s->nap.restricted_lease_time = s->lease_time;
	}
	if (total > DHCPD_MAX_POOL_ADDRS)
		return dhcpd_perr(p, "the pools hold %" PRIu64 " addresses (at most %u)", total,
				  DHCPD_MAX_POOL_ADDRS);
	return 1;
}

/* inih cuts long lines silently; refuse them instead. */
int
dhcpd_config_parse_string(const char *text, const char *name, struct dhcpd_config **out,
			  char *err, size_t err_len)
{
	struct dhcpd_parse *p;
	char msg[512];
	int line, r = 0;

	*out = NULL;
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return -ENOMEM;
	p->err = err;
	p->err_len = err_len;
	if ((p->c = dhcpd_config_new()) == NULL) {
		free(p);
		return -ENOMEM;
	}
	{
		char why[64];
		int ln, rc = nap_conf_text_check(text, NAP_CONF_LINE_MAX, &ln, why, sizeof(why));

		if (rc < 0) {
			snprintf(err, err_len, "%s: line %d: %s%s", name, ln, why,
				 rc == -E2BIG ? " (repeat the key instead)" : "");
			r = -EINVAL;
			goto fail;
		}
	}
	line = ini_parse_string(text, dhcpd_ini_handler, p);
	if (line != 0 || p->failed) {
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
	if (dhcpd_config_finish(p) == 0) {
		snprintf(msg, sizeof(msg), "%s", err);
		snprintf(err, err_len, "%s: %s", name, msg);
		r = -EINVAL;
		goto fail;
	}
	if (dhcpd_strdup_into(&p->c->path, name) < 0) {
		r = -ENOMEM;
		goto fail;
	}
	*out = p->c;
	free(p);
	return 0;
fail:
	dhcpd_config_free(p->c);
	free(p);
	return r;
}

int
dhcpd_config_parse_file(const char *path, struct dhcpd_config **out, char *err, size_t err_len)
{
	char *text;
	int r;

	*out = NULL;
	if ((r = nap_read_text_file(path, DHCPD_CONF_MAX_LEN, &text, NULL, err, err_len)) < 0)
		return r;
	r = dhcpd_config_parse_string(text, path, out, err, err_len);
	free(text);
	return r;
}

/* ---- lookups ---- */

const struct dhcpd_scope *
dhcpd_scope_for(const struct dhcpd_config *c, uint32_t addr)
{
	for (size_t i = 0; i < c->n_scopes; i++)
		if ((addr & c->scopes[i].mask) == c->scopes[i].net)
			return &c->scopes[i];
	return NULL;
}

const struct dhcpd_class *
dhcpd_class_find(const struct dhcpd_config *c, const char *name)
{
	for (size_t i = 0; i < c->n_classes; i++)
		if (strcmp(c->classes[i].name, name) == 0)
			return &c->classes[i];
	return NULL;
}

const struct dhcpd_reservation *
dhcpd_reservation_by_mac(const struct dhcpd_scope *s, const uint8_t mac[6])
{
	struct dhcpd_reservation key;

	if (s->n_res == 0)
		return NULL;
	memcpy(key.mac, mac, 6);
	return bsearch(&key, s->res, s->n_res, sizeof(*s->res), dhcpd_res_cmp);
}

/* ---- printing back ---- */

static void
dhcpd_print_addrs(FILE *f, const char *key, const uint32_t *v, size_t n)
{
	char a[16];

	if (n == 0)
		return;
	fprintf(f, "%s =", key);
	for (size_t i = 0; i < n; i++)
		fprintf(f, " %s", dhcpd_ip_str(v[i], a));
	fprintf(f, "\n");
}

static void
dhcpd_print_opts(FILE *f, const struct dhcpd_opts *o, bool with_lease)
{
	char a[16], b[16];

	dhcpd_print_addrs(f, "router", o->routers, o->n_routers);
	dhcpd_print_addrs(f, "dns", o->dns, o->n_dns);
	if (o->domain[0] != '\0')
		fprintf(f, "domain = %s\n", o->domain);
	for (size_t i = 0; i < o->n_routes; i++)
		fprintf(f, "route = %s/%u %s\n", dhcpd_ip_str(o->routes[i].dest, a),
			o->routes[i].prefix, dhcpd_ip_str(o->routes[i].gw, b));
	if (with_lease && o->lease_time != 0)
		fprintf(f, "lease_time = %" PRIu32 "s\n", o->lease_time);
}

void
dhcpd_config_print(const struct dhcpd_config *c, FILE *f)
{
	char a[16], b[16], host[INET6_ADDRSTRLEN];

	fprintf(f, "[server]\n");
	if (c->n_ifaces > 0) {
		fprintf(f, "interfaces =");
		for (size_t i = 0; i < c->n_ifaces; i++)
			fprintf(f, " %s", c->ifaces[i]);
		fprintf(f, "\n");
	}
	for (size_t i = 0; i < c->n_listen; i++)
		fprintf(f, "listen = %s:%u\n",
			dhcpd_ip_str(ntohl(c->listen[i].sin_addr.s_addr), a),
			ntohs(c->listen[i].sin_port));
	if (c->user != NULL)
		fprintf(f, "user = %s\n", c->user);
	fprintf(f, "state_dir = %s\n", c->state_dir);
	if (c->pidfile != NULL)
		fprintf(f, "pidfile = %s\n", c->pidfile);
	if (c->has_metrics) {
		if (c->metrics.ss_family == AF_INET) {
			const struct sockaddr_in *m = (const struct sockaddr_in *)&c->metrics;

			inet_ntop(AF_INET, &m->sin_addr, host, sizeof(host));
			fprintf(f, "metrics = %s:%u\n", host, ntohs(m->sin_port));
		} else {
			const struct sockaddr_in6 *m = (const struct sockaddr_in6 *)&c->metrics;

			inet_ntop(AF_INET6, &m->sin6_addr, host, sizeof(host));
			fprintf(f, "metrics = [%s]:%u\n", host, ntohs(m->sin6_port));
		}
	}
	if (c->server_id != 0)
		fprintf(f, "server_id = %s\n", dhcpd_ip_str(c->server_id, a));
	fprintf(f, "offer_timeout = %" PRIu32 "s\n", c->offer_timeout);
	fprintf(f, "decline_time = %" PRIu32 "s\n", c->decline_time);
	fprintf(f, "min_lease = %" PRIu32 "s\n", c->min_lease);
	fprintf(f, "pending_max = %zu\n", c->pending_max);
	fprintf(f, "journal_compact = %" PRIu32 "\n", c->journal_compact);
	if (c->has_napvd) {
		const struct dhcpd_nap_servers *s = &c->napvd;

		fprintf(f, "\n[napvd]\n");
		for (size_t i = 0; i < s->n_servers; i++)
			fprintf(f, "server = %s\n", s->server[i]);
		if (s->secret_file[0] != '\0')
			fprintf(f, "secret_file = %s\n", s->secret_file);
		fprintf(f, "timeout = %" PRIu32 "ms\n", s->timeout_ms);
		fprintf(f, "retries = %" PRIu32 "\n", s->retries);
		fprintf(f, "holddown = %" PRIu32 "s\n", s->holddown_ms / 1000);
		fprintf(f, "nas_identifier = %s\n", s->nas_identifier);
		if (s->has_nas_ip)
			fprintf(f, "nas_ip = %u.%u.%u.%u\n", s->nas_ip[0], s->nas_ip[1],
				s->nas_ip[2], s->nas_ip[3]);
		fprintf(f, "verdict_cache_size = %zu\n", s->cache_size);
	}
	for (size_t i = 0; i < c->n_scopes; i++) {
		const struct dhcpd_scope *s = &c->scopes[i];
		const struct dhcpd_scope_nap *n = &s->nap;

		fprintf(f, "\n[scope %s]\n", s->name);
		fprintf(f, "subnet = %s/%u\n", dhcpd_ip_str(s->net, a), s->prefix);
		for (size_t j = 0; j < s->n_ranges; j++)
			fprintf(f, "pool = %s-%s\n", dhcpd_ip_str(s->ranges[j].start, a),
				dhcpd_ip_str(s->ranges[j].end, b));
		dhcpd_print_opts(f, &s->opts, false);
		fprintf(f, "lease_time = %" PRIu32 "s\n", s->lease_time);
		fprintf(f, "renew_time = %" PRIu32 "s\n",
			s->renew_time != 0 ? s->renew_time : s->lease_time / 2);
		fprintf(f, "rebind_time = %" PRIu32 "s\n",
			s->rebind_time != 0 ? s->rebind_time : s->lease_time / 8 * 7);
		if (s->server_id != 0)
			fprintf(f, "server_id = %s\n", dhcpd_ip_str(s->server_id, a));
		for (size_t j = 0; j < s->n_res; j++) {
			const struct dhcpd_reservation *r = &s->res[j];

			fprintf(f, "reservation = %02x:%02x:%02x:%02x:%02x:%02x %s%s%s\n",
				r->mac[0], r->mac[1], r->mac[2], r->mac[3], r->mac[4], r->mac[5],
				dhcpd_ip_str(r->addr, a), r->hostname[0] ? " " : "", r->hostname);
		}
		fprintf(f, "nap = %s\n", n->enabled ? "on" : "off");
		fprintf(f, "nap_incapable = %s\n", dhcpd_nap_mode_name(n->incapable));
		fprintf(f, "nap_fail = %s\n", dhcpd_nap_mode_name(n->fail));
		for (size_t j = 0; j < n->n_exempt_macs; j++)
			fprintf(f, "exempt_mac = %02x:%02x:%02x:%02x:%02x:%02x\n",
				n->exempt_macs[j][0], n->exempt_macs[j][1], n->exempt_macs[j][2],
				n->exempt_macs[j][3], n->exempt_macs[j][4], n->exempt_macs[j][5]);
		if (n->n_exempt_classes == 0)
			fprintf(f, "exempt_user_class = none\n");
		for (size_t j = 0; j < n->n_exempt_classes; j++)
			fprintf(f, "exempt_user_class = \"%s\"\n", n->exempt_classes[j]);
		fprintf(f, "restricted_lease_time = %" PRIu32 "s\n", n->restricted_lease_time);
		fprintf(f, "verdict_cache_ttl = %" PRIu32 "s\n", n->cache_ttl);
		if (n->service_class[0] != '\0')
			fprintf(f, "service_class = %s\n", n->service_class);
		for (size_t j = 0; j < n->n_remediation; j++)
			fprintf(f, "nap_remediation = %u.%u.%u.%u\n", n->remediation[j][0],
				n->remediation[j][1], n->remediation[j][2], n->remediation[j][3]);
	}
	for (size_t i = 0; i < c->n_classes; i++) {
		fprintf(f, "\n[class %s]\n", c->classes[i].name);
		dhcpd_print_opts(f, &c->classes[i].opts, true);
	}
}
