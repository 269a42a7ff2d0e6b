// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * Describe a decoded DHCPv4 packet as a JSON tree for napdump: the BOOTP header, every option
 * (named and typed by libnap's option table), and for option 43 the MS-DHCPN sub-options
 * (spec/PROTOCOLS.md §3.1) with the SoH or SoHR inside described by dump_soh(). The bytes are
 * untrusted; all parsing is done by libnap's decoders, strings from the wire are escaped.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nap/dhcp.h"
#include "nap/util.h"

#include "dump.h"
#include "dump_dhcp.h"

static json_t *
ipv4(const uint8_t *p)
{
	char buf[INET_ADDRSTRLEN];

	if (inet_ntop(AF_INET, p, buf, sizeof(buf)) == NULL)
		return json_null();
	return json_string(buf);
}

static json_t *
ipv6(const uint8_t *p)
{
	char buf[INET6_ADDRSTRLEN];

	if (inet_ntop(AF_INET6, p, buf, sizeof(buf)) == NULL)
		return json_null();
	return json_string(buf);
}

static json_t *
escaped(const uint8_t *p, size_t n)
{
	char buf[4 * 512 + 1];

	while (n > 0 && p[n - 1] == '\0')
		n--;
	if (n > 512)
		n = 512;
	nap_escape(p, n, buf, sizeof(buf));
	return json_string(buf);
}

/* RFC 3442 routes as "dest/width via router"; NULL when the value is not well formed. */
static json_t *
routes(const uint8_t *p, size_t n)
{
	json_t *a = json_array();
	size_t i = 0;

	while (i < n) {
		uint8_t width = p[i], dest[4] = {0, 0, 0, 0};
		size_t sig = (width + 7u) / 8u;
		char buf[64], d[INET_ADDRSTRLEN], r[INET_ADDRSTRLEN];

		if (width > 32 || n - i - 1 < sig + 4)
			goto bad;
		memcpy(dest, p + i + 1, sig);
		inet_ntop(AF_INET, dest, d, sizeof(d));
		inet_ntop(AF_INET, p + i + 1 + sig, r, sizeof(r));
		snprintf(buf, sizeof(buf), "%s/%u via %s", d, width, r);
		json_array_append_new(a, json_string(buf));
		i += 1 + sig + 4;
	}
	return a;
bad:
	json_decref(a);
	return NULL;
}

static void
describe_value(json_t *t, const struct nap_dhcp_option *o, const struct nap_dhcp_option_def *d)
{
	const uint8_t *v = o->value;
	json_t *j;

	switch (d != NULL ? d->vtype : NAP_DHCP_V_OCTETS) {
	case NAP_DHCP_V_U8:
		json_object_set_new(t, "value", json_integer(v[0]));
		return;
	case NAP_DHCP_V_U16:
		json_object_set_new(t, "value", json_integer((unsigned)v[0] << 8 | v[1]));
		return;
	case NAP_DHCP_V_U32:
		json_object_set_new(t, "value",
				    json_integer((json_int_t)((uint32_t)v[0] << 24 |
							      (uint32_t)v[1] << 16 |
							      (uint32_t)v[2] << 8 | v[3])));
		return;
	case NAP_DHCP_V_IPV4:
		json_object_set_new(t, "value", ipv4(v));
		return;
	case NAP_DHCP_V_IPV4_LIST:
		j = json_array();
		for (size_t i = 0; i + 4 <= o->len; i += 4)
			json_array_append_new(j, ipv4(v + i));
		json_object_set_new(t, "value", j);
		return;
	case NAP_DHCP_V_STRING:
		json_object_set_new(t, "value", escaped(v, o->len));
		return;
	case NAP_DHCP_V_MSG_TYPE:
		json_object_set_new(t, "value", json_integer(v[0]));
		if (nap_dhcp_message_type_name(v[0]) != NULL)
			json_object_set_new(t, "value_name",
					    json_string(nap_dhcp_message_type_name(v[0])));
		return;
	case NAP_DHCP_V_CODES:
		j = json_array();
		for (size_t i = 0; i < o->len; i++)
			json_array_append_new(j, json_integer(v[i]));
		json_object_set_new(t, "value", j);
		return;
	case NAP_DHCP_V_ROUTES:
		if ((j = routes(v, o->len)) != NULL) {
			json_object_set_new(t, "value", j);
			return;
		}
		break;
	default:
		break;
	}
	json_object_set_new(t, "value", dump_hex(v, o->len));
}

static void
problem_at(json_t *o, const char *key, const char *what, size_t at, bool *problem,
	   struct nap_err *err)
{
	char buf[256];

	snprintf(buf, sizeof(buf), "%s at offset %zu", what, at);
	json_object_set_new(o, key, json_string(buf));
	if (!*problem) {
		*problem = true;
		nap_err_set(err, at, what, 0);
	}
}

static json_t *
describe_nap(const struct nap_dhcp_packet *pkt, const struct nap_dhcp_nap *nap, bool *problem,
	     struct nap_err *err)
{
	json_t *o = json_object(), *a;

	json_object_set_new(o, "soh_kind", json_string(nap_dhcp_soh_kind_name(nap->soh_kind)));
	if (nap->soh_kind == NAP_DHCP_SOH_MARKER)
		json_object_set_new(o, "marker", json_string(nap->marker_pan ? "PAN" : "NAP"));
	if (nap->has_coid)
		json_object_set_new(o, "correlation_id", dump_hex(nap->coid, sizeof(nap->coid)));
	if (nap->has_mask) /* little-endian on the wire (DHCPN 2.2.1.2), shown as a mask */
		json_object_set_new(o, "mask", ipv4(nap->mask));
	if (nap->has_ipv6) {
		a = json_array();
		for (unsigned i = 0; i < nap->n_ipv6; i++)
			json_array_append_new(a, ipv6(nap->ipv6[i]));
		json_object_set_new(o, "ipv6_remediation_servers", a);
	}
	if (nap->soh_kind == NAP_DHCP_SOH_DATA) {
		struct nap_err serr = {0, NULL};
		enum dump_kind kind = pkt->hdr.op == NAP_DHCP_BOOTREPLY ? DUMP_SOHR : DUMP_SOH;
		json_t *s;

		json_object_set_new(o, "soh_length", json_integer((json_int_t)nap->soh_len));
		json_object_set_new(o, "soh_parts", json_integer(nap->n_soh_parts));
		if (dump_soh(nap->soh, nap->soh_len, kind, &s, &serr) < 0)
			problem_at(o, "soh_error", serr.what != NULL ? serr.what : "malformed SoH",
				   nap_dhcp_nap_soh_offset(pkt, serr.offset), problem, err);
		else
			json_object_set_new(o, kind == DUMP_SOH ? "soh" : "sohr", s);
	}
	return o;
}

int
dump_dhcp(const uint8_t *p, size_t len, json_t **out, bool *problem, struct nap_err *err)
{
	struct nap_dhcp_packet *pkt = malloc(sizeof(*pkt));
	struct nap_dhcp_nap *nap = malloc(sizeof(*nap));
	const struct nap_dhcp_header *h;
	json_t *o, *opts;
	char buf[32];
	int r, mt;

	*problem = false;
	if (pkt == NULL || nap == NULL) {
		r = nap_err_set(err, 0, "out of memory", -ENOMEM);
		goto out;
	}
	if ((r = nap_dhcp_decode(p, len, pkt, err)) < 0)
		goto out;
	h = &pkt->hdr;
	o = json_object();
	json_object_set_new(o, "op",
			    h->op == NAP_DHCP_BOOTREQUEST ? json_string("BOOTREQUEST")
			    : h->op == NAP_DHCP_BOOTREPLY ? json_string("BOOTREPLY")
							  : json_integer(h->op));
	mt = nap_dhcp_message_type(pkt);
	if (mt != 0)
		json_object_set_new(o, "message_type",
				    nap_dhcp_message_type_name(mt) != NULL
					    ? json_string(nap_dhcp_message_type_name(mt))
					    : json_integer(mt));
	json_object_set_new(o, "length", json_integer((json_int_t)len));
	json_object_set_new(o, "htype", json_integer(h->htype));
	json_object_set_new(o, "hlen", json_integer(h->hlen));
	json_object_set_new(o, "hops", json_integer(h->hops));
	snprintf(buf, sizeof(buf), "0x%08" PRIx32, h->xid);
	json_object_set_new(o, "xid", json_string(buf));
	json_object_set_new(o, "secs", json_integer(h->secs));
	json_object_set_new(o, "broadcast", json_boolean((h->flags & NAP_DHCP_FLAG_BROADCAST) != 0));
	json_object_set_new(o, "ciaddr", ipv4(h->ciaddr));
	json_object_set_new(o, "yiaddr", ipv4(h->yiaddr));
	json_object_set_new(o, "siaddr", ipv4(h->siaddr));
	json_object_set_new(o, "giaddr", ipv4(h->giaddr));
	json_object_set_new(o, "chaddr",
			    dump_hex(h->chaddr, h->hlen <= NAP_DHCP_CHADDR_LEN ? h->hlen
									    : NAP_DHCP_CHADDR_LEN));
	if ((pkt->overload & 2) == 0 && h->sname[0] != '\0')
		json_object_set_new(o, "sname", escaped(h->sname, sizeof(h->sname)));
	if ((pkt->overload & 1) == 0 && h->file[0] != '\0')
		json_object_set_new(o, "file", escaped(h->file, sizeof(h->file)));
	if (pkt->overload != 0)
		json_object_set_new(o, "overload",
				    json_string(pkt->overload == 1   ? "file"
						: pkt->overload == 2 ? "sname"
								     : "file+sname"));
	opts = json_array();
	json_object_set_new(o, "options", opts);
	for (unsigned i = 0; i < pkt->n_options; i++) {
		const struct nap_dhcp_option *op = &pkt->options[i];
		const struct nap_dhcp_option_def *d = nap_dhcp_option_def(op->code);
		json_t *t = json_object();

		json_object_set_new(t, "code", json_integer(op->code));
		json_object_set_new(t, "name", json_string(d != NULL ? d->name : "unknown"));
		json_object_set_new(t, "length", json_integer(op->len));
		if (op->n_parts > 1)
			json_object_set_new(t, "parts", json_integer(op->n_parts));
		describe_value(t, op, d);
		json_array_append_new(opts, t);
	}
	if (nap_dhcp_find(pkt, NAP_DHCP_OPT_VENDOR) != NULL) {
		struct nap_err nerr = {0, NULL};

		if (nap_dhcp_nap_parse(pkt, nap, &nerr) < 0)
			problem_at(o, "nap_error", nerr.what, nerr.offset, problem, err);
		else if (nap->present)
			json_object_set_new(o, "nap", describe_nap(pkt, nap, problem, err));
	}
	*out = o;
	r = 0;
out:
	free(nap);
	free(pkt);
	return r;
}
