// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * What the agent says and hears: the SoH built from an evaluation (SSoH with the machine name,
 * the kernel version as MS-Machine-Inventory and a correlation id; the WSHA entry; the nap entry
 * with the HSR revision and digest, the missing ids and the check results), the evaluation as
 * JSON (--json, the state report) and the SoHR's instructions. agent_sohr_parse() handles
 * untrusted input: the SoHR comes from a DHCP server's answer through a hook script.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include <jansson.h>
#include <openssl/rand.h>

#include "agent.h"
#include "nap/util.h"
#include "nap/validate.h"

/* Entries of the state report's detail lists: it must stay under napsited's 64 KiB. */
#define AGENT_STATE_DEFERRED_MAX 256

/* The site code an SoH names when there is neither a policy nor [agent] site. */
#define AGENT_SITE_UNKNOWN "unknown"

/* PROCESSOR_ARCHITECTURE_* values Windows uses in MS-Machine-Inventory. */
#define SOH_ARCH_ARM   5
#define SOH_ARCH_ARM64 12

static void
soh_correlation_id(int64_t now, uint8_t corr[NAP_CORRELATION_ID_LEN])
{
	uint64_t ft = nap_unix_to_filetime(now);

	/* A random GUID part, then the FILETIME as in the one known Windows sample. */
	if (RAND_bytes(corr, 16) != 1) {
		FILE *f = fopen("/dev/urandom", "rb");

		if (f == NULL || fread(corr, 1, 16, f) != 16)
			memset(corr, 0, 16);
		if (f != NULL)
			fclose(f);
	}
	for (int i = 0; i < 8; i++)
		corr[16 + i] = (uint8_t)(ft >> (56 - 8 * i));
}

/* Kernel "6.1.0-13-amd64" -> 6, 1, 0; machine -> PROCESSOR_ARCHITECTURE_*. */
static void
soh_inventory(struct nap_ssoh *s)
{
	struct utsname u;
	unsigned v[3] = {0, 0, 0};

	if (uname(&u) == 0) {
		const char *p = u.release;

		for (int i = 0; i < 3 && *p != '\0'; i++) {
			char *end;
			unsigned long x = strtoul(p, &end, 10);

			if (end == p)
				break;
			v[i] = x > UINT32_MAX ? UINT32_MAX : (unsigned)x;
			if (*end != '.')
				break;
			p = end + 1;
		}
		if (strcmp(u.machine, "x86_64") == 0)
			s->processor_arch = NAP_ARCH_X64;
		else if (strcmp(u.machine, "aarch64") == 0)
			s->processor_arch = SOH_ARCH_ARM64;
		else if (strncmp(u.machine, "arm", 3) == 0)
			s->processor_arch = SOH_ARCH_ARM;
		else if (strcmp(u.machine, "ia64") == 0)
			s->processor_arch = NAP_ARCH_IA64;
		else
			s->processor_arch = NAP_ARCH_X86;
	}
	s->os_major = v[0];
	s->os_minor = v[1];
	s->os_build = v[2];
	s->sp_major = 0;
	s->sp_minor = 0;
}

/*
 * The nap entry's content. limit_missing / limit_checks trim the repeated items when the whole
 * SoH would pass NAP_SOH_MAX_LEN (only ever with a non-compliant result, so trimming cannot
 * turn a report into "compliant").
 */
static void
soh_health(const struct agent_conf *c, const struct agent_eval *e, int64_t now,
	   size_t limit_missing, size_t limit_checks, struct nap_health *h)
{
	memset(h, 0, sizeof(*h));
	h->version = NAP_HEALTH_VERSION;
	/* Without a policy the site is the configured one, or a placeholder napvd accepts. */
	snprintf(h->site, sizeof(h->site), "%s",
		 e->site[0] != '\0' ? e->site : c->site != NULL ? c->site : AGENT_SITE_UNKNOWN);
	h->hsr_revision = e->revision;
	h->has_digest = e->has_policy;
	memcpy(h->hsr_digest, e->digest, NAP_HSR_DIGEST_LEN);
	h->eval_time = e->eval_time;
	h->has_generation_time = true;
	h->generation_time = now;
	h->compliant = e->compliant;
	h->failure_category = e->failure_category;
	h->error_code = e->error_code;
	/* Missing: the policies and checks in force that fail (deferred ones are not missing). */
	for (size_t i = 0; i < e->n_findings && h->n_missing < limit_missing; i++)
		if (!e->findings[i].deferred)
			snprintf(h->missing[h->n_missing++], NAP_UPDATE_ID_MAX + 1, "%s",
				 e->findings[i].id);
	for (size_t i = 0; i < e->n_checks && h->n_missing < limit_missing; i++)
		if (e->checks[i].status != NAP_CHECK_PASS && !e->check_deferred[i])
			snprintf(h->missing[h->n_missing++], NAP_UPDATE_ID_MAX + 1, "%s",
				 e->checks[i].id);
	/* Check results: the ones in force first (napvd requires those), then the deferred. */
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < e->n_checks && h->n_checks < limit_checks; i++) {
			if (e->check_deferred[i] != (pass == 1))
				continue;
			h->checks[h->n_checks].status = e->checks[i].status;
			snprintf(h->checks[h->n_checks].id, sizeof(h->checks[0].id), "%s",
				 e->checks[i].id);
			h->n_checks++;
		}
	}
}

static int
soh_try(const struct agent_conf *c, const struct agent_eval *e, const char *name, int64_t now,
	const uint8_t corr[NAP_CORRELATION_ID_LEN], size_t limit_missing, size_t limit_checks,
	uint8_t **out, size_t *out_len)
{
	struct nap_soh *soh = malloc(sizeof(*soh));
	struct nap_health h;
	size_t nl = strlen(name) + 1;
	int r = 0;

	if (soh == NULL)
		return -ENOMEM;
	nap_soh_init(soh, true, corr);
	/* SSoH in wpa_supplicant's item order, like lib/proto/soh/sample.c. */
	soh->ssoh.n_order = 0;
	soh->ssoh.present = 0;
	nap_ssoh_set(&soh->ssoh, NAP_SSOH_PACKET_INFO);
	soh_inventory(&soh->ssoh);
	nap_ssoh_set(&soh->ssoh, NAP_SSOH_MACHINE_INVENTORY);
	soh->ssoh.machine_name = nap_soh_store(soh, name, nl);
	soh->ssoh.machine_name_len = (uint16_t)nl;
	if (soh->ssoh.machine_name == NULL || nl > 256)
		r = -EINVAL;
	nap_ssoh_set(&soh->ssoh, NAP_SSOH_MACHINE_NAME);
	nap_ssoh_set(&soh->ssoh, NAP_SSOH_CORRELATION_ID);
	soh->ssoh.qs_reserved = 0;
	soh->ssoh.qs_flags = e->compliant ? NAP_ISOLATION_NOT_RESTRICTED : NAP_ISOLATION_RESTRICTED;
	soh->ssoh.probation_time = UINT64_MAX;
	soh->ssoh.url = nap_soh_store(soh, "", 1);
	soh->ssoh.url_len = 1;
	if (soh->ssoh.url == NULL)
		r = -ENOSPC;
	nap_ssoh_set(&soh->ssoh, NAP_SSOH_QUARANTINE_STATE);
	soh->ssoh.product_type = NAP_PRODUCT_CLIENT;
	nap_ssoh_set(&soh->ssoh, NAP_SSOH_MACHINE_INVENTORY_EX);
	if (r == 0 && e->has_wsh)
		r = nap_wsh_add_entry(soh, &e->wsh);
	soh_health(c, e, now, limit_missing, limit_checks, &h);
	if (r == 0)
		r = nap_health_add_entry(soh, &h);
	if (r == 0)
		r = nap_soh_encode_alloc(soh, out, out_len);
	free(soh);
	return r;
}

int
agent_soh_build(const struct agent_conf *c, const struct agent_eval *e, int64_t now,
		uint8_t **out, size_t *out_len, uint8_t corr[NAP_CORRELATION_ID_LEN])
{
	char name[256];
	size_t lm = NAP_HEALTH_MAX_MISSING, lc = NAP_HEALTH_MAX_CHECKS;
	int r;

	if ((r = agent_machine_name(c, name, sizeof(name))) < 0)
		return r;
	soh_correlation_id(now, corr);
	for (;;) {
		r = soh_try(c, e, name, now, corr, lm, lc, out, out_len);
		if ((r != -ENOSPC && r != -EMSGSIZE) || e->compliant)
			return r;
		/* Too long: fewer check results (passing ones first to go), then fewer ids. */
		if (lc > 0)
			lc = lc > 4 ? lc - 4 : 0;
		else if (lm > 1)
			lm = lm > 4 ? lm - 4 : 1;
		else
			return r;
	}
}

/* ---- SoHR ------------------------------------------------------------------------------- */

int
agent_sohr_parse(const uint8_t *p, size_t n, struct agent_sohr_info *out, char *err, size_t len)
{
	struct nap_soh *soh;
	const struct nap_soh_entry *e;
	struct nap_health_response resp;
	struct nap_err derr = {0};
	int r;

	memset(out, 0, sizeof(*out));
	soh = malloc(sizeof(*soh));
	if (soh == NULL)
		return -ENOMEM;
	r = nap_soh_decode(p, n, soh, &derr);
	if (r < 0) {
		snprintf(err, len, "SoHR does not decode: %s at offset %zu",
			 derr.what != NULL ? derr.what : strerror(-r), derr.offset);
		goto out;
	}
	if (nap_soh_is_request(soh)) {
		snprintf(err, len, "an SoH request where an SoHR was expected");
		r = -EBADMSG;
		goto out;
	}
	if (soh->has_ssoh && nap_ssoh_has(&soh->ssoh, NAP_SSOH_QUARANTINE_STATE)) {
		out->has_qstate = true;
		out->quarantine_state = soh->ssoh.qs_flags;
	}
	e = nap_soh_find_entry(soh, NAP_SHID_NAP);
	if (e != NULL) {
		memset(&resp, 0, sizeof(resp));
		r = nap_health_response_decode(soh, e, &resp, &derr);
		if (r < 0) {
			snprintf(err, len, "SoHR nap entry: %s",
				 derr.what != NULL ? derr.what : strerror(-r));
			goto out;
		}
		out->has_nap = true;
		out->result = resp.result;
		out->branch = resp.branch;
		out->instructions = resp.instructions;
		out->hsr_revision = resp.hsr_revision;
	}
	r = 0;
out:
	free(soh);
	return r;
}

void
agent_sohr_actions(const struct agent_sohr_info *info, struct agent_sohr_actions *out)
{
	memset(out, 0, sizeof(*out));
	if (info->has_nap) {
		out->refresh_policy = (info->instructions & NAP_INSTRUCT_REFRESH_POLICY) != 0;
		out->reevaluate = (info->instructions &
				   (NAP_INSTRUCT_REEVALUATE | NAP_INSTRUCT_REFRESH_POLICY)) != 0;
	}
	if (info->has_qstate && info->quarantine_state == NAP_ISOLATION_RESTRICTED) {
		out->restricted = true;
		out->reevaluate = true;
	}
}

/* ---- JSON ------------------------------------------------------------------------------- */

static json_t *
json_time(int64_t t)
{
	char buf[32];

	nap_format_time(t, buf, sizeof(buf));
	return json_string(buf);
}

char *
agent_eval_json(const struct agent_eval *e, const char *machine_name)
{
	json_t *o = json_object(), *missing = json_array(), *deferred = json_array();
	json_t *checks = json_array(), *findings = json_array();
	char digest[2 * NAP_HSR_DIGEST_LEN + 1];
	char *text;

	if (machine_name != NULL)
		json_object_set_new(o, "machine_name", json_string(machine_name));
	json_object_set_new(o, "evaluated", json_time(e->eval_time));
	json_object_set_new(o, "duration_us", json_integer((json_int_t)e->duration_us));
	json_object_set_new(o, "state", json_integer(e->state));
	json_object_set_new(o, "state_name", json_string(agent_state_name(e->state)));
	json_object_set_new(o, "compliant", json_boolean(e->compliant));
	if (e->has_policy) {
		nap_hex_encode(e->digest, NAP_HSR_DIGEST_LEN, digest);
		json_object_set_new(o, "site", json_string(e->site));
		json_object_set_new(o, "hsr_revision", json_integer((json_int_t)e->revision));
		json_object_set_new(o, "hsr_digest", json_string(digest));
	}
	json_object_set_new(o, "packages_installed", json_integer((json_int_t)e->n_installed));
	json_object_set_new(o, "policies", json_integer((json_int_t)e->n_policies));
	json_object_set_new(o, "packages_checked", json_integer((json_int_t)e->n_reqs_checked));
	json_object_set_new(o, "policies_not_applicable",
			    json_integer((json_int_t)e->n_not_applicable));
	for (size_t i = 0; i < e->n_findings; i++) {
		const struct agent_finding *f = &e->findings[i];
		json_t *j = json_object();

		json_array_append_new(f->deferred ? deferred : missing, json_string(f->id));
		json_object_set_new(j, "id", json_string(f->id));
		json_object_set_new(j, "status", json_string(agent_policy_status_name(f->status)));
		json_object_set_new(j, "deferred", json_boolean(f->deferred));
		if (f->effective != 0)
			json_object_set_new(j, "effective", json_time(f->effective));
		if (f->package != NULL) {
			json_object_set_new(j, "package", json_string(f->package));
			json_object_set_new(j, "required", json_string(f->required));
			json_object_set_new(j, "scheme",
					    json_string(nap_hsr_scheme_name(f->scheme)));
		}
		json_object_set_new(j, "installed",
				    f->installed[0] != '\0' ? json_string(f->installed) : json_null());
		json_array_append_new(findings, j);
	}
	for (size_t i = 0; i < e->n_checks; i++) {
		const struct agent_check_result *r = &e->checks[i];
		json_t *j = json_object();
		static const char *const st[] = {"pass", "fail", "error"};

		if (r->status != NAP_CHECK_PASS)
			json_array_append_new(e->check_deferred[i] ? deferred : missing,
					      json_string(r->id));
		json_object_set_new(j, "id", json_string(r->id));
		json_object_set_new(j, "status",
				    json_string(r->status < 3 ? st[r->status] : "unknown"));
		json_object_set_new(j, "deferred", json_boolean(e->check_deferred[i]));
		json_object_set_new(j, "detail", json_string(r->detail));
		json_array_append_new(checks, j);
	}
	json_object_set_new(o, "missing", missing);
	json_object_set_new(o, "deferred", deferred);
	json_object_set_new(o, "findings", findings);
	json_object_set_new(o, "checks", checks);
	if (e->failure_category != NAP_FAILURE_NONE) {
		json_t *f = json_object();
		char code[16];

		snprintf(code, sizeof(code), "0x%08X", e->error_code);
		json_object_set_new(f, "category",
				    json_string(nap_failure_category_name(e->failure_category)));
		json_object_set_new(f, "error_code", json_string(code));
		json_object_set_new(f, "message", json_string(e->failure));
		json_object_set_new(o, "failure", f);
	} else {
		json_object_set_new(o, "failure", json_null());
	}
	text = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(o);
	return text;
}

char *
agent_state_body(const struct agent_eval *e)
{
	json_t *o = json_object(), *missing = json_array(), *detail = json_object();
	json_t *deferred = json_array(), *checks = json_object();
	char digest[2 * NAP_HSR_DIGEST_LEN + 1];
	size_t nm = 0;
	char *text;

	json_object_set_new(o, "state", json_integer(e->state));
	json_object_set_new(o, "compliant", json_boolean(e->compliant));
	json_object_set_new(o, "hsr_revision", json_integer((json_int_t)e->revision));
	if (e->has_policy) {
		nap_hex_encode(e->digest, NAP_HSR_DIGEST_LEN, digest);
		json_object_set_new(o, "hsr_digest", json_string(digest));
	}
	json_object_set_new(o, "evaluated", json_time(e->eval_time));
	/*
	 * "missing": what keeps the client from full compliance: the ids in force, or for the
	 * deferred state the ids whose effective date is ahead (napsited keeps at most 32).
	 */
	for (size_t i = 0; i < e->n_findings; i++) {
		const struct agent_finding *f = &e->findings[i];

		if (f->deferred == (e->state == AGENT_STATE_DEFERRED) &&
		    nm < NAP_HEALTH_MAX_MISSING) {
			json_array_append_new(missing, json_string(f->id));
			nm++;
		}
		if (f->deferred && json_array_size(deferred) < AGENT_STATE_DEFERRED_MAX)
			json_array_append_new(deferred, json_string(f->id));
	}
	for (size_t i = 0; i < e->n_checks; i++) {
		static const char *const st[] = {"pass", "fail", "error"};
		const struct agent_check_result *r = &e->checks[i];

		if (json_object_size(checks) < AGENT_STATE_DEFERRED_MAX)
			json_object_set_new(checks, r->id,
					    json_string(r->status < 3 ? st[r->status] : "unknown"));
		if (r->status != NAP_CHECK_PASS &&
		    e->check_deferred[i] == (e->state == AGENT_STATE_DEFERRED) &&
		    nm < NAP_HEALTH_MAX_MISSING) {
			json_array_append_new(missing, json_string(r->id));
			nm++;
		}
	}
	json_object_set_new(o, "missing", missing);
	json_object_set_new(detail, "agent", json_string("napagentd " NAPAGENTD_VERSION));
	json_object_set_new(detail, "packages_installed", json_integer((json_int_t)e->n_installed));
	json_object_set_new(detail, "deferred", deferred);
	json_object_set_new(detail, "checks", checks);
	if (e->failure_category != NAP_FAILURE_NONE) {
		char code[16];

		snprintf(code, sizeof(code), "0x%08X", e->error_code);
		json_object_set_new(detail, "failure_category",
				    json_string(nap_failure_category_name(e->failure_category)));
		json_object_set_new(detail, "error_code", json_string(code));
		json_object_set_new(detail, "failure", json_string(e->failure));
	}
	json_object_set_new(o, "detail", detail);
	text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	return text;
}
