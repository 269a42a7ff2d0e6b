// SPDX-License-Identifier: GPL-3.0-or-later
/* Unit tests for napvd's status spool: record format and escaping, group commit, the spool_max
 * bound, preallocation, the sync thread (records in the file before their sync, durable only
 * after it), and recovery of torn, corrupt or stale tails after a crash, including appending
 * afterwards. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <poll.h>
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
#include "fake_sync.h"
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

/* Lines up to the first NUL byte must all be JSON; everything after it must be zero. */
static size_t
count_valid_lines(const char *p)
{
	uint8_t *buf;
	size_t len, lines = 0, start = 0, end;

	assert_int_equal(nap_read_file(p, 1 << 26, &buf, &len), 0);
	end = len;
	for (size_t i = 0; i < len; i++) {
		if (buf[i] == '\0') {
			end = i;
			break;
		}
	}
	for (size_t i = end; i < len; i++)
		assert_int_equal(buf[i], 0);
	for (size_t i = 0; i < end; i++) {
		if (buf[i] != '\n')
			continue;
		json_error_t jerr;
		json_t *j = json_loadb((const char *)buf + start, i - start, 0, &jerr);

		assert_non_null(j);
		json_decref(j);
		lines++;
		start = i + 1;
	}
	assert_int_equal(start, end); /* no partial line */
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
	/* Nothing is in the file before the commit, which is preallocated already. */
	assert_int_equal(count_valid_lines(path), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal((uint64_t)st.st_size, sp.alloc);
	assert_true(sp.alloc >= 4096);
	assert_int_equal(napvd_spool_commit(&sp, &m), 0);
	assert_int_equal(m.spool_records, 10);
	assert_int_equal(m.spool_syncs, 1);
	assert_int_equal(sp.written, 10);
	assert_int_equal(sp.durable, 10);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal((uint64_t)st.st_size, sp.alloc);
	assert_true(sp.size > 10 * 100 && sp.size < sp.alloc);
	assert_int_equal(count_valid_lines(path), 10);
	/* An empty commit does not sync. */
	assert_int_equal(napvd_spool_commit(&sp, &m), 0);
	assert_int_equal(m.spool_syncs, 1);
	napvd_spool_close(&sp);
}

/* The file grows in chunks ahead of the records, never past spool_max. */
static void
test_preallocation(void **state)
{
	static struct napvd_spool sp;
	struct napvd_metrics m = {0};
	struct napvd_spool_record r = record("host-p", 2);
	uint64_t cut, first;
	struct stat st;
	unsigned n = 0;

	(void)state;
	assert_int_equal(napvd_spool_open(&sp, dir, 3 * NAPVD_SPOOL_CHUNK, &cut), 0);
	first = sp.alloc;
	assert_int_equal(first, NAPVD_SPOOL_CHUNK);
	assert_int_equal(sp.size, 0);
	/* Past half of the first chunk the next one is zero-filled ahead. */
	while (sp.size < NAPVD_SPOOL_CHUNK / 2 + 1) {
		assert_int_equal(napvd_spool_append(&sp, &r, &m), 0);
		assert_int_equal(napvd_spool_write(&sp, &m), 0);
		n++;
	}
	assert_int_equal(sp.alloc, 2 * NAPVD_SPOOL_CHUNK);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal((uint64_t)st.st_size, sp.alloc);
	/* Up to the maximum and no further. */
	while (napvd_spool_append(&sp, &r, &m) == 0) {
		assert_int_equal(napvd_spool_write(&sp, &m), 0);
		n++;
	}
	assert_int_equal(sp.alloc, 3 * NAPVD_SPOOL_CHUNK);
	assert_true(sp.size <= sp.max);
	assert_int_equal(m.spool_overflow, 1);
	assert_int_equal(napvd_spool_commit(&sp, &m), 0);
	assert_int_equal(m.spool_records, n);
	napvd_spool_close(&sp);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal((uint64_t)st.st_size, 3 * NAPVD_SPOOL_CHUNK);
	assert_int_equal(count_valid_lines(path), n);
	/* Reopening finds the logical end inside the preallocated file. */
	assert_int_equal(napvd_spool_open(&sp, dir, 3 * NAPVD_SPOOL_CHUNK, &cut), 0);
	assert_int_equal(cut, 0);
	assert_int_equal(sp.alloc, 3 * NAPVD_SPOOL_CHUNK);
	assert_true(sp.size > sp.max - NAPVD_SPOOL_RECORD_MAX);
	napvd_spool_close(&sp);
}

/* A sync function the test controls: it blocks until released and remembers what it saw. */
static int
fake_sync(int fd)
{
	/* The records must already be in the file when their sync starts. */
	(void)fd;
	fake_gate(count_valid_lines(path));
	return 0;
}

static bool
readable(int fd, int timeout_ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};

	return poll(&p, 1, timeout_ms) == 1;
}

static void
test_sync_thread(void **state)
{
	static struct napvd_spool sp;
	struct napvd_metrics m = {0};
	struct napvd_spool_record r = record("host-s", 3);
	uint64_t cut;
	int efd;

	(void)state;
	fake_released = fake_calls = 0;
	assert_int_equal(napvd_spool_open(&sp, dir, 1 << 20, &cut), 0);
	assert_int_equal(napvd_spool_sync_start(&sp, fake_sync, true), 0);
	efd = napvd_spool_sync_fd(&sp);
	assert_true(efd >= 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(napvd_spool_append(&sp, &r, &m), 0);
	assert_int_equal(napvd_spool_write(&sp, &m), 0);
	/* Written (a crash of napvd keeps them), not yet durable. */
	assert_int_equal(count_valid_lines(path), 3);
	assert_int_equal(sp.written, 3);
	napvd_spool_sync_request(&sp);
	/* Group commit: more records while the first sync is in flight wait for the next one. */
	while (fake_count() == 0)
		usleep(1000);
	assert_int_equal(napvd_spool_append(&sp, &r, &m), 0);
	assert_int_equal(napvd_spool_write(&sp, &m), 0);
	napvd_spool_sync_request(&sp);
	assert_false(readable(efd, 50));
	assert_int_equal(napvd_spool_sync_poll(&sp, &m), 0);
	assert_int_equal(m.spool_records, 0);
	fake_release();
	assert_true(readable(efd, 2000));
	assert_int_equal(napvd_spool_sync_poll(&sp, &m), 3);
	assert_int_equal(fake_lines_seen[0], 3);
	assert_int_equal(m.spool_records, 3);
	assert_int_equal(m.replies_durable, 3);
	/* The second sync started by itself for the fourth record. */
	while (fake_count() < 2)
		usleep(1000);
	assert_int_equal(fake_lines_seen[1], 4);
	fake_release();
	assert_true(readable(efd, 2000));
	assert_int_equal(napvd_spool_sync_poll(&sp, &m), 4);
	assert_int_equal(m.spool_syncs, 2);
	assert_int_equal(m.spool_records, 4);
	napvd_spool_close(&sp);
	assert_int_equal(count_valid_lines(path), 4);
}

/* A failing sync is counted and does not stall the records behind it. */
static int
failing_sync(int fd)
{
	(void)fd;
	return -EIO;
}

static void
test_sync_error(void **state)
{
	static struct napvd_spool sp;
	struct napvd_metrics m = {0};
	struct napvd_spool_record r = record("host-e", 3);
	uint64_t cut;

	(void)state;
	assert_int_equal(napvd_spool_open(&sp, dir, 1 << 20, &cut), 0);
	assert_int_equal(napvd_spool_sync_start(&sp, failing_sync, false), 0);
	assert_int_equal(napvd_spool_append(&sp, &r, &m), 0);
	assert_int_equal(napvd_spool_commit(&sp, &m), 0);
	assert_int_equal(sp.durable, 1);
	assert_int_equal(m.spool_errors, 1);
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
write_at(uint64_t off, const void *p, size_t n)
{
	int fd = open(path, O_WRONLY);

	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, p, n, (off_t)off), (ssize_t)n);
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
	write_at(sp.size, torn, sizeof(torn) - 1);
	reopen_expect(sizeof(torn) - 1, 2);
}

static void
test_recover_zero_tail(void **state)
{
	static const char good[] = "{\"a\":1}\n{\"b\":2}\n";
	static const uint8_t zeros[512];

	(void)state;
	/* The preallocated region, or a file system that extended the size before the data
	 * landed: zeros are free space, nothing is cut. */
	write_raw(good, sizeof(good) - 1);
	write_raw(zeros, sizeof(zeros));
	reopen_expect(0, 2);
}

static void
test_recover_stale_after_zeros(void **state)
{
	static const char good[] = "{\"a\":1}\n{\"b\":2}\n";
	static const char stale[] = "{\"old\":1}\n{\"old\":2}\n";
	static const uint8_t zeros[4096];

	(void)state;
	/* A power loss lost one block but kept a later one: the later records must not come
	 * back once new records fill the gap, so they are zeroed. */
	write_raw(good, sizeof(good) - 1);
	write_raw(zeros, 100);
	write_raw(stale, sizeof(stale) - 1);
	write_raw(zeros, sizeof(zeros));
	reopen_expect(100 + sizeof(stale) - 1, 2);
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
		cmocka_unit_test_setup_teardown(test_preallocation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sync_thread, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sync_error, setup, teardown),
		cmocka_unit_test_setup_teardown(test_recover_torn_tail, setup, teardown),
		cmocka_unit_test_setup_teardown(test_recover_zero_tail, setup, teardown),
		cmocka_unit_test_setup_teardown(test_recover_stale_after_zeros, setup, teardown),
		cmocka_unit_test_setup_teardown(test_recover_corrupt_middle, setup, teardown),
		cmocka_unit_test_setup_teardown(test_recover_clean, setup, teardown),
		cmocka_unit_test(test_open_missing_dir),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
