/*  Signet: the keys of one zone and their rollover policy (RFC 7583 timing). */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "keys/key.h"

#define KEYSET_MAX 16

typedef struct keyset {
	dnssec_key_t *keys[KEYSET_MAX];
	int n;
} keyset_t;

/*! What the "dnssec" directive asks for (durations in seconds). */
typedef struct key_policy {
	uint8_t algorithm;	/*!< default ECDSAP256SHA256 */
	unsigned bits;		/*!< RSA only */
	bool split;		/*!< KSK + ZSK instead of one CSK */
	uint32_t zsk_lifetime;	/*!< 0 = never roll */
	uint32_t ksk_lifetime;	/*!< 0 = never roll */
	uint32_t dnskey_ttl;	/*!< TTL of DNSKEY/CDS/CDNSKEY */
	uint32_t max_zone_ttl;	/*!< the largest TTL in the zone */
	uint32_t propagation_delay; /*!< to secondaries and caches, RFC 7583 Dprp */
	uint32_t ds_ttl;	/*!< the parent's DS TTL */
	uint32_t signature_lifetime;
	uint32_t signature_refresh;
} key_policy_t;

/*! \brief Read every key of \a zone in \a dir (K<zone>+*.key). */
int keyset_load(keyset_t *ks, const char *dir, const uint8_t *zone, char *err, size_t errlen);

/*! \brief Free the keys. */
void keyset_clear(keyset_t *ks);

/*!
 * \brief Move the rollover state machine to \a now: create the first keys, start a ZSK
 *        pre-publish or KSK double-signature rollover when a key's lifetime ends, advance
 *        the timing of keys in a rollover, remove keys past their removal. Keys created or
 *        changed are written to \a dir before this returns (nothing acknowledged is lost).
 * \param ds_seen   for a KSK rollover: true once the parent publishes the new key's DS
 * \param next      receives when to call again (0 = nothing scheduled)
 * \return 1 when the set of published/active keys changed (re-sign), 0 when not, or an error.
 */
int keyset_step(keyset_t *ks, const key_policy_t *p, const uint8_t *zone, const char *dir,
		int64_t now, bool ds_seen, int64_t *next);

/*! \brief True when \a k's DNSKEY is in the zone at \a now. */
bool key_published(const dnssec_key_t *k, int64_t now);
/*! \brief True when \a k signs at \a now. */
bool key_active(const dnssec_key_t *k, int64_t now);
/*! \brief True when \a k's CDS/CDNSKEY are in the zone at \a now. */
bool key_sync_published(const dnssec_key_t *k, int64_t now);
