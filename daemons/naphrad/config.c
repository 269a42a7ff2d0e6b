// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * naphrad configuration: the INI file (inih), every key checked, unknown keys and sections are
 * errors, printed back in normal form by "naphrad -n". A failed parse leaves nothing behind, so
 * a reload that fails keeps the running configuration. Both processes parse the same file: the
 * signer re-reads only [signer] on reload.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <ini.h>
#include <inttypes.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nap/util.h"
#include "naphrad.h"

#define CONF_MAX_LEN (64 * 1024)

struct parse {
	struct naphrad_config *c;
	char *err;
	size_t err_len;
	bool failed;
};

__attribute__((format(printf, 2, 3))) static int
perr(struct parse *p, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(p->err, p->err_len, fmt, ap);
	va_end(ap);
	p->failed = true;
	return 0;
}

int
naphrad_sockaddr(const char *hostport, struct sockaddr_storage *ss, socklen_t *len)
{
	char host[INET6_ADDRSTRLEN + 2];
	const char *port;
	size_t hl;
	char *end;
	unsigned long pv;

	memset(ss, 0, sizeof(*ss));
	if (hostport[0] == '[') {
		const char *close = strchr(hostport, ']');

		if (close == NULL || close[1] != ':')
			return -EINVAL;
		hl = (size_t)(close - hostport - 1);
		port = close + 2;
		hostport++;
	} else {
		const char *colon = strrchr(hostport, ':');

		if (colon == NULL || strchr(hostport, ':') != colon)
			return -EINVAL;
		hl = (size_t)(colon - hostport);
		port = colon + 1;
	}
	if (hl == 0 || hl >= sizeof(host) || *port == '\0')
		return -EINVAL;
	memcpy(host, hostport, hl);
	host[hl] = '\0';
	errno = 0;
	pv = strtoul(port, &end, 10);
	if (errno != 0 || *end != '\0' || pv == 0 || pv > 65535 || *port < '0' || *port > '9')
		return -EINVAL;
	if (strchr(host, ':') != NULL) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;

		if (inet_pton(AF_INET6, host, &a->sin6_addr) != 1)
			return -EINVAL;
		a->sin6_family = AF_INET6;
		a->sin6_port = htons((uint16_t)pv);
		*len = sizeof(*a);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)ss;

		if (inet_pton(AF_INET, host, &a->sin_addr) != 1)
			return -EINVAL;
		a->sin_family = AF_INET;
		a->sin_port = htons((uint16_t)pv);
		*len = sizeof(*a);
	}
	return 0;
}

static int
set_str(struct parse *p, char **dst, const char *section, const char *key, const char *value)
{
	if (value[0] == '\0')
		return perr(p, "[%s] %s: empty value", section, key);
	free(*dst);
	if ((*dst = strdup(value)) == NULL)
		return perr(p, "out of memory");
	return 1;
}

static int
set_addr(struct parse *p, char **dst, const char *section, const char *key, const char *value)
{
	struct sockaddr_storage ss;
	socklen_t sl;

	if (naphrad_sockaddr(value, &ss, &sl) < 0)
		return perr(p, "[%s] %s = %s: not ADDR:PORT (numeric)", section, key, value);
	return set_str(p, dst, section, key, value);
}

static int
set_uint(struct parse *p, unsigned *dst, const char *section, const char *key, const char *value,
	 unsigned min, unsigned max)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(value, &end, 10);
	if (errno != 0 || end == value || *end != '\0' || value[0] == '-' || v < min || v > max)
		return perr(p, "[%s] %s = %s: want a number from %u to %u", section, key, value, min,
			    max);
	*dst = (unsigned)v;
	return 1;
}

static int
set_duration(struct parse *p, int64_t *dst, const char *section, const char *key,
	     const char *value, int64_t min, int64_t max)
{
	int64_t v;

	if (nap_parse_duration(value, &v) < 0 || v < min || v > max)
		return perr(p, "[%s] %s = %s: want a duration from %" PRId64 "s to %" PRId64 "s",
			    section, key, value, min, max);
	*dst = v;
	return 1;
}

static int
set_size(struct parse *p, uint64_t *dst, const char *section, const char *key, const char *value)
{
	char *end;
	unsigned long long v;
	uint64_t mult = 1;

	errno = 0;
	v = strtoull(value, &end, 10);
	if (errno == 0 && end != value && value[0] != '-') {
		if (strcmp(end, "K") == 0 || strcmp(end, "k") == 0)
			mult = 1024;
		else if (strcmp(end, "M") == 0)
			mult = 1024 * 1024;
		else if (strcmp(end, "G") == 0)
			mult = 1024ULL * 1024 * 1024;
		else if (*end != '\0')
			mult = 0;
		if (mult != 0 && v >= 4096 / mult + (4096 % mult != 0) && v <= UINT64_MAX / mult) {
			*dst = v * mult;
			return 1;
		}
	}
	return perr(p, "[%s] %s = %s: want a size of at least 4096 bytes (K, M, G allowed)",
		    section, key, value);
}

static int
handler(void *arg, const char *section, const char *key, const char *value)
{
	struct parse *p = arg;
	struct naphrad_config *c = p->c;
	struct naphrad_signer_conf *sg = &c->signer;
	unsigned u = 0;
	int64_t d = 0;

	if (p->failed)
		return 0;
	if (key == NULL) /* a section header */
		return 1;
	if (strcmp(section, "naphrad") == 0) {
		if (strcmp(key, "user") == 0)
			return set_str(p, &c->user, section, key, value);
		if (strcmp(key, "pidfile") == 0)
			return set_str(p, &c->pidfile, section, key, value);
		if (strcmp(key, "state_dir") == 0)
			return set_str(p, &c->state_dir, section, key, value);
		if (strcmp(key, "metrics") == 0)
			return set_addr(p, &c->metrics, section, key, value);
		if (strcmp(key, "max_connections") == 0)
			return set_uint(p, &c->max_connections, section, key, value, 1, 65536);
		if (strcmp(key, "max_connections_per_ip") == 0)
			return set_uint(p, &c->max_connections_per_ip, section, key, value, 0, 65536);
		if (strcmp(key, "connection_timeout") == 0) {
			if (set_duration(p, &d, section, key, value, 1, 3600) == 0)
				return 0;
			c->connection_timeout = (unsigned)d;
			return 1;
		}
		if (strcmp(key, "request_timeout") == 0) {
			if (set_duration(p, &d, section, key, value, 1, 600) == 0)
				return 0;
			c->request_timeout = (unsigned)d;
			return 1;
		}
		if (strcmp(key, "max_pending") == 0)
			return set_uint(p, &c->max_pending, section, key, value, 1, 65536);
		if (strcmp(key, "afw_zone") == 0) {
			if (set_uint(p, &u, section, key, value, 0, UINT_MAX) == 0)
				return 0;
			c->afw_zone = u;
			c->has_afw_zone = true;
			return 1;
		}
		if (strcmp(key, "afw_protection_level") == 0) {
			if (set_uint(p, &u, section, key, value, 1, 2) == 0)
				return 0;
			c->afw_level = u;
			c->has_afw_level = true;
			return 1;
		}
	} else if (strcmp(section, "http") == 0) {
		if (strcmp(key, "listen") == 0)
			return set_addr(p, &c->http_listen, section, key, value);
	} else if (strcmp(section, "https") == 0) {
		if (strcmp(key, "listen") == 0)
			return set_addr(p, &c->https_listen, section, key, value);
		if (strcmp(key, "cert") == 0)
			return set_str(p, &c->tls_cert, section, key, value);
		if (strcmp(key, "key") == 0)
			return set_str(p, &c->tls_key, section, key, value);
		if (strcmp(key, "client_ca") == 0)
			return set_str(p, &c->client_ca, section, key, value);
		if (strcmp(key, "client_auth") == 0) {
			if (strcmp(value, "off") == 0)
				c->client_auth = NAPHRAD_AUTH_OFF;
			else if (strcmp(value, "optional") == 0)
				c->client_auth = NAPHRAD_AUTH_OPTIONAL;
			else if (strcmp(value, "required") == 0)
				c->client_auth = NAPHRAD_AUTH_REQUIRED;
			else
				return perr(p, "[https] client_auth = %s: want off, optional or "
					       "required",
					    value);
			return 1;
		}
	} else if (strcmp(section, "napvd") == 0) {
		if (strcmp(key, "server") == 0) {
			char *v = NULL;

			if (c->n_servers >= NAP_RADCLIENT_MAX_SERVERS)
				return perr(p, "[napvd] server: at most %d", NAP_RADCLIENT_MAX_SERVERS);
			if (set_addr(p, &v, section, key, value) == 0)
				return 0;
			c->servers[c->n_servers++] = v;
			return 1;
		}
		if (strcmp(key, "secret_file") == 0)
			return set_str(p, &c->secret_file, section, key, value);
		if (strcmp(key, "timeout") == 0) {
			char *end;
			unsigned long ms;

			/* "500ms" or a duration in seconds */
			errno = 0;
			ms = strtoul(value, &end, 10);
			if (errno == 0 && end != value && strcmp(end, "ms") == 0 && ms >= 10 &&
			    ms <= 60000) {
				c->radius_timeout_ms = (unsigned)ms;
				return 1;
			}
			if (set_duration(p, &d, section, key, value, 1, 60) == 0)
				return 0;
			c->radius_timeout_ms = (unsigned)d * 1000;
			return 1;
		}
		if (strcmp(key, "retries") == 0)
			return set_uint(p, &c->radius_retries, section, key, value, 0, 10);
		if (strcmp(key, "holddown") == 0) {
			if (set_duration(p, &d, section, key, value, 1, 3600) == 0)
				return 0;
			c->radius_holddown_ms = (unsigned)d * 1000;
			return 1;
		}
		if (strcmp(key, "nas_identifier") == 0) {
			if (strlen(value) > 64)
				return perr(p, "[napvd] nas_identifier: at most 64 bytes");
			return set_str(p, &c->nas_identifier, section, key, value);
		}
	} else if (strcmp(section, "signer") == 0) {
		if (strcmp(key, "ca_cert") == 0)
			return set_str(p, &sg->ca_cert, section, key, value);
		if (strcmp(key, "ca_key") == 0)
			return set_str(p, &sg->ca_key, section, key, value);
		if (strcmp(key, "chain") == 0)
			return set_str(p, &sg->chain, section, key, value);
		if (strcmp(key, "pkcs11_module") == 0)
			return set_str(p, &sg->pkcs11_module, section, key, value);
		if (strcmp(key, "pin_file") == 0)
			return set_str(p, &sg->pin_file, section, key, value);
		if (strcmp(key, "user") == 0)
			return set_str(p, &sg->user, section, key, value);
		if (strcmp(key, "log") == 0)
			return set_str(p, &sg->log, section, key, value);
		if (strcmp(key, "lifetime") == 0)
			return set_duration(p, &sg->lifetime, section, key, value, 1, 30 * 86400);
		if (strcmp(key, "max_lifetime") == 0)
			return set_duration(p, &sg->max_lifetime, section, key, value, 1,
					    30 * 86400);
		if (strcmp(key, "log_max_size") == 0)
			return set_size(p, &sg->log_max_size, section, key, value);
		if (strcmp(key, "log_keep") == 0)
			return set_uint(p, &sg->log_keep, section, key, value, 0, 1000);
		if (strcmp(key, "log_max_age") == 0)
			return set_duration(p, &sg->log_max_age, section, key, value, 0,
					    10 * 365 * 86400LL);
		if (strcmp(key, "rsa_min_bits") == 0)
			return set_uint(p, &sg->rsa_min_bits, section, key, value, 2048, 4096);
	} else {
		return perr(p, "unknown section [%s]", section);
	}
	return perr(p, "[%s] unknown key %s", section, key);
}

void
naphrad_config_free(struct naphrad_config *c)
{
	if (c == NULL)
		return;
	free(c->path);
	free(c->user);
	free(c->pidfile);
	free(c->state_dir);
	free(c->metrics);
	free(c->http_listen);
	free(c->https_listen);
	free(c->tls_cert);
	free(c->tls_key);
	free(c->client_ca);
	for (size_t i = 0; i < c->n_servers; i++)
		free(c->servers[i]);
	free(c->secret_file);
	free(c->nas_identifier);
	free(c->signer.ca_cert);
	free(c->signer.ca_key);
	free(c->signer.chain);
	free(c->signer.pkcs11_module);
	free(c->signer.pin_file);
	free(c->signer.user);
	free(c->signer.log);
	free(c);
}

static int
finish(struct parse *p)
{
	struct naphrad_config *c = p->c;

	if (c->http_listen == NULL && c->https_listen == NULL)
		return perr(p, "neither [http] listen nor [https] listen is set");
	if (c->https_listen != NULL && (c->tls_cert == NULL || c->tls_key == NULL))
		return perr(p, "[https] needs cert and key");
	if (c->client_auth != NAPHRAD_AUTH_OFF && c->client_ca == NULL)
		return perr(p, "[https] client_auth = %s needs client_ca",
			    c->client_auth == NAPHRAD_AUTH_REQUIRED ? "required" : "optional");
	if (c->client_ca != NULL && c->https_listen == NULL)
		return perr(p, "[https] client_ca without [https] listen");
	if (c->n_servers == 0)
		return perr(p, "[napvd] needs at least one server");
	if (c->secret_file == NULL)
		return perr(p, "[napvd] needs secret_file");
	if (c->signer.ca_cert == NULL || c->signer.ca_key == NULL)
		return perr(p, "[signer] needs ca_cert and ca_key");
	if (c->signer.lifetime > c->signer.max_lifetime)
		return perr(p, "[signer] lifetime is longer than max_lifetime");
	if (c->signer.log == NULL) {
		const char *dir = c->state_dir != NULL ? c->state_dir : "/var/lib/naphrad";

		if (asprintf(&c->signer.log, "%s/issuance.log", dir) < 0) {
			c->signer.log = NULL;
			return perr(p, "out of memory");
		}
	}
	if (c->nas_identifier == NULL && (c->nas_identifier = strdup("naphrad")) == NULL)
		return perr(p, "out of memory");
	return 1;
}

int
naphrad_config_parse_string(const char *text, const char *name, struct naphrad_config **out,
			    char *err, size_t len)
{
	struct parse p = {.err = err, .err_len = len};
	struct naphrad_config *c = calloc(1, sizeof(*c));
	int line;

	*out = NULL;
	if (c == NULL)
		return -ENOMEM;
	p.c = c;
	c->max_connections = 1024;
	c->max_connections_per_ip = 64;
	c->connection_timeout = 10;
	c->request_timeout = 15;
	c->max_pending = 4096;
	c->client_auth = NAPHRAD_AUTH_OFF;
	c->radius_timeout_ms = 1000;
	c->radius_retries = 2;
	c->radius_holddown_ms = 30000;
	c->signer.lifetime = NAPHRAD_DEFAULT_LIFETIME;
	c->signer.max_lifetime = NAPHRAD_DEFAULT_MAX_LIFETIME;
	c->signer.log_max_size = 16 * 1024 * 1024;
	c->signer.log_keep = 8;
	c->signer.log_max_age = 90 * 86400;
	c->signer.rsa_min_bits = 2048;
	{
		char why[64];
		int ln;

		if (nap_conf_text_check(text, NAP_CONF_LINE_MAX, &ln, why, sizeof(why)) < 0) {
			snprintf(err, len, "%s: line %d: %s", name, ln, why);
			naphrad_config_free(c);
			return -EINVAL;
		}
	}
	line = ini_parse_string(text, handler, &p);
	if (line != 0 || p.failed) {
		char msg[512];

		snprintf(msg, sizeof(msg), "%s", p.failed ? err : "syntax error");
		if (line > 0)
			snprintf(err, len, "%s:%d: %s", name, line, msg);
		else
			snprintf(err, len, "%s: %s", name, msg);
		naphrad_config_free(c);
		return -EINVAL;
	}
	if (finish(&p) == 0) {
		char msg[512];

		snprintf(msg, sizeof(msg), "%s", err);
		snprintf(err, len, "%s: %s", name, msg);
		naphrad_config_free(c);
		return -EINVAL;
	}
	if ((c->path = strdup(name)) == NULL) {
		naphrad_config_free(c);
		return -ENOMEM;
	}
	*out = c;
	return 0;
}

int
naphrad_config_parse_file(const char *path, struct naphrad_config **out, char *err, size_t len)
{
	char *text;
	int r;

	*out = NULL;
	if ((r = nap_read_text_file(path, CONF_MAX_LEN, &text, NULL, err, len)) < 0)
		return r;
	r = naphrad_config_parse_string(text, path, out, err, len);
	free(text);
	return r;
}

static void
print_duration(FILE *f, const char *key, int64_t s)
{
	if (s != 0 && s % 86400 == 0)
		fprintf(f, "%s = %" PRId64 "d\n", key, s / 86400);
	else if (s != 0 && s % 3600 == 0)
		fprintf(f, "%s = %" PRId64 "h\n", key, s / 3600);
	else if (s != 0 && s % 60 == 0)
		fprintf(f, "%s = %" PRId64 "m\n", key, s / 60);
	else
		fprintf(f, "%s = %" PRId64 "s\n", key, s);
}

static void
print_opt(FILE *f, const char *key, const char *v)
{
	if (v != NULL)
		fprintf(f, "%s = %s\n", key, v);
}

void
naphrad_config_print(const struct naphrad_config *c, FILE *f)
{
	static const char *const auth[] = {"off", "optional", "required"};
	const struct naphrad_signer_conf *s = &c->signer;

	fprintf(f, "[naphrad]\n");
	print_opt(f, "user", c->user);
	print_opt(f, "pidfile", c->pidfile);
	print_opt(f, "state_dir", c->state_dir);
	print_opt(f, "metrics", c->metrics);
	fprintf(f, "max_connections = %u\nmax_connections_per_ip = %u\n", c->max_connections,
		c->max_connections_per_ip);
	print_duration(f, "connection_timeout", c->connection_timeout);
	print_duration(f, "request_timeout", c->request_timeout);
	fprintf(f, "max_pending = %u\n", c->max_pending);
	if (c->has_afw_zone)
		fprintf(f, "afw_zone = %" PRIu32 "\n", c->afw_zone);
	if (c->has_afw_level)
		fprintf(f, "afw_protection_level = %" PRIu32 "\n", c->afw_level);
	if (c->http_listen != NULL)
		fprintf(f, "\n[http]\nlisten = %s\n", c->http_listen);
	if (c->https_listen != NULL) {
		fprintf(f, "\n[https]\nlisten = %s\ncert = %s\nkey = %s\n", c->https_listen,
			c->tls_cert, c->tls_key);
		print_opt(f, "client_ca", c->client_ca);
		fprintf(f, "client_auth = %s\n", auth[c->client_auth]);
	}
	fprintf(f, "\n[napvd]\n");
	for (size_t i = 0; i < c->n_servers; i++)
		fprintf(f, "server = %s\n", c->servers[i]);
	fprintf(f, "secret_file = %s\ntimeout = %ums\nretries = %u\n", c->secret_file,
		c->radius_timeout_ms, c->radius_retries);
	print_duration(f, "holddown", c->radius_holddown_ms / 1000);
	fprintf(f, "nas_identifier = %s\n", c->nas_identifier);
	fprintf(f, "\n[signer]\nca_cert = %s\nca_key = %s\n", s->ca_cert, s->ca_key);
	print_opt(f, "chain", s->chain);
	print_opt(f, "pkcs11_module", s->pkcs11_module);
	print_opt(f, "pin_file", s->pin_file);
	print_opt(f, "user", s->user);
	fprintf(f, "log = %s\n", s->log);
	print_duration(f, "lifetime", s->lifetime);
	print_duration(f, "max_lifetime", s->max_lifetime);
	fprintf(f, "log_max_size = %" PRIu64 "\nlog_keep = %u\n", s->log_max_size, s->log_keep);
	print_duration(f, "log_max_age", s->log_max_age);
	fprintf(f, "rsa_min_bits = %u\n", s->rsa_min_bits);
}

void
naphrad_config_warnings(const struct naphrad_config *c, FILE *f)
{
	struct stat st;

	if (c->http_listen != NULL && c->client_auth == NAPHRAD_AUTH_REQUIRED)
		fprintf(f, "warning: [http] accepts anonymous requests although [https] "
			   "client_auth = required\n");
	if (c->user == NULL && getuid() == 0)
		fprintf(f, "warning: [naphrad] user is not set: the network-facing process keeps "
			   "running as root\n");
	if (stat(c->signer.ca_key, &st) == 0 && (st.st_mode & 0077) != 0)
		fprintf(f, "warning: [signer] ca_key %s is readable by group or others\n",
			c->signer.ca_key);
	if (c->signer.lifetime > 86400)
		fprintf(f, "warning: [signer] lifetime over a day: health certificates are not "
			   "revoked (no CRL/OCSP), a short lifetime is what limits them\n");
	if ((uint64_t)c->request_timeout * 1000 <
	    (uint64_t)c->n_servers * (c->radius_retries + 1) * c->radius_timeout_ms)
		fprintf(f, "warning: request_timeout is shorter than trying every napvd server "
			   "(%zu x %u x %ums)\n",
			c->n_servers, c->radius_retries + 1, c->radius_timeout_ms);
}
