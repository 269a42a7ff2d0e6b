// SPDX-License-Identifier: GPL-3.0-or-later
/* Unit tests for napvd's status spool: record format and escaping, group commit, the spool_max
 * bound, and recovery of torn or corrupt tails after a crash, including appending afterwards. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "nap/util.h"
#include "napvd.h"

static char dir[64];
static char path[128];

static int
setup(void **state)
{
	(void)state;
	strcpy(dir, "/tmp/napvd-spool-XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(path, sizeof(path), "%s/%s", dir, NAPVD_SPOOL_NAME);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	unlink(path);
	rmdir(dir);
	return 0;
}

static struct napvd_spool_record
record(const char *machine, uint64_t rev)
{
	static const uint8_t corr[NAP_CORRELATION_ID_LEN] = {0xde, 0xad};
	struct napvd_spool_record r = {
		.time = 1764079200, /* 2025-11-25T14:00:00Z */
		.nas = "127.0.0.1",
		.client = "local",
		.machine = (const uint8_t *)machine,
		.machine_len = machine != NULL ? strlen(machine) : 0,
		.site = "S01",
		.result = "noncompliant",
		.branch = "out-of-date",
		.action = "restricted",
		.enforcement = "dhcp",
		.hsr_revision = rev,
		.correlation_id = corr,
	};
	return r;
}

static void
test_format(void **state)
{
	char line[NAPVD_SPOOL_RECORD_MAX];
	/* Quotes, a backslash, a newline and a byte over 0x7f from the client, plus a NUL. */
	static const uint8_t evil[] = "pc\"1\\\n\xff";
	struct napvd_spool_record r = record(NULL, 42);
	json_error_t jerr;
	json_t *j;
	int n;

	(void)state;
	r.machine = evil;
	r.machine_len = sizeof(evil); /* includes the trailing NUL, which is dropped */
	n = napvd_spool_format(&r, line, sizeof(line));
	assert_true(n > 0);
	assert_int_equal(line[n - 1], '\n');
	assert_null(memchr(line, '\n', (size_t)n - 1));
	j = json_loadb(line, (size_t)n, 0, &jerr);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "machine")), "pc\"1\\\n\xc3\xbf");
	assert_string_equal(json_string_value(json_object_get(j, "time")), "2025-11-25T14:00:00Z");
	assert_string_equal(json_string_value(json_object_get(j, "site")), "S01");
	assert_string_equal(json_string_value(json_object_get(j, "branch")), "out-of-date");
	assert_string_equal(json_string_value(json_object_get(j, "action")), "restricted");
	assert_string_equal(json_string_value(json_object_get(j, "nas")), "127.0.0.1");
	assert_int_equal(json_integer_value(json_object_get(j, "hsr_revision")), 42);
	assert_string_equal(json_string_value(json_object_get(j, "correlation_id")),
			    "dead00000000000000000000000000000000000000000000");
	json_decref(j);
	/* Too small a buffer is an error, not a cut record. */
	assert_int_equal(napvd_spool_format(&r, line, 40), -ENOSPC);
}

static size_t
count_valid_lines(const char *p)
{
	uint8_t *buf;
	size_t len, lines = 0, start = 0;

	assert_int_equal(nap_read_file(p, 1 << 24, &buf, &len), 0);
	for (size_t i = 0; i < len; i++) {
		if (buf[i] != '\n')
			continue;
		json_error_t jerr;
		json_t *j = json_loadb((const char *)buf + start, i - start, 0, &jerr);

		assert_non_null(j);
		json_decref(j);
		lines++;
		start = i + 1;
	}
	assert_int_equal(start, len); /* no partial line */
	free(buf);
	return lines;
}

static void
test_group_commit(void **state)
{
	static struct napvd_spool sp;
	struct napvd_metrics m = {0};
	struct napvd_spool_record r = record("host-1", 7);
	uint64_t cut = 1;
	struct stat st;

	(void)state;
	assert_int_equal(napvd_spool_open(&sp, dir, 1 << 20, &cut), 0);
	assert_int_equal(cut, 0);
	for (int i = 0; i < 10; i++)
		assert_int_equal(napvd_spool_append(&sp, &r, &m), 0);
	/* Nothing is on disk before the commit. */
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, 0);
	assert_int_equal(napvd_spool_commit(&sp, &m), 0);
	assert_int_equal(m.spool_records, 10);
	assert_int_equal(m.spool_syncs, 1);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal((uint64_t)st.st_size, sp.size);
	assert_int_equal(count_valid_lines(path), 10);
	/* An empty commit does not sync. */
	assert_int_equal(napvd_spool_commit(&sp, &m), 0);
	assert_int_equal(m.spool_syncs, 1);
	napvd_spool_close(&sp);
}

static void
test_overflow(void **state)
{
	static struct napvd_spool sp;
	struct napvd_metrics m = {0};
	struct napvd_spool_record r = record("host-2", 1);
	uint64_t cut;
	int ok = 0, over = 0;

	(void)state;
	assert_int_equal(napvd_spool_open(&sp, dir, 4096, &cut), 0);
	for (int i = 0; i < 40; i++) {
		int rr = napvd_spool_append(&sp, &r, &m);

		if (rr == 0)
			ok++;
		else if (rr == -ENOSPC)
			over++;
		if (i % 7 == 0)
			napvd_spool_commit(&sp, &m);
	}
	napvd_spool_commit(&sp, &m);
	assert_true(ok > 0 && over > 0);
	assert_int_equal(m.spool_overflow, (uint64_t)over);
	assert_int_equal(m.spool_records, (uint64_t)ok);
	assert_true(sp.size <= 4096);
	assert_int_equal(count_valid_lines(path), (size_t)ok);
	napvd_spool_close(&sp);
}

static void
write_raw(const void *p, size_t n)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, p, n), (ssize_t)n);
	close(fd);
}

static void
reopen_expect(uint64_t want_cut, size_t want_lines)
{
	static struct napvd_spool sp;
	struct napvd_metrics m = {0};
	struct napvd_spool_record r = record("after", 9);
	uint64_t cut = 0;

	assert_int_equal(napvd_spool_open(&sp, dir, 1 << 20, &cut), 0);
	assert_int_equal(cut, want_cut);
	assert_int_equal(count_valid_lines(path), want_lines);
	/* And the spool keeps working after recovery. */
	assert_int_equal(napvd_spool_append(&sp, &r, &m), 0);
	assert_int_equal(napvd_spool_commit(&sp, &m), 0);
	assert_int_equal(count_valid_lines(path), want_lines + 1);
	napvd_spool_close(&sp);
}

static void
test_recover_torn_tail(void **state)
{
	static struct napvd_spool sp;
	struct napvd_metrics m = {0};
	struct napvd_spool_record r = record("host-3", 3);
	static const char torn[] = "{\"time\":\"2025-11-25T14:00:00Z\",\"nas\":\"127.0";
	uint64_t cut;

	(void)state;
	assert_int_equal(napvd_spool_open(&sp, dir, 1 << 20, &cut), 0);
	assert_int_equal(napvd_spool_append(&sp, &r, &m), 0);
	assert_int_equal(napvd_spool_append(&sp, &r, &m), 0);
	assert_int_equal(napvd_spool_commit(&sp, &m), 0);
	napvd_spool_close(&sp); /* the "crash" happens in the middle of the next write */
	write_raw(torn, sizeof(torn) - 1);
	reopen_expect(sizeof(torn) - 1, 2);
}

static void
test_recover_zero_tail(void **state)
{
	static const char good[] = "{\"a\":1}\n{\"b\":2}\n";
	static const uint8_t zeros[512];

	(void)state;
	/* Some file systems extend the size before the data lands: a tail of zeros. */
	write_raw(good, sizeof(good) - 1);
	write_raw(zeros, sizeof(zeros));
	reopen_expect(sizeof(zeros), 2);
}

static void
test_recover_corrupt_middle(void **state)
{
	static const char text[] = "{\"a\":1}\n{\"b\":\x01}\n{\"c\":3}\n";

	(void)state;
	/* Everything from the first bad line on is suspect. */
	write_raw(text, sizeof(text) - 1);
	reopen_expect(sizeof(text) - 1 - 8, 1);
}

static void
test_recover_clean(void **state)
{
	static const char good[] = "{\"a\":1}\n";

	(void)state;
	write_raw(good, sizeof(good) - 1);
	reopen_expect(0, 1);
}

static void
test_open_missing_dir(void **state)
{
	static struct napvd_spool sp;
	uint64_t cut;

	(void)state;
	assert_true(napvd_spool_open(&sp, "/nonexistent/napvd", 4096, &cut) < 0);
	assert_int_equal(sp.fd, -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format),
		cmocka_unit_test_setup_teardown(test_group_commit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_overflow, setup, teardown),
		cmocka_unit_test_setup_teardown(test_recover_torn_tail, setup, teardown),
		cmocka_unit_test_setup_teardown(test_recover_zero_tail, setup, teardown),
		cmocka_unit_test_setup_teardown(test_recover_corrupt_middle, setup, teardown),
		cmocka_unit_test_setup_teardown(test_recover_clean, setup, teardown),
		cmocka_unit_test(test_open_missing_dir),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
