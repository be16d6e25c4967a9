/*  Unit tests: adapters/sqlite (PowerDNS generic SQLite3 databases), on a real builder.
 *
 *  Each test builds its database in a temporary folder with the PowerDNS schema (the tables
 *  Signet reads, as pdns-backend-sqlite3's schema.sqlite3.sql writes them), loads zones
 *  through the source's ops as the zone manager does, and looks at the version built.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <event2/event.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "adapters/source.h"
#include "adapters/sqlite/row.h"
#include "dns/err.h"
#include "dns/log.h"
#include "dns/name.h"
#include "dns/rrtext.h"
#include "dns/rrtype.h"
#include "zones/builder.h"
#include "zones/zone.h"
#include "tests/unit/diag_util.h"

/* pdns-backend-sqlite3 4.7's schema.sqlite3.sql, the two tables read. */
static const char SCHEMA[] =
	"PRAGMA foreign_keys = 1;"
	"CREATE TABLE domains (id INTEGER PRIMARY KEY, name VARCHAR(255) NOT NULL COLLATE NOCASE,"
	" master VARCHAR(128) DEFAULT NULL, last_check INTEGER DEFAULT NULL,"
	" type VARCHAR(8) NOT NULL, notified_serial INTEGER DEFAULT NULL,"
	" account VARCHAR(40) DEFAULT NULL, options VARCHAR(65535) DEFAULT NULL,"
	" catalog VARCHAR(255) DEFAULT NULL);"
	"CREATE UNIQUE INDEX name_index ON domains(name);"
	"CREATE TABLE records (id INTEGER PRIMARY KEY, domain_id INTEGER DEFAULT NULL,"
	" name VARCHAR(255) DEFAULT NULL, type VARCHAR(10) DEFAULT NULL,"
	" content VARCHAR(65535) DEFAULT NULL, ttl INTEGER DEFAULT NULL,"
	" prio INTEGER DEFAULT NULL, disabled BOOLEAN DEFAULT 0, ordername VARCHAR(255),"
	" auth BOOL DEFAULT 1,"
	" FOREIGN KEY(domain_id) REFERENCES domains(id) ON DELETE CASCADE ON UPDATE CASCADE);"
	"CREATE INDEX records_lookup_idx ON records(name, type);"
	"CREATE INDEX records_lookup_id_idx ON records(domain_id, name, type);"
	"CREATE INDEX records_order_idx ON records(domain_id, ordername);";

/* example.com (id 1) and example.net (id 2), as zone2sql --gsqlite would write them. */
static const char ZONES[] =
	"INSERT INTO domains (id, name, type) VALUES (1, 'example.com', 'NATIVE');"
	"INSERT INTO domains (id, name, type) VALUES (2, 'example.net', 'SLAVE');"
	"INSERT INTO records (id, domain_id, name, type, content, ttl, prio, disabled) VALUES"
	" (1, 1, 'example.com', 'SOA',"
	"  'ns1.example.com hostmaster.example.com 2024010101 3600 900 604800 300', 7200, 0, 0),"
	" (2, 1, 'example.com', 'NS', 'ns1.example.com', 3600, 0, 0),"
	" (3, 1, 'example.com', 'MX', 'mail.example.com', 3600, 10, 0),"
	" (4, 1, 'ns1.example.com', 'A', '192.0.2.53', 3600, 0, 0),"
	" (5, 1, 'www.example.com', 'A', '192.0.2.80', 600, 0, 0),"
	" (6, 1, '_sip._udp.example.com', 'SRV', '60 5060 sip.example.com', 3600, 10, 0),"
	" (7, 1, 'txt.example.com', 'TXT', '\"hello world\"', 3600, 0, 0),"
	" (8, 1, 'www.example.com', 'AAAA', '2001:db8::80', NULL, 0, 0),"
	" (20, 2, 'example.net', 'SOA', 'ns.example.net h.example.net 5 3600 900 604800 60',"
	"  3600, 0, 0),"
	" (21, 2, 'example.net', 'NS', 'ns.example.com', 3600, 0, 0),"
	" (22, 2, 'www.example.net', 'A', '198.51.100.1', 3600, 0, 0);";

static char dir[256];
static char dbpath[300];

/* A diagnostic of \a level whose where contains \a where and message contains \a text. */
static bool has_diag(int level, const char *where, const char *text)
{
	for (int i = 0; i < ndiags && i < 64; i++) {
		if (diags[i].level == level && strstr(diags[i].where, where) != NULL &&
		    strstr(diags[i].msg, text) != NULL) {
			return true;
		}
	}
	return false;
}

static void assert_diag(int level, const char *where, const char *text)
{
	if (!has_diag(level, where, text)) {
		print_diags();
		print_error("no %s at '%s' with '%s'\n", level == LOG_ERR ? "error" : "warning",
			    where, text);
		fail();
	}
}

static void sql(sqlite3 *db, const char *text)
{
	char *err = NULL;
	if (sqlite3_exec(db, text, NULL, NULL, &err) != SQLITE_OK) {
		print_error("SQL failed: %s\n%s\n", err ? err : "?", text);
		sqlite3_free(err);
		fail();
	}
}

/* Run SQL in the test's database through a connection of its own (another process's). */
static void db_exec(const char *text)
{
	sqlite3 *db = NULL;
	assert_int_equal(sqlite3_open(dbpath, &db), SQLITE_OK);
	sql(db, text);
	sqlite3_close(db);
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/signet-test-sqlite-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(dbpath, sizeof(dbpath), "%s/pdns.sqlite", dir);
	db_exec(SCHEMA);
	db_exec(ZONES);
	ndiags = 0;
	return 0;
}

static int teardown(void **state)
{
	char p[400];
	(void)state;
	const char *const suffixes[] = { "", "-journal", "-wal", "-shm" };
	for (size_t i = 0; i < 4; i++) {
		snprintf(p, sizeof(p), "%s%s", dbpath, suffixes[i]);
		unlink(p);
	}
	rmdir(dir);
	return 0;
}

struct src {
	uint8_t apex[DNAME_MAX];
	char apex_str[DNAME_STR_MAX];
	char *args[1];
	source_option_t opts[4];
	source_conf_t conf;
	zone_source_t *s;
};

/* Open the sqlite source for \a zone on \a db (relative to the test folder). */
static int src_open(struct src *c, const char *zone, const char *db, const char *poll, char *err,
		    size_t errlen)
{
	static char *poll_args[1];
	memset(c, 0, sizeof(*c));
	assert_true(dname_from_str(c->apex, zone, NULL) > 0);
	snprintf(c->apex_str, sizeof(c->apex_str), "%s", zone);
	c->args[0] = (char *)db;
	c->conf.apex = c->apex;
	c->conf.apex_str = c->apex_str;
	c->conf.args = c->args;
	c->conf.argc = db != NULL ? 1 : 0;
	c->conf.dir = dir;
	c->conf.where = "Corefile:3";
	if (poll != NULL) {
		poll_args[0] = (char *)poll;
		c->opts[0] = (source_option_t){
			.name = "poll", .args = poll_args, .argc = 1, .where = "Corefile:4"
		};
		c->conf.opts = c->opts;
		c->conf.nopts = 1;
	}
	const zone_source_ops_t *ops = source_find("sqlite");
	assert_non_null(ops);
	return ops->open(&c->s, &c->conf, err, errlen);
}

/* Load the source into a new version; the builder's result. */
static int src_load(struct src *c, zone_t **out)
{
	zone_builder_t *b = NULL;
	*out = NULL;
	assert_int_equal(zone_builder_new(&b, c->apex), E_OK);
	zone_builder_set_diag(b, collect, NULL);
	int ret = c->s->ops->load(c->s, b);
	if (ret != E_OK) {
		zone_builder_free(b);
		return ret;
	}
	return zone_builder_finish(b, out);
}

static zone_t *load_zone(const char *zone)
{
	struct src c;
	char err[256] = "";
	zone_t *z = NULL;
	assert_int_equal(src_open(&c, zone, "pdns.sqlite", NULL, err, sizeof(err)), E_OK);
	int ret = src_load(&c, &z);
	c.s->ops->close(c.s);
	if (ret != E_OK) {
		print_diags();
		print_error("load %s: %s\n", zone, err_str(ret));
		fail();
	}
	return z;
}

/* Whether \a z holds the record \a text (TTL compared too). */
static bool has_rr(const zone_t *z, const char *text)
{
	static dns_rr_t rr;
	char err[256];
	uint8_t lc[DNAME_MAX];
	uint16_t rdlen;
	uint32_t pos = 0;
	assert_int_equal(dns_rr_from_text(&rr, text, NULL, 3600, NULL, err, sizeof(err)), E_OK);
	dname_copy_lower(lc, rr.owner);
	const zone_node_t *n = zone_find(z, lc);
	const zone_rrset_t *rs = n != NULL ? zone_node_rrset(n, rr.type) : NULL;
	if (rs == NULL || rs->ttl != rr.ttl) {
		return false;
	}
	for (const uint8_t *rd; (rd = zone_rrset_next(rs, &pos, &rdlen)) != NULL;) {
		if (rdlen == rr.rdlen && memcmp(rd, rr.rdata, rdlen) == 0) {
			return true;
		}
	}
	return false;
}

static bool has_name(const zone_t *z, const char *name)
{
	uint8_t wire[DNAME_MAX];
	assert_true(dname_from_str(wire, name, NULL) > 0);
	dname_lower(wire);
	const zone_node_t *n = zone_find(z, wire);
	return n != NULL && n->nrrsets > 0;
}

#define assert_rr(z, text)                                    \
	do {                                                  \
		if (!has_rr((z), (text))) {                   \
			print_error("missing: %s\n", (text)); \
			fail();                               \
		}                                             \
	} while (0)

/* ---- loading ---- */

static void test_load(void **state)
{
	(void)state;
	zone_t *z = load_zone("example.com.");
	assert_int_equal(z->serial, 2024010101);
	assert_rr(z, "example.com. 7200 IN SOA ns1.example.com. hostmaster.example.com. "
		     "2024010101 3600 900 604800 300");
	assert_rr(z, "example.com. 3600 IN NS ns1.example.com.");
	assert_rr(z, "ns1.example.com. 3600 IN A 192.0.2.53");
	assert_rr(z, "www.example.com. 600 IN A 192.0.2.80");
	assert_rr(z, "txt.example.com. 3600 IN TXT \"hello world\"");
	/* A NULL ttl is PowerDNS's default-ttl. */
	assert_rr(z, "www.example.com. 3600 IN AAAA 2001:db8::80");
	assert_int_equal(z->nrecords, 8);
	assert_int_equal(ndiags, 0);
	zone_free(z);
}

static void test_prio(void **state)
{
	(void)state;
	db_exec("INSERT INTO records (id, domain_id, name, type, content, ttl, prio) VALUES"
		" (30, 1, 'mx2.example.com', 'MX', '20 mail.example.com', 3600, 0),"
		" (31, 1, 'mx3.example.com', 'MX', 'mail.example.com.', 3600, NULL),"
		" (32, 1, 'mx4.example.com', 'MX', '0 .', 3600, 0),"
		" (33, 1, '_x._tcp.example.com', 'SRV', '5 0 389 ldap.example.org', 3600, 0),"
		" (34, 1, 'mx5.example.com', 'MX', 'mail.example.com', 3600, '65535')");
	zone_t *z = load_zone("example.com.");
	/* prio in its column, as PowerDNS 4.x stores MX and SRV */
	assert_rr(z, "example.com. 3600 IN MX 10 mail.example.com.");
	assert_rr(z, "_sip._udp.example.com. 3600 IN SRV 10 60 5060 sip.example.com.");
	/* already in the content: taken as is; a NULL prio is 0 */
	assert_rr(z, "mx2.example.com. 3600 IN MX 20 mail.example.com.");
	assert_rr(z, "mx3.example.com. 3600 IN MX 0 mail.example.com.");
	assert_rr(z, "mx4.example.com. 3600 IN MX 0 .");
	assert_rr(z, "_x._tcp.example.com. 3600 IN SRV 5 0 389 ldap.example.org.");
	assert_rr(z, "mx5.example.com. 3600 IN MX 65535 mail.example.com.");
	assert_int_equal(ndiags, 0);
	zone_free(z);
}

static void test_disabled(void **state)
{
	(void)state;
	db_exec("INSERT INTO records (id, domain_id, name, type, content, ttl, disabled) VALUES"
		" (40, 1, 'off.example.com', 'A', '192.0.2.1', 3600, 1),"
		" (41, 1, 'on.example.com', 'A', '192.0.2.2', 3600, 0),"
		" (42, 1, 'off2.example.com', 'A', '192.0.2.3', 3600, 'true'),"
		" (43, 1, 'on2.example.com', 'A', '192.0.2.4', 3600, NULL),"
		" (44, 1, 'www.example.com', 'A', '192.0.2.99', 600, 1)");
	zone_t *z = load_zone("example.com.");
	assert_false(has_name(z, "off.example.com."));
	assert_false(has_name(z, "off2.example.com."));
	assert_rr(z, "on.example.com. 3600 IN A 192.0.2.2");
	assert_rr(z, "on2.example.com. 3600 IN A 192.0.2.4");
	assert_false(has_rr(z, "www.example.com. 600 IN A 192.0.2.99"));
	assert_rr(z, "www.example.com. 600 IN A 192.0.2.80");
	zone_free(z);
}

static void test_malformed_rows(void **state)
{
	(void)state;
	db_exec("INSERT INTO records (id, domain_id, name, type, content, ttl) VALUES"
		" (50, 1, 'bad1.example.com', 'A', '999.1.2.3', 3600),"
		" (51, 1, 'bad2.example.com', 'NOSUCHTYPE', 'x', 3600),"
		" (52, 1, 'bad3.example.com', 'A', '192.0.2.1', -5),"
		" (53, 1, NULL, 'A', '192.0.2.1', 3600),"
		" (54, 1, 'bad5.example.com', 'MX', 'a b c', 3600),"
		" (55, 1, 'bad6.example.com', 'A', NULL, 3600),"
		" (56, 1, 'bad7..example.com', 'A', '192.0.2.1', 3600),"
		" (57, 1, 'bad8.example.com', 'ALIAS', 'www.example.org', 3600),"
		" (58, 1, 'bad9.example.com', 'TXT', '\"unterminated', 3600),"
		" (59, 1, 'bad10.example.com', 'A', '192.0.2.1', 'soon'),"
		" (60, 1, 'good.example.com', 'A', '192.0.2.7', 3600)");
	db_exec("UPDATE records SET prio = 70000 WHERE id = 3");
	zone_t *z = load_zone("example.com.");
	/* every bad row is a warning naming its id; the zone is built without it */
	assert_diag(LOG_WARN, "pdns.sqlite:records id=50", "row skipped");
	assert_diag(LOG_WARN, "records id=51", "unknown type 'NOSUCHTYPE'");
	assert_diag(LOG_WARN, "records id=52", "bad ttl");
	assert_diag(LOG_WARN, "records id=53", "name is NULL");
	assert_diag(LOG_WARN, "records id=54", "row skipped");
	assert_diag(LOG_WARN, "records id=55", "empty content");
	assert_diag(LOG_WARN, "records id=56", "bad name");
	assert_diag(LOG_WARN, "records id=57", "PowerDNS");
	assert_diag(LOG_WARN, "records id=58", "row skipped");
	assert_diag(LOG_WARN, "records id=59", "bad ttl");
	assert_diag(LOG_WARN, "records id=3", "bad prio");
	assert_int_equal(ndiags, 11);
	assert_rr(z, "good.example.com. 3600 IN A 192.0.2.7");
	for (int i = 1; i <= 10; i++) {
		char name[64];
		snprintf(name, sizeof(name), "bad%d.example.com.", i);
		assert_false(has_name(z, name));
	}
	assert_false(has_rr(z, "example.com. 3600 IN MX 10 mail.example.com."));
	zone_free(z);
}

static void test_many_zones(void **state)
{
	(void)state;
	zone_t *com = load_zone("example.com.");
	zone_t *net = load_zone("EXAMPLE.net.");
	assert_int_equal(net->serial, 5);
	assert_rr(net, "www.example.net. 3600 IN A 198.51.100.1");
	assert_rr(net, "example.net. 3600 IN NS ns.example.com.");
	assert_int_equal(net->nrecords, 3);
	assert_false(has_name(com, "www.example.net."));
	assert_int_equal(com->nrecords, 8);
	zone_free(com);
	zone_free(net);
}

/* Empty non-terminals of pdnsutil rectify-zone, auth = 0 glue, ordername: as PowerDNS. */
static void test_rectified(void **state)
{
	(void)state;
	db_exec("INSERT INTO records (id, domain_id, name, type, content, ttl, auth, ordername)"
		" VALUES"
		" (70, 1, 'sub.example.com', 'NS', 'ns.sub.example.com', 3600, 1, 'sub'),"
		" (71, 1, 'ns.sub.example.com', 'A', '192.0.2.9', 3600, 0, NULL),"
		" (72, 1, 'b.a.example.com', 'A', '192.0.2.10', 3600, 1, 'a b'),"
		" (73, 1, 'a.example.com', NULL, NULL, NULL, 1, 'a'),"
		" (74, 1, 'x.example.com', '', NULL, NULL, 1, 'x')");
	zone_t *z = load_zone("example.com.");
	assert_rr(z, "sub.example.com. 3600 IN NS ns.sub.example.com.");
	assert_rr(z, "ns.sub.example.com. 3600 IN A 192.0.2.9");
	assert_rr(z, "b.a.example.com. 3600 IN A 192.0.2.10");
	assert_false(has_name(z, "a.example.com."));
	assert_false(has_name(z, "x.example.com."));
	assert_int_equal(ndiags, 0);
	zone_free(z);
}

static void test_types(void **state)
{
	(void)state;
	db_exec("INSERT INTO records (id, domain_id, name, type, content, ttl) VALUES"
		" (80, 1, 'unk.example.com', 'ADDR', '\\# 4 01020304', 3600),"
		" (81, 1, 'unk2.example.com', 'TYPE65534', '\\# 2 abcd', 3600),"
		" (82, 1, 'c.example.com', 'CNAME', 'www.example.com', 3600),"
		" (83, 1, 'caa.example.com', 'CAA', '0 issue \"letsencrypt.org\"', 3600),"
		" (84, 1, 'ds.example.com', 'DS', '12345 13 2 "
		"0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF', 3600),"
		" (85, 1, 'ptr.example.com', 'ptr', 'www.example.com', 3600),"
		" (86, 1, '*.wild.example.com', 'A', '192.0.2.200', 3600)");
	zone_t *z = load_zone("example.com.");
	assert_rr(z, "unk.example.com. 3600 IN TYPE65400 \\# 4 01020304");
	assert_rr(z, "unk2.example.com. 3600 IN TYPE65534 \\# 2 abcd");
	assert_rr(z, "c.example.com. 3600 IN CNAME www.example.com.");
	assert_rr(z, "caa.example.com. 3600 IN CAA 0 issue \"letsencrypt.org\"");
	assert_rr(z, "ptr.example.com. 3600 IN PTR www.example.com.");
	assert_rr(z, "*.wild.example.com. 3600 IN A 192.0.2.200");
	assert_int_equal(ndiags, 0);
	zone_free(z);
}

static void test_soa_defaults(void **state)
{
	(void)state;
	db_exec("UPDATE records SET content = 'ns1.example.com' WHERE id = 1");
	zone_t *z = load_zone("example.com.");
	assert_rr(z, "example.com. 7200 IN SOA ns1.example.com. hostmaster.example.com. "
		     "0 10800 3600 604800 3600");
	zone_free(z);
	db_exec("UPDATE records SET content = 'ns1.example.com h.example.com 9 1 2' WHERE id = 1");
	z = load_zone("example.com.");
	assert_rr(z, "example.com. 7200 IN SOA ns1.example.com. h.example.com. "
		     "9 1 2 604800 3600");
	zone_free(z);
}

/* A record outside the zone (a row of the wrong domain_id) is a warning, as in a file. */
static void test_out_of_zone(void **state)
{
	(void)state;
	db_exec("INSERT INTO records (id, domain_id, name, type, content, ttl) VALUES"
		" (90, 1, 'www.example.org', 'A', '192.0.2.1', 3600)");
	zone_t *z = load_zone("example.com.");
	assert_diag(LOG_WARN, "records id=90", "outside the zone");
	zone_free(z);
}

/* ---- errors ---- */

static void test_missing_db(void **state)
{
	struct src c;
	char err[256] = "";
	zone_t *z = NULL;
	(void)state;
	assert_int_equal(src_open(&c, "example.com.", "nothere.sqlite", NULL, err, sizeof(err)),
			 E_OK);
	assert_int_equal(src_load(&c, &z), -ENOENT);
	assert_null(z);
	assert_diag(LOG_ERR, "Corefile:3", "cannot open database nothere.sqlite");
	c.s->ops->close(c.s);
}

static void test_not_a_database(void **state)
{
	struct src c;
	char err[256] = "";
	char p[400];
	zone_t *z = NULL;
	(void)state;
	snprintf(p, sizeof(p), "%s/junk.sqlite", dir);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fputs("this is not a database, it is a text file of some length......................\n",
	      f);
	fclose(f);
	assert_int_equal(src_open(&c, "example.com.", "junk.sqlite", NULL, err, sizeof(err)), E_OK);
	assert_int_not_equal(src_load(&c, &z), E_OK);
	assert_diag(LOG_ERR, "Corefile:3", "junk.sqlite");
	c.s->ops->close(c.s);
	/* no schema: not a PowerDNS database */
	ndiags = 0;
	unlink(p);
	db_exec("DROP TABLE records");
	assert_int_equal(src_open(&c, "example.com.", "pdns.sqlite", NULL, err, sizeof(err)), E_OK);
	assert_int_not_equal(src_load(&c, &z), E_OK);
	assert_diag(LOG_ERR, "Corefile:3", "no such table: records");
	c.s->ops->close(c.s);
}

static void test_zone_not_in_db(void **state)
{
	struct src c;
	char err[256] = "";
	zone_t *z = NULL;
	(void)state;
	assert_int_equal(src_open(&c, "example.org.", "pdns.sqlite", NULL, err, sizeof(err)), E_OK);
	assert_int_equal(src_load(&c, &z), E_ZONE_NOTFOUND);
	assert_diag(LOG_ERR, "Corefile:3", "zone example.org. is not in the domains table");
	c.s->ops->close(c.s);
}

static void test_options(void **state)
{
	struct src c;
	char err[256] = "";
	(void)state;
	assert_int_equal(src_open(&c, "example.com.", "pdns.sqlite", "250ms", err, sizeof(err)),
			 E_OK);
	c.s->ops->close(c.s);
	assert_int_equal(src_open(&c, "example.com.", "pdns.sqlite", "soon", err, sizeof(err)),
			 E_CFG_SEMANTIC);
	assert_non_null(strstr(err, "Corefile:4"));
	assert_non_null(strstr(err, "poll needs one duration"));
	assert_int_equal(src_open(&c, "example.com.", NULL, NULL, err, sizeof(err)),
			 E_CFG_SEMANTIC);
	assert_non_null(strstr(err, "needs the database's path"));
	/* an unknown property */
	memset(&c, 0, sizeof(c));
	assert_int_equal(src_open(&c, "example.com.", "pdns.sqlite", "1s", err, sizeof(err)), E_OK);
	c.s->ops->close(c.s);
	c.opts[0].name = "reload";
	assert_int_equal(source_find("sqlite")->open(&c.s, &c.conf, err, sizeof(err)),
			 E_CFG_SEMANTIC);
	assert_non_null(strstr(err, "unknown property 'reload'"));
}

/* Read-only: loading leaves the file as it was. */
static void test_read_only(void **state)
{
	struct stat before, after;
	(void)state;
	assert_int_equal(stat(dbpath, &before), 0);
	sleep(1);
	zone_t *z = load_zone("example.com.");
	zone_free(z);
	assert_int_equal(stat(dbpath, &after), 0);
	assert_int_equal(before.st_mtime, after.st_mtime);
	assert_int_equal(before.st_size, after.st_size);
}

/* ---- watching ---- */

struct watch {
	struct src c;
	struct event_base *base;
	int calls;
	int last; /* the result of the load the last call made */
	zone_t *z;
};

/* As the zone manager does: load again when told. */
static void on_changed(void *ud)
{
	struct watch *w = ud;
	zone_t *z = NULL;
	w->calls++;
	w->last = src_load(&w->c, &z);
	if (w->last == E_OK) {
		zone_free(w->z);
		w->z = z;
	}
}

static void run_for(struct watch *w, int ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
	event_base_loopexit(w->base, &tv);
	event_base_dispatch(w->base);
}

static void test_watch(void **state)
{
	struct watch w = { .calls = 0 };
	char err[256] = "";
	(void)state;
	w.base = event_base_new();
	assert_non_null(w.base);
	assert_int_equal(src_open(&w.c, "example.com.", "pdns.sqlite", "50ms", err, sizeof(err)),
			 E_OK);
	assert_int_equal(src_load(&w.c, &w.z), E_OK);
	assert_int_equal(w.c.s->ops->watch(w.c.s, w.base, on_changed, &w), E_OK);

	/* nothing changes: nothing is said */
	run_for(&w, 200);
	assert_int_equal(w.calls, 0);

	/* another zone's rows: the fingerprint stays, nothing is loaded */
	db_exec("UPDATE records SET content = '198.51.100.2' WHERE id = 22");
	run_for(&w, 200);
	assert_int_equal(w.calls, 0);

	/* this zone's rows: one load */
	db_exec("UPDATE records SET content = '192.0.2.81' WHERE id = 5");
	run_for(&w, 200);
	assert_int_equal(w.calls, 1);
	assert_rr(w.z, "www.example.com. 600 IN A 192.0.2.81");
	db_exec("INSERT INTO records (id, domain_id, name, type, content, ttl) VALUES"
		" (100, 1, 'new.example.com', 'A', '192.0.2.100', 60)");
	run_for(&w, 200);
	assert_int_equal(w.calls, 2);
	assert_rr(w.z, "new.example.com. 60 IN A 192.0.2.100");
	db_exec("DELETE FROM records WHERE id = 100");
	run_for(&w, 200);
	assert_int_equal(w.calls, 3);
	assert_false(has_name(w.z, "new.example.com."));
	db_exec("UPDATE records SET disabled = 1 WHERE id = 7");
	run_for(&w, 200);
	assert_int_equal(w.calls, 4);
	assert_false(has_name(w.z, "txt.example.com."));

	/* locked: nothing until the lock goes, then the change */
	sqlite3 *lock = NULL;
	assert_int_equal(sqlite3_open(dbpath, &lock), SQLITE_OK);
	sql(lock, "BEGIN EXCLUSIVE");
	sql(lock, "UPDATE records SET content = '192.0.2.82' WHERE id = 5");
	run_for(&w, 400);
	assert_int_equal(w.calls, 4);
	sql(lock, "COMMIT");
	sqlite3_close(lock);
	run_for(&w, 400);
	assert_int_equal(w.calls, 5);
	assert_rr(w.z, "www.example.com. 600 IN A 192.0.2.82");

	/* removed: said once, by a load that fails; back: loaded again */
	char moved[400];
	snprintf(moved, sizeof(moved), "%s.moved", dbpath);
	assert_int_equal(rename(dbpath, moved), 0);
	ndiags = 0;
	run_for(&w, 300);
	assert_int_equal(w.calls, 6);
	assert_int_equal(w.last, -ENOENT);
	assert_diag(LOG_ERR, "Corefile:3", "cannot open database pdns.sqlite");
	assert_rr(w.z, "www.example.com. 600 IN A 192.0.2.82");
	assert_int_equal(rename(moved, dbpath), 0);
	run_for(&w, 300);
	assert_int_equal(w.calls, 7);
	assert_int_equal(w.last, E_OK);

	/* replaced by another file */
	char other[400];
	snprintf(other, sizeof(other), "%s.new", dbpath);
	sqlite3 *db2 = NULL;
	assert_int_equal(sqlite3_open(other, &db2), SQLITE_OK);
	sql(db2, SCHEMA);
	sql(db2, ZONES);
	sql(db2, "UPDATE records SET content = '192.0.2.83' WHERE id = 5");
	sqlite3_close(db2);
	assert_int_equal(rename(other, dbpath), 0);
	run_for(&w, 300);
	assert_int_equal(w.calls, 8);
	assert_rr(w.z, "www.example.com. 600 IN A 192.0.2.83");

	/* the zone taken out of domains, then back */
	db_exec("PRAGMA foreign_keys = 0; DELETE FROM domains WHERE id = 1");
	run_for(&w, 300);
	assert_int_equal(w.calls, 9);
	assert_int_equal(w.last, E_ZONE_NOTFOUND);
	run_for(&w, 300);
	assert_int_equal(w.calls, 9);
	db_exec("INSERT INTO domains (id, name, type) VALUES (1, 'example.com', 'NATIVE')");
	run_for(&w, 300);
	assert_int_equal(w.calls, 10);
	assert_int_equal(w.last, E_OK);

	w.c.s->ops->close(w.c.s);
	zone_free(w.z);
	event_base_free(w.base);
}

/* A load that meets a locked database fails with -EBUSY and is tried again by the watch. */
static void test_locked_at_load(void **state)
{
	struct watch w = { .calls = 0 };
	char err[256] = "";
	zone_t *z = NULL;
	(void)state;
	w.base = event_base_new();
	sqlite3 *lock = NULL;
	assert_int_equal(sqlite3_open(dbpath, &lock), SQLITE_OK);
	sql(lock, "BEGIN EXCLUSIVE");
	sql(lock, "UPDATE records SET content = '192.0.2.84' WHERE id = 5");
	assert_int_equal(src_open(&w.c, "example.com.", "pdns.sqlite", "50ms", err, sizeof(err)),
			 E_OK);
	assert_int_equal(src_load(&w.c, &z), -EBUSY);
	assert_diag(LOG_ERR, "Corefile:3", "locked");
	assert_int_equal(w.c.s->ops->watch(w.c.s, w.base, on_changed, &w), E_OK);
	run_for(&w, 300);
	assert_int_equal(w.calls, 0);
	sql(lock, "COMMIT");
	sqlite3_close(lock);
	run_for(&w, 300);
	assert_int_equal(w.calls, 1);
	assert_int_equal(w.last, E_OK);
	assert_rr(w.z, "www.example.com. 600 IN A 192.0.2.84");
	w.c.s->ops->close(w.c.s);
	zone_free(w.z);
	event_base_free(w.base);
}

/* ---- rows ---- */

static int row(const char *name, const char *type, const char *content, const char *ttl,
	       const char *prio, dns_rr_t *rr, char *err, size_t errlen)
{
	sqlite_row_t r = {
		.id = 1, .name = name, .type = type, .content = content, .ttl = ttl, .prio = prio
	};
	return sqlite_row_to_rr(&r, rr, err, errlen);
}

static void test_row(void **state)
{
	static dns_rr_t rr;
	char err[256];
	char text[512];
	(void)state;
	assert_int_equal(row("a.example.com", NULL, NULL, NULL, NULL, &rr, err, sizeof(err)),
			 SQLITE_ROW_NONE);
	assert_int_equal(row("a.example.com", "", "x", "1", NULL, &rr, err, sizeof(err)),
			 SQLITE_ROW_NONE);
	assert_int_equal(row("a.example.com.", "cname", "b.example.com.", " 60 ", NULL, &rr, err,
			     sizeof(err)),
			 E_OK);
	dns_rr_to_text(text, sizeof(text), rr.owner, rr.type, rr.ttl, rr.rdata, rr.rdlen);
	assert_non_null(strstr(text, "a.example.com."));
	assert_non_null(strstr(text, "CNAME"));
	assert_non_null(strstr(text, "b.example.com."));
	assert_int_equal(rr.ttl, 60);
	/* the root zone's names */
	assert_int_equal(row("", "NS", "a.root-servers.net", "518400", NULL, &rr, err, sizeof(err)),
			 E_OK);
	assert_int_equal(rr.owner[0], 0);
	assert_int_equal(row(".", "SOA", "a.root-servers.net", NULL, NULL, &rr, err, sizeof(err)),
			 E_OK);
	dns_rr_to_text(text, sizeof(text), rr.owner, rr.type, rr.ttl, rr.rdata, rr.rdlen);
	assert_non_null(strstr(text, "hostmaster. 0 10800 3600 604800 3600"));
	/* nothing in the content reaches owner, type or class */
	assert_int_not_equal(row("a.example.com", "A", "192.0.2.1\nb.example.com 60 IN A 1.2.3.4",
				 "60", NULL, &rr, err, sizeof(err)),
			     E_OK);
	assert_int_equal(
		row("a.example.com 60 IN TXT", "A", "192.0.2.1", "60", NULL, &rr, err, sizeof(err)),
		E_OK);
	assert_int_equal(rr.type, RR_A);
	assert_int_equal(dname_labels(rr.owner), 3); /* "com 60 IN TXT" is one label */
	/* a type is one word: nothing in it reaches the text parsed */
	assert_int_equal(
		row("a.example.com", "TXT \"x\"", "\"y\"", "1", NULL, &rr, err, sizeof(err)),
		E_ZONE_SYNTAX);
	assert_int_equal(row("a.example.com", "A 1.2.3.4", "", "1", NULL, &rr, err, sizeof(err)),
			 E_ZONE_SYNTAX);
	assert_int_equal(
		row("a.example.com", "LUA", "A \"1.2.3.4\"", "60", NULL, &rr, err, sizeof(err)),
		E_NOTSUP);
	assert_int_equal(row("a.example.com", "OPT", "\\# 0", "60", NULL, &rr, err, sizeof(err)),
			 E_ZONE_SYNTAX);
	assert_int_equal(
		row("a.example.com", "A", "192.0.2.1", "2147483648", NULL, &rr, err, sizeof(err)),
		E_ZONE_SYNTAX);
	assert_int_equal(
		row("a.example.com", "SRV", "1 2 x.example.com", "1", "-1", &rr, err, sizeof(err)),
		E_ZONE_SYNTAX);
	/* RFC 3597 empty RDATA: only for types that may have it (fuzz_sqlite_row found this) */
	assert_int_equal(row("a.example.com", "A", "\\# 0", "1", NULL, &rr, err, sizeof(err)),
			 E_ZONE_SYNTAX);
	assert_int_equal(row("a.example.com", "MX", "\\# 0", "1", "5", &rr, err, sizeof(err)),
			 E_ZONE_SYNTAX);
	assert_int_equal(
		row("a.example.com", "TYPE65534", "\\# 0", "1", NULL, &rr, err, sizeof(err)), E_OK);
	assert_int_equal(row("_s._tcp.example.com", "SRV", "\\# 7 00010002000300", "1", "9", &rr,
			     err, sizeof(err)),
			 E_OK);
	assert_int_equal(rr.rdlen, 7);
	/* long content goes through the heap */
	char big[3000];
	memset(big, 'x', sizeof(big));
	big[0] = '"';
	big[200] = '"';
	big[201] = ' ';
	big[202] = '"';
	big[400] = '"';
	big[401] = '\0';
	assert_int_equal(row("t.example.com", "TXT", big, "1", NULL, &rr, err, sizeof(err)), E_OK);
	assert_int_equal(rr.rdlen, 2 + 199 + 197);
}

static void test_disabled_values(void **state)
{
	(void)state;
	assert_false(sqlite_row_disabled(NULL));
	assert_false(sqlite_row_disabled("0"));
	assert_false(sqlite_row_disabled(""));
	assert_false(sqlite_row_disabled("false"));
	assert_true(sqlite_row_disabled("1"));
	assert_true(sqlite_row_disabled("true"));
	assert_true(sqlite_row_disabled("T"));
}

int main(void)
{
	log_set_level(LOG_ERR);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_load, setup, teardown),
		cmocka_unit_test_setup_teardown(test_prio, setup, teardown),
		cmocka_unit_test_setup_teardown(test_disabled, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed_rows, setup, teardown),
		cmocka_unit_test_setup_teardown(test_many_zones, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rectified, setup, teardown),
		cmocka_unit_test_setup_teardown(test_types, setup, teardown),
		cmocka_unit_test_setup_teardown(test_soa_defaults, setup, teardown),
		cmocka_unit_test_setup_teardown(test_out_of_zone, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_db, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_a_database, setup, teardown),
		cmocka_unit_test_setup_teardown(test_zone_not_in_db, setup, teardown),
		cmocka_unit_test_setup_teardown(test_options, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_only, setup, teardown),
		cmocka_unit_test_setup_teardown(test_watch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_locked_at_load, setup, teardown),
		cmocka_unit_test(test_row),
		cmocka_unit_test(test_disabled_values),
	};
	return cmocka_run_group_tests_name("adapters/sqlite", tests, NULL, NULL);
}
