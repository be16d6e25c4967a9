/*  Unit tests of the acl stage (server/stages/acl.c), through query_process(). */
#include "server/cfg.h"
#include "server/stages/stages.h"
#include "tests/unit/server/stages_harness.h"

static const char zone[] = "$ORIGIN example.org.\n"
			   "$TTL 300\n"
			   "@ IN SOA ns1 hostmaster 1 7200 3600 1209600 60\n"
			   "  NS ns1\n"
			   "ns1 A 192.0.2.53\n"
			   "www A 192.0.2.1\n"
			   "www AAAA 2001:db8::1\n"
			   "a A 192.0.2.10\n";

#define CORE(body) "example.org:53 {\n\tfile ZONEFILE\n" body "}\n"

static int setup(const char *text, char *err, size_t errlen)
{
	cfg_t *cfg = NULL;
	void *ctx = NULL;
	int ret = E_OK;
	assert_int_equal(cfg_parse_string(&cfg, text, "/tmp/Corefile", "/tmp", NULL, NULL), E_OK);
	for (int i = 0; i < cfg->blocks[0].ndirs && ret == E_OK; i++) {
		ret = stage_acl.setup(&ctx, &cfg->blocks[0].dirs[i], err, errlen);
	}
	if (ctx != NULL) {
		stage_acl.teardown(ctx);
	}
	cfg_free(cfg);
	return ret;
}

static void test_setup_syntax(void **state)
{
	char err[256];
	(void)state;
	/* The examples of CoreDNS's documentation. */
	assert_int_equal(
		setup(". {\n acl {\n  block type A net 192.168.0.0/16\n }\n}\n", err, sizeof(err)),
		E_OK);
	assert_int_equal(
		setup(". {\n acl {\n  filter type A net 192.168.0.0/16\n }\n}\n", err, sizeof(err)),
		E_OK);
	assert_int_equal(setup(". {\n acl {\n  allow net 192.168.1.0/24\n  block net "
			       "192.168.0.0/16\n }\n}\n",
			       err, sizeof(err)),
			 E_OK);
	assert_int_equal(setup(". {\n acl {\n  allow net 192.168.0.0/24 192.168.1.0/24\n  "
			       "block\n }\n}\n",
			       err, sizeof(err)),
			 E_OK);
	assert_int_equal(setup("example.org {\n acl a.example.org {\n  block net 192.168.1.0/24\n "
			       "}\n}\n",
			       err, sizeof(err)),
			 E_OK);
	assert_int_equal(setup(". {\n acl {\n  drop type * net * 10.0.0.1 2001:db8::/32\n }\n}\n",
			       err, sizeof(err)),
			 E_OK);
	assert_int_equal(setup(". {\n acl {\n  block\n }\n acl example.org {\n  allow\n }\n}\n",
			       err, sizeof(err)),
			 E_OK);
	h_write("/tmp/signet-unit-acl.nets", "# nets\n10.0.0.0/8\n  192.0.2.1 # one\n\n");
	assert_int_equal(
		setup(". {\n acl {\n  block file signet-unit-acl.nets\n }\n}\n", err, sizeof(err)),
		E_OK);
	unlink("/tmp/signet-unit-acl.nets");
	assert_int_equal(setup(". {\n acl {\n  deny\n }\n}\n", err, sizeof(err)), E_CFG_SEMANTIC);
	assert_int_equal(setup(". {\n acl {\n  block net 300.0.0.0/8\n }\n}\n", err, sizeof(err)),
			 E_CFG_SEMANTIC);
	assert_non_null(strstr(err, "CIDR"));
	assert_int_equal(setup(". {\n acl {\n  block net 10.0.0.0/33\n }\n}\n", err, sizeof(err)),
			 E_CFG_SEMANTIC);
	assert_int_equal(setup(". {\n acl {\n  block type FROB\n }\n}\n", err, sizeof(err)),
			 E_CFG_SEMANTIC);
	assert_int_equal(
		setup(". {\n acl {\n  block type net 10.0.0.0/8\n }\n}\n", err, sizeof(err)),
		E_CFG_SEMANTIC);
	assert_int_equal(setup(". {\n acl {\n  block 10.0.0.0/8\n }\n}\n", err, sizeof(err)),
			 E_CFG_SEMANTIC);
	assert_int_equal(setup(". {\n acl {\n  block file /nonexistent\n }\n}\n", err, sizeof(err)),
			 E_CFG_SEMANTIC);
}

/* The INFO-CODE of the EDE option of the last response, or -1. */
static int ede(const harness_t *h)
{
	int i = h_find(h, DNS_AR, RR_OPT);
	if (i < 0 || h->m.rr[i].rdlen < 6) {
		return -1;
	}
	const uint8_t *o = h->out + h->m.rr[i].rdoff;
	return dns_u16(o) == 15 ? dns_u16(o + 4) : -1;
}

static void test_block_filter_drop(void **state)
{
	harness_t h;
	(void)state;
	h_start(&h,
		CORE("\tacl {\n\t\tblock type A net 192.168.0.0/16\n\t\tfilter type AAAA net "
		     "192.168.0.0/16\n\t\tdrop type MX net 192.168.0.0/16\n\t}\n"),
		zone);
	h_query_from(&h, "www.example.org.", RR_A, H_EDNS, "192.168.1.1");
	assert_int_equal(h_rcode(&h), RCODE_REFUSED);
	assert_int_equal(h.m.count[0], 0);
	assert_int_equal(ede(&h), 15); /* Blocked */
	assert_string_equal(h.q.ss.plugin, "acl");
	h_query_from(&h, "www.example.org.", RR_AAAA, H_EDNS, "192.168.1.1");
	assert_int_equal(h_rcode(&h), RCODE_NOERROR);
	assert_int_equal(h.m.count[0], 0);
	assert_int_equal(ede(&h), 17); /* Filtered */
	assert_int_equal(h_query_from(&h, "www.example.org.", RR_MX, 0, "192.168.1.1"), 0);
	/* Other sources and types go through. */
	h_query_from(&h, "www.example.org.", RR_A, 0, "10.1.1.1");
	assert_int_equal(h_rcode(&h), RCODE_NOERROR);
	assert_int_equal(h.m.count[0], 1);
	h_query_from(&h, "www.example.org.", RR_TXT, 0, "192.168.1.1");
	assert_int_equal(h_rcode(&h), RCODE_NOERROR);
	h_stop(&h);
}

static void test_allow_then_block(void **state)
{
	harness_t h;
	(void)state;
	h_start(&h, CORE("\tacl {\n\t\tallow net 192.168.0.0/24 192.168.1.0/24\n\t\tblock\n\t}\n"),
		zone);
	h_query_from(&h, "www.example.org.", RR_A, 0, "192.168.1.7");
	assert_int_equal(h.m.count[0], 1);
	h_query_from(&h, "www.example.org.", RR_A, 0, "192.168.2.7");
	assert_int_equal(h_rcode(&h), RCODE_REFUSED);
	h_stop(&h);
}

static void test_zones_and_repeated(void **state)
{
	harness_t h;
	(void)state;
	/* The first acl lets 10/8 through everywhere; the second blocks a.example.org only. */
	h_start(&h,
		CORE("\tacl {\n\t\tallow net 10.0.0.0/8\n\t}\n\tacl a.example.org {\n\t\tblock net "
		     "192.168.1.0/24 10.0.0.0/8\n\t}\n"),
		zone);
	h_query_from(&h, "a.example.org.", RR_A, 0, "192.168.1.1");
	assert_int_equal(h_rcode(&h), RCODE_REFUSED);
	h_query_from(&h, "www.example.org.", RR_A, 0, "192.168.1.1");
	assert_int_equal(h_rcode(&h), RCODE_NOERROR);
	h_query_from(&h, "a.example.org.", RR_A, 0, "10.0.0.1");
	assert_int_equal(h_rcode(&h), RCODE_NOERROR);
	h_stop(&h);
}

static void test_before_cache(void **state)
{
	harness_t h;
	(void)state;
	/* acl runs first: a cached answer is never given to a blocked client. */
	h_start(&h, CORE("\tcache\n\tacl {\n\t\tblock net 192.168.0.0/16\n\t}\n"), zone);
	h_query_from(&h, "www.example.org.", RR_A, 0, "10.0.0.1");
	h_query_from(&h, "www.example.org.", RR_A, 0, "10.0.0.1");
	assert_string_equal(h.q.ss.plugin, "cache");
	h_query_from(&h, "www.example.org.", RR_A, 0, "192.168.0.1");
	assert_int_equal(h_rcode(&h), RCODE_REFUSED);
	h_stop(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_setup_syntax),     cmocka_unit_test(test_block_filter_drop),
		cmocka_unit_test(test_allow_then_block), cmocka_unit_test(test_zones_and_repeated),
		cmocka_unit_test(test_before_cache),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
