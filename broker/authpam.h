/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/*
 * PAM for the broker's logins (auth_login(), docs/broker.md "PAM"): one
 * transaction per login, in the caller's thread and under no lock of ours
 * (modules may be slow): pam_start() or pam_start_confdir(), PAM_RHOST,
 * pam_authenticate(), pam_acct_mgmt(), pam_end().  The conversation
 * answers password prompts (PAM_PROMPT_ECHO_OFF) with the password, at
 * most AUTHPAM_PROMPTS_MAX times, and nothing else.  Built with libpam
 * only (SKYLIGHT_HAVE_PAM); without it authpam_check() says -EOPNOTSUPP.
 */

#include <stdbool.h>

#include "auth.h"

/* A module asking for more than this (a loop, or a second factor we
 * cannot answer) gets a conversation error. */
#define AUTHPAM_PROMPTS_MAX 3
/* Module messages are logged up to this many bytes. */
#define AUTHPAM_MSG_LOG_MAX 200

/* Whether this skybroker was built with PAM, and with pam_start_confdir()
 * (Linux-PAM 1.4 and later). */
bool authpam_built(void);
bool authpam_confdir_built(void);

/*
 * Ask PAM service cfg->service (in cfg->confdir when set) whether user may
 * log in with password from rhost (may be NULL): 0 yes, -EACCES no (wrong
 * password, unknown user, account refused or expired), -EIO PAM itself
 * failed (no such service file, a module's error: logged), -EINVAL a
 * password or name out of bounds, -EOPNOTSUPP not built in.  PAM must not
 * rename the user: a module that maps the name to another is refused.
 */
int authpam_check(const struct auth_pam *cfg, const char *user, const char *password,
		  const char *rhost);

/* Whether cfg's service loads (pam_start, pam_end; no module runs): 0,
 * -EIO (logged), -EOPNOTSUPP.  skybroker --pam checks this at start. */
int authpam_probe(const struct auth_pam *cfg);

#ifdef SKYLIGHT_HAVE_PAM
struct pam_message;
struct pam_response;

/* The conversation's state (the appdata_ptr). */
struct authpam_conv_data {
	const char *password;
	unsigned prompts; /* password prompts answered so far */
};

/* The conversation function (exposed for tests/unit/broker/test_pam.c):
 * PAM_SUCCESS with *resp (one per message, the caller's to free), or
 * PAM_CONV_ERR / PAM_BUF_ERR with nothing allocated. */
int authpam_conv(int n, const struct pam_message **msg, struct pam_response **resp,
		 void *appdata);
#endif
