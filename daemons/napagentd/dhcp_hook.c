// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * DHCP enforcement, client side: the option-43 payload (NAP-CoID + NAP-SoH, MS-DHCPN) in a
 * dhclient or dhcpcd configuration fragment written atomically, the renew command, and the
 * parsing of what the DHCP hooks hand back (the SoHR in the ACK's option 43). See dhcp_hook.h.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dhcp_hook.h"
#include "nap/log.h"
#include "nap/util.h"
#include "remediate.h"

#define AGENT_DHCP_TEMPLATE_MAX (64 * 1024)
/* payload as "xx:" per byte + the surrounding text */
#define AGENT_DHCP_TEXT_EXTRA   512

static const char *const dhclient_default_fragment = "/etc/dhcp/dhclient-napagentd.conf";
static const char *const dhcpcd_default_fragment = "/etc/dhcpcd-napagentd.conf";
static const char *const dhcpcd_default_renew = "/usr/sbin/dhcpcd -n %i";

const char *
agent_dhcp_client_name(enum agent_dhcp_client c)
{
	switch (c) {
	case AGENT_DHCP_NONE:
		return "none";
	case AGENT_DHCP_DHCLIENT:
		return "dhclient";
	case AGENT_DHCP_DHCPCD:
		return "dhcpcd";
	}
	return "unknown";
}

void
agent_dhcp_conf_init(struct agent_dhcp_conf *c)
{
	memset(c, 0, sizeof(*c));
	c->client = AGENT_DHCP_NONE;
	snprintf(c->vendor_class, sizeof(c->vendor_class), "%s", "MSFT 5.0");
	c->renew_timeout = 30;
}

static int
set_path(const char *key, const char *value, char *dst, size_t cap, char *err, size_t len)
{
	if (value[0] != '/') {
		snprintf(err, len, "%s: expected an absolute path, not '%s'", key, value);
		return -EINVAL;
	}
	if (strlen(value) >= cap) {
		snprintf(err, len, "%s: longer than %zu bytes", key, cap - 1);
		return -EINVAL;
	}
	snprintf(dst, cap, "%s", value);
	return 0;
}

int
agent_dhcp_conf_set(struct agent_dhcp_conf *c, const char *key, const char *value, char *err,
		    size_t len)
{
	if (strcmp(key, "client") == 0) {
		if (strcmp(value, "none") == 0)
			c->client = AGENT_DHCP_NONE;
		else if (strcmp(value, "dhclient") == 0)
			c->client = AGENT_DHCP_DHCLIENT;
		else if (strcmp(value, "dhcpcd") == 0)
			c->client = AGENT_DHCP_DHCPCD;
		else {
			snprintf(err, len, "client: expected none, dhclient or dhcpcd, not '%s'",
				 value);
			return -EINVAL;
		}
		return 0;
	}
	if (strcmp(key, "interface") == 0) {
		size_t i, n = strlen(value);

		if (n == 0 || n >= 16) { /* IFNAMSIZ */
			snprintf(err, len, "interface: expected 1 to 15 characters, not '%s'", value);
			return -EINVAL;
		}
		for (i = 0; i < n; i++) {
			unsigned char ch = (unsigned char)value[i];

			if (!(isalnum(ch) || ch == '.' || ch == '_' || ch == '-')) {
				snprintf(err, len, "interface: '%s' has characters outside "
					 "[A-Za-z0-9._-]", value);
				return -EINVAL;
			}
		}
		snprintf(c->interface, sizeof(c->interface), "%s", value);
		return 0;
	}
	if (strcmp(key, "fragment") == 0)
		return set_path(key, value, c->fragment, sizeof(c->fragment), err, len);
	if (strcmp(key, "template") == 0)
		return set_path(key, value, c->template_path, sizeof(c->template_path), err, len);
	if (strcmp(key, "vendor_class") == 0) {
		size_t i, n = strlen(value);

		if (n >= sizeof(c->vendor_class)) {
			snprintf(err, len, "vendor_class: longer than %zu bytes",
				 sizeof(c->vendor_class) - 1);
			return -EINVAL;
		}
		for (i = 0; i < n; i++) {
			unsigned char ch = (unsigned char)value[i];

			/* written into a quoted string (dhclient) or a line (dhcpcd) */
			if (ch < 0x20 || ch > 0x7e || ch == '"' || ch == '\\') {
				snprintf(err, len, "vendor_class: printable ASCII without quotes or "
					 "backslashes only");
				return -EINVAL;
			}
		}
		snprintf(c->vendor_class, sizeof(c->vendor_class), "%s", value);
		return 0;
	}
	if (strcmp(key, "renew_command") == 0) {
		char buf[AGENT_DHCP_CMD_MAX];
		char *argv[AGENT_REMEDIATION_MAX_ARGS];
		int n;

		if (strlen(value) >= sizeof(c->renew_command)) {
			snprintf(err, len, "renew_command: longer than %zu bytes",
				 sizeof(c->renew_command) - 1);
			return -EINVAL;
		}
		n = agent_remediation_split(value, buf, sizeof(buf), argv, NAP_ARRAY_SIZE(argv));
		if (n < 0) {
			snprintf(err, len, "renew_command: unbalanced quote or too many words");
			return -EINVAL;
		}
		if (n > 0 && argv[0][0] != '/') {
			snprintf(err, len, "renew_command: the program must be an absolute path, "
				 "not '%s'", argv[0]);
			return -EINVAL;
		}
		snprintf(c->renew_command, sizeof(c->renew_command), "%s", value);
		return 0;
	}
	if (strcmp(key, "renew_timeout") == 0) {
		int64_t s;

		if (nap_parse_duration(value, &s) < 0 || s < 1 || s > 3600) {
			snprintf(err, len, "renew_timeout: expected a duration from 1s to 1h, not "
				 "'%s'", value);
			return -EINVAL;
		}
		c->renew_timeout = s;
		return 0;
	}
	return 1;
}

const char *
agent_dhcp_fragment_path(const struct agent_dhcp_conf *c)
{
	if (c->client == AGENT_DHCP_NONE)
		return NULL;
	if (c->fragment[0] != '\0')
		return c->fragment;
	return c->client == AGENT_DHCP_DHCLIENT ? dhclient_default_fragment :
						  dhcpcd_default_fragment;
}

/* ---- payload ---- */

void
agent_dhcp_coid(const uint8_t corr[NAP_CORRELATION_ID_LEN], uint8_t coid[NAP_DHCP_COID_LEN])
{
	char hex[2 * NAP_CORRELATION_ID_LEN + 1];

	memset(coid, 0, NAP_DHCP_COID_LEN);
	memcpy(coid, corr, NAP_CORRELATION_ID_LEN);
	nap_hex_encode(corr, NAP_CORRELATION_ID_LEN, hex);
	memcpy(coid + NAP_CORRELATION_ID_LEN, hex, 2 * NAP_CORRELATION_ID_LEN);
}

long
agent_dhcp_payload(const uint8_t *soh, size_t len, const uint8_t corr[NAP_CORRELATION_ID_LEN],
		   uint8_t *out, size_t cap)
{
	struct nap_dhcp_nap *nap;
	long n;

	if (soh != NULL && len > NAP_DHCP_NAP_SOH_MAX)
		return -EMSGSIZE;
	nap = calloc(1, sizeof(*nap));
	if (nap == NULL)
		return -ENOMEM;
	nap->present = true;
	if (corr != NULL) {
		nap->has_coid = true;
		agent_dhcp_coid(corr, nap->coid);
	}
	if (soh != NULL && len > 0) {
		nap->soh_kind = NAP_DHCP_SOH_DATA;
		nap->soh = soh;
		nap->soh_len = len;
	} else {
		nap->soh_kind = NAP_DHCP_SOH_PROBE;
	}
	n = nap_dhcp_nap_encode(nap, out, cap);
	free(nap);
	return n;
}

/* Append printf text to out; false when it does not fit. */
static bool __attribute__((format(printf, 4, 5)))
put(char *out, size_t cap, size_t *o, const char *fmt, ...)
{
	va_list ap;
	int k;

	if (*o >= cap)
		return false;
	va_start(ap, fmt);
	k = vsnprintf(out + *o, cap - *o, fmt, ap);
	va_end(ap);
	if (k < 0 || (size_t)k >= cap - *o)
		return false;
	*o += (size_t)k;
	return true;
}

long
agent_dhcp_render(enum agent_dhcp_client client, const char *vendor_class, const char *tmpl,
		  size_t tmpl_len, const uint8_t *payload, size_t plen, char *out, size_t cap)
{
	size_t o = 0, i;
	bool ok = true;

	if (client != AGENT_DHCP_DHCLIENT && client != AGENT_DHCP_DHCPCD)
		return -EINVAL;
	if (cap == 0)
		return -ENOSPC;
	out[0] = '\0';
	if (tmpl != NULL && tmpl_len > 0) {
		if (tmpl_len + 1 >= cap)
			return -ENOSPC;
		memcpy(out, tmpl, tmpl_len);
		o = tmpl_len;
		if (out[o - 1] != '\n')
			out[o++] = '\n';
		out[o] = '\0';
	}
	ok = put(out, cap, &o, "%s written by napagentd: the Statement of Health in option 43 "
		 "([MS-DHCPN]); rewritten on every evaluation, do not edit\n",
		 client == AGENT_DHCP_DHCLIENT ? "#" : "#");
	if (client == AGENT_DHCP_DHCLIENT) {
		if (vendor_class != NULL && vendor_class[0] != '\0')
			ok = ok && put(out, cap, &o, "send vendor-class-identifier \"%s\";\n",
				       vendor_class);
		ok = ok && put(out, cap, &o, "also request vendor-encapsulated-options;\n");
		ok = ok && put(out, cap, &o, "send vendor-encapsulated-options ");
		for (i = 0; ok && i < plen; i++)
			ok = put(out, cap, &o, "%s%02x", i ? ":" : "", payload[i]);
		ok = ok && put(out, cap, &o, ";\n");
	} else {
		if (vendor_class != NULL && vendor_class[0] != '\0')
			ok = ok && put(out, cap, &o, "vendorclassid %s\n", vendor_class);
		ok = ok && put(out, cap, &o, "option vendor_encapsulated_options\n");
		/* an empty code: dhcpcd sends the bytes as they are */
		ok = ok && put(out, cap, &o, "vendor ,");
		for (i = 0; ok && i < plen; i++)
			ok = put(out, cap, &o, "%s%02x", i ? ":" : "", payload[i]);
		ok = ok && put(out, cap, &o, "\n");
	}
	if (!ok)
		return -ENOSPC;
	return (long)o;
}

int
agent_dhcp_publish(const struct agent_dhcp_conf *c, const uint8_t *soh, size_t len,
		   const uint8_t *corr, char *err, size_t err_len)
{
	uint8_t own_corr[NAP_CORRELATION_ID_LEN];
	uint8_t *payload = NULL, *tmpl = NULL, *old = NULL;
	size_t tmpl_len = 0, old_len = 0, cap;
	char *text = NULL;
	const char *path = agent_dhcp_fragment_path(c);
	long plen, tlen, limit;
	bool too_long = false;
	int r;

	if (path == NULL)
		return 2;
	if (corr == NULL) {
		struct nap_soh *parsed;
		struct nap_err perr;
		const uint8_t *pc;

		if (soh == NULL || len == 0) {
			snprintf(err, err_len, "no correlation id for the NAP probe");
			return -EINVAL;
		}
		parsed = calloc(1, sizeof(*parsed));
		if (parsed == NULL)
			return -ENOMEM;
		memset(&perr, 0, sizeof(perr));
		r = nap_soh_decode(soh, len, parsed, &perr);
		pc = r == 0 ? nap_soh_correlation_id(parsed) : NULL;
		if (pc != NULL)
			memcpy(own_corr, pc, sizeof(own_corr));
		free(parsed);
		if (pc == NULL) {
			snprintf(err, err_len, "the SoH carries no correlation id%s",
				 r < 0 ? " (it does not parse)" : "");
			return -EINVAL;
		}
		corr = own_corr;
	}
	payload = malloc(AGENT_DHCP_PAYLOAD_MAX);
	if (payload == NULL)
		return -ENOMEM;
	plen = agent_dhcp_payload(soh, len, corr, payload, AGENT_DHCP_PAYLOAD_MAX);
	if (plen < 0) {
		snprintf(err, err_len, "option 43 payload: %s (SoH of %zu bytes)",
			 strerror((int)-plen), len);
		r = (int)plen;
		goto out;
	}
	limit = c->client == AGENT_DHCP_DHCLIENT ? AGENT_DHCP_DHCLIENT_MAX : AGENT_DHCP_DHCPCD_MAX;
	/* dhcpcd: without the (optional) CoID a short SoH may still fit */
	if (plen > limit && c->client == AGENT_DHCP_DHCPCD && soh != NULL)
		plen = agent_dhcp_payload(soh, len, NULL, payload, AGENT_DHCP_PAYLOAD_MAX);
	if (plen > limit) {
		/* the client would drop option 43 (or the line): send the probe, never a stale SoH */
		snprintf(err, err_len, "the SoH (%zu bytes, option 43 of %ld bytes) is longer than "
			 "%s sends (%ld bytes): the fragment carries the NAP probe only", len, plen,
			 agent_dhcp_client_name(c->client), limit);
		too_long = true;
		plen = agent_dhcp_payload(NULL, 0, corr, payload, AGENT_DHCP_PAYLOAD_MAX);
	}
	if (plen < 0) {
		r = (int)plen;
		goto out;
	}
	if (c->template_path[0] != '\0') {
		r = nap_read_file(c->template_path, AGENT_DHCP_TEMPLATE_MAX, &tmpl, &tmpl_len);
		if (r < 0) {
			snprintf(err, err_len, "template %s: %s", c->template_path, strerror(-r));
			goto out;
		}
	}
	cap = tmpl_len + 3 * (size_t)plen + AGENT_DHCP_TEXT_EXTRA;
	text = malloc(cap);
	if (text == NULL) {
		r = -ENOMEM;
		goto out;
	}
	tlen = agent_dhcp_render(c->client, c->vendor_class, (const char *)tmpl, tmpl_len, payload,
				 (size_t)plen, text, cap);
	if (tlen < 0) {
		snprintf(err, err_len, "fragment: %s", strerror((int)-tlen));
		r = (int)tlen;
		goto out;
	}
	if (nap_read_file(path, (size_t)tlen + 1, &old, &old_len) == 0 &&
	    old_len == (size_t)tlen && memcmp(old, text, old_len) == 0) {
		r = too_long ? -EMSGSIZE : 1;
		goto out;
	}
	r = nap_write_file_atomic(path, text, (size_t)tlen, 0644);
	if (r < 0) {
		snprintf(err, err_len, "writing %s: %s", path, strerror(-r));
		goto out;
	}
	log_info("dhcp: wrote %s for %s (option 43: %ld bytes, %s)", path,
		 agent_dhcp_client_name(c->client), plen, too_long ? "probe: SoH too long" : soh == NULL ? "probe" : "SoH");
	r = too_long ? -EMSGSIZE : 0;
out:
	free(old);
	free(text);
	free(tmpl);
	free(payload);
	return r;
}

/* ---- renew ---- */

/* Replace "%i" by the interface and "%%" by "%" in word, into out. */
static int
expand(const char *word, const char *ifname, char *out, size_t cap)
{
	size_t o = 0;

	for (; *word != '\0'; word++) {
		const char *add = NULL;
		char one[2] = {*word, '\0'};

		if (word[0] == '%' && word[1] == 'i') {
			add = ifname;
			word++;
		} else if (word[0] == '%' && word[1] == '%') {
			add = "%";
			word++;
		} else {
			add = one;
		}
		if (o + strlen(add) >= cap)
			return -ENAMETOOLONG;
		memcpy(out + o, add, strlen(add));
		o += strlen(add);
	}
	out[o] = '\0';
	return 0;
}

int
agent_dhcp_renew(const struct agent_dhcp_conf *c, char *err, size_t err_len)
{
	char buf[AGENT_DHCP_CMD_MAX];
	char *words[AGENT_REMEDIATION_MAX_ARGS], *argv[AGENT_REMEDIATION_MAX_ARGS];
	char (*exp)[AGENT_DHCP_CMD_MAX] = NULL;
	struct agent_run_result *run = NULL;
	const char *line = c->renew_command;
	char last[256];
	int n, i, r;

	if (c->client == AGENT_DHCP_NONE)
		return 1;
	if (line[0] == '\0' && c->client == AGENT_DHCP_DHCPCD)
		line = dhcpcd_default_renew;
	if (line[0] == '\0')
		return 1;
	n = agent_remediation_split(line, buf, sizeof(buf), words, NAP_ARRAY_SIZE(words));
	if (n <= 0 || words[0][0] != '/') {
		snprintf(err, err_len, "renew_command: not a command line");
		return -EINVAL;
	}
	exp = calloc((size_t)n, sizeof(*exp));
	run = calloc(1, sizeof(*run));
	if (exp == NULL || run == NULL) {
		r = -ENOMEM;
		goto out;
	}
	for (i = 0; i < n; i++) {
		if (strstr(words[i], "%i") != NULL && c->interface[0] == '\0') {
			snprintf(err, err_len, "renew_command uses %%i but no interface is set");
			r = -EINVAL;
			goto out;
		}
		if (expand(words[i], c->interface, exp[i], sizeof(exp[i])) < 0) {
			snprintf(err, err_len, "renew_command: a word is too long");
			r = -EINVAL;
			goto out;
		}
		argv[i] = exp[i];
	}
	argv[n] = NULL;
	r = agent_run(argv, NULL, 0, c->renew_timeout * 1000, run);
	if (r == -ENOEXEC) {
		snprintf(err, err_len, "%s could not be started: %s", argv[0],
			 strerror(run->exec_errno));
		goto out;
	}
	if (r < 0) {
		snprintf(err, err_len, "%s: %s", argv[0], strerror(-r));
		goto out;
	}
	agent_run_last_line(run, last, sizeof(last));
	if (run->output_len > 0)
		log_debug("dhcp: renew: %s", last);
	switch (run->how) {
	case AGENT_RUN_EXITED:
		if (run->code == 0) {
			log_info("dhcp: renewed (%s, %" PRId64 " ms)", argv[0], run->duration_ms);
			r = 0;
		} else {
			snprintf(err, err_len, "%s exited %d%s%s", argv[0], run->code,
				 last[0] ? ": " : "", last);
			r = -EIO;
		}
		break;
	case AGENT_RUN_SIGNALED:
		snprintf(err, err_len, "%s killed by signal %d", argv[0], run->code);
		r = -EIO;
		break;
	case AGENT_RUN_TIMEOUT:
		snprintf(err, err_len, "%s timed out after %" PRId64 " s", argv[0],
			 c->renew_timeout);
		r = -ETIMEDOUT;
		break;
	case AGENT_RUN_NOT_STARTED:
		snprintf(err, err_len, "%s not started", argv[0]);
		r = -ENOEXEC;
		break;
	}
out:
	free(run);
	free(exp);
	return r;
}

/* ---- what the hooks hand back ---- */

static int
hexdigit(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* "dc:3:4e" (1-2 digits per byte) or "dc034e" (2 per byte). Returns the byte count or -EBADMSG. */
static long
decode_arg(const char *s, uint8_t *out, size_t cap, size_t *bad_at)
{
	const char *p = s;
	size_t n = 0;

	while (*p == ' ' || *p == '\t' || *p == '\n')
		p++;
	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
		p += 2;
	if (strchr(p, ':') != NULL) {
		while (*p != '\0' && *p != '\n') {
			int a = hexdigit((unsigned char)p[0]), b;

			if (a < 0)
				goto bad;
			b = hexdigit((unsigned char)p[1]);
			if (n >= cap)
				return -EMSGSIZE;
			if (b >= 0) {
				out[n++] = (uint8_t)(a << 4 | b);
				p += 2;
			} else {
				out[n++] = (uint8_t)a;
				p++;
			}
			if (*p == ':' && p[1] != '\0')
				p++;
			else if (*p != '\0' && *p != '\n')
				goto bad;
		}
	} else {
		while (*p != '\0' && *p != '\n') {
			int a = hexdigit((unsigned char)p[0]), b;

			if (a < 0)
				goto bad;
			b = hexdigit((unsigned char)p[1]);
			if (b < 0) {
				p++;
				goto bad;
			}
			if (n >= cap)
				return -EMSGSIZE;
			out[n++] = (uint8_t)(a << 4 | b);
			p += 2;
		}
	}
	while (*p == '\n' || *p == ' ')
		p++;
	if (*p != '\0')
		goto bad;
	return (long)n;
bad:
	*bad_at = (size_t)(p - s);
	return -EBADMSG;
}

int
agent_dhcp_sohr_from_arg(const char *arg, uint8_t *out, size_t cap, size_t *out_len,
			 bool *marker, uint8_t mask[4], bool *has_mask, char *err, size_t err_len)
{
	static const struct nap_dhcp_header hdr = {.op = NAP_DHCP_BOOTREPLY, .htype = 1, .hlen = 6};
	struct nap_dhcp_builder *b = NULL;
	struct nap_dhcp_packet *pkt = NULL;
	struct nap_dhcp_nap *nap = NULL;
	struct nap_err perr;
	const uint8_t *wire;
	size_t wire_len, bad_at = 0;
	uint8_t *raw = NULL;
	long n;
	int r;

	*out_len = 0;
	if (marker != NULL)
		*marker = false;
	if (has_mask != NULL)
		*has_mask = false;
	raw = malloc(NAP_DHCP_MAX_LEN);
	if (raw == NULL)
		return -ENOMEM;
	n = decode_arg(arg, raw, NAP_DHCP_MAX_LEN, &bad_at);
	if (n == -EMSGSIZE) {
		snprintf(err, err_len, "longer than %d bytes", NAP_DHCP_MAX_LEN);
		r = -EMSGSIZE;
		goto out;
	}
	if (n < 0) {
		snprintf(err, err_len, "not hex at character %zu", bad_at);
		r = -EBADMSG;
		goto out;
	}
	if (n == 0) {
		snprintf(err, err_len, "empty");
		r = -EBADMSG;
		goto out;
	}
	/* A bare SoHR: its outer TLV type is 0x0007 (no NAP sub-option starts with 0x00 0x07:
	 * a pad is followed by a sub-option code, and 7 is none of nap's). */
	if (n >= 2 && raw[0] == 0x00 && raw[1] == 0x07) {
		if ((size_t)n > cap) {
			snprintf(err, err_len, "SoHR of %ld bytes is too long", n);
			r = -EMSGSIZE;
			goto out;
		}
		memcpy(out, raw, (size_t)n);
		*out_len = (size_t)n;
		r = 0;
		goto out;
	}
	/* An option-43 value: through the DHCP codec like a received ACK. */
	b = malloc(sizeof(*b));
	pkt = malloc(sizeof(*pkt));
	nap = malloc(sizeof(*nap));
	if (b == NULL || pkt == NULL || nap == NULL) {
		r = -ENOMEM;
		goto out;
	}
	nap_dhcp_build_init(b, &hdr, NAP_DHCP_MAX_LEN);
	if (nap_dhcp_add_option(b, NAP_DHCP_OPT_VENDOR, raw, (size_t)n) < 0 ||
	    nap_dhcp_finish(b, &wire, &wire_len) < 0) {
		snprintf(err, err_len, "option 43 of %ld bytes is too long", n);
		r = -EMSGSIZE;
		goto out;
	}
	memset(&perr, 0, sizeof(perr));
	if ((r = nap_dhcp_decode(wire, wire_len, pkt, &perr)) < 0) {
		snprintf(err, err_len, "option 43 does not decode: %s", strerror(-r));
		goto out;
	}
	memset(&perr, 0, sizeof(perr));
	if ((r = nap_dhcp_nap_parse(pkt, nap, &perr)) < 0) {
		size_t at = perr.offset >= NAP_DHCP_OPTIONS_AT + 2 ?
				    perr.offset - NAP_DHCP_OPTIONS_AT - 2 : 0;

		snprintf(err, err_len, "malformed NAP sub-options in option 43 (near byte %zu): %s",
			 at, perr.what != NULL ? perr.what : strerror(-r));
		goto out;
	}
	if (has_mask != NULL && nap->has_mask) {
		*has_mask = true;
		if (mask != NULL)
			memcpy(mask, nap->mask, 4);
	}
	if (marker != NULL)
		*marker = nap->soh_kind == NAP_DHCP_SOH_MARKER || nap->soh_kind == NAP_DHCP_SOH_DATA;
	if (nap->soh_kind != NAP_DHCP_SOH_DATA) {
		r = 1;
		goto out;
	}
	if (nap->soh_len > cap) {
		snprintf(err, err_len, "SoHR of %zu bytes is too long", nap->soh_len);
		r = -EMSGSIZE;
		goto out;
	}
	memcpy(out, nap->soh, nap->soh_len);
	*out_len = nap->soh_len;
	r = 0;
out:
	free(nap);
	free(pkt);
	free(b);
	free(raw);
	return r;
}
