/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* The web port's routes: /api/ goes to the REST API (api.c), everything
 * else to the pages (webroutes.c, with web.h). */

#include "http.h"

struct broker;

/* GET /, /enroll, /desktops, /admin, /static/... */
struct http_response *webroutes_handle(struct broker *b, const struct http_request *req);
/* The web server's handler (data: the struct broker). */
struct http_response *broker_web_handle(const struct http_request *req, void *data);
