// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * napvd's single-threaded event loop: epoll over the RADIUS sockets, the metrics listener, a
 * signalfd and timerfds, plus the clock the rest of napvd reads (replaceable by tests). No
 * untrusted input is handled here.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "nap/util.h"
#include "napvd.h"

#define NAPVD_EV_MAX 32

static int64_t
napvd_sys_mono_ms(void *arg)
{
	(void)arg;
	return nap_mono_ms();
}

static int64_t
napvd_sys_real_s(void *arg)
{
	struct timespec ts;

	(void)arg;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec;
}

const struct napvd_clock napvd_clock_system = {
	.mono_ms = napvd_sys_mono_ms,
	.real_s = napvd_sys_real_s,
	.arg = NULL,
};

int
napvd_ev_init(struct napvd_ev *ev)
{
	memset(ev, 0, sizeof(*ev));
	ev->epfd = epoll_create1(EPOLL_CLOEXEC);
	return ev->epfd < 0 ? -errno : 0;
}

void
napvd_ev_close(struct napvd_ev *ev)
{
	if (ev->epfd >= 0)
		close(ev->epfd);
	ev->epfd = -1;
}

int
napvd_ev_add(struct napvd_ev *ev, struct napvd_io *io, uint32_t events)
{
	struct epoll_event e = {.events = events, .data.ptr = io};

	if (epoll_ctl(ev->epfd, EPOLL_CTL_ADD, io->fd, &e) < 0)
		return -errno;
	return 0;
}

void
napvd_ev_del(struct napvd_ev *ev, struct napvd_io *io)
{
	if (io->fd >= 0)
		epoll_ctl(ev->epfd, EPOLL_CTL_DEL, io->fd, NULL);
	/* Events of this handler may still sit in the current batch: stop dispatching it. */
	ev->generation++;
}

/*
 * Wait once and dispatch. All handlers are level-triggered, so when a handler removes others
 * (reload), the rest of the batch is simply dropped and comes back on the next wait.
 */
int
napvd_ev_run_once(struct napvd_ev *ev, int timeout_ms)
{
	struct epoll_event evs[NAPVD_EV_MAX];
	unsigned gen = ev->generation;
	int n;

	n = epoll_wait(ev->epfd, evs, NAPVD_EV_MAX, timeout_ms);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	for (int i = 0; i < n && !ev->quit && ev->generation == gen; i++) {
		struct napvd_io *io = evs[i].data.ptr;

		io->cb(io, evs[i].events);
	}
	return n;
}

int
napvd_timer_open(void)
{
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

int
napvd_timer_set(int fd, int64_t first_ms, int64_t interval_ms)
{
	struct itimerspec its;

	memset(&its, 0, sizeof(its));
	if (first_ms <= 0)
		first_ms = 1; /* zero would disarm */
	its.it_value.tv_sec = first_ms / 1000;
	its.it_value.tv_nsec = (first_ms % 1000) * 1000000;
	its.it_interval.tv_sec = interval_ms / 1000;
	its.it_interval.tv_nsec = (interval_ms % 1000) * 1000000;
	return timerfd_settime(fd, 0, &its, NULL) < 0 ? -errno : 0;
}

void
napvd_timer_ack(int fd)
{
	uint64_t n;

	while (read(fd, &n, sizeof(n)) < 0 && errno == EINTR)
		;
}
