/*  Signet: the query path's transfer and TSIG side — AXFR/IXFR out, NOTIFY in, TSIG-signed
 *  queries (RFC 8945), with the "transfer" and "tsig" rules of the zone's block. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "server/query.h"

struct server_state;

enum xfrout_result {
	XFROUT_PASS = 0, /*!< an ordinary query: answer it (q->tsig set when it is signed) */
	XFROUT_DONE,     /*!< the response is in q->out, *len octets (q->xfr: more to come) */
	XFROUT_DROP,     /*!< send nothing */
};

/*!
 * \brief Look at a parsed request before the ordinary answer: transfers, NOTIFY and TSIG.
 *        Called with the writer begun (q->w) and the RCU read side held.
 */
enum xfrout_result xfrout_query(const struct server_state *st, query_t *q, size_t *len);

/*! \brief Sign the finished response when the request was signed; returns the new length. */
size_t xfrout_sign(query_t *q, size_t len);

/*! \brief The next message of the transfer \a *xfr (taken from q->xfr by the connection)
 *         into \a buf; 0 when done, and *xfr is freed. */
size_t xfrout_next(void **xfr, uint8_t *buf, size_t cap);

/*! \brief Abandon a transfer in progress (the connection closed). */
void xfrout_abort(void **xfr);

/*! \brief Close this thread's journal readers (at thread exit). */
void xfrout_thread_done(void);
