// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * napctl agent enroll|list|show|revoke: one-time enrollment tokens for nap's agents, the states
 * they report to napsited's agent endpoint, and revoking their certificates. A token is 32
 * random bytes shown once as hex; the store keeps only its SHA-256. Command-line input only.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "nap/siteconf.h"
#include "nap/store.h"
#include "nap/util.h"

#include "napctl.h"

#define AGENT_DEFAULT_TOKEN_LIFETIME (24 * 3600)

enum {
	OPT_LIFETIME = 0x300,
	OPT_HISTORY,
};

int
cmd_agent_enroll(const struct ctl_cmd *cmd, int argc, char *argv[])
{
	static const struct option opts[] = {
		{"lifetime", required_argument, NULL, OPT_LIFETIME},
		{"json", no_argument, NULL, CTL_OPT_JSON},
		CTL_SITE_OPTIONS,
		CTL_HELP_OPTION,
		{NULL, 0, NULL, 0},
	};
	uint8_t token[NAP_AGENT_TOKEN_LEN], hash[SHA256_DIGEST_LENGTH];
	char hex[2 * NAP_AGENT_TOKEN_LEN + 1], t[32];
	const char *client, *lifetime_arg = NULL;
	struct nap_store_err err;
	struct ctl_site site;
	int64_t lifetime = 0, expires;
	bool json = false;
	int c, r, ret = NAPCTL_EXIT_ERROR;

	while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (c) {
		case OPT_LIFETIME:
			lifetime_arg = optarg;
			break;
		case CTL_OPT_JSON:
			json = true;
			break;
		default:
			if ((r = ctl_common_option(cmd, c)) >= 0)
				return r;
		}
	}
	if (optind >= argc)
		return ctl_usage_error(cmd, "missing CLIENT (the agent's machine name)");
	client = argv[optind++];
	if (optind != argc)
		return ctl_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
	if (lifetime_arg != NULL && (nap_parse_duration(lifetime_arg, &lifetime) < 0 ||
				     lifetime <= 0 || lifetime > 366 * 86400))
		return ctl_usage_error(cmd,
				       "--lifetime: '%s' is not a duration of at most 366d "
				       "(90s, 15m, 24h, 7d)",
				       lifetime_arg);
	if (!nap_client_name_valid(client))
		return ctl_error(
			"agent enroll: client '%s': 1-%d printable ASCII characters without "
			"spaces",
			client, NAP_CLIENT_NAME_MAX);
	if (ctl_site_open(&site, "agent enroll", true) != 0)
		goto out;
	if (lifetime == 0)
		lifetime = site.conf != NULL ? site.conf->agent_token_lifetime
					     : AGENT_DEFAULT_TOKEN_LIFETIME;
	expires = (int64_t)time(NULL) + lifetime;
	if (RAND_bytes(token, sizeof(token)) != 1) {
		ctl_error("agent enroll: no random bytes from OpenSSL");
		goto out;
	}
	SHA256(token, sizeof(token), hash);
	memset(&err, 0, sizeof(err));
	if ((r = nap_store_token_add(site.store, client, hash, expires, &err)) < 0) {
		ctl_store_error("agent enroll", r, err.msg);
		goto out;
	}
	nap_hex_encode(token, sizeof(token), hex);
	nap_format_time(expires, t, sizeof(t));
	/* The token goes to stdout once, alone (or in the JSON), and nowhere else. */
	if (json) {
		json_t *o =
			json_pack("{s:s, s:s, s:s}", "client", client, "token", hex, "expires", t);

		ret = ctl_json_print(o);
	} else {
		printf("%s\n", hex);
		ret = fflush(stdout) == 0 ? 0 : NAPCTL_EXIT_ERROR;
		fprintf(stderr,
			"napctl: one-time enrollment token for %s, valid until %s; it is shown "
			"only now (the store keeps its SHA-256)\n",
			client, t);
	}
out:
	nap_wipe(token, sizeof(token));
	nap_wipe(hex, sizeof(hex));
	ctl_site_close(&site);
	return ret;
}

static const char *
state_name(enum nap_agent_state_id s)
{
	switch (s) {
	case NAP_AGENT_UNRESTRICTED:
		return "unrestricted";
	case NAP_AGENT_DEFERRED:
		return "deferred";
	case NAP_AGENT_RESTRICTED:
		return "restricted";
	}
	return "unknown";
}

static json_t *
state_json(const struct nap_agent_state *s)
{
	json_t *o = json_object(), *m = json_array();
	char t[32];

	json_object_set_new(o, "client", json_string(s->client));
	json_object_set_new(o, "state", json_string(state_name(s->state)));
	json_object_set_new(o, "compliant", json_boolean(s->compliant));
	json_object_set_new(o, "hsr_revision", json_integer((json_int_t)s->hsr_revision));
	json_object_set_new(o, "hsr_digest", json_string(s->hsr_digest));
	json_object_set_new(o, "evaluated",
			    json_string(ctl_time_text(s->evaluated, "", t, sizeof(t))));
	json_object_set_new(o, "received",
			    json_string(ctl_time_text(s->received, "", t, sizeof(t))));
	for (size_t i = 0; i < s->n_missing; i++)
		json_array_append_new(m, json_string(s->missing[i]));
	json_object_set_new(o, "missing", m);
	if (s->detail != NULL) {
		json_t *d = json_loads(s->detail, 0, NULL);

		json_object_set_new(o, "detail", d != NULL ? d : json_string(s->detail));
	}
	return o;
}

static void
missing_text(const struct nap_agent_state *s, char *buf, size_t cap)
{
	size_t o = 0;

	buf[0] = '\0';
	if (s->n_missing == 0)
		snprintf(buf, cap, "-");
	for (size_t i = 0; i < s->n_missing && o < cap; i++)
		o += (size_t)snprintf(buf + o, cap - o, "%s%s", i > 0 ? "," : "", s->missing[i]);
}

static void
state_row(const struct nap_agent_state *s, int cw, bool with_client)
{
	char t1[32], missing[NAP_AGENT_MAX_MISSING * (NAP_UPDATE_ID_MAX + 1) + 2];

	missing_text(s, missing, sizeof(missing));
	if (with_client)
		printf("%-*s  ", cw, s->client);
	printf("%-12s  %-9s  %8" PRIu64 "  %-20s  %s\n", state_name(s->state),
	       s->compliant ? "yes" : "no", s->hsr_revision,
	       ctl_time_text(s->received, "-", t1, sizeof(t1)), missing);
}

int
cmd_agent_list(const struct ctl_cmd *cmd, int argc, char *argv[])
{
	struct nap_agent_state *v = NULL;
	struct nap_store_err err;
	struct ctl_site site;
	bool json = false;
	size_t n = 0;
	int r, ret = NAPCTL_EXIT_ERROR, cw = 6;

	if ((r = ctl_simple_options(cmd, argc, argv, &json, 0, NULL, NULL)) >= 0)
		return r;
	memset(&err, 0, sizeof(err));
	if (ctl_site_open(&site, "agent list", true) != 0)
		goto out;
	if ((r = nap_store_agent_state_list(site.store, &v, &n, &err)) < 0) {
		ctl_store_error("agent list", r, err.msg);
		goto out;
	}
	if (json) {
		json_t *a = json_array();

		for (size_t i = 0; i < n; i++)
			json_array_append_new(a, state_json(&v[i]));
		ret = ctl_json_print(json_pack("{s:o}", "agents", a));
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		if ((int)strlen(v[i].client) > cw)
			cw = (int)strlen(v[i].client);
	if (n > 0)
		printf("%-*s  %-12s  %-9s  %8s  %-20s  %s\n", cw, "CLIENT", "STATE", "COMPLIANT",
		       "REVISION", "RECEIVED", "MISSING");
	for (size_t i = 0; i < n; i++)
		state_row(&v[i], cw, true);
	printf("%zu %s\n", n, n == 1 ? "agent" : "agents");
	ret = fflush(stdout) == 0 ? 0 : NAPCTL_EXIT_ERROR;
out:
	for (size_t i = 0; i < n; i++)
		nap_agent_state_clear(&v[i]);
	free(v);
	ctl_site_close(&site);
	return ret;
}

int
cmd_agent_show(const struct ctl_cmd *cmd, int argc, char *argv[])
{
	static const struct option opts[] = {
		{"history", required_argument, NULL, OPT_HISTORY},
		{"json", no_argument, NULL, CTL_OPT_JSON},
		CTL_SITE_OPTIONS,
		CTL_HELP_OPTION,
		{NULL, 0, NULL, 0},
	};
	struct nap_agent_state s, *hist = NULL;
	struct nap_store_err err;
	struct ctl_site site;
	const char *client;
	bool json = false;
	size_t n_hist = 0;
	long history = 0;
	char *end, t[32], missing[NAP_AGENT_MAX_MISSING * (NAP_UPDATE_ID_MAX + 1) + 2];
	int c, r, ret = NAPCTL_EXIT_ERROR;

	memset(&s, 0, sizeof(s));
	while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (c) {
		case OPT_HISTORY:
			errno = 0;
			history = strtol(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || end == optarg || history < 1 ||
			    history > NAP_AGENT_HISTORY_MAX)
				return ctl_usage_error(cmd, "--history: a count from 1 to %d",
						       NAP_AGENT_HISTORY_MAX);
			break;
		case CTL_OPT_JSON:
			json = true;
			break;
		default:
			if ((r = ctl_common_option(cmd, c)) >= 0)
				return r;
		}
	}
	if (optind >= argc)
		return ctl_usage_error(cmd, "missing CLIENT");
	client = argv[optind++];
	if (optind != argc)
		return ctl_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
	memset(&err, 0, sizeof(err));
	if (ctl_site_open(&site, "agent show", true) != 0)
		goto out;
	if ((r = nap_store_agent_state_get(site.store, client, &s, &err)) < 0) {
		if (r == -ENOENT)
			ctl_error("agent show: %s has reported no state", client);
		else
			ctl_store_error("agent show", r, err.msg);
		goto out;
	}
	if (history > 0 && (r = nap_store_agent_history(site.store, client, (size_t)history, &hist,
							&n_hist, &err)) < 0) {
		ctl_store_error("agent show", r, err.msg);
		goto out;
	}
	if (json) {
		json_t *o = state_json(&s);

		if (history > 0) {
			json_t *a = json_array();

			for (size_t i = 0; i < n_hist; i++)
				json_array_append_new(a, state_json(&hist[i]));
			json_object_set_new(o, "history", a);
		}
		ret = ctl_json_print(o);
		goto out;
	}
	missing_text(&s, missing, sizeof(missing));
	printf("client: %s\nstate: %s\ncompliant: %s\nhsr revision: %" PRIu64 "\n", s.client,
	       state_name(s.state), s.compliant ? "yes" : "no", s.hsr_revision);
	printf("hsr digest: %s\n", s.hsr_digest[0] != '\0' ? s.hsr_digest : "-");
	printf("evaluated: %s\n", ctl_time_text(s.evaluated, "-", t, sizeof(t)));
	printf("received: %s\nmissing: %s\n", ctl_time_text(s.received, "-", t, sizeof(t)),
	       missing);
	if (s.detail != NULL)
		printf("detail: %s\n", s.detail);
	if (history > 0) {
		printf("history (newest first, %zu):\n", n_hist);
		printf("  %-12s  %-9s  %8s  %-20s  %s\n", "STATE", "COMPLIANT", "REVISION",
		       "RECEIVED", "MISSING");
		for (size_t i = 0; i < n_hist; i++) {
			printf("  ");
			state_row(&hist[i], 0, false);
		}
	}
	ret = fflush(stdout) == 0 ? 0 : NAPCTL_EXIT_ERROR;
out:
	for (size_t i = 0; i < n_hist; i++)
		nap_agent_state_clear(&hist[i]);
	free(hist);
	nap_agent_state_clear(&s);
	ctl_site_close(&site);
	return ret;
}

int
cmd_agent_revoke(const struct ctl_cmd *cmd, int argc, char *argv[])
{
	struct nap_store_err err;
	struct ctl_site site;
	const char *client;
	int r, ret = NAPCTL_EXIT_ERROR;

	if ((r = ctl_simple_options(cmd, argc, argv, NULL, 1, &client, NULL)) >= 0)
		return r;
	memset(&err, 0, sizeof(err));
	if (ctl_site_open(&site, "agent revoke", true) == 0) {
		if ((r = nap_store_agent_revoke(site.store, client, &err)) < 0) {
			if (r == -ENOENT)
				ctl_error("agent revoke: no certificate was issued to %s", client);
			else
				ctl_store_error("agent revoke", r, err.msg);
		} else {
			printf("certificates of %s revoked\n", client);
			ret = 0;
		}
	}
	ctl_site_close(&site);
	return ret;
}
