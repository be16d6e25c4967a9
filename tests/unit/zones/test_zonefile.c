/*  Unit tests: zones/zonefile.c (RFC 1035 master files), on a real builder.
 *
 *  Zone files live in tests/data/zonefile/. A zone with errors is not finished by the builder,
 *  so for those the tests check the diagnostics: every record the reader does not add is
 *  reported (by the reader or by the builder), hence a line without a message was added.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dns/err.h"
#include "dns/log.h"
#include "dns/name.h"
#include "dns/rrtext.h"
#include "dns/rrtype.h"
#include "zones/builder.h"
#include "zones/zone.h"
#include "zones/zonefile.h"
#include "tests/unit/diag_util.h"

static char datadir[1024];
static const uint8_t apex[] = "\x07"
			      "example"
			      "\x03"
			      "com";

/* The message at \a where (a suffix: "file.zone:12") containing \a text must exist. */
static void assert_diag(int level, const char *where, const char *text)
{
	size_t wl = strlen(where);

	for (int i = 0; i < ndiags && i < 64; i++) {
		size_t l = strlen(diags[i].where);
		if (diags[i].level == level && l >= wl &&
		    strcmp(diags[i].where + l - wl, where) == 0 && strstr(diags[i].msg, text)) {
			return;
		}
	}
	print_diags();
	print_error("no %s at %s with '%s'\n", level == LOG_ERR ? "error" : "warning", where, text);
	fail();
}

static void assert_no_diags(void)
{
	if (ndiags != 0) {
		print_diags();
		fail_msg("%d unexpected messages", ndiags);
	}
}

/* Load \a path (under tests/data/zonefile/ unless absolute); *z is the zone, when it builds. */
static int load(const char *path, size_t *errors, zone_t **z)
{
	zone_builder_t *b = NULL;
	char full[2048];
	int ret;

	snprintf(full, sizeof(full), "%s%s", path[0] == '/' ? "" : datadir, path);
	ndiags = 0;
	assert_int_equal(zone_builder_new(&b, apex), E_OK);
	zone_builder_set_diag(b, collect, NULL);
	ret = zonefile_load(b, full);
	if (errors != NULL) {
		*errors = zone_builder_errors(b);
	}
	*z = NULL;
	if (ret != E_OK && ret != E_ZONE_SYNTAX) {
		zone_builder_free(b); /* nothing read: nothing to build */
	} else if (zone_builder_finish(b, z) != E_OK) {
		*z = NULL;
	}
	return ret;
}

/* Write \a text to a temporary file and load it. */
static int load_text(const char *text, size_t *errors, zone_t **z)
{
	char path[] = "/tmp/test_zonefile_XXXXXX";
	int fd = mkstemp(path);
	int ret;

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	ret = load(path, errors, z);
	unlink(path);
	return ret;
}

/* \a name (relative to example.com.) must have a \a type RRset of \a ttl holding \a rdata. */
static void assert_rr(const zone_t *z, const char *name, const char *type, uint32_t ttl,
		      const char *rdata)
{
	static dns_rr_t want;
	uint8_t owner[DNAME_MAX];
	char text[1024], err[256];
	const zone_node_t *node;
	const zone_rrset_t *rs;
	const uint8_t *rd;
	uint32_t pos = 0;
	uint16_t len;

	assert_non_null(z);
	snprintf(text, sizeof(text), "%s 0 IN %s %s", name, type, rdata);
	if (dns_rr_from_text(&want, text, apex, 0, NULL, err, sizeof(err)) != E_OK) {
		fail_msg("%s: %s", text, err);
	}
	dname_copy_lower(owner, want.owner);
	node = zone_find(z, owner);
	if (node == NULL) {
		fail_msg("no node %s", name);
	}
	rs = zone_node_rrset(node, want.type);
	if (rs == NULL) {
		fail_msg("no %s at %s", type, name);
	}
	if (rs->ttl != ttl) {
		fail_msg("%s %s: TTL %u, want %u", name, type, rs->ttl, ttl);
	}
	while ((rd = zone_rrset_next(rs, &pos, &len)) != NULL) {
		if (len == want.rdlen && memcmp(rd, want.rdata, len) == 0) {
			return;
		}
	}
	fail_msg("%s %s: no RDATA %s", name, type, rdata);
}

static void assert_count(const zone_t *z, const char *name, const char *type, uint16_t count)
{
	uint8_t owner[DNAME_MAX];
	const zone_node_t *node;
	const zone_rrset_t *rs;

	assert_true(dname_from_str(owner, name, apex) > 0);
	dname_lower(owner);
	node = zone_find(z, owner);
	rs = node ? zone_node_rrset(node, dns_type_from_str(type)) : NULL;
	if (count == 0) {
		assert_null(rs);
		return;
	}
	assert_non_null(rs);
	assert_int_equal(rs->count, count);
}

static void test_directives(void **state)
{
	zone_t *z;
	size_t errors;

	assert_int_equal(load("directives.zone", &errors, &z), E_OK);
	assert_no_diags();
	assert_int_equal(errors, 0);
	/* Parentheses across lines, comments inside them. */
	assert_rr(z, "@", "SOA", 3600, "ns1 hostmaster 2024010101 3600 900 604800 86400");
	/* Blank owners: the apex after the SOA, ns1 after its A. */
	assert_count(z, "@", "NS", 2);
	assert_rr(z, "@", "NS", 3600, "ns1");
	assert_rr(z, "@", "NS", 3600, "ns2.example.net.");
	assert_rr(z, "ns1", "A", 300, "192.0.2.1");
	assert_rr(z, "ns1", "AAAA", 600, "2001:db8::1");
	/* ';' and '(' inside quotes are text; a record continued over three lines. */
	assert_rr(z, "txt", "TXT", 3600,
		  "\"semi;colon\" \"paren(\" \"second line\" \"quote\\\"inside\"");
	assert_rr(z, "mail", "MX", 3600, "10 ns1");
	/* $TTL with units, in lower case too. */
	assert_rr(z, "late", "A", 172800, "192.0.2.3");
	assert_rr(z, "lower", "A", 1800, "192.0.2.4");
	/* $ORIGIN relative to the current origin. */
	assert_rr(z, "www.sub", "A", 1800, "192.0.2.5");
	/* RFC 3597: an unknown type, a known type and class in generic form. */
	assert_rr(z, "unknown", "TYPE65534", 1800, "\\# 3 abcdef");
	assert_rr(z, "generic", "A", 1800, "192.0.2.6");
	assert_rr(z, "multi", "A", 1800, "192.0.2.7");
	assert_int_equal(z->nrecords, 13);
	zone_free(z);
}

/* RFC 1035 / BIND TTL defaults without $TTL. */
static void test_ttl_defaults(void **state)
{
	zone_t *z;
	size_t errors;

	assert_int_equal(load("nottl.zone", &errors, &z), E_OK);
	assert_int_equal(errors, 0);
	assert_int_equal(ndiags, 1);
	assert_diag(LOG_WARN, "nottl.zone:2", "using its MINIMUM 86400");
	assert_rr(z, "@", "SOA", 86400, "ns hostmaster 1 1h 15m 1w 1d");
	assert_rr(z, "@", "NS", 86400, "ns");
	assert_rr(z, "ns", "A", 60, "192.0.2.1");
	assert_rr(z, "www", "A", 86400, "192.0.2.2");
	zone_free(z);

	assert_int_equal(load("nottl-error.zone", &errors, &z), E_ZONE_SYNTAX);
	assert_int_equal(errors, 1);
	assert_diag(LOG_ERR, "nottl-error.zone:1", "no TTL");
	assert_null(z);

	/* Before any $TTL, a record without TTL takes the previous record's. */
	assert_int_equal(load_text("@ 100 SOA ns h 1 1 1 1 1\n"
				   "@ NS ns\n"
				   "ns 200 A 192.0.2.1\n"
				   "www A 192.0.2.2\n"
				   "$TTL 300\n"
				   "x A 192.0.2.3\n"
				   "y 400 A 192.0.2.4\n"
				   "z A 192.0.2.5\n",
				   &errors, &z),
			 E_OK);
	assert_no_diags();
	assert_rr(z, "@", "NS", 100, "ns");
	assert_rr(z, "www", "A", 200, "192.0.2.2");
	assert_rr(z, "x", "A", 300, "192.0.2.3");
	assert_rr(z, "y", "A", 400, "192.0.2.4");
	assert_rr(z, "z", "A", 300, "192.0.2.5");
	zone_free(z);
}

static void test_include(void **state)
{
	zone_t *z;
	size_t errors;

	assert_int_equal(load("include.zone", &errors, &z), E_OK);
	assert_no_diags();
	/* $INCLUDE with an origin; an include in the included file's folder. */
	assert_rr(z, "a.hosts", "A", 300, "192.0.2.2");
	assert_rr(z, "b.hosts", "A", 300, "192.0.2.3");
	assert_rr(z, "n.hosts", "A", 300, "192.0.2.5");
	/* $ORIGIN and $TTL inside the included file. */
	assert_rr(z, "c.deeper.hosts", "A", 120, "192.0.2.4");
	/* Back in the including file: its origin and previous owner, the last $TTL. */
	assert_rr(z, "ns", "AAAA", 120, "2001:db8::1");
	assert_rr(z, "plain", "A", 120, "192.0.2.7");
	assert_rr(z, "after", "A", 120, "192.0.2.9");
	assert_int_equal(z->nrecords, 10);
	zone_free(z);
}

static void test_include_loop(void **state)
{
	zone_t *z;
	size_t errors;

	assert_int_equal(load("loop.zone", &errors, &z), E_ZONE_SYNTAX);
	assert_int_equal(errors, 1);
	assert_int_equal(ndiags, 1);
	assert_diag(LOG_ERR, "inc/loop-b.inc:2", "$INCLUDE loop");
	assert_diag(LOG_ERR, "inc/loop-b.inc:2", "loop.zone is already being read");

	/* A file including itself. */
	char dir[] = "/tmp/test_zonefile_dir_XXXXXX";
	char path[1100];
	FILE *f;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/self.zone", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("$TTL 1\n@ SOA ns h 1 1 1 1 1\n@ NS ns\n$INCLUDE self.zone\n", f);
	fclose(f);
	assert_int_equal(load(path, &errors, &z), E_ZONE_SYNTAX);
	assert_int_equal(ndiags, 1);
	assert_diag(LOG_ERR, "self.zone:4", "$INCLUDE loop");
	unlink(path);
	rmdir(dir);
}

/* Files nest at most 16 deep: the zone's file and 15 included ones. */
static void test_include_depth(void **state)
{
	char dir[] = "/tmp/test_zonefile_dir_XXXXXX";
	char path[1100];
	zone_t *z;
	size_t errors;

	assert_non_null(mkdtemp(dir));
	for (int i = 0; i <= 16; i++) {
		FILE *f;

		snprintf(path, sizeof(path), "%s/f%d", dir, i);
		f = fopen(path, "w");
		assert_non_null(f);
		if (i == 0) {
			fputs("$TTL 60\n@ SOA ns h 1 1 1 1 1\n@ NS ns\n", f);
		}
		fprintf(f, "n%d A 192.0.2.%d\n$INCLUDE f%d\n", i, i, i + 1);
		fclose(f);
	}
	snprintf(path, sizeof(path), "%s/f0", dir);
	assert_int_equal(load(path, &errors, &z), E_ZONE_SYNTAX);
	assert_int_equal(ndiags, 1);
	assert_diag(LOG_ERR, "f15:2", "files nested more than 16 deep");
	for (int i = 0; i <= 16; i++) {
		snprintf(path, sizeof(path), "%s/f%d", dir, i);
		unlink(path);
	}
	rmdir(dir);
}

/* The names and data named-checkzone -D prints for generate.zone (BIND 9.18). */
static void test_generate(void **state)
{
	static const struct {
		const char *name, *type;
		uint32_t ttl;
		const char *rdata;
	} bind[] = {
		{ "@", "TXT", 300, "\"at\" \"apex\" \"7\"" },
		{ "esc\\$1", "TXT", 300, "\"dollar$\" \"and\" \"$\"" },
		{ "esc\\$2", "TXT", 300, "\"dollar$\" \"and\" \"$\"" },
		{ "host1", "A", 300, "192.0.2.1" },
		{ "host2", "A", 300, "192.0.2.2" },
		{ "host3", "A", 300, "192.0.2.3" },
		{ "mx1", "MX", 600, "10 mail1.example.com." },
		{ "mx2", "MX", 600, "10 mail2.example.com." },
		{ "neg0", "A", 300, "192.0.2.13" },
		{ "neg1", "A", 300, "192.0.2.14" },
		{ "1.nib", "PTR", 300, "n1.example.com." },
		{ "2.nib", "PTR", 300, "n2.example.com." },
		{ "4.3.2.1.0.0.nib11", "PTR", 300, "n4660.example.com." },
		{ "4.3.2.1.nib7", "PTR", 300, "n4660.example.com." },
		{ "hexfa.HEX00FA.oct372", "PTR", 300, "x250." },
		{ "hexff.HEX00FF.oct377", "PTR", 300, "x255." },
		{ "100.off", "CNAME", 300, "host000.example.com." },
		{ "110.off", "CNAME", 300, "host010.example.com." },
		{ "120.off", "CNAME", 300, "host020.example.com." },
		{ "pad0010", "TXT", 300, "\"v10\"" },
		{ "pad0011", "TXT", 300, "\"v11\"" },
		{ "pad0012", "TXT", 300, "\"v12\"" },
		{ "t1", "TXT", 60, "\"a1\"" },
		{ "t2", "TXT", 60, "\"a2\"" },
	};
	zone_t *z;
	size_t errors;

	assert_int_equal(load("generate.zone", &errors, &z), E_OK);
	assert_no_diags();
	for (size_t i = 0; i < sizeof(bind) / sizeof(bind[0]); i++) {
		assert_rr(z, bind[i].name, bind[i].type, bind[i].ttl, bind[i].rdata);
	}
	/* BIND's 27 records: the SOA, NS and A written out, 24 generated. */
	assert_int_equal(z->nrecords, 27);
	zone_free(z);

	/* Generated records take the previous owner from nowhere and change it for no one. */
	assert_int_equal(load_text("$TTL 5\n@ SOA ns h 1 1 1 1 1\n"
				   "$GENERATE 0-1 r$ A 192.0.2.$\n"
				   "\tNS ns\n"
				   "$GENERATE 0-65535/4096 ${0,4,x}.${0,0,N}.hex AAAA ::${0,0,x}\n",
				   &errors, &z),
			 E_OK);
	assert_no_diags();
	assert_rr(z, "@", "NS", 5, "ns");
	assert_rr(z, "r1", "A", 5, "192.0.2.1");
	assert_rr(z, "f000.0.0.0.F.hex", "AAAA", 5, "::f000");
	assert_int_equal(z->nrecords, 2 + 2 + 16);
	zone_free(z);
}

/* Each problem reported with the line its record starts on; everything else is read. */
static void test_errors(void **state)
{
	static const struct {
		int level;
		const char *where, *text;
	} want[] = {
		{ LOG_ERR, "errors.zone:5", "bad IPv4 address '1.2.3'" },
		{ LOG_ERR, "errors.zone:7", "unknown type 'AAAAX'" },
		{ LOG_ERR, "errors.zone:8", "class CH is not supported" },
		{ LOG_WARN, "errors.zone:9", "outside the zone" },
		{ LOG_ERR, "errors.zone:10", "unknown directive '$FOO'" },
		{ LOG_ERR, "errors.zone:11", "bad MX preference '70000'" },
		{ LOG_ERR, "errors.zone:12", "bad IPv4 address '192.0.2.300'" },
		{ LOG_ERR, "errors.zone:15", "cannot open" },
		{ LOG_ERR, "errors.zone:16", "bad $TTL '1y'" },
		{ LOG_ERR, "errors.zone:18", "bad $GENERATE range '3-1'" },
		{ LOG_ERR, "errors.zone:19", "bad modifier '${0,3,q}'" },
		{ LOG_ERR, "errors.zone:20", "')' without '('" },
		{ LOG_ERR, "errors.zone:21", "missing closing quote" },
		{ LOG_ERR, "inc/blank-owner.inc:1", "no owner name" },
		{ LOG_ERR, "errors.zone:23", "RFC 3597 form" },
	};
	zone_t *z;
	size_t errors;

	assert_int_equal(load("errors.zone", &errors, &z), E_ZONE_SYNTAX);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		assert_diag(want[i].level, want[i].where, want[i].text);
	}
	/* Nothing else: lines 6 (blank owner after a bad record), 14, 17 and 24 were added. */
	if (ndiags != (int)(sizeof(want) / sizeof(want[0]))) {
		print_diags();
		fail_msg("%d messages, want %zu", ndiags, sizeof(want) / sizeof(want[0]));
	}
	assert_int_equal(errors, sizeof(want) / sizeof(want[0]) - 1);
	assert_null(z);
}

static void test_out_of_zone(void **state)
{
	zone_t *z;
	size_t errors;

	assert_int_equal(load("warnings.zone", &errors, &z), E_OK);
	assert_int_equal(errors, 0);
	assert_int_equal(ndiags, 1);
	assert_diag(LOG_WARN, "warnings.zone:6", "outside.example.net. is outside the zone");
	assert_rr(z, "in", "A", 300, "192.0.2.3");
	assert_int_equal(z->nrecords, 4);
	zone_free(z);
}

static void test_class(void **state)
{
	zone_t *z;
	size_t errors;

	assert_int_equal(load_text("$TTL 5\n@ IN SOA ns h 1 1 1 1 1\n@ NS ns\n"
				   "version CH TXT \"1.0\"\n"
				   "x CLASS3 A 192.0.2.1\n"
				   "y 5 HS A 192.0.2.1\n"
				   "ok CLASS1 A 192.0.2.1\n",
				   &errors, &z),
			 E_ZONE_SYNTAX);
	assert_int_equal(errors, 3);
	assert_diag(LOG_ERR, ":4", "class CH is not supported");
	assert_diag(LOG_ERR, ":5", "class CH is not supported");
	assert_diag(LOG_ERR, ":6", "class HS is not supported");
}

/* Tokenizer corners: CRLF, comments and escapes, quotes, parentheses, empty lines. */
static void test_lexer(void **state)
{
	zone_t *z;
	size_t errors;

	assert_int_equal(load_text("$TTL 5\r\n"
				   "@ SOA ns h ( 1 1\r\n"
				   "   1 1 1 ) ; trailing comment\r\n"
				   "\r\n"
				   "@ NS ns ; comment with \"quote\r\n"
				   "   ; only a comment\n"
				   "\t \n"
				   "a\\;b TXT a\\;b \"c;d\" ( \"e)f\" )\n"
				   "x\\ y TXT \"multi\" (\n"
				   "\n"
				   "  ; blank and comment lines inside parentheses\n"
				   "  \"end\" )\n"
				   "last A 192.0.2.1",
				   &errors, &z),
			 E_OK);
	assert_no_diags();
	assert_rr(z, "a\\;b", "TXT", 5, "\"a;b\" \"c;d\" \"e)f\"");
	assert_rr(z, "x\\032y", "TXT", 5, "\"multi\" \"end\"");
	assert_rr(z, "last", "A", 5, "192.0.2.1");
	zone_free(z);

	/* A record starting after a multi-line one is reported with its own first line. */
	assert_int_equal(load_text("$TTL 5\n@ SOA ns h 1 1 1 1 1\n@ NS ns\n"
				   "a TXT ( \"x\"\n\"y\" )\n"
				   "b ( A\n"
				   "1.2.3 )\n"
				   "c A 192.0.2.1 ( \n",
				   &errors, &z),
			 E_ZONE_SYNTAX);
	assert_int_equal(ndiags, 2);
	assert_diag(LOG_ERR, ":6", "bad IPv4 address '1.2.3'");
	assert_diag(LOG_ERR, ":8", "missing ')'");

	/* A bad owner name leaves the previous owner intact for the next blank owner. */
	assert_int_equal(
		load_text(
			"$TTL 5\n@ SOA ns h 1 1 1 1 1\n@ NS ns\n"
			"good A 192.0.2.1\n"
			"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx.bad "
			"A 192.0.2.2\n"
			"\tTXT \"x\"\n",
			&errors, &z),
		E_ZONE_SYNTAX);
	assert_int_equal(ndiags, 1);
	assert_diag(LOG_ERR, ":5", "label longer than 63 octets");

	/* A NUL in the text. */
	static const char nul[] = "$TTL 5\n@ SOA ns h 1 1 1 1 1\n@ NS ns\na A 192.0.2.1\0\n";
	char path[] = "/tmp/test_zonefile_XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, nul, sizeof(nul) - 1), (ssize_t)sizeof(nul) - 1);
	close(fd);
	assert_int_equal(load(path, &errors, &z), E_ZONE_SYNTAX);
	unlink(path);
	assert_diag(LOG_ERR, ":4", "NUL character");
}

static void test_generate_errors(void **state)
{
	zone_t *z;
	size_t errors;

	assert_int_equal(load_text("$TTL 5\n@ SOA ns h 1 1 1 1 1\n@ NS ns\n"
				   "$GENERATE 1-2 a$\n"
				   "$GENERATE 1-2 a$ 300 A\n"
				   "$GENERATE 1-2 a$ BOGUS x\n"
				   "$GENERATE 1-2/0 a$ A 192.0.2.1\n"
				   "$GENERATE x-2 a$ A 192.0.2.1\n"
				   "$GENERATE 0-2000000 a$ A 192.0.2.1\n"
				   "$GENERATE 250-260 a$ A 192.0.2.$\n"
				   "$GENERATE 1-2 a${0,300} A 192.0.2.1\n"
				   "$GENERATE 1-2 a${0 A 192.0.2.1\n"
				   "$GENERATE 1-2 a$ CH A 192.0.2.1\n",
				   &errors, &z),
			 E_ZONE_SYNTAX);
	assert_diag(LOG_ERR, ":4", "$GENERATE needs a range");
	assert_diag(LOG_ERR, ":5", "without a type and data");
	assert_diag(LOG_ERR, ":6", "unknown type 'BOGUS'");
	assert_diag(LOG_ERR, ":7", "bad $GENERATE range '1-2/0'");
	assert_diag(LOG_ERR, ":8", "bad $GENERATE range 'x-2'");
	assert_diag(LOG_ERR, ":9", "yields more than");
	assert_diag(LOG_ERR, ":10", "$GENERATE stopped at 256: bad IPv4 address '192.0.2.256'");
	assert_diag(LOG_ERR, ":11", "bad modifier");
	assert_diag(LOG_ERR, ":12", "bad modifier");
	assert_diag(LOG_ERR, ":13", "class CH is not supported");
	assert_int_equal(ndiags, 10);
}

static void test_missing_file(void **state)
{
	zone_t *z;
	size_t errors;

	assert_int_equal(load("/nonexistent/zone", &errors, &z), -ENOENT);
	assert_int_equal(errors, 1);
	assert_diag(LOG_ERR, "/nonexistent/zone", "cannot open /nonexistent/zone");
	assert_int_equal(load("/tmp", &errors, &z), -EINVAL);
	assert_diag(LOG_ERR, "/tmp", "not a regular file");
}

static void test_limit(void **state)
{
	zone_builder_t *b;
	char path[] = "/tmp/test_zonefile_XXXXXX";
	static const char text[] = "$TTL 5\n@ SOA ns h 1 1 1 1 1\n@ NS ns\n"
				   "$GENERATE 1-1000 a$ A 192.0.2.1\nlast A 192.0.2.1\n";
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, sizeof(text) - 1), (ssize_t)sizeof(text) - 1);
	close(fd);
	ndiags = 0;
	assert_int_equal(zone_builder_new(&b, apex), E_OK);
	zone_builder_set_diag(b, collect, NULL);
	zone_builder_set_limit(b, 100);
	assert_int_equal(zonefile_load(b, path), E_ZONE_TOOBIG);
	zone_builder_free(b);
	unlink(path);
	/* Reading stops at the limit: one message, not one per record. */
	assert_int_equal(ndiags, 1);
	assert_diag(LOG_ERR, ":4", "more than 100 records");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_directives),      cmocka_unit_test(test_ttl_defaults),
		cmocka_unit_test(test_include),         cmocka_unit_test(test_include_loop),
		cmocka_unit_test(test_include_depth),   cmocka_unit_test(test_generate),
		cmocka_unit_test(test_errors),          cmocka_unit_test(test_out_of_zone),
		cmocka_unit_test(test_class),           cmocka_unit_test(test_lexer),
		cmocka_unit_test(test_generate_errors), cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_limit),
	};
	const char *file = __FILE__;
	const char *unit = strstr(file, "unit/zones/");

	/* tests/unit/zones/test_zonefile.c -> tests/data/zonefile/ */
	snprintf(datadir, sizeof(datadir), "%.*sdata/zonefile/", unit ? (int)(unit - file) : 0,
		 file);
	if (unit == NULL) {
		snprintf(datadir, sizeof(datadir), "tests/data/zonefile/");
	}
	log_set_level(LOG_ERR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
