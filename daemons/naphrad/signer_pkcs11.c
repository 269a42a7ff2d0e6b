// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * The health CA's key in a PKCS#11 token (an HSM, a smart card, SoftHSM): the signer loads it
 * through libp11's OpenSSL engine ("pkcs11", Debian package libengine-pkcs11-openssl). Debian 12
 * ships no PKCS#11 provider for OpenSSL 3 (pkcs11-provider came later), so this is the one file
 * that uses the ENGINE API, deprecated in OpenSSL 3.0 but built and supported there. The key
 * object never leaves the token: signing (X509_sign) goes through the engine to C_Sign.
 *
 * The engine stays loaded for the life of the signer process; a reload loads the key again
 * (the PIN file is read again, as [signer] user when the signer dropped privileges).
 */
#define OPENSSL_SUPPRESS_DEPRECATED 1 /* the ENGINE API, see above */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/engine.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include "nap/log.h"
#include "nap/util.h"
#include "naphrad.h"

#define PKCS11_PIN_MAX 256

static ENGINE *pkcs11_engine;

static void
openssl_reason(char *buf, size_t len)
{
	unsigned long e = ERR_peek_last_error();

	if (e == 0)
		snprintf(buf, len, "no detail");
	else
		ERR_error_string_n(e, buf, len);
	ERR_clear_error();
}

static ENGINE *
pkcs11_engine_get(const char *module, char *err, size_t len)
{
	char why[256];
	ENGINE *e;

	if (pkcs11_engine != NULL)
		return pkcs11_engine;
	ENGINE_load_builtin_engines();
	if ((e = ENGINE_by_id("pkcs11")) == NULL) {
		openssl_reason(why, sizeof(why));
		snprintf(err, len,
			 "signer: OpenSSL's pkcs11 engine is not available (install "
			 "libengine-pkcs11-openssl): %s",
			 why);
		return NULL;
	}
	if (module != NULL && ENGINE_ctrl_cmd_string(e, "MODULE_PATH", module, 0) != 1) {
		openssl_reason(why, sizeof(why));
		snprintf(err, len, "signer: pkcs11_module %s: %s", module, why);
		ENGINE_free(e);
		return NULL;
	}
	if (ENGINE_init(e) != 1) {
		openssl_reason(why, sizeof(why));
		snprintf(err, len, "signer: the pkcs11 engine does not start (module %s): %s",
			 module != NULL ? module : "p11-kit-proxy", why);
		ENGINE_free(e);
		return NULL;
	}
	ENGINE_free(e); /* ENGINE_init holds its own (functional) reference */
	pkcs11_engine = e;
	return e;
}

EVP_PKEY *
naphrad_pkcs11_key(const char *uri, const char *module, const char *pin_file, char *err,
		   size_t len)
{
	char why[256], *pin = NULL;
	unsigned mode = 0;
	EVP_PKEY *k;
	ENGINE *e;

	if (strstr(uri, "pin-value=") != NULL) {
		snprintf(err, len, "signer: ca_key: no pin-value in the URI; use pin_file");
		return NULL;
	}
	if ((e = pkcs11_engine_get(module, err, len)) == NULL)
		return NULL;
	if (pin_file != NULL) {
		if (nap_read_secret_file(pin_file, PKCS11_PIN_MAX, &pin, &mode, why, sizeof(why)) <
		    0) {
			snprintf(err, len, "signer: pin_file %s: %s", pin_file, why);
			return NULL;
		}
		if ((mode & 0077) != 0)
			log_warnx("signer: pin_file %s is readable by group or others", pin_file);
		if (ENGINE_ctrl_cmd_string(e, "PIN", pin, 0) != 1) {
			openssl_reason(why, sizeof(why));
			snprintf(err, len, "signer: the pkcs11 engine refused the PIN: %s", why);
			nap_wipe(pin, strlen(pin));
			free(pin);
			return NULL;
		}
		nap_wipe(pin, strlen(pin));
		free(pin);
	}
	k = ENGINE_load_private_key(e, uri, NULL, NULL);
	if (k == NULL) {
		openssl_reason(why, sizeof(why));
		snprintf(err, len,
			 "signer: ca_key %s: not loaded from the token (wrong PIN or no such "
			 "object): %s",
			 uri, why);
	}
	ERR_clear_error();
	return k;
}
