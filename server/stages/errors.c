/*  The errors stage: log every response that reports a server failure (CoreDNS's errors
 *  plugin logs the errors plugins return; here that is SERVFAIL). */
#include <stdio.h>
#include <string.h>

#include "dns/err.h"
#include "dns/log.h"
#include "dns/rrtext.h"
#include "dns/rrtype.h"
#include "server/query.h"
#include "server/stages/stages.h"

static int errors_setup(void **out, const cfg_directive_t *d, char *err, size_t errlen)
{
	for (int i = 0; i < d->nprops; i++) {
		if (strcmp(d->props[i].name, "consolidate") != 0) {
			snprintf(err, errlen, "unknown property '%s'", d->props[i].name);
			return E_CFG_SEMANTIC;
		}
	}
	*out = NULL;
	return E_OK;
}

static void errors_response(query_t *q, void *ctx)
{
	char name[DNAME_STR_MAX], type[16];
	if (q->resp_len < 4 || DNS_RCODE(dns_u16(q->out + 2)) != RCODE_SERVFAIL) {
		return;
	}
	dname_to_str(name, sizeof(name), q->req.qname);
	log_err("errors", "2 %s %s: zone not loaded", name,
		dns_type_to_str(q->req.qtype, type, sizeof(type)));
}

const stage_ops_t stage_errors = {
	.name = "errors",
	.setup = errors_setup,
	.response = errors_response,
};
