// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * Where napvd gets its health state references, and the in-memory cache the request path reads.
 * Sources sit behind struct nap_hsr_source_ops, registered in one static table; the file source
 * reads a signed HSR document (doc/hsr.md) and verifies it against [hsr] trusted_keys; the LDAP
 * source (hsr_ldap.c) reads the directory in a thread of its own. Handles untrusted input (the
 * document), which libnap parses and verifies.
 *
 * The file source is read from a timer every query_interval; the LDAP source hands its sets over
 * through an event fd. Neither ever runs on the request path. A failed refresh keeps the previous
 * set; once it is older than max_age the validator answers with the server-communication failure
 * (struct nap_validate_config.hsr_max_age).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "nap/hsr.h"
#include "nap/log.h"
#include "nap/util.h"
#include "napvd.h"

/* ---- file source ---- */

struct napvd_file_source {
	char *path;
	struct nap_keyring *kr;
	bool have_last;
	struct stat last; /* of the last document that loaded */
};

static void
napvd_file_close(void *state)
{
	struct napvd_file_source *fs = state;

	if (fs == NULL)
		return;
	nap_keyring_free(fs->kr);
	free(fs->path);
	free(fs);
}

static int
napvd_file_open(const struct napvd_config *conf, void **state, char *err, size_t err_len)
{
	struct napvd_file_source *fs;
	int r;

	*state = NULL;
	fs = calloc(1, sizeof(*fs));
	if (fs == NULL)
		return -ENOMEM;
	fs->path = strdup(conf->hsr_file);
	if (fs->path == NULL) {
		napvd_file_close(fs);
		return -ENOMEM;
	}
	r = nap_keyring_new(&fs->kr);
	if (r < 0) {
		napvd_file_close(fs);
		return r;
	}
	r = nap_keyring_add_file(fs->kr, conf->hsr_trusted_keys);
	if (r < 0 || nap_keyring_count(fs->kr) == 0) {
		snprintf(err, err_len, "trusted_keys %s: %s", conf->hsr_trusted_keys,
			 r < 0 ? strerror(-r) : "no public key found");
		napvd_file_close(fs);
		return r < 0 ? r : -ENOKEY;
	}
	*state = fs;
	return 0;
}

static bool
napvd_stat_same(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

static int
napvd_file_refresh(void *state, struct nap_hsr_set **out, int64_t *read_at, char *err,
		   size_t err_len)
{
	struct napvd_file_source *fs = state;
	struct nap_err perr = {0};
	struct stat st;
	uint8_t *buf;
	size_t len;
	int r;

	*read_at = 0; /* now */
	if (stat(fs->path, &st) < 0) {
		r = -errno;
		snprintf(err, err_len, "%s: %s", fs->path, strerror(-r));
		return r;
	}
	if (fs->have_last && napvd_stat_same(&st, &fs->last))
		return 1;
	r = nap_read_file(fs->path, NAP_HSR_MAX_LEN, &buf, &len);
	if (r < 0) {
		snprintf(err, err_len, "%s: %s", fs->path, strerror(-r));
		return r;
	}
	r = nap_hsr_set_parse(buf, len, fs->kr, out, &perr);
	free(buf);
	if (r < 0) {
		snprintf(err, err_len, "%s: %s at offset %zu", fs->path,
			 perr.what != NULL ? perr.what : strerror(-r), perr.offset);
		return r;
	}
	fs->last = st;
	fs->have_last = true;
	return 0;
}

static const struct nap_hsr_source_ops napvd_hsr_file_ops = {
	.name = "file",
	.open = napvd_file_open,
	.refresh = napvd_file_refresh,
	.close = napvd_file_close,
};

/* Every HSR source napvd knows; [hsr] source picks one by name. */
static const struct nap_hsr_source_ops *const napvd_hsr_sources[] = {
	&napvd_hsr_file_ops,
	&napvd_hsr_ldap_ops,
};

static const char *const napvd_reject_names[NAPVD_REJECT_COUNT] = {
	[NAPVD_REJECT_MISSING_ATTRIBUTE] = "missing_attribute",
	[NAPVD_REJECT_BAD_VALUE] = "bad_value",
	[NAPVD_REJECT_MALFORMED] = "malformed",
	[NAPVD_REJECT_SIGNATURE] = "signature",
	[NAPVD_REJECT_MISMATCH] = "mismatch",
	[NAPVD_REJECT_ROLLBACK] = "rollback",
	[NAPVD_REJECT_CONFLICT] = "conflict",
};

const char *
napvd_hsr_reject_name(enum napvd_hsr_reject r)
{
	return (unsigned)r < NAPVD_REJECT_COUNT ? napvd_reject_names[r] : "?";
}

const struct nap_hsr_source_ops *
napvd_hsr_source_find(const char *name)
{
	for (size_t i = 0; i < NAP_ARRAY_SIZE(napvd_hsr_sources); i++)
		if (strcmp(napvd_hsr_sources[i]->name, name) == 0)
			return napvd_hsr_sources[i];
	return NULL;
}

const char *
napvd_hsr_source_names(void)
{
	static char names[128];

	if (names[0] == '\0') {
		for (size_t i = 0; i < NAP_ARRAY_SIZE(napvd_hsr_sources); i++) {
			if (i > 0)
				strncat(names, " ", sizeof(names) - strlen(names) - 1);
			strncat(names, napvd_hsr_sources[i]->name, sizeof(names) - strlen(names) - 1);
		}
	}
	return names;
}

/* ---- the cache ---- */

/*
 * Keep only trusted sites by moving them to the front; n shrinks but the entries behind it stay
 * owned by the set until napvd_hsr_set_release() restores n for nap_hsr_set_free().
 */
void
napvd_hsr_filter(struct nap_hsr_set *set, size_t *n_total, char (*sites)[NAP_SITE_MAX + 1],
		 size_t n_sites)
{
	size_t keep = 0;

	*n_total = set->n;
	if (n_sites == 0)
		return;
	for (size_t i = 0; i < set->n; i++) {
		bool trusted = false;

		for (size_t j = 0; j < n_sites && !trusted; j++)
			trusted = strcmp(set->v[i].site, sites[j]) == 0;
		if (!trusted)
			continue;
		if (i != keep) {
			struct nap_hsr tmp = set->v[keep];

			set->v[keep] = set->v[i];
			set->v[i] = tmp;
		}
		keep++;
	}
	set->n = keep;
}

void
napvd_hsr_set_release(struct nap_hsr_set *set, size_t n_total)
{
	if (set == NULL)
		return;
	set->n = n_total;
	nap_hsr_set_free(set);
}

int
napvd_hsr_open(struct napvd_hsr_cache *hc, const struct napvd_config *conf, char *err,
	       size_t err_len)
{
	const struct nap_hsr_source_ops *ops = napvd_hsr_source_find(conf->hsr_source);
	void *state;
	int r;

	if (ops == NULL) {
		snprintf(err, err_len, "unknown HSR source %s", conf->hsr_source);
		return -ENOENT;
	}
	r = ops->open(conf, &state, err, err_len);
	if (r < 0)
		return r;
	hc->ops = ops;
	hc->state = state;
	return 0;
}

int
napvd_hsr_refresh(struct napvd_hsr_cache *hc, const struct napvd_config *conf,
		  struct napvd_metrics *m, int64_t now_s)
{
	struct nap_hsr_set *set = NULL;
	char err[512] = "";
	int64_t read_at = 0;
	size_t n_total;
	int r;

	if (hc->ops == NULL)
		return -EINVAL;
	r = hc->ops->refresh(hc->state, &set, &read_at, err, sizeof(err));
	if (r == 2)
		return 0; /* nothing new from the source's thread */
	if (r < 0) {
		m->hsr_refresh[NAPVD_REFRESH_ERROR]++;
		LOG_WARNX_RL("hsr: refresh from %s failed, keeping revision(s) loaded %lld s ago: "
			     "%s",
			     hc->ops->name,
			     hc->refreshed_at != 0 ? (long long)(now_s - hc->refreshed_at) : -1LL,
			     err);
		return r;
	}
	if (read_at == 0)
		read_at = now_s;
	/*
	 * A source that starts from its saved copy (LDAP) reports the time of the read that copy
	 * came from; after a reload it must not replace what a later read delivered.
	 */
	if (read_at < hc->refreshed_at && hc->set != NULL) {
		if (r == 0)
			nap_hsr_set_free(set);
		return 0;
	}
	hc->refreshed_at = read_at;
	if (r == 1) {
		m->hsr_refresh[NAPVD_REFRESH_UNCHANGED]++;
		return 0;
	}
	napvd_hsr_filter(set, &n_total, conf->sites, conf->n_sites);
	if (set->n < n_total)
		log_debug("hsr: ignoring %zu untrusted site(s)", n_total - set->n);
	for (size_t i = 0; i < set->n; i++) {
		const struct nap_hsr *o = nap_hsr_set_find(hc->set, set->v[i].site);

		if (o == NULL || o->revision != set->v[i].revision)
			log_info("hsr: site %s revision %llu (%zu policies, key %s)", set->v[i].site,
				 (unsigned long long)set->v[i].revision, set->v[i].n_policies,
				 set->v[i].key_id);
	}
	napvd_hsr_set_release(hc->set, hc->set_n_total);
	hc->set = set;
	hc->set_n_total = n_total;
	m->hsr_refresh[NAPVD_REFRESH_OK]++;
	return 0;
}

int
napvd_hsr_start(struct napvd_hsr_cache *hc)
{
	if (hc->ops == NULL || hc->ops->start == NULL)
		return 0;
	return hc->ops->start(hc->state);
}

int
napvd_hsr_event_fd(const struct napvd_hsr_cache *hc)
{
	if (hc->ops == NULL || hc->ops->event_fd == NULL)
		return -1;
	return hc->ops->event_fd(hc->state);
}

static void
napvd_hsr_stats_add(struct napvd_hsr_stats *acc, const struct napvd_hsr_stats *s)
{
	acc->has_ldap |= s->has_ldap;
	acc->searches += s->searches;
	acc->errors += s->errors;
	acc->notifications += s->notifications;
	for (size_t i = 0; i < NAPVD_REJECT_COUNT; i++)
		acc->rejected[i] += s->rejected[i];
	acc->reads_off_thread += s->reads_off_thread;
}

void
napvd_hsr_stats(const struct napvd_hsr_cache *hc, struct napvd_hsr_stats *out)
{
	struct napvd_hsr_stats cur = {0};

	*out = hc->closed;
	out->up = out->persist = false;
	if (hc->ops != NULL && hc->ops->stats != NULL) {
		hc->ops->stats(hc->state, &cur);
		napvd_hsr_stats_add(out, &cur);
		out->up = cur.up;
		out->persist = cur.persist;
	}
}

/* Fold the counters of the running source into hc->closed and close it. */
static void
napvd_hsr_close_source(struct napvd_hsr_cache *hc)
{
	struct napvd_hsr_stats cur = {0};

	if (hc->ops == NULL)
		return;
	if (hc->ops->stats != NULL) {
		hc->ops->stats(hc->state, &cur);
		napvd_hsr_stats_add(&hc->closed, &cur);
	}
	hc->ops->close(hc->state);
	hc->ops = NULL;
	hc->state = NULL;
}

void
napvd_hsr_replace(struct napvd_hsr_cache *hc, struct napvd_hsr_cache *next)
{
	napvd_hsr_close_source(hc);
	hc->ops = next->ops;
	hc->state = next->state;
	next->ops = NULL;
	next->state = NULL;
}

void
napvd_hsr_close(struct napvd_hsr_cache *hc)
{
	napvd_hsr_close_source(hc);
	napvd_hsr_set_release(hc->set, hc->set_n_total);
	hc->set = NULL;
	hc->set_n_total = 0;
	hc->refreshed_at = 0;
}
