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
 *         file cannot be opened).
 */
int zonefile_load(zone_builder_t *b, const char *path);
