/*  Signet: base64 (RFC 4648 §4, the standard alphabet with padding) — TSIG secrets, key
 *  files and the etcd gateway's keys and values share this one. */
#pragma once

#include <stddef.h>
#include <stdint.h>

/*! Characters of the base64 text of \a n octets (the NUL not counted). */
#define BASE64_ENCODED_LEN(n) ((((size_t)(n) + 2) / 3) * 4)

/*! The most octets \a n characters of base64 decode to. */
#define BASE64_DECODED_MAX(n) ((((size_t)(n) + 1) * 6) / 8)

/*!
 * \brief Base64 of \a in, NUL-terminated, into \a out.
 * \return the length (NUL not counted), or E_TRUNC when \a outlen is too small.
 */
int base64_encode(char *out, size_t outlen, const uint8_t *in, size_t len);

/*!
 * \brief Decode base64 text; white space is ignored, padding is required.
 * \return the number of octets written, E_MALFORMED for text that is not base64, or E_TRUNC
 *         when \a outlen is less than BASE64_DECODED_MAX(len).
 */
int base64_decode(uint8_t *out, size_t outlen, const char *in, size_t len);
