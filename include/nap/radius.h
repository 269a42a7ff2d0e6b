/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * RADIUS codec (RFC 2865, RFC 2869 Message-Authenticator, RFC 5080 rules) with the Microsoft
 * vendor-specific attributes of MS-RNAP (vendor 311). Handles untrusted input.
 *
 * Decoding checks framing only (length fields, attribute bounds, VSA sub-attribute bounds) and
 * produces views into the input buffer. Authentication is a separate step:
 * nap_radius_verify_request() / nap_radius_verify_response() check the Request/Response
 * Authenticator and the Message-Authenticator (HMAC-MD5 via OpenSSL) in constant time.
 * A struct nap_radius_secret holds a secret prepared once for the _s variants of these steps.
 *
 * The builder writes attributes into a fixed 4096-byte buffer; the Message-Authenticator and the
 * Response Authenticator are computed by the finish functions, never by hand.
 */
#ifndef NAP_RADIUS_H
#define NAP_RADIUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nap/error.h"
#include "nap/wire.h"

#define NAP_RADIUS_HDR_LEN   20
#define NAP_RADIUS_MAX_LEN   4096
#define NAP_RADIUS_MAX_ATTRS 100 /* NAP limit: attributes per packet */
#define NAP_RADIUS_AUTH_LEN  16
#define NAP_RADIUS_VSA_MAX_VALUE 247 /* 255 - 2 (attr hdr) - 4 (vendor) - 2 (vendor hdr) */

enum nap_radius_code {
	NAP_RADIUS_ACCESS_REQUEST = 1,
	NAP_RADIUS_ACCESS_ACCEPT = 2,
	NAP_RADIUS_ACCESS_REJECT = 3,
	NAP_RADIUS_ACCOUNTING_REQUEST = 4,
	NAP_RADIUS_ACCOUNTING_RESPONSE = 5,
	NAP_RADIUS_ACCESS_CHALLENGE = 11,
	NAP_RADIUS_STATUS_SERVER = 12,
	NAP_RADIUS_STATUS_CLIENT = 13,
	NAP_RADIUS_DISCONNECT_REQUEST = 40, /* RFC 5176 */
	NAP_RADIUS_DISCONNECT_ACK = 41,
	NAP_RADIUS_DISCONNECT_NAK = 42,
	NAP_RADIUS_COA_REQUEST = 43,
	NAP_RADIUS_COA_ACK = 44,
	NAP_RADIUS_COA_NAK = 45,
};

#define NAP_RADIUS_VENDOR_MS 311 /* Microsoft SMI network management private enterprise code */

enum nap_radius_attr_type {
	NAP_RADIUS_USER_NAME = 1,
	NAP_RADIUS_USER_PASSWORD = 2,
	NAP_RADIUS_NAS_IP_ADDRESS = 4,
	NAP_RADIUS_NAS_PORT = 5,
	NAP_RADIUS_SERVICE_TYPE = 6,
	NAP_RADIUS_FRAMED_IP_ADDRESS = 8,
	NAP_RADIUS_REPLY_MESSAGE = 18,
	NAP_RADIUS_STATE = 24,
	NAP_RADIUS_CLASS = 25,
	NAP_RADIUS_VENDOR_SPECIFIC = 26,
	NAP_RADIUS_SESSION_TIMEOUT = 27,
	NAP_RADIUS_ACCT_SESSION_ID = 44,
	NAP_RADIUS_EVENT_TIMESTAMP = 55,
	NAP_RADIUS_CALLED_STATION_ID = 30,
	NAP_RADIUS_CALLING_STATION_ID = 31,
	NAP_RADIUS_NAS_IDENTIFIER = 32,
	NAP_RADIUS_PROXY_STATE = 33,
	NAP_RADIUS_NAS_PORT_TYPE = 61,
	NAP_RADIUS_EAP_MESSAGE = 79,
	NAP_RADIUS_MESSAGE_AUTHENTICATOR = 80,
	NAP_RADIUS_NAS_IPV6_ADDRESS = 95,
};

#define NAP_RADIUS_SERVICE_AUTHORIZE_ONLY 17

/* Microsoft vendor types (MS-RNAP 2.2.1; spec/PROTOCOLS.md §5). */
enum nap_ms_vsa {
	NAP_MS_RAS_CLIENT_NAME = 34,
	NAP_MS_RAS_CLIENT_VERSION = 35,
	NAP_MS_QUARANTINE_IPFILTER = 36,
	NAP_MS_QUARANTINE_SESSION_TIMEOUT = 37,
	NAP_MS_USER_SECURITY_IDENTITY = 40,
	NAP_MS_IDENTITY_TYPE = 41,
	NAP_MS_SERVICE_CLASS = 42,
	NAP_MS_QUARANTINE_USER_CLASS = 44,
	NAP_MS_QUARANTINE_STATE = 45,
	NAP_MS_QUARANTINE_GRACE_TIME = 46,
	NAP_MS_NETWORK_ACCESS_SERVER_TYPE = 47,
	NAP_MS_AFW_ZONE = 48,
	NAP_MS_AFW_PROTECTION_LEVEL = 49,
	NAP_MS_MACHINE_NAME = 50,
	NAP_MS_IPV6_FILTER = 51,
	NAP_MS_IPV4_REMEDIATION_SERVERS = 52,
	NAP_MS_IPV6_REMEDIATION_SERVERS = 53,
	NAP_MS_NOT_QUARANTINE_CAPABLE = 54,
	NAP_MS_QUARANTINE_SOH = 55,
	NAP_MS_RAS_CORRELATION_ID = 56,
	NAP_MS_EXTENDED_QUARANTINE_STATE = 57,
	NAP_MS_HCAP_USER_GROUPS = 58,
	NAP_MS_HCAP_LOCATION_GROUP_NAME = 59,
	NAP_MS_HCAP_USER_NAME = 60,
	NAP_MS_USER_IPV4_ADDRESS = 61,
	NAP_MS_USER_IPV6_ADDRESS = 62,
	NAP_MS_RDG_DEVICE_REDIRECTION = 63,
};

/* MS-Quarantine-State values. */
#define NAP_MS_QSTATE_FULL_ACCESS 0
#define NAP_MS_QSTATE_RESTRICTED  1
#define NAP_MS_QSTATE_PROBATION   2
/* MS-Extended-Quarantine-State values (RNAP 2.2.1.21). */
#define NAP_MS_EXTSTATE_NO_DATA    0
#define NAP_MS_EXTSTATE_TRANSITION 1
#define NAP_MS_EXTSTATE_INFECTED   2
#define NAP_MS_EXTSTATE_UNKNOWN    3
/* MS-Network-Access-Server-Type values. */
#define NAP_MS_NAS_UNSPECIFIED 0
#define NAP_MS_NAS_TS_GATEWAY  1
#define NAP_MS_NAS_RAS         2
#define NAP_MS_NAS_DHCP        3
#define NAP_MS_NAS_WIRELESS    4
#define NAP_MS_NAS_HRA         5
#define NAP_MS_NAS_HCAP        6

/*
 * One attribute, or one sub-attribute of a Vendor-Specific attribute. A Vendor-Specific value
 * that is not well formed in the RFC 2865 style (or uses vendor-type 0) is kept opaque:
 * vendor_type 0, vendor = its first four bytes when present (else 0), and value/len the whole
 * attribute value including the vendor id, so it can be forwarded unchanged.
 */
struct nap_radius_attr {
	uint8_t type;        /* RADIUS attribute type */
	uint32_t vendor;     /* for type 26: vendor id; else 0 */
	uint8_t vendor_type; /* for type 26 with a well-formed RFC 2865 sub-attribute; else 0 */
	uint8_t len;         /* value length (sub-attribute value for a split VSA) */
	const uint8_t *value;
	size_t offset;       /* of the attribute header in the packet */
};

struct nap_radius_packet {
	uint8_t code;
	uint8_t id;
	uint16_t length;
	uint8_t authenticator[NAP_RADIUS_AUTH_LEN];
	uint16_t n_attrs;
	struct nap_radius_attr attrs[NAP_RADIUS_MAX_ATTRS];
	const uint8_t *raw; /* the packet as decoded (length bytes) */
	size_t msg_auth_offset; /* offset of the Message-Authenticator value, 0 if absent */
};

/*
 * Decode framing. Bytes past the Length field are ignored (RFC 2865 §3); a Length larger than
 * the datagram, attributes overrunning the packet, a Message-Authenticator of the wrong size or
 * more than NAP_RADIUS_MAX_ATTRS attributes are errors. A VSA holding several sub-attributes
 * yields one nap_radius_attr per sub-attribute.
 */
int nap_radius_decode(const uint8_t *p, size_t len, struct nap_radius_packet *pkt,
		      struct nap_err *err);

/*
 * Verify an Access-Request or Status-Server: Message-Authenticator (required when
 * require_msg_auth). Returns 0, -ENOMSG when it is missing, -EPERM when it is wrong.
 * Accounting-Request, Disconnect-Request and CoA-Request also have their MD5 Request
 * Authenticator checked (RFC 2866 §3, RFC 5176 §3.5; -EPERM when wrong). -EINVAL for an empty
 * secret or an undecoded packet.
 */
int nap_radius_verify_request(const struct nap_radius_packet *pkt, const uint8_t *secret,
			      size_t secret_len, bool require_msg_auth);
/*
 * Verify a response against the request authenticator it answers: Response Authenticator and,
 * when present, Message-Authenticator. Returns 0 or -EPERM.
 */
int nap_radius_verify_response(const struct nap_radius_packet *resp,
			       const uint8_t req_auth[NAP_RADIUS_AUTH_LEN], const uint8_t *secret,
			       size_t secret_len);

const struct nap_radius_attr *nap_radius_find(const struct nap_radius_packet *pkt, uint8_t type);
const struct nap_radius_attr *nap_radius_find_vsa(const struct nap_radius_packet *pkt,
						  uint32_t vendor, uint8_t vendor_type);
bool nap_radius_attr_u32(const struct nap_radius_attr *a, uint32_t *v);
/*
 * Concatenate every MS VSA of vendor_type in packet order (how a long SoH travels).
 * Returns the total length, 0 if none, or -EMSGSIZE if it exceeds cap.
 */
long nap_radius_ms_concat(const struct nap_radius_packet *pkt, uint8_t vendor_type, uint8_t *out,
			  size_t cap);

/* The builder's cbb points into its own buf: initialise it in place, never copy it. */
struct nap_radius_builder {
	uint8_t buf[NAP_RADIUS_MAX_LEN];
	struct nap_cbb cbb;
	size_t msg_auth_at; /* offset of the Message-Authenticator value, 0 if none */
	uint16_t n_attrs;
	bool error;
};

/*
 * Start a packet. For requests pass a fresh random authenticator (or NULL to draw one); for
 * responses the value is overwritten by nap_radius_finish_response() (NULL is fine).
 * The add functions return 0, -EMSGSIZE past 4096 bytes / 100 attributes / a too long value,
 * or -EINVAL; any failure poisons the builder so that the finish functions fail too.
 * Accounting-Request, Disconnect-Request and CoA-Request get their MD5 Request Authenticator
 * from nap_radius_finish_request().
 */
void nap_radius_build_init(struct nap_radius_builder *b, uint8_t code, uint8_t id,
			   const uint8_t authenticator[NAP_RADIUS_AUTH_LEN]);
int nap_radius_add_attr(struct nap_radius_builder *b, uint8_t type, const void *value, size_t len);
int nap_radius_add_u32(struct nap_radius_builder *b, uint8_t type, uint32_t v);
int nap_radius_add_vsa(struct nap_radius_builder *b, uint32_t vendor, uint8_t vendor_type,
		       const void *value, size_t len);
int nap_radius_add_ms_u32(struct nap_radius_builder *b, uint8_t vendor_type, uint32_t v);
/*
 * Split a long value over consecutive MS VSAs of at most 247 bytes each (order preserved; an
 * empty value yields one empty VSA). All or nothing: on -EMSGSIZE nothing was written.
 */
int nap_radius_add_ms_split(struct nap_radius_builder *b, uint8_t vendor_type, const void *value,
			    size_t len);
/* Reserve a Message-Authenticator (computed by the finish function). At most one (-EEXIST). */
int nap_radius_add_message_authenticator(struct nap_radius_builder *b);
/* Finish a request: fill Length and Message-Authenticator. *out points into b->buf. */
int nap_radius_finish_request(struct nap_radius_builder *b, const uint8_t *secret,
			      size_t secret_len, const uint8_t **out, size_t *out_len);
/*
 * Finish a response to a request with authenticator req_auth: Message-Authenticator (computed
 * with the request authenticator in place, RFC 2869 §5.14), then the Response Authenticator.
 */
int nap_radius_finish_response(struct nap_radius_builder *b,
			       const uint8_t req_auth[NAP_RADIUS_AUTH_LEN], const uint8_t *secret,
			       size_t secret_len, const uint8_t **out, size_t *out_len);

/*
 * A shared secret prepared once for many packets: the HMAC-MD5 key schedule of the
 * Message-Authenticator is computed when the object is made, so the _s variants below skip it.
 * They give the same results as the functions taking the secret bytes. The object is only read
 * by them and may be shared between threads; free it with nap_radius_secret_free(), which wipes
 * the key.
 */
#define NAP_RADIUS_SECRET_MAX 1024
struct nap_radius_secret;
/* 0, -EINVAL for an empty secret or one over NAP_RADIUS_SECRET_MAX bytes, -ENOMEM or -EIO. */
int nap_radius_secret_new(const uint8_t *secret, size_t len, struct nap_radius_secret **out);
void nap_radius_secret_free(struct nap_radius_secret *s); /* NULL is fine */
int nap_radius_verify_request_s(const struct nap_radius_packet *pkt,
				const struct nap_radius_secret *s, bool require_msg_auth);
int nap_radius_verify_response_s(const struct nap_radius_packet *resp,
				 const uint8_t req_auth[NAP_RADIUS_AUTH_LEN],
				 const struct nap_radius_secret *s);
int nap_radius_finish_request_s(struct nap_radius_builder *b, const struct nap_radius_secret *s,
				const uint8_t **out, size_t *out_len);
int nap_radius_finish_response_s(struct nap_radius_builder *b,
				 const uint8_t req_auth[NAP_RADIUS_AUTH_LEN],
				 const struct nap_radius_secret *s, const uint8_t **out,
				 size_t *out_len);

/* Attribute dictionary, shared by the decoder checks, napdump and the tests. */
enum nap_radius_vtype {
	NAP_RV_OCTETS,
	NAP_RV_STRING,
	NAP_RV_INTEGER,
	NAP_RV_IPADDR,
	NAP_RV_IPV6ADDR,
	NAP_RV_SOH,      /* MS-Quarantine-SoH: SoH or SoHR, possibly split */
	NAP_RV_REMEDIATION4,
	NAP_RV_REMEDIATION6,
	NAP_RV_PASSWORD,   /* User-Password: 16..128 bytes, a multiple of 16 */
	NAP_RV_IPV6PREFIX, /* RFC 3162 Framed-IPv6-Prefix: reserved, prefix-length, prefix */
	NAP_RV_FILTER,     /* MS filter structure, possibly split over several VSAs */
};
/* min_len/max_len bound the value (for VSAs the sub-attribute value: Vendor-Length - 2). */
struct nap_radius_attr_def {
	uint32_t vendor; /* 0 for standard attributes */
	uint8_t type;
	const char *name;
	enum nap_radius_vtype vtype;
	uint8_t min_len, max_len;
	const char *fr_name; /* FreeRADIUS dictionary name when it differs, else NULL */
	bool split;          /* may be split over consecutive VSAs; min_len applies to the whole */
};
/* NULL when the attribute is not in the table. */
const struct nap_radius_attr_def *nap_radius_attr_def(uint32_t vendor, uint8_t type);
/* Look up by name (RNAP/RFC name or FreeRADIUS name, case-insensitive); NULL if unknown. */
const struct nap_radius_attr_def *nap_radius_attr_def_by_name(const char *name);
/* Definition for a decoded attribute (VSA sub-attribute or standard), NULL if unknown. */
const struct nap_radius_attr_def *nap_radius_attr_lookup(const struct nap_radius_attr *a);
/* "Access-Request", ...; "Unknown" for codes not in the table (never NULL). */
const char *nap_radius_code_name(uint8_t code);
/*
 * Check one attribute's value length/format against the dictionary (0 or -EBADMSG). Unknown
 * attributes pass. For attributes that may be split (MS-Quarantine-SoH, the filters) this checks
 * the attribute on its own, i.e. as if unsplit; use nap_radius_packet_check() for a packet.
 */
int nap_radius_attr_check(const struct nap_radius_attr *a);
/*
 * Check every attribute of a decoded packet against the dictionary. Split attributes are checked
 * as the concatenation of their VSAs in packet order (each piece must be non-empty), so a long
 * SoH split by nap_radius_add_ms_split() passes. Returns 0 or -EBADMSG with err set.
 */
int nap_radius_packet_check(const struct nap_radius_packet *pkt, struct nap_err *err);

#endif
