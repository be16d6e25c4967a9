/*  Signet: resource records from presentation format (text ⇄ wire, through ldns). */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "dns/name.h"

/*! One record in wire form. */
typedef struct dns_rr {
	uint8_t owner[DNAME_MAX];
	uint16_t type;
	uint16_t rclass;
	uint32_t ttl;
	uint16_t rdlen;
	uint8_t rdata[65535];
} dns_rr_t;

/*!
 * \brief Parse one record from one logical line (parentheses joined, comments removed).
 *
 * \param text         "owner [ttl] [class] type rdata..." or, starting with white space,
 *                     the owner omitted
 * \param origin       completes relative names (wire form)
 * \param default_ttl  used when the line has no TTL
 * \param prev_owner   used when the owner is omitted (may be NULL)
 * \param err          receives a message on failure
 * \return E_OK, or E_ZONE_SYNTAX with \a err set.
 */
int dns_rr_from_text(dns_rr_t *out, const char *text, const uint8_t *origin,
		     uint32_t default_ttl, const uint8_t *prev_owner, char *err, size_t errlen);

/*! \brief The mnemonic of a type ("A", "TYPE65534"). Writes into \a buf. */
const char *dns_type_to_str(uint16_t type, char *buf, size_t buflen);

/*! \brief A type from its mnemonic or TYPEnnn; 0 when unknown. */
uint16_t dns_type_from_str(const char *str);

/*! \brief One record in presentation form (for logs and tests). */
int dns_rr_to_text(char *buf, size_t buflen, const uint8_t *owner, uint16_t type,
		   uint32_t ttl, const uint8_t *rdata, uint16_t rdlen);
