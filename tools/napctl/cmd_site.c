// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * napctl site commands, shared part: which configuration and store a command works on, what it
 * prints after a change, and telling a running napsited (its pidfile names it) to publish the
 * new revision at once with SIGUSR1. Handles command-line input and the pidfile's contents.
 */
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nap/policy_import.h"
#include "nap/siteconf.h"
#include "nap/store.h"
#include "nap/util.h"

#include "napctl.h"

static const char *site_config_path; /* -c/--config, NULL: the default file */
static const char *site_store_uri;   /* --store */

bool
ctl_site_option(int c, const char *arg)
{
	if (c == CTL_OPT_CONFIG)
		site_config_path = arg;
	else if (c == CTL_OPT_STORE)
		site_store_uri = arg;
	else
		return false;
	return true;
}

int
ctl_common_option(const struct ctl_cmd *cmd, int c)
{
	if (ctl_site_option(c, optarg))
		return -1;
	if (c == 'h') {
		ctl_help(cmd);
		return 0;
	}
	return ctl_usage_error(cmd, "bad option");
}

int
ctl_simple_options(const struct ctl_cmd *cmd, int argc, char *argv[], bool *json, int nargs,
		   const char **args, int *rest)
{
	static const struct option opts[] = {
		{"json", no_argument, NULL, CTL_OPT_JSON},
		CTL_SITE_OPTIONS,
		CTL_HELP_OPTION,
		{NULL, 0, NULL, 0},
	};
	int c, r;

	while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		if (c == CTL_OPT_JSON && json != NULL)
			*json = true;
		else if ((r = ctl_common_option(cmd, c)) >= 0)
			return r;
	}
	for (int i = 0; i < nargs; i++) {
		if (optind >= argc)
			return ctl_usage_error(cmd, "missing argument");
		args[i] = argv[optind++];
	}
	if (rest != NULL)
		*rest = optind;
	else if (optind != argc)
		return ctl_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
	return -1;
}

int
ctl_store_error(const char *what, int r, const char *msg)
{
	if (msg != NULL && msg[0] != '\0')
		return ctl_error("%s: %s", what, msg);
	return ctl_error("%s: %s", what, strerror(-r));
}

int
ctl_site_load(struct ctl_site *s, const char *what, bool required)
{
	const char *path = site_config_path;
	char msg[512];
	int r;

	memset(s, 0, sizeof(*s));
	/* --store alone needs no configuration (labs, tests); -c always reads one. */
	if (path == NULL && site_store_uri == NULL) {
		path = NAP_SITECONF_DEFAULT;
		if (access(path, F_OK) < 0) {
			if (!required)
				return 0;
			return ctl_error("%s: no configuration (%s: %s): give -c FILE or --store "
					 "URI",
					 what, path, strerror(errno));
		}
	}
	if (path != NULL) {
		msg[0] = '\0';
		if ((r = nap_siteconf_parse_file(path, &s->conf, msg, sizeof(msg))) < 0) {
			s->conf = NULL;
			return ctl_error("%s: %s", what, msg[0] != '\0' ? msg : strerror(-r));
		}
	}
	s->store_uri = site_store_uri != NULL ? site_store_uri : s->conf->store_uri;
	return 0;
}

/*
 * Run as root on a SQLite store owned by someone else (napsited's user), napctl becomes that
 * user before opening it: SQLite creates the -wal and -shm files with the opener's owner, and
 * files owned by root would lock napsited out of its own store. When the file does not exist
 * yet, the owner of its directory counts.
 */
static int
ctl_store_become_owner(const char *uri, const char *what)
{
	char path[4096], dir[4096];
	struct stat st;
	const char *p = uri;

	if (geteuid() != 0)
		return 0;
	if (strncmp(uri, "postgresql://", 13) == 0 || strncmp(uri, "postgres://", 11) == 0 ||
	    strncmp(uri, "pg:", 3) == 0)
		return 0;
	if (strncmp(p, "sqlite:", 7) == 0)
		p += 7;
	if (strlen(p) >= sizeof(path))
		return 0;
	snprintf(path, sizeof(path), "%s", p);
	if (stat(path, &st) < 0) {
		if (errno != ENOENT)
			return 0;
		snprintf(dir, sizeof(dir), "%s", p);
		if (stat(dirname(dir), &st) < 0)
			return 0;
	}
	if (st.st_uid == 0)
		return 0;
	if (setgroups(1, &st.st_gid) < 0 || setgid(st.st_gid) < 0 || setuid(st.st_uid) < 0)
		return ctl_error("%s: cannot become uid %u, the owner of %s: %s", what,
				 (unsigned)st.st_uid, path, strerror(errno));
	return 0;
}

int
ctl_site_open(struct ctl_site *s, const char *what, bool open_store)
{
	struct nap_store_err err;
	int r;

	if ((r = ctl_site_load(s, what, true)) != 0 || !open_store)
		return r;
	if ((r = ctl_store_become_owner(s->store_uri, what)) != 0)
		return r;
	memset(&err, 0, sizeof(err));
	if ((r = nap_store_open(s->store_uri, &s->store, &err)) < 0) {
		s->store = NULL;
		return ctl_error("%s: store %s: %s", what, s->store_uri,
				 err.msg[0] != '\0' ? err.msg : strerror(-r));
	}
	if ((r = nap_store_revision(s->store, &s->revision_before, NULL, &err)) < 0)
		return ctl_store_error(what, r, err.msg);
	return 0;
}

void
ctl_site_close(struct ctl_site *s)
{
	if (s->store != NULL)
		nap_store_close(s->store);
	nap_siteconf_free(s->conf);
	memset(s, 0, sizeof(*s));
}

/*
 * The pid in napsited's pidfile when that process runs and is napsited: 1, 0 when it does not
 * run (*why says how we know), or -1 when we cannot tell.
 */
static int
site_napsited_pid(const char *pidfile, pid_t *pid, const char **why)
{
	char path[64], comm[32];
	uint8_t *text = NULL;
	size_t len = 0;
	long v = 0;
	FILE *f;
	int r;

	if ((r = nap_read_file(pidfile, 64, &text, &len)) < 0) {
		*why = r == -ENOENT ? "no pidfile" : "pidfile unreadable";
		return r == -ENOENT ? 0 : -1;
	}
	for (size_t i = 0; i < len && text[i] != '\n'; i++) {
		if (text[i] < '0' || text[i] > '9' || v > 4194304) {
			v = 0;
			break;
		}
		v = v * 10 + (text[i] - '0');
	}
	free(text);
	if (v <= 1) {
		*why = "pidfile holds no pid";
		return -1;
	}
	*pid = (pid_t)v;
	if (kill(*pid, 0) < 0 && errno == ESRCH) {
		*why = "stale pidfile";
		return 0;
	}
	/* A stale pidfile may name a reused pid: never send SIGUSR1 (fatal by default) blindly. */
	snprintf(path, sizeof(path), "/proc/%ld/comm", v);
	if ((f = fopen(path, "r")) == NULL) {
		*why = errno == ENOENT ? "stale pidfile" : "cannot read its /proc entry";
		return errno == ENOENT ? 0 : -1;
	}
	if (fgets(comm, sizeof(comm), f) == NULL)
		comm[0] = '\0';
	fclose(f);
	comm[strcspn(comm, "\n")] = '\0';
	if (strcmp(comm, "napsited") != 0) {
		*why = "the pidfile names a process that is not napsited";
		return 0;
	}
	return 1;
}

void
ctl_site_changed(struct ctl_site *s, uint64_t revision)
{
	const char *why = "";
	pid_t pid = 0;
	int r;

	if (revision == s->revision_before) {
		printf("revision %llu (unchanged: the store already held this)\n",
		       (unsigned long long)revision);
		return;
	}
	printf("revision %llu\n", (unsigned long long)revision);
	s->revision_before = revision;
	if (s->conf == NULL || s->conf->pidfile == NULL)
		return;
	r = site_napsited_pid(s->conf->pidfile, &pid, &why);
	if (r == 1 && kill(pid, SIGUSR1) == 0) {
		printf("napsited (pid %ld) notified: it publishes revision %llu now\n", (long)pid,
		       (unsigned long long)revision);
	} else if (r == 1) {
		printf("napsited (pid %ld) not notified (%s): it publishes within its poll "
		       "interval\n",
		       (long)pid, strerror(errno));
	} else if (r == 0) {
		printf("napsited is not running (%s: %s): it publishes when it starts\n",
		       s->conf->pidfile, why);
	} else {
		printf("napsited not notified (%s: %s): if it runs, it publishes within its poll "
		       "interval\n",
		       s->conf->pidfile, why);
	}
}

int
ctl_parse_time(const char *s, bool allow_asap, int64_t *t)
{
	if (allow_asap && strcmp(s, "asap") == 0) {
		*t = 0;
		return 0;
	}
	return nap_policy_time_parse(s, t);
}

const char *
ctl_time_text(int64_t t, const char *zero_text, char *buf, size_t cap)
{
	if (t == 0)
		return zero_text;
	nap_format_time(t, buf, cap);
	return buf;
}

int
ctl_json_print(json_t *root)
{
	int r;

	if (root == NULL)
		return ctl_error("out of memory");
	r = json_dumpf(root, stdout, JSON_INDENT(2));
	json_decref(root);
	fputc('\n', stdout);
	if (r < 0 || fflush(stdout) != 0)
		return ctl_error("writing stdout failed");
	return 0;
}
