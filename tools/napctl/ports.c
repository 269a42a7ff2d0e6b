// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * The port matrix of DESIGN.md §1 filled in for one deployment, and the nftables ruleset that
 * opens exactly it for a host's roles. The inputs are napsited.conf (already checked by its
 * parser) and the store's SHV points; the only outside access is name resolution in
 * ports_firewall(), whose rules need addresses.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <ldap.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "nap/siteconf.h"
#include "nap/util.h"

#include "ports.h"

static const struct {
	unsigned bit;
	const char *name;
	const char *title;
} ports_roles[] = {
	{PORTS_SITE, "site", "site server"}, {PORTS_DIRECTORY, "directory", "directory"},
	{PORTS_SHV, "shv", "SHV point"},     {PORTS_DHCP, "dhcp", "DHCP server"},
	{PORTS_HRA, "hra", "HRA"},           {PORTS_CLIENT, "client", "client"},
	{PORTS_ADMIN, "admin", "admin"},
};

const char *
ports_role_name(unsigned role_bit)
{
	for (size_t i = 0; i < NAP_ARRAY_SIZE(ports_roles); i++)
		if (ports_roles[i].bit == role_bit)
			return ports_roles[i].name;
	return NULL;
}

const char *
ports_role_title(unsigned roles)
{
	if (roles == (PORTS_DHCP | PORTS_HRA))
		return "enforcement point";
	for (size_t i = 0; i < NAP_ARRAY_SIZE(ports_roles); i++)
		if (ports_roles[i].bit == roles)
			return ports_roles[i].title;
	return "?";
}

int
ports_roles_parse(const char *s, unsigned *mask)
{
	const char *p = s;

	*mask = 0;
	while (*p != '\0') {
		size_t n = strcspn(p, ",");
		size_t i;

		for (i = 0; i < NAP_ARRAY_SIZE(ports_roles); i++)
			if (strlen(ports_roles[i].name) == n &&
			    strncmp(p, ports_roles[i].name, n) == 0)
				break;
		if (i == NAP_ARRAY_SIZE(ports_roles))
			return -EINVAL;
		*mask |= ports_roles[i].bit;
		p += n;
		if (*p == ',' && *++p == '\0')
			return -EINVAL;
	}
	return *mask != 0 ? 0 : -EINVAL;
}

/* ---- building the matrix ---- */

struct ports_build {
	struct ports_matrix *m;
	char *err;
	size_t errlen;
};

static struct ports_row *
row_add(struct ports_build *b, unsigned from, unsigned to, const char *purpose, const char *parts,
	enum ports_proto proto, uint16_t port, const char *host)
{
	struct ports_matrix *m = b->m;
	struct ports_row *r;

	if (m->n == m->cap) {
		size_t cap = m->cap != 0 ? 2 * m->cap : 16;
		struct ports_row *v = realloc(m->rows, cap * sizeof(*v));

		if (v == NULL) {
			snprintf(b->err, b->errlen, "out of memory");
			return NULL;
		}
		m->rows = v;
		m->cap = cap;
	}
	r = &m->rows[m->n++];
	memset(r, 0, sizeof(*r));
	r->from = from;
	r->to = to;
	r->purpose = purpose;
	r->parts = parts;
	r->proto = proto;
	r->port = port;
	snprintf(r->host, sizeof(r->host), "%s", host != NULL ? host : "");
	return r;
}

/* Host and port of an ldap:// or ldaps:// URI (an empty host is the local one); -EINVAL for
 * ldapi:// (a local socket, no port) and what libldap cannot parse. */
static int
ldap_uri_hostport(const char *uri, char *host, size_t cap, uint16_t *port)
{
	LDAPURLDesc *lud = NULL;
	int r = 0;

	if (ldap_url_parse(uri, &lud) != LDAP_URL_SUCCESS)
		return -EINVAL;
	if (lud->lud_scheme == NULL || strcasecmp(lud->lud_scheme, "ldapi") == 0) {
		r = -EINVAL;
	} else {
		bool tls = strcasecmp(lud->lud_scheme, "ldaps") == 0;

		snprintf(host, cap, "%s",
			 lud->lud_host != NULL && *lud->lud_host != '\0' ? lud->lud_host
									 : "localhost");
		*port = lud->lud_port > 0 ? (uint16_t)lud->lud_port : tls ? 636 : 389;
	}
	ldap_free_urldesc(lud);
	return r;
}

static bool
ports_has_url(const struct ports_matrix *m, enum ports_probe probe, const char *url)
{
	for (size_t i = 0; i < m->n; i++)
		if (m->rows[i].probe == probe && strcasecmp(m->rows[i].url, url) == 0)
			return true;
	return false;
}

static int
gc_row(struct ports_build *b, const char *uri, const char *source)
{
	char host[PORTS_HOST_MAX];
	struct ports_row *r;
	uint16_t port;

	if (ldap_uri_hostport(uri, host, sizeof(host), &port) < 0 ||
	    ports_has_url(b->m, PORTS_PROBE_GC, uri))
		return 0;
	r = row_add(b, PORTS_SHV, PORTS_DIRECTORY, "read the HSR (global catalog)",
		    "napvd -> slapd / AD", PORTS_TCP, port, host);
	if (r == NULL)
		return -ENOMEM;
	r->probe = PORTS_PROBE_GC;
	snprintf(r->url, sizeof(r->url), "%s", uri);
	snprintf(r->source, sizeof(r->source), "%s", source);
	return 0;
}

static int
gc_rows_from_list(struct ports_build *b, const char *list, const char *source)
{
	char *buf = strdup(list), *save = NULL, *tok;
	int r = 0;

	if (buf == NULL)
		return -ENOMEM;
	for (tok = strtok_r(buf, ", \t", &save); tok != NULL && r == 0;
	     tok = strtok_r(NULL, ", \t", &save))
		r = gc_row(b, tok, source);
	free(buf);
	return r;
}

/* The site server's address as its peers use it: [deployment] site_host, else the [agent] or
 * [web] listen address unless it is a wildcard. "" when unknown. */
static void
site_host(const struct nap_siteconf *c, char *out, size_t cap)
{
	const char *listen[] = {c->has_agent ? c->agent_listen : NULL,
				c->has_web ? c->web_listen : NULL};

	out[0] = '\0';
	if (c->dep_site_host != NULL) {
		snprintf(out, cap, "%s", c->dep_site_host);
		return;
	}
	for (size_t i = 0; i < NAP_ARRAY_SIZE(listen); i++) {
		uint16_t port;

		if (listen[i] == NULL || nap_siteconf_hostport(listen[i], out, cap, &port, 0) < 0)
			continue;
		if (strcmp(out, "0.0.0.0") != 0 && strcmp(out, "::") != 0)
			return;
		out[0] = '\0';
	}
}

static uint16_t
listen_port(const char *listen)
{
	char host[PORTS_HOST_MAX];
	uint16_t port = 0;

	if (nap_siteconf_hostport(listen, host, sizeof(host), &port, 0) < 0)
		return 0;
	return port;
}

/* "[v6]:port" or "host:port" for a URL. */
static void
hostport_text(const char *host, uint16_t port, char *out, size_t cap)
{
	if (strchr(host, ':') != NULL)
		snprintf(out, cap, "[%s]:%u", host, port);
	else
		snprintf(out, cap, "%s:%u", host, port);
}

int
ports_matrix_build(const struct nap_siteconf *c, const struct ports_shv *shv, size_t n_shv,
		   struct ports_matrix *m, char *err, size_t errlen)
{
	struct ports_build b = {.m = m, .err = err, .errlen = errlen};
	char host[PORTS_HOST_MAX], scheme[16], site[PORTS_HOST_MAX], hp[PORTS_HOST_MAX + 8];
	struct ports_row *r;
	uint16_t port;
	bool shv_gc = false;

	memset(m, 0, sizeof(*m));
	site_host(c, site, sizeof(site));
	/* site server -> directory */
	for (size_t i = 0; c->has_directory && i < c->n_dir_uri; i++) {
		if (ldap_uri_hostport(c->dir_uri[i], host, sizeof(host), &port) < 0)
			continue; /* ldapi://: a local socket, no port to open */
		r = row_add(&b, PORTS_SITE, PORTS_DIRECTORY,
			    "publish the health state reference (HSR)", "napsited -> slapd / AD",
			    PORTS_TCP, port, host);
		if (r == NULL)
			return -ENOMEM;
		r->probe = PORTS_PROBE_LDAP;
		snprintf(r->url, sizeof(r->url), "%s", c->dir_uri[i]);
		snprintf(r->source, sizeof(r->source), "[directory] uri");
	}
	/* SHV point -> global catalog: each point's managed URIs, else [deployment] gc, else the
	 * site server's own directory. */
	for (size_t i = 0; i < n_shv; i++) {
		char src[PORTS_URL_MAX];

		if (shv[i].gc_uris == NULL)
			continue;
		shv_gc = true;
		snprintf(src, sizeof(src), "SHV point %s [hsr] uri", shv[i].host);
		if (gc_rows_from_list(&b, shv[i].gc_uris, src) < 0)
			goto nomem;
	}
	if (!shv_gc) {
		for (size_t i = 0; i < c->n_dep_gc; i++)
			if (gc_row(&b, c->dep_gc[i], "[deployment] gc") < 0)
				goto nomem;
		for (size_t i = 0; c->n_dep_gc == 0 && c->has_directory && i < c->n_dir_uri; i++)
			if (gc_row(&b, c->dir_uri[i], "[directory] uri (no [deployment] gc)") < 0)
				goto nomem;
	}
	/* site server -> SHV point: its configuration share */
	for (size_t i = 0; i < n_shv; i++) {
		if (nap_siteconf_url_hostport(shv[i].url, scheme, sizeof(scheme), host,
					      sizeof(host), &port) < 0 ||
		    strcmp(scheme, "smb") != 0) {
			snprintf(err, errlen,
				 "SHV point %s: url \"%s\" is not smb://HOST[:PORT]/SHARE",
				 shv[i].host, shv[i].url);
			return -EINVAL;
		}
		r = row_add(&b, PORTS_SITE, PORTS_SHV, "install and configure the SHV point",
			    "napsited -> smbd on the napvd host", PORTS_TCP, port, host);
		if (r == NULL)
			return -ENOMEM;
		r->probe = PORTS_PROBE_SMB;
		snprintf(r->url, sizeof(r->url), "%s", shv[i].url);
		snprintf(r->credentials, sizeof(r->credentials), "%s",
			 shv[i].credentials != NULL ? shv[i].credentials : "");
		snprintf(r->source, sizeof(r->source), "SHV point %s", shv[i].host);
	}
	/* SHV point -> site server: status messages */
	if (c->dep_inbox_url != NULL) {
		if (nap_siteconf_url_hostport(c->dep_inbox_url, scheme, sizeof(scheme), host,
					      sizeof(host), &port) < 0)
			return -EINVAL; /* the parser took it: cannot happen */
		r = row_add(&b, PORTS_SHV, PORTS_SITE, "status messages",
			    "napvd -> smbd on the napsited host", PORTS_TCP, port, host);
		if (r == NULL)
			return -ENOMEM;
		r->probe = PORTS_PROBE_SMB;
		snprintf(r->url, sizeof(r->url), "%s", c->dep_inbox_url);
		snprintf(r->credentials, sizeof(r->credentials), "%s",
			 c->dep_inbox_credentials != NULL ? c->dep_inbox_credentials : "");
		snprintf(r->source, sizeof(r->source), "[deployment] inbox_url");
	}
	/* client <-> DHCP server */
	for (size_t i = 0; i < c->n_dep_dhcp; i++) {
		if (nap_siteconf_hostport(c->dep_dhcp[i], host, sizeof(host), &port, 67) < 0)
			return -EINVAL;
		r = row_add(&b, PORTS_CLIENT, PORTS_DHCP, "DHCP enforcement (requests)",
			    "dhclient/udhcpc/dhcpcd + napagentd -> napdhcpd", PORTS_UDP, port,
			    host);
		if (r == NULL)
			return -ENOMEM;
		r->broadcast = true; /* DHCPDISCOVER goes to 255.255.255.255 */
		snprintf(r->source, sizeof(r->source), "[deployment] dhcp");
		r = row_add(&b, PORTS_DHCP, PORTS_CLIENT, "DHCP enforcement (replies)",
			    "napdhcpd -> dhclient/udhcpc/dhcpcd", PORTS_UDP, 68, "");
		if (r == NULL)
			return -ENOMEM;
		snprintf(r->source, sizeof(r->source), "[deployment] dhcp");
	}
	/* client -> HRA */
	for (size_t i = 0; i < c->n_dep_hra; i++) {
		if (nap_siteconf_url_hostport(c->dep_hra[i], scheme, sizeof(scheme), host,
					      sizeof(host), &port) < 0)
			return -EINVAL;
		r = row_add(&b, PORTS_CLIENT, PORTS_HRA, "health certificate request",
			    "napagentd -> naphrad", PORTS_TCP, port, host);
		if (r == NULL)
			return -ENOMEM;
		r->probe = PORTS_PROBE_HTTP;
		snprintf(r->url, sizeof(r->url), "%s", c->dep_hra[i]);
		snprintf(r->source, sizeof(r->source), "[deployment] hra");
	}
	/* client <-> peer: IKE */
	if (c->dep_ipsec) {
		static const uint16_t ike[] = {500, 4500};

		for (size_t i = 0; i < NAP_ARRAY_SIZE(ike); i++) {
			r = row_add(
				&b, PORTS_CLIENT, PORTS_CLIENT,
				i == 0 ? "IPsec with health certificates (IKE)"
				       : "IPsec with health certificates (IKE NAT-T, ESP-in-UDP)",
				"strongSwan charon on both ends", PORTS_UDP, ike[i], "");
			if (r == NULL)
				return -ENOMEM;
			snprintf(r->source, sizeof(r->source), "[deployment] ipsec");
		}
	}
	/* enforcement point -> SHV point: RADIUS */
	for (size_t i = 0; i < c->n_dep_radius; i++) {
		if (nap_siteconf_hostport(c->dep_radius[i], host, sizeof(host), &port, 1812) < 0)
			return -EINVAL;
		r = row_add(&b, PORTS_DHCP | PORTS_HRA, PORTS_SHV, "health check request (as NPS)",
			    "napdhcpd, naphrad, any NAS -> napvd", PORTS_UDP, port, host);
		if (r == NULL)
			return -ENOMEM;
		r->probe = PORTS_PROBE_RADIUS;
		snprintf(r->url, sizeof(r->url), "%s", c->dep_radius[i]);
		snprintf(r->source, sizeof(r->source), "[deployment] radius");
	}
	/* agent -> site server */
	if (c->has_agent && (port = listen_port(c->agent_listen)) != 0) {
		r = row_add(&b, PORTS_CLIENT, PORTS_SITE, "fetch NAP policy, send state",
			    "napagentd -> napsited", PORTS_TCP, port, site);
		if (r == NULL)
			return -ENOMEM;
		r->probe = PORTS_PROBE_HTTP;
		if (site[0] != '\0') {
			hostport_text(site, port, hp, sizeof(hp));
			snprintf(r->url, sizeof(r->url), "https://%s/", hp);
		}
		snprintf(r->source, sizeof(r->source), "[agent] listen");
	}
	/* admin -> site server: the dashboard */
	if (c->has_web && (port = listen_port(c->web_listen)) != 0) {
		r = row_add(&b, PORTS_ADMIN, PORTS_SITE, "dashboard and JSON API",
			    "browser, curl -> napsited", PORTS_TCP, port, site);
		if (r == NULL)
			return -ENOMEM;
		r->probe = PORTS_PROBE_HTTP;
		if (site[0] != '\0') {
			hostport_text(site, port, hp, sizeof(hp));
			snprintf(r->url, sizeof(r->url), "%s://%s/",
				 c->web_cert != NULL ? "https" : "http", hp);
		}
		snprintf(r->source, sizeof(r->source), "[web] listen");
	}
	return 0;
nomem:
	snprintf(err, errlen, "out of memory");
	return -ENOMEM;
}

void
ports_matrix_free(struct ports_matrix *m)
{
	free(m->rows);
	memset(m, 0, sizeof(*m));
}

/* ---- printing ---- */

static const char *
proto_name(enum ports_proto p)
{
	return p == PORTS_UDP ? "UDP" : "TCP";
}

static void
row_endpoint(const struct ports_row *r, char *out, size_t cap)
{
	hostport_text(r->host[0] != '\0' ? r->host : "*", r->port, out, cap);
}

static int
ports_imax(int a, int b)
{
	return a > b ? a : b;
}

static void
row_fromto(const struct ports_row *r, char *out, size_t cap)
{
	snprintf(out, cap, "%s -> %s", ports_role_title(r->from), ports_role_title(r->to));
}

void
ports_matrix_print(const struct ports_matrix *m, FILE *f)
{
	char ft[128], port[16], ep[PORTS_HOST_MAX + 16];
	int w_ft = (int)strlen("FROM -> TO"), w_pu = (int)strlen("PURPOSE");
	int w_pa = (int)strlen("NAP PARTS");

	for (size_t i = 0; i < m->n; i++) {
		row_fromto(&m->rows[i], ft, sizeof(ft));
		w_ft = ports_imax(w_ft, (int)strlen(ft));
		w_pu = ports_imax(w_pu, (int)strlen(m->rows[i].purpose));
		w_pa = ports_imax(w_pa, (int)strlen(m->rows[i].parts));
	}
	fprintf(f, "%-*s  %-*s  %-9s  %-*s  %s\n", w_ft, "FROM -> TO", w_pu, "PURPOSE", "PORT",
		w_pa, "NAP PARTS", "HOST:PORT");
	for (size_t i = 0; i < m->n; i++) {
		const struct ports_row *r = &m->rows[i];

		row_fromto(r, ft, sizeof(ft));
		snprintf(port, sizeof(port), "%s %u", proto_name(r->proto), r->port);
		row_endpoint(r, ep, sizeof(ep));
		fprintf(f, "%-*s  %-*s  %-9s  %-*s  %s\n", w_ft, ft, w_pu, r->purpose, port, w_pa,
			r->parts, ep);
	}
	if (m->n == 0)
		fprintf(f, "(no peers configured: add [directory], [agent], [deployment] to "
			   "napsited.conf or SHV points with napctl shv add)\n");
}

static json_t *
roles_json(unsigned roles)
{
	json_t *a = json_array();

	for (size_t i = 0; a != NULL && i < NAP_ARRAY_SIZE(ports_roles); i++)
		if (roles & ports_roles[i].bit)
			json_array_append_new(a, json_string(ports_roles[i].name));
	return a;
}

json_t *
ports_matrix_json(const struct ports_matrix *m, const char *site)
{
	static const char *const probes[] = {"", "ldap", "gc", "smb", "radius", "http"};
	json_t *root = json_object(), *rows = json_array();
	char ep[PORTS_HOST_MAX + 16];

	if (root == NULL || rows == NULL) {
		json_decref(root);
		json_decref(rows);
		return NULL;
	}
	json_object_set_new(root, "site", json_string(site));
	json_object_set_new(root, "rows", rows);
	for (size_t i = 0; i < m->n; i++) {
		const struct ports_row *r = &m->rows[i];

		row_endpoint(r, ep, sizeof(ep));
		json_array_append_new(
			rows,
			json_pack("{s:s, s:s, s:o, s:o, s:s, s:s, s:s, s:i, s:s, s:s, s:s, s:s*}",
				  "from", ports_role_title(r->from), "to", ports_role_title(r->to),
				  "from_roles", roles_json(r->from), "to_roles", roles_json(r->to),
				  "purpose", r->purpose, "parts", r->parts, "protocol",
				  r->proto == PORTS_UDP ? "udp" : "tcp", "port", (int)r->port,
				  "host", r->host, "endpoint", ep, "source", r->source, "probe",
				  r->probe != PORTS_PROBE_NONE ? probes[r->probe] : NULL));
	}
	return root;
}

/* ---- nftables ---- */

#define FW_MAX_ADDRS 16

struct fw_chain {
	char **lines;
	size_t n, cap;
};

static int
chain_add(struct fw_chain *ch, const char *line)
{
	const char *cm = strstr(line, " comment \"");
	size_t rule = cm != NULL ? (size_t)(cm - line) : strlen(line);

	/* Two rows, one rule (the first row's comment stays). */
	for (size_t i = 0; i < ch->n; i++)
		if (strncmp(ch->lines[i], line, rule) == 0 &&
		    (ch->lines[i][rule] == '\0' || ch->lines[i][rule] == ' '))
			return 0;
	if (ch->n == ch->cap) {
		size_t cap = ch->cap != 0 ? 2 * ch->cap : 16;
		char **v = realloc(ch->lines, cap * sizeof(*v));

		if (v == NULL)
			return -ENOMEM;
		ch->lines = v;
		ch->cap = cap;
	}
	if ((ch->lines[ch->n] = strdup(line)) == NULL)
		return -ENOMEM;
	ch->n++;
	return 0;
}

static void
chain_free(struct fw_chain *ch)
{
	for (size_t i = 0; i < ch->n; i++)
		free(ch->lines[i]);
	free(ch->lines);
}

/* The numeric addresses of host, family-filtered: "1.2.3.4" / "::1" strings with their family. */
static int
fw_resolve(const char *host, bool v4, bool v6, char addrs[][INET6_ADDRSTRLEN], int *fam, size_t *n,
	   char *err, size_t errlen)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
	int g;

	*n = 0;
	hints.ai_family = v4 && v6 ? AF_UNSPEC : v4 ? AF_INET : AF_INET6;
	g = getaddrinfo(host, NULL, &hints, &res);
	if (g != 0) {
		snprintf(err, errlen, "%s: %s", host, gai_strerror(g));
		return -ENOENT;
	}
	for (struct addrinfo *a = res; a != NULL && *n < FW_MAX_ADDRS; a = a->ai_next) {
		char s[INET6_ADDRSTRLEN];
		bool dup = false;

		if (a->ai_family == AF_INET)
			inet_ntop(AF_INET, &((struct sockaddr_in *)a->ai_addr)->sin_addr, s,
				  sizeof(s));
		else if (a->ai_family == AF_INET6)
			inet_ntop(AF_INET6, &((struct sockaddr_in6 *)a->ai_addr)->sin6_addr, s,
				  sizeof(s));
		else
			continue;
		for (size_t i = 0; i < *n; i++)
			dup = dup || strcmp(addrs[i], s) == 0;
		if (dup)
			continue;
		memcpy(addrs[*n], s, sizeof(s));
		fam[*n] = a->ai_family;
		(*n)++;
	}
	freeaddrinfo(res);
	return 0;
}

/* A numeric address of the family the table does not handle (ip table, IPv6 host, ...). */
static bool
fw_other_family(const char *host, bool v4, bool v6)
{
	struct in6_addr a6;
	struct in_addr a4;

	if (!v4 && inet_pton(AF_INET, host, &a4) == 1)
		return true;
	return !v6 && inet_pton(AF_INET6, host, &a6) == 1;
}

static void
fw_comment(const struct ports_row *r, char *out, size_t cap)
{
	char c[200];

	/* nft comments hold at most 128 bytes. */
	snprintf(c, sizeof(c), "%s -> %s: %s", ports_role_title(r->from), ports_role_title(r->to),
		 r->purpose);
	if (strlen(c) > 120)
		c[120] = '\0';
	snprintf(out, cap, "comment \"%s\"", c);
}

static int
fw_web_input(const struct nap_siteconf *c, const struct ports_row *r, bool v4, bool v6,
	     struct fw_chain *in)
{
	char set4[1024] = "", set6[2048] = "", cm[160], line[4096];
	int e = 0;

	fw_comment(r, cm, sizeof(cm));
	for (size_t i = 0; i < c->n_web_allow; i++) {
		const struct nap_siteconf_cidr *n = &c->web_allow[i];
		char a[INET6_ADDRSTRLEN];
		char *set = n->family == AF_INET ? set4 : set6;
		size_t cap = n->family == AF_INET ? sizeof(set4) : sizeof(set6);

		inet_ntop(n->family, n->addr, a, sizeof(a));
		snprintf(set + strlen(set), cap - strlen(set), "%s%s/%u", set[0] ? ", " : "", a,
			 n->prefix);
	}
	if (v4 && set4[0] != '\0') {
		snprintf(line, sizeof(line), "ip saddr { %s } tcp dport %u accept %s", set4,
			 r->port, cm);
		e = chain_add(in, line);
	}
	if (e == 0 && v6 && set6[0] != '\0') {
		snprintf(line, sizeof(line), "ip6 saddr { %s } tcp dport %u accept %s", set6,
			 r->port, cm);
		e = chain_add(in, line);
	}
	return e;
}

int
ports_firewall(const struct ports_matrix *m, const struct nap_siteconf *c, unsigned roles,
	       const char *family, FILE *f, char *err, size_t errlen)
{
	struct fw_chain in = {0}, out = {0};
	bool v4 = strcmp(family, "inet") == 0 || strcmp(family, "ip") == 0;
	bool v6 = strcmp(family, "inet") == 0 || strcmp(family, "ip6") == 0;
	char cm[160], line[1024], names[128] = "";
	int e = 0;

	if (!v4 && !v6) {
		snprintf(err, errlen, "family \"%s\": want inet, ip or ip6", family);
		return -EINVAL;
	}
	for (size_t i = 0; i < m->n && e == 0; i++) {
		const struct ports_row *r = &m->rows[i];
		const char *l4 = r->proto == PORTS_UDP ? "udp" : "tcp";

		fw_comment(r, cm, sizeof(cm));
		if (r->to & roles) {
			if (r->from == PORTS_ADMIN && c->has_web && c->n_web_allow > 0) {
				e = fw_web_input(c, r, v4, v6, &in);
			} else {
				snprintf(line, sizeof(line), "%s dport %u accept %s", l4, r->port,
					 cm);
				e = chain_add(&in, line);
			}
		}
		if (e == 0 && (r->from & roles)) {
			char addrs[FW_MAX_ADDRS][INET6_ADDRSTRLEN];
			int fam[FW_MAX_ADDRS];
			size_t n = 0;

			if (r->host[0] == '\0' || r->broadcast) {
				snprintf(line, sizeof(line), "%s dport %u accept %s", l4, r->port,
					 cm);
				e = chain_add(&out, line);
				continue;
			}
			if (fw_other_family(r->host, v4, v6)) {
				/* An address of the family the table does not filter. */
				snprintf(line, sizeof(line),
					 "# %s: not an %s address, not opened (%s)", r->host,
					 v4 ? "IPv4" : "IPv6", cm + 8);
				e = chain_add(&out, line);
				continue;
			}
			if ((e = fw_resolve(r->host, v4, v6, addrs, fam, &n, err, errlen)) < 0)
				break;
			if (n == 0) {
				snprintf(err, errlen, "%s: no %s address", r->host,
					 v4 ? "IPv4" : "IPv6");
				e = -ENOENT;
				break;
			}
			for (size_t k = 0; k < n && e == 0; k++) {
				snprintf(line, sizeof(line), "%s daddr %s %s dport %u accept %s",
					 fam[k] == AF_INET ? "ip" : "ip6", addrs[k], l4, r->port,
					 cm);
				e = chain_add(&out, line);
			}
		}
	}
	if (e == -ENOMEM)
		snprintf(err, errlen, "out of memory");
	if (e < 0)
		goto done;
	for (size_t i = 0; i < NAP_ARRAY_SIZE(ports_roles); i++)
		if (roles & ports_roles[i].bit)
			snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s%s",
				 names[0] ? ", " : "", ports_roles[i].name);
	fprintf(f,
		"#!/usr/sbin/nft -f\n"
		"# nap port matrix for this host (roles: %s), made by napctl firewall from %s.\n"
		"# Input: what this host serves; output: the peers it contacts; everything else "
		"is\n"
		"# dropped. Loading it replaces the table %s nap and leaves other tables alone.\n"
		"table %s nap\n"
		"delete table %s nap\n"
		"table %s nap {\n",
		names, c->path != NULL ? c->path : "napsited.conf", family, family, family, family);
	for (int dir = 0; dir < 2; dir++) {
		const struct fw_chain *ch = dir == 0 ? &in : &out;
		const char *io = dir == 0 ? "iif" : "oif";

		fprintf(f,
			"\tchain %s {\n"
			"\t\ttype filter hook %s priority filter; policy drop;\n"
			"\t\t%s \"lo\" accept comment \"loopback: local daemons and tools\"\n"
			"\t\tct state established,related accept\n"
			"\t\tct state invalid drop\n",
			dir == 0 ? "input" : "output", dir == 0 ? "input" : "output", io);
		if (v6)
			fprintf(f,
				"\t\t%sicmpv6 type { nd-neighbor-solicit, nd-neighbor-advert, "
				"nd-router-solicit, nd-router-advert } accept "
				"comment \"IPv6 neighbour discovery\"\n",
				strcmp(family, "inet") == 0 ? "meta l4proto ipv6-icmp " : "");
		for (size_t i = 0; i < ch->n; i++)
			fprintf(f, "\t\t%s\n", ch->lines[i]);
		fprintf(f, "\t}\n");
	}
	fprintf(f, "}\n");
done:
	chain_free(&in);
	chain_free(&out);
	return e;
}
