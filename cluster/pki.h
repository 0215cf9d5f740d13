/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/*
 * The cluster's own certificate authority (OpenSSL): `skyctl cluster init`
 * makes it, and it signs the certificates of the broker and of every host,
 * which authenticate each other with mutual TLS (docs/operator.md).
 * Keys are ECDSA P-256, written mode 0600; certificates are PEM.
 */

#include <stddef.h>

/* Make DIR/ca.crt and DIR/ca.key (CN "Skylight cluster CA <name>", 10 years).
 * -EEXIST if either is already there (never overwritten). */
int pki_ca_init(const char *dir, const char *name);

/*
 * Issue a certificate signed by the CA in ca_dir for cn (2 years), with
 * subjectAltNames: each of sans[0..nsans) is an IP address if it parses as
 * one, else a DNS name.  extendedKeyUsage serverAuth + clientAuth.
 * Writes cert_path and key_path (0600); -EEXIST if either exists.
 */
int pki_issue(const char *ca_dir, const char *cn, const char *const *sans, size_t nsans,
	      const char *cert_path, const char *key_path);
