/*
 * loadgen — a DNS-over-UDP load generator for `make bench`.
 *
 * One thread, pinned to one CPU, drives a server to saturation: every query of
 * the query file ("name type" per line) is encoded into wire format once, up
 * front; the run then keeps a fixed window of queries outstanding over several
 * connected UDP sockets with sendmmsg/recvmmsg, matches each reply to its query
 * by a random message ID and the question, and counts a query as lost when no
 * reply came within the timeout. After a warm-up it measures for the given
 * duration, waits for the stragglers, and prints one JSON object on stdout.
 *
 * With -P PID it also reads the CPU time (utime + stime) of that process from
 * /proc at the start and the end of the measured interval.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_SOCKETS 64
#define MAX_BATCH   256
#define MAX_WINDOW  65536
#define ID_SPACE    65536
#define RESP_BUF    4096
#define LAT_STEP_US 10
#define LAT_BUCKETS 10000 /* 10 µs steps up to 100 ms, then one overflow bucket */
#define EXPIRE_NS   10000000ULL
#define POLL_MS     1
#define SOCK_BUF    (4 * 1024 * 1024)
#define NS_PER_SEC  1000000000ULL
#define DNS_HDR     12
#define FLAG_QR     0x80
#define FLAG_AA     0x04
#define FLAG_TC     0x02
#define NO_SLOT     (-1)
#define MAX_CPUS    256

enum phase { PHASE_WARMUP, PHASE_MEASURE, PHASE_DRAIN };

struct opts {
	const char *server;
	int port;
	const char *qfile;
	double duration;
	double warmup;
	int window;
	int sockets;
	int batch;
	int timeout_ms;
	int cpu;
	bool edns;
	bool dnssec_ok;
	int edns_size;
	long server_pid;
	int send_min;
	bool spin;
};

/* All queries in wire format, back to back; IDs are patched in at send time. */
struct query_set {
	uint8_t *wire;
	uint32_t *off;
	uint16_t *len;
	uint16_t *qlen; /* length of the question section (QNAME QTYPE QCLASS) */
	size_t count;
	size_t cap;
	size_t wire_len;
	size_t wire_cap;
};

struct slot {
	uint64_t sent_ns;
	uint32_t query;
	uint16_t id;
	uint8_t phase;
	uint8_t busy;
};

struct sock {
	int fd;
	int window;
	int send_min; /* send when at least this many slots are free */
	int outstanding;
	struct slot *slots;
	uint32_t *free_slots; /* stack of free slot indexes */
	int nfree;
	int32_t *id2slot; /* ID_SPACE entries: slot index of an outstanding ID, or NO_SLOT */
};

struct stats {
	uint64_t sent;
	uint64_t answered;
	uint64_t lost;
	uint64_t tc;
	uint64_t aa;
	uint64_t noerror_empty;
	uint64_t resp_bytes;
	uint64_t rcode[16];
	uint64_t lat_sum_us;
	uint64_t lat_hist[LAT_BUCKETS + 1];
};

struct counters {
	uint64_t unexpected; /* reply with an ID that is not outstanding (late or foreign) */
	uint64_t mismatched; /* reply whose question is not the one sent with that ID */
	uint64_t malformed;  /* too short, or not a response */
	uint64_t send_again; /* sendmmsg found the socket buffer full */
	uint64_t send_err;
	uint64_t recv_err;
	uint64_t sendmmsg_calls; /* all counted over the measured interval only */
	uint64_t recvmmsg_calls;
	uint64_t recvmmsg_empty;
	uint64_t polls;
};

static bool g_measuring;

static struct stats g_stats;
static struct counters g_count;
static uint64_t g_rng = 0x9e3779b97f4a7c15ULL;

static uint64_t rng_next(void)
{
	/* xorshift64* */
	g_rng ^= g_rng >> 12;
	g_rng ^= g_rng << 25;
	g_rng ^= g_rng >> 27;
	return g_rng * 0x2545f4914f6cdd1dULL;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_SEC + (uint64_t)ts.tv_nsec;
}

static void die(const char *msg)
{
	fprintf(stderr, "loadgen: %s\n", msg);
	exit(1);
}

static void die_errno(const char *what)
{
	fprintf(stderr, "loadgen: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n, size);

	if (p == NULL) {
		die("out of memory");
	}
	return p;
}

static void *xrealloc(void *p, size_t size)
{
	p = realloc(p, size);
	if (p == NULL) {
		die("out of memory");
	}
	return p;
}

static const struct {
	const char *name;
	uint16_t code;
} rrtypes[] = {
	{ "A", 1 },      { "NS", 2 },     { "CNAME", 5 },    { "SOA", 6 },    { "PTR", 12 },
	{ "HINFO", 13 }, { "MX", 15 },    { "TXT", 16 },     { "AAAA", 28 },  { "LOC", 29 },
	{ "SRV", 33 },   { "NAPTR", 35 }, { "DNAME", 39 },   { "DS", 43 },    { "SSHFP", 44 },
	{ "RRSIG", 46 }, { "NSEC", 47 },  { "DNSKEY", 48 },  { "NSEC3", 50 }, { "NSEC3PARAM", 51 },
	{ "TLSA", 52 },  { "CDS", 59 },   { "CDNSKEY", 60 }, { "SVCB", 64 },  { "HTTPS", 65 },
	{ "AXFR", 252 }, { "ANY", 255 },  { "CAA", 257 },
};

static int rrtype_parse(const char *s, uint16_t *out)
{
	size_t i;
	char *end;
	unsigned long v;

	for (i = 0; i < sizeof(rrtypes) / sizeof(rrtypes[0]); i++) {
		if (strcasecmp(s, rrtypes[i].name) == 0) {
			*out = rrtypes[i].code;
			return 0;
		}
	}
	if (strncasecmp(s, "TYPE", 4) == 0) {
		v = strtoul(s + 4, &end, 10);
		if (*end == '\0' && end != s + 4 && v <= 65535) {
			*out = (uint16_t)v;
			return 0;
		}
	}
	return -1;
}

/* Encode a presentation name ("www.example." or "www.example") without escapes. */
static int name_encode(const char *name, uint8_t *out, size_t *outlen)
{
	size_t pos = 0;
	const char *p = name;

	if (strcmp(name, ".") == 0) {
		out[0] = 0;
		*outlen = 1;
		return 0;
	}
	while (*p != '\0') {
		const char *dot = strchr(p, '.');
		size_t len = dot != NULL ? (size_t)(dot - p) : strlen(p);

		if (len == 0 || len > 63 || pos + 1 + len + 1 > 255) {
			return -1;
		}
		out[pos++] = (uint8_t)len;
		memcpy(out + pos, p, len);
		pos += len;
		p += len;
		if (*p == '.') {
			p++;
		}
	}
	out[pos++] = 0;
	*outlen = pos;
	return 0;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

static void query_add(struct query_set *qs, const uint8_t *msg, size_t len, size_t qlen)
{
	if (qs->count == qs->cap) {
		qs->cap = qs->cap != 0 ? qs->cap * 2 : 4096;
		qs->off = xrealloc(qs->off, qs->cap * sizeof(*qs->off));
		qs->len = xrealloc(qs->len, qs->cap * sizeof(*qs->len));
		qs->qlen = xrealloc(qs->qlen, qs->cap * sizeof(*qs->qlen));
	}
	if (qs->wire_len + len > qs->wire_cap) {
		qs->wire_cap = qs->wire_cap != 0 ? qs->wire_cap * 2 : 1 << 20;
		qs->wire = xrealloc(qs->wire, qs->wire_cap);
	}
	memcpy(qs->wire + qs->wire_len, msg, len);
	qs->off[qs->count] = (uint32_t)qs->wire_len;
	qs->len[qs->count] = (uint16_t)len;
	qs->qlen[qs->count] = (uint16_t)qlen;
	qs->wire_len += len;
	qs->count++;
}

static void queries_load(struct query_set *qs, const struct opts *o)
{
	FILE *f = fopen(o->qfile, "r");
	char line[1024];
	unsigned long lineno = 0;

	if (f == NULL) {
		die_errno(o->qfile);
	}
	memset(qs, 0, sizeof(*qs));
	while (fgets(line, sizeof(line), f) != NULL) {
		char name[512], type[64];
		uint8_t msg[512];
		size_t nlen, len;
		uint16_t qtype;

		lineno++;
		if (line[0] == '#' || line[0] == ';' ||
		    sscanf(line, "%511s %63s", name, type) != 2) {
			continue;
		}
		if (rrtype_parse(type, &qtype) != 0 ||
		    name_encode(name, msg + DNS_HDR, &nlen) != 0) {
			fprintf(stderr, "loadgen: %s:%lu: cannot encode \"%s %s\", skipped\n",
				o->qfile, lineno, name, type);
			continue;
		}
		memset(msg, 0, DNS_HDR);
		/* ID 0 (patched at send time), flags 0: a plain query without RD. */
		put16(msg + 4, 1);
		len = DNS_HDR + nlen;
		put16(msg + len, qtype);
		put16(msg + len + 2, 1); /* IN */
		len += 4;
		if (o->edns) {
			put16(msg + 10, 1);
			msg[len++] = 0;       /* root owner */
			put16(msg + len, 41); /* OPT */
			put16(msg + len + 2, (uint16_t)o->edns_size);
			msg[len + 4] = 0; /* extended RCODE */
			msg[len + 5] = 0; /* version */
			put16(msg + len + 6, o->dnssec_ok ? 0x8000 : 0);
			put16(msg + len + 8, 0); /* RDLEN */
			len += 10;
		}
		query_add(qs, msg, len, nlen + 4);
	}
	fclose(f);
	if (qs->count == 0) {
		die("no queries in the query file");
	}
}

static int sock_open(const struct sockaddr_in *dst)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int size = SOCK_BUF;

	if (fd < 0) {
		die_errno("socket");
	}
	/* Best effort: the kernel caps these at net.core.[rw]mem_max. */
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	if (connect(fd, (const struct sockaddr *)dst, sizeof(*dst)) != 0) {
		die_errno("connect");
	}
	return fd;
}

static void sock_init(struct sock *s, int fd, int window, int send_min)
{
	int i;

	s->fd = fd;
	s->window = window;
	s->send_min = send_min < 1 ? 1 : send_min > window ? window : send_min;
	s->outstanding = 0;
	s->slots = xcalloc((size_t)window, sizeof(*s->slots));
	s->free_slots = xcalloc((size_t)window, sizeof(*s->free_slots));
	s->id2slot = xcalloc(ID_SPACE, sizeof(*s->id2slot));
	for (i = 0; i < ID_SPACE; i++) {
		s->id2slot[i] = NO_SLOT;
	}
	for (i = 0; i < window; i++) {
		s->free_slots[i] = (uint32_t)(window - 1 - i);
	}
	s->nfree = window;
}

static void slot_release(struct sock *s, uint32_t idx)
{
	struct slot *sl = &s->slots[idx];

	s->id2slot[sl->id] = NO_SLOT;
	sl->busy = 0;
	s->free_slots[s->nfree++] = idx;
	s->outstanding--;
}

/* A random ID that is not outstanding on this socket. */
static uint16_t id_pick(const struct sock *s)
{
	uint16_t id = (uint16_t)(rng_next() >> 48);

	while (s->id2slot[id] != NO_SLOT) {
		id++;
	}
	return id;
}

/* Fill the socket's window; returns the number of queries sent. */
static int sock_send(struct sock *s, const struct query_set *qs, size_t *cursor, int batch,
		     uint64_t now, enum phase ph)
{
	struct mmsghdr msgs[MAX_BATCH];
	struct iovec iov[MAX_BATCH][2];
	uint8_t idbuf[MAX_BATCH][2];
	uint32_t used[MAX_BATCH];
	int total = 0;

	while (s->nfree > 0) {
		int n = s->nfree < batch ? s->nfree : batch;
		int i, sent;

		for (i = 0; i < n; i++) {
			uint32_t idx = s->free_slots[--s->nfree];
			struct slot *sl = &s->slots[idx];
			size_t q = *cursor;

			*cursor = q + 1 == qs->count ? 0 : q + 1;
			sl->id = id_pick(s);
			sl->query = (uint32_t)q;
			sl->sent_ns = now;
			sl->phase = (uint8_t)ph;
			sl->busy = 1;
			s->id2slot[sl->id] = (int32_t)idx;
			s->outstanding++;
			used[i] = idx;
			put16(idbuf[i], sl->id);
			iov[i][0].iov_base = idbuf[i];
			iov[i][0].iov_len = 2;
			iov[i][1].iov_base = qs->wire + qs->off[q] + 2;
			iov[i][1].iov_len = qs->len[q] - 2u;
			memset(&msgs[i].msg_hdr, 0, sizeof(msgs[i].msg_hdr));
			msgs[i].msg_hdr.msg_iov = iov[i];
			msgs[i].msg_hdr.msg_iovlen = 2;
		}
		sent = sendmmsg(s->fd, msgs, (unsigned int)n, 0);
		g_count.sendmmsg_calls += g_measuring;
		if (sent < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				g_count.send_again++;
			} else if (errno != EINTR) {
				g_count.send_err++;
			}
			sent = 0;
		}
		/* Give back the slots of what was not sent; reuse their queries next time. */
		for (i = n - 1; i >= sent; i--) {
			slot_release(s, used[i]);
		}
		if (sent < n) {
			size_t back = (size_t)(n - sent);

			*cursor = (*cursor + qs->count - back % qs->count) % qs->count;
		}
		if (ph == PHASE_MEASURE) {
			g_stats.sent += (uint64_t)sent;
		}
		total += sent;
		if (sent < n) {
			break;
		}
	}
	return total;
}

static void reply_account(const uint8_t *buf, size_t len, uint64_t lat_ns)
{
	uint8_t rcode = buf[3] & 0x0f;
	uint64_t us = lat_ns / 1000;
	uint64_t bucket = us / LAT_STEP_US;

	g_stats.answered++;
	g_stats.rcode[rcode]++;
	g_stats.resp_bytes += len;
	if ((buf[2] & FLAG_TC) != 0) {
		g_stats.tc++;
	}
	if ((buf[2] & FLAG_AA) != 0) {
		g_stats.aa++;
	}
	if (rcode == 0 && get16(buf + 6) == 0) {
		g_stats.noerror_empty++;
	}
	g_stats.lat_sum_us += us;
	g_stats.lat_hist[bucket < LAT_BUCKETS ? bucket : LAT_BUCKETS]++;
}

/* Read what is waiting on the socket; returns the number of datagrams received. */
static int sock_recv(struct sock *s, const struct query_set *qs, uint8_t (*bufs)[RESP_BUF],
		     int batch, uint64_t now)
{
	struct mmsghdr msgs[MAX_BATCH];
	struct iovec iov[MAX_BATCH];
	int i, n;

	for (i = 0; i < batch; i++) {
		iov[i].iov_base = bufs[i];
		iov[i].iov_len = RESP_BUF;
		memset(&msgs[i].msg_hdr, 0, sizeof(msgs[i].msg_hdr));
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
	}
	n = recvmmsg(s->fd, msgs, (unsigned int)batch, MSG_DONTWAIT, NULL);
	g_count.recvmmsg_calls += g_measuring;
	if (n < 0) {
		g_count.recvmmsg_empty += g_measuring;
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
			/* ECONNREFUSED: nothing listens (yet); the queries will time out. */
			g_count.recv_err++;
		}
		return 0;
	}
	for (i = 0; i < n; i++) {
		const uint8_t *buf = bufs[i];
		size_t len = msgs[i].msg_len;
		int32_t idx;
		struct slot *sl;
		size_t q;

		if (len < DNS_HDR || (buf[2] & FLAG_QR) == 0) {
			g_count.malformed++;
			continue;
		}
		idx = s->id2slot[get16(buf)];
		if (idx == NO_SLOT) {
			g_count.unexpected++;
			continue;
		}
		sl = &s->slots[idx];
		q = sl->query;
		if (len < DNS_HDR + (size_t)qs->qlen[q] || get16(buf + 4) != 1 ||
		    memcmp(buf + DNS_HDR, qs->wire + qs->off[q] + DNS_HDR, qs->qlen[q]) != 0) {
			g_count.mismatched++;
			continue;
		}
		if (sl->phase == PHASE_MEASURE) {
			reply_account(buf, len, now - sl->sent_ns);
		}
		slot_release(s, (uint32_t)idx);
	}
	return n;
}

static void sock_expire(struct sock *s, uint64_t deadline)
{
	int i;

	for (i = 0; i < s->window; i++) {
		struct slot *sl = &s->slots[i];

		if (sl->busy && sl->sent_ns < deadline) {
			if (sl->phase == PHASE_MEASURE) {
				g_stats.lost++;
			}
			slot_release(s, (uint32_t)i);
		}
	}
}

static int measured_outstanding(const struct sock *socks, int n)
{
	int i, j, c = 0;

	for (i = 0; i < n; i++) {
		for (j = 0; j < socks[i].window; j++) {
			if (socks[i].slots[j].busy && socks[i].slots[j].phase == PHASE_MEASURE) {
				c++;
			}
		}
	}
	return c;
}

/* utime + stime of a process in seconds, from /proc/PID/stat; -1 when unreadable. */
static double proc_cpu_seconds(long pid)
{
	char path[64], buf[1024];
	FILE *f;
	size_t n;
	char *p;
	unsigned long utime, stime;
	int field;

	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	f = fopen(path, "r");
	if (f == NULL) {
		return -1;
	}
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')'); /* comm may contain spaces */
	if (p == NULL) {
		return -1;
	}
	p++;
	/* p is before field 3 (state); utime and stime are fields 14 and 15. */
	for (field = 3; field < 14; field++) {
		p = strchr(p + 1, ' ');
		if (p == NULL) {
			return -1;
		}
	}
	if (sscanf(p, " %lu %lu", &utime, &stime) != 2) {
		return -1;
	}
	return (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
}

/*
 * Busy time (everything but idle and iowait) of each CPU in seconds, from
 * /proc/stat; returns the number of CPUs read. Shows what other processes
 * took from the measured cores.
 */
static int cpus_busy_seconds(double *busy, int max)
{
	char line[512];
	FILE *f = fopen("/proc/stat", "r");
	int n = 0;

	if (f == NULL) {
		return 0;
	}
	while (n < max && fgets(line, sizeof(line), f) != NULL) {
		unsigned long long v[8] = { 0 };
		int cpu;

		if (strncmp(line, "cpu", 3) != 0 || line[3] < '0' || line[3] > '9') {
			continue;
		}
		if (sscanf(line + 3, "%d %llu %llu %llu %llu %llu %llu %llu %llu", &cpu, &v[0],
			   &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]) < 9 ||
		    cpu != n) {
			break;
		}
		/* user nice system idle iowait irq softirq steal */
		busy[n++] = (double)(v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) /
			    (double)sysconf(_SC_CLK_TCK);
	}
	fclose(f);
	return n;
}

static double self_cpu_seconds(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static uint64_t lat_percentile(double pct)
{
	uint64_t target, acc = 0;
	int i;

	if (g_stats.answered == 0) {
		return 0;
	}
	target = (uint64_t)((double)g_stats.answered * pct / 100.0);
	for (i = 0; i <= LAT_BUCKETS; i++) {
		acc += g_stats.lat_hist[i];
		if (acc > target) {
			return (uint64_t)(i + 1) * LAT_STEP_US;
		}
	}
	return (uint64_t)(LAT_BUCKETS + 1) * LAT_STEP_US;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: loadgen -f QUERYFILE [options]\n"
		"  -s ADDR     server IPv4 address (127.0.0.1)\n"
		"  -p PORT     server port (53)\n"
		"  -f FILE     query file, one \"name type\" per line\n"
		"  -t SECONDS  measured duration (10)\n"
		"  -w SECONDS  warm-up before measuring (1)\n"
		"  -W N        queries outstanding in total (200)\n"
		"  -S N        UDP sockets (4)\n"
		"  -b N        batch size for sendmmsg/recvmmsg (64)\n"
		"  -A N        send on a socket once N of its slots are free\n"
		"              (min(batch, its window / 2))\n"
		"  -B          busy-poll: never sleep waiting for replies\n"
		"  -T MS       a query unanswered this long is lost (1000)\n"
		"  -D          EDNS with the DO bit\n"
		"  -E SIZE     EDNS with this UDP payload size (1232 with -D)\n"
		"  -c CPU      pin to this CPU\n"
		"  -P PID      report this process's CPU time over the measured interval\n");
	exit(2);
}

static void opts_parse(struct opts *o, int argc, char **argv)
{
	int c;

	*o = (struct opts){ .server = "127.0.0.1",
			    .port = 53,
			    .duration = 10,
			    .warmup = 1,
			    .window = 200,
			    .sockets = 4,
			    .batch = 64,
			    .timeout_ms = 1000,
			    .cpu = -1,
			    .edns_size = 1232,
			    .server_pid = -1 };
	while ((c = getopt(argc, argv, "s:p:f:t:w:W:S:b:A:T:DE:c:P:Bh")) != -1) {
		switch (c) {
		case 's':
			o->server = optarg;
			break;
		case 'p':
			o->port = atoi(optarg);
			break;
		case 'f':
			o->qfile = optarg;
			break;
		case 't':
			o->duration = atof(optarg);
			break;
		case 'w':
			o->warmup = atof(optarg);
			break;
		case 'W':
			o->window = atoi(optarg);
			break;
		case 'S':
			o->sockets = atoi(optarg);
			break;
		case 'b':
			o->batch = atoi(optarg);
			break;
		case 'T':
			o->timeout_ms = atoi(optarg);
			break;
		case 'D':
			o->edns = true;
			o->dnssec_ok = true;
			break;
		case 'E':
			o->edns = true;
			o->edns_size = atoi(optarg);
			break;
		case 'c':
			o->cpu = atoi(optarg);
			break;
		case 'P':
			o->server_pid = atol(optarg);
			break;
		case 'B':
			o->spin = true;
			break;
		case 'A':
			o->send_min = atoi(optarg);
			break;
		default:
			usage();
		}
	}
	if (o->qfile == NULL || o->port <= 0 || o->port > 65535 || o->duration <= 0 ||
	    o->warmup < 0 || o->sockets < 1 || o->sockets > MAX_SOCKETS || o->batch < 1 ||
	    o->batch > MAX_BATCH || o->timeout_ms < 1 || o->edns_size < 512 ||
	    o->edns_size > 65535 || o->window < o->sockets || o->window > MAX_WINDOW) {
		usage();
	}
}

static void print_json(const struct opts *o, const struct query_set *qs, double measured_s,
		       double server_cpu, double self_cpu, const double *busy, int ncpu)
{
	static const char *const rcodes[16] = { "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN",
						"NOTIMP",  "REFUSED", "YXDOMAIN", "YXRRSET",
						"NXRRSET", "NOTAUTH", "NOTZONE",  "RCODE11",
						"RCODE12", "RCODE13", "RCODE14",  "RCODE15" };
	const struct stats *st = &g_stats;
	double ans = (double)st->answered;
	int i;
	bool first = true;

	printf("{\"server\": \"%s:%d\", \"queries\": %zu, \"duration_s\": %.3f, \"window\": %d, "
	       "\"sockets\": %d, \"batch\": %d, \"timeout_ms\": %d, \"edns\": %s, \"do\": %s,\n",
	       o->server, o->port, qs->count, measured_s, o->window, o->sockets, o->batch,
	       o->timeout_ms, o->edns ? "true" : "false", o->dnssec_ok ? "true" : "false");
	printf(" \"sent\": %" PRIu64 ", \"answered\": %" PRIu64 ", \"lost\": %" PRIu64
	       ", \"qps\": %.1f, \"sent_qps\": %.1f,\n",
	       st->sent, st->answered, st->lost, ans / measured_s, (double)st->sent / measured_s);
	printf(" \"rcodes\": {");
	for (i = 0; i < 16; i++) {
		if (st->rcode[i] != 0) {
			printf("%s\"%s\": %" PRIu64, first ? "" : ", ", rcodes[i], st->rcode[i]);
			first = false;
		}
	}
	printf("},\n");
	printf(" \"tc\": %" PRIu64 ", \"aa\": %" PRIu64 ", \"noerror_empty\": %" PRIu64
	       ", \"resp_bytes_avg\": %.1f,\n",
	       st->tc, st->aa, st->noerror_empty, ans > 0 ? (double)st->resp_bytes / ans : 0.0);
	printf(" \"latency_us\": {\"avg\": %.1f, \"p50\": %" PRIu64 ", \"p99\": %" PRIu64 "},\n",
	       ans > 0 ? (double)st->lat_sum_us / ans : 0.0, lat_percentile(50),
	       lat_percentile(99));
	printf(" \"unexpected\": %" PRIu64 ", \"mismatched\": %" PRIu64 ", \"malformed\": %" PRIu64
	       ", \"send_again\": %" PRIu64 ", \"send_err\": %" PRIu64 ", \"recv_err\": %" PRIu64
	       ",\n",
	       g_count.unexpected, g_count.mismatched, g_count.malformed, g_count.send_again,
	       g_count.send_err, g_count.recv_err);
	printf(" \"syscalls\": {\"sendmmsg\": %" PRIu64 ", \"recvmmsg\": %" PRIu64
	       ", \"recvmmsg_empty\": %" PRIu64 ", \"poll\": %" PRIu64 "},\n",
	       g_count.sendmmsg_calls, g_count.recvmmsg_calls, g_count.recvmmsg_empty,
	       g_count.polls);
	printf(" \"cpu_busy_s\": [");
	for (i = 0; i < ncpu; i++) {
		printf("%s%.3f", i > 0 ? ", " : "", busy[i]);
	}
	printf("],\n");
	printf(" \"loadgen_cpu_s\": %.3f, \"server_cpu_s\": ", self_cpu);
	if (server_cpu >= 0) {
		printf("%.3f}\n", server_cpu);
	} else {
		printf("null}\n");
	}
}

int main(int argc, char **argv)
{
	struct opts o;
	struct query_set qs;
	struct sock socks[MAX_SOCKETS];
	struct pollfd pfds[MAX_SOCKETS];
	struct sockaddr_in dst;
	uint8_t(*bufs)[RESP_BUF];
	size_t cursor = 0;
	enum phase ph;
	uint64_t start, warm_end, meas_start = 0, meas_end, hard_end, next_expire, now, timeout_ns;
	double cpu0 = -1, cpu1 = -1, self0 = 0, self1 = 0, measured_s = 0;
	double busy0[MAX_CPUS], busy1[MAX_CPUS];
	int i, ncpu0 = 0, ncpu1 = 0;

	opts_parse(&o, argc, argv);
	if (o.cpu >= 0) {
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(o.cpu, &set);
		if (sched_setaffinity(0, sizeof(set), &set) != 0) {
			die_errno("sched_setaffinity");
		}
	}
	queries_load(&qs, &o);

	memset(&dst, 0, sizeof(dst));
	dst.sin_family = AF_INET;
	dst.sin_port = htons((uint16_t)o.port);
	if (inet_pton(AF_INET, o.server, &dst.sin_addr) != 1) {
		die("-s wants an IPv4 address");
	}
	for (i = 0; i < o.sockets; i++) {
		/* Spread the window; the first sockets take the remainder. */
		int w = o.window / o.sockets + (i < o.window % o.sockets ? 1 : 0);

		/* By default, refill in batches but keep at least half the window at the server. */
		int send_min = o.send_min > 0 ? o.send_min : w / 2 < o.batch ? w / 2 : o.batch;

		sock_init(&socks[i], sock_open(&dst), w, send_min);
		pfds[i].fd = socks[i].fd;
		pfds[i].events = POLLIN;
	}
	bufs = xcalloc(MAX_BATCH, RESP_BUF);
	g_rng ^= now_ns() ^ ((uint64_t)getpid() << 32);
	timeout_ns = (uint64_t)o.timeout_ms * 1000000ULL;

	start = now_ns();
	ph = o.warmup > 0 ? PHASE_WARMUP : PHASE_MEASURE;
	if (ph == PHASE_MEASURE) {
		meas_start = start;
		cpu0 = o.server_pid > 0 ? proc_cpu_seconds(o.server_pid) : -1;
		self0 = self_cpu_seconds();
		ncpu0 = cpus_busy_seconds(busy0, MAX_CPUS);
		g_measuring = true;
	}
	warm_end = start + (uint64_t)(o.warmup * (double)NS_PER_SEC);
	meas_end = warm_end + (uint64_t)(o.duration * (double)NS_PER_SEC);
	hard_end = meas_end + timeout_ns + 100000000ULL;
	next_expire = start + EXPIRE_NS;
	for (;;) {
		now = now_ns();
		if (ph == PHASE_WARMUP && now >= warm_end) {
			ph = PHASE_MEASURE;
			meas_start = now;
			cpu0 = o.server_pid > 0 ? proc_cpu_seconds(o.server_pid) : -1;
			self0 = self_cpu_seconds();
			ncpu0 = cpus_busy_seconds(busy0, MAX_CPUS);
			g_measuring = true;
		} else if (ph == PHASE_MEASURE && now >= meas_end) {
			ph = PHASE_DRAIN;
			cpu1 = o.server_pid > 0 ? proc_cpu_seconds(o.server_pid) : -1;
			self1 = self_cpu_seconds();
			ncpu1 = cpus_busy_seconds(busy1, MAX_CPUS);
			g_measuring = false;
			measured_s = (double)(now - meas_start) / (double)NS_PER_SEC;
		}
		if (ph == PHASE_DRAIN &&
		    (now >= hard_end || measured_outstanding(socks, o.sockets) == 0)) {
			break;
		}
		if (ph != PHASE_DRAIN) {
			for (i = 0; i < o.sockets; i++) {
				if (socks[i].nfree >= socks[i].send_min) {
					sock_send(&socks[i], &qs, &cursor, o.batch, now, ph);
				}
			}
		}
		/* Sleep until a reply, at most POLL_MS; then read the sockets that have some. */
		if (poll(pfds, (nfds_t)o.sockets, o.spin ? 0 : POLL_MS) > 0) {
			now = now_ns();
			for (i = 0; i < o.sockets; i++) {
				if (pfds[i].revents != 0) {
					sock_recv(&socks[i], &qs, bufs, o.batch, now);
				}
			}
		}
		g_count.polls += g_measuring;
		if (now >= next_expire) {
			for (i = 0; i < o.sockets; i++) {
				sock_expire(&socks[i], now > timeout_ns ? now - timeout_ns : 0);
			}
			next_expire = now + EXPIRE_NS;
		}
	}
	/* Whatever is still outstanding from the measured interval never came back. */
	for (i = 0; i < o.sockets; i++) {
		sock_expire(&socks[i], UINT64_MAX);
	}
	for (i = 0; i < ncpu1 && i < ncpu0; i++) {
		busy1[i] -= busy0[i];
	}
	print_json(&o, &qs, measured_s, cpu0 >= 0 && cpu1 >= 0 ? cpu1 - cpu0 : -1, self1 - self0,
		   busy1, ncpu0 < ncpu1 ? ncpu0 : ncpu1);
	return 0;
}
