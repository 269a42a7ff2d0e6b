// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * libFuzzer harness for the SoHR the agent acts on (agent_sohr_parse: the SoHR a DHCP hook
 * hands over from the DHCPACK). Input: untrusted bytes, an SoHR or anything else. Nothing to
 * check beyond "no crash, no sanitizer report": a refused input leaves no instruction behind.
 */
#include <stdlib.h>
#include <string.h>

#include "agent.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct agent_sohr_info info;
	char err[256];

	if (agent_sohr_parse(data, size, &info, err, sizeof(err)) != 0 && info.instructions != 0)
		abort();
	return 0;
}
