/*  The rewrite stage: CoreDNS's rewrite plugin.
 *
 *  "rewrite [continue|stop] FIELD ..." with FIELD one of
 *    name [exact|prefix|suffix|substring|regex] FROM TO [answer auto | answer name FROM TO |
 *         answer value FROM TO]...   the question name (the answer comes from its zone)
 *    type FROM TO, class FROM TO      the question type or class
 *    ttl [MATCH] NAME SECONDS|MIN-MAX the TTLs of the response
 *    rcode [MATCH] NAME FROM TO       the RCODE of the response
 *    cname [MATCH] FROM TO            CNAME targets in the response, answered again from the
 *                                     zones for the new target
 *    edns0 local|nsid|subnet set|append|replace ...
 *  and the block form "rewrite [continue|stop] { name regex A B; answer name C D; ... }".
 *  Names are matched as CoreDNS does: lower case, absolute, as text ("www.example.org.").
 *  Rules run in order; one that matched with "stop" (the default) ends the list. Repeated
 *  rewrite directives in a block are one list, in order.
 *
 *  The response: the question is always the client's; names are mapped back by "answer
 *  auto" (and always for exact name rules), "answer name" (owners) and "answer value"
 *  (targets of CNAME, DNAME, NS, MX, SRV, NAPTR, SOA), then TTL and RCODE rules apply.
 *  Changing a name re-writes the message (compression included) into the same buffer.
 */
#include <ctype.h>
#include <pthread.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <urcu-qsbr.h>

#include "dns/err.h"
#include "dns/log.h"
#include "dns/rrtext.h"
#include "dns/rrtype.h"
#include "server/query.h"
#include "server/stages/msg.h"
#include "server/stages/stages.h"
#include "server/state.h"

#define RULES_MAX   64 /* one bit each in the per-query state */
#define GROUPS_MAX  10
#define NAMESTR_MAX DNAME_STR_MAX

enum field { F_NAME, F_TYPE, F_CLASS, F_TTL, F_EDNS0, F_CNAME, F_RCODE };
enum match { M_EXACT, M_PREFIX, M_SUFFIX, M_SUBSTRING, M_REGEX };

/* A regular expression compiled once per thread: glibc's regexec locks the pattern. */
struct rx {
	char *pattern;
	regex_t *per_thread[STAGE_THREADS_MAX];
	regex_t shared;
	pthread_mutex_t lock;
};

/* FROM (matched against a name's text) and TO (what it becomes). */
struct matcher {
	enum match kind;
	char *from;
	char *to;
	struct rx *re;
};

struct answer_rule {
	bool value; /* names in RDATA (targets), else owners */
	struct matcher m;
};

struct rule {
	enum field field;
	bool stop;
	struct matcher m;
	uint16_t from, to; /* type, class, rcode */
	uint32_t ttl_min, ttl_max;
	bool auto_answer;      /* map names back (exact rules always) */
	struct matcher revert; /* the reverse of m, for auto (not for regex) */
	int nanswers;
	struct answer_rule *answers;
};

struct rewrite_ctx {
	int nrules;
	struct rule rules[RULES_MAX];
};

/* ---- regular expressions ---- */

/* Go's RE2 syntax as POSIX extended: \d \w \s and their negations outside brackets. */
static char *re2_to_ere(const char *s)
{
	size_t n = strlen(s);
	char *out = malloc(n * 12 + 1), *o = out;
	bool in_bracket = false;
	if (out == NULL) {
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\\' && i + 1 < n && !in_bracket &&
		    strchr("dDwWsS", s[i + 1]) != NULL) {
			static const char *const rep[] = { "[0-9]",        "[^0-9]",
							   "[[:alnum:]_]", "[^[:alnum:]_]",
							   "[[:space:]]",  "[^[:space:]]" };
			const char *r = rep[strchr("dDwWsS", s[i + 1]) - "dDwWsS"];
			o += sprintf(o, "%s", r);
			i++;
			continue;
		}
		if (s[i] == '\\' && i + 1 < n) {
			*o++ = s[i++];
			*o++ = s[i];
			continue;
		}
		if (s[i] == '[') {
			in_bracket = true;
		} else if (s[i] == ']' && in_bracket) {
			in_bracket = false;
		}
		*o++ = s[i];
	}
	*o = '\0';
	return out;
}

static int rx_new(struct rx **out, const char *pattern, char *err, size_t errlen)
{
	struct rx *r = calloc(1, sizeof(*r));
	if (r == NULL) {
		return -ENOMEM;
	}
	r->pattern = re2_to_ere(pattern);
	if (r->pattern == NULL) {
		free(r);
		return -ENOMEM;
	}
	if (regcomp(&r->shared, r->pattern, REG_EXTENDED) != 0) {
		snprintf(err, errlen, "invalid regex matching pattern: %s", pattern);
		free(r->pattern);
		free(r);
		return E_CFG_SEMANTIC;
	}
	pthread_mutex_init(&r->lock, NULL);
	*out = r;
	return E_OK;
}

static void rx_free(struct rx *r)
{
	if (r == NULL) {
		return;
	}
	for (int i = 0; i < STAGE_THREADS_MAX; i++) {
		if (r->per_thread[i] != NULL) {
			regfree(r->per_thread[i]);
			free(r->per_thread[i]);
		}
	}
	regfree(&r->shared);
	pthread_mutex_destroy(&r->lock);
	free(r->pattern);
	free(r);
}

/* Match \a s; fills up to GROUPS_MAX groups. */
static bool rx_match(struct rx *r, const char *s, regmatch_t *g)
{
	int id = stage_thread_id();
	regex_t *re = id < STAGE_THREADS_MAX ? __atomic_load_n(&r->per_thread[id], __ATOMIC_ACQUIRE)
					     : NULL;
	if (re == NULL && id < STAGE_THREADS_MAX) {
		re = malloc(sizeof(*re)); /* once per thread and pattern */
		if (re != NULL && regcomp(re, r->pattern, REG_EXTENDED) != 0) {
			free(re);
			re = NULL;
		}
		__atomic_store_n(&r->per_thread[id], re, __ATOMIC_RELEASE);
	}
	if (re != NULL) {
		return regexec(re, s, GROUPS_MAX, g, 0) == 0;
	}
	pthread_mutex_lock(&r->lock);
	bool ok = regexec(&r->shared, s, GROUPS_MAX, g, 0) == 0;
	pthread_mutex_unlock(&r->lock);
	return ok;
}

/* ---- names as text ---- */

static void name_text(const uint8_t *name, char *out)
{
	if (dname_to_str(out, NAMESTR_MAX, name) < 0) {
		out[0] = '\0';
	}
	for (char *p = out; *p != '\0'; p++) {
		*p = (char)tolower((unsigned char)*p);
	}
}

/* CoreDNS's plugin.Name(s).Normalize(): lower case, with the final dot. */
static char *normalize(const char *s)
{
	size_t n = strlen(s);
	char *out = malloc(n + 2);
	if (out == NULL) {
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		out[i] = (char)tolower((unsigned char)s[i]);
	}
	if (n == 0 || s[n - 1] != '.') {
		out[n++] = '.';
	}
	out[n] = '\0';
	return out;
}

/* Replace {N} in \a tmpl by group N of \a s. */
static void expand_groups(const char *tmpl, const char *s, const regmatch_t *g, char *out,
			  size_t outlen)
{
	size_t n = 0;
	for (const char *p = tmpl; *p != '\0' && n + 1 < outlen;) {
		if (p[0] == '{' && isdigit((unsigned char)p[1]) && p[2] == '}') {
			int i = p[1] - '0';
			if (g[i].rm_so >= 0) {
				size_t l = (size_t)(g[i].rm_eo - g[i].rm_so);
				if (n + l >= outlen) {
					break;
				}
				memcpy(out + n, s + g[i].rm_so, l);
				n += l;
			}
			p += 3;
			continue;
		}
		out[n++] = *p++;
	}
	out[n] = '\0';
}

/* Does \a m match \a s? With \a out, also what \a s becomes (NAMESTR_MAX). */
static bool match_apply(const struct matcher *m, const char *s, char *out)
{
	size_t sl = strlen(s), fl = m->from != NULL ? strlen(m->from) : 0;
	regmatch_t g[GROUPS_MAX];
	switch (m->kind) {
	case M_EXACT:
		if (strcmp(s, m->from) != 0) {
			return false;
		}
		if (out != NULL) {
			snprintf(out, NAMESTR_MAX, "%s", m->to);
		}
		return true;
	case M_PREFIX:
		if (strncmp(s, m->from, fl) != 0) {
			return false;
		}
		if (out != NULL) {
			snprintf(out, NAMESTR_MAX, "%s%s", m->to, s + fl);
		}
		return true;
	case M_SUFFIX:
		if (sl < fl || strcmp(s + sl - fl, m->from) != 0) {
			return false;
		}
		if (out != NULL) {
			snprintf(out, NAMESTR_MAX, "%.*s%s", (int)(sl - fl), s, m->to);
		}
		return true;
	case M_SUBSTRING: {
		const char *hit = fl > 0 ? strstr(s, m->from) : NULL;
		if (hit == NULL) {
			return false;
		}
		if (out != NULL) {
			size_t n = 0, tl = strlen(m->to);
			for (const char *p = s; *p != '\0' && n + 1 < NAMESTR_MAX;) {
				if (strncmp(p, m->from, fl) == 0 && n + tl + 1 < NAMESTR_MAX) {
					memcpy(out + n, m->to, tl);
					n += tl;
					p += fl;
				} else {
					out[n++] = *p++;
				}
			}
			out[n] = '\0';
		}
		return true;
	}
	case M_REGEX:
		if (!rx_match(m->re, s, g)) {
			return false;
		}
		if (out != NULL) {
			expand_groups(m->to, s, g, out, NAMESTR_MAX);
		}
		return true;
	}
	return false;
}

/* Text to wire, absolute; false when it is not a name. */
static bool text_name(const char *s, uint8_t *out)
{
	char buf[NAMESTR_MAX + 2];
	size_t n = strlen(s);
	if (n == 0 || n > NAMESTR_MAX - 2) {
		return false;
	}
	snprintf(buf, sizeof(buf), "%s%s", s, s[n - 1] == '.' ? "" : ".");
	return dname_from_str(out, buf, NULL) >= 0;
}

/* ---- setup ---- */

static void matcher_free(struct matcher *m)
{
	free(m->from);
	free(m->to);
	rx_free(m->re);
	memset(m, 0, sizeof(*m));
}

static void rewrite_teardown(void *ctx)
{
	struct rewrite_ctx *c = ctx;
	if (c == NULL) {
		return;
	}
	for (int i = 0; i < c->nrules; i++) {
		struct rule *r = &c->rules[i];
		matcher_free(&r->m);
		matcher_free(&r->revert);
		for (int a = 0; a < r->nanswers; a++) {
			matcher_free(&r->answers[a].m);
		}
		free(r->answers);
	}
	free(c);
}

static int match_kind(const char *s, enum match *k)
{
	static const char *const names[] = { "exact", "prefix", "suffix", "substring", "regex" };
	for (int i = 0; i < 5; i++) {
		if (strcasecmp(s, names[i]) == 0) {
			*k = (enum match)i;
			return E_OK;
		}
	}
	return E_CFG_SEMANTIC;
}

/* A matcher FROM -> TO of \a kind; TO may be NULL (match only). */
static int matcher_init(struct matcher *m, enum match kind, const char *from, const char *to,
			char *err, size_t errlen)
{
	m->kind = kind;
	if (kind == M_REGEX) {
		int ret = rx_new(&m->re, from, err, errlen);
		if (ret != E_OK) {
			return ret;
		}
		m->from = strdup(from);
		m->to = to != NULL ? normalize(to) : NULL;
		/* Only as many {N} as the pattern has groups. */
		for (const char *p = to; p != NULL && (p = strchr(p, '{')) != NULL; p++) {
			if (isdigit((unsigned char)p[1]) && p[2] == '}' &&
			    (size_t)(p[1] - '0') > m->re->shared.re_nsub) {
				snprintf(err, errlen,
					 "the rewrite regex pattern (%s) uses more subexpressions "
					 "than its corresponding matching regex pattern (%s)",
					 to, from);
				return E_CFG_SEMANTIC;
			}
		}
	} else {
		m->from = normalize(from);
		m->to = to != NULL ? normalize(to) : NULL;
	}
	return m->from != NULL && (to == NULL || m->to != NULL) ? E_OK : -ENOMEM;
}

static int add_answer(struct rule *r, bool value, const char *from, const char *to, char *err,
		      size_t errlen)
{
	struct answer_rule *a = realloc(r->answers, (size_t)(r->nanswers + 1) * sizeof(*a));
	if (a == NULL) {
		return -ENOMEM;
	}
	r->answers = a;
	a = &r->answers[r->nanswers++];
	memset(a, 0, sizeof(*a));
	a->value = value;
	return matcher_init(&a->m, M_REGEX, from, to, err, errlen);
}

/* "answer auto", "[answer] name FROM TO", "[answer] value FROM TO", repeated. */
static int parse_answers(struct rule *r, char *const *a, int n, char *err, size_t errlen)
{
	for (int i = 0; i < n;) {
		if (strcasecmp(a[i], "answer") == 0) {
			i++;
		} else if (i == 0) {
			snprintf(err, errlen, "unexpected '%s' after a name rule", a[i]);
			return E_CFG_SEMANTIC;
		}
		if (i < n && strcasecmp(a[i], "auto") == 0) {
			r->auto_answer = true;
			i++;
			continue;
		}
		if (i + 2 < n &&
		    (strcasecmp(a[i], "name") == 0 || strcasecmp(a[i], "value") == 0)) {
			int ret = add_answer(r, strcasecmp(a[i], "value") == 0, a[i + 1], a[i + 2],
					     err, errlen);
			if (ret != E_OK) {
				return ret;
			}
			i += 3;
			continue;
		}
		snprintf(err, errlen,
			 "response rewrites are 'answer auto', 'answer name FROM TO' or 'answer "
			 "value "
			 "FROM TO'");
		return E_CFG_SEMANTIC;
	}
	return E_OK;
}

static int parse_name(struct rule *r, char *const *a, int n, char *err, size_t errlen)
{
	enum match kind = M_EXACT;
	int first = 0, ret;
	if (n < 2) {
		snprintf(err, errlen, "too few arguments for a name rule");
		return E_CFG_SEMANTIC;
	}
	if (n >= 3) {
		if (match_kind(a[0], &kind) != E_OK) {
			snprintf(err, errlen,
				 "name rule supports only exact, prefix, suffix, substring, and "
				 "regex "
				 "name matching, received: %s",
				 a[0]);
			return E_CFG_SEMANTIC;
		}
		first = 1;
	}
	ret = matcher_init(&r->m, kind, a[first], a[first + 1], err, errlen);
	if (ret != E_OK) {
		return ret;
	}
	r->auto_answer = kind == M_EXACT; /* exact rules are always answered back */
	ret = parse_answers(r, a + first + 2, n - first - 2, err, errlen);
	if (ret == E_OK && kind != M_REGEX) {
		/* The reverse rule for "answer auto": TO becomes FROM again. */
		r->revert.kind = kind;
		r->revert.from = strdup(r->m.to);
		r->revert.to = strdup(r->m.from);
		ret = r->revert.from != NULL && r->revert.to != NULL ? E_OK : -ENOMEM;
	}
	return ret;
}

static int parse_ttl(const char *s, uint32_t *min, uint32_t *max)
{
	char *end;
	const char *dash = strchr(s, '-');
	unsigned long a = 0, b = UINT32_MAX;
	if (dash == NULL) {
		a = strtoul(s, &end, 10);
		if (*s == '\0' || *end != '\0' || a > 2147483647ul) {
			return E_CFG_SEMANTIC;
		}
		*min = *max = (uint32_t)a;
		return E_OK;
	}
	if (dash != s) {
		a = strtoul(s, &end, 10);
		if (end != dash || a > 2147483647ul) {
			return E_CFG_SEMANTIC;
		}
	}
	if (dash[1] != '\0') {
		b = strtoul(dash + 1, &end, 10);
		if (*end != '\0' || b > 2147483647ul) {
			return E_CFG_SEMANTIC;
		}
	}
	if (dash == s && dash[1] == '\0') {
		return E_CFG_SEMANTIC;
	}
	*min = (uint32_t)a;
	*max = (uint32_t)b;
	return *min <= *max ? E_OK : E_CFG_SEMANTIC;
}

static bool rcode_from_str(const char *s, uint16_t *out)
{
	static const char *const names[] = { "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN",
					     "NOTIMP",  "REFUSED", "YXDOMAIN", "YXRRSET",
					     "NXRRSET", "NOTAUTH", "NOTZONE" };
	char *end;
	unsigned long v = strtoul(s, &end, 10);
	if (*s != '\0' && *end == '\0' && v <= 23) {
		*out = (uint16_t)v;
		return true;
	}
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcasecmp(s, names[i]) == 0) {
			*out = (uint16_t)i;
			return true;
		}
	}
	return false;
}

/* "[MATCH] NAME REST..." of ttl and rcode rules: the name matcher, then \a nrest values. */
static int parse_matched(struct rule *r, char *const *a, int n, int nrest, char *err, size_t errlen)
{
	enum match kind = M_EXACT;
	int first = 0;
	if (n == nrest + 2) {
		if (match_kind(a[0], &kind) != E_OK) {
			snprintf(
				err, errlen,
				"%s rule supports only exact, prefix, suffix, substring, and regex "
				"name matching",
				r->field == F_TTL ? "ttl" : "rcode");
			return E_CFG_SEMANTIC;
		}
		first = 1;
	} else if (n != nrest + 1) {
		snprintf(err, errlen, "wrong number of arguments for a %s rule",
			 r->field == F_TTL ? "ttl" : "rcode");
		return E_CFG_SEMANTIC;
	}
	return matcher_init(&r->m, kind, a[first], NULL, err, errlen);
}

static int parse_edns0(char *const *a, int n, char *err, size_t errlen)
{
	if (n < 2 || (strcasecmp(a[1], "set") != 0 && strcasecmp(a[1], "append") != 0 &&
		      strcasecmp(a[1], "replace") != 0)) {
		snprintf(err, errlen, "edns0: needs local|nsid|subnet set|append|replace ...");
		return E_CFG_SEMANTIC;
	}
	char *end;
	if (strcasecmp(a[0], "local") == 0) {
		unsigned long code = n == 4 ? strtoul(a[2], &end, 0) : 0;
		if (n != 4 || *end != '\0' || code > 0xFFFF) {
			snprintf(err, errlen, "EDNS0 local rules require exactly three args");
			return E_CFG_SEMANTIC;
		}
		const char *d = a[3];
		size_t dl = strlen(d);
		if (d[0] == '{') {
			static const char *const vars[] = { "{qname}",      "{qtype}",
							    "{client_ip}",  "{client_port}",
							    "{protocol}",   "{server_ip}",
							    "{server_port}" };
			/* A known variable, or metadata "{plugin/label}". */
			bool ok = d[dl - 1] == '}' && strchr(d, '/') != NULL;
			for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]) && !ok; i++) {
				ok = strcmp(d, vars[i]) == 0;
			}
			if (!ok) {
				snprintf(err, errlen, "unsupported variable name \"%s\"", d);
				return E_CFG_SEMANTIC;
			}
		} else if (strncmp(d, "0x", 2) == 0) {
			bool ok = dl % 2 == 0;
			for (size_t i = 2; i < dl && ok; i++) {
				ok = isxdigit((unsigned char)d[i]);
			}
			if (!ok) {
				snprintf(err, errlen, "edns0 local: bad hex data '%s'", d);
				return E_CFG_SEMANTIC;
			}
		}
		return E_OK;
	}
	if (strcasecmp(a[0], "nsid") == 0) {
		if (n != 2) {
			snprintf(err, errlen, "EDNS0 NSID rules do not accept args");
			return E_CFG_SEMANTIC;
		}
		return E_OK;
	}
	if (strcasecmp(a[0], "subnet") == 0) {
		unsigned long v4 = n == 4 ? strtoul(a[2], &end, 0) : 99;
		bool ok = n == 4 && *end == '\0' && v4 <= 32;
		unsigned long v6 = ok ? strtoul(a[3], &end, 0) : 999;
		if (!ok || *end != '\0' || v6 > 128) {
			snprintf(err, errlen,
				 "EDNS0 subnet rules require exactly three args: "
				 "set|append|replace V4BITS V6BITS");
			return E_CFG_SEMANTIC;
		}
		return E_OK;
	}
	snprintf(err, errlen, "invalid rule type \"%s\"", a[0]);
	return E_CFG_SEMANTIC;
}

/* One rule from its words: FIELD ARGS... (mode already taken). */
static int parse_rule(struct rule *r, char *const *a, int n, char *err, size_t errlen)
{
	const char *f = n > 0 ? a[0] : "";
	a++;
	n--;
	if (strcasecmp(f, "name") == 0) {
		r->field = F_NAME;
		return parse_name(r, a, n, err, errlen);
	}
	if (strcasecmp(f, "type") == 0 || strcasecmp(f, "class") == 0) {
		bool type = tolower((unsigned char)f[0]) == 't';
		r->field = type ? F_TYPE : F_CLASS;
		if (n != 2) {
			snprintf(err, errlen, "%s rules must have exactly two arguments", f);
			return E_CFG_SEMANTIC;
		}
		r->from = type ? dns_type_from_str(a[0]) : dns_class_from_str(a[0]);
		r->to = type ? dns_type_from_str(a[1]) : dns_class_from_str(a[1]);
		if (r->from == 0 || r->to == 0) {
			snprintf(err, errlen, "invalid %s '%s'", f, r->from == 0 ? a[0] : a[1]);
			return E_CFG_SEMANTIC;
		}
		return E_OK;
	}
	if (strcasecmp(f, "ttl") == 0) {
		r->field = F_TTL;
		int ret = parse_matched(r, a, n, 1, err, errlen);
		if (ret == E_OK && parse_ttl(a[n - 1], &r->ttl_min, &r->ttl_max) != E_OK) {
			snprintf(err, errlen, "invalid TTL '%s' for a ttl rule", a[n - 1]);
			ret = E_CFG_SEMANTIC;
		}
		return ret;
	}
	if (strcasecmp(f, "rcode") == 0) {
		r->field = F_RCODE;
		int ret = parse_matched(r, a, n, 2, err, errlen);
		if (ret == E_OK && !rcode_from_str(a[n - 2], &r->from)) {
			snprintf(err, errlen, "invalid matching RCODE '%s' for a rcode rule",
				 a[n - 2]);
			ret = E_CFG_SEMANTIC;
		} else if (ret == E_OK && !rcode_from_str(a[n - 1], &r->to)) {
			snprintf(err, errlen, "invalid replacement RCODE '%s' for a rcode rule",
				 a[n - 1]);
			ret = E_CFG_SEMANTIC;
		}
		return ret;
	}
	if (strcasecmp(f, "cname") == 0) {
		enum match kind = M_EXACT;
		r->field = F_CNAME;
		if (n == 3 && match_kind(a[0], &kind) != E_OK) {
			snprintf(err, errlen, "unknown cname rewrite type: %s", a[0]);
			return E_CFG_SEMANTIC;
		}
		if (n != 2 && n != 3) {
			snprintf(err, errlen, "too few (%d) arguments for a cname rule", n);
			return E_CFG_SEMANTIC;
		}
		return matcher_init(&r->m, kind, a[n - 2], a[n - 1], err, errlen);
	}
	if (strcasecmp(f, "edns0") == 0) {
		r->field = F_EDNS0;
		return parse_edns0(a, n, err, errlen);
	}
	if (strcasecmp(f, "answer") == 0) {
		snprintf(err, errlen, "response rewrites must begin with a name rule");
		return E_CFG_SEMANTIC;
	}
	snprintf(err, errlen, "invalid rule type \"%s\"", f);
	return E_CFG_SEMANTIC;
}

static struct rule *new_rule(struct rewrite_ctx *c, bool stop, char *err, size_t errlen)
{
	if (c->nrules >= RULES_MAX) {
		snprintf(err, errlen, "more than %d rewrite rules in one server block", RULES_MAX);
		return NULL;
	}
	struct rule *r = &c->rules[c->nrules++];
	memset(r, 0, sizeof(*r));
	r->stop = stop;
	return r;
}

static int rewrite_setup(void **out, const cfg_directive_t *d, char *err, size_t errlen)
{
	struct rewrite_ctx *c = *out; /* repeated rewrites extend one list */
	bool fresh = c == NULL, stop = true;
	int first = 0, ret = E_OK;

	if (fresh && (c = calloc(1, sizeof(*c))) == NULL) {
		return -ENOMEM;
	}
	if (d->argc > 0 &&
	    (strcasecmp(d->args[0], "continue") == 0 || strcasecmp(d->args[0], "stop") == 0)) {
		stop = strcasecmp(d->args[0], "stop") == 0;
		first = 1;
	}
	if (d->nprops > 0) {
		/* Block form: one rule per line; "answer" lines belong to the name rule before. */
		if (d->argc > first) {
			snprintf(err, errlen, "a rewrite block takes only continue|stop before it");
			ret = E_CFG_SEMANTIC;
		}
		struct rule *last = NULL;
		for (int i = 0; ret == E_OK && i < d->nprops; i++) {
			const cfg_directive_t *p = &d->props[i];
			char *words[64];
			int n = 0;
			words[n++] = p->name;
			for (int k = 0; k < p->argc && n < 64; k++) {
				words[n++] = p->args[k];
			}
			if (strcasecmp(p->name, "answer") == 0 && last != NULL &&
			    last->field == F_NAME) {
				ret = parse_answers(last, words, n, err, errlen);
				continue;
			}
			last = new_rule(c, stop, err, errlen);
			ret = last == NULL ? E_CFG_SEMANTIC
					   : parse_rule(last, words, n, err, errlen);
		}
	} else {
		struct rule *r = new_rule(c, stop, err, errlen);
		ret = r == NULL ? E_CFG_SEMANTIC
				: parse_rule(r, d->args + first, d->argc - first, err, errlen);
	}
	if (ret != E_OK) {
		if (fresh) {
			rewrite_teardown(c);
		}
		return ret;
	}
	*out = c;
	return E_OK;
}

/* ---- the query path ---- */

static void save_question(query_t *q)
{
	if (!q->ss.rewritten) {
		q->ss.rewritten = true;
		memcpy(q->ss.orig_qname, q->req.qname, q->req.qname_len);
		q->ss.orig_qtype = q->req.qtype;
		q->ss.orig_qclass = q->req.qclass;
	}
}

/* A SERVFAIL for a name that is not a name after the rewrite (CoreDNS does the same). */
static enum stage_result fail(query_t *q)
{
	dns_writer_clear_records(&q->w);
	dns_writer_rcode(&q->w, RCODE_SERVFAIL);
	if (q->req.edns.present) {
		dns_writer_opt_ede(&q->w, DNS_UDP_DEFAULT, 0, q->req.edns.do_bit, -1);
	}
	q->resp_len = dns_writer_finish(&q->w);
	return STAGE_DONE;
}

static enum stage_result rewrite_query(query_t *q, void *ctx)
{
	struct rewrite_ctx *c = ctx;
	char name[NAMESTR_MAX], out[NAMESTR_MAX];
	uint8_t wire[DNAME_MAX];

	name_text(q->req.qname_lc, name);
	for (int i = 0; i < c->nrules; i++) {
		struct rule *r = &c->rules[i];
		bool done = false;
		switch (r->field) {
		case F_NAME:
			if (!match_apply(&r->m, name, out)) {
				break;
			}
			if (!text_name(out, wire)) {
				log_err("rewrite", "invalid name after rewrite: %s", out);
				return fail(q);
			}
			save_question(q);
			q->req.qname_len = (uint8_t)dname_len(wire);
			memcpy(q->req.qname, wire, q->req.qname_len);
			dname_copy_lower(q->req.qname_lc, wire);
			name_text(q->req.qname_lc, name);
			done = true;
			break;
		case F_TYPE:
		case F_CLASS: {
			uint16_t *v = r->field == F_TYPE ? &q->req.qtype : &q->req.qclass;
			if (*v == r->from) {
				save_question(q);
				*v = r->to;
				done = true;
			}
			break;
		}
		case F_TTL:
		case F_RCODE:
			done = match_apply(&r->m, name, NULL);
			break;
		case F_CNAME:
		case F_EDNS0:
			/* cname looks at the response; edns0 options are read by nothing after. */
			done = true;
			break;
		}
		if (done) {
			q->ss.rewrite_rules |= 1ull << i;
			if (r->stop) {
				break;
			}
		}
	}
	return STAGE_CONTINUE;
}

/* Names in the response mapped back by the rules that matched. */
struct mapper {
	const struct rewrite_ctx *c;
	const query_t *q;
	uint64_t rules;
	bool changed;
	uint8_t rewritten[DNAME_MAX]; /* the question after the rewrite, lower case */
};

static bool map_name(void *ud, const uint8_t *name, bool in_rdata, uint8_t *out)
{
	struct mapper *mp = ud;
	char s[NAMESTR_MAX], t[NAMESTR_MAX];
	bool changed = false;

	name_text(name, s);
	for (int i = 0; i < mp->c->nrules; i++) {
		const struct rule *r = &mp->c->rules[i];
		if (!(mp->rules & (1ull << i)) || r->field != F_NAME) {
			continue;
		}
		if (r->auto_answer) {
			if (r->m.kind == M_REGEX) {
				/* Best effort: the rewritten question becomes the client's again. */
				if (dname_equal(name, mp->rewritten)) {
					name_text(mp->q->ss.orig_qname, s);
					changed = true;
				}
			} else if (match_apply(&r->revert, s, t)) {
				memcpy(s, t, sizeof(s));
				changed = true;
			}
		}
		for (int a = 0; a < r->nanswers; a++) {
			if (r->answers[a].value == in_rdata &&
			    match_apply(&r->answers[a].m, s, t)) {
				memcpy(s, t, sizeof(s));
				changed = true;
			}
		}
	}
	if (!changed || !text_name(s, out) || dname_equal(out, name)) {
		return false;
	}
	/* The client's spelling for its own name. */
	if (dname_equal(out, mp->q->ss.orig_qname)) {
		memcpy(out, mp->q->ss.orig_qname, dname_len(mp->q->ss.orig_qname));
	}
	mp->changed = true;
	return true;
}

/* A response that no longer fits: header, question, OPT, TC. */
static size_t truncated(const msg_t *m, uint8_t *out, size_t cap)
{
	uint16_t order[1];
	int n = 0;
	if (m->nrr > 0 && m->rr[m->nrr - 1].type == RR_OPT) {
		order[n++] = (uint16_t)(m->nrr - 1);
	}
	size_t len = msg_rebuild(m, order, n, NULL, NULL, NULL, out, cap);
	if (len > 0) {
		dns_put16(out + 2, (uint16_t)(dns_u16(out + 2) | DNS_FLAG_TC));
	}
	return len;
}

/* cname rules: CNAME targets matched become TO, and the answer for TO (same type) is taken
 * from the zones in place of what followed the CNAMEs. */
static size_t rewrite_cnames(const struct rewrite_ctx *c, query_t *q, const msg_t *m,
			     uint64_t rules, uint8_t *out)
{
	uint8_t target[DNAME_MAX] = { 0 };
	bool found = false;

	for (int i = 0; i < m->count[0] && !found; i++) {
		const msg_rr_t *r = &m->rr[i];
		uint8_t t[DNAME_MAX];
		char s[NAMESTR_MAX], o[NAMESTR_MAX];
		size_t pos = r->rdoff;
		if (r->type != RR_CNAME || dname_unpack(m->wire, m->len, &pos, t) < 0) {
			continue;
		}
		name_text(t, s);
		for (int k = 0; k < c->nrules && !found; k++) {
			if ((rules & (1ull << k)) && c->rules[k].field == F_CNAME &&
			    match_apply(&c->rules[k].m, s, o) && text_name(o, target)) {
				found = true;
			}
		}
	}
	if (!found) {
		return 0;
	}
	dns_writer_t w;
	if (msg_begin(m, NULL, &w, out, q->max_size) != E_OK) {
		return 0;
	}
	dns_writer_reserve(&w, q->req.edns.present ? DNS_OPT_LEN + DNS_EDE_LEN : 0);
	for (int i = 0; i < m->count[0]; i++) {
		const msg_rr_t *r = &m->rr[i];
		uint8_t owner[DNAME_MAX];
		size_t pos = r->off;
		if (r->type != RR_CNAME) {
			continue; /* what followed the CNAMEs is answered again below */
		}
		if (dname_unpack(m->wire, m->len, &pos, owner) < 0 ||
		    dns_writer_rr(&w, DNS_AN, owner, RR_CNAME, r->rclass, r->ttl, target,
				  (uint16_t)dname_len(target)) != E_OK) {
			return 0;
		}
	}
	/* The new target's own answer, from the zone that holds it. */
	uint8_t target_lc[DNAME_MAX];
	dname_copy_lower(target_lc, target);
	const zone_entry_t *e =
		q->ss.st != NULL ? state_find_zone(q->ss.st, q->view, target_lc, q->req.qtype)
				 : NULL;
	const zone_t *z = e != NULL ? rcu_dereference(e->zone) : NULL;
	if (z != NULL) {
		lookup_result_t *res = &q->res;
		zone_lookup(z, target_lc, q->req.qtype, 0, res);
		for (uint8_t i = 0; i < res->nan; i++) {
			const lookup_item_t *it = &res->an[i];
			uint32_t pos = 0;
			uint16_t rdlen;
			const uint8_t *rd;
			if ((it->flags & LOOKUP_DNSSEC) || !dname_equal(it->owner, target_lc)) {
				continue;
			}
			while ((rd = zone_rrset_next(it->rrset, &pos, &rdlen)) != NULL) {
				if (dns_writer_rr(&w, DNS_AN, it->owner, it->rrset->type, CLASS_IN,
						  it->ttl, rd, rdlen) != E_OK) {
					return 0;
				}
			}
		}
	}
	for (int i = m->count[0]; i < m->nrr; i++) {
		if (msg_write_rr(m, &m->rr[i], NULL, NULL, &w) != E_OK) {
			return 0;
		}
	}
	dns_writer_reserve(&w, 0);
	return msg_finish(m, &w);
}

static void rewrite_response(query_t *q, void *ctx)
{
	const struct rewrite_ctx *c = ctx;
	uint64_t rules = q->ss.rewrite_rules;
	uint8_t tmp[DNS_TCP_MAX];
	msg_t m;
	bool names = false, cnames = false;

	if (rules == 0) {
		return;
	}
	struct mapper mp = { .c = c, .q = q, .rules = rules };
	dname_copy_lower(mp.rewritten, q->req.qname_lc);
	/* From here on every stage sees the question the client asked. */
	if (q->ss.rewritten) {
		size_t l = dname_len(q->ss.orig_qname);
		memcpy(q->req.qname, q->ss.orig_qname, l);
		dname_copy_lower(q->req.qname_lc, q->ss.orig_qname);
		q->req.qname_len = (uint8_t)l;
		q->req.qtype = q->ss.orig_qtype;
		q->req.qclass = q->ss.orig_qclass;
	}
	for (int i = 0; i < c->nrules; i++) {
		if (rules & (1ull << i)) {
			names = names || c->rules[i].field == F_NAME;
			cnames = cnames || c->rules[i].field == F_CNAME;
		}
	}
	if (q->resp_len < DNS_HDR_LEN || msg_parse(&m, q->out, q->resp_len) != E_OK) {
		return;
	}
	size_t len = 0;
	if (cnames) {
		len = rewrite_cnames(c, q, &m, rules, tmp);
	}
	if (len == 0 && names) {
		/* Re-write only when some name changes. */
		uint16_t order[MSG_RR_MAX];
		for (int i = 0; i < m.nrr; i++) {
			order[i] = (uint16_t)i;
		}
		len = msg_rebuild(&m, order, m.nrr, NULL, map_name, &mp, tmp, q->max_size);
		if (!mp.changed) {
			len = 0;
		} else if (len == 0) {
			len = truncated(&m, tmp, q->max_size);
		}
	}
	if (len > 0) {
		memcpy(q->out, tmp, len);
		q->resp_len = len;
		if (msg_parse(&m, q->out, q->resp_len) != E_OK) {
			return;
		}
	}
	for (int i = 0; i < c->nrules; i++) {
		const struct rule *r = &c->rules[i];
		if (!(rules & (1ull << i))) {
			continue;
		}
		if (r->field == F_TTL) {
			for (int k = 0; k < m.nrr; k++) {
				uint32_t t = m.rr[k].ttl;
				if (m.rr[k].type == RR_OPT) {
					continue;
				}
				t = t < r->ttl_min ? r->ttl_min : t > r->ttl_max ? r->ttl_max : t;
				dns_put32(q->out + m.rr[k].rdoff - 6, t);
				m.rr[k].ttl = t;
			}
		} else if (r->field == F_RCODE) {
			uint16_t flags = dns_u16(q->out + 2);
			if (DNS_RCODE(flags) == r->from) {
				dns_put16(q->out + 2, (uint16_t)((flags & ~0xF) | (r->to & 0xF)));
			}
		}
	}
}

const stage_ops_t stage_rewrite = {
	.name = "rewrite",
	.setup = rewrite_setup,
	.query = rewrite_query,
	.response = rewrite_response,
	.teardown = rewrite_teardown,
	.merge = true,
};
