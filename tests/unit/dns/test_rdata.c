/* Unit tests: RDATA layouts (dns/rdata.c), against records made from presentation form. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dns/err.h"
#include "dns/name.h"
#include "dns/rdata.h"
#include "dns/rrtext.h"
#include "dns/rrtype.h"

static dns_rr_t *rr_text(const char *text)
{
	static const uint8_t origin[] = "\x07"
					"example"
					"\x00";
	char err[256];
	dns_rr_t *rr = malloc(sizeof(*rr));
	assert_non_null(rr);
	int ret = dns_rr_from_text(rr, text, origin, 3600, NULL, err, sizeof(err));
	if (ret != E_OK) {
		fail_msg("%s: %s", text, err);
	}
	return rr;
}

/* Every type with names: the layout matches, the first name is where the text put it, and
 * the RDATA cut inside the name, or one octet short or long of a fixed tail, is refused. */
static void test_layouts(void **state)
{
	static const struct {
		const char *text;
		int names;
		bool compress;
		bool fixed_tail;
	} cases[] = {
		{ "a NS ns1.target.", 1, true, true },
		{ "a CNAME ns1.target.", 1, true, true },
		{ "a PTR ns1.target.", 1, true, true },
		{ "a MINFO ns1.target. b.target.", 2, true, true },
		{ "a MX 10 ns1.target.", 1, true, true },
		{ "a SOA ns1.target. b.target. 1 2 3 4 5", 2, true, true },
		{ "a DNAME ns1.target.", 1, false, true },
		{ "a RP ns1.target. b.target.", 2, false, true },
		{ "a AFSDB 1 ns1.target.", 1, false, true },
		{ "a RT 1 ns1.target.", 1, false, true },
		{ "a KX 1 ns1.target.", 1, false, true },
		{ "a PX 1 ns1.target. b.target.", 2, false, true },
		{ "a SRV 1 2 3 ns1.target.", 1, false, true },
		{ "a NAPTR 100 10 \"u\" \"E2U+sip\" \"!^.*$!sip:x@y!\" ns1.target.", 1, false,
		  true },
		{ "a RRSIG A 13 2 3600 20300101000000 20200101000000 1 ns1.target. AAAA", 1, false,
		  false },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		dns_rr_t *rr = rr_text(cases[i].text);
		dns_rdata_layout_t l;
		size_t pos;
		int names;
		assert_true(dns_rdata_layout(rr->type, &l));
		assert_int_equal(l.compress, cases[i].compress);
		assert_int_equal(dns_rdata_check(&l, rr->rdata, rr->rdlen), E_OK);
		assert_int_equal(dns_rdata_names(&l, rr->rdata, rr->rdlen, &pos, &names), E_OK);
		assert_int_equal(names, cases[i].names);
		assert_memory_equal(rr->rdata + pos, "\x03ns1\x06target\x00", 12);
		assert_int_not_equal(dns_rdata_check(&l, rr->rdata, pos + 11u), E_OK);
		if (cases[i].fixed_tail) {
			assert_int_not_equal(dns_rdata_check(&l, rr->rdata, rr->rdlen - 1u), E_OK);
			rr->rdata[rr->rdlen] = 0;
			assert_int_not_equal(dns_rdata_check(&l, rr->rdata, rr->rdlen + 1u), E_OK);
		}
		free(rr);
	}
}

static void test_a6(void **state)
{
	dns_rdata_layout_t l;
	size_t pos;
	int names;
	/* prefix 64: 8 octets of suffix, then the prefix name */
	const uint8_t with_name[] = "\x40"
				    "\x00\x00\x00\x00\x00\x00\x00\x01"
				    "\x01p\x00";
	/* prefix 0: the whole address, no name */
	uint8_t full[17] = { 0 };
	(void)state;
	assert_true(dns_rdata_layout(RR_A6, &l));
	assert_true(l.a6);
	assert_int_equal(dns_rdata_names(&l, with_name, sizeof(with_name) - 1, &pos, &names), E_OK);
	assert_int_equal(pos, 9);
	assert_int_equal(names, 1);
	assert_int_equal(dns_rdata_check(&l, with_name, sizeof(with_name) - 1), E_OK);
	assert_int_equal(dns_rdata_check(&l, full, sizeof(full)), E_OK);
	full[0] = 129; /* prefix longer than an address */
	assert_int_not_equal(dns_rdata_check(&l, full, sizeof(full)), E_OK);
}

static void test_opaque(void **state)
{
	dns_rdata_layout_t l;
	(void)state;
	/* no names, or names the canonical form keeps as they are (RFC 6840 §5.1) */
	const uint16_t opaque[] = { RR_A, RR_AAAA, RR_TXT, RR_NSEC, RR_DNSKEY, RR_DS, 65280 };
	for (size_t i = 0; i < sizeof(opaque) / sizeof(opaque[0]); i++) {
		assert_false(dns_rdata_layout(opaque[i], &l));
	}
}

static void test_malformed_names(void **state)
{
	dns_rdata_layout_t l;
	(void)state;
	assert_true(dns_rdata_layout(RR_MX, &l));
	/* too short for the preference, a pointer where a name must be, a label running out */
	assert_int_not_equal(dns_rdata_check(&l, (const uint8_t *)"\x00", 1), E_OK);
	assert_int_not_equal(dns_rdata_check(&l, (const uint8_t *)"\x00\x0a\xc0\x0c", 4), E_OK);
	assert_int_not_equal(dns_rdata_check(&l,
					     (const uint8_t *)"\x00\x0a\x05"
							      "ab",
					     5),
			     E_OK);
	assert_true(dns_rdata_layout(RR_NAPTR, &l));
	/* a character-string longer than what is left */
	assert_int_not_equal(dns_rdata_check(&l, (const uint8_t *)"\x00\x01\x00\x02\x09u", 6),
			     E_OK);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_layouts),
		cmocka_unit_test(test_a6),
		cmocka_unit_test(test_opaque),
		cmocka_unit_test(test_malformed_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
