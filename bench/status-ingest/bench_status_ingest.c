// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * bench_status_ingest STORE_URI [BATCH]: the ingester's work per batch file, timed for
 * BENCH_SECONDS: split the file's text into lines, parse each strictly (nap_status_msg_parse)
 * and store the batch in one transaction (nap_store_status_put), as napsited's ingest.c does.
 * Files are made as napvd writes them (ids <instance>-<seq>, 10,000 machines, real-looking
 * values); every tenth batch is delivered twice (a shipper retry), which must add nothing.
 *
 * Prints "messages N new N duplicates N seconds S rate R/s" and checks, at the end, that the
 * store holds exactly the new messages (count(*) and sum of client_last.messages): "lost 0".
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nap/status.h"
#include "nap/store.h"
#include "nap/util.h"
#include "../../lib/store/store-int.h"

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One batch file's text: n lines from sequence first on. */
static size_t
make_batch(char *buf, size_t cap, uint64_t first, size_t n, int64_t t0)
{
	static const char *const results[] = {"compliant", "noncompliant", "compliant",
					      "compliant"};
	size_t len = 0;
	char ts[32];

	for (size_t i = 0; i < n; i++) {
		uint64_t seq = first + i;
		int k;

		nap_format_time(t0 + (int64_t)(seq / 50), ts, sizeof(ts));
		k = snprintf(buf + len, cap - len,
			     "{\"id\":\"0123456789abcdef-%" PRIu64 "\",\"time\":\"%s\",\"nas\":"
			     "\"10.0.%u.%u\",\"client\":\"dhcp-%u\",\"machine\":\"pc-%05" PRIu64
			     ".corp.example.org\",\"site\":\"S01\",\"enforcement\":\"dhcp\","
			     "\"result\":\"%s\",\"branch\":\"matches\",\"action\":\"%s\","
			     "\"hsr_revision\":42,\"correlation_id\":\"00112233445566778899aabbccddeeff"
			     "0011223344%06" PRIx64 "\"}\n",
			     seq, ts, (unsigned)(seq % 7), (unsigned)(seq % 250), (unsigned)(seq % 4),
			     seq % 10000, results[seq % 4],
			     seq % 4 == 1 ? "restricted" : "full", seq & 0xffffff);
		if (k < 0 || (size_t)k >= cap - len)
			break;
		len += (size_t)k;
	}
	return len;
}

/* The ingester's loop over one file's text. Returns parsed messages, -1 on a bad line. */
static long
parse_batch(const char *buf, size_t len, struct nap_status_msg *out)
{
	long n = 0;
	char why[256];

	for (size_t off = 0; off < len;) {
		const char *nl = memchr(buf + off, '\n', len - off);
		size_t l = nl != NULL ? (size_t)(nl - (buf + off)) : len - off;

		if (l > 0 && nap_status_msg_parse(buf + off, l, &out[n], why, sizeof(why)) != 0) {
			fprintf(stderr, "bench: bad line: %s\n", why);
			return -1;
		}
		n += l > 0;
		off += l + 1;
	}
	return n;
}

int
main(int argc, char **argv)
{
	const char *secs_env = getenv("BENCH_SECONDS");
	double secs = secs_env != NULL ? atof(secs_env) : 10, t0, t1;
	size_t batch = argc > 2 ? strtoul(argv[2], NULL, 10) : 5000;
	struct nap_store_err err = {{0}};
	struct nap_status_msg *msgs;
	struct nap_store *st;
	uint64_t seq = 1, total = 0, fresh = 0, dups = 0, batches = 0;
	int64_t rows = -1, counted = -1;
	size_t cap;
	char *buf;

	if (argc < 2 || batch == 0 || secs <= 0) {
		fprintf(stderr, "usage: bench_status_ingest STORE_URI [BATCH] (BENCH_SECONDS)\n");
		return 2;
	}
	if (nap_store_open(argv[1], &st, &err) != 0) {
		fprintf(stderr, "bench: open %s: %s\n", argv[1], err.msg);
		return 1;
	}
	cap = batch * 600;
	buf = malloc(cap);
	msgs = calloc(batch, sizeof(*msgs));
	if (buf == NULL || msgs == NULL)
		return 1;
	t0 = now_s();
	t1 = t0;
	while (t1 - t0 < secs) {
		bool again = batches % 10 == 9;
		uint64_t first = again ? seq - batch : seq;
		size_t len = make_batch(buf, cap, first, batch, 1795600800);
		long n;
		size_t ins = 0;
		double p0 = now_s();

		/* building the text is napvd's side: not timed */
		t0 += p0 - t1;
		if ((n = parse_batch(buf, len, msgs)) < 0)
			return 1;
		if (nap_store_status_put(st, msgs, (size_t)n, 1795700000, &ins, &err) != 0) {
			fprintf(stderr, "bench: put: %s\n", err.msg);
			return 1;
		}
		total += (uint64_t)n;
		fresh += ins;
		dups += (uint64_t)n - ins;
		if (!again)
			seq += batch;
		batches++;
		t1 = now_s();
	}
	if (q_int(st, "SELECT count(*) FROM status_messages", SP_NONE, &rows, &err) != 0 ||
	    q_int(st, "SELECT sum(messages) FROM client_last", SP_NONE, &counted, &err) != 0) {
		fprintf(stderr, "bench: count: %s\n", err.msg);
		return 1;
	}
	printf("%s messages %" PRIu64 " new %" PRIu64 " duplicates %" PRIu64 " batches %" PRIu64
	       " seconds %.2f rate %.0f lost %" PRId64 " counted_twice %" PRId64 "\n",
	       nap_store_backend(st), total, fresh, dups, batches, t1 - t0,
	       (double)total / (t1 - t0), (int64_t)(seq - 1) - rows,
	       counted - rows);
	nap_store_close(st);
	free(buf);
	free(msgs);
	return rows == (int64_t)(seq - 1) && counted == rows && fresh == seq - 1 ? 0 : 3;
}
