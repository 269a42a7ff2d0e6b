// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * The collectors (daemons/napagentd/collect*.c) against fake host trees built in a temporary
 * directory (the root prefix): configuration files, signature databases, marker files and fake
 * tools (shell scripts standing in for nft, iptables-save, systemctl, needs-restarting). Each
 * collector passes, fails and errors; nothing reads or changes the test machine's own state.
 * The parsers (nft JSON, iptables-save, apt.conf, ClamAV headers) and the runner (timeout,
 * process group, output bound) are tested directly.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "collect-int.h"
#include "collector.h"

static const int64_t NOW = 1795600800; /* 2026-11-25T10:00:00Z */

struct fx {
	char root[64];
	struct agent_checks_conf conf;
	struct agent_collect_env env;
	struct agent_check_result r;
};

static void
mkdirs(const char *root, const char *rel)
{
	char p[512];

	snprintf(p, sizeof(p), "%s%s", root, rel);
	for (char *s = p + strlen(root) + 1; *s != '\0'; s++) {
		if (*s == '/') {
			*s = '\0';
			(void)mkdir(p, 0755);
			*s = '/';
		}
	}
	(void)mkdir(p, 0755);
}

/* Write root + rel (parent directories made), mode. */
static void
put(struct fx *f, const char *rel, const char *text, mode_t mode)
{
	char p[512], dir[512], *slash;
	FILE *fp;

	snprintf(p, sizeof(p), "%s%s", f->root, rel);
	snprintf(dir, sizeof(dir), "%s", rel);
	slash = strrchr(dir, '/');
	if (slash != NULL && slash != dir) {
		*slash = '\0';
		mkdirs(f->root, dir);
	}
	fp = fopen(p, "w");
	assert_non_null(fp);
	assert_true(fputs(text, fp) >= 0);
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(chmod(p, mode), 0);
}

/* A fake tool: a shell script printing out and exiting with status. */
static void
tool(struct fx *f, const char *rel, const char *out, int status)
{
	char text[8192];

	snprintf(text, sizeof(text), "#!/bin/sh\ncat <<'EOF_OUT'\n%s\nEOF_OUT\nexit %d\n", out, status);
	put(f, rel, text, 0755);
}

static void
rm(struct fx *f, const char *rel)
{
	char p[512];

	snprintf(p, sizeof(p), "%s%s", f->root, rel);
	(void)unlink(p);
}

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	snprintf(f->root, sizeof(f->root), "/tmp/napagentd-collect-XXXXXX");
	assert_non_null(mkdtemp(f->root));
	agent_checks_conf_defaults(&f->conf);
	snprintf(f->conf.root, sizeof(f->conf.root), "%s", f->root);
	f->conf.command_timeout_ms = 5000;
	agent_collect_env_init(&f->env, &f->conf, NOW);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->root);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static void
run_check(struct fx *f, const struct nap_hsr_check *c)
{
	memset(&f->r, 0x55, sizeof(f->r));
	agent_collect(&f->env, c, &f->r);
	assert_string_equal(f->r.id, c->id);
}

#define assert_result(f, st, substr)                                                           \
	do {                                                                                   \
		if ((f)->r.status != (st) || strstr((f)->r.detail, (substr)) == NULL)          \
			fail_msg("line %d: status %d \"%s\", want %d \"...%s...\"", __LINE__,  \
				 (f)->r.status, (f)->r.detail, (st), (substr));                \
	} while (0)

/* ---- configuration ---- */

static void
test_conf(void **state)
{
	struct agent_checks_conf c;
	char err[256];

	(void)state;
	agent_checks_conf_defaults(&c);
	assert_false(c.allow_commands);
	assert_int_equal(c.command_timeout_ms, AGENT_CHECKS_DEFAULT_TIMEOUT);
	assert_string_equal(c.clamav_db, "/var/lib/clamav");
	assert_string_equal(c.root, "");
	assert_int_equal(agent_checks_conf_set(&c, "commands", "allow", err, sizeof(err)), 0);
	assert_true(c.allow_commands);
	assert_int_equal(agent_checks_conf_set(&c, "commands", "deny", err, sizeof(err)), 0);
	assert_false(c.allow_commands);
	assert_int_equal(agent_checks_conf_set(&c, "commands", "yes", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "commands"));
	assert_int_equal(agent_checks_conf_set(&c, "command_timeout", "500ms", err, sizeof(err)), 0);
	assert_int_equal(c.command_timeout_ms, 500);
	assert_int_equal(agent_checks_conf_set(&c, "command_timeout", "2m", err, sizeof(err)), 0);
	assert_int_equal(c.command_timeout_ms, 120000);
	assert_int_equal(agent_checks_conf_set(&c, "command_timeout", "30", err, sizeof(err)), 0);
	assert_int_equal(c.command_timeout_ms, 30000);
	assert_int_equal(agent_checks_conf_set(&c, "command_timeout", "0", err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(agent_checks_conf_set(&c, "command_timeout", "2h", err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(agent_checks_conf_set(&c, "command_timeout", "-1s", err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(agent_checks_conf_set(&c, "av_max_age", "3d", err, sizeof(err)), 0);
	assert_int_equal(c.av_max_age, 3 * 86400);
	assert_int_equal(agent_checks_conf_set(&c, "clamav_db", "/srv/clamav", err, sizeof(err)),
			 0);
	assert_string_equal(c.clamav_db, "/srv/clamav");
	assert_int_equal(agent_checks_conf_set(&c, "clamav_db", "clamav", err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(agent_checks_conf_set(&c, "root", "/srv/chroot", err, sizeof(err)), 0);
	assert_string_equal(c.root, "/srv/chroot");
	assert_int_equal(agent_checks_conf_set(&c, "root", "/", err, sizeof(err)), 0);
	assert_string_equal(c.root, "");
	assert_int_equal(agent_checks_conf_set(&c, "root", "/x/", err, sizeof(err)), -EINVAL);
	assert_int_equal(agent_checks_conf_set(&c, "colour", "blue", err, sizeof(err)), 1);
}

/* ---- firewall ---- */

static const char nft_inet_drop[] =
	"{\"nftables\": [{\"metainfo\": {\"version\": \"1.0.6\", \"json_schema_version\": 1}},"
	" {\"table\": {\"family\": \"inet\", \"name\": \"filter\", \"handle\": 1}},"
	" {\"chain\": {\"family\": \"inet\", \"table\": \"filter\", \"name\": \"input\","
	" \"handle\": 1, \"type\": \"filter\", \"hook\": \"input\", \"prio\": 0,"
	" \"policy\": \"drop\"}},"
	" {\"rule\": {\"family\": \"inet\", \"table\": \"filter\", \"chain\": \"input\","
	" \"handle\": 4, \"expr\": [{\"match\": {\"op\": \"in\", \"left\": {\"ct\": {\"key\":"
	" \"state\"}}, \"right\": [\"established\", \"related\"]}}, {\"accept\": null}]}}]}";
static const char nft_ip_drop[] =
	"{\"nftables\": [{\"table\": {\"family\": \"ip\", \"name\": \"filter\", \"handle\": 2}},"
	" {\"chain\": {\"family\": \"ip\", \"table\": \"filter\", \"name\": \"INPUT\", \"handle\": 1,"
	" \"type\": \"filter\", \"hook\": \"input\", \"prio\": 0, \"policy\": \"drop\"}}]}";
static const char nft_accept[] =
	"{\"nftables\": [{\"table\": {\"family\": \"inet\", \"name\": \"filter\", \"handle\": 1}},"
	" {\"chain\": {\"family\": \"inet\", \"table\": \"filter\", \"name\": \"input\","
	" \"handle\": 1, \"type\": \"filter\", \"hook\": \"input\", \"prio\": 0,"
	" \"policy\": \"accept\"}},"
	" {\"chain\": {\"family\": \"inet\", \"table\": \"filter\", \"name\": \"output\","
	" \"handle\": 2, \"type\": \"filter\", \"hook\": \"output\", \"prio\": 0,"
	" \"policy\": \"drop\"}}]}";
static const char nft_empty[] =
	"{\"nftables\": [{\"metainfo\": {\"version\": \"1.0.6\", \"json_schema_version\": 1}}]}";

static void
test_parse_nft(void **state)
{
	struct agent_check_result r;

	(void)state;
	collect_parse_nft_json(nft_inet_drop, strlen(nft_inet_drop), &r);
	assert_int_equal(r.status, NAP_CHECK_PASS);
	assert_non_null(strstr(r.detail, "inet filter input"));
	assert_null(strstr(r.detail, "IPv6"));
	collect_parse_nft_json(nft_ip_drop, strlen(nft_ip_drop), &r);
	assert_int_equal(r.status, NAP_CHECK_PASS);
	assert_non_null(strstr(r.detail, "IPv6 input not default-drop"));
	collect_parse_nft_json(nft_accept, strlen(nft_accept), &r);
	assert_int_equal(r.status, NAP_CHECK_FAIL);
	assert_non_null(strstr(r.detail, "1 tables, 2 chains"));
	collect_parse_nft_json(nft_empty, strlen(nft_empty), &r);
	assert_int_equal(r.status, NAP_CHECK_FAIL);
	assert_non_null(strstr(r.detail, "empty"));
	collect_parse_nft_json("Error: Operation not permitted", 30, &r);
	assert_int_equal(r.status, NAP_CHECK_ERROR);
	collect_parse_nft_json("{\"nftables\": {}}", 16, &r);
	assert_int_equal(r.status, NAP_CHECK_ERROR);
	/* Odd members are skipped, not trusted. */
	collect_parse_nft_json("{\"nftables\": [{\"table\": {}}, {\"chain\": {\"hook\": 1,"
			       " \"policy\": \"drop\", \"family\": \"ip\"}}, 7, null]}",
			       strlen("{\"nftables\": [{\"table\": {}}, {\"chain\": {\"hook\": 1,"
				      " \"policy\": \"drop\", \"family\": \"ip\"}}, 7, null]}"),
			       &r);
	assert_int_equal(r.status, NAP_CHECK_FAIL);
}

static void
test_parse_iptables(void **state)
{
	struct agent_check_result r;

	(void)state;
	collect_parse_iptables_save("# Generated by iptables-save\n*nat\n:INPUT ACCEPT [0:0]\n"
				    "COMMIT\n*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n"
				    ":OUTPUT ACCEPT [0:0]\n-A INPUT -i lo -j ACCEPT\nCOMMIT\n",
				    &r);
	assert_int_equal(r.status, NAP_CHECK_PASS);
	collect_parse_iptables_save("*filter\n:INPUT ACCEPT [12:345]\nCOMMIT\n", &r);
	assert_int_equal(r.status, NAP_CHECK_FAIL);
	assert_non_null(strstr(r.detail, "ACCEPT"));
	collect_parse_iptables_save("", &r);
	assert_int_equal(r.status, NAP_CHECK_FAIL);
	assert_non_null(strstr(r.detail, "no filter table"));
	collect_parse_iptables_save("*nat\n:INPUT DROP [0:0]\nCOMMIT\n", &r);
	assert_int_equal(r.status, NAP_CHECK_FAIL);
}

static void
test_firewall(void **state)
{
	struct fx *f = *state;
	struct nap_hsr_check c = {.id = "CHK-FW", .type = NAP_CHECK_TYPE_FIREWALL};

	/* Nothing installed: fail. */
	run_check(f, &c);
	assert_result(f, NAP_CHECK_FAIL, "no firewall");
	/* nftables with a default-drop input chain. */
	tool(f, "/usr/sbin/nft", nft_inet_drop, 0);
	run_check(f, &c);
	assert_result(f, NAP_CHECK_PASS, "nftables: input policy drop");
	tool(f, "/usr/sbin/nft", nft_accept, 0);
	run_check(f, &c);
	assert_result(f, NAP_CHECK_FAIL, "no IPv4 input chain");
	/* Empty nftables ruleset: legacy iptables may hold the rules. */
	tool(f, "/usr/sbin/nft", nft_empty, 0);
	run_check(f, &c);
	assert_result(f, NAP_CHECK_FAIL, "empty");
	tool(f, "/usr/sbin/iptables-save", "*filter\n:INPUT DROP [0:0]\nCOMMIT", 0);
	run_check(f, &c);
	assert_result(f, NAP_CHECK_PASS, "iptables: INPUT policy DROP");
	/* Neither readable (not root): error, unless a front end says it is on. */
	tool(f, "/usr/sbin/nft", "", 1);
	tool(f, "/usr/sbin/iptables-save", "", 1);
	run_check(f, &c);
	assert_result(f, NAP_CHECK_ERROR, "cannot read the firewall ruleset");
	put(f, "/etc/ufw/ufw.conf", "# comment\nENABLED=no\nLOGLEVEL=low\n", 0644);
	run_check(f, &c);
	assert_result(f, NAP_CHECK_ERROR, "nft: failed");
	put(f, "/etc/ufw/ufw.conf", "ENABLED=yes\n", 0644);
	put(f, "/etc/default/ufw", "IPV6=yes\nDEFAULT_INPUT_POLICY=\"DROP\"\n", 0644);
	run_check(f, &c);
	assert_result(f, NAP_CHECK_PASS, "ufw enabled, default input DROP");
	put(f, "/etc/default/ufw", "DEFAULT_INPUT_POLICY=\"ACCEPT\"\n", 0644);
	run_check(f, &c);
	assert_result(f, NAP_CHECK_FAIL, "ufw enabled, default input ACCEPT");
	/* firewalld active through systemctl. */
	rm(f, "/etc/ufw/ufw.conf");
	put(f, "/usr/sbin/firewalld", "", 0755);
	tool(f, "/usr/bin/systemctl", "active", 0);
	run_check(f, &c);
	assert_result(f, NAP_CHECK_PASS, "firewalld active");
	tool(f, "/usr/bin/systemctl", "inactive", 3);
	run_check(f, &c);
	assert_result(f, NAP_CHECK_ERROR, "cannot read");
	/* A tool that is not nftables JSON. */
	tool(f, "/usr/sbin/nft", "hello", 0);
	rm(f, "/usr/sbin/iptables-save");
	rm(f, "/usr/sbin/firewalld");
	run_check(f, &c);
	assert_result(f, NAP_CHECK_ERROR, "not nftables JSON");
}

/* ---- automatic updates ---- */

static void
test_auto_updates(void **state)
{
	struct fx *f = *state;
	struct nap_hsr_check c = {.id = "CHK-AU", .type = NAP_CHECK_TYPE_AUTO_UPDATES};

	run_check(f, &c);
	assert_result(f, NAP_CHECK_FAIL, "neither unattended-upgrades nor dnf-automatic");
	put(f, "/usr/bin/unattended-upgrade", "#!/bin/sh\n", 0755);
	run_check(f, &c);
	assert_result(f, NAP_CHECK_FAIL, "Unattended-Upgrade not set");
	/* Debian's 20auto-upgrades. */
	put(f, "/etc/apt/apt.conf.d/20auto-upgrades",
	    "APT::Periodic::Update-Package-Lists \"1\";\n"
	    "APT::Periodic::Unattended-Upgrade \"1\";\n",
	    0644);
	run_check(f, &c);
	assert_result(f, NAP_CHECK_PASS, "Unattended-Upgrade \"1\"");
	/* A later part wins; ignored names (.dpkg-old, .bak) do not count. */
	put(f, "/etc/apt/apt.conf.d/99local", "// off for now\nAPT::Periodic::Unattended-Upgrade \"0\";\n",
	    0644);
	put(f, "/etc/apt/apt.conf.d/99zz.dpkg-old", "APT::Periodic::Unattended-Upgrade \"1\";\n",
	    0644);
	run_check(f, &c);
	assert_result(f, NAP_CHECK_FAIL, "is \"0\"");
	/* Scoped syntax and comments in the winning part. */
	put(f, "/etc/apt/apt.conf.d/99local",
	    "/* local policy */\nAPT {\n  Periodic {\n    # keep it on\n"
	    "    Unattended-Upgrade \"7\";\n  };\n};\n",
	    0644);
	run_check(f, &c);
	assert_result(f, NAP_CHECK_PASS, "\"7\"");
	/* APT::Periodic::Enable "0" switches the whole periodic job off. */
	put(f, "/etc/apt/apt.conf", "apt::periodic::enable \"0\";\n", 0644);
	run_check(f, &c);
	assert_result(f, NAP_CHECK_FAIL, "Enable is \"0\"");
	rm(f, "/etc/apt/apt.conf");
	rm(f, "/usr/bin/unattended-upgrade");

	/* dnf-automatic. */
	put(f, "/etc/dnf/automatic.conf", "[commands]\nupgrade_type = security\napply_updates = no\n",
	    0644);
	run_check(f, &c);
	assert_result(f, NAP_CHECK_FAIL, "timer not enabled");
	put(f, "/etc/systemd/system/timers.target.wants/dnf-automatic.timer", "", 0644);
	run_check(f, &c);
	assert_result(f, NAP_CHECK_FAIL, "apply_updates is not yes");
	put(f, "/etc/dnf/automatic.conf",
	    "[commands]\napply_updates = yes\n[emitters]\napply_updates = no\n", 0644);
	run_check(f, &c);
	assert_result(f, NAP_CHECK_PASS, "apply_updates = yes");
	put(f, "/etc/dnf/automatic.conf", "[commands]\napply_updates = no\n", 0644);
	put(f, "/etc/systemd/system/timers.target.wants/dnf-automatic-install.timer", "", 0644);
	run_check(f, &c);
	assert_result(f, NAP_CHECK_PASS, "dnf-automatic-install.timer");
}

static void
test_apt_conf_parser(void **state)
{
	char v[64];

	(void)state;
	assert_true(collect_apt_conf_value("APT::Periodic::Unattended-Upgrade \"1\";",
					   "APT::Periodic::Unattended-Upgrade", v, sizeof(v)));
	assert_string_equal(v, "1");
	assert_false(collect_apt_conf_value("// APT::Periodic::Unattended-Upgrade \"1\";",
					    "APT::Periodic::Unattended-Upgrade", v, sizeof(v)));
	assert_false(collect_apt_conf_value("/* APT::Periodic::Unattended-Upgrade \"1\"; */",
					    "APT::Periodic::Unattended-Upgrade", v, sizeof(v)));
	assert_true(collect_apt_conf_value("APT::Periodic { Unattended-Upgrade \"2\"; };"
					   "APT::Periodic::Unattended-Upgrade \"3\";",
					   "APT::Periodic::Unattended-Upgrade", v, sizeof(v)));
	assert_string_equal(v, "3");
	assert_false(collect_apt_conf_value("Other { Periodic { Unattended-Upgrade \"2\"; }; };",
					    "APT::Periodic::Unattended-Upgrade", v, sizeof(v)));
	/* Unbalanced and cut input ends quietly. */
	assert_false(collect_apt_conf_value("}}} APT { Periodic { \"", "APT::Periodic::X", v,
					    sizeof(v)));
	assert_false(collect_apt_conf_value("", "APT::Periodic::X", v, sizeof(v)));
}

/* ---- antivirus ---- */

static void
cvd(struct fx *f, const char *rel, int64_t stime)
{
	char hdr[513];

	snprintf(hdr, sizeof(hdr),
		 "ClamAV-VDB:24 Nov 2026 09-28 -0500:27100:2063178:90:"
		 "a5b3a4c0ec5e1c3e4f6c3a3b0f0a9d1c:sigdata:raynman:%lld",
		 (long long)stime);
	memset(hdr + strlen(hdr), ' ', 512 - strlen(hdr));
	hdr[512] = '\0';
	put(f, rel, hdr, 0644);
}

static void
test_antivirus(void **state)
{
	struct fx *f = *state;
	struct nap_hsr_check c = {.id = "CHK-AV", .type = NAP_CHECK_TYPE_ANTIVIRUS,
				  .max_age = 7 * 86400};
	char p[512];
	struct timeval tv[2];

	run_check(f, &c);
	assert_result(f, NAP_CHECK_FAIL, "ClamAV not installed");
	put(f, "/usr/bin/clamscan", "", 0755);
	run_check(f, &c);
	assert_result(f, NAP_CHECK_FAIL, "No such file");
	mkdirs(f->root, "/var/lib/clamav");
	run_check(f, &c);
	assert_result(f, NAP_CHECK_FAIL, "no signature database");
	/* The newest database's header time counts. */
	cvd(f, "/var/lib/clamav/main.cvd", NOW - 90 * 86400);
	run_check(f, &c);
	assert_result(f, NAP_CHECK_FAIL, "90 days old (main.cvd; limit 7 days)");
	cvd(f, "/var/lib/clamav/daily.cld", NOW - 3600);
	run_check(f, &c);
	assert_result(f, NAP_CHECK_PASS, "3600 s old (daily.cld");
	c.max_age = 1800;
	run_check(f, &c);
	assert_result(f, NAP_CHECK_FAIL, "limit 1800 s");
	/* No header: the file time. */
	rm(f, "/var/lib/clamav/daily.cld");
	put(f, "/var/lib/clamav/bytecode.cvd", "not a header", 0644);
	snprintf(p, sizeof(p), "%s/var/lib/clamav/bytecode.cvd", f->root);
	tv[0].tv_sec = tv[1].tv_sec = (time_t)(NOW - 2 * 86400);
	tv[0].tv_usec = tv[1].tv_usec = 0;
	assert_int_equal(utimes(p, tv), 0);
	c.max_age = 7 * 86400;
	run_check(f, &c);
	assert_result(f, NAP_CHECK_PASS, "2 days old (bytecode.cvd");
	/* Another directory from [checks] clamav_db. */
	f->env.clamav_db = "/srv/clamav";
	run_check(f, &c);
	assert_result(f, NAP_CHECK_FAIL, "/srv/clamav");
}

static void
test_cvd_header(void **state)
{
	static const char good[] = "ClamAV-VDB:14 Nov 2023 09-28 -0500:27092:2046021:90:"
				   "0123:sig:raynman:1699972129                ";

	(void)state;
	assert_int_equal(collect_cvd_time((const uint8_t *)good, sizeof(good) - 1), 1699972129);
	assert_int_equal(collect_cvd_time((const uint8_t *)"ClamAV-VDB:x:y", 14), -1);
	assert_int_equal(collect_cvd_time((const uint8_t *)"NotClamAV", 9), -1);
	assert_int_equal(collect_cvd_time((const uint8_t *)"ClamAV-VDB:a:b:c:d:e:f:g:-5", 27), -1);
	assert_int_equal(collect_cvd_time((const uint8_t *)"ClamAV-VDB:a:b:c:d:e:f:g:12x", 28),
			 -1);
	assert_int_equal(collect_cvd_time((const uint8_t *)"ClamAV-VDB:a:b:c:d:e:f:g:"
							   "99999999999999999999",
					  45),
			 -1);
}

/* ---- reboot ---- */

static void
test_reboot(void **state)
{
	struct fx *f = *state;
	struct nap_hsr_check c = {.id = "CHK-REBOOT", .type = NAP_CHECK_TYPE_REBOOT};

	run_check(f, &c);
	assert_result(f, NAP_CHECK_PASS, "no reboot pending");
	put(f, "/run/reboot-required", "*** System restart required ***\n", 0644);
	run_check(f, &c);
	assert_result(f, NAP_CHECK_FAIL, "reboot required");
	rm(f, "/run/reboot-required");
	put(f, "/var/run/reboot-required", "", 0644);
	run_check(f, &c);
	assert_result(f, NAP_CHECK_FAIL, "reboot required");
	rm(f, "/var/run/reboot-required");
	tool(f, "/usr/bin/needs-restarting", "Reboot is required", 1);
	run_check(f, &c);
	assert_result(f, NAP_CHECK_FAIL, "needs-restarting -r");
	tool(f, "/usr/bin/needs-restarting", "No core libraries have been updated", 0);
	run_check(f, &c);
	assert_result(f, NAP_CHECK_PASS, "needs-restarting -r");
	tool(f, "/usr/bin/needs-restarting", "", 2);
	run_check(f, &c);
	assert_result(f, NAP_CHECK_ERROR, "exit 2");
}

/* ---- file, service, command ---- */

static void
test_file(void **state)
{
	struct fx *f = *state;
	struct nap_hsr_check c = {.id = "CHK-FILE", .type = NAP_CHECK_TYPE_FILE,
				  .path = "/etc/nap/marker"};
	char p[512];

	run_check(f, &c);
	assert_result(f, NAP_CHECK_FAIL, "does not exist");
	put(f, "/etc/nap/marker", "test", 0644);
	run_check(f, &c);
	assert_result(f, NAP_CHECK_PASS, "exists");
	/* SHA-256("test") */
	c.sha256 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
	run_check(f, &c);
	assert_result(f, NAP_CHECK_PASS, "expected SHA-256");
	put(f, "/etc/nap/marker", "tesT", 0644);
	run_check(f, &c);
	assert_result(f, NAP_CHECK_FAIL, "expected 9f86d081884c7d65");
	/* A directory (or FIFO) has no content hash. */
	c.path = "/etc/nap";
	run_check(f, &c);
	assert_result(f, NAP_CHECK_FAIL, "not a regular file");
	snprintf(p, sizeof(p), "%s/etc/nap/fifo", f->root);
	assert_int_equal(mkfifo(p, 0644), 0);
	c.path = "/etc/nap/fifo";
	run_check(f, &c);
	assert_result(f, NAP_CHECK_FAIL, "not a regular file");
	/* No permission (meaningless as root). */
	if (geteuid() != 0) {
		c.path = "/etc/nap/marker";
		snprintf(p, sizeof(p), "%s/etc/nap/marker", f->root);
		assert_int_equal(chmod(p, 0), 0);
		run_check(f, &c);
		assert_result(f, NAP_CHECK_ERROR, "Permission denied");
	}
}

static void
test_service(void **state)
{
	struct fx *f = *state;
	struct nap_hsr_check c = {.id = "CHK-SSH", .type = NAP_CHECK_TYPE_SERVICE,
				  .unit = "ssh.service"};

	run_check(f, &c);
	assert_result(f, NAP_CHECK_ERROR, "systemctl not found");
	/* The fake systemctl checks that it got "is-active -- ssh.service". */
	put(f, "/usr/bin/systemctl",
	    "#!/bin/sh\n[ \"$1 $2 $3\" = \"is-active -- ssh.service\" ] || exit 9\n"
	    "echo active\nexit 0\n",
	    0755);
	run_check(f, &c);
	assert_result(f, NAP_CHECK_PASS, "ssh.service active");
	tool(f, "/usr/bin/systemctl", "failed", 3);
	run_check(f, &c);
	assert_result(f, NAP_CHECK_FAIL, "ssh.service failed");
	/* No systemd (a container): no state on stdout. */
	put(f, "/usr/bin/systemctl", "#!/bin/sh\necho 'System has not been booted' >&2\nexit 1\n",
	    0755);
	run_check(f, &c);
	assert_result(f, NAP_CHECK_ERROR, "no state (exit 1)");
}

static void
test_command(void **state)
{
	struct fx *f = *state;
	char *argv_true[] = {"/bin/true"};
	char *argv_false[] = {"/bin/false"};
	char *argv_sh[] = {"/bin/sh", "-c", "exit 7"};
	char *argv_sleep[] = {"/bin/sh", "-c", "sleep 10 & sleep 10"};
	char *argv_kill[] = {"/bin/sh", "-c", "kill -9 $$"};
	char *argv_none[] = {"/nonexistent/tool"};
	struct nap_hsr_check c = {.id = "CHK-CMD", .type = NAP_CHECK_TYPE_COMMAND,
				  .argv = argv_true, .n_argv = 1};
	struct timespec t0, t1;

	/* Denied by default. */
	run_check(f, &c);
	assert_result(f, NAP_CHECK_ERROR, "command checks disabled");
	f->env.allow_commands = true;
	run_check(f, &c);
	assert_result(f, NAP_CHECK_PASS, "exit 0");
	c.argv = argv_false;
	run_check(f, &c);
	assert_result(f, NAP_CHECK_FAIL, "exit 1, expected 0");
	c.expect_exit = 1;
	run_check(f, &c);
	assert_result(f, NAP_CHECK_PASS, "exit 1");
	c.argv = argv_sh;
	c.n_argv = 3;
	c.expect_exit = 7;
	run_check(f, &c);
	assert_result(f, NAP_CHECK_PASS, "exit 7");
	c.argv = argv_kill;
	run_check(f, &c);
	assert_result(f, NAP_CHECK_FAIL, "signal 9");
	c.argv = argv_none;
	c.n_argv = 1;
	run_check(f, &c);
	assert_result(f, NAP_CHECK_ERROR, "No such file");
	/* Timeout: the whole process group goes, quickly. */
	c.argv = argv_sleep;
	c.n_argv = 3;
	f->env.timeout_ms = 300;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	run_check(f, &c);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_result(f, NAP_CHECK_ERROR, "timed out after 300 ms");
	assert_true(t1.tv_sec - t0.tv_sec < 3);
}

static void
test_runner(void **state)
{
	const char *big[] = {"/bin/sh", "-c", "i=0; while [ $i -lt 2000 ]; do echo 0123456789; "
					      "i=$((i+1)); done",
			     NULL};
	const char *env[] = {"/bin/sh", "-c", "echo \"$PATH|$LC_ALL|$HOME\"; exec 3>&- 2>&-; "
					      "ls /proc/self/fd | wc -l",
			     NULL};
	const char *bg[] = {"/bin/sh", "-c", "sleep 5 & echo started", NULL};
	struct collect_run r;
	struct timespec t0, t1;
	int extra;

	(void)state;
	/* Output beyond the bound is cut, the rest read and dropped. */
	assert_int_equal(collect_run(big, 5000, 1000, &r), 0);
	assert_int_equal(r.status, 0);
	assert_true(r.truncated);
	assert_int_equal(r.out_len, 1000);
	assert_int_equal(strlen(r.out), 1000);
	collect_run_free(&r);
	/* A minimal environment; no descriptors but 0 and 1 (2 closed here) and the one ls opens. */
	extra = open("/dev/null", O_RDONLY); /* not close-on-exec: the runner closes it */
	assert_true(extra >= 3);
	assert_int_equal(collect_run(env, 5000, 4096, &r), 0);
	close(extra);
	if (strstr(r.out, "/usr/sbin:/usr/bin:/sbin:/bin|C|\n") == NULL)
		fail_msg("environment: %s", r.out);
	assert_int_equal(atoi(strchr(r.out, '\n') + 1), 3);
	collect_run_free(&r);
	/* A background child keeping stdout open is killed with the group at the timeout. */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(collect_run(bg, 400, 4096, &r), 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_string_equal(r.out, "started\n");
	assert_int_equal(r.status, 0);
	assert_false(r.timed_out); /* the program itself finished */
	assert_true(t1.tv_sec - t0.tv_sec < 3);
	collect_run_free(&r);
}

/* ---- the WSHA view ---- */

static void
test_wsh(void **state)
{
	struct fx *f = *state;
	struct nap_wsh w;

	/* A bare host: firewall and AV not installed, automatic updates off. */
	agent_collect_wsh(&f->env, &w);
	assert_true(w.has_version);
	assert_int_equal(w.client_version, 0x00060001);
	assert_true(w.cls[NAP_WSH_FIREWALL].present);
	assert_int_equal(w.cls[NAP_WSH_FIREWALL].status, NAP_WSH_E_PRODUCT_NOT_INSTALLED);
	assert_null(w.cls[NAP_WSH_FIREWALL].product_name);
	assert_int_equal(w.cls[NAP_WSH_ANTIVIRUS].status, NAP_WSH_E_PRODUCT_NOT_INSTALLED);
	assert_int_equal(w.cls[NAP_WSH_ANTISPYWARE].status, NAP_WSH_E_PRODUCT_NOT_INSTALLED);
	assert_int_equal(w.cls[NAP_WSH_AUTO_UPDATES].status, 1);
	assert_false(w.cls[NAP_WSH_SECURITY_UPDATES].present);

	/* Everything on. */
	tool(f, "/usr/sbin/nft", nft_inet_drop, 0);
	put(f, "/usr/bin/freshclam", "", 0755);
	cvd(f, "/var/lib/clamav/daily.cvd", NOW - 86400);
	put(f, "/usr/bin/unattended-upgrade", "", 0755);
	put(f, "/etc/apt/apt.conf.d/20auto-upgrades", "APT::Periodic::Unattended-Upgrade \"1\";\n",
	    0644);
	agent_collect_wsh(&f->env, &w);
	assert_int_equal(w.cls[NAP_WSH_FIREWALL].status, NAP_WSH_STATUS_ENABLED);
	assert_int_equal(w.cls[NAP_WSH_FIREWALL].product_name_len, 16);
	assert_memory_equal(w.cls[NAP_WSH_FIREWALL].product_name, "n\0f\0t\0", 6);
	assert_int_equal(w.cls[NAP_WSH_ANTIVIRUS].status,
			 NAP_WSH_STATUS_ENABLED | NAP_WSH_STATUS_UPTODATE);
	assert_int_equal(w.cls[NAP_WSH_ANTISPYWARE].status,
			 NAP_WSH_STATUS_ENABLED | NAP_WSH_STATUS_UPTODATE);
	assert_int_equal(w.cls[NAP_WSH_AUTO_UPDATES].status, 4);

	/* Stale signatures, a firewall that is off, a ruleset nobody can read. */
	f->env.av_max_age = 3600;
	tool(f, "/usr/sbin/nft", nft_accept, 0);
	agent_collect_wsh(&f->env, &w);
	assert_int_equal(w.cls[NAP_WSH_ANTIVIRUS].status, NAP_WSH_STATUS_ENABLED);
	assert_int_equal(w.cls[NAP_WSH_FIREWALL].status, 0);
	tool(f, "/usr/sbin/nft", "", 1);
	agent_collect_wsh(&f->env, &w);
	assert_int_equal(w.cls[NAP_WSH_FIREWALL].status, NAP_WSH_E_WSC_SERVICE_DOWN);
	assert_null(w.cls[NAP_WSH_FIREWALL].product_name);

	/* The entry encodes and decodes as MS-WSH. */
	{
		struct nap_soh soh, dec;
		struct nap_wsh back;
		uint8_t *wire;
		size_t len;

		w.cls[NAP_WSH_SECURITY_UPDATES].present = true;
		w.cls[NAP_WSH_SECURITY_UPDATES].status = NAP_WSH_S_NO_MISSING_UPDATES;
		nap_soh_init(&soh, true, NULL);
		assert_int_equal(nap_wsh_add_entry(&soh, &w), 0);
		assert_int_equal(nap_soh_encode_alloc(&soh, &wire, &len), 0);
		assert_int_equal(nap_soh_decode(wire, len, &dec, NULL), 0);
		assert_int_equal(nap_wsh_decode(&dec, nap_soh_find_entry(&dec, NAP_SHID_WSH), &back,
						NULL),
				 0);
		assert_int_equal(back.cls[NAP_WSH_ANTIVIRUS].status, NAP_WSH_STATUS_ENABLED);
		assert_int_equal(back.cls[NAP_WSH_AUTO_UPDATES].status, 4);
		free(wire);
	}
}

static void
test_unknown_type(void **state)
{
	struct fx *f = *state;
	struct nap_hsr_check c = {.id = "CHK-X", .type = NAP_CHECK_TYPE_COUNT};

	run_check(f, &c);
	assert_result(f, NAP_CHECK_ERROR, "unknown check type");
}

int
main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_conf),
		cmocka_unit_test(test_parse_nft),
		cmocka_unit_test(test_parse_iptables),
		cmocka_unit_test(test_apt_conf_parser),
		cmocka_unit_test(test_cvd_header),
		cmocka_unit_test(test_runner),
		T(test_firewall),
		T(test_auto_updates),
		T(test_antivirus),
		T(test_reboot),
		T(test_file),
		T(test_service),
		T(test_command),
		T(test_wsh),
		T(test_unknown_type),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
