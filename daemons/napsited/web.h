/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * napsited's admin web listener ([web] in napsited.conf): a JSON API under /api/v1/ and a
 * server-rendered dashboard, both over the report queries of include/nap/report.h. What the
 * three files share:
 *   web.c       the listener (libmicrohttpd thread pool, optional TLS, allow networks, bearer or
 *               basic authentication, reload), the route table, query parameters, replies
 *   web_api.c   the JSON handlers
 *   web_html.c  the HTML pages, HTML escaping and the inline SVG chart
 * Every handler runs in one of libmicrohttpd's pool threads with a store connection of its
 * own (checked out of the instance's pool), so a slow report never holds up another request,
 * the main loop or the agent endpoint (which has its own daemon and connection).
 */
#ifndef NAPSITED_WEB_H
#define NAPSITED_WEB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "nap/report.h"
#include "nap/store.h"

#define WEB_PARAMS_MAX 8       /* parameters one route takes */
/* The silence threshold of the reports: napsited.conf [status] silent_after once it exists. */
/* [status] silent_after, else the reports' default */
#define NAPSITED_WEB_SILENT_AFTER(c)                                                               \
	((c)->status_silent_after > 0 ? (c)->status_silent_after : (int64_t)NAP_REPORT_SILENT_DEFAULT)
#define WEB_BODY_MAX   (8 << 20) /* the largest page or document we build */

struct napsited;

/* A growable buffer with a hard maximum (WEB_BODY_MAX): past it, failed is set and it stops. */
struct web_buf {
	char *p;
	size_t len, cap;
	bool failed;
};

void web_buf_put(struct web_buf *b, const char *s, size_t n);
void web_buf_puts(struct web_buf *b, const char *s);
void web_buf_printf(struct web_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* s with & < > " ' as entities and control characters as U+FFFD: safe in text and attributes. */
void web_buf_html(struct web_buf *b, const char *s);
/* s percent-encoded for one path segment or query value (unreserved characters kept). */
void web_buf_url(struct web_buf *b, const char *s);
void web_buf_free(struct web_buf *b);

/* One request as the handlers see it. */
struct web_req {
	struct nap_store *st;
	const char *arg;  /* the NAME or ID of /clients/NAME and the like, decoded; else NULL */
	const char *site; /* the site code */
	int64_t now;
	int64_t silent_after;
	int64_t refresh; /* [web] refresh: seconds after which a page reloads itself, 0: never */
	/* The query parameters the route declared, in its order; NULL when absent or empty. */
	const char *param[WEB_PARAMS_MAX];
	/* The reply: status, body (malloc'ed, taken over), content type. */
	unsigned status;
	char *body;
	size_t len;
	const char *ctype;
	const char *error; /* a 400/404 message, for the log */
};

/* Parameter parsers: 0, or -EINVAL with a message in r->error (static text or r's buffer). */
int web_param_int(struct web_req *r, size_t i, const char *name, int64_t min, int64_t max,
		  int64_t def, int64_t *out);
int web_param_bool(struct web_req *r, size_t i, const char *name, bool *out);
int web_param_time(struct web_req *r, size_t i, const char *name, int64_t def, int64_t *out);
/* One of words (NULL-terminated); *out is its index, def when absent. */
int web_param_word(struct web_req *r, size_t i, const char *name, const char *const *words,
		   int def, int *out);
int web_param_machine(struct web_req *r, size_t i, const char *name, const char **out);
/* Set r->error (copied) and answer status with it. */
int web_fail(struct web_req *r, unsigned status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* The status and message for a report function's error. */
int web_store_fail(struct web_req *r, int rc, const struct nap_store_err *e);

/* Record one query parameter of a route declaring names: 0, or -EINVAL (unknown, repeated or
 * too long) with a message in bad. An empty value is recorded as "". */
int web_param_add(struct web_req *r, const char *const *names, const char *key, const char *value,
		  char *bad, size_t bad_len);
/* The route of url: its parameter names (NULL: no such route), *arg and *api as for a request. */
const char *const *web_route_params(const char *url, const char **arg, bool *api);
/* Does an Authorization header value carry token (Bearer, or Basic with it as password)? */
bool web_token_ok(const char *authorization, const char *token, size_t token_len);

/* The query every client list takes (result, action, silent, prefix, sort, limit, offset):
 * parameters 0..6 of a route that declares web_client_params. */
extern const char *const web_client_params[];
int web_client_query(struct web_req *r, struct nap_report_client_query *q);
extern const char *const web_filter_names[];
extern const char *const web_action_names[];
extern const char *const web_sort_names[];
const char *web_agent_state_name(int state);

/* web_api.c: each fills r->body with JSON (or answers an error through web_fail). */
int web_api_compliance(struct web_req *r);
int web_api_clients(struct web_req *r);
int web_api_client(struct web_req *r);
int web_api_policies(struct web_req *r);
int web_api_policy(struct web_req *r);
int web_api_history(struct web_req *r);
int web_api_feed(struct web_req *r);

/* What the store holds about a policy or check id (kind policy, check or unknown, and its
 * settings); NULL with *rc set (and r's error) when the store fails. */
json_t *web_policy_detail(struct web_req *r, const char *id, int *rc);
/* from, to and step of a history (parameters 0..2); 0 or -EINVAL. */
int web_history_params(struct web_req *r, int64_t *since, int64_t *until, int64_t *bucket);

/* web_html.c: the pages, HTML. */
int web_page_overview(struct web_req *r);
int web_page_clients(struct web_req *r);
int web_page_client(struct web_req *r);
int web_page_policies(struct web_req *r);
int web_page_policy(struct web_req *r);
int web_page_feed(struct web_req *r);
/* An error page for status with message (HTML-escaped). */
void web_page_error(struct web_req *r, unsigned status, const char *message);

/* napsited's interface (napsited.c). Start/reload read sd->conf in the main thread only. */
int napsited_web_start(struct napsited *sd, char *err, size_t len);
int napsited_web_reload(struct napsited *sd, char *err, size_t len);
void napsited_web_stop(struct napsited *sd);

#endif
