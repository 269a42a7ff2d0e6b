// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * The collectors' common part: the [checks] section, the environment, the dispatch of one HSR
 * check to its module, the WSHA view for the SoH, and the tool runner (fork/exec without a
 * shell, stdout captured up to a bound, timeout with the process group killed). Handles
 * untrusted input: tool output is bounded and parsed by the modules; HSR checks were checked by
 * the HSR parser, their paths are still looked up under the root prefix only.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "collect-int.h"
#include "nap/util.h"

/* ---- configuration ---- */

void
agent_checks_conf_defaults(struct agent_checks_conf *c)
{
	memset(c, 0, sizeof(*c));
	c->allow_commands = false;
	c->command_timeout_ms = AGENT_CHECKS_DEFAULT_TIMEOUT;
	snprintf(c->clamav_db, sizeof(c->clamav_db), "%s", AGENT_CHECKS_DEFAULT_CLAMAV);
	c->av_max_age = AGENT_CHECKS_DEFAULT_AV_AGE;
}

/* "500ms", "10s", "2m", "1h", "7d" or plain seconds, into milliseconds. */
static int
collect_duration_ms(const char *s, int64_t *out)
{
	static const struct {
		const char *suffix;
		int64_t ms;
	} units[] = {{"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}, {"d", 86400000}, {"", 1000}};
	char *end;
	long long v;

	if (s == NULL || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || v < 0 || v > INT32_MAX)
		return -EINVAL;
	for (size_t i = 0; i < NAP_ARRAY_SIZE(units); i++) {
		if (strcmp(end, units[i].suffix) == 0) {
			*out = (int64_t)v * units[i].ms;
			return 0;
		}
	}
	return -EINVAL;
}

int
agent_checks_conf_set(struct agent_checks_conf *c, const char *key, const char *value,
		      char *err, size_t len)
{
	int64_t ms;

	if (strcmp(key, "commands") == 0) {
		if (strcmp(value, "allow") == 0)
			c->allow_commands = true;
		else if (strcmp(value, "deny") == 0)
			c->allow_commands = false;
		else
			goto bad;
		return 0;
	}
	if (strcmp(key, "command_timeout") == 0) {
		if (collect_duration_ms(value, &ms) < 0 || ms < 1 || ms > 3600000)
			goto bad;
		c->command_timeout_ms = ms;
		return 0;
	}
	if (strcmp(key, "av_max_age") == 0) {
		if (collect_duration_ms(value, &ms) < 0 || ms < 1000)
			goto bad;
		c->av_max_age = ms / 1000;
		return 0;
	}
	if (strcmp(key, "clamav_db") == 0 || strcmp(key, "root") == 0) {
		char *dst = key[0] == 'c' ? c->clamav_db : c->root;
		size_t cap = key[0] == 'c' ? sizeof(c->clamav_db) : sizeof(c->root);
		size_t n = strlen(value);

		/* root may be empty (the real system); both are absolute, no trailing slash. */
		if ((n == 0 && key[0] == 'c') || (n > 0 && value[0] != '/') || n >= cap ||
		    (n > 1 && value[n - 1] == '/'))
			goto bad;
		memcpy(dst, value, n + 1);
		if (strcmp(dst, "/") == 0 && key[0] == 'r')
			dst[0] = '\0';
		return 0;
	}
	return 1;
bad:
	snprintf(err, len,
		 "[checks] %s: bad value \"%s\" (commands = deny|allow, command_timeout = 1ms..1h, "
		 "av_max_age >= 1s, clamav_db and root absolute paths)",
		 key, value);
	return -EINVAL;
}

void
agent_collect_env_init(struct agent_collect_env *env, const struct agent_checks_conf *c,
		       int64_t now)
{
	memset(env, 0, sizeof(*env));
	env->root = c->root;
	env->now = now;
	env->allow_commands = c->allow_commands;
	env->timeout_ms = c->command_timeout_ms;
	env->clamav_db = c->clamav_db;
	env->av_max_age = c->av_max_age;
}

/* ---- paths ---- */

bool
collect_path(const struct agent_collect_env *env, const char *path, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%s%s", env->root != NULL ? env->root : "", path);

	return n >= 0 && (size_t)n < len;
}

bool
collect_exists(const struct agent_collect_env *env, const char *path)
{
	char p[PATH_MAX];
	struct stat sb;

	return collect_path(env, path, p, sizeof(p)) && stat(p, &sb) == 0;
}

bool
collect_find_tool(const struct agent_collect_env *env, const char *const *candidates, char *buf,
		  size_t len)
{
	for (size_t i = 0; candidates[i] != NULL; i++) {
		struct stat sb;

		if (collect_path(env, candidates[i], buf, len) && stat(buf, &sb) == 0 &&
		    S_ISREG(sb.st_mode) && access(buf, X_OK) == 0)
			return true;
	}
	return false;
}

void
collect_set(struct agent_check_result *out, uint8_t status, const char *fmt, ...)
{
	va_list ap;

	out->status = status;
	va_start(ap, fmt);
	vsnprintf(out->detail, sizeof(out->detail), fmt, ap);
	va_end(ap);
	/* One line of printable text for logs and JSON. */
	for (char *p = out->detail; *p != '\0'; p++) {
		if ((unsigned char)*p < 0x20 || (unsigned char)*p == 0x7f)
			*p = ' ';
	}
}

/* ---- the runner ---- */

static void
collect_child(const char *const *argv, int out_fd, int err_fd)
{
	static char *const envp[] = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C", "LANG=C",
				     NULL};
	int null_fd, e;
	sigset_t none;

	/* Only async-signal-safe calls between fork and exec. */
	setpgid(0, 0);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	null_fd = open("/dev/null", O_RDWR);
	if (null_fd < 0 || dup2(null_fd, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(null_fd, 2) < 0)
		goto fail;
	/* Everything else is closed (the agent's sockets, files, the error pipe at exec). */
	for (int fd = 3; fd < 1024; fd++) {
		if (fd != err_fd)
			close(fd);
	}
	execve(argv[0], (char *const *)argv, envp);
fail:
	e = errno;
	if (write(err_fd, &e, sizeof(e)) < 0) {
		/* nothing left to tell anyone */
	}
	_exit(127);
}

int
collect_run(const char *const *argv, int64_t timeout_ms, size_t max_out, struct collect_run *r)
{
	int out_pipe[2], err_pipe[2], st = 0, e = 0;
	int64_t deadline = nap_mono_ms() + timeout_ms;
	size_t cap = max_out + 1;
	bool eof = false, exited = false;
	pid_t pid;
	ssize_t n;

	memset(r, 0, sizeof(*r));
	r->out = malloc(cap < 4096 ? cap : 4096);
	if (r->out == NULL)
		return -ENOMEM;
	cap = cap < 4096 ? cap : 4096;
	r->out[0] = '\0';
	if (pipe2(out_pipe, O_CLOEXEC) < 0) {
		e = -errno;
		collect_run_free(r);
		return e;
	}
	if (pipe2(err_pipe, O_CLOEXEC) < 0) {
		e = -errno;
		close(out_pipe[0]);
		close(out_pipe[1]);
		collect_run_free(r);
		return e;
	}
	pid = fork();
	if (pid < 0) {
		e = -errno;
		close(out_pipe[0]);
		close(out_pipe[1]);
		close(err_pipe[0]);
		close(err_pipe[1]);
		collect_run_free(r);
		return e;
	}
	if (pid == 0)
		collect_child(argv, out_pipe[1], err_pipe[1]);
	close(out_pipe[1]);
	close(err_pipe[1]);
	/* The error pipe closes at exec (O_CLOEXEC) or carries execve's errno. */
	do
		n = read(err_pipe[0], &e, sizeof(e));
	while (n < 0 && errno == EINTR);
	close(err_pipe[0]);
	if (n == (ssize_t)sizeof(e))
		r->exec_errno = e != 0 ? e : EIO;

	while (!eof || !exited) {
		int64_t left = deadline - nap_mono_ms();
		pid_t w;

		if (!exited) {
			w = waitpid(pid, &st, WNOHANG);
			if (w == pid)
				exited = true;
			else if (w < 0 && errno != EINTR)
				exited = true; /* ECHILD: SIGCHLD ignored by the caller */
		}
		if (left <= 0 && (!eof || !exited)) {
			r->timed_out = !exited;
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL);
			if (!exited) {
				while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
					;
				exited = true;
			}
			break;
		}
		if (!eof) {
			struct pollfd pfd = {.fd = out_pipe[0], .events = POLLIN};
			int pr = poll(&pfd, 1, (int)(left < 50 ? left : 50));

			if (pr > 0) {
				char buf[4096];

				n = read(out_pipe[0], buf, sizeof(buf));
				if (n == 0) {
					eof = true;
				} else if (n > 0) {
					size_t take = (size_t)n;

					if (r->out_len + take > max_out) {
						take = max_out - r->out_len;
						r->truncated = true;
					}
					if (r->out_len + take + 1 > cap) {
						size_t ncap = cap;
						char *p;

						while (ncap < r->out_len + take + 1)
							ncap *= 2;
						p = realloc(r->out, ncap);
						if (p == NULL) {
							take = 0;
							r->truncated = true;
						} else {
							r->out = p;
							cap = ncap;
						}
					}
					memcpy(r->out + r->out_len, buf, take);
					r->out_len += take;
					r->out[r->out_len] = '\0';
				} else if (errno != EINTR && errno != EAGAIN) {
					eof = true;
				}
			}
		} else if (!exited) {
			struct timespec ts = {0, 10 * 1000 * 1000};

			nanosleep(&ts, NULL);
		}
	}
	close(out_pipe[0]);
	if (WIFEXITED(st)) {
		r->status = WEXITSTATUS(st);
	} else if (WIFSIGNALED(st)) {
		r->status = -1;
		r->signal = WTERMSIG(st);
	}
	return 0;
}

void
collect_run_free(struct collect_run *r)
{
	free(r->out);
	r->out = NULL;
	r->out_len = 0;
}

/* ---- systemd units ---- */

int
collect_unit_active(const struct agent_collect_env *env, const char *unit, char *buf, size_t len)
{
	static const char *const systemctl[] = {"/usr/bin/systemctl", "/bin/systemctl", NULL};
	char tool[PATH_MAX];
	const char *argv[5];
	struct collect_run r;
	size_t n;
	int rc;

	if (!collect_find_tool(env, systemctl, tool, sizeof(tool))) {
		snprintf(buf, len, "systemctl not found");
		return -1;
	}
	argv[0] = tool;
	argv[1] = "is-active";
	argv[2] = "--";
	argv[3] = unit;
	argv[4] = NULL;
	if (collect_run(argv, env->timeout_ms, 4096, &r) < 0) {
		snprintf(buf, len, "cannot run systemctl");
		return -1;
	}
	if (r.exec_errno != 0 || r.timed_out) {
		snprintf(buf, len, "systemctl: %s",
			 r.timed_out ? "timed out" : strerror(r.exec_errno));
		collect_run_free(&r);
		return -1;
	}
	n = strcspn(r.out, "\n");
	r.out[n] = '\0';
	if (n == 0) {
		/* No state: systemd is not running (a container) or systemctl failed. */
		snprintf(buf, len, "systemctl gave no state (exit %d)", r.status);
		collect_run_free(&r);
		return -1;
	}
	snprintf(buf, len, "%.64s", r.out);
	rc = r.status == 0 && (strcmp(r.out, "active") == 0 || strcmp(r.out, "reloading") == 0);
	collect_run_free(&r);
	return rc;
}

/* ---- dispatch ---- */

void
agent_collect(const struct agent_collect_env *env, const struct nap_hsr_check *check,
	      struct agent_check_result *out)
{
	memset(out, 0, sizeof(*out));
	snprintf(out->id, sizeof(out->id), "%s", check->id);
	switch (check->type) {
	case NAP_CHECK_TYPE_FIREWALL:
		agent_collect_firewall(env, out);
		break;
	case NAP_CHECK_TYPE_AUTO_UPDATES:
		agent_collect_auto_updates(env, out);
		break;
	case NAP_CHECK_TYPE_ANTIVIRUS:
		agent_collect_antivirus(env, check->max_age, out);
		break;
	case NAP_CHECK_TYPE_REBOOT:
		agent_collect_reboot(env, out);
		break;
	case NAP_CHECK_TYPE_FILE:
		collect_file(env, check, out);
		break;
	case NAP_CHECK_TYPE_SERVICE:
		collect_service(env, check, out);
		break;
	case NAP_CHECK_TYPE_COMMAND:
		collect_command(env, check, out);
		break;
	default:
		collect_set(out, NAP_CHECK_ERROR, "unknown check type %d", (int)check->type);
		break;
	}
	/* The collectors fill detail; the id is the HSR's whatever they wrote. */
	snprintf(out->id, sizeof(out->id), "%s", check->id);
}

void
agent_collect_firewall(const struct agent_collect_env *env, struct agent_check_result *out)
{
	const char *product = NULL;

	collect_firewall_probe(env, out, &product);
}

/* ---- the WSHA view ---- */

/* Product names, UTF-16LE as MS-WSH carries them. */
#define U16(a) a, 0
static const uint8_t name_nftables[] = {U16('n'), U16('f'), U16('t'), U16('a'), U16('b'),
					U16('l'), U16('e'), U16('s')};
static const uint8_t name_clamav[] = {U16('C'), U16('l'), U16('a'), U16('m'), U16('A'),
				      U16('V')};
#undef U16

static void
wsh_product(struct nap_wsh_class_report *c, const uint8_t *name, size_t len)
{
	c->product_name = name;
	c->product_name_len = (uint16_t)len;
}

void
agent_collect_wsh(const struct agent_collect_env *env, struct nap_wsh *out)
{
	struct agent_check_result r;
	const char *product = NULL;
	struct nap_wsh_class_report *c;

	memset(out, 0, sizeof(*out));
	out->has_version = true;
	out->client_version = 0x00060001;

	/* Firewall: enabled when the firewall check passes. */
	memset(&r, 0, sizeof(r));
	collect_firewall_probe(env, &r, &product);
	c = &out->cls[NAP_WSH_FIREWALL];
	c->present = true;
	if (r.status == NAP_CHECK_PASS) {
		c->status = NAP_WSH_STATUS_ENABLED;
		wsh_product(c, name_nftables, sizeof(name_nftables));
	} else if (r.status == NAP_CHECK_FAIL && product == NULL) {
		c->status = NAP_WSH_E_PRODUCT_NOT_INSTALLED;
	} else if (r.status == NAP_CHECK_FAIL) {
		c->status = 0; /* installed, not enabled */
		wsh_product(c, name_nftables, sizeof(name_nftables));
	} else {
		c->status = NAP_WSH_E_WSC_SERVICE_DOWN;
	}

	/* Antivirus and antispyware: ClamAV, fresh within av_max_age. */
	memset(&r, 0, sizeof(r));
	agent_collect_antivirus(env, env->av_max_age, &r);
	for (int k = 0; k < 2; k++) {
		c = &out->cls[k == 0 ? NAP_WSH_ANTIVIRUS : NAP_WSH_ANTISPYWARE];
		c->present = true;
		if (r.status == NAP_CHECK_PASS) {
			c->status = NAP_WSH_STATUS_ENABLED | NAP_WSH_STATUS_UPTODATE;
			wsh_product(c, name_clamav, sizeof(name_clamav));
		} else if (r.status == NAP_CHECK_FAIL && strstr(r.detail, "not installed") != NULL) {
			c->status = NAP_WSH_E_PRODUCT_NOT_INSTALLED;
		} else if (r.status == NAP_CHECK_FAIL) {
			c->status = NAP_WSH_STATUS_ENABLED; /* present, signatures stale or missing */
			wsh_product(c, name_clamav, sizeof(name_clamav));
		} else {
			c->status = NAP_WSH_E_WSC_SERVICE_DOWN;
		}
	}

	/* Automatic updates: 4 download and install, 1 disabled. */
	memset(&r, 0, sizeof(r));
	agent_collect_auto_updates(env, &r);
	c = &out->cls[NAP_WSH_AUTO_UPDATES];
	c->present = true;
	c->status = r.status == NAP_CHECK_PASS	 ? 4u
		    : r.status == NAP_CHECK_FAIL ? 1u
						 : NAP_WSH_E_WSC_SERVICE_DOWN;
}
