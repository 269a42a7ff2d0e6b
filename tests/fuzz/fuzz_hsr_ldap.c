// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * libFuzzer harness for napvd's LDAP HSR source (untrusted input: what a directory returns):
 * the checks after a search (napvd_hsr_ldap_apply) over entries cut from the input, then the
 * set handed to the event loop. The source trusts the TEST-ONLY public key of tests/vectors/hsr,
 * so entries built from the signed samples get past the signature and reach the revision,
 * digest, rollback and conflict rules.
 *
 * Input: reads separated by 0x1d; within a read, entries separated by 0x1e; within an entry up
 * to four fields separated by 0x1f: napSiteCode, napHsrRevision, napHsrDocument, napHsrDigest.
 * A missing or empty field is an absent attribute; a field starting with 0x01 has two values.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nap/hsr.h"
#include "napvd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAX_ENTRIES 32

/* tests/vectors/hsr/TEST-ONLY-ed25519-public.pem */
static const char test_only_pub[] = "-----BEGIN PUBLIC KEY-----\n"
				    "MCowBQYDK2VwAyEA08Ewm/uh3gQZWyVEslRaijFAdDqznWx+0Slg8IWrqKQ=\n"
				    "-----END PUBLIC KEY-----\n";

static struct napvd_config *fuzz_conf;
static char fuzz_key[] = "/tmp/napvd-fuzz-key-XXXXXX";

static void
fuzz_cleanup(void)
{
	unlink(fuzz_key);
	napvd_config_free(fuzz_conf);
}

static void
fuzz_init(void)
{
	char text[512], err[256];
	int fd = mkstemp(fuzz_key);

	if (fd < 0 || write(fd, test_only_pub, strlen(test_only_pub)) < 0)
		abort();
	close(fd);
	snprintf(text, sizeof(text),
		 "[hsr]\nsource = ldap\nuri = ldap://127.0.0.1:1\nbase = dc=example,dc=org\n"
		 "trusted_keys = %s\nsites = S01 S02\n[client a]\naddress = ::1\nsecret = s\n",
		 fuzz_key);
	if (napvd_config_parse_string(text, "fuzz.conf", &fuzz_conf, err, sizeof(err)) < 0)
		abort();
	atexit(fuzz_cleanup);
	/* No saved copy: nothing touches the disk. */
	free(fuzz_conf->state_dir);
	fuzz_conf->state_dir = NULL;
}

/* Next piece of [*p, end) up to sep; advances *p past it. */
static const uint8_t *
fuzz_cut(const uint8_t **p, const uint8_t *end, uint8_t sep, size_t *len)
{
	const uint8_t *start = *p, *q = memchr(start, sep, (size_t)(end - start));

	if (q == NULL)
		q = end;
	*len = (size_t)(q - start);
	*p = q < end ? q + 1 : end;
	return start;
}

static void
fuzz_field(const uint8_t *f, size_t len, struct napvd_hsr_value *v, unsigned *n)
{
	*n = len > 0;
	if (len > 0 && f[0] == 0x01) {
		*n = 2;
		f++;
		len--;
	}
	v->p = (const char *)f;
	v->len = len;
}

static void
fuzz_read(void *src, const uint8_t *p, const uint8_t *end, int64_t now)
{
	struct napvd_hsr_entry e[FUZZ_MAX_ENTRIES];
	size_t n = 0;
	char err[256];

	while (p < end && n < FUZZ_MAX_ENTRIES) {
		size_t elen, flen;
		const uint8_t *ent = fuzz_cut(&p, end, 0x1e, &elen), *eend = ent + elen;
		struct napvd_hsr_value *vals[4] = {&e[n].site, &e[n].revision, &e[n].document,
						   &e[n].digest};
		unsigned *cnts[4] = {&e[n].n_site, &e[n].n_revision, &e[n].n_document,
				     &e[n].n_digest};

		memset(&e[n], 0, sizeof(e[n]));
		e[n].dn = "cn=fuzz";
		for (size_t i = 0; i < 4 && ent < eend; i++) {
			const uint8_t *f = fuzz_cut(&ent, eend, 0x1f, &flen);

			fuzz_field(f, flen, vals[i], cnts[i]);
		}
		n++;
	}
	if (napvd_hsr_ldap_apply(src, e, n, now, err, sizeof(err)) < 0 && err[0] == '\0')
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *p = data, *end = data + size;
	struct nap_hsr_set *set = NULL;
	int64_t now = 1795000000, read_at = 0;
	char err[256];
	void *src = NULL;
	int r;

	if (fuzz_conf == NULL)
		fuzz_init();
	if (napvd_hsr_ldap_ops.open(fuzz_conf, &src, err, sizeof(err)) < 0)
		abort();
	while (p < end) {
		size_t rlen;
		const uint8_t *rd = fuzz_cut(&p, end, 0x1d, &rlen);

		fuzz_read(src, rd, rd + rlen, now++);
		r = napvd_hsr_ldap_ops.refresh(src, &set, &read_at, err, sizeof(err));
		if (r < 0 || r > 2 || (r == 0) != (set != NULL))
			abort();
		if (set != NULL) {
			for (size_t i = 0; i < set->n; i++)
				if (nap_hsr_set_find(set, set->v[i].site) != &set->v[i] ||
				    (strcmp(set->v[i].site, "S01") != 0 &&
				     strcmp(set->v[i].site, "S02") != 0))
					abort(); /* only trusted sites, each once */
			nap_hsr_set_free(set);
			set = NULL;
		}
	}
	napvd_hsr_ldap_ops.close(src);
	return 0;
}
