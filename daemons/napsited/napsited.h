/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * napsited, the nap site server: policies live in the store (napctl writes them); napsited
 * turns each store revision into a signed health state reference (HSR), publishes it to the
 * directory (publisher.c) and hands it to agents (agent_http.c). This header is what the
 * modules share: the daemon's state, its counters (Prometheus text from metrics.c) and the
 * current signed HSR.
 *
 * Threads: main() runs one loop (signals, store polling, publishing; the directory work blocks
 * it for at most [directory] timeout per URI). metrics.c and the agent endpoint each answer in
 * their own libmicrohttpd thread. Those threads may touch only
 *   - struct napsited_metrics (atomics),
 *   - the current HSR through napsited_hsr_get() / napsited_hsr_put(),
 *   - whatever the agent endpoint copied for itself in napsited_agent_start() / _reload().
 * sd->conf belongs to the main thread: SIGHUP replaces it (and frees the old one right after
 * napsited_agent_reload() returns), so request handlers must not read it.
 */
#ifndef NAPSITED_H
#define NAPSITED_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nap/health.h"
#include "nap/hsr.h"
#include "nap/siteconf.h"
#include "nap/store.h"

/* Upper bounds of napsited_directory_latency_seconds, seconds (+Inf is implied). */
#define NAPSITED_LATENCY_BUCKETS 10
extern const double napsited_latency_bounds[NAPSITED_LATENCY_BUCKETS];

enum napsited_publish_result {
	NAPSITED_PUBLISH_OK,        /* the entry was added or replaced */
	NAPSITED_PUBLISH_UNCHANGED, /* it already held this document: nothing written */
	NAPSITED_PUBLISH_ERROR,     /* no directory reachable, bind refused, write failed ... */
	NAPSITED_PUBLISH_CONFLICT,  /* it holds a higher revision: refused to go back */
	NAPSITED_PUBLISH_RESULT_COUNT
};
extern const char *const napsited_publish_result_names[NAPSITED_PUBLISH_RESULT_COUNT];

/* Everything counted; read and written with relaxed atomics from any thread. */
struct napsited_metrics {
	_Atomic uint64_t policy_revision;    /* the store's revision, last poll */
	_Atomic uint64_t hsr_revision;       /* the revision of the signed HSR in memory */
	_Atomic uint64_t published_revision; /* the revision the directory holds from us */
	_Atomic uint64_t publish[NAPSITED_PUBLISH_RESULT_COUNT];
	_Atomic uint64_t publish_pending; /* 1 while an HSR waits for the directory */
	_Atomic uint64_t publish_failures_in_row;
	_Atomic uint64_t publish_backoff_ms; /* the wait before the next attempt, 0 when none */
	_Atomic uint64_t directory_up;       /* 1 when the last attempt reached a directory */
	_Atomic uint64_t latency_bucket[NAPSITED_LATENCY_BUCKETS]; /* not cumulative */
	_Atomic uint64_t latency_count;
	_Atomic uint64_t latency_sum_us;
	_Atomic uint64_t reloads_ok, reloads_error;
	_Atomic uint64_t store_errors; /* failed polls / snapshots */
	_Atomic uint64_t sign_errors;  /* HSR documents that could not be built or signed */
	/* The agent endpoint (agent_http.c, enroll.c) counts here. */
	_Atomic uint64_t agent_checkins;       /* states posted and stored (POST /v1/state) */
	_Atomic uint64_t agent_policy_fetches; /* GET /v1/policy answered 200 or 304 */
	_Atomic uint64_t agent_enroll_ok, agent_enroll_error;
	_Atomic uint64_t agent_bad_requests;  /* malformed bodies, unknown paths or methods */
	_Atomic uint64_t agent_auth_failures; /* no, unknown or revoked client certificate */
	/* The admin web listener (web.c). */
	_Atomic uint64_t web_requests;
	_Atomic uint64_t web_bad_requests; /* answered 4xx: bad parameters, unknown paths ... */
	_Atomic uint64_t web_denied;       /* refused: address not in [web] allow, or no token */
	/* the SHV point pusher (shv_push.c) */
	_Atomic uint64_t shv_pushes;        /* settings files written */
	_Atomic uint64_t shv_push_failures; /* writes (or logons) that failed */
	_Atomic uint64_t shv_status_errors; /* status files unreadable or malformed */
	_Atomic uint64_t shv_points;        /* SHV points in the store, last round */
	_Atomic uint64_t shv_out_of_date;   /* of those, not pushed, not judged or rejected */
	/* the status inbox ingester (ingest.c) */
	_Atomic uint64_t status_ingested;     /* messages stored (new ids) */
	_Atomic uint64_t status_duplicates;   /* messages whose id was stored already */
	_Atomic uint64_t status_quarantined;  /* malformed lines or files quarantined */
	_Atomic uint64_t status_files;        /* batch files committed */
	_Atomic uint64_t status_store_errors; /* batches the store refused (kept for a retry) */
	_Atomic uint64_t status_inbox_files;  /* files waiting in the inbox, last scan */
	_Atomic uint64_t status_pruned;       /* messages deleted by [status] keep */
	_Atomic uint64_t status_pruned_daily; /* status_daily rows deleted by keep_daily */
};

/*
 * One signed HSR, immutable once made and reference counted, so the agent endpoint can send it
 * while the main thread already holds a newer one.
 */
struct napsited_hsr {
	_Atomic unsigned refs;
	uint64_t revision;
	int64_t issued; /* Unix seconds */
	char site[NAP_SITE_MAX + 1];
	char digest[2 * NAP_HSR_DIGEST_LEN + 1]; /* lowercase hex */
	char key_id[NAP_KEY_ID_LEN + 1];
	size_t len;
	char doc[]; /* the signed canonical JSON, NUL-terminated */
};

struct napsited_agent; /* agent_http.c */
struct napsited_http;  /* metrics.c */
struct napsited_web;   /* web.c */

struct napsited {
	struct nap_siteconf *conf; /* main thread only, see above */
	bool foreground;
	int verbose;
	struct napsited_metrics m;

	/* The current signed HSR: set by the main thread, read by any. */
	pthread_mutex_t hsr_lock;
	struct napsited_hsr *hsr;

	struct napsited_agent *agent; /* the endpoint's own state, NULL when not running */
	struct napsited_http *metrics_http;
	struct napsited_web *web; /* the admin web listener, NULL when not running */
};

/* The current HSR with a reference (release with napsited_hsr_put), NULL before the first. */
struct napsited_hsr *napsited_hsr_get(struct napsited *sd);
void napsited_hsr_put(struct napsited_hsr *h);
/*
 * A copy of the current HSR's document (malloc'ed, NUL-terminated) and its revision; -ENOENT
 * before the first one, -ENOMEM.
 */
int napsited_hsr_copy(struct napsited *sd, char **doc, size_t *len, uint64_t *revision);
/* Replace the current HSR (takes over the caller's reference). */
void napsited_hsr_set(struct napsited *sd, struct napsited_hsr *h);
/* Build one from a signed document: parses it (without a keyring) for revision, digest, key id. */
int napsited_hsr_from_doc(const char *doc, struct napsited_hsr **out, char *err, size_t len);

/* ---- publisher.c: the HSR entry in the directory ---- */

struct napsited_publish_info {
	char target[256];      /* URI and DN that answered */
	uint64_t dir_revision; /* what the entry held before (0: no entry) */
	double seconds;        /* the round trip */
	bool reached;          /* a directory answered (bind included) */
};

/*
 * Publish one HSR to the first URI of [directory] that answers: read the entry, add it (and the
 * container when allowed and missing), leave it alone when it already holds this document,
 * refuse when it holds a higher revision, otherwise replace every nap attribute in one modify.
 * password may be NULL (anonymous). err gets a message for the log.
 */
enum napsited_publish_result napsited_publish(const struct nap_siteconf *c, const char *password,
					      const struct napsited_hsr *h,
					      struct napsited_publish_info *info, char *err,
					      size_t err_len);

/* ---- metrics.c ---- */

/* Serve Prometheus text on an already bound, listening socket (made before the privilege drop). */
/*
 * The SHV point pusher (shv_push.c): a thread that pushes changed settings over SMB and reads
 * napvd's status back. Start after the privilege drop; kick to look now.
 */
int napsited_shv_start(struct napsited *sd);
void napsited_shv_kick(void);
void napsited_shv_stop(void);

/*
 * The status inbox ingester (ingest.c, [status] inbox): a thread with its own store handle
 * that stores napvd's batch files and deletes them after the commit. Start after the
 * privilege drop; [status] changes need a restart.
 */
int napsited_ingest_start(struct napsited *sd, const struct nap_siteconf *c);
void napsited_ingest_stop(void);
/* Whether the ingester must restart to take b in place of a ([status], the store URI). */
bool napsited_ingest_changed(const struct nap_siteconf *a, const struct nap_siteconf *b);

int napsited_metrics_listen(const char *addr, int *fd);
int napsited_metrics_start(struct napsited *sd, int fd);
void napsited_metrics_stop(struct napsited *sd);
/* The exposition text (malloc'ed); also what the tests read. */
char *napsited_metrics_text(struct napsited *sd);
void napsited_metrics_latency(struct napsited_metrics *m, double seconds);

#endif
