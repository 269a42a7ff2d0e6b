// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * Interop with a real peer: radclient (FreeRADIUS) sends Access-Requests to a small UDP
 * responder built from our codec on 127.0.0.1 (ephemeral port). Our verifier must accept
 * radclient's Message-Authenticator and reject it under the wrong secret, and radclient must
 * accept our Access-Accept (it checks the Response Authenticator) and print our MS VSAs.
 * Exits 77 (skipped) when radclient is not installed.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <cmocka.h>

#include "nap/radius.h"
#include "nap/util.h"

extern char **environ;

#define SECRET "nap-interop-secret"

/* The SoH radclient sends (an SSoH-shaped byte string; the codec does not interpret it). */
static const char req_soh_hex[] = "000700200000013700020018000700080000013700010000000500040102030400";

struct exchange {
	const char *client_secret;
	const char *server_secret;
	const char *answer_secret; /* the secret our Access-Accept is built with */
	bool answer_msg_auth;      /* include a Message-Authenticator in it */
	const char *request_line;
	const char *capture_name;  /* file name for NAP_RADIUS_CAPTURE_DIR */
	int verify_result;       /* from nap_radius_verify_request */
	bool got_request;
	uint8_t req_soh[256];
	long req_soh_len;
	int radclient_status;
	char out[16384];         /* radclient's stdout + stderr */
};

static char dict_dir[] = "/tmp/nap-radius-interop-XXXXXX";

static void
capture(const char *name, const uint8_t *p, size_t n)
{
	const char *dir = getenv("NAP_RADIUS_CAPTURE_DIR");
	char path[512];

	if (dir == NULL)
		return;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	(void)nap_write_file_atomic(path, p, n, 0644);
}

static int
elapsed_ms(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int)((t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000);
}

/* The responder's answer: Access-Accept with quarantine VSAs and a SoHR, under server_secret. */
static void
answer(int s, const struct sockaddr_in *peer, const struct nap_radius_packet *req,
       const char *server_secret, bool msg_auth, const char *capture_name)
{
	static const uint8_t sohr[] = {0x00, 0x07, 0x00, 0x10, 0x00, 0x00, 0x01, 0x37, 0x00, 0x02,
				       0x00, 0x08, 0x00, 0x07, 0x00, 0x04, 0xaa, 0xbb, 0xcc, 0xdd};
	struct nap_radius_builder b;
	const uint8_t *out;
	size_t out_len;

	nap_radius_build_init(&b, NAP_RADIUS_ACCESS_ACCEPT, req->id, NULL);
	if (msg_auth)
		assert_int_equal(nap_radius_add_message_authenticator(&b), 0);
	assert_int_equal(nap_radius_add_ms_u32(&b, NAP_MS_QUARANTINE_STATE,
					       NAP_MS_QSTATE_RESTRICTED),
			 0);
	assert_int_equal(nap_radius_add_ms_u32(&b, NAP_MS_EXTENDED_QUARANTINE_STATE,
					       NAP_MS_EXTSTATE_INFECTED),
			 0);
	assert_int_equal(nap_radius_add_ms_split(&b, NAP_MS_QUARANTINE_SOH, sohr, sizeof(sohr)),
			 0);
	assert_int_equal(nap_radius_finish_response(&b, req->authenticator,
						    (const uint8_t *)server_secret,
						    strlen(server_secret), &out, &out_len),
			 0);
	{
		char name[128];

		snprintf(name, sizeof(name), "reply-to-%s", capture_name);
		capture(name, out, out_len);
	}
	assert_int_equal(sendto(s, out, out_len, 0, (const struct sockaddr *)peer, sizeof(*peer)),
			 (ssize_t)out_len);
}

static void
run_exchange(struct exchange *x)
{
	struct sockaddr_in sin = {.sin_family = AF_INET}, peer;
	socklen_t slen = sizeof(sin);
	int s, in[2], out[2], status;
	char target[64];
	pid_t pid;
	posix_spawn_file_actions_t fa;
	size_t got = 0;
	struct timespec t0;
	char *argv[] = {"radclient", "-D", "/usr/share/freeradius", "-d", dict_dir, "-x",
			"-r", "1", "-t", "1", target, "auth", (char *)x->client_secret, NULL};

	x->got_request = false;
	x->verify_result = 1;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_true((s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) >= 0);
	assert_int_equal(bind(s, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(getsockname(s, (struct sockaddr *)&sin, &slen), 0);
	snprintf(target, sizeof(target), "127.0.0.1:%u", ntohs(sin.sin_port));

	assert_int_equal(pipe2(in, O_CLOEXEC), 0);
	assert_int_equal(pipe2(out, O_CLOEXEC), 0);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in[0], 0);
	posix_spawn_file_actions_adddup2(&fa, out[1], 1);
	posix_spawn_file_actions_adddup2(&fa, out[1], 2);
	assert_int_equal(posix_spawnp(&pid, "radclient", &fa, NULL, argv, environ), 0);
	posix_spawn_file_actions_destroy(&fa);
	close(in[0]);
	close(out[1]);
	assert_int_equal(write(in[1], x->request_line, strlen(x->request_line)),
			 (ssize_t)strlen(x->request_line));
	close(in[1]);

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		struct pollfd pfd[2] = {{.fd = s, .events = POLLIN}, {.fd = out[0], .events = POLLIN}};
		int left = 5000 - elapsed_ms(&t0);

		if (left <= 0)
			break;
		if (poll(pfd, 2, left) <= 0)
			continue;
		if (pfd[0].revents & POLLIN) {
			uint8_t buf[NAP_RADIUS_MAX_LEN + 1];
			struct nap_radius_packet req;
			struct nap_err err = {0};
			socklen_t plen = sizeof(peer);
			ssize_t n = recvfrom(s, buf, sizeof(buf), 0, (struct sockaddr *)&peer, &plen);

			assert_true(n > 0);
			capture(x->capture_name, buf, (size_t)n);
			assert_int_equal(nap_radius_decode(buf, (size_t)n, &req, &err), 0);
			assert_int_equal(req.code, NAP_RADIUS_ACCESS_REQUEST);
			x->got_request = true;
			x->verify_result = nap_radius_verify_request(
				&req, (const uint8_t *)x->server_secret, strlen(x->server_secret),
				true);
			x->req_soh_len = nap_radius_ms_concat(&req, NAP_MS_QUARANTINE_SOH, x->req_soh,
							      sizeof(x->req_soh));
			/* Answer only what verified, as a server must. */
			if (x->verify_result == 0)
				answer(s, &peer, &req, x->answer_secret, x->answer_msg_auth,
				       x->capture_name);
		}
		if (pfd[1].revents & (POLLIN | POLLHUP)) {
			ssize_t n = read(out[0], x->out + got, sizeof(x->out) - 1 - got);

			if (n <= 0)
				break;
			got += (size_t)n;
		}
	}
	x->out[got] = '\0';
	close(out[0]);
	close(s);
	if (waitpid(pid, &status, WNOHANG) == 0) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
	}
	x->radclient_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128;
	print_message("--- radclient output ---\n%s", x->out);
}

static void
test_accept_roundtrip(void **state)
{
	static struct exchange x;
	char line[512], want[128];
	uint8_t soh[64];
	size_t bad;
	long soh_len = nap_hex_decode(req_soh_hex, strlen(req_soh_hex), soh, sizeof(soh), &bad);

	(void)state;
	snprintf(line, sizeof(line),
		 "User-Name = \"host/nap-pc\", MS-Quarantine-SOH = 0x%s, "
		 "Message-Authenticator = 0x00\n",
		 req_soh_hex);
	x.client_secret = x.server_secret = x.answer_secret = SECRET;
	x.answer_msg_auth = true;
	x.request_line = line;
	x.capture_name = "access-request-soh.bin";
	run_exchange(&x);
	assert_true(x.got_request);
	assert_int_equal(x.verify_result, 0);
	assert_int_equal(x.req_soh_len, soh_len);
	assert_memory_equal(x.req_soh, soh, (size_t)soh_len);
	assert_non_null(strstr(x.out, "Received Access-Accept Id"));
	assert_non_null(strstr(x.out, "MS-Quarantine-State = Quarantine"));
	assert_non_null(strstr(x.out, "MS-Extended-Quarantine-State = Infected"));
	snprintf(want, sizeof(want), "MS-Quarantine-SOH = 0x%s",
		 "0007001000000137000200080007000" "4aabbccdd");
	assert_non_null(strstr(x.out, want));
	assert_null(strstr(x.out, "invalid"));
	assert_int_equal(x.radclient_status, 0);
}

static void
test_wrong_secret_rejected(void **state)
{
	static struct exchange x;

	(void)state;
	x.client_secret = "some-other-secret";
	x.server_secret = x.answer_secret = SECRET;
	x.request_line = "User-Name = \"host/nap-pc\", Message-Authenticator = 0x00\n";
	x.capture_name = "access-request-other-secret.bin";
	run_exchange(&x);
	assert_true(x.got_request);
	assert_int_equal(x.verify_result, -EPERM);
	assert_null(strstr(x.out, "Received Access-Accept"));
	assert_int_not_equal(x.radclient_status, 0);
}

static void
test_missing_message_authenticator(void **state)
{
	static struct exchange x;

	(void)state;
	x.client_secret = x.server_secret = x.answer_secret = SECRET;
	x.request_line = "User-Name = \"host/nap-pc\"\n";
	x.capture_name = "access-request-no-msgauth.bin";
	run_exchange(&x);
	assert_true(x.got_request);
	assert_int_equal(x.verify_result, -ENOMSG);
	assert_int_not_equal(x.radclient_status, 0);
}

/*
 * radclient really checks what we send: an answer built under another secret is refused, on its
 * Response Authenticator alone (no Message-Authenticator) and on its Message-Authenticator.
 */
static void
test_radclient_checks_response(void **state)
{
	static struct exchange x;

	(void)state;
	for (int with_ma = 0; with_ma <= 1; with_ma++) {
		x.client_secret = x.server_secret = SECRET;
		x.answer_secret = "not-the-secret";
		x.answer_msg_auth = with_ma;
		x.request_line = "User-Name = \"host/nap-pc\", Message-Authenticator = 0x00\n";
		x.capture_name = "access-request.bin";
		run_exchange(&x);
		assert_true(x.got_request);
		assert_int_equal(x.verify_result, 0);
		assert_non_null(strstr(x.out, "Reply verification failed"));
		assert_non_null(strstr(x.out, with_ma ? "invalid Message-Authenticator"
						      : "invalid Response Authenticator"));
		assert_null(strstr(x.out, "Received Access-Accept Id"));
		assert_int_not_equal(x.radclient_status, 0);
	}
}

static int
radclient_available(void)
{
	const char *path = getenv("PATH");
	char buf[4096], *save = NULL;

	if (path == NULL || strlen(path) >= sizeof(buf))
		return 0;
	strcpy(buf, path);
	for (char *d = strtok_r(buf, ":", &save); d != NULL; d = strtok_r(NULL, ":", &save)) {
		char p[4200];

		snprintf(p, sizeof(p), "%s/radclient", d);
		if (access(p, X_OK) == 0)
			return access("/usr/share/freeradius/dictionary", R_OK) == 0;
	}
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_accept_roundtrip),
		cmocka_unit_test(test_wrong_secret_rejected),
		cmocka_unit_test(test_missing_message_authenticator),
		cmocka_unit_test(test_radclient_checks_response),
	};
	char path[sizeof(dict_dir) + 16];
	int r;

	if (!radclient_available()) {
		fprintf(stderr, "radclient or its dictionaries not installed: skipped\n");
		return 77;
	}
	/* An empty local dictionary so radclient needs nothing from /etc/freeradius. */
	if (mkdtemp(dict_dir) == NULL)
		return 1;
	snprintf(path, sizeof(path), "%s/dictionary", dict_dir);
	if (nap_write_file_atomic(path, "", 0, 0644) < 0)
		return 1;
	r = cmocka_run_group_tests(tests, NULL, NULL);
	unlink(path);
	rmdir(dict_dir);
	return r;
}
