/*  Signet: the stages, each defined in its own file under server/stages/. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "server/stage.h"

extern const stage_ops_t stage_rrl;
extern const stage_ops_t stage_acl;
extern const stage_ops_t stage_log;
extern const stage_ops_t stage_errors;
extern const stage_ops_t stage_cache;
extern const stage_ops_t stage_rewrite;
extern const stage_ops_t stage_loadbalance;

/*!
 * \brief When \a s is a cache: its metrics series (-1 before its first query) and how many
 *        success (\a n[0]) and denial (\a n[1]) entries it holds. False for other stages.
 */
bool cache_stage_entries(const stage_t *s, int *series, uint64_t n[2]);
