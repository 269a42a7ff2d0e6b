// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * naphrad's Prometheus metrics (text format 0.0.4): requests by result, HTTP status codes,
 * certificates issued, napvd and signer latency histograms, napvd timeouts, reloads. Served by
 * the [naphrad] metrics listener (hcep_http.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nap/util.h"
#include "naphrad.h"

static const char *const result_names[NAPHRAD_RES_COUNT] = {
	[NAPHRAD_RES_ISSUED] = "issued",
	[NAPHRAD_RES_NONCOMPLIANT] = "noncompliant",
	[NAPHRAD_RES_BAD_REQUEST] = "bad_request",
	[NAPHRAD_RES_AUTH_FAILED] = "auth_failed",
	[NAPHRAD_RES_NAPVD_TIMEOUT] = "napvd_timeout",
	[NAPHRAD_RES_SIGNER_ERROR] = "signer_error",
	[NAPHRAD_RES_OVERLOAD] = "overload",
	[NAPHRAD_RES_TIMEOUT] = "timeout",
};

/* The last slot collects every other code. */
const unsigned naphrad_status_codes[NAPHRAD_STATUS_SLOTS] = {
	200, 400, 401, 403, 404, 405, 411, 413, 500, 503, 504, 0,
};

const double naphrad_hist_bounds[NAPHRAD_HIST_BUCKETS] = {
	0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 5,
};

const char *
naphrad_result_name(enum naphrad_result r)
{
	return (unsigned)r < NAPHRAD_RES_COUNT ? result_names[r] : "unknown";
}

size_t
naphrad_status_slot(unsigned status)
{
	for (size_t i = 0; i + 1 < NAPHRAD_STATUS_SLOTS; i++)
		if (naphrad_status_codes[i] == status)
			return i;
	return NAPHRAD_STATUS_SLOTS - 1;
}

void
naphrad_hist_add(struct naphrad_hist *h, double seconds)
{
	for (size_t i = 0; i < NAPHRAD_HIST_BUCKETS; i++)
		if (seconds <= naphrad_hist_bounds[i]) {
			h->buckets[i]++;
			break;
		}
	h->count++;
	h->sum += seconds;
}

static void
hist_print(FILE *f, const char *name, const char *help, const struct naphrad_hist *h)
{
	uint64_t cum = 0;

	fprintf(f, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
	for (size_t i = 0; i < NAPHRAD_HIST_BUCKETS; i++) {
		cum += h->buckets[i];
		fprintf(f, "%s_bucket{le=\"%g\"} %llu\n", name, naphrad_hist_bounds[i],
			(unsigned long long)cum);
	}
	fprintf(f, "%s_bucket{le=\"+Inf\"} %llu\n%s_sum %.6f\n%s_count %llu\n", name,
		(unsigned long long)h->count, name, h->sum, name, (unsigned long long)h->count);
}

static void
counter(FILE *f, const char *name, const char *help, uint64_t v)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s counter\n%s %llu\n", name, help, name, name,
		(unsigned long long)v);
}

char *
naphrad_metrics_text(const struct naphrad *h, size_t *len)
{
	const struct naphrad_metrics *m = &h->m;
	char *buf = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&buf, &n);

	if (f == NULL)
		return NULL;
	fprintf(f, "# HELP naphrad_requests_total HCEP requests by result.\n"
		   "# TYPE naphrad_requests_total counter\n");
	for (size_t i = 0; i < NAPHRAD_RES_COUNT; i++)
		fprintf(f, "naphrad_requests_total{result=\"%s\"} %llu\n", result_names[i],
			(unsigned long long)m->results[i]);
	fprintf(f, "# HELP naphrad_http_responses_total HCEP responses by HTTP status.\n"
		   "# TYPE naphrad_http_responses_total counter\n");
	for (size_t i = 0; i < NAPHRAD_STATUS_SLOTS; i++) {
		if (naphrad_status_codes[i] != 0)
			fprintf(f, "naphrad_http_responses_total{code=\"%u\"} %llu\n",
				naphrad_status_codes[i], (unsigned long long)m->status[i]);
		else
			fprintf(f, "naphrad_http_responses_total{code=\"other\"} %llu\n",
				(unsigned long long)m->status[i]);
	}
	counter(f, "naphrad_certificates_issued_total", "Health certificates issued.",
		m->certs_issued);
	counter(f, "naphrad_certificates_authenticated_total",
		"Health certificates issued to TLS-authenticated clients.",
		m->certs_authenticated);
	counter(f, "naphrad_napvd_replies_total", "Verified answers from napvd.",
		m->napvd_replies);
	counter(f, "naphrad_napvd_timeouts_total", "Requests no napvd server answered.",
		m->napvd_timeouts);
	counter(f, "naphrad_signer_errors_total", "Templates the signer refused or failed.",
		m->signer_errors);
	counter(f, "naphrad_requests_lean_total",
		"PKCS#10 requests read by the lean reader (EC keys); the rest by the library.",
		m->requests_lean);
	counter(f, "naphrad_reloads_total", "Successful configuration reloads.", m->reloads_ok);
	counter(f, "naphrad_reload_errors_total", "Failed configuration reloads.",
		m->reloads_error);
	hist_print(f, "naphrad_napvd_latency_seconds", "From Access-Request to napvd's answer.",
		   &m->napvd_latency);
	hist_print(f, "naphrad_signer_latency_seconds",
		   "From the template sent to the certificate back (log synced).",
		   &m->signer_latency);
	hist_print(f, "naphrad_request_latency_seconds",
		   "From the request's headers to its answer, for requests that waited.",
		   &m->request_latency);
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	*len = n;
	return buf;
}
