/*  Signet: durations as CoreDNS writes them. */
#pragma once

#include <stdint.h>

/*!
 * \brief Parse a duration in Go's syntax ("30s", "1m30s", "2h", "500ms", "1.5s"); a bare
 *        number is seconds.
 * \return E_OK with *msec set, or E_CFG_SEMANTIC.
 */
int duration_parse(const char *s, uint64_t *msec);
