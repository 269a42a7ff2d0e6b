// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * RADIUS attribute dictionary: the standard attributes nap meets (RFC 2865, 2866, 2869, 3162)
 * and every Microsoft vendor-specific attribute of MS-RNAP 2.2.1 (vendor 311), with value types
 * and value-length bounds, plus the format checks that use them. The decoder's callers, napdump
 * and the tests all read these tables. Checks handle untrusted (decoded, bounds-checked) values.
 */
#include <errno.h>
#include <strings.h>

#include "nap/radius.h"
#include "nap/util.h"

#define STD(t, n, vt, lo, hi) [t] = {.vendor = 0, .type = t, .name = n, .vtype = vt, \
				      .min_len = lo, .max_len = hi}
#define MS(t, n, vt, lo, hi, fr, sp) [t] = {.vendor = NAP_RADIUS_VENDOR_MS, .type = t, .name = n, \
					    .vtype = vt, .min_len = lo, .max_len = hi,        \
					    .fr_name = fr, .split = sp}

/* Value lengths; RFC 2865 §5 gives attribute lengths, i.e. these plus 2. */
static const struct nap_radius_attr_def radius_std[256] = {
	STD(1, "User-Name", NAP_RV_STRING, 1, 253),
	STD(2, "User-Password", NAP_RV_PASSWORD, 16, 128),
	STD(3, "CHAP-Password", NAP_RV_OCTETS, 17, 17),
	STD(4, "NAS-IP-Address", NAP_RV_IPADDR, 4, 4),
	STD(5, "NAS-Port", NAP_RV_INTEGER, 4, 4),
	STD(6, "Service-Type", NAP_RV_INTEGER, 4, 4),
	STD(7, "Framed-Protocol", NAP_RV_INTEGER, 4, 4),
	STD(8, "Framed-IP-Address", NAP_RV_IPADDR, 4, 4),
	STD(9, "Framed-IP-Netmask", NAP_RV_IPADDR, 4, 4),
	STD(11, "Filter-Id", NAP_RV_STRING, 1, 253),
	STD(12, "Framed-MTU", NAP_RV_INTEGER, 4, 4),
	STD(18, "Reply-Message", NAP_RV_STRING, 1, 253),
	STD(24, "State", NAP_RV_OCTETS, 1, 253),
	STD(25, "Class", NAP_RV_OCTETS, 1, 253),
	/* Vendor id plus at least one octet (RFC 2865 §5.26: Length >= 7). */
	STD(26, "Vendor-Specific", NAP_RV_OCTETS, 5, 253),
	STD(27, "Session-Timeout", NAP_RV_INTEGER, 4, 4),
	STD(28, "Idle-Timeout", NAP_RV_INTEGER, 4, 4),
	STD(29, "Termination-Action", NAP_RV_INTEGER, 4, 4),
	STD(30, "Called-Station-Id", NAP_RV_STRING, 1, 253),
	STD(31, "Calling-Station-Id", NAP_RV_STRING, 1, 253),
	STD(32, "NAS-Identifier", NAP_RV_STRING, 1, 253),
	STD(33, "Proxy-State", NAP_RV_OCTETS, 1, 253),
	STD(40, "Acct-Status-Type", NAP_RV_INTEGER, 4, 4),
	STD(41, "Acct-Delay-Time", NAP_RV_INTEGER, 4, 4),
	STD(42, "Acct-Input-Octets", NAP_RV_INTEGER, 4, 4),
	STD(43, "Acct-Output-Octets", NAP_RV_INTEGER, 4, 4),
	STD(44, "Acct-Session-Id", NAP_RV_STRING, 1, 253),
	STD(45, "Acct-Authentic", NAP_RV_INTEGER, 4, 4),
	STD(46, "Acct-Session-Time", NAP_RV_INTEGER, 4, 4),
	STD(49, "Acct-Terminate-Cause", NAP_RV_INTEGER, 4, 4),
	STD(55, "Event-Timestamp", NAP_RV_INTEGER, 4, 4),
	STD(60, "CHAP-Challenge", NAP_RV_OCTETS, 5, 253),
	STD(61, "NAS-Port-Type", NAP_RV_INTEGER, 4, 4),
	STD(77, "Connect-Info", NAP_RV_STRING, 1, 253),
	STD(79, "EAP-Message", NAP_RV_OCTETS, 1, 253),
	STD(80, "Message-Authenticator", NAP_RV_OCTETS, 16, 16),
	STD(85, "Acct-Interim-Interval", NAP_RV_INTEGER, 4, 4),
	STD(87, "NAS-Port-Id", NAP_RV_STRING, 1, 253),
	STD(95, "NAS-IPv6-Address", NAP_RV_IPV6ADDR, 16, 16),
	STD(96, "Framed-Interface-Id", NAP_RV_OCTETS, 8, 8),
	STD(97, "Framed-IPv6-Prefix", NAP_RV_IPV6PREFIX, 2, 18),
};

/*
 * MS-RNAP 2.2.1.x (spec/PROTOCOLS.md §5). The RNAP text states Vendor-Length rules; value
 * length = Vendor-Length - 2:
 *   MS-RAS-Client-Name 3 <= VL < 36 -> 1..33; MS-Quarantine-IPFilter VL >= 74 -> >= 72;
 *   MS-IPv6-Filter VL >= 98 -> >= 96; MS-IPv4-Remediation-Servers VL > 6, VL mod 4 = 3 ->
 *   1 + 4N (N >= 1); MS-IPv6-Remediation-Servers VL > 18, VL mod 16 = 3 -> 1 + 16N;
 *   MS-Quarantine-SoH VL >= 12 -> >= 10. A binary SID is 8 + 4 * (0..15) bytes.
 * Strings are not required to be NUL-terminated: Windows terminates MS-RAS-Client-Name, other
 * senders (radclient) do not, and both are accepted.
 */
static const struct nap_radius_attr_def radius_ms[256] = {
	MS(34, "MS-RAS-Client-Name", NAP_RV_STRING, 1, 33, NULL, false),
	MS(35, "MS-RAS-Client-Version", NAP_RV_STRING, 1, 247, NULL, false),
	MS(36, "MS-Quarantine-IPFilter", NAP_RV_FILTER, 72, 247, NULL, true),
	MS(37, "MS-Quarantine-Session-Timeout", NAP_RV_INTEGER, 4, 4, NULL, false),
	MS(40, "MS-User-Security-Identity", NAP_RV_OCTETS, 8, 68, NULL, false),
	MS(41, "MS-Identity-Type", NAP_RV_INTEGER, 4, 4, NULL, false),
	MS(42, "MS-Service-Class", NAP_RV_STRING, 1, 247, NULL, false),
	MS(44, "MS-Quarantine-User-Class", NAP_RV_STRING, 1, 247, NULL, false),
	MS(45, "MS-Quarantine-State", NAP_RV_INTEGER, 4, 4, NULL, false),
	MS(46, "MS-Quarantine-Grace-Time", NAP_RV_INTEGER, 4, 4, NULL, false),
	MS(47, "MS-Network-Access-Server-Type", NAP_RV_INTEGER, 4, 4, NULL, false),
	MS(48, "MS-AFW-Zone", NAP_RV_INTEGER, 4, 4, NULL, false),
	MS(49, "MS-AFW-Protection-Level", NAP_RV_INTEGER, 4, 4, NULL, false),
	MS(50, "MS-Machine-Name", NAP_RV_STRING, 1, 247, NULL, false),
	MS(51, "MS-IPv6-Filter", NAP_RV_FILTER, 96, 247, NULL, true),
	MS(52, "MS-IPv4-Remediation-Servers", NAP_RV_REMEDIATION4, 5, 245, NULL, false),
	MS(53, "MS-IPv6-Remediation-Servers", NAP_RV_REMEDIATION6, 17, 241, NULL, false),
	MS(54, "Not-Quarantine-Capable", NAP_RV_INTEGER, 4, 4, "MS-RNAP-Not-Quarantine-Capable",
	   false),
	MS(55, "MS-Quarantine-SoH", NAP_RV_SOH, 10, 247, "MS-Quarantine-SOH", true),
	MS(56, "MS-RAS-Correlation-ID", NAP_RV_STRING, 1, 247, "MS-RAS-Correlation", false),
	MS(57, "MS-Extended-Quarantine-State", NAP_RV_INTEGER, 4, 4, NULL, false),
	MS(58, "HCAP-User-Groups", NAP_RV_STRING, 1, 247, "MS-HCAP-User-Groups", false),
	MS(59, "HCAP-Location-Group-Name", NAP_RV_STRING, 1, 247, "MS-HCAP-Location-Group-Name",
	   false),
	MS(60, "HCAP-User-Name", NAP_RV_STRING, 1, 247, "MS-HCAP-User-Name", false),
	MS(61, "MS-User-IPv4-Address", NAP_RV_IPADDR, 4, 4, NULL, false),
	MS(62, "MS-User-IPv6-Address", NAP_RV_IPV6ADDR, 16, 16, NULL, false),
	MS(63, "MS-RDG-Device-Redirection", NAP_RV_INTEGER, 4, 4, "MS-TSG-Device-Redirection",
	   false),
};

static const char *const radius_codes[256] = {
	[NAP_RADIUS_ACCESS_REQUEST] = "Access-Request",
	[NAP_RADIUS_ACCESS_ACCEPT] = "Access-Accept",
	[NAP_RADIUS_ACCESS_REJECT] = "Access-Reject",
	[NAP_RADIUS_ACCOUNTING_REQUEST] = "Accounting-Request",
	[NAP_RADIUS_ACCOUNTING_RESPONSE] = "Accounting-Response",
	[NAP_RADIUS_ACCESS_CHALLENGE] = "Access-Challenge",
	[NAP_RADIUS_STATUS_SERVER] = "Status-Server",
	[NAP_RADIUS_STATUS_CLIENT] = "Status-Client",
	[NAP_RADIUS_DISCONNECT_REQUEST] = "Disconnect-Request",
	[NAP_RADIUS_DISCONNECT_ACK] = "Disconnect-ACK",
	[NAP_RADIUS_DISCONNECT_NAK] = "Disconnect-NAK",
	[NAP_RADIUS_COA_REQUEST] = "CoA-Request",
	[NAP_RADIUS_COA_ACK] = "CoA-ACK",
	[NAP_RADIUS_COA_NAK] = "CoA-NAK",
};

const struct nap_radius_attr_def *
nap_radius_attr_def(uint32_t vendor, uint8_t type)
{
	const struct nap_radius_attr_def *d;

	if (vendor == 0)
		d = &radius_std[type];
	else if (vendor == NAP_RADIUS_VENDOR_MS)
		d = &radius_ms[type];
	else
		return NULL;
	return d->name != NULL ? d : NULL;
}

const struct nap_radius_attr_def *
nap_radius_attr_def_by_name(const char *name)
{
	static const struct nap_radius_attr_def *const tables[] = {radius_std, radius_ms};

	if (name == NULL)
		return NULL;
	for (size_t t = 0; t < NAP_ARRAY_SIZE(tables); t++) {
		for (size_t i = 0; i < 256; i++) {
			const struct nap_radius_attr_def *d = &tables[t][i];

			if (d->name == NULL)
				continue;
			if (strcasecmp(d->name, name) == 0 ||
			    (d->fr_name != NULL && strcasecmp(d->fr_name, name) == 0))
				return d;
		}
	}
	return NULL;
}

const struct nap_radius_attr_def *
nap_radius_attr_lookup(const struct nap_radius_attr *a)
{
	if (a->type == NAP_RADIUS_VENDOR_SPECIFIC && a->vendor_type != 0)
		return nap_radius_attr_def(a->vendor, a->vendor_type);
	return nap_radius_attr_def(0, a->type);
}

const char *
nap_radius_code_name(uint8_t code)
{
	return radius_codes[code] != NULL ? radius_codes[code] : "Unknown";
}

/* Format rules beyond the length bounds. */
static bool
radius_value_ok(const struct nap_radius_attr_def *d, const uint8_t *v, size_t len)
{
	switch (d->vtype) {
	case NAP_RV_PASSWORD:
		return len % 16 == 0;
	case NAP_RV_REMEDIATION4:
		return len >= 5 && (len - 1) % 4 == 0;
	case NAP_RV_REMEDIATION6:
		return len >= 17 && (len - 1) % 16 == 0;
	case NAP_RV_IPV6PREFIX:
		/* RFC 3162 §2.3: reserved, prefix-length (bits), then at least the prefix bytes. */
		return len >= 2 && v[1] <= 128 && (size_t)(v[1] + 7) / 8 <= len - 2;
	default:
		return true;
	}
}

int
nap_radius_attr_check(const struct nap_radius_attr *a)
{
	const struct nap_radius_attr_def *d = nap_radius_attr_lookup(a);

	if (d == NULL)
		return 0;
	if (a->len < d->min_len || a->len > d->max_len)
		return -EBADMSG;
	return radius_value_ok(d, a->value, a->len) ? 0 : -EBADMSG;
}

int
nap_radius_packet_check(const struct nap_radius_packet *pkt, struct nap_err *err)
{
	for (uint16_t i = 0; i < pkt->n_attrs; i++) {
		const struct nap_radius_attr *a = &pkt->attrs[i];
		const struct nap_radius_attr_def *d = nap_radius_attr_lookup(a);
		size_t total = 0;
		bool first = true;

		if (d == NULL)
			continue;
		if (!d->split) {
			if (nap_radius_attr_check(a) < 0)
				return nap_err_set(err, a->offset, d->name, -EBADMSG);
			continue;
		}
		/* A split value: every piece non-empty, the whole checked once, at its first piece. */
		if (a->len == 0 || a->len > d->max_len)
			return nap_err_set(err, a->offset, d->name, -EBADMSG);
		for (uint16_t j = 0; j < pkt->n_attrs; j++) {
			const struct nap_radius_attr *b = &pkt->attrs[j];

			if (b->type != a->type || b->vendor != a->vendor ||
			    b->vendor_type != a->vendor_type)
				continue;
			if (j < i)
				first = false;
			total += b->len;
		}
		if (first && total < d->min_len)
			return nap_err_set(err, a->offset, d->name, -EBADMSG);
	}
	return 0;
}
