/*  libFuzzer target: master-file text through zonefile_load (zones/zonefile.c, dns/rrtext.c).
 *
 *  Build (from the repository root), e.g.:
 *    clang -std=c11 -D_GNU_SOURCE -I. -g -O1 -fsanitize=fuzzer,address,undefined \
 *          -DZONEFILE_GENERATE_MAX=4096 tests/fuzz/fuzz_zonefile.c dns/[a-z]*.c zones/[a-z]*.c \
 *          $(pkg-config --cflags --libs ldns) -o build/fuzz/fuzz_zonefile
 *  ZONEFILE_GENERATE_MAX keeps one input from generating a million records (the default).
 *  The input is written to a file of its own, because $INCLUDE resolves names against the
 *  including file's folder; "$INCLUDE <that file>" then exercises the loop check.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "zones/builder.h"
#include "zones/zonefile.h"

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
	static const uint8_t apex[] = "\x07"
				      "example"
				      "\x03"
				      "com";
	static char path[64];
	zone_builder_t *b = NULL;
	FILE *f;

	if (path[0] == '\0') {
		snprintf(path, sizeof(path), "/tmp/fuzz_zonefile_%ld.zone", (long)getpid());
	}
	f = fopen(path, "wb");
	if (f == NULL) {
		return 0;
	}
	if (size > 0 && fwrite(data, 1, size, f) != size) {
		fclose(f);
		return 0;
	}
	fclose(f);
	if (zone_builder_new(&b, apex) != 0) {
		return 0;
	}
	zone_builder_set_diag(b, quiet, NULL);
	zone_builder_set_limit(b, 10000);
	zonefile_load(b, path);
	zone_builder_free(b);
	return 0;
}
