// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * cluster/http.c and http-client.c against each other on 127.0.0.1, with
 * certificates from cluster/pki.c in a temporary directory: plain and TLS
 * round trips, mutual TLS (right CA, no certificate, another CA), body
 * limits, and the header/cookie/query lookups over a raw socket.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <json-c/json.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cmocka.h>

#include "http.h"
#include "pki.h"

static char tmp[64];
static char ca_dir[96], other_dir[96];
static char srv_crt[128], srv_key[128], cli_crt[128], cli_key[128];
static char bad_crt[128], bad_key[128], ca_crt[128], other_ca_crt[128];
static atomic_int calls;

static const char *const files_to_remove[] = {
	ca_dir, other_dir,
};

static int group_setup(void **state)
{
	const char *sans[] = { "127.0.0.1", "::1", "localhost" };

	snprintf(tmp, sizeof(tmp), "/tmp/skytest-http-XXXXXX");
	if (!mkdtemp(tmp))
		return -1;
	snprintf(ca_dir, sizeof(ca_dir), "%s/ca", tmp);
	snprintf(other_dir, sizeof(other_dir), "%s/other", tmp);
	snprintf(ca_crt, sizeof(ca_crt), "%s/ca.crt", ca_dir);
	snprintf(other_ca_crt, sizeof(other_ca_crt), "%s/ca.crt", other_dir);
	snprintf(srv_crt, sizeof(srv_crt), "%s/srv.crt", tmp);
	snprintf(srv_key, sizeof(srv_key), "%s/srv.key", tmp);
	snprintf(cli_crt, sizeof(cli_crt), "%s/cli.crt", tmp);
	snprintf(cli_key, sizeof(cli_key), "%s/cli.key", tmp);
	snprintf(bad_crt, sizeof(bad_crt), "%s/bad.crt", tmp);
	snprintf(bad_key, sizeof(bad_key), "%s/bad.key", tmp);
	if (pki_ca_init(ca_dir, "test") < 0 || pki_ca_init(other_dir, "other") < 0 ||
	    pki_issue(ca_dir, "server", sans, 3, srv_crt, srv_key) < 0 ||
	    pki_issue(ca_dir, "broker", NULL, 0, cli_crt, cli_key) < 0 ||
	    pki_issue(other_dir, "broker", NULL, 0, bad_crt, bad_key) < 0)
		return -1;
	return 0;
}

static int group_teardown(void **state)
{
	const char *files[] = { srv_crt, srv_key, cli_crt, cli_key, bad_crt, bad_key };
	char p[160];

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		unlink(files[i]);
	for (size_t i = 0; i < sizeof(files_to_remove) / sizeof(files_to_remove[0]); i++) {
		snprintf(p, sizeof(p), "%s/ca.crt", files_to_remove[i]);
		unlink(p);
		snprintf(p, sizeof(p), "%s/ca.key", files_to_remove[i]);
		unlink(p);
		rmdir(files_to_remove[i]);
	}
	rmdir(tmp);
	return 0;
}

static void add_str(struct json_object *o, const char *k, const char *v)
{
	json_object_object_add(o, k, v ? json_object_new_string(v) : NULL);
}

/* Echoes what it saw; /null answers NULL (the server must make it a 500). */
static struct http_response *handler(const struct http_request *req, void *data)
{
	struct json_object *o;
	struct http_response *resp;

	atomic_fetch_add(&calls, 1);
	if (!strcmp(req->path, "/null"))
		return NULL;
	if (!strcmp(req->path, "/text")) {
		resp = http_response_static(200, "text/plain", "hi", 2);
		http_response_header(resp, "Set-Cookie", "a=1");
		http_response_header(resp, "Set-Cookie", "b=2");
		return resp;
	}
	if (!strcmp(req->path, "/error"))
		return http_response_error(409, "VM %s exists", "x");
	o = json_object_new_object();
	add_str(o, "method", req->method);
	add_str(o, "path", req->path);
	add_str(o, "body", req->body);
	json_object_object_add(o, "body_len", json_object_new_int64((int64_t)req->body_len));
	add_str(o, "cn", req->client_cn);
	add_str(o, "peer", req->peer);
	add_str(o, "q", http_query(req, "q"));
	add_str(o, "hdr", http_header(req, "x-test"));
	add_str(o, "cookie", http_cookie(req, "sess"));
	return http_response_json(201, o);
}

static struct http_server *start(const char *listen, bool tls, bool mtls, size_t max_body)
{
	struct http_server_config cfg = {
		.listen = listen,
		.cert = tls ? srv_crt : NULL,
		.key = tls ? srv_key : NULL,
		.client_ca = mtls ? ca_crt : NULL,
		.max_body = max_body,
		.threads = 2,
	};
	struct http_server *srv = NULL;

	assert_int_equal(http_server_start(&cfg, handler, NULL, &srv), 0);
	assert_non_null(srv);
	assert_true(http_server_port(srv) != 0);
	return srv;
}

static const char *get_str(struct json_object *o, const char *k)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, k, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

/* A whole request over a raw socket to 127.0.0.1:port; the answer as text. */
static char *raw(uint16_t port, const char *request, size_t len)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	struct timeval tv = { .tv_sec = 5 };
	size_t got = 0, cap = 65536;
	char *buf = malloc(cap);
	int fd;

	assert_non_null(buf);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	/* The server may answer and close before taking everything. */
	(void)!send(fd, request, len, MSG_NOSIGNAL);
	for (;;) {
		ssize_t n = recv(fd, buf + got, cap - 1 - got, 0);

		if (n <= 0)
			break;
		got += (size_t)n;
		if (got == cap - 1)
			break;
	}
	buf[got] = '\0';
	close(fd);
	return buf;
}

static void test_plain_roundtrip(void **state)
{
	struct http_server *srv = start("127.0.0.1:0", false, false, 0);
	struct http_client_config cc = { 0 };
	struct json_object *body = json_object_new_object(), *reply = NULL;
	char url[128];
	long status = 0;

	json_object_object_add(body, "name", json_object_new_string("vm1"));
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/v1/vms/vm1?q=a%%20b",
		 http_server_port(srv));
	assert_int_equal(http_client_request(&cc, "PUT", url, body, &status, &reply), 0);
	assert_int_equal(status, 201);
	assert_non_null(reply);
	assert_string_equal(get_str(reply, "method"), "PUT");
	assert_string_equal(get_str(reply, "path"), "/v1/vms/vm1");
	assert_string_equal(get_str(reply, "body"), "{\"name\":\"vm1\"}");
	assert_string_equal(get_str(reply, "q"), "a b");
	assert_string_equal(get_str(reply, "peer"), "127.0.0.1");
	assert_null(get_str(reply, "cn"));
	json_object_put(reply);
	json_object_put(body);

	/* A POST without a body (POST /v1/vms/x/start). */
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/v1/vms/vm1/start", http_server_port(srv));
	assert_int_equal(http_client_request(&cc, "POST", url, NULL, &status, &reply), 0);
	assert_int_equal(status, 201);
	assert_string_equal(get_str(reply, "method"), "POST");
	assert_string_equal(get_str(reply, "body"), "");
	json_object_put(reply);

	/* Errors are {"error": ...}. */
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/error", http_server_port(srv));
	assert_int_equal(http_client_request(&cc, "GET", url, NULL, &status, &reply), 0);
	assert_int_equal(status, 409);
	assert_string_equal(get_str(reply, "error"), "VM x exists");
	json_object_put(reply);

	/* A handler that answers nothing is a 500, not a hang or a crash. */
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/null", http_server_port(srv));
	assert_int_equal(http_client_request(&cc, "GET", url, NULL, &status, &reply), 0);
	assert_int_equal(status, 500);
	assert_non_null(reply);
	json_object_put(reply);

	/* A reply that is not JSON: status, no reply object. */
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/text", http_server_port(srv));
	assert_int_equal(http_client_request(&cc, "GET", url, NULL, &status, &reply), 0);
	assert_int_equal(status, 200);
	assert_null(reply);
	http_server_stop(srv);
}

static void test_raw_lookups(void **state)
{
	struct http_server *srv = start("127.0.0.1:0", false, false, 0);
	static const char req[] = "GET /x?q=1&r=2 HTTP/1.1\r\nHost: t\r\nX-Test: hello\r\n"
				  "Cookie: other=1; sess=abc\r\nConnection: close\r\n\r\n";
	char *out;

	out = raw(http_server_port(srv), req, sizeof(req) - 1);
	assert_non_null(strstr(out, "HTTP/1.1 201"));
	assert_non_null(strstr(out, "\"q\":\"1\""));
	assert_non_null(strstr(out, "\"hdr\":\"hello\""));
	assert_non_null(strstr(out, "\"cookie\":\"abc\""));
	/* Security headers on every response, no-store on JSON. */
	assert_non_null(strcasestr(out, "X-Content-Type-Options: nosniff"));
	assert_non_null(strcasestr(out, "Cache-Control: no-store"));
	free(out);

	out = raw(http_server_port(srv),
		  "GET /text HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", 50);
	assert_non_null(strstr(out, "HTTP/1.1 200"));
	assert_non_null(strcasestr(out, "X-Content-Type-Options: nosniff"));
	assert_null(strcasestr(out, "Cache-Control: no-store"));
	assert_non_null(strstr(out, "Set-Cookie: a=1"));
	assert_non_null(strstr(out, "Set-Cookie: b=2"));
	free(out);
	http_server_stop(srv);
}

static void test_body_limit(void **state)
{
	struct http_server *srv = start("127.0.0.1:0", false, false, 1000);
	struct http_client_config cc = { 0 };
	struct json_object *body = json_object_new_object(), *reply = NULL;
	char big[2000], url[128], req[4096];
	long status = 0;
	char *out;
	int n;

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	json_object_object_add(body, "pad", json_object_new_string(big));
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/v1/x", http_server_port(srv));
	atomic_store(&calls, 0);
	assert_int_equal(http_client_request(&cc, "POST", url, body, &status, &reply), 0);
	assert_int_equal(status, 413);
	assert_non_null(get_str(reply, "error"));
	assert_int_equal(atomic_load(&calls), 0);
	json_object_put(reply);
	json_object_put(body);

	/* Exactly the limit passes. */
	n = snprintf(req, sizeof(req),
		     "POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: 1000\r\n"
		     "Connection: close\r\n\r\n%.1000s", big);
	out = raw(http_server_port(srv), req, (size_t)n);
	assert_non_null(strstr(out, "HTTP/1.1 201"));
	assert_non_null(strstr(out, "\"body_len\":1000"));
	free(out);
	assert_int_equal(atomic_load(&calls), 1);

	/* Chunked, so no Content-Length to refuse up front: 413 at its end. */
	n = snprintf(req, sizeof(req),
		     "POST /x HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n"
		     "Connection: close\r\n\r\n"
		     "320\r\n%.800s\r\n320\r\n%.800s\r\n0\r\n\r\n", big, big);
	out = raw(http_server_port(srv), req, (size_t)n);
	assert_non_null(strstr(out, "HTTP/1.1 413"));
	free(out);
	assert_int_equal(atomic_load(&calls), 1);
	http_server_stop(srv);
}

static void test_tls(void **state)
{
	/* Every address, so that 127.0.0.2 reaches it too. */
	struct http_server *srv = start("0.0.0.0:0", true, false, 0);
	struct http_client_config good = { .ca = ca_crt };
	struct http_client_config wrong = { .ca = other_ca_crt };
	struct json_object *reply = NULL;
	char url[128];
	long status = 0;

	snprintf(url, sizeof(url), "https://127.0.0.1:%u/v1/host", http_server_port(srv));
	assert_int_equal(http_client_request(&good, "GET", url, NULL, &status, &reply), 0);
	assert_int_equal(status, 201);
	assert_null(get_str(reply, "cn")); /* no client CA: no client identity */
	json_object_put(reply);
	/* The client refuses a server its CA did not sign. */
	status = 0;
	assert_int_equal(http_client_request(&wrong, "GET", url, NULL, &status, &reply), -EPROTO);
	assert_int_equal(status, 0);
	assert_null(reply);
	/* Host name checked: the certificate has no 127.0.0.2. */
	snprintf(url, sizeof(url), "https://127.0.0.2:%u/v1/host", http_server_port(srv));
	assert_int_equal(http_client_request(&good, "GET", url, NULL, &status, NULL), -EPROTO);
	http_server_stop(srv);
}

static void test_mtls(void **state)
{
	struct http_server *srv = start("127.0.0.1:0", true, true, 0);
	struct http_client_config with = { .ca = ca_crt, .cert = cli_crt, .key = cli_key };
	struct http_client_config without = { .ca = ca_crt };
	struct http_client_config foreign = { .ca = ca_crt, .cert = bad_crt, .key = bad_key };
	struct json_object *body = json_object_new_object(), *reply = NULL;
	char url[128];
	long status = 0;
	int r;

	json_object_object_add(body, "a", json_object_new_int(1));
	snprintf(url, sizeof(url), "https://127.0.0.1:%u/v1/tokens", http_server_port(srv));
	assert_int_equal(http_client_request(&with, "POST", url, body, &status, &reply), 0);
	assert_int_equal(status, 201);
	assert_string_equal(get_str(reply, "cn"), "broker");
	assert_string_equal(get_str(reply, "body"), "{\"a\":1}");
	json_object_put(reply);

	atomic_store(&calls, 0);
	assert_int_equal(http_client_request(&without, "POST", url, body, &status, &reply), 0);
	assert_int_equal(status, 403);
	json_object_put(reply);
	/* Same CN, other CA: refused in the handshake or with 403, never served. */
	status = 0;
	r = http_client_request(&foreign, "POST", url, body, &status, &reply);
	assert_true(r == -EPROTO || (r == 0 && status == 403));
	json_object_put(reply);
	assert_int_equal(atomic_load(&calls), 0);
	json_object_put(body);
	http_server_stop(srv);
}

static void test_listen(void **state)
{
	struct http_server_config cfg = { .listen = "127.0.0.1:0" };
	struct http_server *a = NULL, *b = NULL;
	char spec[64];

	assert_int_equal(http_server_start(&cfg, handler, NULL, &a), 0);
	snprintf(spec, sizeof(spec), "127.0.0.1:%u", http_server_port(a));
	cfg.listen = spec;
	assert_int_equal(http_server_start(&cfg, handler, NULL, &b), -EADDRINUSE);
	assert_null(b);
	http_server_stop(a);

	const char *bad[] = { "127.0.0.1", "127.0.0.1:", "127.0.0.1:65536", "1.2.3:80",
			      "[::1:80", "::1:80", "host:80", "127.0.0.1:-1" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cfg.listen = bad[i];
		assert_int_equal(http_server_start(&cfg, handler, NULL, &b), -EINVAL);
	}
	/* IPv6 where the machine has it. */
	cfg.listen = "[::1]:0";
	if (http_server_start(&cfg, handler, NULL, &b) == 0) {
		assert_true(http_server_port(b) != 0);
		http_server_stop(b);
	}
	/* Bad TLS material. */
	cfg.listen = "127.0.0.1:0";
	cfg.cert = srv_crt;
	cfg.key = cli_crt; /* not a key */
	assert_true(http_server_start(&cfg, handler, NULL, &b) < 0);
	cfg.key = "/nonexistent/key";
	assert_int_equal(http_server_start(&cfg, handler, NULL, &b), -ENOENT);
	http_server_stop(NULL);
}

static void test_response_header(void **state)
{
	struct http_response *r = http_response_new(200, "text/plain", NULL, 0);

	assert_non_null(r);
	assert_int_equal(http_response_header(r, "Location", "/a"), 0);
	/* Nothing that would split the response. */
	assert_int_equal(http_response_header(r, "Location", "/a\r\nSet-Cookie: x=1"), -EINVAL);
	assert_int_equal(http_response_header(r, "X-A\nB", "v"), -EINVAL);
	assert_int_equal(http_response_header(r, "X-A: b", "v"), -EINVAL);
	http_response_free(r);
	http_response_free(NULL);
}

static void test_client_errors(void **state)
{
	struct http_client_config cc = { .timeout_ms = 2000 };
	struct http_server *srv = start("127.0.0.1:0", false, false, 0);
	char url[128];
	uint16_t port = http_server_port(srv);
	long status = 0;

	http_server_stop(srv);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/", port);
	assert_int_equal(http_client_request(&cc, "GET", url, NULL, &status, NULL), -ECONNREFUSED);
	assert_int_equal(http_client_request(&cc, "GET", "file:///etc/passwd", NULL, &status,
					     NULL), -EIO);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_roundtrip),
		cmocka_unit_test(test_raw_lookups),
		cmocka_unit_test(test_body_limit),
		cmocka_unit_test(test_tls),
		cmocka_unit_test(test_mtls),
		cmocka_unit_test(test_listen),
		cmocka_unit_test(test_response_header),
		cmocka_unit_test(test_client_errors),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
