// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * The policy the agent evaluates against: the signed HSR document, read from the cache the
 * fetcher keeps (state_dir/policy.json) or from a configured policy_file (offline use, labs,
 * tests). Handles untrusted input: the document comes from the network or from a file anyone
 * with write access to the state directory could have changed, so it is verified (digest and
 * Ed25519 signature with the site's key) every time it is loaded.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "nap/util.h"

__attribute__((format(printf, 3, 4))) static int
policy_err(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL && len > 0) {
		va_start(ap, fmt);
		vsnprintf(err, len, fmt, ap);
		va_end(ap);
	}
	return 0;
}

const char *
agent_state_path(const struct agent_conf *c, const char *name, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s", c->state_dir, name);
	return buf;
}

void
agent_policy_clear(struct agent_policy *p)
{
	nap_hsr_set_free(p->set);
	memset(p, 0, sizeof(*p));
}

int
agent_policy_parse(const struct agent_conf *c, const uint8_t *text, size_t n,
		   struct agent_policy *p, char *err, size_t len)
{
	struct nap_keyring *kr = NULL;
	struct nap_err perr = {0};
	int r;

	memset(p, 0, sizeof(*p));
	if (c->hsr_key != NULL) {
		if ((r = nap_keyring_new(&kr)) < 0)
			return r;
		r = nap_keyring_add_file(kr, c->hsr_key);
		if (r < 0) {
			nap_keyring_free(kr);
			policy_err(err, len, "hsr_key %s: %s", c->hsr_key, strerror(-r));
			return r;
		}
	} else if (c->policy_file == NULL) {
		policy_err(err, len, "no hsr_key: a fetched policy cannot be verified");
		return -EPERM;
	}
	r = nap_hsr_set_parse(text, n, kr, &p->set, &perr);
	nap_keyring_free(kr);
	if (r < 0) {
		policy_err(err, len, "%s%s", r == -EPERM ? "signature: " : "",
			   perr.what != NULL ? perr.what : strerror(-r));
		return r == -EPERM ? -EPERM : -EBADMSG;
	}
	if (c->site != NULL) {
		p->hsr = nap_hsr_set_find(p->set, c->site);
		if (p->hsr == NULL) {
			policy_err(err, len, "the policy holds no HSR for site %s", c->site);
			agent_policy_clear(p);
			return -ENOENT;
		}
	} else if (p->set->n == 1) {
		p->hsr = &p->set->v[0];
	} else {
		policy_err(err, len, "the policy holds %zu sites: set [agent] site", p->set->n);
		agent_policy_clear(p);
		return -ENOENT;
	}
	return 0;
}

int
agent_policy_load(const struct agent_conf *c, struct agent_policy *p, uint8_t *category,
		  uint32_t *code, char *err, size_t len)
{
	char path[PATH_MAX], etag_path[PATH_MAX];
	uint8_t *text = NULL, *etag = NULL;
	size_t n = 0, en = 0;
	int r;

	memset(p, 0, sizeof(*p));
	*category = NAP_FAILURE_CLIENT_COMMUNICATION;
	*code = AGENT_ERR_NO_POLICY;
	if (c->policy_file != NULL)
		snprintf(path, sizeof(path), "%s", c->policy_file);
	else
		agent_state_path(c, "policy.json", path, sizeof(path));
	r = nap_read_file(path, AGENT_POLICY_MAX, &text, &n);
	if (r < 0) {
		policy_err(err, len, "%s: %s", path,
			   r == -ENOENT && c->policy_file == NULL
				   ? "no policy yet (not fetched from the site)"
				   : strerror(-r));
		return r;
	}
	r = agent_policy_parse(c, text, n, p, err, len);
	free(text);
	if (r < 0) {
		char tmp[PATH_MAX + 512];

		snprintf(tmp, sizeof(tmp), "%s: %s", path, err != NULL ? err : "");
		policy_err(err, len, "%s", tmp);
		*code = r == -ENOENT ? AGENT_ERR_SITE : AGENT_ERR_POLICY;
		return r;
	}
	snprintf(p->source, sizeof(p->source), "%s", path);
	if (c->policy_file == NULL &&
	    nap_read_file(agent_state_path(c, "policy.etag", etag_path, sizeof(etag_path)), 79,
			  &etag, &en) == 0) {
		memcpy(p->etag, etag, en);
		p->etag[en] = '\0';
		p->etag[strcspn(p->etag, "\r\n")] = '\0';
		free(etag);
	}
	*category = NAP_FAILURE_NONE;
	*code = 0;
	return 0;
}
