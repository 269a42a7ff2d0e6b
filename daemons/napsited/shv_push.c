// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * The SHV point pusher: a thread of its own (libsmbclient calls block for up to their timeout,
 * and neither the main loop nor the agent endpoint may wait for a share) that every poll
 * interval looks at the store's shv_points, writes nap-shv.conf into the share of each point
 * whose revision is newer than the one pushed, and reads nap-shv.status back into the store
 * until napvd has judged the pushed revision. Failures are retried on the next round. The
 * status file comes from a share: lib/site/shv_smb.c parses it strictly before it is stored.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nap/log.h"
#include "nap/shv.h"
#include "nap/siteconf.h"
#include "nap/smb.h"
#include "nap/store.h"
#include "napsited.h"

#define SHV_SMB_TIMEOUT_MS 5000

struct napsited_shv {
	struct napsited *sd;
	char *store_uri;
	int64_t interval_ms;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool stop;
	bool kicked;
};

static struct napsited_shv *shv_running;

/* One point: push when the store is ahead, read the status while napvd has not judged it. */
static void
shv_point_round(struct napsited_shv *ps, struct nap_store *st, const struct nap_shv_point *p,
		uint64_t *out_of_date)
{
	struct napsited_metrics *m = &ps->sd->m;
	struct nap_store_err serr;
	struct nap_shv_status status;
	struct nap_smb *smb = NULL;
	char err[512], *raw = NULL;
	bool push = p->revision > p->pushed_revision;
	int r;

	/* Judged already: nothing to do until the next change. */
	if (!push && p->status != NULL && strcmp(p->status, "pending") != 0 &&
	    strcmp(p->status, "unreachable") != 0) {
		if (strcmp(p->status, "rejected") == 0)
			(*out_of_date)++;
		return;
	}
	(*out_of_date)++;
	memset(&serr, 0, sizeof(serr));
	if (nap_smb_open(&smb, p->credentials, err, sizeof(err)) < 0) {
		atomic_fetch_add(&m->shv_push_failures, 1);
		LOG_WARNX_RL("shv %s: credentials %s: %s", p->host, p->credentials, err);
		nap_store_shv_status_put(st, p->host, "unreachable", err, &serr);
		return;
	}
	nap_smb_set_timeout(smb, SHV_SMB_TIMEOUT_MS);
	if (push) {
		if ((r = nap_shv_push(smb, p, err, sizeof(err))) < 0) {
			atomic_fetch_add(&m->shv_push_failures, 1);
			LOG_WARNX_RL("shv %s: writing revision %" PRIu64 " to %s: %s", p->host,
				     p->revision, p->url, err);
			nap_store_shv_status_put(st, p->host, "unreachable", err, &serr);
			nap_smb_close(smb);
			return;
		}
		atomic_fetch_add(&m->shv_pushes, 1);
		log_info("shv %s: revision %" PRIu64 " written to %s", p->host, p->revision, p->url);
		nap_store_shv_pushed(st, p->host, p->revision, (int64_t)time(NULL), &serr);
		nap_store_shv_status_put(st, p->host, "pending", NULL, &serr);
		nap_smb_close(smb);
		return; /* napvd needs a moment: the status is read next round */
	}
	r = nap_shv_status_fetch(smb, p->url, &status, &raw, err, sizeof(err));
	nap_smb_close(smb);
	if (r == -ENOENT)
		return;
	if (r < 0) {
		atomic_fetch_add(&m->shv_status_errors, 1);
		LOG_WARNX_RL("shv %s: reading %s: %s", p->host, NAP_SHV_STATUS_NAME, err);
		if (r != -EINVAL)
			nap_store_shv_status_put(st, p->host, "unreachable", err, &serr);
		return;
	}
	if (status.revision == p->pushed_revision) {
		const char *res = status.result == NAP_SHV_ACCEPTED ? "accepted" : "rejected";

		if (nap_store_shv_status_put(st, p->host, res, raw, &serr) < 0)
			LOG_WARNX_RL("shv %s: storing the status: %s", p->host, serr.msg);
		else if (status.result == NAP_SHV_REJECTED)
			log_warnx("shv %s: napvd rejected revision %" PRIu64 ": %s", p->host,
				  status.revision, status.n_errors > 0 ? status.errors[0] : "?");
		else
			log_info("shv %s: napvd applied revision %" PRIu64, p->host,
				 status.revision);
	}
	free(raw);
}

static void *
shv_thread(void *arg)
{
	struct napsited_shv *ps = arg;
	struct nap_store *st = NULL;
	struct nap_store_err serr;

	for (;;) {
		struct nap_shv_point *v = NULL;
		struct timespec until;
		uint64_t out_of_date = 0;
		size_t n = 0;
		bool stop;

		memset(&serr, 0, sizeof(serr));
		if (st == NULL && nap_store_open(ps->store_uri, &st, &serr) < 0) {
			st = NULL;
			LOG_WARNX_RL("shv: store %s: %s", ps->store_uri, serr.msg);
		}
		if (st != NULL && nap_store_shv_list(st, &v, &n, &serr) < 0) {
			LOG_WARNX_RL("shv: listing the SHV points: %s", serr.msg);
			nap_store_close(st);
			st = NULL;
		}
		for (size_t i = 0; i < n; i++) {
			pthread_mutex_lock(&ps->lock);
			stop = ps->stop;
			pthread_mutex_unlock(&ps->lock);
			if (stop)
				break;
			shv_point_round(ps, st, &v[i], &out_of_date);
		}
		nap_shv_points_free(v, n);
		atomic_store(&ps->sd->m.shv_points, (uint64_t)n);
		atomic_store(&ps->sd->m.shv_out_of_date, out_of_date);

		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += ps->interval_ms / 1000;
		until.tv_nsec += (ps->interval_ms % 1000) * 1000000;
		if (until.tv_nsec >= 1000000000) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000;
		}
		pthread_mutex_lock(&ps->lock);
		while (!ps->stop && !ps->kicked &&
		       pthread_cond_timedwait(&ps->cond, &ps->lock, &until) != ETIMEDOUT)
			;
		ps->kicked = false;
		stop = ps->stop;
		pthread_mutex_unlock(&ps->lock);
		if (stop)
			break;
	}
	if (st != NULL)
		nap_store_close(st);
	return NULL;
}

int
napsited_shv_start(struct napsited *sd)
{
	struct napsited_shv *ps;
	int r;

	if (shv_running != NULL)
		return 0;
	if ((ps = calloc(1, sizeof(*ps))) == NULL)
		return -ENOMEM;
	ps->sd = sd;
	ps->interval_ms = sd->conf->poll_interval_ms < 1000 ? 1000 : sd->conf->poll_interval_ms;
	if ((ps->store_uri = strdup(sd->conf->store_uri)) == NULL) {
		free(ps);
		return -ENOMEM;
	}
	pthread_mutex_init(&ps->lock, NULL);
	pthread_cond_init(&ps->cond, NULL);
	if ((r = pthread_create(&ps->thread, NULL, shv_thread, ps)) != 0) {
		free(ps->store_uri);
		free(ps);
		return -r;
	}
	shv_running = ps;
	return 0;
}

/* Look at the SHV points now (napctl's SIGUSR1 after a change). */
void
napsited_shv_kick(void)
{
	struct napsited_shv *ps = shv_running;

	if (ps == NULL)
		return;
	pthread_mutex_lock(&ps->lock);
	ps->kicked = true;
	pthread_cond_signal(&ps->cond);
	pthread_mutex_unlock(&ps->lock);
}

void
napsited_shv_stop(void)
{
	struct napsited_shv *ps = shv_running;

	if (ps == NULL)
		return;
	pthread_mutex_lock(&ps->lock);
	ps->stop = true;
	pthread_cond_signal(&ps->cond);
	pthread_mutex_unlock(&ps->lock);
	pthread_join(ps->thread, NULL);
	pthread_cond_destroy(&ps->cond);
	pthread_mutex_destroy(&ps->lock);
	free(ps->store_uri);
	free(ps);
	shv_running = NULL;
}
