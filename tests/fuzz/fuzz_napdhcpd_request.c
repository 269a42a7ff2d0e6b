// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * libFuzzer harness for napdhcpd's request path without sockets: DHCP decode, the NAP
 * sub-options, client identity, scope choice, the RFC 2131 state machine, the lease table and
 * the reply builder (daemons/napdhcpd/server.c, lease.c, nap.c's classification and options).
 * Handles untrusted input.
 *
 * Input: one flag byte, then the datagram. Bits 0-1 pick the interface's scope (none, a, nap,
 * drop); bit 2 makes it arrive on a listen socket; bit 3 moves the clock past every lease and
 * offer first (expiry paths). State carries over between inputs (the lease table fills up, as it
 * would in the daemon). Every queued reply must decode as a BOOTREPLY.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nap/log.h"
#include "napdhcpd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char fuzz_conf[] =
	"[server]\nlisten = 127.0.0.1:6767\nserver_id = 10.1.0.1\n"
	"[scope a]\nsubnet = 10.1.0.0/24\npool = 10.1.0.100-10.1.0.120\nrouter = 10.1.0.1\n"
	"dns = 10.1.0.53\ndomain = napt.test\nroutes = 10.9.0.0/16 10.1.0.1, 0.0.0.0/0 10.1.0.1\n"
	"reservation = 02:00:00:00:00:99 10.1.0.50 printer\n"
	"[scope nap]\nsubnet = 10.2.0.0/24\npool = 10.2.0.100-10.2.0.110\nrouter = 10.2.0.1\n"
	"nap = on\nnap_incapable = restricted\nnap_fail = restricted\nnap_remediation = 10.2.0.12\n"
	"exempt_mac = 02:00:00:00:00:42\n"
	"[scope drop]\nsubnet = 10.3.0.0/24\npool = 10.3.0.100-10.3.0.101\nnap = on\n"
	"nap_fail = drop\nnap_incapable = drop\n"
	"[class q]\ndns = 10.2.0.99\n";

static struct dhcpd d;
static struct nap_dhcp_packet reply;

static void
fuzz_init(void)
{
	struct dhcpd_config *c = NULL;
	char err[256];

	log_init("fuzz", true, 0);
	if (dhcpd_config_parse_string(fuzz_conf, "fuzz.conf", &c, err, sizeof(err)) < 0 ||
	    dhcpd_init(&d, c) < 0)
		abort();
	d.now = 1700000000;
	d.now_ms = 1000000;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int scopes[4] = {-1, 0, 1, 2};
	struct dhcpd_rx rx = {.sock = 0};
	struct nap_err err;
	uint8_t flags;

	if (d.conf == NULL)
		fuzz_init();
	if (size < 1)
		return 0;
	flags = data[0];
	rx.scope = scopes[flags & 3];
	rx.is_listen = (flags & 4) != 0;
	rx.ifindex = rx.is_listen ? 0 : 3;
	rx.src = rx.is_listen ? 0x7f000001 : 0;
	rx.src_port = rx.is_listen ? 40000 : 68;
	rx.dst = rx.is_listen ? 0x7f000001 : 0xffffffffu;
	rx.local = 0x0a010001;
	if (flags & 8) {
		d.now += 100000;
		d.now_ms += 100000 * 1000;
		dhcpd_tick(&d);
	}
	d.now_ms++;
	dhcpd_handle(&d, data + 1, size - 1, &rx);
	for (size_t i = 0; i < d.n_out; i++) {
		if (nap_dhcp_decode(d.outq[i].buf, d.outq[i].len, &reply, &err) < 0 ||
		    reply.hdr.op != NAP_DHCP_BOOTREPLY || d.outq[i].len > DHCPD_OUT_MAX)
			abort();
	}
	dhcpd_commit_and_flush(&d); /* no journal, no sender: just the bookkeeping */
	d.n_out = 0;
	return 0;
}
