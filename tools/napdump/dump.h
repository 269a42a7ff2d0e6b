/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Decoded views of SoH, SoHR and RADIUS messages as JSON trees, and a plain-text renderer for
 * those trees. Shared by napdump and napctl. Handles untrusted input (through libnap's decoders).
 */
#ifndef NAP_TOOLS_DUMP_H
#define NAP_TOOLS_DUMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "nap/error.h"

enum dump_kind {
	DUMP_SOH,
	DUMP_SOHR,
	DUMP_AUTO, /* SoH or SoHR, from the SSoH's Packet-Info */
};

/*
 * Decode an SoH/SoHR and describe it. Returns 0 with *out set (caller json_decref()s), or a
 * negative errno with err filled (offset into p).
 */
int dump_soh(const uint8_t *p, size_t len, enum dump_kind kind, json_t **out, struct nap_err *err);

/*
 * Decode a RADIUS packet and describe it, including a nested SoH/SoHR carried in
 * MS-Quarantine-SoH. With a secret, the Message-Authenticator of a request is checked and
 * *msg_auth_bad is set when it does not verify. Errors in the nested SoH are reported with the
 * offset of the offending byte in the RADIUS packet.
 */
int dump_radius(const uint8_t *p, size_t len, const char *secret, json_t **out, bool *msg_auth_bad,
		struct nap_err *err);

/* Render a JSON tree as indented "key: value" lines. */
void dump_text(FILE *f, const json_t *root);

/* Small JSON helpers used by the tools. */
json_t *dump_hex(const uint8_t *p, size_t n);
json_t *dump_time(int64_t unix_seconds);

#endif
