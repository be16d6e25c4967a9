/*  Signet: Prometheus metrics.
 *
 *  Every query thread counts into its own block of counters (allocated once, on the thread's
 *  first counted query; never locked, never shared); a scrape sums them. Label sets ("series")
 *  are registered by the main thread when a configuration is loaded and live as long as the
 *  process, so counters survive reloads as Prometheus expects. Names and labels are
 *  CoreDNS's where CoreDNS has the metric (coredns_dns_requests_total{server, zone, view,
 *  proto, family, type}, ...); the rest are signet_*, the per-zone ones read from the zone
 *  entries of the published state (their counters are kept by the zone manager).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "server/cfg.h"

struct query;
struct evbuffer;
struct server_state;

/*! What one server block with "prometheus" counts under: its server label and zones. */
typedef struct metrics_block metrics_block_t;

/*!
 * \brief The metrics of a server block (main thread, at configuration time).
 * \param cfg   the block (its keys are the zone labels)
 * \param port  the block's port
 * \param bind  its first "bind" address, or NULL
 * \param tls   a tls:// block
 * \return E_OK, -ENOMEM, or E_NOTSUP when there are more label sets than counters.
 */
int metrics_block_new(metrics_block_t **out, const cfg_block_t *cfg, uint16_t port,
		      const char *bind, bool tls);
void metrics_block_free(metrics_block_t *m);

/*! \brief The server label of \a m: "dns://[BIND]:PORT". */
const char *metrics_block_server(const metrics_block_t *m);

/*! \brief The zone label set (series) of the query \a q in its block, or -1 when the block
 *         exports no metrics. */
int metrics_query_series(const struct query *q);

/*!
 * \brief Count one query that got \a resp_len octets back (0: nothing was sent). Does nothing
 *        unless its block (or, when no zone matched, any block on its port) has "prometheus".
 */
void metrics_query(struct query *q, size_t resp_len);

/*! The counters of a cache (coredns_cache_*{server, [type,] zones, view}). */
enum metrics_cache_counter {
	METRICS_CACHE_HIT_SUCCESS,
	METRICS_CACHE_HIT_DENIAL,
	METRICS_CACHE_MISS,
	METRICS_CACHE_REQUEST,
	METRICS_CACHE_PREFETCH,
	METRICS_CACHE_SERVED_STALE,
	METRICS_CACHE_EVICT_SUCCESS,
	METRICS_CACHE_EVICT_DENIAL,
	METRICS_CACHE_DROP,
	METRICS_CACHE_NCOUNTERS
};

/*! \brief The series of a cache with these labels (registered on first use; any thread).
 *         \return its index, or -1 when there is no room. */
int metrics_cache_series(const char *server, const char *zones);

/*! \brief Count one cache event of \a series (the calling thread's counters). */
void metrics_cache_count(int series, enum metrics_cache_counter c);

/*! ACL outcomes (coredns_acl_{blocked,filtered,dropped,allowed}_requests_total). */
enum metrics_acl { METRICS_ACL_ALLOW, METRICS_ACL_BLOCK, METRICS_ACL_FILTER, METRICS_ACL_DROP };

/*! \brief Count one ACL decision for query \a q. */
void metrics_acl_count(const struct query *q, enum metrics_acl what);

/*! \brief Append the whole text exposition (format 0.0.4) for \a st to \a out. */
void metrics_write(struct evbuffer *out, const struct server_state *st);

/*! The time buckets of coredns_dns_request_duration_seconds: 0.25 ms .. 8.192 s, factor 2. */
#define METRICS_TIME_BUCKETS 16

/*! \brief The time bucket of a duration in nanoseconds (METRICS_TIME_BUCKETS: +Inf). */
int metrics_time_bucket(uint64_t ns);
