#include "zones/lookup.h"

#include <string.h>

#include "dns/pkt.h"
#include "dns/rrtype.h"

static void put(lookup_item_t *items, uint8_t *n, uint8_t max, const uint8_t *owner,
		const zone_rrset_t *rs, const zone_node_t *node, uint8_t flags)
{
	if (*n >= max) {
		return;
	}
	lookup_item_t *it = &items[(*n)++];
	it->owner = owner;
	it->rrset = rs;
	it->node = node;
	it->ttl = rs->ttl;
	it->flags = flags;
}

static void put_an(lookup_result_t *res, const uint8_t *owner, const zone_rrset_t *rs,
		   const zone_node_t *node, uint8_t flags)
{
	put(res->an, &res->nan, LOOKUP_AN_MAX, owner, rs, node, flags);
}

/* The SOA for a negative answer, its TTL min(SOA TTL, MINIMUM) (RFC 2308 §3). */
static void put_soa_negative(const zone_t *z, lookup_result_t *res)
{
	const zone_rrset_t *soa = zone_node_rrset(z->apex, RR_SOA);
	if (soa == NULL) {
		return;
	}
	uint32_t min = zone_soa_minimum(z);
	put(res->ns, &res->nns, LOOKUP_NS_MAX, z->apex_name, soa, z->apex, 0);
	if (min < soa->ttl) {
		res->ns[res->nns - 1].ttl = min;
	}
}

/* A and AAAA of an in-zone name to the additional section, once per node. */
static void put_addresses(const zone_t *z, lookup_result_t *res, const uint8_t *target)
{
	uint8_t lc[DNAME_MAX];
	dname_copy_lower(lc, target);
	if (!dname_is_sub(lc, z->apex_name)) {
		return;
	}
	const zone_node_t *node = zone_find(z, lc);
	if (node == NULL) {
		return;
	}
	for (uint8_t i = 0; i < res->nad; i++) {
		if (res->ad[i].node == node) {
			return;
		}
	}
	uint8_t flags = (node->flags & ZONE_NODE_NONAUTH) ? LOOKUP_GLUE : 0;
	const zone_rrset_t *a = zone_node_rrset(node, RR_A);
	const zone_rrset_t *aaaa = zone_node_rrset(node, RR_AAAA);
	if (a != NULL) {
		put(res->ad, &res->nad, LOOKUP_AD_MAX, node->owner, a, node, flags);
	}
	if (aaaa != NULL) {
		put(res->ad, &res->nad, LOOKUP_AD_MAX, node->owner, aaaa, node, flags);
	}
}

/* Where the target name sits in the RDATA of types that name a host. */
static const uint8_t *rdata_target(uint16_t type, const uint8_t *rd)
{
	switch (type) {
	case RR_NS:
		return rd;
	case RR_MX:
		return rd + 2;
	case RR_SRV:
		return rd + 6;
	default:
		return NULL;
	}
}

static void additional_for(const zone_t *z, lookup_result_t *res, const zone_rrset_t *rs)
{
	uint32_t pos = 0;
	uint16_t rdlen;
	const uint8_t *rd;
	if (rs->type != RR_NS && rs->type != RR_MX && rs->type != RR_SRV) {
		return;
	}
	while ((rd = zone_rrset_next(rs, &pos, &rdlen)) != NULL) {
		put_addresses(z, res, rdata_target(rs->type, rd));
	}
}

static void referral(const zone_t *z, const zone_node_t *cut, lookup_result_t *res)
{
	const zone_rrset_t *ns = zone_node_rrset(cut, RR_NS);
	res->kind = LOOKUP_REFERRAL;
	res->cut = cut;
	if (res->nan == 0) {
		res->aa = false;
	}
	put(res->ns, &res->nns, LOOKUP_NS_MAX, cut->owner, ns, cut, 0);
	const zone_rrset_t *ds = zone_node_rrset(cut, RR_DS);
	if (ds != NULL) {
		put(res->ns, &res->nns, LOOKUP_NS_MAX, cut->owner, ds, cut, LOOKUP_DNSSEC);
	}
	additional_for(z, res, ns);
}

/* Answer from \a node (exact match, or a wildcard expanded to \a owner). Returns the
 * CNAME target to follow, or NULL. */
static const uint8_t *answer_node(const zone_t *z, const zone_node_t *node, const uint8_t *owner,
				  uint16_t qtype, unsigned flags, uint8_t iflags,
				  lookup_result_t *res)
{
	if (qtype == RR_ANY && node->nrrsets > 0) {
		for (uint16_t i = 0; i < node->nrrsets; i++) {
			const zone_rrset_t *rs = &node->rrsets[i];
			if (rs->type == RR_RRSIG) {
				continue;
			}
			put_an(res, owner, rs, node, iflags);
			additional_for(z, res, rs);
			if (!(flags & LOOKUP_ANY_FULL)) {
				break;
			}
		}
		res->kind = LOOKUP_ANSWER;
		return NULL;
	}
	const zone_rrset_t *rs = zone_node_rrset(node, qtype);
	if (rs != NULL) {
		put_an(res, owner, rs, node, iflags);
		res->kind = LOOKUP_ANSWER;
		additional_for(z, res, rs);
		return NULL;
	}
	const zone_rrset_t *cname = zone_node_rrset(node, RR_CNAME);
	if (cname != NULL) {
		put_an(res, owner, cname, node, iflags);
		res->kind = LOOKUP_CHAIN;
		return cname->rdata + 2;
	}
	res->kind = LOOKUP_NODATA;
	put_soa_negative(z, res);
	return NULL;
}

/* Synthesize the CNAME for \a name under the DNAME at \a cut (RFC 6672 §2.2).
 * Returns the new name (in \a res storage), or NULL when it would be too long. */
static const uint8_t *dname_synth(const zone_node_t *cut, const uint8_t *name, int step,
				  lookup_result_t *res)
{
	const zone_rrset_t *dn = zone_node_rrset(cut, RR_DNAME);
	const uint8_t *target = dn->rdata + 2;
	uint8_t *rdata = res->synth_rdata[step];
	int len = dname_replace_suffix(rdata + 2, name, cut->owner, target);
	if (len < 0) {
		return NULL;
	}
	dns_put16(rdata, (uint16_t)len);
	zone_rrset_t *rs = &res->synth[step];
	memset(rs, 0, sizeof(*rs));
	rs->type = RR_CNAME;
	rs->count = 1;
	rs->ttl = dn->ttl;
	rs->len = 2u + (uint32_t)len;
	rs->rdata = rdata;
	put_an(res, name, rs, NULL, LOOKUP_SYNTH);
	return rdata + 2;
}

static bool seen_before(const lookup_result_t *res, int step, const uint8_t *name)
{
	for (int i = 0; i < step; i++) {
		if (dname_equal(res->names[i], name)) {
			return true;
		}
	}
	return false;
}

void zone_lookup(const zone_t *z, const uint8_t *qname_lc, uint16_t qtype, unsigned flags,
		 lookup_result_t *res)
{
	const uint8_t *name = qname_lc;
	res->rcode = 0;
	res->aa = true;
	res->nan = res->nns = res->nad = 0;
	res->wildcard = NULL;
	res->cut = NULL;

	for (int step = 0;; step++) {
		const zone_node_t *enc = zone_find_encloser(z, name);
		bool exact = enc->labels == dname_labels(name);
		const zone_node_t *cut = enc->cut;
		const uint8_t *next = NULL;

		res->name = name;
		res->encloser = enc;
		if (cut != NULL && (cut->flags & ZONE_NODE_DELEG)) {
			if (!(cut == enc && exact && qtype == RR_DS)) {
				referral(z, cut, res);
				return;
			}
		} else if (cut != NULL && !(cut == enc && exact)) {
			/* DNAME above the name: answer the DNAME and its synthesized CNAME. */
			put_an(res, cut->owner, zone_node_rrset(cut, RR_DNAME), cut, 0);
			next = dname_synth(cut, name, step, res);
			if (next == NULL) {
				res->rcode = 6; /* YXDOMAIN (RFC 6672 §2.2) */
				res->kind = LOOKUP_CHAIN;
				return;
			}
			res->kind = LOOKUP_CHAIN;
			if (qtype == RR_CNAME) {
				res->kind = LOOKUP_ANSWER; /* the synthesized CNAME answers */
				return;
			}
		}
		if (next == NULL) {
			if (exact) {
				next = answer_node(z, enc, name, qtype, flags, 0, res);
			} else if (enc->wildcard != NULL) {
				res->wildcard = enc->wildcard;
				next = answer_node(z, enc->wildcard, name, qtype, flags,
						   LOOKUP_WILDCARD, res);
			} else {
				res->kind = LOOKUP_NXDOMAIN;
				res->rcode = 3;
				put_soa_negative(z, res);
				return;
			}
		}
		if (next == NULL) {
			return;
		}
		/* Follow a CNAME or synthesized CNAME while it stays in the zone. */
		if (step + 1 >= LOOKUP_CHAIN_MAX) {
			return;
		}
		uint8_t *lc = res->names[step + 1];
		dname_copy_lower(lc, next);
		if (step == 0) {
			dname_copy_lower(res->names[0], qname_lc);
		}
		if (!dname_is_sub(lc, z->apex_name) || seen_before(res, step + 1, lc)) {
			return;
		}
		name = lc;
	}
}
