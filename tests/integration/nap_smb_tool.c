// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * nap_smb_tool: lib/smb (include/nap/smb.h) from the command line, for the integration tests
 * against a real smbd.
 *
 *   nap_smb_tool CREDENTIALS put URL FILE      (FILE "-": standard input)
 *   nap_smb_tool CREDENTIALS get URL [MAX]     (to standard output)
 *   nap_smb_tool CREDENTIALS list DIR_URL      (one file name per line)
 *   nap_smb_tool CREDENTIALS unlink URL
 *   nap_smb_tool CREDENTIALS rename FROM_URL TO_URL
 *   nap_smb_tool CREDENTIALS mkdir DIR_URL
 *
 * Exit 0 on success, 1 with the library's message on standard error otherwise.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nap/smb.h"

static int
print_name(const char *name, void *arg)
{
	(void)arg;
	printf("%s\n", name);
	return 0;
}

static int
slurp(const char *path, char **out, size_t *len)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	size_t cap = 4096, n = 0;
	char *buf;

	if (f == NULL)
		return -errno;
	if ((buf = malloc(cap)) == NULL)
		return -ENOMEM;
	for (;;) {
		size_t got;

		if (n == cap) {
			char *nb = realloc(buf, cap * 2);

			if (nb == NULL) {
				free(buf);
				return -ENOMEM;
			}
			buf = nb;
			cap *= 2;
		}
		got = fread(buf + n, 1, cap - n, f);
		if (got == 0)
			break;
		n += got;
	}
	if (f != stdin)
		fclose(f);
	*out = buf;
	*len = n;
	return 0;
}

int
main(int argc, char **argv)
{
	struct nap_smb *s;
	char err[1024];
	int r;

	if (argc < 4) {
		fprintf(stderr, "usage: nap_smb_tool CREDENTIALS put|get|list|unlink|rename|mkdir "
				"URL [ARG]\n");
		return 2;
	}
	if ((r = nap_smb_open(&s, argv[1], err, sizeof(err))) < 0) {
		fprintf(stderr, "nap_smb_tool: %s\n", err);
		return 1;
	}
	if (strcmp(argv[2], "put") == 0 && argc == 5) {
		char *data = NULL;
		size_t len = 0;

		if ((r = slurp(argv[4], &data, &len)) < 0) {
			snprintf(err, sizeof(err), "%s: %s", argv[4], strerror(-r));
		} else {
			r = nap_smb_put(s, argv[3], data, len, err, sizeof(err));
			free(data);
		}
	} else if (strcmp(argv[2], "get") == 0 && (argc == 4 || argc == 5)) {
		uint8_t *data;
		size_t len;

		r = nap_smb_get(s, argv[3], argc == 5 ? strtoul(argv[4], NULL, 10) : 0, &data,
				&len, err, sizeof(err));
		if (r == 0) {
			fwrite(data, 1, len, stdout);
			free(data);
		}
	} else if (strcmp(argv[2], "list") == 0 && argc == 4) {
		r = nap_smb_list(s, argv[3], print_name, NULL, err, sizeof(err));
	} else if (strcmp(argv[2], "unlink") == 0 && argc == 4) {
		r = nap_smb_unlink(s, argv[3], err, sizeof(err));
	} else if (strcmp(argv[2], "rename") == 0 && argc == 5) {
		r = nap_smb_rename(s, argv[3], argv[4], err, sizeof(err));
	} else if (strcmp(argv[2], "mkdir") == 0 && argc == 4) {
		r = nap_smb_mkdir_p(s, argv[3], err, sizeof(err));
	} else {
		fprintf(stderr, "nap_smb_tool: unknown command or wrong arguments\n");
		nap_smb_close(s);
		return 2;
	}
	nap_smb_close(s);
	if (r < 0) {
		fprintf(stderr, "nap_smb_tool: %s\n", err);
		return 1;
	}
	return 0;
}
