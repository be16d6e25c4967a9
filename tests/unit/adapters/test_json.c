/* Unit tests: the strict JSON reader (adapters/json.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "adapters/json.h"
#include "dns/err.h"

static json_t *parse_ok(const char *text)
{
	json_t *j = NULL;
	char err[256] = "";
	int ret = json_parse(&j, text, strlen(text), err, sizeof(err));
	if (ret != E_OK) {
		fail_msg("'%s' did not parse: %s", text, err);
	}
	return j;
}

/* The error message for \a text (which must not parse). */
static const char *parse_err(const char *text, size_t len)
{
	static char err[256];
	json_t *j = NULL;
	err[0] = '\0';
	assert_int_equal(json_parse(&j, text, len, err, sizeof(err)), E_MALFORMED);
	assert_null(j);
	return err;
}

#define ERR(text) parse_err(text, sizeof(text) - 1)

static void test_values(void **state)
{
	(void)state;
	json_t *j = parse_ok(" {\"s\": \"x\", \"n\": -12, \"f\": 1.5e2, \"t\": true, \"F\": false, "
			     "\"z\": null, \"a\": [1, [2], {}], \"o\": {\"k\": \"v\"}} ");
	int64_t i = 0;
	double d = 0;
	bool b = false;
	size_t len = 0;

	assert_int_equal(json_type(j), JSON_OBJECT);
	assert_int_equal(json_count(j), 8);
	assert_string_equal(json_key_at(j, 0), "s");
	assert_string_equal(json_key_at(j, 7), "o");
	assert_string_equal(json_str(json_get(j, "s"), &len), "x");
	assert_int_equal(len, 1);
	assert_true(json_int(json_get(j, "n"), &i));
	assert_int_equal(i, -12);
	assert_false(json_int(json_get(j, "f"), &i)); /* not integral syntax */
	assert_true(json_double(json_get(j, "f"), &d));
	assert_true(d == 150.0);
	assert_true(json_bool(json_get(j, "t"), &b) && b);
	assert_true(json_bool(json_get(j, "F"), &b) && !b);
	assert_int_equal(json_type(json_get(j, "z")), JSON_NULL);
	assert_non_null(json_get(j, "z"));
	assert_null(json_get(j, "missing"));
	assert_int_equal(json_count(json_get(j, "a")), 3);
	assert_true(json_int(json_at(json_at(json_get(j, "a"), 1), 0), &i));
	assert_int_equal(i, 2);
	assert_int_equal(json_count(json_at(json_get(j, "a"), 2)), 0);
	assert_null(json_at(json_get(j, "a"), 3));
	assert_string_equal(json_str(json_path(j, "o.k"), NULL), "v");
	assert_null(json_path(j, "o.k.x"));
	assert_null(json_path(j, "s.x"));
	/* wrong types give nothing */
	assert_null(json_str(json_get(j, "n"), NULL));
	assert_false(json_bool(json_get(j, "s"), &b));
	assert_null(json_get(json_get(j, "a"), "x"));
	assert_null(json_key_at(json_get(j, "a"), 0));
	assert_string_equal(json_str(json_at(j, 0), NULL), "x"); /* members by index */
	json_free(j);

	/* a scalar is a JSON text too */
	j = parse_ok("\"only\"");
	assert_string_equal(json_str(j, NULL), "only");
	json_free(j);
	j = parse_ok("-0");
	assert_true(json_int(j, &i) && i == 0);
	json_free(j);
	json_free(NULL);
}

static void test_int(void **state)
{
	(void)state;
	json_t *j = parse_ok("[9223372036854775807, -9223372036854775808, 9223372036854775808, "
			     "\"123\", \"-5\", \"12a\", \"\", 1e3, 1.0]");
	int64_t i = 0;
	assert_true(json_int(json_at(j, 0), &i));
	assert_true(i == INT64_MAX);
	assert_true(json_int(json_at(j, 1), &i));
	assert_true(i == INT64_MIN);
	assert_false(json_int(json_at(j, 2), &i)); /* overflows */
	assert_true(json_int(json_at(j, 3), &i));  /* etcd writes int64s as strings */
	assert_int_equal(i, 123);
	assert_true(json_int(json_at(j, 4), &i));
	assert_int_equal(i, -5);
	assert_false(json_int(json_at(j, 5), &i));
	assert_false(json_int(json_at(j, 6), &i));
	assert_false(json_int(json_at(j, 7), &i));
	assert_false(json_int(json_at(j, 8), &i));
	json_free(j);
}

static void test_escapes(void **state)
{
	(void)state;
	size_t len = 0;
	json_t *j = parse_ok(
		"[\"\\\"\\\\\\/\\b\\f\\n\\r\\t\", \"\\u0041\\u00e9\\u20AC\", "
		"\"\\ud83d\\ude00\", \"a\\u0000b\", \"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"]");
	assert_string_equal(json_str(json_at(j, 0), NULL), "\"\\/\b\f\n\r\t");
	assert_string_equal(json_str(json_at(j, 1), NULL), "A\xc3\xa9\xe2\x82\xac");
	assert_string_equal(json_str(json_at(j, 2), NULL), "\xf0\x9f\x98\x80");
	const char *s = json_str(json_at(j, 3), &len);
	assert_int_equal(len, 3);
	assert_memory_equal(s, "a\0b", 3);
	assert_string_equal(json_str(json_at(j, 4), NULL), "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
	json_free(j);
}

static void test_errors(void **state)
{
	(void)state;
	assert_string_equal(ERR("{\"a\":1,}"),
			    "line 1, column 8: expected a string (a member name), not '}'");
	assert_string_equal(ERR("{\"a\" 1}"), "line 1, column 6: expected ':', not '1'");
	assert_string_equal(ERR("[1,2"),
			    "line 1, column 5: expected ',' or ']', not the end of the text");
	assert_string_equal(ERR("{\n  \"a\": tru\n}"),
			    "line 2, column 8: unexpected 't' (not a JSON value)");
	assert_string_equal(ERR(""), "line 1, column 1: expected a value, not the end of the text");
	assert_string_equal(ERR("   \n "),
			    "line 2, column 2: expected a value, not the end of the text");
	assert_string_equal(ERR("1 2"), "line 1, column 3: unexpected '2' after the JSON text");
	assert_string_equal(ERR("[01]"),
			    "line 1, column 2: numbers do not start with 0 (except 0 itself)");
	assert_string_equal(ERR("-"), "line 1, column 2: a number needs a digit here, not the end "
				      "of the text");
	assert_string_equal(ERR("1."), "line 1, column 3: a digit must follow the decimal point");
	assert_string_equal(ERR("1e+"), "line 1, column 4: the exponent needs a digit");
	assert_string_equal(ERR(".5"), "line 1, column 1: expected a value, not '.'");
	assert_string_equal(ERR("+1"), "line 1, column 1: expected a value, not '+'");
	assert_string_equal(ERR("[NaN]"), "line 1, column 2: expected a value, not 'N'");
	assert_string_equal(ERR("\"abc"), "line 1, column 1: unterminated string");
	assert_string_equal(ERR("\"ab\\"), "line 1, column 1: unterminated string");
	assert_string_equal(ERR("\"a\\x\""), "line 1, column 3: invalid escape '\\x'");
	assert_string_equal(ERR("\"a\nb\""), "line 1, column 3: control character (byte 0x0a) in "
					     "a string; write it escaped");
	assert_string_equal(ERR("\"\\u12\""),
			    "line 1, column 2: \\u needs four hexadecimal digits");
	assert_string_equal(ERR("\"\\u12G4\""),
			    "line 1, column 2: \\u needs four hexadecimal digits");
	assert_string_equal(ERR("\"x\\ud800\""),
			    "line 1, column 3: \\uD800 is a high surrogate without a low one");
	assert_string_equal(ERR("\"\\ud800\\u0041\""),
			    "line 1, column 2: \\uD800 is a high surrogate without a low one");
	assert_string_equal(ERR("\"\\udc00\""),
			    "line 1, column 2: \\uDC00 is a low surrogate without a high one");
	/* UTF-8: columns count characters */
	assert_string_equal(ERR("\"\xc3\xa9\xff\""), "line 1, column 3: invalid UTF-8 in a string");
	assert_string_equal(ERR("\"\xc0\xaf\""), "line 1, column 2: invalid UTF-8 in a string");
	assert_string_equal(ERR("\"\xed\xa0\x80\""), "line 1, column 2: invalid UTF-8 in a string");
	assert_string_equal(ERR("\"\xf4\x90\x80\x80\""),
			    "line 1, column 2: invalid UTF-8 in a string");
	assert_string_equal(ERR("\"\xe2\x82\""), "line 1, column 2: invalid UTF-8 in a string");
	assert_string_equal(ERR("\xef\xbb\xbf{}"),
			    "line 1, column 1: expected a value, not byte 0xef");
	assert_string_equal(ERR("{\"a\":1}}"),
			    "line 1, column 8: unexpected '}' after the JSON text");
	assert_string_equal(ERR("[1,]"), "line 1, column 4: expected a value, not ']'");
	assert_string_equal(ERR("[true false]"), "line 1, column 7: expected ',' or ']', not 'f'");
	assert_string_equal(ERR("{1:2}"),
			    "line 1, column 2: expected a string (a member name), not '1'");
	assert_string_equal(ERR("nul"), "line 1, column 1: unexpected 'n' (not a JSON value)");
	/* an embedded NUL ends nothing: it is an error where it stands */
	assert_string_equal(parse_err("[1,\0]", 5), "line 1, column 4: expected a value, not byte "
						    "0x00");
	/* no room for the message is fine */
	json_t *j = NULL;
	assert_int_equal(json_parse(&j, "[", 1, NULL, 0), E_MALFORMED);
}

static void test_depth(void **state)
{
	(void)state;
	char text[2 * (JSON_DEPTH_MAX + 1) + 1];
	json_t *j = NULL;
	char err[128];
	for (int d = JSON_DEPTH_MAX; d <= JSON_DEPTH_MAX + 1; d++) {
		memset(text, '[', (size_t)d);
		memset(text + d, ']', (size_t)d);
		int ret = json_parse(&j, text, 2 * (size_t)d, err, sizeof(err));
		if (d == JSON_DEPTH_MAX) {
			assert_int_equal(ret, E_OK);
			json_free(j);
		} else {
			assert_int_equal(ret, E_MALFORMED);
			assert_string_equal(err, "line 1, column 129: nesting deeper than 128");
		}
	}
}

static void test_duplicates(void **state)
{
	(void)state;
	int64_t i = 0;
	json_t *j = parse_ok("{\"a\":1,\"b\":2,\"a\":3}");
	assert_int_equal(json_count(j), 2);
	assert_string_equal(json_key_at(j, 0), "b");
	assert_string_equal(json_key_at(j, 1), "a");
	assert_true(json_int(json_get(j, "a"), &i));
	assert_int_equal(i, 3);
	json_free(j);

	/* a big object (sorted to find the repeats): the last of each key wins, order kept */
	char text[4096];
	size_t n = (size_t)snprintf(text, sizeof(text), "{");
	for (int k = 0; k < 40; k++) {
		n += (size_t)snprintf(text + n, sizeof(text) - n, "%s\"k%d\":%d", k ? "," : "",
				      k % 20, k);
	}
	snprintf(text + n, sizeof(text) - n, "}");
	j = parse_ok(text);
	assert_int_equal(json_count(j), 20);
	for (int k = 0; k < 20; k++) {
		char key[16];
		snprintf(key, sizeof(key), "k%d", k);
		assert_string_equal(json_key_at(j, (size_t)k), key);
		assert_true(json_int(json_get(j, key), &i));
		assert_int_equal(i, k + 20);
	}
	json_free(j);
	/* keys that differ only after a NUL are different keys */
	j = parse_ok("{\"a\\u0000x\":1,\"a\\u0000y\":2}");
	assert_int_equal(json_count(j), 2);
	json_free(j);
}

static void test_big(void **state)
{
	(void)state;
	size_t count = 100000, cap = count * 8 + 16, n = 1;
	char *text = malloc(cap);
	int64_t i = 0;
	assert_non_null(text);
	text[0] = '[';
	for (size_t k = 0; k < count; k++) {
		n += (size_t)snprintf(text + n, cap - n, "%s%zu", k ? "," : "", k);
	}
	text[n++] = ']';
	json_t *j = NULL;
	assert_int_equal(json_parse(&j, text, n, NULL, 0), E_OK);
	assert_int_equal(json_count(j), count);
	assert_true(json_int(json_at(j, count - 1), &i));
	assert_int_equal(i, (int64_t)count - 1);
	json_free(j);
	free(text);

	/* a long string */
	size_t slen = 200000;
	text = malloc(slen + 3);
	assert_non_null(text);
	text[0] = '"';
	memset(text + 1, 'x', slen);
	text[slen + 1] = '"';
	assert_int_equal(json_parse(&j, text, slen + 2, NULL, 0), E_OK);
	size_t len = 0;
	assert_non_null(json_str(j, &len));
	assert_int_equal(len, slen);
	json_free(j);
	free(text);
}

static void test_quote(void **state)
{
	(void)state;
	char buf[64];
	size_t n = json_quote(buf, sizeof(buf), "a\"b\\c\n\t\x01\xc3\xa9");
	assert_string_equal(buf, "\"a\\\"b\\\\c\\n\\t\\u0001\xc3\xa9\"");
	assert_int_equal(n, strlen(buf));
	/* truncated like snprintf: the length needed, a NUL-terminated prefix */
	n = json_quote(buf, 4, "abcdef");
	assert_int_equal(n, 8);
	assert_string_equal(buf, "\"ab");
	assert_int_equal(json_quote(NULL, 0, "x"), 3);
	/* what json_quote writes parses back to the same string */
	const char *samples[] = { "", "plain", "q\"uote", "\x1f\x7f", "\xe2\x82\xac/\\" };
	for (size_t k = 0; k < sizeof(samples) / sizeof(samples[0]); k++) {
		json_quote(buf, sizeof(buf), samples[k]);
		json_t *j = parse_ok(buf);
		assert_string_equal(json_str(j, NULL), samples[k]);
		json_free(j);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_values),  cmocka_unit_test(test_int),
		cmocka_unit_test(test_escapes), cmocka_unit_test(test_errors),
		cmocka_unit_test(test_depth),   cmocka_unit_test(test_duplicates),
		cmocka_unit_test(test_big),     cmocka_unit_test(test_quote),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
