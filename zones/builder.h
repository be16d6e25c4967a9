/*  Signet: building a zone version from records. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "zones/zone.h"

typedef struct zone_builder zone_builder_t;

/*! Problems found while building: called once per problem, \a where is "file:line" or
 *  any text naming the source of the record (may be NULL). */
typedef void (*zone_diag_fn)(void *ud, int level, const char *where, const char *msg);

/*! \brief Start a builder for the zone \a apex (wire form, any case). */
int zone_builder_new(zone_builder_t **out, const uint8_t *apex);

/*! \brief Where problems are reported (default: the log). */
void zone_builder_set_diag(zone_builder_t *b, zone_diag_fn fn, void *ud);

/*! \brief The most records accepted (0 = no limit); past it add returns E_ZONE_TOOBIG. */
void zone_builder_set_limit(zone_builder_t *b, size_t max_records);

/*! \brief The apex, lower case, as given to zone_builder_new. Borrowed. */
const uint8_t *zone_builder_apex(const zone_builder_t *b);

/*!
 * \brief Add one RR (class IN). Out-of-zone owners are reported as a warning and skipped
 *        (E_OK is returned). Duplicates are merged. \a where names the record's origin for
 *        messages (copied).
 * \return E_OK, E_ZONE_TOOBIG, -ENOMEM, or E_MALFORMED for RDATA that does not fit its type.
 */
int zone_builder_add(zone_builder_t *b, const uint8_t *owner, uint16_t type, uint32_t ttl,
		     const uint8_t *rdata, uint16_t rdlen, const char *where);

/*!
 * \brief Report a problem found while reading a source, through the diag callback.
 * \param level  LOG_ERR (counts as an error) or LOG_WARN (dns/log.h)
 */
void zone_builder_report(zone_builder_t *b, int level, const char *where, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/*!
 * \brief Add every record of the version \a z (NSEC3 nodes included). With \a skip_dnssec,
 *        RRSIG, NSEC, NSEC3, NSEC3PARAM, DNSKEY, CDS and CDNSKEY are left out.
 */
int zone_builder_add_zone(zone_builder_t *b, const zone_t *z, bool skip_dnssec);

/*! \brief The serial of the apex SOA added so far; E_ZONE_NOSOA when there is none yet. */
int zone_builder_serial(const zone_builder_t *b, uint32_t *serial);

/*! \brief Make the apex SOA carry \a serial in the version finish() produces. */
void zone_builder_set_serial(zone_builder_t *b, uint32_t serial);

/*! \brief Number of errors reported so far (warnings not counted). */
size_t zone_builder_errors(const zone_builder_t *b);

/*!
 * \brief Sort, group and index everything added, check the zone (SOA at the apex, exactly
 *        one; no CNAME beside other data; ...) and produce the version.
 * \return E_OK with *out set (caller owns it), or the first error, every problem having been
 *         reported through the diag callback. The builder is freed in both cases.
 */
int zone_builder_finish(zone_builder_t *b, zone_t **out);

/*! \brief Abandon a builder. NULL is fine. */
void zone_builder_free(zone_builder_t *b);
