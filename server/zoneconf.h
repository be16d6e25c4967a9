/*  Signet: what a server block says about its zones beyond their data — transfers and
 *  their keys ("transfer", "tsig"), where state lives ("storage"), how serials move
 *  ("serial") and signing ("dnssec"). Read once per configuration, with file:line errors. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "dns/tsig.h"
#include "dnssec/sign.h"
#include "keys/keyset.h"
#include "server/cfg.h"
#include "xfr/journal.h"
#include "xfr/notify.h"

#define ZC_MAX_TARGETS 32
#define ZC_MAX_KEYS    8

enum serial_policy {
	SERIAL_AUTO = 0,   /*!< the source's serial when it moved, else increment */
	SERIAL_KEEP,       /*!< always the source's serial */
	SERIAL_INCREMENT,  /*!< the last served + 1 */
	SERIAL_UNIXTIME,   /*!< seconds since the epoch (at least the last + 1) */
	SERIAL_DATESERIAL, /*!< YYYYMMDDnn (at least the last + 1) */
};

/*! "transfer [ZONES...] { to ADDR[:PORT]...|*; key NAME... }" */
typedef struct zc_transfer {
	const cfg_directive_t *dir;
	bool any;                               /*!< "to *": anyone may transfer, no NOTIFY */
	xfr_notify_target_t to[ZC_MAX_TARGETS]; /*!< may transfer; NOTIFY goes here */
	int nto;
	const tsig_key_t *keys[ZC_MAX_KEYS]; /*!< one of them is required; none: no TSIG needed */
	int nkeys;
} zc_transfer_t;

/*! "dnssec [ZONES...] { ... }" */
typedef struct zc_dnssec {
	const cfg_directive_t *dir;
	dnssec_conf_t sign;
	key_policy_t policy;
	bool dnskey_ttl_set;
	char keys_dir[600]; /*!< managed keys (created, rolled) */
	char **key_files;   /*!< "key file": used as they are, never rolled */
	int nkey_files;
	xfr_notify_target_t parents[ZC_MAX_TARGETS]; /*!< asked for the DS during a KSK roll */
	int nparents;
} zc_dnssec_t;

typedef struct zc_block {
	tsig_keyring_t keyring;
	bool tsig_require_all;
	uint16_t tsig_require[16]; /*!< query types that must be signed */
	int ntsig_require;
	char storage[512];
	xfr_journal_limits_t journal; /*!< storage { journal-max-depth, journal-max-usage } */
	enum serial_policy serial;
	zc_transfer_t *transfers;
	int ntransfers;
	zc_dnssec_t *dnssecs;
	int ndnssecs;
} zc_block_t;

/*! Called for each problem: file, line, message. */
typedef void (*zc_fail_fn)(void *ud, const char *file, int line, const char *msg);

/*!
 * \brief Read the block's transfer, tsig, storage, serial and dnssec directives.
 * \param dir  the block's folder for relative paths; storage defaults to DIR/var
 * \return the number of problems reported.
 */
int zoneconf_block(zc_block_t *zb, const cfg_block_t *blk, const char *dir, zc_fail_fn fail,
		   void *ud);

/*! \brief The transfer rule that covers \a apex in \a zb, or NULL. */
const zc_transfer_t *zoneconf_transfer(const zc_block_t *zb, const uint8_t *apex);

/*! \brief The dnssec rule that covers \a apex in \a zb, or NULL (unsigned). */
const zc_dnssec_t *zoneconf_dnssec(const zc_block_t *zb, const uint8_t *apex);

/*! \brief True when \a addr may transfer under \a t (the port is not compared). */
bool zoneconf_transfer_allowed(const zc_transfer_t *t, const struct sockaddr *addr);

void zoneconf_block_free(zc_block_t *zb);

/*! \brief The directive names this module reads, NULL-terminated. */
const char *const *zoneconf_directives(void);

/*! \brief True for the directive names this module reads. */
bool zoneconf_directive(const char *name);
