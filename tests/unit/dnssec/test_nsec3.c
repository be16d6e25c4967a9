/*  Unit tests: dnssec/nsec3.c and the NSEC3 side of dnssec/proof.c against RFC 5155:
 *  the hashes of Appendix A, its chain, and the responses of Appendix B. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cmocka.h>

#include "helpers.h"
#include "zones/lookup.h"

/* RFC 5155 Appendix A, without the A record at 2t7b4g4vsa5smi47k61mv5bv1a22bojr.example
 * (a name that is also an NSEC3 owner: zones/ keeps such a node in the tree). */
static const char *const rfc5155_zone[] = {
	"example. 3600 SOA ns1.example. bugs.x.w.example. 1 3600 300 3600000 3600",
	"example. 3600 NS ns1.example.",
	"example. 3600 NS ns2.example.",
	"example. 3600 MX 1 xx.example.",
	"a.example. 3600 NS ns1.a.example.",
	"a.example. 3600 NS ns2.a.example.",
	"a.example. 3600 DS 58470 5 1 3079F1593EBAD6DC121E202A8B766A6A4837206C",
	"ns1.a.example. 3600 A 192.0.2.5",
	"ns2.a.example. 3600 A 192.0.2.6",
	"ai.example. 3600 A 192.0.2.9",
	"ai.example. 3600 HINFO \"KLH-10\" \"ITS\"",
	"ai.example. 3600 AAAA 2001:db8::f00:baa9",
	"c.example. 3600 NS ns1.c.example.",
	"c.example. 3600 NS ns2.c.example.",
	"ns1.c.example. 3600 A 192.0.2.7",
	"ns2.c.example. 3600 A 192.0.2.8",
	"ns1.example. 3600 A 192.0.2.1",
	"ns2.example. 3600 A 192.0.2.2",
	"*.w.example. 3600 MX 1 ai.example.",
	"x.w.example. 3600 MX 1 xx.example.",
	"x.y.w.example. 3600 MX 1 xx.example.",
	"xx.example. 3600 A 192.0.2.10",
	"xx.example. 3600 HINFO \"KLH-10\" \"TOPS-20\"",
	"xx.example. 3600 AAAA 2001:db8::f00:baaa",
};

static const uint8_t salt[] = { 0xaa, 0xbb, 0xcc, 0xdd };
static int64_t now;
static keyset_t ks;
static zone_t *signed_zone;
static lookup_result_t res;

/* Base32hex, written here again so the test does not trust the code under test. */
static void b32hex(char *out, const uint8_t *in, size_t len)
{
	const char *a = "0123456789abcdefghijklmnopqrstuv";
	size_t n = 0;
	for (size_t bit = 0; bit < len * 8; bit += 5) {
		unsigned v = 0;
		for (int k = 0; k < 5; k++) {
			size_t b = bit + (size_t)k;
			v = (v << 1) | (b < len * 8 ? (in[b / 8] >> (7 - b % 8)) & 1u : 0u);
		}
		out[n++] = a[v];
	}
	out[n] = '\0';
}

static void hash_of(char *out, const char *name)
{
	uint8_t n[DNAME_MAX], apex[DNAME_MAX], owner[DNAME_MAX];
	t_name(n, name);
	t_name(apex, "example.");
	assert_int_equal(dnssec_nsec3_owner(owner, n, apex, 12, salt, sizeof(salt)), 1 + 32 + 9);
	assert_int_equal(owner[0], 32);
	memcpy(out, owner + 1, 32);
	out[32] = '\0';
}

static void test_hashes(void **state)
{
	static const char *const cases[][2] = {
		{ "example.", "0p9mhaveqvm6t7vbl5lop2u3t2rp3tom" },
		{ "a.example.", "35mthgpgcu1qg68fab165klnsnk3dpvl" },
		{ "ai.example.", "gjeqe526plbf1g8mklp59enfd789njgi" },
		{ "ns1.example.", "2t7b4g4vsa5smi47k61mv5bv1a22bojr" },
		{ "ns2.example.", "q04jkcevqvmu85r014c7dkba38o0ji5r" },
		{ "w.example.", "k8udemvp1j2f7eg6jebps17vp3n8i58h" },
		{ "*.w.example.", "r53bq7cc2uvmubfu5ocmm6pers9tk9en" },
		{ "x.w.example.", "b4um86eghhds6nea196smvmlo4ors995" },
		{ "y.w.example.", "ji6neoaepv8b5o6k4ev33abha8ht9fgc" },
		{ "x.y.w.example.", "2vptu5timamqttgl4luu9kg21e0aor3s" },
		{ "xx.example.", "t644ebqk9bibcna874givr6joj62mlhv" },
		{ "2t7b4g4vsa5smi47k61mv5bv1a22bojr.example.", "kohar7mbb8dc2ce8a9qvl8hon4k53uhi" },
		/* case does not matter */
		{ "X.W.Example.", "b4um86eghhds6nea196smvmlo4ors995" },
	};
	char h[33];
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		hash_of(h, cases[i][0]);
		assert_string_equal(h, cases[i][1]);
	}
	/* No salt, no iterations (RFC 9276 defaults): SHA-1 of the wire name, once. */
	uint8_t n[DNAME_MAX], owner[DNAME_MAX];
	t_name(n, "example.");
	assert_int_equal(dnssec_nsec3_owner(owner, n, n, 0, NULL, 0), 1 + 32 + 9);
	memcpy(h, owner + 1, 32);
	h[32] = '\0';
	/* sha1(07 "example" 00) in base32hex, from Python's hashlib and base64.b32hexencode */
	assert_string_equal(h, "3msev9usmd4br9s97v51r2tdvmr9iqo1");
}

static int setup(void **state)
{
	dnssec_conf_t conf;
	now = (int64_t)time(NULL);
	zone_t *in =
		t_build("example.", rfc5155_zone, sizeof(rfc5155_zone) / sizeof(rfc5155_zone[0]));
	ks.keys[ks.n++] =
		t_key("example.", KEY_ALG_ECDSAP256SHA256, KEY_FLAG_ZONE | KEY_FLAG_SEP, now);
	ks.keys[0]->timing.sync_publish = 0; /* no CDS/CDNSKEY: the bitmaps of the RFC */
	dnssec_conf_init(&conf);
	conf.nsec3 = true;
	conf.opt_out = true;
	conf.iterations = 12;
	conf.salt_len = sizeof(salt);
	memcpy(conf.salt, salt, sizeof(salt));
	signed_zone = t_sign(in, NULL, &ks, &conf, now, NULL);
	zone_free(in);
	return 0;
}

static int teardown(void **state)
{
	zone_free(signed_zone);
	t_keyset_clear(&ks);
	return 0;
}

/* The types of an NSEC3 bitmap as text, "A HINFO AAAA RRSIG". */
static void bitmap_text(char *out, size_t outlen, const uint8_t *bm, size_t len)
{
	size_t pos = 0;
	out[0] = '\0';
	while (pos + 2 <= len) {
		uint8_t window = bm[pos], octets = bm[pos + 1];
		for (unsigned i = 0; i < octets * 8u; i++) {
			if (bm[pos + 2 + i / 8] & (0x80 >> (i % 8))) {
				char t[16];
				size_t l = strlen(out);
				dns_type_to_str((uint16_t)(window * 256 + i), t, sizeof(t));
				snprintf(out + l, outlen - l, "%s%s", l ? " " : "", t);
			}
		}
		pos += 2u + octets;
	}
}

/* RFC 5155 Appendix A's chain: the kohar7... record is not there (see above) and
 * k8udem... points past it. */
static void test_chain(void **state)
{
	static const char *const want[][3] = {
		{ "0p9mhaveqvm6t7vbl5lop2u3t2rp3tom", "2t7b4g4vsa5smi47k61mv5bv1a22bojr",
		  "NS SOA MX RRSIG DNSKEY NSEC3PARAM" },
		{ "2t7b4g4vsa5smi47k61mv5bv1a22bojr", "2vptu5timamqttgl4luu9kg21e0aor3s",
		  "A RRSIG" },
		{ "2vptu5timamqttgl4luu9kg21e0aor3s", "35mthgpgcu1qg68fab165klnsnk3dpvl",
		  "MX RRSIG" },
		{ "35mthgpgcu1qg68fab165klnsnk3dpvl", "b4um86eghhds6nea196smvmlo4ors995",
		  "NS DS RRSIG" },
		{ "b4um86eghhds6nea196smvmlo4ors995", "gjeqe526plbf1g8mklp59enfd789njgi",
		  "MX RRSIG" },
		{ "gjeqe526plbf1g8mklp59enfd789njgi", "ji6neoaepv8b5o6k4ev33abha8ht9fgc",
		  "A HINFO AAAA RRSIG" },
		{ "ji6neoaepv8b5o6k4ev33abha8ht9fgc", "k8udemvp1j2f7eg6jebps17vp3n8i58h", "" },
		{ "k8udemvp1j2f7eg6jebps17vp3n8i58h", "q04jkcevqvmu85r014c7dkba38o0ji5r", "" },
		{ "q04jkcevqvmu85r014c7dkba38o0ji5r", "r53bq7cc2uvmubfu5ocmm6pers9tk9en",
		  "A RRSIG" },
		{ "r53bq7cc2uvmubfu5ocmm6pers9tk9en", "t644ebqk9bibcna874givr6joj62mlhv",
		  "MX RRSIG" },
		{ "t644ebqk9bibcna874givr6joj62mlhv", "0p9mhaveqvm6t7vbl5lop2u3t2rp3tom",
		  "A HINFO AAAA RRSIG" },
	};
	const zone_t *z = signed_zone;
	assert_int_equal(z->nnsec3, sizeof(want) / sizeof(want[0]));
	for (uint32_t i = 0; i < z->nnsec3; i++) {
		const zone_node_t *node = z->nsec3[i];
		const zone_rrset_t *rs = zone_node_rrset(node, RR_NSEC3);
		char owner[33], next[33], types[256];
		assert_non_null(rs);
		assert_non_null(rs->sigs);
		assert_int_equal(rs->ttl, 3600); /* min(SOA TTL, MINIMUM) */
		memcpy(owner, node->owner + 1, 32);
		owner[32] = '\0';
		const uint8_t *rd = rs->rdata + 2;
		uint16_t rdlen = dns_u16(rs->rdata);
		assert_int_equal(rd[0], 1); /* SHA-1 */
		assert_int_equal(rd[1], 1); /* opt-out */
		assert_int_equal(dns_u16(rd + 2), 12);
		assert_int_equal(rd[4], 4);
		assert_memory_equal(rd + 5, salt, 4);
		assert_int_equal(rd[9], 20);
		b32hex(next, rd + 10, 20);
		bitmap_text(types, sizeof(types), rd + 30, rdlen - 30u);
		assert_string_equal(owner, want[i][0]);
		assert_string_equal(next, want[i][1]);
		assert_string_equal(types, want[i][2]);
	}
	/* NSEC3PARAM at the apex: flags 0. */
	const zone_rrset_t *param = zone_node_rrset(z->apex, RR_NSEC3PARAM);
	assert_non_null(param);
	assert_memory_equal(param->rdata, "\x00\x09\x01\x00\x00\x0c\x04\xaa\xbb\xcc\xdd", 11);
	assert_int_equal(t_verify_zone(z, &ks) > 0, 1);
}

static void lookup(const char *qname, uint16_t qtype)
{
	static uint8_t q[DNAME_MAX];
	t_name(q, qname);
	zone_lookup(signed_zone, q, qtype, 0, &res);
	dnssec_add_proofs(signed_zone, &res);
}

/* The hashed labels of the NSEC3 items in the authority section, in order, and a check
 * that every added item is flagged and carries its RRSIGs. */
static void proofs(char *out, size_t outlen)
{
	out[0] = '\0';
	for (uint8_t i = 0; i < res.nns; i++) {
		const lookup_item_t *it = &res.ns[i];
		if (it->rrset->type != RR_NSEC3) {
			continue;
		}
		assert_int_equal(it->flags, LOOKUP_DNSSEC);
		assert_non_null(it->rrset->sigs);
		assert_ptr_equal(it->owner, it->node->owner);
		assert_int_equal(it->ttl, it->rrset->ttl);
		size_t l = strlen(out);
		snprintf(out + l, outlen - l, "%s%.32s", l ? " " : "", (const char *)it->owner + 1);
	}
}

static void expect(const char *qname, uint16_t qtype, enum lookup_kind kind, const char *want)
{
	char got[512];
	lookup(qname, qtype);
	assert_int_equal(res.kind, kind);
	proofs(got, sizeof(got));
	assert_string_equal(got, want);
}

/* RFC 5155 Appendix B, case by case. */
static void test_appendix_b(void **state)
{
	/* B.1 Name Error: closest encloser x.w.example, next closer c.x.w.example covered,
	 * wildcard *.x.w.example covered. */
	expect("a.c.x.w.example.", RR_A, LOOKUP_NXDOMAIN,
	       "b4um86eghhds6nea196smvmlo4ors995 0p9mhaveqvm6t7vbl5lop2u3t2rp3tom "
	       "35mthgpgcu1qg68fab165klnsnk3dpvl");
	assert_int_equal(res.ns[0].rrset->type, RR_SOA);
	/* B.2 No Data Error */
	expect("ns1.example.", RR_MX, LOOKUP_NODATA, "2t7b4g4vsa5smi47k61mv5bv1a22bojr");
	/* B.2.1 No Data Error, Empty Non-Terminal */
	expect("y.w.example.", RR_A, LOOKUP_NODATA, "ji6neoaepv8b5o6k4ev33abha8ht9fgc");
	/* B.3 Referral to an Opt-Out Unsigned Zone: closest provable encloser example, next
	 * closer c.example covered by an opt-out NSEC3. */
	expect("mc.c.example.", RR_MX, LOOKUP_REFERRAL,
	       "0p9mhaveqvm6t7vbl5lop2u3t2rp3tom 35mthgpgcu1qg68fab165klnsnk3dpvl");
	/* B.4 Wildcard Expansion: the next closer name z.w.example covered. */
	expect("a.z.w.example.", RR_MX, LOOKUP_ANSWER, "q04jkcevqvmu85r014c7dkba38o0ji5r");
	assert_true(res.an[0].flags & LOOKUP_WILDCARD);
	/* B.5 Wildcard No Data Error: closest encloser w.example, next closer covered, the
	 * wildcard matched. */
	expect("a.z.w.example.", RR_AAAA, LOOKUP_NODATA,
	       "k8udemvp1j2f7eg6jebps17vp3n8i58h q04jkcevqvmu85r014c7dkba38o0ji5r "
	       "r53bq7cc2uvmubfu5ocmm6pers9tk9en");
	/* B.6 DS Child Zone No Data Error: the apex's NSEC3. */
	expect("example.", RR_DS, LOOKUP_NODATA, "0p9mhaveqvm6t7vbl5lop2u3t2rp3tom");
}

/* Beyond Appendix B. */
static void test_more(void **state)
{
	/* Referral to a signed delegation: the DS, no NSEC3. */
	expect("www.a.example.", RR_A, LOOKUP_REFERRAL, "");
	assert_int_equal(res.nns, 2);
	assert_int_equal(res.ns[1].rrset->type, RR_DS);
	assert_non_null(res.ns[1].rrset->sigs);
	/* DS of an opt-out delegation (RFC 5155 §7.2.4): closest provable encloser proof. */
	expect("c.example.", RR_DS, LOOKUP_NODATA,
	       "0p9mhaveqvm6t7vbl5lop2u3t2rp3tom 35mthgpgcu1qg68fab165klnsnk3dpvl");
	/* DS of a signed delegation: answered, nothing to prove. */
	expect("a.example.", RR_DS, LOOKUP_ANSWER, "");
	/* An exact answer needs nothing. */
	expect("xx.example.", RR_A, LOOKUP_ANSWER, "");
	/* NXDOMAIN right below the apex: example matches; the next closer name b.example
	 * (j7hvascs...) and *.example (jhsv97ro...) are both covered by gjeqe526...: once. */
	expect("b.example.", RR_A, LOOKUP_NXDOMAIN,
	       "0p9mhaveqvm6t7vbl5lop2u3t2rp3tom gjeqe526plbf1g8mklp59enfd789njgi");
	assert_int_equal(res.nns, 3);
	/* zz.example (bpach64k...) is covered by b4um86eg... */
	expect("zz.example.", RR_TXT, LOOKUP_NXDOMAIN,
	       "0p9mhaveqvm6t7vbl5lop2u3t2rp3tom b4um86eghhds6nea196smvmlo4ors995 "
	       "gjeqe526plbf1g8mklp59enfd789njgi");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hashes),
		cmocka_unit_test_setup_teardown(test_chain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_appendix_b, setup, teardown),
		cmocka_unit_test_setup_teardown(test_more, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
