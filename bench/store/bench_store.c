// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * Site store operations at scale: on an empty store, import N policies in one transaction, then
 * with them present add one (a revision bump), replace one, list all, read the revision (what
 * napsited polls), take a snapshot, build the HSR document, sign it, import the same list again
 * (nothing changes) and remove one. Every step runs RUNS times on a fresh store; the median and
 * the minimum are printed in milliseconds, one line per step ("step median min").
 *
 *   bench_store URI [N [RUNS]]     N defaults to 10000 (NAP_HSR_MAX_POLICIES), RUNS to 5
 *
 * URI as nap_store_open() takes it. A PostgreSQL store is emptied (DROP SCHEMA public CASCADE)
 * before each run and an SQLite file deleted: point it at a throwaway database only.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "nap/hsr.h"
#include "nap/store.h"
#include "nap/util.h"

#define BENCH_MAX_RUNS 50
#define BENCH_POLLS    1000 /* revision reads averaged */

enum step {
	S_OPEN,
	S_IMPORT,
	S_ADD,
	S_REPLACE,
	S_LIST,
	S_REVISION,
	S_SNAPSHOT,
	S_DOCUMENT,
	S_SIGN,
	S_REIMPORT,
	S_REMOVE,
	S_COUNT
};

static const char *const step_names[S_COUNT] = {
	[S_OPEN] = "open+migrate", [S_IMPORT] = "import",
	[S_ADD] = "add-one",       [S_REPLACE] = "replace-one",
	[S_LIST] = "list-all",     [S_REVISION] = "revision-read",
	[S_SNAPSHOT] = "snapshot", [S_DOCUMENT] = "hsr-document",
	[S_SIGN] = "hsr-sign",     [S_REIMPORT] = "reimport-same",
	[S_REMOVE] = "remove-one",
};

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void
die(const char *what, int r, const char *msg)
{
	fprintf(stderr, "bench_store: %s: %s (%s)\n", what, msg != NULL ? msg : "", strerror(-r));
	exit(1);
}

static bool
is_pg(const char *uri)
{
	return strncmp(uri, "postgresql://", 13) == 0 || strncmp(uri, "postgres://", 11) == 0 ||
	       strncmp(uri, "pg:", 3) == 0;
}

static void
pg_quiet(void *arg, const char *msg)
{
	(void)arg;
	(void)msg;
}

/* An empty database for the next run. */
static void
reset(const char *uri)
{
	if (is_pg(uri)) {
		PGconn *c = PQconnectdb(strncmp(uri, "pg:", 3) == 0 ? uri + 3 : uri);
		PGresult *res;

		if (PQstatus(c) != CONNECTION_OK)
			die("postgresql", -EIO, PQerrorMessage(c));
		PQsetNoticeProcessor(c, pg_quiet, NULL);
		res = PQexec(c, "DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public");
		if (PQresultStatus(res) != PGRES_COMMAND_OK)
			die("reset", -EIO, PQerrorMessage(c));
		PQclear(res);
		PQfinish(c);
	} else {
		const char *path = strncmp(uri, "sqlite:", 7) == 0 ? uri + 7 : uri;
		char p[4096];

		unlink(path);
		snprintf(p, sizeof(p), "%s-wal", path);
		unlink(p);
		snprintf(p, sizeof(p), "%s-shm", path);
		unlink(p);
	}
}

/*
 * Policies shaped like an advisory feed: a DSA-style id, one package with a Debian security
 * version, an effective date and a one-line reason (about 200 bytes each in the HSR document).
 */
static struct nap_policy *
make_policies(size_t n)
{
	static const char *const sev[] = {"critical", "important", "moderate", "low"};
	struct nap_policy *v = calloc(n + 1, sizeof(*v));
	char buf[64];

	if (v == NULL)
		die("policies", -ENOMEM, "out of memory");
	for (size_t i = 0; i <= n; i++) {
		snprintf(v[i].id, sizeof(v[i].id), "DSA-%05zu-1", i);
		snprintf(v[i].severity, sizeof(v[i].severity), "%s", sev[i % 4]);
		v[i].effective = 1767225600 + (int64_t)(i % 365) * 86400; /* during 2026 */
		snprintf(buf, sizeof(buf), "pkg%05zu: security update (several CVEs)", i);
		v[i].reason = strdup(buf);
		if (v[i].reason == NULL)
			die("policies", -ENOMEM, "out of memory");
		v[i].reqs = calloc(1, sizeof(*v[i].reqs));
		if (v[i].reqs == NULL)
			die("policies", -ENOMEM, "out of memory");
		v[i].n_reqs = 1;
		snprintf(buf, sizeof(buf), "pkg%05zu", i);
		v[i].reqs[0].package = strdup(buf);
		snprintf(buf, sizeof(buf), "%zu.%zu.%zu-1+deb12u%zu", i % 10, i % 100, i % 7, i % 9 + 1);
		v[i].reqs[0].min_version = strdup(buf);
		if (v[i].reqs[0].package == NULL || v[i].reqs[0].min_version == NULL)
			die("policies", -ENOMEM, "out of memory");
	}
	return v;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int
main(int argc, char **argv)
{
	double t[S_COUNT][BENCH_MAX_RUNS];
	struct nap_store_err err = {{0}};
	struct nap_err herr = {0};
	char keydir[] = "/tmp/nap-bench-store.XXXXXX", key[64], pub[64];
	size_t n = NAP_HSR_MAX_POLICIES, doc_len = 0, signed_len = 0;
	struct nap_policy *v;
	const char *uri;
	int runs = 5, r;

	if (argc < 2 || argc > 4) {
		fprintf(stderr, "usage: bench_store URI [N [RUNS]]\n");
		return 2;
	}
	uri = argv[1];
	if (argc > 2)
		n = strtoul(argv[2], NULL, 10);
	if (argc > 3)
		runs = atoi(argv[3]);
	if (n < 3 || n > NAP_HSR_MAX_POLICIES || runs < 1 || runs > BENCH_MAX_RUNS) {
		fprintf(stderr, "bench_store: N in 3..%d, RUNS in 1..%d\n", NAP_HSR_MAX_POLICIES,
			BENCH_MAX_RUNS);
		return 2;
	}
	if (mkdtemp(keydir) == NULL)
		die("mkdtemp", -errno, keydir);
	snprintf(key, sizeof(key), "%s/site.key", keydir);
	snprintf(pub, sizeof(pub), "%s/site.pub", keydir);
	if ((r = nap_key_generate(key, pub)) < 0)
		die("key", r, key);
	v = make_policies(n);

	for (int run = 0; run < runs; run++) {
		struct nap_store *st;
		struct nap_policy_list *l;
		struct nap_store_snapshot *s;
		uint64_t rev;
		char *doc, *signed_doc;
		double t0;

		reset(uri);
		t0 = now_ms();
		if ((r = nap_store_open(uri, &st, &err)) < 0)
			die("open", r, err.msg);
		t[S_OPEN][run] = now_ms() - t0;

		/* n - 1 in one import, so that adding one reaches n (at most the HSR's 10,000). */
		t0 = now_ms();
		if ((r = nap_store_policy_import(st, v, n - 1, false, &rev, &err)) < 0)
			die("import", r, err.msg);
		t[S_IMPORT][run] = now_ms() - t0;

		t0 = now_ms();
		if ((r = nap_store_policy_put(st, &v[n - 1], false, &rev, &err)) < 0)
			die("add", r, err.msg);
		t[S_ADD][run] = now_ms() - t0;

		free(v[n / 2].reqs[0].min_version);
		v[n / 2].reqs[0].min_version = strdup(run % 2 == 0 ? "99.0-1" : "98.0-1");
		t0 = now_ms();
		if ((r = nap_store_policy_put(st, &v[n / 2], true, &rev, &err)) < 0)
			die("replace", r, err.msg);
		t[S_REPLACE][run] = now_ms() - t0;

		t0 = now_ms();
		if ((r = nap_store_policy_list(st, &l, &err)) < 0)
			die("list", r, err.msg);
		t[S_LIST][run] = now_ms() - t0;
		if (l->n != n)
			die("list", -EIO, "wrong count");
		nap_policy_list_free(l);

		t0 = now_ms();
		for (int i = 0; i < BENCH_POLLS; i++) {
			if ((r = nap_store_revision(st, &rev, NULL, &err)) < 0)
				die("revision", r, err.msg);
		}
		t[S_REVISION][run] = (now_ms() - t0) / BENCH_POLLS;

		t0 = now_ms();
		if ((r = nap_store_snapshot(st, &s, &err)) < 0)
			die("snapshot", r, err.msg);
		t[S_SNAPSHOT][run] = now_ms() - t0;

		t0 = now_ms();
		if ((r = nap_store_hsr_document(s, "S01", (int64_t)time(NULL), &doc, &err)) < 0)
			die("hsr document", r, err.msg);
		t[S_DOCUMENT][run] = now_ms() - t0;
		doc_len = strlen(doc);

		t0 = now_ms();
		if ((r = nap_hsr_sign((const uint8_t *)doc, doc_len, key, &signed_doc, &herr)) < 0)
			die("hsr sign", r, herr.what);
		t[S_SIGN][run] = now_ms() - t0;
		signed_len = strlen(signed_doc);
		free(signed_doc);
		free(doc);
		nap_store_snapshot_free(s);

		t0 = now_ms();
		if ((r = nap_store_policy_import(st, v, n, false, &rev, &err)) < 0)
			die("reimport", r, err.msg);
		t[S_REIMPORT][run] = now_ms() - t0;

		t0 = now_ms();
		if ((r = nap_store_policy_remove(st, v[1].id, &rev, &err)) < 0)
			die("remove", r, err.msg);
		t[S_REMOVE][run] = now_ms() - t0;

		nap_store_close(st);
	}
	reset(uri);

	printf("# backend %s, %zu policies, %d runs, HSR document %zu bytes (%zu signed)\n",
	       is_pg(uri) ? "postgresql" : "sqlite", n, runs, doc_len, signed_len);
	for (int i = 0; i < S_COUNT; i++) {
		qsort(t[i], (size_t)runs, sizeof(double), cmp_double);
		printf("%-14s %10.3f %10.3f\n", step_names[i], t[i][runs / 2], t[i][0]);
	}
	for (size_t i = 0; i <= n; i++)
		nap_policy_clear(&v[i]);
	free(v);
	unlink(key);
	unlink(pub);
	rmdir(keydir);
	return 0;
}
