// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * naphrad: the nap Health Registration Authority (MS-HCEP). main(): options, the signer process
 * (forked first, while still root, so that it alone opens the CA key), the listeners, privilege
 * drop, daemonizing, the poll() loop, SIGHUP reload and SIGTERM.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "nap/log.h"
#include "nap/util.h"
#include "naphrad.h"

#define NAPHRAD_MAX_POLLFDS 160
#define NAPHRAD_SIGNER_SOCKBUF (4 * 1024 * 1024)

static void
usage(void)
{
	fprintf(stderr, "usage: naphrad [-dnv] [-f file]\n");
	exit(1);
}

static int
check_config(const char *path)
{
	struct naphrad_config *c;
	struct naphrad_signer *s = NULL;
	char err[1024];
	int r;

	if (naphrad_config_parse_file(path, &c, err, sizeof(err)) < 0) {
		fprintf(stderr, "naphrad: %s\n", err);
		return 1;
	}
	naphrad_config_print(c, stdout);
	naphrad_config_warnings(c, stderr);
	/* The CA as the signer would load it, when this user may read it (a token: always). */
	if (strncmp(c->signer.ca_key, "pkcs11:", 7) == 0 || access(c->signer.ca_key, R_OK) == 0) {
		char *log = c->signer.log;

		c->signer.log = (char *)"/dev/null";
		r = naphrad_signer_new(&c->signer, &s, err, sizeof(err));
		c->signer.log = log;
		if (r < 0) {
			fprintf(stderr, "naphrad: %s\n", err);
			naphrad_config_free(c);
			return 1;
		}
		naphrad_signer_free(s);
	} else {
		fprintf(stderr, "note: [signer] ca_key is not readable by this user: not checked\n");
	}
	naphrad_config_free(c);
	printf("configuration OK\n");
	return 0;
}

/* The signer's side of the fork: load the CA, drop to [signer] user, serve. Never returns. */
static void __attribute__((noreturn))
signer_child(int fd, const struct naphrad_config *c, int verbose, bool foreground)
{
	struct naphrad_signer *s;
	char err[1024];
	int r;

	prctl(PR_SET_PDEATHSIG, SIGTERM);
	prctl(PR_SET_NAME, "naphrad-signer");
	signal(SIGINT, SIG_IGN); /* Ctrl-C in the foreground: naphrad stops, then we do */
	signal(SIGHUP, SIG_IGN); /* naphrad forwards reloads over the socket */
	log_init("naphrad-signer", foreground, verbose);
	r = naphrad_signer_new(&c->signer, &s, err, sizeof(err));
	if (r < 0) {
		log_warnx("%s", err);
		_exit(1);
	}
	if (c->signer.user != NULL && nap_drop_privileges(c->signer.user, err, sizeof(err)) < 0) {
		log_warnx("signer: %s", err);
		_exit(1);
	}
	log_info("signer: CA %s ready", c->signer.ca_cert);
	r = naphrad_signer_main(fd, c->path, s); /* frees s */
	_exit(r);
}

static pid_t
signer_start(struct naphrad *h, int verbose, bool foreground)
{
	int sv[2], size = NAPHRAD_SIGNER_SOCKBUF;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		fatal("socketpair");
	for (int i = 0; i < 2; i++) {
		setsockopt(sv[i], SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
		setsockopt(sv[i], SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		fatal("fork");
	if (pid == 0) {
		close(sv[0]);
		signer_child(sv[1], h->conf, verbose, foreground);
	}
	close(sv[1]);
	if (fcntl(sv[0], F_SETFL, O_NONBLOCK) < 0)
		fatal("fcntl");
	h->signer_fd = sv[0];
	return pid;
}

static void
reload(struct naphrad *h)
{
	struct naphrad_config *next = NULL;
	char err[1024];

	if (naphrad_config_parse_file(h->conf->path, &next, err, sizeof(err)) < 0) {
		log_warnx("reload: %s; keeping the running configuration", err);
		h->m.reloads_error++;
		return;
	}
	if (naphrad_radius_setup(h, next, err, sizeof(err)) < 0) {
		log_warnx("reload: %s; keeping the running configuration", err);
		naphrad_config_free(next);
		h->m.reloads_error++;
		return;
	}
	if (naphrad_http_reload(h, next, err, sizeof(err)) < 0) {
		log_warnx("reload: %s; the listeners keep their configuration", err);
		naphrad_config_free(next);
		h->m.reloads_error++;
		return;
	}
	naphrad_config_free(h->conf);
	h->conf = next;
	/* The signer re-reads [signer] itself; its answer brings the new CA chain. */
	naphrad_signer_reload_request(h);
	h->m.reloads_ok++;
	log_info("reload: configuration %s loaded", h->conf->path);
}

static void
signals(struct naphrad *h, int sfd)
{
	struct signalfd_siginfo si;

	while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGHUP:
			log_info("SIGHUP: reloading");
			reload(h);
			break;
		case SIGTERM:
		case SIGINT:
			log_info("signal %u: exiting", si.ssi_signo);
			h->quit = true;
			break;
		default:
			break;
		}
	}
}

int
main(int argc, char *argv[])
{
	static struct naphrad h;
	static struct pollfd fds[NAPHRAD_MAX_POLLFDS];
	const char *conf_path = NAPHRAD_DEFAULT_CONF;
	char *abs_conf, err[1024];
	bool foreground = false, check = false;
	int verbose = 0, ch, sfd, r, status;
	sigset_t mask;
	pid_t signer;

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
		return check_config(conf_path);
	if ((abs_conf = realpath(conf_path, NULL)) == NULL)
		fatal("%s", conf_path);
	log_init("naphrad", true, verbose);
	if (naphrad_config_parse_file(abs_conf, &h.conf, err, sizeof(err)) < 0)
		fatalx("%s", err);
	naphrad_config_warnings(h.conf, stderr);
	h.verbose = verbose;
	h.signer_fd = -1;

	/* Signals are blocked before the fork: the signer unblocks nothing it does not need. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	signal(SIGPIPE, SIG_IGN);
	signer = signer_start(&h, verbose, foreground);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
		fatal("sigprocmask");
	if (naphrad_rt_new(&h) < 0)
		fatalx("out of memory");
	if (naphrad_signer_hello_sync(&h, err, sizeof(err)) < 0)
		fatalx("%s", err);
	if (naphrad_radius_setup(&h, h.conf, err, sizeof(err)) < 0)
		fatalx("%s", err);
	if (naphrad_http_start(&h, err, sizeof(err)) < 0)
		fatalx("%s", err);
	if (h.conf->user != NULL) {
		r = nap_drop_privileges(h.conf->user, err, sizeof(err));
		if (r < 0)
			fatalx("%s", err);
		if (r == 0)
			log_info("running as %s", h.conf->user);
	}
	if (!foreground) {
		if (daemon(0, 0) < 0)
			fatal("daemon");
		log_init("naphrad", false, verbose);
	}
	if (h.conf->pidfile != NULL && nap_write_pidfile(h.conf->pidfile) < 0)
		log_warn("pidfile %s", h.conf->pidfile);
	if ((sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC)) < 0)
		fatal("signalfd");
	log_info("naphrad started%s%s%s%s", h.conf->http_listen ? ", HTTP " : "",
		 h.conf->http_listen ? h.conf->http_listen : "",
		 h.conf->https_listen ? ", HTTPS " : "",
		 h.conf->https_listen ? h.conf->https_listen : "");

	while (!h.quit) {
		size_t n;
		int64_t t;

		fds[0] = (struct pollfd){.fd = sfd, .events = POLLIN};
		n = naphrad_pollfds(&h, fds + 1, NAP_ARRAY_SIZE(fds) - 1);
		t = naphrad_next_timeout_ms(&h);
		if (t > 1000 || t < 0)
			t = 1000;
		if (poll(fds, n + 1, (int)t) < 0 && errno != EINTR)
			fatal("poll");
		if (fds[0].revents & POLLIN)
			signals(&h, sfd);
		naphrad_run(&h, fds + 1, n);
	}

	naphrad_http_stop(&h);
	close(h.signer_fd); /* the signer sees the end of its socket and exits */
	for (int i = 0; i < 50; i++) {
		if (waitpid(signer, &status, WNOHANG) != 0)
			break;
		usleep(100 * 1000);
	}
	close(sfd);
	if (h.conf->pidfile != NULL)
		unlink(h.conf->pidfile);
	naphrad_config_free(h.conf);
	free(abs_conf);
	return 0;
}
