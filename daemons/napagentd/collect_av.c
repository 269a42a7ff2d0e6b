// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * The antivirus collector (ClamAV): installed when clamscan, clamdscan, clamd or freshclam is;
 * the signatures' age is that of the newest database in the signature directory (*.cvd,
 * *.cld, *.cud): the build time in the database header ("ClamAV-VDB:" ... ":<stime>", the
 * ninth colon-separated field, Unix seconds), else the file's modification time. PASS when that
 * age is at most max_age. Handles untrusted input (database headers): 512 bytes read, fields
 * bounded, a header that does not parse falls back to the file time.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "collect-int.h"
#include "nap/util.h"

#define CVD_HEADER_LEN 512

int64_t
collect_cvd_time(const uint8_t *hdr, size_t len)
{
	char h[CVD_HEADER_LEN + 1], *f;
	size_t n = len < CVD_HEADER_LEN ? len : CVD_HEADER_LEN;
	long long v;
	char *end;
	int field = 0;

	if (n < 11 || memcmp(hdr, "ClamAV-VDB:", 11) != 0)
		return -1;
	memcpy(h, hdr, n);
	h[n] = '\0';
	f = h;
	while (field < 8) {
		f = strchr(f, ':');
		if (f == NULL)
			return -1;
		f++;
		field++;
	}
	/* The field ends at ':' or at the padding (spaces). */
	f[strcspn(f, ": ")] = '\0';
	if (*f < '0' || *f > '9' || strlen(f) > 12)
		return -1;
	errno = 0;
	v = strtoll(f, &end, 10);
	if (errno != 0 || *end != '\0' || v <= 0)
		return -1;
	return (int64_t)v;
}

static bool
av_db_name(const char *n)
{
	size_t len = strlen(n);

	return len > 4 && (strcmp(n + len - 4, ".cvd") == 0 || strcmp(n + len - 4, ".cld") == 0 ||
			   strcmp(n + len - 4, ".cud") == 0);
}

static bool
av_installed(const struct agent_collect_env *env)
{
	static const char *const bins[] = {"/usr/bin/clamscan", "/usr/bin/clamdscan",
					   "/usr/sbin/clamd", "/usr/bin/freshclam", NULL};

	for (size_t i = 0; bins[i] != NULL; i++) {
		if (collect_exists(env, bins[i]))
			return true;
	}
	return false;
}

static void
av_fmt_age(int64_t s, char *buf, size_t len)
{
	if (s >= 2 * 86400)
		snprintf(buf, len, "%lld days", (long long)(s / 86400));
	else if (s >= 2 * 3600)
		snprintf(buf, len, "%lld hours", (long long)(s / 3600));
	else
		snprintf(buf, len, "%lld s", (long long)s);
}

void
agent_collect_antivirus(const struct agent_collect_env *env, int64_t max_age,
			struct agent_check_result *out)
{
	char dir[PATH_MAX], p[PATH_MAX * 2], newest_name[128] = "", age_s[32], lim_s[32];
	const char *db = env->clamav_db != NULL && env->clamav_db[0] != '\0'
				 ? env->clamav_db
				 : AGENT_CHECKS_DEFAULT_CLAMAV;
	int64_t newest = -1, age;
	size_t n_db = 0;
	struct dirent *de;
	DIR *d;

	if (!av_installed(env)) {
		collect_set(out, NAP_CHECK_FAIL, "ClamAV not installed");
		return;
	}
	if (!collect_path(env, db, dir, sizeof(dir))) {
		collect_set(out, NAP_CHECK_ERROR, "signature directory path too long");
		return;
	}
	d = opendir(dir);
	if (d == NULL) {
		collect_set(out, errno == ENOENT ? NAP_CHECK_FAIL : NAP_CHECK_ERROR,
			    "ClamAV signature directory %.100s: %s", db, strerror(errno));
		return;
	}
	while ((de = readdir(d)) != NULL) {
		uint8_t hdr[CVD_HEADER_LEN];
		struct stat sb;
		int64_t t;
		ssize_t got;
		int fd;

		if (!av_db_name(de->d_name))
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
		fd = open(p, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOFOLLOW);
		if (fd < 0)
			continue;
		if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
			close(fd);
			continue;
		}
		got = read(fd, hdr, sizeof(hdr));
		close(fd);
		t = got > 0 ? collect_cvd_time(hdr, (size_t)got) : -1;
		if (t < 0)
			t = (int64_t)sb.st_mtime;
		n_db++;
		if (t > newest) {
			newest = t;
			snprintf(newest_name, sizeof(newest_name), "%.100s", de->d_name);
		}
	}
	closedir(d);
	if (n_db == 0) {
		collect_set(out, NAP_CHECK_FAIL, "ClamAV installed, no signature database in %.100s",
			    db);
		return;
	}
	age = env->now > newest ? env->now - newest : 0;
	av_fmt_age(age, age_s, sizeof(age_s));
	av_fmt_age(max_age, lim_s, sizeof(lim_s));
	if (max_age > 0 && age <= max_age)
		collect_set(out, NAP_CHECK_PASS, "ClamAV signatures %s old (%s; limit %s)", age_s,
			    newest_name, lim_s);
	else
		collect_set(out, NAP_CHECK_FAIL, "ClamAV signatures %s old (%s; limit %s)", age_s,
			    newest_name, lim_s);
}
