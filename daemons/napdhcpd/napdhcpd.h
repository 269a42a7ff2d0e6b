/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * napdhcpd internals shared by its modules: the configuration (config.c), the lease table and
 * its journal (lease.c), the request handler (server.c), the sockets (net.c), the metrics
 * responder (metrics.c) and main() (napdhcpd.c). The NAP side lives in nap.c/nap.h.
 */
#ifndef NAPDHCPD_H
#define NAPDHCPD_H

#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>

#include "nap/dhcp.h"
#include "nap.h"

#define DHCPD_DEFAULT_CONF "/etc/nap/napdhcpd.conf"
#define DHCPD_DEFAULT_STATE_DIR "/var/lib/nap/napdhcpd"

#define DHCPD_MAX_IFACES      32
#define DHCPD_MAX_LISTEN      8
#define DHCPD_MAX_SCOPES      64
#define DHCPD_MAX_CLASSES     32
#define DHCPD_MAX_RANGES      16   /* pool ranges per scope */
#define DHCPD_MAX_ADDRS       8    /* routers, DNS servers */
#define DHCPD_MAX_ROUTES      32   /* classless routes */
#define DHCPD_MAX_POOL_ADDRS  (1u << 22) /* addresses over all pools and reservations */
#define DHCPD_NAME_MAX        63
#define DHCPD_DOMAIN_MAX      253
#define DHCPD_ID_MAX          64   /* client identifier kept per lease */
#define DHCPD_RELAY_MAX       512  /* option 82 echoed */
#define DHCPD_OUT_MAX         1472 /* reply size cap: a 1500-byte MTU less IP and UDP */
#define DHCPD_OUTQ            256  /* replies queued until the journal commit */
#define DHCPD_RX_BATCH        128  /* datagrams read per socket per loop turn */
#define DHCPD_HELD_MAX        8192 /* ACKs waiting for their journal batch */
#define DHCPD_PENDING_DEFAULT 1024 /* requests waiting for a NAP verdict */

#define DHCPD_SERVER_PORT 67
#define DHCPD_CLIENT_PORT 68

/* ---- configuration ---- */

struct dhcpd_range {
	uint32_t start, end; /* host order, inclusive */
};

struct dhcpd_route {
	uint32_t dest; /* host order, masked */
	uint8_t prefix;
	uint32_t gw;
};

struct dhcpd_reservation {
	uint8_t mac[6];
	uint32_t addr;
	char hostname[DHCPD_NAME_MAX + 1];
};

/* Options a scope or a user class hands out; 0/empty = not set. */
struct dhcpd_opts {
	uint32_t routers[DHCPD_MAX_ADDRS];
	size_t n_routers;
	uint32_t dns[DHCPD_MAX_ADDRS];
	size_t n_dns;
	char domain[DHCPD_DOMAIN_MAX + 1];
	struct dhcpd_route routes[DHCPD_MAX_ROUTES];
	size_t n_routes;
	uint32_t lease_time;
};

struct dhcpd_scope {
	char name[DHCPD_NAME_MAX + 1];
	uint32_t net, mask, broadcast;
	uint8_t prefix;
	struct dhcpd_range ranges[DHCPD_MAX_RANGES];
	size_t n_ranges;
	struct dhcpd_opts opts;
	uint32_t lease_time, renew_time, rebind_time; /* renew/rebind 0 = 1/2 and 7/8 */
	uint32_t server_id;                           /* 0 = the interface's address */
	struct dhcpd_reservation *res;                /* sorted by MAC */
	size_t n_res;
	struct dhcpd_scope_nap nap;
};

struct dhcpd_class {
	char name[DHCPD_NAME_MAX + 1];
	struct dhcpd_opts opts;
};

struct dhcpd_config {
	char *path;
	char *ifaces[DHCPD_MAX_IFACES];
	size_t n_ifaces;
	struct sockaddr_in listen[DHCPD_MAX_LISTEN];
	size_t n_listen;
	char *user;
	char *state_dir;
	char *pidfile;
	bool has_metrics;
	struct sockaddr_storage metrics;
	socklen_t metrics_len;
	uint32_t server_id;     /* [server] server_id, 0 = per interface */
	uint32_t offer_timeout; /* seconds an OFFER holds its address */
	uint32_t decline_time;  /* seconds a declined address stays out of the pool */
	uint32_t min_lease;     /* floor for a client's requested lease time (51) */
	size_t pending_max;
	uint32_t journal_compact; /* records before a compaction (floor) */
	struct dhcpd_nap_servers napvd;
	bool has_napvd;
	struct dhcpd_scope *scopes;
	size_t n_scopes;
	struct dhcpd_class *classes;
	size_t n_classes;
};

int dhcpd_config_parse_string(const char *text, const char *name, struct dhcpd_config **out,
			      char *err, size_t err_len);
int dhcpd_config_parse_file(const char *path, struct dhcpd_config **out, char *err,
			    size_t err_len);
void dhcpd_config_free(struct dhcpd_config *c);
void dhcpd_config_print(const struct dhcpd_config *c, FILE *f);
const struct dhcpd_scope *dhcpd_scope_for(const struct dhcpd_config *c, uint32_t addr);
const struct dhcpd_class *dhcpd_class_find(const struct dhcpd_config *c, const char *name);
const struct dhcpd_reservation *dhcpd_reservation_by_mac(const struct dhcpd_scope *s,
							  const uint8_t mac[6]);
void dhcpd_ip_format(uint32_t addr, char *out, size_t cap); /* host order */

/* ---- leases ---- */

enum dhcpd_lease_state {
	DHCPD_LEASE_FREE = 0, /* in the scope's free list (may remember its last owner) */
	DHCPD_LEASE_OFFERED,  /* held in memory for an OFFER or a pending NAP check */
	DHCPD_LEASE_BOUND,
	DHCPD_LEASE_DECLINED, /* quarantined until expires */
};

#define DHCPD_NIL UINT32_MAX

struct dhcpd_lease {
	uint32_t addr;      /* host order */
	uint32_t next, prev;  /* free list or offer list */
	uint32_t hash_next; /* owner hash chain */
	int64_t expires;    /* BOUND, DECLINED: Unix seconds; OFFERED: monotonic ms */
	uint16_t scope;
	uint8_t state;
	uint8_t id_len;     /* 0: no owner */
	bool reserved;      /* a reservation's address: never in the free list */
	bool restricted;    /* last ACK was a restricted configuration */
	uint8_t mac[6];
	uint8_t id[DHCPD_ID_MAX];
};

struct dhcpd_pool_state {
	uint32_t free_head, free_tail, n_free;
	uint32_t offer_head, offer_tail, n_offered;
	uint32_t n_bound, n_declined, n_total;
	uint32_t first, cursor; /* the scope's slots: [first, first + n_total) */
};

struct dhcpd_syncer;

struct dhcpd_journal_stats {
	uint64_t fsyncs, records, compactions, write_errors;
};

struct dhcpd_leases {
	struct dhcpd_lease *l;
	uint32_t n;
	uint32_t *addr_hash; /* open addressing: addr -> index + 1 */
	uint32_t addr_mask;
	uint32_t *id_hash;   /* chained heads: bucket -> index */
	uint32_t id_mask;
	struct dhcpd_pool_state *pools; /* one per scope */
	size_t n_pools;
	uint32_t sweep_at;   /* incremental expiry sweep position */
	/* journal */
	int fd, dirfd;
	char *path;
	char *pending;        /* records written at the next commit */
	size_t pending_len, pending_cap;
	uint64_t records_since_compact;
	uint32_t compact_floor;
	struct dhcpd_journal_stats st;
	struct dhcpd_syncer *sy; /* write + fdatasync thread (daemon only) */
	bool in_flight;          /* a batch is with the syncer */
	uint64_t replay_torn, replay_bad, replay_orphans;
};

/* Build the table for the configuration (all FREE), then replay state_dir's journal. */
int dhcpd_leases_init(struct dhcpd_leases *ls, const struct dhcpd_config *c);
int dhcpd_leases_open(struct dhcpd_leases *ls, const char *state_dir, int64_t now,
		      char *err, size_t err_len);
/* Carry over the bound/declined state of old into ls (same addresses), for a reload. */
void dhcpd_leases_adopt(struct dhcpd_leases *ls, struct dhcpd_leases *old, int64_t now_ms);
void dhcpd_leases_close(struct dhcpd_leases *ls);
struct dhcpd_lease *dhcpd_lease_by_addr(struct dhcpd_leases *ls, uint32_t addr);
struct dhcpd_lease *dhcpd_lease_by_id(struct dhcpd_leases *ls, uint16_t scope,
				      const uint8_t *id, size_t id_len);
bool dhcpd_lease_owned_by(const struct dhcpd_lease *l, const uint8_t *id, size_t id_len);
/* Take a free address out of the scope's pool (reclaiming expired leases and the oldest offer
 * when the free list is empty); NULL when exhausted. */
struct dhcpd_lease *dhcpd_lease_alloc(struct dhcpd_leases *ls, uint16_t scope, int64_t now,
				      int64_t now_ms);
/* State changes. offer/bind/release/decline keep the owner hash and lists consistent; bind,
 * release and decline append a journal record (written by dhcpd_leases_commit()). */
void dhcpd_lease_offer(struct dhcpd_leases *ls, struct dhcpd_lease *l, const uint8_t *id,
		       size_t id_len, const uint8_t mac[6], int64_t until_ms);
int dhcpd_lease_bind(struct dhcpd_leases *ls, struct dhcpd_lease *l, const uint8_t *id,
		     size_t id_len, const uint8_t mac[6], int64_t expires);
int dhcpd_lease_release(struct dhcpd_leases *ls, struct dhcpd_lease *l);
int dhcpd_lease_decline(struct dhcpd_leases *ls, struct dhcpd_lease *l, int64_t until);
bool dhcpd_leases_exclude(struct dhcpd_leases *ls, uint32_t addr);
/* Return an OFFERED address to the pool (no record: offers are not journaled). */
void dhcpd_lease_unoffer(struct dhcpd_leases *ls, struct dhcpd_lease *l);
/* Whether an address is available to this client right now. */
bool dhcpd_lease_usable(const struct dhcpd_lease *l, const uint8_t *id, size_t id_len,
			int64_t now, int64_t now_ms);
/* Expire a bounded number of leases (incremental sweep); returns how many moved. */
size_t dhcpd_leases_sweep(struct dhcpd_leases *ls, size_t budget, int64_t now, int64_t now_ms);
/* Write pending records and fdatasync; compaction when the journal grew. 0 or -errno. */
int dhcpd_leases_commit(struct dhcpd_leases *ls, int64_t now);
int dhcpd_leases_compact(struct dhcpd_leases *ls, int64_t now);
bool dhcpd_leases_dirty(const struct dhcpd_leases *ls);
/* The syncer thread: batches written and fdatasync()ed off the loop; the eventfd signals. */
int dhcpd_leases_sync_start(struct dhcpd_leases *ls);
void dhcpd_leases_sync_stop(struct dhcpd_leases *ls);
int dhcpd_leases_sync_fd(const struct dhcpd_leases *ls);
bool dhcpd_leases_sync_busy(const struct dhcpd_leases *ls);
int dhcpd_leases_sync_submit(struct dhcpd_leases *ls);
int dhcpd_leases_sync_collect(struct dhcpd_leases *ls, int *result, int64_t now);
int dhcpd_leases_sync_wait(struct dhcpd_leases *ls, int64_t now);
uint32_t dhcpd_crc32(const void *p, size_t n);

/* ---- metrics ---- */

enum dhcpd_drop {
	DHCPD_DROP_MALFORMED,
	DHCPD_DROP_NOT_REQUEST,
	DHCPD_DROP_BAD_TYPE,
	DHCPD_DROP_BAD_CLIENT_ID,
	DHCPD_DROP_NO_SCOPE,
	DHCPD_DROP_POOL_EXHAUSTED,
	DHCPD_DROP_OTHER_SERVER,
	DHCPD_DROP_PENDING_FULL,
	DHCPD_DROP_NAP,
	DHCPD_DROP_TOO_BIG,
	DHCPD_DROP_SEND_ERROR,
	DHCPD_DROP_QUEUE_FULL,
	DHCPD_DROP_JOURNAL,
	DHCPD_DROP_COUNT,
};

struct dhcpd_metrics {
	uint64_t rx[9];        /* by message type 1..8, 0 = other */
	uint64_t tx[9];        /* OFFER, ACK, NAK by type */
	uint64_t drops[DHCPD_DROP_COUNT];
	uint64_t silent;       /* requests answered by silence as RFC 2131 asks */
	uint64_t declines;
	uint64_t releases;
	uint64_t informs;
	uint64_t reloads_ok, reloads_error;
};
const char *dhcpd_drop_name(enum dhcpd_drop d);

/* ---- the request handler ---- */

enum dhcpd_dest {
	DHCPD_DEST_UDP,     /* sendto(addr:port) on the receiving socket */
	DHCPD_DEST_L2,      /* packet socket: unicast to mac + yiaddr */
	DHCPD_DEST_L2_BCAST /* packet socket: ff:ff:ff:ff:ff:ff, 255.255.255.255 */
};

/* Where a datagram came from. */
struct dhcpd_rx {
	int sock;            /* index into dhcpd_net's sockets, -1 in tests */
	int ifindex;         /* 0 for a listen socket */
	bool is_listen;      /* a `listen` socket: replies go back to the source */
	uint32_t src;        /* host order */
	uint16_t src_port;
	uint32_t dst;        /* header destination (IP_PKTINFO), 0 unknown */
	uint32_t local;      /* our address on that interface / listen address, 0 unknown */
	int scope;           /* scope of the interface, -1 unknown */
};

struct dhcpd_out {
	enum dhcpd_dest dest;
	int sock;
	int ifindex;
	uint32_t src_ip, dst_ip; /* host order */
	uint16_t dst_port;
	uint8_t mac[6];
	bool needs_commit;
	size_t len;
	uint8_t buf[DHCPD_OUT_MAX];
};

/* A request kept while its NAP verdict is outstanding (and the context of every reply). */
struct dhcpd_req {
	struct nap_dhcp_header hdr;
	int type;
	uint16_t scope;
	struct dhcpd_rx rx;
	uint32_t server_id;
	uint8_t id[DHCPD_ID_MAX];
	uint8_t id_len;
	bool has_prl;
	uint16_t prl_len;
	uint8_t prl[255];
	uint16_t relay_len;
	bool has_relay;
	uint8_t relay[DHCPD_RELAY_MAX];
	size_t max_size;
	uint32_t req_lease;
	bool nap_present; /* option 43 with NAP sub-options */
	bool has_coid;
	uint8_t coid[NAP_DHCP_COID_LEN];
	uint32_t lease_index;
	uint32_t addr;
	bool in_use;
	uint64_t gen;
	struct dhcpd *d;
};

struct dhcpd_pending {
	struct dhcpd_req *slots;
	size_t cap, used;
	uint64_t gen;
};

struct dhcpd {
	struct dhcpd_config *conf;
	struct dhcpd_leases leases;
	struct dhcpd_metrics m;
	struct dhcpd_nap *nap;  /* NULL when no scope has NAP on or no [napvd] */
	struct dhcpd_pending pending;
	int64_t now;    /* Unix seconds */
	int64_t now_ms; /* monotonic */
	/* scratch: one decoded packet, one NAP parse, one builder */
	struct nap_dhcp_packet *pkt;
	struct nap_dhcp_nap *napp;
	struct nap_dhcp_builder *b;
	/* replies of this loop turn */
	struct dhcpd_out *outq;
	size_t n_out;
	/* with the syncer: ACKs waiting for the next batch / for the batch in flight */
	struct dhcpd_out *held_next, *held_fly;
	size_t n_next, n_fly;
	bool async;
	/* send hook (net.c); tests leave it NULL and read outq */
	void (*send)(struct dhcpd *d, const struct dhcpd_out *o);
	void *net;
	int verbose;
};

int dhcpd_init(struct dhcpd *d, struct dhcpd_config *conf);
void dhcpd_free(struct dhcpd *d);
/* Handle one datagram; replies land in d->outq. */
void dhcpd_handle(struct dhcpd *d, const uint8_t *p, size_t len, const struct dhcpd_rx *rx);
/* Commit the journal now (waiting for the syncer), then send (in tests: keep) the replies. */
void dhcpd_commit_and_flush(struct dhcpd *d);
/* Daemon, with the syncer: OFFERs/NAKs go now, ACKs wait for their batch; a batch is handed
 * to the syncer whenever none is in flight. */
int dhcpd_async_start(struct dhcpd *d);
void dhcpd_turn_end(struct dhcpd *d);
void dhcpd_sync_done(struct dhcpd *d);
bool dhcpd_can_read(const struct dhcpd *d);
/* Once a second: offers and leases that ran out go back to their pools. */
void dhcpd_tick(struct dhcpd *d);
void dhcpd_metrics_render(const struct dhcpd *d, FILE *f);

/* ---- sockets (net.c) ---- */

struct dhcpd_sock {
	int fd;
	int ifindex;
	bool is_listen;
	uint32_t local;    /* host order */
	int scope;
	char name[32];
	uint8_t hwaddr[6];
};

struct dhcpd_net {
	struct dhcpd_sock socks[DHCPD_MAX_IFACES + DHCPD_MAX_LISTEN];
	size_t n_socks;
	int packet_fd;
	uint64_t sent, send_errors;
};

int dhcpd_net_open(struct dhcpd_net *n, const struct dhcpd_config *c, char *err, size_t len);
void dhcpd_net_close(struct dhcpd_net *n);
/* Re-resolve interface addresses and scopes (reload, address changes). */
void dhcpd_net_refresh(struct dhcpd_net *n, const struct dhcpd_config *c);
void dhcpd_net_read(struct dhcpd *d, struct dhcpd_net *n, size_t i);
void dhcpd_net_send(struct dhcpd *d, const struct dhcpd_out *o);

/* ---- metrics HTTP (metrics.c) ---- */

struct dhcpd_http;
int dhcpd_http_open(struct dhcpd_http **hp, const struct sockaddr *sa, socklen_t len);
void dhcpd_http_close(struct dhcpd_http *h);
size_t dhcpd_http_pollfds(struct dhcpd_http *h, struct pollfd *pfd, size_t cap);
void dhcpd_http_events(struct dhcpd_http *h, struct dhcpd *d, const struct pollfd *pfd,
		       size_t n, int64_t now_ms);

#endif
