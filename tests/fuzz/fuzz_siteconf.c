// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * libFuzzer harness for napsited.conf (lib/site/siteconf.c). The file is trusted, but it is text
 * people type and napctl reads it too: whatever the bytes, parsing must fail cleanly or give a
 * configuration that prints, names its entry DN, and parses again to the same printout.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nap/siteconf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *
fuzz_print(const struct nap_siteconf *c)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (f == NULL)
		abort();
	nap_siteconf_print(c, f);
	fclose(f);
	return buf;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nap_siteconf *c = NULL, *c2 = NULL;
	char err[512], dn[1024];
	char *text, *p1, *p2;

	if (size > 64 * 1024)
		return 0;
	text = malloc(size + 1);
	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (nap_siteconf_parse_string(text, "fuzz.conf", &c, err, sizeof(err)) != 0) {
		if (c != NULL || err[0] == '\0')
			abort(); /* a failure leaves nothing behind and says why */
		free(text);
		return 0;
	}
	if (c->has_directory && nap_siteconf_hsr_dn(c, c->site, dn, sizeof(dn)) != 0)
		abort(); /* the parser checked that the DN fits */
	{
		FILE *null = fopen("/dev/null", "w");

		if (null != NULL) {
			nap_siteconf_warnings(c, null);
			fclose(null);
		}
	}
	/* The printout must parse to the same configuration. */
	p1 = fuzz_print(c);
	if (nap_siteconf_parse_string(p1, "fuzz.conf", &c2, err, sizeof(err)) != 0)
		abort();
	p2 = fuzz_print(c2);
	if (strcmp(p1, p2) != 0)
		abort();
	free(p1);
	free(p2);
	nap_siteconf_free(c);
	nap_siteconf_free(c2);
	free(text);
	return 0;
}
