/*  Signet: RFC 1035 master files. */
#pragma once

#include <stdint.h>

#include "zones/builder.h"

/*!
 * \brief Read the master file \a path into \a b.
 *
 * $ORIGIN (initially the builder's apex), $TTL, $INCLUDE (relative paths resolved against
 * the including file's folder, nesting bounded), $GENERATE (BIND syntax), parentheses,
 * comments, quoted strings, blank owners (the previous owner), omitted TTL and class, every
 * RR type ldns knows and unknown types in RFC 3597 form. Each problem is reported through
 * the builder's diag callback as "file:line" and reading goes on, so that one pass finds
 * every error.
 * \return E_OK when the file was read without errors, else E_ZONE_SYNTAX (or -errno when the
 *         file cannot be opened). Reading stops early with E_ZONE_TOOBIG when the builder's
 *         record limit is reached, and with -ENOMEM.
 *
 * Policies (details in zonefile.c): a record without TTL takes $TTL, else the previous
 * record's TTL, else (SOA only) its MINIMUM, else it is an error; class other than IN is an
 * error; $INCLUDE nests at most 16 files deep and refuses loops; one $GENERATE yields at most
 * ZONEFILE_GENERATE_MAX (2^20) records. Each logical line is reported as "path:line" with the
 *  line where it starts and the path as given (for included files, as resolved).
 */
int zonefile_load(zone_builder_t *b, const char *path);
