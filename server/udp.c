/*  UDP workers: one thread per core, each with its own SO_REUSEPORT sockets, reading and
 *  answering in recvmmsg/sendmmsg batches. Nothing is allocated per query; the published
 *  state is read under RCU (QSBR: a quiescent state after each batch, offline while idle). */
#include "server/net.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>
#include <urcu-qsbr.h>

#include "dns/err.h"
#include "dns/log.h"
#include "server/state.h"
#include "server/xfrout.h"

#define UDP_BATCH  64
#define UDP_IN_MAX 4096

struct udp_worker {
	pthread_t thr;
	int id;
	int epfd;
	const net_sockets_t *s;
	query_stats_t stats;
	query_t q;
	struct mmsghdr in_msg[UDP_BATCH];
	struct mmsghdr out_msg[UDP_BATCH];
	struct iovec in_iov[UDP_BATCH];
	struct iovec out_iov[UDP_BATCH];
	struct sockaddr_storage addr[UDP_BATCH];
	uint8_t in[UDP_BATCH][UDP_IN_MAX];
	uint8_t out[UDP_BATCH][DNS_UDP_DEFAULT];
};

struct udp_workers {
	struct udp_worker **w;
	int n;
};

/* Read, answer and send batches on one socket until it has nothing more (or a bound). */
static void serve_socket(struct udp_worker *w, int fd, uint16_t port)
{
	for (int round = 0; round < 16; round++) {
		for (int i = 0; i < UDP_BATCH; i++) {
			w->in_iov[i].iov_base = w->in[i];
			w->in_iov[i].iov_len = UDP_IN_MAX;
			w->in_msg[i].msg_hdr.msg_name = &w->addr[i];
			w->in_msg[i].msg_hdr.msg_namelen = sizeof(w->addr[i]);
			w->in_msg[i].msg_hdr.msg_iov = &w->in_iov[i];
			w->in_msg[i].msg_hdr.msg_iovlen = 1;
			w->in_msg[i].msg_hdr.msg_control = NULL;
			w->in_msg[i].msg_hdr.msg_controllen = 0;
			w->in_msg[i].msg_hdr.msg_flags = 0;
		}
		int n = recvmmsg(fd, w->in_msg, UDP_BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0) {
			return;
		}
		const server_state_t *st = rcu_dereference(server_state);
		int nout = 0;
		for (int i = 0; i < n; i++) {
			query_t *q = &w->q;
			if (w->in_msg[i].msg_hdr.msg_flags & MSG_TRUNC) {
				w->stats.dropped++;
				continue;
			}
			clock_gettime(CLOCK_MONOTONIC, &q->start);
			q->wire = w->in[i];
			q->len = w->in_msg[i].msg_len;
			q->remote = (const struct sockaddr *)&w->addr[i];
			q->transport = TRANSPORT_UDP;
			q->port = port;
			q->out = w->out[nout];
			q->out_cap = DNS_UDP_DEFAULT;
			size_t len = query_process(st, q);
			if (len == 0) {
				continue;
			}
			w->out_iov[nout].iov_base = w->out[nout];
			w->out_iov[nout].iov_len = len;
			struct msghdr *h = &w->out_msg[nout].msg_hdr;
			memset(h, 0, sizeof(*h));
			h->msg_name = &w->addr[i];
			h->msg_namelen = w->in_msg[i].msg_hdr.msg_namelen;
			h->msg_iov = &w->out_iov[nout];
			h->msg_iovlen = 1;
			nout++;
		}
		for (int sent = 0; sent < nout;) {
			int r = sendmmsg(fd, w->out_msg + sent, (unsigned)(nout - sent), 0);
			if (r <= 0) {
				if (r < 0 && errno == EINTR) {
					continue;
				}
				w->stats.dropped += (uint64_t)(nout - sent);
				break;
			}
			sent += r;
		}
		rcu_quiescent_state();
		if (n < UDP_BATCH) {
			return;
		}
	}
}

static void *worker_main(void *arg)
{
	struct udp_worker *w = arg;
	const net_sockets_t *s = w->s;
	struct epoll_event ev[16];

	rcu_register_thread();
	while (!net_stopping) {
		rcu_thread_offline();
		int n = epoll_wait(w->epfd, ev, 16, 200);
		rcu_thread_online();
		for (int i = 0; i < n; i++) {
			int l = (int)ev[i].data.u32;
			serve_socket(w, s->udp[w->id * s->nlisteners + l], s->port[l]);
		}
	}
	xfrout_thread_done();
	rcu_unregister_thread();
	return NULL;
}

int udp_start(udp_workers_t **out, const net_sockets_t *s)
{
	udp_workers_t *ws = calloc(1, sizeof(*ws));
	if (ws == NULL) {
		return -ENOMEM;
	}
	ws->w = calloc((size_t)s->nworkers, sizeof(struct udp_worker *));
	if (ws->w == NULL) {
		free(ws);
		return -ENOMEM;
	}
	for (int i = 0; i < s->nworkers; i++) {
		struct udp_worker *w = calloc(1, sizeof(*w));
		if (w == NULL) {
			udp_stop(ws);
			return -ENOMEM;
		}
		w->id = i;
		w->s = s;
		w->q.stats = &w->stats;
		w->epfd = epoll_create1(EPOLL_CLOEXEC);
		for (int l = 0; l < s->nlisteners; l++) {
			if (s->tls[l]) {
				continue;
			}
			struct epoll_event ev = { .events = EPOLLIN, .data.u32 = (uint32_t)l };
			epoll_ctl(w->epfd, EPOLL_CTL_ADD, s->udp[i * s->nlisteners + l], &ev);
		}
		ws->w[ws->n++] = w;
		if (pthread_create(&w->thr, NULL, worker_main, w) != 0) {
			ws->n--;
			free(w);
			udp_stop(ws);
			return -errno;
		}
	}
	*out = ws;
	return E_OK;
}

void udp_stop(udp_workers_t *ws)
{
	if (ws == NULL) {
		return;
	}
	net_stopping = 1;
	for (int i = 0; i < ws->n; i++) {
		pthread_join(ws->w[i]->thr, NULL);
		close(ws->w[i]->epfd);
		free(ws->w[i]);
	}
	free(ws->w);
	free(ws);
}

void udp_stats(const udp_workers_t *ws, query_stats_t *sum)
{
	for (int i = 0; ws != NULL && i < ws->n; i++) {
		const query_stats_t *s = &ws->w[i]->stats;
		for (int t = 0; t < 3; t++) {
			sum->requests[t] += s->requests[t];
		}
		for (int r = 0; r < 16; r++) {
			sum->rcodes[r] += s->rcodes[r];
		}
		sum->dropped += s->dropped;
		sum->truncated += s->truncated;
	}
}
