/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Status messages: one per decision napvd makes, a JSON object per line in napvd's spool and in
 * the batch files it ships to the site server's inbox share (doc/formats.md "status
 * messages"). The id "<napvd instance: 16 lowercase hex>-<sequence from 1>" is the idempotency
 * key: delivery is at least once, and the store counts each id once.
 *
 * nap_status_msg_parse reads one line strictly: an object of exactly the known members with
 * the right types and bounded, well-formed values, or a refusal with a reason; nothing is
 * half-read. nap_store_status_put stores a batch in one transaction.
 */
#ifndef NAP_STATUS_H
#define NAP_STATUS_H

#include <stddef.h>
#include <stdint.h>

struct nap_store;
struct nap_store_err;

#define NAP_STATUS_INSTANCE_LEN 16  /* hex digits of a napvd instance id */
#define NAP_STATUS_ID_MAX       40  /* "<16 hex>-<up to 20 digits>" + NUL */
#define NAP_STATUS_NAS_MAX      64  /* address text (IPv6 with zone fits) */
#define NAP_STATUS_CLIENT_MAX   64  /* [client NAME] of napvd.conf */
#define NAP_STATUS_MACHINE_MAX  256 /* UTF-8 bytes (napvd keeps 64 wire bytes, escaped) */
#define NAP_STATUS_SITE_MAX     64
#define NAP_STATUS_TOKEN_MAX    32  /* enforcement, result, branch, action */
#define NAP_STATUS_EXEMPT_MAX   64  /* an HSR exemption id */
#define NAP_STATUS_CORR_MAX     65  /* correlation id: hex, up to 32 bytes + NUL */
#define NAP_STATUS_LINE_MAX     4096 /* longest line the parser takes */

struct nap_status_msg {
	char id[NAP_STATUS_ID_MAX];
	char napvd[NAP_STATUS_INSTANCE_LEN + 1]; /* the instance part of id */
	uint64_t seq;                             /* the sequence part of id */
	int64_t time;                             /* unix seconds, UTC */
	char nas[NAP_STATUS_NAS_MAX];
	char client[NAP_STATUS_CLIENT_MAX];
	char machine[NAP_STATUS_MACHINE_MAX];
	char site[NAP_STATUS_SITE_MAX];
	char enforcement[NAP_STATUS_TOKEN_MAX];
	char result[NAP_STATUS_TOKEN_MAX];
	char branch[NAP_STATUS_TOKEN_MAX];
	char exemption[NAP_STATUS_EXEMPT_MAX]; /* "" when absent (stored as NULL) */
	char action[NAP_STATUS_TOKEN_MAX];
	int64_t hsr_revision;
	char correlation_id[NAP_STATUS_CORR_MAX]; /* lowercase hex or "" */
};

/*
 * Parse one line (len bytes, without the newline; a trailing CR is not accepted). Returns 0 and
 * fills *out, or -EINVAL with a reason in why (no input bytes are copied into why except
 * escaped member names).
 */
int nap_status_msg_parse(const char *line, size_t len, struct nap_status_msg *out, char *why,
			 size_t why_len);

/* Split "<16 hex>-<decimal from 1>" into its parts. 0 or -EINVAL. */
int nap_status_id_parse(const char *id, char instance[NAP_STATUS_INSTANCE_LEN + 1],
			uint64_t *seq);

/*
 * Store n messages in one transaction: each id inserted at most once (INSERT .. ON CONFLICT
 * (id) DO NOTHING), client_last of each machine replaced only by a message newer than the one
 * it holds (by time, then sequence), its messages counter raised by the rows actually inserted
 * and first_seen lowered to the oldest. received is the ingest time. *inserted (may be NULL)
 * gets the number of new rows; duplicates are n - *inserted. All or nothing: on error nothing
 * of the batch is stored.
 */
int nap_store_status_put(struct nap_store *st, const struct nap_status_msg *msgs, size_t n,
			 int64_t received, size_t *inserted, struct nap_store_err *err);

/*
 * Retention ([status] keep, keep_daily): one transaction deleting at most limit rows of each
 * kind, oldest first: status messages with time < before and quarantine rows received before
 * it (before 0: none), and status_daily rows with day < before_day (UTC day number; 0: none).
 * client_last is never pruned. Call again while any count equals limit.
 */
struct nap_status_pruned {
	int64_t messages, quarantine, daily;
};
int nap_store_status_prune(struct nap_store *st, int64_t before, int64_t before_day,
			   int64_t limit, struct nap_status_pruned *out, struct nap_store_err *err);

/*
 * Record a quarantined line (line 0: the whole file) with its reason, once: the same file
 * (name and digest, e.g. of its bytes; NULL = "") and line again adds nothing.
 */
int nap_store_status_quarantine(struct nap_store *st, const char *file, const char *digest,
				int64_t line, const char *reason, int64_t received,
				struct nap_store_err *err);

#endif
