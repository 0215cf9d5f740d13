// SPDX-License-Identifier: GPL-3.0-or-later
/* The cluster CA (cluster/pki.c): files, modes, and the certificates read
 * back and verified with OpenSSL. */
#include <errno.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "pki.h"

struct fixture {
	char dir[64];
	char path[8][128];
};

static const char *const names[] = { "ca.crt", "ca.key", "h.crt", "h.key", "x.crt", "x.key" };

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/skytest-pki-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		snprintf(f->path[i], sizeof(f->path[i]), "%s/%s", f->dir, names[i]);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		unlink(f->path[i]);
	rmdir(f->dir);
	free(f);
	return 0;
}

static X509 *read_cert(const char *path)
{
	FILE *fp = fopen(path, "r");
	X509 *x;

	assert_non_null(fp);
	x = PEM_read_X509(fp, NULL, NULL, NULL);
	fclose(fp);
	assert_non_null(x);
	return x;
}

static mode_t mode_of(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return st.st_mode & 07777;
}

static void cn_of(X509 *x, char *buf, int size)
{
	assert_true(X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, buf,
					      size) > 0);
}

static void test_ca(void **state)
{
	struct fixture *f = *state;
	char cn[128];
	X509 *ca;

	assert_int_equal(pki_ca_init(f->dir, "test"), 0);
	assert_int_equal(mode_of(f->path[1]), 0600);
	ca = read_cert(f->path[0]);
	cn_of(ca, cn, sizeof(cn));
	assert_string_equal(cn, "Skylight cluster CA test");
	assert_int_equal(X509_check_ca(ca), 1);
	/* Self-signed and valid about ten years. */
	assert_int_equal(X509_check_issued(ca, ca), X509_V_OK);
	assert_true(X509_cmp_time(X509_get0_notAfter(ca), NULL) > 0);
	X509_free(ca);
	/* Never overwritten. */
	assert_int_equal(pki_ca_init(f->dir, "test"), -EEXIST);
	unlink(f->path[0]);
	assert_int_equal(pki_ca_init(f->dir, "test"), -EEXIST);
}

static void test_issue(void **state)
{
	struct fixture *f = *state;
	const char *sans[] = { "127.0.0.1", "host1.example", "::1" };
	X509_STORE *store;
	X509_STORE_CTX *ctx;
	GENERAL_NAMES *gens;
	X509 *ca, *crt;
	char cn[128];
	bool saw_ip4 = false, saw_dns = false, saw_ip6 = false;

	assert_int_equal(pki_ca_init(f->dir, "test"), 0);
	assert_int_equal(pki_issue(f->dir, "host1", sans, 3, f->path[2], f->path[3]), 0);
	assert_int_equal(mode_of(f->path[3]), 0600);
	ca = read_cert(f->path[0]);
	crt = read_cert(f->path[2]);
	cn_of(crt, cn, sizeof(cn));
	assert_string_equal(cn, "host1");
	assert_int_equal(X509_check_ca(crt), 0);
	assert_true(X509_get_extended_key_usage(crt) & XKU_SSL_SERVER);
	assert_true(X509_get_extended_key_usage(crt) & XKU_SSL_CLIENT);
	assert_int_equal(X509_check_ip_asc(crt, "127.0.0.1", 0), 1);
	assert_int_equal(X509_check_ip_asc(crt, "::1", 0), 1);
	assert_int_equal(X509_check_ip_asc(crt, "127.0.0.2", 0), 0);
	assert_int_equal(X509_check_host(crt, "host1.example", 0, 0, NULL), 1);
	gens = X509_get_ext_d2i(crt, NID_subject_alt_name, NULL, NULL);
	assert_non_null(gens);
	for (int i = 0; i < sk_GENERAL_NAME_num(gens); i++) {
		GENERAL_NAME *gn = sk_GENERAL_NAME_value(gens, i);

		if (gn->type == GEN_IPADD && gn->d.iPAddress->length == 4)
			saw_ip4 = true;
		if (gn->type == GEN_IPADD && gn->d.iPAddress->length == 16)
			saw_ip6 = true;
		if (gn->type == GEN_DNS)
			saw_dns = true;
	}
	GENERAL_NAMES_free(gens);
	assert_true(saw_ip4 && saw_ip6 && saw_dns);

	/* Chains to the CA, for both purposes. */
	store = X509_STORE_new();
	assert_non_null(store);
	assert_int_equal(X509_STORE_add_cert(store, ca), 1);
	ctx = X509_STORE_CTX_new();
	assert_int_equal(X509_STORE_CTX_init(ctx, store, crt, NULL), 1);
	X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_CLIENT);
	assert_int_equal(X509_verify_cert(ctx), 1);
	X509_STORE_CTX_cleanup(ctx);
	assert_int_equal(X509_STORE_CTX_init(ctx, store, crt, NULL), 1);
	X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_SERVER);
	assert_int_equal(X509_verify_cert(ctx), 1);
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	X509_free(crt);
	X509_free(ca);

	/* Existing files are kept. */
	assert_int_equal(pki_issue(f->dir, "host1", sans, 1, f->path[2], f->path[4]), -EEXIST);
	assert_int_equal(pki_issue(f->dir, "host1", sans, 1, f->path[4], f->path[3]), -EEXIST);
}

static void test_issue_bad(void **state)
{
	struct fixture *f = *state;
	const char *bad_dns[] = { "bad name,DNS:evil" };
	const char *empty[] = { "" };
	char long_cn[80];

	/* No CA yet. */
	assert_int_equal(pki_issue(f->dir, "h", NULL, 0, f->path[4], f->path[5]), -ENOENT);
	assert_int_equal(pki_ca_init(f->dir, "test"), 0);
	assert_int_equal(pki_issue(f->dir, "h", bad_dns, 1, f->path[4], f->path[5]), -EINVAL);
	assert_int_equal(pki_issue(f->dir, "h", empty, 1, f->path[4], f->path[5]), -EINVAL);
	assert_int_equal(pki_issue(f->dir, "", NULL, 0, f->path[4], f->path[5]), -EINVAL);
	assert_int_equal(pki_issue(f->dir, "a\nb", NULL, 0, f->path[4], f->path[5]), -EINVAL);
	memset(long_cn, 'a', sizeof(long_cn) - 1);
	long_cn[sizeof(long_cn) - 1] = '\0';
	assert_int_equal(pki_issue(f->dir, long_cn, NULL, 0, f->path[4], f->path[5]), -EINVAL);
	/* Nothing was left behind by the refusals. */
	assert_int_equal(access(f->path[4], F_OK), -1);
	assert_int_equal(access(f->path[5], F_OK), -1);
	/* A CN without SANs is fine (client certificates). */
	assert_int_equal(pki_issue(f->dir, "broker", NULL, 0, f->path[4], f->path[5]), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_ca, setup, teardown),
		cmocka_unit_test_setup_teardown(test_issue, setup, teardown),
		cmocka_unit_test_setup_teardown(test_issue_bad, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
