/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * napsited's agent policy endpoint (the ConfigMgr management point's role): HTTPS with
 * libmicrohttpd + GnuTLS, agents authenticated by client certificates that napsited's agent CA
 * issued at enrollment.
 *
 *   POST /v1/enroll   {"token":"<64 hex>","csr":"<PEM PKCS#10>"}  (no client certificate)
 *                     -> 200 {"certificate": PEM, "ca": PEM}
 *   GET  /v1/policy   (client certificate) -> the current signed HSR document, headers
 *                     X-Nap-Revision and ETag; If-None-Match -> 304; 503 before the first one
 *   POST /v1/state    (client certificate) {"state":1|2|3,"compliant":bool,"hsr_revision":N,
 *                     "hsr_digest":"hex","evaluated":"RFC 3339","missing":[ids],"detail":{}}
 *                     -> 204, stored as the certificate's client with history
 *
 * Enrollment tokens travel as 64 lowercase hex characters (NAP_AGENT_TOKEN_LEN raw bytes); the
 * store keeps SHA-256 over the 32 raw bytes (not over the hex text).
 *
 * Everything the endpoint serves runs in one libmicrohttpd thread with its own store
 * connection; napsited's main thread only calls start / reload / stop. Handles untrusted input
 * (agent_http.c: requests, client certificates; enroll.c: CSRs; agent_state.c: state bodies).
 *
 * What the endpoint uses of struct napsited (napsited.h), from the libmicrohttpd thread:
 *   sd->conf                  the configuration ([site] code, user, state_dir, [store] uri,
 *                             [agent]); read only in start / reload (main thread)
 *   sd->agent                 struct napsited_agent *, the endpoint's own state (NULL: stopped)
 *   the current signed HSR    a thread-safe accessor returning the document text and revision
 *                             (-ENOENT before the first one)
 *   counters                  agent check-ins (state posts), policy fetches, enrollments ok /
 *                             failed, bad requests, authentication failures: incremented from
 *                             the endpoint's thread, so atomic (or under napsited's lock)
 */
#ifndef NAPSITED_AGENT_H
#define NAPSITED_AGENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nap/store.h"

#define NAPSITED_AGENT_BODY_MAX     (64 * 1024) /* request bodies; larger: 413 */
#define NAPSITED_AGENT_CA_LIFETIME  (10 * 365 * 86400LL) /* a created agent CA: 10 years */
#define NAPSITED_AGENT_CONN_LIMIT   512 /* concurrent connections */
#define NAPSITED_AGENT_CONN_TIMEOUT 30  /* seconds of inactivity before a connection closes */

struct napsited;

/*
 * Load (or create, when both files are missing) the agent CA, read the endpoint's certificate
 * and key and start listening on [agent] listen. Does nothing without an [agent] section.
 * Returns 0 or a negative errno with a message in err.
 */
int napsited_agent_start(struct napsited *sd, char *err, size_t len);
/* Stop at once (in-flight requests are cut); safe when not started. */
void napsited_agent_stop(struct napsited *sd);
/*
 * Apply sd's (new) configuration without dropping requests: a new endpoint instance is built
 * with the new certificates and CA and starts accepting on the same listening socket (or a new
 * one when listen changed); the old one stops accepting and finishes its requests before it is
 * stopped. A failure leaves the running endpoint untouched.
 */
int napsited_agent_reload(struct napsited *sd, char *err, size_t len);

/*
 * Parse and check a POST /v1/state body strictly: known members only, types, sizes, the id
 * charset, at most NAP_AGENT_MAX_MISSING unique ids. Fills everything but client and received;
 * out->detail (the compact JSON text of "detail", or NULL) is malloc'ed: free() it or use
 * nap_agent_state_clear(). Returns 0 or -EINVAL with a message in err (nothing to free then).
 * A pure function: no I/O, no global state.
 */
int napsited_state_parse(const uint8_t *body, size_t len, struct nap_agent_state *out, char *err,
			 size_t err_len);
/* The strict RFC 3339 date-time the state's "evaluated" carries (any offset) to Unix seconds. */
int napsited_state_parse_time(const char *s, int64_t *out);


/* ---- inside the endpoint (agent_http.c, enroll.c) and its tests ---- */

/* The agent CA: its certificate (also as PEM, what enrollment hands out) and its key. */
struct napsited_agent_ca;

/*
 * Load the CA from cert_path / key_path, or create it when both are missing: ECDSA P-256,
 * NAPSITED_AGENT_CA_LIFETIME, CN "nap agent CA <site>", the key 0600, both files written
 * atomically and, when running as root with owner set, given to that user (napsited drops to it
 * and must read them again on reload). Refuses one file without the other, a key readable by
 * group or other, a key that does not match, a certificate that is not a CA or has expired.
 */
int napsited_agent_ca_load(const char *cert_path, const char *key_path, const char *site,
			   const char *owner, int64_t now, struct napsited_agent_ca **out,
			   char *err, size_t len);
void napsited_agent_ca_free(struct napsited_agent_ca *ca);
const char *napsited_agent_ca_pem(const struct napsited_agent_ca *ca); /* NUL-terminated */

/* 64 hex characters (either case) to the SHA-256 the store keeps; -EINVAL when malformed. */
int napsited_enroll_token_hash(const char *hex, size_t len, uint8_t hash[32]);

/*
 * Parse a PEM PKCS#10 request and check it: the self-signature verifies, the key is EC P-256 or
 * RSA of at least 2048 bits. On success *out (an OpenSSL X509_REQ) is the caller's.
 */
struct X509_req_st;
int napsited_enroll_csr_check(const char *pem, size_t len, struct X509_req_st **out, char *err,
			      size_t err_len);
/*
 * Issue a client certificate for the CSR's key: subject CN = client (the CSR's subject is
 * ignored), a random 128-bit serial, valid from now - NAPSITED_AGENT_BACKDATE to now + lifetime
 * (never past the CA's own end), EKU clientAuth, CA:FALSE, keyUsage digitalSignature. *pem is
 * malloc'ed; rec (client, serial, issued, not_after) is what to record in the store.
 */
#define NAPSITED_AGENT_BACKDATE 300 /* seconds, for agents whose clock runs a little behind */
int napsited_enroll_issue(const struct napsited_agent_ca *ca, struct X509_req_st *req,
			  const char *client, int64_t now, int64_t lifetime, char **pem,
			  struct nap_agent_cert *rec, char *err, size_t err_len);

/* Does an If-None-Match header value match etag (quoted, as the ETag header carries it)? */
bool napsited_agent_etag_match(const char *if_none_match, const char *etag);

/* A certificate serial (big-endian bytes, as DER carries it) as the store's lowercase hex. */
int napsited_agent_serial_hex(const uint8_t *p, size_t n, char out[65]);

#endif
