// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * Unit tests for napvd's request path without sockets: the action table, the extended
 * quarantine state, the reply builder (every attribute, Proxy-State order, authenticators, the
 * SoHR), the drop reasons, duplicate detection, Status-Server and the status record.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "nap/log.h"
#include "nap/sample.h"
#include "nap/soh.h"
#include "nap/util.h"
#include "napvd.h"

#define NOW   1764079200 /* 2025-11-25T14:00:00Z */
#define SITE  "S01"
#define REV   5
#define SECRET "testing123"

static const char conf_text[] =
	"[hsr]\nfile = /h.json\ntrusted_keys = /k.pem\n"
	"[validation]\nvalidity_period = 26h\n"
	"[client local]\naddress = 127.0.0.1\nsecret = " SECRET "\n"
	"[enforcement dhcp]\ncompliant = full\nnoncompliant = restricted\nnoncapable = reject\n"
	"remediation_servers = 192.0.2.10 192.0.2.11\nuser_class = nap-restricted\n"
	"[enforcement hra]\nnoncompliant = probation\nprobation = 12h\n"
	"[enforcement vpn]\nnoncompliant = reject\n";

static int64_t mono_now;

static int64_t
test_mono(void *arg)
{
	(void)arg;
	return mono_now;
}

static int64_t
test_real(void *arg)
{
	(void)arg;
	return NOW;
}

static struct napvd d;
static struct nap_hsr_policy policy = {.id = "p1", .package = "openssl", .min_version = "3.0.1"};
static struct nap_hsr hsr = {.site = SITE, .revision = REV, .n_policies = 1, .policies = &policy};
static struct nap_hsr_set hsr_set = {.n = 1, .v = &hsr};
static struct sockaddr_in nas;

static int
setup(void **state)
{
	char err[512];

	(void)state;
	memset(&d, 0, sizeof(d));
	if (napvd_config_parse_string(conf_text, "t.conf", &d.conf, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	d.clock = (struct napvd_clock){.mono_ms = test_mono, .real_s = test_real};
	d.spool.fd = d.spool.dirfd = -1;
	d.hsr.set = &hsr_set;
	d.hsr.refreshed_at = NOW - 10;
	mono_now = 1000;
	if (napvd_scratch_new(&d.scratch) < 0 || napvd_dup_init(&d.dup, 64, 1 << 20, 30000) < 0)
		return -1;
	nas.sin_family = AF_INET;
	nas.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	nas.sin_port = htons(40000);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	hsr.exemptions = NULL;
	hsr.n_exemptions = 0;
	napvd_dup_free(&d.dup);
	napvd_scratch_free(d.scratch);
	napvd_config_free(d.conf);
	return 0;
}

/* ---- request construction ---- */

struct req_spec {
	uint8_t code;
	uint8_t id;
	int nas_type;          /* -1: none */
	const uint8_t *soh;
	size_t soh_len;
	bool not_capable;
	bool no_msg_auth;
	const char *secret;
	int n_proxy;
	const char *machine_name; /* MS-Machine-Name, or NULL */
};

static struct nap_radius_builder rb;

static size_t
build_request(const struct req_spec *s, uint8_t *out, uint8_t auth[NAP_RADIUS_AUTH_LEN])
{
	const uint8_t *p;
	size_t n;

	nap_radius_build_init(&rb, s->code, s->id, NULL);
	assert_int_equal(nap_radius_add_attr(&rb, NAP_RADIUS_USER_NAME, "host", 4), 0);
	if (!s->no_msg_auth)
		assert_int_equal(nap_radius_add_message_authenticator(&rb), 0);
	for (int i = 0; i < s->n_proxy; i++) {
		char ps[32];

		snprintf(ps, sizeof(ps), "proxy-%d", i);
		assert_int_equal(nap_radius_add_attr(&rb, NAP_RADIUS_PROXY_STATE, ps, strlen(ps)), 0);
	}
	if (s->nas_type >= 0)
		assert_int_equal(nap_radius_add_ms_u32(&rb, NAP_MS_NETWORK_ACCESS_SERVER_TYPE,
						       (uint32_t)s->nas_type),
				 0);
	if (s->not_capable)
		assert_int_equal(nap_radius_add_ms_u32(&rb, NAP_MS_NOT_QUARANTINE_CAPABLE, 1), 0);
	if (s->machine_name != NULL)
		assert_int_equal(nap_radius_add_vsa(&rb, NAP_RADIUS_VENDOR_MS, NAP_MS_MACHINE_NAME,
						    s->machine_name, strlen(s->machine_name)),
				 0);
	if (s->soh != NULL)
		assert_int_equal(nap_radius_add_ms_split(&rb, NAP_MS_QUARANTINE_SOH, s->soh,
							 s->soh_len),
				 0);
	assert_int_equal(nap_radius_finish_request(&rb,
						   (const uint8_t *)(s->secret ? s->secret : SECRET),
						   strlen(s->secret ? s->secret : SECRET), &p, &n),
			 0);
	memcpy(out, p, n);
	memcpy(auth, p + 4, NAP_RADIUS_AUTH_LEN);
	return n;
}

static uint8_t *
sample_soh(bool compliant, uint64_t revision, bool wrapped, size_t *len)
{
	/* An older revision with other policies: the HSR's digest is all zeros. */
	static const uint8_t stale_digest[NAP_HSR_DIGEST_LEN] = {1};
	struct nap_sample_spec spec = {
		.machine_name = "pc-1.example",
		.site = SITE,
		.revision = revision,
		.digest = revision < REV ? stale_digest : NULL,
		.compliant = compliant,
		.generation_time = NOW - 60,
		.eval_time = NOW - 120,
		.wrapped = wrapped,
	};
	uint8_t *p = NULL;

	assert_int_equal(nap_sample_soh_build(&spec, &p, len), 0);
	return p;
}

struct reply {
	uint8_t buf[NAP_RADIUS_MAX_LEN];
	size_t len;
	struct nap_radius_packet pkt;
};

static enum napvd_disposition
run(const struct req_spec *s, struct reply *r)
{
	uint8_t pkt[NAP_RADIUS_MAX_LEN], auth[NAP_RADIUS_AUTH_LEN];
	size_t n = build_request(s, pkt, auth);
	enum napvd_disposition disp;

	disp = napvd_request(&d, (const struct sockaddr *)&nas, pkt, n, r->buf, &r->len);
	if (disp != NAPVD_REPLY)
		return disp;
	assert_int_equal(nap_radius_decode(r->buf, r->len, &r->pkt, NULL), 0);
	assert_int_equal(r->pkt.id, s->id);
	/* Response Authenticator and Message-Authenticator, against the request. */
	assert_int_equal(nap_radius_verify_response(&r->pkt, auth, (const uint8_t *)SECRET,
						    strlen(SECRET)),
			 0);
	assert_true(r->pkt.msg_auth_offset != 0);
	return disp;
}

static long
ms_u32(const struct reply *r, uint8_t vt)
{
	const struct nap_radius_attr *a = nap_radius_find_vsa(&r->pkt, NAP_RADIUS_VENDOR_MS, vt);
	uint32_t v;

	if (a == NULL)
		return -1;
	assert_true(nap_radius_attr_u32(a, &v));
	return (long)v;
}

/* ---- tests ---- */

static void
test_action_table(void **state)
{
	struct nap_verdict v = {0};

	(void)state;
	v.compliant = true;
	assert_int_equal(napvd_action_for(d.conf, NAP_EP_DHCP, &v, true), NAP_ACTION_FULL);
	assert_int_equal(napvd_action_for(d.conf, NAP_EP_DHCP, &v, false), NAP_ACTION_REJECT);
	v.compliant = false;
	assert_int_equal(napvd_action_for(d.conf, NAP_EP_DHCP, &v, true), NAP_ACTION_RESTRICTED);
	assert_int_equal(napvd_action_for(d.conf, NAP_EP_HRA, &v, true), NAP_ACTION_PROBATION);
	assert_int_equal(napvd_action_for(d.conf, NAP_EP_VPN, &v, true), NAP_ACTION_REJECT);
	/* No section: built-in defaults. */
	assert_int_equal(napvd_action_for(d.conf, NAP_EP_WIRELESS, &v, true),
			 NAP_ACTION_RESTRICTED);
	assert_int_equal(napvd_action_for(d.conf, NAP_EP_WIRELESS, &v, false),
			 NAP_ACTION_RESTRICTED);
	v.compliant = true;
	assert_int_equal(napvd_action_for(d.conf, NAP_EP_WIRELESS, &v, true), NAP_ACTION_FULL);
	/* Out-of-range enforcement points fall back to unspecified. */
	assert_int_equal(napvd_action_for(d.conf, (enum nap_enforcement)99, &v, true),
			 NAP_ACTION_FULL);
}

static void
test_extended_state(void **state)
{
	struct nap_verdict v = {0};

	(void)state;
	v.compliant = true;
	v.result = NAP_RESULT_OTHER; /* a failure mapped to compliant */
	assert_int_equal(napvd_extended_state(&v), NAP_MS_EXTSTATE_NO_DATA);
	v.compliant = false;
	assert_int_equal(napvd_extended_state(&v), NAP_MS_EXTSTATE_UNKNOWN);
	v.result = NAP_RESULT_SERVER_COMMUNICATION;
	assert_int_equal(napvd_extended_state(&v), NAP_MS_EXTSTATE_UNKNOWN);
	v.result = NAP_RESULT_NONCOMPLIANT;
	v.branch = NAP_BRANCH_MATCHES;
	assert_int_equal(napvd_extended_state(&v), NAP_MS_EXTSTATE_INFECTED);
	v.branch = NAP_BRANCH_OUT_OF_DATE;
	assert_int_equal(napvd_extended_state(&v), NAP_MS_EXTSTATE_TRANSITION);
	v.branch = NAP_BRANCH_EXPIRED_TTL;
	assert_int_equal(napvd_extended_state(&v), NAP_MS_EXTSTATE_TRANSITION);
	v.branch = NAP_BRANCH_EXPIRED_ABSOLUTE;
	assert_int_equal(napvd_extended_state(&v), NAP_MS_EXTSTATE_TRANSITION);
	v.branch = NAP_BRANCH_NO_SOH;
	assert_int_equal(napvd_extended_state(&v), NAP_MS_EXTSTATE_UNKNOWN);
}

static void
check_sohr(const struct reply *r, const char *want_result, bool want_wrapped)
{
	static uint8_t buf[NAP_SOH_MAX_LEN + 64];
	static struct nap_soh sohr;
	struct nap_health_response hr;
	const struct nap_soh_entry *e;
	uint8_t corr[NAP_CORRELATION_ID_LEN];
	long n = nap_radius_ms_concat(&r->pkt, NAP_MS_QUARANTINE_SOH, buf, sizeof(buf));

	assert_true(n > 0);
	assert_int_equal(nap_soh_decode(buf, (size_t)n, &sohr, NULL), 0);
	assert_int_equal(sohr.wrapped, want_wrapped);
	assert_false(nap_soh_is_request(&sohr));
	nap_sample_correlation_id("pc-1.example", NOW - 60, corr);
	assert_memory_equal(nap_soh_correlation_id(&sohr), corr, sizeof(corr));
	e = nap_soh_find_entry(&sohr, NAP_SHID_NAP);
	assert_non_null(e);
	assert_int_equal(nap_health_response_decode(&sohr, e, &hr, NULL), 0);
	assert_string_equal(nap_result_name((enum nap_result)hr.result), want_result);
	assert_int_equal(hr.hsr_revision, REV);
}

static void
test_compliant(void **state)
{
	size_t len;
	uint8_t *soh = sample_soh(true, REV, false, &len);
	struct req_spec s = {.code = NAP_RADIUS_ACCESS_REQUEST, .id = 1, .nas_type = 3,
			     .soh = soh, .soh_len = len, .n_proxy = 3};
	static struct reply r;
	int seen = 0;

	(void)state;
	assert_true(len > NAP_RADIUS_VSA_MAX_VALUE || len <= NAP_RADIUS_VSA_MAX_VALUE);
	assert_int_equal(run(&s, &r), NAPVD_REPLY);
	assert_int_equal(r.pkt.code, NAP_RADIUS_ACCESS_ACCEPT);
	assert_int_equal(ms_u32(&r, NAP_MS_QUARANTINE_STATE), NAP_MS_QSTATE_FULL_ACCESS);
	assert_int_equal(ms_u32(&r, NAP_MS_EXTENDED_QUARANTINE_STATE), NAP_MS_EXTSTATE_NO_DATA);
	assert_int_equal(ms_u32(&r, NAP_MS_QUARANTINE_GRACE_TIME), -1);
	assert_null(nap_radius_find_vsa(&r.pkt, NAP_RADIUS_VENDOR_MS,
					NAP_MS_IPV4_REMEDIATION_SERVERS));
	/* Message-Authenticator comes first. */
	assert_int_equal(r.pkt.attrs[0].type, NAP_RADIUS_MESSAGE_AUTHENTICATOR);
	/* Proxy-State copied in order. */
	for (uint16_t i = 0; i < r.pkt.n_attrs; i++) {
		char want[32];

		if (r.pkt.attrs[i].type != NAP_RADIUS_PROXY_STATE)
			continue;
		snprintf(want, sizeof(want), "proxy-%d", seen++);
		assert_int_equal(r.pkt.attrs[i].len, strlen(want));
		assert_memory_equal(r.pkt.attrs[i].value, want, strlen(want));
	}
	assert_int_equal(seen, 3);
	check_sohr(&r, "compliant", false);
	assert_int_equal(d.m.verdicts[NAP_RESULT_COMPLIANT], 1);
	assert_int_equal(d.m.branches[NAP_BRANCH_MATCHES], 1);
	assert_int_equal(d.m.actions[NAP_ACTION_FULL][NAP_EP_DHCP], 1);
	assert_int_equal(d.m.requests[NAP_RADIUS_ACCESS_REQUEST], 1);
	assert_int_equal(d.m.hsr_reads_on_request_path, 0);
	free(soh);
}

static void
test_noncompliant_restricted(void **state)
{
	size_t len;
	uint8_t *soh = sample_soh(false, REV, false, &len);
	struct req_spec s = {.code = NAP_RADIUS_ACCESS_REQUEST, .id = 2, .nas_type = 3,
			     .soh = soh, .soh_len = len};
	static const uint8_t rem[] = {0, 192, 0, 2, 10, 192, 0, 2, 11};
	static struct reply r;
	const struct nap_radius_attr *a;

	(void)state;
	assert_int_equal(run(&s, &r), NAPVD_REPLY);
	assert_int_equal(r.pkt.code, NAP_RADIUS_ACCESS_ACCEPT);
	assert_int_equal(ms_u32(&r, NAP_MS_QUARANTINE_STATE), NAP_MS_QSTATE_RESTRICTED);
	assert_int_equal(ms_u32(&r, NAP_MS_EXTENDED_QUARANTINE_STATE), NAP_MS_EXTSTATE_INFECTED);
	a = nap_radius_find_vsa(&r.pkt, NAP_RADIUS_VENDOR_MS, NAP_MS_IPV4_REMEDIATION_SERVERS);
	assert_non_null(a);
	assert_int_equal(a->len, sizeof(rem));
	assert_memory_equal(a->value, rem, sizeof(rem));
	a = nap_radius_find_vsa(&r.pkt, NAP_RADIUS_VENDOR_MS, NAP_MS_QUARANTINE_USER_CLASS);
	assert_non_null(a);
	assert_int_equal(a->len, strlen("nap-restricted"));
	assert_memory_equal(a->value, "nap-restricted", a->len);
	check_sohr(&r, "noncompliant", false);
	free(soh);
}

static void
test_out_of_date_wrapped(void **state)
{
	size_t len;
	uint8_t *soh = sample_soh(true, REV - 1, true, &len);
	struct req_spec s = {.code = NAP_RADIUS_ACCESS_REQUEST, .id = 3, .nas_type = 3,
			     .soh = soh, .soh_len = len};
	static struct reply r;

	(void)state;
	assert_int_equal(run(&s, &r), NAPVD_REPLY);
	assert_int_equal(ms_u32(&r, NAP_MS_QUARANTINE_STATE), NAP_MS_QSTATE_RESTRICTED);
	assert_int_equal(ms_u32(&r, NAP_MS_EXTENDED_QUARANTINE_STATE),
			 NAP_MS_EXTSTATE_TRANSITION);
	assert_int_equal(d.m.branches[NAP_BRANCH_OUT_OF_DATE], 1);
	/* The SoH came wrapped, so the SoHR goes back wrapped. */
	check_sohr(&r, "noncompliant", true);
	free(soh);
}

static void
test_probation(void **state)
{
	size_t len;
	uint8_t *soh = sample_soh(false, REV, false, &len);
	struct req_spec s = {.code = NAP_RADIUS_ACCESS_REQUEST, .id = 4, .nas_type = 5,
			     .soh = soh, .soh_len = len};
	static struct reply r;

	(void)state;
	assert_int_equal(run(&s, &r), NAPVD_REPLY);
	assert_int_equal(r.pkt.code, NAP_RADIUS_ACCESS_ACCEPT);
	assert_int_equal(ms_u32(&r, NAP_MS_QUARANTINE_STATE), NAP_MS_QSTATE_PROBATION);
	assert_int_equal(ms_u32(&r, NAP_MS_QUARANTINE_GRACE_TIME), NOW + 12 * 3600);
	assert_null(nap_radius_find_vsa(&r.pkt, NAP_RADIUS_VENDOR_MS,
					NAP_MS_IPV4_REMEDIATION_SERVERS));
	assert_int_equal(d.m.actions[NAP_ACTION_PROBATION][NAP_EP_HRA], 1);
	free(soh);
}

static void
test_reject_and_noncapable(void **state)
{
	size_t len;
	uint8_t *soh = sample_soh(false, REV, false, &len);
	struct req_spec s = {.code = NAP_RADIUS_ACCESS_REQUEST, .id = 5, .nas_type = 2,
			     .soh = soh, .soh_len = len, .n_proxy = 1};
	static struct reply r;
	const struct nap_radius_attr *a;

	(void)state;
	/* vpn: noncompliant = reject -> Access-Reject with Reply-Message only. */
	assert_int_equal(run(&s, &r), NAPVD_REPLY);
	assert_int_equal(r.pkt.code, NAP_RADIUS_ACCESS_REJECT);
	assert_int_equal(ms_u32(&r, NAP_MS_QUARANTINE_STATE), -1);
	assert_null(nap_radius_find_vsa(&r.pkt, NAP_RADIUS_VENDOR_MS, NAP_MS_QUARANTINE_SOH));
	a = nap_radius_find(&r.pkt, NAP_RADIUS_REPLY_MESSAGE);
	assert_non_null(a);
	assert_non_null(nap_radius_find(&r.pkt, NAP_RADIUS_PROXY_STATE));
	/* No SoH on dhcp: noncapable = reject. */
	s = (struct req_spec){.code = NAP_RADIUS_ACCESS_REQUEST, .id = 6, .nas_type = 3};
	assert_int_equal(run(&s, &r), NAPVD_REPLY);
	assert_int_equal(r.pkt.code, NAP_RADIUS_ACCESS_REJECT);
	assert_int_equal(d.m.branches[NAP_BRANCH_NO_SOH], 1);
	/* An SoH with MS-Not-Quarantine-Capable = 1 is NAP-incapable too. */
	s = (struct req_spec){.code = NAP_RADIUS_ACCESS_REQUEST, .id = 7, .nas_type = 3,
			      .soh = soh, .soh_len = len, .not_capable = true};
	assert_int_equal(run(&s, &r), NAPVD_REPLY);
	assert_int_equal(r.pkt.code, NAP_RADIUS_ACCESS_REJECT);
	assert_int_equal(d.m.branches[NAP_BRANCH_NO_SOH], 2);
	/* No NAS type: unspecified, no section, defaults -> restricted without SoHR. */
	s = (struct req_spec){.code = NAP_RADIUS_ACCESS_REQUEST, .id = 8, .nas_type = -1};
	assert_int_equal(run(&s, &r), NAPVD_REPLY);
	assert_int_equal(r.pkt.code, NAP_RADIUS_ACCESS_ACCEPT);
	assert_int_equal(ms_u32(&r, NAP_MS_QUARANTINE_STATE), NAP_MS_QSTATE_RESTRICTED);
	assert_int_equal(ms_u32(&r, NAP_MS_EXTENDED_QUARANTINE_STATE), NAP_MS_EXTSTATE_UNKNOWN);
	assert_null(nap_radius_find_vsa(&r.pkt, NAP_RADIUS_VENDOR_MS, NAP_MS_QUARANTINE_SOH));
	assert_int_equal(d.m.actions[NAP_ACTION_RESTRICTED][NAP_EP_UNSPECIFIED], 1);
	free(soh);
}

static void
test_malformed_soh_answered(void **state)
{
	static const uint8_t junk[40] = {0x00, 0x01, 0x00, 0x26, 0xde, 0xad};
	struct req_spec s = {.code = NAP_RADIUS_ACCESS_REQUEST, .id = 9, .nas_type = 3,
			     .soh = junk, .soh_len = sizeof(junk)};
	static struct reply r;

	(void)state;
	assert_int_equal(run(&s, &r), NAPVD_REPLY);
	assert_int_equal(r.pkt.code, NAP_RADIUS_ACCESS_ACCEPT); /* dhcp noncompliant=restricted */
	assert_int_equal(ms_u32(&r, NAP_MS_QUARANTINE_STATE), NAP_MS_QSTATE_RESTRICTED);
	assert_int_equal(ms_u32(&r, NAP_MS_EXTENDED_QUARANTINE_STATE), NAP_MS_EXTSTATE_UNKNOWN);
	assert_int_equal(d.m.malformed_soh, 1);
	assert_int_equal(d.m.branches[NAP_BRANCH_INVALID], 1);
	assert_int_equal(d.m.verdicts[NAP_RESULT_OTHER], 1);
}

static void
test_drops(void **state)
{
	uint8_t pkt[NAP_RADIUS_MAX_LEN], auth[16], out[NAP_RADIUS_MAX_LEN];
	struct req_spec s = {.code = NAP_RADIUS_ACCESS_REQUEST, .id = 10, .nas_type = 3};
	struct sockaddr_in stranger = nas;
	static struct reply r;
	size_t n, on = 0;

	(void)state;
	stranger.sin_addr.s_addr = htonl(0x7f000002);
	n = build_request(&s, pkt, auth);
	assert_int_equal(napvd_request(&d, (const struct sockaddr *)&stranger, pkt, n, out, &on),
			 NAPVD_DROP);
	assert_int_equal(d.m.drops[NAPVD_DROP_UNKNOWN_CLIENT], 1);
	/* Truncated: Length says more than arrived. */
	assert_int_equal(napvd_request(&d, (const struct sockaddr *)&nas, pkt, n - 1, out, &on),
			 NAPVD_DROP);
	assert_int_equal(napvd_request(&d, (const struct sockaddr *)&nas, pkt, 3, out, &on),
			 NAPVD_DROP);
	assert_int_equal(d.m.drops[NAPVD_DROP_MALFORMED], 2);
	s.no_msg_auth = true;
	assert_int_equal(run(&s, &r), NAPVD_DROP);
	assert_int_equal(d.m.drops[NAPVD_DROP_NO_MSG_AUTH], 1);
	s.no_msg_auth = false;
	s.secret = "wrong-secret";
	assert_int_equal(run(&s, &r), NAPVD_DROP);
	assert_int_equal(d.m.drops[NAPVD_DROP_BAD_AUTH], 1);
	s.secret = NULL;
	s.code = NAP_RADIUS_ACCOUNTING_REQUEST;
	assert_int_equal(run(&s, &r), NAPVD_DROP);
	assert_int_equal(d.m.drops[NAPVD_DROP_UNSUPPORTED_CODE], 1);
	/* Nothing was decided for any of them. */
	for (size_t i = 0; i < NAP_RESULT_COUNT; i++)
		assert_int_equal(d.m.verdicts[i], 0);
}

static void
test_duplicate(void **state)
{
	size_t len, n, o1 = 0, o2 = 0, o3 = 0;
	uint8_t *soh = sample_soh(true, REV, false, &len);
	struct req_spec s = {.code = NAP_RADIUS_ACCESS_REQUEST, .id = 11, .nas_type = 3,
			     .soh = soh, .soh_len = len};
	uint8_t pkt[NAP_RADIUS_MAX_LEN], auth[16];
	static uint8_t out1[NAP_RADIUS_MAX_LEN], out2[NAP_RADIUS_MAX_LEN], out3[NAP_RADIUS_MAX_LEN];
	struct sockaddr_in other_port = nas;

	(void)state;
	n = build_request(&s, pkt, auth);
	assert_int_equal(napvd_request(&d, (const struct sockaddr *)&nas, pkt, n, out1, &o1),
			 NAPVD_REPLY);
	mono_now += 5000;
	assert_int_equal(napvd_request(&d, (const struct sockaddr *)&nas, pkt, n, out2, &o2),
			 NAPVD_REPLY);
	assert_int_equal(o1, o2);
	assert_memory_equal(out1, out2, o1);
	assert_int_equal(d.m.duplicates, 1);
	assert_int_equal(d.m.verdicts[NAP_RESULT_COMPLIANT], 1); /* decided once */
	/* Another source port is another request. */
	other_port.sin_port = htons(40001);
	assert_int_equal(napvd_request(&d, (const struct sockaddr *)&other_port, pkt, n, out3, &o3),
			 NAPVD_REPLY);
	assert_int_equal(d.m.duplicates, 1);
	assert_int_equal(d.m.verdicts[NAP_RESULT_COMPLIANT], 2);
	/* After the window it is decided again. */
	mono_now += 30000;
	assert_int_equal(napvd_request(&d, (const struct sockaddr *)&nas, pkt, n, out2, &o2),
			 NAPVD_REPLY);
	assert_int_equal(d.m.duplicates, 1);
	assert_int_equal(d.m.verdicts[NAP_RESULT_COMPLIANT], 3);
	free(soh);
}

static void
test_status_server(void **state)
{
	struct req_spec s = {.code = NAP_RADIUS_STATUS_SERVER, .id = 12, .nas_type = -1};
	static struct reply r;

	(void)state;
	assert_int_equal(run(&s, &r), NAPVD_REPLY);
	assert_int_equal(r.pkt.code, NAP_RADIUS_ACCESS_ACCEPT);
	assert_int_equal(d.m.requests[NAP_RADIUS_STATUS_SERVER], 1);
	for (size_t i = 0; i < NAP_RESULT_COUNT; i++)
		assert_int_equal(d.m.verdicts[i], 0);
	/* Without a Message-Authenticator it is dropped like anything else. */
	s.no_msg_auth = true;
	assert_int_equal(run(&s, &r), NAPVD_DROP);
}

static void
test_spool_record(void **state)
{
	char dir[] = "/tmp/napvd-engine-XXXXXX", path[128];
	size_t len;
	uint8_t *soh = sample_soh(false, REV - 1, false, &len);
	struct req_spec s = {.code = NAP_RADIUS_ACCESS_REQUEST, .id = 13, .nas_type = 3,
			     .soh = soh, .soh_len = len};
	static struct reply r;
	uint64_t cut;
	json_error_t jerr;
	json_t *j;

	(void)state;
	assert_non_null(mkdtemp(dir));
	assert_int_equal(napvd_spool_open(&d.spool, dir, 1 << 20, &cut), 0);
	assert_int_equal(run(&s, &r), NAPVD_REPLY);
	assert_int_equal(d.spool.pending_records, 1);
	assert_int_equal(napvd_spool_commit(&d.spool, &d.m), 0);
	napvd_spool_close(&d.spool);
	snprintf(path, sizeof(path), "%s/%s", dir, NAPVD_SPOOL_NAME);
	/* The record, then the zero-filled preallocation. */
	j = json_load_file(path, JSON_DISABLE_EOF_CHECK, &jerr);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "machine")), "pc-1.example");
	assert_string_equal(json_string_value(json_object_get(j, "site")), SITE);
	assert_string_equal(json_string_value(json_object_get(j, "nas")), "127.0.0.1");
	assert_string_equal(json_string_value(json_object_get(j, "client")), "local");
	assert_string_equal(json_string_value(json_object_get(j, "enforcement")), "dhcp");
	assert_string_equal(json_string_value(json_object_get(j, "result")), "noncompliant");
	assert_string_equal(json_string_value(json_object_get(j, "branch")), "out_of_date");
	assert_string_equal(json_string_value(json_object_get(j, "action")), "restricted");
	assert_int_equal(json_integer_value(json_object_get(j, "hsr_revision")), REV);
	assert_int_equal(strlen(json_string_value(json_object_get(j, "correlation_id"))), 48);
	json_decref(j);
	unlink(path);
	rmdir(dir);
	d.spool.fd = -1;
	free(soh);
}

static void
test_metrics_render(void **state)
{
	size_t len;
	uint8_t *soh = sample_soh(true, REV, false, &len);
	struct req_spec s = {.code = NAP_RADIUS_ACCESS_REQUEST, .id = 14, .nas_type = 3,
			     .soh = soh, .soh_len = len};
	static struct reply r;
	char *text;
	long n;

	(void)state;
	assert_int_equal(run(&s, &r), NAPVD_REPLY);
	napvd_metrics_observe_latency(&d.m, 0.0003);
	n = napvd_metrics_render(&d, &text);
	assert_true(n > 0);
	assert_non_null(strstr(text, "napvd_verdicts_total{result=\"compliant\"} 1\n"));
	assert_non_null(strstr(text, "napvd_branch_total{branch=\"no_soh\"} 0\n"));
	assert_non_null(strstr(text, "napvd_actions_total{action=\"full\",enforcement=\"dhcp\"} 1\n"));
	assert_non_null(strstr(text, "napvd_drops_total{reason=\"bad_authenticator\"} 0\n"));
	assert_non_null(strstr(text, "napvd_hsr_revision{site=\"S01\"} 5\n"));
	assert_non_null(strstr(text, "napvd_hsr_age_seconds 10\n"));
	assert_non_null(strstr(text, "napvd_request_duration_seconds_bucket{le=\"0.0005\"} 1\n"));
	assert_non_null(strstr(text, "napvd_request_duration_seconds_bucket{le=\"0.0001\"} 0\n"));
	assert_non_null(strstr(text, "napvd_request_duration_seconds_count 1\n"));
	assert_non_null(strstr(text, "napvd_hsr_reads_on_request_path_total 0\n"));
	assert_non_null(strstr(text, "napvd_requests_total{code=\"Access-Request\"} 1\n"));
	free(text);
	free(soh);
}

/* HSR exemptions by machine name: MS-Machine-Name first, else the SSoH's name. */
static void
test_exemption(void **state)
{
	static struct nap_hsr_exemption ex[] = {{.id = "EX-1", .client = "pc-1.example"}};
	size_t len;
	uint8_t *soh = sample_soh(false, REV, false, &len);
	struct req_spec s = {.code = NAP_RADIUS_ACCESS_REQUEST, .id = 20, .nas_type = 3,
			     .soh = soh, .soh_len = len};
	static struct reply r;

	(void)state;
	hsr.exemptions = ex;
	hsr.n_exemptions = 1;
	/* The SSoH says pc-1.example: exempt, full access, SoHR "compliant". */
	assert_int_equal(run(&s, &r), NAPVD_REPLY);
	assert_int_equal(ms_u32(&r, NAP_MS_QUARANTINE_STATE), NAP_MS_QSTATE_FULL_ACCESS);
	assert_int_equal(ms_u32(&r, NAP_MS_EXTENDED_QUARANTINE_STATE), NAP_MS_EXTSTATE_NO_DATA);
	check_sohr(&r, "compliant", false);
	assert_int_equal(d.m.branches[NAP_BRANCH_EXEMPT], 1);
	assert_int_equal(d.m.verdicts[NAP_RESULT_COMPLIANT], 1);
	/* The NAS's MS-Machine-Name comes first: another name is not exempt... */
	s.id = 21;
	s.machine_name = "other-pc";
	assert_int_equal(run(&s, &r), NAPVD_REPLY);
	assert_int_equal(ms_u32(&r, NAP_MS_QUARANTINE_STATE), NAP_MS_QSTATE_RESTRICTED);
	assert_int_equal(d.m.branches[NAP_BRANCH_EXEMPT], 1);
	/* ...the exempt one in another case is, and a name with a control byte is no name. */
	s.id = 22;
	s.machine_name = "PC-1.EXAMPLE";
	assert_int_equal(run(&s, &r), NAPVD_REPLY);
	assert_int_equal(ms_u32(&r, NAP_MS_QUARANTINE_STATE), NAP_MS_QSTATE_FULL_ACCESS);
	s.id = 23;
	s.machine_name = "pc-1.example\n";
	assert_int_equal(run(&s, &r), NAPVD_REPLY);
	assert_int_equal(ms_u32(&r, NAP_MS_QUARANTINE_STATE), NAP_MS_QSTATE_RESTRICTED);
	assert_int_equal(d.m.branches[NAP_BRANCH_EXEMPT], 2);
	/* No SoH on dhcp (noncapable = reject): exempt by MS-Machine-Name, full access. */
	s = (struct req_spec){.code = NAP_RADIUS_ACCESS_REQUEST, .id = 24, .nas_type = 3,
			      .machine_name = "pc-1.example"};
	assert_int_equal(run(&s, &r), NAPVD_REPLY);
	assert_int_equal(r.pkt.code, NAP_RADIUS_ACCESS_ACCEPT);
	assert_int_equal(ms_u32(&r, NAP_MS_QUARANTINE_STATE), NAP_MS_QSTATE_FULL_ACCESS);
	assert_int_equal(d.m.branches[NAP_BRANCH_EXEMPT], 3);
	assert_int_equal(d.m.actions[NAP_ACTION_FULL][NAP_EP_DHCP], 3);
	s.id = 25;
	s.machine_name = NULL;
	assert_int_equal(run(&s, &r), NAPVD_REPLY);
	assert_int_equal(r.pkt.code, NAP_RADIUS_ACCESS_REJECT);
	assert_int_equal(d.m.branches[NAP_BRANCH_NO_SOH], 1);
	free(soh);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_action_table, setup, teardown),
		cmocka_unit_test_setup_teardown(test_extended_state, setup, teardown),
		cmocka_unit_test_setup_teardown(test_compliant, setup, teardown),
		cmocka_unit_test_setup_teardown(test_noncompliant_restricted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_out_of_date_wrapped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_probation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reject_and_noncapable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed_soh_answered, setup, teardown),
		cmocka_unit_test_setup_teardown(test_drops, setup, teardown),
		cmocka_unit_test_setup_teardown(test_duplicate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_status_server, setup, teardown),
		cmocka_unit_test_setup_teardown(test_spool_record, setup, teardown),
		cmocka_unit_test_setup_teardown(test_metrics_render, setup, teardown),
		cmocka_unit_test_setup_teardown(test_exemption, setup, teardown),
	};

	log_init("test_engine", true, 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
