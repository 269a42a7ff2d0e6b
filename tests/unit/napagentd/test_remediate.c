// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * Unit tests for napagentd's remediation module: the [remediation] keys, the command-line
 * splitter, package-name checks, and the command runner for real (fork + exec of /bin and
 * /usr/bin programs): output capture and its bound, the controlled environment, no inherited
 * descriptors, stdin from /dev/null, exit codes, exec failures, the timeout with kill, and
 * agent_remediate()'s steps, batches and one-line messages.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "remediate.h"

static void
test_split(void **state)
{
	char buf[256], *argv[8];

	(void)state;
	assert_int_equal(agent_remediation_split("  /usr/bin/apt-get -y\t-q install ", buf,
						 sizeof(buf), argv, 8), 4);
	assert_string_equal(argv[0], "/usr/bin/apt-get");
	assert_string_equal(argv[3], "install");
	assert_null(argv[4]);
	assert_int_equal(agent_remediation_split("/bin/x \"a b\" \"q\\\"x\" c\"d e\"f \"\"", buf,
						 sizeof(buf), argv, 8), 5);
	assert_string_equal(argv[1], "a b");
	assert_string_equal(argv[2], "q\"x");
	assert_string_equal(argv[3], "cd ef");
	assert_string_equal(argv[4], "");
	assert_int_equal(agent_remediation_split("", buf, sizeof(buf), argv, 8), 0);
	assert_null(argv[0]);
	assert_int_equal(agent_remediation_split("/bin/x \"open", buf, sizeof(buf), argv, 8),
			 -EINVAL);
	/* 8 slots: 7 words and the NULL */
	assert_int_equal(agent_remediation_split("a b c d e f g", buf, sizeof(buf), argv, 8), 7);
	assert_int_equal(agent_remediation_split("a b c d e f g h", buf, sizeof(buf), argv, 8),
			 -EINVAL);
	assert_int_equal(agent_remediation_split("abcdefgh", buf, 8, argv, 8), -EINVAL);
}

static void
test_conf(void **state)
{
	struct agent_remediation_conf c;
	char err[256];

	(void)state;
	agent_remediation_conf_init(&c);
	assert_false(c.enabled);
	assert_string_equal(c.install_command, "/usr/bin/apt-get -y -q install");
	assert_string_equal(c.update_command, "");
	assert_int_equal(c.timeout, 600);
	assert_int_equal(agent_remediation_conf_set(&c, "enabled", "yes", err, sizeof(err)), 0);
	assert_true(c.enabled);
	assert_int_equal(agent_remediation_conf_set(&c, "enabled", "maybe", err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "enabled"));
	assert_int_equal(agent_remediation_conf_set(&c, "install_command", "apt-get install", err,
						    sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "absolute"));
	assert_int_equal(agent_remediation_conf_set(&c, "install_command", "/bin/x \"open", err,
						    sizeof(err)), -EINVAL);
	assert_int_equal(agent_remediation_conf_set(&c, "install_command", "", err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(agent_remediation_conf_set(&c, "update_command", "", err, sizeof(err)),
			 0);
	assert_int_equal(agent_remediation_conf_set(&c, "update_command",
						    "/usr/bin/apt-get -q update", err, sizeof(err)), 0);
	assert_string_equal(c.update_command, "/usr/bin/apt-get -q update");
	assert_int_equal(agent_remediation_conf_set(&c, "timeout", "90s", err, sizeof(err)), 0);
	assert_int_equal(c.timeout, 90);
	assert_int_equal(agent_remediation_conf_set(&c, "timeout", "0", err, sizeof(err)), -EINVAL);
	assert_int_equal(agent_remediation_conf_set(&c, "timeout", "2d", err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(agent_remediation_conf_set(&c, "max_packages", "3", err, sizeof(err)), 0);
	assert_int_equal(c.max_packages, 3);
	assert_int_equal(agent_remediation_conf_set(&c, "max_packages", "-1", err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(agent_remediation_conf_set(&c, "env", "http_proxy=http://p:3128", err,
						    sizeof(err)), 0);
	assert_int_equal(c.n_env, 1);
	assert_int_equal(agent_remediation_conf_set(&c, "env", "novalue", err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(agent_remediation_conf_set(&c, "env", "1X=y", err, sizeof(err)), -EINVAL);
	for (int i = 1; i < AGENT_REMEDIATION_MAX_ENV; i++)
		assert_int_equal(agent_remediation_conf_set(&c, "env", "A=b", err, sizeof(err)), 0);
	assert_int_equal(agent_remediation_conf_set(&c, "env", "A=b", err, sizeof(err)), -EINVAL);
	assert_int_equal(agent_remediation_conf_set(&c, "sources", "x", err, sizeof(err)), 1);
}

static void
test_package_names(void **state)
{
	(void)state;
	assert_true(agent_remediation_package_ok("nap-demo-fix"));
	assert_true(agent_remediation_package_ok("libstdc++6"));
	assert_true(agent_remediation_package_ok("openssl:amd64"));
	assert_true(agent_remediation_package_ok("NetworkManager_x.1"));
	assert_false(agent_remediation_package_ok(""));
	assert_false(agent_remediation_package_ok("-oDir=/tmp"));
	assert_false(agent_remediation_package_ok("--reinstall"));
	assert_false(agent_remediation_package_ok("a b"));
	assert_false(agent_remediation_package_ok("pkg=1.0"));
	assert_false(agent_remediation_package_ok("pkg;rm"));
	assert_false(agent_remediation_package_ok("/etc/passwd"));
	char longname[AGENT_REMEDIATION_PKG_MAX + 1];
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_false(agent_remediation_package_ok(longname));
}

static void
run(struct agent_run_result *r, int64_t timeout_ms, const char *a0, ...)
{
	char *argv[16];
	va_list ap;
	int n = 0;

	argv[n++] = (char *)a0;
	va_start(ap, a0);
	while ((argv[n] = va_arg(ap, char *)) != NULL)
		n++;
	va_end(ap);
	assert_int_equal(agent_run(argv, NULL, 0, timeout_ms, r), 0);
}

static void
test_run_output_and_exit(void **state)
{
	struct agent_run_result *r = calloc(1, sizeof(*r));
	char last[64];

	(void)state;
	run(r, 5000, "/bin/echo", "hello", "world", NULL);
	assert_int_equal(r->how, AGENT_RUN_EXITED);
	assert_int_equal(r->code, 0);
	assert_string_equal(r->output, "hello world\n");
	agent_run_last_line(r, last, sizeof(last));
	assert_string_equal(last, "hello world");
	/* stderr goes into the same capture; the exit status comes back */
	run(r, 5000, "/bin/sh", "-c", "echo out; echo err >&2; exit 7", NULL);
	assert_int_equal(r->how, AGENT_RUN_EXITED);
	assert_int_equal(r->code, 7);
	assert_string_equal(r->output, "out\nerr\n");
	agent_run_last_line(r, last, sizeof(last));
	assert_string_equal(last, "err");
	/* killed by a signal */
	run(r, 5000, "/bin/sh", "-c", "kill -USR1 $$", NULL);
	assert_int_equal(r->how, AGENT_RUN_SIGNALED);
	assert_int_equal(r->code, SIGUSR1);
	/* stdin is /dev/null: cat ends at once */
	run(r, 5000, "/bin/cat", NULL);
	assert_int_equal(r->how, AGENT_RUN_EXITED);
	assert_int_equal(r->output_len, 0);
	free(r);
}

static void
test_run_bounded_output(void **state)
{
	struct agent_run_result *r = calloc(1, sizeof(*r));
	char last[64];

	(void)state;
	run(r, 10000, "/usr/bin/seq", "1", "50000", NULL); /* 288,894 bytes */
	assert_int_equal(r->how, AGENT_RUN_EXITED);
	assert_int_equal(r->code, 0);
	assert_true(r->output_truncated);
	assert_int_equal(r->output_len, AGENT_REMEDIATION_OUTPUT_MAX);
	assert_int_equal(strlen(r->output), AGENT_REMEDIATION_OUTPUT_MAX);
	agent_run_last_line(r, last, sizeof(last));
	assert_string_equal(last, "50000");
	/* the tail is contiguous: the line before the last is 49999 */
	assert_non_null(strstr(r->output, "\n49998\n49999\n50000\n"));
	free(r);
}

static void
test_run_environment(void **state)
{
	struct agent_run_result *r = calloc(1, sizeof(*r));
	const char env[2][AGENT_REMEDIATION_ENV_MAX] = {"NAPT_EXTRA=1", "LC_ALL=C.UTF-8"};
	char *argv[] = {"/usr/bin/env", NULL};

	(void)state;
	setenv("NAPT_SECRET_FROM_PARENT", "leak", 1);
	assert_int_equal(agent_run(argv, env, 2, 5000, r), 0);
	assert_int_equal(r->code, 0);
	assert_non_null(strstr(r->output, "DEBIAN_FRONTEND=noninteractive\n"));
	assert_non_null(strstr(r->output, "PATH=/"));
	assert_non_null(strstr(r->output, "NAPT_EXTRA=1\n"));
	assert_non_null(strstr(r->output, "LC_ALL=C.UTF-8\n")); /* replaced, not doubled */
	assert_null(strstr(r->output, "LC_ALL=C\n"));
	assert_null(strstr(r->output, "NAPT_SECRET_FROM_PARENT"));
	assert_null(strstr(r->output, "HOME="));
	unsetenv("NAPT_SECRET_FROM_PARENT");
	free(r);
}

static void
test_run_no_inherited_fds(void **state)
{
	struct agent_run_result *r = calloc(1, sizeof(*r));
	int fd = open("/dev/null", O_RDONLY); /* not close-on-exec */
	char path[64];

	(void)state;
	assert_true(fd > 2);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	/* test -e on the child's own fd table */
	run(r, 5000, "/usr/bin/test", "-e", path, NULL);
	assert_int_equal(r->how, AGENT_RUN_EXITED);
	assert_int_equal(r->code, 1);
	close(fd);
	/* the child runs in its own process group */
	run(r, 5000, "/bin/sh", "-c", "test \"$(ps -o pgid= -p $$ | tr -d ' ')\" = \"$$\"", NULL);
	assert_int_equal(r->code, 0);
	free(r);
}

static void
test_run_exec_failure(void **state)
{
	struct agent_run_result *r = calloc(1, sizeof(*r));
	char *argv[] = {"/nonexistent/napt-program", NULL};
	char path[] = "/tmp/napt-noexec.XXXXXX";
	char *argv2[] = {path, NULL};
	int fd;

	(void)state;
	assert_int_equal(agent_run(argv, NULL, 0, 5000, r), -ENOEXEC);
	assert_int_equal(r->how, AGENT_RUN_NOT_STARTED);
	assert_int_equal(r->exec_errno, ENOENT);
	/* executable bits but no known format: the kernel refuses it */
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "\x01\x02garbage", 9), 9);
	close(fd);
	assert_int_equal(chmod(path, 0755), 0);
	assert_int_equal(agent_run(argv2, NULL, 0, 5000, r), -ENOEXEC);
	assert_int_equal(r->exec_errno, ENOEXEC);
	unlink(path);
	free(r);
}

static void
test_run_timeout(void **state)
{
	struct agent_run_result *r = calloc(1, sizeof(*r));

	(void)state;
	/* the group is killed: the grandchild sleep does not keep the run alive */
	run(r, 300, "/bin/sh", "-c", "echo started; /bin/sleep 30 & /bin/sleep 30", NULL);
	assert_int_equal(r->how, AGENT_RUN_TIMEOUT);
	assert_int_equal(r->code, SIGTERM);
	assert_true(r->duration_ms >= 300);
	assert_true(r->duration_ms < 4000);
	assert_string_equal(r->output, "started\n");
	/* a command ignoring SIGTERM gets SIGKILL after the grace period */
	run(r, 200, "/bin/sh", "-c", "trap '' TERM; while :; do /bin/sleep 0.1; done", NULL);
	assert_int_equal(r->how, AGENT_RUN_TIMEOUT);
	assert_int_equal(r->code, SIGKILL);
	assert_true(r->duration_ms >= 5000);
	assert_true(r->duration_ms < 9000);
	free(r);
}

static void
test_remediate(void **state)
{
	struct agent_remediation_conf c;
	struct agent_remediation_result *res = calloc(1, sizeof(*res));
	const char *pkgs[] = {"nap-demo-fix", "openssl", "sudo"};
	const char *bad[] = {"ok-pkg", "-o", "x"};
	char err[256];

	(void)state;
	agent_remediation_conf_init(&c);
	assert_int_equal(agent_remediate(&c, pkgs, 3, res), 1);
	assert_int_equal(res->status, AGENT_REMEDIATION_DISABLED);
	c.enabled = true;
	assert_int_equal(agent_remediate(&c, pkgs, 0, res), 1);
	assert_int_equal(res->status, AGENT_REMEDIATION_NOTHING);
	assert_int_equal(agent_remediate(&c, bad, 3, res), -EINVAL);
	assert_int_equal(res->status, AGENT_REMEDIATION_BAD_PACKAGE);
	assert_non_null(strstr(res->message, "'-o'"));

	/* the packages are appended as arguments */
	assert_int_equal(agent_remediation_conf_set(&c, "install_command",
						    "/bin/echo install \"--with space\"", err,
						    sizeof(err)), 0);
	assert_int_equal(agent_remediate(&c, pkgs, 3, res), 0);
	assert_int_equal(res->status, AGENT_REMEDIATION_OK);
	assert_int_equal(res->n_installed, 3);
	assert_string_equal(res->output, "install --with space nap-demo-fix openssl sudo\n");
	assert_non_null(strstr(res->message, "installed nap-demo-fix openssl sudo"));

	/* batches of max_packages: the capture holds the last run */
	c.max_packages = 2;
	assert_int_equal(agent_remediate(&c, pkgs, 3, res), 0);
	assert_int_equal(res->n_installed, 3);
	assert_string_equal(res->output, "install --with space sudo\n");
	c.max_packages = 64;

	/* a failing update step is reported but the install goes on */
	assert_int_equal(agent_remediation_conf_set(&c, "update_command", "/bin/false", err,
						    sizeof(err)), 0);
	assert_int_equal(agent_remediate(&c, pkgs, 1, res), 0);
	assert_true(res->update_failed);
	assert_int_equal(res->update_status, 1);
	assert_non_null(strstr(res->message, "update step failed"));
	assert_int_equal(agent_remediation_conf_set(&c, "update_command", "/bin/true", err,
						    sizeof(err)), 0);
	assert_int_equal(agent_remediate(&c, pkgs, 1, res), 0);
	assert_false(res->update_failed);
	assert_int_equal(res->update_status, 0);

	/* apt-like failure: exit 100 and the last line in the message */
	assert_int_equal(agent_remediation_conf_set(&c, "install_command",
			 "/bin/sh -c \"echo Reading package lists...; "
			 "echo E: Unable to locate package $1 >&2; exit 100\" sh", err,
			 sizeof(err)), 0);
	assert_int_equal(agent_remediate(&c, pkgs, 1, res), -EIO);
	assert_int_equal(res->status, AGENT_REMEDIATION_FAILED);
	assert_int_equal(res->exit_status, 100);
	assert_string_equal(res->message, "install of nap-demo-fix failed: /bin/sh exited 100: "
			    "E: Unable to locate package nap-demo-fix");

	/* command that cannot start */
	assert_int_equal(agent_remediation_conf_set(&c, "install_command", "/nonexistent/apt-get",
						    err, sizeof(err)), 0);
	assert_int_equal(agent_remediate(&c, pkgs, 1, res), -ENOEXEC);
	assert_int_equal(res->status, AGENT_REMEDIATION_EXEC_FAILED);
	assert_non_null(strstr(res->message, "could not be started"));

	/* timeout */
	assert_int_equal(agent_remediation_conf_set(&c, "install_command", "/bin/sleep 20", err,
						    sizeof(err)), 0);
	assert_int_equal(agent_remediation_conf_set(&c, "timeout", "1s", err, sizeof(err)), 0);
	assert_int_equal(agent_remediate(&c, (const char *[]){"5"}, 1, res), -ETIMEDOUT);
	assert_int_equal(res->status, AGENT_REMEDIATION_TIMEOUT);
	assert_non_null(strstr(res->message, "timed out"));
	assert_string_equal(agent_remediation_status_name(res->status), "timeout");
	free(res);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_split),
		cmocka_unit_test(test_conf),
		cmocka_unit_test(test_package_names),
		cmocka_unit_test(test_run_output_and_exit),
		cmocka_unit_test(test_run_bounded_output),
		cmocka_unit_test(test_run_environment),
		cmocka_unit_test(test_run_no_inherited_fds),
		cmocka_unit_test(test_run_exec_failure),
		cmocka_unit_test(test_run_timeout),
		cmocka_unit_test(test_remediate),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
