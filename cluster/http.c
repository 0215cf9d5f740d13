// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * The HTTPS server of http.h on libmicrohttpd (GnuTLS).
 *
 * MHD calls the access handler several times per request: once when the
 * headers are in (*con_cls still NULL), once per piece of the upload, and a
 * last time with *upload_data_size == 0.  The first call checks the client
 * certificate and Content-Length and may answer at once (403, 413); the
 * pieces are collected into one bounded buffer; the last call runs the
 * handler.  MHD 0.9.75 takes a response only in the first or the last call
 * (MHD_queue_response() checks the connection state), so a chunked upload
 * that overflows is answered 413 when it ends, and one that keeps going far
 * beyond the limit has its connection closed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <json-c/json.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "http.h"
#include "log.h"
#include "util.h"

LOG_SCOPE("cluster.http");

#define DEFAULT_MAX_BODY (1 * MiB)
#define DEFAULT_THREADS 4
#define DEFAULT_MAX_CONNECTIONS 256
#define DEFAULT_TIMEOUT_S 30
/* PEM files we read: certificates, keys and CA bundles are a few KiB. */
#define PEM_MAX (1 * MiB)
#define CN_MAX 256
/* An overflowing chunked upload is drained up to this many bytes beyond
 * max_body so that its client can read the 413; past that it is cut off. */
#define DRAIN_MAX (64 * KiB)

struct header {
	char *name, *value;
};

struct http_response {
	int status;
	char *content_type;
	char *body;
	size_t len;
	bool owned; /* body is ours to free */
	struct header *headers;
	size_t nheaders;
};

struct http_server {
	struct MHD_Daemon *mhd;
	http_handler_fn fn;
	void *data;
	size_t max_body;
	bool tls, verify_client;
	uint16_t port;
	char *cert_pem, *key_pem, *ca_pem;
	size_t key_len;
};

/* Per-request state, *con_cls. */
struct request_ctx {
	char *body;
	size_t len, cap;
	bool refused;     /* a response went out in the first call */
	bool too_large;   /* the body passed max_body; answered 413 at the end */
	size_t drained;
	char *client_cn;
	char peer[INET6_ADDRSTRLEN];
};

/* --- responses ------------------------------------------------------------ */

static struct http_response *response_alloc(int status, const char *content_type)
{
	struct http_response *resp = calloc(1, sizeof(*resp));

	if (!resp)
		return NULL;
	resp->status = status;
	if (content_type && !(resp->content_type = strdup(content_type))) {
		free(resp);
		return NULL;
	}
	return resp;
}

struct http_response *http_response_new(int status, const char *content_type, char *body,
					size_t len)
{
	struct http_response *resp = response_alloc(status, content_type);

	if (!resp) {
		free(body);
		return NULL;
	}
	resp->body = body;
	resp->len = body ? len : 0;
	resp->owned = true;
	return resp;
}

struct http_response *http_response_static(int status, const char *content_type,
					   const void *body, size_t len)
{
	struct http_response *resp = response_alloc(status, content_type);

	if (!resp)
		return NULL;
	resp->body = (char *)body;
	resp->len = body ? len : 0;
	resp->owned = false;
	return resp;
}

struct http_response *http_response_json(int status, struct json_object *obj)
{
	const char *text;
	size_t len;
	char *copy;

	text = json_object_to_json_string_length(obj, JSON_C_TO_STRING_PLAIN |
						 JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	copy = text ? strndup(text, len) : NULL;
	json_object_put(obj);
	if (!copy)
		return NULL;
	return http_response_new(status, "application/json", copy, len);
}

struct http_response *http_response_error(int status, const char *fmt, ...)
{
	struct json_object *obj;
	va_list ap;
	char *msg;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (r < 0)
		return NULL;
	obj = json_object_new_object();
	if (!obj || json_object_object_add(obj, "error", json_object_new_string(msg)) < 0) {
		json_object_put(obj);
		free(msg);
		return NULL;
	}
	free(msg);
	return http_response_json(status, obj);
}

int http_response_header(struct http_response *resp, const char *name, const char *value)
{
	struct header *h;

	/* A header with CR or LF would split the response. */
	if (strpbrk(name, "\r\n:") || strpbrk(value, "\r\n"))
		return -EINVAL;
	h = realloc(resp->headers, (resp->nheaders + 1) * sizeof(*h));
	if (!h)
		return -ENOMEM;
	resp->headers = h;
	h = &resp->headers[resp->nheaders];
	h->name = strdup(name);
	h->value = strdup(value);
	if (!h->name || !h->value) {
		free(h->name);
		free(h->value);
		return -ENOMEM;
	}
	resp->nheaders++;
	return 0;
}

void http_response_free(struct http_response *resp)
{
	if (!resp)
		return;
	for (size_t i = 0; i < resp->nheaders; i++) {
		free(resp->headers[i].name);
		free(resp->headers[i].value);
	}
	free(resp->headers);
	if (resp->owned)
		free(resp->body);
	free(resp->content_type);
	free(resp);
}

static bool response_has(const struct http_response *resp, const char *name)
{
	for (size_t i = 0; i < resp->nheaders; i++)
		if (!strcasecmp(resp->headers[i].name, name))
			return true;
	return false;
}

/* Turn resp into an MHD response and queue it; frees resp. */
static enum MHD_Result queue(struct MHD_Connection *conn, struct http_response *resp,
			     const struct request_ctx *ctx, const char *method, const char *url)
{
	struct MHD_Response *mr;
	enum MHD_Result ret;
	bool json;

	if (!resp) {
		resp = http_response_static(500, "application/json",
					    "{\"error\":\"internal error\"}", 26);
		if (!resp)
			return MHD_NO;
	}
	if (resp->owned) {
		mr = MHD_create_response_from_buffer(resp->len, resp->body, MHD_RESPMEM_MUST_FREE);
		if (mr)
			resp->body = NULL; /* MHD frees it now */
	} else {
		mr = MHD_create_response_from_buffer(resp->len, resp->body, MHD_RESPMEM_PERSISTENT);
	}
	if (!mr) {
		http_response_free(resp);
		return MHD_NO;
	}
	json = resp->content_type && !strncasecmp(resp->content_type, "application/json", 16);
	if (resp->content_type)
		MHD_add_response_header(mr, MHD_HTTP_HEADER_CONTENT_TYPE, resp->content_type);
	for (size_t i = 0; i < resp->nheaders; i++)
		MHD_add_response_header(mr, resp->headers[i].name, resp->headers[i].value);
	/* Defaults the handler may override by setting its own. */
	if (!response_has(resp, "X-Content-Type-Options"))
		MHD_add_response_header(mr, "X-Content-Type-Options", "nosniff");
	if (!response_has(resp, "X-Frame-Options"))
		MHD_add_response_header(mr, "X-Frame-Options", "DENY");
	if (json && !response_has(resp, "Cache-Control"))
		MHD_add_response_header(mr, "Cache-Control", "no-store");
	log_debug("%s %s %s -> %d (%zu bytes)%s%s", ctx->peer, method, url, resp->status,
		  resp->len, ctx->client_cn ? " cn=" : "", ctx->client_cn ? ctx->client_cn : "");
	ret = MHD_queue_response(conn, (unsigned)resp->status, mr);
	MHD_destroy_response(mr);
	http_response_free(resp);
	return ret;
}

/* --- requests --------------------------------------------------------------- */

static struct MHD_Connection *req_conn(const struct http_request *req)
{
	return req->impl;
}

const char *http_header(const struct http_request *req, const char *name)
{
	return MHD_lookup_connection_value(req_conn(req), MHD_HEADER_KIND, name);
}

const char *http_cookie(const struct http_request *req, const char *name)
{
	return MHD_lookup_connection_value(req_conn(req), MHD_COOKIE_KIND, name);
}

const char *http_query(const struct http_request *req, const char *name)
{
	return MHD_lookup_connection_value(req_conn(req), MHD_GET_ARGUMENT_KIND, name);
}

static void peer_text(struct MHD_Connection *conn, char *out, size_t size)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = ci ? ci->client_addr : NULL;

	snprintf(out, size, "?");
	if (!sa)
		return;
	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, out,
			  (socklen_t)size);
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, out,
			  (socklen_t)size);
}

/*
 * Mutual TLS: MHD asks for a client certificate when it has a trust list
 * (GNUTLS_CERT_REQUEST, not REQUIRE), so the handshake completes without
 * one and we decide here.  The certificate must chain to the client CA, be
 * within its validity and allow TLS client authentication.  Returns the
 * subject CN (malloc'd) or NULL with a reason in *why.
 */
static char *verify_client(struct MHD_Connection *conn, const char **why)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
	gnutls_session_t session = ci ? (gnutls_session_t)ci->tls_session : NULL;
	gnutls_typed_vdata_st vdata = {
		.type = GNUTLS_DT_KEY_PURPOSE_OID,
		.data = (unsigned char *)GNUTLS_KP_TLS_WWW_CLIENT,
	};
	const gnutls_datum_t *chain;
	unsigned int status = 0, nchain = 0;
	gnutls_x509_crt_t crt;
	char cn[CN_MAX];
	size_t cn_len = sizeof(cn);
	int r;

	if (!session) {
		*why = "no TLS session";
		return NULL;
	}
	r = gnutls_certificate_verify_peers(session, &vdata, 1, &status);
	if (r == GNUTLS_E_NO_CERTIFICATE_FOUND) {
		*why = "no client certificate";
		return NULL;
	}
	if (r < 0 || status) {
		*why = "client certificate not valid for this cluster";
		return NULL;
	}
	chain = gnutls_certificate_get_peers(session, &nchain);
	if (!chain || !nchain || gnutls_x509_crt_init(&crt) < 0) {
		*why = "no client certificate";
		return NULL;
	}
	r = gnutls_x509_crt_import(crt, &chain[0], GNUTLS_X509_FMT_DER);
	if (r >= 0)
		r = gnutls_x509_crt_get_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, 0, cn,
						  &cn_len);
	gnutls_x509_crt_deinit(crt);
	if (r < 0 || cn_len == 0 || cn_len >= sizeof(cn) || strlen(cn) != cn_len) {
		*why = "client certificate has no usable common name";
		return NULL;
	}
	return strdup(cn);
}

static enum MHD_Result first_call(struct http_server *srv, struct MHD_Connection *conn,
				  struct request_ctx *ctx, const char *method, const char *url)
{
	const char *cl;

	if (srv->verify_client) {
		const char *why = "out of memory";

		ctx->client_cn = verify_client(conn, &why);
		if (!ctx->client_cn) {
			log_info("%s %s %s refused: %s", ctx->peer, method, url, why);
			ctx->refused = true;
			return queue(conn, http_response_error(403, "%s", why), ctx, method, url);
		}
	}
	cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (cl) {
		uint64_t n;

		if (parse_uint(cl, 0, UINT64_MAX, &n) < 0 || n > srv->max_body) {
			log_info("%s %s %s refused: body of %s bytes", ctx->peer, method, url, cl);
			ctx->refused = true;
			return queue(conn,
				     http_response_error(413, "body too large (limit %zu bytes)",
							 srv->max_body),
				     ctx, method, url);
		}
	}
	return MHD_YES;
}

static int append(struct request_ctx *ctx, const char *data, size_t n, size_t max)
{
	size_t want;
	char *p;

	if (n > max - ctx->len)
		return -EFBIG;
	want = ctx->len + n + 1;
	if (want > ctx->cap) {
		size_t cap = MAX(ctx->cap * 2, (size_t)4096);

		cap = MIN(MAX(cap, want), max + 1);
		p = realloc(ctx->body, cap);
		if (!p)
			return -ENOMEM;
		ctx->body = p;
		ctx->cap = cap;
	}
	memcpy(ctx->body + ctx->len, data, n);
	ctx->len += n;
	ctx->body[ctx->len] = '\0';
	return 0;
}

static enum MHD_Result access_cb(void *cls, struct MHD_Connection *conn, const char *url,
				 const char *method, const char *version,
				 const char *upload_data, size_t *upload_data_size, void **con_cls)
{
	struct http_server *srv = cls;
	struct request_ctx *ctx = *con_cls;
	struct http_request req;
	struct http_response *resp;

	if (!ctx) {
		ctx = calloc(1, sizeof(*ctx));
		if (!ctx)
			return MHD_NO;
		*con_cls = ctx;
		peer_text(conn, ctx->peer, sizeof(ctx->peer));
		return first_call(srv, conn, ctx, method, url);
	}
	if (ctx->refused) {
		/* MHD reads no body after an early response; nothing more to do. */
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (*upload_data_size) {
		size_t n = *upload_data_size;

		*upload_data_size = 0;
		if (ctx->too_large) {
			ctx->drained += n;
			return ctx->drained > DRAIN_MAX ? MHD_NO : MHD_YES;
		}
		switch (append(ctx, upload_data, n, srv->max_body)) {
		case 0:
			return MHD_YES;
		case -EFBIG:
			log_info("%s %s %s: body over %zu bytes", ctx->peer, method, url,
				 srv->max_body);
			ctx->too_large = true;
			free(ctx->body);
			ctx->body = NULL;
			ctx->len = ctx->cap = 0;
			return MHD_YES;
		default:
			return MHD_NO;
		}
	}
	if (ctx->too_large)
		return queue(conn, http_response_error(413, "body too large (limit %zu bytes)",
						       srv->max_body),
			     ctx, method, url);

	req = (struct http_request){
		.method = method,
		.path = url,
		.body = ctx->body ? ctx->body : "",
		.body_len = ctx->len,
		.peer = ctx->peer,
		.client_cn = ctx->client_cn,
		.impl = conn,
	};
	resp = srv->fn(&req, srv->data);
	return queue(conn, resp, ctx, method, url);
}

static void completed_cb(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct request_ctx *ctx = *con_cls;

	if (!ctx)
		return;
	free(ctx->body);
	free(ctx->client_cn);
	free(ctx);
	*con_cls = NULL;
}

/* MHD_start_daemon() runs on the caller's thread: what MHD says then is why
 * the start failed, worth a warning; later it is about clients. */
static __thread bool starting;

static void mhd_log(void *cls, const char *fmt, va_list ap) _printf_(2, 0);

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char buf[512];
	size_t n;

	vsnprintf(buf, sizeof(buf), fmt, ap);
	n = strlen(buf);
	while (n && buf[n - 1] == '\n')
		buf[--n] = '\0';
	if (starting)
		log_warn("%s", buf);
	else
		log_debug("mhd: %s", buf);
}

/* --- server ------------------------------------------------------------------ */

static int read_pem(const char *path, char **ret, size_t *len)
{
	size_t n;
	int r = read_file_at(AT_FDCWD, path, 0, PEM_MAX, ret, &n);

	if (r < 0)
		return r;
	if (!n) { /* empty: no PEM at all */
		free(*ret);
		*ret = NULL;
		return -EFBIG;
	}
	if (len)
		*len = n;
	return 0;
}

/* "ADDR:PORT", "[V6]:PORT" or ":PORT" (any IPv4 address). */
static int parse_listen(const char *spec, struct sockaddr_storage *ss, bool *v6)
{
	char host[INET6_ADDRSTRLEN];
	const char *port;
	uint64_t p;
	size_t len;

	if (!spec)
		return -EINVAL;
	if (spec[0] == '[') {
		const char *end = strchr(spec, ']');

		if (!end || end[1] != ':')
			return -EINVAL;
		len = (size_t)(end - spec - 1);
		port = end + 2;
		spec++;
		*v6 = true;
	} else {
		const char *colon = strrchr(spec, ':');

		if (!colon || memchr(spec, ':', (size_t)(colon - spec)))
			return -EINVAL;
		len = (size_t)(colon - spec);
		port = colon + 1;
		*v6 = false;
	}
	if (len >= sizeof(host) || parse_uint(port, 0, 65535, &p) < 0)
		return -EINVAL;
	memcpy(host, spec, len);
	host[len] = '\0';
	memset(ss, 0, sizeof(*ss));
	if (*v6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)p);
		if (inet_pton(AF_INET6, host, &s6->sin6_addr) != 1)
			return -EINVAL;
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)p);
		if (len && inet_pton(AF_INET, host, &s4->sin_addr) != 1)
			return -EINVAL;
		if (!len)
			s4->sin_addr.s_addr = htonl(INADDR_ANY);
	}
	return 0;
}

static int open_listener(const struct sockaddr_storage *ss, bool v6)
{
	socklen_t len = v6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
	int fd, one = 1, r;

	fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (v6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)ss, len) < 0 || listen(fd, 64) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	return fd;
}

static void server_free(struct http_server *srv)
{
	if (!srv)
		return;
	free(srv->cert_pem);
	if (srv->key_pem) {
		explicit_bzero(srv->key_pem, srv->key_len);
		free(srv->key_pem);
	}
	free(srv->ca_pem);
	free(srv);
}

int http_server_start(const struct http_server_config *cfg, http_handler_fn fn, void *data,
		      struct http_server **ret)
{
	struct MHD_OptionItem opts[16];
	struct sockaddr_storage ss;
	struct http_server *srv;
	const union MHD_DaemonInfo *di;
	unsigned flags, n = 0;
	bool v6;
	int r, fd;

	if (!cfg || !fn || !ret)
		return -EINVAL;
	if (!cfg->cert != !cfg->key || (cfg->client_ca && !cfg->cert))
		return -EINVAL;
	r = parse_listen(cfg->listen, &ss, &v6);
	if (r < 0)
		return r;
	srv = calloc(1, sizeof(*srv));
	if (!srv)
		return -ENOMEM;
	srv->fn = fn;
	srv->data = data;
	srv->max_body = cfg->max_body ? cfg->max_body : DEFAULT_MAX_BODY;
	srv->tls = cfg->cert != NULL;
	srv->verify_client = cfg->client_ca != NULL;

	/* The logger first, so that MHD reports even option errors through it. */
	opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)mhd_log, NULL };
	flags = MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG;
	if (v6)
		flags |= MHD_USE_IPv6;
	if (srv->tls) {
		flags |= MHD_USE_TLS;
		r = read_pem(cfg->cert, &srv->cert_pem, NULL);
		if (r >= 0)
			r = read_pem(cfg->key, &srv->key_pem, &srv->key_len);
		if (r >= 0 && cfg->client_ca)
			r = read_pem(cfg->client_ca, &srv->ca_pem, NULL);
		if (r < 0) {
			server_free(srv);
			return r;
		}
		opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_CERT, 0, srv->cert_pem };
		opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_KEY, 0, srv->key_pem };
		if (srv->ca_pem)
			opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_TRUST, 0,
							     srv->ca_pem };
		/* TLS 1.2 and 1.3 only. */
		opts[n++] = (struct MHD_OptionItem){
			MHD_OPTION_HTTPS_PRIORITIES, 0,
			(void *)"NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"
		};
	}
	/* Our own listening socket, so that bind() failures come back as
	 * their errno (MHD only logs them). */
	fd = open_listener(&ss, v6);
	if (fd < 0) {
		server_free(srv);
		return fd;
	}
	opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_LISTEN_SOCKET, fd, NULL };
	opts[n++] = (struct MHD_OptionItem){
		MHD_OPTION_THREAD_POOL_SIZE, cfg->threads ? cfg->threads : DEFAULT_THREADS, NULL
	};
	opts[n++] = (struct MHD_OptionItem){
		MHD_OPTION_CONNECTION_LIMIT,
		cfg->max_connections ? cfg->max_connections : DEFAULT_MAX_CONNECTIONS, NULL
	};
	opts[n++] = (struct MHD_OptionItem){
		MHD_OPTION_CONNECTION_TIMEOUT, cfg->timeout_s ? cfg->timeout_s : DEFAULT_TIMEOUT_S,
		NULL
	};
	opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_NOTIFY_COMPLETED,
					     (intptr_t)completed_cb, NULL };
	opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_END, 0, NULL };

	starting = true;
	srv->mhd = MHD_start_daemon(flags, 0, NULL, NULL, access_cb, srv, MHD_OPTION_ARRAY, opts,
				    MHD_OPTION_END);
	starting = false;
	if (!srv->mhd) {
		/* The socket is bound already, so what is left is TLS material
		 * GnuTLS refused (MHD's log says more) or resources. */
		close(fd);
		server_free(srv);
		return -EINVAL;
	}
	di = MHD_get_daemon_info(srv->mhd, MHD_DAEMON_INFO_BIND_PORT);
	srv->port = di ? di->port : 0;
	*ret = srv;
	return 0;
}

uint16_t http_server_port(const struct http_server *srv)
{
	return srv->port;
}

void http_server_stop(struct http_server *srv)
{
	if (!srv)
		return;
	if (srv->mhd)
		MHD_stop_daemon(srv->mhd);
	server_free(srv);
}
