/* Unit tests: TSIG (dns/tsig.c) against messages signed by dnspython and kdig
 * (tests/data/xfr/gen_tsig_fixtures.py made them, with the clock pinned to FIX_TIME). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "dns/err.h"
#include "dns/pkt.h"
#include "dns/rrtype.h"
#include "dns/tsig.h"

#define FIX_DIR    "tests/data/xfr/"
#define FIX_TIME   1700000000u
#define FIX_SECRET "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
#define MAX_MSGS   8

typedef struct fixture {
	size_t n;
	size_t len[MAX_MSGS];
	uint8_t msg[MAX_MSGS][DNS_TCP_MAX];
} fixture_t;

static fixture_t fx;

/* Messages of a fixture file, each after its 16-bit length. */
static void load(const char *name)
{
	char path[256];
	uint8_t lenb[2];
	FILE *f;

	snprintf(path, sizeof(path), FIX_DIR "%s", name);
	f = fopen(path, "rb");
	assert_non_null(f);
	fx.n = 0;
	while (fx.n < MAX_MSGS && fread(lenb, 1, 2, f) == 2) {
		fx.len[fx.n] = dns_u16(lenb);
		assert_int_equal(fread(fx.msg[fx.n], 1, fx.len[fx.n], f), fx.len[fx.n]);
		fx.n++;
	}
	fclose(f);
	assert_true(fx.n > 0);
}

static void ring_with(tsig_keyring_t *kr, const char *alg)
{
	tsig_key_t k;

	tsig_keyring_init(kr);
	assert_int_equal(tsig_key_set(&k, "transfer.key", alg, FIX_SECRET), E_OK);
	assert_int_equal(tsig_keyring_add(kr, &k), E_OK);
	tsig_key_wipe(&k);
}

/* Time Signed of the TSIG that ends \a msg. */
static uint64_t time_of(const uint8_t *msg, size_t len)
{
	size_t pos;
	uint8_t name[DNAME_MAX];

	assert_int_equal(tsig_find(msg, len, &pos), E_OK);
	assert_true(dname_unpack(msg, len, &pos, name) > 0);
	pos += 10;
	assert_true(dname_unpack(msg, len, &pos, name) > 0);
	return ((uint64_t)dns_u16(msg + pos) << 32) | dns_u32(msg + pos + 2);
}

static void verify_alg(const char *file, const char *alg)
{
	tsig_keyring_t kr;
	dns_request_t req;
	tsig_ctx_t ctx;

	load(file);
	ring_with(&kr, alg);
	assert_int_equal(dns_request_parse(&req, fx.msg[0], fx.len[0]), E_OK);
	assert_true(req.tsig_pos > 0);
	assert_int_equal(tsig_request_verify(&ctx, &kr, &req, fx.msg[0], fx.len[0], FIX_TIME),
			 E_OK);
	assert_ptr_equal(ctx.key, &kr.keys[0]);
	assert_int_equal(ctx.mac_len, tsig_alg_mac_len(kr.keys[0].alg));
	assert_int_equal(ctx.error, 0);
	tsig_keyring_deinit(&kr);
}

static void test_verify_dnspython(void **state)
{
	verify_alg("tsig-sha1-request.bin", "hmac-sha1");
	verify_alg("tsig-sha224-request.bin", "hmac-sha224");
	verify_alg("tsig-sha256-request.bin", "hmac-sha256");
	verify_alg("tsig-sha384-request.bin", "hmac-sha384");
	verify_alg("tsig-sha512-request.bin", "hmac-sha512.");
}

static void test_verify_kdig(void **state)
{
	tsig_keyring_t kr;
	dns_request_t req;
	tsig_ctx_t ctx;
	uint64_t t;

	load("tsig-kdig-request.bin");
	ring_with(&kr, "hmac-sha256");
	assert_int_equal(dns_request_parse(&req, fx.msg[0], fx.len[0]), E_OK);
	t = time_of(fx.msg[0], fx.len[0]);
	assert_int_equal(tsig_request_verify(&ctx, &kr, &req, fx.msg[0], fx.len[0], t + 299), E_OK);
	assert_int_equal(tsig_request_verify(&ctx, &kr, &req, fx.msg[0], fx.len[0], t + 301),
			 E_TSIG_BADTIME);
	tsig_keyring_deinit(&kr);
}

/* The TSIG RR at the end of \a msg: error, MAC size, Other Len. */
static void tsig_fields(const uint8_t *msg, size_t len, uint16_t *error, uint16_t *mac_len,
			uint16_t *other_len)
{
	size_t pos;
	uint8_t name[DNAME_MAX];

	assert_int_equal(tsig_find(msg, len, &pos), E_OK);
	assert_true(dname_unpack(msg, len, &pos, name) > 0);
	pos += 10;
	assert_true(dname_unpack(msg, len, &pos, name) > 0);
	*mac_len = dns_u16(msg + pos + 8);
	pos += 10u + *mac_len;
	*error = dns_u16(msg + pos + 2);
	*other_len = dns_u16(msg + pos + 4);
}

/* Answer \a req like a server does after an error: NOTAUTH and the TSIG error RR. */
static size_t error_response(tsig_ctx_t *ctx, const dns_request_t *req, uint8_t *buf, uint64_t now)
{
	dns_writer_t w;
	size_t len;

	assert_int_equal(dns_writer_begin(&w, buf, 512, req), E_OK);
	dns_writer_rcode(&w, RCODE_NOTAUTH);
	len = dns_writer_finish(&w);
	assert_int_equal(tsig_sign(ctx, buf, &len, 512, now), E_OK);
	return len;
}

static void test_badkey(void **state)
{
	tsig_keyring_t kr;
	dns_request_t req;
	tsig_ctx_t ctx;
	uint8_t buf[512];
	uint16_t err, mac, other;
	size_t len;

	load("tsig-sha256-request.bin");
	assert_int_equal(dns_request_parse(&req, fx.msg[0], fx.len[0]), E_OK);
	/* no such key */
	tsig_keyring_init(&kr);
	assert_int_equal(tsig_request_verify(&ctx, &kr, &req, fx.msg[0], fx.len[0], FIX_TIME),
			 E_TSIG_BADKEY);
	len = error_response(&ctx, &req, buf, FIX_TIME);
	tsig_fields(buf, len, &err, &mac, &other);
	assert_int_equal(err, TSIG_ERR_BADKEY);
	assert_int_equal(mac, 0);
	assert_int_equal(other, 0);
	assert_int_equal(DNS_RCODE(dns_u16(buf + 2)), RCODE_NOTAUTH);
	/* right name, other algorithm */
	ring_with(&kr, "hmac-sha512");
	assert_int_equal(tsig_request_verify(&ctx, &kr, &req, fx.msg[0], fx.len[0], FIX_TIME),
			 E_TSIG_BADKEY);
	tsig_keyring_deinit(&kr);
	/* not signed at all */
	req.tsig_pos = 0;
	assert_int_equal(tsig_request_verify(&ctx, &kr, &req, fx.msg[0], fx.len[0], FIX_TIME),
			 -ENOENT);
}

static void test_badsig(void **state)
{
	tsig_keyring_t kr;
	dns_request_t req;
	tsig_ctx_t ctx;
	tsig_key_t other;
	uint8_t buf[512];
	uint16_t err, mac, olen;
	size_t len;

	load("tsig-sha256-request.bin");
	assert_int_equal(dns_request_parse(&req, fx.msg[0], fx.len[0]), E_OK);
	/* wrong secret */
	tsig_keyring_init(&kr);
	assert_int_equal(tsig_key_set(&other, "transfer.key.", "hmac-sha256", "c2VjcmV0"), E_OK);
	assert_int_equal(tsig_keyring_add(&kr, &other), E_OK);
	assert_int_equal(tsig_request_verify(&ctx, &kr, &req, fx.msg[0], fx.len[0], FIX_TIME),
			 E_TSIG_BADSIG);
	len = error_response(&ctx, &req, buf, FIX_TIME);
	tsig_fields(buf, len, &err, &mac, &olen);
	assert_int_equal(err, TSIG_ERR_BADSIG);
	assert_int_equal(mac, 0);
	tsig_keyring_deinit(&kr);
	/* right key, one message octet changed (the ID) */
	ring_with(&kr, "hmac-sha256");
	fx.msg[0][DNS_HDR_LEN + 1] ^= 0x20; /* case of the first qname octet */
	assert_int_equal(dns_request_parse(&req, fx.msg[0], fx.len[0]), E_OK);
	assert_int_equal(tsig_request_verify(&ctx, &kr, &req, fx.msg[0], fx.len[0], FIX_TIME),
			 E_TSIG_BADSIG);
	fx.msg[0][DNS_HDR_LEN + 1] ^= 0x20;
	fx.msg[0][fx.len[0] - 10] ^= 1; /* the last MAC octet */
	assert_int_equal(tsig_request_verify(&ctx, &kr, &req, fx.msg[0], fx.len[0], FIX_TIME),
			 E_TSIG_BADSIG);
	tsig_keyring_deinit(&kr);
}

static void test_badtime(void **state)
{
	tsig_keyring_t kr;
	dns_request_t req;
	tsig_ctx_t ctx, client;
	uint8_t buf[512];
	uint16_t err, mac, other;
	size_t len;

	load("tsig-sha256-request.bin");
	ring_with(&kr, "hmac-sha256");
	assert_int_equal(dns_request_parse(&req, fx.msg[0], fx.len[0]), E_OK);
	assert_int_equal(tsig_request_verify(&ctx, &kr, &req, fx.msg[0], fx.len[0], FIX_TIME + 300),
			 E_OK);
	assert_int_equal(tsig_request_verify(&ctx, &kr, &req, fx.msg[0], fx.len[0], FIX_TIME - 301),
			 E_TSIG_BADTIME);
	assert_int_equal(
		tsig_request_verify(&ctx, &kr, &req, fx.msg[0], fx.len[0], FIX_TIME + 3600),
		E_TSIG_BADTIME);
	len = error_response(&ctx, &req, buf, FIX_TIME + 3600);
	tsig_fields(buf, len, &err, &mac, &other);
	assert_int_equal(err, TSIG_ERR_BADTIME);
	assert_int_equal(mac, 32);
	assert_int_equal(other, 6);
	/* signed: Time Signed is the client's, the MAC verifies against the request MAC */
	assert_int_equal(time_of(buf, len), FIX_TIME);
	assert_int_equal(
		tsig_ctx_from_request(&client, &kr.keys[0], fx.msg[0], fx.len[0], req.tsig_pos),
		E_OK);
	assert_int_equal(tsig_response_verify(&client, buf, len, FIX_TIME), E_TSIG_BADTIME);
	assert_int_equal(client.nmsg, 1); /* the MAC itself verified */
	tsig_keyring_deinit(&kr);
}

/* Strip the TSIG from a signed message (ARCOUNT less one). */
static size_t strip(uint8_t *msg, size_t len)
{
	size_t pos;

	assert_int_equal(tsig_find(msg, len, &pos), E_OK);
	dns_put16(msg + 10, (uint16_t)(dns_u16(msg + 10) - 1));
	return pos;
}

/* Re-sign dnspython's multi-message answer ourselves: identical octets. */
static void multi(const char *file, const char *alg)
{
	static uint8_t buf[DNS_TCP_MAX];
	tsig_keyring_t kr;
	dns_request_t req;
	tsig_ctx_t ctx, client;

	load(file);
	assert_int_equal(fx.n, 4);
	ring_with(&kr, alg);
	assert_int_equal(dns_request_parse(&req, fx.msg[0], fx.len[0]), E_OK);
	assert_int_equal(tsig_request_verify(&ctx, &kr, &req, fx.msg[0], fx.len[0], FIX_TIME),
			 E_OK);
	assert_int_equal(
		tsig_ctx_from_request(&client, &kr.keys[0], fx.msg[0], fx.len[0], req.tsig_pos),
		E_OK);
	for (size_t i = 1; i < fx.n; i++) {
		size_t len;

		/* the client side verifies dnspython's messages in turn */
		assert_int_equal(tsig_response_verify(&client, fx.msg[i], fx.len[i], FIX_TIME),
				 E_OK);
		memcpy(buf, fx.msg[i], fx.len[i]);
		len = strip(buf, fx.len[i]);
		assert_int_equal(tsig_sign(&ctx, buf, &len, sizeof(buf), FIX_TIME), E_OK);
		assert_int_equal(len, fx.len[i]);
		assert_memory_equal(buf, fx.msg[i], len);
	}
	/* out of order: the third message against the first's MAC fails */
	assert_int_equal(
		tsig_ctx_from_request(&client, &kr.keys[0], fx.msg[0], fx.len[0], req.tsig_pos),
		E_OK);
	assert_int_equal(tsig_response_verify(&client, fx.msg[2], fx.len[2], FIX_TIME),
			 E_TSIG_BADSIG);
	tsig_keyring_deinit(&kr);
}

static void test_multi_message(void **state)
{
	multi("tsig-sha256-stream.bin", "hmac-sha256");
	multi("tsig-sha512-stream.bin", "hmac-sha512");
}

/* A request we sign verifies as a request, and our answer verifies on the client side. */
static void test_roundtrip(void **state)
{
	uint8_t q[512], r[512];
	tsig_keyring_t kr;
	tsig_ctx_t cctx, sctx;
	dns_request_t req, base = { 0 };
	dns_writer_t w;
	size_t qlen, rlen;

	ring_with(&kr, "hmac-sha384");
	base.id = 77;
	base.opcode = 4;
	assert_int_equal(dname_from_str(base.qname, "example.test.", NULL), 14);
	base.qname_len = 14;
	base.qtype = RR_SOA;
	base.qclass = CLASS_IN;
	assert_int_equal(dns_writer_begin(&w, q, sizeof(q), &base), E_OK);
	dns_writer_flags(&w, DNS_FLAG_AA, DNS_FLAG_QR);
	qlen = dns_writer_finish(&w);
	assert_int_equal(tsig_request_sign(&cctx, &kr.keys[0], q, &qlen, sizeof(q), 5000), E_OK);
	assert_true(qlen <= 12 + 18 + tsig_rr_size(&kr.keys[0]));
	assert_int_equal(dns_request_parse(&req, q, qlen), E_OK);
	assert_int_equal(tsig_request_verify(&sctx, &kr, &req, q, qlen, 5010), E_OK);
	assert_int_equal(dns_writer_begin(&w, r, sizeof(r), &req), E_OK);
	rlen = dns_writer_finish(&w);
	assert_int_equal(tsig_sign(&sctx, r, &rlen, sizeof(r), 5011), E_OK);
	assert_int_equal(tsig_response_verify(&cctx, r, rlen, 5012), E_OK);
	/* no room */
	rlen = dns_writer_finish(&w);
	assert_int_equal(tsig_sign(&sctx, r, &rlen, rlen + 20, 5011), E_TRUNC);
	tsig_keyring_deinit(&kr);
}

static void test_keys(void **state)
{
	tsig_key_t k;
	enum tsig_alg a;

	assert_int_equal(tsig_key_set(&k, "Key.Example", NULL, "c2Vj cmV0"), E_OK);
	assert_int_equal(k.alg, TSIG_HMAC_SHA256);
	assert_int_equal(k.secret_len, 6);
	assert_memory_equal(k.secret, "secret", 6);
	assert_memory_equal(k.name, "\3key\7example", 13);
	assert_int_equal(tsig_key_set(&k, "k", "hmac-md5", "c2VjcmV0"), E_NOTSUP);
	assert_int_equal(tsig_key_set(&k, "k", "hmac-sha999", "c2VjcmV0"), -EINVAL);
	assert_int_equal(tsig_key_set(&k, "k", "hmac-sha1", "not base64!"), -EINVAL);
	assert_int_equal(tsig_key_set(&k, "k", "hmac-sha1", ""), -EINVAL);
	assert_int_equal(tsig_alg_from_str("HMAC-SHA512.", &a), E_OK);
	assert_int_equal(a, TSIG_HMAC_SHA512);
	assert_string_equal(tsig_alg_str(TSIG_HMAC_SHA224), "hmac-sha224");
	assert_int_equal(tsig_alg_mac_len(TSIG_HMAC_SHA1), 20);
	tsig_key_wipe(&k);
}

static void test_keyfile(void **state)
{
	static const char text[] = "// BIND key file\n"
				   "key \"transfer.key\" {\n"
				   "\talgorithm hmac-sha256;\n"
				   "\tsecret \"" FIX_SECRET "\";\n"
				   "};\n"
				   "# another\n"
				   "key other. { /* inline\n comment */ algorithm HMAC-SHA1; "
				   "secret \"c2VjcmV0\"; };\n";
	tsig_keyring_t kr;
	char err[256];
	uint8_t name[DNAME_MAX];

	tsig_keyring_init(&kr);
	assert_int_equal(tsig_keyring_parse(&kr, text, strlen(text), "keys.conf", err, sizeof(err)),
			 E_OK);
	assert_int_equal(kr.count, 2);
	assert_int_equal(dname_from_str(name, "OTHER", NULL), 7);
	assert_non_null(tsig_keyring_find(&kr, name));
	assert_int_equal(tsig_keyring_find(&kr, name)->alg, TSIG_HMAC_SHA1);
	assert_int_equal(tsig_keyring_find(&kr, name)->secret_len, 6);
	/* the same again: duplicates */
	assert_int_equal(tsig_keyring_parse(&kr, text, strlen(text), "keys.conf", err, sizeof(err)),
			 E_CFG_SEMANTIC);
	assert_string_equal(err, "keys.conf:2: key \"transfer.key\" defined twice");
	tsig_keyring_deinit(&kr);

	static const struct {
		const char *text;
		int ret;
		const char *err;
	} bad[] = {
		{ "key k { algorithm hmac-sha256; secret \"c2VjcmV0\" };", E_CFG_SYNTAX,
		  "f:1: key \"k\": missing ';' after secret" },
		{ "\n\nkey k { algorithm hmac-md5; secret \"c2VjcmV0\"; };", E_CFG_SEMANTIC,
		  "f:3: key \"k\": algorithm not supported (hmac-sha1/224/256/384/512)" },
		{ "key k {\n secret \"!!\";\n algorithm hmac-sha1; };", E_CFG_SEMANTIC,
		  "f:1: key \"k\": secret is not base64 (or is empty or too long)" },
		{ "key k { algorithm hmac-sha1; };", E_CFG_SEMANTIC,
		  "f:1: key \"k\" has no secret" },
		{ "options { };", E_CFG_SYNTAX, "f:1: expected a 'key' clause" },
		{ "key k { color blue; };", E_CFG_SYNTAX,
		  "f:1: key \"k\": unknown option 'color'" },
		{ "key k { secret \"abc", E_CFG_SYNTAX, "f:1: unterminated string" },
		{ "/* never closed", E_CFG_SYNTAX, "f:1: unterminated comment" },
		{ "key k { algorithm hmac-sha1; secret \"c2VjcmV0\"; }", E_CFG_SYNTAX,
		  "f:1: key \"k\": missing ';' after '}'" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		tsig_keyring_init(&kr);
		assert_int_equal(tsig_keyring_parse(&kr, bad[i].text, strlen(bad[i].text), "f", err,
						    sizeof(err)),
				 bad[i].ret);
		assert_string_equal(err, bad[i].err);
		tsig_keyring_deinit(&kr);
	}
}

static void test_keyfile_load(void **state)
{
	char path[] = "/tmp/signet-tsig-XXXXXX";
	tsig_keyring_t kr;
	char err[256];
	int fd = mkstemp(path);
	static const char text[] =
		"key \"a\" { algorithm hmac-sha512; secret \"" FIX_SECRET "\"; };";

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	tsig_keyring_init(&kr);
	assert_int_equal(tsig_keyring_load(&kr, path, err, sizeof(err)), E_OK);
	assert_int_equal(kr.count, 1);
	assert_int_equal(kr.keys[0].secret_len, 32);
	unlink(path);
	assert_int_equal(tsig_keyring_load(&kr, path, err, sizeof(err)), -ENOENT);
	tsig_keyring_deinit(&kr);
}

static void test_malformed(void **state)
{
	tsig_keyring_t kr;
	dns_request_t req;
	tsig_ctx_t ctx;
	size_t pos;

	load("tsig-sha256-request.bin");
	ring_with(&kr, "hmac-sha256");
	assert_int_equal(dns_request_parse(&req, fx.msg[0], fx.len[0]), E_OK);
	/* every truncation of the TSIG RDATA is refused, never read past */
	for (size_t cut = req.tsig_pos + 1; cut < fx.len[0]; cut++) {
		assert_int_equal(tsig_request_verify(&ctx, &kr, &req, fx.msg[0], cut, FIX_TIME),
				 E_MALFORMED);
	}
	assert_int_equal(tsig_find(fx.msg[0], 5, &pos), E_MALFORMED);
	tsig_keyring_deinit(&kr);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_verify_dnspython), cmocka_unit_test(test_verify_kdig),
		cmocka_unit_test(test_badkey),           cmocka_unit_test(test_badsig),
		cmocka_unit_test(test_badtime),          cmocka_unit_test(test_multi_message),
		cmocka_unit_test(test_roundtrip),        cmocka_unit_test(test_keys),
		cmocka_unit_test(test_keyfile),          cmocka_unit_test(test_keyfile_load),
		cmocka_unit_test(test_malformed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
