// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * napdump: decode an SoH, SoHR, RADIUS packet or HCEP message given as hex text (or raw bytes
 * with --raw; HCEP also as PEM) from a file or stdin, and print it as text or JSON. Handles untrusted input. A malformed input
 * exits 1 with exactly one line "error: <what> at offset <n>" on stderr, where n is the offset
 * into the decoded bytes (or into the text, for bad hex). dhcp decodes a DHCPv4 packet with
 * its MS-DHCPN sub-options and the SoH or SoHR they carry.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nap/hcep.h"
#include "nap/util.h"

#include "dump.h"
#include "dump_dhcp.h"
#include "dump_hcep.h"

#define NAPDUMP_MAX_TEXT  (256 * 1024) /* hex text input */
#define NAPDUMP_MAX_BYTES 8192         /* decoded message */

enum { EXIT_MALFORMED = 1, EXIT_NOT_IMPLEMENTED = 2, EXIT_USAGE = 64 };

static void
usage(FILE *f)
{
	fprintf(f, "usage: napdump soh|sohr|radius|hcep|dhcp [FILE] [--raw] [--json] [--secret S]\n"
		   "Reads hex text ('#' comment lines and whitespace allowed) or, with --raw,\n"
		   "binary bytes from FILE or stdin, and prints the decoded message. hcep also\n"
		   "reads PEM (CERTIFICATE REQUEST, PKCS7).\n");
}

static int
read_input(const char *path, uint8_t **out, size_t *out_len)
{
	uint8_t *buf = NULL;
	size_t len = 0, cap = 0;
	FILE *f = stdin;

	if (path != NULL && strcmp(path, "-") != 0) {
		int r = nap_read_file(path, NAPDUMP_MAX_TEXT, out, out_len);

		if (r < 0)
			fprintf(stderr, "error: %s: %s\n", path, strerror(-r));
		return r;
	}
	for (;;) {
		size_t n;

		if (cap - len < 4096) {
			uint8_t *nb;

			if (cap >= NAPDUMP_MAX_TEXT) {
				fprintf(stderr, "error: input too large at offset %zu\n", len);
				free(buf);
				return -EFBIG;
			}
			cap = cap == 0 ? 8192 : cap * 2;
			if ((nb = realloc(buf, cap + 1)) == NULL) {
				free(buf);
				fprintf(stderr, "error: out of memory\n");
				return -ENOMEM;
			}
			buf = nb;
		}
		n = fread(buf + len, 1, cap - len, f);
		len += n;
		if (n == 0) {
			if (ferror(f)) {
				fprintf(stderr, "error: reading stdin failed\n");
				free(buf);
				return -EIO;
			}
			break;
		}
	}
	if (buf == NULL && (buf = malloc(1)) == NULL)
		return -ENOMEM;
	buf[len] = '\0';
	*out = buf;
	*out_len = len;
	return 0;
}

int
main(int argc, char *argv[])
{
	static const struct option opts[] = {
		{"raw", no_argument, NULL, 'r'},
		{"json", no_argument, NULL, 'j'},
		{"secret", required_argument, NULL, 's'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	bool raw = false, json = false, problem = false;
	const char *secret = NULL, *what, *path = NULL;
	uint8_t *text = NULL, *bytes = NULL;
	size_t text_len = 0, bytes_len = 0, max_bytes;
	struct nap_err err = {0, NULL};
	json_t *root = NULL;
	int c, r;

	while ((c = getopt_long(argc, argv, "rjs:h", opts, NULL)) != -1) {
		switch (c) {
		case 'r':
			raw = true;
			break;
		case 'j':
			json = true;
			break;
		case 's':
			secret = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	what = argv[optind++];
	if (strcmp(what, "soh") != 0 && strcmp(what, "sohr") != 0 && strcmp(what, "radius") != 0 &&
	    strcmp(what, "dhcp") != 0 &&
	    strcmp(what, "hcep") != 0) {
		fprintf(stderr, "napdump: unknown message type '%s'\n", what);
		usage(stderr);
		return EXIT_USAGE;
	}
	if (secret != NULL && strcmp(what, "radius") != 0) {
		fprintf(stderr, "napdump: --secret applies to radius only\n");
		return EXIT_USAGE;
	}
	if (optind < argc)
		path = argv[optind++];
	if (optind < argc) {
		usage(stderr);
		return EXIT_USAGE;
	}

	if (read_input(path, &text, &text_len) < 0)
		return EXIT_MALFORMED;
	/* HCEP bodies are larger than SoH/RADIUS packets: a response chain is up to 64 KiB. */
	max_bytes = strcmp(what, "hcep") == 0 ? NAP_HCEP_MAX_RESPONSE : NAPDUMP_MAX_BYTES;
	if (!raw && strcmp(what, "hcep") == 0 &&
	    (r = dump_hcep_pem(text, text_len, &bytes, &bytes_len, &err)) != 0) {
		if (r < 0) {
			fprintf(stderr, "error: %s at offset %zu\n", err.what, err.offset);
			r = EXIT_MALFORMED;
			goto out;
		}
	} else if (raw) {
		bytes = text;
		bytes_len = text_len;
		text = NULL;
		if (bytes_len > max_bytes) {
			fprintf(stderr, "error: input too large at offset %zu\n", max_bytes);
			r = EXIT_MALFORMED;
			goto out;
		}
	} else {
		size_t bad_at = 0;
		long n;

		if ((bytes = malloc(max_bytes)) == NULL) {
			fprintf(stderr, "error: out of memory\n");
			r = EXIT_MALFORMED;
			goto out;
		}
		n = nap_hex_decode((const char *)text, text_len, bytes, max_bytes, &bad_at);
		if (n < 0) {
			fprintf(stderr, "error: %s at offset %zu\n",
				n == -EMSGSIZE ? "input too large" : "bad hex", bad_at);
			r = EXIT_MALFORMED;
			goto out;
		}
		bytes_len = (size_t)n;
	}

	if (strcmp(what, "radius") == 0)
		r = dump_radius(bytes, bytes_len, secret, &root, &problem, &err);
	else if (strcmp(what, "dhcp") == 0)
		r = dump_dhcp(bytes, bytes_len, &root, &problem, &err);
	else if (strcmp(what, "hcep") == 0)
		r = dump_hcep(bytes, bytes_len, &root, &problem, &err);
	else
		r = dump_soh(bytes, bytes_len, strcmp(what, "soh") == 0 ? DUMP_SOH : DUMP_SOHR,
			     &root, &err);
	if (r < 0) {
		fprintf(stderr, "error: %s at offset %zu\n",
			err.what != NULL ? err.what : strerror(-r), err.offset);
		r = EXIT_MALFORMED;
		goto out;
	}
	if (json) {
		if (json_dumpf(root, stdout, JSON_INDENT(2)) < 0)
			r = EXIT_MALFORMED;
		fputc('\n', stdout);
	} else {
		dump_text(stdout, root);
	}
	r = 0;
	if (problem) {
		fprintf(stderr, "error: %s at offset %zu\n", err.what, err.offset);
		r = EXIT_MALFORMED;
	}
	if (fflush(stdout) != 0 || ferror(stdout))
		r = EXIT_MALFORMED;
out:
	json_decref(root);
	free(text);
	free(bytes);
	return r;
}
