/*  Signet: zone transfers out (see xfr.h).
 *
 *  A transfer is a generator of RRs cut into messages: each message is filled up to the cap,
 *  names compressed within it, the question only in the first (as BIND does), AA set, an OPT
 *  when the request had EDNS, and a TSIG when a key is given.
 *
 *  AXFR (RFC 5936): the SOA, then every node in canonical order and every NSEC3 node in hash
 *  order, each RRset followed by its RRSIGs (sent with the RRset's TTL), then the node's
 *  RRSIGs whose RRset is absent, then the SOA again.
 *  IXFR (RFC 1995): SOA(new), then one condensed step SOA(old) removed... SOA(new) added...,
 *  then SOA(new); the SOA alone when the client is current; the AXFR sequence when the
 *  journal does not reach the client's serial. Over UDP: the SOA alone when the client is
 *  current, the difference when it fits one datagram, else TC without records.
 */
#include "xfr/xfr.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dns/err.h"
#include "dns/log.h"
#include "dns/rrtype.h"
#include "dns/tsig.h"
#include "xfr/journal.h"
#include "zones/diff.h"

#define RR_FIXED_LEN 10
/* Messages over TCP are filled to 16 KiB, not 64: a compression pointer reaches only the
 * first 16 KiB of a message, and names past it would be written in full (as Knot DNS does;
 * 7% fewer octets for a signed zone). An RR too large for that gets a message of up to
 * 64 KiB to itself. */
#define XFR_MSG_SOFT 16384

enum stage {
	ST_SOA_FIRST, /* AXFR and IXFR: the current SOA */
	ST_NODES,     /* AXFR: every node */
	ST_OLD_SOA,   /* IXFR: SOA(old) */
	ST_REMOVED,
	ST_NEW_SOA, /* IXFR: SOA(new) before the added RRs */
	ST_ADDED,
	ST_SOA_LAST,
	ST_END,
};

/* One RR to send. */
typedef struct xrr {
	const uint8_t *owner;
	uint16_t type;
	uint32_t ttl;
	const uint8_t *rdata;
	uint16_t rdlen;
} xrr_t;

struct xfr_out {
	zone_t *z;
	const zone_rrset_t *soa;
	dns_request_t req;   /*!< the request, question included: the first message */
	dns_request_t reqnq; /*!< the same without its question: later messages */
	bool incremental;    /*!< an IXFR difference (else the whole zone, or the SOA alone) */
	bool soa_only;
	bool truncated; /*!< over UDP, the client is behind and the answer does not fit: TC */
	bool udp;
	bool done;
	zone_changeset_t cs;
	/* position */
	enum stage stage;
	uint32_t node;
	uint16_t rrset;
	uint8_t part; /* 0: the RRset, 1: its RRSIGs */
	uint32_t pos;
	size_t blob_pos;
	xrr_t pending;
	bool have_pending;
	/* TSIG */
	bool sign;
	tsig_key_t key;
	tsig_ctx_t tsig;
	uint32_t nmsg;
};

static void xrr_set(xrr_t *rr, const uint8_t *owner, uint16_t type, uint32_t ttl,
		    const uint8_t *rdata, uint16_t rdlen)
{
	rr->owner = owner;
	rr->type = type;
	rr->ttl = ttl;
	rr->rdata = rdata;
	rr->rdlen = rdlen;
}

static void soa_rr(const xfr_out_t *x, xrr_t *rr)
{
	uint16_t rdlen;
	const uint8_t *rd = zone_rrset_rdata(x->soa, 0, &rdlen);

	xrr_set(rr, x->z->apex_name, RR_SOA, x->soa->ttl, rd, rdlen);
}

/* The next RR of the whole zone after the first SOA; false at the end. */
static bool nodes_next(xfr_out_t *x, xrr_t *rr)
{
	const zone_t *z = x->z;
	uint32_t total = z->nnodes + z->nnsec3;
	const uint8_t *rd;
	uint16_t rdlen;

	while (x->node < total) {
		const zone_node_t *node =
			x->node < z->nnodes ? z->nodes[x->node] : z->nsec3[x->node - z->nnodes];

		if (x->rrset < node->nrrsets) {
			const zone_rrset_t *rs = &node->rrsets[x->rrset];
			const zone_rrset_t *cur = x->part == 0 ? rs : rs->sigs;
			bool skip = rs->type == RR_RRSIG || cur == NULL ||
				    (x->part == 0 && rs->type == RR_SOA);

			if (!skip && (rd = zone_rrset_next(cur, &x->pos, &rdlen)) != NULL) {
				xrr_set(rr, node->owner, cur->type, cur->ttl, rd, rdlen);
				return true;
			}
			x->pos = 0;
			if (x->part == 0) {
				x->part = 1;
			} else {
				x->part = 0;
				x->rrset++;
			}
			continue;
		}
		/* RRSIGs whose RRset is not at the node */
		const zone_rrset_t *sigs = zone_node_rrset(node, RR_RRSIG);

		while (sigs != NULL && (rd = zone_rrset_next(sigs, &x->pos, &rdlen)) != NULL) {
			const zone_rrset_t *cov =
				rdlen >= 2 ? zone_node_rrset(node, dns_u16(rd)) : NULL;

			if (cov == NULL || cov->type == RR_RRSIG || cov->sigs == NULL) {
				xrr_set(rr, node->owner, RR_RRSIG, sigs->ttl, rd, rdlen);
				return true;
			}
		}
		x->node++;
		x->rrset = 0;
		x->part = 0;
		x->pos = 0;
	}
	return false;
}

/* The next packed RR of a changeset side; false at its end. */
static bool blob_next(xfr_out_t *x, const uint8_t *p, size_t len, xrr_t *rr)
{
	const uint8_t *fixed;
	size_t olen;

	if (x->blob_pos >= len) {
		return false;
	}
	p += x->blob_pos;
	olen = dname_len(p);
	fixed = p + olen;
	xrr_set(rr, p, dns_u16(fixed), dns_u32(fixed + 4), fixed + RR_FIXED_LEN,
		dns_u16(fixed + 8));
	x->blob_pos += olen + RR_FIXED_LEN + rr->rdlen;
	return true;
}

/* The next RR of the transfer; false when all are sent. */
static bool fetch(xfr_out_t *x, xrr_t *rr)
{
	for (;;) {
		switch (x->stage) {
		case ST_SOA_FIRST:
			soa_rr(x, rr);
			x->stage = x->soa_only ? ST_END : x->incremental ? ST_OLD_SOA : ST_NODES;
			return true;
		case ST_NODES:
			if (nodes_next(x, rr)) {
				return true;
			}
			x->stage = ST_SOA_LAST;
			break;
		case ST_OLD_SOA:
			xrr_set(rr, x->z->apex_name, RR_SOA, x->cs.soa_ttl_from, x->cs.soa_from,
				x->cs.soa_from_len);
			x->stage = ST_REMOVED;
			x->blob_pos = 0;
			return true;
		case ST_REMOVED:
			if (blob_next(x, x->cs.removed, x->cs.removed_len, rr)) {
				return true;
			}
			x->stage = ST_NEW_SOA;
			break;
		case ST_NEW_SOA:
			xrr_set(rr, x->z->apex_name, RR_SOA, x->cs.soa_ttl_to, x->cs.soa_to,
				x->cs.soa_to_len);
			x->stage = ST_ADDED;
			x->blob_pos = 0;
			return true;
		case ST_ADDED:
			if (blob_next(x, x->cs.added, x->cs.added_len, rr)) {
				return true;
			}
			x->stage = ST_SOA_LAST;
			break;
		case ST_SOA_LAST:
			soa_rr(x, rr);
			x->stage = ST_END;
			return true;
		case ST_END:
		default:
			return false;
		}
	}
}

/* The client's serial: the SOA that must open the authority section of an IXFR request. */
static int ixfr_client_serial(const dns_request_t *req, const uint8_t *wire, size_t len,
			      uint32_t *serial)
{
	uint8_t name[DNAME_MAX];
	size_t pos = req->question_end, rdend;
	uint16_t rdlen;

	if (req->nscount == 0 || pos == 0) {
		return E_MALFORMED;
	}
	for (uint32_t i = 0; i <= req->ancount; i++) {
		if (dname_unpack(wire, len, &pos, name) < 0 || len - pos < RR_FIXED_LEN) {
			return E_MALFORMED;
		}
		rdlen = dns_u16(wire + pos + 8);
		if (len - pos - RR_FIXED_LEN < rdlen) {
			return E_MALFORMED;
		}
		if (i < req->ancount) {
			pos += RR_FIXED_LEN + (size_t)rdlen;
		}
	}
	if (dns_u16(wire + pos) != RR_SOA || !dname_equal(name, req->qname)) {
		return E_MALFORMED;
	}
	pos += RR_FIXED_LEN;
	rdend = pos + rdlen;
	if (dname_unpack(wire, rdend, &pos, name) < 0 ||
	    dname_unpack(wire, rdend, &pos, name) < 0 || rdend - pos != 20) {
		return E_MALFORMED;
	}
	*serial = dns_u32(wire + pos);
	return E_OK;
}

int xfr_start(xfr_out_t **out, zone_t *z, struct xfr_journal *journal, const dns_request_t *req,
	      const uint8_t *wire, size_t wire_len, const struct tsig_key *key, bool udp)
{
	xfr_out_t *x;
	uint32_t client = 0;
	int ret;

	*out = NULL;
	if (req->qtype != RR_AXFR && req->qtype != RR_IXFR) {
		return -EINVAL;
	}
	if (udp && req->qtype == RR_AXFR) {
		return E_NOTSUP; /* RFC 5936 §4.2: AXFR only over TCP */
	}
	if (zone_node_rrset(z->apex, RR_SOA) == NULL) {
		return E_ZONE_NOSOA;
	}
	if (key != NULL && req->tsig_pos == 0) {
		return -EINVAL;
	}
	if (req->qtype == RR_IXFR) {
		ret = ixfr_client_serial(req, wire, wire_len, &client);
		if (ret != E_OK) {
			return ret;
		}
	}
	x = calloc(1, sizeof(*x));
	if (x == NULL) {
		return -ENOMEM;
	}
	x->z = zone_ref(z);
	x->soa = zone_node_rrset(z->apex, RR_SOA);
	x->req = *req;
	x->reqnq = *req;
	x->reqnq.qname_len = 0;
	x->udp = udp;
	if (key != NULL) {
		x->key = *key;
		x->sign = true;
		ret = tsig_ctx_from_request(&x->tsig, &x->key, wire, wire_len, req->tsig_pos);
		if (ret != E_OK) {
			xfr_free(x);
			return ret;
		}
	}
	if (req->qtype == RR_IXFR) {
		int cmp = xfr_serial_cmp(client, z->serial);

		if (cmp == 0 || cmp == 1) {
			x->soa_only = true; /* current, or newer than us (RFC 1995 §2) */
		} else if (journal != NULL) {
			ret = xfr_journal_read(journal, z->apex_name, client, z->serial, &x->cs);
			if (ret == E_OK) {
				x->incremental = true;
			} else if (ret != -ENOENT) {
				log_warn("xfr",
					 "IXFR from serial %u: journal: %s, sending the zone",
					 client, err_str(ret));
			}
		}
		if (udp && !x->incremental && !x->soa_only) {
			x->truncated = true; /* TC: the client retries over TCP */
		}
	}
	*out = x;
	return E_OK;
}

/* A message with only the header, question and \a rcode: when an RR cannot be sent. */
static void message_fail(dns_writer_t *w, uint8_t rcode)
{
	dns_writer_clear_records(w);
	dns_writer_rcode(w, rcode);
	dns_writer_flags(w, 0, DNS_FLAG_AA);
}

size_t xfr_next(xfr_out_t *x, uint8_t *buf, size_t cap)
{
	dns_writer_t w;
	size_t reserve = 0, len;
	bool more = true;

	if (x->done) {
		return 0;
	}
	if (cap > DNS_TCP_MAX) {
		cap = DNS_TCP_MAX;
	}
	if (dns_writer_begin(&w, buf, !x->udp && cap > XFR_MSG_SOFT ? XFR_MSG_SOFT : cap,
			     x->nmsg == 0 ? &x->req : &x->reqnq) != E_OK) {
		return 0;
	}
	dns_writer_flags(&w, DNS_FLAG_AA, 0);
	if (x->sign) {
		reserve += tsig_rr_size(&x->key);
	}
	if (x->req.edns.present) {
		reserve += DNS_OPT_LEN;
	}
	dns_writer_reserve(&w, reserve);
	for (; !x->truncated;) {
		if (!x->have_pending) {
			x->have_pending = fetch(x, &x->pending);
			if (!x->have_pending) {
				more = false;
				break;
			}
		}
		const xrr_t *rr = &x->pending;

		if (dns_writer_rr(&w, DNS_AN, rr->owner, rr->type, CLASS_IN, rr->ttl, rr->rdata,
				  rr->rdlen) != E_OK) {
			if (w.count[DNS_AN] == 0 && w.cap < cap) {
				w.cap = cap; /* one large RR: up to 64 KiB for it */
				continue;
			}
			break;
		}
		x->have_pending = false;
	}
	if (x->udp && (more || x->truncated)) {
		/* The difference does not fit one datagram, or only the whole zone would do:
		 * TC and no records, the client asks again over TCP (as BIND does). */
		dns_writer_clear_records(&w);
		dns_writer_flags(&w, DNS_FLAG_TC, 0);
		x->truncated = true;
		more = false;
	} else if (more && w.count[DNS_AN] == 0) {
		log_err("xfr", "an RR does not fit in a message, transfer aborted");
		message_fail(&w, RCODE_SERVFAIL);
		more = false;
	}
	if (x->req.edns.present) {
		dns_writer_opt(&w, DNS_UDP_DEFAULT, 0, x->req.edns.do_bit);
	}
	len = dns_writer_finish(&w);
	if (x->sign && tsig_sign(&x->tsig, buf, &len, cap, (uint64_t)time(NULL)) != E_OK) {
		log_err("xfr", "no room for the TSIG, transfer aborted");
		x->done = true;
		return 0;
	}
	x->nmsg++;
	x->done = !more || x->udp;
	return len;
}

const char *xfr_kind(const xfr_out_t *x)
{
	return x->incremental || x->soa_only || x->udp ? "IXFR" : "AXFR";
}

void xfr_free(xfr_out_t *x)
{
	if (x == NULL) {
		return;
	}
	zone_changeset_clear(&x->cs);
	zone_free(x->z);
	explicit_bzero(&x->key, sizeof(x->key));
	explicit_bzero(&x->tsig, sizeof(x->tsig));
	free(x);
}
