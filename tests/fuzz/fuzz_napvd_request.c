// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * libFuzzer harness for napvd's whole request path without sockets: client lookup, RADIUS
 * decode, code check, authentication, duplicate cache, the engine (SoH decode, validation,
 * action table, reply and SoHR building) and the status record. Handles untrusted input.
 *
 * Input: one flag byte, then the datagram. Flag bit 0 makes the harness sign the datagram with
 * the fixed client's secret (a correct Message-Authenticator is written where the packet has
 * one), so the fuzzer gets past authentication into the engine; bit 1 sends it from an address
 * that is not a client. Every reply is decoded and verified as a NAS would.
 */
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "nap/log.h"
#include "nap/radius.h"
#include "napvd.h"

#define FUZZ_SECRET "fuzzing-secret"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char fuzz_conf[] =
	"[hsr]\nfile = /h.json\ntrusted_keys = /k.pem\n"
	"[client nas]\naddress = 127.0.0.0/8\nsecret = " FUZZ_SECRET "\n"
	"[enforcement dhcp]\nnoncapable = reject\nremediation_servers = 192.0.2.1\n"
	"user_class = restricted\nwsh_checks = firewall antivirus\n"
	"[enforcement hra]\nnoncompliant = probation\n";

static struct napvd d;
static struct nap_hsr_policy policy = {.id = "p1", .package = "openssl", .min_version = "3"};
static struct nap_hsr hsr = {.site = "S01", .revision = 5, .n_policies = 1, .policies = &policy};
static struct nap_hsr_set hsr_set = {.n = 1, .v = &hsr};
static int64_t mono;

static int64_t
fuzz_mono(void *arg)
{
	(void)arg;
	return mono;
}

static int64_t
fuzz_real(void *arg)
{
	(void)arg;
	return 1764079200;
}

static void
fuzz_init(void)
{
	char err[256];

	if (d.conf != NULL)
		return;
	log_init("fuzz", true, 0);
	if (napvd_config_parse_string(fuzz_conf, "fuzz.conf", &d.conf, err, sizeof(err)) < 0)
		abort();
	d.clock = (struct napvd_clock){.mono_ms = fuzz_mono, .real_s = fuzz_real};
	d.spool.fd = d.spool.dirfd = -1;
	d.hsr.set = &hsr_set;
	d.hsr.refreshed_at = 1764079200 - 5;
	if (napvd_scratch_new(&d.scratch) < 0 || napvd_dup_init(&d.dup, 256, 1 << 20, 30000) < 0)
		abort();
}

/* Write a correct Message-Authenticator into a request, as a NAS with the secret would. */
static void
fuzz_sign(uint8_t *p, size_t len)
{
	static struct nap_radius_packet pkt;
	unsigned int mlen = 0;
	uint8_t mac[EVP_MAX_MD_SIZE];

	if (nap_radius_decode(p, len, &pkt, NULL) < 0 || pkt.msg_auth_offset == 0)
		return;
	memset(p + pkt.msg_auth_offset, 0, NAP_RADIUS_AUTH_LEN);
	if (HMAC(EVP_md5(), FUZZ_SECRET, (int)strlen(FUZZ_SECRET), p, pkt.length, mac, &mlen) ==
	    NULL)
		abort();
	memcpy(p + pkt.msg_auth_offset, mac, NAP_RADIUS_AUTH_LEN);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t pkt[NAP_RADIUS_MAX_LEN], out[NAP_RADIUS_MAX_LEN];
	static struct nap_radius_packet reply;
	struct sockaddr_in from = {.sin_family = AF_INET, .sin_port = htons(5000)};
	size_t len, out_len = 0;
	uint8_t flags;

	fuzz_init();
	if (size < 1)
		return 0;
	flags = data[0];
	len = size - 1 > sizeof(pkt) ? sizeof(pkt) : size - 1;
	memcpy(pkt, data + 1, len);
	if (flags & 1)
		fuzz_sign(pkt, len);
	from.sin_addr.s_addr = htonl((flags & 2) ? 0x0a000001 : 0x7f000001);
	mono += 1000; /* each input a second later: the duplicate cache expires as well */
	if (napvd_request(&d, (const struct sockaddr *)&from, pkt, len, out, &out_len) !=
	    NAPVD_REPLY)
		return 0;
	/* Whatever napvd answers must be a well-formed, correctly signed response. */
	if (out_len < NAP_RADIUS_HDR_LEN || out_len > NAP_RADIUS_MAX_LEN)
		abort();
	if (nap_radius_decode(out, out_len, &reply, NULL) < 0)
		abort();
	if (reply.code != NAP_RADIUS_ACCESS_ACCEPT && reply.code != NAP_RADIUS_ACCESS_REJECT)
		abort();
	if (nap_radius_verify_response(&reply, pkt + 4, (const uint8_t *)FUZZ_SECRET,
				       strlen(FUZZ_SECRET)) < 0)
		abort();
	/* Group commit is a no-op here (spool off) but must not fail. */
	napvd_spool_commit(&d.spool, &d.m);
	return 0;
}
