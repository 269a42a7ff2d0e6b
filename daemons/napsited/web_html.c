// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * The dashboard of the admin web listener: server-rendered HTML pages over the report queries
 * (include/nap/report.h), one small inline style sheet, an inline SVG chart of compliance over
 * time, no script and no external resource (the listener's Content-Security-Policy forbids them
 * too). Every string that comes from the store or the request goes through web_buf_html() (text
 * and attribute values are always double-quoted) or, inside a URL, web_buf_url(); numbers are
 * printed as numbers. Also here: the growable buffer the pages are built in.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nap/hsr.h"
#include "nap/report.h"
#include "nap/store.h"
#include "nap/util.h"
#include "web.h"

/* ---- the buffer ------------------------------------------------------------------------- */

static bool
web_buf_grow(struct web_buf *b, size_t n)
{
	size_t cap;
	char *p;

	if (b->failed)
		return false;
	if (n < b->cap - b->len && b->p != NULL)
		return true;
	if (n > WEB_BODY_MAX - b->len) {
		b->failed = true;
		return false;
	}
	cap = b->cap == 0 ? 16384 : b->cap;
	while (cap - b->len <= n)
		cap *= 2;
	if (cap > WEB_BODY_MAX + 1)
		cap = WEB_BODY_MAX + 1;
	if ((p = realloc(b->p, cap)) == NULL) {
		b->failed = true;
		return false;
	}
	b->p = p;
	b->cap = cap;
	return true;
}

void
web_buf_put(struct web_buf *b, const char *s, size_t n)
{
	if (!web_buf_grow(b, n))
		return;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void
web_buf_puts(struct web_buf *b, const char *s)
{
	web_buf_put(b, s, strlen(s));
}

void
web_buf_printf(struct web_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || !web_buf_grow(b, (size_t)n))
		return;
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void
web_buf_html(struct web_buf *b, const char *s)
{
	const char *run = s;

	for (; *s != '\0'; s++) {
		unsigned char ch = (unsigned char)*s;
		const char *ent;

		switch (ch) {
		case '&':
			ent = "&amp;";
			break;
		case '<':
			ent = "&lt;";
			break;
		case '>':
			ent = "&gt;";
			break;
		case '"':
			ent = "&quot;";
			break;
		case '\'':
			ent = "&#39;";
			break;
		default:
			ent = ch < 0x20 || ch == 0x7f ? "\xef\xbf\xbd" : NULL;
			break;
		}
		if (ent == NULL)
			continue;
		web_buf_put(b, run, (size_t)(s - run));
		web_buf_puts(b, ent);
		run = s + 1;
	}
	web_buf_put(b, run, (size_t)(s - run));
}

void
web_buf_url(struct web_buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *s != '\0'; s++) {
		unsigned char ch = (unsigned char)*s;

		if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
		    ch == '-' || ch == '.' || ch == '_' || ch == '~') {
			web_buf_put(b, (const char *)&ch, 1);
		} else {
			char e[3] = {'%', hex[ch >> 4], hex[ch & 15]};

			web_buf_put(b, e, 3);
		}
	}
}

void
web_buf_free(struct web_buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

/* ---- page frame ------------------------------------------------------------------------- */

static const char web_css[] =
	"body{font:14px/1.45 system-ui,sans-serif;margin:0;color:#1d232b;background:#f5f6f8}"
	"header{background:#1f3347;color:#fff;padding:.6em 1.2em;display:flex;gap:1.4em;"
	"align-items:baseline;flex-wrap:wrap}"
	"header a{color:#c9d8e8;text-decoration:none}header a.on{color:#fff;font-weight:600}"
	"header .site{font-weight:600;margin-right:1em}"
	"main{padding:.4em 1.2em 1.2em;max-width:1280px}"
	"h1{font-size:1.35em;margin:.6em 0}h2{font-size:1.1em;margin:1.4em 0 .5em}"
	".cards{display:flex;flex-wrap:wrap;gap:.7em}"
	".card{background:#fff;border:1px solid #d8dde4;border-radius:4px;padding:.5em .9em;"
	"min-width:7.5em}.card b{display:block;font-size:1.6em;font-weight:600}"
	".card span{color:#5a6673;font-size:.9em}"
	"table{border-collapse:collapse;background:#fff;margin:.3em 0}"
	"th,td{border:1px solid #d8dde4;padding:.22em .55em;text-align:left;vertical-align:top}"
	"th{background:#e9eef4;font-weight:600}td.n,th.n{text-align:right}"
	".ok{color:#17702c}.bad{color:#b3261e}.warn{color:#9a5b00}.dim{color:#6b7785}"
	"form{margin:.5em 0;display:flex;gap:.6em;flex-wrap:wrap;align-items:center}"
	"dl{display:grid;grid-template-columns:max-content auto;gap:.2em 1em}dt{color:#5a6673}"
	"dd{margin:0}nav.pages{margin:.5em 0;display:flex;gap:1em}"
	"footer{color:#6b7785;padding:.5em 1.2em 1.5em;font-size:.9em}"
	"svg{background:#fff;border:1px solid #d8dde4}svg text{font-size:11px;fill:#5a6673}"
	".c{fill:#3d9a50}.nc{fill:#c8453b}.ax{stroke:#9aa5b1;stroke-width:1}"
	".grid{stroke:#e3e7ec;stroke-width:1}";

enum web_nav { NAV_OVERVIEW, NAV_CLIENTS, NAV_POLICIES, NAV_FEED, NAV_NONE };

static void
page_begin(struct web_buf *b, const struct web_req *r, enum web_nav nav, const char *title)
{
	static const char *const hrefs[] = {"/", "/clients", "/policies", "/feed"};
	static const char *const names[] = {"Overview", "Clients", "Policies", "Status feed"};

	web_buf_puts(b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
			"<meta name=\"viewport\" content=\"width=device-width\">");
	/* a wall display stays current without script: the browser fetches the same URL again
	 * (not an error page: asking again for what was refused gets the same answer) */
	if (r->refresh > 0 && nav != NAV_NONE)
		web_buf_printf(b, "<meta http-equiv=\"refresh\" content=\"%" PRId64 "\">",
			       r->refresh);
	web_buf_puts(b, "<title>");
	web_buf_html(b, title);
	web_buf_puts(b, " \xe2\x80\x94 nap site ");
	web_buf_html(b, r->site);
	web_buf_printf(b, "</title><style>%s</style></head>\n<body><header><span class=\"site\">"
			  "nap site ",
		       web_css);
	web_buf_html(b, r->site);
	web_buf_puts(b, "</span>");
	for (int i = 0; i < 4; i++)
		web_buf_printf(b, "<a href=\"%s\"%s>%s</a>", hrefs[i],
			       (int)nav == i ? " class=\"on\"" : "", names[i]);
	web_buf_puts(b, "</header>\n<main>\n<h1>");
	web_buf_html(b, title);
	web_buf_puts(b, "</h1>\n");
}

static void
time_text(int64_t t, char *out, size_t len)
{
	if (t <= 0)
		snprintf(out, len, "\xe2\x80\x94");
	else
		nap_format_time(t, out, len);
}

static void
put_time(struct web_buf *b, int64_t t)
{
	char s[40];

	time_text(t, s, sizeof(s));
	if (t <= 0) {
		web_buf_puts(b, s);
		return;
	}
	web_buf_printf(b, "<time datetime=\"%s\">%s</time>", s, s);
}

/* "3 min ago" and the like. */
static void
put_ago(struct web_buf *b, int64_t now, int64_t t)
{
	int64_t d = now - t;

	if (t <= 0) {
		web_buf_puts(b, "never");
		return;
	}
	if (d < 0)
		web_buf_puts(b, "in the future");
	else if (d < 120)
		web_buf_printf(b, "%" PRId64 " s ago", d);
	else if (d < 2 * 3600)
		web_buf_printf(b, "%" PRId64 " min ago", d / 60);
	else if (d < 2 * 86400)
		web_buf_printf(b, "%" PRId64 " h ago", d / 3600);
	else
		web_buf_printf(b, "%" PRId64 " days ago", d / 86400);
}

static int
page_end(struct web_req *r, struct web_buf *b)
{
	char now[40];

	time_text(r->now, now, sizeof(now));
	web_buf_printf(b, "</main>\n<footer>Generated %s by napsited.</footer>\n</body></html>\n",
		       now);
	if (b->failed) {
		web_buf_free(b);
		return web_fail(r, 500, "the page is too large");
	}
	r->body = b->p;
	r->len = b->len;
	r->ctype = "text/html; charset=utf-8";
	b->p = NULL;
	return 0;
}

void
web_page_error(struct web_req *r, unsigned status, const char *message)
{
	struct web_buf b = {0};
	char title[32];

	snprintf(title, sizeof(title), "Error %u", status);
	page_begin(&b, r, NAV_NONE, title);
	web_buf_puts(&b, "<p class=\"bad\" id=\"error\">");
	web_buf_html(&b, message);
	web_buf_puts(&b, "</p>\n");
	page_end(r, &b);
	r->status = status;
}

static const char *
result_class(const char *result)
{
	return strcmp(result, "compliant") == 0 ? "ok" : "bad";
}

/* href="/clients/NAME" */
static void
client_link(struct web_buf *b, const char *machine)
{
	web_buf_puts(b, "<a href=\"/clients/");
	web_buf_url(b, machine);
	web_buf_puts(b, "\">");
	web_buf_html(b, machine);
	web_buf_puts(b, "</a>");
}

static void
policy_link(struct web_buf *b, const char *id)
{
	web_buf_puts(b, "<a href=\"/policies/");
	web_buf_url(b, id);
	web_buf_puts(b, "\">");
	web_buf_html(b, id);
	web_buf_puts(b, "</a>");
}

/*
 * A query string of the route's parameters as this request has them, offset replaced by
 * new_offset (names[i] pairs with r->param[i]; the ones named "offset" take new_offset).
 */
static void
put_query(struct web_buf *b, const struct web_req *r, const char *path, const char *const *names,
	  int64_t new_offset)
{
	char sep = '?';

	web_buf_puts(b, path);
	for (size_t i = 0; names[i] != NULL && i < WEB_PARAMS_MAX; i++) {
		if (strcmp(names[i], "offset") == 0) {
			if (new_offset > 0)
				web_buf_printf(b, "%c%s=%" PRId64, sep, "offset", new_offset);
			else
				continue;
		} else if (r->param[i] != NULL) {
			web_buf_printf(b, "%c%s=", sep, names[i]);
			web_buf_url(b, r->param[i]);
		} else {
			continue;
		}
		sep = '&';
	}
}

static void
put_pages(struct web_buf *b, const struct web_req *r, const char *path, const char *const *names,
	  int64_t total, int64_t limit, int64_t offset, size_t shown)
{
	struct web_buf q = {0};

	web_buf_puts(b, "<nav class=\"pages\">");
	if (offset > 0) {
		put_query(&q, r, path, names, offset > limit ? offset - limit : 0);
		web_buf_puts(b, "<a rel=\"prev\" href=\"");
		web_buf_html(b, q.p != NULL ? q.p : path);
		web_buf_puts(b, "\">\xe2\x86\x90 previous</a>");
		web_buf_free(&q);
	}
	if (total < 0 ? shown == (size_t)limit : offset + (int64_t)shown < total) {
		put_query(&q, r, path, names, offset + limit);
		web_buf_puts(b, "<a rel=\"next\" href=\"");
		web_buf_html(b, q.p != NULL ? q.p : path);
		web_buf_puts(b, "\">next \xe2\x86\x92</a>");
		web_buf_free(&q);
	}
	web_buf_puts(b, "</nav>\n");
}

static void
card(struct web_buf *b, const char *id, const char *label, int64_t n, const char *cls)
{
	web_buf_printf(b, "<div class=\"card\"><b id=\"%s\"%s%s%s>%" PRId64 "</b><span>%s</span></div>",
		       id, cls != NULL ? " class=\"" : "", cls != NULL ? cls : "",
		       cls != NULL ? "\"" : "", n, label);
}

static void
counts_table(struct web_buf *b, const char *id, const char *what,
	     const struct nap_report_counts *c, int64_t total)
{
	web_buf_printf(b, "<table id=\"%s\"><tr><th>%s</th><th class=\"n\">Clients</th>"
			  "<th class=\"n\">Share</th></tr>\n",
		       id, what);
	for (size_t i = 0; i < c->n; i++) {
		web_buf_puts(b, "<tr data-key=\"");
		web_buf_html(b, c->v[i].key);
		web_buf_puts(b, "\"><td>");
		web_buf_html(b, c->v[i].key);
		web_buf_printf(b, "</td><td class=\"n\">%" PRId64 "</td><td class=\"n\">%.1f%%</td></tr>\n",
			       c->v[i].n, total > 0 ? 100.0 * (double)c->v[i].n / (double)total : 0.0);
	}
	if (c->n == 0)
		web_buf_puts(b, "<tr><td colspan=\"3\" class=\"dim\">none</td></tr>\n");
	web_buf_puts(b, "</table>\n");
}

/* ---- the chart -------------------------------------------------------------------------- */

#define CH_W     960
#define CH_H     240
#define CH_LEFT  44
#define CH_RIGHT 10
#define CH_TOP   12
#define CH_BOT   40

/*
 * Stacked bars, compliant below noncompliant, one per bucket: the machines whose last verdict
 * in the bucket was compliant or not. Each bucket's numbers are in data attributes and a
 * <title> (a tooltip), so the chart can be read back without measuring pixels.
 */
static void
put_chart(struct web_buf *b, const struct nap_report_history *h)
{
	const double pw = CH_W - CH_LEFT - CH_RIGHT, ph = CH_H - CH_TOP - CH_BOT;
	int64_t max = 1, sum_c = 0, sum_nc = 0;
	double bw;
	char t[40];

	for (size_t i = 0; i < h->n; i++) {
		int64_t v = h->v[i].compliant + h->v[i].noncompliant;

		if (v > max)
			max = v;
		sum_c += h->v[i].compliant;
		sum_nc += h->v[i].noncompliant;
	}
	bw = h->n > 0 ? pw / (double)h->n : pw;
	web_buf_printf(b,
		       "<svg id=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" "
		       "height=\"%d\" viewBox=\"0 0 %d %d\" role=\"img\" data-buckets=\"%zu\" "
		       "data-compliant=\"%" PRId64 "\" data-noncompliant=\"%" PRId64 "\" "
		       "aria-label=\"Compliance over time\">\n",
		       CH_W, CH_H, CH_W, CH_H, h->n, sum_c, sum_nc);
	/* Grid and y labels: 0, half, max. */
	for (int k = 0; k <= 2; k++) {
		double y = CH_TOP + ph - ph * k / 2.0;

		web_buf_printf(b,
			       "<line class=\"grid\" x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\"/>"
			       "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%" PRId64 "</text>\n",
			       CH_LEFT, y, CH_W - CH_RIGHT, y, CH_LEFT - 4, y + 4, max * k / 2);
	}
	for (size_t i = 0; i < h->n; i++) {
		const struct nap_report_point *p = &h->v[i];
		double x = CH_LEFT + bw * (double)i, hc = ph * (double)p->compliant / (double)max;
		double hn = ph * (double)p->noncompliant / (double)max;
		double w = bw > 2 ? bw - 1 : bw;

		time_text(p->start, t, sizeof(t));
		web_buf_printf(b,
			       "<g class=\"bar\" data-start=\"%" PRId64 "\" data-c=\"%" PRId64
			       "\" data-nc=\"%" PRId64 "\"><title>%s: %" PRId64 " compliant, %" PRId64
			       " noncompliant, %" PRId64 " verdicts</title>",
			       p->start, p->compliant, p->noncompliant, t, p->compliant,
			       p->noncompliant, p->messages);
		if (p->compliant > 0)
			web_buf_printf(b,
				       "<rect class=\"c\" x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" "
				       "height=\"%.2f\"/>",
				       x, CH_TOP + ph - hc, w, hc);
		if (p->noncompliant > 0)
			web_buf_printf(b,
				       "<rect class=\"nc\" x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" "
				       "height=\"%.2f\"/>",
				       x, CH_TOP + ph - hc - hn, w, hn);
		web_buf_puts(b, "</g>\n");
	}
	web_buf_printf(b, "<line class=\"ax\" x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\"/>\n",
		       CH_LEFT, CH_TOP + ph, CH_W - CH_RIGHT, CH_TOP + ph);
	/* x labels: the first bucket, the middle one and the last. */
	if (h->n > 0) {
		size_t at[3] = {0, h->n / 2, h->n - 1};

		for (int k = 0; k < 3; k++) {
			if (k > 0 && at[k] == at[k - 1])
				continue;
			/* "2026-11-26T13:00:00Z": the date, or the date and the hour. */
			time_text(h->v[at[k]].start, t, sizeof(t));
			if (strlen(t) >= 16) {
				t[10] = ' ';
				t[h->bucket >= 86400 ? 10 : 16] = '\0';
			}
			web_buf_printf(b, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"%s\">%s</text>\n",
				       CH_LEFT + bw * (double)at[k] + bw / 2, CH_H - CH_BOT + 16,
				       k == 0 ? "start" : k == 1 ? "middle" : "end", t);
		}
	}
	web_buf_printf(b,
		       "<rect class=\"c\" x=\"%d\" y=\"%d\" width=\"10\" height=\"10\"/>"
		       "<text x=\"%d\" y=\"%d\">compliant</text>"
		       "<rect class=\"nc\" x=\"%d\" y=\"%d\" width=\"10\" height=\"10\"/>"
		       "<text x=\"%d\" y=\"%d\">noncompliant</text>\n</svg>\n",
		       CH_LEFT, CH_H - 14, CH_LEFT + 14, CH_H - 5, CH_LEFT + 110, CH_H - 14,
		       CH_LEFT + 124, CH_H - 5);
}

/* ---- pages ------------------------------------------------------------------------------ */

static const char *const range_names[] = {"48h", "14d", "90d", NULL};

int
web_page_overview(struct web_req *r)
{
	struct nap_report_compliance c;
	struct nap_report_history *h = NULL;
	struct nap_report_client_list *sl = NULL;
	struct nap_report_client_query q = {0};
	struct nap_store_err e = {{0}};
	struct web_buf b = {0};
	int range, rc;
	int64_t span, bucket, since;

	if (web_param_word(r, 0, "range", range_names, 1, &range) < 0)
		return -EINVAL;
	span = range == 0 ? 48 * 3600 : range == 1 ? 14 * 86400 : 90 * 86400;
	bucket = range == 0 ? 3600 : 86400;
	if ((rc = nap_report_compliance(r->st, r->now, r->silent_after, &c, &e)) < 0)
		return web_store_fail(r, rc, &e);
	/* span / bucket whole buckets, the last one holding now. */
	since = (r->now / bucket - (span / bucket - 1)) * bucket;
	if ((rc = nap_report_history(r->st, since, r->now + 1, bucket, &h, &e)) < 0)
		return web_store_fail(r, rc, &e);
	q.silent_only = true;
	q.sort = NAP_REPORT_SORT_SILENT;
	q.now = r->now;
	q.silent_after = r->silent_after;
	q.limit = 20;
	if ((rc = nap_report_clients(r->st, &q, &sl, &e)) < 0) {
		nap_report_history_free(h);
		return web_store_fail(r, rc, &e);
	}

	page_begin(&b, r, NAV_OVERVIEW, "Compliance overview");
	web_buf_puts(&b, "<div class=\"cards\">");
	card(&b, "clients", "clients", c.clients, NULL);
	card(&b, "compliant", "compliant", c.compliant, "ok");
	card(&b, "noncompliant", "noncompliant", c.noncompliant, c.noncompliant > 0 ? "bad" : NULL);
	card(&b, "exempt", "exempt", c.exempt, NULL);
	card(&b, "silent", "silent", c.silent, c.silent > 0 ? "warn" : NULL);
	card(&b, "stale", "judged on an old revision", c.stale_revision, NULL);
	card(&b, "messages", "status messages", c.messages, NULL);
	card(&b, "revision", "policy revision", (int64_t)c.revision, NULL);
	web_buf_printf(&b, "</div>\n<p id=\"share\">%.1f%% of %" PRId64
			   " clients compliant; silent means not seen for %" PRId64 " s.</p>\n",
		       c.clients > 0 ? 100.0 * (double)c.compliant / (double)c.clients : 0.0,
		       c.clients, c.silent_after);

	web_buf_puts(&b, "<h2>Compliance over time</h2>\n<p>");
	for (int i = 0; range_names[i] != NULL; i++)
		web_buf_printf(&b, "%s<a href=\"/?range=%s\"%s>%s</a>", i > 0 ? " \xc2\xb7 " : "",
			       range_names[i], i == range ? " class=\"on\"" : "",
			       i == 0 ? "48 hours" : i == 1 ? "14 days" : "90 days");
	web_buf_puts(&b, "</p>\n");
	put_chart(&b, h);

	web_buf_puts(&b, "<h2>By result</h2>\n");
	counts_table(&b, "by-result", "Result", &c.by_result, c.clients);
	web_buf_puts(&b, "<h2>By action</h2>\n");
	counts_table(&b, "by-action", "Action", &c.by_action, c.clients);
	web_buf_puts(&b, "<h2>By enforcement point</h2>\n");
	counts_table(&b, "by-enforcement", "Enforcement", &c.by_enforcement, c.clients);
	web_buf_puts(&b, "<h2>By validation branch</h2>\n");
	counts_table(&b, "by-branch", "Branch", &c.by_branch, c.clients);

	web_buf_puts(&b, "<h2>Agents</h2>\n<div class=\"cards\">");
	card(&b, "agents", "agents reporting", c.agents, NULL);
	card(&b, "agents-compliant", "agents compliant", c.agents_compliant, "ok");
	card(&b, "agents-unrestricted", "unrestricted", c.agents_unrestricted, NULL);
	card(&b, "agents-deferred", "deferred", c.agents_deferred, NULL);
	card(&b, "agents-restricted", "restricted", c.agents_restricted, NULL);
	card(&b, "agents-missing", "missing updates", c.agents_missing, NULL);
	web_buf_puts(&b, "</div>\n");

	web_buf_printf(&b, "<h2>Silent clients</h2>\n<p>%" PRId64 " silent; the longest first. "
			   "<a href=\"/clients?silent=1&amp;sort=silent\">All silent clients</a>"
			   "</p>\n<table id=\"silent-clients\"><tr><th>Machine</th><th>Last seen"
			   "</th><th>Last result</th></tr>\n",
		       sl->total);
	for (size_t i = 0; i < sl->n; i++) {
		web_buf_puts(&b, "<tr><td>");
		client_link(&b, sl->v[i].machine);
		web_buf_puts(&b, "</td><td>");
		put_time(&b, sl->v[i].last_seen);
		web_buf_puts(&b, " (");
		put_ago(&b, r->now, sl->v[i].last_seen);
		web_buf_printf(&b, ")</td><td class=\"%s\">", result_class(sl->v[i].result));
		web_buf_html(&b, sl->v[i].result);
		web_buf_puts(&b, "</td></tr>\n");
	}
	web_buf_puts(&b, "</table>\n");
	nap_report_client_list_free(sl);
	nap_report_history_free(h);
	return page_end(r, &b);
}

static void
select_words(struct web_buf *b, const char *name, const char *label, const char *const *words,
	     const char *any, const char *cur)
{
	web_buf_printf(b, "<label>%s <select name=\"%s\">", label, name);
	if (any != NULL)
		web_buf_printf(b, "<option value=\"\">%s</option>", any);
	for (size_t i = 0; words[i] != NULL; i++)
		web_buf_printf(b, "<option%s>%s</option>",
			       cur != NULL && strcmp(cur, words[i]) == 0 ? " selected" : "",
			       words[i]);
	web_buf_puts(b, "</select></label>\n");
}

/* The table of a client list (clients page, a policy's page). */
static void
clients_table(struct web_buf *b, const struct web_req *r, const struct nap_report_client_list *l)
{
	web_buf_puts(b, "<table id=\"client-table\"><tr><th>Machine</th><th>Result</th>"
			"<th>Branch</th><th>Action</th><th>Enforcement</th><th>Last seen</th>"
			"<th>Agent</th><th>Missing</th></tr>\n");
	for (size_t i = 0; i < l->n; i++) {
		const struct nap_report_client *c = &l->v[i];

		web_buf_puts(b, "<tr data-machine=\"");
		web_buf_html(b, c->machine);
		web_buf_printf(b, "\" data-result=\"%s\"><td>", c->compliant ? "compliant"
										 : "noncompliant");
		client_link(b, c->machine);
		web_buf_printf(b, "</td><td class=\"%s\">", result_class(c->result));
		web_buf_html(b, c->result);
		web_buf_puts(b, "</td><td>");
		web_buf_html(b, c->branch);
		if (c->exemption[0] != '\0') {
			web_buf_puts(b, " (");
			web_buf_html(b, c->exemption);
			web_buf_puts(b, ")");
		}
		web_buf_puts(b, "</td><td>");
		web_buf_html(b, c->action);
		web_buf_puts(b, "</td><td>");
		web_buf_html(b, c->enforcement);
		web_buf_printf(b, "</td><td%s>", c->silent ? " class=\"warn\"" : "");
		put_ago(b, r->now, c->last_seen);
		if (c->silent)
			web_buf_puts(b, " (silent)");
		web_buf_puts(b, "</td><td>");
		if (c->has_agent)
			web_buf_printf(b, "%s, rev %" PRIu64, web_agent_state_name(c->agent_state),
				       c->agent_revision);
		else
			web_buf_puts(b, "<span class=\"dim\">none</span>");
		web_buf_puts(b, "</td><td>");
		for (size_t k = 0; k < c->n_missing; k++) {
			if (k > 0)
				web_buf_puts(b, ", ");
			policy_link(b, c->missing[k]);
		}
		web_buf_puts(b, "</td></tr>\n");
	}
	if (l->n == 0)
		web_buf_puts(b, "<tr><td colspan=\"8\" class=\"dim\">no clients</td></tr>\n");
	web_buf_puts(b, "</table>\n");
}

static void
client_filter_form(struct web_buf *b, const struct web_req *r, const char *path)
{
	web_buf_puts(b, "<form method=\"get\" action=\"");
	web_buf_html(b, path);
	web_buf_puts(b, "\">\n");
	select_words(b, "result", "Result", web_filter_names + 1, "any", r->param[0]);
	select_words(b, "action", "Action", web_action_names, "any", r->param[1]);
	web_buf_printf(b, "<label><input type=\"checkbox\" name=\"silent\" value=\"1\"%s> silent "
			  "only</label>\n",
		       r->param[2] != NULL && strcmp(r->param[2], "1") == 0 ? " checked" : "");
	web_buf_puts(b, "<label>Name starts with <input name=\"prefix\" size=\"16\" value=\"");
	web_buf_html(b, r->param[3] != NULL ? r->param[3] : "");
	web_buf_puts(b, "\"></label>\n");
	select_words(b, "sort", "Sort", web_sort_names, NULL, r->param[4]);
	web_buf_puts(b, "<button type=\"submit\">Show</button></form>\n");
}

int
web_page_clients(struct web_req *r)
{
	struct nap_report_client_query q;
	struct nap_report_client_list *l = NULL;
	struct nap_store_err e = {{0}};
	struct web_buf b = {0};
	int rc;

	if (web_client_query(r, &q) < 0)
		return -EINVAL;
	if ((rc = nap_report_clients(r->st, &q, &l, &e)) < 0)
		return web_store_fail(r, rc, &e);
	page_begin(&b, r, NAV_CLIENTS, "Clients");
	client_filter_form(&b, r, "/clients");
	web_buf_printf(&b, "<p><span id=\"total\">%" PRId64 "</span> clients match",
		       l->total);
	if (l->n > 0)
		web_buf_printf(&b, "; showing %" PRId64 "\xe2\x80\x93%" PRId64, q.offset + 1,
			       q.offset + (int64_t)l->n);
	web_buf_puts(&b, ".</p>\n");
	clients_table(&b, r, l);
	put_pages(&b, r, "/clients", web_client_params, l->total, q.limit, q.offset, l->n);
	nap_report_client_list_free(l);
	return page_end(r, &b);
}

static void
dl_row(struct web_buf *b, const char *id, const char *label, const char *value, const char *cls)
{
	web_buf_printf(b, "<dt>%s</dt><dd id=\"%s\"%s%s%s>", label, id, cls != NULL ? " class=\"" : "",
		       cls != NULL ? cls : "", cls != NULL ? "\"" : "");
	web_buf_html(b, value);
	web_buf_puts(b, "</dd>\n");
}

int
web_page_client(struct web_req *r)
{
	struct nap_report_explain *x;
	struct nap_store_err e = {{0}};
	struct web_buf b = {0};
	char title[NAP_REPORT_NAME_MAX + 16], num[64];
	const struct nap_report_client *c;
	int rc;

	if (!nap_report_machine_valid(r->arg))
		return web_fail(r, 400, "machine name: 1-%d printable characters without blanks",
				NAP_REPORT_NAME_MAX);
	if ((x = calloc(1, sizeof(*x))) == NULL)
		return web_fail(r, 500, "out of memory");
	rc = nap_report_explain(r->st, r->arg, r->now, r->silent_after, x, &e);
	if (rc < 0) {
		free(x);
		if (rc == -ENOENT)
			return web_fail(r, 404, "no such client");
		return web_store_fail(r, rc, &e);
	}
	c = &x->c;
	snprintf(title, sizeof(title), "Client %s", c->machine);
	page_begin(&b, r, NAV_CLIENTS, title);
	web_buf_puts(&b, "<dl>\n");
	if (x->has_verdict) {
		dl_row(&b, "result", "Result", c->result, result_class(c->result));
		web_buf_puts(&b, "<dt>Branch</dt><dd id=\"branch\">");
		web_buf_html(&b, c->branch);
		if (x->meaning != NULL) {
			web_buf_puts(&b, " \xe2\x80\x94 ");
			web_buf_html(&b, x->meaning);
		}
		web_buf_puts(&b, "</dd>\n");
		if (c->exemption[0] != '\0')
			dl_row(&b, "exemption", "Exemption", c->exemption, NULL);
		dl_row(&b, "action", "Action", c->action, NULL);
		dl_row(&b, "enforcement", "Enforcement", c->enforcement, NULL);
		dl_row(&b, "nas", "Enforcement point (NAS)", c->nas, NULL);
		dl_row(&b, "napvd", "napvd", c->napvd, NULL);
		snprintf(num, sizeof(num), "%" PRIu64 " (the store is at %" PRIu64 "%s)",
			 c->hsr_revision, x->revision, x->revision_current ? "" : ": out of date");
		dl_row(&b, "revision", "Judged against revision", num,
		       x->revision_current ? NULL : "warn");
		web_buf_puts(&b, "<dt>Last verdict</dt><dd id=\"time\">");
		put_time(&b, c->time);
		web_buf_puts(&b, "</dd>\n<dt>First seen</dt><dd>");
		put_time(&b, c->first_seen);
		web_buf_printf(&b, "</dd>\n<dt>Verdicts stored</dt><dd id=\"messages\">%" PRId64
				   "</dd>\n",
			       c->messages);
	} else {
		web_buf_puts(&b, "<dt>Result</dt><dd id=\"result\" class=\"dim\">no verdict from "
				 "napvd yet (only its agent reported)</dd>\n");
	}
	web_buf_printf(&b, "<dt>Last seen</dt><dd id=\"last-seen\"%s>",
		       c->silent ? " class=\"warn\"" : "");
	put_time(&b, c->last_seen);
	web_buf_puts(&b, " (");
	put_ago(&b, r->now, c->last_seen);
	web_buf_printf(&b, ")%s</dd>\n", c->silent ? ", silent" : "");
	if (c->has_agent) {
		snprintf(num, sizeof(num), "%s, %s, revision %" PRIu64,
			 web_agent_state_name(c->agent_state),
			 c->agent_compliant ? "compliant" : "noncompliant", c->agent_revision);
		dl_row(&b, "agent", "Agent", num, NULL);
		web_buf_puts(&b, "<dt>Agent evaluated</dt><dd>");
		put_time(&b, c->agent_evaluated);
		web_buf_puts(&b, "</dd>\n");
		if (x->agent_failure[0] != '\0')
			dl_row(&b, "agent-failure", "Agent failure", x->agent_failure, "bad");
	} else {
		web_buf_puts(&b, "<dt>Agent</dt><dd id=\"agent\" class=\"dim\">no agent "
				 "reports</dd>\n");
	}
	web_buf_puts(&b, "</dl>\n<h2>What would fix it</h2>\n<ol id=\"fixes\">\n");
	for (size_t i = 0; i < x->n_fixes; i++) {
		web_buf_puts(&b, "<li>");
		web_buf_html(&b, x->fixes[i]);
		web_buf_puts(&b, "</li>\n");
	}
	if (x->n_fixes == 0)
		web_buf_puts(&b, "<li class=\"dim\">nothing to fix</li>\n");
	web_buf_printf(&b, "</ol>\n<h2>Missing (%zu)</h2>\n<table id=\"missing\"><tr><th>Id</th>"
			   "<th>Kind</th><th>Severity</th><th>Effective</th><th>Requires</th>"
			   "</tr>\n",
		       x->n_missing);
	for (size_t i = 0; i < x->n_missing; i++) {
		const struct nap_report_missing *m = &x->missing[i];

		web_buf_puts(&b, "<tr><td>");
		policy_link(&b, m->id);
		web_buf_puts(&b, "</td><td>");
		web_buf_html(&b, m->kind);
		if (m->check_type[0] != '\0') {
			web_buf_puts(&b, " (");
			web_buf_html(&b, m->check_type);
			web_buf_puts(&b, ")");
		}
		web_buf_puts(&b, "</td><td>");
		web_buf_html(&b, m->severity);
		web_buf_puts(&b, "</td><td>");
		if (m->effective > 0)
			put_time(&b, m->effective);
		else
			web_buf_puts(&b, "at once");
		if (!m->in_force)
			web_buf_puts(&b, " (not yet in force)");
		web_buf_puts(&b, "</td><td>");
		for (size_t k = 0; k < m->n_reqs; k++) {
			if (k > 0)
				web_buf_puts(&b, "<br>");
			web_buf_html(&b, m->reqs[k].package);
			web_buf_puts(&b, " \xe2\x89\xa5 ");
			web_buf_html(&b, m->reqs[k].min_version);
			web_buf_puts(&b, " <span class=\"dim\">(");
			web_buf_html(&b, m->reqs[k].scheme);
			web_buf_puts(&b, ")</span>");
		}
		if (m->n_reqs_total > m->n_reqs)
			web_buf_printf(&b, "<br>and %zu more", m->n_reqs_total - m->n_reqs);
		web_buf_puts(&b, "</td></tr>\n");
	}
	web_buf_puts(&b, "</table>\n");
	if (x->n_failed_checks > 0) {
		web_buf_puts(&b, "<h2>Failed checks</h2>\n<ul id=\"failed-checks\">");
		for (size_t i = 0; i < x->n_failed_checks; i++) {
			web_buf_puts(&b, "<li>");
			policy_link(&b, x->failed_checks[i]);
			web_buf_puts(&b, ": ");
			web_buf_html(&b, x->failed_status[i]);
			web_buf_puts(&b, "</li>");
		}
		web_buf_puts(&b, "</ul>\n");
	}
	web_buf_puts(&b, "<h2>Recent verdicts</h2>\n<table id=\"recent\"><tr><th>Time</th>"
			 "<th>Result</th><th>Branch</th><th>Action</th><th>NAS</th><th>Revision"
			 "</th><th>Id</th></tr>\n");
	for (size_t i = 0; i < x->n_recent; i++) {
		const struct nap_report_msg *m = &x->recent[i];

		web_buf_puts(&b, "<tr><td>");
		put_time(&b, m->time);
		web_buf_printf(&b, "</td><td class=\"%s\">", result_class(m->result));
		web_buf_html(&b, m->result);
		web_buf_puts(&b, "</td><td>");
		web_buf_html(&b, m->branch);
		web_buf_puts(&b, "</td><td>");
		web_buf_html(&b, m->action);
		web_buf_puts(&b, "</td><td>");
		web_buf_html(&b, m->nas);
		web_buf_printf(&b, "</td><td class=\"n\">%" PRIu64 "</td><td class=\"dim\">",
			       m->hsr_revision);
		web_buf_html(&b, m->id);
		web_buf_puts(&b, "</td></tr>\n");
	}
	web_buf_puts(&b, "</table>\n<p><a href=\"/feed?machine=");
	web_buf_url(&b, c->machine);
	web_buf_puts(&b, "\">All its status messages</a></p>\n");
	free(x);
	return page_end(r, &b);
}

int
web_page_policies(struct web_req *r)
{
	struct nap_report_policy_list *l = NULL;
	struct nap_store_err e = {{0}};
	struct web_buf b = {0};
	int64_t limit, offset;
	int rc;

	if (web_param_int(r, 0, "limit", 1, NAP_REPORT_LIMIT_MAX, NAP_REPORT_LIMIT_DEFAULT,
			  &limit) < 0 ||
	    web_param_int(r, 1, "offset", 0, NAP_REPORT_OFFSET_MAX, 0, &offset) < 0)
		return -EINVAL;
	if ((rc = nap_report_policies(r->st, limit, offset, &l, &e)) < 0)
		return web_store_fail(r, rc, &e);
	page_begin(&b, r, NAV_POLICIES, "Policies");
	web_buf_printf(&b, "<p><span id=\"total\">%" PRId64 "</span> policies and checks; "
			   "<span id=\"agents\">%" PRId64 "</span> agents report their state.</p>\n"
			   "<table id=\"policy-table\"><tr><th>Id</th><th>Kind</th><th>Severity</th>"
			   "<th>Effective</th><th class=\"n\">Agents missing it</th>"
			   "<th class=\"n\">Share</th></tr>\n",
		       l->total, l->agents);
	for (size_t i = 0; i < l->n; i++) {
		const struct nap_report_policy *p = &l->v[i];

		web_buf_puts(&b, "<tr data-id=\"");
		web_buf_html(&b, p->id);
		web_buf_printf(&b, "\" data-missing=\"%" PRId64 "\"><td>", p->missing);
		policy_link(&b, p->id);
		web_buf_puts(&b, "</td><td>");
		web_buf_html(&b, p->kind);
		web_buf_puts(&b, "</td><td>");
		web_buf_html(&b, p->severity);
		web_buf_puts(&b, "</td><td>");
		if (p->effective > 0)
			put_time(&b, p->effective);
		else
			web_buf_puts(&b, "at once");
		web_buf_printf(&b,
			       "</td><td class=\"n%s\">%" PRId64 "</td><td class=\"n\">%.1f%%</td>"
			       "</tr>\n",
			       p->missing > 0 ? " bad" : "", p->missing,
			       l->agents > 0 ? 100.0 * (double)p->missing / (double)l->agents : 0.0);
	}
	if (l->n == 0)
		web_buf_puts(&b, "<tr><td colspan=\"6\" class=\"dim\">none</td></tr>\n");
	web_buf_puts(&b, "</table>\n");
	{
		static const char *const names[] = {"limit", "offset", NULL};

		put_pages(&b, r, "/policies", names, l->total, limit, offset, l->n);
	}
	nap_report_policy_list_free(l);
	return page_end(r, &b);
}

int
web_page_policy(struct web_req *r)
{
	struct nap_report_client_query q;
	struct nap_report_client_list *l = NULL;
	struct nap_store_err e = {{0}};
	struct web_buf b = {0}, path = {0};
	char title[NAP_POLICY_ID_MAX + 16];
	json_t *d, *reqs;
	const char *kind;
	int rc;

	if (!nap_policy_id_valid(r->arg))
		return web_fail(r, 400, "policy id: 1-%d characters of [A-Za-z0-9._:+~-]",
				NAP_POLICY_ID_MAX);
	if (web_client_query(r, &q) < 0)
		return -EINVAL;
	if ((d = web_policy_detail(r, r->arg, &rc)) == NULL)
		return rc;
	if ((rc = nap_report_policy_clients(r->st, r->arg, &q, &l, &e)) < 0) {
		json_decref(d);
		return web_store_fail(r, rc, &e);
	}
	kind = json_string_value(json_object_get(d, "kind"));
	if (strcmp(kind, "unknown") == 0 && l->total == 0) {
		json_decref(d);
		nap_report_client_list_free(l);
		return web_fail(r, 404, "no such policy or check, and no agent reports it missing");
	}
	snprintf(title, sizeof(title), "%s %s", strcmp(kind, "check") == 0 ? "Check" : "Policy",
		 r->arg);
	page_begin(&b, r, NAV_POLICIES, title);
	web_buf_puts(&b, "<dl>\n");
	dl_row(&b, "kind", "Kind",
	       strcmp(kind, "unknown") == 0 ? "not in the store (agents still report it)" : kind,
	       NULL);
	if (json_object_get(d, "type") != NULL)
		dl_row(&b, "type", "Check type", json_string_value(json_object_get(d, "type")),
		       NULL);
	if (json_is_string(json_object_get(d, "severity")))
		dl_row(&b, "severity", "Severity",
		       json_string_value(json_object_get(d, "severity")), NULL);
	if (json_is_integer(json_object_get(d, "effective"))) {
		int64_t eff = json_integer_value(json_object_get(d, "effective"));

		web_buf_puts(&b, "<dt>Effective</dt><dd>");
		if (eff > 0)
			put_time(&b, eff);
		else
			web_buf_puts(&b, "at once");
		web_buf_puts(&b, "</dd>\n");
	}
	if (json_is_string(json_object_get(d, "reason")))
		dl_row(&b, "reason", "Reason", json_string_value(json_object_get(d, "reason")),
		       NULL);
	reqs = json_object_get(d, "requirements");
	if (json_array_size(reqs) > 0) {
		web_buf_puts(&b, "<dt>Requires</dt><dd id=\"requires\">");
		for (size_t i = 0; i < json_array_size(reqs); i++) {
			json_t *q1 = json_array_get(reqs, i);

			if (i > 0)
				web_buf_puts(&b, "<br>");
			web_buf_html(&b, json_string_value(json_object_get(q1, "package")));
			web_buf_puts(&b, " \xe2\x89\xa5 ");
			web_buf_html(&b, json_string_value(json_object_get(q1, "min_version")));
			web_buf_puts(&b, " <span class=\"dim\">(");
			web_buf_html(&b, json_string_value(json_object_get(q1, "scheme")));
			web_buf_puts(&b, ")</span>");
		}
		web_buf_puts(&b, "</dd>\n");
	}
	web_buf_printf(&b, "<dt>Agents missing it</dt><dd id=\"missing-count\">%" PRId64
			   "</dd>\n</dl>\n<h2>Clients missing it</h2>\n",
		       l->total);
	web_buf_puts(&path, "/policies/");
	web_buf_url(&path, r->arg);
	client_filter_form(&b, r, path.p != NULL ? path.p : "/policies");
	clients_table(&b, r, l);
	put_pages(&b, r, path.p != NULL ? path.p : "/policies", web_client_params, l->total,
		  q.limit, q.offset, l->n);
	web_buf_free(&path);
	json_decref(d);
	nap_report_client_list_free(l);
	return page_end(r, &b);
}

int
web_page_feed(struct web_req *r)
{
	static const char *const names[] = {"limit", "offset", "machine", NULL};
	struct nap_report_feed *f = NULL;
	struct nap_store_err e = {{0}};
	struct web_buf b = {0};
	int64_t limit, offset;
	const char *machine;
	int rc;

	if (web_param_int(r, 0, "limit", 1, NAP_REPORT_LIMIT_MAX, NAP_REPORT_LIMIT_DEFAULT,
			  &limit) < 0 ||
	    web_param_int(r, 1, "offset", 0, NAP_REPORT_OFFSET_MAX, 0, &offset) < 0 ||
	    web_param_machine(r, 2, "machine", &machine) < 0)
		return -EINVAL;
	if ((rc = nap_report_feed(r->st, machine, limit, offset, &f, &e)) < 0)
		return web_store_fail(r, rc, &e);
	page_begin(&b, r, NAV_FEED, "Status feed");
	web_buf_puts(&b, "<form method=\"get\" action=\"/feed\"><label>Machine <input "
			 "name=\"machine\" size=\"20\" value=\"");
	web_buf_html(&b, machine != NULL ? machine : "");
	web_buf_printf(&b, "\"></label><button type=\"submit\">Show</button></form>\n"
			   "<p>The newest status messages first: <span id=\"shown\">%zu</span> "
			   "shown.</p>\n<table id=\"feed\"><tr><th>Time</th><th>Machine</th>"
			   "<th>Result</th><th>Branch</th><th>Action</th><th>Enforcement</th>"
			   "<th>NAS</th><th>napvd</th><th class=\"n\">Revision</th><th>Id</th></tr>\n",
		       f->n);
	for (size_t i = 0; i < f->n; i++) {
		const struct nap_report_msg *m = &f->v[i];

		web_buf_puts(&b, "<tr data-id=\"");
		web_buf_html(&b, m->id);
		web_buf_puts(&b, "\"><td>");
		put_time(&b, m->time);
		web_buf_puts(&b, "</td><td>");
		client_link(&b, m->machine);
		web_buf_printf(&b, "</td><td class=\"%s\">", result_class(m->result));
		web_buf_html(&b, m->result);
		web_buf_puts(&b, "</td><td>");
		web_buf_html(&b, m->branch);
		web_buf_puts(&b, "</td><td>");
		web_buf_html(&b, m->action);
		web_buf_puts(&b, "</td><td>");
		web_buf_html(&b, m->enforcement);
		web_buf_puts(&b, "</td><td>");
		web_buf_html(&b, m->nas);
		web_buf_puts(&b, "</td><td>");
		web_buf_html(&b, m->napvd);
		web_buf_printf(&b, "</td><td class=\"n\">%" PRIu64 "</td><td class=\"dim\">",
			       m->hsr_revision);
		web_buf_html(&b, m->id);
		web_buf_puts(&b, "</td></tr>\n");
	}
	if (f->n == 0)
		web_buf_puts(&b, "<tr><td colspan=\"10\" class=\"dim\">no messages</td></tr>\n");
	web_buf_puts(&b, "</table>\n");
	put_pages(&b, r, "/feed", names, -1, limit, offset, f->n);
	nap_report_feed_free(f);
	return page_end(r, &b);
}
