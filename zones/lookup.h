/*  Signet: answering a question from one zone version (RFC 1034 §4.3.2, RFC 2308 negative
 *  answers, RFC 4592 wildcards, RFC 6672 DNAME, RFC 8482 ANY).
 *
 *  The lookup allocates nothing: it fills a caller-owned result with references into the
 *  zone version (and, for DNAME synthesis, into the result's own storage); the response
 *  writer copies them into the packet.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "zones/zone.h"

#define LOOKUP_CHAIN_MAX 8 /*!< CNAME and DNAME steps followed within the zone */
#define LOOKUP_AN_MAX    (2 * LOOKUP_CHAIN_MAX + 2)
#define LOOKUP_NS_MAX    10
#define LOOKUP_AD_MAX    32

enum lookup_kind {
	LOOKUP_ANSWER,   /*!< the answer section answers the question */
	LOOKUP_NODATA,   /*!< the last name exists, not with that type */
	LOOKUP_NXDOMAIN, /*!< the last name does not exist */
	LOOKUP_REFERRAL, /*!< the last name is at or below a zone cut */
	LOOKUP_CHAIN,    /*!< a CNAME/DNAME chain leaves the zone or is cut short */
};

enum lookup_item_flags {
	LOOKUP_WILDCARD = 1 << 0, /*!< expanded from a wildcard: the owner is synthesized */
	LOOKUP_SYNTH = 1 << 1,    /*!< a CNAME synthesized from a DNAME: no node */
	LOOKUP_GLUE = 1 << 2,     /*!< non-authoritative data (glue) */
	LOOKUP_DNSSEC = 1 << 3,   /*!< DS, NSEC, NSEC3: written only for DO queries */
};

/*! One RRset to write: \a owner is wire form (lower case); \a ttl replaces the RRset's. */
typedef struct lookup_item {
	const uint8_t *owner;
	const zone_rrset_t *rrset;
	const zone_node_t *node; /*!< where \a rrset lives (NULL when synthesized) */
	uint32_t ttl;
	uint8_t flags;
} lookup_item_t;

enum lookup_flags {
	LOOKUP_ANY_FULL = 1 << 0, /*!< answer ANY with every RRset (TCP), not minimally */
};

typedef struct lookup_result {
	uint8_t rcode;
	bool aa;
	enum lookup_kind kind;
	uint8_t nan, nns, nad;
	lookup_item_t an[LOOKUP_AN_MAX];
	lookup_item_t ns[LOOKUP_NS_MAX];
	lookup_item_t ad[LOOKUP_AD_MAX];
	/* What a DNSSEC denial proof needs: */
	const uint8_t *name;         /*!< the last name looked up (lower case) */
	const zone_node_t *encloser; /*!< its closest encloser */
	const zone_node_t *wildcard; /*!< the wildcard used or proven absent, or NULL */
	const zone_node_t *cut;      /*!< the zone cut of a referral */
	/* Storage for names in the chain and DNAME-synthesized CNAMEs. */
	uint8_t names[LOOKUP_CHAIN_MAX + 1][DNAME_MAX];
	zone_rrset_t synth[LOOKUP_CHAIN_MAX];
	uint8_t synth_rdata[LOOKUP_CHAIN_MAX][2 + DNAME_MAX];
} lookup_result_t;

/*!
 * \brief Answer \a qname_lc / \a qtype from \a z (the name must be at or below the apex).
 * \param flags  enum lookup_flags
 */
void zone_lookup(const zone_t *z, const uint8_t *qname_lc, uint16_t qtype, unsigned flags,
		 lookup_result_t *res);
