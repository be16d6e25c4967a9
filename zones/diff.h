/*  Signet: the difference between two versions of a zone (for IXFR, RFC 1995). */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "zones/zone.h"

/*!
 * One version step: the RRs removed and the RRs added, each packed back to back as
 * owner (uncompressed wire), type (16), class (16, IN), TTL (32), RDLENGTH (16), RDATA —
 * the RR wire format without compression. The SOA of each side is not among them: it is
 * soa_from / soa_to (RDATA only).
 */
typedef struct zone_changeset {
	uint32_t serial_from, serial_to;
	uint8_t *soa_from, *soa_to; /*!< RDATA */
	uint16_t soa_from_len, soa_to_len;
	uint32_t soa_ttl_from, soa_ttl_to;
	uint8_t *removed;
	size_t removed_len;
	uint32_t nremoved;
	uint8_t *added;
	size_t added_len;
	uint32_t nadded;
} zone_changeset_t;

/*!
 * \brief Compute \a to minus \a from (both versions of one zone; NSEC3 nodes included) by
 *        one ordered walk of both. RRSIGs count as records like any other.
 * \return E_OK with \a cs filled (release with zone_changeset_clear), or -ENOMEM.
 */
int zone_diff(const zone_t *from, const zone_t *to, zone_changeset_t *cs);

/*!
 * \brief True when \a a and \b b hold the same RRsets, the SOA aside, without building a
 *        changeset; with \a skip_dnssec, the types a signer makes are left out on both
 *        sides (a source's version against the signed version made from the previous one).
 */
bool zone_same_data(const zone_t *a, const zone_t *b, bool skip_dnssec);

/*! \brief True when nothing but possibly the SOA differs. */
static inline int zone_changeset_empty(const zone_changeset_t *cs)
{
	return cs->nremoved == 0 && cs->nadded == 0;
}

void zone_changeset_clear(zone_changeset_t *cs);
