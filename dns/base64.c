/*  Signet: base64, see base64.h (Nettle does the work). */
#include "dns/base64.h"

#include <limits.h>

#include <nettle/base64.h>

#include "dns/err.h"

int base64_encode(char *out, size_t outlen, const uint8_t *in, size_t len)
{
	size_t n = BASE64_ENCODED_LEN(len);

	if (len > INT_MAX / 2 || n + 1 > outlen) {
		return E_TRUNC;
	}
	base64_encode_raw(out, len, in);
	out[n] = '\0';
	return (int)n;
}

int base64_decode(uint8_t *out, size_t outlen, const char *in, size_t len)
{
	struct base64_decode_ctx ctx;
	size_t n = outlen;

	if (len > INT_MAX || BASE64_DECODED_MAX(len) > outlen) {
		return E_TRUNC;
	}
	base64_decode_init(&ctx);
	if (!base64_decode_update(&ctx, &n, out, len, in) || !base64_decode_final(&ctx)) {
		return E_MALFORMED;
	}
	return (int)n;
}
