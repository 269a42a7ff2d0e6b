// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * napvd's counters in the Prometheus text format, served at http://<metrics>/metrics by a tiny
 * non-blocking HTTP/1.0 responder in the same epoll loop. Handles untrusted input (HTTP
 * requests from whoever can reach the metrics address).
 *
 * Why not libmicrohttpd: napvd is one thread by design (no locks around the counters, which the
 * request path bumps without atomics), and the only thing served is one GET on a local port. The
 * responder below reads at most one bounded request per connection, answers, and closes; a
 * bounded number of connections and a deadline keep a slow or hostile peer from holding it.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "nap/log.h"
#include "nap/util.h"
#include "napvd.h"

#define NAPVD_HTTP_MAX_CONN   16
#define NAPVD_HTTP_REQ_MAX    2048
#define NAPVD_HTTP_DEADLINE   5000 /* ms */
#define NAPVD_METRICS_MAX_LEN (1024 * 1024)

const double napvd_lat_bounds[NAPVD_LAT_BUCKETS] = {
	0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.1, 1.0,
};

static const char *const napvd_drop_names[NAPVD_DROP_COUNT] = {
	[NAPVD_DROP_UNKNOWN_CLIENT] = "unknown_client",
	[NAPVD_DROP_MALFORMED] = "malformed",
	[NAPVD_DROP_NO_MSG_AUTH] = "no_message_authenticator",
	[NAPVD_DROP_BAD_AUTH] = "bad_authenticator",
	[NAPVD_DROP_UNSUPPORTED_CODE] = "unsupported_code",
	[NAPVD_DROP_INTERNAL] = "internal_error",
};

static const char *const napvd_refresh_names[NAPVD_REFRESH_COUNT] = {
	[NAPVD_REFRESH_OK] = "ok",
	[NAPVD_REFRESH_UNCHANGED] = "unchanged",
	[NAPVD_REFRESH_ERROR] = "error",
};

const char *
napvd_drop_name(enum napvd_drop d)
{
	return (unsigned)d < NAPVD_DROP_COUNT ? napvd_drop_names[d] : "?";
}

void
napvd_metrics_observe_latency(struct napvd_metrics *m, double seconds)
{
	for (size_t i = 0; i < NAPVD_LAT_BUCKETS; i++) {
		if (seconds <= napvd_lat_bounds[i]) {
			m->lat_buckets[i]++;
			break;
		}
	}
	m->lat_count++;
	m->lat_sum += seconds;
}

/* ---- rendering ---- */

struct napvd_buf {
	char *p;
	size_t len, cap;
	bool error;
};

__attribute__((format(printf, 2, 3))) static void
napvd_buf_printf(struct napvd_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->error)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->error = true;
			return;
		}
		if ((size_t)n < b->cap - b->len) {
			b->len += (size_t)n;
			return;
		}
		if (b->cap * 2 > NAPVD_METRICS_MAX_LEN) {
			b->error = true;
			return;
		}
		char *np = realloc(b->p, b->cap * 2);

		if (np == NULL) {
			b->error = true;
			return;
		}
		b->p = np;
		b->cap *= 2;
	}
}

static void
napvd_help(struct napvd_buf *b, const char *name, const char *type, const char *help)
{
	napvd_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

long
napvd_metrics_render(const struct napvd *d, char **out)
{
	const struct napvd_metrics *m = &d->m;
	struct napvd_hsr_stats hs;
	struct napvd_buf b = {.cap = 16384};
	uint64_t cum = 0, other = 0;
	int64_t now = napvd_real_s(&d->clock);

	*out = NULL;
	b.p = malloc(b.cap);
	if (b.p == NULL)
		return -ENOMEM;

	napvd_help(&b, "napvd_requests_total", "counter", "RADIUS packets received, by code");
	for (size_t c = 0; c < 256; c++) {
		const char *name = nap_radius_code_name((uint8_t)c);

		if (strcmp(name, "Unknown") == 0)
			other += m->requests[c];
		else if (m->requests[c] != 0 || c == NAP_RADIUS_ACCESS_REQUEST ||
			 c == NAP_RADIUS_STATUS_SERVER)
			napvd_buf_printf(&b, "napvd_requests_total{code=\"%s\"} %" PRIu64 "\n", name,
					 m->requests[c]);
	}
	napvd_buf_printf(&b, "napvd_requests_total{code=\"other\"} %" PRIu64 "\n", other);
	napvd_help(&b, "napvd_verdicts_total", "counter", "Validation results before mapping");
	for (size_t i = 0; i < NAP_RESULT_COUNT; i++)
		napvd_buf_printf(&b, "napvd_verdicts_total{result=\"%s\"} %" PRIu64 "\n",
				 nap_result_name((enum nap_result)i), m->verdicts[i]);
	napvd_help(&b, "napvd_branch_total", "counter", "Decisions by the branch that decided");
	for (size_t i = 0; i < NAP_BRANCH_COUNT; i++)
		napvd_buf_printf(&b, "napvd_branch_total{branch=\"%s\"} %" PRIu64 "\n",
				 nap_branch_name((enum nap_branch)i), m->branches[i]);
	napvd_help(&b, "napvd_actions_total", "counter", "Actions by enforcement point");
	for (size_t a = 0; a < NAP_ACTION_COUNT; a++)
		for (size_t ep = 0; ep < NAP_EP_COUNT; ep++)
			napvd_buf_printf(&b,
					 "napvd_actions_total{action=\"%s\",enforcement=\"%s\"} "
					 "%" PRIu64 "\n",
					 nap_action_name((enum nap_action)a),
					 nap_enforcement_name((enum nap_enforcement)ep),
					 m->actions[a][ep]);
	napvd_help(&b, "napvd_drops_total", "counter", "Datagrams dropped without an answer");
	for (size_t i = 0; i < NAPVD_DROP_COUNT; i++)
		napvd_buf_printf(&b, "napvd_drops_total{reason=\"%s\"} %" PRIu64 "\n",
				 napvd_drop_names[i], m->drops[i]);
	napvd_help(&b, "napvd_duplicates_total", "counter",
		   "Retransmissions answered from the duplicate cache");
	napvd_buf_printf(&b, "napvd_duplicates_total %" PRIu64 "\n", m->duplicates);
	napvd_help(&b, "napvd_malformed_soh_total", "counter",
		   "Authenticated requests whose SoH did not decode");
	napvd_buf_printf(&b, "napvd_malformed_soh_total %" PRIu64 "\n", m->malformed_soh);

	napvd_help(&b, "napvd_request_duration_seconds", "histogram",
		   "Time from receipt to reply built, per request");
	for (size_t i = 0; i < NAPVD_LAT_BUCKETS; i++) {
		cum += m->lat_buckets[i];
		napvd_buf_printf(&b, "napvd_request_duration_seconds_bucket{le=\"%g\"} %" PRIu64 "\n",
				 napvd_lat_bounds[i], cum);
	}
	napvd_buf_printf(&b, "napvd_request_duration_seconds_bucket{le=\"+Inf\"} %" PRIu64 "\n",
			 m->lat_count);
	napvd_buf_printf(&b, "napvd_request_duration_seconds_sum %.9f\n", m->lat_sum);
	napvd_buf_printf(&b, "napvd_request_duration_seconds_count %" PRIu64 "\n", m->lat_count);

	napvd_help(&b, "napvd_hsr_revision", "gauge", "Revision of the cached HSR, per site");
	if (d->hsr.set != NULL)
		for (size_t i = 0; i < d->hsr.set->n; i++)
			napvd_buf_printf(&b, "napvd_hsr_revision{site=\"%s\"} %" PRIu64 "\n",
					 d->hsr.set->v[i].site, d->hsr.set->v[i].revision);
	napvd_help(&b, "napvd_hsr_refresh_total", "counter", "HSR refreshes by result");
	for (size_t i = 0; i < NAPVD_REFRESH_COUNT; i++)
		napvd_buf_printf(&b, "napvd_hsr_refresh_total{result=\"%s\"} %" PRIu64 "\n",
				 napvd_refresh_names[i], m->hsr_refresh[i]);
	napvd_help(&b, "napvd_hsr_age_seconds", "gauge",
		   "Seconds since the last good HSR refresh (-1: never)");
	napvd_buf_printf(&b, "napvd_hsr_age_seconds %" PRId64 "\n",
			 d->hsr.refreshed_at != 0 ? now - d->hsr.refreshed_at : -1);
	napvd_hsr_stats(&d->hsr, &hs);
	napvd_help(&b, "napvd_hsr_reads_on_request_path_total", "counter",
		   "HSR source reads while answering a request or outside the source's own "
		   "thread (always 0)");
	napvd_buf_printf(&b, "napvd_hsr_reads_on_request_path_total %" PRIu64 "\n",
			 m->hsr_reads_on_request_path + hs.reads_off_thread);
	if (hs.has_ldap) {
		napvd_help(&b, "napvd_hsr_ldap_searches_total", "counter",
			   "Searches for HSR entries sent to the directory");
		napvd_buf_printf(&b, "napvd_hsr_ldap_searches_total %" PRIu64 "\n", hs.searches);
		napvd_help(&b, "napvd_hsr_ldap_errors_total", "counter",
			   "Directory attempts that failed (connect, TLS, bind, search)");
		napvd_buf_printf(&b, "napvd_hsr_ldap_errors_total %" PRIu64 "\n", hs.errors);
		napvd_help(&b, "napvd_hsr_ldap_notifications_total", "counter",
			   "Change notifications from the persistent (Content Sync) search");
		napvd_buf_printf(&b, "napvd_hsr_ldap_notifications_total %" PRIu64 "\n",
				 hs.notifications);
		napvd_help(&b, "napvd_hsr_ldap_up", "gauge",
			   "1 when the last directory read succeeded");
		napvd_buf_printf(&b, "napvd_hsr_ldap_up %d\n", hs.up ? 1 : 0);
		napvd_help(&b, "napvd_hsr_ldap_persist", "gauge",
			   "1 while a refreshAndPersist search notifies napvd of changes");
		napvd_buf_printf(&b, "napvd_hsr_ldap_persist %d\n", hs.persist ? 1 : 0);
		napvd_help(&b, "napvd_hsr_rejected_total", "counter",
			   "Directory entries not taken, by reason (the site keeps its last good HSR)");
		for (size_t i = 0; i < NAPVD_REJECT_COUNT; i++)
			napvd_buf_printf(&b, "napvd_hsr_rejected_total{reason=\"%s\"} %" PRIu64 "\n",
					 napvd_hsr_reject_name((enum napvd_hsr_reject)i),
					 hs.rejected[i]);
	}

	napvd_help(&b, "napvd_spool_records_total", "counter", "Status records made durable");
	napvd_buf_printf(&b, "napvd_spool_records_total %" PRIu64 "\n", m->spool_records);
	napvd_help(&b, "napvd_spool_unsynced_records", "gauge",
		   "Records written to the spool file but not yet covered by an fdatasync");
	napvd_buf_printf(&b, "napvd_spool_unsynced_records %" PRIu64 "\n",
			 d->spool.written - d->spool.durable);
	napvd_help(&b, "napvd_replies_total", "counter",
		   "Replies to decisions, counted when the fdatasync covering their record completed");
	napvd_buf_printf(&b, "napvd_replies_total{durable=\"yes\"} %" PRIu64 "\n",
			 m->replies_durable);
	napvd_help(&b, "napvd_replies_held_total", "counter",
		   "Replies held until their record was durable (spool_sync = reply)");
	napvd_buf_printf(&b, "napvd_replies_held_total %" PRIu64 "\n", m->replies_held);
	napvd_help(&b, "napvd_spool_sync_seconds_total", "counter", "Time spent in fdatasync");
	napvd_buf_printf(&b, "napvd_spool_sync_seconds_total %.9f\n",
			 (double)m->spool_sync_ns / 1e9);
	napvd_help(&b, "napvd_spool_bytes", "gauge", "Bytes of records in the status spool");
	napvd_buf_printf(&b, "napvd_spool_bytes %" PRIu64 "\n", d->spool.size);
	napvd_help(&b, "napvd_spool_allocated_bytes", "gauge",
		   "Size of the spool file, zero-filled preallocation included");
	napvd_buf_printf(&b, "napvd_spool_allocated_bytes %" PRIu64 "\n", d->spool.alloc);
	napvd_help(&b, "napvd_spool_overflow_total", "counter",
		   "Status records dropped because the spool reached spool_max");
	napvd_buf_printf(&b, "napvd_spool_overflow_total %" PRIu64 "\n", m->spool_overflow);
	{
		struct napvd_ship_stats ss;

		napvd_shipper_stats(&ss);
		napvd_help(&b, "napvd_status_backlog_records", "gauge",
			   "Durable status records not shipped to the site server yet");
		napvd_buf_printf(&b, "napvd_status_backlog_records %" PRIu64 "\n",
				 ss.backlog_records);
		napvd_help(&b, "napvd_status_backlog_bytes", "gauge",
			   "Bytes of status records not shipped yet");
		napvd_buf_printf(&b, "napvd_status_backlog_bytes %" PRIu64 "\n", ss.backlog_bytes);
		napvd_help(&b, "napvd_status_delivery_lag_seconds", "gauge",
			   "Age of the oldest status record not shipped yet (0: none)");
		napvd_buf_printf(&b, "napvd_status_delivery_lag_seconds %" PRId64 "\n",
				 ss.lag_seconds);
		napvd_help(&b, "napvd_status_shipped_total", "counter",
			   "Status records shipped to the site server's inbox share");
		napvd_buf_printf(&b, "napvd_status_shipped_total %" PRIu64 "\n", ss.shipped_total);
		napvd_help(&b, "napvd_status_batches_total", "counter", "Batch files written");
		napvd_buf_printf(&b, "napvd_status_batches_total %" PRIu64 "\n", ss.batches_total);
		napvd_help(&b, "napvd_status_ship_errors_total", "counter",
			   "Failed attempts to ship (retried)");
		napvd_buf_printf(&b, "napvd_status_ship_errors_total %" PRIu64 "\n",
				 ss.errors_total);
		napvd_help(&b, "napvd_status_shipped_sequence", "gauge",
			   "Sequence of the last status record shipped");
		napvd_buf_printf(&b, "napvd_status_shipped_sequence %" PRIu64 "\n",
				 ss.shipped_seq);
		napvd_help(&b, "napvd_spool_segment_bytes", "gauge",
			   "Bytes in rotated spool segments not removed yet");
		napvd_buf_printf(&b, "napvd_spool_segment_bytes %" PRIu64 "\n",
				 napvd_spool_segment_bytes());
	}
	napvd_help(&b, "napvd_spool_errors_total", "counter", "Failed spool writes or syncs");
	napvd_buf_printf(&b, "napvd_spool_errors_total %" PRIu64 "\n", m->spool_errors);
	napvd_help(&b, "napvd_spool_syncs_total", "counter",
		   "fdatasync calls (one per group commit, by the sync thread)");
	napvd_buf_printf(&b, "napvd_spool_syncs_total %" PRIu64 "\n", m->spool_syncs);
	napvd_help(&b, "napvd_config_reloads_total", "counter", "SIGHUP reloads by result");
	napvd_buf_printf(&b, "napvd_config_reloads_total{result=\"ok\"} %" PRIu64 "\n",
			 m->reloads_ok);
	napvd_buf_printf(&b, "napvd_config_reloads_total{result=\"error\"} %" PRIu64 "\n",
			 m->reloads_error);
	if (d->managed != NULL) {
		char mt[2048];

		if (napvd_managed_metrics(d, mt, sizeof(mt)) > 0)
			napvd_buf_printf(&b, "%s", mt);
	}
	if (b.error) {
		free(b.p);
		return -ENOSPC;
	}
	*out = b.p;
	return (long)b.len;
}

/* ---- the HTTP responder ---- */

struct napvd_http_conn {
	struct napvd_io io;
	struct napvd_http *h;
	bool writing;
	int64_t started_ms;
	size_t req_len;
	char req[NAPVD_HTTP_REQ_MAX];
	char *resp;
	size_t resp_len, sent;
};

struct napvd_http {
	struct napvd_io io;
	struct napvd *d;
	struct napvd_http_conn conns[NAPVD_HTTP_MAX_CONN];
};

static void
napvd_http_conn_close(struct napvd_http_conn *c)
{
	if (c->io.fd < 0)
		return;
	napvd_ev_del(&c->h->d->ev, &c->io);
	close(c->io.fd);
	c->io.fd = -1;
	free(c->resp);
	c->resp = NULL;
}

static void
napvd_http_respond(struct napvd_http_conn *c, const char *status, const char *ctype,
		   const char *body, size_t body_len)
{
	int hl;
	char hdr[256];

	hl = snprintf(hdr, sizeof(hdr),
		      "HTTP/1.0 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
		      "Connection: close\r\n\r\n",
		      status, ctype, body_len);
	c->resp = malloc((size_t)hl + body_len);
	if (c->resp == NULL) {
		napvd_http_conn_close(c);
		return;
	}
	memcpy(c->resp, hdr, (size_t)hl);
	memcpy(c->resp + hl, body, body_len);
	c->resp_len = (size_t)hl + body_len;
	c->sent = 0;
	c->writing = true;
	struct epoll_event e = {.events = EPOLLOUT, .data.ptr = &c->io};

	epoll_ctl(c->h->d->ev.epfd, EPOLL_CTL_MOD, c->io.fd, &e);
}

static void
napvd_http_handle(struct napvd_http_conn *c)
{
	static const char text[] = "text/plain; version=0.0.4; charset=utf-8";
	char *body;
	long n;

	if (strncmp(c->req, "GET ", 4) != 0) {
		napvd_http_respond(c, "405 Method Not Allowed", "text/plain", "GET only\n", 9);
		return;
	}
	if (strncmp(c->req + 4, "/metrics ", 9) != 0 && strncmp(c->req + 4, "/metrics?", 9) != 0) {
		napvd_http_respond(c, "404 Not Found", "text/plain", "try /metrics\n", 13);
		return;
	}
	napvd_spool_sync_collect(&c->h->d->spool, &c->h->d->m); /* fresh spool counters */
	n = napvd_metrics_render(c->h->d, &body);
	if (n < 0) {
		napvd_http_respond(c, "500 Internal Server Error", "text/plain", "error\n", 6);
		return;
	}
	napvd_http_respond(c, "200 OK", text, body, (size_t)n);
	free(body);
}

static void
napvd_http_conn_cb(struct napvd_io *io, uint32_t events)
{
	struct napvd_http_conn *c = io->arg;

	if (c->writing) {
		ssize_t w = send(io->fd, c->resp + c->sent, c->resp_len - c->sent, MSG_NOSIGNAL);

		if (w < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (w <= 0) {
			napvd_http_conn_close(c);
			return;
		}
		c->sent += (size_t)w;
		if (c->sent == c->resp_len)
			napvd_http_conn_close(c);
		return;
	}
	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
		ssize_t r = recv(io->fd, c->req + c->req_len, sizeof(c->req) - 1 - c->req_len, 0);

		if (r < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (r <= 0) {
			napvd_http_conn_close(c);
			return;
		}
		c->req_len += (size_t)r;
		c->req[c->req_len] = '\0';
		if (strstr(c->req, "\r\n\r\n") != NULL || strstr(c->req, "\n\n") != NULL) {
			napvd_http_handle(c);
			return;
		}
		if (c->req_len == sizeof(c->req) - 1)
			napvd_http_respond(c, "431 Request Header Fields Too Large", "text/plain",
					   "too large\n", 10);
	}
}

static void
napvd_http_accept_cb(struct napvd_io *io, uint32_t events)
{
	struct napvd_http *h = io->arg;
	struct napvd_http_conn *c = NULL;
	int fd;

	(void)events;
	fd = accept4(io->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return;
	for (size_t i = 0; i < NAPVD_HTTP_MAX_CONN; i++) {
		if (h->conns[i].io.fd < 0) {
			c = &h->conns[i];
			break;
		}
	}
	if (c == NULL) {
		close(fd); /* busy: the scraper retries */
		return;
	}
	c->io.fd = fd;
	c->io.cb = napvd_http_conn_cb;
	c->io.arg = c;
	c->h = h;
	c->writing = false;
	c->req_len = 0;
	c->started_ms = napvd_mono_ms(&h->d->clock);
	if (napvd_ev_add(&h->d->ev, &c->io, EPOLLIN) < 0) {
		close(fd);
		c->io.fd = -1;
	}
}

void
napvd_http_tick(struct napvd *d)
{
	int64_t now;

	if (d->http == NULL)
		return;
	now = napvd_mono_ms(&d->clock);
	for (size_t i = 0; i < NAPVD_HTTP_MAX_CONN; i++) {
		struct napvd_http_conn *c = &d->http->conns[i];

		if (c->io.fd >= 0 && now - c->started_ms > NAPVD_HTTP_DEADLINE)
			napvd_http_conn_close(c);
	}
}

int
napvd_http_open(struct napvd *d, const struct napvd_sockaddr *addr)
{
	struct napvd_http *h;
	int one = 1, fd, r;

	h = calloc(1, sizeof(*h));
	if (h == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < NAPVD_HTTP_MAX_CONN; i++) {
		h->conns[i].io.fd = -1;
		h->conns[i].h = h;
	}
	fd = socket(addr->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		r = -errno;
		free(h);
		return r;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)&addr->ss, addr->len) < 0 || listen(fd, 16) < 0) {
		r = -errno;
		close(fd);
		free(h);
		return r;
	}
	h->d = d;
	h->io.fd = fd;
	h->io.cb = napvd_http_accept_cb;
	h->io.arg = h;
	r = napvd_ev_add(&d->ev, &h->io, EPOLLIN);
	if (r < 0) {
		close(fd);
		free(h);
		return r;
	}
	d->http = h;
	return 0;
}

void
napvd_http_close(struct napvd *d)
{
	struct napvd_http *h = d->http;

	if (h == NULL)
		return;
	for (size_t i = 0; i < NAPVD_HTTP_MAX_CONN; i++)
		napvd_http_conn_close(&h->conns[i]);
	napvd_ev_del(&d->ev, &h->io);
	close(h->io.fd);
	free(h);
	d->http = NULL;
}
