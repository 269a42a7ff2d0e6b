/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * napsited's configuration file (napsited.conf(5)), parsed with inih. napsited and napctl read
 * the same file: napctl for the store URI, the site code and the directory settings. Unknown
 * sections or keys, bad values and missing required keys are errors with file:line.
 *
 *   [site]       code, key, state_dir, user, pidfile, metrics, poll_interval
 *   [store]      uri
 *   [directory]  uri (several, space separated, tried in order), base, container, bind_dn,
 *                bind_password_file, starttls, ca_file, timeout, retry_min, retry_max,
 *                create_container
 *   [agent]      listen, cert, key, ca_cert, ca_key, cert_lifetime, token_lifetime
 *   [web]        listen, cert, key, allow, token_file, threads
 *   [deployment] site_host, inbox_url, inbox_credentials, radius, radius_secret_file, gc,
 *                gc_bind_dn, gc_bind_password_file, dhcp, hra, ipsec, ca_file (the peers
 *                napctl ports/check/firewall know about; napsited itself ignores the section)
 */
#ifndef NAP_SITECONF_H
#define NAP_SITECONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>

#include "nap/health.h"

#define NAP_SITECONF_DEFAULT  "/etc/nap/napsited.conf"
#define NAP_SITECONF_MAX_URIS 8
#define NAP_SITECONF_MAX_ALLOW 32 /* [web] allow networks */
#define NAP_SITECONF_MAX_PEERS 16 /* [deployment] radius, dhcp, hra */

/* One network of [web] allow: family AF_INET or AF_INET6, addr in network byte order. */
struct nap_siteconf_cidr {
	int family;
	uint8_t addr[16];
	unsigned prefix;
};

struct nap_siteconf {
	char *path;
	/* [site] */
	char site[NAP_SITE_MAX + 1]; /* required */
	char *key;                   /* Ed25519 private key (PEM) that signs the HSR; required */
	char *state_dir;             /* default /var/lib/nap */
	char *user;                  /* drop privileges to this user; NULL: stay */
	char *pidfile;
	char *metrics;            /* ADDR:PORT for Prometheus text, NULL: off */
	int64_t poll_interval_ms; /* store revision check; default 1000 */
	/* [store] */
	char *store_uri; /* default sqlite:<state_dir>/site.db */
	/* [directory] (absent: napsited does not publish) */
	bool has_directory;
	char *dir_uri[NAP_SITECONF_MAX_URIS];
	size_t n_dir_uri;
	char *dir_base;      /* e.g. dc=example,dc=org; required with [directory] */
	char *dir_container; /* relative to base; default "cn=System Management" */
	char *dir_bind_dn;   /* NULL: anonymous (useless for writing, allowed for napctl) */
	char *dir_bind_password_file; /* must not be readable by group/other */
	bool dir_starttls;            /* for ldap:// URIs; default true */
	char *dir_ca_file;
	int64_t dir_timeout_ms;    /* default 10000 */
	int64_t dir_retry_min_ms;  /* default 1000 */
	int64_t dir_retry_max_ms;  /* default 300000 */
	bool dir_create_container; /* default true */
	/* [agent] (absent: no agent endpoint) */
	bool has_agent;
	char *agent_listen;                 /* ADDR:PORT, required with [agent] */
	char *agent_cert, *agent_key;       /* the endpoint's TLS certificate and key (PEM) */
	char *agent_ca_cert, *agent_ca_key; /* signs agent certificates; created when missing.
					       default <state_dir>/agent-ca.{pem,key} */
	int64_t agent_cert_lifetime;        /* seconds, default 365 days */
	int64_t agent_token_lifetime;       /* seconds, default 24 h */
	/* [web] (absent: no admin web listener; daemons/napsited/web.c) */
	bool has_web;
	char *web_listen;            /* ADDR:PORT, required with [web] */
	char *web_cert, *web_key;    /* both or neither: HTTPS, else plain HTTP */
	struct nap_siteconf_cidr web_allow[NAP_SITECONF_MAX_ALLOW]; /* default loopback */
	size_t n_web_allow;
	char *web_token_file; /* a bearer token (or basic password) every request needs */
	int64_t web_threads;  /* request threads, default 4 */
	int64_t web_refresh;  /* seconds the pages reload themselves after, 0: never; default 60 */
	/* [deployment] (napctl ports/check/firewall: the deployment's other hosts) */
	bool has_deployment;
	char *dep_site_host;         /* the site server as peers reach it (default: [agent] listen's
					address unless a wildcard) */
	char *dep_inbox_url;         /* smb://HOST[:PORT]/SHARE[/DIR]: status inbox as napvd writes */
	char *dep_inbox_credentials; /* smbclient -A file for the probe write of napctl check */
	char *dep_radius[NAP_SITECONF_MAX_PEERS]; /* napvd RADIUS: HOST[:PORT] (1812) */
	size_t n_dep_radius;
	char *dep_radius_secret_file;          /* a secret napvd has for this host (Status-Server) */
	char *dep_gc[NAP_SITECONF_MAX_URIS];   /* directory URIs SHV points read (default [directory]
						  uri) */
	size_t n_dep_gc;
	char *dep_gc_bind_dn, *dep_gc_bind_password_file; /* NULL: anonymous */
	char *dep_dhcp[NAP_SITECONF_MAX_PEERS]; /* napdhcpd hosts */
	size_t n_dep_dhcp;
	char *dep_hra[NAP_SITECONF_MAX_PEERS];  /* naphrad URLs: http(s)://HOST[:PORT][/PATH] */
	size_t n_dep_hra;
	bool dep_ipsec;     /* clients and peers talk IKE (UDP 500, 4500) */
	char *dep_ca_file;  /* CA for the agent endpoint's and naphrad's certificates in napctl
			       check (default [directory] ca_file, else the system's) */
	/* [status] (status messages from napvd; daemons/napsited/ingest.c) */
	bool has_status;
	char *status_inbox;      /* the directory smbd exports as the inbox share; NULL: off */
	char *status_quarantine; /* default <inbox>/quarantine */
	int64_t status_silent_after; /* seconds: a client quiet this long is "silent" (30 min) */
	int64_t status_scan_interval_ms; /* inbox scan without inotify events (default 1 s) */
	int64_t status_keep;       /* seconds: messages and quarantine rows kept (90 d; 0: forever) */
	int64_t status_keep_daily; /* seconds: status_daily rows kept (400 d; 0: forever) */
};

/* Parse and check; on error a negative errno and "file:line: message" in err. */
int nap_siteconf_parse_file(const char *path, struct nap_siteconf **out, char *err, size_t err_len);
int nap_siteconf_parse_string(const char *text, const char *name, struct nap_siteconf **out,
			      char *err, size_t err_len);
void nap_siteconf_free(struct nap_siteconf *c);
/* The effective configuration with defaults, in the file's syntax (napsited -n). */
void nap_siteconf_print(const struct nap_siteconf *c, FILE *f);
/* The DN of a site's HSR entry: cn=<site>,<container>,<base>. */
int nap_siteconf_hsr_dn(const struct nap_siteconf *c, const char *site, char *out, size_t cap);
/* Timing knobs that contradict each other and the like, one "warning: ..." line each on f
 * (napsited -n). Returns how many. */
int nap_siteconf_warnings(const struct nap_siteconf *c, FILE *f);
/* Parse "IPV4:PORT" or "[IPV6]:PORT" (numeric, as [site] metrics and [agent] listen take). */
int nap_siteconf_sockaddr(const char *hostport, struct sockaddr_storage *out, socklen_t *len);
/* Parse "ADDR[/PREFIX]" (IPv4 or IPv6; no prefix: the one address) into out. */
int nap_siteconf_cidr_parse(const char *s, struct nap_siteconf_cidr *out);
/* Is sa (AF_INET, AF_INET6; v4-mapped IPv6 counts as IPv4) inside one of the n networks? */
bool nap_siteconf_cidr_match(const struct nap_siteconf_cidr *nets, size_t n,
			     const struct sockaddr *sa);
/*
 * Split "HOST", "HOST:PORT", "[IPV6]" or "[IPV6]:PORT" (HOST a DNS name or an address; a bare
 * IPv6 address has no port) into host (without brackets) and port (default_port when absent).
 * 0 or -EINVAL.
 */
int nap_siteconf_hostport(const char *s, char *host, size_t host_cap, uint16_t *port,
			  uint16_t default_port);
/*
 * The host and port of a URL "SCHEME://[USER@]HOST[:PORT][/...]" (ldap 389, ldaps 636, smb 445,
 * http 80, https 443, else default_port). scheme gets the lower-case scheme. 0 or -EINVAL
 * (ldapi:// and other URLs without a network host are -EINVAL).
 */
int nap_siteconf_url_hostport(const char *url, char *scheme, size_t scheme_cap, char *host,
			      size_t host_cap, uint16_t *port);
/* Read the bind password (refuses a file readable by group or other). */
int nap_siteconf_bind_password(const struct nap_siteconf *c, char **out, char *err, size_t err_len);

#endif
