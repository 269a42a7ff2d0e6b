// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * The body of an agent's POST /v1/state: strict JSON (jansson) into struct nap_agent_state.
 * Handles untrusted input: the body comes from the network, from an agent that authenticated
 * but is not trusted to be well-formed. Everything is checked before anything is stored: known
 * members only, exact types, sizes, the policy id charset, unique missing ids. Which client the
 * state belongs to never comes from the body (the caller takes it from the certificate).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "agent.h"

#define STATE_TIME_MAX 40 /* "2026-11-25T10:00:00.123456789+01:00" and a margin */

static const char *const state_members[] = {"state",     "compliant", "hsr_revision", "hsr_digest",
					    "evaluated", "missing",   "detail"};

__attribute__((format(printf, 3, 4))) static int
state_err(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL && len > 0) {
		va_start(ap, fmt);
		vsnprintf(err, len, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

static bool
state_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* n decimal digits at s into *out; false when any is not a digit. */
static bool
state_num(const char *s, int n, int *out)
{
	*out = 0;
	for (int i = 0; i < n; i++) {
		if (!state_digit(s[i]))
			return false;
		*out = *out * 10 + (s[i] - '0');
	}
	return true;
}

/*
 * RFC 3339 date-time (section 5.6): YYYY-MM-DDTHH:MM:SS, an optional fraction (ignored), then
 * Z or an offset +HH:MM / -HH:MM. 't' and 'z' are accepted as the RFC allows. Leap seconds are
 * refused rather than guessed at.
 */
int
napsited_state_parse_time(const char *s, int64_t *out)
{
	int year, mon, mday, hour, min, sec, oh = 0, om = 0, sign = 0;
	static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	size_t n = strlen(s), i = 19;
	struct tm tm;
	time_t t;

	if (n < 20 || n > STATE_TIME_MAX)
		return -EINVAL;
	if (!state_num(s, 4, &year) || s[4] != '-' || !state_num(s + 5, 2, &mon) || s[7] != '-' ||
	    !state_num(s + 8, 2, &mday) || (s[10] != 'T' && s[10] != 't') ||
	    !state_num(s + 11, 2, &hour) || s[13] != ':' || !state_num(s + 14, 2, &min) ||
	    s[16] != ':' || !state_num(s + 17, 2, &sec))
		return -EINVAL;
	if (s[i] == '.') {
		i++;
		if (!state_digit(s[i]))
			return -EINVAL;
		while (state_digit(s[i]))
			i++;
	}
	if (s[i] == 'Z' || s[i] == 'z') {
		i++;
	} else if (s[i] == '+' || s[i] == '-') {
		sign = s[i] == '+' ? 1 : -1;
		if (n - i != 6 || !state_num(s + i + 1, 2, &oh) || s[i + 3] != ':' ||
		    !state_num(s + i + 4, 2, &om) || oh > 23 || om > 59)
			return -EINVAL;
		i += 6;
	} else {
		return -EINVAL;
	}
	if (i != n)
		return -EINVAL;
	if (year < 1970 || mon < 1 || mon > 12 || mday < 1 || mday > mdays[mon - 1] || hour > 23 ||
	    min > 59 || sec > 59)
		return -EINVAL;
	if (mon == 2 && mday == 29 && !(year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)))
		return -EINVAL;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = year - 1900;
	tm.tm_mon = mon - 1;
	tm.tm_mday = mday;
	tm.tm_hour = hour;
	tm.tm_min = min;
	tm.tm_sec = sec;
	t = timegm(&tm);
	if (t == (time_t)-1)
		return -EINVAL;
	*out = (int64_t)t - sign * (int64_t)(oh * 3600 + om * 60);
	return 0;
}

/* A policy / update id: 1..NAP_UPDATE_ID_MAX of [A-Za-z0-9._:+~-] (the store's charset). */
static bool
state_id_valid(const char *s, size_t n)
{
	if (n == 0 || n > NAP_UPDATE_ID_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      strchr("._:+~-", c) != NULL))
			return false;
	}
	return true;
}

static int
state_digest(json_t *v, char out[65], char *err, size_t len)
{
	const char *s;
	size_t n;

	if (!json_is_string(v))
		return state_err(err, len, "\"hsr_digest\" must be a string");
	s = json_string_value(v);
	n = json_string_length(v);
	if (n != 0 && n != 64)
		return state_err(err, len, "\"hsr_digest\" must be empty or 64 hex characters");
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (c >= 'A' && c <= 'F')
			c = (char)(c - 'A' + 'a');
		if (!state_digit(c) && !(c >= 'a' && c <= 'f'))
			return state_err(err, len, "\"hsr_digest\" must be hex");
		out[i] = c;
	}
	out[n] = '\0';
	return 0;
}

static int
state_missing(json_t *v, struct nap_agent_state *out, char *err, size_t len)
{
	size_t i;
	json_t *e;

	if (!json_is_array(v))
		return state_err(err, len, "\"missing\" must be an array");
	if (json_array_size(v) > NAP_AGENT_MAX_MISSING)
		return state_err(err, len, "\"missing\" has %zu ids, at most %d allowed",
				 json_array_size(v), NAP_AGENT_MAX_MISSING);
	json_array_foreach(v, i, e)
	{
		const char *s;
		size_t n;

		if (!json_is_string(e))
			return state_err(err, len, "\"missing\"[%zu] must be a string", i);
		s = json_string_value(e);
		n = json_string_length(e);
		if (!state_id_valid(s, n))
			return state_err(err, len,
					 "\"missing\"[%zu] is not an id (1-%d of A-Z a-z 0-9 ._:+~-)",
					 i, NAP_UPDATE_ID_MAX);
		for (size_t j = 0; j < out->n_missing; j++)
			if (strcmp(out->missing[j], s) == 0)
				return state_err(err, len, "\"missing\"[%zu] repeats \"%s\"", i, s);
		memcpy(out->missing[out->n_missing], s, n + 1);
		out->n_missing++;
	}
	return 0;
}

static int
state_fields(json_t *root, struct nap_agent_state *out, char *err, size_t len)
{
	const char *key;
	json_t *v;
	json_int_t i;
	int r;

	if (!json_is_object(root))
		return state_err(err, len, "the body must be a JSON object");
	json_object_foreach(root, key, v)
	{
		bool known = false;

		for (size_t k = 0; k < sizeof(state_members) / sizeof(state_members[0]); k++)
			known = known || strcmp(key, state_members[k]) == 0;
		if (!known) {
			char shown[40];

			/* The key is the sender's: show a bounded, printable prefix only. */
			snprintf(shown, sizeof(shown), "%s", key);
			for (char *p = shown; *p != '\0'; p++)
				if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
					*p = '?';
			return state_err(err, len, "unknown member \"%s\"", shown);
		}
	}

	v = json_object_get(root, "state");
	if (v == NULL)
		return state_err(err, len, "\"state\" is missing");
	if (!json_is_integer(v))
		return state_err(err, len, "\"state\" must be an integer");
	i = json_integer_value(v);
	if (i < NAP_AGENT_UNRESTRICTED || i > NAP_AGENT_RESTRICTED)
		return state_err(err, len, "\"state\" must be 1, 2 or 3");
	out->state = (enum nap_agent_state_id)i;

	v = json_object_get(root, "compliant");
	if (v == NULL)
		return state_err(err, len, "\"compliant\" is missing");
	if (!json_is_boolean(v))
		return state_err(err, len, "\"compliant\" must be true or false");
	out->compliant = json_is_true(v);

	v = json_object_get(root, "hsr_revision");
	if (v == NULL)
		return state_err(err, len, "\"hsr_revision\" is missing");
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return state_err(err, len, "\"hsr_revision\" must be an integer >= 0");
	out->hsr_revision = (uint64_t)json_integer_value(v);

	v = json_object_get(root, "hsr_digest");
	if (v != NULL && (r = state_digest(v, out->hsr_digest, err, len)) < 0)
		return r;

	v = json_object_get(root, "evaluated");
	if (v == NULL)
		return state_err(err, len, "\"evaluated\" is missing");
	if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v) ||
	    napsited_state_parse_time(json_string_value(v), &out->evaluated) < 0)
		return state_err(err, len,
				 "\"evaluated\" must be an RFC 3339 time (2026-11-25T10:00:00Z)");

	v = json_object_get(root, "missing");
	if (v != NULL && (r = state_missing(v, out, err, len)) < 0)
		return r;

	v = json_object_get(root, "detail");
	if (v != NULL && !json_is_null(v)) {
		if (!json_is_object(v))
			return state_err(err, len, "\"detail\" must be an object");
		out->detail = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);
		if (out->detail == NULL)
			return state_err(err, len, "\"detail\" cannot be serialised");
		if (strlen(out->detail) > NAPSITED_AGENT_BODY_MAX) {
			free(out->detail);
			out->detail = NULL;
			return state_err(err, len, "\"detail\" is larger than %d bytes",
					 NAPSITED_AGENT_BODY_MAX);
		}
	}
	return 0;
}

int
napsited_state_parse(const uint8_t *body, size_t len, struct nap_agent_state *out, char *err,
		     size_t err_len)
{
	json_error_t jerr;
	json_t *root;
	int r;

	memset(out, 0, sizeof(*out));
	if (len == 0)
		return state_err(err, err_len, "empty body");
	if (len > NAPSITED_AGENT_BODY_MAX)
		return state_err(err, err_len, "body larger than %d bytes", NAPSITED_AGENT_BODY_MAX);
	root = json_loadb((const char *)body, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL) {
		r = state_err(err, err_len, "bad JSON at line %d column %d: %s", jerr.line,
			      jerr.column, jerr.text);
	} else {
		r = state_fields(root, out, err, err_len);
		json_decref(root);
	}
	/* Messages quote the sender's bytes (jansson's "near '...'"): keep them printable. */
	for (char *p = err; r < 0 && p != NULL && err_len > 0 && *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
			*p = '?';
	if (r < 0) {
		free(out->detail);
		memset(out, 0, sizeof(*out));
	}
	return r;
}
