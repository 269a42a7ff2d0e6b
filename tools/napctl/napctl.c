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
	{"hsr", "show", "FILE [--keys PEM] [--json]",
	 "Parse and check an HSR document (the digest always; the signature against the public\n"
	 "keys in PEM when --keys is given) and print site, revision, digest and policy count.",
	 cmd_hsr_show},
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
};

static void
usage_all(FILE *f)
{
	fprintf(f, "usage: napctl COMMAND [options]\n       napctl help | COMMAND --help\n\n");
	for (size_t i = 0; i < NAP_ARRAY_SIZE(commands); i++)
		fprintf(f, "  napctl %s %s %s\n", commands[i].group, commands[i].name,
			commands[i].usage);
}

void
ctl_help(const struct ctl_cmd *cmd)
{
	printf("usage: napctl %s %s %s\n\n%s\n", cmd->group, cmd->name, cmd->usage, cmd->help);
}

int
ctl_usage_error(const struct ctl_cmd *cmd, const char *fmt, ...)
{
	va_list ap;

	fputs("napctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nusage: napctl %s %s %s\n", cmd->group, cmd->name, cmd->usage);
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

int
main(int argc, char *argv[])
{
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
