// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * The current signed HSR: one immutable, reference-counted object that the main thread replaces
 * when the store's revision moves and that the agent endpoint and the publisher read. The
 * document is ours (napsited signed it), but it is parsed with libnap's HSR parser anyway so
 * that the directory attributes (revision, digest, key id, issued) come from the same bytes the
 * readers will check.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nap/hsr.h"
#include "nap/util.h"
#include "napsited.h"

const double napsited_latency_bounds[NAPSITED_LATENCY_BUCKETS] = {
	0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10,
};

const char *const napsited_publish_result_names[NAPSITED_PUBLISH_RESULT_COUNT] = {
	[NAPSITED_PUBLISH_OK] = "ok",
	[NAPSITED_PUBLISH_UNCHANGED] = "unchanged",
	[NAPSITED_PUBLISH_ERROR] = "error",
	[NAPSITED_PUBLISH_CONFLICT] = "conflict",
};

int
napsited_hsr_from_doc(const char *doc, struct napsited_hsr **out, char *err, size_t len)
{
	struct nap_hsr_set *set = NULL;
	struct nap_err perr = {0};
	struct napsited_hsr *h;
	const struct nap_hsr *one;
	size_t n = strlen(doc);
	int r;

	*out = NULL;
	r = nap_hsr_set_parse((const uint8_t *)doc, n, NULL, &set, &perr);
	if (r < 0) {
		snprintf(err, len, "the signed HSR does not parse: %s at offset %zu",
			 perr.what != NULL ? perr.what : strerror(-r), perr.offset);
		return r;
	}
	if (set->n != 1 || set->v[0].key_id[0] == '\0') {
		nap_hsr_set_free(set);
		snprintf(err, len, "the signed HSR is not one signed object");
		return -EBADMSG;
	}
	one = &set->v[0];
	h = calloc(1, sizeof(*h) + n + 1);
	if (h == NULL) {
		nap_hsr_set_free(set);
		snprintf(err, len, "out of memory");
		return -ENOMEM;
	}
	atomic_init(&h->refs, 1);
	h->revision = one->revision;
	h->issued = one->issued;
	memcpy(h->site, one->site, sizeof(h->site));
	nap_hex_encode(one->digest, sizeof(one->digest), h->digest);
	memcpy(h->key_id, one->key_id, sizeof(h->key_id));
	h->len = n;
	memcpy(h->doc, doc, n + 1);
	nap_hsr_set_free(set);
	*out = h;
	return 0;
}

struct napsited_hsr *
napsited_hsr_get(struct napsited *sd)
{
	struct napsited_hsr *h;

	pthread_mutex_lock(&sd->hsr_lock);
	h = sd->hsr;
	if (h != NULL)
		atomic_fetch_add_explicit(&h->refs, 1, memory_order_relaxed);
	pthread_mutex_unlock(&sd->hsr_lock);
	return h;
}

void
napsited_hsr_put(struct napsited_hsr *h)
{
	if (h != NULL && atomic_fetch_sub_explicit(&h->refs, 1, memory_order_acq_rel) == 1)
		free(h);
}

int
napsited_hsr_copy(struct napsited *sd, char **doc, size_t *len, uint64_t *revision)
{
	struct napsited_hsr *h = napsited_hsr_get(sd);

	*doc = NULL;
	if (h == NULL)
		return -ENOENT;
	*doc = malloc(h->len + 1);
	if (*doc == NULL) {
		napsited_hsr_put(h);
		return -ENOMEM;
	}
	memcpy(*doc, h->doc, h->len + 1);
	if (len != NULL)
		*len = h->len;
	if (revision != NULL)
		*revision = h->revision;
	napsited_hsr_put(h);
	return 0;
}

void
napsited_hsr_set(struct napsited *sd, struct napsited_hsr *h)
{
	struct napsited_hsr *old;

	pthread_mutex_lock(&sd->hsr_lock);
	old = sd->hsr;
	sd->hsr = h;
	pthread_mutex_unlock(&sd->hsr_lock);
	atomic_store_explicit(&sd->m.hsr_revision, h != NULL ? h->revision : 0,
			      memory_order_relaxed);
	napsited_hsr_put(old);
}
