/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Package version comparison with the package managers' own semantics: dpkg through libdpkg
 * (parseversion + dpkg_version_compare: epochs, tildes, revisions, exactly as
 * "dpkg --compare-versions"), rpm through librpm (rpmverParse + rpmverCmp, which applies
 * rpmvercmp to the epoch, version and release, "~" and "^" included). Versions come from
 * signed policies and from the local package database; they are still checked, never trusted.
 *
 * Not part of libnap: it links libdpkg (and librpm when the build found it) and only napagentd
 * needs it (the nappkgver static library).
 */
#ifndef NAP_PKGVER_H
#define NAP_PKGVER_H

#include <stdbool.h>

#include "nap/hsr.h"

/*
 * Compare versions a and b in scheme's semantics: *result < 0, 0 or > 0 as a is older, equal
 * or newer than b. Returns 0, -EINVAL when a version does not parse in that scheme (dpkg's
 * warnings, such as a version not starting with a digit, are accepted as dpkg accepts them),
 * or -ENOTSUP when this build cannot compare in that scheme (rpm without librpm).
 */
int nap_pkgver_cmp(enum nap_version_scheme scheme, const char *a, const char *b, int *result);

/* Does this build (and this machine: librpm is loaded at run time) compare versions in scheme? */
bool nap_pkgver_supported(enum nap_version_scheme scheme);

/*
 * libdpkg keeps parsed versions in a pool that is only freed as a whole: call this after a
 * batch of comparisons (one evaluation) so a long-running process does not grow.
 */
void nap_pkgver_release(void);

/*
 * A symbol of librpm, which is loaded with dlopen() on first use; NULL when the build has no
 * librpm support or the machine no librpm. For the agent's rpm database reader.
 */
void *nap_pkgver_rpm_sym(const char *name);

#endif
