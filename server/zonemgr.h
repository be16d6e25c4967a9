/*  Signet: the zone manager — opens every zone's source, loads it, publishes each new
 *  version and loads again when the source says it changed (main thread only). */
#pragma once

#include <stdbool.h>

#include "server/state.h"
#include "zones/builder.h"

struct event_base;

/*! \brief The most records a source may load into one zone (limits { zone_records }). */
void zonemgr_set_max_records(size_t max);

/*!
 * \brief Open, load and close one zone's source (for -validate).
 * \param diag  where problems go (NULL: the log)
 * \return E_OK with *out set, or the first error (every problem reported through \a diag).
 */
int zonemgr_load(const conf_zone_t *zc, zone_t **out, zone_diag_fn diag, void *ud);

/*!
 * \brief Open the sources of \a st (not yet published), load every zone and watch for
 *        changes on \a base. A zone that fails to load keeps \a old's version when there is
 *        one. \return the number of zones that failed (a source that cannot be opened
 *        counts; its message is logged).
 */
int zonemgr_start(server_state_t *st, const server_state_t *old, struct event_base *base);

/*! \brief Close the sources of \a st (before it is retired). */
void zonemgr_stop(server_state_t *st);

/*! \brief Release everything kept across reloads (journals, keys, timers) at exit. */
void zonemgr_shutdown(void);
