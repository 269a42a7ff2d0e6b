/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Non-blocking RADIUS client for enforcement points (napdhcpd; naphrad later) talking to one or
 * more napvd servers. Single-threaded, driven by the caller's poll() loop; no clock of its own:
 * every call that needs the time takes a monotonic now in milliseconds (nap_mono_ms()
 * in production, a fake clock in tests).
 *
 * Requests: the caller hands over the attributes (in a struct nap_radius_builder, code and
 * attributes only, no Message-Authenticator) and a callback. The client
 *   - picks a socket with a free id (256 outstanding ids per socket; it opens more UDP sockets,
 *     up to NAP_RADCLIENT_MAX_SOCKETS per address family, when needed),
 *   - draws a random Request Authenticator, puts a Message-Authenticator first (RFC 3579,
 *     BlastRADIUS advice) and signs with the server's secret,
 *   - sends to the first server that is not held down, retransmits the same packet (same id,
 *     same authenticator, RFC 5080 §2.2.1) after timeout_ms up to retries times, then fails over
 *     to the next server in order with a fresh authenticator; a server whose request ran out of
 *     retries is marked dead for holddown_ms (new requests skip it; when every server is dead
 *     the one whose holddown ends first is tried),
 *   - accepts a reply only from the address the request was last sent to, with the matching id,
 *     a correct Response Authenticator and, when the request carried one (always), a correct
 *     Message-Authenticator in the reply (a reply without one is refused: napvd always signs);
 *     anything else is counted and dropped,
 *   - calls the callback exactly once: with the decoded reply, or with a timeout when every
 *     server has been tried, or with "cancelled" from nap_radclient_free().
 * Callbacks run from inside nap_radclient_events() / nap_radclient_timers() (or free); they may
 * start new requests. Status-Server (RFC 5997) probes of one server are available for health
 * checks; they do not fail over.
 */
#ifndef NAP_RADCLIENT_H
#define NAP_RADCLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "nap/radius.h"

struct pollfd;

#define NAP_RADCLIENT_MAX_SERVERS 8
#define NAP_RADCLIENT_MAX_SOCKETS 64 /* per address family: 64 * 256 requests outstanding */
#define NAP_RADCLIENT_NAME_MAX    63

struct nap_radclient_server {
	struct sockaddr_storage addr; /* AF_INET or AF_INET6, port set */
	socklen_t addr_len;
	char name[NAP_RADCLIENT_NAME_MAX + 1]; /* for logs and metrics, e.g. "127.0.0.1:1812" */
	const struct nap_radius_secret *secret; /* borrowed: must outlive the client */
};

struct nap_radclient_config {
	size_t n_servers; /* 1..NAP_RADCLIENT_MAX_SERVERS, tried in this order */
	struct nap_radclient_server servers[NAP_RADCLIENT_MAX_SERVERS];
	uint32_t timeout_ms;  /* per attempt; 0 means 1000 */
	uint32_t retries;     /* retransmissions per server after the first send (0 = one send) */
	uint32_t holddown_ms; /* how long a server that ran out of retries is skipped; 0 = 30000 */
	size_t max_outstanding; /* requests in flight at most (-ENOBUFS past it); 0 = 4096 */
};

/*
 * Fill a server entry from "ADDR:PORT" / "[V6]:PORT" (numeric port, name resolved now).
 * Returns 0 or -EINVAL / -EHOSTUNREACH.
 */
int nap_radclient_server_parse(struct nap_radclient_server *s, const char *hostport,
			       const struct nap_radius_secret *secret);

enum nap_radclient_status {
	NAP_RADCLIENT_REPLY = 0, /* reply holds a verified answer */
	NAP_RADCLIENT_TIMEOUT,   /* every server tried, no valid answer */
	NAP_RADCLIENT_CANCELLED, /* nap_radclient_cancel() or nap_radclient_free() */
};

struct nap_radclient_result {
	enum nap_radclient_status status;
	const struct nap_radius_packet *reply; /* REPLY only; valid during the callback */
	size_t server;        /* index of the server that answered (or was tried last) */
	unsigned attempts;    /* datagrams sent for this request, all servers */
	unsigned failovers;   /* server changes for this request */
	int64_t rtt_ms;       /* from the first send to the answer (or to the give-up) */
};

typedef void nap_radclient_cb(void *arg, const struct nap_radclient_result *res);

struct nap_radclient;

struct nap_radclient_server_stats {
	uint64_t sent, retransmits, replies, timeouts; /* timeouts: a request gave up on it */
	uint64_t bad_auth;  /* replies that failed authentication */
	bool dead;          /* timed out and not heard from since (held down until dead_until) */
	int64_t dead_until; /* monotonic ms */
};

struct nap_radclient_stats {
	uint64_t requests;   /* started */
	uint64_t replies;    /* callbacks with REPLY */
	uint64_t timeouts;   /* callbacks with TIMEOUT */
	uint64_t cancelled;
	uint64_t failovers;  /* server changes */
	uint64_t retransmits;
	uint64_t malformed;  /* datagrams that did not decode */
	uint64_t unexpected; /* unknown id, wrong source, not a response code */
	uint64_t bad_auth;   /* Response Authenticator or Message-Authenticator wrong/missing */
	uint64_t send_errors;
	uint64_t outstanding; /* now */
	size_t sockets;       /* open now */
	size_t n_servers;
	struct nap_radclient_server_stats servers[NAP_RADCLIENT_MAX_SERVERS];
};

/*
 * Make a client (no socket opened yet: sockets are opened on demand). The config is copied; the
 * secrets it points to are borrowed. Returns 0, -EINVAL for a bad config or -ENOMEM.
 */
int nap_radclient_new(const struct nap_radclient_config *conf, struct nap_radclient **out);
/* Cancel every request (callbacks run with NAP_RADCLIENT_CANCELLED), close the sockets. */
void nap_radclient_free(struct nap_radclient *rc);

/* Begin the attributes of a request: the builder with code and no random authenticator (the
 * client draws its own per packet). */
void nap_radclient_attrs_init(struct nap_radius_builder *b, uint8_t code);

/*
 * Start a request. attrs holds the code (nap_radclient_attrs_init) and the attributes; id, authenticator and Message-Authenticator are the client's (do not add one).
 * The builder is copied and may be reused at once. *handle (may be NULL) identifies the
 * request for nap_radclient_cancel(). Returns 0, -EMSGSIZE when the attributes and the
 * Message-Authenticator do not fit, -ENOBUFS past max_outstanding or when no socket has a free
 * id, -EINVAL, or the socket error. The callback is never called from inside this function.
 */
int nap_radclient_request(struct nap_radclient *rc, const struct nap_radius_builder *attrs,
			  int64_t now_ms, nap_radclient_cb *cb, void *arg, uint64_t *handle);
/* Status-Server (RFC 5997) to one server, no failover: REPLY means the server is alive. */
int nap_radclient_status_server(struct nap_radclient *rc, size_t server, int64_t now_ms,
				nap_radclient_cb *cb, void *arg, uint64_t *handle);
/* Cancel one request (callback with CANCELLED runs now). -ENOENT when already finished. */
int nap_radclient_cancel(struct nap_radclient *rc, uint64_t handle);

/* Poll integration: the sockets (POLLIN). Returns how many were written (at most cap). */
size_t nap_radclient_pollfds(const struct nap_radclient *rc, struct pollfd *fds, size_t cap);
/* Read every datagram waiting on the fds that poll() marked readable (others are ignored). */
void nap_radclient_events(struct nap_radclient *rc, const struct pollfd *fds, size_t n,
			  int64_t now_ms);
/* Read every socket without poll() (tests, or a loop that does not track fds). */
void nap_radclient_read_all(struct nap_radclient *rc, int64_t now_ms);
/* Retransmit / fail over / give up whatever is due at now_ms. */
void nap_radclient_timers(struct nap_radclient *rc, int64_t now_ms);
/* The earliest deadline (monotonic ms), -1 when nothing is outstanding. */
int64_t nap_radclient_next_deadline(const struct nap_radclient *rc);

void nap_radclient_get_stats(const struct nap_radclient *rc, struct nap_radclient_stats *st);

#endif
