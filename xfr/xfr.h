/*  Signet: zone transfers out (AXFR RFC 5936, IXFR RFC 1995) as a stream of messages. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dns/pkt.h"
#include "zones/zone.h"

struct xfr_journal;
struct tsig_key;

typedef struct xfr_out xfr_out_t;

/*!
 * \brief Start answering an AXFR or IXFR request \a req (already parsed, TSIG verified by
 *        the caller) for zone version \a z (a reference is taken and dropped by xfr_free).
 *        For IXFR the client's serial is read from the request's authority SOA; differences
 *        come from \a journal (may be NULL: AXFR only). With \a key, every message is
 *        TSIG-signed (RFC 8945 §5.3.1, each message covering the previous MAC).
 * \param udp  IXFR over UDP: a single message, the SOA alone when the client is current,
 *             else the whole difference if it fits, else an empty answer with TC set, so
 *             the client asks again over TCP (as BIND does; RFC 1995 §2 also allows the
 *             SOA alone).
 * \return E_OK; E_MALFORMED for an IXFR without the client's SOA in authority (answer
 *         FORMERR); E_NOTSUP for AXFR over UDP; -EINVAL when the question is neither AXFR
 *         nor IXFR, or \a key is given but the request carries no TSIG; -ENOMEM.
 *         A journal that does not reach the client's serial (or fails) is not an error:
 *         the zone is sent whole, as RFC 1995 §4 says.
 */
int xfr_start(xfr_out_t **out, zone_t *z, struct xfr_journal *journal, const dns_request_t *req,
	      const uint8_t *wire, size_t wire_len, const struct tsig_key *key, bool udp);

/*! \brief Write the next message into \a buf (at most \a cap, ≤ 65535); 0 once all is sent
 *         (or when \a cap cannot hold even the header and TSIG: close the connection). */
size_t xfr_next(xfr_out_t *x, uint8_t *buf, size_t cap);

/*! \brief "AXFR" or "IXFR" actually sent, for logs and metrics. */
const char *xfr_kind(const xfr_out_t *x);

void xfr_free(xfr_out_t *x);
