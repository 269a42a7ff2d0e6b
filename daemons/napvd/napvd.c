// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * napvd: the nap SHV point. Answers RADIUS health checks from enforcement points (napdhcpd,
 * naphrad, any NAS) with a verdict and an SoHR. This file holds main(): options, start-up
 * (bind, open the spool and the HSR source, drop privileges, daemonize), the signal and timer
 * handlers and SIGHUP reload. The packets themselves are handled in radius_frontend.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nap/hsr.h"
#include "nap/log.h"
#include "nap/util.h"
#include "napvd.h"

#define NAPVD_TICK_MS 1000 /* duplicate-cache expiry and metrics deadlines */

static void
usage(void)
{
	fprintf(stderr, "usage: napvd [-dnv] [-f file]\n");
	exit(1);
}

static int
napvd_mkdir_p(const char *path)
{
	char buf[4096];
	size_t n = strlen(path);

	if (n == 0 || n >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, path, n + 1);
	for (char *p = buf + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, 0750) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

static int
napvd_drop_privileges(const char *user)
{
	char err[512];
	int r = nap_drop_privileges(user, err, sizeof(err));

	if (r < 0)
		return log_warnx_r(r, "%s", err);
	if (r == 0)
		log_info("running as %s", user);
	return 0;
}

static void
napvd_hsr_timer_cb(struct napvd_io *io, uint32_t events)
{
	struct napvd *d = io->arg;

	(void)events;
	napvd_timer_ack(io->fd);
	napvd_hsr_refresh(&d->hsr, d->conf, &d->m, napvd_real_s(&d->clock));
}

/* The HSR source's thread has an answer (a new set, "unchanged" or a failure). */
static void
napvd_hsr_io_cb(struct napvd_io *io, uint32_t events)
{
	struct napvd *d = io->arg;

	(void)events;
	napvd_hsr_refresh(&d->hsr, d->conf, &d->m, napvd_real_s(&d->clock));
}

/* Start the source's thread (after daemon()) and watch its event fd. */
static int
napvd_hsr_attach(struct napvd *d)
{
	int r = napvd_hsr_start(&d->hsr);

	if (r < 0)
		return r;
	d->hsr_io = (struct napvd_io){.fd = napvd_hsr_event_fd(&d->hsr), .cb = napvd_hsr_io_cb,
				      .arg = d};
	if (d->hsr_io.fd >= 0 && napvd_ev_add(&d->ev, &d->hsr_io, EPOLLIN) < 0) {
		d->hsr_io.fd = -1;
		return -errno;
	}
	return 0;
}

static void
napvd_hsr_detach(struct napvd *d)
{
	if (d->hsr_io.fd >= 0)
		napvd_ev_del(&d->ev, &d->hsr_io);
	d->hsr_io.fd = -1;
}

static void
napvd_tick_cb(struct napvd_io *io, uint32_t events)
{
	struct napvd *d = io->arg;

	(void)events;
	napvd_timer_ack(io->fd);
	napvd_dup_expire(&d->dup, napvd_mono_ms(&d->clock));
	napvd_spool_sync_collect(&d->spool, &d->m);
	napvd_http_tick(d);
}

/*
 * SIGHUP: parse and validate the whole new file, open everything the new configuration needs
 * next to the old resources, and only then switch. Any failure leaves napvd as it was. The
 * managed settings file (managed.c) comes this way too, with next parsed already.
 */
int
napvd_reload_config(struct napvd *d, struct napvd_config *next, char *why, size_t why_len)
{
	struct napvd_hsr_cache nh = {0};
	struct napvd_spool *nsp = NULL;
	struct napvd_http *old_http = d->http, *new_http = NULL;
	struct napvd_shipper_change *ship = NULL;
	bool metrics_changed;
	uint64_t cut;
	char err[1024];
	int r;

	/* Held replies name sockets the reload may close: let them go first. */
	napvd_held_flush(d, napvd_spool_sync_wait(&d->spool, &d->m));
	if (next == NULL) {
		r = napvd_config_parse_file_overlay(d->conf->path, napvd_managed_overlay(d), &next,
						    err, sizeof(err));
		if (r < 0) {
			snprintf(why, why_len, "%s", err);
			log_warnx("reload: %s; keeping the running configuration", err);
			goto fail;
		}
	}
	r = napvd_hsr_open(&nh, next, err, sizeof(err));
	if (r < 0) {
		snprintf(why, why_len, "HSR source: %s", err);
		log_warnx("reload: HSR source: %s; keeping the running configuration", err);
		goto fail;
	}
	nsp = malloc(sizeof(*nsp));
	if (nsp == NULL) {
		r = -ENOMEM;
		snprintf(why, why_len, "out of memory");
		goto fail;
	}
	r = napvd_mkdir_p(next->state_dir);
	if (r == 0)
		r = napvd_spool_open(nsp, next->state_dir, next->spool_max, &cut);
	if (r == 0 && (r = napvd_spool_status_setup(nsp, next->state_dir, next, err,
						    sizeof(err))) < 0) {
		/* the new spool is open: close it below, say why */
		snprintf(why, why_len, "spool: %s", err);
		log_warnx("reload: spool: %s; keeping the running configuration", err);
		napvd_spool_close(nsp);
		free(nsp);
		nsp = NULL;
		goto fail;
	}
	if (r < 0) {
		snprintf(why, why_len, "spool in %s: %s", next->state_dir, strerror(-r));
		log_warnx("reload: spool in %s: %s; keeping the running configuration",
			  next->state_dir, strerror(-r));
		free(nsp);
		nsp = NULL;
		goto fail;
	}
	/* [status]: a new shipper (its credentials read now) when the settings changed */
	r = napvd_shipper_prepare(d->conf, next, &ship, err, sizeof(err));
	if (r < 0) {
		snprintf(why, why_len, "[status] %s", err);
		log_warnx("reload: [status] %s; keeping the running configuration", err);
		goto fail;
	}
	metrics_changed = next->has_metrics != d->conf->has_metrics ||
			  (next->has_metrics && !napvd_sockaddr_equal(&next->metrics,
								      &d->conf->metrics));
	if (metrics_changed && next->has_metrics) {
		d->http = NULL;
		r = napvd_http_open(d, &next->metrics);
		new_http = d->http;
		d->http = old_http;
		if (r < 0) {
			snprintf(why, why_len, "metrics: %s", strerror(-r));
			log_warnx("reload: metrics: %s; keeping the running configuration",
				  strerror(-r));
			goto fail;
		}
	}
	r = napvd_sockets_sync(d, next);
	if (r < 0) {
		snprintf(why, why_len, "listen: cannot bind the RADIUS sockets");
		log_warnx("reload: keeping the running configuration");
		goto fail;
	}

	/* Commit: nothing below can fail. */
	napvd_shipper_commit(ship);
	ship = NULL;
	if (metrics_changed) {
		napvd_http_close(d);
		d->http = new_http;
	}
	napvd_sync_detach(d);
	/* the sequence never goes back, even if a shipper took the spool files away */
	if (strcmp(nsp->instance, d->spool.instance) == 0 && d->spool.seq_next > nsp->seq_next)
		nsp->seq_next = d->spool.seq_next;
	napvd_spool_close(&d->spool);
	memcpy(&d->spool, nsp, sizeof(*nsp));
	free(nsp);
	/*
	 * The new source; the cached set stays until the new source delivers. The old source's
	 * thread stops at once (it shuts its socket down), so this does not hold the loop.
	 */
	napvd_hsr_detach(d);
	napvd_hsr_replace(&d->hsr, &nh);
	d->dup.ttl_ms = next->dup_cache_ttl * 1000;
	napvd_config_free(d->conf);
	d->conf = next;
	if ((r = napvd_sync_attach(d, NULL)) < 0)
		log_warnx("reload: spool sync thread: %s; syncing on the request path",
			  strerror(-r));
	napvd_hsr_refresh(&d->hsr, d->conf, &d->m, napvd_real_s(&d->clock));
	if ((r = napvd_hsr_attach(d)) < 0)
		log_warnx("reload: HSR source thread: %s; serving the cached HSRs", strerror(-r));
	napvd_timer_set(d->hsr_timer.fd, d->conf->hsr_query_interval * 1000,
			d->conf->hsr_query_interval * 1000);
	napvd_managed_reconfigure(d);
	d->m.reloads_ok++;
	log_info("reload: configuration %s loaded", d->conf->path);
	return 0;
fail:
	napvd_shipper_abort(ship);
	if (new_http != NULL) {
		d->http = new_http;
		napvd_http_close(d);
		d->http = old_http;
	}
	if (nsp != NULL) {
		napvd_spool_close(nsp);
		free(nsp);
	}
	if (nh.ops != NULL)
		nh.ops->close(nh.state);
	napvd_config_free(next);
	d->m.reloads_error++;
	return r < 0 ? r : -EINVAL;
}

static void
napvd_reload(struct napvd *d)
{
	char why[1024];

	napvd_reload_config(d, NULL, why, sizeof(why));
}

static void
napvd_signal_cb(struct napvd_io *io, uint32_t events)
{
	struct napvd *d = io->arg;
	struct signalfd_siginfo si;

	(void)events;
	while (read(io->fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGHUP:
			log_info("SIGHUP: reloading");
			napvd_reload(d);
			break;
		case SIGTERM:
		case SIGINT:
			log_info("signal %u: exiting", si.ssi_signo);
			d->ev.quit = true;
			break;
		default:
			break;
		}
	}
}

static int
napvd_check_config(const char *path, int verbose)
{
	struct napvd_config *c;
	struct napvd_hsr_cache hc = {0};
	struct napvd_metrics m = {0};
	char err[1024], *state_dir;
	int r;

	r = napvd_config_parse_file(path, &c, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "napvd: %s\n", err);
		return 1;
	}
	/* The managed file as the daemon would apply it at start-up: the settings shown are then
	 * the ones napvd would run on. */
	if (c->managed_file != NULL) {
		struct napvd_config *with = NULL;

		r = napvd_managed_check_file(path, c->managed_file, &with, stderr);
		if (r < 0) {
			napvd_config_free(c);
			return 1;
		}
		if (r == 0) {
			fprintf(stderr, "napvd: [managed] %s is not there (napvd.conf alone)\n",
				c->managed_file);
		} else {
			fprintf(stderr, "napvd: [managed] %s is valid; the settings below include it\n",
				c->managed_file);
			napvd_config_free(c);
			c = with;
		}
	}
	/* A check leaves state_dir alone (the LDAP source would load and save its copy there). */
	state_dir = c->state_dir;
	c->state_dir = NULL;
	r = napvd_hsr_open(&hc, c, err, sizeof(err));
	c->state_dir = state_dir;
	if (r < 0) {
		fprintf(stderr, "napvd: %s: [hsr] %s\n", path, err);
		napvd_config_free(c);
		return 1;
	}
	napvd_config_print(c, stdout);
	napvd_config_warnings(c, stderr);
	/* The HSR document may legitimately appear later: report, do not fail. */
	log_init("napvd", true, verbose);
	if (napvd_hsr_event_fd(&hc) >= 0) {
		/* A source with a thread: wait for its first answer from the directory. */
		int64_t deadline = napvd_mono_ms(&napvd_clock_system) +
				   (c->hsr_timeout * 4 * (int64_t)c->n_hsr_uris + 2) * 1000;
		int64_t started = napvd_real_s(&napvd_clock_system);

		r = napvd_hsr_start(&hc);
		while (r == 0) {
			struct pollfd p = {.fd = napvd_hsr_event_fd(&hc), .events = POLLIN};
			int64_t left = deadline - napvd_mono_ms(&napvd_clock_system);

			if (left <= 0) {
				r = -ETIMEDOUT;
				break;
			}
			poll(&p, 1, (int)left);
			r = napvd_hsr_refresh(&hc, c, &m, napvd_real_s(&napvd_clock_system));
			if (r == 0 && hc.refreshed_at >= started)
				break;
		}
		if (r < 0)
			fprintf(stderr, "warning: the HSRs could not be read from the directory "
					"now\n");
		else
			fprintf(stderr, "HSRs read from the directory: %zu site(s)\n",
				hc.set != NULL ? hc.set->n : 0);
	} else if (napvd_hsr_refresh(&hc, c, &m, 0) < 0) {
		fprintf(stderr, "warning: the HSR could not be loaded now\n");
	}
	napvd_hsr_close(&hc);
	napvd_config_free(c);
	printf("configuration OK\n");
	return 0;
}

int
main(int argc, char *argv[])
{
	static struct napvd d; /* large: keep it off the stack */
	const char *conf_path = NAPVD_DEFAULT_CONF;
	char *abs_conf;
	bool foreground = false, check = false;
	int verbose = 0, ch, r, sfd;
	char err[1024];
	uint64_t cut;
	sigset_t mask;

	while ((ch = getopt(argc, argv, "df:nv")) != -1) {
		switch (ch) {
		case 'd':
			foreground = true;
			break;
		case 'f':
			conf_path = optarg;
			break;
		case 'n':
			check = true;
			break;
		case 'v':
			verbose++;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	if (check)
		return napvd_check_config(conf_path, verbose);
	/* daemon() changes to /, and SIGHUP reads the file again. */
	if ((abs_conf = realpath(conf_path, NULL)) == NULL)
		fatal("%s", conf_path);
	conf_path = abs_conf;

	log_init("napvd", true, verbose);
	r = napvd_config_parse_file(conf_path, &d.conf, err, sizeof(err));
	if (r < 0)
		fatalx("%s", err);
	napvd_config_warnings(d.conf, stderr);
	d.clock = napvd_clock_system;
	d.verbose = verbose;
	/* The managed settings file, applied over napvd.conf when it is valid (managed.c). */
	if ((r = napvd_managed_open(&d, conf_path)) < 0)
		fatalx("[managed] file: %s", strerror(-r));
	d.spool.fd = d.spool.dirfd = -1;
	d.sig_io.fd = d.hsr_timer.fd = d.dup_timer.fd = d.sync_io.fd = d.hsr_io.fd = -1;
	if (napvd_ev_init(&d.ev) < 0)
		fatal("epoll");
	if (napvd_scratch_new(&d.scratch) < 0)
		fatalx("out of memory");
	if (napvd_dup_init(&d.dup, NAPVD_DUP_MAX_ENTRIES, NAPVD_DUP_MAX_BYTES,
			   d.conf->dup_cache_ttl * 1000) < 0)
		fatalx("duplicate cache: out of memory");
	if (napvd_sockets_sync(&d, d.conf) < 0)
		fatalx("cannot bind the RADIUS sockets");
	if (d.conf->has_metrics && (r = napvd_http_open(&d, &d.conf->metrics)) < 0)
		fatalx("metrics: cannot listen: %s", strerror(-r));
	if ((r = napvd_mkdir_p(d.conf->state_dir)) < 0)
		fatalx("state_dir %s: %s", d.conf->state_dir, strerror(-r));
	if ((r = napvd_spool_open(&d.spool, d.conf->state_dir, d.conf->spool_max, &cut)) < 0)
		fatalx("spool in %s: %s", d.conf->state_dir, strerror(-r));
	if (cut > 0)
		log_warnx("spool: removed a torn tail of %llu bytes left by a crash",
			  (unsigned long long)cut);
	/* Status message ids and segments; the shipper reads its credentials before the drop. */
	if (napvd_spool_status_setup(&d.spool, d.conf->state_dir, d.conf, err, sizeof(err)) < 0)
		fatalx("spool: %s", err);
	if (napvd_shipper_open(d.conf, err, sizeof(err)) < 0)
		fatalx("[status] %s", err);
	if (napvd_hsr_open(&d.hsr, d.conf, err, sizeof(err)) < 0)
		fatalx("[hsr] %s", err);
	if (d.conf->user != NULL) {
		if (d.conf->state_dir != NULL) {
			struct passwd *pw = getpwnam(d.conf->user);

			/* The spool and its directory must stay writable after the drop. */
			if (pw != NULL && (fchown(d.spool.fd, pw->pw_uid, pw->pw_gid) < 0 ||
					   fchown(d.spool.dirfd, pw->pw_uid, pw->pw_gid) < 0))
				log_warn("state_dir %s: chown", d.conf->state_dir);
		}
		if (napvd_drop_privileges(d.conf->user) < 0)
			exit(1);
	}

	if (!foreground) {
		if (daemon(0, 0) < 0)
			fatal("daemon");
		log_init("napvd", false, verbose);
	}
	if (d.conf->pidfile != NULL && nap_write_pidfile(d.conf->pidfile) < 0)
		log_warn("pidfile %s", d.conf->pidfile);

	sigemptyset(&mask);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
		fatal("sigprocmask");
	signal(SIGPIPE, SIG_IGN);
	sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (sfd < 0)
		fatal("signalfd");
	d.sig_io = (struct napvd_io){.fd = sfd, .cb = napvd_signal_cb, .arg = &d};
	d.hsr_timer = (struct napvd_io){.fd = napvd_timer_open(), .cb = napvd_hsr_timer_cb,
					.arg = &d};
	d.dup_timer = (struct napvd_io){.fd = napvd_timer_open(), .cb = napvd_tick_cb, .arg = &d};
	if (d.hsr_timer.fd < 0 || d.dup_timer.fd < 0)
		fatal("timerfd");
	if (napvd_ev_add(&d.ev, &d.sig_io, EPOLLIN) < 0 ||
	    napvd_ev_add(&d.ev, &d.hsr_timer, EPOLLIN) < 0 ||
	    napvd_ev_add(&d.ev, &d.dup_timer, EPOLLIN) < 0)
		fatal("epoll_ctl");
	napvd_hsr_refresh(&d.hsr, d.conf, &d.m, napvd_real_s(&d.clock));
	napvd_timer_set(d.hsr_timer.fd, d.conf->hsr_query_interval * 1000,
			d.conf->hsr_query_interval * 1000);
	napvd_timer_set(d.dup_timer.fd, NAPVD_TICK_MS, NAPVD_TICK_MS);
	/* After daemon(): the fork would not carry the thread. */
	if ((r = napvd_sync_attach(&d, NULL)) < 0)
		fatalx("spool sync thread: %s", strerror(-r));
	if ((r = napvd_hsr_attach(&d)) < 0)
		fatalx("HSR source thread: %s", strerror(-r));
	if ((r = napvd_managed_attach(&d, napvd_reload_config)) < 0)
		fatalx("[managed] file: watching: %s", strerror(-r));
	if ((r = napvd_shipper_start()) < 0)
		fatalx("[status] shipper thread: %s", strerror(-r));
	log_info("napvd started, %zu client(s), %zu listen address(es)", d.conf->n_clients,
		 d.conf->n_listen);

	while (!d.ev.quit) {
		if ((r = napvd_ev_run_once(&d.ev, -1)) < 0)
			fatalx("epoll_wait: %s", strerror(-r));
	}

	napvd_shipper_stop();
	napvd_sync_detach(&d);
	napvd_spool_close(&d.spool);
	napvd_sockets_close(&d);
	napvd_http_close(&d);
	napvd_hsr_detach(&d);
	napvd_hsr_close(&d.hsr);
	napvd_managed_close(&d);
	napvd_dup_free(&d.dup);
	napvd_scratch_free(d.scratch);
	close(d.sig_io.fd);
	close(d.hsr_timer.fd);
	close(d.dup_timer.fd);
	napvd_ev_close(&d.ev);
	if (d.conf->pidfile != NULL)
		unlink(d.conf->pidfile);
	napvd_config_free(d.conf);
	free(abs_conf);
	return 0;
}
