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
 * (agent_http.c: requests, client certificates; enroll.c: CSRs).
 */
#ifndef NAPSITED_AGENT_H
#define NAPSITED_AGENT_H

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

#endif
