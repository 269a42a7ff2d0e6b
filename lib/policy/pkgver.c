// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * Package version comparison: dpkg semantics through libdpkg, rpm semantics through librpm when
 * the build found it. The versions come from signed policies and from the local package
 * database: they are checked (libdpkg's parser, a character rule for rpm) before comparing.
 * libdpkg is linked statically; its parser allocates from a pool that nap_pkgver_release()
 * frees as a whole. librpm is loaded with dlopen() on first use (only rpm machines need it, and
 * on a dpkg machine its dependencies would double the agent's resident memory).
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#define LIBDPKG_VOLATILE_API 1
#include <dpkg/dpkg-db.h>
#include <dpkg/error.h>
#include <dpkg/version.h>

#ifdef NAP_HAVE_LIBRPM
#include <dlfcn.h>
#include <rpm/rpmver.h>
#endif

#include "nap/pkgver.h"

/* Longest version either side accepts; longer ones are refused rather than parsed. */
#define PKGVER_MAX 255

static bool
pkgver_text_ok(const char *s)
{
	size_t n = strnlen(s, PKGVER_MAX + 1);

	if (n == 0 || n > PKGVER_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c <= 0x20 || c >= 0x7f)
			return false;
	}
	return true;
}

/*
 * parseversion() fills the version before it reports a warning (a version not starting with a
 * digit, an odd character): dpkg itself installs such packages and compares them, so a warning
 * is accepted here too; only errors refuse the version.
 */
static int
pkgver_dpkg_parse(const char *s, struct dpkg_version *v)
{
	struct dpkg_error err = DPKG_ERROR_INIT;
	int r;

	dpkg_version_blank(v);
	r = parseversion(v, s, &err);
	if (r < 0 && err.type != DPKG_MSG_WARN) {
		dpkg_error_destroy(&err);
		return -EINVAL;
	}
	dpkg_error_destroy(&err);
	return 0;
}

static int
pkgver_dpkg_cmp(const char *a, const char *b, int *result)
{
	struct dpkg_version va, vb;
	int c;

	if (pkgver_dpkg_parse(a, &va) < 0 || pkgver_dpkg_parse(b, &vb) < 0)
		return -EINVAL;
	c = dpkg_version_compare(&va, &vb);
	*result = c < 0 ? -1 : c > 0;
	return 0;
}

#ifdef NAP_HAVE_LIBRPM
/* The sonames the build's headers match (rpm 4.16+ has the rpmver API). */
static const char *const pkgver_librpm[] = {"librpm.so.9", "librpm.so.10", "librpm.so"};

void *
nap_pkgver_rpm_sym(const char *name)
{
	static void *h;
	static bool tried;

	if (!tried) {
		tried = true;
		for (size_t i = 0; h == NULL && i < sizeof(pkgver_librpm) / sizeof(pkgver_librpm[0]);
		     i++)
			h = dlopen(pkgver_librpm[i], RTLD_NOW | RTLD_LOCAL);
	}
	return h != NULL ? dlsym(h, name) : NULL;
}

static int
pkgver_rpm_cmp(const char *a, const char *b, int *result)
{
	rpmver (*parse)(const char *) = (rpmver(*)(const char *))nap_pkgver_rpm_sym("rpmverParse");
	int (*cmp)(rpmver, rpmver) = (int (*)(rpmver, rpmver))nap_pkgver_rpm_sym("rpmverCmp");
	rpmver (*vfree)(rpmver) = (rpmver(*)(rpmver))nap_pkgver_rpm_sym("rpmverFree");
	rpmver va, vb;
	int r = 0;

	if (parse == NULL || cmp == NULL || vfree == NULL)
		return -ENOTSUP;
	va = parse(a);
	vb = parse(b);
	if (va == NULL || vb == NULL) {
		r = -EINVAL;
	} else {
		int c = cmp(va, vb);

		*result = c < 0 ? -1 : c > 0;
	}
	vfree(va);
	vfree(vb);
	return r;
}
#else
void *
nap_pkgver_rpm_sym(const char *name)
{
	(void)name;
	return NULL;
}
#endif

bool
nap_pkgver_supported(enum nap_version_scheme scheme)
{
	switch (scheme) {
	case NAP_SCHEME_DPKG:
		return true;
	case NAP_SCHEME_RPM:
		return nap_pkgver_rpm_sym("rpmverCmp") != NULL;
	}
	return false;
}

int
nap_pkgver_cmp(enum nap_version_scheme scheme, const char *a, const char *b, int *result)
{
	*result = 0;
	if (!nap_pkgver_supported(scheme))
		return -ENOTSUP;
	if (a == NULL || b == NULL || !pkgver_text_ok(a) || !pkgver_text_ok(b))
		return -EINVAL;
	switch (scheme) {
	case NAP_SCHEME_DPKG:
		return pkgver_dpkg_cmp(a, b, result);
	case NAP_SCHEME_RPM:
#ifdef NAP_HAVE_LIBRPM
		return pkgver_rpm_cmp(a, b, result);
#else
		break;
#endif
	}
	return -ENOTSUP;
}

void
nap_pkgver_release(void)
{
	nffreeall();
}
