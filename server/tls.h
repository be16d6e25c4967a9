/*  Signet: DNS over TLS (RFC 7858) for tls:// server blocks, with GnuTLS.
 *
 *  One thread with its own libevent loop serves every tls:// listener opened by net_open():
 *  non-blocking handshakes, every complete message of a connection answered in order by
 *  query_process (TRANSPORT_TLS, so the same stages run), session resumption by session
 *  tickets (TLS 1.3 and 1.2), and the idle timeout of the block ("timeouts { idle }").
 */
#pragma once

#include "server/conf.h"
#include "server/net.h"

typedef struct tls_server tls_server_t;

/*!
 * \brief Load the certificate of every tls:// listener ("tls CERT KEY [CA]" of a block on its
 *        port) and start the thread. *out is NULL when there is no tls:// listener.
 * \return E_OK, or an error (logged) when a certificate cannot be loaded.
 */
int tls_start(tls_server_t **out, const net_sockets_t *s, const conf_t *conf);

/*! \brief Stop the thread and close every connection; NULL is fine. */
void tls_stop(tls_server_t *t);

/*!
 * \brief Check "tls CERT KEY [CA] { client_auth nocert|request|require|verify_if_given|
 *        require_and_verify }". \return E_OK, or E_CFG_SEMANTIC with \a err set.
 */
int tls_directive_check(const cfg_directive_t *d, char *err, size_t errlen);
