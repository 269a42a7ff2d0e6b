/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The nap SHA entry (client -> server) and the nap SHV entry (server -> client): the report
 * entries with System-Health-ID NAP_SHID_NAP that carry what nap's own agent evaluated and what
 * napvd decided. Handles untrusted input. The byte layout is documented in doc/formats.md.
 *
 * Entry layout (both directions), as a flat run of SoH TLVs:
 *   System-Health-ID (2)          = NAP_SHID_NAP
 *   Vendor-Specific (7)           = NAP_SHID_NAP (u32) + nap items
 *   SoH-Generation-Time (12)      FILETIME                       [SHA entry]
 *   Failure-Category (14)         u8                             [when failing]
 *   Error-Codes (13)              u32 list                       [with a client failure, SHA]
 *   Compliance-Result-Codes (4)   u32                            [SHV entry]
 * A nap item is: type u8, length u16 (big-endian), value. Unknown item types are skipped, so
 * newer agents can add items; a known item with the wrong length is an error.
 */
#ifndef NAP_HEALTH_H
#define NAP_HEALTH_H

#include <stdbool.h>
#include <stdint.h>

#include "nap/error.h"
#include "nap/soh.h"

#define NAP_HEALTH_VERSION     1
#define NAP_SITE_MAX           16   /* site code, printable ASCII [A-Za-z0-9_-] */
#define NAP_HSR_DIGEST_LEN     32   /* SHA-256 */
#define NAP_HEALTH_MAX_MISSING 32   /* missing update ids carried in one SoH */
#define NAP_UPDATE_ID_MAX      63   /* one update/policy id */
#define NAP_HEALTH_MAX_CHECKS  32   /* check results carried in one SoH */

/* Status of one HSR check as the agent's collector found it (NAP_ITEM_CHECK). */
#define NAP_CHECK_PASS  0
#define NAP_CHECK_FAIL  1
#define NAP_CHECK_ERROR 2 /* the collector could not tell (missing tool, disabled, timeout) */

struct nap_health_check {
	uint8_t status; /* NAP_CHECK_* */
	char id[NAP_UPDATE_ID_MAX + 1];
};

enum nap_health_item {
	NAP_ITEM_VERSION = 1,      /* u8 */
	NAP_ITEM_SITE = 2,         /* 1..16 bytes ASCII */
	NAP_ITEM_HSR_REVISION = 3, /* u64 */
	NAP_ITEM_HSR_DIGEST = 4,   /* 32 bytes */
	NAP_ITEM_EVAL_TIME = 5,    /* u64 Unix seconds (UTC) of the evaluation */
	NAP_ITEM_COMPLIANT = 6,    /* u8 0/1: the agent's own verdict */
	NAP_ITEM_MISSING = 7,      /* 1..63 bytes: one missing update id; repeated */
	NAP_ITEM_CHECK = 8,        /* status u8 (NAP_CHECK_*) + check id (1..63 bytes); repeated */
	/* server -> client */
	NAP_ITEM_RESULT = 16,      /* u8 enum nap_result */
	NAP_ITEM_BRANCH = 17,      /* u8 enum nap_branch */
	NAP_ITEM_INSTRUCTION = 18, /* u8 NAP_INSTRUCT_* bits */
};

/* Instructions napvd can give the agent in the SoHR. */
#define NAP_INSTRUCT_REEVALUATE     0x01u /* evaluate now (forced scan) and send a new SoH */
#define NAP_INSTRUCT_REFRESH_POLICY 0x02u /* fetch policy again, then re-evaluate */

/* What the nap agent reports. */
struct nap_health {
	uint8_t version;
	char site[NAP_SITE_MAX + 1];
	uint64_t hsr_revision;
	bool has_digest;
	uint8_t hsr_digest[NAP_HSR_DIGEST_LEN];
	int64_t eval_time;      /* Unix seconds */
	bool has_generation_time;
	int64_t generation_time; /* SoH-Generation-Time, Unix seconds */
	bool compliant;
	uint16_t n_missing;
	char missing[NAP_HEALTH_MAX_MISSING][NAP_UPDATE_ID_MAX + 1];
	uint16_t n_checks;       /* CHECK items, in the order sent */
	struct nap_health_check checks[NAP_HEALTH_MAX_CHECKS];
	uint8_t failure_category; /* NAP_FAILURE_NONE when the agent evaluated fine */
	uint32_t error_code;      /* first Error-Codes value with a failure */
	bool malformed_items;     /* a known item had a bad value (counted as "invalid") */
};

/* What napvd answers in its entry of the SoHR. */
struct nap_health_response {
	uint8_t result;      /* enum nap_result */
	uint8_t branch;      /* enum nap_branch */
	uint8_t instructions;
	uint64_t hsr_revision; /* napvd's cached revision for the client's site (0 if none) */
	bool has_digest;
	uint8_t hsr_digest[NAP_HSR_DIGEST_LEN];
	uint32_t compliance_code; /* 0 = compliant */
	uint8_t failure_category;
};

/*
 * Decode the nap SHA entry. Structural errors (bad TLV framing inside the entry) return
 * -EBADMSG; a well-framed entry whose known items have impossible values decodes with
 * malformed_items set, so napvd can answer "invalid" instead of dropping the request.
 */
int nap_health_decode(const struct nap_soh *soh, const struct nap_soh_entry *e,
		      struct nap_health *out, struct nap_err *err);
int nap_health_add_entry(struct nap_soh *soh, const struct nap_health *h);

int nap_health_response_decode(const struct nap_soh *soh, const struct nap_soh_entry *e,
			       struct nap_health_response *out, struct nap_err *err);
int nap_health_response_add_entry(struct nap_soh *soh, const struct nap_health_response *r);

bool nap_site_valid(const char *site);

#endif
