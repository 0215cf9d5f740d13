/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/*
 * HTTP(S) for the broker and the host agent: a server on libmicrohttpd
 * (GnuTLS; with a client CA it demands and verifies a client certificate,
 * mutual TLS) and a blocking JSON client on libcurl.  docs/api.md has the
 * APIs built on them.
 *
 * Requests come from the network: the server bounds the body
 * (max_body, 413 before the handler runs), header sizes (MHD's own limit)
 * and connections; the handler sees only complete requests.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct json_object;
struct http_server;
struct http_response;

struct http_request {
	const char *method;    /* "GET", "POST", ... */
	const char *path;      /* URL path, percent-decoded by MHD, no query */
	const char *body;      /* NUL-terminated copy; body_len excludes the NUL */
	size_t body_len;
	const char *peer;      /* "ADDR" of the client, for logs and rate limits */
	/* The verified client certificate's subject CN (mutual TLS), else NULL. */
	const char *client_cn;
	void *impl;            /* the server's own */
};

/* Request header / cookie / query argument by name (headers
 * case-insensitively), or NULL.  Borrowed for the handler's duration. */
const char *http_header(const struct http_request *req, const char *name);
const char *http_cookie(const struct http_request *req, const char *name);
const char *http_query(const struct http_request *req, const char *name);

/* Responses: the handler returns one (never NULL for a handled request; the
 * server answers 500 to a NULL).  http_response_new takes body (malloc'd,
 * may be NULL with len 0); _static borrows a body that outlives the server;
 * _json serializes obj (and drops the caller's reference). */
struct http_response *http_response_new(int status, const char *content_type, char *body,
					size_t len);
struct http_response *http_response_static(int status, const char *content_type,
					   const void *body, size_t len);
struct http_response *http_response_json(int status, struct json_object *obj);
/* {"error": message} with status; message is printf-style. */
struct http_response *http_response_error(int status, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Add a header (e.g. Set-Cookie, Location, Content-Disposition); several
 * of one name are allowed.  Returns 0, -ENOMEM, or -EINVAL (and adds
 * nothing) for a name with ':' or a name or value with CR or LF, which
 * would split the response.  The server adds X-Content-Type-Options:
 * nosniff, X-Frame-Options: DENY and, on JSON, Cache-Control: no-store to
 * every response that does not set them itself. */
int http_response_header(struct http_response *resp, const char *name, const char *value);
void http_response_free(struct http_response *resp);

/* Called on one of the server's threads for each complete request;
 * handlers must be thread-safe. */
typedef struct http_response *(*http_handler_fn)(const struct http_request *req, void *data);

struct http_server_config {
	const char *listen;     /* "ADDR:PORT" (PORT 0 = any; http_server_port tells) */
	const char *cert, *key; /* PEM files; both NULL = plain HTTP (tests, loopback) */
	const char *client_ca;  /* PEM: require a client certificate it signed */
	size_t max_body;        /* default 1 MiB */
	unsigned threads;       /* default 4 */
	unsigned max_connections; /* default 256 */
	unsigned timeout_s;     /* idle connection timeout, default 30 */
};

int http_server_start(const struct http_server_config *cfg, http_handler_fn fn, void *data,
		      struct http_server **ret);
uint16_t http_server_port(const struct http_server *srv);
/* Stops accepting, waits for handlers in flight, frees.  Accepts NULL. */
void http_server_stop(struct http_server *srv);

/* --- client --------------------------------------------------------------- */

struct http_client_config {
	const char *ca;          /* PEM CA bundle to verify the server; NULL = system */
	const char *cert, *key;  /* client certificate for mutual TLS, or NULL */
	unsigned timeout_ms;     /* whole request, default 10000 */
	const char *bearer;      /* sent as "Authorization: Bearer ...", or NULL */
};

/*
 * One request: body (may be NULL) is sent as application/json.  On a
 * response of any status, *status is set and, where the reply parsed as a
 * JSON object (or array, e.g. GET /v1/templates), *reply gets it (caller
 * owns; NULL otherwise; reply may be NULL when not wanted).  Returns 0 when
 * a response came, -ECONNREFUSED, -ETIMEDOUT, -EPROTO (TLS/verification
 * failure) or -EIO otherwise.
 * Replies are bounded (4 MiB, else -EMSGSIZE).  Thread-safe.
 */
int http_client_request(const struct http_client_config *cfg, const char *method,
			const char *url, struct json_object *body, long *status,
			struct json_object **reply);
/* The same, handing back the reply's bytes as they came (malloc'd and
 * NUL-terminated, *raw NULL when empty) instead of parsing them. */
int http_client_fetch(const struct http_client_config *cfg, const char *method, const char *url,
		      struct json_object *body, long *status, char **raw, size_t *raw_len);
