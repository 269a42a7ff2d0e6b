// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * napdhcpd's NAP side (nap.h): the scope knobs, the classification of a request, the check with
 * napvd through the enforcement RADIUS client, the verdict cache, and the options of restricted,
 * probation and NAP-marked replies. Handles untrusted input: the client's option 43, 81 and 12
 * (through the codec's views) and napvd's answers (authenticated by the RADIUS client, but their
 * values still checked here).
 *
 * Checks in flight are coalesced: a second request with the same key (MAC + SHA-256 over the
 * service class and the SoH) while napvd has not answered waits for the same answer instead of
 * asking again, which is what a client retransmitting its REQUEST looks like.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "nap/log.h"
#include "nap/soh.h"
#include "nap/util.h"
#include "nap.h"

#define NAP_DEFAULT_RESTRICTED_LEASE 300
#define NAP_DEFAULT_CACHE_TTL        30
#define NAP_DEFAULT_CACHE_SIZE       65536
#define NAP_DEFAULT_TIMEOUT_MS       1000
#define NAP_DEFAULT_RETRIES          1
#define NAP_DEFAULT_HOLDDOWN_MS      30000
#define NAP_PENDING_BUCKETS          1024
#define NAP_MAX_WAITERS              16 /* coalesced checks per key; more are refused */

const double dhcpd_nap_lat_bounds[DHCPD_NAP_LAT_BUCKETS] = {
	0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 2.0,
};

/* ---- names ---- */

static const char *const mode_names[] = {
	[DHCPD_NAP_MODE_FULL] = "full",
	[DHCPD_NAP_MODE_RESTRICTED] = "restricted",
	[DHCPD_NAP_MODE_DROP] = "drop",
};

static const char *const decision_names[DHCPD_NAP_DECISION_COUNT] = {
	[DHCPD_NAP_PLAIN] = "plain",
	[DHCPD_NAP_EXEMPT] = "exempt",
	[DHCPD_NAP_MARKER] = "marker",
	[DHCPD_NAP_CHECK] = "check",
	[DHCPD_NAP_INCAPABLE] = "incapable",
};

static const char *const action_names[DHCPD_NAP_ACT_COUNT] = {
	[DHCPD_NAP_ACT_FULL] = "full",
	[DHCPD_NAP_ACT_RESTRICTED] = "restricted",
	[DHCPD_NAP_ACT_PROBATION] = "probation",
	[DHCPD_NAP_ACT_DROP] = "drop",
};

static const char *const source_names[DHCPD_NAP_SRC_COUNT] = {
	[DHCPD_NAP_SRC_NAPVD] = "napvd",
	[DHCPD_NAP_SRC_CACHE] = "cache",
	[DHCPD_NAP_SRC_FAIL] = "fail",
	[DHCPD_NAP_SRC_INCAPABLE] = "incapable",
	[DHCPD_NAP_SRC_EXEMPT] = "exempt",
};

const char *
dhcpd_nap_mode_name(enum dhcpd_nap_mode m)
{
	return (unsigned)m < NAP_ARRAY_SIZE(mode_names) ? mode_names[m] : "?";
}

const char *
dhcpd_nap_decision_name(enum dhcpd_nap_decision d)
{
	return (unsigned)d < DHCPD_NAP_DECISION_COUNT ? decision_names[d] : "?";
}

const char *
dhcpd_nap_action_name(enum dhcpd_nap_action a)
{
	return (unsigned)a < DHCPD_NAP_ACT_COUNT ? action_names[a] : "?";
}

const char *
dhcpd_nap_source_name(enum dhcpd_nap_source s)
{
	return (unsigned)s < DHCPD_NAP_SRC_COUNT ? source_names[s] : "?";
}

/* ---- configuration ---- */

__attribute__((format(printf, 4, 5))) static int
nap_conf_err(int r, char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL && len > 0) {
		va_start(ap, fmt);
		vsnprintf(err, len, fmt, ap);
		va_end(ap);
	}
	return r;
}

static int
nap_parse_mode(const char *v, enum dhcpd_nap_mode *m)
{
	for (size_t i = 0; i < NAP_ARRAY_SIZE(mode_names); i++) {
		if (strcasecmp(v, mode_names[i]) == 0) {
			*m = (enum dhcpd_nap_mode)i;
			return 0;
		}
	}
	/* Windows' napdeffail and the wording. */
	if (strcasecmp(v, "none") == 0) {
		*m = DHCPD_NAP_MODE_DROP;
		return 0;
	}
	return -EINVAL;
}

static int
nap_parse_bool(const char *v, bool *b)
{
	if (strcasecmp(v, "on") == 0 || strcasecmp(v, "yes") == 0 || strcasecmp(v, "true") == 0 ||
	    strcmp(v, "1") == 0) {
		*b = true;
		return 0;
	}
	if (strcasecmp(v, "off") == 0 || strcasecmp(v, "no") == 0 || strcasecmp(v, "false") == 0 ||
	    strcmp(v, "0") == 0) {
		*b = false;
		return 0;
	}
	return -EINVAL;
}

static int
nap_parse_seconds(const char *v, uint32_t *out)
{
	int64_t s;

	if (nap_parse_duration(v, &s) < 0 || s < 0 || s > (int64_t)UINT32_MAX)
		return -EINVAL;
	*out = (uint32_t)s;
	return 0;
}

/* "500ms" or a duration in seconds ("1", "2s"). */
static int
nap_parse_ms(const char *v, uint32_t *out)
{
	size_t n = strlen(v);
	uint32_t s;

	if (n > 2 && strcmp(v + n - 2, "ms") == 0) {
		char buf[32];
		char *end;
		unsigned long ms;

		if (n - 2 >= sizeof(buf))
			return -EINVAL;
		memcpy(buf, v, n - 2);
		buf[n - 2] = '\0';
		errno = 0;
		ms = strtoul(buf, &end, 10);
		if (errno != 0 || end == buf || *end != '\0' || ms == 0 || ms > 600000)
			return -EINVAL;
		*out = (uint32_t)ms;
		return 0;
	}
	if (nap_parse_seconds(v, &s) < 0 || s == 0 || s > 600)
		return -EINVAL;
	*out = s * 1000;
	return 0;
}

static int
nap_parse_mac(const char *s, size_t n, uint8_t mac[6])
{
	unsigned v[6];
	char buf[32], sep;

	if (n != 17)
		return -EINVAL;
	memcpy(buf, s, n);
	buf[n] = '\0';
	sep = buf[2];
	if (sep != ':' && sep != '-')
		return -EINVAL;
	for (size_t i = 0; i < 6; i++) {
		char *end;

		if (i < 5 && buf[3 * i + 2] != sep)
			return -EINVAL;
		if (!isxdigit((unsigned char)buf[3 * i]) || !isxdigit((unsigned char)buf[3 * i + 1]))
			return -EINVAL;
		buf[3 * i + 2] = '\0';
		v[i] = (unsigned)strtoul(buf + 3 * i, &end, 16);
		if (end != buf + 3 * i + 2)
			return -EINVAL;
		mac[i] = (uint8_t)v[i];
	}
	return 0;
}

/* Call fn for each token of a space/comma separated list. */
static int
nap_each_token(const char *v, int (*fn)(void *ctx, const char *tok, size_t n), void *ctx)
{
	const char *p = v;
	int r;

	for (;;) {
		size_t n;

		p += strspn(p, " \t,");
		if (*p == '\0')
			return 0;
		n = strcspn(p, " \t,");
		if ((r = fn(ctx, p, n)) < 0)
			return r;
		p += n;
	}
}

static int
nap_add_exempt_mac(void *ctx, const char *tok, size_t n)
{
	struct dhcpd_scope_nap *sn = ctx;
	uint8_t mac[6];

	if (nap_parse_mac(tok, n, mac) < 0)
		return -EINVAL;
	for (size_t i = 0; i < sn->n_exempt_macs; i++)
		if (memcmp(sn->exempt_macs[i], mac, 6) == 0)
			return 0;
	if (sn->n_exempt_macs >= DHCPD_NAP_MAX_EXEMPT_MACS)
		return -E2BIG;
	memcpy(sn->exempt_macs[sn->n_exempt_macs++], mac, 6);
	return 0;
}

static int
nap_add_remediation(void *ctx, const char *tok, size_t n)
{
	struct dhcpd_scope_nap *sn = ctx;
	char buf[INET_ADDRSTRLEN];

	if (n >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, tok, n);
	buf[n] = '\0';
	if (sn->n_remediation >= DHCPD_NAP_MAX_REMEDIATION)
		return -E2BIG;
	if (inet_pton(AF_INET, buf, sn->remediation[sn->n_remediation]) != 1)
		return -EINVAL;
	sn->n_remediation++;
	return 0;
}

void
dhcpd_scope_nap_init(struct dhcpd_scope_nap *sn)
{
	memset(sn, 0, sizeof(*sn));
	sn->enabled = false;
	sn->incapable = DHCPD_NAP_MODE_FULL;
	sn->fail = DHCPD_NAP_MODE_FULL;
	sn->n_exempt_classes = 1;
	snprintf(sn->exempt_classes[0], sizeof(sn->exempt_classes[0]), "%s",
		 DHCPD_NAP_DEFAULT_USER_CLASS);
	sn->restricted_lease_time = NAP_DEFAULT_RESTRICTED_LEASE;
	sn->cache_ttl = NAP_DEFAULT_CACHE_TTL;
}

/* A name napvd or a client sees: printable ASCII, 1..63 bytes. */
static bool
nap_name_ok(const char *v)
{
	size_t n = strlen(v);

	if (n == 0 || n > DHCPD_NAP_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)v[i] < 0x20 || (unsigned char)v[i] >= 0x7f)
			return false;
	return true;
}

int
dhcpd_scope_nap_set(struct dhcpd_scope_nap *sn, const char *key, const char *value, char *err,
		    size_t len)
{
	int r;

	if (strcmp(key, "nap") == 0) {
		if (nap_parse_bool(value, &sn->enabled) < 0)
			return nap_conf_err(-EINVAL, err, len, "nap: \"%s\" is not on or off", value);
		return 0;
	}
	if (strcmp(key, "nap_incapable") == 0 || strcmp(key, "nap_fail") == 0) {
		enum dhcpd_nap_mode *m = key[4] == 'i' ? &sn->incapable : &sn->fail;

		if (nap_parse_mode(value, m) < 0)
			return nap_conf_err(-EINVAL, err, len,
					    "%s: \"%s\" is not full, restricted or drop", key,
					    value);
		return 0;
	}
	if (strcmp(key, "exempt_mac") == 0) {
		r = nap_each_token(value, nap_add_exempt_mac, sn);
		if (r == -E2BIG)
			return nap_conf_err(r, err, len, "exempt_mac: more than %d MAC addresses",
					    DHCPD_NAP_MAX_EXEMPT_MACS);
		if (r < 0)
			return nap_conf_err(r, err, len,
					    "exempt_mac: \"%s\" is not a list of MAC addresses "
					    "(aa:bb:cc:dd:ee:ff)",
					    value);
		return 0;
	}
	if (strcmp(key, "exempt_user_class") == 0) {
		if (!sn->exempt_classes_set) {
			sn->exempt_classes_set = true;
			sn->n_exempt_classes = 0;
		}
		if (strcasecmp(value, "none") == 0) {
			sn->n_exempt_classes = 0;
			return 0;
		}
		if (!nap_name_ok(value))
			return nap_conf_err(-EINVAL, err, len,
					    "exempt_user_class: \"%s\" must be 1 to %d printable "
					    "characters",
					    value, DHCPD_NAP_NAME_MAX);
		if (sn->n_exempt_classes >= DHCPD_NAP_MAX_EXEMPT_CLASSES)
			return nap_conf_err(-E2BIG, err, len, "exempt_user_class: more than %d",
					    DHCPD_NAP_MAX_EXEMPT_CLASSES);
		snprintf(sn->exempt_classes[sn->n_exempt_classes++], DHCPD_NAP_NAME_MAX + 1, "%s",
			 value);
		return 0;
	}
	if (strcmp(key, "restricted_lease_time") == 0) {
		if (nap_parse_seconds(value, &sn->restricted_lease_time) < 0 ||
		    sn->restricted_lease_time < 10)
			return nap_conf_err(-EINVAL, err, len,
					    "restricted_lease_time: \"%s\" is not a duration of "
					    "10 s or more",
					    value);
		return 0;
	}
	if (strcmp(key, "verdict_cache_ttl") == 0) {
		if (nap_parse_seconds(value, &sn->cache_ttl) < 0 || sn->cache_ttl > 86400)
			return nap_conf_err(-EINVAL, err, len,
					    "verdict_cache_ttl: \"%s\" is not a duration up to 1 d "
					    "(0 = off)",
					    value);
		return 0;
	}
	if (strcmp(key, "service_class") == 0) {
		if (value[0] != '\0' && !nap_name_ok(value))
			return nap_conf_err(-EINVAL, err, len,
					    "service_class: \"%s\" must be up to %d printable "
					    "characters",
					    value, DHCPD_NAP_NAME_MAX);
		snprintf(sn->service_class, sizeof(sn->service_class), "%s", value);
		return 0;
	}
	if (strcmp(key, "nap_remediation") == 0) {
		r = nap_each_token(value, nap_add_remediation, sn);
		if (r < 0)
			return nap_conf_err(r, err, len,
					    "nap_remediation: \"%s\" is not a list of at most %d "
					    "IPv4 addresses",
					    value, DHCPD_NAP_MAX_REMEDIATION);
		return 0;
	}
	return 1;
}

void
dhcpd_nap_servers_init(struct dhcpd_nap_servers *s)
{
	memset(s, 0, sizeof(*s));
	s->timeout_ms = NAP_DEFAULT_TIMEOUT_MS;
	s->retries = NAP_DEFAULT_RETRIES;
	s->holddown_ms = NAP_DEFAULT_HOLDDOWN_MS;
	snprintf(s->nas_identifier, sizeof(s->nas_identifier), "napdhcpd");
	s->cache_size = NAP_DEFAULT_CACHE_SIZE;
}

static int
nap_add_server(void *ctx, const char *tok, size_t n)
{
	struct dhcpd_nap_servers *s = ctx;

	if (n >= sizeof(s->server[0]))
		return -EINVAL;
	if (s->n_servers >= DHCPD_NAP_MAX_SERVERS)
		return -E2BIG;
	memcpy(s->server[s->n_servers], tok, n);
	s->server[s->n_servers][n] = '\0';
	s->n_servers++;
	return 0;
}

int
dhcpd_nap_servers_set(struct dhcpd_nap_servers *s, const char *key, const char *value, char *err,
		      size_t len)
{
	int r;

	if (strcmp(key, "server") == 0) {
		r = nap_each_token(value, nap_add_server, s);
		if (r == -E2BIG)
			return nap_conf_err(r, err, len, "server: more than %d napvd servers",
					    DHCPD_NAP_MAX_SERVERS);
		if (r < 0)
			return nap_conf_err(r, err, len, "server: \"%s\" is too long", value);
		return 0;
	}
	if (strcmp(key, "secret_file") == 0) {
		if (value[0] == '\0' || strlen(value) >= sizeof(s->secret_file))
			return nap_conf_err(-EINVAL, err, len, "secret_file: empty or too long");
		snprintf(s->secret_file, sizeof(s->secret_file), "%s", value);
		return 0;
	}
	if (strcmp(key, "timeout") == 0) {
		if (nap_parse_ms(value, &s->timeout_ms) < 0)
			return nap_conf_err(-EINVAL, err, len,
					    "timeout: \"%s\" is not a duration (\"500ms\", \"1s\"; "
					    "at most 600 s)",
					    value);
		return 0;
	}
	if (strcmp(key, "holddown") == 0) {
		if (nap_parse_ms(value, &s->holddown_ms) < 0)
			return nap_conf_err(-EINVAL, err, len,
					    "holddown: \"%s\" is not a duration (at most 600 s)",
					    value);
		return 0;
	}
	if (strcmp(key, "retries") == 0) {
		char *end;
		unsigned long v;

		errno = 0;
		v = strtoul(value, &end, 10);
		if (errno != 0 || end == value || *end != '\0' || v > 10)
			return nap_conf_err(-EINVAL, err, len, "retries: \"%s\" is not 0 to 10",
					    value);
		s->retries = (uint32_t)v;
		return 0;
	}
	if (strcmp(key, "nas_identifier") == 0) {
		if (!nap_name_ok(value))
			return nap_conf_err(-EINVAL, err, len,
					    "nas_identifier: \"%s\" must be 1 to %d printable "
					    "characters",
					    value, DHCPD_NAP_NAME_MAX);
		snprintf(s->nas_identifier, sizeof(s->nas_identifier), "%s", value);
		return 0;
	}
	if (strcmp(key, "nas_ip") == 0) {
		if (inet_pton(AF_INET, value, s->nas_ip) != 1)
			return nap_conf_err(-EINVAL, err, len,
					    "nas_ip: \"%s\" is not an IPv4 address", value);
		s->has_nas_ip = true;
		return 0;
	}
	if (strcmp(key, "verdict_cache_size") == 0) {
		char *end;
		unsigned long v;

		errno = 0;
		v = strtoul(value, &end, 10);
		if (errno != 0 || end == value || *end != '\0' || v > 4000000)
			return nap_conf_err(-EINVAL, err, len,
					    "verdict_cache_size: \"%s\" is not 0 to 4000000", value);
		s->cache_size = v;
		return 0;
	}
	return 1;
}

/* ---- the daemon-level object ---- */

#define NAP_KEY_LEN (6 + 32)

/* A cached napvd answer. */
struct nap_cache_entry {
	struct nap_cache_entry *hnext;       /* hash chain */
	struct nap_cache_entry *prev, *next; /* LRU: head = most recently used */
	uint8_t key[NAP_KEY_LEN];
	int64_t expires; /* monotonic ms */
	enum dhcpd_nap_action action;
	int64_t grace_until;
	uint8_t n_remediation;
	uint8_t remediation[DHCPD_NAP_MAX_REMEDIATION][4];
	char user_class[DHCPD_NAP_NAME_MAX + 1];
	size_t sohr_len;
	uint8_t sohr[]; /* sohr_len bytes */
};

struct nap_cache {
	size_t max, count, n_buckets;
	struct nap_cache_entry **buckets;
	struct nap_cache_entry *head, *tail;
};

/* One waiter of a check in flight. */
struct nap_waiter {
	dhcpd_nap_done_fn *done;
	void *arg;
	enum dhcpd_nap_mode fail;
	size_t n_remediation; /* the scope's fallback */
	uint8_t remediation[DHCPD_NAP_MAX_REMEDIATION][4];
	uint32_t xid;
};

struct nap_backend;

/* A check in flight. */
struct nap_pending {
	struct nap_pending *hnext;
	struct dhcpd_nap *nap;
	uint8_t key[NAP_KEY_LEN];
	uint32_t cache_ttl;
	size_t n_waiters;
	struct nap_waiter waiters[NAP_MAX_WAITERS];
};

/* The RADIUS client with the secret it borrows. */
struct nap_backend {
	struct nap_radclient *rc;
	struct nap_radius_secret *secret;
	char nas_identifier[DHCPD_NAP_NAME_MAX + 1];
	bool has_nas_ip;
	uint8_t nas_ip[4];
};

struct dhcpd_nap {
	struct nap_backend *cur;     /* NULL: no server configured */
	struct nap_backend *retired; /* the previous one, until its checks are done */
	struct nap_cache cache;
	struct nap_pending *pending[NAP_PENDING_BUCKETS];
	size_t n_pending;
	struct dhcpd_nap_stats st;
	struct nap_radclient_stats retired_radius; /* counters of backends gone */
	int64_t now; /* the caller's clock at the last dhcpd_nap_events() / dhcpd_nap_check() */
	struct nap_radius_builder b;
};

static void
nap_backend_free(struct nap_backend *be)
{
	if (be == NULL)
		return;
	nap_radclient_free(be->rc); /* cancelled checks get nap_fail */
	nap_radius_secret_free(be->secret);
	free(be);
}

static int
nap_backend_new(const struct dhcpd_nap_servers *s, struct nap_backend **out, char *err,
		size_t len)
{
	struct nap_radclient_config rc = {0};
	struct nap_backend *be;
	char *secret = NULL;
	unsigned mode = 0;
	char why[256];
	int r;

	*out = NULL;
	if (s->n_servers == 0)
		return 0;
	if (s->secret_file[0] == '\0')
		return nap_conf_err(-EINVAL, err, len, "[napvd]: server given without secret_file");
	be = calloc(1, sizeof(*be));
	if (be == NULL)
		return nap_conf_err(-ENOMEM, err, len, "out of memory");
	r = nap_read_secret_file(s->secret_file, NAP_RADIUS_SECRET_MAX, &secret, &mode, why,
				 sizeof(why));
	if (r < 0) {
		free(be);
		return nap_conf_err(r, err, len, "[napvd] secret_file %s: %s", s->secret_file, why);
	}
	r = nap_radius_secret_new((const uint8_t *)secret, strlen(secret), &be->secret);
	nap_wipe(secret, strlen(secret));
	free(secret);
	if (r < 0) {
		free(be);
		return nap_conf_err(r, err, len, "[napvd] secret: %s", strerror(-r));
	}
	rc.n_servers = s->n_servers;
	for (size_t i = 0; i < s->n_servers; i++) {
		r = nap_radclient_server_parse(&rc.servers[i], s->server[i], be->secret);
		if (r < 0) {
			nap_backend_free(be);
			return nap_conf_err(r, err, len,
					    "[napvd] server \"%s\": %s (want ADDR:PORT or "
					    "[V6ADDR]:PORT)",
					    s->server[i],
					    r == -EHOSTUNREACH ? "does not resolve" : "malformed");
		}
	}
	rc.timeout_ms = s->timeout_ms;
	rc.retries = s->retries;
	rc.holddown_ms = s->holddown_ms;
	r = nap_radclient_new(&rc, &be->rc);
	if (r < 0) {
		nap_backend_free(be);
		return nap_conf_err(r, err, len, "[napvd]: %s", strerror(-r));
	}
	snprintf(be->nas_identifier, sizeof(be->nas_identifier), "%s", s->nas_identifier);
	be->has_nas_ip = s->has_nas_ip;
	memcpy(be->nas_ip, s->nas_ip, 4);
	*out = be;
	return 0;
}

static int
nap_cache_init(struct nap_cache *c, size_t max)
{
	size_t nb = 16;

	c->max = max;
	while (nb < max && nb < ((size_t)1 << 22))
		nb <<= 1;
	c->n_buckets = nb;
	c->buckets = calloc(nb, sizeof(*c->buckets));
	return c->buckets == NULL ? -ENOMEM : 0;
}

int
dhcpd_nap_new(const struct dhcpd_nap_servers *servers, struct dhcpd_nap **out, char *err,
	      size_t len)
{
	struct dhcpd_nap *nap;
	int r;

	*out = NULL;
	nap = calloc(1, sizeof(*nap));
	if (nap == NULL)
		return nap_conf_err(-ENOMEM, err, len, "out of memory");
	if (nap_cache_init(&nap->cache, servers->cache_size) < 0) {
		free(nap);
		return nap_conf_err(-ENOMEM, err, len, "out of memory");
	}
	if ((r = nap_backend_new(servers, &nap->cur, err, len)) < 0) {
		free(nap->cache.buckets);
		free(nap);
		return r;
	}
	*out = nap;
	return 0;
}

static void
nap_add_radius_stats(struct nap_radclient_stats *acc, const struct nap_radclient_stats *s)
{
	acc->requests += s->requests;
	acc->replies += s->replies;
	acc->timeouts += s->timeouts;
	acc->cancelled += s->cancelled;
	acc->failovers += s->failovers;
	acc->retransmits += s->retransmits;
	acc->malformed += s->malformed;
	acc->unexpected += s->unexpected;
	acc->bad_auth += s->bad_auth;
	acc->send_errors += s->send_errors;
}

/* Fold a backend's counters into the retired totals, then free it (checks still in flight
 * get the scope's nap_fail through their callbacks). */
static void
nap_fold_and_free(struct dhcpd_nap *nap, struct nap_backend *be)
{
	struct nap_radclient_stats st;

	if (be == NULL)
		return;
	nap_radclient_get_stats(be->rc, &st);
	st.cancelled += st.outstanding;
	nap_add_radius_stats(&nap->retired_radius, &st);
	nap_backend_free(be);
}

int
dhcpd_nap_reconfigure(struct dhcpd_nap *nap, const struct dhcpd_nap_servers *servers, char *err,
		      size_t len)
{
	struct nap_backend *be;
	int r;

	if ((r = nap_backend_new(servers, &be, err, len)) < 0)
		return r;
	/* Only one generation drains at a time: an older one still busy gives up now. */
	nap_fold_and_free(nap, nap->retired);
	nap->retired = nap->cur;
	nap->cur = be;
	if (nap->retired != NULL) {
		struct nap_radclient_stats st;

		nap_radclient_get_stats(nap->retired->rc, &st);
		if (st.outstanding == 0) {
			nap_fold_and_free(nap, nap->retired);
			nap->retired = NULL;
		}
	}
	if (servers->cache_size != nap->cache.max)
		nap->cache.max = servers->cache_size; /* shrinks lazily on the next inserts */
	return 0;
}

static void nap_cache_clear(struct nap_cache *c);

void
dhcpd_nap_free(struct dhcpd_nap *nap)
{
	if (nap == NULL)
		return;
	/* No callbacks: forget the waiters before the clients cancel. */
	for (size_t i = 0; i < NAP_PENDING_BUCKETS; i++)
		for (struct nap_pending *p = nap->pending[i]; p != NULL; p = p->hnext)
			p->n_waiters = 0;
	nap_backend_free(nap->retired);
	nap_backend_free(nap->cur);
	nap_cache_clear(&nap->cache);
	free(nap->cache.buckets);
	free(nap);
}

size_t
dhcpd_nap_pollfds(const struct dhcpd_nap *nap, struct pollfd *fds, size_t cap)
{
	size_t n = 0;

	if (nap->cur != NULL)
		n += nap_radclient_pollfds(nap->cur->rc, fds, cap);
	if (nap->retired != NULL)
		n += nap_radclient_pollfds(nap->retired->rc, fds + n, cap - n);
	return n;
}

void
dhcpd_nap_events(struct dhcpd_nap *nap, const struct pollfd *fds, size_t n, int64_t now_ms)
{
	/* Callbacks may reconfigure nothing (they are dhcpd-core's reply path), so cur and
	 * retired stay put while they run. */
	nap->now = now_ms;
	if (nap->cur != NULL) {
		nap_radclient_events(nap->cur->rc, fds, n, now_ms);
		nap_radclient_timers(nap->cur->rc, now_ms);
	}
	if (nap->retired != NULL) {
		struct nap_radclient_stats st;

		nap_radclient_events(nap->retired->rc, fds, n, now_ms);
		nap_radclient_timers(nap->retired->rc, now_ms);
		nap_radclient_get_stats(nap->retired->rc, &st);
		if (st.outstanding == 0) {
			nap_fold_and_free(nap, nap->retired);
			nap->retired = NULL;
		}
	}
}

int64_t
dhcpd_nap_next_deadline(const struct dhcpd_nap *nap)
{
	int64_t a = nap->cur != NULL ? nap_radclient_next_deadline(nap->cur->rc) : -1;
	int64_t b = nap->retired != NULL ? nap_radclient_next_deadline(nap->retired->rc) : -1;

	if (a < 0)
		return b;
	if (b < 0)
		return a;
	return a < b ? a : b;
}

/* ---- classification ---- */

static bool
nap_mac_exempt(const struct dhcpd_scope_nap *sn, const struct nap_dhcp_packet *pkt)
{
	if (pkt->hdr.htype != 1 || pkt->hdr.hlen != 6)
		return false;
	for (size_t i = 0; i < sn->n_exempt_macs; i++)
		if (memcmp(sn->exempt_macs[i], pkt->hdr.chaddr, 6) == 0)
			return true;
	return false;
}

enum dhcpd_nap_decision
dhcpd_nap_classify(const struct dhcpd_scope_nap *sn, const struct nap_dhcp_packet *pkt,
		   const struct nap_dhcp_nap *nap)
{
	int type = nap_dhcp_message_type(pkt);
	enum nap_dhcp_soh_kind kind =
		nap != NULL && nap->present ? nap->soh_kind : NAP_DHCP_SOH_ABSENT;

	if (sn == NULL || !sn->enabled)
		return DHCPD_NAP_PLAIN;
	if (type != NAP_DHCPDISCOVER && type != NAP_DHCPREQUEST && type != NAP_DHCPINFORM)
		return DHCPD_NAP_PLAIN;
	for (size_t i = 0; i < sn->n_exempt_classes; i++)
		if (nap_dhcp_user_class_has(pkt, sn->exempt_classes[i]))
			return DHCPD_NAP_EXEMPT;
	if (nap_mac_exempt(sn, pkt))
		return DHCPD_NAP_EXEMPT;
	if (type == NAP_DHCPDISCOVER || type == NAP_DHCPINFORM) {
		if (kind == NAP_DHCP_SOH_PROBE || kind == NAP_DHCP_SOH_PROBE_RENEW ||
		    kind == NAP_DHCP_SOH_DATA)
			return DHCPD_NAP_MARKER;
		return DHCPD_NAP_PLAIN;
	}
	if (kind == NAP_DHCP_SOH_DATA && nap->soh_len > 0)
		return DHCPD_NAP_CHECK;
	return DHCPD_NAP_INCAPABLE;
}

void
dhcpd_nap_count_decision(struct dhcpd_nap *nap, enum dhcpd_nap_decision d)
{
	if (nap != NULL && (unsigned)d < DHCPD_NAP_DECISION_COUNT)
		nap->st.decisions[d]++;
}

/* ---- verdicts ---- */

static enum dhcpd_nap_action
nap_mode_action(enum dhcpd_nap_mode m)
{
	switch (m) {
	case DHCPD_NAP_MODE_RESTRICTED:
		return DHCPD_NAP_ACT_RESTRICTED;
	case DHCPD_NAP_MODE_DROP:
		return DHCPD_NAP_ACT_DROP;
	default:
		return DHCPD_NAP_ACT_FULL;
	}
}

static void
nap_count_verdict(struct dhcpd_nap *nap, const struct dhcpd_nap_verdict *v)
{
	if (nap != NULL && (unsigned)v->source < DHCPD_NAP_SRC_COUNT &&
	    (unsigned)v->action < DHCPD_NAP_ACT_COUNT)
		nap->st.verdicts[v->source][v->action]++;
}

static void
nap_verdict_fallback_remediation(struct dhcpd_nap_verdict *v, size_t n,
				 const uint8_t (*rem)[4])
{
	if (v->action != DHCPD_NAP_ACT_RESTRICTED || v->n_remediation != 0)
		return;
	v->n_remediation = n;
	memcpy(v->remediation, rem, 4 * n);
}

void
dhcpd_nap_verdict_local(struct dhcpd_nap *nap, const struct dhcpd_scope_nap *sn,
			enum dhcpd_nap_decision d, struct dhcpd_nap_verdict *v)
{
	memset(v, 0, offsetof(struct dhcpd_nap_verdict, sohr));
	v->latency_ms = 0;
	if (d == DHCPD_NAP_INCAPABLE) {
		v->source = DHCPD_NAP_SRC_INCAPABLE;
		v->action = nap_mode_action(sn->incapable);
		nap_verdict_fallback_remediation(v, sn->n_remediation, sn->remediation);
	} else {
		v->source = DHCPD_NAP_SRC_EXEMPT;
		v->action = DHCPD_NAP_ACT_FULL;
	}
	nap_count_verdict(nap, v);
}

/* The machine name of option 81 (RFC 4702) in dotted form; false when absent or unusable. */
static bool
nap_fqdn_name(const struct nap_dhcp_packet *pkt, char out[DHCPD_NAP_NAME_MAX + 1])
{
	struct nap_cbs cbs;
	const uint8_t *p;
	size_t n, o = 0;
	uint8_t flags;

	if (!nap_dhcp_get_bytes(pkt, NAP_DHCP_OPT_CLIENT_FQDN, &cbs) || nap_cbs_len(&cbs) < 4)
		return false;
	p = nap_cbs_data(&cbs);
	n = nap_cbs_len(&cbs);
	flags = p[0];
	p += 3;
	n -= 3;
	if (flags & 0x04) { /* E: canonical wire format */
		size_t i = 0;

		while (i < n && p[i] != 0) {
			size_t l = p[i++];

			if (l > 63 || i + l > n)
				return false;
			if (o != 0) {
				if (o >= DHCPD_NAP_NAME_MAX)
					return false;
				out[o++] = '.';
			}
			if (o + l > DHCPD_NAP_NAME_MAX)
				return false;
			memcpy(out + o, p + i, l);
			o += l;
			i += l;
		}
	} else {
		while (n > 0 && p[n - 1] == '\0')
			n--;
		if (n > DHCPD_NAP_NAME_MAX)
			return false;
		memcpy(out, p, n);
		o = n;
	}
	out[o] = '\0';
	return o > 0 && nap_name_ok(out);
}

static bool
nap_plain_name(const uint8_t *p, size_t n, char out[DHCPD_NAP_NAME_MAX + 1])
{
	while (n > 0 && p[n - 1] == '\0')
		n--;
	if (n == 0 || n > DHCPD_NAP_NAME_MAX)
		return false;
	memcpy(out, p, n);
	out[n] = '\0';
	return nap_name_ok(out);
}

void
dhcpd_nap_query_init(struct dhcpd_nap_query *q, const struct dhcpd_scope_nap *sn,
		     const struct nap_dhcp_packet *pkt, const struct nap_dhcp_nap *nap)
{
	struct nap_cbs cbs;

	memset(q, 0, sizeof(*q));
	q->sn = sn;
	memcpy(q->mac, pkt->hdr.chaddr, 6);
	q->xid = pkt->hdr.xid;
	if (nap != NULL && nap->present && nap->soh_kind == NAP_DHCP_SOH_DATA) {
		q->soh = nap->soh;
		q->soh_len = nap->soh_len;
	}
	if (nap_fqdn_name(pkt, q->machine_name))
		return;
	if (nap_dhcp_get_bytes(pkt, NAP_DHCP_OPT_HOSTNAME, &cbs) &&
	    nap_plain_name(nap_cbs_data(&cbs), nap_cbs_len(&cbs), q->machine_name))
		return;
	q->machine_name[0] = '\0';
	if (q->soh_len > 0) {
		struct nap_soh *soh = malloc(sizeof(*soh));
		struct nap_err err = {0};

		if (soh != NULL && nap_soh_decode(q->soh, q->soh_len, soh, &err) == 0 &&
		    soh->has_ssoh && nap_ssoh_has(&soh->ssoh, NAP_SSOH_MACHINE_NAME) &&
		    !nap_plain_name(soh->ssoh.machine_name, soh->ssoh.machine_name_len,
				    q->machine_name))
			q->machine_name[0] = '\0';
		free(soh);
	}
}

/* ---- cache ---- */

static size_t
nap_key_hash(const uint8_t key[NAP_KEY_LEN], size_t n_buckets)
{
	uint64_t h;

	/* The SHA-256 half is uniform; mix the MAC in. */
	memcpy(&h, key + 6, sizeof(h));
	for (size_t i = 0; i < 6; i++)
		h = (h ^ key[i]) * 0x100000001b3ULL;
	return (size_t)(h & (n_buckets - 1));
}

static void
nap_lru_unlink(struct nap_cache *c, struct nap_cache_entry *e)
{
	if (e->prev != NULL)
		e->prev->next = e->next;
	else
		c->head = e->next;
	if (e->next != NULL)
		e->next->prev = e->prev;
	else
		c->tail = e->prev;
	e->prev = e->next = NULL;
}

static void
nap_lru_push(struct nap_cache *c, struct nap_cache_entry *e)
{
	e->prev = NULL;
	e->next = c->head;
	if (c->head != NULL)
		c->head->prev = e;
	else
		c->tail = e;
	c->head = e;
}

static void
nap_cache_remove(struct nap_cache *c, struct nap_cache_entry *e)
{
	struct nap_cache_entry **pp = &c->buckets[nap_key_hash(e->key, c->n_buckets)];

	while (*pp != NULL && *pp != e)
		pp = &(*pp)->hnext;
	if (*pp == e)
		*pp = e->hnext;
	nap_lru_unlink(c, e);
	c->count--;
	free(e);
}

static void
nap_cache_clear(struct nap_cache *c)
{
	while (c->head != NULL)
		nap_cache_remove(c, c->head);
}

static struct nap_cache_entry *
nap_cache_find(struct nap_cache *c, const uint8_t key[NAP_KEY_LEN], int64_t now)
{
	struct nap_cache_entry *e = c->buckets[nap_key_hash(key, c->n_buckets)];

	for (; e != NULL; e = e->hnext) {
		if (memcmp(e->key, key, NAP_KEY_LEN) != 0)
			continue;
		if (e->expires <= now) {
			nap_cache_remove(c, e);
			return NULL;
		}
		nap_lru_unlink(c, e);
		nap_lru_push(c, e);
		return e;
	}
	return NULL;
}

static void
nap_cache_put(struct dhcpd_nap *nap, const uint8_t key[NAP_KEY_LEN],
	      const struct dhcpd_nap_verdict *v, int64_t now, int64_t expires)
{
	struct nap_cache *c = &nap->cache;
	struct nap_cache_entry *e, *old;
	size_t b;

	if (c->max == 0)
		return;
	/* Replace an older answer for the same key. */
	b = nap_key_hash(key, c->n_buckets);
	for (old = c->buckets[b]; old != NULL; old = old->hnext) {
		if (memcmp(old->key, key, NAP_KEY_LEN) == 0) {
			nap_cache_remove(c, old);
			break;
		}
	}
	while (c->count >= c->max && c->tail != NULL) {
		/* The least recently used goes; an expired one is not an eviction. */
		if (c->tail->expires > now)
			nap->st.cache_evictions++;
		nap_cache_remove(c, c->tail);
	}
	e = malloc(sizeof(*e) + v->sohr_len);
	if (e == NULL)
		return;
	memset(e, 0, sizeof(*e));
	memcpy(e->key, key, NAP_KEY_LEN);
	e->expires = expires;
	e->action = v->action;
	e->grace_until = v->grace_until;
	e->n_remediation = (uint8_t)v->n_remediation;
	memcpy(e->remediation, v->remediation, 4 * v->n_remediation);
	memcpy(e->user_class, v->user_class, sizeof(e->user_class));
	e->sohr_len = v->sohr_len;
	memcpy(e->sohr, v->sohr, v->sohr_len);
	e->hnext = c->buckets[b];
	c->buckets[b] = e;
	nap_lru_push(c, e);
	c->count++;
}

static void
nap_cache_verdict(const struct nap_cache_entry *e, struct dhcpd_nap_verdict *v)
{
	memset(v, 0, offsetof(struct dhcpd_nap_verdict, sohr));
	v->action = e->action;
	v->source = DHCPD_NAP_SRC_CACHE;
	v->from_cache = true;
	v->grace_until = e->grace_until;
	v->n_remediation = e->n_remediation;
	memcpy(v->remediation, e->remediation, 4 * (size_t)e->n_remediation);
	memcpy(v->user_class, e->user_class, sizeof(v->user_class));
	v->sohr_len = e->sohr_len;
	memcpy(v->sohr, e->sohr, e->sohr_len);
	v->latency_ms = 0;
}

/* MAC, then SHA-256 over the service class, a NUL and the SoH. The digest method and context
 * are made once (napdhcpd is single-threaded; this is on every NAP request's path). */
static int
nap_make_key(const struct dhcpd_nap_query *q, uint8_t key[NAP_KEY_LEN])
{
	static EVP_MD *md;
	static EVP_MD_CTX *ctx;
	const char *sc = q->sn->service_class;
	unsigned n = 0;

	if (md == NULL && (md = EVP_MD_fetch(NULL, "SHA256", NULL)) == NULL)
		return -EIO;
	if (ctx == NULL && (ctx = EVP_MD_CTX_new()) == NULL)
		return -ENOMEM;
	memcpy(key, q->mac, 6);
	if (EVP_DigestInit_ex(ctx, md, NULL) != 1 ||
	    EVP_DigestUpdate(ctx, sc, strlen(sc) + 1) != 1 ||
	    EVP_DigestUpdate(ctx, q->soh, q->soh_len) != 1 ||
	    EVP_DigestFinal_ex(ctx, key + 6, &n) != 1 || n != 32)
		return -EIO;
	return 0;
}

/* ---- napvd answers ---- */

static void
nap_observe_latency(struct dhcpd_nap *nap, int64_t ms)
{
	double s = (double)ms / 1000.0;

	for (size_t i = 0; i < DHCPD_NAP_LAT_BUCKETS; i++) {
		if (s <= dhcpd_nap_lat_bounds[i]) {
			nap->st.lat_buckets[i]++;
			break;
		}
	}
	nap->st.lat_count++;
	nap->st.lat_sum += s;
}

/*
 * Map napvd's answer (engine.c: Access-Accept with MS-Quarantine-State, MS-Extended-Quarantine-
 * State, MS-Quarantine-Grace-Time for probation, MS-IPv4-Remediation-Servers and
 * MS-Quarantine-User-Class for restricted, the SoHR split over MS-Quarantine-SoH; or
 * Access-Reject). Returns false for an answer that does not map.
 */
bool
dhcpd_nap_map_reply(const struct nap_radius_packet *r, struct dhcpd_nap_verdict *v)
{
	const struct nap_radius_attr *a;
	uint32_t state = NAP_MS_QSTATE_FULL_ACCESS, grace;
	long n;

	memset(v, 0, offsetof(struct dhcpd_nap_verdict, sohr));
	v->sohr_len = 0;
	v->source = DHCPD_NAP_SRC_NAPVD;
	if (r->code == NAP_RADIUS_ACCESS_REJECT) {
		v->action = DHCPD_NAP_ACT_DROP;
		return true;
	}
	if (r->code != NAP_RADIUS_ACCESS_ACCEPT)
		return false;
	a = nap_radius_find_vsa(r, NAP_RADIUS_VENDOR_MS, NAP_MS_QUARANTINE_STATE);
	if (a != NULL && !nap_radius_attr_u32(a, &state))
		return false;
	switch (state) {
	case NAP_MS_QSTATE_FULL_ACCESS:
		v->action = DHCPD_NAP_ACT_FULL;
		break;
	case NAP_MS_QSTATE_RESTRICTED:
		v->action = DHCPD_NAP_ACT_RESTRICTED;
		break;
	case NAP_MS_QSTATE_PROBATION:
		v->action = DHCPD_NAP_ACT_PROBATION;
		break;
	default:
		return false;
	}
	a = nap_radius_find_vsa(r, NAP_RADIUS_VENDOR_MS, NAP_MS_QUARANTINE_GRACE_TIME);
	if (a != NULL && nap_radius_attr_u32(a, &grace))
		v->grace_until = grace;
	/* Remediation servers: reserved byte + N * 4, possibly in several VSAs. */
	for (uint16_t i = 0; i < r->n_attrs; i++) {
		a = &r->attrs[i];
		if (a->type != NAP_RADIUS_VENDOR_SPECIFIC || a->vendor != NAP_RADIUS_VENDOR_MS ||
		    a->vendor_type != NAP_MS_IPV4_REMEDIATION_SERVERS)
			continue;
		if (a->len < 5 || (a->len - 1) % 4 != 0) {
			LOG_WARNX_RL("nap: napvd sent MS-IPv4-Remediation-Servers of %u bytes; "
				     "ignored",
				     a->len);
			continue;
		}
		for (size_t k = 1; k + 4 <= a->len; k += 4) {
			if (v->n_remediation >= DHCPD_NAP_MAX_REMEDIATION)
				break;
			memcpy(v->remediation[v->n_remediation++], a->value + k, 4);
		}
	}
	a = nap_radius_find_vsa(r, NAP_RADIUS_VENDOR_MS, NAP_MS_QUARANTINE_USER_CLASS);
	if (a != NULL && !nap_plain_name(a->value, a->len, v->user_class)) {
		LOG_WARNX_RL("nap: napvd sent an unusable MS-Quarantine-User-Class; ignored");
		v->user_class[0] = '\0';
	}
	n = nap_radius_ms_concat(r, NAP_MS_QUARANTINE_SOH, v->sohr, sizeof(v->sohr));
	if (n < 0)
		LOG_WARNX_RL("nap: napvd's SoHR is over %zu bytes; not forwarded", sizeof(v->sohr));
	else
		v->sohr_len = (size_t)n;
	return true;
}

static void
nap_pending_unlink(struct dhcpd_nap *nap, struct nap_pending *p)
{
	struct nap_pending **pp = &nap->pending[nap_key_hash(p->key, NAP_PENDING_BUCKETS)];

	while (*pp != NULL && *pp != p)
		pp = &(*pp)->hnext;
	if (*pp == p) {
		*pp = p->hnext;
		nap->n_pending--;
	}
}

static void
nap_deliver(struct dhcpd_nap *nap, const struct nap_waiter *w, struct dhcpd_nap_verdict *v)
{
	nap_count_verdict(nap, v);
	log_debug("nap: xid 0x%08x: %s from %s%s", w->xid, dhcpd_nap_action_name(v->action),
		  dhcpd_nap_source_name(v->source), v->user_class[0] ? " (user class)" : "");
	w->done(w->arg, v);
}

static void
nap_on_reply(void *arg, const struct nap_radclient_result *res)
{
	struct nap_pending *p = arg;
	struct dhcpd_nap *nap = p->nap;
	struct dhcpd_nap_verdict *base, *out;
	bool mapped = false;
	int64_t now = nap->now;

	/* Out of the table first: a callback may start a check for the same key. */
	nap_pending_unlink(nap, p);
	base = malloc(sizeof(*base));
	out = malloc(sizeof(*out));
	if (res->status == NAP_RADCLIENT_REPLY) {
		nap_observe_latency(nap, res->rtt_ms);
		if (base != NULL)
			mapped = dhcpd_nap_map_reply(res->reply, base);
		if (!mapped) {
			nap->st.bad_replies++;
			LOG_WARNX_RL("nap: napvd's %s does not map to a verdict (bad "
				     "MS-Quarantine-State?); using nap_fail",
				     nap_radius_code_name(res->reply->code));
		}
	} else if (res->status == NAP_RADCLIENT_TIMEOUT) {
		LOG_WARNX_RL("nap: no napvd answered after %u attempt(s); using nap_fail",
			     res->attempts);
	}
	if (mapped) {
		base->latency_ms = res->rtt_ms;
		if (p->cache_ttl != 0)
			nap_cache_put(nap, p->key, base, now, now + (int64_t)p->cache_ttl * 1000);
	}
	for (size_t i = 0; i < p->n_waiters; i++) {
		struct nap_waiter *w = &p->waiters[i];
		struct dhcpd_nap_verdict local;
		struct dhcpd_nap_verdict *v = out != NULL ? out : &local;

		if (mapped && out != NULL) {
			memcpy(v, base, offsetof(struct dhcpd_nap_verdict, sohr));
			memcpy(v->sohr, base->sohr, base->sohr_len);
			v->latency_ms = base->latency_ms;
		} else {
			memset(v, 0, offsetof(struct dhcpd_nap_verdict, sohr));
			v->source = DHCPD_NAP_SRC_FAIL;
			v->timed_out = true;
			v->action = nap_mode_action(w->fail);
			v->latency_ms = 0;
		}
		nap_verdict_fallback_remediation(v, w->n_remediation,
						 (const uint8_t(*)[4])w->remediation);
		nap_deliver(nap, w, v);
	}
	free(out);
	free(base);
	free(p);
}

static int
nap_build_request(struct dhcpd_nap *nap, const struct nap_backend *be,
		  const struct dhcpd_nap_query *q)
{
	struct nap_radius_builder *b = &nap->b;
	char mac[18];
	int r = 0;

	snprintf(mac, sizeof(mac), "%02X-%02X-%02X-%02X-%02X-%02X", q->mac[0], q->mac[1],
		 q->mac[2], q->mac[3], q->mac[4], q->mac[5]);
	nap_radclient_attrs_init(b, NAP_RADIUS_ACCESS_REQUEST);
	r |= nap_radius_add_u32(b, NAP_RADIUS_SERVICE_TYPE, NAP_RADIUS_SERVICE_AUTHORIZE_ONLY);
	r |= nap_radius_add_ms_u32(b, NAP_MS_NETWORK_ACCESS_SERVER_TYPE, NAP_MS_NAS_DHCP);
	r |= nap_radius_add_ms_u32(b, NAP_MS_IDENTITY_TYPE, 1); /* machine health check only */
	r |= nap_radius_add_attr(b, NAP_RADIUS_CALLING_STATION_ID, mac, strlen(mac));
	if (be->has_nas_ip)
		r |= nap_radius_add_attr(b, NAP_RADIUS_NAS_IP_ADDRESS, be->nas_ip, 4);
	if (be->nas_identifier[0] != '\0')
		r |= nap_radius_add_attr(b, NAP_RADIUS_NAS_IDENTIFIER, be->nas_identifier,
					 strlen(be->nas_identifier));
	if (q->machine_name[0] != '\0')
		r |= nap_radius_add_vsa(b, NAP_RADIUS_VENDOR_MS, NAP_MS_MACHINE_NAME,
					q->machine_name, strlen(q->machine_name));
	if (q->sn->service_class[0] != '\0')
		r |= nap_radius_add_vsa(b, NAP_RADIUS_VENDOR_MS, NAP_MS_SERVICE_CLASS,
					q->sn->service_class, strlen(q->sn->service_class));
	r |= nap_radius_add_ms_split(b, NAP_MS_QUARANTINE_SOH, q->soh, q->soh_len);
	return r != 0 ? -EMSGSIZE : 0;
}

int
dhcpd_nap_check(struct dhcpd_nap *nap, const struct dhcpd_nap_query *q, int64_t now_ms,
		dhcpd_nap_done_fn *done, void *arg)
{
	const struct dhcpd_scope_nap *sn = q->sn;
	uint8_t key[NAP_KEY_LEN];
	struct nap_pending *p;
	struct nap_waiter *w;
	int r;

	if (q->soh == NULL || q->soh_len == 0 || sn == NULL || done == NULL)
		return -EINVAL;
	nap->now = now_ms;
	if ((r = nap_make_key(q, key)) < 0) {
		nap->st.checks_refused++;
		return r;
	}
	if (sn->cache_ttl != 0) {
		struct nap_cache_entry *e = nap_cache_find(&nap->cache, key, now_ms);

		if (e != NULL) {
			struct dhcpd_nap_verdict *v = malloc(sizeof(*v));
			struct nap_waiter cw = {.done = done, .arg = arg, .xid = q->xid};

			if (v != NULL) {
				nap->st.cache_hits++;
				nap_cache_verdict(e, v);
				nap_verdict_fallback_remediation(v, sn->n_remediation,
								 sn->remediation);
				nap_deliver(nap, &cw, v);
				free(v);
				return 0;
			}
		}
		nap->st.cache_misses++;
	}
	/* The same client and SoH already on its way to napvd: wait for that answer. */
	for (p = nap->pending[nap_key_hash(key, NAP_PENDING_BUCKETS)]; p != NULL; p = p->hnext)
		if (memcmp(p->key, key, NAP_KEY_LEN) == 0)
			break;
	if (p != NULL) {
		if (p->n_waiters >= NAP_MAX_WAITERS) {
			nap->st.checks_refused++;
			return -ENOBUFS;
		}
		nap->st.checks_coalesced++;
	} else {
		if (nap->cur == NULL) {
			struct dhcpd_nap_verdict *v = malloc(sizeof(*v));
			struct nap_waiter cw = {.done = done, .arg = arg, .xid = q->xid};

			if (v == NULL) {
				nap->st.checks_refused++;
				return -ENOMEM;
			}
			memset(v, 0, offsetof(struct dhcpd_nap_verdict, sohr));
			v->sohr_len = 0;
			v->source = DHCPD_NAP_SRC_FAIL;
			v->timed_out = true;
			v->action = nap_mode_action(sn->fail);
			nap_verdict_fallback_remediation(v, sn->n_remediation, sn->remediation);
			nap_deliver(nap, &cw, v);
			free(v);
			return 0;
		}
		if ((r = nap_build_request(nap, nap->cur, q)) < 0) {
			nap->st.checks_refused++;
			LOG_WARNX_RL("nap: xid 0x%08x: the Access-Request does not fit (SoH of %zu "
				     "bytes)",
				     q->xid, q->soh_len);
			return r;
		}
		p = calloc(1, sizeof(*p));
		if (p == NULL) {
			nap->st.checks_refused++;
			return -ENOMEM;
		}
		p->nap = nap;
		memcpy(p->key, key, NAP_KEY_LEN);
		p->cache_ttl = sn->cache_ttl;
		r = nap_radclient_request(nap->cur->rc, &nap->b, now_ms, nap_on_reply, p, NULL);
		if (r < 0) {
			free(p);
			nap->st.checks_refused++;
			LOG_WARNX_RL("nap: xid 0x%08x: cannot ask napvd: %s", q->xid, strerror(-r));
			return r;
		}
		p->hnext = nap->pending[nap_key_hash(key, NAP_PENDING_BUCKETS)];
		nap->pending[nap_key_hash(key, NAP_PENDING_BUCKETS)] = p;
		nap->n_pending++;
		nap->st.checks_started++;
	}
	w = &p->waiters[p->n_waiters++];
	w->done = done;
	w->arg = arg;
	w->fail = sn->fail;
	w->xid = q->xid;
	w->n_remediation = sn->n_remediation;
	memcpy(w->remediation, sn->remediation, sizeof(w->remediation));
	return 0;
}

/* ---- reply building ---- */

bool
dhcpd_nap_restricts(const struct dhcpd_nap_verdict *v)
{
	return v != NULL && v->action == DHCPD_NAP_ACT_RESTRICTED;
}

uint32_t
dhcpd_nap_lease_time(const struct dhcpd_nap_verdict *v, const struct dhcpd_scope_nap *sn,
		     uint32_t lease, int64_t now_unix)
{
	if (v == NULL)
		return lease;
	if (v->action == DHCPD_NAP_ACT_RESTRICTED && sn != NULL && sn->restricted_lease_time != 0 &&
	    sn->restricted_lease_time < lease)
		return sn->restricted_lease_time;
	if (v->action == DHCPD_NAP_ACT_PROBATION && v->grace_until > 0) {
		int64_t left = v->grace_until - now_unix;

		if (left < 1)
			return 1;
		if (left < (int64_t)lease)
			return (uint32_t)left;
	}
	return lease;
}

static bool
nap_in_subnet(const struct dhcpd_nap_net *net, const uint8_t a[4])
{
	for (size_t i = 0; i < 4; i++)
		if ((a[i] & net->mask[i]) != (net->subnet[i] & net->mask[i]))
			return false;
	return true;
}

/* One RFC 3442 host route: width 32, the four octets, the gateway. */
static size_t
nap_put_route(uint8_t *p, const uint8_t dst[4], const uint8_t gw[4])
{
	p[0] = 32;
	memcpy(p + 1, dst, 4);
	memcpy(p + 5, gw, 4);
	return 9;
}

static int
nap_add_routes(struct nap_dhcp_builder *b, const struct dhcpd_nap_net *net,
	       const struct dhcpd_nap_verdict *v)
{
	static const uint8_t onlink[4] = {0, 0, 0, 0};
	uint8_t buf[9 * (DHCPD_NAP_MAX_REMEDIATION + 1)];
	size_t n = 0;
	int r;

	/* With a /32 mask nothing is on-link: reach the router itself first. */
	if (net->has_router)
		n += nap_put_route(buf + n, net->router, onlink);
	for (size_t i = 0; i < v->n_remediation && i < DHCPD_NAP_MAX_REMEDIATION; i++) {
		const uint8_t *dst = v->remediation[i];

		if (net->has_router && memcmp(dst, net->router, 4) == 0)
			continue;
		n += nap_put_route(buf + n, dst,
				   net->has_router && !nap_in_subnet(net, dst) ? net->router
									       : onlink);
	}
	if (n == 0)
		return 0;
	if ((r = nap_dhcp_add_option(b, NAP_DHCP_OPT_CLASSLESS_ROUTE, buf, n)) < 0)
		return r;
	return nap_dhcp_add_option(b, NAP_DHCP_OPT_MS_CLASSLESS_ROUTE, buf, n);
}

int
dhcpd_nap_add_options(struct nap_dhcp_builder *b, const struct dhcpd_scope_nap *sn,
		      const struct dhcpd_nap_net *net, const struct dhcpd_nap_verdict *v,
		      const struct nap_dhcp_nap *client_nap)
{
	static const uint8_t host_mask[4] = {255, 255, 255, 255};
	struct nap_dhcp_nap *out;
	bool client = client_nap != NULL && client_nap->present;
	bool restricted = dhcpd_nap_restricts(v);
	int r;

	(void)sn;
	if (v != NULL && v->action == DHCPD_NAP_ACT_DROP)
		return 0;
	if (restricted) {
		if ((r = nap_dhcp_add_ipv4(b, NAP_DHCP_OPT_SUBNET_MASK, host_mask)) < 0)
			return r;
		if ((r = nap_add_routes(b, net, v)) < 0)
			return r;
	}
	/* Option 43 only for a client that speaks NAP, and not for an exempt one. */
	if (!client || (v != NULL && v->source == DHCPD_NAP_SRC_EXEMPT))
		return 0;
	out = calloc(1, sizeof(*out));
	if (out == NULL)
		return -ENOMEM;
	out->present = true;
	if (client_nap->has_coid) {
		out->has_coid = true;
		memcpy(out->coid, client_nap->coid, NAP_DHCP_COID_LEN);
	}
	if (v != NULL && v->sohr_len > 0) {
		out->soh_kind = NAP_DHCP_SOH_DATA;
		out->soh = v->sohr;
		out->soh_len = v->sohr_len;
	} else {
		out->soh_kind = NAP_DHCP_SOH_MARKER;
	}
	if (restricted) {
		out->has_mask = true;
		memcpy(out->mask, net->mask, 4);
	}
	r = nap_dhcp_add_nap(b, out);
	free(out);
	return r;
}

/* ---- metrics ---- */

void
dhcpd_nap_get_stats(const struct dhcpd_nap *nap, struct dhcpd_nap_stats *st)
{
	*st = nap->st;
	st->cache_entries = nap->cache.count;
	memset(&st->radius, 0, sizeof(st->radius));
	if (nap->cur != NULL)
		nap_radclient_get_stats(nap->cur->rc, &st->radius);
	nap_add_radius_stats(&st->radius, &nap->retired_radius);
	if (nap->retired != NULL) {
		struct nap_radclient_stats r;

		nap_radclient_get_stats(nap->retired->rc, &r);
		nap_add_radius_stats(&st->radius, &r);
		st->radius.outstanding += r.outstanding;
	}
}

int
dhcpd_nap_metrics_write(const struct dhcpd_nap *nap, FILE *f)
{
	struct dhcpd_nap_stats st;
	uint64_t cum = 0;

	dhcpd_nap_get_stats(nap, &st);
	fprintf(f, "# HELP napdhcpd_nap_decisions_total Requests by NAP classification.\n"
		   "# TYPE napdhcpd_nap_decisions_total counter\n");
	for (size_t d = 0; d < DHCPD_NAP_DECISION_COUNT; d++)
		fprintf(f, "napdhcpd_nap_decisions_total{decision=\"%s\"} %" PRIu64 "\n",
			decision_names[d], st.decisions[d]);
	fprintf(f, "# HELP napdhcpd_nap_verdicts_total NAP verdicts by where they came from and "
		   "the access given.\n"
		   "# TYPE napdhcpd_nap_verdicts_total counter\n");
	for (size_t s = 0; s < DHCPD_NAP_SRC_COUNT; s++)
		for (size_t a = 0; a < DHCPD_NAP_ACT_COUNT; a++)
			fprintf(f,
				"napdhcpd_nap_verdicts_total{source=\"%s\",action=\"%s\"} %" PRIu64
				"\n",
				source_names[s], action_names[a], st.verdicts[s][a]);
	fprintf(f,
		"# HELP napdhcpd_nap_cache_hits_total Checks answered from the verdict cache.\n"
		"# TYPE napdhcpd_nap_cache_hits_total counter\n"
		"napdhcpd_nap_cache_hits_total %" PRIu64 "\n"
		"# HELP napdhcpd_nap_cache_misses_total Checks the verdict cache could not answer.\n"
		"# TYPE napdhcpd_nap_cache_misses_total counter\n"
		"napdhcpd_nap_cache_misses_total %" PRIu64 "\n"
		"# HELP napdhcpd_nap_cache_evictions_total Cached verdicts pushed out by size.\n"
		"# TYPE napdhcpd_nap_cache_evictions_total counter\n"
		"napdhcpd_nap_cache_evictions_total %" PRIu64 "\n"
		"# HELP napdhcpd_nap_cache_entries Cached verdicts now.\n"
		"# TYPE napdhcpd_nap_cache_entries gauge\n"
		"napdhcpd_nap_cache_entries %" PRIu64 "\n"
		"# HELP napdhcpd_nap_checks_total Checks sent to napvd, joined to one in flight, "
		"or refused.\n"
		"# TYPE napdhcpd_nap_checks_total counter\n"
		"napdhcpd_nap_checks_total{result=\"sent\"} %" PRIu64 "\n"
		"napdhcpd_nap_checks_total{result=\"coalesced\"} %" PRIu64 "\n"
		"napdhcpd_nap_checks_total{result=\"refused\"} %" PRIu64 "\n",
		st.cache_hits, st.cache_misses, st.cache_evictions, st.cache_entries,
		st.checks_started, st.checks_coalesced, st.checks_refused);
	fprintf(f, "# HELP napdhcpd_napvd_latency_seconds Time from the first Access-Request to "
		   "napvd's answer.\n"
		   "# TYPE napdhcpd_napvd_latency_seconds histogram\n");
	for (size_t i = 0; i < DHCPD_NAP_LAT_BUCKETS; i++) {
		cum += st.lat_buckets[i];
		fprintf(f, "napdhcpd_napvd_latency_seconds_bucket{le=\"%g\"} %" PRIu64 "\n",
			dhcpd_nap_lat_bounds[i], cum);
	}
	fprintf(f,
		"napdhcpd_napvd_latency_seconds_bucket{le=\"+Inf\"} %" PRIu64 "\n"
		"napdhcpd_napvd_latency_seconds_sum %.6f\n"
		"napdhcpd_napvd_latency_seconds_count %" PRIu64 "\n",
		st.lat_count, st.lat_sum, st.lat_count);
	fprintf(f,
		"# HELP napdhcpd_napvd_requests_total Access-Requests started.\n"
		"# TYPE napdhcpd_napvd_requests_total counter\n"
		"napdhcpd_napvd_requests_total %" PRIu64 "\n"
		"# HELP napdhcpd_napvd_timeouts_total Checks no napvd answered in time.\n"
		"# TYPE napdhcpd_napvd_timeouts_total counter\n"
		"napdhcpd_napvd_timeouts_total %" PRIu64 "\n"
		"# HELP napdhcpd_napvd_failovers_total Checks moved to the next napvd server.\n"
		"# TYPE napdhcpd_napvd_failovers_total counter\n"
		"napdhcpd_napvd_failovers_total %" PRIu64 "\n"
		"# HELP napdhcpd_napvd_retransmits_total Access-Requests sent again.\n"
		"# TYPE napdhcpd_napvd_retransmits_total counter\n"
		"napdhcpd_napvd_retransmits_total %" PRIu64 "\n"
		"# HELP napdhcpd_napvd_bad_replies_total Datagrams from napvd that were dropped, or "
		"answers that did not map.\n"
		"# TYPE napdhcpd_napvd_bad_replies_total counter\n"
		"napdhcpd_napvd_bad_replies_total{reason=\"malformed\"} %" PRIu64 "\n"
		"napdhcpd_napvd_bad_replies_total{reason=\"unexpected\"} %" PRIu64 "\n"
		"napdhcpd_napvd_bad_replies_total{reason=\"bad_authenticator\"} %" PRIu64 "\n"
		"napdhcpd_napvd_bad_replies_total{reason=\"unmapped\"} %" PRIu64 "\n"
		"# HELP napdhcpd_napvd_outstanding Access-Requests waiting for an answer.\n"
		"# TYPE napdhcpd_napvd_outstanding gauge\n"
		"napdhcpd_napvd_outstanding %" PRIu64 "\n",
		st.radius.requests, st.radius.timeouts, st.radius.failovers, st.radius.retransmits,
		st.radius.malformed, st.radius.unexpected, st.radius.bad_auth, st.bad_replies,
		st.radius.outstanding);
	if (nap->cur != NULL) {
		int64_t now = nap_mono_ms();

		fprintf(f, "# HELP napdhcpd_napvd_server_up 1 unless the server is held down "
			   "after a timeout.\n"
			   "# TYPE napdhcpd_napvd_server_up gauge\n");
		for (size_t i = 0; i < st.radius.n_servers; i++) {
			const struct nap_radclient_server_stats *s = &st.radius.servers[i];

			fprintf(f, "napdhcpd_napvd_server_up{server=\"%zu\"} %d\n", i,
				s->dead && s->dead_until > now ? 0 : 1);
		}
	}
	return ferror(f) ? -EIO : 0;
}
