/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Policy import files (napctl policy import): a list of NAP policies in JSON or CSV, as an
 * advisory feed or an administrator writes it, parsed into struct nap_policy (store.h) before
 * anything is stored. Untrusted input: every limit is a named constant, every error names the
 * line (CSV) or index (JSON) and the member, and nothing is returned when one entry is bad.
 *
 * JSON: an array of policy objects, or an object {"policies": [...]} (the output of
 * `napctl policy list --json` imports as it is). Policy members are the HSR's (doc/hsr.md): id,
 * package + min_version, scheme, requires (array of {package, min_version, scheme}), severity,
 * effective ("asap", RFC 3339 UTC or YYYY-MM-DD; default asap), reason. "created"/"updated" and
 * "x-" members are ignored; any other member is an error.
 *
 * CSV (RFC 4180): a header line naming the columns, any order: id and severity required;
 * package, min_version, scheme, effective, reason optional ("x-" columns ignored). Several rows
 * with the same id and different packages make one advisory policy with several requirements;
 * its severity, effective and reason must agree between the rows (an empty cell agrees with
 * anything).
 */
#ifndef NAP_POLICY_IMPORT_H
#define NAP_POLICY_IMPORT_H

#include <stddef.h>
#include <stdint.h>

#include "nap/store.h"

#define NAP_POLICY_IMPORT_MAX_LEN      (10 * 1024 * 1024) /* one import file */
#define NAP_POLICY_IMPORT_MAX_POLICIES NAP_HSR_MAX_POLICIES
#define NAP_POLICY_IMPORT_MAX_FIELD    4096 /* one CSV cell, bytes */
#define NAP_POLICY_IMPORT_MAX_COLUMNS  64

enum nap_policy_import_format {
	NAP_POLICY_IMPORT_JSON,
	NAP_POLICY_IMPORT_CSV,
};

/*
 * Parse an import file. Returns 0 with *out (an array of *n policies, in file order; free with
 * nap_policy_import_free) or a negative errno with err filled: -EINVAL bad input, -EMSGSIZE over
 * a limit, -ENOMEM. Every policy returned has passed nap_policy_check().
 */
int nap_policy_import_parse(const uint8_t *buf, size_t len, enum nap_policy_import_format format,
			    struct nap_policy **out, size_t *n, struct nap_store_err *err);
void nap_policy_import_free(struct nap_policy *v, size_t n);

/* JSON when the first byte after blanks (and a UTF-8 BOM) is '[' or '{', CSV otherwise. */
enum nap_policy_import_format nap_policy_import_guess(const uint8_t *buf, size_t len);

/*
 * A time as napctl and the import files write it: RFC 3339 UTC "YYYY-MM-DDTHH:MM:SSZ" or a date
 * "YYYY-MM-DD" meaning 00:00 UTC. Strict: the time must exist (no February 30, no leap second)
 * and not precede 1970. 0 or -EINVAL. ("asap" for an effective time is the caller's: 0.)
 */
int nap_policy_time_parse(const char *s, int64_t *unix_seconds);
/* "dpkg" or "rpm"; 0 or -EINVAL. */
int nap_policy_scheme_parse(const char *s, enum nap_version_scheme *out);

#endif
