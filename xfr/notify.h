/*  Signet: NOTIFY (RFC 1996) — telling secondaries that a zone changed, and answering the
 *  NOTIFY messages others send us.
 *
 *  Out: one UDP datagram per (zone, target), opcode NOTIFY, AA, the question <zone> SOA IN and
 *  the new SOA in the answer section, TSIG-signed when the target has a key. It is resent
 *  with exponential backoff (1, 2, 4, 8, 16 s by default) until a matching response arrives
 *  (same source address and port, same ID, QR, opcode NOTIFY, same question; signed by the
 *  key when one is used) or the tries run out. A newer serial for the same zone and target
 *  replaces the pending one. Everything runs on the caller's libevent base (one thread).
 *
 *  In: Signet is never a secondary, so a NOTIFY is answered NOTAUTH (no AA), for a zone it
 *  serves as well as for one it does not: what Knot DNS 3.2 answers a NOTIFY for a zone it
 *  is primary for (no notify ACL) or does not serve.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "dns/pkt.h"
#include "dns/tsig.h"
#include "zones/zone.h"

struct event_base;

typedef struct xfr_notify xfr_notify_t;

/*! Where to send: an address and port, and the key to sign with (NULL: unsigned). */
typedef struct xfr_notify_target {
	struct sockaddr_storage addr;
	socklen_t addrlen;
	const tsig_key_t *key; /*!< copied by xfr_notify_zone() */
} xfr_notify_target_t;

/*!
 * Called once per (zone, serial, target) when it is settled: \a rcode is the response's RCODE
 * (RCODE_NOERROR when the secondary acknowledged), or -ETIMEDOUT when the tries ran out, or
 * -ECANCELED when a newer serial replaced it or the notifier was freed.
 */
typedef void (*xfr_notify_done_fn)(void *ud, const uint8_t *apex, uint32_t serial,
				   const struct sockaddr *addr, int rcode);

/*!
 * \brief A notifier on \a base. \a done may be NULL: results are then logged here (with a
 *        callback, only at debug level: the caller logs them).
 * \return E_OK or -ENOMEM (sockets are opened on first use).
 */
int xfr_notify_new(xfr_notify_t **out, struct event_base *base, xfr_notify_done_fn done, void *ud);

/*! \brief Cancel everything pending (done is called with -ECANCELED) and free. NULL is fine. */
void xfr_notify_free(xfr_notify_t *n);

/*! \brief First retry interval and number of sends (default 1000 ms, doubling up to five
 *         minutes, and 0: until acknowledged or superseded by a newer serial). */
void xfr_notify_set_retry(xfr_notify_t *n, unsigned first_ms, unsigned tries);

/*!
 * \brief Announce version \a z (its apex SOA is copied, the version is not kept) to every
 *        target; the first datagram leaves now. \return E_OK or -ENOMEM; a target that cannot
 *        be sent to is retried like a lost datagram.
 */
int xfr_notify_zone(xfr_notify_t *n, const zone_t *z, const xfr_notify_target_t *targets,
		    size_t ntargets);

/*! \brief Notifications still waiting for their response. */
size_t xfr_notify_pending(const xfr_notify_t *n);

/*!
 * \brief Parse "ADDR", "ADDR:PORT", "[V6]:PORT" or a bare IPv6 address into \a t (key NULL).
 * \return E_OK or -EINVAL.
 */
int xfr_notify_target_parse(xfr_notify_target_t *t, const char *str, uint16_t default_port);

/*!
 * \brief The answer to an incoming NOTIFY \a req: same ID, opcode NOTIFY, QR, the question
 *        echoed, RCODE \a rcode (Signet's policy: RCODE_NOTAUTH), AA only with NOERROR.
 *        Reserve room for a TSIG the caller appends with tsig_sign().
 * \return the length written, or 0 when \a cap is too small.
 */
size_t xfr_notify_answer(uint8_t *buf, size_t cap, const dns_request_t *req, uint8_t rcode,
			 size_t reserve);
