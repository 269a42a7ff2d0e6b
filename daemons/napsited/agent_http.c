// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * The agent policy endpoint: HTTPS with libmicrohttpd (GnuTLS), one internal polling thread,
 * client certificates from the agent CA (enroll.c). Routes: POST /v1/enroll, GET /v1/policy,
 * POST /v1/state (agent.h). Handles untrusted input: requests from the network, client
 * certificates, enrollment tokens and CSRs, state bodies.
 *
 * One "instance" is a running libmicrohttpd daemon with everything it uses: the CA, the TLS
 * certificate and key, its own store connection (used from its thread only), the settings it was
 * built with. Nothing of it points into napsited's configuration, which a reload replaces.
 *
 * Reload without dropping requests: libmicrohttpd cannot change certificates in a running
 * daemon, so a reload builds a new instance and starts it on a dup() of the listening socket the
 * running one uses (the same socket, not SO_REUSEPORT: with SO_REUSEPORT each socket has its own
 * accept queue, and connections waiting in the old one's are reset when it closes). For a moment
 * both daemons accept from the one queue; then the old one is quiesced (MHD_quiesce_daemon: it
 * stops accepting but serves what it has) and a drain thread stops it once its connections are
 * finished, or after NAPSITED_AGENT_CONN_TIMEOUT + AGENT_DRAIN_MARGIN at the latest. A changed
 * listen address gets a new socket instead. Whatever fails before the old instance is quiesced
 * leaves it running untouched; nothing can fail after that.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <netdb.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <jansson.h>
#include <microhttpd.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "nap/log.h"
#include "nap/siteconf.h"
#include "nap/store.h"
#include "nap/util.h"
#include "agent.h"
#include "napsited.h"

#define AGENT_DRAIN_MARGIN  5    /* seconds past the connection timeout */
#define AGENT_DRAIN_POLL_MS 100
#define AGENT_BACKLOG       256
#define AGENT_TLS_PRIORITY  "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"
#define AGENT_PEM_MAX       (256 * 1024)
#define AGENT_JSON          "application/json"
#define AGENT_DROP_MAX      (1024 * 1024) /* body bytes past the limit read before closing */

struct agent_instance {
	struct napsited *sd;
	struct MHD_Daemon *mhd;
	char *listen;          /* the [agent] listen text it was started with */
	struct napsited_agent_ca *ca;
	char *tls_cert, *tls_key; /* PEM text; libmicrohttpd keeps pointers into them */
	size_t tls_key_len;
	char *store_uri;
	struct nap_store *store; /* opened lazily in the daemon's thread, reopened after -EIO */
	int64_t cert_lifetime;
	/* draining */
	int quiesced_fd;
	pthread_t drain;
	bool drained;
	struct agent_instance *next;
};

struct napsited_agent {
	struct agent_instance *cur;
	pthread_mutex_t lock; /* the draining list, stopping */
	pthread_cond_t cond;
	bool stopping;
	struct agent_instance *draining;
};

/* One request's state across libmicrohttpd's calls. */
struct agent_req {
	const struct agent_route *route;
	char client[NAP_CLIENT_NAME_MAX + 1]; /* from the certificate, authenticated routes */
	uint8_t *body;
	size_t len, cap;
	size_t dropped; /* bytes past the limit, thrown away */
	bool too_large, replied;
};

typedef enum MHD_Result (*agent_handler)(struct agent_instance *, struct MHD_Connection *,
					 struct agent_req *);

struct agent_route {
	const char *path;
	const char *method;
	bool auth;
	bool body;
	agent_handler handler;
};

static enum MHD_Result agent_enroll(struct agent_instance *, struct MHD_Connection *,
				    struct agent_req *);
static enum MHD_Result agent_policy(struct agent_instance *, struct MHD_Connection *,
				    struct agent_req *);
static enum MHD_Result agent_state(struct agent_instance *, struct MHD_Connection *,
				   struct agent_req *);

static const struct agent_route agent_routes[] = {
	{"/v1/enroll", MHD_HTTP_METHOD_POST, false, true, agent_enroll},
	{"/v1/policy", MHD_HTTP_METHOD_GET, true, false, agent_policy},
	{"/v1/state", MHD_HTTP_METHOD_POST, true, true, agent_state},
};

/* napsited's counters, shared with its other threads. */
#define AGENT_COUNT(in, field)                                                                     \
	atomic_fetch_add_explicit(&(in)->sd->m.field, 1, memory_order_relaxed)

/* ---- replies ---------------------------------------------------------------------------- */

static enum MHD_Result
agent_send(struct MHD_Connection *conn, unsigned status, struct MHD_Response *resp)
{
	enum MHD_Result r;

	if (resp == NULL)
		return MHD_NO;
	/* The policy may be kept, if revalidated (ETag); everything else is one-off. */
	if (MHD_get_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL) == NULL)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	r = MHD_queue_response(conn, status, resp);
	MHD_destroy_response(resp);
	return r;
}

/* Hand a malloc'ed body to libmicrohttpd, which frees it. */
static enum MHD_Result
agent_send_body(struct MHD_Connection *conn, unsigned status, char *body, size_t len,
		const char *ctype)
{
	struct MHD_Response *resp;

	resp = MHD_create_response_from_buffer_with_free_callback(len, body, free);
	if (resp == NULL) {
		free(body);
		return MHD_NO;
	}
	if (ctype != NULL)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	return agent_send(conn, status, resp);
}

static enum MHD_Result
agent_send_json(struct MHD_Connection *conn, unsigned status, json_t *obj)
{
	char *text = obj != NULL ? json_dumps(obj, JSON_COMPACT) : NULL;
	size_t n;

	json_decref(obj);
	if (text == NULL)
		return MHD_NO;
	n = strlen(text);
	return agent_send_body(conn, status, text, n, AGENT_JSON);
}

/* {"error": message}; the message is ours (any sender bytes in it were made printable). */
static enum MHD_Result
agent_error(struct MHD_Connection *conn, unsigned status, const char *msg)
{
	return agent_send_json(conn, status, json_pack("{ss}", "error", msg));
}

static enum MHD_Result
agent_empty(struct MHD_Connection *conn, unsigned status, struct MHD_Response **out)
{
	struct MHD_Response *resp = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);

	if (out != NULL) {
		*out = resp;
		return MHD_YES;
	}
	return agent_send(conn, status, resp);
}

/* ---- the store -------------------------------------------------------------------------- */

static struct nap_store *
agent_store(struct agent_instance *in)
{
	struct nap_store_err e = {{0}};

	if (in->store == NULL && nap_store_open(in->store_uri, &in->store, &e) < 0) {
		LOG_WARNX_RL("agent: store %s: %s", in->store_uri, e.msg);
		in->store = NULL;
	}
	return in->store;
}

/* A backend error may be a broken connection (PostgreSQL restarted): reopen next time. */
static void
agent_store_failed(struct agent_instance *in, int r, const struct nap_store_err *e)
{
	LOG_WARNX_RL("agent: store: %s", e->msg[0] != '\0' ? e->msg : strerror(-r));
	if (r == -EIO) {
		nap_store_close(in->store);
		in->store = NULL;
	}
}

/* ---- client certificates ---------------------------------------------------------------- */

/*
 * The client of an authenticated request: the peer certificate verifies against the agent CA
 * (gnutls, with the trust the daemon was given), its serial is in the store, not revoked and not
 * expired, and the store's client is the certificate's CN. 0, or the HTTP status to answer.
 */
static unsigned
agent_auth(struct agent_instance *in, struct MHD_Connection *conn, char client[], char *why,
	   size_t why_len)
{
	const union MHD_ConnectionInfo *ci;
	const gnutls_datum_t *peers;
	gnutls_session_t s;
	gnutls_x509_crt_t crt = NULL;
	struct nap_agent_cert rec;
	struct nap_store_err e = {{0}};
	struct nap_store *st;
	unsigned n = 0, status = 0, http = MHD_HTTP_FORBIDDEN;
	uint8_t serial[40];
	char hex[65], cn[NAP_CLIENT_NAME_MAX + 2];
	size_t serial_len = sizeof(serial), cn_len = sizeof(cn);
	int r;

	ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
	if (ci == NULL || ci->tls_session == NULL) {
		snprintf(why, why_len, "no TLS session");
		return MHD_HTTP_UNAUTHORIZED;
	}
	s = (gnutls_session_t)ci->tls_session;
	if (gnutls_certificate_type_get(s) != GNUTLS_CRT_X509 ||
	    (peers = gnutls_certificate_get_peers(s, &n)) == NULL || n == 0) {
		snprintf(why, why_len, "a client certificate is required");
		return MHD_HTTP_UNAUTHORIZED;
	}
	r = gnutls_certificate_verify_peers2(s, &status);
	if (r < 0 || status != 0) {
		gnutls_datum_t txt = {NULL, 0};

		if (r == 0 && gnutls_certificate_verification_status_print(
				      status, GNUTLS_CRT_X509, &txt, 0) == 0) {
			snprintf(why, why_len, "certificate: %s", (const char *)txt.data);
			gnutls_free(txt.data);
		} else {
			snprintf(why, why_len, "certificate: %s",
				 r < 0 ? gnutls_strerror(r) : "does not verify");
		}
		return MHD_HTTP_FORBIDDEN;
	}
	if (gnutls_x509_crt_init(&crt) < 0)
		goto fail_internal;
	if (gnutls_x509_crt_import(crt, &peers[0], GNUTLS_X509_FMT_DER) < 0 ||
	    gnutls_x509_crt_get_serial(crt, serial, &serial_len) < 0 ||
	    napsited_agent_serial_hex(serial, serial_len, hex) < 0 ||
	    gnutls_x509_crt_get_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, 0, cn, &cn_len) < 0) {
		snprintf(why, why_len, "certificate: no usable serial or common name");
		goto out;
	}
	st = agent_store(in);
	if (st == NULL) {
		snprintf(why, why_len, "store unavailable");
		http = MHD_HTTP_SERVICE_UNAVAILABLE;
		goto out;
	}
	r = nap_store_agent_cert_get(st, hex, &rec, &e);
	if (r == -ENOENT) {
		snprintf(why, why_len, "certificate %s was not issued here", hex);
		goto out;
	}
	if (r < 0) {
		agent_store_failed(in, r, &e);
		snprintf(why, why_len, "store unavailable");
		http = MHD_HTTP_SERVICE_UNAVAILABLE;
		goto out;
	}
	if (rec.revoked) {
		snprintf(why, why_len, "certificate %s of %s is revoked", hex, rec.client);
		goto out;
	}
	if (rec.not_after <= (int64_t)time(NULL)) {
		snprintf(why, why_len, "certificate %s of %s has expired", hex, rec.client);
		goto out;
	}
	if (strcmp(rec.client, cn) != 0) {
		snprintf(why, why_len, "certificate %s: its name does not match the store's", hex);
		goto out;
	}
	memcpy(client, rec.client, sizeof(rec.client));
	http = 0;
out:
	gnutls_x509_crt_deinit(crt);
	return http;
fail_internal:
	snprintf(why, why_len, "out of memory");
	return MHD_HTTP_INTERNAL_SERVER_ERROR;
}

/* ---- routes ----------------------------------------------------------------------------- */

static enum MHD_Result
agent_bad_request(struct agent_instance *in, struct MHD_Connection *conn, const char *what,
		  const char *msg)
{
	const union MHD_ConnectionInfo *ci;
	char addr[64] = "?";

	ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (ci != NULL && ci->client_addr != NULL)
		getnameinfo(ci->client_addr,
			    ci->client_addr->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
								   : sizeof(struct sockaddr_in),
			    addr, sizeof(addr), NULL, 0, NI_NUMERICHOST);
	AGENT_COUNT(in, agent_bad_requests);
	LOG_WARNX_RL("agent: %s from %s: %s", what, addr, msg);
	return agent_error(conn, MHD_HTTP_BAD_REQUEST, msg);
}

static enum MHD_Result
agent_enroll_failed(struct agent_instance *in, struct MHD_Connection *conn, unsigned status,
		    const char *msg)
{
	AGENT_COUNT(in, agent_enroll_error);
	LOG_WARNX_RL("agent: enrollment refused: %s", msg);
	return agent_error(conn, status, msg);
}

static enum MHD_Result
agent_enroll(struct agent_instance *in, struct MHD_Connection *conn, struct agent_req *rq)
{
	struct nap_store_err e = {{0}};
	struct nap_agent_cert rec;
	struct nap_store *st;
	json_error_t jerr;
	json_t *root, *token, *csr;
	X509_REQ *req = NULL;
	uint8_t hash[32];
	char client[NAP_CLIENT_NAME_MAX + 1], msg[256], *pem = NULL;
	int64_t now = (int64_t)time(NULL);
	enum MHD_Result res;
	int r;

	root = rq->len == 0 ? NULL
			    : json_loadb((const char *)rq->body, rq->len, JSON_REJECT_DUPLICATES,
					 &jerr);
	if (root == NULL) {
		AGENT_COUNT(in, agent_enroll_error);
		return agent_bad_request(in, conn, "enroll", "bad JSON");
	}
	token = json_object_get(root, "token");
	csr = json_object_get(root, "csr");
	if (!json_is_object(root) || json_object_size(root) != 2 || !json_is_string(token) ||
	    !json_is_string(csr)) {
		json_decref(root);
		AGENT_COUNT(in, agent_enroll_error);
		return agent_bad_request(in, conn, "enroll",
					 "the body must be {\"token\": hex, \"csr\": PEM}");
	}
	if (napsited_enroll_token_hash(json_string_value(token), json_string_length(token), hash) <
	    0) {
		json_decref(root);
		AGENT_COUNT(in, agent_enroll_error);
		return agent_bad_request(in, conn, "enroll", "the token must be 64 hex characters");
	}
	/* The request is checked before the token is spent: a bad CSR leaves it usable. */
	r = napsited_enroll_csr_check(json_string_value(csr), json_string_length(csr), &req, msg,
				      sizeof(msg));
	json_decref(root);
	if (r < 0) {
		AGENT_COUNT(in, agent_enroll_error);
		return agent_bad_request(in, conn, "enroll", msg);
	}
	st = agent_store(in);
	if (st == NULL) {
		X509_REQ_free(req);
		return agent_enroll_failed(in, conn, MHD_HTTP_SERVICE_UNAVAILABLE,
					   "store unavailable");
	}
	r = nap_store_token_use(st, hash, now, client, &e);
	if (r < 0) {
		X509_REQ_free(req);
		switch (r) {
		case -ENOENT:
			return agent_enroll_failed(in, conn, MHD_HTTP_FORBIDDEN, "unknown token");
		case -ESTALE:
			return agent_enroll_failed(in, conn, MHD_HTTP_FORBIDDEN, "expired");
		case -EALREADY:
			return agent_enroll_failed(in, conn, MHD_HTTP_CONFLICT,
						   "token already used");
		default:
			agent_store_failed(in, r, &e);
			return agent_enroll_failed(in, conn, MHD_HTTP_SERVICE_UNAVAILABLE,
						   "store unavailable");
		}
	}
	r = napsited_enroll_issue(in->ca, req, client, now, in->cert_lifetime, &pem, &rec, msg,
				  sizeof(msg));
	X509_REQ_free(req);
	if (r < 0) {
		log_warnx("agent: issuing a certificate for %s: %s", client, msg);
		return agent_enroll_failed(in, conn, MHD_HTTP_INTERNAL_SERVER_ERROR,
					   "cannot issue the certificate");
	}
	r = nap_store_agent_cert_add(st, &rec, &e);
	if (r < 0) {
		free(pem);
		agent_store_failed(in, r, &e);
		return agent_enroll_failed(in, conn, MHD_HTTP_SERVICE_UNAVAILABLE,
					   "store unavailable");
	}
	log_info("agent: enrolled %s, certificate %s", client, rec.serial);
	AGENT_COUNT(in, agent_enroll_ok);
	res = agent_send_json(conn, MHD_HTTP_OK,
			      json_pack("{ssss}", "certificate", pem, "ca",
					napsited_agent_ca_pem(in->ca)));
	free(pem);
	return res;
}

/*
 * If-None-Match (RFC 9110 13.1.2, weak comparison): "*" or a list of entity tags, quoted as they
 * should be or bare as some clients send them. The header is the sender's: every round moves on
 * by at least one character and none goes past the terminating NUL.
 */
bool
napsited_agent_etag_match(const char *inm, const char *etag)
{
	size_t n = strlen(etag);
	const char *p = inm, *start;

	for (;;) {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (*p == '\0')
			return false;
		if (*p == '*')
			return true;
		if (strncmp(p, "W/", 2) == 0)
			p += 2;
		start = p;
		if (*p == '"') {
			p++;
			while (*p != '\0' && *p != '"')
				p++;
			if (*p == '"')
				p++;
		} else {
			while (*p != '\0' && *p != ',' && *p != ' ' && *p != '\t')
				p++;
		}
		if ((size_t)(p - start) == n && strncmp(start, etag, n) == 0)
			return true;
		if (p == start) { /* "W/" before a separator or the end */
			if (*p == '\0')
				return false;
			p++;
		}
	}
}

static void
agent_hsr_release(void *cls)
{
	napsited_hsr_put(cls);
}

static enum MHD_Result
agent_policy(struct agent_instance *in, struct MHD_Connection *conn, struct agent_req *rq)
{
	struct MHD_Response *resp;
	struct napsited_hsr *h;
	const char *inm;
	char etag[32], rev[24];
	unsigned status;

	(void)rq;
	h = napsited_hsr_get(in->sd);
	if (h == NULL)
		return agent_error(conn, MHD_HTTP_SERVICE_UNAVAILABLE,
				   "no policy document signed yet");
	snprintf(rev, sizeof(rev), "%llu", (unsigned long long)h->revision);
	snprintf(etag, sizeof(etag), "\"%s\"", rev);
	AGENT_COUNT(in, agent_policy_fetches);
	inm = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_IF_NONE_MATCH);
	if (inm != NULL && napsited_agent_etag_match(inm, etag)) {
		napsited_hsr_put(h);
		agent_empty(conn, 0, &resp);
		status = MHD_HTTP_NOT_MODIFIED;
	} else {
		/* The document itself, not a copy: the reference goes when the response does. */
		resp = MHD_create_response_from_buffer_with_free_callback_cls(
			h->len, h->doc, agent_hsr_release, h);
		if (resp == NULL) {
			napsited_hsr_put(h);
			return MHD_NO;
		}
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, AGENT_JSON);
		status = MHD_HTTP_OK;
	}
	if (resp == NULL)
		return MHD_NO;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, etag);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
	MHD_add_response_header(resp, "X-Nap-Revision", rev);
	return agent_send(conn, status, resp);
}

static enum MHD_Result
agent_state(struct agent_instance *in, struct MHD_Connection *conn, struct agent_req *rq)
{
	struct nap_agent_state s;
	struct nap_store_err e = {{0}};
	struct nap_store *st;
	char msg[256];
	int r;

	r = napsited_state_parse(rq->body, rq->len, &s, msg, sizeof(msg));
	if (r < 0)
		return agent_bad_request(in, conn, "state", msg);
	memcpy(s.client, rq->client, sizeof(s.client));
	s.received = (int64_t)time(NULL);
	st = agent_store(in);
	if (st == NULL) {
		free(s.detail);
		return agent_error(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "store unavailable");
	}
	r = nap_store_agent_state_put(st, &s, &e);
	free(s.detail);
	if (r == -EINVAL)
		return agent_bad_request(in, conn, "state", e.msg);
	if (r < 0) {
		agent_store_failed(in, r, &e);
		return agent_error(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "store unavailable");
	}
	AGENT_COUNT(in, agent_checkins);
	log_debug("agent: state of %s: %d%s, revision %llu", s.client, (int)s.state,
		  s.compliant ? " compliant" : "", (unsigned long long)s.hsr_revision);
	return agent_empty(conn, MHD_HTTP_NO_CONTENT, NULL);
}

/* ---- libmicrohttpd callbacks ------------------------------------------------------------ */

static const struct agent_route *
agent_route_find(const char *url, const char *method, bool *path_known)
{
	*path_known = false;
	for (size_t i = 0; i < NAP_ARRAY_SIZE(agent_routes); i++) {
		if (strcmp(url, agent_routes[i].path) != 0)
			continue;
		*path_known = true;
		if (strcmp(method, agent_routes[i].method) == 0)
			return &agent_routes[i];
	}
	return NULL;
}

/*
 * The first call, headers only: route, authenticate, refuse a declared body that is too large.
 * True when a reply was queued there (*res is libmicrohttpd's answer), false to go on.
 */
static bool
agent_first_call(struct agent_instance *in, struct MHD_Connection *conn, const char *url,
		 const char *method, struct agent_req *rq, enum MHD_Result *res)
{
	const struct agent_route *rt;
	const char *cl;
	bool known;
	unsigned status;
	char why[NAP_CLIENT_NAME_MAX + 160];

	rt = agent_route_find(url, method, &known);
	if (rt == NULL && known) {
		struct MHD_Response *resp = NULL;

		agent_empty(conn, 0, &resp);
		if (resp != NULL)
			MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW,
						strcmp(url, "/v1/policy") == 0 ? "GET" : "POST");
		*res = agent_send(conn, MHD_HTTP_METHOD_NOT_ALLOWED, resp);
		return true;
	}
	if (rt == NULL) {
		*res = agent_error(conn, MHD_HTTP_NOT_FOUND, "no such resource");
		return true;
	}
	rq->route = rt;
	if (rt->auth) {
		status = agent_auth(in, conn, rq->client, why, sizeof(why));
		if (status == MHD_HTTP_SERVICE_UNAVAILABLE) {
			AGENT_COUNT(in, store_errors);
			*res = agent_error(conn, status, why);
			return true;
		}
		if (status != 0) {
			AGENT_COUNT(in, agent_auth_failures);
			LOG_WARNX_RL("agent: %s %s refused: %s", method, url, why);
			*res = agent_error(conn, status, why);
			return true;
		}
	}
	cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (cl != NULL && strtoull(cl, NULL, 10) > (rt->body ? NAPSITED_AGENT_BODY_MAX : 0)) {
		AGENT_COUNT(in, agent_bad_requests);
		LOG_WARNX_RL("agent: %s %s: body of %.20s bytes refused", method, url, cl);
		*res = agent_error(conn, MHD_HTTP_CONTENT_TOO_LARGE, "body too large");
		return true;
	}
	return false;
}

static enum MHD_Result
agent_access(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
	     const char *version, const char *upload_data, size_t *upload_data_size,
	     void **req_cls)
{
	struct agent_instance *in = cls;
	struct agent_req *rq = *req_cls;
	enum MHD_Result res = MHD_YES;

	(void)version;
	if (rq == NULL) {
		rq = calloc(1, sizeof(*rq));
		if (rq == NULL)
			return MHD_NO;
		*req_cls = rq;
		rq->replied = agent_first_call(in, conn, url, method, rq, &res);
		return res;
	}
	if (rq->replied) {
		*upload_data_size = 0; /* a reply is queued: what still comes is dropped */
		return MHD_YES;
	}
	if (*upload_data_size != 0) {
		size_t n = *upload_data_size;

		/*
		 * A body past the limit that did not announce itself (chunked): libmicrohttpd takes a
		 * reply only once the request is in, so drop what comes and answer 413 then; a
		 * sender that goes on far beyond the limit loses the connection instead.
		 */
		if (rq->too_large || !rq->route->body || n > NAPSITED_AGENT_BODY_MAX - rq->len) {
			rq->too_large = true;
			rq->dropped += n;
			*upload_data_size = 0;
			if (rq->dropped > AGENT_DROP_MAX) {
				AGENT_COUNT(in, agent_bad_requests);
				LOG_WARNX_RL("agent: %s %s: endless body, connection closed", method,
					     url);
				return MHD_NO;
			}
			return MHD_YES;
		}
		if (rq->len + n > rq->cap) {
			size_t cap = rq->cap == 0 ? 4096 : rq->cap;
			uint8_t *p;

			while (cap < rq->len + n)
				cap *= 2;
			if (cap > NAPSITED_AGENT_BODY_MAX)
				cap = NAPSITED_AGENT_BODY_MAX;
			p = realloc(rq->body, cap);
			if (p == NULL)
				return MHD_NO;
			rq->body = p;
			rq->cap = cap;
		}
		memcpy(rq->body + rq->len, upload_data, n);
		rq->len += n;
		*upload_data_size = 0;
		return MHD_YES;
	}
	rq->replied = true;
	if (rq->too_large) {
		AGENT_COUNT(in, agent_bad_requests);
		LOG_WARNX_RL("agent: %s %s: body larger than %d bytes", method, url,
			     NAPSITED_AGENT_BODY_MAX);
		return agent_error(conn, MHD_HTTP_CONTENT_TOO_LARGE, "body too large");
	}
	return rq->route->handler(in, conn, rq);
}

static void
agent_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
		enum MHD_RequestTerminationCode toe)
{
	struct agent_req *rq = *req_cls;

	(void)cls;
	(void)conn;
	(void)toe;
	if (rq == NULL)
		return;
	free(rq->body);
	free(rq);
	*req_cls = NULL;
}

/* ---- instances -------------------------------------------------------------------------- */

static void
agent_instance_free(struct agent_instance *in)
{
	if (in == NULL)
		return;
	if (in->mhd != NULL)
		MHD_stop_daemon(in->mhd);
	if (in->quiesced_fd >= 0)
		close(in->quiesced_fd);
	nap_store_close(in->store);
	napsited_agent_ca_free(in->ca);
	free(in->tls_cert);
	if (in->tls_key != NULL)
		nap_wipe(in->tls_key, in->tls_key_len);
	free(in->tls_key);
	free(in->store_uri);
	free(in->listen);
	free(in);
}

static int
agent_read_pem(const char *path, char **out, size_t *out_len, char *err, size_t len)
{
	uint8_t *buf;
	size_t n;
	int r = nap_read_file(path, AGENT_PEM_MAX, &buf, &n);

	if (r < 0) {
		snprintf(err, len, "agent: %s: %s", path, strerror(-r));
		return r;
	}
	/* libmicrohttpd takes NUL-terminated text. */
	*out = malloc(n + 1);
	if (*out == NULL) {
		nap_wipe(buf, n);
		free(buf);
		return -ENOMEM;
	}
	memcpy(*out, buf, n);
	(*out)[n] = '\0';
	nap_wipe(buf, n);
	free(buf);
	*out_len = n;
	return 0;
}

/*
 * The endpoint's own certificate and key, checked with OpenSSL first: libmicrohttpd's own
 * failure to load them says little.
 */
static char *
agent_path_default(const char *set, const char *state_dir, const char *name)
{
	char *p;

	if (set != NULL)
		return strdup(set);
	if (asprintf(&p, "%s/%s", state_dir != NULL ? state_dir : "/var/lib/nap", name) < 0)
		return NULL;
	return p;
}

/* Everything but the daemon: a failure here leaves the running endpoint as it is. */
static int
agent_instance_new(struct napsited *sd, struct agent_instance **out, char *err, size_t len)
{
	const struct nap_siteconf *c = sd->conf;
	struct agent_instance *in = calloc(1, sizeof(*in));
	char *ca_cert = NULL, *ca_key = NULL;
	size_t n;
	int r;

	if (in == NULL)
		return -ENOMEM;
	in->sd = sd;
	in->quiesced_fd = -1;
	in->cert_lifetime = c->agent_cert_lifetime;
	in->listen = strdup(c->agent_listen);
	in->store_uri = strdup(c->store_uri);
	ca_cert = agent_path_default(c->agent_ca_cert, c->state_dir, "agent-ca.pem");
	ca_key = agent_path_default(c->agent_ca_key, c->state_dir, "agent-ca.key");
	r = -ENOMEM;
	if (in->listen == NULL || in->store_uri == NULL || ca_cert == NULL || ca_key == NULL)
		goto fail;
	r = napsited_agent_ca_load(ca_cert, ca_key, c->site, c->user, (int64_t)time(NULL), &in->ca,
				   err, len);
	if (r < 0)
		goto fail;
	r = agent_read_pem(c->agent_cert, &in->tls_cert, &n, err, len);
	if (r < 0)
		goto fail;
	r = agent_read_pem(c->agent_key, &in->tls_key, &in->tls_key_len, err, len);
	if (r < 0)
		goto fail;
	r = nap_tls_pair_check(in->tls_cert, in->tls_key, c->agent_cert, c->agent_key, "agent", err,
			       len);
	if (r < 0)
		goto fail;
	free(ca_cert);
	free(ca_key);
	*out = in;
	return 0;
fail:
	free(ca_cert);
	free(ca_key);
	agent_instance_free(in);
	return r;
}

static int
agent_listen_socket(const char *hostport, char *err, size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int fd, one = 1, saved;

	if (nap_siteconf_sockaddr(hostport, &ss, &sl) < 0) {
		snprintf(err, len, "agent: listen %s: not ADDR:PORT", hostport);
		return -EINVAL;
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto fail;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0)
		goto fail;
	if (ss.ss_family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0)
		goto fail;
	if (bind(fd, (struct sockaddr *)&ss, sl) < 0 || listen(fd, AGENT_BACKLOG) < 0)
		goto fail;
	return fd;
fail:
	saved = errno;
	snprintf(err, len, "agent: listen %s: %s", hostport, strerror(saved));
	if (fd >= 0)
		close(fd);
	return -saved;
}

/* Start the daemon of an instance on a listening socket it then owns. */
static int
agent_instance_run(struct agent_instance *in, int fd, char *err, size_t len)
{
	unsigned flags = MHD_USE_TLS | MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ITC |
			 MHD_USE_ERROR_LOG;

	/*
	 * One internal thread: every handler (and the store connection) runs in it. The trust
	 * makes GnuTLS request (not require) a client certificate: /v1/enroll has none yet.
	 */
	in->mhd = MHD_start_daemon(
		flags, 0, NULL, NULL, agent_access, in, MHD_OPTION_EXTERNAL_LOGGER,
		log_library_debug, (void *)"agent: libmicrohttpd", MHD_OPTION_LISTEN_SOCKET, fd,
		MHD_OPTION_HTTPS_MEM_CERT, in->tls_cert, MHD_OPTION_HTTPS_MEM_KEY, in->tls_key,
		MHD_OPTION_HTTPS_MEM_TRUST, napsited_agent_ca_pem(in->ca),
		MHD_OPTION_HTTPS_PRIORITIES, AGENT_TLS_PRIORITY, MHD_OPTION_CONNECTION_LIMIT,
		(unsigned)NAPSITED_AGENT_CONN_LIMIT, MHD_OPTION_CONNECTION_TIMEOUT,
		(unsigned)NAPSITED_AGENT_CONN_TIMEOUT, MHD_OPTION_NOTIFY_COMPLETED, agent_completed,
		in, MHD_OPTION_END);
	if (in->mhd == NULL) {
		snprintf(err, len, "agent: cannot start the HTTPS server on %s", in->listen);
		return -EIO;
	}
	return 0;
}

/* Stop an old instance once its connections are done (or the drain time is up). */
static void *
agent_drain_thread(void *arg)
{
	struct agent_instance *in = arg;
	struct napsited_agent *ag = in->sd->agent;
	struct timespec now, deadline;

	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += NAPSITED_AGENT_CONN_TIMEOUT + AGENT_DRAIN_MARGIN;
	pthread_mutex_lock(&ag->lock);
	for (;;) {
		const union MHD_DaemonInfo *di;
		struct timespec wake;

		di = MHD_get_daemon_info(in->mhd, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (ag->stopping || di == NULL || di->num_connections == 0 ||
		    now.tv_sec > deadline.tv_sec ||
		    (now.tv_sec == deadline.tv_sec && now.tv_nsec >= deadline.tv_nsec))
			break;
		wake = now;
		wake.tv_nsec += AGENT_DRAIN_POLL_MS * 1000000L;
		if (wake.tv_nsec >= 1000000000L) {
			wake.tv_sec++;
			wake.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&ag->cond, &ag->lock, &wake);
	}
	pthread_mutex_unlock(&ag->lock);
	MHD_stop_daemon(in->mhd);
	in->mhd = NULL;
	/* Only now may the socket libmicrohttpd handed back be closed (MHD_quiesce_daemon). */
	if (in->quiesced_fd >= 0)
		close(in->quiesced_fd);
	in->quiesced_fd = -1;
	log_debug("agent: the previous endpoint instance is stopped");
	pthread_mutex_lock(&ag->lock);
	in->drained = true;
	pthread_mutex_unlock(&ag->lock);
	return NULL;
}

/* Join and free the old instances whose drain is over (all of them when all is set). */
static void
agent_reap(struct napsited_agent *ag, bool all)
{
	struct agent_instance **pp = &ag->draining;

	pthread_mutex_lock(&ag->lock);
	while (*pp != NULL) {
		struct agent_instance *in = *pp;

		if (!all && !in->drained) {
			pp = &in->next;
			continue;
		}
		*pp = in->next;
		pthread_mutex_unlock(&ag->lock);
		pthread_join(in->drain, NULL);
		agent_instance_free(in);
		pthread_mutex_lock(&ag->lock);
	}
	pthread_mutex_unlock(&ag->lock);
}

/*
 * Hand an instance over to a drain thread: it stops accepting at once. When its listening socket
 * is not shared with the new instance (listen changed, or [agent] removed), the socket stops
 * listening too, so that connections to the old address are refused rather than left waiting
 * in a queue nobody reads; a shared one goes on with the new instance.
 */
static void
agent_retire(struct napsited_agent *ag, struct agent_instance *old, bool shared)
{
	MHD_socket fd = MHD_quiesce_daemon(old->mhd);

	old->quiesced_fd = fd == MHD_INVALID_SOCKET ? -1 : fd;
	if (!shared && old->quiesced_fd >= 0)
		shutdown(old->quiesced_fd, SHUT_RDWR);
	pthread_mutex_lock(&ag->lock);
	old->next = ag->draining;
	ag->draining = old;
	if (pthread_create(&old->drain, NULL, agent_drain_thread, old) != 0) {
		/* No thread: stop it here, cutting what it still serves. */
		old->drained = true;
		pthread_mutex_unlock(&ag->lock);
		log_warnx("agent: no drain thread, the previous instance stops at once");
		MHD_stop_daemon(old->mhd);
		old->mhd = NULL;
		pthread_mutex_lock(&ag->lock);
		ag->draining = old->next;
		pthread_mutex_unlock(&ag->lock);
		agent_instance_free(old);
		return;
	}
	pthread_mutex_unlock(&ag->lock);
}

/* ---- napsited's interface --------------------------------------------------------------- */

static int
agent_apply(struct napsited *sd, char *err, size_t len)
{
	struct napsited_agent *ag = sd->agent;
	struct agent_instance *in = NULL, *old = ag->cur;
	bool shared = false;
	int r, fd;

	agent_reap(ag, false);
	if (!sd->conf->has_agent) {
		if (old != NULL) {
			ag->cur = NULL;
			agent_retire(ag, old, false);
			log_info("agent: endpoint stopped ([agent] removed)");
		}
		return 0;
	}
	r = agent_instance_new(sd, &in, err, len);
	if (r < 0)
		return r;
	if (old != NULL && strcmp(old->listen, in->listen) == 0) {
		const union MHD_DaemonInfo *di;

		shared = true;
		di = MHD_get_daemon_info(old->mhd, MHD_DAEMON_INFO_LISTEN_FD);
		fd = di != NULL ? fcntl(di->listen_fd, F_DUPFD_CLOEXEC, 0) : -1;
		if (fd < 0) {
			r = di != NULL ? -errno : -EBADF;
			snprintf(err, len, "agent: cannot share the listening socket: %s",
				 strerror(-r));
		}
	} else {
		fd = r = agent_listen_socket(in->listen, err, len);
	}
	/* A daemon that fails to start has closed the socket it was given already. */
	if (r >= 0)
		r = agent_instance_run(in, fd, err, len);
	if (r < 0) {
		agent_instance_free(in);
		return r;
	}
	ag->cur = in;
	if (old != NULL)
		agent_retire(ag, old, shared);
	log_info("agent: endpoint %s on %s", old != NULL ? "reloaded" : "listening", in->listen);
	return 0;
}

int
napsited_agent_start(struct napsited *sd, char *err, size_t len)
{
	struct napsited_agent *ag;
	int r;

	if (sd->agent != NULL)
		return napsited_agent_reload(sd, err, len);
	if (!sd->conf->has_agent)
		return 0;
	ag = calloc(1, sizeof(*ag));
	if (ag == NULL)
		return -ENOMEM;
	pthread_mutex_init(&ag->lock, NULL);
	{
		pthread_condattr_t ca;

		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&ag->cond, &ca);
		pthread_condattr_destroy(&ca);
	}
	sd->agent = ag;
	r = agent_apply(sd, err, len);
	if (r < 0)
		napsited_agent_stop(sd);
	return r;
}

int
napsited_agent_reload(struct napsited *sd, char *err, size_t len)
{
	if (sd->agent == NULL)
		return sd->conf->has_agent ? napsited_agent_start(sd, err, len) : 0;
	return agent_apply(sd, err, len);
}

void
napsited_agent_stop(struct napsited *sd)
{
	struct napsited_agent *ag = sd->agent;

	if (ag == NULL)
		return;
	pthread_mutex_lock(&ag->lock);
	ag->stopping = true;
	pthread_cond_broadcast(&ag->cond);
	pthread_mutex_unlock(&ag->lock);
	agent_reap(ag, true);
	agent_instance_free(ag->cur);
	pthread_cond_destroy(&ag->cond);
	pthread_mutex_destroy(&ag->lock);
	free(ag);
	sd->agent = NULL;
}
