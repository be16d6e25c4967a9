/*  Signet: reading and re-writing a finished response, for the stages that change one after
 *  the answer (rewrite, loadbalance) or keep one (cache). Nothing here allocates.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dns/pkt.h"

/*! The most records of one message the stages look at; larger messages are left alone. */
#define MSG_RR_MAX 256

/*! One record of a parsed message (offsets into the message). */
typedef struct msg_rr {
	uint16_t off;   /*!< start of the owner name */
	uint16_t rdoff; /*!< start of RDATA (RDLENGTH is the two octets before) */
	uint16_t rdlen;
	uint16_t type;
	uint16_t rclass;
	uint8_t sec; /*!< enum dns_section */
	uint32_t ttl;
} msg_rr_t;

/*! A parsed message: header, question and the position of every record. */
typedef struct msg {
	const uint8_t *wire;
	size_t len;
	size_t qend; /*!< just past the question */
	uint16_t count[3];
	int nrr;
	msg_rr_t rr[MSG_RR_MAX];
} msg_t;

/*!
 * \brief Find every record of \a wire (a message with exactly one question).
 * \return E_OK, E_MALFORMED, or E_NOTSUP when it has more than MSG_RR_MAX records.
 */
int msg_parse(msg_t *m, const uint8_t *wire, size_t len);

/*! \brief True when the name at \a off has a compression pointer to [lo, hi). */
bool msg_name_points_into(const uint8_t *wire, size_t len, size_t off, size_t lo, size_t hi);

/*! \brief True when some name of record \a r (owner, or a name in RDATA that may be
 *         compressed) has a compression pointer to [lo, hi). */
bool msg_rr_points_into(const msg_t *m, const msg_rr_t *r, size_t lo, size_t hi);

/*!
 * A name changer for msg_rebuild: write the new form of \a name (uncompressed wire) into
 * \a out and return true, or return false to keep it. \a in_rdata tells an owner (false) from
 * a name inside RDATA (true).
 */
typedef bool (*msg_name_fn)(void *ud, const uint8_t *name, bool in_rdata, uint8_t *out);

/*! \brief The RDATA of record \a r with its names uncompressed into \a out (\a cap octets).
 *         \return its length, or -1. */
int msg_rdata(const msg_t *m, const msg_rr_t *r, uint8_t *out, size_t cap);

/*! \brief Start writing a copy of \a m into \a out: its header and question (the question
 *         name replaced by \a qname when not NULL). \return E_OK or E_TRUNC. */
int msg_begin(const msg_t *m, const uint8_t *qname, dns_writer_t *w, uint8_t *out, size_t cap);

/*! \brief Append record \a r of \a m to \a w, names passed through \a fn when not NULL.
 *         \return E_OK, E_TRUNC or E_MALFORMED. */
int msg_write_rr(const msg_t *m, const msg_rr_t *r, msg_name_fn fn, void *ud, dns_writer_t *w);

/*! \brief Finish what msg_begin started: counts, and the header flags of \a m. */
size_t msg_finish(const msg_t *m, dns_writer_t *w);

/*!
 * \brief Write \a m again into \a out (\a cap octets): header flags and question as they are
 *        (the question name replaced by \a qname when not NULL), then the records listed in
 *        \a order (indexes into m->rr, each section's records together, in section order),
 *        names passed through \a fn when not NULL. Names are compressed as the response
 *        writer does.
 * \return the new length, or 0 when it does not fit (nothing useful is left in \a out).
 */
size_t msg_rebuild(const msg_t *m, const uint16_t *order, int n, const uint8_t *qname,
		   msg_name_fn fn, void *ud, uint8_t *out, size_t cap);

/*! \brief Response classes as CoreDNS's response.Typify sees them. */
enum msg_class {
	MSG_NOERROR,    /*!< an answer */
	MSG_NXDOMAIN,   /*!< name error */
	MSG_NODATA,     /*!< no answer, SOA in authority */
	MSG_DELEGATION, /*!< no answer, NS in authority */
	MSG_SERVFAIL,
	MSG_OTHERERROR, /*!< REFUSED, NOTIMP, FORMERR, ... */
};

/*! \brief The class of a parsed response. */
enum msg_class msg_classify(const msg_t *m);

/*!
 * \brief The smallest TTL that matters for caching \a m (CoreDNS's dnsutil.MinimalTTL): for
 *        denials the SOA's (MINIMUM or its TTL, the smaller), otherwise the smallest TTL
 *        of all records but OPT; \a dflt when there is none.
 */
uint32_t msg_min_ttl(const msg_t *m, enum msg_class cls, uint32_t dflt);

/*! \brief Set the TTL of every record but OPT to \a ttl, in place. */
void msg_set_ttls(const msg_t *m, uint8_t *wire, uint32_t ttl);
