/*  Signet: etcd's JSON gateway (grpc-gateway over the v3 API) — what its answers look like.
 *  Keys and values travel in base64; 64-bit integers as strings. */
#include "adapters/etcd/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns/base64.h"
#include "dns/err.h"

int etcd_b64_json(char *buf, size_t buflen, const char *s, size_t len)
{
	int n;
	if (buflen < 3) {
		return E_TRUNC;
	}
	buf[0] = '"';
	n = base64_encode(buf + 1, buflen - 2, (const uint8_t *)s, len);
	if (n < 0 || (size_t)n + 3 > buflen) {
		return E_TRUNC;
	}
	buf[n + 1] = '"';
	buf[n + 2] = '\0';
	return n + 2;
}

/* Decode the base64 string member \a name of \a j into a new NUL-terminated buffer. */
static int decode_member(const json_t *j, const char *name, char **out, size_t *outlen)
{
	size_t len = 0;
	const char *b64 = json_str(json_get(j, name), &len);
	uint8_t *buf;
	int n = 0;

	*out = NULL;
	*outlen = 0;
	if (b64 == NULL) {
		/* absent: empty (the gateway leaves out empty values) */
		if (json_get(j, name) != NULL) {
			return E_MALFORMED;
		}
		b64 = "";
	}
	buf = malloc(BASE64_DECODED_MAX(len) + 1);
	if (buf == NULL) {
		return -ENOMEM;
	}
	if (len > 0) {
		n = base64_decode(buf, BASE64_DECODED_MAX(len), b64, len);
		if (n < 0) {
			free(buf);
			return E_MALFORMED;
		}
	}
	buf[n] = '\0';
	*out = (char *)buf;
	*outlen = (size_t)n;
	return E_OK;
}

int etcd_kv_decode(const json_t *kv, etcd_kv_t *out)
{
	int ret;
	memset(out, 0, sizeof(*out));
	if (json_type(kv) != JSON_OBJECT) {
		return E_MALFORMED;
	}
	ret = decode_member(kv, "key", &out->key, &out->keylen);
	if (ret == E_OK) {
		ret = decode_member(kv, "value", &out->value, &out->vlen);
	}
	if (ret == E_OK && json_get(kv, "mod_revision") != NULL &&
	    !json_int(json_get(kv, "mod_revision"), &out->mod_revision)) {
		ret = E_MALFORMED;
	}
	if (ret == E_OK && json_get(kv, "lease") != NULL &&
	    !json_int(json_get(kv, "lease"), &out->lease)) {
		ret = E_MALFORMED;
	}
	if (ret != E_OK) {
		etcd_kv_free(out);
	}
	return ret;
}

void etcd_kv_free(etcd_kv_t *kv)
{
	free(kv->key);
	free(kv->value);
	kv->key = kv->value = NULL;
}

bool etcd_error(const json_t *j, char *msg, size_t msglen, int *code)
{
	const json_t *e = json_get(j, "error");
	int64_t c = 0;
	const char *text;

	if (e == NULL) {
		return false;
	}
	if (json_type(e) == JSON_OBJECT) {
		/* in a stream: {"error": {"grpc_code": 16, "http_code": 401, "message": "..."}} */
		json_int(json_get(e, "grpc_code"), &c);
		text = json_str(json_get(e, "message"), NULL);
	} else {
		json_int(json_get(j, "code"), &c);
		text = json_str(json_get(j, "message"), NULL);
		if (text == NULL) {
			text = json_str(e, NULL);
		}
	}
	snprintf(msg, msglen, "%s", text != NULL ? text : "an error without a message");
	*code = (int)c;
	return true;
}
