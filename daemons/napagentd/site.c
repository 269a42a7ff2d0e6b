// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * HTTPS to napsited's agent endpoint (daemons/napsited/agent.h) with libcurl: enrollment (an
 * EC P-256 key and a CSR made with OpenSSL, POST /v1/enroll), the policy (GET /v1/policy with
 * the client certificate and If-None-Match, verified before it replaces the cache) and the
 * state report (POST /v1/state). The endpoint's certificate must chain to [site] ca and nothing
 * else (no system CA store). Handles untrusted input: response bodies are bounded, the policy
 * is verified (policy.c), enrollment answers are parsed strictly.
 *
 * The calls block for at most [site] timeout; the agent's loop has nothing else to serve
 * meanwhile. libcurl is loaded with dlopen() on first use rather than linked: with its TLS,
 * Kerberos, LDAP and SSH dependencies it would be most of the agent's resident memory, and the
 * daemon makes its requests from a short-lived child (napagentd.c) so it never maps them.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <dlfcn.h>

#define CURL_DISABLE_TYPECHECK 1
#include <curl/curl.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "agent.h"
#include "nap/log.h"
#include "nap/util.h"


__attribute__((format(printf, 3, 4))) static int
site_err(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL && len > 0) {
		va_start(ap, fmt);
		vsnprintf(err, len, fmt, ap);
		va_end(ap);
	}
	return 0;
}

#define AGENT_LIBCURL "libcurl.so.4"

static struct {
	void *h;
	CURLcode (*global_init)(long);
	CURL *(*easy_init)(void);
	CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
	CURLcode (*easy_perform)(CURL *);
	CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
	void (*easy_cleanup)(CURL *);
	const char *(*easy_strerror)(CURLcode);
	struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
	void (*slist_free_all)(struct curl_slist *);
} lc;

static bool
site_sym(void **dst, const char *name)
{
	*dst = dlsym(lc.h, name);
	return *dst != NULL;
}

int
agent_site_init(void)
{
	if (lc.h != NULL)
		return 0;
	lc.h = dlopen(AGENT_LIBCURL, RTLD_NOW | RTLD_LOCAL);
	if (lc.h == NULL) {
		log_warnx("cannot load %s: %s", AGENT_LIBCURL, dlerror());
		return -ENOENT;
	}
	if (!site_sym((void **)&lc.global_init, "curl_global_init") ||
	    !site_sym((void **)&lc.easy_init, "curl_easy_init") ||
	    !site_sym((void **)&lc.easy_setopt, "curl_easy_setopt") ||
	    !site_sym((void **)&lc.easy_perform, "curl_easy_perform") ||
	    !site_sym((void **)&lc.easy_getinfo, "curl_easy_getinfo") ||
	    !site_sym((void **)&lc.easy_cleanup, "curl_easy_cleanup") ||
	    !site_sym((void **)&lc.easy_strerror, "curl_easy_strerror") ||
	    !site_sym((void **)&lc.slist_append, "curl_slist_append") ||
	    !site_sym((void **)&lc.slist_free_all, "curl_slist_free_all") ||
	    lc.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		log_warnx("%s: missing symbols or initialisation failed", AGENT_LIBCURL);
		dlclose(lc.h);
		lc.h = NULL;
		return -EIO;
	}
	return 0;
}

static size_t
site_write_cb(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct agent_http_resp *b = arg;
	size_t n = size * nmemb;
	char *np;

	if (n > b->max - b->n) {
		b->overflow = true;
		return 0; /* libcurl aborts with CURLE_WRITE_ERROR */
	}
	np = realloc(b->p, b->n + n + 1);
	if (np == NULL)
		return 0;
	b->p = np;
	memcpy(b->p + b->n, ptr, n);
	b->n += n;
	b->p[b->n] = '\0';
	return n;
}

static size_t
site_header_cb(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct agent_http_resp *b = arg;
	size_t n = size * nmemb;

	if (b->on_header != NULL)
		b->on_header(ptr, n, b->arg);
	return n;
}

static int
site_curl_errno(CURLcode rc)
{
	switch (rc) {
	case CURLE_COULDNT_CONNECT:
		return -ECONNREFUSED;
	case CURLE_OPERATION_TIMEDOUT:
		return -ETIMEDOUT;
	case CURLE_COULDNT_RESOLVE_HOST:
		return -EHOSTUNREACH;
	case CURLE_WRITE_ERROR:
		return -EMSGSIZE;
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CACERT_BADFILE:
		return -EPROTO;
	default:
		return -EIO;
	}
}

long
agent_http_request(const struct agent_http_req *rq, struct agent_http_resp *resp, char *err,
		   size_t len)
{
	char curl_err[CURL_ERROR_SIZE] = "";
	struct curl_slist *hdrs = NULL;
	CURL *h;
	CURLcode rc;
	long status = 0;

	memset(resp, 0, sizeof(*resp));
	resp->max = rq->max;
	resp->on_header = rq->on_header;
	resp->arg = rq->arg;
	if (agent_site_init() < 0) {
		site_err(err, len, "libcurl (%s) cannot be loaded", AGENT_LIBCURL);
		return -ENOENT;
	}
	h = lc.easy_init();
	if (h == NULL) {
		site_err(err, len, "out of memory");
		return -ENOMEM;
	}
	lc.easy_setopt(h, CURLOPT_URL, rq->url);
	lc.easy_setopt(h, CURLOPT_PROTOCOLS_STR, rq->allow_http ? "http,https" : "https");
	lc.easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	lc.easy_setopt(h, CURLOPT_ERRORBUFFER, curl_err);
	lc.easy_setopt(h, CURLOPT_CAINFO, rq->ca);
	lc.easy_setopt(h, CURLOPT_CAPATH, NULL);
	lc.easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
	lc.easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
	lc.easy_setopt(h, CURLOPT_TIMEOUT, (long)rq->timeout);
	lc.easy_setopt(h, CURLOPT_CONNECTTIMEOUT, (long)(rq->timeout < 10 ? rq->timeout : 10));
	lc.easy_setopt(h, CURLOPT_USERAGENT, "napagentd/" NAPAGENTD_VERSION);
	lc.easy_setopt(h, CURLOPT_WRITEFUNCTION, site_write_cb);
	lc.easy_setopt(h, CURLOPT_WRITEDATA, resp);
	lc.easy_setopt(h, CURLOPT_HEADERFUNCTION, site_header_cb);
	lc.easy_setopt(h, CURLOPT_HEADERDATA, resp);
	if (rq->cert != NULL && rq->key != NULL) {
		lc.easy_setopt(h, CURLOPT_SSLCERT, rq->cert);
		lc.easy_setopt(h, CURLOPT_SSLKEY, rq->key);
	}
	if (rq->body != NULL) {
		lc.easy_setopt(h, CURLOPT_POSTFIELDS, rq->body);
		lc.easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)rq->body_len);
	}
	for (size_t i = 0; rq->headers != NULL && rq->headers[i] != NULL; i++)
		hdrs = lc.slist_append(hdrs, rq->headers[i]);
	if (hdrs != NULL)
		lc.easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	rc = lc.easy_perform(h);
	if (rc != CURLE_OK) {
		status = resp->overflow ? -EMSGSIZE : site_curl_errno(rc);
		site_err(err, len, "%s: %s", rq->url,
			 resp->overflow ? "response too large"
					: (curl_err[0] != '\0' ? curl_err : lc.easy_strerror(rc)));
	} else {
		lc.easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	}
	lc.slist_free_all(hdrs);
	lc.easy_cleanup(h);
	return status;
}

/* The ETag of napsited's answers. */
static void
site_etag_cb(const char *line, size_t n, void *arg)
{
	struct agent_http_resp *b = arg;

	if (n > 5 && strncasecmp(line, "ETag:", 5) == 0) {
		const char *v = line + 5;
		size_t vl = n - 5;

		while (vl > 0 && (*v == ' ' || *v == '\t')) {
			v++;
			vl--;
		}
		while (vl > 0 && (v[vl - 1] == '\r' || v[vl - 1] == '\n' || v[vl - 1] == ' '))
			vl--;
		if (vl < sizeof(b->etag)) {
			bool ok = true;

			for (size_t i = 0; i < vl; i++)
				if ((unsigned char)v[i] < 0x21 || (unsigned char)v[i] > 0x7e)
					ok = false;
			if (ok) {
				memcpy(b->etag, v, vl);
				b->etag[vl] = '\0';
			}
		}
	}
}

/*
 * One request to napsited. body NULL = GET. with_cert: present the client certificate.
 * Returns the HTTP status (> 0) or a negative errno with err filled; the response body in *resp.
 */
static long
site_request(const struct agent_conf *c, const char *path, const char *body,
	     const char *if_none_match, bool with_cert, struct agent_http_resp *resp, char *err,
	     size_t len)
{
	char url[PATH_MAX], cert[PATH_MAX], key[PATH_MAX], inm[128];
	const char *hdrs[3] = {NULL, NULL, NULL};
	struct agent_http_req rq = {0};
	size_t nh = 0;

	memset(resp, 0, sizeof(*resp));
	if (c->url == NULL) {
		site_err(err, len, "no [site] url");
		return -EINVAL;
	}
	snprintf(url, sizeof(url), "%s%s%s", c->url,
		 c->url[strlen(c->url) - 1] == '/' ? path + 1 : path, "");
	rq.url = url;
	rq.ca = c->ca;
	rq.timeout = c->http_timeout;
	rq.max = AGENT_HTTP_BODY_MAX;
	rq.on_header = site_etag_cb;
	rq.arg = resp;
	if (with_cert) {
		rq.cert = agent_conf_cert(c, cert, sizeof(cert));
		rq.key = agent_conf_key(c, key, sizeof(key));
	}
	if (body != NULL) {
		hdrs[nh++] = "Content-Type: application/json";
		rq.body = body;
		rq.body_len = strlen(body);
	}
	if (if_none_match != NULL && if_none_match[0] != '\0') {
		snprintf(inm, sizeof(inm), "If-None-Match: %s", if_none_match);
		hdrs[nh++] = inm;
	}
	rq.headers = hdrs;
	return agent_http_request(&rq, resp, err, len);
}

/* The endpoint's {"error": "..."} message, or the status. */
static void
site_http_error(const char *what, long status, const struct agent_http_resp *b, char *err, size_t len)
{
	json_t *j = b->p != NULL ? json_loadb(b->p, b->n, 0, NULL) : NULL;
	const char *msg = j != NULL ? json_string_value(json_object_get(j, "error")) : NULL;
	char esc[256];

	if (msg != NULL)
		nap_escape((const uint8_t *)msg, strlen(msg), esc, sizeof(esc));
	site_err(err, len, "%s: HTTP %ld%s%s", what, status, msg != NULL ? ": " : "",
		 msg != NULL ? esc : "");
	json_decref(j);
}

static int
site_mkdir(const char *dir)
{
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/* ---- enrollment ------------------------------------------------------------------------- */

static int
site_make_csr(const char *cn, char **key_pem, size_t *key_len, char **csr_pem)
{
	EVP_PKEY *pkey = EVP_EC_gen("P-256");
	X509_REQ *req = X509_REQ_new();
	X509_NAME *name = NULL;
	BIO *kb = BIO_new(BIO_s_mem()), *cb = BIO_new(BIO_s_mem());
	char *p;
	long n;
	int r = -EIO;

	*key_pem = *csr_pem = NULL;
	if (pkey == NULL || req == NULL || kb == NULL || cb == NULL)
		goto out;
	name = X509_REQ_get_subject_name(req);
	if (X509_REQ_set_version(req, 0) != 1 ||
	    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1,
				       -1, 0) != 1 ||
	    X509_REQ_set_pubkey(req, pkey) != 1 || X509_REQ_sign(req, pkey, EVP_sha256()) <= 0)
		goto out;
	if (PEM_write_bio_PrivateKey(kb, pkey, NULL, NULL, 0, NULL, NULL) != 1 ||
	    PEM_write_bio_X509_REQ(cb, req) != 1)
		goto out;
	n = BIO_get_mem_data(kb, &p);
	*key_pem = malloc((size_t)n + 1);
	if (*key_pem == NULL)
		goto out;
	memcpy(*key_pem, p, (size_t)n);
	(*key_pem)[n] = '\0';
	*key_len = (size_t)n;
	n = BIO_get_mem_data(cb, &p);
	/* The BIO's data is not NUL-terminated: copy it, no strndup over it. */
	*csr_pem = malloc((size_t)n + 1);
	if (*csr_pem == NULL)
		goto out;
	memcpy(*csr_pem, p, (size_t)n);
	(*csr_pem)[n] = '\0';
	r = 0;
out:
	if (r < 0 && *key_pem != NULL) {
		nap_wipe(*key_pem, *key_len);
		free(*key_pem);
		*key_pem = NULL;
	}
	BIO_free(kb); /* the memory BIO's copy of the key goes with it */
	BIO_free(cb);
	X509_REQ_free(req);
	EVP_PKEY_free(pkey);
	return r;
}

int
agent_site_enroll(const struct agent_conf *c, const char *token, char *err, size_t len)
{
	char name[256], path[PATH_MAX];
	char *key_pem = NULL, *csr_pem = NULL, *body = NULL;
	size_t key_len = 0;
	struct agent_http_resp resp;
	json_t *req = NULL, *ans = NULL;
	const char *cert, *ca;
	long status;
	int r;

	if (strlen(token) != 64 || strspn(token, "0123456789abcdefABCDEF") != 64) {
		site_err(err, len, "the enrollment token is 64 hex characters");
		return -EINVAL;
	}
	if ((r = agent_machine_name(c, name, sizeof(name))) < 0) {
		site_err(err, len, "machine name: %s", strerror(-r));
		return r;
	}
	if ((r = site_mkdir(c->state_dir)) < 0) {
		site_err(err, len, "%s: %s", c->state_dir, strerror(-r));
		return r;
	}
	if ((r = site_make_csr(name, &key_pem, &key_len, &csr_pem)) < 0) {
		site_err(err, len, "cannot make a key and CSR (OpenSSL)");
		return r;
	}
	req = json_pack("{s:s, s:s}", "token", token, "csr", csr_pem);
	body = req != NULL ? json_dumps(req, JSON_COMPACT) : NULL;
	if (body == NULL) {
		r = -ENOMEM;
		goto out;
	}
	status = site_request(c, "/v1/enroll", body, NULL, false, &resp, err, len);
	if (status < 0) {
		r = (int)status;
		goto out_resp;
	}
	if (status != 200) {
		site_http_error("enrollment refused", status, &resp, err, len);
		r = status == 403 || status == 409 ? -EACCES : -EPROTO;
		goto out_resp;
	}
	ans = json_loadb(resp.p != NULL ? resp.p : "", resp.n, JSON_REJECT_DUPLICATES, NULL);
	cert = json_string_value(json_object_get(ans, "certificate"));
	ca = json_string_value(json_object_get(ans, "ca"));
	if (cert == NULL || ca == NULL || strstr(cert, "-----BEGIN CERTIFICATE-----") == NULL) {
		site_err(err, len, "enrollment: the answer holds no certificate");
		r = -EBADMSG;
		goto out_resp;
	}
	/* The key first: a certificate without its key would be useless. */
	r = nap_write_file_atomic(agent_conf_key(c, path, sizeof(path)), key_pem, key_len, 0600);
	if (r == 0)
		r = nap_write_file_atomic(agent_conf_cert(c, path, sizeof(path)), cert,
					  strlen(cert), 0644);
	if (r == 0)
		r = nap_write_file_atomic(agent_state_path(c, "agent-ca.pem", path, sizeof(path)),
					  ca, strlen(ca), 0644);
	if (r < 0)
		site_err(err, len, "%s: %s", path, strerror(-r));
out_resp:
	free(resp.p);
out:
	json_decref(ans);
	json_decref(req);
	free(body);
	free(csr_pem);
	if (key_pem != NULL) {
		nap_wipe(key_pem, key_len);
		free(key_pem);
	}
	return r;
}

/* ---- policy ----------------------------------------------------------------------------- */

int
agent_site_fetch_policy(const struct agent_conf *c, char *err, size_t len)
{
	struct agent_policy cached, fresh;
	struct agent_http_resp resp;
	char path[PATH_MAX], perr[256];
	uint8_t cat;
	uint32_t code;
	long status;
	bool have_cache;
	int r;

	/* Ask for changes only against a cache that still verifies. */
	have_cache = agent_policy_load(c, &cached, &cat, &code, perr, sizeof(perr)) == 0;
	status = site_request(c, "/v1/policy", NULL, have_cache ? cached.etag : NULL, true, &resp,
			      err, len);
	if (status < 0) {
		r = (int)status;
		goto out;
	}
	if (status == 304 && have_cache) {
		r = 1;
		goto out;
	}
	if (status != 200) {
		site_http_error("policy", status, &resp, err, len);
		r = status == 503 ? -EAGAIN : (status == 401 || status == 403) ? -EACCES : -EPROTO;
		goto out;
	}
	r = agent_policy_parse(c, (const uint8_t *)(resp.p != NULL ? resp.p : ""), resp.n, &fresh,
			       perr, sizeof(perr));
	if (r < 0) {
		site_err(err, len, "policy from %s does not verify: %s", c->url, perr);
		r = -EBADMSG;
		goto out;
	}
	if (have_cache && fresh.hsr->revision < cached.hsr->revision)
		log_warnx("policy: the site serves revision %llu, older than the cached %llu",
			  (unsigned long long)fresh.hsr->revision,
			  (unsigned long long)cached.hsr->revision);
	agent_policy_clear(&fresh);
	if ((r = site_mkdir(c->state_dir)) == 0)
		r = nap_write_file_atomic(agent_state_path(c, "policy.json", path, sizeof(path)),
					  resp.p, resp.n, 0644);
	if (r == 0)
		r = nap_write_file_atomic(agent_state_path(c, "policy.etag", path, sizeof(path)),
					  resp.etag, strlen(resp.etag), 0644);
	if (r < 0)
		site_err(err, len, "%s: %s", path, strerror(-r));
out:
	free(resp.p);
	if (have_cache)
		agent_policy_clear(&cached);
	return r;
}

/* ---- state ------------------------------------------------------------------------------ */

int
agent_site_post_state(const struct agent_conf *c, const struct agent_eval *e, char *err,
		      size_t len)
{
	struct agent_http_resp resp;
	char *body = agent_state_body(e);
	long status;
	int r = 0;

	if (body == NULL) {
		site_err(err, len, "out of memory");
		return -ENOMEM;
	}
	status = site_request(c, "/v1/state", body, NULL, true, &resp, err, len);
	if (status < 0) {
		r = (int)status;
	} else if (status != 204 && status != 200) {
		site_http_error("state report", status, &resp, err, len);
		r = (status == 401 || status == 403) ? -EACCES : -EPROTO;
	}
	free(resp.p);
	free(body);
	return r;
}
