/*  Unit tests: dns/rrtext.c (records from presentation format). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>

#include "dns/err.h"
#include "dns/name.h"
#include "dns/rrtext.h"
#include "dns/rrtype.h"

static const uint8_t origin[] = "\x07"
				"example"
				"\x03"
				"com";

static dns_rr_t *rr;
static char err[256];

static int setup(void **state)
{
	rr = calloc(1, sizeof(*rr));
	return rr == NULL ? -1 : 0;
}

static int teardown(void **state)
{
	free(rr);
	return 0;
}

static int parse(const char *text)
{
	return dns_rr_from_text(rr, text, origin, 3600, NULL, err, sizeof(err));
}

static void assert_rdata(const void *want, size_t len)
{
	assert_int_equal(rr->rdlen, len);
	assert_memory_equal(rr->rdata, want, len);
}

static void assert_error(const char *text, const char *msg)
{
	int ret = parse(text);
	if (ret != E_ZONE_SYNTAX || strstr(err, msg) == NULL) {
		print_error("'%s': got %d '%s', want '%s'\n", text, ret, err, msg);
		fail();
	}
}

/* The record as ldns reads it must be octet for octet what dns_rr_from_text produced. */
static void assert_same_as_ldns(const char *text)
{
	ldns_rdf *o = ldns_rdf_new_frm_data(LDNS_RDF_TYPE_DNAME, sizeof(origin), origin);
	ldns_rr *lr = NULL;
	uint8_t wire[65536];
	size_t n = 0;
	int ret = parse(text);

	if (ret != E_OK) {
		print_error("'%s': %s\n", text, err);
		fail();
	}
	assert_int_equal(ldns_rr_new_frm_str(&lr, text, 3600, o, NULL), LDNS_STATUS_OK);
	for (size_t i = 0; i < ldns_rr_rd_count(lr); i++) {
		memcpy(wire + n, ldns_rdf_data(ldns_rr_rdf(lr, i)),
		       ldns_rdf_size(ldns_rr_rdf(lr, i)));
		n += ldns_rdf_size(ldns_rr_rdf(lr, i));
	}
	assert_int_equal(rr->type, ldns_rr_get_type(lr));
	assert_int_equal(rr->ttl, ldns_rr_ttl(lr));
	assert_int_equal(dname_len(rr->owner), ldns_rdf_size(ldns_rr_owner(lr)));
	assert_memory_equal(rr->owner, ldns_rdf_data(ldns_rr_owner(lr)), dname_len(rr->owner));
	if (rr->rdlen != n || memcmp(rr->rdata, wire, n) != 0) {
		print_error("'%s': rdata differs from ldns (%u vs %zu octets)\n", text, rr->rdlen,
			    n);
		fail();
	}
	ldns_rr_free(lr);
	ldns_rdf_deep_free(o);
}

static void test_a_aaaa(void **state)
{
	assert_int_equal(parse("www 300 IN A 192.0.2.1"), E_OK);
	assert_memory_equal(rr->owner,
			    "\x03www\x07"
			    "example\x03"
			    "com",
			    17);
	assert_int_equal(rr->type, RR_A);
	assert_int_equal(rr->rclass, CLASS_IN);
	assert_int_equal(rr->ttl, 300);
	assert_rdata("\xc0\x00\x02\x01", 4);

	assert_int_equal(parse("www AAAA 2001:db8::1"), E_OK);
	assert_int_equal(rr->ttl, 3600);
	assert_rdata("\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01", 16);

	assert_error("www A 1.2.3", "bad IPv4 address '1.2.3'");
	assert_error("www A 1.2.3.4 5.6.7.8", "unexpected '5.6.7.8'");
	assert_error("www AAAA 1.2.3.4", "bad IPv6 address '1.2.3.4'");
	assert_error("www A", "A record without its address");
}

static void test_owner_ttl_class(void **state)
{
	static const uint8_t prev[] = "\x04prev\x07"
				      "example\x03"
				      "com";

	/* TTL and class in either order, TTL units as BIND writes them. */
	assert_int_equal(parse("a IN 1h A 192.0.2.1"), E_OK);
	assert_int_equal(rr->ttl, 3600);
	assert_int_equal(parse("a 1w2d3h4m5s CLASS1 A 192.0.2.1"), E_OK);
	assert_int_equal(rr->ttl, 7 * 86400 + 2 * 86400 + 3 * 3600 + 4 * 60 + 5);
	assert_int_equal(rr->rclass, CLASS_IN);
	assert_int_equal(parse("a CH TXT \"x\""), E_OK);
	assert_int_equal(rr->rclass, CLASS_CH);

	/* @ and absolute names; the previous owner for a blank one. */
	assert_int_equal(parse("@ A 192.0.2.1"), E_OK);
	assert_memory_equal(rr->owner, origin, sizeof(origin));
	assert_int_equal(parse("other.test. A 192.0.2.1"), E_OK);
	assert_memory_equal(rr->owner, "\x05other\x04test", 12);
	assert_int_equal(
		dns_rr_from_text(rr, "\t300 A 192.0.2.1", origin, 0, prev, err, sizeof(err)), E_OK);
	assert_memory_equal(rr->owner, prev, sizeof(prev));
	assert_error(" A 192.0.2.1", "no owner name");

	/* Without a default, the caller learns that the TTL was omitted. */
	assert_int_equal(dns_rr_from_text(rr, "a A 192.0.2.1", origin, DNS_TTL_UNSET, NULL, err,
					  sizeof(err)),
			 E_OK);
	assert_int_equal(rr->ttl, DNS_TTL_UNSET);

	assert_error("a 1x A 192.0.2.1", "bad TTL '1x'");
	assert_error("a 2147483648 A 192.0.2.1", "bad TTL");
	assert_error("a 1h30 A 192.0.2.1", "bad TTL");
	assert_error("a 1h 2h A 192.0.2.1", "bad TTL");
	assert_error("a AAAAX ::1", "unknown type 'AAAAX'");
	assert_error("a IN", "record without a type");
	assert_error("a..b A 192.0.2.1", "bad owner name 'a..b'");
	assert_error("", "empty record");
}

static void test_ttl_class_from_str(void **state)
{
	uint32_t t = 0;

	assert_int_equal(dns_ttl_from_str("0", &t), E_OK);
	assert_int_equal(t, 0);
	assert_int_equal(dns_ttl_from_str("2147483647", &t), E_OK);
	assert_int_equal(t, 2147483647u);
	assert_int_equal(dns_ttl_from_str("1D", &t), E_OK);
	assert_int_equal(t, 86400);
	assert_int_equal(dns_ttl_from_str("2h30m", &t), E_OK);
	assert_int_equal(t, 9000);
	assert_int_equal(dns_ttl_from_str("1s1w", &t), E_OK);
	assert_int_equal(t, 604801);
	assert_int_equal(dns_ttl_from_str("", &t), E_ZONE_SYNTAX);
	assert_int_equal(dns_ttl_from_str("h", &t), E_ZONE_SYNTAX);
	assert_int_equal(dns_ttl_from_str("1y", &t), E_ZONE_SYNTAX);
	assert_int_equal(dns_ttl_from_str("4294967296", &t), E_ZONE_SYNTAX);
	assert_int_equal(dns_ttl_from_str("-1", &t), E_ZONE_SYNTAX);

	assert_int_equal(dns_class_from_str("in"), CLASS_IN);
	assert_int_equal(dns_class_from_str("CHAOS"), CLASS_CH);
	assert_int_equal(dns_class_from_str("CLASS255"), 255);
	assert_int_equal(dns_class_from_str("CLASS65536"), 0);
	assert_int_equal(dns_class_from_str("A"), 0);
}

static void test_type_names(void **state)
{
	char buf[16];

	assert_int_equal(dns_type_from_str("A"), RR_A);
	assert_int_equal(dns_type_from_str("aaaa"), RR_AAAA);
	assert_int_equal(dns_type_from_str("SVCB"), 64);
	assert_int_equal(dns_type_from_str("https"), 65);
	assert_int_equal(dns_type_from_str("TYPE65534"), 65534);
	assert_int_equal(dns_type_from_str("type1"), RR_A);
	assert_int_equal(dns_type_from_str("TYPE0"), 0);
	assert_int_equal(dns_type_from_str("TYPE65536"), 0);
	assert_int_equal(dns_type_from_str("TYPE1x"), 0);
	assert_int_equal(dns_type_from_str("AAAAX"), 0);
	assert_int_equal(dns_type_from_str(""), 0);

	assert_string_equal(dns_type_to_str(RR_A, buf, sizeof(buf)), "A");
	assert_string_equal(dns_type_to_str(RR_NSEC3PARAM, buf, sizeof(buf)), "NSEC3PARAM");
	assert_string_equal(dns_type_to_str(257, buf, sizeof(buf)), "CAA");
	assert_string_equal(dns_type_to_str(65534, buf, sizeof(buf)), "TYPE65534");
	assert_string_equal(dns_type_to_str(54, buf, sizeof(buf)), "TYPE54");
	assert_string_equal(dns_type_to_str(0, buf, sizeof(buf)), "TYPE0");
}

static void test_names_in_rdata(void **state)
{
	assert_int_equal(parse("a MX 10 mail"), E_OK);
	assert_rdata("\x00\x0a\x04mail\x07"
		     "example\x03"
		     "com",
		     20);
	assert_int_equal(parse("a CNAME @"), E_OK);
	assert_rdata(origin, sizeof(origin));
	/* Names in RDATA are never compressed, even when they repeat the owner. */
	assert_int_equal(parse("www.example.com. NS www.example.com."), E_OK);
	assert_rdata("\x03www\x07"
		     "example\x03"
		     "com",
		     17);
	assert_int_equal(parse("a SRV 1 2 53 ns.Example.NET."), E_OK);
	assert_rdata("\x00\x01\x00\x02\x00\x35\x02ns\x07"
		     "Example\x03NET",
		     22);

	assert_error("a MX 70000 mail", "bad MX preference '70000'");
	assert_error("a MX -1 mail", "bad MX preference '-1'");
	assert_error("a MX 10", "MX record without its exchange name");
	assert_error("a NS a..b", "bad NS target name 'a..b'");
	assert_error("a SRV 1 2 mail", "bad SRV port 'mail'");
	assert_error("a CNAME x y", "unexpected 'y' after the CNAME data");
}

static void test_soa(void **state)
{
	assert_int_equal(parse("@ SOA ns hostmaster 2024010101 1h 15m 1w 1d"), E_OK);
	assert_int_equal(rr->rdlen, 16 + 24 + 20);
	assert_memory_equal(rr->rdata + rr->rdlen - 20,
			    "\x78\xa3\xf1\x75\x00\x00\x0e\x10\x00\x00\x03\x84\x00\x09\x3a\x80"
			    "\x00\x01\x51\x80",
			    20);
	assert_error("@ SOA ns hostmaster 1 2 3 4", "SOA record without its minimum");
	assert_error("@ SOA ns hostmaster 4294967296 1 2 3 4", "bad SOA serial '4294967296'");
	assert_error("@ SOA ns hostmaster 1 1x 2 3 4", "bad SOA refresh '1x'");
}

static void test_txt(void **state)
{
	assert_int_equal(parse("t TXT \"a;b\" \"c\\\"d\" e \"\""), E_OK);
	assert_rdata("\x03"
		     "a;b\x03"
		     "c\"d\x01"
		     "e\x00",
		     11);
	assert_int_equal(parse("t TXT \"\\065\\255 x\""), E_OK);
	assert_rdata("\x04"
		     "A\xff x",
		     5);
	assert_error("t TXT \"abc", "missing closing quote");
	assert_error("t TXT \"\\256\"", "bad escape");
	assert_error("t TXT", "TXT record without its text");

	char big[400];
	memset(big, 'x', sizeof(big));
	memcpy(big, "t TXT ", 6);
	big[6 + 256] = '\0';
	assert_error(big, "TXT string longer than 255 octets");
	big[6 + 255] = '\0';
	assert_int_equal(parse(big), E_OK);
	assert_int_equal(rr->rdlen, 256);
}

/* RFC 3597: unknown types, unknown classes, generic RDATA for known types. */
static void test_rfc3597(void **state)
{
	assert_int_equal(parse("u 60 CLASS1 TYPE65534 \\# 3 abcdef"), E_OK);
	assert_int_equal(rr->type, 65534);
	assert_int_equal(rr->rclass, CLASS_IN);
	assert_rdata("\xab\xcd\xef", 3);
	assert_int_equal(parse("u TYPE65534 \\# 3 AB cd E f"), E_OK);
	assert_rdata("\xab\xcd\xef", 3);
	assert_int_equal(parse("u TYPE65534 \\# 0"), E_OK);
	assert_int_equal(rr->rdlen, 0);

	/* Generic RDATA of a known type: the same octets as the type's own syntax. */
	assert_int_equal(parse("a TYPE1 \\# 4 C0000201"), E_OK);
	assert_int_equal(rr->type, RR_A);
	assert_rdata("\xc0\x00\x02\x01", 4);
	assert_int_equal(parse("a A \\# 4 c0000201"), E_OK);
	assert_rdata("\xc0\x00\x02\x01", 4);
	assert_int_equal(parse("a TYPE15 10 mail"), E_OK);
	assert_int_equal(rr->type, RR_MX);

	assert_error("u TYPE65534 \\# 3 abcd", "says 3 octets, but 4 hex digits");
	assert_error("u TYPE65534 \\# 2 abcdef", "says 2 octets, but 6 hex digits");
	assert_error("u TYPE65534 \\# 1 abc", "odd number");
	assert_error("u TYPE65534 \\# 3 zzzzzz", "bad hex data 'zzzzzz'");
	assert_error("u TYPE65534 \\# x", "bad RFC 3597 length 'x'");
	assert_error("u TYPE65534 \\#", "without its RFC 3597 length");
	assert_error("u TYPE65534 abcdef", "RFC 3597 form");
	assert_error("a A \\# 5 c000020101", "does not fit type A");
	assert_error("a NS \\# 2 c000", "does not fit type NS"); /* a compression pointer */
	/* Empty RDATA, which ldns does not look at, for types that cannot be empty (found by
	 * fuzz_sqlite_row: the builder refused what the parser had accepted). */
	assert_error("a TYPE24 \\# 0", "does not fit type SIG");
	assert_error("a A \\# 0", "does not fit type A");
	assert_error("a MX \\# 0", "does not fit type MX");
	/* The same inside parentheses, where ldns reads it (fuzz_sqlite_row again). */
	assert_error("a TYPE30 (\\# 0 )", "does not fit type NXT");
}

/* Types only ldns converts. */
static void test_ldns_types(void **state)
{
	assert_int_equal(parse("d DS 60485 5 1 2BB183AF5F22588179A53B0A98631FAD1A292118"), E_OK);
	assert_int_equal(rr->rdlen, 4 + 20);
	assert_int_equal(parse("c CAA 0 issue \"letsencrypt.org\""), E_OK);
	assert_rdata("\x00\x05issueletsencrypt.org", 22);
	assert_int_equal(parse("s SVCB 1 . alpn=h2"), E_OK);
	assert_rdata("\x00\x01\x00\x00\x01\x00\x03\x02h2", 10);

	assert_error("d DS 70000 5 1 2BB1", "bad number (0 to 65535) '70000' in DS data (field 1)");
	assert_error("d DS 1 5 300 2BB1", "bad number (0 to 255) '300' in DS data (field 3)");
	assert_error("d DNAME a..b", "bad domain name 'a..b' in DNAME data");
	assert_error("d DS 1 5 1 zz", "bad hex data 'zz' in DS data");
	assert_error("n NSEC next A BOGUS", "unknown type 'BOGUS' in the NSEC type list");
	assert_error("s RRSIG FOO 13 3 300 20250101000000 20240101000000 1 @ c2ln",
		     "unknown type 'FOO' in RRSIG data (field 1)");
	assert_error("s RRSIG A 13 3 300 2025x 20240101000000 1 @ c2ln",
		     "bad time stamp '2025x' in RRSIG data (field 5)");
	assert_error("s RRSIG A 13 3 300 20250101000000 20240101000000 1 @ !!!",
		     "bad base64 data '!!!' in RRSIG data");
	assert_error("s NSEC3PARAM 1 0 0 xyz", "bad NSEC3 salt 'xyz' in NSEC3PARAM data (field 4)");
	assert_error("s DNAME", "DNAME record with too few data fields");
	assert_error("d DS 1 5", "DS record with too few data fields");
	/* ldns leaks on this one; it must be refused before ldns sees it (ASan checks). */
	assert_error("c CERT 0 1 1 AAAA", "bad certificate type '0' in CERT data (field 1)");
	assert_int_equal(parse("c CERT PKIX 1 1 AAAA"), E_OK);
}

static void test_same_as_ldns(void **state)
{
	static const char *const texts[] = {
		"www 300 IN A 192.0.2.1",
		"www.example.com. 0 IN AAAA ::ffff:192.0.2.1",
		"x 60 IN NS ns1",
		"x 60 IN NS ns1.example.net.",
		"x 60 IN CNAME a\\.b",
		"x 60 IN CNAME \\065\\066c.d",
		"x 60 IN CNAME .",
		"x 60 IN PTR @",
		"x 60 IN MX 0 .",
		"x 60 IN MX 65535 MAIL.Example.",
		"x 60 IN SRV 0 0 0 .",
		"x 60 IN SRV 65535 65535 65535 srv",
		"x 60 IN SOA ns1 hostmaster 1 3600 900 604800 86400",
		"x 60 IN SOA ns1. host\\.master 4294967295 1h 15M 1W 1d",
		"x 60 IN SOA ns1 h 0 1h1m1s 2d3h 1w1d 0",
		"x 60 IN TXT \"hello world\"",
		"x 60 IN TXT a b c",
		"x 60 IN TXT \"\" \"\"",
		"x 60 IN TXT \"tab\there\" \"semi;colon\" \"paren(s)\"",
		"x 60 IN TXT \"q\\\"uote\" back\\\\slash \"\\000\\255\"",
		"x 60 IN TXT a\\ b",
		"x 60 IN TXT \"a\"b",
		"x 60 IN TXT a\"b",
		"x 60 IN TXT \"v=spf1 include:_spf.example.com ~all\"",
		/* converted field by field (rd_fields), not by ldns_rr_new_frm_str */
		"x 60 IN DS 60485 5 1 2BB183AF5F22588179A53B0A98631FAD1A292118",
		"x 60 IN DS 1 RSASHA256 2 2BB183AF 5F225881\t79A53B0A",
		"x 60 IN CDS 0 0 0 00",
		"x 60 IN DNSKEY 257 3 13 mdsswUyr3DPW132mOi8V9xESWE8jTo0dxCjjnopKl+GqJxpVXckHAeF+"
		"KkxLbxILfDLUT0rAK9iUzy1L53eKGQ==",
		"x 60 IN CDNSKEY 256 3 ECDSAP256SHA256 AwEAAbOF AAAA",
		"x 60 IN RRSIG A 13 3 300 20250101000000 20240101000000 12345 example.com. "
		"c2lnbmF0dXJl",
		"x 60 IN RRSIG TYPE65534 8 2 86400 1700000000 1600000000 1 @ c2ln bmF0 dXJl",
		"x 60 IN NSEC next A RRSIG NSEC TYPE65534",
		"x 60 IN NSEC next.example.org.",
		"x 60 IN NSEC3 1 1 12 aabbccdd 2vptu5timamqttgl4luu9kg21e0aor3s A RRSIG",
		"x 60 IN NSEC3 1 0 0 - 2vptu5timamqttgl4luu9kg21e0aor3s",
		"x 60 IN NSEC3PARAM 1 0 0 -",
		"x 60 IN TLSA 3 1 1 "
		"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
		"x 60 IN SMIMEA 3 1 1 0123456789abcdef",
		"x 60 IN SSHFP 4 2 "
		"123456789abcdef67890123456789abcdef67890123456789abcdef123456789a",
		"x 60 IN DNAME target",
		"x 60 IN OPENPGPKEY AAAA BBBB",
		"x 60 IN CSYNC 66 3 A NS AAAA",
	};

	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		assert_same_as_ldns(texts[i]);
	}
}

/* Random records of the fast-path types, each compared with ldns. */
static void test_same_as_ldns_random(void **state)
{
	static const char *const labels[] = { "a",  "b-c",  "xn--d", "\\046", "\\.",
					      "UP", "_srv", "\\\\x", "*",     "0" };
	char text[2048], name[512];
	unsigned seed = 12345;

	for (int i = 0; i < 3000; i++) {
		int k = (int)(rand_r(&seed) % 9);
		size_t n = 0;
		int nl = 1 + (int)(rand_r(&seed) % 4);

		for (int l = 0; l < nl; l++) {
			n += (size_t)snprintf(name + n, sizeof(name) - n, "%s%s", l ? "." : "",
					      labels[rand_r(&seed) % 10]);
		}
		if (rand_r(&seed) % 2) {
			snprintf(name + n, sizeof(name) - n, ".");
		}
		switch (k) {
		case 0:
			snprintf(text, sizeof(text), "o 1 IN A %u.%u.%u.%u", rand_r(&seed) % 256,
				 rand_r(&seed) % 256, rand_r(&seed) % 256, rand_r(&seed) % 256);
			break;
		case 1:
			snprintf(text, sizeof(text), "o 1 IN AAAA 2001:db8:%x::%x:%x",
				 rand_r(&seed) % 65536, rand_r(&seed) % 65536,
				 rand_r(&seed) % 65536);
			break;
		case 2:
			snprintf(text, sizeof(text), "o 1 IN NS %s", name);
			break;
		case 3:
			snprintf(text, sizeof(text), "o 1 IN CNAME %s", name);
			break;
		case 4:
			snprintf(text, sizeof(text), "o 1 IN PTR %s", name);
			break;
		case 5:
			snprintf(text, sizeof(text), "o 1 IN MX %u %s", rand_r(&seed) % 65536,
				 name);
			break;
		case 6:
			snprintf(text, sizeof(text), "o 1 IN SRV %u %u %u %s",
				 rand_r(&seed) % 65536, rand_r(&seed) % 65536,
				 rand_r(&seed) % 65536, name);
			break;
		case 7:
			snprintf(text, sizeof(text), "%s 1 IN SOA %s %s %u %u %uh %ud %uw", name,
				 name, name, (unsigned)rand_r(&seed), rand_r(&seed) % 100000,
				 rand_r(&seed) % 100, rand_r(&seed) % 100, rand_r(&seed) % 100);
			break;
		default: {
			n = (size_t)snprintf(text, sizeof(text), "o 1 IN TXT");
			int ns = 1 + (int)(rand_r(&seed) % 4);
			for (int s = 0; s < ns; s++) {
				bool quoted = rand_r(&seed) % 2;
				int len = (int)(rand_r(&seed) % 40);
				n += (size_t)snprintf(text + n, sizeof(text) - n, " %s",
						      quoted ? "\"" : "");
				for (int c = 0; c < len; c++) {
					unsigned v = rand_r(&seed) % 100;
					if (v < 5) {
						n += (size_t)snprintf(text + n, sizeof(text) - n,
								      "\\%03u",
								      rand_r(&seed) % 256);
					} else if (v < 8) {
						n += (size_t)snprintf(text + n, sizeof(text) - n,
								      "\\\"");
					} else if (v < 12 && quoted) {
						text[n++] = ' ';
					} else {
						text[n++] = (char)('a' + v % 26);
					}
				}
				if (quoted) {
					text[n++] = '"';
				}
				text[n] = '\0';
			}
			break;
		}
		}
		assert_same_as_ldns(text);
	}
}

/* Random records of the field-by-field types, each compared with ldns. */
static void test_same_as_ldns_dnssec(void **state)
{
	static const char *const types[] = { "A",     "NS",        "SOA",  "MX",     "TXT",
					     "AAAA",  "RRSIG",     "NSEC", "DNSKEY", "DS",
					     "NSEC3", "TYPE65534", "CAA",  "SVCB" };
	static const char b64[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char text[4096];
	unsigned seed = 4242;

	for (int i = 0; i < 3000; i++) {
		size_t n;
		int k = (int)(rand_r(&seed) % 5);

		switch (k) {
		case 0:
			n = (size_t)snprintf(text, sizeof(text), "o 1 IN DS %u %u %u ",
					     rand_r(&seed) % 65536, rand_r(&seed) % 256,
					     rand_r(&seed) % 256);
			for (int b = 0, nb = 1 + (int)(rand_r(&seed) % 48); b < nb; b++) {
				n += (size_t)snprintf(text + n, sizeof(text) - n, "%02X%s",
						      rand_r(&seed) % 256,
						      rand_r(&seed) % 8 == 0 ? " " : "");
			}
			break;
		case 1:
		case 2:
			if (k == 1) {
				n = (size_t)snprintf(text, sizeof(text), "o 1 IN DNSKEY %u 3 %u ",
						     rand_r(&seed) % 65536, rand_r(&seed) % 256);
			} else {
				n = (size_t)snprintf(text, sizeof(text),
						     "o 1 IN RRSIG %s %u %u %u %u %s %u sig%u ",
						     types[rand_r(&seed) % 14], rand_r(&seed) % 256,
						     rand_r(&seed) % 256, (unsigned)rand_r(&seed),
						     (unsigned)rand_r(&seed) % 2000000000u,
						     rand_r(&seed) % 2 ? "20240229235959"
								       : "19700101000000",
						     rand_r(&seed) % 65536, rand_r(&seed) % 3);
			}
			for (int b = 0, nb = 1 + (int)(rand_r(&seed) % 40); b < nb; b++) {
				for (int c = 0; c < 4; c++) {
					text[n++] = b64[rand_r(&seed) % 64];
				}
				if (rand_r(&seed) % 6 == 0) {
					text[n++] = ' ';
				}
			}
			text[n] = '\0';
			break;
		case 3:
			n = (size_t)snprintf(text, sizeof(text), "o 1 IN NSEC n%u",
					     rand_r(&seed) % 9);
			for (int t = 0, nt = (int)(rand_r(&seed) % 8); t < nt; t++) {
				n += (size_t)snprintf(text + n, sizeof(text) - n, " %s",
						      types[rand_r(&seed) % 14]);
			}
			break;
		default:
			n = (size_t)snprintf(text, sizeof(text), "o 1 IN NSEC3 1 %u %u ",
					     rand_r(&seed) % 2, rand_r(&seed) % 65536);
			if (rand_r(&seed) % 3 == 0) {
				n += (size_t)snprintf(text + n, sizeof(text) - n,
						      "-"); /* no salt */
			} else {
				for (int b = 0, nb = 1 + (int)(rand_r(&seed) % 8); b < nb; b++) {
					n += (size_t)snprintf(text + n, sizeof(text) - n, "%02x",
							      rand_r(&seed) % 256);
				}
			}
			n += (size_t)snprintf(text + n, sizeof(text) - n, " ");
			for (int c = 0; c < 32; c++) {
				text[n++] = "0123456789abcdefghijklmnopqrstuv"[rand_r(&seed) % 32];
			}
			text[n] = '\0';
			for (int t = 0, nt = (int)(rand_r(&seed) % 5); t < nt; t++) {
				n += (size_t)snprintf(text + n, sizeof(text) - n, " %s",
						      types[rand_r(&seed) % 14]);
			}
			break;
		}
		assert_same_as_ldns(text);
	}
}

static void test_to_text(void **state)
{
	char buf[256];

	assert_int_equal(parse("www 300 IN A 192.0.2.1"), E_OK);
	assert_int_equal(dns_rr_to_text(buf, sizeof(buf), rr->owner, rr->type, rr->ttl, rr->rdata,
					rr->rdlen),
			 E_OK);
	assert_string_equal(buf, "www.example.com.\t300\tIN\tA\t192.0.2.1");

	assert_int_equal(parse("u 60 TYPE65534 \\# 3 abcdef"), E_OK);
	assert_int_equal(dns_rr_to_text(buf, sizeof(buf), rr->owner, rr->type, rr->ttl, rr->rdata,
					rr->rdlen),
			 E_OK);
	assert_string_equal(buf, "u.example.com.\t60\tIN\tTYPE65534\t\\# 3 abcdef");

	/* RDATA that does not fit its type still prints, in RFC 3597 form. */
	assert_int_equal(dns_rr_to_text(buf, sizeof(buf), origin, RR_A, 1,
					(const uint8_t *)"\x01\x02\x03", 3),
			 E_OK);
	assert_string_equal(buf, "example.com.\t1\tIN\tA\t\\# 3 010203");

	assert_int_equal(
		dns_rr_to_text(buf, 8, origin, RR_A, 1, (const uint8_t *)"\x01\x02\x03\x04", 4),
		E_TRUNC);
	assert_int_equal(strlen(buf), 7);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_a_aaaa),
		cmocka_unit_test(test_owner_ttl_class),
		cmocka_unit_test(test_ttl_class_from_str),
		cmocka_unit_test(test_type_names),
		cmocka_unit_test(test_names_in_rdata),
		cmocka_unit_test(test_soa),
		cmocka_unit_test(test_txt),
		cmocka_unit_test(test_rfc3597),
		cmocka_unit_test(test_ldns_types),
		cmocka_unit_test(test_same_as_ldns),
		cmocka_unit_test(test_same_as_ldns_random),
		cmocka_unit_test(test_same_as_ldns_dnssec),
		cmocka_unit_test(test_to_text),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
