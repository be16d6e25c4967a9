/*  Signet: domain names in wire form.
 *
 *  A name is a sequence of labels (length octet, then that many octets) ending with the
 *  zero-length root label, never longer than DNAME_MAX octets, each label at most 63.
 *  Names handled outside a packet are always uncompressed. Comparisons are ASCII
 *  case-insensitive; the canonical order is RFC 4034 §6.1.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DNAME_MAX        255
#define DNAME_LABEL_MAX  63
#define DNAME_LABELS_MAX 127
/*! Buffer for a presentation-format name, with every octet escaped as \DDD. */
#define DNAME_STR_MAX (DNAME_MAX * 4 + 1)

/*! \brief ASCII lower-case of one octet. */
static inline uint8_t dname_lower_octet(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') ? (uint8_t)(c + 32) : c;
}

/*!
 * \brief Read a possibly compressed name from a packet.
 *
 * \param pkt, pktlen  the whole message (pointers are offsets into it)
 * \param pos          in: offset of the name; out: offset just past the name in place
 * \param out          receives the uncompressed name (DNAME_MAX octets), case kept
 * \return length of the name in \a out, or E_MALFORMED / E_NAME_LOOP / E_NAME_LONG /
 *         E_NAME_LABEL. Pointers must point strictly backwards, so loops are impossible;
 *         never reads outside [pkt, pkt + pktlen).
 */
int dname_unpack(const uint8_t *pkt, size_t pktlen, size_t *pos, uint8_t *out);

/*!
 * \brief Check that an uncompressed name is well formed within \a maxlen; return its length,
 *        E_MALFORMED (runs past \a maxlen, or a length octet >= 64, pointers included) or
 *        E_NAME_LONG.
 */
int dname_check(const uint8_t *name, size_t maxlen);

/*! \brief Length of a well-formed uncompressed name, root label included. */
size_t dname_len(const uint8_t *name);

/*! \brief Number of labels, the root label not counted ("." has 0). */
int dname_labels(const uint8_t *name);

/*! \brief Lower-case a name in place. */
void dname_lower(uint8_t *name);

/*! \brief Copy \a src into \a dst lower-cased; return the length. */
size_t dname_copy_lower(uint8_t *dst, const uint8_t *src);

/*! \brief Case-insensitive equality. */
bool dname_equal(const uint8_t *a, const uint8_t *b);

/*! \brief True when \a name equals \a parent or lies below it (case-insensitive). */
bool dname_is_sub(const uint8_t *name, const uint8_t *parent);

/*! \brief The name with its first label removed; NULL for the root. Borrowed from \a name. */
const uint8_t *dname_parent(const uint8_t *name);

/*! \brief The suffix of \a name with \a labels labels (0 = root); NULL when fewer. Borrowed. */
const uint8_t *dname_suffix(const uint8_t *name, int labels);

/*! \brief RFC 4034 §6.1 canonical order: <0, 0, >0. Case-insensitive. */
int dname_cmp(const uint8_t *a, const uint8_t *b);

/*! \brief True when the first label is "*". */
bool dname_is_wildcard(const uint8_t *name);

/*! \brief Hash of the lower-cased name (32-bit FNV-1a over all wire octets, length octets too). */
uint32_t dname_hash(const uint8_t *name);

/*!
 * \brief Parse a presentation-format name ("www", "a\.b.example.", "\065", "@").
 *
 * Relative names are completed with \a origin (wire form; NULL means the root).
 * \return length written to \a out (DNAME_MAX octets), or E_NAME_SYNTAX / E_NAME_LABEL /
 *         E_NAME_LONG.
 */
int dname_from_str(uint8_t *out, const char *str, const uint8_t *origin);

/*!
 * \brief Write the absolute presentation form ("www.example.", "." for the root), escaping
 *        . \ " ( ) ; @ $ as \X and octets outside 0x21..0x7E as \DDD.
 * \return the string length (NUL not counted), or E_TRUNC when \a buflen is too small.
 */
int dname_to_str(char *buf, size_t buflen, const uint8_t *name);

/*!
 * \brief Replace the suffix \a from of \a name by \a to (DNAME substitution, RFC 6672).
 * \return length written to \a out, E_NAME_LONG when the result would be too long, or -EINVAL
 *         when \a name is not at or below \a from.
 */
int dname_replace_suffix(uint8_t *out, const uint8_t *name, const uint8_t *from, const uint8_t *to);
