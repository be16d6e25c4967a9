/*  Signet: signing a whole zone version in memory.
 *
 *  1. The input without its DNSSEC records, plus DNSKEY, CDS, CDNSKEY (and NSEC3PARAM), is
 *     built into an unsigned version: the builder works out empty non-terminals, cuts and
 *     glue once.
 *  2. The NSEC or NSEC3 chain is made from that version.
 *  3. Every authoritative RRset (and every NSEC/NSEC3) becomes a job; worker threads take
 *     jobs in chunks, reuse the previous version's RRSIGs where they may, sign the rest,
 *     each into its own buffer.
 *  4. The calling thread adds everything to a new builder and finishes the signed version.
 */
#include "dnssec/sign.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dns/err.h"
#include "dns/log.h"
#include "dns/pkt.h"
#include "dns/rdata.h"
#include "dns/rrtype.h"
#include "dnssec/internal.h"
#include "zones/builder.h"

#define RRSIG_FIXED     18  /*!< RRSIG RDATA before the signer's name */
#define JOBS_PER_CHUNK  64  /*!< jobs a worker takes at a time */
#define JOBS_PER_THREAD 256 /*!< fewer jobs than this per thread: fewer threads */
#define THREADS_MAX     256
#define KEY_RDATA_MAX   (4 + 1024) /*!< DNSKEY RDATA: flags, protocol, algorithm, key */

void dnssec_conf_init(dnssec_conf_t *conf)
{
	memset(conf, 0, sizeof(*conf));
	conf->sig_lifetime = 14 * 86400;
	conf->sig_refresh = 7 * 86400;
	conf->sig_inception = 3600;
}

/* One signing key and what its RRSIGs carry. */
struct signer {
	const dnssec_key_t *key;
	uint16_t tag;
	uint8_t alg;
};

/* The keys of each role at this moment. */
struct signers {
	struct signer zone[KEYSET_MAX]; /* every RRset: ZSKs, or CSKs */
	int nzone;
	struct signer keys[KEYSET_MAX]; /* DNSKEY, CDS, CDNSKEY: KSKs and CSKs */
	int nkeys;
};

/* One RRset to sign. */
struct job {
	const uint8_t *owner;
	const uint8_t *rdata; /* count × (RDLENGTH, RDATA) */
	uint32_t len;
	uint32_t ttl;
	uint16_t type;
	uint16_t count;
	uint8_t labels;   /* RRSIG labels: the owner's, a leading "*" not counted */
	uint8_t ksk;      /* signed by the key-signing keys */
	uint8_t nsec3;    /* a hashed NSEC3 owner: found in the previous version's chain */
	uint16_t worker;  /* whose buffer holds the RRSIGs */
	uint32_t out_len; /* bytes of RRSIG RDATA (each with its RDLENGTH) */
	size_t out_off;   /* where in that buffer */
};

/* One RR in canonical form (RFC 4034 §6.2). */
struct crr {
	const uint8_t *rd;
	uint16_t len;
};

struct sign_ctx;

struct worker {
	struct sign_ctx *ctx;
	pthread_t tid;
	uint16_t index;
	uint8_t *out; /* RRSIG RDATA of the jobs done, each with its RDLENGTH */
	size_t out_len, out_cap;
	uint8_t *data; /* the data being signed */
	size_t data_cap;
	uint8_t *canon; /* lower-cased RDATA */
	size_t canon_cap;
	struct crr *rrs;
	size_t rrs_cap;
	uint64_t made, reused;
	int64_t min_expire;
	int ret;
};

struct sign_ctx {
	const zone_t *prev;
	const struct signers *signers;
	const dnssec_conf_t *conf;
	int64_t now;
	uint32_t max_jitter;
	const uint8_t *apex;
	size_t apex_len;
	struct job *jobs;
	size_t njobs;
	atomic_size_t next;
	atomic_int failed;
};

static double monotonic(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cpus_available(void)
{
	cpu_set_t set;
	if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0) {
		return CPU_COUNT(&set);
	}
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (int)n : 1;
}

/* The roles as keys/ defines them: ZSKs sign the zone and KSKs the keys; a 257 key signs
 * the zone too while no 256 key is active (a CSK), a 256 key the keys while no 257 is. */
static int signers_pick(const keyset_t *ks, int64_t now, struct signers *s)
{
	uint8_t rd[KEY_RDATA_MAX];

	memset(s, 0, sizeof(*s));
	for (int i = 0; i < ks->n && i < KEYSET_MAX; i++) {
		const dnssec_key_t *k = ks->keys[i];
		if (k == NULL || !key_active(k, now)) {
			continue;
		}
		struct signer sg = { .key = k, .alg = k->algorithm };
		sg.tag = key_tag(rd, key_dnskey_rdata(k, rd));
		if (keyset_signs_zone(ks, k, now)) {
			s->zone[s->nzone++] = sg;
		}
		if (keyset_signs_dnskey(ks, k, now)) {
			s->keys[s->nkeys++] = sg;
		}
	}
	return s->nzone > 0 && s->nkeys > 0 ? E_OK : -ENOKEY;
}

/* Problems the builder finds in data that was already checked once: errors are logged,
 * warnings (such as RRSIGs of one owner with different TTLs) are expected. */
static void diag_quiet(void *ud, int level, const char *where, const char *msg)
{
	if (level <= LOG_ERR) {
		log_err("dnssec", "%s%s%s", where != NULL ? where : "", where != NULL ? ": " : "",
			msg);
	}
}

/* The input without DNSSEC records, with the keys' records (and NSEC3PARAM) at the apex. */
static int build_unsigned(const zone_t *in, const keyset_t *ks, const dnssec_conf_t *conf,
			  int64_t now, zone_t **out)
{
	zone_builder_t *b = NULL;
	uint8_t *rd = malloc(KEY_RDATA_MAX + 6 + 255); /* DNSKEY, CDS or NSEC3PARAM RDATA */
	int ret = zone_builder_new(&b, in->apex_name);
	if (ret != E_OK || rd == NULL) {
		ret = ret != E_OK ? ret : -ENOMEM;
		goto out;
	}
	zone_builder_set_diag(b, diag_quiet, NULL);
	ret = zone_builder_add_zone(b, in, true); /* RRSIG, NSEC(3), NSEC3PARAM, DNSKEY, CDS... */
	uint32_t soa_ttl = zone_node_rrset(in->apex, RR_SOA)->ttl; /* the builder checked */
	uint32_t key_ttl = conf->dnskey_ttl != 0 ? conf->dnskey_ttl : soa_ttl;
	for (int i = 0; i < ks->n && ret == E_OK; i++) {
		const dnssec_key_t *k = ks->keys[i];
		/* A key that signs is published even if its timing forgot to say so. */
		if (k == NULL || !(key_published(k, now) || key_active(k, now))) {
			continue;
		}
		size_t len = key_dnskey_rdata(k, rd);
		ret = zone_builder_add(b, in->apex_name, RR_DNSKEY, key_ttl, rd, (uint16_t)len,
				       NULL);
		if (ret != E_OK || !key_is_ksk(k) || !key_sync_published(k, now)) {
			continue;
		}
		ret = zone_builder_add(b, in->apex_name, RR_CDNSKEY, key_ttl, rd, (uint16_t)len,
				       NULL);
		len = KEY_DS_MAX;
		if (ret == E_OK) {
			ret = key_ds_rdata(k, 2, rd, &len);
		}
		if (ret == E_OK) {
			ret = zone_builder_add(b, in->apex_name, RR_CDS, key_ttl, rd, (uint16_t)len,
					       NULL);
		}
	}
	if (ret == E_OK && conf->nsec3) {
		size_t len = 0;
		rd[len++] = DNSSEC_NSEC3_ALG_SHA1;
		rd[len++] = 0; /* RFC 5155 §4.1.2: flags 0 in NSEC3PARAM */
		dns_put16(rd + len, conf->iterations);
		len += 2;
		rd[len++] = conf->salt_len;
		memcpy(rd + len, conf->salt, conf->salt_len);
		len += conf->salt_len;
		uint32_t min = zone_soa_minimum(in);
		ret = zone_builder_add(b, in->apex_name, RR_NSEC3PARAM,
				       min < soa_ttl ? min : soa_ttl, rd, (uint16_t)len, NULL);
	}
	if (ret != E_OK) {
		goto out;
	}
	ret = zone_builder_finish(b, out);
	b = NULL;
out:
	zone_builder_free(b);
	free(rd);
	return ret;
}

/* --- canonical form ---------------------------------------------------------------- */

/* Lower-case the name at rd[*pos]; false when it does not fit. */
static bool lower_name(uint8_t *rd, uint16_t rdlen, size_t *pos)
{
	while (*pos < rdlen) {
		uint8_t l = rd[*pos];
		if (l == 0) {
			(*pos)++;
			return true;
		}
		if (l > DNAME_LABEL_MAX || *pos + 1u + l > rdlen) {
			return false;
		}
		for (size_t i = *pos + 1; i <= *pos + l; i++) {
			rd[i] = dname_lower_octet(rd[i]);
		}
		*pos += 1u + l;
	}
	return false;
}

/* Lower-case the names in one RDATA in place (left as is where it does not parse). */
static void canon_rdata(const dns_rdata_layout_t *l, uint8_t *rd, uint16_t rdlen)
{
	size_t pos;
	int names;
	if (dns_rdata_names(l, rd, rdlen, &pos, &names) != E_OK) {
		return;
	}
	for (int i = 0; i < names; i++) {
		if (pos > rdlen || !lower_name(rd, rdlen, &pos)) {
			return;
		}
	}
}

static int crr_cmp(const void *x, const void *y)
{
	const struct crr *a = x, *b = y;
	uint16_t l = a->len < b->len ? a->len : b->len;
	int r = memcmp(a->rd, b->rd, l);
	if (r != 0) {
		return r;
	}
	return (a->len > b->len) - (a->len < b->len);
}

static int grow(void *pp, size_t *cap, size_t need, size_t elem)
{
	if (need <= *cap) {
		return E_OK;
	}
	size_t c = *cap != 0 ? *cap : 256;
	while (c < need) {
		c *= 2;
	}
	void *p = realloc(*(void **)pp, c * elem);
	if (p == NULL) {
		return -ENOMEM;
	}
	*(void **)pp = p;
	*cap = c;
	return E_OK;
}

/* The RRs of \a j in canonical form and order into w->rrs; \return their number or an
 * error. */
static int canon_rrset(struct worker *w, const struct job *j)
{
	dns_rdata_layout_t lay;
	bool lower = dns_rdata_layout(j->type, &lay);
	int ret = grow(&w->rrs, &w->rrs_cap, j->count, sizeof(struct crr));
	if (ret == E_OK && lower) {
		ret = grow(&w->canon, &w->canon_cap, j->len, 1);
	}
	if (ret != E_OK) {
		return ret;
	}
	const zone_rrset_t view = { .rdata = (uint8_t *)j->rdata, .len = j->len };
	uint32_t pos = 0;
	uint16_t rdlen;
	const uint8_t *rd;
	size_t n = 0;
	while ((rd = zone_rrset_next(&view, &pos, &rdlen)) != NULL) {
		if (lower) {
			uint8_t *c = w->canon + (rd - j->rdata);
			memcpy(c, rd, rdlen);
			canon_rdata(&lay, c, rdlen);
			rd = c;
		}
		w->rrs[n].rd = rd;
		w->rrs[n].len = rdlen;
		n++;
	}
	if (lower && n > 1) {
		qsort(w->rrs, n, sizeof(struct crr), crr_cmp);
		size_t m = 1;
		for (size_t i = 1; i < n; i++) {
			if (crr_cmp(&w->rrs[m - 1], &w->rrs[i]) != 0) {
				w->rrs[m++] = w->rrs[i];
			}
		}
		n = m;
	}
	return (int)n;
}

/* --- signatures --------------------------------------------------------------------- */

static int64_t from_serial(uint32_t t, int64_t now)
{
	return now + (int32_t)(t - (uint32_t)now);
}

static uint32_t jitter(const struct sign_ctx *c, const struct job *j)
{
	if (c->max_jitter == 0) {
		return 0;
	}
	uint32_t h = dname_hash(j->owner);
	h = (h ^ j->type) * 16777619u;
	h ^= h >> 15;
	return h % (c->max_jitter + 1);
}

static int out_put(struct worker *w, const uint8_t *rd, size_t len)
{
	int ret = grow(&w->out, &w->out_cap, w->out_len + 2 + len, 1);
	if (ret != E_OK) {
		return ret;
	}
	dns_put16(w->out + w->out_len, (uint16_t)len);
	memcpy(w->out + w->out_len + 2, rd, len);
	w->out_len += 2 + len;
	return E_OK;
}

static void note_expiry(struct worker *w, int64_t expire)
{
	if (w->min_expire == 0 || expire < w->min_expire) {
		w->min_expire = expire;
	}
}

/* The previous version's signatures over the same RRset (same TTL and RDATA), or NULL. */
static const zone_rrset_t *prev_sigs(const struct sign_ctx *c, const struct job *j)
{
	if (c->prev == NULL) {
		return NULL;
	}
	const zone_node_t *node =
		j->nsec3 ? zone_find_nsec3(c->prev, j->owner, false) : zone_find(c->prev, j->owner);
	if (node == NULL) {
		return NULL;
	}
	const zone_rrset_t *rs = zone_node_rrset(node, j->type);
	if (rs == NULL || rs->sigs == NULL || rs->ttl != j->ttl || rs->count != j->count ||
	    rs->len != j->len || memcmp(rs->rdata, j->rdata, j->len) != 0) {
		return NULL;
	}
	return rs->sigs;
}

/* A previous RRSIG by \a s over the RRset of \a j that stays valid past the refresh time. */
static const uint8_t *reusable(const struct sign_ctx *c, const struct job *j,
			       const zone_rrset_t *sigs, const struct signer *s, uint16_t *len)
{
	uint32_t pos = 0;
	uint16_t rdlen;
	const uint8_t *rd;
	while ((rd = zone_rrset_next(sigs, &pos, &rdlen)) != NULL) {
		if (rdlen < RRSIG_FIXED + c->apex_len || rd[2] != s->alg ||
		    dns_u16(rd + 16) != s->tag || rd[3] != j->labels || dns_u32(rd + 4) != j->ttl ||
		    memcmp(rd + RRSIG_FIXED, c->apex, c->apex_len) != 0) {
			continue;
		}
		int64_t expire = from_serial(dns_u32(rd + 8), c->now);
		int64_t incept = from_serial(dns_u32(rd + 12), c->now);
		/* Refreshed a jitter window early: the expirations are spread over that
		 * window, and refreshing only those due now made one new serial (journal
		 * entry, NOTIFY) per handful of signatures, every second or so. */
		if (expire >= c->now + c->conf->sig_refresh + c->max_jitter && incept <= c->now) {
			*len = rdlen;
			return rd;
		}
	}
	return NULL;
}

static int sign_job(struct worker *w, struct job *j)
{
	struct sign_ctx *c = w->ctx;
	const struct signers *ss = c->signers;
	const struct signer *keys = j->ksk ? ss->keys : ss->zone;
	int nkeys = j->ksk ? ss->nkeys : ss->nzone;
	const zone_rrset_t *old = prev_sigs(c, j);
	size_t prefix = RRSIG_FIXED + c->apex_len;
	size_t olen = dname_len(j->owner);
	size_t total = 0;
	int n = -1;
	int ret = E_OK;

	j->worker = w->index;
	j->out_off = w->out_len;
	for (int k = 0; k < nkeys && ret == E_OK; k++) {
		const struct signer *s = &keys[k];
		uint16_t len;
		const uint8_t *rd = old != NULL ? reusable(c, j, old, s, &len) : NULL;
		if (rd != NULL) {
			ret = out_put(w, rd, len);
			note_expiry(w, from_serial(dns_u32(rd + 8), c->now));
			w->reused++;
			continue;
		}
		if (n < 0) {
			/* The RRs once for every key: owner, type, class, TTL, RDLENGTH, RDATA. */
			n = canon_rrset(w, j);
			if (n < 0) {
				ret = n;
				break;
			}
			total = prefix + (size_t)n * (olen + 10) + j->len + KEY_SIG_MAX;
			ret = grow(&w->data, &w->data_cap, total, 1);
			if (ret != E_OK) {
				break;
			}
			uint8_t *p = w->data + prefix;
			for (int i = 0; i < n; i++) {
				memcpy(p, j->owner, olen);
				p += olen;
				dns_put16(p, j->type);
				dns_put16(p + 2, CLASS_IN);
				dns_put32(p + 4, j->ttl);
				dns_put16(p + 8, w->rrs[i].len);
				memcpy(p + 10, w->rrs[i].rd, w->rrs[i].len);
				p += 10 + w->rrs[i].len;
			}
			total = (size_t)(p - w->data);
		}
		uint8_t *d = w->data;
		uint32_t expire = (uint32_t)(c->now + c->conf->sig_lifetime - jitter(c, j));
		dns_put16(d, j->type);
		d[2] = s->alg;
		d[3] = j->labels;
		dns_put32(d + 4, j->ttl);
		dns_put32(d + 8, expire);
		dns_put32(d + 12, (uint32_t)(c->now - c->conf->sig_inception));
		dns_put16(d + 16, s->tag);
		memcpy(d + RRSIG_FIXED, c->apex, c->apex_len);
		uint8_t sig[KEY_SIG_MAX];
		size_t siglen = sizeof(sig);
		ret = key_sign(s->key, d, total, sig, &siglen);
		if (ret != E_OK) {
			break;
		}
		ret = grow(&w->out, &w->out_cap, w->out_len + 2 + prefix + siglen, 1);
		if (ret != E_OK) {
			break;
		}
		dns_put16(w->out + w->out_len, (uint16_t)(prefix + siglen));
		memcpy(w->out + w->out_len + 2, d, prefix);
		memcpy(w->out + w->out_len + 2 + prefix, sig, siglen);
		w->out_len += 2 + prefix + siglen;
		note_expiry(w, from_serial(expire, c->now));
		w->made++;
	}
	j->out_len = (uint32_t)(w->out_len - j->out_off);
	return ret;
}

static void *worker_run(void *arg)
{
	struct worker *w = arg;
	struct sign_ctx *c = w->ctx;
	while (atomic_load_explicit(&c->failed, memory_order_relaxed) == 0) {
		size_t first = atomic_fetch_add(&c->next, JOBS_PER_CHUNK);
		if (first >= c->njobs) {
			break;
		}
		size_t last = first + JOBS_PER_CHUNK < c->njobs ? first + JOBS_PER_CHUNK : c->njobs;
		for (size_t i = first; i < last; i++) {
			int ret = sign_job(w, &c->jobs[i]);
			if (ret != E_OK) {
				w->ret = ret;
				atomic_store(&c->failed, 1);
				break;
			}
		}
	}
	return NULL;
}

/* --- the whole zone ----------------------------------------------------------------- */

static bool job_wanted(const zone_node_t *node, uint16_t type)
{
	if (!dnssec_node_auth(node)) {
		return false; /* glue, occluded */
	}
	/* At a cut only the DS is the parent's (RFC 4035 §2.2). */
	return !(node->flags & ZONE_NODE_DELEG) || type == RR_DS;
}

static uint8_t rrsig_labels(const uint8_t *owner)
{
	int labels = dname_labels(owner);
	return (uint8_t)(dname_is_wildcard(owner) ? labels - 1 : labels);
}

static int collect_jobs(const zone_t *u, const dnssec_rrbuf_t *chain, bool nsec3, struct job **out,
			size_t *njobs)
{
	size_t n = chain->count;
	for (uint32_t k = 0; k < u->nnodes; k++) {
		const zone_node_t *node = u->nodes[k];
		for (uint16_t i = 0; i < node->nrrsets; i++) {
			n += job_wanted(node, node->rrsets[i].type) ? 1 : 0;
		}
	}
	struct job *jobs = calloc(n != 0 ? n : 1, sizeof(*jobs));
	if (jobs == NULL) {
		return -ENOMEM;
	}
	n = 0;
	for (uint32_t k = 0; k < u->nnodes; k++) {
		const zone_node_t *node = u->nodes[k];
		uint8_t labels = rrsig_labels(node->owner);
		for (uint16_t i = 0; i < node->nrrsets; i++) {
			const zone_rrset_t *rs = &node->rrsets[i];
			if (!job_wanted(node, rs->type)) {
				continue;
			}
			struct job *j = &jobs[n++];
			j->owner = node->owner;
			j->rdata = rs->rdata;
			j->len = rs->len;
			j->ttl = rs->ttl;
			j->type = rs->type;
			j->count = rs->count;
			j->labels = labels;
			j->ksk = (node->flags & ZONE_NODE_APEX) &&
				 (rs->type == RR_DNSKEY || rs->type == RR_CDS ||
				  rs->type == RR_CDNSKEY);
		}
	}
	size_t pos = 0;
	dnssec_rr_t rr;
	while (dnssec_rrbuf_next(chain, &pos, &rr)) {
		struct job *j = &jobs[n++];
		j->owner = rr.owner;
		j->rdata = rr.set;
		j->len = 2u + rr.rdlen;
		j->ttl = rr.ttl;
		j->type = rr.type;
		j->count = 1;
		j->labels = rrsig_labels(rr.owner);
		j->nsec3 = nsec3;
	}
	*out = jobs;
	*njobs = n;
	return E_OK;
}

/* The signed version: the unsigned one, the chain and every job's RRSIGs. */
static int build_signed(const zone_t *u, const dnssec_rrbuf_t *chain, const struct job *jobs,
			size_t njobs, const struct worker *ws, zone_t **out)
{
	zone_builder_t *b = NULL;
	int ret = zone_builder_new(&b, u->apex_name);
	if (ret != E_OK) {
		return ret;
	}
	zone_builder_set_diag(b, diag_quiet, NULL);
	ret = zone_builder_add_zone(b, u, false);
	size_t pos = 0;
	dnssec_rr_t rr;
	while (ret == E_OK && dnssec_rrbuf_next(chain, &pos, &rr)) {
		ret = zone_builder_add(b, rr.owner, rr.type, rr.ttl, rr.rdata, rr.rdlen, NULL);
	}
	for (size_t i = 0; i < njobs && ret == E_OK; i++) {
		const struct job *j = &jobs[i];
		zone_rrset_t sigs = { .rdata = ws[j->worker].out + j->out_off, .len = j->out_len };
		uint32_t p = 0;
		uint16_t rdlen;
		const uint8_t *rd;
		while (ret == E_OK && (rd = zone_rrset_next(&sigs, &p, &rdlen)) != NULL) {
			ret = zone_builder_add(b, j->owner, RR_RRSIG, j->ttl, rd, rdlen, NULL);
		}
	}
	if (ret != E_OK) {
		zone_builder_free(b);
		return ret;
	}
	return zone_builder_finish(b, out);
}

int dnssec_sign_zone(const zone_t *in, const zone_t *prev, const keyset_t *ks,
		     const dnssec_conf_t *conf, int64_t now, zone_t **out, int64_t *next_resign,
		     dnssec_sign_stats_t *stats)
{
	double t0 = monotonic();
	struct signers ss;
	struct sign_ctx ctx;
	dnssec_rrbuf_t chain = { 0 };
	zone_t *u = NULL;
	struct job *jobs = NULL;
	struct worker *ws = NULL;
	size_t njobs = 0;
	int nthreads = 0, started = 0;
	int ret;

	*out = NULL;
	if (conf->sig_lifetime == 0 || conf->sig_refresh >= conf->sig_lifetime) {
		ret = -EINVAL;
		goto out;
	}
	ret = signers_pick(ks, now, &ss);
	if (ret == E_OK) {
		ret = build_unsigned(in, ks, conf, now, &u);
	}
	if (ret != E_OK) {
		goto out;
	}
	const zone_rrset_t *soa = zone_node_rrset(u->apex, RR_SOA);
	uint32_t min = zone_soa_minimum(u);
	uint32_t ttl = min < soa->ttl ? min : soa->ttl; /* RFC 9077 */
	if (conf->nsec3) {
		dnssec_nsec3_params_t p = { .flags = conf->opt_out ? DNSSEC_NSEC3_OPTOUT : 0,
					    .iterations = conf->iterations,
					    .salt_len = conf->salt_len,
					    .salt = conf->salt };
		ret = dnssec_nsec3_chain(u, &p, ttl, &chain);
	} else {
		ret = dnssec_nsec_chain(u, ttl, &chain);
	}
	if (ret == E_OK) {
		ret = collect_jobs(u, &chain, conf->nsec3, &jobs, &njobs);
	}
	if (ret != E_OK) {
		goto out;
	}

	nthreads = conf->threads > 0 ? conf->threads : cpus_available();
	if ((size_t)nthreads > njobs / JOBS_PER_THREAD + 1) {
		nthreads = (int)(njobs / JOBS_PER_THREAD + 1);
	}
	nthreads = nthreads > THREADS_MAX ? THREADS_MAX : nthreads;
	ws = calloc((size_t)nthreads, sizeof(*ws));
	if (ws == NULL) {
		ret = -ENOMEM;
		goto out;
	}
	memset(&ctx, 0, sizeof(ctx));
	ctx.prev = prev;
	ctx.signers = &ss;
	ctx.conf = conf;
	ctx.now = now;
	/* Up to a tenth of the lifetime, and never so much that a new signature is due. */
	ctx.max_jitter = conf->sig_lifetime / 10;
	if (ctx.max_jitter > (conf->sig_lifetime - conf->sig_refresh) / 2) {
		ctx.max_jitter = (conf->sig_lifetime - conf->sig_refresh) / 2;
	}
	ctx.apex = u->apex_name;
	ctx.apex_len = u->apex_len;
	ctx.jobs = jobs;
	ctx.njobs = njobs;
	atomic_init(&ctx.next, 0);
	atomic_init(&ctx.failed, 0);
	for (int i = 0; i < nthreads; i++) {
		ws[i].ctx = &ctx;
		ws[i].index = (uint16_t)i;
	}
	for (started = 1; started < nthreads; started++) {
		if (pthread_create(&ws[started].tid, NULL, worker_run, &ws[started]) != 0) {
			break; /* fewer threads: the others take the work */
		}
	}
	worker_run(&ws[0]);
	int64_t min_expire = 0;
	uint64_t made = 0, reused = 0;
	for (int i = 0; i < started; i++) {
		if (i > 0) {
			pthread_join(ws[i].tid, NULL);
		}
		if (ws[i].ret != E_OK && ret == E_OK) {
			ret = ws[i].ret;
		}
		if (ws[i].min_expire != 0 && (min_expire == 0 || ws[i].min_expire < min_expire)) {
			min_expire = ws[i].min_expire;
		}
		made += ws[i].made;
		reused += ws[i].reused;
	}
	if (ret != E_OK) {
		goto out;
	}
	ret = build_signed(u, &chain, jobs, njobs, ws, out);
	if (ret != E_OK) {
		goto out;
	}
	if (next_resign != NULL) {
		*next_resign = min_expire - conf->sig_refresh;
	}
	if (stats != NULL) {
		stats->signatures_made = made;
		stats->signatures_reused = reused;
	}
out:
	for (int i = 0; ws != NULL && i < nthreads; i++) {
		free(ws[i].rrs);
		free(ws[i].canon);
		free(ws[i].data);
		free(ws[i].out);
	}
	free(ws);
	free(jobs);
	dnssec_rrbuf_free(&chain);
	zone_free(u);
	if (stats != NULL) {
		stats->seconds = monotonic() - t0;
	}
	return ret;
}
