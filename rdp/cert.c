// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * The TLS certificate skyrdp uses when none is configured: self-signed
 * RSA-2048, made once and kept in the state dir.  RSA because RDP's
 * clients all take it (and FreeRDP 2's server needs RSA for its standard
 * RDP security key); clients pin it on first use (xfreerdp's known_hosts2,
 * mstsc's prompt), so it must not change from run to run.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "skyrdp.h"

LOG_SCOPE("rdp.cert");

#define CERT_DAYS (10 * 365)

static int add_ext(X509 *x, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;
	int ok;

	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (!ext)
		return -EIO;
	ok = X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	return ok ? 0 : -EIO;
}

static X509 *make_cert(EVP_PKEY *pkey, const char *cn)
{
	X509 *x = X509_new();
	X509_NAME *name;
	BIGNUM *bn = BN_new();
	char san[300];
	bool ok = false;

	if (!x || !bn)
		goto out;
	/* A random 127-bit serial: unique without keeping state. */
	if (!X509_set_version(x, 2) || !BN_rand(bn, 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) ||
	    !BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)))
		goto out;
	if (!X509_gmtime_adj(X509_getm_notBefore(x), -3600) ||
	    !X509_time_adj_ex(X509_getm_notAfter(x), CERT_DAYS, 0, NULL) ||
	    !X509_set_pubkey(x, pkey))
		goto out;
	name = X509_get_subject_name(x);
	if (!X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8, (const unsigned char *)"Skylight",
					-1, -1, 0) ||
	    !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1,
					-1, 0) ||
	    !X509_set_issuer_name(x, name))
		goto out;
	snprintf(san, sizeof(san), "DNS:%s", cn);
	if (add_ext(x, NID_basic_constraints, "critical,CA:FALSE") < 0 ||
	    add_ext(x, NID_key_usage, "critical,digitalSignature,keyEncipherment") < 0 ||
	    add_ext(x, NID_ext_key_usage, "serverAuth") < 0 ||
	    add_ext(x, NID_subject_alt_name, san) < 0 ||
	    add_ext(x, NID_subject_key_identifier, "hash") < 0)
		goto out;
	if (!X509_sign(x, pkey, EVP_sha256()))
		goto out;
	ok = true;
out:
	BN_free(bn);
	if (!ok) {
		X509_free(x);
		x = NULL;
	}
	return x;
}

/* Write through a 0600 temporary file renamed into place, so a crash never
 * leaves half a key behind. */
static int write_pem(const char *path, EVP_PKEY *pkey, X509 *x)
{
	char tmp[PATH_MAX];
	FILE *f;
	int fd, n, ok;

	n = snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid());
	if (n < 0 || (size_t)n >= sizeof(tmp))
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	f = fdopen(fd, "w");
	if (!f) {
		close(fd);
		unlink(tmp);
		return -ENOMEM;
	}
	ok = pkey ? PEM_write_PrivateKey(f, pkey, NULL, NULL, 0, NULL, NULL)
		  : PEM_write_X509(f, x);
	if (fflush(f) != 0 || fsync(fileno(f)) < 0)
		ok = 0;
	if (fclose(f) != 0)
		ok = 0;
	if (!ok || rename(tmp, path) < 0) {
		unlink(tmp);
		return -EIO;
	}
	return 0;
}

int cert_ensure(const char *cert, const char *key)
{
	bool have_cert = access(cert, F_OK) == 0, have_key = access(key, F_OK) == 0;
	char host[256] = "skylight";
	EVP_PKEY *pkey = NULL;
	X509 *x = NULL;
	int r;

	if (have_cert && have_key)
		return 0;
	if (have_cert || have_key)
		return -EEXIST;
	if (gethostname(host, sizeof(host) - 1) < 0 || !host[0])
		strcpy(host, "skylight");
	host[sizeof(host) - 1] = '\0';
	pkey = EVP_RSA_gen(2048);
	if (!pkey) {
		r = -EIO;
		goto out;
	}
	x = make_cert(pkey, host);
	if (!x) {
		r = -EIO;
		goto out;
	}
	r = write_pem(key, pkey, NULL);
	if (r < 0)
		goto out;
	r = write_pem(cert, NULL, x);
	if (r < 0) {
		unlink(key);
		goto out;
	}
	log_info("generated a self-signed certificate for %s: %s", host, cert);
out:
	X509_free(x);
	EVP_PKEY_free(pkey);
	return r;
}
