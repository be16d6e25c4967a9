/*  Signet: a small, strict JSON reader (RFC 8259) for the etcd and Kubernetes sources. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum json_type {
	JSON_NULL,
	JSON_BOOL,
	JSON_NUMBER,
	JSON_STRING,
	JSON_ARRAY,
	JSON_OBJECT,
} json_type_t;

typedef struct json json_t;

/*! Arrays and objects nest at most this deep. */
#define JSON_DEPTH_MAX 128

/*!
 * \brief Parse one JSON text (nesting bounded, strings unescaped to UTF-8, duplicate keys:
 *        the last wins). \return E_OK with *out set, or E_MALFORMED with \a err saying where
 *        ("line 3, column 14: expected ':', not '}'"; lines and columns count from 1,
 *        columns in characters). Text that is not UTF-8, lone surrogates and control
 *        characters inside strings are errors. -ENOMEM when memory runs out.
 */
int json_parse(json_t **out, const char *text, size_t len, char *err, size_t errlen);
/*! \brief Free a document: the root json_parse gave (never a value inside it). NULL is fine. */
void json_free(json_t *j);

json_type_t json_type(const json_t *j);
/*! \brief The member \a key of an object, or NULL (also when \a j is not an object). */
const json_t *json_get(const json_t *j, const char *key);
/*! \brief Follow a dotted path of object keys: json_path(j, "metadata.name"). */
const json_t *json_path(const json_t *j, const char *path);
/*! \brief Elements of an array or members of an object. */
size_t json_count(const json_t *j);
const json_t *json_at(const json_t *j, size_t i);
/*! \brief The key of the i-th member of an object. */
const char *json_key_at(const json_t *j, size_t i);
/*! \brief The string (NUL-terminated; \a len may be NULL), or NULL when not a string. */
const char *json_str(const json_t *j, size_t *len);
/*! \brief An integral number (or a string of digits, as etcd writes int64s). */
bool json_int(const json_t *j, int64_t *out);
bool json_bool(const json_t *j, bool *out);
/*! \brief Any number, as a double. */
bool json_double(const json_t *j, double *out);

/*! \brief Append \a s to \a buf as a JSON string literal (with quotes); returns the length
 *         needed (as snprintf). */
size_t json_quote(char *buf, size_t len, const char *s);
