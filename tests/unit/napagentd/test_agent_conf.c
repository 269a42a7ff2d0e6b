// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * napagentd.conf: a complete file parses and prints back in normal form (and that output parses
 * again to the same); every kind of mistake is refused with a message naming it; the -n
 * warnings about contradicting timings.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "agent.h"
#include "agent_test.h"

static char dir[] = "/tmp/napagentd-conf-XXXXXX";
static char path[128];

static int
setup(void **state)
{
	(void)state;
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(path, sizeof(path), "%s/napagentd.conf", dir);
	return 0;
}

static int
teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static const char full[] =
	"# comment\n"
	"[agent]\n"
	"site = S01\n"
	"machine_name = pc-17\n"
	"state_dir = /var/lib/napagentd-test\n"
	"pidfile = /run/napagentd-test.pid\n"
	"evaluate_interval = 30m\n"
	"validity_period = 1h\n"
	"settle = 3s\n"
	"[site]\n"
	"url = https://site.example:8443\n"
	"ca = /etc/nap/site-ca.pem\n"
	"hsr_key = /etc/nap/site-keys.pem\n"
	"policy_interval = 15m\n"
	"timeout = 20s\n"
	"report_state = yes\n"
	"[packages]\n"
	"backend = dpkg\n"
	"dpkg_status = /var/lib/napagentd-test/status\n";

static struct agent_conf *
parse(const char *text, char *err, size_t len, int *r)
{
	struct agent_conf *c = NULL;

	agent_test_write(path, text);
	*r = agent_conf_parse_file(path, &c, err, len);
	return c;
}

static void
test_full(void **state)
{
	struct agent_conf *c, *c2;
	char err[512], printed[8192], buf[PATH_MAX], out2[8192];
	FILE *f;
	int r;

	(void)state;
	c = parse(full, err, sizeof(err), &r);
	if (r != 0)
		fail_msg("%s", err);
	assert_string_equal(c->site, "S01");
	assert_string_equal(c->machine_name, "pc-17");
	assert_int_equal(c->evaluate_interval, 1800);
	assert_int_equal(c->validity_period, 3600);
	assert_int_equal(c->settle, 3);
	assert_string_equal(c->url, "https://site.example:8443");
	assert_int_equal(c->policy_interval, 900);
	assert_int_equal(c->http_timeout, 20);
	assert_true(c->report_state);
	assert_int_equal(c->backend, AGENT_BACKEND_DPKG);
	assert_string_equal(c->dpkg_status, "/var/lib/napagentd-test/status");
	assert_string_equal(agent_conf_cert(c, buf, sizeof(buf)),
			    "/var/lib/napagentd-test/agent.pem");
	assert_string_equal(agent_conf_key(c, buf, sizeof(buf)),
			    "/var/lib/napagentd-test/agent.key");
	/* Print, parse the output, print again: the same text. */
	f = fmemopen(printed, sizeof(printed), "w");
	agent_conf_print(c, f);
	fclose(f);
	assert_non_null(strstr(printed, "evaluate_interval = 30m"));
	c2 = parse(printed, err, sizeof(err), &r);
	if (r != 0)
		fail_msg("printed form does not parse: %s\n%s", err, printed);
	f = fmemopen(out2, sizeof(out2), "w");
	agent_conf_print(c2, f);
	fclose(f);
	assert_string_equal(printed, out2);
	/* No timing warning: 30m evaluation < 1h validity, 15m policy < 30m evaluation; the
	 * files named do not exist here: one warning each (ca, hsr_key, cert, key, status). */
	f = fmemopen(out2, sizeof(out2), "w");
	assert_int_equal(agent_conf_warn(c, f), 5);
	fclose(f);
	assert_null(strstr(out2, "longer than"));
	assert_non_null(strstr(out2, "/etc/nap/site-ca.pem: No such file"));
	assert_non_null(strstr(out2, "agent.key: No such file or directory (napagentd --enroll"));
	agent_conf_free(c);
	agent_conf_free(c2);
}

static void
test_warnings(void **state)
{
	struct agent_conf *c;
	char err[512], out[2048];
	FILE *f;
	int r;

	(void)state;
	c = parse("[agent]\nevaluate_interval = 2h\nvalidity_period = 1h\n"
		  "[site]\nurl = https://x:1\nca = /ca\nhsr_key = /k\npolicy_interval = 3h\n",
		  err, sizeof(err), &r);
	assert_int_equal(r, 0);
	f = fmemopen(out, sizeof(out), "w");
	assert_true(agent_conf_warn(c, f) >= 2);
	fclose(f);
	assert_non_null(strstr(out, "longer than napvd's validity_period"));
	assert_non_null(strstr(out, "policy_interval (10800s) is longer than evaluate_interval"));
	agent_conf_free(c);
	c = parse("[site]\npolicy_file = /p.json\n", err, sizeof(err), &r);
	assert_int_equal(r, 0);
	f = fmemopen(out, sizeof(out), "w");
	assert_true(agent_conf_warn(c, f) >= 1);
	fclose(f);
	assert_non_null(strstr(out, "not checked"));
	agent_conf_free(c);
}

static void
test_errors(void **state)
{
	static const struct {
		const char *text, *msg;
	} bad[] = {
		{"[agent]\nnope = 1\n[site]\npolicy_file = /p\n", "unknown key \"nope\""},
		{"[nope]\nx = 1\n", "unknown section"},
		{"x = 1\n", "outside a section"},
		{"[agent]\nevaluate_interval = soon\n", "evaluate_interval"},
		{"[agent]\nevaluate_interval = 1s\n", "evaluate_interval"},
		{"[agent]\nsite = S 01\n", "site"},
		{"[agent]\nmachine_name = a/b\n", "machine_name"},
		{"[agent]\nstate_dir = relative\n", "absolute"},
		{"[site]\nurl = http://x\n", "https"},
		{"[site]\nurl = https://x\nhsr_key = /k\n", "needs ca"},
		{"[site]\nurl = https://x\nca = /ca\n", "needs hsr_key"},
		{"[site]\nurl = https://x\nca = /c\nhsr_key = /k\npolicy_file = /p\n", "exclude"},
		{"[agent]\nsite = S01\n", "url"},
		{"[site]\npolicy_file = /p\nreport_state = maybe\n", "yes or no"},
		{"[site]\npolicy_file = /p\n[packages]\nbackend = apk\n", "dpkg or rpm"},
		{"[site]\npolicy_file = /p\n[checks]\nbogus = 1\n", "[checks]"},
		{"[site]\npolicy_file = /p\n[remediation]\nbogus = 1\n", "[remediation]"},
		{"[site]\npolicy_file = /p\n[dhcp]\nbogus = 1\n", "[dhcp]"},
		{"[site\n", "syntax"},
		{"[site]\npolicy_file = /p\v\n", "line 2: control character 0x0b"},
		{"[site]\npolicy_file = /p\n; \x1b[31m\n", "line 3: control character 0x1b"},
	};
	char err[512];
	int r;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct agent_conf *c;

		err[0] = '\0';
		c = parse(bad[i].text, err, sizeof(err), &r);
		if (r != -EINVAL || c != NULL)
			fail_msg("case %zu (%s) accepted", i, bad[i].text);
		if (strstr(err, bad[i].msg) == NULL)
			fail_msg("case %zu: \"%s\" lacks \"%s\"", i, err, bad[i].msg);
	}
	assert_int_equal(agent_conf_parse_file("/nonexistent/napagentd.conf",
					       &(struct agent_conf *){NULL}, err, sizeof(err)),
			 -ENOENT);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_warnings),
		cmocka_unit_test(test_errors),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
