/*  Signet: libFuzzer target for the Corefile parser (server/cfg.c).
 *
 *  clang -fsanitize=fuzzer,address -I. -D_GNU_SOURCE tests/fuzz/fuzz_corefile.c server/cfg.c \
 *        dns/err.c dns/log.c -o fuzz_corefile && ./fuzz_corefile -max_total_time=60
 *
 *  Imports resolve from a folder that does not exist, the environment is emptied, and an input
 *  that says "import" has its '/' turned into '_': the parser never reads the machine's files.
 */
#include "server/cfg.h"

#include "dns/err.h"
#include "dns/log.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void ignore(void *ud, const char *file, int line, const char *msg)
{
	(void)ud;
	(void)file;
	(void)line;
	(void)msg;
}

static void walk(const cfg_directive_t *d, int n)
{
	uint64_t ms;
	int i, j;

	for (i = 0; i < n; i++) {
		if (!d[i].name || !d[i].file || d[i].line < 1) {
			abort();
		}
		for (j = 0; j < d[i].argc; j++) {
			(void)cfg_parse_duration(d[i].args[j], &ms);
		}
		walk(d[i].props, d[i].nprops);
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	clearenv();
	log_set_level(LOG_ERR);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cfg_t *cfg = NULL;
	char *text;
	int b, k;

	text = malloc(size + 1);
	if (!text) {
		return 0;
	}
	memcpy(text, data, size);
	text[size] = '\0';
	if (strstr(text, "import")) {
		char *c;

		for (c = text; (c = strchr(c, '/')) != NULL; c++) {
			*c = '_';
		}
	}
	if (cfg_parse_string(&cfg, text, "fuzz", "/nonexistent-signet-fuzz", ignore, NULL) ==
	    E_OK) {
		for (b = 0; b < cfg->nblocks; b++) {
			const cfg_block_t *blk = &cfg->blocks[b];

			for (k = 0; k < blk->nkeys; k++) {
				if (!blk->keys[k].zone || !blk->keys[k].scheme ||
				    !blk->keys[k].text || blk->keys[k].port == 0) {
					abort();
				}
			}
			walk(blk->dirs, blk->ndirs);
			(void)cfg_block_find(blk, "file");
		}
		cfg_free(cfg);
	}
	free(text);
	return 0;
}
