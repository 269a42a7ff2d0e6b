// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * Unit tests for napvd's front end with the spool's sync thread, over real loopback sockets:
 * in spool_sync = reply mode a reply leaves only after the sync covering its record completed
 * (the sync is a fake the test releases); in batch mode it leaves at once, while the record is
 * already in the file, and counts as durable only after the sync.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "nap/log.h"
#include "nap/util.h"
#include "fake_sync.h"
#include "napvd.h"

#define SECRET "testing123"

static const char conf_text[] = "[hsr]\nfile = /h.json\ntrusted_keys = /k.pem\n"
				"[client local]\naddress = 127.0.0.1\nsecret = " SECRET "\n";

static struct napvd d;
static char dir[64], path[128];
static int client = -1;


static size_t
spool_lines(void)
{
	uint8_t *buf;
	size_t len, n = 0;

	assert_int_equal(nap_read_file(path, 1 << 26, &buf, &len), 0);
	for (size_t i = 0; i < len && buf[i] != '\0'; i++)
		n += buf[i] == '\n';
	free(buf);
	return n;
}

static int
fake_sync(int fd)
{
	(void)fd;
	fake_gate(spool_lines());
	return 0;
}

static int
open_daemon(enum napvd_spool_sync_mode mode)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t alen = sizeof(a);
	uint64_t cut;
	char err[256];
	int fd;

	memset(&d, 0, sizeof(d));
	fake_released = fake_calls = 0;
	if (napvd_config_parse_string(conf_text, "t.conf", &d.conf, err, sizeof(err)) < 0)
		return -1;
	d.conf->spool_sync = mode;
	/* A free port: bind to 0, read it back, let napvd bind it. */
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &alen) < 0)
		return -1;
	close(fd);
	memcpy(&d.conf->listen[0].ss, &a, sizeof(a));
	d.conf->listen[0].len = sizeof(a);
	d.conf->n_listen = 1;
	d.clock = napvd_clock_system;
	d.sync_io.fd = -1;
	strcpy(dir, "/tmp/napvd-front-XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(path, sizeof(path), "%s/%s", dir, NAPVD_SPOOL_NAME);
	if (napvd_ev_init(&d.ev) < 0 || napvd_scratch_new(&d.scratch) < 0 ||
	    napvd_dup_init(&d.dup, 64, 1 << 20, 30000) < 0 || napvd_sockets_sync(&d, d.conf) < 0 ||
	    napvd_spool_open(&d.spool, dir, 1 << 24, &cut) < 0 ||
	    napvd_sync_attach(&d, fake_sync) < 0)
		return -1;
	client = socket(AF_INET, SOCK_DGRAM, 0);
	if (client < 0 || connect(client, (struct sockaddr *)&a, sizeof(a)) < 0)
		return -1;
	return 0;
}

static int
setup_reply(void **state)
{
	(void)state;
	return open_daemon(NAPVD_SYNC_REPLY);
}

static int
setup_batch(void **state)
{
	(void)state;
	return open_daemon(NAPVD_SYNC_BATCH);
}

static int
teardown(void **state)
{
	(void)state;
	/* Whatever sync is still blocked must be able to finish. */
	fake_release_n(1 << 20);
	napvd_sync_detach(&d);
	napvd_spool_close(&d.spool);
	napvd_sockets_close(&d);
	napvd_dup_free(&d.dup);
	napvd_scratch_free(d.scratch);
	napvd_ev_close(&d.ev);
	napvd_config_free(d.conf);
	close(client);
	unlink(path);
	rmdir(dir);
	return 0;
}

/* An Access-Request without an SoH: decided (noncapable), so it writes a record. */
static void
send_request(uint8_t id)
{
	static struct nap_radius_builder rb;
	const uint8_t *p;
	size_t n;

	nap_radius_build_init(&rb, NAP_RADIUS_ACCESS_REQUEST, id, NULL);
	assert_int_equal(nap_radius_add_attr(&rb, NAP_RADIUS_USER_NAME, "host", 4), 0);
	assert_int_equal(nap_radius_add_message_authenticator(&rb), 0);
	assert_int_equal(nap_radius_finish_request(&rb, (const uint8_t *)SECRET, strlen(SECRET),
						   &p, &n),
			 0);
	assert_int_equal(send(client, p, n, 0), (ssize_t)n);
}

/* The id of the next reply within timeout_ms, or -1. */
static int
recv_reply(int timeout_ms)
{
	struct pollfd p = {.fd = client, .events = POLLIN};
	uint8_t buf[NAP_RADIUS_MAX_LEN];
	ssize_t n;

	if (poll(&p, 1, timeout_ms) != 1)
		return -1;
	n = recv(client, buf, sizeof(buf), 0);
	assert_true(n >= 20);
	assert_true(buf[0] == NAP_RADIUS_ACCESS_ACCEPT || buf[0] == NAP_RADIUS_ACCESS_REJECT);
	return buf[1];
}

/* Run the loop until the fake sync was called `calls` times. */
static void
run_until_sync(int calls)
{
	for (int i = 0; i < 200 && fake_count() < calls; i++)
		assert_true(napvd_ev_run_once(&d.ev, 10) >= 0);
	assert_int_equal(fake_count(), calls);
}

static void
test_reply_waits_for_sync(void **state)
{
	(void)state;
	send_request(1);
	run_until_sync(1);
	/* Decided and written, but the sync is in flight: no reply yet. */
	assert_int_equal(fake_lines, 1);
	assert_int_equal(d.m.replies_held, 1);
	assert_int_equal(recv_reply(100), -1);
	/* A request arriving meanwhile waits for the next sync (group commit). */
	send_request(2);
	for (int i = 0; i < 10; i++)
		assert_true(napvd_ev_run_once(&d.ev, 10) >= 0);
	assert_int_equal(spool_lines(), 2);
	assert_int_equal(recv_reply(50), -1);
	fake_release();
	/* The eventfd wakes the loop, which sends the first reply only. */
	run_until_sync(2);
	assert_int_equal(recv_reply(1000), 1);
	assert_int_equal(recv_reply(100), -1);
	assert_int_equal(d.m.replies_durable, 1);
	assert_int_equal(fake_lines, 2);
	fake_release();
	for (int i = 0; i < 100 && d.m.replies_durable < 2; i++)
		assert_true(napvd_ev_run_once(&d.ev, 10) >= 0);
	assert_int_equal(recv_reply(1000), 2);
	assert_int_equal(d.m.replies_durable, 2);
	assert_int_equal(d.m.spool_syncs, 2);
}

static void
test_batch_replies_at_once(void **state)
{
	(void)state;
	send_request(7);
	run_until_sync(1);
	/* The record is in the file and the reply left, while its sync has not completed. */
	assert_int_equal(recv_reply(1000), 7);
	assert_int_equal(fake_lines, 1);
	assert_int_equal(d.m.replies_held, 0);
	assert_int_equal(d.m.replies_durable, 0);
	assert_int_equal(d.spool.written - d.spool.durable, 1);
	/* Batch mode does not wake the loop per sync: progress is collected lazily. */
	assert_int_equal(napvd_spool_sync_fd(&d.spool) >= 0, true);
	assert_int_equal(d.sync_io.fd, -1);
	fake_release();
	for (int i = 0; i < 100 && d.m.replies_durable < 1; i++) {
		usleep(10000);
		napvd_spool_sync_collect(&d.spool, &d.m);
	}
	assert_int_equal(d.m.replies_durable, 1);
	assert_int_equal(d.spool.written - d.spool.durable, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_reply_waits_for_sync, setup_reply, teardown),
		cmocka_unit_test_setup_teardown(test_batch_replies_at_once, setup_batch, teardown),
	};

	log_init("test_frontend", true, 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
