// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * The report queries (include/nap/report.h) at scale: a fresh store is filled with CLIENTS
 * machines, MESSAGES status messages spread over 30 days (client_last holding each machine's
 * latest), an agent state per machine (a third of them missing one to three of 50 policies),
 * then each report query runs again and again for its share of BENCH_SECONDS (at least 3 times)
 * and its median and maximum are printed in milliseconds, one line per query, with the median
 * CPU time (this process, and the PostgreSQL server's processes):
 *   "query median_ms max_ms rows runs median_cpu_ms"
 * The fill is SQL run directly (generate_series on PostgreSQL, a recursive CTE on SQLite, one
 * transaction), so it takes seconds, not the hours single inserts would; it is timed too.
 *
 *   bench_report URI [CLIENTS [MESSAGES]]       defaults 100000 and 1000000
 *
 * A PostgreSQL store is emptied first (DROP SCHEMA public CASCADE), an SQLite file deleted:
 * point it at a throwaway database only.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <sqlite3.h>

#include "nap/report.h"
#include "nap/store.h"

#define T_END    1767225600LL /* the last message; "now" is a minute later */
#define SPAN     (30LL * 86400)
#define POLICIES 50
#define MAX_RUNS 100000

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/*
 * CPU time, ms: this process and, for PostgreSQL, every process named postgres (the server is
 * the bench's own, so its only busy backend is ours). Wall time on a loaded machine measures the
 * queue for the cores; this measures the work.
 */
static double
cpu_ms(bool pg)
{
	struct timespec ts;
	double ms;
	long hz = sysconf(_SC_CLK_TCK);
	DIR *d;
	struct dirent *e;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	ms = (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
	if (!pg || (d = opendir("/proc")) == NULL)
		return ms;
	while ((e = readdir(d)) != NULL) {
		char path[300], buf[1024], *p;
		unsigned long ut, st;
		FILE *f;
		size_t n;

		if (e->d_name[0] < '1' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/stat", e->d_name);
		if ((f = fopen(path, "r")) == NULL)
			continue;
		n = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
		buf[n] = '\0';
		if (strstr(buf, "(postgres)") == NULL || (p = strrchr(buf, ')')) == NULL)
			continue;
		/* after ") ": state ppid pgrp session tty tpgid flags minflt cminflt majflt
		 * cmajflt utime stime */
		if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut,
			   &st) == 2)
			ms += (double)(ut + st) * 1e3 / (double)hz;
	}
	closedir(d);
	return ms;
}

static bool
is_pg(const char *uri)
{
	return strncmp(uri, "postgresql://", 13) == 0 || strncmp(uri, "postgres://", 11) == 0 ||
	       strncmp(uri, "pg:", 3) == 0;
}

static void
die(const char *what, const char *msg)
{
	fprintf(stderr, "bench_report: %s: %s\n", what, msg);
	exit(1);
}

static void
raw(const char *uri, const char *sql)
{
	if (is_pg(uri)) {
		PGconn *c = PQconnectdb(strncmp(uri, "pg:", 3) == 0 ? uri + 3 : uri);
		PGresult *res;

		if (PQstatus(c) != CONNECTION_OK)
			die("postgresql", PQerrorMessage(c));
		res = PQexec(c, "SET client_min_messages = warning");
		PQclear(res);
		res = PQexec(c, sql);
		if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK)
			die(sql, PQerrorMessage(c));
		PQclear(res);
		PQfinish(c);
	} else {
		sqlite3 *db;
		char *msg = NULL;

		if (sqlite3_open(uri + (strncmp(uri, "sqlite:", 7) == 0 ? 7 : 0), &db) != SQLITE_OK)
			die("sqlite", sqlite3_errmsg(db));
		sqlite3_busy_timeout(db, 10000);
		if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
			die(sql, msg);
		sqlite3_close(db);
	}
}

/*
 * The fill, in each dialect: message i (0..M-1) is machine i % N at time T_END - SPAN + i * SPAN
 * / M; one in five is noncompliant (restricted), one in fifty exempt; the latest message of each
 * machine goes to client_last with messages = M / N, and status_daily is the messages' per-day
 * aggregate (what the ingester keeps).
 */
static void
fill(const char *uri, long n, long m)
{
	char sql[8192];
	const bool pg = is_pg(uri);

	/* The same rows in each dialect. */
	if (pg)
		snprintf(sql, sizeof(sql),
			 "BEGIN;"
			 "INSERT INTO status_messages (id, time, received, napvd, nas, client,"
			 " machine, site, enforcement, result, branch, exemption, action,"
			 " hsr_revision, correlation_id)"
			 " SELECT '0123456789abcdef-' || (i + 1), %lld + i * %lld / %ld,"
			 " %lld + i * %lld / %ld + 2, '0123456789abcdef', '127.0.0.1', 'dhcp1',"
			 " 'pc-' || lpad((i %% %ld)::text, 6, '0'), 'S01',"
			 " CASE WHEN i %% 3 = 0 THEN 'vpn' ELSE 'dhcp' END,"
			 " CASE WHEN i %% 5 = 0 THEN 'noncompliant' ELSE 'compliant' END,"
			 " CASE WHEN i %% 50 = 1 THEN 'exempt' WHEN i %% 5 = 0 THEN 'out_of_date'"
			 " ELSE 'matches' END, CASE WHEN i %% 50 = 1 THEN 'lab' ELSE NULL END,"
			 " CASE WHEN i %% 5 = 0 THEN 'restricted' ELSE 'full' END, 50,"
			 " '00112233445566778899aabbccddeeff'"
			 " FROM generate_series(0::bigint, %ld) AS g(i);"
			 "INSERT INTO client_last (machine, id, time, first_seen, napvd, nas, client,"
			 " site, enforcement, result, branch, exemption, action, hsr_revision,"
			 " messages)"
			 " SELECT machine, id, time, time - %lld, napvd, nas, client, site,"
			 " enforcement, result, branch, exemption, action, hsr_revision, %ld"
			 " FROM status_messages WHERE time >= %lld;"
			 "INSERT INTO status_daily (day, machine, v, messages)"
			 " SELECT time / 86400, machine, max(time * 2 + CASE WHEN result ="
			 " 'compliant' THEN 0 ELSE 1 END), count(*) FROM status_messages"
			 " GROUP BY 1, 2;"
			 "INSERT INTO agent_state (client, state, compliant, hsr_revision, hsr_digest,"
			 " evaluated, received, missing)"
			 " SELECT 'pc-' || lpad(j::text, 6, '0'), CASE WHEN j %% 3 = 0 THEN 3 ELSE 1"
			 " END, CASE WHEN j %% 3 = 0 THEN 0 ELSE 1 END, 50, '', %lld - j %% 7200,"
			 " %lld - j %% 7200, CASE WHEN j %% 3 <> 0 THEN ''"
			 " WHEN j %% 2 = 0 THEN 'P-' || (j %% %d)"
			 " ELSE 'P-' || (j %% %d) || ' P-' || ((j + 7) %% %d) || ' P-' ||"
			 " ((j + 13) %% %d) END FROM generate_series(0, %ld) AS g(j);"
			 "COMMIT; ANALYZE;",
			 (long long)(T_END - SPAN), (long long)SPAN, m, (long long)(T_END - SPAN),
			 (long long)SPAN, m, n, m - 1, (long long)SPAN, m / n,
			 (long long)(T_END - SPAN + (m - n) * SPAN / m), (long long)T_END,
			 (long long)T_END, POLICIES, POLICIES, POLICIES, POLICIES, n - 1);
	else
		snprintf(sql, sizeof(sql),
			 "BEGIN;"
			 "WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s"
			 " WHERE i < %ld)"
			 " INSERT INTO status_messages (id, time, received, napvd, nas, client,"
			 " machine, site, enforcement, result, branch, exemption, action,"
			 " hsr_revision, correlation_id)"
			 " SELECT '0123456789abcdef-' || (i + 1), %lld + i * %lld / %ld,"
			 " %lld + i * %lld / %ld + 2, '0123456789abcdef', '127.0.0.1', 'dhcp1',"
			 " printf('pc-%%06d', i %% %ld), 'S01',"
			 " CASE WHEN i %% 3 = 0 THEN 'vpn' ELSE 'dhcp' END,"
			 " CASE WHEN i %% 5 = 0 THEN 'noncompliant' ELSE 'compliant' END,"
			 " CASE WHEN i %% 50 = 1 THEN 'exempt' WHEN i %% 5 = 0 THEN 'out_of_date'"
			 " ELSE 'matches' END, CASE WHEN i %% 50 = 1 THEN 'lab' ELSE NULL END,"
			 " CASE WHEN i %% 5 = 0 THEN 'restricted' ELSE 'full' END, 50,"
			 " '00112233445566778899aabbccddeeff' FROM s;"
			 "INSERT INTO client_last (machine, id, time, first_seen, napvd, nas, client,"
			 " site, enforcement, result, branch, exemption, action, hsr_revision,"
			 " messages)"
			 " SELECT machine, id, time, time - %lld, napvd, nas, client, site,"
			 " enforcement, result, branch, exemption, action, hsr_revision, %ld"
			 " FROM status_messages WHERE time >= %lld;"
			 "INSERT INTO status_daily (day, machine, v, messages)"
			 " SELECT time / 86400, machine, max(time * 2 + CASE WHEN result ="
			 " 'compliant' THEN 0 ELSE 1 END), count(*) FROM status_messages"
			 " GROUP BY 1, 2;"
			 "WITH RECURSIVE s(j) AS (SELECT 0 UNION ALL SELECT j + 1 FROM s"
			 " WHERE j < %ld)"
			 " INSERT INTO agent_state (client, state, compliant, hsr_revision, hsr_digest,"
			 " evaluated, received, missing)"
			 " SELECT printf('pc-%%06d', j), CASE WHEN j %% 3 = 0 THEN 3 ELSE 1 END,"
			 " CASE WHEN j %% 3 = 0 THEN 0 ELSE 1 END, 50, '', %lld - j %% 7200,"
			 " %lld - j %% 7200, CASE WHEN j %% 3 <> 0 THEN ''"
			 " WHEN j %% 2 = 0 THEN 'P-' || (j %% %d)"
			 " ELSE 'P-' || (j %% %d) || ' P-' || ((j + 7) %% %d) || ' P-' ||"
			 " ((j + 13) %% %d) END FROM s;"
			 "COMMIT; ANALYZE;",
			 m - 1, (long long)(T_END - SPAN), (long long)SPAN, m,
			 (long long)(T_END - SPAN), (long long)SPAN, m, n, (long long)SPAN, m / n,
			 (long long)(T_END - SPAN + (m - n) * SPAN / m), n - 1, (long long)T_END,
			 (long long)T_END, POLICIES, POLICIES, POLICIES, POLICIES);
	raw(uri, sql);
}

static void
add_policies(struct nap_store *st)
{
	struct nap_policy v[POLICIES];
	struct nap_policy_req req[POLICIES];
	char pkg[POLICIES][32];
	struct nap_store_err err = {{0}};

	memset(v, 0, sizeof(v));
	for (int i = 0; i < POLICIES; i++) {
		snprintf(v[i].id, sizeof(v[i].id), "P-%d", i);
		snprintf(v[i].severity, sizeof(v[i].severity), "important");
		snprintf(pkg[i], sizeof(pkg[i]), "pkg%d", i);
		req[i] = (struct nap_policy_req){.package = pkg[i], .min_version = (char *)"1.0-1",
						 .scheme = NAP_SCHEME_DPKG};
		v[i].reqs = &req[i];
		v[i].n_reqs = 1;
	}
	if (nap_store_policy_import(st, v, POLICIES, true, NULL, &err) != 0)
		die("policy import", err.msg);
}

enum q {
	Q_COMPLIANCE,
	Q_CLIENTS,
	Q_CLIENTS_SILENT,
	Q_CLIENTS_DEEP,
	Q_CLIENTS_PREFIX,
	Q_POLICY_CLIENTS,
	Q_POLICIES,
	Q_HISTORY_DAYS,
	Q_HISTORY_HOURS,
	Q_FEED,
	Q_FEED_CLIENT,
	Q_EXPLAIN,
	Q_COUNT
};

static const char *const q_names[Q_COUNT] = {
	[Q_COMPLIANCE] = "compliance",
	[Q_CLIENTS] = "clients-page1",
	[Q_CLIENTS_SILENT] = "clients-silent",
	[Q_CLIENTS_DEEP] = "clients-nc-deep",
	[Q_CLIENTS_PREFIX] = "clients-prefix",
	[Q_POLICY_CLIENTS] = "policy-clients",
	[Q_POLICIES] = "policies",
	[Q_HISTORY_DAYS] = "history-30d-day",
	[Q_HISTORY_HOURS] = "history-7d-hour",
	[Q_FEED] = "feed-100",
	[Q_FEED_CLIENT] = "feed-client",
	[Q_EXPLAIN] = "explain",
};

/* Run query q once; the rows it returned. */
static long
run_query(struct nap_store *st, enum q q, long n)
{
	const int64_t now = T_END + 60;
	struct nap_store_err err = {{0}};
	struct nap_report_client_list *cl = NULL;
	struct nap_report_client_query cq = {.now = now, .silent_after = 1800, .limit = 100};
	char machine[32];
	long rows = 0;
	int r = 0;

	snprintf(machine, sizeof(machine), "pc-%06ld", n / 2);
	switch (q) {
	case Q_COMPLIANCE: {
		struct nap_report_compliance s;

		r = nap_report_compliance(st, now, 1800, &s, &err);
		rows = (long)s.clients;
		break;
	}
	case Q_CLIENTS:
		r = nap_report_clients(st, &cq, &cl, &err);
		break;
	case Q_CLIENTS_SILENT:
		cq.silent_only = true;
		cq.sort = NAP_REPORT_SORT_SILENT;
		r = nap_report_clients(st, &cq, &cl, &err);
		break;
	case Q_CLIENTS_DEEP:
		cq.filter = NAP_REPORT_NONCOMPLIANT;
		cq.offset = n / 10;
		r = nap_report_clients(st, &cq, &cl, &err);
		break;
	case Q_CLIENTS_PREFIX:
		cq.prefix = "pc-0500";
		r = nap_report_clients(st, &cq, &cl, &err);
		break;
	case Q_POLICY_CLIENTS:
		r = nap_report_policy_clients(st, "P-6", &cq, &cl, &err);
		break;
	case Q_POLICIES: {
		struct nap_report_policy_list *p = NULL;

		r = nap_report_policies(st, 100, 0, &p, &err);
		rows = p != NULL ? (long)p->n : 0;
		nap_report_policy_list_free(p);
		break;
	}
	case Q_HISTORY_DAYS:
	case Q_HISTORY_HOURS: {
		struct nap_report_history *h = NULL;

		if (q == Q_HISTORY_DAYS)
			r = nap_report_history(st, now - SPAN, now, 86400, &h, &err);
		else
			r = nap_report_history(st, now - 7 * 86400, now, 3600, &h, &err);
		rows = h != NULL ? (long)h->n : 0;
		nap_report_history_free(h);
		break;
	}
	case Q_FEED:
	case Q_FEED_CLIENT: {
		struct nap_report_feed *f = NULL;

		r = nap_report_feed(st, q == Q_FEED ? NULL : machine, 100, 0, &f, &err);
		rows = f != NULL ? (long)f->n : 0;
		nap_report_feed_free(f);
		break;
	}
	case Q_EXPLAIN: {
		static struct nap_report_explain e;

		r = nap_report_explain(st, machine, now, 1800, &e, &err);
		rows = (long)e.n_missing + (long)e.n_recent;
		break;
	}
	case Q_COUNT:
		break;
	}
	if (r != 0)
		die(q_names[q], err.msg);
	if (cl != NULL) {
		rows = (long)cl->n;
		nap_report_client_list_free(cl);
	}
	return rows;
}

static int
dcmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int
main(int argc, char *argv[])
{
	const char *uri, *bs = getenv("BENCH_SECONDS");
	long n = argc > 2 ? atol(argv[2]) : 100000, m = argc > 3 ? atol(argv[3]) : 1000000;
	double seconds = bs != NULL && atof(bs) > 0 ? atof(bs) : 24, t0, t_fill;
	static double times[MAX_RUNS], cpu[MAX_RUNS];
	struct nap_store *st;
	struct nap_store_err err = {{0}};

	if (argc < 2 || n < 1 || m < n) {
		fprintf(stderr, "usage: bench_report URI [CLIENTS [MESSAGES]]\n");
		return 64;
	}
	uri = argv[1];
	if (is_pg(uri)) {
		raw(uri, "DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public");
	} else {
		const char *path = uri + (strncmp(uri, "sqlite:", 7) == 0 ? 7 : 0);
		char p[4096];

		unlink(path);
		snprintf(p, sizeof(p), "%s-wal", path);
		unlink(p);
		snprintf(p, sizeof(p), "%s-shm", path);
		unlink(p);
	}
	if (nap_store_open(uri, &st, &err) != 0)
		die("open", err.msg);
	add_policies(st);
	t0 = now_ms();
	fill(uri, n, m);
	t_fill = now_ms() - t0;
	printf("# backend %s, %ld clients, %ld status messages, fill %.1f s, %.1f s of queries\n",
	       nap_store_backend(st), n, m, t_fill / 1e3, seconds);
	for (int q = 0; q < Q_COUNT; q++) {
		double budget = seconds * 1e3 / Q_COUNT, start = now_ms();
		long rows = 0;
		int runs = 0;

		while (runs < MAX_RUNS && (runs < 3 || now_ms() - start < budget)) {
			double c0 = cpu_ms(is_pg(uri));

			t0 = now_ms();
			rows = run_query(st, (enum q)q, n);
			times[runs] = now_ms() - t0;
			cpu[runs++] = cpu_ms(is_pg(uri)) - c0;
		}
		qsort(times, (size_t)runs, sizeof(times[0]), dcmp);
		qsort(cpu, (size_t)runs, sizeof(cpu[0]), dcmp);
		printf("%s %.3f %.3f %ld %d %.3f\n", q_names[q], times[runs / 2], times[runs - 1],
		       rows, runs, cpu[runs / 2]);
		fflush(stdout);
	}
	nap_store_close(st);
	return 0;
}
