/*  The list+watch of one cluster, as client-go's reflector does it: list (in pages of
 *  LIST_LIMIT), then watch from the list's resourceVersion with bookmarks; a watch that ends
 *  is started again from the last resourceVersion seen; "410 Gone" (an ERROR event with a
 *  Status of code 410, or HTTP 410) lists again, and the objects the new list does not have
 *  are removed; failures are retried with exponential backoff.
 *
 *  Changes are coalesced for COALESCE_MS, then every zone made from the cluster is told.
 *  Nothing is told while a list is half read, so a zone never mixes two lists.
 */
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "adapters/kubernetes/internal.h"
#include "dns/err.h"
#include "dns/log.h"
#include "dns/name.h"

#define LIST_LIMIT    500
#define COALESCE_MS   5
#define BACKOFF_MIN   100
#define BACKOFF_MAX   10000
#define WATCH_SECONDS 300 /* asked of the server; it closes the watch then */
#define GUARD_MS      ((WATCH_SECONDS + 60) * 1000)
#define BODY_MAX      (1024u << 20) /* a list page */
#define LINE_MAX_LEN  (64u << 20)   /* one watch event */
#define SYNC_TIMEOUT  30000
#define SYNC_CONNECT  3000

static const char *const paths[KUBE_NRES] = {
	[KUBE_SERVICES] = "/api/v1/services",
	[KUBE_SLICES] = "/apis/discovery.k8s.io/v1/endpointslices",
	[KUBE_NAMESPACES] = "/api/v1/namespaces",
	[KUBE_PODS] = "/api/v1/pods",
};

static const char *const names[KUBE_NRES] = {
	[KUBE_SERVICES] = "services",
	[KUBE_SLICES] = "endpointslices",
	[KUBE_NAMESPACES] = "namespaces",
	[KUBE_PODS] = "pods",
};

enum next { NEXT_LIST, NEXT_WATCH };

struct buf {
	char *p;
	size_t len, cap;
};

struct kube_watch {
	kube_cluster_t *c;
	enum kube_res res;
	bool enabled;
	bool listed;  /* a full list arrived at least once */
	bool listing; /* pages are being read */
	bool gone;    /* the watch said 410: list again */
	bool got;     /* the watch delivered an event */
	enum next next;
	char *rv;
	char *cont; /* the next page's continue token */
	http_req_t *req;
	struct event *timer; /* backoff, the next step, and the watch's guard */
	unsigned backoff_ms;
	unsigned fails; /* in a row: logged as warnings at the first and every tenth */
	struct timespec started;
	struct buf body;
};

struct zstate {
	struct zstate *next;
	uint8_t apex[DNAME_MAX];
	uint64_t hash;
	uint32_t serial;
};

struct kube_cluster {
	kube_cluster_t *next;
	char *key;
	int refs;
	kube_settings_t set;
	char *selector; /* "&labelSelector=..." or "" */
	kube_model_t model;
	struct kube_watch w[KUBE_NRES];
	struct event_base *base;
	http_client_t *http;
	struct event *coalesce;
	bool pending; /* a change not told yet */
	bool synced;
	kube_sub_t *subs;
	struct zstate *zs;
	char error[512];
};

static kube_cluster_t *clusters;

static bool buf_add(struct buf *b, const char *data, size_t len, size_t max)
{
	if (b->len + len + 1 > b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 16384;
		while (cap < b->len + len + 1) {
			cap *= 2;
		}
		if (cap > max + 1) {
			cap = max + 1;
			if (b->len + len + 1 > cap) {
				return false;
			}
		}
		char *p = realloc(b->p, cap);
		if (p == NULL) {
			return false;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, data, len);
	b->len += len;
	b->p[b->len] = '\0';
	return true;
}

static void buf_free(struct buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

/* Percent-encode \a s (RFC 3986 unreserved characters stay). */
static char *urlenc(const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	char *out = malloc(strlen(s) * 3 + 1), *o = out;
	if (out == NULL) {
		return NULL;
	}
	for (; *s != '\0'; s++) {
		unsigned char ch = (unsigned char)*s;
		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' || ch == '.' || ch == '~') {
			*o++ = (char)ch;
		} else {
			*o++ = '%';
			*o++ = hex[ch >> 4];
			*o++ = hex[ch & 15];
		}
	}
	*o = '\0';
	return out;
}

static char *url_for(const kube_cluster_t *c, const struct kube_watch *w, bool watch)
{
	const char *sel = w->res == KUBE_SERVICES || w->res == KUBE_SLICES ? c->selector : "";
	char *rv = urlenc(w->rv != NULL ? w->rv : ""), *cont = NULL, *url = NULL;
	int n;
	if (rv == NULL) {
		return NULL;
	}
	if (watch) {
		n = asprintf(&url,
			     "%s%s?watch=1&allowWatchBookmarks=true&resourceVersion=%s"
			     "&timeoutSeconds=%d%s",
			     c->set.conn.server, paths[w->res], rv, WATCH_SECONDS, sel);
	} else {
		cont = urlenc(w->cont != NULL ? w->cont : "");
		n = cont == NULL ? -1
				 : asprintf(&url, "%s%s?limit=%d%s%s%s", c->set.conn.server,
					    paths[w->res], LIST_LIMIT, sel,
					    w->cont ? "&continue=" : "", w->cont ? cont : "");
	}
	free(rv);
	free(cont);
	return n < 0 ? NULL : url;
}

/* ---- telling the zones ---- */

static bool any_listing(const kube_cluster_t *c)
{
	for (int r = 0; r < KUBE_NRES; r++) {
		if (c->w[r].listing) {
			return true;
		}
	}
	return false;
}

static void dirty(kube_cluster_t *c)
{
	c->pending = true;
	if (c->coalesce == NULL || any_listing(c) || !c->synced) {
		return;
	}
	if (!evtimer_pending(c->coalesce, NULL)) {
		struct timeval tv = { 0, COALESCE_MS * 1000 };
		evtimer_add(c->coalesce, &tv);
	}
}

static void on_coalesce(evutil_socket_t fd, short what, void *arg)
{
	kube_cluster_t *c = arg;
	(void)fd;
	(void)what;
	if (!c->pending || !c->synced) {
		return;
	}
	c->pending = false;
	for (int pass = 0; pass < 2; pass++) {
		for (kube_sub_t *s = c->subs, *next; s != NULL; s = next) {
			next = s->next;
			if (s->reverse == (pass == 1)) {
				s->changed(s->ud);
			}
		}
	}
}

static void check_synced(kube_cluster_t *c)
{
	if (c->synced) {
		return;
	}
	for (int r = 0; r < KUBE_NRES; r++) {
		if (c->w[r].enabled && !c->w[r].listed) {
			return;
		}
	}
	c->synced = true;
	c->error[0] = '\0';
	log_info("kubernetes", "%s: synced: %u services, %u endpointslices, %u namespaces, %u pods",
		 c->set.conn.server, kube_model_count(&c->model, KUBE_SERVICES),
		 kube_model_count(&c->model, KUBE_SLICES),
		 kube_model_count(&c->model, KUBE_NAMESPACES),
		 kube_model_count(&c->model, KUBE_PODS));
	c->pending = true;
}

/* ---- lists ---- */

/*
 * One page of a list; *more says another follows (its token in w->cont). On the last page
 * the objects no page had are removed.
 */
static int list_page(struct kube_watch *w, const char *body, size_t len, bool first, bool *more,
		     bool *changed, char *err, size_t errlen)
{
	kube_cluster_t *c = w->c;
	json_t *root = NULL;
	int ret = json_parse(&root, body, len, err, errlen);
	if (ret != E_OK) {
		return ret;
	}
	const json_t *items = json_get(root, "items");
	const json_t *meta = json_get(root, "metadata");
	const char *rv = json_str(json_get(meta, "resourceVersion"), NULL);
	const char *cont = json_str(json_get(meta, "continue"), NULL);
	if (json_type(items) != JSON_ARRAY && json_type(items) != JSON_NULL) {
		snprintf(err, errlen, "the list has no items");
		ret = E_MALFORMED;
		goto out;
	}
	if (first) {
		kube_model_list_begin(&c->model, w->res);
	}
	for (size_t i = 0; i < json_count(items) && ret == E_OK; i++) {
		ret = kube_model_put(&c->model, w->res, json_at(items, i), changed);
		if (ret == E_MALFORMED) {
			ret = E_OK; /* not an object we can use: skipped */
		}
	}
	if (ret != E_OK) {
		snprintf(err, errlen, "%s", err_str(ret));
		goto out;
	}
	free(w->rv);
	w->rv = rv != NULL ? strdup(rv) : NULL;
	free(w->cont);
	w->cont = cont != NULL && cont[0] != '\0' ? strdup(cont) : NULL;
	*more = w->cont != NULL;
	if (!*more) {
		if (kube_model_list_end(&c->model, w->res)) {
			*changed = true;
		}
		w->listed = true;
		if (w->res == KUBE_NAMESPACES) {
			c->model.ns_known = true;
		}
	}
out:
	json_free(root);
	return ret;
}

/* Namespaces the server does not let us list: every namespace is taken to exist. */
static void namespaces_forbidden(struct kube_watch *w)
{
	kube_cluster_t *c = w->c;
	log_warn("kubernetes",
		 "%s: listing namespaces is forbidden; serving services without "
		 "checking that their namespace exists",
		 c->set.conn.server);
	w->enabled = false;
	c->model.ns_known = false;
}

static void schedule(struct kube_watch *w, enum next next, unsigned ms)
{
	struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000 };
	w->next = next;
	if (w->timer != NULL) {
		evtimer_del(w->timer);
		evtimer_add(w->timer, &tv);
	}
}

static unsigned backoff(struct kube_watch *w)
{
	unsigned ms = w->backoff_ms == 0 ? BACKOFF_MIN : w->backoff_ms * 2;
	if (ms > BACKOFF_MAX) {
		ms = BACKOFF_MAX;
	}
	w->backoff_ms = ms;
	return ms / 2 + (unsigned)(rand() % (int)(ms / 2 + 1)); /* jitter: [ms/2, ms] */
}

static void failed(struct kube_watch *w, enum next next, const char *what, long status, int err,
		   const char *msg)
{
	kube_cluster_t *c = w->c;
	unsigned ms = backoff(w);
	if (status != 0 && status != 200) {
		snprintf(c->error, sizeof(c->error), "%s %s: HTTP %ld%s", what, names[w->res],
			 status,
			 status == 401   ? " (unauthorized)"
			 : status == 403 ? " (forbidden)"
					 : "");
	} else {
		snprintf(c->error, sizeof(c->error), "%s %s: %s", what, names[w->res],
			 msg != NULL && msg[0] ? msg : err_str(err));
	}
	w->fails++;
	log_msg(w->fails == 1 || w->fails % 10 == 0 ? LOG_WARN : LOG_DEBUG, "kubernetes",
		"%s: %s; again in %u ms%s", c->set.conn.server, c->error, ms,
		w->fails > 1 ? " (failed before)" : "");
	schedule(w, next, ms);
}

static void recovered(struct kube_watch *w)
{
	if (w->fails > 0) {
		log_info("kubernetes", "%s: %s: working again after %u failures",
			 w->c->set.conn.server, names[w->res], w->fails);
		w->fails = 0;
	}
}

static void on_list_data(void *ud, const char *data, size_t len)
{
	struct kube_watch *w = ud;
	if (!buf_add(&w->body, data, len, BODY_MAX)) {
		w->body.len = BODY_MAX + 1; /* marks the page as too large */
	}
}

static void on_list_done(void *ud, long status, int err, const char *msg)
{
	struct kube_watch *w = ud;
	kube_cluster_t *c = w->c;
	char perr[256] = "";
	bool more = false, changed = false;
	w->req = NULL;
	if (err == E_OK && status == 403 && w->res == KUBE_NAMESPACES) {
		w->listing = false;
		buf_free(&w->body);
		namespaces_forbidden(w);
		check_synced(c);
		dirty(c);
		return;
	}
	if (err != E_OK || status != 200 || w->body.len > BODY_MAX) {
		/* An expired continue token (410) starts the list over, as does anything else. */
		bool large = w->body.len > BODY_MAX;
		free(w->cont);
		w->cont = NULL;
		w->listing = false;
		buf_free(&w->body);
		failed(w, NEXT_LIST, "list", status, err, large ? "a page is too large" : msg);
		if (c->pending) {
			dirty(c);
		}
		return;
	}
	bool first = w->cont == NULL;
	int ret = list_page(w, w->body.p != NULL ? w->body.p : "", w->body.len, first, &more,
			    &changed, perr, sizeof(perr));
	buf_free(&w->body);
	if (changed) {
		c->pending = true;
	}
	if (ret != E_OK) {
		free(w->cont);
		w->cont = NULL;
		w->listing = false;
		failed(w, NEXT_LIST, "list", 0, ret, perr);
		return;
	}
	if (more) {
		schedule(w, NEXT_LIST, 0);
		return;
	}
	w->listing = false;
	w->backoff_ms = 0;
	recovered(w);
	check_synced(c);
	if (c->pending) {
		dirty(c);
	}
	schedule(w, NEXT_WATCH, 0);
}

static void list_start(struct kube_watch *w)
{
	kube_cluster_t *c = w->c;
	http_opts_t o;
	char *url = url_for(c, w, false);
	int ret;
	if (url == NULL) {
		failed(w, NEXT_LIST, "list", 0, -ENOMEM, NULL);
		return;
	}
	if (w->cont == NULL) {
		log_debug("kubernetes", "%s: listing %s", c->set.conn.server, names[w->res]);
	}
	kube_conn_opts(&c->set.conn, &o);
	o.timeout_ms = SYNC_TIMEOUT;
	w->body.len = 0;
	w->listing = true;
	ret = http_request(c->http, &w->req, "GET", url, NULL, &o, on_list_data, on_list_done, w);
	free(url);
	if (ret != E_OK) {
		w->req = NULL;
		w->listing = false;
		failed(w, NEXT_LIST, "list", 0, ret, NULL);
	}
}

/* ---- watches ---- */

static void set_rv(struct kube_watch *w, const json_t *obj)
{
	const char *rv = json_str(json_path(obj, "metadata.resourceVersion"), NULL);
	if (rv != NULL && rv[0] != '\0') {
		char *d = strdup(rv);
		if (d != NULL) {
			free(w->rv);
			w->rv = d;
		}
	}
}

static void on_event(struct kube_watch *w, const char *line, size_t len)
{
	kube_cluster_t *c = w->c;
	json_t *ev = NULL;
	char err[256] = "";
	bool changed = false;
	int ret = json_parse(&ev, line, len, err, sizeof(err));
	if (ret != E_OK) {
		log_err("kubernetes", "%s: a watch event of %s does not parse (%s); skipped",
			c->set.conn.server, names[w->res], err);
		return;
	}
	const char *type = json_str(json_get(ev, "type"), NULL);
	const json_t *obj = json_get(ev, "object");
	if (type == NULL) {
		/* Not an event: a Status the server sent instead of a stream. */
		int64_t code = 0;
		if (json_int(json_get(ev, "code"), &code) && code == 410) {
			w->gone = true;
		}
		goto out;
	}
	w->got = true;
	w->backoff_ms = 0;
	recovered(w);
	if (strcmp(type, "ADDED") == 0 || strcmp(type, "MODIFIED") == 0) {
		ret = kube_model_put(&c->model, w->res, obj, &changed);
		set_rv(w, obj);
	} else if (strcmp(type, "DELETED") == 0) {
		ret = kube_model_del(&c->model, w->res, obj, &changed);
		set_rv(w, obj);
	} else if (strcmp(type, "BOOKMARK") == 0) {
		set_rv(w, obj);
	} else if (strcmp(type, "ERROR") == 0) {
		int64_t code = 0;
		const char *m = json_str(json_get(obj, "message"), NULL);
		json_int(json_get(obj, "code"), &code);
		if (code == 410) {
			log_info("kubernetes", "%s: watch of %s: %s; listing again",
				 c->set.conn.server, names[w->res], m ? m : "410 Gone");
			w->gone = true;
			schedule(w, NEXT_LIST, 0); /* also ends the stream if the server does not */
		} else {
			log_warn("kubernetes", "%s: watch of %s: error %lld: %s",
				 c->set.conn.server, names[w->res], (long long)code, m ? m : "");
		}
	}
	if (ret == -ENOMEM) {
		/* The model may have lost the object: only a new list makes it whole. */
		log_err("kubernetes", "%s: out of memory applying an event; listing %s again",
			c->set.conn.server, names[w->res]);
		w->gone = true;
		schedule(w, NEXT_LIST, 0);
	}
	if (changed) {
		dirty(c);
	}
out:
	json_free(ev);
}

static void on_watch_data(void *ud, const char *data, size_t len)
{
	struct kube_watch *w = ud;
	if (w->gone) {
		return;
	}
	if (!buf_add(&w->body, data, len, LINE_MAX_LEN)) {
		log_err("kubernetes", "%s: a watch event of %s is too large; listing again",
			w->c->set.conn.server, names[w->res]);
		w->body.len = 0;
		w->gone = true;
		schedule(w, NEXT_LIST, 0);
		return;
	}
	size_t start = 0;
	for (;;) {
		char *nl = memchr(w->body.p + start, '\n', w->body.len - start);
		if (nl == NULL || w->gone) {
			break;
		}
		size_t end = (size_t)(nl - w->body.p);
		if (end > start) {
			on_event(w, w->body.p + start, end - start);
		}
		start = end + 1;
	}
	if (w->gone) {
		w->body.len = 0;
		return;
	}
	memmove(w->body.p, w->body.p + start, w->body.len - start);
	w->body.len -= start;
}

static void on_watch_done(void *ud, long status, int err, const char *msg)
{
	struct kube_watch *w = ud;
	kube_cluster_t *c = w->c;
	struct timespec t;
	w->req = NULL;
	if (w->body.len > 0 && !w->gone && err == E_OK && status == 200) {
		on_event(w, w->body.p, w->body.len); /* a last event without its newline */
	}
	buf_free(&w->body);
	clock_gettime(CLOCK_MONOTONIC, &t);
	long lived = (long)(t.tv_sec - w->started.tv_sec);
	if (w->gone || status == 410) {
		log_info("kubernetes", "%s: %s: resourceVersion %s is gone; listing again",
			 c->set.conn.server, names[w->res], w->rv ? w->rv : "");
		w->gone = false;
		schedule(w, NEXT_LIST, 0);
	} else if (err == E_OK && status == 200 && (w->got || lived >= 1)) {
		recovered(w);
		log_debug("kubernetes", "%s: watch of %s ended; watching again from %s",
			  c->set.conn.server, names[w->res], w->rv ? w->rv : "");
		schedule(w, NEXT_WATCH, 0);
	} else if (w->got && err != E_OK) {
		/* A watch that worked and broke (a dropped connection): at once, then backoff. */
		log_info("kubernetes", "%s: watch of %s broke (%s); watching again from %s",
			 c->set.conn.server, names[w->res], msg && msg[0] ? msg : err_str(err),
			 w->rv ? w->rv : "");
		schedule(w, NEXT_WATCH, 0);
	} else {
		failed(w, NEXT_WATCH, "watch", status, err, msg);
	}
}

static void watch_start(struct kube_watch *w)
{
	kube_cluster_t *c = w->c;
	http_opts_t o;
	char *url = url_for(c, w, true);
	int ret;
	if (url == NULL) {
		failed(w, NEXT_WATCH, "watch", 0, -ENOMEM, NULL);
		return;
	}
	kube_conn_opts(&c->set.conn, &o);
	o.timeout_ms = 0;
	w->body.len = 0;
	w->gone = false;
	w->got = false;
	clock_gettime(CLOCK_MONOTONIC, &w->started);
	ret = http_request(c->http, &w->req, "GET", url, NULL, &o, on_watch_data, on_watch_done, w);
	free(url);
	if (ret != E_OK) {
		w->req = NULL;
		failed(w, NEXT_WATCH, "watch", 0, ret, NULL);
		return;
	}
	/* The server ends the watch after WATCH_SECONDS; if it does not, this does. */
	schedule(w, NEXT_WATCH, GUARD_MS);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct kube_watch *w = arg;
	(void)fd;
	(void)what;
	if (w->req != NULL) {
		http_cancel(w->req);
		w->req = NULL;
	}
	buf_free(&w->body);
	if (!w->enabled) {
		return;
	}
	if (w->next == NEXT_LIST) {
		if (w->cont == NULL && w->listing) {
			w->listing = false;
		}
		list_start(w);
	} else {
		watch_start(w);
	}
}

/* ---- the blocking first list ---- */

static int sync_now(kube_cluster_t *c)
{
	for (int r = 0; r < KUBE_NRES; r++) {
		struct kube_watch *w = &c->w[r];
		bool first = true, more = true, changed = false;
		while (w->enabled && more) {
			http_opts_t o;
			char *url = url_for(c, w, false), *body = NULL, err[256] = "";
			size_t len = 0;
			long status = 0;
			int ret;
			if (url == NULL) {
				return -ENOMEM;
			}
			kube_conn_opts(&c->set.conn, &o);
			o.timeout_ms = SYNC_TIMEOUT;
			o.connect_timeout_ms = SYNC_CONNECT;
			ret = http_fetch("GET", url, NULL, &o, &body, &len, &status, err,
					 sizeof(err));
			free(url);
			if (ret == E_OK && status == 403 && r == KUBE_NAMESPACES) {
				free(body);
				namespaces_forbidden(w);
				break;
			}
			if (ret == E_OK && status != 200) {
				snprintf(c->error, sizeof(c->error), "list %s: HTTP %ld%s",
					 names[r], status,
					 status == 401   ? " (unauthorized)"
					 : status == 403 ? " (forbidden)"
							 : "");
				ret = E_MALFORMED;
			} else if (ret == E_OK) {
				ret = list_page(w, body, len, first, &more, &changed, err,
						sizeof(err));
				if (ret != E_OK) {
					snprintf(c->error, sizeof(c->error), "list %s: %s",
						 names[r], err);
				}
			} else {
				snprintf(c->error, sizeof(c->error), "list %s: %s", names[r],
					 err[0] ? err : err_str(ret));
			}
			free(body);
			if (ret != E_OK) {
				free(w->cont);
				w->cont = NULL;
				return ret;
			}
			first = false;
		}
	}
	check_synced(c);
	c->pending = false;
	return E_OK;
}

/* ---- the cluster ---- */

void kube_settings_free(kube_settings_t *s)
{
	kube_conn_deinit(&s->conn);
	free(s->labels);
	for (int i = 0; i < s->nnamespaces; i++) {
		free(s->namespaces[i]);
	}
	free(s->namespaces);
	memset(s, 0, sizeof(*s));
}

int kube_cluster_get(kube_cluster_t **out, const char *key, kube_settings_t *set, bool *created)
{
	kube_cluster_t *c;
	*created = false;
	for (c = clusters; c != NULL; c = c->next) {
		if (strcmp(c->key, key) == 0) {
			c->refs++;
			*out = c;
			return E_OK;
		}
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		return -ENOMEM;
	}
	c->key = strdup(key);
	c->selector = NULL;
	if (set->labels != NULL) {
		char *enc = urlenc(set->labels);
		if (enc == NULL || asprintf(&c->selector, "&labelSelector=%s", enc) < 0) {
			c->selector = NULL;
		}
		free(enc);
	} else {
		c->selector = strdup("");
	}
	if (c->key == NULL || c->selector == NULL) {
		free(c->key);
		free(c->selector);
		free(c);
		return -ENOMEM;
	}
	c->set = *set;
	memset(set, 0, sizeof(*set));
	kube_model_init(&c->model);
	c->model.namespaces = c->set.namespaces;
	c->model.nnamespaces = c->set.nnamespaces;
	for (int r = 0; r < KUBE_NRES; r++) {
		c->w[r].c = c;
		c->w[r].res = (enum kube_res)r;
	}
	c->w[KUBE_SERVICES].enabled = true;
	c->w[KUBE_SLICES].enabled = !c->set.noendpoints;
	c->w[KUBE_NAMESPACES].enabled = true;
	c->w[KUBE_PODS].enabled = c->set.pods == KUBE_PODS_VERIFIED;
	c->refs = 1;
	c->next = clusters;
	clusters = c;
	*created = true;
	*out = c;
	if (sync_now(c) != E_OK) {
		log_warn("kubernetes", "%s: %s; the zones wait for the watch to list again",
			 c->set.conn.server, c->error);
	}
	return E_OK;
}

void kube_cluster_put(kube_cluster_t *c)
{
	if (c == NULL || --c->refs > 0) {
		return;
	}
	for (kube_cluster_t **p = &clusters; *p != NULL; p = &(*p)->next) {
		if (*p == c) {
			*p = c->next;
			break;
		}
	}
	http_client_free(c->http); /* cancels every request, without callbacks */
	for (int r = 0; r < KUBE_NRES; r++) {
		struct kube_watch *w = &c->w[r];
		if (w->timer != NULL) {
			event_free(w->timer);
		}
		buf_free(&w->body);
		free(w->rv);
		free(w->cont);
	}
	if (c->coalesce != NULL) {
		event_free(c->coalesce);
	}
	while (c->zs != NULL) {
		struct zstate *z = c->zs;
		c->zs = z->next;
		free(z);
	}
	kube_model_deinit(&c->model);
	kube_settings_free(&c->set);
	free(c->selector);
	free(c->key);
	free(c);
}

int kube_cluster_watch(kube_cluster_t *c, struct event_base *base)
{
	int ret = E_OK;
	if (c->base != NULL) {
		return c->base == base ? E_OK : -EINVAL;
	}
	ret = http_client_new(&c->http, base);
	if (ret != E_OK) {
		c->http = NULL;
		return ret;
	}
	c->coalesce = evtimer_new(base, on_coalesce, c);
	for (int r = 0; r < KUBE_NRES && c->coalesce != NULL; r++) {
		c->w[r].timer = evtimer_new(base, on_timer, &c->w[r]);
		if (c->w[r].timer == NULL) {
			ret = -ENOMEM;
		}
	}
	if (c->coalesce == NULL || ret != E_OK) {
		for (int r = 0; r < KUBE_NRES; r++) {
			if (c->w[r].timer != NULL) {
				event_free(c->w[r].timer);
				c->w[r].timer = NULL;
			}
		}
		if (c->coalesce != NULL) {
			event_free(c->coalesce);
			c->coalesce = NULL;
		}
		http_client_free(c->http);
		c->http = NULL;
		return -ENOMEM;
	}
	c->base = base;
	for (int r = 0; r < KUBE_NRES; r++) {
		if (c->w[r].enabled) {
			schedule(&c->w[r], c->w[r].listed ? NEXT_WATCH : NEXT_LIST, 0);
		}
	}
	return E_OK;
}

void kube_cluster_subscribe(kube_cluster_t *c, kube_sub_t *s)
{
	kube_sub_t **p = &c->subs;
	while (*p != NULL) {
		p = &(*p)->next;
	}
	s->next = NULL;
	*p = s;
}

void kube_cluster_unsubscribe(kube_cluster_t *c, kube_sub_t *s)
{
	for (kube_sub_t **p = &c->subs; *p != NULL; p = &(*p)->next) {
		if (*p == s) {
			*p = s->next;
			return;
		}
	}
}

const kube_model_t *kube_cluster_model(const kube_cluster_t *c, char *why, size_t whylen)
{
	if (!c->synced) {
		snprintf(why, whylen, "not listed from %s yet%s%s", c->set.conn.server,
			 c->error[0] ? ": " : "", c->error);
		return NULL;
	}
	return &c->model;
}

bool kube_cluster_same(const kube_cluster_t *c, const uint8_t *apex, uint64_t hash)
{
	for (const struct zstate *z = c->zs; z != NULL; z = z->next) {
		if (dname_equal(z->apex, apex)) {
			return z->hash == hash;
		}
	}
	return false;
}

uint32_t kube_cluster_serial(kube_cluster_t *c, const uint8_t *apex, uint64_t hash)
{
	uint32_t now = (uint32_t)time(NULL);
	struct zstate *z;
	for (z = c->zs; z != NULL; z = z->next) {
		if (dname_equal(z->apex, apex)) {
			break;
		}
	}
	if (z == NULL) {
		z = calloc(1, sizeof(*z));
		if (z == NULL) {
			return now;
		}
		dname_copy_lower(z->apex, apex);
		z->hash = hash;
		z->serial = now;
		z->next = c->zs;
		c->zs = z;
		return z->serial;
	}
	if (z->hash != hash) {
		z->hash = hash;
		z->serial = (int32_t)(now - (z->serial + 1)) > 0 ? now : z->serial + 1;
	}
	return z->serial;
}
