// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * The agent's MS-HCEP client (hcep.h): the [hra] configuration, the PKCS#10 with the SoH, the
 * request to the HRAs through agent_http_request() (site.c, libcurl), the answer's checks, the
 * installation for swanctl and the reload. Handles untrusted input: the HRA's answer (headers
 * and body) is bounded and checked before anything is written.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "agent.h"
#include "hcep.h"
#include "nap/log.h"
#include "nap/util.h"

#define HRA_DEFAULT_SWANCTL_DIR "/etc/swanctl"
#define HRA_DEFAULT_RELOAD      "/usr/sbin/swanctl --load-creds --clear --noprompt"
#define HRA_CSP_NAME            "napagentd"
#define HRA_MIN_RENEW_DELAY     1 /* seconds: never ask again sooner than this */

__attribute__((format(printf, 3, 4))) static int
hra_err(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL && len > 0) {
		va_start(ap, fmt);
		vsnprintf(err, len, fmt, ap);
		va_end(ap);
	}
	return 0;
}

/* ---- configuration ---------------------------------------------------------------------- */

void
agent_hra_conf_init(struct agent_hra_conf *c)
{
	memset(c, 0, sizeof(*c));
	c->key_type = AGENT_HRA_KEY_EC;
	c->new_key = true;
	snprintf(c->swanctl_dir, sizeof(c->swanctl_dir), "%s", HRA_DEFAULT_SWANCTL_DIR);
	c->reload_timeout = 30;
	c->renew_fraction = 0.25;
	c->retry = 60;
	c->timeout = 30;
}

static int
set_path(char *dst, size_t cap, const char *key, const char *value, char *err, size_t len)
{
	if (value[0] != '/') {
		hra_err(err, len, "\"%s\" is not an absolute path", value);
		return -EINVAL;
	}
	if (strlen(value) >= cap) {
		hra_err(err, len, "%s: value too long", key);
		return -EINVAL;
	}
	snprintf(dst, cap, "%s", value);
	return 0;
}

static int
set_bool(bool *dst, const char *value, char *err, size_t len)
{
	if (strcasecmp(value, "yes") == 0 || strcasecmp(value, "true") == 0 ||
	    strcasecmp(value, "on") == 0 || strcmp(value, "1") == 0)
		*dst = true;
	else if (strcasecmp(value, "no") == 0 || strcasecmp(value, "false") == 0 ||
		 strcasecmp(value, "off") == 0 || strcmp(value, "0") == 0)
		*dst = false;
	else {
		hra_err(err, len, "\"%s\" is not yes or no", value);
		return -EINVAL;
	}
	return 0;
}

static int
set_duration(int64_t *dst, const char *value, int64_t min, int64_t max, char *err, size_t len)
{
	int64_t v;

	if (nap_parse_duration(value, &v) < 0 || v < min || v > max) {
		hra_err(err, len, "bad duration \"%s\" (%" PRId64 "s .. %" PRId64 "s)", value, min,
			max);
		return -EINVAL;
	}
	*dst = v;
	return 0;
}

/* "0.25", "25%" or a duration. */
static int
set_renew_before(struct agent_hra_conf *c, const char *value, char *err, size_t len)
{
	size_t n = strlen(value);
	char *end;
	double f;

	if (n > 0 && (value[n - 1] == '%' || strchr(value, '.') != NULL)) {
		errno = 0;
		f = strtod(value, &end);
		if (errno == 0 && end != value && *end == '%' && end[1] == '\0')
			f /= 100.0;
		else if (errno != 0 || end == value || *end != '\0')
			f = -1;
		if (!(f > 0.0 && f < 1.0)) {
			hra_err(err, len, "\"%s\": a fraction is between 0 and 1 (or 0%% and 100%%)",
				value);
			return -EINVAL;
		}
		c->renew_fraction = f;
		c->renew_seconds = 0;
		return 0;
	}
	if (set_duration(&c->renew_seconds, value, 1, 30 * 86400, err, len) < 0)
		return -EINVAL;
	c->renew_fraction = 0;
	return 0;
}

int
agent_hra_conf_set(struct agent_hra_conf *c, const char *key, const char *value, char *err,
		   size_t len)
{
	if (strcmp(key, "url") == 0) {
		bool https = strncmp(value, "https://", 8) == 0;

		if ((!https && strncmp(value, "http://", 7) != 0) ||
		    value[https ? 8 : 7] == '\0') {
			hra_err(err, len, "\"%s\" is not an http:// or https:// URL", value);
			return -EINVAL;
		}
		for (const char *p = value; *p != '\0'; p++)
			if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f) {
				hra_err(err, len, "\"%s\": blanks or control characters", value);
				return -EINVAL;
			}
		if (c->n_url >= AGENT_HRA_MAX_URLS) {
			hra_err(err, len, "more than %d urls", AGENT_HRA_MAX_URLS);
			return -EINVAL;
		}
		if (strlen(value) >= sizeof(c->url[0])) {
			hra_err(err, len, "value too long");
			return -EINVAL;
		}
		snprintf(c->url[c->n_url++], sizeof(c->url[0]), "%s", value);
		return 0;
	}
	if (strcmp(key, "ca_file") == 0)
		return set_path(c->ca_file, sizeof(c->ca_file), key, value, err, len);
	if (strcmp(key, "cert") == 0)
		return set_path(c->cert, sizeof(c->cert), key, value, err, len);
	if (strcmp(key, "key") == 0)
		return set_path(c->key, sizeof(c->key), key, value, err, len);
	if (strcmp(key, "key_type") == 0) {
		if (strcmp(value, "ec") == 0)
			c->key_type = AGENT_HRA_KEY_EC;
		else if (strcmp(value, "rsa") == 0)
			c->key_type = AGENT_HRA_KEY_RSA;
		else {
			hra_err(err, len, "\"%s\" is not ec or rsa", value);
			return -EINVAL;
		}
		return 0;
	}
	if (strcmp(key, "new_key") == 0)
		return set_bool(&c->new_key, value, err, len);
	if (strcmp(key, "swanctl_dir") == 0)
		return set_path(c->swanctl_dir, sizeof(c->swanctl_dir), key, value, err, len);
	if (strcmp(key, "swanctl_uri") == 0) {
		if (strlen(value) >= sizeof(c->swanctl_uri) || strchr(value, ' ') != NULL ||
		    strstr(value, "://") == NULL) {
			hra_err(err, len, "\"%s\" is not a vici URI (unix:///PATH, tcp://HOST:PORT)",
				value);
			return -EINVAL;
		}
		snprintf(c->swanctl_uri, sizeof(c->swanctl_uri), "%s", value);
		return 0;
	}
	if (strcmp(key, "install_ca") == 0)
		return set_bool(&c->install_ca, value, err, len);
	if (strcmp(key, "reload_command") == 0) {
		char buf[AGENT_HRA_CMD_MAX], *argv[AGENT_REMEDIATION_MAX_ARGS];
		int n;

		if (strlen(value) >= sizeof(c->reload_command)) {
			hra_err(err, len, "value too long");
			return -EINVAL;
		}
		n = agent_remediation_split(value, buf, sizeof(buf), argv, NAP_ARRAY_SIZE(argv));
		if (n <= 0 || argv[0][0] != '/') {
			hra_err(err, len, "not a command line with an absolute argv[0]");
			return -EINVAL;
		}
		snprintf(c->reload_command, sizeof(c->reload_command), "%s", value);
		return 0;
	}
	if (strcmp(key, "reload_timeout") == 0)
		return set_duration(&c->reload_timeout, value, 1, 3600, err, len);
	if (strcmp(key, "renew_before") == 0)
		return set_renew_before(c, value, err, len);
	if (strcmp(key, "retry") == 0)
		return set_duration(&c->retry, value, 1, 86400, err, len);
	if (strcmp(key, "timeout") == 0)
		return set_duration(&c->timeout, value, 1, 600, err, len);
	return 1;
}

int
agent_hra_conf_check(const struct agent_hra_conf *c, char *err, size_t len)
{
	if ((c->cert[0] != '\0') != (c->key[0] != '\0')) {
		hra_err(err, len, "[hra]: cert and key go together");
		return -EINVAL;
	}
	for (size_t i = 0; i < c->n_url; i++)
		if (strncmp(c->url[i], "https://", 8) == 0 && c->ca_file[0] == '\0') {
			hra_err(err, len, "[hra]: %s needs ca_file (the CA of the HRA's certificate)",
				c->url[i]);
			return -EINVAL;
		}
	if (c->cert[0] != '\0') {
		bool any_https = false;

		for (size_t i = 0; i < c->n_url; i++)
			any_https |= strncmp(c->url[i], "https://", 8) == 0;
		if (c->n_url > 0 && !any_https) {
			hra_err(err, len, "[hra]: cert/key need an https:// url (the client "
					  "authenticates with TLS)");
			return -EINVAL;
		}
	}
	return 0;
}

static void
print_duration(FILE *f, const char *key, int64_t s)
{
	if (s != 0 && s % 3600 == 0)
		fprintf(f, "%s = %" PRId64 "h\n", key, s / 3600);
	else if (s != 0 && s % 60 == 0)
		fprintf(f, "%s = %" PRId64 "m\n", key, s / 60);
	else
		fprintf(f, "%s = %" PRId64 "s\n", key, s);
}

void
agent_hra_conf_print(const struct agent_hra_conf *c, FILE *f)
{
	char buf[AGENT_HRA_PATH_MAX + 32];

	if (!agent_hra_enabled(c)) {
		fprintf(f, "; no url: the HCEP client is off\n");
		return;
	}
	for (size_t i = 0; i < c->n_url; i++)
		fprintf(f, "url = %s\n", c->url[i]);
	if (c->ca_file[0] != '\0')
		fprintf(f, "ca_file = %s\n", c->ca_file);
	if (c->cert[0] != '\0')
		fprintf(f, "cert = %s\nkey = %s\n", c->cert, c->key);
	else
		fprintf(f, "; no cert/key: anonymous requests\n");
	fprintf(f, "key_type = %s\n", c->key_type == AGENT_HRA_KEY_RSA ? "rsa" : "ec");
	fprintf(f, "new_key = %s\n", c->new_key ? "yes" : "no");
	fprintf(f, "swanctl_dir = %s\n", c->swanctl_dir);
	if (c->swanctl_uri[0] != '\0')
		fprintf(f, "swanctl_uri = %s\n", c->swanctl_uri);
	fprintf(f, "install_ca = %s\n", c->install_ca ? "yes" : "no");
	fprintf(f, "reload_command = %s\n",
		c->reload_command[0] != '\0' ? c->reload_command : HRA_DEFAULT_RELOAD);
	print_duration(f, "reload_timeout", c->reload_timeout);
	if (c->renew_fraction > 0)
		fprintf(f, "renew_before = %g%%\n", c->renew_fraction * 100.0);
	else
		print_duration(f, "renew_before", c->renew_seconds);
	print_duration(f, "retry", c->retry);
	print_duration(f, "timeout", c->timeout);
	fprintf(f, "; certificate %s\n", agent_hra_cert_path(c, buf, sizeof(buf)));
	fprintf(f, "; key %s\n", agent_hra_key_path(c, buf, sizeof(buf)));
}

const char *
agent_hra_cert_path(const struct agent_hra_conf *c, char *buf, size_t len)
{
	snprintf(buf, len, "%s/x509/" AGENT_HRA_NAME ".pem", c->swanctl_dir);
	return buf;
}

const char *
agent_hra_key_path(const struct agent_hra_conf *c, char *buf, size_t len)
{
	snprintf(buf, len, "%s/private/" AGENT_HRA_NAME ".key", c->swanctl_dir);
	return buf;
}

const char *
agent_hra_ca_path(const struct agent_hra_conf *c, char *buf, size_t len)
{
	snprintf(buf, len, "%s/x509ca/" AGENT_HRA_NAME "-ca.pem", c->swanctl_dir);
	return buf;
}

const char *
agent_hra_failure_name(enum agent_hra_failure f)
{
	static const char *const names[] = {"none",		"unreachable", "tls",
					    "http",		"bad_response", "too_large",
					    "local",		"reload"};

	return (size_t)f < NAP_ARRAY_SIZE(names) ? names[f] : "?";
}

/* ---- the request ------------------------------------------------------------------------ */

static X509_EXTENSION *
soh_extension(const uint8_t *soh, size_t soh_len)
{
	ASN1_OCTET_STRING *inner = ASN1_OCTET_STRING_new(), *outer = ASN1_OCTET_STRING_new();
	ASN1_OBJECT *obj = OBJ_txt2obj(NAP_HCEP_OID_SOH, 1);
	X509_EXTENSION *ext = NULL;
	unsigned char *der = NULL;
	int n;

	if (inner == NULL || outer == NULL || obj == NULL ||
	    ASN1_OCTET_STRING_set(inner, soh, (int)soh_len) != 1)
		goto out;
	/* SoHExtension ::= OCTET STRING, DER-encoded as the extension's value. */
	if ((n = i2d_ASN1_OCTET_STRING(inner, &der)) <= 0 ||
	    ASN1_OCTET_STRING_set(outer, der, n) != 1)
		goto out;
	ext = X509_EXTENSION_create_by_OBJ(NULL, obj, 0, outer);
out:
	OPENSSL_free(der);
	ASN1_OCTET_STRING_free(inner);
	ASN1_OCTET_STRING_free(outer);
	ASN1_OBJECT_free(obj);
	return ext;
}

/* [MS-WCCE] 2.2.2.7 EnrollmentCSPProvider: SEQUENCE { keySpec INTEGER (0: a key storage
 * provider's key), cspName BMPString, signature BIT STRING (empty) }. */
static int
add_csp_attribute(X509_REQ *req)
{
	uint8_t der[64];
	size_t name_len = strlen(HRA_CSP_NAME), o = 0;
	ASN1_OBJECT *obj = OBJ_txt2obj(NAP_HCEP_OID_CSP_NAME, 1);
	int r;

	der[o++] = 0x30;
	der[o++] = (uint8_t)(3 + 2 + 2 * name_len + 3);
	der[o++] = 0x02;
	der[o++] = 0x01;
	der[o++] = 0x00;
	der[o++] = 0x1e;
	der[o++] = (uint8_t)(2 * name_len);
	for (size_t i = 0; i < name_len; i++) {
		der[o++] = 0;
		der[o++] = (uint8_t)HRA_CSP_NAME[i];
	}
	der[o++] = 0x03;
	der[o++] = 0x01;
	der[o++] = 0x00;
	if (obj == NULL)
		return -ENOMEM;
	r = X509_REQ_add1_attr_by_OBJ(req, obj, V_ASN1_SEQUENCE, der, (int)o);
	ASN1_OBJECT_free(obj);
	return r == 1 ? 0 : -ENOMEM;
}

static EVP_PKEY *
new_key(enum agent_hra_key_type type)
{
	return type == AGENT_HRA_KEY_RSA ? EVP_RSA_gen(2048) : EVP_EC_gen("P-256");
}

int
agent_hra_make_request(enum agent_hra_key_type type, EVP_PKEY *key, const char *machine_name,
		       const uint8_t *soh, size_t soh_len, EVP_PKEY **pkey, uint8_t **der,
		       size_t *der_len, char *err, size_t err_len)
{
	X509_REQ *req = X509_REQ_new();
	STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
	X509_EXTENSION *ext;
	X509_NAME *name;
	unsigned char *p = NULL;
	char value[300];
	int n, r = -ENOMEM;

	*pkey = NULL;
	*der = NULL;
	*der_len = 0;
	if (soh == NULL || soh_len == 0 || soh_len > NAP_SOH_MAX_LEN) {
		hra_err(err, err_len, "no SoH or an SoH over %d bytes", NAP_SOH_MAX_LEN);
		r = -EINVAL;
		goto out;
	}
	if (machine_name != NULL && strlen(machine_name) > 253) {
		hra_err(err, err_len, "machine name too long for a DNS name");
		r = -EINVAL;
		goto out;
	}
	if (req == NULL || exts == NULL)
		goto nomem;
	if (key != NULL) {
		if (EVP_PKEY_up_ref(key) != 1)
			goto nomem;
		*pkey = key;
	} else if ((*pkey = new_key(type)) == NULL) {
		hra_err(err, err_len, "cannot generate a%s key (OpenSSL)",
			type == AGENT_HRA_KEY_RSA ? "n RSA-2048" : "n EC P-256");
		r = -EIO;
		goto out;
	}
	name = X509_REQ_get_subject_name(req);
	if (X509_REQ_set_version(req, 0) != 1 || X509_REQ_set_pubkey(req, *pkey) != 1)
		goto nomem;
	/* HCEP: empty subject when authenticated, else the anonymous one. */
	if (machine_name == NULL &&
	    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
				       (const unsigned char *)NAP_HCEP_ANONYMOUS_SUBJECT, -1, -1,
				       0) != 1)
		goto nomem;
	snprintf(value, sizeof(value), "%s%s", NAP_HCEP_OID_SOH,
		 machine_name != NULL ? ",clientAuth" : "");
	if ((ext = X509V3_EXT_conf_nid(NULL, NULL, NID_ext_key_usage, value)) == NULL ||
	    sk_X509_EXTENSION_push(exts, ext) <= 0) {
		X509_EXTENSION_free(ext);
		goto nomem;
	}
	if (machine_name != NULL) {
		snprintf(value, sizeof(value), "DNS:%s", machine_name);
		if ((ext = X509V3_EXT_conf_nid(NULL, NULL, NID_subject_alt_name, value)) == NULL ||
		    sk_X509_EXTENSION_push(exts, ext) <= 0) {
			X509_EXTENSION_free(ext);
			hra_err(err, err_len, "\"%s\" is not usable as a DNS name", machine_name);
			r = -EINVAL;
			goto out;
		}
	}
	if ((ext = soh_extension(soh, soh_len)) == NULL || sk_X509_EXTENSION_push(exts, ext) <= 0) {
		X509_EXTENSION_free(ext);
		goto nomem;
	}
	if (X509_REQ_add_extensions(req, exts) != 1 || add_csp_attribute(req) < 0)
		goto nomem;
	if (X509_REQ_sign(req, *pkey, EVP_sha256()) <= 0) {
		hra_err(err, err_len, "cannot sign the request (OpenSSL)");
		r = -EIO;
		goto out;
	}
	if ((n = i2d_X509_REQ(req, &p)) <= 0 || (size_t)n > NAP_HCEP_MAX_BODY) {
		hra_err(err, err_len, "request over %d bytes", NAP_HCEP_MAX_BODY);
		r = -EMSGSIZE;
		goto out;
	}
	if ((*der = malloc((size_t)n)) == NULL)
		goto nomem;
	memcpy(*der, p, (size_t)n);
	*der_len = (size_t)n;
	r = 0;
	goto out;
nomem:
	hra_err(err, err_len, "out of memory (OpenSSL)");
	r = -ENOMEM;
out:
	if (r < 0) {
		EVP_PKEY_free(*pkey);
		*pkey = NULL;
	}
	OPENSSL_free(p);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	X509_REQ_free(req);
	ERR_clear_error();
	return r;
}

/* ---- the answer ------------------------------------------------------------------------- */

/* Header name match: "Name:" at the start of line, case-insensitive; returns the value. */
static bool
header_value(const char *line, size_t len, const char *name, const char **v, size_t *vl)
{
	size_t n = strlen(name);

	if (len <= n || strncasecmp(line, name, n) != 0 || line[n] != ':')
		return false;
	*v = line + n + 1;
	*vl = len - n - 1;
	while (*vl > 0 && (**v == ' ' || **v == '\t')) {
		(*v)++;
		(*vl)--;
	}
	while (*vl > 0 && ((*v)[*vl - 1] == '\r' || (*v)[*vl - 1] == '\n' ||
			   (*v)[*vl - 1] == ' ' || (*v)[*vl - 1] == '\t'))
		(*vl)--;
	return true;
}

static bool
parse_u32(const char *v, size_t vl, uint32_t *out)
{
	uint64_t x = 0;

	if (vl == 0 || vl > 10)
		return false;
	for (size_t i = 0; i < vl; i++) {
		if (v[i] < '0' || v[i] > '9')
			return false;
		x = x * 10 + (uint64_t)(v[i] - '0');
	}
	if (x > UINT32_MAX)
		return false;
	*out = (uint32_t)x;
	return true;
}

void
agent_hra_header_line(struct agent_hra_headers *h, const char *line, size_t len)
{
	const char *v;
	size_t vl;

	/* A new response (a redirect, 100 Continue) starts with its status line. */
	if (len >= 5 && strncmp(line, "HTTP/", 5) == 0) {
		memset(h, 0, sizeof(*h));
		return;
	}
	if (header_value(line, len, "Content-Type", &v, &vl)) {
		if (vl < sizeof(h->content_type)) {
			memcpy(h->content_type, v, vl);
			h->content_type[vl] = '\0';
		} else {
			snprintf(h->content_type, sizeof(h->content_type), "(too long)");
		}
	} else if (header_value(line, len, "HCEP-SoHR", &v, &vl)) {
		if (h->has_sohr || vl > AGENT_HRA_SOHR_B64_MAX) {
			h->sohr_too_long = true; /* or twice: refused either way */
			return;
		}
		memcpy(h->sohr, v, vl);
		h->sohr[vl] = '\0';
		h->has_sohr = true;
	} else if (header_value(line, len, "HCEP-AFW-Zone", &v, &vl)) {
		h->has_zone = parse_u32(v, vl, &h->zone);
	} else if (header_value(line, len, "HCEP-AFW-Protection-Level", &v, &vl)) {
		h->has_level = parse_u32(v, vl, &h->level);
	}
}

void
agent_hra_answer_clear(struct agent_hra_answer *a)
{
	X509_free(a->leaf);
	sk_X509_pop_free(a->cas, X509_free);
	a->leaf = NULL;
	a->cas = NULL;
}

static bool
content_type_is(const char *value, const char *want)
{
	size_t n = strlen(want);

	if (strncasecmp(value, want, n) != 0)
		return false;
	value += n;
	while (*value == ' ' || *value == '\t')
		value++;
	return *value == '\0' || *value == ';';
}

int
agent_hra_parse_answer(const struct agent_hra_headers *h, const uint8_t *body, size_t len,
		       EVP_PKEY *key, int64_t now, struct agent_hra_answer *a, char *err,
		       size_t err_len)
{
	struct agent_sohr_info info;
	struct nap_err e = {0};
	STACK_OF(X509) *certs = NULL;
	char why[256];
	int r, leaf_i = -1;

	memset(a, 0, sizeof(*a));
	if (!content_type_is(h->content_type, NAP_HCEP_CONTENT_TYPE_RESPONSE)) {
		char esc[160];

		nap_escape((const uint8_t *)h->content_type, strlen(h->content_type), esc,
			   sizeof(esc));
		hra_err(err, err_len, "Content-Type \"%s\" is not %s", esc,
			NAP_HCEP_CONTENT_TYPE_RESPONSE);
		return -EBADMSG;
	}
	if (h->sohr_too_long) {
		hra_err(err, err_len, "HCEP-SoHR repeated or over %d characters",
			AGENT_HRA_SOHR_B64_MAX);
		return -EBADMSG;
	}
	if (h->has_sohr) {
		long n = nap_hcep_base64_decode(h->sohr, strlen(h->sohr), a->sohr, sizeof(a->sohr));

		if (n <= 0) {
			hra_err(err, err_len, "HCEP-SoHR is not base64");
			return -EBADMSG;
		}
		if (agent_sohr_parse(a->sohr, (size_t)n, &info, why, sizeof(why)) < 0) {
			hra_err(err, err_len, "HCEP-SoHR: %s", why);
			return -EBADMSG;
		}
		a->sohr_len = (size_t)n;
		a->has_sohr = true;
	}
	if (len == 0)
		return 0; /* not compliant: no certificate */
	if ((r = nap_hcep_chain_decode(body, len, &certs, &e)) < 0) {
		hra_err(err, err_len, "response body: %s (offset %zu)",
			e.what != NULL ? e.what : "malformed", e.offset);
		return r == -EMSGSIZE ? -EMSGSIZE : -EBADMSG;
	}
	for (int i = 0; i < sk_X509_num(certs) && leaf_i < 0; i++) {
		X509 *x = sk_X509_value(certs, i);

		if (key != NULL ? X509_check_private_key(x, key) == 1 : X509_check_ca(x) == 0)
			leaf_i = i;
	}
	ERR_clear_error();
	if (leaf_i < 0) {
		hra_err(err, err_len, "no certificate in the chain holds %s",
			key != NULL ? "the request's public key" : "an end-entity key");
		r = -EBADMSG;
		goto fail;
	}
	a->leaf = sk_X509_delete(certs, leaf_i);
	{
		const ASN1_TIME *na = X509_get0_notAfter(a->leaf);
		time_t t = (time_t)now;

		if (na == NULL || X509_cmp_time(na, &t) <= 0) {
			hra_err(err, err_len, "the certificate has already expired");
			r = -EBADMSG;
			goto fail;
		}
	}
	for (int i = 0; i < sk_X509_num(certs); i++) {
		X509 *ca = sk_X509_value(certs, i);
		EVP_PKEY *ck;

		if (X509_check_issued(ca, a->leaf) != X509_V_OK)
			continue;
		ck = X509_get0_pubkey(ca);
		if (ck == NULL || X509_verify(a->leaf, ck) != 1) {
			ERR_clear_error();
			hra_err(err, err_len, "the certificate's signature does not verify with its "
					      "issuer in the chain");
			r = -EBADMSG;
			goto fail;
		}
	}
	ERR_clear_error();
	a->compliant = true;
	a->cas = certs;
	return 0;
fail:
	sk_X509_pop_free(certs, X509_free);
	agent_hra_answer_clear(a);
	return r;
}

/* ---- installation ----------------------------------------------------------------------- */

static int
mkdir_p1(const char *dir, mode_t mode)
{
	if (mkdir(dir, mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

static char *
pem_of(int (*write)(BIO *, void *), void *obj, size_t *len)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *p, *out = NULL;
	long n;

	if (b != NULL && write(b, obj) == 1 && (n = BIO_get_mem_data(b, &p)) > 0 &&
	    (out = malloc((size_t)n + 1)) != NULL) {
		memcpy(out, p, (size_t)n);
		out[n] = '\0';
		*len = (size_t)n;
	}
	BIO_free(b); /* a key's copy goes with the memory BIO */
	return out;
}

static int
write_key(BIO *b, void *k)
{
	return PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL);
}

static int
write_cert(BIO *b, void *x)
{
	return PEM_write_bio_X509(b, x);
}

/* Key first (a certificate without its key is useless to charon), then the certificate. */
static int
hra_install(const struct agent_hra_conf *c, EVP_PKEY *key, const struct agent_hra_answer *a,
	    char *err, size_t len)
{
	char path[AGENT_HRA_PATH_MAX + 32];
	char *kp = NULL, *cp = NULL;
	size_t kl = 0, cl = 0;
	int r;

	snprintf(path, sizeof(path), "%s/private", c->swanctl_dir);
	if ((r = mkdir_p1(c->swanctl_dir, 0755)) < 0 || (r = mkdir_p1(path, 0700)) < 0)
		goto io;
	snprintf(path, sizeof(path), "%s/x509", c->swanctl_dir);
	if ((r = mkdir_p1(path, 0755)) < 0)
		goto io;
	kp = pem_of(write_key, key, &kl);
	cp = pem_of(write_cert, a->leaf, &cl);
	if (kp == NULL || cp == NULL) {
		hra_err(err, len, "out of memory (PEM)");
		r = -ENOMEM;
		goto out;
	}
	if ((r = nap_write_file_atomic(agent_hra_key_path(c, path, sizeof(path)), kp, kl, 0600)) <
		    0 ||
	    (r = nap_write_file_atomic(agent_hra_cert_path(c, path, sizeof(path)), cp, cl, 0644)) <
		    0)
		goto io;
	if (c->install_ca && a->cas != NULL && sk_X509_num(a->cas) > 0) {
		char *all = NULL;
		size_t al = 0;

		for (int i = 0; i < sk_X509_num(a->cas); i++) {
			size_t n = 0;
			char *one = pem_of(write_cert, sk_X509_value(a->cas, i), &n);
			char *np = one != NULL ? realloc(all, al + n + 1) : NULL;

			if (np == NULL) {
				free(one);
				free(all);
				hra_err(err, len, "out of memory (PEM)");
				r = -ENOMEM;
				goto out;
			}
			all = np;
			memcpy(all + al, one, n);
			al += n;
			free(one);
		}
		snprintf(path, sizeof(path), "%s/x509ca", c->swanctl_dir);
		if ((r = mkdir_p1(path, 0755)) == 0)
			r = nap_write_file_atomic(agent_hra_ca_path(c, path, sizeof(path)), all, al,
						  0644);
		free(all);
		if (r < 0)
			goto io;
	}
	r = 0;
	goto out;
io:
	hra_err(err, len, "%s: %s", path, strerror(-r));
out:
	if (kp != NULL) {
		nap_wipe(kp, kl);
		free(kp);
	}
	free(cp);
	return r;
}

int
agent_hra_remove(const struct agent_hra_conf *c, char *err, size_t len)
{
	char path[AGENT_HRA_PATH_MAX + 32];
	int removed = 0;

	/* The certificate first: without it, charon cannot use the key. */
	if (unlink(agent_hra_cert_path(c, path, sizeof(path))) == 0)
		removed = 1;
	else if (errno != ENOENT)
		goto fail;
	if (unlink(agent_hra_key_path(c, path, sizeof(path))) == 0)
		removed = 1;
	else if (errno != ENOENT)
		goto fail;
	return removed;
fail:
	hra_err(err, len, "%s: %s", path, strerror(errno));
	return -errno;
}

int
agent_hra_reload(const struct agent_hra_conf *c, char *err, size_t len)
{
	char line[AGENT_HRA_CMD_MAX + AGENT_HRA_PATH_MAX + 16], buf[sizeof(line)];
	char *argv[AGENT_REMEDIATION_MAX_ARGS];
	char env[1][AGENT_REMEDIATION_ENV_MAX];
	struct agent_run_result *run;
	size_t n_env = 0;
	char last[256];
	int n, r;

	if (c->reload_command[0] != '\0') {
		snprintf(line, sizeof(line), "%s", c->reload_command);
	} else {
		snprintf(line, sizeof(line), "%s%s%s", HRA_DEFAULT_RELOAD,
			 c->swanctl_uri[0] != '\0' ? " --uri " : "", c->swanctl_uri);
		if (strlen(c->swanctl_dir) + 13 >= sizeof(env[0])) {
			hra_err(err, len, "swanctl_dir too long for the environment");
			return -EINVAL;
		}
		snprintf(env[0], sizeof(env[0]), "SWANCTL_DIR=%s", c->swanctl_dir);
		n_env = 1;
	}
	n = agent_remediation_split(line, buf, sizeof(buf), argv, NAP_ARRAY_SIZE(argv));
	if (n <= 0 || argv[0][0] != '/') {
		hra_err(err, len, "reload_command: not a command line");
		return -EINVAL;
	}
	if ((run = calloc(1, sizeof(*run))) == NULL) {
		hra_err(err, len, "out of memory");
		return -ENOMEM;
	}
	r = agent_run(argv, (const char(*)[AGENT_REMEDIATION_ENV_MAX])env, n_env,
		      c->reload_timeout * 1000, run);
	agent_run_last_line(run, last, sizeof(last));
	if (r == -ENOEXEC)
		hra_err(err, len, "%s could not be started: %s", argv[0], strerror(run->exec_errno));
	else if (r < 0)
		hra_err(err, len, "%s: %s", argv[0], strerror(-r));
	else if (run->how == AGENT_RUN_EXITED && run->code == 0)
		log_debug("hra: reload: %s", last);
	else if (run->how == AGENT_RUN_EXITED) {
		hra_err(err, len, "%s exited %d%s%s", argv[0], run->code,
			last[0] != '\0' ? ": " : "", last);
		r = -EIO;
	} else if (run->how == AGENT_RUN_TIMEOUT) {
		hra_err(err, len, "%s timed out", argv[0]);
		r = -ETIMEDOUT;
	} else {
		hra_err(err, len, "%s killed by signal %d", argv[0], run->code);
		r = -EIO;
	}
	free(run);
	return r;
}

static int64_t
asn1_time_unix(const ASN1_TIME *t)
{
	struct tm tm;

	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
		return 0;
	return (int64_t)timegm(&tm);
}

static void
cert_info(X509 *x, char *subject, size_t subject_len, char *serial, size_t serial_len)
{
	if (subject != NULL && subject_len > 0) {
		BIO *b = BIO_new(BIO_s_mem());
		char *p;
		long n;

		subject[0] = '\0';
		if (b != NULL &&
		    X509_NAME_print_ex(b, X509_get_subject_name(x), 0, XN_FLAG_RFC2253) >= 0 &&
		    (n = BIO_get_mem_data(b, &p)) >= 0)
			snprintf(subject, subject_len, "%.*s", (int)n, p);
		BIO_free(b);
	}
	if (serial != NULL && serial_len > 0) {
		BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
		char *hex = bn != NULL ? BN_bn2hex(bn) : NULL;

		snprintf(serial, serial_len, "%s", hex != NULL ? hex : "?");
		OPENSSL_free(hex);
		BN_free(bn);
	}
	ERR_clear_error();
}

int
agent_hra_installed(const struct agent_hra_conf *c, int64_t *not_after, char *subject,
		    size_t subject_len)
{
	char path[AGENT_HRA_PATH_MAX + 32];
	FILE *f = fopen(agent_hra_cert_path(c, path, sizeof(path)), "r");
	X509 *x;

	if (f == NULL)
		return -errno;
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	ERR_clear_error();
	if (x == NULL)
		return -EBADMSG;
	*not_after = asn1_time_unix(X509_get0_notAfter(x));
	cert_info(x, subject, subject_len, NULL, 0);
	X509_free(x);
	return 0;
}

int64_t
agent_hra_renew_at(const struct agent_hra_conf *c, int64_t issued_at, int64_t not_after)
{
	int64_t left = not_after - issued_at, at;

	if (c->renew_fraction > 0)
		at = issued_at + (int64_t)((double)left * (1.0 - c->renew_fraction));
	else
		at = not_after - c->renew_seconds;
	if (at < issued_at + HRA_MIN_RENEW_DELAY)
		at = issued_at + HRA_MIN_RENEW_DELAY;
	return at;
}

static bool
has_compliant_policy(X509 *x)
{
	CERTIFICATEPOLICIES *pol = X509_get_ext_d2i(x, NID_certificate_policies, NULL, NULL);
	bool found = false;
	char oid[64];

	for (int i = 0; pol != NULL && i < sk_POLICYINFO_num(pol); i++) {
		const POLICYINFO *pi = sk_POLICYINFO_value(pol, i);

		if (OBJ_obj2txt(oid, sizeof(oid), pi->policyid, 1) > 0 &&
		    strcmp(oid, NAP_HCEP_OID_POLICY_COMPLIANT) == 0)
			found = true;
	}
	CERTIFICATEPOLICIES_free(pol);
	ERR_clear_error();
	return found;
}

static void
hra_header_cb(const char *line, size_t len, void *arg)
{
	agent_hra_header_line(arg, line, len);
}

static enum agent_hra_failure
failure_of_errno(long r)
{
	switch (r) {
	case -ECONNREFUSED:
	case -ETIMEDOUT:
	case -EHOSTUNREACH:
		return AGENT_HRA_FAIL_UNREACHABLE;
	case -EPROTO:
		return AGENT_HRA_FAIL_TLS;
	case -EMSGSIZE:
		return AGENT_HRA_FAIL_TOO_LARGE;
	default:
		return AGENT_HRA_FAIL_UNREACHABLE;
	}
}

/* The key to reuse (new_key = no): the installed one when it is of the configured type. */
static EVP_PKEY *
reusable_key(const struct agent_hra_conf *c)
{
	char path[AGENT_HRA_PATH_MAX + 32];
	EVP_PKEY *k;
	FILE *f;
	int want = c->key_type == AGENT_HRA_KEY_RSA ? EVP_PKEY_RSA : EVP_PKEY_EC;

	if (c->new_key || (f = fopen(agent_hra_key_path(c, path, sizeof(path)), "r")) == NULL)
		return NULL;
	k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	ERR_clear_error();
	if (k != NULL && EVP_PKEY_get_base_id(k) != want) {
		EVP_PKEY_free(k);
		k = NULL;
	}
	return k;
}

int
agent_hra_request(const struct agent_hra_conf *c, const char *machine_name,
		  const uint8_t *soh, size_t soh_len, const uint8_t corr[NAP_CORRELATION_ID_LEN],
		  struct agent_hra_result *res)
{
	bool auth = c->cert[0] != '\0';
	EVP_PKEY *reuse = reusable_key(c), *key = NULL;
	uint8_t *der = NULL;
	size_t der_len = 0;
	char coid[64], coid_hdr[96], err[384];
	const char *hdrs[] = {"Pragma: no-cache",
			      "Content-Type: " NAP_HCEP_CONTENT_TYPE_REQUEST,
			      "HCEP-Version: " NAP_HCEP_VERSION,
			      coid_hdr,
			      "Expect:", /* no 100-continue round trip */
			      NULL};
	int r;

	memset(res, 0, sizeof(*res));
	res->outcome = AGENT_HRA_FAILED;
	res->url_index = -1;
	r = agent_hra_make_request(c->key_type, reuse, auth ? machine_name : NULL, soh, soh_len,
				   &key, &der, &der_len, err, sizeof(err));
	EVP_PKEY_free(reuse);
	if (r < 0) {
		res->failure = AGENT_HRA_FAIL_LOCAL;
		snprintf(res->message, sizeof(res->message), "request: %s", err);
		return r;
	}
	EVP_EncodeBlock((unsigned char *)coid, corr, NAP_CORRELATION_ID_LEN);
	snprintf(coid_hdr, sizeof(coid_hdr), "HCEP-Correlation-Id: %s", coid);
	r = -EIO;
	for (size_t i = 0; i < c->n_url; i++) {
		struct agent_hra_headers h = {0};
		struct agent_http_req rq = {
			.url = c->url[i],
			.allow_http = true,
			.ca = c->ca_file[0] != '\0' ? c->ca_file : NULL,
			.cert = auth ? c->cert : NULL,
			.key = auth ? c->key : NULL,
			.timeout = c->timeout,
			.body = der,
			.body_len = der_len,
			.headers = hdrs,
			.max = NAP_HCEP_MAX_RESPONSE,
			.on_header = hra_header_cb,
			.arg = &h,
		};
		struct agent_http_resp resp;
		struct agent_hra_answer *a;
		long status = agent_http_request(&rq, &resp, err, sizeof(err));

		res->url_index = (int)i;
		if (status < 0) {
			res->failure = failure_of_errno(status);
			snprintf(res->message, sizeof(res->message), "%s", err);
			r = (int)status;
			free(resp.p);
			goto next;
		}
		res->http_status = status;
		if (status != 200) {
			char esc[128] = "";

			if (resp.p != NULL) {
				size_t n = strcspn(resp.p, "\r\n");

				nap_escape((const uint8_t *)resp.p, n < 100 ? n : 100, esc,
					   sizeof(esc));
			}
			res->failure = AGENT_HRA_FAIL_HTTP;
			snprintf(res->message, sizeof(res->message), "%s: HTTP %ld%s%s", c->url[i],
				 status, esc[0] != '\0' ? ": " : "", esc);
			r = -EPROTO;
			free(resp.p);
			goto next;
		}
		if ((a = calloc(1, sizeof(*a))) == NULL) {
			free(resp.p);
			res->failure = AGENT_HRA_FAIL_LOCAL;
			snprintf(res->message, sizeof(res->message), "out of memory");
			r = -ENOMEM;
			break;
		}
		r = agent_hra_parse_answer(&h, (const uint8_t *)resp.p, resp.n, key,
					   (int64_t)time(NULL), a, err, sizeof(err));
		free(resp.p);
		if (r < 0) {
			res->failure = r == -EMSGSIZE ? AGENT_HRA_FAIL_TOO_LARGE
						      : AGENT_HRA_FAIL_BAD_RESPONSE;
			snprintf(res->message, sizeof(res->message), "%s: %s", c->url[i], err);
			free(a);
			goto next;
		}
		res->has_sohr = a->has_sohr;
		res->sohr_len = a->sohr_len;
		memcpy(res->sohr, a->sohr, a->sohr_len);
		if (!a->compliant) {
			res->outcome = AGENT_HRA_NONCOMPLIANT;
			res->failure = AGENT_HRA_FAIL_NONE;
			snprintf(res->message, sizeof(res->message), "%s: not compliant, no "
				 "certificate", c->url[i]);
			free(a);
			r = 0;
			break;
		}
		r = hra_install(c, key, a, err, sizeof(err));
		if (r < 0) {
			res->failure = AGENT_HRA_FAIL_LOCAL;
			snprintf(res->message, sizeof(res->message), "install: %s", err);
		} else {
			res->outcome = AGENT_HRA_ISSUED;
			res->failure = AGENT_HRA_FAIL_NONE;
			res->issued_at = (int64_t)time(NULL);
			res->not_before = asn1_time_unix(X509_get0_notBefore(a->leaf));
			res->not_after = asn1_time_unix(X509_get0_notAfter(a->leaf));
			res->policy_compliant = has_compliant_policy(a->leaf);
			cert_info(a->leaf, res->subject, sizeof(res->subject), res->serial,
				  sizeof(res->serial));
			snprintf(res->message, sizeof(res->message), "%s: certificate issued",
				 c->url[i]);
		}
		agent_hra_answer_clear(a);
		free(a);
		break;
next:
		res->url_failures[res->failure]++;
		if (i + 1 < c->n_url)
			LOG_WARNX_RL("hra: %s; trying %s", res->message, c->url[i + 1]);
	}
	if (key != NULL)
		EVP_PKEY_free(key);
	free(der);
	return r;
}
