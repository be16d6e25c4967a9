/*  Signet: the stages of the query path (CoreDNS plugins, in CoreDNS's fixed order). */
#pragma once

#include <stdbool.h>

#include "server/cfg.h"

struct query;

enum stage_result {
	STAGE_CONTINUE = 0, /*!< go on to the next stage */
	STAGE_DONE,         /*!< the stage wrote the response */
	STAGE_DROP,         /*!< send nothing */
};

/*! One stage of the query path; hooks may be NULL. */
typedef struct stage_ops {
	const char *name; /*!< the Corefile directive */
	/*! Check \a d and make the stage's state. For a stage with \a merge, a repeated directive
	 *  in the same block is given the first one's state in *ctx to extend. */
	int (*setup)(void **ctx, const cfg_directive_t *d, char *err, size_t errlen);
	enum stage_result (*query)(struct query *q, void *ctx); /*!< before the answer */
	void (*response)(struct query *q, void *ctx);           /*!< after the answer */
	void (*teardown)(void *ctx);
	bool merge; /*!< the directive may be repeated in a block: one stage, rules in order */
} stage_ops_t;

/*! A configured stage in one server block. */
typedef struct stage {
	const stage_ops_t *ops;
	void *ctx;
} stage_t;

/*! \brief The stage for directive \a name, or NULL. The table is in query-path order. */
const stage_ops_t *stage_find(const char *name);

/*! \brief The name of the \a i-th stage in query-path order, NULL past the last. */
const char *stage_name(int i);

/*! \brief Position of \a ops in the fixed query-path order. */
int stage_order(const stage_ops_t *ops);

/*! The most threads stage_thread_id() tells apart (a stage keeps per-thread state for these
 *  and falls back to shared, slower state for the rest). */
#define STAGE_THREADS_MAX 512

/*! \brief A small number for the calling thread: 0, 1, 2, ... in the order threads ask. */
int stage_thread_id(void);
