// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * napctl hsr show --directory: what the directory holds. Reads the HSR entries
 * (objectClass napHealthStateReference, schema/nap.schema) under the configured container with
 * libldap, parses each signed document with nap_hsr_set_parse (verifying the signature with
 * --keys), checks that the entry's attributes agree with its document as napvd does, and adds
 * what the store says napsited last published. Directory values are untrusted input: they are
 * parsed by libnap and escaped before printing.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>
#include <ldap.h>

#include "nap/hsr.h"
#include "nap/siteconf.h"
#include "nap/store.h"
#include "nap/util.h"

#include "dump.h"
#include "napctl.h"

#define DIR_DEFAULT_CONTAINER  "cn=System Management"
#define DIR_DEFAULT_TIMEOUT_MS 10000

enum {
	OPT_DIRECTORY = 0x300,
	OPT_SITE,
	OPT_KEYS,
	OPT_URI,
	OPT_BASE,
	OPT_CONTAINER,
	OPT_STARTTLS,
	OPT_CA_FILE,
	OPT_BIND_DN,
	OPT_BIND_PASSWORD_FILE,
	OPT_TIMEOUT,
};

struct dir_opts {
	const char *uri[NAP_SITECONF_MAX_URIS];
	size_t n_uri;
	const char *base, *container, *bind_dn, *password_file, *ca_file, *site;
	int starttls; /* -1: the configuration's (default yes) */
	int64_t timeout_ms;
};

static const char *const dir_attrs[] = {
	"napSiteCode",  "napHsrRevision", "napHsrDocument",
	"napHsrDigest", "napHsrIssued",   "napHsrKeyId",
	NULL,
};

/* One value of a directory attribute as escaped text for output and messages. */
static json_t *
dir_text(const struct berval *bv, size_t max)
{
	char buf[4 * 128 + 1];

	nap_escape((const uint8_t *)bv->bv_val, bv->bv_len < max ? bv->bv_len : max, buf,
		   sizeof(buf));
	return json_string(buf);
}

static bool
dir_value_is(const struct berval *bv, const char *s)
{
	return bv->bv_len == strlen(s) && memcmp(bv->bv_val, s, bv->bv_len) == 0;
}

static struct berval *
dir_first(struct berval **v)
{
	return v != NULL && v[0] != NULL ? v[0] : NULL;
}

/* The LDAP session: TLS as configured, bind when a DN is given. */
static int
dir_connect(const struct dir_opts *o, const char *uri, const char *password, LDAP **out, char *msg,
	    size_t cap)
{
	struct timeval tv = {o->timeout_ms / 1000, (o->timeout_ms % 1000) * 1000};
	int v3 = LDAP_VERSION3, demand = LDAP_OPT_X_TLS_DEMAND, zero = 0, rc;
	LDAP *ld = NULL;
	char *diag = NULL;

	*out = NULL;
	if ((rc = ldap_initialize(&ld, uri)) != LDAP_SUCCESS) {
		snprintf(msg, cap, "%s: %s", uri, ldap_err2string(rc));
		return -EINVAL;
	}
	if (ldap_set_option(ld, LDAP_OPT_PROTOCOL_VERSION, &v3) != LDAP_OPT_SUCCESS ||
	    ldap_set_option(ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF) != LDAP_OPT_SUCCESS ||
	    ldap_set_option(ld, LDAP_OPT_NETWORK_TIMEOUT, &tv) != LDAP_OPT_SUCCESS ||
	    ldap_set_option(ld, LDAP_OPT_TIMEOUT, &tv) != LDAP_OPT_SUCCESS ||
	    ldap_set_option(ld, LDAP_OPT_X_TLS_REQUIRE_CERT, &demand) != LDAP_OPT_SUCCESS ||
	    (o->ca_file != NULL &&
	     ldap_set_option(ld, LDAP_OPT_X_TLS_CACERTFILE, o->ca_file) != LDAP_OPT_SUCCESS) ||
	    ldap_set_option(ld, LDAP_OPT_X_TLS_NEWCTX, &zero) != LDAP_OPT_SUCCESS) {
		snprintf(msg, cap, "%s: cannot set the LDAP/TLS options", uri);
		ldap_unbind_ext_s(ld, NULL, NULL);
		return -EINVAL;
	}
	if (strncasecmp(uri, "ldap://", 7) == 0 && o->starttls != 0) {
		if ((rc = ldap_start_tls_s(ld, NULL, NULL)) != LDAP_SUCCESS) {
			ldap_get_option(ld, LDAP_OPT_DIAGNOSTIC_MESSAGE, &diag);
			snprintf(msg, cap, "%s: StartTLS: %s%s%s", uri, ldap_err2string(rc),
				 diag != NULL ? ": " : "", diag != NULL ? diag : "");
			ldap_memfree(diag);
			ldap_unbind_ext_s(ld, NULL, NULL);
			return -EIO;
		}
	}
	if (o->bind_dn != NULL) {
		struct berval cred = {password != NULL ? strlen(password) : 0, (char *)password};

		rc = ldap_sasl_bind_s(ld, o->bind_dn, LDAP_SASL_SIMPLE, &cred, NULL, NULL, NULL);
		if (rc != LDAP_SUCCESS) {
			snprintf(msg, cap, "%s: bind as %s: %s", uri, o->bind_dn,
				 ldap_err2string(rc));
			ldap_unbind_ext_s(ld, NULL, NULL);
			return -EACCES;
		}
	}
	*out = ld;
	return 0;
}

static void dir_problem(json_t *problems, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void
dir_problem(json_t *problems, const char *fmt, ...)
{
	char buf[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	json_array_append_new(problems, json_string(buf));
}

/* One HSR entry as JSON; *bad set when it fails a check. */
static json_t *
dir_entry(LDAP *ld, LDAPMessage *ent, const struct nap_keyring *kr, bool *bad)
{
	struct berval **v[NAP_ARRAY_SIZE(dir_attrs) - 1];
	struct berval *site, *rev, *doc, *digest, *issued, *key_id;
	struct nap_hsr_set *set = NULL;
	struct nap_err err = {0, NULL};
	json_t *o = json_object(), *problems = json_array();
	char *dn = ldap_get_dn(ld, ent), hex[2 * NAP_HSR_DIGEST_LEN + 1], gt[32], num[32];
	int r;

	for (size_t i = 0; i < NAP_ARRAY_SIZE(v); i++)
		v[i] = ldap_get_values_len(ld, ent, dir_attrs[i]);
	site = dir_first(v[0]);
	rev = dir_first(v[1]);
	doc = dir_first(v[2]);
	digest = dir_first(v[3]);
	issued = dir_first(v[4]);
	key_id = dir_first(v[5]);

	json_object_set_new(o, "dn", json_string(dn != NULL ? dn : "?"));
	/* The attributes until the document is parsed; then the document's own values. */
	json_object_set_new(o, "site", site != NULL ? dir_text(site, 64) : json_null());
	json_object_set_new(o, "revision", rev != NULL ? dir_text(rev, 32) : json_null());
	for (size_t i = 0; i < 3; i++)
		if (dir_first(v[i]) == NULL)
			dir_problem(problems, "%s missing", dir_attrs[i]);
	if (doc != NULL) {
		r = nap_hsr_set_parse((const uint8_t *)doc->bv_val, doc->bv_len, kr, &set, &err);
		if (r < 0) {
			json_object_set_new(o, "signature",
					    json_string(r == -EPERM ? "FAILED" : "not checked"));
			dir_problem(problems, "%s: %s",
				    r == -EPERM ? "signature check failed" : "document rejected",
				    err.what != NULL ? err.what : strerror(-r));
		} else if (set->n != 1) {
			dir_problem(problems, "napHsrDocument holds %zu HSRs, not one", set->n);
		} else {
			const struct nap_hsr *h = &set->v[0];

			nap_hex_encode(h->digest, sizeof(h->digest), hex);
			json_object_set_new(o, "site", json_string(h->site));
			json_object_set_new(o, "revision", json_integer((json_int_t)h->revision));
			json_object_set_new(o, "digest", json_string(hex));
			json_object_set_new(o, "issued", dump_time(h->issued));
			json_object_set_new(o, "key_id", json_string(h->key_id));
			json_object_set_new(o, "policies", json_integer((json_int_t)h->n_policies));
			json_object_set_new(o, "exemptions",
					    json_integer((json_int_t)h->n_exemptions));
			json_object_set_new(o, "groups", json_integer((json_int_t)h->n_groups));
			json_object_set_new(
				o, "signature",
				json_string(kr != NULL ? "verified" : "not checked (no --keys)"));
			/* The attributes are for searching; the signed document decides. */
			snprintf(num, sizeof(num), "%" PRIu64, h->revision);
			if (rev != NULL && !dir_value_is(rev, num))
				dir_problem(
					problems,
					"napHsrRevision differs from the document's revision %s",
					num);
			if (site != NULL && !dir_value_is(site, h->site))
				dir_problem(problems,
					    "napSiteCode differs from the document's site %s",
					    h->site);
			if (digest != NULL && !dir_value_is(digest, hex))
				dir_problem(problems,
					    "napHsrDigest differs from the document's digest");
			if (key_id != NULL && !dir_value_is(key_id, h->key_id))
				dir_problem(problems,
					    "napHsrKeyId differs from the document's key id");
			if (issued != NULL) {
				time_t t = (time_t)h->issued;
				struct tm tm;

				if (gmtime_r(&t, &tm) != NULL &&
				    strftime(gt, sizeof(gt), "%Y%m%d%H%M%SZ", &tm) > 0 &&
				    !dir_value_is(issued, gt))
					dir_problem(problems,
						    "napHsrIssued differs from the "
						    "document's issued time %s",
						    gt);
			}
		}
	}
	if (json_array_size(problems) > 0)
		*bad = true;
	json_object_set_new(o, "problems", problems);
	nap_hsr_set_free(set);
	for (size_t i = 0; i < NAP_ARRAY_SIZE(v); i++)
		ldap_value_free_len(v[i]);
	ldap_memfree(dn);
	return o;
}

/* Search one URI; 0 with the entries appended to arr, or an error in msg. */
static int
dir_search(const struct dir_opts *o, const char *uri, const char *password, const char *base,
	   const struct nap_keyring *kr, json_t *arr, bool *bad, char *msg, size_t cap)
{
	struct timeval tv = {o->timeout_ms / 1000, (o->timeout_ms % 1000) * 1000};
	LDAPMessage *res = NULL;
	char filter[128];
	LDAP *ld;
	int r, rc;

	if ((r = dir_connect(o, uri, password, &ld, msg, cap)) < 0)
		return r;
	if (o->site != NULL)
		snprintf(filter, sizeof(filter),
			 "(&(objectClass=napHealthStateReference)(napSiteCode=%s))", o->site);
	else
		snprintf(filter, sizeof(filter), "(objectClass=napHealthStateReference)");
	rc = ldap_search_ext_s(ld, base, LDAP_SCOPE_ONELEVEL, filter, (char **)dir_attrs, 0, NULL,
			       NULL, &tv, NAP_HSR_MAX_SITES, &res);
	if (rc != LDAP_SUCCESS && rc != LDAP_SIZELIMIT_EXCEEDED) {
		snprintf(msg, cap, "%s: search under %.300s: %s", uri, base, ldap_err2string(rc));
		ldap_msgfree(res);
		ldap_unbind_ext_s(ld, NULL, NULL);
		return rc == LDAP_NO_SUCH_OBJECT ? -ENOENT : -EIO;
	}
	for (LDAPMessage *e = ldap_first_entry(ld, res); e != NULL; e = ldap_next_entry(ld, e))
		json_array_append_new(arr, dir_entry(ld, e, kr, bad));
	ldap_msgfree(res);
	ldap_unbind_ext_s(ld, NULL, NULL);
	return 0;
}

static bool
site_code_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > NAP_SITE_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '-'))
			return false;
	return true;
}

/* What the store says about publishing: its revision and the publish record of each site. */
static json_t *
dir_store(const struct ctl_site *site, json_t *entries, const char *only_site)
{
	struct nap_store *st = NULL;
	struct nap_store_err err;
	json_t *o = json_object(), *recs = json_array(), *sites, *e;
	uint64_t rev = 0;
	size_t i;
	int r;

	memset(&err, 0, sizeof(err));
	json_object_set_new(o, "uri", json_string(site->store_uri));
	if ((r = nap_store_open(site->store_uri, &st, &err)) < 0 ||
	    (r = nap_store_revision(st, &rev, NULL, &err)) < 0) {
		json_object_set_new(o, "error",
				    json_string(err.msg[0] != '\0' ? err.msg : strerror(-r)));
		json_decref(recs);
		nap_store_close(st);
		return o;
	}
	json_object_set_new(o, "revision", json_integer((json_int_t)rev));
	/* Every site the directory showed, or the one asked for, or the configuration's. */
	sites = json_array();

	if (only_site != NULL)
		json_array_append_new(sites, json_string(only_site));
	else if (json_array_size(entries) == 0 && site->conf != NULL)
		json_array_append_new(sites, json_string(site->conf->site));
	json_array_foreach(entries, i, e)
	{
		json_t *s = json_object_get(e, "site");

		if (only_site == NULL && json_is_string(s))
			json_array_append(sites, s);
	}
	json_array_foreach(sites, i, e)
	{
		struct nap_publish_record rec;
		char t[32];

		memset(&rec, 0, sizeof(rec));
		if (!site_code_valid(json_string_value(e)))
			continue;
		r = nap_store_publish_record_get(st, json_string_value(e), &rec, &err);
		if (r == -ENOENT) {
			json_array_append_new(recs,
					      json_pack("{s:s, s:s}", "site", json_string_value(e),
							"published", "never"));
		} else if (r < 0) {
			json_array_append_new(recs,
					      json_pack("{s:s, s:s}", "site", json_string_value(e),
							"error", err.msg));
		} else {
			nap_format_time(rec.published, t, sizeof(t));
			json_array_append_new(recs,
					      json_pack("{s:s, s:I, s:s, s:s}", "site", rec.site,
							"revision", (json_int_t)rec.revision,
							"published", t, "target", rec.target));
		}
	}
	json_decref(sites);
	json_object_set_new(o, "published", recs);
	nap_store_close(st);
	return o;
}

int
cmd_hsr_show_directory(const struct ctl_cmd *cmd, int argc, char *argv[])
{
	static const struct option opts[] = {
		{"directory", no_argument, NULL, OPT_DIRECTORY},
		{"site", required_argument, NULL, OPT_SITE},
		{"keys", required_argument, NULL, OPT_KEYS},
		{"json", no_argument, NULL, CTL_OPT_JSON},
		{"uri", required_argument, NULL, OPT_URI},
		{"base", required_argument, NULL, OPT_BASE},
		{"container", required_argument, NULL, OPT_CONTAINER},
		{"starttls", required_argument, NULL, OPT_STARTTLS},
		{"ca-file", required_argument, NULL, OPT_CA_FILE},
		{"bind-dn", required_argument, NULL, OPT_BIND_DN},
		{"bind-password-file", required_argument, NULL, OPT_BIND_PASSWORD_FILE},
		{"timeout", required_argument, NULL, OPT_TIMEOUT},
		CTL_SITE_OPTIONS,
		CTL_HELP_OPTION,
		{NULL, 0, NULL, 0},
	};
	struct dir_opts o;
	struct ctl_site site;
	struct nap_keyring *kr = NULL;
	const char *keys = NULL, *cli_uri[NAP_SITECONF_MAX_URIS];
	char *password = NULL, base[1024], msg[512], errs[2048] = "";
	size_t n_cli_uri = 0;
	json_t *root = NULL, *entries;
	bool json = false, bad = false, found = false;
	int c, r, ret = NAPCTL_EXIT_ERROR;

	memset(&o, 0, sizeof(o));
	memset(&site, 0, sizeof(site));
	o.starttls = -1;
	o.timeout_ms = -1;
	while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (c) {
		case OPT_DIRECTORY:
			break;
		case OPT_SITE:
			o.site = optarg;
			break;
		case OPT_KEYS:
			keys = optarg;
			break;
		case CTL_OPT_JSON:
			json = true;
			break;
		case OPT_URI:
			if (n_cli_uri == NAP_SITECONF_MAX_URIS)
				return ctl_usage_error(cmd, "more than %d --uri",
						       NAP_SITECONF_MAX_URIS);
			cli_uri[n_cli_uri++] = optarg;
			break;
		case OPT_BASE:
			o.base = optarg;
			break;
		case OPT_CONTAINER:
			o.container = optarg;
			break;
		case OPT_STARTTLS:
			if (strcmp(optarg, "yes") == 0)
				o.starttls = 1;
			else if (strcmp(optarg, "no") == 0)
				o.starttls = 0;
			else
				return ctl_usage_error(cmd, "--starttls: yes or no");
			break;
		case OPT_CA_FILE:
			o.ca_file = optarg;
			break;
		case OPT_BIND_DN:
			o.bind_dn = optarg;
			break;
		case OPT_BIND_PASSWORD_FILE:
			o.password_file = optarg;
			break;
		case OPT_TIMEOUT:
			if (ctl_parse_ms(optarg, &o.timeout_ms) < 0 || o.timeout_ms <= 0)
				return ctl_usage_error(cmd, "--timeout: a duration such as 5s");
			break;
		default:
			if ((r = ctl_common_option(cmd, c)) >= 0)
				return r;
		}
	}
	if (optind != argc)
		return ctl_usage_error(cmd,
				       "unexpected argument '%s' (the directory mode reads "
				       "no file)",
				       argv[optind]);
	if (o.site != NULL && !site_code_valid(o.site))
		return ctl_usage_error(cmd, "--site: 1-%d characters of A-Z a-z 0-9 _ -",
				       NAP_SITE_MAX);
	if (o.bind_dn != NULL && o.password_file == NULL)
		return ctl_usage_error(cmd, "--bind-dn needs --bind-password-file");

	/* The configuration is optional when --uri and --base say where to look. */
	if (ctl_site_load(&site, "hsr show", false) != 0)
		goto out;
	if (site.conf != NULL && site.conf->has_directory) {
		const struct nap_siteconf *sc = site.conf;

		for (size_t i = 0; i < sc->n_dir_uri; i++)
			o.uri[o.n_uri++] = sc->dir_uri[i];
		if (o.base == NULL)
			o.base = sc->dir_base;
		if (o.container == NULL)
			o.container = sc->dir_container;
		if (o.bind_dn == NULL && o.password_file == NULL) {
			o.bind_dn = sc->dir_bind_dn;
			o.password_file = sc->dir_bind_password_file;
		}
		if (o.ca_file == NULL)
			o.ca_file = sc->dir_ca_file;
		if (o.starttls < 0)
			o.starttls = sc->dir_starttls;
		if (o.timeout_ms < 0)
			o.timeout_ms = sc->dir_timeout_ms;
	}
	if (n_cli_uri > 0) {
		memcpy(o.uri, cli_uri, n_cli_uri * sizeof(*cli_uri));
		o.n_uri = n_cli_uri;
	}
	if (o.n_uri == 0 || o.base == NULL) {
		ctl_error("hsr show: no directory: give --uri and --base, or a configuration with "
			  "a [directory] section");
		goto out;
	}
	if (o.container == NULL)
		o.container = DIR_DEFAULT_CONTAINER;
	if (o.timeout_ms < 0)
		o.timeout_ms = DIR_DEFAULT_TIMEOUT_MS;
	if (o.container[0] != '\0')
		r = snprintf(base, sizeof(base), "%s,%s", o.container, o.base);
	else
		r = snprintf(base, sizeof(base), "%s", o.base);
	if (r < 0 || (size_t)r >= sizeof(base)) {
		ctl_error("hsr show: the directory base is too long");
		goto out;
	}
	if (o.bind_dn != NULL) {
		struct nap_siteconf pw;

		memset(&pw, 0, sizeof(pw));
		pw.dir_bind_password_file = (char *)o.password_file;
		if (nap_siteconf_bind_password(&pw, &password, msg, sizeof(msg)) < 0) {
			ctl_error("hsr show: %s", msg);
			goto out;
		}
	}
	if (keys != NULL) {
		if ((r = nap_keyring_new(&kr)) < 0 || (r = nap_keyring_add_file(kr, keys)) < 0) {
			ctl_error("hsr show: %s: cannot load public keys: %s", keys, strerror(-r));
			goto out;
		}
	}

	root = json_object();
	entries = json_array();
	/* Several URIs are tried in order; the first that answers the search counts. */
	for (size_t i = 0; i < o.n_uri && !found; i++) {
		msg[0] = '\0';
		if ((r = dir_search(&o, o.uri[i], password, base, kr, entries, &bad, msg,
				    sizeof(msg))) == 0) {
			json_object_set_new(root, "directory", json_string(o.uri[i]));
			found = true;
		} else {
			size_t l = strlen(errs);

			snprintf(errs + l, sizeof(errs) - l, "%s%s", l > 0 ? "; " : "", msg);
		}
	}
	if (!found) {
		ctl_error("hsr show: directory: %s", errs);
		json_decref(entries);
		goto out;
	}
	json_object_set_new(root, "base", json_string(base));
	json_object_set_new(root, "entries", entries);
	if (json_array_size(entries) == 0) {
		bad = true;
		fprintf(stderr, "napctl: hsr show: no HSR entry%s%s under %s\n",
			o.site != NULL ? " for site " : "", o.site != NULL ? o.site : "", base);
	}
	if (site.store_uri != NULL)
		json_object_set_new(root, "store", dir_store(&site, entries, o.site));
	if (json) {
		json_dumpf(root, stdout, JSON_INDENT(2));
		fputc('\n', stdout);
	} else {
		dump_text(stdout, root);
	}
	if (fflush(stdout) == 0)
		ret = bad ? NAPCTL_EXIT_ERROR : 0;
out:
	json_decref(root);
	nap_keyring_free(kr);
	if (password != NULL) {
		nap_wipe(password, strlen(password));
		free(password);
	}
	ctl_site_close(&site);
	return ret;
}
