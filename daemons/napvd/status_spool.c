// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * The status spool: one JSON object per line for every decision napvd makes, in
 * state_dir/spool. Records hold client-supplied text (the machine name), escaped here; the file
 * itself is read back only to recover from a crash.
 *
 * Durability contract. Every record is written into the file (pwrite) before the reply of its
 * request is sent, so a crash of napvd (even kill -9) never loses a decided record: the page
 * cache outlives the process. fdatasync, which protects against power loss, is a group commit
 * done by one sync thread next to the event loop, never on the request path: the loop writes a
 * batch's records, publishes how many records are written, and the thread syncs whenever that
 * number is ahead of the last sync (one sync in flight; what arrives meanwhile goes into the
 * next). In spool_sync = reply mode the front end holds each reply until the sync covering its
 * record has completed, woken by an eventfd; in batch mode (the default) the reply leaves at
 * once, syncs start at most NAPVD_SPOOL_SYNC_SPACING_US apart, and the power-loss window is
 * about that long.
 *
 * The sync thread shares nothing with the engine: it sees the file descriptor, the mutex and
 * condition variable, the eventfd and its own counters (records requested, records durable,
 * syncs, errors, time spent).
 *
 * Preallocation. The file grows in zero-filled chunks of NAPVD_SPOOL_CHUNK written once, and
 * records are written inside that region at the logical end: an fdatasync then carries only
 * data, no size change and no journal commit (about 1 ms instead of 2-3 ms on the reference
 * disk). The logical end is the end of the last record; the zero tail is free space.
 *
 * Recovery: a crash can leave a torn last line, and a power loss stale or zero blocks. On open
 * the file is scanned up to the first NUL byte or malformed line; that is the logical end, and
 * everything after it is zeroed again so that old bytes can never reappear as records.
 *
 * Status message ids and segments (napvd_spool_status_setup). Each record starts with
 * "id":"<instance>-<seq>": the instance id is random, made once in state_dir/instance; the
 * sequence continues after the highest one found in the spool files and in state_dir/shipped,
 * so it is never reused, even when the shipper removed every shipped file. With [status] ship
 * configured the active file rotates: once it holds segment_size bytes, the loop waits for the
 * sync covering its records, trims its zero tail, renames it to spool.<first seq> and starts a
 * new file (directory fsync'ed). The shipper (shipper.c) reads the durable records past the
 * shipped position and removes segments it shipped completely; spool_max then counts the bytes
 * of the active file plus the segments still there.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <stdatomic.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "nap/log.h"
#include "nap/soh.h"
#include "nap/util.h"
#include "napvd.h"

#define NAPVD_SPOOL_MACHINE_MAX 64 /* bytes of the machine name kept in a record */
#define NAPVD_SPOOL_ZERO_BUF    (64 * 1024)

static const uint8_t napvd_zeros[NAPVD_SPOOL_ZERO_BUF];

/* The sync thread's state: written by the loop (want, quit) or by the thread (the rest). */
struct napvd_spool_sync {
	int fd;
	int efd; /* eventfd, readable after each completed sync */
	napvd_sync_fn *sync;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool quit, busy;
	bool notify; /* write the eventfd after each sync (spool_sync = reply) */
	bool urgent; /* the loop waits: skip the spacing */
	int64_t interval_ns; /* least time between the starts of two syncs */
	uint64_t want;  /* records written, to be made durable */
	uint64_t done;  /* records durable */
	uint64_t syncs, errors, ns;
};

/* Bytes in rotated segments not yet removed by the shipper (one spool per process). */
static _Atomic uint64_t napvd_segment_bytes;

static int napvd_spool_rotate(struct napvd_spool *sp, struct napvd_metrics *m);

/* A well-formed line: '{' ... '}' of printable ASCII only (the writer escapes everything else). */
static bool
napvd_spool_line_ok(const uint8_t *p, size_t n)
{
	if (n < 2 || p[0] != '{' || p[n - 1] != '}')
		return false;
	for (size_t i = 0; i < n; i++)
		if (p[i] < 0x20 || p[i] > 0x7e)
			return false;
	return true;
}

/* Write zeros over [from, to): the preallocated region, or stale bytes after a crash. */
static int
napvd_spool_zero(int fd, uint64_t from, uint64_t to)
{
	while (from < to) {
		size_t n = to - from < sizeof(napvd_zeros) ? (size_t)(to - from) : sizeof(napvd_zeros);
		ssize_t w = pwrite(fd, napvd_zeros, n, (off_t)from);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		from += (uint64_t)w;
	}
	return 0;
}

long
napvd_spool_recover_fd(int fd, uint64_t *size, uint64_t *alloc)
{
	struct stat st;
	const uint8_t *map;
	size_t len, good = 0, dirty = 0;

	if (fstat(fd, &st) < 0)
		return -errno;
	len = (size_t)st.st_size;
	*size = 0;
	*alloc = len;
	if (len == 0)
		return 0;
	map = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
	if (map == MAP_FAILED)
		return -errno;
	while (good < len && map[good] != '\0') {
		const uint8_t *nl = memchr(map + good, '\n', len - good);

		if (nl == NULL || !napvd_spool_line_ok(map + good, (size_t)(nl - (map + good))))
			break;
		good = (size_t)(nl - map) + 1;
	}
	/* Bytes after the logical end that are not zero: a torn record or stale data. */
	for (size_t i = len; i > good; i--) {
		if (map[i - 1] != 0) {
			dirty = i;
			break;
		}
	}
	munmap((void *)map, len);
	*size = good;
	if (dirty == 0)
		return 0;
	if (napvd_spool_zero(fd, good, dirty) < 0 || fdatasync(fd) < 0)
		return -errno;
	return (long)(dirty - good);
}

/* Make sure [0, need) is preallocated, growing ahead by whole chunks up to the maximum. */
static int
napvd_spool_reserve(struct napvd_spool *sp, uint64_t need)
{
	uint64_t to;
	int r;

	if (need + NAPVD_SPOOL_CHUNK / 2 <= sp->alloc || sp->alloc >= sp->max)
		return 0;
	to = (need + NAPVD_SPOOL_CHUNK / 2 + NAPVD_SPOOL_CHUNK - 1) / NAPVD_SPOOL_CHUNK *
	     NAPVD_SPOOL_CHUNK;
	if (to > sp->max)
		to = sp->max;
	if (to <= sp->alloc)
		return 0;
	if ((r = napvd_spool_zero(sp->fd, sp->alloc, to)) < 0)
		return r;
	sp->alloc = to;
	return 0;
}

int
napvd_spool_open(struct napvd_spool *sp, const char *dir, uint64_t max, uint64_t *truncated)
{
	long cut;
	int r;

	sp->fd = -1;
	sp->pending_len = 0;
	sp->pending_records = 0;
	sp->written = 0;
	sp->durable = 0;
	sp->sync = NULL;
	sp->max = max;
	sp->instance[0] = '\0';
	sp->seq_next = sp->first_seq = 1;
	sp->segment = 0;
	*truncated = 0;
	sp->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (sp->dirfd < 0)
		return -errno;
	/* No O_APPEND: records go to the logical end inside the preallocated region. */
	sp->fd = openat(sp->dirfd, NAPVD_SPOOL_NAME, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
	if (sp->fd < 0) {
		r = -errno;
		napvd_spool_close(sp);
		return r;
	}
	cut = napvd_spool_recover_fd(sp->fd, &sp->size, &sp->alloc);
	if (cut < 0) {
		napvd_spool_close(sp);
		return (int)cut;
	}
	*truncated = (uint64_t)cut;
	/* The first chunk now, durable with the directory entry, so the first syncs are fast. */
	if ((r = napvd_spool_reserve(sp, sp->size)) < 0 || fdatasync(sp->fd) < 0 ||
	    fsync(sp->dirfd) < 0) {
		r = r < 0 ? r : -errno;
		napvd_spool_close(sp);
		return r;
	}
	return 0;
}

static int
napvd_fdatasync(int fd)
{
	return fdatasync(fd) < 0 ? -errno : 0;
}

static int64_t
napvd_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void *
napvd_spool_sync_main(void *arg)
{
	struct napvd_spool_sync *s = arg;
	int64_t last_start = INT64_MIN / 2;
	uint64_t one = 1;

	pthread_mutex_lock(&s->mu);
	for (;;) {
		int64_t t0, t1;
		uint64_t target;
		int r, fd;

		while (!s->quit && s->want == s->done)
			pthread_cond_wait(&s->cv, &s->mu);
		if (s->want == s->done)
			break; /* quit, and nothing left to sync */
		s->busy = true; /* requests need not signal any more */
		/* Batch mode: space the syncs, unless someone waits for this one. */
		while (!s->quit && !s->urgent && (t0 = napvd_ns()) < last_start + s->interval_ns) {
			struct timespec until;
			int64_t at = last_start + s->interval_ns;

			until.tv_sec = (time_t)(at / 1000000000);
			until.tv_nsec = (long)(at % 1000000000);
			pthread_cond_timedwait(&s->cv, &s->mu, &until);
		}
		target = s->want;
		s->urgent = false;
		fd = s->fd; /* a rotation swaps it under the mutex */
		pthread_mutex_unlock(&s->mu);
		t0 = napvd_ns();
		r = s->sync(fd);
		t1 = napvd_ns();
		last_start = t0;
		pthread_mutex_lock(&s->mu);
		s->busy = false;
		/* A failed sync still ends: the loop counts the error, as a lost record. */
		s->done = target;
		s->syncs++;
		if (r < 0)
			s->errors++;
		s->ns += (uint64_t)(t1 - t0);
		pthread_cond_broadcast(&s->cv);
		/* Batch mode reads the progress lazily: no wake-up of the loop per sync. */
		while (s->notify && write(s->efd, &one, sizeof(one)) < 0 && errno == EINTR)
			;
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

int
napvd_spool_sync_start(struct napvd_spool *sp, napvd_sync_fn *fn, bool notify)
{
	struct napvd_spool_sync *s;
	pthread_condattr_t ca;
	int r;

	if (sp->fd < 0 || sp->sync != NULL)
		return 0;
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return -ENOMEM;
	s->fd = sp->fd;
	s->sync = fn != NULL ? fn : napvd_fdatasync;
	s->notify = notify;
	/* Replies that wait for their sync must not wait for the spacing as well. */
	s->interval_ns = notify ? 0 : NAPVD_SPOOL_SYNC_SPACING_US * 1000;
	s->want = s->done = sp->written;
	s->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (s->efd < 0) {
		r = -errno;
		free(s);
		return r;
	}
	pthread_mutex_init(&s->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->cv, &ca);
	pthread_condattr_destroy(&ca);
	r = pthread_create(&s->thread, NULL, napvd_spool_sync_main, s);
	if (r != 0) {
		close(s->efd);
		pthread_mutex_destroy(&s->mu);
		pthread_cond_destroy(&s->cv);
		free(s);
		return -r;
	}
	sp->sync = s;
	return 0;
}

int
napvd_spool_sync_fd(const struct napvd_spool *sp)
{
	return sp->sync != NULL ? sp->sync->efd : -1;
}

void
napvd_spool_sync_request(struct napvd_spool *sp)
{
	struct napvd_spool_sync *s = sp->sync;

	if (s == NULL)
		return;
	pthread_mutex_lock(&s->mu);
	if (s->want != sp->written) {
		s->want = sp->written;
		if (!s->busy)
			pthread_cond_signal(&s->cv);
	}
	pthread_mutex_unlock(&s->mu);
}

uint64_t
napvd_spool_sync_collect(struct napvd_spool *sp, struct napvd_metrics *m)
{
	struct napvd_spool_sync *s = sp->sync;
	uint64_t done, syncs, errors, ns;

	if (s == NULL)
		return sp->durable;
	pthread_mutex_lock(&s->mu);
	done = s->done;
	syncs = s->syncs;
	errors = s->errors;
	ns = s->ns;
	s->syncs = s->errors = s->ns = 0;
	pthread_mutex_unlock(&s->mu);
	if (done > sp->durable) {
		m->spool_records += done - sp->durable;
		m->replies_durable += done - sp->durable;
		sp->durable = done;
	}
	m->spool_syncs += syncs;
	m->spool_errors += errors;
	m->spool_sync_ns += ns;
	if (errors > 0)
		LOG_WARNX_RL("spool: fdatasync failed %" PRIu64 " time(s): records may be lost "
			     "on power loss",
			     errors);
	return sp->durable;
}

uint64_t
napvd_spool_sync_poll(struct napvd_spool *sp, struct napvd_metrics *m)
{
	uint64_t n;

	if (sp->sync == NULL)
		return sp->durable;
	while (read(sp->sync->efd, &n, sizeof(n)) < 0 && errno == EINTR)
		;
	return napvd_spool_sync_collect(sp, m);
}

uint64_t
napvd_spool_sync_wait(struct napvd_spool *sp, struct napvd_metrics *m)
{
	struct napvd_spool_sync *s = sp->sync;

	if (s == NULL)
		return sp->durable;
	pthread_mutex_lock(&s->mu);
	if (s->want != sp->written) {
		s->want = sp->written;
		s->urgent = true;
	}
	pthread_cond_broadcast(&s->cv);
	while (s->done != sp->written)
		pthread_cond_wait(&s->cv, &s->mu);
	pthread_mutex_unlock(&s->mu);
	return napvd_spool_sync_poll(sp, m);
}

static void
napvd_spool_sync_stop(struct napvd_spool *sp)
{
	struct napvd_spool_sync *s = sp->sync;

	if (s == NULL)
		return;
	pthread_mutex_lock(&s->mu);
	s->quit = true;
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->mu);
	pthread_join(s->thread, NULL);
	close(s->efd);
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->cv);
	free(s);
	sp->sync = NULL;
}

void
napvd_spool_close(struct napvd_spool *sp)
{
	napvd_spool_sync_stop(sp);
	if (sp->fd >= 0)
		close(sp->fd);
	if (sp->dirfd >= 0)
		close(sp->dirfd);
	sp->fd = -1;
	sp->dirfd = -1;
	sp->pending_len = 0;
	sp->pending_records = 0;
}

/*
 * The record is built by hand rather than with snprintf: it is written for every request, and
 * format parsing was a visible share of the request path.
 */
struct napvd_line {
	char *p;
	size_t len, cap;
	bool over;
};

static void
napvd_line_put(struct napvd_line *l, const char *s, size_t n)
{
	if (l->over || l->cap - l->len <= n) {
		l->over = true;
		return;
	}
	memcpy(l->p + l->len, s, n);
	l->len += n;
}

#define napvd_line_lit(l, s) napvd_line_put((l), (s), sizeof(s) - 1)

static void
napvd_line_str(struct napvd_line *l, const char *s)
{
	napvd_line_put(l, s, strlen(s));
}

/* JSON string body: printable ASCII except '"' and '\\' as is, everything else \u00XX. */
static void
napvd_line_escape(struct napvd_line *l, const uint8_t *p, size_t n)
{
	static const char hex[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		uint8_t c = p[i];

		if (c >= 0x20 && c <= 0x7e && c != '"' && c != '\\') {
			napvd_line_put(l, (const char *)&c, 1);
		} else {
			char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};

			napvd_line_put(l, e, sizeof(e));
		}
	}
}

static void
napvd_line_u64(struct napvd_line *l, uint64_t v)
{
	char d[20];
	size_t i = sizeof(d);

	do {
		d[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	napvd_line_put(l, d + i, sizeof(d) - i);
}

int
napvd_spool_format(const struct napvd_spool_record *r, char *out, size_t cap)
{
	/* Decisions come in bursts within the same second: format the time once per second. */
	static int64_t cached_time = INT64_MIN;
	static char t[32];
	char corr[NAP_CORRELATION_ID_LEN * 2 + 1];
	struct napvd_line l = {.p = out, .cap = cap};
	size_t mlen = r->machine_len;

	/* The machine name is often NUL-terminated on the wire. */
	while (mlen > 0 && r->machine != NULL && r->machine[mlen - 1] == '\0')
		mlen--;
	if (mlen > NAPVD_SPOOL_MACHINE_MAX)
		mlen = NAPVD_SPOOL_MACHINE_MAX;
	if (r->time != cached_time) {
		nap_format_time(r->time, t, sizeof(t));
		cached_time = r->time;
	}
	if (r->instance != NULL && r->instance[0] != '\0') {
		napvd_line_lit(&l, "{\"id\":\"");
		napvd_line_str(&l, r->instance);
		napvd_line_lit(&l, "-");
		napvd_line_u64(&l, r->seq);
		napvd_line_lit(&l, "\",\"time\":\"");
	} else {
		napvd_line_lit(&l, "{\"time\":\"");
	}
	napvd_line_str(&l, t);
	napvd_line_lit(&l, "\",\"nas\":\"");
	napvd_line_str(&l, r->nas);
	napvd_line_lit(&l, "\",\"client\":\"");
	napvd_line_str(&l, r->client);
	napvd_line_lit(&l, "\",\"machine\":\"");
	napvd_line_escape(&l, r->machine, r->machine != NULL ? mlen : 0);
	napvd_line_lit(&l, "\",\"site\":\"");
	if (r->site != NULL)
		napvd_line_escape(&l, (const uint8_t *)r->site, strnlen(r->site, NAP_SITE_MAX));
	napvd_line_lit(&l, "\",\"enforcement\":\"");
	napvd_line_str(&l, r->enforcement);
	napvd_line_lit(&l, "\",\"result\":\"");
	napvd_line_str(&l, r->result);
	napvd_line_lit(&l, "\",\"branch\":\"");
	napvd_line_str(&l, r->branch);
	if (r->exemption != NULL) {
		/* an HSR id: [A-Za-z0-9._:+~-]{1,63}, nothing to escape */
		napvd_line_lit(&l, "\",\"exemption\":\"");
		napvd_line_escape(&l, (const uint8_t *)r->exemption,
				  strnlen(r->exemption, NAP_UPDATE_ID_MAX));
	}
	napvd_line_lit(&l, "\",\"action\":\"");
	napvd_line_str(&l, r->action);
	napvd_line_lit(&l, "\",\"hsr_revision\":");
	napvd_line_u64(&l, r->hsr_revision);
	napvd_line_lit(&l, ",\"correlation_id\":\"");
	if (r->correlation_id != NULL) {
		nap_hex_encode(r->correlation_id, NAP_CORRELATION_ID_LEN, corr);
		napvd_line_put(&l, corr, NAP_CORRELATION_ID_LEN * 2);
	}
	napvd_line_lit(&l, "\"}\n");
	if (l.over)
		return -ENOSPC;
	return (int)l.len;
}

int
napvd_spool_append(struct napvd_spool *sp, const struct napvd_spool_record *r,
		   struct napvd_metrics *m)
{
	int n;

	if (sp->fd < 0)
		return 0;
	if (sizeof(sp->pending) - sp->pending_len < NAPVD_SPOOL_RECORD_MAX) {
		int r2 = napvd_spool_write(sp, m);

		if (r2 < 0)
			return r2;
	}
	/* Straight into the batch buffer; only the length check decides whether it stays. */
	if (sp->instance[0] != '\0') {
		struct napvd_spool_record rr = *r;

		rr.instance = sp->instance;
		rr.seq = sp->seq_next;
		n = napvd_spool_format(&rr, sp->pending + sp->pending_len, NAPVD_SPOOL_RECORD_MAX);
	} else {
		n = napvd_spool_format(r, sp->pending + sp->pending_len, NAPVD_SPOOL_RECORD_MAX);
	}
	if (n < 0) {
		m->spool_errors++;
		return n;
	}
	if (atomic_load(&napvd_segment_bytes) + sp->size + sp->pending_len + (size_t)n > sp->max) {
		m->spool_overflow++;
		return -ENOSPC;
	}
	sp->pending_len += (size_t)n;
	sp->pending_records++;
	if (sp->instance[0] != '\0')
		sp->seq_next++; /* a record that stays takes its sequence for good */
	return 0;
}

int
napvd_spool_write(struct napvd_spool *sp, struct napvd_metrics *m)
{
	size_t done = 0;
	int r;

	if (sp->fd < 0 || sp->pending_len == 0)
		return 0;
	r = napvd_spool_reserve(sp, sp->size + sp->pending_len);
	while (r == 0 && done < sp->pending_len) {
		ssize_t w = pwrite(sp->fd, sp->pending + done, sp->pending_len - done,
				   (off_t)(sp->size + done));

		if (w < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			break;
		}
		done += (size_t)w;
	}
	if (r < 0) {
		/* Zero a partial write so the file stays a run of whole lines. */
		if (napvd_spool_zero(sp->fd, sp->size, sp->size + done) < 0)
			log_warn("spool: clearing a failed write");
		m->spool_errors++;
		LOG_WARNX_RL("spool: %u records lost: %s", sp->pending_records, strerror(-r));
	} else {
		sp->size += sp->pending_len;
		sp->written += sp->pending_records;
	}
	sp->pending_len = 0;
	sp->pending_records = 0;
	if (r == 0 && sp->segment > 0 && sp->size >= sp->segment) {
		int r2 = napvd_spool_rotate(sp, m);

		if (r2 < 0) {
			m->spool_errors++;
			LOG_WARNX_RL("spool: rotating into a segment: %s (the file keeps growing)",
				     strerror(-r2));
		}
	}
	return r;
}

int
napvd_spool_commit(struct napvd_spool *sp, struct napvd_metrics *m)
{
	int r;

	if (sp->fd < 0)
		return 0;
	r = napvd_spool_write(sp, m);
	if (sp->sync != NULL) {
		napvd_spool_sync_wait(sp, m);
		return r;
	}
	if (sp->written == sp->durable)
		return r;
	if (fdatasync(sp->fd) < 0) {
		m->spool_errors++;
		return -errno;
	}
	m->spool_syncs++;
	m->spool_records += sp->written - sp->durable;
	m->replies_durable += sp->written - sp->durable;
	sp->durable = sp->written;
	return r;
}

/* ---- status message ids and segments ---- */

uint64_t
napvd_spool_line_seq(const char *line, size_t len)
{
	static const char pre[] = "{\"id\":\"";
	size_t i = sizeof(pre) - 1 + 16;
	uint64_t v = 0;

	if (len < i + 3 || memcmp(line, pre, sizeof(pre) - 1) != 0 || line[i] != '-')
		return 0;
	for (i++; i < len && line[i] >= '0' && line[i] <= '9'; i++) {
		unsigned d = (unsigned)(line[i] - '0');

		if (v > (UINT64_MAX - d) / 10)
			return 0;
		v = v * 10 + d;
	}
	return i < len && line[i] == '"' ? v : 0;
}

void
napvd_spool_segment_removed(uint64_t bytes)
{
	uint64_t cur = atomic_load(&napvd_segment_bytes);

	while (!atomic_compare_exchange_weak(&napvd_segment_bytes, &cur,
					     cur >= bytes ? cur - bytes : 0))
		;
}

uint64_t
napvd_spool_segment_bytes(void)
{
	return atomic_load(&napvd_segment_bytes);
}

uint64_t
napvd_shipped_read(const char *dir)
{
	char path[4096], buf[32];
	uint64_t v = 0;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, NAPVD_SHIPPED_NAME);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	for (char *p = buf; *p >= '0' && *p <= '9'; p++)
		v = v * 10 + (uint64_t)(*p - '0');
	return v;
}

/* The first and last sequence of the whole lines in [p, p + len). */
static void
napvd_spool_seq_range(const char *p, size_t len, uint64_t *first, uint64_t *last)
{
	const char *end = p + len;

	*first = *last = 0;
	while (p < end && *p != '\0') {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		uint64_t q;

		if (nl == NULL)
			break;
		q = napvd_spool_line_seq(p, (size_t)(nl - p));
		if (q != 0) {
			if (*first == 0)
				*first = q;
			*last = q;
		}
		p = nl + 1;
	}
}

static int
napvd_spool_file_range(int dirfd, const char *name, uint64_t limit, uint64_t *first,
		       uint64_t *last, uint64_t *bytes)
{
	struct stat st;
	void *map;
	size_t len;
	int fd;

	*first = *last = 0;
	*bytes = 0;
	fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	if (fstat(fd, &st) < 0) {
		close(fd);
		return -errno;
	}
	len = (size_t)st.st_size;
	if (limit > 0 && len > limit)
		len = (size_t)limit;
	*bytes = (uint64_t)st.st_size;
	if (len == 0) {
		close(fd);
		return 0;
	}
	map = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (map == MAP_FAILED)
		return -errno;
	napvd_spool_seq_range(map, len, first, last);
	munmap(map, len);
	return 0;
}

/* "spool.<digits>": a segment, its first sequence in *seq. */
static bool
napvd_spool_is_segment(const char *name, uint64_t *seq)
{
	size_t n = sizeof(NAPVD_SPOOL_NAME) - 1;
	uint64_t v = 0;

	if (strncmp(name, NAPVD_SPOOL_NAME ".", n + 1) != 0 || name[n + 1] == '\0')
		return false;
	for (const char *p = name + n + 1; *p != '\0'; p++) {
		if (*p < '0' || *p > '9')
			return false;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	*seq = v;
	return true;
}

static int
napvd_spool_instance(int dirfd, const char *dir, char out[17], char *err, size_t err_len)
{
	char path[4096], buf[40];
	uint8_t rnd[8];
	ssize_t n;
	int fd, r;

	fd = openat(dirfd, NAPVD_INSTANCE_NAME, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n >= 16) {
			buf[n] = '\0';
			for (int i = 0; i < 16; i++)
				if (!((buf[i] >= '0' && buf[i] <= '9') ||
				      (buf[i] >= 'a' && buf[i] <= 'f')))
					goto bad;
			if (buf[16] == '\n' || buf[16] == '\0') {
				memcpy(out, buf, 16);
				out[16] = '\0';
				return 0;
			}
		}
bad:
		snprintf(err, err_len, "%s/%s: not 16 lowercase hex digits (remove it only if this "
				       "napvd never shipped status messages)",
			 dir, NAPVD_INSTANCE_NAME);
		return -EINVAL;
	}
	if (errno != ENOENT) {
		r = -errno;
		snprintf(err, err_len, "%s/%s: %s", dir, NAPVD_INSTANCE_NAME, strerror(errno));
		return r;
	}
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd)) {
		r = -errno;
		snprintf(err, err_len, "getrandom: %s", strerror(errno));
		return r;
	}
	nap_hex_encode(rnd, sizeof(rnd), out);
	snprintf(buf, sizeof(buf), "%s\n", out);
	snprintf(path, sizeof(path), "%s/%s", dir, NAPVD_INSTANCE_NAME);
	if ((r = nap_write_file_atomic(path, buf, 17, 0644)) < 0) {
		snprintf(err, err_len, "%s: %s", path, strerror(-r));
		return r;
	}
	return 0;
}

int
napvd_spool_status_setup(struct napvd_spool *sp, const char *dir, const struct napvd_config *c,
			 char *err, size_t err_len)
{
	uint64_t first, last, bytes, high, segs = 0, newest = 0;
	struct dirent *de;
	DIR *dh;
	int r, fd;

	if (sp->fd < 0)
		return 0;
	if ((r = napvd_spool_instance(sp->dirfd, dir, sp->instance, err, err_len)) < 0)
		return r;
	high = napvd_shipped_read(dir);
	if ((r = napvd_spool_file_range(sp->dirfd, NAPVD_SPOOL_NAME, sp->size, &first, &last,
					&bytes)) < 0) {
		snprintf(err, err_len, "%s/%s: %s", dir, NAPVD_SPOOL_NAME, strerror(-r));
		return r;
	}
	if (last > high)
		high = last;
	sp->first_seq = first;
	/* segments: their bytes count against spool_max; the newest one's last record */
	if ((fd = dup(sp->dirfd)) < 0 || (dh = fdopendir(fd)) == NULL) {
		r = -errno;
		if (fd >= 0)
			close(fd);
		snprintf(err, err_len, "%s: %s", dir, strerror(-r));
		return r;
	}
	rewinddir(dh);
	while ((de = readdir(dh)) != NULL) {
		uint64_t q;
		struct stat st;

		if (!napvd_spool_is_segment(de->d_name, &q))
			continue;
		if (fstatat(sp->dirfd, de->d_name, &st, 0) == 0)
			segs += (uint64_t)st.st_size;
		if (q > newest)
			newest = q;
	}
	closedir(dh);
	if (newest > 0) {
		char name[64];

		snprintf(name, sizeof(name), "%s.%" PRIu64, NAPVD_SPOOL_NAME, newest);
		if (napvd_spool_file_range(sp->dirfd, name, 0, &first, &last, &bytes) == 0 &&
		    last > high)
			high = last;
		if (newest > high)
			high = newest;
	}
	atomic_store(&napvd_segment_bytes, segs);
	sp->seq_next = high + 1;
	if (sp->first_seq == 0)
		sp->first_seq = sp->seq_next;
	sp->segment = c->status_ship != NULL ? c->status_segment : 0;
	return 0;
}

/*
 * The active file becomes segment spool.<first seq>: its records durable first, the zero
 * tail trimmed, renamed, a new active file created and preallocated, the directory synced.
 * The sync thread gets the new descriptor under its mutex.
 */
static int
napvd_spool_rotate(struct napvd_spool *sp, struct napvd_metrics *m)
{
	char name[64];
	int nfd, ofd = sp->fd, r;
	uint64_t old_size = sp->size;

	if (sp->sync != NULL) {
		napvd_spool_sync_wait(sp, m);
	} else if (fdatasync(sp->fd) < 0) {
		return -errno;
	}
	if (ftruncate(sp->fd, (off_t)sp->size) < 0)
		return -errno;
	snprintf(name, sizeof(name), "%s.%" PRIu64, NAPVD_SPOOL_NAME, sp->first_seq);
	if (renameat(sp->dirfd, NAPVD_SPOOL_NAME, sp->dirfd, name) < 0)
		return -errno;
	nfd = openat(sp->dirfd, NAPVD_SPOOL_NAME, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (nfd < 0) {
		r = -errno;
		/* put it back: the records stay in the active file */
		if (renameat(sp->dirfd, name, sp->dirfd, NAPVD_SPOOL_NAME) < 0)
			log_warn("spool: renaming %s back", name);
		return r;
	}
	{
		struct stat st;

		/* the new file belongs to whoever owns the old one (napvd dropped root) */
		if (fstat(ofd, &st) == 0 && fchown(nfd, st.st_uid, st.st_gid) < 0)
			log_debug("spool: chown of the new file: %s", strerror(errno));
	}
	if (sp->sync != NULL) {
		pthread_mutex_lock(&sp->sync->mu);
		sp->sync->fd = nfd;
		pthread_mutex_unlock(&sp->sync->mu);
	}
	sp->fd = nfd;
	close(ofd);
	sp->size = 0;
	sp->alloc = 0;
	sp->first_seq = sp->seq_next;
	atomic_fetch_add(&napvd_segment_bytes, old_size);
	if ((r = napvd_spool_reserve(sp, 0)) < 0 || fsync(sp->dirfd) < 0)
		return r < 0 ? r : -errno;
	log_debug("spool: rotated into %s (%" PRIu64 " bytes)", name, old_size);
	return 0;
}
