/* Unit tests: the diagnostics a zone builder reports, collected for assertions. Included by
 * one test program each (the state is static). */
#pragma once

#include <stdio.h>

#include "dns/log.h"

struct diag {
	int level;
	char where[512];
	char msg[512];
};

static struct diag diags[64];
static int ndiags;

/* A zone_diag_fn: keeps the first 64 diagnostics, counts them all. */
static void collect(void *ud, int level, const char *where, const char *msg)
{
	(void)ud;
	if (ndiags < (int)(sizeof(diags) / sizeof(diags[0]))) {
		diags[ndiags].level = level;
		snprintf(diags[ndiags].where, sizeof(diags[0].where), "%s", where ? where : "");
		snprintf(diags[ndiags].msg, sizeof(diags[0].msg), "%s", msg);
	}
	ndiags++;
}

/* For a failing test's output (cmocka's print_message). */
static void print_diags(void)
{
	for (int i = 0; i < ndiags && i < 64; i++) {
		print_message("  %s %s: %s\n", diags[i].level == LOG_ERR ? "error" : "warning",
			      diags[i].where, diags[i].msg);
	}
}
