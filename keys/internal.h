/*  Signet: helpers shared by the files of keys/ (private to this folder). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*! Random source for Nettle (getrandom). A failure is recorded, never a crash. */
struct keys_rng {
	bool failed;
};

/*! \brief nettle_random_func over getrandom(); \a ctx is a struct keys_rng. */
void keys_random(void *ctx, size_t len, uint8_t *dst);

/*!
 * \brief The value of field \a name ("PrivateKey") of a .private text: the rest of the line
 *        after "name:", leading and trailing white space removed. Field names match
 *        case-insensitively. \return the value length, -ENOENT or E_TRUNC.
 */
int keys_field(const char *text, const char *name, char *val, size_t vallen);

/*! \brief Append formatted text at buf + *len. \return E_OK or E_TRUNC. */
int keys_append(char *buf, size_t buflen, size_t *len, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/*!
 * \brief \a zone as BIND names key files (dns_name_tofilenametext): lower case; letters,
 *        digits, '-' and '_' kept, every other octet as %XX; labels joined by '.', a final
 *        dot, "." for the root. \return the length or E_TRUNC.
 */
int keys_zone_filename(char *buf, size_t buflen, const uint8_t *zone);

/*! \brief fsync a folder (after a rename into it). \return E_OK or -errno. */
int keys_fsync_dir(const char *dir);

/*! \brief Overwrite \a len bytes so the compiler cannot drop it. */
void keys_wipe(void *p, size_t len);

struct rsa_public_key;
struct ecc_point;

/*! \brief Set and prepare \a pub (initialized) from an RFC 3110 DNSKEY public key field. */
int keys_rsa_pub_from_dnskey(struct rsa_public_key *pub, const uint8_t *pk, size_t len);

/*! \brief The RFC 3110 DNSKEY public key field of \a pub. \return its length or E_TRUNC. */
int keys_rsa_pub_to_dnskey(const struct rsa_public_key *pub, uint8_t *pk, size_t cap);

/*! \brief Set \a q (initialized on secp256r1) from an RFC 6605 public key (x | y). */
int keys_ecc_pub_from_dnskey(struct ecc_point *q, const uint8_t *pk, size_t len);
