/* Unit tests: AXFR and IXFR out (xfr/xfr.c). The messages are parsed back with ldns. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <ldns/ldns.h>

#include "dns/log.h"
#include "dns/tsig.h"
#include "xfr/journal.h"
#include "xfr/xfr.h"
#include "xfr_util.h"

#define SIG(covered, ttl)                                                                   \
	"RRSIG " covered " 13 2 " ttl " 20300101000000 20200101000000 12345 example.test. " \
	"c2lnbmF0dXJl"
#define H1       "0p9mhaveqvm6t7vbl5lop2u3t2rp3tom"
#define H2       "2vptu5timamqttgl4luu9kg21e0aor3s"
#define MAX_MSGS 4096
#define N(a)     (sizeof(a) / sizeof((a)[0]))

static const char *const v1[] = {
	"example.test. 3600 SOA ns1.example.test. h.example.test. 1 3600 900 604800 300",
	"example.test. 3600 " SIG("SOA", "3600"),
	"example.test. 3600 NS ns1.example.test.",
	"example.test. 3600 NS ns2.example.test.",
	"example.test. 3600 " SIG("NS", "3600"),
	"example.test. 300 MX 10 mail.example.test.",
	"example.test. 300 " SIG("TXT", "300"), /* orphan */
	"ns1.example.test. 3600 A 192.0.2.1",
	"ns2.example.test. 3600 A 192.0.2.2",
	"mail.example.test. 300 A 192.0.2.25",
	"www.example.test. 300 A 192.0.2.80",
	"www.example.test. 300 A 192.0.2.81",
	"www.example.test. 120 " SIG("A", "300"), /* sent with the A RRset's TTL */
	"*.wild.example.test. 300 TXT \"wild\"",
	"sub.example.test. 3600 NS ns.sub.example.test.",
	"sub.example.test. 3600 DS 12345 13 2 "
	"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
	"ns.sub.example.test. 3600 A 192.0.2.53",
	H1 ".example.test. 300 NSEC3 1 0 0 - " H2 " NS SOA MX RRSIG",
	H1 ".example.test. 300 " SIG("NSEC3", "300"),
	H2 ".example.test. 300 NSEC3 1 0 0 - " H1 " A RRSIG",
};

static const char *const v2[] = {
	"example.test. 3600 SOA ns1.example.test. h.example.test. 2 3600 900 604800 300",
	"example.test. 3600 " SIG("SOA", "3600"),
	"example.test. 3600 NS ns1.example.test.",
	"example.test. 3600 NS ns2.example.test.",
	"example.test. 3600 " SIG("NS", "3600"),
	"example.test. 300 MX 10 mail.example.test.",
	"example.test. 300 " SIG("TXT", "300"),
	"ns1.example.test. 3600 A 192.0.2.1",
	"ns2.example.test. 3600 A 192.0.2.2",
	"mail.example.test. 300 A 192.0.2.26",
	"www.example.test. 300 A 192.0.2.80",
	"www.example.test. 300 A 192.0.2.81",
	"www.example.test. 120 " SIG("A", "300"),
	"*.wild.example.test. 300 TXT \"wild\"",
	"sub.example.test. 3600 NS ns.sub.example.test.",
	"sub.example.test. 3600 DS 12345 13 2 "
	"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
	"ns.sub.example.test. 3600 A 192.0.2.53",
	"new.example.test. 300 TXT \"new\"",
	H1 ".example.test. 300 NSEC3 1 0 0 - " H2 " NS SOA MX RRSIG",
	H1 ".example.test. 300 " SIG("NSEC3", "300"),
	H2 ".example.test. 300 NSEC3 1 0 0 - " H1 " A RRSIG",
};

static const char *const key_secret = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
static char dir[64];

/* The transfer's messages as sent. */
typedef struct stream {
	size_t n;
	size_t len[MAX_MSGS];
	uint8_t *msg[MAX_MSGS];
	size_t total;
} stream_t;

static stream_t st;

static void stream_free(void)
{
	for (size_t i = 0; i < st.n; i++) {
		free(st.msg[i]);
	}
	memset(&st, 0, sizeof(st));
}

/* An AXFR or IXFR request (IXFR: the client's SOA in authority), optionally with EDNS. */
static size_t request(uint8_t *buf, uint16_t qtype, long ixfr_serial, bool edns)
{
	static const uint8_t qname[] = "\7example\4test";
	size_t p = DNS_HDR_LEN;

	memset(buf, 0, DNS_HDR_LEN);
	dns_put16(buf, 0x4242);
	dns_put16(buf + 4, 1);
	dns_put16(buf + 8, ixfr_serial >= 0 ? 1 : 0);
	dns_put16(buf + 10, edns ? 1 : 0);
	memcpy(buf + p, qname, sizeof(qname));
	p += sizeof(qname);
	dns_put16(buf + p, qtype);
	dns_put16(buf + p + 2, CLASS_IN);
	p += 4;
	if (ixfr_serial >= 0) {
		dns_put16(buf + p, 0xC00C);
		dns_put16(buf + p + 2, RR_SOA);
		dns_put16(buf + p + 4, CLASS_IN);
		dns_put32(buf + p + 6, 0);
		dns_put16(buf + p + 10, 22);
		memset(buf + p + 12, 0, 22);
		dns_put32(buf + p + 14, (uint32_t)ixfr_serial);
		p += 34;
	}
	if (edns) {
		buf[p] = 0;
		dns_put16(buf + p + 1, RR_OPT);
		dns_put16(buf + p + 3, 4096);
		dns_put32(buf + p + 5, 0x8000); /* DO */
		dns_put16(buf + p + 9, 0);
		p += 11;
	}
	return p;
}

/* Run \a x to the end with messages of at most \a cap octets. */
static void run(xfr_out_t *x, size_t cap)
{
	static uint8_t buf[DNS_TCP_MAX];
	size_t len;

	stream_free();
	while ((len = xfr_next(x, buf, cap)) > 0) {
		assert_true(len <= cap);
		assert_true(st.n < MAX_MSGS);
		st.msg[st.n] = malloc(len);
		memcpy(st.msg[st.n], buf, len);
		st.len[st.n++] = len;
		st.total += len;
	}
	assert_int_equal(xfr_next(x, buf, cap), 0);
}

/* Every answer RR of the stream, in order; checks the headers on the way. */
static void answers(rrlist_t *l, uint16_t id, bool edns)
{
	ldns_buffer *b = ldns_buffer_new(DNS_TCP_MAX);

	for (size_t i = 0; i < st.n; i++) {
		ldns_pkt *p = NULL;

		assert_int_equal(ldns_wire2pkt(&p, st.msg[i], st.len[i]), LDNS_STATUS_OK);
		assert_int_equal(ldns_pkt_id(p), id);
		assert_true(ldns_pkt_qr(p));
		assert_true(ldns_pkt_aa(p));
		assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
		assert_int_equal(ldns_pkt_qdcount(p), i == 0 ? 1 : 0); /* as BIND: first only */
		assert_int_equal(ldns_pkt_edns(p), edns);
		for (size_t k = 0; k < ldns_rr_list_rr_count(ldns_pkt_answer(p)); k++) {
			const ldns_rr *rr = ldns_rr_list_rr(ldns_pkt_answer(p), k);

			ldns_buffer_clear(b);
			assert_int_equal(ldns_rr_rdata2buffer_wire(b, rr), LDNS_STATUS_OK);
			assert_int_equal(ldns_rr_get_class(rr), LDNS_RR_CLASS_IN);
			rl_add(l, ldns_rdf_data(ldns_rr_owner(rr)), (uint16_t)ldns_rr_get_type(rr),
			       ldns_rr_ttl(rr), ldns_buffer_begin(b),
			       (uint16_t)ldns_buffer_position(b));
		}
		ldns_pkt_free(p);
	}
	ldns_buffer_free(b);
}

static bool is_soa(const char *s, uint32_t serial)
{
	char prefix[32];
	char hex[16];

	snprintf(prefix, sizeof(prefix), "example.test. 6 ");
	snprintf(hex, sizeof(hex), "%08x", serial);
	/* the serial follows the two names "ns1.example.test." "h.example.test." (34 octets) */
	return strncmp(s, prefix, strlen(prefix)) == 0 && strlen(s) > 30 &&
	       strncmp(strrchr(s, ' ') + 1 + 2 * 34, hex, 8) == 0;
}

/* The whole zone: SOA first and last, every RR once. */
static void check_axfr(const zone_t *z, uint16_t id, bool edns)
{
	rrlist_t got = { 0 }, want = { 0 };

	answers(&got, id, edns);
	assert_true(got.n >= 2);
	assert_true(is_soa(got.s[0], z->serial));
	assert_true(is_soa(got.s[got.n - 1], z->serial));
	free(got.s[--got.n]);
	rl_zone(&want, z, true);
	rl_assert_equal(&got, &want);
	rl_free(&got);
	rl_free(&want);
}

static zone_t *zone1, *zone2;

static int setup(void **state)
{
	zone1 = zu_build("example.test.", v1, N(v1));
	zone2 = zu_build("example.test.", v2, N(v2));
	snprintf(dir, sizeof(dir), "/tmp/signet-xfr-XXXXXX");
	return mkdtemp(dir) != NULL ? 0 : -1;
}

static int teardown(void **state)
{
	static const char *const files[] = { "", "-wal", "-shm" };
	char path[128];

	for (size_t i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s/" XFR_JOURNAL_FILE "%s", dir, files[i]);
		unlink(path);
	}
	rmdir(dir);
	zone_free(zone1);
	zone_free(zone2);
	stream_free();
	return 0;
}

static xfr_out_t *start(zone_t *z, xfr_journal_t *j, const uint8_t *q, size_t qlen,
			const tsig_key_t *key, bool udp)
{
	dns_request_t req;
	xfr_out_t *x = NULL;

	assert_int_equal(dns_request_parse(&req, q, qlen), E_OK);
	assert_int_equal(xfr_start(&x, z, j, &req, q, qlen, key, udp), E_OK);
	return x;
}

static void test_axfr(void **state)
{
	uint8_t q[512];
	size_t qlen = request(q, RR_AXFR, -1, false);
	xfr_out_t *x = start(zone1, NULL, q, qlen, NULL, false);
	rrlist_t got = { 0 };

	assert_string_equal(xfr_kind(x), "AXFR");
	run(x, DNS_TCP_MAX);
	assert_int_equal(st.n, 1);
	check_axfr(zone1, 0x4242, false);
	/* RRSIG(A) of www goes right after its RRset, with the RRset's TTL; the orphan after the
	 * apex's RRsets with its own */
	answers(&got, 0x4242, false);
	for (size_t i = 0; i < got.n; i++) {
		if (strncmp(got.s[i], "www.example.test. 46 ", 21) == 0) {
			assert_string_equal(got.s[i - 1] + 17, " 1 300 c0000251");
			assert_true(strncmp(got.s[i], "www.example.test. 46 300 ", 25) == 0);
		}
	}
	assert_true(rl_has(&got, "example.test. 46 3600 0010")); /* the node RRSIG TTL */
	rl_free(&got);
	xfr_free(x);
	/* a reference was held: the version outlives its owner's reference */
	assert_int_equal(zone1->refs, 1);
}

static void test_axfr_small_messages(void **state)
{
	uint8_t q[512];
	size_t qlen = request(q, RR_AXFR, -1, true);
	xfr_out_t *x = start(zone1, NULL, q, qlen, NULL, false);

	run(x, 200);
	assert_true(st.n >= 4);
	for (size_t i = 0; i < st.n; i++) {
		assert_true(st.len[i] <= 200);
	}
	check_axfr(zone1, 0x4242, true);
	xfr_free(x);
}

/* An RR larger than the 16 KiB a message is filled to gets a message of its own. */
static void test_axfr_large_rr(void **state)
{
	static char txt[40000];
	size_t pos = (size_t)snprintf(txt, sizeof(txt), "big.example.test. 300 TXT");
	const char *rrs[] = {
		"example.test. 3600 SOA ns1.example.test. h.example.test. 7 3600 900 604800 300",
		"example.test. 3600 NS ns1.example.test.",
		"ns1.example.test. 3600 A 192.0.2.1",
		txt,
		"www.example.test. 300 A 192.0.2.80",
	};
	uint8_t q[512];
	size_t qlen = request(q, RR_AXFR, -1, false);
	zone_t *z;
	xfr_out_t *x;
	bool big = false;

	for (int i = 0; i < 120; i++) { /* 120 strings of 250 octets: 30 KiB of RDATA */
		pos += (size_t)snprintf(txt + pos, sizeof(txt) - pos, " \"%0250d\"", i);
	}
	z = zu_build("example.test.", rrs, N(rrs));
	x = start(z, NULL, q, qlen, NULL, false);
	run(x, DNS_TCP_MAX);
	assert_true(st.n >= 2);
	for (size_t i = 0; i < st.n; i++) {
		assert_true(st.len[i] <= DNS_TCP_MAX);
		big = big || st.len[i] > 30000;
	}
	assert_true(big);
	check_axfr(z, 0x4242, false);
	xfr_free(x);
	zone_free(z);
}

static void test_axfr_tsig(void **state)
{
	uint8_t q[512];
	size_t qlen = request(q, RR_AXFR, -1, false);
	tsig_key_t key;
	tsig_ctx_t client;
	xfr_out_t *x;
	uint64_t now = (uint64_t)time(NULL);
	const char *dump = getenv("SIGNET_XFR_DUMP");

	assert_int_equal(tsig_key_set(&key, "transfer.key.", "hmac-sha256", key_secret), E_OK);
	assert_int_equal(tsig_request_sign(&client, &key, q, &qlen, sizeof(q), now), E_OK);
	x = start(zone1, NULL, q, qlen, &key, false);
	tsig_key_wipe(&key); /* the transfer keeps its own copy */
	assert_int_equal(tsig_key_set(&key, "transfer.key.", "hmac-sha256", key_secret), E_OK);
	run(x, 300);
	assert_true(st.n >= 4);
	for (size_t i = 0; i < st.n; i++) {
		assert_int_equal(tsig_response_verify(&client, st.msg[i], st.len[i], now), E_OK);
	}
	check_axfr(zone1, 0x4242, false);
	if (dump != NULL) {
		/* request and answer for tests/data/xfr/verify_xfr.py (dnspython) */
		FILE *f = fopen(dump, "wb");
		uint8_t l[2];

		assert_non_null(f);
		dns_put16(l, (uint16_t)qlen);
		fwrite(l, 1, 2, f);
		fwrite(q, 1, qlen, f);
		for (size_t i = 0; i < st.n; i++) {
			dns_put16(l, (uint16_t)st.len[i]);
			fwrite(l, 1, 2, f);
			fwrite(st.msg[i], 1, st.len[i], f);
		}
		fclose(f);
	}
	xfr_free(x);
	/* a key without a signed request */
	qlen = request(q, RR_AXFR, -1, false);
	dns_request_t req;
	assert_int_equal(dns_request_parse(&req, q, qlen), E_OK);
	assert_int_equal(xfr_start(&x, zone1, NULL, &req, q, qlen, &key, false), -EINVAL);
	tsig_key_wipe(&key);
}

static xfr_journal_t *journal_12(void)
{
	xfr_journal_t *j = NULL;
	zone_changeset_t cs;

	assert_int_equal(xfr_journal_open(&j, dir, XFR_JOURNAL_WRITE, NULL), E_OK);
	assert_int_equal(zone_diff(zone1, zone2, &cs), E_OK);
	assert_int_equal(xfr_journal_store(j, zone2->apex_name, &cs), E_OK);
	zone_changeset_clear(&cs);
	return j;
}

/* SOA(2) SOA(1) removed SOA(2) added SOA(2) */
static void check_ixfr(void)
{
	rrlist_t got = { 0 };
	size_t i = 2;

	answers(&got, 0x4242, false);
	assert_true(got.n >= 5);
	assert_true(is_soa(got.s[0], 2));
	assert_true(is_soa(got.s[1], 1));
	assert_string_equal(got.s[i++], "mail.example.test. 1 300 c0000219");
	assert_true(is_soa(got.s[i++], 2));
	assert_string_equal(got.s[i++], "mail.example.test. 1 300 c000021a");
	assert_true(strncmp(got.s[i++], "new.example.test. 16 300 ", 25) == 0);
	assert_true(is_soa(got.s[i++], 2));
	assert_int_equal(got.n, i);
	rl_free(&got);
}

static void test_ixfr(void **state)
{
	xfr_journal_t *j = journal_12(), *r = NULL;
	uint8_t q[512];
	size_t qlen = request(q, RR_IXFR, 1, false);
	xfr_out_t *x;
	rrlist_t got = { 0 };

	/* from the reader connection, as the TCP thread does */
	assert_int_equal(xfr_journal_open(&r, dir, XFR_JOURNAL_READ, NULL), E_OK);
	x = start(zone2, r, q, qlen, NULL, false);
	assert_string_equal(xfr_kind(x), "IXFR");
	run(x, DNS_TCP_MAX);
	assert_int_equal(st.n, 1);
	check_ixfr();
	xfr_free(x);
	/* several messages */
	x = start(zone2, r, q, qlen, NULL, false);
	run(x, 120);
	assert_true(st.n >= 2);
	check_ixfr();
	xfr_free(x);

	/* the client is current, or ahead: the SOA alone */
	for (long serial = 2; serial <= 3; serial++) {
		qlen = request(q, RR_IXFR, serial, false);
		x = start(zone2, r, q, qlen, NULL, false);
		run(x, DNS_TCP_MAX);
		answers(&got, 0x4242, false);
		assert_int_equal(got.n, 1);
		assert_true(is_soa(got.s[0], 2));
		rl_free(&got);
		xfr_free(x);
	}

	/* the journal does not reach back: the whole zone, as AXFR */
	qlen = request(q, RR_IXFR, 0, false);
	x = start(zone2, r, q, qlen, NULL, false);
	assert_string_equal(xfr_kind(x), "AXFR");
	run(x, DNS_TCP_MAX);
	check_axfr(zone2, 0x4242, false);
	xfr_free(x);
	/* no journal at all */
	qlen = request(q, RR_IXFR, 1, false);
	x = start(zone2, NULL, q, qlen, NULL, false);
	assert_string_equal(xfr_kind(x), "AXFR");
	xfr_free(x);
	xfr_journal_close(r);
	xfr_journal_close(j);
}

static void test_ixfr_udp(void **state)
{
	xfr_journal_t *j = journal_12();
	uint8_t q[512];
	size_t qlen = request(q, RR_IXFR, 1, false);
	dns_request_t req;
	xfr_out_t *x;
	rrlist_t got = { 0 };

	/* it fits: the whole difference in one datagram */
	x = start(zone2, j, q, qlen, NULL, true);
	run(x, 512);
	assert_int_equal(st.n, 1);
	check_ixfr();
	xfr_free(x);
	/* it does not: TC and no records, the client comes back over TCP */
	x = start(zone2, j, q, qlen, NULL, true);
	assert_string_equal(xfr_kind(x), "IXFR");
	run(x, 150);
	assert_int_equal(st.n, 1);
	assert_true(dns_u16(st.msg[0] + 2) & DNS_FLAG_TC);
	answers(&got, 0x4242, false);
	assert_int_equal(got.n, 0);
	rl_free(&got);
	xfr_free(x);
	/* not in the journal (only the whole zone would do): TC too */
	qlen = request(q, RR_IXFR, 0, false);
	x = start(zone2, j, q, qlen, NULL, true);
	run(x, 512);
	assert_true(dns_u16(st.msg[0] + 2) & DNS_FLAG_TC);
	answers(&got, 0x4242, false);
	assert_int_equal(got.n, 0);
	rl_free(&got);
	xfr_free(x);
	/* current: the SOA alone, no TC */
	qlen = request(q, RR_IXFR, 2, false);
	x = start(zone2, j, q, qlen, NULL, true);
	run(x, 512);
	assert_false(dns_u16(st.msg[0] + 2) & DNS_FLAG_TC);
	answers(&got, 0x4242, false);
	assert_int_equal(got.n, 1);
	assert_true(is_soa(got.s[0], 2));
	rl_free(&got);
	xfr_free(x);
	/* AXFR over UDP is refused; IXFR without the client's SOA is malformed */
	qlen = request(q, RR_AXFR, -1, false);
	assert_int_equal(dns_request_parse(&req, q, qlen), E_OK);
	assert_int_equal(xfr_start(&x, zone2, j, &req, q, qlen, NULL, true), E_NOTSUP);
	qlen = request(q, RR_IXFR, -1, false);
	assert_int_equal(dns_request_parse(&req, q, qlen), E_OK);
	assert_int_equal(xfr_start(&x, zone2, j, &req, q, qlen, NULL, false), E_MALFORMED);
	qlen = request(q, RR_A, -1, false);
	assert_int_equal(dns_request_parse(&req, q, qlen), E_OK);
	assert_int_equal(xfr_start(&x, zone2, j, &req, q, qlen, NULL, false), -EINVAL);
	xfr_journal_close(j);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A generated zone of 100,000 names: AXFR size and time; IXFR of one changed record. */
static zone_t *big_zone(uint32_t serial, uint32_t changed)
{
	uint8_t apex[DNAME_MAX], owner[DNAME_MAX], soa[64], ns[64], a[4];
	zone_builder_t *b = NULL;
	zone_t *z = NULL;
	char name[64];
	int len;

	assert_true(dname_from_str(apex, "example.test.", NULL) > 0);
	assert_int_equal(zone_builder_new(&b, apex), E_OK);
	len = dname_from_str(ns, "ns1.example.test.", NULL);
	memcpy(soa, ns, (size_t)len);
	memcpy(soa + len, ns, (size_t)len);
	memset(soa + 2 * len, 0, 20);
	dns_put32(soa + 2 * len, serial);
	dns_put32(soa + 2 * len + 16, 300);
	assert_int_equal(
		zone_builder_add(b, apex, RR_SOA, 3600, soa, (uint16_t)(2 * len + 20), NULL), E_OK);
	assert_int_equal(zone_builder_add(b, apex, RR_NS, 3600, ns, (uint16_t)len, NULL), E_OK);
	for (uint32_t i = 0; i < 100000; i++) {
		snprintf(name, sizeof(name), "host%u.example.test.", i);
		assert_true(dname_from_str(owner, name, NULL) > 0);
		a[0] = 10;
		a[1] = (uint8_t)(i >> 16);
		a[2] = (uint8_t)(i >> 8);
		a[3] = (uint8_t)(i == changed ? i + 1 : i);
		assert_int_equal(zone_builder_add(b, owner, RR_A, 300, a, 4, NULL), E_OK);
	}
	assert_int_equal(zone_builder_finish(b, &z), E_OK);
	return z;
}

static void test_big_zone(void **state)
{
	zone_t *z1 = big_zone(1, UINT32_MAX), *z2 = big_zone(2, 4242);
	xfr_journal_t *j = NULL;
	zone_changeset_t cs;
	uint8_t q[512];
	size_t qlen = request(q, RR_AXFR, -1, false);
	xfr_out_t *x = start(z1, NULL, q, qlen, NULL, false);
	double t0 = now_s(), t1;

	run(x, DNS_TCP_MAX);
	t1 = now_s();
	xfr_free(x);
	assert_int_equal(z1->nrecords, 100002);
	printf("[ INFO     ] AXFR of %u names, %u RRs: %zu messages, %zu octets, %.1f ms\n",
	       z1->nnodes, z1->nrecords, st.n, st.total, (t1 - t0) * 1e3);
	for (size_t i = 0; i < st.n; i++) {
		/* filled to 16 KiB, where compression pointers still reach (xfr.c) */
		assert_true(st.len[i] <= 16384);
		assert_true(i + 1 == st.n || st.len[i] > 16384 - 100);
	}

	t0 = now_s();
	assert_int_equal(zone_diff(z1, z2, &cs), E_OK);
	t1 = now_s();
	assert_int_equal(cs.nremoved, 1);
	assert_int_equal(cs.nadded, 1);
	printf("[ INFO     ] diff of two 100,000-name versions: %.1f ms\n", (t1 - t0) * 1e3);
	assert_int_equal(xfr_journal_open(&j, dir, XFR_JOURNAL_WRITE, NULL), E_OK);
	t0 = now_s();
	assert_int_equal(xfr_journal_store(j, z2->apex_name, &cs), E_OK);
	t1 = now_s();
	printf("[ INFO     ] journal store (synchronous=FULL): %.1f ms\n", (t1 - t0) * 1e3);
	zone_changeset_clear(&cs);
	qlen = request(q, RR_IXFR, 1, false);
	x = start(z2, j, q, qlen, NULL, false);
	run(x, DNS_TCP_MAX);
	assert_string_equal(xfr_kind(x), "IXFR");
	assert_int_equal(st.n, 1);
	printf("[ INFO     ] IXFR of one changed record: %zu octets\n", st.total);
	xfr_free(x);
	xfr_journal_close(j);
	zone_free(z1);
	zone_free(z2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_axfr),      cmocka_unit_test(test_axfr_small_messages),
		cmocka_unit_test(test_axfr_tsig), cmocka_unit_test(test_ixfr),
		cmocka_unit_test(test_ixfr_udp),  cmocka_unit_test(test_axfr_large_rr),
		cmocka_unit_test(test_big_zone),
	};

	log_set_level(LOG_ERR);
	return cmocka_run_group_tests(tests, setup, teardown);
}
