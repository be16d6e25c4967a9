#include "adapters/source.h"

#include <string.h>

#include "adapters/sources.h"

static const zone_source_ops_t *const table[] = {
	&source_file,
	&source_sqlite,
	&source_etcd,
	&source_kubernetes,
};

static const char *const names[] = { "file", "sqlite", "etcd", "kubernetes", NULL };

const zone_source_ops_t *source_find(const char *name)
{
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		if (strcmp(table[i]->name, name) == 0) {
			return table[i];
		}
	}
	return NULL;
}

const char *const *source_names(void)
{
	return names;
}
