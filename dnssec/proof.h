/*  Signet: DNSSEC material for responses — denial of existence proofs (RFC 4035 §3.1.3,
 *  RFC 5155 §7.2) and the DS or its absence for referrals. */
#pragma once

#include "zones/lookup.h"

/*!
 * \brief Add to \a res's authority section what a DO query needs beyond the RRSIGs of the
 *        RRsets already there: for NXDOMAIN, NODATA, wildcard answers, wildcard NODATA and
 *        referrals (DS, or the NSEC/NSEC3 proving there is none), from \a z's NSEC or NSEC3
 *        chain. Items are flagged LOOKUP_DNSSEC. Does nothing for an unsigned zone.
 */
void dnssec_add_proofs(const zone_t *z, lookup_result_t *res);

/*!
 * \brief NSEC3 hash (RFC 5155 §5) of \a name (lower case) with the zone's parameters,
 *        written as the owner name "<base32hex>.<apex>" into \a owner.
 * \return the owner's length, or an error.
 */
int dnssec_nsec3_owner(uint8_t *owner, const uint8_t *name, const uint8_t *apex,
		       uint16_t iterations, const uint8_t *salt, uint8_t salt_len);
