// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * The blocking JSON client of http.h on libcurl (OpenSSL backend).  One easy
 * handle per request keeps it thread-safe without sharing; the TLS session
 * is not reused, which at heartbeat and job rates costs nothing worth a
 * cache.
 */
#include <curl/curl.h>
#include <errno.h>
#include <json-c/json.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "log.h"
#include "util.h"

LOG_SCOPE("cluster.http-client");

#define REPLY_MAX (4 * MiB)
#define DEFAULT_TIMEOUT_MS 10000

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static CURLcode init_result;

static void global_init(void)
{
	init_result = curl_global_init(CURL_GLOBAL_DEFAULT);
}

struct reply_buf {
	char *data;
	size_t len;
	bool overflow;
};

static size_t write_cb(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct reply_buf *b = userdata;
	size_t n = size * nmemb;
	char *p;

	if (n > REPLY_MAX - b->len) {
		b->overflow = true;
		return 0; /* makes curl fail with CURLE_WRITE_ERROR */
	}
	p = realloc(b->data, b->len + n + 1);
	if (!p)
		return 0;
	memcpy(p + b->len, ptr, n);
	b->data = p;
	b->len += n;
	b->data[b->len] = '\0';
	return n;
}

static int curl_errno(CURLcode c)
{
	switch (c) {
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
		return -ECONNREFUSED;
	case CURLE_OPERATION_TIMEDOUT:
		return -ETIMEDOUT;
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_CRL_BADFILE:
	case CURLE_SSL_ENGINE_NOTFOUND:
	case CURLE_SSL_ENGINE_SETFAILED:
	case CURLE_USE_SSL_FAILED:
		return -EPROTO;
	case CURLE_OUT_OF_MEMORY:
		return -ENOMEM;
	default:
		return -EIO;
	}
}

/* One request; on 0, *status is set and buf holds the reply (the caller
 * frees buf->data). */
static int perform(const struct http_client_config *cfg, const char *method, const char *url,
		   struct json_object *body, long *status, struct reply_buf *buf)
{
	struct curl_slist *hdrs = NULL;
	char *auth = NULL;
	const char *payload = NULL;
	size_t payload_len = 0;
	char errbuf[CURL_ERROR_SIZE] = "";
	CURLcode c;
	CURL *curl;
	long code = 0;
	int r = 0;

	if (!cfg || !method || !url)
		return -EINVAL;
	pthread_once(&init_once, global_init);
	if (init_result != CURLE_OK)
		return -EIO;
	curl = curl_easy_init();
	if (!curl)
		return -ENOMEM;
	if (body) {
		payload = json_object_to_json_string_length(body, JSON_C_TO_STRING_PLAIN,
							    &payload_len);
		if (!payload) {
			r = -ENOMEM;
			goto out;
		}
	}
	hdrs = curl_slist_append(hdrs, "Accept: application/json");
	if (hdrs && body)
		hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
	/* No "Expect: 100-continue" round trip for small bodies. */
	if (hdrs)
		hdrs = curl_slist_append(hdrs, "Expect:");
	if (hdrs && cfg->bearer) {
		struct curl_slist *h;

		if (asprintf(&auth, "Authorization: Bearer %s", cfg->bearer) < 0) {
			auth = NULL;
			r = -ENOMEM;
			goto out;
		}
		h = curl_slist_append(hdrs, auth);
		if (!h) {
			r = -ENOMEM;
			goto out;
		}
		hdrs = h;
	}
	if (!hdrs) {
		r = -ENOMEM;
		goto out;
	}

	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS,
			 (long)(cfg->timeout_ms ? cfg->timeout_ms : DEFAULT_TIMEOUT_MS));
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, buf);
	curl_easy_setopt(curl, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)REPLY_MAX);
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(curl, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	if (cfg->ca)
		curl_easy_setopt(curl, CURLOPT_CAINFO, cfg->ca);
	if (cfg->cert)
		curl_easy_setopt(curl, CURLOPT_SSLCERT, cfg->cert);
	if (cfg->key)
		curl_easy_setopt(curl, CURLOPT_SSLKEY, cfg->key);
	if (body) {
		curl_easy_setopt(curl, CURLOPT_POSTFIELDS, payload);
		curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)payload_len);
	} else if (!strcmp(method, "HEAD")) {
		curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
	} else if (strcmp(method, "GET") && strcmp(method, "DELETE")) {
		/* POST /start and the like: an explicit empty body
		 * (Content-Length: 0), as HTTP/1.1 servers expect. */
		curl_easy_setopt(curl, CURLOPT_POSTFIELDS, "");
		curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0);
	}

	c = curl_easy_perform(curl);
	if (buf->overflow || c == CURLE_FILESIZE_EXCEEDED) {
		r = -EMSGSIZE;
		goto out;
	}
	if (c != CURLE_OK) {
		r = curl_errno(c);
		log_debug("%s %s: %s", method, url, errbuf[0] ? errbuf : curl_easy_strerror(c));
		goto out;
	}
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
	if (status)
		*status = code;
out:
	curl_slist_free_all(hdrs);
	if (auth) {
		explicit_bzero(auth, strlen(auth));
		free(auth);
	}
	curl_easy_cleanup(curl);
	return r;
}

int http_client_fetch(const struct http_client_config *cfg, const char *method, const char *url,
		      struct json_object *body, long *status, char **raw, size_t *raw_len)
{
	struct reply_buf buf = { 0 };
	int r = perform(cfg, method, url, body, status, &buf);

	if (r < 0) {
		free(buf.data);
		buf.data = NULL;
		buf.len = 0;
	}
	*raw = buf.data;
	*raw_len = buf.len;
	return r;
}

int http_client_request(const struct http_client_config *cfg, const char *method,
			const char *url, struct json_object *body, long *status,
			struct json_object **reply)
{
	struct reply_buf buf = { 0 };
	int r;

	if (reply)
		*reply = NULL;
	r = perform(cfg, method, url, body, status, &buf);
	if (r == 0 && reply && buf.len) {
		struct json_tokener *tok = json_tokener_new();
		struct json_object *obj = NULL;

		if (!tok) {
			r = -ENOMEM;
			goto out;
		}
		obj = json_tokener_parse_ex(tok, buf.data, (int)buf.len);
		/* Only a complete object or array with nothing but blanks after it. */
		if (obj && json_tokener_get_error(tok) == json_tokener_success &&
		    (json_object_is_type(obj, json_type_object) ||
		     json_object_is_type(obj, json_type_array)) &&
		    strspn(buf.data + json_tokener_get_parse_end(tok), " \t\r\n") ==
			    buf.len - json_tokener_get_parse_end(tok))
			*reply = obj;
		else
			json_object_put(obj);
		json_tokener_free(tok);
	}
out:
	free(buf.data);
	return r;
}
