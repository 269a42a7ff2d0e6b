// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * napctl soh sample: build a client SoH with nap_sample_soh_build() from command-line options
 * and print it as hex. Reads an HSR file (untrusted, parsed by libnap without a signature check:
 * this is a lab tool) when the revision and digest are taken from it.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>

#include "nap/health.h"
#include "nap/hsr.h"
#include "nap/sample.h"
#include "nap/soh.h"
#include "nap/util.h"

#include "napctl.h"

static const struct {
	const char *name;
	uint8_t category;
} failures[] = {
	{"none", NAP_FAILURE_NONE},
	{"other", NAP_FAILURE_OTHER},
	{"client-component", NAP_FAILURE_CLIENT_COMPONENT},
	{"client-communication", NAP_FAILURE_CLIENT_COMMUNICATION},
	{"server-component", NAP_FAILURE_SERVER_COMPONENT},
	{"server-communication", NAP_FAILURE_SERVER_COMMUNICATION},
};

#define SAMPLE_MAX_MISSING NAP_HEALTH_MAX_MISSING

static int
parse_u64(const char *s, uint64_t *v)
{
	char *end;
	unsigned long long x;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	x = strtoull(s, &end, 0);
	if (errno != 0 || *end != '\0')
		return -EINVAL;
	*v = x;
	return 0;
}

/* Revision and digest of a site's HSR in a lab file. */
static int
load_hsr(const char *path, const char *site, uint64_t *revision, uint8_t *digest)
{
	struct nap_hsr_set *set = NULL;
	struct nap_err err = {0, NULL};
	const struct nap_hsr *h;
	uint8_t *text = NULL;
	size_t len;
	int r;

	if ((r = nap_read_file(path, NAP_HSR_MAX_LEN, &text, &len)) < 0)
		return ctl_error("soh sample: %s: %s", path, strerror(-r));
	r = nap_hsr_set_parse(text, len, NULL, &set, &err);
	free(text);
	if (r < 0)
		return ctl_error("soh sample: %s: %s at offset %zu", path,
				 err.what != NULL ? err.what : strerror(-r), err.offset);
	if ((h = nap_hsr_set_find(set, site)) == NULL) {
		nap_hsr_set_free(set);
		return ctl_error("soh sample: %s: no HSR for site %s", path, site);
	}
	*revision = h->revision;
	memcpy(digest, h->digest, NAP_HSR_DIGEST_LEN);
	nap_hsr_set_free(set);
	return 0;
}

int
cmd_soh_sample(const struct ctl_cmd *cmd, int argc, char *argv[])
{
	enum {
		O_SITE = 256,
		O_REVISION,
		O_DIGEST,
		O_HSR,
		O_COMPLIANT,
		O_AGE,
		O_GENERATED,
		O_FAILURE,
		O_ERROR_CODE,
		O_MISSING,
		O_WSH,
		O_MALFORMED,
		O_NO_NAP,
		O_WRAP,
		O_MACHINE,
	};
	static const struct option opts[] = {
		{"site", required_argument, NULL, O_SITE},
		{"revision", required_argument, NULL, O_REVISION},
		{"digest", required_argument, NULL, O_DIGEST},
		{"hsr", required_argument, NULL, O_HSR},
		{"compliant", required_argument, NULL, O_COMPLIANT},
		{"age", required_argument, NULL, O_AGE},
		{"generated", required_argument, NULL, O_GENERATED},
		{"failure", required_argument, NULL, O_FAILURE},
		{"error-code", required_argument, NULL, O_ERROR_CODE},
		{"missing", required_argument, NULL, O_MISSING},
		{"wsh", no_argument, NULL, O_WSH},
		{"malformed", no_argument, NULL, O_MALFORMED},
		{"no-nap-entry", no_argument, NULL, O_NO_NAP},
		{"wrap", no_argument, NULL, O_WRAP},
		{"machine", required_argument, NULL, O_MACHINE},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct nap_sample_spec spec;
	const char *missing[SAMPLE_MAX_MISSING];
	const char *hsr_path = NULL;
	uint8_t digest[NAP_HSR_DIGEST_LEN];
	bool has_revision = false, has_digest = false;
	int64_t age = 0, generated = (int64_t)time(NULL);
	uint64_t v;
	uint8_t *soh = NULL;
	size_t soh_len = 0;
	struct utsname un;
	char *hex;
	int c, r;

	memset(&spec, 0, sizeof(spec));
	spec.compliant = true;
	spec.failure_category = NAP_FAILURE_NONE;
	spec.processor_arch = NAP_ARCH_X64;
	spec.missing = missing;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case O_SITE:
			if (!nap_site_valid(optarg))
				return ctl_usage_error(cmd, "bad site code '%s'", optarg);
			spec.site = optarg;
			break;
		case O_REVISION:
			if (parse_u64(optarg, &spec.revision) < 0)
				return ctl_usage_error(cmd, "bad revision '%s'", optarg);
			has_revision = true;
			break;
		case O_DIGEST:
			if (nap_hex_decode(optarg, strlen(optarg), digest, sizeof(digest), NULL) !=
			    (long)sizeof(digest))
				return ctl_usage_error(cmd, "--digest wants 64 hex digits");
			has_digest = true;
			break;
		case O_HSR:
			hsr_path = optarg;
			break;
		case O_COMPLIANT:
			if (strcmp(optarg, "yes") == 0)
				spec.compliant = true;
			else if (strcmp(optarg, "no") == 0)
				spec.compliant = false;
			else
				return ctl_usage_error(cmd, "--compliant wants yes or no");
			break;
		case O_AGE:
			if (nap_parse_duration(optarg, &age) < 0)
				return ctl_usage_error(cmd, "bad duration '%s'", optarg);
			break;
		case O_GENERATED:
			if (nap_parse_time(optarg, &generated) < 0)
				return ctl_usage_error(cmd, "bad time '%s' (RFC 3339 UTC)", optarg);
			break;
		case O_FAILURE: {
			size_t i;

			for (i = 0; i < NAP_ARRAY_SIZE(failures); i++)
				if (strcmp(optarg, failures[i].name) == 0)
					break;
			if (i == NAP_ARRAY_SIZE(failures))
				return ctl_usage_error(cmd, "unknown failure category '%s'",
						       optarg);
			spec.failure_category = failures[i].category;
			break;
		}
		case O_ERROR_CODE:
			if (parse_u64(optarg, &v) < 0 || v > UINT32_MAX)
				return ctl_usage_error(cmd, "bad error code '%s'", optarg);
			spec.error_code = (uint32_t)v;
			break;
		case O_MISSING:
			if (spec.n_missing >= SAMPLE_MAX_MISSING)
				return ctl_usage_error(cmd, "at most %d --missing ids",
						       SAMPLE_MAX_MISSING);
			if (*optarg == '\0' || strlen(optarg) > NAP_UPDATE_ID_MAX)
				return ctl_usage_error(cmd, "bad update id '%s'", optarg);
			missing[spec.n_missing++] = optarg;
			break;
		case O_WSH:
			spec.with_wsh = true;
			break;
		case O_MALFORMED:
			spec.malformed_nap_entry = true;
			break;
		case O_NO_NAP:
			spec.omit_nap_entry = true;
			break;
		case O_WRAP:
			spec.wrapped = true;
			break;
		case O_MACHINE:
			if (*optarg == '\0' || strlen(optarg) > 255)
				return ctl_usage_error(cmd, "bad machine name");
			spec.machine_name = optarg;
			break;
		case 'h':
			ctl_help(cmd);
			return 0;
		default:
			return ctl_usage_error(cmd, "bad option");
		}
	}
	if (optind != argc)
		return ctl_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
	if (spec.site == NULL)
		return ctl_usage_error(cmd, "--site is required");
	if (hsr_path != NULL && has_digest)
		return ctl_usage_error(cmd, "--digest and --hsr exclude each other");
	if (hsr_path == NULL && (!has_revision || !has_digest))
		return ctl_usage_error(cmd, "--revision and --digest (or --hsr) are required");
	if (hsr_path != NULL) {
		uint64_t rev = 0;

		if (load_hsr(hsr_path, spec.site, &rev, digest) != 0)
			return NAPCTL_EXIT_ERROR;
		if (!has_revision)
			spec.revision = rev;
	}
	if (spec.failure_category != NAP_FAILURE_NONE && spec.error_code == 0)
		spec.error_code = 0x80004005u; /* E_FAIL */
	spec.digest = digest;
	spec.generation_time = generated - age;
	spec.eval_time = spec.generation_time;
	if (uname(&un) == 0) {
		unsigned maj = 0, min = 0, patch = 0;

		if (sscanf(un.release, "%u.%u.%u", &maj, &min, &patch) >= 2) {
			spec.os_major = maj;
			spec.os_minor = min;
			spec.os_build = patch;
		}
	}

	if ((r = nap_sample_soh_build(&spec, &soh, &soh_len)) < 0)
		return ctl_error("soh sample: cannot build the SoH: %s", strerror(-r));
	if ((hex = malloc(2 * soh_len + 1)) == NULL) {
		free(soh);
		return ctl_error("soh sample: out of memory");
	}
	nap_hex_encode(soh, soh_len, hex);
	printf("%s\n", hex);
	free(hex);
	free(soh);
	return fflush(stdout) == 0 ? 0 : NAPCTL_EXIT_ERROR;
}
