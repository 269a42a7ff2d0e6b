// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * napctl: the administrator's tool. Dispatches "napctl GROUP NAME [options]" through one table;
 * every subcommand parses its own options with getopt_long. Bad usage exits 64. Handles
 * command-line input only; the subcommands read files and the network through libnap.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nap/siteconf.h"
#include "nap/util.h"

#include "napctl.h"

static const struct ctl_cmd commands[] = {
	{"key", "generate", "--private FILE --public FILE",
	 "Generate an Ed25519 site key pair as PEM files (the private one mode 0600).",
	 cmd_key_generate},
	{"hsr", "sign", "--key FILE [IN] [-o OUT]",
	 "Read an unsigned HSR document (site, revision, issued, policies) from IN or stdin,\n"
	 "compute its digest, sign it with the Ed25519 private key and write the signed\n"
	 "canonical JSON to OUT or stdout.",
	 cmd_hsr_sign},
	{"hsr", "show",
	 "FILE [--keys PEM] [--json]\n"
	 "      | --directory [--site S] [--keys PEM] [--json] [--uri URI]... [--base DN]\n"
	 "      [--container RDN] [--starttls yes|no] [--ca-file PEM] [--bind-dn DN\n"
	 "      --bind-password-file FILE] [--timeout DUR]",
	 "Parse and check an HSR document (the digest always; the signature against the public\n"
	 "keys in PEM when --keys is given) and print site, revision, digest and policy count.\n"
	 "With --directory, read the published HSR entries from the directory of napsited.conf\n"
	 "(or --uri/--base) instead, check each against its signed document, and show what the\n"
	 "store says napsited last published. Exit status 1 when an entry fails a check.",
	 cmd_hsr_show},
	{"policy", "add",
	 "ID [--package P --min-version V] [--requires P=V]... [--scheme dpkg|rpm]\n"
	 "      --severity critical|important|moderate|low [--effective TIME|asap]\n"
	 "      [--reason TEXT] [--replace]",
	 "Add a NAP policy to the site store: a required package version (--package and\n"
	 "--min-version), an advisory resolving to several (--requires, repeatable), or neither\n"
	 "(advisory only). TIME is YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ (UTC); default asap.\n"
	 "--replace overwrites a policy with the same ID.",
	 cmd_policy_add},
	{"policy", "list", "[--json]",
	 "List the site's policies and the store's revision. The JSON form imports as it is.",
	 cmd_policy_list},
	{"policy", "show", "ID [--json]", "Show one policy.", cmd_policy_show},
	{"policy", "remove", "ID", "Remove a policy.", cmd_policy_remove},
	{"policy", "import", "FILE|- [--format json|csv] [--replace-all] [--dry-run]",
	 "Import policies from a JSON or CSV file (format from --format, the file name or the\n"
	 "first character) in one change: all or nothing. Existing ids are replaced; with\n"
	 "--replace-all, policies absent from the file are removed. --dry-run only checks.",
	 cmd_policy_import},
	{"hostcheck", "add",
	 "ID --type firewall|auto_updates|antivirus|reboot|file|service|command\n"
	 "      [--max-age DUR] [--path P] [--sha256 HEX] [--unit UNIT] [--argv ARG]... [--exit N]\n"
	 "      [--severity S] [--effective TIME|asap] [--reason TEXT] [--replace]",
	 "Add an HSR check: host state napagentd verifies (doc/hsr.md). antivirus takes\n"
	 "--max-age (signature age, 7d); file --path (absolute) and optionally --sha256; service\n"
	 "--unit (ssh.service); command --argv (repeatable, the first an absolute path) and\n"
	 "--exit (expected status, default 0; agents run it only with commands = allow).\n"
	 "Default severity important, effective asap. Check ids share the policies' ids.",
	 cmd_hostcheck_add},
	{"hostcheck", "list", "[--json]", "List the HSR checks and the store's revision.",
	 cmd_hostcheck_list},
	{"hostcheck", "show", "ID [--json]", "Show one HSR check.", cmd_hostcheck_show},
	{"hostcheck", "remove", "ID", "Remove an HSR check.", cmd_hostcheck_remove},
#ifdef NAPCTL_HAVE_SHV
	{"shv", "add",
	 "HOST --url smb://HOST[:PORT]/SHARE[/DIR] --credentials FILE [--site S]\n"
	 "      [--sites S...] [--uri URI...] [--base DN] [--bind-dn DN --bind-password-file PATH]\n"
	 "      [--query-interval DUR] [--max-age DUR] [--validity-period DUR]\n"
	 "      [--absolute-cutoff TIME|none] [--client-component|--client-communication|\n"
	 "      --server-component|--server-communication|--other compliant|noncompliant]\n"
	 "      [--known-client-errors CODES]",
	 "Add an SHV point (a napvd host) whose settings napsited writes as nap-shv.conf into\n"
	 "its configuration share over SMB (credentials FILE in smbclient -A form, on this\n"
	 "host). Settings not given keep the napvd.conf values there; --site defaults to\n"
	 "napsited.conf's site code. bind_password_file names a file on the napvd host: no\n"
	 "secret travels in the share.",
	 cmd_shv_add},
	{"shv", "list", "[--json]", "List the SHV points, their revision and last status.",
	 cmd_shv_list},
	{"shv", "show", "HOST [--json]",
	 "Show an SHV point, its last status and the nap-shv.conf its revision gives.",
	 cmd_shv_show},
	{"shv", "set", "HOST [--url URL] [--credentials FILE] [KEY=VALUE]... [KEY=]...",
	 "Change an SHV point's settings (KEY as in napvd.conf: validity_period=26h,\n"
	 "other=compliant, ...; KEY= unsets it). A change moves its revision on and napsited\n"
	 "pushes it.",
	 cmd_shv_set},
	{"shv", "remove", "HOST", "Forget an SHV point (its share keeps the last file).",
	 cmd_shv_remove},
	{"shv", "push", "[HOST] [--wait DUR]",
	 "Write the settings of HOST (or every SHV point) now, then wait up to --wait (15s)\n"
	 "for napvd's nap-shv.status on that revision and print it. Exit 2 when napvd\n"
	 "rejected it, 1 when the share or napvd did not answer.",
	 cmd_shv_push},
	{"shv", "status", "[HOST] [--json]",
	 "Read nap-shv.status from each SHV point's share now (stored in the site database)\n"
	 "and print the revision napvd judged, accepted or rejected with its errors, and the\n"
	 "revision in force.",
	 cmd_shv_status},
#endif
	{"exemption", "add",
	 "ID (--client GLOB | --group NAME) [--policy ID]... [--from TIME] [--until TIME]\n"
	 "      [--reason TEXT] [--replace]",
	 "Exempt a client (machine name or glob) or a group from some policies (--policy,\n"
	 "repeatable) or all, from --from until --until (YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ).",
	 cmd_exemption_add},
	{"exemption", "list", "[--json]", "List the exemptions.", cmd_exemption_list},
	{"exemption", "remove", "ID", "Remove an exemption.", cmd_exemption_remove},
	{"group", "set", "NAME MEMBER...",
	 "Create or replace a client group: machine names or globs that exemptions refer to.",
	 cmd_group_set},
	{"group", "list", "[--json]", "List the client groups.", cmd_group_list},
	{"group", "remove", "NAME", "Remove a client group.", cmd_group_remove},
	{"agent", "enroll", "CLIENT [--lifetime DUR] [--json]",
	 "Make a one-time enrollment token for the agent on CLIENT (default lifetime: [agent]\n"
	 "token_lifetime, 24h) and print it once as 64 hex digits; the store keeps its SHA-256.",
	 cmd_agent_enroll},
	{"agent", "list", "[--json]", "List the agents' current states.", cmd_agent_list},
	{"agent", "show", "CLIENT [--history N] [--json]",
	 "Show an agent's current state and, with --history, its last N reports.", cmd_agent_show},
	{"agent", "revoke", "CLIENT", "Revoke every certificate issued to CLIENT's agent.",
	 cmd_agent_revoke},
	{"report", "compliance", "[--silent-after 30min] [--json]",
	 "Compliance summary: clients by result, action, enforcement point and branch, how many\n"
	 "are silent (nothing heard for longer than --silent-after), judged against an old HSR\n"
	 "revision, and the agents' reported states.",
	 cmd_report_compliance},
	{"report", "clients",
	 "[--compliant|--noncompliant|--exempt] [--silent] [--action A] [--prefix NAME]\n"
	 "      [--policy ID] [--sort name|last-seen|silent] [--silent-after 30min]\n"
	 "      [--limit N] [--offset N] [--json]",
	 "List clients with their last verdict, when they were last seen, their agent's state\n"
	 "and missing updates. --silent lists the clients nothing was heard from for longer\n"
	 "than --silent-after (lost agents), longest silent first; --policy those whose agent\n"
	 "lists that policy or check as missing. --limit 1-5000 (default 100).",
	 cmd_report_clients},
	{"report", "policies", "[--limit N] [--offset N] [--json]",
	 "Per policy and check: how many agents report it missing, most first.",
	 cmd_report_policies},
	{"report", "history", "[--since TIME|DUR] [--until TIME|DUR] [--bucket hour|day] [--json]",
	 "Compliant and noncompliant clients per hour or day (UTC), from the status messages:\n"
	 "each machine counts once per bucket, as its last verdict in it. TIME is\n"
	 "2026-12-01[T08:00:00Z], DUR a time before now (24h, 7d). Default: the last 24 hours\n"
	 "by hour, or the last 30 days by day.",
	 cmd_report_history},
	{"report", "feed", "[--client NAME] [--limit N] [--offset N] [--json]",
	 "The latest status messages (verdicts), newest first; --client for one machine.",
	 cmd_report_feed},
	{"explain", "", "CLIENT [--silent-after 30min] [--json]",
	 "Why CLIENT has the verdict it has: the last verdict and the validation branch that\n"
	 "decided it, the HSR revision it was judged against, the updates and checks its agent\n"
	 "reports missing with the policies that require them, and what would fix it.",
	 cmd_explain},
	{"soh", "sample",
	 "--site S (--revision N --digest HEX | --hsr FILE [--revision N]) [--compliant yes|no]\n"
	 "      [--age DURATION] [--generated RFC3339] [--failure CATEGORY] [--error-code CODE]\n"
	 "      [--missing ID]... [--wsh] [--malformed] [--no-nap-entry] [--wrap] [--machine NAME]",
	 "Build a client SoH like nap's agent would send and print it as one line of hex.\n"
	 "--age D sets the generation and evaluation time to now - D (or --generated - D).\n"
	 "--failure is client-component, client-communication, server-component,\n"
	 "server-communication or other.",
	 cmd_soh_sample},
	{"radius", "query",
	 "--server ADDR:PORT --secret S [--nas-type TYPE] [--soh HEX|-|@FILE | --no-soh]\n"
	 "      [--timeout 2s] [--tries N] [--user NAME] [--machine NAME] [--json] [--full]\n"
	 "      [--require-msg-auth]",
	 "Send one Access-Request (Authorize-Only, with the SoH split over MS-Quarantine-SoH\n"
	 "attributes and a Message-Authenticator), verify the reply and print the decision and\n"
	 "the decoded SoHR. TYPE: unspecified ts-gateway vpn dhcp wireless hra hcap.\n"
	 "With --require-msg-auth, replies without a Message-Authenticator are dropped.\n"
	 "Exit status: 0 Access-Accept, 2 Access-Reject, 1 error or timeout.",
	 cmd_radius_query},
	{"ports", "", "[-f FILE] [--json] [--no-store]",
	 "Print the port matrix (DESIGN.md section 1) of this deployment: every connection\n"
	 "between site server, directory, SHV points, DHCP servers, HRAs, clients and admins,\n"
	 "with its purpose, protocol and port, the nap parts and the concrete host:port, from\n"
	 "napsited.conf ([directory], [agent], [web], [deployment]) and the store's SHV points.",
	 cmd_ports},
	{"check", "", "[-f FILE] [--json] [--timeout 3s] [--no-store]",
	 "Probe every peer of the port matrix: LDAP bind, the HSR search as napvd makes it,\n"
	 "a probe file written to and removed from each SMB share, RADIUS Status-Server to\n"
	 "napvd, TLS + GET / to the agent endpoint, naphrad and the dashboard. Each result is\n"
	 "ok, blocked (no answer: a firewall drops it?), refused (nothing listens / REJECT),\n"
	 "unreachable, auth-failure, tls-failure, failed or skipped, with why.\n"
	 "Exit status 0 only when every probe passed.",
	 cmd_check},
	{"firewall", "",
	 "--role ROLE[,ROLE...] [-f FILE] [--family inet|ip|ip6] [-o FILE] [--no-store]",
	 "Print an nftables ruleset (table FAMILY nap, input and output chains with policy\n"
	 "drop) that opens exactly the port matrix for a host with these roles: site,\n"
	 "directory, shv, dhcp, hra, client, admin. Load it with nft -f.",
	 cmd_firewall},
};

static void
usage_all(FILE *f)
{
	fprintf(f,
		"usage: napctl [-c FILE] [--store URI] COMMAND [options]\n"
		"       napctl help | COMMAND --help\n\n"
		"  -c, --config FILE  napsited.conf for the site commands (default %s)\n"
		"  --store URI        the site store (sqlite:PATH, postgresql://...), overriding "
		"the file's\n\n",
		NAP_SITECONF_DEFAULT);
	for (size_t i = 0; i < NAP_ARRAY_SIZE(commands); i++)
		fprintf(f, "  napctl %s%s%s %s\n", commands[i].group,
			commands[i].name[0] != '\0' ? " " : "", commands[i].name, commands[i].usage);
}

void
ctl_help(const struct ctl_cmd *cmd)
{
	printf("usage: napctl %s%s%s %s\n\n%s\n", cmd->group, cmd->name[0] != '\0' ? " " : "",
	       cmd->name, cmd->usage, cmd->help);
}

int
ctl_usage_error(const struct ctl_cmd *cmd, const char *fmt, ...)
{
	va_list ap;

	fputs("napctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nusage: napctl %s%s%s %s\n", cmd->group, cmd->name[0] != '\0' ? " " : "",
		cmd->name, cmd->usage);
	return NAPCTL_EXIT_USAGE;
}

int
ctl_error(const char *fmt, ...)
{
	va_list ap;

	fputs("napctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return NAPCTL_EXIT_ERROR;
}

int
ctl_parse_ms(const char *s, int64_t *ms)
{
	static const struct {
		const char *unit;
		int64_t mult;
	} units[] = {{"", 1000},   {"ms", 1},      {"s", 1000},
		     {"m", 60000}, {"h", 3600000}, {"d", 86400000}};
	char *end;
	long long v;

	if (s == NULL || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0)
		return -ERANGE;
	for (size_t i = 0; i < NAP_ARRAY_SIZE(units); i++)
		if (strcmp(end, units[i].unit) == 0) {
			if (v > INT64_MAX / units[i].mult)
				return -ERANGE;
			*ms = (int64_t)v * units[i].mult;
			return 0;
		}
	return -EINVAL;
}

/* Leading -c FILE, --config[=]FILE, --store[=]URI; returns how many arguments they took. */
static int
global_options(int argc, char *argv[])
{
	int i = 1;

	while (i < argc && argv[i][0] == '-') {
		const char *a = argv[i], *v = NULL;
		int c, took = 2;

		if (strcmp(a, "-c") == 0 || strcmp(a, "--config") == 0) {
			c = CTL_OPT_CONFIG;
			v = i + 1 < argc ? argv[i + 1] : NULL;
		} else if (strcmp(a, "--store") == 0) {
			c = CTL_OPT_STORE;
			v = i + 1 < argc ? argv[i + 1] : NULL;
		} else if (strncmp(a, "--config=", 9) == 0) {
			c = CTL_OPT_CONFIG;
			v = a + 9;
			took = 1;
		} else if (strncmp(a, "--store=", 8) == 0) {
			c = CTL_OPT_STORE;
			v = a + 8;
			took = 1;
		} else {
			break;
		}
		if (v == NULL || *v == '\0')
			return -1;
		ctl_site_option(c, v);
		i += took;
	}
	return i - 1;
}

int
main(int argc, char *argv[])
{
	int g = global_options(argc, argv);

	if (g < 0) {
		fprintf(stderr, "napctl: %s needs a value\n", argv[argc - 1]);
		usage_all(stderr);
		return NAPCTL_EXIT_USAGE;
	}
	argv[g] = argv[0];
	argc -= g;
	argv += g;
	if (argc < 2) {
		usage_all(stderr);
		return NAPCTL_EXIT_USAGE;
	}
	if (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0) {
		usage_all(stdout);
		return 0;
	}
	for (size_t i = 0; i < NAP_ARRAY_SIZE(commands); i++) {
		if (strcmp(argv[1], commands[i].group) != 0)
			continue;
		/* A command without a name ("explain CLIENT"): getopt sees the group as argv[0]. */
		if (commands[i].name[0] == '\0')
			return commands[i].run(&commands[i], argc - 1, argv + 1);
		if (argc < 3 || strcmp(argv[2], commands[i].name) != 0)
			continue;
		/* getopt sees "name [options]" with the name as argv[0]. */
		return commands[i].run(&commands[i], argc - 2, argv + 2);
	}
	fprintf(stderr, "napctl: unknown command '%s%s%s'\n", argv[1], argc > 2 ? " " : "",
		argc > 2 ? argv[2] : "");
	usage_all(stderr);
	return NAPCTL_EXIT_USAGE;
}
