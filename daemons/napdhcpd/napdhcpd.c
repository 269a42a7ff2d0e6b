// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * napdhcpd: the nap DHCPv4 server and NAP enforcement point (MS-DHCPN). This file holds main():
 * options, start-up, the poll() loop, SIGHUP reload and SIGTERM stop.
 *
 * Start-up order: parse the file, open the lease journal (replay), bind the UDP sockets and open
 * the packet socket, make the NAP client (it reads the RADIUS secret), bind the metrics port,
 * then drop to `user` (no capability is kept: every privileged socket is open by then),
 * daemonize unless -d, write the pidfile. A reload re-reads the file; a file that does not parse
 * or validate keeps the running configuration; leases are carried over; interfaces and listen
 * addresses that need new port-67 sockets after the privilege drop need a restart.
 */
#include <errno.h>
#include <fcntl.h>
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

#include "nap/log.h"
#include "nap/util.h"
#include "napdhcpd.h"

#define DHCPD_TICK_MS  1000
#define DHCPD_MAX_PFDS (2 + DHCPD_MAX_IFACES + DHCPD_MAX_LISTEN + 16 + DHCPD_NAP_MAX_POLLFDS)

static void
usage(void)
{
	fprintf(stderr, "usage: napdhcpd [-dnv] [-f file]\n");
	exit(1);
}

static int64_t
dhcpd_real_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec;
}

static int
dhcpd_mkdir_p(const char *path)
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

static bool
dhcpd_any_nap(const struct dhcpd_config *c)
{
	for (size_t i = 0; i < c->n_scopes; i++)
		if (c->scopes[i].nap.enabled)
			return true;
	return false;
}

/* NAS-IP-Address: the configured one, else the server id when there is one. */
static void
dhcpd_nap_servers_fix(struct dhcpd_config *c)
{
	if (!c->napvd.has_nas_ip && c->server_id != 0) {
		c->napvd.has_nas_ip = true;
		c->napvd.nas_ip[0] = (uint8_t)(c->server_id >> 24);
		c->napvd.nas_ip[1] = (uint8_t)(c->server_id >> 16);
		c->napvd.nas_ip[2] = (uint8_t)(c->server_id >> 8);
		c->napvd.nas_ip[3] = (uint8_t)c->server_id;
	}
}

static void
dhcpd_config_warnings(const struct dhcpd_config *c, FILE *f)
{
	if (dhcpd_any_nap(c) && c->napvd.n_servers == 0)
		fprintf(f, "warning: NAP is on in a scope but [napvd] names no server: every "
			   "check gets the scope's nap_fail treatment\n");
	for (size_t i = 0; i < c->n_scopes; i++) {
		const struct dhcpd_scope *s = &c->scopes[i];

		if (s->opts.n_routers == 0 && s->nap.enabled)
			fprintf(f, "warning: [scope %s]: no router: restricted host routes are "
				   "on-link\n", s->name);
	}
	if (c->has_metrics) {
		bool loop = false;

		if (c->metrics.ss_family == AF_INET)
			loop = (ntohl(((const struct sockaddr_in *)&c->metrics)->sin_addr.s_addr) >>
				24) == 127;
		else
			loop = IN6_IS_ADDR_LOOPBACK(
				&((const struct sockaddr_in6 *)&c->metrics)->sin6_addr);
		if (!loop)
			fprintf(f, "warning: metrics listen on a non-loopback address\n");
	}
}

static int
dhcpd_check_config(const char *path)
{
	struct dhcpd_config *c;
	char err[1024];

	if (dhcpd_config_parse_file(path, &c, err, sizeof(err)) < 0) {
		fprintf(stderr, "napdhcpd: %s\n", err);
		return 1;
	}
	dhcpd_config_print(c, stdout);
	dhcpd_config_warnings(c, stderr);
	if (dhcpd_any_nap(c)) {
		struct dhcpd_nap *nap = NULL;

		/* Reads the secret and resolves the servers, as the start would. */
		if (dhcpd_nap_new(&c->napvd, &nap, err, sizeof(err)) < 0) {
			fprintf(stderr, "napdhcpd: %s: [napvd]: %s\n", path, err);
			dhcpd_config_free(c);
			return 1;
		}
		dhcpd_nap_free(nap);
	}
	dhcpd_config_free(c);
	printf("configuration OK\n");
	return 0;
}

/* The server's own addresses are never handed out, even when a pool holds them. */
static void
dhcpd_exclude_own(struct dhcpd *d, const struct dhcpd_net *n)
{
	for (size_t i = 0; i < n->n_socks; i++) {
		char a[16];

		if (n->socks[i].local == 0 || !dhcpd_leases_exclude(&d->leases, n->socks[i].local))
			continue;
		dhcpd_ip_format(n->socks[i].local, a, sizeof(a));
		log_warnx("%s is this server's address (%s) but inside a pool: not handed out", a,
			  n->socks[i].name);
	}
}

static bool
dhcpd_same_sockets(const struct dhcpd_config *a, const struct dhcpd_config *b)
{
	if (a->n_ifaces != b->n_ifaces || a->n_listen != b->n_listen)
		return false;
	for (size_t i = 0; i < a->n_ifaces; i++)
		if (strcmp(a->ifaces[i], b->ifaces[i]) != 0)
			return false;
	return memcmp(a->listen, b->listen, a->n_listen * sizeof(a->listen[0])) == 0;
}

struct dhcpd_main {
	struct dhcpd d;
	struct dhcpd_net net;
	struct dhcpd_http *http;
	int sfd;
	bool quit;
};

static void
dhcpd_reload(struct dhcpd_main *mn)
{
	struct dhcpd *d = &mn->d;
	struct dhcpd_config *next = NULL;
	struct dhcpd_leases nl;
	struct dhcpd_net nn;
	struct dhcpd_http *nh = NULL;
	bool new_net = false, new_http = false;
	char err[1024];
	int r;

	r = dhcpd_config_parse_file(d->conf->path, &next, err, sizeof(err));
	if (r < 0) {
		log_warnx("reload: %s; keeping the running configuration", err);
		d->m.reloads_error++;
		return;
	}
	dhcpd_nap_servers_fix(next);
	if (next->pending_max != d->conf->pending_max)
		log_warnx("reload: pending_max changes at the next restart");
	next->pending_max = d->conf->pending_max;
	if (!dhcpd_same_sockets(next, d->conf)) {
		if (dhcpd_net_open(&nn, next, err, sizeof(err)) < 0) {
			log_warnx("reload: %s (new port-67 sockets need a restart); keeping the "
				  "running configuration", err);
			goto fail;
		}
		new_net = true;
	}
	if (next->has_metrics && (!d->conf->has_metrics ||
				  memcmp(&next->metrics, &d->conf->metrics,
					 sizeof(next->metrics)) != 0)) {
		r = dhcpd_http_open(&nh, (const struct sockaddr *)&next->metrics,
				    next->metrics_len);
		if (r < 0) {
			log_warnx("reload: metrics: %s; keeping the running configuration",
				  strerror(-r));
			goto fail;
		}
		new_http = true;
	} else if (!next->has_metrics && mn->http != NULL) {
		new_http = true;
	}
	if (dhcpd_any_nap(next)) {
		if (d->nap == NULL)
			r = dhcpd_nap_new(&next->napvd, &d->nap, err, sizeof(err));
		else
			r = dhcpd_nap_reconfigure(d->nap, &next->napvd, err, sizeof(err));
		if (r < 0) {
			log_warnx("reload: [napvd]: %s; keeping the running configuration", err);
			goto fail;
		}
	}
	if ((r = dhcpd_leases_init(&nl, next)) < 0) {
		log_warnx("reload: lease table: %s; keeping the running configuration",
			  strerror(-r));
		goto fail;
	}

	/* Commit: nothing below fails. Records queued so far are written first. */
	dhcpd_commit_and_flush(d);
	dhcpd_leases_adopt(&nl, &d->leases, d->now_ms);
	dhcpd_leases_close(&d->leases);
	d->leases = nl;
	(void)dhcpd_leases_compact(&d->leases, d->now);
	d->pending.gen++; /* verdicts for requests of the old configuration are dropped */
	if (new_net) {
		dhcpd_net_close(&mn->net);
		mn->net = nn;
	}
	if (new_http) {
		dhcpd_http_close(mn->http);
		mn->http = nh;
	}
	dhcpd_config_free(d->conf);
	d->conf = next;
	dhcpd_net_refresh(&mn->net, d->conf);
	dhcpd_exclude_own(d, &mn->net);
	d->m.reloads_ok++;
	log_info("reload: configuration %s loaded, %zu scope(s)", d->conf->path,
		 d->conf->n_scopes);
	return;
fail:
	if (new_net)
		dhcpd_net_close(&nn);
	dhcpd_http_close(nh);
	dhcpd_config_free(next);
	d->m.reloads_error++;
}

static void
dhcpd_signals(struct dhcpd_main *mn)
{
	struct signalfd_siginfo si;

	while (read(mn->sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGHUP:
			log_info("SIGHUP: reloading");
			dhcpd_reload(mn);
			break;
		case SIGTERM:
		case SIGINT:
			log_info("signal %u: exiting", si.ssi_signo);
			mn->quit = true;
			break;
		default:
			break;
		}
	}
}

static void
dhcpd_loop(struct dhcpd_main *mn)
{
	struct dhcpd *d = &mn->d;
	struct pollfd pfd[DHCPD_MAX_PFDS];
	int64_t next_tick = nap_mono_ms() + DHCPD_TICK_MS;

	while (!mn->quit) {
		size_t n = 0, n_sock, http_at, http_n = 0, nap_at, nap_n = 0, sync_at = 0;
		int64_t deadline = next_tick, now;
		int timeout, r;

		pfd[n++] = (struct pollfd){.fd = mn->sfd, .events = POLLIN};
		n_sock = mn->net.n_socks;
		/* A full queue of ACKs waiting for the disk: leave the datagrams in the kernel. */
		for (size_t i = 0; i < n_sock; i++)
			pfd[n++] = (struct pollfd){.fd = mn->net.socks[i].fd,
						   .events = dhcpd_can_read(d) ? POLLIN : 0};
		if (dhcpd_leases_sync_fd(&d->leases) >= 0) {
			sync_at = n;
			pfd[n++] = (struct pollfd){.fd = dhcpd_leases_sync_fd(&d->leases),
						   .events = POLLIN};
		}
		http_at = n;
		if (mn->http != NULL) {
			http_n = dhcpd_http_pollfds(mn->http, pfd + n, 16);
			n += http_n;
		}
		nap_at = n;
		if (d->nap != NULL) {
			int64_t nd = dhcpd_nap_next_deadline(d->nap);

			nap_n = dhcpd_nap_pollfds(d->nap, pfd + n, DHCPD_MAX_PFDS - n);
			n += nap_n;
			if (nd >= 0 && nd < deadline)
				deadline = nd;
		}
		now = nap_mono_ms();
		timeout = deadline <= now ? 0 : (int)(deadline - now);
		r = poll(pfd, n, timeout);
		if (r < 0 && errno != EINTR)
			fatal("poll");
		d->now = dhcpd_real_s();
		d->now_ms = nap_mono_ms();
		if (r > 0 && (pfd[0].revents & POLLIN) != 0)
			dhcpd_signals(mn);
		if (mn->quit)
			break;
		/* A reload may have replaced the sockets: only read what was polled. */
		if (r > 0 && sync_at != 0 && (pfd[sync_at].revents & POLLIN) != 0)
			dhcpd_sync_done(d);
		if (r > 0 && mn->net.n_socks == n_sock) {
			for (size_t i = 0; i < n_sock; i++)
				if ((pfd[1 + i].revents & POLLIN) != 0 &&
				    pfd[1 + i].fd == mn->net.socks[i].fd && dhcpd_can_read(d))
					dhcpd_net_read(d, &mn->net, i);
		}
		if (d->nap != NULL)
			dhcpd_nap_events(d->nap, pfd + nap_at, nap_n, d->now_ms);
		/* OFFERs leave now; the ACKs of this turn form the next batch for the syncer. */
		dhcpd_turn_end(d);
		if (mn->http != NULL && http_n > 0)
			dhcpd_http_events(mn->http, d, pfd + http_at, http_n, d->now_ms);
		if (d->now_ms >= next_tick) {
			dhcpd_tick(d);
			next_tick = d->now_ms + DHCPD_TICK_MS;
		}
	}
}

int
main(int argc, char *argv[])
{
	static struct dhcpd_main mn;
	struct dhcpd *d = &mn.d;
	const char *conf_path = DHCPD_DEFAULT_CONF;
	bool foreground = false, check = false;
	int verbose = 0, ch, r;
	char err[1024], *abs_conf;
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
		return dhcpd_check_config(conf_path);
	if ((abs_conf = realpath(conf_path, NULL)) == NULL)
		fatal("%s", conf_path);

	/* Blocked before any thread exists (the syncer, the NAP client): signalfd gets them. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
		fatal("sigprocmask");
	signal(SIGPIPE, SIG_IGN);
	log_init("napdhcpd", true, verbose);
	{
		struct dhcpd_config *c;

		if (dhcpd_config_parse_file(abs_conf, &c, err, sizeof(err)) < 0)
			fatalx("%s", err);
		dhcpd_nap_servers_fix(c);
		dhcpd_config_warnings(c, stderr);
		if ((r = dhcpd_init(d, c)) < 0)
			fatalx("lease table: %s", strerror(-r));
	}
	d->verbose = verbose;
	d->now = dhcpd_real_s();
	d->now_ms = nap_mono_ms();
	if ((r = dhcpd_mkdir_p(d->conf->state_dir)) < 0)
		fatalx("state_dir %s: %s", d->conf->state_dir, strerror(-r));
	if (dhcpd_leases_open(&d->leases, d->conf->state_dir, d->now, err, sizeof(err)) < 0)
		fatalx("%s", err);
	if (dhcpd_net_open(&mn.net, d->conf, err, sizeof(err)) < 0)
		fatalx("%s", err);
	d->net = &mn.net;
	d->send = dhcpd_net_send;
	dhcpd_exclude_own(d, &mn.net);
	if (dhcpd_any_nap(d->conf) &&
	    dhcpd_nap_new(&d->conf->napvd, &d->nap, err, sizeof(err)) < 0)
		fatalx("[napvd]: %s", err);
	if (d->conf->has_metrics &&
	    (r = dhcpd_http_open(&mn.http, (const struct sockaddr *)&d->conf->metrics,
				 d->conf->metrics_len)) < 0)
		fatalx("metrics: cannot listen: %s", strerror(-r));

	if (!foreground) {
		if (daemon(0, 0) < 0)
			fatal("daemon");
		log_init("napdhcpd", false, verbose);
	}
	if (d->conf->pidfile != NULL && nap_write_pidfile(d->conf->pidfile) < 0)
		log_warn("pidfile %s", d->conf->pidfile);
	/* After daemon(): the fork would not carry the thread. */
	if ((r = dhcpd_async_start(d)) < 0)
		fatalx("journal syncer: %s", strerror(-r));
	if (d->conf->user != NULL) {
		struct passwd *pw = getpwnam(d->conf->user);

		/* The journal and its directory stay writable after the drop. */
		if (pw != NULL && (fchown(d->leases.fd, pw->pw_uid, pw->pw_gid) < 0 ||
				   fchown(d->leases.dirfd, pw->pw_uid, pw->pw_gid) < 0))
			log_warn("state_dir %s: chown", d->conf->state_dir);
		r = nap_drop_privileges(d->conf->user, err, sizeof(err));
		if (r < 0)
			fatalx("%s", err);
		if (r == 0)
			log_info("running as %s", d->conf->user);
	}

	if ((mn.sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC)) < 0)
		fatal("signalfd");
	log_info("napdhcpd started: %zu scope(s), %zu socket(s), %u address(es) in the pools",
		 d->conf->n_scopes, mn.net.n_socks, d->leases.n);

	dhcpd_loop(&mn);

	dhcpd_commit_and_flush(d);
	dhcpd_nap_free(d->nap);
	dhcpd_http_close(mn.http);
	dhcpd_net_close(&mn.net);
	close(mn.sfd);
	if (d->conf->pidfile != NULL)
		unlink(d->conf->pidfile);
	dhcpd_config_free(d->conf);
	dhcpd_free(d);
	free(abs_conf);
	return 0;
}
