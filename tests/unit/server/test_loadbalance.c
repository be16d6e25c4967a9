/*  Unit tests of the loadbalance stage (server/stages/loadbalance.c), through query_process(). */
#include "server/cfg.h"
#include "server/stages/stages.h"
#include "tests/unit/server/stages_harness.h"

static const char zone[] = "$ORIGIN example.org.\n"
			   "$TTL 300\n"
			   "@ IN SOA ns1 hostmaster 1 7200 3600 1209600 60\n"
			   "  NS ns1\n"
			   "  MX 10 mx1\n"
			   "  MX 20 mx2\n"
			   "  MX 30 mx3\n"
			   "ns1 A 192.0.2.53\n"
			   "mx1 A 192.0.2.25\n"
			   "mx2 A 192.0.2.26\n"
			   "mx3 A 192.0.2.27\n"
			   "www A 192.0.2.1\n"
			   "www A 192.0.2.2\n"
			   "www A 192.0.2.3\n"
			   "www AAAA 2001:db8::1\n"
			   "www AAAA 2001:db8::2\n"
			   "www TXT \"one\"\n"
			   "www TXT \"two\"\n"
			   "alias CNAME www\n"
			   "ftp.service.us-west-1 A 10.10.10.10\n"
			   "ftp.service.us-west-1 A 10.20.20.20\n"
			   /* A fake signature: only where it ends up matters here. */
			   "www RRSIG A 13 3 300 20300101000000 20200101000000 12345 example.org. "
			   "dGVzdHNpZ25hdHVyZXRlc3RzaWduYXR1cmU=\n";

#define CORE(body) "example.org:53 {\n\tfile ZONEFILE\n" body "}\n"

static int setup(const char *text, char *err, size_t errlen)
{
	cfg_t *cfg = NULL;
	void *ctx = NULL;
	assert_int_equal(cfg_parse_string(&cfg, text, "/tmp/Corefile", "/tmp", NULL, NULL), E_OK);
	int ret = stage_loadbalance.setup(&ctx, &cfg->blocks[0].dirs[0], err, errlen);
	if (ret == E_OK) {
		stage_loadbalance.teardown(ctx);
	}
	cfg_free(cfg);
	return ret;
}

static void test_setup_syntax(void **state)
{
	char err[256], text[512];
	(void)state;
	h_write("/tmp/signet-unit-lb.weights",
		"# weights\nwww.example.org\n192.0.2.1 3\n"
		"192.0.2.2 1\n\nmail.example.org.\n2001:db8::1 200\n");
	assert_int_equal(setup(". {\n loadbalance\n}\n", err, sizeof(err)), E_OK);
	assert_int_equal(setup(". {\n loadbalance round_robin\n}\n", err, sizeof(err)), E_OK);
	assert_int_equal(setup(". {\n loadbalance round_robin {\n  limit_answers 5\n }\n}\n", err,
			       sizeof(err)),
			 E_OK);
	assert_int_equal(setup(". {\n loadbalance round_robin {\n  prefer 10.0.0.0/8 "
			       "2001:db8::/32\n }\n}\n",
			       err, sizeof(err)),
			 E_OK);
	/* CoreDNS's documentation example (the weight file relative to the Corefile). */
	snprintf(text, sizeof(text),
		 "example.com {\n loadbalance weighted ./signet-unit-lb.weights {\n  reload 10s\n "
		 "}\n}\n");
	assert_int_equal(setup(text, err, sizeof(err)), E_OK);
	assert_int_equal(setup(". {\n loadbalance random\n}\n", err, sizeof(err)), E_CFG_SEMANTIC);
	assert_int_equal(setup(". {\n loadbalance round_robin x\n}\n", err, sizeof(err)),
			 E_CFG_SEMANTIC);
	assert_int_equal(setup(". {\n loadbalance weighted\n}\n", err, sizeof(err)),
			 E_CFG_SEMANTIC);
	assert_int_equal(setup(". {\n loadbalance weighted /nonexistent {\n  reload 0s\n }\n}\n",
			       err, sizeof(err)),
			 E_CFG_SEMANTIC);
	assert_int_equal(
		setup(". {\n loadbalance round_robin {\n  reload 10s\n }\n}\n", err, sizeof(err)),
		E_CFG_SEMANTIC);
	h_write("/tmp/signet-unit-lb.weights", "www.example.org\n192.0.2.1 0\n");
	assert_int_equal(setup(". {\n loadbalance weighted /tmp/signet-unit-lb.weights\n}\n", err,
			       sizeof(err)),
			 E_CFG_SEMANTIC);
	assert_non_null(strstr(err, "weight value"));
	unlink("/tmp/signet-unit-lb.weights");
}

/* The last octet of the address of answer record i. */
static int last_octet(const harness_t *h, int i)
{
	const msg_rr_t *r = &h->m.rr[i];
	return h->out[r->rdoff + r->rdlen - 1];
}

static void test_round_robin_rotates(void **state)
{
	harness_t h;
	int seen[4] = { 0 };
	int prev = -1, changes = 0;
	(void)state;
	h_start(&h, CORE("\tloadbalance round_robin\n"), zone);
	for (int i = 0; i < 6; i++) {
		h_query(&h, "www.example.org.", RR_A, 0);
		assert_int_equal(h.m.count[0], 3);
		int a = last_octet(&h, 0), b = last_octet(&h, 1), c = last_octet(&h, 2);
		/* A rotation of 1 2 3. */
		assert_true((a == 1 && b == 2 && c == 3) || (a == 2 && b == 3 && c == 1) ||
			    (a == 3 && b == 1 && c == 2));
		seen[a]++;
		changes += prev >= 0 && prev != a;
		prev = a;
	}
	assert_int_equal(seen[1], 2);
	assert_int_equal(seen[2], 2);
	assert_int_equal(seen[3], 2);
	assert_int_equal(changes, 5); /* every response differs from the one before */
	/* Other types keep their order. */
	h_query(&h, "www.example.org.", RR_TXT, 0);
	char rr[256];
	assert_string_equal(h_rr(&h, 0, rr, sizeof(rr)), "www.example.org. 300 IN TXT \"one\"");
	h_query(&h, "www.example.org.", RR_TXT, 0);
	assert_string_equal(h_rr(&h, 0, rr, sizeof(rr)), "www.example.org. 300 IN TXT \"one\"");
	h_stop(&h);
}

static void test_cname_first_and_mx(void **state)
{
	harness_t h;
	int firsts[40] = { 0 };
	(void)state;
	h_start(&h, CORE("\tloadbalance\n"), zone);
	for (int i = 0; i < 3; i++) {
		h_query(&h, "alias.example.org.", RR_A, 0);
		assert_int_equal(h.m.count[0], 4);
		assert_int_equal(h.m.rr[0].type, RR_CNAME);
	}
	for (int i = 0; i < 3; i++) {
		h_query(&h, "example.org.", RR_MX, 0);
		assert_int_equal(h.m.count[0], 3);
		/* Each MX with its own glue still in the additional section. */
		assert_true(h.m.count[2] >= 3);
		firsts[dns_u16(h.out + h.m.rr[0].rdoff) / 10]++;
	}
	assert_int_equal(firsts[1], 1);
	assert_int_equal(firsts[2], 1);
	assert_int_equal(firsts[3], 1);
	h_stop(&h);
}

static void test_rrsig_stays_with_its_rrset(void **state)
{
	harness_t h;
	(void)state;
	h_start(&h, CORE("\tloadbalance\n"), zone);
	for (int i = 0; i < 3; i++) {
		h_query(&h, "www.example.org.", RR_A, H_DO);
		assert_int_equal(h.m.count[0], 4);
		for (int k = 0; k < 3; k++) {
			assert_int_equal(h.m.rr[k].type, RR_A);
		}
		assert_int_equal(h.m.rr[3].type, RR_RRSIG);
		assert_int_equal(dns_u16(h.out + h.m.rr[3].rdoff), RR_A);
	}
	h_stop(&h);
}

static void test_compressed_into_moved_records(void **state)
{
	harness_t h;
	int tops[256] = { 0 };
	(void)state;
	/* After the rewrite the second owner points into the first record: the message is
	 * written again rather than moved in place. */
	h_start(&h,
		CORE("\trewrite name regex (.*)-(us-west-1)\\.example\\.org "
		     "{1}.service.{2}.example.org\n\tloadbalance\n"),
		zone);
	for (int i = 0; i < 4; i++) {
		uint8_t o0[DNAME_MAX], o1[DNAME_MAX];
		h_query(&h, "ftp-us-west-1.example.org.", RR_A, 0);
		assert_int_equal(h.m.count[0], 2);
		size_t p0 = h.m.rr[0].off, p1 = h.m.rr[1].off;
		assert_true(dname_unpack(h.out, h.len, &p0, o0) > 0);
		assert_true(dname_unpack(h.out, h.len, &p1, o1) > 0);
		assert_true(dname_equal(o0, o1));
		assert_int_equal(dname_from_str(o1, "ftp.service.us-west-1.example.org.", NULL),
				 35);
		assert_true(dname_equal(o0, o1));
		tops[h.out[h.m.rr[0].rdoff + 1]]++;
	}
	assert_int_equal(tops[10], 2);
	assert_int_equal(tops[20], 2);
	h_stop(&h);
}

static void test_limit_and_prefer(void **state)
{
	harness_t h;
	(void)state;
	h_start(&h, CORE("\tloadbalance round_robin {\n\t\tlimit_answers 1\n\t}\n"), zone);
	h_query(&h, "www.example.org.", RR_A, 0);
	assert_int_equal(h.m.count[0], 1);
	h_stop(&h);
	h_start(&h, CORE("\tloadbalance round_robin {\n\t\tprefer 192.0.2.3/32\n\t}\n"), zone);
	for (int i = 0; i < 3; i++) {
		h_query(&h, "www.example.org.", RR_A, 0);
		assert_int_equal(last_octet(&h, 0), 3);
	}
	h_stop(&h);
}

static void test_weighted(void **state)
{
	harness_t h;
	char core[512];
	int tops[4] = { 0 };
	(void)state;
	h_write("/tmp/signet-unit-lbw.weights", "www.example.org\n192.0.2.1 255\n192.0.2.2 1\n");
	snprintf(core, sizeof(core),
		 CORE("\tloadbalance weighted /tmp/signet-unit-lbw.weights {\n\t\treload "
		      "0s\n\t}\n"));
	h_start(&h, core, zone);
	for (int i = 0; i < 200; i++) {
		h_query(&h, "www.example.org.", RR_A, 0);
		assert_int_equal(h.m.count[0], 3);
		tops[last_octet(&h, 0)]++;
	}
	/* 255 : 1 : 1 (no weight is 1). */
	assert_true(tops[1] > 170);
	assert_true(tops[1] + tops[2] + tops[3] == 200);
	h_stop(&h);
	unlink("/tmp/signet-unit-lbw.weights");
}

static void test_only_noerror(void **state)
{
	harness_t h;
	(void)state;
	h_start(&h, CORE("\tloadbalance\n"), zone);
	h_query(&h, "nope.example.org.", RR_A, 0);
	assert_int_equal(h_rcode(&h), RCODE_NXDOMAIN);
	h_stop(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_setup_syntax),
		cmocka_unit_test(test_round_robin_rotates),
		cmocka_unit_test(test_cname_first_and_mx),
		cmocka_unit_test(test_rrsig_stays_with_its_rrset),
		cmocka_unit_test(test_compressed_into_moved_records),
		cmocka_unit_test(test_limit_and_prefer),
		cmocka_unit_test(test_weighted),
		cmocka_unit_test(test_only_noerror),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
