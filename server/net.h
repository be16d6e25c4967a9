/*  Signet: sockets and the threads that serve them. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "server/conf.h"
#include "server/query.h"

/*! The listening sockets, made once at start (before privileges are dropped). */
typedef struct net_sockets {
	int *udp;       /*!< nworkers × nlisteners, worker-major */
	int *tcp;       /*!< nlisteners */
	uint16_t *port; /*!< nlisteners */
	bool *tls;      /*!< nlisteners */
	int nlisteners;
	int nworkers;
} net_sockets_t;

/*! \brief Open every socket of \a conf: one SO_REUSEPORT UDP socket per worker and listener,
 *         one TCP listener each. Errors are logged. */
int net_open(net_sockets_t *s, const conf_t *conf, int nworkers);
void net_close(net_sockets_t *s);

typedef struct udp_workers udp_workers_t;

/*! \brief Start the UDP workers, each on its own sockets. */
int udp_start(udp_workers_t **out, const net_sockets_t *s);
/*! \brief Stop and join them. */
void udp_stop(udp_workers_t *w);
/*! \brief Add every worker's statistics into \a sum. */
void udp_stats(const udp_workers_t *w, query_stats_t *sum);

typedef struct tcp_server tcp_server_t;

/*! \brief Start the TCP thread serving the TCP listeners. */
int tcp_start(tcp_server_t **out, const net_sockets_t *s);
void tcp_stop(tcp_server_t *t);
void tcp_stats(const tcp_server_t *t, query_stats_t *sum);

/*! \brief Ask every serving thread to stop (safe from any thread). */
extern volatile int net_stopping;
