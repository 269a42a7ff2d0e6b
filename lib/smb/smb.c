// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * SMB file access over libsmbclient (include/nap/smb.h).
 *
 * libsmbclient takes its protocol and signing settings from the process-wide Samba
 * configuration. Before the first connection this module loads its own small configuration
 * from a memfd ("client signing = required", SMB3 both ways, no Kerberos) over whatever
 * /etc/samba/smb.conf said, and sets the protocol range on every context as well
 * (smbc_setOptionProtocols overrides configuration files). The encryption level "request"
 * additionally makes libsmbclient ask for signing on the connection itself and encrypts
 * when the server offers SMB3 encryption. Every entry into libsmbclient holds one mutex.
 *
 * Errors. libsmbclient reports errno values only: a failed session setup (wrong user or
 * password) comes back as EACCES (or EPERM), like a refused tree connect; an unknown share as
 * ENOENT, a failed negotiation (the server does not speak SMB3) as an errno from the NT
 * status. Its debug output, captured rather than printed, tells a logon failure apart: that
 * is returned as -EPERM with "logon failure", a refused share or file as -EACCES. The
 * messages say which step failed in words an operator can act on.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libsmbclient.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "nap/smb.h"

#define NAP_SMB_CRED_MAX    4096
#define NAP_SMB_FIELD_MAX   256
#define NAP_SMB_URL_MAX     2048
#define NAP_SMB_TIMEOUT_MS  10000
#define NAP_SMB_DEBUG       3 /* libsmbclient debug level: "SPNEGO login failed" is level 3 */

struct nap_smb {
	SMBCCTX *ctx;
	char user[NAP_SMB_FIELD_MAX];
	char password[NAP_SMB_FIELD_MAX];
	char domain[NAP_SMB_FIELD_MAX];
	bool failed; /* the last operation failed: drop cached connections before the next */
};

static pthread_mutex_t nap_smb_mu = PTHREAD_MUTEX_INITIALIZER;
static bool nap_smb_configured;
static char nap_smb_lastlog[256]; /* libsmbclient's last error-level message */

static const char nap_smb_conf[] = "[global]\n"
				   "  client min protocol = SMB3\n"
				   "  client max protocol = SMB3\n"
				   "  client signing = required\n"
				   "  client ipc signing = required\n"
				   "  client use kerberos = off\n"
				   "  client ntlmv2 auth = yes\n"
				   "  client lanman auth = no\n"
				   "  client plaintext auth = no\n";

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define NAP_SMB_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define NAP_SMB_ASAN 1
#endif
#ifdef NAP_SMB_ASAN
/*
 * libsmbclient's one-time module initialisation keeps the name of its log file in a talloc
 * allocation that nothing frees: not a leak of ours, and LeakSanitizer would fail every
 * program that speaks SMB at exit. Programs linking this library get the suppression. The
 * fast unwinder stops inside libtalloc (built without frame pointers), so the suppression
 * names that library; nap itself never allocates with talloc.
 */
const char *__lsan_default_suppressions(void);
const char *
__lsan_default_suppressions(void)
{
	return "leak:debug_set_logfile\nleak:libtalloc.so\n";
}

const char *__lsan_default_options(void);
const char *
__lsan_default_options(void)
{
	return "print_suppressions=0";
}
#endif

static void
nap_smb_wipe(void *p, size_t n)
{
	volatile unsigned char *v = p;

	while (n-- > 0)
		*v++ = 0;
}

/*
 * libsmbclient's debug output (level NAP_SMB_DEBUG, sent here, never to stdout or stderr):
 * the last line that reports a failure is kept for the error message. A wrong password
 * comes back as EACCES like a refused share; only this line tells the two apart.
 */
static void
nap_smb_log(void *priv, int level, const char *msg)
{
	size_t n;

	(void)priv;
	if (level > NAP_SMB_DEBUG || msg == NULL)
		return;
	if (strcasestr(msg, "fail") == NULL && strstr(msg, "NT_STATUS_") == NULL &&
	    strcasestr(msg, "error") == NULL && strcasestr(msg, "invalid") == NULL)
		return;
	snprintf(nap_smb_lastlog, sizeof(nap_smb_lastlog), "%s", msg);
	n = strlen(nap_smb_lastlog);
	while (n > 0 && (nap_smb_lastlog[n - 1] == '\n' || nap_smb_lastlog[n - 1] == ' '))
		nap_smb_lastlog[--n] = '\0';
}

static void
nap_smb_auth(SMBCCTX *c, const char *srv, const char *shr, char *wg, int wglen, char *un,
	     int unlen, char *pw, int pwlen)
{
	struct nap_smb *s = smbc_getOptionUserData(c);

	(void)srv;
	(void)shr;
	if (s == NULL)
		return;
	if (s->domain[0] != '\0')
		snprintf(wg, (size_t)wglen, "%s", s->domain);
	snprintf(un, (size_t)unlen, "%s", s->user);
	snprintf(pw, (size_t)pwlen, "%s", s->password);
}

/* The process-wide configuration, once, under the mutex, after a context was initialised. */
static int
nap_smb_configure(SMBCCTX *ctx, char *err, size_t errlen)
{
	char path[64];
	int fd, r = 0;
	size_t off = 0;

	if (nap_smb_configured)
		return 0;
	fd = memfd_create("nap-smb.conf", MFD_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		snprintf(err, errlen, "SMB client configuration: memfd_create: %s", strerror(errno));
		return r;
	}
	while (off < sizeof(nap_smb_conf) - 1) {
		ssize_t w = write(fd, nap_smb_conf + off, sizeof(nap_smb_conf) - 1 - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			r = -errno;
			snprintf(err, errlen, "SMB client configuration: %s", strerror(errno));
			close(fd);
			return r;
		}
		off += (size_t)w;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if (smbc_setConfiguration(ctx, path) != 0) {
		snprintf(err, errlen, "SMB client configuration: libsmbclient could not load %s",
			 path);
		close(fd);
		return -EINVAL;
	}
	close(fd);
	nap_smb_configured = true;
	return 0;
}

/* "name = value" lines of an smbclient -A credentials file. */
static int
nap_smb_parse_cred(struct nap_smb *s, char *text, char *err, size_t errlen)
{
	char *line, *save = NULL;
	unsigned lineno = 0;

	for (line = strtok_r(text, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		char *k = line, *v, *e;
		char *dst = NULL;

		lineno++;
		while (*k == ' ' || *k == '\t')
			k++;
		e = k + strlen(k);
		while (e > k && (e[-1] == '\r' || e[-1] == ' ' || e[-1] == '\t'))
			*--e = '\0';
		if (*k == '\0' || *k == '#' || *k == ';')
			continue;
		if ((v = strchr(k, '=')) == NULL) {
			snprintf(err, errlen, "line %u: expected NAME = VALUE", lineno);
			return -EINVAL;
		}
		e = v;
		*v++ = '\0';
		while (e > k && (e[-1] == ' ' || e[-1] == '\t'))
			*--e = '\0';
		while (*v == ' ' || *v == '\t')
			v++;
		if (strcmp(k, "username") == 0)
			dst = s->user;
		else if (strcmp(k, "password") == 0)
			dst = s->password;
		else if (strcmp(k, "domain") == 0 || strcmp(k, "workgroup") == 0)
			dst = s->domain;
		else {
			snprintf(err, errlen, "line %u: unknown key '%.32s' (username, password, "
					      "domain)", lineno, k);
			return -EINVAL;
		}
		if (strlen(v) >= NAP_SMB_FIELD_MAX) {
			snprintf(err, errlen, "line %u: %s is too long", lineno, k);
			return -EINVAL;
		}
		memcpy(dst, v, strlen(v) + 1);
	}
	if (s->user[0] == '\0' || s->password[0] == '\0') {
		snprintf(err, errlen, "no %s", s->user[0] == '\0' ? "username" : "password");
		return -EINVAL;
	}
	/* "DOMAIN/user" or "DOMAIN\user" as smbclient accepts it */
	if (s->domain[0] == '\0') {
		char *sep = strpbrk(s->user, "/\\");

		if (sep != NULL) {
			*sep = '\0';
			snprintf(s->domain, sizeof(s->domain), "%s", s->user);
			memmove(s->user, sep + 1, strlen(sep + 1) + 1);
		}
	}
	return 0;
}

static int
nap_smb_read_cred(struct nap_smb *s, const char *path, char *err, size_t errlen)
{
	char buf[NAP_SMB_CRED_MAX + 1], why[160];
	struct stat st;
	size_t len = 0;
	int fd, r;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
	if (fd < 0) {
		r = -errno;
		snprintf(err, errlen, "credentials file %s: %s", path, strerror(errno));
		return r;
	}
	if (fstat(fd, &st) < 0) {
		r = -errno;
		snprintf(err, errlen, "credentials file %s: %s", path, strerror(errno));
		close(fd);
		return r;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "credentials file %s: not a regular file", path);
		close(fd);
		return -EINVAL;
	}
	if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
		snprintf(err, errlen,
			 "credentials file %s: mode %04o lets group or other access it; refusing "
			 "(chmod 600)",
			 path, (unsigned)(st.st_mode & 07777));
		close(fd);
		return -EPERM;
	}
	while (len < sizeof(buf) - 1) {
		ssize_t n = read(fd, buf + len, sizeof(buf) - 1 - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			snprintf(err, errlen, "credentials file %s: %s", path, strerror(errno));
			close(fd);
			nap_smb_wipe(buf, sizeof(buf));
			return r;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	if (len >= NAP_SMB_CRED_MAX) {
		snprintf(err, errlen, "credentials file %s: longer than %d bytes", path,
			 NAP_SMB_CRED_MAX);
		nap_smb_wipe(buf, sizeof(buf));
		return -EFBIG;
	}
	buf[len] = '\0';
	if (memchr(buf, '\0', len) != NULL) {
		snprintf(err, errlen, "credentials file %s: holds a NUL byte", path);
		nap_smb_wipe(buf, sizeof(buf));
		return -EINVAL;
	}
	r = nap_smb_parse_cred(s, buf, why, sizeof(why));
	nap_smb_wipe(buf, sizeof(buf));
	if (r < 0)
		snprintf(err, errlen, "credentials file %s: %s", path, why);
	return r;
}

int
nap_smb_open(struct nap_smb **out, const char *credentials_file, char *err, size_t errlen)
{
	struct nap_smb *s;
	int r;

	*out = NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	if ((r = nap_smb_read_cred(s, credentials_file, err, errlen)) < 0) {
		nap_smb_wipe(s, sizeof(*s));
		free(s);
		return r;
	}
	pthread_mutex_lock(&nap_smb_mu);
	s->ctx = smbc_new_context();
	if (s->ctx == NULL) {
		pthread_mutex_unlock(&nap_smb_mu);
		snprintf(err, errlen, "smbc_new_context: %s", strerror(errno));
		nap_smb_wipe(s, sizeof(*s));
		free(s);
		return -ENOMEM;
	}
	smbc_setDebug(s->ctx, NAP_SMB_DEBUG);
	smbc_setOptionDebugToStderr(s->ctx, 1);
	smbc_setLogCallback(s->ctx, NULL, nap_smb_log);
	smbc_setOptionUserData(s->ctx, s);
	smbc_setFunctionAuthDataWithContext(s->ctx, nap_smb_auth);
	smbc_setOptionNoAutoAnonymousLogin(s->ctx, 1);
	smbc_setOptionUseKerberos(s->ctx, 0);
	smbc_setOptionFallbackAfterKerberos(s->ctx, 0);
	smbc_setOptionUseCCache(s->ctx, 0);
	smbc_setOptionSmbEncryptionLevel(s->ctx, SMBC_ENCRYPTLEVEL_REQUEST);
	smbc_setOptionOneSharePerServer(s->ctx, 0);
	smbc_setTimeout(s->ctx, NAP_SMB_TIMEOUT_MS);
	if (smbc_init_context(s->ctx) == NULL) {
		r = errno != 0 ? -errno : -EINVAL;
		pthread_mutex_unlock(&nap_smb_mu);
		snprintf(err, errlen, "smbc_init_context: %s", strerror(-r));
		smbc_free_context(s->ctx, 1);
		nap_smb_wipe(s, sizeof(*s));
		free(s);
		return r;
	}
	if ((r = nap_smb_configure(s->ctx, err, errlen)) < 0 ||
	    !smbc_setOptionProtocols(s->ctx, "SMB3", "SMB3")) {
		if (r == 0) {
			snprintf(err, errlen, "libsmbclient refused the protocol range SMB3");
			r = -EINVAL;
		}
		smbc_free_context(s->ctx, 1);
		pthread_mutex_unlock(&nap_smb_mu);
		nap_smb_wipe(s, sizeof(*s));
		free(s);
		return r;
	}
	pthread_mutex_unlock(&nap_smb_mu);
	*out = s;
	return 0;
}

void
nap_smb_close(struct nap_smb *s)
{
	if (s == NULL)
		return;
	pthread_mutex_lock(&nap_smb_mu);
	smbc_free_context(s->ctx, 1);
	pthread_mutex_unlock(&nap_smb_mu);
	nap_smb_wipe(s, sizeof(*s));
	free(s);
}

void
nap_smb_set_timeout(struct nap_smb *s, int timeout_ms)
{
	pthread_mutex_lock(&nap_smb_mu);
	smbc_setTimeout(s->ctx, timeout_ms > 0 ? timeout_ms : NAP_SMB_TIMEOUT_MS);
	pthread_mutex_unlock(&nap_smb_mu);
}

/* smb://[user@]HOST[:PORT]/SHARE[/PATH]: the "HOST[:PORT]" part for messages. */
static void
nap_smb_server_of(const char *url, char *out, size_t cap)
{
	const char *h = url, *e;

	if (strncmp(h, "smb://", 6) == 0)
		h += 6;
	if ((e = strchr(h, '@')) != NULL && e < h + strcspn(h, "/"))
		h = e + 1;
	e = h + strcspn(h, "/");
	snprintf(out, cap, "%.*s", (int)(e - h), h);
}

/* An operation failed with errno e: the message, the return value, and the cache is dropped. */
static int
nap_smb_fail(struct nap_smb *s, int e, const char *what, const char *url, char *err,
	     size_t errlen)
{
	char server[256];
	const char *why;

	if (e == 0)
		e = EIO;
	if ((e == EACCES || e == EPERM) &&
	    (strstr(nap_smb_lastlog, "login failed") != NULL ||
	     strstr(nap_smb_lastlog, "LOGON_FAILURE") != NULL))
		e = EPERM;
	nap_smb_server_of(url, server, sizeof(server));
	switch (e) {
	case EPERM:
		why = "logon failure (wrong user or password, or the account may not log on)";
		break;
	case EACCES:
		why = "access denied";
		break;
	case ECONNREFUSED:
		why = "connection refused (is the SMB server running on that port?)";
		break;
	case ETIMEDOUT:
		why = "timed out";
		break;
	case EHOSTUNREACH:
	case ENETUNREACH:
		why = "host unreachable";
		break;
	case ENOENT:
		why = "no such file, directory or share";
		break;
	case ENOSPC:
		why = "disk full on the server";
		break;
	case EDQUOT:
		why = "quota exceeded on the server";
		break;
	case EEXIST:
		why = "already exists";
		break;
	case ENOTDIR:
		why = "not a directory";
		break;
	case EINVAL:
		why = "invalid argument (malformed URL?)";
		break;
	case ENOTSUP:
	case ENOSYS:
		why = "not supported by the server (it must speak SMB3 with signing)";
		break;
	case ECONNRESET:
	case EPIPE:
	case ECONNABORTED:
		why = "connection lost";
		break;
	default:
		why = strerror(e);
		break;
	}
	if (nap_smb_lastlog[0] != '\0')
		snprintf(err, errlen, "SMB %s %s: %s (server %s; libsmbclient: %s)", what, url, why,
			 server, nap_smb_lastlog);
	else
		snprintf(err, errlen, "SMB %s %s: %s (server %s)", what, url, why, server);
	s->failed = true;
	return -e;
}

/* Before an operation: clear the last log line; after a failure, reconnect from scratch. */
static void
nap_smb_begin(struct nap_smb *s)
{
	pthread_mutex_lock(&nap_smb_mu);
	nap_smb_lastlog[0] = '\0';
	errno = 0;
	if (s->failed) {
		smbc_getFunctionPurgeCachedServers(s->ctx)(s->ctx);
		s->failed = false;
	}
}

static void
nap_smb_end(void)
{
	pthread_mutex_unlock(&nap_smb_mu);
}

/*
 * The URL of ".NAME.XXXXXXXX.tmp" next to url, XXXXXXXX random: two writers of one file (on one
 * host or two) never share a temporary file, so neither truncates, renames or removes the
 * other's.
 */
static int
nap_smb_tmp_url(const char *url, char *out, size_t cap)
{
	const char *slash = strrchr(url, '/');
	uint32_t tag;
	int n;

	if (slash == NULL || slash[1] == '\0' || strncmp(url, "smb://", 6) != 0 ||
	    slash < url + 6 || strchr(url + 6, '/') == slash)
		return -EINVAL; /* no file name below a share */
	if (getrandom(&tag, sizeof(tag), GRND_NONBLOCK) != (ssize_t)sizeof(tag))
		tag = (uint32_t)getpid() * 2654435761u ^ (uint32_t)time(NULL);
	n = snprintf(out, cap, "%.*s/.%s.%08" PRIx32 ".tmp", (int)(slash - url), url, slash + 1,
		     tag);
	return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}

/*
 * Rename tmp over url. A sharing violation (EBUSY: another client has url open, e.g. reading
 * it, or is replacing it at this moment) passes within milliseconds; it is tried again a few
 * times, 20 ms to 320 ms apart (620 ms in all), as Windows' own tools do.
 */
static int
nap_smb_rename_over(struct nap_smb *s, const char *tmp, const char *url)
{
	for (unsigned ms = 20;; ms *= 2) {
		struct timespec ts = {0, (long)ms * 1000000L};

		if (smbc_getFunctionRename(s->ctx)(s->ctx, tmp, s->ctx, url) == 0)
			return 0;
		if (errno != EBUSY || ms > 320)
			return -1;
		nanosleep(&ts, NULL);
	}
}

int
nap_smb_put(struct nap_smb *s, const char *url, const void *data, size_t len, char *err,
	    size_t errlen)
{
	char tmp[NAP_SMB_URL_MAX];
	const uint8_t *p = data;
	SMBCFILE *f;
	size_t done = 0;
	int r, e;

	if ((r = nap_smb_tmp_url(url, tmp, sizeof(tmp))) < 0) {
		snprintf(err, errlen, "SMB put %s: %s", url,
			 r == -EINVAL ? "the URL names no file below a share"
				      : "URL too long");
		return r;
	}
	nap_smb_begin(s);
	f = smbc_getFunctionOpen(s->ctx)(s->ctx, tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (f == NULL) {
		r = nap_smb_fail(s, errno, "create", tmp, err, errlen);
		nap_smb_end();
		return r;
	}
	while (done < len) {
		size_t chunk = len - done > 1024 * 1024 ? 1024 * 1024 : len - done;
		ssize_t w = smbc_getFunctionWrite(s->ctx)(s->ctx, f, p + done, chunk);

		if (w <= 0) {
			e = w < 0 ? errno : EIO;
			smbc_getFunctionClose(s->ctx)(s->ctx, f);
			r = nap_smb_fail(s, e, "write", tmp, err, errlen);
			smbc_getFunctionUnlink(s->ctx)(s->ctx, tmp);
			nap_smb_end();
			return r;
		}
		done += (size_t)w;
	}
	if (smbc_getFunctionClose(s->ctx)(s->ctx, f) < 0) {
		e = errno;
		r = nap_smb_fail(s, e, "close", tmp, err, errlen);
		smbc_getFunctionUnlink(s->ctx)(s->ctx, tmp);
		nap_smb_end();
		return r;
	}
	if (nap_smb_rename_over(s, tmp, url) < 0) {
		e = errno;
		r = nap_smb_fail(s, e, "rename to", url, err, errlen);
		smbc_getFunctionUnlink(s->ctx)(s->ctx, tmp);
		nap_smb_end();
		return r;
	}
	nap_smb_end();
	return 0;
}

int
nap_smb_get(struct nap_smb *s, const char *url, size_t max, uint8_t **data, size_t *len,
	    char *err, size_t errlen)
{
	struct stat st;
	SMBCFILE *f;
	uint8_t *buf = NULL;
	size_t cap, got = 0;
	int r;

	*data = NULL;
	*len = 0;
	if (max == 0)
		max = NAP_SMB_GET_MAX;
	nap_smb_begin(s);
	f = smbc_getFunctionOpen(s->ctx)(s->ctx, url, O_RDONLY, 0);
	if (f == NULL) {
		r = nap_smb_fail(s, errno, "open", url, err, errlen);
		nap_smb_end();
		return r;
	}
	if (smbc_getFunctionFstat(s->ctx)(s->ctx, f, &st) < 0) {
		r = nap_smb_fail(s, errno, "stat", url, err, errlen);
		goto out;
	}
	if (st.st_size < 0 || (uint64_t)st.st_size > max) {
		snprintf(err, errlen, "SMB get %s: %lld bytes, more than the %zu allowed", url,
			 (long long)st.st_size, max);
		r = -EFBIG;
		goto out;
	}
	/* The size may change under us: read until EOF, at most max bytes. */
	cap = (size_t)st.st_size + 1;
	if ((buf = malloc(cap + 1)) == NULL) {
		snprintf(err, errlen, "out of memory");
		r = -ENOMEM;
		goto out;
	}
	for (;;) {
		ssize_t n;

		if (got == cap) {
			uint8_t *nb;

			if (cap >= max + 1) {
				snprintf(err, errlen, "SMB get %s: grew past the %zu bytes allowed",
					 url, max);
				r = -EFBIG;
				goto out;
			}
			cap = cap * 2 > max + 1 ? max + 1 : cap * 2;
			if ((nb = realloc(buf, cap + 1)) == NULL) {
				snprintf(err, errlen, "out of memory");
				r = -ENOMEM;
				goto out;
			}
			buf = nb;
		}
		n = smbc_getFunctionRead(s->ctx)(s->ctx, f, buf + got, cap - got);
		if (n < 0) {
			r = nap_smb_fail(s, errno, "read", url, err, errlen);
			goto out;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	if (got > max) {
		snprintf(err, errlen, "SMB get %s: grew past the %zu bytes allowed", url, max);
		r = -EFBIG;
		goto out;
	}
	buf[got] = '\0';
	*data = buf;
	*len = got;
	buf = NULL;
	r = 0;
out:
	smbc_getFunctionClose(s->ctx)(s->ctx, f);
	nap_smb_end();
	free(buf);
	return r;
}

int
nap_smb_list(struct nap_smb *s, const char *dir_url, int (*cb)(const char *name, void *arg),
	     void *arg, char *err, size_t errlen)
{
	struct smbc_dirent *de;
	SMBCFILE *d;
	int r = 0;

	nap_smb_begin(s);
	d = smbc_getFunctionOpendir(s->ctx)(s->ctx, dir_url);
	if (d == NULL) {
		r = nap_smb_fail(s, errno, "list", dir_url, err, errlen);
		nap_smb_end();
		return r;
	}
	errno = 0;
	while ((de = smbc_getFunctionReaddir(s->ctx)(s->ctx, d)) != NULL) {
		if (de->smbc_type != SMBC_FILE)
			continue;
		if ((r = cb(de->name, arg)) != 0)
			break;
		errno = 0;
	}
	if (de == NULL && errno != 0 && errno != ENOENT)
		r = nap_smb_fail(s, errno, "list", dir_url, err, errlen);
	smbc_getFunctionClosedir(s->ctx)(s->ctx, d);
	nap_smb_end();
	return r;
}

int
nap_smb_unlink(struct nap_smb *s, const char *url, char *err, size_t errlen)
{
	int r = 0;

	nap_smb_begin(s);
	if (smbc_getFunctionUnlink(s->ctx)(s->ctx, url) < 0)
		r = nap_smb_fail(s, errno, "unlink", url, err, errlen);
	nap_smb_end();
	return r;
}

int
nap_smb_rename(struct nap_smb *s, const char *from_url, const char *to_url, char *err,
	       size_t errlen)
{
	int r = 0;

	nap_smb_begin(s);
	if (smbc_getFunctionRename(s->ctx)(s->ctx, from_url, s->ctx, to_url) < 0)
		r = nap_smb_fail(s, errno, "rename", from_url, err, errlen);
	nap_smb_end();
	return r;
}

int
nap_smb_mkdir_p(struct nap_smb *s, const char *dir_url, char *err, size_t errlen)
{
	char url[NAP_SMB_URL_MAX];
	size_t n = strlen(dir_url);
	char *p;
	int r = 0;

	if (strncmp(dir_url, "smb://", 6) != 0 || n >= sizeof(url)) {
		snprintf(err, errlen, "SMB mkdir %s: not an smb:// URL of a sane length", dir_url);
		return -EINVAL;
	}
	memcpy(url, dir_url, n + 1);
	while (n > 6 && url[n - 1] == '/')
		url[--n] = '\0';
	/* skip smb://HOST/SHARE: directories start below the share */
	p = strchr(url + 6, '/');
	if (p == NULL || (p = strchr(p + 1, '/')) == NULL)
		return 0; /* the share itself */
	nap_smb_begin(s);
	for (;;) {
		char *next = strchr(p + 1, '/');
		struct stat st;

		if (next != NULL)
			*next = '\0';
		if (smbc_getFunctionMkdir(s->ctx)(s->ctx, url, 0755) < 0) {
			int e = errno;

			if (e != EEXIST || smbc_getFunctionStat(s->ctx)(s->ctx, url, &st) < 0 ||
			    !S_ISDIR(st.st_mode)) {
				r = nap_smb_fail(s, e == EEXIST ? ENOTDIR : e, "mkdir", url, err,
						 errlen);
				break;
			}
		}
		if (next == NULL)
			break;
		*next = '/';
		p = next;
	}
	nap_smb_end();
	return r;
}
