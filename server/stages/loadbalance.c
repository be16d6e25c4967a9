/*  The loadbalance stage: CoreDNS's loadbalance plugin.
 *
 *  "loadbalance [round_robin | weighted WEIGHTFILE] { reload DURATION; limit_answers N;
 *  prefer CIDR... }"
 *
 *  round_robin rotates the records of every A, AAAA and MX RRset of a NOERROR response by one
 *  more position on each response (one relaxed atomic counter per stage); weighted moves one address of an
 *  A/AAAA RRset to the top, chosen at random by the weights of the weight file. Records only
 *  move within their RRset: CNAMEs stay first, each RRSIG stays after the RRset it covers and
 *  still verifies (a signature covers the RRset in canonical order, not in wire order).
 *  The response is changed in place when no compression pointer points into the records that
 *  move, and re-written otherwise.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <urcu-qsbr.h>

#include "dns/err.h"
#include "dns/log.h"
#include "dns/rrtype.h"
#include "server/query.h"
#include "server/stages/msg.h"
#include "server/stages/stages.h"

#define PREFER_MAX 16

struct weight {
	uint8_t owner[DNAME_MAX]; /* lower case */
	uint8_t family;
	uint8_t addr[16];
	uint8_t value;
};

struct weights {
	struct rcu_head rcu;
	int n;
	struct weight w[];
};

struct subnet {
	uint8_t family, bits;
	uint8_t addr[16];
};

struct lb_ctx {
	bool weighted;
	char *file;
	uint64_t reload_ms;
	uint32_t limit_answers;
	int nprefer;
	struct subnet prefer[PREFER_MAX];
	struct weights *weights; /* RCU: replaced when the file changes */
	int64_t next_check_ms;
	time_t mtime;
	off_t size;
	bool retired;  /* call_rcu was used: wait for it at teardown */
	uint32_t turn; /* round robin: one step per response, whichever thread answers */
};

static uint32_t rand32(void)
{
	static _Thread_local uint32_t x;
	if (x == 0) {
		x = (uint32_t)(uintptr_t)&x ^ (uint32_t)time(NULL) ^ 0x85EBCA6Bu;
	}
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return x;
}

/* ---- the weight file ---- */

/* "domain" lines, then "IP WEIGHT" lines for it; "#" comments. */
static int weights_read(const char *path, struct weights **out, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	char line[1024];
	uint8_t owner[DNAME_MAX];
	bool have_owner = false;
	int lineno = 0, cap = 16;
	struct weights *ws = NULL;

	if (f == NULL) {
		snprintf(err, errlen, "weight file %s: %s", path, strerror(errno));
		return -errno;
	}
	ws = calloc(1, sizeof(*ws) + (size_t)cap * sizeof(struct weight));
	if (ws == NULL) {
		fclose(f);
		return -ENOMEM;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		char a[512], b[64], c[8];
		lineno++;
		char *s = line;
		while (isspace((unsigned char)*s)) {
			s++;
		}
		if (*s == '#' || *s == '\0') {
			continue;
		}
		int k = sscanf(s, "%511s %63s %7s", a, b, c);
		if (k == 1) {
			struct weight probe;
			if (inet_pton(AF_INET, a, probe.addr) == 1 ||
			    inet_pton(AF_INET6, a, probe.addr) == 1 ||
			    dname_from_str(owner, a, NULL) < 0) {
				snprintf(err, errlen,
					 "wrong domain name \"%s\" in weight file %s:%d (maybe a "
					 "missing "
					 "weight value?)",
					 a, path, lineno);
				goto fail;
			}
			dname_lower(owner);
			have_owner = true;
		} else if (k == 2) {
			char *end;
			unsigned long v = strtoul(b, &end, 10);
			struct weight w = { .value = (uint8_t)v };
			if (inet_pton(AF_INET, a, w.addr) == 1) {
				w.family = AF_INET;
			} else if (inet_pton(AF_INET6, a, w.addr) == 1) {
				w.family = AF_INET6;
			} else {
				snprintf(err, errlen,
					 "wrong IP address \"%s\" in weight file %s:%d", a, path,
					 lineno);
				goto fail;
			}
			if (*end != '\0' || v == 0 || v > 255) {
				snprintf(err, errlen,
					 "wrong weight value \"%s\" in weight file %s:%d", b, path,
					 lineno);
				goto fail;
			}
			if (!have_owner) {
				snprintf(err, errlen, "missing domain name in weight file %s",
					 path);
				goto fail;
			}
			memcpy(w.owner, owner, dname_len(owner));
			if (ws->n == cap) {
				cap *= 2;
				struct weights *nw = realloc(
					ws, sizeof(*ws) + (size_t)cap * sizeof(struct weight));
				if (nw == NULL) {
					goto fail;
				}
				ws = nw;
			}
			ws->w[ws->n++] = w;
		} else {
			snprintf(err, errlen,
				 "could not parse weight line \"%s\" in weight file %s:%d", a, path,
				 lineno);
			goto fail;
		}
	}
	fclose(f);
	*out = ws;
	return E_OK;
fail:
	fclose(f);
	free(ws);
	return E_CFG_SEMANTIC;
}

static void weights_free_rcu(struct rcu_head *h)
{
	free(caa_container_of(h, struct weights, rcu));
}

/* Read the weight file again when it changed (one thread, every reload interval). */
static void weights_check(struct lb_ctx *c, int64_t now_ms)
{
	int64_t next = __atomic_load_n(&c->next_check_ms, __ATOMIC_RELAXED);
	struct stat sb;
	struct weights *ws;
	char err[256];

	if (c->reload_ms == 0 || now_ms < next ||
	    !__atomic_compare_exchange_n(&c->next_check_ms, &next, now_ms + (int64_t)c->reload_ms,
					 false, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED)) {
		return;
	}
	if (stat(c->file, &sb) != 0 || (sb.st_mtime == c->mtime && sb.st_size == c->size)) {
		return;
	}
	c->mtime = sb.st_mtime;
	c->size = sb.st_size;
	if (weights_read(c->file, &ws, err, sizeof(err)) != E_OK) {
		log_err("loadbalance", "%s", err);
		return;
	}
	struct weights *old = rcu_xchg_pointer(&c->weights, ws);
	if (old != NULL) {
		c->retired = true;
		call_rcu(&old->rcu, weights_free_rcu);
	}
	log_info("loadbalance", "successfully reloaded weight file %s", c->file);
}

/* ---- setup ---- */

static void lb_teardown(void *ctx)
{
	struct lb_ctx *c = ctx;
	if (c == NULL) {
		return;
	}
	if (c->retired) {
		rcu_barrier(); /* weight tables given to call_rcu */
	}
	free(c->weights);
	free(c->file);
	free(c);
}

static int parse_subnet(const char *s, struct subnet *out)
{
	char buf[64];
	snprintf(buf, sizeof(buf), "%s", s);
	char *slash = strchr(buf, '/');
	char *end;
	if (slash == NULL) {
		return E_CFG_SEMANTIC;
	}
	*slash = '\0';
	long bits = strtol(slash + 1, &end, 10);
	if (*end != '\0' || slash[1] == '\0') {
		return E_CFG_SEMANTIC;
	}
	if (inet_pton(AF_INET, buf, out->addr) == 1 && bits >= 0 && bits <= 32) {
		out->family = AF_INET;
	} else if (inet_pton(AF_INET6, buf, out->addr) == 1 && bits >= 0 && bits <= 128) {
		out->family = AF_INET6;
	} else {
		return E_CFG_SEMANTIC;
	}
	out->bits = (uint8_t)bits;
	return E_OK;
}

static int lb_setup(void **out, const cfg_directive_t *d, char *err, size_t errlen)
{
	struct lb_ctx *c = calloc(1, sizeof(*c));
	int ret = E_OK;
	if (c == NULL) {
		return -ENOMEM;
	}
	c->reload_ms = 30000;
	if (d->argc > 0 && strcmp(d->args[0], "round_robin") == 0) {
		if (d->argc > 1) {
			snprintf(err, errlen, "unknown property for %s", d->args[0]);
			ret = E_CFG_SEMANTIC;
		}
	} else if (d->argc > 0 && strcmp(d->args[0], "weighted") == 0) {
		c->weighted = true;
		if (d->argc != 2) {
			snprintf(err, errlen,
				 d->argc < 2 ? "missing weight file argument"
					     : "unexpected argument(s)");
			ret = E_CFG_SEMANTIC;
		} else {
			/* Relative to the Corefile's folder. */
			const char *slash = strrchr(d->file, '/');
			char path[4096];
			if (d->args[1][0] != '/' && slash != NULL) {
				snprintf(path, sizeof(path), "%.*s/%s", (int)(slash - d->file),
					 d->file, d->args[1]);
			} else {
				snprintf(path, sizeof(path), "%s", d->args[1]);
			}
			c->file = strdup(path);
			ret = c->file != NULL ? E_OK : -ENOMEM;
		}
	} else if (d->argc > 0) {
		snprintf(err, errlen, "unknown policy: %s", d->args[0]);
		ret = E_CFG_SEMANTIC;
	}
	for (int i = 0; ret == E_OK && i < d->nprops; i++) {
		const cfg_directive_t *p = &d->props[i];
		char *end;
		if (strcmp(p->name, "reload") == 0 && c->weighted) {
			if (p->argc != 1 || cfg_parse_duration(p->args[0], &c->reload_ms) != E_OK) {
				if (p->argc == 1 && strcmp(p->args[0], "0s") == 0) {
					c->reload_ms = 0;
					continue;
				}
				snprintf(err, errlen,
					 p->argc < 1 ? "reload duration value is missing"
						     : "invalid reload duration '%s'",
					 p->argc > 0 ? p->args[0] : "");
				ret = E_CFG_SEMANTIC;
			}
		} else if (strcmp(p->name, "limit_answers") == 0 && p->argc == 1) {
			unsigned long v = strtoul(p->args[0], &end, 10);
			if (*end != '\0' || v == 0 || v > 65535) {
				snprintf(err, errlen, "limit_answers: bad number '%s'", p->args[0]);
				ret = E_CFG_SEMANTIC;
			}
			c->limit_answers = (uint32_t)v;
		} else if (strcmp(p->name, "prefer") == 0 && p->argc > 0) {
			for (int k = 0; k < p->argc && ret == E_OK; k++) {
				if (c->nprefer >= PREFER_MAX ||
				    parse_subnet(p->args[k], &c->prefer[c->nprefer]) != E_OK) {
					snprintf(err, errlen, "invalid CIDR \"%s\"", p->args[k]);
					ret = E_CFG_SEMANTIC;
				}
				c->nprefer++;
			}
		} else {
			snprintf(err, errlen, "unknown property '%s'", p->name);
			ret = E_CFG_SEMANTIC;
		}
	}
	if (ret == E_OK && c->weighted) {
		struct stat sb;
		ret = weights_read(c->file, &c->weights, err, errlen);
		if (ret == -ENOENT && c->reload_ms != 0) {
			/* CoreDNS: warn and try again at the next reload. */
			log_warn("loadbalance", "%s; trying again every %llu ms", err,
				 (unsigned long long)c->reload_ms);
			ret = E_OK;
		} else if (ret != E_OK) {
			ret = E_CFG_SEMANTIC;
		} else if (stat(c->file, &sb) == 0) {
			c->mtime = sb.st_mtime;
			c->size = sb.st_size;
		}
	}
	if (ret != E_OK) {
		lb_teardown(c);
		return ret;
	}
	*out = c;
	return E_OK;
}

/* ---- the response ---- */

static bool same_rrset(const msg_t *m, const msg_rr_t *a, const msg_rr_t *b)
{
	uint8_t na[DNAME_MAX], nb[DNAME_MAX];
	size_t pa = a->off, pb = b->off;
	if (a->type != b->type || a->rclass != b->rclass || a->sec != b->sec) {
		return false;
	}
	/* The writer repeats an RRset's owner as the same pointer: compare octets first. */
	if (m->wire[a->off] >= 0xC0 && m->wire[b->off] >= 0xC0 &&
	    memcmp(m->wire + a->off, m->wire + b->off, 2) == 0) {
		return true;
	}
	return dname_unpack(m->wire, m->len, &pa, na) >= 0 &&
	       dname_unpack(m->wire, m->len, &pb, nb) >= 0 && dname_equal(na, nb);
}

static bool in_subnet(const struct subnet *s, const msg_t *m, const msg_rr_t *r)
{
	int family = r->type == RR_A ? AF_INET : AF_INET6;
	const uint8_t *a = m->wire + r->rdoff;
	if (s->family != family || r->rdlen != (family == AF_INET ? 4 : 16)) {
		return false;
	}
	int full = s->bits / 8, rest = s->bits % 8;
	if (memcmp(s->addr, a, (size_t)full) != 0) {
		return false;
	}
	uint8_t mask = (uint8_t)(0xFF << (8 - rest));
	return rest == 0 || (s->addr[full] & mask) == (a[full] & mask);
}

/* The weighted choice for the top of an address RRset [i, j); returns its index. */
static int weighted_top(const struct lb_ctx *c, const msg_t *m, int i, int j)
{
	const struct weights *ws = rcu_dereference(c->weights);
	uint8_t owner[DNAME_MAX];
	size_t pos = m->rr[i].off;
	uint32_t wv[MSG_RR_MAX], sum = 0;

	if (ws == NULL || dname_unpack(m->wire, m->len, &pos, owner) < 0) {
		return i;
	}
	for (int k = i; k < j; k++) {
		const msg_rr_t *r = &m->rr[k];
		int family = r->type == RR_A ? AF_INET : AF_INET6;
		wv[k - i] = 1; /* no weight: 1 */
		for (int w = 0; w < ws->n; w++) {
			const struct weight *x = &ws->w[w];
			if (x->family == family && r->rdlen == (family == AF_INET ? 4 : 16) &&
			    memcmp(x->addr, m->wire + r->rdoff, r->rdlen) == 0 &&
			    dname_equal(x->owner, owner)) {
				wv[k - i] = x->value;
				break;
			}
		}
		sum += wv[k - i];
	}
	uint32_t v = rand32() % sum, acc = 0;
	for (int k = i; k < j; k++) {
		acc += wv[k - i];
		if (v < acc) {
			return k;
		}
	}
	return i;
}

/* The new order of m's records; true when it differs from the old one. */
static bool plan(struct lb_ctx *c, const msg_t *m, uint16_t qtype, uint16_t *order)
{
	bool moved = false, turned = false;
	uint32_t t = 0;

	for (int i = 0; i < m->nrr; i++) {
		order[i] = (uint16_t)i;
	}
	for (int i = 0; i < m->nrr;) {
		const msg_rr_t *r = &m->rr[i];
		int j = i + 1;
		while (j < m->nrr && same_rrset(m, r, &m->rr[j])) {
			j++;
		}
		int n = j - i;
		bool addr = r->type == RR_A || r->type == RR_AAAA;
		if (n > 1 && !c->weighted && (addr || r->type == RR_MX)) {
			if (!turned) {
				/* One step per response that has something to rotate. */
				t = __atomic_fetch_add(&c->turn, 1, __ATOMIC_RELAXED);
				turned = true;
			}
			uint32_t k = (t + (uint32_t)i) % (uint32_t)n;
			for (int x = 0; x < n; x++) {
				order[i + x] = (uint16_t)(i + (x + (int)k) % n);
			}
			moved = moved || k != 0;
		} else if (n > 1 && c->weighted && addr && r->sec != DNS_NS &&
			   (qtype == RR_A || qtype == RR_AAAA || qtype == RR_SRV)) {
			int top = weighted_top(c, m, i, j);
			order[i] = (uint16_t)top;
			order[top] = (uint16_t)i;
			moved = moved || top != i;
		}
		if (n > 1 && addr && c->nprefer > 0) {
			/* Addresses in a preferred subnet first, in the order of "prefer". */
			uint16_t tmp[MSG_RR_MAX];
			int w = 0;
			for (int s = 0; s <= c->nprefer; s++) {
				for (int x = i; x < j; x++) {
					int first = c->nprefer;
					for (int p = 0; p < c->nprefer && first == c->nprefer;
					     p++) {
						if (in_subnet(&c->prefer[p], m, &m->rr[order[x]])) {
							first = p;
						}
					}
					if (first == s) {
						tmp[w++] = order[x];
					}
				}
			}
			for (int x = 0; x < n; x++) {
				moved = moved || order[i + x] != tmp[x];
				order[i + x] = tmp[x];
			}
		}
		i = j;
	}
	return moved;
}

/* The end of the stretch of moved records starting at \a i: records move only within their
 * RRset, so the stretch closes where every index it holds came from inside it. */
static int stretch_end(const uint16_t *order, int n, int i)
{
	int j = i, last = i;
	do {
		last = order[j] > last ? order[j] : last;
		j++;
	} while (j <= last && j < n);
	return j;
}

/* Move the records in place when no name points into the ones that move. */
static bool move_in_place(const msg_t *m, uint8_t *wire, const uint16_t *order)
{
	uint8_t tmp[DNS_TCP_MAX];
	for (int i = 0; i < m->nrr;) {
		if (order[i] == i) {
			i++;
			continue;
		}
		int j = stretch_end(order, m->nrr, i);
		size_t lo = m->rr[i].off, hi = (size_t)m->rr[j - 1].rdoff + m->rr[j - 1].rdlen;
		for (int k = i; k < m->nrr; k++) {
			if (msg_rr_points_into(m, &m->rr[k], lo, hi)) {
				return false;
			}
		}
		i = j;
	}
	for (int i = 0; i < m->nrr;) {
		if (order[i] == i) {
			i++;
			continue;
		}
		int j = stretch_end(order, m->nrr, i);
		size_t pos = 0;
		for (int k = i; k < j; k++) {
			const msg_rr_t *r = &m->rr[order[k]];
			size_t l = (size_t)r->rdoff + r->rdlen - r->off;
			memcpy(tmp + pos, m->wire + r->off, l);
			pos += l;
		}
		memcpy(wire + m->rr[i].off, tmp, pos);
		i = j;
	}
	return true;
}

static void lb_response(query_t *q, void *ctx)
{
	struct lb_ctx *c = ctx;
	uint16_t order[MSG_RR_MAX];
	msg_t m;

	if (q->resp_len < DNS_HDR_LEN || DNS_RCODE(dns_u16(q->out + 2)) != RCODE_NOERROR ||
	    q->req.qtype == RR_AXFR || q->req.qtype == RR_IXFR) {
		return;
	}
	/* Nothing to move in fewer than two answers and nothing else: the common case. */
	if (dns_u16(q->out + 6) + dns_u16(q->out + 8) + dns_u16(q->out + 10) < 2) {
		return;
	}
	if (c->weighted) {
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		weights_check(c, (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000);
	}
	if (msg_parse(&m, q->out, q->resp_len) != E_OK) {
		return;
	}
	bool moved = plan(c, &m, q->req.qtype, order);
	int n = m.nrr;
	if (c->limit_answers > 0 && m.count[0] > c->limit_answers) {
		/* Only the first answers (after the shuffle); the other sections stay. */
		int keep = (int)c->limit_answers;
		memmove(order + keep, order + m.count[0],
			(size_t)(m.nrr - m.count[0]) * sizeof(order[0]));
		n = m.nrr - (m.count[0] - keep);
	} else if (!moved || move_in_place(&m, q->out, order)) {
		return;
	}
	uint8_t tmp[DNS_TCP_MAX];
	size_t len = msg_rebuild(&m, order, n, NULL, NULL, NULL, tmp, q->max_size);
	if (len > 0) {
		memcpy(q->out, tmp, len);
		q->resp_len = len;
	}
}

const stage_ops_t stage_loadbalance = {
	.name = "loadbalance",
	.setup = lb_setup,
	.response = lb_response,
	.teardown = lb_teardown,
};
