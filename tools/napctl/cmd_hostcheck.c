// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * napctl hostcheck add|list|show|remove: the HSR's checks (doc/hsr.md "checks") in the site store:
 * host state napagentd's collectors verify (firewall, automatic updates, antivirus, pending
 * reboot, a file, a systemd unit, a command's exit status). Arguments are untrusted input; the
 * store's rules (nap_check_validate, the HSR's) judge them before anything is stored.
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
	OPT_TYPE = 0x300,
	OPT_MAX_AGE,
	OPT_PATH,
	OPT_SHA256,
	OPT_UNIT,
	OPT_ARGV,
	OPT_EXIT,
	OPT_SEVERITY,
	OPT_EFFECTIVE,
	OPT_REASON,
	OPT_REPLACE,
};

static const char *
type_text(enum nap_check_type t)
{
	const char *n = nap_check_type_name(t);

	return n != NULL ? n : "?";
}

/* A check with the HSR's member names. */
static json_t *
check_json(const struct nap_check *c)
{
	json_t *o = json_object();
	char t[32];

	json_object_set_new(o, "id", json_string(c->id));
	json_object_set_new(o, "type", json_string(type_text(c->type)));
	json_object_set_new(o, "severity", json_string(c->severity));
	json_object_set_new(o, "effective",
			    json_string(ctl_time_text(c->effective, "asap", t, sizeof(t))));
	if (c->reason != NULL)
		json_object_set_new(o, "reason", json_string(c->reason));
	if (c->type == NAP_CHECK_TYPE_ANTIVIRUS)
		json_object_set_new(o, "max_age", json_integer(c->max_age));
	if (c->path != NULL)
		json_object_set_new(o, "path", json_string(c->path));
	if (c->sha256 != NULL)
		json_object_set_new(o, "sha256", json_string(c->sha256));
	if (c->unit != NULL)
		json_object_set_new(o, "unit", json_string(c->unit));
	if (c->type == NAP_CHECK_TYPE_COMMAND) {
		json_t *a = json_array();

		for (size_t i = 0; i < c->n_argv; i++)
			json_array_append_new(a, json_string(c->argv[i]));
		json_object_set_new(o, "argv", a);
		json_object_set_new(o, "exit", json_integer(c->expect_exit));
	}
	if (c->created != 0)
		json_object_set_new(o, "created",
				    json_string(ctl_time_text(c->created, "", t, sizeof(t))));
	if (c->updated != 0)
		json_object_set_new(o, "updated",
				    json_string(ctl_time_text(c->updated, "", t, sizeof(t))));
	return o;
}

/* The type's parameters on one line: "max_age 7d", "/etc/x sha256 9f86...", ... */
static void
params_text(const struct nap_check *c, char *buf, size_t cap)
{
	size_t n = 0;

	buf[0] = '\0';
	switch (c->type) {
	case NAP_CHECK_TYPE_ANTIVIRUS:
		if (c->max_age % 86400 == 0)
			snprintf(buf, cap, "max_age %lldd", (long long)(c->max_age / 86400));
		else
			snprintf(buf, cap, "max_age %llds", (long long)c->max_age);
		break;
	case NAP_CHECK_TYPE_FILE:
		snprintf(buf, cap, "%s%s%.16s%s", c->path, c->sha256 != NULL ? " sha256 " : "",
			 c->sha256 != NULL ? c->sha256 : "", c->sha256 != NULL ? "..." : "");
		break;
	case NAP_CHECK_TYPE_SERVICE:
		snprintf(buf, cap, "%s", c->unit);
		break;
	case NAP_CHECK_TYPE_COMMAND:
		for (size_t i = 0; i < c->n_argv && n < cap; i++) {
			int w = snprintf(buf + n, cap - n, "%s%s", i > 0 ? " " : "", c->argv[i]);

			if (w < 0)
				break;
			n += (size_t)w;
		}
		if (n < cap)
			snprintf(buf + n, cap - n, " (exit %d)", c->expect_exit);
		break;
	default:
		break;
	}
}

int
cmd_hostcheck_add(const struct ctl_cmd *cmd, int argc, char *argv[])
{
	static const struct option opts[] = {
		{"type", required_argument, NULL, OPT_TYPE},
		{"max-age", required_argument, NULL, OPT_MAX_AGE},
		{"path", required_argument, NULL, OPT_PATH},
		{"sha256", required_argument, NULL, OPT_SHA256},
		{"unit", required_argument, NULL, OPT_UNIT},
		{"argv", required_argument, NULL, OPT_ARGV},
		{"exit", required_argument, NULL, OPT_EXIT},
		{"severity", required_argument, NULL, OPT_SEVERITY},
		{"effective", required_argument, NULL, OPT_EFFECTIVE},
		{"reason", required_argument, NULL, OPT_REASON},
		{"replace", no_argument, NULL, OPT_REPLACE},
		CTL_SITE_OPTIONS,
		CTL_HELP_OPTION,
		{NULL, 0, NULL, 0},
	};
	const char *type = NULL, *max_age = NULL, *path = NULL, *sha256 = NULL, *unit = NULL;
	const char *exit_s = NULL, *severity = "important", *effective = "asap", *reason = NULL;
	const char *args[NAP_HSR_MAX_ARGV], *id;
	struct nap_store_err err;
	struct ctl_site site;
	struct nap_check c;
	size_t n_args = 0;
	bool replace = false;
	uint64_t rev = 0;
	int opt, r, ret = NAPCTL_EXIT_ERROR;

	while ((opt = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (opt) {
		case OPT_TYPE:
			type = optarg;
			break;
		case OPT_MAX_AGE:
			max_age = optarg;
			break;
		case OPT_PATH:
			path = optarg;
			break;
		case OPT_SHA256:
			sha256 = optarg;
			break;
		case OPT_UNIT:
			unit = optarg;
			break;
		case OPT_ARGV:
			if (n_args == NAP_HSR_MAX_ARGV)
				return ctl_usage_error(cmd, "more than %d --argv", NAP_HSR_MAX_ARGV);
			args[n_args++] = optarg;
			break;
		case OPT_EXIT:
			exit_s = optarg;
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
			if ((r = ctl_common_option(cmd, opt)) >= 0)
				return r;
		}
	}
	if (optind >= argc)
		return ctl_usage_error(cmd, "missing check ID");
	id = argv[optind++];
	if (optind != argc)
		return ctl_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
	if (type == NULL)
		return ctl_usage_error(cmd, "--type is required (firewall, auto_updates, antivirus, "
					    "reboot, file, service or command)");

	memset(&c, 0, sizeof(c));
	if (nap_check_type_from_name(type, &c.type) < 0)
		return ctl_usage_error(cmd,
				       "--type: '%s' is not firewall, auto_updates, antivirus, "
				       "reboot, file, service or command",
				       type);
	if (strlen(id) > NAP_POLICY_ID_MAX || !nap_policy_id_valid(id))
		return ctl_error("hostcheck add: check id '%s': 1-%d characters of A-Z a-z 0-9 . _ : + ~ -",
				 id, NAP_POLICY_ID_MAX);
	memcpy(c.id, id, strlen(id) + 1);
	if (strlen(severity) >= sizeof(c.severity) || !nap_severity_valid(severity))
		return ctl_error("hostcheck add: --severity: '%s' is not critical, important, moderate "
				 "or low",
				 severity);
	memcpy(c.severity, severity, strlen(severity) + 1);
	if (ctl_parse_time(effective, true, &c.effective) < 0)
		return ctl_usage_error(cmd,
				       "--effective: '%s' is not asap, YYYY-MM-DD or "
				       "YYYY-MM-DDTHH:MM:SSZ",
				       effective);
	if (max_age != NULL) {
		int64_t ms;

		if (ctl_parse_ms(max_age, &ms) < 0 || ms < 1000)
			return ctl_usage_error(cmd,
					       "--max-age: '%s' is not a duration of 1s or more "
					       "(7d, 12h, 3600)",
					       max_age);
		c.max_age = ms / 1000;
	}
	if (exit_s != NULL) {
		char *end;
		long v;

		errno = 0;
		v = strtol(exit_s, &end, 10);
		if (errno != 0 || end == exit_s || *end != '\0' || v < 0 || v > 255)
			return ctl_usage_error(cmd, "--exit: '%s' is not 0-255", exit_s);
		if (c.type != NAP_CHECK_TYPE_COMMAND)
			return ctl_usage_error(cmd, "--exit goes with --type command");
		c.expect_exit = (int)v;
	}
	if (n_args > 0) {
		c.argv = calloc(n_args, sizeof(*c.argv));
		if (c.argv == NULL)
			return ctl_error("out of memory");
		for (size_t i = 0; i < n_args; i++) {
			if ((c.argv[i] = strdup(args[i])) == NULL) {
				ctl_error("out of memory");
				goto out;
			}
			c.n_argv = i + 1;
		}
	}
	if ((path != NULL && (c.path = strdup(path)) == NULL) ||
	    (sha256 != NULL && (c.sha256 = strdup(sha256)) == NULL) ||
	    (unit != NULL && (c.unit = strdup(unit)) == NULL) ||
	    (reason != NULL && (c.reason = strdup(reason)) == NULL)) {
		ctl_error("out of memory");
		goto out;
	}
	memset(&err, 0, sizeof(err));
	if ((r = nap_check_validate(&c, &err)) < 0) {
		ctl_store_error("hostcheck add", r, err.msg);
		goto out;
	}
	if (ctl_site_open(&site, "hostcheck add", true) == 0) {
		if ((r = nap_store_check_add(site.store, &c, replace, &rev, &err)) < 0) {
			if (r == -EEXIST && strstr(err.msg, "share ids") == NULL)
				ctl_error("hostcheck add: check %s exists (--replace replaces it)", c.id);
			else
				ctl_store_error("hostcheck add", r, err.msg);
		} else {
			printf("check %s %s\n", c.id, replace ? "stored" : "added");
			ctl_site_changed(&site, rev);
			ret = 0;
		}
	}
	ctl_site_close(&site);
out:
	nap_check_clear(&c);
	return ret;
}

int
cmd_hostcheck_list(const struct ctl_cmd *cmd, int argc, char *argv[])
{
	struct nap_check_list *l = NULL;
	struct nap_store_err err;
	struct ctl_site site;
	bool json = false;
	uint64_t rev = 0;
	char t[32], params[512];
	int r, ret = NAPCTL_EXIT_ERROR, idw = 2;

	if ((r = ctl_simple_options(cmd, argc, argv, &json, 0, NULL, NULL)) >= 0)
		return r;
	memset(&err, 0, sizeof(err));
	if (ctl_site_open(&site, "hostcheck list", true) != 0)
		goto out;
	if ((r = nap_store_revision(site.store, &rev, NULL, &err)) < 0 ||
	    (r = nap_store_check_list(site.store, &l, &err)) < 0) {
		ctl_store_error("hostcheck list", r, err.msg);
		goto out;
	}
	if (json) {
		json_t *root = json_object(), *a = json_array();

		json_object_set_new(root, "revision", json_integer((json_int_t)rev));
		for (size_t i = 0; i < l->n; i++)
			json_array_append_new(a, check_json(&l->v[i]));
		json_object_set_new(root, "checks", a);
		ret = ctl_json_print(root);
		goto out;
	}
	for (size_t i = 0; i < l->n; i++)
		if ((int)strlen(l->v[i].id) > idw)
			idw = (int)strlen(l->v[i].id);
	if (l->n > 0)
		printf("%-*s  %-12s  %-9s  %-20s  %s\n", idw, "ID", "TYPE", "SEVERITY", "EFFECTIVE",
		       "PARAMETERS");
	for (size_t i = 0; i < l->n; i++) {
		const struct nap_check *c = &l->v[i];

		params_text(c, params, sizeof(params));
		printf("%-*s  %-12s  %-9s  %-20s  %s\n", idw, c->id, type_text(c->type),
		       c->severity, ctl_time_text(c->effective, "asap", t, sizeof(t)), params);
	}
	printf("%zu %s, revision %llu\n", l->n, l->n == 1 ? "check" : "checks",
	       (unsigned long long)rev);
	ret = fflush(stdout) == 0 ? 0 : NAPCTL_EXIT_ERROR;
out:
	nap_check_list_free(l);
	ctl_site_close(&site);
	return ret;
}

int
cmd_hostcheck_show(const struct ctl_cmd *cmd, int argc, char *argv[])
{
	struct nap_store_err err;
	struct ctl_site site;
	struct nap_check c;
	const char *id;
	bool json = false;
	char t[32], params[512];
	int r, ret = NAPCTL_EXIT_ERROR;

	if ((r = ctl_simple_options(cmd, argc, argv, &json, 1, &id, NULL)) >= 0)
		return r;
	memset(&c, 0, sizeof(c));
	memset(&err, 0, sizeof(err));
	if (ctl_site_open(&site, "hostcheck show", true) != 0)
		goto out;
	if ((r = nap_store_check_get(site.store, id, &c, &err)) < 0) {
		if (r == -ENOENT)
			ctl_error("hostcheck show: no check %s", id);
		else
			ctl_store_error("hostcheck show", r, err.msg);
		goto out;
	}
	if (json) {
		ret = ctl_json_print(check_json(&c));
		goto out;
	}
	params_text(&c, params, sizeof(params));
	printf("id: %s\ntype: %s\nseverity: %s\neffective: %s\n", c.id, type_text(c.type),
	       c.severity, ctl_time_text(c.effective, "asap", t, sizeof(t)));
	if (params[0] != '\0')
		printf("parameters: %s\n", params);
	if (c.sha256 != NULL)
		printf("sha256: %s\n", c.sha256);
	if (c.reason != NULL)
		printf("reason: %s\n", c.reason);
	if (c.created != 0)
		printf("created: %s\n", ctl_time_text(c.created, "", t, sizeof(t)));
	if (c.updated != 0)
		printf("updated: %s\n", ctl_time_text(c.updated, "", t, sizeof(t)));
	ret = fflush(stdout) == 0 ? 0 : NAPCTL_EXIT_ERROR;
out:
	nap_check_clear(&c);
	ctl_site_close(&site);
	return ret;
}

int
cmd_hostcheck_remove(const struct ctl_cmd *cmd, int argc, char *argv[])
{
	struct nap_store_err err;
	struct ctl_site site;
	const char *id;
	uint64_t rev = 0;
	int r, ret = NAPCTL_EXIT_ERROR;

	if ((r = ctl_simple_options(cmd, argc, argv, NULL, 1, &id, NULL)) >= 0)
		return r;
	memset(&err, 0, sizeof(err));
	if (ctl_site_open(&site, "hostcheck remove", true) == 0) {
		if ((r = nap_store_check_remove(site.store, id, &rev, &err)) < 0) {
			if (r == -ENOENT)
				ctl_error("hostcheck remove: no check %s", id);
			else
				ctl_store_error("hostcheck remove", r, err.msg);
		} else {
			printf("check %s removed\n", id);
			ctl_site_changed(&site, rev);
			ret = 0;
		}
	}
	ctl_site_close(&site);
	return ret;
}
