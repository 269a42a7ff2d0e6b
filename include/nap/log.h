/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Daemon logging: stderr in the foreground (-d), syslog otherwise. log_warnx_r() returns its
 * first argument so boundaries can "return log_warnx_r(r, ...)". Rate-limited variants keep a
 * flood of bad packets from flooding the log: at most burst lines per interval per call site,
 * with a count of what was suppressed. Secrets are never passed here; wire bytes are escaped
 * with nap_escape() first.
 */
#ifndef NAP_LOG_H
#define NAP_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <syslog.h>

void log_init(const char *progname, bool foreground, int verbosity);
void log_setverbose(int verbosity);
void log_msg(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2))); /* appends errno */
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A library's log callback: WHO (a string) prefixes the line, which goes out as debug. */
void log_library_debug(void *who, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
__attribute__((noreturn)) void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
__attribute__((noreturn)) void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int log_warnx_r(int r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

struct log_ratelimit {
	int64_t window_start; /* monotonic seconds */
	unsigned printed;
	unsigned suppressed;
};
#define LOG_RATELIMIT_INTERVAL 10 /* seconds */
#define LOG_RATELIMIT_BURST    10 /* lines per interval */

/* Log at warning priority unless this call site exceeded its budget. */
void log_warnx_rl(struct log_ratelimit *rl, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
#define LOG_WARNX_RL(...)                                                                          \
	do {                                                                                       \
		static struct log_ratelimit _rl;                                                   \
		log_warnx_rl(&_rl, __VA_ARGS__);                                                   \
	} while (0)

#endif
