// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * Test driver for test-enforce-napvd.sh: napdhcpd's NAP side (daemons/napdhcpd/nap.c, with the
 * lib/enforce RADIUS client) asking real napvd servers, outside the DHCP server. Runs
 * dhcpd_nap_check() COUNT times in a poll() loop with the real clock and prints one line per
 * verdict:
 *   verdict N action=A source=S grace=G remediation=IP,IP user_class=U latency_ms=L sohr=HEX
 * then "stats requests=R replies=P timeouts=T failovers=F retransmits=X cache_hits=H".
 *
 * usage: nap_enforce_check --server ADDR:PORT [--server ...] --secret-file FILE --soh HEX
 *        [--mac MAC] [--machine NAME] [--service-class NAME] [--timeout DUR] [--retries N]
 *        [--fail full|restricted|drop] [--ttl SECONDS] [--count N]
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nap.h"
#include "nap/util.h"

struct result {
	bool done;
	int n;
};

static void
on_verdict(void *arg, const struct dhcpd_nap_verdict *v)
{
	struct result *r = arg;
	char hex[2 * DHCPD_NAP_SOHR_MAX + 1];
	char ip[INET_ADDRSTRLEN];

	printf("verdict %d action=%s source=%s grace=%" PRId64 " remediation=", r->n,
	       dhcpd_nap_action_name(v->action), dhcpd_nap_source_name(v->source), v->grace_until);
	for (size_t i = 0; i < v->n_remediation; i++) {
		inet_ntop(AF_INET, v->remediation[i], ip, sizeof(ip));
		printf("%s%s", i ? "," : "", ip);
	}
	nap_hex_encode(v->sohr, v->sohr_len, hex);
	printf(" user_class=%s latency_ms=%" PRId64 " sohr=%s\n",
	       v->user_class[0] ? v->user_class : "-", v->latency_ms, v->sohr_len ? hex : "-");
	fflush(stdout);
	r->done = true;
}

static void
usage(void)
{
	fprintf(stderr, "usage: nap_enforce_check --server ADDR:PORT [--server ...] --secret-file "
			"FILE --soh HEX [--mac MAC] [--machine NAME] [--service-class NAME] "
			"[--timeout DUR] [--retries N] [--fail MODE] [--ttl S] [--count N]\n");
	exit(64);
}

int
main(int argc, char **argv)
{
	struct dhcpd_nap_servers servers;
	struct dhcpd_scope_nap sn;
	struct dhcpd_nap_query q;
	struct dhcpd_nap_stats st;
	struct dhcpd_nap *nap;
	static uint8_t soh[2 * NAP_SOH_MAX_LEN];
	const char *soh_hex = NULL;
	char err[512];
	size_t bad;
	long soh_len;
	int count = 1;

	dhcpd_nap_servers_init(&servers);
	dhcpd_scope_nap_init(&sn);
	if (dhcpd_scope_nap_set(&sn, "nap", "on", err, sizeof(err)) != 0)
		return 1;
	memset(&q, 0, sizeof(q));
	memcpy(q.mac, "\x02\x00\x00\x00\x00\x01", 6);
	for (int i = 1; i < argc; i++) {
		const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		int r = 0;

		if (v == NULL)
			usage();
		i++;
		if (strcmp(k, "--server") == 0)
			r = dhcpd_nap_servers_set(&servers, "server", v, err, sizeof(err));
		else if (strcmp(k, "--secret-file") == 0)
			r = dhcpd_nap_servers_set(&servers, "secret_file", v, err, sizeof(err));
		else if (strcmp(k, "--timeout") == 0)
			r = dhcpd_nap_servers_set(&servers, "timeout", v, err, sizeof(err));
		else if (strcmp(k, "--retries") == 0)
			r = dhcpd_nap_servers_set(&servers, "retries", v, err, sizeof(err));
		else if (strcmp(k, "--fail") == 0)
			r = dhcpd_scope_nap_set(&sn, "nap_fail", v, err, sizeof(err));
		else if (strcmp(k, "--ttl") == 0)
			r = dhcpd_scope_nap_set(&sn, "verdict_cache_ttl", v, err, sizeof(err));
		else if (strcmp(k, "--service-class") == 0)
			r = dhcpd_scope_nap_set(&sn, "service_class", v, err, sizeof(err));
		else if (strcmp(k, "--machine") == 0)
			snprintf(q.machine_name, sizeof(q.machine_name), "%s", v);
		else if (strcmp(k, "--soh") == 0)
			soh_hex = v;
		else if (strcmp(k, "--count") == 0)
			count = atoi(v);
		else if (strcmp(k, "--mac") == 0) {
			unsigned m[6];

			if (sscanf(v, "%x:%x:%x:%x:%x:%x", &m[0], &m[1], &m[2], &m[3], &m[4],
				   &m[5]) != 6)
				usage();
			for (size_t j = 0; j < 6; j++)
				q.mac[j] = (uint8_t)m[j];
		} else
			usage();
		if (r != 0) {
			fprintf(stderr, "%s: %s\n", k, r > 0 ? "not taken" : err);
			return 64;
		}
	}
	if (soh_hex == NULL || count < 1)
		usage();
	soh_len = nap_hex_decode(soh_hex, strlen(soh_hex), soh, sizeof(soh), &bad);
	if (soh_len <= 0) {
		fprintf(stderr, "--soh: bad hex at %zu\n", bad);
		return 64;
	}
	if (dhcpd_nap_new(&servers, &nap, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	q.sn = &sn;
	q.soh = soh;
	q.soh_len = (size_t)soh_len;
	for (int n = 0; n < count; n++) {
		struct result res = {.n = n};
		int r;

		q.xid = (uint32_t)n;
		r = dhcpd_nap_check(nap, &q, nap_mono_ms(), on_verdict, &res);
		if (r < 0) {
			fprintf(stderr, "check: %s\n", strerror(-r));
			return 1;
		}
		while (!res.done) {
			struct pollfd fds[DHCPD_NAP_MAX_POLLFDS];
			size_t nf = dhcpd_nap_pollfds(nap, fds, DHCPD_NAP_MAX_POLLFDS);
			int64_t dl = dhcpd_nap_next_deadline(nap), now = nap_mono_ms();
			int wait = dl < 0 ? 1000 : (int)(dl > now ? dl - now : 0);

			if (poll(fds, nf, wait) < 0 && errno != EINTR)
				return 1;
			dhcpd_nap_events(nap, fds, nf, nap_mono_ms());
		}
	}
	dhcpd_nap_get_stats(nap, &st);
	printf("stats requests=%" PRIu64 " replies=%" PRIu64 " timeouts=%" PRIu64
	       " failovers=%" PRIu64 " retransmits=%" PRIu64 " cache_hits=%" PRIu64
	       " bad_auth=%" PRIu64 "\n",
	       st.radius.requests, st.radius.replies, st.radius.timeouts, st.radius.failovers,
	       st.radius.retransmits, st.cache_hits, st.radius.bad_auth);
	dhcpd_nap_free(nap);
	return 0;
}
