/*  Signet: the Corefile (CoreDNS syntax).
 *
 *  Server blocks "[dns://|tls://]ZONE [ZONE...][:PORT] { directive args { property args } }",
 *  "(snippet)" definitions and "import NAME|GLOB", "{$ENV}" substitution, "#" comments,
 *  quoted tokens. The parser only builds the tree and checks syntax; each directive's
 *  owner checks its own arguments.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*! One directive, or one property inside a directive's block. */
typedef struct cfg_directive {
	char *name;
	char **args; /*!< argc strings, quotes removed, {$ENV} substituted */
	int argc;
	struct cfg_directive *props; /*!< the "{ ... }" block, nprops entries */
	int nprops;
	const char *file; /*!< where it was written (owned by the cfg_t) */
	int line;
} cfg_directive_t;

/*! One key of a server block: "tls://example.org:853". */
typedef struct cfg_key {
	char *text;   /*!< as written */
	char *scheme; /*!< "dns" or "tls" */
	char *zone; /*!< absolute, lower case, with the final dot: "example.org." ("." for root) */
	uint16_t port;   /*!< 53 unless given (853 default for tls://) */
	bool port_given; /*!< the key wrote its port ("example.org:1053") */
} cfg_key_t;

typedef struct cfg_block {
	cfg_key_t *keys;
	int nkeys;
	cfg_directive_t *dirs;
	int ndirs;
	const char *file;
	int line;
} cfg_block_t;

typedef struct cfg {
	cfg_block_t *blocks;
	int nblocks;
	char *path;   /*!< the Corefile, or "<embedded>" */
	char *dir;    /*!< its folder: relative paths in directives are taken from here */
	char **files; /*!< every file read (imports included), for messages */
	int nfiles;
} cfg_t;

/*! Called for each syntax error: "file:line: message". */
typedef void (*cfg_error_fn)(void *ud, const char *file, int line, const char *msg);

/*!
 * \brief Parse the Corefile at \a path. Every error is reported through \a err_fn (the log
 *        when NULL) with file and line; parsing continues where it can.
 * \return E_OK with *out set (the caller frees it with cfg_free), or E_CFG_SYNTAX / -errno
 *         with *out NULL. A file that cannot be read is reported with line 0.
 */
int cfg_parse_file(cfg_t **out, const char *path, cfg_error_fn err_fn, void *ud);

/*! \brief Parse Corefile text; \a name is used in messages and \a dir resolves imports. */
int cfg_parse_string(cfg_t **out, const char *text, const char *name, const char *dir,
		     cfg_error_fn err_fn, void *ud);

/*! \brief Free \a cfg and everything it owns; NULL is allowed. */
void cfg_free(cfg_t *cfg);

/*! \brief First directive named \a name in \a blk, or NULL. */
const cfg_directive_t *cfg_block_find(const cfg_block_t *blk, const char *name);

/*!
 * \brief Parse a duration as CoreDNS does (Go syntax: "30s", "1m30s", "2h", "500ms"; a bare
 *        number is seconds). \return E_OK or E_CFG_SEMANTIC.
 */
int cfg_parse_duration(const char *s, uint64_t *msec);
