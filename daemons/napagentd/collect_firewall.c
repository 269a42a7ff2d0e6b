// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * The firewall collector: the host firewall is on when the input hook drops by default. In
 * order: the nftables ruleset (nft -j list ruleset, parsed with jansson: a base chain on the
 * input hook of family inet or ip with policy drop), iptables-save (filter table, INPUT chain
 * policy DROP), and when neither can be read (they need CAP_NET_ADMIN) the front ends' own
 * state: ufw enabled with a DROP/REJECT default input policy (/etc/ufw/ufw.conf,
 * /etc/default/ufw), or firewalld active. Handles untrusted input: tool output is bounded and
 * parsed strictly; anything unexpected is ERROR, never PASS.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "collect-int.h"
#include "nap/util.h"

#define FW_OUTPUT_MAX AGENT_COLLECT_OUTPUT_MAX

static const char *
fw_str(json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

void
collect_parse_nft_json(const char *json, size_t len, struct agent_check_result *out)
{
	json_t *root, *arr, *item;
	json_error_t jerr;
	size_t i, tables = 0, chains = 0, rules = 0;
	bool v4 = false, v6 = false;
	char where[128] = "";

	root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
	arr = json_object_get(root, "nftables");
	if (!json_is_array(arr)) {
		collect_set(out, NAP_CHECK_ERROR, "nft: output is not nftables JSON");
		json_decref(root);
		return;
	}
	json_array_foreach(arr, i, item)
	{
		json_t *chain = json_object_get(item, "chain");
		const char *family, *hook, *policy;

		if (json_object_get(item, "table") != NULL)
			tables++;
		if (json_object_get(item, "rule") != NULL)
			rules++;
		if (!json_is_object(chain))
			continue;
		chains++;
		family = fw_str(chain, "family");
		hook = fw_str(chain, "hook");
		policy = fw_str(chain, "policy");
		if (family == NULL || hook == NULL || policy == NULL ||
		    strcmp(hook, "input") != 0 || strcmp(policy, "drop") != 0)
			continue;
		if (strcmp(family, "inet") == 0)
			v4 = v6 = true;
		else if (strcmp(family, "ip") == 0)
			v4 = true;
		else if (strcmp(family, "ip6") == 0)
			v6 = true;
		else
			continue;
		if (where[0] == '\0')
			snprintf(where, sizeof(where), "%s %.40s %.40s", family,
				 fw_str(chain, "table") != NULL ? fw_str(chain, "table") : "?",
				 fw_str(chain, "name") != NULL ? fw_str(chain, "name") : "?");
	}
	if (tables == 0)
		collect_set(out, NAP_CHECK_FAIL, "nftables: the ruleset is empty");
	else if (v4)
		collect_set(out, NAP_CHECK_PASS, "nftables: input policy drop (%s)%s", where,
			    v6 ? "" : "; IPv6 input not default-drop");
	else
		collect_set(out, NAP_CHECK_FAIL,
			    "nftables: no IPv4 input chain with policy drop (%zu tables, %zu chains, "
			    "%zu rules)",
			    tables, chains, rules);
	json_decref(root);
}

void
collect_parse_iptables_save(const char *text, struct agent_check_result *out)
{
	bool in_filter = false, seen_filter = false;
	const char *p = text;

	while (*p != '\0') {
		size_t n = strcspn(p, "\n");
		char line[256];

		snprintf(line, sizeof(line), "%.*s", (int)(n < sizeof(line) - 1 ? n : sizeof(line) - 1),
			 p);
		if (line[0] == '*') {
			in_filter = strcmp(line, "*filter") == 0;
			seen_filter |= in_filter;
		} else if (in_filter && strncmp(line, ":INPUT ", 7) == 0) {
			if (strncmp(line + 7, "DROP ", 5) == 0 || strcmp(line + 7, "DROP") == 0) {
				collect_set(out, NAP_CHECK_PASS, "iptables: INPUT policy DROP");
				return;
			}
			collect_set(out, NAP_CHECK_FAIL, "iptables: INPUT policy %.20s", line + 7);
			return;
		}
		p += n;
		if (*p == '\n')
			p++;
	}
	collect_set(out, NAP_CHECK_FAIL,
		    seen_filter ? "iptables: filter table without an INPUT policy"
				: "iptables: no filter table loaded");
}

/* 1 read (out filled), 0 tool absent, -1 tool present but it failed (why in buf). */
static int
fw_nft(const struct agent_collect_env *env, struct agent_check_result *out, char *why,
       size_t len)
{
	static const char *const nft[] = {"/usr/sbin/nft", "/sbin/nft", "/usr/bin/nft", NULL};
	char tool[PATH_MAX];
	const char *argv[] = {tool, "-j", "list", "ruleset", NULL};
	struct collect_run r;

	if (!collect_find_tool(env, nft, tool, sizeof(tool)))
		return 0;
	if (collect_run(argv, env->timeout_ms, FW_OUTPUT_MAX, &r) < 0) {
		snprintf(why, len, "nft: cannot run");
		return -1;
	}
	if (r.exec_errno != 0 || r.timed_out || r.status != 0 || r.truncated) {
		snprintf(why, len, "nft: %s",
			 r.exec_errno != 0 ? strerror(r.exec_errno)
			 : r.timed_out	   ? "timed out"
			 : r.truncated	   ? "output too large"
					   : "failed (not root?)");
		collect_run_free(&r);
		return -1;
	}
	collect_parse_nft_json(r.out, r.out_len, out);
	collect_run_free(&r);
	if (out->status == NAP_CHECK_ERROR) {
		snprintf(why, len, "%.100s", out->detail);
		return -1;
	}
	return 1;
}

static int
fw_iptables(const struct agent_collect_env *env, struct agent_check_result *out, char *why,
	    size_t len)
{
	static const char *const ipt[] = {"/usr/sbin/iptables-save", "/sbin/iptables-save",
					  "/usr/bin/iptables-save", NULL};
	char tool[PATH_MAX];
	const char *argv[] = {tool, NULL};
	struct collect_run r;

	if (!collect_find_tool(env, ipt, tool, sizeof(tool)))
		return 0;
	if (collect_run(argv, env->timeout_ms, FW_OUTPUT_MAX, &r) < 0) {
		snprintf(why, len, "iptables-save: cannot run");
		return -1;
	}
	if (r.exec_errno != 0 || r.timed_out || r.status != 0) {
		snprintf(why, len, "iptables-save: %s",
			 r.exec_errno != 0 ? strerror(r.exec_errno)
			 : r.timed_out	   ? "timed out"
					   : "failed (not root?)");
		collect_run_free(&r);
		return -1;
	}
	collect_parse_iptables_save(r.out, out);
	collect_run_free(&r);
	return 1;
}

/* KEY=value from a shell-style state file under the root, quotes removed; false when absent. */
static bool
fw_kv(const struct agent_collect_env *env, const char *path, const char *key, char *val,
      size_t len)
{
	char p[PATH_MAX], line[512];
	size_t klen = strlen(key);
	bool found = false;
	FILE *f;

	if (!collect_path(env, path, p, sizeof(p)) || (f = fopen(p, "re")) == NULL)
		return false;
	while (fgets(line, sizeof(line), f) != NULL) {
		char *v = line;

		v += strspn(v, " \t");
		if (strncmp(v, key, klen) != 0 || v[klen] != '=')
			continue;
		v += klen + 1;
		v[strcspn(v, "\r\n#")] = '\0';
		if (*v == '"' || *v == '\'') {
			char q = *v++;
			char *e = strchr(v, q);

			if (e != NULL)
				*e = '\0';
		}
		snprintf(val, len, "%s", v);
		found = true;
	}
	fclose(f);
	return found;
}

void
collect_firewall_probe(const struct agent_collect_env *env, struct agent_check_result *out,
		       const char **product)
{
	char why1[128] = "", why2[128] = "", v[64], state[80];
	bool any_tool = false;
	int r;

	*product = NULL;
	r = fw_nft(env, out, why1, sizeof(why1));
	if (r != 0)
		any_tool = true;
	/* An empty nftables ruleset may still hide legacy iptables rules. */
	if (r == 1 && !(out->status == NAP_CHECK_FAIL && strstr(out->detail, "empty") != NULL)) {
		*product = "nftables";
		return;
	}
	r = fw_iptables(env, out, why2, sizeof(why2));
	if (r != 0)
		any_tool = true;
	if (r == 1) {
		*product = "iptables";
		return;
	}
	/* The ruleset cannot be read: what the front ends say about themselves. */
	if (fw_kv(env, "/etc/ufw/ufw.conf", "ENABLED", v, sizeof(v))) {
		any_tool = true;
		if (strcmp(v, "yes") == 0) {
			char pol[64] = "DROP";

			(void)fw_kv(env, "/etc/default/ufw", "DEFAULT_INPUT_POLICY", pol,
				    sizeof(pol));
			*product = "ufw";
			if (strcmp(pol, "DROP") == 0 || strcmp(pol, "REJECT") == 0)
				collect_set(out, NAP_CHECK_PASS, "ufw enabled, default input %s",
					    pol);
			else
				collect_set(out, NAP_CHECK_FAIL, "ufw enabled, default input %.20s",
					    pol);
			return;
		}
	}
	if (collect_exists(env, "/usr/sbin/firewalld") || collect_exists(env, "/usr/bin/firewalld")) {
		any_tool = true;
		if (collect_unit_active(env, "firewalld.service", state, sizeof(state)) == 1) {
			*product = "firewalld";
			collect_set(out, NAP_CHECK_PASS, "firewalld active");
			return;
		}
	}
	if (!any_tool) {
		collect_set(out, NAP_CHECK_FAIL,
			    "no firewall: neither nftables, iptables, ufw nor firewalld installed");
		return;
	}
	if (why1[0] == '\0' && why2[0] == '\0') {
		/* nft read an empty ruleset, no iptables-save: the firewall is off. */
		*product = "nftables";
		if (out->status != NAP_CHECK_FAIL)
			collect_set(out, NAP_CHECK_FAIL, "no firewall ruleset loaded");
		return;
	}
	if (out->status == NAP_CHECK_FAIL && strstr(out->detail, "empty") != NULL) {
		*product = "nftables";
		return;
	}
	collect_set(out, NAP_CHECK_ERROR, "cannot read the firewall ruleset (%s%s%s)", why1,
		    why1[0] != '\0' && why2[0] != '\0' ? "; " : "", why2);
}
