// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * libFuzzer harness for napagentd's dpkg status parser (agent_pkgdb_parse_dpkg). Input: a
 * status file, untrusted bytes. A parsed database must be consistent: every package is found
 * again by name through the index, with a non-empty name and version.
 */
#include <stdlib.h>
#include <string.h>

#include "agent.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct agent_pkgdb db;
	char err[256];

	if (agent_pkgdb_parse_dpkg((const char *)data, size, &db, err, sizeof(err)) != 0) {
		if (db.pkgs != NULL || db.pool != NULL || err[0] == '\0')
			abort();
		return 0;
	}
	for (size_t i = 0; i < db.n; i++) {
		const char *name = agent_pkgdb_str(&db, db.pkgs[i].name);
		const struct agent_pkg *p;
		bool found = false;

		if (name[0] == '\0' || agent_pkgdb_str(&db, db.pkgs[i].version)[0] == '\0')
			abort();
		for (p = agent_pkgdb_find(&db, name); p != NULL; p = agent_pkgdb_next(&db, p, name))
			found |= p == &db.pkgs[i];
		if (!found)
			abort();
	}
	agent_pkgdb_free(&db);
	return 0;
}
