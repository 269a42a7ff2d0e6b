// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * Admin-defined checks: a file exists (and has a SHA-256, OpenSSL EVP), a systemd unit is
 * active (systemctl is-active), a command exits with the expected status (argv without a shell,
 * the [checks] timeout, only with commands = allow). Paths are looked up under the root prefix;
 * the HSR parser already refused relative paths and "." / ".." components. Handles untrusted
 * input: file contents are only hashed, never parsed; command output is discarded.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "collect-int.h"
#include "nap/util.h"

static int
file_sha256(int fd, char hex[65])
{
	uint8_t buf[65536], md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int r = 0;
	ssize_t n;

	if (ctx == NULL || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
		EVP_MD_CTX_free(ctx);
		return -ENOMEM;
	}
	while ((n = read(fd, buf, sizeof(buf))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			break;
		}
		if (EVP_DigestUpdate(ctx, buf, (size_t)n) != 1) {
			r = -EIO;
			break;
		}
	}
	if (r == 0 && (EVP_DigestFinal_ex(ctx, md, &mdlen) != 1 || mdlen != 32))
		r = -EIO;
	EVP_MD_CTX_free(ctx);
	if (r == 0)
		nap_hex_encode(md, 32, hex);
	return r;
}

void
collect_file(const struct agent_collect_env *env, const struct nap_hsr_check *check,
	     struct agent_check_result *out)
{
	char p[PATH_MAX], hex[65];
	struct stat sb;
	int fd, r;

	if (check->path == NULL || !collect_path(env, check->path, p, sizeof(p))) {
		collect_set(out, NAP_CHECK_ERROR, "no usable path");
		return;
	}
	if (stat(p, &sb) < 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			collect_set(out, NAP_CHECK_FAIL, "%.200s does not exist", check->path);
		else
			collect_set(out, NAP_CHECK_ERROR, "%.200s: %s", check->path,
				    strerror(errno));
		return;
	}
	if (check->sha256 == NULL) {
		collect_set(out, NAP_CHECK_PASS, "%.200s exists", check->path);
		return;
	}
	/* O_NONBLOCK: a FIFO put there must not hang the agent; only regular files hash. */
	fd = open(p, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0) {
		collect_set(out, NAP_CHECK_ERROR, "%.200s: %s", check->path, strerror(errno));
		return;
	}
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		close(fd);
		collect_set(out, NAP_CHECK_FAIL, "%.200s is not a regular file", check->path);
		return;
	}
	r = file_sha256(fd, hex);
	close(fd);
	if (r < 0)
		collect_set(out, NAP_CHECK_ERROR, "%.200s: %s", check->path, strerror(-r));
	else if (strcmp(hex, check->sha256) == 0)
		collect_set(out, NAP_CHECK_PASS, "%.180s has the expected SHA-256", check->path);
	else
		collect_set(out, NAP_CHECK_FAIL, "%.150s: SHA-256 %.16s..., expected %.16s...",
			    check->path, hex, check->sha256);
}

void
collect_service(const struct agent_collect_env *env, const struct nap_hsr_check *check,
		struct agent_check_result *out)
{
	char state[128];
	int r;

	if (check->unit == NULL) {
		collect_set(out, NAP_CHECK_ERROR, "no unit");
		return;
	}
	r = collect_unit_active(env, check->unit, state, sizeof(state));
	if (r == 1)
		collect_set(out, NAP_CHECK_PASS, "%.100s %s", check->unit, state);
	else if (r == 0)
		collect_set(out, NAP_CHECK_FAIL, "%.100s %s", check->unit, state);
	else
		collect_set(out, NAP_CHECK_ERROR, "%.100s: %s", check->unit, state);
}

void
collect_command(const struct agent_collect_env *env, const struct nap_hsr_check *check,
		struct agent_check_result *out)
{
	const char *argv[NAP_HSR_MAX_ARGV + 1];
	struct collect_run r;

	if (!env->allow_commands) {
		collect_set(out, NAP_CHECK_ERROR, "command checks disabled ([checks] commands = deny)");
		return;
	}
	if (check->n_argv == 0 || check->n_argv > NAP_HSR_MAX_ARGV || check->argv[0][0] != '/') {
		collect_set(out, NAP_CHECK_ERROR, "no usable argv");
		return;
	}
	for (size_t i = 0; i < check->n_argv; i++)
		argv[i] = check->argv[i];
	argv[check->n_argv] = NULL;
	if (collect_run(argv, env->timeout_ms, 4096, &r) < 0) {
		collect_set(out, NAP_CHECK_ERROR, "cannot run %.150s", check->argv[0]);
		return;
	}
	if (r.exec_errno != 0)
		collect_set(out, NAP_CHECK_ERROR, "%.150s: %s", check->argv[0],
			    strerror(r.exec_errno));
	else if (r.timed_out)
		collect_set(out, NAP_CHECK_ERROR, "%.150s: timed out after %lld ms", check->argv[0],
			    (long long)env->timeout_ms);
	else if (r.status < 0)
		collect_set(out, NAP_CHECK_FAIL, "%.150s: killed by signal %d", check->argv[0],
			    r.signal);
	else if (r.status == check->expect_exit)
		collect_set(out, NAP_CHECK_PASS, "%.150s: exit %d", check->argv[0], r.status);
	else
		collect_set(out, NAP_CHECK_FAIL, "%.150s: exit %d, expected %d", check->argv[0],
			    r.status, check->expect_exit);
	collect_run_free(&r);
}
