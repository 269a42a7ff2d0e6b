/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Inside the collectors: host paths under the root prefix, the tool runner (fork/exec without a
 * shell, stdout captured, timeout, process group killed) and the result helpers the collector
 * modules share. Not part of the agent's interface (collector.h is).
 */
#ifndef NAPAGENTD_COLLECT_INT_H
#define NAPAGENTD_COLLECT_INT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "collector.h"

/* root + path into buf; false when it does not fit. */
bool collect_path(const struct agent_collect_env *env, const char *path, char *buf, size_t len);
/* The first of the NULL-terminated candidates that exists as an executable under the root. */
bool collect_find_tool(const struct agent_collect_env *env, const char *const *candidates,
		       char *buf, size_t len);
/* Does root + path exist (any type)? */
bool collect_exists(const struct agent_collect_env *env, const char *path);

struct collect_run {
	int status;       /* exit status 0..255; -1 when killed by a signal */
	int signal;       /* the signal, when killed */
	bool timed_out;   /* killed at the timeout */
	int exec_errno;   /* execve's errno when the program did not start, else 0 */
	char *out;        /* stdout, NUL-terminated (malloc'ed), at most max_out bytes */
	size_t out_len;
	bool truncated;   /* stdout was longer than max_out */
};

/*
 * Run argv (argv[0] an absolute path) with stdin and stderr on /dev/null, stdout captured, the
 * environment PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C, in its own process group, killed
 * (the whole group) after timeout_ms. Returns 0 when the program ran (whatever its status) or
 * when it could not be started (exec_errno set), negative errno when the runner itself failed.
 * Free r->out with collect_run_free().
 */
int collect_run(const char *const *argv, int64_t timeout_ms, size_t max_out, struct collect_run *r);
void collect_run_free(struct collect_run *r);

/* Fill a result. */
void collect_set(struct agent_check_result *out, uint8_t status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* systemctl is-active UNIT: 1 active, 0 not active (state in buf), -1 cannot tell (why in buf). */
int collect_unit_active(const struct agent_collect_env *env, const char *unit, char *buf,
			size_t len);

/* The collector modules (collect_*.c). */
void collect_firewall_probe(const struct agent_collect_env *env, struct agent_check_result *out,
			    const char **product);
void collect_file(const struct agent_collect_env *env, const struct nap_hsr_check *check,
		  struct agent_check_result *out);
void collect_service(const struct agent_collect_env *env, const struct nap_hsr_check *check,
		     struct agent_check_result *out);
void collect_command(const struct agent_collect_env *env, const struct nap_hsr_check *check,
		     struct agent_check_result *out);

/* Parsers, exposed for the unit tests. */
/* nft -j list ruleset output: PASS / FAIL with detail; ERROR when it is not nft JSON. */
void collect_parse_nft_json(const char *json, size_t len, struct agent_check_result *out);
/* iptables-save output. */
void collect_parse_iptables_save(const char *text, struct agent_check_result *out);
/* apt.conf text: the value of APT::Periodic::<key>, scopes and comments honoured. */
bool collect_apt_conf_value(const char *text, const char *key, char *val, size_t len);
/* A ClamAV database header (the first 512 bytes): its build time, or -1. */
int64_t collect_cvd_time(const uint8_t *hdr, size_t len);

#endif
