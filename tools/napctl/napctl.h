/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * napctl: subcommand table and helpers shared by the subcommand files. Command-line input only.
 */
#ifndef NAP_TOOLS_NAPCTL_H
#define NAP_TOOLS_NAPCTL_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define NAPCTL_EXIT_ERROR  1
#define NAPCTL_EXIT_REJECT 2
#define NAPCTL_EXIT_USAGE  64

struct ctl_cmd {
	const char *group; /* "key", "hsr", ... */
	const char *name;  /* "generate", "sign", ... */
	const char *usage; /* options after "napctl group name" */
	const char *help;  /* one paragraph, shown with --help */
	int (*run)(const struct ctl_cmd *cmd, int argc, char *argv[]);
};

/* Print "napctl: <message>" and the command's usage line on stderr; returns NAPCTL_EXIT_USAGE. */
int ctl_usage_error(const struct ctl_cmd *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Print "napctl: <message>" on stderr; returns NAPCTL_EXIT_ERROR. */
int ctl_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void ctl_help(const struct ctl_cmd *cmd);
/* Duration with an optional unit: ms, s, m, h, d (no unit = seconds). */
int ctl_parse_ms(const char *s, int64_t *ms);

/*
 * Site commands (policy, exemption, group, agent, hsr show --directory) read napsited.conf for
 * the store URI, the site code, the pidfile and the directory. -c/--config FILE and --store URI
 * come before the command (napctl -c FILE policy list) or among its options.
 */
struct nap_siteconf;
struct nap_store;
struct ctl_site {
	struct nap_siteconf *conf; /* NULL when only --store was given */
	struct nap_store *store;   /* NULL unless opened */
	const char *store_uri;
	uint64_t revision_before; /* the store's revision when it was opened */
};

#define CTL_OPT_CONFIG 'c'
#define CTL_OPT_STORE  0x200
#define CTL_SITE_OPTIONS                                                                           \
	{"config", required_argument, NULL, CTL_OPT_CONFIG},                                       \
	{                                                                                          \
		"store", required_argument, NULL, CTL_OPT_STORE                                    \
	}

#define CTL_HELP_OPTION                                                                            \
	{                                                                                          \
		"help", no_argument, NULL, 'h'                                                     \
	}
#define CTL_OPT_JSON 0x201

/*
 * An option a site command's getopt loop did not handle itself: -c/--store are taken (returns
 * -1: go on), -h prints the help (returns 0), anything else is a usage error (returns 64).
 */
int ctl_common_option(const struct ctl_cmd *cmd, int c);
/*
 * Options of a command that takes only --json (when json != NULL) and the site options, then
 * nargs arguments into args, and no more unless rest != NULL: *rest is then the index of the
 * first argument left. Returns -1 to go on, or the exit status.
 */
int ctl_simple_options(const struct ctl_cmd *cmd, int argc, char *argv[], bool *json, int nargs,
		       const char **args, int *rest);
/* Take -c/--config or --store (from main or a command's getopt loop); false for other options. */
bool ctl_site_option(int c, const char *arg);
/*
 * Read the configuration (the -c file; else the default one unless --store was given) and, when
 * open_store, open the store and note its revision. Prints what went wrong; 0 or
 * NAPCTL_EXIT_ERROR. ctl_site_close() in every case.
 */
int ctl_site_open(struct ctl_site *s, const char *what, bool open_store);
/* Only the configuration; when !required, having none (no -c, --store or default file) is fine. */
int ctl_site_load(struct ctl_site *s, const char *what, bool required);
void ctl_site_close(struct ctl_site *s);
/* Print the revision after a change and tell a running napsited to publish it now. */
void ctl_site_changed(struct ctl_site *s, uint64_t revision);
/* A store error as "napctl: WHAT: message"; returns NAPCTL_EXIT_ERROR. */
int ctl_store_error(const char *what, int r, const char *msg);
/* "asap" or RFC 3339 UTC / YYYY-MM-DD (see nap_policy_time_parse). 0 or -EINVAL. */
int ctl_parse_time(const char *s, bool allow_asap, int64_t *t);
/* Unix seconds as RFC 3339 UTC; zero as zero_text. */
const char *ctl_time_text(int64_t t, const char *zero_text, char *buf, size_t cap);
/* Print a JSON document indented, then release it; 0 or NAPCTL_EXIT_ERROR. */
int ctl_json_print(json_t *root);

int cmd_policy_add(const struct ctl_cmd *cmd, int argc, char *argv[]);
int cmd_policy_list(const struct ctl_cmd *cmd, int argc, char *argv[]);
int cmd_policy_show(const struct ctl_cmd *cmd, int argc, char *argv[]);
int cmd_policy_remove(const struct ctl_cmd *cmd, int argc, char *argv[]);
int cmd_policy_import(const struct ctl_cmd *cmd, int argc, char *argv[]);
int cmd_hostcheck_add(const struct ctl_cmd *cmd, int argc, char *argv[]);
int cmd_hostcheck_list(const struct ctl_cmd *cmd, int argc, char *argv[]);
int cmd_hostcheck_show(const struct ctl_cmd *cmd, int argc, char *argv[]);
int cmd_hostcheck_remove(const struct ctl_cmd *cmd, int argc, char *argv[]);
int cmd_shv_add(const struct ctl_cmd *cmd, int argc, char *argv[]);
int cmd_shv_list(const struct ctl_cmd *cmd, int argc, char *argv[]);
int cmd_shv_show(const struct ctl_cmd *cmd, int argc, char *argv[]);
int cmd_shv_set(const struct ctl_cmd *cmd, int argc, char *argv[]);
int cmd_shv_remove(const struct ctl_cmd *cmd, int argc, char *argv[]);
int cmd_shv_push(const struct ctl_cmd *cmd, int argc, char *argv[]);
int cmd_shv_status(const struct ctl_cmd *cmd, int argc, char *argv[]);
int cmd_exemption_add(const struct ctl_cmd *cmd, int argc, char *argv[]);
int cmd_exemption_list(const struct ctl_cmd *cmd, int argc, char *argv[]);
int cmd_exemption_remove(const struct ctl_cmd *cmd, int argc, char *argv[]);
int cmd_group_set(const struct ctl_cmd *cmd, int argc, char *argv[]);
int cmd_group_list(const struct ctl_cmd *cmd, int argc, char *argv[]);
int cmd_group_remove(const struct ctl_cmd *cmd, int argc, char *argv[]);
int cmd_agent_enroll(const struct ctl_cmd *cmd, int argc, char *argv[]);
int cmd_agent_list(const struct ctl_cmd *cmd, int argc, char *argv[]);
int cmd_agent_show(const struct ctl_cmd *cmd, int argc, char *argv[]);
int cmd_agent_revoke(const struct ctl_cmd *cmd, int argc, char *argv[]);
/* hsr show --directory: called by cmd_hsr_show when the option is present. */
int cmd_hsr_show_directory(const struct ctl_cmd *cmd, int argc, char *argv[]);

int cmd_key_generate(const struct ctl_cmd *cmd, int argc, char *argv[]);
int cmd_hsr_sign(const struct ctl_cmd *cmd, int argc, char *argv[]);
int cmd_hsr_show(const struct ctl_cmd *cmd, int argc, char *argv[]);
int cmd_soh_sample(const struct ctl_cmd *cmd, int argc, char *argv[]);
int cmd_radius_query(const struct ctl_cmd *cmd, int argc, char *argv[]);
/* napctl ports | check | firewall (cmd_ports.c) */
int cmd_ports(const struct ctl_cmd *cmd, int argc, char *argv[]);
int cmd_check(const struct ctl_cmd *cmd, int argc, char *argv[]);
int cmd_firewall(const struct ctl_cmd *cmd, int argc, char *argv[]);
/* report compliance|clients|policies|history|feed, explain CLIENT (cmd_report.c) */
int cmd_report_compliance(const struct ctl_cmd *cmd, int argc, char *argv[]);
int cmd_report_clients(const struct ctl_cmd *cmd, int argc, char *argv[]);
int cmd_report_policies(const struct ctl_cmd *cmd, int argc, char *argv[]);
int cmd_report_history(const struct ctl_cmd *cmd, int argc, char *argv[]);
int cmd_report_feed(const struct ctl_cmd *cmd, int argc, char *argv[]);
int cmd_explain(const struct ctl_cmd *cmd, int argc, char *argv[]);

#endif
