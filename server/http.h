/*  Signet: the HTTP endpoints of "prometheus" (/metrics), "health" (/health) and "ready"
 *  (/ready), served by libevent's evhttp on a thread of their own.
 */
#pragma once

#include <stdint.h>
#include <sys/socket.h>

#include "server/conf.h"

#define HTTP_METRICS_DEFAULT "localhost:9153" /* CoreDNS's defaults */
#define HTTP_HEALTH_DEFAULT  ":8080"
#define HTTP_READY_DEFAULT   ":8181"

typedef struct http_server http_server_t;

/*!
 * \brief Parse a listen address as CoreDNS writes it: "HOST:PORT", ":PORT" (every address),
 *        "localhost:PORT", "[V6]:PORT". \return E_OK or E_CFG_SEMANTIC.
 */
int http_addr_parse(const char *s, struct sockaddr_storage *out, socklen_t *len);

/*!
 * \brief Check the operational directive \a d ("prometheus", "health" or "ready"): its
 *        address and properties. \return E_OK, or E_CFG_SEMANTIC with \a err set.
 */
int http_directive_check(const cfg_directive_t *d, char *err, size_t errlen);

/*!
 * \brief Listen on every address the blocks of \a conf name and serve from a new thread.
 *        *out is NULL when no block asks for an endpoint. Errors (an address in use) are
 *        logged. \return E_OK or the first error.
 */
int http_start(http_server_t **out, const conf_t *conf);

/*!
 * \brief Shutting down: /ready answers 503 from now on; wait the longest "health { lameduck }"
 *        duration while the DNS threads still answer.
 */
void http_lameduck(http_server_t *h);

/*! \brief Stop the thread and close the listeners; NULL is fine. */
void http_stop(http_server_t *h);
