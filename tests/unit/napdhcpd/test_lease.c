// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * Unit tests of napdhcpd's lease table and journal (daemons/napdhcpd/lease.c): allocation
 * order, offers held and stolen, bind/release/decline, expiry by the sweep, one address per
 * client and scope, and the journal: replay after a restart, a torn last record (a crash in the
 * middle of a write) ignored, a damaged record in the middle skipped, expired leases remembered
 * for affinity, compaction, and the syncer thread.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "dhcpd_test.h"

static const char *const conf_text =
	"[server]\nlisten = 127.0.0.1:6767\n"
	"[scope a]\nsubnet = 10.1.0.0/24\npool = 10.1.0.1-10.1.0.4\nrouter = 10.1.0.1\n"
	"reservation = 02:00:00:00:00:99 10.1.0.50 printer\n"
	"[scope b]\nsubnet = 10.2.0.0/24\npool = 10.2.0.10-10.2.0.12\n";

#define NOW    1700000000
#define NOW_MS 5000000

static const uint8_t id1[7] = {1, 2, 0, 0, 0, 0, 1};
static const uint8_t id2[7] = {1, 2, 0, 0, 0, 0, 2};
static const uint8_t id3[7] = {1, 2, 0, 0, 0, 0, 3};
static const uint8_t mac1[6] = {2, 0, 0, 0, 0, 1};

struct fx {
	struct dhcpd_config *c;
	struct dhcpd_leases ls;
	char *dir;
};

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->c = test_config(conf_text);
	assert_non_null(f->c);
	assert_int_equal(dhcpd_leases_init(&f->ls, f->c), 0);
	f->dir = test_tmpdir();
	assert_non_null(f->dir);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	dhcpd_leases_close(&f->ls);
	dhcpd_config_free(f->c);
	test_rmdir(f->dir);
	free(f);
	return 0;
}

static void
reopen(struct fx *f, int64_t now)
{
	char err[256];

	dhcpd_leases_close(&f->ls);
	assert_int_equal(dhcpd_leases_init(&f->ls, f->c), 0);
	assert_int_equal(dhcpd_leases_open(&f->ls, f->dir, now, err, sizeof(err)), 0);
}

static void
test_table(void **state)
{
	struct fx *f = *state;
	struct dhcpd_lease *l;

	/* 10.1.0.1 is the router: 3 pool addresses + the reservation; scope b: 3. */
	assert_int_equal(f->ls.pools[0].n_total, 4);
	assert_int_equal(f->ls.pools[0].n_free, 3);
	assert_int_equal(f->ls.pools[1].n_free, 3);
	assert_null(dhcpd_lease_by_addr(&f->ls, test_ip("10.1.0.1")));
	l = dhcpd_lease_by_addr(&f->ls, test_ip("10.1.0.50"));
	assert_non_null(l);
	assert_true(l->reserved);
	l = dhcpd_lease_alloc(&f->ls, 0, NOW, NOW_MS);
	assert_non_null(l);
	assert_int_equal(l->addr, test_ip("10.1.0.2")); /* address order at start */
	l = dhcpd_lease_alloc(&f->ls, 1, NOW, NOW_MS);
	assert_int_equal(l->addr, test_ip("10.2.0.10"));
	/* The server's own address found inside a pool at run time is never handed out. */
	assert_true(dhcpd_leases_exclude(&f->ls, test_ip("10.2.0.10")));
	assert_false(dhcpd_leases_exclude(&f->ls, test_ip("10.2.0.10")));
	assert_false(dhcpd_leases_exclude(&f->ls, test_ip("10.9.9.9")));
	assert_int_equal(f->ls.pools[1].n_free, 2);
	for (int i = 0; i < 5; i++) {
		l = dhcpd_lease_alloc(&f->ls, 1, NOW, NOW_MS);
		assert_non_null(l);
		assert_int_not_equal(l->addr, test_ip("10.2.0.10"));
		dhcpd_lease_offer(&f->ls, l, i % 2 ? id1 : id2, sizeof(id1), mac1, NOW_MS + 1);
	}
}

static void
test_offer_bind_release(void **state)
{
	struct fx *f = *state;
	struct dhcpd_lease *l = dhcpd_lease_alloc(&f->ls, 0, NOW, NOW_MS), *m;

	dhcpd_lease_offer(&f->ls, l, id1, sizeof(id1), mac1, NOW_MS + 30000);
	assert_int_equal(l->state, DHCPD_LEASE_OFFERED);
	assert_int_equal(f->ls.pools[0].n_free, 2);
	assert_ptr_equal(dhcpd_lease_by_id(&f->ls, 0, id1, sizeof(id1)), l);
	assert_null(dhcpd_lease_by_id(&f->ls, 1, id1, sizeof(id1)));
	assert_false(dhcpd_lease_usable(l, id2, sizeof(id2), NOW, NOW_MS));
	assert_true(dhcpd_lease_usable(l, id1, sizeof(id1), NOW, NOW_MS));
	/* Another client does not get the offered address. */
	m = dhcpd_lease_alloc(&f->ls, 0, NOW, NOW_MS);
	assert_ptr_not_equal(m, l);
	assert_int_equal(dhcpd_lease_bind(&f->ls, l, id1, sizeof(id1), mac1, NOW + 600), 0);
	assert_int_equal(l->state, DHCPD_LEASE_BOUND);
	assert_int_equal(f->ls.pools[0].n_bound, 1);
	assert_int_equal(f->ls.pools[0].n_offered, 0);
	assert_int_equal(dhcpd_lease_release(&f->ls, l), 0);
	assert_int_equal(l->state, DHCPD_LEASE_FREE);
	/* The owner is remembered: the same client finds its old address. */
	assert_ptr_equal(dhcpd_lease_by_id(&f->ls, 0, id1, sizeof(id1)), l);
	/* Released addresses go to the tail: the next new client gets another one. */
	m = dhcpd_lease_alloc(&f->ls, 0, NOW, NOW_MS);
	assert_ptr_not_equal(m, l);
}

static void
test_one_address_per_client(void **state)
{
	struct fx *f = *state;
	struct dhcpd_lease *a = dhcpd_lease_by_addr(&f->ls, test_ip("10.1.0.2"));
	struct dhcpd_lease *b = dhcpd_lease_by_addr(&f->ls, test_ip("10.1.0.3"));

	assert_int_equal(dhcpd_lease_bind(&f->ls, a, id1, sizeof(id1), mac1, NOW + 600), 0);
	assert_int_equal(dhcpd_lease_bind(&f->ls, b, id1, sizeof(id1), mac1, NOW + 600), 0);
	assert_int_equal(a->state, DHCPD_LEASE_FREE);
	assert_int_equal(a->id_len, 0);
	assert_int_equal(f->ls.pools[0].n_bound, 1);
	assert_ptr_equal(dhcpd_lease_by_id(&f->ls, 0, id1, sizeof(id1)), b);
}

static void
test_exhaustion_steals_oldest_offer(void **state)
{
	struct fx *f = *state;
	struct dhcpd_lease *first = NULL, *l;
	const uint8_t *ids[] = {id1, id2, id3};

	for (int i = 0; i < 3; i++) {
		l = dhcpd_lease_alloc(&f->ls, 0, NOW, NOW_MS);
		assert_non_null(l);
		dhcpd_lease_offer(&f->ls, l, ids[i], 7, mac1, NOW_MS + 30000 + i);
		if (first == NULL)
			first = l;
	}
	assert_int_equal(f->ls.pools[0].n_free, 0);
	l = dhcpd_lease_alloc(&f->ls, 0, NOW, NOW_MS);
	assert_ptr_equal(l, first); /* the oldest offer */
	assert_int_equal(l->state, DHCPD_LEASE_FREE);
	/* Bound leases are never stolen. */
	for (uint32_t a = 2; a <= 4; a++) {
		l = dhcpd_lease_by_addr(&f->ls, test_ip("10.1.0.0") + a);
		assert_int_equal(dhcpd_lease_bind(&f->ls, l, ids[a - 2], 7, mac1, NOW + 600), 0);
	}
	assert_null(dhcpd_lease_alloc(&f->ls, 0, NOW, NOW_MS));
	/* Once expired they come back, found by the allocator's own scan. */
	assert_non_null(dhcpd_lease_alloc(&f->ls, 0, NOW + 601, NOW_MS));
}

static void
test_sweep_and_decline(void **state)
{
	struct fx *f = *state;
	struct dhcpd_lease *a = dhcpd_lease_by_addr(&f->ls, test_ip("10.1.0.2"));
	struct dhcpd_lease *b = dhcpd_lease_by_addr(&f->ls, test_ip("10.1.0.3"));
	struct dhcpd_lease *c = dhcpd_lease_by_addr(&f->ls, test_ip("10.1.0.4"));

	dhcpd_lease_offer(&f->ls, a, id1, sizeof(id1), mac1, NOW_MS + 1000);
	assert_int_equal(dhcpd_lease_bind(&f->ls, b, id2, sizeof(id2), mac1, NOW + 60), 0);
	assert_int_equal(dhcpd_lease_decline(&f->ls, c, NOW + 600), 0);
	assert_int_equal(c->id_len, 0);
	assert_false(dhcpd_lease_usable(c, id3, sizeof(id3), NOW, NOW_MS));
	assert_int_equal(f->ls.pools[0].n_free, 0);
	assert_int_equal(dhcpd_leases_sweep(&f->ls, 1000, NOW, NOW_MS + 999), 0);
	assert_int_equal(dhcpd_leases_sweep(&f->ls, 1000, NOW, NOW_MS + 1000), 1); /* the offer */
	assert_int_equal(dhcpd_leases_sweep(&f->ls, 1000, NOW + 60, NOW_MS + 1000), 1);
	assert_int_equal(b->state, DHCPD_LEASE_FREE);
	assert_int_equal(c->state, DHCPD_LEASE_DECLINED);
	assert_int_equal(dhcpd_leases_sweep(&f->ls, 1000, NOW + 600, NOW_MS + 1000), 1);
	assert_int_equal(c->state, DHCPD_LEASE_FREE);
	assert_int_equal(f->ls.pools[0].n_free, 3);
}

static void
test_journal_replay(void **state)
{
	struct fx *f = *state;
	char err[256];
	struct dhcpd_lease *l;

	assert_int_equal(dhcpd_leases_open(&f->ls, f->dir, NOW, err, sizeof(err)), 0);
	l = dhcpd_lease_by_addr(&f->ls, test_ip("10.1.0.3"));
	assert_int_equal(dhcpd_lease_bind(&f->ls, l, id1, sizeof(id1), mac1, NOW + 600), 0);
	l = dhcpd_lease_by_addr(&f->ls, test_ip("10.2.0.11"));
	assert_int_equal(dhcpd_lease_bind(&f->ls, l, id2, sizeof(id2), mac1, NOW + 60), 0);
	l = dhcpd_lease_by_addr(&f->ls, test_ip("10.1.0.4"));
	assert_int_equal(dhcpd_lease_decline(&f->ls, l, NOW + 300), 0);
	l = dhcpd_lease_by_addr(&f->ls, test_ip("10.1.0.2"));
	dhcpd_lease_offer(&f->ls, l, id3, sizeof(id3), mac1, NOW_MS + 30000); /* not journaled */
	assert_true(dhcpd_leases_dirty(&f->ls));
	assert_int_equal(dhcpd_leases_commit(&f->ls, NOW), 0);
	assert_false(dhcpd_leases_dirty(&f->ls));
	assert_true(f->ls.st.fsyncs >= 2); /* the start snapshot and the commit */

	reopen(f, NOW + 30);
	l = dhcpd_lease_by_addr(&f->ls, test_ip("10.1.0.3"));
	assert_int_equal(l->state, DHCPD_LEASE_BOUND);
	assert_int_equal(l->expires, NOW + 600);
	assert_true(dhcpd_lease_owned_by(l, id1, sizeof(id1)));
	assert_memory_equal(l->mac, mac1, 6);
	l = dhcpd_lease_by_addr(&f->ls, test_ip("10.2.0.11"));
	assert_int_equal(l->state, DHCPD_LEASE_BOUND);
	assert_int_equal(dhcpd_lease_by_addr(&f->ls, test_ip("10.1.0.4"))->state,
			 DHCPD_LEASE_DECLINED);
	assert_int_equal(dhcpd_lease_by_addr(&f->ls, test_ip("10.1.0.2"))->state,
			 DHCPD_LEASE_FREE);
	assert_int_equal(f->ls.pools[0].n_free, 1);
	/* The bound address is never allocated to someone else. */
	l = dhcpd_lease_alloc(&f->ls, 0, NOW + 30, NOW_MS);
	assert_int_equal(l->addr, test_ip("10.1.0.2"));

	/* Later: the 60 s lease ran out; its owner is remembered, the address is free. */
	reopen(f, NOW + 100);
	l = dhcpd_lease_by_addr(&f->ls, test_ip("10.2.0.11"));
	assert_int_equal(l->state, DHCPD_LEASE_FREE);
	assert_ptr_equal(dhcpd_lease_by_id(&f->ls, 1, id2, sizeof(id2)), l);
	assert_int_equal(f->ls.replay_torn, 0);
	assert_int_equal(f->ls.replay_bad, 0);
}

static void
append(const char *dir, const char *text)
{
	char path[512];
	int fd;

	snprintf(path, sizeof(path), "%s/leases", dir);
	fd = open(path, O_WRONLY | O_APPEND);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

static void
test_journal_torn_and_damaged(void **state)
{
	struct fx *f = *state;
	char err[256], line[256], path[512];
	struct dhcpd_lease *l;
	uint32_t crc;
	struct stat st;
	int n;

	assert_int_equal(dhcpd_leases_open(&f->ls, f->dir, NOW, err, sizeof(err)), 0);
	l = dhcpd_lease_by_addr(&f->ls, test_ip("10.1.0.3"));
	assert_int_equal(dhcpd_lease_bind(&f->ls, l, id1, sizeof(id1), mac1, NOW + 600), 0);
	assert_int_equal(dhcpd_leases_commit(&f->ls, NOW), 0);
	dhcpd_leases_close(&f->ls);

	/* A damaged record in the middle, then a good one, then half a record (kill -9). */
	append(f->dir, "B 10.1.0.2 1700000600 020000000002 01020000000002 deadbeef\n");
	n = snprintf(line, sizeof(line), "B 10.1.0.4 %d 020000000003 01020000000003", NOW + 600);
	crc = dhcpd_crc32(line, (size_t)n);
	snprintf(line + n, sizeof(line) - (size_t)n, " %08x\n", crc);
	append(f->dir, line);
	append(f->dir, "B 10.2.0.10 1700000600 0200000000");

	assert_int_equal(dhcpd_leases_init(&f->ls, f->c), 0);
	assert_int_equal(dhcpd_leases_open(&f->ls, f->dir, NOW, err, sizeof(err)), 0);
	assert_int_equal(f->ls.replay_torn, 1);
	assert_int_equal(f->ls.replay_bad, 1);
	assert_int_equal(dhcpd_lease_by_addr(&f->ls, test_ip("10.1.0.3"))->state,
			 DHCPD_LEASE_BOUND);
	assert_int_equal(dhcpd_lease_by_addr(&f->ls, test_ip("10.1.0.4"))->state,
			 DHCPD_LEASE_BOUND);
	assert_int_equal(dhcpd_lease_by_addr(&f->ls, test_ip("10.1.0.2"))->state,
			 DHCPD_LEASE_FREE);
	assert_int_equal(dhcpd_lease_by_addr(&f->ls, test_ip("10.2.0.10"))->state,
			 DHCPD_LEASE_FREE);
	/* The start snapshot dropped the torn tail: new records land on a clean line. */
	snprintf(path, sizeof(path), "%s/leases", f->dir);
	assert_int_equal(stat(path, &st), 0);
	l = dhcpd_lease_by_addr(&f->ls, test_ip("10.2.0.12"));
	assert_int_equal(dhcpd_lease_bind(&f->ls, l, id3, sizeof(id3), mac1, NOW + 600), 0);
	assert_int_equal(dhcpd_leases_commit(&f->ls, NOW), 0);
	reopen(f, NOW);
	assert_int_equal(f->ls.replay_torn, 0);
	assert_int_equal(f->ls.replay_bad, 0);
	assert_int_equal(dhcpd_lease_by_addr(&f->ls, test_ip("10.2.0.12"))->state,
			 DHCPD_LEASE_BOUND);
	/* Records for addresses outside every pool are counted and skipped. */
	dhcpd_leases_close(&f->ls);
	n = snprintf(line, sizeof(line), "B 192.0.2.1 %d 020000000003 01020000000003", NOW + 600);
	crc = dhcpd_crc32(line, (size_t)n);
	snprintf(line + n, sizeof(line) - (size_t)n, " %08x\n", crc);
	append(f->dir, line);
	assert_int_equal(dhcpd_leases_init(&f->ls, f->c), 0);
	assert_int_equal(dhcpd_leases_open(&f->ls, f->dir, NOW, err, sizeof(err)), 0);
	assert_int_equal(f->ls.replay_orphans, 1);
}

static void
test_journal_compaction_and_syncer(void **state)
{
	struct fx *f = *state;
	char err[256];
	struct dhcpd_lease *l;
	int result = -1;

	assert_int_equal(dhcpd_leases_open(&f->ls, f->dir, NOW, err, sizeof(err)), 0);
	f->ls.compact_floor = 16;
	l = dhcpd_lease_by_addr(&f->ls, test_ip("10.1.0.3"));
	for (int i = 0; i < 40; i++) {
		assert_int_equal(dhcpd_lease_bind(&f->ls, l, id1, sizeof(id1), mac1, NOW + 600 + i),
				 0);
		assert_int_equal(dhcpd_leases_commit(&f->ls, NOW), 0);
	}
	assert_true(f->ls.st.compactions >= 2);
	/* The syncer: a batch handed over, reported durable through the eventfd. */
	assert_int_equal(dhcpd_leases_sync_start(&f->ls), 0);
	assert_true(dhcpd_leases_sync_fd(&f->ls) >= 0);
	assert_int_equal(dhcpd_lease_bind(&f->ls, l, id1, sizeof(id1), mac1, NOW + 7777), 0);
	assert_int_equal(dhcpd_leases_sync_submit(&f->ls), 1);
	assert_true(dhcpd_leases_sync_busy(&f->ls));
	assert_int_equal(dhcpd_leases_sync_submit(&f->ls), 0); /* one batch at a time */
	assert_int_equal(dhcpd_leases_sync_wait(&f->ls, NOW), 1);
	assert_false(dhcpd_leases_sync_busy(&f->ls));
	assert_int_equal(dhcpd_leases_sync_collect(&f->ls, &result, NOW), 0);
	reopen(f, NOW);
	assert_int_equal(dhcpd_lease_by_addr(&f->ls, test_ip("10.1.0.3"))->expires, NOW + 7777);
}

static void
test_reservation_kept_for_its_mac(void **state)
{
	struct fx *f = *state;
	char err[256];
	struct dhcpd_lease *l = dhcpd_lease_by_addr(&f->ls, test_ip("10.1.0.50"));
	static const uint8_t rmac[6] = {2, 0, 0, 0, 0, 0x99};

	assert_memory_equal(l->mac, rmac, 6);
	assert_int_equal(dhcpd_leases_open(&f->ls, f->dir, NOW, err, sizeof(err)), 0);
	/* Never in the free list. */
	for (int i = 0; i < 3; i++) {
		struct dhcpd_lease *x = dhcpd_lease_alloc(&f->ls, 0, NOW, NOW_MS);

		assert_ptr_not_equal(x, l);
		dhcpd_lease_offer(&f->ls, x, i == 0 ? id1 : i == 1 ? id2 : id3, 7, mac1, NOW_MS + 1);
	}
	assert_int_equal(dhcpd_lease_bind(&f->ls, l, id1, sizeof(id1), mac1, NOW + 600), 0);
	assert_memory_equal(l->mac, rmac, 6); /* the reservation's MAC stays */
	assert_int_equal(dhcpd_leases_commit(&f->ls, NOW), 0);
	reopen(f, NOW);
	assert_int_equal(dhcpd_lease_by_addr(&f->ls, test_ip("10.1.0.50"))->state,
			 DHCPD_LEASE_BOUND);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_table, setup, teardown),
		cmocka_unit_test_setup_teardown(test_offer_bind_release, setup, teardown),
		cmocka_unit_test_setup_teardown(test_one_address_per_client, setup, teardown),
		cmocka_unit_test_setup_teardown(test_exhaustion_steals_oldest_offer, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_sweep_and_decline, setup, teardown),
		cmocka_unit_test_setup_teardown(test_journal_replay, setup, teardown),
		cmocka_unit_test_setup_teardown(test_journal_torn_and_damaged, setup, teardown),
		cmocka_unit_test_setup_teardown(test_journal_compaction_and_syncer, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_reservation_kept_for_its_mac, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
