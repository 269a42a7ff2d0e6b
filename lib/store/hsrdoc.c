// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * The unsigned HSR document (doc/hsr.md) for a store snapshot, ready for nap_hsr_sign(): site,
 * revision, issued, the policies (one package as package/min_version/scheme, several as a
 * `requires` array, none for an advisory-only policy), then the exemptions, groups and checks
 * when there are any. The snapshot's content passed the store's checks when it was written; this file only
 * turns it into JSON and refuses a document over the HSR's size limit.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "nap/util.h"
#include "store-int.h"

/* Room the signer adds: "digest" and the "signature" object, with margin. */
#define HSRDOC_SIGNATURE_ROOM 512

struct hsrdoc {
	bool ok; /* false once any jansson call failed */
};

static void
hsrdoc_set(struct hsrdoc *d, json_t *obj, const char *key, json_t *v)
{
	if (v == NULL || json_object_set_new(obj, key, v) < 0)
		d->ok = false;
}

static void
hsrdoc_append(struct hsrdoc *d, json_t *arr, json_t *v)
{
	if (v == NULL || json_array_append_new(arr, v) < 0)
		d->ok = false;
}

static json_t *
hsrdoc_time(int64_t t)
{
	char buf[32];

	nap_format_time(t, buf, sizeof(buf));
	return json_string(buf);
}

static void
hsrdoc_req(struct hsrdoc *d, json_t *obj, const struct nap_policy_req *q)
{
	hsrdoc_set(d, obj, "package", json_string(q->package));
	hsrdoc_set(d, obj, "min_version", json_string(q->min_version));
	/* dpkg is the default: leaving it out keeps 10,000 policies under the size limit. */
	if (q->scheme != NAP_SCHEME_DPKG)
		hsrdoc_set(d, obj, "scheme", json_string(nap_policy_scheme_name(q->scheme)));
}

static json_t *
hsrdoc_policy(struct hsrdoc *d, const struct nap_policy *p)
{
	json_t *obj = json_object(), *reqs;

	if (obj == NULL) {
		d->ok = false;
		return NULL;
	}
	hsrdoc_set(d, obj, "id", json_string(p->id));
	if (p->n_reqs == 1) {
		hsrdoc_req(d, obj, &p->reqs[0]);
	} else if (p->n_reqs > 1) {
		reqs = json_array();
		for (size_t i = 0; reqs != NULL && i < p->n_reqs; i++) {
			json_t *q = json_object();

			if (q != NULL)
				hsrdoc_req(d, q, &p->reqs[i]);
			hsrdoc_append(d, reqs, q);
		}
		hsrdoc_set(d, obj, "requires", reqs);
	}
	hsrdoc_set(d, obj, "severity", json_string(p->severity));
	hsrdoc_set(d, obj, "effective",
		   p->effective == 0 ? json_string("asap") : hsrdoc_time(p->effective));
	if (p->reason != NULL)
		hsrdoc_set(d, obj, "reason", json_string(p->reason));
	return obj;
}

static json_t *
hsrdoc_strings(struct hsrdoc *d, char *const *v, size_t n)
{
	json_t *arr = json_array();

	for (size_t i = 0; arr != NULL && i < n; i++)
		hsrdoc_append(d, arr, json_string(v[i]));
	if (arr == NULL)
		d->ok = false;
	return arr;
}

static json_t *
hsrdoc_exemption(struct hsrdoc *d, const struct nap_exemption *e)
{
	json_t *obj = json_object();

	if (obj == NULL) {
		d->ok = false;
		return NULL;
	}
	hsrdoc_set(d, obj, "id", json_string(e->id));
	if (e->client != NULL)
		hsrdoc_set(d, obj, "client", json_string(e->client));
	else
		hsrdoc_set(d, obj, "group", json_string(e->group));
	/* No list: the exemption covers every policy. */
	if (e->n_policies > 0)
		hsrdoc_set(d, obj, "policies", hsrdoc_strings(d, e->policies, e->n_policies));
	if (e->from != 0)
		hsrdoc_set(d, obj, "from", hsrdoc_time(e->from));
	if (e->until != 0)
		hsrdoc_set(d, obj, "until", hsrdoc_time(e->until));
	if (e->reason != NULL)
		hsrdoc_set(d, obj, "reason", json_string(e->reason));
	return obj;
}

static json_t *
hsrdoc_group(struct hsrdoc *d, const struct nap_group *g)
{
	json_t *obj = json_object();

	if (obj == NULL) {
		d->ok = false;
		return NULL;
	}
	hsrdoc_set(d, obj, "name", json_string(g->name));
	hsrdoc_set(d, obj, "members", hsrdoc_strings(d, g->members, g->n_members));
	return obj;
}

static json_t *
hsrdoc_check(struct hsrdoc *d, const struct nap_check *c)
{
	json_t *obj = json_object();

	if (obj == NULL) {
		d->ok = false;
		return NULL;
	}
	hsrdoc_set(d, obj, "id", json_string(c->id));
	hsrdoc_set(d, obj, "type", json_string(nap_check_type_name(c->type)));
	hsrdoc_set(d, obj, "severity", json_string(c->severity));
	hsrdoc_set(d, obj, "effective",
		   c->effective == 0 ? json_string("asap") : hsrdoc_time(c->effective));
	if (c->reason != NULL)
		hsrdoc_set(d, obj, "reason", json_string(c->reason));
	switch (c->type) {
	case NAP_CHECK_TYPE_ANTIVIRUS:
		hsrdoc_set(d, obj, "max_age", json_integer(c->max_age));
		break;
	case NAP_CHECK_TYPE_FILE:
		hsrdoc_set(d, obj, "path", json_string(c->path));
		if (c->sha256 != NULL)
			hsrdoc_set(d, obj, "sha256", json_string(c->sha256));
		break;
	case NAP_CHECK_TYPE_SERVICE:
		hsrdoc_set(d, obj, "unit", json_string(c->unit));
		break;
	case NAP_CHECK_TYPE_COMMAND:
		hsrdoc_set(d, obj, "argv", hsrdoc_strings(d, c->argv, c->n_argv));
		hsrdoc_set(d, obj, "exit", json_integer(c->expect_exit));
		break;
	default:
		break;
	}
	return obj;
}

static bool
hsrdoc_site_valid(const char *s)
{
	size_t n = strnlen(s, NAP_SITE_MAX + 1);

	if (n == 0 || n > NAP_SITE_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-'))
			return false;
	}
	return true;
}

int
nap_store_hsr_document(const struct nap_store_snapshot *s, const char *site, int64_t issued,
		       char **out, struct nap_store_err *err)
{
	struct hsrdoc d = {.ok = true};
	json_t *doc, *arr;
	char *text;
	size_t len;

	*out = NULL;
	if (site == NULL || !hsrdoc_site_valid(site))
		return nap_store_errf(err, -EINVAL, "site code: 1-%d characters of A-Z a-z 0-9 _ -",
				      NAP_SITE_MAX);
	if (s->revision == 0)
		return nap_store_errf(err, -EINVAL,
				      "the store has no revision yet: nothing was ever added");
	if (s->revision > INT64_MAX)
		return nap_store_errf(err, -EINVAL, "revision out of range");
	if (issued < 0 || issued > 253402300799LL)
		return nap_store_errf(err, -EINVAL, "issued time out of range");
	if (s->policies != NULL && s->policies->n > NAP_HSR_MAX_POLICIES)
		return nap_store_errf(err, -EMSGSIZE, "%zu policies, an HSR carries at most %d",
				      s->policies->n, NAP_HSR_MAX_POLICIES);
	doc = json_object();
	if (doc == NULL)
		return nap_store_errf(err, -ENOMEM, "out of memory");
	hsrdoc_set(&d, doc, "version", json_integer(NAP_HSR_VERSION));
	hsrdoc_set(&d, doc, "site", json_string(site));
	hsrdoc_set(&d, doc, "revision", json_integer((json_int_t)s->revision));
	hsrdoc_set(&d, doc, "issued", hsrdoc_time(issued));
	arr = json_array();
	for (size_t i = 0; arr != NULL && s->policies != NULL && i < s->policies->n; i++)
		hsrdoc_append(&d, arr, hsrdoc_policy(&d, &s->policies->v[i]));
	hsrdoc_set(&d, doc, "policies", arr);
	if (s->exemptions != NULL && s->exemptions->n > 0) {
		arr = json_array();
		for (size_t i = 0; arr != NULL && i < s->exemptions->n; i++)
			hsrdoc_append(&d, arr, hsrdoc_exemption(&d, &s->exemptions->v[i]));
		hsrdoc_set(&d, doc, "exemptions", arr);
	}
	if (s->groups != NULL && s->groups->n > 0) {
		arr = json_array();
		for (size_t i = 0; arr != NULL && i < s->groups->n; i++)
			hsrdoc_append(&d, arr, hsrdoc_group(&d, &s->groups->v[i]));
		hsrdoc_set(&d, doc, "groups", arr);
	}
	/* No member without checks: the digest stays the policies' alone (doc/hsr.md). */
	if (s->checks != NULL && s->checks->n > 0) {
		arr = json_array();
		for (size_t i = 0; arr != NULL && i < s->checks->n; i++)
			hsrdoc_append(&d, arr, hsrdoc_check(&d, &s->checks->v[i]));
		hsrdoc_set(&d, doc, "checks", arr);
	}
	if (!d.ok) {
		json_decref(doc);
		/* jansson refuses only allocation failures and strings that are not UTF-8. */
		return nap_store_errf(err, -ENOMEM, "cannot build the HSR document");
	}
	text = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(doc);
	if (text == NULL)
		return nap_store_errf(err, -ENOMEM, "out of memory");
	len = strlen(text);
	if (len + HSRDOC_SIGNATURE_ROOM > NAP_HSR_MAX_LEN) {
		free(text);
		return nap_store_errf(err, -EMSGSIZE,
				      "the HSR document would be %zu bytes, over the %d-byte limit "
				      "once signed",
				      len, NAP_HSR_MAX_LEN);
	}
	*out = text;
	return 0;
}
