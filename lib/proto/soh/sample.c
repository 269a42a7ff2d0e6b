// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * Sample client SoHs for tests and benchmarks: a full SoH (SSoH like a Linux agent, optional
 * MS-WSH entry like PROTOCOLS.md V3, the nap entry) built from struct nap_sample_spec through
 * the ordinary builder functions. Handles no untrusted input.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "nap/health.h"
#include "nap/sample.h"
#include "nap/soh.h"
#include "nap/util.h"

void
nap_sample_correlation_id(const char *machine_name, int64_t generation_time, uint8_t out[24])
{
	uint8_t md[EVP_MAX_MD_SIZE];
	uint8_t t[8];
	unsigned md_len = 0;
	uint64_t ft = nap_unix_to_filetime(generation_time);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();

	for (int i = 0; i < 8; i++)
		t[i] = (uint8_t)((uint64_t)generation_time >> (56 - 8 * i));
	memset(md, 0, sizeof(md));
	if (ctx != NULL && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
	    EVP_DigestUpdate(ctx, machine_name, strlen(machine_name) + 1) == 1 &&
	    EVP_DigestUpdate(ctx, t, sizeof(t)) == 1)
		(void)EVP_DigestFinal_ex(ctx, md, &md_len);
	EVP_MD_CTX_free(ctx);
	/* GUID part from the digest, then the FILETIME big-endian as in the one known sample. */
	memcpy(out, md, 16);
	for (int i = 0; i < 8; i++)
		out[16 + i] = (uint8_t)(ft >> (56 - 8 * i));
}

static const uint8_t fw_name[] = {'F', 0, 'W', 0, 0, 0};
static const uint8_t as_name[] = {'A', 0, 'S', 0, 0, 0};
static const uint8_t no_wsus[] = {0};

static int
sample_add_wsh(struct nap_soh *soh)
{
	struct nap_wsh w;

	memset(&w, 0, sizeof(w));
	w.has_flag = w.has_version = w.has_last_scan = w.has_wsus = w.has_updates_flag = true;
	w.flag_counter = 1;
	w.client_version = 0x00060001;
	w.last_scan_seconds = 3600;
	w.wsus_server = no_wsus;
	w.wsus_server_len = sizeof(no_wsus);
	w.updates_flag = 0x4000 | 0x200;
	w.cls[NAP_WSH_FIREWALL] = (struct nap_wsh_class_report){true, 0x5, fw_name, sizeof(fw_name)};
	w.cls[NAP_WSH_ANTIVIRUS] =
		(struct nap_wsh_class_report){true, NAP_WSH_E_PRODUCT_NOT_INSTALLED, NULL, 0};
	w.cls[NAP_WSH_ANTISPYWARE] =
		(struct nap_wsh_class_report){true, 0x7, as_name, sizeof(as_name)};
	w.cls[NAP_WSH_AUTO_UPDATES] = (struct nap_wsh_class_report){true, 0x4, NULL, 0};
	w.cls[NAP_WSH_SECURITY_UPDATES] =
		(struct nap_wsh_class_report){true, NAP_WSH_S_NO_MISSING_UPDATES, NULL, 0};
	return nap_wsh_add_entry(soh, &w);
}

static bool
item(struct nap_cbb *cbb, uint8_t type, const void *v, size_t n)
{
	return nap_cbb_add_u8(cbb, type) && nap_cbb_add_u16(cbb, (uint16_t)n) &&
	       nap_cbb_add_bytes(cbb, v, n);
}

/* A nap entry that frames correctly but whose HSR digest item is one byte short. */
static int
sample_add_malformed(struct nap_soh *soh, const struct nap_health *h)
{
	uint8_t buf[256], one = NAP_HEALTH_VERSION, rev[8], *p;
	struct nap_cbb cbb;
	size_t n;
	int r;

	for (int i = 0; i < 8; i++)
		rev[i] = (uint8_t)(h->hsr_revision >> (56 - 8 * i));
	nap_cbb_init_fixed(&cbb, buf, sizeof(buf));
	if (!(nap_cbb_add_u32(&cbb, NAP_SHID_NAP) && item(&cbb, NAP_ITEM_VERSION, &one, 1) &&
	      item(&cbb, NAP_ITEM_SITE, h->site, strlen(h->site)) &&
	      item(&cbb, NAP_ITEM_HSR_REVISION, rev, 8) &&
	      item(&cbb, NAP_ITEM_HSR_DIGEST, h->hsr_digest, NAP_HSR_DIGEST_LEN - 1) &&
	      item(&cbb, NAP_ITEM_COMPLIANT, &one, 1)))
		return -ENOSPC;
	r = nap_cbb_finish(&cbb, &p, &n);
	if (r == 0)
		r = nap_soh_begin_entry(soh, NAP_SHID_NAP);
	if (r == 0)
		r = nap_soh_add_attr(soh, NAP_SOH_ATTR_VENDOR_SPECIFIC, p, n);
	return r;
}

int
nap_sample_soh_build(const struct nap_sample_spec *spec, uint8_t **out, size_t *out_len)
{
	const char *name = spec->machine_name != NULL ? spec->machine_name : "nap-client";
	struct nap_soh *soh;
	struct nap_health h;
	uint8_t corr[NAP_CORRELATION_ID_LEN];
	int r = 0;

	if (spec->correlation_id != NULL)
		memcpy(corr, spec->correlation_id, sizeof(corr));
	else
		nap_sample_correlation_id(name, spec->generation_time, corr);
	memset(&h, 0, sizeof(h));
	h.version = NAP_HEALTH_VERSION;
	snprintf(h.site, sizeof(h.site), "%s", spec->site != NULL ? spec->site : "S01");
	h.hsr_revision = spec->revision;
	h.has_digest = true;
	if (spec->digest != NULL)
		memcpy(h.hsr_digest, spec->digest, NAP_HSR_DIGEST_LEN);
	h.eval_time = spec->eval_time;
	h.has_generation_time = true;
	h.generation_time = spec->generation_time;
	h.compliant = spec->compliant;
	h.failure_category = spec->failure_category;
	h.error_code = spec->error_code;
	if (spec->n_missing > NAP_HEALTH_MAX_MISSING)
		return -EINVAL;
	for (size_t i = 0; i < spec->n_missing; i++) {
		if (strlen(spec->missing[i]) > NAP_UPDATE_ID_MAX)
			return -EINVAL;
		snprintf(h.missing[i], sizeof(h.missing[i]), "%s", spec->missing[i]);
	}
	h.n_missing = (uint16_t)spec->n_missing;

	soh = malloc(sizeof(*soh));
	if (soh == NULL)
		return -ENOMEM;
	nap_soh_init(soh, true, corr);
	soh->wrapped = spec->wrapped;
	/* SSoH in wpa_supplicant's item order, with the OS fields of a Linux agent. */
	soh->ssoh.n_order = 0;
	soh->ssoh.present = 0;
	nap_ssoh_set(&soh->ssoh, NAP_SSOH_PACKET_INFO);
	soh->ssoh.os_major = spec->os_major;
	soh->ssoh.os_minor = spec->os_minor;
	soh->ssoh.os_build = spec->os_build;
	soh->ssoh.sp_major = spec->sp_major;
	soh->ssoh.sp_minor = spec->sp_minor;
	soh->ssoh.processor_arch = spec->processor_arch;
	nap_ssoh_set(&soh->ssoh, NAP_SSOH_MACHINE_INVENTORY);
	soh->ssoh.machine_name = nap_soh_store(soh, name, strlen(name) + 1);
	soh->ssoh.machine_name_len = (uint16_t)(strlen(name) + 1);
	if (soh->ssoh.machine_name == NULL || strlen(name) + 1 > 255)
		r = -EINVAL;
	nap_ssoh_set(&soh->ssoh, NAP_SSOH_MACHINE_NAME);
	nap_ssoh_set(&soh->ssoh, NAP_SSOH_CORRELATION_ID);
	soh->ssoh.qs_reserved = 0;
	soh->ssoh.qs_flags = 0x01;
	soh->ssoh.probation_time = UINT64_MAX;
	soh->ssoh.url = nap_soh_store(soh, "", 1);
	soh->ssoh.url_len = 1;
	nap_ssoh_set(&soh->ssoh, NAP_SSOH_QUARANTINE_STATE);
	soh->ssoh.product_type = NAP_PRODUCT_CLIENT;
	nap_ssoh_set(&soh->ssoh, NAP_SSOH_MACHINE_INVENTORY_EX);

	if (r == 0 && spec->with_wsh)
		r = sample_add_wsh(soh);
	if (r == 0 && !spec->omit_nap_entry) {
		if (spec->malformed_nap_entry)
			r = sample_add_malformed(soh, &h);
		else
			r = nap_health_add_entry(soh, &h);
	}
	if (r == 0)
		r = nap_soh_encode_alloc(soh, out, out_len);
	free(soh);
	return r;
}
