/*  Signet: where the domain names are in an RDATA.
 *
 *  One table serves every place that looks inside RDATA: the writer compresses the names of
 *  the RFC 1035 types, the signer lower-cases names for the canonical form, the builder
 *  checks the RDATA it will follow, the stages rewrite names in answers. Every other type is
 *  opaque octets (RFC 3597).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*! \brief Tail length meaning "whatever follows the names" (a type bitmap, a signature). */
#define DNS_RDATA_TAIL_ANY 0xff

/*! \brief RDATA as fixed octets, character-strings, names, fixed octets. */
typedef struct dns_rdata_layout {
	uint8_t head;    /*!< fixed octets before the first name (MX preference, SRV numbers) */
	uint8_t strings; /*!< <character-string>s between head and names (NAPTR) */
	uint8_t names;   /*!< domain names in a row */
	uint8_t tail;    /*!< fixed octets after the last name (SOA numbers), or TAIL_ANY */
	bool compress;   /*!< RFC 1035 type: names may be compressed (RFC 3597 §4) */
	bool a6;         /*!< A6: head and names follow from the prefix length (RFC 2874) */
} dns_rdata_layout_t;

/*!
 * \brief The layout of \a type, for the types with names that the canonical form
 *        lower-cases (RFC 4034 §6.2 as amended by RFC 6840 §5.1, which leaves NSEC as it
 *        is); false for every other type.
 */
bool dns_rdata_layout(uint16_t type, dns_rdata_layout_t *l);

/*!
 * \brief Offset of the first name of \a rd into *pos and the number of names into *names.
 * \return E_OK, or E_MALFORMED when the head or strings run past \a rdlen.
 */
int dns_rdata_names(const dns_rdata_layout_t *l, const uint8_t *rd, size_t rdlen, size_t *pos,
		    int *names);

/*!
 * \brief E_OK when \a rd is exactly its layout: head, strings, uncompressed well-formed
 *        names and the tail; else E_MALFORMED or the name's error.
 */
int dns_rdata_check(const dns_rdata_layout_t *l, const uint8_t *rd, size_t rdlen);

/*!
 * \brief E_OK when the RDATA of \a type is what the server can follow: an address of the
 *        right length for A and AAAA, the layout for the types with names; other types are
 *        opaque. What a zone builder accepts, and what a parser must give it.
 */
int dns_rdata_valid(uint16_t type, const uint8_t *rd, size_t rdlen);
