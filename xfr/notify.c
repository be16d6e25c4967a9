/*  Signet: NOTIFY out and the answer to NOTIFY in (see notify.h). */
#include "xfr/notify.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "dns/err.h"
#include "dns/log.h"
#include "dns/rrtype.h"

#define NOTIFY_MSG_MAX      2048
#define NOTIFY_FIRST_MS     1000
#define NOTIFY_TRIES        0      /* until acknowledged (or superseded) */
#define NOTIFY_INTERVAL_MAX 300000 /* the backoff stops growing at 5 minutes */
#define ADDR_STR_MAX        (INET6_ADDRSTRLEN + 8)
#define NOTIFY_RECV_BUDGET  64 /* datagrams read per wake-up */

/* One (zone, target) waiting for its response. */
typedef struct pending {
	struct pending *prev, *next;
	xfr_notify_t *n;
	uint8_t apex[DNAME_MAX];
	uint32_t serial;
	struct sockaddr_storage addr;
	socklen_t addrlen;
	bool signed_;
	tsig_key_t key;
	tsig_ctx_t tsig;
	uint16_t id;
	unsigned sent;
	unsigned interval_ms;
	struct event *timer;
	size_t len;
	uint8_t msg[NOTIFY_MSG_MAX];
} pending_t;

struct xfr_notify {
	struct event_base *base;
	int fd[2]; /* IPv4, IPv6; -1 until first needed */
	struct event *ev[2];
	pending_t *list;
	size_t npending;
	unsigned first_ms, tries;
	xfr_notify_done_fn done;
	void *ud;
};

static void addr_str(char *buf, size_t len, const struct sockaddr *sa)
{
	char ip[INET6_ADDRSTRLEN] = "?";

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;

		inet_ntop(AF_INET, &in->sin_addr, ip, sizeof(ip));
		snprintf(buf, len, "%s:%u", ip, ntohs(in->sin_port));
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;

		inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof(ip));
		snprintf(buf, len, "[%s]:%u", ip, ntohs(in6->sin6_port));
	} else {
		snprintf(buf, len, "?");
	}
}

static bool addr_equal(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family) {
		return false;
	}
	if (a->ss_family == AF_INET) {
		const struct sockaddr_in *x = (const struct sockaddr_in *)a;
		const struct sockaddr_in *y = (const struct sockaddr_in *)b;

		return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	if (a->ss_family == AF_INET6) {
		const struct sockaddr_in6 *x = (const struct sockaddr_in6 *)a;
		const struct sockaddr_in6 *y = (const struct sockaddr_in6 *)b;

		return x->sin6_port == y->sin6_port &&
		       memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(x->sin6_addr)) == 0;
	}
	return false;
}

static int family_index(int family)
{
	return family == AF_INET6 ? 1 : 0;
}

static void on_read(evutil_socket_t fd, short what, void *arg);

/* The socket for \a family, opened on first use. */
static int sock_get(xfr_notify_t *n, int family)
{
	int i = family_index(family);
	int fd;

	if (n->fd[i] >= 0) {
		return n->fd[i];
	}
	fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		return -errno;
	}
	n->ev[i] = event_new(n->base, fd, EV_READ | EV_PERSIST, on_read, n);
	if (n->ev[i] == NULL || event_add(n->ev[i], NULL) != 0) {
		if (n->ev[i] != NULL) {
			event_free(n->ev[i]);
			n->ev[i] = NULL;
		}
		close(fd);
		return -ENOMEM;
	}
	n->fd[i] = fd;
	return fd;
}

static void settle(pending_t *p, int rcode)
{
	xfr_notify_t *n = p->n;

	if (p->prev != NULL) {
		p->prev->next = p->next;
	} else {
		n->list = p->next;
	}
	if (p->next != NULL) {
		p->next->prev = p->prev;
	}
	n->npending--;
	if (p->timer != NULL) {
		event_free(p->timer);
	}
	if (n->done != NULL) {
		n->done(n->ud, p->apex, p->serial, (const struct sockaddr *)&p->addr, rcode);
	}
	explicit_bzero(&p->key, sizeof(p->key));
	explicit_bzero(&p->tsig, sizeof(p->tsig));
	free(p);
}

static void send_once(pending_t *p)
{
	char where[ADDR_STR_MAX];
	int fd = sock_get(p->n, p->addr.ss_family);
	struct timeval tv;

	p->sent++;
	if (fd < 0 ||
	    sendto(fd, p->msg, p->len, 0, (const struct sockaddr *)&p->addr, p->addrlen) < 0) {
		addr_str(where, sizeof(where), (const struct sockaddr *)&p->addr);
		log_debug("notify", "send to %s: %s", where, strerror(fd < 0 ? -fd : errno));
	}
	tv.tv_sec = p->interval_ms / 1000;
	tv.tv_usec = (suseconds_t)(p->interval_ms % 1000) * 1000;
	evtimer_add(p->timer, &tv);
	p->interval_ms =
		p->interval_ms * 2 > NOTIFY_INTERVAL_MAX ? NOTIFY_INTERVAL_MAX : p->interval_ms * 2;
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	pending_t *p = arg;

	if (p->n->tries != 0 && p->sent >= p->n->tries) {
		char zone[DNAME_STR_MAX], where[ADDR_STR_MAX];

		dname_to_str(zone, sizeof(zone), p->apex);
		addr_str(where, sizeof(where), (const struct sockaddr *)&p->addr);
		/* With a done callback, the caller tells the story: debug here. */
		log_msg(p->n->done != NULL ? LOG_DEBUG : LOG_WARN, "notify",
			"%s serial %u: no response from %s after %u tries", zone, p->serial, where,
			p->sent);
		settle(p, -ETIMEDOUT);
		return;
	}
	send_once(p);
}

/* Is \a msg (from \a from) the response to \a p? */
static bool matches(pending_t *p, const uint8_t *msg, size_t len,
		    const struct sockaddr_storage *from)
{
	uint16_t flags;
	dns_request_t r;

	if (len < DNS_HDR_LEN || dns_u16(msg) != p->id || !addr_equal(from, &p->addr)) {
		return false;
	}
	flags = dns_u16(msg + 2);
	if (!(flags & DNS_FLAG_QR) || DNS_OPCODE(flags) != OPCODE_NOTIFY) {
		return false;
	}
	if (dns_u16(msg + 4) != 0) {
		if (dns_request_parse(&r, msg, len) != E_OK || !dname_equal(r.qname, p->apex) ||
		    r.qtype != RR_SOA) {
			return false;
		}
	}
	if (p->signed_) {
		int ret = tsig_response_verify(&p->tsig, msg, len, (uint64_t)time(NULL));

		if (ret != E_OK) {
			char where[ADDR_STR_MAX];

			addr_str(where, sizeof(where), (const struct sockaddr *)from);
			log_debug("notify", "response from %s ignored: TSIG %s", where,
				  err_str(ret));
			return false;
		}
	}
	return true;
}

static void on_read(evutil_socket_t fd, short what, void *arg)
{
	xfr_notify_t *n = arg;
	uint8_t buf[DNS_TCP_MAX];

	for (int i = 0; i < NOTIFY_RECV_BUDGET; i++) {
		struct sockaddr_storage from;
		socklen_t flen = sizeof(from);
		ssize_t len = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &flen);

		if (len < 0) {
			return;
		}
		for (pending_t *p = n->list; p != NULL; p = p->next) {
			if (matches(p, buf, (size_t)len, &from)) {
				char zone[DNAME_STR_MAX], where[ADDR_STR_MAX];
				uint8_t rcode = (uint8_t)DNS_RCODE(dns_u16(buf + 2));

				dname_to_str(zone, sizeof(zone), p->apex);
				addr_str(where, sizeof(where), (const struct sockaddr *)&from);
				if (n->done != NULL) {
					log_debug("notify", "%s serial %u: %s answered RCODE %u",
						  zone, p->serial, where, rcode);
				} else if (rcode == RCODE_NOERROR) {
					log_info("notify", "%s serial %u: acknowledged by %s", zone,
						 p->serial, where);
				} else {
					log_warn("notify", "%s serial %u: %s answered RCODE %u",
						 zone, p->serial, where, rcode);
				}
				settle(p, rcode);
				break;
			}
		}
	}
}

int xfr_notify_new(xfr_notify_t **out, struct event_base *base, xfr_notify_done_fn done, void *ud)
{
	xfr_notify_t *n = calloc(1, sizeof(*n));

	*out = NULL;
	if (n == NULL) {
		return -ENOMEM;
	}
	n->base = base;
	n->fd[0] = n->fd[1] = -1;
	n->first_ms = NOTIFY_FIRST_MS;
	n->tries = NOTIFY_TRIES;
	n->done = done;
	n->ud = ud;
	*out = n;
	return E_OK;
}

void xfr_notify_free(xfr_notify_t *n)
{
	if (n == NULL) {
		return;
	}
	while (n->list != NULL) {
		settle(n->list, -ECANCELED);
	}
	for (int i = 0; i < 2; i++) {
		if (n->ev[i] != NULL) {
			event_free(n->ev[i]);
		}
		if (n->fd[i] >= 0) {
			close(n->fd[i]);
		}
	}
	free(n);
}

void xfr_notify_set_retry(xfr_notify_t *n, unsigned first_ms, unsigned tries)
{
	n->first_ms = first_ms > 0 ? first_ms : 1;
	n->tries = tries; /* 0: until acknowledged */
}

size_t xfr_notify_pending(const xfr_notify_t *n)
{
	return n->npending;
}

/* The NOTIFY request of \a p for version \a z. */
static int build(pending_t *p, const zone_t *z, const zone_rrset_t *soa)
{
	dns_request_t q;
	dns_writer_t w;
	uint16_t rdlen;
	const uint8_t *rd = zone_rrset_rdata(soa, 0, &rdlen);
	int ret;

	memset(&q, 0, sizeof(q));
	q.id = p->id;
	q.opcode = OPCODE_NOTIFY;
	memcpy(q.qname, z->apex_name, z->apex_len);
	q.qname_len = z->apex_len;
	q.qtype = RR_SOA;
	q.qclass = CLASS_IN;
	ret = dns_writer_begin(&w, p->msg, sizeof(p->msg), &q);
	if (ret != E_OK) {
		return ret;
	}
	dns_writer_flags(&w, DNS_FLAG_AA, DNS_FLAG_QR);
	if (p->signed_) {
		dns_writer_reserve(&w, tsig_rr_size(&p->key));
	}
	ret = dns_writer_rr(&w, DNS_AN, z->apex_name, RR_SOA, CLASS_IN, soa->ttl, rd, rdlen);
	if (ret != E_OK) {
		return ret;
	}
	p->len = dns_writer_finish(&w);
	if (p->signed_) {
		ret = tsig_request_sign(&p->tsig, &p->key, p->msg, &p->len, sizeof(p->msg),
					(uint64_t)time(NULL));
	}
	return ret;
}

static uint16_t random_id(void)
{
	uint16_t id;

	if (getrandom(&id, sizeof(id), 0) != (ssize_t)sizeof(id)) {
		id = (uint16_t)(rand() ^ (int)time(NULL));
	}
	return id;
}

int xfr_notify_zone(xfr_notify_t *n, const zone_t *z, const xfr_notify_target_t *targets,
		    size_t ntargets)
{
	const zone_rrset_t *soa = zone_node_rrset(z->apex, RR_SOA);

	if (soa == NULL) {
		return E_ZONE_NOSOA;
	}
	for (size_t i = 0; i < ntargets; i++) {
		const xfr_notify_target_t *t = &targets[i];
		pending_t *p;
		int ret;

		for (p = n->list; p != NULL; p = p->next) {
			if (addr_equal(&p->addr, &t->addr) && dname_equal(p->apex, z->apex_name)) {
				settle(p, -ECANCELED); /* superseded by the newer serial */
				break;
			}
		}
		p = calloc(1, sizeof(*p));
		if (p == NULL) {
			return -ENOMEM;
		}
		p->n = n;
		memcpy(p->apex, z->apex_name, z->apex_len);
		p->serial = z->serial;
		p->addr = t->addr;
		p->addrlen = t->addrlen;
		p->id = random_id();
		p->interval_ms = n->first_ms;
		if (t->key != NULL) {
			p->key = *t->key;
			p->signed_ = true;
		}
		p->timer = evtimer_new(n->base, on_timer, p);
		ret = p->timer != NULL ? build(p, z, soa) : -ENOMEM;
		if (ret != E_OK) {
			if (p->timer != NULL) {
				event_free(p->timer);
			}
			explicit_bzero(p, sizeof(*p));
			free(p);
			return ret;
		}
		p->next = n->list;
		if (n->list != NULL) {
			n->list->prev = p;
		}
		n->list = p;
		n->npending++;
		send_once(p);
	}
	return E_OK;
}

int xfr_notify_target_parse(xfr_notify_target_t *t, const char *str, uint16_t default_port)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *port = NULL, *colon = strchr(str, ':');
	size_t hlen;
	unsigned long pv = default_port;

	memset(t, 0, sizeof(*t));
	if (str[0] == '[') {
		const char *end = strchr(str, ']');

		if (end == NULL || (end[1] != '\0' && end[1] != ':')) {
			return -EINVAL;
		}
		hlen = (size_t)(end - str - 1);
		str++;
		port = end[1] == ':' ? end + 2 : NULL;
	} else if (colon != NULL && strchr(colon + 1, ':') == NULL) {
		hlen = (size_t)(colon - str); /* v4:port */
		port = colon + 1;
	} else {
		hlen = strlen(str); /* v4, or v6 without a port */
	}
	if (hlen == 0 || hlen >= sizeof(host)) {
		return -EINVAL;
	}
	memcpy(host, str, hlen);
	host[hlen] = '\0';
	if (port != NULL) {
		char *end;

		errno = 0;
		pv = strtoul(port, &end, 10);
		if (*port == '\0' || *end != '\0' || errno != 0 || pv == 0 || pv > 65535) {
			return -EINVAL;
		}
	}
	struct sockaddr_in *in = (struct sockaddr_in *)&t->addr;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&t->addr;

	if (inet_pton(AF_INET, host, &in->sin_addr) == 1) {
		in->sin_family = AF_INET;
		in->sin_port = htons((uint16_t)pv);
		t->addrlen = sizeof(*in);
	} else if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)pv);
		t->addrlen = sizeof(*in6);
	} else {
		return -EINVAL;
	}
	return E_OK;
}

size_t xfr_notify_answer(uint8_t *buf, size_t cap, const dns_request_t *req, uint8_t rcode,
			 size_t reserve)
{
	dns_writer_t w;
	size_t len;

	if (dns_writer_begin(&w, buf, cap, req) != E_OK) {
		return 0;
	}
	dns_writer_rcode(&w, rcode);
	dns_writer_flags(&w, rcode == RCODE_NOERROR ? DNS_FLAG_AA : 0, DNS_FLAG_AA);
	len = dns_writer_finish(&w);
	return cap - len >= reserve ? len : 0;
}
