// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * jsonq: print one value of a JSON document read from stdin, for the tool tests (so the suite
 * needs no jq). Path syntax: .member, [index], chained: .entries[2].nap.site; "." is the root.
 * Strings print raw, other values as compact JSON. Exit 1 when the input is not JSON or the
 * path does not exist, 64 on bad usage. Handles test input only.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

int
main(int argc, char *argv[])
{
	json_error_t jerr;
	json_t *root, *cur;
	const char *p;

	if (argc != 2 || argv[1][0] != '.') {
		fprintf(stderr, "usage: jsonq .path < json\n");
		return 64;
	}
	if ((root = json_loadf(stdin, 0, &jerr)) == NULL) {
		fprintf(stderr, "jsonq: not JSON: %s (line %d)\n", jerr.text, jerr.line);
		return 1;
	}
	cur = root;
	p = argv[1];
	if (strcmp(p, ".") == 0)
		p++;
	while (*p != '\0' && cur != NULL) {
		if (*p == '.') {
			char key[256];
			size_t n = strcspn(p + 1, ".[");

			if (n == 0 || n >= sizeof(key))
				goto bad;
			memcpy(key, p + 1, n);
			key[n] = '\0';
			cur = json_object_get(cur, key);
			p += 1 + n;
		} else if (*p == '[') {
			char *end;
			long i = strtol(p + 1, &end, 10);

			if (end == p + 1 || *end != ']' || i < 0)
				goto bad;
			cur = json_array_get(cur, (size_t)i);
			p = end + 1;
		} else {
			goto bad;
		}
	}
	if (cur == NULL) {
		fprintf(stderr, "jsonq: %s: no such value\n", argv[1]);
		json_decref(root);
		return 1;
	}
	if (json_is_string(cur)) {
		puts(json_string_value(cur));
	} else {
		char *s = json_dumps(cur, JSON_COMPACT | JSON_ENCODE_ANY);

		puts(s != NULL ? s : "");
		free(s);
	}
	json_decref(root);
	return 0;
bad:
	fprintf(stderr, "jsonq: bad path '%s'\n", argv[1]);
	json_decref(root);
	return 64;
}
