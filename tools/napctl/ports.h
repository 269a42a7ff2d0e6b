/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The port matrix of one deployment (DESIGN.md §1) and the nftables ruleset that opens exactly
 * it for a host's roles: napctl ports, check and firewall. Built from napsited.conf (trusted,
 * already checked by the parser) and the store's SHV points; no network access here except the
 * name resolution of ports_firewall().
 */
#ifndef NAP_TOOLS_NAPCTL_PORTS_H
#define NAP_TOOLS_NAPCTL_PORTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

struct nap_siteconf;

/* Host roles, one bit each: a host may hold several (a site server that is also an SHV point). */
enum ports_role {
	PORTS_SITE = 1u << 0,      /* napsited */
	PORTS_DIRECTORY = 1u << 1, /* slapd / AD */
	PORTS_SHV = 1u << 2,       /* napvd (+ smbd for its configuration share) */
	PORTS_DHCP = 1u << 3,      /* napdhcpd */
	PORTS_HRA = 1u << 4,       /* naphrad */
	PORTS_CLIENT = 1u << 5,    /* napagentd, DHCP client, charon */
	PORTS_ADMIN = 1u << 6,     /* a browser or curl at the dashboard */
};
#define PORTS_ROLE_ALL 0x7fu

/* What napctl check does for a row. */
enum ports_probe {
	PORTS_PROBE_NONE = 0, /* not probed (DHCP broadcast, IKE between peers) */
	PORTS_PROBE_LDAP,     /* bind as [directory] bind_dn (StartTLS/LDAPS as configured) */
	PORTS_PROBE_GC,       /* search the site's HSR entry as napvd would */
	PORTS_PROBE_SMB,      /* write and remove a probe file in the share */
	PORTS_PROBE_RADIUS,   /* Status-Server (RFC 5997) with Message-Authenticator */
	PORTS_PROBE_HTTP,     /* TCP (+ TLS for https) and one harmless GET */
};

enum ports_proto { PORTS_TCP = 0, PORTS_UDP };

#define PORTS_HOST_MAX 256
#define PORTS_URL_MAX  1024

struct ports_row {
	unsigned from, to;   /* role bits: who opens the connection, who serves it */
	const char *purpose; /* "publish the health state reference (HSR)" */
	const char *parts;   /* "napsited -> slapd / AD" */
	enum ports_proto proto;
	uint16_t port;
	char host[PORTS_HOST_MAX];  /* the serving end; "" when any (clients, broadcast) */
	bool broadcast;             /* the opening side may send to any address (DHCP discovery) */
	char source[PORTS_URL_MAX]; /* where the row comes from: "[directory] uri ldap://..." */
	enum ports_probe probe;
	char url[PORTS_URL_MAX]; /* the probe's target: LDAP URI, smb:// URL, http(s):// URL */
	char credentials[PORTS_URL_MAX]; /* SMB: the credentials file for the probe write */
};

struct ports_matrix {
	struct ports_row *rows;
	size_t n, cap;
};

/* An SHV point from the store: host, its configuration share, credentials, managed URIs. */
struct ports_shv {
	const char *host;
	const char *url;
	const char *credentials;
	const char *gc_uris; /* its managed [hsr] uri setting, space-separated; NULL: not managed */
};

/* Role names: site, directory, shv, dhcp, hra, client, admin; "a,b" into a mask. */
const char *ports_role_name(unsigned role_bit);
int ports_roles_parse(const char *s, unsigned *mask);
/* Human names of the ends: "site server", "SHV point", ..., "DHCP server / NAS" for masks. */
const char *ports_role_title(unsigned roles);

/* Build the matrix; 0, -ENOMEM or -EINVAL (err says why). ports_matrix_free() in every case. */
int ports_matrix_build(const struct nap_siteconf *c, const struct ports_shv *shv, size_t n_shv,
		       struct ports_matrix *m, char *err, size_t errlen);
void ports_matrix_free(struct ports_matrix *m);

/* napctl ports: a table, or JSON ({"site":..., "rows": [...]}). */
void ports_matrix_print(const struct ports_matrix *m, FILE *f);
json_t *ports_matrix_json(const struct ports_matrix *m, const char *site);

/*
 * napctl firewall: an nftables ruleset (table FAMILY nap, input and output base chains with
 * policy drop, loopback and established/related accepted, ICMPv6 neighbour discovery for ip6
 * and inet) that accepts exactly the rows the roles take part in: input for what the host
 * serves, output to the hosts it contacts. family: "inet", "ip" or "ip6". Host names are
 * resolved (a name that does not resolve is an error). 0 or a negative errno with err.
 */
int ports_firewall(const struct ports_matrix *m, const struct nap_siteconf *c, unsigned roles,
		   const char *family, FILE *f, char *err, size_t errlen);

#endif
