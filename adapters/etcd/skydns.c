/*  Signet: SkyDNS messages in etcd, as CoreDNS's etcd plugin reads them, made into a zone.
 *
 *  CoreDNS answers a query for NAME with the records of every key under NAME's path (its
 *  whole subtree), computed at query time. Here every name that has keys below it gets
 *  those records once, when the zone is built, so that the zone can be signed and
 *  transferred: each key's records are repeated at its name and at every ancestor up to the
 *  apex. Where a SkyDNS answer cannot be a record set of a consistent zone (CNAME beside
 *  other data, several CNAMEs, query-time '*' labels) the closest consistent form is made;
 *  doc/etcd.md lists every such difference.
 */
#include "adapters/etcd/internal.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dns/err.h"
#include "dns/log.h"
#include "dns/pkt.h"
#include "dns/rrtype.h"

#define RRSET_MAX   65535 /* an RRset's count is 16 bits */
#define MAX_KEYLEN  4096
#define SOA_REFRESH 7200
#define SOA_RETRY   1800
#define SOA_EXPIRE  86400

/* ---- paths ---- */

int skydns_init(skydns_t *m, const char *path, const uint8_t *apex)
{
	char labels[DNAME_LABELS_MAX][DNAME_LABEL_MAX + 1];
	int nl = 0;
	size_t n = 0;

	memset(m, 0, sizeof(*m));
	dname_copy_lower(m->apex, apex);
	m->apex_labels = dname_labels(m->apex);
	m->reverse = dname_is_sub(m->apex, (const uint8_t *)"\x07in-addr\x04"
							    "arpa") ||
		     dname_is_sub(m->apex, (const uint8_t *)"\x03ip6\x04"
							    "arpa");
	/* The path as Go's path.Join("/" + path + "/", ...) cleans it: one leading slash, no
	 * empty components, no trailing slash. */
	for (const char *p = path; *p != '\0';) {
		size_t len;
		while (*p == '/') {
			p++;
		}
		len = strcspn(p, "/");
		if (len == 0) {
			break;
		}
		if (n + len + 2 > sizeof(m->prefix)) {
			return E_CFG_SEMANTIC;
		}
		m->prefix[n++] = '/';
		memcpy(m->prefix + n, p, len);
		n += len;
		p += len;
	}
	for (const uint8_t *l = m->apex; *l != 0; l += *l + 1) {
		memcpy(labels[nl], l + 1, *l);
		labels[nl][*l] = '\0';
		nl++;
	}
	while (nl > 0) {
		size_t len = strlen(labels[--nl]);
		if (n + len + 2 > sizeof(m->prefix)) {
			return E_CFG_SEMANTIC;
		}
		m->prefix[n++] = '/';
		memcpy(m->prefix + n, labels[nl], len);
		n += len;
	}
	m->prefix[n] = '\0';
	m->prefixlen = n;
	return E_OK;
}

bool skydns_in_zone(const skydns_t *m, const char *key, size_t keylen)
{
	return keylen >= m->prefixlen && memcmp(key, m->prefix, m->prefixlen) == 0 &&
	       (keylen == m->prefixlen || key[m->prefixlen] == '/');
}

/* ---- the sorted key array ---- */

static int keycmp(const char *a, size_t alen, const char *b, size_t blen)
{
	int c = memcmp(a, b, alen < blen ? alen : blen);
	if (c != 0) {
		return c;
	}
	return alen < blen ? -1 : (alen > blen ? 1 : 0);
}

/* The first key not below \a key (bytewise). */
static size_t lower_bound(const skydns_t *m, const char *key, size_t keylen)
{
	size_t lo = 0, hi = m->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (keycmp(m->svcs[mid]->key, m->svcs[mid]->keylen, key, keylen) < 0) {
			lo = mid + 1;
		} else {
			hi = mid;
		}
	}
	return lo;
}

/* lower_bound of \a path followed by the octet \a c. */
static size_t lower_bound_c(const skydns_t *m, const char *path, size_t len, char c)
{
	char buf[MAX_KEYLEN + 2];
	memcpy(buf, path, len);
	buf[len] = c;
	return lower_bound(m, buf, len + 1);
}

const skydns_svc_t *skydns_get(const skydns_t *m, const char *key, size_t keylen)
{
	size_t i = lower_bound(m, key, keylen);
	if (i < m->n && m->svcs[i]->keylen == keylen && memcmp(m->svcs[i]->key, key, keylen) == 0) {
		return m->svcs[i];
	}
	return NULL;
}

bool skydns_del(skydns_t *m, const char *key, size_t keylen)
{
	size_t i = lower_bound(m, key, keylen);
	if (i >= m->n || m->svcs[i]->keylen != keylen ||
	    memcmp(m->svcs[i]->key, key, keylen) != 0) {
		return false;
	}
	free(m->svcs[i]);
	memmove(m->svcs + i, m->svcs + i + 1, (m->n - i - 1) * sizeof(*m->svcs));
	m->n--;
	return true;
}

void skydns_clear(skydns_t *m)
{
	for (size_t i = 0; i < m->n; i++) {
		free(m->svcs[i]);
	}
	free(m->svcs);
	free(m->leases);
	m->svcs = NULL;
	m->n = m->cap = 0;
	m->leases = NULL;
	m->nleases = m->capleases = 0;
	m->max_mod = 0;
}

void skydns_swap(skydns_t *a, skydns_t *b)
{
	skydns_t t = *a;
	*a = *b;
	*b = t;
}

/* ---- one message ---- */

struct fields {
	const char *host, *text, *group;
	size_t hostlen, textlen, grouplen;
	int64_t port, priority, weight, targetstrip, ttl;
	bool mail;
};

/* A Go int from JSON: an integral number (a string, a fraction or an exponent is refused,
 * as encoding/json refuses them). */
static bool go_int(const json_t *v, int64_t *out)
{
	return json_type(v) == JSON_NUMBER && json_int(v, out);
}

/* Read the message's fields as encoding/json fills msg.Service: member names match
 * case-insensitively, the last one wins, null leaves a field alone, a value of the wrong
 * type is an error. */
static int read_fields(const json_t *j, struct fields *f, char *err, size_t errlen)
{
	memset(f, 0, sizeof(*f));
	f->host = f->text = f->group = "";
	if (json_type(j) != JSON_OBJECT) {
		snprintf(err, errlen, "the value is not a JSON object");
		return E_MALFORMED;
	}
	for (size_t i = 0; i < json_count(j); i++) {
		const char *k = json_key_at(j, i);
		const json_t *v = json_at(j, i);
		bool ok = true;
		if (json_type(v) == JSON_NULL) {
			continue;
		}
		if (strcasecmp(k, "host") == 0) {
			ok = (f->host = json_str(v, &f->hostlen)) != NULL;
		} else if (strcasecmp(k, "text") == 0) {
			ok = (f->text = json_str(v, &f->textlen)) != NULL;
		} else if (strcasecmp(k, "group") == 0) {
			ok = (f->group = json_str(v, &f->grouplen)) != NULL;
		} else if (strcasecmp(k, "port") == 0) {
			ok = go_int(v, &f->port);
		} else if (strcasecmp(k, "priority") == 0) {
			ok = go_int(v, &f->priority);
		} else if (strcasecmp(k, "weight") == 0) {
			ok = go_int(v, &f->weight);
		} else if (strcasecmp(k, "targetstrip") == 0) {
			ok = go_int(v, &f->targetstrip);
		} else if (strcasecmp(k, "ttl") == 0) {
			ok = go_int(v, &f->ttl) && f->ttl >= 0 && f->ttl <= UINT32_MAX;
		} else if (strcasecmp(k, "mail") == 0) {
			ok = json_bool(v, &f->mail);
		}
		if (!ok) {
			snprintf(err, errlen, "\"%s\" has the wrong type or is out of range", k);
			return E_MALFORMED;
		}
	}
	if (f->host == NULL || f->text == NULL || f->group == NULL) {
		snprintf(err, errlen, "a string field has the wrong type");
		return E_MALFORMED;
	}
	if (strlen(f->host) != f->hostlen || strlen(f->group) != f->grouplen) {
		snprintf(err, errlen, "a NUL character in \"host\" or \"group\"");
		return E_MALFORMED;
	}
	if (f->textlen > 65000) {
		snprintf(err, errlen, "\"text\" is longer than a TXT record can be");
		return E_MALFORMED;
	}
	return E_OK;
}

/* The key as a domain name: its components below the zone's path, reversed, then the
 * apex (msg.Domain). \return the name's length, or an error with \a err set. */
static int key_name(const skydns_t *m, const char *key, size_t keylen, uint8_t *out, int *ncomp,
		    char *err, size_t errlen)
{
	const char *comp[DNAME_LABELS_MAX];
	size_t clen[DNAME_LABELS_MAX];
	size_t pos = m->prefixlen, len = 0;
	int n = 0;

	while (pos < keylen) {
		size_t end = pos + 1;
		while (end < keylen && key[end] != '/') {
			end++;
		}
		size_t l = end - pos - 1;
		if (l == 0 && end == keylen) {
			break; /* a trailing slash: the same name */
		}
		if (l == 0 || l > DNAME_LABEL_MAX || n == DNAME_LABELS_MAX) {
			snprintf(err, errlen, "%s",
				 l == 0                ? "an empty component (\"//\")"
				 : l > DNAME_LABEL_MAX ? "a component longer than 63 octets"
						       : "too many components");
			return E_NAME_SYNTAX;
		}
		if (memchr(key + pos + 1, '.', l) != NULL) {
			snprintf(err, errlen, "a component with a '.' cannot be one DNS label");
			return E_NAME_SYNTAX;
		}
		for (size_t k = 0; k < l; k++) {
			if (key[pos + 1 + k] >= 'A' && key[pos + 1 + k] <= 'Z') {
				/* CoreDNS looks keys up from the lower-cased query name */
				snprintf(err, errlen, "upper case in a component (never queried)");
				return E_NAME_SYNTAX;
			}
		}
		comp[n] = key + pos + 1;
		clen[n++] = l;
		len += l + 1;
		pos = end;
	}
	size_t apexlen = dname_len(m->apex);
	if (len + apexlen > DNAME_MAX) {
		snprintf(err, errlen, "the name would be longer than 255 octets");
		return E_NAME_LONG;
	}
	size_t o = 0;
	for (int i = n - 1; i >= 0; i--) {
		out[o++] = (uint8_t)clen[i];
		for (size_t k = 0; k < clen[i]; k++) {
			out[o++] = (uint8_t)comp[i][k];
		}
	}
	memcpy(out + o, m->apex, apexlen);
	*ncomp = n;
	return (int)(o + apexlen);
}

/* net.ParseIP: an IPv4 address, or an IPv6 one (IPv4-mapped ones count as IPv4). */
static int host_kind(const char *host, uint8_t *addr)
{
	uint8_t a6[16];
	if (host[0] == '\0') {
		return SKYDNS_HOST_NONE;
	}
	if (inet_pton(AF_INET, host, addr) == 1) {
		return SKYDNS_HOST_A;
	}
	if (inet_pton(AF_INET6, host, a6) == 1) {
		static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
		if (memcmp(a6, mapped, 12) == 0) {
			memcpy(addr, a6 + 12, 4);
			return SKYDNS_HOST_A;
		}
		memcpy(addr, a6, 16);
		return SKYDNS_HOST_AAAA;
	}
	return SKYDNS_HOST_NAME;
}

static int insert(skydns_t *m, skydns_svc_t *s)
{
	size_t i = lower_bound(m, s->key, s->keylen);
	if (i < m->n && m->svcs[i]->keylen == s->keylen &&
	    memcmp(m->svcs[i]->key, s->key, s->keylen) == 0) {
		free(m->svcs[i]);
		m->svcs[i] = s;
		return E_OK;
	}
	if (m->n == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 64;
		skydns_svc_t **v = realloc(m->svcs, cap * sizeof(*v));
		if (v == NULL) {
			return -ENOMEM;
		}
		m->svcs = v;
		m->cap = cap;
	}
	memmove(m->svcs + i + 1, m->svcs + i, (m->n - i) * sizeof(*m->svcs));
	m->svcs[i] = s;
	m->n++;
	return E_OK;
}

int skydns_put(skydns_t *m, const char *key, size_t keylen, const char *value, size_t vlen,
	       int64_t mod_revision, int64_t lease, char *err, size_t errlen)
{
	uint8_t name[DNAME_MAX], target[DNAME_MAX], addr[16] = { 0 };
	int namelen, targetlen = 0, ncomp = 0, kind, ret;
	char jerr[128];
	json_t *j = NULL;
	struct fields f;
	skydns_svc_t *s;

	err[0] = '\0';
	if (!skydns_in_zone(m, key, keylen)) {
		return 1;
	}
	if (mod_revision > m->max_mod) {
		m->max_mod = mod_revision;
	}
	if (keylen > MAX_KEYLEN || memchr(key, '\0', keylen) != NULL) {
		snprintf(err, errlen, "the key is too long or has a NUL octet");
		ret = E_MALFORMED;
		goto drop;
	}
	namelen = key_name(m, key, keylen, name, &ncomp, err, errlen);
	if (namelen < 0) {
		ret = E_MALFORMED;
		goto drop;
	}
	ret = json_parse(&j, value, vlen, jerr, sizeof(jerr));
	if (ret != E_OK) {
		snprintf(err, errlen, "not JSON: %s", jerr);
		ret = ret == -ENOMEM ? ret : E_MALFORMED;
		goto drop;
	}
	ret = read_fields(j, &f, err, errlen);
	if (ret != E_OK) {
		goto drop;
	}
	kind = host_kind(f.host, addr);
	if (kind == SKYDNS_HOST_NAME) {
		targetlen = dname_from_str(target, f.host, NULL);
		if (targetlen < 0) {
			snprintf(err, errlen, "host '%s' is neither an address nor a domain name",
				 f.host);
			ret = E_MALFORMED;
			goto drop;
		}
		dname_lower(target);
	}
	/* One block: the struct, then the key, the names and the strings. */
	size_t size = sizeof(*s) + keylen + 1 + (size_t)namelen + (size_t)targetlen + f.hostlen +
		      1 + f.textlen + 1 + f.grouplen + 1;
	s = calloc(1, size);
	if (s == NULL) {
		ret = -ENOMEM;
		goto drop;
	}
	char *p = (char *)(s + 1);
	memcpy(p, key, keylen);
	s->key = p;
	s->keylen = (uint32_t)keylen;
	p += keylen + 1;
	memcpy(p, name, (size_t)namelen);
	s->name = (const uint8_t *)p;
	p += namelen;
	if (targetlen > 0) {
		memcpy(p, target, (size_t)targetlen);
		s->target = (const uint8_t *)p;
		p += targetlen;
	}
	memcpy(p, f.host, f.hostlen);
	s->host = p;
	p += f.hostlen + 1;
	memcpy(p, f.text, f.textlen);
	s->text = p;
	s->textlen = (uint32_t)f.textlen;
	p += f.textlen + 1;
	memcpy(p, f.group, f.grouplen);
	s->group = p;
	for (size_t i = 0; i < keylen; i++) {
		s->slashes += key[i] == '/';
	}
	s->ncomp = (uint8_t)ncomp;
	s->kind = (uint8_t)kind;
	memcpy(s->addr, addr, sizeof(addr));
	s->port = f.port;
	s->priority = f.priority == 0 ? SKYDNS_DEFAULT_PRIO : f.priority;
	s->weight = f.weight;
	s->targetstrip = f.targetstrip;
	s->ttl = (uint32_t)f.ttl;
	s->mail = f.mail;
	s->mod_revision = mod_revision;
	s->lease = lease;
	json_free(j);
	ret = insert(m, s);
	if (ret != E_OK) {
		free(s);
		skydns_del(m, key, keylen);
	}
	return ret;
drop:
	json_free(j);
	skydns_del(m, key, keylen);
	return ret;
}

/* ---- leases ---- */

static size_t lease_pos(const skydns_t *m, int64_t id)
{
	size_t lo = 0, hi = m->nleases;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (m->leases[mid].id < id) {
			lo = mid + 1;
		} else {
			hi = mid;
		}
	}
	return lo;
}

int skydns_lease_set(skydns_t *m, int64_t id, uint32_t ttl)
{
	size_t i = lease_pos(m, id);
	if (i < m->nleases && m->leases[i].id == id) {
		m->leases[i].ttl = ttl;
		return E_OK;
	}
	if (m->nleases == m->capleases) {
		size_t cap = m->capleases ? m->capleases * 2 : 16;
		skydns_lease_t *l = realloc(m->leases, cap * sizeof(*l));
		if (l == NULL) {
			return -ENOMEM;
		}
		m->leases = l;
		m->capleases = cap;
	}
	memmove(m->leases + i + 1, m->leases + i, (m->nleases - i) * sizeof(*m->leases));
	m->leases[i] = (skydns_lease_t){ .id = id, .ttl = ttl };
	m->nleases++;
	return E_OK;
}

bool skydns_lease_known(const skydns_t *m, int64_t id)
{
	size_t i = lease_pos(m, id);
	return i < m->nleases && m->leases[i].id == id;
}

static int lease_id_cmp(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : (x > y ? 1 : 0);
}

void skydns_lease_gc(skydns_t *m)
{
	int64_t *used;
	size_t nused = 0, kept = 0;
	if (m->nleases == 0) {
		return;
	}
	used = malloc((m->n + 1) * sizeof(*used));
	if (used == NULL) {
		return;
	}
	for (size_t i = 0; i < m->n; i++) {
		if (m->svcs[i]->lease != 0) {
			used[nused++] = m->svcs[i]->lease;
		}
	}
	qsort(used, nused, sizeof(*used), lease_id_cmp);
	for (size_t i = 0; i < m->nleases; i++) {
		if (bsearch(&m->leases[i].id, used, nused, sizeof(*used), lease_id_cmp) != NULL) {
			m->leases[kept++] = m->leases[i];
		}
	}
	m->nleases = kept;
	free(used);
}

uint32_t skydns_ttl(const skydns_t *m, const skydns_svc_t *s)
{
	uint32_t lease = 0;
	if (s->lease != 0) {
		size_t i = lease_pos(m, s->lease);
		if (i < m->nleases && m->leases[i].id == s->lease) {
			lease = m->leases[i].ttl;
		}
	}
	if (lease == 0 && s->ttl == 0) {
		return SKYDNS_DEFAULT_TTL;
	}
	if (lease == 0) {
		return s->ttl;
	}
	if (s->ttl == 0) {
		return lease;
	}
	return lease < s->ttl ? lease : s->ttl;
}

/* ---- building the zone ---- */

/* Records of one type for one owner: RDATA with 16-bit lengths, and the smallest TTL. */
struct rrs {
	uint8_t *buf;
	size_t len, cap;
	uint32_t n;
	uint32_t ttl;
	bool capped;
};

struct build {
	const skydns_t *m;
	zone_builder_t *b;
	struct rrs rr;
	const skydns_svc_t **grp; /* scratch: one owner's services after msg.Group */
	size_t *len;              /* scratch for msg.Group */
	struct srvkey *seen;      /* scratch: SRV targets of addresses, to find repeats */
	uint32_t *slots;          /* ... hashed: 1 + index in seen, 0 for none */
	uint32_t mask;
	struct prio_sum *ps; /* scratch: weight sums per priority */
	bool *dup;           /* scratch: the SRV repeats an earlier one */
};

struct prio_sum {
	int64_t prio, sum;
};

struct srvkey {
	const uint8_t *target;
	uint16_t port;
	uint32_t slot;
};

static int rrs_add(struct rrs *r, const uint8_t *rd, size_t rdlen, uint32_t ttl)
{
	if (r->n == RRSET_MAX) {
		r->capped = true;
		return E_OK;
	}
	if (r->len + rdlen + 2 > r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 4096;
		while (cap < r->len + rdlen + 2) {
			cap *= 2;
		}
		uint8_t *p = realloc(r->buf, cap);
		if (p == NULL) {
			return -ENOMEM;
		}
		r->buf = p;
		r->cap = cap;
	}
	dns_put16(r->buf + r->len, (uint16_t)rdlen);
	memcpy(r->buf + r->len + 2, rd, rdlen);
	r->len += rdlen + 2;
	r->ttl = r->n == 0 || ttl < r->ttl ? ttl : r->ttl;
	r->n++;
	return E_OK;
}

/* Add the collected records as one RRset (one TTL: the smallest). */
static int rrs_flush(struct build *bd, const uint8_t *owner, uint16_t type)
{
	struct rrs *r = &bd->rr;
	int ret = E_OK;
	if (r->capped) {
		char name[DNAME_STR_MAX];
		dname_to_str(name, sizeof(name), owner);
		zone_builder_report(bd->b, LOG_WARN, "etcd",
				    "%s: more than %u records of type %u; the rest left out", name,
				    RRSET_MAX, type);
	}
	for (size_t pos = 0; pos < r->len && ret == E_OK;) {
		uint16_t rdlen = dns_u16(r->buf + pos);
		ret = zone_builder_add(bd->b, owner, type, r->ttl, r->buf + pos + 2, rdlen, "etcd");
		pos += 2u + rdlen;
	}
	r->len = 0;
	r->n = 0;
	r->capped = false;
	return ret;
}

/* msg.targetStrip: drop \a k labels from the left, unless that would leave nothing. */
static const uint8_t *target_strip(const uint8_t *name, int64_t k)
{
	int labels = dname_labels(name);
	if (k <= 0 || k >= labels) {
		return name;
	}
	return dname_suffix(name, labels - (int)k);
}

/* msg.Group over \a n services in key order; the kept ones go to bd->grp. The shortest key
 * with a group sets the group; services of another group are dropped, unless two of the
 * shortest keys disagree, and then nothing is. */
static size_t group(struct build *bd, skydns_svc_t *const *sx, size_t n)
{
	const char *grp;
	unsigned slashes;
	size_t kept = 0;
	if (n == 0) {
		return 0;
	}
	grp = sx[0]->group;
	slashes = sx[0]->slashes;
	memset(bd->len, 0, n * sizeof(*bd->len));
	for (size_t i = 0; i < n; i++) {
		bd->len[i] = sx[i]->slashes;
		if (sx[i]->slashes < slashes) {
			if (sx[i]->group[0] == '\0') {
				break; /* (msg.Group leaves the later depths unset: 0) */
			}
			slashes = sx[i]->slashes;
			grp = sx[i]->group;
		}
	}
	bool disagree = false;
	for (size_t i = 0; i < n && grp[0] != '\0' && !disagree; i++) {
		if (sx[i]->group[0] == '\0') {
			bd->grp[kept++] = sx[i];
		} else if (bd->len[i] == slashes && strcmp(sx[i]->group, grp) != 0) {
			disagree = true; /* on the same level: no grouping */
		} else if (strcmp(sx[i]->group, grp) == 0) {
			bd->grp[kept++] = sx[i];
		}
	}
	if (grp[0] != '\0' && !disagree) {
		return kept;
	}
	for (size_t i = 0; i < n; i++) {
		bd->grp[i] = sx[i];
	}
	return n;
}

/* The keys CoreDNS reads for the path \a path: every key below "path/", or when there is
 * none the key "path" itself. \return true when there is any. */
static bool find_range(const skydns_t *m, const char *path, size_t len, size_t *lo, size_t *hi)
{
	*lo = lower_bound_c(m, path, len, '/');
	*hi = lower_bound_c(m, path, len, '0');
	if (*lo == *hi) {
		*lo = *hi = lower_bound(m, path, len);
		if (*lo < m->n && m->svcs[*lo]->keylen == len &&
		    memcmp(m->svcs[*lo]->key, path, len) == 0) {
			*hi = *lo + 1;
		}
	}
	return *hi > *lo;
}

/* Those keys after msg.Group; returns how many are in bd->grp. */
static size_t services(struct build *bd, const char *path, size_t len)
{
	size_t lo, hi;
	find_range(bd->m, path, len, &lo, &hi);
	return group(bd, bd->m->svcs + lo, hi - lo);
}

static int add_addresses(struct build *bd, const uint8_t *owner, const skydns_svc_t **sx, size_t n)
{
	int ret = E_OK;
	for (int pass = 0; pass < 2 && ret == E_OK; pass++) {
		uint8_t want = pass == 0 ? SKYDNS_HOST_A : SKYDNS_HOST_AAAA;
		for (size_t i = 0; i < n && ret == E_OK; i++) {
			if (sx[i]->kind == want) {
				ret = rrs_add(&bd->rr, sx[i]->addr, want == SKYDNS_HOST_A ? 4 : 16,
					      skydns_ttl(bd->m, sx[i]));
			}
		}
		if (ret == E_OK) {
			ret = rrs_flush(bd, owner, want == SKYDNS_HOST_A ? RR_A : RR_AAAA);
		}
	}
	return ret;
}

/* A name whose services are all aliases of one name (a host name, no text, no port, no
 * mail) is a CNAME, as CoreDNS answers A, AAAA and TXT queries for it. */
static const uint8_t *alias_of(const uint8_t *owner, const skydns_svc_t **sx, size_t n,
			       uint32_t *ttl, const skydns_t *m)
{
	const uint8_t *target = NULL;
	for (size_t i = 0; i < n; i++) {
		const skydns_svc_t *s = sx[i];
		if (s->kind == SKYDNS_HOST_NONE && s->textlen == 0) {
			continue; /* makes no record at all */
		}
		if (s->kind != SKYDNS_HOST_NAME || s->textlen > 0 || s->mail || s->port != 0 ||
		    dname_is_sub(s->target, owner)) {
			return NULL;
		}
		if (target != NULL && !dname_equal(target, s->target)) {
			return NULL;
		}
		uint32_t t = skydns_ttl(m, s);
		*ttl = target == NULL || t < *ttl ? t : *ttl;
		target = s->target;
	}
	return target;
}

/* Weights as CoreDNS gives them: a share of 100 among the services of one priority. */
static uint16_t srv_weight(int64_t total, int64_t weight)
{
	double w = 100.0 / (double)total;
	w *= weight == 0 ? 100.0 : (double)weight;
	w = floor(w);
	if (!(w >= 1.0)) {
		return 1;
	}
	return w > 65535.0 ? 65535 : (uint16_t)w;
}

static int prio_cmp(const void *a, const void *b)
{
	const struct prio_sum *x = a, *y = b;
	return x->prio < y->prio ? -1 : (x->prio > y->prio ? 1 : 0);
}

static int add_srv_mx(struct build *bd, const uint8_t *owner, const skydns_svc_t **sx, size_t n)
{
	struct prio_sum *ps = bd->ps;
	bool *dup = bd->dup;
	size_t nps = 0, ns = 0;
	int ret = E_OK;
	uint8_t rd[6 + DNAME_MAX];

	if (n == 0) {
		return E_OK;
	}
	/* the weight shares: every service with a host counts, whatever it becomes */
	for (size_t i = 0; i < n; i++) {
		if (sx[i]->host[0] != '\0') {
			ps[nps++] = (struct prio_sum){ sx[i]->priority,
						       sx[i]->weight != 0 ? sx[i]->weight : 100 };
		}
	}
	bool one = true; /* usually every service has the same priority: no sorting */
	for (size_t i = 1; i < nps && one; i++) {
		one = ps[i].prio == ps[0].prio;
	}
	if (!one) {
		qsort(ps, nps, sizeof(*ps), prio_cmp);
	}
	size_t groups = 0;
	for (size_t i = 0; i < nps; i++) {
		if (groups > 0 && ps[groups - 1].prio == ps[i].prio) {
			ps[groups - 1].sum += ps[i].sum;
		} else {
			ps[groups++] = ps[i];
		}
	}
	/* addresses give the key's own name as target, once per (target, port): the first */
	memset(dup, 0, n * sizeof(*dup));
	for (size_t i = 0; i < n; i++) {
		const skydns_svc_t *s = sx[i];
		if ((s->kind == SKYDNS_HOST_A || s->kind == SKYDNS_HOST_AAAA) && s->port != -1) {
			const uint8_t *t = target_strip(s->name, s->targetstrip);
			uint16_t port = (uint16_t)s->port;
			uint32_t h = (dname_hash(t) ^ (port * 2654435761u)) & bd->mask;
			while (bd->slots[h] != 0) {
				const struct srvkey *k = &bd->seen[bd->slots[h] - 1];
				if (k->port == port && dname_equal(k->target, t)) {
					dup[i] = true;
					break;
				}
				h = (h + 1) & bd->mask;
			}
			if (!dup[i]) {
				bd->seen[ns] = (struct srvkey){ t, port, h };
				bd->slots[h] = (uint32_t)++ns;
			}
		}
	}
	for (size_t i = 0; i < ns; i++) {
		bd->slots[bd->seen[i].slot] = 0; /* clean for the next name */
	}
	for (size_t i = 0; i < n && ret == E_OK; i++) {
		const skydns_svc_t *s = sx[i];
		const uint8_t *target;
		if (s->host[0] == '\0' || s->port == -1 || dup[i]) {
			continue;
		}
		if (s->kind == SKYDNS_HOST_NAME) {
			if (s->textlen > 0) {
				continue; /* a TXT service (HostType TXT): no SRV */
			}
			target = target_strip(s->target, s->targetstrip);
		} else {
			target = target_strip(s->name, s->targetstrip);
		}
		struct prio_sum key = { .prio = s->priority };
		struct prio_sum *g = bsearch(&key, ps, groups, sizeof(*ps), prio_cmp);
		size_t tlen = dname_len(target);
		dns_put16(rd, (uint16_t)s->priority);
		dns_put16(rd + 2, srv_weight(g != NULL ? g->sum : 100, s->weight));
		dns_put16(rd + 4, (uint16_t)s->port);
		memcpy(rd + 6, target, tlen);
		ret = rrs_add(&bd->rr, rd, 6 + tlen, skydns_ttl(bd->m, s));
	}
	if (ret == E_OK) {
		ret = rrs_flush(bd, owner, RR_SRV);
	}
	for (size_t i = 0; i < n && ret == E_OK; i++) {
		const skydns_svc_t *s = sx[i];
		const uint8_t *target;
		if (!s->mail || s->kind == SKYDNS_HOST_NONE ||
		    (s->kind == SKYDNS_HOST_NAME && s->textlen > 0)) {
			continue;
		}
		target = target_strip(s->kind == SKYDNS_HOST_NAME ? s->target : s->name,
				      s->targetstrip);
		size_t tlen = dname_len(target);
		dns_put16(rd, (uint16_t)s->priority);
		memcpy(rd + 2, target, tlen);
		ret = rrs_add(&bd->rr, rd, 2 + tlen, skydns_ttl(bd->m, s));
	}
	if (ret == E_OK) {
		ret = rrs_flush(bd, owner, RR_MX);
	}
	return ret;
}

static int add_txt(struct build *bd, const uint8_t *owner, const skydns_svc_t **sx, size_t n)
{
	int ret = E_OK;
	uint8_t *rd = NULL;
	for (size_t i = 0; i < n && ret == E_OK; i++) {
		const skydns_svc_t *s = sx[i];
		size_t len = 0;
		if (s->textlen == 0 || s->kind == SKYDNS_HOST_A || s->kind == SKYDNS_HOST_AAAA) {
			continue;
		}
		uint8_t *p = realloc(rd, s->textlen + s->textlen / 255 + 2);
		if (p == NULL) {
			ret = -ENOMEM;
			break;
		}
		rd = p;
		/* split255: strings of 255 octets, the last one shorter (even empty) */
		if (s->textlen < 255) {
			rd[len++] = (uint8_t)s->textlen;
			memcpy(rd + len, s->text, s->textlen);
			len += s->textlen;
		} else {
			for (size_t pos = 0;; pos += 255) {
				size_t chunk = s->textlen - pos < 255 ? s->textlen - pos : 255;
				rd[len++] = (uint8_t)chunk;
				memcpy(rd + len, s->text + pos, chunk);
				len += chunk;
				if (chunk < 255) {
					break;
				}
			}
		}
		ret = rrs_add(&bd->rr, rd, len, skydns_ttl(bd->m, s));
	}
	free(rd);
	return ret == E_OK ? rrs_flush(bd, owner, RR_TXT) : ret;
}

static int add_soa_ns(struct build *bd, uint32_t serial)
{
	const skydns_t *m = bd->m;
	uint8_t rd[2 * DNAME_MAX + 20], ns[DNAME_MAX], mbox[DNAME_MAX];
	char path[sizeof(m->prefix) + 16];
	size_t len = 0, apexlen = dname_len(m->apex);
	int ret;

	if (apexlen + 7 > DNAME_MAX || apexlen + 11 > DNAME_MAX) {
		return E_NAME_LONG;
	}
	memcpy(ns,
	       "\x02ns\x03"
	       "dns",
	       7);
	memcpy(ns + 7, m->apex, apexlen);
	memcpy(mbox, "\x0ahostmaster", 11);
	memcpy(mbox + 11, m->apex, apexlen);
	memcpy(rd, ns, apexlen + 7);
	len = apexlen + 7;
	memcpy(rd + len, mbox, apexlen + 11);
	len += apexlen + 11;
	dns_put32(rd + len, serial);
	dns_put32(rd + len + 4, SOA_REFRESH);
	dns_put32(rd + len + 8, SOA_RETRY);
	dns_put32(rd + len + 12, SOA_EXPIRE);
	dns_put32(rd + len + 16, SKYDNS_SOA_MINIMUM);
	ret = zone_builder_add(bd->b, m->apex, RR_SOA, SKYDNS_SOA_TTL, rd, (uint16_t)(len + 20),
			       "etcd");
	if (ret != E_OK) {
		return ret;
	}
	/* NS from the keys under ns.dns.<zone>: addresses only, the key's name as target */
	int n = snprintf(path, sizeof(path), "%s/dns/ns", m->prefix);
	size_t k = services(bd, path, (size_t)n);
	for (size_t i = 0; i < k && ret == E_OK; i++) {
		const skydns_svc_t *s = bd->grp[i];
		if (s->kind == SKYDNS_HOST_A || s->kind == SKYDNS_HOST_AAAA) {
			const uint8_t *t = target_strip(s->name, s->targetstrip);
			ret = rrs_add(&bd->rr, t, dname_len(t), skydns_ttl(m, s));
		}
	}
	if (ret == E_OK && bd->rr.n == 0) {
		ret = rrs_add(&bd->rr, ns, apexlen + 7, SKYDNS_DEFAULT_TTL); /* none: synthesized */
	}
	return ret == E_OK ? rrs_flush(bd, m->apex, RR_NS) : ret;
}

/* Every record of the name \a owner, whose etcd path is \a path. */
static int add_owner(struct build *bd, const char *path, size_t plen, const uint8_t *owner)
{
	const skydns_t *m = bd->m;
	bool apex = plen == m->prefixlen;
	int ret = E_OK;
	size_t n;

	if (apex) {
		/* A and AAAA of the apex come from apex.dns.<zone> when there are keys there */
		char ap[sizeof(m->prefix) + 16];
		size_t lo, hi, al = (size_t)snprintf(ap, sizeof(ap), "%s/dns/apex", m->prefix);
		if (find_range(m, ap, al, &lo, &hi)) {
			n = group(bd, m->svcs + lo, hi - lo);
			ret = add_addresses(bd, owner, bd->grp, n);
			n = services(bd, path, plen);
			if (ret == E_OK) {
				ret = add_txt(bd, owner, bd->grp, n);
			}
			return ret == E_OK ? add_srv_mx(bd, owner, bd->grp, n) : ret;
		}
	}
	n = services(bd, path, plen);
	if (n == 0) {
		return E_OK;
	}
	if (!apex && !m->reverse) {
		uint32_t ttl = 0;
		const uint8_t *target = alias_of(owner, bd->grp, n, &ttl, m);
		if (target != NULL) {
			ret = rrs_add(&bd->rr, target, dname_len(target), ttl);
			return ret == E_OK ? rrs_flush(bd, owner, RR_CNAME) : ret;
		}
	}
	ret = add_addresses(bd, owner, bd->grp, n);
	if (ret == E_OK) {
		ret = add_txt(bd, owner, bd->grp, n);
	}
	if (ret == E_OK) {
		ret = add_srv_mx(bd, owner, bd->grp, n);
	}
	if (ret == E_OK && m->reverse) {
		/* PTR: the key of exactly this name, when its host is a name */
		const skydns_svc_t *s = skydns_get(m, path, plen);
		if (s != NULL && s->kind == SKYDNS_HOST_NAME) {
			ret = rrs_add(&bd->rr, s->target, dname_len(s->target), skydns_ttl(m, s));
			if (ret == E_OK) {
				ret = rrs_flush(bd, owner, RR_PTR);
			}
		}
	}
	return ret;
}

/* Is \a key below the path key[0:len] ("path/...")? */
static bool below(const skydns_svc_t *s, const char *path, size_t len)
{
	return s->keylen > len && s->key[len] == '/' && memcmp(s->key, path, len) == 0;
}

int skydns_build(const skydns_t *m, zone_builder_t *b, uint32_t serial)
{
	struct build bd = { .m = m, .b = b };
	size_t cap = 16;
	int ret = -ENOMEM;

	while (cap < 2 * (m->n + 1)) {
		cap *= 2;
	}
	bd.mask = (uint32_t)(cap - 1);
	bd.slots = calloc(cap, sizeof(*bd.slots));
	bd.grp = malloc((m->n + 1) * sizeof(*bd.grp));
	bd.len = malloc((m->n + 1) * sizeof(*bd.len));
	bd.seen = malloc((m->n + 1) * sizeof(*bd.seen));
	bd.ps = malloc((m->n + 1) * sizeof(*bd.ps));
	bd.dup = malloc((m->n + 1) * sizeof(*bd.dup));
	if (bd.slots == NULL || bd.grp == NULL || bd.len == NULL || bd.seen == NULL ||
	    bd.ps == NULL || bd.dup == NULL) {
		goto out;
	}
	ret = add_soa_ns(&bd, serial);
	if (ret != E_OK) {
		goto out;
	}
	/* The apex first (it exists even without keys), then every other name once: the path
	 * of each key and of its ancestors. A path is met at its own key, or else at the first
	 * key below it (the keys below a path are together in key order). */
	ret = add_owner(&bd, m->prefix, m->prefixlen, m->apex);
	for (size_t i = 0; i < m->n && ret == E_OK; i++) {
		const skydns_svc_t *s = m->svcs[i];
		size_t pos = m->prefixlen;
		for (int k = 1; k <= s->ncomp && ret == E_OK; k++) {
			pos++; /* the '/' */
			while (pos < s->keylen && s->key[pos] != '/') {
				pos++;
			}
			if (pos < s->keylen && ((i > 0 && below(m->svcs[i - 1], s->key, pos)) ||
						skydns_get(m, s->key, pos) != NULL)) {
				continue; /* met already */
			}
			ret = add_owner(&bd, s->key, pos,
					dname_suffix(s->name, m->apex_labels + k));
		}
	}
out:
	free(bd.rr.buf);
	free(bd.dup);
	free(bd.ps);
	free(bd.seen);
	free(bd.slots);
	free(bd.len);
	free(bd.grp);
	return ret;
}
