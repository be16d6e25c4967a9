/*  Signet: the journal of zone changes (SQLite), the source of IXFR (RFC 1995).
 *
 *  One database per server, <storage>/journal.sqlite, in WAL mode, with one row per version
 *  step (zone, sequence, serial_from → serial_to, both SOAs, the removed and added RRs packed
 *  as in zones/diff.h). A step is stored in one transaction that is committed, and with
 *  synchronous=FULL synced, before xfr_journal_store() returns: store first, then publish,
 *  and neither a kill -9 nor a power cut loses a published version.
 *
 *  Each zone's history is bounded (the oldest steps are dropped beyond max_bytes or
 *  max_versions; the newest step is always kept) and contiguous: a step whose serial_from is
 *  not the last stored serial_to (a restart with other data, a serial reset) replaces the
 *  zone's history.
 *
 *  A handle is one SQLite connection, used by one thread at a time: the zone manager writes
 *  through its own handle (XFR_JOURNAL_WRITE), the TCP thread reads through another
 *  (XFR_JOURNAL_READ); WAL lets readers run while the writer commits. Serials compare by
 *  RFC 1982 arithmetic.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "zones/builder.h"
#include "zones/diff.h"

#define XFR_JOURNAL_FILE "journal.sqlite"

typedef struct xfr_journal xfr_journal_t;

enum xfr_journal_mode {
	XFR_JOURNAL_WRITE, /*!< stores changesets and enforces the bounds */
	XFR_JOURNAL_READ,  /*!< reads only (another thread's connection) */
};

/*! How much history each zone keeps; 0 means no limit. */
typedef struct xfr_journal_limits {
	uint64_t max_bytes;    /*!< stored RR octets per zone */
	uint32_t max_versions; /*!< version steps per zone */
	bool sync_normal;      /*!< synchronous=NORMAL: survives kill -9 but not a power cut */
} xfr_journal_limits_t;

/*! \brief Default bounds: 64 MiB and 1000 versions per zone, synchronous=FULL. */
#define XFR_JOURNAL_LIMITS_DEFAULT \
	((xfr_journal_limits_t){   \
		.max_bytes = 64u << 20, .max_versions = 1000, .sync_normal = false })

/*!
 * \brief RFC 1982 comparison of two serials: <0, 0 or >0; a difference of exactly 2^31 is
 *        undefined and reported as 2 (neither smaller nor greater).
 */
static inline int xfr_serial_cmp(uint32_t a, uint32_t b)
{
	uint32_t d = b - a;

	if (a == b) {
		return 0;
	}
	if (d == 0x80000000u) {
		return 2;
	}
	return d < 0x80000000u ? -1 : 1;
}

/*!
 * \brief Open (creating when missing, the directory too) the journal in \a dir.
 * \param limits  NULL: XFR_JOURNAL_LIMITS_DEFAULT (copied; ignored by readers)
 * \return E_OK with *out set, -errno for the directory, or -EIO when SQLite fails (logged).
 */
int xfr_journal_open(xfr_journal_t **out, const char *dir, enum xfr_journal_mode mode,
		     const xfr_journal_limits_t *limits);

/*! \brief The bounds the next xfr_journal_store() enforces (a writer's; per zone, as each
 *         zone's block may set its own). */
void xfr_journal_set_limits(xfr_journal_t *j, const xfr_journal_limits_t *limits);

/*! \brief Close the connection (the last writer also checkpoints the WAL). NULL is fine. */
void xfr_journal_close(xfr_journal_t *j);

/*!
 * \brief Store one version step of the zone \a apex (wire form, any case) durably, then drop
 *        the oldest steps beyond the bounds. An empty changeset (only the SOA moved) is stored
 *        too: secondaries still need the step.
 * \return E_OK; -EINVAL when serial_to is not greater than serial_from (RFC 1982), the
 *         changeset's packed RRs do not parse, or the handle is a reader; -EIO (logged).
 */
int xfr_journal_store(xfr_journal_t *j, const uint8_t *apex, const zone_changeset_t *cs);

/*! \brief The newest serial_to stored for \a apex. \return E_OK, -ENOENT (none) or -EIO. */
int xfr_journal_last_serial(xfr_journal_t *j, const uint8_t *apex, uint32_t *serial);

/*! \brief The oldest serial_from still reachable. \return E_OK, -ENOENT or -EIO. */
int xfr_journal_first_serial(xfr_journal_t *j, const uint8_t *apex, uint32_t *serial);

/*! \brief Steps and stored octets kept for \a apex. \return E_OK or -EIO. */
int xfr_journal_usage(xfr_journal_t *j, const uint8_t *apex, uint32_t *versions, uint64_t *bytes);

/*!
 * \brief The condensed difference from serial \a from to serial \a to (RFC 1995 §5): the
 *        steps between are merged, an RR added then removed (or removed then added back
 *        unchanged) disappears. Read in one snapshot.
 * \param out  filled on E_OK (release with zone_changeset_clear)
 * \return E_OK; -ENOENT when \a from is not in the journal (older than the oldest kept, or
 *         unknown) or the chain does not reach \a to; -EINVAL when from == to;
 *         E_MALFORMED for a stored row that does not parse; -ENOMEM; -EIO.
 */
int xfr_journal_read(xfr_journal_t *j, const uint8_t *apex, uint32_t from, uint32_t to,
		     zone_changeset_t *out);

/*!
 * \brief Store the whole of version \a z as the zone's newest contents, and forget the
 *        history before it (the first version, or one that does not follow the journal).
 *        Later xfr_journal_store() steps that start from the newest contents move them
 *        along, so that a restart can rebuild the newest version (xfr_journal_contents).
 */
int xfr_journal_snapshot(xfr_journal_t *j, const zone_t *z);

/*!
 * \brief Add the newest stored version of the builder's zone to \a b and give its serial.
 * \return E_OK; -ENOENT when nothing is stored; E_MALFORMED, -EIO.
 */
int xfr_journal_contents(xfr_journal_t *j, zone_builder_t *b, uint32_t *serial);

/*! \brief Forget the history of \a apex (e.g. a zone removed from the configuration). */
int xfr_journal_drop(xfr_journal_t *j, const uint8_t *apex);
