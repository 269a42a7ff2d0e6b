// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * libFuzzer harness for the collectors' parsers (daemons/napagentd/collect*.c): byte 0 picks
 * the parser (nft -j JSON, iptables-save text, apt.conf text, a ClamAV database header), the
 * rest is its input, untrusted bytes. Results must be a known status with a printable,
 * NUL-terminated detail; the apt.conf value must be NUL-terminated within its buffer.
 */
#include <stdlib.h>
#include <string.h>

#include "collect-int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_result(const struct agent_check_result *r)
{
	size_t n = strnlen(r->detail, sizeof(r->detail));

	if (r->status > NAP_CHECK_ERROR || n == sizeof(r->detail))
		abort();
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)r->detail[i] < 0x20)
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct agent_check_result r;
	char *text, val[64];

	if (size < 1 || size > 1 << 20)
		return 0;
	text = malloc(size);
	if (text == NULL)
		return 0;
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	memset(&r, 0, sizeof(r));
	switch (data[0] % 4) {
	case 0:
		collect_parse_nft_json(text, size - 1, &r);
		check_result(&r);
		break;
	case 1:
		collect_parse_iptables_save(text, &r);
		check_result(&r);
		if (r.status == NAP_CHECK_ERROR)
			abort();
		break;
	case 2:
		if (collect_apt_conf_value(text, "APT::Periodic::Unattended-Upgrade", val,
					   sizeof(val)) &&
		    strnlen(val, sizeof(val)) == sizeof(val))
			abort();
		break;
	default:
		if (collect_cvd_time(data + 1, size - 1) < -1)
			abort();
		break;
	}
	free(text);
	return 0;
}
