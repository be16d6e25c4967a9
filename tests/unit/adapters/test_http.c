/* Unit tests: the HTTP client (adapters/http.c) against libevent's evhttp, served from a
 * thread of its own on a loopback port: plain answers, request headers and bodies, streams
 * that arrive in pieces, cancelling (also from inside a callback), errors and timeouts, and
 * the blocking http_fetch. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/thread.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include "adapters/http.h"
#include "dns/err.h"

/* ---- the server ---- */

static struct {
	struct event_base *base;
	struct evhttp *http;
	pthread_t thread;
	int port;
} srv;

struct chunks {
	struct evhttp_request *req;
	struct event *ev;
	int left;
	bool forever;
};

static void next_chunk(evutil_socket_t fd, short what, void *arg)
{
	struct chunks *c = arg;
	struct evbuffer *b = evbuffer_new();
	(void)fd;
	(void)what;
	evbuffer_add_printf(b, "chunk%d;", 3 - c->left);
	evhttp_send_reply_chunk(c->req, b);
	evbuffer_free(b);
	if (c->forever && c->left == 3) {
		/* one chunk, then a long pause (the client goes away meanwhile) */
		struct timeval tv = { 1, 0 };
		c->left = 1;
		evtimer_add(c->ev, &tv);
		return;
	}
	if (--c->left > 0) {
		struct timeval tv = { 0, 50000 };
		evtimer_add(c->ev, &tv);
		return;
	}
	evhttp_send_reply_end(c->req);
	event_free(c->ev);
	free(c);
}

static void reply(struct evhttp_request *req, int code, const char *body)
{
	struct evbuffer *b = evbuffer_new();
	evbuffer_add(b, body, strlen(body));
	evhttp_send_reply(req, code, code == 200 ? "OK" : "Not Found", b);
	evbuffer_free(b);
}

static void delayed_reply(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	reply(arg, 200, "late");
}

static void handle(struct evhttp_request *req, void *arg)
{
	const char *uri = evhttp_request_get_uri(req);
	struct evkeyvalq *h = evhttp_request_get_input_headers(req);
	(void)arg;

	if (strcmp(uri, "/hello") == 0) {
		reply(req, 200, "hello world");
	} else if (strcmp(uri, "/echo") == 0) {
		/* what was asked: method, headers, body */
		char out[2048];
		struct evbuffer *in = evhttp_request_get_input_buffer(req);
		size_t n = evbuffer_get_length(in);
		char body[512] = "";
		evbuffer_remove(in, body, n < sizeof(body) - 1 ? n : sizeof(body) - 1);
		const char *auth = evhttp_find_header(h, "Authorization");
		const char *ct = evhttp_find_header(h, "Content-Type");
		snprintf(out, sizeof(out), "%s|%s|%s|%s",
			 evhttp_request_get_command(req) == EVHTTP_REQ_POST  ? "POST"
			 : evhttp_request_get_command(req) == EVHTTP_REQ_PUT ? "PUT"
			 : evhttp_request_get_command(req) == EVHTTP_REQ_GET ? "GET"
									     : "OTHER",
			 auth ? auth : "-", ct ? ct : "-", body);
		reply(req, 200, out);
	} else if (strcmp(uri, "/stream") == 0 || strcmp(uri, "/forever") == 0) {
		struct chunks *c = calloc(1, sizeof(*c));
		c->req = req;
		c->left = 3;
		c->forever = strcmp(uri, "/forever") == 0;
		c->ev = evtimer_new(srv.base, next_chunk, c);
		evhttp_send_reply_start(req, 200, "OK");
		next_chunk(-1, 0, c);
	} else if (strcmp(uri, "/slow") == 0) {
		struct timeval tv = { 0, 400000 };
		event_base_once(srv.base, -1, EV_TIMEOUT, delayed_reply, req, &tv);
	} else {
		reply(req, 404, "no such thing");
	}
}

static void *serve(void *arg)
{
	(void)arg;
	event_base_dispatch(srv.base);
	return NULL;
}

static int setup_server(void **state)
{
	struct evhttp_bound_socket *bs;
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	(void)state;
	evthread_use_pthreads();
	srv.base = event_base_new();
	srv.http = evhttp_new(srv.base);
	evhttp_set_gencb(srv.http, handle, NULL);
	evhttp_set_allowed_methods(srv.http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_PUT |
						     EVHTTP_REQ_DELETE);
	bs = evhttp_bind_socket_with_handle(srv.http, "127.0.0.1", 0);
	if (bs == NULL) {
		return -1;
	}
	getsockname(evhttp_bound_socket_get_fd(bs), (struct sockaddr *)&sa, &len);
	srv.port = ntohs(sa.sin_port);
	return pthread_create(&srv.thread, NULL, serve, NULL);
}

static int teardown_server(void **state)
{
	(void)state;
	usleep(1200000); /* what the server still sends to clients that went away */
	event_base_loopbreak(srv.base);
	pthread_join(srv.thread, NULL);
	evhttp_free(srv.http);
	event_base_free(srv.base);
	return 0;
}

/* ---- the client side ---- */

struct result {
	char body[4096];
	size_t len;
	int chunks;
	int done;
	long status;
	int err;
	char msg[256];
	struct event_base *base;
	http_client_t *c;
	http_req_t *req;
	bool cancel_in_data;  /* cancel the request from its first on_data */
	bool request_in_data; /* start another request from on_data */
	struct result *other;
};

static void on_done(void *ud, long status, int err, const char *msg);

static void on_data(void *ud, const char *data, size_t len)
{
	struct result *r = ud;
	if (r->len + len < sizeof(r->body)) {
		memcpy(r->body + r->len, data, len);
		r->len += len;
		r->body[r->len] = '\0';
	}
	r->chunks++;
	if (r->cancel_in_data) {
		http_cancel(r->req);
		event_base_loopexit(r->base, &(struct timeval){ 0, 200000 });
	}
	if (r->request_in_data) {
		char url[64];
		r->request_in_data = false;
		snprintf(url, sizeof(url), "http://127.0.0.1:%d/hello", srv.port);
		assert_int_equal(http_request(r->c, &r->other->req, "GET", url, NULL, NULL, on_data,
					      on_done, r->other),
				 E_OK);
	}
}

static void on_done(void *ud, long status, int err, const char *msg)
{
	struct result *r = ud;
	r->done++;
	r->status = status;
	r->err = err;
	snprintf(r->msg, sizeof(r->msg), "%s", msg);
	event_base_loopexit(r->base, NULL);
}

static void url_of(char *buf, size_t len, const char *path)
{
	snprintf(buf, len, "http://127.0.0.1:%d%s", srv.port, path);
}

/* Run one request to its end on a fresh base and client. */
static void run(struct result *r, const char *method, const char *path, const char *body,
		const http_opts_t *o)
{
	char url[128];
	url_of(url, sizeof(url), path);
	r->base = event_base_new();
	assert_int_equal(http_client_new(&r->c, r->base), E_OK);
	assert_int_equal(http_request(r->c, &r->req, method, url, body, o, on_data, on_done, r),
			 E_OK);
	event_base_loopexit(r->base, &(struct timeval){ 10, 0 }); /* a bound, not a wait */
	event_base_dispatch(r->base);
	http_client_free(r->c);
	event_base_free(r->base);
}

static void test_get(void **state)
{
	struct result r = { 0 };
	(void)state;
	run(&r, "GET", "/hello", NULL, NULL);
	assert_int_equal(r.done, 1);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.err, E_OK);
	assert_string_equal(r.msg, "");
	assert_string_equal(r.body, "hello world");
}

static void test_not_found(void **state)
{
	struct result r = { 0 };
	(void)state;
	run(&r, "GET", "/nothing", NULL, NULL);
	assert_int_equal(r.done, 1);
	assert_int_equal(r.status, 404); /* a status, not an error */
	assert_int_equal(r.err, E_OK);
	assert_string_equal(r.body, "no such thing");
}

static void test_headers(void **state)
{
	struct result r = { 0 };
	http_opts_t o = { .bearer_token = "tok123" };
	(void)state;
	run(&r, "POST", "/echo", "{\"a\":1}", &o);
	assert_string_equal(r.body, "POST|Bearer tok123|application/json|{\"a\":1}");

	memset(&r, 0, sizeof(r));
	o = (http_opts_t){ .authorization = "etcdtoken.7", .content_type = "text/plain" };
	run(&r, "PUT", "/echo", "x", &o);
	assert_string_equal(r.body, "PUT|etcdtoken.7|text/plain|x");

	memset(&r, 0, sizeof(r));
	o = (http_opts_t){ .user = "alice", .pass = "secret" };
	run(&r, "GET", "/echo", NULL, &o);
	assert_string_equal(r.body, "GET|Basic YWxpY2U6c2VjcmV0|-|");
}

static void test_stream(void **state)
{
	struct result r = { 0 };
	(void)state;
	run(&r, "GET", "/stream", NULL, NULL);
	assert_int_equal(r.done, 1);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "chunk0;chunk1;chunk2;");
	/* the pieces came as they were sent, 50 ms apart: one callback each */
	assert_true(r.chunks >= 2);
}

static void test_cancel_in_callback(void **state)
{
	struct result r = { .cancel_in_data = true };
	(void)state;
	run(&r, "GET", "/forever", NULL, NULL);
	assert_int_equal(r.chunks, 1);
	assert_int_equal(r.done, 0); /* cancelled: no done callback */
	assert_string_equal(r.body, "chunk0;");
}

static void test_request_in_callback(void **state)
{
	struct result other = { 0 };
	struct result r = { .request_in_data = true, .other = &other };
	char url[128];
	(void)state;
	url_of(url, sizeof(url), "/stream");
	r.base = other.base = event_base_new();
	assert_int_equal(http_client_new(&r.c, r.base), E_OK);
	assert_int_equal(http_request(r.c, &r.req, "GET", url, NULL, NULL, on_data, NULL, &r),
			 E_OK);
	/* the second request ends the loop; the first is still streaming */
	event_base_loopexit(r.base, &(struct timeval){ 10, 0 });
	event_base_dispatch(r.base);
	assert_int_equal(other.done, 1);
	assert_string_equal(other.body, "hello world");
	/* freeing the client with a stream in flight: no callback, nothing leaks */
	http_client_free(r.c);
	event_base_free(r.base);
}

static void test_cancel_before_start(void **state)
{
	struct result r = { 0 };
	char url[128];
	http_req_t *a = NULL;
	(void)state;
	url_of(url, sizeof(url), "/hello");
	r.base = event_base_new();
	assert_int_equal(http_client_new(&r.c, r.base), E_OK);
	assert_int_equal(http_request(r.c, &a, "GET", url, NULL, NULL, on_data, on_done, &r), E_OK);
	http_cancel(a);
	http_cancel(NULL);
	assert_int_equal(http_request(r.c, &r.req, "GET", url, NULL, NULL, on_data, on_done, &r),
			 E_OK);
	event_base_loopexit(r.base, &(struct timeval){ 10, 0 });
	event_base_dispatch(r.base);
	assert_int_equal(r.done, 1);
	assert_string_equal(r.body, "hello world");
	http_client_free(r.c);
	event_base_free(r.base);
}

static void test_refused(void **state)
{
	struct result r = { 0 };
	char url[64];
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001) };
	socklen_t len = sizeof(sa);
	(void)state;
	/* a port that was just free */
	bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	getsockname(fd, (struct sockaddr *)&sa, &len);
	close(fd);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", ntohs(sa.sin_port));
	r.base = event_base_new();
	assert_int_equal(http_client_new(&r.c, r.base), E_OK);
	assert_int_equal(http_request(r.c, NULL, "GET", url, NULL, NULL, NULL, on_done, &r), E_OK);
	event_base_dispatch(r.base);
	assert_int_equal(r.done, 1);
	assert_int_equal(r.status, 0);
	assert_int_equal(r.err, -ECONNREFUSED);
	assert_true(strlen(r.msg) > 0);
	http_client_free(r.c);
	event_base_free(r.base);
}

static void test_timeout(void **state)
{
	struct result r = { 0 };
	http_opts_t o = { .timeout_ms = 200 };
	(void)state;
	run(&r, "GET", "/slow", NULL, &o);
	assert_int_equal(r.done, 1);
	assert_int_equal(r.err, -ETIMEDOUT);
}

static void test_fetch(void **state)
{
	char url[128], err[256] = "", *body = NULL;
	size_t len = 0;
	long status = 0;
	(void)state;
	url_of(url, sizeof(url), "/hello");
	assert_int_equal(http_fetch("GET", url, NULL, NULL, &body, &len, &status, err, sizeof(err)),
			 E_OK);
	assert_int_equal(status, 200);
	assert_int_equal(len, 11);
	assert_string_equal(body, "hello world");
	free(body);

	url_of(url, sizeof(url), "/echo");
	http_opts_t o = { .authorization = "t" };
	assert_int_equal(http_fetch("POST", url, "b", &o, &body, NULL, &status, err, sizeof(err)),
			 E_OK);
	assert_string_equal(body, "POST|t|application/json|b");
	free(body);

	url_of(url, sizeof(url), "/nothing");
	assert_int_equal(http_fetch("GET", url, NULL, NULL, &body, &len, &status, err, sizeof(err)),
			 E_OK);
	assert_int_equal(status, 404);
	free(body);

	assert_int_equal(http_fetch("GET", "http://127.0.0.1:1/", NULL, NULL, &body, &len, &status,
				    err, sizeof(err)),
			 -ECONNREFUSED);
	assert_null(body);
	assert_true(strlen(err) > 0);
	assert_int_equal(http_fetch("GET", "gopher://127.0.0.1/", NULL, NULL, &body, &len, &status,
				    err, sizeof(err)),
			 -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_get),
		cmocka_unit_test(test_not_found),
		cmocka_unit_test(test_headers),
		cmocka_unit_test(test_stream),
		cmocka_unit_test(test_cancel_in_callback),
		cmocka_unit_test(test_request_in_callback),
		cmocka_unit_test(test_cancel_before_start),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_fetch),
	};
	return cmocka_run_group_tests(tests, setup_server, teardown_server);
}
