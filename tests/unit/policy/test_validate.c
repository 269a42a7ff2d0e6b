// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * The SHV decision: every branch of nap_validate, the five-category mapping, the MS-WSH rules
 * per health class, the name tables, nap_sohr_build output decoded back, and the exemptions of
 * nap_validate_exempt after each branch. SoHs are built with the codec's builder, encoded and
 * decoded again, so the validator sees what napvd sees.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "nap/hsr.h"
#include "nap/util.h"
#include "nap/validate.h"

#define V(name) NAP_HSR_VECTORS "/" name

static const int64_t NOW = 1795600800 + 3600; /* HSR issued + 1 h */

struct fx {
	struct nap_hsr_set *set;
	struct nap_hsr_view view;
	struct nap_validate_config cfg;
	const struct nap_hsr *s01; /* revision 42, one policy */
	const struct nap_hsr *s02; /* revision 7, no policies */
	struct nap_soh built, soh;
	uint8_t *wire;
	struct nap_verdict v;
};

static int
setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	struct nap_keyring *kr;
	struct nap_err err = {0};
	uint8_t *text;
	size_t len;

	assert_non_null(fx);
	assert_int_equal(nap_keyring_new(&kr), 0);
	assert_int_equal(nap_keyring_add_file(kr, V("TEST-ONLY-ed25519-public.pem")), 0);
	assert_int_equal(nap_read_file(V("two-sites-signed.json"), NAP_HSR_MAX_LEN, &text, &len), 0);
	assert_int_equal(nap_hsr_set_parse(text, len, kr, &fx->set, &err), 0);
	free(text);
	nap_keyring_free(kr);
	fx->s01 = nap_hsr_set_find(fx->set, "S01");
	fx->s02 = nap_hsr_set_find(fx->set, "S02");
	assert_non_null(fx->s01);
	assert_non_null(fx->s02);
	fx->view.set = fx->set;
	fx->view.refreshed_at = NOW - 60;
	nap_validate_config_defaults(&fx->cfg);
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *fx = *state;

	nap_hsr_set_free(fx->set);
	free(fx->wire);
	free(fx);
	return 0;
}

/* A compliant agent report against S01 revision 42, generated ten minutes ago. */
static void
health_default(const struct fx *fx, struct nap_health *h)
{
	memset(h, 0, sizeof(*h));
	h->version = NAP_HEALTH_VERSION;
	strcpy(h->site, "S01");
	h->hsr_revision = 42;
	h->has_digest = true;
	memcpy(h->hsr_digest, fx->s01->digest, NAP_HSR_DIGEST_LEN);
	h->eval_time = NOW - 600;
	h->has_generation_time = true;
	h->generation_time = NOW - 600;
	h->compliant = true;
	h->failure_category = NAP_FAILURE_NONE;
}

static void
wsh_default(struct nap_wsh *w)
{
	memset(w, 0, sizeof(*w));
	w->has_flag = w->has_version = true;
	w->flag_counter = 1;
	w->client_version = 0x00060001;
	for (int i = 0; i < NAP_WSH_CLASSES; i++)
		w->cls[i].present = true;
	w->cls[NAP_WSH_FIREWALL].status = NAP_WSH_STATUS_ENABLED | NAP_WSH_STATUS_MICROSOFT;
	w->cls[NAP_WSH_ANTIVIRUS].status = NAP_WSH_STATUS_ENABLED | NAP_WSH_STATUS_UPTODATE;
	w->cls[NAP_WSH_ANTISPYWARE].status = NAP_WSH_STATUS_ENABLED | NAP_WSH_STATUS_UPTODATE;
	w->cls[NAP_WSH_AUTO_UPDATES].status = 4;
	w->cls[NAP_WSH_SECURITY_UPDATES].status = NAP_WSH_S_NO_MISSING_UPDATES;
}

static const uint8_t corr_id[NAP_CORRELATION_ID_LEN] = {
	0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c,
	0x0d, 0x0e, 0x0f, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18,
};

/* Encode what was built and decode it again into fx->soh. */
static const struct nap_soh *
finish_soh(struct fx *fx)
{
	struct nap_err err = {0};
	size_t len;

	free(fx->wire);
	fx->wire = NULL;
	assert_int_equal(nap_soh_encode_alloc(&fx->built, &fx->wire, &len), 0);
	if (nap_soh_decode(fx->wire, len, &fx->soh, &err) != 0)
		fail_msg("decode: %s at %zu", err.what, err.offset);
	return &fx->soh;
}

static const struct nap_soh *
build(struct fx *fx, const struct nap_health *h, const struct nap_wsh *w)
{
	nap_soh_init(&fx->built, true, corr_id);
	if (w != NULL)
		assert_int_equal(nap_wsh_add_entry(&fx->built, w), 0);
	if (h != NULL)
		assert_int_equal(nap_health_add_entry(&fx->built, h), 0);
	return finish_soh(fx);
}

static void
run(struct fx *fx, const struct nap_health *h, const struct nap_wsh *w, enum nap_enforcement ep)
{
	nap_validate(&fx->cfg, &fx->view, build(fx, h, w), ep, NOW, &fx->v);
	assert_non_null(fx->v.reason);
}

#define assert_verdict(fx, res, br, comp)                                                     \
	do {                                                                                   \
		if ((fx)->v.result != (res) || (fx)->v.branch != (br) ||                       \
		    (fx)->v.compliant != (comp))                                               \
			fail_msg("verdict %s/%s/%d (%s), want %s/%s/%d",                       \
				 nap_result_name((fx)->v.result),                              \
				 nap_branch_name((fx)->v.branch), (fx)->v.compliant,           \
				 (fx)->v.reason, nap_result_name(res), nap_branch_name(br),    \
				 (comp));                                                      \
	} while (0)

static void
test_no_soh(void **state)
{
	struct fx *fx = *state;

	nap_validate(&fx->cfg, &fx->view, NULL, NAP_EP_DHCP, NOW, &fx->v);
	assert_verdict(fx, NAP_RESULT_NONCOMPLIANT, NAP_BRANCH_NO_SOH, false);
	assert_false(fx->v.has_health);
	assert_int_equal(fx->v.failure_category, NAP_FAILURE_NONE);
}

static void
test_no_nap_entry(void **state)
{
	struct fx *fx = *state;
	struct nap_wsh w;

	wsh_default(&w);
	run(fx, NULL, &w, NAP_EP_DHCP);
	assert_verdict(fx, NAP_RESULT_OTHER, NAP_BRANCH_NO_NAP_ENTRY, false);
	assert_int_equal(fx->v.failure_category, NAP_FAILURE_OTHER);
	run(fx, NULL, NULL, NAP_EP_DHCP);
	assert_verdict(fx, NAP_RESULT_OTHER, NAP_BRANCH_NO_NAP_ENTRY, false);
}

static void
test_matches(void **state)
{
	struct fx *fx = *state;
	struct nap_health h;

	health_default(fx, &h);
	run(fx, &h, NULL, NAP_EP_DHCP);
	assert_verdict(fx, NAP_RESULT_COMPLIANT, NAP_BRANCH_MATCHES, true);
	assert_ptr_equal(fx->v.hsr, fx->s01);
	assert_string_equal(fx->v.site, "S01");
	assert_int_equal(fx->v.client_revision, 42);
	assert_true(fx->v.has_health);
	assert_int_equal(fx->v.instructions, 0);
	assert_int_equal(fx->v.failure_category, NAP_FAILURE_NONE);
	assert_false(fx->v.has_wshv);

	/* The client's own "non-compliant" stands. */
	h.compliant = false;
	strcpy(h.missing[0], "DSA-5001-1");
	h.n_missing = 1;
	run(fx, &h, NULL, NAP_EP_DHCP);
	assert_verdict(fx, NAP_RESULT_NONCOMPLIANT, NAP_BRANCH_MATCHES, false);
	assert_int_equal(fx->v.health.n_missing, 1);
	assert_string_equal(fx->v.health.missing[0], "DSA-5001-1");
	/* "Compliant" with missing updates is not compliant. */
	h.compliant = true;
	run(fx, &h, NULL, NAP_EP_DHCP);
	assert_verdict(fx, NAP_RESULT_NONCOMPLIANT, NAP_BRANCH_MATCHES, false);
}

static void
test_newer_and_out_of_date(void **state)
{
	struct fx *fx = *state;
	struct nap_health h;

	health_default(fx, &h);
	h.hsr_revision = 43;
	memset(h.hsr_digest, 0xab, sizeof(h.hsr_digest)); /* a digest napvd cannot know yet */
	run(fx, &h, NULL, NAP_EP_DHCP);
	assert_verdict(fx, NAP_RESULT_COMPLIANT, NAP_BRANCH_NEWER, true);
	h.compliant = false;
	run(fx, &h, NULL, NAP_EP_DHCP);
	assert_verdict(fx, NAP_RESULT_NONCOMPLIANT, NAP_BRANCH_NEWER, false);

	/* An older revision with other policies (another digest): refresh. */
	health_default(fx, &h);
	h.hsr_revision = 41;
	h.hsr_digest[0] ^= 0xff;
	run(fx, &h, NULL, NAP_EP_DHCP);
	assert_verdict(fx, NAP_RESULT_NONCOMPLIANT, NAP_BRANCH_OUT_OF_DATE, false);
	assert_int_equal(fx->v.instructions, NAP_INSTRUCT_REFRESH_POLICY);
	assert_int_equal(fx->v.client_revision, 41);
	/* No digest at all: napvd cannot tell, so refresh too. */
	h.has_digest = false;
	run(fx, &h, NULL, NAP_EP_DHCP);
	assert_verdict(fx, NAP_RESULT_NONCOMPLIANT, NAP_BRANCH_OUT_OF_DATE, false);

	/*
	 * An older revision with the same digest evaluated the same policies (the newer revision
	 * changed exemptions or groups only): it matches, and the client's own flag stands.
	 */
	health_default(fx, &h);
	h.hsr_revision = 1;
	run(fx, &h, NULL, NAP_EP_DHCP);
	assert_verdict(fx, NAP_RESULT_COMPLIANT, NAP_BRANCH_MATCHES, true);
	assert_int_equal(fx->v.instructions, 0);
	assert_int_equal(fx->v.client_revision, 1);
	h.compliant = false;
	strcpy(h.missing[0], "DSA-5001-1");
	h.n_missing = 1;
	run(fx, &h, NULL, NAP_EP_DHCP);
	assert_verdict(fx, NAP_RESULT_NONCOMPLIANT, NAP_BRANCH_MATCHES, false);
	assert_int_equal(fx->v.instructions, 0);
}

static void
test_invalid(void **state)
{
	struct fx *fx = *state;
	struct nap_health h;

	/* Same revision, different digest: forged or corrupt. */
	health_default(fx, &h);
	h.hsr_digest[31] ^= 1;
	run(fx, &h, NULL, NAP_EP_DHCP);
	assert_verdict(fx, NAP_RESULT_OTHER, NAP_BRANCH_INVALID, false);
	assert_int_equal(fx->v.failure_category, NAP_FAILURE_OTHER);
	/* Same revision, no digest. */
	health_default(fx, &h);
	h.has_digest = false;
	run(fx, &h, NULL, NAP_EP_DHCP);
	assert_verdict(fx, NAP_RESULT_OTHER, NAP_BRANCH_INVALID, false);
	/* A server failure category cannot come from a client. */
	health_default(fx, &h);
	h.failure_category = NAP_FAILURE_SERVER_COMPONENT;
	run(fx, &h, NULL, NAP_EP_DHCP);
	assert_verdict(fx, NAP_RESULT_OTHER, NAP_BRANCH_INVALID, false);
	/* Generated more than the allowed skew in the future. */
	health_default(fx, &h);
	h.generation_time = NOW + NAP_VALIDATE_MAX_CLOCK_SKEW + 1;
	run(fx, &h, NULL, NAP_EP_DHCP);
	assert_verdict(fx, NAP_RESULT_OTHER, NAP_BRANCH_INVALID, false);
	h.generation_time = NOW + NAP_VALIDATE_MAX_CLOCK_SKEW;
	run(fx, &h, NULL, NAP_EP_DHCP);
	assert_verdict(fx, NAP_RESULT_COMPLIANT, NAP_BRANCH_MATCHES, true);
}

/* A nap entry whose Vendor-Specific value is given raw. */
static const struct nap_soh *
build_raw_nap(struct fx *fx, const uint8_t *vs, size_t n)
{
	nap_soh_init(&fx->built, true, corr_id);
	assert_int_equal(nap_soh_begin_entry(&fx->built, NAP_SHID_NAP), 0);
	assert_int_equal(nap_soh_add_attr(&fx->built, NAP_SOH_ATTR_VENDOR_SPECIFIC, vs, n), 0);
	return finish_soh(fx);
}

static void
test_malformed_entry(void **state)
{
	struct fx *fx = *state;
	/* Vendor id, then an item that claims 100 bytes and has 1. */
	static const uint8_t bad_framing[] = {0x00, 0x7e, 0xd9, 0x01, 0x01, 0x00, 0x64, 0x01};
	/* Well framed: version, site, revision, compliant, and a 5-byte digest. */
	static const uint8_t bad_digest[] = {
		0x00, 0x7e, 0xd9, 0x01,                               /* vendor */
		0x01, 0x00, 0x01, 0x01,                               /* version 1 */
		0x02, 0x00, 0x03, 'S',  '0',  '1',                    /* site */
		0x03, 0x00, 0x08, 0,    0,    0,    0, 0, 0, 0, 42,   /* revision */
		0x06, 0x00, 0x01, 0x01,                               /* compliant */
		0x04, 0x00, 0x05, 1,    2,    3,    4, 5,             /* digest, wrong length */
	};

	nap_validate(&fx->cfg, &fx->view, build_raw_nap(fx, bad_framing, sizeof(bad_framing)),
		     NAP_EP_DHCP, NOW, &fx->v);
	assert_verdict(fx, NAP_RESULT_OTHER, NAP_BRANCH_INVALID, false);
	assert_false(fx->v.has_health);
	nap_validate(&fx->cfg, &fx->view, build_raw_nap(fx, bad_digest, sizeof(bad_digest)),
		     NAP_EP_DHCP, NOW, &fx->v);
	assert_verdict(fx, NAP_RESULT_OTHER, NAP_BRANCH_INVALID, false);
	assert_true(fx->v.has_health);
	/* The same entry with a good digest length gets past decoding (to the HSR compare). */
	{
		/* Replace the last item (8 bytes) by a 32-byte digest item. */
		size_t head = sizeof(bad_digest) - 8;
		uint8_t good[sizeof(bad_digest) - 8 + 3 + 32];

		memcpy(good, bad_digest, head);
		good[head] = 0x04;
		good[head + 1] = 0x00;
		good[head + 2] = 0x20;
		memcpy(good + head + 3, fx->s01->digest, 32);
		nap_validate(&fx->cfg, &fx->view, build_raw_nap(fx, good, sizeof(good)),
			     NAP_EP_DHCP, NOW, &fx->v);
		/* No generation or evaluation time: time 0 is far outside the validity period. */
		assert_verdict(fx, NAP_RESULT_NONCOMPLIANT, NAP_BRANCH_EXPIRED_TTL, false);
	}
}

static void
test_client_failure(void **state)
{
	struct fx *fx = *state;
	static const uint32_t known[] = {0x80070005u, 0x8024402cu};
	struct nap_health h;

	fx->cfg.known_client_errors = known;
	fx->cfg.n_known_client_errors = NAP_ARRAY_SIZE(known);
	health_default(fx, &h);
	h.failure_category = NAP_FAILURE_CLIENT_COMPONENT;
	h.error_code = 0x80070005u;
	run(fx, &h, NULL, NAP_EP_DHCP);
	assert_verdict(fx, NAP_RESULT_CLIENT_COMPONENT, NAP_BRANCH_CLIENT_FAILURE, false);
	assert_int_equal(fx->v.failure_category, NAP_FAILURE_CLIENT_COMPONENT);

	h.failure_category = NAP_FAILURE_CLIENT_COMMUNICATION;
	h.error_code = 0x8024402cu;
	run(fx, &h, NULL, NAP_EP_DHCP);
	assert_verdict(fx, NAP_RESULT_CLIENT_COMMUNICATION, NAP_BRANCH_CLIENT_FAILURE, false);
	assert_int_equal(fx->v.failure_category, NAP_FAILURE_CLIENT_COMMUNICATION);

	/* Unknown code: invalid. */
	h.error_code = 0x80004005u;
	run(fx, &h, NULL, NAP_EP_DHCP);
	assert_verdict(fx, NAP_RESULT_OTHER, NAP_BRANCH_INVALID, false);

	/* Category "other" from the client. */
	h.failure_category = NAP_FAILURE_OTHER;
	run(fx, &h, NULL, NAP_EP_DHCP);
	assert_verdict(fx, NAP_RESULT_OTHER, NAP_BRANCH_CLIENT_FAILURE, false);

	/* No known codes configured: every code is unknown. */
	fx->cfg.n_known_client_errors = 0;
	h.failure_category = NAP_FAILURE_CLIENT_COMPONENT;
	h.error_code = 0x80070005u;
	run(fx, &h, NULL, NAP_EP_DHCP);
	assert_verdict(fx, NAP_RESULT_OTHER, NAP_BRANCH_INVALID, false);
}

static void
test_time(void **state)
{
	struct fx *fx = *state;
	struct nap_health h;

	/* TTL: exactly the validity period is fine, one second more is not. */
	health_default(fx, &h);
	h.generation_time = NOW - NAP_VALIDATE_DEFAULT_VALIDITY;
	run(fx, &h, NULL, NAP_EP_DHCP);
	assert_verdict(fx, NAP_RESULT_COMPLIANT, NAP_BRANCH_MATCHES, true);
	h.generation_time = NOW - NAP_VALIDATE_DEFAULT_VALIDITY - 1;
	run(fx, &h, NULL, NAP_EP_DHCP);
	assert_verdict(fx, NAP_RESULT_NONCOMPLIANT, NAP_BRANCH_EXPIRED_TTL, false);
	assert_int_equal(fx->v.instructions, NAP_INSTRUCT_REEVALUATE);
	/* TTL off. */
	fx->cfg.validity_period = 0;
	run(fx, &h, NULL, NAP_EP_DHCP);
	assert_verdict(fx, NAP_RESULT_COMPLIANT, NAP_BRANCH_MATCHES, true);
	fx->cfg.validity_period = NAP_VALIDATE_DEFAULT_VALIDITY;

	/* Without SoH-Generation-Time the evaluation time counts. */
	health_default(fx, &h);
	h.has_generation_time = false;
	h.eval_time = NOW - NAP_VALIDATE_DEFAULT_VALIDITY - 10;
	run(fx, &h, NULL, NAP_EP_DHCP);
	assert_verdict(fx, NAP_RESULT_NONCOMPLIANT, NAP_BRANCH_EXPIRED_TTL, false);

	/* Absolute cut-off, checked before the TTL. */
	health_default(fx, &h);
	fx->cfg.absolute_cutoff = NOW - 300;
	run(fx, &h, NULL, NAP_EP_DHCP);
	assert_verdict(fx, NAP_RESULT_NONCOMPLIANT, NAP_BRANCH_EXPIRED_ABSOLUTE, false);
	assert_int_equal(fx->v.instructions, NAP_INSTRUCT_REEVALUATE);
	h.generation_time = NOW - NAP_VALIDATE_DEFAULT_VALIDITY - 1;
	run(fx, &h, NULL, NAP_EP_DHCP);
	assert_verdict(fx, NAP_RESULT_NONCOMPLIANT, NAP_BRANCH_EXPIRED_ABSOLUTE, false);
	h.generation_time = NOW - 300;
	run(fx, &h, NULL, NAP_EP_DHCP);
	assert_verdict(fx, NAP_RESULT_COMPLIANT, NAP_BRANCH_MATCHES, true);
	fx->cfg.absolute_cutoff = 0;
}

static void
test_server_failure(void **state)
{
	struct fx *fx = *state;
	struct nap_health h;

	health_default(fx, &h);
	/* Nothing ever loaded. */
	fx->view.set = NULL;
	run(fx, &h, NULL, NAP_EP_DHCP);
	assert_verdict(fx, NAP_RESULT_SERVER_COMMUNICATION, NAP_BRANCH_SERVER_FAILURE, false);
	assert_int_equal(fx->v.failure_category, NAP_FAILURE_SERVER_COMMUNICATION);
	assert_null(fx->v.hsr);
	/* Loaded, but the last good refresh is older than the maximum age. */
	fx->view.set = fx->set;
	fx->view.refreshed_at = NOW - NAP_VALIDATE_DEFAULT_HSR_MAX_AGE - 1;
	run(fx, &h, NULL, NAP_EP_DHCP);
	assert_verdict(fx, NAP_RESULT_SERVER_COMMUNICATION, NAP_BRANCH_SERVER_FAILURE, false);
	fx->view.refreshed_at = NOW - NAP_VALIDATE_DEFAULT_HSR_MAX_AGE;
	run(fx, &h, NULL, NAP_EP_DHCP);
	assert_verdict(fx, NAP_RESULT_COMPLIANT, NAP_BRANCH_MATCHES, true);
	/* Maximum age 0: served forever. */
	fx->cfg.hsr_max_age = 0;
	fx->view.refreshed_at = 0;
	run(fx, &h, NULL, NAP_EP_DHCP);
	assert_verdict(fx, NAP_RESULT_COMPLIANT, NAP_BRANCH_MATCHES, true);
	/* No HSR cache at all: a server component failure. */
	nap_validate(&fx->cfg, NULL, build(fx, &h, NULL), NAP_EP_DHCP, NOW, &fx->v);
	assert_verdict(fx, NAP_RESULT_SERVER_COMPONENT, NAP_BRANCH_SERVER_FAILURE, false);
	assert_int_equal(fx->v.failure_category, NAP_FAILURE_SERVER_COMPONENT);
}

static void
test_unknown_site_and_no_policies(void **state)
{
	struct fx *fx = *state;
	struct nap_health h;

	health_default(fx, &h);
	strcpy(h.site, "S03");
	run(fx, &h, NULL, NAP_EP_DHCP);
	assert_verdict(fx, NAP_RESULT_OTHER, NAP_BRANCH_UNKNOWN_SITE, false);
	assert_string_equal(fx->v.site, "S03");
	assert_null(fx->v.hsr);

	/* S02 holds no policies: compliant whatever the client says or evaluated. */
	strcpy(h.site, "S02");
	h.hsr_revision = 3;
	h.compliant = false;
	run(fx, &h, NULL, NAP_EP_DHCP);
	assert_verdict(fx, NAP_RESULT_COMPLIANT, NAP_BRANCH_NO_POLICIES, true);
	assert_ptr_equal(fx->v.hsr, fx->s02);
}

/* Each of the five categories maps to compliant when (and only when) configured so. */
static void
test_mapping(void **state)
{
	struct fx *fx = *state;
	static const uint32_t known[] = {0x80070005u};
	struct nap_health h;

	fx->cfg.known_client_errors = known;
	fx->cfg.n_known_client_errors = 1;
	for (int r = NAP_RESULT_CLIENT_COMPONENT; r <= NAP_RESULT_OTHER; r++) {
		for (int flip = 0; flip < 2; flip++) {
			const struct nap_hsr_view *view = &fx->view;
			struct nap_hsr_view empty = {0};

			memset(fx->cfg.maps_compliant, 0, sizeof(fx->cfg.maps_compliant));
			/* Flip every other category on to show they do not leak into this one. */
			for (int o = NAP_RESULT_CLIENT_COMPONENT; o <= NAP_RESULT_OTHER; o++)
				fx->cfg.maps_compliant[o] = (o == r) ? flip : !flip;
			health_default(fx, &h);
			switch (r) {
			case NAP_RESULT_CLIENT_COMPONENT:
			case NAP_RESULT_CLIENT_COMMUNICATION:
				h.failure_category = (uint8_t)r; /* same numbers as NAP_FAILURE_* */
				h.error_code = known[0];
				break;
			case NAP_RESULT_SERVER_COMPONENT:
				view = NULL;
				break;
			case NAP_RESULT_SERVER_COMMUNICATION:
				view = &empty;
				break;
			case NAP_RESULT_OTHER:
				strcpy(h.site, "S99");
				break;
			}
			nap_validate(&fx->cfg, view, build(fx, &h, NULL), NAP_EP_VPN, NOW, &fx->v);
			assert_int_equal(fx->v.result, r);
			assert_int_equal(fx->v.compliant, flip);
		}
	}
	/* Compliant and non-compliant are not categories: the table does not touch them. */
	for (int o = 0; o < NAP_RESULT_COUNT; o++)
		fx->cfg.maps_compliant[o] = true;
	health_default(fx, &h);
	h.hsr_revision = 41;
	h.hsr_digest[0] ^= 0xff; /* other policies */
	run(fx, &h, NULL, NAP_EP_DHCP);
	assert_verdict(fx, NAP_RESULT_NONCOMPLIANT, NAP_BRANCH_OUT_OF_DATE, false);
}

static void
test_wsh_missing(void **state)
{
	struct fx *fx = *state;
	struct nap_health h;
	struct nap_wsh w;

	fx->cfg.wsh_checks[NAP_EP_DHCP] = NAP_WSH_CHECK_FIREWALL;
	health_default(fx, &h);
	/* No WSHA entry. */
	run(fx, &h, NULL, NAP_EP_DHCP);
	assert_verdict(fx, NAP_RESULT_NONCOMPLIANT, NAP_BRANCH_WSH_FAILED, false);
	assert_false(fx->v.has_wshv);
	/* Another enforcement point without checks is not affected. */
	run(fx, &h, NULL, NAP_EP_VPN);
	assert_verdict(fx, NAP_RESULT_COMPLIANT, NAP_BRANCH_MATCHES, true);
	/* All good. */
	wsh_default(&w);
	run(fx, &h, &w, NAP_EP_DHCP);
	assert_verdict(fx, NAP_RESULT_COMPLIANT, NAP_BRANCH_MATCHES, true);
	assert_true(fx->v.has_wshv);
	assert_true(fx->v.wshv.cls[NAP_WSH_FIREWALL].present);
	assert_int_equal(fx->v.wshv.cls[NAP_WSH_FIREWALL].code1, 0);
	assert_false(fx->v.wshv.cls[NAP_WSH_ANTIVIRUS].present); /* not required */
	/* A WSH failure does not overwrite a non-compliant nap decision. */
	w.cls[NAP_WSH_FIREWALL].status = 0;
	h.hsr_revision = 41;
	h.hsr_digest[0] ^= 0xff; /* other policies */
	run(fx, &h, &w, NAP_EP_DHCP);
	assert_verdict(fx, NAP_RESULT_NONCOMPLIANT, NAP_BRANCH_OUT_OF_DATE, false);
	assert_int_equal(fx->v.wshv.cls[NAP_WSH_FIREWALL].code1, NAP_WSH_E_PRODUCT_NOT_ENABLED);
	/* An out-of-range enforcement point requires nothing. */
	health_default(fx, &h);
	nap_validate(&fx->cfg, &fx->view, build(fx, &h, &w), (enum nap_enforcement)99, NOW,
		     &fx->v);
	assert_verdict(fx, NAP_RESULT_COMPLIANT, NAP_BRANCH_MATCHES, true);
}

struct wsh_case {
	unsigned check;
	enum nap_wsh_class cls;
	bool present;
	uint32_t status;
	bool pass;
	uint32_t code1, code2;
	bool failure;
};

static const struct wsh_case wsh_cases[] = {
	/* firewall */
	{NAP_WSH_CHECK_FIREWALL, NAP_WSH_FIREWALL, true, 0x1, true, 0, 0, false},
	{NAP_WSH_CHECK_FIREWALL, NAP_WSH_FIREWALL, true, 0xD, true, 0, 0, false},
	{NAP_WSH_CHECK_FIREWALL, NAP_WSH_FIREWALL, true, 0x4, false, NAP_WSH_E_PRODUCT_NOT_ENABLED, 0,
	 false},
	{NAP_WSH_CHECK_FIREWALL, NAP_WSH_FIREWALL, true, NAP_WSH_E_PRODUCT_NOT_INSTALLED, false,
	 NAP_WSH_E_PRODUCT_NOT_INSTALLED, 0, true},
	{NAP_WSH_CHECK_FIREWALL, NAP_WSH_FIREWALL, true, NAP_WSH_E_WSC_SERVICE_DOWN, false,
	 NAP_WSH_E_WSC_SERVICE_DOWN, 0, true},
	{NAP_WSH_CHECK_FIREWALL, NAP_WSH_FIREWALL, false, 0, false, NAP_WSH_E_PRODUCT_NOT_INSTALLED,
	 0, false},
	/* antivirus */
	{NAP_WSH_CHECK_ANTIVIRUS, NAP_WSH_ANTIVIRUS, true, 0x7, true, 0, 0, false},
	{NAP_WSH_CHECK_ANTIVIRUS, NAP_WSH_ANTIVIRUS, true, 0x3, true, 0, 0, false},
	{NAP_WSH_CHECK_ANTIVIRUS, NAP_WSH_ANTIVIRUS, true, 0x5, false, 0,
	 NAP_WSH_E_PRODUCT_NOT_UPTODATE, false},
	{NAP_WSH_CHECK_ANTIVIRUS, NAP_WSH_ANTIVIRUS, true, 0x2, false, NAP_WSH_E_PRODUCT_NOT_ENABLED, 0,
	 false},
	{NAP_WSH_CHECK_ANTIVIRUS, NAP_WSH_ANTIVIRUS, true, 0x0, false, NAP_WSH_E_PRODUCT_NOT_ENABLED,
	 NAP_WSH_E_PRODUCT_NOT_UPTODATE, false},
	{NAP_WSH_CHECK_ANTIVIRUS, NAP_WSH_ANTIVIRUS, true, NAP_WSH_E_PRODUCT_NOT_INSTALLED, false,
	 NAP_WSH_E_PRODUCT_NOT_INSTALLED, 0, true},
	/* antispyware */
	{NAP_WSH_CHECK_ANTISPYWARE, NAP_WSH_ANTISPYWARE, true, 0xF, true, 0, 0, false},
	{NAP_WSH_CHECK_ANTISPYWARE, NAP_WSH_ANTISPYWARE, true, 0x1, false, 0,
	 NAP_WSH_E_PRODUCT_NOT_UPTODATE, false},
	{NAP_WSH_CHECK_ANTISPYWARE, NAP_WSH_ANTISPYWARE, false, 0, false,
	 NAP_WSH_E_PRODUCT_NOT_INSTALLED, 0, false},
	/* automatic updates: 2..4 pass, with or without the policy bit */
	{NAP_WSH_CHECK_AUTO_UPDATES, NAP_WSH_AUTO_UPDATES, true, 2, true, 0, 0, false},
	{NAP_WSH_CHECK_AUTO_UPDATES, NAP_WSH_AUTO_UPDATES, true, 3, true, 0, 0, false},
	{NAP_WSH_CHECK_AUTO_UPDATES, NAP_WSH_AUTO_UPDATES, true, 0x104, true, 0, 0, false},
	{NAP_WSH_CHECK_AUTO_UPDATES, NAP_WSH_AUTO_UPDATES, true, 1, false,
	 NAP_WSH_E_PRODUCT_NOT_ENABLED, 0, false},
	{NAP_WSH_CHECK_AUTO_UPDATES, NAP_WSH_AUTO_UPDATES, true, 0x101, false,
	 NAP_WSH_E_PRODUCT_NOT_ENABLED, 0, false},
	{NAP_WSH_CHECK_AUTO_UPDATES, NAP_WSH_AUTO_UPDATES, true, 5, false,
	 NAP_WSH_E_PRODUCT_NOT_ENABLED, 0, false},
	{NAP_WSH_CHECK_AUTO_UPDATES, NAP_WSH_AUTO_UPDATES, true, NAP_WSH_E_WSC_SERVICE_DOWN, false,
	 NAP_WSH_E_WSC_SERVICE_DOWN, 0, true},
	/* security updates */
	{NAP_WSH_CHECK_SECURITY_UPDATES, NAP_WSH_SECURITY_UPDATES, true, NAP_WSH_S_NO_MISSING_UPDATES,
	 true, 0, 0, false},
	{NAP_WSH_CHECK_SECURITY_UPDATES, NAP_WSH_SECURITY_UPDATES, true, NAP_WSH_S_MISSING_UPDATES,
	 false, NAP_WSH_E_SYNC_AND_INSTALL, 0, false},
	{NAP_WSH_CHECK_SECURITY_UPDATES, NAP_WSH_SECURITY_UPDATES, true, 0x00FF0008u, false,
	 0x00FF0008u, 0, true},
	{NAP_WSH_CHECK_SECURITY_UPDATES, NAP_WSH_SECURITY_UPDATES, true, 0xC0FF000Eu, false,
	 0xC0FF000Eu, 0, true},
};

static void
test_wsh_rules(void **state)
{
	struct fx *fx = *state;
	struct nap_health h;
	struct nap_wsh w;

	health_default(fx, &h);
	for (size_t i = 0; i < NAP_ARRAY_SIZE(wsh_cases); i++) {
		const struct wsh_case *c = &wsh_cases[i];
		const struct nap_wshv_class_result *res = &fx->v.wshv.cls[c->cls];

		fx->cfg.wsh_checks[NAP_EP_HRA] = c->check;
		wsh_default(&w);
		w.cls[c->cls].present = c->present;
		w.cls[c->cls].status = c->status;
		run(fx, &h, &w, NAP_EP_HRA);
		if (c->pass)
			assert_verdict(fx, NAP_RESULT_COMPLIANT, NAP_BRANCH_MATCHES, true);
		else
			assert_verdict(fx, NAP_RESULT_NONCOMPLIANT, NAP_BRANCH_WSH_FAILED, false);
		if (!res->present || res->code1 != c->code1 || res->code2 != c->code2 ||
		    res->has_failure != c->failure)
			fail_msg("case %zu (%s 0x%x): code1 0x%x code2 0x%x failure %d", i,
				 nap_wsh_class_name(c->cls), c->status, res->code1, res->code2,
				 res->has_failure);
		/* ComplianceCode2 is carried for AV, AS and security updates only. */
		assert_int_equal(res->has_code2, c->cls == NAP_WSH_ANTIVIRUS ||
							 c->cls == NAP_WSH_ANTISPYWARE ||
							 c->cls == NAP_WSH_SECURITY_UPDATES);
		if (res->has_failure)
			assert_int_equal(res->failure_category, NAP_FAILURE_CLIENT_COMPONENT);
		/* Only the required class is reported. */
		for (int k = 0; k < NAP_WSH_CLASSES; k++)
			assert_int_equal(fx->v.wshv.cls[k].present, k == (int)c->cls);
	}
	/* All five together, all passing. */
	fx->cfg.wsh_checks[NAP_EP_HRA] = NAP_WSH_CHECK_FIREWALL | NAP_WSH_CHECK_ANTIVIRUS |
					 NAP_WSH_CHECK_ANTISPYWARE | NAP_WSH_CHECK_AUTO_UPDATES |
					 NAP_WSH_CHECK_SECURITY_UPDATES;
	wsh_default(&w);
	run(fx, &h, &w, NAP_EP_HRA);
	assert_verdict(fx, NAP_RESULT_COMPLIANT, NAP_BRANCH_MATCHES, true);
	for (int k = 0; k < NAP_WSH_CLASSES; k++)
		assert_true(fx->v.wshv.cls[k].present);
}

static void
test_names(void **state)
{
	static const char *const branches[NAP_BRANCH_COUNT] = {
		"matches",	  "newer",	     "out_of_date",    "expired_ttl",
		"expired_absolute", "invalid",	     "unknown_site",   "no_policies",
		"client_failure", "server_failure", "no_nap_entry",   "wsh_failed",
		"no_soh",         "exempt",         "check_failed",
	};
	static const char *const eps[NAP_EP_COUNT] = {"unspecified", "ts-gateway", "vpn", "dhcp",
						      "wireless",    "hra",	   "hcap"};
	static const char *const actions[NAP_ACTION_COUNT] = {"full", "restricted", "probation",
							      "reject"};

	(void)state;
	for (int i = 0; i < NAP_BRANCH_COUNT; i++)
		assert_string_equal(nap_branch_name((enum nap_branch)i), branches[i]);
	assert_string_equal(nap_branch_name(NAP_BRANCH_COUNT), "unknown");
	for (int i = 0; i < NAP_RESULT_COUNT; i++) {
		assert_non_null(nap_result_name((enum nap_result)i));
		for (int j = 0; j < i; j++)
			assert_string_not_equal(nap_result_name((enum nap_result)i),
						nap_result_name((enum nap_result)j));
	}
	for (int i = 0; i < NAP_EP_COUNT; i++) {
		enum nap_enforcement ep;

		assert_string_equal(nap_enforcement_name((enum nap_enforcement)i), eps[i]);
		assert_int_equal(nap_enforcement_from_name(eps[i], &ep), 0);
		assert_int_equal(ep, i);
	}
	for (int i = 0; i < NAP_ACTION_COUNT; i++) {
		enum nap_action a;

		assert_string_equal(nap_action_name((enum nap_action)i), actions[i]);
		assert_int_equal(nap_action_from_name(actions[i], &a), 0);
		assert_int_equal(a, i);
	}
	{
		enum nap_action a = NAP_ACTION_FULL;
		enum nap_enforcement ep = NAP_EP_DHCP;

		assert_int_equal(nap_action_from_name("Full", &a), -EINVAL);
		assert_int_equal(nap_action_from_name(NULL, &a), -EINVAL);
		assert_int_equal(nap_enforcement_from_name("dhcp ", &ep), -EINVAL);
		assert_int_equal(a, NAP_ACTION_FULL);
		assert_int_equal(ep, NAP_EP_DHCP);
	}
	{
		struct nap_validate_config cfg;

		memset(&cfg, 0xff, sizeof(cfg));
		nap_validate_config_defaults(&cfg);
		assert_int_equal(cfg.validity_period, 26 * 3600);
		assert_int_equal(cfg.absolute_cutoff, 0);
		for (int i = 0; i < NAP_RESULT_COUNT; i++)
			assert_false(cfg.maps_compliant[i]);
		for (int i = 0; i < NAP_EP_COUNT; i++)
			assert_int_equal(cfg.wsh_checks[i], 0);
		assert_int_equal(cfg.n_known_client_errors, 0);
	}
}

/* Decode an SoHR built by nap_sohr_build. */
static void
sohr_decode(const struct nap_soh *sohr, uint8_t **wire, struct nap_soh *out,
	    struct nap_health_response *resp)
{
	const struct nap_soh_entry *e;
	struct nap_err err = {0};
	size_t len;

	assert_int_equal(nap_soh_encode_alloc(sohr, wire, &len), 0);
	if (nap_soh_decode(*wire, len, out, &err) != 0)
		fail_msg("SoHR decode: %s at %zu", err.what, err.offset);
	assert_false(nap_soh_is_request(out));
	e = nap_soh_find_entry(out, NAP_SHID_NAP);
	assert_non_null(e);
	assert_int_equal(nap_health_response_decode(out, e, resp, &err), 0);
}

static void
test_sohr_build(void **state)
{
	struct fx *fx = *state;
	struct nap_soh *sohr = malloc(sizeof(*sohr)), *back = malloc(sizeof(*back));
	struct nap_health_response resp;
	struct nap_health h;
	struct nap_wsh w;
	uint8_t *wire = NULL;

	assert_non_null(sohr);
	assert_non_null(back);
	/* Out of date, probation for a day, with a WSHV entry. */
	fx->cfg.wsh_checks[NAP_EP_DHCP] = NAP_WSH_CHECK_FIREWALL | NAP_WSH_CHECK_ANTIVIRUS;
	health_default(fx, &h);
	h.hsr_revision = 41;
	h.hsr_digest[0] ^= 0xff; /* other policies */
	wsh_default(&w);
	w.cls[NAP_WSH_ANTIVIRUS].status = 0x5; /* enabled, not up to date */
	run(fx, &h, &w, NAP_EP_DHCP);
	assert_verdict(fx, NAP_RESULT_NONCOMPLIANT, NAP_BRANCH_OUT_OF_DATE, false);
	assert_int_equal(nap_sohr_build(&fx->soh, &fx->v, NAP_ACTION_PROBATION, NOW + 86400, sohr),
			 0);
	sohr_decode(sohr, &wire, back, &resp);
	assert_memory_equal(nap_soh_correlation_id(back), corr_id, NAP_CORRELATION_ID_LEN);
	assert_true(nap_ssoh_has(&back->ssoh, NAP_SSOH_QUARANTINE_STATE));
	assert_int_equal(back->ssoh.qs_flags, NAP_ISOLATION_IN_PROBATION);
	assert_int_equal(nap_filetime_to_unix(back->ssoh.probation_time), NOW + 86400);
	assert_int_equal(resp.result, NAP_RESULT_NONCOMPLIANT);
	assert_int_equal(resp.branch, NAP_BRANCH_OUT_OF_DATE);
	assert_int_equal(resp.instructions, NAP_INSTRUCT_REFRESH_POLICY);
	assert_int_equal(resp.hsr_revision, 42);
	assert_true(resp.has_digest);
	assert_memory_equal(resp.hsr_digest, fx->s01->digest, NAP_HSR_DIGEST_LEN);
	assert_int_equal(resp.compliance_code, NAP_COMPLIANCE_E_NONCOMPLIANT);
	assert_int_equal(resp.failure_category, NAP_FAILURE_NONE);
	{
		const struct nap_soh_entry *e = nap_soh_find_entry(back, NAP_SHID_WSH);
		struct nap_err err = {0};
		struct nap_wshv wv;

		assert_non_null(e);
		assert_int_equal(nap_wshv_decode(back, e, &wv, &err), 0);
		assert_true(wv.cls[NAP_WSH_FIREWALL].present);
		assert_int_equal(wv.cls[NAP_WSH_FIREWALL].code1, 0);
		assert_true(wv.cls[NAP_WSH_ANTIVIRUS].present);
		assert_int_equal(wv.cls[NAP_WSH_ANTIVIRUS].code1, 0);
		assert_int_equal(wv.cls[NAP_WSH_ANTIVIRUS].code2, NAP_WSH_E_PRODUCT_NOT_UPTODATE);
		assert_false(wv.cls[NAP_WSH_SECURITY_UPDATES].present);
	}
	free(wire);
	wire = NULL;

	/* Compliant, full access: no probation time, compliance code 0. */
	fx->cfg.wsh_checks[NAP_EP_DHCP] = 0;
	health_default(fx, &h);
	run(fx, &h, NULL, NAP_EP_DHCP);
	assert_int_equal(nap_sohr_build(&fx->soh, &fx->v, NAP_ACTION_FULL, 0, sohr), 0);
	sohr_decode(sohr, &wire, back, &resp);
	assert_int_equal(back->ssoh.qs_flags, NAP_ISOLATION_NOT_RESTRICTED);
	assert_true(back->ssoh.probation_time == UINT64_MAX);
	assert_int_equal(resp.result, NAP_RESULT_COMPLIANT);
	assert_int_equal(resp.branch, NAP_BRANCH_MATCHES);
	assert_int_equal(resp.compliance_code, 0);
	assert_null(nap_soh_find_entry(back, NAP_SHID_WSH));
	free(wire);
	wire = NULL;

	/* Server failure, rejected: the category travels, reject reads as restricted. */
	fx->view.set = NULL;
	run(fx, &h, NULL, NAP_EP_DHCP);
	assert_int_equal(nap_sohr_build(&fx->soh, &fx->v, NAP_ACTION_REJECT, 0, sohr), 0);
	sohr_decode(sohr, &wire, back, &resp);
	assert_int_equal(back->ssoh.qs_flags, NAP_ISOLATION_RESTRICTED);
	assert_int_equal(resp.branch, NAP_BRANCH_SERVER_FAILURE);
	assert_int_equal(resp.failure_category, NAP_FAILURE_SERVER_COMMUNICATION);
	assert_int_equal(resp.hsr_revision, 0);
	assert_false(resp.has_digest);
	free(wire);
	wire = NULL;
	fx->view.set = fx->set;

	/* No SoH at all: zero correlation id, restricted. */
	nap_validate(&fx->cfg, &fx->view, NULL, NAP_EP_DHCP, NOW, &fx->v);
	assert_int_equal(nap_sohr_build(NULL, &fx->v, NAP_ACTION_RESTRICTED, 0, sohr), 0);
	sohr_decode(sohr, &wire, back, &resp);
	{
		static const uint8_t zero[NAP_CORRELATION_ID_LEN];

		assert_memory_equal(nap_soh_correlation_id(back), zero, NAP_CORRELATION_ID_LEN);
	}
	assert_int_equal(back->ssoh.qs_flags, NAP_ISOLATION_RESTRICTED);
	assert_int_equal(resp.branch, NAP_BRANCH_NO_SOH);
	free(wire);

	assert_int_equal(nap_sohr_build(NULL, &fx->v, NAP_ACTION_COUNT, 0, sohr), -EINVAL);
	free(sohr);
	free(back);
}

/* ---- exemptions ------------------------------------------------------------------------- */

/*
 * The fixture for exemptions: tests/vectors/hsr/exemptions-signed.json, S01 revision 43 (the
 * policies of revision 42, plus exemptions "lab-*" full, "SRV-DB-0[1-3]" for DSA-5001-1 and
 * RHSA-2026:0101, group "kiosks" for DSA-5001-1 and DSA-4999-1 in two exemptions) and S03
 * ("appliance-*" full, group "build-farm" for RHSA-2026:0200).
 */
static int
setup_ex(void **state)
{
	struct fx *fx;
	struct nap_keyring *kr;
	struct nap_hsr_set *set;
	struct nap_err err = {0};
	uint8_t *text;
	size_t len;

	if (setup(state) != 0)
		return -1;
	fx = *state;
	assert_int_equal(nap_keyring_new(&kr), 0);
	assert_int_equal(nap_keyring_add_file(kr, V("TEST-ONLY-ed25519-public.pem")), 0);
	assert_int_equal(nap_read_file(V("exemptions-signed.json"), NAP_HSR_MAX_LEN, &text, &len),
			 0);
	assert_int_equal(nap_hsr_set_parse(text, len, kr, &set, &err), 0);
	free(text);
	nap_keyring_free(kr);
	nap_hsr_set_free(fx->set);
	fx->set = set;
	fx->view.set = set;
	/* health_default() reports revision 42 with this digest: equal to revision 43's. */
	fx->s01 = nap_hsr_set_find(set, "S01");
	fx->s02 = nap_hsr_set_find(set, "S03");
	assert_non_null(fx->s01);
	assert_non_null(fx->s02);
	assert_int_equal(fx->s01->revision, 43);
	return 0;
}

/* nap_validate, then nap_validate_exempt with a machine name. */
static void
run_ex(struct fx *fx, const struct nap_health *h, const struct nap_wsh *w, const char *client)
{
	run(fx, h, w, NAP_EP_DHCP);
	nap_validate_exempt(&fx->view, client, NOW, &fx->v);
	assert_non_null(fx->v.reason);
}

static void
missing1(struct nap_health *h, const char *a, const char *b)
{
	h->compliant = false;
	h->n_missing = 0;
	if (a != NULL)
		strcpy(h->missing[h->n_missing++], a);
	if (b != NULL)
		strcpy(h->missing[h->n_missing++], b);
}

static void
test_exempt_own_report(void **state)
{
	struct fx *fx = *state;
	struct nap_health h;

	/* Revision 42 against 43 with the same digest: matches, the client's flag stands. */
	health_default(fx, &h);
	run_ex(fx, &h, NULL, "pc-1");
	assert_verdict(fx, NAP_RESULT_COMPLIANT, NAP_BRANCH_MATCHES, true);
	assert_ptr_equal(fx->v.hsr, fx->s01);
	assert_null(fx->v.exemption);
	/* A compliant client stays what it is, exemption or not. */
	run_ex(fx, &h, NULL, "lab-1");
	assert_verdict(fx, NAP_RESULT_COMPLIANT, NAP_BRANCH_MATCHES, true);

	/* Full exemption by glob. */
	missing1(&h, "DSA-5001-1", NULL);
	run_ex(fx, &h, NULL, "pc-1");
	assert_verdict(fx, NAP_RESULT_NONCOMPLIANT, NAP_BRANCH_MATCHES, false);
	run_ex(fx, &h, NULL, "LAB-1");
	assert_verdict(fx, NAP_RESULT_COMPLIANT, NAP_BRANCH_EXEMPT, true);
	assert_string_equal(fx->v.exemption, "EX-LAB");
	assert_string_equal(fx->v.reason, "client exempt");
	assert_int_equal(fx->v.failure_category, NAP_FAILURE_NONE);
	assert_ptr_equal(fx->v.hsr, fx->s01);
	/* "Compliant" with missing updates, and non-compliant with none listed: full only. */
	h.compliant = true;
	run_ex(fx, &h, NULL, "lab-1");
	assert_verdict(fx, NAP_RESULT_COMPLIANT, NAP_BRANCH_EXEMPT, true);
	missing1(&h, NULL, NULL);
	run_ex(fx, &h, NULL, "srv-db-01");
	assert_verdict(fx, NAP_RESULT_NONCOMPLIANT, NAP_BRANCH_MATCHES, false);
	run_ex(fx, &h, NULL, "lab-1");
	assert_verdict(fx, NAP_RESULT_COMPLIANT, NAP_BRANCH_EXEMPT, true);

	/* Policy-scoped: every missing id covered. */
	missing1(&h, "DSA-5001-1", NULL);
	run_ex(fx, &h, NULL, "srv-db-01");
	assert_verdict(fx, NAP_RESULT_COMPLIANT, NAP_BRANCH_EXEMPT, true);
	assert_string_equal(fx->v.exemption, "EX-SRV-DB");
	assert_string_equal(fx->v.reason, "missing updates covered by exemptions");
	missing1(&h, "DSA-5001-1", "DSA-4999-1");
	run_ex(fx, &h, NULL, "srv-db-01");
	assert_verdict(fx, NAP_RESULT_NONCOMPLIANT, NAP_BRANCH_MATCHES, false);
	assert_null(fx->v.exemption);
	/* The union of two exemptions of a group covers both. */
	run_ex(fx, &h, NULL, "kiosk-01");
	assert_verdict(fx, NAP_RESULT_COMPLIANT, NAP_BRANCH_EXEMPT, true);
	missing1(&h, "DSA-5001-1", "NAP-BASELINE-2026");
	run_ex(fx, &h, NULL, "kiosk-01");
	assert_verdict(fx, NAP_RESULT_NONCOMPLIANT, NAP_BRANCH_MATCHES, false);
	/* A window that closed, one not yet open. */
	missing1(&h, "DSA-5001-1", NULL);
	run_ex(fx, &h, NULL, "old-pc");
	assert_verdict(fx, NAP_RESULT_NONCOMPLIANT, NAP_BRANCH_MATCHES, false);
	run_ex(fx, &h, NULL, "new-pc");
	assert_verdict(fx, NAP_RESULT_NONCOMPLIANT, NAP_BRANCH_MATCHES, false);
	/* Only the client's site counts: S03's exemptions are not S01's. */
	run_ex(fx, &h, NULL, "appliance-1");
	assert_verdict(fx, NAP_RESULT_NONCOMPLIANT, NAP_BRANCH_MATCHES, false);

	/* A client that evaluated a newer HSR: its own report still counts. */
	health_default(fx, &h);
	h.hsr_revision = 44;
	missing1(&h, "RHSA-2026:0101", NULL);
	run_ex(fx, &h, NULL, "srv-db-03");
	assert_verdict(fx, NAP_RESULT_COMPLIANT, NAP_BRANCH_EXEMPT, true);

	/* No name, no exemption. */
	run_ex(fx, &h, NULL, NULL);
	assert_verdict(fx, NAP_RESULT_NONCOMPLIANT, NAP_BRANCH_NEWER, false);
	run_ex(fx, &h, NULL, "");
	assert_verdict(fx, NAP_RESULT_NONCOMPLIANT, NAP_BRANCH_NEWER, false);
	run(fx, &h, NULL, NAP_EP_DHCP);
	nap_validate_exempt(NULL, "lab-1", NOW, &fx->v);
	assert_verdict(fx, NAP_RESULT_NONCOMPLIANT, NAP_BRANCH_NEWER, false);
}

static void
test_exempt_other_branches(void **state)
{
	struct fx *fx = *state;
	static const uint32_t known[] = {0x80070005u};
	struct nap_health h;
	struct nap_wsh w;

	/* Out of date (other policies): a full exemption only, and the refresh stays. */
	health_default(fx, &h);
	h.hsr_revision = 41;
	h.hsr_digest[0] ^= 0xff;
	missing1(&h, "DSA-5001-1", NULL);
	run_ex(fx, &h, NULL, "srv-db-01");
	assert_verdict(fx, NAP_RESULT_NONCOMPLIANT, NAP_BRANCH_OUT_OF_DATE, false);
	run_ex(fx, &h, NULL, "lab-7");
	assert_verdict(fx, NAP_RESULT_COMPLIANT, NAP_BRANCH_EXEMPT, true);
	assert_int_equal(fx->v.instructions, NAP_INSTRUCT_REFRESH_POLICY);

	/* Expired: the site is known from the SoH although the HSR was not looked up. */
	health_default(fx, &h);
	h.generation_time = NOW - NAP_VALIDATE_DEFAULT_VALIDITY - 1;
	run_ex(fx, &h, NULL, "lab-7");
	assert_verdict(fx, NAP_RESULT_COMPLIANT, NAP_BRANCH_EXEMPT, true);
	assert_int_equal(fx->v.instructions, NAP_INSTRUCT_REEVALUATE);
	run_ex(fx, &h, NULL, "appliance-1");
	assert_verdict(fx, NAP_RESULT_NONCOMPLIANT, NAP_BRANCH_EXPIRED_TTL, false);

	/* MS-WSH failure: full only. */
	fx->cfg.wsh_checks[NAP_EP_DHCP] = NAP_WSH_CHECK_FIREWALL;
	health_default(fx, &h);
	wsh_default(&w);
	w.cls[NAP_WSH_FIREWALL].status = 0;
	run_ex(fx, &h, &w, "lab-7");
	assert_verdict(fx, NAP_RESULT_COMPLIANT, NAP_BRANCH_EXEMPT, true);
	assert_true(fx->v.has_wshv);
	/*
	 * The nap part fails first (a missing update the exemption covers), so the branch is
	 * "matches", but the failed MS-WSH check behind it keeps the scoped exemption out.
	 */
	missing1(&h, "DSA-5001-1", NULL);
	run_ex(fx, &h, &w, "srv-db-01");
	assert_verdict(fx, NAP_RESULT_NONCOMPLIANT, NAP_BRANCH_MATCHES, false);
	assert_true(fx->v.wsh_failed);
	w.cls[NAP_WSH_FIREWALL].status = NAP_WSH_STATUS_ENABLED;
	run_ex(fx, &h, &w, "srv-db-01");
	assert_verdict(fx, NAP_RESULT_COMPLIANT, NAP_BRANCH_EXEMPT, true);
	assert_false(fx->v.wsh_failed);
	/* No MS-WSH entry at all while checks are required counts as failed too. */
	run_ex(fx, &h, NULL, "srv-db-01");
	assert_verdict(fx, NAP_RESULT_NONCOMPLIANT, NAP_BRANCH_MATCHES, false);
	assert_true(fx->v.wsh_failed);
	fx->cfg.wsh_checks[NAP_EP_DHCP] = 0;

	/* A client failure with a known code, site S01 and site S03. */
	fx->cfg.known_client_errors = known;
	fx->cfg.n_known_client_errors = 1;
	health_default(fx, &h);
	h.failure_category = NAP_FAILURE_CLIENT_COMPONENT;
	h.error_code = known[0];
	run_ex(fx, &h, NULL, "lab-7");
	assert_verdict(fx, NAP_RESULT_COMPLIANT, NAP_BRANCH_EXEMPT, true);
	assert_int_equal(fx->v.failure_category, NAP_FAILURE_NONE);
	strcpy(h.site, "S03");
	run_ex(fx, &h, NULL, "lab-7");
	assert_verdict(fx, NAP_RESULT_CLIENT_COMPONENT, NAP_BRANCH_CLIENT_FAILURE, false);
	run_ex(fx, &h, NULL, "appliance-1");
	assert_verdict(fx, NAP_RESULT_COMPLIANT, NAP_BRANCH_EXEMPT, true);
	/* Mapped compliant already: nothing to exempt. */
	fx->cfg.maps_compliant[NAP_RESULT_CLIENT_COMPONENT] = true;
	run_ex(fx, &h, NULL, "appliance-1");
	assert_verdict(fx, NAP_RESULT_CLIENT_COMPONENT, NAP_BRANCH_CLIENT_FAILURE, true);
	fx->cfg.maps_compliant[NAP_RESULT_CLIENT_COMPONENT] = false;

	/* Unknown site: a full exemption in any HSR napvd trusts. */
	health_default(fx, &h);
	strcpy(h.site, "S99");
	run_ex(fx, &h, NULL, "appliance-1");
	assert_verdict(fx, NAP_RESULT_COMPLIANT, NAP_BRANCH_EXEMPT, true);
	assert_string_equal(fx->v.exemption, "EX-APPLIANCE");
	assert_null(fx->v.hsr);
	run_ex(fx, &h, NULL, "lab-1");
	assert_verdict(fx, NAP_RESULT_COMPLIANT, NAP_BRANCH_EXEMPT, true);
	missing1(&h, "DSA-5001-1", NULL);
	run_ex(fx, &h, NULL, "srv-db-01"); /* scoped only */
	assert_verdict(fx, NAP_RESULT_OTHER, NAP_BRANCH_UNKNOWN_SITE, false);

	/* No nap entry, no SoH. */
	run_ex(fx, NULL, NULL, "appliance-1");
	assert_verdict(fx, NAP_RESULT_COMPLIANT, NAP_BRANCH_EXEMPT, true);
	nap_validate(&fx->cfg, &fx->view, NULL, NAP_EP_DHCP, NOW, &fx->v);
	nap_validate_exempt(&fx->view, "appliance-1", NOW, &fx->v);
	assert_verdict(fx, NAP_RESULT_COMPLIANT, NAP_BRANCH_EXEMPT, true);
	nap_validate(&fx->cfg, &fx->view, NULL, NAP_EP_DHCP, NOW, &fx->v);
	nap_validate_exempt(&fx->view, "pc-1", NOW, &fx->v);
	assert_verdict(fx, NAP_RESULT_NONCOMPLIANT, NAP_BRANCH_NO_SOH, false);
}

/* Forged or corrupt data and an unusable cache are never exempted. */
static void
test_exempt_never(void **state)
{
	struct fx *fx = *state;
	struct nap_health h;

	/* Revision 43 with another digest. */
	health_default(fx, &h);
	h.hsr_revision = 43;
	h.hsr_digest[5] ^= 1;
	run_ex(fx, &h, NULL, "lab-1");
	assert_verdict(fx, NAP_RESULT_OTHER, NAP_BRANCH_INVALID, false);
	assert_null(fx->v.exemption);
	/* A server failure category from the client. */
	health_default(fx, &h);
	h.failure_category = NAP_FAILURE_SERVER_COMMUNICATION;
	run_ex(fx, &h, NULL, "lab-1");
	assert_verdict(fx, NAP_RESULT_OTHER, NAP_BRANCH_INVALID, false);
	/* An SoH from the future. */
	health_default(fx, &h);
	h.generation_time = NOW + NAP_VALIDATE_MAX_CLOCK_SKEW + 1;
	run_ex(fx, &h, NULL, "lab-1");
	assert_verdict(fx, NAP_RESULT_OTHER, NAP_BRANCH_INVALID, false);
	/* A stale cache, and none at all. */
	health_default(fx, &h);
	h.compliant = false;
	fx->view.refreshed_at = NOW - NAP_VALIDATE_DEFAULT_HSR_MAX_AGE - 1;
	run_ex(fx, &h, NULL, "lab-1");
	assert_verdict(fx, NAP_RESULT_SERVER_COMMUNICATION, NAP_BRANCH_SERVER_FAILURE, false);
	fx->view.refreshed_at = NOW - 60;
	nap_validate(&fx->cfg, NULL, build(fx, &h, NULL), NAP_EP_DHCP, NOW, &fx->v);
	nap_validate_exempt(NULL, "lab-1", NOW, &fx->v);
	assert_verdict(fx, NAP_RESULT_SERVER_COMPONENT, NAP_BRANCH_SERVER_FAILURE, false);
	fx->view.set = NULL;
	run_ex(fx, &h, NULL, "lab-1");
	assert_verdict(fx, NAP_RESULT_SERVER_COMMUNICATION, NAP_BRANCH_SERVER_FAILURE, false);
	fx->view.set = fx->set;
	/* Applied twice: the second call changes nothing. */
	run_ex(fx, &h, NULL, "lab-1");
	assert_verdict(fx, NAP_RESULT_COMPLIANT, NAP_BRANCH_EXEMPT, true);
	nap_validate_exempt(&fx->view, "lab-1", NOW, &fx->v);
	assert_verdict(fx, NAP_RESULT_COMPLIANT, NAP_BRANCH_EXEMPT, true);
}

/* The SoHR of an exempt client: compliant, branch exempt, the site's revision and digest. */
static void
test_exempt_sohr(void **state)
{
	struct fx *fx = *state;
	struct nap_soh *sohr = malloc(sizeof(*sohr)), *back = malloc(sizeof(*back));
	struct nap_health_response resp;
	struct nap_health h;
	uint8_t *wire = NULL;

	assert_non_null(sohr);
	assert_non_null(back);
	health_default(fx, &h);
	missing1(&h, "DSA-5001-1", NULL);
	run_ex(fx, &h, NULL, "srv-db-02");
	assert_verdict(fx, NAP_RESULT_COMPLIANT, NAP_BRANCH_EXEMPT, true);
	assert_int_equal(nap_sohr_build(&fx->soh, &fx->v, NAP_ACTION_FULL, 0, sohr), 0);
	sohr_decode(sohr, &wire, back, &resp);
	assert_int_equal(back->ssoh.qs_flags, NAP_ISOLATION_NOT_RESTRICTED);
	assert_int_equal(resp.result, NAP_RESULT_COMPLIANT);
	assert_int_equal(resp.branch, NAP_BRANCH_EXEMPT);
	assert_int_equal(resp.compliance_code, 0);
	assert_int_equal(resp.failure_category, NAP_FAILURE_NONE);
	assert_int_equal(resp.hsr_revision, 43);
	assert_true(resp.has_digest);
	assert_memory_equal(resp.hsr_digest, fx->s01->digest, NAP_HSR_DIGEST_LEN);
	free(wire);
	free(sohr);
	free(back);
}

int
main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_no_soh),
		T(test_no_nap_entry),
		T(test_matches),
		T(test_newer_and_out_of_date),
		T(test_invalid),
		T(test_malformed_entry),
		T(test_client_failure),
		T(test_time),
		T(test_server_failure),
		T(test_unknown_site_and_no_policies),
		T(test_mapping),
		T(test_wsh_missing),
		T(test_wsh_rules),
		cmocka_unit_test(test_names),
		T(test_sohr_build),
		cmocka_unit_test_setup_teardown(test_exempt_own_report, setup_ex, teardown),
		cmocka_unit_test_setup_teardown(test_exempt_other_branches, setup_ex, teardown),
		cmocka_unit_test_setup_teardown(test_exempt_never, setup_ex, teardown),
		cmocka_unit_test_setup_teardown(test_exempt_sohr, setup_ex, teardown),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
