/*  Unit tests: dnssec/sign.c, nsec.c, nsec3.c — signing a zone in memory, checked by
 *  key_verify, ldns-verify-zone and dnssec-verify; signature reuse. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cmocka.h>

#include "helpers.h"

static const char *const zone_text[] = {
	"example. 3600 SOA NS1.Example. HostMaster.example. 2024010101 3600 900 604800 300",
	"example. 3600 NS NS1.Example.",
	"example. 3600 NS ns2.example.",
	"example. 3600 MX 10 Mail.example.",
	"example. 3600 TXT \"apex\"",
	"ns1.example. 3600 A 192.0.2.1",
	"ns2.example. 3600 A 192.0.2.2",
	"ns2.example. 3600 AAAA 2001:db8::2",
	"Mail.example. 3600 A 192.0.2.25",
	"www.example. 300 CNAME Host.Example.",
	"host.example. 300 A 192.0.2.80",
	"host.example. 300 TXT \"c\"",
	"host.example. 300 TXT \"a\"",
	"host.example. 300 TXT \"bb\"",
	"UPPER.example. 600 PTR Host.Example.",
	"x.y.ent.example. 3600 A 192.0.2.10",
	"*.wild.example. 300 MX 10 Host.example.",
	"*.wild.example. 300 A 192.0.2.99",
	"sub.wild.example. 300 TXT \"beside the wildcard\"",
	"sub.example. 3600 NS ns.sub.example.",
	"sub.example. 3600 NS ns.elsewhere.",
	"sub.example. 3600 DS 12345 13 2 "
	"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
	"ns.sub.example. 3600 A 192.0.2.53",
	"insecure.example. 3600 NS ns.insecure.example.",
	"ns.insecure.example. 3600 A 192.0.2.54",
	"deep.below.insecure.example. 3600 AAAA 2001:db8::54",
	"_sip._udp.example. 300 SRV 0 5 5060 Host.example.",
	"dn.example. 300 DNAME Target.Example.",
	"occluded.dn.example. 300 A 192.0.2.39",
	"unk.example. 300 TYPE65400 \\# 4 01020304",
	"a.b.c.d.example. 300 TXT \"four labels\"",
};

#define NREC (sizeof(zone_text) / sizeof(zone_text[0]))

static int64_t now;

static zone_t *unsigned_zone(void)
{
	return t_build("example.", zone_text, NREC);
}

static const zone_rrset_t *rrset_at(const zone_t *z, const char *owner, uint16_t type)
{
	uint8_t n[DNAME_MAX];
	t_name(n, owner);
	const zone_node_t *node = zone_find(z, n);
	return node != NULL ? zone_node_rrset(node, type) : NULL;
}

/* Types set in the NSEC bitmap of \a owner, as a bit set over types 0..63. */
static uint64_t nsec_types(const zone_t *z, const char *owner, uint8_t *next)
{
	const zone_rrset_t *nsec = rrset_at(z, owner, RR_NSEC);
	assert_non_null(nsec);
	assert_int_equal(nsec->count, 1);
	const uint8_t *rd = nsec->rdata + 2;
	uint16_t rdlen = dns_u16(nsec->rdata);
	size_t nl = dname_len(rd);
	if (next != NULL) {
		memcpy(next, rd, nl);
	}
	uint64_t bits = 0;
	assert_int_equal(rd[nl], 0); /* window 0 first */
	for (uint8_t i = 0; i < rd[nl + 1] && i < 8; i++) {
		for (int b = 0; b < 8; b++) {
			if (rd[nl + 2 + i] & (0x80 >> b)) {
				bits |= 1ull << (i * 8 + b);
			}
		}
	}
	(void)rdlen;
	return bits;
}

#define T(type) (1ull << (type))

static void check_structure(const zone_t *s, const keyset_t *ks, bool nsec3)
{
	/* Apex: DNSKEY of every published key, CDS/CDNSKEY for the KSK in sync-publish. */
	const zone_rrset_t *dnskey = rrset_at(s, "example.", RR_DNSKEY);
	assert_non_null(dnskey);
	assert_int_equal(dnskey->count, ks->n);
	assert_int_equal(dnskey->ttl, 3600); /* the SOA's */
	assert_non_null(rrset_at(s, "example.", RR_CDS));
	assert_non_null(rrset_at(s, "example.", RR_CDNSKEY));
	assert_true(nsec3 == (rrset_at(s, "example.", RR_NSEC3PARAM) != NULL));
	/* Signed: authoritative data and the delegation's DS. */
	assert_non_null(rrset_at(s, "host.example.", RR_A)->sigs);
	assert_non_null(rrset_at(s, "sub.example.", RR_DS)->sigs);
	assert_non_null(rrset_at(s, "dn.example.", RR_DNAME)->sigs);
	/* Not signed: delegation NS, glue, occluded data. */
	assert_null(rrset_at(s, "sub.example.", RR_NS)->sigs);
	assert_null(rrset_at(s, "insecure.example.", RR_NS)->sigs);
	assert_null(rrset_at(s, "ns.sub.example.", RR_A)->sigs);
	assert_null(rrset_at(s, "deep.below.insecure.example.", RR_AAAA)->sigs);
	assert_null(rrset_at(s, "occluded.dn.example.", RR_A)->sigs);
	if (nsec3) {
		assert_null(rrset_at(s, "example.", RR_NSEC));
		assert_true(s->nnsec3 > 0);
		return;
	}
	assert_int_equal(s->nnsec3, 0);
	/* NSEC TTL: min(SOA TTL, MINIMUM) (RFC 9077). */
	assert_int_equal(rrset_at(s, "example.", RR_NSEC)->ttl, 300);
	/* Bitmaps: the apex, a delegation with and without DS; no NSEC at glue or an empty
	 * non-terminal. */
	uint8_t next[DNAME_MAX], want[DNAME_MAX];
	uint64_t apex = T(RR_NS) | T(RR_SOA) | T(RR_MX) | T(RR_TXT) | T(RR_RRSIG) | T(RR_NSEC) |
			T(RR_DNSKEY) | T(RR_CDS) | T(RR_CDNSKEY);
	assert_int_equal(nsec_types(s, "example.", NULL), apex);
	assert_int_equal(nsec_types(s, "sub.example.", next),
			 T(RR_NS) | T(RR_DS) | T(RR_RRSIG) | T(RR_NSEC));
	t_name(want, "unk.example.");
	assert_true(dname_equal(next, want)); /* past the glue */
	assert_int_equal(nsec_types(s, "insecure.example.", next),
			 T(RR_NS) | T(RR_RRSIG) | T(RR_NSEC));
	t_name(want, "mail.example.");
	assert_true(dname_equal(next, want)); /* past occluded names */
	assert_null(rrset_at(s, "ns.sub.example.", RR_NSEC));
	assert_null(rrset_at(s, "ent.example.", RR_NSEC));
	/* The last NSEC points back to the apex. */
	nsec_types(s, "www.example.", next);
	assert_true(dname_equal(next, s->apex_name));
}

/* RRSIG fields: who signed what, labels, times. */
static void check_rrsigs(const zone_t *s, const keyset_t *ks, const dnssec_conf_t *conf)
{
	int zsks = 0, ksks = 0;
	bool split = false;
	for (int i = 0; i < ks->n; i++) {
		split = split || !key_is_ksk(ks->keys[i]);
	}
	for (int i = 0; i < ks->n; i++) {
		if (key_is_ksk(ks->keys[i])) {
			ksks++;
		}
		if (!key_is_ksk(ks->keys[i]) || !split) {
			zsks++;
		}
	}
	assert_int_equal(rrset_at(s, "host.example.", RR_A)->sigs->count, zsks);
	assert_int_equal(rrset_at(s, "example.", RR_DNSKEY)->sigs->count, ksks);
	assert_int_equal(rrset_at(s, "example.", RR_CDS)->sigs->count, ksks);
	const uint8_t *sig = rrset_at(s, "*.wild.example.", RR_A)->sigs->rdata + 2;
	assert_int_equal(sig[3], 2); /* "*" not counted */
	uint32_t expire = dns_u32(sig + 8), incept = dns_u32(sig + 12);
	assert_int_equal(incept, (uint32_t)(now - conf->sig_inception));
	assert_true(expire <= (uint32_t)(now + conf->sig_lifetime));
	assert_true(expire >= (uint32_t)(now + conf->sig_lifetime - conf->sig_lifetime / 10));
	sig = rrset_at(s, "a.b.c.d.example.", RR_TXT)->sigs->rdata + 2;
	assert_int_equal(sig[3], 5);
	assert_int_equal(dns_u32(sig + 4), 300);
}

static void sign_and_check(uint8_t alg, bool split, bool nsec3, bool opt_out)
{
	keyset_t ks = { 0 };
	dnssec_conf_t conf;
	dnssec_sign_stats_t st;
	zone_t *in = unsigned_zone();

	ks.keys[ks.n++] = t_key("example.", alg, KEY_FLAG_ZONE | KEY_FLAG_SEP, now);
	if (split) {
		ks.keys[ks.n++] = t_key("example.", alg, KEY_FLAG_ZONE, now);
	}
	dnssec_conf_init(&conf);
	conf.nsec3 = nsec3;
	conf.opt_out = opt_out;
	if (nsec3 && alg == KEY_ALG_RSASHA256) {
		conf.iterations = 5;
		conf.salt_len = 4;
		memcpy(conf.salt, "\xaa\xbb\xcc\xdd", 4);
	}
	zone_t *s = t_sign(in, NULL, &ks, &conf, now, &st);
	check_structure(s, &ks, nsec3);
	check_rrsigs(s, &ks, &conf);
	int verified = t_verify_zone(s, &ks);
	assert_int_equal((uint64_t)verified, st.signatures_made);
	assert_int_equal(st.signatures_reused, 0);
	assert_true(verified > 20);

	/* Signing a signed zone again gives the same zone (its DNSSEC records replaced). */
	zone_t *again = t_sign(s, NULL, &ks, &conf, now, &st);
	assert_int_equal(again->nrecords, s->nrecords);
	assert_int_equal(again->nnsec3, s->nnsec3);
	zone_free(again);

	t_external_verify(s, "example.", -1, true);
	t_external_verify(s, "example.", 7, false);
	zone_free(s);
	zone_free(in);
	t_keyset_clear(&ks);
}

static void test_nsec_ecdsa(void **state)
{
	sign_and_check(KEY_ALG_ECDSAP256SHA256, true, false, false);
}

static void test_nsec3_ecdsa(void **state)
{
	sign_and_check(KEY_ALG_ECDSAP256SHA256, true, true, false);
}

static void test_nsec_ed25519(void **state)
{
	sign_and_check(KEY_ALG_ED25519, false, false, false);
}

static void test_nsec3_ed25519_optout(void **state)
{
	sign_and_check(KEY_ALG_ED25519, false, true, true);
}

static void test_nsec_rsa(void **state)
{
	sign_and_check(KEY_ALG_RSASHA256, false, false, false);
}

static void test_nsec3_rsa(void **state)
{
	sign_and_check(KEY_ALG_RSASHA256, true, true, false);
}

/* Opt-out leaves the insecure delegation out of the chain and sets the flag. */
static void test_nsec3_optout_chain(void **state)
{
	keyset_t ks = { 0 };
	dnssec_conf_t conf;
	zone_t *in = unsigned_zone();
	uint8_t owner[DNAME_MAX], name[DNAME_MAX];

	ks.keys[ks.n++] = t_key("example.", KEY_ALG_ED25519, KEY_FLAG_ZONE | KEY_FLAG_SEP, now);
	dnssec_conf_init(&conf);
	conf.nsec3 = true;
	zone_t *plain = t_sign(in, NULL, &ks, &conf, now, NULL);
	conf.opt_out = true;
	zone_t *opt = t_sign(in, NULL, &ks, &conf, now, NULL);
	assert_int_equal(opt->nnsec3 + 1, plain->nnsec3);
	t_name(name, "insecure.example.");
	assert_true(dnssec_nsec3_owner(owner, name, opt->apex_name, 0, NULL, 0) > 0);
	assert_non_null(zone_find_nsec3(plain, owner, false));
	assert_null(zone_find_nsec3(opt, owner, false));
	const zone_rrset_t *n3 = zone_node_rrset(opt->nsec3[0], RR_NSEC3);
	assert_int_equal(n3->rdata[2 + 1], 1); /* flags: opt-out */
	assert_int_equal(n3->ttl, 300);
	/* NSEC3PARAM flags are 0 (RFC 5155 §4.1.2). */
	const zone_rrset_t *param = zone_node_rrset(opt->apex, RR_NSEC3PARAM);
	assert_int_equal(param->rdata[2 + 1], 0);
	/* Empty non-terminals have an NSEC3 with an empty bitmap; glue has none. */
	t_name(name, "y.ent.example.");
	assert_true(dnssec_nsec3_owner(owner, name, opt->apex_name, 0, NULL, 0) > 0);
	const zone_node_t *ent = zone_find_nsec3(opt, owner, false);
	assert_non_null(ent);
	n3 = zone_node_rrset(ent, RR_NSEC3);
	assert_int_equal(dns_u16(n3->rdata), 1 + 1 + 2 + 1 + 1 + 20);
	t_name(name, "ns.sub.example.");
	assert_true(dnssec_nsec3_owner(owner, name, opt->apex_name, 0, NULL, 0) > 0);
	assert_null(zone_find_nsec3(opt, owner, false));
	zone_free(opt);
	zone_free(plain);
	zone_free(in);
	t_keyset_clear(&ks);
}

/* --- reuse ------------------------------------------------------------------------- */

static bool same_sigs(const zone_rrset_t *a, const zone_rrset_t *b)
{
	return a->sigs != NULL && b->sigs != NULL && a->sigs->len == b->sigs->len &&
	       memcmp(a->sigs->rdata, b->sigs->rdata, a->sigs->len) == 0;
}

/* Every RRset of \a b whose signatures differ from those of the same RRset in \a a, as
 * "owner/type" joined by spaces. */
static void changed(const zone_t *a, const zone_t *b, char *out, size_t outlen)
{
	out[0] = '\0';
	for (int pass = 0; pass < 2; pass++) {
		uint32_t n = pass == 0 ? b->nnodes : b->nnsec3;
		for (uint32_t k = 0; k < n; k++) {
			const zone_node_t *node = pass == 0 ? b->nodes[k] : b->nsec3[k];
			const zone_node_t *old = pass == 0 ? zone_find(a, node->owner)
							   : zone_find_nsec3(a, node->owner, false);
			for (uint16_t i = 0; i < node->nrrsets; i++) {
				const zone_rrset_t *rs = &node->rrsets[i];
				const zone_rrset_t *ors =
					old ? zone_node_rrset(old, rs->type) : NULL;
				char name[DNAME_STR_MAX], type[16];
				if (rs->type == RR_RRSIG || rs->sigs == NULL ||
				    (ors != NULL && same_sigs(rs, ors))) {
					continue;
				}
				dname_to_str(name, sizeof(name), node->owner);
				dns_type_to_str(rs->type, type, sizeof(type));
				size_t l = strlen(out);
				snprintf(out + l, outlen - l, "%s%s/%s", l ? " " : "",
					 pass == 1 ? "nsec3" : name, type);
			}
		}
	}
}

static zone_t *with_lines(const char *const *extra, size_t nextra, const char *drop)
{
	const char *lines[NREC + 4];
	size_t n = 0;
	for (size_t i = 0; i < NREC; i++) {
		if (drop == NULL || strcmp(zone_text[i], drop) != 0) {
			lines[n++] = zone_text[i];
		}
	}
	for (size_t i = 0; i < nextra; i++) {
		lines[n++] = extra[i];
	}
	return t_build("example.", lines, n);
}

static void reuse(bool nsec3)
{
	keyset_t ks = { 0 };
	dnssec_conf_t conf;
	dnssec_sign_stats_t st;
	char diff[4096];
	zone_t *in = unsigned_zone();

	ks.keys[ks.n++] =
		t_key("example.", KEY_ALG_ECDSAP256SHA256, KEY_FLAG_ZONE | KEY_FLAG_SEP, now);
	ks.keys[ks.n++] = t_key("example.", KEY_ALG_ECDSAP256SHA256, KEY_FLAG_ZONE, now);
	dnssec_conf_init(&conf);
	conf.nsec3 = nsec3;
	zone_t *s1 = t_sign(in, NULL, &ks, &conf, now, &st);
	uint64_t all = st.signatures_made;

	/* Nothing changed: everything reused, an hour later too. */
	zone_t *s2 = t_sign(in, s1, &ks, &conf, now + 3600, &st);
	assert_int_equal(st.signatures_made, 0);
	assert_int_equal(st.signatures_reused, all);
	changed(s1, s2, diff, sizeof(diff));
	assert_string_equal(diff, "");
	zone_free(s2);

	/* One RDATA changed: that RRset alone. */
	const char *const one[] = { "host.example. 300 A 192.0.2.81" };
	zone_t *in2 = with_lines(one, 1, "host.example. 300 A 192.0.2.80");
	s2 = t_sign(in2, s1, &ks, &conf, now + 3600, &st);
	assert_int_equal(st.signatures_made, 1);
	assert_int_equal(st.signatures_reused, all - 1);
	changed(s1, s2, diff, sizeof(diff));
	assert_string_equal(diff, "host.example./A");
	assert_int_equal(t_verify_zone(s2, &ks), all);
	zone_free(s2);
	zone_free(in2);

	/* A TTL changed: re-signed as well (the TTL is signed). */
	const char *const ttl[] = { "ns1.example. 7200 A 192.0.2.1" };
	in2 = with_lines(ttl, 1, "ns1.example. 3600 A 192.0.2.1");
	s2 = t_sign(in2, s1, &ks, &conf, now + 3600, &st);
	changed(s1, s2, diff, sizeof(diff));
	assert_string_equal(diff, "ns1.example./A");
	zone_free(s2);
	zone_free(in2);

	/* A new name: its A, its NSEC/NSEC3 and the one before it in the chain. */
	const char *const added[] = { "new.example. 300 A 192.0.2.200" };
	in2 = with_lines(added, 1, NULL);
	s2 = t_sign(in2, s1, &ks, &conf, now + 3600, &st);
	assert_int_equal(st.signatures_made, 3);
	changed(s1, s2, diff, sizeof(diff));
	if (nsec3) {
		assert_string_equal(diff, "new.example./A nsec3/NSEC3 nsec3/NSEC3");
	} else {
		assert_string_equal(diff, "mail.example./NSEC new.example./A new.example./NSEC");
	}
	assert_int_equal(t_verify_zone(s2, &ks), all + 2); /* one NSEC replaced */
	zone_free(s2);
	zone_free(in2);

	/* Past the refresh time: everything anew; next_resign moves on. */
	zone_t *s3 = NULL;
	int64_t next = 0;
	assert_int_equal(
		dnssec_sign_zone(in, s1, &ks, &conf, now + conf.sig_refresh + 1, &s3, &next, &st),
		E_OK);
	assert_int_equal(st.signatures_made, all);
	assert_int_equal(st.signatures_reused, 0);
	int64_t t = now + conf.sig_refresh + 1;
	assert_true(next <= t + conf.sig_lifetime - conf.sig_refresh);
	assert_true(next >= t + conf.sig_lifetime - conf.sig_lifetime / 10 - conf.sig_refresh);
	zone_free(s3);

	/* The ZSK retired: its signatures are not reused. */
	ks.keys[1]->timing.inactive = now + 1800;
	ks.keys[ks.n++] = t_key("example.", KEY_ALG_ECDSAP256SHA256, KEY_FLAG_ZONE, now);
	s2 = t_sign(in, s1, &ks, &conf, now + 3600, &st);
	/* The DNSKEY RRset changed (a new key): the KSK signs it anew, the new ZSK everything
	 * else; only the KSK's signatures over CDS and CDNSKEY stay. */
	assert_int_equal(st.signatures_made, all - 2);
	assert_int_equal(st.signatures_reused, 2);
	assert_int_equal(t_verify_zone(s2, &ks), all);
	zone_free(s2);

	zone_free(s1);
	zone_free(in);
	t_keyset_clear(&ks);
}

static void test_reuse_nsec(void **state)
{
	reuse(false);
}

static void test_reuse_nsec3(void **state)
{
	reuse(true);
}

/* No active key: an error, no zone. */
static void test_no_key(void **state)
{
	keyset_t ks = { 0 };
	dnssec_conf_t conf;
	zone_t *in = unsigned_zone(), *out = NULL;
	int64_t next;
	dnssec_sign_stats_t st;
	dnssec_conf_init(&conf);
	ks.keys[ks.n++] = t_key("example.", KEY_ALG_ED25519, KEY_FLAG_ZONE | KEY_FLAG_SEP, now);
	ks.keys[0]->timing.activate = now + 100;
	assert_int_equal(dnssec_sign_zone(in, NULL, &ks, &conf, now, &out, &next, &st), -ENOKEY);
	assert_null(out);
	zone_free(in);
	t_keyset_clear(&ks);
}

/* Many threads on a zone of a few thousand names give the same zone as one thread. */
static void test_threads(void **state)
{
	enum { N = 3000 };
	static char lines[N + 2][96];
	const char *ptr[N + 2];
	keyset_t ks = { 0 };
	dnssec_conf_t conf;
	dnssec_sign_stats_t st1, st8;

	snprintf(lines[0], sizeof(lines[0]), "big. 3600 SOA ns.big. h.big. 1 3600 900 604800 300");
	snprintf(lines[1], sizeof(lines[1]), "big. 3600 NS ns.big.");
	for (int i = 0; i < N; i++) {
		snprintf(lines[i + 2], sizeof(lines[0]), "h%d.big. 300 A 192.0.2.%d", i, i % 250);
	}
	for (int i = 0; i < N + 2; i++) {
		ptr[i] = lines[i];
	}
	zone_t *in = t_build("big.", ptr, N + 2);
	ks.keys[ks.n++] = t_key("big.", KEY_ALG_ED25519, KEY_FLAG_ZONE | KEY_FLAG_SEP, now);
	dnssec_conf_init(&conf);
	conf.threads = 1;
	zone_t *one = t_sign(in, NULL, &ks, &conf, now, &st1);
	conf.threads = 8;
	zone_t *eight = t_sign(in, NULL, &ks, &conf, now, &st8);
	assert_int_equal(st1.signatures_made, st8.signatures_made);
	assert_int_equal(one->nrecords, eight->nrecords);
	/* Ed25519 is deterministic: the very same signatures. */
	for (uint32_t k = 0; k < one->nnodes; k++) {
		const zone_rrset_t *a = zone_node_rrset(one->nodes[k], RR_RRSIG);
		const zone_rrset_t *b = zone_node_rrset(eight->nodes[k], RR_RRSIG);
		assert_int_equal(a->len, b->len);
		assert_memory_equal(a->rdata, b->rdata, a->len);
	}
	assert_int_equal(t_verify_zone(eight, &ks), st8.signatures_made);
	zone_free(one);
	zone_free(eight);
	zone_free(in);
	t_keyset_clear(&ks);
}

int main(void)
{
	now = (int64_t)time(NULL);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nsec_ecdsa),
		cmocka_unit_test(test_nsec3_ecdsa),
		cmocka_unit_test(test_nsec_ed25519),
		cmocka_unit_test(test_nsec3_ed25519_optout),
		cmocka_unit_test(test_nsec_rsa),
		cmocka_unit_test(test_nsec3_rsa),
		cmocka_unit_test(test_nsec3_optout_chain),
		cmocka_unit_test(test_reuse_nsec),
		cmocka_unit_test(test_reuse_nsec3),
		cmocka_unit_test(test_no_key),
		cmocka_unit_test(test_threads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
