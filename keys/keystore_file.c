/*  Signet: the file keystore — private keys from BIND .private files, kept in memory as
 *  Nettle structures, signing with Nettle/hogweed (see keystore.h).
 *
 *  Signing only reads the key, and the per-call state (digest, nonce, bignums) lives on the
 *  caller's stack or heap, so any number of threads may sign with one key at once. Nonces
 *  and RSA blinding come from getrandom() on every call (never a buffer that a fork would
 *  duplicate).
 */
#include "keys/keystore.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nettle/bignum.h>
#include <nettle/dsa.h>
#include <nettle/ecc-curve.h>
#include <nettle/ecc.h>
#include <nettle/ecdsa.h>
#include <nettle/eddsa.h>
#include <nettle/rsa.h>
#include <nettle/sha2.h>

#include "dns/base64.h"
#include "dns/err.h"
#include "keys/internal.h"
#include "keys/key.h"

#define EC_BYTES     32
#define RSA_E        65537
#define BIGNUM_MAX   (KEY_SIG_MAX + 1) /* a number of an RSA-4096 key, with room */
#define FIELD_B64MAX (BIGNUM_MAX * 4 / 3 + 8)

/* One private key of the file keystore. */
struct file_priv {
	uint8_t algorithm;
	union {
		struct ecc_scalar ec; /* ECDSAP256SHA256: d */
		struct {
			uint8_t seed[ED25519_KEY_SIZE]; /* ED25519: the private key */
			uint8_t pub[ED25519_KEY_SIZE];
		} ed;
		struct {
			struct rsa_public_key pub;
			struct rsa_private_key key;
		} rsa;
	} u;
};

/* The RSA numbers in .private order, BIND's names, and where they live in Nettle. */
enum { RSA_N, RSA_E_, RSA_D, RSA_P, RSA_Q, RSA_A, RSA_B, RSA_C, RSA_NFIELDS };
static const char *const rsa_names[RSA_NFIELDS] = { "Modulus",         "PublicExponent",
						    "PrivateExponent", "Prime1",
						    "Prime2",          "Exponent1",
						    "Exponent2",       "Coefficient" };

static mpz_t *rsa_field(struct file_priv *fp, int i)
{
	switch (i) {
	case RSA_N:
		return &fp->u.rsa.pub.n;
	case RSA_E_:
		return &fp->u.rsa.pub.e;
	case RSA_D:
		return &fp->u.rsa.key.d;
	case RSA_P:
		return &fp->u.rsa.key.p;
	case RSA_Q:
		return &fp->u.rsa.key.q;
	case RSA_A:
		return &fp->u.rsa.key.a;
	case RSA_B:
		return &fp->u.rsa.key.b;
	default:
		return &fp->u.rsa.key.c;
	}
}

static void mpz_wipe(mpz_t x)
{
	size_t n = mpz_size(x);

	if (n > 0) {
		keys_wipe(mpz_limbs_modify(x, (mp_size_t)n), n * sizeof(mp_limb_t));
	}
	mpz_set_ui(x, 0);
}

static struct file_priv *priv_new(uint8_t algorithm)
{
	struct file_priv *fp = calloc(1, sizeof(*fp));

	if (fp == NULL) {
		return NULL;
	}
	fp->algorithm = algorithm;
	if (algorithm == KEY_ALG_ECDSAP256SHA256) {
		ecc_scalar_init(&fp->u.ec, nettle_get_secp_256r1());
	} else if (algorithm == KEY_ALG_RSASHA256) {
		rsa_public_key_init(&fp->u.rsa.pub);
		rsa_private_key_init(&fp->u.rsa.key);
	}
	return fp;
}

static void priv_free(struct file_priv *fp)
{
	if (fp == NULL) {
		return;
	}
	if (fp->algorithm == KEY_ALG_ECDSAP256SHA256) {
		keys_wipe(fp->u.ec.p, ecc_size(nettle_get_secp_256r1()) * sizeof(mp_limb_t));
		ecc_scalar_clear(&fp->u.ec);
	} else if (fp->algorithm == KEY_ALG_RSASHA256) {
		for (int i = RSA_D; i < RSA_NFIELDS; i++) {
			mpz_wipe(*rsa_field(fp, i));
		}
		rsa_private_key_clear(&fp->u.rsa.key);
		rsa_public_key_clear(&fp->u.rsa.pub);
	}
	keys_wipe(fp, sizeof(*fp));
	free(fp);
}

/* The public key (x | y) of the ECDSA private key \a d. */
static void ec_public(const struct ecc_scalar *d, uint8_t out[2 * EC_BYTES])
{
	struct ecc_point q;
	mpz_t x, y;

	ecc_point_init(&q, nettle_get_secp_256r1());
	mpz_init(x);
	mpz_init(y);
	ecc_point_mul_g(&q, d);
	ecc_point_get(&q, x, y);
	nettle_mpz_get_str_256(EC_BYTES, out, x);
	nettle_mpz_get_str_256(EC_BYTES, out + EC_BYTES, y);
	mpz_clear(x);
	mpz_clear(y);
	ecc_point_clear(&q);
}

/* ---- generate ---- */

static int file_generate(struct dnssec_key *k)
{
	struct keys_rng rng = { false };
	struct file_priv *fp;
	int ret = E_OK;

	fp = priv_new(k->algorithm);
	if (fp == NULL) {
		return -ENOMEM;
	}
	switch (k->algorithm) {
	case KEY_ALG_ECDSAP256SHA256:
		ecc_scalar_random(&fp->u.ec, &rng, keys_random);
		ec_public(&fp->u.ec, k->pubkey);
		k->pubkey_len = 2 * EC_BYTES;
		break;
	case KEY_ALG_ED25519:
		keys_random(&rng, sizeof(fp->u.ed.seed), fp->u.ed.seed);
		ed25519_sha512_public_key(fp->u.ed.pub, fp->u.ed.seed);
		memcpy(k->pubkey, fp->u.ed.pub, ED25519_KEY_SIZE);
		k->pubkey_len = ED25519_KEY_SIZE;
		break;
	case KEY_ALG_RSASHA256: {
		int n;

		mpz_set_ui(fp->u.rsa.pub.e, RSA_E);
		if (!rsa_generate_keypair(&fp->u.rsa.pub, &fp->u.rsa.key, &rng, keys_random, NULL,
					  NULL, k->bits, 0)) {
			ret = E_NOTSUP;
			break;
		}
		n = keys_rsa_pub_to_dnskey(&fp->u.rsa.pub, k->pubkey, sizeof(k->pubkey));
		if (n < 0) {
			ret = n;
			break;
		}
		k->pubkey_len = (uint16_t)n;
		break;
	}
	default:
		ret = E_NOTSUP;
	}
	if (ret == E_OK && rng.failed) {
		ret = -EIO;
	}
	if (ret != E_OK) {
		priv_free(fp);
		return ret;
	}
	k->priv = fp;
	return E_OK;
}

/* ---- load ---- */

/* A base64 field of \a text into \a out. \return its length or an error (with \a err). */
static int field_bytes(const char *text, const char *name, uint8_t *out, size_t outlen, char *err,
		       size_t errlen)
{
	char val[FIELD_B64MAX];
	int n;

	n = keys_field(text, name, val, sizeof(val));
	if (n < 0) {
		snprintf(err, errlen, "%s missing or too long", name);
		return E_MALFORMED;
	}
	n = base64_decode(out, outlen, val, (size_t)n);
	keys_wipe(val, sizeof(val));
	if (n <= 0) {
		snprintf(err, errlen, "%s: bad base64 or too long", name);
		return E_MALFORMED;
	}
	return n;
}

static int load_ecdsa(struct dnssec_key *k, struct file_priv *fp, const char *text, char *err,
		      size_t errlen)
{
	uint8_t d[EC_BYTES + 1];
	uint8_t pub[2 * EC_BYTES];
	mpz_t z;
	int n, ok;

	n = field_bytes(text, "PrivateKey", d, sizeof(d), err, errlen);
	if (n < 0) {
		return n;
	}
	if (n != EC_BYTES) {
		snprintf(err, errlen, "PrivateKey: %d bytes, not %d", n, EC_BYTES);
		return E_MALFORMED;
	}
	mpz_init(z);
	nettle_mpz_set_str_256_u(z, EC_BYTES, d);
	ok = ecc_scalar_set(&fp->u.ec, z);
	mpz_wipe(z);
	mpz_clear(z);
	keys_wipe(d, sizeof(d));
	if (!ok) {
		snprintf(err, errlen, "PrivateKey: out of range for P-256");
		return E_MALFORMED;
	}
	ec_public(&fp->u.ec, pub);
	if (k->pubkey_len != sizeof(pub) || memcmp(pub, k->pubkey, sizeof(pub)) != 0) {
		snprintf(err, errlen, "the private key does not match the DNSKEY");
		return E_MALFORMED;
	}
	return E_OK;
}

static int load_ed25519(struct dnssec_key *k, struct file_priv *fp, const char *text, char *err,
			size_t errlen)
{
	uint8_t seed[ED25519_KEY_SIZE + 1];
	int n;

	n = field_bytes(text, "PrivateKey", seed, sizeof(seed), err, errlen);
	if (n < 0) {
		return n;
	}
	if (n != ED25519_KEY_SIZE) {
		keys_wipe(seed, sizeof(seed));
		snprintf(err, errlen, "PrivateKey: %d bytes, not %d", n, ED25519_KEY_SIZE);
		return E_MALFORMED;
	}
	memcpy(fp->u.ed.seed, seed, ED25519_KEY_SIZE);
	keys_wipe(seed, sizeof(seed));
	ed25519_sha512_public_key(fp->u.ed.pub, fp->u.ed.seed);
	if (k->pubkey_len != ED25519_KEY_SIZE ||
	    memcmp(fp->u.ed.pub, k->pubkey, ED25519_KEY_SIZE) != 0) {
		snprintf(err, errlen, "the private key does not match the DNSKEY");
		return E_MALFORMED;
	}
	return E_OK;
}

/* The CRT numbers must agree with d, p and q, and p*q with n: else signatures fail later. */
static bool rsa_consistent(struct file_priv *fp)
{
	struct rsa_private_key *key = &fp->u.rsa.key;
	mpz_t t, m;
	bool ok;

	mpz_init(t);
	mpz_init(m);
	mpz_mul(t, key->p, key->q);
	ok = mpz_cmp(t, fp->u.rsa.pub.n) == 0;
	mpz_sub_ui(m, key->p, 1);
	mpz_mod(t, key->d, m);
	ok = ok && mpz_cmp(t, key->a) == 0;
	mpz_sub_ui(m, key->q, 1);
	mpz_mod(t, key->d, m);
	ok = ok && mpz_cmp(t, key->b) == 0;
	mpz_mul(t, key->c, key->q);
	mpz_mod(t, t, key->p);
	ok = ok && mpz_cmp_ui(t, 1) == 0;
	mpz_wipe(t);
	mpz_wipe(m);
	mpz_clear(t);
	mpz_clear(m);
	return ok;
}

static int load_rsa(struct dnssec_key *k, struct file_priv *fp, const char *text, char *err,
		    size_t errlen)
{
	uint8_t *buf;
	uint8_t pub[sizeof(k->pubkey)];
	int n, ret = E_OK;

	buf = malloc(BIGNUM_MAX);
	if (buf == NULL) {
		return -ENOMEM;
	}
	for (int i = 0; i < RSA_NFIELDS; i++) {
		n = field_bytes(text, rsa_names[i], buf, BIGNUM_MAX, err, errlen);
		if (n < 0) {
			ret = n;
			goto out;
		}
		nettle_mpz_set_str_256_u(*rsa_field(fp, i), (size_t)n, buf);
	}
	if (!rsa_public_key_prepare(&fp->u.rsa.pub) || !rsa_private_key_prepare(&fp->u.rsa.key) ||
	    fp->u.rsa.pub.size != fp->u.rsa.key.size || !rsa_consistent(fp)) {
		snprintf(err, errlen, "the RSA numbers are not one consistent key");
		ret = E_MALFORMED;
		goto out;
	}
	n = keys_rsa_pub_to_dnskey(&fp->u.rsa.pub, pub, sizeof(pub));
	if (n < 0 || (size_t)n != k->pubkey_len || memcmp(pub, k->pubkey, (size_t)n) != 0) {
		snprintf(err, errlen, "the private key does not match the DNSKEY");
		ret = E_MALFORMED;
		goto out;
	}
out:
	keys_wipe(buf, BIGNUM_MAX);
	free(buf);
	return ret;
}

static int file_load(struct dnssec_key *k, const char *text, char *err, size_t errlen)
{
	struct file_priv *fp;
	int ret;

	fp = priv_new(k->algorithm);
	if (fp == NULL) {
		return -ENOMEM;
	}
	switch (k->algorithm) {
	case KEY_ALG_ECDSAP256SHA256:
		ret = load_ecdsa(k, fp, text, err, errlen);
		break;
	case KEY_ALG_ED25519:
		ret = load_ed25519(k, fp, text, err, errlen);
		break;
	case KEY_ALG_RSASHA256:
		ret = load_rsa(k, fp, text, err, errlen);
		break;
	default:
		snprintf(err, errlen, "algorithm %u not supported", k->algorithm);
		ret = E_NOTSUP;
	}
	if (ret != E_OK) {
		priv_free(fp);
		return ret;
	}
	k->priv = fp;
	return E_OK;
}

/* ---- save ---- */

static int save_bytes(char *buf, size_t buflen, size_t *len, const char *name, const uint8_t *b,
		      size_t n)
{
	char b64[FIELD_B64MAX];
	int ret;

	ret = base64_encode(b64, sizeof(b64), b, n);
	if (ret >= 0) {
		ret = keys_append(buf, buflen, len, "%s: %s\n", name, b64);
	}
	keys_wipe(b64, sizeof(b64));
	return ret;
}

static int file_save(const struct dnssec_key *k, char *buf, size_t buflen, size_t *len)
{
	struct file_priv *fp = k->priv;
	uint8_t tmp[BIGNUM_MAX];
	int ret = E_OK;

	switch (fp->algorithm) {
	case KEY_ALG_ECDSAP256SHA256: {
		mpz_t z;

		mpz_init(z);
		ecc_scalar_get(&fp->u.ec, z);
		nettle_mpz_get_str_256(EC_BYTES, tmp, z);
		mpz_wipe(z);
		mpz_clear(z);
		ret = save_bytes(buf, buflen, len, "PrivateKey", tmp, EC_BYTES);
		break;
	}
	case KEY_ALG_ED25519:
		ret = save_bytes(buf, buflen, len, "PrivateKey", fp->u.ed.seed, ED25519_KEY_SIZE);
		break;
	case KEY_ALG_RSASHA256:
		for (int i = 0; i < RSA_NFIELDS && ret == E_OK; i++) {
			mpz_t *x = rsa_field(fp, i);
			size_t n = nettle_mpz_sizeinbase_256_u(*x);

			if (n > sizeof(tmp)) {
				ret = E_TRUNC;
				break;
			}
			nettle_mpz_get_str_256(n, tmp, *x);
			ret = save_bytes(buf, buflen, len, rsa_names[i], tmp, n);
		}
		break;
	default:
		ret = E_NOTSUP;
	}
	keys_wipe(tmp, sizeof(tmp));
	return ret;
}

/* ---- sign ---- */

static int sign_ecdsa(const struct file_priv *fp, const uint8_t *data, size_t len, uint8_t *sig,
		      size_t *siglen)
{
	struct keys_rng rng = { false };
	struct sha256_ctx c;
	struct dsa_signature s;
	uint8_t digest[SHA256_DIGEST_SIZE];

	sha256_init(&c);
	sha256_update(&c, len, data);
	sha256_digest(&c, sizeof(digest), digest);
	dsa_signature_init(&s);
	ecdsa_sign(&fp->u.ec, &rng, keys_random, sizeof(digest), digest, &s);
	/* RFC 6605: r and s, each as 32 octets. */
	nettle_mpz_get_str_256(EC_BYTES, sig, s.r);
	nettle_mpz_get_str_256(EC_BYTES, sig + EC_BYTES, s.s);
	dsa_signature_clear(&s);
	if (rng.failed) {
		return -EIO;
	}
	*siglen = 2 * EC_BYTES;
	return E_OK;
}

static int sign_rsa(const struct file_priv *fp, const uint8_t *data, size_t len, uint8_t *sig,
		    size_t *siglen)
{
	struct keys_rng rng = { false };
	struct sha256_ctx c;
	uint8_t digest[SHA256_DIGEST_SIZE];
	mpz_t s;
	int ok;

	if (fp->u.rsa.key.size > KEY_SIG_MAX) {
		return E_TRUNC;
	}
	sha256_init(&c);
	sha256_update(&c, len, data);
	sha256_digest(&c, sizeof(digest), digest);
	mpz_init(s);
	/* RFC 5702: PKCS#1 v1.5 over SHA-256, blinded, result checked against the public key. */
	ok = rsa_sha256_sign_digest_tr(&fp->u.rsa.pub, &fp->u.rsa.key, &rng, keys_random, digest,
				       s);
	if (ok) {
		nettle_mpz_get_str_256(fp->u.rsa.key.size, sig, s);
	}
	mpz_clear(s);
	if (!ok || rng.failed) {
		return -EIO;
	}
	*siglen = fp->u.rsa.key.size;
	return E_OK;
}

static int file_sign(const struct dnssec_key *k, const uint8_t *data, size_t len, uint8_t *sig,
		     size_t *siglen)
{
	const struct file_priv *fp = k->priv;

	switch (fp->algorithm) {
	case KEY_ALG_ECDSAP256SHA256:
		return sign_ecdsa(fp, data, len, sig, siglen);
	case KEY_ALG_ED25519:
		ed25519_sha512_sign(fp->u.ed.pub, fp->u.ed.seed, len, data, sig);
		*siglen = ED25519_SIGNATURE_SIZE;
		return E_OK;
	case KEY_ALG_RSASHA256:
		return sign_rsa(fp, data, len, sig, siglen);
	default:
		return E_NOTSUP;
	}
}

static void file_release(struct dnssec_key *k)
{
	priv_free(k->priv);
	k->priv = NULL;
}

const struct key_store key_store_file = {
	.name = "file",
	.generate = file_generate,
	.sign = file_sign,
	.release = file_release,
	.load = file_load,
	.save = file_save,
};
