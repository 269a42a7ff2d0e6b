// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * The managed settings file ([managed] file in napvd.conf(5)): napsited writes nap-shv.conf into
 * this host's configuration share over SMB; napvd watches it (inotify on its directory, and
 * every check_interval in case a change went unnoticed, e.g. on a network file system), and
 * judges each new version whole:
 *
 *   1. lib/site/shv.c parses it, the same parser napctl ran before the push (untrusted input:
 *      anybody who can write to the share can write this file);
 *   2. its revision must be newer than the one running;
 *   3. napvd.conf is parsed again with the file's [hsr] and [validation] keys in place of its
 *      own, through config.c's own key parser and its checks across sections (the rules of
 *      napvd.conf itself: a bind_password_file that is not there fails here);
 *   4. the result goes through the SIGHUP path (napvd_reload_config): new resources are opened
 *      next to the old ones and switched in between two datagrams, so no request is dropped.
 *
 * Any failure rejects the file whole and keeps the running settings. The verdict goes into
 * nap-shv.status beside the file (JSON, written to a temporary name and renamed), which napsited
 * and napctl read back over SMB.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "nap/log.h"
#include "nap/shv.h"
#include "nap/util.h"
#include "napvd.h"

#define MANAGED_SETTLE_MS 200 /* after an inotify event: let a writer finish */

_Static_assert(NAP_SHV_MAX_KNOWN_ERRORS == NAPVD_MAX_KNOWN_ERRORS,
	       "the settings file and napvd.conf hold as many known client errors");
_Static_assert(NAP_SHV_MAX_URIS == NAPVD_HSR_MAX_URIS,
	       "the settings file and napvd.conf hold as many directory URIs");

struct napvd_managed {
	struct napvd *d;
	char *path, *dir, *base, *status_path;
	int ino_fd, wd;
	struct napvd_io ino_io, timer_io, settle_io;
	bool attached;
	napvd_reload_fn *reload; /* set by attach: the SIGHUP path */
	int64_t interval; /* seconds, as the timer is armed */
	/* The accepted settings: the overlay every parse of napvd.conf takes. */
	struct napvd_overlay ov;
	bool have_ov;
	uint64_t running_revision;
	/* The content last judged (accepted or rejected): the same bytes are not judged again. */
	uint8_t digest[32];
	bool have_digest;
	bool missing_logged;
	/* metrics */
	uint64_t checks, accepted, rejected;
	int64_t decided_at;
	bool last_rejected;
};

static void
managed_overlay_free(struct napvd_overlay *ov)
{
	for (size_t i = 0; i < ov->n; i++) {
		free(ov->kv[i].section);
		free(ov->kv[i].key);
		free(ov->kv[i].value);
	}
	free(ov->kv);
	ov->kv = NULL;
	ov->n = 0;
}

static int
managed_overlay_add(const char *section, const char *key, const char *value, void *arg)
{
	struct napvd_overlay *ov = arg;
	struct napvd_overlay_kv *nv;

	nv = realloc(ov->kv, (ov->n + 1) * sizeof(*nv));
	if (nv == NULL)
		return -ENOMEM;
	ov->kv = nv;
	nv = &ov->kv[ov->n];
	nv->section = strdup(section);
	nv->key = strdup(key);
	nv->value = strdup(value);
	ov->n++;
	if (nv->section == NULL || nv->key == NULL || nv->value == NULL)
		return -ENOMEM;
	return 0;
}

/* A message for the status file and the log: printable ASCII, bounded. */
static void
managed_add_error(struct nap_shv_status *st, const char *msg)
{
	if (st->n_errors == NAP_SHV_MAX_ERRORS)
		return;
	nap_escape((const uint8_t *)msg, strnlen(msg, NAP_SHV_ERROR_LEN - 1),
		   st->errors[st->n_errors], NAP_SHV_ERROR_LEN);
	st->n_errors++;
}

static void
managed_status_write(struct napvd_managed *m, const struct nap_shv_status *st)
{
	char *text = nap_shv_status_format(st);
	int r;

	if (text == NULL) {
		log_warnx("[managed] %s: out of memory", m->status_path);
		return;
	}
	r = nap_write_file_atomic(m->status_path, text, strlen(text), 0644);
	if (r < 0)
		LOG_WARNX_RL("[managed] writing %s: %s", m->status_path, strerror(-r));
	free(text);
}

/*
 * The revision a file says it has, for the status of a file that does not parse: the first
 * "revision = N" line, or 0.
 */
static uint64_t
managed_scan_revision(const char *text, size_t len)
{
	const char *p = text, *end = text + len;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl != NULL ? nl : end;
		char line[64];
		size_t n = (size_t)(le - p);
		unsigned long long v;
		char eq;

		if (n < sizeof(line)) {
			memcpy(line, p, n);
			line[n] = '\0';
			if (sscanf(line, " revision %c %llu", &eq, &v) == 2 && eq == '=' &&
			    v <= NAP_SHV_REVISION_MAX)
				return v;
		}
		p = le + 1;
	}
	return 0;
}

static void
managed_digest(const void *p, size_t n, uint8_t out[32])
{
	unsigned len = 32;

	if (EVP_Digest(p, n, out, &len, EVP_sha256(), NULL) != 1)
		memset(out, 0, 32);
}

static void
managed_reject(struct napvd_managed *m, struct nap_shv_status *st)
{
	struct napvd *d = m->d;

	(void)d;
	st->result = NAP_SHV_REJECTED;
	st->running_revision = m->running_revision;
	m->rejected++;
	m->last_rejected = true;
	m->decided_at = st->applied;
	log_warnx("[managed] %s revision %" PRIu64 " rejected (%zu error(s), first: %s); "
		  "keeping revision %" PRIu64,
		  m->path, st->revision, st->n_errors, st->n_errors > 0 ? st->errors[0] : "?",
		  m->running_revision);
	managed_status_write(m, st);
}

/*
 * Steps 1 and 3 for the file's text: its own rules, then napvd.conf (conf_path) parsed again
 * with its keys. On success *ov holds those keys, *next the configuration and *revision the
 * file's; on failure st holds the reasons (and its revision what the file says, if anything).
 */
static int
managed_validate(const char *conf_path, const char *name, const char *text, size_t len,
		 struct nap_shv_status *st, uint64_t *revision, struct napvd_overlay *ov,
		 struct napvd_config **next)
{
	struct nap_shv_settings s;
	struct nap_shv_errors errs;
	char err[1024];
	int r;

	*next = NULL;
	st->revision = managed_scan_revision(text, len);
	nap_shv_settings_init(&s);
	r = nap_shv_settings_parse(text, len, &s, &errs);
	if (r < 0) {
		if (r == -ENOMEM)
			managed_add_error(st, "out of memory");
		for (size_t i = 0; i < errs.n; i++)
			managed_add_error(st, errs.msg[i]);
		if (errs.dropped > 0) {
			snprintf(err, sizeof(err), "... and %zu more", errs.dropped);
			managed_add_error(st, err);
		}
		return r;
	}
	st->revision = *revision = s.revision;
	ov->name = name;
	r = nap_shv_settings_each(&s, managed_overlay_add, ov);
	nap_shv_settings_clear(&s);
	if (r == 0)
		r = napvd_config_parse_file_overlay(conf_path, ov, next, err, sizeof(err));
	else
		snprintf(err, sizeof(err), "out of memory");
	if (r < 0) {
		managed_add_error(st, err);
		managed_overlay_free(ov);
		return r;
	}
	return 0;
}

int
napvd_managed_check_file(const char *conf_path, const char *path, struct napvd_config **out,
			 FILE *errs)
{
	struct nap_shv_status st;
	struct napvd_overlay ov = {0};
	uint8_t *text = NULL;
	uint64_t rev = 0;
	size_t len = 0;
	int r;

	*out = NULL;
	r = nap_read_file(path, NAP_SHV_FILE_MAX, &text, &len);
	if (r == -ENOENT)
		return 0;
	if (r < 0) {
		fprintf(errs, "napvd: [managed] %s: %s\n", path,
			r == -EFBIG ? "larger than 64 KiB" : strerror(-r));
		return r;
	}
	memset(&st, 0, sizeof(st));
	r = managed_validate(conf_path, path, (const char *)text, len, &st, &rev, &ov, out);
	free(text);
	if (r < 0) {
		fprintf(errs, "napvd: [managed] %s (revision %" PRIu64 ") would be rejected:\n",
			path, st.revision);
		for (size_t i = 0; i < st.n_errors; i++)
			fprintf(errs, "  %s\n", st.errors[i]);
		return r;
	}
	managed_overlay_free(&ov);
	return 1;
}

void
napvd_managed_check(struct napvd *d)
{
	struct napvd_managed *m = d->managed;
	struct nap_shv_status st;
	struct napvd_overlay ov = {0};
	struct napvd_config *next = NULL;
	uint8_t *text = NULL, digest[32];
	uint64_t s_rev = 0;
	size_t len = 0;
	char err[1024];
	int r;

	if (m == NULL)
		return;
	r = nap_read_file(m->path, NAP_SHV_FILE_MAX, &text, &len);
	if (r == 0 && len == 0) {
		/* A writer that is not nap_smb_put (smbclient put) creates, then writes: wait. */
		free(text);
		return;
	}
	if (r == -ENOENT) {
		/* No file (yet): napvd.conf's values, or the last accepted file's, stay. */
		if (!m->missing_logged)
			log_info("[managed] %s is not there; running on %s", m->path,
				 m->have_ov ? "the settings accepted before" : "napvd.conf alone");
		m->missing_logged = true;
		return;
	}
	m->missing_logged = false;
	memset(&st, 0, sizeof(st));
	st.applied = napvd_real_s(&d->clock);
	if (r < 0) {
		snprintf(err, sizeof(err), "%s: %s", m->path,
			 r == -EFBIG ? "larger than 64 KiB" : strerror(-r));
		memset(digest, 0, sizeof(digest));
		if (m->have_digest && memcmp(m->digest, digest, 32) == 0)
			return;
		memcpy(m->digest, digest, 32);
		m->have_digest = true;
		m->checks++;
		managed_add_error(&st, err);
		managed_reject(m, &st);
		return;
	}
	managed_digest(text, len, digest);
	if (m->have_digest && memcmp(m->digest, digest, sizeof(digest)) == 0) {
		free(text);
		return; /* judged already */
	}
	memcpy(m->digest, digest, sizeof(digest));
	m->have_digest = true;
	m->checks++;

	/* 1. and 3. (the file's own rules, napvd.conf's with its keys) */
	r = managed_validate(d->conf->path, m->path, (const char *)text, len, &st, &s_rev, &ov,
			     &next);
	free(text);
	if (r < 0) {
		managed_reject(m, &st);
		return;
	}
	/* 2. newer than what runs (a replayed old file is refused) */
	if (m->have_ov && s_rev <= m->running_revision) {
		snprintf(err, sizeof(err),
			 "revision %" PRIu64 " is not newer than the running revision %" PRIu64,
			 s_rev, m->running_revision);
		managed_add_error(&st, err);
		managed_overlay_free(&ov);
		napvd_config_free(next);
		managed_reject(m, &st);
		return;
	}
	/* 4. the reload path (at start-up nothing runs yet: the configuration is swapped) */
	if (m->attached) {
		r = m->reload(d, next, err, sizeof(err));
		if (r < 0) {
			managed_add_error(&st, err);
			managed_overlay_free(&ov);
			managed_reject(m, &st);
			return;
		}
	} else {
		napvd_config_free(d->conf);
		d->conf = next;
	}
	managed_overlay_free(&m->ov);
	m->ov = ov;
	m->ov.name = m->path;
	m->have_ov = true;
	m->running_revision = s_rev;
	m->accepted++;
	m->last_rejected = false;
	m->decided_at = st.applied;
	st.result = NAP_SHV_ACCEPTED;
	st.running_revision = m->running_revision;
	log_info("[managed] %s revision %" PRIu64 " applied", m->path, s_rev);
	managed_status_write(m, &st);
}

const struct napvd_overlay *
napvd_managed_overlay(const struct napvd *d)
{
	if (d->managed == NULL || !d->managed->have_ov)
		return NULL;
	return &d->managed->ov;
}

int
napvd_managed_open(struct napvd *d, const char *conf_path)
{
	struct napvd_managed *m;
	const char *slash;
	size_t dl;

	(void)conf_path;
	if (d->conf->managed_file == NULL)
		return 0;
	m = calloc(1, sizeof(*m));
	if (m == NULL)
		return -ENOMEM;
	m->d = d;
	m->ino_fd = m->wd = -1;
	m->ino_io.fd = m->timer_io.fd = m->settle_io.fd = -1;
	m->path = strdup(d->conf->managed_file);
	slash = strrchr(d->conf->managed_file, '/');
	dl = (size_t)(slash - d->conf->managed_file);
	m->dir = strndup(d->conf->managed_file, dl == 0 ? 1 : dl);
	m->base = strdup(slash + 1);
	if (m->path == NULL || m->dir == NULL || m->base == NULL ||
	    asprintf(&m->status_path, "%s/%s", dl == 0 ? "" : m->dir, NAP_SHV_STATUS_NAME) < 0) {
		m->status_path = NULL;
		d->managed = m;
		napvd_managed_close(d);
		return -ENOMEM;
	}
	d->managed = m;
	/* Before the first request: a valid file applies from the start. */
	napvd_managed_check(d);
	return 0;
}

static void
managed_timer_cb(struct napvd_io *io, uint32_t events)
{
	struct napvd_managed *m = io->arg;

	(void)events;
	napvd_timer_ack(io->fd);
	napvd_managed_check(m->d);
	/* a push that stopped half-way leaves ".nap-shv.conf.XXXXXXXX.tmp" (names are per put) */
	nap_sweep_stale_tmp(m->dir, m->base, (int64_t)time(NULL) - NAP_TMP_STALE_S, "[managed]");
}

static void
managed_settle_cb(struct napvd_io *io, uint32_t events)
{
	struct napvd_managed *m = io->arg;
	struct itimerspec off = {0};

	(void)events;
	napvd_timer_ack(io->fd);
	timerfd_settime(io->fd, 0, &off, NULL);
	napvd_managed_check(m->d);
}

/* Something happened in the directory: when it concerns the file, look at it shortly. */
static void
managed_inotify_cb(struct napvd_io *io, uint32_t events)
{
	struct napvd_managed *m = io->arg;
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	bool ours = false;
	ssize_t n;

	(void)events;
	while ((n = read(io->fd, buf, sizeof(buf))) > 0) {
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *ev = (const struct inotify_event *)p;

			if (ev->mask & IN_Q_OVERFLOW)
				ours = true;
			if (ev->len > 0 && strcmp(ev->name, m->base) == 0)
				ours = true;
			p += sizeof(*ev) + ev->len;
		}
	}
	if (ours)
		napvd_timer_set(m->settle_io.fd, MANAGED_SETTLE_MS, 0);
}

int
napvd_managed_attach(struct napvd *d, napvd_reload_fn *reload)
{
	struct napvd_managed *m = d->managed;

	if (m == NULL)
		return 0;
	m->reload = reload;
	m->timer_io = (struct napvd_io){.fd = napvd_timer_open(), .cb = managed_timer_cb, .arg = m};
	m->settle_io = (struct napvd_io){.fd = napvd_timer_open(), .cb = managed_settle_cb,
					 .arg = m};
	if (m->timer_io.fd < 0 || m->settle_io.fd < 0)
		return -errno;
	if (napvd_ev_add(&d->ev, &m->timer_io, EPOLLIN) < 0 ||
	    napvd_ev_add(&d->ev, &m->settle_io, EPOLLIN) < 0)
		return -errno;
	m->interval = d->conf->managed_check_interval;
	napvd_timer_set(m->timer_io.fd, m->interval * 1000, m->interval * 1000);
	m->ino_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (m->ino_fd >= 0)
		m->wd = inotify_add_watch(m->ino_fd, m->dir,
					  IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_DELETE |
						  IN_MOVED_FROM | IN_ATTRIB);
	if (m->ino_fd < 0 || m->wd < 0) {
		log_warn("[managed] inotify on %s; looking every %" PRId64 "s", m->dir,
			 m->interval);
	} else {
		m->ino_io = (struct napvd_io){.fd = m->ino_fd, .cb = managed_inotify_cb, .arg = m};
		if (napvd_ev_add(&d->ev, &m->ino_io, EPOLLIN) < 0)
			return -errno;
	}
	m->attached = true;
	/* A change between open and now (daemon(), privileges) is not missed. */
	napvd_managed_check(d);
	return 0;
}

void
napvd_managed_reconfigure(struct napvd *d)
{
	struct napvd_managed *m = d->managed;

	if (m == NULL) {
		if (d->conf->managed_file != NULL)
			log_warnx("[managed] file %s: takes effect when napvd restarts",
				  d->conf->managed_file);
		return;
	}
	if (d->conf->managed_file == NULL || strcmp(d->conf->managed_file, m->path) != 0)
		log_warnx("[managed] file changed: napvd keeps watching %s until it restarts",
			  m->path);
	if (m->attached && d->conf->managed_check_interval != m->interval) {
		m->interval = d->conf->managed_check_interval;
		napvd_timer_set(m->timer_io.fd, m->interval * 1000, m->interval * 1000);
	}
}

void
napvd_managed_close(struct napvd *d)
{
	struct napvd_managed *m = d->managed;
	struct napvd_io *ios[3];

	if (m == NULL)
		return;
	ios[0] = &m->ino_io;
	ios[1] = &m->timer_io;
	ios[2] = &m->settle_io;
	for (size_t i = 0; i < 3; i++) {
		if (ios[i]->fd < 0)
			continue;
		if (m->attached)
			napvd_ev_del(&d->ev, ios[i]);
		close(ios[i]->fd);
	}
	if (m->ino_fd >= 0 && m->ino_io.fd < 0)
		close(m->ino_fd);
	managed_overlay_free(&m->ov);
	free(m->path);
	free(m->dir);
	free(m->base);
	free(m->status_path);
	free(m);
	d->managed = NULL;
}

size_t
napvd_managed_metrics(const struct napvd *d, char *out, size_t cap)
{
	const struct napvd_managed *m = d->managed;
	int n;

	if (m == NULL || cap == 0)
		return 0;
	n = snprintf(out, cap,
		     "# HELP napvd_managed_revision Revision of the managed settings file in force "
		     "(0: napvd.conf alone)\n"
		     "# TYPE napvd_managed_revision gauge\n"
		     "napvd_managed_revision %" PRIu64 "\n"
		     "# HELP napvd_managed_checks_total Versions of the managed settings file judged\n"
		     "# TYPE napvd_managed_checks_total counter\n"
		     "napvd_managed_checks_total %" PRIu64 "\n"
		     "# HELP napvd_managed_accepted_total Versions of the managed settings file "
		     "applied\n"
		     "# TYPE napvd_managed_accepted_total counter\n"
		     "napvd_managed_accepted_total %" PRIu64 "\n"
		     "# HELP napvd_managed_rejects_total Versions of the managed settings file "
		     "rejected whole\n"
		     "# TYPE napvd_managed_rejects_total counter\n"
		     "napvd_managed_rejects_total %" PRIu64 "\n"
		     "# HELP napvd_managed_last_rejected Whether the newest version was rejected\n"
		     "# TYPE napvd_managed_last_rejected gauge\n"
		     "napvd_managed_last_rejected %d\n",
		     m->running_revision, m->checks, m->accepted, m->rejected,
		     m->last_rejected ? 1 : 0);
	if (n < 0)
		return 0;
	return (size_t)n < cap ? (size_t)n : cap - 1;
}
