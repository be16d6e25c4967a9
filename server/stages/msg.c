/*  Signet: reading and re-writing a finished response (see msg.h). */
#include "server/stages/msg.h"

#include <string.h>

#include "dns/err.h"
#include "dns/rdata.h"
#include "dns/rrtype.h"

#define RR_FIXED_LEN 10
#define COMP_PTR     0xC0

/* The RDATA the stages read and rewrite names in: every type with names at fixed places
 * (not A6, nor SIG, RRSIG and NXT, whose tails are opaque). */
static bool rd_layout(uint16_t type, dns_rdata_layout_t *l)
{
	return dns_rdata_layout(type, l) && !l->a6 && l->tail != DNS_RDATA_TAIL_ANY;
}

int msg_parse(msg_t *m, const uint8_t *wire, size_t len)
{
	uint8_t name[DNAME_MAX];
	size_t pos = DNS_HDR_LEN;

	m->wire = wire;
	m->len = len;
	m->nrr = 0;
	if (len < DNS_HDR_LEN || dns_u16(wire + 4) != 1) {
		return E_MALFORMED;
	}
	m->count[0] = dns_u16(wire + 6);
	m->count[1] = dns_u16(wire + 8);
	m->count[2] = dns_u16(wire + 10);
	if (dname_unpack(wire, len, &pos, name) < 0 || len - pos < 4) {
		return E_MALFORMED;
	}
	pos += 4;
	m->qend = pos;
	int total = m->count[0] + m->count[1] + m->count[2];
	if (total > MSG_RR_MAX) {
		return E_NOTSUP;
	}
	for (int i = 0; i < total; i++) {
		msg_rr_t *r = &m->rr[i];
		r->off = (uint16_t)pos;
		if (dname_unpack(wire, len, &pos, name) < 0 || len - pos < RR_FIXED_LEN) {
			return E_MALFORMED;
		}
		r->type = dns_u16(wire + pos);
		r->rclass = dns_u16(wire + pos + 2);
		r->ttl = dns_u32(wire + pos + 4);
		r->rdlen = dns_u16(wire + pos + 8);
		r->rdoff = (uint16_t)(pos + RR_FIXED_LEN);
		r->sec = (uint8_t)(i < m->count[0]                 ? DNS_AN
				   : i < m->count[0] + m->count[1] ? DNS_NS
								   : DNS_AR);
		if (len - r->rdoff < r->rdlen) {
			return E_MALFORMED;
		}
		pos = (size_t)r->rdoff + r->rdlen;
	}
	m->nrr = total;
	return pos == len ? E_OK : E_MALFORMED;
}

bool msg_name_points_into(const uint8_t *wire, size_t len, size_t off, size_t lo, size_t hi)
{
	/* Our own message: pointers go backwards, so following one at a time ends. */
	for (int guard = 0; off < len && guard < 128; guard++) {
		uint8_t c = wire[off];
		if ((c & COMP_PTR) == COMP_PTR) {
			if (off + 1 >= len) {
				return false;
			}
			size_t target = ((size_t)(c & 0x3F) << 8) | wire[off + 1];
			if (target >= lo && target < hi) {
				return true;
			}
			if (target >= off) {
				return false;
			}
			off = target;
			continue;
		}
		if (c == 0) {
			return false;
		}
		off += (size_t)c + 1;
	}
	return false;
}

/* Offset just past the (possibly compressed) name at \a off, or 0. */
static size_t name_skip(const uint8_t *wire, size_t end, size_t off)
{
	while (off < end) {
		uint8_t c = wire[off];
		if ((c & COMP_PTR) == COMP_PTR) {
			return off + 2 <= end ? off + 2 : 0;
		}
		off += (size_t)c + 1;
		if (c == 0) {
			return off <= end ? off : 0;
		}
	}
	return 0;
}

bool msg_rr_points_into(const msg_t *m, const msg_rr_t *r, size_t lo, size_t hi)
{
	dns_rdata_layout_t l;
	if (msg_name_points_into(m->wire, m->len, r->off, lo, hi)) {
		return true;
	}
	if (!rd_layout(r->type, &l) || !l.compress) {
		return false;
	}
	size_t end = (size_t)r->rdoff + r->rdlen;
	size_t pos = (size_t)r->rdoff + l.head;
	for (int i = 0; i < l.names && pos > 0 && pos < end; i++) {
		if (msg_name_points_into(m->wire, m->len, pos, lo, hi)) {
			return true;
		}
		pos = name_skip(m->wire, end, pos);
	}
	return false;
}

/* RDATA of \a r with its names uncompressed (and changed by \a fn) into \a out;
 * returns the length, or -1. */
static int rdata_expand(const msg_t *m, const msg_rr_t *r, msg_name_fn fn, void *ud, uint8_t *out,
			size_t cap)
{
	dns_rdata_layout_t l;
	const uint8_t *rd = m->wire + r->rdoff;
	size_t end = (size_t)r->rdoff + r->rdlen;
	size_t pos = r->rdoff, n = 0;

	if (!rd_layout(r->type, &l) || r->rdlen < l.head) {
		if (r->rdlen > cap) {
			return -1;
		}
		memcpy(out, rd, r->rdlen);
		return r->rdlen;
	}
	memcpy(out, rd, l.head);
	n = l.head;
	pos += l.head;
	for (int i = 0; i < l.strings; i++) {
		if (pos >= end || pos + 1u + m->wire[pos] > end) {
			return -1;
		}
		size_t sl = 1u + m->wire[pos];
		memcpy(out + n, m->wire + pos, sl);
		n += sl;
		pos += sl;
	}
	for (int i = 0; i < l.names; i++) {
		uint8_t name[DNAME_MAX], mapped[DNAME_MAX];
		int nl = dname_unpack(m->wire, end, &pos, name);
		if (nl < 0) {
			return -1;
		}
		const uint8_t *use = name;
		if (fn != NULL && fn(ud, name, true, mapped)) {
			use = mapped;
		}
		size_t ul = dname_len(use);
		if (n + ul > cap) {
			return -1;
		}
		memcpy(out + n, use, ul);
		n += ul;
	}
	if (end - pos != l.tail || n + l.tail > cap) {
		return -1;
	}
	memcpy(out + n, m->wire + pos, l.tail);
	return (int)(n + l.tail);
}

int msg_rdata(const msg_t *m, const msg_rr_t *r, uint8_t *out, size_t cap)
{
	return rdata_expand(m, r, NULL, NULL, out, cap);
}

int msg_begin(const msg_t *m, const uint8_t *qname, dns_writer_t *w, uint8_t *out, size_t cap)
{
	dns_request_t req;
	size_t pos = DNS_HDR_LEN;

	memset(&req, 0, sizeof(req));
	req.id = dns_u16(m->wire);
	req.flags = dns_u16(m->wire + 2);
	req.opcode = (uint8_t)DNS_OPCODE(req.flags);
	int ql = dname_unpack(m->wire, m->len, &pos, req.qname);
	if (ql < 0) {
		return E_MALFORMED;
	}
	if (qname != NULL) {
		ql = (int)dname_len(qname);
		memcpy(req.qname, qname, (size_t)ql);
	}
	req.qname_len = (uint8_t)ql;
	req.qtype = dns_u16(m->wire + pos);
	req.qclass = dns_u16(m->wire + pos + 2);
	return dns_writer_begin(w, out, cap, &req);
}

int msg_write_rr(const msg_t *m, const msg_rr_t *r, msg_name_fn fn, void *ud, dns_writer_t *w)
{
	uint8_t owner[DNAME_MAX], mapped[DNAME_MAX];
	uint8_t rdata[2 + 3 * 256 + 2 * DNAME_MAX + 64];
	size_t op = r->off;
	dns_rdata_layout_t l;

	if (dname_unpack(m->wire, m->len, &op, owner) < 0) {
		return E_MALFORMED;
	}
	const uint8_t *use = owner;
	if (fn != NULL && r->type != RR_OPT && fn(ud, owner, false, mapped)) {
		use = mapped;
	}
	const uint8_t *rd = m->wire + r->rdoff;
	int rdlen = r->rdlen;
	if (rd_layout(r->type, &l)) {
		rdlen = rdata_expand(m, r, fn, ud, rdata, sizeof(rdata));
		rd = rdata;
	}
	if (rdlen < 0) {
		return E_MALFORMED;
	}
	return dns_writer_rr(w, (enum dns_section)r->sec, use, r->type, r->rclass, r->ttl, rd,
			     (uint16_t)rdlen);
}

size_t msg_finish(const msg_t *m, dns_writer_t *w)
{
	size_t len = dns_writer_finish(w);
	dns_put16(w->buf + 2, dns_u16(m->wire + 2));
	return len;
}

size_t msg_rebuild(const msg_t *m, const uint16_t *order, int n, const uint8_t *qname,
		   msg_name_fn fn, void *ud, uint8_t *out, size_t cap)
{
	dns_writer_t w;

	if (msg_begin(m, qname, &w, out, cap) != E_OK) {
		return 0;
	}
	for (int i = 0; i < n; i++) {
		if (msg_write_rr(m, &m->rr[order[i]], fn, ud, &w) != E_OK) {
			return 0;
		}
	}
	return msg_finish(m, &w);
}

enum msg_class msg_classify(const msg_t *m)
{
	unsigned rcode = DNS_RCODE(dns_u16(m->wire + 2));
	bool soa = false, ns = false;

	if (rcode == RCODE_SERVFAIL) {
		return MSG_SERVFAIL;
	}
	if (rcode == RCODE_NOERROR && m->count[0] > 0) {
		return MSG_NOERROR;
	}
	for (int i = m->count[0]; i < m->count[0] + m->count[1]; i++) {
		soa = soa || m->rr[i].type == RR_SOA;
		ns = ns || m->rr[i].type == RR_NS;
	}
	if (soa && rcode == RCODE_NOERROR) {
		return MSG_NODATA;
	}
	if (soa && rcode == RCODE_NXDOMAIN) {
		return MSG_NXDOMAIN;
	}
	if (ns && rcode == RCODE_NOERROR) {
		return MSG_DELEGATION;
	}
	return rcode == RCODE_NOERROR ? MSG_NOERROR : MSG_OTHERERROR;
}

uint32_t msg_min_ttl(const msg_t *m, enum msg_class cls, uint32_t dflt)
{
	uint32_t min = UINT32_MAX;
	if (cls != MSG_NOERROR && cls != MSG_NXDOMAIN && cls != MSG_NODATA) {
		return dflt;
	}
	for (int i = 0; i < m->nrr; i++) {
		const msg_rr_t *r = &m->rr[i];
		if (r->type == RR_OPT) {
			continue;
		}
		if (r->ttl < min) {
			min = r->ttl;
		}
		if (r->type == RR_SOA && r->sec == DNS_NS && cls != MSG_NOERROR && r->rdlen >= 4) {
			uint32_t minimum = dns_u32(m->wire + r->rdoff + r->rdlen - 4);
			if (minimum < min) {
				min = minimum;
			}
		}
	}
	return min == UINT32_MAX ? dflt : min;
}

void msg_set_ttls(const msg_t *m, uint8_t *wire, uint32_t ttl)
{
	for (int i = 0; i < m->nrr; i++) {
		if (m->rr[i].type != RR_OPT) {
			dns_put32(wire + m->rr[i].rdoff - 6, ttl);
		}
	}
}
