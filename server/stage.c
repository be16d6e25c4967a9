#include "server/stage.h"

#include <string.h>

#include "server/stages/stages.h"

/* CoreDNS's plugin order: acl, log, errors, cache, rewrite, ..., loadbalance. */
static const stage_ops_t *const table[] = {
	&stage_log,
	&stage_errors,
};

const stage_ops_t *stage_find(const char *name)
{
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		if (strcmp(table[i]->name, name) == 0) {
			return table[i];
		}
	}
	return NULL;
}

int stage_order(const stage_ops_t *ops)
{
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		if (table[i] == ops) {
			return (int)i;
		}
	}
	return -1;
}

const char *stage_name(int i)
{
	return i >= 0 && (size_t)i < sizeof(table) / sizeof(table[0]) ? table[i]->name : NULL;
}
