/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * IPsec enforcement, client side: the agent's MS-HCEP client. It asks naphrad (or any HRA) for
 * a health certificate with the agent's SoH, installs it where strongSwan's swanctl loads it,
 * and has charon reload its credentials; on a non-compliant answer it removes the certificate it
 * installed, so IKE with protected hosts fails closed until the machine is healthy again.
 *
 * The request (spec/PROTOCOLS.md §4, [MS-HCEP] 2.2.1): POST to each configured URL in turn,
 * headers Pragma: no-cache, Content-Type: application/healthcertificate-request, HCEP-Version:
 * 1.0, HCEP-Correlation-Id (base64 of the SoH's own correlation id); body a DER PKCS#10 with a
 * fresh key (EC P-256 or RSA-2048), signed with SHA-256, carrying as extension-request
 * attributes the EKU System Health Authentication 1.3.6.1.4.1.311.47.1.1, the SoH extension
 * (OID 1.3.6.1.4.1.311.47.1.1, SoHExtension ::= OCTET STRING, so the SoH sits inside two OCTET
 * STRINGs) and the [MS-WCCE] 2.2.2.7 CSP-name attribute. With an enrollment certificate (the
 * client authenticates with TLS, nap's stand-in for Windows' Negotiate) the subject is empty,
 * the EKU adds clientAuth and subjectAltName is DNS:<machine name>; without, the subject is
 * CN=Anonymous System Health Authentication and there is no subjectAltName (naphrad refuses a
 * SAN from an unauthenticated client, HCEP 3.2.5.1).
 *
 * The answer: 200 with application/healthcertificate-response, the HCEP-SoHR header (base64
 * SoHR, acted on like the SoHR of a DHCPACK: agent_sohr_actions) and, when compliant, a DER
 * PKCS#7 certs-only chain whose leaf must hold the request's public key; 200 without a body is
 * "not compliant". Anything else (another status, another content type, a malformed chain or
 * SoHR, a chain without our key, an expired leaf, over NAP_HCEP_MAX_RESPONSE bytes) is an error:
 * the next URL is tried, and after the last one the certificate in place is kept until it
 * expires, then removed.
 *
 * Installation: SWANCTL_DIR/private/nap-health.key (mode 0600) then SWANCTL_DIR/x509/nap-health.pem
 * (0644), each written to a temporary name, fsync'ed and renamed; the chain's CA certificates
 * to SWANCTL_DIR/x509ca/nap-health-ca.pem when install_ca = yes. Then reload_command runs
 * (default "/usr/sbin/swanctl --load-creds --clear --noprompt", with SWANCTL_DIR set to
 * swanctl_dir and --uri swanctl_uri when configured: --clear, because after a removal charon
 * would otherwise keep the old key and certificate loaded). The swanctl.conf connection should
 * name the local identity (id = the machine's FQDN) and leave `certs` out, so charon picks the
 * current certificate from the loaded credentials.
 *
 * Configuration, section [hra] of napagentd.conf (agent_hra_conf_set()):
 *
 *   url = URL               https:// or http:// of an HRA; repeatable (up to AGENT_HRA_MAX_URLS),
 *                           tried in order. No url: the HCEP client is off.
 *   ca_file = PATH          CA of the HRAs' TLS certificates (required for https://)
 *   cert = PATH, key = PATH the enrollment certificate and key (TLS client authentication)
 *   key_type = ec|rsa       the health certificate's key: EC P-256 (default) or RSA-2048
 *   new_key = yes|no        a new key for every request (default yes: charon caches peer
 *                           certificates by key); no keeps the installed key while it matches
 *                           key_type
 *   swanctl_dir = PATH      default /etc/swanctl
 *   swanctl_uri = URI       vici URI for the default reload command (e.g. unix:///run/x.vici)
 *   install_ca = yes|no     write the chain's CA certificates into x509ca/ (default no)
 *   reload_command = ARGV   words split like remediate.h's commands; argv[0] absolute
 *   reload_timeout = DUR    default 30s
 *   renew_before = F|DUR    renew when this much of the certificate's remaining lifetime is
 *                           left: a fraction ("0.25", "25%") of the time from issue to notAfter,
 *                           or a duration ("1h"); default 25%
 *   retry = DUR             after a failed or non-compliant answer, default 60s
 *   timeout = DUR           per HRA request, default 30s
 */
#ifndef NAPAGENTD_HCEP_H
#define NAPAGENTD_HCEP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "nap/hcep.h"
#include "nap/soh.h"

#define AGENT_HRA_MAX_URLS  4
#define AGENT_HRA_PATH_MAX  1024
#define AGENT_HRA_CMD_MAX   1024
#define AGENT_HRA_NAME      "nap-health"
/* The HCEP-SoHR header: base64 of at most NAP_SOH_MAX_LEN bytes. */
#define AGENT_HRA_SOHR_B64_MAX ((NAP_SOH_MAX_LEN + 2) / 3 * 4)

enum agent_hra_key_type { AGENT_HRA_KEY_EC = 0, AGENT_HRA_KEY_RSA };

struct agent_hra_conf {
	size_t n_url;
	char url[AGENT_HRA_MAX_URLS][AGENT_HRA_PATH_MAX];
	char ca_file[AGENT_HRA_PATH_MAX];
	char cert[AGENT_HRA_PATH_MAX], key[AGENT_HRA_PATH_MAX]; /* "" = anonymous */
	enum agent_hra_key_type key_type;
	bool new_key;
	char swanctl_dir[AGENT_HRA_PATH_MAX];
	char swanctl_uri[AGENT_HRA_PATH_MAX];
	bool install_ca;
	char reload_command[AGENT_HRA_CMD_MAX]; /* "" = the default swanctl command */
	int64_t reload_timeout;
	double renew_fraction;  /* > 0: the fraction form of renew_before */
	int64_t renew_seconds;  /* the duration form (renew_fraction 0) */
	int64_t retry;
	int64_t timeout;
};

void agent_hra_conf_init(struct agent_hra_conf *c);
/* One key of [hra]: 0, 1 not an [hra] key, -EINVAL with a message in err. */
int agent_hra_conf_set(struct agent_hra_conf *c, const char *key, const char *value, char *err,
		       size_t len);
/* Rules across keys (ca_file for https, cert with key). 0 or -EINVAL with err. */
int agent_hra_conf_check(const struct agent_hra_conf *c, char *err, size_t len);
void agent_hra_conf_print(const struct agent_hra_conf *c, FILE *f);
static inline bool
agent_hra_enabled(const struct agent_hra_conf *c)
{
	return c->n_url > 0;
}

/* Where the certificate, its key and the CA go (into buf). */
const char *agent_hra_cert_path(const struct agent_hra_conf *c, char *buf, size_t len);
const char *agent_hra_key_path(const struct agent_hra_conf *c, char *buf, size_t len);
const char *agent_hra_ca_path(const struct agent_hra_conf *c, char *buf, size_t len);

/* Why a request failed; the metrics' "category" label (agent_hra_failure_name()). */
enum agent_hra_failure {
	AGENT_HRA_FAIL_NONE = 0,
	AGENT_HRA_FAIL_UNREACHABLE,  /* connection refused, timeout, name does not resolve */
	AGENT_HRA_FAIL_TLS,          /* handshake or certificate verification */
	AGENT_HRA_FAIL_HTTP,         /* a status other than 200 */
	AGENT_HRA_FAIL_BAD_RESPONSE, /* content type, PKCS#7, SoHR, key or validity wrong */
	AGENT_HRA_FAIL_TOO_LARGE,    /* body over NAP_HCEP_MAX_RESPONSE */
	AGENT_HRA_FAIL_LOCAL,        /* key, CSR, writing the files */
	AGENT_HRA_FAIL_RELOAD,       /* reload_command */
	AGENT_HRA_FAIL_MAX
};
const char *agent_hra_failure_name(enum agent_hra_failure f);

enum agent_hra_outcome {
	AGENT_HRA_ISSUED = 0,     /* certificate installed */
	AGENT_HRA_NONCOMPLIANT,   /* the HRA answered without a certificate */
	AGENT_HRA_FAILED,
};

/* What a request did: plain data (it crosses a pipe from the child that made the request). */
struct agent_hra_result {
	enum agent_hra_outcome outcome;
	enum agent_hra_failure failure;
	long http_status;           /* of the answer used (or the last one) */
	int url_index;              /* which url answered, -1 none */
	uint32_t url_failures[AGENT_HRA_FAIL_MAX]; /* every url that failed, by category */
	int64_t not_before, not_after; /* of the installed certificate */
	int64_t issued_at;          /* our clock when it was received */
	bool policy_compliant;      /* the leaf carries certificate policy ...47.1.10 */
	char subject[256];
	char serial[80];
	bool has_sohr;
	size_t sohr_len;
	uint8_t sohr[NAP_SOH_MAX_LEN];
	char message[512];          /* one line for the log */
};

/* The response headers the client reads (filled by the header callback). */
struct agent_hra_headers {
	char content_type[128];
	bool has_sohr, sohr_too_long;
	char sohr[AGENT_HRA_SOHR_B64_MAX + 1];
	bool has_zone, has_level;
	uint32_t zone, level;
};
/* Feed one header line ("Name: value\r\n") to h. */
void agent_hra_header_line(struct agent_hra_headers *h, const char *line, size_t len);

/* A parsed answer. */
struct agent_hra_answer {
	bool compliant;          /* a certificate came back */
	X509 *leaf;              /* owned */
	STACK_OF(X509) *cas;     /* the other certificates of the chain (owned, may be NULL) */
	bool has_sohr;
	size_t sohr_len;
	uint8_t sohr[NAP_SOH_MAX_LEN];
};
/*
 * Check an HTTP 200 answer (untrusted): content type, the HCEP-SoHR header (base64, then
 * agent_sohr_parse), the body (empty: not compliant; else nap_hcep_chain_decode, the leaf =
 * the certificate holding key's public key, or with key NULL the first certificate that is
 * not a CA; it must not be expired at now; when its issuer is in the chain its signature must
 * verify). Returns 0 with *a filled (agent_hra_answer_clear()), or -EBADMSG / -EMSGSIZE with
 * a message in err.
 */
int agent_hra_parse_answer(const struct agent_hra_headers *h, const uint8_t *body, size_t len,
			   EVP_PKEY *key, int64_t now, struct agent_hra_answer *a, char *err,
			   size_t err_len);
void agent_hra_answer_clear(struct agent_hra_answer *a);

/*
 * The request body: a new key of type (or key when not NULL: reused) and the DER PKCS#10 (see
 * above); machine_name NULL = anonymous. Returns 0 with *pkey and *der (free()), or a negative
 * errno with err.
 */
int agent_hra_make_request(enum agent_hra_key_type type, EVP_PKEY *key, const char *machine_name,
			   const uint8_t *soh, size_t soh_len, EVP_PKEY **pkey, uint8_t **der,
			   size_t *der_len, char *err, size_t err_len);

/*
 * The whole request: make the PKCS#10, POST it to each url in turn until one gives a usable
 * answer, install the certificate and key when it came back. Blocking (at most timeout per
 * url); the daemon runs it in a short-lived child (libcurl stays out of the agent). Always
 * fills *res; returns 0 (ISSUED or NONCOMPLIANT) or a negative errno (FAILED).
 */
int agent_hra_request(const struct agent_hra_conf *c, const char *machine_name,
		      const uint8_t *soh, size_t soh_len,
		      const uint8_t corr[NAP_CORRELATION_ID_LEN], struct agent_hra_result *res);

/* Remove the installed certificate and key. Returns 1 when something was removed, 0 when
 * nothing was there, or a negative errno with err. */
int agent_hra_remove(const struct agent_hra_conf *c, char *err, size_t len);
/* Run reload_command. 0 or a negative errno with err. */
int agent_hra_reload(const struct agent_hra_conf *c, char *err, size_t len);
/* The installed certificate's notAfter (and subject/serial when not NULL): 0, -ENOENT none,
 * or another negative errno (unreadable). */
int agent_hra_installed(const struct agent_hra_conf *c, int64_t *not_after, char *subject,
			size_t subject_len);
/* When to ask again after a certificate valid until not_after arrived at issued_at (Unix s). */
int64_t agent_hra_renew_at(const struct agent_hra_conf *c, int64_t issued_at, int64_t not_after);

#endif
