/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Helpers the napagentd unit tests share: a temporary directory with a site key, signed HSRs
 * from JSON text, synthetic dpkg status files and an agent configuration pointing at them.
 */
#ifndef NAPAGENTD_AGENT_TEST_H
#define NAPAGENTD_AGENT_TEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "nap/hsr.h"

struct agent_test {
	char dir[64];
	char key[128], pub[128], hsr[128], status[128], state[128];
	struct agent_conf *conf;
};

static inline void
agent_test_write(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (f == NULL || fputs(text, f) < 0 || fclose(f) != 0) {
		fprintf(stderr, "cannot write %s\n", path);
		abort();
	}
}

/* Set up a directory, a key pair and a configuration (policy_file + hsr_key + status file). */
static inline struct agent_test *
agent_test_new(void)
{
	struct agent_test *t = calloc(1, sizeof(*t));

	snprintf(t->dir, sizeof(t->dir), "/tmp/napagentd-test-XXXXXX");
	if (mkdtemp(t->dir) == NULL)
		abort();
	snprintf(t->key, sizeof(t->key), "%s/site.key", t->dir);
	snprintf(t->pub, sizeof(t->pub), "%s/site.pub", t->dir);
	snprintf(t->hsr, sizeof(t->hsr), "%s/hsr.json", t->dir);
	snprintf(t->status, sizeof(t->status), "%s/status", t->dir);
	snprintf(t->state, sizeof(t->state), "%s/state", t->dir);
	if (nap_key_generate(t->key, t->pub) < 0)
		abort();
	t->conf = agent_conf_new();
	free(t->conf->dpkg_status);
	free(t->conf->state_dir);
	t->conf->dpkg_status = strdup(t->status);
	t->conf->state_dir = strdup(t->state);
	t->conf->policy_file = strdup(t->hsr);
	t->conf->hsr_key = strdup(t->pub);
	t->conf->machine_name = strdup("pc-17");
	return t;
}

/* Sign an unsigned HSR document (JSON text) into t->hsr. */
static inline void
agent_test_hsr(struct agent_test *t, const char *json)
{
	struct nap_err err = {0};
	char *out = NULL;

	if (nap_hsr_sign((const uint8_t *)json, strlen(json), t->key, &out, &err) < 0) {
		fprintf(stderr, "nap_hsr_sign: %s\n", err.what != NULL ? err.what : "?");
		abort();
	}
	agent_test_write(t->hsr, out);
	free(out);
}

static inline void
agent_test_free(struct agent_test *t)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", t->dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", t->dir);
	agent_conf_free(t->conf);
	free(t);
}

#endif
