/*  Signet: one query through the query path, shared by UDP, TCP and TLS. */
#pragma once

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#include "dns/pkt.h"
#include "dns/tsig.h"
#include "zones/lookup.h"

struct server_state;
struct conf_block;

enum { EDE_NOT_READY = 14, EDE_NOT_AUTHORITATIVE = 20 };

enum transport { TRANSPORT_UDP = 0, TRANSPORT_TCP, TRANSPORT_TLS };

/*! Per-thread statistics, summed by the metrics endpoint. */
typedef struct query_stats {
	uint64_t requests[3]; /*!< by transport */
	uint64_t rcodes[16];
	uint64_t dropped;
	uint64_t truncated;
} query_stats_t;

/*! What the stages (server/stages/) keep about one query; query_process resets it. */
typedef struct query_stage_state {
	const struct server_state *st;   /*!< the state this query is answered from */
	const struct zone_entry *zentry; /*!< the zone query_answer answered from, or NULL */
	const struct zone *zver;         /*!< the version it answered from (NULL: not loaded) */
	const char *plugin;              /*!< the stage that wrote the response, or NULL */
	bool answered;                   /*!< query_answer ran */
	/* rewrite: the question as the client asked it, while it is rewritten */
	bool rewritten;
	bool rewrite_stop;
	uint16_t orig_qtype, orig_qclass;
	uint64_t rewrite_rules; /*!< response rules to apply, one bit per rule */
	uint8_t orig_qname[DNAME_MAX];
	/* cache: what its response hook does */
	uint8_t cache;
	uint32_t cache_hits;
	uint64_t cache_hash;
} query_stage_state_t;

/*! Everything one query needs; one per worker thread (or TCP thread), reused. */
typedef struct query {
	/* In: */
	const uint8_t *wire;
	size_t len;
	const struct sockaddr *remote;
	enum transport transport;
	uint16_t port; /*!< the local port the query came in on: selects the view */
	int view;      /*!< the view of that port (set by query_process) */
	/* Parsed request and response being written: */
	dns_request_t req;
	dns_writer_t w;
	uint8_t *out;
	size_t out_cap;
	uint16_t max_size;        /*!< the most the response may be */
	struct conf_block *block; /*!< the server block of the matched zone, or NULL */
	lookup_result_t res;
	tsig_ctx_t tsig; /*!< the request's TSIG, when tsig_on */
	bool tsig_on;    /*!< sign the response */
	void *xfr;       /*!< a TCP transfer with more messages to send (xfr_out_t) */
	int ede;         /*!< Extended DNS Error for the OPT (RFC 8914), -1 for none */
	size_t resp_len; /*!< set before the response hooks run */
	struct timespec start;
	query_stats_t *stats;
	query_stage_state_t ss; /*!< for the stages */
} query_t;

/*!
 * \brief Write the answer for q->req (its name possibly rewritten by a stage) from the zones
 *        of q->view into q->w: what the query path does after the stages before the answer.
 */
void query_answer(const struct server_state *st, query_t *q);

/*!
 * \brief Answer one request.
 * \param st    the published server state (read under RCU by the caller)
 * \param q     wire, len, remote, transport, view, out, out_cap set by the caller
 * \return the length of the response in q->out, or 0 to send nothing.
 */
size_t query_process(const struct server_state *st, query_t *q);
