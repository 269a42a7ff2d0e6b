// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * napctl key generate, hsr sign, hsr show: site keys and signed health state references. The
 * HSR files are untrusted input; parsing and checking is libnap's (nap_hsr_set_parse).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "nap/hsr.h"
#include "nap/util.h"

#include "dump.h"
#include "napctl.h"

#define HELP_OPTION                                                                                \
	{                                                                                          \
		"help", no_argument, NULL, 'h'                                                     \
	}

int
cmd_key_generate(const struct ctl_cmd *cmd, int argc, char *argv[])
{
	static const struct option opts[] = {
		{"private", required_argument, NULL, 'p'},
		{"public", required_argument, NULL, 'P'},
		HELP_OPTION,
		{NULL, 0, NULL, 0},
	};
	const char *priv = NULL, *pub = NULL;
	int c, r;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			priv = optarg;
			break;
		case 'P':
			pub = optarg;
			break;
		case 'h':
			ctl_help(cmd);
			return 0;
		default:
			return ctl_usage_error(cmd, "bad option");
		}
	}
	if (optind != argc)
		return ctl_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
	if (priv == NULL || pub == NULL)
		return ctl_usage_error(cmd, "--private and --public are required");
	if ((r = nap_key_generate(priv, pub)) < 0)
		return ctl_error("key generate: %s", strerror(-r));
	printf("private key: %s\npublic key: %s\n", priv, pub);
	return 0;
}

int
cmd_hsr_sign(const struct ctl_cmd *cmd, int argc, char *argv[])
{
	static const struct option opts[] = {
		{"key", required_argument, NULL, 'k'},
		{"output", required_argument, NULL, 'o'},
		HELP_OPTION,
		{NULL, 0, NULL, 0},
	};
	const char *key = NULL, *in = NULL, *outp = NULL;
	struct nap_err err = {0, NULL};
	uint8_t *text = NULL;
	size_t len = 0;
	char *signed_doc = NULL;
	int c, r, ret = NAPCTL_EXIT_ERROR;

	while ((c = getopt_long(argc, argv, "k:o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'k':
			key = optarg;
			break;
		case 'o':
			outp = optarg;
			break;
		case 'h':
			ctl_help(cmd);
			return 0;
		default:
			return ctl_usage_error(cmd, "bad option");
		}
	}
	if (optind < argc)
		in = argv[optind++];
	if (optind != argc)
		return ctl_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
	if (key == NULL)
		return ctl_usage_error(cmd, "--key is required");
	if ((r = nap_read_file(in != NULL ? in : "/dev/stdin", NAP_HSR_MAX_LEN, &text, &len)) < 0)
		return ctl_error("hsr sign: %s: %s", in != NULL ? in : "stdin", strerror(-r));
	if ((r = nap_hsr_sign(text, len, key, &signed_doc, &err)) < 0) {
		if (err.what != NULL)
			ctl_error("hsr sign: %s: %s at offset %zu", in != NULL ? in : "stdin",
				  err.what, err.offset);
		else
			ctl_error("hsr sign: %s", strerror(-r));
		goto out;
	}
	if (outp != NULL) {
		size_t n = strlen(signed_doc);
		char *withnl = malloc(n + 2);

		if (withnl == NULL) {
			ctl_error("hsr sign: out of memory");
			goto out;
		}
		memcpy(withnl, signed_doc, n);
		withnl[n] = '\n';
		r = nap_write_file_atomic(outp, withnl, n + 1, 0644);
		free(withnl);
		if (r < 0) {
			ctl_error("hsr sign: %s: %s", outp, strerror(-r));
			goto out;
		}
	} else {
		printf("%s\n", signed_doc);
		if (fflush(stdout) != 0) {
			ctl_error("hsr sign: writing stdout failed");
			goto out;
		}
	}
	ret = 0;
out:
	free(signed_doc);
	free(text);
	return ret;
}

static json_t *
hsr_json(const struct nap_hsr *h)
{
	json_t *o = json_object(), *pols = json_array();

	json_object_set_new(o, "site", json_string(h->site));
	json_object_set_new(o, "revision", json_integer((json_int_t)h->revision));
	json_object_set_new(o, "issued", dump_time(h->issued));
	json_object_set_new(o, "digest", dump_hex(h->digest, sizeof(h->digest)));
	json_object_set_new(o, "key_id", json_string(h->key_id));
	json_object_set_new(o, "policy_count", json_integer((json_int_t)h->n_policies));
	for (size_t i = 0; i < h->n_policies; i++) {
		const struct nap_hsr_policy *p = &h->policies[i];
		json_t *j = json_object();

		json_object_set_new(j, "id", json_string(p->id));
		if (p->package != NULL)
			json_object_set_new(j, "package", json_string(p->package));
		if (p->min_version != NULL)
			json_object_set_new(j, "min_version", json_string(p->min_version));
		json_object_set_new(j, "scheme", json_string(nap_hsr_scheme_name(p->scheme)));
		if (p->severity != NULL)
			json_object_set_new(j, "severity", json_string(p->severity));
		if (p->effective != 0)
			json_object_set_new(j, "effective", dump_time(p->effective));
		if (p->package == NULL && p->n_reqs > 0) {
			json_t *reqs = json_array();

			for (size_t k = 0; k < p->n_reqs; k++) {
				json_t *q = json_object();

				json_object_set_new(q, "package", json_string(p->reqs[k].package));
				json_object_set_new(q, "min_version",
						    json_string(p->reqs[k].min_version));
				json_object_set_new(q, "scheme",
						    json_string(nap_hsr_scheme_name(p->reqs[k].scheme)));
				json_array_append_new(reqs, q);
			}
			json_object_set_new(j, "requires", reqs);
		}
		if (p->reason != NULL)
			json_object_set_new(j, "reason", json_string(p->reason));
		json_array_append_new(pols, j);
	}
	json_object_set_new(o, "policies", pols);
	if (h->n_exemptions > 0) {
		json_t *ex = json_array();

		for (size_t i = 0; i < h->n_exemptions; i++) {
			const struct nap_hsr_exemption *e = &h->exemptions[i];
			json_t *j = json_object(), *ids = json_array();

			json_object_set_new(j, "id", json_string(e->id));
			if (e->client != NULL)
				json_object_set_new(j, "client", json_string(e->client));
			if (e->group != NULL)
				json_object_set_new(j, "group", json_string(e->group));
			for (size_t k = 0; k < e->n_policies; k++)
				json_array_append_new(ids, json_string(e->policies[k]));
			json_object_set_new(j, "policies",
					    e->n_policies > 0 ? ids : (json_decref(ids), json_string("all")));
			if (e->from != 0)
				json_object_set_new(j, "from", dump_time(e->from));
			if (e->until != 0)
				json_object_set_new(j, "until", dump_time(e->until));
			if (e->reason != NULL)
				json_object_set_new(j, "reason", json_string(e->reason));
			json_array_append_new(ex, j);
		}
		json_object_set_new(o, "exemptions", ex);
	}
	if (h->n_groups > 0) {
		json_t *gs = json_array();

		for (size_t i = 0; i < h->n_groups; i++) {
			json_t *j = json_object(), *m = json_array();

			json_object_set_new(j, "name", json_string(h->groups[i].name));
			for (size_t k = 0; k < h->groups[i].n_members; k++)
				json_array_append_new(m, json_string(h->groups[i].members[k]));
			json_object_set_new(j, "members", m);
			json_array_append_new(gs, j);
		}
		json_object_set_new(o, "groups", gs);
	}
	if (h->n_checks > 0) {
		json_t *cs = json_array();

		for (size_t i = 0; i < h->n_checks; i++) {
			const struct nap_hsr_check *c = &h->checks[i];
			json_t *j = json_object();

			json_object_set_new(j, "id", json_string(c->id));
			json_object_set_new(j, "type", json_string(nap_check_type_name(c->type)));
			json_object_set_new(j, "severity", json_string(c->severity));
			if (c->effective != 0)
				json_object_set_new(j, "effective", dump_time(c->effective));
			if (c->max_age != 0)
				json_object_set_new(j, "max_age", json_integer(c->max_age));
			if (c->path != NULL)
				json_object_set_new(j, "path", json_string(c->path));
			if (c->sha256 != NULL)
				json_object_set_new(j, "sha256", json_string(c->sha256));
			if (c->unit != NULL)
				json_object_set_new(j, "unit", json_string(c->unit));
			if (c->type == NAP_CHECK_TYPE_COMMAND) {
				json_t *a = json_array();

				for (size_t k = 0; k < c->n_argv; k++)
					json_array_append_new(a, json_string(c->argv[k]));
				json_object_set_new(j, "argv", a);
				json_object_set_new(j, "exit", json_integer(c->expect_exit));
			}
			if (c->reason != NULL)
				json_object_set_new(j, "reason", json_string(c->reason));
			json_array_append_new(cs, j);
		}
		json_object_set_new(o, "checks", cs);
	}
	return o;
}

int
cmd_hsr_show(const struct ctl_cmd *cmd, int argc, char *argv[])
{
	static const struct option opts[] = {
		{"keys", required_argument, NULL, 'k'},
		{"json", no_argument, NULL, 'j'},
		HELP_OPTION,
		{NULL, 0, NULL, 0},
	};
	const char *keys = NULL, *path;
	struct nap_keyring *kr = NULL;
	struct nap_hsr_set *set = NULL;
	struct nap_err err = {0, NULL};
	bool json = false;
	uint8_t *text = NULL;
	size_t len = 0;
	json_t *root = NULL, *arr;
	int c, r, ret = NAPCTL_EXIT_ERROR;

	for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
		if (strcmp(argv[i], "--directory") == 0)
			return cmd_hsr_show_directory(cmd, argc, argv); /* cmd_hsr_dir.c */
	while ((c = getopt_long(argc, argv, "k:jh", opts, NULL)) != -1) {
		switch (c) {
		case 'k':
			keys = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			ctl_help(cmd);
			return 0;
		default:
			return ctl_usage_error(cmd, "bad option");
		}
	}
	if (optind >= argc)
		return ctl_usage_error(cmd, "missing FILE");
	path = argv[optind++];
	if (optind != argc)
		return ctl_usage_error(cmd, "unexpected argument '%s'", argv[optind]);

	if (keys != NULL) {
		if ((r = nap_keyring_new(&kr)) < 0 || (r = nap_keyring_add_file(kr, keys)) < 0) {
			ctl_error("hsr show: %s: cannot load public keys: %s", keys, strerror(-r));
			goto out;
		}
	}
	if ((r = nap_read_file(path, NAP_HSR_MAX_LEN, &text, &len)) < 0) {
		ctl_error("hsr show: %s: %s", path, strerror(-r));
		goto out;
	}
	if ((r = nap_hsr_set_parse(text, len, kr, &set, &err)) < 0) {
		const char *why = r == -EPERM      ? "signature check failed"
				  : r == -EMSGSIZE ? "over a limit"
						   : "malformed";

		if (err.offset > 0)
			ctl_error("hsr show: %s: %s: %s at offset %zu", path, why,
				  err.what != NULL ? err.what : strerror(-r), err.offset);
		else
			ctl_error("hsr show: %s: %s: %s", path, why,
				  err.what != NULL ? err.what : strerror(-r));
		goto out;
	}
	root = json_object();
	json_object_set_new(root, "file", json_string(path));
	json_object_set_new(root, "signature",
			    json_string(kr != NULL ? "verified" : "not checked (no --keys)"));
	arr = json_array();
	for (size_t i = 0; i < set->n; i++)
		json_array_append_new(arr, hsr_json(&set->v[i]));
	json_object_set_new(root, "hsrs", arr);
	if (json) {
		json_dumpf(root, stdout, JSON_INDENT(2));
		fputc('\n', stdout);
	} else {
		dump_text(stdout, root);
	}
	ret = fflush(stdout) == 0 ? 0 : NAPCTL_EXIT_ERROR;
out:
	json_decref(root);
	nap_hsr_set_free(set);
	nap_keyring_free(kr);
	free(text);
	return ret;
}
