#include "zones/builder.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns/err.h"
#include "dns/log.h"
#include "dns/pkt.h"
#include "dns/rdata.h"
#include "dns/rrtype.h"
#include "zones/internal.h"

/* One record as added: everything lives in the pool, referenced by offset. */
struct brr {
	uint32_t owner; /* owner id */
	uint16_t type;
	uint16_t rdlen;
	uint32_t ttl;
	uint32_t seq;
	size_t rdata;
	size_t where;
};

struct bowner {
	size_t name; /* pool offset of the lower-case wire name */
	uint32_t hash;
	uint32_t hnext; /* next id in the bucket, or NONE */
	uint32_t rank;  /* canonical position */
	uint8_t len;
};

#define NONE UINT32_MAX

struct zone_builder {
	uint8_t apex[DNAME_MAX];
	size_t apex_len;
	uint8_t *pool;
	size_t pool_len, pool_cap;
	struct brr *rrs;
	size_t nrrs, cap_rrs;
	struct bowner *owners;
	uint32_t nowners, cap_owners;
	uint32_t *buckets;
	uint32_t nbuckets;
	size_t max_records;
	size_t errors;
	bool set_serial;
	uint32_t serial;
	zone_diag_fn diag;
	void *diag_ud;
};

static void diag_log(void *ud, int level, const char *where, const char *msg)
{
	if (where != NULL) {
		log_msg((enum log_level)level, "zone", "%s: %s", where, msg);
	} else {
		log_msg((enum log_level)level, "zone", "%s", msg);
	}
}

void zone_builder_report(zone_builder_t *b, int level, const char *where, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (level <= LOG_ERR) {
		b->errors++;
	}
	b->diag(b->diag_ud, level, where, msg);
}

size_t zone_builder_errors(const zone_builder_t *b)
{
	return b->errors;
}

int zone_builder_new(zone_builder_t **out, const uint8_t *apex)
{
	zone_builder_t *b = calloc(1, sizeof(*b));
	if (b == NULL) {
		return -ENOMEM;
	}
	b->apex_len = dname_copy_lower(b->apex, apex);
	b->diag = diag_log;
	b->nbuckets = 1024;
	b->buckets = malloc(b->nbuckets * sizeof(uint32_t));
	if (b->buckets == NULL) {
		free(b);
		return -ENOMEM;
	}
	memset(b->buckets, 0xff, b->nbuckets * sizeof(uint32_t));
	*out = b;
	return E_OK;
}

void zone_builder_set_diag(zone_builder_t *b, zone_diag_fn fn, void *ud)
{
	b->diag = fn != NULL ? fn : diag_log;
	b->diag_ud = ud;
}

void zone_builder_set_limit(zone_builder_t *b, size_t max_records)
{
	b->max_records = max_records;
}

const uint8_t *zone_builder_apex(const zone_builder_t *b)
{
	return b->apex;
}

void zone_builder_free(zone_builder_t *b)
{
	if (b == NULL) {
		return;
	}
	free(b->pool);
	free(b->rrs);
	free(b->owners);
	free(b->buckets);
	free(b);
}

static int pool_put(zone_builder_t *b, const void *data, size_t len, size_t *off)
{
	if (b->pool_len + len > b->pool_cap) {
		size_t cap = b->pool_cap ? b->pool_cap * 2 : 65536;
		while (cap < b->pool_len + len) {
			cap *= 2;
		}
		uint8_t *p = realloc(b->pool, cap);
		if (p == NULL) {
			return -ENOMEM;
		}
		b->pool = p;
		b->pool_cap = cap;
	}
	*off = b->pool_len;
	memcpy(b->pool + b->pool_len, data, len);
	b->pool_len += len;
	return E_OK;
}

static int rehash(zone_builder_t *b)
{
	uint32_t n = b->nbuckets * 2;
	uint32_t *nb = malloc(n * sizeof(uint32_t));
	if (nb == NULL) {
		return -ENOMEM;
	}
	memset(nb, 0xff, n * sizeof(uint32_t));
	for (uint32_t i = 0; i < b->nowners; i++) {
		uint32_t h = b->owners[i].hash & (n - 1);
		b->owners[i].hnext = nb[h];
		nb[h] = i;
	}
	free(b->buckets);
	b->buckets = nb;
	b->nbuckets = n;
	return E_OK;
}

/* The id of a lower-case owner name, inserted when new. */
static int owner_id(zone_builder_t *b, const uint8_t *name, size_t len, uint32_t *id)
{
	uint32_t h = dname_hash(name);
	for (uint32_t i = b->buckets[h & (b->nbuckets - 1)]; i != NONE; i = b->owners[i].hnext) {
		if (b->owners[i].len == len &&
		    memcmp(b->pool + b->owners[i].name, name, len) == 0) {
			*id = i;
			return E_OK;
		}
	}
	if (b->nowners == b->cap_owners) {
		uint32_t cap = b->cap_owners ? b->cap_owners * 2 : 1024;
		struct bowner *o = realloc(b->owners, cap * sizeof(*o));
		if (o == NULL) {
			return -ENOMEM;
		}
		b->owners = o;
		b->cap_owners = cap;
	}
	struct bowner *o = &b->owners[b->nowners];
	int ret = pool_put(b, name, len, &o->name);
	if (ret != E_OK) {
		return ret;
	}
	o->len = (uint8_t)len;
	o->hash = h;
	o->hnext = b->buckets[h & (b->nbuckets - 1)];
	b->buckets[h & (b->nbuckets - 1)] = b->nowners;
	*id = b->nowners++;
	if (b->nowners > b->nbuckets) {
		return rehash(b);
	}
	return E_OK;
}

int zone_builder_add(zone_builder_t *b, const uint8_t *owner, uint16_t type, uint32_t ttl,
		     const uint8_t *rdata, uint16_t rdlen, const char *where)
{
	uint8_t lc[DNAME_MAX];
	char tname[16];
	int ret;

	if (dname_check(owner, DNAME_MAX) < 0) {
		zone_builder_report(b, LOG_ERR, where, "bad owner name");
		return E_MALFORMED;
	}
	size_t len = dname_copy_lower(lc, owner);
	if (!dname_is_sub(lc, b->apex)) {
		char name[DNAME_STR_MAX], apex[DNAME_STR_MAX];
		dname_to_str(name, sizeof(name), lc);
		dname_to_str(apex, sizeof(apex), b->apex);
		zone_builder_report(b, LOG_WARN, where, "%s is outside the zone %s, ignored", name,
				    apex);
		return E_OK;
	}
	if (rrtype_is_meta(type)) {
		snprintf(tname, sizeof(tname), "TYPE%u", type);
		zone_builder_report(b, LOG_ERR, where, "type %s cannot be in a zone", tname);
		return E_MALFORMED;
	}
	if (dns_rdata_valid(type, rdata, rdlen) != E_OK) {
		snprintf(tname, sizeof(tname), "TYPE%u", type);
		zone_builder_report(b, LOG_ERR, where, "RDATA does not fit type %s", tname);
		return E_MALFORMED;
	}
	if (b->max_records != 0 && b->nrrs >= b->max_records) {
		if (b->nrrs == b->max_records) {
			zone_builder_report(b, LOG_ERR, where, "zone has more than %zu records",
					    b->max_records);
			b->nrrs++; /* report once */
		}
		return E_ZONE_TOOBIG;
	}
	if (b->nrrs >= b->cap_rrs) {
		size_t cap = b->cap_rrs ? b->cap_rrs * 2 : 4096;
		struct brr *r = realloc(b->rrs, cap * sizeof(*r));
		if (r == NULL) {
			return -ENOMEM;
		}
		b->rrs = r;
		b->cap_rrs = cap;
	}
	struct brr *r = &b->rrs[b->nrrs];
	ret = owner_id(b, lc, len, &r->owner);
	if (ret == E_OK) {
		ret = pool_put(b, rdata, rdlen, &r->rdata);
	}
	if (ret == E_OK) {
		const char *w = where != NULL ? where : "";
		ret = pool_put(b, w, strlen(w) + 1, &r->where);
	}
	if (ret != E_OK) {
		return ret;
	}
	r->type = type;
	r->rdlen = rdlen;
	r->ttl = ttl;
	r->seq = (uint32_t)b->nrrs;
	b->nrrs++;
	return E_OK;
}

static int add_node(zone_builder_t *b, const zone_node_t *node, bool skip_dnssec)
{
	for (uint16_t i = 0; i < node->nrrsets; i++) {
		const zone_rrset_t *rs = &node->rrsets[i];
		uint32_t pos = 0;
		uint16_t rdlen;
		const uint8_t *rd;
		if (skip_dnssec && zone_type_is_dnssec(rs->type)) {
			continue;
		}
		while ((rd = zone_rrset_next(rs, &pos, &rdlen)) != NULL) {
			int ret = zone_builder_add(b, node->owner, rs->type, rs->ttl, rd, rdlen,
						   NULL);
			if (ret != E_OK) {
				return ret;
			}
		}
	}
	return E_OK;
}

int zone_builder_add_zone(zone_builder_t *b, const zone_t *z, bool skip_dnssec)
{
	int ret = E_OK;
	for (uint32_t i = 0; ret == E_OK && i < z->nnodes; i++) {
		ret = add_node(b, z->nodes[i], skip_dnssec);
	}
	for (uint32_t i = 0; ret == E_OK && !skip_dnssec && i < z->nnsec3; i++) {
		ret = add_node(b, z->nsec3[i], skip_dnssec);
	}
	return ret;
}

int zone_builder_serial(const zone_builder_t *b, uint32_t *serial)
{
	for (size_t i = 0; i < b->nrrs; i++) {
		const struct brr *r = &b->rrs[i];
		if (r->type == RR_SOA && b->owners[r->owner].len == b->apex_len &&
		    memcmp(b->pool + b->owners[r->owner].name, b->apex, b->apex_len) == 0 &&
		    r->rdlen >= 20) {
			*serial = dns_u32(b->pool + r->rdata + r->rdlen - 20);
			return E_OK;
		}
	}
	return E_ZONE_NOSOA;
}

void zone_builder_set_serial(zone_builder_t *b, uint32_t serial)
{
	b->set_serial = true;
	b->serial = serial;
}

struct sort_ctx {
	const zone_builder_t *b;
	const uint8_t *keys;
	const size_t *key_off;
	const uint16_t *key_len;
};

static int owner_cmp(const void *x, const void *y, void *arg)
{
	const struct sort_ctx *c = arg;
	uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;
	uint16_t la = c->key_len[a], lb = c->key_len[b];
	int r = memcmp(c->keys + c->key_off[a], c->keys + c->key_off[b], la < lb ? la : lb);
	return r != 0 ? r : (la > lb) - (la < lb);
}

static int rr_cmp(const void *x, const void *y, void *arg)
{
	const zone_builder_t *b = arg;
	const struct brr *p = x, *q = y;
	uint32_t ra = b->owners[p->owner].rank, rb = b->owners[q->owner].rank;
	if (ra != rb) {
		return ra < rb ? -1 : 1;
	}
	if (p->type != q->type) {
		return p->type < q->type ? -1 : 1;
	}
	uint16_t l = p->rdlen < q->rdlen ? p->rdlen : q->rdlen;
	int r = memcmp(b->pool + p->rdata, b->pool + q->rdata, l);
	if (r != 0) {
		return r;
	}
	if (p->rdlen != q->rdlen) {
		return p->rdlen < q->rdlen ? -1 : 1;
	}
	return (p->seq > q->seq) - (p->seq < q->seq);
}

/* Empty non-terminals: every ancestor of an owner, up to the apex, is a node. */
static int add_ancestors(zone_builder_t *b)
{
	uint32_t apex_id;
	int ret = owner_id(b, b->apex, b->apex_len, &apex_id);
	for (uint32_t i = 0; ret == E_OK && i < b->nowners; i++) {
		const uint8_t *name = b->pool + b->owners[i].name;
		if (b->owners[i].len == b->apex_len) {
			continue;
		}
		uint8_t parent[DNAME_MAX];
		size_t plen = b->owners[i].len - 1u - name[0];
		memcpy(parent, name + 1 + name[0], plen);
		uint32_t id;
		ret = owner_id(b, parent, plen, &id);
	}
	return ret;
}

static int rank_owners(zone_builder_t *b)
{
	int ret = -ENOMEM;
	uint32_t *order = malloc(b->nowners * sizeof(uint32_t));
	size_t *key_off = malloc(b->nowners * sizeof(size_t));
	uint16_t *key_len = malloc(b->nowners * sizeof(uint16_t));
	size_t total = 0;
	for (uint32_t i = 0; i < b->nowners; i++) {
		total += 2u * b->owners[i].len;
	}
	uint8_t *keys = malloc(total + 1);
	if (order == NULL || key_off == NULL || key_len == NULL || keys == NULL) {
		goto out;
	}
	size_t k = 0;
	for (uint32_t i = 0; i < b->nowners; i++) {
		order[i] = i;
		key_off[i] = k;
		key_len[i] = (uint16_t)zone_canon_key(keys + k, b->pool + b->owners[i].name);
		k += key_len[i];
	}
	struct sort_ctx ctx = { b, keys, key_off, key_len };
	qsort_r(order, b->nowners, sizeof(uint32_t), owner_cmp, &ctx);
	for (uint32_t i = 0; i < b->nowners; i++) {
		b->owners[order[i]].rank = i;
	}
	ret = E_OK;
out:
	free(keys);
	free(key_len);
	free(key_off);
	free(order);
	return ret;
}

static const char *rr_where(const zone_builder_t *b, const struct brr *r)
{
	const char *w = (const char *)b->pool + r->where;
	return *w ? w : NULL;
}

static void name_str(char *buf, size_t len, const uint8_t *name)
{
	dname_to_str(buf, len, name);
}

/* Group the sorted records of one node into RRsets. */
static int build_node(zone_builder_t *b, zone_t *z, zone_node_t *node, const struct brr *rr,
		      size_t n)
{
	char name[DNAME_STR_MAX];
	uint16_t nsets = 0;
	for (size_t i = 0; i < n; i++) {
		if (i == 0 || rr[i].type != rr[i - 1].type) {
			nsets++;
		}
	}
	node->nrrsets = nsets;
	node->rrsets = zone_mem_alloc(z->mem, nsets * sizeof(zone_rrset_t));
	if (node->rrsets == NULL) {
		return -ENOMEM;
	}
	size_t i = 0;
	for (uint16_t s = 0; s < nsets; s++) {
		size_t j = i, bytes = 0;
		const struct brr *first = &rr[i];
		uint16_t count = 0;
		for (; j < n && rr[j].type == rr[i].type; j++) {
			if (j > i && rr[j].rdlen == rr[j - 1].rdlen &&
			    memcmp(b->pool + rr[j].rdata, b->pool + rr[j - 1].rdata, rr[j].rdlen) ==
				    0) {
				continue; /* duplicate */
			}
			bytes += 2u + rr[j].rdlen;
			count++;
			if (rr[j].seq < first->seq) {
				first = &rr[j];
			}
		}
		zone_rrset_t *rs = &node->rrsets[s];
		rs->type = rr[i].type;
		rs->count = count;
		rs->ttl = first->ttl;
		rs->len = (uint32_t)bytes;
		rs->sigs = NULL;
		rs->rdata = zone_mem_alloc(z->mem, bytes);
		if (rs->rdata == NULL) {
			return -ENOMEM;
		}
		size_t pos = 0;
		bool warned = false;
		for (size_t k = i; k < j; k++) {
			if (k > i && rr[k].rdlen == rr[k - 1].rdlen &&
			    memcmp(b->pool + rr[k].rdata, b->pool + rr[k - 1].rdata, rr[k].rdlen) ==
				    0) {
				continue;
			}
			/* RRSIGs of one owner cover RRsets of different TTLs: not a mistake. */
			if (rr[k].ttl != rs->ttl && !warned && rs->type != RR_RRSIG) {
				warned = true;
				name_str(name, sizeof(name), node->owner);
				zone_builder_report(
					b, LOG_WARN, rr_where(b, &rr[k]),
					"TTL %u differs within the RRset of %s, using %u",
					rr[k].ttl, name, rs->ttl);
			}
			dns_put16(rs->rdata + pos, rr[k].rdlen);
			memcpy(rs->rdata + pos + 2, b->pool + rr[k].rdata, rr[k].rdlen);
			pos += 2u + rr[k].rdlen;
		}
		z->nrecords += count;
		i = j;
	}
	return E_OK;
}

/* Zone-level checks on one node; returns the first error, reporting each. */
static int check_node(zone_builder_t *b, const zone_node_t *node, const struct brr *rr, size_t n)
{
	char name[DNAME_STR_MAX];
	int ret = E_OK;
	const zone_rrset_t *cname = zone_node_rrset(node, RR_CNAME);
	const zone_rrset_t *soa = zone_node_rrset(node, RR_SOA);

	if (cname != NULL) {
		const char *w = NULL;
		for (size_t i = 0; i < n; i++) {
			if (rr[i].type == RR_CNAME) {
				w = rr_where(b, &rr[i]);
			}
		}
		name_str(name, sizeof(name), node->owner);
		for (uint16_t i = 0; i < node->nrrsets; i++) {
			uint16_t t = node->rrsets[i].type;
			if (t != RR_CNAME && t != RR_RRSIG && t != RR_NSEC) {
				zone_builder_report(b, LOG_ERR, w, "CNAME beside other data at %s",
						    name);
				ret = E_ZONE_CNAME;
				break;
			}
		}
		if (cname->count > 1) {
			zone_builder_report(b, LOG_ERR, w, "more than one CNAME at %s", name);
			ret = E_ZONE_CNAME;
		}
	}
	if (soa != NULL && !(node->flags & ZONE_NODE_APEX)) {
		name_str(name, sizeof(name), node->owner);
		zone_builder_report(b, LOG_ERR, rr_where(b, &rr[0]), "SOA at %s, not at the apex",
				    name);
		ret = E_ZONE_MULTISOA;
	}
	if (zone_node_rrset(node, RR_DNAME) != NULL && zone_node_rrset(node, RR_DNAME)->count > 1) {
		name_str(name, sizeof(name), node->owner);
		zone_builder_report(b, LOG_ERR, rr_where(b, &rr[0]), "more than one DNAME at %s",
				    name);
		ret = E_MALFORMED;
	}
	return ret;
}

static void link_node(zone_t *z, zone_node_t *node)
{
	zone_node_t *parent = node->parent;
	bool deleg = !(node->flags & ZONE_NODE_APEX) && zone_node_rrset(node, RR_NS) != NULL;
	bool dname = zone_node_rrset(node, RR_DNAME) != NULL;
	if (deleg) {
		node->flags |= ZONE_NODE_DELEG;
	}
	if (dname) {
		node->flags |= ZONE_NODE_DNAME;
	}
	if (parent != NULL) {
		if (parent->flags & (ZONE_NODE_DELEG | ZONE_NODE_NONAUTH)) {
			node->flags |= ZONE_NODE_NONAUTH;
		}
		node->cut = parent->cut;
		if (dname_is_wildcard(node->owner)) {
			parent->wildcard = node;
		}
	}
	if (node->cut == NULL && (deleg || dname)) {
		node->cut = node;
	}
	uint32_t h = dname_hash(node->owner) & (z->nbuckets - 1);
	node->hnext = z->buckets[h];
	z->buckets[h] = node;
}

/* Each RRset's signatures are the run of the node's RRSIGs whose type covered is its type
 * (RRSIG RDATA sorts by type covered first); the RRset points at that slice. */
static int link_signatures(zone_t *z, zone_node_t *node)
{
	const zone_rrset_t *sigs = zone_node_rrset(node, RR_RRSIG);
	if (sigs == NULL) {
		return E_OK;
	}
	for (uint16_t i = 0; i < node->nrrsets; i++) {
		zone_rrset_t *rs = &node->rrsets[i];
		uint32_t pos = 0, start = 0, end = 0;
		uint16_t count = 0, rdlen;
		const uint8_t *rd;
		if (rs->type == RR_RRSIG) {
			continue;
		}
		while ((rd = zone_rrset_next(sigs, &pos, &rdlen)) != NULL) {
			if (rdlen >= 2 && dns_u16(rd) == rs->type) {
				if (count++ == 0) {
					start = pos - rdlen - 2u;
				}
				end = pos;
			}
		}
		if (count == 0) {
			continue;
		}
		zone_rrset_t *s = zone_mem_alloc(z->mem, sizeof(*s));
		if (s == NULL) {
			return -ENOMEM;
		}
		s->type = RR_RRSIG;
		s->count = count;
		s->ttl = rs->ttl;
		s->len = end - start;
		s->rdata = sigs->rdata + start;
		s->sigs = NULL;
		rs->sigs = s;
	}
	return E_OK;
}

/* A node for owner \a id, followed in memory by its name and canonical key. */
static zone_node_t *new_node(zone_t *z, const zone_builder_t *b, uint32_t id)
{
	const struct bowner *o = &b->owners[id];
	const uint8_t *name = b->pool + o->name;
	uint8_t key[2 * DNAME_MAX];
	size_t klen = zone_canon_key(key, name);
	zone_node_t *node = zone_mem_alloc(z->mem, sizeof(*node) + o->len + klen);
	if (node == NULL) {
		return NULL;
	}
	memset(node, 0, sizeof(*node));
	uint8_t *owner = (uint8_t *)(node + 1);
	memcpy(owner, name, o->len);
	memcpy(owner + o->len, key, klen);
	node->owner = owner;
	node->ckey = owner + o->len;
	node->ckey_len = (uint16_t)klen;
	node->owner_len = o->len;
	node->labels = (uint8_t)dname_labels(owner);
	return node;
}

static bool only_nsec3(const zone_node_t *node)
{
	bool nsec3 = false;
	for (uint16_t i = 0; i < node->nrrsets; i++) {
		uint16_t t = node->rrsets[i].type;
		if (t == RR_NSEC3) {
			nsec3 = true;
		} else if (t != RR_RRSIG) {
			return false;
		}
	}
	return nsec3;
}

/* NSEC3 nodes live in their own ordered array, out of the name tree, so that hashed owner
 * names neither exist for queries nor disturb wildcards and empty non-terminals. */
static int split_nsec3(zone_t *z)
{
	uint32_t n = 0, m = 0;
	for (uint32_t k = 0; k < z->nnodes; k++) {
		n += only_nsec3(z->nodes[k]) ? 1 : 0;
	}
	if (n == 0) {
		return E_OK;
	}
	z->nsec3 = calloc(n, sizeof(zone_node_t *));
	if (z->nsec3 == NULL) {
		return -ENOMEM;
	}
	for (uint32_t k = 0; k < z->nnodes; k++) {
		zone_node_t *node = z->nodes[k];
		if (only_nsec3(node)) {
			node->flags |= ZONE_NODE_NSEC3;
			node->index = z->nnsec3;
			z->nsec3[z->nnsec3++] = node;
		} else {
			node->index = m;
			z->nodes[m++] = node;
		}
	}
	z->nnodes = m;
	return E_OK;
}

int zone_builder_finish(zone_builder_t *b, zone_t **out)
{
	char apex_str[DNAME_STR_MAX];
	zone_t *z = NULL;
	int ret = add_ancestors(b);
	if (ret == E_OK) {
		ret = rank_owners(b);
	}
	if (ret != E_OK) {
		goto out;
	}
	if (b->nrrs > 0) {
		qsort_r(b->rrs, b->nrrs, sizeof(struct brr), rr_cmp, b);
	}

	ret = -ENOMEM;
	z = calloc(1, sizeof(*z));
	if (z == NULL) {
		goto out;
	}
	z->refs = 1;
	if ((z->mem = zone_mem_new()) == NULL) {
		goto out;
	}
	z->nnodes = b->nowners;
	z->nodes = calloc(z->nnodes, sizeof(zone_node_t *));
	z->nbuckets = 1;
	while (z->nbuckets < z->nnodes) {
		z->nbuckets <<= 1;
	}
	z->buckets = calloc(z->nbuckets, sizeof(zone_node_t *));
	if (z->nodes == NULL || z->buckets == NULL) {
		goto out;
	}
	/*
	 * Nodes in canonical order, each in one stretch of memory with what an answer reads
	 * after finding it: the node, its owner name and canonical key (at addresses a lookup
	 * computes without loading a pointer), its RRsets, their RDATA and signature slices.
	 */
	uint32_t *by_rank = malloc(b->nowners * sizeof(uint32_t));
	if (by_rank == NULL) {
		goto out;
	}
	for (uint32_t k = 0; k < b->nowners; k++) {
		by_rank[b->owners[k].rank] = k;
	}
	size_t i = 0; /* records are sorted by node rank */
	int check = E_OK;
	for (uint32_t r = 0; r < z->nnodes; r++) {
		zone_node_t *node = new_node(z, b, by_rank[r]);
		if (node == NULL) {
			ret = -ENOMEM;
			break;
		}
		node->index = r;
		node->flags = r == 0 ? ZONE_NODE_APEX : 0;
		z->nodes[r] = node;
		ret = E_OK;
		if (i == b->nrrs || b->rrs[i].owner != by_rank[r]) {
			continue; /* an empty non-terminal */
		}
		size_t j = i;
		while (j < b->nrrs && b->rrs[j].owner == by_rank[r]) {
			j++;
		}
		ret = build_node(b, z, node, &b->rrs[i], j - i);
		if (ret == E_OK) {
			ret = link_signatures(z, node);
		}
		if (ret != E_OK) {
			break;
		}
		int c = check_node(b, node, &b->rrs[i], j - i);
		if (c != E_OK && check == E_OK) {
			check = c;
		}
		i = j;
	}
	free(by_rank);
	if (ret != E_OK) {
		goto out;
	}
	z->apex = z->nodes[0];
	z->apex_name = z->apex->owner;
	z->apex_len = z->apex->owner_len;
	z->apex_labels = z->apex->labels;

	ret = split_nsec3(z);
	if (ret == E_OK) {
		ret = zone_index_prefixes(z);
	}
	if (ret != E_OK) {
		goto out;
	}

	/* Parents, flags, wildcards, cuts and the hash index, in canonical order so that a
	 * parent is always done before its children. */
	for (uint32_t k = 0; k < z->nnodes; k++) {
		zone_node_t *node = z->nodes[k];
		if (k > 0) {
			node->parent = (zone_node_t *)zone_find(z, dname_parent(node->owner));
		}
		link_node(z, node);
	}

	dname_to_str(apex_str, sizeof(apex_str), z->apex_name);
	const zone_rrset_t *soa = zone_node_rrset(z->apex, RR_SOA);
	if (soa == NULL) {
		zone_builder_report(b, LOG_ERR, NULL, "zone %s has no SOA at its apex", apex_str);
		check = check != E_OK ? check : E_ZONE_NOSOA;
	} else if (soa->count != 1) {
		zone_builder_report(b, LOG_ERR, NULL, "zone %s has %u SOA records", apex_str,
				    soa->count);
		check = check != E_OK ? check : E_ZONE_MULTISOA;
	} else {
		uint16_t rdlen;
		uint8_t *rd = (uint8_t *)zone_rrset_rdata(soa, 0, &rdlen);
		if (b->set_serial) {
			dns_put32(rd + rdlen - 20, b->serial);
		}
		z->serial = dns_u32(rd + rdlen - 20);
	}
	if (zone_node_rrset(z->apex, RR_NS) == NULL) {
		zone_builder_report(b, LOG_WARN, NULL, "zone %s has no NS at its apex", apex_str);
	}
	if (check == E_OK && b->errors > 0) {
		check = E_ZONE_SYNTAX;
	}
	ret = check;
out:
	if (ret != E_OK) {
		zone_free(z);
		z = NULL;
	}
	zone_builder_free(b);
	*out = z;
	return ret;
}
