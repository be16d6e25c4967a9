/*  libFuzzer target: the request parser, and the response writer on what it parsed.
 *
 *  Parse the input as a request. When it parses, write a response echoing the question with
 *  records whose owner and RDATA names are the question name or names found in the input (so
 *  names compress against each other, or almost), into a buffer whose size comes from the
 *  input (so records are cut off and rolled back), then an OPT. A rolled-back record must
 *  leave the writer and the buffer as they were; the response must parse again and every
 *  name must read back as written.
 *
 *  clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -I. \
 *        tests/fuzz/fuzz_packet.c dns/name.c dns/pkt.c dns/err.c dns/log.c -o build/fuzz_packet
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dns/err.h"
#include "dns/name.h"
#include "dns/pkt.h"
#include "dns/rrtype.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)              \
	do {                     \
		if (!(cond)) {   \
			abort(); \
		}                \
	} while (0)

enum { MAX_RR = 12, MAX_NAMES = 8 };

typedef struct written {
	uint16_t type;
	const uint8_t *owner;
	const uint8_t *names[2];
	int nnames;
	size_t head; /* octets before the first RDATA name */
} written_t;

/* Names: text form round trip and the case-insensitive helpers. */
static void check_names(const dns_request_t *req)
{
	char text[DNAME_STR_MAX];
	uint8_t back[DNAME_MAX];
	int n;

	CHECK(dname_check(req->qname, DNAME_MAX) == req->qname_len);
	CHECK(dname_equal(req->qname, req->qname_lc));
	CHECK(dname_cmp(req->qname, req->qname_lc) == 0);
	CHECK(dname_hash(req->qname) == dname_hash(req->qname_lc));
	CHECK(dname_is_sub(req->qname, req->qname_lc));
	if (dname_parent(req->qname_lc) != NULL) {
		CHECK(dname_is_sub(req->qname, dname_parent(req->qname_lc)));
		CHECK(dname_cmp(dname_parent(req->qname), req->qname) < 0);
	}
	n = dname_to_str(text, sizeof(text), req->qname);
	CHECK(n > 0);
	CHECK(dname_from_str(back, text, NULL) == req->qname_len);
	CHECK(memcmp(back, req->qname, req->qname_len) == 0);
}

/* Read back every RR written, checking the names. */
static void check_response(const uint8_t *buf, size_t len, const dns_request_t *req,
			   const written_t *rr, int nrr)
{
	dns_request_t back;
	size_t pos;

	CHECK(dns_request_parse(&back, buf, len) == E_OK);
	CHECK(back.qname_len == req->qname_len);
	CHECK(memcmp(back.qname, req->qname, req->qname_len) == 0);
	CHECK(back.qtype == req->qtype && back.qclass == req->qclass);
	CHECK(back.id == req->id);
	pos = back.question_end;
	for (int i = 0; i < nrr; i++) {
		uint8_t name[DNAME_MAX];
		size_t rd;
		size_t p;
		uint16_t rdlen;

		CHECK(dname_unpack(buf, len, &pos, name) > 0);
		CHECK(dname_equal(name, rr[i].owner));
		CHECK(dns_u16(buf + pos) == rr[i].type);
		rdlen = dns_u16(buf + pos + 8);
		rd = pos + 10;
		p = rd + rr[i].head;
		for (int k = 0; k < rr[i].nnames; k++) {
			CHECK(dname_unpack(buf, len, &p, name) > 0);
			CHECK(dname_equal(name, rr[i].names[k]));
		}
		pos = rd + rdlen;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t buf[DNS_TCP_MAX];
	static uint8_t copy[DNS_TCP_MAX];
	static uint8_t pool[MAX_NAMES][DNAME_MAX];
	dns_writer_t before;
	const uint8_t *names[MAX_NAMES + 2];
	int nnames = 0;
	uint8_t scratch[DNAME_MAX];
	uint8_t rdata[2 + 2 * DNAME_MAX + 20];
	written_t rr[MAX_RR];
	dns_request_t req;
	dns_writer_t w;
	size_t cap;
	int nrr = 0;
	int ret;

	/* The name reader on its own, from every offset. */
	for (size_t i = 0; i < size && i < 512; i++) {
		size_t pos = i;

		ret = dname_unpack(data, size, &pos, scratch);
		if (ret > 0) {
			CHECK(dname_check(scratch, DNAME_MAX) == ret);
			CHECK(pos > i && pos <= size);
			/* Keep a few for the writer, so that names differ and share suffixes. */
			if (nnames < MAX_NAMES && ret > 1 && (data[i] & 0xC0) != 0xC0) {
				memcpy(pool[nnames], scratch, (size_t)ret);
				names[nnames] = pool[nnames];
				nnames++;
			}
		}
	}

	ret = dns_request_parse(&req, data, size);
	if (ret == E_TRUNC) {
		CHECK(size < DNS_HDR_LEN);
		return 0;
	}
	CHECK(req.end <= size);
	if (ret == E_OK) {
		CHECK(req.end == size);
	}
	if (req.qname_len == 0) {
		return 0;
	}
	check_names(&req);

	/* Room for the question and the OPT, and up to 699 octets more (from the input). */
	cap = DNS_HDR_LEN + req.qname_len + 4 + DNS_OPT_LEN + (size_t)(req.id % 700);
	CHECK(dns_writer_begin(&w, buf, cap, &req) == E_OK);
	dns_writer_reserve(&w, DNS_OPT_LEN);
	names[nnames++] = req.qname;
	names[nnames++] = req.qname_lc;

	/* CNAME, MX, SOA (names compressed) and SRV (copied as it is), in turn. */
	for (int i = 0; i < MAX_RR; i++) {
		written_t *r = &rr[nrr];
		uint16_t rdlen = 0;
		uint8_t pick = data[(size_t)i * 7 % size];
		const uint8_t *owner = names[pick % nnames];
		const uint8_t *n1 = names[(pick >> 3) % nnames];
		const uint8_t *n2 = names[(pick >> 5) % nnames];
		size_t l1 = dname_len(n1);
		size_t l2 = dname_len(n2);

		memset(r, 0, sizeof(*r));
		r->owner = owner;
		switch (i % 4) {
		case 0:
			r->type = RR_CNAME;
			memcpy(rdata, n1, l1);
			rdlen = (uint16_t)l1;
			r->nnames = 1;
			r->names[0] = n1;
			break;
		case 1:
			r->type = RR_MX;
			dns_put16(rdata, 10);
			memcpy(rdata + 2, n1, l1);
			rdlen = (uint16_t)(l1 + 2);
			r->head = 2;
			r->nnames = 1;
			r->names[0] = n1;
			break;
		case 2:
			r->type = RR_SOA;
			memcpy(rdata, n1, l1);
			memcpy(rdata + l1, n2, l2);
			memset(rdata + l1 + l2, 0x42, 20);
			rdlen = (uint16_t)(l1 + l2 + 20);
			r->nnames = 2;
			r->names[0] = n1;
			r->names[1] = n2;
			break;
		default:
			r->type = RR_SRV;
			memset(rdata, 0, 6);
			memcpy(rdata + 6, n1, l1);
			rdlen = (uint16_t)(l1 + 6);
			break;
		}
		before = w;
		memcpy(copy, buf, cap);
		ret = dns_writer_rr(&w, (enum dns_section)(i % 3), owner, r->type, CLASS_IN, 300,
				    rdata, rdlen);
		CHECK(ret == E_OK || ret == E_TRUNC);
		if (ret == E_TRUNC) {
			/* Rolled back: the writer and the whole buffer are as they were. */
			CHECK(w.len == before.len && w.ncomp == before.ncomp);
			CHECK(memcmp(w.count, before.count, sizeof(w.count)) == 0);
			CHECK(memcmp(w.comp, before.comp, sizeof(w.comp[0]) * w.ncomp) == 0);
			CHECK(memcmp(copy, buf, cap) == 0);
		}
		CHECK(w.len <= cap - DNS_OPT_LEN);
		if (ret == E_OK) {
			nrr++;
		}
	}
	/* None of these types is OPT or TSIG, so spreading them over the sections is fine. */
	if (req.edns.present) {
		CHECK(dns_writer_opt(&w, DNS_UDP_DEFAULT, 0, req.edns.do_bit) == E_OK);
	}
	dns_writer_finish(&w);
	check_response(buf, w.len, &req, rr, nrr);

	dns_writer_clear_records(&w);
	CHECK(w.len == w.qend);
	CHECK(dns_writer_finish(&w) == w.qend);
	check_response(buf, w.len, &req, rr, 0);
	return 0;
}
