/*  Signet: NSEC3 (RFC 5155): hashed owner names and the chain. */
#include "dnssec/internal.h"

#include <stdlib.h>
#include <string.h>

#include <nettle/sha1.h>

#include "dns/err.h"
#include "dns/pkt.h"
#include "dns/rrtype.h"
#include "dnssec/proof.h"

void dnssec_nsec3_hash(uint8_t hash[DNSSEC_NSEC3_HASH_LEN], const uint8_t *name,
		       uint16_t iterations, const uint8_t *salt, uint8_t salt_len)
{
	struct sha1_ctx ctx;
	sha1_init(&ctx);
	sha1_update(&ctx, dname_len(name), name);
	sha1_update(&ctx, salt_len, salt);
	sha1_digest(&ctx, DNSSEC_NSEC3_HASH_LEN, hash);
	for (uint16_t i = 0; i < iterations; i++) {
		sha1_update(&ctx, DNSSEC_NSEC3_HASH_LEN, hash);
		sha1_update(&ctx, salt_len, salt);
		sha1_digest(&ctx, DNSSEC_NSEC3_HASH_LEN, hash);
	}
}

size_t dnssec_base32hex(char *out, const uint8_t *in, size_t len)
{
	static const char alphabet[] = "0123456789abcdefghijklmnopqrstuv";
	size_t n = 0;
	uint32_t acc = 0;
	int bits = 0;
	for (size_t i = 0; i < len; i++) {
		acc = (acc << 8) | in[i];
		bits += 8;
		while (bits >= 5) {
			bits -= 5;
			out[n++] = alphabet[(acc >> bits) & 0x1f];
		}
	}
	if (bits > 0) {
		out[n++] = alphabet[(acc << (5 - bits)) & 0x1f];
	}
	return n;
}

int dnssec_nsec3_hash_owner(uint8_t *owner, const uint8_t hash[DNSSEC_NSEC3_HASH_LEN],
			    const uint8_t *apex)
{
	size_t alen = dname_len(apex);
	if (1 + DNSSEC_NSEC3_LABEL_LEN + alen > DNAME_MAX) {
		return E_NAME_LONG;
	}
	owner[0] = DNSSEC_NSEC3_LABEL_LEN;
	dnssec_base32hex((char *)owner + 1, hash, DNSSEC_NSEC3_HASH_LEN);
	memcpy(owner + 1 + DNSSEC_NSEC3_LABEL_LEN, apex, alen);
	return (int)(1 + DNSSEC_NSEC3_LABEL_LEN + alen);
}

int dnssec_nsec3_owner(uint8_t *owner, const uint8_t *name, const uint8_t *apex,
		       uint16_t iterations, const uint8_t *salt, uint8_t salt_len)
{
	uint8_t hash[DNSSEC_NSEC3_HASH_LEN];
	uint8_t lc[DNAME_MAX];
	uint8_t apex_lc[DNAME_MAX];
	dname_copy_lower(lc, name);
	dname_copy_lower(apex_lc, apex);
	dnssec_nsec3_hash(hash, lc, iterations, salt, salt_len);
	return dnssec_nsec3_hash_owner(owner, hash, apex_lc);
}

bool dnssec_nsec3_params_get(const zone_t *z, dnssec_nsec3_params_t *p)
{
	const zone_rrset_t *rs = zone_node_rrset(z->apex, RR_NSEC3PARAM);
	uint16_t rdlen;
	if (rs == NULL || rs->count == 0) {
		return false;
	}
	const uint8_t *rd = zone_rrset_rdata(rs, 0, &rdlen);
	if (rdlen < 5 || rd[0] != DNSSEC_NSEC3_ALG_SHA1 || 5u + rd[4] > rdlen) {
		return false;
	}
	p->flags = rd[1];
	p->iterations = dns_u16(rd + 2);
	p->salt_len = rd[4];
	p->salt = rd + 5;
	return true;
}

/* One member of the chain: its hash and where its bitmap is. */
struct member {
	uint8_t hash[DNSSEC_NSEC3_HASH_LEN];
	uint32_t bitmap; /* offset into the bitmap buffer */
	uint16_t bitmap_len;
};

static int member_cmp(const void *a, const void *b)
{
	return memcmp(((const struct member *)a)->hash, ((const struct member *)b)->hash,
		      DNSSEC_NSEC3_HASH_LEN);
}

/* RFC 5155 §3.2.1: the types at the original owner; at a delegation NS and DS only, and
 * RRSIG only where something is signed (not at an empty non-terminal or an insecure
 * delegation). */
static size_t nsec3_types(const zone_node_t *node, uint16_t *types)
{
	size_t n = 0;
	bool deleg = (node->flags & ZONE_NODE_DELEG) != 0;
	bool signed_data = false;
	for (uint16_t i = 0; i < node->nrrsets; i++) {
		uint16_t t = node->rrsets[i].type;
		if (!deleg || t == RR_NS || t == RR_DS) {
			types[n++] = t;
			signed_data = signed_data || !deleg || t == RR_DS;
		}
	}
	if (signed_data) {
		types[n++] = RR_RRSIG;
	}
	return dnssec_types_sort(types, n);
}

static bool in_chain(const zone_node_t *node, const dnssec_nsec3_params_t *p)
{
	if (!dnssec_node_auth(node)) {
		return false;
	}
	if ((p->flags & DNSSEC_NSEC3_OPTOUT) && (node->flags & ZONE_NODE_DELEG) &&
	    zone_node_rrset(node, RR_DS) == NULL) {
		return false; /* RFC 5155 §6: opt-out leaves insecure delegations out */
	}
	return true;
}

int dnssec_nsec3_chain(const zone_t *z, const dnssec_nsec3_params_t *p, uint32_t ttl,
		       dnssec_rrbuf_t *out)
{
	struct member *m = malloc((size_t)z->nnodes * sizeof(*m));
	uint16_t *types = malloc((UINT16_MAX + 2u) * sizeof(uint16_t));
	uint8_t *rd = malloc(6u + 255u + DNSSEC_NSEC3_HASH_LEN + DNSSEC_BITMAP_MAX);
	uint8_t *bitmaps = NULL;
	size_t bm_len = 0, bm_cap = 0;
	uint32_t n = 0;
	int ret = -ENOMEM;

	if (m == NULL || types == NULL || rd == NULL) {
		goto out;
	}
	for (uint32_t k = 0; k < z->nnodes; k++) {
		const zone_node_t *node = z->nodes[k];
		if (!in_chain(node, p)) {
			continue;
		}
		if (bm_len + DNSSEC_BITMAP_MAX > bm_cap) {
			size_t cap = bm_cap != 0 ? bm_cap * 2 : 65536;
			uint8_t *b = realloc(bitmaps, cap);
			if (b == NULL) {
				goto out;
			}
			bitmaps = b;
			bm_cap = cap;
		}
		dnssec_nsec3_hash(m[n].hash, node->owner, p->iterations, p->salt, p->salt_len);
		size_t nt = nsec3_types(node, types);
		m[n].bitmap = (uint32_t)bm_len;
		m[n].bitmap_len = (uint16_t)dnssec_bitmap_write(bitmaps + bm_len, types, nt);
		bm_len += m[n].bitmap_len;
		n++;
	}
	qsort(m, n, sizeof(*m), member_cmp);
	ret = E_OK;
	for (uint32_t k = 0; k < n && ret == E_OK; k++) {
		const struct member *next = &m[k + 1 < n ? k + 1 : 0];
		uint8_t owner[DNAME_MAX];
		size_t len = 0;
		if (k + 1 < n && memcmp(m[k].hash, next->hash, DNSSEC_NSEC3_HASH_LEN) == 0) {
			ret = E_EXISTS; /* a SHA-1 collision: RFC 5155 §7.1 says pick a new salt */
			break;
		}
		int olen = dnssec_nsec3_hash_owner(owner, m[k].hash, z->apex_name);
		if (olen < 0) {
			ret = olen;
			break;
		}
		rd[len++] = DNSSEC_NSEC3_ALG_SHA1;
		rd[len++] = p->flags;
		dns_put16(rd + len, p->iterations);
		len += 2;
		rd[len++] = p->salt_len;
		if (p->salt_len > 0) {
			memcpy(rd + len, p->salt, p->salt_len);
			len += p->salt_len;
		}
		rd[len++] = DNSSEC_NSEC3_HASH_LEN;
		memcpy(rd + len, next->hash, DNSSEC_NSEC3_HASH_LEN);
		len += DNSSEC_NSEC3_HASH_LEN;
		memcpy(rd + len, bitmaps + m[k].bitmap, m[k].bitmap_len);
		len += m[k].bitmap_len;
		ret = dnssec_rrbuf_add(out, owner, RR_NSEC3, ttl, rd, (uint16_t)len);
	}
out:
	free(bitmaps);
	free(rd);
	free(types);
	free(m);
	return ret;
}
