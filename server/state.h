/*  Signet: the published server state — configuration plus the current version of every
 *  zone — read by the query threads under RCU (liburcu QSBR), replaced by the main thread. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "server/conf.h"
#include "zones/zone.h"

/*! One configured zone and its current version. */
typedef struct zone_entry {
	const conf_zone_t *conf;
	zone_t *zone; /*!< RCU-protected: rcu_dereference() to read, NULL until loaded; the
		           entry holds a reference */
	struct zone_entry *hnext;
	const struct zc_transfer *transfer; /*!< who may transfer it; NULL: nobody */
	const struct zc_block *zb;          /*!< the block's keys, storage, policies */
	bool signed_zone;                   /*!< "dnssec" applies */
	/* Counters, read by the metrics endpoint (relaxed atomics): */
	uint64_t signatures;    /*!< RRSIGs made for this zone */
	uint64_t source_errors; /*!< failed loads */
	uint64_t xfr_out[2];    /*!< AXFR, IXFR sent */
	/* Owned by the zone manager (main thread): */
	zone_source_t *src;
	struct server_state *state;
	struct zone_rt *rt; /*!< what outlives a reload: versions, keys, timers */
	char error[256];    /*!< why the last load failed, "" when it did not */
} zone_entry_t;

typedef struct server_state {
	conf_t *conf;
	zone_entry_t *zones; /*!< parallel to conf->zones */
	int nzones;
	zone_entry_t ***view_buckets; /*!< per view: hash of apex → entries */
	uint32_t nbuckets;
} server_state_t;

/*! \brief Build a state for \a conf (takes ownership of it); zones are not loaded. */
int state_new(server_state_t **out, conf_t *conf);

/*! \brief Free a state, dropping its references to zone versions. */
void state_free(server_state_t *st);

/*!
 * \brief The zone entry answering \a qname_lc in \a view: the longest apex match; for DS,
 *        the parent side of a zone cut when the parent is served here too.
 */
const zone_entry_t *state_find_zone(const server_state_t *st, int view, const uint8_t *qname_lc,
				    uint16_t qtype);

/*! The state queries read. */
extern server_state_t *server_state;
