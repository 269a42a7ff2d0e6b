// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * napctl policy add|list|show|remove|import: NAP policies in the site store. Arguments and
 * import files are untrusted input: the import parser (lib/store/import.c) and the store's
 * checks (nap_policy_check) judge them; nothing is stored when one entry is bad.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "nap/policy_import.h"
#include "nap/store.h"
#include "nap/util.h"

#include "napctl.h"

enum {
	OPT_PACKAGE = 0x300,
	OPT_MIN_VERSION,
	OPT_SCHEME,
	OPT_REQUIRES,
	OPT_SEVERITY,
	OPT_EFFECTIVE,
	OPT_REASON,
	OPT_REPLACE,
	OPT_FORMAT,
	OPT_REPLACE_ALL,
	OPT_DRY_RUN,
};

static const char *
scheme_text(enum nap_version_scheme s)
{
	const char *n = nap_policy_scheme_name(s);

	return n != NULL ? n : "?";
}

static json_t *
req_json(const struct nap_policy_req *q)
{
	return json_pack("{s:s, s:s, s:s}", "package", q->package, "min_version", q->min_version,
			 "scheme", scheme_text(q->scheme));
}

/* A policy with the HSR's member names: what policy import reads back. */
static json_t *
policy_json(const struct nap_policy *p)
{
	json_t *o = json_object();
	char t[32];

	json_object_set_new(o, "id", json_string(p->id));
	if (p->n_reqs == 1) {
		json_object_set_new(o, "package", json_string(p->reqs[0].package));
		json_object_set_new(o, "min_version", json_string(p->reqs[0].min_version));
		json_object_set_new(o, "scheme", json_string(scheme_text(p->reqs[0].scheme)));
	} else if (p->n_reqs > 1) {
		json_t *a = json_array();

		for (size_t i = 0; i < p->n_reqs; i++)
			json_array_append_new(a, req_json(&p->reqs[i]));
		json_object_set_new(o, "requires", a);
	}
	json_object_set_new(o, "severity", json_string(p->severity));
	json_object_set_new(o, "effective",
			    json_string(ctl_time_text(p->effective, "asap", t, sizeof(t))));
	if (p->reason != NULL)
		json_object_set_new(o, "reason", json_string(p->reason));
	if (p->created != 0)
		json_object_set_new(o, "created",
				    json_string(ctl_time_text(p->created, "", t, sizeof(t))));
	if (p->updated != 0)
		json_object_set_new(o, "updated",
				    json_string(ctl_time_text(p->updated, "", t, sizeof(t))));
	return o;
}

static void
req_text(const struct nap_policy_req *q, char *buf, size_t cap)
{
	snprintf(buf, cap, "%s >= %s%s", q->package, q->min_version,
		 q->scheme == NAP_SCHEME_RPM ? " (rpm)" : "");
}

/* "P=V" into a requirement. */
static int
parse_requires(const char *arg, enum nap_version_scheme scheme, struct nap_policy_req *q)
{
	const char *eq = strchr(arg, '=');

	if (eq == NULL || eq == arg || eq[1] == '\0')
		return -EINVAL;
	q->package = strndup(arg, (size_t)(eq - arg));
	q->min_version = strdup(eq + 1);
	q->scheme = scheme;
	if (q->package == NULL || q->min_version == NULL)
		return -ENOMEM;
	return 0;
}

int
cmd_policy_add(const struct ctl_cmd *cmd, int argc, char *argv[])
{
	static const struct option opts[] = {
		{"package", required_argument, NULL, OPT_PACKAGE},
		{"min-version", required_argument, NULL, OPT_MIN_VERSION},
		{"scheme", required_argument, NULL, OPT_SCHEME},
		{"requires", required_argument, NULL, OPT_REQUIRES},
		{"severity", required_argument, NULL, OPT_SEVERITY},
		{"effective", required_argument, NULL, OPT_EFFECTIVE},
		{"reason", required_argument, NULL, OPT_REASON},
		{"replace", no_argument, NULL, OPT_REPLACE},
		CTL_SITE_OPTIONS,
		CTL_HELP_OPTION,
		{NULL, 0, NULL, 0},
	};
	const char *package = NULL, *min_version = NULL, *severity = NULL, *effective = "asap";
	const char *requires[NAP_POLICY_MAX_REQS], *scheme = "dpkg", *reason = NULL, *id;
	enum nap_version_scheme sch;
	struct nap_policy p;
	struct nap_store_err err;
	struct ctl_site site;
	size_t n_requires = 0;
	bool replace = false;
	uint64_t rev = 0;
	int c, r, ret = NAPCTL_EXIT_ERROR;

	while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (c) {
		case OPT_PACKAGE:
			package = optarg;
			break;
		case OPT_MIN_VERSION:
			min_version = optarg;
			break;
		case OPT_SCHEME:
			scheme = optarg;
			break;
		case OPT_REQUIRES:
			if (n_requires == NAP_POLICY_MAX_REQS)
				return ctl_usage_error(cmd, "more than %d packages",
						       NAP_POLICY_MAX_REQS);
			requires[n_requires++] = optarg;
			break;
		case OPT_SEVERITY:
			severity = optarg;
			break;
		case OPT_EFFECTIVE:
			effective = optarg;
			break;
		case OPT_REASON:
			reason = optarg;
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
		return ctl_usage_error(cmd, "missing policy ID");
	id = argv[optind++];
	if (optind != argc)
		return ctl_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
	if ((package == NULL) != (min_version == NULL))
		return ctl_usage_error(cmd, "--package and --min-version go together");
	if (package != NULL && n_requires + 1 > NAP_POLICY_MAX_REQS)
		return ctl_usage_error(cmd, "more than %d packages", NAP_POLICY_MAX_REQS);
	if (severity == NULL)
		return ctl_usage_error(cmd, "--severity is required (critical, important, "
					    "moderate or low)");
	if (nap_policy_scheme_parse(scheme, &sch) < 0)
		return ctl_usage_error(cmd, "--scheme: '%s' is not dpkg or rpm", scheme);

	memset(&p, 0, sizeof(p));
	if (strlen(id) > NAP_POLICY_ID_MAX || !nap_policy_id_valid(id)) {
		ctl_error("policy add: policy id '%s': 1-%d characters of A-Z a-z 0-9 . _ : + ~ -",
			  id, NAP_POLICY_ID_MAX);
		return NAPCTL_EXIT_ERROR;
	}
	memcpy(p.id, id, strlen(id) + 1);
	if (strlen(severity) >= sizeof(p.severity) || !nap_severity_valid(severity))
		return ctl_error(
			"policy add: --severity: '%s' is not critical, important, moderate "
			"or low",
			severity);
	memcpy(p.severity, severity, strlen(severity) + 1);
	if (ctl_parse_time(effective, true, &p.effective) < 0)
		return ctl_usage_error(cmd,
				       "--effective: '%s' is not asap, YYYY-MM-DD or "
				       "YYYY-MM-DDTHH:MM:SSZ",
				       effective);
	if ((p.reqs = calloc(n_requires + 1, sizeof(*p.reqs))) == NULL)
		return ctl_error("out of memory");
	if (package != NULL) {
		p.reqs[0].package = strdup(package);
		p.reqs[0].min_version = strdup(min_version);
		p.reqs[0].scheme = sch;
		p.n_reqs = 1;
		if (p.reqs[0].package == NULL || p.reqs[0].min_version == NULL) {
			ctl_error("out of memory");
			goto out;
		}
	}
	for (size_t i = 0; i < n_requires; i++) {
		r = parse_requires(requires[i], sch, &p.reqs[p.n_reqs]);
		p.n_reqs++;
		if (r < 0) {
			ret = ctl_usage_error(cmd, "--requires '%s': expected PACKAGE=MIN_VERSION",
					      requires[i]);
			goto out;
		}
	}
	if (reason != NULL && (p.reason = strdup(reason)) == NULL) {
		ctl_error("out of memory");
		goto out;
	}
	memset(&err, 0, sizeof(err));
	if ((r = nap_policy_check(&p, &err)) < 0) {
		ctl_store_error("policy add", r, err.msg);
		goto out;
	}
	if (ctl_site_open(&site, "policy add", true) == 0) {
		if ((r = nap_store_policy_put(site.store, &p, replace, &rev, &err)) < 0) {
			if (r == -EEXIST && strstr(err.msg, "share ids") == NULL)
				ctl_error("policy add: policy %s exists (--replace replaces it)",
					  p.id);
			else
				ctl_store_error("policy add", r, err.msg);
		} else {
			printf("policy %s %s\n", p.id, replace ? "stored" : "added");
			ctl_site_changed(&site, rev);
			ret = 0;
		}
	}
	ctl_site_close(&site);
out:
	nap_policy_clear(&p);
	return ret;
}

int
cmd_policy_list(const struct ctl_cmd *cmd, int argc, char *argv[])
{
	struct nap_policy_list *l = NULL;
	struct nap_store_err err;
	struct ctl_site site;
	bool json = false;
	int64_t changed = 0;
	uint64_t rev = 0;
	char t[32], req[600];
	int r, ret = NAPCTL_EXIT_ERROR, idw = 2;

	if ((r = ctl_simple_options(cmd, argc, argv, &json, 0, NULL, NULL)) >= 0)
		return r;
	memset(&err, 0, sizeof(err));
	if (ctl_site_open(&site, "policy list", true) != 0)
		goto out;
	/* The list and its revision are two reads; a change in between shows on the next run. */
	if ((r = nap_store_revision(site.store, &rev, &changed, &err)) < 0 ||
	    (r = nap_store_policy_list(site.store, &l, &err)) < 0) {
		ctl_store_error("policy list", r, err.msg);
		goto out;
	}
	if (json) {
		json_t *root = json_object(), *a = json_array();

		json_object_set_new(root, "revision", json_integer((json_int_t)rev));
		if (changed != 0)
			json_object_set_new(root, "changed",
					    json_string(ctl_time_text(changed, "", t, sizeof(t))));
		for (size_t i = 0; i < l->n; i++)
			json_array_append_new(a, policy_json(&l->v[i]));
		json_object_set_new(root, "policies", a);
		ret = ctl_json_print(root);
		goto out;
	}
	for (size_t i = 0; i < l->n; i++)
		if ((int)strlen(l->v[i].id) > idw)
			idw = (int)strlen(l->v[i].id);
	if (l->n > 0)
		printf("%-*s  %-9s  %-20s  %s\n", idw, "ID", "SEVERITY", "EFFECTIVE", "REQUIRES");
	for (size_t i = 0; i < l->n; i++) {
		const struct nap_policy *p = &l->v[i];

		if (p->n_reqs == 0)
			snprintf(req, sizeof(req), "(advisory only)");
		else
			req_text(&p->reqs[0], req, sizeof(req));
		printf("%-*s  %-9s  %-20s  %s\n", idw, p->id, p->severity,
		       ctl_time_text(p->effective, "asap", t, sizeof(t)), req);
		for (size_t j = 1; j < p->n_reqs; j++) {
			req_text(&p->reqs[j], req, sizeof(req));
			printf("%-*s  %-9s  %-20s  %s\n", idw, "", "", "", req);
		}
	}
	printf("%zu %s, revision %llu\n", l->n, l->n == 1 ? "policy" : "policies",
	       (unsigned long long)rev);
	ret = fflush(stdout) == 0 ? 0 : NAPCTL_EXIT_ERROR;
out:
	nap_policy_list_free(l);
	ctl_site_close(&site);
	return ret;
}

int
cmd_policy_show(const struct ctl_cmd *cmd, int argc, char *argv[])
{
	struct nap_store_err err;
	struct nap_policy p;
	struct ctl_site site;
	const char *id;
	bool json = false;
	char t[32], req[600];
	int r, ret = NAPCTL_EXIT_ERROR;

	if ((r = ctl_simple_options(cmd, argc, argv, &json, 1, &id, NULL)) >= 0)
		return r;
	memset(&p, 0, sizeof(p));
	memset(&err, 0, sizeof(err));
	if (ctl_site_open(&site, "policy show", true) != 0)
		goto out;
	if ((r = nap_store_policy_get(site.store, id, &p, &err)) < 0) {
		if (r == -ENOENT)
			ctl_error("policy show: no policy %s", id);
		else
			ctl_store_error("policy show", r, err.msg);
		goto out;
	}
	if (json) {
		ret = ctl_json_print(policy_json(&p));
		goto out;
	}
	printf("id: %s\nseverity: %s\neffective: %s\n", p.id, p.severity,
	       ctl_time_text(p.effective, "asap", t, sizeof(t)));
	if (p.n_reqs == 0)
		printf("requires: nothing (advisory only)\n");
	for (size_t i = 0; i < p.n_reqs; i++) {
		req_text(&p.reqs[i], req, sizeof(req));
		printf("%s%s%s\n", i == 0 ? "requires: " : "          ", req,
		       p.reqs[i].scheme == NAP_SCHEME_DPKG ? " (dpkg)" : "");
	}
	if (p.reason != NULL)
		printf("reason: %s\n", p.reason);
	if (p.created != 0)
		printf("created: %s\n", ctl_time_text(p.created, "", t, sizeof(t)));
	if (p.updated != 0)
		printf("updated: %s\n", ctl_time_text(p.updated, "", t, sizeof(t)));
	ret = fflush(stdout) == 0 ? 0 : NAPCTL_EXIT_ERROR;
out:
	nap_policy_clear(&p);
	ctl_site_close(&site);
	return ret;
}

int
cmd_policy_remove(const struct ctl_cmd *cmd, int argc, char *argv[])
{
	struct nap_store_err err;
	struct ctl_site site;
	const char *id;
	uint64_t rev = 0;
	int r, ret = NAPCTL_EXIT_ERROR;

	if ((r = ctl_simple_options(cmd, argc, argv, NULL, 1, &id, NULL)) >= 0)
		return r;
	memset(&err, 0, sizeof(err));
	if (ctl_site_open(&site, "policy remove", true) == 0) {
		if ((r = nap_store_policy_remove(site.store, id, &rev, &err)) < 0) {
			if (r == -ENOENT)
				ctl_error("policy remove: no policy %s", id);
			else
				ctl_store_error("policy remove", r, err.msg);
		} else {
			printf("policy %s removed\n", id);
			ctl_site_changed(&site, rev);
			ret = 0;
		}
	}
	ctl_site_close(&site);
	return ret;
}

static int
id_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int
cmd_policy_import(const struct ctl_cmd *cmd, int argc, char *argv[])
{
	static const struct option opts[] = {
		{"format", required_argument, NULL, OPT_FORMAT},
		{"replace-all", no_argument, NULL, OPT_REPLACE_ALL},
		{"dry-run", no_argument, NULL, OPT_DRY_RUN},
		CTL_SITE_OPTIONS,
		CTL_HELP_OPTION,
		{NULL, 0, NULL, 0},
	};
	enum nap_policy_import_format format = NAP_POLICY_IMPORT_JSON;
	const char *path, *format_name = NULL, *name;
	struct nap_policy *v = NULL;
	struct nap_policy_list *before = NULL;
	struct nap_store_err err;
	struct ctl_site site;
	const char **ids = NULL;
	bool replace_all = false, dry_run = false;
	uint8_t *text = NULL;
	size_t len = 0, n = 0, added = 0, kept = 0;
	uint64_t rev = 0;
	int c, r, ret = NAPCTL_EXIT_ERROR;

	memset(&site, 0, sizeof(site));
	while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (c) {
		case OPT_FORMAT:
			format_name = optarg;
			break;
		case OPT_REPLACE_ALL:
			replace_all = true;
			break;
		case OPT_DRY_RUN:
			dry_run = true;
			break;
		default:
			if ((r = ctl_common_option(cmd, c)) >= 0)
				return r;
		}
	}
	if (optind >= argc)
		return ctl_usage_error(cmd, "missing FILE (or - for standard input)");
	path = argv[optind++];
	if (optind != argc)
		return ctl_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
	if (format_name != NULL && strcmp(format_name, "json") == 0)
		format = NAP_POLICY_IMPORT_JSON;
	else if (format_name != NULL && strcmp(format_name, "csv") == 0)
		format = NAP_POLICY_IMPORT_CSV;
	else if (format_name != NULL)
		return ctl_usage_error(cmd, "--format: '%s' is not json or csv", format_name);
	name = strcmp(path, "-") == 0 ? "standard input" : path;

	r = nap_read_file(strcmp(path, "-") == 0 ? "/dev/stdin" : path, NAP_POLICY_IMPORT_MAX_LEN,
			  &text, &len);
	if (r == -EFBIG)
		return ctl_error("policy import: %s: larger than %d bytes", name,
				 NAP_POLICY_IMPORT_MAX_LEN);
	if (r < 0)
		return ctl_error("policy import: %s: %s", name, strerror(-r));
	if (format_name == NULL) {
		/* By name, else by the first character. */
		size_t pl = strlen(path);

		if (pl > 4 && strcasecmp(path + pl - 4, ".csv") == 0)
			format = NAP_POLICY_IMPORT_CSV;
		else if (pl > 5 && strcasecmp(path + pl - 5, ".json") == 0)
			format = NAP_POLICY_IMPORT_JSON;
		else
			format = nap_policy_import_guess(text, len);
	}
	memset(&err, 0, sizeof(err));
	if ((r = nap_policy_import_parse(text, len, format, &v, &n, &err)) < 0) {
		ctl_error("policy import: %s: %s; nothing imported", name, err.msg);
		goto out;
	}
	if (dry_run) {
		printf("%s: %zu %s, all good (dry run: nothing stored)\n", name, n,
		       n == 1 ? "policy" : "policies");
		ret = 0;
		goto out;
	}
	if (ctl_site_open(&site, "policy import", true) != 0)
		goto out;
	/* What is new and what is replaced, for the report (the import itself is one step). */
	if ((r = nap_store_policy_list(site.store, &before, &err)) < 0) {
		ctl_store_error("policy import", r, err.msg);
		goto out;
	}
	if ((ids = calloc(before->n + 1, sizeof(*ids))) == NULL) {
		ctl_error("out of memory");
		goto out;
	}
	for (size_t i = 0; i < before->n; i++)
		ids[i] = before->v[i].id;
	qsort(ids, before->n, sizeof(*ids), id_cmp);
	for (size_t i = 0; i < n; i++) {
		const char *key = v[i].id;

		if (bsearch(&key, ids, before->n, sizeof(*ids), id_cmp) != NULL)
			kept++;
		else
			added++;
	}
	if ((r = nap_store_policy_import(site.store, v, n, replace_all, &rev, &err)) < 0) {
		ctl_error("policy import: %s: %s; nothing imported", name,
			  err.msg[0] != '\0' ? err.msg : strerror(-r));
		goto out;
	}
	printf("%zu %s imported from %s: %zu new, %zu replaced", n, n == 1 ? "policy" : "policies",
	       name, added, kept);
	if (replace_all)
		printf(", %zu removed", before->n - kept);
	printf("\n");
	ctl_site_changed(&site, rev);
	ret = 0;
out:
	free(ids);
	nap_policy_list_free(before);
	nap_policy_import_free(v, n);
	free(text);
	ctl_site_close(&site);
	return ret;
}
