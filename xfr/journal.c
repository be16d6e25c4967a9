/*  Signet: the journal of zone changes (see journal.h). */
#include "xfr/journal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sqlite3.h>

#include "dns/err.h"
#include "dns/log.h"
#include "dns/name.h"
#include "dns/pkt.h"
#include "dns/rrtype.h"

#define SCHEMA_VERSION  1
#define BUSY_TIMEOUT_MS 10000
#define RR_FIXED_LEN    10
#define ROW_OVERHEAD    64 /* octets counted per step besides its RRs */

struct xfr_journal {
	sqlite3 *db;
	enum xfr_journal_mode mode;
	xfr_journal_limits_t lim;
};

static const char schema[] = "CREATE TABLE IF NOT EXISTS steps ("
			     " zone BLOB NOT NULL,"   /* apex, lower-case wire form */
			     " seq INTEGER NOT NULL," /* order of the steps of one zone */
			     " serial_from INTEGER NOT NULL, serial_to INTEGER NOT NULL,"
			     " soa_from BLOB NOT NULL, soa_ttl_from INTEGER NOT NULL,"
			     " soa_to BLOB NOT NULL, soa_ttl_to INTEGER NOT NULL,"
			     " nremoved INTEGER NOT NULL, removed BLOB NOT NULL,"
			     " nadded INTEGER NOT NULL, added BLOB NOT NULL,"
			     " bytes INTEGER NOT NULL,"
			     " UNIQUE (zone, seq));"
			     "CREATE INDEX IF NOT EXISTS steps_from ON steps (zone, serial_from);"
			     /* The newest version of each zone: its SOA, and every other RR. */
			     "CREATE TABLE IF NOT EXISTS heads ("
			     " zone BLOB PRIMARY KEY, serial INTEGER NOT NULL,"
			     " soa BLOB NOT NULL, soa_ttl INTEGER NOT NULL) WITHOUT ROWID;"
			     "CREATE TABLE IF NOT EXISTS contents ("
			     " zone BLOB NOT NULL, rr BLOB NOT NULL,"
			     " PRIMARY KEY (zone, rr)) WITHOUT ROWID;";

static int db_fail(xfr_journal_t *j, const char *what)
{
	log_err("journal", "%s: %s", what, sqlite3_errmsg(j->db));
	return -EIO;
}

static int exec(xfr_journal_t *j, const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(j->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		log_err("journal", "%s: %s", sql, msg != NULL ? msg : "error");
		sqlite3_free(msg);
		return -EIO;
	}
	return E_OK;
}

static int prepare(xfr_journal_t *j, sqlite3_stmt **st, const char *sql)
{
	if (sqlite3_prepare_v2(j->db, sql, -1, st, NULL) != SQLITE_OK) {
		*st = NULL;
		return db_fail(j, "prepare");
	}
	return E_OK;
}

/* Bind a blob that may be empty (a NULL pointer would bind SQL NULL). */
static int bind_blob(sqlite3_stmt *st, int i, const void *p, size_t len)
{
	return sqlite3_bind_blob64(st, i, len > 0 ? p : (const void *)"", len, SQLITE_STATIC);
}

static void apex_lower(uint8_t *out, size_t *len, const uint8_t *apex)
{
	*len = dname_copy_lower(out, apex);
}

int xfr_journal_open(xfr_journal_t **out, const char *dir, enum xfr_journal_mode mode,
		     const xfr_journal_limits_t *limits)
{
	xfr_journal_t *j = NULL;
	char path[4096];
	int ret;

	*out = NULL;
	if (mkdir(dir, 0750) != 0 && errno != EEXIST) {
		ret = -errno;
		log_err("journal", "cannot create %s: %s", dir, strerror(errno));
		return ret;
	}
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, XFR_JOURNAL_FILE) >= sizeof(path)) {
		return -ENAMETOOLONG;
	}
	j = calloc(1, sizeof(*j));
	if (j == NULL) {
		return -ENOMEM;
	}
	j->mode = mode;
	j->lim = limits != NULL ? *limits : XFR_JOURNAL_LIMITS_DEFAULT;
	if (sqlite3_open_v2(path, &j->db,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
			    NULL) != SQLITE_OK) {
		ret = j->db != NULL ? db_fail(j, path) : -ENOMEM;
		goto out;
	}
	sqlite3_busy_timeout(j->db, BUSY_TIMEOUT_MS);
	ret = exec(j, "PRAGMA journal_mode=WAL");
	if (ret == E_OK) {
		ret = exec(j, j->lim.sync_normal ? "PRAGMA synchronous=NORMAL"
						 : "PRAGMA synchronous=FULL");
	}
	if (ret == E_OK) {
		ret = exec(j, schema);
	}
	if (ret == E_OK && mode == XFR_JOURNAL_WRITE) {
		ret = exec(j, "PRAGMA user_version=1; PRAGMA journal_size_limit=67108864");
	}
	if (ret == E_OK && mode == XFR_JOURNAL_READ) {
		ret = exec(j, "PRAGMA query_only=1");
	}
	if (ret == E_OK) {
		sqlite3_stmt *st = NULL;

		ret = prepare(j, &st, "PRAGMA user_version");
		if (ret == E_OK && sqlite3_step(st) == SQLITE_ROW &&
		    sqlite3_column_int(st, 0) > SCHEMA_VERSION) {
			log_err("journal", "%s: written by a newer version (schema %d)", path,
				sqlite3_column_int(st, 0));
			ret = -EIO;
		}
		sqlite3_finalize(st);
	}
out:
	if (ret != E_OK) {
		xfr_journal_close(j);
		return ret;
	}
	*out = j;
	return E_OK;
}

void xfr_journal_set_limits(xfr_journal_t *j, const xfr_journal_limits_t *limits)
{
	bool sync = j->lim.sync_normal;
	j->lim = *limits;
	j->lim.sync_normal = sync; /* fixed when the connection was opened */
}

void xfr_journal_close(xfr_journal_t *j)
{
	if (j == NULL) {
		return;
	}
	sqlite3_close_v2(j->db);
	free(j);
}

/* Walk packed RRs: exactly \a n of them must fill \a len octets. */
static int rrs_check(const uint8_t *p, size_t len, uint32_t n)
{
	size_t pos = 0;

	for (uint32_t i = 0; i < n; i++) {
		int olen = dname_check(p + pos, len - pos);

		if (olen < 0 || len - pos - (size_t)olen < RR_FIXED_LEN) {
			return E_MALFORMED;
		}
		pos += (size_t)olen;
		if (len - pos - RR_FIXED_LEN < dns_u16(p + pos + 8)) {
			return E_MALFORMED;
		}
		pos += RR_FIXED_LEN + (size_t)dns_u16(p + pos + 8);
	}
	return pos == len ? E_OK : E_MALFORMED;
}

static int zone_int(xfr_journal_t *j, const char *sql, const uint8_t *apex, int64_t *v);
static int contents_apply(xfr_journal_t *j, const uint8_t *zone, size_t zlen,
			  const zone_changeset_t *cs);

static int rollback(xfr_journal_t *j, int ret)
{
	sqlite3_exec(j->db, "ROLLBACK", NULL, NULL, NULL);
	return ret;
}

/* Drop the oldest steps of a zone beyond the bounds; the newest one always stays. */
static int enforce_limits(xfr_journal_t *j, const uint8_t *zone, size_t zlen)
{
	sqlite3_stmt *st = NULL;
	uint64_t total = 0;
	uint32_t count = 0;
	int64_t cut = -1;
	int ret, rc;

	if (j->lim.max_bytes == 0 && j->lim.max_versions == 0) {
		return E_OK;
	}
	ret = prepare(j, &st, "SELECT seq, bytes FROM steps WHERE zone = ? ORDER BY seq DESC");
	if (ret != E_OK) {
		return ret;
	}
	bind_blob(st, 1, zone, zlen);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		count++;
		total += (uint64_t)sqlite3_column_int64(st, 1);
		if (count > 1 && ((j->lim.max_versions != 0 && count > j->lim.max_versions) ||
				  (j->lim.max_bytes != 0 && total > j->lim.max_bytes))) {
			cut = sqlite3_column_int64(st, 0);
			break;
		}
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		ret = db_fail(j, "journal bounds");
	}
	sqlite3_finalize(st);
	if (ret != E_OK || cut < 0) {
		return ret;
	}
	ret = prepare(j, &st, "DELETE FROM steps WHERE zone = ? AND seq <= ?");
	if (ret != E_OK) {
		return ret;
	}
	bind_blob(st, 1, zone, zlen);
	sqlite3_bind_int64(st, 2, cut);
	if (sqlite3_step(st) != SQLITE_DONE) {
		ret = db_fail(j, "journal bounds");
	}
	sqlite3_finalize(st);
	return ret;
}

int xfr_journal_store(xfr_journal_t *j, const uint8_t *apex, const zone_changeset_t *cs)
{
	uint8_t zone[DNAME_MAX];
	sqlite3_stmt *st = NULL;
	int64_t seq = 0;
	size_t zlen;
	int ret, rc;

	if (j->mode != XFR_JOURNAL_WRITE || xfr_serial_cmp(cs->serial_from, cs->serial_to) != -1 ||
	    rrs_check(cs->removed, cs->removed_len, cs->nremoved) != E_OK ||
	    rrs_check(cs->added, cs->added_len, cs->nadded) != E_OK) {
		return -EINVAL;
	}
	apex_lower(zone, &zlen, apex);
	ret = exec(j, "BEGIN IMMEDIATE");
	if (ret != E_OK) {
		return ret;
	}
	ret = prepare(j, &st,
		      "SELECT seq, serial_to FROM steps WHERE zone = ? "
		      "ORDER BY seq DESC LIMIT 1");
	if (ret != E_OK) {
		return rollback(j, ret);
	}
	bind_blob(st, 1, zone, zlen);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		seq = sqlite3_column_int64(st, 0) + 1;
		if ((uint32_t)sqlite3_column_int64(st, 1) != cs->serial_from) {
			char name[DNAME_STR_MAX];

			dname_to_str(name, sizeof(name), zone);
			log_info("journal",
				 "%s: serial %u does not follow the journal's %u, "
				 "history restarted",
				 name, cs->serial_from, (uint32_t)sqlite3_column_int64(st, 1));
			seq = -1;
		}
	} else if (rc != SQLITE_DONE) {
		ret = db_fail(j, "journal store");
	}
	sqlite3_finalize(st);
	if (ret == E_OK && seq < 0) {
		ret = xfr_journal_drop(j, zone);
		seq = 0;
	}
	if (ret == E_OK) {
		ret = prepare(j, &st,
			      "INSERT INTO steps (zone, seq, serial_from, serial_to, soa_from, "
			      "soa_ttl_from, soa_to, soa_ttl_to, nremoved, removed, nadded, added, "
			      "bytes) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
	}
	if (ret != E_OK) {
		return rollback(j, ret);
	}
	bind_blob(st, 1, zone, zlen);
	sqlite3_bind_int64(st, 2, seq);
	sqlite3_bind_int64(st, 3, cs->serial_from);
	sqlite3_bind_int64(st, 4, cs->serial_to);
	bind_blob(st, 5, cs->soa_from, cs->soa_from_len);
	sqlite3_bind_int64(st, 6, cs->soa_ttl_from);
	bind_blob(st, 7, cs->soa_to, cs->soa_to_len);
	sqlite3_bind_int64(st, 8, cs->soa_ttl_to);
	sqlite3_bind_int64(st, 9, cs->nremoved);
	bind_blob(st, 10, cs->removed, cs->removed_len);
	sqlite3_bind_int64(st, 11, cs->nadded);
	bind_blob(st, 12, cs->added, cs->added_len);
	sqlite3_bind_int64(st, 13,
			   (int64_t)(cs->removed_len + cs->added_len + cs->soa_from_len +
				     cs->soa_to_len + ROW_OVERHEAD));
	if (sqlite3_step(st) != SQLITE_DONE) {
		ret = db_fail(j, "journal store");
	}
	sqlite3_finalize(st);
	if (ret == E_OK) {
		ret = contents_apply(j, zone, zlen, cs);
	}
	if (ret == E_OK) {
		ret = enforce_limits(j, zone, zlen);
	}
	if (ret == E_OK) {
		ret = exec(j, "COMMIT");
	}
	return ret == E_OK ? E_OK : rollback(j, ret);
}

/* ---- the newest version's contents ---- */

/* Length of the packed RR at \a p (checked by rrs_check before). */
static size_t rr_len(const uint8_t *p)
{
	size_t olen = dname_len(p);
	return olen + RR_FIXED_LEN + dns_u16(p + olen + 8);
}

/* Run \a sql (zone, rr) once per packed RR. */
static int contents_each(xfr_journal_t *j, const char *sql, const uint8_t *zone, size_t zlen,
			 const uint8_t *rrs, size_t len)
{
	sqlite3_stmt *st = NULL;
	int ret = prepare(j, &st, sql);
	for (size_t pos = 0; ret == E_OK && pos < len;) {
		size_t n = rr_len(rrs + pos);
		sqlite3_reset(st);
		bind_blob(st, 1, zone, zlen);
		bind_blob(st, 2, rrs + pos, n);
		if (sqlite3_step(st) != SQLITE_DONE) {
			ret = db_fail(j, "journal contents");
		}
		pos += n;
	}
	sqlite3_finalize(st);
	return ret;
}

static int head_set(xfr_journal_t *j, const uint8_t *zone, size_t zlen, uint32_t serial,
		    const uint8_t *soa, size_t soa_len, uint32_t soa_ttl)
{
	sqlite3_stmt *st = NULL;
	int ret = prepare(j, &st,
			  "INSERT OR REPLACE INTO heads (zone, serial, soa, soa_ttl) "
			  "VALUES (?, ?, ?, ?)");
	if (ret != E_OK) {
		return ret;
	}
	bind_blob(st, 1, zone, zlen);
	sqlite3_bind_int64(st, 2, serial);
	bind_blob(st, 3, soa, soa_len);
	sqlite3_bind_int64(st, 4, soa_ttl);
	if (sqlite3_step(st) != SQLITE_DONE) {
		ret = db_fail(j, "journal head");
	}
	sqlite3_finalize(st);
	return ret;
}

/* Run \a sql bound to the zone once. */
static int zone_stmt(xfr_journal_t *j, const char *sql, const uint8_t *zone, size_t zlen)
{
	sqlite3_stmt *st = NULL;
	int ret = prepare(j, &st, sql);
	if (ret == E_OK) {
		bind_blob(st, 1, zone, zlen);
		if (sqlite3_step(st) != SQLITE_DONE) {
			ret = db_fail(j, sql);
		}
	}
	sqlite3_finalize(st);
	return ret;
}

static int contents_forget(xfr_journal_t *j, const uint8_t *zone, size_t zlen)
{
	int ret = zone_stmt(j, "DELETE FROM contents WHERE zone = ?", zone, zlen);
	if (ret == E_OK) {
		ret = zone_stmt(j, "DELETE FROM heads WHERE zone = ?", zone, zlen);
	}
	return ret;
}

/* Move the stored contents one step, when they are the step's starting version. */
static int contents_apply(xfr_journal_t *j, const uint8_t *zone, size_t zlen,
			  const zone_changeset_t *cs)
{
	int64_t serial = -1;
	int ret = zone_int(j, "SELECT serial FROM heads WHERE zone = ?", zone, &serial);
	if (ret == -ENOENT || (ret == E_OK && (uint32_t)serial != cs->serial_from)) {
		/* No contents for the step to start from: only a snapshot can set them. */
		return contents_forget(j, zone, zlen);
	}
	if (ret == E_OK) {
		ret = contents_each(j, "DELETE FROM contents WHERE zone = ? AND rr = ?", zone, zlen,
				    cs->removed, cs->removed_len);
	}
	if (ret == E_OK) {
		ret = contents_each(j, "INSERT OR REPLACE INTO contents (zone, rr) VALUES (?, ?)",
				    zone, zlen, cs->added, cs->added_len);
	}
	if (ret == E_OK) {
		ret = head_set(j, zone, zlen, cs->serial_to, cs->soa_to, cs->soa_to_len,
			       cs->soa_ttl_to);
	}
	return ret;
}

/* One integer of the zone's steps from \a sql; -ENOENT when there is no row. */
static int zone_int(xfr_journal_t *j, const char *sql, const uint8_t *apex, int64_t *v)
{
	uint8_t zone[DNAME_MAX];
	sqlite3_stmt *st = NULL;
	size_t zlen;
	int ret, rc;

	apex_lower(zone, &zlen, apex);
	ret = prepare(j, &st, sql);
	if (ret != E_OK) {
		return ret;
	}
	bind_blob(st, 1, zone, zlen);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL) {
		*v = sqlite3_column_int64(st, 0);
	} else if (rc == SQLITE_ROW || rc == SQLITE_DONE) {
		ret = -ENOENT;
	} else {
		ret = db_fail(j, "journal read");
	}
	sqlite3_finalize(st);
	return ret;
}

int xfr_journal_last_serial(xfr_journal_t *j, const uint8_t *apex, uint32_t *serial)
{
	int64_t v = 0;
	int ret =
		zone_int(j, "SELECT serial_to FROM steps WHERE zone = ? ORDER BY seq DESC LIMIT 1",
			 apex, &v);

	if (ret == E_OK) {
		*serial = (uint32_t)v;
	}
	return ret;
}

int xfr_journal_first_serial(xfr_journal_t *j, const uint8_t *apex, uint32_t *serial)
{
	int64_t v = 0;
	int ret = zone_int(j, "SELECT serial_from FROM steps WHERE zone = ? ORDER BY seq LIMIT 1",
			   apex, &v);

	if (ret == E_OK) {
		*serial = (uint32_t)v;
	}
	return ret;
}

int xfr_journal_usage(xfr_journal_t *j, const uint8_t *apex, uint32_t *versions, uint64_t *bytes)
{
	int64_t n = 0, b = 0;
	int ret = zone_int(j, "SELECT count(*) FROM steps WHERE zone = ?", apex, &n);

	if (ret == E_OK) {
		ret = zone_int(j, "SELECT sum(bytes) FROM steps WHERE zone = ?", apex, &b);
		if (ret == -ENOENT) {
			b = 0;
			ret = E_OK;
		}
	}
	if (ret == E_OK) {
		*versions = (uint32_t)n;
		*bytes = (uint64_t)b;
	}
	return ret;
}

int xfr_journal_drop(xfr_journal_t *j, const uint8_t *apex)
{
	uint8_t zone[DNAME_MAX];
	sqlite3_stmt *st = NULL;
	size_t zlen;
	int ret;

	if (j->mode != XFR_JOURNAL_WRITE) {
		return -EINVAL;
	}
	apex_lower(zone, &zlen, apex);
	(void)st;
	ret = zone_stmt(j, "DELETE FROM steps WHERE zone = ?", zone, zlen);
	return ret;
}

/* ---- reading and condensing ---- */

/* One step read back. */
typedef struct step {
	zone_changeset_t cs;
} step_t;

static int blob_dup(sqlite3_stmt *st, int col, uint8_t **out, size_t *len)
{
	const void *p = sqlite3_column_blob(st, col);
	int n = sqlite3_column_bytes(st, col);

	*out = malloc(n > 0 ? (size_t)n : 1);
	if (*out == NULL) {
		return -ENOMEM;
	}
	if (n > 0) {
		memcpy(*out, p, (size_t)n);
	}
	*len = (size_t)n;
	return E_OK;
}

/* Copy one row (columns as selected in read_steps) into \a cs and check it. */
static int row_load(sqlite3_stmt *st, zone_changeset_t *cs)
{
	size_t len;
	int64_t nrem = sqlite3_column_int64(st, 6), nadd = sqlite3_column_int64(st, 8);
	int ret;

	memset(cs, 0, sizeof(*cs));
	cs->serial_from = (uint32_t)sqlite3_column_int64(st, 0);
	cs->serial_to = (uint32_t)sqlite3_column_int64(st, 1);
	cs->soa_ttl_from = (uint32_t)sqlite3_column_int64(st, 3);
	cs->soa_ttl_to = (uint32_t)sqlite3_column_int64(st, 5);
	if (nrem < 0 || nrem > UINT32_MAX || nadd < 0 || nadd > UINT32_MAX) {
		return E_MALFORMED;
	}
	cs->nremoved = (uint32_t)nrem;
	cs->nadded = (uint32_t)nadd;
	ret = blob_dup(st, 2, &cs->soa_from, &len);
	if (ret == E_OK) {
		cs->soa_from_len = (uint16_t)len;
		ret = len > UINT16_MAX ? E_MALFORMED : E_OK;
	}
	if (ret == E_OK) {
		ret = blob_dup(st, 4, &cs->soa_to, &len);
	}
	if (ret == E_OK) {
		cs->soa_to_len = (uint16_t)len;
		ret = len > UINT16_MAX ? E_MALFORMED : E_OK;
	}
	if (ret == E_OK) {
		ret = blob_dup(st, 7, &cs->removed, &cs->removed_len);
	}
	if (ret == E_OK) {
		ret = blob_dup(st, 9, &cs->added, &cs->added_len);
	}
	if (ret == E_OK && (rrs_check(cs->removed, cs->removed_len, cs->nremoved) != E_OK ||
			    rrs_check(cs->added, cs->added_len, cs->nadded) != E_OK)) {
		ret = E_MALFORMED;
	}
	return ret;
}

static void steps_free(step_t *steps, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		zone_changeset_clear(&steps[i].cs);
	}
	free(steps);
}

/* The chain of steps from \a from to \a to, in order. */
static int read_steps(xfr_journal_t *j, const uint8_t *zone, size_t zlen, uint32_t from,
		      uint32_t to, step_t **out, size_t *nout)
{
	sqlite3_stmt *st = NULL;
	step_t *steps = NULL;
	size_t n = 0, cap = 0;
	uint32_t expect = from;
	bool reached = false;
	int64_t start;
	int ret, rc;

	ret = prepare(j, &st,
		      "SELECT seq FROM steps WHERE zone = ? AND serial_from = ? "
		      "ORDER BY seq DESC LIMIT 1");
	if (ret != E_OK) {
		return ret;
	}
	bind_blob(st, 1, zone, zlen);
	sqlite3_bind_int64(st, 2, from);
	rc = sqlite3_step(st);
	start = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	if (rc != SQLITE_ROW) {
		ret = rc == SQLITE_DONE ? -ENOENT : db_fail(j, "journal read");
	}
	sqlite3_finalize(st);
	if (ret != E_OK) {
		return ret;
	}
	ret = prepare(j, &st,
		      "SELECT serial_from, serial_to, soa_from, soa_ttl_from, soa_to, soa_ttl_to, "
		      "nremoved, removed, nadded, added FROM steps WHERE zone = ? AND seq >= ? "
		      "ORDER BY seq");
	if (ret != E_OK) {
		return ret;
	}
	bind_blob(st, 1, zone, zlen);
	sqlite3_bind_int64(st, 2, start);
	while (!reached && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((uint32_t)sqlite3_column_int64(st, 0) != expect) {
			break; /* not contiguous: cannot happen through xfr_journal_store */
		}
		if (n == cap) {
			step_t *s;

			cap = cap ? cap * 2 : 8;
			s = realloc(steps, cap * sizeof(*s));
			if (s == NULL) {
				ret = -ENOMEM;
				break;
			}
			steps = s;
		}
		ret = row_load(st, &steps[n].cs);
		n++;
		if (ret != E_OK) {
			break;
		}
		expect = steps[n - 1].cs.serial_to;
		reached = expect == to;
	}
	if (ret == E_OK && !reached && rc != SQLITE_ROW && rc != SQLITE_DONE) {
		ret = db_fail(j, "journal read");
	}
	sqlite3_finalize(st);
	if (ret == E_OK && !reached) {
		ret = -ENOENT;
	}
	if (ret != E_OK) {
		steps_free(steps, n);
		return ret;
	}
	*out = steps;
	*nout = n;
	return E_OK;
}

/* An RR of the condensed difference, keyed by owner, type, class and RDATA (not TTL). */
typedef struct centry {
	const uint8_t *key; /* the RR that created the entry */
	const uint8_t *rr_rem, *rr_add;
	size_t len_rem, len_add;
	uint32_t hash;
	bool in_rem, in_add;
} centry_t;

typedef struct condense {
	centry_t *e;
	size_t n, cap;
	uint32_t *slots; /* entry index + 1, 0 when free */
	size_t nslots;
} condense_t;

/* Parse the packed RR at \a p: owner length and total length. */
static void rr_split(const uint8_t *p, size_t *olen, size_t *len)
{
	*olen = dname_len(p);
	*len = *olen + RR_FIXED_LEN + dns_u16(p + *olen + 8);
}

static uint32_t rr_ttl(const uint8_t *p)
{
	return dns_u32(p + dname_len(p) + 4);
}

static uint32_t rr_hash(const uint8_t *p)
{
	size_t olen, len;
	uint32_t h = dname_hash(p);

	rr_split(p, &olen, &len);
	for (size_t i = olen; i < len; i++) {
		if (i >= olen + 4 && i < olen + 8) {
			continue; /* TTL */
		}
		h = (h ^ p[i]) * 16777619u;
	}
	return h;
}

static bool rr_same(const uint8_t *a, const uint8_t *b)
{
	size_t oa, la, ob, lb;

	rr_split(a, &oa, &la);
	rr_split(b, &ob, &lb);
	return la - oa == lb - ob && dname_equal(a, b) && memcmp(a + oa, b + ob, 4) == 0 &&
	       memcmp(a + oa + 8, b + ob + 8, la - oa - 8) == 0;
}

static centry_t *condense_get(condense_t *c, const uint8_t *rr)
{
	uint32_t h = rr_hash(rr);
	size_t mask = c->nslots - 1;
	size_t i = h & mask;

	while (c->slots[i] != 0) {
		centry_t *e = &c->e[c->slots[i] - 1];

		if (e->hash == h && rr_same(e->key, rr)) {
			return e;
		}
		i = (i + 1) & mask;
	}
	/* slots were sized for every RR of every step: there is always room */
	c->e[c->n] = (centry_t){ .key = rr, .hash = h };
	c->slots[i] = (uint32_t)++c->n;
	return &c->e[c->n - 1];
}

static void condense_rm(condense_t *c, const uint8_t *rr, size_t len)
{
	centry_t *e = condense_get(c, rr);

	if (e->in_add) {
		e->in_add = false; /* added within the range, now gone again */
	} else {
		e->in_rem = true;
		e->rr_rem = rr;
		e->len_rem = len;
	}
}

static void condense_add(condense_t *c, const uint8_t *rr, size_t len)
{
	centry_t *e = condense_get(c, rr);

	if (e->in_rem && !e->in_add && rr_ttl(e->rr_rem) == rr_ttl(rr)) {
		e->in_rem = false; /* removed within the range and put back unchanged */
	} else {
		e->in_add = true;
		e->rr_add = rr;
		e->len_add = len;
	}
}

static void condense_walk(condense_t *c, const uint8_t *p, size_t len, bool add)
{
	size_t pos = 0;

	while (pos < len) {
		size_t olen, rlen;

		rr_split(p + pos, &olen, &rlen);
		if (add) {
			condense_add(c, p + pos, rlen);
		} else {
			condense_rm(c, p + pos, rlen);
		}
		pos += rlen;
	}
}

/* Concatenate the RRs still marked on one side. */
static int condense_out(const condense_t *c, bool add, uint8_t **out, size_t *len, uint32_t *n)
{
	size_t total = 0, pos = 0;
	uint32_t count = 0;

	for (size_t i = 0; i < c->n; i++) {
		if (add ? c->e[i].in_add : c->e[i].in_rem) {
			total += add ? c->e[i].len_add : c->e[i].len_rem;
		}
	}
	*out = malloc(total ? total : 1);
	if (*out == NULL) {
		return -ENOMEM;
	}
	for (size_t i = 0; i < c->n; i++) {
		const centry_t *e = &c->e[i];

		if (add ? e->in_add : e->in_rem) {
			size_t l = add ? e->len_add : e->len_rem;

			memcpy(*out + pos, add ? e->rr_add : e->rr_rem, l);
			pos += l;
			count++;
		}
	}
	*len = total;
	*n = count;
	return E_OK;
}

static int condense(step_t *steps, size_t n, zone_changeset_t *out)
{
	condense_t c = { 0 };
	size_t rrs = 0;
	int ret = -ENOMEM;

	for (size_t i = 0; i < n; i++) {
		rrs += (size_t)steps[i].cs.nremoved + steps[i].cs.nadded;
	}
	c.nslots = 16;
	while (c.nslots < 2 * rrs + 2) {
		c.nslots *= 2;
	}
	c.slots = calloc(c.nslots, sizeof(*c.slots));
	c.e = calloc(rrs + 1, sizeof(*c.e));
	if (c.slots == NULL || c.e == NULL) {
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		condense_walk(&c, steps[i].cs.removed, steps[i].cs.removed_len, false);
		condense_walk(&c, steps[i].cs.added, steps[i].cs.added_len, true);
	}
	ret = condense_out(&c, false, &out->removed, &out->removed_len, &out->nremoved);
	if (ret == E_OK) {
		ret = condense_out(&c, true, &out->added, &out->added_len, &out->nadded);
	}
out:
	free(c.slots);
	free(c.e);
	return ret;
}

int xfr_journal_read(xfr_journal_t *j, const uint8_t *apex, uint32_t from, uint32_t to,
		     zone_changeset_t *out)
{
	uint8_t zone[DNAME_MAX];
	step_t *steps = NULL;
	size_t zlen, n = 0;
	int ret;

	memset(out, 0, sizeof(*out));
	if (from == to) {
		return -EINVAL;
	}
	apex_lower(zone, &zlen, apex);
	ret = exec(j, "BEGIN");
	if (ret != E_OK) {
		return ret;
	}
	ret = read_steps(j, zone, zlen, from, to, &steps, &n);
	sqlite3_exec(j->db, "COMMIT", NULL, NULL, NULL);
	if (ret != E_OK) {
		return ret;
	}
	if (n == 1) {
		*out = steps[0].cs; /* taken over */
		memset(&steps[0].cs, 0, sizeof(steps[0].cs));
	} else {
		ret = condense(steps, n, out);
		if (ret == E_OK) {
			zone_changeset_t *first = &steps[0].cs, *last = &steps[n - 1].cs;

			out->serial_from = first->serial_from;
			out->serial_to = last->serial_to;
			out->soa_from = first->soa_from;
			out->soa_from_len = first->soa_from_len;
			out->soa_ttl_from = first->soa_ttl_from;
			out->soa_to = last->soa_to;
			out->soa_to_len = last->soa_to_len;
			out->soa_ttl_to = last->soa_ttl_to;
			first->soa_from = NULL;
			last->soa_to = NULL;
		} else {
			zone_changeset_clear(out);
		}
	}
	steps_free(steps, n);
	return ret;
}

/* One RR of a version, packed as in zones/diff.h, into \a buf; returns its length. */
static size_t rr_pack(uint8_t *buf, const uint8_t *owner, uint16_t type, uint32_t ttl,
		      const uint8_t *rd, uint16_t rdlen)
{
	size_t olen = dname_len(owner);
	memcpy(buf, owner, olen);
	dns_put16(buf + olen, type);
	dns_put16(buf + olen + 2, 1);
	dns_put32(buf + olen + 4, ttl);
	dns_put16(buf + olen + 8, rdlen);
	memcpy(buf + olen + RR_FIXED_LEN, rd, rdlen);
	return olen + RR_FIXED_LEN + rdlen;
}

static int snapshot_node(xfr_journal_t *j, sqlite3_stmt *st, const uint8_t *zone, size_t zlen,
			 const zone_node_t *node, uint8_t *buf)
{
	for (uint16_t i = 0; i < node->nrrsets; i++) {
		const zone_rrset_t *rs = &node->rrsets[i];
		uint32_t pos = 0;
		uint16_t rdlen;
		const uint8_t *rd;
		if (rs->type == RR_SOA && (node->flags & ZONE_NODE_APEX)) {
			continue;
		}
		while ((rd = zone_rrset_next(rs, &pos, &rdlen)) != NULL) {
			/* RRSIGs carry the TTL of the RRset they cover (as in zone_diff). */
			uint32_t ttl = rs->ttl;
			if (rs->type == RR_RRSIG && rdlen >= 2) {
				const zone_rrset_t *cov = zone_node_rrset(node, dns_u16(rd));
				ttl = cov != NULL ? cov->ttl : ttl;
			}
			size_t n = rr_pack(buf, node->owner, rs->type, ttl, rd, rdlen);
			sqlite3_reset(st);
			bind_blob(st, 1, zone, zlen);
			bind_blob(st, 2, buf, n);
			if (sqlite3_step(st) != SQLITE_DONE) {
				return db_fail(j, "journal snapshot");
			}
		}
	}
	return E_OK;
}

int xfr_journal_snapshot(xfr_journal_t *j, const zone_t *z)
{
	uint8_t zone[DNAME_MAX];
	sqlite3_stmt *st = NULL;
	size_t zlen;
	uint8_t *buf = malloc(DNAME_MAX + RR_FIXED_LEN + 65535);
	const zone_rrset_t *soa = zone_node_rrset(z->apex, RR_SOA);
	int ret;

	if (buf == NULL) {
		return -ENOMEM;
	}
	if (j->mode != XFR_JOURNAL_WRITE || soa == NULL) {
		free(buf);
		return -EINVAL;
	}
	apex_lower(zone, &zlen, z->apex_name);
	ret = exec(j, "BEGIN IMMEDIATE");
	if (ret != E_OK) {
		free(buf);
		return ret;
	}
	ret = contents_forget(j, zone, zlen);
	if (ret == E_OK) {
		/* The history before this version cannot be told apart from it any more. */
		ret = zone_stmt(j, "DELETE FROM steps WHERE zone = ?", zone, zlen);
	}
	if (ret == E_OK) {
		ret = prepare(j, &st, "INSERT OR REPLACE INTO contents (zone, rr) VALUES (?, ?)");
	}
	for (uint32_t i = 0; ret == E_OK && i < z->nnodes; i++) {
		ret = snapshot_node(j, st, zone, zlen, z->nodes[i], buf);
	}
	for (uint32_t i = 0; ret == E_OK && i < z->nnsec3; i++) {
		ret = snapshot_node(j, st, zone, zlen, z->nsec3[i], buf);
	}
	sqlite3_finalize(st);
	if (ret == E_OK) {
		uint16_t rdlen;
		const uint8_t *rd = zone_rrset_rdata(soa, 0, &rdlen);
		ret = head_set(j, zone, zlen, z->serial, rd, rdlen, soa->ttl);
	}
	if (ret == E_OK) {
		ret = exec(j, "COMMIT");
	}
	free(buf);
	return ret == E_OK ? E_OK : rollback(j, ret);
}

int xfr_journal_contents(xfr_journal_t *j, zone_builder_t *b, uint32_t *serial)
{
	uint8_t zone[DNAME_MAX];
	sqlite3_stmt *st = NULL;
	size_t zlen;
	int ret, rc;

	apex_lower(zone, &zlen, zone_builder_apex(b));
	ret = exec(j, "BEGIN");
	if (ret != E_OK) {
		return ret;
	}
	ret = prepare(j, &st, "SELECT serial, soa, soa_ttl FROM heads WHERE zone = ?");
	if (ret == E_OK) {
		bind_blob(st, 1, zone, zlen);
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW) {
			*serial = (uint32_t)sqlite3_column_int64(st, 0);
			ret = zone_builder_add(b, zone, RR_SOA,
					       (uint32_t)sqlite3_column_int64(st, 2),
					       sqlite3_column_blob(st, 1),
					       (uint16_t)sqlite3_column_bytes(st, 1), "journal");
		} else {
			ret = rc == SQLITE_DONE ? -ENOENT : db_fail(j, "journal contents");
		}
	}
	sqlite3_finalize(st);
	st = NULL;
	if (ret == E_OK) {
		ret = prepare(j, &st, "SELECT rr FROM contents WHERE zone = ?");
	}
	if (ret == E_OK) {
		bind_blob(st, 1, zone, zlen);
		while (ret == E_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
			const uint8_t *p = sqlite3_column_blob(st, 0);
			size_t n = (size_t)sqlite3_column_bytes(st, 0);
			if (p == NULL || rrs_check(p, n, 1) != E_OK) {
				ret = E_MALFORMED;
				break;
			}
			size_t olen = dname_len(p);
			ret = zone_builder_add(b, p, dns_u16(p + olen), dns_u32(p + olen + 4),
					       p + olen + RR_FIXED_LEN, dns_u16(p + olen + 8),
					       "journal");
		}
		if (ret == E_OK && rc != SQLITE_DONE) {
			ret = db_fail(j, "journal contents");
		}
	}
	sqlite3_finalize(st);
	exec(j, "COMMIT");
	return ret;
}
