#include "zones/zone.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dns/err.h"
#include "dns/pkt.h"
#include "dns/rrtype.h"
#include "zones/internal.h"

struct zone_mem_chunk {
	struct zone_mem_chunk *next;
	max_align_t data[];
};

#define ZONE_MEM_CHUNK (1u << 20)

zone_mem_t *zone_mem_new(void)
{
	return calloc(1, sizeof(zone_mem_t));
}

void *zone_mem_alloc(zone_mem_t *m, size_t len)
{
	len = (len + 15u) & ~(size_t)15u;
	if (m->chunks == NULL || m->used + len > m->size) {
		size_t size = len > ZONE_MEM_CHUNK ? len : ZONE_MEM_CHUNK;
		struct zone_mem_chunk *c = malloc(sizeof(*c) + size);
		if (c == NULL) {
			return NULL;
		}
		c->next = m->chunks;
		m->chunks = c;
		m->used = 0;
		m->size = size;
		m->total += size;
	}
	void *p = (uint8_t *)m->chunks->data + m->used;
	m->used += len;
	return p;
}

void zone_mem_free(zone_mem_t *m)
{
	if (m == NULL) {
		return;
	}
	struct zone_mem_chunk *c = m->chunks;
	while (c != NULL) {
		struct zone_mem_chunk *next = c->next;
		free(c);
		c = next;
	}
	free(m);
}

void zone_free(zone_t *z)
{
	if (z == NULL || __atomic_sub_fetch(&z->refs, 1, __ATOMIC_ACQ_REL) != 0) {
		return;
	}
	free(z->nodes);
	free(z->kpfx);
	free(z->nsec3);
	free(z->buckets);
	zone_mem_free(z->mem);
	free(z);
}

const zone_node_t *zone_find(const zone_t *z, const uint8_t *name_lc)
{
	size_t len = dname_len(name_lc);
	const zone_node_t *n = z->buckets[dname_hash(name_lc) & (z->nbuckets - 1)];
	for (; n != NULL; n = n->hnext) {
		/* The name follows the node: its address needs no load from the node. */
		if (n->owner_len == len && memcmp(n + 1, name_lc, len) == 0) {
			return n;
		}
	}
	return NULL;
}

const zone_node_t *zone_find_encloser(const zone_t *z, const uint8_t *name_lc)
{
	const uint8_t *name = name_lc;
	int extra = dname_labels(name_lc) - z->apex_labels;
	while (extra > 0) {
		const zone_node_t *n = zone_find(z, name);
		if (n != NULL) {
			return n;
		}
		name += 1 + name[0];
		extra--;
	}
	return z->apex;
}

/* Canonical sort key: labels from the root, each followed by 0x00, with 0x00 and 0x01
 * inside labels escaped as 0x01 0x01 and 0x01 0x02, so that memcmp gives RFC 4034 order. */
size_t zone_canon_key(uint8_t *key, const uint8_t *name)
{
	const uint8_t *labels[DNAME_LABELS_MAX + 1];
	int n = 0;
	size_t k = 0;
	for (const uint8_t *p = name; *p != 0; p += 1 + *p) {
		labels[n++] = p;
	}
	while (n-- > 0) {
		const uint8_t *l = labels[n];
		for (uint8_t i = 1; i <= l[0]; i++) {
			if (l[i] <= 1) {
				key[k++] = 1;
				key[k++] = (uint8_t)(l[i] + 1);
			} else {
				key[k++] = l[i];
			}
		}
		key[k++] = 0;
	}
	return k;
}

static int key_cmp(const zone_node_t *n, const uint8_t *key, size_t klen)
{
	size_t l = n->ckey_len < klen ? n->ckey_len : klen;
	int r = memcmp(n->ckey, key, l);
	return r != 0 ? r : (n->ckey_len > klen) - (n->ckey_len < klen);
}

/* Eight octets of a canonical key after its first \a skip, zero-padded: keys in canonical
 * order have non-decreasing prefixes (a key that is a prefix of another pads with zeros,
 * the smallest octet), so comparing prefixes first never contradicts comparing keys. */
static uint64_t key_prefix(const uint8_t *key, size_t klen, size_t skip)
{
	uint64_t p = 0;
	for (size_t i = skip; i < skip + 8; i++) {
		p = (p << 8) | (i < klen ? key[i] : 0u);
	}
	return p;
}

int zone_index_prefixes(zone_t *z)
{
	free(z->kpfx);
	z->kpfx = malloc((z->nnodes ? z->nnodes : 1u) * sizeof(uint64_t));
	if (z->kpfx == NULL) {
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < z->nnodes; i++) {
		const zone_node_t *n = z->nodes[i];
		z->kpfx[i] = key_prefix(n->ckey, n->ckey_len, z->apex->ckey_len);
	}
	return E_OK;
}

const zone_node_t *zone_find_predecessor(const zone_t *z, const uint8_t *name_lc)
{
	/* Binary search for the last node <= name: on the packed prefixes, which sit in a few
	 * cache lines, and on the whole keys only where the prefixes are equal. */
	uint8_t key[2 * DNAME_MAX];
	size_t klen = zone_canon_key(key, name_lc);
	size_t skip = z->apex->ckey_len;
	/* Prefixes order only names below the apex; anything else compares whole keys. */
	bool below = klen >= skip && memcmp(key, z->apex->ckey, skip) == 0;
	uint64_t pfx = below ? key_prefix(key, klen, skip) : 0;
	uint32_t lo = 0, hi = z->nnodes;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		uint64_t mp = below ? z->kpfx[mid] : pfx;
		if (mp < pfx || (mp == pfx && key_cmp(z->nodes[mid], key, klen) <= 0)) {
			lo = mid + 1;
		} else {
			hi = mid;
		}
	}
	return lo == 0 ? z->nodes[z->nnodes - 1] : z->nodes[lo - 1];
}

const zone_node_t *zone_find_nsec3(const zone_t *z, const uint8_t *hash_owner, bool covering)
{
	uint8_t key[2 * DNAME_MAX];
	size_t klen = zone_canon_key(key, hash_owner);
	uint32_t lo = 0, hi = z->nnsec3;
	if (z->nnsec3 == 0) {
		return NULL;
	}
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (key_cmp(z->nsec3[mid], key, klen) <= 0) {
			lo = mid + 1;
		} else {
			hi = mid;
		}
	}
	const zone_node_t *n = lo == 0 ? z->nsec3[z->nnsec3 - 1] : z->nsec3[lo - 1];
	if (covering) {
		return n;
	}
	return dname_equal(n->owner, hash_owner) ? n : NULL;
}

const zone_rrset_t *zone_node_rrset(const zone_node_t *node, uint16_t type)
{
	for (uint16_t i = 0; i < node->nrrsets; i++) {
		if (node->rrsets[i].type == type) {
			return &node->rrsets[i];
		}
		if (node->rrsets[i].type > type) {
			break;
		}
	}
	return NULL;
}

const uint8_t *zone_rrset_rdata(const zone_rrset_t *rs, uint16_t i, uint16_t *rdlen)
{
	uint32_t pos = 0;
	const uint8_t *rd = NULL;
	for (uint16_t k = 0; k <= i; k++) {
		rd = zone_rrset_next(rs, &pos, rdlen);
	}
	return rd;
}

uint32_t zone_soa_minimum(const zone_t *z)
{
	const zone_rrset_t *soa = zone_node_rrset(z->apex, RR_SOA);
	uint16_t rdlen;
	const uint8_t *rd = zone_rrset_rdata(soa, 0, &rdlen);
	return dns_u32(rd + rdlen - 4);
}

void zone_set_serial(zone_t *z, uint32_t serial)
{
	zone_rrset_t *soa = (zone_rrset_t *)zone_node_rrset(z->apex, RR_SOA);
	uint16_t rdlen;
	uint8_t *rd = (uint8_t *)zone_rrset_rdata(soa, 0, &rdlen);
	dns_put32(rd + rdlen - 20, serial);
	z->serial = serial;
}

uint32_t zone_max_ttl(const zone_t *z)
{
	uint32_t max = 0;
	for (uint32_t i = 0; i < z->nnodes; i++) {
		const zone_node_t *n = z->nodes[i];
		for (uint16_t k = 0; k < n->nrrsets; k++) {
			max = n->rrsets[k].ttl > max ? n->rrsets[k].ttl : max;
		}
	}
	return max;
}
