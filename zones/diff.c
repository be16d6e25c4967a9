/*  Signet: the difference between two versions of a zone (see diff.h).
 *
 *  Both versions keep their nodes in RFC 4034 canonical order, each node its RRsets sorted by
 *  type and each RRset its RDATA in canonical order, so one merge walk over the two node
 *  arrays (then over the two NSEC3 arrays) finds every removed and added RR.
 *
 *  An RRset whose TTL changed is removed and added whole, as Knot does: a secondary then
 *  never holds one RRset with two TTLs. An RRSIG's TTL is that of the RRset it covers (the
 *  slice rrset->sigs), or the node's RRSIG RRset TTL for a signature whose RRset is absent.
 */
#include "zones/diff.h"

#include <stdlib.h>
#include <string.h>

#include "dns/err.h"
#include "dns/pkt.h"
#include "dns/rrtype.h"

#define RR_FIXED_LEN 10

/* A growing buffer of packed RRs. */
typedef struct rr_buf {
	uint8_t *p;
	size_t len, cap;
	uint32_t n;
} rr_buf_t;

static int buf_put(rr_buf_t *b, const zone_node_t *node, uint16_t type, uint32_t ttl,
		   const uint8_t *rd, uint16_t rdlen)
{
	size_t need = (size_t)node->owner_len + RR_FIXED_LEN + rdlen;
	uint8_t *p;

	if (b->len + need > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;

		while (cap < b->len + need) {
			cap *= 2;
		}
		p = realloc(b->p, cap);
		if (p == NULL) {
			return -ENOMEM;
		}
		b->p = p;
		b->cap = cap;
	}
	p = b->p + b->len;
	memcpy(p, node->owner, node->owner_len);
	p += node->owner_len;
	dns_put16(p, type);
	dns_put16(p + 2, CLASS_IN);
	dns_put32(p + 4, ttl);
	dns_put16(p + 8, rdlen);
	if (rdlen > 0) {
		memcpy(p + RR_FIXED_LEN, rd, rdlen);
	}
	b->len += need;
	b->n++;
	return E_OK;
}

/* RFC 4034 §6.3: RDATA as left-justified octet strings, a missing octet sorting first. */
static int rdata_cmp(const uint8_t *a, uint16_t alen, const uint8_t *b, uint16_t blen)
{
	int r = memcmp(a, b, alen < blen ? alen : blen);

	if (r != 0) {
		return r;
	}
	return (alen > blen) - (alen < blen);
}

/* The TTL an RRSIG of \a node is sent with (see the file comment). */
static uint32_t sig_ttl(const zone_node_t *node, const zone_rrset_t *sigs, const uint8_t *rd,
			uint16_t rdlen)
{
	const zone_rrset_t *covered;

	if (rdlen < 2) {
		return sigs->ttl;
	}
	covered = zone_node_rrset(node, dns_u16(rd));
	if (covered != NULL && covered->type != RR_RRSIG && covered->sigs != NULL) {
		return covered->sigs->ttl;
	}
	return sigs->ttl;
}

/* Every RR of one RRset (the SOA is never among the records: it is soa_from / soa_to). */
static int rrset_put(rr_buf_t *b, const zone_node_t *node, const zone_rrset_t *rs)
{
	uint32_t pos = 0;
	uint16_t rdlen;
	const uint8_t *rd;
	int ret;

	if (rs->type == RR_SOA) {
		return E_OK;
	}
	while ((rd = zone_rrset_next(rs, &pos, &rdlen)) != NULL) {
		uint32_t ttl = rs->type == RR_RRSIG ? sig_ttl(node, rs, rd, rdlen) : rs->ttl;

		ret = buf_put(b, node, rs->type, ttl, rd, rdlen);
		if (ret != E_OK) {
			return ret;
		}
	}
	return E_OK;
}

static int node_put(rr_buf_t *b, const zone_node_t *node)
{
	int ret = E_OK;

	for (uint16_t i = 0; i < node->nrrsets && ret == E_OK; i++) {
		ret = rrset_put(b, node, &node->rrsets[i]);
	}
	return ret;
}

/* Two RRsets of one type at one owner name. */
static int rrset_diff(rr_buf_t *rem, rr_buf_t *add, const zone_node_t *na, const zone_rrset_t *a,
		      const zone_node_t *nb, const zone_rrset_t *b)
{
	uint32_t pa = 0, pb = 0;
	uint16_t la = 0, lb = 0;
	const uint8_t *ra, *rb;
	bool sigs = a->type == RR_RRSIG;
	int ret = E_OK;

	if (a->type == RR_SOA) {
		return E_OK;
	}
	if (!sigs && a->ttl != b->ttl) {
		ret = rrset_put(rem, na, a);
		return ret == E_OK ? rrset_put(add, nb, b) : ret;
	}
	if (a->len == b->len && (a->rdata == b->rdata || memcmp(a->rdata, b->rdata, a->len) == 0) &&
	    !sigs) {
		return E_OK;
	}
	ra = zone_rrset_next(a, &pa, &la);
	rb = zone_rrset_next(b, &pb, &lb);
	while (ret == E_OK && (ra != NULL || rb != NULL)) {
		int c = ra == NULL ? 1 : rb == NULL ? -1 : rdata_cmp(ra, la, rb, lb);

		if (c < 0) {
			ret = buf_put(rem, na, a->type, sigs ? sig_ttl(na, a, ra, la) : a->ttl, ra,
				      la);
			ra = zone_rrset_next(a, &pa, &la);
		} else if (c > 0) {
			ret = buf_put(add, nb, b->type, sigs ? sig_ttl(nb, b, rb, lb) : b->ttl, rb,
				      lb);
			rb = zone_rrset_next(b, &pb, &lb);
		} else {
			if (sigs) {
				uint32_t ta = sig_ttl(na, a, ra, la), tb = sig_ttl(nb, b, rb, lb);

				if (ta != tb) {
					ret = buf_put(rem, na, RR_RRSIG, ta, ra, la);
					if (ret == E_OK) {
						ret = buf_put(add, nb, RR_RRSIG, tb, rb, lb);
					}
				}
			}
			ra = zone_rrset_next(a, &pa, &la);
			rb = zone_rrset_next(b, &pb, &lb);
		}
	}
	return ret;
}

/* Two nodes with the same owner name: merge their RRsets by type. */
static int node_diff(rr_buf_t *rem, rr_buf_t *add, const zone_node_t *a, const zone_node_t *b)
{
	uint16_t i = 0, j = 0;
	int ret = E_OK;

	while (ret == E_OK && (i < a->nrrsets || j < b->nrrsets)) {
		const zone_rrset_t *ra = i < a->nrrsets ? &a->rrsets[i] : NULL;
		const zone_rrset_t *rb = j < b->nrrsets ? &b->rrsets[j] : NULL;

		if (rb == NULL || (ra != NULL && ra->type < rb->type)) {
			ret = rrset_put(rem, a, ra);
			i++;
		} else if (ra == NULL || rb->type < ra->type) {
			ret = rrset_put(add, b, rb);
			j++;
		} else {
			ret = rrset_diff(rem, add, a, ra, b, rb);
			i++;
			j++;
		}
	}
	return ret;
}

/* One merge walk over two arrays of nodes in the same (canonical or hash) order. */
static int nodes_diff(rr_buf_t *rem, rr_buf_t *add, zone_node_t *const *a, uint32_t na,
		      zone_node_t *const *b, uint32_t nb)
{
	uint32_t i = 0, j = 0;
	int ret = E_OK;

	while (ret == E_OK && (i < na || j < nb)) {
		int c;

		if (i == na) {
			c = 1;
		} else if (j == nb) {
			c = -1;
		} else if (a[i] == b[j]) {
			i++; /* a node shared by both versions is the same node */
			j++;
			continue;
		} else {
			c = dname_cmp(a[i]->owner, b[j]->owner);
		}
		if (c < 0) {
			ret = node_put(rem, a[i++]);
		} else if (c > 0) {
			ret = node_put(add, b[j++]);
		} else {
			ret = node_diff(rem, add, a[i++], b[j++]);
		}
	}
	return ret;
}

static int soa_copy(const zone_t *z, uint8_t **rdata, uint16_t *len, uint32_t *ttl)
{
	const zone_rrset_t *soa = zone_node_rrset(z->apex, RR_SOA);
	const uint8_t *rd;
	uint16_t rdlen;

	if (soa == NULL || soa->count == 0) {
		return E_ZONE_NOSOA;
	}
	rd = zone_rrset_rdata(soa, 0, &rdlen);
	*rdata = malloc(rdlen ? rdlen : 1);
	if (*rdata == NULL) {
		return -ENOMEM;
	}
	memcpy(*rdata, rd, rdlen);
	*len = rdlen;
	*ttl = soa->ttl;
	return E_OK;
}

int zone_diff(const zone_t *from, const zone_t *to, zone_changeset_t *cs)
{
	rr_buf_t rem = { 0 }, add = { 0 };
	int ret;

	memset(cs, 0, sizeof(*cs));
	cs->serial_from = from->serial;
	cs->serial_to = to->serial;
	ret = soa_copy(from, &cs->soa_from, &cs->soa_from_len, &cs->soa_ttl_from);
	if (ret == E_OK) {
		ret = soa_copy(to, &cs->soa_to, &cs->soa_to_len, &cs->soa_ttl_to);
	}
	if (ret == E_OK) {
		ret = nodes_diff(&rem, &add, from->nodes, from->nnodes, to->nodes, to->nnodes);
	}
	if (ret == E_OK) {
		ret = nodes_diff(&rem, &add, from->nsec3, from->nnsec3, to->nsec3, to->nnsec3);
	}
	cs->removed = rem.p;
	cs->removed_len = rem.len;
	cs->nremoved = rem.n;
	cs->added = add.p;
	cs->added_len = add.len;
	cs->nadded = add.n;
	if (ret != E_OK) {
		zone_changeset_clear(cs);
	}
	return ret;
}

/* The next RRset of \a n from *i on that is neither the SOA nor a signer's, or NULL. */
static const zone_rrset_t *next_compared(const zone_node_t *n, uint16_t *i)
{
	for (; *i < n->nrrsets; (*i)++) {
		uint16_t t = n->rrsets[*i].type;
		if (t != RR_SOA && !zone_type_is_dnssec(t)) {
			return &n->rrsets[*i];
		}
	}
	return NULL;
}

/* Two nodes of one name (or one of them NULL: no such node) without the signer's types. */
static bool node_same(const zone_node_t *a, const zone_node_t *b)
{
	uint16_t i = 0, j = 0;
	for (;; i++, j++) {
		const zone_rrset_t *ra = a != NULL ? next_compared(a, &i) : NULL;
		const zone_rrset_t *rb = b != NULL ? next_compared(b, &j) : NULL;
		if (ra == NULL || rb == NULL) {
			return ra == rb;
		}
		if (ra->type != rb->type || ra->ttl != rb->ttl || ra->len != rb->len ||
		    memcmp(ra->rdata, rb->rdata, ra->len) != 0) {
			return false;
		}
	}
}

bool zone_same_data(const zone_t *a, const zone_t *b, bool skip_dnssec)
{
	if (!skip_dnssec) {
		/* Signatures compare with the TTLs of what they cover, as zone_diff does. */
		zone_changeset_t cs;
		if (zone_diff(a, b, &cs) != E_OK) {
			return false;
		}
		bool same = zone_changeset_empty(&cs);
		zone_changeset_clear(&cs);
		return same;
	}
	/* One walk in canonical order; NSEC3 nodes hold only what a signer makes. */
	uint32_t i = 0, j = 0;
	while (i < a->nnodes || j < b->nnodes) {
		int c = i == a->nnodes   ? 1
			: j == b->nnodes ? -1
					 : dname_cmp(a->nodes[i]->owner, b->nodes[j]->owner);
		const zone_node_t *na = c <= 0 ? a->nodes[i++] : NULL;
		const zone_node_t *nb = c >= 0 ? b->nodes[j++] : NULL;
		if (!node_same(na, nb)) {
			return false;
		}
	}
	return true;
}

void zone_changeset_clear(zone_changeset_t *cs)
{
	if (cs == NULL) {
		return;
	}
	free(cs->soa_from);
	free(cs->soa_to);
	free(cs->removed);
	free(cs->added);
	memset(cs, 0, sizeof(*cs));
}
