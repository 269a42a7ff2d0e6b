// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * napctl shv add|list|show|set|remove|push|status: the SHV points (napvd hosts) whose settings
 * napsited writes over SMB into their configuration share as nap-shv.conf (include/nap/shv.h),
 * and the status napvd writes back. Settings are validated with the parser napvd itself runs
 * before they are stored and before a push. Command-line input, and the status file from a
 * share (parsed strictly, stored as text).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "nap/shv.h"
#include "nap/siteconf.h"
#include "nap/smb.h"
#include "nap/store.h"
#include "nap/util.h"

#include "napctl.h"

enum {
	OPT_URL = 0x300,
	OPT_CREDENTIALS,
	OPT_WAIT,
	OPT_KEY0 = 0x400, /* + enum nap_shv_key: --site, --validity-period, ... */
};

#define SHV_WAIT_DEFAULT_MS 15000

/* "validity_period" as an option: "validity-period". */
static void
shv_option_name(enum nap_shv_key k, char *out, size_t cap)
{
	snprintf(out, cap, "%s", nap_shv_key_name(k));
	for (char *p = out; *p != '\0'; p++)
		if (*p == '_')
			*p = '-';
}

static int
shv_set_key(const struct ctl_cmd *cmd, struct nap_shv_settings *s, enum nap_shv_key k,
	    const char *value)
{
	char err[NAP_SHV_ERROR_LEN];

	if (nap_shv_settings_set(s, k, value, err, sizeof(err)) < 0)
		return ctl_usage_error(cmd, "%s", err);
	return -1;
}

static json_t *
shv_point_json(const struct nap_shv_point *p)
{
	json_t *o = json_object();
	char t[32];

	json_object_set_new(o, "host", json_string(p->host));
	json_object_set_new(o, "url", json_string(p->url));
	json_object_set_new(o, "credentials", json_string(p->credentials));
	json_object_set_new(o, "revision", json_integer((json_int_t)p->revision));
	json_object_set_new(o, "pushed_revision", json_integer((json_int_t)p->pushed_revision));
	json_object_set_new(o, "pushed",
			    p->pushed != 0 ? json_string(ctl_time_text(p->pushed, "", t, sizeof(t)))
					   : json_null());
	json_object_set_new(o, "settings", nap_shv_settings_to_json(&p->settings));
	json_object_set_new(o, "status", p->status != NULL ? json_string(p->status) : json_null());
	if (p->status_detail != NULL) {
		json_t *d = json_loads(p->status_detail, 0, NULL);

		json_object_set_new(o, "status_detail",
				    d != NULL ? d : json_string(p->status_detail));
	} else {
		json_object_set_new(o, "status_detail", json_null());
	}
	json_object_set_new(o, "created", json_string(ctl_time_text(p->created, "", t, sizeof(t))));
	json_object_set_new(o, "updated", json_string(ctl_time_text(p->updated, "", t, sizeof(t))));
	return o;
}

int
cmd_shv_add(const struct ctl_cmd *cmd, int argc, char *argv[])
{
	struct option opts[NAP_SHV_KEY_COUNT + 8];
	char names[NAP_SHV_KEY_COUNT][40];
	struct nap_shv_point p;
	struct nap_store_err err;
	struct ctl_site site;
	const char *url = NULL, *cred = NULL;
	size_t n = 0;
	int c, r, ret = NAPCTL_EXIT_ERROR;

	memset(&p, 0, sizeof(p));
	memset(opts, 0, sizeof(opts));
	opts[n++] = (struct option){"url", required_argument, NULL, OPT_URL};
	opts[n++] = (struct option){"credentials", required_argument, NULL, OPT_CREDENTIALS};
	for (size_t k = 0; k < NAP_SHV_KEY_COUNT; k++) {
		shv_option_name((enum nap_shv_key)k, names[k], sizeof(names[k]));
		opts[n++] = (struct option){names[k], required_argument, NULL, OPT_KEY0 + (int)k};
	}
	opts[n++] = (struct option){"config", required_argument, NULL, CTL_OPT_CONFIG};
	opts[n++] = (struct option){"store", required_argument, NULL, CTL_OPT_STORE};
	opts[n++] = (struct option){"help", no_argument, NULL, 'h'};
	while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		if (c == OPT_URL) {
			url = optarg;
		} else if (c == OPT_CREDENTIALS) {
			cred = optarg;
		} else if (c >= OPT_KEY0 && c < OPT_KEY0 + NAP_SHV_KEY_COUNT) {
			if ((r = shv_set_key(cmd, &p.settings, (enum nap_shv_key)(c - OPT_KEY0),
					     optarg)) >= 0)
				goto out_settings;
		} else if ((r = ctl_common_option(cmd, c)) >= 0) {
			goto out_settings;
		}
	}
	r = NAPCTL_EXIT_USAGE;
	if (optind >= argc) {
		ctl_usage_error(cmd, "missing HOST");
		goto out_settings;
	}
	if (optind + 1 != argc) {
		ctl_usage_error(cmd, "unexpected argument '%s'", argv[optind + 1]);
		goto out_settings;
	}
	if (url == NULL || cred == NULL) {
		ctl_usage_error(cmd, "--url and --credentials are required");
		goto out_settings;
	}
	if (strlen(argv[optind]) > NAP_SHV_HOST_MAX || strlen(url) > NAP_SHV_URL_MAX ||
	    strlen(cred) > NAP_SHV_PATH_MAX) {
		ctl_usage_error(cmd, "HOST, --url or --credentials too long");
		goto out_settings;
	}
	snprintf(p.host, sizeof(p.host), "%s", argv[optind]);
	snprintf(p.url, sizeof(p.url), "%s", url);
	snprintf(p.credentials, sizeof(p.credentials), "%s", cred);
	if (ctl_site_open(&site, "shv add", true) == 0) {
		char why[NAP_SHV_ERROR_LEN];

		/* The SHV point's site defaults to the site server's own. */
		if (p.settings.value[NAP_SHV_SITE] == NULL && site.conf != NULL &&
		    nap_shv_settings_set(&p.settings, NAP_SHV_SITE, site.conf->site, why,
					 sizeof(why)) < 0)
			ctl_error("shv add: %s", why);
		memset(&err, 0, sizeof(err));
		if ((r = nap_store_shv_add(site.store, &p, &err)) < 0) {
			if (r == -EEXIST)
				ctl_error("shv add: SHV point %s exists (shv set changes it)", p.host);
			else
				ctl_store_error("shv add", r, err.msg);
		} else {
			printf("SHV point %s added at revision 1; napsited pushes it (or: napctl shv "
			       "push %s)\n",
			       p.host, p.host);
			ret = 0;
		}
	}
	ctl_site_close(&site);
	r = ret;
out_settings:
	nap_shv_point_clear(&p);
	return r;
}

int
cmd_shv_list(const struct ctl_cmd *cmd, int argc, char *argv[])
{
	struct nap_shv_point *v = NULL;
	struct nap_store_err err;
	struct ctl_site site;
	size_t n = 0;
	bool json = false;
	int r, ret = NAPCTL_EXIT_ERROR;

	if ((r = ctl_simple_options(cmd, argc, argv, &json, 0, NULL, NULL)) >= 0)
		return r;
	memset(&err, 0, sizeof(err));
	if (ctl_site_open(&site, "shv list", true) != 0)
		goto out;
	if ((r = nap_store_shv_list(site.store, &v, &n, &err)) < 0) {
		ctl_store_error("shv list", r, err.msg);
		goto out;
	}
	if (json) {
		json_t *root = json_object(), *a = json_array();

		for (size_t i = 0; i < n; i++)
			json_array_append_new(a, shv_point_json(&v[i]));
		json_object_set_new(root, "shv_points", a);
		ret = ctl_json_print(root);
		goto out;
	}
	if (n > 0)
		printf("%-24s  %-8s  %-8s  %-10s  %s\n", "HOST", "REVISION", "PUSHED", "STATUS",
		       "URL");
	for (size_t i = 0; i < n; i++)
		printf("%-24s  %-8" PRIu64 "  %-8" PRIu64 "  %-10s  %s\n", v[i].host, v[i].revision,
		       v[i].pushed_revision, v[i].status != NULL ? v[i].status : "-", v[i].url);
	ret = 0;
out:
	nap_shv_points_free(v, n);
	ctl_site_close(&site);
	return ret;
}

int
cmd_shv_show(const struct ctl_cmd *cmd, int argc, char *argv[])
{
	struct nap_shv_point p = {0};
	struct nap_store_err err;
	struct ctl_site site;
	const char *host;
	bool json = false;
	char t[32], *text = NULL;
	size_t len;
	int r, ret = NAPCTL_EXIT_ERROR;

	if ((r = ctl_simple_options(cmd, argc, argv, &json, 1, &host, NULL)) >= 0)
		return r;
	memset(&err, 0, sizeof(err));
	if (ctl_site_open(&site, "shv show", true) != 0)
		goto out;
	if ((r = nap_store_shv_get(site.store, host, &p, &err)) < 0) {
		ctl_store_error("shv show", r, err.msg);
		goto out;
	}
	if (json) {
		ret = ctl_json_print(shv_point_json(&p));
		goto out;
	}
	printf("host: %s\nurl: %s\ncredentials: %s\nrevision: %" PRIu64 "\n", p.host, p.url,
	       p.credentials, p.revision);
	printf("pushed: revision %" PRIu64 " at %s\n", p.pushed_revision,
	       ctl_time_text(p.pushed, "never", t, sizeof(t)));
	printf("status: %s\n", p.status != NULL ? p.status : "-");
	if (p.status_detail != NULL)
		printf("status detail: %s%s", p.status_detail,
		       p.status_detail[0] != '\0' &&
				       p.status_detail[strlen(p.status_detail) - 1] == '\n'
			       ? ""
			       : "\n");
	printf("\n");
	if (nap_shv_settings_render(&p.settings, p.host, p.revision, &text, &len) == 0)
		fputs(text, stdout);
	free(text);
	ret = 0;
out:
	nap_shv_point_clear(&p);
	ctl_site_close(&site);
	return ret;
}

int
cmd_shv_set(const struct ctl_cmd *cmd, int argc, char *argv[])
{
	static const struct option opts[] = {
		{"url", required_argument, NULL, OPT_URL},
		{"credentials", required_argument, NULL, OPT_CREDENTIALS},
		CTL_SITE_OPTIONS,
		CTL_HELP_OPTION,
		{NULL, 0, NULL, 0},
	};
	struct nap_shv_point p = {0};
	struct nap_store_err err;
	struct ctl_site site;
	const char *host, *url = NULL, *cred = NULL;
	uint64_t rev = 0;
	int c, r, ret = NAPCTL_EXIT_ERROR;

	while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		if (c == OPT_URL)
			url = optarg;
		else if (c == OPT_CREDENTIALS)
			cred = optarg;
		else if ((r = ctl_common_option(cmd, c)) >= 0)
			return r;
	}
	if (optind >= argc)
		return ctl_usage_error(cmd, "missing HOST");
	host = argv[optind++];
	if (optind == argc && url == NULL && cred == NULL)
		return ctl_usage_error(cmd, "nothing to set (KEY=VALUE, KEY= to unset)");
	memset(&err, 0, sizeof(err));
	if (ctl_site_open(&site, "shv set", true) != 0)
		goto out;
	if ((r = nap_store_shv_get(site.store, host, &p, &err)) < 0) {
		ctl_store_error("shv set", r, err.msg);
		goto out;
	}
	for (int i = optind; i < argc; i++) {
		char *eq = strchr(argv[i], '='), name[64];
		enum nap_shv_key k;
		size_t nl;

		if (eq == NULL || (nl = (size_t)(eq - argv[i])) >= sizeof(name)) {
			ret = ctl_usage_error(cmd, "'%s': want KEY=VALUE", argv[i]);
			goto out;
		}
		memcpy(name, argv[i], nl);
		name[nl] = '\0';
		for (char *q = name; *q != '\0'; q++)
			if (*q == '-')
				*q = '_';
		if (nap_shv_key_from_name(name, &k) < 0) {
			ret = ctl_usage_error(cmd, "unknown key '%s'", name);
			goto out;
		}
		if ((r = shv_set_key(cmd, &p.settings, k, eq[1] != '\0' ? eq + 1 : NULL)) >= 0) {
			ret = r;
			goto out;
		}
	}
	if ((r = nap_store_shv_update(site.store, host, url, cred, &p.settings, &rev, &err)) < 0) {
		ctl_store_error("shv set", r, err.msg);
		goto out;
	}
	if (rev == p.revision)
		printf("SHV point %s unchanged at revision %" PRIu64 "\n", host, rev);
	else
		printf("SHV point %s at revision %" PRIu64 "\n", host, rev);
	ret = 0;
out:
	nap_shv_point_clear(&p);
	ctl_site_close(&site);
	return ret;
}

int
cmd_shv_remove(const struct ctl_cmd *cmd, int argc, char *argv[])
{
	struct nap_store_err err;
	struct ctl_site site;
	const char *host;
	int r, ret = NAPCTL_EXIT_ERROR;

	if ((r = ctl_simple_options(cmd, argc, argv, NULL, 1, &host, NULL)) >= 0)
		return r;
	memset(&err, 0, sizeof(err));
	if (ctl_site_open(&site, "shv remove", true) == 0) {
		if ((r = nap_store_shv_remove(site.store, host, &err)) < 0) {
			ctl_store_error("shv remove", r, err.msg);
		} else {
			printf("SHV point %s removed (its share keeps the last file pushed)\n", host);
			ret = 0;
		}
	}
	ctl_site_close(&site);
	return ret;
}

/*
 * Read the status back and store it. Returns 0 (read), -ENOENT (none yet) or another error
 * (stored as unreachable). *st gets the parse.
 */
static int
shv_status_read(struct ctl_site *site, struct nap_smb *smb, const struct nap_shv_point *p,
		struct nap_shv_status *st, char *err, size_t err_len)
{
	struct nap_store_err serr;
	char *raw = NULL;
	int r;

	r = nap_shv_status_fetch(smb, p->url, st, &raw, err, err_len);
	memset(&serr, 0, sizeof(serr));
	if (r == 0)
		nap_store_shv_status_put(site->store, p->host,
					 st->result == NAP_SHV_ACCEPTED ? "accepted" : "rejected",
					 raw, &serr);
	else if (r != -ENOENT)
		nap_store_shv_status_put(site->store, p->host, "unreachable", err, &serr);
	free(raw);
	return r;
}

static void
shv_status_print(const char *host, const struct nap_shv_status *st)
{
	char t[32];

	printf("%s: revision %" PRIu64 " %s at %s, running revision %" PRIu64 "\n", host,
	       st->revision, st->result == NAP_SHV_ACCEPTED ? "accepted" : "rejected",
	       ctl_time_text(st->applied, "?", t, sizeof(t)), st->running_revision);
	for (size_t i = 0; i < st->n_errors; i++)
		printf("  %s\n", st->errors[i]);
}

static int
shv_open_smb(const struct nap_shv_point *p, struct nap_smb **smb, const char *what)
{
	char err[512];

	if (nap_smb_open(smb, p->credentials, err, sizeof(err)) < 0) {
		ctl_error("%s: %s: credentials %s: %s", what, p->host, p->credentials, err);
		return -1;
	}
	return 0;
}

/* The points a command names (one HOST, or all). */
static int
shv_points(struct ctl_site *site, const char *host, struct nap_shv_point **v, size_t *n,
	   const char *what)
{
	struct nap_store_err err;
	int r;

	memset(&err, 0, sizeof(err));
	if (host == NULL) {
		r = nap_store_shv_list(site->store, v, n, &err);
	} else {
		*v = calloc(1, sizeof(**v));
		*n = *v != NULL ? 1 : 0;
		r = *v == NULL ? -ENOMEM : nap_store_shv_get(site->store, host, *v, &err);
	}
	if (r < 0)
		return ctl_store_error(what, r, err.msg);
	return 0;
}

int
cmd_shv_push(const struct ctl_cmd *cmd, int argc, char *argv[])
{
	static const struct option opts[] = {
		{"wait", required_argument, NULL, OPT_WAIT},
		CTL_SITE_OPTIONS,
		CTL_HELP_OPTION,
		{NULL, 0, NULL, 0},
	};
	struct nap_shv_point *v = NULL;
	struct ctl_site site;
	const char *host = NULL;
	int64_t wait_ms = SHV_WAIT_DEFAULT_MS;
	size_t n = 0;
	int c, r, ret = NAPCTL_EXIT_ERROR;

	while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		if (c == OPT_WAIT) {
			if (ctl_parse_ms(optarg, &wait_ms) < 0 || wait_ms > 3600 * 1000)
				return ctl_usage_error(cmd, "--wait: bad duration '%s'", optarg);
		} else if ((r = ctl_common_option(cmd, c)) >= 0) {
			return r;
		}
	}
	if (optind < argc)
		host = argv[optind++];
	if (optind != argc)
		return ctl_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
	if (ctl_site_open(&site, "shv push", true) != 0 ||
	    shv_points(&site, host, &v, &n, "shv push") != 0)
		goto out;
	ret = 0;
	for (size_t i = 0; i < n; i++) {
		struct nap_shv_point *p = &v[i];
		struct nap_shv_status st;
		struct nap_store_err serr;
		struct nap_smb *smb = NULL;
		char err[512];
		struct timespec t0, now;
		int64_t pushed_at;
		bool decided = false;

		if (shv_open_smb(p, &smb, "shv push") < 0) {
			ret = NAPCTL_EXIT_ERROR;
			continue;
		}
		if ((r = nap_shv_push(smb, p, err, sizeof(err))) < 0) {
			ctl_error("shv push: %s: %s: %s", p->host, p->url, err);
			memset(&serr, 0, sizeof(serr));
			nap_store_shv_status_put(site.store, p->host, "unreachable", err, &serr);
			nap_smb_close(smb);
			ret = NAPCTL_EXIT_ERROR;
			continue;
		}
		memset(&serr, 0, sizeof(serr));
		pushed_at = (int64_t)time(NULL);
		nap_store_shv_pushed(site.store, p->host, p->revision, pushed_at, &serr);
		nap_store_shv_status_put(site.store, p->host, "pending", NULL, &serr);
		printf("%s: revision %" PRIu64 " written to %s\n", p->host, p->revision, p->url);
		/* napvd answers with nap-shv.status once it judged this revision. */
		clock_gettime(CLOCK_MONOTONIC, &t0);
		while (wait_ms > 0) {
			r = shv_status_read(&site, smb, p, &st, err, sizeof(err));
			/* Judged after this push: not a status left by an earlier file. */
			if (r == 0 && st.revision == p->revision && st.applied >= pushed_at) {
				decided = true;
				break;
			}
			clock_gettime(CLOCK_MONOTONIC, &now);
			if ((now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000 >=
			    wait_ms)
				break;
			usleep(200 * 1000);
		}
		nap_smb_close(smb);
		if (decided) {
			shv_status_print(p->host, &st);
			if (st.result != NAP_SHV_ACCEPTED)
				ret = ret == 0 ? NAPCTL_EXIT_REJECT : ret;
		} else if (wait_ms > 0) {
			ctl_error("shv push: %s: napvd did not answer for revision %" PRIu64
				  " within %" PRId64 " ms (napctl shv status %s)",
				  p->host, p->revision, wait_ms, p->host);
			ret = NAPCTL_EXIT_ERROR;
		}
	}
out:
	nap_shv_points_free(v, n);
	ctl_site_close(&site);
	return ret;
}

int
cmd_shv_status(const struct ctl_cmd *cmd, int argc, char *argv[])
{
	struct nap_shv_point *v = NULL;
	struct ctl_site site;
	const char *host = NULL;
	bool json = false;
	json_t *root = NULL, *a = NULL;
	size_t n = 0;
	int r, rest, ret = NAPCTL_EXIT_ERROR;

	if ((r = ctl_simple_options(cmd, argc, argv, &json, 0, NULL, &rest)) >= 0)
		return r;
	if (rest < argc)
		host = argv[rest++];
	if (rest != argc)
		return ctl_usage_error(cmd, "unexpected argument '%s'", argv[rest]);
	if (ctl_site_open(&site, "shv status", true) != 0 ||
	    shv_points(&site, host, &v, &n, "shv status") != 0)
		goto out;
	ret = 0;
	if (json) {
		root = json_object();
		a = json_array();
	}
	for (size_t i = 0; i < n; i++) {
		struct nap_shv_point *p = &v[i];
		struct nap_shv_status st;
		struct nap_smb *smb = NULL;
		struct nap_store_err serr;
		char err[512];

		/* Read it now; what the store has when the share does not answer. */
		if (nap_smb_open(&smb, p->credentials, err, sizeof(err)) == 0) {
			r = shv_status_read(&site, smb, p, &st, err, sizeof(err));
			nap_smb_close(smb);
		} else {
			r = -EPERM;
		}
		if (r < 0 && r != -ENOENT)
			ret = NAPCTL_EXIT_ERROR;
		memset(&serr, 0, sizeof(serr));
		{
			char h[NAP_SHV_HOST_MAX + 1];

			/* What the read stored, for the JSON and the last known status. */
			snprintf(h, sizeof(h), "%s", p->host);
			nap_shv_point_clear(p);
			nap_store_shv_get(site.store, h, p, &serr);
		}
		if (json) {
			json_t *o = shv_point_json(p);

			if (r < 0)
				json_object_set_new(o, "error",
						    json_string(r == -ENOENT ? "no status file yet"
									      : err));
			json_array_append_new(a, o);
			continue;
		}
		if (r == 0) {
			shv_status_print(p->host, &st);
			if (st.revision != p->revision)
				printf("  (the store is at revision %" PRIu64 ", pushed %" PRIu64
				       ")\n",
				       p->revision, p->pushed_revision);
		} else if (r == -ENOENT) {
			printf("%s: no status from napvd yet (pushed revision %" PRIu64 ")\n",
			       p->host, p->pushed_revision);
		} else {
			printf("%s: cannot read the status: %s (last known: %s)\n", p->host, err,
			       p->status != NULL ? p->status : "-");
		}
	}
	if (json) {
		json_object_set_new(root, "shv_points", a);
		r = ctl_json_print(root);
		if (ret == 0)
			ret = r;
	}
out:
	nap_shv_points_free(v, n);
	ctl_site_close(&site);
	return ret;
}
