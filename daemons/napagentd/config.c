// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * napagentd.conf: INI (inih). [agent], [site] and [packages] are parsed here; [checks],
 * [remediation], [dhcp] and [hra] go key by key to the modules that own them (collector.h,
 * remediate.h, dhcp_hook.h, hcep.h). The file is trusted (root-owned) but typed by people: every value
 * is checked, unknown sections and keys are errors, and a failed parse leaves nothing behind
 * (SIGHUP relies on that). agent_conf_print() writes the normal form for "napagentd -n".
 */
#include <errno.h>
#include <ini.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "agent.h"
#include "nap/pkgver.h"
#include "nap/util.h"

#define AGENT_DEFAULT_STATE_DIR "/var/lib/napagentd"
#define AGENT_DEFAULT_PIDFILE   "/run/napagentd.pid"
#define AGENT_DEFAULT_STATUS    "/var/lib/dpkg/status"
#define AGENT_CONF_MAX          (256 * 1024) /* napagentd.conf is a few hundred bytes */

struct conf_parse {
	struct agent_conf *c;
	char *err;
	size_t len;
	bool failed;
};

__attribute__((format(printf, 2, 3))) static int
conf_perr(struct conf_parse *p, const char *fmt, ...)
{
	va_list ap;

	if (!p->failed && p->err != NULL && p->len > 0) {
		va_start(ap, fmt);
		vsnprintf(p->err, p->len, fmt, ap);
		va_end(ap);
	}
	p->failed = true;
	return 0;
}

struct agent_conf *
agent_conf_new(void)
{
	struct agent_conf *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	c->state_dir = strdup(AGENT_DEFAULT_STATE_DIR);
	c->pidfile = strdup(AGENT_DEFAULT_PIDFILE);
	c->dpkg_status = strdup(AGENT_DEFAULT_STATUS);
	if (c->state_dir == NULL || c->pidfile == NULL || c->dpkg_status == NULL) {
		agent_conf_free(c);
		return NULL;
	}
	c->evaluate_interval = 3600;
	c->policy_interval = 3600;
	c->http_timeout = 30;
	c->settle = 2;
	c->report_state = true;
	c->backend = AGENT_BACKEND_DPKG;
	agent_checks_conf_defaults(&c->checks);
	agent_remediation_conf_init(&c->remediation);
	agent_dhcp_conf_init(&c->dhcp);
	agent_hra_conf_init(&c->hra);
	return c;
}

void
agent_conf_free(struct agent_conf *c)
{
	if (c == NULL)
		return;
	free(c->path);
	free(c->site);
	free(c->machine_name);
	free(c->state_dir);
	free(c->pidfile);
	free(c->url);
	free(c->ca);
	free(c->cert);
	free(c->key);
	free(c->hsr_key);
	free(c->policy_file);
	free(c->dpkg_status);
	free(c->rpm_dbpath);
	free(c);
}

static int
conf_str(struct conf_parse *p, char **dst, const char *key, const char *value, bool path)
{
	char *v;

	if (*value == '\0')
		return conf_perr(p, "%s: empty value", key);
	if (path && value[0] != '/')
		return conf_perr(p, "%s: \"%s\" is not an absolute path", key, value);
	if (strlen(value) >= PATH_MAX)
		return conf_perr(p, "%s: value too long", key);
	v = strdup(value);
	if (v == NULL)
		return conf_perr(p, "out of memory");
	free(*dst);
	*dst = v;
	return 1;
}

static int
conf_duration(struct conf_parse *p, int64_t *dst, const char *key, const char *value,
	      int64_t min, int64_t max)
{
	int64_t v;

	if (nap_parse_duration(value, &v) < 0 || v < min || v > max)
		return conf_perr(p, "%s: bad duration \"%s\" (%" PRId64 "s .. %" PRId64 "s)", key,
				 value, min, max);
	*dst = v;
	return 1;
}

static int
conf_bool(struct conf_parse *p, bool *dst, const char *key, const char *value)
{
	if (strcasecmp(value, "yes") == 0 || strcasecmp(value, "true") == 0 ||
	    strcasecmp(value, "on") == 0 || strcmp(value, "1") == 0)
		*dst = true;
	else if (strcasecmp(value, "no") == 0 || strcasecmp(value, "false") == 0 ||
		 strcasecmp(value, "off") == 0 || strcmp(value, "0") == 0)
		*dst = false;
	else
		return conf_perr(p, "%s: \"%s\" is not yes or no", key, value);
	return 1;
}

static bool
conf_name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 255)
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '-' || ch == '.' || ch == '_'))
			return false;
	}
	return true;
}

static int
conf_agent(struct conf_parse *p, const char *key, const char *value)
{
	struct agent_conf *c = p->c;

	if (strcmp(key, "site") == 0) {
		if (!nap_site_valid(value))
			return conf_perr(p, "site: \"%s\" is not a site code", value);
		return conf_str(p, &c->site, key, value, false);
	}
	if (strcmp(key, "machine_name") == 0) {
		if (!conf_name_ok(value))
			return conf_perr(p, "machine_name: \"%s\": use [A-Za-z0-9._-], 1..255",
					 value);
		return conf_str(p, &c->machine_name, key, value, false);
	}
	if (strcmp(key, "state_dir") == 0)
		return conf_str(p, &c->state_dir, key, value, true);
	if (strcmp(key, "pidfile") == 0)
		return conf_str(p, &c->pidfile, key, value, true);
	if (strcmp(key, "evaluate_interval") == 0)
		return conf_duration(p, &c->evaluate_interval, key, value, 10, 30 * 86400);
	if (strcmp(key, "validity_period") == 0)
		return conf_duration(p, &c->validity_period, key, value, 0, 365 * 86400);
	if (strcmp(key, "settle") == 0)
		return conf_duration(p, &c->settle, key, value, 0, 600);
	return conf_perr(p, "[agent]: unknown key \"%s\"", key);
}

static int
conf_site(struct conf_parse *p, const char *key, const char *value)
{
	struct agent_conf *c = p->c;

	if (strcmp(key, "url") == 0) {
		if (strncmp(value, "https://", 8) != 0 || value[8] == '\0')
			return conf_perr(p, "url: \"%s\" is not an https:// URL", value);
		return conf_str(p, &c->url, key, value, false);
	}
	if (strcmp(key, "ca") == 0)
		return conf_str(p, &c->ca, key, value, true);
	if (strcmp(key, "cert") == 0)
		return conf_str(p, &c->cert, key, value, true);
	if (strcmp(key, "key") == 0)
		return conf_str(p, &c->key, key, value, true);
	if (strcmp(key, "hsr_key") == 0)
		return conf_str(p, &c->hsr_key, key, value, true);
	if (strcmp(key, "policy_file") == 0)
		return conf_str(p, &c->policy_file, key, value, true);
	if (strcmp(key, "policy_interval") == 0)
		return conf_duration(p, &c->policy_interval, key, value, 10, 30 * 86400);
	if (strcmp(key, "timeout") == 0)
		return conf_duration(p, &c->http_timeout, key, value, 1, 600);
	if (strcmp(key, "report_state") == 0)
		return conf_bool(p, &c->report_state, key, value);
	return conf_perr(p, "[site]: unknown key \"%s\"", key);
}

static int
conf_packages(struct conf_parse *p, const char *key, const char *value)
{
	struct agent_conf *c = p->c;

	if (strcmp(key, "backend") == 0) {
		if (strcmp(value, "dpkg") == 0)
			c->backend = AGENT_BACKEND_DPKG;
		else if (strcmp(value, "rpm") == 0)
			c->backend = AGENT_BACKEND_RPM;
		else
			return conf_perr(p, "backend: \"%s\" is not dpkg or rpm", value);
		return 1;
	}
	if (strcmp(key, "dpkg_status") == 0)
		return conf_str(p, &c->dpkg_status, key, value, true);
	if (strcmp(key, "rpm_dbpath") == 0)
		return conf_str(p, &c->rpm_dbpath, key, value, true);
	return conf_perr(p, "[packages]: unknown key \"%s\"", key);
}

/* A key of a section another module owns: 0 ok, 1 not its key, < 0 error (message in err). */
static int
conf_module(struct conf_parse *p, const char *section, const char *key, const char *value)
{
	char err[256] = "";
	int r;

	if (strcmp(section, "checks") == 0)
		r = agent_checks_conf_set(&p->c->checks, key, value, err, sizeof(err));
	else if (strcmp(section, "remediation") == 0)
		r = agent_remediation_conf_set(&p->c->remediation, key, value, err, sizeof(err));
	else if (strcmp(section, "hra") == 0)
		r = agent_hra_conf_set(&p->c->hra, key, value, err, sizeof(err));
	else
		r = agent_dhcp_conf_set(&p->c->dhcp, key, value, err, sizeof(err));
	if (r == 1)
		return conf_perr(p, "[%s]: unknown key \"%s\"", section, key);
	if (r < 0)
		return conf_perr(p, "[%s] %s: %s", section, key,
				 err[0] != '\0' ? err : "bad value");
	return 1;
}

static int
conf_handler(void *user, const char *section, const char *key, const char *value)
{
	struct conf_parse *p = user;

	if (p->failed)
		return 0;
	if (key == NULL)
		return 1; /* a section header alone (inih with INI_CALL_HANDLER_ON_NEW_SECTION) */
	if (strcmp(section, "agent") == 0)
		return conf_agent(p, key, value);
	if (strcmp(section, "site") == 0)
		return conf_site(p, key, value);
	if (strcmp(section, "packages") == 0)
		return conf_packages(p, key, value);
	if (strcmp(section, "checks") == 0 || strcmp(section, "remediation") == 0 ||
	    strcmp(section, "dhcp") == 0 || strcmp(section, "hra") == 0)
		return conf_module(p, section, key, value);
	if (section[0] == '\0')
		return conf_perr(p, "\"%s\" outside a section", key);
	return conf_perr(p, "unknown section [%s]", section);
}

/* Rules across keys. */
static int
conf_check(struct conf_parse *p)
{
	struct agent_conf *c = p->c;

	if (c->url != NULL && c->policy_file != NULL)
		return conf_perr(p, "[site]: url and policy_file exclude each other");
	if (c->url == NULL && c->policy_file == NULL)
		return conf_perr(p, "[site]: url (napsited's agent endpoint) or policy_file is "
				    "required");
	if (c->url != NULL && c->ca == NULL)
		return conf_perr(p, "[site]: url needs ca (the CA of the endpoint's certificate)");
	if (c->url != NULL && c->hsr_key == NULL)
		return conf_perr(p, "[site]: url needs hsr_key (the site key the policy is signed "
				    "with)");
	{
		char herr[256];

		if (agent_hra_conf_check(&c->hra, herr, sizeof(herr)) < 0)
			return conf_perr(p, "%s", herr);
	}
	if (c->backend == AGENT_BACKEND_RPM && !nap_pkgver_supported(NAP_SCHEME_RPM))
		return conf_perr(p, "[packages]: backend = rpm, but this napagentd was built "
				    "without librpm");
	return 1;
}

int
agent_conf_parse_file(const char *path, struct agent_conf **out, char *err, size_t len)
{
	struct conf_parse p = {.err = err, .len = len};
	char *text = NULL, why[64];
	size_t n;
	int r, ln;

	*out = NULL;
	p.c = agent_conf_new();
	if (p.c == NULL || (p.c->path = strdup(path)) == NULL) {
		agent_conf_free(p.c);
		snprintf(err, len, "out of memory");
		return -ENOMEM;
	}
	if ((r = nap_read_text_file(path, AGENT_CONF_MAX, &text, &n, err, len)) < 0) {
		agent_conf_free(p.c);
		return r;
	}
	if (nap_conf_text_check(text, NAP_CONF_LINE_MAX, &ln, why, sizeof(why)) < 0) {
		snprintf(err, len, "%s: line %d: %s", path, ln, why);
		free(text);
		agent_conf_free(p.c);
		return -EINVAL;
	}
	r = ini_parse_string(text, conf_handler, &p);
	free(text);
	if (r < 0 && !p.failed)
		conf_perr(&p, "cannot parse (out of memory)");
	else if (r > 0 && !p.failed)
		conf_perr(&p, "line %d: syntax error", r);
	else if (r > 0 && p.failed) {
		char tmp[512];

		snprintf(tmp, sizeof(tmp), "%s: line %d: %s", path, r, err);
		snprintf(err, len, "%s", tmp);
		agent_conf_free(p.c);
		return -EINVAL;
	}
	if (!p.failed)
		conf_check(&p);
	if (p.failed || r != 0) {
		char tmp[512];

		snprintf(tmp, sizeof(tmp), "%s: %s", path, err);
		snprintf(err, len, "%s", tmp);
		agent_conf_free(p.c);
		return -EINVAL;
	}
	*out = p.c;
	return 0;
}

const char *
agent_conf_cert(const struct agent_conf *c, char *buf, size_t len)
{
	if (c->cert != NULL)
		snprintf(buf, len, "%s", c->cert);
	else
		agent_state_path(c, "agent.pem", buf, len);
	return buf;
}

const char *
agent_conf_key(const struct agent_conf *c, char *buf, size_t len)
{
	if (c->key != NULL)
		snprintf(buf, len, "%s", c->key);
	else
		agent_state_path(c, "agent.key", buf, len);
	return buf;
}

int
agent_machine_name(const struct agent_conf *c, char *buf, size_t len)
{
	if (c->machine_name != NULL) {
		snprintf(buf, len, "%s", c->machine_name);
		return 0;
	}
	if (gethostname(buf, len) < 0)
		return -errno;
	buf[len - 1] = '\0';
	if (buf[0] == '\0')
		return -ENOENT;
	return 0;
}

static void
conf_print_duration(FILE *f, const char *key, int64_t s)
{
	if (s != 0 && s % 86400 == 0)
		fprintf(f, "%s = %" PRId64 "d\n", key, s / 86400);
	else if (s != 0 && s % 3600 == 0)
		fprintf(f, "%s = %" PRId64 "h\n", key, s / 3600);
	else if (s != 0 && s % 60 == 0)
		fprintf(f, "%s = %" PRId64 "m\n", key, s / 60);
	else
		fprintf(f, "%s = %" PRId64 "s\n", key, s);
}

static void
conf_print_opt(FILE *f, const char *key, const char *v)
{
	if (v != NULL && v[0] != '\0')
		fprintf(f, "%s = %s\n", key, v);
}

void
agent_conf_print(const struct agent_conf *c, FILE *f)
{
	char buf[PATH_MAX], name[256];

	fprintf(f, "[agent]\n");
	conf_print_opt(f, "site", c->site);
	if (agent_machine_name(c, name, sizeof(name)) == 0)
		fprintf(f, "machine_name = %s%s\n", name,
			c->machine_name == NULL ? "  ; the host name" : "");
	fprintf(f, "state_dir = %s\n", c->state_dir);
	fprintf(f, "pidfile = %s\n", c->pidfile);
	conf_print_duration(f, "evaluate_interval", c->evaluate_interval);
	if (c->validity_period != 0)
		conf_print_duration(f, "validity_period", c->validity_period);
	conf_print_duration(f, "settle", c->settle);

	fprintf(f, "\n[site]\n");
	conf_print_opt(f, "url", c->url);
	conf_print_opt(f, "ca", c->ca);
	if (c->url != NULL) {
		fprintf(f, "cert = %s\n", agent_conf_cert(c, buf, sizeof(buf)));
		fprintf(f, "key = %s\n", agent_conf_key(c, buf, sizeof(buf)));
	}
	conf_print_opt(f, "hsr_key", c->hsr_key);
	conf_print_opt(f, "policy_file", c->policy_file);
	conf_print_duration(f, "policy_interval", c->policy_interval);
	conf_print_duration(f, "timeout", c->http_timeout);
	fprintf(f, "report_state = %s\n", c->report_state ? "yes" : "no");

	fprintf(f, "\n[packages]\n");
	fprintf(f, "backend = %s\n", c->backend == AGENT_BACKEND_RPM ? "rpm" : "dpkg");
	if (c->backend == AGENT_BACKEND_DPKG)
		fprintf(f, "dpkg_status = %s\n", c->dpkg_status);
	conf_print_opt(f, "rpm_dbpath", c->rpm_dbpath);

	fprintf(f, "\n[checks]\n");
	fprintf(f, "commands = %s\n", c->checks.allow_commands ? "allow" : "deny");
	fprintf(f, "command_timeout = %" PRId64 "ms\n", c->checks.command_timeout_ms);
	fprintf(f, "clamav_db = %s\n", c->checks.clamav_db);
	conf_print_duration(f, "av_max_age", c->checks.av_max_age);
	conf_print_opt(f, "root", c->checks.root);

	fprintf(f, "\n[remediation]\n");
	fprintf(f, "enabled = %s\n", c->remediation.enabled ? "yes" : "no");
	conf_print_opt(f, "update_command", c->remediation.update_command);
	conf_print_opt(f, "install_command", c->remediation.install_command);
	conf_print_duration(f, "timeout", c->remediation.timeout);
	fprintf(f, "max_packages = %zu\n", c->remediation.max_packages);
	for (size_t i = 0; i < c->remediation.n_env; i++)
		fprintf(f, "env = %s\n", c->remediation.env[i]);

	fprintf(f, "\n[dhcp]\n");
	fprintf(f, "client = %s\n", agent_dhcp_client_name(c->dhcp.client));
	if (c->dhcp.client != AGENT_DHCP_NONE) {
		conf_print_opt(f, "interface", c->dhcp.interface);
		conf_print_opt(f, "fragment", agent_dhcp_fragment_path(&c->dhcp));
		conf_print_opt(f, "template", c->dhcp.template_path);
		fprintf(f, "vendor_class = %s\n", c->dhcp.vendor_class);
		conf_print_opt(f, "renew_command", c->dhcp.renew_command);
		conf_print_duration(f, "renew_timeout", c->dhcp.renew_timeout);
	}

	fprintf(f, "\n[hra]\n");
	agent_hra_conf_print(&c->hra, f);
}

int
agent_conf_warn(const struct agent_conf *c, FILE *f)
{
	int n = 0;

	if (c->validity_period > 0 && c->evaluate_interval > c->validity_period) {
		fprintf(f,
			"warning: evaluate_interval (%" PRId64 "s) is longer than napvd's "
			"validity_period (%" PRId64 "s): SoHs expire before the next evaluation\n",
			c->evaluate_interval, c->validity_period);
		n++;
	}
	if (c->url != NULL && c->policy_interval > c->evaluate_interval) {
		fprintf(f,
			"warning: policy_interval (%" PRId64 "s) is longer than evaluate_interval "
			"(%" PRId64 "s): evaluations run against a policy older than they are\n",
			c->policy_interval, c->evaluate_interval);
		n++;
	}
	/* Files the agent will need: missing ones are a warning (enrollment writes cert and key). */
	{
		char cert[PATH_MAX], key[PATH_MAX];
		const char *const files[] = {c->ca, c->hsr_key, c->policy_file,
					     c->url != NULL ? agent_conf_cert(c, cert, sizeof(cert))
							    : NULL,
					     c->url != NULL ? agent_conf_key(c, key, sizeof(key)) : NULL,
					     c->backend == AGENT_BACKEND_DPKG ? c->dpkg_status : NULL};

		for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
			if (files[i] == NULL || access(files[i], R_OK) == 0)
				continue;
			fprintf(f, "warning: %s: %s%s\n", files[i], strerror(errno),
				i == 3 || i == 4 ? " (napagentd --enroll TOKEN writes it)" : "");
			n++;
		}
	}
	if (agent_hra_enabled(&c->hra)) {
		const char *const files[] = {c->hra.ca_file, c->hra.cert, c->hra.key,
					     c->hra.swanctl_dir};

		for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
			if (files[i][0] == '\0' || access(files[i], R_OK) == 0)
				continue;
			fprintf(f, "warning: [hra] %s: %s\n", files[i], strerror(errno));
			n++;
		}
	}
	if (c->policy_file != NULL && c->hsr_key == NULL) {
		fprintf(f, "warning: policy_file without hsr_key: the policy's signature is not "
			   "checked (labs only)\n");
		n++;
	}
	return n;
}
