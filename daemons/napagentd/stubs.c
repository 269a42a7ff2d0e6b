// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * Stand-ins for modules that are not in this tree yet (meson.build defines AGENT_HAVE_<MODULE>
 * for each one present): they keep napagentd building and behave like a disabled module. A
 * missing collector reports every check as ERROR, never as PASS. Handles no input.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "agent.h"
#include "nap/util.h"

#ifndef AGENT_HAVE_COLLECT
void
agent_checks_conf_defaults(struct agent_checks_conf *c)
{
	memset(c, 0, sizeof(*c));
	c->command_timeout_ms = AGENT_CHECKS_DEFAULT_TIMEOUT;
	snprintf(c->clamav_db, sizeof(c->clamav_db), "%s", AGENT_CHECKS_DEFAULT_CLAMAV);
	c->av_max_age = AGENT_CHECKS_DEFAULT_AV_AGE;
}

int
agent_checks_conf_set(struct agent_checks_conf *c, const char *key, const char *value,
		      char *err, size_t len)
{
	(void)c;
	(void)key;
	(void)value;
	(void)err;
	(void)len;
	return 1;
}

void
agent_collect_env_init(struct agent_collect_env *env, const struct agent_checks_conf *c,
		       int64_t now)
{
	memset(env, 0, sizeof(*env));
	env->root = c->root;
	env->now = now;
	env->allow_commands = c->allow_commands;
	env->timeout_ms = c->command_timeout_ms;
	env->clamav_db = c->clamav_db;
	env->av_max_age = c->av_max_age;
}

void
agent_collect(const struct agent_collect_env *env, const struct nap_hsr_check *check,
	      struct agent_check_result *out)
{
	(void)env;
	memset(out, 0, sizeof(*out));
	snprintf(out->id, sizeof(out->id), "%s", check->id);
	out->status = NAP_CHECK_ERROR;
	snprintf(out->detail, sizeof(out->detail), "collectors not built");
}

void
agent_collect_wsh(const struct agent_collect_env *env, struct nap_wsh *out)
{
	(void)env;
	memset(out, 0, sizeof(*out));
	out->has_version = true;
	out->client_version = 0x00060001;
}
#endif

#ifndef AGENT_HAVE_REMEDIATE
void
agent_remediation_conf_init(struct agent_remediation_conf *c)
{
	memset(c, 0, sizeof(*c));
	c->timeout = 600;
	c->max_packages = 64;
}

int
agent_remediation_conf_set(struct agent_remediation_conf *c, const char *key,
			   const char *value, char *err, size_t len)
{
	(void)c;
	(void)key;
	(void)value;
	(void)err;
	(void)len;
	return 1;
}

int
agent_remediate(const struct agent_remediation_conf *c, const char *const *packages, size_t n,
		struct agent_remediation_result *res)
{
	(void)c;
	(void)packages;
	(void)n;
	memset(res, 0, sizeof(*res));
	res->status = AGENT_REMEDIATION_DISABLED;
	snprintf(res->message, sizeof(res->message), "remediation not built");
	return 1;
}
#endif

#ifndef AGENT_HAVE_DHCP_HOOK
void
agent_dhcp_conf_init(struct agent_dhcp_conf *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->vendor_class, sizeof(c->vendor_class), "MSFT 5.0");
	c->renew_timeout = 30;
}

int
agent_dhcp_conf_set(struct agent_dhcp_conf *c, const char *key, const char *value, char *err,
		    size_t len)
{
	(void)c;
	(void)key;
	(void)value;
	(void)err;
	(void)len;
	return 1;
}

const char *
agent_dhcp_fragment_path(const struct agent_dhcp_conf *c)
{
	(void)c;
	return NULL;
}

int
agent_dhcp_publish(const struct agent_dhcp_conf *c, const uint8_t *soh, size_t len,
		   const uint8_t *corr, char *err, size_t err_len)
{
	(void)c;
	(void)soh;
	(void)len;
	(void)corr;
	(void)err;
	(void)err_len;
	return 2;
}

int
agent_dhcp_renew(const struct agent_dhcp_conf *c, char *err, size_t err_len)
{
	(void)c;
	(void)err;
	(void)err_len;
	return 1;
}

int
agent_dhcp_sohr_from_arg(const char *arg, uint8_t *out, size_t cap, size_t *out_len,
			 bool *marker, uint8_t mask[4], bool *has_mask, char *err, size_t err_len)
{
	size_t bad = 0;
	long n = nap_hex_decode(arg, strlen(arg), out, cap, &bad);

	(void)mask;
	if (marker != NULL)
		*marker = false;
	if (has_mask != NULL)
		*has_mask = false;
	if (n < 0) {
		snprintf(err, err_len, "not hex at offset %zu", bad);
		return -EBADMSG;
	}
	*out_len = (size_t)n;
	return 0;
}

const char *
agent_dhcp_client_name(enum agent_dhcp_client c)
{
	(void)c;
	return "none";
}
#endif
