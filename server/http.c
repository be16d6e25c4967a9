/*  Signet: the HTTP endpoints (see http.h). One thread, one libevent base, one evhttp per
 *  distinct address; the handlers read the published state under RCU like a query thread.
 */
#include "server/http.h"

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <fcntl.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <urcu-qsbr.h>

#include "dns/err.h"
#include "dns/log.h"
#include "dns/rrtype.h"
#include "server/metrics.h"
#include "server/state.h"

#define EP_METRICS 1
#define EP_HEALTH  2
#define EP_READY   4
#define EP_MAX     16

struct endpoint {
	struct sockaddr_storage addr;
	socklen_t len;
	unsigned what;
	char text[128];
	struct evhttp *http;
	struct http_server *h;
};

struct http_server {
	pthread_t thr;
	struct event_base *base;
	struct endpoint ep[EP_MAX];
	int nep;
	uint64_t lameduck_ms;
	int stopping; /* lame duck: not ready */
};

int http_addr_parse(const char *s, struct sockaddr_storage *out, socklen_t *len)
{
	char host[256];
	const char *colon = strrchr(s, ':');
	char *end;
	memset(out, 0, sizeof(*out));
	if (colon == NULL || colon[1] == '\0') {
		return E_CFG_SEMANTIC;
	}
	long port = strtol(colon + 1, &end, 10);
	if (*end != '\0' || port <= 0 || port > 65535 || (size_t)(colon - s) >= sizeof(host)) {
		return E_CFG_SEMANTIC;
	}
	snprintf(host, sizeof(host), "%.*s", (int)(colon - s), s);
	if (host[0] == '[') {
		size_t n = strlen(host);
		if (n < 2 || host[n - 1] != ']') {
			return E_CFG_SEMANTIC;
		}
		memmove(host, host + 1, n - 2);
		host[n - 2] = '\0';
	}
	struct sockaddr_in *a4 = (struct sockaddr_in *)out;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)out;
	if (host[0] == '\0') {
		a4->sin_family = AF_INET; /* ":PORT": every IPv4 address */
		a4->sin_addr.s_addr = htonl(INADDR_ANY);
	} else if (strcmp(host, "localhost") == 0) {
		a4->sin_family = AF_INET;
		a4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	} else if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
	} else if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
	} else {
		return E_CFG_SEMANTIC; /* names other than localhost are not looked up */
	}
	if (out->ss_family == AF_INET) {
		a4->sin_port = htons((uint16_t)port);
		*len = sizeof(*a4);
	} else {
		a6->sin6_port = htons((uint16_t)port);
		*len = sizeof(*a6);
	}
	return E_OK;
}

static const char *default_addr(const char *name)
{
	return strcmp(name, "prometheus") == 0 ? HTTP_METRICS_DEFAULT
	       : strcmp(name, "health") == 0   ? HTTP_HEALTH_DEFAULT
					       : HTTP_READY_DEFAULT;
}

int http_directive_check(const cfg_directive_t *d, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t len;
	uint64_t ms;
	if (d->argc > 1) {
		snprintf(err, errlen, "%s: takes at most one address", d->name);
		return E_CFG_SEMANTIC;
	}
	if (d->argc == 1 && http_addr_parse(d->args[0], &ss, &len) != E_OK) {
		snprintf(err, errlen, "%s: '%s' is not an address (HOST:PORT, :PORT, [V6]:PORT)",
			 d->name, d->args[0]);
		return E_CFG_SEMANTIC;
	}
	for (int i = 0; i < d->nprops; i++) {
		const cfg_directive_t *p = &d->props[i];
		if (strcmp(d->name, "health") == 0 && strcmp(p->name, "lameduck") == 0 &&
		    p->argc == 1 && cfg_parse_duration(p->args[0], &ms) == E_OK) {
			continue;
		}
		snprintf(err, errlen, "%s: unknown property '%s'", d->name, p->name);
		return E_CFG_SEMANTIC;
	}
	return E_OK;
}

/* ---- handlers ---- */

/* Is the zone of entry \a e signed, when "dnssec" applies to it? */
static bool zone_signed(const zone_entry_t *e, const zone_t *z)
{
	if (!e->signed_zone) {
		return true;
	}
	const zone_rrset_t *soa = zone_node_rrset(z->apex, RR_SOA);
	return soa != NULL && soa->sigs != NULL;
}

static void reply_text(struct evhttp_request *req, int code, const char *reason, const char *ctype,
		       struct evbuffer *body)
{
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", ctype);
	evhttp_send_reply(req, code, reason, body);
}

static void on_request(struct evhttp_request *req, void *arg)
{
	struct endpoint *ep = arg;
	const char *uri = evhttp_request_get_uri(req);
	struct evbuffer *body = evbuffer_new();
	char path[64];

	if (body == NULL) {
		evhttp_send_error(req, 500, NULL);
		return;
	}
	snprintf(path, sizeof(path), "%.*s", (int)strcspn(uri, "?"), uri);
	if ((ep->what & EP_METRICS) && strcmp(path, "/metrics") == 0) {
		rcu_thread_online();
		metrics_write(body, rcu_dereference(server_state));
		rcu_thread_offline();
		reply_text(req, 200, "OK", "text/plain; version=0.0.4; charset=utf-8", body);
	} else if ((ep->what & EP_HEALTH) && strcmp(path, "/health") == 0) {
		evbuffer_add_printf(body, "OK");
		reply_text(req, 200, "OK", "text/plain; charset=utf-8", body);
	} else if ((ep->what & EP_READY) && strcmp(path, "/ready") == 0) {
		bool ready = !__atomic_load_n(&ep->h->stopping, __ATOMIC_ACQUIRE);
		rcu_thread_online();
		const server_state_t *st = rcu_dereference(server_state);
		for (int i = 0; st != NULL && i < st->nzones; i++) {
			const zone_entry_t *e = &st->zones[i];
			const zone_t *z = rcu_dereference(e->zone);
			if (z == NULL || !zone_signed(e, z)) {
				evbuffer_add_printf(body, "%s%s %s", ready ? "" : "\n",
						    e->conf->apex_str,
						    z == NULL ? "not loaded" : "not signed");
				ready = false;
			}
		}
		if (st == NULL) {
			ready = false;
		}
		if (ready) {
			evbuffer_add_printf(body, "OK");
		}
		/* Served from its last good version while the source fails: still ready, and
		 * said (the text is written by the main thread; a torn read garbles one line). */
		for (int i = 0; st != NULL && i < st->nzones; i++) {
			const zone_entry_t *e = &st->zones[i];
			char err[sizeof(e->error)];
			memcpy(err, e->error, sizeof(err));
			err[sizeof(err) - 1] = '\0';
			if (err[0] != '\0' && rcu_dereference(e->zone) != NULL) {
				evbuffer_add_printf(body, "\n%s serves its last good version: %s",
						    e->conf->apex_str, err);
			}
		}
		rcu_thread_offline();
		if (!ready && evbuffer_get_length(body) == 0) {
			evbuffer_add_printf(body, "shutting down");
		}
		reply_text(req, ready ? 200 : 503, ready ? "OK" : "Service Unavailable",
			   "text/plain; charset=utf-8", body);
	} else {
		evbuffer_add_printf(body, "404 page not found\n");
		reply_text(req, 404, "Not Found", "text/plain; charset=utf-8", body);
	}
	evbuffer_free(body);
}

static void *http_main(void *arg)
{
	struct http_server *h = arg;
	rcu_register_thread();
	rcu_thread_offline();
	event_base_dispatch(h->base);
	rcu_thread_online();
	rcu_unregister_thread();
	return NULL;
}

static int add_endpoint(struct http_server *h, const cfg_directive_t *d, unsigned what)
{
	struct sockaddr_storage ss;
	socklen_t len;
	const char *text = d->argc > 0 ? d->args[0] : default_addr(d->name);
	if (http_addr_parse(text, &ss, &len) != E_OK) {
		return E_CFG_SEMANTIC;
	}
	for (int i = 0; i < h->nep; i++) {
		if (h->ep[i].len == len && memcmp(&h->ep[i].addr, &ss, len) == 0) {
			h->ep[i].what |= what;
			return E_OK;
		}
	}
	if (h->nep >= EP_MAX) {
		return E_NOTSUP;
	}
	struct endpoint *ep = &h->ep[h->nep++];
	ep->addr = ss;
	ep->len = len;
	ep->what = what;
	ep->h = h;
	snprintf(ep->text, sizeof(ep->text), "%s", text);
	return E_OK;
}

static int listen_on(struct endpoint *ep)
{
	int one = 1;
	int fd = socket(ep->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		return -errno;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ep->addr.ss_family == AF_INET6) {
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	}
	if (bind(fd, (struct sockaddr *)&ep->addr, ep->len) != 0 || listen(fd, 64) != 0) {
		int err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

int http_start(http_server_t **out, const conf_t *conf)
{
	struct http_server *h = calloc(1, sizeof(*h));
	int ret = E_OK;
	*out = NULL;
	if (h == NULL) {
		return -ENOMEM;
	}
	for (int b = 0; b < conf->nblocks && ret == E_OK; b++) {
		const cfg_block_t *cb = conf->blocks[b].cfg;
		for (int i = 0; i < cb->ndirs && ret == E_OK; i++) {
			const cfg_directive_t *d = &cb->dirs[i];
			unsigned what = strcmp(d->name, "prometheus") == 0 ? EP_METRICS
					: strcmp(d->name, "health") == 0   ? EP_HEALTH
					: strcmp(d->name, "ready") == 0    ? EP_READY
									   : 0;
			if (what == 0) {
				continue;
			}
			ret = add_endpoint(h, d, what);
			for (int p = 0; what == EP_HEALTH && p < d->nprops; p++) {
				uint64_t ms = 0;
				if (strcmp(d->props[p].name, "lameduck") == 0 &&
				    cfg_parse_duration(d->props[p].args[0], &ms) == E_OK &&
				    ms > h->lameduck_ms) {
					h->lameduck_ms = ms;
				}
			}
		}
	}
	if (ret != E_OK || h->nep == 0) {
		free(h);
		return ret;
	}
	h->base = event_base_new();
	if (h->base == NULL) {
		free(h);
		return -ENOMEM;
	}
	for (int i = 0; i < h->nep; i++) {
		struct endpoint *ep = &h->ep[i];
		int fd = listen_on(ep);
		if (fd < 0) {
			log_err("http", "cannot listen on %s: %s", ep->text, strerror(-fd));
			http_stop(h);
			return fd;
		}
		ep->http = evhttp_new(h->base);
		if (ep->http == NULL || evhttp_accept_socket(ep->http, fd) != 0) {
			close(fd);
			http_stop(h);
			return -ENOMEM;
		}
		evhttp_set_allowed_methods(ep->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD);
		evhttp_set_gencb(ep->http, on_request, ep);
		log_info("http", "serving%s%s%s on http://%s",
			 (ep->what & EP_METRICS) ? " /metrics" : "",
			 (ep->what & EP_HEALTH) ? " /health" : "",
			 (ep->what & EP_READY) ? " /ready" : "", ep->text);
	}
	if (pthread_create(&h->thr, NULL, http_main, h) != 0) {
		h->thr = 0;
		http_stop(h);
		return -errno;
	}
	*out = h;
	return E_OK;
}

void http_lameduck(http_server_t *h)
{
	if (h == NULL) {
		return;
	}
	__atomic_store_n(&h->stopping, 1, __ATOMIC_RELEASE);
	if (h->lameduck_ms > 0) {
		struct timespec ts = { (time_t)(h->lameduck_ms / 1000),
				       (long)(h->lameduck_ms % 1000) * 1000000 };
		log_info("http", "lame duck for %llu ms", (unsigned long long)h->lameduck_ms);
		while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
		}
	}
}

void http_stop(http_server_t *h)
{
	if (h == NULL) {
		return;
	}
	if (h->thr != 0) {
		event_base_loopexit(h->base, NULL);
		pthread_join(h->thr, NULL);
	}
	for (int i = 0; i < h->nep; i++) {
		if (h->ep[i].http != NULL) {
			evhttp_free(h->ep[i].http); /* closes its listening socket */
		}
	}
	if (h->base != NULL) {
		event_base_free(h->base);
	}
	free(h);
}
