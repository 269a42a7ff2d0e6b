// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * The shipper: napvd's status spool to the site server's inbox share over SMB ([status] ship).
 * A thread of its own, never on the request path: libsmbclient calls block.
 *
 * Each pass reads the spool files in order (segments spool.<first seq> by sequence, then the
 * active file up to its first NUL byte), takes the whole lines whose sequence is past the
 * shipped position, makes them durable first (fdatasync of the file it read: a record that
 * could still vanish in a power loss is never shipped, so its sequence is never reused for
 * another message), and writes them in batch files "<instance>-<first seq>-<last seq>.jsonl"
 * of at most batch_max records with nap_smb_put (a temporary name, then a rename: the ingester
 * never sees half a file). Only after the put succeeded is the position recorded durably in
 * state_dir/shipped (write, fsync, rename, directory fsync). A crash between the two ships the
 * batch again: delivery is at least once, and the ids make the counting exactly once.
 * Segments whose every record is shipped are removed.
 *
 * A failure (server down, logon refused, disk full on the share) counts an error, logs a
 * rate-limited line and retries after ship_interval, backing off up to 30 s; the spool keeps
 * the records meanwhile (spool_max bounds it).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "nap/log.h"
#include "nap/smb.h"
#include "nap/util.h"
#include "napvd.h"

#define SHIP_BACKOFF_MAX 30 /* seconds between attempts after failures, at most */

struct napvd_shipper_change {
	struct napvd_shipper *next; /* NULL: shipping stops */
};

struct napvd_shipper {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool quit, started;
	struct nap_smb *smb;
	char *url;   /* smb://host[:port]/share[/dir], no trailing slash */
	char *dir;   /* state_dir */
	bool has_dir; /* url names a directory below the share: mkdir -p it */
	bool dir_made;
	int64_t interval;
	uint32_t batch_max;
	char instance[17];
	uint64_t shipped; /* last sequence shipped */
	struct napvd_ship_stats stats; /* under mu; the totals are ship_totals' */
	struct napvd_shipper *prev;    /* a retired shipper this thread joins before its first pass */
	/* the batch being built */
	char *buf;
	size_t len, cap;
	uint32_t n;
	uint64_t first, last;
};

static struct napvd_shipper *napvd_ship;
/* Retired by a reload without a successor: joined by the next start, or at exit. */
static struct napvd_shipper *napvd_ship_retired;
/* Counters survive a reload's new shipper (Prometheus counters never go back). */
static pthread_mutex_t ship_totals_mu = PTHREAD_MUTEX_INITIALIZER;
static uint64_t ship_shipped_total, ship_batches_total, ship_errors_total;

static int64_t
ship_now(void)
{
	return (int64_t)time(NULL);
}

/* A shipper for c's [status] (credentials read now); *out NULL when c does not ship. */
static int
ship_new(const struct napvd_config *c, struct napvd_shipper **out, char *err, size_t err_len)
{
	struct napvd_shipper *s;
	const char *share;
	size_t n;
	int r;

	*out = NULL;
	if (c->status_ship == NULL)
		return 0;
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		snprintf(err, err_len, "out of memory");
		return -ENOMEM;
	}
	s->url = strdup(c->status_ship);
	s->dir = strdup(c->state_dir);
	if (s->url == NULL || s->dir == NULL) {
		free(s->url);
		free(s->dir);
		free(s);
		snprintf(err, err_len, "out of memory");
		return -ENOMEM;
	}
	n = strlen(s->url);
	while (n > 6 && s->url[n - 1] == '/')
		s->url[--n] = '\0';
	share = strchr(s->url + 6, '/');
	s->has_dir = share != NULL && strchr(share + 1, '/') != NULL;
	s->interval = c->status_ship_interval;
	s->batch_max = c->status_batch_max;
	if ((r = nap_smb_open(&s->smb, c->status_credentials, err, err_len)) < 0) {
		free(s->url);
		free(s->dir);
		free(s);
		return r;
	}
	pthread_mutex_init(&s->mu, NULL);
	{
		pthread_condattr_t ca;

		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&s->cv, &ca);
		pthread_condattr_destroy(&ca);
	}
	s->stats.enabled = true;
	*out = s;
	return 0;
}

int
napvd_shipper_open(const struct napvd_config *c, char *err, size_t err_len)
{
	return ship_new(c, &napvd_ship, err, err_len);
}

/* Record the shipped position durably. */
static int
ship_record(struct napvd_shipper *s, uint64_t seq)
{
	char path[4096], text[32];
	int n, r;

	snprintf(path, sizeof(path), "%s/%s", s->dir, NAPVD_SHIPPED_NAME);
	n = snprintf(text, sizeof(text), "%" PRIu64 "\n", seq);
	if ((r = nap_write_file_atomic(path, text, (size_t)n, 0644)) < 0)
		return r;
	s->shipped = seq;
	return 0;
}

/* Write the batch built so far; on success the position moves past it. */
static int
ship_flush(struct napvd_shipper *s)
{
	char url[2048], err[1024];
	int r;

	if (s->n == 0)
		return 0;
	if (s->has_dir && !s->dir_made) {
		if ((r = nap_smb_mkdir_p(s->smb, s->url, err, sizeof(err))) < 0) {
			LOG_WARNX_RL("status: shipping: %s", err);
			return r;
		}
		s->dir_made = true;
	}
	snprintf(url, sizeof(url), "%s/%s-%" PRIu64 "-%" PRIu64 ".jsonl", s->url, s->instance,
		 s->first, s->last);
	r = nap_smb_put(s->smb, url, s->buf, s->len, err, sizeof(err));
	if (r < 0) {
		s->dir_made = false;
		LOG_WARNX_RL("status: shipping %u record(s) %" PRIu64 "-%" PRIu64 ": %s", s->n,
			     s->first, s->last, err);
		return r;
	}
	if ((r = ship_record(s, s->last)) < 0) {
		LOG_WARNX_RL("status: recording the shipped position in %s: %s", s->dir,
			     strerror(-r));
		return r;
	}
	pthread_mutex_lock(&s->mu);
	s->stats.shipped_seq = s->last;
	pthread_mutex_unlock(&s->mu);
	pthread_mutex_lock(&ship_totals_mu);
	ship_shipped_total += s->n;
	ship_batches_total++;
	pthread_mutex_unlock(&ship_totals_mu);
	log_debug("status: shipped %u record(s) %" PRIu64 "-%" PRIu64, s->n, s->first, s->last);
	s->len = 0;
	s->n = 0;
	return 0;
}

static int
ship_add(struct napvd_shipper *s, const char *line, size_t len, uint64_t seq)
{
	if (s->len + len + 1 > s->cap) {
		size_t cap = s->cap == 0 ? 256 * 1024 : s->cap;
		char *nb;

		while (cap < s->len + len + 1)
			cap *= 2;
		if ((nb = realloc(s->buf, cap)) == NULL)
			return -ENOMEM;
		s->buf = nb;
		s->cap = cap;
	}
	if (s->n == 0)
		s->first = seq;
	memcpy(s->buf + s->len, line, len);
	s->buf[s->len + len] = '\n';
	s->len += len + 1;
	s->last = seq;
	s->n++;
	return 0;
}

/* The time member of a record ("time":"YYYY-MM-DDTHH:MM:SSZ"), 0 when unreadable. */
static int64_t
ship_line_time(const char *line, size_t len)
{
	static const char key[] = "\"time\":\"";
	const char *p = memmem(line, len, key, sizeof(key) - 1);
	char t[32];
	int64_t v;

	if (p == NULL || (size_t)(line + len - p) < sizeof(key) - 1 + 20)
		return 0;
	memcpy(t, p + sizeof(key) - 1, 20);
	t[20] = '\0';
	return nap_parse_time(t, &v) == 0 ? v : 0;
}

struct ship_pass {
	uint64_t backlog, backlog_bytes;
	int64_t oldest;
	int error;
};

/* Add the unshipped records of one file (fd, closed here) to batches; full ones are written.
 * 0 or <0. */
static int
ship_file(struct napvd_shipper *s, int fd, struct ship_pass *ps)
{
	struct stat st;
	const char *map, *p, *end;
	size_t len;
	int r = 0;

	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	if (fstat(fd, &st) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	len = (size_t)st.st_size;
	if (len == 0) {
		close(fd);
		return 0;
	}
	map = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED) {
		r = -errno;
		close(fd);
		return r;
	}
	/* What is read below is on disk before it leaves: never ship a record a power loss
	 * could take back (its sequence would be reused). */
	if (fdatasync(fd) < 0) {
		r = -errno;
		goto out;
	}
	end = map + len;
	for (p = map; p < end && *p != '\0' && ps->error == 0;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n;
		uint64_t seq;

		if (nl == NULL)
			break; /* a record being written */
		n = (size_t)(nl - p);
		seq = napvd_spool_line_seq(p, n);
		/* past the position and not in the batch yet */
		if (seq > s->shipped && (s->n == 0 || seq > s->last)) {
			if ((r = ship_add(s, p, n, seq)) < 0)
				goto out;
			if (s->n >= s->batch_max && (r = ship_flush(s)) < 0)
				ps->error = r;
		}
		p = nl + 1;
	}
	r = 0;
out:
	munmap((void *)map, len);
	close(fd);
	return r;
}

/* Count what is left after the pass (for the backlog and lag gauges). */
static void
ship_backlog_file(struct napvd_shipper *s, const char *name, struct ship_pass *ps)
{
	struct stat st;
	const char *map, *p, *end;
	size_t len;
	int fd;

	if ((fd = open(name, O_RDONLY | O_CLOEXEC)) < 0)
		return;
	if (fstat(fd, &st) < 0 || st.st_size == 0) {
		close(fd);
		return;
	}
	len = (size_t)st.st_size;
	map = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (map == MAP_FAILED)
		return;
	end = map + len;
	for (p = map; p < end && *p != '\0';) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));

		if (nl == NULL)
			break;
		if (napvd_spool_line_seq(p, (size_t)(nl - p)) > s->shipped) {
			if (ps->backlog == 0)
				ps->oldest = ship_line_time(p, (size_t)(nl - p));
			ps->backlog++;
			ps->backlog_bytes += (uint64_t)(nl - p) + 1;
		}
		p = nl + 1;
	}
	munmap((void *)map, len);
}

static int
ship_seq_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Segments in order of their first sequence. */
static int
ship_segments(const char *dir, uint64_t **out, size_t *n)
{
	DIR *dh = opendir(dir);
	struct dirent *de;
	uint64_t *v = NULL;
	size_t cap = 0;

	*out = NULL;
	*n = 0;
	if (dh == NULL)
		return -errno;
	while ((de = readdir(dh)) != NULL) {
		const char *q;
		uint64_t seq = 0;

		if (strncmp(de->d_name, NAPVD_SPOOL_NAME ".", sizeof(NAPVD_SPOOL_NAME)) != 0)
			continue;
		q = de->d_name + sizeof(NAPVD_SPOOL_NAME);
		if (*q == '\0' || strspn(q, "0123456789") != strlen(q))
			continue;
		for (; *q != '\0'; q++)
			seq = seq * 10 + (uint64_t)(*q - '0');
		if (*n == cap) {
			uint64_t *nv = realloc(v, (cap = cap ? cap * 2 : 16) * sizeof(*v));

			if (nv == NULL) {
				free(v);
				closedir(dh);
				return -ENOMEM;
			}
			v = nv;
		}
		v[(*n)++] = seq;
	}
	closedir(dh);
	if (*n > 1) /* v is NULL when nothing was found */
		qsort(v, *n, sizeof(*v), ship_seq_cmp);
	*out = v;
	return 0;
}

/* One pass: ship what there is; 1 when a full batch went (more may be waiting), 0, or <0. */
static int
ship_pass(struct napvd_shipper *s)
{
	struct ship_pass ps = {0};
	uint64_t *segs;
	size_t nsegs;
	char path[4200];
	int r, full = 0;
	uint64_t before = s->shipped;

	int afd = -1;

	s->len = 0;
	s->n = 0;
	/*
	 * A consistent view: the active file opened between two listings of the segments that
	 * agree. napvd rotates by renaming the active file to a segment and then creating a new
	 * one, so a rotation in between shows as a new segment (retry); without one, the file
	 * opened holds every record after the last segment listed.
	 */
	for (int attempt = 0;; attempt++) {
		uint64_t *again;
		size_t nagain;

		if ((r = ship_segments(s->dir, &segs, &nsegs)) < 0)
			return r;
		snprintf(path, sizeof(path), "%s/%s", s->dir, NAPVD_SPOOL_NAME);
		afd = open(path, O_RDONLY | O_CLOEXEC);
		if ((r = ship_segments(s->dir, &again, &nagain)) < 0) {
			free(segs);
			if (afd >= 0)
				close(afd);
			return r;
		}
		if ((nagain == nsegs && (nsegs == 0 || memcmp(again, segs, nsegs * sizeof(*segs)) ==
							   0)) ||
		    attempt >= 100) {
			free(again);
			break;
		}
		free(again);
		free(segs);
		if (afd >= 0)
			close(afd);
	}
	for (size_t i = 0; i <= nsegs && ps.error == 0; i++) {
		int fd;

		if (i < nsegs) {
			snprintf(path, sizeof(path), "%s/%s.%" PRIu64, s->dir, NAPVD_SPOOL_NAME,
				 segs[i]);
			fd = open(path, O_RDONLY | O_CLOEXEC);
		} else {
			fd = afd;
			afd = -1;
			if (fd < 0)
				errno = ENOENT; /* no active file (a crash between rename and create) */
		}
		r = ship_file(s, fd, &ps);
		if (r < 0) {
			ps.error = r;
			break;
		}
	}
	if (afd >= 0)
		close(afd);
	if (ps.error == 0 && (r = ship_flush(s)) < 0)
		ps.error = r;
	/* segments now fully shipped: remove them (their last record is below the next one) */
	for (size_t i = 0; i < nsegs; i++) {
		uint64_t next_first = i + 1 < nsegs ? segs[i + 1] : 0;
		struct stat st;

		if (next_first == 0) {
			/* the newest segment: shipped when the active file's records, or the
			 * position, are past it; check its content */
			struct ship_pass tmp = {0};

			snprintf(path, sizeof(path), "%s/%s.%" PRIu64, s->dir, NAPVD_SPOOL_NAME,
				 segs[i]);
			ship_backlog_file(s, path, &tmp);
			if (tmp.backlog != 0)
				break;
		} else if (next_first - 1 > s->shipped) {
			break;
		}
		snprintf(path, sizeof(path), "%s/%s.%" PRIu64, s->dir, NAPVD_SPOOL_NAME, segs[i]);
		if (stat(path, &st) == 0 && unlink(path) == 0)
			napvd_spool_segment_removed((uint64_t)st.st_size);
	}
	if (nsegs > 0) {
		int dfd = open(s->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		if (dfd >= 0) {
			fsync(dfd);
			close(dfd);
		}
	}
	/* what is left */
	ps.backlog = ps.backlog_bytes = 0;
	ps.oldest = 0;
	{
		uint64_t *segs2;
		size_t n2;

		if (ship_segments(s->dir, &segs2, &n2) == 0) {
			for (size_t i = 0; i < n2; i++) {
				snprintf(path, sizeof(path), "%s/%s.%" PRIu64, s->dir,
					 NAPVD_SPOOL_NAME, segs2[i]);
				ship_backlog_file(s, path, &ps);
			}
			free(segs2);
		}
		snprintf(path, sizeof(path), "%s/%s", s->dir, NAPVD_SPOOL_NAME);
		ship_backlog_file(s, path, &ps);
	}
	free(segs);
	if (ps.error != 0) {
		pthread_mutex_lock(&ship_totals_mu);
		ship_errors_total++;
		pthread_mutex_unlock(&ship_totals_mu);
	}
	pthread_mutex_lock(&s->mu);
	s->stats.backlog_records = ps.backlog;
	s->stats.backlog_bytes = ps.backlog_bytes;
	s->stats.lag_seconds = ps.backlog > 0 && ps.oldest > 0 ? ship_now() - ps.oldest : 0;
	if (s->stats.lag_seconds < 0)
		s->stats.lag_seconds = 0;
	pthread_mutex_unlock(&s->mu);
	if (ps.error != 0)
		return ps.error;
	full = s->shipped - before >= s->batch_max && ps.backlog > 0;
	return full;
}

static void ship_free(struct napvd_shipper *s);
static void ship_join(struct napvd_shipper *s);

static void *
ship_main(void *arg)
{
	struct napvd_shipper *s = arg;
	int64_t wait = s->interval;

	/* A reload's predecessor finishes its pass first: one writer of the position at a time. */
	if (s->prev != NULL) {
		ship_join(s->prev);
		s->prev = NULL;
		s->shipped = napvd_shipped_read(s->dir);
		pthread_mutex_lock(&s->mu);
		s->stats.shipped_seq = s->shipped;
		pthread_mutex_unlock(&s->mu);
	}
	for (;;) {
		struct timespec until;
		int r;

		pthread_mutex_lock(&s->mu);
		if (s->quit) {
			pthread_mutex_unlock(&s->mu);
			break;
		}
		pthread_mutex_unlock(&s->mu);
		r = ship_pass(s);
		if (r < 0)
			wait = wait * 2 > SHIP_BACKOFF_MAX ? SHIP_BACKOFF_MAX : wait * 2;
		else
			wait = s->interval;
		if (r == 1)
			continue; /* more waiting: go on at once */
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_sec += (time_t)(r < 0 ? wait : s->interval);
		pthread_mutex_lock(&s->mu);
		while (!s->quit && pthread_cond_timedwait(&s->cv, &s->mu, &until) != ETIMEDOUT)
			;
		pthread_mutex_unlock(&s->mu);
	}
	return NULL;
}

/* Read the instance and the position, start the thread (joining s->prev first). */
static int
ship_start(struct napvd_shipper *s)
{
	char path[4200];
	int fd, r;

	snprintf(path, sizeof(path), "%s/%s", s->dir, NAPVD_INSTANCE_NAME);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -errno;
	r = (int)read(fd, s->instance, 16);
	close(fd);
	if (r != 16)
		return -EINVAL;
	s->instance[16] = '\0';
	s->shipped = napvd_shipped_read(s->dir);
	s->stats.shipped_seq = s->shipped;
	r = pthread_create(&s->thread, NULL, ship_main, s);
	if (r != 0)
		return -r;
	s->started = true;
	log_info("status: shipping to %s every %" PRId64 "s (from sequence %" PRIu64 ")", s->url,
		 s->interval, s->shipped + 1);
	return 0;
}

int
napvd_shipper_start(void)
{
	struct napvd_shipper *s = napvd_ship;

	if (s == NULL || s->started)
		return 0;
	return ship_start(s);
}

/* Tell the thread to stop after its pass (no wait). */
static void
ship_retire(struct napvd_shipper *s)
{
	pthread_mutex_lock(&s->mu);
	s->quit = true;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
}

static void
ship_free(struct napvd_shipper *s)
{
	nap_smb_close(s->smb);
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->cv);
	free(s->buf);
	free(s->url);
	free(s->dir);
	free(s);
}

/* Wait for a retired shipper (and its own predecessor) and free it. */
static void
ship_join(struct napvd_shipper *s)
{
	if (s->started)
		pthread_join(s->thread, NULL);
	if (s->prev != NULL) /* it never started, so never joined it */
		ship_join(s->prev);
	ship_free(s);
}

void
napvd_shipper_stop(void)
{
	struct napvd_shipper *s = napvd_ship;

	napvd_ship = NULL;
	if (s != NULL) {
		if (s->started)
			ship_retire(s);
		ship_join(s);
	}
	if (napvd_ship_retired != NULL) {
		ship_join(napvd_ship_retired);
		napvd_ship_retired = NULL;
	}
}

/*
 * SIGHUP, before anything is switched: a new shipper when [status] or state_dir changed (the
 * credentials read now, so they must be readable by napvd's user); *out stays NULL when
 * nothing changed. Fails with err set, changing nothing.
 */
int
napvd_shipper_prepare(const struct napvd_config *cur, const struct napvd_config *next,
		      struct napvd_shipper_change **out, char *err, size_t err_len)
{
	struct napvd_shipper_change *ch;
	int r;

	*out = NULL;
	if (nap_streq_null(cur->status_ship, next->status_ship) &&
	    nap_streq_null(cur->status_credentials, next->status_credentials) &&
	    cur->status_ship_interval == next->status_ship_interval &&
	    cur->status_batch_max == next->status_batch_max &&
	    !(next->status_ship != NULL && !nap_streq_null(cur->state_dir, next->state_dir)))
		return 0;
	if ((ch = calloc(1, sizeof(*ch))) == NULL) {
		snprintf(err, err_len, "out of memory");
		return -ENOMEM;
	}
	if ((r = ship_new(next, &ch->next, err, err_len)) < 0) {
		free(ch);
		return r;
	}
	*out = ch;
	return 0;
}

/*
 * Switch (cannot fail): the running shipper is told to stop after its pass; the new one (if
 * any) starts now and joins it before its own first pass, so one thread at a time ships and
 * writes the position. The main loop never waits for SMB.
 */
void
napvd_shipper_commit(struct napvd_shipper_change *ch)
{
	struct napvd_shipper *old = napvd_ship, *nx;
	int r;

	if (ch == NULL)
		return;
	nx = ch->next;
	free(ch);
	if (old != NULL && old->started)
		ship_retire(old);
	napvd_ship = nx;
	/*
	 * A shipper retired without a successor exists only while nothing ships (napvd_ship is
	 * NULL), so at most one of old and napvd_ship_retired is set here.
	 */
	if (nx == NULL) {
		if (old != NULL) {
			napvd_ship_retired = old; /* joined by the next start, or at exit */
			log_info("status: shipping stopped ([status] ship removed)");
		}
		return;
	}
	nx->prev = old != NULL ? old : napvd_ship_retired;
	napvd_ship_retired = NULL;
	if ((r = ship_start(nx)) < 0) {
		/* the instance file is napvd's own: this does not happen; keep the chain joinable */
		log_warnx("status: shipper: %s; not shipping until napvd restarts", strerror(-r));
		napvd_ship = NULL;
		napvd_ship_retired = nx;
		return;
	}
	log_info("status: shipping reconfigured");
}

void
napvd_shipper_abort(struct napvd_shipper_change *ch)
{
	if (ch == NULL)
		return;
	if (ch->next != NULL)
		ship_free(ch->next);
	free(ch);
}

void
napvd_shipper_stats(struct napvd_ship_stats *out)
{
	struct napvd_shipper *s = napvd_ship;

	memset(out, 0, sizeof(*out));
	if (s != NULL) {
		pthread_mutex_lock(&s->mu);
		*out = s->stats;
		pthread_mutex_unlock(&s->mu);
	}
	pthread_mutex_lock(&ship_totals_mu);
	out->shipped_total = ship_shipped_total;
	out->batches_total = ship_batches_total;
	out->errors_total = ship_errors_total;
	pthread_mutex_unlock(&ship_totals_mu);
}
