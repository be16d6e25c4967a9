/*  Unit tests of the cache stage (server/stages/cache.c), through query_process(). */
#include <pthread.h>

#include "server/cfg.h"
#include "server/stages/stages.h"
#include "tests/unit/server/stages_harness.h"

static const char zone[] =
	"$ORIGIN example.org.\n"
	"$TTL 300\n"
	"@ IN SOA ns1 hostmaster 1 7200 3600 1209600 60\n"
	"  NS ns1\n"
	"ns1 A 192.0.2.53\n"
	"www A 192.0.2.1\n"
	"short 60 A 192.0.2.60\n"
	"tiny 2 A 192.0.2.2\n"
	"big TXT \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"\n"
	"big TXT \"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
	"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
	"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\"\n"
	"big TXT \"cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"
	"ccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"
	"ccccccccccccccccccccccccccccccccccccccccccccccccccccccc\"\n";

#define CORE(body) "example.org:53 {\n\tfile ZONEFILE\n" body "}\n"

static bool from_cache(const harness_t *h)
{
	return h->q.ss.plugin != NULL && strcmp(h->q.ss.plugin, "cache") == 0;
}

/* The setup of "cache ..." from Corefile text: E_OK or the error. */
static int setup(const char *text, char *err, size_t errlen)
{
	cfg_t *cfg = NULL;
	void *ctx = NULL;
	assert_int_equal(cfg_parse_string(&cfg, text, "Corefile", ".", NULL, NULL), E_OK);
	int ret = stage_cache.setup(&ctx, &cfg->blocks[0].dirs[0], err, errlen);
	if (ret == E_OK) {
		stage_cache.teardown(ctx);
	}
	cfg_free(cfg);
	return ret;
}

static void test_setup_syntax(void **state)
{
	char err[256];
	(void)state;
	assert_int_equal(setup(". {\n cache\n}\n", err, sizeof(err)), E_OK);
	assert_int_equal(setup(". {\n cache 10\n}\n", err, sizeof(err)), E_OK);
	assert_int_equal(setup(". {\n cache 30 example.org example.net\n}\n", err, sizeof(err)),
			 E_OK);
	assert_int_equal(setup("example.org {\n cache {\n  success 5000\n  denial 2500\n }\n}\n",
			       err, sizeof(err)),
			 E_OK);
	assert_int_equal(
		setup(". {\n cache {\n  success 5000 60 10\n  denial 2500 30 2\n  prefetch "
		      "10 1m 20%\n  serve_stale 1h verify\n  servfail 10s\n  disable "
		      "denial example.org\n  keepttl\n }\n}\n",
		      err, sizeof(err)),
		E_OK);
	assert_int_equal(setup(". {\n cache 0\n}\n", err, sizeof(err)), E_CFG_SEMANTIC);
	assert_non_null(strstr(err, "zero"));
	assert_int_equal(setup(". {\n cache {\n  prefetch 10 1m 5%\n }\n}\n", err, sizeof(err)),
			 E_CFG_SEMANTIC);
	assert_int_equal(setup(". {\n cache {\n  prefetch 10 1m 50\n }\n}\n", err, sizeof(err)),
			 E_CFG_SEMANTIC);
	assert_int_equal(setup(". {\n cache {\n  success\n }\n}\n", err, sizeof(err)),
			 E_CFG_SEMANTIC);
	assert_int_equal(setup(". {\n cache {\n  serve_stale 1h later\n }\n}\n", err, sizeof(err)),
			 E_CFG_SEMANTIC);
	assert_int_equal(setup(". {\n cache {\n  servfail 10m\n }\n}\n", err, sizeof(err)),
			 E_CFG_SEMANTIC);
	assert_int_equal(setup(". {\n cache {\n  frobnicate\n }\n}\n", err, sizeof(err)),
			 E_CFG_SEMANTIC);
	assert_non_null(strstr(err, "frobnicate"));
}

static void test_hit_and_ttl_cap(void **state)
{
	harness_t h;
	char rr[512];
	(void)state;
	h_start(&h, CORE("\tcache 30\n"), zone);
	assert_true(h_query(&h, "www.example.org.", RR_A, 0) > 0);
	assert_false(from_cache(&h));
	/* Capped at once, as CoreDNS does (not only from the next answer on). */
	assert_string_equal(h_rr(&h, 0, rr, sizeof(rr)), "www.example.org. 30 IN A 192.0.2.1");
	assert_true(h_query(&h, "WwW.Example.ORG.", RR_A, H_RD) > 0);
	assert_true(from_cache(&h));
	assert_int_equal(h_rcode(&h), RCODE_NOERROR);
	assert_true(dns_u16(h.out + 2) & DNS_FLAG_AA);
	assert_true(dns_u16(h.out + 2) & DNS_FLAG_RD);   /* the RD of this request */
	assert_int_equal(dns_u16(h.out), dns_u16(h.in)); /* and its ID */
	/* The question as this client wrote it. */
	assert_memory_equal(h.out + DNS_HDR_LEN, "\3WwW\7Example\3ORG", 17);
	assert_string_equal(h_rr(&h, 0, rr, sizeof(rr)), "www.example.org. 30 IN A 192.0.2.1");
	h_stop(&h);
}

static void test_min_ttl_and_age(void **state)
{
	harness_t h;
	char rr[512];
	(void)state;
	h_start(&h, CORE("\tcache {\n\t\tsuccess 2048 3600 100\n\t}\n"), zone);
	h_query(&h, "short.example.org.", RR_A, 0);
	assert_string_equal(h_rr(&h, 0, rr, sizeof(rr)), "short.example.org. 100 IN A 192.0.2.60");
	h_shift_ms = 30500;
	h_query(&h, "short.example.org.", RR_A, 0);
	assert_true(from_cache(&h));
	assert_string_equal(h_rr(&h, 0, rr, sizeof(rr)), "short.example.org. 70 IN A 192.0.2.60");
	h_shift_ms = 101000; /* expired */
	h_query(&h, "short.example.org.", RR_A, 0);
	assert_false(from_cache(&h));
	h_shift_ms = 0;
	h_stop(&h);
}

static void test_key_do_cd_type(void **state)
{
	harness_t h;
	(void)state;
	h_start(&h, CORE("\tcache\n"), zone);
	h_query(&h, "www.example.org.", RR_A, 0);
	h_query(&h, "www.example.org.", RR_A, H_DO);
	assert_false(from_cache(&h));
	h_query(&h, "www.example.org.", RR_A, H_CD);
	assert_false(from_cache(&h));
	h_query(&h, "www.example.org.", RR_AAAA, 0);
	assert_false(from_cache(&h));
	h_query(&h, "www.example.org.", RR_A, H_DO);
	assert_true(from_cache(&h));
	h_query(&h, "www.example.org.", RR_A, H_CD);
	assert_true(from_cache(&h));
	assert_true(dns_u16(h.out + 2) & DNS_FLAG_CD);
	h_stop(&h);
}

static void test_opt_is_per_request(void **state)
{
	harness_t h;
	(void)state;
	h_start(&h, CORE("\tcache\n"), zone);
	h_query(&h, "www.example.org.", RR_A, H_EDNS); /* stored without its OPT */
	assert_int_equal(h_find(&h, DNS_AR, RR_OPT), h.m.nrr - 1);
	h_query(&h, "www.example.org.", RR_A, 0);
	assert_true(from_cache(&h));
	assert_int_equal(h_find(&h, DNS_AR, RR_OPT), -1);
	h_query(&h, "www.example.org.", RR_A, H_EDNS);
	assert_true(from_cache(&h));
	assert_int_equal(h_find(&h, DNS_AR, RR_OPT), h.m.nrr - 1);
	h_stop(&h);
}

static void test_denial(void **state)
{
	harness_t h;
	(void)state;
	h_start(&h, CORE("\tcache\n"), zone);
	h_query(&h, "nope.example.org.", RR_A, 0);
	assert_int_equal(h_rcode(&h), RCODE_NXDOMAIN);
	h_query(&h, "nope.example.org.", RR_A, 0);
	assert_true(from_cache(&h));
	assert_int_equal(h_rcode(&h), RCODE_NXDOMAIN);
	assert_true(h_find(&h, DNS_NS, RR_SOA) >= 0);
	/* NODATA too. */
	h_query(&h, "www.example.org.", RR_MX, 0);
	h_query(&h, "www.example.org.", RR_MX, 0);
	assert_true(from_cache(&h));
	assert_int_equal(h.m.count[0], 0);
	h_stop(&h);
}

static void test_disable_and_keepttl(void **state)
{
	harness_t h;
	char rr[512];
	(void)state;
	h_start(&h, CORE("\tcache {\n\t\tdisable denial\n\t\tkeepttl\n\t}\n"), zone);
	h_query(&h, "nope.example.org.", RR_A, 0);
	h_query(&h, "nope.example.org.", RR_A, 0);
	assert_false(from_cache(&h));
	h_query(&h, "www.example.org.", RR_A, 0);
	h_shift_ms = 10000;
	h_query(&h, "www.example.org.", RR_A, 0);
	assert_true(from_cache(&h));
	assert_string_equal(h_rr(&h, 0, rr, sizeof(rr)), "www.example.org. 300 IN A 192.0.2.1");
	h_shift_ms = 0;
	h_stop(&h);
}

static void test_truncated_not_cached(void **state)
{
	harness_t h;
	(void)state;
	h_start(&h, CORE("\tcache\n"), zone);
	h_query(&h, "big.example.org.", RR_TXT, 0); /* 512 octets: TC */
	assert_true(dns_u16(h.out + 2) & DNS_FLAG_TC);
	h_query(&h, "big.example.org.", RR_TXT, 0);
	assert_false(from_cache(&h));
	h_query(&h, "big.example.org.", RR_TXT, H_EDNS);
	assert_false(dns_u16(h.out + 2) & DNS_FLAG_TC);
	h_query(&h, "big.example.org.", RR_TXT, H_EDNS);
	assert_true(from_cache(&h));
	/* Too large for this client: answered again (and truncated), not from the cache. */
	h_query(&h, "big.example.org.", RR_TXT, 0);
	assert_false(from_cache(&h));
	assert_true(dns_u16(h.out + 2) & DNS_FLAG_TC);
	h_stop(&h);
}

static const char zone_v2[] = "$ORIGIN example.org.\n$TTL 300\n"
			      "@ IN SOA ns1 hostmaster 2 7200 3600 1209600 60\n"
			      "  NS ns1\nns1 A 192.0.2.53\nwww A 198.51.100.2\n";
static const char zone_v3[] = "$ORIGIN example.org.\n$TTL 300\n"
			      "@ IN SOA ns1 hostmaster 3 7200 3600 1209600 60\n"
			      "  NS ns1\nns1 A 192.0.2.53\nwww A 203.0.113.3\nnope A 203.0.113.4\n";

static void test_new_version_invalidates(void **state)
{
	harness_t h;
	char rr[512];
	(void)state;
	h_start(&h, CORE("\tcache\n"), zone);
	h_query(&h, "www.example.org.", RR_A, 0);
	h_query(&h, "nope.example.org.", RR_A, 0);
	h_query(&h, "www.example.org.", RR_A, 0);
	assert_true(from_cache(&h));
	h_reload_zone(&h, zone_v2);
	h_query(&h, "www.example.org.", RR_A, 0);
	assert_false(from_cache(&h));
	assert_string_equal(h_rr(&h, 0, rr, sizeof(rr)), "www.example.org. 300 IN A 198.51.100.2");
	h_query(&h, "www.example.org.", RR_A, 0);
	assert_true(from_cache(&h));
	/* Two versions in a row with no query between: the entries of the first never come
	 * back, even when the newest version is allocated where an old one was. */
	h_reload_zone(&h, zone);
	h_reload_zone(&h, zone_v3);
	h_query(&h, "www.example.org.", RR_A, 0);
	assert_false(from_cache(&h));
	assert_string_equal(h_rr(&h, 0, rr, sizeof(rr)), "www.example.org. 300 IN A 203.0.113.3");
	h_query(&h, "nope.example.org.", RR_A, 0);
	assert_int_equal(h_rcode(&h), RCODE_NOERROR);
	h_stop(&h);
}

static void test_serve_stale(void **state)
{
	harness_t h;
	char rr[512];
	(void)state;
	h_start(&h, CORE("\tcache 5 {\n\t\tserve_stale 1h\n\t}\n"), zone);
	h_query(&h, "www.example.org.", RR_A, 0);
	h_shift_ms = 7000;
	h_query(&h, "www.example.org.", RR_A, 0);
	assert_true(from_cache(&h));
	assert_string_equal(h_rr(&h, 0, rr, sizeof(rr)), "www.example.org. 0 IN A 192.0.2.1");
	/* Served stale, then refreshed: the next one has a new lifetime. */
	h_shift_ms = 8000;
	h_query(&h, "www.example.org.", RR_A, 0);
	assert_true(from_cache(&h));
	assert_string_equal(h_rr(&h, 0, rr, sizeof(rr)), "www.example.org. 4 IN A 192.0.2.1");
	h_shift_ms = 4 * 3600 * 1000; /* past the stale window */
	h_query(&h, "www.example.org.", RR_A, 0);
	assert_false(from_cache(&h));
	h_shift_ms = 0;
	h_stop(&h);

	h_start(&h, CORE("\tcache 5 {\n\t\tserve_stale 1h verify\n\t}\n"), zone);
	h_query(&h, "www.example.org.", RR_A, 0);
	h_shift_ms = 7000;
	h_query(&h, "www.example.org.", RR_A, 0);
	assert_false(from_cache(&h)); /* the zone answers: no stale data */
	h_shift_ms = 0;
	h_stop(&h);
}

static void test_prefetch(void **state)
{
	harness_t h;
	char rr[512];
	(void)state;
	h_start(&h, CORE("\tcache {\n\t\tsuccess 2048 10\n\t\tprefetch 2 1m 50%\n\t}\n"), zone);
	h_query(&h, "www.example.org.", RR_A, 0);
	h_shift_ms = 1000;
	h_query(&h, "www.example.org.", RR_A, 0); /* hit 1, 9 s left */
	assert_true(from_cache(&h));
	h_shift_ms = 6000;
	h_query(&h, "www.example.org.", RR_A, 0); /* hit 2, 4 s left <= 50%: refreshed */
	assert_false(from_cache(&h));
	assert_string_equal(h_rr(&h, 0, rr, sizeof(rr)), "www.example.org. 10 IN A 192.0.2.1");
	h_shift_ms = 7000;
	h_query(&h, "www.example.org.", RR_A, 0);
	assert_true(from_cache(&h));
	assert_string_equal(h_rr(&h, 0, rr, sizeof(rr)), "www.example.org. 9 IN A 192.0.2.1");
	h_shift_ms = 0;
	h_stop(&h);
}

static void test_zones_argument(void **state)
{
	harness_t h;
	(void)state;
	h_start(&h, CORE("\tcache 60 sub.example.org\n"), zone);
	h_query(&h, "www.example.org.", RR_A, 0);
	h_query(&h, "www.example.org.", RR_A, 0);
	assert_false(from_cache(&h));
	h_query(&h, "a.sub.example.org.", RR_A, 0);
	h_query(&h, "a.sub.example.org.", RR_A, 0);
	assert_true(from_cache(&h));
	h_stop(&h);
}

static void test_entries_gauge(void **state)
{
	harness_t h;
	int series;
	uint64_t n[2];
	(void)state;
	h_start(&h, CORE("\tcache\n"), zone);
	h_query(&h, "www.example.org.", RR_A, 0);
	h_query(&h, "ns1.example.org.", RR_A, 0);
	h_query(&h, "nope.example.org.", RR_A, 0);
	const conf_block_t *cb = &h.st->conf->blocks[0];
	bool found = false;
	for (int i = 0; i < cb->nstages; i++) {
		if (cache_stage_entries(&cb->stages[i], &series, n)) {
			found = true;
			assert_int_equal(n[0], 2);
			assert_int_equal(n[1], 1);
		}
	}
	assert_true(found);
	h_stop(&h);
}

/* Many threads hitting and filling a small cache while versions change: every answer must be
 * whole and for the name asked. */
struct worker {
	harness_t *shared;
	int id;
	int bad;
};

static const char many_zone_head[] = "$ORIGIN example.org.\n$TTL 300\n"
				     "@ IN SOA ns1 hostmaster 1 7200 3600 1209600 60\n"
				     "  NS ns1\nns1 A 192.0.2.53\n";

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	harness_t *h = calloc(1, sizeof(*h));
	char name[64];
	memcpy(h, w->shared, offsetof(harness_t, q));
	h->q.stats = &h->stats;
	h->remote = w->shared->remote;
	rcu_register_thread();
	for (int i = 0; i < 20000; i++) {
		int k = (i * 7 + w->id * 13) % 400;
		snprintf(name, sizeof(name), "h%d.example.org.", k);
		if (h_query(h, name, RR_A, 0) == 0 || h_rcode(h) != RCODE_NOERROR ||
		    h->m.count[0] != 1 || h->m.rr[0].rdlen != 4 ||
		    h->out[h->m.rr[0].rdoff + 3] != (uint8_t)(k % 250)) {
			w->bad++;
		}
	}
	rcu_unregister_thread();
	free(h);
	return NULL;
}

static void test_concurrent(void **state)
{
	static char text[65536];
	harness_t *h = calloc(1, sizeof(*h));
	pthread_t thr[4];
	struct worker w[4];
	(void)state;
	size_t n = (size_t)snprintf(text, sizeof(text), "%s", many_zone_head);
	for (int k = 0; k < 400; k++) {
		n += (size_t)snprintf(text + n, sizeof(text) - n, "h%d A 10.%d.0.%d\n", k, k / 250,
				      k % 250);
	}
	h_start(h, CORE("\tcache {\n\t\tsuccess 1024\n\t}\n"), text);
	for (int i = 0; i < 4; i++) {
		w[i] = (struct worker){ .shared = h, .id = i };
		assert_int_equal(pthread_create(&thr[i], NULL, worker_main, &w[i]), 0);
	}
	for (int v = 0; v < 5; v++) {
		usleep(20000);
		h_reload_zone(h, text); /* same data, new versions */
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(thr[i], NULL);
		assert_int_equal(w[i].bad, 0);
	}
	h_stop(h);
	free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_setup_syntax),
		cmocka_unit_test(test_hit_and_ttl_cap),
		cmocka_unit_test(test_min_ttl_and_age),
		cmocka_unit_test(test_key_do_cd_type),
		cmocka_unit_test(test_opt_is_per_request),
		cmocka_unit_test(test_denial),
		cmocka_unit_test(test_disable_and_keepttl),
		cmocka_unit_test(test_truncated_not_cached),
		cmocka_unit_test(test_new_version_invalidates),
		cmocka_unit_test(test_serve_stale),
		cmocka_unit_test(test_prefetch),
		cmocka_unit_test(test_zones_argument),
		cmocka_unit_test(test_entries_gauge),
		cmocka_unit_test(test_concurrent),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
