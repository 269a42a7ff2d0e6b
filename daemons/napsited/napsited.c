// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * napsited: the nap site server. This file holds main(): options, start-up (bind the metrics
 * socket, daemonize, drop privileges, open the store, start the agent endpoint), the signal
 * handling, SIGHUP reload and the main loop, which
 *   - polls the store's revision every poll_interval (at once on SIGUSR1, which napctl sends
 *     after a change);
 *   - when it moved (and at start): snapshot -> unsigned HSR document -> signed with the site
 *     key -> the current HSR (agents fetch it) -> publish to the directory;
 *   - retries a failed publish with exponential backoff and jitter, retry_min to retry_max.
 * The directory work runs here, bounded by [directory] timeout per URI; the metrics and agent
 * endpoints answer from their own threads meanwhile.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "nap/hsr.h"
#include "nap/log.h"
#include "nap/siteconf.h"
#include "nap/store.h"
#include "nap/util.h"
#include "napsited.h"
#ifdef NAPSITED_HAVE_AGENT
#include "agent.h"
#ifdef NAPSITED_HAVE_WEB
#include "web.h"
#endif
#endif

struct site {
	struct napsited sd;
	struct nap_store *store;
	char *password; /* the bind password, wiped on free */
	int sigfd;
	int metrics_fd; /* bound before the privilege drop; MHD owns it once started */
	bool quit;
	/* what the current HSR was built from */
	bool built;
	uint64_t built_revision;
	/* publishing */
	bool pending;
	int64_t next_poll_ms;
	int64_t next_attempt_ms;
	int64_t backoff_ms;
	uint64_t failures;
};

static void
usage(void)
{
	fprintf(stderr, "usage: napsited [-dnv] [-f file]\n");
	exit(1);
}

static void
password_free(char *p)
{
	if (p != NULL) {
		nap_wipe(p, strlen(p));
		free(p);
	}
}

/* ---- start-up helpers ---- */

/*
 * Detach, but let the parent wait until the child says it is ready, so that "napsited" without
 * -d exits non-zero when start-up fails after the fork. Returns the fd to report on.
 */
static int
daemonize_begin(void)
{
	int p[2];
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0)
		fatal("pipe");
	pid = fork();
	if (pid < 0)
		fatal("fork");
	if (pid > 0) {
		char c;
		ssize_t n;

		close(p[1]);
		do
			n = read(p[0], &c, 1);
		while (n < 0 && errno == EINTR);
		_exit(n == 1 ? 0 : 1);
	}
	close(p[0]);
	if (setsid() < 0)
		fatal("setsid");
	pid = fork();
	if (pid < 0)
		fatal("fork");
	if (pid > 0)
		_exit(0);
	if (chdir("/") < 0)
		fatal("chdir /");
	return p[1];
}

static void
daemonize_end(int fd, int verbose)
{
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);

	log_init("napsited", false, verbose);
	if (null >= 0) {
		dup2(null, STDIN_FILENO);
		dup2(null, STDOUT_FILENO);
		dup2(null, STDERR_FILENO);
		if (null > STDERR_FILENO)
			close(null);
	}
	if (write(fd, "1", 1) != 1)
		log_warn("telling the parent we are ready");
	close(fd);
}

static int
drop_privileges(const char *user)
{
	char err[512];
	int r = nap_drop_privileges(user, err, sizeof(err));

	if (r < 0)
		return log_warnx_r(r, "[site] %s", err);
	if (r == 0)
		log_info("running as %s", user);
	return 0;
}

/* Create state_dir when missing and give it to the daemon's user; an existing one is kept. */
static int
state_dir_prepare(const struct nap_siteconf *c)
{
	struct passwd *pw;

	if (mkdir(c->state_dir, 0750) < 0) {
		if (errno == EEXIST)
			return 0;
		return log_warnx_r(-errno, "state_dir %s: %s", c->state_dir, strerror(errno));
	}
	if (c->user != NULL && geteuid() == 0 && (pw = getpwnam(c->user)) != NULL &&
	    chown(c->state_dir, pw->pw_uid, pw->pw_gid) < 0)
		return log_warnx_r(-errno, "state_dir %s: chown: %s", c->state_dir,
				   strerror(errno));
	return 0;
}

static int
read_password(const struct nap_siteconf *c, char **out)
{
	char err[512];
	int r;

	*out = NULL;
	if (!c->has_directory || c->dir_bind_dn == NULL)
		return 0;
	r = nap_siteconf_bind_password(c, out, err, sizeof(err));
	if (r < 0)
		return log_warnx_r(r, "[directory] %s", err);
	return 0;
}

/* ---- the HSR ---- */

/*
 * Build and sign the HSR for the store's current state. "issued" is when the revision came to
 * be, not now: Ed25519 signatures are deterministic, so a restart signs byte-identical bytes and
 * finds the directory already holding them.
 */
static int
site_build(struct site *s)
{
	const struct nap_siteconf *c = s->sd.conf;
	struct nap_store_snapshot *snap = NULL;
	struct nap_store_err serr = {{0}};
	struct nap_err nerr = {0};
	struct napsited_hsr *h = NULL, *cur;
	char *doc = NULL, *signed_doc = NULL;
	char err[512];
	int64_t issued;
	int r;

	r = nap_store_snapshot(s->store, &snap, &serr);
	if (r < 0) {
		atomic_fetch_add(&s->sd.m.store_errors, 1);
		LOG_WARNX_RL("store: snapshot: %s", serr.msg);
		return r;
	}
	if (snap->revision == 0) {
		/* Nothing was ever added: no HSR to sign or publish until the first change. */
		if (!s->built)
			log_info("the store is empty (revision 0): waiting for the first change");
		s->built = true;
		s->built_revision = 0;
		goto out;
	}
	issued = snap->changed > 0 ? snap->changed : (int64_t)time(NULL);
	r = nap_store_hsr_document(snap, c->site, issued, &doc, &serr);
	if (r < 0) {
		atomic_fetch_add(&s->sd.m.sign_errors, 1);
		LOG_WARNX_RL("HSR for revision %" PRIu64 ": %s", snap->revision, serr.msg);
		goto out;
	}
	r = nap_hsr_sign((const uint8_t *)doc, strlen(doc), c->key, &signed_doc, &nerr);
	if (r < 0) {
		atomic_fetch_add(&s->sd.m.sign_errors, 1);
		LOG_WARNX_RL("signing the HSR with %s: %s", c->key,
			     nerr.what != NULL ? nerr.what : strerror(-r));
		goto out;
	}
	r = napsited_hsr_from_doc(signed_doc, &h, err, sizeof(err));
	if (r < 0) {
		atomic_fetch_add(&s->sd.m.sign_errors, 1);
		LOG_WARNX_RL("HSR for revision %" PRIu64 ": %s", snap->revision, err);
		goto out;
	}
	cur = napsited_hsr_get(&s->sd);
	if (cur == NULL || cur->len != h->len || memcmp(cur->doc, h->doc, h->len) != 0)
		log_info("HSR revision %" PRIu64 " signed (store revision %" PRIu64
			 ", digest %.16s, "
			 "key %s, %zu bytes)",
			 h->revision, snap->revision, h->digest, h->key_id, h->len);
	napsited_hsr_put(cur);
	napsited_hsr_set(&s->sd, h);
	s->built = true;
	s->built_revision = snap->revision;
	if (c->has_directory) {
		s->pending = true;
		s->next_attempt_ms = nap_mono_ms();
		atomic_store(&s->sd.m.publish_pending, 1);
	}
out:
	free(signed_doc);
	free(doc);
	nap_store_snapshot_free(snap);
	return r;
}

/* Sign a throw-away document with [site] key, so that a bad key stops start-up. */
static int
key_check(const struct nap_siteconf *c)
{
	struct nap_err nerr = {0};
	char doc[160], *out = NULL;
	int r;

	snprintf(doc, sizeof(doc),
		 "{\"version\":1,\"site\":\"%s\",\"revision\":1,"
		 "\"issued\":\"2026-01-01T00:00:00Z\",\"policies\":[]}",
		 c->site);
	r = nap_hsr_sign((const uint8_t *)doc, strlen(doc), c->key, &out, &nerr);
	free(out);
	if (r < 0)
		return log_warnx_r(r, "[site] key %s: %s", c->key,
				   nerr.what != NULL ? nerr.what : strerror(-r));
	return 0;
}

static void
site_poll(struct site *s)
{
	struct nap_store_err serr = {{0}};
	uint64_t rev;
	int64_t changed;
	int r;

	r = nap_store_revision(s->store, &rev, &changed, &serr);
	if (r < 0) {
		atomic_fetch_add(&s->sd.m.store_errors, 1);
		LOG_WARNX_RL("store: reading the revision: %s", serr.msg);
		return;
	}
	atomic_store(&s->sd.m.policy_revision, rev);
	if (!s->built || rev != s->built_revision)
		site_build(s);
}

/* ---- publishing ---- */

static void
site_record(struct site *s, const struct napsited_hsr *h, const char *target)
{
	struct nap_publish_record rec = {.revision = h->revision, .published = time(NULL)};
	struct nap_store_err serr = {{0}};

	snprintf(rec.site, sizeof(rec.site), "%s", h->site);
	snprintf(rec.target, sizeof(rec.target), "%s", target);
	if (nap_store_publish_record_put(s->store, &rec, &serr) < 0) {
		atomic_fetch_add(&s->sd.m.store_errors, 1);
		LOG_WARNX_RL("store: recording the publish: %s", serr.msg);
	}
}

static void
site_publish(struct site *s)
{
	const struct nap_siteconf *c = s->sd.conf;
	struct napsited_metrics *m = &s->sd.m;
	struct napsited_publish_info info;
	enum napsited_publish_result res;
	struct napsited_hsr *h = napsited_hsr_get(&s->sd);
	char err[1024] = "";
	int64_t delay;

	if (h == NULL) {
		s->pending = false;
		return;
	}
	res = napsited_publish(c, s->password, h, &info, err, sizeof(err));
	atomic_fetch_add(&m->publish[res], 1);
	atomic_store(&m->directory_up, info.reached ? 1 : 0);
	if (info.reached)
		napsited_metrics_latency(m, info.seconds);
	switch (res) {
	case NAPSITED_PUBLISH_OK:
	case NAPSITED_PUBLISH_UNCHANGED:
		if (res == NAPSITED_PUBLISH_OK)
			log_info("published HSR revision %" PRIu64 " to %s (was %" PRIu64
				 "; %.3f s%s)",
				 h->revision, info.target, info.dir_revision, info.seconds,
				 s->failures > 0 ? ", after failures" : "");
		else
			log_info("%s already holds HSR revision %" PRIu64 "; nothing written",
				 info.target, h->revision);
		atomic_store(&m->published_revision, h->revision);
		site_record(s, h, info.target);
		s->pending = false;
		s->backoff_ms = 0;
		s->failures = 0;
		break;
	case NAPSITED_PUBLISH_CONFLICT:
		/* Retrying cannot help until our revision passes the directory's. */
		log_warnx("publish refused: %s", err);
		s->pending = false;
		s->backoff_ms = 0;
		s->failures = 0;
		break;
	case NAPSITED_PUBLISH_ERROR:
	default:
		s->failures++;
		if (s->backoff_ms == 0)
			s->backoff_ms = c->dir_retry_min_ms;
		else if (s->backoff_ms < c->dir_retry_max_ms / 2)
			s->backoff_ms *= 2;
		else
			s->backoff_ms = c->dir_retry_max_ms;
		/* Up to a fifth earlier, so that several sites do not retry in step. */
		delay = s->backoff_ms -
			(int64_t)arc4random_uniform((uint32_t)(s->backoff_ms / 5 + 1));
		s->next_attempt_ms = nap_mono_ms() + delay;
		if (s->failures == 1)
			log_warnx("publish of HSR revision %" PRIu64
				  " failed: %s; retrying in %.3f s",
				  h->revision, err, (double)delay / 1000.0);
		else
			LOG_WARNX_RL("publish of HSR revision %" PRIu64 " failed %" PRIu64
				     " times: %s; retrying in %.3f s",
				     h->revision, s->failures, err, (double)delay / 1000.0);
		break;
	}
	atomic_store(&m->publish_pending, s->pending ? 1 : 0);
	atomic_store(&m->publish_failures_in_row, s->failures);
	atomic_store(&m->publish_backoff_ms, s->pending ? (uint64_t)s->backoff_ms : 0);
	napsited_hsr_put(h);
}

/* ---- reload ---- */

static int
agent_start(struct site *s)
{
	char err[512];
	int r = 0;

	if (!s->sd.conf->has_agent)
		return 0;
#ifdef NAPSITED_HAVE_AGENT
	r = napsited_agent_start(&s->sd, err, sizeof(err));
	if (r < 0)
		return log_warnx_r(r, "[agent] %s", err);
#else
	(void)err;
	log_warnx("[agent]: this napsited was built without the agent endpoint; ignoring it");
#endif
	return r;
}

static int
agent_reload(struct site *s, char *err, size_t len)
{
#ifdef NAPSITED_HAVE_AGENT
	return napsited_agent_reload(&s->sd, err, len);
#else
	(void)s;
	(void)err;
	(void)len;
	return 0;
#endif
}

static void
agent_stop(struct site *s)
{
#ifdef NAPSITED_HAVE_AGENT
	napsited_agent_stop(&s->sd);
#else
	(void)s;
#endif
}

/* The admin web listener ([web], web.c). */
static int
web_start(struct site *s)
{
	char err[512];
	int r = 0;

	if (!s->sd.conf->has_web)
		return 0;
#ifdef NAPSITED_HAVE_WEB
	r = napsited_web_start(&s->sd, err, sizeof(err));
	if (r < 0)
		return log_warnx_r(r, "[web] %s", err);
#else
	(void)err;
	log_warnx("[web]: this napsited was built without the web listener; ignoring it");
#endif
	return r;
}

static int
web_reload(struct site *s, char *err, size_t len)
{
#ifdef NAPSITED_HAVE_WEB
	return napsited_web_reload(&s->sd, err, len);
#else
	(void)s;
	(void)err;
	(void)len;
	return 0;
#endif
}

static void
web_stop(struct site *s)
{
#ifdef NAPSITED_HAVE_WEB
	napsited_web_stop(&s->sd);
#else
	(void)s;
#endif
}

/*
 * SIGHUP: parse the whole new file and open what it needs next to the running resources; only
 * when everything succeeded switch over. Any failure keeps napsited as it was.
 */
static void
site_reload(struct site *s)
{
	struct nap_siteconf *next = NULL, *old = s->sd.conf;
	struct nap_store *nstore = NULL;
	struct nap_store_err serr = {{0}};
	char *npassword = NULL;
	int nfd = -1;
	bool metrics_changed;
	char err[1024];
	int r;

	r = nap_siteconf_parse_file(old->path, &next, err, sizeof(err));
	if (r < 0) {
		log_warnx("reload: %s; keeping the running configuration", err);
		goto fail;
	}
	if (strcmp(next->site, old->site) != 0)
		log_warnx("reload: the site code changes from %s to %s", old->site, next->site);
	if (read_password(next, &npassword) < 0) {
		log_warnx("reload: keeping the running configuration");
		goto fail;
	}
	if (strcmp(next->store_uri, old->store_uri) != 0) {
		r = nap_store_open(next->store_uri, &nstore, &serr);
		if (r < 0) {
			log_warnx("reload: store %s: %s; keeping the running configuration",
				  next->store_uri, serr.msg);
			goto fail;
		}
	}
	metrics_changed = !nap_streq_null(next->metrics, old->metrics);
	if (metrics_changed && next->metrics != NULL &&
	    (r = napsited_metrics_listen(next->metrics, &nfd)) < 0) {
		log_warnx("reload: metrics %s: %s; keeping the running configuration",
			  next->metrics, strerror(-r));
		goto fail;
	}
	/*
	 * The agent endpoint reads sd->conf while it reloads (starting, reconfiguring or stopping
	 * as [agent] came, changed or went); on failure it runs on unchanged.
	 */
	s->sd.conf = next;
	r = agent_reload(s, err, sizeof(err));
	if (r < 0) {
		s->sd.conf = old;
		log_warnx("reload: [agent] %s; keeping the running configuration", err);
		goto fail;
	}
	/* The web listener likewise; a failure leaves the old one (the agent is already new). */
	if (web_reload(s, err, sizeof(err)) < 0)
		log_warnx("reload: [web] %s; the web listener keeps its previous settings", err);

	/* Commit: nothing below can fail in a way that needs the old configuration back. */
	if (metrics_changed) {
		napsited_metrics_stop(&s->sd);
		if (nfd >= 0 && (r = napsited_metrics_start(&s->sd, nfd)) < 0) {
			log_warnx("reload: metrics: cannot start the HTTP server");
			close(nfd);
		}
		nfd = -1;
	}
	if (nstore != NULL) {
		nap_store_close(s->store);
		s->store = nstore;
		nstore = NULL;
	}
	password_free(s->password);
	s->password = npassword;
	npassword = NULL;
	/*
	 * The status ingester: restarted on new [status] settings or store; a file it is
	 * ingesting finishes first. Settings it cannot run on bring the previous ones back.
	 */
	if (napsited_ingest_changed(old, next)) {
		napsited_ingest_stop();
		if ((r = napsited_ingest_start(&s->sd, next)) < 0) {
			log_warnx("reload: [status] %s; the ingester keeps its previous settings",
				  strerror(-r));
			if ((r = napsited_ingest_start(&s->sd, old)) < 0)
				log_warnx("reload: [status] ingester: %s; not ingesting",
					  strerror(-r));
		} else {
			log_info("reload: [status] ingester restarted");
		}
	}
	nap_siteconf_free(old);
	/* Sign again (the key or site may have changed) and publish what that gives. */
	s->built = false;
	s->backoff_ms = 0;
	s->next_poll_ms = nap_mono_ms();
	atomic_fetch_add(&s->sd.m.reloads_ok, 1);
	log_info("reload: configuration %s loaded", s->sd.conf->path);
	return;
fail:
	if (nfd >= 0)
		close(nfd);
	if (nstore != NULL)
		nap_store_close(nstore);
	password_free(npassword);
	nap_siteconf_free(next);
	atomic_fetch_add(&s->sd.m.reloads_error, 1);
}

/* ---- signals and the loop ---- */

static void
site_signals(struct site *s)
{
	struct signalfd_siginfo si;

	while (read(s->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGHUP:
			log_info("SIGHUP: reloading");
			site_reload(s);
			break;
		case SIGUSR1:
			log_debug("SIGUSR1: checking the store now");
#ifdef NAPSITED_HAVE_SHV
			napsited_shv_kick();
#endif
			s->next_poll_ms = nap_mono_ms();
			if (s->pending) {
				s->next_attempt_ms = nap_mono_ms();
				s->backoff_ms = 0;
			}
			break;
		case SIGTERM:
		case SIGINT:
			log_info("signal %u: exiting", si.ssi_signo);
			s->quit = true;
			break;
		default:
			break;
		}
	}
}

static void
site_loop(struct site *s)
{
	while (!s->quit) {
		int64_t now = nap_mono_ms(), wake = s->next_poll_ms, timeout;
		struct pollfd pfd = {.fd = s->sigfd, .events = POLLIN};

		if (s->pending && s->next_attempt_ms < wake)
			wake = s->next_attempt_ms;
		timeout = wake > now ? wake - now : 0;
		if (timeout > 60000)
			timeout = 60000;
		if (poll(&pfd, 1, (int)timeout) < 0 && errno != EINTR)
			fatal("poll");
		if (pfd.revents & POLLIN)
			site_signals(s);
		if (s->quit)
			break;
		now = nap_mono_ms();
		if (now >= s->next_poll_ms) {
			site_poll(s);
			s->next_poll_ms = nap_mono_ms() + s->sd.conf->poll_interval_ms;
		}
		if (s->pending && nap_mono_ms() >= s->next_attempt_ms)
			site_publish(s);
		/* A signal that came in during the directory work is served next round. */
	}
}

/* ---- -n ---- */

static int
check_config(const char *path)
{
	struct nap_siteconf *c;
	char err[1024];
	char *password = NULL;
	int r;

	r = nap_siteconf_parse_file(path, &c, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "napsited: %s\n", err);
		return 1;
	}
	nap_siteconf_print(c, stdout);
	fflush(stdout);
	nap_siteconf_warnings(c, stderr);
	if (access(c->key, R_OK) < 0) {
		fprintf(stderr, "napsited: %s: [site] key %s: %s\n", path, c->key, strerror(errno));
		nap_siteconf_free(c);
		return 1;
	}
	if (c->has_directory && c->dir_bind_dn != NULL) {
		r = nap_siteconf_bind_password(c, &password, err, sizeof(err));
		password_free(password);
		if (r < 0) {
			fprintf(stderr, "napsited: %s: [directory] %s\n", path, err);
			nap_siteconf_free(c);
			return 1;
		}
	}
	nap_siteconf_free(c);
	printf("configuration OK\n");
	return 0;
}

int
main(int argc, char *argv[])
{
	static struct site s; /* zeroed, off the stack */
	const char *conf_path = NAP_SITECONF_DEFAULT;
	struct nap_store_err serr = {{0}};
	bool check = false;
	char *abs_conf;
	char err[1024];
	int ch, r, ready_fd = -1;
	sigset_t mask;

	/*
	 * First of all: SIGUSR1 (napctl's "publish now") would kill us by default, and blocked
	 * before any thread starts, only the signalfd sees these signals.
	 */
	sigemptyset(&mask);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGUSR1);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
		fatal("sigprocmask");
	signal(SIGPIPE, SIG_IGN);

	while ((ch = getopt(argc, argv, "df:nv")) != -1) {
		switch (ch) {
		case 'd':
			s.sd.foreground = true;
			break;
		case 'f':
			conf_path = optarg;
			break;
		case 'n':
			check = true;
			break;
		case 'v':
			s.sd.verbose++;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	if (check)
		return check_config(conf_path);
	/* The daemon changes to /, and SIGHUP reads the file again. */
	if ((abs_conf = realpath(conf_path, NULL)) == NULL)
		fatal("%s", conf_path);

	log_init("napsited", true, s.sd.verbose);
	r = nap_siteconf_parse_file(abs_conf, &s.sd.conf, err, sizeof(err));
	free(abs_conf);
	if (r < 0)
		fatalx("%s", err);
	if (!s.sd.conf->has_directory)
		log_warnx("no [directory] section: the HSR is signed but not published");
	pthread_mutex_init(&s.sd.hsr_lock, NULL);
	s.sigfd = s.metrics_fd = -1;
	umask(027);

	/* What may need root: the bind password, the metrics socket, state_dir. */
	if (read_password(s.sd.conf, &s.password) < 0)
		exit(1);
	if (s.sd.conf->metrics != NULL &&
	    (r = napsited_metrics_listen(s.sd.conf->metrics, &s.metrics_fd)) < 0)
		fatalx("[site] metrics %s: %s", s.sd.conf->metrics, strerror(-r));
	if (state_dir_prepare(s.sd.conf) < 0)
		exit(1);

	s.sigfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (s.sigfd < 0)
		fatal("signalfd");

	if (!s.sd.foreground)
		ready_fd = daemonize_begin();
	if (s.sd.conf->pidfile != NULL && nap_write_pidfile(s.sd.conf->pidfile) < 0)
		log_warn("pidfile %s", s.sd.conf->pidfile);
	if (s.sd.conf->user != NULL && drop_privileges(s.sd.conf->user) < 0)
		exit(1);
	r = nap_store_open(s.sd.conf->store_uri, &s.store, &serr);
	if (r < 0)
		fatalx("[store] %s: %s", s.sd.conf->store_uri, serr.msg);
	/* Threads from here on: after the fork, which would not carry them. */
	if (s.metrics_fd >= 0) {
		if (napsited_metrics_start(&s.sd, s.metrics_fd) < 0)
			fatalx("[site] metrics %s: cannot start the HTTP server",
			       s.sd.conf->metrics);
		s.metrics_fd = -1;
	}
	/* A key that cannot sign is a configuration error, not a runtime one. */
	if (key_check(s.sd.conf) < 0)
		exit(1);
	site_poll(&s);
	if (agent_start(&s) < 0)
		exit(1);
	if (web_start(&s) < 0)
		exit(1);
#ifdef NAPSITED_HAVE_SHV
	/* The SHV point pusher: SMB calls block, so in a thread of its own (shv_push.c). */
	if ((r = napsited_shv_start(&s.sd)) < 0)
		fatalx("shv pusher: %s", strerror(-r));
#endif
	/* The status inbox: file reads and store writes in a thread of its own (ingest.c). */
	if ((r = napsited_ingest_start(&s.sd, s.sd.conf)) < 0)
		fatalx("[status] ingester: %s", strerror(-r));
	s.next_poll_ms = nap_mono_ms() + s.sd.conf->poll_interval_ms;
	log_info("napsited started: site %s, store %s (%s), %zu directory URI(s)%s",
		 s.sd.conf->site, s.sd.conf->store_uri, nap_store_backend(s.store),
		 s.sd.conf->n_dir_uri, s.sd.conf->has_agent ? ", agent endpoint" : "");
	if (ready_fd >= 0)
		daemonize_end(ready_fd, s.sd.verbose);

	site_loop(&s);

	napsited_ingest_stop();
#ifdef NAPSITED_HAVE_SHV
	napsited_shv_stop();
#endif
	web_stop(&s);
	agent_stop(&s);
	napsited_metrics_stop(&s.sd);
	nap_store_close(s.store);
	napsited_hsr_set(&s.sd, NULL);
	if (s.sd.conf->pidfile != NULL)
		unlink(s.sd.conf->pidfile);
	close(s.sigfd);
	password_free(s.password);
	nap_siteconf_free(s.sd.conf);
	pthread_mutex_destroy(&s.sd.hsr_lock);
	return 0;
}
