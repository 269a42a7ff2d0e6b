// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * Fuzz napsited's web listener request layer (daemons/napsited/web.c, web_html.c) without a
 * server or a store: the route of a path, the Authorization header against a token, the query
 * parameters a route declares (unknown, repeated, too long), every parameter parser, and the
 * HTML and URL escaping of whatever came in. Input: line 1 the path, line 2 the Authorization
 * value, then "key=value" lines (already decoded, as libmicrohttpd hands them over). Invariants:
 * escaped HTML holds none of < > " ' or control characters; an escaped URL component holds only
 * unreserved characters and %XX and decodes back to the input.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "web.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_html(const char *s)
{
	struct web_buf b = {0};

	web_buf_html(&b, s);
	for (size_t i = 0; i < b.len; i++) {
		unsigned char ch = (unsigned char)b.p[i];

		assert(ch != '<' && ch != '>' && ch != '"' && ch != '\'');
		assert(ch >= 0x20 && ch != 0x7f);
	}
	web_buf_free(&b);
}

static int
hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

static void
check_url(const char *s)
{
	struct web_buf b = {0};
	size_t o = 0;

	web_buf_url(&b, s);
	for (size_t i = 0; i < b.len; i++) {
		char c = b.p[i];

		if (c == '%') {
			assert(i + 2 < b.len + 1 && hexval(b.p[i + 1]) >= 0 && hexval(b.p[i + 2]) >= 0);
			assert((char)(hexval(b.p[i + 1]) * 16 + hexval(b.p[i + 2])) == s[o]);
			i += 2;
		} else {
			assert(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~",
				      c) != NULL);
			assert(c == s[o]);
		}
		o++;
	}
	assert(s[o] == '\0');
	web_buf_free(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct web_req r = {0};
	struct nap_report_client_query q;
	const char *const *names;
	const char *arg = NULL, *m;
	char *buf, *line, *save = NULL, *url, *auth, bad[128];
	int64_t a, b, c;
	bool api = false, v;
	int w;

	if (size > 8192)
		return 0;
	buf = malloc(size + 1);
	if (buf == NULL)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	url = strtok_r(buf, "\n", &save);
	auth = url != NULL ? strtok_r(NULL, "\n", &save) : NULL;
	if (url == NULL)
		goto out;
	r.now = 1790000000;
	r.silent_after = 1800;
	r.site = "S01";
	(void)web_token_ok(auth, "s3cret-token", 12);
	check_html(url);
	check_url(url);
	names = web_route_params(url, &arg, &api);
	if (names == NULL)
		goto out;
	if (arg != NULL) {
		check_html(arg);
		(void)nap_report_machine_valid(arg);
	}
	while ((line = strtok_r(NULL, "\n", &save)) != NULL) {
		char *eq = strchr(line, '=');

		if (eq != NULL)
			*eq++ = '\0';
		if (web_param_add(&r, names, line, eq, bad, sizeof(bad)) < 0) {
			check_html(bad);
			goto out;
		}
		if (eq != NULL) {
			check_html(eq);
			check_url(eq);
		}
	}
	for (size_t i = 0; i < WEB_PARAMS_MAX; i++)
		if (r.param[i] != NULL && *r.param[i] == '\0')
			r.param[i] = NULL;
	if (names == web_client_params) {
		if (web_client_query(&r, &q) == 0)
			assert(q.limit >= 1 && q.limit <= NAP_REPORT_LIMIT_MAX && q.offset >= 0);
	} else if (names[0] != NULL && strcmp(names[0], "from") == 0) {
		if (web_history_params(&r, &a, &b, &c) == 0)
			assert(a < b && (c == 3600 || c == 86400) &&
			       (b - a) / c < NAP_REPORT_BUCKETS_MAX);
	} else {
		for (size_t i = 0; names[i] != NULL; i++) {
			if (strcmp(names[i], "limit") == 0 || strcmp(names[i], "offset") == 0)
				(void)web_param_int(&r, i, names[i], 0, NAP_REPORT_OFFSET_MAX, 0, &a);
			else if (strcmp(names[i], "machine") == 0)
				(void)web_param_machine(&r, i, names[i], &m);
			else if (strcmp(names[i], "range") == 0)
				(void)web_param_word(&r, i, names[i], web_sort_names, 0, &w);
			else
				(void)web_param_bool(&r, i, names[i], &v);
		}
	}
	if (r.error != NULL)
		check_html(r.error);
out:
	free(buf);
	return 0;
}
