// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * Remediation: run the configured package manager commands for the missing packages, without
 * a shell, in a controlled environment, bounded in time and in captured output. See
 * remediate.h for the configuration and the contract.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "nap/log.h"
#include "nap/util.h"
#include "remediate.h"

#define AGENT_RUN_GRACE_MS 5000 /* SIGTERM to SIGKILL */

extern char **environ;

static const char *const agent_run_fixed_env[] = {
	"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
	"LC_ALL=C",
	"DEBIAN_FRONTEND=noninteractive",
	"APT_LISTCHANGES_FRONTEND=none",
	"NEEDRESTART_MODE=l",
};

/* ---- configuration ---- */

void
agent_remediation_conf_init(struct agent_remediation_conf *c)
{
	memset(c, 0, sizeof(*c));
	c->enabled = false;
	snprintf(c->install_command, sizeof(c->install_command), "%s",
		 "/usr/bin/apt-get -y -q install");
	c->timeout = 600;
	c->max_packages = 64;
}

int
agent_remediation_split(const char *line, char *buf, size_t buf_len, char **argv,
			size_t argv_cap)
{
	const char *p = line;
	size_t o = 0, n = 0;

	if (argv_cap == 0 || buf_len == 0)
		return -EINVAL;
	for (;;) {
		bool quoted = false, have = false;

		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0')
			break;
		if (n + 1 >= argv_cap)
			return -EINVAL; /* room for the NULL */
		argv[n] = buf + o;
		while (*p != '\0' && (quoted || (*p != ' ' && *p != '\t'))) {
			char ch = *p++;

			if (ch == '"') {
				quoted = !quoted;
				have = true;
				continue;
			}
			if (quoted && ch == '\\' && (*p == '"' || *p == '\\'))
				ch = *p++;
			if (o + 1 >= buf_len)
				return -EINVAL;
			buf[o++] = ch;
			have = true;
		}
		if (quoted)
			return -EINVAL;
		(void)have;
		buf[o++] = '\0';
		n++;
	}
	argv[n] = NULL;
	return (int)n;
}

/* A configured command: splits, has an absolute argv[0]. */
static int
check_command(const char *key, const char *value, bool may_be_empty, char *err, size_t len)
{
	char buf[AGENT_REMEDIATION_CMD_MAX];
	char *argv[AGENT_REMEDIATION_MAX_ARGS];
	int n;

	if (strlen(value) >= AGENT_REMEDIATION_CMD_MAX) {
		snprintf(err, len, "%s: longer than %d bytes", key, AGENT_REMEDIATION_CMD_MAX - 1);
		return -EINVAL;
	}
	n = agent_remediation_split(value, buf, sizeof(buf), argv, NAP_ARRAY_SIZE(argv));
	if (n < 0) {
		snprintf(err, len, "%s: unbalanced quote or more than %d words", key,
			 AGENT_REMEDIATION_MAX_ARGS - 1);
		return -EINVAL;
	}
	if (n == 0) {
		if (may_be_empty)
			return 0;
		snprintf(err, len, "%s: empty command", key);
		return -EINVAL;
	}
	if (argv[0][0] != '/') {
		snprintf(err, len, "%s: the program must be an absolute path, not '%s'", key,
			 argv[0]);
		return -EINVAL;
	}
	return 0;
}

static int
parse_bool(const char *v, bool *out)
{
	if (strcasecmp(v, "yes") == 0 || strcasecmp(v, "true") == 0 || strcasecmp(v, "on") == 0 ||
	    strcmp(v, "1") == 0)
		*out = true;
	else if (strcasecmp(v, "no") == 0 || strcasecmp(v, "false") == 0 ||
		 strcasecmp(v, "off") == 0 || strcmp(v, "0") == 0)
		*out = false;
	else
		return -EINVAL;
	return 0;
}

static bool
env_name_ok(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || !(isalpha((unsigned char)s[0]) || s[0] == '_'))
		return false;
	for (i = 1; i < n; i++)
		if (!(isalnum((unsigned char)s[i]) || s[i] == '_'))
			return false;
	return true;
}

int
agent_remediation_conf_set(struct agent_remediation_conf *c, const char *key, const char *value,
			   char *err, size_t len)
{
	int r;

	if (strcmp(key, "enabled") == 0) {
		if (parse_bool(value, &c->enabled) < 0) {
			snprintf(err, len, "enabled: expected yes or no, not '%s'", value);
			return -EINVAL;
		}
		return 0;
	}
	if (strcmp(key, "install_command") == 0) {
		if ((r = check_command(key, value, false, err, len)) < 0)
			return r;
		snprintf(c->install_command, sizeof(c->install_command), "%s", value);
		return 0;
	}
	if (strcmp(key, "update_command") == 0) {
		if ((r = check_command(key, value, true, err, len)) < 0)
			return r;
		snprintf(c->update_command, sizeof(c->update_command), "%s", value);
		return 0;
	}
	if (strcmp(key, "timeout") == 0) {
		int64_t s;

		if (nap_parse_duration(value, &s) < 0 || s < 1 || s > 86400) {
			snprintf(err, len, "timeout: expected a duration from 1s to 24h, not '%s'",
				 value);
			return -EINVAL;
		}
		c->timeout = s;
		return 0;
	}
	if (strcmp(key, "max_packages") == 0) {
		char *end;
		unsigned long v;

		errno = 0;
		v = strtoul(value, &end, 10);
		if (errno != 0 || end == value || *end != '\0' || v < 1 || v > 1024 ||
		    value[0] == '-') {
			snprintf(err, len, "max_packages: expected 1..1024, not '%s'", value);
			return -EINVAL;
		}
		c->max_packages = v;
		return 0;
	}
	if (strcmp(key, "env") == 0) {
		const char *eq = strchr(value, '=');

		if (eq == NULL || !env_name_ok(value, (size_t)(eq - value))) {
			snprintf(err, len, "env: expected NAME=VALUE, not '%s'", value);
			return -EINVAL;
		}
		if (strlen(value) >= AGENT_REMEDIATION_ENV_MAX) {
			snprintf(err, len, "env: longer than %d bytes", AGENT_REMEDIATION_ENV_MAX - 1);
			return -EINVAL;
		}
		if (c->n_env >= AGENT_REMEDIATION_MAX_ENV) {
			snprintf(err, len, "env: more than %d entries", AGENT_REMEDIATION_MAX_ENV);
			return -EINVAL;
		}
		snprintf(c->env[c->n_env++], AGENT_REMEDIATION_ENV_MAX, "%s", value);
		return 0;
	}
	return 1;
}

bool
agent_remediation_package_ok(const char *name)
{
	size_t i, n = strlen(name);

	if (n == 0 || n >= AGENT_REMEDIATION_PKG_MAX || !isalnum((unsigned char)name[0]))
		return false;
	for (i = 1; i < n; i++) {
		unsigned char ch = (unsigned char)name[i];

		if (!(isalnum(ch) || ch == '+' || ch == '.' || ch == '-' || ch == '_' || ch == ':'))
			return false;
	}
	return true;
}

const char *
agent_remediation_status_name(enum agent_remediation_status s)
{
	switch (s) {
	case AGENT_REMEDIATION_OK:
		return "ok";
	case AGENT_REMEDIATION_DISABLED:
		return "disabled";
	case AGENT_REMEDIATION_NOTHING:
		return "nothing";
	case AGENT_REMEDIATION_BAD_PACKAGE:
		return "bad_package";
	case AGENT_REMEDIATION_EXEC_FAILED:
		return "exec_failed";
	case AGENT_REMEDIATION_FAILED:
		return "failed";
	case AGENT_REMEDIATION_SIGNALED:
		return "signaled";
	case AGENT_REMEDIATION_TIMEOUT:
		return "timeout";
	}
	return "unknown";
}

/* ---- the runner ---- */

/* Append to the bounded capture, keeping the tail. */
static void
capture(struct agent_run_result *r, const char *p, size_t n)
{
	const size_t cap = AGENT_REMEDIATION_OUTPUT_MAX;

	if (n >= cap) {
		memcpy(r->output, p + (n - cap), cap);
		r->output_len = cap;
		r->output_truncated = true;
	} else {
		if (r->output_len + n > cap) {
			size_t drop = r->output_len + n - cap;

			memmove(r->output, r->output + drop, r->output_len - drop);
			r->output_len -= drop;
			r->output_truncated = true;
		}
		memcpy(r->output + r->output_len, p, n);
		r->output_len += n;
	}
	r->output[r->output_len] = '\0';
}

/* The environment: the fixed entries, replaced or extended by env. */
static size_t
build_env(const char (*env)[AGENT_REMEDIATION_ENV_MAX], size_t n_env, const char **envp,
	  size_t cap)
{
	size_t n = 0, i, j;

	for (i = 0; i < NAP_ARRAY_SIZE(agent_run_fixed_env) && n + 1 < cap; i++) {
		const char *fixed = agent_run_fixed_env[i];
		size_t nl = (size_t)(strchr(fixed, '=') - fixed) + 1;
		bool replaced = false;

		for (j = 0; j < n_env; j++)
			if (strncmp(env[j], fixed, nl) == 0)
				replaced = true;
		if (!replaced)
			envp[n++] = fixed;
	}
	for (j = 0; j < n_env && n + 1 < cap; j++)
		envp[n++] = env[j];
	envp[n] = NULL;
	return n;
}

static __attribute__((noreturn)) void
child(char *const argv[], const char **envp, int out_fd, int err_fd)
{
	sigset_t all;
	int devnull, e;

	(void)setpgid(0, 0);
	sigemptyset(&all);
	(void)sigprocmask(SIG_SETMASK, &all, NULL);
	(void)signal(SIGPIPE, SIG_DFL);
	(void)signal(SIGCHLD, SIG_DFL);
	(void)signal(SIGHUP, SIG_DFL);
	(void)signal(SIGINT, SIG_DFL);
	(void)signal(SIGTERM, SIG_DFL);
	devnull = open("/dev/null", O_RDONLY);
	if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(out_fd, 2) < 0)
		goto fail;
	if (devnull > 2)
		close(devnull);
	if (out_fd > 2)
		close(out_fd);
	/* Every other descriptor of the agent (sockets, inotify, the pidfile) stays behind. */
	(void)close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
	execve(argv[0], argv, (char *const *)envp);
fail:
	e = errno;
	(void)!write(err_fd, &e, sizeof(e));
	_exit(127);
}

static void
kill_group(pid_t pid, int sig)
{
	if (kill(-pid, sig) < 0)
		(void)kill(pid, sig);
}

int
agent_run(char *const argv[], const char (*env)[AGENT_REMEDIATION_ENV_MAX], size_t n_env,
	  int64_t timeout_ms, struct agent_run_result *r)
{
	const char *envp[NAP_ARRAY_SIZE(agent_run_fixed_env) + AGENT_REMEDIATION_MAX_ENV + 1];
	int out[2], errp[2], status = 0, e = 0;
	int64_t start = nap_mono_ms(), deadline, kill_at = -1;
	bool timed_out = false, exited = false, open_out = true;
	int last_sig = 0;
	pid_t pid;
	ssize_t k;

	memset(r, 0, sizeof(*r));
	r->how = AGENT_RUN_NOT_STARTED;
	if (argv == NULL || argv[0] == NULL)
		return -EINVAL;
	build_env(env, n_env, envp, NAP_ARRAY_SIZE(envp));
	if (pipe2(out, O_CLOEXEC) < 0)
		return -errno;
	if (pipe2(errp, O_CLOEXEC) < 0) {
		e = -errno;
		close(out[0]);
		close(out[1]);
		return e;
	}
	pid = fork();
	if (pid < 0) {
		e = -errno;
		close(out[0]);
		close(out[1]);
		close(errp[0]);
		close(errp[1]);
		return e;
	}
	if (pid == 0)
		child(argv, envp, out[1], errp[1]);
	(void)setpgid(pid, pid); /* both sides, so kill_group works at once */
	close(out[1]);
	close(errp[1]);
	/* exec status: EOF means exec succeeded (the pipe is close-on-exec) */
	do
		k = read(errp[0], &e, sizeof(e));
	while (k < 0 && errno == EINTR);
	close(errp[0]);
	if (k == (ssize_t)sizeof(e)) {
		close(out[0]);
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		r->exec_errno = e;
		r->duration_ms = nap_mono_ms() - start;
		return -ENOEXEC;
	}
	(void)fcntl(out[0], F_SETFL, O_NONBLOCK);
	deadline = start + (timeout_ms > 0 ? timeout_ms : 0);
	while (!exited) {
		int64_t now = nap_mono_ms(), wait_ms = 50;
		pid_t w;

		if (!timed_out && timeout_ms > 0 && now >= deadline) {
			timed_out = true;
			last_sig = SIGTERM;
			kill_group(pid, SIGTERM);
			kill_at = now + AGENT_RUN_GRACE_MS;
			log_warnx("%s: still running after %" PRId64 " ms, sent SIGTERM", argv[0],
				  timeout_ms);
		}
		if (kill_at >= 0 && now >= kill_at) {
			last_sig = SIGKILL;
			kill_group(pid, SIGKILL);
			kill_at = -1;
		}
		if (!timed_out && timeout_ms > 0 && deadline - now < wait_ms)
			wait_ms = deadline - now;
		if (kill_at >= 0 && kill_at - now < wait_ms)
			wait_ms = kill_at - now;
		if (wait_ms < 0)
			wait_ms = 0;
		if (open_out) {
			struct pollfd pfd = {.fd = out[0], .events = POLLIN};
			int pr = poll(&pfd, 1, (int)wait_ms);

			if (pr > 0) {
				char buf[4096];

				k = read(out[0], buf, sizeof(buf));
				if (k > 0)
					capture(r, buf, (size_t)k);
				else if (k == 0 || (errno != EAGAIN && errno != EINTR))
					open_out = false;
			}
		} else {
			struct timespec ts = {0, 10 * 1000 * 1000};

			nanosleep(&ts, NULL);
		}
		w = waitpid(pid, &status, WNOHANG);
		if (w == pid)
			exited = true;
		else if (w < 0 && errno != EINTR) {
			exited = true; /* reaped elsewhere: treat as exited unknown */
			status = 0;
		}
	}
	/* what is left in the pipe (descendants may still hold it: do not wait for EOF) */
	if (open_out) {
		char buf[4096];

		while ((k = read(out[0], buf, sizeof(buf))) > 0)
			capture(r, buf, (size_t)k);
	}
	close(out[0]);
	/* nothing of the group outlives the command when it was killed */
	if (timed_out)
		kill_group(pid, SIGKILL);
	r->duration_ms = nap_mono_ms() - start;
	if (timed_out) {
		r->how = AGENT_RUN_TIMEOUT;
		r->code = WIFSIGNALED(status) ? WTERMSIG(status) : last_sig;
	} else if (WIFSIGNALED(status)) {
		r->how = AGENT_RUN_SIGNALED;
		r->code = WTERMSIG(status);
	} else {
		r->how = AGENT_RUN_EXITED;
		r->code = WEXITSTATUS(status);
	}
	return 0;
}

void
agent_run_last_line(const struct agent_run_result *r, char *out, size_t cap)
{
	size_t end = r->output_len, begin;

	if (cap == 0)
		return;
	out[0] = '\0';
	while (end > 0 && isspace((unsigned char)r->output[end - 1]))
		end--;
	begin = end;
	while (begin > 0 && r->output[begin - 1] != '\n' && r->output[begin - 1] != '\r')
		begin--;
	if (end > begin)
		nap_escape((const uint8_t *)r->output + begin, end - begin, out, cap);
}

/* Log the captured output line by line at debug level. */
static void
log_output(const char *what, const struct agent_run_result *r)
{
	const char *p = r->output, *end = r->output + r->output_len;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
		char line[512];

		if (n > 0) {
			nap_escape((const uint8_t *)p, n, line, sizeof(line));
			log_debug("%s: %s", what, line);
		}
		p += n + 1;
	}
}

/* Describe how a run ended, for the one-line message. */
static void
describe(const char *prog, const struct agent_run_result *r, char *out, size_t cap)
{
	char last[256];

	agent_run_last_line(r, last, sizeof(last));
	switch (r->how) {
	case AGENT_RUN_EXITED:
		snprintf(out, cap, "%s exited %d%s%s", prog, r->code, last[0] ? ": " : "", last);
		break;
	case AGENT_RUN_SIGNALED:
		snprintf(out, cap, "%s killed by signal %d%s%s", prog, r->code, last[0] ? ": " : "",
			 last);
		break;
	case AGENT_RUN_TIMEOUT:
		snprintf(out, cap, "%s timed out after %" PRId64 " ms (killed)%s%s", prog,
			 r->duration_ms, last[0] ? ": " : "", last);
		break;
	case AGENT_RUN_NOT_STARTED:
		snprintf(out, cap, "%s could not be started: %s", prog, strerror(r->exec_errno));
		break;
	}
}

/* Run one configured command with extra arguments. Fills run; returns agent_run()'s code. */
static int
run_configured(const struct agent_remediation_conf *c, const char *line,
	       const char *const *extra, size_t n_extra, struct agent_run_result *run)
{
	char buf[AGENT_REMEDIATION_CMD_MAX];
	char *argv[AGENT_REMEDIATION_MAX_ARGS + 1024 + 1];
	size_t i;
	int n;

	n = agent_remediation_split(line, buf, sizeof(buf), argv, AGENT_REMEDIATION_MAX_ARGS);
	if (n <= 0 || argv[0][0] != '/')
		return -EINVAL;
	for (i = 0; i < n_extra; i++)
		argv[n++] = (char *)extra[i];
	argv[n] = NULL;
	return agent_run(argv, (const char (*)[AGENT_REMEDIATION_ENV_MAX])c->env, c->n_env,
			 c->timeout * 1000, run);
}

static void
program_name(const char *line, char *out, size_t cap)
{
	char buf[AGENT_REMEDIATION_CMD_MAX];
	char *argv[AGENT_REMEDIATION_MAX_ARGS];

	if (agent_remediation_split(line, buf, sizeof(buf), argv, NAP_ARRAY_SIZE(argv)) > 0)
		snprintf(out, cap, "%s", argv[0]);
	else
		snprintf(out, cap, "(none)");
}

/* "a b c" (shortened with ", ..." when long). */
static void
join_names(const char *const *names, size_t n, char *out, size_t cap)
{
	size_t i, o = 0;

	out[0] = '\0';
	for (i = 0; i < n; i++) {
		size_t l = strlen(names[i]);

		if (o + l + 6 >= cap) {
			snprintf(out + o, cap - o, "%s...", o ? " " : "");
			return;
		}
		o += (size_t)snprintf(out + o, cap - o, "%s%s", o ? " " : "", names[i]);
	}
}

int
agent_remediate(const struct agent_remediation_conf *c, const char *const *packages, size_t n,
		struct agent_remediation_result *res)
{
	struct agent_run_result *run;
	char prog[256], how[400], names[160];
	int64_t start = nap_mono_ms();
	size_t i, done;
	int r;

	memset(res, 0, sizeof(*res));
	res->update_status = -1;
	if (!c->enabled) {
		res->status = AGENT_REMEDIATION_DISABLED;
		snprintf(res->message, sizeof(res->message), "remediation disabled");
		return 1;
	}
	if (n == 0) {
		res->status = AGENT_REMEDIATION_NOTHING;
		snprintf(res->message, sizeof(res->message), "nothing to install");
		return 1;
	}
	for (i = 0; i < n; i++) {
		if (packages[i] == NULL || !agent_remediation_package_ok(packages[i])) {
			char esc[AGENT_REMEDIATION_PKG_MAX * 4];

			nap_escape((const uint8_t *)(packages[i] ? packages[i] : ""),
				   packages[i] ? strnlen(packages[i], AGENT_REMEDIATION_PKG_MAX) : 0,
				   esc, sizeof(esc));
			res->status = AGENT_REMEDIATION_BAD_PACKAGE;
			snprintf(res->message, sizeof(res->message),
				 "refused to install '%.300s': not a valid package name", esc);
			log_warnx("remediation: %s", res->message);
			return -EINVAL;
		}
	}
	run = calloc(1, sizeof(*run));
	if (run == NULL) {
		res->status = AGENT_REMEDIATION_EXEC_FAILED;
		snprintf(res->message, sizeof(res->message), "out of memory");
		return -ENOMEM;
	}

	if (c->update_command[0] != '\0') {
		program_name(c->update_command, prog, sizeof(prog));
		r = run_configured(c, c->update_command, NULL, 0, run);
		log_output("remediation update", run);
		if (r < 0 || run->how != AGENT_RUN_EXITED || run->code != 0) {
			if (r < 0) {
				if (r != -ENOEXEC)
					run->exec_errno = -r;
				run->how = AGENT_RUN_NOT_STARTED;
			}
			describe(prog, run, how, sizeof(how));
			res->update_failed = true;
			res->update_status = r < 0 ? -1 :
					     run->how == AGENT_RUN_EXITED ? run->code :
									   128 + run->code;
			log_warnx("remediation: update step failed (install goes on): %s", how);
		} else {
			res->update_status = 0;
		}
	}

	program_name(c->install_command, prog, sizeof(prog));
	res->status = AGENT_REMEDIATION_OK;
	for (done = 0; done < n;) {
		size_t batch = n - done;

		if (batch > c->max_packages)
			batch = c->max_packages;
		join_names(packages + done, batch, names, sizeof(names));
		log_info("remediation: installing %s", names);
		r = run_configured(c, c->install_command, packages + done, batch, run);
		log_output("remediation install", run);
		if (r < 0) {
			if (r != -ENOEXEC)
				run->exec_errno = -r;
			run->how = AGENT_RUN_NOT_STARTED;
			res->status = AGENT_REMEDIATION_EXEC_FAILED;
		} else if (run->how == AGENT_RUN_TIMEOUT) {
			res->status = AGENT_REMEDIATION_TIMEOUT;
		} else if (run->how == AGENT_RUN_SIGNALED) {
			res->status = AGENT_REMEDIATION_SIGNALED;
		} else if (run->code != 0) {
			res->status = AGENT_REMEDIATION_FAILED;
		}
		if (res->status != AGENT_REMEDIATION_OK) {
			describe(prog, run, how, sizeof(how));
			res->exit_status = res->status == AGENT_REMEDIATION_EXEC_FAILED ? 0 : run->code;
			snprintf(res->message, sizeof(res->message), "install of %.150s failed: %.300s", names,
				 how);
			break;
		}
		res->n_installed += batch;
		done += batch;
	}
	memcpy(res->output, run->output, run->output_len + 1);
	res->output_len = run->output_len;
	res->output_truncated = run->output_truncated;
	free(run);
	res->duration_ms = nap_mono_ms() - start;

	switch (res->status) {
	case AGENT_REMEDIATION_OK:
		join_names(packages, n, names, sizeof(names));
		snprintf(res->message, sizeof(res->message), "installed %s in %" PRId64 " ms%s",
			 names, res->duration_ms,
			 res->update_failed ? " (the update step failed)" : "");
		log_info("remediation: %s", res->message);
		return 0;
	case AGENT_REMEDIATION_EXEC_FAILED:
		log_warnx("remediation: %s", res->message);
		return -ENOEXEC;
	case AGENT_REMEDIATION_TIMEOUT:
		log_warnx("remediation: %s", res->message);
		return -ETIMEDOUT;
	default:
		log_warnx("remediation: %s", res->message);
		return -EIO;
	}
}
