/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Statement of Health (SoH) and SoH Response (SoHR) codec: the 12-byte header, the optional
 * mode sub-header, the SSoH/SSoHR (MS type-value items of System-Health-ID 0x00013700) and the
 * flat run of report entries that follows. Handles untrusted input.
 *
 * Decoding produces a struct nap_soh whose attribute values are views into the input buffer
 * (keep the input alive while the struct is used) or into the struct's own arena (values added
 * by the builder functions). Encoding writes attributes back verbatim, except the SSoH payload,
 * which is regenerated from struct nap_ssoh in its recorded item order, so that
 * encode(decode(x)) == x for every well-formed x.
 *
 * Wire reference: spec/PROTOCOLS.md §1 (SoH), §2 (MS-WSH); DESIGN.md §3 for the tolerances.
 */
#ifndef NAP_SOH_H
#define NAP_SOH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nap/error.h"
#include "nap/wire.h"

/* Limits a peer controls (NAP limits). */
#define NAP_SOH_MAX_LEN     4000
#define NAP_SOH_MAX_ATTRS   100
#define NAP_SOH_MAX_ENTRIES 20

#define NAP_VENDOR_MICROSOFT   311u
#define NAP_CORRELATION_ID_LEN 24

/* System-Health-IDs: 3-byte SMI enterprise number + 1-byte component. */
#define NAP_SHID_NAP_SYSTEM 0x00013700u /* the SSoH / SSoHR */
#define NAP_SHID_WSH        0x00013780u /* Windows Security Health Agent / Validator */
#define NAP_SHID_CONFIGMGR  0x00013781u /* recognised when decoding only; never sent */
/*
 * nap's own SHA/SHV pair: IANA documentation PEN 32473 (0x7ED9) with component 0x01, until the
 * project has its own enterprise number. The one place this number is defined.
 */
#define NAP_SHID_NAP 0x007ED901u

/* SoH TLV types (NAPAPI SoHAttributeType). The top two bits of the type word are M and R. */
enum nap_soh_attr_type {
	NAP_SOH_ATTR_SYSTEM_HEALTH_ID = 2,
	NAP_SOH_ATTR_IPV4_FIXUP_SERVERS = 3,
	NAP_SOH_ATTR_COMPLIANCE_RESULT_CODES = 4,
	NAP_SOH_ATTR_TIME_OF_LAST_UPDATE = 5,
	NAP_SOH_ATTR_CLIENT_ID = 6,
	NAP_SOH_ATTR_VENDOR_SPECIFIC = 7,
	NAP_SOH_ATTR_HEALTH_CLASS = 8,
	NAP_SOH_ATTR_SOFTWARE_VERSION = 9,
	NAP_SOH_ATTR_PRODUCT_NAME = 10,
	NAP_SOH_ATTR_HEALTH_CLASS_STATUS = 11,
	NAP_SOH_ATTR_SOH_GENERATION_TIME = 12,
	NAP_SOH_ATTR_ERROR_CODES = 13,
	NAP_SOH_ATTR_FAILURE_CATEGORY = 14,
	NAP_SOH_ATTR_IPV6_FIXUP_SERVERS = 15,
	NAP_SOH_ATTR_EXTENDED_ISOLATION_STATE = 16,
};
#define NAP_SOH_TYPE_MASK 0x3fffu

/* FailureCategory (NAPAPI). */
enum nap_failure_category {
	NAP_FAILURE_NONE = 0,
	NAP_FAILURE_OTHER = 1,
	NAP_FAILURE_CLIENT_COMPONENT = 2,
	NAP_FAILURE_CLIENT_COMMUNICATION = 3,
	NAP_FAILURE_SERVER_COMPONENT = 4,
	NAP_FAILURE_SERVER_COMMUNICATION = 5,
};

/* IsolationState (NAPAPI) as carried in MS-Quarantine-State of the SSoHR. */
enum nap_isolation_state {
	NAP_ISOLATION_NOT_RESTRICTED = 1,
	NAP_ISOLATION_IN_PROBATION = 2,
	NAP_ISOLATION_RESTRICTED = 3,
};

/* SSoH item types (1-byte type, implied layout, no length byte). */
enum nap_ssoh_item {
	NAP_SSOH_MACHINE_INVENTORY = 1,
	NAP_SSOH_QUARANTINE_STATE = 2,
	NAP_SSOH_PACKET_INFO = 3,
	NAP_SSOH_SYSTEM_GENERATED_IDS = 4,
	NAP_SSOH_MACHINE_NAME = 5,
	NAP_SSOH_CORRELATION_ID = 6,
	NAP_SSOH_INSTALLED_SHVS = 7,
	NAP_SSOH_MACHINE_INVENTORY_EX = 8,
};
#define NAP_SSOH_MAX_ITEMS 16

/* MS-Packet-Info bit: 1 request (client SoH), 0 response (SoHR). */
#define NAP_PACKET_INFO_REQUEST 0x10u

/* Processor architectures in MS-Machine-Inventory. */
#define NAP_ARCH_X86  0
#define NAP_ARCH_IA64 6
#define NAP_ARCH_X64  9

/* Product types in MS-Machine-Inventory-Ex. */
#define NAP_PRODUCT_CLIENT 1
#define NAP_PRODUCT_DC     2
#define NAP_PRODUCT_SERVER 3

struct nap_ssoh {
	uint32_t present; /* bit (1u << item) for each item seen */
	uint8_t order[NAP_SSOH_MAX_ITEMS]; /* item types in wire order */
	uint8_t n_order;

	/* 1 MS-Machine-Inventory */
	uint32_t os_major, os_minor, os_build;
	uint16_t sp_major, sp_minor, processor_arch;
	/* 2 MS-Quarantine-State */
	uint8_t qs_reserved;
	uint8_t qs_flags;
	uint64_t probation_time; /* FILETIME as on the wire (big-endian); all-ones = none */
	const uint8_t *url;
	uint16_t url_len;
	/* 3 MS-Packet-Info */
	uint8_t packet_info;
	/* 4 MS-SystemGenerated-Ids: list of 4-byte ids */
	const uint8_t *sysgen_ids;
	uint16_t sysgen_ids_len;
	/* 5 MS-MachineName: bytes as sent (may include a trailing NUL) */
	const uint8_t *machine_name;
	uint16_t machine_name_len;
	/* 6 MS-CorrelationId */
	uint8_t correlation_id[NAP_CORRELATION_ID_LEN];
	/* 7 MS-Installed-Shvs: list of 4-byte ids */
	const uint8_t *installed_shvs;
	uint16_t installed_shvs_len;
	/* 8 MS-Machine-Inventory-Ex */
	uint32_t inv_ex_reserved;
	uint8_t product_type;
};

static inline bool
nap_ssoh_has(const struct nap_ssoh *s, enum nap_ssoh_item item)
{
	return (s->present & (1u << item)) != 0;
}

struct nap_soh_attr {
	uint16_t type;     /* 14-bit type, M/R masked off */
	uint16_t raw_type; /* type word as received, re-encoded as is */
	uint16_t len;
	const uint8_t *value;
	size_t offset;     /* of the TLV header in the decoded input (0 for built attributes) */
	bool ssoh_payload; /* the SSoH Vendor-Specific: regenerated from struct nap_ssoh */
};

struct nap_soh_entry {
	uint32_t system_health_id;
	uint16_t first_attr; /* index of its System-Health-ID attribute in nap_soh.attrs */
	uint16_t n_attrs;    /* including the System-Health-ID attribute */
};

struct nap_soh {
	bool wrapped;        /* arrived inside the PEAP-style Vendor-Specific/SoH-TLV wrapper */
	uint16_t inner_type; /* 1 = no mode sub-header, 2 = mode sub-header present */
	/* Mode sub-header (inner_type == 2). */
	uint8_t correlation_id[NAP_CORRELATION_ID_LEN];
	uint8_t intent;       /* 0x01 request */
	uint8_t content_type; /* 0x00 */

	bool has_ssoh; /* an entry 0x00013700 with a Vendor-Specific 311 payload was found */
	struct nap_ssoh ssoh;

	uint16_t n_attrs;
	struct nap_soh_attr attrs[NAP_SOH_MAX_ATTRS];
	uint16_t n_entries;
	struct nap_soh_entry entries[NAP_SOH_MAX_ENTRIES];

	/* Storage for values added with the builder functions below. */
	size_t arena_len;
	uint8_t arena[NAP_SOH_MAX_LEN];
};

/*
 * Decode an SoH or SoHR, bare or behind the 12-byte PEAP-style wrapper. Returns 0, or a negative
 * errno with err filled (-EBADMSG malformed, -EMSGSIZE over a NAP limit). Rejects anything that
 * is not an SoH message (PEAP SoH request, PB-TNC, PT-TLS, ...).
 */
int nap_soh_decode(const uint8_t *p, size_t len, struct nap_soh *soh, struct nap_err *err);
/* Encode; the wrapper is added when soh->wrapped is set. Returns 0 or a negative errno. */
int nap_soh_encode(const struct nap_soh *soh, struct nap_cbb *out);
/* Convenience: encode into a new buffer (free()); at most NAP_SOH_MAX_LEN (+12 if wrapped). */
int nap_soh_encode_alloc(const struct nap_soh *soh, uint8_t **out, size_t *out_len);

/* True when the SSoH says this is a request (client SoH), false for a response (SoHR). */
bool nap_soh_is_request(const struct nap_soh *soh);
/* Find the first entry with this System-Health-ID, or NULL. */
const struct nap_soh_entry *nap_soh_find_entry(const struct nap_soh *soh, uint32_t shid);
/* First attribute of a type inside an entry, or NULL. */
const struct nap_soh_attr *nap_soh_entry_attr(const struct nap_soh *soh,
					      const struct nap_soh_entry *e, uint16_t type);
/* Correlation id: the mode sub-header's, else the SSoH item's, else NULL. */
const uint8_t *nap_soh_correlation_id(const struct nap_soh *soh);

/*
 * Builder. nap_soh_init() starts an SoH (request) or SoHR (response) with a mode sub-header
 * carrying the correlation id and an SSoH entry holding Packet-Info and CorrelationId items;
 * callers may set more SSoH fields (and append to ssoh.order via nap_ssoh_set()).
 * nap_soh_begin_entry() starts a report entry; nap_soh_add_attr() copies a value into the arena
 * and appends it to the current entry. They return 0 or -ENOSPC when a NAP limit is reached.
 */
void nap_soh_init(struct nap_soh *soh, bool request, const uint8_t corr[NAP_CORRELATION_ID_LEN]);
/* Mark an SSoH item present (appends it to the item order once). */
void nap_ssoh_set(struct nap_ssoh *s, enum nap_ssoh_item item);
int nap_soh_begin_entry(struct nap_soh *soh, uint32_t shid);
int nap_soh_add_attr(struct nap_soh *soh, uint16_t type, const void *value, size_t len);
int nap_soh_add_u8(struct nap_soh *soh, uint16_t type, uint8_t v);
int nap_soh_add_u32(struct nap_soh *soh, uint16_t type, uint32_t v);
/* Copy bytes into the arena (for SSoH fields such as the machine name); NULL when full. */
const uint8_t *nap_soh_store(struct nap_soh *soh, const void *p, size_t n);

const char *nap_soh_attr_name(uint16_t type);
/* True when len is a value length the attribute table allows for this (masked) type. */
bool nap_soh_attr_len_valid(uint16_t type, size_t len);
const char *nap_failure_category_name(uint8_t category);

/*
 * MS-WSH (System-Health-ID 0x00013780): the WSHA SoH entry and the WSHV SoHR entry.
 * Health classes: 0 firewall, 1 antivirus, 2 antispyware, 3 automatic updates, 4 security updates.
 */
#define NAP_WSH_CLASSES 5
enum nap_wsh_class {
	NAP_WSH_FIREWALL = 0,
	NAP_WSH_ANTIVIRUS = 1,
	NAP_WSH_ANTISPYWARE = 2,
	NAP_WSH_AUTO_UPDATES = 3,
	NAP_WSH_SECURITY_UPDATES = 4,
};

struct nap_wsh_class_report {
	bool present;
	uint32_t status; /* ClientStatusCode */
	const uint8_t *product_name; /* UTF-16LE as sent, first product only */
	uint16_t product_name_len;
};

struct nap_wsh {
	bool has_flag, has_version, has_last_scan, has_wsus, has_updates_flag;
	uint32_t flag_counter;     /* LE on the wire */
	uint32_t client_version;   /* LE on the wire */
	uint32_t last_scan_seconds; /* LE on the wire */
	const uint8_t *wsus_server;
	uint16_t wsus_server_len;
	uint32_t updates_flag;     /* LE on the wire */
	struct nap_wsh_class_report cls[NAP_WSH_CLASSES];
};

struct nap_wshv_class_result {
	bool present;
	uint32_t code1;
	bool has_code2;
	uint32_t code2;
	bool has_failure;
	uint8_t failure_category;
};

struct nap_wshv {
	struct nap_wshv_class_result cls[NAP_WSH_CLASSES];
};

int nap_wsh_decode(const struct nap_soh *soh, const struct nap_soh_entry *e, struct nap_wsh *out,
		   struct nap_err *err);
int nap_wshv_decode(const struct nap_soh *soh, const struct nap_soh_entry *e,
		    struct nap_wshv *out, struct nap_err *err);
/* Append a WSHA entry / WSHV entry to a message being built. */
int nap_wsh_add_entry(struct nap_soh *soh, const struct nap_wsh *w);
int nap_wshv_add_entry(struct nap_soh *soh, const struct nap_wshv *w);

/* ClientStatusCode helpers (WSH 2.2.9). */
#define NAP_WSH_STATUS_ENABLED   0x1u
#define NAP_WSH_STATUS_UPTODATE  0x2u
#define NAP_WSH_STATUS_MICROSOFT 0x4u
#define NAP_WSH_STATUS_SNOOZED   0x8u
#define NAP_WSH_S_NO_MISSING_UPDATES 0x00FF0005u
#define NAP_WSH_S_MISSING_UPDATES    0x00FF0006u
#define NAP_WSH_E_PRODUCT_NOT_INSTALLED 0xC0FF0002u
#define NAP_WSH_E_PRODUCT_NOT_ENABLED   0xC0FF0001u
#define NAP_WSH_E_PRODUCT_NOT_UPTODATE  0xC0FF0004u
#define NAP_WSH_E_SYNC_AND_INSTALL      0xC0FF0007u
#define NAP_WSH_E_WSC_SERVICE_DOWN      0xC0FF0003u
bool nap_wsh_status_is_error(uint32_t status);
const char *nap_wsh_class_name(enum nap_wsh_class c);

#endif
