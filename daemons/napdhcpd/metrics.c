// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * napdhcpd's counters in the Prometheus text format, served at http://<metrics>/metrics by a
 * small non-blocking HTTP/1.0 responder in the poll() loop (one thread: the counters need no
 * locks). Handles untrusted input (HTTP requests from whoever reaches the metrics address,
 * normally loopback only): one bounded request per connection, a handful of connections, a
 * deadline; anything else is closed.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "nap/log.h"
#include "napdhcpd.h"

#define DHCPD_HTTP_MAX_CONN 8
#define DHCPD_HTTP_REQ_MAX  2048
#define DHCPD_HTTP_DEADLINE 5000 /* ms */

static const char *const dhcpd_type_labels[9] = {
	"other", "discover", "offer", "request", "decline", "ack", "nak", "release", "inform",
};

void
dhcpd_metrics_render(const struct dhcpd *d, FILE *f)
{
	const struct dhcpd_config *c = d->conf;
	const struct dhcpd_leases *ls = &d->leases;

	fprintf(f, "# HELP napdhcpd_packets_total DHCP messages received, by message type.\n"
		   "# TYPE napdhcpd_packets_total counter\n");
	for (int t = 0; t < 9; t++) {
		if (t == NAP_DHCPOFFER || t == NAP_DHCPACK || t == NAP_DHCPNAK)
			continue;
		fprintf(f, "napdhcpd_packets_total{type=\"%s\"} %" PRIu64 "\n",
			dhcpd_type_labels[t], d->m.rx[t]);
	}
	fprintf(f, "# HELP napdhcpd_replies_total DHCP replies sent, by message type.\n"
		   "# TYPE napdhcpd_replies_total counter\n");
	fprintf(f, "napdhcpd_replies_total{type=\"offer\"} %" PRIu64 "\n", d->m.tx[NAP_DHCPOFFER]);
	fprintf(f, "napdhcpd_replies_total{type=\"ack\"} %" PRIu64 "\n", d->m.tx[NAP_DHCPACK]);
	fprintf(f, "napdhcpd_replies_total{type=\"nak\"} %" PRIu64 "\n", d->m.tx[NAP_DHCPNAK]);
	fprintf(f, "# HELP napdhcpd_dropped_total Messages dropped or replies not sent, by "
		   "reason.\n# TYPE napdhcpd_dropped_total counter\n");
	for (int r = 0; r < DHCPD_DROP_COUNT; r++)
		fprintf(f, "napdhcpd_dropped_total{reason=\"%s\"} %" PRIu64 "\n",
			dhcpd_drop_name((enum dhcpd_drop)r), d->m.drops[r]);
	fprintf(f, "# HELP napdhcpd_silent_total Requests answered by silence as RFC 2131 asks "
		   "(no record of the client, nothing to release).\n"
		   "# TYPE napdhcpd_silent_total counter\n"
		   "napdhcpd_silent_total %" PRIu64 "\n", d->m.silent);
	fprintf(f, "# TYPE napdhcpd_declines_total counter\nnapdhcpd_declines_total %" PRIu64 "\n",
		d->m.declines);
	fprintf(f, "# TYPE napdhcpd_releases_total counter\nnapdhcpd_releases_total %" PRIu64 "\n",
		d->m.releases);
	fprintf(f, "# HELP napdhcpd_leases_active Bound leases, by scope.\n"
		   "# TYPE napdhcpd_leases_active gauge\n");
	for (size_t s = 0; s < c->n_scopes && s < ls->n_pools; s++)
		fprintf(f, "napdhcpd_leases_active{scope=\"%s\"} %" PRIu32 "\n", c->scopes[s].name,
			ls->pools[s].n_bound);
	fprintf(f, "# HELP napdhcpd_pool_free Free addresses, by scope.\n"
		   "# TYPE napdhcpd_pool_free gauge\n");
	for (size_t s = 0; s < c->n_scopes && s < ls->n_pools; s++)
		fprintf(f, "napdhcpd_pool_free{scope=\"%s\"} %" PRIu32 "\n", c->scopes[s].name,
			ls->pools[s].n_free);
	fprintf(f, "# TYPE napdhcpd_pool_offered gauge\n");
	for (size_t s = 0; s < c->n_scopes && s < ls->n_pools; s++)
		fprintf(f, "napdhcpd_pool_offered{scope=\"%s\"} %" PRIu32 "\n", c->scopes[s].name,
			ls->pools[s].n_offered);
	fprintf(f, "# TYPE napdhcpd_pool_declined gauge\n");
	for (size_t s = 0; s < c->n_scopes && s < ls->n_pools; s++)
		fprintf(f, "napdhcpd_pool_declined{scope=\"%s\"} %" PRIu32 "\n",
			c->scopes[s].name, ls->pools[s].n_declined);
	fprintf(f, "# TYPE napdhcpd_pool_size gauge\n");
	for (size_t s = 0; s < c->n_scopes && s < ls->n_pools; s++)
		fprintf(f, "napdhcpd_pool_size{scope=\"%s\"} %" PRIu32 "\n", c->scopes[s].name,
			ls->pools[s].n_total);
	fprintf(f, "# HELP napdhcpd_journal_fsyncs_total fdatasync/fsync calls on the lease "
		   "journal.\n# TYPE napdhcpd_journal_fsyncs_total counter\n"
		   "napdhcpd_journal_fsyncs_total %" PRIu64 "\n", ls->st.fsyncs);
	fprintf(f, "# TYPE napdhcpd_journal_records_total counter\n"
		   "napdhcpd_journal_records_total %" PRIu64 "\n", ls->st.records);
	fprintf(f, "# TYPE napdhcpd_journal_compactions_total counter\n"
		   "napdhcpd_journal_compactions_total %" PRIu64 "\n", ls->st.compactions);
	fprintf(f, "# TYPE napdhcpd_journal_errors_total counter\n"
		   "napdhcpd_journal_errors_total %" PRIu64 "\n", ls->st.write_errors);
	fprintf(f, "# HELP napdhcpd_nap_pending Requests waiting for a NAP verdict.\n"
		   "# TYPE napdhcpd_nap_pending gauge\nnapdhcpd_nap_pending %zu\n",
		d->pending.used);
	fprintf(f, "# TYPE napdhcpd_reloads_total counter\n"
		   "napdhcpd_reloads_total{result=\"ok\"} %" PRIu64 "\n"
		   "napdhcpd_reloads_total{result=\"error\"} %" PRIu64 "\n",
		d->m.reloads_ok, d->m.reloads_error);
	if (d->nap != NULL)
		dhcpd_nap_metrics_write(d->nap, f);
}

/* ---- HTTP ---- */

struct dhcpd_http_conn {
	int fd;
	int64_t deadline;
	size_t len;
	char req[DHCPD_HTTP_REQ_MAX];
	char *out;
	size_t out_len, out_off;
};

struct dhcpd_http {
	int fd;
	struct dhcpd_http_conn conns[DHCPD_HTTP_MAX_CONN];
	size_t map[1 + DHCPD_HTTP_MAX_CONN]; /* pollfd slot -> connection + 1 (0 = listener) */
	size_t n_map;
};

int
dhcpd_http_open(struct dhcpd_http **hp, const struct sockaddr *sa, socklen_t len)
{
	struct dhcpd_http *h = calloc(1, sizeof(*h));
	int one = 1, r;

	if (h == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < DHCPD_HTTP_MAX_CONN; i++)
		h->conns[i].fd = -1;
	h->fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (h->fd < 0) {
		r = -errno;
		free(h);
		return r;
	}
	setsockopt(h->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(h->fd, sa, len) < 0 || listen(h->fd, 16) < 0) {
		r = -errno;
		close(h->fd);
		free(h);
		return r;
	}
	*hp = h;
	return 0;
}

static void
dhcpd_http_conn_close(struct dhcpd_http_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	free(c->out);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}

void
dhcpd_http_close(struct dhcpd_http *h)
{
	if (h == NULL)
		return;
	for (size_t i = 0; i < DHCPD_HTTP_MAX_CONN; i++)
		dhcpd_http_conn_close(&h->conns[i]);
	close(h->fd);
	free(h);
}

size_t
dhcpd_http_pollfds(struct dhcpd_http *h, struct pollfd *pfd, size_t cap)
{
	size_t n = 0;

	h->n_map = 0;
	if (cap == 0)
		return 0;
	pfd[n++] = (struct pollfd){.fd = h->fd, .events = POLLIN};
	h->map[h->n_map++] = 0;
	for (size_t i = 0; i < DHCPD_HTTP_MAX_CONN && n < cap; i++) {
		struct dhcpd_http_conn *c = &h->conns[i];

		if (c->fd < 0)
			continue;
		pfd[n++] = (struct pollfd){.fd = c->fd, .events = c->out != NULL ? POLLOUT :
										   POLLIN};
		h->map[h->n_map++] = i + 1;
	}
	return n;
}

static void
dhcpd_http_respond(struct dhcpd_http_conn *c, const struct dhcpd *d)
{
	char *body = NULL, *all = NULL;
	size_t body_len = 0, all_len = 0;
	FILE *f;
	const char *status = "200 OK";
	bool ok = strncmp(c->req, "GET /metrics ", 13) == 0 || strncmp(c->req, "GET / ", 6) == 0;

	if (ok) {
		f = open_memstream(&body, &body_len);
		if (f == NULL)
			return;
		dhcpd_metrics_render(d, f);
		fclose(f);
	} else {
		status = strncmp(c->req, "GET ", 4) == 0 ? "404 Not Found" : "405 Method Not Allowed";
	}
	f = open_memstream(&all, &all_len);
	if (f == NULL) {
		free(body);
		return;
	}
	fprintf(f, "HTTP/1.0 %s\r\nContent-Type: text/plain; version=0.0.4\r\n"
		   "Content-Length: %zu\r\nConnection: close\r\n\r\n", status,
		ok ? body_len : 0);
	if (ok && body_len > 0)
		fwrite(body, 1, body_len, f);
	fclose(f);
	free(body);
	c->out = all;
	c->out_len = all_len;
	c->out_off = 0;
}

void
dhcpd_http_events(struct dhcpd_http *h, struct dhcpd *d, const struct pollfd *pfd, size_t n,
		  int64_t now_ms)
{
	for (size_t k = 0; k < n && k < h->n_map; k++) {
		size_t m = h->map[k];
		struct dhcpd_http_conn *c;

		if (m == 0) {
			if ((pfd[k].revents & POLLIN) == 0)
				continue;
			for (;;) {
				int fd = accept4(h->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
				size_t i;

				if (fd < 0)
					break;
				for (i = 0; i < DHCPD_HTTP_MAX_CONN; i++)
					if (h->conns[i].fd < 0)
						break;
				if (i == DHCPD_HTTP_MAX_CONN) {
					close(fd); /* busy: the scraper retries */
					continue;
				}
				h->conns[i].fd = fd;
				h->conns[i].deadline = now_ms + DHCPD_HTTP_DEADLINE;
			}
			continue;
		}
		c = &h->conns[m - 1];
		if (c->fd < 0 || pfd[k].fd != c->fd)
			continue;
		if ((pfd[k].revents & (POLLERR | POLLHUP | POLLNVAL)) != 0 && c->out == NULL) {
			dhcpd_http_conn_close(c);
			continue;
		}
		if (c->out == NULL && (pfd[k].revents & POLLIN) != 0) {
			ssize_t r = read(c->fd, c->req + c->len, sizeof(c->req) - 1 - c->len);

			if (r <= 0) {
				dhcpd_http_conn_close(c);
				continue;
			}
			c->len += (size_t)r;
			c->req[c->len] = '\0';
			if (strstr(c->req, "\r\n\r\n") != NULL || strstr(c->req, "\n\n") != NULL)
				dhcpd_http_respond(c, d);
			else if (c->len == sizeof(c->req) - 1)
				dhcpd_http_conn_close(c);
		} else if (c->out != NULL && (pfd[k].revents & (POLLOUT | POLLERR | POLLHUP))) {
			ssize_t w = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
					 MSG_NOSIGNAL);

			if (w <= 0) {
				dhcpd_http_conn_close(c);
				continue;
			}
			c->out_off += (size_t)w;
			if (c->out_off == c->out_len)
				dhcpd_http_conn_close(c);
		}
	}
	for (size_t i = 0; i < DHCPD_HTTP_MAX_CONN; i++)
		if (h->conns[i].fd >= 0 && now_ms > h->conns[i].deadline)
			dhcpd_http_conn_close(&h->conns[i]);
}
