/*  Signet: the normalized in-memory zone.
 *
 *  A zone_t is one immutable version of a zone: every node in RFC 4034 canonical order,
 *  a hash index over the lower-cased owner names, and per node its RRsets in wire form.
 *  Versions are built by zones/builder.h, published by an atomic pointer swap and only
 *  read afterwards; readers never lock.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dns/name.h"
#include "dns/rrtype.h"

/*! One RRset: all RRs of one owner and type, RDATA in uncompressed wire form. */
typedef struct zone_rrset {
	uint16_t type;
	uint16_t count; /*!< number of RRs */
	uint32_t ttl;
	uint32_t len;   /*!< bytes at rdata */
	uint8_t *rdata; /*!< count × (16-bit RDLENGTH, RDATA), RFC 4034 canonical RDATA order */
	struct zone_rrset *sigs; /*!< RRSIGs covering this RRset, NULL when unsigned */
} zone_rrset_t;

enum zone_node_flags {
	ZONE_NODE_DELEG = 1 << 0,   /*!< NS below the apex: a zone cut */
	ZONE_NODE_NONAUTH = 1 << 1, /*!< strictly below a zone cut (glue or occluded) */
	ZONE_NODE_DNAME = 1 << 2,   /*!< owns a DNAME */
	ZONE_NODE_APEX = 1 << 3,
	ZONE_NODE_NSEC3 = 1 << 4, /*!< holds only NSEC3 (and its RRSIGs): kept out of the tree */
};

/*! One owner name. Empty non-terminals are nodes with no RRsets. */
typedef struct zone_node {
	const uint8_t *owner; /*!< wire form, lower case */
	uint8_t owner_len;
	uint8_t labels; /*!< labels of owner, root not counted */
	uint16_t flags; /*!< enum zone_node_flags */
	uint16_t nrrsets;
	uint32_t index;             /*!< position in canonical order */
	zone_rrset_t *rrsets;       /*!< sorted by type */
	struct zone_node *parent;   /*!< NULL at the apex */
	struct zone_node *wildcard; /*!< the child "*.<owner>", or NULL */
	struct zone_node *cut;      /*!< highest ancestor-or-self that is a zone cut (below the
				         apex) or owns a DNAME; NULL when none */
	struct zone_node *hnext;    /*!< hash chain */
	const uint8_t *ckey;        /*!< canonical sort key (zone_canon_key) of owner */
	uint16_t ckey_len;
	/* In memory the node is followed by its owner name and canonical key (zone_find
	 * reads the name there without loading the pointer), then its RRsets and RDATA. */
} zone_node_t;

/*! \brief True for the types a signer makes (and strips from its input). */
static inline bool zone_type_is_dnssec(uint16_t t)
{
	return t == RR_RRSIG || t == RR_NSEC || t == RR_NSEC3 || t == RR_NSEC3PARAM ||
	       t == RR_DNSKEY || t == RR_CDS || t == RR_CDNSKEY;
}

/*! One immutable version of a zone. */
typedef struct zone {
	const uint8_t *apex_name; /*!< lower case */
	uint8_t apex_len;
	uint8_t apex_labels;
	uint32_t serial;
	zone_node_t *apex;
	zone_node_t **nodes; /*!< canonical order, nodes[0] is the apex */
	uint32_t nnodes;
	uint32_t nrecords;     /*!< RRs, RRSIGs included */
	zone_node_t **buckets; /*!< hash index */
	uint32_t nbuckets;     /*!< a power of two */
	uint64_t *kpfx;        /*!< per node in canonical order: 8 octets of its canonical key
				    after the apex's, big-endian, zero-padded (predecessor search) */
	zone_node_t **nsec3;   /*!< NSEC3 nodes in hash order (not in the tree or the index) */
	uint32_t nnsec3;
	struct zone_mem *mem; /*!< everything above lives here */
	uint32_t refs;        /*!< references; zone_free() drops one */
} zone_t;

/*!
 * \brief The canonical sort key of \a name: its labels from the root, each followed by
 *        0x00, with 0x00 and 0x01 inside labels escaped as 0x01 0x01 and 0x01 0x02, so that
 *        memcmp of keys is RFC 4034 §6.1 order. \a key needs 2 × DNAME_MAX octets.
 */
size_t zone_canon_key(uint8_t *key, const uint8_t *name);

/*! \brief Drop a reference; the last one frees the version and everything it owns.
 *         NULL is fine. */
void zone_free(zone_t *z);

/*! \brief Take a reference (e.g. for a transfer that outlives an RCU read section). */
static inline zone_t *zone_ref(zone_t *z)
{
	__atomic_add_fetch(&z->refs, 1, __ATOMIC_RELAXED);
	return z;
}

/*! \brief The node owning exactly \a name (lower case), or NULL. */
const zone_node_t *zone_find(const zone_t *z, const uint8_t *name_lc);

/*!
 * \brief The closest encloser of \a name_lc: the deepest existing node that is \a name_lc
 *        or one of its ancestors (at worst the apex). \a name_lc must be in the zone.
 */
const zone_node_t *zone_find_encloser(const zone_t *z, const uint8_t *name_lc);

/*!
 * \brief The node that precedes \a name_lc in canonical order, or equals it when it exists;
 *        wraps to the last node when \a name_lc sorts before the apex (DNSSEC denial).
 */
const zone_node_t *zone_find_predecessor(const zone_t *z, const uint8_t *name_lc);

/*!
 * \brief The NSEC3 node whose hashed owner equals \a hash_owner (lower case), or, with
 *        \a covering, the one that precedes it in hash order (wrapping to the last).
 */
const zone_node_t *zone_find_nsec3(const zone_t *z, const uint8_t *hash_owner, bool covering);

/*! \brief The RRset of \a type at \a node, or NULL. */
const zone_rrset_t *zone_node_rrset(const zone_node_t *node, uint16_t type);

/*! \brief Pointer to the \a i-th RDATA of \a rs and its length (i < rs->count). */
const uint8_t *zone_rrset_rdata(const zone_rrset_t *rs, uint16_t i, uint16_t *rdlen);

/*! \brief Iterate RDATA: start with *pos = 0; returns NULL after the last. */
static inline const uint8_t *zone_rrset_next(const zone_rrset_t *rs, uint32_t *pos, uint16_t *rdlen)
{
	if (*pos + 2 > rs->len) {
		return NULL;
	}
	*rdlen = (uint16_t)((rs->rdata[*pos] << 8) | rs->rdata[*pos + 1]);
	const uint8_t *rd = rs->rdata + *pos + 2;
	*pos += 2u + *rdlen;
	return rd;
}

/*! \brief Set the apex SOA's serial of a version that is not published yet. */
void zone_set_serial(zone_t *z, uint32_t serial);

/*! \brief The largest TTL of any RRset in the version. */
uint32_t zone_max_ttl(const zone_t *z);

/*! \brief The SOA's fields: serial and MINIMUM, read from the apex. */
uint32_t zone_soa_minimum(const zone_t *z);
