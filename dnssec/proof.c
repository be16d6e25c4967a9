/*  Signet: denial-of-existence proofs for responses (RFC 4035 §3.1.3, RFC 5155 §7.2).
 *
 *  Read-only over a published version, no allocation: the items added point into the zone.
 */
#include "dnssec/proof.h"

#include <string.h>

#include "dns/rrtype.h"
#include "dnssec/internal.h"

/* The NSEC3 parameters of the zone being answered from. */
struct nsec3_ctx {
	const zone_t *z;
	dnssec_nsec3_params_t p;
};

/* Add \a rs at \a node to the authority section, once. */
static void add(lookup_result_t *res, const zone_node_t *node, const zone_rrset_t *rs)
{
	if (node == NULL || rs == NULL || res->nns >= LOOKUP_NS_MAX) {
		return;
	}
	for (uint8_t i = 0; i < res->nns; i++) {
		if (res->ns[i].rrset == rs) {
			return;
		}
	}
	lookup_item_t *it = &res->ns[res->nns++];
	it->owner = node->owner;
	it->rrset = rs;
	it->node = node;
	it->ttl = rs->ttl;
	it->flags = LOOKUP_DNSSEC;
}

/* "*.<name>" into \a out; false when too long. */
static bool wildcard_of(uint8_t *out, const uint8_t *name)
{
	size_t len = dname_len(name);
	if (len + 2 > DNAME_MAX) {
		return false;
	}
	out[0] = 1;
	out[1] = '*';
	memcpy(out + 2, name, len);
	return true;
}

/* --- NSEC ------------------------------------------------------------------------------ */

/* The NSEC owned by \a name, or else the one covering it: the last node at or before it in
 * canonical order that has one (empty non-terminals, glue and occluded names have none). */
static void add_nsec(const zone_t *z, lookup_result_t *res, const uint8_t *name)
{
	const zone_node_t *node = zone_find_predecessor(z, name);
	uint32_t i = node->index;
	for (uint32_t step = 0; step < z->nnodes; step++) {
		node = z->nodes[i];
		const zone_rrset_t *nsec = zone_node_rrset(node, RR_NSEC);
		if (nsec != NULL) {
			add(res, node, nsec);
			return;
		}
		i = i == 0 ? z->nnodes - 1 : i - 1;
	}
}

/* --- NSEC3 ----------------------------------------------------------------------------- */

static const zone_node_t *nsec3_find(const struct nsec3_ctx *c, const uint8_t *name, bool covering)
{
	uint8_t hash[DNSSEC_NSEC3_HASH_LEN];
	uint8_t owner[DNAME_MAX];
	dnssec_nsec3_hash(hash, name, c->p.iterations, c->p.salt, c->p.salt_len);
	if (dnssec_nsec3_hash_owner(owner, hash, c->z->apex_name) < 0) {
		return NULL;
	}
	return zone_find_nsec3(c->z, owner, covering);
}

static void add_nsec3(const struct nsec3_ctx *c, lookup_result_t *res, const uint8_t *name,
		      bool covering)
{
	const zone_node_t *node = nsec3_find(c, name, covering);
	if (node != NULL) {
		add(res, node, zone_node_rrset(node, RR_NSEC3));
	}
}

/*
 * RFC 5155 §7.2.1 closest (provable) encloser proof for \a name: the NSEC3 matching the
 * closest ancestor of \a name, at most \a labels labels long, that has one, and the NSEC3
 * covering the next closer name. Returns that encloser (a suffix of \a name), or NULL.
 */
static const uint8_t *nsec3_encloser_proof(const struct nsec3_ctx *c, lookup_result_t *res,
					   const uint8_t *name, int labels)
{
	int name_labels = dname_labels(name);
	for (int l = labels; l >= c->z->apex_labels; l--) {
		const uint8_t *ce = dname_suffix(name, l);
		const zone_node_t *match = nsec3_find(c, ce, false);
		if (match == NULL) {
			continue; /* e.g. an insecure delegation left out by opt-out */
		}
		add(res, match, zone_node_rrset(match, RR_NSEC3));
		if (l < name_labels) {
			add_nsec3(c, res, dname_suffix(name, l + 1), true);
		}
		return ce;
	}
	return NULL;
}

/* --- the cases ------------------------------------------------------------------------- */

/* \a owner was answered from the wildcard \a wc: prove that \a owner itself does not exist
 * (RFC 4035 §3.1.3.3, RFC 5155 §7.2.6). */
static void prove_expansion(const zone_t *z, const struct nsec3_ctx *c, lookup_result_t *res,
			    const uint8_t *owner, const zone_node_t *wc)
{
	if (c == NULL) {
		add_nsec(z, res, owner);
		return;
	}
	int ce_labels = wc->labels - 1;
	if (dname_labels(owner) > ce_labels) {
		add_nsec3(c, res, dname_suffix(owner, ce_labels + 1), true);
	}
}

static void prove_nxdomain(const zone_t *z, const struct nsec3_ctx *c, lookup_result_t *res)
{
	uint8_t wild[DNAME_MAX];
	const uint8_t *ce = res->encloser->owner;
	if (c == NULL) {
		add_nsec(z, res, res->name);
		if (wildcard_of(wild, ce)) {
			add_nsec(z, res, wild);
		}
		return;
	}
	ce = nsec3_encloser_proof(c, res, res->name, res->encloser->labels);
	if (ce != NULL && wildcard_of(wild, ce)) {
		add_nsec3(c, res, wild, true);
	}
}

static void prove_nodata(const zone_t *z, const struct nsec3_ctx *c, lookup_result_t *res)
{
	const zone_node_t *node = zone_find(z, res->name);
	if (node == NULL) {
		/* Wildcard NODATA (RFC 4035 §3.1.3.4, RFC 5155 §7.2.5): no exact match, and the
		 * wildcard that matched has no such type. */
		const zone_node_t *wc = res->encloser->wildcard;
		if (c == NULL) {
			add_nsec(z, res, res->name);
			if (wc != NULL) {
				add_nsec(z, res, wc->owner);
			}
		} else {
			nsec3_encloser_proof(c, res, res->name, res->encloser->labels);
			if (wc != NULL) {
				add_nsec3(c, res, wc->owner, false);
			}
		}
		return;
	}
	if (c == NULL) {
		add_nsec(z, res, node->owner); /* an empty non-terminal gets the covering one */
		return;
	}
	const zone_node_t *match = nsec3_find(c, node->owner, false);
	if (match != NULL) {
		add(res, match, zone_node_rrset(match, RR_NSEC3));
	} else {
		/* DS at a delegation left out by opt-out (RFC 5155 §7.2.4). */
		nsec3_encloser_proof(c, res, node->owner, node->labels);
	}
}

static void prove_referral(const zone_t *z, const struct nsec3_ctx *c, lookup_result_t *res)
{
	const zone_node_t *cut = res->cut;
	if (cut == NULL || zone_node_rrset(cut, RR_DS) != NULL) {
		return; /* the lookup put the DS there */
	}
	/* No DS: the NSEC/NSEC3 at the cut, whose bitmap has no DS (RFC 4035 §3.1.4,
	 * RFC 5155 §7.2.7: with opt-out, the closest provable encloser proof). */
	if (c == NULL) {
		add_nsec(z, res, cut->owner);
		return;
	}
	const zone_node_t *match = nsec3_find(c, cut->owner, false);
	if (match != NULL) {
		add(res, match, zone_node_rrset(match, RR_NSEC3));
	} else {
		nsec3_encloser_proof(c, res, cut->owner, cut->labels);
	}
}

void dnssec_add_proofs(const zone_t *z, lookup_result_t *res)
{
	struct nsec3_ctx n3 = { .z = z };
	const struct nsec3_ctx *c = NULL;

	if (z->nnsec3 > 0 && dnssec_nsec3_params_get(z, &n3.p)) {
		c = &n3;
	} else if (zone_node_rrset(z->apex, RR_NSEC) == NULL) {
		return; /* not signed */
	}
	/* Every wildcard expansion on the way, a CNAME chain's included. */
	for (uint8_t i = 0; i < res->nan; i++) {
		const lookup_item_t *it = &res->an[i];
		if ((it->flags & LOOKUP_WILDCARD) && it->node != NULL) {
			prove_expansion(z, c, res, it->owner, it->node);
		}
	}
	switch (res->kind) {
	case LOOKUP_NXDOMAIN:
		prove_nxdomain(z, c, res);
		break;
	case LOOKUP_NODATA:
		prove_nodata(z, c, res);
		break;
	case LOOKUP_REFERRAL:
		prove_referral(z, c, res);
		break;
	default:
		break;
	}
}
