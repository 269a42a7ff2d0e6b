// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * The HSR "checks" member (doc/hsr.md): the signed vector, the sign round trip, the digest rule
 * (policies only without checks, {"checks","policies"} with them; the expected values were
 * computed independently with Python's json module), tampering, the strict per-type rules and
 * the limits.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "nap/hsr.h"
#include "nap/util.h"

#define V(name) NAP_HSR_VECTORS "/" name

/* SHA-256 of {"checks":[...],"policies":[...]} of checks-unsigned.json (Python, sort_keys). */
#define CHECKS_DIGEST   "ea72e02aed51db883072e4633bdcd260e58dbe33789904564addf6d07a6bcc62"
/* The policies of S01-unsigned.json alone: what S01-signed.json carries. */
#define POLICIES_DIGEST "27fe77dc7d2d7b745c59c49d635d655ec115a361ef300367267282d22988cf52"

static char *
slurp(const char *path)
{
	uint8_t *buf;
	size_t n;

	assert_int_equal(nap_read_file(path, NAP_HSR_MAX_LEN, &buf, &n), 0);
	while (n > 0 && buf[n - 1] == '\n')
		buf[--n] = '\0';
	return (char *)buf;
}

static struct nap_keyring *
keyring(void)
{
	struct nap_keyring *kr;

	assert_int_equal(nap_keyring_new(&kr), 0);
	assert_int_equal(nap_keyring_add_file(kr, V("TEST-ONLY-ed25519-public.pem")), 0);
	return kr;
}

static int
parse_str(const char *s, const struct nap_keyring *kr, struct nap_hsr_set **set,
	  struct nap_err *err)
{
	return nap_hsr_set_parse((const uint8_t *)s, strlen(s), kr, set, err);
}

static int
sign_str(const char *s, char **out, struct nap_err *err)
{
	return nap_hsr_sign((const uint8_t *)s, strlen(s), V("TEST-ONLY-ed25519-private.pem"), out,
			    err);
}

static void
digest_hex(const struct nap_hsr *h, char hex[65])
{
	nap_hex_encode(h->digest, sizeof(h->digest), hex);
}

static void
test_vector(void **state)
{
	struct nap_keyring *kr = keyring();
	char *text = slurp(V("checks-signed.json"));
	struct nap_hsr_set *set;
	struct nap_err err = {0};
	const struct nap_hsr *h;
	const struct nap_hsr_check *c;
	char hex[65];

	(void)state;
	if (parse_str(text, kr, &set, &err) != 0)
		fail_msg("parse: %s", err.what);
	h = &set->v[0];
	assert_int_equal(h->revision, 44);
	digest_hex(h, hex);
	assert_string_equal(hex, CHECKS_DIGEST);
	assert_int_equal(h->n_policies, 4);
	assert_int_equal(h->n_checks, 7);
	/* Sorted by id (byte order). */
	assert_string_equal(h->checks[0].id, "CHK-AGENT-CONF");
	assert_string_equal(h->checks[1].id, "CHK-AIDE");
	assert_string_equal(h->checks[2].id, "CHK-AUTOUPD");
	assert_string_equal(h->checks[3].id, "CHK-AV");
	assert_string_equal(h->checks[4].id, "CHK-FIREWALL");
	assert_string_equal(h->checks[5].id, "CHK-REBOOT");
	assert_string_equal(h->checks[6].id, "CHK-SSHD");

	c = &h->checks[0];
	assert_int_equal(c->type, NAP_CHECK_TYPE_FILE);
	assert_string_equal(c->path, "/etc/nap/napagentd.conf");
	assert_string_equal(c->sha256,
			    "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08");
	assert_string_equal(c->severity, "moderate");
	assert_int_equal(c->effective, 0);
	assert_null(c->reason);
	assert_null(c->unit);
	assert_int_equal(c->n_argv, 0);
	c = &h->checks[1];
	assert_int_equal(c->type, NAP_CHECK_TYPE_COMMAND);
	assert_int_equal(c->n_argv, 3);
	/* argv keeps its order: it is a command line, not a set. */
	assert_string_equal(c->argv[0], "/usr/bin/aide");
	assert_string_equal(c->argv[1], "--check");
	assert_string_equal(c->argv[2], "--config=/etc/aide/aide.conf");
	assert_int_equal(c->expect_exit, 0);
	c = &h->checks[3];
	assert_int_equal(c->type, NAP_CHECK_TYPE_ANTIVIRUS);
	assert_int_equal(c->max_age, 604800);
	assert_int_equal(c->effective, 1796083200); /* 2026-12-01T00:00:00Z */
	assert_string_equal(c->reason, "ClamAV signatures at most 7 days old");
	assert_int_equal(h->checks[2].type, NAP_CHECK_TYPE_AUTO_UPDATES);
	assert_int_equal(h->checks[4].type, NAP_CHECK_TYPE_FIREWALL);
	assert_int_equal(h->checks[5].type, NAP_CHECK_TYPE_REBOOT);
	assert_int_equal(h->checks[6].type, NAP_CHECK_TYPE_SERVICE);
	assert_string_equal(h->checks[6].unit, "ssh.service");

	assert_ptr_equal(nap_hsr_find_check(h, "CHK-AV"), &h->checks[3]);
	assert_ptr_equal(nap_hsr_find_check(h, "CHK-SSHD"), &h->checks[6]);
	assert_null(nap_hsr_find_check(h, "DSA-5001-1"));
	assert_null(nap_hsr_find_check(h, "CHK"));
	assert_null(nap_hsr_find_check(NULL, "CHK-AV"));
	nap_hsr_set_free(set);
	free(text);
	nap_keyring_free(kr);
}

static void
test_sign_round_trip(void **state)
{
	char *in = slurp(V("checks-unsigned.json")), *golden = slurp(V("checks-signed.json"));
	struct nap_err err = {0};
	char *out = NULL, *again = NULL;

	(void)state;
	assert_int_equal(sign_str(in, &out, &err), 0);
	assert_string_equal(out, golden);
	assert_int_equal(sign_str(out, &again, &err), 0);
	assert_string_equal(again, golden);
	free(in);
	free(golden);
	free(out);
	free(again);
}

/* Sign a document built from checks-unsigned.json after edit() and return its digest. */
static void
signed_digest(void (*edit)(json_t *), char hex[65])
{
	json_t *j = json_load_file(V("checks-unsigned.json"), JSON_REJECT_DUPLICATES, NULL);
	struct nap_hsr_set *set;
	struct nap_err err = {0};
	char *text, *out = NULL;

	assert_non_null(j);
	edit(j);
	text = json_dumps(j, JSON_COMPACT);
	if (sign_str(text, &out, &err) != 0)
		fail_msg("sign: %s", err.what);
	assert_int_equal(parse_str(out, NULL, &set, &err), 0);
	digest_hex(&set->v[0], hex);
	nap_hsr_set_free(set);
	free(out);
	free(text);
	json_decref(j);
}

static void
edit_none(json_t *j)
{
	(void)j;
}

static void
edit_drop_checks(json_t *j)
{
	json_object_del(j, "checks");
}

static void
edit_empty_checks(json_t *j)
{
	json_object_set_new(j, "checks", json_array());
}

static void
edit_reverse_checks(json_t *j)
{
	json_t *arr = json_object_get(j, "checks"), *rev = json_array();

	for (size_t i = json_array_size(arr); i > 0; i--)
		json_array_append(rev, json_array_get(arr, i - 1));
	json_object_set_new(j, "checks", rev);
}

static void
edit_max_age(json_t *j)
{
	json_t *arr = json_object_get(j, "checks"), *v;
	size_t i;

	json_array_foreach(arr, i, v)
	{
		if (strcmp(json_string_value(json_object_get(v, "id")), "CHK-AV") == 0)
			json_object_set_new(v, "max_age", json_integer(86400));
	}
}

static void
edit_revision_exemption(json_t *j)
{
	json_object_set_new(j, "revision", json_integer(45));
	json_object_set_new(j, "exemptions",
			    json_pack("[{s:s, s:s, s:[s]}]", "id", "EX-1", "client", "pc-*",
				      "policies", "CHK-AV"));
}

static void
test_digest_rule(void **state)
{
	char hex[65];

	(void)state;
	signed_digest(edit_none, hex);
	assert_string_equal(hex, CHECKS_DIGEST);
	/* Without checks (absent or empty) the digest is the policies' digest, as it always was. */
	signed_digest(edit_drop_checks, hex);
	assert_string_equal(hex, POLICIES_DIGEST);
	signed_digest(edit_empty_checks, hex);
	assert_string_equal(hex, POLICIES_DIGEST);
	/* The order of the input does not matter; a changed parameter does. */
	signed_digest(edit_reverse_checks, hex);
	assert_string_equal(hex, CHECKS_DIGEST);
	signed_digest(edit_max_age, hex);
	assert_string_not_equal(hex, CHECKS_DIGEST);
	assert_string_not_equal(hex, POLICIES_DIGEST);
	/* Revision and exemptions (which may name check ids) stay out of the digest. */
	signed_digest(edit_revision_exemption, hex);
	assert_string_equal(hex, CHECKS_DIGEST);
}

/* Replace one occurrence of from with to in the signed vector and parse it. */
static void
tamper(const char *from, const char *to, const struct nap_keyring *kr, int code, const char *what)
{
	char *text = slurp(V("checks-signed.json")), *p = strstr(text, from), *t;
	struct nap_hsr_set *set = NULL;
	struct nap_err err = {0};
	size_t n;

	assert_non_null(p);
	n = strlen(text) - strlen(from) + strlen(to) + 1;
	t = malloc(n);
	assert_non_null(t);
	snprintf(t, n, "%.*s%s%s", (int)(p - text), text, to, p + strlen(from));
	if (parse_str(t, kr, &set, &err) != code)
		fail_msg("tamper %s -> %s: %s", from, to, err.what ? err.what : "accepted");
	assert_null(set);
	if (what != NULL)
		assert_string_equal(err.what, what);
	free(t);
	free(text);
}

static void
test_tampering(void **state)
{
	struct nap_keyring *kr = keyring();

	(void)state;
	/* Check parameters are covered by the digest ... */
	tamper("\"max_age\":604800", "\"max_age\":604801", NULL, -EBADMSG,
	       "digest: does not match the policies");
	tamper("\"--check\"", "\"--update\"", NULL, -EBADMSG, "digest: does not match the policies");
	tamper("\"unit\":\"ssh.service\"", "\"unit\":\"sshd.service\"", NULL, -EBADMSG,
	       "digest: does not match the policies");
	/* x- members inside a check count as for policies; the rest is signed. */
	tamper("\"x-owner\":\"secops\"", "\"x-owner\":\"ops\"", kr, -EBADMSG,
	       "digest: does not match the policies");
	tamper("\"revision\":44", "\"revision\":45", kr, -EPERM, "signature: does not verify");
	nap_keyring_free(kr);
}

struct strict_case {
	const char *check; /* one check object */
	int code;
	const char *what;  /* error text prefix */
};

static const struct strict_case strict_cases[] = {
	{"{\"id\":\"C1\",\"type\":\"firewall\",\"severity\":\"low\",\"effective\":\"asap\"}", 0,
	 NULL},
	{"{\"id\":\"C1\",\"type\":\"firewall\",\"severity\":\"low\",\"effective\":\"asap\","
	 "\"x-note\":{\"a\":[1,2]}}",
	 0, NULL},
	{"{\"id\":\"C1\",\"type\":\"firewal\",\"severity\":\"low\",\"effective\":\"asap\"}",
	 -EBADMSG, "checks[].type: unknown check type"},
	{"{\"id\":\"C1\",\"type\":1,\"severity\":\"low\",\"effective\":\"asap\"}", -EBADMSG,
	 "checks[].type: missing or not a string"},
	{"{\"id\":\"C1\",\"severity\":\"low\",\"effective\":\"asap\"}", -EBADMSG,
	 "checks[].type: missing"},
	{"{\"type\":\"reboot\",\"severity\":\"low\",\"effective\":\"asap\"}", -EBADMSG,
	 "checks[].id: missing"},
	{"{\"id\":\"C 1\",\"type\":\"reboot\",\"severity\":\"low\",\"effective\":\"asap\"}",
	 -EBADMSG, "checks[].id: bad characters"},
	{"{\"id\":\"C1\",\"type\":\"reboot\",\"severity\":\"urgent\",\"effective\":\"asap\"}",
	 -EBADMSG, "checks[].severity: unknown"},
	{"{\"id\":\"C1\",\"type\":\"reboot\",\"effective\":\"asap\"}", -EBADMSG,
	 "checks[].severity: missing"},
	{"{\"id\":\"C1\",\"type\":\"reboot\",\"severity\":\"low\"}", -EBADMSG,
	 "checks[].effective: missing"},
	{"{\"id\":\"C1\",\"type\":\"reboot\",\"severity\":\"low\",\"effective\":\"2026-12-01\"}",
	 -EBADMSG, "checks[].effective: not RFC 3339"},
	{"{\"id\":\"C1\",\"type\":\"reboot\",\"severity\":\"low\",\"effective\":\"asap\","
	 "\"reason\":7}",
	 -EBADMSG, "checks[].reason: not a string"},
	{"{\"id\":\"C1\",\"type\":\"reboot\",\"severity\":\"low\",\"effective\":\"asap\","
	 "\"color\":\"red\"}",
	 -EBADMSG, "checks[]: unknown member"},
	{"[]", -EBADMSG, "checks[]: not an object"},
	/* Parameters a type does not take, or lacks. */
	{"{\"id\":\"C1\",\"type\":\"firewall\",\"severity\":\"low\",\"effective\":\"asap\","
	 "\"path\":\"/etc/x\"}",
	 -EBADMSG, "checks[]: a parameter this check type does not take"},
	{"{\"id\":\"C1\",\"type\":\"file\",\"severity\":\"low\",\"effective\":\"asap\","
	 "\"path\":\"/etc/x\",\"exit\":0}",
	 -EBADMSG, "checks[]: a parameter this check type does not take"},
	{"{\"id\":\"C1\",\"type\":\"antivirus\",\"severity\":\"low\",\"effective\":\"asap\"}",
	 -EBADMSG, "checks[]: a required parameter"},
	{"{\"id\":\"C1\",\"type\":\"file\",\"severity\":\"low\",\"effective\":\"asap\","
	 "\"sha256\":\"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\"}",
	 -EBADMSG, "checks[]: a required parameter"},
	{"{\"id\":\"C1\",\"type\":\"service\",\"severity\":\"low\",\"effective\":\"asap\"}",
	 -EBADMSG, "checks[]: a required parameter"},
	{"{\"id\":\"C1\",\"type\":\"command\",\"severity\":\"low\",\"effective\":\"asap\","
	 "\"exit\":1}",
	 -EBADMSG, "checks[]: a required parameter"},
	/* max_age */
	{"{\"id\":\"C1\",\"type\":\"antivirus\",\"severity\":\"low\",\"effective\":\"asap\","
	 "\"max_age\":0}",
	 -EBADMSG, "checks[].max_age: not a positive integer"},
	{"{\"id\":\"C1\",\"type\":\"antivirus\",\"severity\":\"low\",\"effective\":\"asap\","
	 "\"max_age\":-5}",
	 -EBADMSG, "checks[].max_age"},
	{"{\"id\":\"C1\",\"type\":\"antivirus\",\"severity\":\"low\",\"effective\":\"asap\","
	 "\"max_age\":\"7d\"}",
	 -EBADMSG, "checks[].max_age"},
	{"{\"id\":\"C1\",\"type\":\"antivirus\",\"severity\":\"low\",\"effective\":\"asap\","
	 "\"max_age\":1.5}",
	 -EBADMSG, "real numbers are not allowed"},
	{"{\"id\":\"C1\",\"type\":\"antivirus\",\"severity\":\"low\",\"effective\":\"asap\","
	 "\"max_age\":1}",
	 0, NULL},
	/* path */
	{"{\"id\":\"C1\",\"type\":\"file\",\"severity\":\"low\",\"effective\":\"asap\","
	 "\"path\":\"etc/x\"}",
	 -EBADMSG, "checks[].path: not an absolute path"},
	{"{\"id\":\"C1\",\"type\":\"file\",\"severity\":\"low\",\"effective\":\"asap\","
	 "\"path\":\"/etc/../root/x\"}",
	 -EBADMSG, "checks[].path"},
	{"{\"id\":\"C1\",\"type\":\"file\",\"severity\":\"low\",\"effective\":\"asap\","
	 "\"path\":\"/etc/..\"}",
	 -EBADMSG, "checks[].path"},
	{"{\"id\":\"C1\",\"type\":\"file\",\"severity\":\"low\",\"effective\":\"asap\","
	 "\"path\":\"/etc/./x\"}",
	 -EBADMSG, "checks[].path"},
	{"{\"id\":\"C1\",\"type\":\"file\",\"severity\":\"low\",\"effective\":\"asap\","
	 "\"path\":\"/etc/..x/.y/My File\"}",
	 0, NULL},
	{"{\"id\":\"C1\",\"type\":\"file\",\"severity\":\"low\",\"effective\":\"asap\","
	 "\"path\":[\"/etc/x\"]}",
	 -EBADMSG, "checks[].path"},
	/* sha256 */
	{"{\"id\":\"C1\",\"type\":\"file\",\"severity\":\"low\",\"effective\":\"asap\","
	 "\"path\":\"/x\",\"sha256\":\"9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08\"}",
	 -EBADMSG, "checks[].sha256: not 64 lowercase hex digits"},
	{"{\"id\":\"C1\",\"type\":\"file\",\"severity\":\"low\",\"effective\":\"asap\","
	 "\"path\":\"/x\",\"sha256\":\"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a0\"}",
	 -EBADMSG, "checks[].sha256"},
	/* unit */
	{"{\"id\":\"C1\",\"type\":\"service\",\"severity\":\"low\",\"effective\":\"asap\","
	 "\"unit\":\"sshd\"}",
	 -EBADMSG, "checks[].unit: not a systemd unit name"},
	{"{\"id\":\"C1\",\"type\":\"service\",\"severity\":\"low\",\"effective\":\"asap\","
	 "\"unit\":\"--all.service\"}",
	 -EBADMSG, "checks[].unit"},
	{"{\"id\":\"C1\",\"type\":\"service\",\"severity\":\"low\",\"effective\":\"asap\","
	 "\"unit\":\"my unit.service\"}",
	 -EBADMSG, "checks[].unit"},
	{"{\"id\":\"C1\",\"type\":\"service\",\"severity\":\"low\",\"effective\":\"asap\","
	 "\"unit\":\"getty@tty1.service\"}",
	 0, NULL},
	{"{\"id\":\"C1\",\"type\":\"service\",\"severity\":\"low\",\"effective\":\"asap\","
	 "\"unit\":\"dnf-automatic.timer\"}",
	 0, NULL},
	/* argv and exit */
	{"{\"id\":\"C1\",\"type\":\"command\",\"severity\":\"low\",\"effective\":\"asap\","
	 "\"argv\":[]}",
	 -EBADMSG, "checks[].argv: not a non-empty array"},
	{"{\"id\":\"C1\",\"type\":\"command\",\"severity\":\"low\",\"effective\":\"asap\","
	 "\"argv\":\"/bin/true\"}",
	 -EBADMSG, "checks[].argv: not a non-empty array"},
	{"{\"id\":\"C1\",\"type\":\"command\",\"severity\":\"low\",\"effective\":\"asap\","
	 "\"argv\":[\"true\"]}",
	 -EBADMSG, "checks[].argv[0]: not an absolute path"},
	{"{\"id\":\"C1\",\"type\":\"command\",\"severity\":\"low\",\"effective\":\"asap\","
	 "\"argv\":[\"/bin/test\",1]}",
	 -EBADMSG, "checks[].argv[]: not a string"},
	{"{\"id\":\"C1\",\"type\":\"command\",\"severity\":\"low\",\"effective\":\"asap\","
	 "\"argv\":[\"/bin/test\",\"\",\"-z\"],\"exit\":255}",
	 0, NULL},
	{"{\"id\":\"C1\",\"type\":\"command\",\"severity\":\"low\",\"effective\":\"asap\","
	 "\"argv\":[\"/bin/true\"],\"exit\":256}",
	 -EBADMSG, "checks[].exit: not an integer 0..255"},
	{"{\"id\":\"C1\",\"type\":\"command\",\"severity\":\"low\",\"effective\":\"asap\","
	 "\"argv\":[\"/bin/true\"],\"exit\":-1}",
	 -EBADMSG, "checks[].exit"},
	{"{\"id\":\"C1\",\"type\":\"command\",\"severity\":\"low\",\"effective\":\"asap\","
	 "\"argv\":[\"/bin/true\"],\"exit\":\"0\"}",
	 -EBADMSG, "checks[].exit"},
	/* The id namespace is shared with the policies. */
	{"{\"id\":\"P-1\",\"type\":\"reboot\",\"severity\":\"low\",\"effective\":\"asap\"}",
	 -EBADMSG, "checks[].id: also a policy id"},
	{"{\"id\":\"P-0\",\"type\":\"reboot\",\"severity\":\"low\",\"effective\":\"asap\"}", 0,
	 NULL},
};

static const char strict_base[] =
	"{\"version\":1,\"site\":\"S9\",\"revision\":1,\"issued\":\"2026-11-25T10:00:00Z\","
	"\"policies\":[{\"id\":\"P-1\",\"severity\":\"low\",\"effective\":\"asap\"},"
	"{\"id\":\"P-2\",\"severity\":\"low\",\"effective\":\"asap\"}],\"checks\":[%s]}";

/* Sign and parse: both sides give the same verdict. */
static void
sign_and_parse(const char *text, int code, const char *what, const char *label)
{
	struct nap_hsr_set *set = NULL;
	struct nap_err err = {0};
	char *out = NULL;
	int r = sign_str(text, &out, &err);

	if (r != code)
		fail_msg("%s: sign gave %d (%s), want %d", label, r, err.what ? err.what : "-", code);
	if (r < 0) {
		assert_null(out);
		if (strncmp(err.what, what, strlen(what)) != 0)
			fail_msg("%s: error \"%s\", want \"%s...\"", label, err.what, what);
		memset(&err, 0, sizeof(err));
		assert_int_equal(parse_str(text, NULL, &set, &err), code);
		assert_null(set);
		if (strncmp(err.what, what, strlen(what)) != 0)
			fail_msg("%s: parse error \"%s\", want \"%s...\"", label, err.what, what);
		return;
	}
	if (parse_str(out, NULL, &set, &err) != 0)
		fail_msg("%s: signed output does not parse: %s", label, err.what);
	nap_hsr_set_free(set);
	free(out);
}

static void
test_strict(void **state)
{
	char buf[4096];

	(void)state;
	for (size_t i = 0; i < NAP_ARRAY_SIZE(strict_cases); i++) {
		snprintf(buf, sizeof(buf), strict_base, strict_cases[i].check);
		sign_and_parse(buf, strict_cases[i].code, strict_cases[i].what,
			       strict_cases[i].check);
	}
	/* Not an array; a duplicate id (also after sorting). */
	sign_and_parse("{\"version\":1,\"site\":\"S9\",\"revision\":1,\"issued\":"
		       "\"2026-11-25T10:00:00Z\",\"policies\":[],\"checks\":{}}",
		       -EBADMSG, "checks: not an array", "object");
	snprintf(buf, sizeof(buf), strict_base,
		 "{\"id\":\"C2\",\"type\":\"reboot\",\"severity\":\"low\",\"effective\":\"asap\"},"
		 "{\"id\":\"C1\",\"type\":\"reboot\",\"severity\":\"low\",\"effective\":\"asap\"},"
		 "{\"id\":\"C2\",\"type\":\"firewall\",\"severity\":\"low\",\"effective\":\"asap\"}");
	sign_and_parse(buf, -EBADMSG, "checks: duplicate id", "duplicate");
}

/* A document with n checks (command checks with argc arguments each). */
static char *
many_checks(size_t n, size_t argc, size_t arg_len)
{
	json_t *j = json_pack("{s:i, s:s, s:i, s:s, s:[]}", "version", 1, "site", "S9", "revision",
			      1, "issued", "2026-11-25T10:00:00Z", "policies");
	json_t *arr = json_array();
	char *text, *arg = malloc(arg_len + 1);

	assert_non_null(arg);
	memset(arg, 'a', arg_len);
	arg[0] = '/';
	arg[arg_len] = '\0';
	for (size_t i = 0; i < n; i++) {
		char id[32];
		json_t *argv = json_array();

		for (size_t k = 0; k < argc; k++)
			json_array_append_new(argv, json_string(arg));
		snprintf(id, sizeof(id), "C-%04zu", i);
		json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:s, s:o}", "id", id, "type",
						     "command", "severity", "low", "effective",
						     "asap", "argv", argv));
	}
	json_object_set_new(j, "checks", arr);
	text = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	free(arg);
	return text;
}

static void
test_limits(void **state)
{
	char *t;

	(void)state;
	t = many_checks(NAP_HSR_MAX_CHECKS, 1, 8);
	sign_and_parse(t, 0, NULL, "256 checks");
	free(t);
	t = many_checks(NAP_HSR_MAX_CHECKS + 1, 1, 8);
	sign_and_parse(t, -EMSGSIZE, "checks: too many", "257 checks");
	free(t);
	t = many_checks(1, NAP_HSR_MAX_ARGV, 8);
	sign_and_parse(t, 0, NULL, "32 arguments");
	free(t);
	t = many_checks(1, NAP_HSR_MAX_ARGV + 1, 8);
	sign_and_parse(t, -EMSGSIZE, "checks[].argv: too many entries", "33 arguments");
	free(t);
	t = many_checks(1, 2, NAP_HSR_MAX_PATH);
	sign_and_parse(t, 0, NULL, "4096-byte arguments");
	free(t);
	t = many_checks(1, 2, NAP_HSR_MAX_PATH + 1);
	sign_and_parse(t, -EMSGSIZE, "checks[].argv[]: too long", "4097-byte arguments");
	free(t);
}

static void
test_field_rules(void **state)
{
	enum nap_check_type t;

	(void)state;
	for (int i = 0; i < NAP_CHECK_TYPE_COUNT; i++) {
		const char *name = nap_check_type_name((enum nap_check_type)i);

		assert_non_null(name);
		assert_int_equal(nap_check_type_from_name(name, &t), 0);
		assert_int_equal(t, i);
	}
	assert_string_equal(nap_check_type_name(NAP_CHECK_TYPE_AUTO_UPDATES), "auto_updates");
	assert_null(nap_check_type_name(NAP_CHECK_TYPE_COUNT));
	assert_int_equal(nap_check_type_from_name("Firewall", &t), -EINVAL);
	assert_int_equal(nap_check_type_from_name(NULL, &t), -EINVAL);

	assert_true(nap_hsr_path_valid("/"));
	assert_true(nap_hsr_path_valid("/etc/ssh/sshd_config"));
	assert_true(nap_hsr_path_valid("/a/.hidden/..."));
	assert_false(nap_hsr_path_valid(""));
	assert_false(nap_hsr_path_valid(NULL));
	assert_false(nap_hsr_path_valid("relative"));
	assert_false(nap_hsr_path_valid("/a/.."));
	assert_false(nap_hsr_path_valid("/../a"));
	assert_false(nap_hsr_path_valid("/a/./b"));
	assert_false(nap_hsr_path_valid("/a/."));
	assert_false(nap_hsr_path_valid("/a\tb"));

	assert_true(nap_hsr_unit_valid("ssh.service"));
	assert_true(nap_hsr_unit_valid("systemd-fsck@dev-disk-by\\x2duuid.service"));
	assert_false(nap_hsr_unit_valid(".service"));
	assert_false(nap_hsr_unit_valid("ssh.conf"));
	assert_false(nap_hsr_unit_valid("ssh/x.service"));
	assert_false(nap_hsr_unit_valid(NULL));

	assert_true(nap_hsr_sha256_valid(
		"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"));
	assert_false(nap_hsr_sha256_valid("9f86"));
	assert_false(nap_hsr_sha256_valid(NULL));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vector),      cmocka_unit_test(test_sign_round_trip),
		cmocka_unit_test(test_digest_rule), cmocka_unit_test(test_tampering),
		cmocka_unit_test(test_strict),      cmocka_unit_test(test_limits),
		cmocka_unit_test(test_field_rules),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
