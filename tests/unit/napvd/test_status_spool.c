// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * napvd's status message ids and spool segments (status_spool.c, napvd_spool_status_setup):
 * the instance id made once and kept, the id as the first member of every record and a valid
 * status message (nap_status_msg_parse agrees with the writer), the sequence continuing after
 * a reopen, after rotation into segments and after every file was shipped and removed (from
 * state_dir/shipped), never reused; rotation into spool.<first seq> with whole lines only;
 * spool_max counting the segments.
 */
#include <dirent.h>
#include <errno.h>
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

#include "nap/status.h"
#include "nap/util.h"
#include "napvd.h"

static char dir[64];

static int
setup(void **state)
{
	(void)state;
	strcpy(dir, "/tmp/napvd-sspool-XXXXXX");
	return mkdtemp(dir) == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char p[512];

	(void)state;
	while (d != NULL && (de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
		unlink(p);
	}
	if (d != NULL)
		closedir(d);
	rmdir(dir);
	return 0;
}

static struct napvd_config *
conf(bool ship)
{
	char text[1024];
	struct napvd_config *c = NULL;
	char err[512];

	snprintf(text, sizeof(text),
		 "[napvd]\nstate_dir = %s\n[hsr]\nfile = /h.json\ntrusted_keys = /k.pem\n"
		 "[client a]\naddress = 127.0.0.1\nsecret = s3cret\n%s",
		 dir,
		 ship ? "[status]\nship = smb://127.0.0.1/inbox\ncredentials = /c\n"
			"segment_size = 64K\n"
		      : "");
	if (napvd_config_parse_string(text, "t.conf", &c, err, sizeof(err)) != 0)
		fail_msg("config: %s", err);
	return c;
}

static struct napvd_spool_record
record(unsigned i)
{
	static char machine[32];
	struct napvd_spool_record r = {
		.time = 1764079200,
		.nas = "127.0.0.1",
		.client = "a",
		.site = "S01",
		.result = "compliant",
		.branch = "matches",
		.action = "full",
		.enforcement = "dhcp",
		.hsr_revision = 3,
	};

	snprintf(machine, sizeof(machine), "pc-%u", i);
	r.machine = (const uint8_t *)machine;
	r.machine_len = strlen(machine);
	return r;
}

static void
open_setup(struct napvd_spool *sp, const struct napvd_config *c, uint64_t max)
{
	uint64_t cut;
	char err[512];

	assert_int_equal(napvd_spool_open(sp, dir, max, &cut), 0);
	if (napvd_spool_status_setup(sp, dir, c, err, sizeof(err)) != 0)
		fail_msg("setup: %s", err);
}

static char *
slurp(const char *name, size_t *len)
{
	char p[512];
	uint8_t *buf;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	if (nap_read_file(p, 64 << 20, &buf, len) != 0)
		return NULL;
	return (char *)buf;
}

/* Every whole line of a spool file parses as a status message; returns their sequences. */
static size_t
check_file(const char *name, const char *inst, uint64_t *first, uint64_t *last)
{
	size_t len, n = 0;
	char *buf = slurp(name, &len);
	char why[256];

	assert_non_null(buf);
	*first = *last = 0;
	for (size_t off = 0; off < len && buf[off] != '\0';) {
		char *nl = memchr(buf + off, '\n', len - off);
		struct nap_status_msg m;

		assert_non_null(nl);
		if (nap_status_msg_parse(buf + off, (size_t)(nl - (buf + off)), &m, why,
					 sizeof(why)) != 0)
			fail_msg("%s: %s", name, why);
		assert_string_equal(m.napvd, inst);
		assert_memory_equal(buf + off, "{\"id\":\"", 7); /* the first member */
		if (*first == 0)
			*first = m.seq;
		else
			assert_int_equal(m.seq, *last + 1);
		*last = m.seq;
		n++;
		off = (size_t)(nl - buf) + 1;
	}
	free(buf);
	return n;
}

static void
test_ids(void **state)
{
	static struct napvd_spool sp;
	struct napvd_config *c = conf(false);
	struct napvd_metrics m = {0};
	char inst[17], *text;
	size_t len;
	uint64_t first, last;

	(void)state;
	open_setup(&sp, c, 1 << 20);
	assert_int_equal(strlen(sp.instance), 16);
	memcpy(inst, sp.instance, 17);
	assert_int_equal(sp.seq_next, 1);
	for (unsigned i = 0; i < 5; i++) {
		struct napvd_spool_record r = record(i);

		assert_int_equal(napvd_spool_append(&sp, &r, &m), 0);
	}
	assert_int_equal(napvd_spool_commit(&sp, &m), 0);
	napvd_spool_close(&sp);
	assert_int_equal(check_file(NAPVD_SPOOL_NAME, inst, &first, &last), 5);
	assert_int_equal(first, 1);
	assert_int_equal(last, 5);
	text = slurp(NAPVD_INSTANCE_NAME, &len);
	assert_int_equal(len, 17);
	assert_memory_equal(text, inst, 16);
	free(text);
	/* reopened: same instance, the sequence goes on */
	open_setup(&sp, c, 1 << 20);
	assert_string_equal(sp.instance, inst);
	assert_int_equal(sp.seq_next, 6);
	napvd_spool_close(&sp);
	/* the spool gone (shipped and removed), the position says where it was */
	{
		char p[256];

		snprintf(p, sizeof(p), "%s/%s", dir, NAPVD_SPOOL_NAME);
		unlink(p);
		snprintf(p, sizeof(p), "%s/%s", dir, NAPVD_SHIPPED_NAME);
		assert_int_equal(nap_write_file_atomic(p, "5\n", 2, 0644), 0);
	}
	open_setup(&sp, c, 1 << 20);
	assert_int_equal(sp.seq_next, 6);
	napvd_spool_close(&sp);
	napvd_config_free(c);
}

static void
test_bad_instance(void **state)
{
	static struct napvd_spool sp;
	struct napvd_config *c = conf(false);
	uint64_t cut;
	char p[256], err[512];

	(void)state;
	snprintf(p, sizeof(p), "%s/%s", dir, NAPVD_INSTANCE_NAME);
	assert_int_equal(nap_write_file_atomic(p, "XYZ\n", 4, 0644), 0);
	assert_int_equal(napvd_spool_open(&sp, dir, 1 << 20, &cut), 0);
	assert_int_equal(napvd_spool_status_setup(&sp, dir, c, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "not 16 lowercase hex"));
	napvd_spool_close(&sp);
	napvd_config_free(c);
}

static void
test_segments(void **state)
{
	static struct napvd_spool sp;
	struct napvd_config *c = conf(true);
	struct napvd_metrics m = {0};
	uint64_t first, last, expect = 1, total = 0;
	char inst[17];
	DIR *d;
	struct dirent *de;
	unsigned segs = 0;

	(void)state;
	open_setup(&sp, c, 4 << 20);
	assert_int_equal(sp.segment, 64 * 1024);
	memcpy(inst, sp.instance, 17);
	/* about 250 bytes a record: several 64K segments */
	for (unsigned i = 0; i < 1000; i++) {
		struct napvd_spool_record r = record(i);

		assert_int_equal(napvd_spool_append(&sp, &r, &m), 0);
		if (i % 10 == 9)
			assert_int_equal(napvd_spool_commit(&sp, &m), 0);
	}
	assert_int_equal(napvd_spool_commit(&sp, &m), 0);
	assert_int_equal(m.spool_errors, 0);
	assert_true(napvd_spool_segment_bytes() > 0);
	napvd_spool_close(&sp);
	/* segments in order, then the active file: 1..1000 without a gap */
	for (;;) {
		char name[64], p[512];

		snprintf(name, sizeof(name), "%s.%llu", NAPVD_SPOOL_NAME, (unsigned long long)expect);
		snprintf(p, sizeof(p), "%s/%s", dir, name);
		if (access(p, F_OK) != 0)
			break;
		total += check_file(name, inst, &first, &last);
		assert_int_equal(first, expect);
		expect = last + 1;
		segs++;
	}
	assert_true(segs >= 3);
	total += check_file(NAPVD_SPOOL_NAME, inst, &first, &last);
	assert_int_equal(first, expect);
	assert_int_equal(last, 1000);
	assert_int_equal(total, 1000);
	/* only segments and the active file, no stray names */
	d = opendir(dir);
	while ((de = readdir(d)) != NULL) {
		uint64_t q;

		if (de->d_name[0] == '.' || strcmp(de->d_name, NAPVD_SPOOL_NAME) == 0 ||
		    strcmp(de->d_name, NAPVD_INSTANCE_NAME) == 0)
			continue;
		assert_int_equal(sscanf(de->d_name, "spool.%llu", (unsigned long long *)&q), 1);
	}
	closedir(d);
	/* reopened: the sequence continues after the active file's last record */
	open_setup(&sp, c, 4 << 20);
	assert_int_equal(sp.seq_next, 1001);
	napvd_spool_close(&sp);
	napvd_config_free(c);
}

/* spool_max counts the segments not removed yet; removing them makes room again. */
static void
test_max_counts_segments(void **state)
{
	static struct napvd_spool sp;
	struct napvd_config *c = conf(true);
	struct napvd_metrics m = {0};
	unsigned ok = 0;
	uint64_t segbytes;

	(void)state;
	open_setup(&sp, c, 256 * 1024);
	for (unsigned i = 0; i < 3000; i++) {
		struct napvd_spool_record r = record(i);

		if (napvd_spool_append(&sp, &r, &m) == 0)
			ok++;
		if (i % 10 == 9)
			napvd_spool_commit(&sp, &m);
	}
	napvd_spool_commit(&sp, &m);
	assert_true(m.spool_overflow > 0);
	assert_true(ok < 3000);
	segbytes = napvd_spool_segment_bytes();
	assert_true(segbytes + sp.size <= 256 * 1024);
	/* the shipper removed them: room for more */
	napvd_spool_segment_removed(segbytes);
	{
		struct napvd_spool_record r = record(9999);

		assert_int_equal(napvd_spool_append(&sp, &r, &m), 0);
	}
	napvd_spool_commit(&sp, &m);
	napvd_spool_close(&sp);
	napvd_config_free(c);
}

static void
test_line_seq(void **state)
{
	static const char a[] = "{\"id\":\"0123456789abcdef-42\",\"time\":\"x\"}";
	static const char b[] = "{\"time\":\"2025-11-25T14:00:00Z\"}";
	static const char c[] = "{\"id\":\"0123456789abcdef-\",\"time\":\"x\"}";

	(void)state;
	assert_int_equal(napvd_spool_line_seq(a, sizeof(a) - 1), 42);
	assert_int_equal(napvd_spool_line_seq(b, sizeof(b) - 1), 0);
	assert_int_equal(napvd_spool_line_seq(c, sizeof(c) - 1), 0);
	assert_int_equal(napvd_spool_line_seq(a, 20), 0);
}

int
main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_ids),
		T(test_bad_instance),
		T(test_segments),
		T(test_max_counts_segments),
		cmocka_unit_test(test_line_seq),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
