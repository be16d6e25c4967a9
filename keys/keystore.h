/*  Signet: where private keys live. The file keystore keeps them in BIND .private files;
 *  a PKCS#11 keystore implements the same operations against a token.
 *
 *  Every key names its keystore (dnssec_key_t.store); key.c reaches the private half only
 *  through these operations. The .private file stays the one place a key's state is kept
 *  for every keystore: key.c writes its header (Private-key-format, Algorithm) and timing
 *  fields, the keystore its own fields (PrivateKey or the RSA numbers for "file"; a token
 *  URI such as BIND's "Label:" for PKCS#11).
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

struct dnssec_key;

struct key_store {
	const char *name; /*!< "file", "pkcs11" */
	/*! Create a private key for k->algorithm/k->bits; fill k->pubkey and k->priv. */
	int (*generate)(struct dnssec_key *k);
	/*! Sign with k->priv. Must be safe to call from several threads at once on one key. */
	int (*sign)(const struct dnssec_key *k, const uint8_t *data, size_t len, uint8_t *sig,
		    size_t *siglen);
	/*! Release k->priv. */
	void (*release)(struct dnssec_key *k);
	/*!
	 * Set k->priv from the text of the key's .private file (k->algorithm and k->pubkey
	 * already read from the .key file); checks that the private key matches k->pubkey.
	 * Writes a reason to \a err on failure.
	 */
	int (*load)(struct dnssec_key *k, const char *text, char *err, size_t errlen);
	/*!
	 * Append this keystore's lines of the .private file ("PrivateKey: ...\n") to \a buf at
	 * \a *len, advancing \a *len. \return E_OK or E_TRUNC.
	 */
	int (*save)(const struct dnssec_key *k, char *buf, size_t buflen, size_t *len);
};

/*! The keystore of BIND .private files. */
extern const struct key_store key_store_file;
