#include "server/stage.h"

#include <string.h>

#include "server/stages/stages.h"

/* CoreDNS's plugin order as the query path sees it: rrl, acl, log, errors, cache, rewrite,
 * (the answer), loadbalance. Query hooks run in this order, response hooks in the reverse one. */
static const stage_ops_t *const table[] = {
	&stage_rrl,   &stage_acl,     &stage_log,         &stage_errors,
	&stage_cache, &stage_rewrite, &stage_loadbalance,
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

int stage_thread_id(void)
{
	static int next;
	static _Thread_local int id = -1;
	if (id < 0) {
		id = __atomic_fetch_add(&next, 1, __ATOMIC_RELAXED);
	}
	return id;
}
