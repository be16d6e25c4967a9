/*  Unit tests: dnssec/proof.c with NSEC (RFC 4035 §3.1.3), every case against a
 *  hand-checked expectation, and the NSEC3 cases RFC 5155 Appendix B has no example of. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cmocka.h>

#include "helpers.h"
#include "zones/lookup.h"

/*
 * Canonical order and the NSEC chain (ENTs ent. and wild., glue ns.sec. and ns.sub. have
 * no NSEC):
 *   example -> alpha -> cname-nx -> cname-wild -> [ent] -> x.ent -> ns1 -> sec -> [ns.sec]
 *   -> sub -> [ns.sub] -> [wild] -> *.wild -> zz -> example
 */
static const char *const zone_text[] = {
	"example. 3600 SOA ns1.example. h.example. 1 3600 900 604800 300",
	"example. 3600 NS ns1.example.",
	"ns1.example. 3600 A 192.0.2.1",
	"alpha.example. 3600 A 192.0.2.2",
	"cname-nx.example. 3600 CNAME nothere.example.",
	"cname-wild.example. 3600 CNAME x.wild.example.",
	"x.ent.example. 3600 A 192.0.2.3",
	"*.wild.example. 3600 A 192.0.2.4",
	"sub.example. 3600 NS ns.sub.example.",
	"ns.sub.example. 3600 A 192.0.2.5",
	"sec.example. 3600 NS ns.sec.example.",
	"sec.example. 3600 DS 1 13 2 "
	"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
	"ns.sec.example. 3600 A 192.0.2.6",
	"zz.example. 3600 A 192.0.2.7",
};

static int64_t now;
static keyset_t ks;
static zone_t *unsigned_zone, *nsec_zone, *nsec3_zone;
static lookup_result_t res;

static int setup(void **state)
{
	dnssec_conf_t conf;
	now = (int64_t)time(NULL);
	unsigned_zone = t_build("example.", zone_text, sizeof(zone_text) / sizeof(zone_text[0]));
	ks.keys[ks.n++] = t_key("example.", KEY_ALG_ED25519, KEY_FLAG_ZONE | KEY_FLAG_SEP, now);
	dnssec_conf_init(&conf);
	nsec_zone = t_sign(unsigned_zone, NULL, &ks, &conf, now, NULL);
	conf.nsec3 = true;
	nsec3_zone = t_sign(unsigned_zone, NULL, &ks, &conf, now, NULL);
	return 0;
}

static int teardown(void **state)
{
	zone_free(nsec3_zone);
	zone_free(nsec_zone);
	zone_free(unsigned_zone);
	t_keyset_clear(&ks);
	return 0;
}

static void lookup(const zone_t *z, const char *qname, uint16_t qtype)
{
	static uint8_t q[DNAME_MAX];
	t_name(q, qname);
	zone_lookup(z, q, qtype, 0, &res);
	dnssec_add_proofs(z, &res);
}

/* The authority section as "owner/TYPE ...", checking the items added. */
static void authority(char *out, size_t outlen)
{
	out[0] = '\0';
	for (uint8_t i = 0; i < res.nns; i++) {
		const lookup_item_t *it = &res.ns[i];
		char name[DNAME_STR_MAX], type[16];
		if (it->rrset->type == RR_NSEC || it->rrset->type == RR_NSEC3) {
			assert_int_equal(it->flags, LOOKUP_DNSSEC);
			assert_non_null(it->rrset->sigs);
			assert_ptr_equal(it->owner, it->node->owner);
			assert_int_equal(it->ttl, 300);
		}
		if (it->rrset->type == RR_NSEC3) {
			snprintf(name, sizeof(name), "%s", "nsec3");
		} else {
			dname_to_str(name, sizeof(name), it->owner);
		}
		dns_type_to_str(it->rrset->type, type, sizeof(type));
		size_t l = strlen(out);
		snprintf(out + l, outlen - l, "%s%s/%s", l ? " " : "", name, type);
	}
}

static void expect(const zone_t *z, const char *qname, uint16_t qtype, enum lookup_kind kind,
		   const char *want)
{
	char got[1024];
	lookup(z, qname, qtype);
	assert_int_equal(res.kind, kind);
	authority(got, sizeof(got));
	assert_string_equal(got, want);
}

static void test_nsec(void **state)
{
	const zone_t *z = nsec_zone;
	/* NXDOMAIN: beta is covered by alpha's NSEC, *.example by the apex's. */
	expect(z, "beta.example.", RR_A, LOOKUP_NXDOMAIN,
	       "example./SOA alpha.example./NSEC example./NSEC");
	/* NXDOMAIN below an empty non-terminal: y.ent is covered by x.ent's NSEC; *.ent sorts
	 * right after ent (no NSEC), so cname-wild's NSEC covers it. */
	expect(z, "y.ent.example.", RR_A, LOOKUP_NXDOMAIN,
	       "example./SOA x.ent.example./NSEC cname-wild.example./NSEC");
	/* NODATA: the name's own NSEC. */
	expect(z, "alpha.example.", RR_AAAA, LOOKUP_NODATA, "example./SOA alpha.example./NSEC");
	/* NODATA at an empty non-terminal: the NSEC whose span holds it. */
	expect(z, "ent.example.", RR_A, LOOKUP_NODATA, "example./SOA cname-wild.example./NSEC");
	/* Wildcard answer: foo.wild does not exist (*.wild's NSEC covers it). */
	expect(z, "foo.wild.example.", RR_A, LOOKUP_ANSWER, "*.wild.example./NSEC");
	/* Wildcard NODATA: the same NSEC covers foo.wild and matches *.wild: once. */
	expect(z, "foo.wild.example.", RR_TXT, LOOKUP_NODATA, "example./SOA *.wild.example./NSEC");
	/* Referral to an unsigned delegation: the NSEC at the cut (NS, no DS). */
	expect(z, "host.sub.example.", RR_A, LOOKUP_REFERRAL, "sub.example./NS sub.example./NSEC");
	/* Referral to a signed delegation: its DS, nothing else. */
	expect(z, "host.sec.example.", RR_A, LOOKUP_REFERRAL, "sec.example./NS sec.example./DS");
	/* DS NODATA at an unsigned delegation. */
	expect(z, "sub.example.", RR_DS, LOOKUP_NODATA, "example./SOA sub.example./NSEC");
	/* CNAME to a missing name: the proof is for nothere.example. */
	expect(z, "cname-nx.example.", RR_A, LOOKUP_NXDOMAIN,
	       "example./SOA x.ent.example./NSEC example./NSEC");
	/* CNAME to a wildcard: the expansion of x.wild is proven. */
	expect(z, "cname-wild.example.", RR_A, LOOKUP_ANSWER, "*.wild.example./NSEC");
	assert_int_equal(res.nan, 2);
	/* Plain answers need nothing. */
	expect(z, "zz.example.", RR_A, LOOKUP_ANSWER, "");
	/* Glue is below the cut: a referral. */
	expect(z, "ns.sub.example.", RR_A, LOOKUP_REFERRAL, "sub.example./NS sub.example./NSEC");
}

/* Whether the NSEC3 \a it covers (or with \a match, matches) the hash of \a name. */
static bool nsec3_proves(const zone_t *z, const lookup_item_t *it, const char *name, bool match)
{
	uint8_t n[DNAME_MAX], h[DNAME_MAX];
	char next[64];
	t_name(n, name);
	assert_true(dnssec_nsec3_owner(h, n, z->apex_name, 0, NULL, 0) > 0);
	if (match) {
		return dname_equal(h, it->owner);
	}
	/* owner < h < next, or wrapped around */
	const uint8_t *rd = it->rrset->rdata + 2;
	static const char a[] = "0123456789abcdefghijklmnopqrstuv";
	for (int i = 0; i < 32; i++) {
		int bit = i * 5, v = 0;
		for (int k = 0; k < 5; k++) {
			int b = bit + k;
			v = (v << 1) | ((rd[5 + rd[4] + 1 + b / 8] >> (7 - b % 8)) & 1);
		}
		next[i] = a[v];
	}
	const char *owner = (const char *)it->owner + 1, *hash = (const char *)h + 1;
	int lo = strncmp(owner, hash, 32), hi = strncmp(hash, next, 32);
	bool wraps = strncmp(owner, next, 32) >= 0;
	return wraps ? (lo < 0 || hi < 0) : (lo < 0 && hi < 0);
}

static const lookup_item_t *nsec3_item(int k)
{
	for (uint8_t i = 0; i < res.nns; i++) {
		if (res.ns[i].rrset->type == RR_NSEC3 && k-- == 0) {
			return &res.ns[i];
		}
	}
	fail_msg("too few NSEC3");
	return NULL;
}

/* Whether some NSEC3 in the authority section proves \a name. */
static bool any_proves(const zone_t *z, const char *name, bool match)
{
	for (uint8_t i = 0; i < res.nns; i++) {
		if (res.ns[i].rrset->type == RR_NSEC3 && nsec3_proves(z, &res.ns[i], name, match)) {
			return true;
		}
	}
	return false;
}

static void test_nsec3(void **state)
{
	const zone_t *z = nsec3_zone;
	char got[1024];
	/* Referral to an unsigned delegation without opt-out: the NSEC3 matching the cut. */
	expect(z, "host.sub.example.", RR_A, LOOKUP_REFERRAL, "sub.example./NS nsec3/NSEC3");
	assert_true(nsec3_proves(z, nsec3_item(0), "sub.example.", true));
	/* CNAME to a missing name: closest encloser proof for nothere.example and the
	 * wildcard (the three distinct here). */
	lookup(z, "cname-nx.example.", RR_A);
	assert_int_equal(res.kind, LOOKUP_NXDOMAIN);
	authority(got, sizeof(got));
	assert_string_equal(got, "example./SOA nsec3/NSEC3 nsec3/NSEC3 nsec3/NSEC3");
	assert_true(nsec3_proves(z, nsec3_item(0), "example.", true));
	assert_true(nsec3_proves(z, nsec3_item(1), "nothere.example.", false));
	assert_true(nsec3_proves(z, nsec3_item(2), "*.example.", false));
	/* NODATA at an empty non-terminal: it has its own NSEC3. */
	expect(z, "ent.example.", RR_A, LOOKUP_NODATA, "example./SOA nsec3/NSEC3");
	assert_true(nsec3_proves(z, nsec3_item(0), "ent.example.", true));
	/* CNAME to a wildcard: the next closer name of x.wild.example is covered. */
	expect(z, "cname-wild.example.", RR_A, LOOKUP_ANSWER, "nsec3/NSEC3");
	assert_true(nsec3_proves(z, nsec3_item(0), "x.wild.example.", false));
	/* Wildcard NODATA: encloser wild (matching), next closer covered, *.wild matching. */
	lookup(z, "foo.wild.example.", RR_TXT);
	assert_int_equal(res.kind, LOOKUP_NODATA);
	assert_true(any_proves(z, "wild.example.", true));
	assert_true(any_proves(z, "foo.wild.example.", false));
	assert_true(any_proves(z, "*.wild.example.", true));
	assert_true(res.nns >= 3 && res.nns <= 4); /* a covering one may match another name */
}

static void test_unsigned(void **state)
{
	expect(unsigned_zone, "beta.example.", RR_A, LOOKUP_NXDOMAIN, "example./SOA");
	expect(unsigned_zone, "host.sub.example.", RR_A, LOOKUP_REFERRAL, "sub.example./NS");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nsec),
		cmocka_unit_test(test_nsec3),
		cmocka_unit_test(test_unsigned),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
