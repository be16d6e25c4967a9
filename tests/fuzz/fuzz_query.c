/*  libFuzzer: the whole query path (parse, stages, lookup, DNSSEC proofs, response writer)
 *  over UDP and TCP, against the signed case zones of the integration tests. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <urcu-qsbr.h>

#include "dns/log.h"
#include "server/conf.h"
#include "server/query.h"
#include "server/state.h"
#include "server/zonemgr.h"

static server_state_t *st;
static query_stats_t stats;
static uint8_t out[65535];

static void setup(void)
{
	char dir[] = "/tmp/signet-fuzz-XXXXXX";
	char path[256];
	conf_t *c = NULL;
	if (mkdtemp(dir) == NULL) {
		abort();
	}
	snprintf(path, sizeof(path), "%s/Corefile", dir);
	FILE *f = fopen(path, "w");
	fprintf(f,
		"example.test:5399 {\n bind 127.0.0.1\n file "
		"%s/tests/data/cases/example.test.zone\n"
		" dnssec {\n  keys %s/keys\n }\n}\n"
		"rfc4592.test:5399 {\n bind 127.0.0.1\n file "
		"%s/tests/data/cases/rfc4592.test.zone\n"
		" dnssec {\n  keys %s/keys\n  nsec3 0 -\n }\n}\n",
		getenv("PWD"), dir, getenv("PWD"), dir);
	fclose(f);
	log_set_level(LOG_ERR);
	if (conf_load(&c, path, 0, NULL, NULL) != 0 || state_new(&st, c) != 0) {
		abort();
	}
	zonemgr_start(st, NULL, NULL);
	rcu_register_thread();
	server_state = st;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static query_t q;
	if (st == NULL) {
		setup();
	}
	for (int t = 0; t < 2; t++) {
		memset(&q, 0, sizeof(q));
		q.stats = &stats;
		q.wire = data;
		q.len = size;
		q.transport = t == 0 ? TRANSPORT_UDP : TRANSPORT_TCP;
		q.port = 5399;
		q.out = out;
		q.out_cap = t == 0 ? 1232 : sizeof(out);
		size_t len = query_process(st, &q);
		if (len > q.out_cap) {
			abort();
		}
		if (q.xfr != NULL) {
			void *x = q.xfr;
			while (x != NULL) {
				extern size_t xfrout_next(void **xfr, uint8_t *buf, size_t cap);
				if (xfrout_next(&x, out, sizeof(out)) == 0) {
					break;
				}
			}
		}
	}
	rcu_quiescent_state();
	return 0;
}
