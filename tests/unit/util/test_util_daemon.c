// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * The start-up helpers napsited and napvd share: nap_read_secret_file (the size bound with and
 * without a trailing CRLF, the mode it reports when it refuses), nap_drop_privileges (in a
 * child: every uid is the user's and root does not come back) and nap_write_pidfile. The
 * callers' own wording is tested with them (test_siteconf.c, napvd/test_config.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "nap/util.h"

static void
write_file(const char *path, const char *p, size_t n, mode_t mode)
{
	int fd;

	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, p, n), (ssize_t)n);
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

static void
test_secret_bounds(void **state)
{
	char dir[] = "/tmp/test_util_secret_XXXXXX", path[128], err[256];
	char *out = NULL;
	unsigned mode = 0;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/secret", dir);

	/* Exactly max bytes, with or without the newline. */
	write_file(path, "12345678\r\n", 10, 0600);
	assert_int_equal(nap_read_secret_file(path, 8, &out, NULL, err, sizeof(err)), 0);
	assert_string_equal(out, "12345678");
	free(out);
	write_file(path, "12345678", 8, 0400);
	assert_int_equal(nap_read_secret_file(path, 8, &out, NULL, err, sizeof(err)), 0);
	assert_string_equal(out, "12345678");
	free(out);
	/* One byte more, or more after a CRLF that fills the bound: too long, not cut short. */
	write_file(path, "123456789\n", 10, 0600);
	assert_int_equal(nap_read_secret_file(path, 8, &out, NULL, err, sizeof(err)), -EFBIG);
	assert_null(out);
	assert_non_null(strstr(err, "longer than 8 bytes"));
	write_file(path, "12345678\r\nmore", 14, 0600);
	assert_int_equal(nap_read_secret_file(path, 8, &out, NULL, err, sizeof(err)), -EFBIG);
	assert_null(out);

	/* The refusal reports the mode; the message never holds the secret or the path. */
	write_file(path, "s3cret\n", 7, 0620);
	assert_int_equal(nap_read_secret_file(path, 8, &out, &mode, err, sizeof(err)), -EPERM);
	assert_null(out);
	assert_int_equal(mode, 0620);
	assert_non_null(strstr(err, "mode 0620 lets group or other read it"));
	assert_null(strstr(err, "s3cret"));
	assert_null(strstr(err, dir));

	assert_int_equal(nap_read_secret_file(path, 0, &out, NULL, err, sizeof(err)), -EINVAL);
	unlink(path);
	rmdir(dir);
}

static void
test_drop_privileges(void **state)
{
	struct passwd *nobody = getpwnam("nobody");
	char err[256];
	pid_t pid;
	int status;

	(void)state;
	assert_int_equal(nap_drop_privileges("no-such-user-nap", err, sizeof(err)), -ENOENT);
	assert_string_equal(err, "user no-such-user-nap: no such user");
	if (geteuid() != 0) {
		struct passwd *me = getpwuid(geteuid());

		/* Not root: only "already that user" works. */
		if (me != NULL)
			assert_int_equal(nap_drop_privileges(me->pw_name, err, sizeof(err)), 1);
		if (nobody != NULL && nobody->pw_uid != geteuid()) {
			assert_int_equal(nap_drop_privileges("nobody", err, sizeof(err)), -EPERM);
			assert_non_null(strstr(err, "not running as root"));
		}
		skip();
	}
	if (nobody == NULL)
		skip();
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		uid_t ru, eu, su;
		gid_t rg, eg, sg, groups[4];
		int n;

		if (nap_drop_privileges("nobody", err, sizeof(err)) != 0)
			_exit(10);
		if (getresuid(&ru, &eu, &su) < 0 || ru != nobody->pw_uid || eu != nobody->pw_uid ||
		    su != nobody->pw_uid)
			_exit(11);
		if (getresgid(&rg, &eg, &sg) < 0 || rg != nobody->pw_gid || eg != nobody->pw_gid ||
		    sg != nobody->pw_gid)
			_exit(12);
		n = getgroups((int)NAP_ARRAY_SIZE(groups), groups);
		if (n != 1 || groups[0] != nobody->pw_gid)
			_exit(13);
		if (setuid(0) == 0 || seteuid(0) == 0)
			_exit(14);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void
test_pidfile(void **state)
{
	char dir[] = "/tmp/test_util_pid_XXXXXX", path[128], want[32];
	uint8_t *got = NULL;
	size_t len = 0;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/x.pid", dir);
	assert_int_equal(nap_write_pidfile(path), 0);
	assert_int_equal(nap_read_file(path, 64, &got, &len), 0);
	snprintf(want, sizeof(want), "%ld\n", (long)getpid());
	assert_int_equal(len, strlen(want));
	assert_memory_equal(got, want, len);
	free(got);
	unlink(path);
	rmdir(dir);
}

/* The line checks every configuration file gets before the INI reader. */
static void
test_conf_text_check(void **state)
{
	char why[64], big[300];
	int line = 0;

	(void)state;
	assert_int_equal(nap_conf_text_check("[a]\r\nk = v\tw\n\n; \xc3\xa9\n", 197, &line, why,
					     sizeof(why)),
			 0);
	assert_int_equal(nap_conf_text_check("", 197, &line, why, sizeof(why)), 0);
	assert_int_equal(nap_conf_text_check("[a]\nk = v\v\n", 197, &line, why, sizeof(why)),
			 -EINVAL);
	assert_int_equal(line, 2);
	assert_string_equal(why, "control character 0x0b");
	assert_int_equal(nap_conf_text_check("k = a\rb", 197, &line, why, sizeof(why)), -EINVAL);
	assert_int_equal(line, 1);
	assert_int_equal(nap_conf_text_check("a\nb\nc\x7f", 197, &line, why, sizeof(why)),
			 -EINVAL);
	assert_int_equal(line, 3);
	assert_string_equal(why, "control character 0x7f");
	/* exactly the limit passes (a CR before the LF not counted), one more does not */
	memset(big, 'x', sizeof(big));
	memcpy(big + 197, "\r\n", 3);
	assert_int_equal(nap_conf_text_check(big, 197, &line, why, sizeof(why)), 0);
	memset(big, 'x', sizeof(big));
	big[198] = '\0';
	assert_int_equal(nap_conf_text_check(big, 197, &line, why, sizeof(why)), -E2BIG);
	assert_int_equal(line, 1);
	assert_string_equal(why, "longer than 197 characters");
}

/* Stale temporary files of puts: only ".PREFIX*.tmp" regular files older than the bound. */
static void
test_sweep_stale_tmp(void **state)
{
	static const char *const names[] = {
		".conf.aaaa.tmp",  /* old, ours: removed */
		".conf.bbbb.tmp",  /* new, ours: stays */
		".other.cccc.tmp", /* old, another prefix: stays with "conf", goes with "" */
		"conf.dddd.tmp",   /* no leading dot: never */
		".conf.eeee.tmpx", /* not .tmp: never */
		".tmp",            /* too short: never */
	};
	char dir[] = "/tmp/test_util_sweep_XXXXXX", path[160];
	struct timespec old[2] = {{.tv_sec = 1000000}, {.tv_sec = 1000000}};
	struct stat st;

	(void)state;
	assert_non_null(mkdtemp(dir));
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		close(open(path, O_WRONLY | O_CREAT, 0600));
		if (i != 1)
			assert_int_equal(utimensat(AT_FDCWD, path, old, 0), 0);
	}
	/* an old directory and an old symbolic link with the right names: never */
	snprintf(path, sizeof(path), "%s/.conf.ffff.tmp", dir);
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(utimensat(AT_FDCWD, path, old, 0), 0);
	snprintf(path, sizeof(path), "%s/.conf.gggg.tmp", dir);
	assert_int_equal(symlink("/nonexistent", path), 0);
	assert_int_equal(utimensat(AT_FDCWD, path, old, AT_SYMLINK_NOFOLLOW), 0);

	assert_int_equal(nap_sweep_stale_tmp(dir, "conf", 2000000, "test"), 1);
	snprintf(path, sizeof(path), "%s/.conf.aaaa.tmp", dir);
	assert_int_not_equal(stat(path, &st), 0);
	snprintf(path, sizeof(path), "%s/.conf.bbbb.tmp", dir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(nap_sweep_stale_tmp(dir, "", 2000000, "test"), 1); /* .other */
	assert_int_equal(nap_sweep_stale_tmp(dir, "", 2000000, "test"), 0);
	assert_int_equal(nap_sweep_stale_tmp("/nonexistent-dir", "", 0, "test"), -ENOENT);

	static const char *const left[] = {".conf.bbbb.tmp", "conf.dddd.tmp", ".conf.eeee.tmpx",
					   ".tmp", ".conf.gggg.tmp"};
	for (size_t i = 0; i < sizeof(left) / sizeof(left[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, left[i]);
		assert_int_equal(lstat(path, &st), 0);
		assert_int_equal(unlink(path), 0);
	}
	snprintf(path, sizeof(path), "%s/.conf.ffff.tmp", dir);
	assert_int_equal(rmdir(path), 0);
	assert_int_equal(rmdir(dir), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_secret_bounds),
		cmocka_unit_test(test_drop_privileges),
		cmocka_unit_test(test_pidfile),
		cmocka_unit_test(test_sweep_stale_tmp),
		cmocka_unit_test(test_conf_text_check),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
