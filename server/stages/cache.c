/*  The cache stage: CoreDNS's cache plugin.
 *
 *  "cache [TTL] [ZONES...] { success CAPACITY [TTL [MINTTL]]; denial CAPACITY [TTL [MINTTL]];
 *  prefetch AMOUNT [DURATION [PERCENTAGE%]]; serve_stale [DURATION [immediate|verify]];
 *  servfail DURATION; disable success|denial [ZONES...]; keepttl }"
 *
 *  Two tables (success, denial) of fixed slots, each table cut into sets of CACHE_WAYS slots
 *  (the shards). A key is the lower-cased name, type, class, DO and CD (and, for ANY, whether
 *  the transport is a stream: UDP gets the minimal ANY answer). A hit takes no lock: a slot
 *  is read under its sequence count (a writer makes it odd while it writes; a reader copies
 *  the response and checks that the count did not move). A writer claims a slot with a
 *  compare-and-swap on that count and skips the store when another writer holds it.
 *
 *  An entry remembers which zone version it was answered from, as a generation number of
 *  that zone (per cache). The cache pins the newest version it has seen of each zone (one
 *  reference) so that a version it compares against is never freed and its address never
 *  reused; when the published version differs from the pinned one, the generation moves
 *  on and every entry of the older version stops matching. So a new version of a zone
 *  invalidates what the cache holds for it at once, without a lock on the hit path.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <urcu-qsbr.h>

#include "dns/err.h"
#include "dns/rrtype.h"
#include "server/conf.h"
#include "server/metrics.h"
#include "server/query.h"
#include "server/stages/msg.h"
#include "server/stages/stages.h"
#include "server/state.h"

#define CACHE_WAYS        8
#define CACHE_SHARDS      256
#define CACHE_DEFAULT_CAP 9984 /* CoreDNS: 256 shards of 39 */
#define CACHE_MIN_CAP     1024 /* CoreDNS: 256 shards of at least 4 */
#define CACHE_DATA_MAX    DNS_UDP_DEFAULT
#define CACHE_TTLS_MAX    48
#define CACHE_TTLS_WALK   0xFFFF
#define MAX_TTL           3600 /* CoreDNS's dnsutil.MaximumDefaulTTL */
#define MIN_TTL           5
#define MAX_NTTL          1800
#define ZONES_MAX         32

/* Key flags. */
#define KEY_DO     0x01
#define KEY_CD     0x02
#define KEY_STREAM 0x04

enum cache_action { CACHE_NONE = 0, CACHE_STORE, CACHE_HIT };

struct cache_slot {
	uint32_t seq; /* even: stable; odd: a writer owns the slot */
	uint16_t len; /* the response without OPT; 0: empty */
	uint16_t nttl;
	uint64_t hash;
	int64_t stored_ms;
	int64_t last_hit_ms;
	uint32_t ttl; /* seconds the entry lives (CoreDNS's origTTL) */
	uint32_t gen;
	int32_t zidx; /* the zone entry it was answered from, -1: none */
	uint32_t hits;
	uint16_t qtype;
	uint8_t flags;
	uint8_t pad;
	uint16_t ttl_off[CACHE_TTLS_MAX];
	uint8_t data[CACHE_DATA_MAX];
};

struct cache_table {
	struct cache_slot *slots;
	/* Per slot, packed by set so that one set is one or two cache lines: the key hash (0:
	 * empty) and when it expires (seconds of the monotonic clock). A hint for finding the
	 * slot; the slot itself decides. */
	uint64_t *tags;
	uint32_t *expires;
	uint32_t nsets;
	uint32_t cap;
	uint32_t max_ttl, min_ttl;
	int nexcept;
	uint8_t (*except)[DNAME_MAX]; /* "disable": names below these are not cached */
};

/* The newest version the cache has seen of one zone, pinned by a reference. */
struct zone_gen {
	uint32_t seq; /* even: stable; changes around an update */
	zone_t *pinned;
};

struct cache_ctx {
	struct cache_table t[2]; /* success, denial */
	uint32_t fail_ttl;
	uint32_t prefetch;
	uint64_t prefetch_ms;
	uint32_t prefetch_pct;
	uint64_t stale_ms;
	bool verify_stale;
	bool keepttl;
	int nzones;
	uint8_t zones[ZONES_MAX][DNAME_MAX];
	char zones_label[512];
	int series; /* metrics series: -2 until the first query, -1 none */
	/* Zone generations, allocated on the first query (the zone count of the state). */
	pthread_mutex_t lock;
	struct zone_gen *gens;
	int ngens;
};

static uint64_t fnv64(uint64_t h, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= 1099511628211ull;
	}
	return h;
}

static int64_t ms_of(const struct timespec *t)
{
	return (int64_t)t->tv_sec * 1000 + t->tv_nsec / 1000000;
}

static int table_init(struct cache_table *t, uint32_t cap)
{
	cap = cap < CACHE_MIN_CAP ? CACHE_MIN_CAP : cap / CACHE_SHARDS * CACHE_SHARDS;
	t->cap = cap;
	t->nsets = (cap + CACHE_WAYS - 1) / CACHE_WAYS;
	/* Large and zeroed: pages are only touched as slots fill. */
	t->slots = calloc((size_t)t->nsets * CACHE_WAYS, sizeof(struct cache_slot));
	t->tags = aligned_alloc(64, (size_t)t->nsets * CACHE_WAYS * sizeof(uint64_t));
	t->expires = calloc((size_t)t->nsets * CACHE_WAYS, sizeof(uint32_t));
	if (t->slots == NULL || t->tags == NULL || t->expires == NULL) {
		return -ENOMEM;
	}
	memset(t->tags, 0, (size_t)t->nsets * CACHE_WAYS * sizeof(uint64_t));
	return E_OK;
}

static void cache_teardown(void *ctx)
{
	struct cache_ctx *c = ctx;
	if (c == NULL) {
		return;
	}
	for (int i = 0; i < 2; i++) {
		free(c->t[i].slots);
		free(c->t[i].tags);
		free(c->t[i].expires);
		free(c->t[i].except);
	}
	for (int i = 0; i < c->ngens; i++) {
		zone_free(c->gens[i].pinned);
	}
	free(c->gens);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

static int parse_uint(const char *s, uint64_t max, uint64_t *out)
{
	char *end;
	if (s[0] < '0' || s[0] > '9') {
		return E_CFG_SEMANTIC;
	}
	unsigned long long v = strtoull(s, &end, 10);
	if (*end != '\0' || v > max) {
		return E_CFG_SEMANTIC;
	}
	*out = v;
	return E_OK;
}

/* "success|denial CAPACITY [TTL [MINTTL]]" */
static int parse_class(struct cache_table *t, uint32_t *cap, const cfg_directive_t *p, char *err,
		       size_t errlen)
{
	uint64_t v;
	if (p->argc < 1 || p->argc > 3 || parse_uint(p->args[0], UINT32_MAX, &v) != E_OK) {
		snprintf(err, errlen, "%s: needs CAPACITY [TTL [MINTTL]]", p->name);
		return E_CFG_SEMANTIC;
	}
	*cap = (uint32_t)v;
	if (p->argc > 1) {
		if (parse_uint(p->args[1], UINT32_MAX, &v) != E_OK || v == 0) {
			snprintf(err, errlen, "cache TTL can not be zero or negative: %s",
				 p->args[1]);
			return E_CFG_SEMANTIC;
		}
		t->max_ttl = (uint32_t)v;
	}
	if (p->argc > 2) {
		if (parse_uint(p->args[2], UINT32_MAX, &v) != E_OK) {
			snprintf(err, errlen, "cache min TTL can not be negative: %s", p->args[2]);
			return E_CFG_SEMANTIC;
		}
		t->min_ttl = (uint32_t)v;
	}
	return E_OK;
}

static int parse_zones(uint8_t (*zones)[DNAME_MAX], int *n, char *const *args, int argc, char *err,
		       size_t errlen)
{
	for (int i = 0; i < argc; i++) {
		if (*n >= ZONES_MAX || dname_from_str(zones[*n], args[i], NULL) < 0) {
			snprintf(err, errlen, "'%s' is not a zone name (or too many zones)",
				 args[i]);
			return E_CFG_SEMANTIC;
		}
		dname_lower(zones[(*n)++]);
	}
	return E_OK;
}

static int parse_prop(struct cache_ctx *c, uint32_t caps[2], const cfg_directive_t *p, char *err,
		      size_t errlen)
{
	uint64_t v, ms;
	if (strcmp(p->name, "success") == 0) {
		return parse_class(&c->t[0], &caps[0], p, err, errlen);
	}
	if (strcmp(p->name, "denial") == 0) {
		return parse_class(&c->t[1], &caps[1], p, err, errlen);
	}
	if (strcmp(p->name, "prefetch") == 0) {
		if (p->argc < 1 || p->argc > 3 || parse_uint(p->args[0], UINT32_MAX, &v) != E_OK) {
			snprintf(err, errlen, "prefetch: needs AMOUNT [DURATION [PERCENTAGE%%]]");
			return E_CFG_SEMANTIC;
		}
		c->prefetch = (uint32_t)v;
		if (p->argc > 1) {
			if (cfg_parse_duration(p->args[1], &ms) != E_OK) {
				snprintf(err, errlen, "prefetch: bad duration '%s'", p->args[1]);
				return E_CFG_SEMANTIC;
			}
			c->prefetch_ms = ms;
		}
		if (p->argc > 2) {
			char num[16];
			size_t l = strlen(p->args[2]);
			if (l < 2 || l > 4 || p->args[2][l - 1] != '%') {
				snprintf(
					err, errlen,
					"last character of percentage should be `%%`, but is: '%s'",
					p->args[2]);
				return E_CFG_SEMANTIC;
			}
			snprintf(num, sizeof(num), "%.*s", (int)(l - 1), p->args[2]);
			if (parse_uint(num, 100, &v) != E_OK || v < 10 || v > 90) {
				snprintf(err, errlen,
					 "percentage should fall in range [10, 90]: %s",
					 p->args[2]);
				return E_CFG_SEMANTIC;
			}
			c->prefetch_pct = (uint32_t)v;
		}
		return E_OK;
	}
	if (strcmp(p->name, "serve_stale") == 0) {
		c->stale_ms = 3600 * 1000;
		if (p->argc > 2 ||
		    (p->argc > 0 && cfg_parse_duration(p->args[0], &c->stale_ms) != E_OK)) {
			snprintf(err, errlen, "serve_stale: needs [DURATION [immediate|verify]]");
			return E_CFG_SEMANTIC;
		}
		if (p->argc > 1) {
			const char *m = p->args[1];
			if (strcmp(m, "verify") == 0 || strcmp(m, "before") == 0) {
				c->verify_stale = true;
			} else if (strcmp(m, "immediate") != 0 && strcmp(m, "after") != 0) {
				snprintf(err, errlen,
					 "invalid value for serve_stale refresh mode: %s", m);
				return E_CFG_SEMANTIC;
			}
		}
		return E_OK;
	}
	if (strcmp(p->name, "servfail") == 0) {
		if (p->argc != 1 || cfg_parse_duration(p->args[0], &ms) != E_OK ||
		    ms > 5 * 60 * 1000) {
			snprintf(err, errlen, "servfail: needs one DURATION of at most 5m");
			return E_CFG_SEMANTIC;
		}
		c->fail_ttl = (uint32_t)(ms / 1000);
		return E_OK;
	}
	if (strcmp(p->name, "disable") == 0) {
		int which = p->argc > 0 && strcmp(p->args[0], "success") == 0  ? 0
			    : p->argc > 0 && strcmp(p->args[0], "denial") == 0 ? 1
									       : -1;
		if (which < 0) {
			snprintf(err, errlen, "disable: needs success|denial [ZONES...]");
			return E_CFG_SEMANTIC;
		}
		struct cache_table *t = &c->t[which];
		int n = p->argc > 1 ? p->argc - 1 : 1;
		uint8_t(*ex)[DNAME_MAX] = realloc(t->except, (size_t)(t->nexcept + n) * DNAME_MAX);
		if (ex == NULL) {
			return -ENOMEM;
		}
		t->except = ex;
		if (p->argc == 1) {
			t->except[t->nexcept++][0] = 0; /* the root: everything */
			return E_OK;
		}
		for (int i = 1; i < p->argc; i++) {
			if (dname_from_str(t->except[t->nexcept], p->args[i], NULL) < 0) {
				snprintf(err, errlen, "'%s' is not a zone name", p->args[i]);
				return E_CFG_SEMANTIC;
			}
			dname_lower(t->except[t->nexcept++]);
		}
		return E_OK;
	}
	if (strcmp(p->name, "keepttl") == 0 && p->argc == 0) {
		c->keepttl = true;
		return E_OK;
	}
	snprintf(err, errlen, "unknown property '%s'", p->name);
	return E_CFG_SEMANTIC;
}

static int cache_setup(void **out, const cfg_directive_t *d, char *err, size_t errlen)
{
	struct cache_ctx *c = calloc(1, sizeof(*c));
	uint32_t caps[2] = { CACHE_DEFAULT_CAP, CACHE_DEFAULT_CAP };
	int ret = E_OK, first = 0;
	uint64_t v;

	if (c == NULL) {
		return -ENOMEM;
	}
	pthread_mutex_init(&c->lock, NULL);
	c->t[0].max_ttl = MAX_TTL;
	c->t[0].min_ttl = MIN_TTL;
	c->t[1].max_ttl = MAX_NTTL;
	c->t[1].min_ttl = MIN_TTL;
	c->fail_ttl = MIN_TTL;
	c->prefetch_ms = 60 * 1000;
	c->prefetch_pct = 10;
	c->series = -2;
	/* cache [TTL] [ZONES...]: a first argument that is a number is the TTL. */
	if (d->argc > 0 && parse_uint(d->args[0], UINT32_MAX, &v) == E_OK) {
		if (v == 0) {
			snprintf(err, errlen, "cache TTL can not be zero or negative: %s",
				 d->args[0]);
			ret = E_CFG_SEMANTIC;
			goto out;
		}
		c->t[0].max_ttl = c->t[1].max_ttl = (uint32_t)v;
		first = 1;
	} else if (d->argc > 0 && d->args[0][0] == '-') {
		snprintf(err, errlen, "cache TTL can not be zero or negative: %s", d->args[0]);
		ret = E_CFG_SEMANTIC;
		goto out;
	}
	ret = parse_zones(c->zones, &c->nzones, d->args + first, d->argc - first, err, errlen);
	for (int i = first; i < d->argc; i++) {
		size_t n = strlen(c->zones_label);
		snprintf(c->zones_label + n, sizeof(c->zones_label) - n, "%s%s", n ? "," : "",
			 d->args[i]);
	}
	for (int i = 0; ret == E_OK && i < d->nprops; i++) {
		ret = parse_prop(c, caps, &d->props[i], err, errlen);
	}
	if (ret == E_OK &&
	    (table_init(&c->t[0], caps[0]) != E_OK || table_init(&c->t[1], caps[1]) != E_OK)) {
		ret = -ENOMEM;
	}
out:
	if (ret != E_OK) {
		cache_teardown(c);
		return ret;
	}
	*out = c;
	return E_OK;
}

/* ---- zone versions ---- */

/* The generation of \a z for zone entry \a zidx: the pinned version when it is \a z, else
 * \a z becomes the pinned version (with \a update) under a new generation. Returns false
 * when \a z is not (and with \a update false must not become) the pinned one. */
static bool zone_gen_of(struct cache_ctx *c, int zidx, zone_t *z, bool update, uint32_t *gen)
{
	struct zone_gen *g = &c->gens[zidx];
	uint32_t s1 = __atomic_load_n(&g->seq, __ATOMIC_ACQUIRE);
	zone_t *p = __atomic_load_n(&g->pinned, __ATOMIC_ACQUIRE);
	uint32_t s2 = __atomic_load_n(&g->seq, __ATOMIC_ACQUIRE);
	zone_t *old = NULL;

	if (!(s1 & 1) && s1 == s2 && p == z) {
		*gen = s1;
		return true;
	}
	if (!update) {
		return false;
	}
	pthread_mutex_lock(&c->lock); /* only when a zone's version changed */
	if (g->pinned != z) {
		old = g->pinned;
		if (z != NULL) {
			zone_ref(z);
		}
		__atomic_store_n(&g->seq, g->seq + 1, __ATOMIC_RELEASE);
		__atomic_store_n(&g->pinned, z, __ATOMIC_RELEASE);
		__atomic_store_n(&g->seq, g->seq + 1, __ATOMIC_RELEASE);
	}
	*gen = g->seq;
	pthread_mutex_unlock(&c->lock);
	zone_free(old); /* our pin on the older version */
	return true;
}

static bool gens_ready(struct cache_ctx *c, const server_state_t *st)
{
	if (__atomic_load_n(&c->gens, __ATOMIC_ACQUIRE) != NULL) {
		return true;
	}
	pthread_mutex_lock(&c->lock);
	if (c->gens == NULL) {
		struct zone_gen *g = calloc((size_t)st->nzones + 1, sizeof(*g));
		if (g != NULL) {
			c->ngens = st->nzones;
			__atomic_store_n(&c->gens, g, __ATOMIC_RELEASE);
		}
	}
	pthread_mutex_unlock(&c->lock);
	return c->gens != NULL;
}

/* ---- slots ---- */

static bool except(const struct cache_table *t, const uint8_t *name)
{
	for (int i = 0; i < t->nexcept; i++) {
		if (dname_is_sub(name, t->except[i])) {
			return true;
		}
	}
	return false;
}

struct hit {
	uint16_t len;
	uint16_t nttl;
	int64_t stored_ms;
	uint32_t ttl;
	uint32_t gen;
	int32_t zidx;
	uint16_t ttl_off[CACHE_TTLS_MAX];
	struct cache_slot *slot;
	uint32_t seq;
};

/* Copy the entry for \a hash into q->out when there is one that fits; no lock. */
static bool table_get(struct cache_table *t, uint64_t hash, uint16_t qtype, uint8_t flags,
		      size_t room, query_t *q, struct hit *h)
{
	size_t base = (size_t)(hash % t->nsets) * CACHE_WAYS;
	for (int w = 0; w < CACHE_WAYS; w++) {
		if (__atomic_load_n(&t->tags[base + (size_t)w], __ATOMIC_RELAXED) != hash) {
			continue;
		}
		struct cache_slot *s = &t->slots[base + (size_t)w];
		uint32_t s1 = __atomic_load_n(&s->seq, __ATOMIC_ACQUIRE);
		if ((s1 & 1) || __atomic_load_n(&s->hash, __ATOMIC_RELAXED) != hash) {
			continue;
		}
		/* Copy first, check the sequence after: a torn copy is thrown away. */
		h->len = s->len;
		h->nttl = s->nttl;
		h->stored_ms = s->stored_ms;
		h->ttl = s->ttl;
		h->gen = s->gen;
		h->zidx = s->zidx;
		uint16_t ty = s->qtype;
		uint8_t fl = s->flags;
		/* (Values read while a writer works are checked again below.) */
		if (h->len == 0 || h->len > room || h->len > CACHE_DATA_MAX || ty != qtype ||
		    fl != flags) {
			continue;
		}
		memcpy(q->out, s->data, h->len);
		size_t nttl = h->nttl <= CACHE_TTLS_MAX ? h->nttl : 0;
		memcpy(h->ttl_off, s->ttl_off, nttl * sizeof(uint16_t));
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (__atomic_load_n(&s->seq, __ATOMIC_RELAXED) != s1) {
			continue;
		}
		/* The hash matched; the name must too (case-insensitively). */
		size_t qlen = dname_len(q->req.qname_lc);
		if ((size_t)h->len < DNS_HDR_LEN + qlen + 4) {
			continue;
		}
		const uint8_t *qn = q->out + DNS_HDR_LEN;
		bool same = true;
		for (size_t i = 0; i < qlen && same; i++) {
			same = dname_lower_octet(qn[i]) == q->req.qname_lc[i];
		}
		if (!same || dns_u16(qn + qlen) != q->req.qtype ||
		    dns_u16(qn + qlen + 2) != q->req.qclass) {
			continue;
		}
		h->slot = s;
		h->seq = s1;
		return true;
	}
	return false;
}

static uint32_t rand32(void)
{
	static _Thread_local uint32_t x;
	if (x == 0) {
		x = (uint32_t)(uintptr_t)&x ^ (uint32_t)time(NULL) ^ 0x9E3779B9u;
	}
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return x;
}

/* Claim a slot for \a hash; NULL when its set is being written by another thread. Sets
 * *evicted when a live entry of another key goes; *idx is the slot's index. */
static struct cache_slot *table_claim(struct cache_table *t, uint64_t hash, int64_t now_ms,
				      bool *evicted, uint32_t *seq, size_t *idx)
{
	size_t base = (size_t)(hash % t->nsets) * CACHE_WAYS;
	int pick = -1;
	uint32_t now_s = (uint32_t)(now_ms / 1000);
	*evicted = false;
	for (int w = 0; w < CACHE_WAYS && pick < 0; w++) {
		if (__atomic_load_n(&t->tags[base + (size_t)w], __ATOMIC_RELAXED) == hash) {
			pick = w;
		}
	}
	for (int w = 0; w < CACHE_WAYS && pick < 0; w++) {
		if (__atomic_load_n(&t->tags[base + (size_t)w], __ATOMIC_RELAXED) == 0 ||
		    __atomic_load_n(&t->expires[base + (size_t)w], __ATOMIC_RELAXED) < now_s) {
			pick = w;
		}
	}
	if (pick < 0) {
		pick = (int)(rand32() % CACHE_WAYS); /* CoreDNS evicts at random too */
		*evicted = true;
	}
	struct cache_slot *s = &t->slots[base + (size_t)pick];
	uint32_t s1 = __atomic_load_n(&s->seq, __ATOMIC_RELAXED);
	if ((s1 & 1) || !__atomic_compare_exchange_n(&s->seq, &s1, s1 + 1, false, __ATOMIC_ACQUIRE,
						     __ATOMIC_RELAXED)) {
		return NULL;
	}
	*seq = s1 + 1;
	*idx = base + (size_t)pick;
	return s;
}

/* Make the slot readable again, its tag and expiry those of what it now holds. */
static void slot_release(struct cache_table *t, size_t idx, uint32_t seq)
{
	const struct cache_slot *s = &t->slots[idx];
	__atomic_store_n(&t->expires[idx], (uint32_t)(s->stored_ms / 1000) + s->ttl,
			 __ATOMIC_RELAXED);
	__atomic_store_n(&t->tags[idx], s->hash, __ATOMIC_RELAXED);
	__atomic_store_n(&t->slots[idx].seq, seq + 1, __ATOMIC_RELEASE);
}

/* ---- the query path ---- */

static uint8_t key_flags(const query_t *q)
{
	return (uint8_t)((q->req.edns.do_bit ? KEY_DO : 0) |
			 ((q->req.flags & DNS_FLAG_CD) ? KEY_CD : 0) |
			 (q->req.qtype == RR_ANY && q->transport != TRANSPORT_UDP ? KEY_STREAM
										  : 0));
}

static uint64_t key_of(const query_t *q, uint8_t *flags)
{
	uint8_t tail[5];
	*flags = key_flags(q);
	dns_put16(tail, q->req.qtype);
	dns_put16(tail + 2, q->req.qclass);
	tail[4] = *flags;
	uint64_t h = fnv64(14695981039346656037ull, q->req.qname_lc, dname_len(q->req.qname_lc));
	h = fnv64(h, tail, sizeof(tail));
	return h != 0 ? h : 1;
}

static bool in_zones(const struct cache_ctx *c, const uint8_t *name)
{
	if (c->nzones == 0) {
		return true; /* the block's zones: the query would not be here otherwise */
	}
	for (int i = 0; i < c->nzones; i++) {
		if (dname_is_sub(name, c->zones[i])) {
			return true;
		}
	}
	return false;
}

static int series_of(struct cache_ctx *c, const query_t *q)
{
	int s = __atomic_load_n(&c->series, __ATOMIC_RELAXED);
	if (s != -2) {
		return s;
	}
	s = -1;
	if (q->block != NULL && q->block->metrics != NULL) {
		char zones[512] = "";
		if (c->zones_label[0] != '\0') {
			snprintf(zones, sizeof(zones), "%s", c->zones_label);
		} else {
			for (int k = 0; k < q->block->cfg->nkeys; k++) {
				size_t n = strlen(zones);
				snprintf(zones + n, sizeof(zones) - n, "%s%s", n ? "," : "",
					 q->block->cfg->keys[k].zone);
			}
		}
		s = metrics_cache_series(metrics_block_server(q->block->metrics), zones);
	}
	__atomic_store_n(&c->series, s, __ATOMIC_RELAXED);
	return s;
}

/* Make the copied entry the response to \a q: ID, RD, question case, TTLs, OPT. */
static size_t finish_hit(const struct cache_ctx *c, query_t *q, const struct hit *h, uint32_t ttl)
{
	uint8_t *o = q->out;
	dns_put16(o, q->req.id);
	dns_put16(o + 2,
		  (uint16_t)((dns_u16(o + 2) & ~DNS_FLAG_RD) | (q->req.flags & DNS_FLAG_RD)));
	memcpy(o + DNS_HDR_LEN, q->req.qname, dname_len(q->req.qname));
	if (!c->keepttl) {
		if (h->nttl != CACHE_TTLS_WALK) {
			for (int i = 0; i < h->nttl; i++) {
				dns_put32(o + h->ttl_off[i], ttl);
			}
		} else {
			msg_t m;
			if (msg_parse(&m, o, h->len) == E_OK) {
				msg_set_ttls(&m, o, ttl);
			}
		}
	}
	size_t len = h->len;
	if (q->req.edns.present) {
		/* The OPT this server writes: our payload size, DO echoed, no options. */
		uint8_t *p = o + len;
		p[0] = 0;
		dns_put16(p + 1, RR_OPT);
		dns_put16(p + 3, DNS_UDP_DEFAULT);
		dns_put32(p + 5, q->req.edns.do_bit ? 0x8000 : 0);
		dns_put16(p + 9, 0);
		len += DNS_OPT_LEN;
		dns_put16(o + 10, (uint16_t)(dns_u16(o + 10) + 1));
	}
	return len;
}

static enum stage_result cache_query(query_t *q, void *ctx)
{
	struct cache_ctx *c = ctx;
	const server_state_t *st = q->ss.st;
	uint8_t flags;
	struct hit h;
	int which = -1;

	if (!in_zones(c, q->req.qname_lc) || st == NULL || !gens_ready(c, st)) {
		return STAGE_CONTINUE;
	}
	int series = series_of(c, q);
	uint64_t hash = key_of(q, &flags);
	int64_t now = ms_of(&q->start);
	size_t room = q->max_size - (q->req.edns.present ? DNS_OPT_LEN : 0);

	metrics_cache_count(series, METRICS_CACHE_REQUEST);
	q->ss.cache = CACHE_STORE;
	q->ss.cache_hash = hash;
	q->ss.cache_hits = 0;
	for (int i = 1; i >= 0 && which < 0; i--) { /* denial first, as CoreDNS */
		if (table_get(&c->t[i], hash, q->req.qtype, flags, room, q, &h)) {
			which = i;
		}
	}
	if (which < 0) {
		metrics_cache_count(series, METRICS_CACHE_MISS);
		return STAGE_CONTINUE;
	}
	/* Never older than the version of the zone being served. */
	zone_t *z = NULL;
	uint32_t gen;
	bool version_ok = true;
	if (h.zidx >= 0 && h.zidx < c->ngens) {
		z = rcu_dereference(st->zones[h.zidx].zone);
		version_ok = zone_gen_of(c, h.zidx, z, true, &gen) && gen == h.gen;
		if (!version_ok && z == NULL && c->stale_ms > 0) {
			version_ok = true; /* nothing served now: stale data is all there is */
		}
	}
	int64_t age_s = (now - h.stored_ms) / 1000;
	int64_t left = (int64_t)h.ttl - age_s;
	bool stale = left <= 0;
	if (!version_ok || (stale && (c->stale_ms == 0 || -left * 1000 >= (int64_t)c->stale_ms))) {
		metrics_cache_count(series, METRICS_CACHE_MISS);
		return STAGE_CONTINUE;
	}
	metrics_cache_count(series,
			    which == 0 ? METRICS_CACHE_HIT_SUCCESS : METRICS_CACHE_HIT_DENIAL);
	if (stale) {
		if (c->verify_stale && z != NULL) {
			return STAGE_CONTINUE; /* the zone answers: a fresh answer replaces it */
		}
		metrics_cache_count(series, METRICS_CACHE_SERVED_STALE);
		if (z != NULL) {
			/* Same version, so the data is current: the refresh is a new lifetime. */
			bool ev;
			uint32_t seq;
			size_t idx;
			struct cache_slot *s =
				table_claim(&c->t[which], hash, now, &ev, &seq, &idx);
			if (s != NULL) {
				if (s == h.slot && s->gen == h.gen) {
					s->stored_ms = now;
				}
				slot_release(&c->t[which], idx, seq);
				metrics_cache_count(series, METRICS_CACHE_PREFETCH);
			}
		}
		left = 0;
	} else if (c->prefetch > 0) {
		struct cache_slot *s = h.slot;
		int64_t last = __atomic_load_n(&s->last_hit_ms, __ATOMIC_RELAXED);
		uint32_t hits = __atomic_load_n(&s->hits, __ATOMIC_RELAXED);
		hits = now - last > (int64_t)c->prefetch_ms ? 1 : hits + 1;
		__atomic_store_n(&s->hits, hits, __ATOMIC_RELAXED);
		__atomic_store_n(&s->last_hit_ms, now, __ATOMIC_RELAXED);
		uint64_t thr = ((uint64_t)c->prefetch_pct * h.ttl + 99) / 100;
		if (hits >= c->prefetch && (uint64_t)left <= (thr > 0 ? thr : 1)) {
			/* Popular and about to expire: answer from the zone and keep that. */
			metrics_cache_count(series, METRICS_CACHE_PREFETCH);
			q->ss.cache_hits = hits;
			return STAGE_CONTINUE;
		}
	}
	q->ss.cache = CACHE_HIT;
	q->resp_len = finish_hit(c, q, &h, (uint32_t)left);
	return STAGE_DONE;
}

static void cache_response(query_t *q, void *ctx)
{
	struct cache_ctx *c = ctx;
	const server_state_t *st = q->ss.st;
	msg_t m;

	if (q->ss.cache != CACHE_STORE || !q->ss.answered || q->resp_len < DNS_HDR_LEN ||
	    (dns_u16(q->out + 2) & DNS_FLAG_TC) || msg_parse(&m, q->out, q->resp_len) != E_OK) {
		return;
	}
	int series = series_of(c, q);
	enum msg_class cls = msg_classify(&m);
	uint32_t ttl;
	int which = cls == MSG_NXDOMAIN || cls == MSG_NODATA || cls == MSG_SERVFAIL ? 1 : 0;
	struct cache_table *t = &c->t[which];
	if (cls == MSG_OTHERERROR) {
		return;
	}
	uint32_t min = msg_min_ttl(&m, cls, MIN_TTL);
	if (cls == MSG_SERVFAIL) {
		ttl = c->fail_ttl;
	} else {
		ttl = min < t->min_ttl ? t->min_ttl : min;
		ttl = ttl > t->max_ttl ? t->max_ttl : ttl;
	}
	if (ttl == 0 || except(t, q->req.qname_lc)) {
		return;
	}
	/* The response must answer the question asked (CoreDNS counts a drop otherwise). */
	size_t qlen = dname_len(q->req.qname_lc);
	const uint8_t *qn = q->out + DNS_HDR_LEN;
	bool same = m.qend == DNS_HDR_LEN + qlen + 4 && dns_u16(qn + qlen) == q->req.qtype &&
		    dns_u16(qn + qlen + 2) == q->req.qclass;
	for (size_t i = 0; i < qlen && same; i++) {
		same = dname_lower_octet(qn[i]) == q->req.qname_lc[i];
	}
	if (!same) {
		metrics_cache_count(series, METRICS_CACHE_DROP);
		return;
	}
	/* Hop-by-hop OPT stays out of the entry: it must be the last record. */
	size_t len = q->resp_len;
	int nrr = m.nrr;
	for (int i = 0; i < m.nrr; i++) {
		if (m.rr[i].type == RR_OPT && i != m.nrr - 1) {
			return;
		}
	}
	if (nrr > 0 && m.rr[nrr - 1].type == RR_OPT) {
		len = m.rr[nrr - 1].off;
		nrr--;
	}
	int zidx = q->ss.zentry != NULL ? (int)(q->ss.zentry - st->zones) : -1;
	uint32_t gen = 0;
	if (len > CACHE_DATA_MAX || zidx >= c->ngens ||
	    (zidx >= 0 &&
	     !zone_gen_of(c, zidx, (zone_t *)q->ss.zver,
			  q->ss.zver == rcu_dereference(st->zones[zidx].zone), &gen))) {
		goto ttls; /* too big, or answered from a version already replaced */
	}
	bool evicted;
	uint32_t seq;
	size_t idx;
	int64_t now = ms_of(&q->start);
	struct cache_slot *s = table_claim(t, q->ss.cache_hash, now, &evicted, &seq, &idx);
	if (s != NULL) {
		s->hash = q->ss.cache_hash;
		s->len = (uint16_t)len;
		s->stored_ms = now;
		s->last_hit_ms = now;
		s->hits = q->ss.cache_hits;
		s->ttl = ttl;
		s->gen = gen;
		s->zidx = zidx;
		s->qtype = q->req.qtype;
		s->flags = key_flags(q);
		s->nttl = nrr <= CACHE_TTLS_MAX ? (uint16_t)nrr : CACHE_TTLS_WALK;
		for (int i = 0; i < nrr && i < CACHE_TTLS_MAX; i++) {
			s->ttl_off[i] = (uint16_t)(m.rr[i].rdoff - 6);
		}
		memcpy(s->data, q->out, len);
		dns_put16(s->data + 10, (uint16_t)(m.count[2] - (nrr < m.nrr ? 1 : 0)));
		slot_release(t, idx, seq);
		if (evicted) {
			metrics_cache_count(series, which == 0 ? METRICS_CACHE_EVICT_SUCCESS
							       : METRICS_CACHE_EVICT_DENIAL);
		}
	}
ttls:
	/* The client sees the capped TTL at once, not only from the next hit on. */
	if (!c->keepttl) {
		msg_set_ttls(&m, q->out, ttl);
	}
}

bool cache_stage_entries(const stage_t *s, int *series, uint64_t n[2])
{
	const struct cache_ctx *c = s->ctx;
	if (s->ops != &stage_cache || c == NULL) {
		return false;
	}
	*series = __atomic_load_n(&c->series, __ATOMIC_RELAXED);
	for (int i = 0; i < 2; i++) {
		n[i] = 0;
		for (size_t k = 0; k < (size_t)c->t[i].nsets * CACHE_WAYS; k++) {
			n[i] += __atomic_load_n(&c->t[i].tags[k], __ATOMIC_RELAXED) != 0;
		}
	}
	return true;
}

const stage_ops_t stage_cache = {
	.name = "cache",
	.setup = cache_setup,
	.query = cache_query,
	.response = cache_response,
	.teardown = cache_teardown,
};
