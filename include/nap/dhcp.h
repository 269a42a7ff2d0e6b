/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * DHCPv4 codec: the BOOTP fixed header (RFC 2131 §2), the magic cookie, options (RFC 2132)
 * including Option Overload (52: options continue in file and/or sname) and long options
 * (RFC 3396: repeated instances of a code are concatenated in order), and a bounded builder that
 * splits values over 255 bytes into consecutive instances and pads to the 300-byte BOOTP
 * minimum. Handles untrusted input.
 *
 * NAP over DHCP ([MS-DHCPN], spec/PROTOCOLS.md §3): option 43 vendor-encapsulated sub-options
 * 220 NAP-SoH, 221 NAP-Mask, 222 NAP-CoID, 223 NAP-IPv6, decoded by nap_dhcp_nap_parse() and
 * written by nap_dhcp_add_nap(). Microsoft's option-250 long-option form ([MS-DHCPE] 2.2.9) is
 * not decoded: its layout is not in the spec file (§12 item 5); option 250 is kept as a raw option.
 */
#ifndef NAP_DHCP_H
#define NAP_DHCP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nap/error.h"
#include "nap/soh.h"
#include "nap/wire.h"

#define NAP_DHCP_FIXED_LEN  236  /* op .. file */
#define NAP_DHCP_COOKIE     0x63825363u
#define NAP_DHCP_OPTIONS_AT 240  /* fixed header + cookie */
#define NAP_DHCP_MIN_LEN    300  /* BOOTP minimum (RFC 951 vend 64 bytes); the builder pads to it */
#define NAP_DHCP_DEFAULT_MAX 576 /* RFC 2131 §2: what every client accepts without option 57 */
#define NAP_DHCP_MAX_LEN    4096 /* limit a peer controls: larger datagrams are refused */
#define NAP_DHCP_SNAME_LEN  64
#define NAP_DHCP_FILE_LEN   128
#define NAP_DHCP_CHADDR_LEN 16

#define NAP_DHCP_BOOTREQUEST 1
#define NAP_DHCP_BOOTREPLY   2
#define NAP_DHCP_FLAG_BROADCAST 0x8000u

/* Option codes used by nap (RFC 2132 unless noted). */
enum nap_dhcp_option_code {
	NAP_DHCP_OPT_PAD = 0,
	NAP_DHCP_OPT_SUBNET_MASK = 1,
	NAP_DHCP_OPT_ROUTER = 3,
	NAP_DHCP_OPT_DNS = 6,
	NAP_DHCP_OPT_HOSTNAME = 12,
	NAP_DHCP_OPT_DOMAIN_NAME = 15,
	NAP_DHCP_OPT_STATIC_ROUTE = 33,
	NAP_DHCP_OPT_VENDOR = 43,
	NAP_DHCP_OPT_REQUESTED_IP = 50,
	NAP_DHCP_OPT_LEASE_TIME = 51,
	NAP_DHCP_OPT_OVERLOAD = 52,
	NAP_DHCP_OPT_MESSAGE_TYPE = 53,
	NAP_DHCP_OPT_SERVER_ID = 54,
	NAP_DHCP_OPT_PARAM_LIST = 55,
	NAP_DHCP_OPT_MESSAGE = 56,
	NAP_DHCP_OPT_MAX_MSG_SIZE = 57,
	NAP_DHCP_OPT_RENEWAL_TIME = 58,
	NAP_DHCP_OPT_REBINDING_TIME = 59,
	NAP_DHCP_OPT_VENDOR_CLASS = 60,
	NAP_DHCP_OPT_CLIENT_ID = 61,
	NAP_DHCP_OPT_USER_CLASS = 77,       /* RFC 3004 (Windows sends a plain string) */
	NAP_DHCP_OPT_CLIENT_FQDN = 81,      /* RFC 4702 */
	NAP_DHCP_OPT_RELAY_AGENT = 82,      /* RFC 3046 */
	NAP_DHCP_OPT_CLASSLESS_ROUTE = 121, /* RFC 3442 */
	NAP_DHCP_OPT_MS_CLASSLESS_ROUTE = 249, /* [MS-DHCPE] 2.2.8, same format as 121 */
	NAP_DHCP_OPT_MS_LONG_OPTION = 250,  /* [MS-DHCPE] 2.2.9: layout unknown, kept raw */
	NAP_DHCP_OPT_END = 255,
};

enum nap_dhcp_message_type {
	NAP_DHCPDISCOVER = 1,
	NAP_DHCPOFFER = 2,
	NAP_DHCPREQUEST = 3,
	NAP_DHCPDECLINE = 4,
	NAP_DHCPACK = 5,
	NAP_DHCPNAK = 6,
	NAP_DHCPRELEASE = 7,
	NAP_DHCPINFORM = 8,
};

/* The fixed BOOTP header, fields in host order; addresses as the four wire bytes. */
struct nap_dhcp_header {
	uint8_t op, htype, hlen, hops;
	uint32_t xid;
	uint16_t secs, flags;
	uint8_t ciaddr[4], yiaddr[4], siaddr[4], giaddr[4];
	uint8_t chaddr[NAP_DHCP_CHADDR_LEN];
	uint8_t sname[NAP_DHCP_SNAME_LEN]; /* as sent; meaningless when overloaded with options */
	uint8_t file[NAP_DHCP_FILE_LEN];
};

/*
 * One option after RFC 3396 concatenation: value points into the packet's arena (contiguous
 * even when the instances were not); offset is the option header of the first instance.
 */
struct nap_dhcp_option {
	uint8_t code;
	uint16_t n_parts; /* instances concatenated */
	uint16_t len;
	const uint8_t *value;
	size_t offset;
};

/* One instance on the wire, in aggregate order (options field, then file, then sname). */
struct nap_dhcp_part {
	uint8_t code;
	uint8_t len;
	uint16_t value_at; /* offset of the value in the packet */
};

#define NAP_DHCP_MAX_OPTIONS 254 /* distinct codes 1..254 */
#define NAP_DHCP_MAX_PARTS   (NAP_DHCP_MAX_LEN / 2)

struct nap_dhcp_packet {
	struct nap_dhcp_header hdr;
	size_t length;    /* bytes decoded */
	uint8_t overload; /* option 52 value: 0 none, 1 file, 2 sname, 3 both */
	uint16_t n_options;
	struct nap_dhcp_option options[NAP_DHCP_MAX_OPTIONS]; /* in order of first appearance */
	uint8_t index[256]; /* code -> 1 + index into options, 0 when absent */
	uint16_t n_parts;
	struct nap_dhcp_part parts[NAP_DHCP_MAX_PARTS];
	size_t arena_len;
	uint8_t arena[NAP_DHCP_MAX_LEN];
};

/*
 * Decode a DHCP message. Returns 0; -EBADMSG for malformed input (truncated header, an option
 * overrunning its field, a bad overload value, an option 52 outside the options field, a known
 * option with a length its table entry forbids); -EMSGSIZE for more than NAP_DHCP_MAX_LEN bytes;
 * -ENOTSUP for a BOOTP message without the magic cookie. err says where.
 */
int nap_dhcp_decode(const uint8_t *p, size_t len, struct nap_dhcp_packet *pkt, struct nap_err *err);

/* The concatenated option, or NULL. */
const struct nap_dhcp_option *nap_dhcp_find(const struct nap_dhcp_packet *pkt, uint8_t code);
/* Fixed-size values; false when absent or of another length. */
bool nap_dhcp_get_u8(const struct nap_dhcp_packet *pkt, uint8_t code, uint8_t *v);
bool nap_dhcp_get_u16(const struct nap_dhcp_packet *pkt, uint8_t code, uint16_t *v);
bool nap_dhcp_get_u32(const struct nap_dhcp_packet *pkt, uint8_t code, uint32_t *v);
bool nap_dhcp_get_ipv4(const struct nap_dhcp_packet *pkt, uint8_t code, uint8_t addr[4]);
/* Option 53: 1..8 (or another value as sent), 0 when absent. */
int nap_dhcp_message_type(const struct nap_dhcp_packet *pkt);
bool nap_dhcp_requested_ip(const struct nap_dhcp_packet *pkt, uint8_t addr[4]);
bool nap_dhcp_server_id(const struct nap_dhcp_packet *pkt, uint8_t addr[4]);
bool nap_dhcp_lease_time(const struct nap_dhcp_packet *pkt, uint32_t *seconds);
/* Views of variable options (client id 61, vendor class 60, user class 77, parameter list 55,
 * relay agent information 82 raw): false when absent. */
bool nap_dhcp_get_bytes(const struct nap_dhcp_packet *pkt, uint8_t code, struct nap_cbs *out);
/*
 * True when the user class (77) is name: either the whole value (Windows sends the class as a
 * plain string, e.g. "MSFT Quarantine" for NAP exemption, spec §3.2) or one of the RFC 3004
 * length-prefixed instances.
 */
bool nap_dhcp_user_class_has(const struct nap_dhcp_packet *pkt, const char *name);
/* Map an offset inside an option's concatenated value back to the packet. */
size_t nap_dhcp_value_offset(const struct nap_dhcp_packet *pkt, uint8_t code, size_t off);

/* Option table: shared by the decoder's length checks, napdump and the tests. */
enum nap_dhcp_vtype {
	NAP_DHCP_V_OCTETS,
	NAP_DHCP_V_U8,
	NAP_DHCP_V_U16,
	NAP_DHCP_V_U32,
	NAP_DHCP_V_IPV4,
	NAP_DHCP_V_IPV4_LIST,
	NAP_DHCP_V_STRING,
	NAP_DHCP_V_MSG_TYPE,
	NAP_DHCP_V_CODES,  /* parameter request list */
	NAP_DHCP_V_ROUTES, /* RFC 3442 classless routes */
	NAP_DHCP_V_NAP,    /* option 43: vendor sub-options (NAP when 220-223) */
};
struct nap_dhcp_option_def {
	uint8_t code;
	const char *name;
	enum nap_dhcp_vtype vtype;
	uint16_t min_len, max_len; /* of the concatenated value */
	uint8_t multiple;          /* when not 0, the length must be a multiple of it */
};
const struct nap_dhcp_option_def *nap_dhcp_option_def(uint8_t code);
/* "DHCPDISCOVER", ...; NULL for unknown values. */
const char *nap_dhcp_message_type_name(int type);

/*
 * Builder: a fixed header, options in the order added, End, zero padding to NAP_DHCP_MIN_LEN.
 * The builder's cbb points into its own buf: initialise it in place, never copy it.
 */
struct nap_dhcp_builder {
	uint8_t buf[NAP_DHCP_MAX_LEN];
	struct nap_cbb cbb;
	int error;
};

/* max is the largest message to build (the client's option 57, or 0 for 576), at most 4096. */
void nap_dhcp_build_init(struct nap_dhcp_builder *b, const struct nap_dhcp_header *hdr,
			 size_t max);
/*
 * Add an option; a value longer than 255 bytes is split into consecutive instances of the code
 * (RFC 3396), an empty value is one instance of length 0. Returns 0, -EINVAL for codes 0 and 255,
 * -EMSGSIZE past the maximum; any failure poisons the builder and nothing of the option stays.
 */
int nap_dhcp_add_option(struct nap_dhcp_builder *b, uint8_t code, const void *value, size_t len);
int nap_dhcp_add_u8(struct nap_dhcp_builder *b, uint8_t code, uint8_t v);
int nap_dhcp_add_u16(struct nap_dhcp_builder *b, uint8_t code, uint16_t v);
int nap_dhcp_add_u32(struct nap_dhcp_builder *b, uint8_t code, uint32_t v);
int nap_dhcp_add_ipv4(struct nap_dhcp_builder *b, uint8_t code, const uint8_t addr[4]);
/* Write End and the padding. *out points into b->buf. Returns 0 or the first error. */
int nap_dhcp_finish(struct nap_dhcp_builder *b, const uint8_t **out, size_t *out_len);

/* --- NAP over DHCP ([MS-DHCPN] 2.2.1, spec/PROTOCOLS.md §3.1) ---------------------------- */

enum nap_dhcp_sub {
	NAP_DHCP_SUB_SOH = 220,  /* 0xDC NAP-SoH */
	NAP_DHCP_SUB_MASK = 221, /* 0xDD NAP-Mask, little-endian */
	NAP_DHCP_SUB_COID = 222, /* 0xDE NAP-CoID, 130 bytes */
	NAP_DHCP_SUB_IPV6 = 223, /* 0xDF NAP-IPv6: count + 16 * count */
};
#define NAP_DHCP_COID_LEN     130
#define NAP_DHCP_NAP_MAX_IPV6 15  /* 1 + 16 * 15 = 241: one sub-option */
#define NAP_DHCP_NAP_SOH_MAX  (NAP_SOH_MAX_LEN + 12) /* a SoH, possibly behind the PEAP wrapper */

/* What sub-option 220 carries (DHCPN 2.2.1.1). */
enum nap_dhcp_soh_kind {
	NAP_DHCP_SOH_ABSENT = 0,
	NAP_DHCP_SOH_PROBE,       /* length 0: probe in DHCPDISCOVER */
	NAP_DHCP_SOH_PROBE_RENEW, /* length 1, value 0: probe in DHCPREQUEST-renew / DHCPINFORM */
	NAP_DHCP_SOH_MARKER,      /* length 3 "NAP" (or "PAN", as FreeRADIUS sends): NAP is on */
	NAP_DHCP_SOH_DATA,        /* an SoH (client) or SoHR (server ACK) */
};

struct nap_dhcp_nap {
	bool present; /* at least one NAP sub-option */
	enum nap_dhcp_soh_kind soh_kind;
	bool marker_pan; /* the marker was "PAN" (FreeRADIUS rlm_soh, spec §3.4) */
	/* NAP_DHCP_SOH_DATA: every 220 concatenated in order. When encoding, points to the SoH/SoHR
	 * to send (any length up to NAP_DHCP_NAP_SOH_MAX). */
	const uint8_t *soh;
	size_t soh_len;
	uint16_t n_soh_parts;
	bool has_coid;
	uint8_t coid[NAP_DHCP_COID_LEN];
	bool has_mask;
	uint8_t mask[4]; /* network order (255.255.255.0 = ff ff ff 00); little-endian on the wire */
	bool has_ipv6;
	uint8_t n_ipv6;
	uint8_t ipv6[NAP_DHCP_NAP_MAX_IPV6][16];
	/* Decoding storage for the concatenated SoH. */
	uint8_t soh_buf[NAP_DHCP_NAP_SOH_MAX];
};

/*
 * Parse the NAP sub-options of option 43 (all instances already concatenated, RFC 3396). Pad (0)
 * and End (255) are honoured; other sub-options are skipped. Returns 0 (nap->present false when
 * there is no option 43 or no NAP sub-option), -EBADMSG for a sub-option overrunning option 43 or
 * a NAP sub-option of the wrong length, -EMSGSIZE for an SoH over NAP_DHCP_NAP_SOH_MAX; err's
 * offset is in the packet.
 */
int nap_dhcp_nap_parse(const struct nap_dhcp_packet *pkt, struct nap_dhcp_nap *nap,
		       struct nap_err *err);
/* Map an offset inside the concatenated NAP-SoH back to the packet (for error reports). */
size_t nap_dhcp_nap_soh_offset(const struct nap_dhcp_packet *pkt, size_t off);
/*
 * Encode NAP sub-options for option 43, in the order NAP-CoID, NAP-SoH, NAP-Mask, NAP-IPv6. The
 * marker is always sent as "NAP" (spec §3.4); an SoH longer than 255 bytes becomes several
 * consecutive 220 sub-options. Returns the length written, or -EMSGSIZE / -EINVAL.
 */
long nap_dhcp_nap_encode(const struct nap_dhcp_nap *nap, uint8_t *out, size_t cap);
/* Add option 43 with the encoded sub-options (split over several 43s when over 255 bytes). */
int nap_dhcp_add_nap(struct nap_dhcp_builder *b, const struct nap_dhcp_nap *nap);
/* Server helpers (DHCPN 3.2.5.1, 3.2.5.3): the "NAP" marker in an OFFER/ACK, the SoHR in the
 * ACK; the client's CoID (may be NULL) is echoed; mask (may be NULL) goes into NAP-Mask. */
int nap_dhcp_add_nap_marker(struct nap_dhcp_builder *b, const uint8_t *coid);
int nap_dhcp_add_nap_sohr(struct nap_dhcp_builder *b, const uint8_t *sohr, size_t len,
			  const uint8_t *coid, const uint8_t *mask);
/* Client helpers (DHCPN 3.1.4.2, 3.1.5.1): the probe (renew: the 1-byte form) and the SoH. */
int nap_dhcp_add_nap_probe(struct nap_dhcp_builder *b, const uint8_t *coid, bool renew);
int nap_dhcp_add_nap_soh(struct nap_dhcp_builder *b, const uint8_t *soh, size_t len,
			 const uint8_t *coid);
const char *nap_dhcp_soh_kind_name(enum nap_dhcp_soh_kind kind);

#endif
