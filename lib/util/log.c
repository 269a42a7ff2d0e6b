// SPDX-License-Identifier: GPL-3.0-or-later
/* Daemon logging to stderr or syslog, with per-call-site rate limiting. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nap/log.h"

static bool log_foreground = true;
static int log_verbosity;
static const char *log_progname = "nap";

void
log_init(const char *progname, bool foreground, int verbosity)
{
	log_progname = progname;
	log_foreground = foreground;
	log_verbosity = verbosity;
	if (!foreground)
		openlog(progname, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void
log_setverbose(int verbosity)
{
	log_verbosity = verbosity;
}

__attribute__((format(printf, 2, 0))) static void
vlog(int prio, const char *fmt, va_list ap)
{
	if (prio == LOG_DEBUG && log_verbosity < 1)
		return;
	if (log_foreground) {
		vfprintf(stderr, fmt, ap);
		fputc('\n', stderr);
		fflush(stderr);
	} else {
		vsyslog(prio, fmt, ap);
	}
}

void
log_msg(int prio, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(prio, fmt, ap);
	va_end(ap);
}

void
log_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_WARNING, fmt, ap);
	va_end(ap);
}

void
log_warn(const char *fmt, ...)
{
	char buf[1024];
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	log_msg(LOG_WARNING, "%s: %s", buf, strerror(saved));
}

void
log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_INFO, fmt, ap);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_DEBUG, fmt, ap);
	va_end(ap);
}

/*
 * A library's log callback (libmicrohttpd's MHD_OPTION_EXTERNAL_LOGGER has this shape): one
 * debug line "WHO: message" without the library's trailing newline. TLS handshake failures and
 * garbage from scanners arrive here, so they are debug lines, not warnings.
 */
void
log_library_debug(void *who, const char *fmt, va_list ap)
{
	char buf[256];
	size_t n;

	vsnprintf(buf, sizeof(buf), fmt, ap);
	n = strlen(buf);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	log_debug("%s: %s", who != NULL ? (const char *)who : "library", buf);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_CRIT, fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatal(const char *fmt, ...)
{
	char buf[1024];
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	log_msg(LOG_CRIT, "%s: %s", buf, strerror(saved));
	exit(1);
}

int
log_warnx_r(int r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_WARNING, fmt, ap);
	va_end(ap);
	return r;
}

void
log_warnx_rl(struct log_ratelimit *rl, const char *fmt, ...)
{
	struct timespec ts;
	va_list ap;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	if (ts.tv_sec - rl->window_start >= LOG_RATELIMIT_INTERVAL) {
		if (rl->suppressed > 0)
			log_warnx("%u similar messages suppressed", rl->suppressed);
		rl->window_start = ts.tv_sec;
		rl->printed = 0;
		rl->suppressed = 0;
	}
	if (rl->printed >= LOG_RATELIMIT_BURST) {
		rl->suppressed++;
		return;
	}
	rl->printed++;
	va_start(ap, fmt);
	vlog(LOG_WARNING, fmt, ap);
	va_end(ap);
}
