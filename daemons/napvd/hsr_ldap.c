// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * napvd's LDAP HSR source ([hsr] source = ldap): reads the napHealthStateReference entries
 * (schema/nap.schema) of the trusted sites from the first of several directory URIs that
 * answers, in a thread of its own, never in the event loop and never on the request path.
 * Handles untrusted input: everything the directory returns.
 *
 * Each entry must carry one napSiteCode, one napHsrRevision and one napHsrDocument; the document
 * must parse and verify against [hsr] trusted_keys (nap_hsr_set_parse, exactly one HSR) and
 * agree with napSiteCode, napHsrRevision and, when present, napHsrDigest. An entry that fails,
 * or whose revision is lower than the one in use (a rollback), is counted by reason, logged
 * rate-limited, and the site keeps its last good document. The thread keeps the last good
 * document per site and, when they change, hands a new set to the event loop: a mutex-guarded
 * slot and an eventfd the loop watches; the loop swaps the set in at once (hsr_source.c).
 * The time handed over with every answer is that of the last read the directory answered, even
 * when nothing changed, so [hsr] max_age measures how long the directory has been unreachable.
 *
 * The thread keeps one connection. It connects by itself (non-blocking connect() bounded by
 * [hsr] timeout, then ldap_init_fd()) so that it owns the socket from the start: close() sets a
 * flag, wakes the thread's waits through a second eventfd and shutdown()s that socket, which
 * ends any blocking TLS handshake, bind or read at once; the thread stops within milliseconds.
 * Every operation has the timeout as its deadline (and SO_RCVTIMEO/SO_SNDTIMEO as a backstop),
 * so a hung server costs one timeout per attempt and never more.
 *
 * With [hsr] persist = auto and the Content Sync control (RFC 4533, 1.3.6.1.4.1.4203.1.9.1.1)
 * in the root DSE's supportedControl, the thread also runs a refreshAndPersist search on the
 * same connection (the control is built with ber_printf: Debian's libldap-dev ships no
 * ldap_sync.h). The search asks for no attributes and serves only as a doorbell: every change
 * notification makes the thread read the entries again with an ordinary search, so one code path
 * checks every document. The periodic read every query_interval stays, as the liveness check that
 * notices a hung or vanished server. A server without the control, or one that ends the search,
 * leaves the thread polling.
 *
 * The last good documents are also saved, with the time of the read, to state_dir/hsr-ldap.json,
 * so that napvd restarted during a directory outage serves them (verified again on load) for
 * what remains of max_age counted from that read, not from the restart.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <lber.h>
#include <ldap.h>
#include <netdb.h>
#include <netinet/in.h>
#include <openldap.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "nap/hsr.h"
#include "nap/log.h"
#include "nap/util.h"
#include "napvd.h"

#define NAPVD_LDAP_MAX_ENTRIES  (4 * NAP_HSR_MAX_SITES) /* size limit of one search */
#define NAPVD_LDAP_MAX_INCOMING (2 * NAP_HSR_MAX_LEN)   /* bytes of one LDAP message */
#define NAPVD_LDAP_STATE_FILE   "hsr-ldap.json"
#define NAPVD_LDAP_STATE_MAX    (64 * 1024 * 1024)
#define NAPVD_LDAP_SAVE_EVERY   60 /* s: how stale the saved read time may get at most */
#define NAPVD_LDAP_RETRY_MIN    1  /* s: first retry after a failed attempt */
#define NAPVD_LDAP_ERR_MAX      512

static const char *const napvd_ldap_attrs[] = {"napSiteCode", "napHsrRevision", "napHsrDocument",
					       "napHsrDigest", NULL};

/* The last good document of one site. */
struct napvd_ldap_doc {
	char site[NAP_SITE_MAX + 1];
	uint64_t revision;
	char digest[2 * NAP_HSR_DIGEST_LEN + 1];
	char *text;
	size_t len;
};

/* What one read found for a site. */
struct napvd_ldap_seen {
	char site[NAP_SITE_MAX + 1];
	bool conflict;             /* two documents with one revision: keep the one in use */
	struct napvd_ldap_doc doc; /* text NULL: only rejected entries */
};

struct napvd_ldap {
	/* Configuration, copied at open. */
	char *uris[NAPVD_HSR_MAX_URIS];
	size_t n_uris;
	char *base, *filter, *bind_dn, *bind_pw, *ca_file, *state_path;
	bool starttls;
	enum napvd_hsr_persist persist;
	int64_t timeout_ms, interval_ms;
	int64_t save_every; /* s: save the read time again after this long */
	char (*sites)[NAP_SITE_MAX + 1];
	size_t n_sites;
	struct nap_keyring *kr;

	/* The thread. */
	pthread_t thread;
	bool started;
	atomic_bool stop;
	int stop_fd;  /* eventfd: close() wakes the thread's waits */
	int event_fd; /* eventfd: the thread has something for refresh() */

	/* Thread only (and open(), before the thread exists). */
	struct napvd_ldap_doc *good;
	size_t n_good;
	LDAP *ld;
	int sock;
	size_t uri_at;        /* index of the connected URI */
	int sync_msgid;       /* the refreshAndPersist search, -1 none */
	bool sync_refreshing; /* still in its refresh phase */
	bool delivered;       /* a directory read has been handed over */
	int64_t saved_at;     /* read time in the saved file, 0 none */
	unsigned failures;    /* attempts failed in a row */
	bool unattributed;    /* this read rejected an entry without a usable napSiteCode */
	struct log_ratelimit rl_reject;

	/* Shared with the event loop, under mu. */
	pthread_mutex_t mu;
	int shared_sock;             /* the socket to shutdown() on stop, -1 none */
	int result;                  /* what refresh() reports next: 0, 1, 2 or -errno */
	struct nap_hsr_set *pending; /* result 0: the new set */
	int64_t read_at;             /* Unix seconds of the last answered read */
	char err[NAPVD_LDAP_ERR_MAX];

	/* Counters (metrics), atomics. */
	atomic_uint_fast64_t searches, errors, notifications, off_thread;
	atomic_uint_fast64_t rejected[NAPVD_REJECT_COUNT];
	atomic_bool up, persisting;
};

static bool
napvd_ldap_stopping(struct napvd_ldap *s)
{
	return atomic_load(&s->stop);
}

/* Wait up to ms for the stop request (or, with fd >= 0, for fd to become readable). */
static void
napvd_ldap_wait(struct napvd_ldap *s, int64_t ms, int fd)
{
	struct pollfd p[2] = {{.fd = s->stop_fd, .events = POLLIN}, {.fd = fd, .events = POLLIN}};

	if (ms < 0)
		ms = 0;
	if (ms > 60000)
		ms = 60000;
	if (!napvd_ldap_stopping(s))
		poll(p, fd >= 0 ? 2 : 1, (int)ms);
}

static void
napvd_ldap_notify(struct napvd_ldap *s)
{
	uint64_t one = 1;

	if (write(s->event_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_warn("hsr: ldap: eventfd");
}

/* The source whose thread this is (NULL in every other thread). */
static _Thread_local const struct napvd_ldap *napvd_ldap_current;

/* Every directory read must happen on the source's thread; anything else is counted. */
static void
napvd_ldap_check_thread(struct napvd_ldap *s)
{
	if (napvd_ldap_current != s)
		atomic_fetch_add(&s->off_thread, 1);
}

static const char *
napvd_ldap_diag(LDAP *ld, int rc, char *buf, size_t cap)
{
	char *diag = NULL;

	if (ld != NULL)
		ldap_get_option(ld, LDAP_OPT_DIAGNOSTIC_MESSAGE, &diag);
	if (diag != NULL && *diag != '\0')
		snprintf(buf, cap, "%s (%s)", ldap_err2string(rc), diag);
	else
		snprintf(buf, cap, "%s", ldap_err2string(rc));
	ldap_memfree(diag);
	return buf;
}

/* ---- documents ---- */

static void
napvd_ldap_doc_clear(struct napvd_ldap_doc *d)
{
	free(d->text);
	d->text = NULL;
	d->len = 0;
}

static void
napvd_ldap_docs_free(struct napvd_ldap_doc *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		napvd_ldap_doc_clear(&v[i]);
	free(v);
}

static struct napvd_ldap_doc *
napvd_ldap_good_find(struct napvd_ldap *s, const char *site)
{
	for (size_t i = 0; i < s->n_good; i++)
		if (strcmp(s->good[i].site, site) == 0)
			return &s->good[i];
	return NULL;
}

static bool
napvd_ldap_trusted(const struct napvd_ldap *s, const char *site)
{
	if (s->n_sites == 0)
		return true;
	for (size_t i = 0; i < s->n_sites; i++)
		if (strcmp(s->sites[i], site) == 0)
			return true;
	return false;
}

static bool
napvd_ldap_site_ok(const char *p, size_t n)
{
	if (n == 0 || n > NAP_SITE_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)p[i];

		if (!((ch >= '0' && ch <= '9') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= 'a' && ch <= 'z') || ch == '_' || ch == '-'))
			return false;
	}
	return true;
}

static bool
napvd_ldap_revision_parse(const char *p, size_t n, uint64_t *out)
{
	uint64_t v = 0;

	if (n == 0 || n > 20)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned d;

		if (p[i] < '0' || p[i] > '9')
			return false;
		d = (unsigned)(p[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	if (v == 0)
		return false;
	*out = v;
	return true;
}

/*
 * Parse and verify one document (exactly one HSR). Returns 0 with the HSR's site, revision and
 * digest, or a reject reason (positive) with a message.
 */
static int
napvd_ldap_doc_check(struct napvd_ldap *s, const char *text, size_t len, struct napvd_ldap_doc *out,
		     char *msg, size_t cap)
{
	struct nap_hsr_set *set = NULL;
	struct nap_err perr = {0};
	int r;

	r = nap_hsr_set_parse((const uint8_t *)text, len, s->kr, &set, &perr);
	if (r < 0) {
		snprintf(msg, cap, "napHsrDocument: %s at offset %zu",
			 perr.what != NULL ? perr.what : strerror(-r), perr.offset);
		return r == -EPERM ? NAPVD_REJECT_SIGNATURE : NAPVD_REJECT_MALFORMED;
	}
	if (set->n != 1) {
		snprintf(msg, cap, "napHsrDocument holds %zu HSRs, not one", set->n);
		nap_hsr_set_free(set);
		return NAPVD_REJECT_MALFORMED;
	}
	snprintf(out->site, sizeof(out->site), "%s", set->v[0].site);
	out->revision = set->v[0].revision;
	nap_hex_encode(set->v[0].digest, NAP_HSR_DIGEST_LEN, out->digest);
	nap_hsr_set_free(set);
	return 0;
}

/* A set of the good documents, each parsed and verified again, for the event loop. */
static int
napvd_ldap_build_set(struct napvd_ldap *s, struct nap_hsr_set **out, char *err, size_t cap)
{
	struct nap_hsr_set *set;

	*out = NULL;
	set = calloc(1, sizeof(*set));
	if (set == NULL || (set->v = calloc(s->n_good + 1, sizeof(*set->v))) == NULL) {
		free(set);
		snprintf(err, cap, "out of memory");
		return -ENOMEM;
	}
	for (size_t i = 0; i < s->n_good; i++) {
		struct nap_hsr_set *one = NULL;
		struct nap_err perr = {0};
		int r = nap_hsr_set_parse((const uint8_t *)s->good[i].text, s->good[i].len, s->kr,
					  &one, &perr);

		if (r < 0 || one->n != 1) {
			snprintf(err, cap, "site %s: the document no longer parses: %s",
				 s->good[i].site, r < 0 && perr.what ? perr.what : "?");
			nap_hsr_set_free(one);
			nap_hsr_set_free(set);
			return r < 0 ? r : -EBADMSG;
		}
		/* Move the HSR (and what it owns) into the combined set. */
		set->v[set->n++] = one->v[0];
		one->n = 0;
		nap_hsr_set_free(one);
	}
	*out = set;
	return 0;
}

/* ---- handing over to the event loop ---- */

static void
napvd_ldap_hand_over(struct napvd_ldap *s, struct nap_hsr_set *set, int64_t read_at)
{
	pthread_mutex_lock(&s->mu);
	if (set != NULL) {
		nap_hsr_set_free(s->pending);
		s->pending = set;
		s->result = 0;
	} else if (s->result != 0) {
		s->result = 1;
	}
	s->read_at = read_at;
	pthread_mutex_unlock(&s->mu);
	napvd_ldap_notify(s);
}

static void
napvd_ldap_failed(struct napvd_ldap *s, const char *err)
{
	atomic_fetch_add(&s->errors, 1);
	atomic_store(&s->up, false);
	s->failures++;
	pthread_mutex_lock(&s->mu);
	/* An answer not collected yet goes first; the failure shows in the next one. */
	if (s->result == 2) {
		s->result = -EIO;
		snprintf(s->err, sizeof(s->err), "%s", err);
	}
	pthread_mutex_unlock(&s->mu);
	napvd_ldap_notify(s);
}

/* ---- the saved copy in state_dir ---- */

static void
napvd_ldap_save(struct napvd_ldap *s, int64_t read_at)
{
	json_t *root = json_object(), *docs = json_array();
	char *text = NULL;
	int r = -ENOMEM;

	if (root == NULL || docs == NULL)
		goto out;
	for (size_t i = 0; i < s->n_good; i++)
		if (json_array_append_new(docs, json_stringn(s->good[i].text, s->good[i].len)) < 0)
			goto out;
	if (json_object_set_new(root, "version", json_integer(1)) < 0 ||
	    json_object_set_new(root, "read_at", json_integer(read_at)) < 0 ||
	    json_object_set(root, "documents", docs) < 0)
		goto out;
	text = json_dumps(root, JSON_COMPACT);
	if (text == NULL)
		goto out;
	r = nap_write_file_atomic(s->state_path, text, strlen(text), 0600);
	if (r == 0)
		s->saved_at = read_at;
out:
	if (r < 0)
		LOG_WARNX_RL("hsr: ldap: saving %s: %s", s->state_path, strerror(-r));
	free(text);
	json_decref(docs);
	json_decref(root);
}

/*
 * Load the saved documents (open(), before the thread): each is verified again and must belong
 * to a trusted site; the read time is the file's, never later than now.
 */
static void
napvd_ldap_load(struct napvd_ldap *s)
{
	json_error_t jerr;
	json_t *root, *docs, *at;
	uint8_t *buf = NULL;
	size_t len = 0, idx;
	json_t *v;
	int64_t read_at, now = time(NULL);
	struct nap_hsr_set *set = NULL;
	char err[NAPVD_LDAP_ERR_MAX];
	int r;

	r = nap_read_file(s->state_path, NAPVD_LDAP_STATE_MAX, &buf, &len);
	if (r == -ENOENT)
		return;
	if (r < 0) {
		log_warnx("hsr: ldap: %s: %s; starting without saved documents", s->state_path,
			  strerror(-r));
		return;
	}
	root = json_loadb((const char *)buf, len, JSON_REJECT_DUPLICATES, &jerr);
	free(buf);
	docs = root != NULL ? json_object_get(root, "documents") : NULL;
	at = root != NULL ? json_object_get(root, "read_at") : NULL;
	if (!json_is_array(docs) || !json_is_integer(at) || json_integer_value(at) <= 0 ||
	    json_array_size(docs) > NAP_HSR_MAX_SITES) {
		log_warnx("hsr: ldap: %s is not a saved HSR list; ignoring it", s->state_path);
		json_decref(root);
		return;
	}
	read_at = json_integer_value(at);
	if (read_at > now)
		read_at = now;
	s->good = calloc(json_array_size(docs) + 1, sizeof(*s->good));
	if (s->good == NULL) {
		json_decref(root);
		return;
	}
	for (idx = 0; idx < json_array_size(docs); idx++) {
		struct napvd_ldap_doc d = {0};
		char msg[256];

		v = json_array_get(docs, idx);

		if (!json_is_string(v) ||
		    napvd_ldap_doc_check(s, json_string_value(v), json_string_length(v), &d, msg,
					 sizeof(msg)) != 0) {
			log_warnx("hsr: ldap: %s: document %zu does not verify; skipping it",
				  s->state_path, idx);
			continue;
		}
		if (!napvd_ldap_trusted(s, d.site) || napvd_ldap_good_find(s, d.site) != NULL)
			continue;
		d.text = strndup(json_string_value(v), json_string_length(v));
		if (d.text == NULL)
			continue;
		d.len = json_string_length(v);
		s->good[s->n_good++] = d;
	}
	json_decref(root);
	if (s->n_good == 0)
		return;
	if (napvd_ldap_build_set(s, &set, err, sizeof(err)) < 0) {
		log_warnx("hsr: ldap: %s: %s", s->state_path, err);
		return;
	}
	s->saved_at = read_at;
	s->pending = set;
	s->result = 0;
	s->read_at = read_at;
	log_info("hsr: ldap: %zu saved HSR(s) from %s, read %lld s ago", s->n_good, s->state_path,
		 (long long)(now - read_at));
}

/* ---- the connection ---- */

static void
napvd_ldap_drop(struct napvd_ldap *s)
{
	pthread_mutex_lock(&s->mu);
	s->shared_sock = -1;
	pthread_mutex_unlock(&s->mu);
	/*
	 * No goodbye: a TLS close would wait for the peer's answer, and the connection is dropped
	 * because the peer failed or because napvd stops.
	 */
	if (s->sock >= 0)
		shutdown(s->sock, SHUT_RDWR);
	if (s->ld != NULL)
		ldap_unbind_ext(s->ld, NULL, NULL); /* closes the socket */
	else if (s->sock >= 0)
		close(s->sock);
	s->ld = NULL;
	s->sock = -1;
	s->sync_msgid = -1;
	atomic_store(&s->persisting, false);
}

/* TCP connect to one address, bounded by the timeout and the stop request. */
static int
napvd_ldap_tcp(struct napvd_ldap *s, const struct addrinfo *ai, char *err, size_t cap)
{
	struct timeval tv = {.tv_sec = s->timeout_ms / 1000};
	int fd, soerr = 0, one = 1;
	socklen_t sl = sizeof(soerr);
	int64_t deadline = nap_mono_ms() + s->timeout_ms;

	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
	if (fd < 0) {
		snprintf(err, cap, "socket: %s", strerror(errno));
		return -errno;
	}
	pthread_mutex_lock(&s->mu);
	if (napvd_ldap_stopping(s)) {
		pthread_mutex_unlock(&s->mu);
		close(fd);
		return -ECANCELED;
	}
	s->shared_sock = s->sock = fd;
	pthread_mutex_unlock(&s->mu);
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
		if (errno != EINPROGRESS) {
			soerr = errno;
		} else {
			for (;;) {
				struct pollfd p[2] = {{.fd = fd, .events = POLLOUT},
						      {.fd = s->stop_fd, .events = POLLIN}};
				int64_t left = deadline - nap_mono_ms();
				int n;

				if (napvd_ldap_stopping(s)) {
					soerr = ECANCELED;
					break;
				}
				if (left <= 0) {
					soerr = ETIMEDOUT;
					break;
				}
				n = poll(p, 2, (int)left);
				if (n < 0 && errno == EINTR)
					continue;
				if (n > 0 && p[0].revents != 0) {
					if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
						soerr = errno;
					break;
				}
			}
		}
	}
	if (soerr != 0) {
		snprintf(err, cap, "connect: %s", strerror(soerr));
		napvd_ldap_drop(s);
		return -soerr;
	}
	/* Blocking from here on, every read and write bounded by the timeout. */
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	return 0;
}

static int
napvd_ldap_options(struct napvd_ldap *s, bool tls, char *err, size_t cap)
{
	struct timeval tv = {.tv_sec = s->timeout_ms / 1000};
	int v3 = LDAP_VERSION3, demand = LDAP_OPT_X_TLS_DEMAND;
	int tls12 = LDAP_OPT_X_TLS_PROTOCOL_TLS1_2, zero = 0;
	ber_len_t max = NAPVD_LDAP_MAX_INCOMING;
	Sockbuf *sb = NULL;
	int rc = LDAP_SUCCESS;

	if (ldap_set_option(s->ld, LDAP_OPT_PROTOCOL_VERSION, &v3) != LDAP_OPT_SUCCESS ||
	    ldap_set_option(s->ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF) != LDAP_OPT_SUCCESS ||
	    ldap_set_option(s->ld, LDAP_OPT_NETWORK_TIMEOUT, &tv) != LDAP_OPT_SUCCESS ||
	    ldap_set_option(s->ld, LDAP_OPT_TIMEOUT, &tv) != LDAP_OPT_SUCCESS) {
		snprintf(err, cap, "setting LDAP options failed");
		return -EINVAL;
	}
	/* A server cannot make the thread buffer more than one document's worth per message. */
	if (ldap_get_option(s->ld, LDAP_OPT_SOCKBUF, &sb) == LDAP_OPT_SUCCESS && sb != NULL)
		ber_sockbuf_ctrl(sb, LBER_SB_OPT_SET_MAX_INCOMING, &max);
	if (!tls)
		return 0;
	if (ldap_set_option(s->ld, LDAP_OPT_X_TLS_REQUIRE_CERT, &demand) != LDAP_OPT_SUCCESS ||
	    ldap_set_option(s->ld, LDAP_OPT_X_TLS_PROTOCOL_MIN, &tls12) != LDAP_OPT_SUCCESS ||
	    (s->ca_file != NULL && (rc = ldap_set_option(s->ld, LDAP_OPT_X_TLS_CACERTFILE,
							 s->ca_file)) != LDAP_OPT_SUCCESS) ||
	    (rc = ldap_set_option(s->ld, LDAP_OPT_X_TLS_NEWCTX, &zero)) != LDAP_OPT_SUCCESS) {
		char d[256];

		snprintf(err, cap, "TLS setup: %s", napvd_ldap_diag(s->ld, rc, d, sizeof(d)));
		return -EINVAL;
	}
	return 0;
}

static int
napvd_ldap_connect_one(struct napvd_ldap *s, const char *uri, char *err, size_t cap)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
	struct addrinfo *res = NULL;
	LDAPURLDesc *lud = NULL;
	char port[8], d[256];
	bool ldaps;
	int r, rc;

	if (ldap_url_parse(uri, &lud) != LDAP_URL_SUCCESS) {
		snprintf(err, cap, "not an LDAP URI");
		return -EINVAL;
	}
	ldaps = strcasecmp(lud->lud_scheme, "ldaps") == 0;
	snprintf(port, sizeof(port), "%d",
		 lud->lud_port != 0 ? lud->lud_port : (ldaps ? LDAPS_PORT : LDAP_PORT));
	r = getaddrinfo(lud->lud_host, port, &hints, &res);
	ldap_free_urldesc(lud);
	if (r != 0) {
		snprintf(err, cap, "%s", gai_strerror(r));
		return -EHOSTUNREACH;
	}
	r = -EHOSTUNREACH;
	for (const struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
		r = napvd_ldap_tcp(s, ai, err, cap);
		if (r == 0 || r == -ECANCELED)
			break;
	}
	freeaddrinfo(res);
	if (r < 0)
		return r;
	rc = ldap_init_fd(s->sock, LDAP_PROTO_TCP, uri, &s->ld);
	if (rc != LDAP_SUCCESS) {
		snprintf(err, cap, "ldap_init_fd: %s", ldap_err2string(rc));
		s->ld = NULL;
		napvd_ldap_drop(s);
		return -EIO;
	}
	if (napvd_ldap_options(s, ldaps || s->starttls, err, cap) < 0)
		goto fail;
	if (ldaps) {
		rc = ldap_install_tls(s->ld);
		if (rc != LDAP_SUCCESS) {
			snprintf(err, cap, "TLS: %s", napvd_ldap_diag(s->ld, rc, d, sizeof(d)));
			goto fail;
		}
	} else if (s->starttls) {
		rc = ldap_start_tls_s(s->ld, NULL, NULL);
		if (rc != LDAP_SUCCESS) {
			snprintf(err, cap, "StartTLS: %s",
				 napvd_ldap_diag(s->ld, rc, d, sizeof(d)));
			goto fail;
		}
	}
	if (s->bind_dn != NULL) {
		struct berval cred = {.bv_val = s->bind_pw, .bv_len = strlen(s->bind_pw)};

		rc = ldap_sasl_bind_s(s->ld, s->bind_dn, LDAP_SASL_SIMPLE, &cred, NULL, NULL, NULL);
		if (rc != LDAP_SUCCESS) {
			snprintf(err, cap, "bind as %s: %s", s->bind_dn,
				 napvd_ldap_diag(s->ld, rc, d, sizeof(d)));
			goto fail;
		}
	}
	return 0;
fail:
	napvd_ldap_drop(s);
	return -EIO;
}

/* The URIs in order; the first that connects (TLS and bind included) wins. */
static int
napvd_ldap_connect(struct napvd_ldap *s, char *err, size_t cap)
{
	size_t used = 0;

	err[0] = '\0';
	for (size_t i = 0; i < s->n_uris && !napvd_ldap_stopping(s); i++) {
		char e[256];

		if (napvd_ldap_connect_one(s, s->uris[i], e, sizeof(e)) == 0) {
			if (i > 0)
				log_info("hsr: ldap: connected to %s; failed before it: %s",
					 s->uris[i], err);
			else
				log_info("hsr: ldap: connected to %s", s->uris[i]);
			s->uri_at = i;
			return 0;
		}
		if (used < cap) {
			int n = snprintf(err + used, cap - used, "%s%s: %s", used ? "; " : "",
					 s->uris[i], e);

			used += n > 0 ? (size_t)n : 0;
		}
	}
	return -EHOSTUNREACH;
}

/* ---- Content Sync (RFC 4533) as a doorbell ---- */

static bool
napvd_ldap_offers_sync(struct napvd_ldap *s, char *err, size_t cap, int *rcp)
{
	char *attrs[] = {"supportedControl", NULL};
	struct timeval tv = {.tv_sec = s->timeout_ms / 1000};
	LDAPMessage *res = NULL, *e;
	struct berval **vals;
	bool found = false;
	int rc;

	rc = ldap_search_ext_s(s->ld, "", LDAP_SCOPE_BASE, "(objectClass=*)", attrs, 0, NULL, NULL,
			       &tv, 1, &res);
	*rcp = rc;
	if (rc != LDAP_SUCCESS) {
		char d[256];

		snprintf(err, cap, "root DSE: %s", napvd_ldap_diag(s->ld, rc, d, sizeof(d)));
		ldap_msgfree(res);
		return false;
	}
	e = ldap_first_entry(s->ld, res);
	vals = e != NULL ? ldap_get_values_len(s->ld, e, "supportedControl") : NULL;
	for (size_t i = 0; vals != NULL && vals[i] != NULL && !found; i++)
		found = vals[i]->bv_len == strlen(LDAP_CONTROL_SYNC) &&
			memcmp(vals[i]->bv_val, LDAP_CONTROL_SYNC, vals[i]->bv_len) == 0;
	ldap_value_free_len(vals);
	ldap_msgfree(res);
	return found;
}

/* Start the refreshAndPersist search. Negative: the connection failed; 0 otherwise. */
static int
napvd_ldap_sync_start(struct napvd_ldap *s, char *err, size_t cap)
{
	char *attrs[] = {LDAP_NO_ATTRS, NULL};
	BerElement *ber;
	struct berval bv;
	LDAPControl *ctrl = NULL, *sctrls[2] = {NULL, NULL};
	int rc = LDAP_SUCCESS;

	if (!napvd_ldap_offers_sync(s, err, cap, &rc)) {
		if (rc != LDAP_SUCCESS)
			return -EIO;
		log_info("hsr: ldap: %s does not offer Content Sync; reading every %lld s",
			 s->uris[s->uri_at], (long long)(s->interval_ms / 1000));
		return 0;
	}
	/* syncRequestValue ::= SEQUENCE { mode ENUMERATED { refreshAndPersist (3) } } */
	ber = ber_alloc_t(LBER_USE_DER);
	if (ber == NULL || ber_printf(ber, "{e}", (ber_int_t)LDAP_SYNC_REFRESH_AND_PERSIST) < 0 ||
	    ber_flatten2(ber, &bv, 0) < 0 ||
	    ldap_control_create(LDAP_CONTROL_SYNC, 1, &bv, 1, &ctrl) != LDAP_SUCCESS) {
		if (ber != NULL)
			ber_free(ber, 1);
		LOG_WARNX_RL("hsr: ldap: cannot build the Content Sync control; polling");
		return 0;
	}
	ber_free(ber, 1);
	sctrls[0] = ctrl;
	rc = ldap_search_ext(s->ld, s->base, LDAP_SCOPE_SUBTREE, s->filter, attrs, 0, sctrls, NULL,
			     NULL, 0, &s->sync_msgid);
	ldap_control_free(ctrl);
	if (rc != LDAP_SUCCESS) {
		char d[256];

		s->sync_msgid = -1;
		snprintf(err, cap, "persistent search: %s",
			 napvd_ldap_diag(s->ld, rc, d, sizeof(d)));
		return rc == LDAP_SERVER_DOWN || rc == LDAP_TIMEOUT ? -EIO : 0;
	}
	s->sync_refreshing = true;
	atomic_store(&s->persisting, true);
	return 0;
}

/*
 * Take what the persistent search delivered (never blocks). A change notification, or the end
 * of the refresh phase, sets *dirty. Negative: the connection failed.
 */
static int
napvd_ldap_sync_drain(struct napvd_ldap *s, bool *dirty, char *err, size_t cap)
{
	struct timeval zero = {0, 0};

	while (s->sync_msgid >= 0) {
		LDAPMessage *msg = NULL;
		int rc = ldap_result(s->ld, s->sync_msgid, LDAP_MSG_ONE, &zero, &msg);
		char *oid = NULL, d[256];
		int code = LDAP_OTHER;

		if (rc == 0)
			return 0;
		if (rc < 0) {
			ldap_get_option(s->ld, LDAP_OPT_RESULT_CODE, &code);
			snprintf(err, cap, "persistent search: %s",
				 napvd_ldap_diag(s->ld, code, d, sizeof(d)));
			return -EIO;
		}
		switch (rc) {
		case LDAP_RES_SEARCH_ENTRY:
		case LDAP_RES_SEARCH_REFERENCE:
			if (!s->sync_refreshing) {
				atomic_fetch_add(&s->notifications, 1);
				*dirty = true;
			}
			break;
		case LDAP_RES_INTERMEDIATE:
			if (ldap_parse_intermediate(s->ld, msg, &oid, NULL, NULL, 0) ==
				    LDAP_SUCCESS &&
			    oid != NULL && strcmp(oid, LDAP_SYNC_INFO) == 0 && s->sync_refreshing) {
				/* Refresh done: read once more for changes since the last read. */
				s->sync_refreshing = false;
				*dirty = true;
				log_debug("hsr: ldap: persistent search on %s in its persist phase",
					  s->uris[s->uri_at]);
			} else if (!s->sync_refreshing) {
				atomic_fetch_add(&s->notifications, 1);
				*dirty = true;
			}
			ldap_memfree(oid);
			break;
		case LDAP_RES_SEARCH_RESULT:
			ldap_parse_result(s->ld, msg, &code, NULL, NULL, NULL, NULL, 0);
			log_info("hsr: ldap: %s ended the persistent search (%s); reading every "
				 "%lld s",
				 s->uris[s->uri_at], ldap_err2string(code),
				 (long long)(s->interval_ms / 1000));
			s->sync_msgid = -1;
			atomic_store(&s->persisting, false);
			*dirty = true;
			break;
		default:
			break;
		}
		ldap_msgfree(msg);
	}
	return 0;
}

/* ---- reading the entries ---- */

static struct napvd_ldap_seen *
napvd_ldap_seen_get(struct napvd_ldap_seen **seen, size_t *n, const char *site)
{
	struct napvd_ldap_seen *nv;

	for (size_t i = 0; i < *n; i++)
		if (strcmp((*seen)[i].site, site) == 0)
			return &(*seen)[i];
	if (*n >= NAP_HSR_MAX_SITES)
		return NULL;
	nv = realloc(*seen, (*n + 1) * sizeof(**seen));
	if (nv == NULL)
		return NULL;
	*seen = nv;
	memset(&nv[*n], 0, sizeof(nv[*n]));
	snprintf(nv[*n].site, sizeof(nv[*n].site), "%s", site);
	return &nv[(*n)++];
}

static void
napvd_ldap_reject(struct napvd_ldap *s, enum napvd_hsr_reject why, const char *dn, const char *site,
		  const char *msg)
{
	const struct napvd_ldap_doc *cur = site != NULL ? napvd_ldap_good_find(s, site) : NULL;

	atomic_fetch_add(&s->rejected[why], 1);
	if (cur != NULL)
		log_warnx_rl(&s->rl_reject,
			     "hsr: ldap: entry \"%s\" rejected (%s): %s; site %s keeps revision "
			     "%" PRIu64,
			     dn, napvd_hsr_reject_name(why), msg, site, cur->revision);
	else
		log_warnx_rl(&s->rl_reject, "hsr: ldap: entry \"%s\" rejected (%s): %s", dn,
			     napvd_hsr_reject_name(why), msg);
}

static bool
napvd_ldap_value_eq(const struct napvd_hsr_value *v, const struct napvd_ldap_doc *d)
{
	return v->len == d->len && memcmp(v->p, d->text, d->len) == 0;
}

/* One entry of a read: check it and note what it says in seen. */
static void
napvd_ldap_take(struct napvd_ldap *s, const struct napvd_hsr_entry *e,
		struct napvd_ldap_seen **seen, size_t *n_seen)
{
	const struct napvd_hsr_value *doc = &e->document;
	char dn[256], site[NAP_SITE_MAX + 1], msg[320];
	struct napvd_ldap_doc got = {0};
	const struct napvd_ldap_doc *cur;
	struct napvd_ldap_seen *sn;
	uint64_t rev = 0;
	int why;

	nap_escape((const uint8_t *)(e->dn != NULL ? e->dn : "?"),
		   e->dn != NULL ? strlen(e->dn) : 1, dn, sizeof(dn));
	if (e->n_site == 0) {
		s->unattributed = true;
		napvd_ldap_reject(s, NAPVD_REJECT_MISSING_ATTRIBUTE, dn, NULL, "no napSiteCode");
		return;
	}
	if (e->n_site > 1 || !napvd_ldap_site_ok(e->site.p, e->site.len)) {
		s->unattributed = true;
		napvd_ldap_reject(s, NAPVD_REJECT_BAD_VALUE, dn, NULL,
				  "napSiteCode is not one site code");
		return;
	}
	memcpy(site, e->site.p, e->site.len);
	site[e->site.len] = '\0';
	if (!napvd_ldap_trusted(s, site)) {
		log_debug("hsr: ldap: entry \"%s\": site %s is not in [hsr] sites", dn, site);
		return;
	}
	/* From here on the site counts as present: a broken entry does not make it go away. */
	sn = napvd_ldap_seen_get(seen, n_seen, site);
	if (sn == NULL) {
		LOG_WARNX_RL("hsr: ldap: more than %d sites; ignoring entry \"%s\"",
			     NAP_HSR_MAX_SITES, dn);
		return;
	}
	if (e->n_revision == 0 || e->n_document == 0) {
		napvd_ldap_reject(s, NAPVD_REJECT_MISSING_ATTRIBUTE, dn, site,
				  e->n_revision == 0 ? "no napHsrRevision" : "no napHsrDocument");
		return;
	}
	if (e->n_revision > 1 || e->n_document > 1 || e->n_digest > 1) {
		napvd_ldap_reject(s, NAPVD_REJECT_BAD_VALUE, dn, site,
				  "an attribute has several values");
		return;
	}
	if (!napvd_ldap_revision_parse(e->revision.p, e->revision.len, &rev)) {
		napvd_ldap_reject(s, NAPVD_REJECT_BAD_VALUE, dn, site,
				  "napHsrRevision is not a positive number");
		return;
	}
	cur = napvd_ldap_good_find(s, site);
	if (cur != NULL && rev < cur->revision) {
		snprintf(msg, sizeof(msg), "napHsrRevision %" PRIu64 " is lower than %" PRIu64, rev,
			 cur->revision);
		napvd_ldap_reject(s, NAPVD_REJECT_ROLLBACK, dn, site, msg);
		return;
	}
	if (cur != NULL && rev == cur->revision && napvd_ldap_value_eq(doc, cur)) {
		/* The document in use: verified when it came. */
		got = *cur;
		got.text = NULL;
	} else {
		why = napvd_ldap_doc_check(s, doc->p, doc->len, &got, msg, sizeof(msg));
		if (why != 0) {
			napvd_ldap_reject(s, why, dn, site, msg);
			return;
		}
	}
	if (strcmp(got.site, site) != 0 || got.revision != rev) {
		snprintf(msg, sizeof(msg),
			 "the document is site %s revision %" PRIu64 ", the entry says %s "
			 "revision %" PRIu64,
			 got.site, got.revision, site, rev);
		napvd_ldap_reject(s, NAPVD_REJECT_MISMATCH, dn, site, msg);
		return;
	}
	if (e->n_digest == 1 && (e->digest.len != strlen(got.digest) ||
				 strncasecmp(e->digest.p, got.digest, e->digest.len) != 0)) {
		napvd_ldap_reject(s, NAPVD_REJECT_MISMATCH, dn, site,
				  "napHsrDigest differs from the document's digest");
		return;
	}
	if (cur != NULL && rev == cur->revision && !napvd_ldap_value_eq(doc, cur)) {
		snprintf(msg, sizeof(msg), "another document for revision %" PRIu64, rev);
		napvd_ldap_reject(s, NAPVD_REJECT_CONFLICT, dn, site, msg);
		return;
	}
	/* Good. Several entries for one site: the highest revision; a tie must agree. */
	if (sn->doc.text != NULL) {
		if (rev < sn->doc.revision)
			return;
		if (rev == sn->doc.revision) {
			if (!napvd_ldap_value_eq(doc, &sn->doc)) {
				sn->conflict = true;
				snprintf(msg, sizeof(msg),
					 "another entry holds another document for revision "
					 "%" PRIu64,
					 rev);
				napvd_ldap_reject(s, NAPVD_REJECT_CONFLICT, dn, site, msg);
			}
			return;
		}
		napvd_ldap_doc_clear(&sn->doc);
		sn->conflict = false;
	}
	got.text = malloc(doc->len + 1);
	if (got.text == NULL)
		return;
	memcpy(got.text, doc->p, doc->len);
	got.text[doc->len] = '\0';
	got.len = doc->len;
	sn->doc = got;
}

/* An LDAP entry as the checks see it; the values stay owned by vals (ldap_value_free_len). */
static void
napvd_ldap_entry(struct napvd_ldap *s, LDAPMessage *msg, struct napvd_ldap_seen **seen,
		 size_t *n_seen)
{
	static const char *const names[4] = {"napSiteCode", "napHsrRevision", "napHsrDocument",
					     "napHsrDigest"};
	struct napvd_hsr_entry e = {0};
	struct napvd_hsr_value *val[4] = {&e.site, &e.revision, &e.document, &e.digest};
	unsigned *cnt[4] = {&e.n_site, &e.n_revision, &e.n_document, &e.n_digest};
	struct berval **vals[4] = {NULL};
	char *dn = ldap_get_dn(s->ld, msg);

	e.dn = dn;
	for (size_t i = 0; i < 4; i++) {
		vals[i] = ldap_get_values_len(s->ld, msg, names[i]);
		*cnt[i] = vals[i] != NULL ? (unsigned)ldap_count_values_len(vals[i]) : 0;
		if (*cnt[i] > 0) {
			val[i]->p = vals[i][0]->bv_val;
			val[i]->len = vals[i][0]->bv_len;
		}
	}
	napvd_ldap_take(s, &e, seen, n_seen);
	for (size_t i = 0; i < 4; i++)
		ldap_value_free_len(vals[i]);
	ldap_memfree(dn);
}

/*
 * From what a read saw to the new list of good documents: a site with a good entry takes it, a
 * site with only rejected entries keeps what it had, a site the directory no longer holds goes
 * (unless an entry that named no usable site was rejected: it may have been that site's).
 * Returns whether anything changed.
 */
static bool
napvd_ldap_merge(struct napvd_ldap *s, struct napvd_ldap_seen *seen, size_t n_seen,
		 struct napvd_ldap_doc **out, size_t *n_out)
{
	struct napvd_ldap_doc *next = calloc(n_seen + s->n_good + 1, sizeof(*next));
	bool changed = false;
	size_t n = 0;

	*out = NULL;
	*n_out = 0;
	if (next == NULL)
		return false;
	for (size_t i = 0; i < n_seen; i++) {
		struct napvd_ldap_doc *cur = napvd_ldap_good_find(s, seen[i].site);

		if (seen[i].doc.text != NULL && !seen[i].conflict) {
			if (cur == NULL) {
				changed = true;
				log_info("hsr: ldap: site %s revision %" PRIu64 " from %s",
					 seen[i].site, seen[i].doc.revision, s->uris[s->uri_at]);
			} else if (cur->revision != seen[i].doc.revision) {
				changed = true;
				log_info("hsr: ldap: site %s revision %" PRIu64 " (was %" PRIu64
					 ") from %s",
					 seen[i].site, seen[i].doc.revision, cur->revision,
					 s->uris[s->uri_at]);
			}
			next[n++] = seen[i].doc;
			seen[i].doc.text = NULL;
		} else if (cur != NULL) {
			next[n] = *cur;
			next[n].text = strndup(cur->text, cur->len);
			if (next[n].text != NULL)
				n++;
		}
	}
	for (size_t i = 0; i < s->n_good; i++) {
		bool there = false;

		for (size_t j = 0; j < n_seen && !there; j++)
			there = strcmp(seen[j].site, s->good[i].site) == 0;
		if (there)
			continue;
		if (s->unattributed) {
			/* A rejected entry without a usable napSiteCode may have been this site's.
			 */
			next[n] = s->good[i];
			next[n].text = strndup(s->good[i].text, s->good[i].len);
			if (next[n].text != NULL)
				n++;
			continue;
		}
		changed = true;
		log_info("hsr: ldap: site %s has no entry in the directory any more; dropping "
			 "revision %" PRIu64,
			 s->good[i].site, s->good[i].revision);
	}
	*out = next;
	*n_out = n;
	return changed;
}

/*
 * After a read the directory answered: the new list of good documents, a new set for the event
 * loop when it changed (or was never handed over), the time of the read, the saved copy. Frees
 * seen.
 */
static int
napvd_ldap_finish(struct napvd_ldap *s, struct napvd_ldap_seen *seen, size_t n_seen, int64_t now,
		  char *err, size_t cap)
{
	struct napvd_ldap_doc *next = NULL;
	struct nap_hsr_set *set = NULL;
	size_t n_next = 0;
	bool changed;
	int r = 0;

	changed = napvd_ldap_merge(s, seen, n_seen, &next, &n_next);
	if (next == NULL) {
		snprintf(err, cap, "out of memory");
		r = -ENOMEM;
		goto out;
	}
	napvd_ldap_docs_free(s->good, s->n_good);
	s->good = next;
	s->n_good = n_next;
	if (changed || !s->delivered) {
		r = napvd_ldap_build_set(s, &set, err, cap);
		if (r < 0)
			goto out;
	}
	s->delivered = true;
	s->failures = 0;
	atomic_store(&s->up, true);
	napvd_ldap_hand_over(s, set, now);
	if (s->state_path != NULL &&
	    (changed || s->saved_at == 0 || now - s->saved_at >= s->save_every))
		napvd_ldap_save(s, now);
	r = changed ? 1 : 0;
out:
	for (size_t i = 0; i < n_seen; i++)
		napvd_ldap_doc_clear(&seen[i].doc);
	free(seen);
	return r;
}

int
napvd_hsr_ldap_apply(void *state, const struct napvd_hsr_entry *v, size_t n, int64_t now, char *err,
		     size_t cap)
{
	struct napvd_ldap *s = state;
	struct napvd_ldap_seen *seen = NULL;
	size_t n_seen = 0;

	s->unattributed = false;
	for (size_t i = 0; i < n; i++)
		napvd_ldap_take(s, &v[i], &seen, &n_seen);
	return napvd_ldap_finish(s, seen, n_seen, now, err, cap);
}

/* One read of every entry; the result is handed over. Negative: the read failed. */
static int
napvd_ldap_read(struct napvd_ldap *s, char *err, size_t cap)
{
	struct timeval tv = {.tv_sec = s->timeout_ms / 1000};
	int64_t deadline = nap_mono_ms() + s->timeout_ms;
	struct napvd_ldap_seen *seen = NULL;
	size_t n_seen = 0;
	bool done = false;
	int msgid, rc, r = 0;
	char d[256];

	napvd_ldap_check_thread(s);
	atomic_fetch_add(&s->searches, 1);
	s->unattributed = false;
	rc = ldap_search_ext(s->ld, s->base, LDAP_SCOPE_SUBTREE, s->filter,
			     (char **)napvd_ldap_attrs, 0, NULL, NULL, &tv, NAPVD_LDAP_MAX_ENTRIES,
			     &msgid);
	if (rc != LDAP_SUCCESS) {
		snprintf(err, cap, "search: %s", napvd_ldap_diag(s->ld, rc, d, sizeof(d)));
		return -EIO;
	}
	while (!done) {
		LDAPMessage *msg = NULL;
		int64_t left = deadline - nap_mono_ms();
		struct timeval wait = {.tv_sec = left / 1000, .tv_usec = (left % 1000) * 1000};
		int code = LDAP_OTHER;

		if (left <= 0 || napvd_ldap_stopping(s)) {
			ldap_abandon_ext(s->ld, msgid, NULL, NULL);
			snprintf(err, cap, "search: no answer within %lld s",
				 (long long)(s->timeout_ms / 1000));
			r = -ETIMEDOUT;
			break;
		}
		rc = ldap_result(s->ld, msgid, LDAP_MSG_ONE, &wait, &msg);
		if (rc == 0)
			continue;
		if (rc < 0) {
			ldap_get_option(s->ld, LDAP_OPT_RESULT_CODE, &code);
			snprintf(err, cap, "search: %s",
				 napvd_ldap_diag(s->ld, code, d, sizeof(d)));
			r = -EIO;
			break;
		}
		if (rc == LDAP_RES_SEARCH_ENTRY) {
			napvd_ldap_entry(s, msg, &seen, &n_seen);
		} else if (rc == LDAP_RES_SEARCH_RESULT) {
			char *diag = NULL;

			done = true;
			if (ldap_parse_result(s->ld, msg, &code, NULL, &diag, NULL, NULL, 0) !=
			    LDAP_SUCCESS)
				code = LDAP_OTHER;
			if (code != LDAP_SUCCESS) {
				char esc[128];

				nap_escape((const uint8_t *)(diag ? diag : ""),
					   diag ? strlen(diag) : 0, esc, sizeof(esc));
				if (code == LDAP_SIZELIMIT_EXCEEDED)
					snprintf(err, cap, "search: more than %d entries match",
						 NAPVD_LDAP_MAX_ENTRIES);
				else
					snprintf(err, cap, "search: %s%s%s", ldap_err2string(code),
						 *esc ? ": " : "", esc);
				r = -EIO;
			}
			ldap_memfree(diag);
		}
		/* Continuation references are not followed: the base names what to read. */
		ldap_msgfree(msg);
	}
	if (r < 0) {
		for (size_t i = 0; i < n_seen; i++)
			napvd_ldap_doc_clear(&seen[i].doc);
		free(seen);
		return r;
	}
	return napvd_ldap_finish(s, seen, n_seen, time(NULL), err, cap);
}

/* ---- the thread ---- */

static void *
napvd_ldap_main(void *arg)
{
	struct napvd_ldap *s = arg;
	int64_t next_read = 0;
	bool dirty = true;
	char err[NAPVD_LDAP_ERR_MAX];

	napvd_ldap_current = s;
	while (!napvd_ldap_stopping(s)) {
		int64_t now, retry;

		if (s->ld == NULL) {
			if (napvd_ldap_connect(s, err, sizeof(err)) < 0) {
				if (napvd_ldap_stopping(s))
					break;
				goto failed;
			}
			dirty = true;
			if (s->persist == NAPVD_PERSIST_AUTO &&
			    napvd_ldap_sync_start(s, err, sizeof(err)) < 0)
				goto failed;
		}
		if (napvd_ldap_sync_drain(s, &dirty, err, sizeof(err)) < 0)
			goto failed;
		now = nap_mono_ms();
		if (dirty || now >= next_read) {
			dirty = false;
			if (napvd_ldap_read(s, err, sizeof(err)) < 0) {
				if (napvd_ldap_stopping(s))
					break;
				goto failed;
			}
			next_read = nap_mono_ms() + s->interval_ms;
			/* Notifications that came in during the read. */
			continue;
		}
		napvd_ldap_wait(s, next_read - now, s->sync_msgid >= 0 ? s->sock : -1);
		continue;
	failed:
		napvd_ldap_drop(s);
		/* The event loop logs it (rate-limited, with the age of the HSRs in use). */
		napvd_ldap_failed(s, err);
		/* 1 s, 2 s, 4 s ... but never longer than query_interval. */
		retry = ((int64_t)NAPVD_LDAP_RETRY_MIN * 1000)
			<< (s->failures > 6 ? 6 : s->failures - 1);
		napvd_ldap_wait(s, retry < s->interval_ms ? retry : s->interval_ms, -1);
		dirty = true;
	}
	napvd_ldap_drop(s);
	return NULL;
}

/* ---- the ops ---- */

static void
napvd_ldap_close(void *state)
{
	struct napvd_ldap *s = state;

	if (s == NULL)
		return;
	if (s->started) {
		uint64_t one = 1;

		atomic_store(&s->stop, true);
		if (write(s->stop_fd, &one, sizeof(one)) < 0)
			log_warn("hsr: ldap: eventfd");
		pthread_mutex_lock(&s->mu);
		if (s->shared_sock >= 0)
			shutdown(s->shared_sock, SHUT_RDWR);
		pthread_mutex_unlock(&s->mu);
		pthread_join(s->thread, NULL);
	}
	napvd_ldap_drop(s);
	for (size_t i = 0; i < s->n_uris; i++)
		free(s->uris[i]);
	free(s->base);
	free(s->filter);
	free(s->bind_dn);
	if (s->bind_pw != NULL) {
		nap_wipe(s->bind_pw, strlen(s->bind_pw));
		free(s->bind_pw);
	}
	free(s->ca_file);
	free(s->state_path);
	free(s->sites);
	nap_keyring_free(s->kr);
	napvd_ldap_docs_free(s->good, s->n_good);
	nap_hsr_set_free(s->pending);
	if (s->stop_fd >= 0)
		close(s->stop_fd);
	if (s->event_fd >= 0)
		close(s->event_fd);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

static char *
napvd_ldap_strdup(const char *v, bool *oom)
{
	char *d;

	if (v == NULL)
		return NULL;
	d = strdup(v);
	if (d == NULL)
		*oom = true;
	return d;
}

static int
napvd_ldap_open(const struct napvd_config *conf, void **state, char *err, size_t err_len)
{
	struct napvd_ldap *s;
	bool oom = false;
	int r;

	*state = NULL;
	/* libldap's global defaults are set up on first use: here, before any reader thread. */
	ldap_get_option(NULL, LDAP_OPT_PROTOCOL_VERSION, &r);
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return -ENOMEM;
	pthread_mutex_init(&s->mu, NULL);
	s->stop_fd = s->event_fd = s->sock = s->shared_sock = -1;
	s->sync_msgid = -1;
	s->result = 2;
	for (size_t i = 0; i < conf->n_hsr_uris; i++)
		s->uris[s->n_uris++] = napvd_ldap_strdup(conf->hsr_uris[i], &oom);
	s->base = napvd_ldap_strdup(conf->hsr_base, &oom);
	s->filter = napvd_ldap_strdup(conf->hsr_filter, &oom);
	s->bind_dn = napvd_ldap_strdup(conf->hsr_bind_dn, &oom);
	s->bind_pw = napvd_ldap_strdup(conf->hsr_bind_password, &oom);
	s->ca_file = napvd_ldap_strdup(conf->hsr_ca_file, &oom);
	s->starttls = conf->hsr_starttls;
	s->persist = conf->hsr_persist;
	s->timeout_ms = conf->hsr_timeout * 1000;
	s->interval_ms = conf->hsr_query_interval * 1000;
	/* A restart during an outage loses at most a quarter of max_age to a stale saved time. */
	s->save_every = NAPVD_LDAP_SAVE_EVERY;
	if (conf->hsr_max_age > 0 && conf->hsr_max_age / 4 < s->save_every)
		s->save_every = conf->hsr_max_age / 4;
	if (conf->n_sites > 0) {
		s->sites = calloc(conf->n_sites, sizeof(*s->sites));
		if (s->sites != NULL) {
			memcpy(s->sites, conf->sites, conf->n_sites * sizeof(*s->sites));
			s->n_sites = conf->n_sites;
		} else {
			oom = true;
		}
	}
	if (conf->state_dir != NULL &&
	    asprintf(&s->state_path, "%s/%s", conf->state_dir, NAPVD_LDAP_STATE_FILE) < 0) {
		s->state_path = NULL;
		oom = true;
	}
	if (oom || s->base == NULL || s->filter == NULL || s->n_uris == 0) {
		snprintf(err, err_len, oom ? "out of memory" : "uri and base are required");
		napvd_ldap_close(s);
		return oom ? -ENOMEM : -EINVAL;
	}
	r = nap_keyring_new(&s->kr);
	if (r == 0)
		r = nap_keyring_add_file(s->kr, conf->hsr_trusted_keys);
	if (r < 0 || nap_keyring_count(s->kr) == 0) {
		snprintf(err, err_len, "trusted_keys %s: %s", conf->hsr_trusted_keys,
			 r < 0 ? strerror(-r) : "no public key found");
		napvd_ldap_close(s);
		return r < 0 ? r : -ENOKEY;
	}
	s->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	s->event_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (s->stop_fd < 0 || s->event_fd < 0) {
		r = -errno;
		snprintf(err, err_len, "eventfd: %s", strerror(errno));
		napvd_ldap_close(s);
		return r;
	}
	if (s->state_path != NULL)
		napvd_ldap_load(s);
	*state = s;
	return 0;
}

static int
napvd_ldap_start(void *state)
{
	struct napvd_ldap *s = state;
	sigset_t all, old;
	int r;

	if (s->started)
		return 0;
	/* The thread takes no signals: signalfd in the event loop gets them all. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	r = pthread_create(&s->thread, NULL, napvd_ldap_main, s);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r != 0)
		return -r;
	s->started = true;
	return 0;
}

static int
napvd_ldap_event_fd(void *state)
{
	return ((struct napvd_ldap *)state)->event_fd;
}

/* In the event loop: take what the thread has, without waiting for it. */
static int
napvd_ldap_refresh(void *state, struct nap_hsr_set **out, int64_t *read_at, char *err,
		   size_t err_len)
{
	struct napvd_ldap *s = state;
	uint64_t n;
	int r;

	if (read(s->event_fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		log_warn("hsr: ldap: eventfd");
	pthread_mutex_lock(&s->mu);
	r = s->result;
	if (r == 0) {
		*out = s->pending;
		s->pending = NULL;
	}
	*read_at = s->read_at;
	if (r < 0)
		snprintf(err, err_len, "%s", s->err);
	s->result = 2;
	pthread_mutex_unlock(&s->mu);
	return r;
}

static void
napvd_ldap_stats(void *state, struct napvd_hsr_stats *out)
{
	struct napvd_ldap *s = state;

	memset(out, 0, sizeof(*out));
	out->has_ldap = true;
	out->up = atomic_load(&s->up);
	out->persist = atomic_load(&s->persisting);
	out->searches = atomic_load(&s->searches);
	out->errors = atomic_load(&s->errors);
	out->notifications = atomic_load(&s->notifications);
	out->reads_off_thread = atomic_load(&s->off_thread);
	for (size_t i = 0; i < NAPVD_REJECT_COUNT; i++)
		out->rejected[i] = atomic_load(&s->rejected[i]);
}

const struct nap_hsr_source_ops napvd_hsr_ldap_ops = {
	.name = "ldap",
	.open = napvd_ldap_open,
	.refresh = napvd_ldap_refresh,
	.close = napvd_ldap_close,
	.start = napvd_ldap_start,
	.event_fd = napvd_ldap_event_fd,
	.stats = napvd_ldap_stats,
};
