// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * The publisher: writes one site's signed HSR to its entry in the directory
 * (cn=<site>,<container>,<base>, objectClass napHealthStateReference, nap-schema(5)).
 *
 * One publish is one short session: for each [directory] uri in order, connect (ldaps://, or
 * ldap:// with StartTLS that must succeed when starttls = yes), bind, then
 *   read the entry (base search);
 *   missing          -> add it (creating the container first when allowed and missing);
 *   same revision and byte-identical document -> nothing to write ("unchanged");
 *   higher revision  -> refuse: the directory never goes back ("conflict");
 *   otherwise        -> replace every nap attribute in one modify, asserting (RFC 4528) that
 *                       the revision read is still there, so a concurrent writer is noticed.
 * Every network step is bounded by [directory] timeout. The directory's answers are untrusted:
 * the revision is parsed strictly and a mangled entry is simply overwritten.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <lber.h>
#include <ldap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "nap/log.h"
#include "napsited.h"

#define PUB_DN_MAX    1024
#define PUB_MAX_TRIES 3 /* read-modify rounds when a concurrent writer interferes */

struct pub {
	const struct nap_siteconf *c;
	const struct napsited_hsr *h;
	LDAP *ld;
	const char *uri;
	bool tls; /* ldaps:// or StartTLS */
	char dn[PUB_DN_MAX];
	char *err;
	size_t err_len;
};

static double
pub_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static struct timeval
pub_timeval(int64_t ms)
{
	struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};

	return tv;
}

/* "what: result text (diagnostic)" into the error buffer; returns NAPSITED_PUBLISH_ERROR. */
static enum napsited_publish_result
pub_fail(struct pub *p, const char *what, int rc)
{
	const char *hint = "";
	char *diag = NULL;

	if (p->ld != NULL)
		ldap_get_option(p->ld, LDAP_OPT_DIAGNOSTIC_MESSAGE, &diag);
	/* libldap's GnuTLS layer often leaves only this: say what it usually means. */
	if (diag != NULL && strcmp(diag, "(unknown error code)") == 0) {
		ldap_memfree(diag);
		diag = NULL;
	}
	if (rc == LDAP_CONNECT_ERROR && p->tls)
		hint = "; TLS failed: is the server's certificate signed by a CA in ca_file, "
		       "for this host name?";
	snprintf(p->err, p->err_len, "%s: %s: %s%s%s%s%s", p->uri, what, ldap_err2string(rc),
		 diag != NULL && *diag != '\0' ? " (" : "", diag != NULL ? diag : "",
		 diag != NULL && *diag != '\0' ? ")" : "", hint);
	ldap_memfree(diag);
	return NAPSITED_PUBLISH_ERROR;
}

static int
pub_connect(struct pub *p, const char *password)
{
	const struct nap_siteconf *c = p->c;
	struct timeval tv = pub_timeval(c->dir_timeout_ms);
	bool ldaps = strncasecmp(p->uri, "ldaps://", 8) == 0;
	bool plain = strncasecmp(p->uri, "ldap://", 7) == 0;
	int v3 = LDAP_VERSION3, rc;

	rc = ldap_initialize(&p->ld, p->uri);
	if (rc != LDAP_SUCCESS) {
		p->ld = NULL;
		return pub_fail(p, "initialize", rc), -1;
	}
	if (ldap_set_option(p->ld, LDAP_OPT_PROTOCOL_VERSION, &v3) != LDAP_OPT_SUCCESS ||
	    ldap_set_option(p->ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF) != LDAP_OPT_SUCCESS ||
	    ldap_set_option(p->ld, LDAP_OPT_NETWORK_TIMEOUT, &tv) != LDAP_OPT_SUCCESS ||
	    ldap_set_option(p->ld, LDAP_OPT_TIMEOUT, &tv) != LDAP_OPT_SUCCESS)
		return pub_fail(p, "setting options", LDAP_OTHER), -1;
	p->tls = ldaps || (plain && c->dir_starttls);
	if (p->tls) {
		int demand = LDAP_OPT_X_TLS_DEMAND, zero = 0;

		if (ldap_set_option(p->ld, LDAP_OPT_X_TLS_REQUIRE_CERT, &demand) !=
			    LDAP_OPT_SUCCESS ||
		    (c->dir_ca_file != NULL && ldap_set_option(p->ld, LDAP_OPT_X_TLS_CACERTFILE,
							       c->dir_ca_file) != LDAP_OPT_SUCCESS))
			return pub_fail(p, "TLS options", LDAP_OTHER), -1;
		/* The options above take effect in a new TLS context for this handle only. */
		rc = ldap_set_option(p->ld, LDAP_OPT_X_TLS_NEWCTX, &zero);
		if (rc != LDAP_OPT_SUCCESS)
			return pub_fail(p, "TLS context (ca_file)", rc), -1;
	}
	if (plain && c->dir_starttls) {
		rc = ldap_start_tls_s(p->ld, NULL, NULL);
		if (rc != LDAP_SUCCESS)
			return pub_fail(p, "StartTLS (required by starttls = yes)", rc), -1;
	}
	if (c->dir_bind_dn != NULL) {
		struct berval cred = {.bv_val = (char *)password,
				      .bv_len = password != NULL ? strlen(password) : 0};

		rc = ldap_sasl_bind_s(p->ld, c->dir_bind_dn, LDAP_SASL_SIMPLE, &cred, NULL, NULL,
				      NULL);
		if (rc != LDAP_SUCCESS)
			return pub_fail(p, "bind", rc), -1;
	} else {
		/* Anonymous: a root DSE read makes sure the server answers at all. */
		LDAPMessage *res = NULL;
		char *none[] = {LDAP_NO_ATTRS, NULL};

		rc = ldap_search_ext_s(p->ld, "", LDAP_SCOPE_BASE, "(objectClass=*)", none, 0, NULL,
				       NULL, &tv, 1, &res);
		ldap_msgfree(res);
		if (rc != LDAP_SUCCESS)
			return pub_fail(p, "reading the root DSE", rc), -1;
	}
	return 0;
}

/* A revision as the directory holds it: decimal digits only, no sign, no leading zeros. */
static int
pub_parse_revision(const struct berval *bv, uint64_t *out)
{
	uint64_t v = 0;

	if (bv->bv_len == 0 || bv->bv_len > 20 || (bv->bv_len > 1 && bv->bv_val[0] == '0'))
		return -EINVAL;
	for (size_t i = 0; i < bv->bv_len; i++) {
		unsigned d;

		if (!isdigit((unsigned char)bv->bv_val[i]))
			return -EINVAL;
		d = (unsigned)(bv->bv_val[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -ERANGE;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

enum pub_entry_state { PUB_ENTRY_MISSING, PUB_ENTRY_PRESENT, PUB_ENTRY_MANGLED };

struct pub_entry {
	enum pub_entry_state state;
	uint64_t revision;
	bool same_document;
};

static int
pub_read(struct pub *p, struct pub_entry *e)
{
	struct timeval tv = pub_timeval(p->c->dir_timeout_ms);
	char *attrs[] = {"napHsrRevision", "napHsrDocument", NULL};
	LDAPMessage *res = NULL, *ent;
	struct berval **rev = NULL, **doc = NULL;
	int rc;

	memset(e, 0, sizeof(*e));
	rc = ldap_search_ext_s(p->ld, p->dn, LDAP_SCOPE_BASE, "(objectClass=*)", attrs, 0, NULL,
			       NULL, &tv, 1, &res);
	if (rc == LDAP_NO_SUCH_OBJECT) {
		ldap_msgfree(res);
		e->state = PUB_ENTRY_MISSING;
		return 0;
	}
	if (rc != LDAP_SUCCESS) {
		ldap_msgfree(res);
		return pub_fail(p, "reading the entry", rc), -1;
	}
	ent = ldap_first_entry(p->ld, res);
	if (ent == NULL) {
		ldap_msgfree(res);
		e->state = PUB_ENTRY_MISSING;
		return 0;
	}
	rev = ldap_get_values_len(p->ld, ent, "napHsrRevision");
	doc = ldap_get_values_len(p->ld, ent, "napHsrDocument");
	e->state = PUB_ENTRY_MANGLED;
	if (rev != NULL && rev[0] != NULL && rev[1] == NULL &&
	    pub_parse_revision(rev[0], &e->revision) == 0)
		e->state = PUB_ENTRY_PRESENT;
	e->same_document = doc != NULL && doc[0] != NULL && doc[1] == NULL &&
			   doc[0]->bv_len == p->h->len &&
			   memcmp(doc[0]->bv_val, p->h->doc, p->h->len) == 0;
	ldap_value_free_len(rev);
	ldap_value_free_len(doc);
	ldap_msgfree(res);
	return 0;
}

/* The nap attributes, as LDAPMod values. */
struct pub_values {
	char revision[24];
	char issued[20];
	struct berval docval;
	struct berval *docvals[2];
	char *site[2], *rev[2], *digest[2], *issued_v[2], *key_id[2];
	LDAPMod m_site, m_rev, m_doc, m_digest, m_issued, m_key_id;
};

static void
pub_values_init(struct pub_values *v, const struct napsited_hsr *h, int op)
{
	time_t t = (time_t)h->issued;
	struct tm tm;

	memset(v, 0, sizeof(*v));
	snprintf(v->revision, sizeof(v->revision), "%" PRIu64, h->revision);
	gmtime_r(&t, &tm);
	strftime(v->issued, sizeof(v->issued), "%Y%m%d%H%M%SZ", &tm);
	v->docval.bv_val = (char *)h->doc;
	v->docval.bv_len = h->len;
	v->docvals[0] = &v->docval;
	v->site[0] = (char *)h->site;
	v->rev[0] = v->revision;
	v->digest[0] = (char *)h->digest;
	v->issued_v[0] = v->issued;
	v->key_id[0] = (char *)h->key_id;
	v->m_site = (LDAPMod){.mod_op = op, .mod_type = "napSiteCode", .mod_values = v->site};
	v->m_rev = (LDAPMod){.mod_op = op, .mod_type = "napHsrRevision", .mod_values = v->rev};
	v->m_doc = (LDAPMod){.mod_op = op | LDAP_MOD_BVALUES,
			     .mod_type = "napHsrDocument",
			     .mod_bvalues = v->docvals};
	v->m_digest = (LDAPMod){.mod_op = op, .mod_type = "napHsrDigest", .mod_values = v->digest};
	v->m_issued =
		(LDAPMod){.mod_op = op, .mod_type = "napHsrIssued", .mod_values = v->issued_v};
	v->m_key_id = (LDAPMod){.mod_op = op, .mod_type = "napHsrKeyId", .mod_values = v->key_id};
}

/*
 * Create the container (the entry's parent) when it is one level under base: a cn= RDN becomes
 * a napContainer, an ou= RDN an organizationalUnit. Anything deeper is the admin's to create.
 */
static int
pub_create_container(struct pub *p)
{
	const struct nap_siteconf *c = p->c;
	char dn[PUB_DN_MAX], value[256];
	char *oc[3] = {NULL}, *val[2] = {value, NULL};
	LDAPMod m_oc = {.mod_op = LDAP_MOD_ADD, .mod_type = "objectClass", .mod_values = oc};
	LDAPMod m_rdn = {.mod_op = LDAP_MOD_ADD, .mod_values = val};
	LDAPMod *mods[] = {&m_oc, &m_rdn, NULL};
	LDAPDN parsed = NULL;
	LDAPAVA *ava;
	int rc;

	if (ldap_str2dn(c->dir_container, &parsed, LDAP_DN_FORMAT_LDAPV3) != LDAP_SUCCESS ||
	    parsed == NULL || parsed[0] == NULL || parsed[1] != NULL || parsed[0][1] != NULL) {
		ldap_dnfree(parsed);
		snprintf(p->err, p->err_len,
			 "%s: container \"%s,%s\" is missing; only a "
			 "one-level container is created (create it yourself)",
			 p->uri, c->dir_container, c->dir_base);
		return -1;
	}
	ava = parsed[0][0];
	if (ava->la_value.bv_len >= sizeof(value)) {
		ldap_dnfree(parsed);
		snprintf(p->err, p->err_len, "%s: container RDN too long", p->uri);
		return -1;
	}
	memcpy(value, ava->la_value.bv_val, ava->la_value.bv_len);
	value[ava->la_value.bv_len] = '\0';
	if (ava->la_attr.bv_len == 2 && strncasecmp(ava->la_attr.bv_val, "cn", 2) == 0) {
		oc[0] = "napContainer";
		m_rdn.mod_type = "cn";
	} else if (ava->la_attr.bv_len == 2 && strncasecmp(ava->la_attr.bv_val, "ou", 2) == 0) {
		oc[0] = "organizationalUnit";
		m_rdn.mod_type = "ou";
	} else {
		ldap_dnfree(parsed);
		snprintf(p->err, p->err_len,
			 "%s: container \"%s\" is missing and only cn= or ou= "
			 "containers are created",
			 p->uri, c->dir_container);
		return -1;
	}
	snprintf(dn, sizeof(dn), "%s,%s", c->dir_container, c->dir_base);
	rc = ldap_add_ext_s(p->ld, dn, mods, NULL, NULL);
	ldap_dnfree(parsed);
	if (rc != LDAP_SUCCESS && rc != LDAP_ALREADY_EXISTS)
		return pub_fail(p, "creating the container", rc), -1;
	if (rc == LDAP_SUCCESS)
		log_info("created the container %s on %s", dn, p->uri);
	return 0;
}

/* 0 added, 1 someone else added it meanwhile (read again), -1 error. */
static int
pub_add(struct pub *p)
{
	struct pub_values v;
	char *oc[] = {"napHealthStateReference", NULL};
	char *cn[] = {(char *)p->h->site, NULL};
	LDAPMod m_oc = {.mod_op = LDAP_MOD_ADD, .mod_type = "objectClass", .mod_values = oc};
	LDAPMod m_cn = {.mod_op = LDAP_MOD_ADD, .mod_type = "cn", .mod_values = cn};
	LDAPMod *mods[9];
	bool created = false;
	int rc;

	pub_values_init(&v, p->h, LDAP_MOD_ADD);
	mods[0] = &m_oc;
	mods[1] = &m_cn;
	mods[2] = &v.m_site;
	mods[3] = &v.m_rev;
	mods[4] = &v.m_doc;
	mods[5] = &v.m_digest;
	mods[6] = &v.m_issued;
	mods[7] = &v.m_key_id;
	mods[8] = NULL;
	for (;;) {
		rc = ldap_add_ext_s(p->ld, p->dn, mods, NULL, NULL);
		if (rc == LDAP_SUCCESS)
			return 0;
		if (rc == LDAP_ALREADY_EXISTS)
			return 1;
		if (rc != LDAP_NO_SUCH_OBJECT || created || !p->c->dir_create_container ||
		    p->c->dir_container[0] == '\0')
			return pub_fail(p, "adding the entry", rc), -1;
		if (pub_create_container(p) < 0)
			return -1;
		created = true;
	}
}

/* 0 replaced, 1 the entry changed since it was read (read again), -1 error. */
static int
pub_replace(struct pub *p, const struct pub_entry *e)
{
	struct pub_values v;
	LDAPMod *mods[7];
	LDAPControl *assert_ctrl = NULL, *ctrls[2] = {NULL, NULL};
	char filter[64];
	int rc;

	pub_values_init(&v, p->h, LDAP_MOD_REPLACE);
	mods[0] = &v.m_site;
	mods[1] = &v.m_rev;
	mods[2] = &v.m_doc;
	mods[3] = &v.m_digest;
	mods[4] = &v.m_issued;
	mods[5] = &v.m_key_id;
	mods[6] = NULL;
	/*
	 * Not critical: a directory without the assertion control (RFC 4528) still gets the
	 * write, it only loses the check for a writer between our read and this modify.
	 */
	if (e->state == PUB_ENTRY_PRESENT)
		snprintf(filter, sizeof(filter), "(napHsrRevision=%" PRIu64 ")", e->revision);
	else
		snprintf(filter, sizeof(filter), "(objectClass=*)");
	if (ldap_create_assertion_control(p->ld, filter, 0, &assert_ctrl) == LDAP_SUCCESS)
		ctrls[0] = assert_ctrl;
	rc = ldap_modify_ext_s(p->ld, p->dn, mods, ctrls[0] != NULL ? ctrls : NULL, NULL);
	if (assert_ctrl != NULL)
		ldap_control_free(assert_ctrl);
	if (rc == LDAP_SUCCESS)
		return 0;
	if (rc == LDAP_ASSERTION_FAILED || rc == LDAP_NO_SUCH_OBJECT)
		return 1;
	return pub_fail(p, "replacing the entry", rc), -1;
}

static enum napsited_publish_result
pub_one(struct pub *p, struct napsited_publish_info *info)
{
	struct pub_entry e;

	for (int tries = 0; tries < PUB_MAX_TRIES; tries++) {
		int r;

		if (pub_read(p, &e) < 0)
			return NAPSITED_PUBLISH_ERROR;
		info->dir_revision = e.state == PUB_ENTRY_PRESENT ? e.revision : 0;
		if (e.state == PUB_ENTRY_MISSING) {
			r = pub_add(p);
		} else if (e.state == PUB_ENTRY_PRESENT && e.revision > p->h->revision) {
			snprintf(p->err, p->err_len,
				 "%s: %s holds revision %" PRIu64 ", newer than "
				 "ours (%" PRIu64 "): not going back",
				 p->uri, p->dn, e.revision, p->h->revision);
			return NAPSITED_PUBLISH_CONFLICT;
		} else if (e.state == PUB_ENTRY_PRESENT && e.revision == p->h->revision &&
			   e.same_document) {
			return NAPSITED_PUBLISH_UNCHANGED;
		} else {
			if (e.state == PUB_ENTRY_MANGLED)
				log_warnx("%s: %s has no valid napHsrRevision; overwriting it",
					  p->uri, p->dn);
			r = pub_replace(p, &e);
		}
		if (r < 0)
			return NAPSITED_PUBLISH_ERROR;
		if (r == 0)
			return NAPSITED_PUBLISH_OK;
		log_info("%s: %s changed while we wrote it; reading it again", p->uri, p->dn);
	}
	snprintf(p->err, p->err_len, "%s: %s keeps changing under us (another writer?)", p->uri,
		 p->dn);
	return NAPSITED_PUBLISH_ERROR;
}

enum napsited_publish_result
napsited_publish(const struct nap_siteconf *c, const char *password, const struct napsited_hsr *h,
		 struct napsited_publish_info *info, char *err, size_t err_len)
{
	enum napsited_publish_result res = NAPSITED_PUBLISH_ERROR;
	struct pub p = {.c = c, .h = h, .err = err, .err_len = err_len};
	char first_err[512] = "";
	double t0 = pub_now();

	memset(info, 0, sizeof(*info));
	if (!c->has_directory || c->n_dir_uri == 0) {
		snprintf(err, err_len, "no [directory] configured");
		return NAPSITED_PUBLISH_ERROR;
	}
	if (nap_siteconf_hsr_dn(c, h->site, p.dn, sizeof(p.dn)) < 0) {
		snprintf(err, err_len, "the entry's DN is too long");
		return NAPSITED_PUBLISH_ERROR;
	}
	for (size_t i = 0; i < c->n_dir_uri; i++) {
		p.uri = c->dir_uri[i];
		p.ld = NULL;
		p.tls = false;
		t0 = pub_now();
		if (pub_connect(&p, password) == 0) {
			info->reached = true;
			res = pub_one(&p, info);
		}
		if (p.ld != NULL)
			ldap_unbind_ext_s(p.ld, NULL, NULL);
		p.ld = NULL;
		info->seconds = pub_now() - t0;
		if (res != NAPSITED_PUBLISH_ERROR) {
			/* A target too long for the record is cut; it is for people to read. */
			if (snprintf(info->target, sizeof(info->target), "%s %s", p.uri, p.dn) < 0)
				info->target[0] = '\0';
			return res;
		}
		/* Keep the first URI's reason: later ones are fallbacks. */
		if (first_err[0] == '\0')
			snprintf(first_err, sizeof(first_err), "%s", err);
		else
			log_debug("publish: %s", err);
		if (i + 1 < c->n_dir_uri)
			log_info("publish: %s; trying the next URI", err);
	}
	if (c->n_dir_uri > 1)
		snprintf(err, err_len, "%s (and %zu more URI(s) failed)", first_err,
			 c->n_dir_uri - 1);
	return NAPSITED_PUBLISH_ERROR;
}
