// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * The SHV point's files over SMB: write nap-shv.conf into its configuration share (written
 * under a temporary name and renamed by nap_smb_put, so napvd never reads half a file) and read
 * nap-shv.status back. The status file is untrusted: bounded and parsed strictly.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nap/shv.h"
#include "nap/smb.h"

static int
shv_join(char *out, size_t cap, const char *url, const char *name)
{
	size_t n = strlen(url);
	int w;

	while (n > 0 && url[n - 1] == '/')
		n--;
	w = snprintf(out, cap, "%.*s/%s", (int)n, url, name);
	return w < 0 || (size_t)w >= cap ? -ENAMETOOLONG : 0;
}

int
nap_shv_push(struct nap_smb *smb, const struct nap_shv_point *p, char *err, size_t err_len)
{
	char url[NAP_SHV_URL_MAX + 64], *text = NULL;
	size_t len = 0;
	int r;

	if ((r = shv_join(url, sizeof(url), p->url, NAP_SHV_FILE_NAME)) < 0) {
		snprintf(err, err_len, "url too long");
		return r;
	}
	r = nap_shv_settings_render(&p->settings, p->host, p->revision, &text, &len);
	if (r < 0) {
		snprintf(err, err_len, "%s", r == -ENOMEM ? "out of memory" : "settings break a rule");
		return r;
	}
	r = nap_smb_put(smb, url, text, len, err, err_len);
	free(text);
	return r;
}

int
nap_shv_status_fetch(struct nap_smb *smb, const char *url, struct nap_shv_status *out,
		     char **raw, char *err, size_t err_len)
{
	char u[NAP_SHV_URL_MAX + 64], why[256];
	uint8_t *data = NULL;
	size_t len = 0;
	int r;

	*raw = NULL;
	memset(out, 0, sizeof(*out));
	if ((r = shv_join(u, sizeof(u), url, NAP_SHV_STATUS_NAME)) < 0) {
		snprintf(err, err_len, "url too long");
		return r;
	}
	r = nap_smb_get(smb, u, NAP_SHV_STATUS_MAX, &data, &len, err, err_len);
	if (r < 0)
		return r;
	if (nap_shv_status_parse((const char *)data, len, out, why, sizeof(why)) < 0) {
		snprintf(err, err_len, "%s: %s", NAP_SHV_STATUS_NAME, why);
		free(data);
		return -EINVAL;
	}
	*raw = (char *)data;
	return 0;
}
