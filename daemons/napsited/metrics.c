// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * Prometheus text exposition on [site] metrics: GET /metrics (and /) over plain HTTP from
 * libmicrohttpd's own thread. The socket is bound by main() before the privilege drop and
 * handed over; the counters are atomics, so this thread never takes a lock the main loop holds
 * for long. Requests are untrusted but only the method and path are looked at.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "nap/log.h"
#include "napsited.h"

#define METRICS_TEXT_MAX (64 * 1024)

struct napsited_http {
	struct MHD_Daemon *mhd;
};

static uint64_t
ld(_Atomic uint64_t *v)
{
	return atomic_load_explicit(v, memory_order_relaxed);
}

void
napsited_metrics_latency(struct napsited_metrics *m, double seconds)
{
	size_t i;

	for (i = 0; i < NAPSITED_LATENCY_BUCKETS; i++)
		if (seconds <= napsited_latency_bounds[i])
			break;
	if (i < NAPSITED_LATENCY_BUCKETS)
		atomic_fetch_add_explicit(&m->latency_bucket[i], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&m->latency_sum_us, (uint64_t)(seconds * 1e6),
				  memory_order_relaxed);
	atomic_fetch_add_explicit(&m->latency_count, 1, memory_order_relaxed);
}

struct mbuf {
	char *p;
	size_t len;
	bool full;
};

__attribute__((format(printf, 2, 3))) static void
mb_printf(struct mbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->full)
		return;
	va_start(ap, fmt);
	n = vsnprintf(b->p + b->len, METRICS_TEXT_MAX - b->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= METRICS_TEXT_MAX - b->len) {
		b->full = true;
		return;
	}
	b->len += (size_t)n;
}

static void
mb_metric(struct mbuf *b, const char *name, const char *type, const char *help, uint64_t v)
{
	mb_printf(b, "# HELP %s %s\n# TYPE %s %s\n%s %" PRIu64 "\n", name, help, name, type, name,
		  v);
}

char *
napsited_metrics_text(struct napsited *sd)
{
	struct napsited_metrics *m = &sd->m;
	struct mbuf b = {.p = malloc(METRICS_TEXT_MAX)};
	uint64_t cum = 0;

	if (b.p == NULL)
		return NULL;
	mb_metric(&b, "napsited_policy_revision", "gauge",
		  "The store's policy revision at the last poll.", ld(&m->policy_revision));
	mb_metric(&b, "napsited_hsr_revision", "gauge",
		  "Revision of the signed HSR napsited holds (and serves to agents).",
		  ld(&m->hsr_revision));
	mb_metric(&b, "napsited_published_revision", "gauge",
		  "Revision the directory holds, as last written or confirmed by napsited.",
		  ld(&m->published_revision));
	mb_printf(&b, "# HELP napsited_publish_total HSR publish attempts by result.\n"
		      "# TYPE napsited_publish_total counter\n");
	for (size_t i = 0; i < NAPSITED_PUBLISH_RESULT_COUNT; i++)
		mb_printf(&b, "napsited_publish_total{result=\"%s\"} %" PRIu64 "\n",
			  napsited_publish_result_names[i], ld(&m->publish[i]));
	mb_metric(&b, "napsited_publish_pending", "gauge",
		  "1 while an HSR waits to be published (the directory failed).",
		  ld(&m->publish_pending));
	mb_metric(&b, "napsited_publish_failures_in_row", "gauge",
		  "Failed attempts since the last success.", ld(&m->publish_failures_in_row));
	mb_printf(&b,
		  "# HELP napsited_publish_retry_seconds Backoff before the next attempt.\n"
		  "# TYPE napsited_publish_retry_seconds gauge\n"
		  "napsited_publish_retry_seconds %.3f\n",
		  (double)ld(&m->publish_backoff_ms) / 1000.0);
	mb_metric(&b, "napsited_directory_up", "gauge",
		  "1 when the last publish attempt reached and bound to a directory.",
		  ld(&m->directory_up));
	mb_printf(&b, "# HELP napsited_directory_latency_seconds Publish round trips "
		      "(connect, bind, read, write).\n"
		      "# TYPE napsited_directory_latency_seconds histogram\n");
	for (size_t i = 0; i < NAPSITED_LATENCY_BUCKETS; i++) {
		cum += ld(&m->latency_bucket[i]);
		mb_printf(&b, "napsited_directory_latency_seconds_bucket{le=\"%g\"} %" PRIu64 "\n",
			  napsited_latency_bounds[i], cum);
	}
	mb_printf(&b,
		  "napsited_directory_latency_seconds_bucket{le=\"+Inf\"} %" PRIu64 "\n"
		  "napsited_directory_latency_seconds_sum %.6f\n"
		  "napsited_directory_latency_seconds_count %" PRIu64 "\n",
		  ld(&m->latency_count), (double)ld(&m->latency_sum_us) / 1e6,
		  ld(&m->latency_count));
	mb_printf(&b,
		  "# HELP napsited_reloads_total Configuration reloads (SIGHUP) by result.\n"
		  "# TYPE napsited_reloads_total counter\n"
		  "napsited_reloads_total{result=\"ok\"} %" PRIu64 "\n"
		  "napsited_reloads_total{result=\"error\"} %" PRIu64 "\n",
		  ld(&m->reloads_ok), ld(&m->reloads_error));
	mb_metric(&b, "napsited_store_errors_total", "counter",
		  "Store polls or snapshots that failed.", ld(&m->store_errors));
	mb_metric(&b, "napsited_sign_errors_total", "counter",
		  "HSR documents that could not be built or signed.", ld(&m->sign_errors));
	mb_metric(&b, "napsited_agent_checkins_total", "counter", "Agent states posted and stored.",
		  ld(&m->agent_checkins));
	mb_metric(&b, "napsited_agent_policy_fetches_total", "counter",
		  "Agent policy fetches answered.", ld(&m->agent_policy_fetches));
	mb_printf(&b,
		  "# HELP napsited_agent_enrollments_total Agent enrollments by result.\n"
		  "# TYPE napsited_agent_enrollments_total counter\n"
		  "napsited_agent_enrollments_total{result=\"ok\"} %" PRIu64 "\n"
		  "napsited_agent_enrollments_total{result=\"error\"} %" PRIu64 "\n",
		  ld(&m->agent_enroll_ok), ld(&m->agent_enroll_error));
	mb_metric(&b, "napsited_agent_bad_requests_total", "counter",
		  "Agent requests refused as malformed.", ld(&m->agent_bad_requests));
	mb_metric(&b, "napsited_agent_auth_failures_total", "counter",
		  "Agent requests without a valid client certificate.",
		  ld(&m->agent_auth_failures));
	mb_metric(&b, "napsited_web_requests_total", "counter",
		  "Requests to the admin web listener.", ld(&m->web_requests));
	mb_metric(&b, "napsited_web_bad_requests_total", "counter",
		  "Web requests answered 4xx (bad parameters, unknown paths).",
		  ld(&m->web_bad_requests));
	mb_metric(&b, "napsited_web_denied_total", "counter",
		  "Web connections or requests refused ([web] allow, missing token).",
		  ld(&m->web_denied));
	mb_metric(&b, "napsited_shv_pushes_total", "counter",
		  "SHV point settings files written over SMB.", ld(&m->shv_pushes));
	mb_metric(&b, "napsited_shv_push_failures_total", "counter",
		  "SHV point settings files that could not be written (logon, share, network).",
		  ld(&m->shv_push_failures));
	mb_metric(&b, "napsited_shv_status_errors_total", "counter",
		  "nap-shv.status files that could not be read or did not parse.",
		  ld(&m->shv_status_errors));
	mb_metric(&b, "napsited_status_ingested_total", "counter",
		  "Status messages stored from the inbox (new ids).", ld(&m->status_ingested));
	mb_metric(&b, "napsited_status_duplicates_total", "counter",
		  "Status messages delivered again (id stored already, not counted twice).",
		  ld(&m->status_duplicates));
	mb_metric(&b, "napsited_status_quarantined_total", "counter",
		  "Malformed status lines or files moved to the quarantine.",
		  ld(&m->status_quarantined));
	mb_metric(&b, "napsited_status_files_total", "counter",
		  "Status batch files committed and removed from the inbox.",
		  ld(&m->status_files));
	mb_metric(&b, "napsited_status_store_errors_total", "counter",
		  "Status batches the store refused (the file stays for a retry).",
		  ld(&m->status_store_errors));
	mb_metric(&b, "napsited_status_pruned_total", "counter",
		  "Status messages deleted for being older than [status] keep.",
		  ld(&m->status_pruned));
	mb_metric(&b, "napsited_status_daily_pruned_total", "counter",
		  "Daily history rows deleted for being older than [status] keep_daily.",
		  ld(&m->status_pruned_daily));
	mb_metric(&b, "napsited_status_inbox_files", "gauge",
		  "Status batch files waiting in the inbox.", ld(&m->status_inbox_files));
	mb_metric(&b, "napsited_shv_points", "gauge", "SHV points in the store.",
		  ld(&m->shv_points));
	mb_metric(&b, "napsited_shv_points_out_of_date", "gauge",
		  "SHV points not pushed, not yet judged, unreachable or rejected.",
		  ld(&m->shv_out_of_date));
	return b.p;
}

static void
metrics_free_text(void *p)
{
	free(p);
}

static enum MHD_Result
metrics_answer(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
	       const char *version, const char *upload_data, size_t *upload_data_size,
	       void **req_cls)
{
	struct napsited *sd = cls;
	struct MHD_Response *resp;
	enum MHD_Result ret;
	unsigned code = MHD_HTTP_OK;
	char *text;

	(void)version;
	(void)upload_data;
	if (*req_cls == NULL) {
		/* First call, headers only: come back for the (empty) body. */
		*req_cls = sd;
		return MHD_YES;
	}
	if (*upload_data_size != 0) {
		*upload_data_size = 0; /* ignore bodies */
		return MHD_YES;
	}
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
		code = MHD_HTTP_METHOD_NOT_ALLOWED;
		text = strdup("method not allowed\n");
	} else if (strcmp(url, "/metrics") != 0 && strcmp(url, "/") != 0) {
		code = MHD_HTTP_NOT_FOUND;
		text = strdup("not found; try /metrics\n");
	} else {
		text = napsited_metrics_text(sd);
	}
	if (text == NULL)
		return MHD_NO;
	resp = MHD_create_response_from_buffer_with_free_callback(strlen(text), text,
								  metrics_free_text);
	if (resp == NULL) {
		free(text);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
				code == MHD_HTTP_OK ? "text/plain; version=0.0.4; charset=utf-8"
						    : "text/plain");
	if (code == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	ret = MHD_queue_response(conn, code, resp);
	MHD_destroy_response(resp);
	return ret;
}

int
napsited_metrics_listen(const char *addr, int *out)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, one = 1, r;

	*out = -1;
	if ((r = nap_siteconf_sockaddr(addr, &ss, &len)) < 0)
		return r;
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ss.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, 16) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	*out = fd;
	return 0;
}

int
napsited_metrics_start(struct napsited *sd, int fd)
{
	struct napsited_http *h = calloc(1, sizeof(*h));

	if (h == NULL)
		return -ENOMEM;
	h->mhd = MHD_start_daemon(
		MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL, 0, NULL, NULL, metrics_answer, sd,
		MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_CONNECTION_LIMIT, (unsigned)32,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
		(size_t)(32 * 1024), MHD_OPTION_END);
	if (h->mhd == NULL) {
		free(h);
		return -EIO;
	}
	sd->metrics_http = h;
	return 0;
}

void
napsited_metrics_stop(struct napsited *sd)
{
	if (sd->metrics_http == NULL)
		return;
	/* Closes the listening socket as well. */
	MHD_stop_daemon(sd->metrics_http->mhd);
	free(sd->metrics_http);
	sd->metrics_http = NULL;
}
