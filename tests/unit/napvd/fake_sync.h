/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * A gate for the spool's sync function in unit tests: each call records how many records the
 * caller saw in the file, then blocks until the test releases it. Shared by the spool and the
 * front-end tests; trusted input only.
 */
#ifndef NAPVD_TEST_FAKE_SYNC_H
#define NAPVD_TEST_FAKE_SYNC_H

#include <pthread.h>
#include <stddef.h>

#define FAKE_SYNC_SEEN 8

static pthread_mutex_t fake_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t fake_cv = PTHREAD_COND_INITIALIZER;
static int fake_released, fake_calls;
static size_t fake_lines;                      /* records seen by the latest sync */
static size_t fake_lines_seen[FAKE_SYNC_SEEN]; /* records seen when sync i started */

/* Called from the fake sync function with the record count it found; blocks until released. */
static void
fake_gate(size_t lines)
{
	pthread_mutex_lock(&fake_mu);
	fake_lines = lines;
	if (fake_calls < FAKE_SYNC_SEEN)
		fake_lines_seen[fake_calls] = lines;
	fake_calls++;
	while (fake_released < fake_calls)
		pthread_cond_wait(&fake_cv, &fake_mu);
	pthread_mutex_unlock(&fake_mu);
}

static int
fake_count(void)
{
	int n;

	pthread_mutex_lock(&fake_mu);
	n = fake_calls;
	pthread_mutex_unlock(&fake_mu);
	return n;
}

/* Release one more sync; with all set, release every sync from now on. */
static void
fake_release_n(int n)
{
	pthread_mutex_lock(&fake_mu);
	fake_released += n;
	pthread_cond_broadcast(&fake_cv);
	pthread_mutex_unlock(&fake_mu);
}

static void
fake_release(void)
{
	fake_release_n(1);
}

#endif
