/* Unit tests: base64 (dns/base64.c), with the RFC 4648 §10 vectors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "dns/base64.h"
#include "dns/err.h"

static const char *const plain[] = { "", "f", "fo", "foo", "foob", "fooba", "foobar" };
static const char *const coded[] = {
	"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"
};

static void test_vectors(void **state)
{
	char out[64];
	uint8_t bin[64];
	(void)state;
	for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++) {
		size_t n = strlen(plain[i]);
		assert_int_equal(base64_encode(out, sizeof(out), (const uint8_t *)plain[i], n),
				 (int)strlen(coded[i]));
		assert_string_equal(out, coded[i]);
		assert_int_equal(BASE64_ENCODED_LEN(n), strlen(coded[i]));
		assert_int_equal(base64_decode(bin, sizeof(bin), coded[i], strlen(coded[i])),
				 (int)n);
		assert_memory_equal(bin, plain[i], n);
		assert_true(BASE64_DECODED_MAX(strlen(coded[i])) >= n);
	}
}

static void test_errors(void **state)
{
	char out[16];
	uint8_t bin[64];
	(void)state;
	/* white space is ignored */
	assert_int_equal(base64_decode(bin, sizeof(bin), " Zm9v\nYmFy\t", 11), 6);
	assert_memory_equal(bin, "foobar", 6);
	assert_int_equal(base64_decode(bin, sizeof(bin), "Zm9v!", 5), E_MALFORMED);
	assert_int_equal(base64_decode(bin, sizeof(bin), "Zg", 2), E_MALFORMED); /* no padding */
	assert_int_equal(base64_decode(bin, sizeof(bin), "Zg==Zg==", 8), E_MALFORMED);
	/* too small */
	assert_int_equal(base64_decode(bin, 2, "Zm9vYmFy", 8), E_TRUNC);
	assert_int_equal(base64_encode(out, 8, (const uint8_t *)"foobar", 6), E_TRUNC);
	assert_int_equal(base64_encode(out, 9, (const uint8_t *)"foobar", 6), 8);
	/* binary */
	uint8_t all[256];
	char text[BASE64_ENCODED_LEN(256) + 1];
	for (int i = 0; i < 256; i++) {
		all[i] = (uint8_t)i;
	}
	uint8_t back[BASE64_DECODED_MAX(sizeof(text))];
	int n = base64_encode(text, sizeof(text), all, sizeof(all));
	assert_int_equal(n, 344);
	assert_int_equal(base64_decode(back, sizeof(back), text, (size_t)n), 256);
	assert_memory_equal(back, all, 256);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors),
		cmocka_unit_test(test_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
