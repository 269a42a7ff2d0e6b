/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * naphrad, the Health Registration Authority: MS-HCEP over HTTP and HTTPS (hcep_http.c), the
 * SoH to napvd over RADIUS (verdict.c, lib/enforce), health certificates from a separate signer
 * process that alone holds the CA private key (signer.c), Prometheus metrics (metrics.c).
 *
 * Two processes. naphrad forks the signer at start, before it drops privileges; they talk over
 * a SOCK_SEQPACKET socketpair (one message per datagram, signer_proto.c). The network-facing
 * process never opens the CA key file: after the drop it runs as [naphrad] user, which must not
 * be able to read it (the key belongs to root or to [signer] user, mode 0600).
 */
#ifndef NAPHRAD_H
#define NAPHRAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>

#include <openssl/types.h>

#include "nap/radclient.h"

#define NAPHRAD_DEFAULT_CONF "/etc/nap/naphrad.conf"

/* Health certificate names and defaults (spec/PROTOCOLS.md §4). */
#define NAPHRAD_ANON_SUBJECT "Unauthenticated System Health Authentication" /* HCEP 3.2.5.4 */
#define NAPHRAD_DEFAULT_LIFETIME (4 * 3600)
#define NAPHRAD_DEFAULT_MAX_LIFETIME (24 * 3600)
#define NAPHRAD_BACKDATE 300 /* notBefore = now - 5 min: clock skew between peers */

/* Limits. */
#define NAPHRAD_MAX_NAME 64     /* common name, bytes (RFC 5280 ub-common-name) */
#define NAPHRAD_MAX_DNS 253     /* one DNS name */
#define NAPHRAD_MAX_DNS_NAMES 4 /* SAN entries in a health certificate */
#define NAPHRAD_MAX_PUBKEY 2048 /* SubjectPublicKeyInfo DER (RSA-4096 is ~550) */
#define NAPHRAD_MAX_CERT 8192   /* one certificate, DER */
#define NAPHRAD_SERIAL_LEN 16   /* certificate serial numbers: 128 random bits */
#define NAPHRAD_MAX_CHAIN 4     /* CA certificate + intermediates */
#define NAPHRAD_SIGNER_MSG_MAX 65536

/* ---- configuration (config.c) ------------------------------------------------------------ */

enum naphrad_client_auth {
	NAPHRAD_AUTH_OFF = 0, /* no client certificate asked for */
	NAPHRAD_AUTH_OPTIONAL, /* asked for; without one the client is anonymous */
	NAPHRAD_AUTH_REQUIRED, /* HTTPS requests without a valid one get 403 */
};

struct naphrad_signer_conf {
	char *ca_cert;      /* PEM: the issuing CA certificate */
	char *ca_key;       /* PEM file, or an OSSL_STORE URI (pkcs11:... with a provider) */
	char *chain;        /* optional PEM file: intermediates up to the root, sent in responses */
	char *pkcs11_module; /* ca_key pkcs11:...: the token's PKCS#11 module (else p11-kit's) */
	char *pin_file;     /* ca_key pkcs11:...: the user PIN, a 0600 file (optional) */
	char *user;         /* the signer drops to this user after loading the key (optional) */
	char *log;          /* issuance log path */
	int64_t lifetime;   /* default certificate lifetime, seconds */
	int64_t max_lifetime; /* cap for any requested lifetime */
	uint64_t log_max_size; /* bytes before rotation */
	unsigned log_keep;  /* rotated files kept */
	int64_t log_max_age; /* rotated files older than this are removed; 0 = by count only */
	unsigned rsa_min_bits;
};

struct naphrad_config {
	char *path;
	/* [naphrad] */
	char *user;
	char *pidfile;
	char *state_dir;
	char *metrics;          /* ADDR:PORT or NULL */
	unsigned max_connections;
	unsigned max_connections_per_ip;
	unsigned connection_timeout; /* seconds idle before a connection is closed */
	unsigned request_timeout;    /* seconds a request may wait for napvd + signer */
	unsigned max_pending;   /* requests waiting for a verdict or a certificate */
	bool has_afw_zone, has_afw_level;
	uint32_t afw_zone, afw_level;
	/* [http] */
	char *http_listen;
	/* [https] */
	char *https_listen;
	char *tls_cert, *tls_key;
	char *client_ca;
	enum naphrad_client_auth client_auth;
	/* [napvd] */
	size_t n_servers;
	char *servers[NAP_RADCLIENT_MAX_SERVERS];
	char *secret_file;
	unsigned radius_timeout_ms;
	unsigned radius_retries;
	unsigned radius_holddown_ms;
	char *nas_identifier;
	/* [signer] */
	struct naphrad_signer_conf signer;
};

int naphrad_config_parse_file(const char *path, struct naphrad_config **out, char *err,
			      size_t len);
int naphrad_config_parse_string(const char *text, const char *name, struct naphrad_config **out,
				char *err, size_t len);
void naphrad_config_free(struct naphrad_config *c);
void naphrad_config_print(const struct naphrad_config *c, FILE *f);
/* Problems that do not stop a start (printed by -n and at start). */
void naphrad_config_warnings(const struct naphrad_config *c, FILE *f);
int naphrad_sockaddr(const char *hostport, struct sockaddr_storage *ss, socklen_t *len);

/* ---- the signer protocol (signer_proto.c) -------------------------------------------------- */

enum naphrad_signer_op {
	NAPHRAD_OP_SIGN = 1,   /* a certificate for a validated template */
	NAPHRAD_OP_HELLO = 2,  /* the CA chain and limits */
	NAPHRAD_OP_RELOAD = 3, /* re-read [signer] from the configuration file, then HELLO */
};

#define NAPHRAD_PROTO_VERSION 1

/* The template naphrad asks for; the signer checks every field again. */
struct naphrad_template {
	bool authenticated;
	uint32_t lifetime;    /* seconds; 0 = the signer's default */
	size_t pubkey_len;
	uint8_t pubkey[NAPHRAD_MAX_PUBKEY]; /* SubjectPublicKeyInfo, DER */
	char cn[NAPHRAD_MAX_NAME + 1];      /* authenticated: the identity; anonymous: "" */
	size_t n_dns;
	char dns[NAPHRAD_MAX_DNS_NAMES][NAPHRAD_MAX_DNS + 1];
};

struct naphrad_signer_request {
	uint8_t op;
	uint64_t id;
	struct naphrad_template t; /* SIGN only */
};

struct naphrad_signer_reply {
	uint8_t op;
	uint64_t id;
	int32_t status;       /* 0 or a negative errno */
	char error[128];      /* status != 0 */
	/* SIGN */
	int64_t not_before, not_after;
	uint8_t serial[NAPHRAD_SERIAL_LEN];
	const uint8_t *cert;  /* views into the decoded message */
	size_t cert_len;
	/* HELLO / RELOAD */
	uint32_t lifetime, max_lifetime;
	size_t n_chain;
	const uint8_t *chain[NAPHRAD_MAX_CHAIN];
	size_t chain_len[NAPHRAD_MAX_CHAIN];
};

/* Encoders write into out (cap bytes); they return the length or a negative errno. */
long naphrad_signer_request_encode(const struct naphrad_signer_request *rq, uint8_t *out,
				   size_t cap);
/* Decoders check every length and value range: -EBADMSG on anything malformed. */
int naphrad_signer_request_decode(const uint8_t *p, size_t len, struct naphrad_signer_request *rq);
long naphrad_signer_reply_encode(const struct naphrad_signer_reply *rp, uint8_t *out, size_t cap);
int naphrad_signer_reply_decode(const uint8_t *p, size_t len, struct naphrad_signer_reply *rp);

/*
 * Name rules the signer (and naphrad before it) apply: a DNS name is 1..253 bytes of letters,
 * digits, '-' and '.', labels 1..63 bytes, not starting or ending with '-'; a common name is
 * 1..64 printable ASCII bytes.
 */
bool naphrad_dns_name_ok(const char *s);
bool naphrad_cn_ok(const char *s);

/* ---- the signer process (signer.c) -------------------------------------------------------- */

struct naphrad_signer;

/*
 * Load the CA (certificate, key, chain) and open the issuance log. Returns 0, or a negative
 * errno with err filled. now: Unix seconds (tests pass their own).
 */
int naphrad_signer_new(const struct naphrad_signer_conf *c, struct naphrad_signer **out,
		       char *err, size_t len);
void naphrad_signer_free(struct naphrad_signer *s);
/*
 * Check a template and issue the certificate: *der (free()) with reply fields filled. Returns 0,
 * or a negative errno with reply->error set; nothing is logged for a refused template. The
 * issuance record is appended to the log but not yet synced: naphrad_signer_sync() must run
 * before the certificate leaves the process.
 */
int naphrad_signer_issue(struct naphrad_signer *s, const struct naphrad_template *t, int64_t now,
			 struct naphrad_signer_reply *reply, uint8_t **der);
int naphrad_signer_sync(struct naphrad_signer *s);
/* The HELLO reply: the chain (views into s) and the limits. */
void naphrad_signer_hello(const struct naphrad_signer *s, struct naphrad_signer_reply *reply);
/*
 * The signer process's main loop on fd; conf_path is re-read on RELOAD (which replaces s).
 * Takes s and frees it. Returns the exit status (0 when naphrad closed the socket).
 */
int naphrad_signer_main(int fd, const char *conf_path, struct naphrad_signer *s);

/* ---- PKCS#10 requests (csr.c) ------------------------------------------------------------- */

struct naphrad_csr_keys; /* per-curve key templates, made once */
struct nap_hcep_request;
struct nap_err;

int naphrad_csr_keys_new(struct naphrad_csr_keys **out);
void naphrad_csr_keys_free(struct naphrad_csr_keys *k);
/* An EC public key (P-256: bits 256, P-384: 384) from its encoded point; NULL when the point is
 * not on the curve. */
EVP_PKEY *naphrad_csr_ec_key(const struct naphrad_csr_keys *k, int bits, const uint8_t *point,
			     size_t len);
/* One DER TLV at *p (definite, minimal length up to 3 octets): its content and length; *p moves
 * past it. */
bool naphrad_der_tlv(const uint8_t **p, const uint8_t *end, uint8_t tag, const uint8_t **content,
		     size_t *len);
/*
 * Decode and verify an HCEP request body like nap_hcep_request_decode() (same acceptance, same
 * fields), through the lean reader when it takes the shape (*lean true; (*out)->req
 * is NULL then), else through the library. *spki: the request's SubjectPublicKeyInfo, DER
 * (free()). keys NULL: always the library.
 */
int naphrad_csr_decode(const struct naphrad_csr_keys *keys, const uint8_t *p, size_t len,
		       struct nap_hcep_request **out, uint8_t **spki, size_t *spki_len, bool *lean,
		       struct nap_err *err);

/* ---- PKCS#11 (signer_pkcs11.c) ------------------------------------------------------------- */

/*
 * The CA private key from a PKCS#11 token (uri: RFC 7512 "pkcs11:..."), through libp11's
 * engine (Debian: libengine-pkcs11-openssl). module: the token's module or NULL (p11-kit's
 * proxy); pin_file: the PIN or NULL. NULL with err filled when it cannot.
 */
EVP_PKEY *naphrad_pkcs11_key(const char *uri, const char *module, const char *pin_file,
			     char *err, size_t len);

/* ---- the network-facing process (hcep_http.c, verdict.c, metrics.c, naphrad.c) ------------ */

/* What became of a request: the metrics' "result" label. */
enum naphrad_result {
	NAPHRAD_RES_ISSUED = 0,     /* compliant (or probation): certificate returned */
	NAPHRAD_RES_NONCOMPLIANT,   /* napvd said restricted / reject: SoHR only */
	NAPHRAD_RES_BAD_REQUEST,    /* HTTP or PKCS#10 checks failed */
	NAPHRAD_RES_AUTH_FAILED,    /* TLS client certificate missing or invalid */
	NAPHRAD_RES_NAPVD_TIMEOUT,  /* no napvd answered */
	NAPHRAD_RES_SIGNER_ERROR,   /* the signer refused or failed */
	NAPHRAD_RES_OVERLOAD,       /* max_pending reached */
	NAPHRAD_RES_TIMEOUT,        /* request_timeout passed */
	NAPHRAD_RES_COUNT
};
const char *naphrad_result_name(enum naphrad_result r);

#define NAPHRAD_HIST_BUCKETS 12
extern const double naphrad_hist_bounds[NAPHRAD_HIST_BUCKETS]; /* seconds */

struct naphrad_hist {
	uint64_t buckets[NAPHRAD_HIST_BUCKETS]; /* non-cumulative; +Inf is count */
	uint64_t count;
	double sum;
};
void naphrad_hist_add(struct naphrad_hist *h, double seconds);

#define NAPHRAD_STATUS_SLOTS 12
struct naphrad_metrics {
	uint64_t results[NAPHRAD_RES_COUNT];
	uint64_t status[NAPHRAD_STATUS_SLOTS]; /* indexed by naphrad_status_slot() */
	uint64_t certs_issued, certs_authenticated;
	uint64_t napvd_replies, napvd_timeouts;
	uint64_t signer_errors;
	uint64_t reloads_ok, reloads_error;
	uint64_t requests_lean; /* PKCS#10 requests read by the lean reader (csr.c) */
	struct naphrad_hist napvd_latency, signer_latency, request_latency;
};
extern const unsigned naphrad_status_codes[NAPHRAD_STATUS_SLOTS];
size_t naphrad_status_slot(unsigned status);

struct naphrad;
struct naphrad_req;

/* The verdict napvd's reply maps to (verdict.c). */
struct naphrad_verdict {
	bool issue;         /* full access or probation */
	uint32_t qstate;    /* MS-Quarantine-State, NAP_MS_QSTATE_* (reject: restricted) */
	bool rejected;      /* Access-Reject */
	int64_t grace;      /* probation: MS-Quarantine-Grace-Time, Unix seconds; 0 = none */
	bool has_zone, has_level;
	uint32_t zone, level;
	size_t sohr_len;
	uint8_t sohr[4096 + 16];
};

struct nap_radius_builder;
struct nap_radius_packet;
/* The Access-Request for one HCEP request (without Message-Authenticator: radclient adds it). */
struct naphrad_query {
	const uint8_t *soh;
	size_t soh_len;
	const char *identity;   /* authenticated name or NULL */
	const char *client_ip;  /* Calling-Station-Id */
	const char *nas_identifier;
};
int naphrad_verdict_request(struct nap_radius_builder *b, const struct naphrad_query *q);
void naphrad_verdict_from_reply(const struct nap_radius_packet *reply, struct naphrad_verdict *v);

/* metrics.c: the Prometheus text (malloc'ed, NUL-terminated). */
char *naphrad_metrics_text(const struct naphrad *h, size_t *len);

/* hcep_http.c */
int naphrad_rt_new(struct naphrad *h);
int naphrad_http_start(struct naphrad *h, char *err, size_t len);
int naphrad_http_reload(struct naphrad *h, const struct naphrad_config *next, char *err,
			size_t len);
void naphrad_http_stop(struct naphrad *h);
struct pollfd;
size_t naphrad_pollfds(struct naphrad *h, struct pollfd *fds, size_t cap);
void naphrad_run(struct naphrad *h, const struct pollfd *fds, size_t n);
int64_t naphrad_next_timeout_ms(struct naphrad *h);
void naphrad_signer_reload_request(struct naphrad *h);
/* Send HELLO and wait for the answer (start-up): the CA chain and limits. */
int naphrad_signer_hello_sync(struct naphrad *h, char *err, size_t len);
int naphrad_radius_setup(struct naphrad *h, const struct naphrad_config *c, char *err,
			 size_t len);

struct naphrad {
	struct naphrad_config *conf;
	int verbose;
	bool quit;
	int signer_fd;
	int signer_pid;
	struct naphrad_metrics m;
	struct naphrad_rt *rt; /* the HTTP side's state (hcep_http.c) */
};

#endif
