// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * The durable status spool: one JSON object per line for every decision napvd makes, appended
 * to state_dir/spool and on disk (fdatasync) before the replies of its batch leave. Records hold
 * client-supplied text (the machine name), escaped here; the file itself is read back only to
 * recover from a crash.
 *
 * Group commit: the front end processes every datagram that is ready (up to NAPVD_BATCH), queues
 * one record per decision, then calls napvd_spool_commit() once: one write(), one fdatasync(),
 * and only then sends the replies. Latency grows by one sync per batch, throughput by the batch
 * size.
 *
 * Recovery: a crash can leave a torn last line (or, on some file systems, a zero-filled tail).
 * On open the file is scanned and cut back to the end of its last well-formed line.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nap/log.h"
#include "nap/soh.h"
#include "nap/util.h"
#include "napvd.h"

#define NAPVD_SPOOL_MACHINE_MAX 64 /* bytes of the machine name kept in a record */

/* A well-formed line: '{' ... '}' of printable ASCII only (the writer escapes everything else). */
static bool
napvd_spool_line_ok(const uint8_t *p, size_t n)
{
	if (n < 2 || p[0] != '{' || p[n - 1] != '}')
		return false;
	for (size_t i = 0; i < n; i++)
		if (p[i] < 0x20 || p[i] > 0x7e)
			return false;
	return true;
}

long
napvd_spool_recover_fd(int fd, uint64_t *size)
{
	struct stat st;
	const uint8_t *map;
	size_t len, good = 0;

	if (fstat(fd, &st) < 0)
		return -errno;
	len = (size_t)st.st_size;
	*size = len;
	if (len == 0)
		return 0;
	map = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
	if (map == MAP_FAILED)
		return -errno;
	while (good < len) {
		const uint8_t *nl = memchr(map + good, '\n', len - good);

		if (nl == NULL || !napvd_spool_line_ok(map + good, (size_t)(nl - (map + good))))
			break;
		good = (size_t)(nl - map) + 1;
	}
	munmap((void *)map, len);
	if (good == len)
		return 0;
	if (ftruncate(fd, (off_t)good) < 0 || fdatasync(fd) < 0)
		return -errno;
	*size = good;
	return (long)(len - good);
}

int
napvd_spool_open(struct napvd_spool *sp, const char *dir, uint64_t max, uint64_t *truncated)
{
	long cut;
	int r;

	sp->fd = -1;
	sp->pending_len = 0;
	sp->pending_records = 0;
	sp->max = max;
	*truncated = 0;
	sp->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (sp->dirfd < 0)
		return -errno;
	sp->fd = openat(sp->dirfd, NAPVD_SPOOL_NAME, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (sp->fd < 0) {
		r = -errno;
		napvd_spool_close(sp);
		return r;
	}
	/* Make the directory entry durable too, or a crash could lose the whole file. */
	if (fsync(sp->dirfd) < 0) {
		r = -errno;
		napvd_spool_close(sp);
		return r;
	}
	cut = napvd_spool_recover_fd(sp->fd, &sp->size);
	if (cut < 0) {
		napvd_spool_close(sp);
		return (int)cut;
	}
	*truncated = (uint64_t)cut;
	return 0;
}

void
napvd_spool_close(struct napvd_spool *sp)
{
	if (sp->fd >= 0)
		close(sp->fd);
	if (sp->dirfd >= 0)
		close(sp->dirfd);
	sp->fd = -1;
	sp->dirfd = -1;
	sp->pending_len = 0;
	sp->pending_records = 0;
}

/* JSON string body: printable ASCII except '"' and '\\' as is, everything else \u00XX. */
static size_t
napvd_json_escape(const uint8_t *p, size_t n, char *out, size_t cap)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		uint8_t c = p[i];

		if (c >= 0x20 && c <= 0x7e && c != '"' && c != '\\') {
			if (o + 1 >= cap)
				break;
			out[o++] = (char)c;
		} else {
			if (o + 6 >= cap)
				break;
			snprintf(out + o, cap - o, "\\u%04x", c);
			o += 6;
		}
	}
	out[o] = '\0';
	return o;
}

int
napvd_spool_format(const struct napvd_spool_record *r, char *out, size_t cap)
{
	char t[32], machine[NAPVD_SPOOL_MACHINE_MAX * 6 + 1], site[NAP_SITE_MAX * 6 + 1];
	char corr[NAP_CORRELATION_ID_LEN * 2 + 1];
	size_t mlen = r->machine_len;
	int n;

	/* The machine name is often NUL-terminated on the wire. */
	while (mlen > 0 && r->machine != NULL && r->machine[mlen - 1] == '\0')
		mlen--;
	if (mlen > NAPVD_SPOOL_MACHINE_MAX)
		mlen = NAPVD_SPOOL_MACHINE_MAX;
	napvd_json_escape(r->machine, r->machine != NULL ? mlen : 0, machine, sizeof(machine));
	napvd_json_escape((const uint8_t *)r->site, r->site != NULL ? strlen(r->site) : 0, site,
			  sizeof(site));
	if (r->correlation_id != NULL)
		nap_hex_encode(r->correlation_id, NAP_CORRELATION_ID_LEN, corr);
	else
		corr[0] = '\0';
	nap_format_time(r->time, t, sizeof(t));
	n = snprintf(out, cap,
		     "{\"time\":\"%s\",\"nas\":\"%s\",\"client\":\"%s\",\"machine\":\"%s\","
		     "\"site\":\"%s\",\"enforcement\":\"%s\",\"result\":\"%s\",\"branch\":\"%s\","
		     "\"action\":\"%s\",\"hsr_revision\":%" PRIu64 ",\"correlation_id\":\"%s\"}\n",
		     t, r->nas, r->client, machine, site, r->enforcement, r->result, r->branch,
		     r->action, r->hsr_revision, corr);
	if (n < 0 || (size_t)n >= cap)
		return -ENOSPC;
	return n;
}

int
napvd_spool_append(struct napvd_spool *sp, const struct napvd_spool_record *r,
		   struct napvd_metrics *m)
{
	char line[NAPVD_SPOOL_RECORD_MAX];
	int n;

	if (sp->fd < 0)
		return 0;
	n = napvd_spool_format(r, line, sizeof(line));
	if (n < 0) {
		m->spool_errors++;
		return n;
	}
	if (sp->size + sp->pending_len + (size_t)n > sp->max) {
		m->spool_overflow++;
		return -ENOSPC;
	}
	if (sp->pending_len + (size_t)n > sizeof(sp->pending)) {
		int r2 = napvd_spool_commit(sp, m);

		if (r2 < 0)
			return r2;
	}
	memcpy(sp->pending + sp->pending_len, line, (size_t)n);
	sp->pending_len += (size_t)n;
	sp->pending_records++;
	return 0;
}

int
napvd_spool_commit(struct napvd_spool *sp, struct napvd_metrics *m)
{
	size_t done = 0;
	int r = 0;

	if (sp->fd < 0 || sp->pending_len == 0)
		return 0;
	while (done < sp->pending_len) {
		ssize_t w = write(sp->fd, sp->pending + done, sp->pending_len - done);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			break;
		}
		done += (size_t)w;
	}
	if (r == 0 && fdatasync(sp->fd) < 0)
		r = -errno;
	if (r < 0) {
		/* Cut a partial write back so the file stays a run of whole lines. */
		if (ftruncate(sp->fd, (off_t)sp->size) < 0)
			log_warn("spool: truncate after a failed write");
		m->spool_errors++;
		LOG_WARNX_RL("spool: %u records lost: %s", sp->pending_records, strerror(-r));
	} else {
		sp->size += sp->pending_len;
		m->spool_records += sp->pending_records;
		m->spool_syncs++;
	}
	sp->pending_len = 0;
	sp->pending_records = 0;
	return r;
}
