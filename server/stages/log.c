/*  The log stage: one line per query, CoreDNS's log plugin syntax and format. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dns/err.h"
#include "dns/log.h"
#include "dns/rrtext.h"
#include "dns/rrtype.h"
#include "server/query.h"
#include "server/stages/stages.h"

#define LOG_COMMON                                                                           \
	"{remote}:{port} - {>id} \"{type} {class} {name} {proto} {size} {>do} {>bufsize}\" " \
	"{rcode} {>rflags} {rsize} {duration}"

enum log_class { CLASS_SUCCESS = 1, CLASS_DENIAL = 2, CLASS_ERROR = 4, CLASS_ALL = 7 };

struct log_ctx {
	char *format;
	uint8_t names[8][DNAME_MAX];
	int nnames;
	unsigned classes;
};

static const char *rcode_name(unsigned rcode)
{
	static const char *names[] = { "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN",
				       "NOTIMP",  "REFUSED", "YXDOMAIN", "YXRRSET",
				       "NXRRSET", "NOTAUTH", "NOTZONE" };
	return rcode < sizeof(names) / sizeof(names[0]) ? names[rcode] : "RCODE";
}

static int log_setup(void **out, const cfg_directive_t *d, char *err, size_t errlen)
{
	struct log_ctx *c = calloc(1, sizeof(*c));
	const char *format = LOG_COMMON;
	if (c == NULL) {
		return -ENOMEM;
	}
	for (int i = 0; i < d->argc; i++) {
		if (strchr(d->args[i], '{') != NULL) {
			format = d->args[i];
		} else if (strcmp(d->args[i], "{common}") == 0) {
			format = LOG_COMMON;
		} else if (c->nnames < 8 &&
			   dname_from_str(c->names[c->nnames], d->args[i], NULL) >= 0) {
			dname_lower(c->names[c->nnames++]);
		} else {
			snprintf(err, errlen, "'%s' is neither a name nor a format", d->args[i]);
			free(c);
			return E_CFG_SEMANTIC;
		}
	}
	for (int i = 0; i < d->nprops; i++) {
		const cfg_directive_t *p = &d->props[i];
		if (strcmp(p->name, "class") != 0 || p->argc == 0) {
			snprintf(err, errlen, "unknown property '%s'", p->name);
			free(c);
			return E_CFG_SEMANTIC;
		}
		for (int a = 0; a < p->argc; a++) {
			const char *v = p->args[a];
			c->classes |= strcmp(v, "all") == 0       ? CLASS_ALL
				      : strcmp(v, "success") == 0 ? CLASS_SUCCESS
				      : strcmp(v, "denial") == 0  ? CLASS_DENIAL
				      : strcmp(v, "error") == 0   ? CLASS_ERROR
								  : 0;
		}
	}
	if (c->classes == 0) {
		c->classes = CLASS_ALL;
	}
	c->format = strdup(strcmp(format, "{common}") == 0 ? LOG_COMMON : format);
	*out = c;
	return c->format != NULL ? E_OK : -ENOMEM;
}

static void remote_str(const query_t *q, char *host, size_t hlen, unsigned *port)
{
	const struct sockaddr *sa = q->remote;
	host[0] = '\0';
	*port = 0;
	if (sa == NULL) {
		return;
	}
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)sa;
		inet_ntop(AF_INET, &a->sin_addr, host, (socklen_t)hlen);
		*port = ntohs(a->sin_port);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)sa;
		inet_ntop(AF_INET6, &a->sin6_addr, host, (socklen_t)hlen);
		*port = ntohs(a->sin6_port);
	}
}

/* Expand one {placeholder}; returns the characters written. */
static int expand(const query_t *q, const char *key, size_t klen, char *out, size_t outlen)
{
	char buf[DNAME_STR_MAX];
	unsigned port;
	uint16_t flags = q->resp_len >= 4 ? dns_u16(q->out + 2) : 0;
	struct timespec now;
#define IS(k) (klen == sizeof(k) - 1 && memcmp(key, k, klen) == 0)
	if (IS("remote")) {
		remote_str(q, buf, sizeof(buf), &port);
		return snprintf(out, outlen, "%s", buf);
	} else if (IS("port")) {
		remote_str(q, buf, sizeof(buf), &port);
		return snprintf(out, outlen, "%u", port);
	} else if (IS(">id")) {
		return snprintf(out, outlen, "%u", q->req.id);
	} else if (IS("type")) {
		return snprintf(out, outlen, "%s", dns_type_to_str(q->req.qtype, buf, sizeof(buf)));
	} else if (IS("class")) {
		return snprintf(out, outlen, "%s", q->req.qclass == CLASS_IN ? "IN" : "CLASS");
	} else if (IS("name")) {
		dname_to_str(buf, sizeof(buf), q->req.qname);
		return snprintf(out, outlen, "%s", buf);
	} else if (IS("proto")) {
		return snprintf(out, outlen, "%s", q->transport == TRANSPORT_UDP ? "udp" : "tcp");
	} else if (IS("size")) {
		return snprintf(out, outlen, "%zu", q->len);
	} else if (IS(">do")) {
		return snprintf(out, outlen, "%s", q->req.edns.do_bit ? "true" : "false");
	} else if (IS(">bufsize")) {
		return snprintf(out, outlen, "%u",
				q->req.edns.present ? q->req.edns.payload : DNS_UDP_MIN);
	} else if (IS("rcode")) {
		return snprintf(out, outlen, "%s", rcode_name(DNS_RCODE(flags)));
	} else if (IS(">rflags")) {
		return snprintf(
			out, outlen, "%s%s%s%s%s", (flags & DNS_FLAG_QR) ? "qr" : "",
			(flags & DNS_FLAG_AA) ? ",aa" : "", (flags & DNS_FLAG_TC) ? ",tc" : "",
			(flags & DNS_FLAG_RD) ? ",rd" : "", (flags & DNS_FLAG_CD) ? ",cd" : "");
	} else if (IS("rsize")) {
		return snprintf(out, outlen, "%zu", q->resp_len);
	} else if (IS("duration")) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		double d = (double)(now.tv_sec - q->start.tv_sec) +
			   (double)(now.tv_nsec - q->start.tv_nsec) / 1e9;
		return snprintf(out, outlen, "%.9fs", d);
	}
#undef IS
	return snprintf(out, outlen, "-");
}

static void log_response(query_t *q, void *ctx)
{
	struct log_ctx *c = ctx;
	char line[1024];
	size_t n = 0;
	unsigned rcode = q->resp_len >= 4 ? DNS_RCODE(dns_u16(q->out + 2)) : RCODE_SERVFAIL;
	unsigned cls =
		rcode == RCODE_NOERROR || rcode == RCODE_NXDOMAIN
			? (rcode == RCODE_NXDOMAIN || dns_u16(q->out + 6) == 0 ? CLASS_DENIAL
									       : CLASS_SUCCESS)
			: CLASS_ERROR;
	if (!(c->classes & cls)) {
		return;
	}
	if (c->nnames > 0) {
		bool match = false;
		for (int i = 0; i < c->nnames && !match; i++) {
			match = dname_is_sub(q->req.qname_lc, c->names[i]);
		}
		if (!match) {
			return;
		}
	}
	for (const char *p = c->format; *p != '\0' && n < sizeof(line) - 1;) {
		const char *end = p[0] == '{' ? strchr(p, '}') : NULL;
		if (end != NULL) {
			int w = expand(q, p + 1, (size_t)(end - p - 1), line + n, sizeof(line) - n);
			n += w > 0 ? (size_t)w : 0;
			p = end + 1;
		} else {
			line[n++] = *p++;
		}
	}
	line[n < sizeof(line) ? n : sizeof(line) - 1] = '\0';
	log_info("log", "%s", line);
}

static void log_teardown(void *ctx)
{
	struct log_ctx *c = ctx;
	if (c != NULL) {
		free(c->format);
		free(c);
	}
}

const stage_ops_t stage_log = {
	.name = "log",
	.setup = log_setup,
	.response = log_response,
	.teardown = log_teardown,
};
