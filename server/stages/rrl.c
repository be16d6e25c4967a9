/*  The rrl stage: response rate limiting with the syntax of CoreDNS's rrl plugin and the
 *  semantics of Knot's RRL (BIND's kinds and imputed names). Responses over UDP are
 *  accounted per client network (/24, /56 by default), response kind and imputed name in a
 *  shared table of token buckets refilled at the rate and holding one second's worth, so a
 *  flooding client gets the configured rate; over it a response is dropped, or every
 *  slip-ratio-th one sent truncated (TC, no records) so that a real client retries over
 *  TCP. "window" (CoreDNS syntax) is accepted and kept for compatibility. Lock-free: one
 *  CAS per response. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dns/err.h"
#include "dns/log.h"
#include "dns/rrtype.h"
#include "server/query.h"
#include "server/stages/stages.h"
#include "server/state.h"

enum rrl_kind { K_RESPONSE, K_NODATA, K_NXDOMAIN, K_REFERRAL, K_ERROR, K_MAX };

struct rrl_entry {
	uint64_t key;   /* hash of network, kind and name */
	uint64_t state; /* last second (high 32 bits), balance (low 32 bits, signed) */
};

struct rrl {
	int32_t rate[K_MAX]; /* per second; 0: not limited */
	uint32_t window;
	uint8_t v4_prefix, v6_prefix;
	uint32_t slip; /* every slip-th limited response is truncated; 0 never */
	bool report_only;
	uint32_t size;
	uint8_t zones[8][DNAME_MAX];
	int nzones;
	struct rrl_entry *table;
	uint64_t limited; /* responses limited (counter for the slip and the log) */
	uint64_t slipped, dropped;
};

static bool prop_uint(const cfg_directive_t *p, uint32_t max, uint32_t *out)
{
	char *end;
	unsigned long v;
	if (p->argc != 1) {
		return false;
	}
	v = strtoul(p->args[0], &end, 10);
	if (*end != '\0' || v > max) {
		return false;
	}
	*out = (uint32_t)v;
	return true;
}

static int rrl_setup(void **out, const cfg_directive_t *d, char *err, size_t errlen)
{
	static const char *const names[K_MAX] = { "responses-per-second", "nodata-per-second",
						  "nxdomains-per-second", "referrals-per-second",
						  "errors-per-second" };
	bool set[K_MAX] = { false };
	struct rrl *r = calloc(1, sizeof(*r));
	if (r == NULL) {
		return -ENOMEM;
	}
	r->window = 15;
	r->v4_prefix = 24;
	r->v6_prefix = 56;
	r->slip = 2;
	r->size = 100000;
	for (int i = 0; i < d->argc && r->nzones < 8; i++) {
		if (dname_from_str(r->zones[r->nzones], d->args[i], NULL) < 0) {
			snprintf(err, errlen, "'%s' is not a zone", d->args[i]);
			goto fail;
		}
		dname_lower(r->zones[r->nzones++]);
	}
	for (int i = 0; i < d->nprops; i++) {
		const cfg_directive_t *p = &d->props[i];
		uint32_t v = 0;
		bool ok = true;
		int k = 0;
		while (k < K_MAX && strcmp(p->name, names[k]) != 0) {
			k++;
		}
		if (k < K_MAX) {
			ok = prop_uint(p, 1000000000u, &v);
			r->rate[k] = (int32_t)v;
			set[k] = true;
		} else if (strcmp(p->name, "window") == 0) {
			ok = prop_uint(p, 3600, &r->window) && r->window > 0;
		} else if (strcmp(p->name, "ipv4-prefix-length") == 0) {
			ok = prop_uint(p, 32, &v) && v > 0;
			r->v4_prefix = (uint8_t)v;
		} else if (strcmp(p->name, "ipv6-prefix-length") == 0) {
			ok = prop_uint(p, 128, &v) && v > 0;
			r->v6_prefix = (uint8_t)v;
		} else if (strcmp(p->name, "slip-ratio") == 0) {
			ok = prop_uint(p, 10, &r->slip);
		} else if (strcmp(p->name, "max-table-size") == 0) {
			ok = prop_uint(p, 100000000u, &r->size) && r->size > 0;
		} else if (strcmp(p->name, "report-only") == 0 && p->argc == 0) {
			r->report_only = true;
		} else if (strcmp(p->name, "requests-per-second") == 0) {
			ok = prop_uint(p, 1000000000u,
				       &v); /* accepted; responses are what RRL limits */
		} else {
			snprintf(err, errlen, "unknown property '%s'", p->name);
			goto fail;
		}
		if (!ok) {
			snprintf(err, errlen, "%s: bad value", p->name);
			goto fail;
		}
	}
	/* As in the CoreDNS plugin, the other kinds default to responses-per-second. */
	for (int k = 1; k < K_MAX; k++) {
		if (!set[k]) {
			r->rate[k] = r->rate[K_RESPONSE];
		}
	}
	r->table = calloc(r->size, sizeof(struct rrl_entry));
	if (r->table == NULL) {
		snprintf(err, errlen, "max-table-size %u: out of memory", r->size);
		goto fail;
	}
	*out = r;
	return E_OK;
fail:
	free(r);
	return E_CFG_SEMANTIC;
}

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;
	for (size_t i = 0; i < n; i++) {
		h = (h ^ b[i]) * 1099511628211ull;
	}
	return h;
}

/* The client's network: the address cut to the prefix length. */
static uint64_t client_hash(const struct rrl *r, const struct sockaddr *sa)
{
	uint8_t net[16] = { 0 };
	unsigned bits = 0;
	size_t n = 0;
	if (sa->sa_family == AF_INET) {
		memcpy(net, &((const struct sockaddr_in *)sa)->sin_addr, 4);
		bits = r->v4_prefix;
		n = 4;
	} else if (sa->sa_family == AF_INET6) {
		memcpy(net, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
		bits = r->v6_prefix;
		n = 16;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned keep = bits >= 8 * (i + 1) ? 8 : bits > 8 * i ? bits - 8 * i : 0;
		net[i] &= (uint8_t)(0xff00u >> keep);
	}
	return fnv(14695981039346656037ull ^ sa->sa_family, net, n);
}

/* The kind of the response and the name it is imputed to (RFC-less BIND semantics: the
 * zone for negative answers, the delegation for referrals). */
static enum rrl_kind classify(const query_t *q, const uint8_t **name)
{
	uint16_t flags = dns_u16(q->out + 2);
	uint8_t rcode = DNS_RCODE(flags);
	const struct zone_entry *e = q->ss.zentry;
	*name = q->req.qname_lc;
	if (rcode == RCODE_NXDOMAIN) {
		*name = e != NULL ? e->conf->apex : *name;
		return K_NXDOMAIN;
	}
	if (rcode != RCODE_NOERROR) {
		*name = (const uint8_t *)"";
		return K_ERROR;
	}
	if (dns_u16(q->out + 6) > 0) {
		return K_RESPONSE;
	}
	if (!(flags & DNS_FLAG_AA) && q->res.kind == LOOKUP_REFERRAL && q->res.cut != NULL) {
		*name = q->res.cut->owner;
		return K_REFERRAL;
	}
	*name = e != NULL ? e->conf->apex : *name;
	return K_NODATA;
}

/* Take one token; true when the response may go. */
static bool account(struct rrl *r, uint64_t key, int32_t rate, uint32_t now)
{
	struct rrl_entry *e = &r->table[key % r->size];
	const int64_t floor = -1; /* no debt: a flooder gets the rate, as with Knot */
	if (__atomic_load_n(&e->key, __ATOMIC_RELAXED) != key) {
		/* A new client (or a collision: the newest wins, as in BIND). */
		__atomic_store_n(&e->key, key, __ATOMIC_RELAXED);
		__atomic_store_n(&e->state, (uint64_t)now << 32 | (uint32_t)(rate - 1),
				 __ATOMIC_RELAXED);
		return true;
	}
	uint64_t old = __atomic_load_n(&e->state, __ATOMIC_RELAXED), upd;
	int64_t bal;
	do {
		uint32_t then = (uint32_t)(old >> 32);
		bal = (int32_t)(uint32_t)old;
		if (now > then) {
			bal += (int64_t)(now - then) * rate;
			bal = bal > rate ? rate : bal;
		}
		bal -= 1;
		bal = bal < floor ? floor : bal;
		upd = (uint64_t)(now > then ? now : then) << 32 | (uint32_t)(int32_t)bal;
	} while (!__atomic_compare_exchange_n(&e->state, &old, upd, true, __ATOMIC_RELAXED,
					      __ATOMIC_RELAXED));
	return bal >= 0;
}

static void rrl_response(query_t *q, void *ctx)
{
	struct rrl *r = ctx;
	const uint8_t *name;
	if (q->transport != TRANSPORT_UDP || q->resp_len < DNS_HDR_LEN || q->remote == NULL) {
		return;
	}
	if (r->nzones > 0) {
		bool in = false;
		for (int i = 0; i < r->nzones && !in; i++) {
			in = dname_is_sub(q->req.qname_lc, r->zones[i]);
		}
		if (!in) {
			return;
		}
	}
	enum rrl_kind kind = classify(q, &name);
	int32_t rate = r->rate[kind];
	if (rate <= 0) {
		return;
	}
	uint64_t key = client_hash(r, q->remote);
	key = fnv(key ^ (uint64_t)kind, name, name[0] == 0 ? 1 : dname_len(name));
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &now);
	if (account(r, key, rate, (uint32_t)now.tv_sec)) {
		return;
	}
	uint64_t n = __atomic_add_fetch(&r->limited, 1, __ATOMIC_RELAXED);
	if (r->report_only) {
		if ((n & 1023) == 1) {
			log_info("rrl", "would limit responses (%llu so far, report-only)",
				 (unsigned long long)n);
		}
		return;
	}
	if (r->slip != 0 && n % r->slip == 0) {
		/* Slip: header and question only, TC set: a real client asks again over TCP. */
		dns_writer_clear_records(&q->w);
		dns_writer_flags(&q->w, DNS_FLAG_TC, 0);
		q->resp_len = dns_writer_finish(&q->w);
		__atomic_add_fetch(&r->slipped, 1, __ATOMIC_RELAXED);
	} else {
		q->resp_len = 0; /* dropped */
		__atomic_add_fetch(&r->dropped, 1, __ATOMIC_RELAXED);
	}
	if ((n & 1023) == 1) {
		log_info("rrl", "limiting responses: %llu limited so far", (unsigned long long)n);
	}
}

static void rrl_teardown(void *ctx)
{
	struct rrl *r = ctx;
	if (r != NULL) {
		free(r->table);
		free(r);
	}
}

const stage_ops_t stage_rrl = {
	.name = "rrl",
	.setup = rrl_setup,
	.response = rrl_response,
	.teardown = rrl_teardown,
};
