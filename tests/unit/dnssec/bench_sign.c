/*  Benchmark (not a unit test): sign a generated zone of N names with one ECDSA P-256 CSK.
 *  Every name has an A, every second an AAAA, every fifth a TXT; every hundredth is a
 *  delegation instead (NS + glue, every second of those with a DS).
 *
 *  cc -std=c11 -D_GNU_SOURCE -I. -O2 tests/unit/dnssec/bench_sign.c dnssec/\*.c keys/\*.c \
 *     zones/\*.c dns/\*.c $(pkg-config --cflags --libs gnutls nettle ldns) -lhogweed -lgmp \
 *     -lpthread -o /tmp/bench_sign && /tmp/bench_sign 100000 2 [nsec3]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dns/err.h"
#include "dns/rrtype.h"
#include "dnssec/sign.h"
#include "keys/keyset.h"
#include "zones/builder.h"

static int add(zone_builder_t *b, const char *owner, uint16_t type, const uint8_t *rd, uint16_t len)
{
	uint8_t name[DNAME_MAX];
	if (dname_from_str(name, owner, NULL) < 0) {
		return E_NAME_SYNTAX;
	}
	return zone_builder_add(b, name, type, 3600, rd, len, NULL);
}

static int name_rdata(uint8_t *rd, const char *name)
{
	return dname_from_str(rd, name, NULL);
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 100000;
	int threads = argc > 2 ? atoi(argv[2]) : 0;
	bool nsec3 = argc > 3 && strcmp(argv[3], "nsec3") == 0;
	uint8_t apex[DNAME_MAX], rd[512];
	char owner[128], target[128];
	zone_builder_t *b = NULL;
	zone_t *in = NULL, *out = NULL;
	keyset_t ks = { 0 };
	int64_t now = (int64_t)time(NULL), next = 0;
	dnssec_conf_t conf;
	dnssec_sign_stats_t st;
	int ret;

	dname_from_str(apex, "bench.test.", NULL);
	zone_builder_new(&b, apex);
	int len = name_rdata(rd, "ns1.bench.test.");
	len += name_rdata(rd + len, "hostmaster.bench.test.");
	memcpy(rd + len,
	       "\x00\x00\x00\x01\x00\x00\x0e\x10\x00\x00\x03\x84\x00\x09\x3a\x80"
	       "\x00\x00\x01\x2c",
	       20);
	add(b, "bench.test.", RR_SOA, rd, (uint16_t)(len + 20));
	add(b, "bench.test.", RR_NS, rd, (uint16_t)name_rdata(rd, "ns1.bench.test."));
	for (int i = 0; i < n; i++) {
		snprintf(owner, sizeof(owner), "host%d.bench.test.", i);
		if (i % 100 == 99) {
			snprintf(target, sizeof(target), "ns.host%d.bench.test.", i);
			add(b, owner, RR_NS, rd, (uint16_t)name_rdata(rd, target));
			uint8_t a[4] = { 10, (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i };
			add(b, target, RR_A, a, 4);
			if (i % 200 == 199) {
				uint8_t ds[36] = { (uint8_t)(i >> 8), (uint8_t)i, 13, 2 };
				memset(ds + 4, i & 0xff, 32);
				add(b, owner, RR_DS, ds, sizeof(ds));
			}
			continue;
		}
		uint8_t a[4] = { 10, (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i };
		add(b, owner, RR_A, a, 4);
		if (i % 2 == 0) {
			uint8_t aaaa[16] = { 0x20, 0x01, 0x0d, 0xb8 };
			memcpy(aaaa + 12, &i, 4);
			add(b, owner, RR_AAAA, aaaa, 16);
		}
		if (i % 5 == 0) {
			int l = snprintf((char *)rd + 1, 200, "v=text record %d", i);
			rd[0] = (uint8_t)l;
			add(b, owner, RR_TXT, rd, (uint16_t)(l + 1));
		}
	}
	ret = zone_builder_finish(b, &in);
	if (ret != E_OK) {
		fprintf(stderr, "build: %s\n", err_str(ret));
		return 1;
	}
	ret = key_generate(&ks.keys[0], apex, KEY_ALG_ECDSAP256SHA256, 0,
			   KEY_FLAG_ZONE | KEY_FLAG_SEP);
	if (ret != E_OK) {
		fprintf(stderr, "key: %s\n", err_str(ret));
		return 1;
	}
	ks.n = 1;
	ks.keys[0]->timing.publish = ks.keys[0]->timing.activate = now - 3600;
	dnssec_conf_init(&conf);
	conf.threads = threads;
	conf.nsec3 = nsec3;

	ret = dnssec_sign_zone(in, NULL, &ks, &conf, now, &out, &next, &st);
	if (ret != E_OK) {
		fprintf(stderr, "sign: %s\n", err_str(ret));
		return 1;
	}
	printf("full sign: %d names, %u nodes, %s, threads %d: %llu signatures in %.2f s "
	       "(%.0f/s)\n",
	       n, in->nnodes, nsec3 ? "NSEC3" : "NSEC", threads,
	       (unsigned long long)st.signatures_made, st.seconds,
	       (double)st.signatures_made / st.seconds);

	zone_t *again = NULL;
	ret = dnssec_sign_zone(in, out, &ks, &conf, now + 60, &again, &next, &st);
	printf("re-sign, nothing changed: %llu made, %llu reused in %.2f s\n",
	       (unsigned long long)st.signatures_made, (unsigned long long)st.signatures_reused,
	       st.seconds);
	zone_free(again);
	zone_free(out);
	zone_free(in);
	key_free(ks.keys[0]);
	return ret == E_OK ? 0 : 1;
}
