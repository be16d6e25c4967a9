/*  Signet: resource records from presentation format (text ⇄ wire, through ldns). */
#pragma once

#include <stdbool.h>
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
 * \return E_OK, or E_ZONE_SYNTAX with \a err set (-ENOMEM possible).
 *
 * TTL and class may come in either order; the class is returned in out->rclass (IN when
 * omitted, CLASSnnn accepted), the TTL may use units (dns_ttl_from_str). RDATA in RFC 3597
 * form ("\# 3 abcdef") is accepted for every type and checked against the type's layout
 * when the type is known; names in RDATA are completed with \a origin and never compressed.
 */
int dns_rr_from_text(dns_rr_t *out, const char *text, const uint8_t *origin, uint32_t default_ttl,
		     const uint8_t *prev_owner, char *err, size_t errlen);

/*!
 * Pass as \a default_ttl to dns_rr_from_text to learn whether the text had a TTL: when it had
 * none, out->ttl is DNS_TTL_UNSET. Never a TTL read from text (those are at most 2^31 - 1,
 * RFC 2181 §8).
 */
#define DNS_TTL_UNSET UINT32_MAX

/*!
 * \brief A TTL as BIND writes it: "3600", or units "1w2d3h4m5s" (any case, each unit at most
 *        once, in any order; a bare number only on its own).
 * \return E_OK, or E_ZONE_SYNTAX when it does not parse or exceeds 2^31 - 1.
 */
int dns_ttl_from_str(const char *str, uint32_t *out);

/*! \brief A class from "IN", "CH", "CHAOS", "HS", "HESIOD", "NONE", "ANY" or CLASSnnn; 0 when not
 *         a class. */
uint16_t dns_class_from_str(const char *str);

/*! \brief The mnemonic of a type ("A", "TYPE65534"). Writes into \a buf. */
const char *dns_type_to_str(uint16_t type, char *buf, size_t buflen);

/*! \brief A type from its mnemonic or TYPEnnn; 0 when unknown. */
uint16_t dns_type_from_str(const char *str);

/*! \brief One record in presentation form (for logs and tests). */
int dns_rr_to_text(char *buf, size_t buflen, const uint8_t *owner, uint16_t type, uint32_t ttl,
		   const uint8_t *rdata, uint16_t rdlen);

/*! \brief True for the white space of presentation format. */
static inline bool dns_text_is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/*! \brief \a p past any white space. */
static inline const char *dns_text_skip_space(const char *p)
{
	while (dns_text_is_space(*p)) {
		p++;
	}
	return p;
}

/*!
 * \brief Length of the token at \a p: up to white space, a backslash escaping the next
 *        character, a double-quoted string kept whole.
 */
static inline size_t dns_text_token_len(const char *p)
{
	const char *s = p;
	bool quoted = false;

	while (*s != '\0') {
		if (*s == '\\') {
			s++;
			if (*s == '\0') {
				break;
			}
		} else if (*s == '"') {
			quoted = !quoted;
		} else if (!quoted && dns_text_is_space(*s)) {
			break;
		}
		s++;
	}
	return (size_t)(s - p);
}
