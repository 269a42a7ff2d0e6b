// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * The dpkg status parser: which states count as installed, Multi-Arch duplicates, malformed
 * files (each an error with a line number, never a crash or a shorter list), the streaming file
 * reader against the in-memory parser across chunk boundaries and over-long lines.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "agent.h"

static char tmpdir[] = "/tmp/napagentd-pkgdb-XXXXXX";

static int
setup(void **state)
{
	(void)state;
	return mkdtemp(tmpdir) != NULL ? 0 : -1;
}

static int
teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static void
write_text(const char *path, const char *text, size_t n)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, n, f), n);
	assert_int_equal(fclose(f), 0);
}

static const char *
version_of(const struct agent_pkgdb *db, const char *name)
{
	const struct agent_pkg *p = agent_pkgdb_find(db, name);

	return p != NULL ? agent_pkgdb_str(db, p->version) : NULL;
}

static const char good[] =
	"Package: openssl\n"
	"Status: install ok installed\n"
	"Priority: optional\n"
	"Architecture: amd64\n"
	"Version: 3.0.15-1~deb12u1\n"
	"Description: Secure Sockets Layer toolkit\n"
	" This package contains the openssl binary.\n"
	" .\n"
	" More text.\n"
	"\n"
	"Package: libc6\n"
	"Status: install ok installed\n"
	"Architecture: amd64\n"
	"Multi-Arch: same\n"
	"Version: 2.36-9+deb12u9\n"
	"\n"
	"Package: libc6\n"
	"Status: install ok installed\n"
	"Architecture: i386\n"
	"Multi-Arch: same\n"
	"Version: 2.36-9+deb12u7\n"
	"\n"
	"Package: removed-pkg\n"
	"Status: deinstall ok config-files\n"
	"Architecture: amd64\n"
	"Version: 1.0\n"
	"\n"
	"Package: held\n"
	"Status: hold ok installed\n"
	"Architecture: all\n"
	"Version: 2:1.0\n"
	"\n"
	"package: lower-case-fields\n"
	"status: install ok triggers-pending\n"
	"version: 5\n"
	"\n"
	"Package: half\n"
	"Status: install ok half-configured\n"
	"Version: 1\n"
	"\n"
	"Package: broken\n"
	"Status: install reinstreq installed\n"
	"Version: 1\n"
	"\n"
	"Package: never\n"
	"Status: purge ok not-installed\n"
	"\n\n\n";

static void
test_states(void **state)
{
	struct agent_pkgdb db;
	char err[256];
	const struct agent_pkg *p;

	(void)state;
	assert_int_equal(agent_pkgdb_parse_dpkg(good, strlen(good), &db, err, sizeof(err)), 0);
	assert_int_equal(db.stanzas, 9);
	assert_int_equal(db.n, 5); /* openssl, libc6 x2, held, lower-case-fields */
	assert_string_equal(version_of(&db, "openssl"), "3.0.15-1~deb12u1");
	assert_string_equal(version_of(&db, "held"), "2:1.0");
	assert_string_equal(version_of(&db, "lower-case-fields"), "5");
	assert_null(version_of(&db, "removed-pkg"));
	assert_null(version_of(&db, "half"));
	assert_null(version_of(&db, "broken"));
	assert_null(version_of(&db, "never"));
	assert_null(version_of(&db, "libc"));
	/* Multi-Arch: both instances, in file order. */
	p = agent_pkgdb_find(&db, "libc6");
	assert_non_null(p);
	assert_string_equal(agent_pkgdb_str(&db, p->arch), "amd64");
	p = agent_pkgdb_next(&db, p, "libc6");
	assert_non_null(p);
	assert_string_equal(agent_pkgdb_str(&db, p->arch), "i386");
	assert_string_equal(agent_pkgdb_str(&db, p->version), "2.36-9+deb12u7");
	assert_null(agent_pkgdb_next(&db, p, "libc6"));
	agent_pkgdb_free(&db);

	/* Empty file: no packages, not an error. */
	assert_int_equal(agent_pkgdb_parse_dpkg("", 0, &db, err, sizeof(err)), 0);
	assert_int_equal(db.n, 0);
	assert_null(agent_pkgdb_find(&db, "x"));
	agent_pkgdb_free(&db);
	/* No trailing newline, CRLF. */
	{
		static const char t[] = "Package: a\r\nStatus: install ok installed\r\nVersion: 1\r\n"
					"\r\nPackage: b\nStatus: install ok installed\nVersion: 2";

		assert_int_equal(agent_pkgdb_parse_dpkg(t, strlen(t), &db, err, sizeof(err)), 0);
		assert_string_equal(version_of(&db, "a"), "1");
		assert_string_equal(version_of(&db, "b"), "2");
		agent_pkgdb_free(&db);
	}
}

static void
test_malformed(void **state)
{
	static const struct {
		const char *text;
		const char *msg; /* substring of the error */
	} bad[] = {
		{"Package: a\nStatus: install ok installed\nVersion 1\n", "line 3"},
		{" continuation\n", "outside a stanza"},
		{"Status: install ok installed\nVersion: 1\n", "without a Package"},
		{"Package: a\nVersion: 1\n", "no Status"},
		{"Package: a\nStatus: install ok\nVersion: 1\n", "malformed Status"},
		{"Package: a\nStatus: install ok installed now\nVersion: 1\n", "malformed Status"},
		{"Package: a\nStatus: install fine installed\nVersion: 1\n", "malformed Status"},
		{"Package: a\nStatus: install ok installed\n", "no Version"},
		{"Package: a\nPackage: b\nStatus: install ok installed\nVersion: 1\n", "twice"},
		{"Package: a\nStatus: install ok installed\nVersion: 1\n\n"
		 "Package: a\nStatus: install ok installed\nVersion: 2\n", "installed twice"},
		{"Package: a b\nStatus: install ok installed\nVersion: 1\n", "bad character"},
		{"Package:\nStatus: install ok installed\nVersion: 1\n", "empty"},
		{": x\n", "line 1"},
		{"Pack age: a\n", "bad character"},
	};
	struct agent_pkgdb db;
	char err[256];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		if (agent_pkgdb_parse_dpkg(bad[i].text, strlen(bad[i].text), &db, err,
					   sizeof(err)) != -EBADMSG)
			fail_msg("case %zu accepted", i);
		if (strstr(err, bad[i].msg) == NULL)
			fail_msg("case %zu: \"%s\" lacks \"%s\"", i, err, bad[i].msg);
		assert_null(db.pkgs);
	}
	/* A NUL byte. */
	{
		static const char t[] = "Package: a\0b\nStatus: install ok installed\nVersion: 1\n";

		assert_int_equal(agent_pkgdb_parse_dpkg(t, sizeof(t) - 1, &db, err, sizeof(err)),
				 -EBADMSG);
	}
	/* A value over the field limit. */
	{
		char t[600];

		snprintf(t, sizeof(t), "Package: a\nStatus: install ok installed\nVersion: %0300d\n",
			 1);
		assert_int_equal(agent_pkgdb_parse_dpkg(t, strlen(t), &db, err, sizeof(err)),
				 -EBADMSG);
		assert_non_null(strstr(err, "too long"));
	}
}

static void
test_file(void **state)
{
	char path[256], err[512];
	struct agent_pkgdb db, mem;
	size_t cap = 8u << 20, n = 0;
	char *text = malloc(cap);

	(void)state;
	assert_non_null(text);
	/* Missing file. */
	snprintf(path, sizeof(path), "%s/nope", tmpdir);
	assert_int_equal(agent_pkgdb_read_dpkg(path, &db, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "nope"));

	/* 5,000 stanzas with long descriptions and one 300 KiB continuation line: the chunked
	 * reader and the in-memory parser agree. */
	for (int i = 0; i < 5000; i++) {
		n += (size_t)snprintf(text + n, cap - n,
				      "Package: pkg%d\nStatus: install ok installed\n"
				      "Architecture: amd64\nVersion: %d.%d-%d\n"
				      "Description: package %d\n line one of a longer text\n"
				      " line two of a longer text, which goes on for a while\n\n",
				      i, i / 100, i % 100, i % 7, i);
		if (i == 2500) {
			memcpy(text + n, "Package: longdesc\nStatus: install ok installed\n"
					 "Version: 1\nDescription: x\n ", 71);
			n += 71;
			memset(text + n, 'x', 300 * 1024);
			n += 300 * 1024;
			memcpy(text + n, "\n\n", 2);
			n += 2;
		}
	}
	snprintf(path, sizeof(path), "%s/status", tmpdir);
	write_text(path, text, n);
	assert_int_equal(agent_pkgdb_read_dpkg(path, &db, err, sizeof(err)), 0);
	assert_int_equal(agent_pkgdb_parse_dpkg(text, n, &mem, err, sizeof(err)), 0);
	assert_int_equal(db.n, 5001);
	assert_int_equal(mem.n, 5001);
	for (size_t i = 0; i < db.n; i++) {
		assert_string_equal(agent_pkgdb_str(&db, db.pkgs[i].name),
				    agent_pkgdb_str(&mem, mem.pkgs[i].name));
		assert_string_equal(agent_pkgdb_str(&db, db.pkgs[i].version),
				    agent_pkgdb_str(&mem, mem.pkgs[i].version));
	}
	assert_string_equal(version_of(&db, "pkg4999"), "49.99-1");
	assert_string_equal(version_of(&db, "longdesc"), "1");
	agent_pkgdb_free(&db);
	agent_pkgdb_free(&mem);

	/* An over-long Version line is an error in the file reader too. */
	n = (size_t)snprintf(text, cap, "Package: a\nStatus: install ok installed\nVersion: ");
	memset(text + n, '1', 200 * 1024);
	n += 200 * 1024;
	text[n++] = '\n';
	write_text(path, text, n);
	assert_int_equal(agent_pkgdb_read_dpkg(path, &db, err, sizeof(err)), -EBADMSG);
	assert_non_null(strstr(err, "Version value too long"));
	free(text);

	/* A directory is not a status file. */
	assert_true(agent_pkgdb_read_dpkg(tmpdir, &db, err, sizeof(err)) < 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_states),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_file),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
