/*  Signet: one row of PowerDNS's "records" table as a resource record.
 *
 *  PowerDNS (generic SQL backends, 4.x) writes names absolute without the trailing dot
 *  ("www.example.org"), types as upper-case mnemonics, content in presentation form with the
 *  names in it absolute without the trailing dot, and the preference of MX and SRV in the
 *  "prio" column, not in the content. Rows without a type are empty non-terminals written by
 *  "pdnsutil rectify-zone": they carry no record.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dns/rrtext.h"

/*! The columns of one row that make its record, as text (NULL for SQL NULL). */
typedef struct sqlite_row {
	int64_t id;          /*!< records.id, for messages */
	const char *name;    /*!< "www.example.org" (a trailing dot is accepted) */
	const char *type;    /*!< "A", "MX", "TYPE65534"; NULL or "" for an empty non-terminal */
	const char *content; /*!< presentation form */
	const char *ttl;     /*!< decimal seconds; NULL takes SQLITE_ROW_TTL_DEFAULT */
	const char *prio;    /*!< MX preference or SRV priority; NULL is 0 */
} sqlite_row_t;

/*! The TTL of a row whose ttl is NULL (PowerDNS's default-ttl). */
#define SQLITE_ROW_TTL_DEFAULT 3600

/*! What sqlite_row_to_rr returns for a row that carries no record (an empty non-terminal). */
#define SQLITE_ROW_NONE 1

/*!
 * \brief Convert one row into a record in wire form.
 *
 * MX and SRV take "prio" in front of the content when the content lacks it (one field for MX,
 * three for SRV, as PowerDNS stores them); content that already carries it is taken as is.
 * An SOA with fewer than seven fields is completed with PowerDNS's old defaults
 * (hostmaster.<zone> 0 10800 3600 604800 3600). "ADDR" is TYPE65400 (PowerDNS's name for it);
 * ALIAS and LUA, which PowerDNS computes at query time, are refused.
 *
 * \param out  receives the record (class IN)
 * \param err  receives a message when the row is refused
 * \return E_OK, SQLITE_ROW_NONE, E_ZONE_SYNTAX or E_NOTSUP with \a err set, or -ENOMEM.
 */
int sqlite_row_to_rr(const sqlite_row_t *row, dns_rr_t *out, char *err, size_t errlen);

/*! \brief Whether a "disabled" value disables its row: a non-zero number, or text starting
 *         with t/T/y/Y ("true", "yes"); NULL does not. */
bool sqlite_row_disabled(const char *value);
