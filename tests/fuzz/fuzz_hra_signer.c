// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * libFuzzer harness for naphrad's signer protocol (daemons/naphrad/signer_proto.c): the input is
 * decoded as a request (what the signer reads from a network-facing process it does not trust)
 * and as a reply (what naphrad reads back); whatever decodes is encoded again and must decode
 * to the same message.
 */
#include <stdlib.h>
#include <string.h>

#include "naphrad.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t buf[NAPHRAD_SIGNER_MSG_MAX];

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct naphrad_signer_request rq, rq2;
	struct naphrad_signer_reply rp, rp2;
	long n;

	if (naphrad_signer_request_decode(data, size, &rq) == 0) {
		n = naphrad_signer_request_encode(&rq, buf, sizeof(buf));
		if (n < 0 || naphrad_signer_request_decode(buf, (size_t)n, &rq2) != 0 ||
		    (size_t)n != size || memcmp(buf, data, size) != 0)
			abort();
		/* the name rules on whatever names came */
		(void)naphrad_cn_ok(rq.t.cn);
		for (size_t i = 0; i < rq.t.n_dns; i++)
			(void)naphrad_dns_name_ok(rq.t.dns[i]);
	}
	if (naphrad_signer_reply_decode(data, size, &rp) == 0) {
		n = naphrad_signer_reply_encode(&rp, buf, sizeof(buf));
		/* an error text is cut to its buffer: only the framing must round-trip */
		if (n < 0 || naphrad_signer_reply_decode(buf, (size_t)n, &rp2) != 0 ||
		    rp2.status != rp.status || rp2.id != rp.id)
			abort();
	}
	return 0;
}
