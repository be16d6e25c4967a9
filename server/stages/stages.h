/*  Signet: the stages, each defined in its own file under server/stages/. */
#pragma once

#include "server/stage.h"

extern const stage_ops_t stage_log;
extern const stage_ops_t stage_errors;
