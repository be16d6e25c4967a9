/*  Signet: where private keys live. The file keystore keeps them in BIND .private files;
 *  a PKCS#11 keystore implements the same operations against a token. */
#pragma once

#include <stddef.h>
#include <stdint.h>

struct dnssec_key;

struct key_store {
	const char *name; /*!< "file", "pkcs11" */
	/*! Create a private key for k->algorithm/k->bits; fill k->pubkey and k->priv. */
	int (*generate)(struct dnssec_key *k);
	/*! Sign with k->priv. */
	int (*sign)(const struct dnssec_key *k, const uint8_t *data, size_t len, uint8_t *sig,
		    size_t *siglen);
	/*! Release k->priv. */
	void (*release)(struct dnssec_key *k);
};

/*! The keystore of BIND .private files. */
extern const struct key_store key_store_file;
