/*  Signet: DNSSEC keys — BIND-format key files, generation, signing, DNSKEY/DS data.
 *
 *  Private key material stays behind the keystore interface (keys/keystore.h): files now,
 *  PKCS#11 later. Key files are interchangeable with dnssec-keygen's and CoreDNS's
 *  "key file": K<zone>+<alg>+<tag>.key (the DNSKEY RR, comment lines allowed) and
 *  K<zone>+<alg>+<tag>.private (Private-key-format v1.3, mode 0600, with BIND's timing
 *  fields Created/Publish/Activate/Inactive/Delete/SyncPublish/SyncDelete).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dns/name.h"

enum {
	KEY_ALG_RSASHA256 = 8,
	KEY_ALG_ECDSAP256SHA256 = 13,
	KEY_ALG_ED25519 = 15,
};

#define KEY_FLAG_ZONE   0x0100 /*!< DNSKEY flags bit 7: zone key */
#define KEY_FLAG_SEP    0x0001 /*!< DNSKEY flags bit 15: secure entry point (KSK/CSK) */
#define KEY_FLAG_REVOKE 0x0080
#define KEY_SIG_MAX     512 /*!< largest signature (RSA 4096) */
#define KEY_DS_MAX      52  /*!< largest DS RDATA (SHA-384) */

/*! Timing of one key (seconds since the epoch; 0 = not set). RFC 7583 names. */
typedef struct key_timing {
	int64_t created;
	int64_t publish;      /*!< DNSKEY published from */
	int64_t activate;     /*!< signs from */
	int64_t inactive;     /*!< stops signing at (retired) */
	int64_t remove;       /*!< DNSKEY removed at */
	int64_t sync_publish; /*!< CDS/CDNSKEY published from (KSK/CSK) */
	int64_t sync_delete;  /*!< CDS/CDNSKEY removed at */
} key_timing_t;

typedef struct key_store key_store_t;

/*! One key. */
typedef struct dnssec_key {
	uint8_t owner[DNAME_MAX]; /*!< the zone, lower case */
	uint16_t flags;           /*!< 256 = ZSK, 257 = KSK or CSK */
	uint8_t algorithm;
	uint16_t tag;         /*!< RFC 4034 Appendix B */
	uint8_t pubkey[1024]; /*!< DNSKEY public key field */
	uint16_t pubkey_len;
	unsigned bits;
	key_timing_t timing;
	char path[512]; /*!< file base path without .key/.private, "" when not on disk */
	void *priv;     /*!< the keystore's handle to the private key */
	const key_store_t *store;
} dnssec_key_t;

/*! \brief Generate a key for \a zone with the default file keystore. \a bits is for RSA
 *         (0 = 2048). \return E_OK, E_NOTSUP for other algorithms, -ENOMEM. */
int key_generate(dnssec_key_t **out, const uint8_t *zone, uint8_t algorithm, unsigned bits,
		 uint16_t flags);

/*! \brief Read the key pair at \a base ("dir/Kexample.+013+12345", with or without the
 *         .key/.private suffix). Problems are written to \a err. The timing comes from the
 *         .private file (from the .key comments when the .private has none); k->path = base. */
int key_read(dnssec_key_t **out, const char *base, char *err, size_t errlen);

/*! \brief Write the key pair into \a dir (private file mode 0600, written to a temporary
 *         file and renamed so a crash never leaves half a key); sets k->path. The .private
 *         file is written before the .key file. \return E_OK, E_EXISTS when another key has
 *         these file names (same tag), or an errno. */
int key_write(dnssec_key_t *k, const char *dir);

/*! \brief Rewrite the timing fields of an existing key pair (atomically). */
int key_write_timing(const dnssec_key_t *k);

/*! \brief Release the private key (through its keystore) and free \a k; NULL is fine. */
void key_free(dnssec_key_t *k);

/*! \brief The mnemonic of a supported algorithm ("ECDSAP256SHA256"), NULL for others. */
const char *key_algorithm_name(uint8_t algorithm);

/*! \brief Sign \a data; \a sig (room for KEY_SIG_MAX bytes) receives the signature in DNSSEC
 *         wire form (RFC 5702, RFC 6605, RFC 8080), \a siglen its length. Thread-safe for
 *         concurrent calls on one key. \return E_OK, -EINVAL for a key without its private
 *         half, -EIO when no randomness could be had. */
int key_sign(const dnssec_key_t *k, const uint8_t *data, size_t len, uint8_t *sig, size_t *siglen);

/*! \brief Verify a signature made by \a k (needs only the public key). \return E_OK,
 *         E_MALFORMED when the signature does not verify, E_NOTSUP for another algorithm. */
int key_verify(const dnssec_key_t *k, const uint8_t *data, size_t len, const uint8_t *sig,
	       size_t siglen);

/*! \brief The DNSKEY RDATA of \a k into \a rd (at least 4 + pubkey_len bytes). */
size_t key_dnskey_rdata(const dnssec_key_t *k, uint8_t *rd);

/*! \brief The DS RDATA (digest type 2: SHA-256, or 4: SHA-384) of \a k into \a rd (at least
 *         KEY_DS_MAX bytes); \a rdlen receives its length. \return E_OK or E_NOTSUP. */
int key_ds_rdata(const dnssec_key_t *k, uint8_t digest_type, uint8_t *rd, size_t *rdlen);

/*! \brief RFC 4034 Appendix B key tag of DNSKEY RDATA. */
uint16_t key_tag(const uint8_t *rdata, size_t rdlen);

static inline bool key_is_ksk(const dnssec_key_t *k)
{
	return (k->flags & KEY_FLAG_SEP) != 0;
}
