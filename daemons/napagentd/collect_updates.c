// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * Automatic updates and pending reboots. Debian/Ubuntu: unattended-upgrades installed and
 * APT::Periodic::Unattended-Upgrade non-zero (APT::Periodic::Enable not "0") in the apt
 * configuration (the parts in /etc/apt/apt.conf.d in apt's order, then /etc/apt/apt.conf; the
 * last value wins; "//", "#" and C comments, scopes "APT { Periodic { ... }; };"). RPM:
 * dnf-automatic's install timer enabled, or its plain timer with apply_updates = yes in
 * /etc/dnf/automatic.conf. Reboot: /run/reboot-required or /var/run/reboot-required, and
 * needs-restarting -r where installed. Everything under the root prefix. Handles untrusted
 * input (configuration files): bounded reads, no value trusted beyond "is it non-zero".
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "collect-int.h"
#include "nap/util.h"

#define APT_CONF_MAX  (256 * 1024) /* one configuration file */
#define APT_PARTS_MAX 256
#define APT_DEPTH     16

/* ---- apt.conf ---- */

enum apt_tok { APT_END, APT_WORD, APT_STRING, APT_SEMI, APT_OPEN, APT_CLOSE };

struct apt_lex {
	const char *p;
	char tok[512];
};

static enum apt_tok
apt_next(struct apt_lex *l)
{
	const char *p = l->p;
	size_t n = 0;

	for (;;) {
		p += strspn(p, " \t\r\n");
		if (p[0] == '/' && p[1] == '/') {
			p += strcspn(p, "\n");
		} else if (p[0] == '#') {
			/* "#clear" and "#include" directives and comments: the line is skipped. */
			p += strcspn(p, "\n");
		} else if (p[0] == '/' && p[1] == '*') {
			const char *e = strstr(p + 2, "*/");

			p = e != NULL ? e + 2 : p + strlen(p);
		} else {
			break;
		}
	}
	l->tok[0] = '\0';
	switch (*p) {
	case '\0':
		l->p = p;
		return APT_END;
	case ';':
		l->p = p + 1;
		return APT_SEMI;
	case '{':
		l->p = p + 1;
		return APT_OPEN;
	case '}':
		l->p = p + 1;
		return APT_CLOSE;
	case '"':
		p++;
		while (*p != '\0' && *p != '"') {
			if (n + 1 < sizeof(l->tok))
				l->tok[n++] = *p;
			p++;
		}
		l->tok[n] = '\0';
		l->p = *p == '"' ? p + 1 : p;
		return APT_STRING;
	default:
		while (*p != '\0' && strchr(" \t\r\n;{}\"", *p) == NULL) {
			if (n + 1 < sizeof(l->tok))
				l->tok[n++] = *p;
			p++;
		}
		l->tok[n] = '\0';
		l->p = p;
		return APT_WORD;
	}
}

/*
 * The last value of the option key ("APT::Periodic::Unattended-Upgrade", compared
 * case-insensitively as apt does) in text; true when text sets it.
 */
bool
collect_apt_conf_value(const char *text, const char *key, char *val, size_t len)
{
	struct apt_lex l = {.p = text};
	char scope[APT_DEPTH][256];
	size_t depth = 0;
	bool found = false;
	enum apt_tok t;

	while ((t = apt_next(&l)) != APT_END) {
		char name[512], full[1024];

		if (t == APT_CLOSE) {
			if (depth > 0)
				depth--;
			continue;
		}
		if (t != APT_WORD)
			continue;
		snprintf(name, sizeof(name), "%s", l.tok);
		t = apt_next(&l);
		if (t == APT_OPEN) {
			if (depth < APT_DEPTH)
				snprintf(scope[depth], sizeof(scope[depth]), "%.255s", name);
			depth++;
			continue;
		}
		if (t != APT_STRING && t != APT_WORD)
			continue;
		full[0] = '\0';
		for (size_t i = 0; i < depth && i < APT_DEPTH; i++) {
			strncat(full, scope[i], sizeof(full) - strlen(full) - 1);
			strncat(full, "::", sizeof(full) - strlen(full) - 1);
		}
		strncat(full, name, sizeof(full) - strlen(full) - 1);
		if (strcasecmp(full, key) == 0) {
			snprintf(val, len, "%s", l.tok);
			found = true;
		}
	}
	return found;
}

/* apt reads parts whose names are [A-Za-z0-9_.-] and have no extension or ".conf". */
static bool
apt_part_name(const char *n)
{
	const char *dot;

	if (n[0] == '.' || n[strspn(n, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
				    "0123456789_.-")] != '\0')
		return false;
	dot = strrchr(n, '.');
	return dot == NULL || strcmp(dot, ".conf") == 0;
}

static int
apt_name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Apply one file to the values of the keys; -errno when it exists but cannot be read. */
static int
apt_read_file(const char *path, const char *const *keys, char (*vals)[64], bool *set, size_t n)
{
	uint8_t *buf;
	size_t len;
	int r = nap_read_file(path, APT_CONF_MAX, &buf, &len);
	char *text;

	if (r < 0)
		return r;
	text = realloc(buf, len + 1);
	if (text == NULL) {
		free(buf);
		return -ENOMEM;
	}
	text[len] = '\0';
	for (size_t i = 0; i < n; i++) {
		if (collect_apt_conf_value(text, keys[i], vals[i], sizeof(vals[i])))
			set[i] = true;
	}
	free(text);
	return 0;
}

/* 1 configured on, 0 off (why in buf), -1 cannot tell. */
static int
apt_unattended(const struct agent_collect_env *env, char *buf, size_t len)
{
	static const char *const keys[] = {"APT::Periodic::Unattended-Upgrade",
					   "APT::Periodic::Enable"};
	char vals[2][64] = {"", ""}, dir[PATH_MAX], p[PATH_MAX * 2];
	char *names[APT_PARTS_MAX];
	bool set[2] = {false, false};
	size_t n = 0;
	struct dirent *de;
	DIR *d;
	int r = 0;

	if (collect_path(env, "/etc/apt/apt.conf.d", dir, sizeof(dir)) &&
	    (d = opendir(dir)) != NULL) {
		while ((de = readdir(d)) != NULL && n < APT_PARTS_MAX) {
			if (apt_part_name(de->d_name) && (names[n] = strdup(de->d_name)) != NULL)
				n++;
		}
		closedir(d);
		qsort(names, n, sizeof(*names), apt_name_cmp);
		for (size_t i = 0; i < n; i++) {
			snprintf(p, sizeof(p), "%s/%s", dir, names[i]);
			if (r == 0 && apt_read_file(p, keys, vals, set, 2) == -EACCES)
				r = -1;
			free(names[i]);
		}
	}
	if (collect_path(env, "/etc/apt/apt.conf", p, sizeof(p)))
		(void)apt_read_file(p, keys, vals, set, 2);
	if (r < 0) {
		snprintf(buf, len, "cannot read the apt configuration");
		return -1;
	}
	if (set[1] && strcmp(vals[1], "0") == 0) {
		snprintf(buf, len, "APT::Periodic::Enable is \"0\"");
		return 0;
	}
	if (!set[0] || strcmp(vals[0], "0") == 0 || vals[0][0] == '\0') {
		snprintf(buf, len, "APT::Periodic::Unattended-Upgrade %s",
			 set[0] ? "is \"0\"" : "not set");
		return 0;
	}
	snprintf(buf, len, "APT::Periodic::Unattended-Upgrade \"%.16s\"", vals[0]);
	return 1;
}

/* apply_updates in the [commands] section of dnf-automatic's configuration. */
static bool
dnf_apply_updates(const struct agent_collect_env *env)
{
	char p[PATH_MAX], line[512];
	bool commands = false, yes = false;
	FILE *f;

	if (!collect_path(env, "/etc/dnf/automatic.conf", p, sizeof(p)) ||
	    (f = fopen(p, "re")) == NULL)
		return false;
	while (fgets(line, sizeof(line), f) != NULL) {
		char *s = line + strspn(line, " \t"), *v;

		s[strcspn(s, "\r\n")] = '\0';
		if (*s == '[') {
			commands = strncmp(s, "[commands]", 10) == 0;
			continue;
		}
		if (!commands || strncmp(s, "apply_updates", 13) != 0)
			continue;
		v = s + 13 + strspn(s + 13, " \t");
		if (*v != '=')
			continue;
		v++;
		v += strspn(v, " \t");
		v[strcspn(v, " \t#")] = '\0';
		yes = strcasecmp(v, "yes") == 0 || strcasecmp(v, "true") == 0 ||
		      strcmp(v, "1") == 0 || strcasecmp(v, "on") == 0;
	}
	fclose(f);
	return yes;
}

void
agent_collect_auto_updates(const struct agent_collect_env *env, struct agent_check_result *out)
{
	static const char *const wants = "/etc/systemd/system/timers.target.wants/";
	char why[160], p[PATH_MAX];
	bool apt = collect_exists(env, "/usr/bin/unattended-upgrade") ||
		   collect_exists(env, "/usr/bin/unattended-upgrades");
	bool dnf = collect_exists(env, "/etc/dnf/automatic.conf");
	int r;

	if (apt) {
		r = apt_unattended(env, why, sizeof(why));
		if (r == 1) {
			collect_set(out, NAP_CHECK_PASS, "unattended-upgrades: %s", why);
			return;
		}
		if (!dnf) {
			collect_set(out, r == 0 ? NAP_CHECK_FAIL : NAP_CHECK_ERROR,
				    "unattended-upgrades: %s", why);
			return;
		}
	}
	if (dnf) {
		snprintf(p, sizeof(p), "%sdnf-automatic-install.timer", wants);
		if (collect_exists(env, p)) {
			collect_set(out, NAP_CHECK_PASS, "dnf-automatic-install.timer enabled");
			return;
		}
		snprintf(p, sizeof(p), "%sdnf-automatic.timer", wants);
		if (collect_exists(env, p)) {
			if (dnf_apply_updates(env))
				collect_set(out, NAP_CHECK_PASS,
					    "dnf-automatic.timer enabled, apply_updates = yes");
			else
				collect_set(out, NAP_CHECK_FAIL,
					    "dnf-automatic.timer enabled but apply_updates is not "
					    "yes (downloads only)");
			return;
		}
		collect_set(out, NAP_CHECK_FAIL, "dnf-automatic installed, its timer not enabled");
		return;
	}
	collect_set(out, NAP_CHECK_FAIL,
		    "no automatic updates: neither unattended-upgrades nor dnf-automatic installed");
}

/* ---- reboot ---- */

void
agent_collect_reboot(const struct agent_collect_env *env, struct agent_check_result *out)
{
	static const char *const nr[] = {"/usr/bin/needs-restarting", "/bin/needs-restarting",
					 NULL};
	char tool[PATH_MAX];
	const char *argv[] = {tool, "-r", NULL};
	struct collect_run r;

	if (collect_exists(env, "/run/reboot-required") ||
	    collect_exists(env, "/var/run/reboot-required")) {
		collect_set(out, NAP_CHECK_FAIL, "reboot required (/run/reboot-required)");
		return;
	}
	if (!collect_find_tool(env, nr, tool, sizeof(tool))) {
		collect_set(out, NAP_CHECK_PASS, "no reboot pending");
		return;
	}
	/* needs-restarting -r: 0 nothing to do, 1 reboot needed (dnf-utils / yum-utils). */
	if (collect_run(argv, env->timeout_ms, 64 * 1024, &r) < 0) {
		collect_set(out, NAP_CHECK_ERROR, "needs-restarting: cannot run");
		return;
	}
	if (r.exec_errno != 0 || r.timed_out)
		collect_set(out, NAP_CHECK_ERROR, "needs-restarting: %s",
			    r.timed_out ? "timed out" : strerror(r.exec_errno));
	else if (r.status == 0)
		collect_set(out, NAP_CHECK_PASS, "no reboot pending (needs-restarting -r)");
	else if (r.status == 1)
		collect_set(out, NAP_CHECK_FAIL, "reboot required (needs-restarting -r)");
	else
		collect_set(out, NAP_CHECK_ERROR, "needs-restarting -r: exit %d", r.status);
	collect_run_free(&r);
}
