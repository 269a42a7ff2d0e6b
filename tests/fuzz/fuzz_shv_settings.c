// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * libFuzzer harness for the SHV point settings file and its status file (lib/site/shv.c). Both
 * come from an SMB share: whatever the bytes, a parse fails with at least one message and
 * leaves nothing behind, or gives settings that render, parse again to the same settings and
 * hand napvd only values in normal form. The first byte picks the settings or the status file.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nap/shv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
fuzz_each(const char *section, const char *key, const char *value, void *arg)
{
	(void)arg;
	if (strcmp(section, "hsr") != 0 && strcmp(section, "validation") != 0)
		abort();
	if (*key == '\0' || strlen(value) > NAP_SHV_LINE_MAX)
		abort();
	return 0;
}

static void
fuzz_status(const char *text, size_t len)
{
	struct nap_shv_status st, back;
	char why[256], *out;

	if (nap_shv_status_parse(text, len, &st, why, sizeof(why)) != 0)
		return;
	out = nap_shv_status_format(&st);
	if (out == NULL)
		return;
	if (nap_shv_status_parse(out, strlen(out), &back, why, sizeof(why)) != 0 ||
	    back.revision != st.revision || back.result != st.result ||
	    back.n_errors != st.n_errors)
		abort();
	free(out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nap_shv_settings s, t;
	struct nap_shv_errors errs;
	const char *text = (const char *)data + 1;
	char *out;
	size_t len;

	if (size < 1 || size > NAP_SHV_FILE_MAX + 2)
		return 0;
	if (data[0] & 1) {
		fuzz_status(text, size - 1);
		return 0;
	}
	nap_shv_settings_init(&s);
	nap_shv_settings_init(&t);
	if (nap_shv_settings_parse(text, size - 1, &s, &errs) != 0) {
		if (errs.n == 0)
			abort(); /* a refusal says why */
		for (size_t k = 0; k < NAP_SHV_KEY_COUNT; k++)
			if (s.value[k] != NULL)
				abort(); /* and leaves nothing behind */
		return 0;
	}
	if (nap_shv_settings_each(&s, fuzz_each, NULL) != 0)
		abort();
	if (nap_shv_settings_render(&s, "fuzz", s.revision, &out, &len) != 0)
		abort();
	if (nap_shv_settings_parse(out, len, &t, &errs) != 0 || !nap_shv_settings_equal(&s, &t) ||
	    t.revision != s.revision)
		abort();
	free(out);
	nap_shv_settings_clear(&s);
	nap_shv_settings_clear(&t);
	return 0;
}
