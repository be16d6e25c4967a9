/*  libFuzzer target: the journal (xfr/journal.c) — packed RRs in changesets and rows read back
 *  from SQLite, and the condensation of several steps.
 *
 *  The input is cut into up to eight steps: [nremoved u8][removed length u16][octets]
 *  [nadded u8][added length u16][octets]. Steps go in twice: through xfr_journal_store (which
 *  must refuse what does not parse, and keep what it accepted readable) and, unchecked, as
 *  raw rows written with SQL beside it (what a damaged database holds): reading those must
 *  fail cleanly or succeed, never crash. Every condensed read must be well formed.
 *
 *  clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -I. \
 *        tests/fuzz/fuzz_journal.c xfr/journal.c zones/diff.c zones/zone.c dns/name.c \
 *        dns/pkt.c dns/err.c dns/log.c -lsqlite3 -o build/fuzz_journal
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "dns/err.h"
#include "dns/log.h"
#include "dns/pkt.h"
#include "xfr/journal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)              \
	do {                     \
		if (!(cond)) {   \
			abort(); \
		}                \
	} while (0)

#define APEX     ((const uint8_t *)"\7example\4test")
#define RAW_APEX ((const uint8_t *)"\3raw\0")
#define STEPS    8

static xfr_journal_t *jw, *jr;
static sqlite3 *raw;
static uint8_t soa[22];

static void init(void)
{
	static char dir[64];
	char path[128];

	if (jw != NULL) {
		return;
	}
	log_set_level(LOG_ERR);
	snprintf(dir, sizeof(dir), "/tmp/signet-fuzz-journal-XXXXXX");
	CHECK(mkdtemp(dir) != NULL);
	xfr_journal_limits_t lim = { .max_versions = 5, .max_bytes = 1 << 16, .sync_normal = true };
	CHECK(xfr_journal_open(&jw, dir, XFR_JOURNAL_WRITE, &lim) == E_OK);
	CHECK(xfr_journal_open(&jr, dir, XFR_JOURNAL_READ, NULL) == E_OK);
	snprintf(path, sizeof(path), "%s/" XFR_JOURNAL_FILE, dir);
	CHECK(sqlite3_open(path, &raw) == SQLITE_OK);
	sqlite3_exec(raw, "PRAGMA synchronous=OFF", NULL, NULL, NULL);
}

/* Every packed RR of a side parses, and the counts agree. */
static void check_side(const uint8_t *p, size_t len, uint32_t n)
{
	size_t pos = 0;
	uint32_t count = 0;

	while (pos < len) {
		int olen = dname_check(p + pos, len - pos);

		CHECK(olen > 0 && len - pos - (size_t)olen >= 10);
		pos += (size_t)olen;
		CHECK(len - pos - 10 >= dns_u16(p + pos + 8));
		pos += 10u + dns_u16(p + pos + 8);
		count++;
	}
	CHECK(pos == len && count == n);
}

static void read_all(xfr_journal_t *j, const uint8_t *apex, uint32_t nsteps, bool stored)
{
	for (uint32_t from = 1; from <= nsteps; from++) {
		zone_changeset_t cs;
		int ret = xfr_journal_read(j, apex, from, nsteps + 1, &cs);

		CHECK(ret == E_OK || ret == -ENOENT || (!stored && ret == E_MALFORMED));
		if (ret == E_OK) {
			CHECK(cs.serial_from == from && cs.serial_to == nsteps + 1);
			check_side(cs.removed, cs.removed_len, cs.nremoved);
			check_side(cs.added, cs.added_len, cs.nadded);
			zone_changeset_clear(&cs);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	zone_changeset_t cs[STEPS];
	sqlite3_stmt *st = NULL;
	uint32_t n = 0, stored = 0;
	size_t pos = 0;

	init();
	xfr_journal_drop(jw, APEX);
	xfr_journal_drop(jw, RAW_APEX);
	while (n < STEPS && size - pos >= 6) {
		zone_changeset_t *c = &cs[n];
		size_t l;

		memset(c, 0, sizeof(*c));
		c->serial_from = n + 1;
		c->serial_to = n + 2;
		c->soa_from = c->soa_to = soa;
		c->soa_from_len = c->soa_to_len = sizeof(soa);
		c->nremoved = data[pos];
		l = dns_u16(data + pos + 1);
		pos += 3;
		c->removed = (uint8_t *)data + pos;
		c->removed_len = l < size - pos ? l : size - pos;
		pos += c->removed_len;
		if (size - pos < 3) {
			break;
		}
		c->nadded = data[pos];
		l = dns_u16(data + pos + 1);
		pos += 3;
		c->added = (uint8_t *)data + pos;
		c->added_len = l < size - pos ? l : size - pos;
		pos += c->added_len;
		n++;
	}
	/* through the API: refused or kept */
	for (uint32_t i = 0; i < n; i++) {
		int ret = xfr_journal_store(jw, APEX, &cs[i]);

		CHECK(ret == E_OK || ret == -EINVAL);
		stored += ret == E_OK && stored == i;
	}
	if (stored == n) {
		read_all(jr, APEX, n, true);
	}
	/* behind its back */
	CHECK(sqlite3_prepare_v2(
		      raw,
		      "INSERT INTO steps VALUES (?, ?, ?, ?, ?, 3600, ?, 3600, ?, ?, ?, ?, "
		      "100)",
		      -1, &st, NULL) == SQLITE_OK);
	for (uint32_t i = 0; i < n; i++) {
		sqlite3_bind_blob(st, 1, RAW_APEX, 5, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, i);
		sqlite3_bind_int64(st, 3, cs[i].serial_from);
		sqlite3_bind_int64(st, 4, cs[i].serial_to);
		sqlite3_bind_blob(st, 5, soa, (int)(data[0] % sizeof(soa)), SQLITE_STATIC);
		sqlite3_bind_blob(st, 6, soa, sizeof(soa), SQLITE_STATIC);
		sqlite3_bind_int64(st, 7, cs[i].nremoved);
		sqlite3_bind_blob(st, 8, cs[i].removed, (int)cs[i].removed_len, SQLITE_STATIC);
		sqlite3_bind_int64(st, 9, cs[i].nadded);
		sqlite3_bind_blob(st, 10, cs[i].added, (int)cs[i].added_len, SQLITE_STATIC);
		CHECK(sqlite3_step(st) == SQLITE_DONE);
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	read_all(jr, RAW_APEX, n, false);
	return 0;
}
