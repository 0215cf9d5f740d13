// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * The cluster CA of pki.h on OpenSSL 3.  Profiles follow RFC 5280: the CA
 * has basicConstraints CA:TRUE (critical) and keyUsage keyCertSign+cRLSign;
 * issued certificates have CA:FALSE, keyUsage digitalSignature (ECDHE-ECDSA
 * needs nothing else), extendedKeyUsage serverAuth+clientAuth and their
 * subjectAltNames built as GENERAL_NAMEs (never as config text, so a name
 * cannot smuggle in other extensions).  Both carry key identifiers, which
 * strict verifiers (Python's VERIFY_X509_STRICT) ask for.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pki.h"
#include "util.h"

#define CA_DAYS (10 * 365)
#define CERT_DAYS (2 * 365)
/* RFC 5280 ub-common-name; DNS names per RFC 1035. */
#define CN_MAX 64
#define DNS_MAX 253
#define SANS_MAX 64
/* Clock skew between the CA's machine and its peers. */
#define BACKDATE_S 300

static char *join(const char *dir, const char *name)
{
	char *p;

	return asprintf(&p, "%s/%s", dir, name) < 0 ? NULL : p;
}

static bool cn_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > CN_MAX)
		return false;
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
			return false;
	return true;
}

static bool dns_valid(const char *s)
{
	size_t n = strlen(s), label = 0;

	if (n == 0 || n > DNS_MAX || s[0] == '.' || s[n - 1] == '.')
		return false;
	for (; *s; s++) {
		char c = *s;

		if (c == '.') {
			if (label == 0)
				return false;
			label = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '-' || (c == '*' && label == 0)))
			return false;
		if (++label > 63)
			return false;
	}
	return true;
}

static int write_pem(const char *path, mode_t mode, EVP_PKEY *key, X509 *crt)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	FILE *f;
	int ok;

	if (fd < 0)
		return -errno;
	/* The umask must not widen or narrow what we asked for. */
	if (fchmod(fd, mode) < 0) {
		int r = -errno;

		close(fd);
		unlink(path);
		return r;
	}
	f = fdopen(fd, "w");
	if (!f) {
		close(fd);
		unlink(path);
		return -ENOMEM;
	}
	ok = key ? PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL) :
		   PEM_write_X509(f, crt);
	if (fflush(f) != 0 || fsync(fileno(f)) < 0)
		ok = 0;
	if (fclose(f) != 0)
		ok = 0;
	if (!ok) {
		unlink(path);
		return -EIO;
	}
	return 0;
}

static bool exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0 || errno != ENOENT;
}

static int add_ext(X509 *crt, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;

	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, issuer, crt, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (!ext)
		return -EINVAL;
	if (!X509_add_ext(crt, ext, -1)) {
		X509_EXTENSION_free(ext);
		return -ENOMEM;
	}
	X509_EXTENSION_free(ext);
	return 0;
}

/* A fresh certificate for key with subject CN cn, valid days from now. */
static int cert_new(EVP_PKEY *key, const char *cn, long days, X509 **ret)
{
	unsigned char serial[16];
	X509 *crt = X509_new();
	X509_NAME *name;
	BIGNUM *bn = NULL;

	if (!crt)
		return -ENOMEM;
	if (RAND_bytes(serial, sizeof(serial)) != 1)
		goto fail;
	serial[0] &= 0x7f; /* positive, RFC 5280 §4.1.2.2 */
	serial[0] |= 0x01; /* and never shorter than it looks */
	bn = BN_bin2bn(serial, sizeof(serial), NULL);
	if (!bn || !BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(crt)))
		goto fail;
	name = X509_get_subject_name(crt);
	if (!X509_set_version(crt, X509_VERSION_3) ||
	    !X509_gmtime_adj(X509_getm_notBefore(crt), -BACKDATE_S) ||
	    !X509_gmtime_adj(X509_getm_notAfter(crt), days * 86400L) ||
	    !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1,
					-1, 0) ||
	    !X509_set_pubkey(crt, key))
		goto fail;
	BN_free(bn);
	*ret = crt;
	return 0;
fail:
	BN_free(bn);
	X509_free(crt);
	return -ENOMEM;
}

static int add_sans(X509 *crt, const char *const *sans, size_t nsans)
{
	GENERAL_NAMES *gens;
	int r = -EINVAL;

	if (!nsans)
		return 0;
	gens = sk_GENERAL_NAME_new_null();
	if (!gens)
		return -ENOMEM;
	for (size_t i = 0; i < nsans; i++) {
		GENERAL_NAME *gn = GENERAL_NAME_new();
		ASN1_OCTET_STRING *ip;

		if (!gn) {
			r = -ENOMEM;
			goto out;
		}
		ip = a2i_IPADDRESS(sans[i]);
		if (ip) {
			GENERAL_NAME_set0_value(gn, GEN_IPADD, ip);
		} else {
			ASN1_IA5STRING *dns;

			if (!dns_valid(sans[i])) {
				GENERAL_NAME_free(gn);
				r = -EINVAL;
				goto out;
			}
			dns = ASN1_IA5STRING_new();
			if (!dns || !ASN1_STRING_set(dns, sans[i], (int)strlen(sans[i]))) {
				ASN1_IA5STRING_free(dns);
				GENERAL_NAME_free(gn);
				r = -ENOMEM;
				goto out;
			}
			GENERAL_NAME_set0_value(gn, GEN_DNS, dns);
		}
		if (!sk_GENERAL_NAME_push(gens, gn)) {
			GENERAL_NAME_free(gn);
			r = -ENOMEM;
			goto out;
		}
	}
	r = X509_add1_ext_i2d(crt, NID_subject_alt_name, gens, 0, X509V3_ADD_DEFAULT) == 1 ?
		    0 : -ENOMEM;
out:
	GENERAL_NAMES_free(gens);
	return r;
}

int pki_ca_init(const char *dir, const char *name)
{
	char *crt_path = NULL, *key_path = NULL, *cn = NULL;
	EVP_PKEY *key = NULL;
	X509 *crt = NULL;
	int r;

	if (!dir || !name)
		return -EINVAL;
	if (asprintf(&cn, "Skylight cluster CA %s", name) < 0)
		return -ENOMEM;
	if (!cn_valid(cn) || !*name) {
		r = -EINVAL;
		goto out;
	}
	crt_path = join(dir, "ca.crt");
	key_path = join(dir, "ca.key");
	if (!crt_path || !key_path) {
		r = -ENOMEM;
		goto out;
	}
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		r = -errno;
		goto out;
	}
	if (exists(crt_path) || exists(key_path)) {
		r = -EEXIST;
		goto out;
	}
	key = EVP_EC_gen("P-256");
	if (!key) {
		r = -ENOMEM;
		goto out;
	}
	r = cert_new(key, cn, CA_DAYS, &crt);
	if (r < 0)
		goto out;
	/* Self-signed: the issuer is the subject. */
	if (!X509_set_issuer_name(crt, X509_get_subject_name(crt))) {
		r = -ENOMEM;
		goto out;
	}
	if ((r = add_ext(crt, crt, NID_basic_constraints, "critical,CA:TRUE,pathlen:0")) < 0 ||
	    (r = add_ext(crt, crt, NID_key_usage, "critical,keyCertSign,cRLSign")) < 0 ||
	    (r = add_ext(crt, crt, NID_subject_key_identifier, "hash")) < 0 ||
	    (r = add_ext(crt, crt, NID_authority_key_identifier, "keyid:always")) < 0)
		goto out;
	if (!X509_sign(crt, key, EVP_sha256())) {
		r = -EIO;
		goto out;
	}
	r = write_pem(key_path, 0600, key, NULL);
	if (r < 0)
		goto out;
	r = write_pem(crt_path, 0644, NULL, crt);
	if (r < 0)
		unlink(key_path);
out:
	X509_free(crt);
	EVP_PKEY_free(key);
	free(crt_path);
	free(key_path);
	free(cn);
	return r;
}

static int load_ca(const char *ca_dir, X509 **crt, EVP_PKEY **key)
{
	char *crt_path = join(ca_dir, "ca.crt"), *key_path = join(ca_dir, "ca.key");
	FILE *f;
	int r = 0;

	*crt = NULL;
	*key = NULL;
	if (!crt_path || !key_path) {
		r = -ENOMEM;
		goto out;
	}
	f = fopen(crt_path, "re");
	if (!f) {
		r = -errno;
		goto out;
	}
	*crt = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	f = fopen(key_path, "re");
	if (!f) {
		r = -errno;
		goto out;
	}
	*key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (!*crt || !*key || X509_check_private_key(*crt, *key) != 1 ||
	    X509_check_ca(*crt) == 0)
		r = -EBADMSG;
out:
	if (r < 0) {
		X509_free(*crt);
		EVP_PKEY_free(*key);
		*crt = NULL;
		*key = NULL;
	}
	free(crt_path);
	free(key_path);
	return r;
}

int pki_issue(const char *ca_dir, const char *cn, const char *const *sans, size_t nsans,
	      const char *cert_path, const char *key_path)
{
	EVP_PKEY *ca_key = NULL, *key = NULL;
	X509 *ca = NULL, *crt = NULL;
	int r;

	if (!ca_dir || !cn || !cert_path || !key_path || (nsans && !sans) || nsans > SANS_MAX ||
	    !cn_valid(cn))
		return -EINVAL;
	for (size_t i = 0; i < nsans; i++)
		if (!sans[i])
			return -EINVAL;
	if (exists(cert_path) || exists(key_path))
		return -EEXIST;
	r = load_ca(ca_dir, &ca, &ca_key);
	if (r < 0)
		return r;
	key = EVP_EC_gen("P-256");
	if (!key) {
		r = -ENOMEM;
		goto out;
	}
	r = cert_new(key, cn, CERT_DAYS, &crt);
	if (r < 0)
		goto out;
	if (!X509_set_issuer_name(crt, X509_get_subject_name(ca))) {
		r = -ENOMEM;
		goto out;
	}
	if ((r = add_ext(crt, ca, NID_basic_constraints, "critical,CA:FALSE")) < 0 ||
	    (r = add_ext(crt, ca, NID_key_usage, "critical,digitalSignature")) < 0 ||
	    (r = add_ext(crt, ca, NID_ext_key_usage, "serverAuth,clientAuth")) < 0 ||
	    (r = add_ext(crt, ca, NID_subject_key_identifier, "hash")) < 0 ||
	    (r = add_ext(crt, ca, NID_authority_key_identifier, "keyid:always")) < 0 ||
	    (r = add_sans(crt, sans, nsans)) < 0)
		goto out;
	if (!X509_sign(crt, ca_key, EVP_sha256())) {
		r = -EIO;
		goto out;
	}
	r = write_pem(key_path, 0600, key, NULL);
	if (r < 0)
		goto out;
	r = write_pem(cert_path, 0644, NULL, crt);
	if (r < 0)
		unlink(key_path);
out:
	X509_free(crt);
	X509_free(ca);
	EVP_PKEY_free(key);
	EVP_PKEY_free(ca_key);
	return r;
}
