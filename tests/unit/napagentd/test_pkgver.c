// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * nap_pkgver_cmp: dpkg semantics (epochs, tildes, revisions, the cases deb-version(5) spells
 * out) checked against a table and, when dpkg is installed, against "dpkg --compare-versions"
 * itself; rpm semantics (rpmvercmp: letters, "~" and "^", epochs and releases) when the build
 * has librpm.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "nap/pkgver.h"

struct vcase {
	const char *a, *b;
	int want; /* sign of a <=> b */
};

static const struct vcase dpkg_cases[] = {
	{"1:0", "2", 1},             /* an epoch outweighs any version */
	{"0:1.0", "1.0", 0},         /* epoch 0 is no epoch */
	{"1.0~rc1", "1.0", -1},      /* tilde sorts before the end */
	{"1.0~rc1", "1.0~rc2", -1},
	{"1.0~~", "1.0~", -1},
	{"1.0~", "1.0", -1},
	{"1.0-1", "1.0", 1},         /* a revision after none */
	{"1.0", "1.0-0", 0},         /* "no revision" equals revision 0 */
	{"1.0-1", "1.0-1", 0},
	{"1.0-1", "1.0-2", -1},
	{"1.0-10", "1.0-9", 1},      /* digits compare as numbers */
	{"1.0a", "1.0", 1},
	{"1.0a", "1.0+", -1},        /* letters before non-letters */
	{"1.0+deb12u1", "1.0", 1},
	{"3.0.15-1~deb12u1", "3.0.15-1", -1},
	{"3.0.15-1~deb12u1", "3.0.11-1~deb12u2", 1},
	{"1.9.13p3-1~deb12u1", "1.9.13p3-1", -1},
	{"2:1.0", "1:9.9", 1},
	{"1.2.3-4-5", "1.2.3-4-4", 1}, /* the last hyphen starts the revision */
	{"007", "7", 0},
	{"1.01", "1.1", 0},
};

static const struct vcase rpm_cases[] = {
	{"1.0a", "1.0", 1},
	{"1.0", "1.0a", -1},
	{"1.0~rc1", "1.0", -1},
	{"1.0^git1", "1.0", 1},      /* caret: after the release it follows ... */
	{"1.0^git1", "1.0.1", -1},   /* ... but before the next version */
	{"1.0^", "1.0~", 1},
	{"1:1.0", "2.0", 1},
	{"1.0-1", "1.0-2", -1},
	{"1.0-2.el9", "1.0-10.el9", -1},
	{"2.0", "2.0", 0},
	{"1.010", "1.10", 0},
	{"a", "1", -1},              /* numbers are newer than letters */
};

static void
check_cases(enum nap_version_scheme s, const struct vcase *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int res = 99, rev = 99;

		if (nap_pkgver_cmp(s, v[i].a, v[i].b, &res) != 0)
			fail_msg("%s vs %s: does not compare", v[i].a, v[i].b);
		assert_int_equal(nap_pkgver_cmp(s, v[i].b, v[i].a, &rev), 0);
		if (res != v[i].want || rev != -v[i].want)
			fail_msg("%s vs %s: got %d / %d, want %d", v[i].a, v[i].b, res, rev,
				 v[i].want);
	}
	nap_pkgver_release();
}

static void
test_dpkg_table(void **state)
{
	(void)state;
	check_cases(NAP_SCHEME_DPKG, dpkg_cases, sizeof(dpkg_cases) / sizeof(dpkg_cases[0]));
}

/* dpkg --compare-versions A lt B: the peer itself. */
static int
dpkg_says(const char *a, const char *op, const char *b)
{
	pid_t pid = fork();
	int st;

	if (pid == 0) {
		int fd = open("/dev/null", 1);

		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execlp("dpkg", "dpkg", "--compare-versions", a, op, b, (char *)NULL);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &st, 0) < 0 || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

static void
test_dpkg_against_dpkg(void **state)
{
	(void)state;
	if (dpkg_says("1", "eq", "1") != 0)
		skip();
	for (size_t i = 0; i < sizeof(dpkg_cases) / sizeof(dpkg_cases[0]); i++) {
		const struct vcase *v = &dpkg_cases[i];
		const char *op = v->want < 0 ? "lt" : v->want > 0 ? "gt" : "eq";

		if (dpkg_says(v->a, op, v->b) != 0)
			fail_msg("dpkg disagrees: %s %s %s", v->a, op, v->b);
	}
}

static void
test_dpkg_invalid(void **state)
{
	static const char *const bad[] = {"", "1:", ":1", "a:1", "-1:1", "1.0-", "1 0", "1.0\t",
					  "1.0-a b", "1.0-1:2", "99999999999:1"};
	int res;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (nap_pkgver_cmp(NAP_SCHEME_DPKG, bad[i], "1.0", &res) != -EINVAL)
			fail_msg("\"%s\" accepted", bad[i]);
	/* dpkg only warns about these (and installs such packages): accepted. */
	assert_int_equal(nap_pkgver_cmp(NAP_SCHEME_DPKG, "abc", "1.0", &res), 0);
	assert_int_equal(res, 1); /* letters sort after the end of a string */
	assert_int_equal(nap_pkgver_cmp(NAP_SCHEME_DPKG, "1.0_1", "1.0", &res), 0);
	/* Overlong. */
	{
		char longv[400];

		memset(longv, '1', sizeof(longv) - 1);
		longv[sizeof(longv) - 1] = '\0';
		assert_int_equal(nap_pkgver_cmp(NAP_SCHEME_DPKG, longv, "1", &res), -EINVAL);
	}
	nap_pkgver_release();
}

static void
test_rpm(void **state)
{
	int res;

	(void)state;
	if (!nap_pkgver_supported(NAP_SCHEME_RPM)) {
		assert_int_equal(nap_pkgver_cmp(NAP_SCHEME_RPM, "1", "2", &res), -ENOTSUP);
		skip();
	}
	check_cases(NAP_SCHEME_RPM, rpm_cases, sizeof(rpm_cases) / sizeof(rpm_cases[0]));
	assert_int_equal(nap_pkgver_cmp(NAP_SCHEME_RPM, "1 0", "1", &res), -EINVAL);
	assert_int_equal(nap_pkgver_cmp(NAP_SCHEME_RPM, "", "1", &res), -EINVAL);
}

/* Many comparisons with a release in between: the libdpkg pool does not grow without bound. */
static void
test_release(void **state)
{
	int res;

	(void)state;
	for (int i = 0; i < 100000; i++) {
		assert_int_equal(nap_pkgver_cmp(NAP_SCHEME_DPKG, "1:2.3.4-5~deb12u1", "2.3.4", &res),
				 0);
		if (i % 1000 == 999)
			nap_pkgver_release();
	}
	assert_int_equal(res, 1);
	nap_pkgver_release();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dpkg_table),  cmocka_unit_test(test_dpkg_against_dpkg),
		cmocka_unit_test(test_dpkg_invalid), cmocka_unit_test(test_rpm),
		cmocka_unit_test(test_release),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
