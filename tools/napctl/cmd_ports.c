// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * napctl ports | check | firewall: the port matrix of DESIGN.md §1 for this deployment
 * (napsited.conf's [directory], [agent], [web], [deployment] and the store's SHV points), a
 * probe of every peer in it, and the nftables ruleset that opens exactly it for a host's roles.
 *
 * The probes speak each protocol for real: an LDAP bind (StartTLS or LDAPS as configured), the
 * search napvd makes for the site's HSR entry, a probe file written to and removed from each
 * SMB share, a RADIUS Status-Server (RFC 5997, with Message-Authenticator) to napvd, and a TLS
 * handshake plus GET / to the agent endpoint, naphrad and the dashboard. Every probe first opens
 * the TCP connection (or sends the datagram) itself, so that a silent drop ("blocked"), a reset
 * or ICMP port unreachable ("refused") and a missing route are told apart before any protocol
 * library hides the difference. Replies from the network are untrusted input: only their status
 * line / result code / authenticator is looked at.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <ldap.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "nap/radius.h"
#include "nap/shv.h"
#include "nap/siteconf.h"
#ifdef NAPCTL_HAVE_SMB
#include "nap/smb.h"
#endif
#include "nap/store.h"
#include "nap/util.h"

#include "napctl.h"
#include "ports.h"

#define PORTS_OPT_TIMEOUT 0x300
#define PORTS_OPT_ROLE    0x301
#define PORTS_OPT_FAMILY  0x302
#define PORTS_OPT_NOSTORE 0x303

struct ports_opts {
	bool json;
	bool no_store;
	int64_t timeout_ms;
	const char *roles;
	const char *family;
	const char *output;
};

/* -f/-c FILE, --store, --json, --timeout, --role, --family, -o, --no-store; -1 to go on. */
static int
ports_options(const struct ctl_cmd *cmd, int argc, char *argv[], struct ports_opts *o)
{
	static const struct option opts[] = {
		{"json", no_argument, NULL, CTL_OPT_JSON},
		{"timeout", required_argument, NULL, PORTS_OPT_TIMEOUT},
		{"role", required_argument, NULL, PORTS_OPT_ROLE},
		{"family", required_argument, NULL, PORTS_OPT_FAMILY},
		{"no-store", no_argument, NULL, PORTS_OPT_NOSTORE},
		{"output", required_argument, NULL, 'o'},
		CTL_SITE_OPTIONS,
		CTL_HELP_OPTION,
		{NULL, 0, NULL, 0},
	};
	int c, r;

	o->timeout_ms = 3000;
	o->family = "inet";
	while ((c = getopt_long(argc, argv, "c:f:o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			ctl_site_option(CTL_OPT_CONFIG, optarg);
			break;
		case CTL_OPT_JSON:
			o->json = true;
			break;
		case PORTS_OPT_NOSTORE:
			o->no_store = true;
			break;
		case PORTS_OPT_TIMEOUT:
			if (ctl_parse_ms(optarg, &o->timeout_ms) < 0 || o->timeout_ms < 100 ||
			    o->timeout_ms > 600000)
				return ctl_usage_error(cmd, "--timeout: '%s' is not 100ms..10m",
						       optarg);
			break;
		case PORTS_OPT_ROLE:
			o->roles = optarg;
			break;
		case PORTS_OPT_FAMILY:
			o->family = optarg;
			break;
		case 'o':
			o->output = optarg;
			break;
		default:
			if ((r = ctl_common_option(cmd, c)) >= 0)
				return r;
		}
	}
	if (optind != argc)
		return ctl_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
	return -1;
}

/*
 * The configuration (required) and the store's SHV points into a matrix. Prints what went
 * wrong; 0 or NAPCTL_EXIT_ERROR. The points' strings live in *pts until ports_unload().
 */
struct ports_ctx {
	struct ctl_site site;
	struct nap_shv_point *pts;
	size_t n_pts;
	struct ports_shv *shv;
	struct ports_matrix m;
};

static void
ports_unload(struct ports_ctx *x)
{
	ports_matrix_free(&x->m);
	free(x->shv);
	nap_shv_points_free(x->pts, x->n_pts);
	ctl_site_close(&x->site);
}

static int
ports_load(struct ports_ctx *x, const char *what, const struct ports_opts *o)
{
	struct nap_store_err serr = {0};
	char err[512] = "";
	int r;

	memset(x, 0, sizeof(*x));
	if ((r = ctl_site_open(&x->site, what, !o->no_store)) != 0)
		return r;
	if (x->site.conf == NULL)
		return ctl_error("%s: needs napsited.conf (-f FILE), not only --store", what);
	if (x->site.store != NULL) {
		if ((r = nap_store_shv_list(x->site.store, &x->pts, &x->n_pts, &serr)) < 0)
			return ctl_store_error(what, r, serr.msg);
		if (x->n_pts > 0 && (x->shv = calloc(x->n_pts, sizeof(*x->shv))) == NULL)
			return ctl_error("%s: out of memory", what);
		for (size_t i = 0; i < x->n_pts; i++) {
			x->shv[i].host = x->pts[i].host;
			x->shv[i].url = x->pts[i].url;
			x->shv[i].credentials = x->pts[i].credentials;
			x->shv[i].gc_uris = x->pts[i].settings.value[NAP_SHV_URI];
		}
	}
	if ((r = ports_matrix_build(x->site.conf, x->shv, x->n_pts, &x->m, err, sizeof(err))) < 0)
		return ctl_error("%s: %s", what, err[0] != '\0' ? err : strerror(-r));
	return 0;
}

int
cmd_ports(const struct ctl_cmd *cmd, int argc, char *argv[])
{
	struct ports_opts o = {0};
	struct ports_ctx x;
	int r;

	if ((r = ports_options(cmd, argc, argv, &o)) >= 0)
		return r;
	if (o.roles != NULL || o.output != NULL)
		return ctl_usage_error(cmd, "--role and -o belong to napctl firewall");
	if ((r = ports_load(&x, "ports", &o)) == 0) {
		if (o.json)
			r = ctl_json_print(ports_matrix_json(&x.m, x.site.conf->site));
		else
			ports_matrix_print(&x.m, stdout);
	}
	ports_unload(&x);
	return r;
}

int
cmd_firewall(const struct ctl_cmd *cmd, int argc, char *argv[])
{
	struct ports_opts o = {0};
	struct ports_ctx x;
	char err[512] = "";
	unsigned roles;
	FILE *f = stdout;
	int r;

	if ((r = ports_options(cmd, argc, argv, &o)) >= 0)
		return r;
	if (o.roles == NULL)
		return ctl_usage_error(cmd, "--role is required (site, directory, shv, dhcp, hra, "
					    "client, admin; several comma-separated)");
	if (ports_roles_parse(o.roles, &roles) < 0)
		return ctl_usage_error(cmd,
				       "--role: '%s' is not a list of site, directory, shv, "
				       "dhcp, hra, client, admin",
				       o.roles);
	if (strcmp(o.family, "inet") != 0 && strcmp(o.family, "ip") != 0 &&
	    strcmp(o.family, "ip6") != 0)
		return ctl_usage_error(cmd, "--family: '%s' is not inet, ip or ip6", o.family);
	if ((r = ports_load(&x, "firewall", &o)) != 0) {
		ports_unload(&x);
		return r;
	}
	if (o.output != NULL && (f = fopen(o.output, "w")) == NULL) {
		r = ctl_error("firewall: %s: %s", o.output, strerror(errno));
		ports_unload(&x);
		return r;
	}
	if ((r = ports_firewall(&x.m, x.site.conf, roles, o.family, f, err, sizeof(err))) < 0)
		r = ctl_error("firewall: %s", err[0] != '\0' ? err : strerror(-r));
	if (f != stdout && fclose(f) != 0 && r == 0)
		r = ctl_error("firewall: %s: %s", o.output, strerror(errno));
	ports_unload(&x);
	return r;
}

/* ---- probes ---- */

enum probe_status {
	PS_OK = 0,
	PS_BLOCKED,
	PS_REFUSED,
	PS_UNREACHABLE,
	PS_AUTH,
	PS_TLS,
	PS_FAILED,
	PS_SKIPPED,
};

static const char *const probe_status_names[] = {
	[PS_OK] = "ok",
	[PS_BLOCKED] = "blocked",
	[PS_REFUSED] = "refused",
	[PS_UNREACHABLE] = "unreachable",
	[PS_AUTH] = "auth-failure",
	[PS_TLS] = "tls-failure",
	[PS_FAILED] = "failed",
	[PS_SKIPPED] = "skipped",
};

struct probe {
	const struct ports_row *row;
	const struct nap_siteconf *conf;
	int64_t timeout_ms;
	int64_t deadline_ms; /* monotonic */
	enum probe_status st;
	char why[768];
};

__attribute__((format(printf, 3, 4))) static int
probe_set(struct probe *p, enum probe_status st, const char *fmt, ...)
{
	va_list ap;

	p->st = st;
	va_start(ap, fmt);
	vsnprintf(p->why, sizeof(p->why), fmt, ap);
	va_end(ap);
	return st == PS_OK ? 0 : -1;
}

static int
left_ms(const struct probe *p)
{
	int64_t l = p->deadline_ms - nap_mono_ms();

	return l > 0 ? (int)l : 0;
}

static const char *
proto_lc(const struct ports_row *r)
{
	return r->proto == PORTS_UDP ? "udp" : "tcp";
}

/* What an errno of connect() or recv() means for the path to host:port. */
static int
probe_net_error(struct probe *p, int e)
{
	const struct ports_row *r = p->row;
	char ep[PORTS_HOST_MAX + 16];

	snprintf(ep, sizeof(ep), strchr(r->host, ':') ? "[%s]:%u" : "%s:%u", r->host, r->port);
	switch (e) {
	case ETIMEDOUT:
		return probe_set(p, PS_BLOCKED,
				 "no answer from %s %s in %lld ms: a firewall drops it?%s",
				 proto_lc(r), ep, (long long)p->timeout_ms,
				 r->probe == PORTS_PROBE_RADIUS
					 ? " (napvd also drops requests from unknown clients "
					   "and with a wrong secret without answering)"
					 : "");
	case ECONNREFUSED:
		return probe_set(p, PS_REFUSED,
				 "%s %s refused: nothing listens there, or a firewall REJECTs it "
				 "(%s)",
				 proto_lc(r), ep,
				 r->proto == PORTS_UDP ? "ICMP port unreachable" : "TCP reset");
	case EHOSTUNREACH:
	case ENETUNREACH:
	case EHOSTDOWN:
	case ENETDOWN:
		return probe_set(p, PS_UNREACHABLE,
				 "%s %s: %s (no route, or a firewall REJECTs it with ICMP "
				 "host/admin prohibited)",
				 proto_lc(r), ep, strerror(e));
	case EPERM:
	case EACCES:
		return probe_set(p, PS_BLOCKED,
				 "%s %s: %s: this host's own firewall drops it (output chain)",
				 proto_lc(r), ep, strerror(e));
	default:
		return probe_set(p, PS_FAILED, "%s %s: %s", proto_lc(r), ep, strerror(e));
	}
}

/* A socket connected to the row's host:port (TCP: the handshake done), or -1 with p set. */
static int
probe_connect(struct probe *p, int socktype)
{
	struct addrinfo hints = {.ai_socktype = socktype}, *res = NULL;
	char port[8];
	int g, fd = -1, last = ETIMEDOUT;

	if (p->row->host[0] == '\0') {
		probe_set(p, PS_SKIPPED, "the host is unknown (set [deployment] site_host)");
		return -1;
	}
	snprintf(port, sizeof(port), "%u", p->row->port);
	if ((g = getaddrinfo(p->row->host, port, &hints, &res)) != 0) {
		probe_set(p, PS_FAILED, "cannot resolve %s: %s", p->row->host, gai_strerror(g));
		return -1;
	}
	for (struct addrinfo *a = res; a != NULL; a = a->ai_next) {
		struct pollfd pfd;
		socklen_t sl = sizeof(last);
		int n;

		fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
			    a->ai_protocol);
		if (fd < 0) {
			last = errno;
			continue;
		}
		if (connect(fd, a->ai_addr, a->ai_addrlen) == 0)
			break;
		if (errno != EINPROGRESS) {
			last = errno;
			close(fd);
			fd = -1;
			continue;
		}
		pfd = (struct pollfd){.fd = fd, .events = POLLOUT};
		n = poll(&pfd, 1, left_ms(p));
		if (n == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &last, &sl) == 0 && last == 0)
			break;
		if (n == 0)
			last = ETIMEDOUT;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		probe_net_error(p, last);
		return -1;
	}
	/* Blocking from here on, bounded by the probe's time left. */
	{
		int fl = fcntl(fd, F_GETFL);
		int l = left_ms(p) > 0 ? left_ms(p) : 1;
		struct timeval tv = {l / 1000, (l % 1000) * 1000};

		fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	}
	return fd;
}

/* ---- LDAP: bind, and the HSR search ---- */

static int
probe_ldap(struct probe *p)
{
	const struct nap_siteconf *c = p->conf;
	const struct ports_row *r = p->row;
	bool gc = r->probe == PORTS_PROBE_GC;
	const char *dn = gc ? c->dep_gc_bind_dn : c->dir_bind_dn;
	bool ldaps = strncasecmp(r->url, "ldaps:", 6) == 0;
	bool starttls = !ldaps && c->dir_starttls;
	int v3 = LDAP_VERSION3, demand = LDAP_OPT_X_TLS_DEMAND, zero = 0, rc, fd;
	struct berval cred = {0, NULL};
	char *password = NULL, *diag = NULL, why[256], *dup;
	LDAP *ld = NULL;
	struct timeval tv;
	const char *how;
	int ret = -1;

	if ((fd = probe_connect(p, SOCK_STREAM)) < 0)
		return -1;
	close(fd);
	if (dn != NULL) {
		int e;

		if (gc) {
			e = nap_read_secret_file(c->dep_gc_bind_password_file, 4096, &password,
						 NULL, why, sizeof(why));
			if (e < 0)
				return probe_set(p, PS_FAILED, "gc_bind_password_file %s: %s",
						 c->dep_gc_bind_password_file, why);
		} else if ((e = nap_siteconf_bind_password(c, &password, why, sizeof(why))) < 0) {
			return probe_set(p, PS_FAILED, "%s", why);
		}
		cred.bv_val = password;
		cred.bv_len = strlen(password);
	}
	tv.tv_sec = left_ms(p) / 1000;
	tv.tv_usec = (left_ms(p) % 1000) * 1000;
	if (tv.tv_sec == 0 && tv.tv_usec == 0)
		tv.tv_usec = 1000;
	if ((rc = ldap_initialize(&ld, r->url)) != LDAP_SUCCESS) {
		probe_set(p, PS_FAILED, "%s: %s", r->url, ldap_err2string(rc));
		goto out;
	}
	if (ldap_set_option(ld, LDAP_OPT_PROTOCOL_VERSION, &v3) != LDAP_OPT_SUCCESS ||
	    ldap_set_option(ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF) != LDAP_OPT_SUCCESS ||
	    ldap_set_option(ld, LDAP_OPT_NETWORK_TIMEOUT, &tv) != LDAP_OPT_SUCCESS ||
	    ldap_set_option(ld, LDAP_OPT_TIMEOUT, &tv) != LDAP_OPT_SUCCESS ||
	    ldap_set_option(ld, LDAP_OPT_X_TLS_REQUIRE_CERT, &demand) != LDAP_OPT_SUCCESS ||
	    (c->dir_ca_file != NULL &&
	     ldap_set_option(ld, LDAP_OPT_X_TLS_CACERTFILE, c->dir_ca_file) != LDAP_OPT_SUCCESS) ||
	    ldap_set_option(ld, LDAP_OPT_X_TLS_NEWCTX, &zero) != LDAP_OPT_SUCCESS) {
		probe_set(p, PS_FAILED, "%s: cannot set the LDAP options", r->url);
		goto out;
	}
	if (starttls && (rc = ldap_start_tls_s(ld, NULL, NULL)) != LDAP_SUCCESS) {
		ldap_get_option(ld, LDAP_OPT_DIAGNOSTIC_MESSAGE, &diag);
		probe_set(p, rc == LDAP_TIMEOUT ? PS_BLOCKED : PS_TLS, "StartTLS: %s%s%s",
			  ldap_err2string(rc), diag != NULL ? ": " : "", diag != NULL ? diag : "");
		goto out;
	}
	rc = ldap_sasl_bind_s(ld, dn != NULL ? dn : "", LDAP_SASL_SIMPLE, &cred, NULL, NULL, NULL);
	if (rc != LDAP_SUCCESS) {
		enum probe_status st = PS_FAILED;

		ldap_get_option(ld, LDAP_OPT_DIAGNOSTIC_MESSAGE, &diag);
		if (rc == LDAP_INVALID_CREDENTIALS || rc == LDAP_INAPPROPRIATE_AUTH ||
		    rc == LDAP_STRONG_AUTH_REQUIRED || rc == LDAP_CONFIDENTIALITY_REQUIRED ||
		    rc == LDAP_INSUFFICIENT_ACCESS || rc == LDAP_UNWILLING_TO_PERFORM)
			st = PS_AUTH;
		else if (ldaps && (rc == LDAP_SERVER_DOWN || rc == LDAP_CONNECT_ERROR))
			st = PS_TLS; /* TCP got through just now: it is the handshake */
		else if (rc == LDAP_TIMEOUT)
			st = PS_BLOCKED;
		probe_set(p, st, "bind as %s: %s%s%s", dn != NULL ? dn : "anonymous",
			  ldap_err2string(rc), diag != NULL ? ": " : "", diag != NULL ? diag : "");
		goto out;
	}
	how = ldaps ? "LDAPS" : starttls ? "StartTLS" : "plain LDAP";
	if (!gc) {
		ret = probe_set(p, PS_OK, "bound as %s over %s", dn != NULL ? dn : "anonymous",
				how);
		goto out;
	}
	{
		static char *attrs[] = {"napHsrRevision", NULL};
		LDAPMessage *res = NULL, *e;
		char base[1024], filter[160];
		struct berval **v;

		snprintf(base, sizeof(base), "%s%s%s",
			 c->dir_container != NULL ? c->dir_container : "",
			 c->dir_container != NULL && c->dir_container[0] != '\0' ? "," : "",
			 c->dir_base != NULL ? c->dir_base : "");
		snprintf(filter, sizeof(filter),
			 "(&(objectClass=napHealthStateReference)(napSiteCode=%s))", c->site);
		rc = ldap_search_ext_s(ld, base, LDAP_SCOPE_ONELEVEL, filter, attrs, 0, NULL, NULL,
				       &tv, 2, &res);
		if (rc != LDAP_SUCCESS) {
			ldap_msgfree(res);
			probe_set(p, rc == LDAP_TIMEOUT ? PS_BLOCKED : PS_FAILED,
				  "search for the HSR of %s under %s: %s", c->site, base,
				  ldap_err2string(rc));
			goto out;
		}
		if ((e = ldap_first_entry(ld, res)) == NULL) {
			ldap_msgfree(res);
			probe_set(p, PS_FAILED,
				  "no HSR entry for site %s under %s (not published yet, or %s may "
				  "not read it)",
				  c->site, base, dn != NULL ? dn : "an anonymous bind");
			goto out;
		}
		v = ldap_get_values_len(ld, e, "napHsrRevision");
		dup = v != NULL && v[0] != NULL ? strndup(v[0]->bv_val, v[0]->bv_len) : NULL;
		ret = probe_set(p, PS_OK, "HSR of %s found (revision %s) as %s over %s", c->site,
				dup != NULL ? dup : "?", dn != NULL ? dn : "anonymous", how);
		free(dup);
		ldap_value_free_len(v);
		ldap_msgfree(res);
	}
out:
	ldap_memfree(diag);
	if (ld != NULL)
		ldap_unbind_ext_s(ld, NULL, NULL);
	if (password != NULL) {
		nap_wipe(password, strlen(password));
		free(password);
	}
	return ret;
}

/* ---- SMB: write and remove a probe file ---- */

#ifdef NAPCTL_HAVE_SMB
static int
probe_smb(struct probe *p)
{
	const struct ports_row *r = p->row;
	struct nap_smb *s = NULL;
	char err[512] = "", url[PORTS_URL_MAX + 64], body[64];
	uint8_t rnd[8];
	size_t ul;
	int fd, e;

	if (r->credentials[0] == '\0')
		return probe_set(p, PS_SKIPPED, "no credentials file for %s%s", r->url,
				 strstr(r->source, "inbox") ? " ([deployment] inbox_credentials)"
							    : "");
	if ((fd = probe_connect(p, SOCK_STREAM)) < 0)
		return -1;
	close(fd);
	if ((e = nap_smb_open(&s, r->credentials, err, sizeof(err))) < 0)
		return probe_set(p, PS_FAILED, "credentials %s: %s", r->credentials, err);
	nap_smb_set_timeout(s, left_ms(p) > 100 ? left_ms(p) : 100);
	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		memset(rnd, 0x5a, sizeof(rnd));
	ul = strlen(r->url);
	snprintf(url, sizeof(url), "%s%snap-check-%02x%02x%02x%02x%02x%02x%02x%02x.probe", r->url,
		 ul > 0 && r->url[ul - 1] == '/' ? "" : "/", rnd[0], rnd[1], rnd[2], rnd[3], rnd[4],
		 rnd[5], rnd[6], rnd[7]);
	snprintf(body, sizeof(body), "napctl check probe\n");
	if ((e = nap_smb_put(s, url, body, strlen(body), err, sizeof(err))) < 0) {
		enum probe_status st = PS_FAILED;

		if (e == -EACCES || e == -EPERM)
			st = PS_AUTH;
		else if (e == -ETIMEDOUT)
			st = PS_BLOCKED;
		else if (e == -ECONNREFUSED)
			st = PS_REFUSED;
		nap_smb_close(s);
		return probe_set(p, st, "write %s: %s", url, err);
	}
	if ((e = nap_smb_unlink(s, url, err, sizeof(err))) < 0) {
		nap_smb_close(s);
		return probe_set(p, PS_FAILED, "wrote %s but cannot remove it: %s", url, err);
	}
	nap_smb_close(s);
	return probe_set(p, PS_OK, "wrote and removed %s (SMB3, signed)", strrchr(url, '/') + 1);
}
#else
static int
probe_smb(struct probe *p)
{
	return probe_set(p, PS_SKIPPED, "napctl was built without the SMB client (lib/smb)");
}
#endif

/* ---- RADIUS Status-Server ---- */

static int
probe_radius(struct probe *p)
{
	const struct nap_siteconf *c = p->conf;
	struct nap_radius_builder b;
	struct nap_radius_packet resp;
	struct nap_err derr = {0};
	uint8_t id, buf[NAP_RADIUS_MAX_LEN], auth[NAP_RADIUS_AUTH_LEN];
	const uint8_t *pkt;
	char *secret = NULL, why[256];
	size_t len;
	int fd, e, ret = -1, sends = 0;
	int64_t resend = 0;

	if (c->dep_radius_secret_file == NULL)
		return probe_set(p, PS_SKIPPED,
				 "no [deployment] radius_secret_file (a secret napvd has for "
				 "this host)");
	if ((e = nap_read_secret_file(c->dep_radius_secret_file, NAP_RADIUS_SECRET_MAX, &secret,
				      NULL, why, sizeof(why))) < 0)
		return probe_set(p, PS_FAILED, "radius_secret_file %s: %s",
				 c->dep_radius_secret_file, why);
	if ((fd = probe_connect(p, SOCK_DGRAM)) < 0)
		goto out;
	if (RAND_bytes(&id, 1) != 1)
		id = 42;
	nap_radius_build_init(&b, NAP_RADIUS_STATUS_SERVER, id, NULL);
	if (nap_radius_add_attr(&b, NAP_RADIUS_NAS_IDENTIFIER, "napctl-check", 12) < 0 ||
	    nap_radius_add_message_authenticator(&b) < 0 ||
	    nap_radius_finish_request(&b, (const uint8_t *)secret, strlen(secret), &pkt, &len) <
		    0) {
		probe_set(p, PS_FAILED, "cannot build the Status-Server packet");
		goto out_fd;
	}
	memcpy(auth, pkt + 4, sizeof(auth));
	for (;;) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		int wait, n;
		ssize_t got;

		/* Send, and once more halfway through the wait (UDP may lose one). */
		if (sends == 0 || (sends == 1 && nap_mono_ms() >= resend)) {
			if (send(fd, pkt, len, 0) < 0) {
				probe_net_error(p, errno);
				goto out_fd;
			}
			sends++;
			resend = nap_mono_ms() + p->timeout_ms / 2;
		}
		wait = left_ms(p);
		if (sends == 1 && resend - nap_mono_ms() < wait)
			wait = (int)(resend - nap_mono_ms() > 0 ? resend - nap_mono_ms() : 0);
		if (left_ms(p) == 0) {
			probe_net_error(p, ETIMEDOUT);
			goto out_fd;
		}
		if ((n = poll(&pfd, 1, wait)) <= 0)
			continue;
		if ((got = recv(fd, buf, sizeof(buf), 0)) < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			probe_net_error(p, errno);
			goto out_fd;
		}
		if (nap_radius_decode(buf, (size_t)got, &resp, &derr) < 0 || resp.id != id)
			continue; /* not ours: keep waiting */
		if (nap_radius_verify_response(&resp, auth, (const uint8_t *)secret,
					       strlen(secret)) < 0) {
			probe_set(p, PS_AUTH,
				  "the reply does not verify with radius_secret_file's secret "
				  "(napvd has another secret for this host)");
			goto out_fd;
		}
		if (resp.code != NAP_RADIUS_ACCESS_ACCEPT) {
			probe_set(p, PS_FAILED,
				  "Status-Server answered with code %u, not "
				  "Access-Accept",
				  resp.code);
			goto out_fd;
		}
		ret = probe_set(p, PS_OK, "Status-Server answered (Access-Accept, authenticated)");
		break;
	}
out_fd:
	close(fd);
out:
	nap_wipe(secret, strlen(secret));
	free(secret);
	return ret;
}

/* ---- HTTP(S): TLS handshake and GET / ---- */

static void
tls_error(struct probe *p, SSL *ssl, const char *what)
{
	unsigned long e = ERR_get_error();
	long vr = ssl != NULL ? SSL_get_verify_result(ssl) : X509_V_OK;
	char buf[256] = "";

	if (e != 0)
		ERR_error_string_n(e, buf, sizeof(buf));
	if (vr != X509_V_OK)
		probe_set(p, PS_TLS, "%s: certificate not trusted: %s", what,
			  X509_verify_cert_error_string(vr));
	else
		probe_set(p, PS_TLS, "%s: %s", what,
			  buf[0] != '\0' ? buf : "the peer closed the connection");
	ERR_clear_error();
}

static bool
numeric_host(const char *h)
{
	unsigned char a[16];

	return inet_pton(AF_INET, h, a) == 1 || inet_pton(AF_INET6, h, a) == 1;
}

static int
probe_http(struct probe *p)
{
	const struct nap_siteconf *c = p->conf;
	const struct ports_row *r = p->row;
	bool tls = strncasecmp(r->url, "https:", 6) == 0;
	const char *ca = c->dep_ca_file != NULL ? c->dep_ca_file : c->dir_ca_file;
	const char *path = strchr(r->url + strlen(tls ? "https://" : "http://"), '/');
	char req[PORTS_URL_MAX + 256], resp[256], ver[64] = "";
	SSL_CTX *ctx = NULL;
	SSL *ssl = NULL;
	size_t got = 0;
	int fd, ret = -1, code;
	bool ok;

	if (r->url[0] == '\0')
		return probe_set(p, PS_SKIPPED,
				 "the site server's address is unknown (listen is a "
				 "wildcard: set [deployment] site_host)");
	if ((fd = probe_connect(p, SOCK_STREAM)) < 0)
		return -1;
	snprintf(req, sizeof(req),
		 "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: napctl-check\r\nConnection: "
		 "close\r\n\r\n",
		 path != NULL ? path : "/", r->host);
	if (tls) {
		if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL) {
			tls_error(p, NULL, "TLS context");
			goto out;
		}
		SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
		if ((ca != NULL ? SSL_CTX_load_verify_locations(ctx, ca, NULL)
				: SSL_CTX_set_default_verify_paths(ctx)) != 1) {
			probe_set(p, PS_FAILED, "cannot load the CA certificates%s%s",
				  ca != NULL ? " of " : "", ca != NULL ? ca : "");
			goto out;
		}
		if ((ssl = SSL_new(ctx)) == NULL || SSL_set_fd(ssl, fd) != 1) {
			tls_error(p, ssl, "TLS setup");
			goto out;
		}
		/* An address is checked against the IP SANs and sent without SNI (RFC 6066 §3);
		 * a name against the DNS SANs. */
		if (numeric_host(r->host))
			ok = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), r->host) == 1;
		else
			ok = SSL_set1_host(ssl, r->host) == 1 &&
			     SSL_set_tlsext_host_name(ssl, r->host) == 1;
		if (!ok) {
			tls_error(p, ssl, "TLS setup");
			goto out;
		}
		if (SSL_connect(ssl) != 1) {
			if (left_ms(p) == 0) {
				probe_set(p, PS_BLOCKED,
					  "TCP connected but no TLS handshake in %lld ms (a "
					  "firewall or proxy in the way?)",
					  (long long)p->timeout_ms);
				goto out;
			}
			tls_error(p, ssl, "TLS handshake");
			goto out;
		}
		snprintf(ver, sizeof(ver), "%s, certificate verified, ", SSL_get_version(ssl));
		if (SSL_write(ssl, req, (int)strlen(req)) <= 0) {
			tls_error(p, ssl, "TLS write");
			goto out;
		}
		while (got < sizeof(resp) - 1) {
			int n = SSL_read(ssl, resp + got, (int)(sizeof(resp) - 1 - got));

			if (n <= 0)
				break;
			got += (size_t)n;
			if (memchr(resp, '\n', got) != NULL)
				break;
		}
	} else {
		if (send(fd, req, strlen(req), MSG_NOSIGNAL) < 0) {
			probe_net_error(p, errno);
			goto out;
		}
		while (got < sizeof(resp) - 1) {
			ssize_t n = recv(fd, resp + got, sizeof(resp) - 1 - got, 0);

			if (n <= 0)
				break;
			got += (size_t)n;
			if (memchr(resp, '\n', got) != NULL)
				break;
		}
	}
	resp[got] = '\0';
	if (sscanf(resp, "HTTP/1.%*[01] %3d", &code) != 1 || code < 100 || code > 599) {
		probe_set(p, got == 0 && left_ms(p) == 0 ? PS_BLOCKED : PS_FAILED,
			  "%sno HTTP status line in the reply to GET %s", ver,
			  path != NULL ? path : "/");
		goto out;
	}
	ret = probe_set(p, PS_OK, "%sGET %s: HTTP %d", ver, path != NULL ? path : "/", code);
out:
	if (ssl != NULL) {
		SSL_shutdown(ssl);
		SSL_free(ssl);
	}
	SSL_CTX_free(ctx);
	close(fd);
	return ret;
}

static const char *const probe_names[] = {
	[PORTS_PROBE_NONE] = "",   [PORTS_PROBE_LDAP] = "ldap",     [PORTS_PROBE_GC] = "gc",
	[PORTS_PROBE_SMB] = "smb", [PORTS_PROBE_RADIUS] = "radius", [PORTS_PROBE_HTTP] = "http",
};

int
cmd_check(const struct ctl_cmd *cmd, int argc, char *argv[])
{
	struct ports_opts o = {0};
	struct ports_ctx x;
	json_t *arr = NULL;
	size_t n = 0, passed = 0;
	int r;

	if ((r = ports_options(cmd, argc, argv, &o)) >= 0)
		return r;
	if (o.roles != NULL || o.output != NULL)
		return ctl_usage_error(cmd, "--role and -o belong to napctl firewall");
	if ((r = ports_load(&x, "check", &o)) != 0) {
		ports_unload(&x);
		return r;
	}
	if (o.json && (arr = json_array()) == NULL) {
		ports_unload(&x);
		return ctl_error("check: out of memory");
	}
	for (size_t i = 0; i < x.m.n; i++) {
		const struct ports_row *row = &x.m.rows[i];
		struct probe p = {.row = row, .conf = x.site.conf, .timeout_ms = o.timeout_ms};
		char ft[128], ep[PORTS_HOST_MAX + 16];
		int64_t t0;

		if (row->probe == PORTS_PROBE_NONE)
			continue;
		t0 = nap_mono_ms();
		p.deadline_ms = t0 + o.timeout_ms;
		switch (row->probe) {
		case PORTS_PROBE_LDAP:
		case PORTS_PROBE_GC:
			probe_ldap(&p);
			break;
		case PORTS_PROBE_SMB:
			probe_smb(&p);
			break;
		case PORTS_PROBE_RADIUS:
			probe_radius(&p);
			break;
		default:
			probe_http(&p);
			break;
		}
		n++;
		passed += p.st == PS_OK;
		snprintf(ft, sizeof(ft), "%s -> %s", ports_role_title(row->from),
			 ports_role_title(row->to));
		snprintf(ep, sizeof(ep), strchr(row->host, ':') ? "[%s]:%u %s" : "%s:%u %s",
			 row->host[0] ? row->host : "?", row->port, proto_lc(row));
		if (arr != NULL)
			json_array_append_new(
				arr, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I}", "probe",
					       probe_names[row->probe], "from_to", ft, "endpoint",
					       ep, "url", row->url, "result",
					       probe_status_names[p.st], "why", p.why, "source",
					       row->source, "ms", (json_int_t)(nap_mono_ms() - t0)));
		else
			printf("%-7s %-32s %-26s %-12s %s\n", probe_names[row->probe], ft, ep,
			       probe_status_names[p.st], p.why);
		fflush(stdout);
	}
	if (arr != NULL) {
		json_t *root = json_pack("{s:s, s:b, s:I, s:I, s:o}", "site", x.site.conf->site,
					 "ok", passed == n, "probes", (json_int_t)n, "passed",
					 (json_int_t)passed, "results", arr);

		r = ctl_json_print(root);
	} else if (n == 0) {
		printf("nothing to probe: no peers configured (napctl ports shows the matrix)\n");
	} else {
		printf("%zu of %zu probes passed\n", passed, n);
	}
	ports_unload(&x);
	if (r != 0)
		return r;
	return passed == n ? 0 : NAPCTL_EXIT_ERROR;
}
