/*  Signet: unit tests for the Corefile parser (server/cfg.c). */
#include "server/cfg.h"

#include "dns/err.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

/* ---- helpers ------------------------------------------------------------------------------- */

#define MAX_ERRS 64

struct errs {
	int n;
	char file[MAX_ERRS][256];
	int line[MAX_ERRS];
	char msg[MAX_ERRS][256];
};

static void collect(void *ud, const char *file, int line, const char *msg)
{
	struct errs *e = ud;

	if (e->n < MAX_ERRS) {
		snprintf(e->file[e->n], sizeof(e->file[0]), "%s", file);
		e->line[e->n] = line;
		snprintf(e->msg[e->n], sizeof(e->msg[0]), "%s", msg);
	}
	e->n++;
}

static cfg_t *parse_ok(const char *text)
{
	struct errs e = { 0 };
	cfg_t *cfg = NULL;
	int rc;

	rc = cfg_parse_string(&cfg, text, "Corefile", NULL, collect, &e);
	if (rc != E_OK) {
		int i;

		for (i = 0; i < e.n && i < MAX_ERRS; i++) {
			print_error("unexpected error %s:%d: %s\n", e.file[i], e.line[i], e.msg[i]);
		}
	}
	assert_int_equal(rc, E_OK);
	assert_int_equal(e.n, 0);
	assert_non_null(cfg);
	return cfg;
}

/* Parse \a text expecting syntax errors; fills \a e and checks no tree comes back. */
static void parse_bad(const char *text, struct errs *e)
{
	cfg_t *cfg = (cfg_t *)1;
	int rc;

	memset(e, 0, sizeof(*e));
	rc = cfg_parse_string(&cfg, text, "Corefile", NULL, collect, e);
	assert_int_equal(rc, E_CFG_SYNTAX);
	assert_null(cfg);
	assert_true(e->n > 0);
}

/* True when error \a i is at \a line and its message contains \a part. */
static void assert_err(const struct errs *e, int i, int line, const char *part)
{
	assert_true(i < e->n);
	if (e->line[i] != line || !strstr(e->msg[i], part)) {
		print_error("error %d is %s:%d: %s; expected line %d with '%s'\n", i, e->file[i],
			    e->line[i], e->msg[i], line, part);
	}
	assert_int_equal(e->line[i], line);
	assert_non_null(strstr(e->msg[i], part));
}

/* Check a directive's name and arguments (NULL-terminated list). */
static void assert_dir(const cfg_directive_t *d, const char *name, ...)
{
	va_list ap;
	const char *arg;
	int i = 0;

	assert_non_null(d);
	assert_string_equal(d->name, name);
	va_start(ap, name);
	while ((arg = va_arg(ap, const char *)) != NULL) {
		assert_true(i < d->argc);
		assert_string_equal(d->args[i], arg);
		i++;
	}
	va_end(ap);
	assert_int_equal(d->argc, i);
}

static void assert_key(const cfg_key_t *k, const char *scheme, const char *zone, unsigned port)
{
	assert_string_equal(k->scheme, scheme);
	assert_string_equal(k->zone, zone);
	assert_int_equal(k->port, port);
}

/* A temporary folder with files, removed afterwards. */
struct tmpdir {
	char path[64];
	char files[16][512];
	int nfiles;
	char dirs[8][512];
	int ndirs;
};

static void tmp_init(struct tmpdir *t)
{
	memset(t, 0, sizeof(*t));
	snprintf(t->path, sizeof(t->path), "/tmp/signet-test-cfg-XXXXXX");
	assert_non_null(mkdtemp(t->path));
}

static void tmp_mkdir(struct tmpdir *t, const char *name)
{
	char full[512];

	assert_true(t->ndirs < 8);
	snprintf(full, sizeof(full), "%s/%s", t->path, name);
	memcpy(t->dirs[t->ndirs], full, sizeof(full));
	assert_int_equal(mkdir(t->dirs[t->ndirs], 0700), 0);
	t->ndirs++;
}

static void tmp_write(struct tmpdir *t, const char *name, const char *text)
{
	char full[512];
	FILE *f;

	assert_true(t->nfiles < 16);
	snprintf(full, sizeof(full), "%s/%s", t->path, name);
	memcpy(t->files[t->nfiles], full, sizeof(full));
	f = fopen(t->files[t->nfiles], "w");
	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
	t->nfiles++;
}

static void tmp_remove(struct tmpdir *t)
{
	int i;

	for (i = t->nfiles - 1; i >= 0; i--) {
		unlink(t->files[i]);
	}
	for (i = t->ndirs - 1; i >= 0; i--) {
		rmdir(t->dirs[i]);
	}
	rmdir(t->path);
}

/* Path of a file under tests/data/corefiles (tests run from the repository root). */
static void data_path(char *buf, size_t len, const char *name)
{
	const char *root = getenv("SIGNET_SRCDIR");

	if (root) {
		snprintf(buf, len, "%s/tests/data/corefiles/%s", root, name);
	} else if (access("tests/data/corefiles", F_OK) == 0) {
		snprintf(buf, len, "tests/data/corefiles/%s", name);
	} else {
		/* Fall back to the folder this source was compiled from. */
		const char *slash = strrchr(__FILE__, '/');
		int dl = slash ? (int)(slash - __FILE__) : 1;

		snprintf(buf, len, "%.*s/../../data/corefiles/%s", dl, slash ? __FILE__ : ".",
			 name);
	}
}

static cfg_t *parse_data(const char *name)
{
	struct errs e = { 0 };
	char path[1024];
	cfg_t *cfg = NULL;
	int rc;

	data_path(path, sizeof(path), name);
	rc = cfg_parse_file(&cfg, path, collect, &e);
	if (rc != E_OK) {
		print_error("%s: %s (%s:%d: %s)\n", path, err_str(rc), e.n ? e.file[0] : "",
			    e.n ? e.line[0] : 0, e.n ? e.msg[0] : "");
	}
	assert_int_equal(rc, E_OK);
	assert_int_equal(e.n, 0);
	return cfg;
}

/* ---- server blocks and keys ----------------------------------------------------------------- */

static void test_blocks_keys_ports(void **state)
{
	cfg_t *cfg = parse_ok("example.org {\n"
			      "    file db.example.org\n"
			      "}\n"
			      "\n"
			      "Example.NET:1053 other.test. {\n"
			      "    whoami\n"
			      "}\n"
			      ".:5300 {\n"
			      "}\n"
			      "dns://a.test:54, b.test,\n"
			      "    c.test {\n"
			      "    log\n"
			      "}\n"
			      "x.test,y.test:55 {\n"
			      "}\n");

	assert_int_equal(cfg->nblocks, 5);

	assert_int_equal(cfg->blocks[0].nkeys, 1);
	assert_key(&cfg->blocks[0].keys[0], "dns", "example.org.", 53);
	assert_string_equal(cfg->blocks[0].keys[0].text, "example.org");
	assert_int_equal(cfg->blocks[0].line, 1);
	assert_string_equal(cfg->blocks[0].file, "Corefile");
	assert_int_equal(cfg->blocks[0].ndirs, 1);
	assert_dir(&cfg->blocks[0].dirs[0], "file", "db.example.org", NULL);
	assert_int_equal(cfg->blocks[0].dirs[0].line, 2);

	assert_int_equal(cfg->blocks[1].line, 5);
	assert_int_equal(cfg->blocks[1].nkeys, 2);
	assert_key(&cfg->blocks[1].keys[0], "dns", "example.net.", 1053);
	assert_string_equal(cfg->blocks[1].keys[0].text, "Example.NET:1053");
	assert_key(&cfg->blocks[1].keys[1], "dns", "other.test.", 53);

	assert_int_equal(cfg->blocks[2].nkeys, 1);
	assert_key(&cfg->blocks[2].keys[0], "dns", ".", 5300);
	assert_int_equal(cfg->blocks[2].ndirs, 0);

	/* "a, b," continues on the next line, as in CoreDNS. */
	assert_int_equal(cfg->blocks[3].nkeys, 3);
	assert_key(&cfg->blocks[3].keys[0], "dns", "a.test.", 54);
	assert_key(&cfg->blocks[3].keys[1], "dns", "b.test.", 53);
	assert_key(&cfg->blocks[3].keys[2], "dns", "c.test.", 53);
	assert_dir(&cfg->blocks[3].dirs[0], "log", NULL);
	assert_int_equal(cfg->blocks[3].dirs[0].line, 12);

	/* Commas inside one token separate keys too. */
	assert_int_equal(cfg->blocks[4].nkeys, 2);
	assert_key(&cfg->blocks[4].keys[0], "dns", "x.test.", 53);
	assert_key(&cfg->blocks[4].keys[1], "dns", "y.test.", 55);
	cfg_free(cfg);
}

static void test_tls_default_port(void **state)
{
	cfg_t *cfg = parse_ok("tls://example.org dns://example.org tls://example.net:8853 {\n"
			      "    tls cert.pem key.pem\n"
			      "}\n");

	assert_int_equal(cfg->nblocks, 1);
	assert_int_equal(cfg->blocks[0].nkeys, 3);
	assert_key(&cfg->blocks[0].keys[0], "tls", "example.org.", 853);
	assert_key(&cfg->blocks[0].keys[1], "dns", "example.org.", 53);
	assert_key(&cfg->blocks[0].keys[2], "tls", "example.net.", 8853);
	assert_string_equal(cfg->blocks[0].keys[0].text, "tls://example.org");
	assert_false(cfg->blocks[0].keys[0].port_given);
	assert_false(cfg->blocks[0].keys[1].port_given);
	assert_true(cfg->blocks[0].keys[2].port_given);
	cfg_free(cfg);
}

static void test_reverse_keys(void **state)
{
	cfg_t *cfg = parse_ok("10.0.0.0/24 10.0.0.0/16 10.0.0.0/8 192.0.2.0/24:1053 {\n"
			      "}\n"
			      "10.1.2.3/24 {\n"
			      "}\n"
			      "10.0.0.0/17 {\n"
			      "}\n"
			      "2001:db8::/32 fd00::/64:5353 2001:db8::/30 tls://10.0.0.0/24 {\n"
			      "}\n");
	int i;
	char want[64];

	assert_int_equal(cfg->nblocks, 4);
	assert_int_equal(cfg->blocks[0].nkeys, 4);
	assert_key(&cfg->blocks[0].keys[0], "dns", "0.0.10.in-addr.arpa.", 53);
	assert_key(&cfg->blocks[0].keys[1], "dns", "0.10.in-addr.arpa.", 53);
	assert_key(&cfg->blocks[0].keys[2], "dns", "10.in-addr.arpa.", 53);
	assert_key(&cfg->blocks[0].keys[3], "dns", "2.0.192.in-addr.arpa.", 1053);
	assert_string_equal(cfg->blocks[0].keys[3].text, "192.0.2.0/24:1053");

	/* Host bits are masked, as Go's net.ParseCIDR does. */
	assert_key(&cfg->blocks[1].keys[0], "dns", "2.1.10.in-addr.arpa.", 53);

	/* Off a byte boundary: every /24 inside, as CoreDNS's cidr.Class. */
	assert_int_equal(cfg->blocks[2].nkeys, 128);
	for (i = 0; i < 128; i++) {
		snprintf(want, sizeof(want), "%d.0.10.in-addr.arpa.", i);
		assert_key(&cfg->blocks[2].keys[i], "dns", want, 53);
		assert_string_equal(cfg->blocks[2].keys[i].text, "10.0.0.0/17");
	}

	assert_int_equal(cfg->blocks[3].nkeys, 1 + 1 + 4 + 1);
	assert_key(&cfg->blocks[3].keys[0], "dns", "8.b.d.0.1.0.0.2.ip6.arpa.", 53);
	assert_key(&cfg->blocks[3].keys[1], "dns", "0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa.",
		   5353);
	assert_key(&cfg->blocks[3].keys[2], "dns", "8.b.d.0.1.0.0.2.ip6.arpa.", 53);
	assert_key(&cfg->blocks[3].keys[3], "dns", "9.b.d.0.1.0.0.2.ip6.arpa.", 53);
	assert_key(&cfg->blocks[3].keys[4], "dns", "a.b.d.0.1.0.0.2.ip6.arpa.", 53);
	assert_key(&cfg->blocks[3].keys[5], "dns", "b.b.d.0.1.0.0.2.ip6.arpa.", 53);
	assert_key(&cfg->blocks[3].keys[6], "tls", "0.0.10.in-addr.arpa.", 853);
	/* "fd00::/64" ends in a colon-free prefix: no port; "fd00::/64:5353" has one. */
	assert_false(cfg->blocks[3].keys[0].port_given);
	assert_true(cfg->blocks[3].keys[1].port_given);
	assert_true(cfg->blocks[0].keys[3].port_given);
	assert_false(cfg->blocks[0].keys[0].port_given);
	cfg_free(cfg);
}

static void test_key_errors(void **state)
{
	struct errs e;

	parse_bad("ok.test {\n"
		  "}\n"
		  "example.org:abc {\n"
		  "    whoami\n"
		  "}\n"
		  "\n"
		  "example.net:70000 example.com: {\n"
		  "}\n"
		  ":53 {\n"
		  "}\n"
		  "grpc://example.org {\n"
		  "}\n"
		  "10.0.0.0/33 a..b {\n"
		  "}\n",
		  &e);
	assert_int_equal(e.n, 7);
	assert_string_equal(e.file[0], "Corefile");
	assert_err(&e, 0, 3, "invalid port 'abc' in 'example.org:abc'");
	assert_err(&e, 1, 7, "port 70000 out of range");
	assert_err(&e, 2, 7, "missing port after ':' in 'example.com:'");
	assert_err(&e, 3, 9, "missing zone in ':53'");
	assert_err(&e, 4, 11, "unsupported scheme 'grpc://'");
	assert_err(&e, 5, 13, "invalid CIDR '10.0.0.0/33'");
	assert_err(&e, 6, 13, "empty label in zone 'a..b'");

	parse_bad("a.test, {\n}\n", &e);
	assert_int_equal(e.n, 1);
	assert_err(&e, 0, 1, "expected another zone after ','");

	parse_bad("{\n  whoami\n}\n", &e);
	assert_int_equal(e.n, 1);
	assert_err(&e, 0, 1, "unexpected '{'");

	parse_bad("example.org{\n}\n", &e);
	assert_err(&e, 0, 1, "invalid character '{'");
}

/* ---- directives, quotes, comments, nesting -------------------------------------------------- */

static void test_quotes_comments(void **state)
{
	cfg_t *cfg = parse_ok("# a comment line\n"
			      ". { # after the brace\n"
			      "    log . \"{proto} Request: {name} {type} {>id}\"\n"
			      "    errors # trailing\n"
			      "    hosts \"with # hash\" plain#comment\n"
			      "    txt \"say \\\"hi\\\"\" \"back\\slash\" \"\"\n"
			      "    multi \"line one\n"
			      "line two\" after\n"
			      "    next\n"
			      "    glued\"quote\" \"a\"b\n"
			      "    \"{\" \"}\" \"import\"\n"
			      "}\n");
	const cfg_block_t *b;

	assert_int_equal(cfg->nblocks, 1);
	b = &cfg->blocks[0];
	assert_int_equal(b->line, 2);
	assert_int_equal(b->ndirs, 8);
	assert_dir(&b->dirs[0], "log", ".", "{proto} Request: {name} {type} {>id}", NULL);
	assert_int_equal(b->dirs[0].line, 3);
	assert_dir(&b->dirs[1], "errors", NULL);
	assert_dir(&b->dirs[2], "hosts", "with # hash", "plain", NULL);
	/* Only \" is an escape inside quotes; other backslashes stay. "" is an empty token. */
	assert_dir(&b->dirs[3], "txt", "say \"hi\"", "back\\slash", "", NULL);
	assert_dir(&b->dirs[4], "multi", "line one\nline two", "after", NULL);
	assert_int_equal(b->dirs[4].line, 7);
	assert_dir(&b->dirs[5], "next", NULL);
	assert_int_equal(b->dirs[5].line, 9);
	/* A quote inside a token is literal; a closing quote ends the token. */
	assert_dir(&b->dirs[6], "glued\"quote\"", "a", "b", NULL);
	/* Quoted braces and keywords are plain text. */
	assert_dir(&b->dirs[7], "{", "}", "import", NULL);
	cfg_free(cfg);
}

static void test_nested_blocks(void **state)
{
	cfg_t *cfg = parse_ok("example.org {\n"
			      "    dnssec {\n"
			      "        key file Kexample.org.+013+12345 Kexample.org.+013+54321\n"
			      "    }\n"
			      "    cache 300 {\n"
			      "        success 1000\n"
			      "        denial 500 60\n"
			      "        prefetch 10 1m 10%\n"
			      "    }\n"
			      "    outer a {\n"
			      "        middle b {\n"
			      "            inner c\n"
			      "        }\n"
			      "        after\n"
			      "    }\n"
			      "    empty {\n"
			      "    }\n"
			      "    oneline { x 1 }\n"
			      "}\n");
	const cfg_block_t *b = &cfg->blocks[0];
	const cfg_directive_t *d;

	assert_int_equal(b->ndirs, 5);
	d = cfg_block_find(b, "dnssec");
	assert_dir(d, "dnssec", NULL);
	assert_int_equal(d->nprops, 1);
	assert_dir(&d->props[0], "key", "file", "Kexample.org.+013+12345",
		   "Kexample.org.+013+54321", NULL);
	assert_int_equal(d->props[0].line, 3);
	assert_string_equal(d->props[0].file, "Corefile");

	d = cfg_block_find(b, "cache");
	assert_dir(d, "cache", "300", NULL);
	assert_int_equal(d->nprops, 3);
	assert_dir(&d->props[0], "success", "1000", NULL);
	assert_dir(&d->props[1], "denial", "500", "60", NULL);
	assert_dir(&d->props[2], "prefetch", "10", "1m", "10%", NULL);

	d = cfg_block_find(b, "outer");
	assert_dir(d, "outer", "a", NULL);
	assert_int_equal(d->nprops, 2);
	assert_dir(&d->props[0], "middle", "b", NULL);
	assert_int_equal(d->props[0].nprops, 1);
	assert_dir(&d->props[0].props[0], "inner", "c", NULL);
	assert_int_equal(d->props[0].props[0].line, 12);
	assert_dir(&d->props[1], "after", NULL);

	d = cfg_block_find(b, "empty");
	assert_int_equal(d->nprops, 0);
	d = cfg_block_find(b, "oneline");
	assert_int_equal(d->nprops, 1);
	assert_dir(&d->props[0], "x", "1", NULL);
	cfg_free(cfg);
}

static void test_one_line_and_braceless(void **state)
{
	cfg_t *cfg = parse_ok(". { whoami }\n"
			      "a.test { log } b.test:54 {\n"
			      "}\n");

	assert_int_equal(cfg->nblocks, 3);
	assert_int_equal(cfg->blocks[0].ndirs, 1);
	assert_dir(&cfg->blocks[0].dirs[0], "whoami", NULL);
	assert_dir(&cfg->blocks[1].dirs[0], "log", NULL);
	assert_key(&cfg->blocks[2].keys[0], "dns", "b.test.", 54);
	cfg_free(cfg);

	/* A single server block may go without braces (Caddy): it runs to the end. */
	cfg = parse_ok("example.org:1053\n"
		       "file db.example.org\n"
		       "log\n");
	assert_int_equal(cfg->nblocks, 1);
	assert_key(&cfg->blocks[0].keys[0], "dns", "example.org.", 1053);
	assert_int_equal(cfg->blocks[0].ndirs, 2);
	assert_dir(&cfg->blocks[0].dirs[0], "file", "db.example.org", NULL);
	assert_dir(&cfg->blocks[0].dirs[1], "log", NULL);
	cfg_free(cfg);

	/* The server block's brace may be on the next line. */
	cfg = parse_ok("example.org\n{\n  whoami\n}\n");
	assert_int_equal(cfg->nblocks, 1);
	assert_int_equal(cfg->blocks[0].ndirs, 1);
	cfg_free(cfg);

	/* A UTF-8 byte order mark is skipped, as Caddy does. */
	cfg = parse_ok("\xef\xbb\xbf. {\n}\n");
	assert_int_equal(cfg->nblocks, 1);
	assert_key(&cfg->blocks[0].keys[0], "dns", ".", 53);
	cfg_free(cfg);

	/* Nothing at all is an empty configuration. */
	cfg = parse_ok("  # only a comment\n\n");
	assert_int_equal(cfg->nblocks, 0);
	cfg_free(cfg);
}

static void test_block_find(void **state)
{
	cfg_t *cfg = parse_ok("example.org {\n  log\n  cache 30\n  log second\n}\n");

	assert_ptr_equal(cfg_block_find(&cfg->blocks[0], "log"), &cfg->blocks[0].dirs[0]);
	assert_ptr_equal(cfg_block_find(&cfg->blocks[0], "cache"), &cfg->blocks[0].dirs[1]);
	assert_null(cfg_block_find(&cfg->blocks[0], "file"));
	assert_null(cfg_block_find(NULL, "log"));
	assert_null(cfg_block_find(&cfg->blocks[0], NULL));
	cfg_free(cfg);
	cfg_free(NULL);
}

/* ---- environment ---------------------------------------------------------------------------- */

static void test_env(void **state)
{
	cfg_t *cfg;

	assert_int_equal(setenv("SIGNET_T_ZONE", "Env.Example", 1), 0);
	assert_int_equal(setenv("SIGNET_T_PORT", "5353", 1), 0);
	assert_int_equal(setenv("SIGNET_T_DB", "db file", 1), 0);
	assert_int_equal(setenv("SIGNET_T_SNIP", "common", 1), 0);
	assert_int_equal(setenv("SIGNET_T_LOOP", "{$SIGNET_T_LOOP}", 1), 0);
	unsetenv("SIGNET_T_UNSET");

	cfg = parse_ok("(common) {\n  errors\n}\n"
		       "{$SIGNET_T_ZONE}:{$SIGNET_T_PORT} {\n"
		       "    file {$SIGNET_T_DB} {env.SIGNET_T_ZONE}\n"
		       "    prometheus localhost:{$SIGNET_T_PORT} \"q:{$SIGNET_T_PORT}\"\n"
		       "    unset [{$SIGNET_T_UNSET}] {$SIGNET_T_UNSET} {env.SIGNET_T_UNSET}\n"
		       "    windows {%SIGNET_T_PORT%}\n"
		       "    literal {$} {$NOCLOSE {name}\n"
		       "    once {$SIGNET_T_LOOP}\n"
		       "    import {$SIGNET_T_SNIP}\n"
		       "}\n");
	assert_int_equal(cfg->nblocks, 1);
	assert_key(&cfg->blocks[0].keys[0], "dns", "env.example.", 5353);
	assert_string_equal(cfg->blocks[0].keys[0].text, "Env.Example:5353");
	assert_dir(&cfg->blocks[0].dirs[0], "file", "db file", "Env.Example", NULL);
	assert_dir(&cfg->blocks[0].dirs[1], "prometheus", "localhost:5353", "q:5353", NULL);
	/* Unset variables become empty strings (still arguments). */
	assert_dir(&cfg->blocks[0].dirs[2], "unset", "[]", "", "", NULL);
	assert_dir(&cfg->blocks[0].dirs[3], "windows", "5353", NULL);
	assert_dir(&cfg->blocks[0].dirs[4], "literal", "{$}", "{$NOCLOSE", "{name}", NULL);
	/* Values are not substituted again. */
	assert_dir(&cfg->blocks[0].dirs[5], "once", "{$SIGNET_T_LOOP}", NULL);
	assert_dir(&cfg->blocks[0].dirs[6], "errors", NULL);
	cfg_free(cfg);
}

/* ---- snippets and imports ------------------------------------------------------------------- */

static void test_snippets(void **state)
{
	cfg_t *cfg = parse_ok("(base) {\n"
			      "    errors\n"
			      "    log\n"
			      "}\n"
			      "example.org {\n"
			      "    import base\n"
			      "    import later\n"
			      "    dnssec {\n"
			      "        import keys\n"
			      "    }\n"
			      "    cache 30\n"
			      "}\n"
			      "(keys) {\n"
			      "    key file Kexample.org.+013+1\n"
			      "    nsec3 0 -\n"
			      "}\n"
			      "(later) {\n"
			      "    import base\n"
			      "    whoami\n"
			      "}\n"
			      "import top\n"
			      "(top) {\n"
			      "    top.test {\n"
			      "        import base\n"
			      "    }\n"
			      "}\n");
	const cfg_block_t *b;
	const cfg_directive_t *d;

	assert_int_equal(cfg->nblocks, 2);
	b = &cfg->blocks[0];
	assert_int_equal(b->ndirs, 7);
	assert_dir(&b->dirs[0], "errors", NULL);
	assert_int_equal(b->dirs[0].line, 2); /* where the snippet wrote it */
	assert_dir(&b->dirs[1], "log", NULL);
	/* "later" is defined after its use and imports "base" itself. */
	assert_dir(&b->dirs[2], "errors", NULL);
	assert_dir(&b->dirs[3], "log", NULL);
	assert_dir(&b->dirs[4], "whoami", NULL);
	assert_int_equal(b->dirs[4].line, 19);
	d = &b->dirs[5];
	assert_dir(d, "dnssec", NULL);
	assert_int_equal(d->nprops, 2);
	assert_dir(&d->props[0], "key", "file", "Kexample.org.+013+1", NULL);
	assert_dir(&d->props[1], "nsec3", "0", "-", NULL);
	assert_dir(&b->dirs[6], "cache", "30", NULL);

	/* A snippet holding a whole server block, imported at the top level. */
	b = &cfg->blocks[1];
	assert_key(&b->keys[0], "dns", "top.test.", 53);
	assert_int_equal(b->ndirs, 2);
	assert_dir(&b->dirs[0], "errors", NULL);
	cfg_free(cfg);
}

static void test_import_files(void **state)
{
	struct tmpdir t;
	struct errs e = { 0 };
	char path[600];
	cfg_t *cfg = NULL;
	const cfg_block_t *b;
	int rc;

	tmp_init(&t);
	tmp_mkdir(&t, "conf.d");
	tmp_mkdir(&t, "sub");
	tmp_write(&t, "Corefile",
		  "(common) {\n"
		  "    errors\n"
		  "}\n"
		  "import conf.d/*.conf\n"
		  ". {\n"
		  "    import common\n"
		  "    import sub/inner\n"
		  "    import conf.d/*.none\n"
		  "}\n");
	tmp_write(&t, "conf.d/10-a.conf",
		  "a.test {\n"
		  "    import common\n"
		  "    import fromb\n"
		  "}\n");
	tmp_write(&t, "conf.d/20-b.conf",
		  "b.test:1053 {\n"
		  "    log\n"
		  "}\n"
		  "(fromb) {\n"
		  "    whoami\n"
		  "}\n");
	tmp_write(&t, "conf.d/ignored.txt", "this is { not imported\n");
	tmp_write(&t, "sub/inner", "cache 30\nimport deeper\n");
	tmp_write(&t, "sub/deeper", "prometheus :9153\n");

	snprintf(path, sizeof(path), "%s/Corefile", t.path);
	rc = cfg_parse_file(&cfg, path, collect, &e);
	assert_int_equal(rc, E_OK);
	assert_int_equal(e.n, 0);
	assert_string_equal(cfg->path, path);
	assert_string_equal(cfg->dir, t.path);
	/* Every file read, in the order read. */
	assert_int_equal(cfg->nfiles, 5);
	assert_string_equal(cfg->files[0], path);

	assert_int_equal(cfg->nblocks, 3);
	b = &cfg->blocks[0];
	assert_key(&b->keys[0], "dns", "a.test.", 53);
	assert_non_null(strstr(b->file, "/conf.d/10-a.conf"));
	assert_int_equal(b->ndirs, 2);
	assert_dir(&b->dirs[0], "errors", NULL);
	assert_string_equal(b->dirs[0].file, path);
	/* A snippet from a file imported later by the same glob. */
	assert_dir(&b->dirs[1], "whoami", NULL);
	assert_non_null(strstr(b->dirs[1].file, "/conf.d/20-b.conf"));
	assert_int_equal(b->dirs[1].line, 5);

	b = &cfg->blocks[1];
	assert_key(&b->keys[0], "dns", "b.test.", 1053);
	assert_dir(&b->dirs[0], "log", NULL);

	b = &cfg->blocks[2];
	assert_key(&b->keys[0], "dns", ".", 53);
	assert_int_equal(b->ndirs, 3);
	assert_dir(&b->dirs[0], "errors", NULL);
	assert_dir(&b->dirs[1], "cache", "30", NULL);
	assert_non_null(strstr(b->dirs[1].file, "/sub/inner"));
	/* "import deeper" in sub/inner is relative to sub/. */
	assert_dir(&b->dirs[2], "prometheus", ":9153", NULL);
	assert_non_null(strstr(b->dirs[2].file, "/sub/deeper"));
	cfg_free(cfg);

	/* cfg_parse_string resolves imports from the folder it is given. */
	memset(&e, 0, sizeof(e));
	rc = cfg_parse_string(&cfg, "x.test {\n  import sub/inner\n}\n", "inline", t.path, collect,
			      &e);
	assert_int_equal(rc, E_OK);
	assert_int_equal(cfg->blocks[0].ndirs, 2);
	assert_string_equal(cfg->path, "inline");
	cfg_free(cfg);

	tmp_remove(&t);
}

static void test_import_file_errors(void **state)
{
	struct tmpdir t;
	struct errs e = { 0 };
	char path[600];
	cfg_t *cfg = NULL;
	int rc;

	tmp_init(&t);
	tmp_mkdir(&t, "adir");
	tmp_write(&t, "Corefile",
		  "example.org {\n"
		  "    import loop1\n"
		  "    import missing.conf\n"
		  "    import adir\n"
		  "    import a*b*\n"
		  "    import\n"
		  "    import one two\n"
		  "}\n"
		  "import Corefile\n");
	tmp_write(&t, "loop1", "log\nimport loop2\n");
	tmp_write(&t, "loop2", "errors\n\nimport loop1\n");

	snprintf(path, sizeof(path), "%s/Corefile", t.path);
	rc = cfg_parse_file(&cfg, path, collect, &e);
	assert_int_equal(rc, E_CFG_SYNTAX);
	assert_null(cfg);
	assert_int_equal(e.n, 8);
	/* Sorted by file (in the order read), then line. */
	assert_string_equal(e.file[0], path);
	assert_err(&e, 0, 3, "cannot import 'missing.conf': no such file");
	assert_err(&e, 1, 4, "s a directory");
	assert_err(&e, 2, 5, "may contain only one wildcard");
	assert_err(&e, 3, 6, "import needs a snippet name or a file pattern");
	assert_err(&e, 4, 7, "import takes one argument");
	assert_err(&e, 5, 7, "unknown snippet 'one'");
	assert_err(&e, 6, 9, "import loop:");
	assert_non_null(strstr(e.file[7], "/loop2"));
	assert_err(&e, 7, 3, "import loop:");
	assert_non_null(strstr(e.msg[7], "/loop1 -> "));
	assert_non_null(strstr(e.msg[7], "/loop2 -> "));

	/* A missing Corefile is an errno, reported with line 0. */
	memset(&e, 0, sizeof(e));
	snprintf(path, sizeof(path), "%s/nonexistent", t.path);
	rc = cfg_parse_file(&cfg, path, collect, &e);
	assert_int_equal(rc, -ENOENT);
	assert_null(cfg);
	assert_int_equal(e.n, 1);
	assert_int_equal(e.line[0], 0);
	assert_string_equal(e.file[0], path);
	tmp_remove(&t);
}

/* ---- syntax errors, with their lines -------------------------------------------------------- */

static void test_error_unclosed(void **state)
{
	struct errs e;

	parse_bad("example.org {\n"
		  "    file db.example.org {\n"
		  "        reload 30s\n"
		  "    }\n"
		  "    log\n",
		  &e);
	assert_int_equal(e.n, 1);
	assert_string_equal(e.file[0], "Corefile");
	assert_err(&e, 0, 1, "block for 'example.org' not closed");

	parse_bad("example.org {\n"
		  "    whoami\n"
		  "    file db.example.org {\n"
		  "        reload 30s\n",
		  &e);
	assert_int_equal(e.n, 2);
	assert_err(&e, 0, 1, "block for 'example.org' not closed");
	assert_err(&e, 1, 3, "block for 'file' not closed");

	parse_bad("(snip) {\n  log\n", &e);
	assert_err(&e, 0, 1, "block for snippet 'snip' not closed");
}

static void test_error_stray_close(void **state)
{
	struct errs e;

	parse_bad("example.org {\n"
		  "    whoami\n"
		  "}\n"
		  "}\n"
		  "example.net {\n"
		  "}\n",
		  &e);
	assert_int_equal(e.n, 1);
	assert_err(&e, 0, 4, "unexpected '}'");

	/* A directive's block must open on its line. */
	parse_bad("example.org {\n"
		  "    file db\n"
		  "    {\n"
		  "        reload 1s\n"
		  "    }\n"
		  "}\n",
		  &e);
	assert_int_equal(e.n, 1);
	assert_err(&e, 0, 3, "unexpected '{'");
}

static void test_error_unterminated_quote(void **state)
{
	struct errs e;

	parse_bad("example.org {\n"
		  "    log . \"{name}\n"
		  "    errors\n"
		  "}\n",
		  &e);
	/* The string ends with its line, so the rest still parses. */
	assert_int_equal(e.n, 1);
	assert_err(&e, 0, 2, "unterminated quoted string");
}

static void test_error_unknown_snippet(void **state)
{
	struct errs e;

	parse_bad("example.org {\n"
		  "    import common\n"
		  "    whoami\n"
		  "}\n"
		  "(commom) {\n"
		  "    errors\n"
		  "}\n",
		  &e);
	assert_int_equal(e.n, 1);
	assert_err(&e, 0, 2, "unknown snippet 'common'");
}

static void test_error_snippets(void **state)
{
	struct errs e;

	parse_bad("(a) {\n"
		  "    import b\n"
		  "}\n"
		  "(b) {\n"
		  "    log\n"
		  "    import a\n"
		  "}\n"
		  "example.org {\n"
		  "    import a\n"
		  "}\n"
		  "(self) {\n"
		  "    import self\n"
		  "}\n"
		  "example.net {\n"
		  "    import self\n"
		  "    (inner) {\n"
		  "    }\n"
		  "}\n"
		  "(a) {\n"
		  "}\n"
		  "() {\n"
		  "}\n",
		  &e);
	assert_int_equal(e.n, 5);
	assert_err(&e, 0, 6, "import loop: snippet 'a' -> snippet 'b' -> snippet 'a'");
	assert_err(&e, 1, 12, "import loop: snippet 'self' -> snippet 'self'");
	assert_err(&e, 2, 16, "must be defined at the top level");
	assert_err(&e, 3, 19, "snippet 'a' is already defined at Corefile:1");
	assert_err(&e, 4, 21, "empty snippet name");
}

static void test_errors_all_reported(void **state)
{
	struct errs e;

	parse_bad("a.test:x {\n"
		  "    log \"open\n"
		  "}\n"
		  "}\n"
		  "b.test {\n"
		  "    import nope\n"
		  "    cache {\n"
		  "        success 10\n"
		  "    }\n"
		  "}\n"
		  "c.test {\n",
		  &e);
	assert_int_equal(e.n, 5);
	assert_err(&e, 0, 1, "invalid port 'x'");
	assert_err(&e, 1, 2, "unterminated quoted string");
	assert_err(&e, 2, 4, "unexpected '}'");
	assert_err(&e, 3, 6, "unknown snippet 'nope'");
	assert_err(&e, 4, 11, "block for 'c.test' not closed");
}

static void test_error_to_log(void **state)
{
	cfg_t *cfg = NULL;

	/* Without a callback the errors go to the log; the result is the same. */
	assert_int_equal(cfg_parse_string(&cfg, "}\n", NULL, NULL, NULL, NULL), E_CFG_SYNTAX);
	assert_null(cfg);
	assert_int_equal(cfg_parse_string(NULL, "", NULL, NULL, NULL, NULL), -EINVAL);
	assert_int_equal(cfg_parse_string(&cfg, NULL, NULL, NULL, NULL, NULL), -EINVAL);
	assert_int_equal(cfg_parse_string(&cfg, ". {\n}\n", NULL, NULL, NULL, NULL), E_OK);
	assert_string_equal(cfg->path, "<embedded>");
	assert_int_equal(cfg->nfiles, 1);
	assert_string_equal(cfg->files[0], "<embedded>");
	cfg_free(cfg);
}

/* ---- durations ------------------------------------------------------------------------------ */

static void test_durations(void **state)
{
	static const struct {
		const char *text;
		uint64_t msec;
	} good[] = {
		{ "0", 0 },
		{ "30", 30000 },
		{ "30s", 30000 },
		{ "+5s", 5000 },
		{ "500ms", 500 },
		{ "1m", 60000 },
		{ "2h", 7200000 },
		{ "1h30m", 5400000 },
		{ "1m30s", 90000 },
		{ "1.5s", 1500 },
		{ "1.5h", 5400000 },
		{ ".5s", 500 },
		{ "1.s", 1000 },
		{ "2500us", 2 },
		{ "2500\xc2\xb5s", 2 },
		{ "3000000ns", 3 },
		{ "1h1m1s1ms", 3661001 },
		{ "0s", 0 },
		{ "2562047h", 2562047ULL * 3600 * 1000 },
	};
	static const char *bad[] = {
		"",
		"s",
		"-1s",
		"1x",
		"1.5",
		"1s ",
		" 1s",
		"1h-1m",
		".s",
		"1..5s",
		"10d",
		"1h 1m",
		"3000000h", /* beyond Go's 292 years */
		"99999999999999999999",
	};
	uint64_t ms;
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		ms = 12345;
		if (cfg_parse_duration(good[i].text, &ms) != E_OK || ms != good[i].msec) {
			print_error("duration '%s' gave %llu\n", good[i].text,
				    (unsigned long long)ms);
		}
		assert_int_equal(cfg_parse_duration(good[i].text, &ms), E_OK);
		assert_true(ms == good[i].msec);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ms = 12345;
		if (cfg_parse_duration(bad[i], &ms) != E_CFG_SEMANTIC) {
			print_error("duration '%s' was accepted\n", bad[i]);
		}
		assert_int_equal(cfg_parse_duration(bad[i], &ms), E_CFG_SEMANTIC);
		assert_true(ms == 12345);
	}
	assert_int_equal(cfg_parse_duration(NULL, &ms), E_CFG_SEMANTIC);
	assert_int_equal(cfg_parse_duration("1s", NULL), E_CFG_SEMANTIC);
}

/* ---- Corefiles from CoreDNS's documentation ------------------------------------------------- */

static void test_coredns_file(void **state)
{
	cfg_t *cfg = parse_data("coredns-file.Corefile");
	const cfg_block_t *b = &cfg->blocks[0];
	const cfg_directive_t *d;

	assert_int_equal(cfg->nblocks, 1);
	assert_int_equal(b->nkeys, 1);
	assert_key(&b->keys[0], "dns", "example.org.", 53);
	assert_int_equal(b->ndirs, 2);
	assert_dir(cfg_block_find(b, "file"), "file", "example.org.signed", NULL);
	d = cfg_block_find(b, "transfer");
	assert_dir(d, "transfer", NULL);
	assert_int_equal(d->nprops, 1);
	assert_dir(&d->props[0], "to", "*", "10.240.1.1", NULL);
	cfg_free(cfg);
}

static void test_coredns_transfer(void **state)
{
	cfg_t *cfg = parse_data("coredns-transfer.Corefile");
	const cfg_block_t *b = &cfg->blocks[0];
	const cfg_directive_t *d;

	assert_int_equal(cfg->nblocks, 1);
	assert_key(&b->keys[0], "dns", ".", 53);
	assert_dir(cfg_block_find(b, "file"), "file", "example.org.signed", "example.org",
		   "example.net", NULL);
	d = cfg_block_find(b, "transfer");
	assert_dir(d, "transfer", "example.org", "example.net", NULL);
	assert_int_equal(d->nprops, 1);
	assert_dir(&d->props[0], "to", "*", "10.240.1.1", NULL);
	cfg_free(cfg);
}

static void test_coredns_cache(void **state)
{
	cfg_t *cfg = parse_data("coredns-cache.Corefile");
	const cfg_block_t *b = &cfg->blocks[0];
	const cfg_directive_t *d = cfg_block_find(b, "cache");

	assert_key(&b->keys[0], "dns", "example.org.", 53);
	assert_dir(d, "cache", NULL);
	assert_int_equal(d->nprops, 2);
	assert_dir(&d->props[0], "success", "5000", NULL);
	assert_dir(&d->props[1], "denial", "2500", NULL);
	assert_int_equal(d->props[1].line, 5);
	cfg_free(cfg);
}

static void test_coredns_rewrite(void **state)
{
	cfg_t *cfg = parse_data("coredns-rewrite.Corefile");
	const cfg_block_t *b = &cfg->blocks[0];

	assert_key(&b->keys[0], "dns", ".", 53);
	assert_int_equal(b->ndirs, 2);
	assert_dir(&b->dirs[0], "rewrite", "edns0", "local", "set", "0xffee", "0x61626364", NULL);
	assert_dir(&b->dirs[1], "whoami", NULL);
	cfg_free(cfg);
}

static void test_coredns_loadbalance(void **state)
{
	cfg_t *cfg = parse_data("coredns-loadbalance.Corefile");
	const cfg_block_t *b = &cfg->blocks[0];
	const cfg_directive_t *d;

	assert_key(&b->keys[0], "dns", "example.com.", 53);
	assert_int_equal(b->ndirs, 2);
	d = cfg_block_find(b, "file");
	assert_dir(d, "file", "./db.example.com", NULL);
	assert_int_equal(d->nprops, 1);
	assert_dir(&d->props[0], "reload", "10s", NULL);
	d = cfg_block_find(b, "loadbalance");
	assert_dir(d, "loadbalance", "weighted", "./db.example.com.weights", NULL);
	assert_int_equal(d->nprops, 1);
	assert_dir(&d->props[0], "reload", "10s", NULL);
	assert_int_equal(d->props[0].line, 7);
	cfg_free(cfg);
}

static void test_coredns_acl(void **state)
{
	cfg_t *cfg = parse_data("coredns-acl.Corefile");
	const cfg_directive_t *d = cfg_block_find(&cfg->blocks[0], "acl");

	assert_dir(d, "acl", NULL);
	assert_int_equal(d->nprops, 2);
	assert_dir(&d->props[0], "allow", "net", "192.168.0.0/24", "192.168.1.0/24", NULL);
	assert_dir(&d->props[1], "block", NULL);
	cfg_free(cfg);
}

static void test_coredns_prometheus(void **state)
{
	cfg_t *cfg;

	assert_int_equal(setenv("PORT", "9253", 1), 0);
	cfg = parse_data("coredns-prometheus.Corefile");
	assert_dir(cfg_block_find(&cfg->blocks[0], "prometheus"), "prometheus", "localhost:9253",
		   NULL);
	cfg_free(cfg);
	unsetenv("PORT");
}

static void test_coredns_log(void **state)
{
	cfg_t *cfg = parse_data("coredns-log.Corefile");
	const cfg_directive_t *d = cfg_block_find(&cfg->blocks[0], "log");

	/* "{combined}" is a placeholder argument, not a block. */
	assert_dir(d, "log", ".", "{combined}", NULL);
	assert_int_equal(d->nprops, 1);
	assert_dir(&d->props[0], "class", "denial", "error", NULL);
	cfg_free(cfg);
}

static void test_coredns_errors(void **state)
{
	cfg_t *cfg = parse_data("coredns-errors.Corefile");
	const cfg_block_t *b = &cfg->blocks[0];
	const cfg_directive_t *d = cfg_block_find(b, "errors");

	assert_dir(cfg_block_find(b, "forward"), "forward", ".", "8.8.8.8", NULL);
	assert_int_equal(d->nprops, 2);
	assert_dir(&d->props[0], "consolidate", "5m", ".* i/o timeout$", "warning", NULL);
	assert_dir(&d->props[1], "consolidate", "30s", "^Failed to .+", NULL);
	cfg_free(cfg);
}

static void test_coredns_etcd(void **state)
{
	cfg_t *cfg = parse_data("coredns-etcd.Corefile");
	const cfg_block_t *b = &cfg->blocks[0];
	const cfg_directive_t *d = cfg_block_find(b, "etcd");

	assert_int_equal(b->ndirs, 5);
	assert_dir(d, "etcd", "skydns.local", NULL);
	assert_int_equal(d->nprops, 3);
	assert_dir(&d->props[0], "path", "/skydns", NULL);
	assert_dir(&d->props[1], "endpoint", "http://localhost:2379", NULL);
	assert_dir(&d->props[2], "upstream", NULL);
	assert_dir(cfg_block_find(b, "prometheus"), "prometheus", NULL);
	assert_dir(cfg_block_find(b, "cache"), "cache", "160", "skydns.local", NULL);
	assert_dir(cfg_block_find(b, "loadbalance"), "loadbalance", NULL);
	assert_dir(cfg_block_find(b, "proxy"), "proxy", ".", "8.8.8.8:53", "8.8.4.4:53", NULL);
	cfg_free(cfg);
}

static void test_coredns_kubernetes(void **state)
{
	cfg_t *cfg = parse_data("coredns-kubernetes.Corefile");
	const cfg_block_t *b = &cfg->blocks[0];
	const cfg_directive_t *d;

	/* 10.0.0.0/17: the 128 /24 reverse zones, then cluster.local. */
	assert_int_equal(b->nkeys, 129);
	assert_key(&b->keys[0], "dns", "0.0.10.in-addr.arpa.", 53);
	assert_key(&b->keys[127], "dns", "127.0.10.in-addr.arpa.", 53);
	assert_key(&b->keys[128], "dns", "cluster.local.", 53);
	d = cfg_block_find(b, "kubernetes");
	assert_dir(d, "kubernetes", NULL);
	assert_int_equal(d->nprops, 1);
	assert_dir(&d->props[0], "pods", "verified", NULL);
	cfg_free(cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_blocks_keys_ports),
		cmocka_unit_test(test_tls_default_port),
		cmocka_unit_test(test_reverse_keys),
		cmocka_unit_test(test_key_errors),
		cmocka_unit_test(test_quotes_comments),
		cmocka_unit_test(test_nested_blocks),
		cmocka_unit_test(test_one_line_and_braceless),
		cmocka_unit_test(test_block_find),
		cmocka_unit_test(test_env),
		cmocka_unit_test(test_snippets),
		cmocka_unit_test(test_import_files),
		cmocka_unit_test(test_import_file_errors),
		cmocka_unit_test(test_error_unclosed),
		cmocka_unit_test(test_error_stray_close),
		cmocka_unit_test(test_error_unterminated_quote),
		cmocka_unit_test(test_error_unknown_snippet),
		cmocka_unit_test(test_error_snippets),
		cmocka_unit_test(test_errors_all_reported),
		cmocka_unit_test(test_error_to_log),
		cmocka_unit_test(test_durations),
		cmocka_unit_test(test_coredns_file),
		cmocka_unit_test(test_coredns_transfer),
		cmocka_unit_test(test_coredns_cache),
		cmocka_unit_test(test_coredns_rewrite),
		cmocka_unit_test(test_coredns_loadbalance),
		cmocka_unit_test(test_coredns_acl),
		cmocka_unit_test(test_coredns_prometheus),
		cmocka_unit_test(test_coredns_log),
		cmocka_unit_test(test_coredns_errors),
		cmocka_unit_test(test_coredns_etcd),
		cmocka_unit_test(test_coredns_kubernetes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
