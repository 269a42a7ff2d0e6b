// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * The installed packages: a streaming parser of dpkg's status file (deb822 stanzas) and, when
 * the build has librpm, a reader of the rpm database. Handles untrusted input in the sense that
 * the status file may be damaged (a crash mid-write of a tool other than dpkg, a full disk, a
 * test's synthetic file): every malformed line is an error with its line number, never a
 * crash and never a silently shorter package list.
 *
 * The status file is read in fixed chunks (no copy of the whole file in memory: a real one is
 * several megabytes, mostly descriptions); only Package, Version, Architecture and Status are
 * kept, in one string pool with a hash index by name.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#ifdef NAP_HAVE_LIBRPM
#include <rpm/header.h>
#include <rpm/rpmdb.h>
#include <rpm/rpmlib.h>
#include <rpm/rpmmacro.h>
#include <rpm/rpmts.h>
#endif

#include "agent.h"
#include "nap/pkgver.h"

#define PKGDB_CHUNK   (128 * 1024)
#define PKGDB_NO_NEXT UINT32_MAX

__attribute__((format(printf, 3, 4))) static int
pkgdb_err(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL && len > 0) {
		va_start(ap, fmt);
		vsnprintf(err, len, fmt, ap);
		va_end(ap);
	}
	return 0;
}

static uint32_t
pkgdb_hash(const char *s)
{
	uint32_t h = 2166136261u;

	while (*s != '\0') {
		h ^= (unsigned char)*s++;
		h *= 16777619u;
	}
	return h;
}

void
agent_pkgdb_free(struct agent_pkgdb *db)
{
	if (db == NULL)
		return;
	free(db->pkgs);
	free(db->pool);
	free(db->buckets);
	memset(db, 0, sizeof(*db));
}

static int
pkgdb_pool_add(struct agent_pkgdb *db, const char *s, size_t n, uint32_t *off)
{
	if (db->pool_len + n + 1 > db->pool_cap) {
		size_t cap = db->pool_cap != 0 ? db->pool_cap : 64 * 1024;
		char *np;

		while (cap < db->pool_len + n + 1)
			cap *= 2;
		if (cap > AGENT_PKGDB_MAX_STRINGS) {
			if (db->pool_len + n + 1 > AGENT_PKGDB_MAX_STRINGS)
				return -EMSGSIZE;
			cap = AGENT_PKGDB_MAX_STRINGS;
		}
		np = realloc(db->pool, cap);
		if (np == NULL)
			return -ENOMEM;
		db->pool = np;
		db->pool_cap = cap;
	}
	memcpy(db->pool + db->pool_len, s, n);
	db->pool[db->pool_len + n] = '\0';
	*off = (uint32_t)db->pool_len;
	db->pool_len += n + 1;
	return 0;
}

/* Append a package (no index yet). */
static int
pkgdb_add(struct agent_pkgdb *db, const char *name, size_t nl, const char *ver, size_t vl,
	  const char *arch, size_t al)
{
	struct agent_pkg *p;
	int r;

	if (db->n == db->cap) {
		size_t cap = db->cap != 0 ? db->cap * 2 : 1024;
		struct agent_pkg *np;

		if (db->n >= AGENT_PKGDB_MAX_PACKAGES)
			return -EMSGSIZE;
		if (cap > AGENT_PKGDB_MAX_PACKAGES)
			cap = AGENT_PKGDB_MAX_PACKAGES;
		np = realloc(db->pkgs, cap * sizeof(*np));
		if (np == NULL)
			return -ENOMEM;
		db->pkgs = np;
		db->cap = cap;
	}
	p = &db->pkgs[db->n];
	if ((r = pkgdb_pool_add(db, name, nl, &p->name)) < 0 ||
	    (r = pkgdb_pool_add(db, ver, vl, &p->version)) < 0 ||
	    (r = pkgdb_pool_add(db, arch, al, &p->arch)) < 0)
		return r;
	p->next = PKGDB_NO_NEXT;
	db->n++;
	return 0;
}

/*
 * Build the hash index; a package name + architecture twice is an error (dpkg never writes
 * that: it is a damaged or forged file). Returns 0 or -EBADMSG with *dup the offending index.
 */
static int
pkgdb_index(struct agent_pkgdb *db, size_t *dup)
{
	size_t nb = 64;

	while (nb < db->n * 2)
		nb *= 2;
	free(db->buckets);
	db->buckets = malloc(nb * sizeof(*db->buckets));
	if (db->buckets == NULL)
		return -ENOMEM;
	db->n_buckets = nb;
	for (size_t i = 0; i < nb; i++)
		db->buckets[i] = PKGDB_NO_NEXT;
	/* Insert in reverse so each chain lists packages in file order. */
	for (size_t i = db->n; i-- > 0;) {
		struct agent_pkg *p = &db->pkgs[i];
		const char *name = db->pool + p->name;
		uint32_t *b = &db->buckets[pkgdb_hash(name) & (nb - 1)];

		for (uint32_t j = *b; j != PKGDB_NO_NEXT; j = db->pkgs[j].next) {
			if (strcmp(db->pool + db->pkgs[j].name, name) == 0 &&
			    strcmp(db->pool + db->pkgs[j].arch, db->pool + p->arch) == 0) {
				*dup = i;
				return -EBADMSG;
			}
		}
		p->next = *b;
		*b = (uint32_t)i;
	}
	return 0;
}

const struct agent_pkg *
agent_pkgdb_next(const struct agent_pkgdb *db, const struct agent_pkg *p, const char *name)
{
	for (uint32_t j = p->next; j != PKGDB_NO_NEXT; j = db->pkgs[j].next)
		if (strcmp(db->pool + db->pkgs[j].name, name) == 0)
			return &db->pkgs[j];
	return NULL;
}

const struct agent_pkg *
agent_pkgdb_find(const struct agent_pkgdb *db, const char *name)
{
	uint32_t j;

	if (db->n_buckets == 0)
		return NULL;
	for (j = db->buckets[pkgdb_hash(name) & (db->n_buckets - 1)]; j != PKGDB_NO_NEXT;
	     j = db->pkgs[j].next)
		if (strcmp(db->pool + db->pkgs[j].name, name) == 0)
			return &db->pkgs[j];
	return NULL;
}

/* ---- dpkg status ------------------------------------------------------------------------ */

enum pkgdb_field { F_PACKAGE, F_VERSION, F_ARCH, F_STATUS, F_COUNT };
static const char *const pkgdb_fields[F_COUNT] = {"Package", "Version", "Architecture",
						  "Status"};

struct pkgdb_parser {
	struct agent_pkgdb *db;
	unsigned long line;
	unsigned long stanza_line; /* first line of the current stanza */
	bool in_stanza;
	bool have[F_COUNT];
	char val[F_COUNT][AGENT_PKGDB_FIELD_MAX + 1];
	size_t vlen[F_COUNT];
	char *err;
	size_t err_len;
};

static bool
pkgdb_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* Is a Status value "installed" for our purpose? -1 malformed, 0 no, 1 yes. */
static int
pkgdb_status_installed(const char *s)
{
	char want[32], flag[32], status[32], extra[2];

	if (sscanf(s, "%31s %31s %31s %1s", want, flag, status, extra) != 3)
		return -1;
	if (strcmp(want, "install") != 0 && strcmp(want, "hold") != 0 &&
	    strcmp(want, "deinstall") != 0 && strcmp(want, "purge") != 0 &&
	    strcmp(want, "unknown") != 0)
		return -1;
	if (strcmp(flag, "ok") != 0 && strcmp(flag, "reinstreq") != 0)
		return -1;
	if (strcmp(status, "installed") != 0 && strcmp(status, "triggers-pending") != 0 &&
	    strcmp(status, "triggers-awaited") != 0 && strcmp(status, "not-installed") != 0 &&
	    strcmp(status, "config-files") != 0 && strcmp(status, "half-installed") != 0 &&
	    strcmp(status, "unpacked") != 0 && strcmp(status, "half-configured") != 0)
		return -1;
	if (strcmp(flag, "ok") != 0)
		return 0; /* reinst-required: its files cannot be trusted to be complete */
	return strcmp(status, "installed") == 0 || strcmp(status, "triggers-pending") == 0 ||
	       strcmp(status, "triggers-awaited") == 0;
}

static int
pkgdb_end_stanza(struct pkgdb_parser *ps)
{
	int inst, r;

	if (!ps->in_stanza)
		return 0;
	ps->in_stanza = false;
	ps->db->stanzas++;
	if (!ps->have[F_PACKAGE]) {
		pkgdb_err(ps->err, ps->err_len, "line %lu: stanza without a Package field",
			  ps->stanza_line);
		return -EBADMSG;
	}
	if (!ps->have[F_STATUS]) {
		pkgdb_err(ps->err, ps->err_len, "line %lu: package %s has no Status field",
			  ps->stanza_line, ps->val[F_PACKAGE]);
		return -EBADMSG;
	}
	inst = pkgdb_status_installed(ps->val[F_STATUS]);
	if (inst < 0) {
		pkgdb_err(ps->err, ps->err_len, "line %lu: package %s: malformed Status \"%s\"",
			  ps->stanza_line, ps->val[F_PACKAGE], ps->val[F_STATUS]);
		return -EBADMSG;
	}
	if (inst == 0)
		return 0;
	if (!ps->have[F_VERSION]) {
		pkgdb_err(ps->err, ps->err_len, "line %lu: installed package %s has no Version",
			  ps->stanza_line, ps->val[F_PACKAGE]);
		return -EBADMSG;
	}
	r = pkgdb_add(ps->db, ps->val[F_PACKAGE], ps->vlen[F_PACKAGE], ps->val[F_VERSION],
		      ps->vlen[F_VERSION], ps->val[F_ARCH], ps->have[F_ARCH] ? ps->vlen[F_ARCH] : 0);
	if (r == -EMSGSIZE)
		pkgdb_err(ps->err, ps->err_len, "more than %d packages or %u bytes of names",
			  AGENT_PKGDB_MAX_PACKAGES, AGENT_PKGDB_MAX_STRINGS);
	else if (r < 0)
		pkgdb_err(ps->err, ps->err_len, "%s", strerror(-r));
	return r;
}

/*
 * One line without its newline. truncated: the line went on past what the reader could hold
 * (only possible for long continuation lines and fields we do not keep).
 */
static int
pkgdb_line(struct pkgdb_parser *ps, const char *s, size_t n, bool truncated)
{
	const char *colon, *v, *end;
	size_t i, kl;

	ps->line++;
	if (memchr(s, '\0', n) != NULL) {
		pkgdb_err(ps->err, ps->err_len, "line %lu: NUL byte", ps->line);
		return -EBADMSG;
	}
	for (i = 0; i < n && (pkgdb_blank(s[i]) || s[i] == '\r'); i++)
		;
	if (i == n && !truncated)
		return pkgdb_end_stanza(ps); /* blank line: end of a stanza */
	if (pkgdb_blank(s[0])) {
		/* Continuation of a multi-line field (Description, Conffiles, ...). */
		if (!ps->in_stanza) {
			pkgdb_err(ps->err, ps->err_len,
				  "line %lu: continuation line outside a stanza", ps->line);
			return -EBADMSG;
		}
		return 0;
	}
	if (s[0] == '#')
		return 0;
	colon = memchr(s, ':', n);
	if (colon == NULL || colon == s) {
		pkgdb_err(ps->err, ps->err_len, "line %lu: not a \"Field: value\" line", ps->line);
		return -EBADMSG;
	}
	kl = (size_t)(colon - s);
	for (i = 0; i < kl; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c <= 0x20 || c >= 0x7f) {
			pkgdb_err(ps->err, ps->err_len, "line %lu: bad character in a field name",
				  ps->line);
			return -EBADMSG;
		}
	}
	if (!ps->in_stanza) {
		ps->in_stanza = true;
		ps->stanza_line = ps->line;
		memset(ps->have, 0, sizeof(ps->have));
	}
	for (int f = 0; f < F_COUNT; f++) {
		if (strlen(pkgdb_fields[f]) != kl || strncasecmp(s, pkgdb_fields[f], kl) != 0)
			continue;
		if (truncated) {
			pkgdb_err(ps->err, ps->err_len, "line %lu: %s value too long", ps->line,
				  pkgdb_fields[f]);
			return -EBADMSG;
		}
		if (ps->have[f]) {
			pkgdb_err(ps->err, ps->err_len, "line %lu: %s given twice in a stanza",
				  ps->line, pkgdb_fields[f]);
			return -EBADMSG;
		}
		v = colon + 1;
		end = s + n;
		while (v < end && pkgdb_blank(*v))
			v++;
		while (end > v && (pkgdb_blank(end[-1]) || end[-1] == '\r'))
			end--;
		if (end == v || (size_t)(end - v) > AGENT_PKGDB_FIELD_MAX) {
			pkgdb_err(ps->err, ps->err_len, "line %lu: %s value %s", ps->line,
				  pkgdb_fields[f], end == v ? "empty" : "too long");
			return -EBADMSG;
		}
		for (const char *q = v; q < end; q++) {
			if ((unsigned char)*q < 0x20 || (unsigned char)*q == 0x7f ||
			    (f != F_STATUS && pkgdb_blank(*q))) {
				pkgdb_err(ps->err, ps->err_len, "line %lu: bad character in %s",
					  ps->line, pkgdb_fields[f]);
				return -EBADMSG;
			}
		}
		memcpy(ps->val[f], v, (size_t)(end - v));
		ps->val[f][end - v] = '\0';
		ps->vlen[f] = (size_t)(end - v);
		ps->have[f] = true;
		break;
	}
	return 0;
}

static void
pkgdb_parser_init(struct pkgdb_parser *ps, struct agent_pkgdb *db, char *err, size_t len)
{
	memset(ps, 0, sizeof(*ps));
	memset(db, 0, sizeof(*db));
	ps->db = db;
	ps->err = err;
	ps->err_len = len;
	if (err != NULL && len > 0)
		err[0] = '\0';
}

static int
pkgdb_parser_finish(struct pkgdb_parser *ps)
{
	size_t dup = 0;
	int r = pkgdb_end_stanza(ps);

	if (r == 0) {
		r = pkgdb_index(ps->db, &dup);
		if (r == -EBADMSG)
			pkgdb_err(ps->err, ps->err_len, "package %s (%s) installed twice",
				  ps->db->pool + ps->db->pkgs[dup].name,
				  ps->db->pool + ps->db->pkgs[dup].arch);
	}
	if (r < 0)
		agent_pkgdb_free(ps->db);
	return r;
}

int
agent_pkgdb_parse_dpkg(const char *text, size_t n, struct agent_pkgdb *db, char *err,
		       size_t len)
{
	struct pkgdb_parser ps;
	size_t pos = 0;
	int r = 0;

	pkgdb_parser_init(&ps, db, err, len);
	while (pos < n && r == 0) {
		const char *nl = memchr(text + pos, '\n', n - pos);
		size_t ll = nl != NULL ? (size_t)(nl - (text + pos)) : n - pos;

		r = pkgdb_line(&ps, text + pos, ll, false);
		pos += ll + 1;
	}
	if (r < 0) {
		agent_pkgdb_free(db);
		return r;
	}
	return pkgdb_parser_finish(&ps);
}

int
agent_pkgdb_read_dpkg(const char *path, struct agent_pkgdb *db, char *err, size_t len)
{
	struct pkgdb_parser ps;
	char *buf;
	size_t have = 0;
	bool skipping = false; /* inside an over-long line already reported as truncated */
	int fd, r = 0;

	pkgdb_parser_init(&ps, db, err, len);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		pkgdb_err(err, len, "%s: %s", path, strerror(-r));
		return r;
	}
	(void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	buf = malloc(PKGDB_CHUNK);
	if (buf == NULL) {
		close(fd);
		return -ENOMEM;
	}
	for (;;) {
		ssize_t got = read(fd, buf + have, PKGDB_CHUNK - have);
		size_t pos = 0;

		if (got < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			pkgdb_err(err, len, "%s: %s", path, strerror(-r));
			break;
		}
		have += (size_t)got;
		if (got == 0 && have == 0)
			break;
		for (;;) {
			char *nl = memchr(buf + pos, '\n', have - pos);

			if (nl == NULL)
				break;
			if (skipping)
				skipping = false; /* the rest of the long line: dropped */
			else
				r = pkgdb_line(&ps, buf + pos, (size_t)(nl - (buf + pos)), false);
			if (r < 0)
				break;
			pos = (size_t)(nl - buf) + 1;
		}
		if (r < 0)
			break;
		if (got == 0) {
			/* The last line had no newline. */
			if (pos < have && !skipping)
				r = pkgdb_line(&ps, buf + pos, have - pos, false);
			break;
		}
		if (pos == 0 && have == PKGDB_CHUNK) {
			/* One line fills the whole buffer: see what it is, drop the rest of it. */
			if (!skipping)
				r = pkgdb_line(&ps, buf, have, true);
			if (r < 0)
				break;
			skipping = true;
			have = 0;
			continue;
		}
		memmove(buf, buf + pos, have - pos);
		have -= pos;
	}
	free(buf);
	close(fd);
	if (r < 0) {
		if (r == -EBADMSG && err != NULL && len > 0) {
			char tmp[512];

			snprintf(tmp, sizeof(tmp), "%s: %s", path, err);
			snprintf(err, len, "%s", tmp);
		}
		agent_pkgdb_free(db);
		return r;
	}
	r = pkgdb_parser_finish(&ps);
	if (r < 0 && err != NULL && len > 0) {
		char tmp[512];

		snprintf(tmp, sizeof(tmp), "%s: %s", path, err);
		snprintf(err, len, "%s", tmp);
	}
	return r;
}

/* ---- rpm -------------------------------------------------------------------------------- */

#ifdef NAP_HAVE_LIBRPM
/* librpm is loaded at run time (nap_pkgver_rpm_sym): the functions used here. */
static struct {
	bool loaded;
	__typeof__(&rpmReadConfigFiles) read_config;
	__typeof__(&rpmPushMacro) push_macro;
	__typeof__(&rpmPopMacro) pop_macro;
	__typeof__(&rpmExpand) expand;
	__typeof__(&rpmtsCreate) ts_create;
	__typeof__(&rpmtsOpenDB) ts_open;
	__typeof__(&rpmtsInitIterator) ts_iter;
	__typeof__(&rpmdbNextIterator) iter_next;
	__typeof__(&rpmdbFreeIterator) iter_free;
	__typeof__(&headerGetString) get_string;
	__typeof__(&headerGetAsString) get_as_string;
	__typeof__(&rpmtsCloseDB) ts_close;
	__typeof__(&rpmtsFree) ts_free;
} lr;

#define PKGDB_RPM_SYM(field, name) ((lr.field = (__typeof__(lr.field))nap_pkgver_rpm_sym(name)) != NULL)

static bool
pkgdb_rpm_load(void)
{
	if (lr.loaded)
		return true;
	lr.loaded = PKGDB_RPM_SYM(read_config, "rpmReadConfigFiles") &&
		    PKGDB_RPM_SYM(push_macro, "rpmPushMacro") &&
		    PKGDB_RPM_SYM(pop_macro, "rpmPopMacro") && PKGDB_RPM_SYM(expand, "rpmExpand") &&
		    PKGDB_RPM_SYM(ts_create, "rpmtsCreate") && PKGDB_RPM_SYM(ts_open, "rpmtsOpenDB") &&
		    PKGDB_RPM_SYM(ts_iter, "rpmtsInitIterator") &&
		    PKGDB_RPM_SYM(iter_next, "rpmdbNextIterator") &&
		    PKGDB_RPM_SYM(iter_free, "rpmdbFreeIterator") &&
		    PKGDB_RPM_SYM(get_string, "headerGetString") &&
		    PKGDB_RPM_SYM(get_as_string, "headerGetAsString") &&
		    PKGDB_RPM_SYM(ts_close, "rpmtsCloseDB") && PKGDB_RPM_SYM(ts_free, "rpmtsFree");
	return lr.loaded;
}

int
agent_pkgdb_read_rpm(const char *dbpath, struct agent_pkgdb *db, char *err, size_t len)
{
	static bool configured;
	rpmts ts = NULL;
	rpmdbMatchIterator mi;
	Header h;
	size_t dup = 0;
	int r = 0;

	memset(db, 0, sizeof(*db));
	if (!pkgdb_rpm_load()) {
		pkgdb_err(err, len, "librpm cannot be loaded: rpm databases unsupported here");
		return -ENOTSUP;
	}
	if (!configured) {
		if (lr.read_config(NULL, NULL) != 0) {
			pkgdb_err(err, len, "rpm: cannot read rpm's configuration");
			return -EIO;
		}
		configured = true;
	}
	if (dbpath != NULL)
		lr.push_macro(NULL, "_dbpath", NULL, dbpath, RMIL_CMDLINE);
	/* rpm opens a database that is not there as an empty one: that is no package list. */
	{
		char *dir = lr.expand("%{_dbpath}", NULL);
		struct stat st;

		if (dir == NULL || stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
			pkgdb_err(err, len, "rpm database %s: %s", dir != NULL ? dir : "?",
				  dir == NULL ? "no %_dbpath" : strerror(errno));
			free(dir);
			r = -ENOENT;
			goto out;
		}
		free(dir);
	}
	ts = lr.ts_create();
	if (ts == NULL) {
		r = -ENOMEM;
		goto out;
	}
	if (lr.ts_open(ts, O_RDONLY) != 0) {
		pkgdb_err(err, len, "rpm database %s cannot be opened",
			  dbpath != NULL ? dbpath : "(default)");
		r = -EIO;
		goto out;
	}
	mi = lr.ts_iter(ts, RPMDBI_PACKAGES, NULL, 0);
	while (mi != NULL && r == 0 && (h = lr.iter_next(mi)) != NULL) {
		const char *name = lr.get_string(h, RPMTAG_NAME);
		const char *arch = lr.get_string(h, RPMTAG_ARCH);
		char *evr = lr.get_as_string(h, RPMTAG_EVR);

		db->stanzas++;
		if (name == NULL || evr == NULL) {
			free(evr);
			continue;
		}
		/* Imported signing keys appear as packages; they are not software. */
		if (strcmp(name, "gpg-pubkey") != 0) {
			if (arch == NULL)
				arch = "";
			if (strlen(name) > AGENT_PKGDB_FIELD_MAX || strlen(evr) > AGENT_PKGDB_FIELD_MAX)
				r = -EBADMSG;
			else
				r = pkgdb_add(db, name, strlen(name), evr, strlen(evr), arch,
					      strlen(arch));
			if (r < 0)
				pkgdb_err(err, len, "rpm database: package %.64s: %s", name,
					  strerror(-r));
		}
		free(evr);
	}
	lr.iter_free(mi);
	if (r == 0) {
		r = pkgdb_index(db, &dup);
		if (r == -EBADMSG) {
			/* rpm allows the same name+arch at several versions (kernels): keep all. */
			r = 0;
			for (size_t i = 0; i < db->n_buckets; i++)
				db->buckets[i] = PKGDB_NO_NEXT;
			for (size_t i = db->n; i-- > 0;) {
				struct agent_pkg *p = &db->pkgs[i];
				uint32_t *b = &db->buckets[pkgdb_hash(db->pool + p->name) &
							   (db->n_buckets - 1)];

				p->next = *b;
				*b = (uint32_t)i;
			}
		}
	}
out:
	if (ts != NULL) {
		lr.ts_close(ts);
		lr.ts_free(ts);
	}
	if (dbpath != NULL)
		lr.pop_macro(NULL, "_dbpath");
	if (r < 0)
		agent_pkgdb_free(db);
	return r;
}
#else
int
agent_pkgdb_read_rpm(const char *dbpath, struct agent_pkgdb *db, char *err, size_t len)
{
	(void)dbpath;
	memset(db, 0, sizeof(*db));
	pkgdb_err(err, len, "this napagentd was built without librpm: rpm databases unsupported");
	return -ENOTSUP;
}
#endif

int
agent_pkgdb_read(const struct agent_conf *c, struct agent_pkgdb *db, char *err, size_t len)
{
	if (c->backend == AGENT_BACKEND_RPM)
		return agent_pkgdb_read_rpm(c->rpm_dbpath, db, err, len);
	return agent_pkgdb_read_dpkg(c->dpkg_status, db, err, len);
}
