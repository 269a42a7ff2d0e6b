// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * Describe decoded SoH, SoHR and RADIUS messages as JSON trees (jansson keeps members in
 * insertion order, so the text rendering is stable) and render such a tree as text. The bytes
 * come from untrusted files and the network; all parsing is done by libnap's decoders, this file
 * only formats their results. Strings from the wire are escaped with nap_escape().
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "nap/health.h"
#include "nap/radius.h"
#include "nap/soh.h"
#include "nap/util.h"
#include "nap/validate.h"

#include "dump.h"

struct value_name {
	uint32_t value;
	const char *name;
};

/* Names of integer values, per attribute; the table is the only place they are spelled. */
struct value_table {
	uint32_t vendor;
	uint8_t type;
	const struct value_name *names;
	size_t n;
};

static const struct value_name service_types[] = {
	{1, "Login"},
	{2, "Framed"},
	{3, "Callback-Login"},
	{4, "Callback-Framed"},
	{5, "Outbound"},
	{6, "Administrative"},
	{7, "NAS-Prompt"},
	{8, "Authenticate-Only"},
	{9, "Callback-NAS-Prompt"},
	{10, "Call-Check"},
	{11, "Callback-Administrative"},
	{NAP_RADIUS_SERVICE_AUTHORIZE_ONLY, "Authorize-Only"},
};
static const struct value_name quarantine_states[] = {
	{NAP_MS_QSTATE_FULL_ACCESS, "full-access"},
	{NAP_MS_QSTATE_RESTRICTED, "restricted"},
	{NAP_MS_QSTATE_PROBATION, "probation"},
};
static const struct value_name ext_states[] = {
	{NAP_MS_EXTSTATE_NO_DATA, "no-data"},
	{NAP_MS_EXTSTATE_TRANSITION, "transition"},
	{NAP_MS_EXTSTATE_INFECTED, "infected"},
	{NAP_MS_EXTSTATE_UNKNOWN, "unknown"},
};
static const struct value_name nas_types[] = {
	{NAP_MS_NAS_UNSPECIFIED, "unspecified"},
	{NAP_MS_NAS_TS_GATEWAY, "ts-gateway"},
	{NAP_MS_NAS_RAS, "vpn"},
	{NAP_MS_NAS_DHCP, "dhcp"},
	{NAP_MS_NAS_WIRELESS, "wireless"},
	{NAP_MS_NAS_HRA, "hra"},
	{NAP_MS_NAS_HCAP, "hcap"},
};
static const struct value_name identity_types[] = {
	{1, "machine-health-check"},
	{2, "ignore-user-lookup-failure"},
};
static const struct value_name afw_zones[] = {
	{1, "boundary"},
	{2, "unprotected"},
	{3, "protected"},
};
static const struct value_name afw_levels[] = {
	{1, "sign"},
	{2, "sign-and-encrypt"},
};
static const struct value_name not_capable[] = {
	{0, "soh-sent"},
	{1, "soh-not-sent"},
};

#define VT(v, t, tbl)                                                                              \
	{                                                                                          \
		(v), (t), (tbl), NAP_ARRAY_SIZE(tbl)                                               \
	}
static const struct value_table value_tables[] = {
	VT(0, NAP_RADIUS_SERVICE_TYPE, service_types),
	VT(NAP_VENDOR_MICROSOFT, NAP_MS_QUARANTINE_STATE, quarantine_states),
	VT(NAP_VENDOR_MICROSOFT, NAP_MS_EXTENDED_QUARANTINE_STATE, ext_states),
	VT(NAP_VENDOR_MICROSOFT, NAP_MS_NETWORK_ACCESS_SERVER_TYPE, nas_types),
	VT(NAP_VENDOR_MICROSOFT, NAP_MS_IDENTITY_TYPE, identity_types),
	VT(NAP_VENDOR_MICROSOFT, NAP_MS_AFW_ZONE, afw_zones),
	VT(NAP_VENDOR_MICROSOFT, NAP_MS_AFW_PROTECTION_LEVEL, afw_levels),
	VT(NAP_VENDOR_MICROSOFT, NAP_MS_NOT_QUARANTINE_CAPABLE, not_capable),
};

static const char *
value_name(uint32_t vendor, uint8_t type, uint32_t v)
{
	for (size_t i = 0; i < NAP_ARRAY_SIZE(value_tables); i++) {
		const struct value_table *t = &value_tables[i];

		if (t->vendor != vendor || t->type != type)
			continue;
		for (size_t j = 0; j < t->n; j++)
			if (t->names[j].value == v)
				return t->names[j].name;
	}
	return NULL;
}

/* WSH ClientStatusCode errors (WSH 2.2.9), as FreeRADIUS and strongSwan name them. */
static const struct value_name wsh_errors[] = {
	{0xC0FF0001u, "product-not-enabled"},
	{0xC0FF0002u, "product-not-installed"},
	{0xC0FF0003u, "wsc-service-down"},
	{0xC0FF0004u, "product-not-uptodate"},
	{0xC0FF0007u, "sync-and-install-updates"},
	{0xC0FF000Cu, "no-wus-server"},
	{0xC0FF000Du, "no-client-id"},
	{0xC0FF000Eu, "wua-service-disabled"},
	{0xC0FF000Fu, "wua-comm-failure"},
	{0xC0FF0010u, "updates-installed-require-reboot"},
	{0xC0FF0018u, "wsc-service-not-started-since-boot"},
	{0x00FF0008u, "wua-service-not-started-since-boot"},
};

/* NAPAPI IsolationState, as the SSoH's MS-Quarantine-State carries it. */
static const char *const isolation_states[] = {
	[NAP_ISOLATION_NOT_RESTRICTED] = "not-restricted",
	[NAP_ISOLATION_IN_PROBATION] = "in-probation",
	[NAP_ISOLATION_RESTRICTED] = "restricted",
};

static const char *const au_actions[] = {
	[1] = "disabled",         [2] = "check-only",
	[3] = "download",         [4] = "download-and-install",
	[5] = "never-configured",
};

json_t *
dump_hex(const uint8_t *p, size_t n)
{
	char *s = malloc(2 * n + 1);
	json_t *j;

	if (s == NULL)
		return NULL;
	nap_hex_encode(p, n, s);
	j = json_string(s);
	free(s);
	return j;
}

json_t *
dump_time(int64_t unix_seconds)
{
	char buf[64];

	nap_format_time(unix_seconds, buf, sizeof(buf));
	return json_string(buf);
}

/* Wire text (machine names, URLs): trailing NULs dropped, the rest escaped. */
static json_t *
wire_string(const uint8_t *p, size_t n)
{
	char buf[4 * 256 + 1];

	while (n > 0 && p[n - 1] == '\0')
		n--;
	if (n > 256)
		n = 256;
	nap_escape(p, n, buf, sizeof(buf));
	return json_string(buf);
}

/* UTF-16LE product names: ASCII kept, other code units shown as '?', stops at NUL. */
static json_t *
utf16_string(const uint8_t *p, size_t n)
{
	char buf[256];
	size_t o = 0;

	for (size_t i = 0; i + 1 < n && o + 1 < sizeof(buf); i += 2) {
		unsigned cu = p[i] | (unsigned)p[i + 1] << 8;

		if (cu == 0)
			break;
		buf[o++] = cu >= 0x20 && cu < 0x7f ? (char)cu : '?';
	}
	buf[o] = '\0';
	return json_string(buf);
}

static json_t *
hex32(uint32_t v)
{
	char buf[16];

	snprintf(buf, sizeof(buf), "0x%08" PRIx32, v);
	return json_string(buf);
}

static json_t *
u64_json(uint64_t v)
{
	char buf[32];

	if (v <= (uint64_t)INT64_MAX)
		return json_integer((json_int_t)v);
	snprintf(buf, sizeof(buf), "%" PRIu64, v);
	return json_string(buf);
}

static json_t *
name_or_number(const char *name, unsigned v)
{
	return name != NULL ? json_string(name) : json_integer(v);
}

static const char *
arch_name(uint16_t a)
{
	switch (a) {
	case NAP_ARCH_X86:
		return "x86";
	case NAP_ARCH_IA64:
		return "ia64";
	case NAP_ARCH_X64:
		return "x64";
	}
	return NULL;
}

static const char *
product_name(uint8_t t)
{
	switch (t) {
	case NAP_PRODUCT_CLIENT:
		return "client";
	case NAP_PRODUCT_DC:
		return "domain_controller";
	case NAP_PRODUCT_SERVER:
		return "server";
	}
	return NULL;
}

static const char *
shid_name(uint32_t shid)
{
	switch (shid) {
	case NAP_SHID_NAP_SYSTEM:
		return "nap-system";
	case NAP_SHID_WSH:
		return "ms-wsh";
	case NAP_SHID_CONFIGMGR:
		return "configmgr";
	case NAP_SHID_NAP:
		return "nap";
	}
	return NULL;
}

static json_t *
id_list(const uint8_t *p, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; i + 4 <= n; i += 4) {
		uint32_t v = (uint32_t)p[i] << 24 | (uint32_t)p[i + 1] << 16 |
			     (uint32_t)p[i + 2] << 8 | p[i + 3];
		json_array_append_new(a, hex32(v));
	}
	return a;
}

static void
dump_ssoh(json_t *o, const struct nap_ssoh *s)
{
	char buf[64];

	if (nap_ssoh_has(s, NAP_SSOH_MACHINE_NAME))
		json_object_set_new(o, "machine_name",
				    wire_string(s->machine_name, s->machine_name_len));
	if (nap_ssoh_has(s, NAP_SSOH_MACHINE_INVENTORY)) {
		snprintf(buf, sizeof(buf), "%" PRIu32 ".%" PRIu32 ".%" PRIu32, s->os_major,
			 s->os_minor, s->os_build);
		json_object_set_new(o, "os_version", json_string(buf));
		snprintf(buf, sizeof(buf), "%u.%u", s->sp_major, s->sp_minor);
		json_object_set_new(o, "service_pack", json_string(buf));
		json_object_set_new(
			o, "processor_arch",
			name_or_number(arch_name(s->processor_arch), s->processor_arch));
	}
	if (nap_ssoh_has(s, NAP_SSOH_MACHINE_INVENTORY_EX))
		json_object_set_new(o, "product_type",
				    name_or_number(product_name(s->product_type), s->product_type));
	if (nap_ssoh_has(s, NAP_SSOH_PACKET_INFO)) {
		json_object_set_new(o, "packet_info",
				    json_string((s->packet_info & NAP_PACKET_INFO_REQUEST) != 0
							? "request"
							: "response"));
		json_object_set_new(o, "packet_info_version", json_integer(s->packet_info & 0x0f));
	}
	if (nap_ssoh_has(s, NAP_SSOH_QUARANTINE_STATE)) {
		json_t *q = json_object();

		json_object_set_new(q, "flags", json_integer(s->qs_flags));
		if (s->qs_flags < NAP_ARRAY_SIZE(isolation_states) &&
		    isolation_states[s->qs_flags] != NULL)
			json_object_set_new(q, "isolation_state",
					    json_string(isolation_states[s->qs_flags]));
		if (s->probation_time == UINT64_MAX)
			json_object_set_new(q, "probation_time", json_string("none"));
		else
			json_object_set_new(q, "probation_time",
					    dump_time(nap_filetime_to_unix(s->probation_time)));
		json_object_set_new(q, "url", wire_string(s->url, s->url_len));
		json_object_set_new(o, "quarantine_state", q);
	}
	if (nap_ssoh_has(s, NAP_SSOH_SYSTEM_GENERATED_IDS))
		json_object_set_new(o, "system_generated_ids",
				    id_list(s->sysgen_ids, s->sysgen_ids_len));
	if (nap_ssoh_has(s, NAP_SSOH_INSTALLED_SHVS))
		json_object_set_new(o, "installed_shvs",
				    id_list(s->installed_shvs, s->installed_shvs_len));
}

static json_t *
wsh_state(enum nap_wsh_class c, uint32_t st)
{
	char buf[128];

	for (size_t i = 0; i < NAP_ARRAY_SIZE(wsh_errors); i++)
		if (wsh_errors[i].value == st) {
			snprintf(buf, sizeof(buf), "error %s", wsh_errors[i].name);
			return json_string(buf);
		}
	if (nap_wsh_status_is_error(st)) {
		snprintf(buf, sizeof(buf), "error 0x%08" PRIx32, st);
		return json_string(buf);
	}
	switch (c) {
	case NAP_WSH_SECURITY_UPDATES:
		if (st == NAP_WSH_S_NO_MISSING_UPDATES)
			return json_string("ok no-missing-updates");
		if (st == NAP_WSH_S_MISSING_UPDATES)
			return json_string("warn some-missing");
		break;
	case NAP_WSH_AUTO_UPDATES: {
		unsigned action = st & 0xff;

		if (action < NAP_ARRAY_SIZE(au_actions) && au_actions[action] != NULL) {
			snprintf(buf, sizeof(buf), "ok action=%s%s", au_actions[action],
				 (st & 0x100) != 0 ? " policy" : "");
			return json_string(buf);
		}
		break;
	}
	default:
		snprintf(buf, sizeof(buf), "ok enabled=%d up-to-date=%d microsoft=%d snoozed=%d",
			 (st & NAP_WSH_STATUS_ENABLED) != 0, (st & NAP_WSH_STATUS_UPTODATE) != 0,
			 (st & NAP_WSH_STATUS_MICROSOFT) != 0, (st & NAP_WSH_STATUS_SNOOZED) != 0);
		return json_string(buf);
	}
	snprintf(buf, sizeof(buf), "0x%08" PRIx32, st);
	return json_string(buf);
}

static json_t *
dump_wsh(const struct nap_wsh *w)
{
	json_t *o = json_object(), *cls = json_array();

	if (w->has_flag)
		json_object_set_new(o, "flag_counter", json_integer(w->flag_counter));
	if (w->has_version)
		json_object_set_new(o, "client_version", hex32(w->client_version));
	for (int c = 0; c < NAP_WSH_CLASSES; c++) {
		const struct nap_wsh_class_report *r = &w->cls[c];
		json_t *e;

		if (!r->present)
			continue;
		e = json_object();
		json_object_set_new(e, "class", json_string(nap_wsh_class_name(c)));
		json_object_set_new(e, "status", hex32(r->status));
		json_object_set_new(e, "state", wsh_state(c, r->status));
		if (r->product_name != NULL)
			json_object_set_new(e, "product",
					    utf16_string(r->product_name, r->product_name_len));
		json_array_append_new(cls, e);
	}
	json_object_set_new(o, "classes", cls);
	if (w->has_last_scan)
		json_object_set_new(o, "last_scan_seconds", json_integer(w->last_scan_seconds));
	if (w->has_wsus)
		json_object_set_new(o, "wsus_server",
				    wire_string(w->wsus_server, w->wsus_server_len));
	if (w->has_updates_flag)
		json_object_set_new(o, "updates_flag", hex32(w->updates_flag));
	return o;
}

static json_t *
dump_wshv(const struct nap_wshv *w)
{
	json_t *o = json_object(), *cls = json_array();

	for (int c = 0; c < NAP_WSH_CLASSES; c++) {
		const struct nap_wshv_class_result *r = &w->cls[c];
		json_t *e;

		if (!r->present)
			continue;
		e = json_object();
		json_object_set_new(e, "class", json_string(nap_wsh_class_name(c)));
		json_object_set_new(e, "compliance_code", hex32(r->code1));
		if (r->has_code2)
			json_object_set_new(e, "compliance_code2", hex32(r->code2));
		if (r->has_failure)
			json_object_set_new(
				e, "failure_category",
				json_string(nap_failure_category_name(r->failure_category)));
		json_array_append_new(cls, e);
	}
	json_object_set_new(o, "classes", cls);
	return o;
}

static json_t *
dump_health(const struct nap_health *h)
{
	json_t *o = json_object(), *m = json_array();

	json_object_set_new(o, "version", json_integer(h->version));
	json_object_set_new(o, "site", json_string(h->site));
	json_object_set_new(o, "hsr_revision", u64_json(h->hsr_revision));
	if (h->has_digest)
		json_object_set_new(o, "hsr_digest",
				    dump_hex(h->hsr_digest, sizeof(h->hsr_digest)));
	json_object_set_new(o, "eval_time", dump_time(h->eval_time));
	if (h->has_generation_time)
		json_object_set_new(o, "generation_time", dump_time(h->generation_time));
	json_object_set_new(o, "compliant", json_boolean(h->compliant));
	for (unsigned i = 0; i < h->n_missing; i++)
		json_array_append_new(
			m, wire_string((const uint8_t *)h->missing[i], strlen(h->missing[i])));
	json_object_set_new(o, "missing", m);
	json_object_set_new(o, "failure_category",
			    json_string(nap_failure_category_name(h->failure_category)));
	if (h->failure_category != NAP_FAILURE_NONE)
		json_object_set_new(o, "error_code", hex32(h->error_code));
	if (h->malformed_items)
		json_object_set_new(o, "malformed_items", json_true());
	return o;
}

static json_t *
dump_health_response(const struct nap_health_response *r)
{
	json_t *o = json_object(), *ins = json_array();

	json_object_set_new(o, "result",
			    r->result < NAP_RESULT_COUNT ? json_string(nap_result_name(r->result))
							 : json_integer(r->result));
	json_object_set_new(o, "branch",
			    r->branch < NAP_BRANCH_COUNT ? json_string(nap_branch_name(r->branch))
							 : json_integer(r->branch));
	if ((r->instructions & NAP_INSTRUCT_REEVALUATE) != 0)
		json_array_append_new(ins, json_string("reevaluate"));
	if ((r->instructions & NAP_INSTRUCT_REFRESH_POLICY) != 0)
		json_array_append_new(ins, json_string("refresh-policy"));
	json_object_set_new(o, "instructions", ins);
	json_object_set_new(o, "hsr_revision", u64_json(r->hsr_revision));
	if (r->has_digest)
		json_object_set_new(o, "hsr_digest",
				    dump_hex(r->hsr_digest, sizeof(r->hsr_digest)));
	json_object_set_new(o, "compliance_code", hex32(r->compliance_code));
	json_object_set_new(o, "failure_category",
			    json_string(nap_failure_category_name(r->failure_category)));
	return o;
}

static int
dump_entry(const struct nap_soh *soh, const struct nap_soh_entry *e, bool request, json_t **out,
	   struct nap_err *err)
{
	json_t *o = json_object(), *attrs = json_array();
	const char *name = shid_name(e->system_health_id);
	int r;

	json_object_set_new(o, "system_health_id", json_integer(e->system_health_id));
	json_object_set_new(o, "system_health_id_hex", hex32(e->system_health_id));
	if (name != NULL)
		json_object_set_new(o, "name", json_string(name));
	for (unsigned i = 0; i < e->n_attrs; i++) {
		const struct nap_soh_attr *a = &soh->attrs[e->first_attr + i];
		const char *an = nap_soh_attr_name(a->type);
		json_t *t = json_object();

		json_object_set_new(t, "type", json_integer(a->type));
		json_object_set_new(t, "name",
				    an != NULL ? json_string(an) : json_string("unknown"));
		json_object_set_new(t, "length", json_integer(a->len));
		json_object_set_new(t, "value", dump_hex(a->value, a->len));
		json_array_append_new(attrs, t);
	}
	json_object_set_new(o, "attributes", attrs);

	if (e->system_health_id == NAP_SHID_WSH && request) {
		struct nap_wsh w;

		if ((r = nap_wsh_decode(soh, e, &w, err)) < 0)
			goto fail;
		json_object_set_new(o, "wsh", dump_wsh(&w));
	} else if (e->system_health_id == NAP_SHID_WSH) {
		struct nap_wshv w;

		if ((r = nap_wshv_decode(soh, e, &w, err)) < 0)
			goto fail;
		json_object_set_new(o, "wshv", dump_wshv(&w));
	} else if (e->system_health_id == NAP_SHID_NAP && request) {
		struct nap_health h;

		if ((r = nap_health_decode(soh, e, &h, err)) < 0)
			goto fail;
		json_object_set_new(o, "nap", dump_health(&h));
	} else if (e->system_health_id == NAP_SHID_NAP) {
		struct nap_health_response hr;

		if ((r = nap_health_response_decode(soh, e, &hr, err)) < 0)
			goto fail;
		json_object_set_new(o, "nap", dump_health_response(&hr));
	}
	*out = o;
	return 0;
fail:
	json_decref(o);
	return r;
}

int
dump_soh(const uint8_t *p, size_t len, enum dump_kind kind, json_t **out, struct nap_err *err)
{
	struct nap_soh *soh = malloc(sizeof(*soh));
	json_t *o = NULL, *entries;
	const uint8_t *corr;
	bool request;
	int r;

	if (soh == NULL)
		return nap_err_set(err, 0, "out of memory", -ENOMEM);
	if ((r = nap_soh_decode(p, len, soh, err)) < 0)
		goto out;
	if (kind == DUMP_AUTO)
		request = !soh->has_ssoh || nap_soh_is_request(soh);
	else
		request = kind == DUMP_SOH;

	o = json_object();
	json_object_set_new(o, "type", json_string(request ? "soh" : "sohr"));
	json_object_set_new(o, "length", json_integer((json_int_t)len));
	json_object_set_new(o, "wrapped", json_boolean(soh->wrapped));
	json_object_set_new(o, "inner_type", json_integer(soh->inner_type));
	if ((corr = nap_soh_correlation_id(soh)) != NULL)
		json_object_set_new(o, "correlation_id", dump_hex(corr, NAP_CORRELATION_ID_LEN));
	if (soh->inner_type == 2) {
		json_object_set_new(o, "intent", json_integer(soh->intent));
		json_object_set_new(o, "content_type", json_integer(soh->content_type));
	}
	if (soh->has_ssoh)
		dump_ssoh(o, &soh->ssoh);
	entries = json_array();
	json_object_set_new(o, "entries", entries);
	for (unsigned i = 0; i < soh->n_entries; i++) {
		json_t *e;

		if ((r = dump_entry(soh, &soh->entries[i], request, &e, err)) < 0) {
			json_decref(o);
			o = NULL;
			goto out;
		}
		json_array_append_new(entries, e);
	}
	*out = o;
	r = 0;
out:
	free(soh);
	return r;
}

static json_t *
dump_ipv4_list(const uint8_t *p, size_t n)
{
	json_t *a = json_array();
	char buf[INET_ADDRSTRLEN];

	for (size_t i = 0; i + 4 <= n; i += 4)
		if (inet_ntop(AF_INET, p + i, buf, sizeof(buf)) != NULL)
			json_array_append_new(a, json_string(buf));
	return a;
}

static json_t *
dump_ipv6_list(const uint8_t *p, size_t n)
{
	json_t *a = json_array();
	char buf[INET6_ADDRSTRLEN];

	for (size_t i = 0; i + 16 <= n; i += 16)
		if (inet_ntop(AF_INET6, p + i, buf, sizeof(buf)) != NULL)
			json_array_append_new(a, json_string(buf));
	return a;
}

static void
dump_radius_value(json_t *t, const struct nap_radius_attr *a, const struct nap_radius_attr_def *d)
{
	uint32_t v;
	const char *vn;

	switch (d != NULL ? d->vtype : NAP_RV_OCTETS) {
	case NAP_RV_INTEGER:
		if (!nap_radius_attr_u32(a, &v))
			break;
		json_object_set_new(t, "value", json_integer(v));
		if ((vn = value_name(a->vendor,
				     a->type == NAP_RADIUS_VENDOR_SPECIFIC ? a->vendor_type
									   : a->type,
				     v)) != NULL)
			json_object_set_new(t, "value_name", json_string(vn));
		if (a->vendor == NAP_VENDOR_MICROSOFT &&
		    a->vendor_type == NAP_MS_QUARANTINE_GRACE_TIME)
			json_object_set_new(t, "time", dump_time(v));
		return;
	case NAP_RV_STRING:
		json_object_set_new(t, "value", wire_string(a->value, a->len));
		return;
	case NAP_RV_IPADDR:
		if (a->len == 4) {
			json_t *l = dump_ipv4_list(a->value, 4);

			json_object_set(t, "value", json_array_get(l, 0));
			json_decref(l);
			return;
		}
		break;
	case NAP_RV_IPV6ADDR:
		if (a->len == 16) {
			json_t *l = dump_ipv6_list(a->value, 16);

			json_object_set(t, "value", json_array_get(l, 0));
			json_decref(l);
			return;
		}
		break;
	case NAP_RV_REMEDIATION4:
		if (a->len >= 1) {
			json_object_set_new(t, "servers", dump_ipv4_list(a->value + 1, a->len - 1));
			break;
		}
		break;
	case NAP_RV_REMEDIATION6:
		if (a->len >= 1) {
			json_object_set_new(t, "servers", dump_ipv6_list(a->value + 1, a->len - 1));
			break;
		}
		break;
	default:
		break;
	}
	json_object_set_new(t, "value", dump_hex(a->value, a->len));
}

/* Map an offset in the concatenated MS-Quarantine-SoH values back to the packet. */
static size_t
soh_offset_in_packet(const struct nap_radius_packet *pkt, size_t off)
{
	size_t last = 0;

	for (unsigned i = 0; i < pkt->n_attrs; i++) {
		const struct nap_radius_attr *a = &pkt->attrs[i];
		size_t value_at;

		if (a->vendor != NAP_VENDOR_MICROSOFT || a->vendor_type != NAP_MS_QUARANTINE_SOH)
			continue;
		value_at = (size_t)(a->value - pkt->raw);
		if (off < a->len)
			return value_at + off;
		off -= a->len;
		last = value_at + a->len;
	}
	return last;
}

int
dump_radius(const uint8_t *p, size_t len, const char *secret, json_t **out, bool *problem,
	    struct nap_err *err)
{
	struct nap_radius_packet *pkt = malloc(sizeof(*pkt));
	uint8_t *soh = NULL;
	json_t *o = NULL, *attrs;
	const char *cn;
	long soh_len;
	int r;

	*problem = false;
	if (pkt == NULL)
		return nap_err_set(err, 0, "out of memory", -ENOMEM);
	if ((r = nap_radius_decode(p, len, pkt, err)) < 0)
		goto out;
	o = json_object();
	json_object_set_new(o, "code", json_integer(pkt->code));
	cn = nap_radius_code_name(pkt->code);
	json_object_set_new(o, "code_name", json_string(cn != NULL ? cn : "unknown"));
	json_object_set_new(o, "id", json_integer(pkt->id));
	json_object_set_new(o, "length", json_integer(pkt->length));
	json_object_set_new(o, "authenticator",
			    dump_hex(pkt->authenticator, sizeof(pkt->authenticator)));
	attrs = json_array();
	json_object_set_new(o, "attributes", attrs);
	for (unsigned i = 0; i < pkt->n_attrs; i++) {
		const struct nap_radius_attr *a = &pkt->attrs[i];
		const struct nap_radius_attr_def *d = nap_radius_attr_lookup(a);
		json_t *t = json_object();

		if (d == NULL)
			d = nap_radius_attr_def(0, a->type);

		json_object_set_new(t, "type", json_integer(a->type));
		if (a->type == NAP_RADIUS_VENDOR_SPECIFIC) {
			json_object_set_new(t, "vendor", json_integer(a->vendor));
			json_object_set_new(t, "vendor_type", json_integer(a->vendor_type));
		}
		json_object_set_new(t, "name", json_string(d != NULL ? d->name : "unknown"));
		json_object_set_new(t, "length", json_integer(a->len));
		dump_radius_value(t, a, d);
		json_array_append_new(attrs, t);
	}

	if (secret != NULL) {
		const char *res;

		if (pkt->code == NAP_RADIUS_ACCESS_REQUEST ||
		    pkt->code == NAP_RADIUS_STATUS_SERVER) {
			r = nap_radius_verify_request(pkt, (const uint8_t *)secret, strlen(secret),
						      true);
			res = r == 0 ? "ok" : r == -ENOMSG ? "absent" : "bad";
			if (r == -EPERM) {
				*problem = true;
				nap_err_set(err, pkt->msg_auth_offset,
					    "Message-Authenticator does not verify", 0);
			}
		} else {
			res = "not-checked (response)";
		}
		json_object_set_new(o, "message_authenticator", json_string(res));
	}

	soh = malloc(NAP_RADIUS_MAX_LEN);
	if (soh == NULL) {
		r = nap_err_set(err, 0, "out of memory", -ENOMEM);
		goto fail;
	}
	soh_len = nap_radius_ms_concat(pkt, NAP_MS_QUARANTINE_SOH, soh, NAP_RADIUS_MAX_LEN);
	if (soh_len < 0) {
		/* Too long to be an SoH: report it, the packet itself is fine. */
		if (!*problem) {
			*problem = true;
			nap_err_set(err, pkt->length, "MS-Quarantine-SoH too long", 0);
		}
		json_object_set_new(o, "soh_error", json_string("MS-Quarantine-SoH too long"));
	} else if (soh_len > 0) {
		struct nap_err serr = {0, NULL};
		json_t *s;
		enum dump_kind kind = pkt->code == NAP_RADIUS_ACCESS_REQUEST ? DUMP_SOH : DUMP_SOHR;

		if (dump_soh(soh, (size_t)soh_len, kind, &s, &serr) < 0) {
			char buf[256];
			size_t at = soh_offset_in_packet(pkt, serr.offset);
			const char *what = serr.what != NULL ? serr.what : "malformed SoH";

			snprintf(buf, sizeof(buf), "%s at offset %zu", what, at);
			json_object_set_new(o, "soh_error", json_string(buf));
			if (!*problem) {
				*problem = true;
				nap_err_set(err, at, what, 0);
			}
		} else {
			json_object_set_new(o, "soh", s);
		}
	}
	*out = o;
	r = 0;
	goto out;
fail:
	json_decref(o);
out:
	free(soh);
	free(pkt);
	return r;
}

/* --- text rendering ------------------------------------------------------------------------ */

static bool
is_flat_object(const json_t *j)
{
	const char *k;
	json_t *v;

	if (!json_is_object(j))
		return false;
	json_object_foreach((json_t *)j, k,
			    v) if (json_is_object(v) || json_is_array(v)) return false;
	return true;
}

static void
scalar(FILE *f, const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_STRING:
		fputs(json_string_value(v), f);
		break;
	case JSON_INTEGER:
		fprintf(f, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		break;
	case JSON_REAL:
		fprintf(f, "%g", json_real_value(v));
		break;
	case JSON_TRUE:
		fputs("yes", f);
		break;
	case JSON_FALSE:
		fputs("no", f);
		break;
	default:
		fputs("-", f);
		break;
	}
}

static void render(FILE *f, const json_t *j, int indent, int first_indent);

static void
render_member(FILE *f, const char *k, const json_t *v, int indent)
{
	fprintf(f, "%*s%s:", indent, "", k);
	if (json_is_object(v)) {
		fputc('\n', f);
		render(f, v, indent + 2, indent + 2);
	} else if (json_is_array(v)) {
		size_t i;
		json_t *e;

		if (json_array_size(v) == 0) {
			fputs(" (none)\n", f);
			return;
		}
		fputc('\n', f);
		json_array_foreach((json_t *)v, i, e)
		{
			fprintf(f, "%*s-", indent + 2, "");
			if (is_flat_object(e)) {
				const char *ek;
				json_t *ev;

				json_object_foreach(e, ek, ev)
				{
					fprintf(f, " %s=", ek);
					scalar(f, ev);
				}
				fputc('\n', f);
			} else if (json_is_object(e)) {
				fputc(' ', f);
				render(f, e, indent + 4, 0);
			} else {
				fputc(' ', f);
				scalar(f, e);
				fputc('\n', f);
			}
		}
	} else {
		fputc(' ', f);
		scalar(f, v);
		fputc('\n', f);
	}
}

/* The first member goes at first_indent, so a list element reads "- key: value". */
static void
render(FILE *f, const json_t *j, int indent, int first_indent)
{
	const char *k;
	json_t *v;
	bool first = true;

	json_object_foreach((json_t *)j, k, v)
	{
		render_member(f, k, v, first ? first_indent : indent);
		first = false;
	}
}

void
dump_text(FILE *f, const json_t *root)
{
	render(f, root, 0, 0);
}
