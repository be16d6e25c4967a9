/*  Signet: dnssec/ private parts shared by the signer, the chains and the proofs. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "zones/zone.h"

#define DNSSEC_NSEC3_HASH_LEN  20         /*!< SHA-1 */
#define DNSSEC_NSEC3_LABEL_LEN 32         /*!< base32hex of 20 octets */
#define DNSSEC_BITMAP_MAX      (256 * 34) /*!< every window full */
#define DNSSEC_NSEC3_ALG_SHA1  1
#define DNSSEC_NSEC3_OPTOUT    0x01

/*! A growing list of generated records: per record owner length (1), owner, type (2),
 *  TTL (4), RDLENGTH (2), RDATA. RDLENGTH + RDATA is the wire form of a one-RR RRset. */
typedef struct dnssec_rrbuf {
	uint8_t *data;
	size_t len, cap;
	size_t count;
} dnssec_rrbuf_t;

/*! One record of a dnssec_rrbuf, pointers into its data. */
typedef struct dnssec_rr {
	const uint8_t *owner;
	uint16_t type;
	uint32_t ttl;
	uint16_t rdlen;
	const uint8_t *rdata;
	const uint8_t *set; /*!< RDLENGTH + RDATA: a one-RR RRset in zone wire form */
} dnssec_rr_t;

/*! \brief Append a record. \return E_OK or -ENOMEM. */
int dnssec_rrbuf_add(dnssec_rrbuf_t *b, const uint8_t *owner, uint16_t type, uint32_t ttl,
		     const uint8_t *rdata, uint16_t rdlen);

/*! \brief Read the record at \a *pos and move past it; false after the last. */
bool dnssec_rrbuf_next(const dnssec_rrbuf_t *b, size_t *pos, dnssec_rr_t *rr);

/*! \brief Free the buffer's memory. */
void dnssec_rrbuf_free(dnssec_rrbuf_t *b);

/*! \brief True when \a node holds authoritative data: not glue, not below a zone cut, not
 *         occluded by a DNAME above it (a delegation point itself is authoritative). */
bool dnssec_node_auth(const zone_node_t *node);

/*! \brief RFC 4034 §4.1.2 type bitmap of \a n sorted, distinct types into \a out
 *         (DNSSEC_BITMAP_MAX octets). \return its length. */
size_t dnssec_bitmap_write(uint8_t *out, const uint16_t *types, size_t n);

/*! \brief Sort \a n types in place and drop repeats; \return the new count. */
size_t dnssec_types_sort(uint16_t *types, size_t n);

/*! \brief The NSEC chain of \a z (built, unsigned): one NSEC per authoritative node with
 *         data, delegations included, in canonical order. */
int dnssec_nsec_chain(const zone_t *z, uint32_t ttl, dnssec_rrbuf_t *out);

/*! NSEC3 parameters as in NSEC3PARAM. */
typedef struct dnssec_nsec3_params {
	uint8_t flags; /*!< DNSSEC_NSEC3_OPTOUT in the NSEC3 records, never in NSEC3PARAM */
	uint16_t iterations;
	uint8_t salt_len;
	const uint8_t *salt;
} dnssec_nsec3_params_t;

/*! \brief The NSEC3 chain of \a z (built, unsigned; RFC 5155 §7.1): every authoritative
 *         node, empty non-terminals included, insecure delegations left out with opt-out. */
int dnssec_nsec3_chain(const zone_t *z, const dnssec_nsec3_params_t *p, uint32_t ttl,
		       dnssec_rrbuf_t *out);

/*! \brief RFC 5155 §5 hash of \a name (wire form, lower case). */
void dnssec_nsec3_hash(uint8_t hash[DNSSEC_NSEC3_HASH_LEN], const uint8_t *name,
		       uint16_t iterations, const uint8_t *salt, uint8_t salt_len);

/*! \brief The hashed owner "<base32hex hash>.<apex>" into \a owner; \return its length,
 *         or E_NAME_LONG. */
int dnssec_nsec3_hash_owner(uint8_t *owner, const uint8_t hash[DNSSEC_NSEC3_HASH_LEN],
			    const uint8_t *apex);

/*! \brief Base32hex (RFC 4648 §7), lower case, no padding; \return characters written. */
size_t dnssec_base32hex(char *out, const uint8_t *in, size_t len);

/*! \brief The parameters of \a z's NSEC3PARAM at the apex (salt borrowed from \a z).
 *         \return false when there is none or it is not SHA-1. */
bool dnssec_nsec3_params_get(const zone_t *z, dnssec_nsec3_params_t *p);
