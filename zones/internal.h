/*  Signet: zones/ private parts. */
#pragma once

#include <stddef.h>
#include <stdint.h>

/*! Bump allocator holding everything of one zone version; freed as a whole. */
typedef struct zone_mem {
	struct zone_mem_chunk *chunks;
	size_t used;  /*!< bytes handed out in the current chunk */
	size_t size;  /*!< size of the current chunk */
	size_t total; /*!< bytes of all chunks */
} zone_mem_t;

zone_mem_t *zone_mem_new(void);
void *zone_mem_alloc(zone_mem_t *m, size_t len);
void zone_mem_free(zone_mem_t *m);

struct zone;

/*! Fill the zone's key prefixes (zone_t.kpfx) once its nodes are final. */
int zone_index_prefixes(struct zone *z);
