/*  Unit tests of server/metrics.c and the address parsing of server/http.c. */
#include <event2/buffer.h>

#include "server/http.h"
#include "server/metrics.h"
#include "tests/unit/server/stages_harness.h"

static const char zone[] = "$ORIGIN example.org.\n$TTL 300\n"
			   "@ IN SOA ns1 hostmaster 42 7200 3600 1209600 60\n"
			   "  NS ns1\nns1 A 192.0.2.53\nwww A 192.0.2.1\n";

static void test_time_buckets(void **state)
{
	(void)state;
	assert_int_equal(metrics_time_bucket(0), 0);
	assert_int_equal(metrics_time_bucket(250000), 0); /* le="0.00025" */
	assert_int_equal(metrics_time_bucket(250001), 1);
	assert_int_equal(metrics_time_bucket(1000000), 2); /* 1 ms */
	assert_int_equal(metrics_time_bucket(8192000000ull), 15);
	assert_int_equal(metrics_time_bucket(8192000001ull), METRICS_TIME_BUCKETS); /* +Inf */
}

static void test_addresses(void **state)
{
	struct sockaddr_storage ss;
	socklen_t len;
	(void)state;
	assert_int_equal(http_addr_parse("localhost:9153", &ss, &len), E_OK);
	assert_int_equal(ss.ss_family, AF_INET);
	assert_int_equal(ntohl(((struct sockaddr_in *)&ss)->sin_addr.s_addr), INADDR_LOOPBACK);
	assert_int_equal(ntohs(((struct sockaddr_in *)&ss)->sin_port), 9153);
	assert_int_equal(http_addr_parse(":8080", &ss, &len), E_OK);
	assert_int_equal(((struct sockaddr_in *)&ss)->sin_addr.s_addr, htonl(INADDR_ANY));
	assert_int_equal(http_addr_parse("[::1]:8181", &ss, &len), E_OK);
	assert_int_equal(ss.ss_family, AF_INET6);
	assert_int_equal(http_addr_parse("127.0.0.1:0", &ss, &len), E_CFG_SEMANTIC);
	assert_int_equal(http_addr_parse("127.0.0.1", &ss, &len), E_CFG_SEMANTIC);
	assert_int_equal(http_addr_parse("example.com:80", &ss, &len), E_CFG_SEMANTIC);
	assert_int_equal(http_addr_parse("[::1:80", &ss, &len), E_CFG_SEMANTIC);
}

static void test_server_label(void **state)
{
	cfg_t *cfg = NULL;
	metrics_block_t *m = NULL;
	(void)state;
	assert_int_equal(cfg_parse_string(&cfg, "example.org example.net {\n}\n", "Corefile", ".",
					  NULL, NULL),
			 E_OK);
	assert_int_equal(metrics_block_new(&m, &cfg->blocks[0], 53, NULL, false), E_OK);
	assert_string_equal(metrics_block_server(m), "dns://:53");
	metrics_block_free(m);
	assert_int_equal(metrics_block_new(&m, &cfg->blocks[0], 1053, "127.0.0.1", false), E_OK);
	assert_string_equal(metrics_block_server(m), "dns://127.0.0.1:1053");
	metrics_block_free(m);
	assert_int_equal(metrics_block_new(&m, &cfg->blocks[0], 853, "::1", true), E_OK);
	assert_string_equal(metrics_block_server(m), "tls://[::1]:853");
	metrics_block_free(m);
	cfg_free(cfg);
}

static void test_counted_and_written(void **state)
{
	harness_t h;
	(void)state;
	h_start(&h, "example.org:5353 {\n\tfile ZONEFILE\n\tprometheus 127.0.0.1:9999\n}\n", zone);
	for (int i = 0; i < 3; i++) {
		h_query(&h, "www.example.org.", RR_A, 0);
	}
	h_query(&h, "www.example.org.", RR_AAAA, H_DO | H_TCP);
	h_query(&h, "nope.example.org.", RR_A, 0);
	struct evbuffer *b = evbuffer_new();
	metrics_write(b, h.st);
	evbuffer_add(b, "", 1);
	const char *text = (const char *)evbuffer_pullup(b, -1);
	const char *want[] = {
		"# TYPE coredns_dns_requests_total counter\n",
		"coredns_dns_requests_total{server=\"dns://:5353\",zone=\"example.org.\",view=\"\","
		"proto=\"udp\",family=\"1\",type=\"A\"} 4\n",
		"coredns_dns_requests_total{server=\"dns://:5353\",zone=\"example.org.\",view=\"\","
		"proto=\"tcp\",family=\"1\",type=\"AAAA\"} 1\n",
		"coredns_dns_do_requests_total{server=\"dns://"
		":5353\",zone=\"example.org.\",view=\"\"} "
		"1\n",
		"coredns_dns_responses_total{server=\"dns://"
		":5353\",zone=\"example.org.\",view=\"\","
		"rcode=\"NXDOMAIN\",plugin=\"file\"} 1\n",
		"coredns_dns_request_duration_seconds_count{server=\"dns://:5353\",zone="
		"\"example.org.\",view=\"\"} 5\n",
		"le=\"+Inf\"} 5\n",
		"signet_zone_serial{zone=\"example.org.\",port=\"5353\"} 42\n",
		"signet_zone_loaded{zone=\"example.org.\",port=\"5353\"} 1\n",
		"signet_xfr_total{zone=\"example.org.\",port=\"5353\",type=\"IXFR\"} 0\n",
		"signet_source_errors_total{zone=\"example.org.\",port=\"5353\",source=\"file\"} "
		"0\n",
		"# TYPE signet_xfr_total counter\n",
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		if (strstr(text, want[i]) == NULL) {
			print_error("missing: %s\n%s\n", want[i], text);
		}
		assert_non_null(strstr(text, want[i]));
	}
	evbuffer_free(b);
	h_stop(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_time_buckets),
		cmocka_unit_test(test_addresses),
		cmocka_unit_test(test_server_label),
		cmocka_unit_test(test_counted_and_written),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
