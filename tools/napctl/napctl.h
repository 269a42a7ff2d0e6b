/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * napctl: subcommand table and helpers shared by the subcommand files. Command-line input only.
 */
#ifndef NAP_TOOLS_NAPCTL_H
#define NAP_TOOLS_NAPCTL_H

#include <stdbool.h>
#include <stdint.h>

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

int cmd_key_generate(const struct ctl_cmd *cmd, int argc, char *argv[]);
int cmd_hsr_sign(const struct ctl_cmd *cmd, int argc, char *argv[]);
int cmd_hsr_show(const struct ctl_cmd *cmd, int argc, char *argv[]);
int cmd_soh_sample(const struct ctl_cmd *cmd, int argc, char *argv[]);
int cmd_radius_query(const struct ctl_cmd *cmd, int argc, char *argv[]);

#endif
