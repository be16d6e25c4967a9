#include "server/query.h"

#include <string.h>
#include <urcu-qsbr.h>

#include "dns/err.h"
#include "dns/rrtype.h"
#include "server/conf.h"
#include "dnssec/proof.h"
#include "server/metrics.h"
#include "server/xfrout.h"
#include "server/state.h"

/* Write one RRset (and, for DO queries, its signatures) as a unit. */
static int write_rrset(dns_writer_t *w, enum dns_section sec, const lookup_item_t *it,
		       const zone_rrset_t *rs)
{
	uint32_t pos = 0;
	uint16_t rdlen;
	const uint8_t *rd;
	while ((rd = zone_rrset_next(rs, &pos, &rdlen)) != NULL) {
		if (dns_writer_rr(w, sec, it->owner, rs->type, CLASS_IN, it->ttl, rd, rdlen) !=
		    E_OK) {
			return E_TRUNC;
		}
	}
	return E_OK;
}

/* Write the items of one section; E_TRUNC when one does not fit. DNSSEC records and
 * signatures only when the client set DO. */
static int write_items(dns_writer_t *w, enum dns_section sec, const lookup_item_t *items, uint8_t n,
		       bool dnssec)
{
	for (uint8_t i = 0; i < n; i++) {
		const lookup_item_t *it = &items[i];
		dns_writer_mark_t m;
		if ((it->flags & LOOKUP_DNSSEC) && !dnssec) {
			continue;
		}
		dns_writer_mark(w, &m);
		if (write_rrset(w, sec, it, it->rrset) != E_OK ||
		    (dnssec && it->rrset->sigs != NULL &&
		     write_rrset(w, sec, it, it->rrset->sigs) != E_OK)) {
			dns_writer_rollback(w, &m);
			return E_TRUNC;
		}
	}
	return E_OK;
}

/* Additional data is optional, but glue for a referral whose name servers lie below the cut
 * is not (RFC 9471): when it does not fit, the response is truncated. */
static int write_additional(dns_writer_t *w, const lookup_result_t *res, bool dnssec)
{
	for (uint8_t i = 0; i < res->nad; i++) {
		if (write_items(w, DNS_AR, &res->ad[i], 1, dnssec) != E_OK) {
			bool required = res->kind == LOOKUP_REFERRAL &&
					(res->ad[i].flags & LOOKUP_GLUE) && res->cut != NULL &&
					dname_is_sub(res->ad[i].owner, res->cut->owner);
			return required ? E_TRUNC : E_OK;
		}
	}
	return E_OK;
}

/* The stages before the answer, in query-path order, until one answers or drops. */
static enum stage_result run_stages(query_t *q)
{
	for (int i = 0; i < q->block->nstages; i++) {
		const stage_t *s = &q->block->stages[i];
		if (s->ops->query != NULL) {
			enum stage_result r = s->ops->query(q, s->ctx);
			if (r != STAGE_CONTINUE) {
				q->ss.plugin = s->ops->name; /* for the metrics */
				return r;
			}
		}
	}
	return STAGE_CONTINUE;
}

static void answer_zone(query_t *q, const zone_t *z)
{
	lookup_result_t *res = &q->res;
	unsigned flags = q->transport == TRANSPORT_UDP ? 0 : LOOKUP_ANY_FULL;

	zone_lookup(z, q->req.qname_lc, q->req.qtype, flags, res);
	if (q->req.edns.do_bit) {
		dnssec_add_proofs(z, res);
	}
	dns_writer_rcode(&q->w, res->rcode);
	if (res->aa) {
		dns_writer_flags(&q->w, DNS_FLAG_AA, 0);
	}
	bool dnssec = q->req.edns.do_bit;
	if (write_items(&q->w, DNS_AN, res->an, res->nan, dnssec) != E_OK ||
	    write_items(&q->w, DNS_NS, res->ns, res->nns, dnssec) != E_OK ||
	    write_additional(&q->w, res, dnssec) != E_OK) {
		dns_writer_clear_records(&q->w);
		dns_writer_flags(&q->w, DNS_FLAG_TC, 0);
		q->stats->truncated++;
	}
}

void query_answer(const server_state_t *st, query_t *q)
{
	/* The name may have been rewritten by a stage: find its zone again. */
	const zone_entry_t *e = state_find_zone(st, q->view, q->req.qname_lc, q->req.qtype);
	const zone_t *z = e != NULL ? rcu_dereference(e->zone) : NULL;
	/* What the cache needs to know that a newer version replaces this answer. */
	q->ss.answered = true;
	q->ss.zentry = e;
	q->ss.zver = z;
	if (z == NULL) {
		dns_writer_rcode(&q->w, e == NULL ? RCODE_REFUSED : RCODE_SERVFAIL);
		q->ede = e == NULL ? EDE_NOT_AUTHORITATIVE : EDE_NOT_READY;
		return;
	}
	answer_zone(q, z);
}

/* Header-only (or header + question) error response. */
static size_t respond_error(query_t *q, uint8_t rcode)
{
	dns_writer_clear_records(&q->w);
	dns_writer_rcode(&q->w, rcode);
	q->stats->rcodes[rcode & 0xF]++;
	return dns_writer_finish(&q->w);
}

static bool query_type_refused(uint16_t qtype)
{
	/* Meta types other than ANY that make no sense in a query to an authoritative server. */
	return qtype == RR_OPT || qtype == RR_TSIG || qtype == RR_TKEY || qtype == RR_MAILA ||
	       qtype == RR_MAILB;
}

size_t query_process(const server_state_t *st, query_t *q)
{
	dns_request_t *req = &q->req;
	int ret = dns_request_parse(req, q->wire, q->len);

	q->block = NULL;
	q->ede = -1;
	/* The stages' per-query state (server/stages/). */
	q->ss.st = st;
	q->ss.zentry = NULL;
	q->ss.zver = NULL;
	q->ss.plugin = NULL;
	q->ss.answered = false;
	q->ss.rewritten = false;
	q->ss.rewrite_stop = false;
	q->ss.rewrite_rules = 0;
	q->ss.cache = 0;
	q->stats->requests[q->transport]++;
	if (ret == E_TRUNC || (ret != E_OK && q->len < DNS_HDR_LEN) ||
	    (dns_u16(q->wire + 2) & DNS_FLAG_QR)) {
		q->stats->dropped++;
		return 0; /* no header, or a response: never answer */
	}
	q->max_size = q->transport == TRANSPORT_UDP ? DNS_UDP_MIN : DNS_TCP_MAX;
	if (ret == E_OK && req->edns.present && q->transport == TRANSPORT_UDP) {
		uint16_t p = req->edns.payload < DNS_UDP_MIN ? DNS_UDP_MIN : req->edns.payload;
		q->max_size = p < DNS_UDP_DEFAULT ? p : DNS_UDP_DEFAULT;
	}
	if (q->max_size > q->out_cap) {
		q->max_size = (uint16_t)q->out_cap;
	}
	/* The header is always there; the question is echoed when it parsed (even when what
	 * follows it did not). */
	if (dns_writer_begin(&q->w, q->out, q->max_size, req) != E_OK) {
		return 0;
	}
	if (ret != E_OK) {
		return respond_error(q, RCODE_FORMERR);
	}
	bool edns = req->edns.present;
	if (edns) {
		dns_writer_reserve(&q->w, DNS_OPT_LEN + DNS_EDE_LEN);
	}
	size_t len;
	switch (xfrout_query(st, q, &len)) {
	case XFROUT_DROP:
		q->stats->dropped++;
		return 0;
	case XFROUT_DONE:
		/* A transfer, a NOTIFY, or a TSIG error: no stages. */
		q->stats->rcodes[DNS_RCODE(dns_u16(q->out + 2))]++;
		q->resp_len = len;
		metrics_query(q, len);
		return len;
	case XFROUT_PASS:
		break;
	}
	if (req->opcode != OPCODE_QUERY) {
		dns_writer_rcode(&q->w, RCODE_NOTIMP);
	} else if (edns && req->edns.version > 0) {
		dns_writer_rcode(&q->w, RCODE_BADVERS & 0xF);
	} else if ((req->qclass != CLASS_IN && req->qclass != CLASS_ANY) ||
		   query_type_refused(req->qtype) || req->qtype == RR_AXFR ||
		   req->qtype == RR_IXFR) {
		dns_writer_rcode(&q->w, RCODE_REFUSED);
	} else {
		q->view = conf_view_by_port(st->conf, q->port);
		const zone_entry_t *e =
			q->view < 0 ? NULL
				    : state_find_zone(st, q->view, req->qname_lc, req->qtype);
		if (e == NULL) {
			dns_writer_rcode(&q->w, RCODE_REFUSED);
			q->ede = EDE_NOT_AUTHORITATIVE;
		} else {
			q->block = &st->conf->blocks[e->conf->block];
			switch (run_stages(q)) {
			case STAGE_DROP:
				q->stats->dropped++;
				metrics_query(q, 0);
				return 0;
			case STAGE_DONE:
				/* A stage wrote the whole response (q->out, q->resp_len). */
				len = q->resp_len;
				goto respond;
			case STAGE_CONTINUE:
				query_answer(st, q);
				break;
			}
		}
	}
	if (req->flags & DNS_FLAG_CD) {
		dns_writer_flags(&q->w, DNS_FLAG_CD, 0);
	}
	if (edns) {
		uint8_t ext = (edns && req->edns.version > 0) ? RCODE_BADVERS >> 4 : 0;
		dns_writer_opt_ede(&q->w, DNS_UDP_DEFAULT, ext, req->edns.do_bit, q->ede);
	}
	len = dns_writer_finish(&q->w);
respond:
	q->stats->rcodes[DNS_RCODE(dns_u16(q->out + 2))]++;
	q->resp_len = len;
	if (q->block != NULL) {
		for (int i = q->block->nstages - 1; i >= 0; i--) {
			const stage_t *s = &q->block->stages[i];
			if (s->ops->response != NULL) {
				s->ops->response(q, s->ctx);
			}
		}
	}
	q->resp_len = xfrout_sign(q, q->resp_len); /* last: nothing may change it after */
	metrics_query(q, q->resp_len);             /* a response hook may have changed the length */
	return q->resp_len;
}
