/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * radmutate: a RADIUS client for the integration tests that napvd must survive. It builds valid
 * Access-Requests carrying an SoH (its own encoder, independent of libnap's RADIUS codec, so the
 * two check each other), then sends mutants of them: truncated, oversized, bit-flipped and
 * attribute-length-mangled packets without a valid Message-Authenticator, the same with the
 * Message-Authenticator recomputed after the mutation, and well-framed signed requests whose SoH
 * is garbage (truncated, bit-flipped, length fields overwritten, extended). Valid requests are
 * interleaved and must be answered every time.
 *
 *   radmutate mutate --server ADDR:PORT --secret S --soh HEX [--iterations N] [--seed N]
 *   radmutate dup    --server ADDR:PORT --secret S --soh HEX
 *
 * "dup" sends one request twice and checks that both replies are byte-identical (RFC 5080).
 * The last output line is machine-readable (key=value). Exit 0 on success, 1 on failure, 2 on
 * usage errors. Reads replies from the network: untrusted input, handled with bounds checks.
 */
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "nap/util.h"
#include "nap/wire.h"

#define RM_HDR_LEN      20
#define RM_AUTH_LEN     16
#define RM_MAX_PKT      4096
#define RM_BUF          (RM_MAX_PKT + 512) /* room for oversized mutants */
#define RM_VSA_MAX      247
#define RM_MAX_SOH      4000
#define RM_MS_VENDOR    311
#define RM_BATCH        8 /* mutants between two valid requests: keeps the socket buffer small */
#define RM_MAX_MISSED   3 /* consecutive unanswered valid requests that end the run */

enum rm_attr {
	RM_USER_NAME = 1,
	RM_SERVICE_TYPE = 6,
	RM_VSA = 26,
	RM_MSG_AUTH = 80,
};

enum rm_ms {
	RM_MS_NAS_TYPE = 47,
	RM_MS_MACHINE_NAME = 50,
	RM_MS_SOH = 55,
};

struct rm_ctx {
	int fd;
	const char *secret;
	size_t secret_len;
	uint8_t soh[RM_MAX_SOH];
	size_t soh_len;
	uint8_t next_id;
	unsigned timeout_ms;
};

struct rm_pkt {
	uint8_t buf[RM_BUF];
	size_t len;
	size_t ma_off; /* offset of the Message-Authenticator value */
};

static uint32_t rm_rng_state;

static uint32_t
rm_rand(void)
{
	/* xorshift32: reproducible from --seed */
	uint32_t x = rm_rng_state;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	rm_rng_state = x;
	return x;
}

static size_t
rm_rand_below(size_t n)
{
	return n == 0 ? 0 : rm_rand() % n;
}

static bool
rm_add_attr(struct nap_cbb *cbb, uint8_t type, const void *v, size_t n)
{
	return n <= 253 && nap_cbb_add_u8(cbb, type) && nap_cbb_add_u8(cbb, (uint8_t)(n + 2)) &&
	       nap_cbb_add_bytes(cbb, v, n);
}

static bool
rm_add_ms(struct nap_cbb *cbb, uint8_t vtype, const void *v, size_t n)
{
	return n <= RM_VSA_MAX && nap_cbb_add_u8(cbb, RM_VSA) &&
	       nap_cbb_add_u8(cbb, (uint8_t)(n + 8)) && nap_cbb_add_u32(cbb, RM_MS_VENDOR) &&
	       nap_cbb_add_u8(cbb, vtype) && nap_cbb_add_u8(cbb, (uint8_t)(n + 2)) &&
	       nap_cbb_add_bytes(cbb, v, n);
}

static int
rm_hmac_md5(const struct rm_ctx *c, const uint8_t *p, size_t n, uint8_t out[16])
{
	unsigned out_len = 0;

	if (HMAC(EVP_md5(), c->secret, (int)c->secret_len, p, n, out, &out_len) == NULL ||
	    out_len != 16)
		return -EIO;
	return 0;
}

/* (Re)compute the Message-Authenticator over the first len bytes (RFC 3579 §3.2). */
static int
rm_sign(const struct rm_ctx *c, struct rm_pkt *pkt)
{
	uint8_t mac[16];

	if (pkt->ma_off == 0 || pkt->ma_off + 16 > pkt->len)
		return -EINVAL;
	memset(pkt->buf + pkt->ma_off, 0, 16);
	if (rm_hmac_md5(c, pkt->buf, pkt->len, mac) < 0)
		return -EIO;
	memcpy(pkt->buf + pkt->ma_off, mac, 16);
	return 0;
}

/* A signed Access-Request carrying soh (split over MS-Quarantine-SoH VSAs of <= 247 bytes). */
static int
rm_build(struct rm_ctx *c, const uint8_t *soh, size_t soh_len, struct rm_pkt *pkt)
{
	static const char user[] = "host/mutant.example";
	static const char machine[] = "mutant.example";
	struct nap_cbb cbb;
	uint8_t auth[RM_AUTH_LEN], zero[16] = { 0 }, u32[4];
	size_t off, n;
	bool ok;

	if (RAND_bytes(auth, sizeof(auth)) != 1)
		return -EIO;
	nap_cbb_init_fixed(&cbb, pkt->buf, RM_MAX_PKT);
	ok = nap_cbb_add_u8(&cbb, 1) && nap_cbb_add_u8(&cbb, c->next_id++) &&
	     nap_cbb_add_u16(&cbb, 0) && nap_cbb_add_bytes(&cbb, auth, sizeof(auth));
	ok = ok && rm_add_attr(&cbb, RM_USER_NAME, user, strlen(user));
	u32[0] = 0, u32[1] = 0, u32[2] = 0, u32[3] = 17; /* Authorize-Only */
	ok = ok && rm_add_attr(&cbb, RM_SERVICE_TYPE, u32, 4);
	u32[3] = 3; /* DHCP */
	ok = ok && rm_add_ms(&cbb, RM_MS_NAS_TYPE, u32, 4);
	ok = ok && rm_add_ms(&cbb, RM_MS_MACHINE_NAME, machine, strlen(machine));
	for (off = 0; ok && off < soh_len; off += n) {
		n = soh_len - off < RM_VSA_MAX ? soh_len - off : RM_VSA_MAX;
		ok = rm_add_ms(&cbb, RM_MS_SOH, soh + off, n);
	}
	ok = ok && rm_add_attr(&cbb, RM_MSG_AUTH, zero, sizeof(zero));
	if (!ok)
		return -EMSGSIZE;
	pkt->len = nap_cbb_len(&cbb);
	pkt->ma_off = pkt->len - 16;
	pkt->buf[2] = (uint8_t)(pkt->len >> 8);
	pkt->buf[3] = (uint8_t)pkt->len;
	return rm_sign(c, pkt);
}

static int
rm_send(const struct rm_ctx *c, const struct rm_pkt *pkt)
{
	if (send(c->fd, pkt->buf, pkt->len, 0) < 0) {
		/* ECONNREFUSED from an earlier ICMP: napvd not listening; report, go on */
		if (errno == ECONNREFUSED)
			return -ECONNREFUSED;
		return -errno;
	}
	return 0;
}

static bool
rm_reply_ok(const struct rm_ctx *c, const struct rm_pkt *req, const uint8_t *r, size_t n)
{
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned md_len = 0;
	size_t len;
	EVP_MD_CTX *ctx;
	bool ok;

	if (n < RM_HDR_LEN || r[1] != req->buf[1])
		return false;
	len = (size_t)r[2] << 8 | r[3];
	if (len < RM_HDR_LEN || len > n)
		return false;
	ctx = EVP_MD_CTX_new();
	if (ctx == NULL)
		return false;
	ok = EVP_DigestInit_ex(ctx, EVP_md5(), NULL) == 1 &&
	     EVP_DigestUpdate(ctx, r, 4) == 1 &&
	     EVP_DigestUpdate(ctx, req->buf + 4, RM_AUTH_LEN) == 1 &&
	     EVP_DigestUpdate(ctx, r + RM_HDR_LEN, len - RM_HDR_LEN) == 1 &&
	     EVP_DigestUpdate(ctx, c->secret, c->secret_len) == 1 &&
	     EVP_DigestFinal_ex(ctx, md, &md_len) == 1 && md_len == 16 &&
	     memcmp(md, r + 4, 16) == 0;
	EVP_MD_CTX_free(ctx);
	return ok;
}

static int64_t
rm_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Wait for the verified reply to req; other datagrams (answers to mutants) are skipped.
 * Returns the reply length (copied to out) or -ETIMEDOUT.
 */
static long
rm_wait(const struct rm_ctx *c, const struct rm_pkt *req, uint8_t *out, size_t cap)
{
	int64_t deadline = rm_now_ms() + c->timeout_ms;
	struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
	uint8_t r[RM_BUF];
	ssize_t n;

	for (;;) {
		int64_t left = deadline - rm_now_ms();

		if (left <= 0)
			return -ETIMEDOUT;
		if (poll(&pfd, 1, (int)left) <= 0)
			continue;
		n = recv(c->fd, r, sizeof(r), 0);
		if (n < 0)
			continue; /* ECONNREFUSED etc.: keep waiting until the deadline */
		if (!rm_reply_ok(c, req, r, (size_t)n))
			continue;
		if ((size_t)n > cap)
			n = (ssize_t)cap;
		memcpy(out, r, (size_t)n);
		return n;
	}
}

/* Send a request and wait for its answer; true when a verified reply came. */
static bool
rm_roundtrip(struct rm_ctx *c, const struct rm_pkt *req)
{
	uint8_t r[RM_BUF];

	if (rm_send(c, req) < 0)
		return false;
	return rm_wait(c, req, r, sizeof(r)) > 0;
}

/* Walk the attributes of a well-formed packet; return the offset of the k-th (mod count). */
static size_t
rm_pick_attr(const struct rm_pkt *pkt, size_t k)
{
	size_t offs[128], n = 0, off = RM_HDR_LEN;

	while (off + 2 <= pkt->len && n < NAP_ARRAY_SIZE(offs)) {
		offs[n++] = off;
		if (pkt->buf[off + 1] < 2)
			break;
		off += pkt->buf[off + 1];
	}
	return n == 0 ? RM_HDR_LEN : offs[k % n];
}

enum rm_frame_mutation { RM_TRUNCATE, RM_OVERSIZE, RM_BITFLIP, RM_ATTRLEN, RM_FRAME_COUNT };

static const char *const rm_frame_names[RM_FRAME_COUNT] = {
	[RM_TRUNCATE] = "truncate",
	[RM_OVERSIZE] = "oversize",
	[RM_BITFLIP] = "bitflip",
	[RM_ATTRLEN] = "attrlen",
};

/* Mutate the RADIUS framing of a valid packet (the Message-Authenticator is left stale). */
static void
rm_mutate_frame(struct rm_pkt *pkt, enum rm_frame_mutation m)
{
	size_t i, n, at;

	switch (m) {
	case RM_TRUNCATE:
		pkt->len = 1 + rm_rand_below(pkt->len - 1);
		break;
	case RM_OVERSIZE:
		/* Length claims the appended bytes; some mutants exceed the RADIUS maximum */
		n = 1 + rm_rand_below(RM_BUF - pkt->len);
		for (i = 0; i < n; i++)
			pkt->buf[pkt->len + i] = (uint8_t)rm_rand();
		pkt->len += n;
		pkt->buf[2] = (uint8_t)(pkt->len >> 8);
		pkt->buf[3] = (uint8_t)pkt->len;
		break;
	case RM_BITFLIP:
		n = 1 + rm_rand_below(8);
		for (i = 0; i < n; i++) {
			at = rm_rand_below(pkt->len);
			pkt->buf[at] ^= (uint8_t)(1u << rm_rand_below(8));
		}
		break;
	case RM_ATTRLEN:
		at = rm_pick_attr(pkt, rm_rand());
		switch (rm_rand_below(4)) {
		case 0: pkt->buf[at + 1] = 0; break;
		case 1: pkt->buf[at + 1] = 1; break;
		case 2: pkt->buf[at + 1] = 255; break;
		default: pkt->buf[at + 1] = (uint8_t)rm_rand(); break;
		}
		/* sometimes also mangle a VSA's inner length */
		if (pkt->buf[at] == RM_VSA && at + 7 < pkt->len && rm_rand_below(2))
			pkt->buf[at + 7] = (uint8_t)rm_rand();
		break;
	case RM_FRAME_COUNT:
		break;
	}
}

/* Garbage SoH: derived from the valid one so the decoder gets deep before it fails. */
static size_t
rm_mutate_soh(const uint8_t *soh, size_t len, uint8_t *out)
{
	size_t n = len, i, k, at;

	memcpy(out, soh, len);
	switch (rm_rand_below(6)) {
	case 0: /* truncate */
		n = rm_rand_below(len);
		break;
	case 1: /* bit flips */
		k = 1 + rm_rand_below(16);
		for (i = 0; i < k; i++)
			out[rm_rand_below(n)] ^= (uint8_t)(1u << rm_rand_below(8));
		break;
	case 2: /* overwrite a 16-bit field (TLV lengths are u16 big-endian) */
		k = 1 + rm_rand_below(4);
		for (i = 0; i < k && n >= 2; i++) {
			at = rm_rand_below(n - 1);
			switch (rm_rand_below(4)) {
			case 0: out[at] = 0, out[at + 1] = 0; break;
			case 1: out[at] = 0xff, out[at + 1] = 0xff; break;
			case 2: out[at] = 0, out[at + 1] = (uint8_t)(out[at + 1] + 1); break;
			default: out[at] = (uint8_t)rm_rand(), out[at + 1] = (uint8_t)rm_rand(); break;
			}
		}
		break;
	case 3: /* extend with random bytes */
		k = 1 + rm_rand_below(RM_MAX_SOH - len < 600 ? RM_MAX_SOH - len : 600);
		for (i = 0; i < k; i++)
			out[n + i] = (uint8_t)rm_rand();
		n += k;
		break;
	case 4: /* repeat a slice (nested TLVs appear twice) */
		at = rm_rand_below(len);
		k = rm_rand_below(len - at + 1);
		if (n + k <= RM_MAX_SOH) {
			memcpy(out + n, soh + at, k);
			n += k;
		}
		break;
	default: /* random bytes behind a copied header */
		for (i = 8 < n ? 8 : n; i < n; i++)
			out[i] = (uint8_t)rm_rand();
		break;
	}
	return n;
}

struct rm_stats {
	unsigned valid, valid_answered, valid_missed_in_row;
	unsigned unsigned_mutants;
	unsigned signed_frame;
	unsigned signed_soh, signed_soh_answered;
	unsigned per_kind[RM_FRAME_COUNT];
};

static int
rm_valid(struct rm_ctx *c, struct rm_stats *st)
{
	struct rm_pkt pkt;

	if (rm_build(c, c->soh, c->soh_len, &pkt) < 0)
		return -EIO;
	st->valid++;
	if (rm_roundtrip(c, &pkt)) {
		st->valid_answered++;
		st->valid_missed_in_row = 0;
		return 0;
	}
	fprintf(stderr, "radmutate: valid request %u (id %u) not answered\n", st->valid,
		pkt.buf[1]);
	/* the server is gone or wedged: stop instead of timing out thousands of times */
	if (++st->valid_missed_in_row >= RM_MAX_MISSED)
		return -ETIMEDOUT;
	return 0;
}

static int
rm_run_mutate(struct rm_ctx *c, unsigned iterations)
{
	struct rm_stats st = { 0 };
	struct rm_pkt orig, pkt;
	uint8_t garbage[RM_MAX_SOH];
	unsigned i;
	int r;

	if ((r = rm_valid(c, &st)) < 0)
		return r == -ETIMEDOUT ? 1 : 2;
	for (i = 0; i < iterations; i++) {
		unsigned kind = rm_rand_below(3);

		if (kind == 2) {
			/* well-framed, signed, garbage SoH: must be answered */
			size_t n = rm_mutate_soh(c->soh, c->soh_len, garbage);

			if (rm_build(c, garbage, n, &pkt) < 0)
				return 2;
			st.signed_soh++;
			if (rm_roundtrip(c, &pkt))
				st.signed_soh_answered++;
		} else {
			enum rm_frame_mutation m = rm_rand_below(RM_FRAME_COUNT);

			/* fresh authenticator: a mutant never repeats a packet already answered */
			if (rm_build(c, c->soh, c->soh_len, &orig) < 0)
				return 2;
			do {
				pkt = orig;
				rm_mutate_frame(&pkt, m);
			} while (pkt.len == orig.len && memcmp(pkt.buf, orig.buf, pkt.len) == 0);
			if (kind == 1 && rm_sign(c, &pkt) == 0) {
				st.signed_frame++;
			} else {
				/* unsigned: the stale Message-Authenticator must be rejected, or the
				 * framing is broken before it is even checked */
				st.unsigned_mutants++;
				st.per_kind[m]++;
			}
			(void)rm_send(c, &pkt);
		}
		if ((i + 1) % RM_BATCH == 0 && (r = rm_valid(c, &st)) < 0) {
			if (r != -ETIMEDOUT)
				return 2;
			fprintf(stderr, "radmutate: %u valid requests in a row unanswered, "
					"stopping after %u iterations\n", RM_MAX_MISSED, i + 1);
			break;
		}
	}
	if (r == 0 && (r = rm_valid(c, &st)) < 0 && r != -ETIMEDOUT)
		return 2;
	for (i = 0; i < RM_FRAME_COUNT; i++)
		printf("unsigned_%s=%u\n", rm_frame_names[i], st.per_kind[i]);
	printf("valid=%u valid_answered=%u unsigned=%u signed_frame=%u signed_soh=%u "
	       "signed_soh_answered=%u\n",
	       st.valid, st.valid_answered, st.unsigned_mutants, st.signed_frame, st.signed_soh,
	       st.signed_soh_answered);
	return st.valid == st.valid_answered ? 0 : 1;
}

static int
rm_run_dup(struct rm_ctx *c)
{
	struct rm_pkt pkt;
	uint8_t r1[RM_BUF], r2[RM_BUF];
	long n1, n2;

	if (rm_build(c, c->soh, c->soh_len, &pkt) < 0)
		return 2;
	if (rm_send(c, &pkt) < 0 || (n1 = rm_wait(c, &pkt, r1, sizeof(r1))) < 0) {
		printf("first=none second=none identical=no\n");
		return 1;
	}
	if (rm_send(c, &pkt) < 0 || (n2 = rm_wait(c, &pkt, r2, sizeof(r2))) < 0) {
		printf("first=%u second=none identical=no\n", r1[0]);
		return 1;
	}
	bool same = n1 == n2 && memcmp(r1, r2, (size_t)n1) == 0;
	printf("first=%u second=%u length=%ld identical=%s\n", r1[0], r2[0], n1,
	       same ? "yes" : "no");
	return same ? 0 : 1;
}

static int
rm_connect(const char *server)
{
	char host[256];
	const char *port;
	struct addrinfo hints = { .ai_socktype = SOCK_DGRAM, .ai_flags = AI_NUMERICHOST };
	struct addrinfo *ai = NULL;
	size_t hl;
	int fd;

	if (server[0] == '[') {
		const char *end = strchr(server, ']');

		if (end == NULL || end[1] != ':')
			return -EINVAL;
		hl = (size_t)(end - server - 1);
		port = end + 2;
		server++;
	} else {
		port = strrchr(server, ':');
		if (port == NULL)
			return -EINVAL;
		hl = (size_t)(port - server);
		port++;
	}
	if (hl >= sizeof(host))
		return -EINVAL;
	memcpy(host, server, hl);
	host[hl] = '\0';
	if (getaddrinfo(host, port, &hints, &ai) != 0 || ai == NULL)
		return -EINVAL;
	fd = socket(ai->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
		int e = errno;

		if (fd >= 0)
			close(fd);
		freeaddrinfo(ai);
		return -e;
	}
	freeaddrinfo(ai);
	return fd;
}

static void
rm_usage(void)
{
	fprintf(stderr, "usage: radmutate mutate|dup --server ADDR:PORT --secret S --soh HEX "
			"[--iterations N] [--seed N] [--timeout-ms N]\n");
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "server", required_argument, NULL, 's' },
		{ "secret", required_argument, NULL, 'k' },
		{ "soh", required_argument, NULL, 'h' },
		{ "iterations", required_argument, NULL, 'n' },
		{ "seed", required_argument, NULL, 'r' },
		{ "timeout-ms", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 },
	};
	struct rm_ctx c = { .timeout_ms = 2000 };
	const char *server = NULL, *soh_hex = NULL, *mode;
	unsigned long iterations = 1000, seed = 1;
	size_t bad_at = 0;
	long n;
	int ch, rc;

	if (argc < 2) {
		rm_usage();
		return 2;
	}
	mode = argv[1];
	optind = 2;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 's': server = optarg; break;
		case 'k': c.secret = optarg; break;
		case 'h': soh_hex = optarg; break;
		case 'n': iterations = strtoul(optarg, NULL, 10); break;
		case 'r': seed = strtoul(optarg, NULL, 10); break;
		case 't': c.timeout_ms = (unsigned)strtoul(optarg, NULL, 10); break;
		default: rm_usage(); return 2;
		}
	}
	if (server == NULL || c.secret == NULL || soh_hex == NULL) {
		rm_usage();
		return 2;
	}
	c.secret_len = strlen(c.secret);
	n = nap_hex_decode(soh_hex, strlen(soh_hex), c.soh, sizeof(c.soh), &bad_at);
	if (n <= 0) {
		fprintf(stderr, "radmutate: bad --soh hex at %zu\n", bad_at);
		return 2;
	}
	c.soh_len = (size_t)n;
	rm_rng_state = seed == 0 ? 1 : (uint32_t)seed;
	if (RAND_bytes(&c.next_id, 1) != 1)
		return 2;
	c.fd = rm_connect(server);
	if (c.fd < 0) {
		fprintf(stderr, "radmutate: cannot reach %s: %s\n", server, strerror(-c.fd));
		return 2;
	}
	if (strcmp(mode, "mutate") == 0)
		rc = rm_run_mutate(&c, (unsigned)iterations);
	else if (strcmp(mode, "dup") == 0)
		rc = rm_run_dup(&c);
	else {
		rm_usage();
		rc = 2;
	}
	close(c.fd);
	return rc;
}
