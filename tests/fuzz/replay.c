// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * Corpus replay driver: links with a libFuzzer harness (LLVMFuzzerTestOneInput) when the build
 * is not a fuzzing build, and feeds it every file of the directories or files given on the
 * command line. A crash, sanitizer report or a harness abort fails the test.
 */
#include <dirent.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "nap/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
replay_file(const char *path)
{
	uint8_t *buf;
	size_t len;
	int r = nap_read_file(path, 1 << 20, &buf, &len);

	if (r < 0) {
		fprintf(stderr, "replay: cannot read %s\n", path);
		return -1;
	}
	LLVMFuzzerTestOneInput(buf, len);
	free(buf);
	return 0;
}

int
main(int argc, char **argv)
{
	unsigned n = 0;

	for (int i = 1; i < argc; i++) {
		struct stat st;
		DIR *d;
		struct dirent *de;

		if (stat(argv[i], &st) < 0) {
			fprintf(stderr, "replay: %s: not found\n", argv[i]);
			return 1;
		}
		if (!S_ISDIR(st.st_mode)) {
			if (replay_file(argv[i]) < 0)
				return 1;
			n++;
			continue;
		}
		d = opendir(argv[i]);
		if (d == NULL)
			return 1;
		while ((de = readdir(d)) != NULL) {
			char path[PATH_MAX];

			if (de->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "%s/%s", argv[i], de->d_name);
			if (replay_file(path) < 0) {
				closedir(d);
				return 1;
			}
			n++;
		}
		closedir(d);
	}
	printf("replayed %u inputs\n", n);
	return n > 0 ? 0 : 1;
}
