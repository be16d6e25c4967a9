/*  Signet: HTTP for the etcd and Kubernetes sources (see http.h).
 *
 *  libcurl's multi interface, driven by libevent: curl tells us which sockets to watch
 *  (CURLMOPT_SOCKETFUNCTION) and when to wake it up (CURLMOPT_TIMERFUNCTION); libevent calls
 *  curl_multi_socket_action() back. libcurl refuses to add or remove a transfer from inside
 *  its own callbacks, so while it runs (c->running) requests made or cancelled from an
 *  on_data callback wait on two lists, settled as soon as curl returns. Done callbacks are
 *  called from there too, outside curl, where anything may be done.
 */
#include "adapters/http.h"

#include <curl/curl.h>
#include <event2/event.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns/err.h"

struct sock {
	struct sock *next, *prev;
	struct event *ev;
	http_client_t *c;
};

struct http_req {
	http_client_t *c;
	struct http_req *next, *prev; /* every live request of the client */
	CURL *easy;
	struct curl_slist *headers;
	http_data_fn on_data;
	http_done_fn on_done;
	void *ud;
	bool added;     /* in the multi handle */
	bool cancelled; /* no more callbacks; freed when curl lets go of it */
	bool done;      /* the done callback runs or has run */
	char errbuf[CURL_ERROR_SIZE];
};

struct http_client {
	struct event_base *base;
	CURLM *multi;
	struct event *timer;
	struct http_req *reqs;
	struct sock *socks;
	int running; /* > 0 while inside curl_multi_socket_action */
	bool dirty;  /* requests wait to be added or removed */
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_result;

static void curl_init(void)
{
	curl_init_result = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* ---- one transfer's settings (shared by the event-driven and the blocking paths) ---- */

static int map_error(CURLcode rc)
{
	switch (rc) {
	case CURLE_OK:
		return E_OK;
	case CURLE_COULDNT_CONNECT:
		return -ECONNREFUSED;
	case CURLE_OPERATION_TIMEDOUT:
		return -ETIMEDOUT;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		return -EHOSTUNREACH;
	case CURLE_OUT_OF_MEMORY:
		return -ENOMEM;
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_URL_MALFORMAT:
		return -EINVAL;
	case CURLE_GOT_NOTHING:
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_PARTIAL_FILE:
		return -ECONNRESET;
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
		return -EPROTO;
	default:
		return -EIO;
	}
}

static bool add_header(struct curl_slist **h, const char *name, const char *value)
{
	char line[4096];
	int n = snprintf(line, sizeof(line), "%s: %s", name, value);
	struct curl_slist *nh;
	if (n < 0 || (size_t)n >= sizeof(line)) {
		return false;
	}
	nh = curl_slist_append(*h, line);
	if (nh == NULL) {
		return false;
	}
	*h = nh;
	return true;
}

#define SET(opt, val) ok = ok && curl_easy_setopt(e, opt, val) == CURLE_OK

static int setup(CURL *e, struct curl_slist **h, const char *method, const char *url,
		 const char *body, const http_opts_t *o, char *errbuf)
{
	static const http_opts_t none = { 0 };
	bool ok = true;

	if (o == NULL) {
		o = &none;
	}
	SET(CURLOPT_URL, url);
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_ERRORBUFFER, errbuf);
	SET(CURLOPT_PROTOCOLS_STR, "http,https");
	SET(CURLOPT_TCP_KEEPALIVE, 1L);
	SET(CURLOPT_TCP_KEEPIDLE, 30L);
	SET(CURLOPT_TCP_KEEPINTVL, 10L);
	SET(CURLOPT_CONNECTTIMEOUT_MS, o->connect_timeout_ms > 0 ? o->connect_timeout_ms : 3000L);
	if (o->timeout_ms > 0) {
		SET(CURLOPT_TIMEOUT_MS, o->timeout_ms);
	}
	if (method != NULL && strcmp(method, "GET") != 0) {
		SET(CURLOPT_CUSTOMREQUEST, method);
	}
	if (body != NULL) {
		SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
		SET(CURLOPT_COPYPOSTFIELDS, body);
		ok = ok &&
		     add_header(h, "Content-Type",
				o->content_type != NULL ? o->content_type : "application/json");
		ok = ok && (*h = curl_slist_append(*h, "Expect:")) != NULL;
	}
	if (o->ca_file != NULL) {
		SET(CURLOPT_CAINFO, o->ca_file);
	}
	if (o->cert_file != NULL) {
		SET(CURLOPT_SSLCERT, o->cert_file);
	}
	if (o->key_file != NULL) {
		SET(CURLOPT_SSLKEY, o->key_file);
	}
	if (o->insecure) {
		SET(CURLOPT_SSL_VERIFYPEER, 0L);
		SET(CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (o->user != NULL) {
		SET(CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		SET(CURLOPT_USERNAME, o->user);
		SET(CURLOPT_PASSWORD, o->pass != NULL ? o->pass : "");
	}
	if (o->bearer_token != NULL) {
		char v[4000];
		snprintf(v, sizeof(v), "Bearer %s", o->bearer_token);
		ok = ok && add_header(h, "Authorization", v);
	} else if (o->authorization != NULL) {
		ok = ok && add_header(h, "Authorization", o->authorization);
	}
	if (*h != NULL) {
		SET(CURLOPT_HTTPHEADER, *h);
	}
	return ok ? E_OK : -EINVAL;
}

#undef SET

static void describe(char *msg, size_t len, CURLcode rc, const char *errbuf)
{
	snprintf(msg, len, "%s", errbuf[0] != '\0' ? errbuf : curl_easy_strerror(rc));
}

/* ---- the client ---- */

static void req_free(struct http_req *r)
{
	http_client_t *c = r->c;
	if (r->prev != NULL) {
		r->prev->next = r->next;
	} else {
		c->reqs = r->next;
	}
	if (r->next != NULL) {
		r->next->prev = r->prev;
	}
	if (r->added) {
		curl_multi_remove_handle(c->multi, r->easy);
	}
	curl_easy_cleanup(r->easy);
	curl_slist_free_all(r->headers);
	free(r);
}

/* Outside curl: add new transfers, drop cancelled ones, report finished ones. */
static void settle(http_client_t *c)
{
	CURLMsg *m;
	int left;

	while ((m = curl_multi_info_read(c->multi, &left)) != NULL) {
		struct http_req *r = NULL;
		char msg[CURL_ERROR_SIZE + 64];
		long status = 0;
		if (m->msg != CURLMSG_DONE) {
			continue;
		}
		CURLcode rc = m->data.result;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&r);
		if (r == NULL) {
			continue;
		}
		curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
		curl_multi_remove_handle(c->multi, r->easy);
		r->added = false;
		if (!r->cancelled && r->on_done != NULL) {
			r->done = true;
			describe(msg, sizeof(msg), rc, r->errbuf);
			r->on_done(r->ud, status, map_error(rc), rc == CURLE_OK ? "" : msg);
		}
		req_free(r);
	}
	while (c->dirty) {
		c->dirty = false;
		for (struct http_req *r = c->reqs, *next; r != NULL; r = next) {
			next = r->next;
			if (r->cancelled) {
				req_free(r);
			} else if (!r->added) {
				if (curl_multi_add_handle(c->multi, r->easy) == CURLM_OK) {
					r->added = true;
				} else {
					r->done = true;
					if (r->on_done != NULL) {
						r->on_done(r->ud, 0, -ENOMEM,
							   "cannot start the transfer");
					}
					req_free(r);
					next = c->reqs; /* the callback may have changed the list */
					c->dirty = true;
					break;
				}
			}
		}
	}
}

static void action(http_client_t *c, curl_socket_t fd, int flags)
{
	int still;
	c->running++;
	curl_multi_socket_action(c->multi, fd, flags, &still);
	c->running--;
	if (c->running == 0) {
		settle(c);
	}
}

static void on_event(evutil_socket_t fd, short what, void *arg)
{
	int flags = ((what & EV_READ) ? CURL_CSELECT_IN : 0) |
		    ((what & EV_WRITE) ? CURL_CSELECT_OUT : 0);
	action(arg, fd, flags);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	action(arg, CURL_SOCKET_TIMEOUT, 0);
}

static int on_socket(CURL *e, curl_socket_t fd, int what, void *userp, void *socketp)
{
	http_client_t *c = userp;
	struct sock *s = socketp;
	(void)e;

	if (what == CURL_POLL_REMOVE) {
		if (s != NULL) {
			event_free(s->ev);
			if (s->prev != NULL) {
				s->prev->next = s->next;
			} else {
				c->socks = s->next;
			}
			if (s->next != NULL) {
				s->next->prev = s->prev;
			}
			free(s);
			curl_multi_assign(c->multi, fd, NULL);
		}
		return 0;
	}
	if (s == NULL) {
		s = calloc(1, sizeof(*s));
		if (s == NULL) {
			return -1;
		}
		s->c = c;
		s->next = c->socks;
		if (c->socks != NULL) {
			c->socks->prev = s;
		}
		c->socks = s;
		curl_multi_assign(c->multi, fd, s);
	} else {
		event_free(s->ev);
	}
	short kind = (short)(EV_PERSIST | ((what & CURL_POLL_IN) ? EV_READ : 0) |
			     ((what & CURL_POLL_OUT) ? EV_WRITE : 0));
	s->ev = event_new(c->base, fd, kind, on_event, c);
	if (s->ev == NULL || event_add(s->ev, NULL) != 0) {
		return -1;
	}
	return 0;
}

static int on_timer_set(CURLM *m, long ms, void *userp)
{
	http_client_t *c = userp;
	(void)m;
	if (ms < 0) {
		evtimer_del(c->timer);
		return 0;
	}
	struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };
	return evtimer_add(c->timer, &tv) == 0 ? 0 : -1;
}

int http_client_new(http_client_t **out, struct event_base *base)
{
	http_client_t *c;
	pthread_once(&curl_once, curl_init);
	if (curl_init_result != CURLE_OK) {
		return -ENOMEM;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		return -ENOMEM;
	}
	c->base = base;
	c->multi = curl_multi_init();
	c->timer = evtimer_new(base, on_timer, c);
	if (c->multi == NULL || c->timer == NULL) {
		http_client_free(c);
		return -ENOMEM;
	}
	curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
	curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
	curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, on_timer_set);
	curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
	*out = c;
	return E_OK;
}

void http_client_free(http_client_t *c)
{
	if (c == NULL) {
		return;
	}
	while (c->reqs != NULL) {
		req_free(c->reqs);
	}
	if (c->multi != NULL) {
		curl_multi_cleanup(c->multi);
	}
	while (c->socks != NULL) {
		struct sock *s = c->socks;
		c->socks = s->next;
		event_free(s->ev);
		free(s);
	}
	if (c->timer != NULL) {
		event_free(c->timer);
	}
	free(c);
}

static size_t on_write(char *ptr, size_t size, size_t n, void *ud)
{
	struct http_req *r = ud;
	if (r->cancelled) {
		return 0; /* ends the transfer; settle() frees it */
	}
	r->on_data(r->ud, ptr, size * n);
	return size * n;
}

static void no_data(void *ud, const char *data, size_t len)
{
	(void)ud;
	(void)data;
	(void)len;
}

int http_request(http_client_t *c, http_req_t **out, const char *method, const char *url,
		 const char *body, const http_opts_t *o, http_data_fn on_data, http_done_fn on_done,
		 void *ud)
{
	struct http_req *r = calloc(1, sizeof(*r));
	int ret = -ENOMEM;

	if (out != NULL) {
		*out = NULL;
	}
	if (r == NULL) {
		return -ENOMEM;
	}
	r->c = c;
	r->on_data = on_data != NULL ? on_data : no_data;
	r->on_done = on_done;
	r->ud = ud;
	r->easy = curl_easy_init();
	if (r->easy == NULL) {
		goto fail;
	}
	ret = setup(r->easy, &r->headers, method, url, body, o, r->errbuf);
	if (ret != E_OK) {
		goto fail;
	}
	curl_easy_setopt(r->easy, CURLOPT_PRIVATE, r);
	curl_easy_setopt(r->easy, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(r->easy, CURLOPT_WRITEDATA, r);
	r->next = c->reqs;
	if (c->reqs != NULL) {
		c->reqs->prev = r;
	}
	c->reqs = r;
	if (c->running > 0) {
		c->dirty = true; /* curl is running: added once it returns */
	} else if (curl_multi_add_handle(c->multi, r->easy) == CURLM_OK) {
		r->added = true;
	} else {
		req_free(r);
		return -ENOMEM;
	}
	if (out != NULL) {
		*out = r;
	}
	return E_OK;
fail:
	if (r->easy != NULL) {
		curl_easy_cleanup(r->easy);
	}
	curl_slist_free_all(r->headers);
	free(r);
	return ret;
}

void http_cancel(http_req_t *r)
{
	if (r == NULL || r->cancelled || r->done) {
		return;
	}
	r->cancelled = true;
	if (r->c->running > 0) {
		r->c->dirty = true; /* freed once curl returns */
		return;
	}
	req_free(r);
}

/* ---- blocking ---- */

struct buf {
	char *p;
	size_t len, cap;
	bool failed;
};

static size_t buf_write(char *ptr, size_t size, size_t n, void *ud)
{
	struct buf *b = ud;
	size_t len = size * n;
	if (b->len + len + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		while (cap < b->len + len + 1) {
			cap *= 2;
		}
		char *p = realloc(b->p, cap);
		if (p == NULL) {
			b->failed = true;
			return 0;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, ptr, len);
	b->len += len;
	b->p[b->len] = '\0';
	return len;
}

int http_fetch(const char *method, const char *url, const char *body, const http_opts_t *o,
	       char **out, size_t *outlen, long *status, char *err, size_t errlen)
{
	struct curl_slist *h = NULL;
	struct buf b = { 0 };
	char errbuf[CURL_ERROR_SIZE] = "";
	CURL *e = NULL;
	int ret;

	*out = NULL;
	*status = 0;
	if (outlen != NULL) {
		*outlen = 0;
	}
	pthread_once(&curl_once, curl_init);
	e = curl_init_result == CURLE_OK ? curl_easy_init() : NULL;
	if (e == NULL) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	ret = setup(e, &h, method, url, body, o, errbuf);
	if (ret != E_OK) {
		snprintf(err, errlen, "cannot set up the request to %s", url);
		goto out;
	}
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, buf_write);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, &b);
	CURLcode rc = curl_easy_perform(e);
	if (rc != CURLE_OK || b.failed) {
		ret = b.failed ? -ENOMEM : map_error(rc);
		describe(err, errlen, rc, errbuf);
		goto out;
	}
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, status);
	if (b.p == NULL) {
		b.p = calloc(1, 1);
		if (b.p == NULL) {
			ret = -ENOMEM;
			goto out;
		}
	}
	*out = b.p;
	b.p = NULL;
	if (outlen != NULL) {
		*outlen = b.len;
	}
	ret = E_OK;
out:
	free(b.p);
	curl_slist_free_all(h);
	curl_easy_cleanup(e);
	return ret;
}
