/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Helpers for the SoH unit tests: load a vector file, parse inline hex. */
#ifndef NAP_TEST_SOH_UTIL_H
#define NAP_TEST_SOH_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "nap/util.h"

#define VEC_MAX 8192

/* Bytes of tests/vectors/soh/<name>.hex (header line skipped); fails the test if missing. */
static inline size_t
vec_load(const char *name, uint8_t *out)
{
	const char *dir = getenv("NAP_VECTORS");
	char path[1024];
	uint8_t *text;
	size_t text_len, bad;
	long n;

	assert_non_null(dir);
	snprintf(path, sizeof(path), "%s/soh/%s.hex", dir, name);
	assert_int_equal(nap_read_file(path, 1 << 20, &text, &text_len), 0);
	n = nap_hex_decode((const char *)text, text_len, out, VEC_MAX, &bad);
	free(text);
	assert_true(n > 0);
	return (size_t)n;
}

static inline size_t
hex(const char *s, uint8_t *out)
{
	size_t bad;
	long n = nap_hex_decode(s, strlen(s), out, VEC_MAX, &bad);

	assert_true(n >= 0);
	return (size_t)n;
}

#endif
