// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * PAM transactions for the broker's logins (authpam.h).  Linux-PAM's
 * handles are independent of each other, so logins in several threads may
 * each run their own transaction; nothing of ours is locked meanwhile.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "authpam.h"
#include "log.h"

LOG_SCOPE("broker.pam");

#ifdef SKYLIGHT_HAVE_PAM
#include <security/pam_appl.h>

bool authpam_built(void)
{
	return true;
}

bool authpam_confdir_built(void)
{
#ifdef SKYLIGHT_HAVE_PAM_CONFDIR
	return true;
#else
	return false;
#endif
}

/* Free n replies, wiping what they say (passwords among them). */
static void drop_replies(struct pam_response *r, int n)
{
	int i;

	for (i = 0; r && i < n; i++) {
		if (r[i].resp) {
			explicit_bzero(r[i].resp, strlen(r[i].resp));
			free(r[i].resp);
		}
	}
	free(r);
}

/* A module's message for a log line: bounded, control characters as '?'. */
static void printable(const char *in, char *out, size_t size)
{
	size_t i;

	for (i = 0; in && in[i] && i + 1 < size; i++)
		out[i] = (unsigned char)in[i] < 0x20 || in[i] == 0x7f ? '?' : in[i];
	out[i] = '\0';
}

int authpam_conv(int n, const struct pam_message **msg, struct pam_response **resp,
		 void *appdata)
{
	struct authpam_conv_data *d = appdata;
	char shown[AUTHPAM_MSG_LOG_MAX + 1];
	struct pam_response *r;
	int i;

	if (n <= 0 || n > PAM_MAX_NUM_MSG || !msg || !resp || !d || !d->password)
		return PAM_CONV_ERR;
	r = calloc((size_t)n, sizeof(*r));
	if (!r)
		return PAM_BUF_ERR;
	/* Linux-PAM passes an array of n pointers (not Solaris's pointer to
	 * an array): Linux-PAM's doc/adg, "The conversation function". */
	for (i = 0; i < n; i++) {
		if (!msg[i])
			goto fail;
		printable(msg[i]->msg, shown, sizeof(shown));
		switch (msg[i]->msg_style) {
		case PAM_PROMPT_ECHO_OFF:
			if (++d->prompts > AUTHPAM_PROMPTS_MAX) {
				log_warn("PAM asks for a password more than %d times (\"%s\"): "
					 "refused", AUTHPAM_PROMPTS_MAX, shown);
				goto fail;
			}
			r[i].resp = strndup(d->password, AUTH_PASSWORD_MAX);
			if (!r[i].resp) {
				drop_replies(r, n);
				return PAM_BUF_ERR;
			}
			break;
		case PAM_PROMPT_ECHO_ON:
			/* The user is given to pam_start(); anything else asked
			 * (a one-time code, say) has no answer here. */
			log_warn("PAM asks \"%s\", which a broker login cannot answer", shown);
			goto fail;
		case PAM_ERROR_MSG:
			log_info("PAM says: %s", shown);
			break;
		case PAM_TEXT_INFO:
			log_debug("PAM says: %s", shown);
			break;
		default:
			log_warn("PAM sent a message of unknown style %d", msg[i]->msg_style);
			goto fail;
		}
	}
	*resp = r;
	return PAM_SUCCESS;
fail:
	drop_replies(r, n);
	return PAM_CONV_ERR;
}

/* Refusals PAM gives for who the user is or what they typed. */
static bool refusal(int pr)
{
	switch (pr) {
	case PAM_AUTH_ERR:
	case PAM_USER_UNKNOWN:
	case PAM_MAXTRIES:
	case PAM_CRED_INSUFFICIENT:
	case PAM_PERM_DENIED:
	case PAM_ACCT_EXPIRED:
	case PAM_NEW_AUTHTOK_REQD:
	case PAM_AUTHTOK_EXPIRED:
		return true;
	default:
		return false;
	}
}

int authpam_check(const struct auth_pam *cfg, const char *user, const char *password,
		  const char *rhost)
{
	struct authpam_conv_data d = { .password = password };
	const struct pam_conv conv = { .conv = authpam_conv, .appdata_ptr = &d };
	const void *item = NULL;
	const char *step = "pam_start";
	pam_handle_t *h = NULL;
	size_t plen;
	int pr;

	if (!cfg || !cfg->service || !user || !password)
		return -EINVAL;
	plen = strnlen(password, AUTH_PASSWORD_MAX + 1);
	/* Some stacks take an empty password (pam_unix nullok): never ours. */
	if (!*user || strnlen(user, DB_NAME_MAX + 1) > DB_NAME_MAX || plen == 0 ||
	    plen > AUTH_PASSWORD_MAX)
		return -EINVAL;
	if (cfg->confdir) {
#ifdef SKYLIGHT_HAVE_PAM_CONFDIR
		pr = pam_start_confdir(cfg->service, user, &conv, cfg->confdir, &h);
#else
		return -EOPNOTSUPP;
#endif
	} else {
		pr = pam_start(cfg->service, user, &conv, &h);
	}
	if (pr != PAM_SUCCESS) {
		log_err("PAM service %s: pam_start: %s (is there a %s/%s?)", cfg->service,
			pam_strerror(h, pr), cfg->confdir ? cfg->confdir : "/etc/pam.d",
			cfg->service);
		if (h)
			pam_end(h, pr);
		return -EIO;
	}
	if (rhost && *rhost) {
		step = "PAM_RHOST";
		pr = pam_set_item(h, PAM_RHOST, rhost);
	}
	if (pr == PAM_SUCCESS) {
		step = "pam_authenticate";
		pr = pam_authenticate(h, PAM_DISALLOW_NULL_AUTHTOK);
	}
	if (pr == PAM_SUCCESS) {
		step = "pam_acct_mgmt";
		pr = pam_acct_mgmt(h, PAM_DISALLOW_NULL_AUTHTOK);
	}
	/* The broker's user is the name asked for: a module that maps it to
	 * another account would let one name log in as another. */
	if (pr == PAM_SUCCESS) {
		step = "PAM_USER";
		pr = pam_get_item(h, PAM_USER, &item);
		if (pr == PAM_SUCCESS && (!item || strcmp(item, user))) {
			log_warn("PAM service %s renamed %s: refused", cfg->service, user);
			pr = PAM_PERM_DENIED;
		}
	}
	if (pr == PAM_NEW_AUTHTOK_REQD || pr == PAM_AUTHTOK_EXPIRED)
		log_info("PAM service %s: the password of %s has expired (change it where the "
			 "accounts are kept)", cfg->service, user);
	else if (pr != PAM_SUCCESS && refusal(pr))
		log_debug("PAM service %s: %s refused %s: %s", cfg->service, step, user,
			  pam_strerror(h, pr));
	else if (pr != PAM_SUCCESS)
		log_warn("PAM service %s: %s for %s: %s", cfg->service, step, user,
			 pam_strerror(h, pr));
	/* pam_end() wipes the items (PAM_AUTHTOK among them). */
	pam_end(h, pr);
	if (pr == PAM_SUCCESS)
		return 0;
	return refusal(pr) ? -EACCES : -EIO;
}

/* pam_start only reads the service and loads its modules; nothing is
 * asked of them. */
static int probe_conv(int n, const struct pam_message **msg, struct pam_response **resp,
		      void *appdata)
{
	return PAM_CONV_ERR;
}

int authpam_probe(const struct auth_pam *cfg)
{
	const struct pam_conv conv = { .conv = probe_conv };
	pam_handle_t *h = NULL;
	int pr;

	if (!cfg || !cfg->service)
		return -EINVAL;
	if (cfg->confdir) {
#ifdef SKYLIGHT_HAVE_PAM_CONFDIR
		pr = pam_start_confdir(cfg->service, NULL, &conv, cfg->confdir, &h);
#else
		return -EOPNOTSUPP;
#endif
	} else {
		pr = pam_start(cfg->service, NULL, &conv, &h);
	}
	if (pr != PAM_SUCCESS) {
		log_err("PAM service %s cannot be loaded: %s (is there a %s/%s?)", cfg->service,
			pam_strerror(h, pr), cfg->confdir ? cfg->confdir : "/etc/pam.d",
			cfg->service);
		if (h)
			pam_end(h, pr);
		return -EIO;
	}
	pam_end(h, PAM_SUCCESS);
	return 0;
}

#else /* !SKYLIGHT_HAVE_PAM */

bool authpam_built(void)
{
	return false;
}

bool authpam_confdir_built(void)
{
	return false;
}

int authpam_probe(const struct auth_pam *cfg)
{
	return -EOPNOTSUPP;
}

int authpam_check(const struct auth_pam *cfg, const char *user, const char *password,
		  const char *rhost)
{
	log_err("PAM login of %s: this skybroker is built without PAM", user ? user : "?");
	return -EOPNOTSUPP;
}

#endif
