/*  Signet: DNS messages. A bounded request parser and a response writer with name
 *  compression; neither allocates.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dns/name.h"

#define DNS_HDR_LEN     12
#define DNS_UDP_MIN     512  /*!< payload without EDNS (RFC 1035) */
#define DNS_UDP_DEFAULT 1232 /*!< our advertised and maximum UDP payload (DNS flag day 2020) */
#define DNS_TCP_MAX     65535
#define DNS_COMP_MAX    255 /*!< names remembered for compression per message */
#define DNS_EDE_LEN     6   /*!< an EDE option with no text */
#define DNS_OPT_LEN     11  /*!< OPT RR without options */

/* Header flag bits in the 16-bit flags word. */
#define DNS_FLAG_QR       0x8000
#define DNS_FLAG_AA       0x0400
#define DNS_FLAG_TC       0x0200
#define DNS_FLAG_RD       0x0100
#define DNS_FLAG_RA       0x0080
#define DNS_FLAG_AD       0x0020
#define DNS_FLAG_CD       0x0010
#define DNS_OPCODE(flags) (((flags) >> 11) & 0xF)
#define DNS_RCODE(flags)  ((flags)&0xF)

enum dns_section { DNS_AN = 0, DNS_NS = 1, DNS_AR = 2 };

static inline uint16_t dns_u16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

static inline uint32_t dns_u32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static inline void dns_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void dns_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/*! EDNS(0) as found in a request (RFC 6891). */
typedef struct dns_edns {
	bool present;
	bool do_bit;
	uint8_t version;
	uint8_t ext_rcode;
	uint16_t payload; /*!< requestor's UDP payload size, as sent */
} dns_edns_t;

/*! A parsed request. Names point into the request buffer or into this struct. */
typedef struct dns_request {
	uint16_t id;
	uint16_t flags;
	uint8_t opcode;
	uint16_t qdcount, ancount, nscount, arcount;
	uint8_t qname[DNAME_MAX];    /*!< as the client sent it (case kept) */
	uint8_t qname_lc[DNAME_MAX]; /*!< lower-cased */
	uint8_t qname_len;
	uint16_t qtype;
	uint16_t qclass;
	size_t question_end; /*!< offset just past the question */
	dns_edns_t edns;
	size_t tsig_pos; /*!< offset of a TSIG RR (last in additional), 0 when none */
	size_t end;      /*!< offset just past the last parsed record */
} dns_request_t;

/*!
 * \brief Parse a request: header, the one question, and the records that follow (OPT and
 *        TSIG are found in the additional section; others are skipped after checking).
 *
 * \return E_OK; E_MALFORMED when the header is complete but the rest does not parse (answer
 *         FORMERR; \a req->qname_len is 0 when the question itself was bad);
 *         E_TRUNC when not even the header is there (drop); E_TRAILING for bytes after the
 *         last record (answer FORMERR). Never reads outside [wire, wire + len).
 */
int dns_request_parse(dns_request_t *req, const uint8_t *wire, size_t len);

/*! Name-compression memory: where names already written start in the message. */
typedef struct dns_comp_entry {
	uint16_t off;   /*!< offset of the first label of the (suffix) name */
	uint8_t labels; /*!< labels of that name, root not counted */
} dns_comp_entry_t;

/*! A response being written into a caller-owned buffer. */
typedef struct dns_writer {
	uint8_t *buf;
	size_t cap;      /*!< the most this message may grow to (UDP payload or 65535) */
	size_t reserved; /*!< tail kept free for OPT (and TSIG) */
	size_t len;
	size_t qend;       /*!< offset just past the question */
	uint16_t count[3]; /*!< AN, NS, AR record counts */
	uint8_t ncomp;
	dns_comp_entry_t comp[DNS_COMP_MAX];
} dns_writer_t;

/*! A point to roll the writer back to when a record set does not fit. */
typedef struct dns_writer_mark {
	size_t len;
	uint16_t count[3];
	uint8_t ncomp;
} dns_writer_mark_t;

/*!
 * \brief Start a response in \a buf: header (id, opcode and RD copied from \a req, QR set)
 *        and, when \a req has a question, the question as the client wrote it.
 * \return E_OK or E_TRUNC.
 */
int dns_writer_begin(dns_writer_t *w, uint8_t *buf, size_t cap, const dns_request_t *req);

/*! \brief Keep \a bytes at the end free for records written last (OPT, TSIG); sets, not adds. */
void dns_writer_reserve(dns_writer_t *w, size_t bytes);

static inline void dns_writer_mark(const dns_writer_t *w, dns_writer_mark_t *m)
{
	m->len = w->len;
	m->count[0] = w->count[0];
	m->count[1] = w->count[1];
	m->count[2] = w->count[2];
	m->ncomp = w->ncomp;
}

/*! \brief Forget everything written since \a m (length, counts, compression memory). */
void dns_writer_rollback(dns_writer_t *w, const dns_writer_mark_t *m);

/*!
 * \brief Append one RR. \a owner is uncompressed wire (compressed against earlier names);
 *        \a rdata is uncompressed wire; the names inside the RDATA of the RFC 1035 types
 *        (NS, CNAME, SOA, PTR, MX, ...) are compressed, others copied as they are.
 *        RDATA of those types that does not parse as the type says is copied as it is.
 * \return E_OK, or E_TRUNC (the writer and the whole buffer are unchanged).
 */
int dns_writer_rr(dns_writer_t *w, enum dns_section sec, const uint8_t *owner, uint16_t type,
		  uint16_t rclass, uint32_t ttl, const uint8_t *rdata, uint16_t rdlen);

/*!
 * \brief Append an OPT RR (always fits: its room is reserved by the caller). It may use the
 *        reserved room; the reservation shrinks by DNS_OPT_LEN. E_TRUNC only past \a cap.
 * \param ext_rcode  the upper 8 bits of a 12-bit RCODE
 */
int dns_writer_opt(dns_writer_t *w, uint16_t payload, uint8_t ext_rcode, bool do_bit);

/*! \brief As dns_writer_opt, with an Extended DNS Error (RFC 8914) INFO-CODE when \a ede >= 0
 *         (the reserved room must then include DNS_EDE_LEN). */
int dns_writer_opt_ede(dns_writer_t *w, uint16_t payload, uint8_t ext_rcode, bool do_bit, int ede);

/*! \brief Set or clear header flags. */
void dns_writer_flags(dns_writer_t *w, uint16_t set, uint16_t clear);

/*! \brief Set the 4-bit header RCODE. */
void dns_writer_rcode(dns_writer_t *w, uint8_t rcode);

/*! \brief Write the section counts into the header; return the message length. */
size_t dns_writer_finish(dns_writer_t *w);

/*! \brief Drop every record written so far (keep header and question), e.g. before TC. */
void dns_writer_clear_records(dns_writer_t *w);
