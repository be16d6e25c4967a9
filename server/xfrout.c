#include "server/xfrout.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <urcu-qsbr.h>

#include "dns/err.h"
#include "dns/log.h"
#include "dns/rrtype.h"
#include "dns/tsig.h"
#include "server/state.h"
#include "server/zoneconf.h"
#include "xfr/journal.h"
#include "xfr/notify.h"
#include "xfr/xfr.h"

#define READERS_MAX 8

/* Outgoing TCP transfers in progress, against "limits { transfers }". */
static uint32_t active_transfers;

/* Each serving thread reads the journal through its own connection. */
static __thread struct {
	char dir[512];
	xfr_journal_t *j;
} readers[READERS_MAX];

static xfr_journal_t *reader_for(const char *dir)
{
	for (int i = 0; i < READERS_MAX; i++) {
		if (readers[i].j != NULL && strcmp(readers[i].dir, dir) == 0) {
			return readers[i].j;
		}
	}
	for (int i = 0; i < READERS_MAX; i++) {
		if (readers[i].j == NULL) {
			if (xfr_journal_open(&readers[i].j, dir, XFR_JOURNAL_READ, NULL) != E_OK) {
				readers[i].j = NULL;
				return NULL;
			}
			snprintf(readers[i].dir, sizeof(readers[i].dir), "%s", dir);
			return readers[i].j;
		}
	}
	return NULL;
}

void xfrout_thread_done(void)
{
	for (int i = 0; i < READERS_MAX; i++) {
		xfr_journal_close(readers[i].j);
		readers[i].j = NULL;
	}
}

static size_t finish_rcode(query_t *q, uint8_t rcode)
{
	dns_writer_clear_records(&q->w);
	dns_writer_rcode(&q->w, rcode);
	return dns_writer_finish(&q->w);
}

/* The zone whose apex is the question, in the query's view. */
static const zone_entry_t *apex_entry(const server_state_t *st, const query_t *q)
{
	int view = conf_view_by_port(st->conf, q->port);
	const zone_entry_t *e =
		view < 0 ? NULL : state_find_zone(st, view, q->req.qname_lc, RR_SOA);
	return e != NULL && dname_equal(e->conf->apex, q->req.qname_lc) ? e : NULL;
}

/* Verify the request's TSIG with the block's keys; an error response when it fails. */
static enum xfrout_result verify(query_t *q, const zc_block_t *zb, size_t *len)
{
	static const tsig_keyring_t empty;
	int ret = tsig_request_verify(&q->tsig, zb != NULL ? &zb->keyring : &empty, &q->req,
				      q->wire, q->len, (uint64_t)time(NULL));
	if (ret == E_OK) {
		q->tsig_on = true;
		return XFROUT_PASS;
	}
	if (ret == E_MALFORMED || ret == -ENOENT) {
		*len = finish_rcode(q, RCODE_FORMERR);
		return XFROUT_DONE;
	}
	/* BADKEY, BADSIG, BADTIME: NOTAUTH with the TSIG error (RFC 8945 §5.2). */
	*len = finish_rcode(q, RCODE_NOTAUTH);
	if (tsig_sign(&q->tsig, q->out, len, q->max_size, (uint64_t)time(NULL)) != E_OK) {
		return XFROUT_DROP;
	}
	return XFROUT_DONE;
}

static bool key_allowed(const zc_transfer_t *t, const tsig_key_t *key)
{
	if (t->nkeys == 0) {
		return true;
	}
	for (int i = 0; key != NULL && i < t->nkeys; i++) {
		if (t->keys[i] == key) {
			return true;
		}
	}
	return false;
}

static enum xfrout_result transfer(const server_state_t *st, query_t *q, size_t *len)
{
	const zone_entry_t *e = apex_entry(st, q);
	zone_t *z = e != NULL ? rcu_dereference(e->zone) : NULL;
	const zc_transfer_t *t = e != NULL ? e->transfer : NULL;
	char name[DNAME_STR_MAX];

	dname_to_str(name, sizeof(name), q->req.qname_lc);
	if (e == NULL) {
		*len = finish_rcode(q, RCODE_NOTAUTH);
		return XFROUT_DONE;
	}
	if (q->req.tsig_pos != 0) {
		enum xfrout_result r = verify(q, e->zb, len);
		if (r != XFROUT_PASS) {
			log_warn("xfr", "%s: %s refused: TSIG did not verify", name,
				 q->req.qtype == RR_AXFR ? "AXFR" : "IXFR");
			return r;
		}
	}
	if (t == NULL || !zoneconf_transfer_allowed(t, q->remote) ||
	    !key_allowed(t, q->tsig_on ? q->tsig.key : NULL)) {
		log_warn("xfr", "%s: %s refused: %s", name,
			 q->req.qtype == RR_AXFR ? "AXFR" : "IXFR",
			 t == NULL || !zoneconf_transfer_allowed(t, q->remote)
				 ? "address not allowed by transfer"
				 : "a key of the transfer rule is required");
		*len = finish_rcode(q, RCODE_REFUSED);
		return q->tsig_on ? (*len = xfrout_sign(q, *len), XFROUT_DONE) : XFROUT_DONE;
	}
	if (z == NULL) {
		*len = finish_rcode(q, RCODE_SERVFAIL);
		return XFROUT_DONE;
	}
	uint32_t max = st->conf->limits.transfers;
	if (q->transport != TRANSPORT_UDP && max != 0 &&
	    __atomic_load_n(&active_transfers, __ATOMIC_RELAXED) >= max) {
		log_warn("xfr", "%s: transfer refused: %u already in progress (limits transfers)",
			 name, max);
		*len = finish_rcode(q, RCODE_REFUSED);
		return XFROUT_DONE;
	}
	xfr_out_t *x = NULL;
	bool udp = q->transport == TRANSPORT_UDP;
	xfr_journal_t *j = e->zb != NULL ? reader_for(e->zb->storage) : NULL;
	int ret =
		xfr_start(&x, z, j, &q->req, q->wire, q->len, q->tsig_on ? q->tsig.key : NULL, udp);
	if (ret != E_OK) {
		*len = finish_rcode(q, ret == E_NOTSUP || ret == E_MALFORMED ? RCODE_FORMERR
									     : RCODE_SERVFAIL);
		return XFROUT_DONE;
	}
	bool ixfr = strcmp(xfr_kind(x), "IXFR") == 0;
	__atomic_add_fetch((uint64_t *)&e->xfr_out[ixfr ? 1 : 0], 1, __ATOMIC_RELAXED);
	log_info("xfr", "%s: %s of serial %u to a secondary", name, xfr_kind(x), z->serial);
	*len = xfr_next(x, q->out, udp ? q->max_size : q->out_cap);
	if (udp || *len == 0) {
		xfr_free(x);
		return *len > 0 ? XFROUT_DONE : XFROUT_DROP;
	}
	q->xfr = x;
	__atomic_add_fetch(&active_transfers, 1, __ATOMIC_RELAXED);
	return XFROUT_DONE;
}

enum xfrout_result xfrout_query(const server_state_t *st, query_t *q, size_t *len)
{
	q->tsig_on = false;
	q->xfr = NULL;
	if (q->req.opcode == OPCODE_NOTIFY) {
		/* Signet is the primary of its zones: a NOTIFY to it is not acted on. A signed
		 * one is verified like any signed request, and its answer signed (RFC 8945 §5.3):
		 * an unsigned answer to a signed NOTIFY is one its sender must discard. */
		size_t reserve = 0;
		if (q->req.tsig_pos != 0) {
			const zone_entry_t *e = apex_entry(st, q);
			enum xfrout_result r = verify(q, e != NULL ? e->zb : NULL, len);
			if (r != XFROUT_PASS) {
				return r;
			}
			reserve = tsig_rr_size(q->tsig.key);
		}
		*len = xfr_notify_answer(q->out, q->max_size, &q->req, RCODE_NOTAUTH, reserve);
		*len = *len > 0 ? xfrout_sign(q, *len) : 0;
		return *len > 0 ? XFROUT_DONE : XFROUT_DROP;
	}
	if (q->req.opcode != OPCODE_QUERY) {
		return XFROUT_PASS;
	}
	if (q->req.qtype == RR_AXFR || q->req.qtype == RR_IXFR) {
		return transfer(st, q, len);
	}
	/* An ordinary query: TSIG when signed, or when the block requires it. */
	int view = conf_view_by_port(st->conf, q->port);
	const zone_entry_t *e =
		view < 0 ? NULL : state_find_zone(st, view, q->req.qname_lc, q->req.qtype);
	const zc_block_t *zb = e != NULL ? e->zb : NULL;
	if (q->req.tsig_pos != 0) {
		enum xfrout_result r = verify(q, zb, len);
		if (r != XFROUT_PASS) {
			return r;
		}
		dns_writer_reserve(&q->w, q->w.reserved + tsig_rr_size(q->tsig.key));
		return XFROUT_PASS;
	}
	if (zb != NULL) {
		bool required = zb->tsig_require_all;
		for (int i = 0; !required && i < zb->ntsig_require; i++) {
			required = zb->tsig_require[i] == q->req.qtype;
		}
		if (required) {
			*len = finish_rcode(q, RCODE_REFUSED);
			return XFROUT_DONE;
		}
	}
	return XFROUT_PASS;
}

size_t xfrout_sign(query_t *q, size_t len)
{
	if (!q->tsig_on) {
		return len;
	}
	if (tsig_sign(&q->tsig, q->out, &len, q->out_cap, (uint64_t)time(NULL)) != E_OK) {
		log_warn("tsig", "response too large to sign");
	}
	return len;
}

size_t xfrout_next(void **xfr, uint8_t *buf, size_t cap)
{
	size_t len = xfr_next(*xfr, buf, cap);
	if (len == 0) {
		xfrout_abort(xfr);
	}
	return len;
}

void xfrout_abort(void **xfr)
{
	if (*xfr != NULL) {
		xfr_free(*xfr);
		*xfr = NULL;
		__atomic_sub_fetch(&active_transfers, 1, __ATOMIC_RELAXED);
	}
}
