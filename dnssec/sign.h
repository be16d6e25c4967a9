/*  Signet: signing a zone version in memory (RRSIG, NSEC or NSEC3, DNSKEY/CDS/CDNSKEY). */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "keys/keyset.h"
#include "zones/zone.h"

typedef struct dnssec_conf {
	bool nsec3;
	uint16_t iterations; /*!< NSEC3 extra iterations (RFC 9276: 0) */
	uint8_t salt[255];
	uint8_t salt_len; /*!< RFC 9276: empty */
	bool opt_out;
	uint32_t sig_lifetime;  /*!< seconds; default 14 days */
	uint32_t sig_refresh;   /*!< re-sign this long before expiry; default 7 days */
	uint32_t sig_inception; /*!< inception this far in the past; default 1 hour */
	int threads;            /*!< signing threads (0 = every CPU) */
	uint32_t dnskey_ttl;    /*!< TTL of DNSKEY, CDS, CDNSKEY; 0 = the SOA's TTL */
} dnssec_conf_t;

typedef struct dnssec_sign_stats {
	uint64_t signatures_made;   /*!< RRSIGs computed by this call */
	uint64_t signatures_reused; /*!< RRSIGs copied from \a prev */
	double seconds;             /*!< wall time of the call, building included */
} dnssec_sign_stats_t;

/*!
 * \brief Sign \a in (an unsigned version: any DNSSEC records in it are replaced) into a new
 *        version \a *out: DNSKEY for every published key, CDS (SHA-256) and CDNSKEY for
 *        every key in its sync-publish period, NSEC or NSEC3 chain (+ NSEC3PARAM), and an
 *        RRSIG by every active key of the right role over every authoritative RRset (not
 *        glue, not delegation NS; DNSKEY/CDS/CDNSKEY by KSKs/CSKs).
 *
 * \param prev  the previous signed version or NULL: its signatures over RRsets that did not
 *              change, made by keys still active, valid past now + sig_refresh + the
 *              expiry jitter (so refreshes come in batches), are reused
 *              (so a small change costs a few signatures, not the zone)
 * \param next_resign  receives the earliest expiry minus sig_refresh: when to sign again
 * \return E_OK, or an error: -ENOKEY (no active key), -EINVAL (sig_refresh not below
 *         sig_lifetime), -ENOMEM, a key_sign error, E_EXISTS (an NSEC3 hash collision:
 *         change the salt). \a *out is NULL on error.
 */
int dnssec_sign_zone(const zone_t *in, const zone_t *prev, const keyset_t *ks,
		     const dnssec_conf_t *conf, int64_t now, zone_t **out, int64_t *next_resign,
		     dnssec_sign_stats_t *stats);

/*! \brief Default values of \a conf (NSEC, 14 days, 7 days, 1 hour, every CPU). */
void dnssec_conf_init(dnssec_conf_t *conf);
