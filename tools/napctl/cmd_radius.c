// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * napctl radius query: send one Access-Request carrying an SoH to a RADIUS server over a
 * connected UDP socket, retransmit the same packet on timeout (RFC 5080 §2.2.1), verify the
 * reply's Response Authenticator and Message-Authenticator and print the decision. Replies are
 * untrusted network input, decoded by libnap.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/rand.h>

#include "nap/radius.h"
#include "nap/soh.h"
#include "nap/util.h"
#include "nap/validate.h"

#include "dump.h"
#include "napctl.h"

#define QUERY_MAX_SOH_TEXT (64 * 1024)

static int64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* "ADDR:PORT" or "[V6ADDR]:PORT" into a connected UDP socket. */
static int
connect_server(const char *server, int *fd_out)
{
	struct addrinfo *res = NULL, *ai;
	int fd = -1, r;

	if ((r = nap_resolve_udp(server, &res)) < 0)
		return r;
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			continue;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0)
		return -ECONNREFUSED;
	*fd_out = fd;
	return 0;
}

/* --soh HEX, "-" (hex on stdin) or "@FILE" (hex in a file). */
static int
load_soh(const char *arg, uint8_t *out, size_t cap, size_t *out_len)
{
	uint8_t *text = NULL;
	size_t len, bad_at = 0;
	long n;
	int r;

	if (strcmp(arg, "-") == 0 || arg[0] == '@') {
		const char *path = arg[0] == '@' ? arg + 1 : "/dev/stdin";

		if ((r = nap_read_file(path, QUERY_MAX_SOH_TEXT, &text, &len)) < 0)
			return ctl_error("radius query: %s: %s", path, strerror(-r));
		n = nap_hex_decode((const char *)text, len, out, cap, &bad_at);
		free(text);
	} else {
		n = nap_hex_decode(arg, strlen(arg), out, cap, &bad_at);
	}
	if (n < 0)
		return ctl_error("radius query: --soh: %s at offset %zu",
				 n == -EMSGSIZE ? "SoH too large" : "bad hex", bad_at);
	*out_len = (size_t)n;
	return 0;
}

static void
copy_attr(json_t *summary, const char *key, const json_t *attrs, const char *name,
	  const char *member)
{
	size_t i;
	json_t *a;

	json_array_foreach((json_t *)attrs, i, a)
	{
		const char *n = json_string_value(json_object_get(a, "name"));
		json_t *v;

		if (n == NULL || strcmp(n, name) != 0)
			continue;
		if ((v = json_object_get(a, member)) != NULL)
			json_object_set(summary, key, v);
		return;
	}
}

/* The few things an operator wants from the reply, then the SoHR's nap entry. */
static json_t *
summarise(const json_t *reply, double rtt_ms)
{
	json_t *s = json_object(), *attrs = json_object_get(reply, "attributes");
	json_t *soh = json_object_get(reply, "soh");
	size_t i;
	json_t *e;

	json_object_set(s, "code", json_object_get(reply, "code_name"));
	json_object_set(s, "id", json_object_get(reply, "id"));
	json_object_set_new(s, "rtt_ms", json_real(round(rtt_ms * 1000.0) / 1000.0));
	copy_attr(s, "quarantine_state", attrs, "MS-Quarantine-State", "value_name");
	copy_attr(s, "extended_quarantine_state", attrs, "MS-Extended-Quarantine-State",
		  "value_name");
	copy_attr(s, "grace_time", attrs, "MS-Quarantine-Grace-Time", "time");
	copy_attr(s, "session_timeout", attrs, "MS-Quarantine-Session-Timeout", "value");
	copy_attr(s, "remediation_servers", attrs, "MS-IPv4-Remediation-Servers", "servers");
	copy_attr(s, "remediation_servers_v6", attrs, "MS-IPv6-Remediation-Servers", "servers");
	copy_attr(s, "user_class", attrs, "MS-Quarantine-User-Class", "value");
	copy_attr(s, "reply_message", attrs, "Reply-Message", "value");
	if (json_object_get(reply, "soh_error") != NULL)
		json_object_set(s, "sohr_error", json_object_get(reply, "soh_error"));
	if (soh != NULL) {
		json_array_foreach(json_object_get(soh, "entries"), i, e)
		{
			json_t *nap = json_object_get(e, "nap");

			if (nap != NULL)
				json_object_set(s, "sohr_nap", nap);
			if (json_object_get(e, "wshv") != NULL)
				json_object_set(s, "sohr_wshv", json_object_get(e, "wshv"));
		}
		if (json_object_get(soh, "correlation_id") != NULL)
			json_object_set(s, "sohr_correlation_id",
					json_object_get(soh, "correlation_id"));
	}
	return s;
}

int
cmd_radius_query(const struct ctl_cmd *cmd, int argc, char *argv[])
{
	enum {
		O_SERVER = 256,
		O_SECRET,
		O_NAS,
		O_SOH,
		O_NO_SOH,
		O_TIMEOUT,
		O_TRIES,
		O_USER,
		O_MACHINE,
		O_JSON,
		O_FULL,
		O_REQUIRE_MA,
	};
	static const struct option opts[] = {
		{"server", required_argument, NULL, O_SERVER},
		{"secret", required_argument, NULL, O_SECRET},
		{"nas-type", required_argument, NULL, O_NAS},
		{"soh", required_argument, NULL, O_SOH},
		{"no-soh", no_argument, NULL, O_NO_SOH},
		{"timeout", required_argument, NULL, O_TIMEOUT},
		{"tries", required_argument, NULL, O_TRIES},
		{"user", required_argument, NULL, O_USER},
		{"machine", required_argument, NULL, O_MACHINE},
		{"json", no_argument, NULL, O_JSON},
		{"full", no_argument, NULL, O_FULL},
		{"require-msg-auth", no_argument, NULL, O_REQUIRE_MA},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *server = NULL, *secret = NULL, *soh_arg = NULL, *user = "nap-client";
	const char *machine = NULL;
	char hostname[256];
	bool no_soh = false, json = false, full = false, refused = false, require_ma = false;
	unsigned no_ma_replies = 0;
	uint32_t nas = NAP_MS_NAS_UNSPECIFIED;
	int64_t timeout_ms = 2000;
	long tries = 3;
	uint8_t soh[NAP_SOH_MAX_LEN + 12], req_auth[NAP_RADIUS_AUTH_LEN], id;
	uint8_t reply[NAP_RADIUS_MAX_LEN];
	size_t soh_len = 0, req_len;
	struct nap_radius_builder *b = NULL;
	struct nap_radius_packet *pkt = NULL;
	const uint8_t *req;
	unsigned bad_replies = 0;
	int fd = -1, c, r, ret = NAPCTL_EXIT_ERROR;
	json_t *dumped = NULL, *summary = NULL;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case O_SERVER:
			server = optarg;
			break;
		case O_SECRET:
			secret = optarg;
			break;
		case O_NAS: {
			enum nap_enforcement ep;

			/* Enforcement points are numbered as MS-Network-Access-Server-Type. */
			if (nap_enforcement_from_name(optarg, &ep) < 0)
				return ctl_usage_error(cmd, "unknown --nas-type '%s'", optarg);
			nas = (uint32_t)ep;
			break;
		}
		case O_SOH:
			soh_arg = optarg;
			break;
		case O_NO_SOH:
			no_soh = true;
			break;
		case O_TIMEOUT:
			if (ctl_parse_ms(optarg, &timeout_ms) < 0 || timeout_ms <= 0 ||
			    timeout_ms > 600000)
				return ctl_usage_error(cmd, "bad --timeout '%s'", optarg);
			break;
		case O_TRIES: {
			char *end;

			tries = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || tries < 1 || tries > 100)
				return ctl_usage_error(cmd, "bad --tries '%s'", optarg);
			break;
		}
		case O_USER:
			user = optarg;
			break;
		case O_MACHINE:
			machine = optarg;
			break;
		case O_JSON:
			json = true;
			break;
		case O_FULL:
			full = true;
			break;
		case O_REQUIRE_MA:
			require_ma = true;
			break;
		case 'h':
			ctl_help(cmd);
			return 0;
		default:
			return ctl_usage_error(cmd, "bad option");
		}
	}
	if (optind != argc)
		return ctl_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
	if (server == NULL || secret == NULL || *secret == '\0')
		return ctl_usage_error(cmd, "--server and --secret are required");
	if (soh_arg != NULL && no_soh)
		return ctl_usage_error(cmd, "--soh and --no-soh exclude each other");
	if (strlen(user) == 0 || strlen(user) > 253)
		return ctl_usage_error(cmd, "bad --user");
	if (machine == NULL) {
		if (gethostname(hostname, sizeof(hostname)) < 0)
			snprintf(hostname, sizeof(hostname), "nap-client");
		hostname[sizeof(hostname) - 1] = '\0';
		machine = hostname;
	}
	if (strlen(machine) == 0 || strlen(machine) > NAP_RADIUS_VSA_MAX_VALUE)
		return ctl_usage_error(cmd, "bad --machine");
	if (soh_arg != NULL && load_soh(soh_arg, soh, sizeof(soh), &soh_len) != 0)
		return NAPCTL_EXIT_ERROR;

	if ((b = malloc(sizeof(*b))) == NULL || (pkt = malloc(sizeof(*pkt))) == NULL) {
		ctl_error("radius query: out of memory");
		goto out;
	}
	if (RAND_bytes(&id, 1) != 1 || RAND_bytes(req_auth, sizeof(req_auth)) != 1) {
		ctl_error("radius query: no randomness");
		goto out;
	}
	nap_radius_build_init(b, NAP_RADIUS_ACCESS_REQUEST, id, req_auth);
	r = nap_radius_add_attr(b, NAP_RADIUS_USER_NAME, user, strlen(user));
	if (r == 0)
		r = nap_radius_add_u32(b, NAP_RADIUS_SERVICE_TYPE,
				       NAP_RADIUS_SERVICE_AUTHORIZE_ONLY);
	if (r == 0)
		r = nap_radius_add_attr(b, NAP_RADIUS_NAS_IDENTIFIER, "napctl", 6);
	if (r == 0)
		r = nap_radius_add_ms_u32(b, NAP_MS_NETWORK_ACCESS_SERVER_TYPE, nas);
	if (r == 0)
		r = nap_radius_add_vsa(b, NAP_VENDOR_MICROSOFT, NAP_MS_MACHINE_NAME, machine,
				       strlen(machine));
	if (r == 0 && soh_arg != NULL)
		r = nap_radius_add_ms_split(b, NAP_MS_QUARANTINE_SOH, soh, soh_len);
	if (r == 0 && no_soh)
		r = nap_radius_add_ms_u32(b, NAP_MS_NOT_QUARANTINE_CAPABLE, 1);
	if (r == 0)
		r = nap_radius_add_message_authenticator(b);
	if (r == 0)
		r = nap_radius_finish_request(b, (const uint8_t *)secret, strlen(secret), &req,
					      &req_len);
	if (r < 0) {
		ctl_error("radius query: cannot build the request: %s", strerror(-r));
		goto out;
	}
	if ((r = connect_server(server, &fd)) < 0) {
		ctl_usage_error(cmd, "bad --server '%s': %s", server, strerror(-r));
		ret = NAPCTL_EXIT_USAGE;
		goto out;
	}

	for (long t = 0; t < tries; t++) {
		int64_t sent_at = now_us(), deadline = sent_at + timeout_ms * 1000;

		/* A retransmission is the same packet: same id, same authenticator. */
		if (send(fd, req, req_len, 0) < 0 && errno != ECONNREFUSED) {
			ctl_error("radius query: send to %s: %s", server, strerror(errno));
			goto out;
		}
		for (;;) {
			struct pollfd pfd = {fd, POLLIN, 0};
			struct nap_err err = {0, NULL};
			int64_t left = (deadline - now_us() + 999) / 1000;
			ssize_t n;

			if (left <= 0)
				break;
			if (poll(&pfd, 1, (int)left) <= 0)
				continue;
			n = recv(fd, reply, sizeof(reply), 0);
			if (n < 0) {
				if (errno == ECONNREFUSED)
					refused = true;
				continue;
			}
			if (nap_radius_decode(reply, (size_t)n, pkt, &err) < 0 || pkt->id != id ||
			    nap_radius_verify_response(pkt, req_auth, (const uint8_t *)secret,
						       strlen(secret)) < 0) {
				bad_replies++;
				continue;
			}
			/*
			 * BlastRADIUS: a reply without Message-Authenticator could be forged;
			 * napvd always sends one, FreeRADIUS 3.2.1 does not.
			 */
			if (pkt->msg_auth_offset == 0 && require_ma) {
				no_ma_replies++;
				continue;
			}
			{
				struct nap_err derr = {0, NULL};
				bool problem;

				if (dump_radius(reply, (size_t)n, NULL, &dumped, &problem, &derr) <
				    0) {
					ctl_error("radius query: reply from %s: %s at offset %zu",
						  server, derr.what != NULL ? derr.what : "bad",
						  derr.offset);
					goto out;
				}
			}
			summary = summarise(dumped, (double)(now_us() - sent_at) / 1000.0);
			if (full)
				json_object_set(summary, "reply", dumped);
			if (json) {
				json_dumpf(summary, stdout,
					   JSON_INDENT(2) | JSON_REAL_PRECISION(6));
				fputc('\n', stdout);
			} else {
				dump_text(stdout, summary);
			}
			fflush(stdout);
			switch (pkt->code) {
			case NAP_RADIUS_ACCESS_ACCEPT:
				ret = 0;
				break;
			case NAP_RADIUS_ACCESS_REJECT:
				ret = NAPCTL_EXIT_REJECT;
				break;
			default:
				ret = NAPCTL_EXIT_ERROR;
				break;
			}
			goto out;
		}
	}
	ctl_error("radius query: no valid reply from %s after %ld tr%s of %lld ms%s%s", server,
		  tries, tries == 1 ? "y" : "ies", (long long)timeout_ms,
		  refused ? " (connection refused)" : "",
		  bad_replies > 0     ? " (replies that did not verify were dropped)"
		  : no_ma_replies > 0 ? " (replies without Message-Authenticator were dropped)"
				      : "");
out:
	json_decref(summary);
	json_decref(dumped);
	if (fd >= 0)
		close(fd);
	free(pkt);
	if (b != NULL)
		nap_wipe(b, sizeof(*b));
	free(b);
	return ret;
}
