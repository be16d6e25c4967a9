/*  Signet: the NSEC chain (RFC 4034 §4, RFC 4035 §2.3) and what the chains share: type
 *  bitmaps, the list of generated records, which nodes are authoritative. */
#include "dnssec/internal.h"

#include <stdlib.h>
#include <string.h>

#include "dns/err.h"
#include "dns/pkt.h"
#include "dns/rrtype.h"

int dnssec_rrbuf_add(dnssec_rrbuf_t *b, const uint8_t *owner, uint16_t type, uint32_t ttl,
		     const uint8_t *rdata, uint16_t rdlen)
{
	size_t olen = dname_len(owner);
	size_t need = 1 + olen + 8 + rdlen;
	if (b->len + need > b->cap) {
		size_t cap = b->cap != 0 ? b->cap * 2 : 65536;
		while (cap < b->len + need) {
			cap *= 2;
		}
		uint8_t *d = realloc(b->data, cap);
		if (d == NULL) {
			return -ENOMEM;
		}
		b->data = d;
		b->cap = cap;
	}
	uint8_t *p = b->data + b->len;
	p[0] = (uint8_t)olen;
	memcpy(p + 1, owner, olen);
	p += 1 + olen;
	dns_put16(p, type);
	dns_put32(p + 2, ttl);
	dns_put16(p + 6, rdlen);
	memcpy(p + 8, rdata, rdlen);
	b->len += need;
	b->count++;
	return E_OK;
}

bool dnssec_rrbuf_next(const dnssec_rrbuf_t *b, size_t *pos, dnssec_rr_t *rr)
{
	if (*pos >= b->len) {
		return false;
	}
	const uint8_t *p = b->data + *pos;
	rr->owner = p + 1;
	p += 1 + p[0];
	rr->type = dns_u16(p);
	rr->ttl = dns_u32(p + 2);
	rr->rdlen = dns_u16(p + 6);
	rr->set = p + 6;
	rr->rdata = p + 8;
	*pos = (size_t)(rr->rdata + rr->rdlen - b->data);
	return true;
}

void dnssec_rrbuf_free(dnssec_rrbuf_t *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}

bool dnssec_node_auth(const zone_node_t *node)
{
	if (node->flags & ZONE_NODE_NONAUTH) {
		return false;
	}
	/* Below a DNAME (RFC 6672 §2.3) or a cut under one: occluded. */
	return node->cut == NULL || node->cut == node;
}

size_t dnssec_types_sort(uint16_t *types, size_t n)
{
	for (size_t i = 1; i < n; i++) {
		uint16_t t = types[i];
		size_t j = i;
		while (j > 0 && types[j - 1] > t) {
			types[j] = types[j - 1];
			j--;
		}
		types[j] = t;
	}
	size_t m = 0;
	for (size_t i = 0; i < n; i++) {
		if (m == 0 || types[m - 1] != types[i]) {
			types[m++] = types[i];
		}
	}
	return m;
}

size_t dnssec_bitmap_write(uint8_t *out, const uint16_t *types, size_t n)
{
	size_t len = 0;
	size_t i = 0;
	while (i < n) {
		uint8_t window = (uint8_t)(types[i] >> 8);
		uint8_t *hdr = out + len;
		uint8_t *bits = hdr + 2;
		uint8_t octets = 0;
		memset(bits, 0, 32);
		for (; i < n && (types[i] >> 8) == window; i++) {
			uint8_t low = (uint8_t)types[i];
			bits[low / 8] |= (uint8_t)(0x80 >> (low % 8));
			octets = (uint8_t)(low / 8 + 1);
		}
		hdr[0] = window;
		hdr[1] = octets;
		len += 2u + octets;
	}
	return len;
}

/* The types an NSEC at \a node lists (RFC 4035 §2.3: at a delegation only NS and DS). */
static size_t nsec_types(const zone_node_t *node, uint16_t *types)
{
	size_t n = 0;
	bool deleg = (node->flags & ZONE_NODE_DELEG) != 0;
	for (uint16_t i = 0; i < node->nrrsets; i++) {
		uint16_t t = node->rrsets[i].type;
		if (!deleg || t == RR_NS || t == RR_DS) {
			types[n++] = t;
		}
	}
	types[n++] = RR_RRSIG;
	types[n++] = RR_NSEC;
	return dnssec_types_sort(types, n);
}

int dnssec_nsec_chain(const zone_t *z, uint32_t ttl, dnssec_rrbuf_t *out)
{
	uint8_t *rd = malloc(DNAME_MAX + DNSSEC_BITMAP_MAX);
	uint16_t *types = malloc((UINT16_MAX + 3u) * sizeof(uint16_t));
	const zone_node_t **chain = malloc(z->nnodes * sizeof(*chain));
	uint32_t n = 0;
	int ret = -ENOMEM;
	if (rd == NULL || types == NULL || chain == NULL) {
		goto out;
	}
	for (uint32_t k = 0; k < z->nnodes; k++) {
		if (z->nodes[k]->nrrsets > 0 && dnssec_node_auth(z->nodes[k])) {
			chain[n++] = z->nodes[k];
		}
	}
	ret = E_OK;
	for (uint32_t k = 0; k < n && ret == E_OK; k++) {
		const zone_node_t *node = chain[k];
		const zone_node_t *next = chain[k + 1 < n ? k + 1 : 0];
		memcpy(rd, next->owner, next->owner_len);
		size_t nt = nsec_types(node, types);
		size_t len = next->owner_len + dnssec_bitmap_write(rd + next->owner_len, types, nt);
		ret = dnssec_rrbuf_add(out, node->owner, RR_NSEC, ttl, rd, (uint16_t)len);
	}
out:
	free(chain);
	free(types);
	free(rd);
	return ret;
}
