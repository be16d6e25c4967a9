#include "dns/duration.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "dns/err.h"

int duration_parse(const char *s, uint64_t *msec)
{
	static const struct {
		const char *name;
		uint64_t ns;
	} units[] = {
		{ "ns", 1ULL },
		{ "us", 1000ULL },
		{ "\xc2\xb5s", 1000ULL }, /* U+00B5 micro sign */
		{ "\xce\xbcs", 1000ULL }, /* U+03BC Greek mu */
		{ "ms", 1000000ULL },
		{ "s", 1000000000ULL },
		{ "m", 60ULL * 1000000000ULL },
		{ "h", 3600ULL * 1000000000ULL },
	};
	const uint64_t max = (uint64_t)INT64_MAX;
	const char *c;
	uint64_t total = 0;

	if (!s || !msec) {
		return E_CFG_SEMANTIC;
	}
	if (*s == '+') {
		s++;
	}
	if (!*s) {
		return E_CFG_SEMANTIC;
	}
	/* A bare number is seconds (CoreDNS takes plain integers in many places). */
	for (c = s; *c >= '0' && *c <= '9'; c++) {
		if (total > (UINT64_MAX - 9) / 10) {
			return E_CFG_SEMANTIC;
		}
		total = total * 10 + (uint64_t)(*c - '0');
	}
	if (*c == '\0') {
		if (total > max / 1000) {
			return E_CFG_SEMANTIC;
		}
		*msec = total * 1000;
		return E_OK;
	}
	total = 0;
	c = s;
	while (*c) {
		uint64_t v = 0, f = 0, unit = 0;
		double scale = 1;
		bool pre = false, post = false, fover = false;
		size_t i, ulen;
		const char *u;

		for (; *c >= '0' && *c <= '9'; c++) {
			if (v > (max - 9) / 10) {
				return E_CFG_SEMANTIC;
			}
			v = v * 10 + (uint64_t)(*c - '0');
			pre = true;
		}
		if (*c == '.') {
			for (c++; *c >= '0' && *c <= '9'; c++) {
				post = true;
				if (fover || f > (max - 9) / 10) {
					fover = true;
					continue;
				}
				f = f * 10 + (uint64_t)(*c - '0');
				scale *= 10;
			}
		}
		if (!pre && !post) {
			return E_CFG_SEMANTIC;
		}
		for (u = c; *u && *u != '.' && !(*u >= '0' && *u <= '9'); u++) {
		}
		ulen = (size_t)(u - c);
		for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
			if (strlen(units[i].name) == ulen && strncmp(units[i].name, c, ulen) == 0) {
				unit = units[i].ns;
				break;
			}
		}
		if (!unit) {
			return E_CFG_SEMANTIC; /* missing or unknown unit */
		}
		if (v > max / unit) {
			return E_CFG_SEMANTIC;
		}
		v *= unit;
		if (f) {
			v += (uint64_t)((double)f * ((double)unit / scale));
			if (v > max) {
				return E_CFG_SEMANTIC;
			}
		}
		if (total > max - v) {
			return E_CFG_SEMANTIC;
		}
		total += v;
		c = u;
	}
	*msec = total / 1000000;
	return E_OK;
}
