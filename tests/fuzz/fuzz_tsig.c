/*  libFuzzer target: TSIG (dns/tsig.c) — the TSIG RR of requests and responses, and BIND key
 *  clause files.
 *
 *  The input is read three ways: as a BIND key file (tsig_keyring_parse); as a request whose
 *  TSIG is verified against two keys, and when it verifies (or fails with a TSIG error) the
 *  response is signed and must verify on the client side; as a response verified by a client
 *  (tsig_response_verify). Finally a request made of the input's question is signed by us and
 *  must verify. Nothing may read outside the input.
 *
 *  clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -I. tests/fuzz/fuzz_tsig.c \
 *        dns/tsig.c dns/name.c dns/pkt.c dns/err.c dns/log.c -lnettle -o build/fuzz_tsig
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dns/err.h"
#include "dns/pkt.h"
#include "dns/rrtype.h"
#include "dns/tsig.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)              \
	do {                     \
		if (!(cond)) {   \
			abort(); \
		}                \
	} while (0)

#define NOW 1700000000u

static tsig_keyring_t ring;

static void ring_init(void)
{
	tsig_key_t k;

	if (ring.count > 0) {
		return;
	}
	tsig_keyring_init(&ring);
	CHECK(tsig_key_set(&k, "transfer.key.", "hmac-sha256",
			   "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=") == E_OK);
	CHECK(tsig_keyring_add(&ring, &k) == E_OK);
	CHECK(tsig_key_set(&k, "k2", "hmac-sha1", "c2VjcmV0") == E_OK);
	CHECK(tsig_keyring_add(&ring, &k) == E_OK);
}

static void key_file(const uint8_t *data, size_t size)
{
	tsig_keyring_t kr;
	char err[256];
	char *text = malloc(size + 1);

	CHECK(text != NULL);
	memcpy(text, data, size);
	text[size] = '\0';
	tsig_keyring_init(&kr);
	tsig_keyring_parse(&kr, text, size, "fuzz", err, sizeof(err));
	for (size_t i = 0; i < kr.count; i++) {
		CHECK(kr.keys[i].secret_len > 0 && kr.keys[i].secret_len <= TSIG_SECRET_MAX);
		CHECK(tsig_keyring_find(&kr, kr.keys[i].name) == &kr.keys[i]);
	}
	tsig_keyring_deinit(&kr);
	free(text);
}

/* Verify as a request; answer; the answer verifies on the client side. */
static void as_request(const uint8_t *data, size_t size)
{
	static uint8_t out[DNS_TCP_MAX];
	dns_request_t req;
	tsig_ctx_t sctx, cctx;
	dns_writer_t w;
	size_t len;
	int ret;

	if (dns_request_parse(&req, data, size) != E_OK) {
		return;
	}
	ret = tsig_request_verify(&sctx, &ring, &req, data, size, NOW);
	if (ret != E_OK && ret != E_TSIG_BADKEY && ret != E_TSIG_BADSIG && ret != E_TSIG_BADTIME) {
		return;
	}
	CHECK(dns_writer_begin(&w, out, sizeof(out), &req) == E_OK);
	len = dns_writer_finish(&w);
	CHECK(tsig_sign(&sctx, out, &len, sizeof(out), NOW) == E_OK);
	CHECK(tsig_find(out, len, &(size_t){ 0 }) == E_OK);
	if (ret == E_OK || ret == E_TSIG_BADTIME) {
		CHECK(tsig_ctx_from_request(&cctx, sctx.key, data, size, req.tsig_pos) == E_OK);
		ret = tsig_response_verify(&cctx, out, len, NOW);
		CHECK(ret == E_OK || ret == E_TSIG_BADTIME);
	}
}

/* Verify as the response to a request signed with the first key. */
static void as_response(const uint8_t *data, size_t size)
{
	tsig_ctx_t c;

	memset(&c, 0, sizeof(c));
	c.key = &ring.keys[size % 2];
	c.mac_len = (uint16_t)(size % 3 == 0 ? 0 : 32);
	tsig_response_verify(&c, data, size, NOW);
	c.nmsg = 1;
	tsig_response_verify(&c, data, size, NOW);
}

/* Our own signature on the input's question always verifies. */
static void sign_own(const uint8_t *data, size_t size)
{
	uint8_t q[1024];
	dns_request_t req;
	tsig_ctx_t cctx, sctx;
	dns_writer_t w;
	size_t len;

	if (dns_request_parse(&req, data, size) != E_OK || req.qname_len == 0) {
		return;
	}
	req.opcode &= 0xF;
	CHECK(dns_writer_begin(&w, q, sizeof(q), &req) == E_OK);
	dns_writer_flags(&w, 0, DNS_FLAG_QR);
	len = dns_writer_finish(&w);
	CHECK(tsig_request_sign(&cctx, &ring.keys[size % 2], q, &len, sizeof(q), NOW) == E_OK);
	CHECK(dns_request_parse(&req, q, len) == E_OK);
	CHECK(tsig_request_verify(&sctx, &ring, &req, q, len, NOW + 10) == E_OK);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ring_init();
	key_file(data, size);
	as_request(data, size);
	as_response(data, size);
	sign_own(data, size);
	return 0;
}
