/*  The sqlite source: zones of a PowerDNS generic SQLite3 database (tables "domains" and
 *  "records"), any number of zones in one file, opened read-only and never written.
 *
 *  Every "poll" interval (default 1 s) the source asks its long-lived connection for
 *  "PRAGMA data_version", which moves only when another connection committed. Only then are
 *  the zone's rows read and hashed (no parsing), and when the hash differs from the one of
 *  the version last loaded, the zone manager is told: it loads the zone again, diffs it
 *  against the served version, re-signs what changed, journals, publishes and notifies.
 *
 *  Nothing in the database takes a served zone down: a row that does not convert is skipped
 *  with a warning naming its id; a busy or locked database is tried again at the next poll;
 *  a database that disappears or stops being readable leaves the last good version served,
 *  with an error in the log, until the file is back.
 */
#include <errno.h>
#include <event2/event.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "adapters/sources.h"
#include "adapters/sqlite/row.h"
#include "dns/duration.h"
#include "dns/err.h"
#include "dns/log.h"
#include "dns/name.h"

/* How long a statement waits for another connection's lock before giving up (the rest of
 * the waiting is done by polling again, without blocking the zone manager's thread). */
#define BUSY_MS 100

/* Room for a message naming the database, the zone and SQLite's reason. */
#define ERR_LEN (2 * PATH_MAX + DNAME_STR_MAX)

/* The fingerprint of "the zone is not in the domains table". */
#define FP_NOTFOUND 0x6e6f7420666f756eull

static const char Q_DOMAIN[] = "SELECT id FROM domains WHERE name = ?1 OR name = ?2 "
			       "ORDER BY name = ?1 DESC LIMIT 1";
static const char Q_RECORDS[] = "SELECT id, name, type, content, ttl, prio, disabled "
				"FROM records WHERE domain_id = ?1";
enum { C_ID, C_NAME, C_TYPE, C_CONTENT, C_TTL, C_PRIO, C_DISABLED, NCOLS };

struct sqlite_source {
	zone_source_t base;
	char path[PATH_MAX];           /* the database, as opened */
	char shown[PATH_MAX];          /* as the Corefile writes it, for messages */
	char row_where[PATH_MAX + 16]; /* "<shown>:records id=" */
	size_t row_where_len;
	char where[256];
	char zname[2][DNAME_STR_MAX]; /* domains.name: "example.org" and "example.org." */
	uint64_t poll_ms;
	sqlite3 *db; /* read-only; NULL until opened, or after a failure */
	dev_t dev;   /* the file the connection has open */
	ino_t ino;
	struct stat failed; /* the file when opening or reading it last failed */
	bool missing;       /* the file was not there at the last look */
	bool retry;         /* the last load met a locked database */
	int64_t dv;         /* data_version when the zone was last read */
	uint64_t fp;        /* the fingerprint of the rows then */
	struct event *timer;
	source_changed_fn changed;
	void *ud;
};

/* ---- fingerprints ---- */

static uint64_t fnv(uint64_t h, const void *data, size_t len)
{
	const unsigned char *p = data;
	for (size_t i = 0; i < len; i++) {
		h = (h ^ p[i]) * 0x100000001b3ull;
	}
	return h;
}

static uint64_t mix(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

/* The hash of one row's columns, types included (NULL is not "", 1 is not '1'). Reads
 * numbers as numbers, so that the columns keep their types for add_row. */
static uint64_t row_hash(sqlite3_stmt *st)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (int i = 0; i < NCOLS; i++) {
		unsigned char t = (unsigned char)sqlite3_column_type(st, i);
		h = fnv(h, &t, 1);
		if (t == SQLITE_INTEGER) {
			int64_t v = sqlite3_column_int64(st, i);
			h = fnv(h, &v, sizeof(v));
		} else if (t == SQLITE_FLOAT) {
			double v = sqlite3_column_double(st, i);
			h = fnv(h, &v, sizeof(v));
		} else if (t != SQLITE_NULL) {
			const unsigned char *v = sqlite3_column_text(st, i);
			h = fnv(h, v, (size_t)sqlite3_column_bytes(st, i));
		}
		h = fnv(h, "|", 1);
	}
	return mix(h);
}

/* ---- the connection ---- */

static void db_close(struct sqlite_source *s)
{
	if (s->db != NULL) {
		sqlite3_close_v2(s->db);
		s->db = NULL;
	}
}

/* Close after an error that waiting will not cure; the file is opened again when it
 * changes (replaced, rewritten, permissions changed). */
static void db_fail(struct sqlite_source *s)
{
	db_close(s);
	if (stat(s->path, &s->failed) != 0) {
		memset(&s->failed, 0, sizeof(s->failed));
	}
}

static bool same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	       a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

/* An SQLite failure as an error code and a message. */
static int db_error(struct sqlite_source *s, int rc, const char *what, char *err, size_t errlen)
{
	rc &= 0xff;
	if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) {
		snprintf(err, errlen, "sqlite: database %s is locked by another process", s->shown);
		return -EBUSY;
	}
	if (rc == SQLITE_NOMEM) {
		snprintf(err, errlen, "sqlite: out of memory");
		return -ENOMEM;
	}
	snprintf(err, errlen, "sqlite: %s: %s: %s", s->shown, what,
		 s->db != NULL ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
	return -EIO;
}

static int db_open(struct sqlite_source *s, char *err, size_t errlen)
{
	struct stat sb;
	if (s->db != NULL) {
		return E_OK;
	}
	if (stat(s->path, &sb) != 0) {
		int ret = -errno;
		snprintf(err, errlen, "sqlite: cannot open database %s: %s", s->shown,
			 strerror(errno));
		s->missing = true;
		return ret;
	}
	s->missing = false;
	int rc = sqlite3_open_v2(s->path, &s->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		int ret = db_error(s, rc, "cannot open database", err, errlen);
		db_close(s);
		s->failed = sb;
		return ret;
	}
	sqlite3_busy_timeout(s->db, BUSY_MS);
	s->dev = sb.st_dev;
	s->ino = sb.st_ino;
	return E_OK;
}

static int data_version(struct sqlite_source *s, int64_t *dv, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	int ret = E_OK;
	int rc = sqlite3_prepare_v2(s->db, "PRAGMA data_version", -1, &st, NULL);
	if (rc == SQLITE_OK) {
		rc = sqlite3_step(st);
	}
	if (rc == SQLITE_ROW) {
		*dv = sqlite3_column_int64(st, 0);
	} else {
		ret = db_error(s, rc, "PRAGMA data_version", err, errlen);
	}
	sqlite3_finalize(st);
	return ret;
}

/* ---- reading ---- */

static const char *col_text(sqlite3_stmt *st, int i)
{
	return (const char *)sqlite3_column_text(st, i);
}

/* The decimal text of \a v written backwards from \a end (which receives the NUL; 21 bytes
 * before it suffice); returns where it starts. */
static char *i64_text(char *end, int64_t v)
{
	uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
	*end = '\0';
	do {
		*--end = (char)('0' + u % 10);
		u /= 10;
	} while (u != 0);
	if (v < 0) {
		*--end = '-';
	}
	return end;
}

/* A column as text; integers are written into \a buf (24 bytes) rather than converted by
 * SQLite, which would allocate. */
static const char *col_num(sqlite3_stmt *st, int i, char *buf)
{
	if (sqlite3_column_type(st, i) != SQLITE_INTEGER) {
		return col_text(st, i);
	}
	return i64_text(buf + 23, sqlite3_column_int64(st, i));
}

/* One row into the builder; a row that does not convert is reported and skipped. */
static int add_row(struct sqlite_source *s, zone_builder_t *b, dns_rr_t *rr, sqlite3_stmt *st)
{
	char where[PATH_MAX + 48];
	char err[256] = "";
	char ttl[24], prio[24], disabled[24];
	sqlite_row_t row = {
		.id = sqlite3_column_int64(st, C_ID),
		.name = col_text(st, C_NAME),
		.type = col_text(st, C_TYPE),
		.content = col_text(st, C_CONTENT),
		.ttl = col_num(st, C_TTL, ttl),
		.prio = col_num(st, C_PRIO, prio),
	};
	if (sqlite_row_disabled(col_num(st, C_DISABLED, disabled))) {
		return E_OK;
	}
	int ret = sqlite_row_to_rr(&row, rr, err, sizeof(err));
	if (ret == SQLITE_ROW_NONE) {
		return E_OK;
	}
	if (ret == -ENOMEM) {
		return ret;
	}
	/* "<shown>:records id=<id>", without printf: this runs for every row */
	char digits[24];
	const char *d = i64_text(digits + 23, row.id);
	memcpy(where, s->row_where, s->row_where_len);
	memcpy(where + s->row_where_len, d, (size_t)(digits + 24 - d));
	if (ret != E_OK) {
		zone_builder_report(b, LOG_WARN, where, "row skipped: %s", err);
		return E_OK;
	}
	ret = zone_builder_add(b, rr->owner, rr->type, rr->ttl, rr->rdata, rr->rdlen, where);
	return ret == -ENOMEM || ret == E_ZONE_TOOBIG ? ret : E_OK;
}

/*
 * Read the zone's rows in one read transaction: their fingerprint into *fp and, when \a b
 * is not NULL, their records into \a b. E_ZONE_NOTFOUND (with *fp set) when the zone is not
 * in "domains"; -EBUSY when the database is locked.
 */
static int zone_read(struct sqlite_source *s, zone_builder_t *b, dns_rr_t *rr, uint64_t *fp,
		     char *err, size_t errlen)
{
	sqlite3_stmt *dom = NULL, *rec = NULL;
	bool in_txn = false;
	uint64_t sum = 0;
	int ret = E_OK;
	int rc = sqlite3_exec(s->db, "BEGIN", NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		ret = db_error(s, rc, "BEGIN", err, errlen);
		goto out;
	}
	in_txn = true;
	rc = sqlite3_prepare_v2(s->db, Q_DOMAIN, -1, &dom, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_text(dom, 1, s->zname[0], -1, SQLITE_STATIC);
		sqlite3_bind_text(dom, 2, s->zname[1], -1, SQLITE_STATIC);
		rc = sqlite3_step(dom);
	}
	if (rc == SQLITE_DONE) {
		snprintf(err, errlen, "sqlite: zone %s is not in the domains table of %s",
			 s->zname[1], s->shown);
		*fp = FP_NOTFOUND;
		ret = E_ZONE_NOTFOUND;
		goto out;
	}
	if (rc != SQLITE_ROW) {
		ret = db_error(s, rc, "reading domains", err, errlen);
		goto out;
	}
	int64_t id = sqlite3_column_int64(dom, 0);
	sum = mix((uint64_t)id ^ 0x646f6d61696e0000ull);
	rc = sqlite3_prepare_v2(s->db, Q_RECORDS, -1, &rec, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_int64(rec, 1, id);
		while ((rc = sqlite3_step(rec)) == SQLITE_ROW) {
			sum += row_hash(rec);
			if (b != NULL) {
				ret = add_row(s, b, rr, rec);
				if (ret != E_OK) {
					snprintf(err, errlen, "sqlite: %s", err_str(ret));
					goto out;
				}
			}
		}
	}
	if (rc != SQLITE_DONE) {
		ret = db_error(s, rc, "reading records", err, errlen);
		goto out;
	}
	*fp = sum;
out:
	sqlite3_finalize(rec);
	sqlite3_finalize(dom);
	if (in_txn && sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	}
	return ret;
}

/* ---- the source ---- */

static int sqlite_open(zone_source_t **out, const source_conf_t *conf, char *err, size_t errlen)
{
	struct sqlite_source *s;
	if (conf->argc < 1) {
		snprintf(err, errlen, "sqlite: needs the database's path");
		return E_CFG_SEMANTIC;
	}
	s = calloc(1, sizeof(*s));
	if (s == NULL) {
		return -ENOMEM;
	}
	s->base.ops = &source_sqlite;
	s->poll_ms = 1000;
	s->dv = -1;
	snprintf(s->where, sizeof(s->where), "%s", conf->where);
	for (int i = 0; i < conf->nopts; i++) {
		const source_option_t *o = &conf->opts[i];
		bool poll = strcmp(o->name, "poll") == 0;
		if (poll && o->argc == 1 && duration_parse(o->args[0], &s->poll_ms) == E_OK) {
			continue;
		}
		snprintf(err, errlen, "%s: sqlite: %s '%s'", o->where,
			 poll ? "poll needs one duration, not" : "unknown property",
			 poll && o->argc > 0 ? o->args[0] : o->name);
		free(s);
		return E_CFG_SEMANTIC;
	}
	const char *p = conf->args[0];
	int n = p[0] == '/' ? snprintf(s->path, sizeof(s->path), "%s", p)
			    : snprintf(s->path, sizeof(s->path), "%s/%s", conf->dir, p);
	if (n < 0 || (size_t)n >= sizeof(s->path)) {
		snprintf(err, errlen, "sqlite: path too long");
		free(s);
		return E_CFG_SEMANTIC;
	}
	snprintf(s->shown, sizeof(s->shown), "%s", p);
	s->row_where_len =
		(size_t)snprintf(s->row_where, sizeof(s->row_where), "%s:records id=", s->shown);
	/* PowerDNS writes zone names without the final dot; accept them with it too. */
	size_t len = strlen(conf->apex_str);
	snprintf(s->zname[1], sizeof(s->zname[1]), "%s", conf->apex_str);
	snprintf(s->zname[0], sizeof(s->zname[0]), "%.*s",
		 (int)(len > 1 && conf->apex_str[len - 1] == '.' ? len - 1 : len), conf->apex_str);
	if (strcmp(conf->apex_str, ".") == 0) {
		s->zname[0][0] = '\0';
	}
	*out = &s->base;
	return E_OK;
}

static int sqlite_load(zone_source_t *zs, zone_builder_t *b)
{
	struct sqlite_source *s = (struct sqlite_source *)zs;
	char err[ERR_LEN] = "";
	uint64_t fp = 0;
	int64_t dv = 0;
	dns_rr_t *rr = malloc(sizeof(*rr));
	int ret = rr != NULL ? E_OK : -ENOMEM;

	s->retry = false;
	if (ret == E_OK) {
		ret = db_open(s, err, sizeof(err));
	}
	/* The version first: a commit after it moves it again, so nothing is missed. */
	if (ret == E_OK) {
		ret = data_version(s, &dv, err, sizeof(err));
	}
	if (ret == E_OK) {
		ret = zone_read(s, b, rr, &fp, err, sizeof(err));
	}
	if (ret == E_OK || ret == E_ZONE_NOTFOUND) {
		s->dv = dv;
		s->fp = fp;
	} else if (ret == -EBUSY) {
		s->retry = true;
		snprintf(err + strlen(err), sizeof(err) - strlen(err), "; trying again in %.1f s",
			 (double)s->poll_ms / 1000.0);
	} else if (s->db != NULL) {
		db_fail(s);
	}
	if (ret != E_OK && err[0] != '\0') {
		zone_builder_report(b, LOG_ERR, s->where, "%s", err);
	}
	free(rr);
	return ret;
}

static void sqlite_tick(evutil_socket_t fd, short what, void *arg)
{
	struct sqlite_source *s = arg;
	char err[ERR_LEN] = "";
	struct stat sb;
	int64_t dv = 0;
	uint64_t fp = 0;
	(void)fd;
	(void)what;

	if (stat(s->path, &sb) != 0) {
		/* Gone: said once, by a load that fails and leaves the served version. */
		if (!s->missing) {
			s->missing = true;
			db_close(s);
			s->changed(s->ud);
		}
		return;
	}
	if (s->db == NULL) {
		/* Back, or changed since it could not be read. */
		if (s->missing || !same_file(&sb, &s->failed)) {
			s->changed(s->ud);
		}
		return;
	}
	if (sb.st_dev != s->dev || sb.st_ino != s->ino) {
		/* Replaced by another file: read the new one. */
		db_close(s);
		s->changed(s->ud);
		return;
	}
	int ret = data_version(s, &dv, err, sizeof(err));
	if (ret == -EBUSY) {
		return; /* locked: look again at the next poll */
	}
	if (ret == E_OK && dv == s->dv && !s->retry) {
		return;
	}
	if (ret == E_OK) {
		ret = zone_read(s, NULL, NULL, &fp, err, sizeof(err));
	}
	if (ret == -EBUSY) {
		return;
	}
	if (ret == E_OK || ret == E_ZONE_NOTFOUND) {
		s->dv = dv;
		if (!s->retry && fp == s->fp) {
			return; /* another zone's rows changed */
		}
	}
	/* Changed, or an error that the load reports. */
	s->changed(s->ud);
}

static int sqlite_watch(zone_source_t *zs, struct event_base *base, source_changed_fn changed,
			void *ud)
{
	struct sqlite_source *s = (struct sqlite_source *)zs;
	/* PRAGMA data_version is one page read: look four times per poll interval, so that a
	 * change shows well within "poll", not up to a whole interval plus the load. */
	uint64_t every = s->poll_ms / 4 > 10 ? s->poll_ms / 4 : 10;
	struct timeval tv = { (time_t)(every / 1000), (suseconds_t)(every % 1000) * 1000 };
	if (s->poll_ms == 0) {
		return E_OK;
	}
	s->changed = changed;
	s->ud = ud;
	s->timer = event_new(base, -1, EV_PERSIST, sqlite_tick, s);
	if (s->timer == NULL || event_add(s->timer, &tv) != 0) {
		return -ENOMEM;
	}
	return E_OK;
}

static void sqlite_close(zone_source_t *zs)
{
	struct sqlite_source *s = (struct sqlite_source *)zs;
	if (s->timer != NULL) {
		event_free(s->timer);
	}
	db_close(s);
	free(s);
}

const zone_source_ops_t source_sqlite = {
	.name = "sqlite",
	.open = sqlite_open,
	.load = sqlite_load,
	.watch = sqlite_watch,
	.close = sqlite_close,
};
