/* Unit tests: the difference of two zone versions (zones/diff.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "dns/log.h"
#include "xfr_util.h"

#define SIG(covered, ttl)                                                                   \
	"RRSIG " covered " 13 2 " ttl " 20300101000000 20200101000000 12345 example.test. " \
	"c2lnbmF0dXJl"
#define SIG2(covered, ttl)                                                                  \
	"RRSIG " covered " 13 2 " ttl " 20300101000000 20200101000000 12345 example.test. " \
	"b3RoZXI="
#define H1 "0p9mhaveqvm6t7vbl5lop2u3t2rp3tom"
#define H2 "2vptu5timamqttgl4luu9kg21e0aor3s"
#define H3 "35mthgpgcu1qg68fab165klnsnk3dpvl"

static const char *const v1[] = {
	"example.test. 3600 SOA ns1.example.test. h.example.test. 1 3600 900 604800 300",
	"example.test. 3600 " SIG("SOA", "3600"),
	"example.test. 3600 NS ns1.example.test.",
	"example.test. 3600 NS ns2.example.test.",
	"example.test. 3600 " SIG("NS", "3600"),
	"example.test. 300 MX 10 mail.example.test.",
	"example.test. 300 " SIG("TXT", "300"), /* orphan: no TXT at the apex */
	"ns1.example.test. 3600 A 192.0.2.1",
	"ns2.example.test. 3600 A 192.0.2.2",
	"mail.example.test. 300 A 192.0.2.25",
	"www.example.test. 300 A 192.0.2.80",
	"www.example.test. 300 A 192.0.2.81",
	"www.example.test. 300 " SIG("A", "300"),
	"old.example.test. 300 TXT \"to be deleted\"",
	"sub.example.test. 3600 NS ns.sub.example.test.",
	"ns.sub.example.test. 3600 A 192.0.2.53",
	H1 ".example.test. 300 NSEC3 1 0 0 - " H2 " NS SOA MX RRSIG",
	H1 ".example.test. 300 " SIG("NSEC3", "300"),
	H2 ".example.test. 300 NSEC3 1 0 0 - " H1 " A RRSIG",
};

static const char *const v2[] = {
	"example.test. 3600 SOA ns1.example.test. h.example.test. 2 3600 900 604800 300",
	"example.test. 3600 " SIG2("SOA", "3600"), /* re-signed */
	"example.test. 3600 NS ns1.example.test.",
	"example.test. 3600 NS ns2.example.test.",
	"example.test. 3600 " SIG("NS", "3600"),
	"example.test. 300 MX 10 mail.example.test.",
	"example.test. 300 " SIG("TXT", "300"),
	"ns1.example.test. 3600 A 192.0.2.1",
	"ns2.example.test. 3600 A 192.0.2.2",
	"mail.example.test. 600 A 192.0.2.25", /* TTL changed */
	"www.example.test. 60 A 192.0.2.80",   /* TTL changed: the RRSIG's TTL follows */
	"www.example.test. 60 A 192.0.2.82",
	"www.example.test. 60 " SIG("A", "300"),
	"new.example.test. 300 AAAA 2001:db8::1",
	"sub.example.test. 3600 NS ns.sub.example.test.",
	"ns.sub.example.test. 3600 A 192.0.2.54",
	H1 ".example.test. 300 NSEC3 1 0 0 - " H3 " NS SOA MX RRSIG",
	H1 ".example.test. 300 " SIG("NSEC3", "300"),
	H3 ".example.test. 300 NSEC3 1 0 0 - " H1 " AAAA RRSIG",
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void test_identical(void **state)
{
	zone_t *a = zu_build("example.test.", v1, N(v1));
	zone_t *b = zu_build("example.test.", v1, N(v1));
	zone_changeset_t cs;

	assert_int_equal(zone_diff(a, b, &cs), E_OK);
	assert_true(zone_changeset_empty(&cs));
	assert_int_equal(cs.serial_from, 1);
	assert_int_equal(cs.serial_to, 1);
	assert_non_null(cs.soa_from);
	assert_int_equal(cs.soa_ttl_to, 3600);
	zone_changeset_clear(&cs);
	/* the same version against itself: shared nodes are skipped */
	assert_int_equal(zone_diff(a, a, &cs), E_OK);
	assert_true(zone_changeset_empty(&cs));
	zone_changeset_clear(&cs);
	zone_changeset_clear(&cs); /* twice is fine */
	zone_free(a);
	zone_free(b);
}

static void test_changes(void **state)
{
	zone_t *a = zu_build("example.test.", v1, N(v1));
	zone_t *b = zu_build("example.test.", v2, N(v2));
	zone_changeset_t cs;
	rrlist_t rem = { 0 }, add = { 0 };

	assert_int_equal(zone_diff(a, b, &cs), E_OK);
	assert_int_equal(cs.serial_from, 1);
	assert_int_equal(cs.serial_to, 2);
	assert_int_equal(dns_u32(cs.soa_from + cs.soa_from_len - 20), 1);
	assert_int_equal(dns_u32(cs.soa_to + cs.soa_to_len - 20), 2);
	rl_packed(&rem, cs.removed, cs.removed_len, cs.nremoved);
	rl_packed(&add, cs.added, cs.added_len, cs.nadded);
	/* SOA RDATA is never among the RRs; its RRSIG is */
	assert_false(rl_has(&rem, "example.test. 6 "));
	assert_false(rl_has(&add, "example.test. 6 "));
	assert_true(rl_has(&rem, "example.test. 46 3600 0006"));
	assert_true(rl_has(&add, "example.test. 46 3600 0006"));
	/* TTL change: the whole RRset and its signatures go and come back */
	assert_true(rl_has(&rem, "mail.example.test. 1 300 c0000219"));
	assert_true(rl_has(&add, "mail.example.test. 1 600 c0000219"));
	assert_true(rl_has(&rem, "www.example.test. 1 300 c0000250"));
	assert_true(rl_has(&rem, "www.example.test. 1 300 c0000251"));
	assert_true(rl_has(&add, "www.example.test. 1 60 c0000250"));
	assert_true(rl_has(&add, "www.example.test. 1 60 c0000252"));
	assert_true(rl_has(&rem, "www.example.test. 46 300 0001"));
	assert_true(rl_has(&add, "www.example.test. 46 60 0001"));
	/* nodes gone and new, glue changed, NSEC3 chain changed */
	assert_true(rl_has(&rem, "old.example.test. 16 300"));
	assert_true(rl_has(&add, "new.example.test. 28 300"));
	assert_true(rl_has(&rem, "ns.sub.example.test. 1 3600 c0000235"));
	assert_true(rl_has(&add, "ns.sub.example.test. 1 3600 c0000236"));
	assert_true(rl_has(&rem, H2 ".example.test. 50 "));
	assert_true(rl_has(&add, H3 ".example.test. 50 "));
	assert_true(rl_has(&rem, H1 ".example.test. 50 "));
	assert_true(rl_has(&add, H1 ".example.test. 50 "));
	/* unchanged data is not there */
	assert_false(rl_has(&rem, "ns1.example.test."));
	assert_false(rl_has(&rem, "example.test. 2 "));
	assert_false(rl_has(&rem, "example.test. 46 300 0010")); /* the orphan RRSIG(TXT) */
	assert_false(rl_has(&rem, H1 ".example.test. 46 "));
	assert_int_equal(cs.nremoved, 9);
	assert_int_equal(cs.nadded, 9);
	rl_assert_applies(a, &cs, b);
	zone_changeset_clear(&cs);
	/* and back */
	assert_int_equal(zone_diff(b, a, &cs), E_OK);
	rl_assert_applies(b, &cs, a);
	zone_changeset_clear(&cs);
	rl_free(&rem);
	rl_free(&add);
	zone_free(a);
	zone_free(b);
}

/* Random versions drawn from a pool of records: the difference always applies. */
static void test_random(void **state)
{
	static const char *const pool[] = {
		"a.example.test. 300 A 192.0.2.1",
		"a.example.test. 300 A 192.0.2.2",
		"a.example.test. 300 " SIG("A", "300"),
		"a.example.test. 300 " SIG("AAAA", "300"),
		"b.a.example.test. 300 TXT \"x\"",
		"c.b.a.example.test. 300 TXT \"deep\"",
		"*.example.test. 300 A 192.0.2.9",
		"z.example.test. 300 CNAME a.example.test.",
		"example.test. 3600 NS ns1.example.test.",
		"example.test. 3600 " SIG("NS", "3600"),
		"ns1.example.test. 3600 A 192.0.2.53",
		"d.example.test. 3600 NS ns.d.example.test.",
		"ns.d.example.test. 3600 A 192.0.2.54",
		"e.example.test. 300 MX 10 a.example.test.",
		"e.example.test. 300 MX 20 b.a.example.test.",
		H1 ".example.test. 300 NSEC3 1 0 0 - " H2 " A RRSIG",
		H2 ".example.test. 300 NSEC3 1 0 0 - " H1 " A RRSIG",
		H2 ".example.test. 300 " SIG("NSEC3", "300"),
	};
	const char *lines[N(pool) + 1];
	char ttl_lines[N(pool)][256];
	zone_t *z[2];

	srand(1234);
	for (int round = 0; round < 200; round++) {
		for (int v = 0; v < 2; v++) {
			lines[0] = v == 0 ? "example.test. 3600 SOA ns1 h 1 3600 900 604800 300"
					  : "example.test. 3600 SOA ns1 h 2 3600 900 604800 300";
			for (size_t i = 0; i < N(pool); i++) {
				int r = rand() % 4;

				lines[i + 1] = r == 0 ? NULL : pool[i];
				if (r == 1 && strncmp(pool[i], "a.example.test. 300 A", 21) == 0) {
					snprintf(ttl_lines[i], sizeof(ttl_lines[i]), "%.16s 60%s",
						 pool[i], pool[i] + 19);
					lines[i + 1] = ttl_lines[i];
				}
			}
			z[v] = zu_build("example.test.", lines, N(lines));
		}
		zone_changeset_t cs;

		assert_int_equal(zone_diff(z[0], z[1], &cs), E_OK);
		rl_assert_applies(z[0], &cs, z[1]);
		zone_changeset_clear(&cs);
		assert_int_equal(zone_diff(z[1], z[0], &cs), E_OK);
		rl_assert_applies(z[1], &cs, z[0]);
		zone_changeset_clear(&cs);
		zone_free(z[0]);
		zone_free(z[1]);
	}
}

/* The same data, signed and unsigned: only the signer's types, the SOA serial and an
 * NSEC-only node differ. */
static const char *const plain[] = {
	"example.test. 3600 SOA ns1.example.test. h.example.test. 1 3600 900 604800 300",
	"example.test. 3600 NS ns1.example.test.",
	"ns1.example.test. 3600 A 192.0.2.1",
	"www.example.test. 300 A 192.0.2.80",
};
static const char *const signed_[] = {
	"example.test. 3600 SOA ns1.example.test. h.example.test. 9 3600 900 604800 300",
	"example.test. 3600 " SIG("SOA", "3600"),
	"example.test. 3600 NS ns1.example.test.",
	"example.test. 3600 " SIG("NS", "3600"),
	"example.test. 3600 DNSKEY 257 3 13 c2lnbmF0dXJl",
	"example.test. 0 NSEC3PARAM 1 0 0 -",
	"ns1.example.test. 3600 A 192.0.2.1",
	"ns1.example.test. 300 NSEC www.example.test. A RRSIG NSEC",
	"www.example.test. 300 A 192.0.2.80",
	"www.example.test. 300 " SIG("A", "300"),
	"zz.example.test. 300 NSEC example.test. RRSIG NSEC",
	H1 ".example.test. 300 NSEC3 1 0 0 - " H2 " NS SOA RRSIG",
};

static void test_same_data(void **state)
{
	zone_t *u = zu_build("example.test.", plain, N(plain));
	zone_t *z = zu_build("example.test.", signed_, N(signed_));
	const char *changed[N(plain)];
	assert_true(zone_same_data(u, z, true));
	assert_true(zone_same_data(z, u, true));
	assert_false(zone_same_data(u, z, false));
	assert_true(zone_same_data(u, u, false));
	/* one RDATA, one TTL, one name more: different, signed or not */
	for (int k = 0; k < 3; k++) {
		for (size_t i = 0; i < N(plain); i++) {
			changed[i] = plain[i];
		}
		changed[3] = k == 0   ? "www.example.test. 300 A 192.0.2.81"
			     : k == 1 ? "www.example.test. 301 A 192.0.2.80"
				      : "www2.example.test. 300 A 192.0.2.80";
		zone_t *c = zu_build("example.test.", changed, N(changed));
		assert_false(zone_same_data(c, z, true));
		assert_false(zone_same_data(z, c, true));
		zone_free(c);
	}
	zone_free(u);
	zone_free(z);
}

int main(void)
{
	log_set_level(LOG_ERR);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_identical),
		cmocka_unit_test(test_changes),
		cmocka_unit_test(test_random),
		cmocka_unit_test(test_same_data),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
