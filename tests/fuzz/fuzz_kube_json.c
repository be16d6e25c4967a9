/*  libFuzzer target: Kubernetes objects through the kubernetes source's parsing
 *  (adapters/kubernetes/model.c, kubeconfig.c): the JSON of an object, a list or a watch
 *  event into the model, the model into records (forward, in-addr.arpa, ip6.arpa zones,
 *  every pods mode), which the builder must accept; and the same bytes as a kubeconfig's
 *  YAML.
 *
 *  The first byte chooses the kind (services, slices, namespaces, pods) and whether the rest
 *  is one object, a list ({"items": [...]}) or a watch event ({"type", "object"}). Objects
 *  accumulate across inputs, so services meet slices that came in earlier runs.
 *
 *  Build with scripts/fuzz.sh (make fuzz), or by hand:
 *    clang -std=c11 -D_GNU_SOURCE -I. -g -O1 -fsanitize=fuzzer,address,undefined \
 *          tests/fuzz/fuzz_kube_json.c adapters/json.c adapters/http.c \
 *          adapters/kubernetes/[a-z]*.c dns/[a-z]*.c zones/[a-z]*.c \
 *          $(pkg-config --cflags --libs ldns libcurl libevent) -o build/fuzz/fuzz_kube_json
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "adapters/kubernetes/internal.h"
#include "dns/err.h"
#include "dns/log.h"
#include "dns/name.h"
#include "zones/builder.h"
#include "zones/zone.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static kube_model_t model;
static bool ready;
static unsigned runs;

static void quiet(void *ud, int level, const char *where, const char *msg)
{
	(void)ud;
	(void)level;
	(void)where;
	(void)msg;
}

static void emit(const char *apex_str, enum kube_pods_mode pods, bool epn)
{
	uint8_t apex[DNAME_MAX], cluster[DNAME_MAX];
	zone_builder_t *b = NULL;
	zone_t *z = NULL;
	dname_from_str(apex, apex_str, NULL);
	dname_from_str(cluster, "cluster.local.", NULL);
	kube_emit_t e = {
		.apex = apex,
		.cluster = strstr(apex_str, "arpa") != NULL ? cluster : apex,
		.reverse = strstr(apex_str, "arpa") != NULL,
		.ttl = 5,
		.pods = pods,
		.endpoint_pod_names = epn,
		.where = "fuzz",
	};
	if (zone_builder_new(&b, apex) != E_OK) {
		return;
	}
	zone_builder_set_diag(b, quiet, NULL);
	if (kube_emit_records(&model, &e, b) != E_OK || kube_emit_soa(&e, b, 1) != E_OK) {
		zone_builder_free(b);
		abort(); /* the model never holds what cannot be made into records */
	}
	if (zone_builder_finish(b, &z) != E_OK) {
		abort(); /* nor records that do not make a zone */
	}
	zone_free(z);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *j = NULL;
	char err[128];
	bool changed = false;
	if (!ready) {
		log_set_level(LOG_ERR);
		kube_model_init(&model);
		ready = true;
	}
	if (size < 1) {
		return 0;
	}
	enum kube_res r = (enum kube_res)(data[0] % KUBE_NRES);
	unsigned mode = (data[0] / KUBE_NRES) % 4;
	const char *text = (const char *)data + 1;
	size_t len = size - 1;

	if (mode == 3) {
		char *out = NULL;
		size_t outlen = 0;
		if (kube_yaml_to_json(text, len, &out, &outlen, err, sizeof(err)) == E_OK) {
			if (json_parse(&j, out, outlen, err, sizeof(err)) != E_OK) {
				abort(); /* the converter writes only valid JSON */
			}
			json_free(j);
			free(out);
		}
		return 0;
	}
	if (json_parse(&j, text, len, err, sizeof(err)) != E_OK) {
		return 0;
	}
	if (mode == 0) {
		kube_model_put(&model, r, j, &changed);
	} else if (mode == 1) {
		const json_t *items = json_get(j, "items");
		kube_model_list_begin(&model, r);
		for (size_t i = 0; i < json_count(items); i++) {
			kube_model_put(&model, r, json_at(items, i), &changed);
		}
		kube_model_list_end(&model, r);
	} else {
		const char *type = json_str(json_get(j, "type"), NULL);
		const json_t *obj = json_get(j, "object");
		if (type != NULL && strcmp(type, "DELETED") == 0) {
			kube_model_del(&model, r, obj, &changed);
		} else {
			kube_model_put(&model, r, obj, &changed);
		}
	}
	json_free(j);
	model.ns_known = (data[0] & 0x80) != 0;
	static const char *const zones[] = { "cluster.local.", "in-addr.arpa.", "ip6.arpa.",
					     "10.in-addr.arpa." };
	emit(zones[runs % 4], (enum kube_pods_mode)(runs / 4 % 3), (runs & 16) != 0);
	if (++runs % 256 == 0) {
		kube_model_deinit(&model); /* keep the model from growing without bound */
		kube_model_init(&model);
	}
	return 0;
}
