/*  Signet: Prometheus metrics (see metrics.h). */
#include "server/metrics.h"

#include <arpa/inet.h>
#include <event2/buffer.h>
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
#include "server/conf.h"
#include "server/query.h"
#include "server/stages/stages.h"
#include "server/state.h"

#define MZ_MAX           128 /* (server, zone) label sets */
#define MC_MAX           32  /* cache label sets */
#define MPROTO           2   /* udp, tcp (DNS over TLS counts as tcp, as in CoreDNS) */
#define MFAMILY          2
#define MTYPES           18 /* CoreDNS's monitored types, then "other" */
#define MRCODES          17 /* 0..15 from the header, 16 (BADVERS) with EDNS */
#define MPLUGINS         16
#define MSIZE_BKTS       14
#define MPORTS           64
#define NS_PER_SEC       1000000000ull
#define TIME_BUCKET_0_NS 250000ull /* 0.25 ms */

/* Every counter of one (server, zone) label set, in one thread. */
struct mz {
	uint64_t requests[MPROTO][MFAMILY][MTYPES];
	uint64_t do_requests;
	uint64_t duration[METRICS_TIME_BUCKETS + 1]; /* the last one is +Inf */
	uint64_t duration_ns;
	uint64_t req_size[MPROTO][MSIZE_BKTS + 1];
	uint64_t req_size_sum[MPROTO];
	uint64_t resp_size[MPROTO][MSIZE_BKTS + 1];
	uint64_t resp_size_sum[MPROTO];
	uint64_t responses[MRCODES][MPLUGINS];
	uint64_t acl[4];
};

/* One thread's counters; written by that thread only, read by the scraper. */
typedef struct metrics_thread {
	struct metrics_thread *next;
	struct mz z[MZ_MAX];
	uint64_t cache[MC_MAX][METRICS_CACHE_NCOUNTERS];
} metrics_thread_t;

struct metrics_block {
	char server[128];
	int nzones;
	uint8_t (*zones)[DNAME_MAX];
	int *series;
};

struct label2 {
	char *a, *b;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static metrics_thread_t *threads;
static _Thread_local metrics_thread_t *self;
static struct label2 zseries[MZ_MAX];
static int nzseries;
static struct label2 cseries[MC_MAX];
static int ncseries;
static const char *plugins[MPLUGINS] = { "" };
static int nplugins = 1;
static struct {
	uint16_t port;
	int series;
} dropped[MPORTS];
static int ndropped;
static bool enabled;
static time_t started;

static const uint16_t mtypes[MTYPES - 1] = { RR_A,     RR_AAAA,  RR_CNAME, RR_DNSKEY, RR_DS,
					     RR_MX,    RR_NSEC3, RR_NSEC,  RR_NS,     RR_PTR,
					     RR_RRSIG, RR_SOA,   RR_SRV,   RR_TXT,    RR_IXFR,
					     RR_AXFR,  RR_ANY };
static const char *const mtype_names[MTYPES] = { "A",     "AAAA",  "CNAME", "DNSKEY", "DS",
						 "MX",    "NSEC3", "NSEC",  "NS",     "PTR",
						 "RRSIG", "SOA",   "SRV",   "TXT",    "IXFR",
						 "AXFR",  "ANY",   "other" };
static const char *const rcode_names[MRCODES] = { "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN",
						  "NOTIMP",  "REFUSED", "YXDOMAIN", "YXRRSET",
						  "NXRRSET", "NOTAUTH", "NOTZONE",  "RCODE11",
						  "RCODE12", "RCODE13", "RCODE14",  "RCODE15",
						  "BADVERS" };
static const uint32_t size_bounds[MSIZE_BKTS] = { 0,    100,  200,  300,   400,   511,   1023,
						  2047, 4095, 8291, 16000, 32000, 48000, 64000 };
static const char *const time_les[METRICS_TIME_BUCKETS] = { "0.00025", "0.0005", "0.001", "0.002",
							    "0.004",   "0.008",  "0.016", "0.032",
							    "0.064",   "0.128",  "0.256", "0.512",
							    "1.024",   "2.048",  "4.096", "8.192" };
static const char *const protos[MPROTO] = { "udp", "tcp" };

static inline void inc(uint64_t *c, uint64_t n)
{
	/* Only this thread writes the counter; the scraper reads it whole. */
	__atomic_store_n(c, __atomic_load_n(c, __ATOMIC_RELAXED) + n, __ATOMIC_RELAXED);
}

static inline uint64_t get(const uint64_t *c)
{
	return __atomic_load_n(c, __ATOMIC_RELAXED);
}

static metrics_thread_t *thread_self(void)
{
	if (self == NULL) {
		metrics_thread_t *t = calloc(1, sizeof(*t)); /* once per thread; mostly untouched */
		if (t == NULL) {
			return NULL;
		}
		pthread_mutex_lock(&lock);
		t->next = threads;
		__atomic_store_n(&threads, t, __ATOMIC_RELEASE);
		pthread_mutex_unlock(&lock);
		self = t;
	}
	return self;
}

/* Index of (a, b) in \a tab, registered when new; -1 when full. Called with the lock held. */
static int series_find(struct label2 *tab, int *n, int max, const char *a, const char *b)
{
	for (int i = 0; i < *n; i++) {
		if (strcmp(tab[i].a, a) == 0 && strcmp(tab[i].b, b) == 0) {
			return i;
		}
	}
	if (*n >= max) {
		return -1;
	}
	tab[*n].a = strdup(a);
	tab[*n].b = strdup(b);
	if (tab[*n].a == NULL || tab[*n].b == NULL) {
		free(tab[*n].a);
		free(tab[*n].b);
		return -1;
	}
	__atomic_store_n(n, *n + 1, __ATOMIC_RELEASE);
	return *n - 1;
}

int metrics_block_new(metrics_block_t **out, const cfg_block_t *cfg, uint16_t port,
		      const char *bind, bool tls)
{
	metrics_block_t *m = calloc(1, sizeof(*m));
	int ret = -ENOMEM;
	if (m == NULL) {
		return -ENOMEM;
	}
	bool v6 = bind != NULL && strchr(bind, ':') != NULL && bind[0] != '[';
	snprintf(m->server, sizeof(m->server), "%s://%s%s%s:%u", tls ? "tls" : "dns", v6 ? "[" : "",
		 bind != NULL ? bind : "", v6 ? "]" : "", port);
	m->zones = calloc((size_t)cfg->nkeys + 1, sizeof(*m->zones));
	m->series = calloc((size_t)cfg->nkeys + 1, sizeof(int));
	if (m->zones == NULL || m->series == NULL) {
		goto fail;
	}
	pthread_mutex_lock(&lock);
	if (started == 0) {
		started = time(NULL);
	}
	for (int k = 0; k < cfg->nkeys; k++) {
		if (dname_from_str(m->zones[k], cfg->keys[k].zone, NULL) < 0) {
			m->zones[k][0] = 0;
		}
		dname_lower(m->zones[k]);
		m->series[k] =
			series_find(zseries, &nzseries, MZ_MAX, m->server, cfg->keys[k].zone);
	}
	m->nzones = cfg->nkeys;
	int d = series_find(zseries, &nzseries, MZ_MAX, m->server, "dropped");
	bool known = false;
	for (int i = 0; i < ndropped; i++) {
		known = known || dropped[i].port == port;
	}
	if (!known && ndropped < MPORTS && d >= 0) {
		dropped[ndropped].port = port;
		dropped[ndropped].series = d;
		__atomic_store_n(&ndropped, ndropped + 1, __ATOMIC_RELEASE);
	}
	__atomic_store_n(&enabled, true, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&lock);
	for (int k = 0; k < m->nzones; k++) {
		if (m->series[k] < 0) {
			log_warn("metrics",
				 "more than %d server/zone label sets: %s %s is not counted",
				 MZ_MAX, m->server, cfg->keys[k].zone);
		}
	}
	*out = m;
	return E_OK;
fail:
	metrics_block_free(m);
	return ret;
}

void metrics_block_free(metrics_block_t *m)
{
	if (m != NULL) {
		free(m->zones);
		free(m->series);
		free(m);
	}
}

const char *metrics_block_server(const metrics_block_t *m)
{
	return m->server;
}

static int type_index(uint16_t t)
{
	for (int i = 0; i < MTYPES - 1; i++) {
		if (mtypes[i] == t) {
			return i;
		}
	}
	return MTYPES - 1;
}

static int plugin_index(const char *name)
{
	int n = __atomic_load_n(&nplugins, __ATOMIC_ACQUIRE);
	if (name == NULL) {
		return 0;
	}
	for (int i = 1; i < n; i++) {
		if (plugins[i] == name) {
			return i;
		}
	}
	int idx = 0;
	pthread_mutex_lock(&lock);
	for (int i = 1; i < nplugins; i++) {
		if (plugins[i] == name || strcmp(plugins[i], name) == 0) {
			idx = i;
		}
	}
	if (idx == 0 && nplugins < MPLUGINS) {
		plugins[nplugins] = name; /* static strings: stage and source names */
		idx = nplugins;
		__atomic_store_n(&nplugins, nplugins + 1, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&lock);
	return idx;
}

int metrics_time_bucket(uint64_t ns)
{
	for (int i = 0; i < METRICS_TIME_BUCKETS; i++) {
		if (ns <= TIME_BUCKET_0_NS << i) {
			return i;
		}
	}
	return METRICS_TIME_BUCKETS;
}

static int size_bucket(size_t n)
{
	for (int i = 0; i < MSIZE_BKTS; i++) {
		if (n <= size_bounds[i]) {
			return i;
		}
	}
	return MSIZE_BKTS;
}

int metrics_query_series(const query_t *q)
{
	const metrics_block_t *mb = q->block != NULL ? q->block->metrics : NULL;
	if (mb == NULL) {
		if (q->block != NULL || !__atomic_load_n(&enabled, __ATOMIC_ACQUIRE)) {
			return -1;
		}
		int n = __atomic_load_n(&ndropped, __ATOMIC_ACQUIRE);
		for (int i = 0; i < n; i++) {
			if (dropped[i].port == q->port) {
				return dropped[i].series;
			}
		}
		return -1;
	}
	/* The longest of the block's zones holding the name (CoreDNS: "." when none). */
	int best = 0, best_labels = -1;
	for (int k = 0; k < mb->nzones; k++) {
		if (dname_is_sub(q->req.qname_lc, mb->zones[k])) {
			int l = dname_labels(mb->zones[k]);
			if (l > best_labels) {
				best = k;
				best_labels = l;
			}
		}
	}
	return mb->nzones > 0 ? mb->series[best] : -1;
}

void metrics_query(query_t *q, size_t resp_len)
{
	if (q->block != NULL && q->block->metrics == NULL) {
		return; /* the common case without "prometheus" */
	}
	int s = metrics_query_series(q);
	metrics_thread_t *t;
	struct timespec now;
	if (s < 0 || (t = thread_self()) == NULL) {
		return;
	}
	struct mz *z = &t->z[s];
	int proto = q->transport == TRANSPORT_UDP ? 0 : 1;
	int fam = q->remote != NULL && q->remote->sa_family == AF_INET6 ? 1 : 0;
	inc(&z->requests[proto][fam][type_index(q->req.qtype)], 1);
	if (q->req.edns.do_bit) {
		inc(&z->do_requests, 1);
	}
	clock_gettime(CLOCK_MONOTONIC, &now);
	int64_t ns = (int64_t)(now.tv_sec - q->start.tv_sec) * (int64_t)NS_PER_SEC +
		     (now.tv_nsec - q->start.tv_nsec);
	uint64_t d = ns > 0 ? (uint64_t)ns : 0;
	inc(&z->duration[metrics_time_bucket(d)], 1);
	inc(&z->duration_ns, d);
	inc(&z->req_size[proto][size_bucket(q->len)], 1);
	inc(&z->req_size_sum[proto], q->len);
	if (resp_len >= DNS_HDR_LEN) {
		unsigned rcode = DNS_RCODE(dns_u16(q->out + 2));
		if (rcode == (RCODE_BADVERS & 0xF) && q->req.edns.present &&
		    q->req.edns.version > 0) {
			rcode = RCODE_BADVERS;
		}
		const char *plugin = q->ss.plugin;
		if (plugin == NULL && q->ss.zentry != NULL && q->ss.zver != NULL) {
			plugin = q->ss.zentry->conf->source->name;
		}
		inc(&z->responses[rcode < MRCODES ? rcode : 0][plugin_index(plugin)], 1);
		inc(&z->resp_size[proto][size_bucket(resp_len)], 1);
		inc(&z->resp_size_sum[proto], resp_len);
	}
}

int metrics_cache_series(const char *server, const char *zones)
{
	pthread_mutex_lock(&lock);
	int s = series_find(cseries, &ncseries, MC_MAX, server, zones);
	pthread_mutex_unlock(&lock);
	return s;
}

void metrics_cache_count(int series, enum metrics_cache_counter c)
{
	metrics_thread_t *t;
	if (series >= 0 && series < MC_MAX && (t = thread_self()) != NULL) {
		inc(&t->cache[series][c], 1);
	}
}

void metrics_acl_count(const query_t *q, enum metrics_acl what)
{
	metrics_thread_t *t;
	int s = q->block != NULL && q->block->metrics != NULL ? metrics_query_series(q) : -1;
	if (s >= 0 && (t = thread_self()) != NULL) {
		inc(&t->z[s].acl[what], 1);
	}
}

/* ---- exposition ---- */

/* A label value with \, " and newline escaped. */
static const char *esc(char *buf, size_t len, const char *s)
{
	size_t n = 0;
	for (; *s != '\0' && n + 3 < len; s++) {
		if (*s == '\\' || *s == '"') {
			buf[n++] = '\\';
			buf[n++] = *s;
		} else if (*s == '\n') {
			buf[n++] = '\\';
			buf[n++] = 'n';
		} else {
			buf[n++] = *s;
		}
	}
	buf[n] = '\0';
	return buf;
}

static void header(struct evbuffer *out, const char *name, const char *type, const char *help)
{
	evbuffer_add_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* Sum every thread's counters. */
static void sum_threads(struct mz *z, int nz, uint64_t (*c)[METRICS_CACHE_NCOUNTERS], int nc)
{
	for (const metrics_thread_t *t = __atomic_load_n(&threads, __ATOMIC_ACQUIRE); t != NULL;
	     t = t->next) {
		for (int s = 0; s < nz; s++) {
			const uint64_t *src = (const uint64_t *)&t->z[s];
			uint64_t *dst = (uint64_t *)&z[s];
			for (size_t i = 0; i < sizeof(struct mz) / sizeof(uint64_t); i++) {
				dst[i] += get(&src[i]);
			}
		}
		for (int s = 0; s < nc; s++) {
			for (int i = 0; i < METRICS_CACHE_NCOUNTERS; i++) {
				c[s][i] += get(&t->cache[s][i]);
			}
		}
	}
}

static void write_process(struct evbuffer *out)
{
	FILE *f = fopen("/proc/self/stat", "r");
	unsigned long ut = 0, st = 0, rss = 0;
	long hz = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
	if (f != NULL) {
		char buf[1024];
		size_t n = fread(buf, 1, sizeof(buf) - 1, f);
		buf[n] = '\0';
		fclose(f);
		const char *p = strrchr(buf, ')');
		/* After "pid (comm)": state is field 3; utime 14, stime 15, rss 24. */
		if (p != NULL &&
		    sscanf(p + 2,
			   "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu %*d %*d "
			   "%*d %*d %*d %*d %*u %*u %lu",
			   &ut, &st, &rss) != 3) {
			ut = st = rss = 0;
		}
	}
	header(out, "process_cpu_seconds_total", "counter",
	       "Total user and system CPU time spent in seconds.");
	evbuffer_add_printf(out, "process_cpu_seconds_total %.2f\n",
			    hz > 0 ? (double)(ut + st) / (double)hz : 0.0);
	header(out, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.");
	evbuffer_add_printf(out, "process_resident_memory_bytes %lu\n", rss * (unsigned long)page);
	header(out, "process_start_time_seconds", "gauge",
	       "Start time of the process since unix epoch in seconds.");
	evbuffer_add_printf(out, "process_start_time_seconds %lld\n", (long long)started);
}

static void write_dns(struct evbuffer *out, const struct mz *z, int nz)
{
	char sv[256], zn[1024];
	header(out, "coredns_dns_requests_total", "counter",
	       "Counter of DNS requests made per zone, protocol and family.");
	for (int s = 0; s < nz; s++) {
		esc(sv, sizeof(sv), zseries[s].a);
		esc(zn, sizeof(zn), zseries[s].b);
		for (int p = 0; p < MPROTO; p++) {
			for (int f = 0; f < MFAMILY; f++) {
				for (int t = 0; t < MTYPES; t++) {
					if (z[s].requests[p][f][t] == 0) {
						continue;
					}
					evbuffer_add_printf(
						out,
						"coredns_dns_requests_total{server=\"%s\",zone=\"%"
						"s\","
						"view=\"\",proto=\"%s\",family=\"%d\",type=\"%s\"} "
						"%llu\n",
						sv, zn, protos[p], f + 1, mtype_names[t],
						(unsigned long long)z[s].requests[p][f][t]);
				}
			}
		}
	}
	header(out, "coredns_dns_do_requests_total", "counter",
	       "Counter of DNS requests with DO bit set per zone.");
	for (int s = 0; s < nz; s++) {
		if (z[s].do_requests > 0) {
			evbuffer_add_printf(
				out,
				"coredns_dns_do_requests_total{server=\"%s\",zone=\"%s\","
				"view=\"\"} %llu\n",
				esc(sv, sizeof(sv), zseries[s].a),
				esc(zn, sizeof(zn), zseries[s].b),
				(unsigned long long)z[s].do_requests);
		}
	}
	header(out, "coredns_dns_request_duration_seconds", "histogram",
	       "Histogram of the time (in seconds) each request took per zone.");
	for (int s = 0; s < nz; s++) {
		uint64_t cum = 0;
		for (int b = 0; b <= METRICS_TIME_BUCKETS; b++) {
			cum += z[s].duration[b];
		}
		if (cum == 0) {
			continue;
		}
		esc(sv, sizeof(sv), zseries[s].a);
		esc(zn, sizeof(zn), zseries[s].b);
		cum = 0;
		for (int b = 0; b <= METRICS_TIME_BUCKETS; b++) {
			cum += z[s].duration[b];
			evbuffer_add_printf(
				out,
				"coredns_dns_request_duration_seconds_bucket{server=\"%s\","
				"zone=\"%s\",view=\"\",le=\"%s\"} %llu\n",
				sv, zn, b < METRICS_TIME_BUCKETS ? time_les[b] : "+Inf",
				(unsigned long long)cum);
		}
		evbuffer_add_printf(
			out,
			"coredns_dns_request_duration_seconds_sum{server=\"%s\",zone=\"%s\","
			"view=\"\"} %.9f\n",
			sv, zn, (double)z[s].duration_ns / (double)NS_PER_SEC);
		evbuffer_add_printf(out,
				    "coredns_dns_request_duration_seconds_count{server=\"%s\","
				    "zone=\"%s\",view=\"\"} %llu\n",
				    sv, zn, (unsigned long long)cum);
	}
	for (int which = 0; which < 2; which++) {
		const char *name = which == 0 ? "coredns_dns_request_size_bytes"
					      : "coredns_dns_response_size_bytes";
		header(out, name, "histogram",
		       which == 0 ? "Size of the EDNS0 UDP buffer in bytes (64K for TCP) per zone "
				    "and protocol."
				  : "Size of the returned response in bytes.");
		for (int s = 0; s < nz; s++) {
			for (int p = 0; p < MPROTO; p++) {
				const uint64_t *b =
					which == 0 ? z[s].req_size[p] : z[s].resp_size[p];
				uint64_t sum =
					which == 0 ? z[s].req_size_sum[p] : z[s].resp_size_sum[p];
				uint64_t cum = 0;
				for (int i = 0; i <= MSIZE_BKTS; i++) {
					cum += b[i];
				}
				if (cum == 0) {
					continue;
				}
				esc(sv, sizeof(sv), zseries[s].a);
				esc(zn, sizeof(zn), zseries[s].b);
				cum = 0;
				for (int i = 0; i <= MSIZE_BKTS; i++) {
					char le[16];
					cum += b[i];
					if (i < MSIZE_BKTS) {
						snprintf(le, sizeof(le), "%u", size_bounds[i]);
					} else {
						snprintf(le, sizeof(le), "+Inf");
					}
					evbuffer_add_printf(
						out,
						"%s_bucket{server=\"%s\",zone=\"%s\",view=\"\","
						"proto=\"%s\",le=\"%s\"} %llu\n",
						name, sv, zn, protos[p], le,
						(unsigned long long)cum);
				}
				evbuffer_add_printf(
					out,
					"%s_sum{server=\"%s\",zone=\"%s\",view=\"\",proto="
					"\"%s\"} %llu\n",
					name, sv, zn, protos[p], (unsigned long long)sum);
				evbuffer_add_printf(out,
						    "%s_count{server=\"%s\",zone=\"%s\",view=\"\","
						    "proto=\"%s\"} %llu\n",
						    name, sv, zn, protos[p],
						    (unsigned long long)cum);
			}
		}
	}
	header(out, "coredns_dns_responses_total", "counter", "Counter of response status codes.");
	int np = __atomic_load_n(&nplugins, __ATOMIC_ACQUIRE);
	for (int s = 0; s < nz; s++) {
		for (int r = 0; r < MRCODES; r++) {
			for (int p = 0; p < np; p++) {
				if (z[s].responses[r][p] == 0) {
					continue;
				}
				evbuffer_add_printf(
					out,
					"coredns_dns_responses_total{server=\"%s\",zone=\"%s\","
					"view=\"\",rcode=\"%s\",plugin=\"%s\"} %llu\n",
					esc(sv, sizeof(sv), zseries[s].a),
					esc(zn, sizeof(zn), zseries[s].b), rcode_names[r],
					plugins[p], (unsigned long long)z[s].responses[r][p]);
			}
		}
	}
}

static void write_acl(struct evbuffer *out, const struct mz *z, int nz)
{
	static const char *const names[4] = { "coredns_acl_allowed_requests_total",
					      "coredns_acl_blocked_requests_total",
					      "coredns_acl_filtered_requests_total",
					      "coredns_acl_dropped_requests_total" };
	static const char *const helps[4] = { "Counter of DNS requests being allowed.",
					      "Counter of DNS requests being blocked.",
					      "Counter of DNS requests being filtered.",
					      "Counter of DNS requests being dropped." };
	char sv[256], zn[1024];
	for (int a = 0; a < 4; a++) {
		header(out, names[a], "counter", helps[a]);
		for (int s = 0; s < nz; s++) {
			uint64_t v = z[s].acl[a];
			if (a == METRICS_ACL_ALLOW) {
				/* {server, view}: the sum over the server's zones, printed once. */
				bool first = true;
				for (int o = 0; o < s; o++) {
					first = first && strcmp(zseries[o].a, zseries[s].a) != 0;
				}
				if (!first) {
					continue;
				}
				v = 0;
				for (int o = s; o < nz; o++) {
					v += strcmp(zseries[o].a, zseries[s].a) == 0 ? z[o].acl[a]
										     : 0;
				}
				if (v > 0) {
					evbuffer_add_printf(
						out, "%s{server=\"%s\",view=\"\"} %llu\n", names[a],
						esc(sv, sizeof(sv), zseries[s].a),
						(unsigned long long)v);
				}
				continue;
			}
			if (v > 0) {
				evbuffer_add_printf(
					out, "%s{server=\"%s\",zone=\"%s\",view=\"\"} %llu\n",
					names[a], esc(sv, sizeof(sv), zseries[s].a),
					esc(zn, sizeof(zn), zseries[s].b), (unsigned long long)v);
			}
		}
	}
}

static void write_cache(struct evbuffer *out, uint64_t (*c)[METRICS_CACHE_NCOUNTERS], int nc,
			const server_state_t *st)
{
	static const struct {
		const char *name, *help;
		int counter, counter2; /* two: by type, success then denial */
	} fams[] = {
		{ "coredns_cache_hits_total", "The count of cache hits.", METRICS_CACHE_HIT_SUCCESS,
		  METRICS_CACHE_HIT_DENIAL },
		{ "coredns_cache_misses_total",
		  "The count of cache misses. Deprecated, derive misses from cache hits/requests "
		  "counters.",
		  METRICS_CACHE_MISS, -1 },
		{ "coredns_cache_requests_total", "The count of cache requests.",
		  METRICS_CACHE_REQUEST, -1 },
		{ "coredns_cache_prefetch_total",
		  "The number of times the cache has prefetched a cached item.",
		  METRICS_CACHE_PREFETCH, -1 },
		{ "coredns_cache_served_stale_total",
		  "The number of requests served from stale cache entries.",
		  METRICS_CACHE_SERVED_STALE, -1 },
		{ "coredns_cache_evictions_total", "The count of cache evictions.",
		  METRICS_CACHE_EVICT_SUCCESS, METRICS_CACHE_EVICT_DENIAL },
		{ "coredns_cache_drops_total",
		  "The number responses that are not cached, because the reply is malformed.",
		  METRICS_CACHE_DROP, -1 },
	};
	char sv[256], zn[1024];
	for (size_t f = 0; f < sizeof(fams) / sizeof(fams[0]); f++) {
		header(out, fams[f].name, "counter", fams[f].help);
		for (int s = 0; s < nc; s++) {
			esc(sv, sizeof(sv), cseries[s].a);
			esc(zn, sizeof(zn), cseries[s].b);
			if (fams[f].counter2 < 0) {
				evbuffer_add_printf(
					out, "%s{server=\"%s\",zones=\"%s\",view=\"\"} %llu\n",
					fams[f].name, sv, zn,
					(unsigned long long)c[s][fams[f].counter]);
				continue;
			}
			for (int k = 0; k < 2; k++) {
				evbuffer_add_printf(
					out,
					"%s{server=\"%s\",type=\"%s\",zones=\"%s\",view=\"\"} "
					"%llu\n",
					fams[f].name, sv, k == 0 ? "success" : "denial", zn,
					(unsigned long long)
						c[s][k == 0 ? fams[f].counter : fams[f].counter2]);
			}
		}
	}
	header(out, "coredns_cache_entries", "gauge", "The number of elements in the cache.");
	for (int b = 0; st != NULL && b < st->conf->nblocks; b++) {
		const conf_block_t *cb = &st->conf->blocks[b];
		for (int i = 0; i < cb->nstages; i++) {
			int series;
			uint64_t n[2];
			if (!cache_stage_entries(&cb->stages[i], &series, n) || series < 0 ||
			    series >= nc) {
				continue;
			}
			esc(sv, sizeof(sv), cseries[series].a);
			esc(zn, sizeof(zn), cseries[series].b);
			for (int k = 0; k < 2; k++) {
				evbuffer_add_printf(
					out,
					"coredns_cache_entries{server=\"%s\",type=\"%s\","
					"zones=\"%s\",view=\"\"} %llu\n",
					sv, k == 0 ? "success" : "denial", zn,
					(unsigned long long)n[k]);
			}
		}
	}
}

/* One sample per zone entry: \a value reads it, false when the zone has none. */
static void write_per_zone(struct evbuffer *out, const server_state_t *st, const char *name,
			   const char *extra, bool (*value)(const zone_entry_t *, uint64_t *))
{
	char zn[1024];
	for (int i = 0; st != NULL && i < st->nzones; i++) {
		const zone_entry_t *e = &st->zones[i];
		uint64_t v;
		if (value(e, &v)) {
			evbuffer_add_printf(out, "%s{zone=\"%s\",port=\"%u\"%s} %llu\n", name,
					    esc(zn, sizeof(zn), e->conf->apex_str),
					    st->conf->views[e->conf->view].port, extra,
					    (unsigned long long)v);
		}
	}
}

static bool v_serial(const zone_entry_t *e, uint64_t *v)
{
	const zone_t *z = rcu_dereference(e->zone);
	*v = z != NULL ? z->serial : 0;
	return z != NULL;
}

static bool v_records(const zone_entry_t *e, uint64_t *v)
{
	const zone_t *z = rcu_dereference(e->zone);
	*v = z != NULL ? z->nrecords : 0;
	return z != NULL;
}

static bool v_loaded(const zone_entry_t *e, uint64_t *v)
{
	*v = rcu_dereference(e->zone) != NULL;
	return true;
}

/* The counters the zone manager keeps in each entry (relaxed atomics). */
static bool v_signatures(const zone_entry_t *e, uint64_t *v)
{
	*v = __atomic_load_n(&e->signatures, __ATOMIC_RELAXED);
	return true;
}

static bool v_axfr(const zone_entry_t *e, uint64_t *v)
{
	*v = __atomic_load_n(&e->xfr_out[0], __ATOMIC_RELAXED);
	return true;
}

static bool v_ixfr(const zone_entry_t *e, uint64_t *v)
{
	*v = __atomic_load_n(&e->xfr_out[1], __ATOMIC_RELAXED);
	return true;
}

static bool v_source_errors(const zone_entry_t *e, uint64_t *v)
{
	*v = __atomic_load_n(&e->source_errors, __ATOMIC_RELAXED);
	return true;
}

static void write_signet(struct evbuffer *out, const server_state_t *st)
{
	char extra[128];
	header(out, "signet_zone_serial", "gauge", "The SOA serial of the version served.");
	write_per_zone(out, st, "signet_zone_serial", "", v_serial);
	header(out, "signet_zone_records", "gauge",
	       "The records (signatures included) of the version served.");
	write_per_zone(out, st, "signet_zone_records", "", v_records);
	header(out, "signet_zone_loaded", "gauge", "1 when a version of the zone is served.");
	write_per_zone(out, st, "signet_zone_loaded", "", v_loaded);
	header(out, "signet_dnssec_signatures_total", "counter", "Signatures made, per zone.");
	write_per_zone(out, st, "signet_dnssec_signatures_total", "", v_signatures);
	header(out, "signet_xfr_total", "counter", "Zone transfers sent, per zone and type.");
	write_per_zone(out, st, "signet_xfr_total", ",type=\"AXFR\"", v_axfr);
	write_per_zone(out, st, "signet_xfr_total", ",type=\"IXFR\"", v_ixfr);
	header(out, "signet_source_errors_total", "counter",
	       "Failed loads of zone sources, per zone and source.");
	for (int i = 0; st != NULL && i < st->nzones; i++) {
		/* The source's name as a label of its own. */
		const zone_entry_t *e = &st->zones[i];
		uint64_t v;
		char zn[1024];
		v_source_errors(e, &v);
		snprintf(extra, sizeof(extra), ",source=\"%s\"", e->conf->source->name);
		evbuffer_add_printf(
			out, "signet_source_errors_total{zone=\"%s\",port=\"%u\"%s} %llu\n",
			esc(zn, sizeof(zn), e->conf->apex_str), st->conf->views[e->conf->view].port,
			extra, (unsigned long long)v);
	}
}

static void write_plugins(struct evbuffer *out, const server_state_t *st)
{
	char sv[256], zn[1024];
	header(out, "coredns_plugin_enabled", "gauge",
	       "A metric that indicates whether a plugin is enabled on per server and zone basis.");
	for (int b = 0; st != NULL && b < st->conf->nblocks; b++) {
		const conf_block_t *cb = &st->conf->blocks[b];
		if (cb->metrics == NULL) {
			continue;
		}
		for (int k = 0; k < cb->cfg->nkeys; k++) {
			esc(sv, sizeof(sv), cb->metrics->server);
			esc(zn, sizeof(zn), cb->cfg->keys[k].zone);
			for (int d = 0; d < cb->cfg->ndirs; d++) {
				bool dup = false;
				for (int e = 0; e < d; e++) {
					dup = dup || strcmp(cb->cfg->dirs[e].name,
							    cb->cfg->dirs[d].name) == 0;
				}
				if (!dup) {
					evbuffer_add_printf(
						out,
						"coredns_plugin_enabled{server=\"%s\",zone=\"%s\","
						"view=\"\",name=\"%s\"} 1\n",
						sv, zn, cb->cfg->dirs[d].name);
				}
			}
		}
	}
}

void metrics_write(struct evbuffer *out, const server_state_t *st)
{
	int nz = __atomic_load_n(&nzseries, __ATOMIC_ACQUIRE);
	int nc = __atomic_load_n(&ncseries, __ATOMIC_ACQUIRE);
	struct mz *z = calloc((size_t)nz + 1, sizeof(*z));
	uint64_t(*c)[METRICS_CACHE_NCOUNTERS] = calloc((size_t)nc + 1, sizeof(*c));
	if (z != NULL && c != NULL) {
		sum_threads(z, nz, c, nc);
		write_process(out);
		write_dns(out, z, nz);
		write_acl(out, z, nz);
		write_cache(out, c, nc, st);
		write_plugins(out, st);
	}
	write_signet(out, st);
	free(z);
	free(c);
}
