/*  Signet: TSIG (RFC 8945) — keys, BIND key files, request verification and response signing.
 *
 *  A transaction (one request and its one or more response messages) is a tsig_ctx_t: the
 *  server fills it with tsig_request_verify() and signs every response message with
 *  tsig_sign(); a client (NOTIFY out) starts it with tsig_request_sign() and checks the answer
 *  with tsig_response_verify(). MACs are HMAC (nettle) over SHA-1/224/256/384/512, compared in
 *  constant time. Secrets are wiped when released and never logged.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dns/name.h"
#include "dns/pkt.h"

#define TSIG_MAC_MAX    64  /*!< the longest MAC (HMAC-SHA512) */
#define TSIG_SECRET_MAX 256 /*!< the longest secret accepted, in octets */
#define TSIG_FUDGE      300 /*!< seconds of clock skew allowed (RFC 8945 §10 recommends 300) */
#define TSIG_ALG_MAX    13  /*!< the longest algorithm name in wire form ("hmac-sha512.") */
#define TSIG_OTHER_MAX  6   /*!< Other Data we send or accept: the 48-bit time of BADTIME */

/* TSIG errors in the TSIG RR (the header RCODE is then NOTAUTH, RFC 8945 §5.3.2). */
#define TSIG_ERR_BADSIG   16
#define TSIG_ERR_BADKEY   17
#define TSIG_ERR_BADTIME  18
#define TSIG_ERR_BADTRUNC 22

enum tsig_alg {
	TSIG_HMAC_SHA1 = 1,
	TSIG_HMAC_SHA224,
	TSIG_HMAC_SHA256,
	TSIG_HMAC_SHA384,
	TSIG_HMAC_SHA512,
};

/*! One shared secret. Plain data: copy it by value; wipe copies with tsig_key_wipe(). */
typedef struct tsig_key {
	uint8_t name[DNAME_MAX]; /*!< wire form, lower case */
	uint8_t name_len;
	enum tsig_alg alg;
	uint16_t secret_len;
	uint8_t secret[TSIG_SECRET_MAX];
} tsig_key_t;

/*! A set of keys, unique by name. */
typedef struct tsig_keyring {
	tsig_key_t *keys;
	size_t count, cap;
} tsig_keyring_t;

/*! The state of one signed transaction. */
typedef struct tsig_ctx {
	const tsig_key_t *key;     /*!< borrowed; NULL when the key was not found (BADKEY) */
	uint8_t mac[TSIG_MAC_MAX]; /*!< the request MAC, then the last MAC sent or received */
	uint16_t mac_len;
	uint64_t time_signed;        /*!< the request's Time Signed */
	uint16_t fudge;              /*!< the request's Fudge */
	uint16_t error;              /*!< TSIG error to answer with (TSIG_ERR_*), 0 when none */
	uint8_t key_name[DNAME_MAX]; /*!< the request's key and algorithm names, lower case, */
	uint8_t alg_name[DNAME_MAX]; /*!< echoed in error responses */
	uint32_t nmsg;               /*!< messages signed or verified after the request */
} tsig_ctx_t;

/*!
 * \brief An algorithm from its name: "hmac-sha256" or the wire-form presentation
 *        "hmac-sha256." (any case). \return E_OK, E_NOTSUP (e.g. hmac-md5) or -EINVAL.
 */
int tsig_alg_from_str(const char *str, enum tsig_alg *out);

/*! \brief The algorithm's name as in BIND configuration ("hmac-sha256"). */
const char *tsig_alg_str(enum tsig_alg alg);

/*! \brief Length of the algorithm's MAC in octets. */
size_t tsig_alg_mac_len(enum tsig_alg alg);

/*!
 * \brief Fill \a key from presentation-format text: \a name ("transfer-key" or
 *        "transfer-key."), \a alg (NULL: hmac-sha256) and the base64 \a secret (white space
 *        ignored). \return E_OK, E_NAME_SYNTAX / E_NAME_LONG, E_NOTSUP, or -EINVAL for a
 *        secret that is not base64, is empty or longer than TSIG_SECRET_MAX.
 */
int tsig_key_set(tsig_key_t *key, const char *name, const char *alg, const char *secret);

/*! \brief Erase a key's secret (and the rest of it). */
void tsig_key_wipe(tsig_key_t *key);

/*! \brief Worst-case size of the TSIG RR we append when signing with \a key (reserve it). */
size_t tsig_rr_size(const tsig_key_t *key);

void tsig_keyring_init(tsig_keyring_t *kr);

/*! \brief Wipe and free every key. */
void tsig_keyring_deinit(tsig_keyring_t *kr);

/*! \brief Copy \a key into the ring. \return E_OK, E_EXISTS (same name) or -ENOMEM. */
int tsig_keyring_add(tsig_keyring_t *kr, const tsig_key_t *key);

/*! \brief The key named \a name (wire form, any case), or NULL. Borrowed from the ring. */
const tsig_key_t *tsig_keyring_find(const tsig_keyring_t *kr, const uint8_t *name);

/*!
 * \brief Add the keys of BIND `key "name" { algorithm hmac-sha256; secret "base64"; };`
 *        clauses in \a text (several clauses; comments //, # and C-style).
 * \param where  names the text in messages (a file name)
 * \param err    receives "where:line: message" on failure (may be NULL)
 * \return E_OK, E_CFG_SYNTAX, E_CFG_SEMANTIC (bad algorithm or secret, duplicate key name)
 *         or -ENOMEM. Keys added before an error stay in the ring.
 */
int tsig_keyring_parse(tsig_keyring_t *kr, const char *text, size_t len, const char *where,
		       char *err, size_t errlen);

/*! \brief tsig_keyring_parse() on the contents of the file \a path (-errno when unreadable). */
int tsig_keyring_load(tsig_keyring_t *kr, const char *path, char *err, size_t errlen);

/*!
 * \brief Verify the TSIG of a request (RFC 8945 §5.2) found at req->tsig_pos and prepare
 *        \a ctx for signing the response(s).
 * \param now  seconds since the epoch
 * \return E_OK; -ENOENT when the request has no TSIG; E_MALFORMED (answer FORMERR);
 *         E_TSIG_BADKEY, E_TSIG_BADSIG or E_TSIG_BADTIME: answer NOTAUTH and still call
 *         tsig_sign(), which writes the TSIG error RR (unsigned for BADKEY/BADSIG, signed
 *         with the server time in Other Data for BADTIME).
 */
int tsig_request_verify(tsig_ctx_t *ctx, const tsig_keyring_t *kr, const dns_request_t *req,
			const uint8_t *wire, size_t len, uint64_t now);

/*!
 * \brief Prepare \a ctx from a request whose TSIG (at \a tsig_pos) was verified already with
 *        \a key (borrowed for the life of \a ctx): only the request MAC and times are read.
 * \return E_OK or E_MALFORMED.
 */
int tsig_ctx_from_request(tsig_ctx_t *ctx, const tsig_key_t *key, const uint8_t *wire, size_t len,
			  size_t tsig_pos);

/*!
 * \brief Append a TSIG RR to the finished message \a msg (*len octets, ARCOUNT updated).
 *        The first response covers the request MAC, the message and all TSIG variables;
 *        later ones the previous MAC, the message and the timers (RFC 8945 §5.3.1).
 * \param cap  room in \a msg (reserve tsig_rr_size() when writing the message)
 * \return E_OK or E_TRUNC.
 */
int tsig_sign(tsig_ctx_t *ctx, uint8_t *msg, size_t *len, size_t cap, uint64_t now);

/*!
 * \brief Client side: start a transaction with \a key (borrowed for the life of \a ctx) and
 *        sign the request \a msg like tsig_sign(). \return E_OK or E_TRUNC.
 */
int tsig_request_sign(tsig_ctx_t *ctx, const tsig_key_t *key, uint8_t *msg, size_t *len, size_t cap,
		      uint64_t now);

/*!
 * \brief Client side: verify one response message of the transaction (the first against the
 *        request MAC, later ones against the previous MAC; each must be signed).
 * \return E_OK; -ENOENT (unsigned); E_MALFORMED; E_TSIG_BADKEY (other key or algorithm, or
 *         the server's TSIG error BADKEY); E_TSIG_BADSIG; E_TSIG_BADTIME.
 */
int tsig_response_verify(tsig_ctx_t *ctx, const uint8_t *wire, size_t len, uint64_t now);

/*!
 * \brief Find the TSIG RR of any message: the last record of the additional section.
 * \return E_OK with *pos set to its offset, -ENOENT when there is none, E_MALFORMED.
 */
int tsig_find(const uint8_t *wire, size_t len, size_t *pos);
