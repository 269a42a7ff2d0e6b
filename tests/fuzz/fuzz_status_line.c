// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * libFuzzer harness for status-message lines (lib/store/status.c, nap_status_msg_parse): the
 * ingester reads batch files from a share others can write to. The input is split into lines
 * as the ingester splits a file; each line must parse cleanly or be refused with a reason, and
 * an accepted message must hold what the store relies on: a well-formed id whose parts match,
 * bounded NUL-terminated strings, a non-negative revision, an exemption only on branch exempt.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nap/status.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_str(const char *s, size_t cap)
{
	if (memchr(s, '\0', cap) == NULL)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
		struct nap_status_msg m;
		char why[256];
		char inst[NAP_STATUS_INSTANCE_LEN + 1];
		uint64_t seq;

		why[0] = '\0';
		if (nap_status_msg_parse(p, len, &m, why, sizeof(why)) == 0) {
			if (nap_status_id_parse(m.id, inst, &seq) != 0 || strcmp(inst, m.napvd) != 0 ||
			    seq != m.seq || seq == 0 || m.hsr_revision < 0)
				abort();
			check_str(m.nas, sizeof(m.nas));
			check_str(m.client, sizeof(m.client));
			check_str(m.machine, sizeof(m.machine));
			check_str(m.site, sizeof(m.site));
			check_str(m.enforcement, sizeof(m.enforcement));
			check_str(m.result, sizeof(m.result));
			check_str(m.branch, sizeof(m.branch));
			check_str(m.action, sizeof(m.action));
			check_str(m.exemption, sizeof(m.exemption));
			check_str(m.correlation_id, sizeof(m.correlation_id));
			if (m.exemption[0] != '\0' && strcmp(m.branch, "exempt") != 0)
				abort();
		} else if (why[0] == '\0' || memchr(why, '\0', sizeof(why)) == NULL) {
			abort(); /* a refusal always says why */
		}
		p += len + (nl != NULL);
	}
	return 0;
}
