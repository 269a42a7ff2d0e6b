/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Health state reference (HSR): per site, a monotonically increasing revision, the SHA-256
 * digest of the canonical policy set in force, the policies themselves and an Ed25519 signature
 * by the site key. The same JSON document is the lab file that napvd's file source reads and the
 * value napsited publishes to LDAP. Format: doc/hsr.md. Handles untrusted input (files,
 * directory values).
 *
 * Canonical form: JSON with sorted keys and no whitespace (jansson JSON_COMPACT|JSON_SORT_KEYS),
 * every array that is a set sorted: policies by id, a policy's "requires" by (package, scheme),
 * exemptions by id, an exemption's "policies", groups by name, a group's "members".
 * digest    = SHA-256 over the canonical form of the "policies" array, sorted by policy id;
 *             when the HSR has "checks", over the canonical form of the object
 *             {"checks":[...],"policies":[...]} instead (checks sorted by id).
 * signature = Ed25519 over the canonical form of the whole object without its "signature" member
 *             (so exemptions and groups are signed, but only the policies change the digest).
 */
#ifndef NAP_HSR_H
#define NAP_HSR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nap/error.h"
#include "nap/health.h"

#define NAP_HSR_MAX_LEN      (3 * 1024 * 1024) /* one HSR document: 10,000 policies fit */
#define NAP_HSR_MAX_POLICIES 10000
#define NAP_HSR_MAX_SITES    256
#define NAP_KEY_ID_LEN       16 /* hex chars: first 8 bytes of SHA-256 of the raw public key */
#define NAP_HSR_VERSION      1    /* the "version" member this code reads and writes */
#define NAP_HSR_MAX_FIELD    255  /* package, min_version */
#define NAP_HSR_MAX_REASON   1024 /* policy reason text, bytes */
#define NAP_KEYRING_MAX      64   /* trusted public keys */
#define NAP_HSR_MAX_REQS     256   /* packages in one policy's "requires" */
#define NAP_HSR_MAX_EXEMPTIONS 10000
#define NAP_HSR_MAX_EXEMPTION_POLICIES 256
#define NAP_HSR_MAX_GROUPS   10000
#define NAP_HSR_MAX_MEMBERS  10000 /* members of one group */
#define NAP_HSR_MAX_CLIENT   255   /* machine name or glob */
#define NAP_HSR_MAX_GROUP_NAME 63
#define NAP_HSR_MAX_CHECKS   256   /* checks in one HSR */
#define NAP_HSR_MAX_ARGV     32    /* entries of a command check's argv */
#define NAP_HSR_MAX_PATH     4096  /* file check path, argv entries (bytes) */
#define NAP_HSR_MAX_UNIT     255   /* systemd unit name */

enum nap_version_scheme { NAP_SCHEME_DPKG, NAP_SCHEME_RPM };

/* One required package: installed version >= min_version in scheme's semantics. */
struct nap_hsr_req {
	char *package;
	char *min_version;
	enum nap_version_scheme scheme;
};

struct nap_hsr_policy {
	char *id;          /* unique within the site */
	/* The single form ("package"/"min_version"); NULL for "requires" and advisory-only. */
	char *package;     /* package name */
	char *min_version; /* minimum version in scheme's semantics */
	enum nap_version_scheme scheme;
	char *severity;    /* "critical", "important", "moderate", "low" */
	int64_t effective; /* Unix seconds; 0 = as soon as possible */
	char *reason;      /* free text, may be NULL */
	/*
	 * Every requirement in both forms: the single form gives one, "requires" 1..256 (sorted by
	 * package, then scheme), an advisory-only policy none.
	 */
	struct nap_hsr_req *reqs;
	size_t n_reqs;
};

/*
 * An exemption: the client (machine name or glob) or the members of a group count as compliant
 * while now is in [from, until), for every policy or only for the listed ones.
 */
struct nap_hsr_exemption {
	char *id;        /* unique within the site, policy id charset */
	char *client;    /* machine name or glob (case-insensitive), or NULL */
	char *group;     /* group name, or NULL; exactly one of client / group */
	char **policies; /* policy ids covered, sorted (byte order); n_policies == 0: all */
	size_t n_policies;
	int64_t from;    /* Unix seconds; 0 = no start */
	int64_t until;   /* Unix seconds, exclusive; 0 = no end */
	char *reason;    /* free text, may be NULL */
	/* The parser's lookup of group in the document's groups; NULL: look it up by name. */
	const struct nap_hsr_group *grp;
};

struct nap_hsr_group {
	char *name;     /* [A-Za-z0-9._-]{1,63} */
	char **members; /* machine names or globs, sorted (byte order), unique */
	size_t n_members;
};

/*
 * Checks (doc/hsr.md "checks"): host state the agent's collectors verify besides packages. Check
 * ids share the policy id namespace (a check id never equals a policy id of the same HSR) and
 * travel in the SoH's CHECK items (health.h).
 */
enum nap_check_type {
	NAP_CHECK_TYPE_FIREWALL = 0,  /* "firewall": host firewall active, input policy drop */
	NAP_CHECK_TYPE_AUTO_UPDATES,  /* "auto_updates": automatic security updates enabled */
	NAP_CHECK_TYPE_ANTIVIRUS,     /* "antivirus": AV present, signatures younger than max_age */
	NAP_CHECK_TYPE_REBOOT,        /* "reboot": no reboot pending */
	NAP_CHECK_TYPE_FILE,          /* "file": file exists (and has the sha256 when given) */
	NAP_CHECK_TYPE_SERVICE,       /* "service": systemd unit active */
	NAP_CHECK_TYPE_COMMAND,       /* "command": argv exits with expect_exit */
	NAP_CHECK_TYPE_COUNT
};

struct nap_hsr_check {
	char *id;                 /* policy id charset, unique among policies and checks */
	enum nap_check_type type;
	char *severity;           /* as for policies */
	int64_t effective;        /* Unix seconds; 0 = as soon as possible */
	char *reason;             /* free text, may be NULL */
	/* Type parameters; absent ones are 0 / NULL. */
	int64_t max_age;          /* antivirus: maximum signature age in seconds (> 0); 0 = absent */
	char *path;               /* file: absolute path */
	char *sha256;             /* file: optional, 64 lowercase hex digits */
	char *unit;               /* service: systemd unit name */
	char **argv;              /* command: 1..NAP_HSR_MAX_ARGV entries, argv[0] absolute */
	size_t n_argv;
	int expect_exit;          /* command: expected exit status 0..255 (default 0) */
};

struct nap_hsr {
	char site[NAP_SITE_MAX + 1];
	uint64_t revision;
	int64_t issued; /* Unix seconds */
	uint8_t digest[NAP_HSR_DIGEST_LEN];
	size_t n_policies;
	struct nap_hsr_policy *policies;
	char key_id[NAP_KEY_ID_LEN + 1]; /* key that signed it; "" when unsigned */
	size_t n_exemptions;
	struct nap_hsr_exemption *exemptions; /* sorted by id */
	size_t n_groups;
	struct nap_hsr_group *groups; /* sorted by name (nap_hsr_exempt looks them up) */
	size_t n_checks;
	struct nap_hsr_check *checks; /* sorted by id */
};

struct nap_hsr_set {
	size_t n;
	struct nap_hsr *v;
};

/* Ed25519 public keys napvd trusts, loaded from PEM files. */
struct nap_keyring;
int nap_keyring_new(struct nap_keyring **out);
/* Add every public key found in a PEM file (one or more "PUBLIC KEY" blocks). */
int nap_keyring_add_file(struct nap_keyring *kr, const char *path);
/* Same from PEM text in memory. -ENOENT when it holds no key, -ENOTSUP for a non-Ed25519 key. */
int nap_keyring_add_pem(struct nap_keyring *kr, const uint8_t *pem, size_t len);
size_t nap_keyring_count(const struct nap_keyring *kr);
void nap_keyring_free(struct nap_keyring *kr);

/*
 * Parse a document holding one HSR object or an array of them (at most one per site), check
 * the digest against the policies and the signature against the keyring (kr == NULL skips the
 * signature check: labs only, never napvd). Returns 0 or a negative errno with err filled
 * (-EBADMSG malformed, -EPERM bad signature or unknown key, -EMSGSIZE over a limit).
 */
int nap_hsr_set_parse(const uint8_t *text, size_t len, const struct nap_keyring *kr,
		      struct nap_hsr_set **out, struct nap_err *err);
void nap_hsr_set_free(struct nap_hsr_set *set);
const struct nap_hsr *nap_hsr_set_find(const struct nap_hsr_set *set, const char *site);

/*
 * Does a machine name match a pattern? fnmatch(3) syntax without path rules ("*", "?",
 * "[a-z]", "[!a-z]", backslash escapes), ASCII case-insensitive (ranges too); it backtracks to
 * the last "*" only, so hostile names cannot make it take exponential time.
 */
bool nap_hsr_name_match(const char *pattern, const char *name);

/*
 * The field rules of doc/hsr.md, one copy for every producer and consumer (the parser, the
 * store's checks, napctl). NULL is never valid.
 */
bool nap_hsr_id_valid(const char *s);         /* policy and exemption ids */
bool nap_hsr_client_valid(const char *s);     /* machine names and globs */
bool nap_hsr_group_name_valid(const char *s);
bool nap_hsr_field_valid(const char *s);      /* package, min_version */
bool nap_hsr_severity_valid(const char *s);
const char *nap_hsr_scheme_name(enum nap_version_scheme scheme); /* NULL when unknown */
/* Check types by name ("firewall", "auto_updates", ...); NULL / -EINVAL when unknown. */
const char *nap_check_type_name(enum nap_check_type type);
int nap_check_type_from_name(const char *s, enum nap_check_type *out);
bool nap_hsr_path_valid(const char *s);   /* absolute path, printable, no "..", no "//" */
bool nap_hsr_unit_valid(const char *s);   /* systemd unit name "name.suffix" */
bool nap_hsr_sha256_valid(const char *s); /* 64 lowercase hex digits */
/* A check by id (binary search), or NULL. */
const struct nap_hsr_check *nap_hsr_find_check(const struct nap_hsr *hsr, const char *id);

/*
 * Is the client exempt at time now? An exemption applies when its client pattern matches the
 * client's name, or one of its group's member patterns does, and from <= now < until. One that
 * applies and names no policies exempts the client outright; otherwise the client is exempt only
 * when every missing id is covered by the policies of the exemptions that apply (their union),
 * so nothing is exempted when n_missing is 0. *exemption_id (may be NULL) gets the id of the
 * first exemption that counted (pointing into hsr), or NULL.
 */
bool nap_hsr_exempt(const struct nap_hsr *hsr, const char *client,
		    const char (*missing)[NAP_UPDATE_ID_MAX + 1], size_t n_missing, int64_t now,
		    const char **exemption_id);

/*
 * Producer side (napctl, napsited, tests): take an unsigned HSR document (site, revision,
 * issued, policies, optional exemptions and groups), check it as the parser does, compute the
 * digest, sign with the Ed25519 private key in key_pem_path and return the signed canonical
 * JSON (malloc'ed, NUL-terminated).
 */
int nap_hsr_sign(const uint8_t *text, size_t len, const char *key_pem_path, char **out,
		 struct nap_err *err);
/* Generate an Ed25519 key pair as PEM files (private 0600). */
int nap_key_generate(const char *priv_path, const char *pub_path);
/* Key id (NAP_KEY_ID_LEN lowercase hex + NUL) of the first public key in a PEM file. */
int nap_key_id_file(const char *pub_path, char id[NAP_KEY_ID_LEN + 1]);

#endif
