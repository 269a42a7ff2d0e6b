// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * Writes the napdump vectors that no outside peer produced: a client SoH with a nap entry and an
 * MS-WSH entry, an SoHR with nap's and MS-WSH's validator entries, and an Access-Request /
 * Access-Accept pair carrying them split over MS-Quarantine-SoH attributes. Fixed times,
 * correlation ids and authenticators make the output reproducible; the golden files in
 * tests/vectors/napdump/ were made with it (built on demand: ninja tests/unit/tools/mkvectors).
 * Usage: mkvectors DIR
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nap/health.h"
#include "nap/radius.h"
#include "nap/sample.h"
#include "nap/soh.h"
#include "nap/util.h"
#include "nap/validate.h"

static const char secret[] = "testing123";

static void
write_hex(const char *dir, const char *name, const char *comment, const uint8_t *p, size_t n)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((f = fopen(path, "w")) == NULL) {
		perror(path);
		exit(1);
	}
	fprintf(f, "# %s\n", comment);
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%02x%c", p[i], i % 16 == 15 || i + 1 == n ? '\n' : ' ');
	fclose(f);
}

static void
check(int r, const char *what)
{
	if (r < 0) {
		fprintf(stderr, "mkvectors: %s failed (%d)\n", what, r);
		exit(1);
	}
}

int
main(int argc, char *argv[])
{
	static const char *missing[] = {"CVE-2026-0001", "DSA-5555-1"};
	static struct nap_soh sohr;
	struct nap_sample_spec spec;
	struct nap_health_response hr;
	struct nap_wshv wv;
	struct nap_radius_builder b;
	uint8_t digest[NAP_HSR_DIGEST_LEN], corr[NAP_CORRELATION_ID_LEN], auth[16];
	uint8_t *soh, *sohr_bytes;
	size_t soh_len, sohr_len, pkt_len;
	const uint8_t *pkt;
	static const uint8_t rem[] = {0, 192, 0, 2, 10, 192, 0, 2, 11};

	if (argc != 2) {
		fprintf(stderr, "usage: mkvectors DIR\n");
		return 64;
	}
	for (size_t i = 0; i < sizeof(digest); i++)
		digest[i] = (uint8_t)(0xa0 + i);
	for (size_t i = 0; i < sizeof(corr); i++)
		corr[i] = (uint8_t)(0x40 + i);
	for (size_t i = 0; i < sizeof(auth); i++)
		auth[i] = (uint8_t)i;

	memset(&spec, 0, sizeof(spec));
	spec.machine_name = "pc1.example";
	spec.site = "S01";
	spec.revision = 7;
	spec.digest = digest;
	spec.compliant = false;
	spec.generation_time = 1795600800; /* 2026-11-25T10:00:00Z */
	spec.eval_time = 1795600500;
	spec.missing = missing;
	spec.n_missing = 2;
	spec.with_wsh = true;
	spec.correlation_id = corr;
	spec.os_major = 6;
	spec.os_minor = 1;
	spec.os_build = 0;
	spec.processor_arch = NAP_ARCH_X64;
	check(nap_sample_soh_build(&spec, &soh, &soh_len), "sample SoH");
	write_hex(argv[1], "nap-wsh-soh.hex",
		  "client SoH from the sample builder: SSoH, MS-WSH entry, nap entry (S01 rev 7, "
		  "not compliant, 2 missing); made by tests/unit/tools/mkvectors.c",
		  soh, soh_len);

	nap_soh_init(&sohr, false, corr);
	memset(&hr, 0, sizeof(hr));
	hr.result = NAP_RESULT_NONCOMPLIANT;
	hr.branch = NAP_BRANCH_OUT_OF_DATE;
	hr.instructions = NAP_INSTRUCT_REFRESH_POLICY;
	hr.hsr_revision = 8;
	hr.has_digest = true;
	memcpy(hr.hsr_digest, digest, sizeof(digest));
	hr.compliance_code = 0xC0FF0007u;
	hr.failure_category = NAP_FAILURE_NONE;
	check(nap_health_response_add_entry(&sohr, &hr), "nap SHV entry");
	memset(&wv, 0, sizeof(wv));
	for (int c = 0; c < NAP_WSH_CLASSES; c++)
		wv.cls[c].present = true;
	wv.cls[NAP_WSH_ANTIVIRUS].code1 = NAP_WSH_E_PRODUCT_NOT_INSTALLED;
	wv.cls[NAP_WSH_ANTIVIRUS].has_failure = true;
	wv.cls[NAP_WSH_ANTIVIRUS].failure_category = NAP_FAILURE_CLIENT_COMPONENT;
	check(nap_wshv_add_entry(&sohr, &wv), "WSHV entry");
	check(nap_soh_encode_alloc(&sohr, &sohr_bytes, &sohr_len), "SoHR encode");
	write_hex(argv[1], "nap-wsh-sohr.hex",
		  "SoHR: SSoHR, nap SHV entry (noncompliant, out-of-date, refresh-policy, rev 8), "
		  "MS-WSH SHV entry; made by tests/unit/tools/mkvectors.c",
		  sohr_bytes, sohr_len);

	nap_radius_build_init(&b, NAP_RADIUS_ACCESS_REQUEST, 42, auth);
	check(nap_radius_add_attr(&b, NAP_RADIUS_USER_NAME, "nap-client", 10), "User-Name");
	check(nap_radius_add_u32(&b, NAP_RADIUS_SERVICE_TYPE, NAP_RADIUS_SERVICE_AUTHORIZE_ONLY),
	      "Service-Type");
	check(nap_radius_add_attr(&b, NAP_RADIUS_NAS_IDENTIFIER, "napctl", 6), "NAS-Identifier");
	check(nap_radius_add_ms_u32(&b, NAP_MS_NETWORK_ACCESS_SERVER_TYPE, NAP_MS_NAS_DHCP),
	      "NAS type");
	check(nap_radius_add_vsa(&b, NAP_VENDOR_MICROSOFT, NAP_MS_MACHINE_NAME, "pc1.example", 11),
	      "Machine-Name");
	check(nap_radius_add_ms_split(&b, NAP_MS_QUARANTINE_SOH, soh, soh_len), "SoH");
	check(nap_radius_add_message_authenticator(&b), "Message-Authenticator");
	check(nap_radius_finish_request(&b, (const uint8_t *)secret, strlen(secret), &pkt,
					&pkt_len),
	      "finish request");
	write_hex(argv[1], "access-request-split-soh.hex",
		  "Access-Request id 42 carrying nap-wsh-soh.hex split over two MS-Quarantine-SoH "
		  "attributes; secret testing123; made by tests/unit/tools/mkvectors.c",
		  pkt, pkt_len);

	nap_radius_build_init(&b, NAP_RADIUS_ACCESS_ACCEPT, 42, NULL);
	check(nap_radius_add_ms_u32(&b, NAP_MS_QUARANTINE_STATE, NAP_MS_QSTATE_RESTRICTED),
	      "Quarantine-State");
	check(nap_radius_add_ms_u32(&b, NAP_MS_EXTENDED_QUARANTINE_STATE, NAP_MS_EXTSTATE_NO_DATA),
	      "Extended-Quarantine-State");
	check(nap_radius_add_ms_u32(&b, NAP_MS_QUARANTINE_GRACE_TIME, 1700000000u), "Grace-Time");
	check(nap_radius_add_vsa(&b, NAP_VENDOR_MICROSOFT, NAP_MS_IPV4_REMEDIATION_SERVERS, rem,
				 sizeof(rem)),
	      "Remediation-Servers");
	check(nap_radius_add_vsa(&b, NAP_VENDOR_MICROSOFT, NAP_MS_QUARANTINE_USER_CLASS,
				 "nap-restricted", 14),
	      "User-Class");
	check(nap_radius_add_ms_split(&b, NAP_MS_QUARANTINE_SOH, sohr_bytes, sohr_len), "SoHR");
	check(nap_radius_add_message_authenticator(&b), "Message-Authenticator");
	check(nap_radius_finish_response(&b, auth, (const uint8_t *)secret, strlen(secret), &pkt,
					 &pkt_len),
	      "finish response");
	write_hex(argv[1], "access-accept-sohr.hex",
		  "Access-Accept answering access-request-split-soh.hex: restricted, grace time, "
		  "remediation servers, user class, nap-wsh-sohr.hex; made by "
		  "tests/unit/tools/mkvectors.c",
		  pkt, pkt_len);
	free(soh);
	free(sohr_bytes);
	return 0;
}
