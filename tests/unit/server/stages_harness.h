/*  Signet unit tests: a server state from a Corefile and a zone written to a temporary folder,
 *  and queries through query_process() — the query path the stages run in, without sockets.
 *  Included by tests/unit/server/test_<stage>.c (each test is its own program).
 */
#pragma once

#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <urcu-qsbr.h>

#include <cmocka.h>

#include "dns/err.h"
#include "dns/rrtext.h"
#include "dns/rrtype.h"
#include "server/conf.h"
#include "server/query.h"
#include "server/stages/msg.h"
#include "server/state.h"
#include "server/zonemgr.h"

#define H_EDNS 1 /* an OPT record */
#define H_DO   2
#define H_CD   4
#define H_TCP  8
#define H_RD   16

/* Added to the clock of every query: lets a test age the cache. */
static int64_t h_shift_ms;
/* This thread is an RCU reader (a failed test leaves without h_stop). */
static _Thread_local bool h_registered;

typedef struct harness {
	char dir[128];
	char corefile[256];
	char zonefile[256];
	server_state_t *st;
	query_t q;
	query_stats_t stats;
	struct sockaddr_in remote;
	uint8_t in[512];
	uint8_t out[DNS_TCP_MAX];
	size_t len;
	msg_t m;
} harness_t;

static inline void h_write(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	assert_true(fputs(text, f) >= 0);
	assert_int_equal(fclose(f), 0);
}

/* A second zone file for h_start, named "ZONEFILE2" in the Corefile (NULL: none). */
static const char *h_zone2;

/* Replace every \a key in \a in by \a val. */
static inline void h_subst(char *out, size_t len, const char *in, const char *key, const char *val)
{
	size_t n = 0, kl = strlen(key);
	while (*in != '\0' && n + 1 < len) {
		if (strncmp(in, key, kl) == 0 && !(key[kl - 1] != '2' && in[kl] == '2')) {
			n += (size_t)snprintf(out + n, len - n, "%s", val);
			in += kl;
		} else {
			out[n++] = *in++;
		}
	}
	out[n < len ? n : len - 1] = '\0';
}

/* Start from \a corefile, in which "ZONEFILE" names the zone file written from \a zone. */
static inline void h_start(harness_t *h, const char *corefile, const char *zone)
{
	char text[8192], text2[8192], zone2[300];
	conf_t *c = NULL;
	memset(h, 0, sizeof(*h));
	snprintf(h->dir, sizeof(h->dir), "/tmp/signet-unit-XXXXXX");
	assert_non_null(mkdtemp(h->dir));
	snprintf(h->zonefile, sizeof(h->zonefile), "%s/db.zone", h->dir);
	snprintf(h->corefile, sizeof(h->corefile), "%s/Corefile", h->dir);
	snprintf(zone2, sizeof(zone2), "%s/db2.zone", h->dir);
	h_write(h->zonefile, zone);
	if (h_zone2 != NULL) {
		h_write(zone2, h_zone2);
	}
	h_subst(text, sizeof(text), corefile, "ZONEFILE2", zone2);
	h_subst(text2, sizeof(text2), text, "ZONEFILE", h->zonefile);
	h_write(h->corefile, text2);
	assert_int_equal(conf_load(&c, h->corefile, 0, NULL, NULL), E_OK);
	assert_int_equal(state_new(&h->st, c), E_OK);
	assert_int_equal(zonemgr_start(h->st, NULL, NULL), 0);
	if (!h_registered) {
		rcu_register_thread();
		h_registered = true;
	}
	rcu_assign_pointer(server_state, h->st);
	h->q.stats = &h->stats;
	h->remote.sin_family = AF_INET;
	h->remote.sin_port = htons(53000);
	inet_pton(AF_INET, "192.0.2.200", &h->remote.sin_addr);
}

static inline void h_stop(harness_t *h)
{
	rcu_assign_pointer(server_state, NULL);
	rcu_unregister_thread();
	h_registered = false;
	zonemgr_stop(h->st);
	state_free(h->st);
	zonemgr_shutdown(); /* what the zone manager keeps across reloads */
	unlink(h->zonefile);
	unlink(h->corefile);
	char zone2[300];
	snprintf(zone2, sizeof(zone2), "%s/db2.zone", h->dir);
	unlink(zone2);
	rmdir(h->dir);
}

/* Load the zone file again and publish it, as the zone manager does on a change. */
static inline void h_reload_zone(harness_t *h, const char *zone)
{
	zone_t *z = NULL;
	h_write(h->zonefile, zone);
	assert_int_equal(zonemgr_load(&h->st->conf->zones[0], &z, NULL, NULL), E_OK);
	zone_t *old = rcu_xchg_pointer(&h->st->zones[0].zone, z);
	rcu_thread_offline();
	synchronize_rcu();
	rcu_thread_online();
	zone_free(old);
}

/* Ask \a name \a type with \a flags on the first view's port; returns the response length
 * (0: nothing sent) and leaves the parsed response in h->m. */
static inline size_t h_query_from(harness_t *h, const char *name, uint16_t type, unsigned flags,
				  const char *from)
{
	uint8_t qn[DNAME_MAX];
	size_t n = DNS_HDR_LEN;
	int ql = dname_from_str(qn, name, NULL);
	assert_true(ql > 0);
	memset(h->in, 0, DNS_HDR_LEN);
	dns_put16(h->in, (uint16_t)(rand() & 0xFFFF));
	dns_put16(h->in + 2, (uint16_t)(((flags & H_RD) ? DNS_FLAG_RD : 0) |
					((flags & H_CD) ? DNS_FLAG_CD : 0)));
	dns_put16(h->in + 4, 1);
	memcpy(h->in + n, qn, (size_t)ql);
	n += (size_t)ql;
	dns_put16(h->in + n, type);
	dns_put16(h->in + n + 2, CLASS_IN);
	n += 4;
	if (flags & (H_EDNS | H_DO)) {
		h->in[n] = 0;
		dns_put16(h->in + n + 1, RR_OPT);
		dns_put16(h->in + n + 3, 1232);
		dns_put32(h->in + n + 5, (flags & H_DO) ? 0x8000 : 0);
		dns_put16(h->in + n + 9, 0);
		n += 11;
		dns_put16(h->in + 10, 1);
	}
	if (from != NULL) {
		assert_int_equal(inet_pton(AF_INET, from, &h->remote.sin_addr), 1);
	}
	h->q.wire = h->in;
	h->q.len = n;
	h->q.remote = (const struct sockaddr *)&h->remote;
	h->q.transport = (flags & H_TCP) ? TRANSPORT_TCP : TRANSPORT_UDP;
	h->q.port = h->st->conf->views[0].port;
	h->q.out = h->out;
	h->q.out_cap = (flags & H_TCP) ? DNS_TCP_MAX : DNS_UDP_DEFAULT;
	clock_gettime(CLOCK_MONOTONIC, &h->q.start);
	h->q.start.tv_sec += h_shift_ms / 1000;
	h->q.start.tv_nsec += (h_shift_ms % 1000) * 1000000;
	if (h->q.start.tv_nsec >= 1000000000) {
		h->q.start.tv_sec++;
		h->q.start.tv_nsec -= 1000000000;
	}
	h->len = query_process(rcu_dereference(server_state), &h->q);
	rcu_quiescent_state();
	if (h->len > 0) {
		assert_int_equal(msg_parse(&h->m, h->out, h->len), E_OK);
	}
	return h->len;
}

static inline size_t h_query(harness_t *h, const char *name, uint16_t type, unsigned flags)
{
	return h_query_from(h, name, type, flags, NULL);
}

static inline unsigned h_rcode(const harness_t *h)
{
	return DNS_RCODE(dns_u16(h->out + 2));
}

/* Text of record \a i of the last response: "owner TTL TYPE rdata" (owner lower case). */
static inline const char *h_rr(harness_t *h, int i, char *buf, size_t len)
{
	const msg_rr_t *r = &h->m.rr[i];
	uint8_t owner[DNAME_MAX], rd[2048];
	size_t pos = r->off;
	assert_true(dname_unpack(h->out, h->len, &pos, owner) > 0);
	int rdlen = msg_rdata(&h->m, r, rd, sizeof(rd));
	assert_true(rdlen >= 0);
	dname_lower(owner);
	dns_rr_to_text(buf, len, owner, r->type, r->ttl, rd, (uint16_t)rdlen);
	for (char *p = buf; *p != '\0'; p++) {
		*p = *p == '\t' ? ' ' : *p;
	}
	return buf;
}

/* The index of the first record of \a type in section \a sec, or -1. */
static inline int h_find(const harness_t *h, int sec, uint16_t type)
{
	for (int i = 0; i < h->m.nrr; i++) {
		if (h->m.rr[i].sec == sec && h->m.rr[i].type == type) {
			return i;
		}
	}
	return -1;
}
