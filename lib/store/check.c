// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * The rules a policy, an exemption, a group and an agent state must meet before the store takes
 * them: the HSR's (doc/hsr.md), so whatever the store holds can be published. Handles untrusted
 * input (napctl arguments, import files, the agent endpoint): every string is bounded, checked
 * for its character set and quoted escaped in messages. Also the clear/free helpers and the
 * equality that tells a real change from a rewrite of the same content.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "nap/util.h"
#include "store-int.h"

/* 9999-12-31T23:59:59Z: the last time RFC 3339's four-digit year can carry. */
#define STORE_TIME_MAX 253402300799LL


int
nap_store_errf(struct nap_store_err *err, int code, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL) {
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
	}
	return code;
}

bool
nap_store_utf8_valid(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p != '\0') {
		uint32_t cp;
		size_t n, i;

		if (p[0] < 0x80) {
			p++;
			continue;
		}
		if (p[0] >= 0xc2 && p[0] <= 0xdf) {
			n = 1;
			cp = p[0] & 0x1f;
		} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
			n = 2;
			cp = p[0] & 0x0f;
		} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
			n = 3;
			cp = p[0] & 0x07;
		} else {
			return false;
		}
		for (i = 1; i <= n; i++) {
			if ((p[i] & 0xc0) != 0x80) /* also stops at the NUL */
				return false;
			cp = (cp << 6) | (p[i] & 0x3f);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		p += n + 1;
	}
	return true;
}

/* Free text: at most max bytes of UTF-8 without control characters. */
static const char *
store_text_problem(const char *s, size_t max)
{
	if (strnlen(s, max + 1) > max)
		return "too long";
	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p < 0x20)
			return "control character";
	}
	if (!nap_store_utf8_valid(s))
		return "not UTF-8";
	return NULL;
}

static bool
store_time_valid(int64_t t)
{
	return t >= 0 && t <= STORE_TIME_MAX;
}

/* An id for a message: printable, escaped, bounded. */
static const char *
store_show(const char *s, char *buf, size_t cap)
{
	if (s == NULL)
		return "(null)";
	nap_escape((const uint8_t *)s, strnlen(s, 64), buf, cap);
	return buf;
}

/* The HSR's field rules (lib/policy/hsr.c): what the store holds can always be published. */
bool
nap_policy_id_valid(const char *id)
{
	return nap_hsr_id_valid(id);
}

bool
nap_client_name_valid(const char *name)
{
	return nap_hsr_client_valid(name);
}

bool
nap_group_name_valid(const char *name)
{
	return nap_hsr_group_name_valid(name);
}

const char *
nap_policy_scheme_name(enum nap_version_scheme scheme)
{
	return nap_hsr_scheme_name(scheme);
}

bool
nap_severity_valid(const char *severity)
{
	return nap_hsr_severity_valid(severity);
}

static int
store_strcmp_p(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int
store_strcasecmp_p(const void *a, const void *b)
{
	return strcasecmp(*(const char *const *)a, *(const char *const *)b);
}

/*
 * The first entry of v that repeats an earlier one (under cmp), or NULL. v holds valid strings.
 * -ENOMEM through *r.
 */
static const char *
store_find_duplicate(char *const *v, size_t n, int (*cmp)(const void *, const void *), int *r)
{
	const char **sorted;
	const char *dup = NULL;

	*r = 0;
	if (n < 2)
		return NULL;
	sorted = malloc(n * sizeof(*sorted));
	if (sorted == NULL) {
		*r = -ENOMEM;
		return NULL;
	}
	memcpy(sorted, v, n * sizeof(*sorted));
	qsort(sorted, n, sizeof(*sorted), cmp);
	for (size_t i = 1; i < n && dup == NULL; i++) {
		if (cmp(&sorted[i - 1], &sorted[i]) == 0)
			dup = sorted[i];
	}
	free(sorted);
	return dup;
}

int
nap_policy_check(const struct nap_policy *p, struct nap_store_err *err)
{
	char show[4 * 64 + 1];
	const char *id, *problem;

	if (!nap_policy_id_valid(p->id))
		return nap_store_errf(
			err, -EINVAL,
			"policy id \"%s\": 1-63 characters of A-Z a-z 0-9 . _ : + ~ -",
			store_show(p->id, show, sizeof(show)));
	id = p->id;
	if (p->n_reqs > NAP_POLICY_MAX_REQS)
		return nap_store_errf(err, -EINVAL, "policy %s: %zu packages, at most %d", id,
				      p->n_reqs, NAP_POLICY_MAX_REQS);
	if (p->n_reqs > 0 && p->reqs == NULL)
		return nap_store_errf(err, -EINVAL, "policy %s: no package list", id);
	for (size_t i = 0; i < p->n_reqs; i++) {
		const struct nap_policy_req *q = &p->reqs[i];

		if (!nap_hsr_field_valid(q->package))
			return nap_store_errf(err, -EINVAL,
					      "policy %s: package %zu: 1-%d printable ASCII "
					      "characters without spaces",
					      id, i + 1, NAP_HSR_MAX_FIELD);
		if (!nap_hsr_field_valid(q->min_version))
			return nap_store_errf(err, -EINVAL,
					      "policy %s: package %s: min_version must be 1-%d "
					      "printable ASCII characters without spaces",
					      id, q->package, NAP_HSR_MAX_FIELD);
		if (nap_policy_scheme_name(q->scheme) == NULL)
			return nap_store_errf(err, -EINVAL,
					      "policy %s: package %s: scheme is not dpkg or rpm",
					      id, q->package);
		/* The same package under dpkg and rpm is a cross-distribution advisory. */
		for (size_t j = 0; j < i; j++) {
			if (strcmp(p->reqs[j].package, q->package) == 0 &&
			    p->reqs[j].scheme == q->scheme)
				return nap_store_errf(
					err, -EINVAL, "policy %s: package %s (%s) listed twice", id,
					q->package, nap_policy_scheme_name(q->scheme));
		}
	}
	if (memchr(p->severity, '\0', sizeof(p->severity)) == NULL ||
	    !nap_severity_valid(p->severity))
		return nap_store_errf(err, -EINVAL,
				      "policy %s: severity must be critical, important, moderate "
				      "or low",
				      id);
	if (!store_time_valid(p->effective))
		return nap_store_errf(err, -EINVAL,
				      "policy %s: effective time out of range (1970 to 9999)", id);
	if (p->reason != NULL && (problem = store_text_problem(p->reason, NAP_HSR_MAX_REASON)))
		return nap_store_errf(err, -EINVAL,
				      "policy %s: reason: %s (at most %d bytes of "
				      "UTF-8 text without control characters)",
				      id, problem, NAP_HSR_MAX_REASON);
	return 0;
}

int
nap_exemption_check(const struct nap_exemption *e, struct nap_store_err *err)
{
	char show[4 * 64 + 1];
	const char *id, *problem, *dup;
	int r;

	if (!nap_policy_id_valid(e->id))
		return nap_store_errf(err, -EINVAL,
				      "exemption id \"%s\": 1-63 characters of A-Z a-z 0-9 . _ : + "
				      "~ -",
				      store_show(e->id, show, sizeof(show)));
	id = e->id;
	if ((e->client == NULL) == (e->group == NULL))
		return nap_store_errf(err, -EINVAL,
				      "exemption %s: give exactly one of a client or a group", id);
	if (e->client != NULL && !nap_client_name_valid(e->client))
		return nap_store_errf(
			err, -EINVAL,
			"exemption %s: client: 1-%d printable ASCII characters without "
			"spaces",
			id, NAP_CLIENT_NAME_MAX);
	if (e->group != NULL && !nap_group_name_valid(e->group))
		return nap_store_errf(
			err, -EINVAL,
			"exemption %s: group \"%s\": 1-%d characters of A-Z a-z 0-9 . "
			"_ -",
			id, store_show(e->group, show, sizeof(show)), NAP_GROUP_NAME_MAX);
	if (e->n_policies > NAP_EXEMPTION_MAX_POLICIES)
		return nap_store_errf(err, -EINVAL, "exemption %s: %zu policies, at most %d", id,
				      e->n_policies, NAP_EXEMPTION_MAX_POLICIES);
	if (e->n_policies > 0 && e->policies == NULL)
		return nap_store_errf(err, -EINVAL, "exemption %s: no policy list", id);
	for (size_t i = 0; i < e->n_policies; i++) {
		if (!nap_policy_id_valid(e->policies[i]))
			return nap_store_errf(err, -EINVAL,
					      "exemption %s: policy id \"%s\" is not valid", id,
					      store_show(e->policies[i], show, sizeof(show)));
	}
	dup = store_find_duplicate(e->policies, e->n_policies, store_strcmp_p, &r);
	if (r < 0)
		return nap_store_errf(err, r, "out of memory");
	if (dup != NULL)
		return nap_store_errf(err, -EINVAL, "exemption %s: policy %s listed twice", id,
				      dup);
	if (!store_time_valid(e->from) || !store_time_valid(e->until))
		return nap_store_errf(err, -EINVAL,
				      "exemption %s: time window out of range (1970 to 9999)", id);
	if (e->from != 0 && e->until != 0 && e->from >= e->until)
		return nap_store_errf(err, -EINVAL, "exemption %s: from must be before until", id);
	if (e->reason != NULL && (problem = store_text_problem(e->reason, NAP_HSR_MAX_REASON)))
		return nap_store_errf(err, -EINVAL,
				      "exemption %s: reason: %s (at most %d bytes of "
				      "UTF-8 text without control characters)",
				      id, problem, NAP_HSR_MAX_REASON);
	return 0;
}

int
nap_group_check(const struct nap_group *g, struct nap_store_err *err)
{
	char show[4 * 64 + 1];
	const char *dup;
	int r;

	if (memchr(g->name, '\0', sizeof(g->name)) == NULL || !nap_group_name_valid(g->name))
		return nap_store_errf(err, -EINVAL,
				      "group name \"%s\": 1-%d characters of A-Z a-z 0-9 . _ -",
				      memchr(g->name, '\0', sizeof(g->name)) == NULL
					      ? "(too long)"
					      : store_show(g->name, show, sizeof(show)),
				      NAP_GROUP_NAME_MAX);
	if (g->n_members > NAP_GROUP_MAX_MEMBERS)
		return nap_store_errf(err, -EINVAL, "group %s: %zu members, at most %d", g->name,
				      g->n_members, NAP_GROUP_MAX_MEMBERS);
	if (g->n_members > 0 && g->members == NULL)
		return nap_store_errf(err, -EINVAL, "group %s: no member list", g->name);
	for (size_t i = 0; i < g->n_members; i++) {
		if (!nap_client_name_valid(g->members[i]))
			return nap_store_errf(err, -EINVAL,
					      "group %s: member %zu: 1-%d printable ASCII "
					      "characters without spaces",
					      g->name, i + 1, NAP_CLIENT_NAME_MAX);
	}
	/* Members match case-insensitively, so "PC1" and "pc1" are the same member. */
	dup = store_find_duplicate(g->members, g->n_members, store_strcasecmp_p, &r);
	if (r < 0)
		return nap_store_errf(err, r, "out of memory");
	if (dup != NULL)
		return nap_store_errf(err, -EINVAL, "group %s: member %s listed twice", g->name,
				      dup);
	return 0;
}

static bool
store_hex_valid(const char *s, size_t min, size_t max)
{
	size_t n = strnlen(s, max + 1);

	if (n < min || n > max)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	}
	return true;
}

int
nap_agent_state_check(const struct nap_agent_state *s, struct nap_store_err *err)
{
	if (memchr(s->client, '\0', sizeof(s->client)) == NULL || !nap_client_name_valid(s->client))
		return nap_store_errf(err, -EINVAL,
				      "agent state: client: 1-%d printable ASCII characters "
				      "without spaces",
				      NAP_CLIENT_NAME_MAX);
	if (s->state != NAP_AGENT_UNRESTRICTED && s->state != NAP_AGENT_DEFERRED &&
	    s->state != NAP_AGENT_RESTRICTED)
		return nap_store_errf(err, -EINVAL, "agent state of %s: state %d is not 1, 2 or 3",
				      s->client, (int)s->state);
	if (s->hsr_revision > INT64_MAX)
		return nap_store_errf(err, -EINVAL, "agent state of %s: HSR revision out of range",
				      s->client);
	if (memchr(s->hsr_digest, '\0', sizeof(s->hsr_digest)) == NULL ||
	    (s->hsr_digest[0] != '\0' &&
	     !store_hex_valid(s->hsr_digest, 2 * NAP_HSR_DIGEST_LEN, 2 * NAP_HSR_DIGEST_LEN)))
		return nap_store_errf(
			err, -EINVAL,
			"agent state of %s: HSR digest is not 64 lowercase hex digits", s->client);
	if (s->n_missing > NAP_AGENT_MAX_MISSING)
		return nap_store_errf(err, -EINVAL,
				      "agent state of %s: %zu missing updates, at most %d",
				      s->client, s->n_missing, NAP_AGENT_MAX_MISSING);
	for (size_t i = 0; i < s->n_missing; i++) {
		if (memchr(s->missing[i], '\0', sizeof(s->missing[i])) == NULL ||
		    !nap_policy_id_valid(s->missing[i]))
			return nap_store_errf(
				err, -EINVAL,
				"agent state of %s: missing update %zu is not a valid "
				"id",
				s->client, i + 1);
	}
	if (s->detail != NULL) {
		if (strnlen(s->detail, NAP_AGENT_DETAIL_MAX + 1) > NAP_AGENT_DETAIL_MAX)
			return nap_store_errf(err, -EINVAL,
					      "agent state of %s: detail over %d bytes", s->client,
					      NAP_AGENT_DETAIL_MAX);
		if (!nap_store_utf8_valid(s->detail))
			return nap_store_errf(err, -EINVAL,
					      "agent state of %s: detail is not UTF-8", s->client);
	}
	return 0;
}

void
nap_policy_clear(struct nap_policy *p)
{
	if (p == NULL)
		return;
	for (size_t i = 0; i < p->n_reqs; i++) {
		free(p->reqs[i].package);
		free(p->reqs[i].min_version);
	}
	free(p->reqs);
	free(p->reason);
	memset(p, 0, sizeof(*p));
}

void
nap_policy_list_free(struct nap_policy_list *l)
{
	if (l == NULL)
		return;
	for (size_t i = 0; i < l->n; i++)
		nap_policy_clear(&l->v[i]);
	free(l->v);
	free(l);
}

void
nap_exemption_clear(struct nap_exemption *e)
{
	if (e == NULL)
		return;
	free(e->client);
	free(e->group);
	for (size_t i = 0; i < e->n_policies; i++)
		free(e->policies[i]);
	free(e->policies);
	free(e->reason);
	memset(e, 0, sizeof(*e));
}

void
nap_exemption_list_free(struct nap_exemption_list *l)
{
	if (l == NULL)
		return;
	for (size_t i = 0; i < l->n; i++)
		nap_exemption_clear(&l->v[i]);
	free(l->v);
	free(l);
}

void
nap_group_clear(struct nap_group *g)
{
	if (g == NULL)
		return;
	for (size_t i = 0; i < g->n_members; i++)
		free(g->members[i]);
	free(g->members);
	memset(g, 0, sizeof(*g));
}

void
nap_group_list_free(struct nap_group_list *l)
{
	if (l == NULL)
		return;
	for (size_t i = 0; i < l->n; i++)
		nap_group_clear(&l->v[i]);
	free(l->v);
	free(l);
}

void
nap_agent_state_clear(struct nap_agent_state *s)
{
	if (s == NULL)
		return;
	free(s->detail);
	s->detail = NULL;
}

int
nap_policy_req_cmp(const struct nap_policy_req *a, const struct nap_policy_req *b)
{
	int c = strcmp(a->package, b->package);

	if (c != 0)
		return c;
	/* By the scheme's name: "dpkg" < "rpm", as the HSR's canonical form sorts. */
	return strcmp(nap_policy_scheme_name(a->scheme), nap_policy_scheme_name(b->scheme));
}

static int
store_req_ptr_cmp(const void *a, const void *b)
{
	return nap_policy_req_cmp(*(const struct nap_policy_req *const *)a,
				  *(const struct nap_policy_req *const *)b);
}

void
nap_policy_reqs_sorted(const struct nap_policy *p, const struct nap_policy_req **out)
{
	for (size_t i = 0; i < p->n_reqs; i++)
		out[i] = &p->reqs[i];
	qsort(out, p->n_reqs, sizeof(*out), store_req_ptr_cmp);
}

bool
nap_policy_equal(const struct nap_policy *a, const struct nap_policy *b)
{
	const struct nap_policy_req *sa[NAP_POLICY_MAX_REQS], *sb[NAP_POLICY_MAX_REQS];

	if (strcmp(a->id, b->id) != 0 || strcmp(a->severity, b->severity) != 0 ||
	    a->effective != b->effective || !nap_streq_null(a->reason, b->reason) ||
	    a->n_reqs != b->n_reqs || a->n_reqs > NAP_POLICY_MAX_REQS)
		return false;
	/* The requirements are a set: their order says nothing. */
	nap_policy_reqs_sorted(a, sa);
	nap_policy_reqs_sorted(b, sb);
	for (size_t i = 0; i < a->n_reqs; i++) {
		if (nap_policy_req_cmp(sa[i], sb[i]) != 0 ||
		    strcmp(sa[i]->min_version, sb[i]->min_version) != 0)
			return false;
	}
	return true;
}

/* ---- checks ---- */

void
nap_check_clear(struct nap_check *c)
{
	free(c->reason);
	free(c->path);
	free(c->sha256);
	free(c->unit);
	for (size_t i = 0; i < c->n_argv; i++)
		free(c->argv[i]);
	free(c->argv);
	memset(c, 0, sizeof(*c));
}

void
nap_check_list_free(struct nap_check_list *l)
{
	if (l == NULL)
		return;
	for (size_t i = 0; i < l->n; i++)
		nap_check_clear(&l->v[i]);
	free(l->v);
	free(l);
}

/* The HSR's per-type parameters (lib/policy/hsr.c): what a check of each type carries. */
int
nap_check_validate(const struct nap_check *c, struct nap_store_err *err)
{
	char idb[256];
	const char *id = store_show(c->id, idb, sizeof(idb)), *problem;
	const char *type = nap_check_type_name(c->type);
	bool av = c->type == NAP_CHECK_TYPE_ANTIVIRUS, file = c->type == NAP_CHECK_TYPE_FILE;
	bool svc = c->type == NAP_CHECK_TYPE_SERVICE, cmd = c->type == NAP_CHECK_TYPE_COMMAND;

	if (!nap_hsr_id_valid(c->id))
		return nap_store_errf(err, -EINVAL,
				      "check id \"%s\": 1-%d characters of A-Z a-z 0-9 . : _ + ~ -",
				      id, NAP_POLICY_ID_MAX);
	if (type == NULL)
		return nap_store_errf(err, -EINVAL, "check %s: unknown type", id);
	if (!nap_hsr_severity_valid(c->severity))
		return nap_store_errf(err, -EINVAL,
				      "check %s: severity must be critical, important, moderate or "
				      "low",
				      id);
	if (!store_time_valid(c->effective))
		return nap_store_errf(err, -EINVAL, "check %s: effective date out of range", id);
	if (c->reason != NULL && (problem = store_text_problem(c->reason, NAP_HSR_MAX_REASON)))
		return nap_store_errf(err, -EINVAL, "check %s: reason: %s (at most %d bytes)", id,
				      problem, NAP_HSR_MAX_REASON);
	if (av ? c->max_age <= 0 : c->max_age != 0)
		return nap_store_errf(err, -EINVAL,
				      av ? "check %s: antivirus needs a maximum signature age > 0"
					 : "check %s: only antivirus checks take a maximum age",
				      id);
	if (file ? !nap_hsr_path_valid(c->path) : c->path != NULL)
		return nap_store_errf(err, -EINVAL,
				      file ? "check %s: file needs an absolute path (no . or .. "
					     "components, at most 4096 bytes)"
					   : "check %s: only file checks take a path",
				      id);
	if (c->path != NULL && !nap_store_utf8_valid(c->path))
		return nap_store_errf(err, -EINVAL, "check %s: path is not UTF-8", id);
	if (c->sha256 != NULL && (!file || !nap_hsr_sha256_valid(c->sha256)))
		return nap_store_errf(err, -EINVAL,
				      file ? "check %s: sha256 must be 64 lowercase hex digits"
					   : "check %s: only file checks take a sha256",
				      id);
	if (svc ? !nap_hsr_unit_valid(c->unit) : c->unit != NULL)
		return nap_store_errf(err, -EINVAL,
				      svc ? "check %s: service needs a systemd unit name such as "
					    "ssh.service"
					  : "check %s: only service checks take a unit",
				      id);
	if (!cmd && (c->n_argv != 0 || c->expect_exit != 0))
		return nap_store_errf(err, -EINVAL,
				      "check %s: only command checks take argv and an exit status",
				      id);
	if (cmd) {
		if (c->n_argv == 0 || c->n_argv > NAP_HSR_MAX_ARGV)
			return nap_store_errf(err, -EINVAL, "check %s: command needs 1-%d arguments",
					      id, NAP_HSR_MAX_ARGV);
		if (!nap_hsr_path_valid(c->argv[0]))
			return nap_store_errf(err, -EINVAL,
					      "check %s: the command must be an absolute path", id);
		for (size_t i = 0; i < c->n_argv; i++) {
			if (c->argv[i] == NULL ||
			    (problem = store_text_problem(c->argv[i], NAP_HSR_MAX_PATH)) != NULL)
				return nap_store_errf(err, -EINVAL,
						      "check %s: argument %zu: %s (at most %d bytes)",
						      id, i + 1,
						      c->argv[i] == NULL ? "missing" : problem,
						      NAP_HSR_MAX_PATH);
		}
		if (c->expect_exit < 0 || c->expect_exit > 255)
			return nap_store_errf(err, -EINVAL, "check %s: exit status must be 0-255",
					      id);
	}
	return 0;
}

bool
nap_check_equal(const struct nap_check *a, const struct nap_check *b)
{
	if (strcmp(a->id, b->id) != 0 || a->type != b->type ||
	    strcmp(a->severity, b->severity) != 0 || a->effective != b->effective ||
	    !nap_streq_null(a->reason, b->reason) || a->max_age != b->max_age ||
	    !nap_streq_null(a->path, b->path) || !nap_streq_null(a->sha256, b->sha256) ||
	    !nap_streq_null(a->unit, b->unit) || a->n_argv != b->n_argv ||
	    a->expect_exit != b->expect_exit)
		return false;
	for (size_t i = 0; i < a->n_argv; i++) {
		if (strcmp(a->argv[i], b->argv[i]) != 0)
			return false;
	}
	return true;
}
