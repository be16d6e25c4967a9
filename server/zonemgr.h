/*  Signet: the zone manager — loads every configured zone, reloads what changed, and
 *  publishes new versions (main thread only). */
#pragma once

#include <stdbool.h>

#include "server/state.h"
#include "zones/builder.h"

/*!
 * \brief Load one zone from its source.
 * \param diag  where problems go (NULL: the log)
 * \return E_OK with *out set, or the first error (every problem reported through \a diag).
 */
int zonemgr_load(const conf_zone_t *zc, zone_t **out, zone_diag_fn diag, void *ud);

/*!
 * \brief Fill the zones of \a st, a state not yet published. A zone whose file did not change
 *        since \a old loaded it is taken from \a old; one that fails to load keeps \a old's
 *        version when there is one.
 * \return the number of zones that failed to load.
 */
int zonemgr_load_all(server_state_t *st, const server_state_t *old);

/*! \brief Reload, now, each zone whose reload interval has passed and whose file changed;
 *         publish each new version. Called from a timer. */
void zonemgr_tick(server_state_t *st);
