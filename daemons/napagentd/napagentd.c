// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * napagentd: the nap health agent. This file holds main(): the modes (daemon, --once,
 * --enroll, --sohr, -n), and the daemon's single-threaded poll() loop: package database changes
 * (inotify), the evaluation and policy schedules, signals (SIGHUP reload, SIGUSR2 "a SoHR
 * arrived", SIGTERM), and what follows an evaluation: the state report, the DHCP fragment and
 * renew, remediation. The SoHR that --sohr hands over is untrusted (it came from the network
 * through a DHCP hook) and is parsed before the daemon is told.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "nap/log.h"
#include "nap/util.h"

#define AGENT_DEFAULT_CONF      "/etc/nap/napagentd.conf"
#define AGENT_POLICY_RETRY      60  /* seconds between policy fetch retries after a failure */
#define AGENT_SOHR_RENEW_HOLD   60  /* seconds: a SoHR can force a renew at most this often */
#define AGENT_RPM_DEFAULT_DB    "/var/lib/rpm"
#define AGENT_REMEDIATE_MAX_PKG 256

/*
 * Counters, written as Prometheus text to state_dir/metrics.prom after every evaluation (for
 * node_exporter's textfile collector: the agent listens on no port).
 */
struct agent_metrics {
	uint64_t evaluations;
	uint64_t failures[NAP_FAILURE_SERVER_COMMUNICATION + 1]; /* by failure category */
	uint64_t fetch_new, fetch_unchanged, fetch_error;
	uint64_t reports_ok, reports_error;
	uint64_t sohr_ok, sohr_bad;
	uint64_t remediations_ok, remediations_error;
	uint64_t renews_ok, renews_error;
	uint64_t hra_issued, hra_noncompliant, hra_failed, hra_removed;
	uint64_t hra_failures[AGENT_HRA_FAIL_MAX];
	int64_t hra_not_after;
	int64_t last_duration_us, last_eval_time;
	int state;
};

struct agent {
	struct agent_conf *conf;
	struct agent_metrics m;
	int sfd, ifd;
	int64_t next_eval, next_policy; /* monotonic ms; 0 = not scheduled */
	bool eval_now, policy_now;
	bool have_state;
	enum agent_state state;
	char fingerprint[4096];   /* of the last published evaluation */
	int64_t last_sohr_renew;  /* monotonic ms */
	bool quarantined;         /* restricted until an evaluation is compliant */
	bool quit;
	/* the HCEP client ([hra]) */
	bool hra_now;             /* request with the next evaluation */
	const char *hra_why;      /* and why (for the log) */
	bool hra_have_fp;
	char hra_fp[4096];        /* fingerprint of the evaluation last sent to the HRA */
	int64_t hra_next;         /* monotonic ms: renewal or retry; 0 = none */
	int64_t hra_last;         /* monotonic ms of the last request */
	int64_t hra_not_after;    /* Unix s: the installed certificate's notAfter; 0 = none */
	/* inotify targets */
	char watch_name[NAME_MAX + 1]; /* the status file's name in its directory */
	char policy_name[NAME_MAX + 1];
	int wd_pkg, wd_policy;
};

static void
usage(void)
{
	fprintf(stderr,
		"usage: napagentd [-dnv] [-f file]\n"
		"       napagentd [-v] [-f file] --once [--print-soh | --json]\n"
		"       napagentd [-v] [-f file] --enroll TOKEN\n"
		"       napagentd [-v] [-f file] --sohr HEX\n");
	exit(1);
}

static int
mkdir_state(const struct agent_conf *c)
{
	if (mkdir(c->state_dir, 0700) < 0 && errno != EEXIST)
		return log_warnx_r(-errno, "%s: %s", c->state_dir, strerror(errno));
	return 0;
}

/*
 * Work that needs libcurl (napsited, the HRA) runs in a child process: libcurl (with its TLS,
 * Kerberos and LDAP dependencies) is loaded there and leaves with it, so the long-running
 * agent stays small. fn runs in the child; its result, its error text and out_len bytes of out
 * come back through a pipe. What it fetched it has already written to disk atomically.
 */
typedef int (*agent_child_fn)(const struct agent_conf *c, const void *in, void *out,
			      char *err, size_t len);

static int
agent_in_child(const struct agent_conf *c, agent_child_fn fn, const void *in, void *out,
	       size_t out_len, char *err, size_t len)
{
	enum { ERR_LEN = 512 };
	int fds[2], st, r = -EIO;
	size_t got = 0, total = sizeof(int) + ERR_LEN + out_len;
	char *buf;
	pid_t pid;

	err[0] = '\0';
	if ((buf = calloc(1, total)) == NULL) {
		snprintf(err, len, "out of memory");
		return -ENOMEM;
	}
	if (pipe2(fds, O_CLOEXEC) < 0) {
		r = -errno;
		snprintf(err, len, "pipe: %s", strerror(errno));
		free(buf);
		return r;
	}
	pid = fork();
	if (pid < 0) {
		r = -errno;
		snprintf(err, len, "fork: %s", strerror(errno));
		close(fds[0]);
		close(fds[1]);
		free(buf);
		return r;
	}
	if (pid == 0) {
		char cerr[ERR_LEN] = "";
		int cr;
		size_t off = 0;

		close(fds[0]);
		/* out first: it is malloc-aligned there */
		cr = fn(c, in, out_len > 0 ? buf : NULL, cerr, sizeof(cerr));
		memcpy(buf + out_len, &cr, sizeof(cr));
		memcpy(buf + out_len + sizeof(cr), cerr, sizeof(cerr));
		while (off < total) {
			ssize_t n = write(fds[1], buf + off, total - off);

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				_exit(1);
			off += (size_t)n;
		}
		_exit(0);
	}
	close(fds[1]);
	while (got < total) {
		ssize_t n = read(fds[0], buf + got, total - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fds[0]);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (got == total) {
		memcpy(&r, buf + out_len, sizeof(r));
		buf[total - 1] = '\0';
		snprintf(err, len, "%s", buf + out_len + sizeof(int));
		if (out_len > 0)
			memcpy(out, buf, out_len);
	} else {
		snprintf(err, len, "the request's child process ended without an answer");
	}
	free(buf);
	return r;
}

static int
child_fetch(const struct agent_conf *c, const void *in, void *out, char *err, size_t len)
{
	(void)in;
	(void)out;
	return agent_site_fetch_policy(c, err, len);
}

static int
child_state(const struct agent_conf *c, const void *in, void *out, char *err, size_t len)
{
	(void)out;
	return agent_site_post_state(c, in, err, len);
}

enum agent_site_op { AGENT_OP_FETCH, AGENT_OP_STATE };

static int
agent_site_child(const struct agent_conf *c, enum agent_site_op op, const struct agent_eval *e,
		 char *err, size_t len)
{
	return agent_in_child(c, op == AGENT_OP_FETCH ? child_fetch : child_state, e, NULL, 0, err,
			      len);
}

/* The HCEP request's input (the SoH of an evaluation). */
struct agent_hra_in {
	const uint8_t *soh;
	size_t soh_len;
	uint8_t corr[NAP_CORRELATION_ID_LEN];
	char machine_name[256];
};

static int
child_hra(const struct agent_conf *c, const void *in, void *out, char *err, size_t len)
{
	const struct agent_hra_in *hi = in;
	struct agent_hra_result *res = out;
	int r = agent_hra_request(&c->hra, hi->machine_name, hi->soh, hi->soh_len, hi->corr, res);

	snprintf(err, len, "%s", res->message);
	return r;
}

/* Fetch the policy when there is a site to fetch from; logs what happened. */
static int
agent_fetch(const struct agent_conf *c)
{
	char err[512];
	int r;

	if (c->url == NULL)
		return 0;
	r = agent_site_child(c, AGENT_OP_FETCH, NULL, err, sizeof(err));
	if (r == 0)
		log_info("policy: new document cached");
	else if (r == 1)
		log_debug("policy: unchanged");
	else
		LOG_WARNX_RL("policy: %s (evaluating against the cached policy, if any)", err);
	return r;
}

/* ---- one-shot modes --------------------------------------------------------------------- */

/* --once with [hra]: one HCEP request, the certificate installed (or removed), one line. */
static int
agent_once_hra(const struct agent_conf *c, const struct agent_eval *e, const char *name)
{
	struct agent_hra_result *res = calloc(1, sizeof(*res));
	uint8_t *soh = NULL, corr[NAP_CORRELATION_ID_LEN];
	size_t soh_len = 0;
	char err[512], when[32];
	int r;

	if (res == NULL)
		fatalx("out of memory");
	if ((r = agent_soh_build(c, e, (int64_t)time(NULL), &soh, &soh_len, corr)) < 0)
		fatalx("cannot build the SoH: %s", strerror(-r));
	r = agent_hra_request(&c->hra, name, soh, soh_len, corr, res);
	free(soh);
	switch (res->outcome) {
	case AGENT_HRA_ISSUED:
		nap_format_time(res->not_after, when, sizeof(when));
		printf("health certificate: %s, serial %s, valid until %s%s\n", res->subject,
		       res->serial, when, res->policy_compliant ? ", compliant policy" : "");
		if (agent_hra_reload(&c->hra, err, sizeof(err)) < 0) {
			log_warnx("hra: reload: %s", err);
			r = 1;
		}
		break;
	case AGENT_HRA_NONCOMPLIANT:
		printf("health certificate: none (not compliant)\n");
		if (agent_hra_remove(&c->hra, err, sizeof(err)) > 0 &&
		    agent_hra_reload(&c->hra, err, sizeof(err)) < 0)
			log_warnx("hra: reload: %s", err);
		r = 0;
		break;
	default:
		log_warnx("hra: %s failure: %s", agent_hra_failure_name(res->failure),
			  res->message);
		printf("health certificate: request failed (%s)\n",
		       agent_hra_failure_name(res->failure));
		r = 1;
		break;
	}
	free(res);
	return r;
}

static int
agent_once(struct agent_conf *c, bool print_soh, bool json)
{
	struct agent_eval e;
	uint8_t *soh = NULL, corr[NAP_CORRELATION_ID_LEN];
	size_t soh_len = 0;
	char name[256];
	int r;

	(void)agent_fetch(c);
	agent_eval_once(c, &e);
	if (e.failure_category != NAP_FAILURE_NONE)
		log_warnx("evaluation: %s failure 0x%08X: %s",
			  nap_failure_category_name(e.failure_category), e.error_code, e.failure);
	if (agent_machine_name(c, name, sizeof(name)) < 0)
		snprintf(name, sizeof(name), "?");
	if (json) {
		char *text = agent_eval_json(&e, name);

		if (text == NULL)
			fatalx("out of memory");
		printf("%s\n", text);
		free(text);
	}
	if (print_soh) {
		char *hex;

		r = agent_soh_build(c, &e, (int64_t)time(NULL), &soh, &soh_len, corr);
		if (r < 0) {
			agent_eval_free(&e);
			fatalx("cannot build the SoH: %s", strerror(-r));
		}
		hex = malloc(2 * soh_len + 1);
		if (hex == NULL)
			fatalx("out of memory");
		nap_hex_encode(soh, soh_len, hex);
		printf("%s\n", hex);
		free(hex);
		free(soh);
	}
	if (!json && !print_soh)
		printf("%s: state %d (%s), %s, %zu missing, %zu checks, %.1f ms\n", name, e.state,
		       agent_state_name(e.state), e.compliant ? "compliant" : "not compliant",
		       e.n_findings, e.n_checks, (double)e.duration_us / 1000.0);
	if (!json && !print_soh && agent_hra_enabled(&c->hra))
		r = agent_once_hra(c, &e, name);
	else
		r = 0;
	agent_eval_free(&e);
	return r;
}

static int
agent_enroll(struct agent_conf *c, const char *token)
{
	char err[512];
	int r;

	if (c->url == NULL)
		fatalx("--enroll needs [site] url");
	if (agent_site_init() < 0)
		fatalx("libcurl initialisation failed");
	r = agent_site_enroll(c, token, err, sizeof(err));
	if (r < 0)
		fatalx("enrollment failed: %s", err);
	log_info("enrolled: certificate and key stored in %s", c->state_dir);
	/* The first policy right away, so the next evaluation has one. */
	if (agent_fetch(c) < 0)
		return 0;
	return 0;
}

/* --sohr: check what the hook handed over, store it, wake the daemon. */
static int
agent_sohr_cmd(struct agent_conf *c, const char *arg)
{
	uint8_t *sohr;
	size_t n = 0;
	struct agent_sohr_info info;
	char err[256], path[PATH_MAX], *hex;
	uint8_t *pid_text = NULL;
	size_t pid_len = 0;
	long pid;
	int r;

	sohr = malloc(NAP_SOH_MAX_LEN + 16);
	if (sohr == NULL)
		fatalx("out of memory");
	r = agent_dhcp_sohr_from_arg(arg, sohr, NAP_SOH_MAX_LEN + 16, &n, NULL, NULL, NULL, err,
				     sizeof(err));
	if (r == 1) {
		log_info("--sohr: no SoHR in the option (probe or marker only)");
		free(sohr);
		return 0;
	}
	if (r < 0) {
		LOG_WARNX_RL("--sohr: %s", err);
		free(sohr);
		return 1;
	}
	r = agent_sohr_parse(sohr, n, &info, err, sizeof(err));
	if (r < 0) {
		LOG_WARNX_RL("--sohr: %s", err);
		free(sohr);
		return 1;
	}
	hex = malloc(2 * n + 2);
	if (hex == NULL)
		fatalx("out of memory");
	nap_hex_encode(sohr, n, hex);
	strcat(hex, "\n");
	free(sohr);
	if (mkdir_state(c) < 0) {
		free(hex);
		return 1;
	}
	r = nap_write_file_atomic(agent_state_path(c, "last-sohr", path, sizeof(path)), hex,
				  strlen(hex), 0644);
	free(hex);
	if (r < 0) {
		log_warnx("--sohr: %s: %s", path, strerror(-r));
		return 1;
	}
	log_info("--sohr: result %u, instructions 0x%02x, isolation state %u", info.result,
		 info.instructions, info.has_qstate ? info.quarantine_state : 0);
	r = nap_read_file(c->pidfile, 32, &pid_text, &pid_len);
	if (r < 0) {
		log_warnx("--sohr: %s: %s: is napagentd running?", c->pidfile, strerror(-r));
		return 1;
	}
	pid_text[pid_len < 32 ? pid_len : 31] = '\0';
	pid = strtol((char *)pid_text, NULL, 10);
	free(pid_text);
	if (pid <= 1 || kill((pid_t)pid, SIGUSR2) < 0) {
		log_warnx("--sohr: cannot signal napagentd (pid %ld): %s", pid, strerror(errno));
		return 1;
	}
	return 0;
}

/* ---- the daemon ------------------------------------------------------------------------- */

/* What decides whether the DHCP client must renew: everything napvd judges, not the time. */
static void
agent_fingerprint(const struct agent_eval *e, char *out, size_t len)
{
	size_t o = 0;

	o += (size_t)snprintf(out + o, len - o, "%d %s %" PRIu64 " %02x%02x%02x%02x %u %08x",
			      e->state, e->site, e->revision, e->digest[0], e->digest[1],
			      e->digest[2], e->digest[3], e->failure_category, e->error_code);
	for (size_t i = 0; i < e->n_findings && o < len; i++)
		o += (size_t)snprintf(out + o, len - o, " %s%s", e->findings[i].deferred ? "~" : "",
				      e->findings[i].id);
	for (size_t i = 0; i < e->n_checks && o < len; i++)
		o += (size_t)snprintf(out + o, len - o, " %s=%u", e->checks[i].id,
				      e->checks[i].status);
}

static void
agent_publish(struct agent *a, const struct agent_eval *e, bool force_renew)
{
	struct agent_conf *c = a->conf;
	uint8_t *soh = NULL, corr[NAP_CORRELATION_ID_LEN];
	size_t soh_len = 0;
	char fp[sizeof(a->fingerprint)], err[512], path[PATH_MAX];
	bool changed;
	int r;

	r = agent_soh_build(c, e, (int64_t)time(NULL), &soh, &soh_len, corr);
	if (r < 0) {
		log_warnx("cannot build the SoH: %s", strerror(-r));
		return;
	}
	{
		char *hex = malloc(2 * soh_len + 2);

		if (hex != NULL) {
			nap_hex_encode(soh, soh_len, hex);
			strcat(hex, "\n");
			r = nap_write_file_atomic(agent_state_path(c, "soh", path, sizeof(path)),
						  hex, strlen(hex), 0644);
			if (r < 0)
				LOG_WARNX_RL("%s: %s", path, strerror(-r));
			free(hex);
		}
	}
	agent_fingerprint(e, fp, sizeof(fp));
	changed = !a->have_state || strcmp(fp, a->fingerprint) != 0;
	r = agent_dhcp_publish(&c->dhcp, soh, soh_len, corr, err, sizeof(err));
	free(soh);
	if (r < 0) {
		LOG_WARNX_RL("dhcp: %s", err);
		/* -EMSGSIZE: the fragment now holds the NAP probe (dhcp_hook.h): renew so the
		 * server stops seeing the previous SoH */
		if (r != -EMSGSIZE)
			return;
	}
	if (r == 2)
		goto done; /* no DHCP client configured */
	if (changed || force_renew) {
		r = agent_dhcp_renew(&c->dhcp, err, sizeof(err));
		if (r < 0) {
			a->m.renews_error++;
			LOG_WARNX_RL("dhcp: renew: %s", err);
		} else if (r == 0) {
			a->m.renews_ok++;
			log_info("dhcp: lease renewed (%s)", changed ? "state changed" : "SoHR");
		}
	}
done:
	snprintf(a->fingerprint, sizeof(a->fingerprint), "%s", fp);
}

/* Remove the installed health certificate and have charon forget it (fail closed). */
static void
agent_hra_drop(struct agent *a, const char *why)
{
	const struct agent_hra_conf *h = &a->conf->hra;
	char err[512];
	int r = agent_hra_remove(h, err, sizeof(err));

	a->hra_not_after = 0;
	a->m.hra_not_after = 0;
	if (r < 0) {
		LOG_WARNX_RL("hra: cannot remove the health certificate: %s", err);
		a->m.hra_failures[AGENT_HRA_FAIL_LOCAL]++;
		return;
	}
	if (r == 0)
		return; /* nothing was installed */
	a->m.hra_removed++;
	log_info("hra: health certificate removed (%s)", why);
	if (agent_hra_reload(h, err, sizeof(err)) < 0) {
		a->m.hra_failures[AGENT_HRA_FAIL_RELOAD]++;
		LOG_WARNX_RL("hra: reload after removal: %s", err);
	}
}

/* The SoHR of an HCEP answer: acted on like one from a DHCPACK. */
static void
agent_hra_sohr(struct agent *a, const struct agent_hra_result *res)
{
	struct agent_sohr_info info;
	struct agent_sohr_actions act;
	char err[256];

	if (!res->has_sohr)
		return;
	if (agent_sohr_parse(res->sohr, res->sohr_len, &info, err, sizeof(err)) < 0) {
		a->m.sohr_bad++;
		LOG_WARNX_RL("hra: HCEP-SoHR: %s", err);
		return;
	}
	a->m.sohr_ok++;
	log_info("hra: SoHR result %u branch %u instructions 0x%02x isolation %u", info.result,
		 info.branch, info.instructions, info.has_qstate ? info.quarantine_state : 0);
	agent_sohr_actions(&info, &act);
	if (act.refresh_policy)
		a->policy_now = true;
	if (act.reevaluate)
		a->eval_now = true;
	if (act.restricted)
		a->quarantined = true;
}

/*
 * The HCEP client's part of a cycle: ask the HRA for a health certificate when there is none
 * yet, when the evaluation changed (at once), when the renewal or retry time came, or when a
 * quarantine ended (force; at most every AGENT_SOHR_RENEW_HOLD seconds).
 */
static void
agent_hra(struct agent *a, const struct agent_eval *e, bool force)
{
	struct agent_conf *c = a->conf;
	struct agent_hra_in hi;
	struct agent_hra_result *res;
	uint8_t *soh = NULL;
	char fp[sizeof(a->hra_fp)], err[512], when[32];
	const char *why;
	int64_t now = nap_mono_ms(), wall = (int64_t)time(NULL);
	int r;

	if (!agent_hra_enabled(&c->hra))
		return;
	agent_fingerprint(e, fp, sizeof(fp));
	if (!a->hra_have_fp)
		why = "first request";
	else if (strcmp(fp, a->hra_fp) != 0)
		why = "state changed";
	else if (a->hra_now)
		why = a->hra_why != NULL ? a->hra_why : "asked";
	else if (a->hra_next != 0 && now >= a->hra_next)
		why = a->hra_why != NULL ? a->hra_why : "scheduled";
	else if (force && now - a->hra_last > AGENT_SOHR_RENEW_HOLD * 1000)
		why = "quarantine ended";
	else
		return;
	a->hra_now = false;
	a->hra_why = NULL;
	a->hra_have_fp = true;
	a->hra_last = now;
	snprintf(a->hra_fp, sizeof(a->hra_fp), "%s", fp);
	memset(&hi, 0, sizeof(hi));
	if (agent_machine_name(c, hi.machine_name, sizeof(hi.machine_name)) < 0 ||
	    (r = agent_soh_build(c, e, wall, &soh, &hi.soh_len, hi.corr)) < 0) {
		a->m.hra_failed++;
		a->m.hra_failures[AGENT_HRA_FAIL_LOCAL]++;
		LOG_WARNX_RL("hra: cannot build the SoH or find the machine name");
		a->hra_next = now + c->hra.retry * 1000;
		return;
	}
	hi.soh = soh;
	if ((res = calloc(1, sizeof(*res))) == NULL) {
		free(soh);
		return;
	}
	res->outcome = AGENT_HRA_FAILED; /* unless the child says otherwise */
	res->failure = AGENT_HRA_FAIL_LOCAL;
	log_debug("hra: requesting a health certificate (%s)", why);
	r = agent_in_child(c, child_hra, &hi, res, sizeof(*res), err, sizeof(err));
	free(soh);
	if (res->failure >= AGENT_HRA_FAIL_MAX)
		res->failure = AGENT_HRA_FAIL_LOCAL;
	/* the urls that failed before one answered (the last failure is counted below) */
	for (int i = 1; i < AGENT_HRA_FAIL_MAX; i++)
		a->m.hra_failures[i] += res->url_failures[i] -
					(res->outcome == AGENT_HRA_FAILED &&
					 res->failure == (enum agent_hra_failure)i && res->url_failures[i] > 0);
	switch (res->outcome) {
	case AGENT_HRA_ISSUED:
		a->m.hra_issued++;
		nap_format_time(res->not_after, when, sizeof(when));
		log_info("hra: health certificate installed (%s): %s, serial %s, valid until %s%s",
			 why, res->subject, res->serial, when,
			 res->policy_compliant ? ""
					       : "; it lacks the compliant policy "
						 NAP_HCEP_OID_POLICY_COMPLIANT);
		a->hra_not_after = res->not_after;
		a->m.hra_not_after = res->not_after;
		a->hra_next = now + (agent_hra_renew_at(&c->hra, res->issued_at, res->not_after) -
				     res->issued_at) * 1000;
		a->hra_why = "renewal";
		if (agent_hra_reload(&c->hra, err, sizeof(err)) < 0) {
			a->m.hra_failures[AGENT_HRA_FAIL_RELOAD]++;
			LOG_WARNX_RL("hra: reload: %s", err);
			if (a->hra_next > now + c->hra.retry * 1000) {
				a->hra_next = now + c->hra.retry * 1000;
				a->hra_why = "retry";
			}
		}
		break;
	case AGENT_HRA_NONCOMPLIANT:
		a->m.hra_noncompliant++;
		log_info("hra: not compliant (%s): %s", why, err);
		agent_hra_drop(a, "not compliant");
		a->quarantined = true;
		/* again at once on a state change; unchanged, on the evaluation schedule */
		a->hra_next = now + c->evaluate_interval * 1000;
		a->hra_why = "scheduled re-check";
		break;
	default:
		(void)r;
		a->m.hra_failed++;
		a->m.hra_failures[res->failure]++;
		LOG_WARNX_RL("hra: %s failure: %s", agent_hra_failure_name(res->failure),
			     err[0] != '\0' ? err : "no answer");
		a->hra_next = now + c->hra.retry * 1000;
		a->hra_why = "retry";
		/* a certificate still valid stays; an expired one goes when it expires */
		if (a->hra_not_after != 0 && wall >= a->hra_not_after)
			agent_hra_drop(a, "expired, no renewal");
		else if (a->hra_not_after != 0 &&
			 now + (a->hra_not_after - wall + 1) * 1000 < a->hra_next)
			a->hra_next = now + (a->hra_not_after - wall + 1) * 1000;
		break;
	}
	agent_hra_sohr(a, res);
	free(res);
}

static void
agent_report(struct agent *a, const struct agent_eval *e)
{
	char err[512];
	int r;

	if (a->conf->url == NULL || !a->conf->report_state)
		return;
	r = agent_site_child(a->conf, AGENT_OP_STATE, e, err, sizeof(err));
	if (r < 0) {
		a->m.reports_error++;
		LOG_WARNX_RL("state report: %s", err);
	} else {
		a->m.reports_ok++;
	}
}

static void
agent_write_metrics(struct agent *a)
{
	static const char *const cat[] = {"none", "other", "client_component",
					  "client_communication", "server_component",
					  "server_communication"};
	const struct agent_metrics *m = &a->m;
	char path[PATH_MAX], buf[4096];
	size_t o = 0;
	int r;

#define M_ADD(...) (o += (size_t)snprintf(buf + o, o < sizeof(buf) ? sizeof(buf) - o : 0, \
					  __VA_ARGS__))
	M_ADD("# TYPE napagentd_evaluations_total counter\n"
	      "napagentd_evaluations_total %" PRIu64 "\n", m->evaluations);
	M_ADD("# TYPE napagentd_evaluation_failures_total counter\n");
	for (size_t i = 1; i < NAP_ARRAY_SIZE(cat); i++)
		M_ADD("napagentd_evaluation_failures_total{category=\"%s\"} %" PRIu64 "\n", cat[i],
		      m->failures[i]);
	M_ADD("# TYPE napagentd_state gauge\nnapagentd_state %d\n", m->state);
	M_ADD("# TYPE napagentd_last_evaluation_seconds gauge\n"
	      "napagentd_last_evaluation_seconds %" PRId64 "\n", m->last_eval_time);
	M_ADD("# TYPE napagentd_evaluation_duration_seconds gauge\n"
	      "napagentd_evaluation_duration_seconds %.6f\n", (double)m->last_duration_us / 1e6);
	M_ADD("# TYPE napagentd_policy_fetches_total counter\n"
	      "napagentd_policy_fetches_total{result=\"new\"} %" PRIu64 "\n"
	      "napagentd_policy_fetches_total{result=\"unchanged\"} %" PRIu64 "\n"
	      "napagentd_policy_fetches_total{result=\"error\"} %" PRIu64 "\n",
	      m->fetch_new, m->fetch_unchanged, m->fetch_error);
	M_ADD("# TYPE napagentd_state_reports_total counter\n"
	      "napagentd_state_reports_total{result=\"ok\"} %" PRIu64 "\n"
	      "napagentd_state_reports_total{result=\"error\"} %" PRIu64 "\n",
	      m->reports_ok, m->reports_error);
	M_ADD("# TYPE napagentd_sohrs_total counter\n"
	      "napagentd_sohrs_total{result=\"ok\"} %" PRIu64 "\n"
	      "napagentd_sohrs_total{result=\"malformed\"} %" PRIu64 "\n",
	      m->sohr_ok, m->sohr_bad);
	M_ADD("# TYPE napagentd_remediations_total counter\n"
	      "napagentd_remediations_total{result=\"ok\"} %" PRIu64 "\n"
	      "napagentd_remediations_total{result=\"error\"} %" PRIu64 "\n",
	      m->remediations_ok, m->remediations_error);
	M_ADD("# TYPE napagentd_dhcp_renews_total counter\n"
	      "napagentd_dhcp_renews_total{result=\"ok\"} %" PRIu64 "\n"
	      "napagentd_dhcp_renews_total{result=\"error\"} %" PRIu64 "\n",
	      m->renews_ok, m->renews_error);
	if (agent_hra_enabled(&a->conf->hra)) {
		M_ADD("# TYPE napagentd_hra_requests_total counter\n"
		      "napagentd_hra_requests_total{result=\"issued\"} %" PRIu64 "\n"
		      "napagentd_hra_requests_total{result=\"noncompliant\"} %" PRIu64 "\n"
		      "napagentd_hra_requests_total{result=\"error\"} %" PRIu64 "\n",
		      m->hra_issued, m->hra_noncompliant, m->hra_failed);
		M_ADD("# TYPE napagentd_hra_failures_total counter\n");
		for (int i = 1; i < AGENT_HRA_FAIL_MAX; i++)
			M_ADD("napagentd_hra_failures_total{category=\"%s\"} %" PRIu64 "\n",
			      agent_hra_failure_name((enum agent_hra_failure)i), m->hra_failures[i]);
		M_ADD("# TYPE napagentd_hra_removals_total counter\n"
		      "napagentd_hra_removals_total %" PRIu64 "\n", m->hra_removed);
		M_ADD("# TYPE napagentd_hra_certificate_not_after_seconds gauge\n"
		      "napagentd_hra_certificate_not_after_seconds %" PRId64 "\n",
		      m->hra_not_after);
	}
#undef M_ADD
	if (o >= sizeof(buf))
		return;
	r = nap_write_file_atomic(agent_state_path(a->conf, "metrics.prom", path, sizeof(path)),
				  buf, o, 0644);
	if (r < 0)
		LOG_WARNX_RL("%s: %s", path, strerror(-r));
}

static void
agent_write_eval(struct agent *a, const struct agent_eval *e)
{
	char name[256], path[PATH_MAX], *text;
	int r;

	if (agent_machine_name(a->conf, name, sizeof(name)) < 0)
		snprintf(name, sizeof(name), "?");
	text = agent_eval_json(e, name);
	if (text == NULL)
		return;
	r = nap_write_file_atomic(agent_state_path(a->conf, "evaluation.json", path, sizeof(path)),
				  text, strlen(text), 0644);
	if (r < 0)
		LOG_WARNX_RL("%s: %s", path, strerror(-r));
	free(text);
}

static void
agent_log_eval(const struct agent_eval *e)
{
	if (e->failure_category != NAP_FAILURE_NONE)
		LOG_WARNX_RL("evaluation: %s failure (error 0x%08X): %s",
			     nap_failure_category_name(e->failure_category), e->error_code,
			     e->failure);
	log_info("evaluation: state %s, %s, revision %" PRIu64 ", %zu installed, %zu findings, "
		 "%zu checks, %.1f ms",
		 agent_state_name(e->state), e->compliant ? "compliant" : "not compliant",
		 e->revision, e->n_installed, e->n_findings, e->n_checks,
		 (double)e->duration_us / 1000.0);
}

/* Remediate what a restricted evaluation found missing; true when something was installed.
 * *failed (with the log line in msg) when the package manager failed. */
static bool
agent_remediate_missing(struct agent *a, const struct agent_eval *e, bool *failed, char *msg,
			size_t msg_len)
{
	const char *pkgs[AGENT_REMEDIATE_MAX_PKG];
	struct agent_remediation_result *res;
	size_t n = 0;
	int r;

	if (!a->conf->remediation.enabled || e->state != AGENT_STATE_RESTRICTED)
		return false;
	for (size_t i = 0; i < e->n_findings && n < AGENT_REMEDIATE_MAX_PKG; i++) {
		const struct agent_finding *f = &e->findings[i];
		bool dup = false;

		if (f->deferred || f->package == NULL || f->status == AGENT_POLICY_ERROR)
			continue;
		for (size_t j = 0; j < n; j++)
			dup |= strcmp(pkgs[j], f->package) == 0;
		if (!dup)
			pkgs[n++] = f->package;
	}
	if (n == 0)
		return false;
	res = malloc(sizeof(*res));
	if (res == NULL)
		return false;
	log_info("remediation: installing %zu package%s", n, n == 1 ? "" : "s");
	r = agent_remediate(&a->conf->remediation, pkgs, n, res);
	log_msg(r == 0 ? LOG_INFO : LOG_WARNING, "remediation: %s", res->message);
	if (r == 0)
		a->m.remediations_ok++;
	else if (r < 0)
		a->m.remediations_error++;
	*failed = r < 0;
	snprintf(msg, msg_len, "remediation: %.480s", res->message);
	free(res);
	return r != 1; /* after a failure too: a partial install may count */
}

static void
agent_cycle(struct agent *a, bool force_renew)
{
	struct agent_eval e;
	int64_t now = nap_mono_ms();
	bool rem_failed = false;
	char rem_msg[512];

	agent_eval_once(a->conf, &e);
	agent_log_eval(&e);
	if (agent_remediate_missing(a, &e, &rem_failed, rem_msg, sizeof(rem_msg))) {
		agent_eval_free(&e);
		agent_eval_once(a->conf, &e);
		/* a package manager failure is reported in the SoH (client component) */
		if (rem_failed && !e.compliant && e.failure_category == NAP_FAILURE_NONE) {
			e.failure_category = NAP_FAILURE_CLIENT_COMPONENT;
			e.error_code = AGENT_ERR_REMEDIATION;
			snprintf(e.failure, sizeof(e.failure), "%s", rem_msg);
		}
		agent_log_eval(&e);
	}
	if (!a->have_state || e.state != a->state)
		log_info("state: %s -> %s", a->have_state ? agent_state_name(a->state) : "none",
			 agent_state_name(e.state));
	if (a->quarantined && e.compliant) {
		log_info("quarantine: compliant again, renewing");
		force_renew = true;
	}
	a->quarantined = !e.compliant;
	/* The SoH first, then the evaluation that explains it, then the (slower) state report. */
	agent_publish(a, &e, force_renew);
	agent_hra(a, &e, force_renew);
	agent_write_eval(a, &e);
	agent_report(a, &e);
	a->m.evaluations++;
	if (e.failure_category < NAP_ARRAY_SIZE(a->m.failures) &&
	    e.failure_category != NAP_FAILURE_NONE)
		a->m.failures[e.failure_category]++;
	a->m.state = (int)e.state;
	a->m.last_eval_time = e.eval_time;
	a->m.last_duration_us = e.duration_us;
	agent_write_metrics(a);
	a->state = e.state;
	a->have_state = true;
	agent_eval_free(&e);
	a->next_eval = now + a->conf->evaluate_interval * 1000;
}

/* SIGUSR2: a DHCP hook stored a SoHR in state_dir/last-sohr (napagentd --sohr). */
static void
agent_sohr_arrived(struct agent *a, bool *force_renew)
{
	char path[PATH_MAX], err[256];
	uint8_t *text = NULL, *bin;
	size_t n = 0, bad = 0;
	long bl;
	struct agent_sohr_info info;
	struct agent_sohr_actions act;
	int r;

	r = nap_read_file(agent_state_path(a->conf, "last-sohr", path, sizeof(path)),
			  2 * NAP_SOH_MAX_LEN + 64, &text, &n);
	if (r < 0) {
		LOG_WARNX_RL("SIGUSR2: %s: %s", path, strerror(-r));
		return;
	}
	bin = malloc(NAP_SOH_MAX_LEN + 16);
	if (bin == NULL) {
		free(text);
		return;
	}
	bl = nap_hex_decode((const char *)text, n, bin, NAP_SOH_MAX_LEN + 16, &bad);
	free(text);
	if (bl < 0) {
		a->m.sohr_bad++;
		LOG_WARNX_RL("SIGUSR2: %s: not hex", path);
		free(bin);
		return;
	}
	r = agent_sohr_parse(bin, (size_t)bl, &info, err, sizeof(err));
	free(bin);
	if (r < 0) {
		a->m.sohr_bad++;
		LOG_WARNX_RL("SIGUSR2: %s", err);
		return;
	}
	a->m.sohr_ok++;
	log_info("SoHR: result %u branch %u instructions 0x%02x isolation %u", info.result,
		 info.branch, info.instructions, info.has_qstate ? info.quarantine_state : 0);
	agent_sohr_actions(&info, &act);
	if (act.refresh_policy)
		a->policy_now = true;
	if (act.reevaluate)
		a->eval_now = true;
	if (act.restricted) {
		/* napvd restricted us: evaluate; renew if we are compliant (it saw an old SoH). */
		a->quarantined = true;
		if (nap_mono_ms() - a->last_sohr_renew > AGENT_SOHR_RENEW_HOLD * 1000) {
			*force_renew = true;
			a->last_sohr_renew = nap_mono_ms();
		}
	}
}

static void
agent_watch(struct agent *a)
{
	struct agent_conf *c = a->conf;
	char dir[PATH_MAX], base[PATH_MAX];

	if (a->ifd >= 0)
		close(a->ifd);
	a->wd_pkg = a->wd_policy = -1;
	a->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (a->ifd < 0) {
		log_warn("inotify: package changes are seen on schedule only");
		return;
	}
	if (c->backend == AGENT_BACKEND_DPKG) {
		snprintf(dir, sizeof(dir), "%s", c->dpkg_status);
		snprintf(base, sizeof(base), "%s", c->dpkg_status);
		snprintf(a->watch_name, sizeof(a->watch_name), "%s", basename(base));
		a->wd_pkg = inotify_add_watch(a->ifd, dirname(dir),
					      IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE);
	} else {
		a->watch_name[0] = '\0'; /* any file of the rpm database */
		a->wd_pkg = inotify_add_watch(a->ifd,
					      c->rpm_dbpath != NULL ? c->rpm_dbpath
								    : AGENT_RPM_DEFAULT_DB,
					      IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE);
	}
	if (a->wd_pkg < 0)
		log_warn("inotify: cannot watch the package database");
	if (c->policy_file != NULL) {
		snprintf(dir, sizeof(dir), "%s", c->policy_file);
		snprintf(base, sizeof(base), "%s", c->policy_file);
		snprintf(a->policy_name, sizeof(a->policy_name), "%s", basename(base));
		a->wd_policy = inotify_add_watch(a->ifd, dirname(dir), IN_CLOSE_WRITE | IN_MOVED_TO);
	}
}

static void
agent_inotify(struct agent *a)
{
	char buf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
	ssize_t n;

	while ((n = read(a->ifd, buf, sizeof(buf))) > 0) {
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *ev = (const struct inotify_event *)p;
			const char *name = ev->len > 0 ? ev->name : "";

			if (ev->wd == a->wd_pkg &&
			    (a->watch_name[0] == '\0' || strcmp(name, a->watch_name) == 0)) {
				log_debug("package database changed (%s)", name);
				a->next_eval = nap_mono_ms() + a->conf->settle * 1000;
			} else if (ev->wd == a->wd_policy && strcmp(name, a->policy_name) == 0) {
				log_debug("policy file changed");
				a->next_eval = nap_mono_ms() + a->conf->settle * 1000;
			}
			p += sizeof(*ev) + ev->len;
		}
	}
}

static void
agent_reload(struct agent *a)
{
	struct agent_conf *next = NULL;
	char err[1024];

	if (agent_conf_parse_file(a->conf->path, &next, err, sizeof(err)) < 0) {
		log_warnx("reload: %s; keeping the running configuration", err);
		return;
	}
	agent_conf_free(a->conf);
	a->conf = next;
	agent_watch(a);
	a->policy_now = true;
	a->eval_now = true;
	a->hra_now = true;
	a->hra_why = "configuration reloaded";
	log_info("reload: configuration %s loaded", a->conf->path);
}

static void
agent_signal(struct agent *a, bool *force_renew)
{
	struct signalfd_siginfo si;

	while (read(a->sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGHUP:
			log_info("SIGHUP: reloading");
			agent_reload(a);
			break;
		case SIGUSR2:
			agent_sohr_arrived(a, force_renew);
			break;
		case SIGTERM:
		case SIGINT:
			log_info("signal %u: exiting", si.ssi_signo);
			a->quit = true;
			break;
		default:
			break;
		}
	}
}

static int
agent_daemon(struct agent_conf *c, bool foreground)
{
	struct agent a;
	sigset_t mask;
	int r;

	memset(&a, 0, sizeof(a));
	a.conf = c;
	a.ifd = -1;
	if (mkdir_state(c) < 0)
		return 1;
	if (!foreground && daemon(0, 0) < 0)
		fatal("daemon");
	if ((r = nap_write_pidfile(c->pidfile)) < 0)
		log_warnx("pidfile %s: %s", c->pidfile, strerror(-r));
	sigemptyset(&mask);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGUSR2);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	a.sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (a.sfd < 0)
		fatal("signalfd");
	agent_watch(&a);
	a.policy_now = true;
	a.eval_now = true;
	if (agent_hra_enabled(&c->hra) &&
	    agent_hra_installed(&c->hra, &a.hra_not_after, NULL, 0) == 0)
		a.m.hra_not_after = a.hra_not_after;
	log_info("napagentd %s started", NAPAGENTD_VERSION);

	while (!a.quit) {
		struct pollfd pfd[2] = {{.fd = a.sfd, .events = POLLIN},
					{.fd = a.ifd, .events = POLLIN}};
		bool force_renew = false;
		int64_t now = nap_mono_ms(), next, timeout;

		if (a.policy_now || (a.next_policy != 0 && now >= a.next_policy)) {
			bool changed;

			a.policy_now = false;
			r = agent_fetch(a.conf);
			changed = r == 0 && a.conf->url != NULL;
			if (a.conf->url != NULL) {
				if (r < 0)
					a.m.fetch_error++;
				else if (r == 0)
					a.m.fetch_new++;
				else
					a.m.fetch_unchanged++;
			}
			a.next_policy = now + (r < 0 ? AGENT_POLICY_RETRY
						     : a.conf->policy_interval) * 1000;
			if (changed)
				a.eval_now = true;
		}
		if (a.hra_next != 0 && now >= a.hra_next) {
			a.hra_next = 0;
			a.hra_now = true; /* with a fresh evaluation: the SoH must be current */
			a.eval_now = true;
		}
		if (a.eval_now || (a.next_eval != 0 && now >= a.next_eval)) {
			a.eval_now = false;
			agent_cycle(&a, false);
		}
		now = nap_mono_ms();
		next = a.next_eval;
		if (a.conf->url != NULL && a.next_policy != 0 && a.next_policy < next)
			next = a.next_policy;
		if (a.hra_next != 0 && a.hra_next < next)
			next = a.hra_next;
		timeout = next > now ? next - now : 0;
		if (timeout > 3600 * 1000)
			timeout = 3600 * 1000;
		r = poll(pfd, a.ifd >= 0 ? 2 : 1, (int)timeout);
		if (r < 0 && errno != EINTR)
			fatal("poll");
		if (r <= 0)
			continue;
		if (pfd[0].revents & POLLIN)
			agent_signal(&a, &force_renew);
		if (a.ifd >= 0 && (pfd[1].revents & POLLIN))
			agent_inotify(&a);
		if (force_renew && !a.policy_now) {
			/* Evaluate at once so the renew carries a fresh SoH. */
			a.eval_now = false;
			agent_cycle(&a, true);
		}
	}
	unlink(a.conf->pidfile);
	if (a.ifd >= 0)
		close(a.ifd);
	close(a.sfd);
	agent_conf_free(a.conf);
	return 0;
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{"once", no_argument, NULL, 'O'},     {"print-soh", no_argument, NULL, 'P'},
		{"json", no_argument, NULL, 'J'},     {"enroll", required_argument, NULL, 'E'},
		{"sohr", required_argument, NULL, 'S'}, {NULL, 0, NULL, 0},
	};
	const char *path = AGENT_DEFAULT_CONF, *token = NULL, *sohr = NULL;
	bool foreground = false, check = false, once = false, print_soh = false, json = false;
	int verbose = 0, ch, r;
	struct agent_conf *c;
	char err[1024];

	while ((ch = getopt_long(argc, argv, "df:nv", longopts, NULL)) != -1) {
		switch (ch) {
		case 'd':
			foreground = true;
			break;
		case 'f':
			path = optarg;
			break;
		case 'n':
			check = true;
			break;
		case 'v':
			verbose++;
			break;
		case 'O':
			once = true;
			break;
		case 'P':
			print_soh = true;
			break;
		case 'J':
			json = true;
			break;
		case 'E':
			token = optarg;
			break;
		case 'S':
			sohr = optarg;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	if ((print_soh || json) && !once)
		usage();
	if ((once ? 1 : 0) + (token != NULL) + (sohr != NULL) + check > 1)
		usage();
	/* The one-shot modes log to stderr; stdout is for what they print. */
	log_init("napagentd", foreground || check || once || token != NULL || sohr != NULL,
		 verbose);
	r = agent_conf_parse_file(path, &c, err, sizeof(err));
	if (r < 0)
		fatalx("%s", err);
	if (check) {
		agent_conf_print(c, stdout);
		agent_conf_warn(c, stderr);
		fprintf(stderr, "configuration OK\n");
		agent_conf_free(c);
		return 0;
	}
	if (once) {
		r = agent_once(c, print_soh, json);
		agent_conf_free(c);
		return r;
	}
	if (token != NULL) {
		r = agent_enroll(c, token);
		agent_conf_free(c);
		return r;
	}
	if (sohr != NULL) {
		r = agent_sohr_cmd(c, sohr);
		agent_conf_free(c);
		return r;
	}
	return agent_daemon(c, foreground);
}
