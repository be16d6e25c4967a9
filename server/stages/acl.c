/*  The acl stage: CoreDNS's acl plugin. "acl [ZONES...] { ACTION [type QTYPE...] [net SOURCE...]
 *  [file FILE...] }" with ACTION allow, block (REFUSED), filter (empty NOERROR) or drop (no
 *  answer). The first policy of a rule matching type and source decides; allow ends the
 *  checks; a rule whose zones do not hold the name is skipped. Repeated acl directives are
 *  rules checked in order, as in CoreDNS.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns/err.h"
#include "dns/rrtext.h"
#include "dns/rrtype.h"
#include "server/metrics.h"
#include "server/query.h"
#include "server/stages/stages.h"

#define ACL_EDE_BLOCKED  15 /* RFC 8914 */
#define ACL_EDE_FILTERED 17

enum acl_action { ACL_ALLOW, ACL_BLOCK, ACL_FILTER, ACL_DROP };

struct acl_net {
	uint8_t family; /* AF_INET or AF_INET6 */
	uint8_t bits;
	uint8_t addr[16];
};

struct acl_policy {
	enum acl_action action;
	bool all_types;
	int ntypes;
	uint16_t *types;
	int nnets; /* 0: every source */
	struct acl_net *nets;
};

struct acl_rule {
	int nzones; /* 0: every name of the block */
	uint8_t (*zones)[DNAME_MAX];
	int npolicies;
	struct acl_policy *policies;
};

struct acl_ctx {
	int nrules;
	struct acl_rule *rules;
};

static void acl_teardown(void *ctx)
{
	struct acl_ctx *c = ctx;
	if (c == NULL) {
		return;
	}
	for (int r = 0; r < c->nrules; r++) {
		for (int p = 0; p < c->rules[r].npolicies; p++) {
			free(c->rules[r].policies[p].types);
			free(c->rules[r].policies[p].nets);
		}
		free(c->rules[r].policies);
		free(c->rules[r].zones);
	}
	free(c->rules);
	free(c);
}

/* "10.0.0.0/8", "192.168.1.1" (a /32), "2001:db8::/32", "*" (every address, both families:
 * written as two nets). Returns the nets added (1 or 2) or -1. */
static int net_parse(const char *s, struct acl_net *out)
{
	char buf[INET6_ADDRSTRLEN + 8];
	char *slash;
	long bits = -1;

	if (strcmp(s, "*") == 0) {
		memset(out, 0, 2 * sizeof(*out));
		out[0].family = AF_INET;
		out[1].family = AF_INET6;
		return 2;
	}
	snprintf(buf, sizeof(buf), "%s", s);
	slash = strchr(buf, '/');
	if (slash != NULL) {
		char *end;
		*slash = '\0';
		bits = strtol(slash + 1, &end, 10);
		if (*end != '\0' || slash[1] == '\0') {
			return -1;
		}
	}
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, buf, out->addr) == 1) {
		out->family = AF_INET;
		bits = bits < 0 ? 32 : bits;
		if (bits > 32) {
			return -1;
		}
	} else if (inet_pton(AF_INET6, buf, out->addr) == 1) {
		out->family = AF_INET6;
		bits = bits < 0 ? 128 : bits;
		if (bits > 128) {
			return -1;
		}
	} else {
		return -1;
	}
	out->bits = (uint8_t)bits;
	return 1;
}

static int add_net(struct acl_policy *p, const char *s, char *err, size_t errlen)
{
	struct acl_net n[2];
	int k = net_parse(s, n);
	if (k < 0) {
		snprintf(err, errlen, "illegal CIDR notation '%s'", s);
		return E_CFG_SEMANTIC;
	}
	struct acl_net *nn = realloc(p->nets, (size_t)(p->nnets + k) * sizeof(*nn));
	if (nn == NULL) {
		return -ENOMEM;
	}
	p->nets = nn;
	memcpy(p->nets + p->nnets, n, (size_t)k * sizeof(*n));
	p->nnets += k;
	return E_OK;
}

/* Networks from a file: one per line, "#" starts a comment. Relative to the Corefile. */
static int add_file(struct acl_policy *p, const cfg_directive_t *d, const char *name, char *err,
		    size_t errlen)
{
	char path[4096], line[512];
	const char *slash = strrchr(d->file, '/');
	if (name[0] != '/' && slash != NULL) {
		snprintf(path, sizeof(path), "%.*s/%s", (int)(slash - d->file), d->file, name);
	} else {
		snprintf(path, sizeof(path), "%s", name);
	}
	FILE *f = fopen(path, "r");
	int ret = E_OK;
	if (f == NULL) {
		snprintf(err, errlen, "unable to load networks from local file %s: %s", path,
			 strerror(errno));
		return E_CFG_SEMANTIC;
	}
	while (ret == E_OK && fgets(line, sizeof(line), f) != NULL) {
		char *s = line;
		line[strcspn(line, "#\r\n")] = '\0';
		while (isspace((unsigned char)*s)) {
			s++;
		}
		for (size_t n = strlen(s); n > 0 && isspace((unsigned char)s[n - 1]); n--) {
			s[n - 1] = '\0';
		}
		if (*s != '\0') {
			ret = add_net(p, s, err, errlen);
		}
	}
	fclose(f);
	return ret;
}

static int parse_policy(struct acl_policy *p, const cfg_directive_t *d, const cfg_directive_t *l,
			char *err, size_t errlen)
{
	const char *a = l->name;
	enum { NONE, TYPE, NET, FILE_ } sec = NONE;
	bool seen_type = false;

	memset(p, 0, sizeof(*p));
	if (strcasecmp(a, "allow") == 0) {
		p->action = ACL_ALLOW;
	} else if (strcasecmp(a, "block") == 0) {
		p->action = ACL_BLOCK;
	} else if (strcasecmp(a, "filter") == 0) {
		p->action = ACL_FILTER;
	} else if (strcasecmp(a, "drop") == 0) {
		p->action = ACL_DROP;
	} else {
		snprintf(err, errlen,
			 "unexpected token '%s'; expect 'allow', 'block', 'filter' or "
			 "'drop'",
			 a);
		return E_CFG_SEMANTIC;
	}
	for (int i = 0; i < l->argc; i++) {
		const char *t = l->args[i];
		int ret = E_OK;
		if (strcasecmp(t, "type") == 0 || strcasecmp(t, "net") == 0 ||
		    strcasecmp(t, "file") == 0) {
			sec = tolower((unsigned char)t[0]) == 't'   ? TYPE
			      : tolower((unsigned char)t[0]) == 'n' ? NET
								    : FILE_;
			seen_type = seen_type || sec == TYPE;
			if (i + 1 == l->argc || strcasecmp(l->args[i + 1], "type") == 0 ||
			    strcasecmp(l->args[i + 1], "net") == 0 ||
			    strcasecmp(l->args[i + 1], "file") == 0) {
				snprintf(err, errlen, "no token specified in '%s' section", t);
				return E_CFG_SEMANTIC;
			}
			continue;
		}
		switch (sec) {
		case NONE:
			snprintf(err, errlen, "unexpected token '%s'; expect 'type | net | file'",
				 t);
			return E_CFG_SEMANTIC;
		case TYPE:
			if (strcmp(t, "*") == 0) {
				p->all_types = true;
			} else {
				uint16_t ty = dns_type_from_str(t);
				if (ty == 0) {
					snprintf(err, errlen,
						 "unexpected token '%s'; expect legal QTYPE", t);
					return E_CFG_SEMANTIC;
				}
				uint16_t *nt = realloc(p->types, (size_t)(p->ntypes + 1) * 2);
				if (nt == NULL) {
					return -ENOMEM;
				}
				p->types = nt;
				p->types[p->ntypes++] = ty;
			}
			break;
		case NET:
			ret = add_net(p, t, err, errlen);
			break;
		case FILE_:
			ret = add_file(p, d, t, err, errlen);
			break;
		}
		if (ret != E_OK) {
			return ret;
		}
	}
	if (!seen_type) {
		p->all_types = true; /* no "type": every type, as "type *" */
	}
	return E_OK;
}

static int acl_setup(void **out, const cfg_directive_t *d, char *err, size_t errlen)
{
	struct acl_ctx *c = *out; /* a repeated acl extends the first one's rules */
	bool fresh = c == NULL;
	struct acl_rule *r;
	int ret = -ENOMEM;

	if (fresh && (c = calloc(1, sizeof(*c))) == NULL) {
		return -ENOMEM;
	}
	r = realloc(c->rules, (size_t)(c->nrules + 1) * sizeof(*r));
	if (r == NULL) {
		goto fail;
	}
	c->rules = r;
	r = &c->rules[c->nrules++];
	memset(r, 0, sizeof(*r));
	r->zones = calloc((size_t)d->argc + 1, DNAME_MAX);
	r->policies = calloc((size_t)d->nprops + 1, sizeof(*r->policies));
	if (r->zones == NULL || r->policies == NULL) {
		goto fail;
	}
	for (int i = 0; i < d->argc; i++) {
		if (dname_from_str(r->zones[i], d->args[i], NULL) < 0) {
			snprintf(err, errlen, "'%s' is not a zone name", d->args[i]);
			ret = E_CFG_SEMANTIC;
			goto fail;
		}
		dname_lower(r->zones[i]);
	}
	r->nzones = d->argc;
	for (int i = 0; i < d->nprops; i++) {
		ret = parse_policy(&r->policies[i], d, &d->props[i], err, errlen);
		r->npolicies = i + 1; /* freed with the rule, whole or not */
		if (ret != E_OK) {
			goto fail;
		}
	}
	*out = c;
	return E_OK;
fail:
	/* A rule added to an earlier acl's state goes with it; a new state goes now. */
	if (fresh) {
		acl_teardown(c);
	}
	return ret;
}

static bool net_match(const struct acl_net *n, const uint8_t *addr, int family)
{
	if (n->family != family) {
		return false;
	}
	int full = n->bits / 8, rest = n->bits % 8;
	if (memcmp(n->addr, addr, (size_t)full) != 0) {
		return false;
	}
	if (rest == 0) {
		return true;
	}
	uint8_t mask = (uint8_t)(0xFF << (8 - rest));
	return (n->addr[full] & mask) == (addr[full] & mask);
}

static bool policy_match(const struct acl_policy *p, uint16_t qtype, const uint8_t *addr,
			 int family)
{
	bool type_ok = p->all_types;
	for (int i = 0; i < p->ntypes && !type_ok; i++) {
		type_ok = p->types[i] == qtype;
	}
	if (!type_ok) {
		return false;
	}
	if (p->nnets == 0) {
		return true;
	}
	for (int i = 0; i < p->nnets; i++) {
		if (net_match(&p->nets[i], addr, family)) {
			return true;
		}
	}
	return false;
}

/* The source address of \a q (an IPv4-mapped IPv6 address as IPv4); family 0 when unknown. */
static int source(const query_t *q, uint8_t *addr)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF };
	if (q->remote == NULL) {
		return 0;
	}
	if (q->remote->sa_family == AF_INET) {
		memcpy(addr, &((const struct sockaddr_in *)q->remote)->sin_addr, 4);
		return AF_INET;
	}
	if (q->remote->sa_family == AF_INET6) {
		const uint8_t *a6 = ((const struct sockaddr_in6 *)q->remote)->sin6_addr.s6_addr;
		if (memcmp(a6, mapped, 12) == 0) {
			memcpy(addr, a6 + 12, 4);
			return AF_INET;
		}
		memcpy(addr, a6, 16);
		return AF_INET6;
	}
	return 0;
}

/* The whole response to a blocked or filtered query: header, question, OPT with an EDE. */
static enum stage_result respond(query_t *q, uint8_t rcode, int ede)
{
	dns_writer_clear_records(&q->w);
	dns_writer_rcode(&q->w, rcode);
	if (q->req.flags & DNS_FLAG_CD) {
		dns_writer_flags(&q->w, DNS_FLAG_CD, 0);
	}
	if (q->req.edns.present) {
		dns_writer_opt_ede(&q->w, DNS_UDP_DEFAULT, 0, q->req.edns.do_bit, ede);
	}
	q->resp_len = dns_writer_finish(&q->w);
	return STAGE_DONE;
}

static enum stage_result acl_query(query_t *q, void *ctx)
{
	const struct acl_ctx *c = ctx;
	uint8_t addr[16];
	int family = source(q, addr);

	for (int r = 0; r < c->nrules; r++) {
		const struct acl_rule *rule = &c->rules[r];
		bool in = rule->nzones == 0;
		for (int z = 0; z < rule->nzones && !in; z++) {
			in = dname_is_sub(q->req.qname_lc, rule->zones[z]);
		}
		if (!in) {
			continue;
		}
		for (int p = 0; p < rule->npolicies; p++) {
			const struct acl_policy *pol = &rule->policies[p];
			if (!policy_match(pol, q->req.qtype, addr, family)) {
				continue;
			}
			switch (pol->action) {
			case ACL_ALLOW:
				metrics_acl_count(q, METRICS_ACL_ALLOW);
				return STAGE_CONTINUE;
			case ACL_BLOCK:
				metrics_acl_count(q, METRICS_ACL_BLOCK);
				return respond(q, RCODE_REFUSED, ACL_EDE_BLOCKED);
			case ACL_FILTER:
				metrics_acl_count(q, METRICS_ACL_FILTER);
				return respond(q, RCODE_NOERROR, ACL_EDE_FILTERED);
			case ACL_DROP:
				metrics_acl_count(q, METRICS_ACL_DROP);
				return STAGE_DROP;
			}
		}
	}
	metrics_acl_count(q, METRICS_ACL_ALLOW);
	return STAGE_CONTINUE;
}

const stage_ops_t stage_acl = {
	.name = "acl",
	.setup = acl_setup,
	.query = acl_query,
	.teardown = acl_teardown,
	.merge = true,
};
