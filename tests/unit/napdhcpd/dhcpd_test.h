/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Helpers shared by napdhcpd's unit tests (not the NAP side's): configurations from strings,
 * throwaway state directories. */
#ifndef DHCPD_TEST_H
#define DHCPD_TEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "napdhcpd.h"

static inline struct dhcpd_config *
test_config(const char *text)
{
	struct dhcpd_config *c = NULL;
	char err[512];
	int r = dhcpd_config_parse_string(text, "test.conf", &c, err, sizeof(err));

	if (r < 0) {
		fprintf(stderr, "config: %s\n", err);
		return NULL;
	}
	return c;
}

static inline char *
test_tmpdir(void)
{
	char tmpl[] = "/tmp/napdhcpd-unit.XXXXXX";
	char *d = mkdtemp(tmpl);

	return d != NULL ? strdup(d) : NULL;
}

static inline void
test_rmdir(char *dir)
{
	char cmd[512];

	if (dir == NULL)
		return;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	free(dir);
}

static inline uint32_t
test_ip(const char *s)
{
	unsigned a, b, c, d;

	if (sscanf(s, "%u.%u.%u.%u", &a, &b, &c, &d) != 4)
		return 0;
	return a << 24 | b << 16 | c << 8 | d;
}

#endif
