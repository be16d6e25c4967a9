/* Unit tests: SkyDNS messages to records (adapters/etcd/skydns.c) and the JSON gateway's
 * answers (adapters/etcd/gateway.c). The expected answers are those of CoreDNS's etcd
 * plugin (its README and its lookup/other tests), except where doc/etcd.md says why a
 * consistent zone must differ. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "adapters/etcd/internal.h"
#include "dns/err.h"
#include "dns/rrtext.h"
#include "dns/rrtype.h"
#include "zones/builder.h"
#include "zones/zone.h"

static skydns_t m;
static zone_t *z;

static void start(const char *zone, const char *path)
{
	uint8_t apex[DNAME_MAX];
	assert_true(dname_from_str(apex, zone, NULL) > 0);
	assert_int_equal(skydns_init(&m, path, apex), E_OK);
}

static void put_lease(const char *key, const char *json, int64_t rev, int64_t lease)
{
	char err[256] = "";
	int ret =
		skydns_put(&m, key, strlen(key), json, strlen(json), rev, lease, err, sizeof(err));
	if (ret != E_OK) {
		fail_msg("put %s %s: %d %s", key, json, ret, err);
	}
}

static void put(const char *key, const char *json)
{
	put_lease(key, json, 1, 0);
}

static void build(uint32_t serial)
{
	zone_builder_t *b = NULL;
	zone_free(z);
	z = NULL;
	assert_int_equal(zone_builder_new(&b, m.apex), E_OK);
	assert_int_equal(skydns_build(&m, b, serial), E_OK);
	assert_int_equal(zone_builder_finish(b, &z), E_OK);
}

static void finish(void)
{
	zone_free(z);
	z = NULL;
	skydns_clear(&m);
}

static int line_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The RRset \a type of \a name as "TTL RDATA" lines, sorted, joined with " | "; "" when
 * there is none. */
static const char *rrs(const char *name, const char *type)
{
	static char out[8192];
	uint8_t n[DNAME_MAX];
	char *lines[256];
	size_t nl = 0, len = 0;

	out[0] = '\0';
	assert_true(dname_from_str(n, name, NULL) > 0);
	dname_lower(n);
	const zone_node_t *node = zone_find(z, n);
	const zone_rrset_t *rs = node ? zone_node_rrset(node, dns_type_from_str(type)) : NULL;
	if (rs == NULL) {
		return out;
	}
	uint32_t pos = 0;
	uint16_t rdlen;
	const uint8_t *rd;
	while ((rd = zone_rrset_next(rs, &pos, &rdlen)) != NULL && nl < 256) {
		char text[2048];
		dns_rr_to_text(text, sizeof(text), n, rs->type, rs->ttl, rd, rdlen);
		/* owner TTL IN TYPE RDATA -> TTL RDATA */
		char *p = strchr(text, '\t') + 1;
		char *ttl_end = strchr(p, '\t');
		char *rdata = strchr(strchr(ttl_end + 1, '\t') + 1, '\t') + 1;
		size_t tl = (size_t)(ttl_end - p);
		lines[nl] = malloc(tl + strlen(rdata) + 2);
		memcpy(lines[nl], p, tl);
		lines[nl][tl] = ' ';
		strcpy(lines[nl] + tl + 1, rdata);
		nl++;
	}
	qsort(lines, nl, sizeof(char *), line_cmp);
	for (size_t i = 0; i < nl; i++) {
		len += (size_t)snprintf(out + len, sizeof(out) - len, "%s%s", i ? " | " : "",
					lines[i]);
		free(lines[i]);
	}
	return out;
}

static bool exists(const char *name)
{
	uint8_t n[DNAME_MAX];
	assert_true(dname_from_str(n, name, NULL) > 0);
	dname_lower(n);
	return zone_find(z, n) != NULL;
}

/* ---- paths ---- */

static void test_paths(void **state)
{
	(void)state;
	start("skydns.local.", "/skydns");
	assert_string_equal(m.prefix, "/skydns/local/skydns");
	assert_true(skydns_in_zone(&m, "/skydns/local/skydns", 20));
	assert_true(skydns_in_zone(&m, "/skydns/local/skydns/", 21));
	assert_true(skydns_in_zone(&m, "/skydns/local/skydns/x/y", 24));
	assert_false(skydns_in_zone(&m, "/skydns/local/skydnsx", 21));
	assert_false(skydns_in_zone(&m, "/skydns/local/skydns-x", 22));
	assert_false(skydns_in_zone(&m, "/skydns/local", 13));
	finish();
	/* Go's path.Join cleans the configured path */
	start("Example.ORG.", "coredns//dns/");
	assert_string_equal(m.prefix, "/coredns/dns/org/example");
	finish();
	start(".", "/skydns");
	assert_string_equal(m.prefix, "/skydns");
	finish();
	start("0.0.10.in-addr.arpa.", "/");
	assert_string_equal(m.prefix, "/arpa/in-addr/10/0/0");
	assert_true(m.reverse);
	finish();
}

static void test_key_names(void **state)
{
	(void)state;
	char err[256];
	start("skydns.local.", "/skydns");
	put("/skydns/local/skydns/a/b/c", "{\"host\":\"10.0.0.1\"}");
	const skydns_svc_t *s = skydns_get(&m, "/skydns/local/skydns/a/b/c", 26);
	assert_non_null(s);
	char name[DNAME_STR_MAX];
	dname_to_str(name, sizeof(name), s->name);
	assert_string_equal(name, "c.b.a.skydns.local.");
	assert_int_equal(s->ncomp, 3);
	/* a trailing slash names the same name */
	put("/skydns/local/skydns/a/", "{\"host\":\"10.0.0.2\"}");
	s = skydns_get(&m, "/skydns/local/skydns/a/", 23);
	dname_to_str(name, sizeof(name), s->name);
	assert_string_equal(name, "a.skydns.local.");
	put("/skydns/local/skydns/", "{\"host\":\"10.0.0.3\"}");
	s = skydns_get(&m, "/skydns/local/skydns/", 21);
	dname_to_str(name, sizeof(name), s->name);
	assert_string_equal(name, "skydns.local.");
	/* keys that cannot be names are left out, and say why */
	static const char *const bad[] = {
		"/skydns/local/skydns//x",
		"/skydns/local/skydns/a.b",
		"/skydns/local/skydns/Upper",
		"/skydns/local/skydns/"
		"x1234567890123456789012345678901234567890123456789012345678901234",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(
			skydns_put(&m, bad[i], strlen(bad[i]), "{}", 2, 1, 0, err, sizeof(err)),
			E_MALFORMED);
		assert_true(strlen(err) > 0);
		assert_null(skydns_get(&m, bad[i], strlen(bad[i])));
	}
	/* outside the zone: nothing done */
	assert_int_equal(skydns_put(&m, "/skydns/local/other", 19, "{}", 2, 1, 0, err, sizeof(err)),
			 1);
	build(1);
	assert_string_equal(rrs("c.b.a.skydns.local.", "A"), "300 10.0.0.1");
	finish();
}

/* ---- the CoreDNS README's examples ---- */

static void test_readme(void **state)
{
	(void)state;
	/* Zone name as A record */
	start("skydns.local.", "/skydns");
	put("/skydns/local/skydns/", "{\"host\":\"1.1.1.1\",\"ttl\":60}");
	build(1);
	assert_string_equal(rrs("skydns.local.", "A"), "60 1.1.1.1");
	/* ... with DNS round robin */
	put("/skydns/local/skydns/x1", "{\"host\":\"1.1.1.1\",\"ttl\":60}");
	put("/skydns/local/skydns/x2", "{\"host\":\"1.1.1.2\",\"ttl\":60}");
	build(2);
	assert_string_equal(rrs("skydns.local.", "A"), "60 1.1.1.1 | 60 1.1.1.2");
	/* Zone name as AAAA record */
	put("/skydns/local/skydns/x3", "{\"host\":\"2003::8:1\",\"ttl\":60}");
	put("/skydns/local/skydns/x4", "{\"host\":\"2003::8:2\",\"ttl\":60}");
	build(3);
	assert_string_equal(rrs("skydns.local.", "AAAA"), "60 2003::8:1 | 60 2003::8:2");
	assert_string_equal(rrs("skydns.local.", "A"), "60 1.1.1.1 | 60 1.1.1.2");
	finish();
	/* SRV record */
	start("skydns.local.", "/skydns");
	put("/skydns/local/skydns/x5",
	    "{\"host\":\"skydns-local.server\",\"ttl\":60,\"priority\":10,\"port\":8080}");
	build(4);
	assert_string_equal(rrs("skydns.local.", "SRV"), "60 10 100 8080 skydns-local.server.");
	/* TXT record */
	put("/skydns/local/skydns/x6", "{\"ttl\":60,\"text\":\"this is a random text message.\"}");
	build(5);
	assert_string_equal(rrs("skydns.local.", "TXT"), "60 \"this is a random text message.\"");
	finish();
	/* Reverse zones */
	start("0.0.10.in-addr.arpa.", "/skydns");
	put("/skydns/arpa/in-addr/10/0/0/127", "{\"host\":\"reverse.skydns.local.\"}");
	build(6);
	assert_string_equal(rrs("127.0.0.10.in-addr.arpa.", "PTR"), "300 reverse.skydns.local.");
	assert_string_equal(rrs("127.0.0.10.in-addr.arpa.", "CNAME"), "");
	finish();
}

/* ---- CoreDNS's etcd lookup tests (plugin/etcd/lookup_test.go, other_test.go) ---- */

static void coredns_services(void)
{
	put("/skydns/test/skydns/region1/dev/server1/a",
	    "{\"host\":\"dev.server1\",\"port\":8080}");
	put("/skydns/test/skydns/region1/prod/server1/a", "{\"host\":\"10.0.0.1\",\"port\":8080}");
	put("/skydns/test/skydns/region1/prod/server1/b", "{\"host\":\"10.0.0.2\",\"port\":8080}");
	put("/skydns/test/skydns/region1/prod/server6/b", "{\"host\":\"::1\",\"port\":8080}");
	put("/skydns/test/skydns/region1/prod/cname", "{\"host\":\"unresolvable.skydns.test\"}");
	put("/skydns/test/skydns/priority",
	    "{\"host\":\"priority.server1\",\"priority\":333,\"port\":8080}");
	put("/skydns/test/skydns/region1/sub/a", "{\"host\":\"sub.server1\",\"port\":0}");
	put("/skydns/test/skydns/region1/sub/b", "{\"host\":\"sub.server2\",\"port\":80}");
	put("/skydns/test/skydns/region1/sub/c", "{\"host\":\"10.0.0.1\",\"port\":8080}");
	put("/skydns/test/skydns/cname/b", "{\"host\":\"a.cname.skydns.test\"}");
	put("/skydns/test/skydns/cname/a", "{\"host\":\"b.cname.skydns.test\"}");
	put("/skydns/test/skydns/dns/ns/a", "{\"host\":\"10.0.0.2\"}");
	put("/skydns/test/skydns/dns/ns/b", "{\"host\":\"10.0.0.3\"}");
	/* other_test.go */
	put("/skydns/test/skydns/mail/a",
	    "{\"host\":\"mx.skydns.test\",\"priority\":50,\"mail\":true}");
	put("/skydns/test/skydns/mail/b",
	    "{\"host\":\"mx.miek.nl\",\"priority\":50,\"mail\":true}");
	put("/skydns/test/skydns/mx/a",
	    "{\"host\":\"a.ipaddr.skydns.test\",\"priority\":30,\"mail\":true}");
	put("/skydns/test/skydns/mx2/a", "{\"host\":\"a.ipaddr.skydns.test\",\"mail\":true}");
	put("/skydns/test/skydns/mx2/b", "{\"host\":\"b.ipaddr.skydns.test\",\"mail\":true}");
	put("/skydns/test/skydns/mx3/a",
	    "{\"host\":\"a.ipaddr.skydns.test\",\"priority\":20,\"mail\":true}");
	put("/skydns/test/skydns/mx3/b",
	    "{\"host\":\"a.ipaddr.skydns.test\",\"priority\":30,\"mail\":true}");
	put("/skydns/test/skydns/ipaddr/a", "{\"host\":\"172.16.1.1\"}");
	put("/skydns/test/skydns/ipaddr/b", "{\"host\":\"172.16.1.2\"}");
	put("/skydns/test/skydns/txt/a1", "{\"text\":\"abc\"}");
	put("/skydns/test/skydns/txt/a2", "{\"text\":\"abc abc\"}");
	put("/skydns/test/skydns/http/multiport/http", "{\"host\":\"10.11.11.10\",\"port\":80}");
	put("/skydns/test/skydns/http/multiport/https", "{\"host\":\"10.11.11.10\",\"port\":443}");
}

static void test_coredns_lookup(void **state)
{
	(void)state;
	start("skydns.test.", "/skydns");
	coredns_services();
	build(7);
	assert_string_equal(rrs("a.server1.dev.region1.skydns.test.", "SRV"),
			    "300 10 100 8080 dev.server1.");
	assert_string_equal(rrs("a.server1.prod.region1.skydns.test.", "A"), "300 10.0.0.1");
	assert_string_equal(rrs("a.server1.prod.region1.skydns.test.", "SRV"),
			    "300 10 100 8080 a.server1.prod.region1.skydns.test.");
	assert_string_equal(rrs("b.server6.prod.region1.skydns.test.", "AAAA"), "300 ::1");
	assert_string_equal(rrs("server1.prod.region1.skydns.test.", "A"),
			    "300 10.0.0.1 | 300 10.0.0.2");
	assert_string_equal(rrs("priority.skydns.test.", "SRV"),
			    "300 333 100 8080 priority.server1.");
	assert_string_equal(rrs("sub.region1.skydns.test.", "SRV"),
			    "300 10 33 0 sub.server1. | 300 10 33 80 sub.server2. | "
			    "300 10 33 8080 c.sub.region1.skydns.test.");
	/* NODATA: a.server1.dev has no TXT, HINFO, MX */
	assert_string_equal(rrs("a.server1.dev.region1.skydns.test.", "TXT"), "");
	assert_string_equal(rrs("a.server1.dev.region1.skydns.test.", "MX"), "");
	assert_false(exists("doesnotexist.skydns.test."));
	assert_false(exists("a.server1.nonexistent.region1.skydns.test."));
	assert_string_equal(rrs("skydns.test.", "NS"),
			    "300 a.ns.dns.skydns.test. | 300 b.ns.dns.skydns.test.");
	assert_string_equal(rrs("ns.dns.skydns.test.", "A"), "300 10.0.0.2 | 300 10.0.0.3");
	assert_string_equal(rrs("a.ns.dns.skydns.test.", "A"), "300 10.0.0.2");
	assert_string_equal(rrs("skydns.test.", "SOA"),
			    "30 ns.dns.skydns.test. hostmaster.skydns.test. 7 7200 1800 86400 30");
	/* MX */
	assert_string_equal(rrs("a.mail.skydns.test.", "MX"), "300 50 mx.skydns.test.");
	assert_string_equal(rrs("mx2.skydns.test.", "MX"),
			    "300 10 a.ipaddr.skydns.test. | 300 10 b.ipaddr.skydns.test.");
	assert_string_equal(rrs("mx3.skydns.test.", "MX"),
			    "300 20 a.ipaddr.skydns.test. | 300 30 a.ipaddr.skydns.test.");
	/* TXT */
	assert_string_equal(rrs("a1.txt.skydns.test.", "TXT"), "300 \"abc\"");
	assert_string_equal(rrs("a2.txt.skydns.test.", "TXT"), "300 \"abc abc\"");
	assert_string_equal(rrs("txt.skydns.test.", "TXT"), "300 \"abc abc\" | 300 \"abc\"");
	/* one address however many ports */
	assert_string_equal(rrs("multiport.http.skydns.test.", "A"), "300 10.11.11.10");
	assert_string_equal(rrs("multiport.http.skydns.test.", "SRV"),
			    "300 10 50 443 https.multiport.http.skydns.test. | "
			    "300 10 50 80 http.multiport.http.skydns.test.");
	/* a name whose only service is an alias is a CNAME (CoreDNS answers A with it) */
	assert_string_equal(rrs("cname.prod.region1.skydns.test.", "CNAME"),
			    "300 unresolvable.skydns.test.");
	assert_string_equal(rrs("a.cname.skydns.test.", "CNAME"), "300 b.cname.skydns.test.");
	/* two aliases to different names cannot be one CNAME: their SRV records */
	assert_string_equal(rrs("cname.skydns.test.", "CNAME"), "");
	assert_string_equal(rrs("cname.skydns.test.", "SRV"),
			    "300 10 50 0 a.cname.skydns.test. | 300 10 50 0 b.cname.skydns.test.");
	finish();
}

static void test_coredns_apex(void **state)
{
	(void)state;
	/* every service of the zone, when there is no apex.dns */
	start("skydns_zonea.test.", "/skydns");
	put("/skydns/test/skydns_zonea/x", "{\"host\":\"10.0.0.2\"}");
	put("/skydns/test/skydns_zonea/y", "{\"host\":\"10.0.0.3\"}");
	build(1);
	assert_string_equal(rrs("skydns_zonea.test.", "A"), "300 10.0.0.2 | 300 10.0.0.3");
	finish();
	start("skydns_zoneb.test.", "/skydns");
	put("/skydns/test/skydns_zoneb/x", "{\"host\":\"10.0.0.2\"}");
	put("/skydns/test/skydns_zoneb/y", "{\"host\":\"10.0.0.3\"}");
	put("/skydns/test/skydns_zoneb/dns/apex", "{\"host\":\"10.0.0.4\"}");
	build(1);
	assert_string_equal(rrs("skydns_zoneb.test.", "A"), "300 10.0.0.4");
	finish();
	start("skydns_zonec.test.", "/skydns");
	put("/skydns/test/skydns_zonec/x", "{\"host\":\"10.0.0.2\"}");
	put("/skydns/test/skydns_zonec/y", "{\"host\":\"10.0.0.3\"}");
	put("/skydns/test/skydns_zonec/dns/apex/a1", "{\"host\":\"10.0.0.4\"}");
	put("/skydns/test/skydns_zonec/dns/apex/a2", "{\"host\":\"10.0.0.5\"}");
	build(1);
	assert_string_equal(rrs("skydns_zonec.test.", "A"), "300 10.0.0.4 | 300 10.0.0.5");
	finish();
	start("skydns_zoned.test.", "/skydns");
	put("/skydns/test/skydns_zoned/x", "{\"host\":\"10.0.0.2\"}");
	put("/skydns/test/skydns_zoned/y", "{\"host\":\"10.0.0.3\"}");
	put("/skydns/test/skydns_zoned/dns/apex/a1", "{\"host\":\"10.0.0.4\"}");
	put("/skydns/test/skydns_zoned/dns/apex/a2", "{\"host\":\"10.0.0.5\"}");
	put("/skydns/test/skydns_zoned/dns/apex/a3", "{\"host\":\"2003::8:1\"}");
	put("/skydns/test/skydns_zoned/dns/apex/a4", "{\"host\":\"2003::8:2\"}");
	build(1);
	assert_string_equal(rrs("skydns_zoned.test.", "A"), "300 10.0.0.4 | 300 10.0.0.5");
	assert_string_equal(rrs("skydns_zoned.test.", "AAAA"), "300 2003::8:1 | 300 2003::8:2");
	/* no NS keys: one NS is made up, the SOA's MNAME */
	assert_string_equal(rrs("skydns_zoned.test.", "NS"), "300 ns.dns.skydns_zoned.test.");
	finish();
	/* reverse (lookup_test.go: 1.0.0.10.in-addr.arpa. PTR reverse.example.com.) */
	start("in-addr.arpa.", "/skydns");
	put("/skydns/arpa/in-addr/10/0/0/1", "{\"host\":\"reverse.example.com\"}");
	build(1);
	assert_string_equal(rrs("1.0.0.10.in-addr.arpa.", "PTR"), "300 reverse.example.com.");
	assert_string_equal(rrs("0.0.10.in-addr.arpa.", "PTR"), ""); /* PTR: exact key only */
	finish();
}

/* ---- SkyDNS semantics in detail ---- */

static void test_subtree(void **state)
{
	(void)state;
	start("skydns.test.", "/skydns");
	put("/skydns/test/skydns/mx/a", "{\"host\":\"10.0.0.1\"}");
	put("/skydns/test/skydns/mx/b", "{\"host\":\"10.0.0.2\"}");
	put("/skydns/test/skydns/mx/b/deep", "{\"host\":\"10.0.0.3\"}");
	put("/skydns/test/skydns/mx1", "{\"host\":\"10.0.0.9\"}");
	build(1);
	/* a name answers with its whole subtree; "mx1" is not below "mx" */
	assert_string_equal(rrs("mx.skydns.test.", "A"),
			    "300 10.0.0.1 | 300 10.0.0.2 | 300 10.0.0.3");
	/* a key with keys below it: only those below ("mx/b" itself is not read) */
	assert_string_equal(rrs("b.mx.skydns.test.", "A"), "300 10.0.0.3");
	assert_string_equal(rrs("deep.b.mx.skydns.test.", "A"), "300 10.0.0.3");
	assert_string_equal(rrs("mx1.skydns.test.", "A"), "300 10.0.0.9");
	assert_string_equal(rrs("skydns.test.", "A"),
			    "300 10.0.0.1 | 300 10.0.0.2 | 300 10.0.0.3 | 300 10.0.0.9");
	/* a delete takes the records away everywhere */
	assert_true(skydns_del(&m, "/skydns/test/skydns/mx/b/deep", 29));
	assert_false(skydns_del(&m, "/skydns/test/skydns/mx/b/deep", 29));
	build(2);
	assert_string_equal(rrs("b.mx.skydns.test.", "A"), "300 10.0.0.2");
	assert_false(exists("deep.b.mx.skydns.test."));
	assert_string_equal(rrs("skydns.test.", "A"), "300 10.0.0.1 | 300 10.0.0.2 | 300 10.0.0.9");
	finish();
}

static void test_weights(void **state)
{
	(void)state;
	start("w.test.", "/skydns");
	/* shares of 100 per priority: weights 1 and 3 at 10, none (100 each) at 20 */
	put("/skydns/test/w/s/a", "{\"host\":\"a.example.\",\"port\":1,\"weight\":1}");
	put("/skydns/test/w/s/b", "{\"host\":\"b.example.\",\"port\":1,\"weight\":3}");
	put("/skydns/test/w/s/c", "{\"host\":\"c.example.\",\"port\":1,\"priority\":20}");
	put("/skydns/test/w/s/d", "{\"host\":\"d.example.\",\"port\":1,\"priority\":20}");
	put("/skydns/test/w/s/e", "{\"host\":\"e.example.\",\"port\":1,\"priority\":20}");
	/* a tiny share is at least 1 */
	put("/skydns/test/w/t/a", "{\"host\":\"a.example.\",\"port\":1,\"weight\":1}");
	put("/skydns/test/w/t/b", "{\"host\":\"b.example.\",\"port\":1,\"weight\":30000}");
	/* port -1: no SRV, but its weight counts */
	put("/skydns/test/w/u/a", "{\"host\":\"a.example.\",\"port\":-1}");
	put("/skydns/test/w/u/b", "{\"host\":\"b.example.\",\"port\":2}");
	build(1);
	assert_string_equal(rrs("s.w.test.", "SRV"),
			    "300 10 25 1 a.example. | 300 10 75 1 b.example. | "
			    "300 20 33 1 c.example. | 300 20 33 1 d.example. | "
			    "300 20 33 1 e.example.");
	assert_string_equal(rrs("t.w.test.", "SRV"),
			    "300 10 1 1 a.example. | 300 10 99 1 b.example.");
	assert_string_equal(rrs("u.w.test.", "SRV"), "300 10 50 2 b.example.");
	finish();
}

static void test_targetstrip(void **state)
{
	(void)state;
	start("skydns.local.", "/skydns");
	put("/skydns/local/skydns/a/b/x", "{\"host\":\"10.0.0.1\",\"port\":80,\"targetstrip\":1}");
	put("/skydns/local/skydns/c/y",
	    "{\"host\":\"10.0.0.2\",\"port\":80,\"targetstrip\":9,\"mail\":true}");
	put("/skydns/local/skydns/d/z",
	    "{\"host\":\"srv.x.example.\",\"port\":80,\"targetstrip\":2}");
	build(1);
	/* the target of an address is the key's name, less targetstrip labels */
	assert_string_equal(rrs("x.b.a.skydns.local.", "SRV"), "300 10 100 80 b.a.skydns.local.");
	assert_string_equal(rrs("b.a.skydns.local.", "A"), "300 10.0.0.1");
	/* stripping every label leaves the name as it was */
	assert_string_equal(rrs("y.c.skydns.local.", "SRV"), "300 10 100 80 y.c.skydns.local.");
	assert_string_equal(rrs("y.c.skydns.local.", "MX"), "300 10 y.c.skydns.local.");
	/* a name host is stripped too */
	assert_string_equal(rrs("z.d.skydns.local.", "SRV"), "300 10 100 80 example.");
	finish();
}

static void test_group(void **state)
{
	(void)state;
	start("skydns.local.", "/skydns");
	/* the shortest key's group wins; other groups are left out, no group stays */
	put("/skydns/local/skydns/dom/a", "{\"host\":\"127.0.0.1\",\"group\":\"g1\"}");
	put("/skydns/local/skydns/dom/b/c", "{\"host\":\"127.0.0.2\",\"group\":\"g2\"}");
	put("/skydns/local/skydns/dom/b/d", "{\"host\":\"127.0.0.3\"}");
	put("/skydns/local/skydns/dom/b/e", "{\"host\":\"127.0.0.4\",\"group\":\"g1\"}");
	/* two of the shortest keys disagree: no grouping */
	put("/skydns/local/skydns/dis/a", "{\"host\":\"127.0.1.1\",\"group\":\"g1\"}");
	put("/skydns/local/skydns/dis/b", "{\"host\":\"127.0.1.2\",\"group\":\"g2\"}");
	/* the first key has no group and nothing shorter has one: no grouping */
	put("/skydns/local/skydns/none/a", "{\"host\":\"127.0.2.1\"}");
	put("/skydns/local/skydns/none/b/c", "{\"host\":\"127.0.2.2\",\"group\":\"g1\"}");
	put("/skydns/local/skydns/none/b/d", "{\"host\":\"127.0.2.3\",\"group\":\"g2\"}");
	build(1);
	assert_string_equal(rrs("dom.skydns.local.", "A"),
			    "300 127.0.0.1 | 300 127.0.0.3 | 300 127.0.0.4");
	/* below, each name groups its own keys */
	assert_string_equal(rrs("b.dom.skydns.local.", "A"),
			    "300 127.0.0.2 | 300 127.0.0.3 | 300 127.0.0.4");
	assert_string_equal(rrs("dis.skydns.local.", "A"), "300 127.0.1.1 | 300 127.0.1.2");
	assert_string_equal(rrs("none.skydns.local.", "A"),
			    "300 127.0.2.1 | 300 127.0.2.2 | 300 127.0.2.3");
	finish();
}

static void test_cname(void **state)
{
	(void)state;
	start("skydns.local.", "/skydns");
	put("/skydns/local/skydns/alias", "{\"host\":\"www.example.org\",\"ttl\":42}");
	put("/skydns/local/skydns/two/a", "{\"host\":\"www.example.org\"}");
	put("/skydns/local/skydns/two/b", "{\"host\":\"www.example.org.\",\"ttl\":7}");
	put("/skydns/local/skydns/mixed/a", "{\"host\":\"www.example.org\"}");
	put("/skydns/local/skydns/mixed/b", "{\"host\":\"10.0.0.1\"}");
	put("/skydns/local/skydns/loop/x", "{\"host\":\"x.loop.skydns.local\"}");
	put("/skydns/local/skydns/srv", "{\"host\":\"www.example.org\",\"port\":443}");
	put("/skydns/local/skydns/txt", "{\"host\":\"www.example.org\",\"text\":\"t\"}");
	put("/skydns/local/skydns/empty", "{\"text\":\"\"}");
	build(1);
	assert_string_equal(rrs("alias.skydns.local.", "CNAME"), "42 www.example.org.");
	assert_string_equal(rrs("alias.skydns.local.", "SRV"), "");
	/* aliases to one name are one CNAME (the smallest TTL) */
	assert_string_equal(rrs("two.skydns.local.", "CNAME"), "7 www.example.org.");
	/* beside an address: no CNAME, the name host is an SRV target */
	assert_string_equal(rrs("mixed.skydns.local.", "CNAME"), "");
	assert_string_equal(rrs("mixed.skydns.local.", "A"), "300 10.0.0.1");
	assert_string_equal(rrs("mixed.skydns.local.", "SRV"),
			    "300 10 50 0 b.mixed.skydns.local. | 300 10 50 0 www.example.org.");
	/* x CNAME x is a loop: the name below is answered as SRV only */
	assert_string_equal(rrs("x.loop.skydns.local.", "CNAME"), "");
	assert_string_equal(rrs("loop.skydns.local.", "CNAME"), "");
	assert_string_equal(rrs("x.loop.skydns.local.", "SRV"),
			    "300 10 100 0 x.loop.skydns.local.");
	/* a port makes an SRV service, text a TXT one */
	assert_string_equal(rrs("srv.skydns.local.", "SRV"), "300 10 100 443 www.example.org.");
	assert_string_equal(rrs("srv.skydns.local.", "CNAME"), "");
	assert_string_equal(rrs("txt.skydns.local.", "TXT"), "300 \"t\"");
	assert_string_equal(rrs("txt.skydns.local.", "SRV"), "");
	/* no host and no text: no record, so no name (CoreDNS: NODATA) */
	assert_false(exists("empty.skydns.local."));
	/* the apex never has a CNAME */
	assert_string_equal(rrs("skydns.local.", "CNAME"), "");
	finish();
}

static void test_ttl_leases(void **state)
{
	(void)state;
	start("skydns.local.", "/skydns");
	put_lease("/skydns/local/skydns/a", "{\"host\":\"10.0.0.1\",\"ttl\":60}", 1, 0x10);
	put_lease("/skydns/local/skydns/b", "{\"host\":\"10.0.0.2\"}", 2, 0x20);
	put_lease("/skydns/local/skydns/c", "{\"host\":\"10.0.0.3\",\"ttl\":20}", 3, 0x30);
	put_lease("/skydns/local/skydns/d", "{\"host\":\"10.0.0.4\",\"ttl\":90}", 4, 0);
	assert_int_equal(m.max_mod, 4);
	assert_int_equal(skydns_lease_set(&m, 0x10, 30), E_OK);
	assert_int_equal(skydns_lease_set(&m, 0x20, 45), E_OK);
	assert_int_equal(skydns_lease_set(&m, 0x30, 0), E_OK); /* unknown */
	assert_true(skydns_lease_known(&m, 0x30));
	assert_false(skydns_lease_known(&m, 0x40));
	/* the smaller of the message's and the lease's */
	assert_int_equal(skydns_ttl(&m, skydns_get(&m, "/skydns/local/skydns/a", 22)), 30);
	assert_int_equal(skydns_ttl(&m, skydns_get(&m, "/skydns/local/skydns/b", 22)), 45);
	assert_int_equal(skydns_ttl(&m, skydns_get(&m, "/skydns/local/skydns/c", 22)), 20);
	assert_int_equal(skydns_ttl(&m, skydns_get(&m, "/skydns/local/skydns/d", 22)), 90);
	build(1);
	assert_string_equal(rrs("a.skydns.local.", "A"), "30 10.0.0.1");
	/* one RRset, one TTL: the smallest */
	assert_string_equal(rrs("skydns.local.", "A"),
			    "20 10.0.0.1 | 20 10.0.0.2 | 20 10.0.0.3 | 20 10.0.0.4");
	assert_true(skydns_del(&m, "/skydns/local/skydns/b", 22));
	skydns_lease_gc(&m);
	assert_false(skydns_lease_known(&m, 0x20));
	assert_true(skydns_lease_known(&m, 0x10));
	finish();
}

static void test_text(void **state)
{
	(void)state;
	char big[700], json[800];
	start("skydns.local.", "/skydns");
	memset(big, '0', 400);
	big[400] = '\0';
	snprintf(json, sizeof(json), "{\"text\":\"%s\"}", big);
	put("/skydns/local/skydns/large400", json);
	memset(big, '1', 255);
	big[255] = '\0';
	snprintf(json, sizeof(json), "{\"text\":\"%s\"}", big);
	put("/skydns/local/skydns/exact255", json);
	/* an address with text is an address service: no TXT (HostType is A) */
	put("/skydns/local/skydns/addr", "{\"host\":\"10.0.0.1\",\"text\":\"no\"}");
	build(1);
	char want[1200];
	memset(big, '0', 400);
	snprintf(want, sizeof(want), "300 \"%.255s\" \"%.145s\"", big, big);
	assert_string_equal(rrs("large400.skydns.local.", "TXT"), want);
	memset(big, '1', 255);
	snprintf(want, sizeof(want), "300 \"%.255s\" \"\"", big); /* msg.split255 */
	assert_string_equal(rrs("exact255.skydns.local.", "TXT"), want);
	assert_string_equal(rrs("addr.skydns.local.", "TXT"), "");
	finish();
}

static void test_messages(void **state)
{
	(void)state;
	char err[256];
	start("skydns.local.", "/skydns");
	/* member names as encoding/json matches them: any case, the last one wins */
	put("/skydns/local/skydns/a", "{\"Host\":\"10.0.0.9\",\"HOST\":\"10.0.0.1\",\"Port\":5,"
				      "\"unknown\":[1,2],\"ttl\":null}");
	const skydns_svc_t *s = skydns_get(&m, "/skydns/local/skydns/a", 22);
	assert_string_equal(s->host, "10.0.0.1");
	assert_int_equal(s->port, 5);
	assert_int_equal(s->priority, SKYDNS_DEFAULT_PRIO);
	/* IPv4-mapped IPv6 is IPv4, as net.ParseIP reads it */
	put("/skydns/local/skydns/m", "{\"host\":\"::ffff:10.1.2.3\"}");
	assert_int_equal(skydns_get(&m, "/skydns/local/skydns/m", 22)->kind, SKYDNS_HOST_A);
	/* what Go's json.Unmarshal into msg.Service refuses */
	static const char *const bad[] = {
		"not json",
		"[1]",
		"{\"host\":1}",
		"{\"ttl\":\"60\"}",
		"{\"ttl\":-1}",
		"{\"ttl\":4294967296}",
		"{\"port\":1.5}",
		"{\"port\":\"80\"}",
		"{\"mail\":\"yes\"}",
		"{\"host\":\"bad..name\"}",
		"{\"host\":\"a\\u0000b\"}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(skydns_put(&m, "/skydns/local/skydns/a", 22, bad[i],
					    strlen(bad[i]), 2, 0, err, sizeof(err)),
				 E_MALFORMED);
		assert_true(strlen(err) > 0);
		/* a key whose value turns bad is taken out */
		assert_null(skydns_get(&m, "/skydns/local/skydns/a", 22));
		put("/skydns/local/skydns/a", "{\"host\":\"10.0.0.1\"}");
	}
	finish();
}

/* Whatever the keys, the zone is consistent: the builder accepts it (no CNAME beside other
 * data, one SOA, ...). */
static void test_always_consistent(void **state)
{
	(void)state;
	static const char *const values[] = {
		"{\"host\":\"10.0.0.1\"}",
		"{\"host\":\"2001:db8::1\",\"port\":80}",
		"{\"host\":\"alias.example.\"}",
		"{\"host\":\"other.example.\"}",
		"{\"host\":\"a.skydns.local.\"}",
		"{\"host\":\"x.y.skydns.local.\"}",
		"{\"host\":\"srv.example.\",\"port\":443,\"weight\":5}",
		"{\"text\":\"hello\"}",
		"{\"host\":\"mx.example.\",\"mail\":true}",
		"{\"host\":\"10.0.0.2\",\"group\":\"g1\"}",
		"{\"host\":\"alias.example.\",\"group\":\"g2\"}",
		"{}",
	};
	static const char *const comps[] = { "a", "b", "x", "y", "dns", "ns", "apex", "*" };
	uint32_t seed = 12345;
	start("skydns.local.", "/skydns");
	for (int round = 0; round < 300; round++) {
		char key[256] = "/skydns/local/skydns";
		size_t n = strlen(key);
		seed = seed * 1103515245u + 12345u;
		int depth = (int)(seed >> 16) % 4;
		for (int d = 0; d < depth; d++) {
			seed = seed * 1103515245u + 12345u;
			n += (size_t)snprintf(key + n, sizeof(key) - n, "/%s",
					      comps[(seed >> 16) % 8]);
		}
		if ((seed >> 8) % 7 == 0) {
			key[n++] = '/';
			key[n] = '\0';
		}
		seed = seed * 1103515245u + 12345u;
		if ((seed >> 16) % 5 == 0) {
			skydns_del(&m, key, n);
		} else {
			put_lease(key, values[(seed >> 16) % 12], round, 0);
		}
		build((uint32_t)round);
	}
	finish();
}

/* ---- the gateway ---- */

static void test_gateway(void **state)
{
	(void)state;
	json_t *j = NULL;
	etcd_kv_t kv;
	char buf[64], msg[128];
	int code = 0;
	const char *range =
		"{\"header\":{\"revision\":\"6\"},\"kvs\":[{\"key\":"
		"\"L3NreWRucy9sb2NhbC9za3lkbnMveDE=\","
		"\"create_revision\":\"2\",\"mod_revision\":\"5\",\"version\":\"1\","
		"\"value\":\"eyJob3N0IjoiMS4xLjEuMSJ9\",\"lease\":\"2324035625320451852\"}],"
		"\"count\":\"1\"}";
	assert_int_equal(json_parse(&j, range, strlen(range), NULL, 0), E_OK);
	assert_int_equal(etcd_kv_decode(json_at(json_get(j, "kvs"), 0), &kv), E_OK);
	assert_string_equal(kv.key, "/skydns/local/skydns/x1");
	assert_int_equal(kv.keylen, 23);
	assert_string_equal(kv.value, "{\"host\":\"1.1.1.1\"}");
	assert_int_equal(kv.mod_revision, 5);
	assert_true(kv.lease == 2324035625320451852LL);
	etcd_kv_free(&kv);
	assert_false(etcd_error(j, msg, sizeof(msg), &code));
	json_free(j);
	/* a delete event: no value */
	const char *del = "{\"key\":\"eA==\",\"mod_revision\":\"4\"}";
	assert_int_equal(json_parse(&j, del, strlen(del), NULL, 0), E_OK);
	assert_int_equal(etcd_kv_decode(j, &kv), E_OK);
	assert_string_equal(kv.key, "x");
	assert_int_equal(kv.vlen, 0);
	etcd_kv_free(&kv);
	json_free(j);
	const char *badkv = "{\"key\":\"!!!\"}";
	assert_int_equal(json_parse(&j, badkv, strlen(badkv), NULL, 0), E_OK);
	assert_int_equal(etcd_kv_decode(j, &kv), E_MALFORMED);
	json_free(j);
	/* errors: unary and in a stream */
	const char *e1 = "{\"error\":\"etcdserver: mvcc: required revision has been compacted\","
			 "\"message\":\"etcdserver: mvcc: required revision has been compacted\","
			 "\"code\":11}";
	assert_int_equal(json_parse(&j, e1, strlen(e1), NULL, 0), E_OK);
	assert_true(etcd_error(j, msg, sizeof(msg), &code));
	assert_int_equal(code, ETCD_GRPC_OUT_OF_RANGE);
	assert_string_equal(msg, "etcdserver: mvcc: required revision has been compacted");
	json_free(j);
	const char *e2 = "{\"error\":{\"grpc_code\":16,\"http_code\":401,\"message\":\"etcdserver: "
			 "invalid auth token\",\"http_status\":\"Unauthorized\"}}";
	assert_int_equal(json_parse(&j, e2, strlen(e2), NULL, 0), E_OK);
	assert_true(etcd_error(j, msg, sizeof(msg), &code));
	assert_int_equal(code, ETCD_GRPC_UNAUTHENTICATED);
	assert_string_equal(msg, "etcdserver: invalid auth token");
	json_free(j);
	assert_int_equal(etcd_b64_json(buf, sizeof(buf), "/skydns", 7), 14);
	assert_string_equal(buf, "\"L3NreWRucw==\"");
	assert_int_equal(etcd_b64_json(buf, 8, "/skydns", 7), E_TRUNC);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_paths),        cmocka_unit_test(test_key_names),
		cmocka_unit_test(test_readme),       cmocka_unit_test(test_coredns_lookup),
		cmocka_unit_test(test_coredns_apex), cmocka_unit_test(test_subtree),
		cmocka_unit_test(test_weights),      cmocka_unit_test(test_targetstrip),
		cmocka_unit_test(test_group),        cmocka_unit_test(test_cname),
		cmocka_unit_test(test_ttl_leases),   cmocka_unit_test(test_text),
		cmocka_unit_test(test_messages),     cmocka_unit_test(test_always_consistent),
		cmocka_unit_test(test_gateway),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
