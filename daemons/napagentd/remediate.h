/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Remediation: install the packages a restricted client is missing with the system package
 * manager, without a shell and without a human.
 *
 * The agent (agent-core) owns when to remediate; this module owns how: it runs the configured
 * commands with fork + execve (argv split from the configuration, never through /bin/sh), in a
 * controlled environment (only PATH, LC_ALL=C, DEBIAN_FRONTEND=noninteractive,
 * APT_LISTCHANGES_FRONTEND=none and NEEDRESTART_MODE=l, plus the `env` entries of the
 * configuration), stdin from /dev/null, stdout and stderr captured together (bounded: the last
 * AGENT_REMEDIATION_OUTPUT_MAX bytes are kept for the log), a timeout after which the command's
 * whole process group gets SIGTERM, then SIGKILL 5 s later.
 *
 * Steps, in order, each only when configured: update_command (e.g. `apt-get -q update`; a
 * failure here is logged and the install still runs: the lists already on disk may be good
 * enough), then install_command with the package names appended as separate arguments
 * (`apt-get -y -q install pkg1 pkg2`; apt-get install of an installed package upgrades it to
 * the candidate version). Package names are those of the policy's required updates; names
 * that are not valid dpkg/rpm package names (or start with '-') are refused (-EINVAL) so a
 * policy can never smuggle an option into the command line.
 *
 * Configuration, section [remediation] of napagentd.conf (agent_remediation_conf_set()):
 *
 *   enabled = yes|no                 default no
 *   install_command = ARGV           default "/usr/bin/apt-get -y -q install"
 *                                    (words split on blanks; "double quotes" group a word with
 *                                    blanks, \" and \\ inside them; argv[0] must be absolute)
 *   update_command = ARGV            default "" (none); e.g. "/usr/bin/apt-get -q update"
 *   timeout = DURATION               per command, default 10m (nap_parse_duration), 1s..24h
 *   env = NAME=VALUE                 repeatable (up to AGENT_REMEDIATION_MAX_ENV), added to or
 *                                    replacing the fixed environment above
 *   max_packages = N                 default 64: more missing packages are installed in
 *                                    several runs of install_command
 *
 * Typical agent-core use:
 *
 *	struct agent_remediation_conf rc;
 *	agent_remediation_conf_init(&rc);                     // defaults
 *	... for each key in [remediation]: agent_remediation_conf_set(&rc, key, value, err, len)
 *	... when restricted and rc.enabled:
 *	struct agent_remediation_result res;
 *	int r = agent_remediate(&rc, names, n, &res);
 *	log_msg(r == 0 ? LOG_INFO : LOG_WARNING, "remediation: %s", res.message);
 *	// r != 0: the next SoH carries failure category client component
 *	// (NAP_FAILURE_CLIENT_COMPONENT); re-evaluate in any case (a partial install counts).
 *
 * agent_remediate() blocks until the commands end (or time out); it installs a SIGCHLD-safe
 * wait on its own child only (waitpid on that PID), so the caller's other children are left
 * alone. It is not thread-safe against concurrent calls.
 */
#ifndef NAPAGENTD_REMEDIATE_H
#define NAPAGENTD_REMEDIATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AGENT_REMEDIATION_CMD_MAX    1024 /* bytes of one configured command line */
#define AGENT_REMEDIATION_MAX_ARGS   64   /* words of one command line */
#define AGENT_REMEDIATION_MAX_ENV    16
#define AGENT_REMEDIATION_ENV_MAX    256  /* bytes of one NAME=VALUE */
#define AGENT_REMEDIATION_OUTPUT_MAX 8192 /* bytes of output kept (the tail) */
#define AGENT_REMEDIATION_PKG_MAX    128  /* bytes of one package name */

struct agent_remediation_conf {
	bool enabled;
	char install_command[AGENT_REMEDIATION_CMD_MAX];
	char update_command[AGENT_REMEDIATION_CMD_MAX]; /* "" = no update step */
	int64_t timeout;                                 /* seconds, per command */
	size_t max_packages;                             /* per install run */
	size_t n_env;
	char env[AGENT_REMEDIATION_MAX_ENV][AGENT_REMEDIATION_ENV_MAX];
};

/* Defaults: disabled, apt-get install, no update step, 10 minutes, 64 packages, no env. */
void agent_remediation_conf_init(struct agent_remediation_conf *c);

/*
 * Apply one key of [remediation]. Returns 0, 1 when key is not a remediation key (the caller
 * reports it), or -EINVAL with a message in err (bad boolean, relative argv[0], unbalanced
 * quote, too many words, bad duration, env without '=' or too many env entries).
 */
int agent_remediation_conf_set(struct agent_remediation_conf *c, const char *key,
			       const char *value, char *err, size_t len);

enum agent_remediation_status {
	AGENT_REMEDIATION_OK = 0,      /* every command ran and exited 0 */
	AGENT_REMEDIATION_DISABLED,    /* enabled = no: nothing ran */
	AGENT_REMEDIATION_NOTHING,     /* no package to install: nothing ran */
	AGENT_REMEDIATION_BAD_PACKAGE, /* a package name was refused: nothing ran */
	AGENT_REMEDIATION_EXEC_FAILED, /* fork/pipe/exec failed (command not found, ...) */
	AGENT_REMEDIATION_FAILED,      /* the install command exited non-zero */
	AGENT_REMEDIATION_SIGNALED,    /* the install command was killed by a signal */
	AGENT_REMEDIATION_TIMEOUT,     /* the install command ran past the timeout and was killed */
};

struct agent_remediation_result {
	enum agent_remediation_status status;
	int exit_status;      /* FAILED: exit code; SIGNALED/TIMEOUT: the signal; else 0 */
	bool update_failed;   /* the update step failed (logged; the install still ran) */
	int update_status;    /* its wait status as exit code or 128 + signal, -1 not run/exec */
	size_t n_installed;   /* packages handed to install runs that exited 0 */
	int64_t duration_ms;  /* all steps */
	/* One line for the log, e.g. "install of nap-demo-fix failed: /usr/bin/apt-get exited 100:
	 * E: Unable to locate package nap-demo-fix" (the last non-empty output line). */
	char message[512];
	/* The combined stdout + stderr of the last command run (the tail when longer), with a
	 * NUL after output_len bytes; output_truncated when the head was dropped. */
	char output[AGENT_REMEDIATION_OUTPUT_MAX + 1];
	size_t output_len;
	bool output_truncated;
};

/*
 * Run the remediation for n packages (names without version: the package manager installs its
 * candidate). Returns 0 on AGENT_REMEDIATION_OK, 1 for DISABLED / NOTHING (not a failure), or
 * a negative errno for the failures (-EINVAL bad package or config, -ENOEXEC exec failed, -EIO
 * exit non-zero or signal, -ETIMEDOUT); res is filled in every case. The output is also logged
 * at debug level, line by line.
 */
int agent_remediate(const struct agent_remediation_conf *c, const char *const *packages,
		    size_t n, struct agent_remediation_result *res);

/* "ok", "disabled", "nothing", "bad_package", "exec_failed", "failed", "signaled", "timeout". */
const char *agent_remediation_status_name(enum agent_remediation_status s);

/*
 * The command runner remediation and agent_dhcp_renew() share: fork + execve(argv[0], argv)
 * with the controlled environment above plus env[0..n_env) (NAME=VALUE, replacing a fixed
 * entry of the same name), its own process group, stdin /dev/null, stdout + stderr into one
 * bounded capture (tail kept), killed (group, SIGTERM then SIGKILL after 5 s) past timeout_ms.
 * Returns 0 when the command ran to its end (r->how says how it ended), -ENOEXEC when it could
 * not be started (r->exec_errno says why), or another negative errno (pipe/fork).
 */
enum agent_run_how {
	AGENT_RUN_EXITED = 0, /* r->code = exit status */
	AGENT_RUN_SIGNALED,   /* r->code = signal */
	AGENT_RUN_TIMEOUT,    /* r->code = signal that ended it */
	AGENT_RUN_NOT_STARTED,
};
struct agent_run_result {
	enum agent_run_how how;
	int code;
	int exec_errno;
	int64_t duration_ms;
	char output[AGENT_REMEDIATION_OUTPUT_MAX + 1];
	size_t output_len;
	bool output_truncated;
};
int agent_run(char *const argv[], const char (*env)[AGENT_REMEDIATION_ENV_MAX], size_t n_env,
	      int64_t timeout_ms, struct agent_run_result *r);
/* The last non-empty line of the output (for one-line log messages), into out. */
void agent_run_last_line(const struct agent_run_result *r, char *out, size_t cap);

/*
 * Lower level, exposed for the unit tests: split a command line like the configuration does
 * (words in buf, pointers in argv, NULL-terminated). Returns the word count or -EINVAL.
 */
int agent_remediation_split(const char *line, char *buf, size_t buf_len, char **argv,
			    size_t argv_cap);
/* True when name is a valid package name to pass on a command line ([a-z0-9][a-z0-9+.-]*
 * for dpkg, plus '_' and upper case for rpm; 1..AGENT_REMEDIATION_PKG_MAX-1 bytes). */
bool agent_remediation_package_ok(const char *name);

#endif
