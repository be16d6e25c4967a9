/*  libFuzzer target: one row of PowerDNS's records table through sqlite_row_to_rr
 *  (adapters/sqlite/row.c, dns/rrtext.c), and what it makes through the zone builder.
 *
 *  The input is the row's fields separated by NUL bytes: name, type, content, ttl, prio,
 *  disabled; a missing field is SQL NULL. Checked: a row that converts gives a record the
 *  builder takes without an error (its RDATA fits its type, its owner is a name).
 *  Built and run by "make fuzz" (scripts/fuzz.sh); by hand, from the repository root:
 *    clang -std=c11 -D_GNU_SOURCE -I. -g -O1 -fsanitize=fuzzer,address,undefined \
 *          tests/fuzz/fuzz_sqlite_row.c adapters/sqlite/row.c dns/[a-z]*.c zones/[a-z]*.c \
 *          $(pkg-config --cflags --libs ldns) -o build/fuzz/fuzz_sqlite_row
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "adapters/sqlite/row.h"
#include "dns/err.h"
#include "zones/builder.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void quiet(void *ud, int level, const char *where, const char *msg)
{
	(void)ud;
	(void)level;
	(void)where;
	(void)msg;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t root[1] = { 0 };
	static dns_rr_t rr;
	const char *f[6] = { NULL };
	char err[256];
	char *buf = malloc(size + 1);
	zone_builder_t *b = NULL;
	size_t start = 0;
	int n = 0;

	if (buf == NULL) {
		return 0;
	}
	memcpy(buf, data, size);
	buf[size] = '\0';
	for (size_t i = 0; i <= size && n < 6; i++) {
		if (i == size || buf[i] == '\0') {
			f[n++] = buf + start;
			start = i + 1;
		}
	}
	sqlite_row_t row = {
		.id = 1, .name = f[0], .type = f[1], .content = f[2], .ttl = f[3], .prio = f[4]
	};
	(void)sqlite_row_disabled(f[5]);
	if (sqlite_row_to_rr(&row, &rr, err, sizeof(err)) == E_OK &&
	    zone_builder_new(&b, root) == E_OK) {
		zone_builder_set_diag(b, quiet, NULL);
		int ret =
			zone_builder_add(b, rr.owner, rr.type, rr.ttl, rr.rdata, rr.rdlen, "fuzz");
		if ((ret != E_OK && ret != -ENOMEM) || zone_builder_errors(b) != 0) {
			__builtin_trap(); /* converted, but not a record the builder takes */
		}
		zone_builder_free(b);
	}
	free(buf);
	return 0;
}
