/*  Signet: a strict JSON reader (RFC 8259), see json.h.
 *
 *  One pass of recursive descent, depth bounded by JSON_DEPTH_MAX. Every node, string and
 *  array lives in one arena owned by the document, so json_free() is a few free() calls.
 *  Children of the container being read wait on a shared scratch stack and are copied into
 *  the arena once the container closes, so arrays of any size cost one copy.
 */
#include "adapters/json.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns/err.h"

#define ARENA_CHUNK  (64 * 1024)
#define SMALL_OBJECT 8 /* members compared pairwise for duplicates; more are sorted */

struct json {
	uint8_t type;
	bool b;
	uint32_t count; /* members, elements, or string length */
	union {
		const char *str; /* NUL-terminated */
		struct {
			double d;
			int64_t i;
			bool is_int;
		} num;
		struct {
			json_t **vals;
			const char **keys; /* objects only */
			uint32_t *klen;
		} c;
	} u;
};

struct chunk {
	struct chunk *next;
	size_t used, size;
	max_align_t data[];
};

/* The root node comes first so that json_free() can find the arena from it. */
struct doc {
	json_t root;
	struct chunk *chunks;
};

struct parser {
	const char *text;
	size_t len, pos;
	struct doc *doc;
	/* scratch stack of children (and their keys) of the open containers */
	json_t **stack;
	const char **skeys;
	uint32_t *sklen;
	size_t sp, scap;
	int depth;
	char *err;
	size_t errlen;
	bool failed;
	bool oom;
};

/* ---- arena ---- */

static void *arena_alloc(struct doc *d, size_t n)
{
	struct chunk *c = d->chunks;
	n = (n + 7) & ~(size_t)7;
	if (c == NULL || c->size - c->used < n) {
		size_t size = n > ARENA_CHUNK / 2 ? n : ARENA_CHUNK;
		c = malloc(sizeof(*c) + size);
		if (c == NULL) {
			return NULL;
		}
		c->size = size;
		c->used = 0;
		if (n > ARENA_CHUNK / 2 && d->chunks != NULL) {
			/* a big block of its own: keep filling the current chunk */
			c->next = d->chunks->next;
			d->chunks->next = c;
		} else {
			c->next = d->chunks;
			d->chunks = c;
		}
	}
	void *p = (char *)c->data + c->used;
	c->used += n;
	return p;
}

/* ---- errors ---- */

static void fail(struct parser *p, size_t at, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void fail(struct parser *p, size_t at, const char *fmt, ...)
{
	char msg[160];
	va_list ap;
	size_t line = 1, col = 1;

	if (p->failed) {
		return;
	}
	p->failed = true;
	if (at > p->len) {
		at = p->len;
	}
	for (size_t i = 0; i < at; i++) {
		unsigned char c = (unsigned char)p->text[i];
		if (c == '\n') {
			line++;
			col = 1;
		} else if ((c & 0xC0) != 0x80) {
			col++; /* columns count characters, not UTF-8 continuation octets */
		}
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (p->errlen > 0) {
		snprintf(p->err, p->errlen, "line %zu, column %zu: %s", line, col, msg);
	}
}

static void oom(struct parser *p, size_t at)
{
	fail(p, at, "out of memory");
	p->oom = true;
}

/* A printable description of the character at \a at, for messages. */
static const char *what_at(const struct parser *p, size_t at, char *buf, size_t len)
{
	if (at >= p->len) {
		return "the end of the text";
	}
	unsigned char c = (unsigned char)p->text[at];
	if (c >= 0x21 && c < 0x7F) {
		snprintf(buf, len, "'%c'", c);
	} else {
		snprintf(buf, len, "byte 0x%02x", c);
	}
	return buf;
}

static void skip_ws(struct parser *p)
{
	while (p->pos < p->len) {
		char c = p->text[p->pos];
		if (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
			return;
		}
		p->pos++;
	}
}

/* ---- scratch stack ---- */

static bool push(struct parser *p, json_t *v, const char *key, uint32_t klen)
{
	if (p->sp == p->scap) {
		size_t cap = p->scap ? p->scap * 2 : 64;
		json_t **s = realloc(p->stack, cap * sizeof(*s));
		if (s == NULL) {
			return false;
		}
		p->stack = s;
		const char **k = realloc(p->skeys, cap * sizeof(*k));
		if (k == NULL) {
			return false;
		}
		p->skeys = k;
		uint32_t *kl = realloc(p->sklen, cap * sizeof(*kl));
		if (kl == NULL) {
			return false;
		}
		p->sklen = kl;
		p->scap = cap;
	}
	p->stack[p->sp] = v;
	p->skeys[p->sp] = key;
	p->sklen[p->sp] = klen;
	p->sp++;
	return true;
}

/* ---- strings ---- */

static int hex4(const char *s)
{
	int v = 0;
	for (int i = 0; i < 4; i++) {
		char c = s[i];
		v <<= 4;
		if (c >= '0' && c <= '9') {
			v |= c - '0';
		} else if (c >= 'a' && c <= 'f') {
			v |= c - 'a' + 10;
		} else if (c >= 'A' && c <= 'F') {
			v |= c - 'A' + 10;
		} else {
			return -1;
		}
	}
	return v;
}

static size_t put_utf8(char *out, uint32_t cp)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xC0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xE0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		out[2] = (char)(0x80 | (cp & 0x3F));
		return 3;
	}
	out[0] = (char)(0xF0 | (cp >> 18));
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
	out[3] = (char)(0x80 | (cp & 0x3F));
	return 4;
}

/* Length of the well-formed UTF-8 sequence at s (at most n octets), 0 when ill-formed
 * (overlong forms, surrogates and code points above U+10FFFF are ill-formed). */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	if (c < 0x80) {
		return 1;
	}
	if (c >= 0xC2 && c <= 0xDF) {
		return n >= 2 && (s[1] & 0xC0) == 0x80 ? 2 : 0;
	}
	if (c >= 0xE0 && c <= 0xEF) {
		if (n < 3 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80) {
			return 0;
		}
		if ((c == 0xE0 && s[1] < 0xA0) || (c == 0xED && s[1] >= 0xA0)) {
			return 0;
		}
		return 3;
	}
	if (c >= 0xF0 && c <= 0xF4) {
		if (n < 4 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80 ||
		    (s[3] & 0xC0) != 0x80) {
			return 0;
		}
		if ((c == 0xF0 && s[1] < 0x90) || (c == 0xF4 && s[1] >= 0x90)) {
			return 0;
		}
		return 4;
	}
	return 0;
}

/* The string starting at the opening quote at p->pos, unescaped into the arena. */
static const char *parse_string(struct parser *p, uint32_t *outlen)
{
	size_t start = p->pos + 1, end = start;
	const char *t = p->text;

	/* Find the closing quote first: the unescaped text is never longer. */
	while (end < p->len && t[end] != '"') {
		end += t[end] == '\\' ? 2 : 1;
	}
	if (end >= p->len) {
		fail(p, p->pos, "unterminated string");
		return NULL;
	}
	if (end - start > UINT32_MAX - 1) {
		fail(p, p->pos, "string too long");
		return NULL;
	}
	char *out = arena_alloc(p->doc, end - start + 1);
	if (out == NULL) {
		oom(p, p->pos);
		return NULL;
	}
	size_t o = 0, i = start;
	while (i < end) {
		unsigned char c = (unsigned char)t[i];
		if (c < 0x20) {
			fail(p, i, "control character (byte 0x%02x) in a string; write it escaped",
			     c);
			return NULL;
		}
		if (c >= 0x80) {
			size_t n = utf8_len((const unsigned char *)t + i, end - i);
			if (n == 0) {
				fail(p, i, "invalid UTF-8 in a string");
				return NULL;
			}
			memcpy(out + o, t + i, n);
			o += n;
			i += n;
			continue;
		}
		if (c != '\\') {
			out[o++] = (char)c;
			i++;
			continue;
		}
		char e = t[i + 1];
		switch (e) {
		case '"':
		case '\\':
		case '/':
			out[o++] = e;
			break;
		case 'b':
			out[o++] = '\b';
			break;
		case 'f':
			out[o++] = '\f';
			break;
		case 'n':
			out[o++] = '\n';
			break;
		case 'r':
			out[o++] = '\r';
			break;
		case 't':
			out[o++] = '\t';
			break;
		case 'u': {
			int hi = i + 6 <= end ? hex4(t + i + 2) : -1;
			uint32_t cp;
			if (hi < 0) {
				fail(p, i, "\\u needs four hexadecimal digits");
				return NULL;
			}
			cp = (uint32_t)hi;
			if (hi >= 0xDC00 && hi <= 0xDFFF) {
				fail(p, i, "\\u%04X is a low surrogate without a high one", hi);
				return NULL;
			}
			if (hi >= 0xD800 && hi <= 0xDBFF) {
				int lo = i + 12 <= end && t[i + 6] == '\\' && t[i + 7] == 'u'
						 ? hex4(t + i + 8)
						 : -1;
				if (lo < 0xDC00 || lo > 0xDFFF) {
					fail(p, i, "\\u%04X is a high surrogate without a low one",
					     hi);
					return NULL;
				}
				cp = 0x10000 + (((uint32_t)hi - 0xD800) << 10) +
				     ((uint32_t)lo - 0xDC00);
				i += 6;
			}
			o += put_utf8(out + o, cp);
			i += 6;
			continue;
		}
		default:
			fail(p, i, "invalid escape '\\%c'", e >= 0x21 && e < 0x7F ? e : '?');
			return NULL;
		}
		i += 2;
	}
	out[o] = '\0';
	p->pos = end + 1;
	*outlen = (uint32_t)o;
	return out;
}

/* ---- numbers and literals ---- */

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Exact int64 of an optional '-' and digits; false on overflow. */
static bool int_of(const char *s, size_t n, int64_t *out)
{
	bool neg = n > 0 && s[0] == '-';
	uint64_t v = 0, lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	size_t i = neg ? 1 : 0;
	if (i == n) {
		return false;
	}
	for (; i < n; i++) {
		if (!is_digit(s[i])) {
			return false;
		}
		uint64_t d = (uint64_t)(s[i] - '0');
		if (v > (lim - d) / 10) {
			return false;
		}
		v = v * 10 + d;
	}
	*out = neg ? (int64_t)(0 - v) : (int64_t)v;
	return true;
}

static json_t *parse_number(struct parser *p)
{
	const char *t = p->text;
	size_t start = p->pos, i = p->pos;
	bool integral = true;

	if (i < p->len && t[i] == '-') {
		i++;
	}
	if (i >= p->len || !is_digit(t[i])) {
		fail(p, i, "a number needs a digit here, not %s",
		     what_at(p, i, (char[16]){ 0 }, 16));
		return NULL;
	}
	if (t[i] == '0') {
		i++;
		if (i < p->len && is_digit(t[i])) {
			fail(p, start, "numbers do not start with 0 (except 0 itself)");
			return NULL;
		}
	} else {
		while (i < p->len && is_digit(t[i])) {
			i++;
		}
	}
	if (i < p->len && t[i] == '.') {
		integral = false;
		i++;
		if (i >= p->len || !is_digit(t[i])) {
			fail(p, i, "a digit must follow the decimal point");
			return NULL;
		}
		while (i < p->len && is_digit(t[i])) {
			i++;
		}
	}
	if (i < p->len && (t[i] == 'e' || t[i] == 'E')) {
		integral = false;
		i++;
		if (i < p->len && (t[i] == '+' || t[i] == '-')) {
			i++;
		}
		if (i >= p->len || !is_digit(t[i])) {
			fail(p, i, "the exponent needs a digit");
			return NULL;
		}
		while (i < p->len && is_digit(t[i])) {
			i++;
		}
	}
	json_t *v = arena_alloc(p->doc, sizeof(*v));
	char *copy = arena_alloc(p->doc, i - start + 1);
	if (v == NULL || copy == NULL) {
		oom(p, start);
		return NULL;
	}
	memcpy(copy, t + start, i - start);
	copy[i - start] = '\0';
	memset(v, 0, sizeof(*v));
	v->type = JSON_NUMBER;
	v->u.num.d = strtod(copy, NULL);
	v->u.num.is_int = integral && int_of(copy, i - start, &v->u.num.i);
	p->pos = i;
	return v;
}

static json_t *parse_literal(struct parser *p, const char *word, json_type_t type, bool b)
{
	size_t n = strlen(word);
	if (p->len - p->pos < n || memcmp(p->text + p->pos, word, n) != 0) {
		fail(p, p->pos, "unexpected %s (not a JSON value)",
		     what_at(p, p->pos, (char[16]){ 0 }, 16));
		return NULL;
	}
	json_t *v = arena_alloc(p->doc, sizeof(*v));
	if (v == NULL) {
		oom(p, p->pos);
		return NULL;
	}
	memset(v, 0, sizeof(*v));
	v->type = (uint8_t)type;
	v->b = b;
	p->pos += n;
	return v;
}

/* ---- containers ---- */

struct member_ref {
	const char *key;
	uint32_t klen;
	uint32_t idx;
};

static int member_cmp(const void *a, const void *b)
{
	const struct member_ref *x = a, *y = b;
	uint32_t n = x->klen < y->klen ? x->klen : y->klen;
	int c = memcmp(x->key, y->key, n);
	if (c != 0) {
		return c;
	}
	if (x->klen != y->klen) {
		return x->klen < y->klen ? -1 : 1;
	}
	return x->idx < y->idx ? -1 : (x->idx > y->idx ? 1 : 0);
}

/* Drop members whose key appears again later (the last wins), keeping the order of the
 * rest. Works on the top \a n entries of the scratch stack. */
static size_t drop_duplicates(struct parser *p, size_t base, size_t n)
{
	bool *dead = NULL;
	size_t kept = 0;
	bool any = false;

	if (n < 2) {
		return n;
	}
	dead = calloc(n, sizeof(*dead));
	if (dead == NULL) {
		return (size_t)-1;
	}
	if (n <= SMALL_OBJECT) {
		for (size_t i = 0; i < n; i++) {
			for (size_t j = i + 1; j < n && !dead[i]; j++) {
				if (p->sklen[base + i] == p->sklen[base + j] &&
				    memcmp(p->skeys[base + i], p->skeys[base + j],
					   p->sklen[base + i]) == 0) {
					dead[i] = any = true;
				}
			}
		}
	} else {
		struct member_ref *r = malloc(n * sizeof(*r));
		if (r == NULL) {
			free(dead);
			return (size_t)-1;
		}
		for (size_t i = 0; i < n; i++) {
			r[i] = (struct member_ref){ p->skeys[base + i], p->sklen[base + i],
						    (uint32_t)i };
		}
		qsort(r, n, sizeof(*r), member_cmp);
		for (size_t i = 0; i + 1 < n; i++) {
			if (r[i].klen == r[i + 1].klen &&
			    memcmp(r[i].key, r[i + 1].key, r[i].klen) == 0) {
				dead[r[i].idx] = any = true;
			}
		}
		free(r);
	}
	if (!any) {
		free(dead);
		return n;
	}
	for (size_t i = 0; i < n; i++) {
		if (!dead[i]) {
			p->stack[base + kept] = p->stack[base + i];
			p->skeys[base + kept] = p->skeys[base + i];
			p->sklen[base + kept] = p->sklen[base + i];
			kept++;
		}
	}
	free(dead);
	return kept;
}

static json_t *parse_value(struct parser *p);

/* Move the children on the scratch stack above \a base into \a v. */
static bool close_container(struct parser *p, json_t *v, size_t base, bool object)
{
	size_t n = p->sp - base;
	if (object) {
		n = drop_duplicates(p, base, n);
		if (n == (size_t)-1) {
			return false;
		}
	}
	if (n > UINT32_MAX) {
		return false;
	}
	v->count = (uint32_t)n;
	if (n > 0) {
		v->u.c.vals = arena_alloc(p->doc, n * sizeof(json_t *));
		if (v->u.c.vals == NULL) {
			return false;
		}
		memcpy(v->u.c.vals, p->stack + base, n * sizeof(json_t *));
		if (object) {
			v->u.c.keys = arena_alloc(p->doc, n * sizeof(char *));
			v->u.c.klen = arena_alloc(p->doc, n * sizeof(uint32_t));
			if (v->u.c.keys == NULL || v->u.c.klen == NULL) {
				return false;
			}
			memcpy(v->u.c.keys, p->skeys + base, n * sizeof(char *));
			memcpy(v->u.c.klen, p->sklen + base, n * sizeof(uint32_t));
		}
	}
	p->sp = base;
	return true;
}

static json_t *parse_container(struct parser *p, bool object)
{
	size_t open = p->pos, base = p->sp;
	char close = object ? '}' : ']';
	char buf[16];
	json_t *v;

	if (++p->depth > JSON_DEPTH_MAX) {
		fail(p, open, "nesting deeper than %d", JSON_DEPTH_MAX);
		return NULL;
	}
	v = arena_alloc(p->doc, sizeof(*v));
	if (v == NULL) {
		oom(p, open);
		return NULL;
	}
	memset(v, 0, sizeof(*v));
	v->type = object ? JSON_OBJECT : JSON_ARRAY;
	p->pos++;
	skip_ws(p);
	if (p->pos < p->len && p->text[p->pos] == close) {
		p->pos++;
		p->depth--;
		return v;
	}
	for (;;) {
		const char *key = NULL;
		uint32_t klen = 0;
		skip_ws(p);
		if (object) {
			if (p->pos >= p->len || p->text[p->pos] != '"') {
				fail(p, p->pos, "expected a string (a member name), not %s",
				     what_at(p, p->pos, buf, sizeof(buf)));
				return NULL;
			}
			key = parse_string(p, &klen);
			if (key == NULL) {
				return NULL;
			}
			skip_ws(p);
			if (p->pos >= p->len || p->text[p->pos] != ':') {
				fail(p, p->pos, "expected ':', not %s",
				     what_at(p, p->pos, buf, sizeof(buf)));
				return NULL;
			}
			p->pos++;
			skip_ws(p);
		}
		json_t *child = parse_value(p);
		if (child == NULL) {
			return NULL;
		}
		if (!push(p, child, key, klen)) {
			oom(p, p->pos);
			return NULL;
		}
		skip_ws(p);
		if (p->pos < p->len && p->text[p->pos] == ',') {
			p->pos++;
			continue;
		}
		if (p->pos < p->len && p->text[p->pos] == close) {
			p->pos++;
			break;
		}
		fail(p, p->pos, "expected ',' or '%c', not %s", close,
		     what_at(p, p->pos, buf, sizeof(buf)));
		return NULL;
	}
	if (!close_container(p, v, base, object)) {
		oom(p, open);
		return NULL;
	}
	p->depth--;
	return v;
}

static json_t *parse_value(struct parser *p)
{
	char buf[16];
	if (p->pos >= p->len) {
		fail(p, p->pos, "expected a value, not the end of the text");
		return NULL;
	}
	switch (p->text[p->pos]) {
	case '{':
		return parse_container(p, true);
	case '[':
		return parse_container(p, false);
	case '"': {
		json_t *v = arena_alloc(p->doc, sizeof(*v));
		if (v == NULL) {
			oom(p, p->pos);
			return NULL;
		}
		memset(v, 0, sizeof(*v));
		v->type = JSON_STRING;
		v->u.str = parse_string(p, &v->count);
		return v->u.str != NULL ? v : NULL;
	}
	case 't':
		return parse_literal(p, "true", JSON_BOOL, true);
	case 'f':
		return parse_literal(p, "false", JSON_BOOL, false);
	case 'n':
		return parse_literal(p, "null", JSON_NULL, false);
	default:
		if (p->text[p->pos] == '-' || is_digit(p->text[p->pos])) {
			return parse_number(p);
		}
		fail(p, p->pos, "expected a value, not %s", what_at(p, p->pos, buf, sizeof(buf)));
		return NULL;
	}
}

int json_parse(json_t **out, const char *text, size_t len, char *err, size_t errlen)
{
	struct parser p = { .text = text, .len = len, .err = err, .errlen = errlen };
	struct doc *d = calloc(1, sizeof(*d));
	json_t *v = NULL;
	char buf[16];
	int ret = E_MALFORMED;

	*out = NULL;
	if (errlen > 0) {
		err[0] = '\0';
	}
	if (d == NULL) {
		return -ENOMEM;
	}
	p.doc = d;
	skip_ws(&p);
	v = parse_value(&p);
	if (v != NULL) {
		skip_ws(&p);
		if (p.pos < p.len) {
			fail(&p, p.pos, "unexpected %s after the JSON text",
			     what_at(&p, p.pos, buf, sizeof(buf)));
			v = NULL;
		}
	}
	if (v != NULL) {
		d->root = *v; /* the root node heads the document */
		*out = &d->root;
		ret = E_OK;
	} else if (p.oom) {
		ret = -ENOMEM;
	}
	free(p.stack);
	free(p.skeys);
	free(p.sklen);
	if (ret != E_OK) {
		json_free(&d->root);
	}
	return ret;
}

void json_free(json_t *j)
{
	struct doc *d = (struct doc *)j;
	if (d == NULL) {
		return;
	}
	for (struct chunk *c = d->chunks; c != NULL;) {
		struct chunk *next = c->next;
		free(c);
		c = next;
	}
	free(d);
}

/* ---- access ---- */

json_type_t json_type(const json_t *j)
{
	return j != NULL ? (json_type_t)j->type : JSON_NULL;
}

const json_t *json_get(const json_t *j, const char *key)
{
	if (j == NULL || j->type != JSON_OBJECT) {
		return NULL;
	}
	size_t klen = strlen(key);
	for (uint32_t i = 0; i < j->count; i++) {
		if (j->u.c.klen[i] == klen && memcmp(j->u.c.keys[i], key, klen) == 0) {
			return j->u.c.vals[i];
		}
	}
	return NULL;
}

const json_t *json_path(const json_t *j, const char *path)
{
	char key[256];
	while (j != NULL && *path != '\0') {
		size_t n = strcspn(path, ".");
		if (n >= sizeof(key)) {
			return NULL;
		}
		memcpy(key, path, n);
		key[n] = '\0';
		j = json_get(j, key);
		path += n;
		if (*path == '.') {
			path++;
		}
	}
	return j;
}

size_t json_count(const json_t *j)
{
	return j != NULL && (j->type == JSON_ARRAY || j->type == JSON_OBJECT) ? j->count : 0;
}

const json_t *json_at(const json_t *j, size_t i)
{
	return i < json_count(j) ? j->u.c.vals[i] : NULL;
}

const char *json_key_at(const json_t *j, size_t i)
{
	return j != NULL && j->type == JSON_OBJECT && i < j->count ? j->u.c.keys[i] : NULL;
}

const char *json_str(const json_t *j, size_t *len)
{
	if (j == NULL || j->type != JSON_STRING) {
		return NULL;
	}
	if (len != NULL) {
		*len = j->count;
	}
	return j->u.str;
}

bool json_int(const json_t *j, int64_t *out)
{
	if (j == NULL) {
		return false;
	}
	if (j->type == JSON_NUMBER && j->u.num.is_int) {
		*out = j->u.num.i;
		return true;
	}
	return j->type == JSON_STRING && int_of(j->u.str, j->count, out);
}

bool json_double(const json_t *j, double *out)
{
	if (j == NULL || j->type != JSON_NUMBER) {
		return false;
	}
	*out = j->u.num.d;
	return true;
}

bool json_bool(const json_t *j, bool *out)
{
	if (j == NULL || j->type != JSON_BOOL) {
		return false;
	}
	*out = j->b;
	return true;
}

/* ---- writing ---- */

size_t json_quote(char *buf, size_t len, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	size_t n = 0;

#define OUT(c)                        \
	do {                          \
		if (n + 1 < len) {    \
			buf[n] = (c); \
		}                     \
		n++;                  \
	} while (0)

	OUT('"');
	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
		unsigned char c = *p;
		if (c == '"' || c == '\\') {
			OUT('\\');
			OUT((char)c);
		} else if (c == '\n') {
			OUT('\\');
			OUT('n');
		} else if (c == '\r') {
			OUT('\\');
			OUT('r');
		} else if (c == '\t') {
			OUT('\\');
			OUT('t');
		} else if (c == '\b') {
			OUT('\\');
			OUT('b');
		} else if (c == '\f') {
			OUT('\\');
			OUT('f');
		} else if (c < 0x20) {
			OUT('\\');
			OUT('u');
			OUT('0');
			OUT('0');
			OUT(hex[c >> 4]);
			OUT(hex[c & 15]);
		} else {
			OUT((char)c);
		}
	}
	OUT('"');
#undef OUT
	if (len > 0) {
		buf[n < len ? n : len - 1] = '\0';
	}
	return n;
}
