/*  Unit tests: dns/pkt.c (request parser, response writer with name compression). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dns/err.h"
#include "dns/name.h"
#include "dns/pkt.h"
#include "dns/rrtype.h"

/* A wire name from a string literal: the literal's terminating NUL is the root label. */
#define N(s) ((const uint8_t *)(s))

/* ---- building requests by hand ---- */

typedef struct wbuf {
	uint8_t b[2048];
	size_t n;
} wbuf_t;

static void put(wbuf_t *w, const void *p, size_t n)
{
	assert_true(w->n + n <= sizeof(w->b));
	memcpy(w->b + w->n, p, n);
	w->n += n;
}

static void put8(wbuf_t *w, uint8_t v)
{
	put(w, &v, 1);
}

static void put16(wbuf_t *w, uint16_t v)
{
	put8(w, (uint8_t)(v >> 8));
	put8(w, (uint8_t)v);
}

static void put32(wbuf_t *w, uint32_t v)
{
	put16(w, (uint16_t)(v >> 16));
	put16(w, (uint16_t)v);
}

static void put_name(wbuf_t *w, const uint8_t *name)
{
	put(w, name, dname_len(name));
}

static void put_hdr(wbuf_t *w, uint16_t id, uint16_t flags, uint16_t qd, uint16_t an, uint16_t ns,
		    uint16_t ar)
{
	w->n = 0;
	put16(w, id);
	put16(w, flags);
	put16(w, qd);
	put16(w, an);
	put16(w, ns);
	put16(w, ar);
}

/* Header and the question "WwW.Example.com. IN A", id 0x1234, RD. 33 octets. */
static void put_query(wbuf_t *w, uint16_t an, uint16_t ns, uint16_t ar)
{
	put_hdr(w, 0x1234, DNS_FLAG_RD, 1, an, ns, ar);
	put_name(w, N("\3WwW\7Example\3com"));
	put16(w, RR_A);
	put16(w, CLASS_IN);
}

/* An OPT RR header; the caller appends \a rdlen octets of options. */
static void put_opt(wbuf_t *w, uint16_t payload, uint32_t ttl, uint16_t rdlen)
{
	put8(w, 0);
	put16(w, RR_OPT);
	put16(w, payload);
	put32(w, ttl);
	put16(w, rdlen);
}

/* A minimal TSIG RR (the parser only checks placement and bounds). */
static void put_tsig(wbuf_t *w)
{
	put_name(w, N("\3key"));
	put16(w, RR_TSIG);
	put16(w, CLASS_ANY);
	put32(w, 0);
	put16(w, 4);
	put32(w, 0xDEADBEEF);
}

/* ---- parser ---- */

static void test_parse_query(void **state)
{
	wbuf_t w;
	dns_request_t req;

	(void)state;
	put_query(&w, 0, 0, 0);
	assert_int_equal(w.n, 33);
	memset(&req, 0xA5, sizeof(req));
	assert_int_equal(dns_request_parse(&req, w.b, w.n), E_OK);
	assert_int_equal(req.id, 0x1234);
	assert_int_equal(req.flags, DNS_FLAG_RD);
	assert_int_equal(req.opcode, OPCODE_QUERY);
	assert_int_equal(req.qdcount, 1);
	assert_int_equal(req.ancount, 0);
	assert_int_equal(req.nscount, 0);
	assert_int_equal(req.arcount, 0);
	assert_int_equal(req.qname_len, 17);
	assert_memory_equal(req.qname, "\3WwW\7Example\3com", 17);
	assert_memory_equal(req.qname_lc, "\3www\7example\3com", 17);
	assert_int_equal(req.qtype, RR_A);
	assert_int_equal(req.qclass, CLASS_IN);
	assert_int_equal(req.question_end, 33);
	assert_false(req.edns.present);
	assert_false(req.edns.do_bit);
	assert_int_equal(req.edns.payload, 0);
	assert_int_equal(req.tsig_pos, 0);
	assert_int_equal(req.end, 33);
}

static void test_parse_opcode(void **state)
{
	wbuf_t w;
	dns_request_t req;

	(void)state;
	put_hdr(&w, 0xBEEF, (uint16_t)(OPCODE_NOTIFY << 11) | DNS_FLAG_AA, 1, 1, 0, 0);
	put_name(&w, N("\7example"));
	put16(&w, RR_SOA);
	put16(&w, CLASS_IN);
	/* An answer whose owner points at the question and whose RDATA is skipped unread. */
	put16(&w, 0xC00C);
	put16(&w, RR_SOA);
	put16(&w, CLASS_IN);
	put32(&w, 3600);
	put16(&w, 3);
	put(&w, "\1\2\3", 3);
	assert_int_equal(dns_request_parse(&req, w.b, w.n), E_OK);
	assert_int_equal(req.id, 0xBEEF);
	assert_int_equal(req.opcode, OPCODE_NOTIFY);
	assert_int_equal(req.ancount, 1);
	assert_int_equal(req.qtype, RR_SOA);
	assert_int_equal(req.question_end, 12 + 9 + 4);
	assert_int_equal(req.end, w.n);
}

static void test_parse_edns_do(void **state)
{
	static const uint8_t opt[] = { 0x00, 0x00, 0x29, 0x10, 0x00, 0x00,
				       0x00, 0x80, 0x00, 0x00, 0x00 };
	wbuf_t w;
	dns_request_t req;

	(void)state;
	put_query(&w, 0, 0, 1);
	put(&w, opt, sizeof(opt));
	assert_int_equal(dns_request_parse(&req, w.b, w.n), E_OK);
	assert_true(req.edns.present);
	assert_true(req.edns.do_bit);
	assert_int_equal(req.edns.payload, 4096);
	assert_int_equal(req.edns.version, 0);
	assert_int_equal(req.edns.ext_rcode, 0);
	assert_int_equal(req.end, 44);
	assert_int_equal(req.qname_len, 17);

	/* Version 1, an extended RCODE octet, other flag bits but not DO. */
	put_query(&w, 0, 0, 1);
	put_opt(&w, 512, 0x07017FFF, 0);
	assert_int_equal(dns_request_parse(&req, w.b, w.n), E_OK);
	assert_true(req.edns.present);
	assert_false(req.edns.do_bit);
	assert_int_equal(req.edns.payload, 512);
	assert_int_equal(req.edns.version, 1);
	assert_int_equal(req.edns.ext_rcode, 7);
}

static void test_parse_edns_options(void **state)
{
	wbuf_t w;
	dns_request_t req;

	(void)state;
	/* A client cookie (10), an unknown option (65001) and an empty option: 8+4 + 3+4 + 4. */
	put_query(&w, 0, 0, 1);
	put_opt(&w, 1232, 0x8000, 23);
	put16(&w, 10);
	put16(&w, 8);
	put(&w, "\1\2\3\4\5\6\7\10", 8);
	put16(&w, 65001);
	put16(&w, 3);
	put(&w, "abc", 3);
	put16(&w, 12);
	put16(&w, 0);
	assert_int_equal(dns_request_parse(&req, w.b, w.n), E_OK);
	assert_true(req.edns.present);
	assert_true(req.edns.do_bit);
	assert_int_equal(req.edns.payload, 1232);
	assert_int_equal(req.end, w.n);
}

static void test_parse_edns_bad(void **state)
{
	wbuf_t w;
	dns_request_t req;

	(void)state;
	/* Option length runs past RDLENGTH (still inside the message). */
	put_query(&w, 0, 0, 1);
	put_opt(&w, 1232, 0, 8);
	put16(&w, 10);
	put16(&w, 5);
	put(&w, "\1\2\3\4\5", 4);
	put(&w, "\0\0\0\0\0\0\0\0", 8);
	assert_int_equal(dns_request_parse(&req, w.b, w.n), E_MALFORMED);
	assert_int_equal(req.qname_len, 17); /* the question is still there for FORMERR */
	assert_false(req.edns.present);

	/* An option header cut by RDLENGTH. */
	put_query(&w, 0, 0, 1);
	put_opt(&w, 1232, 0, 6);
	put16(&w, 10);
	put16(&w, 0);
	put16(&w, 10);
	assert_int_equal(dns_request_parse(&req, w.b, w.n), E_MALFORMED);

	/* RDLENGTH past the end of the message. */
	put_query(&w, 0, 0, 1);
	put_opt(&w, 1232, 0, 4);
	put16(&w, 10);
	assert_int_equal(dns_request_parse(&req, w.b, w.n), E_MALFORMED);

	/* OPT with a non-root owner. */
	put_query(&w, 0, 0, 1);
	put_name(&w, N("\1a"));
	put16(&w, RR_OPT);
	put16(&w, 1232);
	put32(&w, 0);
	put16(&w, 0);
	assert_int_equal(dns_request_parse(&req, w.b, w.n), E_MALFORMED);

	/* OPT outside the additional section. */
	put_query(&w, 1, 0, 0);
	put_opt(&w, 1232, 0, 0);
	assert_int_equal(dns_request_parse(&req, w.b, w.n), E_MALFORMED);
}

static void test_parse_two_opts(void **state)
{
	wbuf_t w;
	dns_request_t req;

	(void)state;
	put_query(&w, 0, 0, 2);
	put_opt(&w, 1232, 0, 0);
	put_opt(&w, 4096, 0x8000, 0);
	assert_int_equal(dns_request_parse(&req, w.b, w.n), E_MALFORMED);
	assert_int_equal(req.qname_len, 17);
	assert_memory_equal(req.qname, "\3WwW\7Example\3com", 17);
}

static void test_parse_qdcount(void **state)
{
	wbuf_t w;
	dns_request_t req;

	(void)state;
	put_hdr(&w, 0x4242, DNS_FLAG_RD, 0, 0, 0, 0);
	assert_int_equal(dns_request_parse(&req, w.b, w.n), E_MALFORMED);
	assert_int_equal(req.id, 0x4242);
	assert_int_equal(req.flags, DNS_FLAG_RD);
	assert_int_equal(req.qname_len, 0);

	put_hdr(&w, 0x4243, 0, 2, 0, 0, 0);
	put_name(&w, N("\1a"));
	put16(&w, RR_A);
	put16(&w, CLASS_IN);
	put_name(&w, N("\1b"));
	put16(&w, RR_A);
	put16(&w, CLASS_IN);
	assert_int_equal(dns_request_parse(&req, w.b, w.n), E_MALFORMED);
	assert_int_equal(req.id, 0x4243);
	assert_int_equal(req.qdcount, 2);
	assert_int_equal(req.qname_len, 0);
}

static void test_parse_truncated(void **state)
{
	wbuf_t w;
	dns_request_t req;

	(void)state;
	put_query(&w, 0, 0, 0);
	for (size_t n = 0; n < DNS_HDR_LEN; n++) {
		assert_int_equal(dns_request_parse(&req, w.b, n), E_TRUNC);
		assert_int_equal(req.qname_len, 0);
	}
	/* Header complete, question cut anywhere: malformed, no question. */
	for (size_t n = DNS_HDR_LEN; n < 33; n++) {
		assert_int_equal(dns_request_parse(&req, w.b, n), E_MALFORMED);
		assert_int_equal(req.qname_len, 0);
		assert_int_equal(req.id, 0x1234);
	}
	/* A record promised by ARCOUNT but cut short: the question is kept. */
	put_query(&w, 0, 0, 1);
	put_opt(&w, 1232, 0, 0);
	for (size_t n = 33; n < w.n; n++) {
		assert_int_equal(dns_request_parse(&req, w.b, n), E_MALFORMED);
		assert_int_equal(req.qname_len, 17);
	}
	assert_int_equal(dns_request_parse(&req, w.b, w.n), E_OK);
}

static void test_parse_bad_qname(void **state)
{
	wbuf_t w;
	dns_request_t req;

	(void)state;
	put_hdr(&w, 1, 0, 1, 0, 0, 0);
	put16(&w, 0xC00C); /* points at itself */
	put16(&w, RR_A);
	put16(&w, CLASS_IN);
	assert_int_equal(dns_request_parse(&req, w.b, w.n), E_MALFORMED);
	assert_int_equal(req.qname_len, 0);

	put_hdr(&w, 1, 0, 1, 0, 0, 0);
	put8(&w, 0x41); /* label type 01 */
	put16(&w, RR_A);
	put16(&w, CLASS_IN);
	assert_int_equal(dns_request_parse(&req, w.b, w.n), E_MALFORMED);
	assert_int_equal(req.qname_len, 0);
}

static void test_parse_trailing(void **state)
{
	wbuf_t w;
	dns_request_t req;

	(void)state;
	put_query(&w, 0, 0, 1);
	put_opt(&w, 1232, 0x8000, 0);
	put(&w, "junk", 4);
	assert_int_equal(dns_request_parse(&req, w.b, w.n), E_TRAILING);
	assert_int_equal(req.qname_len, 17);
	assert_int_equal(req.qtype, RR_A);
	assert_true(req.edns.present);
	assert_true(req.edns.do_bit);
	assert_int_equal(req.end, 44);

	put_query(&w, 0, 0, 0);
	put8(&w, 0);
	assert_int_equal(dns_request_parse(&req, w.b, w.n), E_TRAILING);
	assert_int_equal(req.end, 33);
}

static void test_parse_tsig(void **state)
{
	wbuf_t w;
	dns_request_t req;

	(void)state;
	/* OPT then TSIG: fine. */
	put_query(&w, 0, 0, 2);
	put_opt(&w, 1232, 0, 0);
	put_tsig(&w);
	assert_int_equal(dns_request_parse(&req, w.b, w.n), E_OK);
	assert_true(req.edns.present);
	assert_int_equal(req.tsig_pos, 44);
	assert_int_equal(req.end, w.n);

	/* TSIG then OPT: TSIG is not last. */
	put_query(&w, 0, 0, 2);
	put_tsig(&w);
	put_opt(&w, 1232, 0, 0);
	assert_int_equal(dns_request_parse(&req, w.b, w.n), E_MALFORMED);
	assert_int_equal(req.qname_len, 17);

	/* TSIG in the answer section. */
	put_query(&w, 1, 0, 0);
	put_tsig(&w);
	assert_int_equal(dns_request_parse(&req, w.b, w.n), E_MALFORMED);
}

static void test_parse_bad_records(void **state)
{
	wbuf_t w;
	dns_request_t req;

	(void)state;
	/* Owner with a forward pointer. */
	put_query(&w, 0, 1, 0);
	put16(&w, 0xC0FF);
	put16(&w, RR_NS);
	put16(&w, CLASS_IN);
	put32(&w, 0);
	put16(&w, 0);
	assert_int_equal(dns_request_parse(&req, w.b, w.n), E_MALFORMED);

	/* RDLENGTH one past the end. */
	put_query(&w, 1, 0, 0);
	put16(&w, 0xC00C);
	put16(&w, RR_A);
	put16(&w, CLASS_IN);
	put32(&w, 0);
	put16(&w, 5);
	put32(&w, 0x7F000001);
	assert_int_equal(dns_request_parse(&req, w.b, w.n), E_MALFORMED);
	w.n--;
	w.b[w.n - 4] = 3; /* RDLENGTH 3, exactly what is left */
	assert_int_equal(dns_request_parse(&req, w.b, w.n), E_OK);

	/* 65535 promised records, none present. */
	put_query(&w, 0xFFFF, 0xFFFF, 0xFFFF);
	assert_int_equal(dns_request_parse(&req, w.b, w.n), E_MALFORMED);
}

/* ---- writer ---- */

static const uint8_t query_question[] = {
	3, 'W', 'w', 'W', 7, 'E', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0, 0, 1, 0, 1,
};

static void parsed_query(dns_request_t *req)
{
	wbuf_t w;

	put_query(&w, 0, 0, 0);
	assert_int_equal(dns_request_parse(req, w.b, w.n), E_OK);
}

static void test_writer_begin(void **state)
{
	static const uint8_t hdr[] = { 0x12, 0x34, 0x81, 0x00, 0, 1, 0, 0, 0, 0, 0, 0 };
	static const uint8_t notify_hdr[] = { 0xAB, 0xCD, 0xA0, 0x00, 0, 0, 0, 0, 0, 0, 0, 0 };
	dns_request_t req;
	dns_writer_t w;
	uint8_t buf[512];

	(void)state;
	parsed_query(&req);
	assert_int_equal(dns_writer_begin(&w, buf, sizeof(buf), &req), E_OK);
	assert_int_equal(w.len, 33);
	assert_int_equal(w.qend, 33);
	assert_int_equal(w.reserved, 0);
	assert_int_equal(w.ncomp, 3);
	assert_int_equal(w.comp[0].off, 12);
	assert_int_equal(w.comp[0].labels, 3);
	assert_int_equal(w.comp[1].off, 16);
	assert_int_equal(w.comp[1].labels, 2);
	assert_int_equal(w.comp[2].off, 24);
	assert_int_equal(w.comp[2].labels, 1);
	assert_int_equal(dns_writer_finish(&w), 33);
	assert_memory_equal(buf, hdr, sizeof(hdr));
	assert_memory_equal(buf + 12, query_question, sizeof(query_question));

	/* Only id, opcode and RD are copied: not AA, TC, CD, AD, RCODE. */
	req.id = 0xABCD;
	req.opcode = OPCODE_NOTIFY;
	req.flags = (uint16_t)(OPCODE_NOTIFY << 11) | DNS_FLAG_AA | DNS_FLAG_TC | DNS_FLAG_CD |
		    DNS_FLAG_AD | 5;
	req.qname_len = 0;
	assert_int_equal(dns_writer_begin(&w, buf, sizeof(buf), &req), E_OK);
	assert_int_equal(dns_writer_finish(&w), 12);
	assert_memory_equal(buf, notify_hdr, sizeof(notify_hdr));

	/* No request at all. */
	memset(buf, 0xEE, sizeof(buf));
	assert_int_equal(dns_writer_begin(&w, buf, sizeof(buf), NULL), E_OK);
	assert_int_equal(dns_writer_finish(&w), 12);
	assert_memory_equal(buf, "\0\0\x80\0\0\0\0\0\0\0\0\0", 12);
	assert_int_equal(w.ncomp, 0);

	/* Too small for the header, or for the question. */
	parsed_query(&req);
	assert_int_equal(dns_writer_begin(&w, buf, 11, &req), E_TRUNC);
	assert_int_equal(dns_writer_begin(&w, buf, 32, &req), E_TRUNC);
	assert_int_equal(dns_writer_begin(&w, buf, 33, &req), E_OK);
}

static void test_writer_flags(void **state)
{
	dns_request_t req;
	dns_writer_t w;
	uint8_t buf[512];

	(void)state;
	parsed_query(&req);
	assert_int_equal(dns_writer_begin(&w, buf, sizeof(buf), &req), E_OK);
	dns_writer_flags(&w, DNS_FLAG_AA | DNS_FLAG_TC, 0);
	assert_int_equal(dns_u16(buf + 2), 0x8700);
	dns_writer_flags(&w, 0, DNS_FLAG_TC | DNS_FLAG_RD);
	assert_int_equal(dns_u16(buf + 2), 0x8400);
	dns_writer_rcode(&w, RCODE_NXDOMAIN);
	assert_int_equal(dns_u16(buf + 2), 0x8403);
	dns_writer_rcode(&w, RCODE_BADVERS); /* only the low 4 bits live in the header */
	assert_int_equal(dns_u16(buf + 2), 0x8400);
}

static void test_writer_compression(void **state)
{
	static const uint8_t soa_rdata[] = {
		3,   'n', 's', '1', 7,   'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm',
		0,   10,  'h', 'o', 's', 't', 'm', 'a', 's', 't', 'e', 'r', 7, 'e', 'x', 'a',
		'm', 'p', 'l', 'e', 3,   'c', 'o', 'm', 0,   0,   0,   0,   1, 0,   0,   0,
		2,   0,   0,   0,   3,   0,   0,   0,   4,   0,   0,   0,   5,
	};
	static const uint8_t srv_rdata[] = {
		0,   10,  0,   5,   0x13, 0xC4, 3, 's', 'i', 'p', 7, 'e',
		'x', 'a', 'm', 'p', 'l',  'e',  3, 'c', 'o', 'm', 0,
	};
	static const uint8_t expect[] = {
		/* 0: header: QR RD, QD 1, AN 4, NS 2, AR 0 */
		0x12,
		0x34,
		0x81,
		0x00,
		0,
		1,
		0,
		4,
		0,
		2,
		0,
		0,
		/* 12: question, as the client wrote it */
		3,
		'W',
		'w',
		'W',
		7,
		'E',
		'x',
		'a',
		'm',
		'p',
		'l',
		'e',
		3,
		'c',
		'o',
		'm',
		0,
		0,
		1,
		0,
		1,
		/* 33: www.example.com A: owner is the question name */
		0xC0,
		0x0C,
		0,
		1,
		0,
		1,
		0,
		0,
		0x0E,
		0x10,
		0,
		4,
		192,
		0,
		2,
		1,
		/* 49: example.com MX 10 mail.example.com: both names compressed to 16 */
		0xC0,
		0x10,
		0,
		15,
		0,
		1,
		0,
		0,
		0x0E,
		0x10,
		0,
		9,
		0,
		10,
		4,
		'm',
		'a',
		'i',
		'l',
		0xC0,
		0x10,
		/* 70: _sip._tcp.example.com SRV 10 5 5060 sip.example.com: target verbatim */
		4,
		'_',
		's',
		'i',
		'p',
		4,
		'_',
		't',
		'c',
		'p',
		0xC0,
		0x10,
		0,
		33,
		0,
		1,
		0,
		0,
		0x0E,
		0x10,
		0,
		23,
		0,
		10,
		0,
		5,
		0x13,
		0xC4,
		3,
		's',
		'i',
		'p',
		7,
		'e',
		'x',
		'a',
		'm',
		'p',
		'l',
		'e',
		3,
		'c',
		'o',
		'm',
		0,
		/* 115: sip.example.com CNAME _sip._tcp.example.com: SRV target was not remembered */
		3,
		's',
		'i',
		'p',
		0xC0,
		0x10,
		0,
		5,
		0,
		1,
		0,
		0,
		0x0E,
		0x10,
		0,
		2,
		0xC0,
		70,
		/* 133: example.com SOA ns1.example.com. hostmaster.example.com. 1 2 3 4 5 */
		0xC0,
		0x10,
		0,
		6,
		0,
		1,
		0,
		0,
		0x0E,
		0x10,
		0,
		39,
		3,
		'n',
		's',
		'1',
		0xC0,
		0x10,
		10,
		'h',
		'o',
		's',
		't',
		'm',
		'a',
		's',
		't',
		'e',
		'r',
		0xC0,
		0x10,
		0,
		0,
		0,
		1,
		0,
		0,
		0,
		2,
		0,
		0,
		0,
		3,
		0,
		0,
		0,
		4,
		0,
		0,
		0,
		5,
		/* 184: EXAMPLE.COM NS NS1.example.com: case-insensitive matches */
		0xC0,
		0x10,
		0,
		2,
		0,
		1,
		0,
		0,
		0x0E,
		0x10,
		0,
		2,
		0xC0,
		145,
	};
	dns_request_t req;
	dns_writer_t w;
	dns_request_t back;
	uint8_t buf[512];

	(void)state;
	parsed_query(&req);
	assert_int_equal(dns_writer_begin(&w, buf, sizeof(buf), &req), E_OK);
	assert_int_equal(dns_writer_rr(&w, DNS_AN, N("\3www\7example\3com"), RR_A, CLASS_IN, 3600,
				       N("\300\000\002\001"), 4),
			 E_OK);
	assert_int_equal(dns_writer_rr(&w, DNS_AN, N("\7example\3com"), RR_MX, CLASS_IN, 3600,
				       N("\000\012\4mail\7example\3com"), 20),
			 E_OK);
	assert_int_equal(dns_writer_rr(&w, DNS_AN, N("\4_sip\4_tcp\7example\3com"), RR_SRV,
				       CLASS_IN, 3600, srv_rdata, sizeof(srv_rdata)),
			 E_OK);
	assert_int_equal(dns_writer_rr(&w, DNS_AN, N("\3sip\7example\3com"), RR_CNAME, CLASS_IN,
				       3600, N("\4_sip\4_tcp\7example\3com"), 23),
			 E_OK);
	assert_int_equal(dns_writer_rr(&w, DNS_NS, N("\7example\3com"), RR_SOA, CLASS_IN, 3600,
				       soa_rdata, sizeof(soa_rdata)),
			 E_OK);
	assert_int_equal(dns_writer_rr(&w, DNS_NS, N("\7EXAMPLE\3COM"), RR_NS, CLASS_IN, 3600,
				       N("\3NS1\7example\3com"), 17),
			 E_OK);
	assert_int_equal(w.count[DNS_AN], 4);
	assert_int_equal(w.count[DNS_NS], 2);
	assert_int_equal(dns_writer_finish(&w), sizeof(expect));
	assert_memory_equal(buf, expect, sizeof(expect));

	/* The result parses, and every name reads back as written. */
	assert_int_equal(dns_request_parse(&back, buf, w.len), E_OK);
	assert_int_equal(back.end, sizeof(expect));
}

static void test_writer_rdata_names(void **state)
{
	static const uint8_t expect[] = {
		/* 33: example.com MINFO: rmailbx compressed, emailbx compressed against it */
		0xC0,
		0x10,
		0,
		14,
		0,
		1,
		0,
		0,
		0,
		60,
		0,
		10,
		5,
		'a',
		'd',
		'm',
		'i',
		'n',
		0xC0,
		0x10,
		0xC0,
		45,
		/* 55: a PTR whose RDATA is the root */
		0xC0,
		0x10,
		0,
		12,
		0,
		1,
		0,
		0,
		0,
		60,
		0,
		1,
		0,
		/* 68: an MX whose RDATA does not parse: copied as it is */
		0xC0,
		0x10,
		0,
		15,
		0,
		1,
		0,
		0,
		0,
		60,
		0,
		3,
		0,
		1,
		0x41,
		/* 83: an NS with trailing octets: copied as it is */
		0xC0,
		0x10,
		0,
		2,
		0,
		1,
		0,
		0,
		0,
		60,
		0,
		4,
		1,
		'a',
		0,
		0xFF,
	};
	dns_request_t req;
	dns_writer_t w;
	uint8_t buf[512];

	(void)state;
	parsed_query(&req);
	assert_int_equal(dns_writer_begin(&w, buf, sizeof(buf), &req), E_OK);
	assert_int_equal(dns_writer_rr(&w, DNS_AN, N("\7example\3com"), RR_MINFO, CLASS_IN, 60,
				       N("\5admin\7example\3com\0\5admin\7example\3com"), 38),
			 E_OK);
	assert_int_equal(
		dns_writer_rr(&w, DNS_AN, N("\7example\3com"), RR_PTR, CLASS_IN, 60, N(""), 1),
		E_OK);
	assert_int_equal(dns_writer_rr(&w, DNS_AN, N("\7example\3com"), RR_MX, CLASS_IN, 60,
				       N("\000\001\101"), 3),
			 E_OK);
	assert_int_equal(dns_writer_rr(&w, DNS_AN, N("\7example\3com"), RR_NS, CLASS_IN, 60,
				       N("\1a\000\377"), 4),
			 E_OK);
	assert_int_equal(w.len, 33 + sizeof(expect));
	assert_memory_equal(buf + 33, expect, sizeof(expect));
}

/* Everything that makes up the writer's state, and the whole buffer. */
typedef struct snapshot {
	dns_writer_t w;
	uint8_t buf[256];
} snapshot_t;

static void snap(snapshot_t *s, const dns_writer_t *w, const uint8_t *buf)
{
	s->w = *w;
	memcpy(s->buf, buf, sizeof(s->buf));
}

static void assert_unchanged(const snapshot_t *s, const dns_writer_t *w, const uint8_t *buf)
{
	assert_int_equal(w->len, s->w.len);
	assert_int_equal(w->reserved, s->w.reserved);
	assert_int_equal(w->count[0], s->w.count[0]);
	assert_int_equal(w->count[1], s->w.count[1]);
	assert_int_equal(w->count[2], s->w.count[2]);
	assert_int_equal(w->ncomp, s->w.ncomp);
	assert_memory_equal(w->comp, s->w.comp, sizeof(w->comp[0]) * w->ncomp);
	assert_memory_equal(buf, s->buf, sizeof(s->buf));
}

static const uint8_t soa_rdata_1[] = {
	3,   'n', 's', '1', 7,   'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm',
	0,   10,  'h', 'o', 's', 't', 'm', 'a', 's', 't', 'e', 'r', 7, 'e', 'x', 'a',
	'm', 'p', 'l', 'e', 3,   'c', 'o', 'm', 0,   0,   0,   0,   1, 0,   0,   0,
	2,   0,   0,   0,   3,   0,   0,   0,   4,   0,   0,   0,   5,
};

static void test_writer_trunc_rollback(void **state)
{
	static const uint8_t expect[] = {
		/* 33 */
		0xC0,
		0x0C,
		0,
		1,
		0,
		1,
		0,
		0,
		0,
		60,
		0,
		4,
		10,
		0,
		0,
		1,
		/* 49: ns1.example.com A: not compressed against the rolled-back SOA MNAME */
		3,
		'n',
		's',
		'1',
		0xC0,
		0x10,
		0,
		1,
		0,
		1,
		0,
		0,
		0,
		60,
		0,
		4,
		10,
		0,
		0,
		2,
	};
	dns_request_t req;
	dns_writer_t w;
	uint8_t buf[256];
	snapshot_t s;

	(void)state;
	parsed_query(&req);
	memset(buf, 0x5A, sizeof(buf));
	/* Room for the A record and 20 more octets. */
	assert_int_equal(dns_writer_begin(&w, buf, 33 + 16 + 20, &req), E_OK);
	assert_int_equal(dns_writer_rr(&w, DNS_AN, N("\3www\7example\3com"), RR_A, CLASS_IN, 60,
				       N("\12\0\0\1"), 4),
			 E_OK);
	snap(&s, &w, buf);

	/* RDATA copied verbatim: 2 + 10 + 9 > 20. */
	assert_int_equal(dns_writer_rr(&w, DNS_AN, N("\7example\3com"), RR_TXT, CLASS_IN, 60,
				       N("\10abcdefgh"), 9),
			 E_TRUNC);
	assert_unchanged(&s, &w, buf);

	/* MX compressed is 21 octets: one too many, found only after the owner is written. */
	assert_int_equal(dns_writer_rr(&w, DNS_AN, N("\7example\3com"), RR_MX, CLASS_IN, 60,
				       N("\000\012\4mail\7example\3com"), 20),
			 E_TRUNC);
	assert_unchanged(&s, &w, buf);

	/* SOA: owner and MNAME (remembered for compression) fit; RNAME does not. */
	assert_int_equal(dns_writer_rr(&w, DNS_NS, N("\7example\3com"), RR_SOA, CLASS_IN, 60,
				       soa_rdata_1, sizeof(soa_rdata_1)),
			 E_TRUNC);
	assert_unchanged(&s, &w, buf);

	/* Exactly the 20 octets left; the octets past the limit are never touched. */
	assert_int_equal(dns_writer_rr(&w, DNS_AN, N("\3ns1\7example\3com"), RR_A, CLASS_IN, 60,
				       N("\12\0\0\2"), 4),
			 E_OK);
	assert_int_equal(w.len, 69);
	assert_memory_equal(buf + 33, expect, sizeof(expect));
	assert_int_equal(buf[69], 0x5A);

	/* Full: even an empty record does not fit; the counts are untouched. */
	snap(&s, &w, buf);
	assert_int_equal(dns_writer_rr(&w, DNS_AR, N(""), RR_TXT, CLASS_IN, 0, NULL, 0), E_TRUNC);
	assert_unchanged(&s, &w, buf);
	assert_int_equal(dns_writer_finish(&w), 69);
	assert_int_equal(dns_u16(buf + 6), 2);
}

static void test_writer_compressed_fits(void **state)
{
	static const uint8_t expect[] = {
		0xC0, 0x10, 0,  15, 0,   1,   0,   0,   0,    60,   0,
		9,    0,    10, 4,  'm', 'a', 'i', 'l', 0xC0, 0x10,
	};
	dns_request_t req;
	dns_writer_t w;
	uint8_t buf[256];

	(void)state;
	parsed_query(&req);
	memset(buf, 0x5A, sizeof(buf));
	/* 21 octets compressed; 13 + 10 + 20 = 43 uncompressed. */
	assert_int_equal(dns_writer_begin(&w, buf, 33 + 21, &req), E_OK);
	assert_int_equal(dns_writer_rr(&w, DNS_AN, N("\7example\3com"), RR_MX, CLASS_IN, 60,
				       N("\000\012\4mail\7example\3com"), 20),
			 E_OK);
	assert_int_equal(w.len, 54);
	assert_memory_equal(buf + 33, expect, sizeof(expect));
	assert_int_equal(buf[54], 0x5A);
}

static void test_writer_opt_reserved(void **state)
{
	static const uint8_t expect[] = {
		/* header: AN 1, AR 1 */
		0x12,
		0x34,
		0x81,
		0x00,
		0,
		1,
		0,
		1,
		0,
		0,
		0,
		1,
		3,
		'W',
		'w',
		'W',
		7,
		'E',
		'x',
		'a',
		'm',
		'p',
		'l',
		'e',
		3,
		'c',
		'o',
		'm',
		0,
		0,
		1,
		0,
		1,
		0xC0,
		0x0C,
		0,
		1,
		0,
		1,
		0,
		0,
		0,
		60,
		0,
		4,
		10,
		0,
		0,
		1,
		/* OPT: root, type 41, payload 1232, ext-rcode 1, version 0, DO */
		0,
		0,
		41,
		0x04,
		0xD0,
		1,
		0,
		0x80,
		0,
		0,
		0,
	};
	dns_request_t req;
	dns_writer_t w;
	uint8_t buf[256];
	snapshot_t s;

	(void)state;
	parsed_query(&req);
	memset(buf, 0x5A, sizeof(buf));
	assert_int_equal(dns_writer_begin(&w, buf, 33 + 16 + DNS_OPT_LEN, &req), E_OK);
	dns_writer_reserve(&w, DNS_OPT_LEN);
	assert_int_equal(w.reserved, DNS_OPT_LEN);
	assert_int_equal(dns_writer_rr(&w, DNS_AN, N("\3www\7example\3com"), RR_A, CLASS_IN, 60,
				       N("\12\0\0\1"), 4),
			 E_OK);
	/* The next record would fit the buffer, but not outside the reserved room. */
	snap(&s, &w, buf);
	assert_int_equal(dns_writer_rr(&w, DNS_AN, N("\3www\7example\3com"), RR_A, CLASS_IN, 60,
				       N("\12\0\0\2"), 4),
			 E_TRUNC);
	assert_unchanged(&s, &w, buf);
	assert_int_equal(dns_writer_rr(&w, DNS_AR, N(""), RR_TXT, CLASS_IN, 0, NULL, 0), E_TRUNC);

	assert_int_equal(dns_writer_opt(&w, DNS_UDP_DEFAULT, 1, true), E_OK);
	assert_int_equal(w.reserved, 0);
	assert_int_equal(w.count[DNS_AR], 1);
	assert_int_equal(dns_writer_finish(&w), sizeof(expect));
	assert_memory_equal(buf, expect, sizeof(expect));
	assert_int_equal(buf[sizeof(expect)], 0x5A);

	/* No room for a second one. */
	assert_int_equal(dns_writer_opt(&w, 512, 0, false), E_TRUNC);
	assert_int_equal(w.len, sizeof(expect));
	assert_int_equal(w.count[DNS_AR], 1);

	/* Without DO or extended RCODE; a larger reservation shrinks by the OPT only. */
	assert_int_equal(dns_writer_begin(&w, buf, sizeof(buf), &req), E_OK);
	dns_writer_reserve(&w, 100);
	assert_int_equal(dns_writer_opt(&w, 512, 0, false), E_OK);
	assert_int_equal(w.reserved, 100 - DNS_OPT_LEN);
	assert_memory_equal(buf + 33, "\0\0\51\2\0\0\0\0\0\0\0", DNS_OPT_LEN);
}

static void test_writer_clear_records(void **state)
{
	static const uint8_t mx[] = {
		0xC0, 0x10, 0,  15, 0,   1,   0,   0,   0,    60,   0,
		9,    0,    10, 4,  'm', 'a', 'i', 'l', 0xC0, 0x10,
	};
	static const uint8_t mail_a[] = {
		4, 'm', 'a', 'i', 'l', 0xC0, 0x10, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 10, 0, 0, 3,
	};
	dns_request_t req;
	dns_writer_t w;
	uint8_t buf[512];

	(void)state;
	parsed_query(&req);
	assert_int_equal(dns_writer_begin(&w, buf, sizeof(buf), &req), E_OK);
	assert_int_equal(dns_writer_rr(&w, DNS_AN, N("\7example\3com"), RR_MX, CLASS_IN, 60,
				       N("\000\012\4mail\7example\3com"), 20),
			 E_OK);
	assert_int_equal(dns_writer_rr(&w, DNS_AR, N("\4mail\7example\3com"), RR_A, CLASS_IN, 60,
				       N("\12\0\0\3"), 4),
			 E_OK);
	assert_int_equal(w.len, 33 + 21 + 16);
	assert_int_equal(w.ncomp, 4);

	dns_writer_clear_records(&w);
	assert_int_equal(w.len, 33);
	assert_int_equal(w.count[DNS_AN], 0);
	assert_int_equal(w.count[DNS_AR], 0);
	assert_int_equal(w.ncomp, 3);
	/* mail.example.com is no longer known: written literally, at the same place. */
	assert_int_equal(dns_writer_rr(&w, DNS_AR, N("\4mail\7example\3com"), RR_A, CLASS_IN, 60,
				       N("\12\0\0\3"), 4),
			 E_OK);
	assert_memory_equal(buf + 33, mail_a, sizeof(mail_a));
	dns_writer_clear_records(&w);
	assert_int_equal(dns_writer_rr(&w, DNS_AN, N("\7example\3com"), RR_MX, CLASS_IN, 60,
				       N("\000\012\4mail\7example\3com"), 20),
			 E_OK);
	assert_memory_equal(buf + 33, mx, sizeof(mx));
	dns_writer_flags(&w, DNS_FLAG_TC, 0);
	dns_writer_clear_records(&w);
	assert_int_equal(dns_writer_finish(&w), 33);
	assert_memory_equal(buf, "\x12\x34\x83\x00\0\1\0\0\0\0\0\0", 12);
}

static void test_writer_mark_rollback(void **state)
{
	dns_request_t req;
	dns_writer_t w;
	dns_writer_mark_t m;
	uint8_t buf[512];

	(void)state;
	parsed_query(&req);
	assert_int_equal(dns_writer_begin(&w, buf, sizeof(buf), &req), E_OK);
	dns_writer_mark(&w, &m);
	assert_int_equal(dns_writer_rr(&w, DNS_AN, N("\1a\7example\3com"), RR_A, CLASS_IN, 60,
				       N("\12\0\0\3"), 4),
			 E_OK);
	assert_int_equal(w.ncomp, 4);
	dns_writer_rollback(&w, &m);
	assert_int_equal(w.len, 33);
	assert_int_equal(w.count[DNS_AN], 0);
	assert_int_equal(w.ncomp, 3);
}

/* ---- writer: many names, read back ---- */

/* Skip one RR of a message we wrote, reading its owner and (for NS) its RDATA name. */
static size_t read_rr(const uint8_t *buf, size_t len, size_t pos, uint8_t *owner, uint8_t *target)
{
	uint16_t type;
	uint16_t rdlen;
	size_t rd;

	assert_true(dname_unpack(buf, len, &pos, owner) > 0);
	type = dns_u16(buf + pos);
	rdlen = dns_u16(buf + pos + 8);
	rd = pos + 10;
	if (type == RR_NS) {
		size_t p = rd;

		assert_true(dname_unpack(buf, len, &p, target) > 0);
		assert_int_equal(p, rd + rdlen);
	}
	return rd + rdlen;
}

static void random_name(uint8_t *out, unsigned *seed)
{
	static const char *labels[] = { "www", "example", "com", "a", "b", "mail", "ns1", "x" };
	int n = 1 + rand_r(seed) % 5;
	size_t p = 0;

	for (int i = 0; i < n; i++) {
		const char *l = labels[rand_r(seed) % 8];
		size_t ll = strlen(l);

		out[p++] = (uint8_t)ll;
		for (size_t k = 0; k < ll; k++) {
			char c = l[k];

			out[p++] = (uint8_t)((rand_r(seed) & 1) ? c - 32 : c);
		}
	}
	out[p] = 0;
}

static void test_writer_random_round_trip(void **state)
{
	enum { RECORDS = 60, ROUNDS = 300 };
	static uint8_t owners[RECORDS][DNAME_MAX];
	static uint8_t targets[RECORDS][DNAME_MAX];
	static uint8_t buf[DNS_TCP_MAX];
	unsigned seed = 12345;
	dns_request_t req;
	dns_writer_t w;

	(void)state;
	parsed_query(&req);
	for (int round = 0; round < ROUNDS; round++) {
		size_t pos;

		assert_int_equal(dns_writer_begin(&w, buf, sizeof(buf), &req), E_OK);
		for (int i = 0; i < RECORDS; i++) {
			random_name(owners[i], &seed);
			random_name(targets[i], &seed);
			assert_int_equal(dns_writer_rr(&w, (enum dns_section)(i % 3), owners[i],
						       RR_NS, CLASS_IN, 60, targets[i],
						       (uint16_t)dname_len(targets[i])),
					 E_OK);
			assert_true(w.ncomp <= DNS_COMP_MAX);
		}
		dns_writer_finish(&w);
		pos = w.qend;
		for (int i = 0; i < RECORDS; i++) {
			uint8_t o[DNAME_MAX];
			uint8_t t[DNAME_MAX];

			pos = read_rr(buf, w.len, pos, o, t);
			assert_true(dname_equal(o, owners[i]));
			assert_true(dname_equal(t, targets[i]));
		}
		assert_int_equal(pos, w.len);
	}
}

/* Names written past offset 0x3FFF cannot be pointed to and are not remembered. */
static void test_writer_far_offsets(void **state)
{
	static uint8_t buf[DNS_TCP_MAX];
	static uint8_t rdata[4000];
	dns_request_t req;
	dns_writer_t w;
	uint8_t name[DNAME_MAX];
	size_t pos;
	uint8_t ncomp;

	(void)state;
	parsed_query(&req);
	memset(rdata, 0x33, sizeof(rdata));
	assert_int_equal(dns_writer_begin(&w, buf, sizeof(buf), &req), E_OK);
	/* Padding to just below 0x3FFF. */
	for (int i = 0; i < 4; i++) {
		assert_int_equal(
			dns_writer_rr(&w, DNS_AN, N(""), RR_TXT, CLASS_IN, 0, rdata, sizeof(rdata)),
			E_OK);
	}
	assert_int_equal(w.len, 33 + 4 * (11 + 4000));
	ncomp = w.ncomp;
	/* x.y at 16077 and y at 16079 are remembered; the padding then passes 0x3FFF. */
	assert_int_equal(dns_writer_rr(&w, DNS_AN, N("\1x\1y"), RR_TXT, CLASS_IN, 0, rdata, 300),
			 E_OK);
	assert_true(w.len > 0x3FFF);
	assert_int_equal(w.ncomp, ncomp + 2);
	ncomp = w.ncomp;
	assert_int_equal(dns_writer_rr(&w, DNS_AN, N("\4late\3one"), RR_TXT, CLASS_IN, 0, NULL, 0),
			 E_OK);
	assert_int_equal(w.ncomp, ncomp); /* nothing remembered */
	pos = w.len;
	assert_int_equal(dns_writer_rr(&w, DNS_AN, N("\4late\3one"), RR_TXT, CLASS_IN, 0, NULL, 0),
			 E_OK);
	/* Written literally again; x.y still compressed although the pointer is far back. */
	assert_memory_equal(buf + pos, "\4late\3one", 10);
	pos = w.len;
	assert_int_equal(dns_writer_rr(&w, DNS_AN, N("\1X\1Y"), RR_TXT, CLASS_IN, 0, NULL, 0),
			 E_OK);
	assert_int_equal(buf[pos], 0xC0 | (16077 >> 8));
	assert_int_equal(buf[pos + 1], 16077 & 0xFF);
	pos = w.len - 12;
	assert_int_equal(dname_unpack(buf, w.len, &pos, name), 5);
	assert_memory_equal(name, "\1x\1y", 5);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_query),
		cmocka_unit_test(test_parse_opcode),
		cmocka_unit_test(test_parse_edns_do),
		cmocka_unit_test(test_parse_edns_options),
		cmocka_unit_test(test_parse_edns_bad),
		cmocka_unit_test(test_parse_two_opts),
		cmocka_unit_test(test_parse_qdcount),
		cmocka_unit_test(test_parse_truncated),
		cmocka_unit_test(test_parse_bad_qname),
		cmocka_unit_test(test_parse_trailing),
		cmocka_unit_test(test_parse_tsig),
		cmocka_unit_test(test_parse_bad_records),
		cmocka_unit_test(test_writer_begin),
		cmocka_unit_test(test_writer_flags),
		cmocka_unit_test(test_writer_compression),
		cmocka_unit_test(test_writer_rdata_names),
		cmocka_unit_test(test_writer_trunc_rollback),
		cmocka_unit_test(test_writer_compressed_fits),
		cmocka_unit_test(test_writer_opt_reserved),
		cmocka_unit_test(test_writer_clear_records),
		cmocka_unit_test(test_writer_mark_rollback),
		cmocka_unit_test(test_writer_random_round_trip),
		cmocka_unit_test(test_writer_far_offsets),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
