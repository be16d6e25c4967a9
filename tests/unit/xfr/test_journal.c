/* Unit tests: the SQLite journal (xfr/journal.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "dns/log.h"
#include "xfr/journal.h"
#include "xfr_util.h"

#define APEX ((const uint8_t *)"\7example\4test")

static char dir[64];

static int setup(void **state)
{
	snprintf(dir, sizeof(dir), "/tmp/signet-journal-XXXXXX");
	return mkdtemp(dir) != NULL ? 0 : -1;
}

static int teardown(void **state)
{
	static const char *const files[] = { "", "-wal", "-shm" };
	char path[128];

	for (size_t i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s/" XFR_JOURNAL_FILE "%s", dir, files[i]);
		unlink(path);
	}
	rmdir(dir);
	return 0;
}

/* A packed RR "<label>.example.test. A 192.0.2.<octet>" with \a ttl. */
static size_t pk_a(uint8_t *p, const char *label, uint32_t ttl, uint8_t octet)
{
	uint8_t name[DNAME_MAX];
	char text[64];
	int n;

	snprintf(text, sizeof(text), "%s.example.test.", label);
	n = dname_from_str(name, text, NULL);
	assert_true(n > 0);
	memcpy(p, name, (size_t)n);
	dns_put16(p + n, RR_A);
	dns_put16(p + n + 2, CLASS_IN);
	dns_put32(p + n + 4, ttl);
	dns_put16(p + n + 8, 4);
	p[n + 10] = 192;
	p[n + 11] = 0;
	p[n + 12] = 2;
	p[n + 13] = octet;
	return (size_t)n + 14;
}

static uint8_t soa_rd[2][64];

/* A changeset from \a from to \a to; RRs appended with cs_rm / cs_add. */
static void cs_init(zone_changeset_t *cs, uint32_t from, uint32_t to)
{
	memset(cs, 0, sizeof(*cs));
	cs->serial_from = from;
	cs->serial_to = to;
	for (int i = 0; i < 2; i++) {
		/* "ns. h. SERIAL 1 2 3 4" */
		memset(soa_rd[i], 0, 22);
		dns_put32(soa_rd[i] + 2, i == 0 ? from : to);
	}
	cs->soa_from = malloc(22);
	cs->soa_to = malloc(22);
	memcpy(cs->soa_from, soa_rd[0], 22);
	memcpy(cs->soa_to, soa_rd[1], 22);
	cs->soa_from_len = cs->soa_to_len = 22;
	cs->soa_ttl_from = cs->soa_ttl_to = 3600;
	cs->removed = malloc(4096);
	cs->added = malloc(4096);
}

static void cs_rm(zone_changeset_t *cs, const char *label, uint32_t ttl, uint8_t octet)
{
	cs->removed_len += pk_a(cs->removed + cs->removed_len, label, ttl, octet);
	cs->nremoved++;
}

static void cs_add(zone_changeset_t *cs, const char *label, uint32_t ttl, uint8_t octet)
{
	cs->added_len += pk_a(cs->added + cs->added_len, label, ttl, octet);
	cs->nadded++;
}

static xfr_journal_t *open_w(const xfr_journal_limits_t *lim)
{
	xfr_journal_t *j = NULL;

	assert_int_equal(xfr_journal_open(&j, dir, XFR_JOURNAL_WRITE, lim), E_OK);
	return j;
}

static void store_empty(xfr_journal_t *j, uint32_t from, uint32_t to)
{
	zone_changeset_t cs;

	cs_init(&cs, from, to);
	cs_add(&cs, "x", 300, (uint8_t)to);
	assert_int_equal(xfr_journal_store(j, APEX, &cs), E_OK);
	zone_changeset_clear(&cs);
}

static const char *const z1[] = {
	"example.test. 3600 SOA ns1.example.test. h.example.test. 1 3600 900 604800 300",
	"example.test. 3600 NS ns1.example.test.",
	"ns1.example.test. 3600 A 192.0.2.1",
	"a.example.test. 300 A 192.0.2.10",
	"b.example.test. 300 TXT \"b\"",
};
static const char *const z2[] = {
	"example.test. 3600 SOA ns1.example.test. h.example.test. 2 3600 900 604800 300",
	"example.test. 3600 NS ns1.example.test.",
	"ns1.example.test. 3600 A 192.0.2.1",
	"a.example.test. 300 A 192.0.2.11",
	"c.example.test. 300 TXT \"c\"",
};
static const char *const z3[] = {
	"example.test. 3600 SOA ns1.example.test. h.example.test. 3 3600 900 604800 300",
	"example.test. 3600 NS ns1.example.test.",
	"ns1.example.test. 3600 A 192.0.2.1",
	"a.example.test. 300 A 192.0.2.10",
	"b.example.test. 300 TXT \"b\"",
	"d.example.test. 60 AAAA 2001:db8::d",
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void test_store_read(void **state)
{
	zone_t *v1 = zu_build("example.test.", z1, N(z1));
	zone_t *v2 = zu_build("example.test.", z2, N(z2));
	zone_t *v3 = zu_build("example.test.", z3, N(z3));
	zone_changeset_t c12, c23, out;
	xfr_journal_t *j = open_w(NULL);
	uint32_t serial, nv;
	uint64_t bytes;

	assert_int_equal(xfr_journal_last_serial(j, APEX, &serial), -ENOENT);
	assert_int_equal(zone_diff(v1, v2, &c12), E_OK);
	assert_int_equal(zone_diff(v2, v3, &c23), E_OK);
	assert_int_equal(xfr_journal_store(j, APEX, &c12), E_OK);
	assert_int_equal(xfr_journal_store(j, (const uint8_t *)"\7EXAMPLE\4test", &c23), E_OK);
	assert_int_equal(xfr_journal_last_serial(j, APEX, &serial), E_OK);
	assert_int_equal(serial, 3);
	assert_int_equal(xfr_journal_first_serial(j, APEX, &serial), E_OK);
	assert_int_equal(serial, 1);
	assert_int_equal(xfr_journal_usage(j, APEX, &nv, &bytes), E_OK);
	assert_int_equal(nv, 2);
	assert_true(bytes > c12.added_len + c23.added_len);

	/* one step: as stored */
	assert_int_equal(xfr_journal_read(j, APEX, 2, 3, &out), E_OK);
	assert_int_equal(out.serial_from, 2);
	assert_int_equal(out.serial_to, 3);
	assert_int_equal(out.removed_len, c23.removed_len);
	assert_memory_equal(out.removed, c23.removed, c23.removed_len);
	assert_memory_equal(out.added, c23.added, c23.added_len);
	assert_memory_equal(out.soa_to, c23.soa_to, c23.soa_to_len);
	rl_assert_applies(v2, &out, v3);
	zone_changeset_clear(&out);

	/* two steps condensed: a back to .10 and b back — only d remains */
	assert_int_equal(xfr_journal_read(j, APEX, 1, 3, &out), E_OK);
	assert_int_equal(out.serial_from, 1);
	assert_int_equal(out.serial_to, 3);
	assert_int_equal(dns_u32(out.soa_from + out.soa_from_len - 20), 1);
	assert_int_equal(dns_u32(out.soa_to + out.soa_to_len - 20), 3);
	assert_int_equal(out.nremoved, 0);
	assert_int_equal(out.nadded, 1);
	rl_assert_applies(v1, &out, v3);
	zone_changeset_clear(&out);
	/* to a version that is not the newest */
	assert_int_equal(xfr_journal_read(j, APEX, 1, 2, &out), E_OK);
	rl_assert_applies(v1, &out, v2);
	zone_changeset_clear(&out);

	assert_int_equal(xfr_journal_read(j, APEX, 0, 3, &out), -ENOENT);
	assert_int_equal(xfr_journal_read(j, APEX, 1, 4, &out), -ENOENT);
	assert_int_equal(xfr_journal_read(j, APEX, 3, 3, &out), -EINVAL);
	assert_int_equal(xfr_journal_read(j, (const uint8_t *)"\5other\0", 1, 3, &out), -ENOENT);

	zone_changeset_clear(&c12);
	zone_changeset_clear(&c23);
	xfr_journal_close(j);
	zone_free(v1);
	zone_free(v2);
	zone_free(v3);
}

static void test_reopen(void **state)
{
	xfr_journal_t *j = open_w(NULL), *r = NULL;
	zone_changeset_t out;
	uint32_t serial;

	store_empty(j, 10, 11);
	xfr_journal_close(j);
	/* after a restart */
	j = open_w(NULL);
	assert_int_equal(xfr_journal_last_serial(j, APEX, &serial), E_OK);
	assert_int_equal(serial, 11);
	/* a reader connection beside the writer sees each commit */
	assert_int_equal(xfr_journal_open(&r, dir, XFR_JOURNAL_READ, NULL), E_OK);
	assert_int_equal(xfr_journal_read(r, APEX, 10, 11, &out), E_OK);
	zone_changeset_clear(&out);
	store_empty(j, 11, 12);
	assert_int_equal(xfr_journal_last_serial(r, APEX, &serial), E_OK);
	assert_int_equal(serial, 12);
	assert_int_equal(xfr_journal_read(r, APEX, 10, 12, &out), E_OK);
	assert_int_equal(out.nadded, 2);
	zone_changeset_clear(&out);
	/* readers do not write */
	cs_init(&out, 12, 13);
	assert_int_equal(xfr_journal_store(r, APEX, &out), -EINVAL);
	assert_int_equal(xfr_journal_drop(r, APEX), -EINVAL);
	zone_changeset_clear(&out);
	xfr_journal_close(r);
	xfr_journal_close(j);
	xfr_journal_close(NULL);
}

/* RFC 1995 condensation: added then removed disappears; removed then put back disappears;
 * a TTL change stays a removal and an addition. */
static void test_condense(void **state)
{
	xfr_journal_t *j = open_w(NULL);
	zone_changeset_t cs, out;
	rrlist_t rem = { 0 }, add = { 0 };

	cs_init(&cs, 1, 2);
	cs_add(&cs, "x", 300, 1);
	cs_rm(&cs, "y", 300, 2);
	cs_rm(&cs, "z", 300, 3);
	assert_int_equal(xfr_journal_store(j, APEX, &cs), E_OK);
	zone_changeset_clear(&cs);
	cs_init(&cs, 2, 3);
	cs_rm(&cs, "x", 300, 1);
	cs_add(&cs, "y", 300, 2);
	cs_add(&cs, "w", 300, 4);
	assert_int_equal(xfr_journal_store(j, APEX, &cs), E_OK);
	zone_changeset_clear(&cs);
	cs_init(&cs, 3, 4);
	cs_rm(&cs, "y", 300, 2);
	cs_add(&cs, "y", 60, 2);
	cs_rm(&cs, "w", 300, 4);
	assert_int_equal(xfr_journal_store(j, APEX, &cs), E_OK);
	zone_changeset_clear(&cs);

	assert_int_equal(xfr_journal_read(j, APEX, 1, 3, &out), E_OK);
	rl_packed(&rem, out.removed, out.removed_len, out.nremoved);
	rl_packed(&add, out.added, out.added_len, out.nadded);
	assert_int_equal(rem.n, 1);
	assert_string_equal(rem.s[0], "z.example.test. 1 300 c0000203");
	assert_int_equal(add.n, 1);
	assert_string_equal(add.s[0], "w.example.test. 1 300 c0000204");
	rl_free(&rem);
	rl_free(&add);
	zone_changeset_clear(&out);

	assert_int_equal(xfr_journal_read(j, APEX, 1, 4, &out), E_OK);
	rl_packed(&rem, out.removed, out.removed_len, out.nremoved);
	rl_packed(&add, out.added, out.added_len, out.nadded);
	assert_int_equal(rem.n, 2);
	assert_string_equal(rem.s[0], "y.example.test. 1 300 c0000202");
	assert_string_equal(rem.s[1], "z.example.test. 1 300 c0000203");
	assert_int_equal(add.n, 1);
	assert_string_equal(add.s[0], "y.example.test. 1 60 c0000202");
	assert_int_equal(dns_u32(out.soa_to + 2), 4);
	assert_int_equal(dns_u32(out.soa_from + 2), 1);
	rl_free(&rem);
	rl_free(&add);
	zone_changeset_clear(&out);

	assert_int_equal(xfr_journal_read(j, APEX, 2, 4, &out), E_OK);
	rl_packed(&rem, out.removed, out.removed_len, out.nremoved);
	rl_packed(&add, out.added, out.added_len, out.nadded);
	assert_int_equal(rem.n, 1);
	assert_string_equal(rem.s[0], "x.example.test. 1 300 c0000201");
	assert_int_equal(add.n, 1);
	assert_string_equal(add.s[0], "y.example.test. 1 60 c0000202");
	rl_free(&rem);
	rl_free(&add);
	zone_changeset_clear(&out);
	xfr_journal_close(j);
}

static void test_bound(void **state)
{
	xfr_journal_limits_t lim = { .max_versions = 3 };
	xfr_journal_t *j = open_w(&lim);
	zone_changeset_t out;
	uint32_t serial, nv;
	uint64_t bytes;

	for (uint32_t s = 1; s <= 6; s++) {
		store_empty(j, s, s + 1);
	}
	assert_int_equal(xfr_journal_usage(j, APEX, &nv, &bytes), E_OK);
	assert_int_equal(nv, 3);
	assert_int_equal(xfr_journal_first_serial(j, APEX, &serial), E_OK);
	assert_int_equal(serial, 4);
	assert_int_equal(xfr_journal_read(j, APEX, 3, 7, &out), -ENOENT);
	assert_int_equal(xfr_journal_read(j, APEX, 4, 7, &out), E_OK);
	assert_int_equal(out.nadded, 3);
	zone_changeset_clear(&out);
	xfr_journal_close(j);

	/* by size: one step is about 140 octets; the newest always stays */
	lim.max_versions = 0;
	lim.max_bytes = 300;
	j = open_w(&lim);
	store_empty(j, 7, 8);
	assert_int_equal(xfr_journal_usage(j, APEX, &nv, &bytes), E_OK);
	assert_int_equal(nv, 2);
	assert_true(bytes <= 300);
	lim.max_bytes = 1;
	xfr_journal_close(j);
	j = open_w(&lim);
	store_empty(j, 8, 9);
	assert_int_equal(xfr_journal_usage(j, APEX, &nv, &bytes), E_OK);
	assert_int_equal(nv, 1);
	assert_int_equal(xfr_journal_first_serial(j, APEX, &serial), E_OK);
	assert_int_equal(serial, 8);
	/* dropping a zone */
	assert_int_equal(xfr_journal_drop(j, APEX), E_OK);
	assert_int_equal(xfr_journal_usage(j, APEX, &nv, &bytes), E_OK);
	assert_int_equal(nv, 0);
	assert_int_equal(bytes, 0);
	xfr_journal_close(j);
}

static void test_serial_wrap(void **state)
{
	xfr_journal_t *j = open_w(NULL);
	zone_changeset_t cs, out;
	uint32_t serial;

	assert_int_equal(xfr_serial_cmp(1, 2), -1);
	assert_int_equal(xfr_serial_cmp(2, 1), 1);
	assert_int_equal(xfr_serial_cmp(0xFFFFFFFFu, 0), -1);
	assert_int_equal(xfr_serial_cmp(0, 0xFFFFFFFFu), 1);
	assert_int_equal(xfr_serial_cmp(0x7FFFFFFFu, 0xFFFFFFFEu), -1);
	assert_int_equal(xfr_serial_cmp(1, 0x80000001u), 2);
	assert_int_equal(xfr_serial_cmp(5, 5), 0);

	store_empty(j, 0xFFFFFFFEu, 0xFFFFFFFFu);
	store_empty(j, 0xFFFFFFFFu, 0);
	store_empty(j, 0, 1);
	assert_int_equal(xfr_journal_last_serial(j, APEX, &serial), E_OK);
	assert_int_equal(serial, 1);
	assert_int_equal(xfr_journal_read(j, APEX, 0xFFFFFFFEu, 1, &out), E_OK);
	assert_int_equal(out.serial_from, 0xFFFFFFFEu);
	assert_int_equal(out.serial_to, 1);
	assert_int_equal(out.nadded, 3);
	zone_changeset_clear(&out);

	/* serials that do not increase */
	cs_init(&cs, 1, 1);
	assert_int_equal(xfr_journal_store(j, APEX, &cs), -EINVAL);
	cs.serial_to = 0;
	assert_int_equal(xfr_journal_store(j, APEX, &cs), -EINVAL);
	cs.serial_to = 0x80000001u;
	assert_int_equal(xfr_journal_store(j, APEX, &cs), -EINVAL);
	/* a changeset whose RRs do not parse */
	cs.serial_to = 2;
	cs.nadded = 1;
	cs.added_len = 3;
	memcpy(cs.added, "\3ab", 3);
	assert_int_equal(xfr_journal_store(j, APEX, &cs), -EINVAL);
	zone_changeset_clear(&cs);
	xfr_journal_close(j);
}

/* A step that does not follow the last one restarts the zone's history. */
static void test_discontinuity(void **state)
{
	xfr_journal_t *j = open_w(NULL);
	zone_changeset_t out;
	uint32_t serial;

	store_empty(j, 1, 2);
	store_empty(j, 2, 3);
	store_empty(j, 7, 8);
	assert_int_equal(xfr_journal_first_serial(j, APEX, &serial), E_OK);
	assert_int_equal(serial, 7);
	assert_int_equal(xfr_journal_read(j, APEX, 1, 3, &out), -ENOENT);
	/* other zones are not touched */
	assert_int_equal(xfr_journal_first_serial(j, (const uint8_t *)"\5other\0", &serial),
			 -ENOENT);
	xfr_journal_close(j);
}

/* A row changed behind our back is refused, not trusted. */
static void test_corrupt_row(void **state)
{
	xfr_journal_t *j = open_w(NULL);
	zone_changeset_t out;
	char path[128];
	sqlite3 *db;

	store_empty(j, 1, 2);
	snprintf(path, sizeof(path), "%s/" XFR_JOURNAL_FILE, dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "UPDATE steps SET added = x'03616263'", NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(xfr_journal_read(j, APEX, 1, 2, &out), E_MALFORMED);
	xfr_journal_close(j);
	/* a directory that cannot be made */
	assert_int_equal(xfr_journal_open(&j, "/proc/no/such/dir", XFR_JOURNAL_WRITE, NULL),
			 -ENOENT);
}

/* The newest version survives a restart: snapshot, two steps, rebuild from the journal. */
static void test_contents(void **state)
{
	zone_t *v1 = zu_build("example.test.", z1, N(z1));
	zone_t *v2 = zu_build("example.test.", z2, N(z2));
	zone_t *v3 = zu_build("example.test.", z3, N(z3));
	zone_changeset_t cs;
	xfr_journal_t *j = open_w(NULL);
	(void)state;

	assert_int_equal(xfr_journal_snapshot(j, v1), E_OK);
	assert_int_equal(zone_diff(v1, v2, &cs), E_OK);
	assert_int_equal(xfr_journal_store(j, v1->apex_name, &cs), E_OK);
	zone_changeset_clear(&cs);
	assert_int_equal(zone_diff(v2, v3, &cs), E_OK);
	assert_int_equal(xfr_journal_store(j, v1->apex_name, &cs), E_OK);
	zone_changeset_clear(&cs);
	xfr_journal_close(j);

	/* Reopened, the contents are v3 exactly, and IXFR from 1 still works. */
	j = open_w(NULL);
	zone_builder_t *b = NULL;
	zone_t *back = NULL;
	uint32_t serial = 0;
	assert_int_equal(zone_builder_new(&b, v1->apex_name), E_OK);
	assert_int_equal(xfr_journal_contents(j, b, &serial), E_OK);
	assert_int_equal(serial, 3);
	assert_int_equal(zone_builder_finish(b, &back), E_OK);
	assert_int_equal(back->serial, 3);
	assert_int_equal(zone_diff(v3, back, &cs), E_OK);
	assert_true(zone_changeset_empty(&cs));
	assert_int_equal(cs.serial_from, cs.serial_to);
	zone_changeset_clear(&cs);
	assert_int_equal(xfr_journal_read(j, v1->apex_name, 1, 3, &cs), E_OK);
	zone_changeset_clear(&cs);

	/* A step that does not start from the stored contents makes them unknown. */
	zone_t *v9 = zu_build("example.test.", z1, N(z1));
	cs = (zone_changeset_t){ 0 };
	assert_int_equal(zone_diff(v1, v2, &cs), E_OK); /* 1 -> 2, but the journal is at 3 */
	assert_int_equal(xfr_journal_store(j, v1->apex_name, &cs), E_OK);
	zone_changeset_clear(&cs);
	assert_int_equal(zone_builder_new(&b, v1->apex_name), E_OK);
	assert_int_equal(xfr_journal_contents(j, b, &serial), -ENOENT);
	zone_builder_free(b);

	xfr_journal_close(j);
	zone_free(back);
	zone_free(v9);
	zone_free(v3);
	zone_free(v2);
	zone_free(v1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_store_read, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reopen, setup, teardown),
		cmocka_unit_test_setup_teardown(test_condense, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bound, setup, teardown),
		cmocka_unit_test_setup_teardown(test_serial_wrap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_discontinuity, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_row, setup, teardown),
		cmocka_unit_test_setup_teardown(test_contents, setup, teardown),
	};

	log_set_level(LOG_ERR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
