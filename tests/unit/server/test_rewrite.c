/*  Unit tests of the rewrite stage (server/stages/rewrite.c), through query_process(). */
#include "server/cfg.h"
#include "server/stages/stages.h"
#include "tests/unit/server/stages_harness.h"

static const char zone[] = "$ORIGIN example.org.\n"
			   "$TTL 300\n"
			   "@ IN SOA ns1 hostmaster 1 7200 3600 1209600 60\n"
			   "  NS ns1\n"
			   "ns1 A 192.0.2.53\n"
			   "www A 192.0.2.1\n"
			   "blue A 192.0.2.99\n"
			   "alias CNAME www\n"
			   "mail MX 10 www\n"
			   "ftp.service.us-west-1 A 10.10.10.10\n"
			   "ftp.service.us-west-1 A 10.20.20.20\n";

/* example.com: served so that its names reach the block's stages. */
static const char zone_com[] = "$ORIGIN example.com.\n$TTL 300\n"
			       "@ IN SOA ns1.example.org. hostmaster 1 7200 3600 1209600 60\n"
			       "  NS ns1.example.org.\n";

#define CORE(body)                                                                     \
	"example.org example.com:53 {\n\tfile ZONEFILE example.org\n\tfile ZONEFILE2 " \
	"example.com\n" body "}\n"

static int setup(const char *text, char *err, size_t errlen)
{
	cfg_t *cfg = NULL;
	void *ctx = NULL;
	int ret = E_OK;
	assert_int_equal(cfg_parse_string(&cfg, text, "Corefile", ".", NULL, NULL), E_OK);
	for (int i = 0; i < cfg->blocks[0].ndirs && ret == E_OK; i++) {
		ret = stage_rewrite.setup(&ctx, &cfg->blocks[0].dirs[i], err, errlen);
	}
	stage_rewrite.teardown(ctx);
	cfg_free(cfg);
	return ret;
}

static void ok(const char *line)
{
	char text[1024], err[256] = "";
	snprintf(text, sizeof(text), ". {\n%s\n}\n", line);
	int ret = setup(text, err, sizeof(err));
	if (ret != E_OK) {
		print_error("%s: %s\n", line, err);
	}
	assert_int_equal(ret, E_OK);
}

static void bad(const char *line)
{
	char text[1024], err[256] = "";
	snprintf(text, sizeof(text), ". {\n%s\n}\n", line);
	int ret = setup(text, err, sizeof(err));
	if (ret != E_CFG_SEMANTIC) {
		print_error("accepted: %s\n", line);
	}
	assert_int_equal(ret, E_CFG_SEMANTIC);
	assert_true(err[0] != '\0');
}

static void test_setup_syntax(void **state)
{
	(void)state;
	/* From CoreDNS's documentation of the plugin. */
	ok("rewrite name example.net example.org");
	ok("rewrite name substring service.us-west-1.example.org service.us-west-1.consul");
	ok("rewrite name regex (.*)-(us-west-1)\\.example\\.org {1}.service.{2}.consul");
	ok("rewrite name suffix .schmoogle.com. .google.com.");
	ok("rewrite stop {\n name regex (.*)-(us-west-1)\\.coredns\\.rocks "
	   "{1}.service.{2}.consul\n answer name (.*)\\.service\\.(us-west-1)\\.consul "
	   "{1}-{2}.coredns.rocks\n}");
	ok("rewrite stop name regex (.*)-(us-west-1)\\.coredns\\.rocks {1}.service.{2}.consul "
	   "answer name (.*)\\.service\\.(us-west-1)\\.consul {1}-{2}.coredns.rocks");
	ok("rewrite stop {\n name suffix .coredns.rocks .service.consul answer auto\n}");
	ok("rewrite name regex (.*)\\.example\\.org {1}.example.net answer name "
	   "(.*)\\.example\\.net {1}.example.org value (.*)\\.example\\.net {1}.example.org");
	ok("rewrite continue {\n ttl regex (.*)\\.coredns\\.rocks 15\n}");
	ok("rewrite ttl example.com. 30-300");
	ok("rewrite ttl prefix www. -300");
	ok("rewrite edns0 local set 0xffee 0x61626364");
	ok("rewrite edns0 local set 0xffee abcd");
	ok("rewrite edns0 local append 0xffee {client_ip}");
	ok("rewrite edns0 nsid set");
	ok("rewrite edns0 subnet set 24 56");
	ok("rewrite type ANY HINFO");
	ok("rewrite class CH IN");
	ok("rewrite rcode exact example.org. SERVFAIL FORMERR");
	ok("rewrite rcode example.org. 2 1");
	ok("rewrite cname exact a.example.org. b.example.org.");
	ok("rewrite cname suffix .example.org .example.net");
	ok("rewrite name a.example b.example\nrewrite continue name c.example d.example");
	bad("rewrite name regex ( b");
	bad("rewrite bogus a b");
	bad("rewrite answer name a b");
	bad("rewrite type FOO A");
	bad("rewrite name regex (a) {2}");
	bad("rewrite name wildcard a b");
	bad("rewrite ttl a.example. x");
	bad("rewrite ttl a.example. 300-30");
	bad("rewrite rcode a.example. NOPE NOERROR");
	bad("rewrite edns0 local set 0xffee {bogus}");
	bad("rewrite edns0 subnet set 33 56");
	bad("rewrite edns0 nsid set 1");
	bad("rewrite name regex a b answer frob a b");
}

static bool owner_is(harness_t *h, int i, const char *text)
{
	uint8_t owner[DNAME_MAX], want[DNAME_MAX];
	size_t pos = h->m.rr[i].off;
	assert_true(dname_unpack(h->out, h->len, &pos, owner) > 0);
	assert_true(dname_from_str(want, text, NULL) > 0);
	return dname_equal(owner, want);
}

static void test_exact_answered_back(void **state)
{
	harness_t h;
	char rr[512];
	(void)state;
	h_start(&h, CORE("\trewrite name exact red.example.org blue.example.org\n"), zone);
	assert_true(h_query(&h, "Red.Example.Org.", RR_A, 0) > 0);
	assert_int_equal(h_rcode(&h), RCODE_NOERROR);
	assert_memory_equal(h.out + DNS_HDR_LEN, "\3Red\7Example\3Org", 17);
	assert_int_equal(h.m.count[0], 1);
	assert_string_equal(h_rr(&h, 0, rr, sizeof(rr)), "red.example.org. 300 IN A 192.0.2.99");
	/* The client's spelling of its name, and the question put back for later stages. */
	assert_memory_equal(h.out + h.m.rr[0].off, "\xC0\x0C", 2);
	assert_string_equal((const char *)h.q.req.qname_lc, "\3red\7example\3org");
	h_query(&h, "blue.example.org.", RR_A, 0); /* untouched */
	assert_string_equal(h_rr(&h, 0, rr, sizeof(rr)), "blue.example.org. 300 IN A 192.0.2.99");
	h_stop(&h);
}

static void test_regex_answer_name(void **state)
{
	harness_t h;
	(void)state;
	h_start(&h,
		CORE("\trewrite stop {\n\t\tname regex (.*)-(us-west-1)\\.example\\.org "
		     "{1}.service.{2}.example.org\n\t\tanswer name "
		     "(.*)\\.service\\.(us-west-1)\\.example\\.org {1}-{2}.example.org\n\t}\n"),
		zone);
	h_query(&h, "ftp-us-west-1.example.org.", RR_A, 0);
	assert_int_equal(h_rcode(&h), RCODE_NOERROR);
	assert_int_equal(h.m.count[0], 2);
	assert_true(owner_is(&h, 0, "ftp-us-west-1.example.org."));
	assert_true(owner_is(&h, 1, "ftp-us-west-1.example.org."));
	h_stop(&h);

	/* Without an answer rule the owners stay as the zone has them (the question does not). */
	h_start(&h,
		CORE("\trewrite name regex (.*)-(us-west-1)\\.example\\.org "
		     "{1}.service.{2}.example.org\n"),
		zone);
	h_query(&h, "ftp-us-west-1.example.org.", RR_A, 0);
	assert_memory_equal(h.out + DNS_HDR_LEN,
			    "\x0d"
			    "ftp-us-west-1",
			    14);
	assert_true(owner_is(&h, 0, "ftp.service.us-west-1.example.org."));
	h_stop(&h);

	/* answer auto: the rewritten question becomes the client's again. */
	h_start(&h,
		CORE("\trewrite name regex (.*)-(us-west-1)\\.example\\.org "
		     "{1}.service.{2}.example.org answer auto\n"),
		zone);
	h_query(&h, "ftp-us-west-1.example.org.", RR_A, 0);
	assert_true(owner_is(&h, 0, "ftp-us-west-1.example.org."));
	h_stop(&h);
}

static void test_suffix_auto_and_value(void **state)
{
	harness_t h;
	char rr[512];
	(void)state;
	h_start(&h, CORE("\trewrite name suffix .example.com .example.org answer auto\n"), zone);
	h_query(&h, "alias.example.com.", RR_A, 0);
	assert_int_equal(h_rcode(&h), RCODE_NOERROR);
	assert_int_equal(h.m.count[0], 2);
	/* Owners and targets mapped back alike: the chain stays whole. */
	assert_string_equal(h_rr(&h, 0, rr, sizeof(rr)),
			    "alias.example.com. 300 IN CNAME www.example.com.");
	assert_string_equal(h_rr(&h, 1, rr, sizeof(rr)), "www.example.com. 300 IN A 192.0.2.1");
	h_stop(&h);

	h_start(&h,
		CORE("\trewrite name exact mx.example.com mail.example.org answer value "
		     "(.*)\\.example\\.org {1}.example.net\n"),
		zone);
	h_query(&h, "mx.example.com.", RR_MX, 0);
	assert_int_equal(h.m.count[0], 1);
	assert_string_equal(h_rr(&h, 0, rr, sizeof(rr)),
			    "mx.example.com. 300 IN MX 10 www.example.net.");
	h_stop(&h);
}

static void test_prefix_substring(void **state)
{
	harness_t h;
	(void)state;
	h_start(&h, CORE("\trewrite name prefix red. blue. answer auto\n"), zone);
	h_query(&h, "red.example.org.", RR_A, 0);
	assert_int_equal(h.m.count[0], 1);
	assert_true(owner_is(&h, 0, "red.example.org."));
	h_stop(&h);
	h_start(&h, CORE("\trewrite name substring -west-2 -west-1\n"), zone);
	h_query(&h, "ftp.service.us-west-2.example.org.", RR_A, 0);
	assert_int_equal(h.m.count[0], 2);
	assert_true(owner_is(&h, 0, "ftp.service.us-west-1.example.org."));
	h_stop(&h);
}

static void test_continue_and_stop(void **state)
{
	harness_t h;
	(void)state;
	h_start(&h,
		CORE("\trewrite continue name exact a.example.org b.example.org\n"
		     "\trewrite name exact b.example.org blue.example.org\n"),
		zone);
	h_query(&h, "a.example.org.", RR_A, 0);
	assert_int_equal(h.m.count[0], 1); /* a -> b -> blue */
	h_stop(&h);
	h_start(&h,
		CORE("\trewrite name exact a.example.org b.example.org\n"
		     "\trewrite name exact b.example.org blue.example.org\n"),
		zone);
	h_query(&h, "a.example.org.", RR_A, 0);
	assert_int_equal(h_rcode(&h), RCODE_NXDOMAIN); /* stopped at b */
	h_stop(&h);
}

static void test_type_ttl_rcode(void **state)
{
	harness_t h;
	char rr[512];
	(void)state;
	h_start(&h,
		CORE("\trewrite continue type AAAA A\n"
		     "\trewrite continue ttl exact www.example.org 15\n"
		     "\trewrite continue ttl blue.example.org 100-200\n"
		     "\trewrite rcode exact nope.example.org NXDOMAIN REFUSED\n"),
		zone);
	h_query(&h, "www.example.org.", RR_AAAA, 0);
	assert_int_equal(dns_u16(h.out + DNS_HDR_LEN + 17), RR_AAAA); /* the question asked */
	assert_string_equal(h_rr(&h, 0, rr, sizeof(rr)), "www.example.org. 15 IN A 192.0.2.1");
	h_query(&h, "blue.example.org.", RR_A, 0);
	assert_string_equal(h_rr(&h, 0, rr, sizeof(rr)), "blue.example.org. 200 IN A 192.0.2.99");
	h_query(&h, "nope.example.org.", RR_A, 0);
	assert_int_equal(h_rcode(&h), RCODE_REFUSED);
	assert_int_equal(h.q.req.qtype, RR_A);
	h_stop(&h);
}

static void test_cname_target(void **state)
{
	harness_t h;
	char rr[512];
	(void)state;
	h_start(&h, CORE("\trewrite cname exact www.example.org. blue.example.org.\n"), zone);
	h_query(&h, "alias.example.org.", RR_A, 0);
	assert_int_equal(h.m.count[0], 2);
	assert_string_equal(h_rr(&h, 0, rr, sizeof(rr)),
			    "alias.example.org. 300 IN CNAME blue.example.org.");
	assert_string_equal(h_rr(&h, 1, rr, sizeof(rr)), "blue.example.org. 300 IN A 192.0.2.99");
	h_stop(&h);
}

static void test_invalid_result_is_servfail(void **state)
{
	harness_t h;
	(void)state;
	h_start(&h, CORE("\trewrite name regex (.*)\\.example\\.org {1}..example.org\n"), zone);
	h_query(&h, "www.example.org.", RR_A, 0);
	assert_int_equal(h_rcode(&h), RCODE_SERVFAIL);
	h_stop(&h);
}

static void test_with_cache(void **state)
{
	harness_t h;
	(void)state;
	/* The cache is before rewrite: it keeps the answer under the client's name. */
	h_start(&h, CORE("\tcache\n\trewrite name exact red.example.org blue.example.org\n"), zone);
	h_query(&h, "red.example.org.", RR_A, 0);
	h_query(&h, "red.example.org.", RR_A, 0);
	assert_string_equal(h.q.ss.plugin, "cache");
	assert_int_equal(h.m.count[0], 1);
	assert_true(owner_is(&h, 0, "red.example.org."));
	h_query(&h, "blue.example.org.", RR_A, 0);
	assert_null(h.q.ss.plugin); /* a key of its own */
	h_stop(&h);
}

int main(void)
{
	h_zone2 = zone_com;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_setup_syntax),
		cmocka_unit_test(test_exact_answered_back),
		cmocka_unit_test(test_regex_answer_name),
		cmocka_unit_test(test_suffix_auto_and_value),
		cmocka_unit_test(test_prefix_substring),
		cmocka_unit_test(test_continue_and_stop),
		cmocka_unit_test(test_type_ttl_rcode),
		cmocka_unit_test(test_cname_target),
		cmocka_unit_test(test_invalid_result_is_servfail),
		cmocka_unit_test(test_with_cache),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
