/*  Signet: sources of zone data (file, sqlite, etcd, kubernetes).
 *
 *  A source produces full zones into a builder; when its data changes it says so through
 *  the callback given to watch(), and the zone manager loads it again, diffs the versions,
 *  signs, journals, publishes and notifies. Sources never publish anything themselves.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "zones/builder.h"

struct event_base;

/*! One "name args..." property of the source's block. */
typedef struct source_option {
	const char *name;
	char *const *args;
	int argc;
	const char *where; /*!< "file:line" */
} source_option_t;

/*! What a source is configured with (everything borrowed for the source's lifetime). */
typedef struct source_conf {
	const uint8_t *apex;  /*!< the zone, wire form, lower case */
	const char *apex_str; /*!< "example.org." */
	char *const *args;    /*!< the directive's arguments */
	int argc;
	const source_option_t *opts; /*!< the directive's block */
	int nopts;
	const char *dir;   /*!< relative paths are taken from here */
	const char *where; /*!< "file:line" of the directive */
} source_conf_t;

typedef struct zone_source_ops zone_source_ops_t;

/*! Every source's state starts with this (each adapter extends it). */
typedef struct zone_source {
	const zone_source_ops_t *ops;
} zone_source_t;

/*! Called by a source, on the thread of the event base given to watch(), when its data
 *  changed; the manager then calls load(). */
typedef void (*source_changed_fn)(void *ud);

/*! A source of zone data. The zone manager owns the instance. */
struct zone_source_ops {
	const char *name; /*!< the Corefile directive: "file", "sqlite", ... */
	/*! Check the configuration and open; errors name conf->where. */
	int (*open)(zone_source_t **out, const source_conf_t *conf, char *err, size_t errlen);
	/*! The full contents, into \a b (apex already set). */
	int (*load)(zone_source_t *s, zone_builder_t *b);
	/*! Watch for changes; may be NULL (the source never changes). */
	int (*watch)(zone_source_t *s, struct event_base *base, source_changed_fn changed,
		     void *ud);
	void (*close)(zone_source_t *s);
};

/*! \brief The source for a directive name, or NULL. */
const zone_source_ops_t *source_find(const char *name);

/*! \brief The directive names of every source, NULL-terminated. */
const char *const *source_names(void);
