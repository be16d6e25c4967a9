/*  DNS over TCP (RFC 7766): one thread with its own libevent loop; every complete message in
 *  a connection's input is answered in order (pipelining), idle connections are closed. */
#include "server/net.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <event2/thread.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <urcu-qsbr.h>

#include "dns/err.h"
#include "dns/log.h"
#include "server/state.h"
#include "server/xfrout.h"

/* Stop reading from a client whose answers pile up unread. */
#define TCP_OUT_HIGH (256 * 1024)

struct tcp_server {
	pthread_t thr;
	struct event_base *base;
	struct evconnlistener **listeners;
	int nlisteners;
	const net_sockets_t *s;
	query_stats_t stats;
	query_t q;
	struct tcp_conn *conns; /*!< open connections */
	uint32_t nconns;
	struct client_slot *clients;
	uint8_t in[DNS_TCP_MAX];
	uint8_t out[2 + DNS_TCP_MAX];
};

/* Open connections per client address (open addressing; a slot whose count fell to 0 is
 * reused only by its own address, so chains stay intact). */
#define CLIENTS_SLOTS 32768

struct client_slot {
	uint8_t addr[16];
	uint32_t count;
	bool used;
};

struct tcp_conn {
	struct tcp_server *t;
	struct bufferevent *bev;
	struct tcp_conn *prev, *next;
	struct sockaddr_storage remote;
	uint16_t port;
	void *xfr; /* a zone transfer still being sent: reading waits until it is done */
	struct client_slot *client;
};

static void client_key(const struct sockaddr_storage *sa, uint8_t key[16])
{
	memset(key, 0, 16);
	if (sa->ss_family == AF_INET) {
		memcpy(key + 12, &((const struct sockaddr_in *)sa)->sin_addr, 4);
		key[10] = key[11] = 0xff;
	} else if (sa->ss_family == AF_INET6) {
		memcpy(key, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
	}
}

static struct client_slot *client_find(struct tcp_server *t, const struct sockaddr_storage *sa)
{
	uint8_t key[16];
	uint32_t h = 2166136261u;
	client_key(sa, key);
	for (int i = 0; i < 16; i++) {
		h = (h ^ key[i]) * 16777619u;
	}
	for (uint32_t n = 0; n < CLIENTS_SLOTS; n++) {
		struct client_slot *s = &t->clients[(h + n) & (CLIENTS_SLOTS - 1)];
		if (!s->used) {
			memcpy(s->addr, key, 16);
			s->used = true;
			return s;
		}
		if (memcmp(s->addr, key, 16) == 0) {
			return s;
		}
	}
	return NULL;
}

static void conn_close(struct bufferevent *bev, struct tcp_conn *c)
{
	if (c->prev != NULL) {
		c->prev->next = c->next;
	} else {
		c->t->conns = c->next;
	}
	if (c->next != NULL) {
		c->next->prev = c->prev;
	}
	xfrout_abort(&c->xfr);
	if (c->client != NULL) {
		c->client->count--;
	}
	c->t->nconns--;
	bufferevent_free(bev);
	free(c);
}

/* Queue transfer messages while the client keeps up; the write callback asks for more. */
static void conn_pump(struct bufferevent *bev, struct tcp_conn *c)
{
	struct evbuffer *out = bufferevent_get_output(bev);
	while (c->xfr != NULL && evbuffer_get_length(out) < TCP_OUT_HIGH) {
		size_t len = xfrout_next(&c->xfr, c->t->out + 2, DNS_TCP_MAX);
		if (len == 0) {
			break;
		}
		dns_put16(c->t->out, (uint16_t)len);
		bufferevent_write(bev, c->t->out, 2 + len);
	}
}

static void conn_read(struct bufferevent *bev, void *arg)
{
	struct tcp_conn *c = arg;
	struct tcp_server *t = c->t;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct evbuffer *out = bufferevent_get_output(bev);

	for (;;) {
		uint8_t hdr[2];
		if (c->xfr != NULL || evbuffer_get_length(out) > TCP_OUT_HIGH) {
			/* Resume from the write callback once the client reads. */
			bufferevent_disable(bev, EV_READ);
			return;
		}
		if (evbuffer_copyout(in, hdr, 2) < 2) {
			return;
		}
		uint16_t len = dns_u16(hdr);
		if (len == 0) {
			conn_close(bev, c);
			return;
		}
		if (evbuffer_get_length(in) < 2u + len) {
			return;
		}
		evbuffer_drain(in, 2);
		evbuffer_remove(in, t->in, len);

		query_t *q = &t->q;
		clock_gettime(CLOCK_MONOTONIC, &q->start);
		q->wire = t->in;
		q->len = len;
		q->remote = (const struct sockaddr *)&c->remote;
		q->transport = TRANSPORT_TCP;
		q->port = c->port;
		q->out = t->out + 2;
		q->out_cap = DNS_TCP_MAX;
		rcu_thread_online();
		size_t rlen = query_process(rcu_dereference(server_state), q);
		rcu_thread_offline();
		if (rlen == 0) {
			continue;
		}
		dns_put16(t->out, (uint16_t)rlen);
		bufferevent_write(bev, t->out, 2 + rlen);
		if (q->xfr != NULL) {
			c->xfr = q->xfr;
			q->xfr = NULL;
			conn_pump(bev, c);
		}
	}
}

static void conn_write(struct bufferevent *bev, void *arg)
{
	struct tcp_conn *c = arg;
	if (c->xfr != NULL) {
		conn_pump(bev, c);
		if (c->xfr != NULL) {
			return;
		}
	}
	if (!(bufferevent_get_enabled(bev) & EV_READ)) {
		bufferevent_enable(bev, EV_READ);
		conn_read(bev, arg);
	}
}

static void conn_event(struct bufferevent *bev, short what, void *arg)
{
	(void)what;
	conn_close(bev, arg);
}

/* The idle timeout of the first server block on this port (CoreDNS's timeouts plugin), and
 * the connection limits. */
static void port_timeouts(uint16_t port, struct timeval *idle, conf_limits_t *limits)
{
	uint64_t ms = 10000;
	rcu_thread_online();
	const server_state_t *st = rcu_dereference(server_state);
	*limits = st->conf->limits;
	int view = conf_view_by_port(st->conf, port);
	for (int i = 0; view >= 0 && i < st->conf->nzones; i++) {
		if (st->conf->zones[i].view == view) {
			ms = st->conf->blocks[st->conf->zones[i].block].tcp_idle_ms;
			break;
		}
	}
	rcu_thread_offline();
	idle->tv_sec = (time_t)(ms / 1000);
	idle->tv_usec = (suseconds_t)(ms % 1000) * 1000;
}

static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen,
		      void *arg)
{
	struct tcp_server *t = arg;
	struct tcp_conn *c = NULL;
	struct client_slot *client = NULL;
	struct timeval idle;
	conf_limits_t limits;
	int idx = 0;
	while (idx < t->nlisteners && t->listeners[idx] != l) {
		idx++;
	}
	port_timeouts(t->s->port[idx], &idle, &limits);
	client = client_find(t, (const struct sockaddr_storage *)sa);
	if ((limits.tcp_connections != 0 && t->nconns >= limits.tcp_connections) ||
	    (limits.tcp_per_client != 0 && client != NULL &&
	     client->count >= limits.tcp_per_client)) {
		t->stats.dropped++;
		evutil_closesocket(fd); /* over the limit: refuse by closing at once */
		return;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		evutil_closesocket(fd);
		return;
	}
	c->t = t;
	memcpy(&c->remote, sa,
	       (size_t)salen < sizeof(c->remote) ? (size_t)salen : sizeof(c->remote));
	c->port = t->s->port[idx];
	struct bufferevent *bev = bufferevent_socket_new(t->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL) {
		evutil_closesocket(fd);
		free(c);
		return;
	}
	c->bev = bev;
	c->client = client;
	if (client != NULL) {
		client->count++;
	}
	t->nconns++;
	c->next = t->conns;
	if (t->conns != NULL) {
		t->conns->prev = c;
	}
	t->conns = c;
	bufferevent_setcb(bev, conn_read, conn_write, conn_event, c);
	bufferevent_set_timeouts(bev, &idle, &idle);
	bufferevent_setwatermark(bev, EV_WRITE, 65536, 0); /* refill transfers early */
	bufferevent_enable(bev, EV_READ | EV_WRITE);
}

static void *tcp_main(void *arg)
{
	struct tcp_server *t = arg;
	rcu_register_thread();
	rcu_thread_offline();
	event_base_dispatch(t->base);
	xfrout_thread_done();
	rcu_thread_online();
	rcu_unregister_thread();
	return NULL;
}

int tcp_start(tcp_server_t **out, const net_sockets_t *s)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, (void (*)(void))evthread_use_pthreads);
	struct tcp_server *t = calloc(1, sizeof(*t));
	if (t == NULL) {
		return -ENOMEM;
	}
	t->s = s;
	t->q.stats = &t->stats;
	t->clients = calloc(CLIENTS_SLOTS, sizeof(struct client_slot));
	t->base = event_base_new();
	t->listeners = calloc((size_t)s->nlisteners + 1, sizeof(*t->listeners));
	if (t->base == NULL || t->listeners == NULL || t->clients == NULL) {
		tcp_stop(t);
		return -ENOMEM;
	}
	for (int i = 0; i < s->nlisteners; i++) {
		if (s->tls[i]) {
			continue; /* DNS over TLS: not in this build */
		}
		t->listeners[i] = evconnlistener_new(t->base, on_accept, t, 0, -1, s->tcp[i]);
		if (t->listeners[i] == NULL) {
			tcp_stop(t);
			return -ENOMEM;
		}
		t->nlisteners = i + 1;
	}
	t->nlisteners = s->nlisteners;
	if (pthread_create(&t->thr, NULL, tcp_main, t) != 0) {
		t->thr = 0;
		tcp_stop(t);
		return -errno;
	}
	*out = t;
	return E_OK;
}

void tcp_stop(tcp_server_t *t)
{
	if (t == NULL) {
		return;
	}
	if (t->thr != 0) {
		event_base_loopexit(t->base, NULL);
		pthread_join(t->thr, NULL);
	}
	while (t->conns != NULL) {
		conn_close(t->conns->bev, t->conns);
	}
	for (int i = 0; i < t->nlisteners; i++) {
		if (t->listeners[i] != NULL) {
			evconnlistener_free(t->listeners[i]);
		}
	}
	free(t->listeners);
	free(t->clients);
	if (t->base != NULL) {
		event_base_free(t->base);
	}
	free(t);
}

void tcp_stats(const tcp_server_t *t, query_stats_t *sum)
{
	if (t == NULL) {
		return;
	}
	for (int i = 0; i < 3; i++) {
		sum->requests[i] += t->stats.requests[i];
	}
	for (int r = 0; r < 16; r++) {
		sum->rcodes[r] += t->stats.rcodes[r];
	}
	sum->dropped += t->stats.dropped;
	sum->truncated += t->stats.truncated;
}
