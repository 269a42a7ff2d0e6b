// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * napctl exemption add|list|remove and group set|list|remove: who counts as compliant despite
 * missing updates (a client pattern or a group, for some or all policies, in a time window), and
 * the named client groups exemptions refer to. Both travel in the HSR, so every change bumps the
 * store's revision. Command-line input only; the store checks it (nap_exemption_check,
 * nap_group_check).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "nap/store.h"
#include "nap/util.h"

#include "napctl.h"

enum {
	OPT_CLIENT = 0x300,
	OPT_GROUP,
	OPT_POLICY,
	OPT_FROM,
	OPT_UNTIL,
	OPT_REASON,
	OPT_REPLACE,
};

int
cmd_exemption_add(const struct ctl_cmd *cmd, int argc, char *argv[])
{
	static const struct option opts[] = {
		{"client", required_argument, NULL, OPT_CLIENT},
		{"group", required_argument, NULL, OPT_GROUP},
		{"policy", required_argument, NULL, OPT_POLICY},
		{"from", required_argument, NULL, OPT_FROM},
		{"until", required_argument, NULL, OPT_UNTIL},
		{"reason", required_argument, NULL, OPT_REASON},
		{"replace", no_argument, NULL, OPT_REPLACE},
		CTL_SITE_OPTIONS,
		CTL_HELP_OPTION,
		{NULL, 0, NULL, 0},
	};
	char *policies[NAP_EXEMPTION_MAX_POLICIES];
	const char *id, *from = NULL, *until = NULL;
	struct nap_exemption e;
	struct nap_store_err err;
	struct ctl_site site;
	bool replace = false;
	uint64_t rev = 0;
	int c, r, ret = NAPCTL_EXIT_ERROR;

	memset(&e, 0, sizeof(e));
	while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (c) {
		case OPT_CLIENT:
			e.client = optarg;
			break;
		case OPT_GROUP:
			e.group = optarg;
			break;
		case OPT_POLICY:
			if (e.n_policies == NAP_EXEMPTION_MAX_POLICIES)
				return ctl_usage_error(cmd, "more than %d policies",
						       NAP_EXEMPTION_MAX_POLICIES);
			policies[e.n_policies++] = optarg;
			break;
		case OPT_FROM:
			from = optarg;
			break;
		case OPT_UNTIL:
			until = optarg;
			break;
		case OPT_REASON:
			e.reason = optarg;
			break;
		case OPT_REPLACE:
			replace = true;
			break;
		default:
			if ((r = ctl_common_option(cmd, c)) >= 0)
				return r;
		}
	}
	if (optind >= argc)
		return ctl_usage_error(cmd, "missing exemption ID");
	id = argv[optind++];
	if (optind != argc)
		return ctl_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
	if ((e.client == NULL) == (e.group == NULL))
		return ctl_usage_error(cmd, "give exactly one of --client and --group");
	if (strlen(id) > NAP_POLICY_ID_MAX || !nap_policy_id_valid(id))
		return ctl_error("exemption add: exemption id '%s': 1-%d characters of A-Z a-z 0-9 "
				 ". _ : + ~ -",
				 id, NAP_POLICY_ID_MAX);
	memcpy(e.id, id, strlen(id) + 1);
	if (from != NULL && ctl_parse_time(from, false, &e.from) < 0)
		return ctl_usage_error(
			cmd, "--from: '%s' is not YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ", from);
	if (until != NULL && ctl_parse_time(until, false, &e.until) < 0)
		return ctl_usage_error(
			cmd, "--until: '%s' is not YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ", until);
	e.policies = e.n_policies > 0 ? policies : NULL;
	memset(&err, 0, sizeof(err));
	if ((r = nap_exemption_check(&e, &err)) < 0)
		return ctl_store_error("exemption add", r, err.msg);
	if (ctl_site_open(&site, "exemption add", true) == 0) {
		if ((r = nap_store_exemption_put(site.store, &e, replace, &rev, &err)) < 0) {
			if (r == -EEXIST)
				ctl_error("exemption add: exemption %s exists (--replace replaces "
					  "it)",
					  e.id);
			else
				ctl_store_error("exemption add", r, err.msg);
		} else {
			printf("exemption %s %s\n", e.id, replace ? "stored" : "added");
			ctl_site_changed(&site, rev);
			ret = 0;
		}
	}
	ctl_site_close(&site);
	return ret;
}

static json_t *
exemption_json(const struct nap_exemption *e)
{
	json_t *o = json_object(), *a = json_array();
	char t[32];

	json_object_set_new(o, "id", json_string(e->id));
	if (e->client != NULL)
		json_object_set_new(o, "client", json_string(e->client));
	if (e->group != NULL)
		json_object_set_new(o, "group", json_string(e->group));
	for (size_t i = 0; i < e->n_policies; i++)
		json_array_append_new(a, json_string(e->policies[i]));
	json_object_set_new(o, "policies", a);
	if (e->from != 0)
		json_object_set_new(o, "from",
				    json_string(ctl_time_text(e->from, "", t, sizeof(t))));
	if (e->until != 0)
		json_object_set_new(o, "until",
				    json_string(ctl_time_text(e->until, "", t, sizeof(t))));
	if (e->reason != NULL)
		json_object_set_new(o, "reason", json_string(e->reason));
	if (e->created != 0)
		json_object_set_new(o, "created",
				    json_string(ctl_time_text(e->created, "", t, sizeof(t))));
	return o;
}

int
cmd_exemption_list(const struct ctl_cmd *cmd, int argc, char *argv[])
{
	struct nap_exemption_list *l = NULL;
	struct nap_store_err err;
	struct ctl_site site;
	bool json = false;
	uint64_t rev = 0;
	char t1[32], t2[32], who[300];
	int r, ret = NAPCTL_EXIT_ERROR, idw = 2, whow = 3;

	if ((r = ctl_simple_options(cmd, argc, argv, &json, 0, NULL, NULL)) >= 0)
		return r;
	memset(&err, 0, sizeof(err));
	if (ctl_site_open(&site, "exemption list", true) != 0)
		goto out;
	if ((r = nap_store_revision(site.store, &rev, NULL, &err)) < 0 ||
	    (r = nap_store_exemption_list(site.store, &l, &err)) < 0) {
		ctl_store_error("exemption list", r, err.msg);
		goto out;
	}
	if (json) {
		json_t *root = json_object(), *a = json_array();

		json_object_set_new(root, "revision", json_integer((json_int_t)rev));
		for (size_t i = 0; i < l->n; i++)
			json_array_append_new(a, exemption_json(&l->v[i]));
		json_object_set_new(root, "exemptions", a);
		ret = ctl_json_print(root);
		goto out;
	}
	for (size_t i = 0; i < l->n; i++) {
		const struct nap_exemption *e = &l->v[i];
		int w = snprintf(who, sizeof(who), "%s %s", e->client != NULL ? "client" : "group",
				 e->client != NULL ? e->client : e->group);

		if ((int)strlen(e->id) > idw)
			idw = (int)strlen(e->id);
		if (w > whow)
			whow = w;
	}
	if (l->n > 0)
		printf("%-*s  %-*s  %-20s  %-20s  %s\n", idw, "ID", whow, "WHO", "FROM", "UNTIL",
		       "POLICIES");
	for (size_t i = 0; i < l->n; i++) {
		const struct nap_exemption *e = &l->v[i];

		snprintf(who, sizeof(who), "%s %s", e->client != NULL ? "client" : "group",
			 e->client != NULL ? e->client : e->group);
		printf("%-*s  %-*s  %-20s  %-20s  ", idw, e->id, whow, who,
		       ctl_time_text(e->from, "-", t1, sizeof(t1)),
		       ctl_time_text(e->until, "-", t2, sizeof(t2)));
		if (e->n_policies == 0)
			printf("all");
		for (size_t j = 0; j < e->n_policies; j++)
			printf("%s%s", j > 0 ? "," : "", e->policies[j]);
		printf("\n");
	}
	printf("%zu %s, revision %llu\n", l->n, l->n == 1 ? "exemption" : "exemptions",
	       (unsigned long long)rev);
	ret = fflush(stdout) == 0 ? 0 : NAPCTL_EXIT_ERROR;
out:
	nap_exemption_list_free(l);
	ctl_site_close(&site);
	return ret;
}

/* remove ID / remove NAME for exemptions and groups. */
static int
remove_one(const struct ctl_cmd *cmd, int argc, char *argv[], const char *what,
	   int (*fn)(struct nap_store *, const char *, uint64_t *, struct nap_store_err *))
{
	struct nap_store_err err;
	struct ctl_site site;
	const char *name;
	char label[64];
	uint64_t rev = 0;
	int r, ret = NAPCTL_EXIT_ERROR;

	if ((r = ctl_simple_options(cmd, argc, argv, NULL, 1, &name, NULL)) >= 0)
		return r;
	snprintf(label, sizeof(label), "%s remove", what);
	memset(&err, 0, sizeof(err));
	if (ctl_site_open(&site, label, true) == 0) {
		if ((r = fn(site.store, name, &rev, &err)) < 0) {
			if (r == -ENOENT)
				ctl_error("%s: no %s %s", label, what, name);
			else
				ctl_store_error(label, r, err.msg);
		} else {
			printf("%s %s removed\n", what, name);
			ctl_site_changed(&site, rev);
			ret = 0;
		}
	}
	ctl_site_close(&site);
	return ret;
}

int
cmd_exemption_remove(const struct ctl_cmd *cmd, int argc, char *argv[])
{
	return remove_one(cmd, argc, argv, "exemption", nap_store_exemption_remove);
}

static int
member_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
cmd_group_set(const struct ctl_cmd *cmd, int argc, char *argv[])
{
	struct nap_group g;
	struct nap_store_err err;
	struct ctl_site site;
	const char *name;
	uint64_t rev = 0;
	size_t n = 0;
	int r, first, ret = NAPCTL_EXIT_ERROR;

	if ((r = ctl_simple_options(cmd, argc, argv, NULL, 1, &name, &first)) >= 0)
		return r;
	if (first >= argc)
		return ctl_usage_error(cmd, "missing MEMBER (machine names or globs)");
	if ((size_t)(argc - first) > NAP_GROUP_MAX_MEMBERS)
		return ctl_usage_error(cmd, "more than %d members", NAP_GROUP_MAX_MEMBERS);
	memset(&g, 0, sizeof(g));
	if (strlen(name) > NAP_GROUP_NAME_MAX || !nap_group_name_valid(name))
		return ctl_error("group set: group name '%s': 1-%d characters of A-Z a-z 0-9 . _ -",
				 name, NAP_GROUP_NAME_MAX);
	memcpy(g.name, name, strlen(name) + 1);
	/* Sorted and without repeats, as the store keeps them. */
	qsort(argv + first, (size_t)(argc - first), sizeof(*argv), member_cmp);
	for (int i = first; i < argc; i++)
		if (n == 0 || strcmp(argv[first + n - 1], argv[i]) != 0)
			argv[first + n++] = argv[i];
	g.members = argv + first;
	g.n_members = n;
	memset(&err, 0, sizeof(err));
	if ((r = nap_group_check(&g, &err)) < 0)
		return ctl_store_error("group set", r, err.msg);
	if (ctl_site_open(&site, "group set", true) == 0) {
		if ((r = nap_store_group_put(site.store, &g, &rev, &err)) < 0) {
			ctl_store_error("group set", r, err.msg);
		} else {
			printf("group %s: %zu %s\n", g.name, n, n == 1 ? "member" : "members");
			ctl_site_changed(&site, rev);
			ret = 0;
		}
	}
	ctl_site_close(&site);
	return ret;
}

int
cmd_group_list(const struct ctl_cmd *cmd, int argc, char *argv[])
{
	struct nap_group_list *l = NULL;
	struct nap_store_err err;
	struct ctl_site site;
	bool json = false;
	uint64_t rev = 0;
	int r, ret = NAPCTL_EXIT_ERROR;

	if ((r = ctl_simple_options(cmd, argc, argv, &json, 0, NULL, NULL)) >= 0)
		return r;
	memset(&err, 0, sizeof(err));
	if (ctl_site_open(&site, "group list", true) != 0)
		goto out;
	if ((r = nap_store_revision(site.store, &rev, NULL, &err)) < 0 ||
	    (r = nap_store_group_list(site.store, &l, &err)) < 0) {
		ctl_store_error("group list", r, err.msg);
		goto out;
	}
	if (json) {
		json_t *root = json_object(), *a = json_array();

		json_object_set_new(root, "revision", json_integer((json_int_t)rev));
		for (size_t i = 0; i < l->n; i++) {
			json_t *m = json_array();

			for (size_t j = 0; j < l->v[i].n_members; j++)
				json_array_append_new(m, json_string(l->v[i].members[j]));
			json_array_append_new(
				a, json_pack("{s:s, s:o}", "name", l->v[i].name, "members", m));
		}
		json_object_set_new(root, "groups", a);
		ret = ctl_json_print(root);
		goto out;
	}
	for (size_t i = 0; i < l->n; i++) {
		printf("%s:", l->v[i].name);
		for (size_t j = 0; j < l->v[i].n_members; j++)
			printf(" %s", l->v[i].members[j]);
		printf("\n");
	}
	printf("%zu %s, revision %llu\n", l->n, l->n == 1 ? "group" : "groups",
	       (unsigned long long)rev);
	ret = fflush(stdout) == 0 ? 0 : NAPCTL_EXIT_ERROR;
out:
	nap_group_list_free(l);
	ctl_site_close(&site);
	return ret;
}

int
cmd_group_remove(const struct ctl_cmd *cmd, int argc, char *argv[])
{
	return remove_one(cmd, argc, argv, "group", nap_store_group_remove);
}
