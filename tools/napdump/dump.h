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
 * MS-Quarantine-SoH. Returns a negative errno with err filled when the packet itself is
 * malformed. Otherwise returns 0 with *out set; *problem is set (and err filled) when the packet
 * decodes but something inside is wrong: with a secret, a request's Message-Authenticator does
 * not verify, or the nested SoH is malformed (offset of the offending byte in the packet; the
 * description then carries "soh_error" instead of "soh").
 */
int dump_radius(const uint8_t *p, size_t len, const char *secret, json_t **out, bool *problem,
		struct nap_err *err);

/* Render a JSON tree as indented "key: value" lines. */
void dump_text(FILE *f, const json_t *root);

/* Small JSON helpers used by the tools. */
json_t *dump_hex(const uint8_t *p, size_t n);
json_t *dump_time(int64_t unix_seconds);

#endif
