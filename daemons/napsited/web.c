// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * The admin web listener ([web]): libmicrohttpd with a pool of [web] threads threads, plain HTTP
 * or HTTPS (GnuTLS, [web] cert and key), connections accepted only from the [web] allow
 * networks (loopback by default), and, with [web] token_file, every request must carry the token
 * as "Authorization: Bearer TOKEN" or as the password of HTTP basic authentication (any user
 * name, so a browser can log in). Only GET and HEAD. Handles untrusted input: the request line,
 * headers and query parameters; every parameter is declared by its route and checked before a
 * query runs (unknown, repeated or malformed ones are 400 with a JSON or HTML error).
 *
 * Each pool thread takes a store connection of its own from the instance's pool for the length
 * of a request (opened lazily, reopened after a backend error), so a slow report holds up only
 * its own thread; the agent endpoint and the main loop have their own connections.
 *
 * Reload: the settings are copied into an instance (nothing points into napsited's
 * configuration). An unchanged [web] keeps the running instance; a changed one starts a new
 * instance first (on a dup() of the same listening socket when listen is unchanged, so no
 * connection is refused), then quiesces the old one, gives its requests up to
 * WEB_DRAIN_MS to finish and stops it. A new instance that cannot start leaves the old one
 * running.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <microhttpd.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "nap/log.h"
#include "nap/siteconf.h"
#include "nap/util.h"
#include "napsited.h"
#include "web.h"

#define WEB_THREADS_MAX   64
#define WEB_PEM_MAX       (256 * 1024)
#define WEB_TOKEN_MAX     1024
#define WEB_PARAM_LEN_MAX 512 /* bytes of one query value */
#define WEB_URL_MAX       1024 /* bytes of a path */
#define WEB_CONN_LIMIT    256
#define WEB_CONN_TIMEOUT  30 /* seconds */
#define WEB_DRAIN_MS      2000
#define WEB_TLS_PRIORITY  "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"
#define WEB_JSON          "application/json"
#define WEB_HTML          "text/html; charset=utf-8"
/* No external resource can load even if a page had one: the inline style is all there is. */
#define WEB_CSP                                                                                    \
	"default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "                    \
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

#define WEB_COUNT(in, field) atomic_fetch_add_explicit(&(in)->sd->m.field, 1, memory_order_relaxed)

struct web_instance {
	struct napsited *sd;
	struct MHD_Daemon *mhd;
	/* The settings it runs with (compared on reload). */
	char *listen;
	char *tls_cert, *tls_key; /* PEM text, or NULL for plain HTTP */
	size_t tls_key_len;
	struct nap_siteconf_cidr allow[NAP_SITECONF_MAX_ALLOW];
	size_t n_allow;
	char *token; /* NULL: no authentication */
	size_t token_len;
	char *store_uri;
	char site[NAP_SITE_MAX + 1];
	int64_t silent_after;
	int64_t refresh; /* seconds, 0: pages do not reload themselves */
	unsigned threads;
	/* One store connection per pool thread, handed out under lock. */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct nap_store *stores[WEB_THREADS_MAX];
	bool busy[WEB_THREADS_MAX];
};

struct napsited_web {
	struct web_instance *cur;
};

typedef int (*web_handler)(struct web_req *);

struct web_route {
	const char *path; /* exact, or a prefix ending in '/' followed by one segment (the arg) */
	bool api;
	bool arg;
	web_handler handler;
	const char *const *params; /* NULL-terminated, at most WEB_PARAMS_MAX */
};

static const char *const no_params[] = {NULL};
const char *const web_client_params[] = {"result", "action", "silent", "prefix", "sort",
					 "limit",  "offset", NULL};
static const char *const history_params[] = {"from", "to", "step", NULL};
static const char *const feed_params[] = {"limit", "offset", "machine", NULL};
static const char *const page_params[] = {"limit", "offset", NULL};
static const char *const overview_params[] = {"range", NULL};

static const struct web_route web_routes[] = {
	{"/api/v1/compliance", true, false, web_api_compliance, no_params},
	{"/api/v1/clients", true, false, web_api_clients, web_client_params},
	{"/api/v1/clients/", true, true, web_api_client, no_params},
	{"/api/v1/policies", true, false, web_api_policies, page_params},
	{"/api/v1/policies/", true, true, web_api_policy, web_client_params},
	{"/api/v1/history", true, false, web_api_history, history_params},
	{"/api/v1/feed", true, false, web_api_feed, feed_params},
	{"/", false, false, web_page_overview, overview_params},
	{"/clients", false, false, web_page_clients, web_client_params},
	{"/clients/", false, true, web_page_client, no_params},
	{"/policies", false, false, web_page_policies, page_params},
	{"/policies/", false, true, web_page_policy, web_client_params},
	{"/feed", false, false, web_page_feed, feed_params},
};

const char *const web_filter_names[] = {"all", "compliant", "noncompliant", "exempt", NULL};
const char *const web_action_names[] = {"full", "restricted", "probation", "reject", NULL};
const char *const web_sort_names[] = {"name", "last_seen", "silent", NULL};

const char *
web_agent_state_name(int state)
{
	switch (state) {
	case NAP_AGENT_UNRESTRICTED:
		return "unrestricted";
	case NAP_AGENT_DEFERRED:
		return "deferred";
	case NAP_AGENT_RESTRICTED:
		return "restricted";
	default:
		return "unknown";
	}
}

/* ---- parameters ------------------------------------------------------------------------- */

/* The message buffer of a request (errors are built here, one per request). */
static __thread char web_errbuf[512];

int
web_fail(struct web_req *r, unsigned status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(web_errbuf, sizeof(web_errbuf), fmt, ap);
	va_end(ap);
	r->status = status;
	r->error = web_errbuf;
	return -EINVAL;
}

int
web_store_fail(struct web_req *r, int rc, const struct nap_store_err *e)
{
	const char *msg = e != NULL && e->msg[0] != '\0' ? e->msg : strerror(-rc);

	switch (rc) {
	case -EINVAL:
		return web_fail(r, 400, "%s", msg);
	case -ENOENT:
		return web_fail(r, 404, "%s", msg);
	default:
		LOG_WARNX_RL("web: store: %s", msg);
		web_fail(r, 503, "the store is unavailable");
		return rc;
	}
}

int
web_param_int(struct web_req *r, size_t i, const char *name, int64_t min, int64_t max, int64_t def,
	      int64_t *out)
{
	const char *s = r->param[i];
	char *end;
	long long v;

	if (s == NULL) {
		*out = def;
		return 0;
	}
	errno = 0;
	v = strtoll(s, &end, 10);
	if (!((*s >= '0' && *s <= '9') || (*s == '-' && s[1] >= '0' && s[1] <= '9')) ||
	    errno != 0 || *end != '\0' || v < min || v > max)
		return web_fail(r, 400, "%s: want an integer %lld..%lld", name, (long long)min,
				(long long)max);
	*out = v;
	return 0;
}

int
web_param_bool(struct web_req *r, size_t i, const char *name, bool *out)
{
	static const char *const yes[] = {"1", "true", "yes", "on", NULL};
	static const char *const no[] = {"0", "false", "no", "off", NULL};
	const char *s = r->param[i];

	*out = false;
	if (s == NULL)
		return 0;
	for (size_t k = 0; yes[k] != NULL; k++) {
		if (strcmp(s, yes[k]) == 0) {
			*out = true;
			return 0;
		}
		if (strcmp(s, no[k]) == 0)
			return 0;
	}
	return web_fail(r, 400, "%s: want true or false", name);
}

int
web_param_time(struct web_req *r, size_t i, const char *name, int64_t def, int64_t *out)
{
	const char *s = r->param[i];
	int64_t v;

	if (s == NULL) {
		*out = def;
		return 0;
	}
	if (s[0] >= '0' && s[0] <= '9' && strspn(s, "0123456789") == strlen(s) && strlen(s) <= 12) {
		*out = strtoll(s, NULL, 10);
		return 0;
	}
	if (nap_parse_time(s, &v) < 0 || v < 0)
		return web_fail(r, 400,
				"%s: want Unix seconds or YYYY-MM-DD[THH:MM:SS[Z]] (UTC)", name);
	*out = v;
	return 0;
}

int
web_param_word(struct web_req *r, size_t i, const char *name, const char *const *words, int def,
	       int *out)
{
	const char *s = r->param[i];
	char list[160] = "";

	if (s == NULL) {
		*out = def;
		return 0;
	}
	for (int k = 0; words[k] != NULL; k++) {
		if (strcmp(s, words[k]) == 0) {
			*out = k;
			return 0;
		}
		snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s", k > 0 ? ", " : "",
			 words[k]);
	}
	return web_fail(r, 400, "%s: want one of %s", name, list);
}

int
web_param_machine(struct web_req *r, size_t i, const char *name, const char **out)
{
	const char *s = r->param[i];

	*out = s;
	if (s != NULL && !nap_report_machine_valid(s))
		return web_fail(r, 400, "%s: 1-%d printable characters without blanks", name,
				NAP_REPORT_NAME_MAX);
	return 0;
}

int
web_client_query(struct web_req *r, struct nap_report_client_query *q)
{
	int filter, action, sort;
	int64_t limit, offset;

	memset(q, 0, sizeof(*q));
	if (web_param_word(r, 0, "result", web_filter_names, 0, &filter) < 0 ||
	    web_param_word(r, 1, "action", web_action_names, -1, &action) < 0 ||
	    web_param_bool(r, 2, "silent", &q->silent_only) < 0 ||
	    web_param_machine(r, 3, "prefix", &q->prefix) < 0 ||
	    web_param_word(r, 4, "sort", web_sort_names, 0, &sort) < 0 ||
	    web_param_int(r, 5, "limit", 1, NAP_REPORT_LIMIT_MAX, NAP_REPORT_LIMIT_DEFAULT,
			  &limit) < 0 ||
	    web_param_int(r, 6, "offset", 0, NAP_REPORT_OFFSET_MAX, 0, &offset) < 0)
		return -EINVAL;
	q->filter = (enum nap_report_filter)filter;
	q->action = action >= 0 ? web_action_names[action] : NULL;
	q->sort = (enum nap_report_sort)sort;
	q->limit = limit;
	q->offset = offset;
	q->now = r->now;
	q->silent_after = r->silent_after;
	return 0;
}

int
web_param_add(struct web_req *r, const char *const *names, const char *key, const char *value,
	      char *bad, size_t bad_len)
{
	size_t i;

	for (i = 0; names[i] != NULL && i < WEB_PARAMS_MAX; i++)
		if (strcmp(key, names[i]) == 0)
			break;
	if (names[i] == NULL || i == WEB_PARAMS_MAX) {
		char esc[64];

		nap_escape((const uint8_t *)key, strnlen(key, 15), esc, sizeof(esc));
		snprintf(bad, bad_len, "unknown parameter \"%s\"", esc);
		return -EINVAL;
	}
	if (r->param[i] != NULL) {
		snprintf(bad, bad_len, "parameter \"%s\" given twice", names[i]);
		return -EINVAL;
	}
	if (value != NULL && strlen(value) > WEB_PARAM_LEN_MAX) {
		snprintf(bad, bad_len, "parameter \"%s\" longer than %d bytes", names[i],
			 WEB_PARAM_LEN_MAX);
		return -EINVAL;
	}
	/* An empty value (what a form's "any" choice sends) counts as given, then as none. */
	r->param[i] = value != NULL ? value : "";
	return 0;
}

struct web_params_ctx {
	struct web_req *r;
	const char *const *names;
	const char *bad; /* the first problem */
	char badbuf[128];
};

static enum MHD_Result
web_params_cb(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	struct web_params_ctx *c = cls;

	(void)kind;
	if (c->bad != NULL)
		return MHD_NO;
	if (web_param_add(c->r, c->names, key, value, c->badbuf, sizeof(c->badbuf)) < 0) {
		c->bad = c->badbuf;
		return MHD_NO;
	}
	return MHD_YES;
}

/* ---- access ----------------------------------------------------------------------------- */

static void
web_addr(const struct sockaddr *sa, char *out, size_t len)
{
	snprintf(out, len, "?");
	if (sa != NULL)
		getnameinfo(sa,
			    sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
						      : sizeof(struct sockaddr_in),
			    out, len, NULL, 0, NI_NUMERICHOST);
}

static enum MHD_Result
web_accept(void *cls, const struct sockaddr *addr, socklen_t addrlen)
{
	struct web_instance *in = cls;
	char a[64];

	(void)addrlen;
	if (nap_siteconf_cidr_match(in->allow, in->n_allow, addr))
		return MHD_YES;
	WEB_COUNT(in, web_denied);
	web_addr(addr, a, sizeof(a));
	LOG_WARNX_RL("web: connection from %s refused ([web] allow)", a);
	return MHD_NO;
}

/* Bearer TOKEN, or Basic base64(user:TOKEN); the comparison takes the same time either way. */
bool
web_token_ok(const char *h, const char *token, size_t token_len)
{
	unsigned char dec[WEB_TOKEN_MAX * 2];
	const char *given = NULL;
	size_t glen = 0, n;
	bool ok;
	int d;

	if (h == NULL)
		return false;
	if (strncasecmp(h, "Bearer ", 7) == 0) {
		given = h + 7;
		glen = strlen(given);
	} else if (strncasecmp(h, "Basic ", 6) == 0) {
		const char *b = h + 6, *colon;

		n = strlen(b);
		if (n == 0 || n % 4 != 0 || n / 4 * 3 >= sizeof(dec))
			return false;
		d = EVP_DecodeBlock(dec, (const unsigned char *)b, (int)n);
		if (d < 0)
			return false;
		/* EVP_DecodeBlock counts the padding as zero bytes. */
		while (d > 0 && n > 0 && b[n - 1] == '=') {
			d--;
			n--;
		}
		dec[d] = '\0';
		colon = memchr(dec, ':', (size_t)d);
		if (colon == NULL)
			return false;
		given = colon + 1;
		glen = (size_t)d - (size_t)(colon + 1 - (const char *)dec);
	}
	if (given == NULL)
		return false;
	ok = glen == token_len && nap_consttime_eq(given, token, glen);
	nap_wipe(dec, sizeof(dec));
	return ok;
}

static bool
web_authorized(const struct web_instance *in, struct MHD_Connection *conn)
{
	if (in->token == NULL)
		return true;
	return web_token_ok(MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
							MHD_HTTP_HEADER_AUTHORIZATION),
			    in->token, in->token_len);
}

/* ---- the store pool --------------------------------------------------------------------- */

static int
web_store_get(struct web_instance *in, struct nap_store **st)
{
	struct nap_store_err e = {{0}};
	unsigned i;
	int r;

	pthread_mutex_lock(&in->lock);
	for (;;) {
		for (i = 0; i < in->threads; i++)
			if (!in->busy[i])
				break;
		if (i < in->threads)
			break;
		pthread_cond_wait(&in->cond, &in->lock);
	}
	in->busy[i] = true;
	pthread_mutex_unlock(&in->lock);
	if (in->stores[i] == NULL && (r = nap_store_open(in->store_uri, &in->stores[i], &e)) < 0) {
		LOG_WARNX_RL("web: store %s: %s", in->store_uri, e.msg);
		in->stores[i] = NULL;
	}
	*st = in->stores[i];
	return (int)i;
}

static void
web_store_put(struct web_instance *in, int slot, bool broken)
{
	if (broken) {
		nap_store_close(in->stores[slot]);
		in->stores[slot] = NULL;
	}
	pthread_mutex_lock(&in->lock);
	in->busy[slot] = false;
	pthread_cond_signal(&in->cond);
	pthread_mutex_unlock(&in->lock);
}

/* ---- replies ---------------------------------------------------------------------------- */

static enum MHD_Result
web_send(struct web_instance *in, struct MHD_Connection *conn, struct web_req *r, bool api)
{
	struct MHD_Response *resp;
	enum MHD_Result res;

	if (r->body == NULL) {
		/* An error the handler did not render: the route's kind decides the format. */
		const char *msg = r->error != NULL ? r->error : "internal error";

		if (r->status < 400)
			r->status = 500;
		if (api) {
			json_t *o = json_pack("{ss}", "error", msg);

			r->body = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
			json_decref(o);
			r->len = r->body != NULL ? strlen(r->body) : 0;
			r->ctype = WEB_JSON;
		} else {
			web_page_error(r, r->status, msg);
		}
		if (r->body == NULL)
			return MHD_NO;
	}
	if (r->status >= 400 && r->status < 500) {
		WEB_COUNT(in, web_bad_requests);
		if (r->status != 404)
			LOG_WARNX_RL("web: %u: %s", r->status, r->error != NULL ? r->error : "?");
	}
	resp = MHD_create_response_from_buffer_with_free_callback(r->len, r->body, free);
	if (resp == NULL) {
		free(r->body);
		return MHD_NO;
	}
	r->body = NULL;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
				r->ctype != NULL ? r->ctype : (api ? WEB_JSON : WEB_HTML));
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	MHD_add_response_header(resp, "Content-Security-Policy", WEB_CSP);
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
	MHD_add_response_header(resp, "X-Frame-Options", "DENY");
	if (r->status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	if (r->status == MHD_HTTP_UNAUTHORIZED) {
		MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
					"Basic realm=\"nap\", charset=\"UTF-8\"");
		if (api)
			MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
						"Bearer realm=\"nap\"");
	}
	res = MHD_queue_response(conn, r->status, resp);
	MHD_destroy_response(resp);
	return res;
}

static const struct web_route *
web_route_find(const char *url, const char **arg)
{
	if (strlen(url) > WEB_URL_MAX)
		return NULL;
	*arg = NULL;
	for (size_t i = 0; i < NAP_ARRAY_SIZE(web_routes); i++) {
		const struct web_route *rt = &web_routes[i];
		size_t n = strlen(rt->path);

		if (!rt->arg) {
			if (strcmp(url, rt->path) == 0)
				return rt;
			continue;
		}
		if (strncmp(url, rt->path, n) == 0 && url[n] != '\0' && strchr(url + n, '/') == NULL) {
			*arg = url + n;
			return rt;
		}
	}
	return NULL;
}

static enum MHD_Result
web_access(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
	   const char *version, const char *upload_data, size_t *upload_data_size, void **req_cls)
{
	struct web_instance *in = cls;
	struct web_req r = {.status = MHD_HTTP_OK};
	struct web_params_ctx pc = {.r = &r};
	const struct web_route *rt;
	bool api = strncmp(url, "/api/", 5) == 0;
	enum MHD_Result res;
	int slot, rc;

	(void)version;
	(void)upload_data;
	/* Answered at the first call, with the headers: no route takes a body. */
	if (*req_cls != NULL) {
		*upload_data_size = 0;
		return MHD_YES;
	}
	*req_cls = in;
	WEB_COUNT(in, web_requests);
	r.site = in->site;
	r.now = (int64_t)time(NULL);
	r.silent_after = in->silent_after;
	r.refresh = in->refresh;
	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0) {
		web_fail(&r, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET and HEAD");
		return web_send(in, conn, &r, api);
	}
	if (!web_authorized(in, conn)) {
		char a[64];
		const union MHD_ConnectionInfo *ci =
			MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);

		WEB_COUNT(in, web_denied);
		web_addr(ci != NULL ? ci->client_addr : NULL, a, sizeof(a));
		LOG_WARNX_RL("web: %s: no or wrong credentials", a);
		web_fail(&r, MHD_HTTP_UNAUTHORIZED, "authentication required");
		return web_send(in, conn, &r, api);
	}
	rt = web_route_find(url, &r.arg);
	if (rt == NULL) {
		web_fail(&r, MHD_HTTP_NOT_FOUND, "no such page");
		return web_send(in, conn, &r, api);
	}
	pc.names = rt->params;
	MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, web_params_cb, &pc);
	if (pc.bad != NULL) {
		web_fail(&r, MHD_HTTP_BAD_REQUEST, "%s", pc.bad);
		return web_send(in, conn, &r, rt->api);
	}
	for (size_t i = 0; i < WEB_PARAMS_MAX; i++)
		if (r.param[i] != NULL && *r.param[i] == '\0')
			r.param[i] = NULL;
	slot = web_store_get(in, &r.st);
	if (r.st == NULL) {
		web_fail(&r, MHD_HTTP_SERVICE_UNAVAILABLE, "the store is unavailable");
		rc = -EIO;
	} else {
		rc = rt->handler(&r);
	}
	web_store_put(in, slot, rc == -EIO);
	if (rc == -EIO || r.status == MHD_HTTP_SERVICE_UNAVAILABLE)
		WEB_COUNT(in, store_errors);
	res = web_send(in, conn, &r, rt->api);
	free(r.body);
	return res;
}

const char *const *
web_route_params(const char *url, const char **arg, bool *api)
{
	const struct web_route *rt = web_route_find(url, arg);

	if (rt == NULL)
		return NULL;
	*api = rt->api;
	return rt->params;
}

/* ---- instances -------------------------------------------------------------------------- */

static void
web_instance_free(struct web_instance *in)
{
	if (in == NULL)
		return;
	if (in->mhd != NULL)
		MHD_stop_daemon(in->mhd);
	for (unsigned i = 0; i < WEB_THREADS_MAX; i++)
		nap_store_close(in->stores[i]);
	free(in->tls_cert);
	if (in->tls_key != NULL)
		nap_wipe(in->tls_key, in->tls_key_len);
	free(in->tls_key);
	if (in->token != NULL)
		nap_wipe(in->token, in->token_len);
	free(in->token);
	free(in->store_uri);
	free(in->listen);
	pthread_cond_destroy(&in->cond);
	pthread_mutex_destroy(&in->lock);
	free(in);
}

static int
web_read_pem(const char *path, char **out, size_t *out_len, char *err, size_t len)
{
	uint8_t *buf;
	size_t n;
	int r = nap_read_file(path, WEB_PEM_MAX, &buf, &n);

	if (r < 0) {
		snprintf(err, len, "web: %s: %s", path, strerror(-r));
		return r;
	}
	/* libmicrohttpd takes NUL-terminated text. */
	*out = malloc(n + 1);
	if (*out != NULL) {
		memcpy(*out, buf, n);
		(*out)[n] = '\0';
		*out_len = n;
	}
	nap_wipe(buf, n);
	free(buf);
	return *out != NULL ? 0 : -ENOMEM;
}

/* The certificate and key, checked with OpenSSL: libmicrohttpd's own refusal says little. */
static int
web_instance_new(struct napsited *sd, struct web_instance **out, char *err, size_t len)
{
	const struct nap_siteconf *c = sd->conf;
	struct web_instance *in = calloc(1, sizeof(*in));
	char why[256];
	size_t n;
	int r;

	if (in == NULL)
		return -ENOMEM;
	pthread_mutex_init(&in->lock, NULL);
	pthread_cond_init(&in->cond, NULL);
	in->sd = sd;
	in->threads = c->web_threads > 0 && c->web_threads <= WEB_THREADS_MAX
			      ? (unsigned)c->web_threads
			      : 4;
	memcpy(in->allow, c->web_allow, sizeof(in->allow));
	in->n_allow = c->n_web_allow;
	snprintf(in->site, sizeof(in->site), "%s", c->site);
	in->silent_after = NAPSITED_WEB_SILENT_AFTER(c);
	in->refresh = c->web_refresh;
	in->listen = strdup(c->web_listen);
	in->store_uri = strdup(c->store_uri);
	r = -ENOMEM;
	if (in->listen == NULL || in->store_uri == NULL)
		goto fail;
	if (c->web_cert != NULL) {
		if ((r = web_read_pem(c->web_cert, &in->tls_cert, &n, err, len)) < 0 ||
		    (r = web_read_pem(c->web_key, &in->tls_key, &in->tls_key_len, err, len)) < 0 ||
		    (r = nap_tls_pair_check(in->tls_cert, in->tls_key, c->web_cert, c->web_key, "web",
						err, len)) < 0)
			goto fail;
	}
	if (c->web_token_file != NULL) {
		unsigned mode = 0;

		r = nap_read_secret_file(c->web_token_file, WEB_TOKEN_MAX, &in->token, &mode, why,
					 sizeof(why));
		if (r == -EPERM && (mode & 077) != 0) {
			snprintf(err, len,
				 "web: token_file %s: mode %04o lets group or other at it; "
				 "refusing (chmod 600 it)",
				 c->web_token_file, mode);
			goto fail;
		}
		if (r < 0) {
			snprintf(err, len, "web: token_file %s: %s", c->web_token_file, why);
			goto fail;
		}
		in->token_len = strlen(in->token);
	}
	*out = in;
	return 0;
fail:
	web_instance_free(in);
	return r;
}

static bool
web_str_eq(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static bool
web_instance_same(const struct web_instance *a, const struct web_instance *b)
{
	return web_str_eq(a->listen, b->listen) && web_str_eq(a->tls_cert, b->tls_cert) &&
	       web_str_eq(a->tls_key, b->tls_key) && web_str_eq(a->token, b->token) &&
	       web_str_eq(a->store_uri, b->store_uri) && strcmp(a->site, b->site) == 0 &&
	       a->silent_after == b->silent_after && a->refresh == b->refresh &&
	       a->threads == b->threads &&
	       a->n_allow == b->n_allow && memcmp(a->allow, b->allow, sizeof(a->allow)) == 0;
}

static int
web_instance_run(struct web_instance *in, int fd, char *err, size_t len)
{
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ITC |
			 MHD_USE_ERROR_LOG;

	if (in->tls_cert != NULL)
		flags |= MHD_USE_TLS;
	if (in->tls_cert != NULL)
		in->mhd = MHD_start_daemon(
			flags, 0, web_accept, in, web_access, in, MHD_OPTION_EXTERNAL_LOGGER,
			log_library_debug, (void *)"web: libmicrohttpd", MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_THREAD_POOL_SIZE,
			in->threads, MHD_OPTION_HTTPS_MEM_CERT, in->tls_cert,
			MHD_OPTION_HTTPS_MEM_KEY, in->tls_key, MHD_OPTION_HTTPS_PRIORITIES,
			WEB_TLS_PRIORITY, MHD_OPTION_CONNECTION_LIMIT, (unsigned)WEB_CONN_LIMIT,
			MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)WEB_CONN_TIMEOUT, MHD_OPTION_END);
	else
		in->mhd = MHD_start_daemon(
			flags, 0, web_accept, in, web_access, in, MHD_OPTION_EXTERNAL_LOGGER,
			log_library_debug, (void *)"web: libmicrohttpd", MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_THREAD_POOL_SIZE,
			in->threads, MHD_OPTION_CONNECTION_LIMIT, (unsigned)WEB_CONN_LIMIT,
			MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)WEB_CONN_TIMEOUT, MHD_OPTION_END);
	if (in->mhd == NULL) {
		snprintf(err, len, "web: cannot start the HTTP%s server on %s",
			 in->tls_cert != NULL ? "S" : "", in->listen);
		return -EIO;
	}
	return 0;
}

/* Stop accepting, give the requests in progress a moment, then stop. */
static void
web_retire(struct web_instance *old)
{
	MHD_socket fd = MHD_quiesce_daemon(old->mhd);
	struct timespec ts = {0, 20 * 1000000L};

	for (int waited = 0; waited < WEB_DRAIN_MS; waited += 20) {
		const union MHD_DaemonInfo *di =
			MHD_get_daemon_info(old->mhd, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);

		if (di == NULL || di->num_connections == 0)
			break;
		nanosleep(&ts, NULL);
	}
	MHD_stop_daemon(old->mhd);
	old->mhd = NULL;
	/* After MHD_quiesce_daemon the listening socket is ours to close. */
	if (fd != MHD_INVALID_SOCKET)
		close(fd);
	web_instance_free(old);
}

static int
web_apply(struct napsited *sd, char *err, size_t len)
{
	struct napsited_web *w = sd->web;
	struct web_instance *in = NULL, *old = w->cur;
	int r, fd;

	if (!sd->conf->has_web) {
		if (old != NULL) {
			w->cur = NULL;
			web_retire(old);
			log_info("web: listener stopped ([web] removed)");
		}
		return 0;
	}
	if ((r = web_instance_new(sd, &in, err, len)) < 0)
		return r;
	if (old != NULL && web_instance_same(old, in)) {
		web_instance_free(in);
		return 0;
	}
	if (old != NULL && strcmp(old->listen, in->listen) == 0) {
		const union MHD_DaemonInfo *di = MHD_get_daemon_info(old->mhd,
								     MHD_DAEMON_INFO_LISTEN_FD);

		fd = di != NULL ? fcntl(di->listen_fd, F_DUPFD_CLOEXEC, 0) : -1;
		if (fd < 0) {
			r = -errno;
			snprintf(err, len, "web: cannot share the listening socket: %s",
				 strerror(errno));
		}
	} else {
		r = napsited_metrics_listen(in->listen, &fd);
		if (r < 0)
			snprintf(err, len, "web: listen %s: %s", in->listen, strerror(-r));
	}
	if (r >= 0)
		r = web_instance_run(in, fd, err, len);
	if (r < 0) {
		web_instance_free(in);
		return r;
	}
	w->cur = in;
	if (old != NULL)
		web_retire(old);
	log_info("web: %s on %s (%s, %u threads%s)", old != NULL ? "reloaded" : "listening",
		 in->listen, in->tls_cert != NULL ? "https" : "http", in->threads,
		 in->token != NULL ? ", token required" : "");
	return 0;
}

int
napsited_web_start(struct napsited *sd, char *err, size_t len)
{
	int r;

	if (sd->web != NULL)
		return napsited_web_reload(sd, err, len);
	if (!sd->conf->has_web)
		return 0;
	if ((sd->web = calloc(1, sizeof(*sd->web))) == NULL)
		return -ENOMEM;
	r = web_apply(sd, err, len);
	if (r < 0)
		napsited_web_stop(sd);
	return r;
}

int
napsited_web_reload(struct napsited *sd, char *err, size_t len)
{
	if (sd->web == NULL)
		return sd->conf->has_web ? napsited_web_start(sd, err, len) : 0;
	return web_apply(sd, err, len);
}

void
napsited_web_stop(struct napsited *sd)
{
	if (sd->web == NULL)
		return;
	web_instance_free(sd->web->cur);
	free(sd->web);
	sd->web = NULL;
}
