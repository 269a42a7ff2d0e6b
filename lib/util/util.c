// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * Hex text, log escaping, FILETIME conversion, constant-time compare, durable file writes and
 * duration/time parsing, and the daemons' start-up chores: reading a secret file, dropping root,
 * writing the pidfile. The hex decoder and the parsers see untrusted text (files, CLI).
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <netdb.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "nap/log.h"
#include "nap/util.h"

uint64_t
nap_unix_to_filetime(int64_t unix_seconds)
{
	if (unix_seconds < 0)
		return NAP_FILETIME_UNIX_EPOCH;
	return (uint64_t)unix_seconds * 10000000ULL + NAP_FILETIME_UNIX_EPOCH;
}

int64_t
nap_filetime_to_unix(uint64_t filetime)
{
	if (filetime < NAP_FILETIME_UNIX_EPOCH)
		return -(int64_t)((NAP_FILETIME_UNIX_EPOCH - filetime) / 10000000ULL);
	return (int64_t)((filetime - NAP_FILETIME_UNIX_EPOCH) / 10000000ULL);
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

long
nap_hex_decode(const char *text, size_t text_len, uint8_t *out, size_t out_cap, size_t *bad_at)
{
	size_t i = 0, n = 0;
	bool line_start = true;

	while (i < text_len) {
		int c = (unsigned char)text[i];
		int hi, lo;

		if (c == '\n') {
			line_start = true;
			i++;
			continue;
		}
		if (c == ' ' || c == '\t' || c == '\r' || c == ':' || c == ',') {
			i++;
			continue;
		}
		if (line_start && c == '#') {
			while (i < text_len && text[i] != '\n')
				i++;
			continue;
		}
		line_start = false;
		if (c == '0' && i + 1 < text_len && (text[i + 1] == 'x' || text[i + 1] == 'X')) {
			i += 2;
			continue;
		}
		hi = hexval(c);
		if (hi < 0 || i + 1 >= text_len || (lo = hexval((unsigned char)text[i + 1])) < 0) {
			if (bad_at != NULL)
				*bad_at = hi < 0 ? i : i + 1;
			return -EINVAL;
		}
		if (n >= out_cap) {
			if (bad_at != NULL)
				*bad_at = i;
			return -EMSGSIZE;
		}
		out[n++] = (uint8_t)(hi << 4 | lo);
		i += 2;
	}
	return (long)n;
}

void
nap_hex_encode(const uint8_t *p, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 0xf];
	}
	out[2 * n] = '\0';
}

void
nap_escape(const uint8_t *p, size_t n, char *out, size_t out_cap)
{
	static const char digits[] = "0123456789abcdef";
	size_t o = 0;

	if (out_cap == 0)
		return;
	for (size_t i = 0; i < n; i++) {
		uint8_t c = p[i];

		if (c >= 0x20 && c < 0x7f && c != '\\') {
			if (o + 1 >= out_cap)
				break;
			out[o++] = (char)c;
		} else {
			if (o + 4 >= out_cap)
				break;
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = digits[c >> 4];
			out[o++] = digits[c & 0xf];
		}
	}
	out[o] = '\0';
}

bool
nap_consttime_eq(const void *a, const void *b, size_t n)
{
	return CRYPTO_memcmp(a, b, n) == 0;
}

int64_t
nap_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

bool
nap_streq_null(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

void
nap_wipe(void *p, size_t n)
{
	OPENSSL_cleanse(p, n);
}

int
nap_read_file(const char *path, size_t max, uint8_t **out, size_t *out_len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	uint8_t *buf = NULL;
	size_t len = 0, cap = 0;

	if (fd < 0)
		return -errno;
	for (;;) {
		ssize_t r;

		if (cap - len < 4096) {
			size_t ncap = cap == 0 ? 8192 : cap * 2;
			uint8_t *nb;

			if (ncap > max + 1)
				ncap = max + 1;
			if (ncap <= len) {
				free(buf);
				close(fd);
				return -EFBIG;
			}
			nb = realloc(buf, ncap + 1);
			if (nb == NULL) {
				free(buf);
				close(fd);
				return -ENOMEM;
			}
			buf = nb;
			cap = ncap;
		}
		r = read(fd, buf + len, cap - len);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			free(buf);
			close(fd);
			return (int)r;
		}
		if (r == 0)
			break;
		len += (size_t)r;
		if (len > max) {
			free(buf);
			close(fd);
			return -EFBIG;
		}
	}
	close(fd);
	if (buf == NULL) {
		buf = malloc(1);
		if (buf == NULL)
			return -ENOMEM;
	}
	buf[len] = '\0';
	*out = buf;
	*out_len = len;
	return 0;
}

int
nap_read_text_file(const char *path, size_t max, char **text, size_t *len, char *err,
		   size_t err_len)
{
	uint8_t *buf;
	size_t n;
	int r;

	*text = NULL;
	if ((r = nap_read_file(path, max, &buf, &n)) < 0) {
		if (r == -EFBIG)
			snprintf(err, err_len, "%s: larger than %zu bytes", path, max);
		else
			snprintf(err, err_len, "%s: %s", path, strerror(-r));
		return r;
	}
	if (memchr(buf, '\0', n) != NULL) {
		free(buf);
		snprintf(err, err_len, "%s: NUL byte in the file", path);
		return -EINVAL;
	}
	*text = (char *)buf; /* nap_read_file() NUL-terminates */
	if (len != NULL)
		*len = n;
	return 0;
}

int
nap_conf_text_check(const char *text, size_t line_max, int *line, char *why, size_t why_len)
{
	int ln = 1;

	for (const char *s = text; *s != '\0'; ln++) {
		const char *nl = strchr(s, '\n');
		size_t n = nl != NULL ? (size_t)(nl - s) : strlen(s);

		if (n > 0 && s[n - 1] == '\r')
			n--;
		for (size_t i = 0; i < n; i++) {
			unsigned char ch = (unsigned char)s[i];

			if ((ch < 0x20 && ch != '\t') || ch == 0x7f) {
				*line = ln;
				snprintf(why, why_len, "control character 0x%02x", ch);
				return -EINVAL;
			}
		}
		if (n > line_max) {
			*line = ln;
			snprintf(why, why_len, "longer than %zu characters", line_max);
			return -E2BIG;
		}
		if (nl == NULL)
			break;
		s = nl + 1;
	}
	return 0;
}

int
nap_sweep_stale_tmp(const char *dir, const char *prefix, int64_t older_than, const char *who)
{
	size_t np = strlen(prefix);
	struct dirent *de;
	struct stat st;
	int count = 0;
	DIR *dh;

	if ((dh = opendir(dir)) == NULL)
		return -errno;
	while ((de = readdir(dh)) != NULL) {
		size_t n = strlen(de->d_name);

		if (de->d_name[0] != '.' || n < np + 6 || strncmp(de->d_name + 1, prefix, np) != 0 ||
		    strcmp(de->d_name + n - 4, ".tmp") != 0 ||
		    fstatat(dirfd(dh), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISREG(st.st_mode) || (int64_t)st.st_mtime >= older_than)
			continue;
		if (unlinkat(dirfd(dh), de->d_name, 0) == 0) {
			count++;
			log_info("%s: removed %s/%s, a temporary file untouched for a day (its writer "
				 "stopped before renaming it)",
				 who, dir, de->d_name);
		}
	}
	closedir(dh);
	return count;
}

int
nap_write_file_atomic(const char *path, const void *p, size_t n, unsigned mode)
{
	char tmp[PATH_MAX], dir[PATH_MAX];
	const uint8_t *b = p;
	char *slash;
	int fd, dfd, r = 0;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid()) >= sizeof(tmp))
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		return -errno;
	while (n > 0) {
		ssize_t w = write(fd, b, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			break;
		}
		b += w;
		n -= (size_t)w;
	}
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0) {
		unlink(tmp);
		return r;
	}
	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash == NULL)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		if (fsync(dfd) < 0)
			r = -errno;
		close(dfd);
	}
	return r;
}

int
nap_read_secret_file(const char *path, size_t max, char **out, unsigned *mode, char *err,
		     size_t err_len)
{
	/* Room for max bytes, a CRLF and one more: a full buffer is a file that is too long. */
	size_t cap, len = 0;
	struct stat st;
	char *buf = NULL;
	int fd, r = 0;

	*out = NULL;
	if (max == 0 || max > SIZE_MAX - 3) {
		snprintf(err, err_len, "no room for a secret of %zu bytes", max);
		return -EINVAL;
	}
	cap = max + 3;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
	if (fd < 0) {
		r = -errno;
		snprintf(err, err_len, "%s", strerror(errno));
		return r;
	}
	if (fstat(fd, &st) < 0) {
		r = -errno;
		snprintf(err, err_len, "%s", strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, err_len, "not a regular file");
		r = -EINVAL;
		goto out;
	}
	if (mode != NULL)
		*mode = (unsigned)(st.st_mode & 07777);
	if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
		snprintf(err, err_len,
			 "mode %04o lets group or other read it; refusing (chmod 600)",
			 (unsigned)(st.st_mode & 07777));
		r = -EPERM;
		goto out;
	}
	if ((buf = malloc(cap)) == NULL) {
		snprintf(err, err_len, "out of memory");
		r = -ENOMEM;
		goto out;
	}
	while (len < cap) {
		ssize_t got = read(fd, buf + len, cap - len);

		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			r = -errno;
			snprintf(err, err_len, "%s", strerror(errno));
			goto out;
		}
		if (got == 0)
			break;
		len += (size_t)got;
	}
	/* One trailing newline (as "echo secret > file" leaves it) is not part of the secret. */
	if (len < cap && len > 0 && buf[len - 1] == '\n') {
		len--;
		if (len > 0 && buf[len - 1] == '\r')
			len--;
	}
	if (len > max) {
		snprintf(err, err_len, "longer than %zu bytes", max);
		r = -EFBIG;
	} else if (len == 0) {
		snprintf(err, err_len, "empty");
		r = -EINVAL;
	} else if (memchr(buf, '\0', len) != NULL || memchr(buf, '\n', len) != NULL) {
		snprintf(err, err_len, "the password holds a NUL or a line break");
		r = -EINVAL;
	} else if ((*out = malloc(len + 1)) == NULL) {
		snprintf(err, err_len, "out of memory");
		r = -ENOMEM;
	} else {
		memcpy(*out, buf, len);
		(*out)[len] = '\0';
	}
out:
	if (buf != NULL) {
		nap_wipe(buf, cap);
		free(buf);
	}
	close(fd);
	return r;
}

int
nap_drop_privileges(const char *user, char *err, size_t err_len)
{
	struct passwd *pw;
	int r;

	errno = 0;
	pw = getpwnam(user);
	if (pw == NULL) {
		snprintf(err, err_len, "user %s: no such user", user);
		return -ENOENT;
	}
	if (geteuid() != 0) {
		if (pw->pw_uid == geteuid())
			return 1;
		snprintf(err, err_len, "user %s: not running as root, cannot switch", user);
		return -EPERM;
	}
	if (setgroups(1, &pw->pw_gid) < 0 || setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) < 0 ||
	    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) < 0) {
		r = -errno;
		snprintf(err, err_len, "dropping privileges to %s: %s", user, strerror(-r));
		return r;
	}
	if (pw->pw_uid != 0 && setuid(0) == 0) {
		snprintf(err, err_len, "dropping privileges to %s: could regain root", user);
		return -EPERM;
	}
	return 0;
}

int
nap_write_pidfile(const char *path)
{
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());

	return nap_write_file_atomic(path, buf, (size_t)n, 0644);
}

int
nap_parse_duration(const char *s, int64_t *seconds)
{
	char *end;
	long long v;
	int64_t mult = 1;

	if (s == NULL || *s == '\0' || *s == '-')
		return -EINVAL;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || end == s)
		return -EINVAL;
	if (*end != '\0') {
		switch (*end) {
		case 's':
			mult = 1;
			break;
		case 'm':
			mult = 60;
			break;
		case 'h':
			mult = 3600;
			break;
		case 'd':
			mult = 86400;
			break;
		default:
			return -EINVAL;
		}
		if (end[1] != '\0')
			return -EINVAL;
	}
	if (v < 0 || v > INT64_MAX / mult)
		return -ERANGE;
	*seconds = (int64_t)v * mult;
	return 0;
}

int
nap_parse_time(const char *s, int64_t *unix_seconds)
{
	struct tm tm;
	const char *end;
	time_t t;

	if (s == NULL)
		return -EINVAL;
	memset(&tm, 0, sizeof(tm));
	end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (end == NULL) {
		memset(&tm, 0, sizeof(tm));
		end = strptime(s, "%Y-%m-%d", &tm);
		if (end == NULL || *end != '\0')
			return -EINVAL;
	} else if (*end == 'Z') {
		end++;
	}
	if (*end != '\0')
		return -EINVAL;
	t = timegm(&tm);
	if (t == (time_t)-1)
		return -EINVAL;
	*unix_seconds = (int64_t)t;
	return 0;
}

void
nap_format_time(int64_t unix_seconds, char *out, size_t out_cap)
{
	time_t t = (time_t)unix_seconds;
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL || strftime(out, out_cap, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, out_cap, "%lld", (long long)unix_seconds);
}

int
nap_resolve_udp(const char *hostport, struct addrinfo **res)
{
	char host[256];
	const char *port;
	struct addrinfo hints;
	size_t hl;

	if (hostport[0] == '[') {
		const char *close = strchr(hostport, ']');

		if (close == NULL || close[1] != ':')
			return -EINVAL;
		hl = (size_t)(close - hostport - 1);
		port = close + 2;
		hostport++;
	} else {
		const char *colon = strrchr(hostport, ':');

		if (colon == NULL)
			return -EINVAL;
		hl = (size_t)(colon - hostport);
		port = colon + 1;
	}
	if (hl == 0 || hl >= sizeof(host) || *port == '\0')
		return -EINVAL;
	memcpy(host, hostport, hl);
	host[hl] = '\0';
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_DGRAM;
	hints.ai_flags = AI_NUMERICSERV;
	return getaddrinfo(host, port, &hints, res) == 0 ? 0 : -EHOSTUNREACH;
}

int
nap_tls_pair_check(const char *cert_pem, const char *key_pem, const char *cert_path,
		   const char *key_path, const char *who, char *err, size_t err_len)
{
	BIO *b;
	X509 *x = NULL;
	EVP_PKEY *k = NULL;
	int r = 0;

	if ((b = BIO_new_mem_buf(cert_pem, -1)) != NULL)
		x = PEM_read_bio_X509(b, NULL, NULL, NULL);
	BIO_free(b);
	if ((b = BIO_new_mem_buf(key_pem, -1)) != NULL)
		k = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
	BIO_free(b);
	if (x == NULL) {
		snprintf(err, err_len, "%s: %s: no PEM certificate", who, cert_path);
		r = -EINVAL;
	} else if (k == NULL) {
		snprintf(err, err_len, "%s: %s: no PEM private key", who, key_path);
		r = -EINVAL;
	} else if (X509_check_private_key(x, k) != 1) {
		snprintf(err, err_len, "%s: %s does not match the key %s", who, cert_path, key_path);
		r = -EINVAL;
	}
	X509_free(x);
	EVP_PKEY_free(k);
	ERR_clear_error();
	return r;
}
