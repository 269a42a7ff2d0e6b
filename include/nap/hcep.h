/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * MS-HCEP (Health Certificate Enrollment Protocol) message codec: the request body (a DER
 * PKCS#10 carrying the SoH), the request's HTTP headers, and the response pieces (the PKCS#7
 * certs-only chain body and the HCEP-SoHR header). Handles untrusted input.
 *
 * Wire reference: spec/PROTOCOLS.md §4. The SoH travels as an X.509 extension with OID
 * 1.3.6.1.4.1.311.47.1.1 inside the PKCS#10 extension-request attribute ("extensions carried as
 * PKCS#10 attributes"); the extension value is `SoHExtension ::= OCTET STRING` holding the SoH
 * message (HCEP 2.2.3.7, 1.9), so the SoH bytes sit inside two OCTET STRINGs: extnValue, and the
 * DER OCTET STRING it contains.
 *
 * Status codes: the spec gives one error status, 500, "when mandatory fields are missing or SAN
 * checks fail" (HCEP 3.2.5.1). Every problem with the request's content or its HCEP headers
 * maps to 500. Where the spec is silent and plain HTTP has a precise answer (wrong method, no
 * Content-Length, body over nap's limit) the functions return that (405, 411, 413); these are
 * nap's choices, marked as such below.
 */
#ifndef NAP_HCEP_H
#define NAP_HCEP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>

#include "nap/error.h"

/* Limits a peer controls. */
#define NAP_HCEP_MAX_BODY    16384 /* DER PKCS#10: SoH (<= 4,000) + key + names, with room */
#define NAP_HCEP_MAX_SAN     8     /* subjectAltName entries kept */
#define NAP_HCEP_MAX_NAME    512   /* printed subject / SAN entry, bytes including NUL */
#define NAP_HCEP_MAX_CHAIN   8     /* certificates in a response chain */
#define NAP_HCEP_MAX_RESPONSE 65536 /* DER PKCS#7 response body */

#define NAP_HCEP_OID_SOH       "1.3.6.1.4.1.311.47.1.1" /* napSoHOid = napHealthyOid (EKU) */
#define NAP_HCEP_OID_UNHEALTHY "1.3.6.1.4.1.311.47.1.3"
#define NAP_HCEP_OID_POLICY_COMPLIANT     "1.3.6.1.4.1.311.47.1.10"
#define NAP_HCEP_OID_POLICY_NOT_COMPLIANT "1.3.6.1.4.1.311.47.1.11"
#define NAP_HCEP_OID_MS_CERT_EXTENSIONS   "1.3.6.1.4.1.311.2.1.14" /* szOID_CERT_EXTENSIONS */
#define NAP_HCEP_OID_CSP_NAME  "1.3.6.1.4.1.311.13.2.2" /* [MS-WCCE] 2.2.2.7 enrollment CSP */

#define NAP_HCEP_CONTENT_TYPE_REQUEST  "application/healthcertificate-request"
#define NAP_HCEP_CONTENT_TYPE_RESPONSE "application/healthcertificate-response"
#define NAP_HCEP_VERSION               "1.0"
#define NAP_HCEP_ANONYMOUS_SUBJECT     "Anonymous System Health Authentication"

/* HTTP status codes the checks return (0 means acceptable). */
#define NAP_HCEP_HTTP_OK                  200
#define NAP_HCEP_HTTP_BAD_METHOD          405 /* nap's choice: spec only says POST */
#define NAP_HCEP_HTTP_LENGTH_REQUIRED     411 /* nap's choice */
#define NAP_HCEP_HTTP_TOO_LARGE           413 /* nap's choice: over NAP_HCEP_MAX_BODY */
#define NAP_HCEP_HTTP_SERVER_ERROR        500 /* HCEP 3.2.5.1: missing fields, SAN checks */

enum nap_hcep_key_type {
	NAP_HCEP_KEY_OTHER = 0,
	NAP_HCEP_KEY_RSA,
	NAP_HCEP_KEY_EC,
};

/* A decoded request. Strings are NUL-terminated UTF-8 as printed by OpenSSL (RFC 2253). */
struct nap_hcep_request {
	X509_REQ *req;          /* owned */
	bool signature_ok;      /* the self-signature verifies with the request's own key */
	enum nap_hcep_key_type key_type;
	int key_bits;
	char key_curve[32];     /* EC group name ("prime256v1"), "" otherwise */
	char key_desc[48];      /* "RSA-2048", "EC P-256", ... */
	char subject[NAP_HCEP_MAX_NAME]; /* "" when the subject is empty */
	bool subject_empty;
	size_t n_san;
	char san[NAP_HCEP_MAX_SAN][NAP_HCEP_MAX_NAME]; /* "DNS:host", "IP:...", "other" */
	size_t n_san_dns;
	bool has_extensions;    /* an extension-request attribute was present */
	bool eku_health;        /* EKU lists 1.3.6.1.4.1.311.47.1.1 */
	bool eku_client_auth;   /* EKU lists id-kp-clientAuth */
	bool has_csp_name;      /* the [MS-WCCE] CSP-name attribute */
	uint8_t *soh;           /* SoH bytes (owned copy), NULL when the extension is absent */
	size_t soh_len;
	size_t soh_offset;      /* where those bytes sit in the decoded input */
};

/*
 * Decode a DER PKCS#10 request body and verify its self-signature (the result is in
 * signature_ok; a bad signature is not a decode error). Returns 0 with *out allocated (free with
 * nap_hcep_request_free()), or a negative errno with err filled: -EBADMSG for malformed DER,
 * trailing bytes, duplicate attributes or extensions, a malformed SoH extension or the SoH OID
 * used as a bare attribute; -EMSGSIZE for a body over NAP_HCEP_MAX_BODY or an SoH over
 * NAP_SOH_MAX_LEN. The input need not outlive the result.
 */
int nap_hcep_request_decode(const uint8_t *p, size_t len, struct nap_hcep_request **out,
			    struct nap_err *err);
void nap_hcep_request_free(struct nap_hcep_request *r);

/*
 * The attribute checks of nap_hcep_request_decode() on attributes a caller decoded itself
 * (naphrad's lean PKCS#10 reader; the subject likewise above): at most 32, no duplicates, one extension request whose SoH,
 * SAN and EKU fill r, the SoH never as a bare attribute. p/len: the whole input, for offsets.
 * Returns 0 or a negative errno with err filled, like the decoder.
 */
/* r->subject / subject_empty from the subject name, as nap_hcep_request_decode() fills them. */
int nap_hcep_request_subject(struct nap_hcep_request *r, const X509_NAME *name,
			     struct nap_err *err);
int nap_hcep_request_attributes(struct nap_hcep_request *r, X509_ATTRIBUTE *const *attrs,
				int count, const uint8_t *p, size_t len, struct nap_err *err);

/*
 * The HRA's content checks (HCEP 3.2.5.1) on a decoded request: signature, the SoH extension,
 * the EKU with the health OID (plus clientAuth when authenticated), and the SAN rule: empty for
 * an unauthenticated client; for an authenticated one only DNS names, equal to auth_fqdn
 * (case-insensitive) when that is given. Returns 0, or the HTTP status (500) with err->what set.
 */
int nap_hcep_request_check(const struct nap_hcep_request *r, bool authenticated,
			   const char *auth_fqdn, struct nap_err *err);

/* The request's HTTP bits; NULL for a header that is absent. */
struct nap_hcep_http_request {
	const char *method;
	const char *content_type;
	const char *hcep_version;
	const char *correlation_id; /* base64 of 24 bytes */
	bool has_content_length;
	uint64_t content_length;
};

/*
 * Check the method and the HCEP headers (spec/PROTOCOLS.md §4 request table). Returns 0 with
 * the decoded correlation id in correlation_id (may be NULL), or the HTTP status with err->what
 * set. Pragma and User-Agent are not checked: the first is a caching hint, the second only
 * matters for an agent whitelist, which is the server's policy.
 */
int nap_hcep_http_check(const struct nap_hcep_http_request *h, uint8_t correlation_id[24],
			struct nap_err *err);

/* Strict base64 (RFC 4648 §4, padding required, no whitespace). Returns the length or -EBADMSG. */
long nap_hcep_base64_decode(const char *s, size_t s_len, uint8_t *out, size_t out_cap);

/*
 * The HCEP-SoHR header value: base64 of the SoHR bytes (HCEP 2.2.2.2), NUL-terminated, in a new
 * buffer (free()). Returns 0, -EMSGSIZE over NAP_SOH_MAX_LEN or -ENOMEM.
 */
int nap_hcep_sohr_header(const uint8_t *sohr, size_t len, char **out);

/*
 * The response body: a DER PKCS#7 SignedData with certificates only ([MS-WCCE] 2.2.2.8), leaf
 * first as given. Returns 0 with *out (free()) or -EINVAL (no or too many certificates) /
 * -ENOMEM.
 */
int nap_hcep_chain_encode(X509 *const *certs, size_t n, uint8_t **out, size_t *out_len);

/*
 * Decode a response body back into its certificates (for napdump and tests). Returns 0 with
 * *out (sk_X509_pop_free(*out, X509_free)), or a negative errno with err filled.
 */
int nap_hcep_chain_decode(const uint8_t *p, size_t len, STACK_OF(X509) **out,
			  struct nap_err *err);

#endif
