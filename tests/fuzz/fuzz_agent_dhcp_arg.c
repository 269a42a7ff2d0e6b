// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * libFuzzer harness for what a DHCP hook hands to `napagentd --sohr`: the ACK's option 43 as
 * dhclient prints it ("dc:3:4e:41:50"), as dhcpcd prints it (plain hex) or a bare SoHR in hex
 * (agent_dhcp_sohr_from_arg: text to bytes, then the DHCP codec's NAP sub-option parser).
 * Input: untrusted text. Checks: no crash or sanitizer report; a success returns at most cap
 * bytes, "nothing to act on" returns none.
 */
#include <stdlib.h>
#include <string.h>

#include "dhcp_hook.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t out[NAP_DHCP_NAP_SOH_MAX];
	uint8_t mask[4];
	char err[256], *arg;
	size_t n = (size_t)-1;
	bool marker, has_mask;
	int r;

	if (size > 3 * 4096 + 16)
		return 0;
	arg = malloc(size + 1);
	if (arg == NULL)
		return 0;
	memcpy(arg, data, size);
	arg[size] = '\0';
	r = agent_dhcp_sohr_from_arg(arg, out, sizeof(out), &n, &marker, mask, &has_mask, err,
				     sizeof(err));
	if (r == 0 && n > sizeof(out))
		abort();
	if (r != 0 && n != 0)
		abort();
	if (r < 0 && err[0] == '\0')
		abort();
	free(arg);
	return 0;
}
