/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Where a decode failed. Decoders return a negative errno (-EBADMSG for malformed input,
 * -EMSGSIZE for input over a NAP limit, -ENOTSUP for a well-formed message of a kind we do not
 * handle) and fill struct nap_err with the offset into the outermost input and a short static
 * description, so tools can print "error: <what> at offset <n>".
 */
#ifndef NAP_ERROR_H
#define NAP_ERROR_H

#include <stddef.h>

struct nap_err {
	size_t offset;
	const char *what;
};

static inline int
nap_err_set(struct nap_err *err, size_t offset, const char *what, int code)
{
	if (err != NULL) {
		err->offset = offset;
		err->what = what;
	}
	return code;
}

#endif
