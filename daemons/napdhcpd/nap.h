/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * napdhcpd's NAP side (MS-DHCPN, spec/PROTOCOLS.md §3 and §5): the per-scope NAP knobs, the
 * classification of a request, the asynchronous check with napvd over RADIUS (lib/enforce,
 * include/nap/radclient.h), the verdict cache, and the options of a restricted / probation /
 * NAP-marked reply. Owned by dhcpd-nap; dhcpd-core (config.c, the loop, the reply builder)
 * codes against this file.
 *
 * Build: nap.c needs libnapenforce_dep (lib/enforce, which brings libnap_dep and OpenSSL).
 *
 * How dhcpd-core uses it:
 *
 *   config:  struct dhcpd_scope_nap in each scope, dhcpd_scope_nap_init() first, then
 *            dhcpd_scope_nap_set(sn, key, value, ...) for every key of [scope NAME]: 0 = taken,
 *            1 = not a NAP key (try the others), < 0 = bad value (err says why). Likewise
 *            struct dhcpd_nap_servers + dhcpd_nap_servers_init() + dhcpd_nap_servers_set() for
 *            the [napvd] section.
 *   start:   dhcpd_nap_new(&servers, ...) before dropping privileges (it reads secret_file).
 *            Reload: dhcpd_nap_reconfigure() (pending checks finish on the old servers).
 *   loop:    add dhcpd_nap_pollfds() to the poll set, bound the poll timeout by
 *            dhcpd_nap_next_deadline(), then call dhcpd_nap_events() after every poll()
 *            (it handles both readable fds and expired timers; callbacks run from inside it).
 *   packet:  nap_dhcp_nap_parse() the request (a parse error: pass a zeroed nap, present =
 *            false, and count the bad packet), then d = dhcpd_nap_classify(scope, pkt, nap):
 *              DHCPD_NAP_PLAIN     plain DHCP, no NAP options in the reply;
 *              DHCPD_NAP_MARKER    full configuration + nap_dhcp_add_nap_marker(b, coid)
 *                                  (dhcpd_nap_add_options() with a NULL verdict does it);
 *              DHCPD_NAP_EXEMPT,
 *              DHCPD_NAP_INCAPABLE dhcpd_nap_verdict_local() gives the verdict at once;
 *              DHCPD_NAP_CHECK     dhcpd_nap_query_init() + dhcpd_nap_check(): the reply is
 *                                  built in the callback (maybe at once, from the cache).
 *   reply:   for a verdict v (action DROP: send nothing):
 *              lease = dhcpd_nap_lease_time(v, scope, lease, now_unix)  (T1/T2 from it),
 *              if dhcpd_nap_restricts(v): leave out options 1, 3, 33, 121, 249 of the scope,
 *              then dhcpd_nap_add_options(b, scope, net, v, client_nap) adds option 1
 *              (restricted), the host routes 121 + 249 (restricted), option 43 (SoHR + CoID +
 *              NAP-Mask, or the marker). Apply the options of [class v->user_class] when
 *              v->user_class[0] != '\0' (restricted only: napvd names a class for restricted).
 *   metrics: dhcpd_nap_metrics_write() prints the napdhcpd_nap_* / napdhcpd_napvd_* families.
 *
 * Option 43 is produced as RFC 3396 split instances of 43 when longer than 255 bytes; the
 * Microsoft option-250 long form ([MS-DHCPE] 2.2.9) is never produced (its layout is unknown,
 * the codec keeps it raw).
 */
#ifndef NAPDHCPD_NAP_H
#define NAPDHCPD_NAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "nap/dhcp.h"
#include "nap/radclient.h"

struct pollfd;

#define DHCPD_NAP_MAX_EXEMPT_MACS    256
#define DHCPD_NAP_MAX_EXEMPT_CLASSES 8
#define DHCPD_NAP_NAME_MAX           63  /* user class, service class, machine name */
#define DHCPD_NAP_MAX_REMEDIATION    16  /* IPv4 remediation servers used in routes */
#define DHCPD_NAP_DEFAULT_USER_CLASS "MSFT Quarantine"

/* nap_incapable / nap_fail values. */
enum dhcpd_nap_mode {
	DHCPD_NAP_MODE_FULL = 0,
	DHCPD_NAP_MODE_RESTRICTED,
	DHCPD_NAP_MODE_DROP,
};

/* The NAP knobs of one [scope NAME] section. */
struct dhcpd_scope_nap {
	bool enabled;                       /* nap = on|off (default off) */
	enum dhcpd_nap_mode incapable;      /* nap_incapable (default full) */
	enum dhcpd_nap_mode fail;           /* nap_fail: napvd did not answer (default full) */
	size_t n_exempt_macs;               /* exempt_mac = MAC [MAC ...], repeatable */
	uint8_t exempt_macs[DHCPD_NAP_MAX_EXEMPT_MACS][6];
	size_t n_exempt_classes;            /* exempt_user_class, default "MSFT Quarantine" */
	char exempt_classes[DHCPD_NAP_MAX_EXEMPT_CLASSES][DHCPD_NAP_NAME_MAX + 1];
	bool exempt_classes_set;            /* the first key replaces the default; "none" empties */
	uint32_t restricted_lease_time;     /* seconds (default 300) */
	uint32_t cache_ttl;                 /* verdict_cache_ttl, seconds (default 30, 0 = off) */
	char service_class[DHCPD_NAP_NAME_MAX + 1]; /* MS-Service-Class; "" = not sent */
	/* nap_remediation = IP [IP ...]: host routes for restricted clients when napvd names no
	 * remediation server (NAP-incapable or napvd down with restricted treatment). */
	size_t n_remediation;
	uint8_t remediation[DHCPD_NAP_MAX_REMEDIATION][4];
};

void dhcpd_scope_nap_init(struct dhcpd_scope_nap *sn);
/*
 * One key of a [scope] section. Keys: nap, nap_incapable, nap_fail, exempt_mac,
 * exempt_user_class, restricted_lease_time, verdict_cache_ttl, service_class, nap_remediation.
 * Durations accept nap_parse_duration() forms ("30", "30s", "5m"). MAC lists are separated by
 * spaces or commas, MACs written aa:bb:cc:dd:ee:ff or aa-bb-.. . Returns 0, 1 when key is not a
 * NAP key, or -EINVAL / -E2BIG with a message in err.
 */
int dhcpd_scope_nap_set(struct dhcpd_scope_nap *sn, const char *key, const char *value,
			char *err, size_t len);
const char *dhcpd_nap_mode_name(enum dhcpd_nap_mode m);

/* The [napvd] section. */
#define DHCPD_NAP_MAX_SERVERS NAP_RADCLIENT_MAX_SERVERS
struct dhcpd_nap_servers {
	size_t n_servers;                   /* server = HOST:PORT, repeatable or a list, in order */
	char server[DHCPD_NAP_MAX_SERVERS][128];
	char secret_file[4096];             /* one-line shared secret, mode 0600 */
	uint32_t timeout_ms;                /* timeout (per attempt, default 1s; "500ms" accepted) */
	uint32_t retries;                   /* retransmissions per server (default 1) */
	uint32_t holddown_ms;               /* dead-server holddown (default 30s) */
	char nas_identifier[DHCPD_NAP_NAME_MAX + 1]; /* NAS-Identifier (default "napdhcpd") */
	bool has_nas_ip;
	uint8_t nas_ip[4];                  /* nas_ip = NAS-IP-Address (default: not sent unless
					     * set; dhcpd-core may set it to server_id) */
	size_t cache_size;                  /* verdict_cache_size, entries (default 65536) */
};

void dhcpd_nap_servers_init(struct dhcpd_nap_servers *s);
/*
 * One key of [napvd]: server, secret_file, timeout, retries, holddown, nas_identifier, nas_ip,
 * verdict_cache_size. Returns 0, 1 when not one of them, or -EINVAL with err.
 */
int dhcpd_nap_servers_set(struct dhcpd_nap_servers *s, const char *key, const char *value,
			  char *err, size_t len);

/* ---- the daemon-level object ---- */

struct dhcpd_nap;

/*
 * Read the secret, resolve the servers, make the RADIUS client and the cache. A config with no
 * server is accepted (every check then gets the scope's nap_fail at once). Returns 0 or a
 * negative errno with err set.
 */
int dhcpd_nap_new(const struct dhcpd_nap_servers *servers, struct dhcpd_nap **out, char *err,
		  size_t len);
/*
 * Switch to a new [napvd] config; checks in flight finish against the old servers. Only one old
 * generation drains at a time: checks still waiting on the one before get their scope's nap_fail
 * from inside this call (their callbacks run here).
 */
int dhcpd_nap_reconfigure(struct dhcpd_nap *nap, const struct dhcpd_nap_servers *servers,
			  char *err, size_t len);
/* Free: pending checks are dropped WITHOUT calling their callbacks. NULL is fine. */
void dhcpd_nap_free(struct dhcpd_nap *nap);

/* Poll integration (POLLIN fds; at most 2 * NAP_RADCLIENT_MAX_SOCKETS * 2). */
#define DHCPD_NAP_MAX_POLLFDS (4 * NAP_RADCLIENT_MAX_SOCKETS)
size_t dhcpd_nap_pollfds(const struct dhcpd_nap *nap, struct pollfd *fds, size_t cap);
/* After poll(): read the ready fds among fds[0..n) and run the timers due at now_ms. */
void dhcpd_nap_events(struct dhcpd_nap *nap, const struct pollfd *fds, size_t n, int64_t now_ms);
/* Earliest deadline (monotonic ms, the clock of nap_mono_ms()) or -1. */
int64_t dhcpd_nap_next_deadline(const struct dhcpd_nap *nap);

/* ---- per request ---- */

enum dhcpd_nap_decision {
	DHCPD_NAP_PLAIN = 0, /* NAP off, or nothing NAP about this message: plain DHCP */
	DHCPD_NAP_EXEMPT,    /* exempt user class / MAC: full access, no napvd query */
	DHCPD_NAP_MARKER,    /* DISCOVER/INFORM with a probe or SoH: reply with "NAP" + CoID */
	DHCPD_NAP_CHECK,     /* REQUEST with an SoH: ask napvd (dhcpd_nap_check) */
	DHCPD_NAP_INCAPABLE, /* REQUEST with no SoH / the renew probe: scope's nap_incapable */
	DHCPD_NAP_DECISION_COUNT
};
const char *dhcpd_nap_decision_name(enum dhcpd_nap_decision d);

/*
 * Classify a request (message type from option 53). nap is the parsed option 43 (present false
 * when the client sent none or it did not parse). Table:
 *   scope NAP off                                 -> PLAIN
 *   exempt user class (77) or exempt chaddr       -> EXEMPT (any message type)
 *   DISCOVER, INFORM with a NAP probe or an SoH   -> MARKER
 *   DISCOVER, INFORM without NAP sub-options      -> PLAIN (the REQUEST decides)
 *   REQUEST with an SoH (220 DATA)                -> CHECK
 *   REQUEST with a probe (220 len 0/1) or no SoH  -> INCAPABLE
 *   DECLINE, RELEASE, anything else               -> PLAIN
 */
enum dhcpd_nap_decision dhcpd_nap_classify(const struct dhcpd_scope_nap *sn,
					   const struct nap_dhcp_packet *pkt,
					   const struct nap_dhcp_nap *nap);

enum dhcpd_nap_action {
	DHCPD_NAP_ACT_FULL = 0,
	DHCPD_NAP_ACT_RESTRICTED,
	DHCPD_NAP_ACT_PROBATION,
	DHCPD_NAP_ACT_DROP, /* no reply at all (Access-Reject, or drop mode) */
	DHCPD_NAP_ACT_COUNT
};
const char *dhcpd_nap_action_name(enum dhcpd_nap_action a);

/* Where a verdict came from (metrics label "source"). */
enum dhcpd_nap_source {
	DHCPD_NAP_SRC_NAPVD = 0, /* napvd answered */
	DHCPD_NAP_SRC_CACHE,     /* cached napvd answer */
	DHCPD_NAP_SRC_FAIL,      /* napvd did not answer: scope's nap_fail */
	DHCPD_NAP_SRC_INCAPABLE, /* no SoH: scope's nap_incapable */
	DHCPD_NAP_SRC_EXEMPT,    /* exempt user class / MAC */
	DHCPD_NAP_SRC_COUNT
};
const char *dhcpd_nap_source_name(enum dhcpd_nap_source s);

#define DHCPD_NAP_SOHR_MAX NAP_DHCP_NAP_SOH_MAX

struct dhcpd_nap_verdict {
	enum dhcpd_nap_action action;
	enum dhcpd_nap_source source;
	bool from_cache;                 /* source == CACHE */
	bool timed_out;                  /* source == FAIL */
	int64_t grace_until;             /* PROBATION: MS-Quarantine-Grace-Time (Unix s), 0 none */
	size_t n_remediation;            /* MS-IPv4-Remediation-Servers (or the scope's fallback) */
	uint8_t remediation[DHCPD_NAP_MAX_REMEDIATION][4];
	char user_class[DHCPD_NAP_NAME_MAX + 1]; /* MS-Quarantine-User-Class, "" when none */
	size_t sohr_len;                 /* the SoHR for sub-option 220, 0 when none */
	uint8_t sohr[DHCPD_NAP_SOHR_MAX];
	int64_t latency_ms;              /* napvd round trip (SRC_NAPVD), else 0 */
};

/* Verdict for EXEMPT (full) or INCAPABLE (scope's nap_incapable), counted in the metrics.
 * nap may be NULL (no counting). */
void dhcpd_nap_verdict_local(struct dhcpd_nap *nap, const struct dhcpd_scope_nap *sn,
			     enum dhcpd_nap_decision d, struct dhcpd_nap_verdict *v);

/* What dhcpd_nap_check() needs, copied at the call (the packet may go away afterwards). */
struct dhcpd_nap_query {
	const struct dhcpd_scope_nap *sn; /* read during dhcpd_nap_check() only */
	uint8_t mac[6];
	const uint8_t *soh;   /* the SoH from sub-option 220 */
	size_t soh_len;
	char machine_name[DHCPD_NAP_NAME_MAX + 1]; /* "" = none (napvd then uses the SSoH's) */
	uint32_t xid;         /* for logs */
};

/*
 * Fill q from a classified CHECK request: MAC from chaddr, SoH from nap, machine name from
 * option 81 (client FQDN, the name as sent, wire-format labels turned into dots), else option
 * 12 (host name), else the SSoH's machine name. q points into nap (soh): call
 * dhcpd_nap_check() before nap goes away.
 */
void dhcpd_nap_query_init(struct dhcpd_nap_query *q, const struct dhcpd_scope_nap *sn,
			  const struct nap_dhcp_packet *pkt, const struct nap_dhcp_nap *nap);

typedef void dhcpd_nap_done_fn(void *arg, const struct dhcpd_nap_verdict *v);

/*
 * Check the SoH with napvd: Access-Request (Service-Type Authorize-Only, MS-NAS-Type DHCP,
 * MS-Quarantine-SoH split, MS-Machine-Name, MS-Service-Class, Calling-Station-Id = MAC,
 * NAS-IP-Address, NAS-Identifier, Message-Authenticator), answer mapped to a verdict:
 * Access-Accept + MS-Quarantine-State 0/1/2 -> FULL / RESTRICTED / PROBATION, Access-Reject ->
 * DROP, no answer from any server -> the scope's nap_fail (timed_out). A cached verdict (same
 * MAC and SHA-256 of the SoH, younger than the scope's verdict_cache_ttl) calls done AT ONCE,
 * before this function returns. Otherwise done runs later from dhcpd_nap_events(). The verdict
 * pointer is valid during the callback only.
 * Returns 0 (done was or will be called exactly once) or a negative errno (done is never
 * called: e.g. -ENOBUFS when too many checks are in flight; treat as nap_fail).
 */
int dhcpd_nap_check(struct dhcpd_nap *nap, const struct dhcpd_nap_query *q, int64_t now_ms,
		    dhcpd_nap_done_fn *done, void *arg);

/*
 * The mapping dhcpd_nap_check() applies to an authenticated napvd answer (exposed for the tests
 * and the fuzzer): Access-Reject -> DROP; Access-Accept with MS-Quarantine-State 0/1/2 (absent =
 * 0) -> FULL / RESTRICTED / PROBATION with MS-Quarantine-Grace-Time, MS-IPv4-Remediation-Servers
 * (every well-formed VSA, at most DHCPD_NAP_MAX_REMEDIATION), MS-Quarantine-User-Class
 * (printable, <= 63 bytes, else ignored) and the SoHR (MS-Quarantine-SoH VSAs concatenated;
 * dropped when over DHCPD_NAP_SOHR_MAX). False for anything else (another code, another state).
 */
struct nap_radius_packet;
bool dhcpd_nap_map_reply(const struct nap_radius_packet *r, struct dhcpd_nap_verdict *v);

/* ---- reply building ---- */

/* What the scope's network looks like (for the restricted routes). */
struct dhcpd_nap_net {
	uint8_t subnet[4]; /* network address */
	uint8_t mask[4];   /* the real mask (goes into NAP-Mask when restricted) */
	bool has_router;
	uint8_t router[4]; /* first router of the scope: gateway of the host routes */
};

/* True for RESTRICTED: leave out the scope's options 1, 3, 33, 121 and 249. */
bool dhcpd_nap_restricts(const struct dhcpd_nap_verdict *v);
/*
 * Lease time to offer: RESTRICTED -> min(lease, restricted_lease_time); PROBATION -> capped so
 * the lease ends no later than grace_until (at least 1 s); otherwise lease. v may be NULL.
 */
uint32_t dhcpd_nap_lease_time(const struct dhcpd_nap_verdict *v, const struct dhcpd_scope_nap *sn,
			      uint32_t lease, int64_t now_unix);
/*
 * Add the NAP options to a reply being built:
 *   v NULL (MARKER): option 43 = "NAP" marker + the client's CoID.
 *   RESTRICTED: option 1 = 255.255.255.255; options 121 and 249 (RFC 3442) = router/32 on-link
 *     (gateway 0.0.0.0), then each remediation server /32 via the router (on-link when it is
 *     inside the subnet, or when there is no router); option 43 = SoHR (or the marker when
 *     napvd sent none) + CoID + NAP-Mask (the real mask).
 *   FULL / PROBATION: option 43 = SoHR + CoID when there is an SoHR, else the marker + CoID.
 *   EXEMPT/INCAPABLE verdicts of a non-NAP client (client_nap NULL or not present): nothing.
 * client_nap: the request's parsed option 43 (CoID echoed), may be NULL. Returns 0 or the
 * builder's error (-EMSGSIZE).
 */
int dhcpd_nap_add_options(struct nap_dhcp_builder *b, const struct dhcpd_scope_nap *sn,
			  const struct dhcpd_nap_net *net, const struct dhcpd_nap_verdict *v,
			  const struct nap_dhcp_nap *client_nap);

/* ---- metrics ---- */

#define DHCPD_NAP_LAT_BUCKETS 10
extern const double dhcpd_nap_lat_bounds[DHCPD_NAP_LAT_BUCKETS]; /* seconds */

struct dhcpd_nap_stats {
	uint64_t decisions[DHCPD_NAP_DECISION_COUNT];
	uint64_t verdicts[DHCPD_NAP_SRC_COUNT][DHCPD_NAP_ACT_COUNT];
	uint64_t cache_hits, cache_misses, cache_evictions, cache_entries;
	uint64_t checks_started;   /* Access-Requests started */
	uint64_t checks_coalesced; /* joined a check in flight for the same MAC + SoH */
	uint64_t checks_refused;   /* dhcpd_nap_check() < 0 */
	uint64_t bad_replies; /* Access-Accept that did not map (bad state value): nap_fail used */
	uint64_t lat_buckets[DHCPD_NAP_LAT_BUCKETS]; /* per bucket, not cumulative */
	uint64_t lat_count;
	double lat_sum;       /* seconds */
	struct nap_radclient_stats radius;
};
void dhcpd_nap_get_stats(const struct dhcpd_nap *nap, struct dhcpd_nap_stats *st);
/* dhcpd-core calls this after classify for the decisions counter. */
void dhcpd_nap_count_decision(struct dhcpd_nap *nap, enum dhcpd_nap_decision d);
/*
 * Print the Prometheus families (HELP/TYPE + samples): napdhcpd_nap_decisions_total{decision},
 * napdhcpd_nap_verdicts_total{source,action}, napdhcpd_nap_cache_{hits,misses,evictions}_total,
 * napdhcpd_nap_cache_entries, napdhcpd_napvd_latency_seconds (histogram),
 * napdhcpd_napvd_requests_total, napdhcpd_napvd_timeouts_total, napdhcpd_napvd_failovers_total,
 * napdhcpd_napvd_retransmits_total, napdhcpd_napvd_bad_replies_total{reason},
 * napdhcpd_napvd_server_up{server}, napdhcpd_napvd_outstanding. Returns 0 or -EIO.
 */
int dhcpd_nap_metrics_write(const struct dhcpd_nap *nap, FILE *f);

#endif
