/*  Signet: DNSSEC keys — BIND key files, DNSKEY/DS data, verification (see key.h).
 *
 *  The .key file is the DNSKEY RR in presentation form after comment lines (BIND writes
 *  the timing there too, for people); the .private file is authoritative for the timing.
 *  Both are written as dnssec-keygen writes them, byte for byte (the comment dates are UTC),
 *  each to a temporary file that is fsync'd and renamed over the old one.
 */
#include "keys/key.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

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
#include "dns/log.h"
#include "dns/rrtext.h"
#include "keys/internal.h"
#include "keys/keystore.h"

#define TYPE_DNSKEY       48
#define CLASS_IN          1
#define DNSKEY_PROTOCOL   3
#define KEY_FILE_MAX      (64 * 1024) /* larger .key/.private files are not key files */
#define TEXT_MAX          8192        /* the .private text of an RSA-4096 key is ~3.3 KB */
#define B64_CHUNK         56          /* BIND splits the DNSKEY key field in 56-character words */
#define EC_COORD          32
#define TIME_STR_LEN      14 /* YYYYMMDDHHMMSS */
#define RSA_MIN_BITS_READ 512
#define RSA_MIN_BITS_GEN  1024
#define RSA_MAX_BITS      4096

/* ---- helpers shared with keystore_file.c and keyset.c (internal.h) ---- */

void keys_random(void *ctx, size_t len, uint8_t *dst)
{
	struct keys_rng *rng = ctx;

	while (len > 0) {
		ssize_t n = getrandom(dst, len, 0);

		if (n < 0) {
			if (errno == EINTR) {
				continue;
			}
			/* Nettle cannot be told; the caller sees rng->failed and throws the
			 * result away. Non-zero bytes keep Nettle's range loops finite. */
			rng->failed = true;
			memset(dst, 1, len);
			return;
		}
		dst += n;
		len -= (size_t)n;
	}
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

int keys_field(const char *text, const char *name, char *val, size_t vallen)
{
	size_t nlen = strlen(name);
	const char *line = text;

	while (line != NULL && *line != '\0') {
		const char *eol = strchr(line, '\n');
		const char *end = eol != NULL ? eol : line + strlen(line);
		const char *p = line;

		while (p < end && is_blank(*p)) {
			p++;
		}
		if ((size_t)(end - p) > nlen && strncasecmp(p, name, nlen) == 0 && p[nlen] == ':') {
			size_t len;

			p += nlen + 1;
			while (p < end && is_blank(*p)) {
				p++;
			}
			while (end > p && is_blank(end[-1])) {
				end--;
			}
			len = (size_t)(end - p);
			if (len + 1 > vallen) {
				return E_TRUNC;
			}
			memcpy(val, p, len);
			val[len] = '\0';
			return (int)len;
		}
		line = eol != NULL ? eol + 1 : NULL;
	}
	return -ENOENT;
}

int keys_append(char *buf, size_t buflen, size_t *len, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*len >= buflen) {
		return E_TRUNC;
	}
	va_start(ap, fmt);
	n = vsnprintf(buf + *len, buflen - *len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= buflen - *len) {
		return E_TRUNC;
	}
	*len += (size_t)n;
	return E_OK;
}

int keys_zone_filename(char *buf, size_t buflen, const uint8_t *zone)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = 0;
	size_t i = 0;

	if (zone[0] == 0) {
		if (buflen < 2) {
			return E_TRUNC;
		}
		buf[0] = '.';
		buf[1] = '\0';
		return 1;
	}
	while (zone[i] != 0) {
		size_t llen = zone[i++];

		for (size_t j = 0; j < llen; j++, i++) {
			uint8_t c = zone[i];

			if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || c == '-' ||
			    c == '_' || (c >= 'A' && c <= 'Z')) {
				if (n + 2 > buflen) {
					return E_TRUNC;
				}
				buf[n++] = (char)dname_lower_octet(c);
			} else {
				if (n + 4 > buflen) {
					return E_TRUNC;
				}
				buf[n++] = '%';
				buf[n++] = hex[c >> 4];
				buf[n++] = hex[c & 15];
			}
		}
		if (n + 2 > buflen) {
			return E_TRUNC;
		}
		buf[n++] = '.';
	}
	buf[n] = '\0';
	return (int)n;
}

void keys_wipe(void *p, size_t len)
{
	explicit_bzero(p, len);
}

int keys_rsa_pub_from_dnskey(struct rsa_public_key *pub, const uint8_t *pk, size_t len)
{
	size_t elen, off;

	if (len < 3) {
		return E_MALFORMED;
	}
	if (pk[0] != 0) {
		elen = pk[0];
		off = 1;
	} else {
		elen = (size_t)pk[1] << 8 | pk[2];
		off = 3;
	}
	if (elen == 0 || off + elen >= len) {
		return E_MALFORMED;
	}
	nettle_mpz_set_str_256_u(pub->e, elen, pk + off);
	nettle_mpz_set_str_256_u(pub->n, len - off - elen, pk + off + elen);
	if (!rsa_public_key_prepare(pub)) {
		return E_MALFORMED;
	}
	return E_OK;
}

int keys_rsa_pub_to_dnskey(const struct rsa_public_key *pub, uint8_t *pk, size_t cap)
{
	size_t elen = nettle_mpz_sizeinbase_256_u(pub->e);
	size_t nlen = nettle_mpz_sizeinbase_256_u(pub->n);
	size_t off = elen <= 255 ? 1 : 3;

	if (elen > 0xffff || off + elen + nlen > cap) {
		return E_TRUNC;
	}
	if (off == 1) {
		pk[0] = (uint8_t)elen;
	} else {
		pk[0] = 0;
		pk[1] = (uint8_t)(elen >> 8);
		pk[2] = (uint8_t)elen;
	}
	nettle_mpz_get_str_256(elen, pk + off, pub->e);
	nettle_mpz_get_str_256(nlen, pk + off + elen, pub->n);
	return (int)(off + elen + nlen);
}

int keys_ecc_pub_from_dnskey(struct ecc_point *q, const uint8_t *pk, size_t len)
{
	mpz_t x, y;
	int ok;

	if (len != 2 * EC_COORD) {
		return E_MALFORMED;
	}
	mpz_init(x);
	mpz_init(y);
	nettle_mpz_set_str_256_u(x, EC_COORD, pk);
	nettle_mpz_set_str_256_u(y, EC_COORD, pk + EC_COORD);
	ok = ecc_point_set(q, x, y);
	mpz_clear(x);
	mpz_clear(y);
	return ok ? E_OK : E_MALFORMED;
}

/* ---- names, tags, DS ---- */

const char *key_algorithm_name(uint8_t algorithm)
{
	switch (algorithm) {
	case KEY_ALG_RSASHA256:
		return "RSASHA256";
	case KEY_ALG_ECDSAP256SHA256:
		return "ECDSAP256SHA256";
	case KEY_ALG_ED25519:
		return "ED25519";
	default:
		return NULL;
	}
}

uint16_t key_tag(const uint8_t *rdata, size_t rdlen)
{
	uint32_t ac = 0;

	if (rdlen >= 4 && rdata[3] == 1) {
		/* RSA/MD5 (RFC 4034 B.1): bits 16..31 from the end of the modulus. */
		return rdlen >= 7 ? (uint16_t)(rdata[rdlen - 3] << 8 | rdata[rdlen - 2]) : 0;
	}
	for (size_t i = 0; i < rdlen; i++) {
		ac += (i & 1) ? rdata[i] : (uint32_t)rdata[i] << 8;
	}
	ac += (ac >> 16) & 0xFFFF;
	return (uint16_t)(ac & 0xFFFF);
}

size_t key_dnskey_rdata(const dnssec_key_t *k, uint8_t *rd)
{
	rd[0] = (uint8_t)(k->flags >> 8);
	rd[1] = (uint8_t)k->flags;
	rd[2] = DNSKEY_PROTOCOL;
	rd[3] = k->algorithm;
	memcpy(rd + 4, k->pubkey, k->pubkey_len);
	return 4 + (size_t)k->pubkey_len;
}

int key_ds_rdata(const dnssec_key_t *k, uint8_t digest_type, uint8_t *rd, size_t *rdlen)
{
	uint8_t dnskey[4 + sizeof(k->pubkey)];
	size_t dlen = key_dnskey_rdata(k, dnskey);
	size_t olen = dname_len(k->owner);

	rd[0] = (uint8_t)(k->tag >> 8);
	rd[1] = (uint8_t)k->tag;
	rd[2] = k->algorithm;
	rd[3] = digest_type;
	if (digest_type == 2) {
		struct sha256_ctx c;

		sha256_init(&c);
		sha256_update(&c, olen, k->owner);
		sha256_update(&c, dlen, dnskey);
		sha256_digest(&c, SHA256_DIGEST_SIZE, rd + 4);
		*rdlen = 4 + SHA256_DIGEST_SIZE;
	} else if (digest_type == 4) {
		struct sha384_ctx c;

		sha384_init(&c);
		sha384_update(&c, olen, k->owner);
		sha384_update(&c, dlen, dnskey);
		sha384_digest(&c, SHA384_DIGEST_SIZE, rd + 4);
		*rdlen = 4 + SHA384_DIGEST_SIZE;
	} else {
		return E_NOTSUP;
	}
	return E_OK;
}

/* ---- time in BIND's YYYYMMDDHHMMSS (UTC) ---- */

static void time_to_str(int64_t t, char buf[TIME_STR_LEN + 1])
{
	time_t tt = (time_t)t;
	struct tm tm;
	int v[6], pos = TIME_STR_LEN;

	gmtime_r(&tt, &tm);
	v[0] = tm.tm_year + 1900;
	v[1] = tm.tm_mon + 1;
	v[2] = tm.tm_mday;
	v[3] = tm.tm_hour;
	v[4] = tm.tm_min;
	v[5] = tm.tm_sec;
	buf[pos] = '\0';
	for (int i = 5; i >= 0; i--) {
		for (int w = i == 0 ? 4 : 2; w > 0; w--) {
			buf[--pos] = (char)('0' + v[i] % 10);
			v[i] /= 10;
		}
	}
}

/* The ctime(3) form BIND adds in the .key comments ("Thu Nov 26 05:49:16 2026"), in UTC. */
static void time_to_human(int64_t t, char *buf, size_t buflen)
{
	static const char *const wday[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	static const char *const mon[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
					   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	snprintf(buf, buflen, "%s %s %2d %02d:%02d:%02d %d", wday[tm.tm_wday], mon[tm.tm_mon],
		 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, tm.tm_year + 1900);
}

static int time_from_str(const char *s, size_t len, int64_t *out)
{
	int v[6];
	static const int width[6] = { 4, 2, 2, 2, 2, 2 };
	struct tm tm;
	size_t pos = 0;
	time_t t;

	if (len != TIME_STR_LEN) {
		return E_MALFORMED;
	}
	for (int i = 0; i < 6; i++) {
		v[i] = 0;
		for (int j = 0; j < width[i]; j++, pos++) {
			if (s[pos] < '0' || s[pos] > '9') {
				return E_MALFORMED;
			}
			v[i] = v[i] * 10 + (s[pos] - '0');
		}
	}
	if (v[1] < 1 || v[1] > 12 || v[2] < 1 || v[2] > 31 || v[3] > 23 || v[4] > 59 || v[5] > 60) {
		return E_MALFORMED;
	}
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = v[0] - 1900;
	tm.tm_mon = v[1] - 1;
	tm.tm_mday = v[2];
	tm.tm_hour = v[3];
	tm.tm_min = v[4];
	tm.tm_sec = v[5];
	t = timegm(&tm);
	if (t <= 0) {
		return E_MALFORMED;
	}
	*out = (int64_t)t;
	return E_OK;
}

/* The timing fields in file order, as BIND names them. */
static const struct {
	const char *name;
	size_t off;
} timing_fields[] = {
	{ "Created", offsetof(key_timing_t, created) },
	{ "Publish", offsetof(key_timing_t, publish) },
	{ "Activate", offsetof(key_timing_t, activate) },
	{ "Inactive", offsetof(key_timing_t, inactive) },
	{ "Delete", offsetof(key_timing_t, remove) },
	{ "SyncPublish", offsetof(key_timing_t, sync_publish) },
	{ "SyncDelete", offsetof(key_timing_t, sync_delete) },
};
#define N_TIMING (sizeof(timing_fields) / sizeof(timing_fields[0]))

static int64_t *timing_at(key_timing_t *t, size_t i)
{
	return (int64_t *)((char *)t + timing_fields[i].off);
}

static int64_t timing_get(const key_timing_t *t, size_t i)
{
	return *(const int64_t *)((const char *)t + timing_fields[i].off);
}

/*
 * Read the timing fields of \a text: "Name: YYYYMMDDHHMMSS" lines of a .private file, or with
 * \a comments the "; Name: YYYYMMDDHHMMSS (...)" lines of a .key file. \return how many were
 * found, or E_MALFORMED with \a err set.
 */
static int timing_parse(const char *text, bool comments, key_timing_t *t, char *err, size_t errlen)
{
	const char *line = text;
	int found = 0;

	while (line != NULL && *line != '\0') {
		const char *eol = strchr(line, '\n');
		const char *end = eol != NULL ? eol : line + strlen(line);
		const char *p = line;

		line = eol != NULL ? eol + 1 : NULL;
		if (comments) {
			if (*p != ';') {
				continue;
			}
			p++;
		}
		while (p < end && is_blank(*p)) {
			p++;
		}
		for (size_t i = 0; i < N_TIMING; i++) {
			size_t nlen = strlen(timing_fields[i].name);
			const char *v;
			size_t vlen = 0;

			if ((size_t)(end - p) <= nlen ||
			    strncmp(p, timing_fields[i].name, nlen) != 0 || p[nlen] != ':') {
				continue;
			}
			v = p + nlen + 1;
			while (v < end && is_blank(*v)) {
				v++;
			}
			while (v + vlen < end && !is_blank(v[vlen])) {
				vlen++;
			}
			if (time_from_str(v, vlen, timing_at(t, i)) != E_OK) {
				snprintf(err, errlen, "%s: not a YYYYMMDDHHMMSS time",
					 timing_fields[i].name);
				return E_MALFORMED;
			}
			found++;
			break;
		}
	}
	return found;
}

/* ---- files ---- */

static int read_text(const char *path, char **out, char *err, size_t errlen)
{
	FILE *f;
	char *buf = NULL;
	size_t n;
	int ret = E_OK;

	f = fopen(path, "re");
	if (f == NULL) {
		ret = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return ret;
	}
	buf = malloc(KEY_FILE_MAX + 1);
	if (buf == NULL) {
		ret = -ENOMEM;
		goto out;
	}
	n = fread(buf, 1, KEY_FILE_MAX + 1, f);
	if (ferror(f)) {
		ret = -EIO;
		snprintf(err, errlen, "%s: read error", path);
		goto out;
	}
	if (n > KEY_FILE_MAX) {
		ret = E_MALFORMED;
		snprintf(err, errlen, "%s: too large for a key file", path);
		goto out;
	}
	buf[n] = '\0';
	if (memchr(buf, '\0', n) != NULL) {
		ret = E_MALFORMED;
		snprintf(err, errlen, "%s: not a text file", path);
		goto out;
	}
	*out = buf;
	buf = NULL;
out:
	if (buf != NULL) {
		keys_wipe(buf, KEY_FILE_MAX + 1);
	}
	free(buf);
	fclose(f);
	return ret;
}

static void free_text(char *text)
{
	if (text != NULL) {
		keys_wipe(text, strlen(text));
		free(text);
	}
}

int keys_fsync_dir(const char *dir)
{
	int fd, ret = E_OK;

	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		return -errno;
	}
	if (fsync(fd) != 0 && errno != EINVAL) {
		ret = -errno;
	}
	close(fd);
	return ret;
}

static int fsync_dir_of(const char *path)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');

	if (slash == NULL) {
		return keys_fsync_dir(".");
	}
	if (slash == path) {
		return keys_fsync_dir("/");
	}
	if ((size_t)(slash - path) >= sizeof(dir)) {
		return -ENAMETOOLONG;
	}
	memcpy(dir, path, (size_t)(slash - path));
	dir[slash - path] = '\0';
	return keys_fsync_dir(dir);
}

/* Replace \a path by \a data atomically: temporary file, fsync, rename, fsync the folder. */
static int file_replace(const char *path, const char *data, size_t len, mode_t mode)
{
	char tmp[PATH_MAX];
	int fd = -1;
	int ret = E_OK;
	size_t done = 0;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmpXXXXXX", path) >= sizeof(tmp)) {
		return -ENAMETOOLONG;
	}
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		return -errno;
	}
	if (fchmod(fd, mode) != 0) {
		ret = -errno;
		goto out;
	}
	while (done < len) {
		ssize_t n = write(fd, data + done, len - done);

		if (n < 0) {
			if (errno == EINTR) {
				continue;
			}
			ret = -errno;
			goto out;
		}
		done += (size_t)n;
	}
	if (fsync(fd) != 0) {
		ret = -errno;
		goto out;
	}
	if (close(fd) != 0) {
		fd = -1;
		ret = -errno;
		goto out;
	}
	fd = -1;
	if (rename(tmp, path) != 0) {
		ret = -errno;
		goto out;
	}
	tmp[0] = '\0';
	ret = fsync_dir_of(path);
out:
	if (fd >= 0) {
		close(fd);
	}
	if (tmp[0] != '\0') {
		unlink(tmp);
	}
	return ret;
}

/* ---- .key and .private text ---- */

static int key_text(const dnssec_key_t *k, char *buf, size_t buflen)
{
	char owner[DNAME_STR_MAX];
	char b64[2 * sizeof(k->pubkey)];
	size_t len = 0;
	int ret, n;

	ret = dname_to_str(owner, sizeof(owner), k->owner);
	if (ret < 0) {
		return ret;
	}
	ret = keys_append(buf, buflen, &len, "; This is a %s key, keyid %u, for %s\n",
			  key_is_ksk(k) ? "key-signing" : "zone-signing", k->tag, owner);
	for (size_t i = 0; i < N_TIMING && ret == E_OK; i++) {
		int64_t t = timing_get(&k->timing, i);
		char ts[TIME_STR_LEN + 1], human[64];

		if (t == 0) {
			continue;
		}
		time_to_str(t, ts);
		time_to_human(t, human, sizeof(human));
		ret = keys_append(buf, buflen, &len, "; %s: %s (%s)\n", timing_fields[i].name, ts,
				  human);
	}
	if (ret == E_OK) {
		ret = keys_append(buf, buflen, &len, "%s IN DNSKEY %u %u %u", owner, k->flags,
				  DNSKEY_PROTOCOL, k->algorithm);
	}
	if (ret != E_OK) {
		return ret;
	}
	n = base64_encode(b64, sizeof(b64), k->pubkey, k->pubkey_len);
	if (n < 0) {
		return n;
	}
	for (int i = 0; i < n && ret == E_OK; i += B64_CHUNK) {
		int w = n - i < B64_CHUNK ? n - i : B64_CHUNK;

		ret = keys_append(buf, buflen, &len, " %.*s", w, b64 + i);
	}
	if (ret == E_OK) {
		ret = keys_append(buf, buflen, &len, "\n");
	}
	return ret == E_OK ? (int)len : ret;
}

static int private_text(const dnssec_key_t *k, char *buf, size_t buflen)
{
	size_t len = 0;
	int ret;

	ret = keys_append(buf, buflen, &len, "Private-key-format: v1.3\nAlgorithm: %u (%s)\n",
			  k->algorithm, key_algorithm_name(k->algorithm));
	if (ret == E_OK) {
		ret = k->store->save(k, buf, buflen, &len);
	}
	for (size_t i = 0; i < N_TIMING && ret == E_OK; i++) {
		int64_t t = timing_get(&k->timing, i);
		char ts[TIME_STR_LEN + 1];

		if (t == 0) {
			continue;
		}
		time_to_str(t, ts);
		ret = keys_append(buf, buflen, &len, "%s: %s\n", timing_fields[i].name, ts);
	}
	return ret == E_OK ? (int)len : ret;
}

/* Write both files of \a k at \a base: .private first (it holds the state), then .key. */
static int write_pair(const dnssec_key_t *k, const char *base)
{
	char path[PATH_MAX];
	char *buf;
	int n, ret;

	if (k->store == NULL || k->priv == NULL || key_algorithm_name(k->algorithm) == NULL) {
		return -EINVAL;
	}
	buf = malloc(TEXT_MAX);
	if (buf == NULL) {
		return -ENOMEM;
	}
	n = private_text(k, buf, TEXT_MAX);
	if (n < 0) {
		ret = n;
		goto out;
	}
	snprintf(path, sizeof(path), "%s.private", base);
	ret = file_replace(path, buf, (size_t)n, 0600);
	if (ret != E_OK) {
		goto out;
	}
	n = key_text(k, buf, TEXT_MAX);
	if (n < 0) {
		ret = n;
		goto out;
	}
	snprintf(path, sizeof(path), "%s.key", base);
	ret = file_replace(path, buf, (size_t)n, 0644);
out:
	keys_wipe(buf, TEXT_MAX);
	free(buf);
	if (ret != E_OK) {
		log_err("keys", "cannot write %s: %s", base, err_str(ret));
	}
	return ret;
}

int key_write(dnssec_key_t *k, const char *dir)
{
	char base[sizeof(k->path)];
	char fname[DNAME_MAX * 3 + 2];
	char probe[PATH_MAX];
	int ret;

	ret = keys_zone_filename(fname, sizeof(fname), k->owner);
	if (ret < 0) {
		return ret;
	}
	if ((size_t)snprintf(base, sizeof(base), "%s/K%s+%03u+%05u", dir, fname, k->algorithm,
			     k->tag) >= sizeof(base) - sizeof(".private.tmpXXXXXX")) {
		return -ENAMETOOLONG;
	}
	/* Never overwrite another key that happens to have the same tag. */
	if (strcmp(base, k->path) != 0) {
		snprintf(probe, sizeof(probe), "%s.private", base);
		if (access(probe, F_OK) == 0) {
			return E_EXISTS;
		}
		snprintf(probe, sizeof(probe), "%s.key", base);
		if (access(probe, F_OK) == 0) {
			return E_EXISTS;
		}
	}
	ret = write_pair(k, base);
	if (ret == E_OK) {
		memcpy(k->path, base, sizeof(base));
	}
	return ret;
}

int key_write_timing(const dnssec_key_t *k)
{
	if (k->path[0] == '\0') {
		return -EINVAL;
	}
	return write_pair(k, k->path);
}

/*
 * The first record of a .key file as one logical line: comment lines and ';' comments
 * dropped, parenthesized continuation lines joined, "$" directive lines skipped.
 */
static int key_logical_line(const char *text, char *out, size_t outlen)
{
	const char *line = text;
	size_t n = 0;
	int depth = 0;

	while (line != NULL && *line != '\0') {
		const char *eol = strchr(line, '\n');
		const char *end = eol != NULL ? eol : line + strlen(line);
		const char *semi = memchr(line, ';', (size_t)(end - line));
		const char *p = line;

		line = eol != NULL ? eol + 1 : NULL;
		if (semi != NULL) {
			end = semi;
		}
		while (p < end && is_blank(*p)) {
			p++;
		}
		if (n == 0 && (p == end || *p == '$')) {
			continue;
		}
		for (; p < end; p++) {
			char c = *p;

			if (c == '(' || c == ')') {
				depth += c == '(' ? 1 : -1;
				c = ' ';
			} else if (c == '\r') {
				c = ' ';
			}
			if (n + 2 > outlen) {
				return E_TRUNC;
			}
			out[n++] = c;
		}
		if (depth < 0) {
			return E_MALFORMED;
		}
		if (depth == 0) {
			break;
		}
		if (n + 2 > outlen) {
			return E_TRUNC;
		}
		out[n++] = ' ';
	}
	if (depth != 0 || n == 0) {
		return E_MALFORMED;
	}
	out[n] = '\0';
	return (int)n;
}

/* Check the public key field and compute k->bits. */
static int pubkey_check(dnssec_key_t *k)
{
	int ret = E_OK;

	switch (k->algorithm) {
	case KEY_ALG_ECDSAP256SHA256: {
		struct ecc_point q;

		ecc_point_init(&q, nettle_get_secp_256r1());
		ret = keys_ecc_pub_from_dnskey(&q, k->pubkey, k->pubkey_len);
		ecc_point_clear(&q);
		k->bits = 256;
		break;
	}
	case KEY_ALG_ED25519:
		ret = k->pubkey_len == ED25519_KEY_SIZE ? E_OK : E_MALFORMED;
		k->bits = 256;
		break;
	case KEY_ALG_RSASHA256: {
		struct rsa_public_key pub;

		rsa_public_key_init(&pub);
		ret = keys_rsa_pub_from_dnskey(&pub, k->pubkey, k->pubkey_len);
		k->bits = (unsigned)mpz_sizeinbase(pub.n, 2);
		if (ret == E_OK && (k->bits < RSA_MIN_BITS_READ || k->bits > RSA_MAX_BITS)) {
			ret = E_NOTSUP;
		}
		rsa_public_key_clear(&pub);
		break;
	}
	default:
		ret = E_NOTSUP;
	}
	return ret;
}

/* Parse the .key text into \a k: owner, flags, algorithm, public key, tag. */
static int parse_key_text(dnssec_key_t *k, const char *text, const char *path, char *err,
			  size_t errlen)
{
	static const uint8_t root[1] = { 0 };
	char *line = NULL;
	dns_rr_t *rr = NULL;
	char msg[256];
	int ret;

	line = malloc(KEY_FILE_MAX + 1);
	rr = malloc(sizeof(*rr));
	if (line == NULL || rr == NULL) {
		ret = -ENOMEM;
		goto out;
	}
	ret = key_logical_line(text, line, KEY_FILE_MAX + 1);
	if (ret < 0) {
		snprintf(err, errlen, "%s: no DNSKEY record", path);
		ret = E_MALFORMED;
		goto out;
	}
	ret = dns_rr_from_text(rr, line, root, 0, NULL, msg, sizeof(msg));
	if (ret != E_OK) {
		snprintf(err, errlen, "%s: %s", path, msg);
		goto out;
	}
	if (rr->type != TYPE_DNSKEY || rr->rclass != CLASS_IN) {
		snprintf(err, errlen, "%s: not an IN DNSKEY record", path);
		ret = E_MALFORMED;
		goto out;
	}
	if (rr->rdlen < 5 || rr->rdata[2] != DNSKEY_PROTOCOL ||
	    (size_t)rr->rdlen - 4 > sizeof(k->pubkey)) {
		snprintf(err, errlen, "%s: bad DNSKEY data", path);
		ret = E_MALFORMED;
		goto out;
	}
	dname_copy_lower(k->owner, rr->owner);
	k->flags = (uint16_t)(rr->rdata[0] << 8 | rr->rdata[1]);
	k->algorithm = rr->rdata[3];
	k->pubkey_len = (uint16_t)(rr->rdlen - 4);
	memcpy(k->pubkey, rr->rdata + 4, k->pubkey_len);
	k->tag = key_tag(rr->rdata, rr->rdlen);
	ret = pubkey_check(k);
	if (ret == E_NOTSUP) {
		snprintf(err, errlen, "%s: algorithm %u (or its key size) is not supported", path,
			 k->algorithm);
	} else if (ret != E_OK) {
		snprintf(err, errlen, "%s: bad public key", path);
	}
out:
	free(line);
	free(rr);
	return ret;
}

/* Check the .private header: format v1.x and the algorithm of the .key file. */
static int private_header_check(const dnssec_key_t *k, const char *text, const char *path,
				char *err, size_t errlen)
{
	char val[64];
	char *end;
	unsigned long alg;

	if (keys_field(text, "Private-key-format", val, sizeof(val)) < 0 ||
	    strncmp(val, "v1.", 3) != 0) {
		snprintf(err, errlen, "%s: not a v1.x Private-key-format file", path);
		return E_MALFORMED;
	}
	if (keys_field(text, "Algorithm", val, sizeof(val)) < 0) {
		snprintf(err, errlen, "%s: no Algorithm", path);
		return E_MALFORMED;
	}
	errno = 0;
	alg = strtoul(val, &end, 10);
	if (end == val || alg != k->algorithm) {
		snprintf(err, errlen, "%s: Algorithm %s does not match the DNSKEY's %u", path, val,
			 k->algorithm);
		return E_MALFORMED;
	}
	if (keys_field(text, "Label", val, sizeof(val)) != -ENOENT ||
	    keys_field(text, "Engine", val, sizeof(val)) != -ENOENT) {
		snprintf(err, errlen, "%s: a PKCS#11 key; only the file keystore is available",
			 path);
		return E_NOTSUP;
	}
	return E_OK;
}

int key_read(dnssec_key_t **out, const char *base, char *err, size_t errlen)
{
	dnssec_key_t *k = NULL;
	char *keytext = NULL, *privtext = NULL;
	char path[PATH_MAX];
	size_t blen = strlen(base);
	char scratch[64];
	key_timing_t priv_timing;
	int ret;

	if (err == NULL || errlen == 0) {
		err = scratch;
		errlen = sizeof(scratch);
	}
	err[0] = '\0';
	if (blen > 4 && strcmp(base + blen - 4, ".key") == 0) {
		blen -= 4;
	} else if (blen > 8 && strcmp(base + blen - 8, ".private") == 0) {
		blen -= 8;
	}
	k = calloc(1, sizeof(*k));
	if (k == NULL) {
		return -ENOMEM;
	}
	if (blen + sizeof(".private.tmpXXXXXX") > sizeof(k->path)) {
		snprintf(err, errlen, "%.*s: path too long", (int)(blen > 64 ? 64 : blen), base);
		ret = -ENAMETOOLONG;
		goto out;
	}
	memcpy(k->path, base, blen);
	k->path[blen] = '\0';

	snprintf(path, sizeof(path), "%s.key", k->path);
	ret = read_text(path, &keytext, err, errlen);
	if (ret != E_OK) {
		goto out;
	}
	ret = parse_key_text(k, keytext, path, err, errlen);
	if (ret != E_OK) {
		goto out;
	}
	ret = timing_parse(keytext, true, &k->timing, err, errlen);
	if (ret < 0) {
		goto out;
	}

	snprintf(path, sizeof(path), "%s.private", k->path);
	ret = read_text(path, &privtext, err, errlen);
	if (ret != E_OK) {
		goto out;
	}
	ret = private_header_check(k, privtext, path, err, errlen);
	if (ret != E_OK) {
		goto out;
	}
	k->store = &key_store_file;
	ret = k->store->load(k, privtext, err, errlen);
	if (ret != E_OK) {
		goto out;
	}
	/* The .private file is authoritative for the timing when it has any. */
	memset(&priv_timing, 0, sizeof(priv_timing));
	ret = timing_parse(privtext, false, &priv_timing, err, errlen);
	if (ret < 0) {
		goto out;
	}
	if (ret > 0) {
		k->timing = priv_timing;
	}
	ret = E_OK;
	*out = k;
	k = NULL;
out:
	if (ret != E_OK && err[0] == '\0') {
		snprintf(err, errlen, "%s: %s", k != NULL ? k->path : base, err_str(ret));
	}
	free_text(privtext);
	free_text(keytext);
	key_free(k);
	return ret;
}

void key_free(dnssec_key_t *k)
{
	if (k == NULL) {
		return;
	}
	if (k->store != NULL && k->priv != NULL) {
		k->store->release(k);
	}
	free(k);
}

int key_generate(dnssec_key_t **out, const uint8_t *zone, uint8_t algorithm, unsigned bits,
		 uint16_t flags)
{
	dnssec_key_t *k;
	uint8_t rd[4 + sizeof(k->pubkey)];
	int ret;

	if (key_algorithm_name(algorithm) == NULL) {
		return E_NOTSUP;
	}
	if (algorithm == KEY_ALG_RSASHA256) {
		bits = bits == 0 ? 2048 : bits;
		if (bits < RSA_MIN_BITS_GEN || bits > RSA_MAX_BITS) {
			return E_NOTSUP;
		}
	} else {
		bits = 256;
	}
	k = calloc(1, sizeof(*k));
	if (k == NULL) {
		return -ENOMEM;
	}
	dname_copy_lower(k->owner, zone);
	k->flags = flags;
	k->algorithm = algorithm;
	k->bits = bits;
	k->store = &key_store_file;
	ret = k->store->generate(k);
	if (ret != E_OK) {
		goto out;
	}
	k->tag = key_tag(rd, key_dnskey_rdata(k, rd));
	k->timing.created = (int64_t)time(NULL);
	*out = k;
	k = NULL;
out:
	key_free(k);
	return ret;
}

int key_sign(const dnssec_key_t *k, const uint8_t *data, size_t len, uint8_t *sig, size_t *siglen)
{
	if (k->store == NULL || k->priv == NULL) {
		return -EINVAL;
	}
	return k->store->sign(k, data, len, sig, siglen);
}

static int verify_ecdsa(const dnssec_key_t *k, const uint8_t *data, size_t len, const uint8_t *sig,
			size_t siglen)
{
	struct ecc_point q;
	struct dsa_signature s;
	struct sha256_ctx c;
	uint8_t digest[SHA256_DIGEST_SIZE];
	int ret;

	if (siglen != 2 * EC_COORD) {
		return E_MALFORMED;
	}
	ecc_point_init(&q, nettle_get_secp_256r1());
	dsa_signature_init(&s);
	ret = keys_ecc_pub_from_dnskey(&q, k->pubkey, k->pubkey_len);
	if (ret != E_OK) {
		goto out;
	}
	nettle_mpz_set_str_256_u(s.r, EC_COORD, sig);
	nettle_mpz_set_str_256_u(s.s, EC_COORD, sig + EC_COORD);
	sha256_init(&c);
	sha256_update(&c, len, data);
	sha256_digest(&c, sizeof(digest), digest);
	ret = ecdsa_verify(&q, sizeof(digest), digest, &s) ? E_OK : E_MALFORMED;
out:
	dsa_signature_clear(&s);
	ecc_point_clear(&q);
	return ret;
}

static int verify_rsa(const dnssec_key_t *k, const uint8_t *data, size_t len, const uint8_t *sig,
		      size_t siglen)
{
	struct rsa_public_key pub;
	struct sha256_ctx c;
	uint8_t digest[SHA256_DIGEST_SIZE];
	mpz_t s;
	int ret;

	rsa_public_key_init(&pub);
	mpz_init(s);
	ret = keys_rsa_pub_from_dnskey(&pub, k->pubkey, k->pubkey_len);
	if (ret != E_OK) {
		goto out;
	}
	if (siglen != pub.size) {
		ret = E_MALFORMED;
		goto out;
	}
	nettle_mpz_set_str_256_u(s, siglen, sig);
	sha256_init(&c);
	sha256_update(&c, len, data);
	sha256_digest(&c, sizeof(digest), digest);
	ret = rsa_sha256_verify_digest(&pub, digest, s) ? E_OK : E_MALFORMED;
out:
	mpz_clear(s);
	rsa_public_key_clear(&pub);
	return ret;
}

int key_verify(const dnssec_key_t *k, const uint8_t *data, size_t len, const uint8_t *sig,
	       size_t siglen)
{
	switch (k->algorithm) {
	case KEY_ALG_ECDSAP256SHA256:
		return verify_ecdsa(k, data, len, sig, siglen);
	case KEY_ALG_ED25519:
		if (k->pubkey_len != ED25519_KEY_SIZE || siglen != ED25519_SIGNATURE_SIZE) {
			return E_MALFORMED;
		}
		return ed25519_sha512_verify(k->pubkey, len, data, sig) ? E_OK : E_MALFORMED;
	case KEY_ALG_RSASHA256:
		return verify_rsa(k, data, len, sig, siglen);
	default:
		return E_NOTSUP;
	}
}
