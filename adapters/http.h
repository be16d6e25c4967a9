/*  Signet: HTTP for the etcd and Kubernetes sources — libcurl's multi interface driven by
 *  a libevent base, for short requests and for long-lived streams (watches). */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct event_base;

typedef struct http_client http_client_t;
typedef struct http_req http_req_t;

/*! TLS and authentication of a request (strings borrowed until the request ends). */
typedef struct http_opts {
	const char *ca_file;      /*!< verify the server with this CA bundle (NULL: system) */
	const char *cert_file;    /*!< client certificate (PEM), NULL for none */
	const char *key_file;     /*!< its key */
	const char *bearer_token; /*!< "Authorization: Bearer ..." when not NULL */
	const char *user;         /*!< basic authentication when not NULL */
	const char *pass;
	const char *content_type;  /*!< of the body, NULL: application/json */
	bool insecure;             /*!< do not verify the server (tests only) */
	long timeout_ms;           /*!< whole request; 0: none (streams) */
	long connect_timeout_ms;   /*!< 0: 3000 */
	const char *authorization; /*!< "Authorization: ..." as it is (etcd's token) when not
				        NULL and bearer_token is NULL */
} http_opts_t;

/*! Called with each piece of the body as it arrives (a stream: every chunk). */
typedef void (*http_data_fn)(void *ud, const char *data, size_t len);
/*! Called once at the end: HTTP status (0 when none), err = 0 or a negative error with
 *  \a msg saying what failed. The request is freed after this returns. */
typedef void (*http_done_fn)(void *ud, long status, int err, const char *msg);

/*! \brief A client on \a base (one per source instance is fine). */
int http_client_new(http_client_t **out, struct event_base *base);
/*! \brief Cancel every request (no callbacks) and free. NULL is fine. Not from inside one
 *         of the client's callbacks. */
void http_client_free(http_client_t *c);

/*!
 * \brief Start a request; the callbacks run on the event base's thread.
 * \param out  receives a handle for http_cancel (may be NULL)
 */
int http_request(http_client_t *c, http_req_t **out, const char *method, const char *url,
		 const char *body, const http_opts_t *o, http_data_fn on_data, http_done_fn on_done,
		 void *ud);

/*! \brief Stop a request; its done callback is not called. Fine from inside any callback
 *         of the client (also the request's own on_data); not after its done callback. */
void http_cancel(http_req_t *r);

/*!
 * \brief A blocking request for the whole body (start-up loads and -validate).
 * \param out  receives the body (NUL-terminated, caller frees)
 * \return E_OK (whatever the status: see *status) or a negative error with \a err set.
 */
int http_fetch(const char *method, const char *url, const char *body, const http_opts_t *o,
	       char **out, size_t *outlen, long *status, char *err, size_t errlen);
