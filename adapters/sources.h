/*  Signet: the table of sources. */
#pragma once

#include "adapters/source.h"

extern const zone_source_ops_t source_file;
extern const zone_source_ops_t source_sqlite;
extern const zone_source_ops_t source_etcd;
extern const zone_source_ops_t source_kubernetes;
