// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * napdump hcep: describe an HCEP request (subject, key, signature, EKU, SAN and the SoH it
 * carries, decoded like `napdump soh`) or response (the certificates of the PKCS#7 chain).
 * Handles untrusted input.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "nap/hcep.h"

#include "dump.h"
#include "dump_hcep.h"

int
dump_hcep_pem(const uint8_t *text, size_t len, uint8_t **out, size_t *out_len,
	      struct nap_err *err)
{
	static const char begin[] = "-----BEGIN ";
	char *name = NULL, *header = NULL;
	unsigned char *data = NULL;
	long n = 0;
	size_t i = 0;
	BIO *bio;
	int ok;

	while (i < len && (text[i] == ' ' || text[i] == '\t' || text[i] == '\r' || text[i] == '\n'))
		i++;
	if (len - i < sizeof(begin) - 1 || memcmp(text + i, begin, sizeof(begin) - 1) != 0)
		return 0;
	if (len > INT_MAX || (bio = BIO_new_mem_buf(text, (int)len)) == NULL)
		return nap_err_set(err, 0, "out of memory", -ENOMEM);
	ok = PEM_read_bio(bio, &name, &header, &data, &n);
	BIO_free(bio);
	ERR_clear_error();
	if (ok != 1 || n <= 0) {
		OPENSSL_free(name);
		OPENSSL_free(header);
		OPENSSL_free(data);
		return nap_err_set(err, i, "bad PEM", -EBADMSG);
	}
	OPENSSL_free(name);
	OPENSSL_free(header);
	if ((*out = malloc((size_t)n)) == NULL) {
		OPENSSL_free(data);
		return nap_err_set(err, 0, "out of memory", -ENOMEM);
	}
	memcpy(*out, data, (size_t)n);
	*out_len = (size_t)n;
	OPENSSL_free(data);
	return 1;
}

static json_t *
name_json(const X509_NAME *name)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data;
	long n;
	json_t *j;

	if (bio == NULL)
		return json_null();
	/* RFC 2253 escapes control and non-ASCII bytes: the result is printable ASCII. */
	if (X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253) < 0 ||
	    (n = BIO_get_mem_data(bio, &data)) < 0) {
		BIO_free(bio);
		return json_null();
	}
	j = json_stringn(data, (size_t)n);
	BIO_free(bio);
	return j != NULL ? j : json_null();
}

static json_t *
time_json(const ASN1_TIME *t)
{
	struct tm tm;
	char buf[32];

	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
		return json_null();
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return json_string(buf);
}

static int
dump_response(const uint8_t *p, size_t len, json_t **out, struct nap_err *err)
{
	STACK_OF(X509) *certs;
	json_t *o, *arr;
	int r;

	if ((r = nap_hcep_chain_decode(p, len, &certs, err)) < 0)
		return r;
	o = json_object();
	arr = json_array();
	json_object_set_new(o, "type", json_string("hcep-response"));
	json_object_set_new(o, "length", json_integer((json_int_t)len));
	json_object_set_new(o, "certificates", arr);
	for (int i = 0; i < sk_X509_num(certs); i++) {
		X509 *x = sk_X509_value(certs, i);
		json_t *c = json_object();

		json_object_set_new(c, "subject", name_json(X509_get_subject_name(x)));
		json_object_set_new(c, "issuer", name_json(X509_get_issuer_name(x)));
		json_object_set_new(c, "not_before", time_json(X509_get0_notBefore(x)));
		json_object_set_new(c, "not_after", time_json(X509_get0_notAfter(x)));
		json_array_append_new(arr, c);
	}
	sk_X509_pop_free(certs, X509_free);
	*out = o;
	return 0;
}

int
dump_hcep(const uint8_t *p, size_t len, json_t **out, bool *problem, struct nap_err *err)
{
	struct nap_hcep_request *req;
	struct nap_err rerr = {0, NULL};
	json_t *o, *arr;
	int r;

	*problem = false;
	if ((r = nap_hcep_request_decode(p, len, &req, &rerr)) < 0) {
		struct nap_err ignored;

		/* Not a request: perhaps a response; if not, the request's error is the one. */
		if (r == -EBADMSG && dump_response(p, len, out, &ignored) == 0)
			return 0;
		*err = rerr;
		return r;
	}
	o = json_object();
	json_object_set_new(o, "type", json_string("hcep-request"));
	json_object_set_new(o, "length", json_integer((json_int_t)len));
	json_object_set_new(o, "subject", json_string(req->subject));
	json_object_set_new(o, "key", json_string(req->key_desc));
	json_object_set_new(o, "signature", json_string(req->signature_ok ? "ok" : "bad"));
	arr = json_array();
	if (req->eku_health)
		json_array_append_new(arr, json_string("system-health-authentication"));
	if (req->eku_client_auth)
		json_array_append_new(arr, json_string("client-auth"));
	json_object_set_new(o, "extended_key_usage", arr);
	arr = json_array();
	for (size_t i = 0; i < req->n_san; i++)
		json_array_append_new(arr, json_string(req->san[i]));
	json_object_set_new(o, "subject_alt_names", arr);
	json_object_set_new(o, "csp_name", json_boolean(req->has_csp_name));
	if (!req->signature_ok) {
		*problem = true;
		nap_err_set(err, 0, "request signature does not verify", 0);
	}
	if (req->soh == NULL) {
		json_object_set_new(o, "soh", json_null());
	} else {
		struct nap_err serr = {0, NULL};
		json_t *s;

		json_object_set_new(o, "soh_offset", json_integer((json_int_t)req->soh_offset));
		if (dump_soh(req->soh, req->soh_len, DUMP_SOH, &s, &serr) < 0) {
			char buf[256];
			size_t at = req->soh_offset + serr.offset;
			const char *what = serr.what != NULL ? serr.what : "malformed SoH";

			snprintf(buf, sizeof(buf), "%s at offset %zu", what, at);
			json_object_set_new(o, "soh_error", json_string(buf));
			if (!*problem) {
				*problem = true;
				nap_err_set(err, at, what, 0);
			}
		} else {
			json_object_set_new(o, "soh", s);
		}
	}
	nap_hcep_request_free(req);
	*out = o;
	return 0;
}
