/*  The kubernetes source's model: Services, EndpointSlices, Namespaces and Pods, each kept
 *  as a small packed blob of what DNS needs (parsed once, when the object arrives), in hash
 *  tables keyed "namespace/name". A Service and the EndpointSlices labelled with its name
 *  meet in a group, whichever arrives first.
 *
 *  Blobs (all integers big-endian, names as bytes without a terminator):
 *    Service        u8 kind, u8 flags, u8 nips {u8 family, 4|16 octets},
 *                   u8 extlen {wire name}, u8 nports {u8 proto, u16 port, u8 len, name}
 *    EndpointSlice  u8 svclen {service name}, u8 family, u8 nports {as above},
 *                   u16 nendpoints {u8 ready, u8 naddrs {4|16 octets}, u8 len {hostname},
 *                   u8 len {pod name}}
 *    Pod            u8 nips {u8 family, 4|16 octets}
 *    Namespace      (empty)
 *  Two versions of an object are the same for DNS exactly when their blobs are equal.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapters/kubernetes/internal.h"
#include "dns/err.h"
#include "dns/name.h"

enum { SVC_CLUSTERIP, SVC_HEADLESS, SVC_EXTERNAL, SVC_NONE };
enum { SVC_F_NOTREADY = 1 };
enum { PROTO_TCP, PROTO_UDP, PROTO_SCTP };

#define MAX_ITEMS     255 /* ports, addresses per endpoint, IPs */
#define MAX_ENDPOINTS 65535

/* ---- hash tables ---- */

static uint32_t key_hash(const char *k, size_t len)
{
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < len; i++) {
		h = (h ^ (uint8_t)k[i]) * 16777619u;
	}
	return h;
}

static kube_ent_t *table_find(const kube_table_t *t, const char *key, size_t len, uint32_t h)
{
	if (t->nbuckets == 0) {
		return NULL;
	}
	for (kube_ent_t *e = t->buckets[h & (t->nbuckets - 1)]; e != NULL; e = e->hnext) {
		if (e->hash == h && e->keylen == len && memcmp(e->key, key, len) == 0) {
			return e;
		}
	}
	return NULL;
}

static int table_insert(kube_table_t *t, kube_ent_t *e)
{
	if (t->count + 1 > t->nbuckets) {
		uint32_t nb = t->nbuckets ? t->nbuckets * 2 : 64;
		kube_ent_t **b = calloc(nb, sizeof(*b));
		if (b == NULL) {
			return -ENOMEM;
		}
		for (uint32_t i = 0; i < t->nbuckets; i++) {
			for (kube_ent_t *x = t->buckets[i], *next; x != NULL; x = next) {
				next = x->hnext;
				x->hnext = b[x->hash & (nb - 1)];
				b[x->hash & (nb - 1)] = x;
			}
		}
		free(t->buckets);
		t->buckets = b;
		t->nbuckets = nb;
	}
	kube_ent_t **head = &t->buckets[e->hash & (t->nbuckets - 1)];
	e->hnext = *head;
	*head = e;
	t->count++;
	return E_OK;
}

static void table_remove(kube_table_t *t, kube_ent_t *e)
{
	for (kube_ent_t **p = &t->buckets[e->hash & (t->nbuckets - 1)]; *p != NULL;
	     p = &(*p)->hnext) {
		if (*p == e) {
			*p = e->hnext;
			t->count--;
			return;
		}
	}
}

/* ---- packing ---- */

struct wbuf {
	uint8_t *p;
	size_t len, cap;
	bool oom;
};

static void put(struct wbuf *w, const void *data, size_t len)
{
	if (w->oom) {
		return;
	}
	if (w->len + len > w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 256;
		while (cap < w->len + len) {
			cap *= 2;
		}
		uint8_t *p = realloc(w->p, cap);
		if (p == NULL) {
			w->oom = true;
			return;
		}
		w->p = p;
		w->cap = cap;
	}
	memcpy(w->p + w->len, data, len);
	w->len += len;
}

static void put8(struct wbuf *w, unsigned v)
{
	uint8_t b = (uint8_t)v;
	put(w, &b, 1);
}

static void put16(struct wbuf *w, unsigned v)
{
	uint8_t b[2] = { (uint8_t)(v >> 8), (uint8_t)v };
	put(w, b, 2);
}

/* A DNS label made of a Kubernetes name: 1..63 lower-case letters, digits and '-', as the
 * API server validates them (RFC 1123). An upper-case letter would make a second object
 * with the same DNS name ("Default" and "default"), so such an object is not served. */
static bool label_ok(const char *s, size_t len)
{
	if (s == NULL || len == 0 || len > DNAME_LABEL_MAX) {
		return false;
	}
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) {
			return false;
		}
	}
	return true;
}

static void put_label(struct wbuf *w, const char *s, size_t len)
{
	uint8_t buf[DNAME_LABEL_MAX];
	if (!label_ok(s, len)) {
		put8(w, 0);
		return;
	}
	for (size_t i = 0; i < len; i++) {
		buf[i] = dname_lower_octet((uint8_t)s[i]);
	}
	put8(w, (unsigned)len);
	put(w, buf, len);
}

static const char *jstr(const json_t *j, const char *key, size_t *len)
{
	return json_str(json_get(j, key), len);
}

static bool jtrue(const json_t *j)
{
	bool b = false;
	return j != NULL && json_bool(j, &b) && b;
}

/* One address of \a family (4, 6, or 0 for either); returns its family, 0 when invalid. */
static int parse_ip(const char *s, int family, uint8_t out[16])
{
	if (s == NULL) {
		return 0;
	}
	if (family != 6 && inet_pton(AF_INET, s, out) == 1) {
		return 4;
	}
	if (family != 4 && inet_pton(AF_INET6, s, out) == 1) {
		return 6;
	}
	return 0;
}

static void put_ports(struct wbuf *w, const json_t *ports)
{
	size_t n = json_count(ports), pos = w->len, count = 0;
	put8(w, 0);
	for (size_t i = 0; i < n && count < MAX_ITEMS; i++) {
		const json_t *p = json_at(ports, i);
		size_t nlen = 0;
		const char *name = jstr(p, "name", &nlen);
		const char *proto = jstr(p, "protocol", NULL);
		int64_t port = 0;
		int pr = PROTO_TCP;
		if (!label_ok(name, nlen) || !json_int(json_get(p, "port"), &port) || port < 0 ||
		    port > 65535) {
			continue; /* unnamed ports have no SRV record */
		}
		if (proto != NULL && strcmp(proto, "UDP") == 0) {
			pr = PROTO_UDP;
		} else if (proto != NULL && strcmp(proto, "SCTP") == 0) {
			pr = PROTO_SCTP;
		} else if (proto != NULL && strcmp(proto, "TCP") != 0) {
			continue;
		}
		put8(w, (unsigned)pr);
		put16(w, (unsigned)port);
		put_label(w, name, nlen);
		count++;
	}
	if (!w->oom) {
		w->p[pos] = (uint8_t)count;
	}
}

/* Returns true when the object has something for DNS. */
static bool pack_service(const json_t *o, struct wbuf *w)
{
	const json_t *spec = json_get(o, "spec");
	const json_t *ips = json_get(spec, "clusterIPs");
	const char *type = jstr(spec, "type", NULL);
	const char *tolerate = jstr(json_get(json_get(o, "metadata"), "annotations"),
				    "service.alpha.kubernetes.io/tolerate-unready-endpoints", NULL);
	uint8_t addr[MAX_ITEMS][17];
	size_t naddr = 0;
	int kind = SVC_NONE;
	uint8_t ext[DNAME_MAX];
	int extlen = 0;

	if (type != NULL && strcmp(type, "ExternalName") == 0) {
		const char *e = jstr(spec, "externalName", NULL);
		char buf[DNAME_STR_MAX + 2];
		if (e != NULL && e[0] != '\0' && strlen(e) < DNAME_STR_MAX) {
			size_t l = strlen(e);
			snprintf(buf, sizeof(buf), "%s%s", e, e[l - 1] == '.' ? "" : ".");
			extlen = dname_from_str(ext, buf, NULL);
		}
		kind = extlen > 1 ? SVC_EXTERNAL : SVC_NONE;
	} else {
		size_t n = json_count(ips);
		const char *first =
			n > 0 ? json_str(json_at(ips, 0), NULL) : jstr(spec, "clusterIP", NULL);
		if (first != NULL && strcmp(first, "None") == 0) {
			kind = SVC_HEADLESS;
		} else {
			for (size_t i = 0; i < (n > 0 ? n : 1) && naddr < 2; i++) {
				const char *s = n > 0 ? json_str(json_at(ips, i), NULL) : first;
				int fam = parse_ip(s, 0, addr[naddr] + 1);
				if (fam != 0) {
					addr[naddr++][0] = (uint8_t)fam;
				}
			}
			kind = naddr > 0 ? SVC_CLUSTERIP : SVC_NONE;
		}
	}
	if (kind == SVC_NONE) {
		return false;
	}
	put8(w, (unsigned)kind);
	put8(w, (jtrue(json_get(spec, "publishNotReadyAddresses")) ||
		 (tolerate != NULL && strcmp(tolerate, "true") == 0))
			? SVC_F_NOTREADY
			: 0);
	put8(w, (unsigned)naddr);
	for (size_t i = 0; i < naddr; i++) {
		put(w, addr[i], addr[i][0] == 4 ? 5 : 17);
	}
	put8(w, (unsigned)(extlen > 0 ? extlen : 0));
	put(w, ext, extlen > 0 ? (size_t)extlen : 0);
	put_ports(w, json_get(spec, "ports"));
	return true;
}

static bool pack_slice(const json_t *o, struct wbuf *w)
{
	const json_t *labels = json_get(json_get(o, "metadata"), "labels");
	size_t svclen = 0;
	const char *svc = jstr(labels, "kubernetes.io/service-name", &svclen);
	const char *at = jstr(o, "addressType", NULL);
	const json_t *eps = json_get(o, "endpoints");
	int family = 0;

	if (at != NULL && strcmp(at, "IPv4") == 0) {
		family = 4;
	} else if (at != NULL && strcmp(at, "IPv6") == 0) {
		family = 6;
	}
	if (family == 0 || !label_ok(svc, svclen)) {
		return false; /* FQDN slices, and slices of no service */
	}
	put_label(w, svc, svclen);
	put8(w, (unsigned)family);
	put_ports(w, json_get(o, "ports"));
	size_t n = json_count(eps), pos = w->len, count = 0;
	put16(w, 0);
	for (size_t i = 0; i < n && count < MAX_ENDPOINTS; i++) {
		const json_t *ep = json_at(eps, i);
		const json_t *addrs = json_get(ep, "addresses");
		const json_t *ready = json_get(json_get(ep, "conditions"), "ready");
		const json_t *ref = json_get(ep, "targetRef");
		const char *kind = jstr(ref, "kind", NULL);
		size_t hlen = 0, plen = 0;
		const char *host = jstr(ep, "hostname", &hlen);
		const char *pod =
			kind != NULL && strcmp(kind, "Pod") == 0 ? jstr(ref, "name", &plen) : NULL;
		uint8_t a[MAX_ITEMS][16];
		size_t na = 0, m = json_count(addrs);
		for (size_t k = 0; k < m && na < MAX_ITEMS; k++) {
			if (parse_ip(json_str(json_at(addrs, k), NULL), family, a[na]) != 0) {
				na++;
			}
		}
		if (na == 0) {
			continue;
		}
		/* A nil "ready" is an unknown state, which consumers take as ready. */
		put8(w, ready == NULL || json_type(ready) == JSON_NULL || jtrue(ready) ? 1 : 0);
		put8(w, (unsigned)na);
		for (size_t k = 0; k < na; k++) {
			put(w, a[k], family == 4 ? 4 : 16);
		}
		put_label(w, host, hlen);
		put_label(w, pod, plen);
		count++;
	}
	if (!w->oom) {
		w->p[pos] = (uint8_t)(count >> 8);
		w->p[pos + 1] = (uint8_t)count;
	}
	return true;
}

static bool pack_pod(const json_t *o, struct wbuf *w)
{
	const json_t *st = json_get(o, "status");
	const json_t *del = json_get(json_get(o, "metadata"), "deletionTimestamp");
	const char *phase = jstr(st, "phase", NULL);
	const json_t *ips = json_get(st, "podIPs");
	uint8_t addr[2][17];
	size_t naddr = 0, n = json_count(ips);

	if ((del != NULL && json_type(del) != JSON_NULL) ||
	    (phase != NULL && (strcmp(phase, "Succeeded") == 0 || strcmp(phase, "Failed") == 0))) {
		return false; /* terminating or finished: CoreDNS's "verified" skips them too */
	}
	for (size_t i = 0; i < (n > 0 ? n : 1) && naddr < 2; i++) {
		const char *s = n > 0 ? jstr(json_at(ips, i), "ip", NULL) : jstr(st, "podIP", NULL);
		int fam = parse_ip(s, 0, addr[naddr] + 1);
		if (fam != 0) {
			addr[naddr++][0] = (uint8_t)fam;
		}
	}
	if (naddr == 0) {
		return false;
	}
	put8(w, (unsigned)naddr);
	for (size_t i = 0; i < naddr; i++) {
		put(w, addr[i], addr[i][0] == 4 ? 5 : 17);
	}
	return true;
}

/* ---- the model ---- */

void kube_model_init(kube_model_t *m)
{
	memset(m, 0, sizeof(*m));
}

static void group_free_if_empty(kube_model_t *m, kube_group_t *g)
{
	if (g != NULL && g->svc == NULL && g->slices == NULL) {
		table_remove(&m->groups, &g->ent);
		free(g);
	}
}

static kube_group_t *group_get(kube_model_t *m, const char *ns, size_t nslen, const uint8_t *svc,
			       size_t svclen)
{
	char key[DNAME_LABEL_MAX * 2 + 2];
	if (nslen > DNAME_LABEL_MAX || svclen > DNAME_LABEL_MAX) {
		return NULL;
	}
	memcpy(key, ns, nslen);
	key[nslen] = '/';
	memcpy(key + nslen + 1, svc, svclen);
	size_t len = nslen + 1 + svclen;
	uint32_t h = key_hash(key, len);
	kube_group_t *g = (kube_group_t *)table_find(&m->groups, key, len, h);
	if (g != NULL) {
		return g;
	}
	g = calloc(1, sizeof(*g) + len + 1);
	if (g == NULL) {
		return NULL;
	}
	char *k = (char *)(g + 1);
	memcpy(k, key, len);
	g->ent.key = k;
	g->ent.keylen = (uint16_t)len;
	g->ent.hash = h;
	if (table_insert(&m->groups, &g->ent) != E_OK) {
		free(g);
		return NULL;
	}
	return g;
}

static void obj_unlink(kube_model_t *m, kube_obj_t *o)
{
	kube_group_t *g = o->group;
	table_remove(&m->objs[o->res], &o->ent);
	if (g == NULL) {
		return;
	}
	if (g->svc == o) {
		g->svc = NULL;
	}
	for (kube_obj_t **p = &g->slices; *p != NULL; p = &(*p)->gnext) {
		if (*p == o) {
			*p = o->gnext;
			break;
		}
	}
	o->group = NULL;
	group_free_if_empty(m, g);
}

static int obj_link(kube_model_t *m, kube_obj_t *o)
{
	int ret = table_insert(&m->objs[o->res], &o->ent);
	if (ret != E_OK || (o->res != KUBE_SERVICES && o->res != KUBE_SLICES)) {
		return ret;
	}
	const uint8_t *svc = (const uint8_t *)o->ent.key + o->nslen + 1;
	size_t svclen = o->ent.keylen - o->nslen - 1;
	if (o->res == KUBE_SLICES) {
		svc = o->blob + 1;
		svclen = o->blob[0];
	}
	kube_group_t *g = group_get(m, o->ent.key, o->nslen, svc, svclen);
	if (g == NULL) {
		table_remove(&m->objs[o->res], &o->ent);
		return -ENOMEM;
	}
	o->group = g;
	if (o->res == KUBE_SERVICES) {
		g->svc = o;
	} else {
		o->gnext = g->slices;
		g->slices = o;
	}
	return E_OK;
}

/* The key of \a obj: "namespace/name", or "name" for namespaces. */
static int obj_key(enum kube_res r, const json_t *obj, char *key, size_t *len, size_t *nslen)
{
	const json_t *meta = json_get(obj, "metadata");
	size_t nl = 0, sl = 0;
	const char *name = jstr(meta, "name", &nl);
	const char *ns = jstr(meta, "namespace", &sl);
	if (name == NULL || nl == 0 || nl > 253) {
		return E_MALFORMED;
	}
	if (r == KUBE_NAMESPACES) {
		memcpy(key, name, nl);
		*len = nl;
		*nslen = 0;
		return E_OK;
	}
	if (ns == NULL || sl == 0 || sl > DNAME_LABEL_MAX || memchr(ns, '/', sl) != NULL) {
		return E_MALFORMED;
	}
	memcpy(key, ns, sl);
	key[sl] = '/';
	memcpy(key + sl + 1, name, nl);
	*len = sl + 1 + nl;
	*nslen = sl;
	return E_OK;
}

static bool ns_served(const kube_model_t *m, const char *ns, size_t len)
{
	if (m->namespaces == NULL) {
		return true;
	}
	for (int i = 0; i < m->nnamespaces; i++) {
		if (strlen(m->namespaces[i]) == len && memcmp(m->namespaces[i], ns, len) == 0) {
			return true;
		}
	}
	return false;
}

static int del_key(kube_model_t *m, enum kube_res r, const char *key, size_t len, bool *changed)
{
	kube_obj_t *o = (kube_obj_t *)table_find(&m->objs[r], key, len, key_hash(key, len));
	if (o != NULL) {
		obj_unlink(m, o);
		free(o);
		if (changed != NULL) {
			*changed = true;
		}
	}
	return E_OK;
}

int kube_model_put(kube_model_t *m, enum kube_res r, const json_t *obj, bool *changed)
{
	char key[DNAME_LABEL_MAX + 256];
	size_t len = 0, nslen = 0;
	struct wbuf w = { 0 };
	bool keep = false;
	int ret = obj_key(r, obj, key, &len, &nslen);
	if (ret != E_OK || json_type(obj) != JSON_OBJECT) {
		return E_MALFORMED;
	}
	if (r != KUBE_NAMESPACES && !ns_served(m, key, nslen)) {
		return del_key(m, r, key, len, changed);
	}
	switch (r) {
	case KUBE_SERVICES:
		keep = pack_service(obj, &w);
		break;
	case KUBE_SLICES:
		keep = pack_slice(obj, &w);
		break;
	case KUBE_PODS:
		keep = pack_pod(obj, &w);
		break;
	default:
		keep = true;
		break;
	}
	if (w.oom) {
		ret = -ENOMEM;
		goto out;
	}
	if (!keep) {
		ret = del_key(m, r, key, len, changed);
		goto out;
	}
	uint32_t h = key_hash(key, len);
	kube_obj_t *old = (kube_obj_t *)table_find(&m->objs[r], key, len, h);
	if (old != NULL && old->bloblen == w.len &&
	    (w.len == 0 || memcmp(old->blob, w.p, w.len) == 0)) {
		old->mark = m->mark[r];
		goto out;
	}
	kube_obj_t *o = malloc(sizeof(*o) + len + 1 + w.len);
	if (o == NULL) {
		ret = -ENOMEM;
		goto out;
	}
	char *k = (char *)(o + 1);
	memcpy(k, key, len);
	k[len] = '\0';
	memset(o, 0, sizeof(*o));
	o->ent.key = k;
	o->ent.keylen = (uint16_t)len;
	o->ent.hash = h;
	o->res = (uint8_t)r;
	o->mark = m->mark[r];
	o->nslen = (uint16_t)nslen;
	o->bloblen = (uint32_t)w.len;
	o->blob = (uint8_t *)k + len + 1;
	if (w.len > 0) {
		memcpy((uint8_t *)k + len + 1, w.p, w.len);
	}
	if (old != NULL) {
		obj_unlink(m, old);
		free(old);
	}
	ret = obj_link(m, o);
	if (ret != E_OK) {
		free(o);
	}
	if (changed != NULL) {
		*changed = true;
	}
out:
	free(w.p);
	return ret;
}

int kube_model_del(kube_model_t *m, enum kube_res r, const json_t *obj, bool *changed)
{
	char key[DNAME_LABEL_MAX + 256];
	size_t len = 0, nslen = 0;
	if (obj_key(r, obj, key, &len, &nslen) != E_OK) {
		return E_MALFORMED;
	}
	return del_key(m, r, key, len, changed);
}

void kube_model_list_begin(kube_model_t *m, enum kube_res r)
{
	m->mark[r]++;
}

bool kube_model_list_end(kube_model_t *m, enum kube_res r)
{
	kube_table_t *t = &m->objs[r];
	bool changed = false;
	for (uint32_t i = 0; i < t->nbuckets; i++) {
		for (kube_ent_t *e = t->buckets[i], *next; e != NULL; e = next) {
			kube_obj_t *o = (kube_obj_t *)e;
			next = e->hnext;
			if (o->mark != m->mark[r]) {
				obj_unlink(m, o);
				free(o);
				changed = true;
			}
		}
	}
	return changed;
}

uint32_t kube_model_count(const kube_model_t *m, enum kube_res r)
{
	return m->objs[r].count;
}

void kube_model_deinit(kube_model_t *m)
{
	for (int r = 0; r < KUBE_NRES; r++) {
		kube_table_t *t = &m->objs[r];
		for (uint32_t i = 0; i < t->nbuckets; i++) {
			for (kube_ent_t *e = t->buckets[i], *next; e != NULL; e = next) {
				next = e->hnext;
				free(e);
			}
		}
		free(t->buckets);
	}
	for (uint32_t i = 0; i < m->groups.nbuckets; i++) {
		for (kube_ent_t *e = m->groups.buckets[i], *next; e != NULL; e = next) {
			next = e->hnext;
			free(e);
		}
	}
	free(m->groups.buckets);
	memset(m, 0, sizeof(*m));
}

/* ---- records ---- */

struct rd {
	const uint8_t *p, *end;
};

static unsigned get8(struct rd *r)
{
	return r->p < r->end ? *r->p++ : 0;
}

static unsigned get16(struct rd *r)
{
	unsigned hi = get8(r);
	return (hi << 8) | get8(r);
}

static const uint8_t *getn(struct rd *r, size_t n)
{
	const uint8_t *p = r->p;
	if ((size_t)(r->end - r->p) < n) {
		r->p = r->end;
		return NULL;
	}
	r->p += n;
	return p;
}

/* A label: its length, \a s pointing at it (0 when absent). */
static size_t getlabel(struct rd *r, const uint8_t **s)
{
	size_t n = get8(r);
	*s = getn(r, n);
	return *s != NULL ? n : 0;
}

struct port {
	unsigned proto, port;
	const uint8_t *name;
	size_t namelen;
};

static size_t getports(struct rd *r, struct port *ports)
{
	size_t n = get8(r);
	for (size_t i = 0; i < n; i++) {
		ports[i].proto = get8(r);
		ports[i].port = get16(r);
		ports[i].namelen = getlabel(r, &ports[i].name);
	}
	return n;
}

/* The name made of \a n labels, then \a suffix; returns its length or a negative error. */
static int name_join(uint8_t *out, const uint8_t *const *labels, const size_t *lens, int n,
		     const uint8_t *suffix)
{
	size_t pos = 0, slen = dname_len(suffix);
	for (int i = 0; i < n; i++) {
		if (lens[i] == 0 || lens[i] > DNAME_LABEL_MAX ||
		    pos + 1 + lens[i] + slen > DNAME_MAX) {
			return E_NAME_LONG;
		}
		out[pos++] = (uint8_t)lens[i];
		for (size_t k = 0; k < lens[i]; k++) {
			out[pos++] = dname_lower_octet(labels[i][k]);
		}
	}
	memcpy(out + pos, suffix, slen);
	return (int)(pos + slen);
}

static uint64_t fnv64(uint64_t h, const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		h = (h ^ p[i]) * 1099511628211ull;
	}
	return h;
}

static int add(kube_emit_t *e, zone_builder_t *b, const uint8_t *owner, uint16_t type,
	       const uint8_t *rdata, size_t rdlen)
{
	if (!dname_is_sub(owner, e->apex) || rdlen > 65535) {
		return E_OK;
	}
	uint8_t t[2] = { (uint8_t)(type >> 8), (uint8_t)type };
	uint64_t h = fnv64(14695981039346656037ull, owner, dname_len(owner));
	h = fnv64(h, t, 2);
	h = fnv64(h, rdata, rdlen);
	/* A sum, so the order in which tables are walked does not matter. */
	e->hash += h * 0x9e3779b97f4a7c15ull + (h >> 29);
	e->records++;
	return b != NULL ? zone_builder_add(b, owner, type, e->ttl, rdata, (uint16_t)rdlen, NULL)
			 : E_OK;
}

static int add_addr(kube_emit_t *e, zone_builder_t *b, const uint8_t *owner, int family,
		    const uint8_t *ip)
{
	return add(e, b, owner, family == 4 ? 1 : 28, ip, family == 4 ? 4 : 16);
}

static int add_name(kube_emit_t *e, zone_builder_t *b, const uint8_t *owner, uint16_t type,
		    const uint8_t *target)
{
	return add(e, b, owner, type, target, dname_len(target));
}

/* The reverse name of \a ip: d.c.b.a.in-addr.arpa. or the 32 nibbles under ip6.arpa. */
static void reverse_name(uint8_t *out, int family, const uint8_t *ip)
{
	size_t pos = 0;
	static const char hex[] = "0123456789abcdef";
	if (family == 4) {
		for (int i = 3; i >= 0; i--) {
			char s[4];
			int n = snprintf(s, sizeof(s), "%u", ip[i]);
			out[pos++] = (uint8_t)n;
			memcpy(out + pos, s, (size_t)n);
			pos += (size_t)n;
		}
		memcpy(out + pos,
		       "\x07in-addr\x04"
		       "arpa",
		       14);
		return;
	}
	for (int i = 15; i >= 0; i--) {
		out[pos++] = 1;
		out[pos++] = (uint8_t)hex[ip[i] & 15];
		out[pos++] = 1;
		out[pos++] = (uint8_t)hex[ip[i] >> 4];
	}
	memcpy(out + pos,
	       "\x03ip6\x04"
	       "arpa",
	       10);
}

/* "10-3-0-1", or for IPv6 the text form with ':' as '-' (CoreDNS's system-assigned names). */
static size_t dashed(char *out, int family, const uint8_t *ip)
{
	char s[INET6_ADDRSTRLEN];
	inet_ntop(family == 4 ? AF_INET : AF_INET6, ip, s, sizeof(s));
	size_t n = strlen(s);
	for (size_t i = 0; i < n; i++) {
		out[i] = s[i] == '.' || s[i] == ':' ? '-' : s[i];
	}
	out[n] = '\0';
	return n;
}

static bool exposed(const kube_model_t *m, const kube_obj_t *o)
{
	return !m->ns_known || table_find(&m->objs[KUBE_NAMESPACES], o->ent.key, o->nslen,
					  key_hash(o->ent.key, o->nslen)) != NULL;
}

/* <service>.<ns>.svc.<zone> */
static int service_name(const kube_emit_t *e, const kube_obj_t *svc, uint8_t *out)
{
	const uint8_t *labels[3] = { (const uint8_t *)svc->ent.key + svc->nslen + 1,
				     (const uint8_t *)svc->ent.key, (const uint8_t *)"svc" };
	size_t lens[3] = { (size_t)svc->ent.keylen - svc->nslen - 1, svc->nslen, 3 };
	if (!label_ok(svc->ent.key + svc->nslen + 1, lens[0]) || !label_ok(svc->ent.key, lens[1])) {
		return E_NAME_LABEL;
	}
	return name_join(out, labels, lens, 3, e->cluster);
}

static int add_srv(kube_emit_t *e, zone_builder_t *b, const uint8_t *base, const struct port *p,
		   const uint8_t *target)
{
	static const char *const protos[] = { "_tcp", "_udp", "_sctp" };
	uint8_t owner[DNAME_MAX], rdata[6 + DNAME_MAX];
	char pl[DNAME_LABEL_MAX + 1];
	if (p->namelen == 0 || p->proto > PROTO_SCTP) {
		return E_OK;
	}
	pl[0] = '_';
	memcpy(pl + 1, p->name, p->namelen);
	const uint8_t *labels[2] = { (const uint8_t *)pl, (const uint8_t *)protos[p->proto] };
	size_t lens[2] = { p->namelen + 1, strlen(protos[p->proto]) };
	if (p->namelen + 1 > DNAME_LABEL_MAX || name_join(owner, labels, lens, 2, base) < 0) {
		return E_OK;
	}
	/* Priority and weight are not prescribed; these are the specification's examples'. */
	rdata[0] = 0;
	rdata[1] = 10;
	rdata[2] = 0;
	rdata[3] = 100;
	rdata[4] = (uint8_t)(p->port >> 8);
	rdata[5] = (uint8_t)p->port;
	size_t tl = dname_len(target);
	memcpy(rdata + 6, target, tl);
	return add(e, b, owner, 33, rdata, 6 + tl);
}

static int emit_clusterip(kube_emit_t *e, zone_builder_t *b, const uint8_t *base, struct rd *r,
			  const uint8_t (*ips)[17], size_t nips)
{
	struct port ports[MAX_ITEMS];
	int ret = E_OK;
	for (size_t i = 0; i < nips && ret == E_OK; i++) {
		uint8_t rev[DNAME_MAX];
		if (e->reverse) {
			reverse_name(rev, ips[i][0], ips[i] + 1);
			ret = add_name(e, b, rev, 12, base);
		} else {
			ret = add_addr(e, b, base, ips[i][0], ips[i] + 1);
		}
	}
	size_t np = getports(r, ports);
	for (size_t i = 0; i < np && ret == E_OK && !e->reverse; i++) {
		ret = add_srv(e, b, base, &ports[i], base);
	}
	return ret;
}

/* The records of one EndpointSlice of a headless service. */
static int emit_slice(const kube_model_t *m, kube_emit_t *e, zone_builder_t *b, const uint8_t *base,
		      const kube_obj_t *sl, bool notready)
{
	struct rd r = { sl->blob, sl->blob + sl->bloblen };
	struct port ports[MAX_ITEMS];
	const uint8_t *s;
	int ret = E_OK;
	(void)m;
	getlabel(&r, &s); /* the service */
	int family = (int)get8(&r);
	size_t alen = family == 4 ? 4 : 16;
	size_t np = getports(&r, ports);
	unsigned nep = get16(&r);
	for (unsigned i = 0; i < nep && ret == E_OK; i++) {
		bool ready = get8(&r) != 0 || notready;
		size_t na = get8(&r);
		const uint8_t *addrs = getn(&r, na * alen);
		const uint8_t *host, *pod;
		size_t hl = getlabel(&r, &host), pl = getlabel(&r, &pod);
		if (addrs == NULL) {
			return E_MALFORMED;
		}
		if (!ready) {
			continue;
		}
		for (size_t k = 0; k < na && ret == E_OK; k++) {
			const uint8_t *ip = addrs + k * alen;
			char d[INET6_ADDRSTRLEN];
			uint8_t hname[DNAME_MAX], rev[DNAME_MAX];
			const uint8_t *label = host;
			size_t ll = hl;
			if (ll == 0 && e->endpoint_pod_names && pl > 0) {
				label = pod;
				ll = pl;
			}
			if (ll == 0) {
				ll = dashed(d, family, ip);
				label = (const uint8_t *)d;
			}
			ret = add_addr(e, b, base, family, ip);
			if (ret != E_OK || name_join(hname, &label, &ll, 1, base) < 0) {
				continue;
			}
			if (e->reverse) {
				reverse_name(rev, family, ip);
				ret = add_name(e, b, rev, 12, hname);
				continue;
			}
			ret = add_addr(e, b, hname, family, ip);
			for (size_t p = 0; p < np && ret == E_OK; p++) {
				ret = add_srv(e, b, base, &ports[p], hname);
			}
		}
	}
	return ret;
}

static int emit_service(const kube_model_t *m, kube_emit_t *e, zone_builder_t *b,
			const kube_group_t *g)
{
	const kube_obj_t *svc = g->svc;
	struct rd r = { svc->blob, svc->blob + svc->bloblen };
	uint8_t base[DNAME_MAX];
	uint8_t ips[2][17];
	int ret = E_OK;

	if (service_name(e, svc, base) < 0) {
		return E_OK;
	}
	unsigned kind = get8(&r), flags = get8(&r);
	size_t nips = get8(&r);
	for (size_t i = 0; i < nips && i < 2; i++) {
		ips[i][0] = (uint8_t)get8(&r);
		const uint8_t *a = getn(&r, ips[i][0] == 4 ? 4 : 16);
		if (a == NULL) {
			return E_MALFORMED;
		}
		memcpy(ips[i] + 1, a, ips[i][0] == 4 ? 4 : 16);
	}
	size_t extlen = get8(&r);
	const uint8_t *ext = getn(&r, extlen);
	switch (kind) {
	case SVC_CLUSTERIP:
		ret = emit_clusterip(e, b, base, &r, (const uint8_t(*)[17])ips,
				     nips < 2 ? nips : 2);
		break;
	case SVC_HEADLESS:
		/* Ready endpoints only; with none there is no name at all (NXDOMAIN, §2.4.1). */
		for (const kube_obj_t *sl = g->slices; sl != NULL && ret == E_OK; sl = sl->gnext) {
			ret = emit_slice(m, e, b, base, sl, (flags & SVC_F_NOTREADY) != 0);
		}
		break;
	case SVC_EXTERNAL:
		if (!e->reverse && ext != NULL && extlen > 0 && dname_check(ext, extlen) > 0) {
			ret = add_name(e, b, base, 5, ext);
		}
		break;
	default:
		break;
	}
	return ret;
}

/* <a>-<b>-<c>-<d>.<ns>.pod.<zone> */
static int add_pod(kube_emit_t *e, zone_builder_t *b, const char *ns, size_t nslen, int family,
		   const uint8_t *ip)
{
	char d[INET6_ADDRSTRLEN];
	uint8_t owner[DNAME_MAX];
	const uint8_t *labels[3] = { (const uint8_t *)d, (const uint8_t *)ns,
				     (const uint8_t *)"pod" };
	size_t lens[3] = { dashed(d, family, ip), nslen, 3 };
	if (!label_ok(ns, nslen) || name_join(owner, labels, lens, 3, e->cluster) < 0) {
		return E_OK;
	}
	return add_addr(e, b, owner, family, ip);
}

static int emit_pods(const kube_model_t *m, kube_emit_t *e, zone_builder_t *b)
{
	int ret = E_OK;
	if (e->pods == KUBE_PODS_VERIFIED) {
		const kube_table_t *t = &m->objs[KUBE_PODS];
		for (uint32_t i = 0; i < t->nbuckets; i++) {
			for (const kube_ent_t *x = t->buckets[i]; x != NULL && ret == E_OK;
			     x = x->hnext) {
				const kube_obj_t *o = (const kube_obj_t *)x;
				struct rd r = { o->blob, o->blob + o->bloblen };
				size_t n = get8(&r);
				if (!exposed(m, o)) {
					continue;
				}
				for (size_t k = 0; k < n && ret == E_OK; k++) {
					int fam = (int)get8(&r);
					const uint8_t *ip = getn(&r, fam == 4 ? 4 : 16);
					if (ip != NULL) {
						ret = add_pod(e, b, o->ent.key, o->nslen, fam, ip);
					}
				}
			}
		}
	} else if (e->pods == KUBE_PODS_INSECURE) {
		/* Every address an EndpointSlice names, ready or not, in the slice's namespace. */
		const kube_table_t *t = &m->objs[KUBE_SLICES];
		for (uint32_t i = 0; i < t->nbuckets; i++) {
			for (const kube_ent_t *x = t->buckets[i]; x != NULL && ret == E_OK;
			     x = x->hnext) {
				const kube_obj_t *o = (const kube_obj_t *)x;
				struct rd r = { o->blob, o->blob + o->bloblen };
				struct port ports[MAX_ITEMS];
				const uint8_t *s;
				if (!exposed(m, o)) {
					continue;
				}
				getlabel(&r, &s);
				int fam = (int)get8(&r);
				size_t alen = fam == 4 ? 4 : 16;
				getports(&r, ports);
				unsigned nep = get16(&r);
				for (unsigned k = 0; k < nep && ret == E_OK; k++) {
					get8(&r);
					size_t na = get8(&r);
					const uint8_t *addrs = getn(&r, na * alen);
					getlabel(&r, &s);
					getlabel(&r, &s);
					for (size_t a = 0; addrs != NULL && a < na && ret == E_OK;
					     a++) {
						ret = add_pod(e, b, o->ent.key, o->nslen, fam,
							      addrs + a * alen);
					}
				}
			}
		}
	}
	return ret;
}

/* ns.dns.<apex>: the A/AAAA of kube-system/kube-dns when it is known, else 127.0.0.1. */
static int emit_ns(const kube_model_t *m, kube_emit_t *e, zone_builder_t *b)
{
	static const char kd[] = "kube-system/kube-dns";
	static const uint8_t lo[4] = { 127, 0, 0, 1 };
	uint8_t ns[DNAME_MAX];
	const uint8_t *labels[2] = { (const uint8_t *)"ns", (const uint8_t *)"dns" };
	size_t lens[2] = { 2, 3 };
	int n = 0, ret;
	if (name_join(ns, labels, lens, 2, e->apex) < 0) {
		return E_NAME_LONG;
	}
	ret = add_name(e, b, e->apex, 2, ns);
	const kube_obj_t *o = (const kube_obj_t *)table_find(
		&m->objs[KUBE_SERVICES], kd, sizeof(kd) - 1, key_hash(kd, sizeof(kd) - 1));
	if (o != NULL && ret == E_OK) {
		struct rd r = { o->blob, o->blob + o->bloblen };
		unsigned kind = get8(&r);
		get8(&r);
		size_t nips = get8(&r);
		for (size_t i = 0; kind == SVC_CLUSTERIP && i < nips && ret == E_OK; i++) {
			int fam = (int)get8(&r);
			const uint8_t *ip = getn(&r, fam == 4 ? 4 : 16);
			if (ip != NULL) {
				ret = add_addr(e, b, ns, fam, ip);
				n++;
			}
		}
	}
	return ret == E_OK && n == 0 ? add_addr(e, b, ns, 4, lo) : ret;
}

int kube_emit_records(const kube_model_t *m, kube_emit_t *e, zone_builder_t *b)
{
	int ret;
	e->hash = 0;
	e->records = 0;
	ret = emit_ns(m, e, b);
	if (ret == E_OK && !e->reverse) {
		static const uint8_t txt[] = "\x05"
					     "1.1.0";
		uint8_t owner[DNAME_MAX];
		const uint8_t *label = (const uint8_t *)"dns-version";
		size_t len = 11;
		if (name_join(owner, &label, &len, 1, e->cluster) > 0) {
			ret = add(e, b, owner, 16, txt, 6);
		}
	}
	for (uint32_t i = 0; i < m->groups.nbuckets && ret == E_OK; i++) {
		for (const kube_ent_t *x = m->groups.buckets[i]; x != NULL && ret == E_OK;
		     x = x->hnext) {
			const kube_group_t *g = (const kube_group_t *)x;
			if (g->svc != NULL && exposed(m, g->svc)) {
				ret = emit_service(m, e, b, g);
			}
		}
	}
	if (ret == E_OK && !e->reverse) {
		ret = emit_pods(m, e, b);
	}
	return ret;
}

int kube_emit_soa(const kube_emit_t *e, zone_builder_t *b, uint32_t serial)
{
	uint8_t rdata[2 * DNAME_MAX + 20];
	const uint8_t *labels[2] = { (const uint8_t *)"ns", (const uint8_t *)"dns" };
	size_t lens[2] = { 2, 3 };
	const uint8_t *hm = (const uint8_t *)"hostmaster";
	size_t hl = 10;
	int a = name_join(rdata, labels, lens, 2, e->apex);
	if (a < 0) {
		return a;
	}
	int r = name_join(rdata + a, &hm, &hl, 1, e->apex);
	if (r < 0) {
		return r;
	}
	/* CoreDNS's timers; MINIMUM is the TTL, so negative answers live as long as positive. */
	uint32_t v[5] = { serial, 7200, 1800, 86400, e->ttl };
	size_t pos = (size_t)a + (size_t)r;
	for (int i = 0; i < 5; i++) {
		rdata[pos++] = (uint8_t)(v[i] >> 24);
		rdata[pos++] = (uint8_t)(v[i] >> 16);
		rdata[pos++] = (uint8_t)(v[i] >> 8);
		rdata[pos++] = (uint8_t)v[i];
	}
	return zone_builder_add(b, e->apex, 6, e->ttl, rdata, (uint16_t)pos, e->where);
}
