// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * Status messages (include/nap/status.h, doc/formats.md "status messages"): the strict parser
 * of one line and the batch insert into status_messages / client_last.
 *
 * The parser handles untrusted input (a file anyone with write access to the inbox share can
 * drop): jansson reads the line with duplicate members refused, then every member is checked
 * for its type, length and character set; an unknown or missing member refuses the line.
 *
 * Exactly-once counting. Each message's id is its primary key: INSERT .. ON CONFLICT (id) DO
 * NOTHING stores it once however often it is delivered, and client_last is touched only for
 * the rows actually inserted, so its messages counter counts each id once; the same rows, and
 * only they, fold into status_daily (per day and machine: count and max(time * 2 +
 * noncompliant), what the history report reads for day buckets). "Newer" orders by
 * time, then by the id's sequence (same instance: a longer decimal is a larger number; equal
 * length compares as text), so the latest verdict does not depend on the order of delivery.
 * SQLite runs the statements one by one (no round trips to save). PostgreSQL gets the whole
 * batch in one statement: the messages as one JSON parameter (json_to_recordset), a
 * data-modifying WITH whose client_last upsert only sees the rows the insert took.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "nap/status.h"
#include "nap/util.h"
#include "store-int.h"

/* ---- the line parser ---- */

static int
status_why(char *why, size_t why_len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int
status_why(char *why, size_t why_len, const char *fmt, ...)
{
	va_list ap;

	if (why != NULL && why_len > 0) {
		va_start(ap, fmt);
		vsnprintf(why, why_len, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

int
nap_status_id_parse(const char *id, char instance[NAP_STATUS_INSTANCE_LEN + 1], uint64_t *seq)
{
	uint64_t v = 0;
	size_t i;

	for (i = 0; i < NAP_STATUS_INSTANCE_LEN; i++) {
		char c = id[i];

		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return -EINVAL;
	}
	if (id[i] != '-' || id[i + 1] < '1' || id[i + 1] > '9')
		return -EINVAL; /* the sequence starts at 1, no leading zero */
	for (i++; id[i] != '\0'; i++) {
		unsigned d;

		if (id[i] < '0' || id[i] > '9')
			return -EINVAL;
		d = (unsigned)(id[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -EINVAL;
		v = v * 10 + d;
	}
	if (instance != NULL) {
		memcpy(instance, id, NAP_STATUS_INSTANCE_LEN);
		instance[NAP_STATUS_INSTANCE_LEN] = '\0';
	}
	if (seq != NULL)
		*seq = v;
	return 0;
}

/* "YYYY-MM-DDTHH:MM:SSZ" exactly, a real date and time. */
static int
status_time(const char *s, int64_t *out)
{
	static const char pat[] = "dddd-dd-ddTdd:dd:ddZ";
	struct tm tm, back;
	time_t t;
	int v[6] = {0};
	int k = 0;

	if (strlen(s) != sizeof(pat) - 1)
		return -EINVAL;
	for (size_t i = 0; i < sizeof(pat) - 1; i++) {
		if (pat[i] == 'd') {
			if (s[i] < '0' || s[i] > '9')
				return -EINVAL;
		} else if (s[i] != pat[i]) {
			return -EINVAL;
		}
	}
	for (const char *p = s; *p != '\0' && k < 6;) {
		if (*p >= '0' && *p <= '9') {
			v[k] = v[k] * 10 + (*p - '0');
			p++;
			if (*p < '0' || *p > '9')
				k++;
		} else {
			p++;
		}
	}
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = v[0] - 1900;
	tm.tm_mon = v[1] - 1;
	tm.tm_mday = v[2];
	tm.tm_hour = v[3];
	tm.tm_min = v[4];
	tm.tm_sec = v[5];
	if (v[1] < 1 || v[1] > 12 || v[2] < 1 || v[3] > 23 || v[4] > 59 || v[5] > 59)
		return -EINVAL;
	t = timegm(&tm);
	if (t == (time_t)-1 || gmtime_r(&t, &back) == NULL || back.tm_mday != v[2] ||
	    back.tm_mon != v[1] - 1)
		return -EINVAL; /* 2026-02-30 */
	*out = (int64_t)t;
	return 0;
}

enum status_charset {
	CS_TOKEN,     /* [a-z0-9_-] */
	CS_PRINTABLE, /* printable ASCII */
	CS_TEXT,      /* UTF-8 without control characters */
	CS_HEX,       /* [0-9a-f] */
};

static bool
status_chars_ok(const char *s, enum status_charset cs)
{
	const unsigned char *p = (const unsigned char *)s;

	if (cs == CS_TEXT) {
		for (; *p != '\0'; p++)
			if (*p < 0x20 || *p == 0x7f)
				return false;
		return nap_store_utf8_valid(s);
	}
	for (; *p != '\0'; p++) {
		unsigned char c = *p;

		switch (cs) {
		case CS_TOKEN:
			if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
			      c == '-'))
				return false;
			break;
		case CS_PRINTABLE:
			if (c < 0x20 || c > 0x7e)
				return false;
			break;
		case CS_HEX:
			if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
				return false;
			break;
		case CS_TEXT:
			break;
		}
	}
	return true;
}

enum { F_ID, F_TIME, F_NAS, F_CLIENT, F_MACHINE, F_SITE, F_ENFORCEMENT, F_RESULT, F_BRANCH,
       F_EXEMPTION, F_ACTION, F_HSR_REVISION, F_CORRELATION_ID, F_COUNT };

static const struct {
	const char *name;
	bool optional;
	bool may_be_empty;
	enum status_charset cs;
	size_t off, cap; /* the destination in struct nap_status_msg (strings) */
} status_fields[F_COUNT] = {
#define SF(n, opt, empty, cs, m)                                                                   \
	{n, opt, empty, cs, offsetof(struct nap_status_msg, m),                                    \
	 sizeof(((struct nap_status_msg *)0)->m)}
	[F_ID] = SF("id", false, false, CS_PRINTABLE, id),
	[F_TIME] = {"time", false, false, CS_PRINTABLE, 0, 0},
	[F_NAS] = SF("nas", false, true, CS_PRINTABLE, nas),
	[F_CLIENT] = SF("client", false, true, CS_PRINTABLE, client),
	[F_MACHINE] = SF("machine", false, true, CS_TEXT, machine),
	[F_SITE] = SF("site", false, true, CS_TEXT, site),
	[F_ENFORCEMENT] = SF("enforcement", false, false, CS_TOKEN, enforcement),
	[F_RESULT] = SF("result", false, false, CS_TOKEN, result),
	[F_BRANCH] = SF("branch", false, false, CS_TOKEN, branch),
	[F_EXEMPTION] = SF("exemption", true, false, CS_PRINTABLE, exemption),
	[F_ACTION] = SF("action", false, false, CS_TOKEN, action),
	[F_HSR_REVISION] = {"hsr_revision", false, false, CS_PRINTABLE, 0, 0},
	[F_CORRELATION_ID] = SF("correlation_id", false, true, CS_HEX, correlation_id),
#undef SF
};

int
nap_status_msg_parse(const char *line, size_t len, struct nap_status_msg *out, char *why,
		     size_t why_len)
{
	json_error_t je;
	json_t *o, *v;
	const char *key;
	bool seen[F_COUNT] = {false};
	char name[40];
	int r = 0;

	memset(out, 0, sizeof(*out));
	if (len == 0)
		return status_why(why, why_len, "empty line");
	if (len > NAP_STATUS_LINE_MAX)
		return status_why(why, why_len, "line of %zu bytes, more than %d", len,
				  NAP_STATUS_LINE_MAX);
	if (line[0] != '{' || line[len - 1] != '}')
		return status_why(why, why_len, "not a JSON object on one line");
	o = json_loadb(line, len, JSON_REJECT_DUPLICATES, &je);
	if (o == NULL)
		return status_why(why, why_len, "malformed JSON at column %d: %.80s", je.column,
				  je.text);
	if (!json_is_object(o)) {
		json_decref(o);
		return status_why(why, why_len, "not a JSON object");
	}
	json_object_foreach(o, key, v) {
		int f;

		for (f = 0; f < F_COUNT; f++)
			if (strcmp(key, status_fields[f].name) == 0)
				break;
		if (f == F_COUNT) {
			nap_escape((const uint8_t *)key, strlen(key), name, sizeof(name));
			r = status_why(why, why_len, "unknown member \"%s\"", name);
			goto out;
		}
		seen[f] = true;
		if (f == F_HSR_REVISION) {
			if (!json_is_integer(v) || json_integer_value(v) < 0) {
				r = status_why(why, why_len,
					       "hsr_revision: not a non-negative integer");
				goto out;
			}
			out->hsr_revision = (int64_t)json_integer_value(v);
			continue;
		}
		if (!json_is_string(v)) {
			r = status_why(why, why_len, "%s: not a string", key);
			goto out;
		}
		{
			const char *s = json_string_value(v);
			size_t n = json_string_length(v);

			if (strlen(s) != n) {
				r = status_why(why, why_len, "%s: holds a NUL character", key);
				goto out;
			}
			if (n == 0 && !status_fields[f].may_be_empty) {
				r = status_why(why, why_len, "%s: empty", key);
				goto out;
			}
			if (f == F_TIME) {
				if (status_time(s, &out->time) < 0) {
					r = status_why(why, why_len,
						       "time: not YYYY-MM-DDTHH:MM:SSZ (UTC)");
					goto out;
				}
				continue;
			}
			if (n >= status_fields[f].cap) {
				r = status_why(why, why_len, "%s: longer than %zu bytes", key,
					       status_fields[f].cap - 1);
				goto out;
			}
			if (!status_chars_ok(s, status_fields[f].cs)) {
				r = status_why(why, why_len, "%s: characters not allowed there", key);
				goto out;
			}
			memcpy((char *)out + status_fields[f].off, s, n + 1);
		}
	}
	for (int f = 0; f < F_COUNT; f++) {
		if (!seen[f] && !status_fields[f].optional) {
			r = status_why(why, why_len, "member \"%s\" missing", status_fields[f].name);
			goto out;
		}
	}
	if (nap_status_id_parse(out->id, out->napvd, &out->seq) < 0) {
		r = status_why(why, why_len, "id: not <16 lowercase hex>-<sequence from 1>");
		goto out;
	}
	if (strlen(out->correlation_id) % 2 != 0) {
		r = status_why(why, why_len, "correlation_id: odd number of hex digits");
		goto out;
	}
	if (strcmp(out->branch, "exempt") != 0 && out->exemption[0] != '\0') {
		r = status_why(why, why_len, "exemption given with branch \"%s\"", out->branch);
		goto out;
	}
out:
	json_decref(o);
	if (r < 0)
		memset(out, 0, sizeof(*out));
	return r;
}

/* ---- the store ---- */

struct status_put {
	const struct nap_status_msg *msgs;
	size_t n;
	int64_t received;
	size_t inserted;
	char *json; /* PostgreSQL: the batch as a JSON array */
};

/* A message is newer than client_last's row: later time, or same time and later sequence. */
#define STATUS_NEWER(t, id)                                                                        \
	"(" t " > client_last.time OR (" t " = client_last.time AND (length(" id                  \
	") > length(client_last.id) OR (length(" id ") = length(client_last.id) AND " id         \
	" > client_last.id))))"

static const char status_insert_sql[] =
	"INSERT INTO status_messages (id, time, received, napvd, nas, client, machine, site,"
	" enforcement, result, branch, exemption, action, hsr_revision, correlation_id)"
	" VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)"
	" ON CONFLICT (id) DO NOTHING";

/* SQLite, after an insert that took the row: count it, then take it if newer. */
static const char status_count_sql[] =
	"INSERT INTO client_last (machine, id, time, first_seen, napvd, nas, client, site,"
	" enforcement, result, branch, exemption, action, hsr_revision, messages)"
	" VALUES ($1, $2, $3, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 1)"
	" ON CONFLICT (machine) DO UPDATE SET messages = client_last.messages + 1,"
	" first_seen = CASE WHEN excluded.first_seen < client_last.first_seen"
	" THEN excluded.first_seen ELSE client_last.first_seen END";

/* SQLite, after an insert that took the row: fold it into the daily rollup. */
static const char status_daily_sql[] =
	"INSERT INTO status_daily (day, machine, v, messages) VALUES ($1, $2, $3, 1)"
	" ON CONFLICT (day, machine) DO UPDATE SET v = max(v, excluded.v),"
	" messages = messages + 1";

static const char status_newer_sql[] =
	"UPDATE client_last SET id = $2, time = $3, napvd = $4, nas = $5, client = $6, site = $7,"
	" enforcement = $8, result = $9, branch = $10, exemption = $11, action = $12,"
	" hsr_revision = $13 WHERE machine = $1 AND " STATUS_NEWER("$3", "$2");

/*
 * PostgreSQL: the whole batch in one statement (one round trip): the messages as a JSON array
 * parameter, inserted with ON CONFLICT DO NOTHING; only the rows the insert took reach
 * client_last, one per machine (its newest by time, then sequence; the count and the oldest
 * time of its new rows). The statement returns how many rows were inserted.
 */
#define PG_TAKE(col) " " col " = CASE WHEN " STATUS_NEWER("excluded.time", "excluded.id") \
	" THEN excluded." col " ELSE client_last." col " END"
static const char status_pg_sql[] =
	"WITH src AS (SELECT * FROM json_to_recordset($1::json) AS x(id text, time bigint,"
	" napvd text, nas text, client text, machine text, site text, enforcement text,"
	" result text, branch text, exemption text, action text, hsr_revision bigint,"
	" correlation_id text)),"
	" ins AS (INSERT INTO status_messages (id, time, received, napvd, nas, client, machine,"
	" site, enforcement, result, branch, exemption, action, hsr_revision, correlation_id)"
	" SELECT id, time, $2, napvd, nas, client, machine, site, enforcement, result, branch,"
	" exemption, action, hsr_revision, correlation_id FROM src"
	" ON CONFLICT (id) DO NOTHING RETURNING id, time, napvd, nas, client, machine, site,"
	" enforcement, result, branch, exemption, action, hsr_revision),"
	" agg AS (SELECT DISTINCT ON (machine) machine, id, time, napvd, nas, client, site,"
	" enforcement, result, branch, exemption, action, hsr_revision,"
	" count(*) OVER (PARTITION BY machine) AS n, min(time) OVER (PARTITION BY machine) AS first"
	" FROM ins ORDER BY machine, time DESC, length(id) DESC, id DESC),"
	" up AS (INSERT INTO client_last (machine, id, time, first_seen, napvd, nas, client, site,"
	" enforcement, result, branch, exemption, action, hsr_revision, messages)"
	" SELECT machine, id, time, first, napvd, nas, client, site, enforcement, result, branch,"
	" exemption, action, hsr_revision, n FROM agg"
	" ON CONFLICT (machine) DO UPDATE SET messages = client_last.messages + excluded.messages,"
	" first_seen = LEAST(client_last.first_seen, excluded.first_seen),"
	PG_TAKE("nas") "," PG_TAKE("client") "," PG_TAKE("site") "," PG_TAKE("enforcement") ","
	PG_TAKE("result") "," PG_TAKE("branch") "," PG_TAKE("exemption") "," PG_TAKE("action") ","
	PG_TAKE("hsr_revision") "," PG_TAKE("napvd") ","
	/* id and time last: the CASEs above compare against the old values either way */
	PG_TAKE("id") "," PG_TAKE("time") " RETURNING 1),"
	" daily AS (INSERT INTO status_daily (day, machine, v, messages)"
	" SELECT time / 86400, machine,"
	" max(" STATUS_VERDICT_V "), count(*)"
	" FROM ins GROUP BY 1, 2"
	" ON CONFLICT (day, machine) DO UPDATE SET v = GREATEST(status_daily.v, excluded.v),"
	" messages = status_daily.messages + excluded.messages RETURNING 1)"
	" SELECT (SELECT count(*) FROM ins) + 0 * (SELECT count(*) FROM up)"
	" + 0 * (SELECT count(*) FROM daily)";
#undef PG_TAKE

static int
status_put_tx(struct nap_store *st, void *ctx, struct nap_store_err *err)
{
	struct status_put *p = ctx;
	int r;

	p->inserted = 0;
	if (st->ops == &nap_store_pg_ops) {
		int64_t n = 0;

		r = q_int(st, status_pg_sql, SP_ARGS(SP_T(p->json), SP_I(p->received)), &n, err);
		if (r < 0)
			return r;
		p->inserted = (size_t)n;
		return 0;
	}
	for (size_t i = 0; i < p->n; i++) {
		const struct nap_status_msg *m = &p->msgs[i];
		const char *ex = m->exemption[0] != '\0' ? m->exemption : NULL;
		int64_t changed = 0;

		r = q_exec(st, status_insert_sql,
			   SP_ARGS(SP_T(m->id), SP_I(m->time), SP_I(p->received), SP_T(m->napvd),
				   SP_T(m->nas), SP_T(m->client), SP_T(m->machine), SP_T(m->site),
				   SP_T(m->enforcement), SP_T(m->result), SP_T(m->branch), SP_T(ex),
				   SP_T(m->action), SP_I(m->hsr_revision), SP_T(m->correlation_id)),
			   &changed, err);
		if (r < 0)
			return r;
		if (changed == 0)
			continue; /* delivered before: counted then */
		p->inserted++;
		r = q_batch(st, status_count_sql,
			    SP_ARGS(SP_T(m->machine), SP_T(m->id), SP_I(m->time), SP_T(m->napvd),
				    SP_T(m->nas), SP_T(m->client), SP_T(m->site),
				    SP_T(m->enforcement), SP_T(m->result), SP_T(m->branch), SP_T(ex),
				    SP_T(m->action), SP_I(m->hsr_revision)),
			    err);
		if (r == 0)
			r = q_batch(st, status_daily_sql,
				    SP_ARGS(SP_I(m->time / 86400), SP_T(m->machine),
					    SP_I(m->time * 2 + (strcmp(m->result, "compliant") != 0))),
				    err);
		if (r == 0)
			r = q_batch(st, status_newer_sql,
				    SP_ARGS(SP_T(m->machine), SP_T(m->id), SP_I(m->time),
					    SP_T(m->napvd), SP_T(m->nas), SP_T(m->client),
					    SP_T(m->site), SP_T(m->enforcement), SP_T(m->result),
					    SP_T(m->branch), SP_T(ex), SP_T(m->action),
					    SP_I(m->hsr_revision)),
				    err);
		if (r < 0)
			return r;
	}
	return 0;
}

/* The batch as a JSON array of objects for json_to_recordset (PostgreSQL). */
static char *
status_json(const struct nap_status_msg *msgs, size_t n)
{
	json_t *a = json_array();
	char *s;

	if (a == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		const struct nap_status_msg *m = &msgs[i];
		json_t *o = json_pack("{s:s, s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s,"
				      " s:I}",
				      "id", m->id, "time", (json_int_t)m->time, "napvd", m->napvd,
				      "nas", m->nas, "client", m->client, "machine", m->machine,
				      "site", m->site, "enforcement", m->enforcement, "result",
				      m->result, "branch", m->branch, "action", m->action,
				      "correlation_id", m->correlation_id, "hsr_revision",
				      (json_int_t)m->hsr_revision);

		if (o == NULL || json_array_append_new(a, o) < 0) {
			json_decref(a);
			return NULL;
		}
		json_object_set_new(o, "exemption", m->exemption[0] != '\0'
							    ? json_string(m->exemption)
							    : json_null());
	}
	s = json_dumps(a, JSON_COMPACT);
	json_decref(a);
	return s;
}

int
nap_store_status_put(struct nap_store *st, const struct nap_status_msg *msgs, size_t n,
		     int64_t received, size_t *inserted, struct nap_store_err *err)
{
	struct status_put p = {.msgs = msgs, .n = n, .received = received};
	int r;

	if (inserted != NULL)
		*inserted = 0;
	for (size_t i = 0; i < n; i++) {
		if (nap_status_id_parse(msgs[i].id, NULL, NULL) < 0)
			return nap_store_errf(err, -EINVAL, "message %zu: malformed id", i);
		if (!nap_store_utf8_valid(msgs[i].machine) || !nap_store_utf8_valid(msgs[i].site))
			return nap_store_errf(err, -EINVAL, "message %zu: machine or site is not "
							    "UTF-8", i);
	}
	if (n == 0)
		return 0;
	if (st->ops == &nap_store_pg_ops && (p.json = status_json(msgs, n)) == NULL)
		return nap_store_errf(err, -ENOMEM, "out of memory");
	r = store_run(st, STORE_TX_WRITE, status_put_tx, &p, err);
	free(p.json);
	if (r == 0 && inserted != NULL)
		*inserted = p.inserted;
	return r;
}

struct status_quarantine {
	const char *file, *digest, *reason;
	int64_t line, received;
};

static int
status_quarantine_tx(struct nap_store *st, void *ctx, struct nap_store_err *err)
{
	struct status_quarantine *q = ctx;

	return q_exec(st,
		      "INSERT INTO status_quarantine (file, digest, line, reason, received)"
		      " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (file, digest, line) DO NOTHING",
		      SP_ARGS(SP_T(q->file), SP_T(q->digest), SP_I(q->line), SP_T(q->reason),
			      SP_I(q->received)),
		      NULL, err);
}

int
nap_store_status_quarantine(struct nap_store *st, const char *file, const char *digest,
			    int64_t line, const char *reason, int64_t received,
			    struct nap_store_err *err)
{
	struct status_quarantine q = {file, digest != NULL ? digest : "", reason, line, received};

	if (!nap_store_utf8_valid(file) || !nap_store_utf8_valid(q.digest) ||
	    !nap_store_utf8_valid(reason))
		return nap_store_errf(err, -EINVAL, "quarantine: file name, digest or reason not "
						    "UTF-8");
	return store_run(st, STORE_TX_WRITE, status_quarantine_tx, &q, err);
}

/* ---- retention ---- */

struct status_prune {
	int64_t before, before_day, limit;
	struct nap_status_pruned *out;
};

static int
status_prune_tx(struct nap_store *st, void *ctx, struct nap_store_err *err)
{
	struct status_prune *p = ctx;
	int64_t n = 0;
	int r;

	memset(p->out, 0, sizeof(*p->out));
	if (p->before > 0) {
		/* oldest first, through the (time, ...) index; a bounded transaction each call */
		r = q_exec(st,
			   "DELETE FROM status_messages WHERE id IN (SELECT id FROM status_messages"
			   " WHERE time < $1 ORDER BY time LIMIT $2)",
			   SP_ARGS(SP_I(p->before), SP_I(p->limit)), &n, err);
		if (r < 0)
			return r;
		p->out->messages = n;
		r = q_exec(st,
			   "DELETE FROM status_quarantine WHERE seq IN (SELECT seq FROM"
			   " status_quarantine WHERE received < $1 ORDER BY seq LIMIT $2)",
			   SP_ARGS(SP_I(p->before), SP_I(p->limit)), &n, err);
		if (r < 0)
			return r;
		p->out->quarantine = n;
	}
	if (p->before_day > 0) {
		r = q_exec(st,
			   "DELETE FROM status_daily WHERE (day, machine) IN (SELECT day, machine"
			   " FROM status_daily WHERE day < $1 ORDER BY day, machine LIMIT $2)",
			   SP_ARGS(SP_I(p->before_day), SP_I(p->limit)), &n, err);
		if (r < 0)
			return r;
		p->out->daily = n;
	}
	return 0;
}

int
nap_store_status_prune(struct nap_store *st, int64_t before, int64_t before_day, int64_t limit,
		       struct nap_status_pruned *out, struct nap_store_err *err)
{
	struct status_prune p = {before, before_day, limit, out};

	memset(out, 0, sizeof(*out));
	if (before < 0 || before_day < 0 || limit <= 0)
		return nap_store_errf(err, -EINVAL, "prune: bad bounds");
	return store_run(st, STORE_TX_WRITE, status_prune_tx, &p, err);
}
