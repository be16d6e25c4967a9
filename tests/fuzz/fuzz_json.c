/*  libFuzzer target: the JSON reader (adapters/json.c) and the SkyDNS messages read with it
 *  (adapters/etcd/skydns.c).
 *
 *  The input is parsed as one JSON text. When it parses, every value is visited, every
 *  string is written back with json_quote and must parse to the same octets, and every
 *  number and boolean is read. When it does not, the message must say where. Then the input
 *  is a SkyDNS message for a few keys of a zone, and the zone they make must build: whatever
 *  etcd holds, the zone is consistent (no CNAME beside other data, one SOA, ...).
 *
 *  make fuzz builds it against the whole library (scripts/fuzz.sh); seeds are in
 *  tests/fuzz/corpus/fuzz_json/.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "adapters/etcd/internal.h"
#include "adapters/json.h"
#include "dns/err.h"
#include "zones/builder.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)              \
	do {                     \
		if (!(cond)) {   \
			abort(); \
		}                \
	} while (0)

static void visit(const json_t *j, int depth)
{
	CHECK(depth <= JSON_DEPTH_MAX + 1);
	switch (json_type(j)) {
	case JSON_STRING: {
		size_t len = 0, qlen;
		const char *s = json_str(j, &len);
		CHECK(s != NULL && s[len] == '\0');
		if (strlen(s) == len) {
			/* no NUL inside: json_quote can write it, and it reads back the same */
			qlen = json_quote(NULL, 0, s);
			char *q = malloc(qlen + 1);
			json_t *back = NULL;
			CHECK(q != NULL);
			CHECK(json_quote(q, qlen + 1, s) == qlen);
			CHECK(json_parse(&back, q, qlen, NULL, 0) == E_OK);
			size_t blen = 0;
			const char *b = json_str(back, &blen);
			CHECK(b != NULL && blen == len && memcmp(b, s, len) == 0);
			json_free(back);
			free(q);
		}
		break;
	}
	case JSON_NUMBER: {
		double d;
		int64_t i;
		CHECK(json_double(j, &d));
		(void)json_int(j, &i);
		break;
	}
	case JSON_BOOL: {
		bool b;
		CHECK(json_bool(j, &b));
		break;
	}
	case JSON_ARRAY:
		for (size_t i = 0; i < json_count(j); i++) {
			visit(json_at(j, i), depth + 1);
		}
		CHECK(json_at(j, json_count(j)) == NULL);
		break;
	case JSON_OBJECT:
		for (size_t i = 0; i < json_count(j); i++) {
			const char *k = json_key_at(j, i);
			CHECK(k != NULL);
			/* a lookup by name finds a member (this one, unless its name has a NUL) */
			CHECK(json_get(j, k) != NULL || memchr(k, '\0', strlen(k) + 1) != NULL);
			visit(json_at(j, i), depth + 1);
		}
		break;
	case JSON_NULL:
		break;
	}
}

static const char *const keys[] = {
	"/skydns/test/fuzz",     "/skydns/test/fuzz/",         "/skydns/test/fuzz/a",
	"/skydns/test/fuzz/a/b", "/skydns/test/fuzz/dns/ns/x", "/skydns/test/fuzz/dns/apex",
	"/skydns/test/fuzz/b",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *j = NULL;
	char err[256];
	int ret = json_parse(&j, (const char *)data, size, err, sizeof(err));
	if (ret == E_OK) {
		visit(j, 0);
		json_free(j);
	} else {
		CHECK(ret == E_MALFORMED && strncmp(err, "line ", 5) == 0);
	}

	/* the input as the value of some keys (which ones: its first octet); a zone is built
	 * when it is a message (building costs a megabyte of zone memory) */
	static const uint8_t apex[] = "\x04"
				      "fuzz\x04"
				      "test";
	skydns_t m;
	zone_builder_t *b = NULL;
	zone_t *z = NULL;
	bool any = false;
	CHECK(skydns_init(&m, "/skydns", apex) == E_OK);
	unsigned pick = size > 0 ? data[0] : 0;
	for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
		if (pick & (1u << k) || k == 2) {
			any |= skydns_put(&m, keys[k], strlen(keys[k]), (const char *)data, size, 1,
					  0, err, sizeof(err)) == E_OK;
		}
	}
	if (any) {
		skydns_put(&m, "/skydns/test/fuzz/c", 19, "{\"host\":\"10.0.0.1\"}", 19, 1, 0, err,
			   sizeof(err));
		CHECK(zone_builder_new(&b, apex) == E_OK);
		CHECK(skydns_build(&m, b, 1) == E_OK);
		CHECK(zone_builder_finish(b, &z) == E_OK);
		zone_free(z);
	}
	skydns_clear(&m);
	return 0;
}
