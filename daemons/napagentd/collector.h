/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * napagentd collectors: one module per HSR check type (doc/hsr.md "checks") plus the MS-WSH view
 * of the host for the WSHA entry of the SoH. Each collector looks at host state under a root
 * prefix (env->root: "" on a real system, a temporary directory in the unit tests), so tests
 * build fake trees (etc/apt/apt.conf.d, var/lib/clamav, run/reboot-required, fake tools in
 * usr/sbin) and never read or change the test machine.
 *
 * External tools (nft, iptables-save, systemctl, needs-restarting) are run as root + their
 * usual absolute path (for example env->root + "/usr/sbin/nft"), never through a shell, with
 * stdout captured, stderr discarded, a minimal environment (LC_ALL=C) and a timeout; a command
 * check runs its argv as given (argv[0] absolute, not prefixed) and only when the [checks]
 * section says commands = allow. Children are reaped with waitpid() on their own pid, so the
 * caller must not set SIGCHLD to SIG_IGN.
 *
 * Results never fail hard: whatever goes wrong becomes status NAP_CHECK_ERROR with a detail
 * text, which the SoH carries as an ERROR check result (napvd treats it like FAIL).
 *
 * Building (daemons/napagentd/meson.build, owned by agent-core): the collector sources are
 * collect.c (dispatch, the [checks] section, the runner, agent_collect_wsh), collect_firewall.c,
 * collect_updates.c (auto_updates, reboot), collect_av.c (antivirus), collect_host.c (file,
 * service, command); they need libnap, jansson (nft -j output) and libcrypto (OpenSSL EVP for
 * file hashes). tests/unit/napagentd/meson.build builds them into test_collect.
 */
#ifndef NAPAGENTD_COLLECTOR_H
#define NAPAGENTD_COLLECTOR_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nap/health.h"
#include "nap/hsr.h"
#include "nap/soh.h"

#define AGENT_CHECK_DETAIL_MAX       256
#define AGENT_CHECKS_DEFAULT_TIMEOUT 10000          /* ms, command checks and tools */
#define AGENT_CHECKS_DEFAULT_AV_AGE  (7 * 86400)    /* WSH view: AV signatures up to date */
#define AGENT_CHECKS_DEFAULT_CLAMAV  "/var/lib/clamav"
#define AGENT_COLLECT_OUTPUT_MAX     (4 * 1024 * 1024) /* captured stdout of a tool */

/*
 * The agent's [checks] section (napagentd.conf):
 *   commands = deny | allow     command checks from the HSR run only with allow (default deny:
 *                               such a check reports ERROR "command checks disabled")
 *   command_timeout = DURATION  per command check and per tool run (default 10s; "500ms",
 *                               "10s", "2m" or plain seconds), 1 ms .. 1 h
 *   clamav_db = DIR             ClamAV signature directory (default /var/lib/clamav)
 *   av_max_age = DURATION       the WSH view's AV "up to date" limit (default 7d)
 *   root = DIR                  prefix for every host path the collectors look at (default "":
 *                               the real system; tests and chroot setups set it)
 */
struct agent_checks_conf {
	bool allow_commands;
	int64_t command_timeout_ms;
	char clamav_db[PATH_MAX];
	int64_t av_max_age; /* seconds */
	char root[PATH_MAX];
};

void agent_checks_conf_defaults(struct agent_checks_conf *c);
/* One key of [checks]. 0, 1 when the key is not a [checks] key, -EINVAL with err filled. */
int agent_checks_conf_set(struct agent_checks_conf *c, const char *key, const char *value,
			  char *err, size_t len);

struct agent_collect_env {
	const char *root;       /* "" or a test prefix for /etc, /var, /run, /usr (no trailing /) */
	int64_t now;            /* Unix seconds (signature ages) */
	bool allow_commands;    /* commands = allow */
	int64_t timeout_ms;     /* per tool / command run */
	const char *clamav_db;  /* absolute, looked up under root */
	int64_t av_max_age;     /* seconds: the WSH view's AV freshness limit */
};

/* Fill env from the [checks] section (pointers into c) and the time. */
void agent_collect_env_init(struct agent_collect_env *env, const struct agent_checks_conf *c,
			    int64_t now);

struct agent_check_result {
	char id[NAP_UPDATE_ID_MAX + 1];
	uint8_t status; /* NAP_CHECK_PASS / FAIL / ERROR */
	char detail[AGENT_CHECK_DETAIL_MAX]; /* one line for logs and --json */
};

/* Run one HSR check. Never fails hard: errors become status NAP_CHECK_ERROR with detail. */
void agent_collect(const struct agent_collect_env *env, const struct nap_hsr_check *check,
		   struct agent_check_result *out);

/*
 * The WSHA view for the SoH: firewall (enabled or not), antivirus (present, enabled, signatures
 * fresher than env->av_max_age), antispyware (same as antivirus: ClamAV covers both), automatic
 * updates (4 = download and install, 1 = disabled, 0xC0FF0003 when it cannot tell) and security
 * updates (not filled: the caller knows the package evaluation; it sets
 * cls[NAP_WSH_SECURITY_UPDATES] to NAP_WSH_S_NO_MISSING_UPDATES or NAP_WSH_S_MISSING_UPDATES).
 * Product names point to static UTF-16LE strings. out is zeroed first; has_version is set with
 * the Vista SP1 client version (0x00060001) that Windows servers expect.
 */
void agent_collect_wsh(const struct agent_collect_env *env, struct nap_wsh *out);

/* The individual probes agent_collect_wsh() uses, also usable for --json. */
void agent_collect_firewall(const struct agent_collect_env *env, struct agent_check_result *out);
void agent_collect_auto_updates(const struct agent_collect_env *env,
				struct agent_check_result *out);
void agent_collect_antivirus(const struct agent_collect_env *env, int64_t max_age,
			     struct agent_check_result *out);
void agent_collect_reboot(const struct agent_collect_env *env, struct agent_check_result *out);

#endif
