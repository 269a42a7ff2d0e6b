// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * Unit tests for napagentd's DHCP hook module: the [dhcp] keys, the NAP-CoID derivation, the
 * option-43 payload decoded back through the DHCP codec (nap_dhcp_decode + nap_dhcp_nap_parse,
 * long SoHs split over several 220 sub-options), the dhclient and dhcpcd fragments, atomic
 * publishing (unchanged content is not rewritten), the renew command, and what the hooks hand
 * back (dhclient's "dc:3:4e:41:50" form, dhcpcd's plain hex, a bare SoHR, malformed input).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "dhcp_hook.h"
#include "nap/dhcp.h"
#include "nap/soh.h"
#include "nap/util.h"

static const uint8_t corr[NAP_CORRELATION_ID_LEN] = {
	0x54, 0x46, 0x89, 0x36, 0xcb, 0x49, 0x43, 0x74, 0xb1, 0x27, 0xa6, 0xa3,
	0xcc, 0x3b, 0xb1, 0x1c, 0x01, 0xca, 0x78, 0xd8, 0x58, 0xee, 0x1e, 0xf0,
};

/* A real SoH: the builder's SSoH with a machine name and an entry padded to about size bytes. */
static uint8_t *
make_soh(size_t size, size_t *len)
{
	struct nap_soh *soh = calloc(1, sizeof(*soh));
	static const char name[] = "client.napt.test";
	uint8_t *out, pad[200];
	size_t total;

	nap_soh_init(soh, true, corr);
	soh->ssoh.machine_name = nap_soh_store(soh, name, sizeof(name) - 1);
	soh->ssoh.machine_name_len = sizeof(name) - 1;
	nap_ssoh_set(&soh->ssoh, NAP_SSOH_MACHINE_NAME);
	assert_int_equal(nap_soh_encode_alloc(soh, &out, &total), 0);
	if (total < size) {
		memset(pad, 0x5a, sizeof(pad));
		assert_int_equal(nap_soh_begin_entry(soh, 0x00abcdef), 0);
		while (total + 4 < size) {
			size_t k = size - total - 4;

			if (k > sizeof(pad))
				k = sizeof(pad);
			assert_int_equal(nap_soh_add_attr(soh, 7, pad, k), 0);
			free(out);
			assert_int_equal(nap_soh_encode_alloc(soh, &out, &total), 0);
		}
	}
	free(soh);
	*len = total;
	return out;
}

/* payload -> a DHCP packet with option 43 -> decode -> NAP sub-options */
static void
decode_payload(const uint8_t *payload, size_t plen, struct nap_dhcp_nap *nap,
	       struct nap_dhcp_packet *pkt)
{
	static const struct nap_dhcp_header hdr = {.op = NAP_DHCP_BOOTREQUEST, .htype = 1,
						   .hlen = 6};
	struct nap_dhcp_builder *b = malloc(sizeof(*b));
	struct nap_err err;
	const uint8_t *wire;
	size_t wire_len;

	nap_dhcp_build_init(b, &hdr, NAP_DHCP_MAX_LEN);
	assert_int_equal(nap_dhcp_add_u8(b, NAP_DHCP_OPT_MESSAGE_TYPE, NAP_DHCPREQUEST), 0);
	assert_int_equal(nap_dhcp_add_option(b, NAP_DHCP_OPT_VENDOR, payload, plen), 0);
	assert_int_equal(nap_dhcp_finish(b, &wire, &wire_len), 0);
	memset(&err, 0, sizeof(err));
	assert_int_equal(nap_dhcp_decode(wire, wire_len, pkt, &err), 0);
	assert_int_equal(nap_dhcp_nap_parse(pkt, nap, &err), 0);
	free(b);
}

static void
test_coid(void **state)
{
	uint8_t coid[NAP_DHCP_COID_LEN], zero[NAP_DHCP_COID_LEN] = {0};

	(void)state;
	agent_dhcp_coid(corr, coid);
	assert_memory_equal(coid, corr, NAP_CORRELATION_ID_LEN);
	assert_memory_equal(coid + 24, "54468936cb494374b127a6a3cc3bb11c01ca78d858ee1ef0", 48);
	assert_memory_equal(coid + 72, zero, NAP_DHCP_COID_LEN - 72);
}

static void
test_payload_short_and_long(void **state)
{
	static const size_t sizes[] = {100, 253, 255, 256, 600, 1300, 3000};
	struct nap_dhcp_nap *nap = calloc(1, sizeof(*nap));
	struct nap_dhcp_packet *pkt = calloc(1, sizeof(*pkt));
	uint8_t *payload = malloc(AGENT_DHCP_PAYLOAD_MAX), coid[NAP_DHCP_COID_LEN];

	(void)state;
	agent_dhcp_coid(corr, coid);
	for (size_t i = 0; i < NAP_ARRAY_SIZE(sizes); i++) {
		size_t len, parts;
		uint8_t *soh = make_soh(sizes[i], &len);
		long plen = agent_dhcp_payload(soh, len, corr, payload, AGENT_DHCP_PAYLOAD_MAX);

		parts = (len + 254) / 255;
		assert_int_equal(plen, 2 + 130 + len + 2 * parts);
		/* CoID first, then the 220s */
		assert_int_equal(payload[0], NAP_DHCP_SUB_COID);
		assert_int_equal(payload[1], 130);
		assert_int_equal(payload[132], NAP_DHCP_SUB_SOH);
		assert_int_equal(payload[133], len > 255 ? 255 : len);
		decode_payload(payload, (size_t)plen, nap, pkt);
		assert_true(nap->present);
		assert_int_equal(nap->soh_kind, NAP_DHCP_SOH_DATA);
		assert_int_equal(nap->soh_len, len);
		assert_memory_equal(nap->soh, soh, len);
		assert_int_equal(nap->n_soh_parts, parts);
		assert_true(nap->has_coid);
		assert_memory_equal(nap->coid, coid, NAP_DHCP_COID_LEN);
		assert_false(nap->has_mask);
		/* the SoH that came back decodes with its correlation id */
		{
			struct nap_soh *d = calloc(1, sizeof(*d));
			struct nap_err err;

			assert_int_equal(nap_soh_decode(nap->soh, nap->soh_len, d, &err), 0);
			assert_memory_equal(nap_soh_correlation_id(d), corr, sizeof(corr));
			free(d);
		}
		free(soh);
	}
	/* the probe: CoID + an empty 220 */
	assert_int_equal(agent_dhcp_payload(NULL, 0, corr, payload, AGENT_DHCP_PAYLOAD_MAX), 134);
	decode_payload(payload, 134, nap, pkt);
	assert_int_equal(nap->soh_kind, NAP_DHCP_SOH_PROBE);
	/* too long */
	assert_int_equal(agent_dhcp_payload(payload, NAP_DHCP_NAP_SOH_MAX + 1, corr, payload,
					    AGENT_DHCP_PAYLOAD_MAX), -EMSGSIZE);
	free(payload);
	free(pkt);
	free(nap);
}

static void
test_conf(void **state)
{
	struct agent_dhcp_conf c;
	char err[256];

	(void)state;
	agent_dhcp_conf_init(&c);
	assert_int_equal(c.client, AGENT_DHCP_NONE);
	assert_null(agent_dhcp_fragment_path(&c));
	assert_string_equal(c.vendor_class, "MSFT 5.0");
	assert_int_equal(agent_dhcp_conf_set(&c, "client", "dhclient", err, sizeof(err)), 0);
	assert_string_equal(agent_dhcp_fragment_path(&c), "/etc/dhcp/dhclient-napagentd.conf");
	assert_int_equal(agent_dhcp_conf_set(&c, "client", "dhcpcd", err, sizeof(err)), 0);
	assert_string_equal(agent_dhcp_fragment_path(&c), "/etc/dhcpcd-napagentd.conf");
	assert_int_equal(agent_dhcp_conf_set(&c, "client", "udhcpc", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "udhcpc"));
	assert_int_equal(agent_dhcp_conf_set(&c, "fragment", "rel/path", err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(agent_dhcp_conf_set(&c, "fragment", "/run/x.conf", err, sizeof(err)), 0);
	assert_string_equal(agent_dhcp_fragment_path(&c), "/run/x.conf");
	assert_int_equal(agent_dhcp_conf_set(&c, "interface", "eth0", err, sizeof(err)), 0);
	assert_int_equal(agent_dhcp_conf_set(&c, "interface", "eth0; rm", err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(agent_dhcp_conf_set(&c, "interface", "a-very-long-interface", err,
					     sizeof(err)), -EINVAL);
	assert_int_equal(agent_dhcp_conf_set(&c, "vendor_class", "a\"b", err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(agent_dhcp_conf_set(&c, "vendor_class", "", err, sizeof(err)), 0);
	assert_int_equal(agent_dhcp_conf_set(&c, "renew_command", "dhclient -r", err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(agent_dhcp_conf_set(&c, "renew_command", "/sbin/x \"%i", err,
					     sizeof(err)), -EINVAL);
	assert_int_equal(agent_dhcp_conf_set(&c, "renew_timeout", "10s", err, sizeof(err)), 0);
	assert_int_equal(c.renew_timeout, 10);
	assert_int_equal(agent_dhcp_conf_set(&c, "renew_timeout", "2h", err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(agent_dhcp_conf_set(&c, "nosuch", "x", err, sizeof(err)), 1);
}

/* the hex after prefix up to the terminator on the same line */
static char *
value_after(const char *text, const char *prefix, char term)
{
	const char *p = strstr(text, prefix), *e;

	assert_non_null(p);
	p += strlen(prefix);
	e = strchr(p, term);
	assert_non_null(e);
	return strndup(p, (size_t)(e - p));
}

static void
test_render_and_parse_back(void **state)
{
	size_t len, n;
	uint8_t *soh = make_soh(700, &len);
	uint8_t *payload = malloc(AGENT_DHCP_PAYLOAD_MAX), *back = malloc(NAP_DHCP_NAP_SOH_MAX);
	char *text = malloc(16384), *hex, err[256];
	long plen, tlen;
	bool marker;

	(void)state;
	plen = agent_dhcp_payload(soh, len, corr, payload, AGENT_DHCP_PAYLOAD_MAX);
	assert_true(plen > 0);
	tlen = agent_dhcp_render(AGENT_DHCP_DHCLIENT, "MSFT 5.0", "timeout 10;", 11, payload,
				 (size_t)plen, text, 16384);
	assert_true(tlen > 0);
	assert_int_equal(strlen(text), (size_t)tlen);
	assert_memory_equal(text, "timeout 10;\n#", 13);
	assert_non_null(strstr(text, "\nsend vendor-class-identifier \"MSFT 5.0\";\n"));
	assert_non_null(strstr(text, "\nalso request vendor-encapsulated-options;\n"));
	assert_non_null(strstr(text, "\nsend vendor-encapsulated-options de:82:54:46:89:"));
	hex = value_after(text, "send vendor-encapsulated-options ", ';');
	assert_int_equal(strlen(hex), 3 * (size_t)plen - 1);
	/* what dhclient would hand back: the SoH data of the 220s */
	assert_int_equal(agent_dhcp_sohr_from_arg(hex, back, NAP_DHCP_NAP_SOH_MAX, &n, &marker,
						  NULL, NULL, err, sizeof(err)), 0);
	assert_int_equal(n, len);
	assert_memory_equal(back, soh, len);
	assert_true(marker);
	free(hex);

	tlen = agent_dhcp_render(AGENT_DHCP_DHCPCD, "MSFT 5.0", NULL, 0, payload, (size_t)plen,
				 text, 16384);
	assert_true(tlen > 0);
	assert_non_null(strstr(text, "\nvendorclassid MSFT 5.0\n"));
	assert_non_null(strstr(text, "\noption vendor_encapsulated_options\n"));
	hex = value_after(text, "\nvendor ,", '\n');
	assert_int_equal(agent_dhcp_sohr_from_arg(hex, back, NAP_DHCP_NAP_SOH_MAX, &n, NULL, NULL,
						  NULL, err, sizeof(err)), 0);
	assert_int_equal(n, len);
	free(hex);
	/* no vendor class */
	tlen = agent_dhcp_render(AGENT_DHCP_DHCLIENT, "", NULL, 0, payload, (size_t)plen, text,
				 16384);
	assert_null(strstr(text, "vendor-class-identifier"));
	/* too small */
	assert_int_equal(agent_dhcp_render(AGENT_DHCP_DHCLIENT, "", NULL, 0, payload, (size_t)plen,
					   text, 100), -ENOSPC);
	assert_int_equal(agent_dhcp_render(AGENT_DHCP_NONE, "", NULL, 0, payload, (size_t)plen,
					   text, 16384), -EINVAL);
	free(text);
	free(back);
	free(payload);
	free(soh);
}

static void
test_sohr_from_arg(void **state)
{
	uint8_t out[4096], mask[4];
	char err[256], *arg;
	size_t n, i, o;
	bool marker, has_mask;
	size_t len;
	uint8_t *sohr = make_soh(300, &len);

	(void)state;
	/* dhclient's form of FreeRADIUS' and napdhcpd's markers: nothing to act on */
	assert_int_equal(agent_dhcp_sohr_from_arg("dc:3:4e:41:50", out, sizeof(out), &n, &marker,
						  mask, &has_mask, err, sizeof(err)), 1);
	assert_true(marker);
	assert_int_equal(n, 0);
	assert_int_equal(agent_dhcp_sohr_from_arg("dc034e4150", out, sizeof(out), &n, &marker,
						  NULL, NULL, err, sizeof(err)), 1);
	assert_true(marker);
	assert_int_equal(agent_dhcp_sohr_from_arg("dc:3:50:41:4e", out, sizeof(out), &n, &marker,
						  NULL, NULL, err, sizeof(err)), 1);
	assert_true(marker);
	/* a probe echoed is not a marker */
	assert_int_equal(agent_dhcp_sohr_from_arg("dc:0", out, sizeof(out), &n, &marker, NULL,
						  NULL, err, sizeof(err)), 1);
	assert_false(marker);

	/* an ACK's option 43 in dhclient's form: SoHR split over two 220s + mask (LE) */
	arg = malloc(8 * 1024);
	o = 0;
	o += (size_t)sprintf(arg + o, "dd:4:0:ff:ff:ff");
	for (i = 0; i < len; i++) {
		if (i % 255 == 0)
			o += (size_t)sprintf(arg + o, ":dc:%x", (unsigned)(len - i > 255 ? 255 : len - i));
		o += (size_t)sprintf(arg + o, ":%x", sohr[i]); /* dhclient drops leading zeros */
	}
	assert_int_equal(agent_dhcp_sohr_from_arg(arg, out, sizeof(out), &n, &marker, mask,
						  &has_mask, err, sizeof(err)), 0);
	assert_int_equal(n, len);
	assert_memory_equal(out, sohr, len);
	assert_true(has_mask);
	assert_memory_equal(mask, ((uint8_t[]){0xff, 0xff, 0xff, 0x00}), 4);
	/* a bare SoHR in hex passes through */
	nap_hex_encode(sohr, len, arg);
	assert_int_equal(agent_dhcp_sohr_from_arg(arg, out, sizeof(out), &n, NULL, NULL, NULL, err,
						  sizeof(err)), 0);
	assert_int_equal(n, len);
	assert_memory_equal(out, sohr, len);
	/* with a newline at the end, as a shell may pass it */
	strcat(arg, "\n");
	assert_int_equal(agent_dhcp_sohr_from_arg(arg, out, sizeof(out), &n, NULL, NULL, NULL, err,
						  sizeof(err)), 0);
	/* the output buffer is too small */
	assert_int_equal(agent_dhcp_sohr_from_arg(arg, out, 10, &n, NULL, NULL, NULL, err,
						  sizeof(err)), -EMSGSIZE);

	/* malformed */
	assert_int_equal(agent_dhcp_sohr_from_arg("", out, sizeof(out), &n, NULL, NULL, NULL, err,
						  sizeof(err)), -EBADMSG);
	assert_int_equal(agent_dhcp_sohr_from_arg("zz", out, sizeof(out), &n, NULL, NULL, NULL, err,
						  sizeof(err)), -EBADMSG);
	assert_non_null(strstr(err, "not hex"));
	assert_int_equal(agent_dhcp_sohr_from_arg("dc0", out, sizeof(out), &n, NULL, NULL, NULL,
						  err, sizeof(err)), -EBADMSG);
	assert_int_equal(agent_dhcp_sohr_from_arg("dc:123:4", out, sizeof(out), &n, NULL, NULL,
						  NULL, err, sizeof(err)), -EBADMSG);
	assert_int_equal(agent_dhcp_sohr_from_arg("dc:5:1:2", out, sizeof(out), &n, NULL, NULL,
						  NULL, err, sizeof(err)), -EBADMSG);
	assert_non_null(strstr(err, "malformed NAP sub-options"));
	assert_int_equal(agent_dhcp_sohr_from_arg("dd:3:1:2:3", out, sizeof(out), &n, NULL, NULL,
						  NULL, err, sizeof(err)), -EBADMSG);
	assert_int_equal(agent_dhcp_sohr_from_arg("de:2:1:2", out, sizeof(out), &n, NULL, NULL,
						  NULL, err, sizeof(err)), -EBADMSG);
	free(arg);
	/* longer than any DHCP message */
	arg = malloc(3 * 5000 + 1);
	for (i = 0; i < 5000; i++)
		memcpy(arg + 3 * i, "01:", 3);
	arg[3 * 5000 - 1] = '\0';
	assert_int_equal(agent_dhcp_sohr_from_arg(arg, out, sizeof(out), &n, NULL, NULL, NULL, err,
						  sizeof(err)), -EMSGSIZE);
	free(arg);
	free(sohr);
}

static char *
slurp(const char *path)
{
	uint8_t *p;
	size_t n;
	char *s;

	assert_int_equal(nap_read_file(path, 1 << 20, &p, &n), 0);
	s = strndup((char *)p, n);
	free(p);
	return s;
}

static void
test_publish(void **state)
{
	char dir[] = "/tmp/napt-dhcp-hook.XXXXXX", frag[256], tmpl[256], err[256];
	struct agent_dhcp_conf c;
	struct stat st1, st2;
	size_t len, len2;
	uint8_t *soh = make_soh(500, &len), *soh2 = make_soh(520, &len2);
	char *text;
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(frag, sizeof(frag), "%s/dhclient-nap.conf", dir);
	snprintf(tmpl, sizeof(tmpl), "%s/base.conf", dir);
	agent_dhcp_conf_init(&c);
	assert_int_equal(agent_dhcp_publish(&c, soh, len, NULL, err, sizeof(err)), 2);
	assert_int_equal(agent_dhcp_conf_set(&c, "client", "dhclient", err, sizeof(err)), 0);
	assert_int_equal(agent_dhcp_conf_set(&c, "fragment", frag, err, sizeof(err)), 0);
	/* correlation id taken from the SoH */
	assert_int_equal(agent_dhcp_publish(&c, soh, len, NULL, err, sizeof(err)), 0);
	text = slurp(frag);
	assert_non_null(strstr(text, "send vendor-encapsulated-options de:82:54:46:89:36:"));
	free(text);
	assert_int_equal(stat(frag, &st1), 0);
	assert_int_equal(st1.st_mode & 07777, 0644);
	/* same content: nothing written */
	assert_int_equal(agent_dhcp_publish(&c, soh, len, corr, err, sizeof(err)), 1);
	assert_int_equal(stat(frag, &st2), 0);
	assert_int_equal(st1.st_ino, st2.st_ino);
	/* a new SoH replaces the file (a new inode: rename) */
	assert_int_equal(agent_dhcp_publish(&c, soh2, len2, NULL, err, sizeof(err)), 0);
	assert_int_equal(stat(frag, &st2), 0);
	assert_int_not_equal(st1.st_ino, st2.st_ino);
	/* the probe needs a correlation id */
	assert_int_equal(agent_dhcp_publish(&c, NULL, 0, NULL, err, sizeof(err)), -EINVAL);
	assert_int_equal(agent_dhcp_publish(&c, NULL, 0, corr, err, sizeof(err)), 0);
	text = slurp(frag);
	assert_non_null(strstr(text, ":dc:00;\n")); /* CoID then an empty 220 */
	free(text);
	/* not an SoH and no correlation id given */
	assert_int_equal(agent_dhcp_publish(&c, (const uint8_t *)"garbage", 7, NULL, err,
					    sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "correlation id"));

	/* longer than dhclient sends: the probe goes into the fragment, not a stale SoH */
	{
		size_t blen;
		uint8_t *big = make_soh(1200, &blen);

		assert_int_equal(agent_dhcp_publish(&c, big, blen, NULL, err, sizeof(err)),
				 -EMSGSIZE);
		assert_non_null(strstr(err, "probe"));
		text = slurp(frag);
		assert_non_null(strstr(text, ":dc:00;\n"));
		free(text);
		free(big);
		/* the biggest SoH under the limit goes */
		big = make_soh(AGENT_DHCP_DHCLIENT_MAX - 132 - 10, &blen);
		assert_int_equal(agent_dhcp_publish(&c, big, blen, NULL, err, sizeof(err)), 0);
		free(big);
	}

	/* dhcpcd with a template in front; dhcpcd takes 255 bytes of option 43 at most */
	f = fopen(tmpl, "w");
	fputs("ipv4only\nnoipv4ll\nnohook resolv.conf\n", f);
	fclose(f);
	assert_int_equal(agent_dhcp_conf_set(&c, "client", "dhcpcd", err, sizeof(err)), 0);
	assert_int_equal(agent_dhcp_conf_set(&c, "template", tmpl, err, sizeof(err)), 0);
	assert_int_equal(agent_dhcp_publish(&c, soh, len, NULL, err, sizeof(err)), -EMSGSIZE);
	text = slurp(frag);
	assert_memory_equal(text, "ipv4only\nnoipv4ll\nnohook resolv.conf\n#", 38);
	assert_non_null(strstr(text, "\nvendor ,de:82:"));
	assert_non_null(strstr(text, ":dc:00\n")); /* the probe */
	free(text);
	{
		size_t slen, slen2;
		uint8_t *s1 = make_soh(110, &slen), *s2 = make_soh(200, &slen2);

		/* short: CoID + SoH */
		assert_true(slen + 2 + 132 <= AGENT_DHCP_DHCPCD_MAX);
		assert_int_equal(agent_dhcp_publish(&c, s1, slen, NULL, err, sizeof(err)), 0);
		text = slurp(frag);
		assert_non_null(strstr(text, "\nvendor ,de:82:"));
		assert_null(strstr(text, ":dc:00\n"));
		free(text);
		/* longer: the SoH alone */
		assert_int_equal(agent_dhcp_publish(&c, s2, slen2, NULL, err, sizeof(err)), 0);
		text = slurp(frag);
		assert_non_null(strstr(text, "\nvendor ,dc:"));
		assert_null(strstr(text, "de:82"));
		free(text);
		free(s1);
		free(s2);
	}
	/* a missing template is an error, the fragment stays */
	unlink(tmpl);
	assert_int_equal(agent_dhcp_publish(&c, soh2, len2, NULL, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "template"));
	text = slurp(frag);
	assert_non_null(strstr(text, "ipv4only"));
	free(text);
	/* an unwritable place */
	assert_int_equal(agent_dhcp_conf_set(&c, "template", "/nonexistent/t", err, sizeof(err)),
			 0);
	c.template_path[0] = '\0';
	assert_int_equal(agent_dhcp_conf_set(&c, "fragment", "/nonexistent/dir/f.conf", err,
					     sizeof(err)), 0);
	assert_true(agent_dhcp_publish(&c, soh, len, NULL, err, sizeof(err)) < 0);
	assert_non_null(strstr(err, "/nonexistent/dir/f.conf"));

	unlink(frag);
	rmdir(dir);
	free(soh);
	free(soh2);
}

static void
test_renew(void **state)
{
	struct agent_dhcp_conf c;
	char err[256];

	(void)state;
	agent_dhcp_conf_init(&c);
	assert_int_equal(agent_dhcp_renew(&c, err, sizeof(err)), 1); /* client none */
	assert_int_equal(agent_dhcp_conf_set(&c, "client", "dhclient", err, sizeof(err)), 0);
	assert_int_equal(agent_dhcp_renew(&c, err, sizeof(err)), 1); /* no default for dhclient */
	assert_int_equal(agent_dhcp_conf_set(&c, "renew_command",
					     "/bin/sh -c \"test $1 = napt0 && test $2 = 100%\" sh %i 100%%",
					     err, sizeof(err)), 0);
	assert_int_equal(agent_dhcp_renew(&c, err, sizeof(err)), -EINVAL); /* %i, no interface */
	assert_non_null(strstr(err, "interface"));
	assert_int_equal(agent_dhcp_conf_set(&c, "interface", "napt0", err, sizeof(err)), 0);
	assert_int_equal(agent_dhcp_renew(&c, err, sizeof(err)), 0);
	assert_int_equal(agent_dhcp_conf_set(&c, "renew_command",
					     "/bin/sh -c \"echo no lease >&2; exit 2\"", err,
					     sizeof(err)), 0);
	assert_int_equal(agent_dhcp_renew(&c, err, sizeof(err)), -EIO);
	assert_string_equal(err, "/bin/sh exited 2: no lease");
	assert_int_equal(agent_dhcp_conf_set(&c, "renew_command", "/nonexistent/dhclient", err,
					     sizeof(err)), 0);
	assert_int_equal(agent_dhcp_renew(&c, err, sizeof(err)), -ENOEXEC);
	assert_non_null(strstr(err, "could not be started"));
	assert_int_equal(agent_dhcp_conf_set(&c, "renew_command", "/bin/sleep 10", err,
					     sizeof(err)), 0);
	assert_int_equal(agent_dhcp_conf_set(&c, "renew_timeout", "1s", err, sizeof(err)), 0);
	assert_int_equal(agent_dhcp_renew(&c, err, sizeof(err)), -ETIMEDOUT);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_coid),
		cmocka_unit_test(test_payload_short_and_long),
		cmocka_unit_test(test_conf),
		cmocka_unit_test(test_render_and_parse_back),
		cmocka_unit_test(test_sohr_from_arg),
		cmocka_unit_test(test_publish),
		cmocka_unit_test(test_renew),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
