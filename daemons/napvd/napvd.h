/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * napvd, the SHV point: internal interfaces between its modules (configuration, event loop,
 * RADIUS front end, duplicate cache, decision engine, HSR source, status spool, metrics).
 * Nothing here is part of libnap's public API.
 */
#ifndef NAPVD_H
#define NAPVD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "nap/radius.h"
#include "nap/validate.h"

#define NAPVD_DEFAULT_CONF     "/etc/nap/napvd.conf"
#define NAPVD_DEFAULT_PORT     1812
#define NAPVD_MAX_LISTEN       16
#define NAPVD_MAX_CLIENTS      1024
#define NAPVD_NAME_MAX         63   /* section names (client, enforcement) */
#define NAPVD_SECRET_MAX       256  /* RADIUS shared secret bytes */
#define NAPVD_MAX_KNOWN_ERRORS 64
#define NAPVD_MAX_REMEDIATION  32   /* IPv4 remediation servers: 1 + 32*4 bytes fit one VSA */
#define NAPVD_USER_CLASS_MAX   200
#define NAPVD_CONF_MAX_LEN     (1024 * 1024)
#define NAPVD_BATCH            256  /* datagrams per recvmmsg/sendmmsg (one group commit) */
#define NAPVD_HSR_MAX_URIS     16   /* [hsr] uri: directory servers tried in order */
#define NAPVD_BIND_PW_MAX      1024 /* [hsr] bind_password_file: bytes of the password */
#define NAPVD_HSR_DEFAULT_FILTER "(objectClass=napHealthStateReference)"

/* Duplicate cache (RFC 5080 §2.2.2) bounds. */
#define NAPVD_DUP_MAX_ENTRIES 65536
#define NAPVD_DUP_MAX_BYTES   (32u * 1024 * 1024)

/* ---- configuration (config.c) ---- */

struct napvd_sockaddr {
	struct sockaddr_storage ss;
	socklen_t len;
};

struct napvd_client {
	char name[NAPVD_NAME_MAX + 1];
	int family;        /* AF_INET or AF_INET6 */
	uint8_t net[16];   /* network address, host bits cleared */
	unsigned prefix;   /* prefix length */
	uint8_t secret[NAPVD_SECRET_MAX];
	size_t secret_len;
	char *secret_file; /* NULL when the secret is inline */
	struct nap_radius_secret *keyed; /* the secret prepared for the request path */
	bool has_address;
};

/* The three situations an enforcement section maps to an action. */
enum napvd_class {
	NAPVD_CLASS_COMPLIANT = 0,
	NAPVD_CLASS_NONCOMPLIANT,
	NAPVD_CLASS_NONCAPABLE,
	NAPVD_CLASS_COUNT
};

struct napvd_enforcement {
	bool present; /* an [enforcement X] section exists */
	enum nap_action action[NAPVD_CLASS_COUNT];
	unsigned wsh_checks;
	uint8_t remediation[NAPVD_MAX_REMEDIATION][4]; /* IPv4 addresses as on the wire */
	size_t n_remediation;
	char user_class[NAPVD_USER_CLASS_MAX + 1];
	int64_t probation; /* seconds */
};

/* [hsr] persist: use RFC 4533 refreshAndPersist when the directory offers it. */
enum napvd_hsr_persist {
	NAPVD_PERSIST_AUTO = 0,
	NAPVD_PERSIST_NO,
};

enum napvd_spool_sync_mode {
	NAPVD_SYNC_BATCH = 0, /* reply at once; fdatasync continuously in the background */
	NAPVD_SYNC_REPLY,     /* a reply waits for the fdatasync covering its record */
};

struct napvd_config {
	char *path;
	/* [napvd] */
	struct napvd_sockaddr listen[NAPVD_MAX_LISTEN];
	size_t n_listen;
	bool has_metrics;
	struct napvd_sockaddr metrics;
	char *user;
	char *state_dir;
	uint64_t spool_max;
	enum napvd_spool_sync_mode spool_sync;
	int64_t dup_cache_ttl;
	char *pidfile;
	/* [hsr] */
	char *hsr_source;
	char *hsr_file;
	char *hsr_trusted_keys;
	int64_t hsr_query_interval;
	int64_t hsr_max_age;
	char (*sites)[NAP_SITE_MAX + 1];
	size_t n_sites;
	/* [hsr] for source = ldap */
	char *hsr_uris[NAPVD_HSR_MAX_URIS];
	size_t n_hsr_uris;
	char *hsr_base;
	char *hsr_filter;
	char *hsr_bind_dn;
	char *hsr_bind_password_file;
	char *hsr_bind_password; /* NUL-terminated, wiped on free; never printed */
	bool hsr_starttls;
	char *hsr_ca_file;
	int64_t hsr_timeout; /* seconds: connect, TLS, bind and each search */
	enum napvd_hsr_persist hsr_persist;
	/* [validation] */
	struct nap_validate_config vc;
	uint32_t known_errors[NAPVD_MAX_KNOWN_ERRORS];
	/* [client X] */
	struct napvd_client *clients;
	size_t n_clients;
	/* [enforcement X] */
	struct napvd_enforcement enforcement[NAP_EP_COUNT];
	/* [managed]: the settings file napsited writes over SMB (managed.c) */
	char *managed_file;
	int64_t managed_check_interval; /* seconds */
	/* [status]: ship the spool to the site server's inbox share (shipper.c) */
	char *status_ship;        /* smb://HOST[:PORT]/SHARE[/DIR], NULL: not shipped */
	char *status_credentials; /* smbclient -A format file */
	int64_t status_ship_interval; /* seconds */
	uint32_t status_batch_max;    /* records per batch file */
	uint64_t status_segment;      /* spool segment size (rotation), bytes */
};

/*
 * Keys that replace napvd.conf's ([hsr] and [validation] keys of the managed settings file,
 * see managed.c): napvd.conf's lines of an overlaid key are skipped and the overlay's values
 * go through the same key parser and the same checks across sections.
 */
struct napvd_overlay_kv {
	char *section, *key, *value;
};
struct napvd_overlay {
	const char *name; /* for messages: the managed file */
	struct napvd_overlay_kv *kv;
	size_t n;
};

/* Parse and validate. On error returns a negative errno and writes a message into err. */
int napvd_config_parse_file(const char *path, struct napvd_config **out, char *err,
			    size_t err_len);
int napvd_config_parse_string(const char *text, const char *name, struct napvd_config **out,
			      char *err, size_t err_len);
/* The same with an overlay (NULL: none). */
int napvd_config_parse_file_overlay(const char *path, const struct napvd_overlay *ov,
				    struct napvd_config **out, char *err, size_t err_len);
int napvd_config_parse_string_overlay(const char *text, const char *name,
				      const struct napvd_overlay *ov, struct napvd_config **out,
				      char *err, size_t err_len);
void napvd_config_free(struct napvd_config *c);
void napvd_config_print(const struct napvd_config *c, FILE *f);
/* Warnings about contradicting timers; returns how many were printed. */
int napvd_config_warnings(const struct napvd_config *c, FILE *f);
const struct napvd_client *napvd_client_lookup(const struct napvd_config *c,
					       const struct sockaddr *sa);
int napvd_sockaddr_parse(const char *s, uint16_t default_port, struct napvd_sockaddr *out);
void napvd_sockaddr_format(const struct sockaddr *sa, char *out, size_t cap, bool with_port);
bool napvd_sockaddr_equal(const struct napvd_sockaddr *a, const struct napvd_sockaddr *b);

/* ---- clock (event.c): injectable for tests ---- */

struct napvd_clock {
	int64_t (*mono_ms)(void *arg); /* monotonic milliseconds */
	int64_t (*real_s)(void *arg);  /* Unix seconds */
	void *arg;
};
extern const struct napvd_clock napvd_clock_system;

static inline int64_t
napvd_mono_ms(const struct napvd_clock *c)
{
	return c->mono_ms(c->arg);
}

static inline int64_t
napvd_real_s(const struct napvd_clock *c)
{
	return c->real_s(c->arg);
}

/* ---- event loop (event.c) ---- */

struct napvd_io;
typedef void napvd_io_cb(struct napvd_io *io, uint32_t events);
struct napvd_io {
	int fd;
	napvd_io_cb *cb;
	void *arg;
};

struct napvd_ev {
	int epfd;
	bool quit;
	unsigned generation; /* bumped when handlers go away; stops the current dispatch */
};

int napvd_ev_init(struct napvd_ev *ev);
void napvd_ev_close(struct napvd_ev *ev);
int napvd_ev_add(struct napvd_ev *ev, struct napvd_io *io, uint32_t events);
void napvd_ev_del(struct napvd_ev *ev, struct napvd_io *io);
int napvd_ev_run_once(struct napvd_ev *ev, int timeout_ms);
/* Periodic timerfd. */
int napvd_timer_open(void);
int napvd_timer_set(int fd, int64_t first_ms, int64_t interval_ms);
/* Read and discard the expiration count of a timerfd. */
void napvd_timer_ack(int fd);

/* ---- duplicate cache (dupcache.c) ---- */

struct napvd_dup_key {
	uint8_t family;
	uint8_t addr[16];
	uint16_t port;
	uint8_t id;
	uint8_t auth[NAP_RADIUS_AUTH_LEN];
};

struct napvd_dup_entry {
	struct napvd_dup_key key;
	int64_t at_ms;
	uint32_t off, len; /* reply bytes in the byte ring */
	int32_t next;      /* hash chain */
	uint32_t hash;
};

struct napvd_dupcache {
	struct napvd_dup_entry *e; /* FIFO ring of max_entries */
	int32_t *buckets;
	uint32_t n_buckets; /* power of two */
	uint32_t max_entries, head, count;
	uint8_t *bytes;
	uint32_t max_bytes, wpos;
	int64_t ttl_ms;
	uint64_t evicted;
};

int napvd_dup_init(struct napvd_dupcache *dc, uint32_t max_entries, uint32_t max_bytes,
		   int64_t ttl_ms);
void napvd_dup_free(struct napvd_dupcache *dc);
void napvd_dup_key_make(struct napvd_dup_key *k, const struct sockaddr *sa, uint8_t id,
			const uint8_t auth[NAP_RADIUS_AUTH_LEN]);
/* Cached reply for key, or NULL (expired entries are never returned). */
const uint8_t *napvd_dup_lookup(struct napvd_dupcache *dc, const struct napvd_dup_key *k,
				int64_t now_ms, size_t *len);
int napvd_dup_insert(struct napvd_dupcache *dc, const struct napvd_dup_key *k, int64_t now_ms,
		     const uint8_t *reply, size_t len);
void napvd_dup_expire(struct napvd_dupcache *dc, int64_t now_ms);

/* ---- metrics (metrics.c) ---- */

enum napvd_drop {
	NAPVD_DROP_UNKNOWN_CLIENT = 0,
	NAPVD_DROP_MALFORMED,
	NAPVD_DROP_NO_MSG_AUTH,
	NAPVD_DROP_BAD_AUTH,
	NAPVD_DROP_UNSUPPORTED_CODE,
	NAPVD_DROP_INTERNAL,
	NAPVD_DROP_COUNT
};

enum napvd_hsr_refresh_result {
	NAPVD_REFRESH_OK = 0,
	NAPVD_REFRESH_UNCHANGED,
	NAPVD_REFRESH_ERROR,
	NAPVD_REFRESH_COUNT
};

#define NAPVD_LAT_BUCKETS 9

struct napvd_metrics {
	uint64_t requests[256]; /* by RADIUS code */
	uint64_t verdicts[NAP_RESULT_COUNT];
	uint64_t branches[NAP_BRANCH_COUNT];
	uint64_t actions[NAP_ACTION_COUNT][NAP_EP_COUNT];
	uint64_t drops[NAPVD_DROP_COUNT];
	uint64_t duplicates;
	uint64_t malformed_soh;
	uint64_t lat_buckets[NAPVD_LAT_BUCKETS]; /* cumulative at render time */
	uint64_t lat_count;
	double lat_sum;
	uint64_t hsr_refresh[NAPVD_REFRESH_COUNT];
	uint64_t hsr_reads_on_request_path;
	uint64_t spool_records;
	uint64_t spool_overflow;
	uint64_t spool_errors;
	uint64_t spool_syncs;
	uint64_t spool_sync_ns;   /* time in fdatasync */
	uint64_t replies_durable; /* decisions whose record a completed sync covers */
	uint64_t replies_held;    /* spool_sync = reply: replies queued until their sync */
	uint64_t reloads_ok, reloads_error;
};

extern const double napvd_lat_bounds[NAPVD_LAT_BUCKETS];
void napvd_metrics_observe_latency(struct napvd_metrics *m, double seconds);
const char *napvd_drop_name(enum napvd_drop d);

/* ---- HSR source (hsr_source.c, hsr_ldap.c) ---- */

/* Why a directory entry was not taken (napvd_hsr_rejected_total{reason}). */
enum napvd_hsr_reject {
	NAPVD_REJECT_MISSING_ATTRIBUTE = 0, /* napSiteCode, napHsrRevision or napHsrDocument */
	NAPVD_REJECT_BAD_VALUE,             /* several values, or not a site code / number */
	NAPVD_REJECT_MALFORMED,             /* the document does not parse (or holds != 1 HSR) */
	NAPVD_REJECT_SIGNATURE,             /* bad signature or a key not in trusted_keys */
	NAPVD_REJECT_MISMATCH,              /* site, revision or digest attribute disagree */
	NAPVD_REJECT_ROLLBACK,              /* revision lower than the one in use */
	NAPVD_REJECT_CONFLICT,              /* same revision, another document */
	NAPVD_REJECT_COUNT
};
const char *napvd_hsr_reject_name(enum napvd_hsr_reject r);

/*
 * Counters of a source that works in a thread of its own (the LDAP source); read with atomics
 * by the metrics renderer. Sources without them leave has_ldap false.
 */
struct napvd_hsr_stats {
	bool has_ldap;
	bool up;      /* the last directory read succeeded */
	bool persist; /* a refreshAndPersist search is running */
	uint64_t searches;      /* HSR searches sent (not root DSE reads) */
	uint64_t errors;        /* failed connects, binds and searches */
	uint64_t notifications; /* change notifications from the persistent search */
	uint64_t rejected[NAPVD_REJECT_COUNT];
	uint64_t reads_off_thread; /* directory reads outside the source's thread (must stay 0) */
};

struct nap_hsr_source_ops {
	const char *name;
	int (*open)(const struct napvd_config *conf, void **state, char *err, size_t err_len);
	/*
	 * 0 new set in *out, 1 unchanged (*out untouched), 2 nothing to report since the last call,
	 * negative errno on failure. *read_at: Unix seconds of the read that produced the answer,
	 * or 0 for "now".
	 */
	int (*refresh)(void *state, struct nap_hsr_set **out, int64_t *read_at, char *err,
		       size_t err_len);
	void (*close)(void *state);
	/* Optional: sources that read in a thread of their own. Start it after daemon(). */
	int (*start)(void *state);
	/* Optional: an fd that becomes readable when refresh has something to report. */
	int (*event_fd)(void *state);
	/* Optional: counters for the metrics. */
	void (*stats)(void *state, struct napvd_hsr_stats *out);
};
const struct nap_hsr_source_ops *napvd_hsr_source_find(const char *name);
const char *napvd_hsr_source_names(void);
extern const struct nap_hsr_source_ops napvd_hsr_ldap_ops;

/* One directory entry as the LDAP source checks it (untrusted values, not NUL-terminated). */
struct napvd_hsr_value {
	const char *p; /* the first value, NULL when there is none */
	size_t len;
};
struct napvd_hsr_entry {
	const char *dn; /* for log lines; escaped there */
	struct napvd_hsr_value site, revision, document, digest;
	unsigned n_site, n_revision, n_document, n_digest; /* how many values each has */
};
/*
 * What the LDAP source's thread does after a search the directory answered, without a
 * directory (unit tests, the fuzzer): check the entries against the documents in use, keep the
 * good ones, hand a new set over (refresh() collects it) and save the copy in state_dir. state
 * comes from napvd_hsr_ldap_ops.open(). Returns 1 when the documents changed, 0 when not, or
 * a negative errno.
 */
int napvd_hsr_ldap_apply(void *state, const struct napvd_hsr_entry *v, size_t n, int64_t now,
			 char *err, size_t err_len);

struct napvd_hsr_cache {
	const struct nap_hsr_source_ops *ops;
	void *state;
	struct nap_hsr_set *set;
	size_t set_n_total; /* entries before filtering to the trusted sites */
	int64_t refreshed_at; /* Unix seconds of the last good refresh, 0 never */
	struct napvd_hsr_stats closed; /* counters of the sources closed by reloads */
};

int napvd_hsr_open(struct napvd_hsr_cache *hc, const struct napvd_config *conf, char *err,
		   size_t err_len);
/* Start the source's thread, if it has one (after daemon()). */
int napvd_hsr_start(struct napvd_hsr_cache *hc);
/* The fd to watch for napvd_hsr_refresh(), -1 when the source has none (timer only). */
int napvd_hsr_event_fd(const struct napvd_hsr_cache *hc);
/* Refresh; on failure the old set stays. Counts into m. */
int napvd_hsr_refresh(struct napvd_hsr_cache *hc, const struct napvd_config *conf,
		      struct napvd_metrics *m, int64_t now_s);
/* Reload: close the running source (its thread stops) and put next's in; the set stays. */
void napvd_hsr_replace(struct napvd_hsr_cache *hc, struct napvd_hsr_cache *next);
/* Counters of the running source plus those of the sources closed before it. */
void napvd_hsr_stats(const struct napvd_hsr_cache *hc, struct napvd_hsr_stats *out);
void napvd_hsr_close(struct napvd_hsr_cache *hc);
/* Keep only the HSRs of the given sites (n_sites == 0 keeps all). */
void napvd_hsr_filter(struct nap_hsr_set *set, size_t *n_total, char (*sites)[NAP_SITE_MAX + 1],
		      size_t n_sites);
void napvd_hsr_set_release(struct nap_hsr_set *set, size_t n_total);

/* ---- status spool (status_spool.c) ---- */

#define NAPVD_SPOOL_NAME       "spool"
#define NAPVD_SPOOL_RECORD_MAX 1024
#define NAPVD_SPOOL_PENDING    (NAPVD_BATCH * NAPVD_SPOOL_RECORD_MAX)

struct napvd_spool_record {
	int64_t time;
	const char *nas;        /* client NAS address text */
	const char *client;     /* [client X] name */
	const uint8_t *machine; /* untrusted bytes, may be NULL */
	size_t machine_len;
	const char *site;
	const char *result, *branch, *action, *enforcement;
	const char *exemption; /* branch exempt: the HSR exemption id, else NULL */
	uint64_t hsr_revision;
	const uint8_t *correlation_id; /* NAP_CORRELATION_ID_LEN bytes or NULL */
	/* set by napvd_spool_append: the id "<instance>-<seq>" (no id when instance is NULL) */
	const char *instance;
	uint64_t seq;
};

#define NAPVD_SPOOL_CHUNK      (1024 * 1024) /* preallocation step, zero-filled once */
/*
 * spool_sync = batch: least time between the starts of two fdatasyncs. Syncing back to back
 * (2-3k syncs/s on the reference disk) cost the sync thread a fifth of a core and doubled the
 * p99 latency on a 2-core machine; the power-loss window stays within about 3 ms.
 */
#define NAPVD_SPOOL_SYNC_SPACING_US 2000

/* The durability step, fdatasync by default; tests inject slow or failing ones. */
typedef int napvd_sync_fn(int fd);
struct napvd_spool_sync;

struct napvd_spool {
	int fd;            /* -1: spool disabled (tests, fuzzing) */
	int dirfd;
	uint64_t size;     /* logical end: bytes of records */
	uint64_t alloc;    /* bytes preallocated (zero-filled) on disk, >= size */
	uint64_t max;
	uint64_t written;  /* records written into the file since open */
	uint64_t durable;  /* of those, covered by a completed fdatasync */
	struct napvd_spool_sync *sync; /* the sync thread, NULL: synchronous commits */
	/* Status message ids and segments (napvd_spool_status_setup; off until it runs). */
	char instance[17];  /* "" : records carry no id */
	uint64_t seq_next;  /* sequence of the next record */
	uint64_t first_seq; /* sequence of the first record in the active file */
	uint64_t segment;   /* rotate the active file past this size; 0: never */
	size_t pending_len;
	unsigned pending_records;
	char pending[NAPVD_SPOOL_PENDING];
};

int napvd_spool_open(struct napvd_spool *sp, const char *dir, uint64_t max, uint64_t *truncated);
/*
 * Status message ids and segments, after napvd_spool_open: the instance id from
 * dir/instance (created once, random, fsync'ed), the next sequence recovered from the records
 * in the spool files and dir/shipped (never reused), and rotation of the active file into
 * spool.<first seq> segments when shipping is configured. Returns 0 or a negative errno with
 * a message in err.
 */
int napvd_spool_status_setup(struct napvd_spool *sp, const char *dir,
			     const struct napvd_config *c, char *err, size_t err_len);
/* The shipper removed a fully shipped segment of this many bytes. */
void napvd_spool_segment_removed(uint64_t bytes);
/* Bytes in segments not yet removed (gauge). */
uint64_t napvd_spool_segment_bytes(void);
/* The sequence of a record line starting {"id":"<16 hex>-<seq>", or 0 when it has none. */
uint64_t napvd_spool_line_seq(const char *line, size_t len);
#define NAPVD_INSTANCE_NAME "instance"
#define NAPVD_SHIPPED_NAME  "shipped"

/* ---- shipper (shipper.c): the spool to the site server's inbox share over SMB ---- */

struct napvd_ship_stats {
	uint64_t shipped_total;   /* records shipped */
	uint64_t batches_total;   /* batch files written */
	uint64_t errors_total;    /* failed ship attempts */
	uint64_t backlog_records; /* durable records not yet shipped (last pass) */
	uint64_t backlog_bytes;
	int64_t lag_seconds; /* age of the oldest unshipped record, 0 when none */
	uint64_t shipped_seq; /* last sequence shipped */
	bool enabled;
};
/* Before dropping privileges: read the credentials, remember the configuration. */
int napvd_shipper_open(const struct napvd_config *c, char *err, size_t err_len);
/* After daemon(): start the thread. */
int napvd_shipper_start(void);
void napvd_shipper_stop(void);
void napvd_shipper_stats(struct napvd_ship_stats *out);
/*
 * SIGHUP: prepare a new shipper when [status] (or state_dir, while shipping) changed (reads the
 * credentials: they must be readable by napvd's user; *out NULL when nothing changed), then
 * commit (cannot fail; the old thread finishes its pass, the new one waits for it) or abort.
 */
struct napvd_shipper_change;
int napvd_shipper_prepare(const struct napvd_config *cur, const struct napvd_config *next,
			  struct napvd_shipper_change **out, char *err, size_t err_len);
void napvd_shipper_commit(struct napvd_shipper_change *ch);
void napvd_shipper_abort(struct napvd_shipper_change *ch);
/* Read dir/shipped: the last sequence shipped, 0 when none. */
uint64_t napvd_shipped_read(const char *dir);
/* Stop the sync thread (after its last sync) and close. Does not write pending records. */
void napvd_spool_close(struct napvd_spool *sp);
/* Format one record as a JSON line into out; returns its length or a negative errno. */
int napvd_spool_format(const struct napvd_spool_record *r, char *out, size_t cap);
/* Queue a record for the next write. 0, or -ENOSPC when over spool_max (counted). */
int napvd_spool_append(struct napvd_spool *sp, const struct napvd_spool_record *r,
		       struct napvd_metrics *m);
/* Write the queued records into the file (no sync): they survive a crash of napvd. */
int napvd_spool_write(struct napvd_spool *sp, struct napvd_metrics *m);
/* Write the queued records and wait until every written record is durable. */
int napvd_spool_commit(struct napvd_spool *sp, struct napvd_metrics *m);
/*
 * Start the sync thread (after daemon(): fork keeps no threads). fn NULL: fdatasync. With
 * notify, the eventfd becomes readable after each sync; without, progress is collected lazily.
 */
int napvd_spool_sync_start(struct napvd_spool *sp, napvd_sync_fn *fn, bool notify);
/* The eventfd that becomes readable after each sync (notify), -1 without the thread. */
int napvd_spool_sync_fd(const struct napvd_spool *sp);
/* Ask the thread to make every written record durable (group commit, at most one in flight). */
void napvd_spool_sync_request(struct napvd_spool *sp);
/* Count the thread's progress into m (no wait); returns the durable record count. */
uint64_t napvd_spool_sync_collect(struct napvd_spool *sp, struct napvd_metrics *m);
/* After the eventfd fired: collect the thread's progress; returns the durable record count. */
uint64_t napvd_spool_sync_poll(struct napvd_spool *sp, struct napvd_metrics *m);
/* Block until every written record is durable; returns the durable record count. */
uint64_t napvd_spool_sync_wait(struct napvd_spool *sp, struct napvd_metrics *m);
/*
 * Recover a spool file: the logical end is the first NUL byte or malformed line; whatever
 * follows it that is not zero is zeroed. Returns the bytes cleared (a torn or stale tail) or
 * -errno; *size is the logical end, *alloc the file size.
 */
long napvd_spool_recover_fd(int fd, uint64_t *size, uint64_t *alloc);

/* ---- the daemon (napvd.c, radius_frontend.c, engine.c) ---- */

struct napvd_sock {
	struct napvd_io io;
	struct napvd_sockaddr addr;
	bool wildcard; /* bound to 0.0.0.0 / ::: replies carry the request's destination */
	struct napvd *d;
};

struct napvd_scratch; /* engine buffers, allocated once */
struct napvd_batch;
struct napvd_held_queue;

struct napvd {
	struct napvd_config *conf;
	struct napvd_clock clock;
	struct napvd_ev ev;
	struct napvd_sock *socks[NAPVD_MAX_LISTEN];
	size_t n_socks;
	struct napvd_metrics m;
	struct napvd_dupcache dup;
	struct napvd_spool spool;
	struct napvd_hsr_cache hsr;
	struct napvd_scratch *scratch;
	struct napvd_batch *batch; /* recvmmsg/sendmmsg buffers */
	struct napvd_held_queue *held; /* spool_sync = reply: replies waiting for their sync */
	struct napvd_io sync_io;       /* the spool sync thread's eventfd */
	struct napvd_http *http;
	struct napvd_io sig_io, hsr_timer, dup_timer;
	struct napvd_io hsr_io; /* the HSR source's event fd (LDAP thread), fd -1 without */
	struct napvd_managed *managed; /* [managed] file: NULL without */
	int verbose;
};

enum napvd_disposition { NAPVD_DROP = 0, NAPVD_REPLY = 1 };

/*
 * The whole request path for one datagram, without sockets: client lookup, decode, checks,
 * authentication, duplicate detection, the engine, spool append (queued, committed by the
 * caller) and the reply. Returns NAPVD_REPLY with the reply in out/out_len, or NAPVD_DROP.
 */
enum napvd_disposition napvd_request(struct napvd *d, const struct sockaddr *from,
				     const uint8_t *pkt, size_t len, uint8_t *out,
				     size_t *out_len);

int napvd_scratch_new(struct napvd_scratch **out);
void napvd_scratch_free(struct napvd_scratch *s);

/*
 * Engine: an authenticated Access-Request to a reply. Appends the status record. Returns 0
 * and the reply bytes, or a negative errno (internal error: the caller drops).
 */
int napvd_engine_access_request(struct napvd *d, const struct napvd_client *cl,
				const char *nas_text, const struct nap_radius_packet *req,
				uint8_t *out, size_t *out_len);

/* Map a verdict to an action through the enforcement table (engine.c). */
enum nap_action napvd_action_for(const struct napvd_config *c, enum nap_enforcement ep,
				 const struct nap_verdict *v, bool capable);
uint8_t napvd_extended_state(const struct nap_verdict *v);

/* Sockets (radius_frontend.c). */
int napvd_sockets_sync(struct napvd *d, const struct napvd_config *next);
void napvd_sockets_close(struct napvd *d);
/*
 * Start the spool's sync thread and watch its eventfd (fn NULL: fdatasync). Call after
 * daemon(). Set d->sync_io.fd = -1 before the first call.
 */
int napvd_sync_attach(struct napvd *d, napvd_sync_fn *fn);
/* Make every written record durable, send every held reply, stop watching the eventfd. */
void napvd_sync_detach(struct napvd *d);
/* Send the held replies whose records are durable (durable: the spool's durable count). */
void napvd_held_flush(struct napvd *d, uint64_t durable);

/*
 * The managed settings file (managed.c): [managed] file, watched with inotify and on
 * check_interval, validated whole and applied through the reload path, or rejected whole;
 * nap-shv.status beside it says which. Open before the first configuration is parsed
 * (napvd_managed_overlay() gives the overlay that parse takes), attach after daemon().
 */
struct napvd_managed;
int napvd_managed_open(struct napvd *d, const char *conf_path);
/* The accepted overlay for a parse of napvd.conf (NULL: none). */
const struct napvd_overlay *napvd_managed_overlay(const struct napvd *d);
/* The reload path a new file goes through once napvd runs (napvd_reload_config). */
typedef int napvd_reload_fn(struct napvd *d, struct napvd_config *next, char *why,
			    size_t why_len);
/* Watch the file (inotify + timer) in d's event loop; call after daemon(). */
int napvd_managed_attach(struct napvd *d, napvd_reload_fn *reload);
/* Look at the file now (start-up, tests): apply, reject or nothing when it did not change. */
void napvd_managed_check(struct napvd *d);
/* After a reload: [managed] file or check_interval may have changed. */
void napvd_managed_reconfigure(struct napvd *d);
void napvd_managed_close(struct napvd *d);
/*
 * napvd -n: judge the managed file at path as the daemon would (its own rules, then conf_path
 * with its keys; not the revision, which needs the running one). 0: no file; 1: valid, *out the
 * configuration with it; < 0: invalid or unreadable, the reasons written to errs.
 */
int napvd_managed_check_file(const char *conf_path, const char *path,
			     struct napvd_config **out, FILE *errs);
/* Its Prometheus lines into out (metrics.c); returns their length. */
size_t napvd_managed_metrics(const struct napvd *d, char *out, size_t cap);
/*
 * Reload with a configuration parsed already (next, taken over) or, with next NULL, parse
 * napvd.conf again with the accepted overlay. 0, or a negative errno with why: nothing changed.
 */
int napvd_reload_config(struct napvd *d, struct napvd_config *next, char *why, size_t why_len);

/* Metrics HTTP responder (metrics.c). */
int napvd_http_open(struct napvd *d, const struct napvd_sockaddr *addr);
void napvd_http_close(struct napvd *d);
/* Close metrics connections past their deadline (periodic). */
void napvd_http_tick(struct napvd *d);
/* Render the Prometheus text into a growable buffer; returns length or -errno. */
long napvd_metrics_render(const struct napvd *d, char **out);

#endif
