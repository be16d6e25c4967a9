/*  Signet: DNS over TLS (see tls.h). */
#include "server/tls.h"

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <gnutls/gnutls.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <urcu-qsbr.h>

#include "dns/err.h"
#include "dns/log.h"
#include "server/state.h"

#define TLS_RECV_CHUNK   16384
#define TLS_SEND_CHUNK   16384
#define TLS_OUT_HIGH     (256 * 1024) /* stop reading from a client that does not read */
#define TLS_HANDSHAKE_MS 10000

struct tls_listener {
	struct tls_server *t;
	struct evconnlistener *l;
	gnutls_certificate_credentials_t cred;
	gnutls_certificate_request_t client_auth;
	uint16_t port;
	uint64_t idle_ms;
};

struct tls_server {
	pthread_t thr;
	struct event_base *base;
	struct tls_listener *ls;
	int nls;
	gnutls_datum_t ticket_key;
	gnutls_priority_t prio;
	struct tls_conn *conns;
	query_stats_t stats;
	query_t q;
	uint8_t in[DNS_TCP_MAX];
	uint8_t out[2 + DNS_TCP_MAX];
};

struct tls_conn {
	struct tls_server *t;
	struct tls_listener *l;
	struct tls_conn *prev, *next;
	evutil_socket_t fd;
	gnutls_session_t s;
	struct event *rd, *wr, *timer;
	struct evbuffer *in, *out;
	size_t pending; /* octets of out GnuTLS holds after GNUTLS_E_AGAIN */
	bool established;
	bool reading; /* rd is armed */
	struct sockaddr_storage remote;
};

int tls_directive_check(const cfg_directive_t *d, char *err, size_t errlen)
{
	static const char *const modes[] = { "nocert", "request", "require", "verify_if_given",
					     "require_and_verify" };
	if (d->argc < 2 || d->argc > 3) {
		snprintf(err, errlen, "tls: needs CERT KEY [CA]");
		return E_CFG_SEMANTIC;
	}
	for (int i = 0; i < d->nprops; i++) {
		const cfg_directive_t *p = &d->props[i];
		bool ok = false;
		for (size_t m = 0; strcmp(p->name, "client_auth") == 0 && p->argc == 1 &&
				   m < sizeof(modes) / sizeof(modes[0]);
		     m++) {
			ok = ok || strcmp(p->args[0], modes[m]) == 0;
		}
		if (!ok) {
			snprintf(err, errlen,
				 "tls: unknown property '%s' (client_auth nocert|request|"
				 "require|verify_if_given|require_and_verify)",
				 p->name);
			return E_CFG_SEMANTIC;
		}
	}
	return E_OK;
}

static void conn_close(struct tls_conn *c)
{
	struct tls_server *t = c->t;
	if (c->prev != NULL) {
		c->prev->next = c->next;
	} else {
		t->conns = c->next;
	}
	if (c->next != NULL) {
		c->next->prev = c->prev;
	}
	if (c->rd != NULL) {
		event_free(c->rd);
	}
	if (c->wr != NULL) {
		event_free(c->wr);
	}
	if (c->timer != NULL) {
		event_free(c->timer);
	}
	if (c->in != NULL) {
		evbuffer_free(c->in);
	}
	if (c->out != NULL) {
		evbuffer_free(c->out);
	}
	if (c->s != NULL) {
		gnutls_deinit(c->s);
	}
	evutil_closesocket(c->fd);
	free(c);
}

static void arm_timer(struct tls_conn *c, uint64_t ms)
{
	struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000 };
	evtimer_add(c->timer, &tv);
}

/* Send what is queued; false when the connection is dead. */
static bool flush(struct tls_conn *c)
{
	if (c->pending > 0) {
		ssize_t r = gnutls_record_send(c->s, NULL, 0); /* resume the record GnuTLS holds */
		if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED) {
			event_add(c->wr, NULL);
			return true;
		}
		if (r < 0) {
			return false;
		}
		evbuffer_drain(c->out, c->pending);
		c->pending = 0;
	}
	while (evbuffer_get_length(c->out) > 0) {
		size_t n = evbuffer_get_length(c->out);
		n = n < TLS_SEND_CHUNK ? n : TLS_SEND_CHUNK;
		const uint8_t *p = evbuffer_pullup(c->out, (ssize_t)n);
		ssize_t r = gnutls_record_send(c->s, p, n);
		if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED) {
			c->pending = n;
			event_add(c->wr, NULL);
			return true;
		}
		if (r < 0) {
			return false;
		}
		evbuffer_drain(c->out, (size_t)r);
	}
	return true;
}

/* Answer every complete message in c->in (RFC 7766 framing, pipelined). */
static void answer(struct tls_conn *c)
{
	struct tls_server *t = c->t;
	for (;;) {
		uint8_t hdr[2];
		if (evbuffer_get_length(c->out) > TLS_OUT_HIGH ||
		    evbuffer_copyout(c->in, hdr, 2) < 2) {
			return;
		}
		uint16_t len = dns_u16(hdr);
		if (evbuffer_get_length(c->in) < 2u + len) {
			return;
		}
		evbuffer_drain(c->in, 2);
		evbuffer_remove(c->in, t->in, len);
		query_t *q = &t->q;
		clock_gettime(CLOCK_MONOTONIC, &q->start);
		q->wire = t->in;
		q->len = len;
		q->remote = (const struct sockaddr *)&c->remote;
		q->transport = TRANSPORT_TLS;
		q->port = c->l->port;
		q->out = t->out + 2;
		q->out_cap = DNS_TCP_MAX;
		rcu_thread_online();
		size_t rlen = query_process(rcu_dereference(server_state), q);
		rcu_thread_offline();
		if (rlen > 0) {
			dns_put16(t->out, (uint16_t)rlen);
			evbuffer_add(c->out, t->out, 2 + rlen);
		}
	}
}

static void on_io(evutil_socket_t fd, short what, void *arg)
{
	struct tls_conn *c = arg;
	uint8_t buf[TLS_RECV_CHUNK];
	(void)fd;
	(void)what;

	if (!c->established) {
		int r = gnutls_handshake(c->s);
		if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED) {
			if (gnutls_record_get_direction(c->s) == 1) {
				event_add(c->wr, NULL);
			}
			return;
		}
		if (r < 0) {
			conn_close(c);
			return;
		}
		c->established = true;
		arm_timer(c, c->l->idle_ms);
	}
	if (!flush(c)) {
		conn_close(c);
		return;
	}
	bool got = false;
	while (evbuffer_get_length(c->out) <= TLS_OUT_HIGH) {
		ssize_t n = gnutls_record_recv(c->s, buf, sizeof(buf));
		if (n > 0) {
			evbuffer_add(c->in, buf, (size_t)n);
			got = true;
			continue;
		}
		if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED) {
			break;
		}
		/* 0: the client closed; anything else (REHANDSHAKE included) ends it too. */
		conn_close(c);
		return;
	}
	answer(c); /* also what waited while the client did not read */
	if (got) {
		arm_timer(c, c->l->idle_ms); /* idle counts from the last query */
	}
	if (!flush(c)) {
		conn_close(c);
		return;
	}
	/* Stop reading while the client does not read its answers (resumed by on_io). */
	bool want = evbuffer_get_length(c->out) <= TLS_OUT_HIGH;
	if (want != c->reading) {
		if (want) {
			event_add(c->rd, NULL);
		} else {
			event_del(c->rd);
			event_add(c->wr, NULL);
		}
		c->reading = want;
	}
	if (want && gnutls_record_check_pending(c->s) > 0) {
		event_active(c->rd, EV_READ, 0);
	}
}

static void on_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct tls_conn *c = arg;
	(void)fd;
	(void)what;
	if (c->established) {
		gnutls_bye(c->s, GNUTLS_SHUT_WR); /* best effort: the socket does not block */
	}
	conn_close(c);
}

static void on_accept(struct evconnlistener *el, evutil_socket_t fd, struct sockaddr *sa, int salen,
		      void *arg)
{
	struct tls_listener *l = arg;
	struct tls_server *t = l->t;
	struct tls_conn *c = calloc(1, sizeof(*c));
	(void)el;
	if (c == NULL) {
		evutil_closesocket(fd);
		return;
	}
	c->t = t;
	c->l = l;
	c->fd = fd;
	memcpy(&c->remote, sa,
	       (size_t)salen < sizeof(c->remote) ? (size_t)salen : sizeof(c->remote));
	c->next = t->conns;
	if (t->conns != NULL) {
		t->conns->prev = c;
	}
	t->conns = c;
	evutil_make_socket_nonblocking(fd);
	c->in = evbuffer_new();
	c->out = evbuffer_new();
	c->rd = event_new(t->base, fd, EV_READ | EV_PERSIST, on_io, c);
	c->wr = event_new(t->base, fd, EV_WRITE, on_io, c);
	c->timer = evtimer_new(t->base, on_timeout, c);
	if (c->in == NULL || c->out == NULL || c->rd == NULL || c->wr == NULL || c->timer == NULL ||
	    gnutls_init(&c->s, GNUTLS_SERVER | GNUTLS_NONBLOCK) != GNUTLS_E_SUCCESS) {
		c->s = NULL;
		conn_close(c);
		return;
	}
	if (gnutls_priority_set(c->s, t->prio) != GNUTLS_E_SUCCESS ||
	    gnutls_credentials_set(c->s, GNUTLS_CRD_CERTIFICATE, l->cred) != GNUTLS_E_SUCCESS ||
	    gnutls_session_ticket_enable_server(c->s, &t->ticket_key) != GNUTLS_E_SUCCESS) {
		conn_close(c);
		return;
	}
	gnutls_certificate_server_set_request(c->s, l->client_auth);
	gnutls_transport_set_int(c->s, fd);
	gnutls_handshake_set_timeout(c->s, 0);
	c->reading = true;
	event_add(c->rd, NULL);
	arm_timer(c, TLS_HANDSHAKE_MS < c->l->idle_ms ? c->l->idle_ms : TLS_HANDSHAKE_MS);
}

static void *tls_main(void *arg)
{
	struct tls_server *t = arg;
	rcu_register_thread();
	rcu_thread_offline();
	event_base_dispatch(t->base);
	rcu_thread_online();
	rcu_unregister_thread();
	return NULL;
}

static char *resolve(const char *dir, const char *path)
{
	char buf[4096];
	if (path[0] == '/' || dir == NULL) {
		snprintf(buf, sizeof(buf), "%s", path);
	} else {
		snprintf(buf, sizeof(buf), "%s/%s", dir, path);
	}
	return strdup(buf);
}

/* The credentials of the first block on \a port that has "tls". */
static int load_cred(struct tls_listener *l, const conf_t *conf)
{
	const conf_block_t *cb = NULL;
	const cfg_directive_t *d = NULL;
	for (int i = 0; i < conf->nzones && d == NULL; i++) {
		const conf_block_t *b = &conf->blocks[conf->zones[i].block];
		if (conf->views[conf->zones[i].view].port == l->port &&
		    (d = cfg_block_find(b->cfg, "tls")) != NULL) {
			cb = b;
		}
	}
	for (int i = 0; i < conf->nblocks && d == NULL; i++) {
		const conf_block_t *b = &conf->blocks[i];
		for (int k = 0; k < b->cfg->nkeys && d == NULL; k++) {
			if (b->cfg->keys[k].port == l->port) {
				cb = b;
				d = cfg_block_find(b->cfg, "tls");
			}
		}
	}
	if (d == NULL || d->argc < 2) {
		log_err("tls", "port %u: no \"tls CERT KEY\" in its server block", l->port);
		return E_CFG_SEMANTIC;
	}
	l->idle_ms = cb->tcp_idle_ms > 0 ? cb->tcp_idle_ms : 10000;
	l->client_auth = GNUTLS_CERT_IGNORE;
	for (int i = 0; i < d->nprops; i++) {
		const char *m = d->props[i].args[0];
		l->client_auth = strcmp(m, "request") == 0 || strcmp(m, "verify_if_given") == 0
					 ? GNUTLS_CERT_REQUEST
				 : strcmp(m, "require") == 0 || strcmp(m, "require_and_verify") == 0
					 ? GNUTLS_CERT_REQUIRE
					 : GNUTLS_CERT_IGNORE;
	}
	char *cert = resolve(cb->dir, d->args[0]), *key = resolve(cb->dir, d->args[1]);
	char *ca = d->argc > 2 ? resolve(cb->dir, d->args[2]) : NULL;
	int ret = E_OK, r;
	if (cert == NULL || key == NULL || (d->argc > 2 && ca == NULL) ||
	    gnutls_certificate_allocate_credentials(&l->cred) != GNUTLS_E_SUCCESS) {
		ret = -ENOMEM;
		goto out;
	}
	r = gnutls_certificate_set_x509_key_file(l->cred, cert, key, GNUTLS_X509_FMT_PEM);
	if (r < 0) {
		log_err("tls", "%s:%d: cannot load %s and %s: %s", d->file, d->line, cert, key,
			gnutls_strerror(r));
		ret = E_CFG_SEMANTIC;
		goto out;
	}
	if (ca != NULL &&
	    (r = gnutls_certificate_set_x509_trust_file(l->cred, ca, GNUTLS_X509_FMT_PEM)) < 0) {
		log_err("tls", "%s:%d: cannot load CA %s: %s", d->file, d->line, ca,
			gnutls_strerror(r));
		ret = E_CFG_SEMANTIC;
	}
out:
	free(cert);
	free(key);
	free(ca);
	return ret;
}

int tls_start(tls_server_t **out, const net_sockets_t *s, const conf_t *conf)
{
	struct tls_server *t;
	int n = 0, ret = E_OK;
	*out = NULL;
	for (int i = 0; i < s->nlisteners; i++) {
		n += s->tls[i] ? 1 : 0;
	}
	if (n == 0) {
		return E_OK;
	}
	t = calloc(1, sizeof(*t));
	if (t == NULL) {
		return -ENOMEM;
	}
	t->q.stats = &t->stats;
	t->ls = calloc((size_t)n, sizeof(*t->ls));
	t->base = event_base_new();
	if (t->ls == NULL || t->base == NULL ||
	    gnutls_session_ticket_key_generate(&t->ticket_key) != GNUTLS_E_SUCCESS ||
	    gnutls_priority_init(&t->prio, NULL, NULL) != GNUTLS_E_SUCCESS) {
		tls_stop(t);
		return -ENOMEM;
	}
	for (int i = 0; i < s->nlisteners && ret == E_OK; i++) {
		if (!s->tls[i]) {
			continue;
		}
		struct tls_listener *l = &t->ls[t->nls++];
		l->t = t;
		l->port = s->port[i];
		ret = load_cred(l, conf);
		if (ret == E_OK) {
			l->l = evconnlistener_new(t->base, on_accept, l, 0, -1, s->tcp[i]);
			ret = l->l != NULL ? E_OK : -ENOMEM;
		}
	}
	if (ret == E_OK && pthread_create(&t->thr, NULL, tls_main, t) != 0) {
		t->thr = 0;
		ret = -errno;
	}
	if (ret != E_OK) {
		tls_stop(t);
		return ret;
	}
	*out = t;
	return E_OK;
}

void tls_stop(tls_server_t *t)
{
	if (t == NULL) {
		return;
	}
	if (t->thr != 0) {
		event_base_loopexit(t->base, NULL);
		pthread_join(t->thr, NULL);
	}
	while (t->conns != NULL) {
		conn_close(t->conns);
	}
	for (int i = 0; i < t->nls; i++) {
		if (t->ls[i].l != NULL) {
			/* The socket belongs to net_sockets_t: not closed here. */
			evconnlistener_free(t->ls[i].l);
		}
		if (t->ls[i].cred != NULL) {
			gnutls_certificate_free_credentials(t->ls[i].cred);
		}
	}
	free(t->ls);
	if (t->prio != NULL) {
		gnutls_priority_deinit(t->prio);
	}
	if (t->ticket_key.data != NULL) {
		gnutls_free(t->ticket_key.data);
	}
	if (t->base != NULL) {
		event_base_free(t->base);
	}
	free(t);
}
