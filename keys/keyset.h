/*  Signet: the keys of one zone and their rollover policy (RFC 7583 timing).
 *
 *  The key files are the whole state: every decision of keyset_step is derived from the
 *  timing fields of the keys in the folder, so a restart (keyset_load, then keyset_step at
 *  the same time) changes nothing. With Dprp = propagation_delay and
 *  Ipub = dnskey_ttl + Dprp:
 *
 *  - No key: one CSK (257; KSK 257 + ZSK 256 when split), published, active and
 *    sync-published (CDS/CDNSKEY) now.
 *  - ZSK pre-publish rollover, at the old ZSK's activate + zsk_lifetime = T:
 *      new ZSK  publish T, activate T + Ipub;
 *      old ZSK  inactive T + Ipub, remove T + Ipub + max_zone_ttl + Dprp.
 *  - KSK double-KSK rollover (RFC 7583 §3.3.2), at the old KSK's activate + ksk_lifetime = T:
 *      new KSK  publish T, activate T (signs the DNSKEY RRset too), sync_publish T + Ipub;
 *      then wait until the caller reports the new key's DS at the parent (ds_seen) at some
 *      time D >= the new key's sync_publish (keyset_ds_wait names the key to look for);
 *      old KSK  sync_delete and inactive D + ds_ttl + Dprp, remove that + dnskey_ttl + Dprp.
 *  - CSK rollover: the KSK rollover above, the new CSK signing everything from T (double
 *    signatures), the old CSK removed at its inactive + max(dnskey_ttl, max_zone_ttl) + Dprp.
 *    A CSK rolls at activate + the shorter of the non-zero zsk_lifetime and ksk_lifetime.
 *  - Role: a 257 key is a KSK while the set has a current (active or pre-published, not
 *    retiring) 256 key, else a CSK. Successors keep their predecessor's algorithm and size
 *    (no algorithm rollover).
 *  - Removed keys: both files move to DIR/retired/ (kept for the operator, never loaded).
 *  - Every time changed is written to the key's files before keyset_step returns; a new key
 *    is written before its predecessor's retirement, so a crash between the two is finished
 *    on the next step (the older of two current keys of a role is the one being replaced).
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "keys/key.h"

#define KEYSET_MAX 16

/*! While keyset_ds_wait names a key, keyset_step asks to be called again every
 *  keyset_ds_check_interval(): the propagation delay, at most this often. */
#define KEYSET_DS_CHECK_INTERVAL 3600

/*! Removed keys are moved to this subfolder of the key folder. */
#define KEYSET_RETIRED_DIR "retired"

typedef struct keyset {
	dnssec_key_t *keys[KEYSET_MAX];
	int n;
	int64_t last_step; /*!< \a now of the last keyset_step, 0 after keyset_load */
} keyset_t;

/*! What the "dnssec" directive asks for (durations in seconds). */
typedef struct key_policy {
	uint8_t algorithm;          /*!< default ECDSAP256SHA256 */
	unsigned bits;              /*!< RSA only */
	bool split;                 /*!< KSK + ZSK instead of one CSK */
	uint32_t zsk_lifetime;      /*!< 0 = never roll */
	uint32_t ksk_lifetime;      /*!< 0 = never roll */
	uint32_t dnskey_ttl;        /*!< TTL of DNSKEY/CDS/CDNSKEY */
	uint32_t max_zone_ttl;      /*!< the largest TTL in the zone */
	uint32_t propagation_delay; /*!< to secondaries and caches, RFC 7583 Dprp */
	uint32_t ds_ttl;            /*!< the parent's DS TTL */
	uint32_t signature_lifetime;
	uint32_t signature_refresh;
} key_policy_t;

/*! \brief Defaults: one ECDSAP256SHA256 CSK (RSA 2048 bits when RSA is chosen), no automatic
 *         rollover (lifetimes 0), DNSKEY TTL 1 h, largest zone TTL 1 d, propagation delay
 *         1 h (Knot's), parent DS TTL 1 d, signatures valid 14 d and refreshed 7 d before
 *         expiry. */
void key_policy_init(key_policy_t *p);

/*! \brief Read every key of \a zone in \a dir (K<zone>+*.key, the zone matched
 *         case-insensitively; BIND's file name escapes). On success the keys replace those
 *         of \a ks (which must be zeroed or a keyset filled before); on error \a ks is left
 *         as it was and \a err says which file failed. A missing \a dir is an empty set. */
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
/*! \brief True when \a k's CDS/CDNSKEY are in the zone at \a now (only while published). */
bool key_sync_published(const dnssec_key_t *k, int64_t now);

/*! \brief True when \a k signs the zone's RRsets other than DNSKEY/CDS/CDNSKEY at \a now:
 *         an active ZSK, or an active 257 key while no 256 key is active (a CSK). */
bool keyset_signs_zone(const keyset_t *ks, const dnssec_key_t *k, int64_t now);

/*! \brief True when \a k signs DNSKEY/CDS/CDNSKEY at \a now: an active 257 key, or an
 *         active 256 key while no 257 key is active. */
bool keyset_signs_dnskey(const keyset_t *ks, const dnssec_key_t *k, int64_t now);

/*! \brief How often to look for the new DS at the parent while keyset_ds_wait names a key:
 *         the propagation delay, at least 1 s, at most KEYSET_DS_CHECK_INTERVAL. */
int64_t keyset_ds_check_interval(const key_policy_t *p);

/*! \brief During a KSK/CSK rollover, once the new key's CDS is published: the key whose DS
 *         the caller should look for at the parent (then pass ds_seen); NULL otherwise.
 *         Borrowed from \a ks. */
const dnssec_key_t *keyset_ds_wait(const keyset_t *ks, int64_t now);
