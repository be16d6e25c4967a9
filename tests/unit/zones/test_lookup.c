/* Unit tests: the name tree (zones/zone.c, zones/builder.c) and the lookup (zones/lookup.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dns/err.h"
#include "dns/rrtext.h"
#include "dns/rrtype.h"
#include "zones/builder.h"
#include "zones/lookup.h"

static const char *const zone_text[] = {
	"example. 3600 SOA ns1.example. host.example. 7 3600 900 604800 300",
	"example. 3600 NS ns1.example.",
	"example. 3600 NS ns2.example.",
	"example. 3600 MX 10 mail.example.",
	"ns1.example. 3600 A 192.0.2.1",
	"ns2.example. 3600 AAAA 2001:db8::2",
	"mail.example. 3600 A 192.0.2.25",
	"www.example. 300 CNAME web.example.",
	"web.example. 300 CNAME host.example.",
	"host.example. 300 A 192.0.2.80",
	"out.example. 300 CNAME www.elsewhere.",
	"loop1.example. 300 CNAME loop2.example.",
	"loop2.example. 300 CNAME loop1.example.",
	"a.b.c.example. 300 TXT \"deep\"",
	"*.wild.example. 300 A 192.0.2.99",
	"sub.*.wild.example. 300 TXT \"below the wildcard\"",
	"sub.example. 3600 NS ns.sub.example.",
	"sub.example. 3600 NS ns.other.",
	"sub.example. 3600 DS 12345 13 2 "
	"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
	"ns.sub.example. 3600 A 192.0.2.53",
	"unsigned.example. 3600 NS ns.unsigned.example.",
	"ns.unsigned.example. 3600 A 192.0.2.54",
	"dn.example. 300 DNAME target.example.",
	"x.target.example. 300 A 192.0.2.7",
	"_sip._udp.example. 300 SRV 0 5 5060 host.example.",
};

static zone_t *build(void)
{
	zone_builder_t *b = NULL;
	uint8_t apex[DNAME_MAX];
	static dns_rr_t rr;
	char err[256];
	zone_t *z = NULL;

	assert_true(dname_from_str(apex, "example.", NULL) > 0);
	assert_int_equal(zone_builder_new(&b, apex), E_OK);
	for (size_t i = 0; i < sizeof(zone_text) / sizeof(zone_text[0]); i++) {
		assert_int_equal(
			dns_rr_from_text(&rr, zone_text[i], apex, 3600, NULL, err, sizeof(err)),
			E_OK);
		assert_int_equal(
			zone_builder_add(b, rr.owner, rr.type, rr.ttl, rr.rdata, rr.rdlen, "test"),
			E_OK);
	}
	assert_int_equal(zone_builder_finish(b, &z), E_OK);
	return z;
}

static int setup(void **state)
{
	*state = build();
	return 0;
}

static int teardown(void **state)
{
	zone_free(*state);
	return 0;
}

static void name(uint8_t *out, const char *s)
{
	assert_true(dname_from_str(out, s, NULL) > 0);
	dname_lower(out);
}

static lookup_result_t res;

static void lookup(const zone_t *z, const char *qname, uint16_t qtype)
{
	static uint8_t q[DNAME_MAX];
	name(q, qname);
	zone_lookup(z, q, qtype, 0, &res);
}

static bool owner_is(const lookup_item_t *it, const char *s)
{
	uint8_t n[DNAME_MAX];
	name(n, s);
	return dname_equal(it->owner, n);
}

static void test_tree(void **state)
{
	const zone_t *z = *state;
	uint8_t n[DNAME_MAX];

	assert_int_equal(z->serial, 7);
	/* Empty non-terminals exist: b.c.example and c.example. */
	name(n, "b.c.example.");
	assert_non_null(zone_find(z, n));
	assert_int_equal(zone_find(z, n)->nrrsets, 0);
	name(n, "zzz.a.b.c.example.");
	assert_null(zone_find(z, n));
	name(n, "a.b.c.example.");
	assert_ptr_equal(zone_find_encloser(z, (name(n, "q.a.b.c.example."), n)),
			 zone_find(z, (name(n, "a.b.c.example."), n)));
	/* Canonical order: every node sorts after its predecessor. */
	for (uint32_t i = 1; i < z->nnodes; i++) {
		assert_true(dname_cmp(z->nodes[i - 1]->owner, z->nodes[i]->owner) < 0);
		assert_int_equal(z->nodes[i]->index, i);
	}
	/* Predecessor of a missing name, and wrap-around before the apex. */
	name(n, "mailx.example.");
	assert_true(dname_equal(zone_find_predecessor(z, n)->owner, (name(n, "mail.example."), n)));
	name(n, "example.");
	assert_ptr_equal(zone_find_predecessor(z, n), z->apex);
	/* Flags: delegation, glue below it, DNAME. */
	name(n, "sub.example.");
	assert_true(zone_find(z, n)->flags & ZONE_NODE_DELEG);
	name(n, "ns.sub.example.");
	assert_true(zone_find(z, n)->flags & ZONE_NODE_NONAUTH);
	name(n, "dn.example.");
	assert_true(zone_find(z, n)->flags & ZONE_NODE_DNAME);
}

static void test_positive(void **state)
{
	lookup(*state, "MAIL.example.", RR_A);
	assert_int_equal(res.rcode, 0);
	assert_true(res.aa);
	assert_int_equal(res.kind, LOOKUP_ANSWER);
	assert_int_equal(res.nan, 1);
	assert_int_equal(res.an[0].rrset->type, RR_A);
	assert_int_equal(res.nns, 0);
	/* MX: the target's address in additional. */
	lookup(*state, "example.", RR_MX);
	assert_int_equal(res.nan, 1);
	assert_int_equal(res.nad, 1);
	assert_true(owner_is(&res.ad[0], "mail.example."));
	/* SRV target address in additional. */
	lookup(*state, "_sip._udp.example.", RR_SRV);
	assert_int_equal(res.nad, 1);
	assert_true(owner_is(&res.ad[0], "host.example."));
	/* NS at the apex: both name servers' addresses. */
	lookup(*state, "example.", RR_NS);
	assert_int_equal(res.an[0].rrset->count, 2);
	assert_int_equal(res.nad, 2);
}

static void test_negative(void **state)
{
	lookup(*state, "nope.example.", RR_A);
	assert_int_equal(res.rcode, 3);
	assert_int_equal(res.kind, LOOKUP_NXDOMAIN);
	assert_int_equal(res.nan, 0);
	assert_int_equal(res.nns, 1);
	assert_int_equal(res.ns[0].rrset->type, RR_SOA);
	assert_int_equal(res.ns[0].ttl, 300); /* min(3600, MINIMUM 300) */
	/* NODATA */
	lookup(*state, "mail.example.", RR_AAAA);
	assert_int_equal(res.rcode, 0);
	assert_int_equal(res.kind, LOOKUP_NODATA);
	assert_int_equal(res.nns, 1);
	/* Empty non-terminal: NODATA, not NXDOMAIN. */
	lookup(*state, "b.c.example.", RR_A);
	assert_int_equal(res.rcode, 0);
	assert_int_equal(res.kind, LOOKUP_NODATA);
}

static void test_cname(void **state)
{
	lookup(*state, "www.example.", RR_A);
	assert_int_equal(res.rcode, 0);
	assert_int_equal(res.nan, 3);
	assert_int_equal(res.an[0].rrset->type, RR_CNAME);
	assert_int_equal(res.an[1].rrset->type, RR_CNAME);
	assert_int_equal(res.an[2].rrset->type, RR_A);
	assert_true(owner_is(&res.an[2], "host.example."));
	/* Asking for the CNAME itself does not follow it. */
	lookup(*state, "www.example.", RR_CNAME);
	assert_int_equal(res.nan, 1);
	/* Out of zone: the resolver follows. */
	lookup(*state, "out.example.", RR_A);
	assert_int_equal(res.nan, 1);
	assert_int_equal(res.nns, 0);
	assert_int_equal(res.rcode, 0);
	/* A loop ends. */
	lookup(*state, "loop1.example.", RR_A);
	assert_int_equal(res.nan, 2);
	assert_int_equal(res.rcode, 0);
}

static void test_wildcard(void **state)
{
	lookup(*state, "anything.wild.example.", RR_A);
	assert_int_equal(res.rcode, 0);
	assert_int_equal(res.nan, 1);
	assert_true(owner_is(&res.an[0], "anything.wild.example."));
	assert_true(res.an[0].flags & LOOKUP_WILDCARD);
	/* Wildcard NODATA */
	lookup(*state, "anything.wild.example.", RR_MX);
	assert_int_equal(res.kind, LOOKUP_NODATA);
	assert_non_null(res.wildcard);
	/* RFC 4592: the wildcard does not match names below an existing node. */
	lookup(*state, "x.sub.*.wild.example.", RR_A);
	assert_int_equal(res.rcode, 3);
	/* ... nor the "*" node's existing descendants: sub.*.wild is real. */
	lookup(*state, "sub.*.wild.example.", RR_TXT);
	assert_int_equal(res.nan, 1);
	assert_false(res.an[0].flags & LOOKUP_WILDCARD);
	/* The "*" label asked for literally matches the wildcard node itself. */
	lookup(*state, "*.wild.example.", RR_A);
	assert_int_equal(res.nan, 1);
	assert_false(res.an[0].flags & LOOKUP_WILDCARD);
	/* Deeper names match too. */
	lookup(*state, "a.b.wild.example.", RR_A);
	assert_int_equal(res.nan, 1);
}

static void test_referral(void **state)
{
	lookup(*state, "www.sub.example.", RR_A);
	assert_false(res.aa);
	assert_int_equal(res.kind, LOOKUP_REFERRAL);
	assert_int_equal(res.nan, 0);
	assert_int_equal(res.nns, 2); /* NS, and DS for DO queries */
	assert_int_equal(res.ns[0].rrset->type, RR_NS);
	assert_int_equal(res.ns[1].rrset->type, RR_DS);
	assert_true(res.ns[1].flags & LOOKUP_DNSSEC);
	assert_int_equal(res.nad, 1);
	assert_true(res.ad[0].flags & LOOKUP_GLUE);
	/* At the cut itself. */
	lookup(*state, "sub.example.", RR_A);
	assert_int_equal(res.kind, LOOKUP_REFERRAL);
	/* DS at the cut is answered from the parent side, authoritatively. */
	lookup(*state, "sub.example.", RR_DS);
	assert_true(res.aa);
	assert_int_equal(res.kind, LOOKUP_ANSWER);
	assert_int_equal(res.an[0].rrset->type, RR_DS);
	lookup(*state, "unsigned.example.", RR_DS);
	assert_true(res.aa);
	assert_int_equal(res.kind, LOOKUP_NODATA);
	/* Glue is not answered authoritatively. */
	lookup(*state, "ns.sub.example.", RR_A);
	assert_int_equal(res.kind, LOOKUP_REFERRAL);
}

static void test_dname(void **state)
{
	lookup(*state, "x.dn.example.", RR_A);
	assert_int_equal(res.rcode, 0);
	assert_int_equal(res.nan, 3);
	assert_int_equal(res.an[0].rrset->type, RR_DNAME);
	assert_int_equal(res.an[1].rrset->type, RR_CNAME);
	assert_true(res.an[1].flags & LOOKUP_SYNTH);
	assert_true(owner_is(&res.an[1], "x.dn.example."));
	assert_int_equal(res.an[2].rrset->type, RR_A);
	assert_true(owner_is(&res.an[2], "x.target.example."));
	/* The DNAME owner itself is not redirected. */
	lookup(*state, "dn.example.", RR_DNAME);
	assert_int_equal(res.nan, 1);
	lookup(*state, "dn.example.", RR_A);
	assert_int_equal(res.kind, LOOKUP_NODATA);
	/* Synthesis into a missing name: NXDOMAIN after the chain. */
	lookup(*state, "y.dn.example.", RR_A);
	assert_int_equal(res.rcode, 3);
	assert_int_equal(res.nan, 2);
}

static void test_any(void **state)
{
	const zone_t *z = *state;
	uint8_t q[DNAME_MAX];
	name(q, "example.");
	zone_lookup(z, q, RR_ANY, 0, &res);
	assert_int_equal(res.nan, 1);
	zone_lookup(z, q, RR_ANY, LOOKUP_ANY_FULL, &res);
	assert_int_equal(res.nan, 3); /* SOA, NS, MX */
}

static void test_copy_with_serial(void **state)
{
	const zone_t *z = *state;
	zone_builder_t *b = NULL;
	zone_t *copy = NULL;
	uint32_t serial = 0;
	assert_int_equal(zone_builder_new(&b, z->apex_name), E_OK);
	assert_int_equal(zone_builder_serial(b, &serial), E_ZONE_NOSOA);
	assert_int_equal(zone_builder_add_zone(b, z, true), E_OK);
	assert_int_equal(zone_builder_serial(b, &serial), E_OK);
	assert_int_equal(serial, 7);
	zone_builder_set_serial(b, 4000000000u);
	assert_int_equal(zone_builder_finish(b, &copy), E_OK);
	assert_int_equal(copy->serial, 4000000000u);
	assert_int_equal(copy->nnodes, z->nnodes);
	assert_int_equal(copy->nrecords, z->nrecords);
	for (uint32_t i = 0; i < z->nnodes; i++) {
		assert_true(dname_equal(copy->nodes[i]->owner, z->nodes[i]->owner));
		assert_int_equal(copy->nodes[i]->nrrsets, z->nodes[i]->nrrsets);
	}
	zone_free(copy);
}

static void test_builder_errors(void **state)
{
	static const char *const bad[][2] = {
		{ "example. 3600 NS ns1.example.", "no SOA" },
		{ "example. 3600 SOA a. b. 1 2 3 4 5\nx.example. 300 CNAME y.example.\n"
		  "x.example. 300 A 192.0.2.1",
		  "CNAME and A" },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		zone_builder_t *b = NULL;
		zone_t *z = NULL;
		uint8_t apex[DNAME_MAX];
		static dns_rr_t rr;
		char err[256], text[512];
		dname_from_str(apex, "example.", NULL);
		assert_int_equal(zone_builder_new(&b, apex), E_OK);
		snprintf(text, sizeof(text), "%s", bad[i][0]);
		for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
			assert_int_equal(
				dns_rr_from_text(&rr, line, apex, 3600, NULL, err, sizeof(err)),
				E_OK);
			zone_builder_add(b, rr.owner, rr.type, rr.ttl, rr.rdata, rr.rdlen, "t");
		}
		assert_int_not_equal(zone_builder_finish(b, &z), E_OK);
		assert_null(z);
	}
}

/* A random name below example.: 1 to 4 labels of 1 to 12 octets from an alphabet with the
 * octets the canonical key escapes (0x00, 0x01) and ones around them, so that many names
 * share their first eight key octets. */
static void random_name(uint8_t *out, unsigned *seed)
{
	static const uint8_t alphabet[] = { 0x00, 0x01, 0x02, '-', '0', 'a', 'b', 0x7f, 0xff };
	uint8_t tail[] = "\x07"
			 "example";
	int labels = 1 + rand_r(seed) % 4;
	size_t pos = 0;
	for (int l = 0; l < labels; l++) {
		int len = 1 + rand_r(seed) % 12;
		out[pos++] = (uint8_t)len;
		for (int i = 0; i < len; i++) {
			out[pos++] = alphabet[rand_r(seed) % sizeof(alphabet)];
		}
	}
	memcpy(out + pos, tail, sizeof(tail)); /* with the root label */
}

/* The predecessor search (packed key prefixes, then whole keys) against a linear scan in
 * dname_cmp order, for names in the zone, missing names and names outside it. */
static void test_predecessor_random(void **state)
{
	zone_builder_t *b = NULL;
	uint8_t apex[DNAME_MAX], n[DNAME_MAX];
	static dns_rr_t rr;
	char err[256];
	zone_t *z = NULL;
	unsigned seed = 12345;
	(void)state;

	name(apex, "example.");
	assert_int_equal(zone_builder_new(&b, apex), E_OK);
	assert_int_equal(dns_rr_from_text(&rr, zone_text[0], apex, 3600, NULL, err, sizeof(err)),
			 E_OK);
	assert_int_equal(zone_builder_add(b, rr.owner, rr.type, rr.ttl, rr.rdata, rr.rdlen, "t"),
			 E_OK);
	assert_int_equal(zone_builder_add(b, apex, RR_NS, 60, apex, (uint16_t)dname_len(apex), "t"),
			 E_OK);
	for (int i = 0; i < 3000; i++) {
		random_name(n, &seed);
		assert_int_equal(
			zone_builder_add(b, n, RR_TXT, 60, (const uint8_t *)"\x01x", 2, "t"), E_OK);
	}
	assert_int_equal(zone_builder_finish(b, &z), E_OK);
	for (int i = 0; i < 6000; i++) {
		if (i % 3 == 0) {
			const zone_node_t *node = z->nodes[rand_r(&seed) % z->nnodes];
			memcpy(n, node->owner, node->owner_len);
		} else if (i % 500 == 1) {
			name(n, i % 1000 == 1 ? "a." : "zzz.");
		} else {
			random_name(n, &seed);
		}
		const zone_node_t *want = z->nodes[z->nnodes - 1];
		for (uint32_t k = 0; k < z->nnodes && dname_cmp(z->nodes[k]->owner, n) <= 0; k++) {
			want = z->nodes[k];
		}
		assert_ptr_equal(zone_find_predecessor(z, n), want);
	}
	zone_free(z);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_tree, setup, teardown),
		cmocka_unit_test_setup_teardown(test_positive, setup, teardown),
		cmocka_unit_test_setup_teardown(test_negative, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cname, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wildcard, setup, teardown),
		cmocka_unit_test_setup_teardown(test_referral, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dname, setup, teardown),
		cmocka_unit_test_setup_teardown(test_any, setup, teardown),
		cmocka_unit_test_setup_teardown(test_copy_with_serial, setup, teardown),
		cmocka_unit_test(test_builder_errors),
		cmocka_unit_test(test_predecessor_random),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
