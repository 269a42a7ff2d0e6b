// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * The status inbox ingester ([status] inbox): napvd writes batch files of status messages
 * into the site server's inbox share (smbd exports this directory); a thread of its own reads
 * every "*.jsonl" file there (inotify wakes it, and it scans every scan_interval anyway),
 * stores the messages of one file in one transaction (nap_store_status_put: each id once) and
 * deletes the file only after the commit. A crash anywhere before the delete reads the file
 * again; the ids make that harmless, so counting is exactly once.
 *
 * Files come from a share: every line is parsed strictly (nap_status_msg_parse). A file with
 * malformed lines (or one that is not a regular file, too large, unreadable as text) is moved
 * whole into the quarantine directory after its good lines are stored, each bad line gets a
 * row in status_quarantine with its reason, a counter and a rate-limited log line; the
 * ingester goes on with the next file. Temporary names (".NAME.XXXXXXXX.tmp", anything
 * starting with a dot) are left alone: napvd renames them when they are complete; one
 * untouched for a day (its writer stopped mid-put) is removed by the hourly pass.
 *
 * Retention ([status] keep, keep_daily): at start and hourly the same thread deletes messages
 * and quarantine rows older than keep and daily history rows older than keep_daily, oldest
 * first, 10,000 rows per transaction and ten transactions per turn (a large backlog goes in
 * turns with the inbox's files); client_last (each machine's latest verdict) stays.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "nap/log.h"
#include "nap/status.h"
#include "nap/store.h"
#include "nap/util.h"
#include "napsited.h"

#define INGEST_FILE_MAX      (64u * 1024 * 1024) /* a batch file larger than this is refused */
#define INGEST_QROWS_MAX     100 /* status_quarantine rows per file, then one summary row */
#define INGEST_FILES_PER_SCAN 10000
#define INGEST_YOUNG_S       5 /* seconds a torn or empty file is given to be completed */

struct napsited_ingest {
	struct napsited *sd;
	char *store_uri, *inbox, *quarantine;
	int64_t interval_ms;
	int64_t keep, keep_daily; /* seconds, 0: forever */
	int64_t next_prune_ms;    /* monotonic; 0: at once */
	bool pruning;             /* a retention pass goes on after the inbox's turn */
	int inofd;
	int wake[2]; /* a pipe: stop */
	pthread_t thread;
	_Atomic bool stop;
	struct nap_status_msg *msgs;
	size_t cap;
};

static struct napsited_ingest *ingest_running;

static int
ingest_name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool
ingest_wanted(const char *name)
{
	size_t n = strlen(name);

	return name[0] != '.' && n > 6 && strcmp(name + n - 6, ".jsonl") == 0;
}

/* Move a file into the quarantine directory (a new name when one is taken). */
static void
ingest_quarantine_file(struct napsited_ingest *in, int dfd, const char *name)
{
	char target[4096];
	int qfd = open(in->quarantine, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (qfd < 0) {
		LOG_WARNX_RL("status: quarantine %s: %s; %s stays in the inbox", in->quarantine,
			     strerror(errno), name);
		return;
	}
	snprintf(target, sizeof(target), "%s", name);
	for (unsigned i = 1; faccessat(qfd, target, F_OK, AT_SYMLINK_NOFOLLOW) == 0 && i < 1000;
	     i++)
		snprintf(target, sizeof(target), "%s.%u", name, i);
	if (renameat(dfd, name, qfd, target) < 0) {
		/* another file system: the file stays; its lines are quarantined already */
		LOG_WARNX_RL("status: moving %s to %s: %s", name, in->quarantine, strerror(errno));
		if (unlinkat(dfd, name, 0) < 0)
			LOG_WARNX_RL("status: removing %s: %s", name, strerror(errno));
	}
	fsync(qfd);
	close(qfd);
}

/*
 * A quarantine row, recorded once per (file, digest, line): digest names the file's bytes (or,
 * when they were not read, its size and time), so reading the same file again adds nothing.
 */
static void
ingest_qrow(struct nap_store *st, const char *name, const char *digest, int64_t line,
	    const char *reason, int64_t now)
{
	struct nap_store_err serr = {{0}};
	char safe_name[256];

	nap_escape((const uint8_t *)name, strlen(name), safe_name, sizeof(safe_name));
	if (nap_store_status_quarantine(st, safe_name, digest, line, reason, now, &serr) < 0)
		LOG_WARNX_RL("status: recording the quarantine of %s: %s", safe_name, serr.msg);
}

/* The first 64 bits of the SHA-256 of the file's bytes, in hex. */
static void
ingest_digest(const char *buf, size_t len, char out[17])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	if (EVP_Digest(buf, len, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen < 8) {
		out[0] = '\0';
		return;
	}
	nap_hex_encode(md, 8, out);
}

/*
 * One file: 0 done (deleted or quarantined), -EAGAIN leave it for later (the store failed),
 * other negative errno: could not be read at all (quarantined when it can be).
 */
static int
ingest_file(struct napsited_ingest *in, struct nap_store *st, int dfd, const char *name)
{
	struct napsited_metrics *m = &in->sd->m;
	struct nap_store_err serr = {{0}};
	struct stat st_;
	char *buf = NULL, why[256], safe_name[256], digest[40] = "";
	size_t len = 0, n = 0, inserted = 0, bad = 0, lineno = 0;
	int64_t now = (int64_t)time(NULL);
	int fd, r;

	nap_escape((const uint8_t *)name, strlen(name), safe_name, sizeof(safe_name));
	fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0; /* gone meanwhile */
		r = -errno;
		snprintf(why, sizeof(why), "cannot open: %s", strerror(errno));
		goto refuse;
	}
	if (fstat(fd, &st_) < 0) {
		close(fd);
		r = -EINVAL;
		snprintf(why, sizeof(why), "cannot stat: %s", strerror(errno));
		goto refuse;
	}
	snprintf(digest, sizeof(digest), "s%lld-m%lld", (long long)st_.st_size,
		 (long long)st_.st_mtime);
	if (!S_ISREG(st_.st_mode)) {
		close(fd);
		r = -EINVAL;
		snprintf(why, sizeof(why), "not a regular file");
		goto refuse;
	}
	if ((uint64_t)st_.st_size > INGEST_FILE_MAX) {
		close(fd);
		r = -EFBIG;
		snprintf(why, sizeof(why), "%lld bytes, more than the %u allowed",
			 (long long)st_.st_size, INGEST_FILE_MAX);
		goto refuse;
	}
	if ((buf = malloc((size_t)st_.st_size + 1)) == NULL) {
		close(fd);
		return -EAGAIN;
	}
	while (len < (size_t)st_.st_size) {
		ssize_t got = read(fd, buf + len, (size_t)st_.st_size - len);

		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		len += (size_t)got;
	}
	close(fd);
	/*
	 * A writer that ignores the contract (temporary name, then rename) may still be at
	 * work: a file that is empty or does not end in a newline is left for a later scan
	 * while it is young, and judged as it is once it is older.
	 */
	if ((len == 0 || buf[len - 1] != '\n') && now - (int64_t)st_.st_mtime < INGEST_YOUNG_S) {
		free(buf);
		return 0;
	}
	ingest_digest(buf, len, digest);
	if (len == 0) {
		free(buf);
		r = -EINVAL;
		snprintf(why, sizeof(why), "empty file");
		goto refuse;
	}
	/* messages: at most one per line */
	{
		size_t lines = 1;

		for (size_t i = 0; i < len; i++)
			lines += buf[i] == '\n';
		if (lines > in->cap) {
			struct nap_status_msg *nm = realloc(in->msgs, lines * sizeof(*nm));

			if (nm == NULL) {
				free(buf);
				return -EAGAIN;
			}
			in->msgs = nm;
			in->cap = lines;
		}
	}
	for (size_t off = 0; off < len;) {
		char *nl = memchr(buf + off, '\n', len - off);
		size_t l = nl != NULL ? (size_t)(nl - (buf + off)) : len - off;

		lineno++;
		if (l == 0 && nl != NULL) {
			off++;
			continue; /* an empty line */
		}
		if (nap_status_msg_parse(buf + off, l, &in->msgs[n], why, sizeof(why)) == 0) {
			n++;
		} else {
			bad++;
			if (bad <= INGEST_QROWS_MAX)
				ingest_qrow(st, name, digest, (int64_t)lineno, why, now);
			LOG_WARNX_RL("status: %s line %zu: %s (quarantined)", safe_name, lineno, why);
		}
		off += l + (nl != NULL);
	}
	if (bad > INGEST_QROWS_MAX) {
		snprintf(why, sizeof(why), "%zu more malformed lines", bad - INGEST_QROWS_MAX);
		ingest_qrow(st, name, digest, 0, why, now);
	}
	free(buf);
	if (n > 0 && nap_store_status_put(st, in->msgs, n, now, &inserted, &serr) < 0) {
		LOG_WARNX_RL("status: storing %zu message(s) of %s: %s (kept for a retry)", n,
			     safe_name, serr.msg);
		atomic_fetch_add(&m->status_store_errors, 1);
		return -EAGAIN;
	}
	atomic_fetch_add(&m->status_ingested, inserted);
	atomic_fetch_add(&m->status_duplicates, n - inserted);
	atomic_fetch_add(&m->status_files, 1);
	if (bad > 0) {
		atomic_fetch_add(&m->status_quarantined, bad);
		ingest_quarantine_file(in, dfd, name);
	} else if (unlinkat(dfd, name, 0) < 0 && errno != ENOENT) {
		LOG_WARNX_RL("status: removing %s after the commit: %s", safe_name,
			     strerror(errno));
	}
	log_debug("status: %s: %zu message(s), %zu new, %zu malformed line(s)", safe_name, n,
		  inserted, bad);
	return 0;
refuse:
	LOG_WARNX_RL("status: %s: %s (quarantined)", safe_name, why);
	ingest_qrow(st, name, digest, 0, why, now);
	atomic_fetch_add(&m->status_quarantined, 1);
	ingest_quarantine_file(in, dfd, name);
	return r;
}

/* Read the inbox once: every wanted file, oldest name first. */
static void
ingest_scan(struct napsited_ingest *in, struct nap_store *st)
{
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	DIR *dh;
	int dfd;

	if ((dh = opendir(in->inbox)) == NULL) {
		LOG_WARNX_RL("status: inbox %s: %s", in->inbox, strerror(errno));
		return;
	}
	while ((de = readdir(dh)) != NULL && n < INGEST_FILES_PER_SCAN) {
		if (!ingest_wanted(de->d_name))
			continue;
		if (n == cap) {
			char **nn = realloc(names, (cap = cap ? cap * 2 : 64) * sizeof(*names));

			if (nn == NULL)
				break;
			names = nn;
		}
		if ((names[n] = strdup(de->d_name)) == NULL)
			break;
		n++;
	}
	atomic_store(&in->sd->m.status_inbox_files, (uint64_t)n);
	dfd = dirfd(dh);
	if (n > 1) /* names is NULL when nothing was found */
		qsort(names, n, sizeof(*names), ingest_name_cmp);
	for (size_t i = 0; i < n; i++) {
		if (!atomic_load(&in->stop) && ingest_file(in, st, dfd, names[i]) == -EAGAIN) {
			free(names[i]);
			for (size_t j = i + 1; j < n; j++)
				free(names[j]);
			break; /* the store is down: try again on the next scan */
		}
		atomic_store(&in->sd->m.status_inbox_files, (uint64_t)(n - i - 1));
		free(names[i]);
	}
	free(names);
	closedir(dh);
}

#define INGEST_PRUNE_EVERY_MS (3600 * 1000) /* retention pass */
#define INGEST_PRUNE_BATCH 10000            /* rows per kind per transaction */
#define INGEST_PRUNE_TURN  10               /* transactions, then files get their turn */

/*
 * Retention: messages (and quarantine rows) older than keep, daily rows older than keep_daily,
 * in bounded transactions so that ingesting is held up for one at a time; at start and hourly
 * (with the sweep of stale temporary files).
 */
static void
ingest_prune(struct napsited_ingest *in, struct nap_store *st)
{
	int64_t now = time(NULL), before, before_day, total = 0, total_daily = 0;
	struct nap_status_pruned p;
	struct nap_store_err serr = {{0}};
	bool more;
	int turn = 0;

	if (nap_mono_ms() < in->next_prune_ms)
		return;
	if (!in->pruning)
		nap_sweep_stale_tmp(in->inbox, "", now - NAP_TMP_STALE_S, "status");
	if (in->keep == 0 && in->keep_daily == 0) {
		in->next_prune_ms = nap_mono_ms() + INGEST_PRUNE_EVERY_MS;
		return;
	}
	before = in->keep > 0 ? now - in->keep : 0;
	before_day = in->keep_daily > 0 ? (now - in->keep_daily) / 86400 : 0;
	do {
		if (nap_store_status_prune(st, before, before_day, INGEST_PRUNE_BATCH, &p, &serr) <
		    0) {
			LOG_WARNX_RL("status: pruning: %s", serr.msg);
			in->next_prune_ms = nap_mono_ms() + 60 * 1000; /* try again soon */
			return;
		}
		total += p.messages;
		total_daily += p.daily;
		atomic_fetch_add(&in->sd->m.status_pruned, (uint64_t)p.messages);
		atomic_fetch_add(&in->sd->m.status_pruned_daily, (uint64_t)p.daily);
		more = p.messages == INGEST_PRUNE_BATCH || p.quarantine == INGEST_PRUNE_BATCH ||
		       p.daily == INGEST_PRUNE_BATCH;
	} while (more && !atomic_load(&in->stop) && ++turn < INGEST_PRUNE_TURN);
	if (total > 0 || total_daily > 0)
		log_info("status: pruned %" PRId64 " message(s) older than %" PRId64 " d and %" PRId64
			 " daily row(s) older than %" PRId64 " d%s",
			 total, in->keep / 86400, total_daily, in->keep_daily / 86400,
			 more ? "; more after the inbox's turn" : "");
	/* a large backlog (the first pass after an upgrade) goes in turns with the inbox */
	in->pruning = more;
	in->next_prune_ms = nap_mono_ms() + (more ? 0 : INGEST_PRUNE_EVERY_MS);
}

static void *
ingest_thread(void *arg)
{
	struct napsited_ingest *in = arg;
	struct nap_store *st = NULL;

	while (!atomic_load(&in->stop)) {
		struct nap_store_err serr = {{0}};
		struct pollfd pfd[2] = {{.fd = in->inofd, .events = POLLIN},
					{.fd = in->wake[0], .events = POLLIN}};

		if (st == NULL && nap_store_open(in->store_uri, &st, &serr) < 0) {
			st = NULL;
			LOG_WARNX_RL("status: store %s: %s", in->store_uri, serr.msg);
		}
		if (st != NULL)
			ingest_scan(in, st);
		if (st != NULL)
			ingest_prune(in, st);
		if (poll(pfd, 2, (int)in->interval_ms) > 0 && (pfd[0].revents & POLLIN)) {
			char ev[4096];

			/* drain: the next scan reads the directory anyway */
			while (read(in->inofd, ev, sizeof(ev)) > 0)
				;
		}
	}
	if (st != NULL)
		nap_store_close(st);
	return NULL;
}

int
napsited_ingest_start(struct napsited *sd, const struct nap_siteconf *c)
{
	struct napsited_ingest *in;
	int r;

	if (ingest_running != NULL || !c->has_status || c->status_inbox == NULL)
		return 0;
	if ((in = calloc(1, sizeof(*in))) == NULL)
		return -ENOMEM;
	in->sd = sd;
	in->interval_ms = c->status_scan_interval_ms;
	in->keep = c->status_keep;
	in->keep_daily = c->status_keep_daily;
	in->inofd = -1;
	in->wake[0] = in->wake[1] = -1;
	in->store_uri = strdup(c->store_uri);
	in->inbox = strdup(c->status_inbox);
	in->quarantine = strdup(c->status_quarantine);
	if (in->store_uri == NULL || in->inbox == NULL || in->quarantine == NULL) {
		r = -ENOMEM;
		goto fail;
	}
	if (mkdir(in->quarantine, 0750) < 0 && errno != EEXIST) {
		r = -errno;
		log_warnx("status: quarantine %s: %s", in->quarantine, strerror(errno));
		goto fail;
	}
	in->inofd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (in->inofd < 0 || inotify_add_watch(in->inofd, in->inbox,
					       IN_MOVED_TO | IN_CLOSE_WRITE | IN_CREATE) < 0) {
		r = -errno;
		log_warnx("status: inbox %s: %s", in->inbox, strerror(errno));
		goto fail;
	}
	if (pipe2(in->wake, O_CLOEXEC | O_NONBLOCK) < 0) {
		r = -errno;
		goto fail;
	}
	if ((r = pthread_create(&in->thread, NULL, ingest_thread, in)) != 0) {
		r = -r;
		goto fail;
	}
	ingest_running = in;
	log_info("status: ingesting %s (quarantine %s)", in->inbox, in->quarantine);
	return 0;
fail:
	if (in->inofd >= 0)
		close(in->inofd);
	if (in->wake[0] >= 0) {
		close(in->wake[0]);
		close(in->wake[1]);
	}
	free(in->store_uri);
	free(in->inbox);
	free(in->quarantine);
	free(in);
	return r;
}

bool
napsited_ingest_changed(const struct nap_siteconf *a, const struct nap_siteconf *b)
{
	return a->has_status != b->has_status || !nap_streq_null(a->status_inbox, b->status_inbox) ||
	       !nap_streq_null(a->status_quarantine, b->status_quarantine) ||
	       a->status_scan_interval_ms != b->status_scan_interval_ms ||
	       a->status_keep != b->status_keep || a->status_keep_daily != b->status_keep_daily ||
	       strcmp(a->store_uri, b->store_uri) != 0;
}

void
napsited_ingest_stop(void)
{
	struct napsited_ingest *in = ingest_running;

	if (in == NULL)
		return;
	/* a file being ingested finishes its transaction (or rolls back): nothing is lost */
	atomic_store(&in->stop, true);
	while (write(in->wake[1], "x", 1) < 0 && errno == EINTR)
		;
	pthread_join(in->thread, NULL);
	close(in->inofd);
	close(in->wake[0]);
	close(in->wake[1]);
	free(in->msgs);
	free(in->store_uri);
	free(in->inbox);
	free(in->quarantine);
	free(in);
	ingest_running = NULL;
}
