// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * naphrad's network side: MS-HCEP over HTTP and HTTPS with libmicrohttpd (GnuTLS), the RADIUS
 * client to napvd and the signer's socket, all in one thread and one poll() loop. Handles
 * untrusted input: HTTP requests, PKCS#10 bodies, TLS client certificates.
 *
 * libmicrohttpd runs in external mode (MHD_USE_EPOLL: one epoll fd per daemon in our poll set,
 * MHD_run() when it is ready). A request is read and checked in the access handler, then the
 * connection is suspended (MHD_suspend_connection) while napvd decides and the signer signs;
 * their answers arrive through the same loop and resume it. Nothing blocks: other connections are
 * served meanwhile, and a request waits at most request_timeout.
 *
 *   POST (any path) -> checks: method, Content-Length, Content-Type, HCEP-Version,
 *   HCEP-Correlation-Id (nap_hcep_http_check), body <= 16 KiB, DER PKCS#10 with the SoH
 *   (nap_hcep_request_decode + nap_hcep_request_check) -> Access-Request to napvd -> compliant:
 *   SIGN to the signer -> 200 with the PKCS#7 chain; non-compliant: 200 without a body; both
 *   with HCEP-SoHR, HCEP-AFW-Zone / -Protection-Level, HCEP-Version, the correlation id echoed.
 *   Errors: 405 (not POST), 411, 413, 500 for every content problem (HCEP 3.2.5.1), 401/403
 *   for client certificates, 503 when napvd or the signer cannot answer or too many requests
 *   wait.
 *
 * Reload without dropping requests: libmicrohttpd cannot change its certificates, so a reload
 * starts a new daemon on a dup() of the same listening socket, quiesces the old one (it stops
 * accepting but finishes what it has, suspended requests included) and stops it once it has no
 * connections left, or after connection_timeout + 5 s when it has nothing suspended.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <microhttpd.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "nap/hcep.h"
#include "nap/log.h"
#include "nap/radius.h"
#include "nap/soh.h"
#include "nap/util.h"
#include "naphrad.h"

#define HRA_BACKLOG 512
#define HRA_TLS_PRIORITY "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"
#define HRA_PEM_MAX (256 * 1024)
#define HRA_DROP_MAX (256 * 1024) /* body bytes thrown away before the connection is cut */
#define HRA_DRAIN_MARGIN_MS 5000
#define HRA_MEMORY_LIMIT (64 * 1024) /* per connection: headers + libmicrohttpd buffers */
#define HRA_SIGNER_BATCH 64 /* templates per sendmmsg(), replies per recvmmsg() */

enum hra_kind { HRA_HTTP, HRA_HTTPS, HRA_METRICS };

struct hra_instance {
	struct naphrad *h;
	enum hra_kind kind;
	struct MHD_Daemon *mhd;
	char *listen;
	char *tls_cert, *tls_key, *trust;
	size_t tls_key_len;
	enum naphrad_client_auth auth;
	unsigned suspended;
	int64_t drain_deadline;
	int quiesced_fd;
	struct hra_instance *next;
};

struct hra_old_rc {
	struct nap_radclient *rc;
	struct nap_radius_secret *secret;
	struct hra_old_rc *next;
};

struct hra_sq {
	struct hra_sq *next;
	size_t len;
	uint8_t msg[];
};

struct naphrad_rt {
	struct hra_instance *http, *https, *metrics, *draining;
	struct nap_radclient *rc;
	struct nap_radius_secret *secret;
	struct hra_old_rc *old_rc;
	X509 *chain[NAPHRAD_MAX_CHAIN];
	size_t n_chain;
	uint8_t *chain_der; /* the chain's certificates, DER, concatenated */
	size_t chain_der_len;
	uint32_t lifetime, max_lifetime;
	struct hra_sq *sq_head, *sq_tail; /* messages not yet sent to the signer */
	uint64_t next_id;
	struct naphrad_req *sig_head, *sig_tail;   /* waiting for the signer, in order */
	struct naphrad_req *wait_head, *wait_tail; /* suspended, oldest first */
	unsigned n_pending;
	struct nap_radius_builder rb;
	struct naphrad_csr_keys *csr_keys; /* the lean PKCS#10 reader's key templates */
};

enum hra_state {
	RQ_BODY = 0, /* headers seen, body coming */
	RQ_NAPVD,    /* suspended: waiting for napvd */
	RQ_SIGNER,   /* suspended: waiting for the signer */
	RQ_READY,    /* response made, resumed */
	RQ_DONE,     /* response queued (or refused early) */
};

struct naphrad_req {
	struct naphrad *h;
	struct hra_instance *in;
	struct MHD_Connection *conn;
	enum hra_state state;
	uint8_t *body;
	size_t len, cap, dropped;
	bool too_large, suspended, authenticated;
	char identity[NAPHRAD_MAX_NAME + 1];
	char fqdn[NAPHRAD_MAX_DNS + 1];
	char client_ip[INET6_ADDRSTRLEN];
	char coid[48]; /* the HCEP-Correlation-Id as received, once it checked out */
	uint8_t *pubkey;
	size_t pubkey_len;
	int64_t t_start, t_stage;
	uint64_t rad_handle, signer_id;
	struct naphrad_verdict *v;
	struct MHD_Response *resp;
	unsigned status;
	struct naphrad_req *wnext, *wprev, *snext, *sprev;
	bool on_sig;
};

static void rad_cancel(struct naphrad_rt *rt, struct naphrad_req *rq);

/* ---- lists ---------------------------------------------------------------------------------- */

static void
wait_add(struct naphrad_rt *rt, struct naphrad_req *rq)
{
	rq->wprev = rt->wait_tail;
	rq->wnext = NULL;
	if (rt->wait_tail != NULL)
		rt->wait_tail->wnext = rq;
	else
		rt->wait_head = rq;
	rt->wait_tail = rq;
	rt->n_pending++;
}

static void
wait_del(struct naphrad_rt *rt, struct naphrad_req *rq)
{
	if (rq->wprev != NULL)
		rq->wprev->wnext = rq->wnext;
	else
		rt->wait_head = rq->wnext;
	if (rq->wnext != NULL)
		rq->wnext->wprev = rq->wprev;
	else
		rt->wait_tail = rq->wprev;
	rq->wnext = rq->wprev = NULL;
	rt->n_pending--;
}

static void
sig_add(struct naphrad_rt *rt, struct naphrad_req *rq)
{
	rq->sprev = rt->sig_tail;
	rq->snext = NULL;
	if (rt->sig_tail != NULL)
		rt->sig_tail->snext = rq;
	else
		rt->sig_head = rq;
	rt->sig_tail = rq;
	rq->on_sig = true;
}

static void
sig_del(struct naphrad_rt *rt, struct naphrad_req *rq)
{
	if (!rq->on_sig)
		return;
	if (rq->sprev != NULL)
		rq->sprev->snext = rq->snext;
	else
		rt->sig_head = rq->snext;
	if (rq->snext != NULL)
		rq->snext->sprev = rq->sprev;
	else
		rt->sig_tail = rq->sprev;
	rq->snext = rq->sprev = NULL;
	rq->on_sig = false;
}

/* ---- metrics helpers ------------------------------------------------------------------------ */

static void
count_result(struct naphrad *h, enum naphrad_result r, unsigned status)
{
	h->m.results[r]++;
	h->m.status[naphrad_status_slot(status)]++;
}

/* ---- responses ------------------------------------------------------------------------------ */

static void
add_hcep_headers(struct naphrad_req *rq, struct MHD_Response *resp)
{
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache, must-revalidate");
	MHD_add_response_header(resp, "HCEP-Version", NAP_HCEP_VERSION);
	if (rq->coid[0] != '\0')
		MHD_add_response_header(resp, "HCEP-Correlation-Id", rq->coid);
}

/* An error: text/plain body with the reason (ours, printable), the HCEP headers. */
static struct MHD_Response *
make_error(struct naphrad_req *rq, unsigned status, const char *msg)
{
	char *body;
	int n = asprintf(&body, "%s\n", msg);
	struct MHD_Response *resp;

	if (n < 0)
		return NULL;
	resp = MHD_create_response_from_buffer_with_free_callback((size_t)n, body, free);
	if (resp == NULL) {
		free(body);
		return NULL;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain");
	add_hcep_headers(rq, resp);
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, "POST");
	if (status == MHD_HTTP_SERVICE_UNAVAILABLE)
		MHD_add_response_header(resp, "Retry-After", "5");
	return resp;
}

static enum MHD_Result
send_now(struct naphrad_req *rq, unsigned status, struct MHD_Response *resp)
{
	enum MHD_Result r;

	rq->state = RQ_DONE;
	if (resp == NULL)
		return MHD_NO;
	r = MHD_queue_response(rq->conn, status, resp);
	MHD_destroy_response(resp);
	return r;
}

/* Refuse from inside the access handler: count, log rate-limited, answer. */
static enum MHD_Result
refuse(struct naphrad_req *rq, enum naphrad_result res, unsigned status, const char *msg)
{
	struct naphrad *h = rq->h;

	count_result(h, res, status);
	LOG_WARNX_RL("hcep: %s: %u %s", rq->client_ip, status, msg);
	return send_now(rq, status, make_error(rq, status, msg));
}

/* The end of a suspended request: keep the response, resume, libmicrohttpd queues it. */
static void
finish(struct naphrad_req *rq, enum naphrad_result res, unsigned status,
       struct MHD_Response *resp)
{
	struct naphrad *h = rq->h;
	struct naphrad_rt *rt = h->rt;

	count_result(h, res, status);
	naphrad_hist_add(&h->m.request_latency, (double)(nap_mono_ms() - rq->t_start) / 1000.0);
	sig_del(rt, rq);
	wait_del(rt, rq);
	rq->status = status;
	rq->resp = resp;
	rq->state = RQ_READY;
	rq->in->suspended--;
	rq->suspended = false;
	MHD_resume_connection(rq->conn);
}

static void
finish_error(struct naphrad_req *rq, enum naphrad_result res, unsigned status, const char *msg)
{
	LOG_WARNX_RL("hcep: %s: %u %s", rq->client_ip, status, msg);
	finish(rq, res, status, make_error(rq, status, msg));
}

/* The HCEP answer: 200, the chain when there is a certificate, the SoHR and AFW headers. */
static struct MHD_Response *
make_answer(struct naphrad_req *rq, uint8_t *body, size_t len)
{
	struct naphrad *h = rq->h;
	const struct naphrad_verdict *v = rq->v;
	struct MHD_Response *resp;
	char num[16], *sohr = NULL;

	if (body != NULL)
		resp = MHD_create_response_from_buffer_with_free_callback(len, body, free);
	else
		resp = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
	if (resp == NULL) {
		free(body);
		return NULL;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
				NAP_HCEP_CONTENT_TYPE_RESPONSE);
	add_hcep_headers(rq, resp);
	if (v->sohr_len > 0 && nap_hcep_sohr_header(v->sohr, v->sohr_len, &sohr) == 0) {
		MHD_add_response_header(resp, "HCEP-SoHR", sohr);
		free(sohr);
	}
	if (v->has_zone || h->conf->has_afw_zone) {
		snprintf(num, sizeof(num), "%u", v->has_zone ? v->zone : h->conf->afw_zone);
		MHD_add_response_header(resp, "HCEP-AFW-Zone", num);
	}
	if (v->has_level || h->conf->has_afw_level) {
		snprintf(num, sizeof(num), "%u", v->has_level ? v->level : h->conf->afw_level);
		MHD_add_response_header(resp, "HCEP-AFW-Protection-Level", num);
	}
	return resp;
}

/* ---- the signer's socket -------------------------------------------------------------------- */

static int
signer_queue(struct naphrad *h, const struct naphrad_signer_request *sr)
{
	struct naphrad_rt *rt = h->rt;
	uint8_t buf[NAPHRAD_MAX_PUBKEY + 2048];
	long n = naphrad_signer_request_encode(sr, buf, sizeof(buf));
	struct hra_sq *q;

	if (n < 0)
		return (int)n;
	if ((q = malloc(sizeof(*q) + (size_t)n)) == NULL)
		return -ENOMEM;
	q->next = NULL;
	q->len = (size_t)n;
	memcpy(q->msg, buf, (size_t)n);
	if (rt->sq_tail != NULL)
		rt->sq_tail->next = q;
	else
		rt->sq_head = q;
	rt->sq_tail = q;
	return 0;
}

/* Everything queued, HRA_SIGNER_BATCH messages per sendmmsg(): once per loop turn. */
static void
signer_flush(struct naphrad *h)
{
	struct naphrad_rt *rt = h->rt;

	while (rt->sq_head != NULL) {
		struct mmsghdr mm[HRA_SIGNER_BATCH];
		struct iovec iov[HRA_SIGNER_BATCH];
		struct hra_sq *q = rt->sq_head;
		unsigned n = 0;
		int sent;

		memset(mm, 0, sizeof(mm));
		for (; q != NULL && n < HRA_SIGNER_BATCH; q = q->next, n++) {
			iov[n] = (struct iovec){.iov_base = q->msg, .iov_len = q->len};
			mm[n].msg_hdr.msg_iov = &iov[n];
			mm[n].msg_hdr.msg_iovlen = 1;
		}
		sent = sendmmsg(h->signer_fd, mm, n, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (sent < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return;
			fatal("signer: send");
		}
		for (int i = 0; i < sent; i++) {
			q = rt->sq_head;
			rt->sq_head = q->next;
			if (rt->sq_head == NULL)
				rt->sq_tail = NULL;
			free(q);
		}
		if ((unsigned)sent < n)
			return; /* the socket is full: POLLOUT brings us back */
	}
}

static int
chain_set(struct naphrad_rt *rt, const struct naphrad_signer_reply *rp)
{
	X509 *chain[NAPHRAD_MAX_CHAIN] = {NULL};
	uint8_t *der;
	size_t len = 0;

	for (size_t i = 0; i < rp->n_chain; i++) {
		const unsigned char *q = rp->chain[i];

		chain[i] = d2i_X509(NULL, &q, (long)rp->chain_len[i]);
		if (chain[i] == NULL || q != rp->chain[i] + rp->chain_len[i]) {
			for (size_t k = 0; k <= i; k++)
				X509_free(chain[k]);
			ERR_clear_error();
			return -EBADMSG;
		}
	}
	for (size_t i = 0; i < rp->n_chain; i++)
		len += rp->chain_len[i];
	if ((der = malloc(len)) == NULL) {
		for (size_t k = 0; k < rp->n_chain; k++)
			X509_free(chain[k]);
		return -ENOMEM;
	}
	len = 0;
	for (size_t i = 0; i < rp->n_chain; i++) {
		memcpy(der + len, rp->chain[i], rp->chain_len[i]);
		len += rp->chain_len[i];
	}
	free(rt->chain_der);
	rt->chain_der = der;
	rt->chain_der_len = len;
	for (size_t i = 0; i < rt->n_chain; i++)
		X509_free(rt->chain[i]);
	memcpy(rt->chain, chain, sizeof(chain));
	rt->n_chain = rp->n_chain;
	rt->lifetime = rp->lifetime;
	rt->max_lifetime = rp->max_lifetime;
	return 0;
}

/* A DER header (tag + definite length) into out; returns its size. len < 65536. */
static size_t
der_hdr(uint8_t *out, uint8_t tag, size_t len)
{
	out[0] = tag;
	if (len < 0x80) {
		out[1] = (uint8_t)len;
		return 2;
	}
	if (len < 0x100) {
		out[1] = 0x81;
		out[2] = (uint8_t)len;
		return 3;
	}
	out[1] = 0x82;
	out[2] = (uint8_t)(len >> 8);
	out[3] = (uint8_t)len;
	return 4;
}

/*
 * The response body around certificates that are DER already (the signer's and the chain's):
 * the same certs-only SignedData nap_hcep_chain_encode() builds ([MS-WCCE] 2.2.2.8, as
 * `openssl crl2pkcs7 -nocrl`), without decoding the certificates again (OpenSSL 3.0's key
 * decoders cost more than the signature).
 */
static int
chain_body(const struct naphrad_rt *rt, const uint8_t *leaf, size_t leaf_len, uint8_t **out,
	   size_t *out_len)
{
	static const uint8_t oid_signed[] = {0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7,
					     0x0d, 0x01, 0x07, 0x02};
	static const uint8_t head[] = {0x02, 0x01, 0x01, /* version 1 */
				       0x31, 0x00,       /* digestAlgorithms */
				       0x30, 0x0b, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7,
				       0x0d, 0x01, 0x07, 0x01}; /* contentInfo: data */
	static const uint8_t tail[] = {0x31, 0x00};      /* signerInfos */
	size_t certs = leaf_len + rt->chain_der_len, certs_h, sd, sd_h, ex, ex_h, ci, n = 0;
	uint8_t h[4], *p;

	certs_h = der_hdr(h, 0xa0, certs);
	sd = sizeof(head) + certs_h + certs + sizeof(tail);
	sd_h = der_hdr(h, 0x30, sd);
	ex = sd_h + sd;
	ex_h = der_hdr(h, 0xa0, ex);
	ci = sizeof(oid_signed) + ex_h + ex;
	if (ci >= 65536 - 4)
		return -EMSGSIZE;
	if ((p = malloc(ci + 4)) == NULL)
		return -ENOMEM;
	n += der_hdr(p + n, 0x30, ci);
	memcpy(p + n, oid_signed, sizeof(oid_signed));
	n += sizeof(oid_signed);
	n += der_hdr(p + n, 0xa0, ex);
	n += der_hdr(p + n, 0x30, sd);
	memcpy(p + n, head, sizeof(head));
	n += sizeof(head);
	n += der_hdr(p + n, 0xa0, certs);
	memcpy(p + n, leaf, leaf_len);
	n += leaf_len;
	memcpy(p + n, rt->chain_der, rt->chain_der_len);
	n += rt->chain_der_len;
	memcpy(p + n, tail, sizeof(tail));
	n += sizeof(tail);
	*out = p;
	*out_len = n;
	return 0;
}

static void
signer_answer(struct naphrad *h, struct naphrad_req *rq, const struct naphrad_signer_reply *rp)
{
	struct naphrad_rt *rt = h->rt;
	uint8_t *body;
	size_t len;

	naphrad_hist_add(&h->m.signer_latency, (double)(nap_mono_ms() - rq->t_stage) / 1000.0);
	if (rp->status != 0) {
		h->m.signer_errors++;
		finish_error(rq, NAPHRAD_RES_SIGNER_ERROR, MHD_HTTP_INTERNAL_SERVER_ERROR,
			     rp->error[0] != '\0' ? rp->error : "the signer refused");
		return;
	}
	if (chain_body(rt, rp->cert, rp->cert_len, &body, &len) < 0) {
		finish_error(rq, NAPHRAD_RES_SIGNER_ERROR, MHD_HTTP_INTERNAL_SERVER_ERROR,
			     "cannot encode the PKCS#7 chain");
		return;
	}
	h->m.certs_issued++;
	if (rq->authenticated)
		h->m.certs_authenticated++;
	{
		char hex[33];

		nap_hex_encode(rp->serial, sizeof(rp->serial), hex);
		log_debug("hcep: %s: certificate %s for %s, %lld s", rq->client_ip, hex,
			  rq->authenticated ? rq->identity : "anonymous",
			  (long long)(rp->not_after - rp->not_before - NAPHRAD_BACKDATE));
	}
	finish(rq, NAPHRAD_RES_ISSUED, MHD_HTTP_OK, make_answer(rq, body, len));
}

static void signer_reply(struct naphrad *h, const uint8_t *buf, size_t n);

/* What the signer answered, up to HRA_SIGNER_BATCH replies per recvmmsg(). */
static void
signer_read(struct naphrad *h)
{
	static uint8_t buf[HRA_SIGNER_BATCH][NAPHRAD_SIGNER_MSG_MAX];
	struct mmsghdr mm[HRA_SIGNER_BATCH];
	struct iovec iov[HRA_SIGNER_BATCH];

	for (;;) {
		int got;

		memset(mm, 0, sizeof(mm));
		for (unsigned i = 0; i < HRA_SIGNER_BATCH; i++) {
			iov[i] = (struct iovec){.iov_base = buf[i], .iov_len = sizeof(buf[i])};
			mm[i].msg_hdr.msg_iov = &iov[i];
			mm[i].msg_hdr.msg_iovlen = 1;
		}
		got = recvmmsg(h->signer_fd, mm, HRA_SIGNER_BATCH, MSG_DONTWAIT, NULL);
		if (got < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return;
			fatal("signer: recv");
		}
		if (got == 0 || mm[0].msg_len == 0)
			fatalx("signer: the signer process is gone");
		for (int i = 0; i < got; i++)
			signer_reply(h, buf[i], mm[i].msg_len);
		if (got < HRA_SIGNER_BATCH)
			return;
	}
}

static void
signer_reply(struct naphrad *h, const uint8_t *buf, size_t n)
{
	struct naphrad_rt *rt = h->rt;
	struct naphrad_signer_reply rp;
	struct naphrad_req *rq;

	if (naphrad_signer_reply_decode(buf, n, &rp) < 0) {
		LOG_WARNX_RL("signer: malformed reply of %zu bytes", n);
		return;
	}
	if (rp.op == NAPHRAD_OP_RELOAD || rp.op == NAPHRAD_OP_HELLO) {
		if (rp.status != 0 || chain_set(rt, &rp) < 0) {
			log_warnx("reload: the signer kept its CA: %s",
				  rp.status != 0 ? rp.error : "bad chain");
			h->m.reloads_error++;
		} else {
			log_info("reload: signer CA chain of %zu certificate(s), lifetime "
				 "%u s",
				 rt->n_chain, rt->lifetime);
		}
		return;
	}
	/* Replies come in order: the head, unless it timed out meanwhile. */
	rq = rt->sig_head;
	while (rq != NULL && rq->signer_id != rp.id)
		rq = rq->snext;
	if (rq == NULL)
		return; /* its request timed out */
	sig_del(rt, rq);
	signer_answer(h, rq, &rp);
}

int
naphrad_signer_hello_sync(struct naphrad *h, char *err, size_t len)
{
	struct naphrad_signer_request sr = {.op = NAPHRAD_OP_HELLO, .id = 0};
	struct naphrad_signer_reply rp;
	static uint8_t buf[NAPHRAD_SIGNER_MSG_MAX];
	struct pollfd p = {.fd = h->signer_fd, .events = POLLIN};
	long n = naphrad_signer_request_encode(&sr, buf, sizeof(buf));
	ssize_t m;

	if (n < 0 || send(h->signer_fd, buf, (size_t)n, MSG_NOSIGNAL) < 0) {
		snprintf(err, len, "signer: cannot send: %s", strerror(errno));
		return -EIO;
	}
	if (poll(&p, 1, 10000) != 1 || (m = recv(h->signer_fd, buf, sizeof(buf), 0)) <= 0) {
		snprintf(err, len, "signer: no answer (did it start? see its log)");
		return -EIO;
	}
	if (naphrad_signer_reply_decode(buf, (size_t)m, &rp) < 0 || rp.status != 0 ||
	    chain_set(h->rt, &rp) < 0) {
		snprintf(err, len, "signer: bad HELLO answer");
		return -EBADMSG;
	}
	return 0;
}

void
naphrad_signer_reload_request(struct naphrad *h)
{
	struct naphrad_signer_request sr = {.op = NAPHRAD_OP_RELOAD, .id = ++h->rt->next_id};

	if (signer_queue(h, &sr) < 0)
		log_warnx("reload: cannot ask the signer");
	signer_flush(h);
}

/* ---- napvd ---------------------------------------------------------------------------------- */

static void
verdict_cb(void *arg, const struct nap_radclient_result *res)
{
	struct naphrad_req *rq = arg;
	struct naphrad *h = rq->h;
	struct naphrad_rt *rt = h->rt;
	struct naphrad_signer_request sr;
	int64_t lifetime;

	if (rq->state != RQ_NAPVD)
		return; /* finished by its timeout already */
	if (res->status != NAP_RADCLIENT_REPLY) {
		if (res->status == NAP_RADCLIENT_TIMEOUT)
			h->m.napvd_timeouts++;
		finish_error(rq, NAPHRAD_RES_NAPVD_TIMEOUT, MHD_HTTP_SERVICE_UNAVAILABLE,
			     "no health validation server answered");
		return;
	}
	h->m.napvd_replies++;
	naphrad_hist_add(&h->m.napvd_latency, (double)(nap_mono_ms() - rq->t_stage) / 1000.0);
	if ((rq->v = malloc(sizeof(*rq->v))) == NULL) {
		finish(rq, NAPHRAD_RES_SIGNER_ERROR, MHD_HTTP_INTERNAL_SERVER_ERROR, NULL);
		return;
	}
	naphrad_verdict_from_reply(res->reply, rq->v);
	if (!rq->v->issue) {
		log_debug("hcep: %s: not compliant (%s), no certificate", rq->client_ip,
			  rq->v->rejected ? "reject" : "restricted");
		finish(rq, NAPHRAD_RES_NONCOMPLIANT, MHD_HTTP_OK, make_answer(rq, NULL, 0));
		return;
	}
	memset(&sr, 0, sizeof(sr));
	sr.op = NAPHRAD_OP_SIGN;
	sr.id = ++rt->next_id;
	lifetime = rt->lifetime;
	if (rq->v->grace != 0) {
		/* Probation: the certificate ends with the grace time. */
		int64_t left = rq->v->grace - (int64_t)time(NULL);

		if (left < lifetime)
			lifetime = left;
		if (lifetime < 1) {
			finish(rq, NAPHRAD_RES_NONCOMPLIANT, MHD_HTTP_OK, make_answer(rq, NULL, 0));
			return;
		}
	}
	sr.t.lifetime = (uint32_t)lifetime;
	sr.t.authenticated = rq->authenticated;
	sr.t.pubkey_len = rq->pubkey_len;
	memcpy(sr.t.pubkey, rq->pubkey, rq->pubkey_len);
	if (rq->authenticated) {
		snprintf(sr.t.cn, sizeof(sr.t.cn), "%s", rq->identity);
		if (rq->fqdn[0] != '\0') {
			snprintf(sr.t.dns[0], sizeof(sr.t.dns[0]), "%s", rq->fqdn);
			sr.t.n_dns = 1;
		}
	}
	if (signer_queue(h, &sr) < 0) {
		finish_error(rq, NAPHRAD_RES_SIGNER_ERROR, MHD_HTTP_INTERNAL_SERVER_ERROR,
			     "cannot reach the signer");
		return;
	}
	rq->signer_id = sr.id;
	rq->state = RQ_SIGNER;
	rq->t_stage = nap_mono_ms();
	sig_add(rt, rq);
	/* Sent with the others of this loop turn (naphrad_run). */
}

/* ---- client certificates -------------------------------------------------------------------- */

/*
 * The authenticated identity of an HTTPS request: the peer certificate verifies against
 * client_ca (GnuTLS, with the trust the daemon was given); identity = its CN, fqdn = its first
 * DNS subjectAltName (else the CN when it is a host name). 0 with rq filled, 0 with
 * authenticated false when there is no certificate, or the HTTP status with why.
 */
static unsigned
client_identity(struct naphrad_req *rq, char *why, size_t why_len)
{
	const union MHD_ConnectionInfo *ci;
	const gnutls_datum_t *peers;
	gnutls_session_t s;
	gnutls_x509_crt_t crt = NULL;
	unsigned n = 0, status = 0, http = MHD_HTTP_FORBIDDEN;
	char cn[NAPHRAD_MAX_NAME + 2], san[NAPHRAD_MAX_DNS + 2];
	size_t cn_len = sizeof(cn), san_len;
	int r;

	ci = MHD_get_connection_info(rq->conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
	if (ci == NULL || ci->tls_session == NULL)
		return 0;
	s = (gnutls_session_t)ci->tls_session;
	if (gnutls_certificate_type_get(s) != GNUTLS_CRT_X509 ||
	    (peers = gnutls_certificate_get_peers(s, &n)) == NULL || n == 0) {
		if (rq->in->auth == NAPHRAD_AUTH_REQUIRED) {
			snprintf(why, why_len, "a client certificate is required");
			return MHD_HTTP_UNAUTHORIZED;
		}
		return 0;
	}
	r = gnutls_certificate_verify_peers2(s, &status);
	if (r < 0 || status != 0) {
		gnutls_datum_t txt = {NULL, 0};

		if (r == 0 && gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509,
									   &txt, 0) == 0) {
			snprintf(why, why_len, "client certificate: %s", (const char *)txt.data);
			gnutls_free(txt.data);
		} else {
			snprintf(why, why_len, "client certificate: %s",
				 r < 0 ? gnutls_strerror(r) : "does not verify");
		}
		return MHD_HTTP_FORBIDDEN;
	}
	if (gnutls_x509_crt_init(&crt) < 0) {
		snprintf(why, why_len, "out of memory");
		return MHD_HTTP_INTERNAL_SERVER_ERROR;
	}
	if (gnutls_x509_crt_import(crt, &peers[0], GNUTLS_X509_FMT_DER) < 0 ||
	    gnutls_x509_crt_get_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, 0, cn, &cn_len) <
		    0 ||
	    !naphrad_cn_ok(cn)) {
		snprintf(why, why_len, "client certificate: no usable common name");
		goto out;
	}
	memcpy(rq->identity, cn, strlen(cn) + 1); /* naphrad_cn_ok: at most 64 bytes */
	rq->fqdn[0] = '\0';
	for (unsigned i = 0; i < 16; i++) {
		unsigned crit;

		san_len = sizeof(san) - 1;
		r = gnutls_x509_crt_get_subject_alt_name(crt, i, san, &san_len, &crit);
		if (r < 0)
			break;
		if (r == GNUTLS_SAN_DNSNAME && san_len < sizeof(san)) {
			san[san_len] = '\0';
			if (naphrad_dns_name_ok(san)) {
				memcpy(rq->fqdn, san, san_len + 1);
				break;
			}
		}
	}
	if (rq->fqdn[0] == '\0' && naphrad_dns_name_ok(cn) && strchr(cn, '.') != NULL)
		memcpy(rq->fqdn, cn, strlen(cn) + 1);
	rq->authenticated = true;
	http = 0;
out:
	gnutls_x509_crt_deinit(crt);
	return http;
}

/* ---- the HCEP request ----------------------------------------------------------------------- */

/* The body is in: check it all, then ask napvd. Returns a refusal or suspends. */
static enum MHD_Result
hcep_process(struct naphrad_req *rq, const char *method)
{
	struct naphrad *h = rq->h;
	struct naphrad_rt *rt = h->rt;
	struct nap_hcep_http_request hr = {0};
	struct nap_hcep_request *req = NULL;
	struct nap_err err = {0};
	struct naphrad_query q = {0};
	const char *cl, *coid;
	uint8_t id[NAP_CORRELATION_ID_LEN];
	bool lean;
	int r;

	hr.method = method;
	hr.content_type = MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND,
						      MHD_HTTP_HEADER_CONTENT_TYPE);
	hr.hcep_version = MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND, "HCEP-Version");
	coid = MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND, "HCEP-Correlation-Id");
	hr.correlation_id = coid;
	cl = MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND,
					 MHD_HTTP_HEADER_CONTENT_LENGTH);
	hr.has_content_length = cl != NULL;
	hr.content_length = rq->len;
	r = nap_hcep_http_check(&hr, id, &err);
	if (coid != NULL && (r == 0 || hr.correlation_id == NULL ||
			     nap_hcep_base64_decode(coid, strlen(coid), id, sizeof(id)) ==
				     NAP_CORRELATION_ID_LEN))
		snprintf(rq->coid, sizeof(rq->coid), "%s", strlen(coid) < sizeof(rq->coid) ? coid : "");
	if (r != 0)
		return refuse(rq, NAPHRAD_RES_BAD_REQUEST, (unsigned)r, err.what);
	r = naphrad_csr_decode(rt->csr_keys, rq->body, rq->len, &req, &rq->pubkey,
			       &rq->pubkey_len, &lean, &err);
	if (r < 0) {
		char msg[160];

		snprintf(msg, sizeof(msg), "%s at offset %zu", err.what != NULL ? err.what : "bad",
			 err.offset);
		return refuse(rq, NAPHRAD_RES_BAD_REQUEST, NAP_HCEP_HTTP_SERVER_ERROR, msg);
	}
	r = nap_hcep_request_check(req, rq->authenticated,
				   rq->fqdn[0] != '\0' ? rq->fqdn : NULL, &err);
	if (r != 0) {
		nap_hcep_request_free(req);
		return refuse(rq, NAPHRAD_RES_BAD_REQUEST, (unsigned)r, err.what);
	}
	if (rq->pubkey_len > NAPHRAD_MAX_PUBKEY) {
		nap_hcep_request_free(req);
		return refuse(rq, NAPHRAD_RES_BAD_REQUEST, NAP_HCEP_HTTP_SERVER_ERROR,
			      "public key too large");
	}
	if (req->key_type == NAP_HCEP_KEY_OTHER) {
		nap_hcep_request_free(req);
		return refuse(rq, NAPHRAD_RES_BAD_REQUEST, NAP_HCEP_HTTP_SERVER_ERROR,
			      "key type not supported (RSA or ECDSA)");
	}
	h->m.requests_lean += lean;
	if (rt->n_pending >= h->conf->max_pending) {
		nap_hcep_request_free(req);
		return refuse(rq, NAPHRAD_RES_OVERLOAD, MHD_HTTP_SERVICE_UNAVAILABLE,
			      "too many requests waiting");
	}
	q.soh = req->soh;
	q.soh_len = req->soh_len;
	q.identity = rq->authenticated ? rq->identity : NULL;
	q.client_ip = rq->client_ip;
	q.nas_identifier = h->conf->nas_identifier;
	r = naphrad_verdict_request(&rt->rb, &q);
	nap_hcep_request_free(req);
	if (r < 0)
		return refuse(rq, NAPHRAD_RES_BAD_REQUEST, NAP_HCEP_HTTP_SERVER_ERROR,
			      "SoH too large for a RADIUS request");
	rq->state = RQ_NAPVD;
	rq->t_stage = nap_mono_ms();
	r = nap_radclient_request(rt->rc, &rt->rb, rq->t_stage, verdict_cb, rq, &rq->rad_handle);
	if (r < 0) {
		rq->state = RQ_BODY;
		return refuse(rq, NAPHRAD_RES_OVERLOAD, MHD_HTTP_SERVICE_UNAVAILABLE,
			      "cannot send to the health validation servers");
	}
	wait_add(rt, rq);
	rq->suspended = true;
	rq->in->suspended++;
	MHD_suspend_connection(rq->conn);
	return MHD_YES;
}

static void
client_ip(struct naphrad_req *rq)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(rq->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);

	snprintf(rq->client_ip, sizeof(rq->client_ip), "?");
	if (ci != NULL && ci->client_addr != NULL)
		getnameinfo(ci->client_addr,
			    ci->client_addr->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
								   : sizeof(struct sockaddr_in),
			    rq->client_ip, sizeof(rq->client_ip), NULL, 0, NI_NUMERICHOST);
}

static enum MHD_Result
hcep_access(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
	    const char *version, const char *upload_data, size_t *upload_data_size,
	    void **req_cls)
{
	struct hra_instance *in = cls;
	struct naphrad_req *rq = *req_cls;

	(void)url;
	(void)version;
	if (rq == NULL) {
		const char *cl;
		char why[256];
		unsigned st;

		if ((rq = calloc(1, sizeof(*rq))) == NULL)
			return MHD_NO;
		*req_cls = rq;
		rq->h = in->h;
		rq->in = in;
		rq->conn = conn;
		rq->t_start = nap_mono_ms();
		client_ip(rq);
		if (strcmp(method, MHD_HTTP_METHOD_POST) != 0)
			return refuse(rq, NAPHRAD_RES_BAD_REQUEST, MHD_HTTP_METHOD_NOT_ALLOWED,
				      "method is not POST");
		cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
						 MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (cl != NULL && strtoull(cl, NULL, 10) > NAP_HCEP_MAX_BODY)
			return refuse(rq, NAPHRAD_RES_BAD_REQUEST, MHD_HTTP_CONTENT_TOO_LARGE,
				      "body over 16384 bytes");
		if (in->kind == HRA_HTTPS && in->auth != NAPHRAD_AUTH_OFF &&
		    (st = client_identity(rq, why, sizeof(why))) != 0)
			return refuse(rq, NAPHRAD_RES_AUTH_FAILED, st, why);
		return MHD_YES;
	}
	if (rq->state == RQ_READY) {
		struct MHD_Response *resp = rq->resp;

		rq->resp = NULL;
		return send_now(rq, rq->status, resp);
	}
	if (rq->state != RQ_BODY) {
		*upload_data_size = 0; /* a reply is queued: what still comes is dropped */
		return MHD_YES;
	}
	if (*upload_data_size != 0) {
		size_t n = *upload_data_size;

		*upload_data_size = 0;
		/* A chunked body past the limit: drop it and answer 413 at the end. */
		if (rq->too_large || n > NAP_HCEP_MAX_BODY - rq->len) {
			rq->too_large = true;
			rq->dropped += n;
			return rq->dropped > HRA_DROP_MAX ? MHD_NO : MHD_YES;
		}
		if (rq->len + n > rq->cap) {
			size_t cap = rq->cap == 0 ? 2048 : rq->cap;
			uint8_t *p;

			while (cap < rq->len + n)
				cap *= 2;
			if (cap > NAP_HCEP_MAX_BODY)
				cap = NAP_HCEP_MAX_BODY;
			if ((p = realloc(rq->body, cap)) == NULL)
				return MHD_NO;
			rq->body = p;
			rq->cap = cap;
		}
		memcpy(rq->body + rq->len, upload_data, n);
		rq->len += n;
		return MHD_YES;
	}
	if (rq->too_large)
		return refuse(rq, NAPHRAD_RES_BAD_REQUEST, MHD_HTTP_CONTENT_TOO_LARGE,
			      "body over 16384 bytes");
	return hcep_process(rq, method);
}

static void
hcep_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
	       enum MHD_RequestTerminationCode toe)
{
	struct naphrad_req *rq = *req_cls;

	(void)cls;
	(void)conn;
	(void)toe;
	if (rq == NULL)
		return;
	/* Never while suspended: libmicrohttpd resumes before it completes a request. */
	if (rq->resp != NULL)
		MHD_destroy_response(rq->resp);
	free(rq->body);
	free(rq->pubkey);
	free(rq->v);
	free(rq);
	*req_cls = NULL;
}

/* ---- metrics endpoint ----------------------------------------------------------------------- */

static enum MHD_Result
metrics_access(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
	       const char *version, const char *upload_data, size_t *upload_data_size,
	       void **req_cls)
{
	struct hra_instance *in = cls;
	struct MHD_Response *resp;
	enum MHD_Result r;
	unsigned status = MHD_HTTP_OK;
	char *text;
	size_t len;

	(void)version;
	(void)upload_data;
	if (*req_cls == NULL) {
		*req_cls = in;
		return MHD_YES;
	}
	*upload_data_size = 0;
	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 || strcmp(url, "/metrics") != 0) {
		status = MHD_HTTP_NOT_FOUND;
		text = strdup("not found\n");
		len = text != NULL ? strlen(text) : 0;
	} else {
		text = naphrad_metrics_text(in->h, &len);
	}
	if (text == NULL)
		return MHD_NO;
	resp = MHD_create_response_from_buffer_with_free_callback(len, text, free);
	if (resp == NULL) {
		free(text);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
				"text/plain; version=0.0.4; charset=utf-8");
	r = MHD_queue_response(conn, status, resp);
	MHD_destroy_response(resp);
	return r;
}

/* ---- instances ------------------------------------------------------------------------------ */

static void
instance_free(struct hra_instance *in)
{
	if (in == NULL)
		return;
	if (in->mhd != NULL)
		MHD_stop_daemon(in->mhd);
	if (in->quiesced_fd >= 0)
		close(in->quiesced_fd);
	free(in->tls_cert);
	if (in->tls_key != NULL)
		nap_wipe(in->tls_key, in->tls_key_len);
	free(in->tls_key);
	free(in->trust);
	free(in->listen);
	free(in);
}

static int
read_pem(const char *path, char **out, size_t *out_len, char *err, size_t len)
{
	uint8_t *buf;
	size_t n;
	int r = nap_read_file(path, HRA_PEM_MAX, &buf, &n);

	if (r < 0) {
		snprintf(err, len, "%s: %s", path, strerror(-r));
		return r;
	}
	if ((*out = malloc(n + 1)) == NULL) {
		nap_wipe(buf, n);
		free(buf);
		return -ENOMEM;
	}
	memcpy(*out, buf, n);
	(*out)[n] = '\0';
	nap_wipe(buf, n);
	free(buf);
	if (out_len != NULL)
		*out_len = n;
	return 0;
}

static int
instance_new(struct naphrad *h, const struct naphrad_config *c, enum hra_kind kind,
	     struct hra_instance **out, char *err, size_t len)
{
	struct hra_instance *in = calloc(1, sizeof(*in));
	const char *listen = kind == HRA_HTTP	? c->http_listen
			     : kind == HRA_HTTPS ? c->https_listen
						 : c->metrics;
	int r;

	*out = NULL;
	if (in == NULL)
		return -ENOMEM;
	in->h = h;
	in->kind = kind;
	in->quiesced_fd = -1;
	in->auth = kind == HRA_HTTPS ? c->client_auth : NAPHRAD_AUTH_OFF;
	if ((in->listen = strdup(listen)) == NULL) {
		instance_free(in);
		return -ENOMEM;
	}
	if (kind == HRA_HTTPS) {
		if ((r = read_pem(c->tls_cert, &in->tls_cert, NULL, err, len)) < 0 ||
		    (r = read_pem(c->tls_key, &in->tls_key, &in->tls_key_len, err, len)) < 0 ||
		    (c->client_ca != NULL &&
		     (r = read_pem(c->client_ca, &in->trust, NULL, err, len)) < 0) ||
		    (r = nap_tls_pair_check(in->tls_cert, in->tls_key, c->tls_cert, c->tls_key,
						"[https]", err, len)) < 0) {
			instance_free(in);
			return r;
		}
	}
	*out = in;
	return 0;
}

static int
listen_socket(const char *hostport, char *err, size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int fd, one = 1, saved;

	if (naphrad_sockaddr(hostport, &ss, &sl) < 0) {
		snprintf(err, len, "listen %s: not ADDR:PORT", hostport);
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
	if (bind(fd, (struct sockaddr *)&ss, sl) < 0 || listen(fd, HRA_BACKLOG) < 0)
		goto fail;
	return fd;
fail:
	saved = errno;
	snprintf(err, len, "listen %s: %s", hostport, strerror(saved));
	if (fd >= 0)
		close(fd);
	return -saved;
}

static int
instance_run(struct hra_instance *in, const struct naphrad_config *c, int fd, char *err,
	     size_t len)
{
	unsigned flags = MHD_USE_EPOLL | MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME;
	struct MHD_OptionItem opts[16];
	size_t n = 0;

#define OPT(o, v, p) opts[n++] = (struct MHD_OptionItem){(o), (intptr_t)(v), (p)}
	OPT(MHD_OPTION_EXTERNAL_LOGGER, log_library_debug, (void *)"libmicrohttpd");
	OPT(MHD_OPTION_LISTEN_SOCKET, fd, NULL);
	OPT(MHD_OPTION_CONNECTION_LIMIT, in->kind == HRA_METRICS ? 16 : c->max_connections, NULL);
	OPT(MHD_OPTION_CONNECTION_TIMEOUT, c->connection_timeout, NULL);
	OPT(MHD_OPTION_CONNECTION_MEMORY_LIMIT, HRA_MEMORY_LIMIT, NULL);
	if (in->kind != HRA_METRICS) {
		OPT(MHD_OPTION_PER_IP_CONNECTION_LIMIT, c->max_connections_per_ip, NULL);
		OPT(MHD_OPTION_NOTIFY_COMPLETED, hcep_completed, in);
	}
	if (in->kind == HRA_HTTPS) {
		flags |= MHD_USE_TLS;
		OPT(MHD_OPTION_HTTPS_MEM_CERT, 0, in->tls_cert);
		OPT(MHD_OPTION_HTTPS_MEM_KEY, 0, in->tls_key);
		OPT(MHD_OPTION_HTTPS_PRIORITIES, 0, (void *)HRA_TLS_PRIORITY);
		/* The trust makes GnuTLS ask for (not require) a client certificate. */
		if (in->trust != NULL && in->auth != NAPHRAD_AUTH_OFF)
			OPT(MHD_OPTION_HTTPS_MEM_TRUST, 0, in->trust);
	}
	OPT(MHD_OPTION_END, 0, NULL);
#undef OPT
	in->mhd = MHD_start_daemon(flags, 0, NULL, NULL,
				   in->kind == HRA_METRICS ? metrics_access : hcep_access, in,
				   MHD_OPTION_ARRAY, opts, MHD_OPTION_END);
	if (in->mhd == NULL) {
		snprintf(err, len, "cannot start the %s server on %s",
			 in->kind == HRA_HTTPS ? "HTTPS" : "HTTP", in->listen);
		return -EIO;
	}
	return 0;
}

/* Retire an instance: it stops accepting at once and goes on the draining list. */
static void
instance_retire(struct naphrad *h, struct hra_instance *old, bool shared)
{
	struct naphrad_rt *rt = h->rt;
	MHD_socket fd = MHD_quiesce_daemon(old->mhd);

	old->quiesced_fd = fd == MHD_INVALID_SOCKET ? -1 : fd;
	if (!shared && old->quiesced_fd >= 0)
		shutdown(old->quiesced_fd, SHUT_RDWR);
	old->drain_deadline = nap_mono_ms() + (int64_t)h->conf->connection_timeout * 1000 +
			      HRA_DRAIN_MARGIN_MS;
	old->next = rt->draining;
	rt->draining = old;
}

/* Replace *slot by an instance for next's settings (NULL listen: none), sharing the socket. */
static int
instance_apply(struct naphrad *h, const struct naphrad_config *next, enum hra_kind kind,
	       struct hra_instance **slot, char *err, size_t len)
{
	struct hra_instance *in = NULL, *old = *slot;
	const char *listen = kind == HRA_HTTP	? next->http_listen
			     : kind == HRA_HTTPS ? next->https_listen
						 : next->metrics;
	bool shared = false;
	int r, fd;

	if (listen == NULL) {
		if (old != NULL) {
			*slot = NULL;
			instance_retire(h, old, false);
		}
		return 0;
	}
	if ((r = instance_new(h, next, kind, &in, err, len)) < 0)
		return r;
	if (old != NULL && strcmp(old->listen, listen) == 0) {
		const union MHD_DaemonInfo *di = MHD_get_daemon_info(old->mhd,
								     MHD_DAEMON_INFO_LISTEN_FD);

		shared = true;
		fd = di != NULL ? fcntl(di->listen_fd, F_DUPFD_CLOEXEC, 0) : -1;
		r = fd;
		if (fd < 0)
			snprintf(err, len, "cannot share the listening socket: %s", strerror(errno));
	} else {
		fd = r = listen_socket(listen, err, len);
	}
	if (r >= 0)
		r = instance_run(in, next, fd, err, len);
	if (r < 0) {
		instance_free(in);
		return r < 0 ? r : -EIO;
	}
	*slot = in;
	if (old != NULL)
		instance_retire(h, old, shared);
	return 0;
}

/* ---- RADIUS client -------------------------------------------------------------------------- */

int
naphrad_radius_setup(struct naphrad *h, const struct naphrad_config *c, char *err, size_t len)
{
	struct naphrad_rt *rt = h->rt;
	struct nap_radclient_config rc = {0};
	struct nap_radius_secret *secret = NULL;
	struct nap_radclient *cl = NULL;
	char *text = NULL;
	unsigned mode = 0;
	int r;

	r = nap_read_secret_file(c->secret_file, NAP_RADIUS_SECRET_MAX, &text, &mode, err, len);
	if (r < 0) {
		char msg[256];

		snprintf(msg, sizeof(msg), "%s", err);
		snprintf(err, len, "[napvd] secret_file %s: %s", c->secret_file, msg);
		return r;
	}
	r = nap_radius_secret_new((const uint8_t *)text, strlen(text), &secret);
	nap_wipe(text, strlen(text));
	free(text);
	if (r < 0) {
		snprintf(err, len, "[napvd] secret: %s", strerror(-r));
		return r;
	}
	rc.n_servers = c->n_servers;
	for (size_t i = 0; i < c->n_servers; i++) {
		if ((r = nap_radclient_server_parse(&rc.servers[i], c->servers[i], secret)) < 0) {
			snprintf(err, len, "[napvd] server %s: %s", c->servers[i], strerror(-r));
			nap_radius_secret_free(secret);
			return r;
		}
	}
	rc.timeout_ms = c->radius_timeout_ms;
	rc.retries = c->radius_retries;
	rc.holddown_ms = c->radius_holddown_ms;
	rc.max_outstanding = c->max_pending + 16;
	if ((r = nap_radclient_new(&rc, &cl)) < 0) {
		snprintf(err, len, "[napvd]: %s", strerror(-r));
		nap_radius_secret_free(secret);
		return r;
	}
	/* The running client finishes its requests, then goes (naphrad_run). */
	if (rt->rc != NULL) {
		struct hra_old_rc *o = malloc(sizeof(*o));

		if (o == NULL) {
			nap_radclient_free(cl);
			nap_radius_secret_free(secret);
			return -ENOMEM;
		}
		o->rc = rt->rc;
		o->secret = rt->secret;
		o->next = rt->old_rc;
		rt->old_rc = o;
	}
	rt->rc = cl;
	rt->secret = secret;
	return 0;
}

/* ---- start, reload, stop -------------------------------------------------------------------- */

int
naphrad_http_start(struct naphrad *h, char *err, size_t len)
{
	struct naphrad_rt *rt = h->rt;
	int r;

	if ((r = instance_apply(h, h->conf, HRA_HTTP, &rt->http, err, len)) < 0 ||
	    (r = instance_apply(h, h->conf, HRA_HTTPS, &rt->https, err, len)) < 0 ||
	    (r = instance_apply(h, h->conf, HRA_METRICS, &rt->metrics, err, len)) < 0)
		return r;
	return 0;
}

/*
 * Everything that can fail is built first; a failure leaves what runs untouched (instances
 * already swapped stay swapped: each is complete on its own).
 */
int
naphrad_http_reload(struct naphrad *h, const struct naphrad_config *next, char *err, size_t len)
{
	struct naphrad_rt *rt = h->rt;
	int r;

	if ((r = instance_apply(h, next, HRA_HTTPS, &rt->https, err, len)) < 0 ||
	    (r = instance_apply(h, next, HRA_HTTP, &rt->http, err, len)) < 0 ||
	    (r = instance_apply(h, next, HRA_METRICS, &rt->metrics, err, len)) < 0)
		return r;
	return 0;
}

void
naphrad_http_stop(struct naphrad *h)
{
	struct naphrad_rt *rt = h->rt;
	struct hra_instance *ins[] = {rt->http, rt->https, rt->metrics};

	/* Cancel what waits: every callback resumes its connection with a 503. */
	while (rt->wait_head != NULL) {
		struct naphrad_req *rq = rt->wait_head;

		rad_cancel(rt, rq);
		finish_error(rq, NAPHRAD_RES_TIMEOUT, MHD_HTTP_SERVICE_UNAVAILABLE,
			     "the server is stopping");
	}
	for (size_t i = 0; i < NAP_ARRAY_SIZE(ins); i++)
		if (ins[i] != NULL)
			MHD_run(ins[i]->mhd);
	for (size_t i = 0; i < NAP_ARRAY_SIZE(ins); i++)
		instance_free(ins[i]);
	while (rt->draining != NULL) {
		struct hra_instance *in = rt->draining;

		rt->draining = in->next;
		MHD_run(in->mhd);
		instance_free(in);
	}
	rt->http = rt->https = rt->metrics = NULL;
	nap_radclient_free(rt->rc);
	nap_radius_secret_free(rt->secret);
	while (rt->old_rc != NULL) {
		struct hra_old_rc *o = rt->old_rc;

		rt->old_rc = o->next;
		nap_radclient_free(o->rc);
		nap_radius_secret_free(o->secret);
		free(o);
	}
	while (rt->sq_head != NULL) {
		struct hra_sq *q = rt->sq_head;

		rt->sq_head = q->next;
		free(q);
	}
	for (size_t i = 0; i < rt->n_chain; i++)
		X509_free(rt->chain[i]);
	free(rt->chain_der);
	naphrad_csr_keys_free(rt->csr_keys);
	free(rt);
	h->rt = NULL;
}

/* ---- the loop ------------------------------------------------------------------------------- */

static size_t
add_mhd_fd(struct hra_instance *in, struct pollfd *fds, size_t n, size_t cap)
{
	const union MHD_DaemonInfo *di;

	if (in == NULL || n >= cap)
		return n;
	di = MHD_get_daemon_info(in->mhd, MHD_DAEMON_INFO_EPOLL_FD);
	if (di == NULL)
		return n;
	fds[n] = (struct pollfd){.fd = di->epoll_fd, .events = POLLIN};
	return n + 1;
}

size_t
naphrad_pollfds(struct naphrad *h, struct pollfd *fds, size_t cap)
{
	struct naphrad_rt *rt = h->rt;
	size_t n = 0;

	if (cap == 0)
		return 0;
	fds[n++] = (struct pollfd){.fd = h->signer_fd,
				   .events = (short)(POLLIN | (rt->sq_head != NULL ? POLLOUT : 0))};
	n += nap_radclient_pollfds(rt->rc, fds + n, cap - n);
	for (struct hra_old_rc *o = rt->old_rc; o != NULL && n < cap; o = o->next)
		n += nap_radclient_pollfds(o->rc, fds + n, cap - n);
	n = add_mhd_fd(rt->http, fds, n, cap);
	n = add_mhd_fd(rt->https, fds, n, cap);
	n = add_mhd_fd(rt->metrics, fds, n, cap);
	for (struct hra_instance *in = rt->draining; in != NULL; in = in->next)
		n = add_mhd_fd(in, fds, n, cap);
	return n;
}

static int64_t
min_deadline(int64_t a, int64_t b)
{
	if (a < 0)
		return b;
	if (b < 0)
		return a;
	return a < b ? a : b;
}

static int64_t
mhd_timeout(struct hra_instance *in, int64_t t)
{
	MHD_UNSIGNED_LONG_LONG ms;

	if (in != NULL && MHD_get_timeout(in->mhd, &ms) == MHD_YES)
		t = min_deadline(t, ms > INT32_MAX ? INT32_MAX : (int64_t)ms);
	return t;
}

int64_t
naphrad_next_timeout_ms(struct naphrad *h)
{
	struct naphrad_rt *rt = h->rt;
	int64_t now = nap_mono_ms(), t = -1, d;

	d = nap_radclient_next_deadline(rt->rc);
	if (d >= 0)
		t = min_deadline(t, d > now ? d - now : 0);
	for (struct hra_old_rc *o = rt->old_rc; o != NULL; o = o->next)
		if ((d = nap_radclient_next_deadline(o->rc)) >= 0)
			t = min_deadline(t, d > now ? d - now : 0);
	if (rt->wait_head != NULL) {
		d = rt->wait_head->t_start + (int64_t)h->conf->request_timeout * 1000;
		t = min_deadline(t, d > now ? d - now : 0);
	}
	if (rt->draining != NULL)
		t = min_deadline(t, 200);
	t = mhd_timeout(rt->http, t);
	t = mhd_timeout(rt->https, t);
	t = mhd_timeout(rt->metrics, t);
	return t;
}

/* Cancel a request's RADIUS query without its callback finishing it (it may sit in a retired
 * client). */
static void
rad_cancel(struct naphrad_rt *rt, struct naphrad_req *rq)
{
	if (rq->state != RQ_NAPVD)
		return;
	rq->state = RQ_READY;
	if (nap_radclient_cancel(rt->rc, rq->rad_handle) == -ENOENT)
		for (struct hra_old_rc *o = rt->old_rc; o != NULL; o = o->next)
			if (nap_radclient_cancel(o->rc, rq->rad_handle) == 0)
				break;
	rq->state = RQ_NAPVD;
}

static void
expire_requests(struct naphrad *h, int64_t now)
{
	struct naphrad_rt *rt = h->rt;
	int64_t limit = (int64_t)h->conf->request_timeout * 1000;

	while (rt->wait_head != NULL && now - rt->wait_head->t_start >= limit) {
		struct naphrad_req *rq = rt->wait_head;

		rad_cancel(rt, rq);
		finish_error(rq, NAPHRAD_RES_TIMEOUT, MHD_HTTP_SERVICE_UNAVAILABLE,
			     "no answer in time (request_timeout)");
	}
}

static void
reap(struct naphrad *h, int64_t now)
{
	struct naphrad_rt *rt = h->rt;
	struct hra_instance **pp = &rt->draining;
	struct hra_old_rc **op = &rt->old_rc;

	while (*pp != NULL) {
		struct hra_instance *in = *pp;
		const union MHD_DaemonInfo *di =
			MHD_get_daemon_info(in->mhd, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);

		if (in->suspended == 0 &&
		    (di == NULL || di->num_connections == 0 || now >= in->drain_deadline)) {
			*pp = in->next;
			log_debug("reload: the previous %s server on %s is stopped",
				  in->kind == HRA_HTTPS ? "HTTPS" : "HTTP", in->listen);
			instance_free(in);
			continue;
		}
		pp = &in->next;
	}
	while (*op != NULL) {
		struct hra_old_rc *o = *op;
		struct nap_radclient_stats st;

		nap_radclient_get_stats(o->rc, &st);
		if (st.outstanding == 0) {
			*op = o->next;
			nap_radclient_free(o->rc);
			nap_radius_secret_free(o->secret);
			free(o);
			continue;
		}
		op = &o->next;
	}
}

void
naphrad_run(struct naphrad *h, const struct pollfd *fds, size_t n)
{
	struct naphrad_rt *rt = h->rt;
	int64_t now = nap_mono_ms();

	if (n > 0 && (fds[0].revents & (POLLIN | POLLERR | POLLHUP)) != 0)
		signer_read(h);
	nap_radclient_events(rt->rc, fds, n, now);
	nap_radclient_timers(rt->rc, now);
	for (struct hra_old_rc *o = rt->old_rc; o != NULL; o = o->next) {
		nap_radclient_events(o->rc, fds, n, now);
		nap_radclient_timers(o->rc, now);
	}
	expire_requests(h, now);
	if (rt->http != NULL)
		MHD_run(rt->http->mhd);
	if (rt->https != NULL)
		MHD_run(rt->https->mhd);
	if (rt->metrics != NULL)
		MHD_run(rt->metrics->mhd);
	for (struct hra_instance *in = rt->draining; in != NULL; in = in->next)
		MHD_run(in->mhd);
	signer_flush(h);
	reap(h, now);
}

int
naphrad_rt_new(struct naphrad *h)
{
	h->rt = calloc(1, sizeof(*h->rt));
	if (h->rt == NULL)
		return -ENOMEM;
	/* Without the templates every request takes the library's path: slower, still correct. */
	if (naphrad_csr_keys_new(&h->rt->csr_keys) < 0)
		log_warnx("hcep: no EC key templates; PKCS#10 requests take the slow path");
	return 0;
}
