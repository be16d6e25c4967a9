/*  The etcd source: SkyDNS messages under "path" (CoreDNS's etcd plugin), read from etcd v3
 *  through its JSON gateway and kept current by a watch.
 *
 *  A sync reads every key of the zone's path in pages at one revision R (and the TTL of
 *  every lease the keys hold), then replaces the model in one step; the watch then runs
 *  from just after the newest key's revision M. Events up to R are already in the model:
 *  they only move the serial (a key deleted after M is seen that way), so that every
 *  instance watching one etcd derives the same serial, the revision of the last change
 *  under the path. A lost connection keeps the last good model served, tries the next
 *  endpoint, backs off once every endpoint failed, and syncs again. A watch that falls
 *  behind etcd's compaction syncs again too.
 *
 *  open() does the first sync on a private event base (so that -validate and the first
 *  load see the data); watch() runs the rest on the server's base. Changes are reported a
 *  few milliseconds after the first one of a burst.
 */
#include <event2/event.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "adapters/etcd/internal.h"
#include "adapters/http.h"
#include "adapters/sources.h"
#include "dns/duration.h"
#include "dns/err.h"
#include "dns/log.h"

#define MAX_ENDPOINTS   16
#define PAGE_LIMIT      1000
#define COALESCE_MS     2
#define BACKOFF_MIN_MS  100
#define BACKOFF_MAX_MS  5000
#define CALL_TIMEOUT    10000
#define LEASES_INFLIGHT 16
#define KEYBUF          2048

static const char *const api_prefixes[] = { "/v3", "/v3beta", "/v3alpha" };

struct endpoint {
	char url[512];
	int api; /* index in api_prefixes */
	bool api_known;
};

enum phase {
	PH_IDLE = 0,
	PH_AUTH,   /* authenticating */
	PH_RANGE,  /* reading pages */
	PH_LEASES, /* looking lease TTLs up */
	PH_WATCH,  /* watching */
	PH_WAIT,   /* waiting to try again */
};

struct buf {
	char *p;
	size_t len, cap;
};

struct etcd_source;

enum call_kind { CALL_SYNC, CALL_LEASE };

/* One unary call to the gateway. */
struct call {
	struct etcd_source *s;
	struct call *next, *prev;
	http_req_t *req;
	enum call_kind kind;
	void (*ok)(struct etcd_source *s, const json_t *answer, struct call *c);
	char path[48];
	char *body;
	struct buf answer;
	int64_t lease; /* CALL_LEASE */
};

struct etcd_source {
	zone_source_t base;
	char where[256];
	char zone[DNAME_STR_MAX];
	struct endpoint ep[MAX_ENDPOINTS];
	int nep, cur;
	char *user, *pass;
	char cert[1024], key[1024], ca[1024];
	char token[1024]; /* etcd's auth token, "" without credentials */

	skydns_t model;    /* what load() builds from */
	int64_t rev;       /* the serial: the revision of the last change under the path */
	int64_t range_rev; /* the model holds every event up to this revision */
	bool loaded;
	char why[600]; /* why there is nothing to serve yet */

	struct event_base *evbase;
	http_client_t *http;
	bool oneshot; /* the first sync, in open(): stop the loop once it ends */
	source_changed_fn changed;
	void *ud;
	enum phase phase;
	struct call *calls;
	skydns_t staging; /* a sync in progress */
	int64_t staging_rev;
	struct buf cursor; /* the next page starts at this key */
	/* leases to look up, and how many lookups run */
	int64_t *lease_queue;
	size_t nqueue, capqueue;
	int lease_inflight;
	/* the watch */
	http_req_t *watch;
	struct buf stream;
	bool watch_created;
	int failures;
	struct event *retry, *notify;
	bool dirty; /* changed since the last report */
};

/* ---- small things ---- */

static int buf_add(struct buf *b, const char *data, size_t len)
{
	if (b->len + len + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		while (cap < b->len + len + 1) {
			cap *= 2;
		}
		char *p = realloc(b->p, cap);
		if (p == NULL) {
			return -ENOMEM;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, data, len);
	b->len += len;
	b->p[b->len] = '\0';
	return E_OK;
}

static void buf_free(struct buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

static void opts_of(const struct etcd_source *s, http_opts_t *o, bool stream)
{
	memset(o, 0, sizeof(*o));
	o->ca_file = s->ca[0] ? s->ca : NULL;
	o->cert_file = s->cert[0] ? s->cert : NULL;
	o->key_file = s->key[0] ? s->key : NULL;
	o->authorization = s->token[0] ? s->token : NULL;
	o->timeout_ms = stream ? 0 : CALL_TIMEOUT;
	o->connect_timeout_ms = 3000;
}

/* The watched range: the zone's path and every key that starts with it ("P" to "P0"; keys
 * like "P-x" in between are not the zone's and are left out one by one). */
static int range_json(const struct etcd_source *s, char *key, size_t keylen, char *end,
		      size_t endlen)
{
	const skydns_t *m = &s->model;
	char p0[sizeof(m->prefix) + 1];
	memcpy(p0, m->prefix, m->prefixlen);
	p0[m->prefixlen] = '0';
	if (etcd_b64_json(key, keylen, m->prefix, m->prefixlen) < 0 ||
	    etcd_b64_json(end, endlen, p0, m->prefixlen + 1) < 0) {
		return E_TRUNC;
	}
	return E_OK;
}

/* ---- unary calls ---- */

static void fail_sync(struct etcd_source *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void lease_done(struct etcd_source *s, int64_t id, uint32_t ttl);
static int call(struct etcd_source *s, enum call_kind kind, const char *path, const char *body,
		void (*ok)(struct etcd_source *, const json_t *, struct call *), int64_t lease);

static void call_unlink(struct call *c)
{
	struct etcd_source *s = c->s;
	if (c->prev != NULL) {
		c->prev->next = c->next;
	} else if (s->calls == c) {
		s->calls = c->next;
	}
	if (c->next != NULL) {
		c->next->prev = c->prev;
	}
	c->next = c->prev = NULL;
}

static void call_free(struct call *c)
{
	call_unlink(c);
	buf_free(&c->answer);
	free(c->body);
	free(c);
}

static void call_data(void *ud, const char *data, size_t len)
{
	struct call *c = ud;
	buf_add(&c->answer, data, len);
}

static void start_sync(struct etcd_source *s);

static void call_failed(struct etcd_source *s, struct call *c, const char *msg, int code)
{
	if (c->kind == CALL_LEASE) {
		if (code == ETCD_GRPC_UNAUTHENTICATED) {
			/* the token expired: authenticate and read everything again */
			start_sync(s);
			return;
		}
		log_warn("etcd", "%s: lease %llx: %s", s->zone, (unsigned long long)c->lease, msg);
		lease_done(s, c->lease, 0);
		return;
	}
	fail_sync(s, "%s%s%s: %s", s->ep[s->cur].url, api_prefixes[s->ep[s->cur].api], c->path,
		  msg);
}

/* The call is out of the list while its callbacks run (they may cancel every call). */
static void call_done(void *ud, long status, int err, const char *msg)
{
	struct call *c = ud;
	struct etcd_source *s = c->s;
	struct endpoint *ep = &s->ep[s->cur];
	char emsg[300], jerr[160];
	json_t *j = NULL;
	int code = 0;

	c->req = NULL;
	call_unlink(c);
	if (err != E_OK) {
		call_failed(s, c, msg, 0);
		goto out;
	}
	if (status == 404 && !ep->api_known &&
	    ep->api + 1 < (int)(sizeof(api_prefixes) / sizeof(api_prefixes[0]))) {
		/* an older etcd: its gateway lives under /v3beta or /v3alpha */
		ep->api++;
		int ret = call(s, c->kind, c->path, c->body, c->ok, c->lease);
		if (ret != E_OK) {
			call_failed(s, c, err_str(ret), 0);
		}
		goto out;
	}
	ep->api_known = true;
	if (json_parse(&j, c->answer.p != NULL ? c->answer.p : "", c->answer.len, jerr,
		       sizeof(jerr)) != E_OK) {
		snprintf(emsg, sizeof(emsg), "HTTP status %ld, not a JSON answer (%s)", status,
			 jerr);
		call_failed(s, c, emsg, 0);
		goto out;
	}
	if (etcd_error(j, emsg, sizeof(emsg), &code) || status != 200) {
		if (status != 200 && code == 0) {
			snprintf(emsg, sizeof(emsg), "HTTP status %ld", status);
		}
		call_failed(s, c, emsg, code);
		goto out;
	}
	c->ok(s, j, c);
out:
	json_free(j);
	call_free(c);
}

static int call(struct etcd_source *s, enum call_kind kind, const char *path, const char *body,
		void (*ok)(struct etcd_source *, const json_t *, struct call *), int64_t lease)
{
	const struct endpoint *ep = &s->ep[s->cur];
	char url[640];
	http_opts_t o;
	struct call *c = calloc(1, sizeof(*c));
	int ret;

	if (c == NULL || (c->body = strdup(body)) == NULL) {
		free(c);
		return -ENOMEM;
	}
	c->s = s;
	c->kind = kind;
	c->ok = ok;
	c->lease = lease;
	snprintf(c->path, sizeof(c->path), "%s", path);
	c->next = s->calls;
	if (s->calls != NULL) {
		s->calls->prev = c;
	}
	s->calls = c;
	snprintf(url, sizeof(url), "%s%s%s", ep->url, api_prefixes[ep->api], path);
	opts_of(s, &o, false);
	ret = http_request(s->http, &c->req, "POST", url, c->body, &o, call_data, call_done, c);
	if (ret != E_OK) {
		call_free(c);
	}
	return ret;
}

static void cancel_calls(struct etcd_source *s, enum call_kind kind)
{
	for (struct call *c = s->calls, *next; c != NULL; c = next) {
		next = c->next;
		if (c->kind == kind) {
			http_cancel(c->req);
			call_free(c);
		}
	}
}

/* ---- reporting changes ---- */

static void on_notify(evutil_socket_t fd, short what, void *arg)
{
	struct etcd_source *s = arg;
	(void)fd;
	(void)what;
	if (s->lease_inflight > 0 || s->nqueue > 0 || !s->dirty || s->changed == NULL) {
		return; /* (lease lookups report when they end) */
	}
	s->dirty = false;
	s->changed(s->ud);
}

static void mark_changed(struct etcd_source *s)
{
	struct timeval tv = { 0, COALESCE_MS * 1000 };
	s->dirty = true;
	if (s->notify != NULL && !evtimer_pending(s->notify, NULL)) {
		evtimer_add(s->notify, &tv);
	}
}

/* ---- leases ---- */

static skydns_t *lease_model(struct etcd_source *s)
{
	return s->phase == PH_LEASES ? &s->staging : &s->model;
}

static void lease_ok(struct etcd_source *s, const json_t *j, struct call *c)
{
	int64_t ttl = 0;
	if (!json_int(json_get(j, "grantedTTL"), &ttl) || ttl < 0 || ttl > UINT32_MAX) {
		ttl = 0; /* expired: the key goes soon */
	}
	lease_done(s, c->lease, (uint32_t)ttl);
}

static void finish_sync(struct etcd_source *s);

static void lease_pump(struct etcd_source *s)
{
	char body[64];
	while (s->lease_inflight < LEASES_INFLIGHT && s->nqueue > 0) {
		int64_t id = s->lease_queue[--s->nqueue];
		snprintf(body, sizeof(body), "{\"ID\":\"%lld\"}", (long long)id);
		if (call(s, CALL_LEASE, "/lease/timetolive", body, lease_ok, id) != E_OK) {
			skydns_lease_set(lease_model(s), id, 0);
			continue;
		}
		s->lease_inflight++;
	}
	if (s->lease_inflight == 0 && s->nqueue == 0) {
		if (s->phase == PH_LEASES) {
			finish_sync(s);
		} else if (s->dirty) {
			mark_changed(s);
		}
	}
}

static void lease_done(struct etcd_source *s, int64_t id, uint32_t ttl)
{
	if (id != 0) {
		skydns_lease_set(lease_model(s), id, ttl);
	}
	s->lease_inflight--;
	lease_pump(s);
}

/* Queue \a id unless the model knows it or it is queued. */
static void lease_want(struct etcd_source *s, skydns_t *m, int64_t id)
{
	if (id == 0 || skydns_lease_known(m, id)) {
		return;
	}
	for (size_t i = 0; i < s->nqueue; i++) {
		if (s->lease_queue[i] == id) {
			return;
		}
	}
	if (s->nqueue == s->capqueue) {
		size_t cap = s->capqueue ? s->capqueue * 2 : 16;
		int64_t *q = realloc(s->lease_queue, cap * sizeof(*q));
		if (q == NULL) {
			skydns_lease_set(m, id, 0);
			return;
		}
		s->lease_queue = q;
		s->capqueue = cap;
	}
	s->lease_queue[s->nqueue++] = id;
	/* marked known (ttl unknown) so that it is not asked for twice */
	skydns_lease_set(m, id, 0);
}

/* ---- the sync: auth, range pages, leases ---- */

static void start_watch(struct etcd_source *s, int64_t from);

static void on_retry(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	start_sync(arg);
}

static void stop_watch(struct etcd_source *s)
{
	if (s->watch != NULL) {
		http_cancel(s->watch);
		s->watch = NULL;
	}
	buf_free(&s->stream);
	s->watch_created = false;
}

static void fail_sync(struct etcd_source *s, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	struct timeval tv = { 0, 0 };

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	stop_watch(s);
	cancel_calls(s, CALL_SYNC);
	cancel_calls(s, CALL_LEASE);
	s->lease_inflight = 0;
	s->nqueue = 0;
	skydns_clear(&s->staging);
	s->failures++;
	if (!s->loaded) {
		snprintf(s->why, sizeof(s->why), "etcd: %s", msg);
	}
	/* one line for the first failure of a run, then fewer and fewer */
	if ((s->failures & (s->failures - 1)) == 0) {
		log_warn("etcd", "%s: %s%s", s->zone, msg,
			 s->loaded ? "; serving the last data read" : "");
	}
	s->cur = (s->cur + 1) % s->nep;
	s->phase = PH_WAIT;
	if (s->oneshot && s->failures >= s->nep) {
		event_base_loopbreak(s->evbase);
		return;
	}
	if (s->failures >= s->nep) {
		int rounds = s->failures / s->nep;
		long ms = BACKOFF_MIN_MS;
		while (--rounds > 0 && ms < BACKOFF_MAX_MS) {
			ms *= 2;
		}
		ms = ms > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : ms;
		ms += random() % (ms / 4 + 1); /* jitter: instances do not retry in step */
		tv.tv_sec = ms / 1000;
		tv.tv_usec = (ms % 1000) * 1000;
	}
	evtimer_add(s->retry, &tv);
}

static void finish_sync(struct etcd_source *s)
{
	skydns_lease_gc(&s->staging);
	skydns_swap(&s->model, &s->staging);
	skydns_clear(&s->staging);
	s->range_rev = s->staging_rev;
	if (s->model.max_mod > s->rev) {
		s->rev = s->model.max_mod;
	}
	if (!s->loaded || s->failures > 0) {
		log_info("etcd", "%s: %zu keys read from %s at revision %lld", s->zone, s->model.n,
			 s->ep[s->cur].url, (long long)s->range_rev);
	}
	s->loaded = true;
	s->why[0] = '\0';
	s->phase = PH_IDLE;
	if (s->oneshot) {
		event_base_loopbreak(s->evbase);
		return;
	}
	mark_changed(s);
	start_watch(s, s->model.max_mod + 1);
}

static void leases_phase(struct etcd_source *s)
{
	s->phase = PH_LEASES;
	/* what the served model knows stays known */
	for (size_t i = 0; i < s->model.nleases; i++) {
		if (s->model.leases[i].ttl != 0) {
			skydns_lease_set(&s->staging, s->model.leases[i].id,
					 s->model.leases[i].ttl);
		}
	}
	for (size_t i = 0; i < s->staging.n; i++) {
		lease_want(s, &s->staging, s->staging.svcs[i]->lease);
	}
	lease_pump(s);
}

static void page_request(struct etcd_source *s);

static void page_ok(struct etcd_source *s, const json_t *j, struct call *c)
{
	const json_t *kvs = json_get(j, "kvs");
	int64_t rev = 0;
	bool more = false;
	char err[256];
	(void)c;

	if (!json_int(json_path(j, "header.revision"), &rev)) {
		fail_sync(s, "a range answer without its revision");
		return;
	}
	if (s->staging_rev == 0) {
		s->staging_rev = rev;
	}
	for (size_t i = 0; i < json_count(kvs); i++) {
		etcd_kv_t kv;
		if (etcd_kv_decode(json_at(kvs, i), &kv) != E_OK) {
			fail_sync(s, "a key of a range answer does not decode");
			return;
		}
		int ret = skydns_put(&s->staging, kv.key, kv.keylen, kv.value, kv.vlen,
				     kv.mod_revision, kv.lease, err, sizeof(err));
		if (ret == E_MALFORMED) {
			log_warn("etcd", "%s: key %s left out: %s", s->zone, kv.key, err);
		} else if (ret < 0) {
			etcd_kv_free(&kv);
			fail_sync(s, "%s", err_str(ret));
			return;
		}
		if (i + 1 == json_count(kvs)) {
			/* the next page starts just after this key: the key and a NUL */
			s->cursor.len = 0;
			if (buf_add(&s->cursor, kv.key, kv.keylen + 1) != E_OK) {
				etcd_kv_free(&kv);
				fail_sync(s, "out of memory");
				return;
			}
		}
		etcd_kv_free(&kv);
	}
	json_bool(json_get(j, "more"), &more);
	if (more && json_count(kvs) > 0) {
		page_request(s);
	} else {
		leases_phase(s);
	}
}

static void page_request(struct etcd_source *s)
{
	char end[KEYBUF];
	size_t cap = 2 * s->cursor.len + 2 * KEYBUF;
	char *key = malloc(cap), *body = malloc(cap);
	int n, ret = -ENOMEM;

	if (key != NULL && body != NULL) {
		ret = range_json(s, body, cap, end, sizeof(end));
	}
	if (ret == E_OK && etcd_b64_json(key, cap, s->cursor.p, s->cursor.len) < 0) {
		ret = E_TRUNC;
	}
	if (ret == E_OK) {
		char revision[48] = "";
		if (s->staging_rev > 0) {
			snprintf(revision, sizeof(revision), ",\"revision\":\"%lld\"",
				 (long long)s->staging_rev);
		}
		n = snprintf(body, cap, "{\"key\":%s,\"range_end\":%s,\"limit\":%d%s}", key, end,
			     PAGE_LIMIT, revision);
		ret = n > 0 && (size_t)n < cap ? E_OK : E_TRUNC;
	}
	if (ret == E_OK) {
		ret = call(s, CALL_SYNC, "/kv/range", body, page_ok, 0);
	}
	free(key);
	free(body);
	if (ret != E_OK) {
		fail_sync(s, "cannot ask for a page: %s", err_str(ret));
	}
}

static void start_range(struct etcd_source *s)
{
	s->phase = PH_RANGE;
	skydns_clear(&s->staging);
	s->staging_rev = 0;
	s->cursor.len = 0;
	if (buf_add(&s->cursor, s->model.prefix, s->model.prefixlen) != E_OK) {
		fail_sync(s, "out of memory");
		return;
	}
	page_request(s);
}

static void auth_ok(struct etcd_source *s, const json_t *j, struct call *c)
{
	const char *tok = json_str(json_get(j, "token"), NULL);
	(void)c;
	if (tok == NULL || strlen(tok) >= sizeof(s->token)) {
		fail_sync(s, "authentication answered without a token");
		return;
	}
	snprintf(s->token, sizeof(s->token), "%s", tok);
	start_range(s);
}

static void start_sync(struct etcd_source *s)
{
	stop_watch(s);
	cancel_calls(s, CALL_SYNC);
	cancel_calls(s, CALL_LEASE);
	s->lease_inflight = 0;
	s->nqueue = 0;
	if (s->user != NULL) {
		char u[600], p[600], body[1300];
		s->phase = PH_AUTH;
		s->token[0] = '\0';
		json_quote(u, sizeof(u), s->user);
		json_quote(p, sizeof(p), s->pass);
		snprintf(body, sizeof(body), "{\"name\":%s,\"password\":%s}", u, p);
		int ret = call(s, CALL_SYNC, "/auth/authenticate", body, auth_ok, 0);
		explicit_bzero(body, sizeof(body));
		explicit_bzero(p, sizeof(p));
		if (ret != E_OK) {
			fail_sync(s, "%s", err_str(ret));
		}
		return;
	}
	start_range(s);
}

/* ---- the watch ---- */

static void watch_event(struct etcd_source *s, const json_t *ev)
{
	etcd_kv_t kv;
	char err[256];
	const char *type = json_str(json_get(ev, "type"), NULL);

	if (etcd_kv_decode(json_get(ev, "kv"), &kv) != E_OK) {
		log_warn("etcd", "%s: a watch event does not decode", s->zone);
		return;
	}
	if (!skydns_in_zone(&s->model, kv.key, kv.keylen)) {
		etcd_kv_free(&kv);
		return;
	}
	if (kv.mod_revision > s->range_rev) {
		/* news: the model does not have it yet */
		if (type != NULL && strcmp(type, "DELETE") == 0) {
			skydns_del(&s->model, kv.key, kv.keylen);
		} else {
			int ret = skydns_put(&s->model, kv.key, kv.keylen, kv.value, kv.vlen,
					     kv.mod_revision, kv.lease, err, sizeof(err));
			if (ret == E_MALFORMED) {
				log_warn("etcd", "%s: key %s left out: %s", s->zone, kv.key, err);
			}
			lease_want(s, &s->model, kv.lease);
		}
		s->dirty = true;
	}
	if (kv.mod_revision > s->rev) {
		s->rev = kv.mod_revision; /* an event up to range_rev only moves the serial */
		s->dirty = true;
	}
	etcd_kv_free(&kv);
}

/* One message of the watch stream. */
static void watch_message(struct etcd_source *s, const char *line, size_t len)
{
	json_t *j = NULL;
	char msg[300];
	int code = 0;
	int64_t compact = 0;
	bool flag = false;

	if (json_parse(&j, line, len, msg, sizeof(msg)) != E_OK) {
		fail_sync(s, "the watch stream is not JSON: %s", msg);
		return;
	}
	if (etcd_error(j, msg, sizeof(msg), &code)) {
		json_free(j);
		fail_sync(s, "watch: %s", msg);
		return;
	}
	const json_t *r = json_get(j, "result");
	if (json_bool(json_get(r, "created"), &flag) && flag) {
		s->watch_created = true;
		if (s->failures > 0) {
			log_info("etcd", "%s: watching %s again", s->zone, s->ep[s->cur].url);
		}
		s->failures = 0;
	}
	if (json_int(json_get(r, "compact_revision"), &compact) && compact > 0) {
		json_free(j);
		if (compact <= s->range_rev + 1) {
			/* history before the sync is gone: the rest replays from there */
			start_watch(s, compact);
		} else {
			log_info("etcd",
				 "%s: the watch fell behind etcd's compaction (revision "
				 "%lld): reading everything again",
				 s->zone, (long long)compact);
			start_sync(s);
		}
		return;
	}
	if (json_bool(json_get(r, "canceled"), &flag) && flag) {
		const char *why = json_str(json_get(r, "cancel_reason"), NULL);
		json_free(j);
		fail_sync(s, "the watch was canceled%s%s", why ? ": " : "", why ? why : "");
		return;
	}
	const json_t *events = json_get(r, "events");
	for (size_t i = 0; i < json_count(events); i++) {
		watch_event(s, json_at(events, i));
	}
	json_free(j);
	if (s->nqueue > 0) {
		lease_pump(s); /* reports the change once the lookups end */
	} else if (s->dirty) {
		mark_changed(s);
	}
}

static void watch_data(void *ud, const char *data, size_t len)
{
	struct etcd_source *s = ud;
	size_t start = 0;
	http_req_t *self = s->watch;

	if (buf_add(&s->stream, data, len) != E_OK) {
		fail_sync(s, "out of memory");
		return;
	}
	/* the gateway ends every message with a newline */
	for (size_t i = 0; i < s->stream.len && s->watch == self; i++) {
		if (s->stream.p[i] == '\n') {
			if (i > start) {
				watch_message(s, s->stream.p + start, i - start);
			}
			start = i + 1;
		}
	}
	if (s->watch == self && start > 0) {
		memmove(s->stream.p, s->stream.p + start, s->stream.len - start);
		s->stream.len -= start;
	}
}

static void watch_done(void *ud, long status, int err, const char *msg)
{
	struct etcd_source *s = ud;
	s->watch = NULL;
	if (err != E_OK) {
		fail_sync(s, "watch: %s", msg);
	} else {
		fail_sync(s, "the watch ended (HTTP status %ld)", status);
	}
}

static void start_watch(struct etcd_source *s, int64_t from)
{
	const struct endpoint *ep = &s->ep[s->cur];
	char key[KEYBUF], end[KEYBUF], body[3 * KEYBUF], url[640];
	http_opts_t o;

	stop_watch(s);
	s->phase = PH_WATCH;
	if (range_json(s, key, sizeof(key), end, sizeof(end)) != E_OK) {
		fail_sync(s, "the zone's path is too long");
		return;
	}
	snprintf(body, sizeof(body),
		 "{\"create_request\":{\"key\":%s,\"range_end\":%s,\"start_revision\":\"%lld\"}}",
		 key, end, (long long)from);
	snprintf(url, sizeof(url), "%s%s/watch", ep->url, api_prefixes[ep->api]);
	opts_of(s, &o, true);
	int ret =
		http_request(s->http, &s->watch, "POST", url, body, &o, watch_data, watch_done, s);
	if (ret != E_OK) {
		s->watch = NULL;
		fail_sync(s, "%s", err_str(ret));
	}
}

/* ---- the source ---- */

static int path_arg(char *out, size_t len, const char *dir, const char *p)
{
	int n = p[0] == '/' ? snprintf(out, len, "%s", p) : snprintf(out, len, "%s/%s", dir, p);
	return n >= 0 && (size_t)n < len && access(out, R_OK) == 0 ? E_OK : -ENOENT;
}

static void etcd_close(zone_source_t *zs);

static int configure(struct etcd_source *s, const source_conf_t *conf, const char **path, char *err,
		     size_t errlen)
{
	for (int i = 0; i < conf->nopts; i++) {
		const source_option_t *o = &conf->opts[i];
		if (strcmp(o->name, "path") == 0 && o->argc == 1) {
			*path = o->args[0];
		} else if (strcmp(o->name, "endpoint") == 0 && o->argc >= 1) {
			for (int a = 0; a < o->argc; a++) {
				size_t len = strlen(o->args[a]);
				if ((strncmp(o->args[a], "http://", 7) != 0 &&
				     strncmp(o->args[a], "https://", 8) != 0) ||
				    len >= sizeof(s->ep[0].url) || s->nep == MAX_ENDPOINTS) {
					snprintf(err, errlen,
						 "%s: etcd: endpoint '%s' is not an http:// or "
						 "https:// URL",
						 o->where, o->args[a]);
					return E_CFG_SEMANTIC;
				}
				while (len > 0 && o->args[a][len - 1] == '/') {
					len--;
				}
				memcpy(s->ep[s->nep].url, o->args[a], len);
				s->ep[s->nep++].url[len] = '\0';
			}
		} else if (strcmp(o->name, "credentials") == 0 && o->argc == 2) {
			s->user = strdup(o->args[0]);
			s->pass = strdup(o->args[1]);
			if (s->user == NULL || s->pass == NULL) {
				return -ENOMEM;
			}
		} else if (strcmp(o->name, "tls") == 0 && o->argc <= 3) {
			/* CoreDNS: none, CA, CERT KEY, or CERT KEY CA */
			int ok = E_OK;
			const char *bad = NULL;
			if (o->argc == 1 || o->argc == 3) {
				ok = path_arg(s->ca, sizeof(s->ca), conf->dir,
					      o->args[o->argc - 1]);
				bad = ok != E_OK ? o->args[o->argc - 1] : NULL;
			}
			if (ok == E_OK && o->argc >= 2) {
				ok = path_arg(s->cert, sizeof(s->cert), conf->dir, o->args[0]);
				bad = ok != E_OK ? o->args[0] : NULL;
				if (ok == E_OK) {
					ok = path_arg(s->key, sizeof(s->key), conf->dir,
						      o->args[1]);
					bad = ok != E_OK ? o->args[1] : NULL;
				}
			}
			if (ok != E_OK) {
				snprintf(err, errlen, "%s: etcd: tls: cannot read '%s'", o->where,
					 bad);
				return E_CFG_SEMANTIC;
			}
		} else if (strcmp(o->name, "fallthrough") == 0 ||
			   strcmp(o->name, "upstream") == 0) {
			log_warn("etcd",
				 "%s: etcd: '%s' has no effect here (the zone has one "
				 "source; names outside the zone are not answered)",
				 o->where, o->name);
		} else {
			static const char *const known[] = { "path", "endpoint", "credentials",
							     "tls" };
			bool is_known = false;
			for (size_t k = 0; k < sizeof(known) / sizeof(known[0]); k++) {
				is_known = is_known || strcmp(o->name, known[k]) == 0;
			}
			snprintf(err, errlen, "%s: etcd: %s", o->where,
				 !is_known                      ? "unknown property"
				 : strcmp(o->name, "path") == 0 ? "path needs one argument: PATH"
				 : strcmp(o->name, "endpoint") == 0
					 ? "endpoint needs at least one URL"
				 : strcmp(o->name, "credentials") == 0
					 ? "credentials needs two arguments: USERNAME PASSWORD"
					 : "tls takes at most three arguments: CERT KEY CACERT");
			if (!is_known) {
				size_t n = strlen(err);
				snprintf(err + n, errlen - n, " '%s'", o->name);
			}
			return E_CFG_SEMANTIC;
		}
	}
	if (s->nep == 0) {
		snprintf(s->ep[0].url, sizeof(s->ep[0].url), "http://localhost:2379");
		s->nep = 1;
	}
	return E_OK;
}

/* Events and the HTTP client on \a base. */
static int attach(struct etcd_source *s, struct event_base *base)
{
	s->evbase = base;
	if (http_client_new(&s->http, base) != E_OK) {
		return -ENOMEM;
	}
	s->retry = evtimer_new(base, on_retry, s);
	s->notify = evtimer_new(base, on_notify, s);
	return s->retry != NULL && s->notify != NULL ? E_OK : -ENOMEM;
}

static void detach(struct etcd_source *s)
{
	stop_watch(s);
	http_client_free(s->http); /* cancels every call, without callbacks */
	s->http = NULL;
	while (s->calls != NULL) {
		call_free(s->calls);
	}
	if (s->retry != NULL) {
		event_free(s->retry);
	}
	if (s->notify != NULL) {
		event_free(s->notify);
	}
	s->retry = s->notify = NULL;
	s->lease_inflight = 0;
	s->nqueue = 0;
	skydns_clear(&s->staging);
	s->phase = PH_IDLE;
	s->evbase = NULL;
}

static int etcd_open(zone_source_t **out, const source_conf_t *conf, char *err, size_t errlen)
{
	struct etcd_source *s;
	const char *path = SKYDNS_DEFAULT_PATH;
	struct event_base *base = NULL;
	int ret;

	s = calloc(1, sizeof(*s));
	if (s == NULL) {
		return -ENOMEM;
	}
	s->base.ops = &source_etcd;
	snprintf(s->where, sizeof(s->where), "%s", conf->where);
	snprintf(s->zone, sizeof(s->zone), "%s", conf->apex_str);
	ret = configure(s, conf, &path, err, errlen);
	if (ret == E_OK) {
		ret = skydns_init(&s->model, path, conf->apex);
		if (ret != E_OK) {
			snprintf(err, errlen, "%s: etcd: the path of %s is too long", conf->where,
				 conf->apex_str);
		}
	}
	if (ret == E_OK) {
		ret = skydns_init(&s->staging, path, conf->apex);
	}
	if (ret != E_OK) {
		etcd_close(&s->base);
		return ret;
	}
	/* The first sync, on a base of our own: the first load and -validate see the data.
	 * When no endpoint answers, the source still opens: load() says why, and the watch
	 * keeps trying. */
	base = event_base_new();
	if (base == NULL || attach(s, base) != E_OK) {
		detach(s);
		if (base != NULL) {
			event_base_free(base);
		}
		etcd_close(&s->base);
		return -ENOMEM;
	}
	s->oneshot = true;
	snprintf(s->why, sizeof(s->why), "etcd: nothing read yet");
	start_sync(s);
	event_base_dispatch(base);
	s->oneshot = false;
	detach(s);
	event_base_free(base);
	s->failures = 0;
	*out = &s->base;
	return E_OK;
}

static int etcd_load(zone_source_t *zs, zone_builder_t *b)
{
	struct etcd_source *s = (struct etcd_source *)zs;
	if (!s->loaded) {
		zone_builder_report(b, LOG_ERR, s->where, "%s", s->why);
		return -EAGAIN;
	}
	return skydns_build(&s->model, b, (uint32_t)s->rev);
}

static int etcd_watch(zone_source_t *zs, struct event_base *base, source_changed_fn changed,
		      void *ud)
{
	struct etcd_source *s = (struct etcd_source *)zs;
	int ret = attach(s, base);
	if (ret != E_OK) {
		detach(s);
		return ret;
	}
	s->changed = changed;
	s->ud = ud;
	if (s->loaded) {
		start_watch(s, s->model.max_mod + 1);
	} else {
		start_sync(s);
	}
	return E_OK;
}

static void etcd_close(zone_source_t *zs)
{
	struct etcd_source *s = (struct etcd_source *)zs;
	if (s == NULL) {
		return;
	}
	detach(s);
	skydns_clear(&s->model);
	skydns_clear(&s->staging);
	buf_free(&s->cursor);
	free(s->lease_queue);
	if (s->pass != NULL) {
		explicit_bzero(s->pass, strlen(s->pass));
	}
	explicit_bzero(s->token, sizeof(s->token));
	free(s->user);
	free(s->pass);
	free(s);
}

const zone_source_ops_t source_etcd = {
	.name = "etcd",
	.open = etcd_open,
	.load = etcd_load,
	.watch = etcd_watch,
	.close = etcd_close,
};
