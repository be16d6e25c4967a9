/*  Signet: DNS messages, the request parser and the response writer (see pkt.h). */
#include "dns/pkt.h"

#include <string.h>

#include "dns/err.h"
#include "dns/rdata.h"
#include "dns/rrtype.h"

#define RR_FIXED_LEN 10     /* TYPE, CLASS, TTL, RDLENGTH */
#define EDNS_FLAG_DO 0x8000 /* in the low 16 bits of the OPT TTL */
#define COMP_OFF_MAX 0x3FFF /* largest offset a compression pointer can hold */
#define COMP_PTR     0xC000
/* Largest uncompressed RR whose RDATA we compress: owner + fixed + SOA RDATA. */
#define RR_COMPRESSIBLE_MAX (DNAME_MAX + RR_FIXED_LEN + 2 * DNAME_MAX + 20)

/* Walk the OPT options: each TLV must fit, and together they must fill RDLENGTH exactly. */
static int opt_check(const uint8_t *rd, size_t rdlen)
{
	size_t i = 0;

	while (i < rdlen) {
		size_t olen;

		if (rdlen - i < 4) {
			return E_MALFORMED;
		}
		olen = dns_u16(rd + i + 2);
		i += 4;
		if (rdlen - i < olen) {
			return E_MALFORMED;
		}
		i += olen; /* no option changes how we answer yet: all are ignored */
	}
	return E_OK;
}

int dns_request_parse(dns_request_t *req, const uint8_t *wire, size_t len)
{
	uint8_t owner[DNAME_MAX];
	size_t pos;
	uint32_t total;
	uint32_t first_ar;
	int ret;

	req->id = 0;
	req->flags = 0;
	req->opcode = 0;
	req->qdcount = req->ancount = req->nscount = req->arcount = 0;
	req->qname_len = 0;
	req->qtype = 0;
	req->qclass = 0;
	req->question_end = 0;
	memset(&req->edns, 0, sizeof(req->edns));
	req->tsig_pos = 0;
	req->end = 0;

	if (len < DNS_HDR_LEN) {
		return E_TRUNC;
	}
	req->id = dns_u16(wire);
	req->flags = dns_u16(wire + 2);
	req->opcode = (uint8_t)DNS_OPCODE(req->flags);
	req->qdcount = dns_u16(wire + 4);
	req->ancount = dns_u16(wire + 6);
	req->nscount = dns_u16(wire + 8);
	req->arcount = dns_u16(wire + 10);
	req->end = DNS_HDR_LEN;
	if (req->qdcount != 1) {
		return E_MALFORMED;
	}

	pos = DNS_HDR_LEN;
	ret = dname_unpack(wire, len, &pos, req->qname);
	if (ret < 0 || len - pos < 4) {
		return E_MALFORMED;
	}
	dname_copy_lower(req->qname_lc, req->qname);
	req->qname_len = (uint8_t)ret;
	req->qtype = dns_u16(wire + pos);
	req->qclass = dns_u16(wire + pos + 2);
	pos += 4;
	req->question_end = pos;
	req->end = pos;

	total = (uint32_t)req->ancount + req->nscount + req->arcount;
	first_ar = (uint32_t)req->ancount + req->nscount;
	for (uint32_t i = 0; i < total; i++) {
		size_t start = pos;
		uint16_t type;
		uint16_t rdlen;
		bool in_ar = i >= first_ar;

		ret = dname_unpack(wire, len, &pos, owner);
		if (ret < 0 || len - pos < RR_FIXED_LEN) {
			return E_MALFORMED;
		}
		type = dns_u16(wire + pos);
		rdlen = dns_u16(wire + pos + 8);
		if (len - pos - RR_FIXED_LEN < rdlen) {
			return E_MALFORMED;
		}
		if (type == RR_OPT) {
			const uint8_t *ttl = wire + pos + 4;

			if (!in_ar || ret != 1 || req->edns.present) {
				return E_MALFORMED;
			}
			if (opt_check(wire + pos + RR_FIXED_LEN, rdlen) != E_OK) {
				return E_MALFORMED;
			}
			req->edns.present = true;
			req->edns.payload = dns_u16(wire + pos + 2);
			req->edns.ext_rcode = ttl[0];
			req->edns.version = ttl[1];
			req->edns.do_bit = (dns_u16(ttl + 2) & EDNS_FLAG_DO) != 0;
		} else if (type == RR_TSIG) {
			if (!in_ar || i != total - 1) {
				return E_MALFORMED;
			}
			req->tsig_pos = start;
		}
		pos += RR_FIXED_LEN + (size_t)rdlen;
		req->end = pos;
	}
	if (pos != len) {
		return E_TRAILING;
	}
	return E_OK;
}

/* ---- writer ---- */

static size_t writer_limit(const dns_writer_t *w)
{
	return w->cap > w->reserved ? w->cap - w->reserved : 0;
}

static size_t writer_room(const dns_writer_t *w, size_t limit)
{
	return limit > w->len ? limit - w->len : 0;
}

/*
 * Does the name written at \a off in our own message equal \a name (case-insensitive)? Both
 * have the same number of labels. Pointers in the message were written by us and point
 * backwards to literal labels.
 */
static bool comp_match(const uint8_t *buf, size_t off, const uint8_t *name)
{
	for (;;) {
		uint8_t c = buf[off];

		while ((c & 0xC0) == 0xC0) {
			off = ((size_t)(c & 0x3F) << 8) | buf[off + 1];
			c = buf[off];
		}
		if (c != name[0]) {
			return false;
		}
		if (c == 0) {
			return true;
		}
		for (size_t i = 1; i <= c; i++) {
			if (dname_lower_octet(buf[off + i]) != dname_lower_octet(name[i])) {
				return false;
			}
		}
		off += (size_t)c + 1;
		name += (size_t)c + 1;
	}
}

/* How a name will be written: \a lit octets as they are, then a pointer when matched > 0. */
typedef struct name_plan {
	uint8_t loff[DNAME_LABELS_MAX];
	int nlab;
	int matched;  /* labels replaced by the pointer */
	size_t lit;   /* octets written literally (root included when no pointer) */
	uint16_t ptr; /* offset pointed to, when matched > 0 */
} name_plan_t;

static size_t name_plan(const dns_writer_t *w, const uint8_t *name, name_plan_t *pl)
{
	size_t i = 0;

	pl->nlab = 0;
	while (name[i] != 0) {
		pl->loff[pl->nlab++] = (uint8_t)i;
		i += (size_t)name[i] + 1;
	}
	pl->matched = 0;
	pl->lit = i + 1;
	pl->ptr = 0;
	/* Longest suffix first; only entries with the same label count can be equal. */
	for (int j = pl->nlab; j > 0; j--) {
		const uint8_t *suffix = name + pl->loff[pl->nlab - j];

		/* Newest first: in a transfer the name just written is the likeliest match. */
		for (int k = w->ncomp - 1; k >= 0; k--) {
			if (w->comp[k].labels == j && comp_match(w->buf, w->comp[k].off, suffix)) {
				pl->matched = j;
				pl->lit = pl->loff[pl->nlab - j];
				pl->ptr = w->comp[k].off;
				return pl->lit + 2;
			}
		}
	}
	return pl->lit;
}

/* Write a planned name at w->len (room checked by the caller) and remember its labels. */
static void name_emit(dns_writer_t *w, const uint8_t *name, const name_plan_t *pl)
{
	uint8_t *dst = w->buf + w->len;

	memcpy(dst, name, pl->lit);
	for (int l = 0; l < pl->nlab - pl->matched; l++) {
		size_t off = w->len + pl->loff[l];

		if (w->ncomp >= DNS_COMP_MAX || off > COMP_OFF_MAX) {
			break;
		}
		w->comp[w->ncomp].off = (uint16_t)off;
		w->comp[w->ncomp].labels = (uint8_t)(pl->nlab - l);
		w->ncomp++;
	}
	w->len += pl->lit;
	if (pl->matched > 0) {
		dns_put16(w->buf + w->len, (uint16_t)(COMP_PTR | pl->ptr));
		w->len += 2;
	}
}

/* Compress and write one name if it fits below \a limit. */
static int name_put(dns_writer_t *w, const uint8_t *name, size_t limit)
{
	name_plan_t pl;
	size_t need = name_plan(w, name, &pl);

	if (need > writer_room(w, limit)) {
		return E_TRUNC;
	}
	name_emit(w, name, &pl);
	return E_OK;
}

/* True when \a type has names to compress and \a rd has exactly its layout. */
static bool rdata_compressible(uint16_t type, const uint8_t *rd, uint16_t rdlen,
			       dns_rdata_layout_t *lay)
{
	return dns_rdata_layout(type, lay) && lay->compress &&
	       dns_rdata_check(lay, rd, rdlen) == E_OK;
}

void dns_writer_reserve(dns_writer_t *w, size_t bytes)
{
	w->reserved = bytes;
}

int dns_writer_begin(dns_writer_t *w, uint8_t *buf, size_t cap, const dns_request_t *req)
{
	uint16_t flags = DNS_FLAG_QR;
	name_plan_t pl;

	w->buf = buf;
	w->cap = cap;
	w->reserved = 0;
	w->len = 0;
	w->qend = 0;
	w->count[0] = w->count[1] = w->count[2] = 0;
	w->ncomp = 0;
	if (cap < DNS_HDR_LEN) {
		return E_TRUNC;
	}
	memset(buf, 0, DNS_HDR_LEN);
	if (req != NULL) {
		dns_put16(buf, req->id);
		flags |= (uint16_t)((req->opcode & 0xF) << 11);
		flags |= req->flags & DNS_FLAG_RD;
	}
	dns_put16(buf + 2, flags);
	w->len = DNS_HDR_LEN;
	w->qend = DNS_HDR_LEN;
	if (req == NULL || req->qname_len == 0) {
		return E_OK;
	}
	if (cap - DNS_HDR_LEN < (size_t)req->qname_len + 4) {
		return E_TRUNC;
	}
	/* The table is empty: the name is written as it is and remembered. */
	name_plan(w, req->qname, &pl);
	name_emit(w, req->qname, &pl);
	dns_put16(buf + w->len, req->qtype);
	dns_put16(buf + w->len + 2, req->qclass);
	w->len += 4;
	w->qend = w->len;
	dns_put16(buf + 4, 1);
	return E_OK;
}

void dns_writer_rollback(dns_writer_t *w, const dns_writer_mark_t *m)
{
	w->len = m->len;
	w->count[0] = m->count[0];
	w->count[1] = m->count[1];
	w->count[2] = m->count[2];
	w->ncomp = m->ncomp;
}

static void rr_fixed(uint8_t *p, uint16_t type, uint16_t rclass, uint32_t ttl, uint16_t rdlen)
{
	dns_put16(p, type);
	dns_put16(p + 2, rclass);
	dns_put32(p + 4, ttl);
	dns_put16(p + 8, rdlen);
}

/* An RR whose RDATA has names to compress; RDLENGTH is known only once written. */
static int rr_put_compressed(dns_writer_t *w, const uint8_t *owner, uint16_t type, uint16_t rclass,
			     uint32_t ttl, const uint8_t *rdata, uint16_t rdlen,
			     const dns_rdata_layout_t *lay, size_t limit)
{
	uint8_t saved[RR_COMPRESSIBLE_MAX];
	size_t nsaved = 0;
	dns_writer_mark_t m;
	size_t rdstart;
	size_t pos;
	int ret = E_TRUNC;

	dns_writer_mark(w, &m);
	/*
	 * Uncompressed, the record is no larger than RR_COMPRESSIBLE_MAX. When even that fits,
	 * nothing below can fail; otherwise keep the free bytes we may scribble on so that a
	 * failure leaves the whole buffer as it was.
	 */
	if (dname_len(owner) + RR_FIXED_LEN + rdlen > writer_room(w, limit)) {
		nsaved = writer_room(w, limit);
		memcpy(saved, w->buf + w->len, nsaved);
	}
	if (name_put(w, owner, limit) != E_OK) {
		goto out;
	}
	if (writer_room(w, limit) < RR_FIXED_LEN + (size_t)lay->head) {
		goto out;
	}
	rr_fixed(w->buf + w->len, type, rclass, ttl, 0);
	w->len += RR_FIXED_LEN;
	rdstart = w->len;
	memcpy(w->buf + w->len, rdata, lay->head);
	w->len += lay->head;
	pos = lay->head;
	for (int i = 0; i < lay->names; i++) {
		if (name_put(w, rdata + pos, limit) != E_OK) {
			goto out;
		}
		pos += dname_len(rdata + pos);
	}
	if (writer_room(w, limit) < lay->tail) {
		goto out;
	}
	memcpy(w->buf + w->len, rdata + pos, lay->tail);
	w->len += lay->tail;
	dns_put16(w->buf + rdstart - 2, (uint16_t)(w->len - rdstart));
	ret = E_OK;
out:
	if (ret != E_OK) {
		memcpy(w->buf + m.len, saved, nsaved);
		dns_writer_rollback(w, &m);
	}
	return ret;
}

int dns_writer_rr(dns_writer_t *w, enum dns_section sec, const uint8_t *owner, uint16_t type,
		  uint16_t rclass, uint32_t ttl, const uint8_t *rdata, uint16_t rdlen)
{
	size_t limit = writer_limit(w);
	dns_rdata_layout_t lay;
	name_plan_t pl;
	size_t need;
	int ret;

	if (w->count[sec] == UINT16_MAX) {
		return E_TRUNC;
	}
	if (rdata_compressible(type, rdata, rdlen, &lay)) {
		ret = rr_put_compressed(w, owner, type, rclass, ttl, rdata, rdlen, &lay, limit);
		if (ret == E_OK) {
			w->count[sec]++;
		}
		return ret;
	}
	/* RDATA copied as it is: the size is known before anything is written. */
	need = name_plan(w, owner, &pl) + RR_FIXED_LEN + rdlen;
	if (need > writer_room(w, limit)) {
		return E_TRUNC;
	}
	name_emit(w, owner, &pl);
	rr_fixed(w->buf + w->len, type, rclass, ttl, rdlen);
	w->len += RR_FIXED_LEN;
	if (rdlen > 0) {
		memcpy(w->buf + w->len, rdata, rdlen);
	}
	w->len += rdlen;
	w->count[sec]++;
	return E_OK;
}

int dns_writer_opt_ede(dns_writer_t *w, uint16_t payload, uint8_t ext_rcode, bool do_bit, int ede)
{
	uint32_t ttl = (uint32_t)ext_rcode << 24 | (do_bit ? EDNS_FLAG_DO : 0);
	uint16_t rdlen = ede >= 0 ? DNS_EDE_LEN : 0;
	uint8_t *p;

	if (writer_room(w, w->cap) < (size_t)DNS_OPT_LEN + rdlen ||
	    w->count[DNS_AR] == UINT16_MAX) {
		return E_TRUNC;
	}
	p = w->buf + w->len;
	p[0] = 0; /* root owner */
	rr_fixed(p + 1, RR_OPT, payload, ttl, rdlen);
	if (ede >= 0) {
		/* RFC 8914: option 15, the INFO-CODE, no EXTRA-TEXT. */
		dns_put16(p + DNS_OPT_LEN, 15);
		dns_put16(p + DNS_OPT_LEN + 2, 2);
		dns_put16(p + DNS_OPT_LEN + 4, (uint16_t)ede);
	}
	w->len += DNS_OPT_LEN + rdlen;
	w->count[DNS_AR]++;
	size_t used = (size_t)DNS_OPT_LEN + rdlen;
	w->reserved = w->reserved > used ? w->reserved - used : 0;
	return E_OK;
}

int dns_writer_opt(dns_writer_t *w, uint16_t payload, uint8_t ext_rcode, bool do_bit)
{
	return dns_writer_opt_ede(w, payload, ext_rcode, do_bit, -1);
}

void dns_writer_flags(dns_writer_t *w, uint16_t set, uint16_t clear)
{
	uint16_t flags;

	if (w->len < DNS_HDR_LEN) {
		return;
	}
	flags = dns_u16(w->buf + 2);

	dns_put16(w->buf + 2, (uint16_t)((flags & ~clear) | set));
}

void dns_writer_rcode(dns_writer_t *w, uint8_t rcode)
{
	uint16_t flags;

	if (w->len < DNS_HDR_LEN) {
		return;
	}
	flags = dns_u16(w->buf + 2);

	dns_put16(w->buf + 2, (uint16_t)((flags & ~0xFu) | (rcode & 0xFu)));
}

size_t dns_writer_finish(dns_writer_t *w)
{
	if (w->len < DNS_HDR_LEN) {
		return w->len;
	}
	dns_put16(w->buf + 4, w->qend > DNS_HDR_LEN ? 1 : 0);
	dns_put16(w->buf + 6, w->count[DNS_AN]);
	dns_put16(w->buf + 8, w->count[DNS_NS]);
	dns_put16(w->buf + 10, w->count[DNS_AR]);
	return w->len;
}

void dns_writer_clear_records(dns_writer_t *w)
{
	uint8_t n = 0;

	w->len = w->qend;
	w->count[0] = w->count[1] = w->count[2] = 0;
	for (uint8_t k = 0; k < w->ncomp; k++) {
		if (w->comp[k].off < w->qend) {
			w->comp[n++] = w->comp[k];
		}
	}
	w->ncomp = n;
}
