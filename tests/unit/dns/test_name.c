/*  Unit tests: dns/name.c (wire names, compression reading, text form, canonical order). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dns/err.h"
#include "dns/name.h"

/* A wire name from a string literal: the literal's terminating NUL is the root label. */
#define N(s) ((const uint8_t *)(s))

/* ---- dname_unpack ---- */

static void test_unpack_plain(void **state)
{
	static const uint8_t pkt[] = { 0xAA, 3,   'w', 'w', 'w', 7,   'e', 'x', 'a', 'm',
				       'p',  'l', 'e', 3,   'c', 'o', 'm', 0,   0xBB };
	uint8_t out[DNAME_MAX];
	size_t pos = 1;

	(void)state;
	assert_int_equal(dname_unpack(pkt, sizeof(pkt), &pos, out), 17);
	assert_int_equal(pos, 18);
	assert_memory_equal(out, "\3www\7example\3com", 17);

	/* The root name alone. */
	pos = 17;
	assert_int_equal(dname_unpack(pkt, sizeof(pkt), &pos, out), 1);
	assert_int_equal(pos, 18);
	assert_int_equal(out[0], 0);
}

static void test_unpack_pointers(void **state)
{
	/* 0: example.com; 13: www -> 0; 19: a -> 13 (a chain of two pointers). */
	static const uint8_t pkt[] = {
		7,    'e', 'x',  'a', 'm',  'p',  'l', 'e', 3, 'c', 'o', 'm', 0, /* 0..12 */
		3,    'W', 'W',  'W', 0xC0, 0x00,                                /* 13..18 */
		1,    'a', 0xC0, 13,                                             /* 19..22 */
		0xC0, 19,                                                        /* 23..24 */
	};
	uint8_t out[DNAME_MAX];
	size_t pos;

	(void)state;
	pos = 13;
	assert_int_equal(dname_unpack(pkt, sizeof(pkt), &pos, out), 17);
	assert_int_equal(pos, 19); /* just past the first pointer */
	assert_memory_equal(out, "\3WWW\7example\3com", 17);

	pos = 19;
	assert_int_equal(dname_unpack(pkt, sizeof(pkt), &pos, out), 19);
	assert_int_equal(pos, 23);
	assert_memory_equal(out, "\1a\3WWW\7example\3com", 19);

	pos = 23;
	assert_int_equal(dname_unpack(pkt, sizeof(pkt), &pos, out), 19);
	assert_int_equal(pos, 25);
	assert_memory_equal(out, "\1a\3WWW\7example\3com", 19);
}

static void test_unpack_forward_pointer(void **state)
{
	static const uint8_t pkt[] = { 1, 'a', 0xC0, 4, 1, 'b', 0 };
	uint8_t out[DNAME_MAX];
	size_t pos = 0;

	(void)state;
	assert_int_equal(dname_unpack(pkt, sizeof(pkt), &pos, out), E_NAME_LOOP);
	assert_int_equal(pos, 0); /* untouched on error */
}

static void test_unpack_self_pointer(void **state)
{
	static const uint8_t pkt[] = { 0, 0, 0xC0, 2 };
	static const uint8_t pkt2[] = { 0, 3, 'f', 'o', 'o', 0xC0, 1 }; /* back into itself */
	uint8_t out[DNAME_MAX];
	size_t pos = 2;

	(void)state;
	assert_int_equal(dname_unpack(pkt, sizeof(pkt), &pos, out), E_NAME_LOOP);
	pos = 1;
	assert_int_equal(dname_unpack(pkt2, sizeof(pkt2), &pos, out), E_NAME_LOOP);
}

static void test_unpack_loop(void **state)
{
	/* 0: a -> 4; 4: b -> 0. Read from 4 the first hop is backwards, the second is not. */
	static const uint8_t pkt[] = { 1, 'a', 0xC0, 4, 1, 'b', 0xC0, 0 };
	uint8_t out[DNAME_MAX];
	size_t pos;

	(void)state;
	pos = 4;
	assert_int_equal(dname_unpack(pkt, sizeof(pkt), &pos, out), E_NAME_LOOP);
	pos = 0;
	assert_int_equal(dname_unpack(pkt, sizeof(pkt), &pos, out), E_NAME_LOOP);
}

static void test_unpack_past_end(void **state)
{
	static const uint8_t half_ptr[] = { 1, 'a', 0xC0 };
	static const uint8_t far_ptr[] = { 1, 'a', 0xC0, 0xFF };
	static const uint8_t trunc_label[] = { 3, 'w', 'w' };
	static const uint8_t no_root[] = { 3, 'w', 'w', 'w' };
	uint8_t out[DNAME_MAX];
	size_t pos;

	(void)state;
	pos = 0;
	assert_int_equal(dname_unpack(half_ptr, sizeof(half_ptr), &pos, out), E_MALFORMED);
	pos = 0;
	assert_int_equal(dname_unpack(far_ptr, sizeof(far_ptr), &pos, out), E_NAME_LOOP);
	pos = 0;
	assert_int_equal(dname_unpack(trunc_label, sizeof(trunc_label), &pos, out), E_MALFORMED);
	pos = 0;
	assert_int_equal(dname_unpack(no_root, sizeof(no_root), &pos, out), E_MALFORMED);
	pos = 4;
	assert_int_equal(dname_unpack(no_root, sizeof(no_root), &pos, out), E_MALFORMED);
	pos = 0;
	assert_int_equal(dname_unpack(no_root, 0, &pos, out), E_MALFORMED);
}

static void test_unpack_label_types(void **state)
{
	uint8_t pkt[70];
	uint8_t out[DNAME_MAX];
	size_t pos;

	(void)state;
	/* A 64-octet label has length octet 0x40: type bits 01. */
	memset(pkt, 'x', sizeof(pkt));
	pkt[0] = 64;
	pkt[65] = 0;
	pos = 0;
	assert_int_equal(dname_unpack(pkt, sizeof(pkt), &pos, out), E_MALFORMED);
	pkt[0] = 0x80;
	pos = 0;
	assert_int_equal(dname_unpack(pkt, sizeof(pkt), &pos, out), E_MALFORMED);
	/* 63 is fine. */
	pkt[0] = 63;
	pkt[64] = 0;
	pos = 0;
	assert_int_equal(dname_unpack(pkt, sizeof(pkt), &pos, out), 65);
	assert_int_equal(pos, 65);
}

/* Labels of 63 octets chained by pointers: name length 64 * n + 1 after n labels. */
static size_t build_chain(uint8_t *pkt, int nlabels, uint8_t last_len)
{
	size_t p = 0;
	size_t prev = 0;

	/* First a small tail label then root, then each label pointing at the previous one. */
	pkt[p++] = last_len;
	memset(pkt + p, 't', last_len);
	p += last_len;
	pkt[p++] = 0;
	for (int i = 0; i < nlabels; i++) {
		size_t here = p;

		pkt[p++] = 63;
		memset(pkt + p, 'a' + i, 63);
		p += 63;
		pkt[p++] = (uint8_t)(0xC0 | (prev >> 8));
		pkt[p++] = (uint8_t)prev;
		prev = here;
	}
	return p;
}

static void test_unpack_long_names(void **state)
{
	uint8_t pkt[512];
	uint8_t out[DNAME_MAX];
	size_t len;
	size_t pos;

	(void)state;
	/* 3 * 64 + (1 + 61) + 1 = 255: the longest legal name. */
	len = build_chain(pkt, 3, 61);
	pos = len - 66;
	assert_int_equal(dname_unpack(pkt, len, &pos, out), 255);
	assert_int_equal(pos, len);
	assert_int_equal(dname_check(out, DNAME_MAX), 255);
	assert_int_equal(dname_labels(out), 4);

	/* One octet more: 256. */
	len = build_chain(pkt, 3, 62);
	pos = len - 66;
	assert_int_equal(dname_unpack(pkt, len, &pos, out), E_NAME_LONG);
}

/* ---- simple accessors ---- */

static void test_check(void **state)
{
	uint8_t name[300];

	(void)state;
	assert_int_equal(dname_check(N("\3www\7example\3com"), 17), 17);
	assert_int_equal(dname_check(N("\3www\7example\3com"), 100), 17);
	assert_int_equal(dname_check(N("\3www\7example\3com"), 16), E_MALFORMED);
	assert_int_equal(dname_check(N("\3www\7example\3com"), 10), E_MALFORMED);
	assert_int_equal(dname_check(N(""), 1), 1);
	assert_int_equal(dname_check(N(""), 0), E_MALFORMED);
	assert_int_equal(dname_check(N("\100aaaa"), 100), E_MALFORMED); /* 64 */
	assert_int_equal(dname_check(N("\300\014"), 2), E_MALFORMED);   /* pointer */

	/* 4 labels of 63: 256 octets. */
	for (int i = 0; i < 4; i++) {
		name[i * 64] = 63;
		memset(name + i * 64 + 1, 'a', 63);
	}
	name[256] = 0;
	assert_int_equal(dname_check(name, sizeof(name)), E_NAME_LONG);
	name[192] = 61;
	name[254] = 0;
	assert_int_equal(dname_check(name, sizeof(name)), 255);
	assert_int_equal(dname_check(name, 254), E_MALFORMED);
}

static void test_len_labels(void **state)
{
	(void)state;
	assert_int_equal(dname_len(N("")), 1);
	assert_int_equal(dname_len(N("\3www\7example\3com")), 17);
	assert_int_equal(dname_labels(N("")), 0);
	assert_int_equal(dname_labels(N("\3com")), 1);
	assert_int_equal(dname_labels(N("\3www\7example\3com")), 3);
}

static void test_lower_equal_hash(void **state)
{
	uint8_t a[DNAME_MAX];
	uint8_t b[DNAME_MAX];

	(void)state;
	memcpy(a, "\3WwW\7ExAmPlE\3COM", 17);
	assert_int_equal(dname_copy_lower(b, a), 17);
	assert_memory_equal(b, "\3www\7example\3com", 17);
	assert_memory_equal(a, "\3WwW\7ExAmPlE\3COM", 17); /* source untouched */
	dname_lower(a);
	assert_memory_equal(a, "\3www\7example\3com", 17);

	/* Octets above 127 and '@'/'[' (next to the letters) are not folded. */
	memcpy(a, "\4\300@[Z", 6);
	dname_lower(a);
	assert_memory_equal(a, "\4\300@[z", 6);

	assert_true(dname_equal(N("\3WWW\7example\3COM"), N("\3www\7EXAMPLE\3com")));
	assert_true(dname_equal(N(""), N("")));
	assert_false(dname_equal(N("\3www\7example\3com"), N("\3www\7example\3net")));
	assert_false(dname_equal(N("\3www\7example\3com"), N("\7example\3com")));
	assert_false(dname_equal(N("\3www"), N("\3www\3www")));
	assert_false(dname_equal(N("\3www\3www"), N("\3www")));
	assert_false(dname_equal(N("\1@"), N("\1`"))); /* not letters: no folding */
	assert_false(dname_equal(N(""), N("\1a")));

	assert_int_equal(dname_hash(N("\3www\7example\3com")), 0xfb86befeu);
	assert_int_equal(dname_hash(N("\3WWW\7Example\3cOm")), 0xfb86befeu);
	assert_int_equal(dname_hash(N("")), 0x050c5d1fu);
	assert_int_not_equal(dname_hash(N("\3www\7example\3com")),
			     dname_hash(N("\3www\7example\3net")));
}

static void test_sub_parent_suffix(void **state)
{
	const uint8_t *n = N("\3www\7example\3com");

	(void)state;
	assert_ptr_equal(dname_parent(n), n + 4);
	assert_ptr_equal(dname_parent(n + 12), n + 16);
	assert_null(dname_parent(n + 16));
	assert_ptr_equal(dname_suffix(n, 3), n);
	assert_ptr_equal(dname_suffix(n, 2), n + 4);
	assert_ptr_equal(dname_suffix(n, 1), n + 12);
	assert_ptr_equal(dname_suffix(n, 0), n + 16);
	assert_null(dname_suffix(n, 4));

	assert_true(dname_is_sub(n, N("\7EXAMPLE\3com")));
	assert_true(dname_is_sub(n, n));
	assert_true(dname_is_sub(n, N("")));
	assert_false(dname_is_sub(n, N("\7example\3net")));
	assert_false(dname_is_sub(N("\7example\3com"), n));
	assert_false(dname_is_sub(N("\6xample\3com"), N("\7example\3com")));

	assert_true(dname_is_wildcard(N("\1*\7example")));
	assert_false(dname_is_wildcard(N("\2**\7example")));
	assert_false(dname_is_wildcard(N("\1a\1*")));
	assert_false(dname_is_wildcard(N("")));
}

/* ---- text form ---- */

static void test_from_str(void **state)
{
	uint8_t out[DNAME_MAX];
	const uint8_t *origin = N("\7example\3com");

	(void)state;
	assert_int_equal(dname_from_str(out, "www.example.com.", NULL), 17);
	assert_memory_equal(out, "\3www\7example\3com", 17);
	assert_int_equal(dname_from_str(out, "www", origin), 17);
	assert_memory_equal(out, "\3www\7example\3com", 17);
	assert_int_equal(dname_from_str(out, "a.b", origin), 17);
	assert_memory_equal(out, "\1a\1b\7example\3com", 17);
	assert_int_equal(dname_from_str(out, "www", NULL), 5);
	assert_memory_equal(out, "\3www", 5);
	assert_int_equal(dname_from_str(out, "@", origin), 13);
	assert_memory_equal(out, "\7example\3com", 13);
	assert_int_equal(dname_from_str(out, "@", NULL), 1);
	assert_int_equal(out[0], 0);
	assert_int_equal(dname_from_str(out, ".", origin), 1);
	assert_int_equal(out[0], 0);
	/* Escapes: \. inside a label, \DDD, \X. */
	assert_int_equal(dname_from_str(out, "a\\.b.example.", NULL), 13);
	assert_memory_equal(out, "\3a.b\7example", 13);
	assert_int_equal(dname_from_str(out, "\\065\\000\\255.", NULL), 5);
	assert_memory_equal(out, "\3A\000\377", 5);
	assert_int_equal(dname_from_str(out, "\\@\\\\\\\".", NULL), 5);
	assert_memory_equal(out, "\3@\\\"", 5);
	/* '@' inside a longer name is a plain octet. */
	assert_int_equal(dname_from_str(out, "a@.", NULL), 4);
	assert_memory_equal(out, "\2a@", 4);
	/* Case is kept. */
	assert_int_equal(dname_from_str(out, "WwW.", NULL), 5);
	assert_memory_equal(out, "\3WwW", 5);
}

static void test_from_str_errors(void **state)
{
	uint8_t out[DNAME_MAX];
	char buf[400];

	(void)state;
	assert_int_equal(dname_from_str(out, "", NULL), E_NAME_SYNTAX);
	assert_int_equal(dname_from_str(out, "a..b", NULL), E_NAME_SYNTAX);
	assert_int_equal(dname_from_str(out, ".a", NULL), E_NAME_SYNTAX);
	assert_int_equal(dname_from_str(out, "a..", NULL), E_NAME_SYNTAX);
	assert_int_equal(dname_from_str(out, "..", NULL), E_NAME_SYNTAX);
	assert_int_equal(dname_from_str(out, "a\\", NULL), E_NAME_SYNTAX);
	assert_int_equal(dname_from_str(out, "a\\25", NULL), E_NAME_SYNTAX);
	assert_int_equal(dname_from_str(out, "a\\2x5", NULL), E_NAME_SYNTAX);
	assert_int_equal(dname_from_str(out, "\\256", NULL), E_NAME_SYNTAX);

	/* 63-octet label fine, 64 not. */
	memset(buf, 'a', 63);
	strcpy(buf + 63, ".");
	assert_int_equal(dname_from_str(out, buf, NULL), 65);
	memset(buf, 'a', 64);
	strcpy(buf + 64, ".");
	assert_int_equal(dname_from_str(out, buf, NULL), E_NAME_LABEL);
	/* 64 octets written with escapes. */
	buf[0] = '\0';
	for (int i = 0; i < 64; i++) {
		strcat(buf, "\\097");
	}
	assert_int_equal(dname_from_str(out, buf, NULL), E_NAME_LABEL);

	/* 127 one-octet labels: 255; 128: too long. */
	buf[0] = '\0';
	for (int i = 0; i < 127; i++) {
		strcat(buf, "a.");
	}
	assert_int_equal(dname_from_str(out, buf, NULL), 255);
	assert_int_equal(dname_labels(out), 127);
	strcat(buf, "a.");
	assert_int_equal(dname_from_str(out, buf, NULL), E_NAME_LONG);
	/* Relative name fitting alone but not with the origin. */
	buf[0] = '\0';
	for (int i = 0; i < 126; i++) {
		strcat(buf, "a.");
	}
	buf[strlen(buf) - 1] = '\0';
	assert_int_equal(dname_from_str(out, buf, NULL), 253);
	assert_int_equal(dname_from_str(out, buf, N("\1b")), 255);
	assert_int_equal(dname_from_str(out, buf, N("\2bb")), E_NAME_LONG);
}

static void test_to_str(void **state)
{
	char buf[DNAME_STR_MAX];
	uint8_t all[DNAME_MAX];

	(void)state;
	assert_int_equal(dname_to_str(buf, sizeof(buf), N("")), 1);
	assert_string_equal(buf, ".");
	assert_int_equal(dname_to_str(buf, sizeof(buf), N("\3WwW\7example\3com")), 16);
	assert_string_equal(buf, "WwW.example.com.");
	assert_int_equal(dname_to_str(buf, sizeof(buf), N("\3a.b\7example")), 13);
	assert_string_equal(buf, "a\\.b.example.");
	assert_int_equal(dname_to_str(buf, sizeof(buf), N("\10.\\\"();@$")), 17);
	assert_string_equal(buf, "\\.\\\\\\\"\\(\\)\\;\\@\\$.");
	assert_int_equal(dname_to_str(buf, sizeof(buf), N("\4\000 \177\377")), 17);
	assert_string_equal(buf, "\\000\\032\\127\\255.");
	assert_int_equal(dname_to_str(buf, sizeof(buf), N("\5a-_*~")), 6);
	assert_string_equal(buf, "a-_*~.");

	/* Exactly enough room, and one octet less. */
	assert_int_equal(dname_to_str(buf, 5, N("\3www")), 4);
	assert_string_equal(buf, "www.");
	assert_int_equal(dname_to_str(buf, 4, N("\3www")), E_TRUNC);
	assert_int_equal(dname_to_str(buf, 6, N("\1\001")), 5);
	assert_int_equal(dname_to_str(buf, 5, N("\1\001")), E_TRUNC);
	assert_int_equal(dname_to_str(buf, 1, N("")), E_TRUNC);
	assert_int_equal(dname_to_str(buf, 0, N("\1a")), E_TRUNC);

	/* The worst case fills DNAME_STR_MAX exactly. */
	for (int i = 0; i < 3; i++) {
		all[i * 64] = 63;
		memset(all + i * 64 + 1, 0xFF, 63);
	}
	all[192] = 61;
	memset(all + 193, 0xFF, 61);
	all[254] = 0;
	assert_int_equal(dname_check(all, DNAME_MAX), 255);
	assert_int_equal(dname_to_str(buf, sizeof(buf), all), 4 * 250 + 4);
	assert_true(4 * 250 + 4 < DNAME_STR_MAX);
	assert_memory_equal(buf, "\\255\\255", 8);
	assert_string_equal(buf + 4 * 250 + 3, ".");
}

static void test_str_round_trip(void **state)
{
	static const char *names[] = {
		".",
		"www.example.com.",
		"a\\.b.example.",
		"\\000\\001\\255.x.",
		"\\\"\\(\\)\\;\\@\\$\\\\.",
		"*.example.",
		"xn--bcher-kva.example.",
		"\\032space\\009tab.",
	};
	uint8_t wire[DNAME_MAX];
	uint8_t wire2[DNAME_MAX];
	char buf[DNAME_STR_MAX];

	(void)state;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		int n = dname_from_str(wire, names[i], NULL);

		assert_true(n > 0);
		assert_int_equal(dname_to_str(buf, sizeof(buf), wire), (int)strlen(names[i]));
		assert_string_equal(buf, names[i]);
		assert_int_equal(dname_from_str(wire2, buf, NULL), n);
		assert_memory_equal(wire, wire2, (size_t)n);
	}

	/* Every octet value survives wire -> text -> wire. */
	for (int c = 0; c < 256; c++) {
		uint8_t one[4] = { 2, (uint8_t)c, (uint8_t)(255 - c), 0 };

		assert_true(dname_to_str(buf, sizeof(buf), one) > 0);
		assert_int_equal(dname_from_str(wire, buf, NULL), 4);
		assert_memory_equal(wire, one, 4);
	}
}

/* ---- canonical order ---- */

static int cmp_qsort(const void *a, const void *b)
{
	return dname_cmp(*(const uint8_t *const *)a, *(const uint8_t *const *)b);
}

static void test_cmp_rfc4034(void **state)
{
	/* RFC 4034 §6.2, in canonical order. */
	static const char *text[] = {
		"example.",         "a.example.",      "yljkjljk.a.example.",
		"Z.a.example.",     "zABC.a.EXAMPLE.", "z.example.",
		"\\001.z.example.", "*.z.example.",    "\\200.z.example.",
	};
	enum { COUNT = sizeof(text) / sizeof(text[0]) };
	uint8_t wire[COUNT][DNAME_MAX];
	const uint8_t *sorted[COUNT];
	const uint8_t *shuffled[COUNT];

	(void)state;
	for (int i = 0; i < COUNT; i++) {
		assert_true(dname_from_str(wire[i], text[i], NULL) > 0);
		sorted[i] = wire[i];
	}
	for (int i = 0; i < COUNT; i++) {
		assert_int_equal(dname_cmp(sorted[i], sorted[i]), 0);
		for (int j = i + 1; j < COUNT; j++) {
			assert_true(dname_cmp(sorted[i], sorted[j]) < 0);
			assert_true(dname_cmp(sorted[j], sorted[i]) > 0);
		}
	}
	/* Reverse, then sort back. */
	for (int i = 0; i < COUNT; i++) {
		shuffled[i] = sorted[COUNT - 1 - i];
	}
	qsort(shuffled, COUNT, sizeof(shuffled[0]), cmp_qsort);
	for (int i = 0; i < COUNT; i++) {
		assert_ptr_equal(shuffled[i], sorted[i]);
	}
}

static void test_cmp_more(void **state)
{
	(void)state;
	assert_int_equal(dname_cmp(N("\3WWW\7example"), N("\3www\7EXAMPLE")), 0);
	assert_int_equal(dname_cmp(N(""), N("")), 0);
	assert_true(dname_cmp(N(""), N("\1a")) < 0);
	/* A label that is a prefix of another sorts first. */
	assert_true(dname_cmp(N("\2ab\7example"), N("\3abc\7example")) < 0);
	/* Rightmost labels decide before anything to their left. */
	assert_true(dname_cmp(N("\1z\1a"), N("\1a\1b")) < 0);
	/* Octets compare unsigned after lower-casing: 'Z' is 'z' (0x7A), above '_' (0x5F). */
	assert_true(dname_cmp(N("\1_"), N("\1Z")) < 0); /* 0x5F < 0x7A */
	assert_true(dname_cmp(N("\1\377"), N("\1a")) > 0);
}

/* ---- DNAME substitution ---- */

static void test_replace_suffix(void **state)
{
	uint8_t out[DNAME_MAX];
	uint8_t big[DNAME_MAX];
	uint8_t name[DNAME_MAX];

	(void)state;
	assert_int_equal(dname_replace_suffix(out, N("\3www\7example\3com"), N("\7EXAMPLE\3com"),
					      N("\3foo\3net")),
			 13);
	assert_memory_equal(out, "\3www\3foo\3net", 13);
	assert_int_equal(dname_replace_suffix(out, N("\1a\1b"), N(""), N("\1c")), 7);
	assert_memory_equal(out, "\1a\1b\1c", 7);
	assert_int_equal(dname_replace_suffix(out, N("\1a\1b"), N("\1c"), N("\1d")), -EINVAL);

	/* 200-octet target: prefix of 60 makes 260. */
	big[0] = 0;
	for (int i = 0; i < 3; i++) {
		big[i * 64] = 63;
		memset(big + i * 64 + 1, 't', 63);
	}
	big[192] = 7;
	memset(big + 193, 'u', 7);
	big[200] = 0;
	assert_int_equal(dname_check(big, DNAME_MAX), 201);
	name[0] = 59;
	memset(name + 1, 'n', 59);
	memcpy(name + 60, "\1x", 3);
	assert_int_equal(dname_replace_suffix(out, name, N("\1x"), big), E_NAME_LONG);
	name[0] = 52;
	memcpy(name + 53, "\1x", 3);
	assert_int_equal(dname_replace_suffix(out, name, N("\1x"), big), 254);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unpack_plain),
		cmocka_unit_test(test_unpack_pointers),
		cmocka_unit_test(test_unpack_forward_pointer),
		cmocka_unit_test(test_unpack_self_pointer),
		cmocka_unit_test(test_unpack_loop),
		cmocka_unit_test(test_unpack_past_end),
		cmocka_unit_test(test_unpack_label_types),
		cmocka_unit_test(test_unpack_long_names),
		cmocka_unit_test(test_check),
		cmocka_unit_test(test_len_labels),
		cmocka_unit_test(test_lower_equal_hash),
		cmocka_unit_test(test_sub_parent_suffix),
		cmocka_unit_test(test_from_str),
		cmocka_unit_test(test_from_str_errors),
		cmocka_unit_test(test_to_str),
		cmocka_unit_test(test_str_round_trip),
		cmocka_unit_test(test_cmp_rfc4034),
		cmocka_unit_test(test_cmp_more),
		cmocka_unit_test(test_replace_suffix),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
