// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * libFuzzer harness for the answer napagentd's HCEP client reads from an HRA (hcep.h): the
 * response header lines as libcurl hands them over (agent_hra_header_line: Content-Type,
 * HCEP-SoHR, the AFW headers), then the body (agent_hra_parse_answer: the SoHR's base64 and
 * SoHR, the PKCS#7 chain, the leaf, its validity and signature). Input: header lines ending in
 * CRLF or LF up to an empty line, then the body (seeds: real naphrad answers). Checks beyond
 * "no crash, no sanitizer report": a refused answer holds nothing, an accepted compliant one
 * has a leaf, and a non-compliant one none.
 */
#include <stdlib.h>
#include <string.h>

#include "agent.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct agent_hra_headers h;
	struct agent_hra_answer *a;
	const uint8_t *p = data, *end = data + size;
	char err[256];
	int r;

	memset(&h, 0, sizeof(h));
	while (p < end) {
		const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl != NULL ? (size_t)(nl - p) + 1 : (size_t)(end - p);

		if (n == 1 || (n == 2 && p[0] == '\r')) {
			p += n;
			break; /* the empty line: the body follows */
		}
		agent_hra_header_line(&h, (const char *)p, n);
		p += n;
	}
	if ((a = malloc(sizeof(*a))) == NULL)
		return 0;
	/* a fixed "now" inside the seeds' validity keeps them on the accepting path */
	r = agent_hra_parse_answer(&h, p, (size_t)(end - p), NULL, 1795650000, a, err,
				   sizeof(err));
	if (r < 0 && (a->leaf != NULL || a->cas != NULL))
		abort();
	if (r == 0 && a->compliant != (a->leaf != NULL))
		abort();
	agent_hra_answer_clear(a);
	free(a);
	return 0;
}
