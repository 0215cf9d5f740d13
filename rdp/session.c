// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * One RDP session per worker process (session.h): the FreeRDP peer and
 * its callbacks, logon (NLA through the NT hash, TLS through the
 * password, or an auto-reconnect cookie), the VM's display socket, input
 * and pointer, and the loop that paces frames out.
 *
 * Nothing about the VM is touched before the client has logged on: the
 * display socket (which has a few viewer slots only) is attached in the
 * Capabilities callback, after NLA or the Client Info PDU's password.
 */
/* Before FreeRDP's headers: theirs define MIN/MAX only if still unset. */
#include "util.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <freerdp/channels/channels.h>
#include <freerdp/channels/wtsvc.h>
#include <freerdp/error.h>
#include <freerdp/freerdp.h>
#include <freerdp/session.h>
#include <openssl/crypto.h>
#include <winpr/ntlm.h>
#include <winpr/ssl.h>
#include <winpr/string.h>
#include <winpr/synch.h>
#include <winpr/wtsapi.h>

#include "log.h"
#include "session.h"
#include "tokens.h"
#include "users.h"

LOG_SCOPE("rdp.session");

/* A client must be active this soon after connecting (slow handshakes
 * hold a session slot). */
#define HANDSHAKE_NS (30 * 1000000000ull)
/* How long an active client may take to offer RDPGFX before it gets
 * RemoteFX surface bits. */
#define GFX_WAIT_NS (3 * 1000000000ull)
/* Resolution requests go to the guest at most this often (a client being
 * resized sends a layout per step). */
#define RESIZE_GAP_NS (300 * 1000000ull)
/* The guest's pointer position is echoed to the client only when the
 * client has not moved the mouse this recently (else the guest's lagging
 * position would yank the client's pointer back). */
#define POINTER_QUIET_NS (500 * 1000000ull)
#define DISPLAY_CONNECT_MS 5000
/* rcc's encoders take surfaces up to this size. */
#define MAX_DIM 4096u

static const uint8_t zero_client_random[ARC_CLIENT_RANDOM_LEN];

void session_wake(struct session *s)
{
	uint64_t one = 1;

	if (write(s->wake_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_debug("wake: %s", strerror(errno));
}

/* Tell the client why instead of just closing: it shows the reason
 * (xfreerdp also exits with a status naming it). */
static void send_errinfo(struct session *s, UINT32 errinfo)
{
	if (s->ctx.settings->SupportErrorInfoPdu) {
		freerdp_set_error_info(s->ctx.rdp, errinfo);
		freerdp_send_error_info(s->ctx.rdp);
	}
}

static void refuse(struct session *s, UINT32 errinfo, const char *why)
{
	log_warn("%s: connection refused: %s", s->host, why);
	send_errinfo(s, errinfo);
}

/* --- logon ---------------------------------------------------------------- */

static char *utf16_to_utf8(const WCHAR *s, UINT32 len)
{
	char *out = NULL;

	if (!s || !len)
		return strdup("");
	if (ConvertFromUnicode(CP_UTF8, 0, s, (int)len, &out, 0, NULL, NULL) <= 0)
		return NULL;
	return out;
}

/* The session's VM: vm (a one-time token's or a cookie's) if given, else
 * --vm, else none (the logon is refused). */
static void set_vm(struct session *s, const char *vm)
{
	if (!vm || !*vm)
		vm = s->cfg->vm ? s->cfg->vm : "";
	snprintf(s->vm, sizeof(s->vm), "%s", vm);
}

/* Why a one-time token was not taken, for the log (never the token). */
static const char *token_error(int r)
{
	switch (r) {
	case -ENOENT: return "no one-time token for them: used already, or never issued";
	case -ESTALE: return "their one-time token had expired";
	case -EACCES: return "not their one-time token";
	case -EBADMSG: return "their one-time token's file is damaged";
	default: return strerror(-r);
	}
}

/*
 * NLA with a one-time token: the NT hash of the token outstanding for
 * user, else of the token an auto-reconnect cookie of user remembers (a
 * client reconnecting after a drop does NLA again with its token, taken by
 * then).  -ENOENT for neither: the user store decides.
 */
static int token_nt_hash(struct session *s, const char *user, uint8_t nt[16])
{
	int r;

	if (!s->cfg->tokens)
		return -ENOENT;
	r = tokens_nt_hash(s->cfg->tokens, user, nt);
	if (r == 0) {
		s->nla_token = true;
		return 0;
	}
	if (r != -ENOENT && r != -EINVAL)
		log_warn("%s: NLA: %s: %s", s->host, user, token_error(r));
	if (arc_find_nt(s->cfg->arc_dir, user, nt) == 0) {
		s->nla_arc = true;
		return 0;
	}
	return -ENOENT;
}

/* NLA from the user store: the user's NT hash. */
static int store_nt_hash(struct session *s, const char *user, uint8_t nt[16])
{
	struct rdp_users *users = NULL;
	int r;

	r = rdp_users_open(s->cfg->users, false, &users);
	if (r == -ENOENT && s->cfg->tokens) {
		log_warn("%s: NLA logon refused for %s: no one-time token for them and no user "
			 "store", s->host, user);
		return r;
	}
	if (r < 0)
		return log_errno(LOG_ERR, r, "%s: NLA: cannot open the user store %s", s->host,
				 s->cfg->users);
	r = rdp_users_nt_hash(users, user, nt);
	rdp_users_close(users);
	if (r == -EPERM) {
		log_warn("%s: NLA logon refused for %s: the user has no NT hash (--no-nla)",
			 s->host, user);
		return r;
	}
	if (r < 0) {
		/* -ENOENT reads like a wrong password on purpose. */
		log_warn("%s: NLA logon refused for %s: no such user%s", s->host, user,
			 s->cfg->tokens ? " and no one-time token for them" : "");
		return r;
	}
	return 0;
}

/*
 * NLA (CredSSP/NTLM in WinPR): WinPR asks for the NTLMv2 hash of the user
 * named in the AUTHENTICATE message; we make it from an NT hash: a
 * one-time token's (--tokens), else the user store's.  Nonzero means
 * "here it is".  Whether the client knew the password is decided by WinPR
 * after this returns.
 */
static SECURITY_STATUS on_ntlm_hash(void *client, const SEC_WINNT_AUTH_IDENTITY *id,
				    const SecBuffer *proof, const BYTE *randkey, const BYTE *mic,
				    const SecBuffer *micvalue, BYTE *hash)
{
	freerdp_peer *peer = client;
	struct session *s = (struct session *)peer->context;
	uint8_t nt[16];
	char *user;
	int r;

	(void)proof, (void)randkey, (void)mic, (void)micvalue;
	user = utf16_to_utf8(id->User, id->UserLength);
	if (!user)
		return 0;
	if (strlen(user) > ARC_USER_MAX) {
		log_warn("%s: NLA logon refused: user name too long", s->host);
		goto fail;
	}
	s->nla_token = s->nla_arc = false;
	r = token_nt_hash(s, user, nt);
	if (r == 0)
		memcpy(s->nla_nt, nt, sizeof(nt));
	else if (store_nt_hash(s, user, nt) < 0)
		goto fail;
	if (!NTOWFv2FromHashW(nt, (LPWSTR)id->User, id->UserLength * 2, (LPWSTR)id->Domain,
			      id->DomainLength * 2, hash)) {
		OPENSSL_cleanse(nt, sizeof(nt));
		goto fail;
	}
	OPENSSL_cleanse(nt, sizeof(nt));
	snprintf(s->nla_user, sizeof(s->nla_user), "%s", user);
	free(user);
	return 1;
fail:
	free(user);
	return 0;
}

static BOOL on_logon(freerdp_peer *peer, SEC_WINNT_AUTH_IDENTITY *identity, BOOL automatic)
{
	struct session *s = (struct session *)peer->context;
	struct token_info info;
	int r;

	(void)identity;
	/* automatic: NLA succeeded.  The user is the one whose hash WinPR
	 * verified, not whatever the delegated credentials claim. */
	if (!automatic || !s->nla_user[0])
		return TRUE;
	if (s->nla_token) {
		/* The client proved it knows the token: now take it (once
		 * only: a racing logon with the same token gets nothing). */
		r = tokens_take_nt(s->cfg->tokens, s->nla_user, s->nla_nt, &info);
		if (r < 0) {
			log_warn("%s: NLA logon refused for %s: %s", s->host, s->nla_user,
				 token_error(r));
			s->logon_logged = true;
			return TRUE;
		}
		snprintf(s->user, sizeof(s->user), "%s", s->nla_user);
		set_vm(s, info.vm);
		s->token_nt = true;
		s->authenticated = true;
		log_info("%s: %s authenticated by one-time token for VM %s (NLA)", s->host, s->user,
			 s->vm);
		return TRUE;
	}
	if (s->nla_arc) {
		/* Decided by the cookie in the Client Info PDU (on_capabilities). */
		log_debug("%s: NLA for %s with a reconnect cookie's token", s->host, s->nla_user);
		return TRUE;
	}
	snprintf(s->user, sizeof(s->user), "%s", s->nla_user);
	set_vm(s, NULL);
	s->authenticated = true;
	log_info("%s: %s authenticated by NLA", s->host, s->user);
	return TRUE;
}

static bool try_reconnect_cookie(struct session *s, const char *user, struct arc_cookie *ret)
{
	const ARC_CS_PRIVATE_PACKET *ck = s->ctx.settings->ClientAutoReconnectCookie;
	struct arc_cookie c;
	int r;

	if (!ck || ck->cbLen != 28)
		return false;
	r = arc_take(s->cfg->arc_dir, ck->logonId, &c);
	if (r < 0) {
		log_info("%s: auto-reconnect cookie %08" PRIx32 " not accepted: %s", s->host,
			 ck->logonId, r == -ESTALE ? "expired" : "unknown");
		return false;
	}
	/* Under TLS and NLA the client random is 32 zero bytes
	 * (MS-RDPBCGR 5.5). */
	if (!arc_check(c.random, zero_client_random, ck->securityVerifier) ||
	    strcasecmp(c.user, user)) {
		log_warn("%s: a forged auto-reconnect cookie for %s", s->host, user);
		return false;
	}
	log_info("%s: %s reconnected with an auto-reconnect cookie", s->host, user);
	*ret = c;
	return true;
}

/* A logon with a reconnect cookie: the user, the VM and the token's NT
 * hash (for the next reconnect) come from the cookie. */
static void cookie_logon(struct session *s, const char *user, const struct arc_cookie *c)
{
	snprintf(s->user, sizeof(s->user), "%s", user);
	set_vm(s, c->vm);
	if (c->have_nt) {
		memcpy(s->nla_nt, c->nt, sizeof(s->nla_nt));
		s->token_nt = true;
	}
	s->authenticated = true;
}

/* NLA went through with the token an auto-reconnect cookie remembers:
 * good only with that very cookie. */
static bool check_nla_cookie(struct session *s)
{
	struct arc_cookie c;

	s->logon_logged = true;
	if (!try_reconnect_cookie(s, s->nla_user, &c)) {
		log_warn("%s: NLA logon refused for %s: their one-time token was used already "
			 "(only its session's auto-reconnect cookie brings it back)", s->host,
			 s->nla_user);
		return false;
	}
	if (!c.have_nt || CRYPTO_memcmp(c.nt, s->nla_nt, sizeof(c.nt))) {
		log_warn("%s: NLA logon refused for %s: the auto-reconnect cookie is not the one "
			 "of the token NLA used", s->host, s->nla_user);
		return false;
	}
	cookie_logon(s, s->nla_user, &c);
	return true;
}

/* The TLS path: the Client Info PDU carried user and password: a
 * reconnect cookie, a one-time token (--tokens) or the user store's. */
static int check_password(struct session *s)
{
	rdpSettings *st = s->ctx.settings;
	const char *user = st->Username, *password = st->Password;
	struct rdp_users *users;
	struct arc_cookie c;
	struct token_info info;
	int r, token_r = -ENOENT;
	char why[256];

	if (!user || !*user) {
		refuse(s, ERRINFO_SERVER_INSUFFICIENT_PRIVILEGES, "no user name given");
		return -EACCES;
	}
	if (strlen(user) > ARC_USER_MAX) {
		refuse(s, ERRINFO_SERVER_INSUFFICIENT_PRIVILEGES, "user name too long");
		return -EACCES;
	}
	if (try_reconnect_cookie(s, user, &c)) {
		cookie_logon(s, user, &c);
		return 0;
	}
	if (s->cfg->tokens) {
		token_r = tokens_take(s->cfg->tokens, user, password, &info);
		if (token_r == 0) {
			snprintf(s->user, sizeof(s->user), "%s", user);
			set_vm(s, info.vm);
			s->authenticated = true;
			log_info("%s: %s authenticated by one-time token for VM %s", s->host,
				 s->user, s->vm);
			return 0;
		}
		if (token_r == -EBADMSG || token_r == -ESTALE)
			log_warn("%s: %s: %s", s->host, user, token_error(token_r));
	}
	snprintf(why, sizeof(why), "wrong user name or password for %s%s%s%s", user,
		 s->cfg->tokens ? " (" : "", s->cfg->tokens ? token_error(token_r) : "",
		 s->cfg->tokens ? ")" : "");
	r = rdp_users_open(s->cfg->users, false, &users);
	if (r == -ENOENT && s->cfg->tokens) {
		refuse(s, ERRINFO_SERVER_INSUFFICIENT_PRIVILEGES, why);
		return -EACCES;
	}
	if (r < 0) {
		log_errno(LOG_ERR, r, "%s: cannot open the user store %s", s->host, s->cfg->users);
		refuse(s, ERRINFO_SERVER_INSUFFICIENT_PRIVILEGES, "no user store");
		return r;
	}
	r = rdp_users_check_password(users, user, password ? password : "");
	rdp_users_close(users);
	if (r == -EACCES || r == -ENOENT || r == -EINVAL) {
		refuse(s, ERRINFO_SERVER_INSUFFICIENT_PRIVILEGES, why);
		return -EACCES;
	}
	if (r < 0) {
		log_errno(LOG_ERR, r, "%s: checking %s's password failed", s->host, user);
		refuse(s, ERRINFO_SERVER_INSUFFICIENT_PRIVILEGES, "the user store failed");
		return r;
	}
	snprintf(s->user, sizeof(s->user), "%s", user);
	set_vm(s, NULL);
	s->authenticated = true;
	log_info("%s: %s authenticated by password over TLS", s->host, s->user);
	return 0;
}

/* --- the display ---------------------------------------------------------- */

/* The current surface, or false when the guest shows nothing (or not yet
 * at the session's size). */
static bool session_surface(struct session *s, struct rcc_surface *ret)
{
	const uint8_t *px;

	if (!s->viewer || !s->mode.valid || s->mode.width != s->width ||
	    s->mode.height != s->height)
		return false;
	px = viewer_pixels(s->viewer);
	if (!px)
		return false;
	*ret = (struct rcc_surface){
		.pixels = px,
		.width = s->mode.width,
		.height = s->mode.height,
		.stride = s->mode.stride,
	};
	return true;
}

static int new_damage(struct session *s)
{
	struct rcc_damage *d;
	int r;

	r = rcc_damage_new(s->width, s->height, &d);
	if (r < 0)
		return r;
	rcc_damage_free(s->damage);
	s->damage = d;
	rcc_damage_add_all(d);
	return 0;
}

static void set_desktop_size(struct session *s, uint32_t w, uint32_t h)
{
	s->width = MIN(w, MAX_DIM);
	s->height = MIN(h, MAX_DIM);
	s->ctx.settings->DesktopWidth = s->width;
	s->ctx.settings->DesktopHeight = s->height;
}

static void on_mode(struct session *s, const struct viewer_mode *m)
{
	s->mode = *m;
	if (!m->valid)
		log_info("%s: the guest shows no picture", s->host);
	/* Applied once the client is active with an output path (pump()):
	 * before, the Demand Active PDU is out already or yet to come. */
	s->mode_pending = true;
}

static void on_display_msg(const struct viewer_msg *m, void *data);

static int attach_display(struct session *s)
{
	char path[4096];
	int n, r;

	n = snprintf(path, sizeof(path), "%s/%s.display", s->cfg->run_dir, s->vm);
	if (n < 0 || (size_t)n >= sizeof(path))
		return -ENAMETOOLONG;
	r = viewer_connect(path, DISPLAY_CONNECT_MS, &s->viewer);
	if (r < 0)
		return log_errno(LOG_ERR, r, "%s: cannot attach to VM %s's display %s", s->host,
				 s->vm, path);
	s->viewer_event = CreateFileDescriptorEventA(NULL, FALSE, FALSE, viewer_fd(s->viewer),
						     WINPR_FD_READ);
	if (!s->viewer_event)
		return -ENOMEM;
	s->mode = *viewer_mode(s->viewer);
	/* The pointer's state as it was when we came. */
	viewer_replay(s->viewer, on_display_msg, s);
	return 0;
}

/* --- pointer ---------------------------------------------------------------- */

static void pointer_send(struct session *s)
{
	rdpPointerUpdate *pu = s->ctx.update->pointer;
	POINTER_SYSTEM_UPDATE sys = { 0 };

	if (!s->activated)
		return;
	if (!s->pointer_visible) {
		sys.type = SYSPTR_NULL;
		pu->PointerSystem(&s->ctx, &sys);
		return;
	}
	if (!s->have_shape || !s->ctx.settings->PointerCacheSize) {
		sys.type = SYSPTR_DEFAULT;
		pu->PointerSystem(&s->ctx, &sys);
		return;
	}
	POINTER_NEW_UPDATE pn = {
		.xorBpp = 32,
		.colorPtrAttr = {
			.cacheIndex = 0,
			.xPos = s->shape.hot_x,
			.yPos = s->shape.hot_y,
			.width = s->shape.width,
			.height = s->shape.height,
			.lengthAndMask = (UINT32)s->shape.and_len,
			.lengthXorMask = (UINT32)s->shape.xor_len,
			.xorMaskData = s->shape.xor_mask,
			.andMaskData = s->shape.and_mask,
		},
	};
	POINTER_CACHED_UPDATE pc = { .cacheIndex = 0 };

	pu->PointerNew(&s->ctx, &pn);
	pu->PointerCached(&s->ctx, &pc);
}

static void on_cursor(struct session *s, const struct viewer_msg *m)
{
	int r;

	pointer_shape_clear(&s->shape);
	s->have_shape = false;
	if (m->cursor.width) {
		r = pointer_convert(m->cursor.argb, m->cursor.width, m->cursor.height,
				    m->cursor.hot_x, m->cursor.hot_y, &s->shape);
		if (r == 0)
			s->have_shape = true;
		else
			log_debug("%s: a %ux%u pointer shape does not fit a pointer update: "
				  "the default arrow instead",
				  s->host, m->cursor.width, m->cursor.height);
	}
	pointer_send(s);
}

static void on_pointer(struct session *s, const struct viewer_msg *m)
{
	POINTER_POSITION_UPDATE pos;
	int64_t dx, dy;

	if (m->pointer.visible != s->pointer_visible) {
		s->pointer_visible = m->pointer.visible;
		pointer_send(s);
	}
	if (!s->activated || !m->pointer.visible || m->pointer.x < 0 || m->pointer.y < 0 ||
	    (uint32_t)m->pointer.x >= s->width || (uint32_t)m->pointer.y >= s->height)
		return;
	/* Only the guest's own moves (a warp): ours come back within a pixel. */
	if (now_ns() - s->last_mouse_ns < POINTER_QUIET_NS)
		return;
	dx = (int64_t)m->pointer.x - s->mouse.x;
	dy = (int64_t)m->pointer.y - s->mouse.y;
	if (dx >= -2 && dx <= 2 && dy >= -2 && dy <= 2)
		return;
	pos.xPos = (UINT32)m->pointer.x;
	pos.yPos = (UINT32)m->pointer.y;
	s->mouse.x = pos.xPos;
	s->mouse.y = pos.yPos;
	s->ctx.update->pointer->PointerPosition(&s->ctx, &pos);
}

/* --- output paths ----------------------------------------------------------- */

static void stop_output(struct session *s)
{
	legacy_stop(s);
	gfx_free_h264(s);
}

/* Pick the output path now that the client is active (or its RDPGFX caps
 * came): the pipeline when it can (AVC420, else RemoteFX or planar:
 * gfx_start), else RemoteFX surface bits or planar bitmap updates
 * (legacy_start). */
static int choose_output(struct session *s)
{
	bool gfx_possible = s->ctx.settings->SupportGraphicsPipeline &&
			    WTSVirtualChannelManagerIsChannelJoined(s->vcm, "drdynvc");

	if (!s->activated)
		return 0;
	if (s->gfx_caps != CAPS_UNKNOWN && s->gfx && s->out != OUT_GFX) {
		stop_output(s);
		s->out = OUT_GFX;
		s->gfx_avc = s->gfx_caps == CAPS_AVC;
		return gfx_start(s);
	}
	if (s->out == OUT_NONE && gfx_possible && s->gfx_caps == CAPS_UNKNOWN) {
		s->out = OUT_WAIT_GFX;
		s->gfx_deadline_ns = now_ns() + GFX_WAIT_NS;
		return 0;
	}
	if (s->out == OUT_NONE || s->out == OUT_WAIT_GFX) {
		s->out = OUT_LEGACY;
		return legacy_start(s);
	}
	return 0;
}

/* Every tile again, and an IDR: a new client, a refresh, a new mode. */
static void session_redraw(struct session *s)
{
	if (s->damage)
		rcc_damage_add_all(s->damage);
	gfx_force_idr(s);
}

/* Follow the guest's mode: same size, redraw; a new size, resize the
 * session (ResetGraphics in the pipeline, else deactivation-reactivation). */
static int apply_mode(struct session *s)
{
	const struct viewer_mode *m = &s->mode;
	bool resized;
	int r;

	s->mode_pending = false;
	if (!m->valid)
		return 0;
	resized = m->width != s->width || m->height != s->height;
	if (!resized) {
		session_redraw(s);
		return 0;
	}
	if (m->width > MAX_DIM || m->height > MAX_DIM) {
		log_err("%s: the guest's mode %ux%u is larger than skyrdp encodes (%ux%u)",
			s->host, m->width, m->height, MAX_DIM, MAX_DIM);
		return -E2BIG;
	}
	log_info("%s: the guest's mode is now %ux%u", s->host, m->width, m->height);
	set_desktop_size(s, m->width, m->height);
	r = new_damage(s);
	if (r < 0)
		return r;
	if (s->out == OUT_GFX)
		return gfx_resize(s);
	if (!s->ctx.settings->DesktopResize) {
		log_err("%s: the guest changed its mode and the client cannot resize", s->host);
		return -EOPNOTSUPP;
	}
	/* Deactivation-reactivation; Activate comes back with the new size. */
	s->activated = false;
	if (!s->ctx.update->DesktopResize(&s->ctx))
		return -EIO;
	return 0;
}

static void on_display_msg(const struct viewer_msg *m, void *data)
{
	struct session *s = data;

	switch (m->type) {
	case VIEWER_MSG_MODE:
		on_mode(s, &m->mode);
		break;
	case VIEWER_MSG_DAMAGE:
		if (s->damage && s->mode.valid)
			rcc_damage_add(s->damage, m->damage.rects, m->damage.n);
		break;
	case VIEWER_MSG_POINTER:
		on_pointer(s, m);
		break;
	case VIEWER_MSG_CURSOR:
		on_cursor(s, m);
		break;
	case VIEWER_MSG_ERROR:
		log_info("%s: skyvm refused a request: %s", s->host, m->error.message);
		break;
	default:
		break;
	}
}

/* --- input ---------------------------------------------------------------- */

static struct session *input_session(rdpInput *input)
{
	struct session *s = (struct session *)input->context;

	return s->viewer && s->authenticated ? s : NULL;
}

static void send_key(struct session *s, const struct input_key *k)
{
	if (viewer_send_key(s->viewer, k->scancode, k->down, k->e0, k->e1) < 0)
		log_warn("%s: a key did not reach the display socket", s->host);
}

static BOOL on_sync(rdpInput *input, UINT32 flags)
{
	/* Lock-key states: the guest keeps its own; nothing to sync with. */
	(void)input, (void)flags;
	return TRUE;
}

static BOOL on_key(rdpInput *input, UINT16 flags, UINT16 code)
{
	struct session *s = input_session(input);
	struct input_key k;

	if (s && input_map_scancode(flags, code, &k))
		send_key(s, &k);
	return TRUE;
}

static BOOL on_unicode(rdpInput *input, UINT16 flags, UINT16 code)
{
	struct session *s = input_session(input);
	struct input_key k[INPUT_UNICODE_MAX];
	unsigned i, n;

	if (!s)
		return TRUE;
	n = input_map_unicode(flags, code, k);
	if (!n && !(flags & KBD_FLAGS_RELEASE))
		log_debug("%s: U+%04X has no key on the guest's US layout: dropped", s->host,
			  code);
	for (i = 0; i < n; i++)
		send_key(s, &k[i]);
	return TRUE;
}

static BOOL on_pause(rdpInput *input)
{
	struct session *s = input_session(input);
	/* Set 1 has no break code for Pause: E1 1D 45 E1 9D C5 at press. */
	static const struct input_key seq[] = {
		{ 0x1d, true, false, true }, { 0x45, true, false, false },
		{ 0x1d, false, false, true }, { 0x45, false, false, false },
	};
	size_t i;

	if (s)
		for (i = 0; i < ARRAY_SIZE(seq); i++)
			send_key(s, &seq[i]);
	return TRUE;
}

static BOOL on_mouse(rdpInput *input, UINT16 flags, UINT16 x, UINT16 y)
{
	struct session *s = input_session(input);
	struct input_mouse_msg m;

	if (!s || !input_map_mouse(&s->mouse, flags, x, y, s->width, s->height, &m))
		return TRUE;
	s->last_mouse_ns = now_ns();
	if (viewer_send_mouse(s->viewer, m.x, m.y, m.buttons, m.wheel) < 0)
		log_warn("%s: a mouse event did not reach the display socket", s->host);
	return TRUE;
}

static BOOL on_ext_mouse(rdpInput *input, UINT16 flags, UINT16 x, UINT16 y)
{
	/* X buttons: the display socket has three buttons; keep the position. */
	return on_mouse(input, PTR_FLAGS_MOVE, x, y);
}

static BOOL on_focus_in(rdpInput *input, UINT16 toggle_states)
{
	(void)input, (void)toggle_states;
	return TRUE;
}

static BOOL on_refresh_rect(rdpContext *ctx, BYTE count, const RECTANGLE_16 *areas)
{
	struct session *s = (struct session *)ctx;

	(void)count, (void)areas;
	session_redraw(s);
	return TRUE;
}

static BOOL on_suppress_output(rdpContext *ctx, BYTE allow, const RECTANGLE_16 *area)
{
	struct session *s = (struct session *)ctx;

	(void)area;
	s->suppressed = !allow;
	if (allow)
		session_redraw(s);
	return TRUE;
}

static BOOL on_surface_frame_ack(rdpContext *ctx, UINT32 frame_id)
{
	struct session *s = (struct session *)ctx;

	if (s->out == OUT_LEGACY)
		rcc_pacer_acked(s->pacer, frame_id, now_ns());
	return TRUE;
}

/* --- connection sequence ------------------------------------------------------ */

static BOOL on_capabilities(freerdp_peer *peer)
{
	struct session *s = (struct session *)peer->context;
	rdpSettings *st = peer->settings;
	uint32_t cw = st->DesktopWidth, ch = st->DesktopHeight;

	if (s->viewer)
		return TRUE;
	if (s->refuse) {
		refuse(s, ERRINFO_SERVER_DENIED_CONNECTION, "the host is at its session limit");
		return FALSE;
	}
	if (!s->authenticated) {
		if (st->NlaSecurity) {
			if (!s->nla_arc || !check_nla_cookie(s)) {
				refuse(s, ERRINFO_SERVER_INSUFFICIENT_PRIVILEGES,
				       "NLA without a user");
				return FALSE;
			}
		} else if (check_password(s) < 0) {
			return FALSE;
		}
	}
	if (!s->vm[0]) {
		char why[128];

		snprintf(why, sizeof(why), "no VM for this logon (%s: no one-time token, no --vm)",
			 s->user);
		refuse(s, ERRINFO_SERVER_DENIED_CONNECTION, why);
		return FALSE;
	}
	if (attach_display(s) < 0) {
		refuse(s, ERRINFO_SERVER_DENIED_CONNECTION, "the VM's display is not there");
		return FALSE;
	}
	/* The desktop is the guest's mode; the client's size is asked of the
	 * guest once the client is active, and a guest that takes it resizes
	 * the session. */
	if (s->mode.valid && (s->mode.width > MAX_DIM || s->mode.height > MAX_DIM)) {
		refuse(s, ERRINFO_SERVER_DENIED_CONNECTION, "the guest's mode is too large");
		return FALSE;
	}
	if (s->mode.valid)
		set_desktop_size(s, s->mode.width, s->mode.height);
	else
		set_desktop_size(s, cw, ch);
	if (new_damage(s) < 0)
		return FALSE;
	if (cw && ch && (cw != s->width || ch != s->height)) {
		s->want_pending = true;
		s->want_w = MIN(cw, 7680u);
		s->want_h = MIN(ch, 4320u);
	}
	log_info("%s: desktop %ux%u (the client asked for %ux%u)", s->host, s->width, s->height,
		 cw, ch);
	return TRUE;
}

static BOOL on_post_connect(freerdp_peer *peer)
{
	struct session *s = (struct session *)peer->context;
	rdpSettings *st = peer->settings;
	logon_info_ex info = { 0 };
	int r;

	log_info("%s: %s connected to VM %s (%s, client build %" PRIu32 ", %s)", s->host,
		 s->user, s->vm, st->NlaSecurity ? "NLA" : "TLS", st->ClientBuild,
		 st->ClientHostname ? st->ClientHostname : "?");
	/* The cookie for an automatic reconnect after a network drop. */
	r = arc_issue(s->cfg->arc_dir, s->user, s->vm, s->token_nt ? s->nla_nt : NULL, &s->arc);
	if (r < 0) {
		log_errno(LOG_WARN, r, "%s: no auto-reconnect cookie", s->host);
		return TRUE;
	}
	s->have_arc = true;
	info.haveCookie = TRUE;
	info.LogonId = s->arc.logon_id;
	memcpy(info.ArcRandomBits, s->arc.random, sizeof(info.ArcRandomBits));
	if (!peer->update->SaveSessionInfo(peer->context, INFO_TYPE_LOGON_EXTENDED_INF, &info))
		log_warn("%s: sending the auto-reconnect cookie failed", s->host);
	return TRUE;
}

static BOOL on_activate(freerdp_peer *peer)
{
	struct session *s = (struct session *)peer->context;
	int r;

	s->activated = true;
	if (s->out == OUT_LEGACY) {
		/* Reactivated after a DesktopResize: the new size. */
		if (legacy_start(s) < 0)
			return FALSE;
	} else if ((r = choose_output(s)) < 0) {
		if (r == -EPROTONOSUPPORT)
			send_errinfo(s, ERRINFO_SERVER_DENIED_CONNECTION);
		return FALSE;
	}
	session_redraw(s);
	pointer_send(s);
	return TRUE;
}

/* --- the loop ------------------------------------------------------------------ */

static int drain_posted(struct session *s)
{
	typeof(s->posted) p;
	uint64_t n;
	int r = 0;

	if (read(s->wake_fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		return -errno;
	pthread_mutex_lock(&s->lock);
	p = s->posted;
	memset(&s->posted, 0, sizeof(s->posted));
	pthread_mutex_unlock(&s->lock);

	if (p.caps) {
		s->gfx_caps = p.caps_avc ? CAPS_AVC : CAPS_NO_AVC;
		if (s->out == OUT_GFX) {
			/* A second CapsAdvertise: start over. */
			stop_output(s);
			s->gfx_avc = p.caps_avc;
			r = gfx_start(s);
		} else {
			r = choose_output(s);
		}
		if (r < 0)
			return r;
	}
	if (p.ack && s->out == OUT_GFX) {
		/* A client may stop acknowledging (MS-RDPEGFX 2.2.2.13). */
		if (p.queue_depth == SUSPEND_FRAME_ACKNOWLEDGEMENT)
			rcc_pacer_set_max_unacked(s->pacer, 0);
		rcc_pacer_acked(s->pacer, p.ack_id, now_ns());
	}
	if (p.layout) {
		s->want_pending = true;
		s->want_w = p.layout_w;
		s->want_h = p.layout_h;
	}
	return 0;
}

static void open_channels(struct session *s)
{
	if (!WTSVirtualChannelManagerIsChannelJoined(s->vcm, "drdynvc"))
		return;
	switch (WTSVirtualChannelManagerGetDrdynvcState(s->vcm)) {
	case DRDYNVC_STATE_NONE:
		/* Sends the drdynvc capabilities. */
		WTSVirtualChannelManagerCheckFileDescriptor(s->vcm);
		break;
	case DRDYNVC_STATE_READY:
		/* Once: a channel the client refuses is not asked for again. */
		if (s->channels_tried)
			break;
		s->channels_tried = true;
		if (s->ctx.settings->SupportGraphicsPipeline && gfx_open(s) < 0)
			log_warn("%s: cannot open the graphics pipeline channel", s->host);
		if (disp_open(s) < 0)
			log_warn("%s: cannot open the display control channel", s->host);
		break;
	default:
		break;
	}
}

static int pump(struct session *s)
{
	struct rcc_surface surf;
	uint64_t now = now_ns();
	int r;

	if (s->want_pending && s->viewer && now - s->want_sent_ns >= RESIZE_GAP_NS) {
		s->want_pending = false;
		s->want_sent_ns = now;
		if (s->want_w != s->width || s->want_h != s->height) {
			log_info("%s: asking the guest for %ux%u", s->host, s->want_w, s->want_h);
			viewer_send_resolution(s->viewer, s->want_w, s->want_h);
		}
	}
	if (!s->activated || s->suppressed)
		return 0;
	if (s->out == OUT_WAIT_GFX && (now >= s->gfx_deadline_ns || s->gfx_refused)) {
		if (!s->gfx_refused)
			log_info("%s: no RDPGFX capabilities in time", s->host);
		r = choose_output(s);
		if (r < 0)
			return r;
	}
	if (s->out != OUT_GFX && s->out != OUT_LEGACY)
		return 0;
	if (s->mode_pending) {
		r = apply_mode(s);
		if (r < 0 || !s->activated)
			return r;
	}
	if (!rcc_damage_pending(s->damage) || !session_surface(s, &surf))
		return 0;
	if (rcc_pacer_wait(s->pacer, now))
		return 0;
	return s->out == OUT_GFX ? gfx_send_frame(s, &surf) : legacy_send_frame(s, &surf);
}

/* Milliseconds the loop may sleep. */
static DWORD next_timeout(struct session *s)
{
	uint64_t now = now_ns(), wait = 1000000000ull;

	if (s->want_pending)
		wait = MIN(wait, s->want_sent_ns + RESIZE_GAP_NS > now
				     ? s->want_sent_ns + RESIZE_GAP_NS - now : 0);
	if (s->activated && s->out == OUT_WAIT_GFX)
		wait = MIN(wait, s->gfx_deadline_ns > now ? s->gfx_deadline_ns - now : 0);
	if (s->activated && !s->suppressed && (s->out == OUT_GFX || s->out == OUT_LEGACY) &&
	    s->damage && rcc_damage_pending(s->damage) && s->mode.valid) {
		uint64_t w = rcc_pacer_wait(s->pacer, now);

		if (w != UINT64_MAX)
			wait = MIN(wait, w);
	}
	/* Round up: waking a little early would just spin once more. */
	return (DWORD)((wait + 999999) / 1000000);
}

static int session_loop(struct session *s)
{
	freerdp_peer *peer = s->peer;
	HANDLE vcm_event = WTSVirtualChannelManagerGetEventHandle(s->vcm);

	for (;;) {
		HANDLE h[MAXIMUM_WAIT_OBJECTS];
		DWORD n, status;
		int r;

		n = peer->GetEventHandles(peer, h, MAXIMUM_WAIT_OBJECTS - 3);
		if (!n) {
			log_err("%s: no transport handles", s->host);
			return -EIO;
		}
		h[n++] = vcm_event;
		h[n++] = s->wake_event;
		if (s->viewer_event)
			h[n++] = s->viewer_event;
		status = WaitForMultipleObjects(n, h, FALSE, next_timeout(s));
		if (status == WAIT_FAILED)
			return -EIO;
		if (!peer->CheckFileDescriptor(peer))
			return 0; /* the client left, or the connection sequence failed */
		if (!s->activated && !peer->connected && now_ns() - s->started_ns > HANDSHAKE_NS) {
			log_warn("%s: no logon within %llu s: dropped", s->host,
				 HANDSHAKE_NS / 1000000000ull);
			return -ETIMEDOUT;
		}
		open_channels(s);
		if (!WTSVirtualChannelManagerCheckFileDescriptor(s->vcm)) {
			log_info("%s: the virtual channels closed", s->host);
			return 0;
		}
		if (s->viewer_event && WaitForSingleObject(s->viewer_event, 0) == WAIT_OBJECT_0) {
			r = viewer_read(s->viewer, on_display_msg, s);
			if (r != 0) {
				log_warn("%s: VM %s's display socket closed%s", s->host, s->vm,
					 r < 0 ? " with an error" : "");
				/* The VM went away: tell the client, the way a
				 * server ends a session it was told to end. */
				if (peer->connected) {
					send_errinfo(s, ERRINFO_RPC_INITIATED_DISCONNECT);
					peer->Close(peer);
				}
				return -ECONNRESET;
			}
		}
		r = drain_posted(s);
		if (r < 0)
			return r;
		r = pump(s);
		if (r < 0)
			return r;
	}
}

/* --- setup ----------------------------------------------------------------------- */

static BOOL context_new(freerdp_peer *peer, rdpContext *ctx)
{
	struct session *s = (struct session *)ctx;

	s->cfg = peer->ContextExtra;
	s->peer = peer;
	s->wake_fd = -1;
	s->started_ns = now_ns();
	if (pthread_mutex_init(&s->lock, NULL) != 0)
		return FALSE;
	s->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (s->wake_fd < 0)
		return FALSE;
	s->wake_event = CreateFileDescriptorEventA(NULL, FALSE, FALSE, s->wake_fd, WINPR_FD_READ);
	if (!s->wake_event)
		return FALSE;
	s->vcm = WTSOpenServerA((LPSTR)peer->context);
	if (!s->vcm || s->vcm == INVALID_HANDLE_VALUE) {
		s->vcm = NULL;
		return FALSE;
	}
	WTSVirtualChannelManagerSetDVCCreationCallback(s->vcm, gfx_dvc_created, s);
	if (rcc_pacer_new(s->cfg->fps, SESSION_MAX_UNACKED, &s->pacer) < 0)
		return FALSE;
	return TRUE;
}

static void context_free(freerdp_peer *peer, rdpContext *ctx)
{
	struct session *s = (struct session *)ctx;

	(void)peer;
	gfx_close(s);
	disp_close(s);
	stop_output(s);
	if (s->vcm)
		WTSCloseServer(s->vcm);
	if (s->viewer_event)
		CloseHandle(s->viewer_event);
	viewer_free(s->viewer);
	rcc_damage_free(s->damage);
	rcc_pacer_free(s->pacer);
	pointer_shape_clear(&s->shape);
	if (s->wake_event)
		CloseHandle(s->wake_event);
	if (s->wake_fd >= 0)
		close(s->wake_fd);
	pthread_mutex_destroy(&s->lock);
}

static bool configure(struct session *s)
{
	rdpSettings *st = s->ctx.settings;
	const struct skyrdp_config *cfg = s->cfg;
	freerdp_peer *peer = s->peer;

	if (!freerdp_settings_set_string(st, FreeRDP_CertificateFile, cfg->cert) ||
	    !freerdp_settings_set_string(st, FreeRDP_PrivateKeyFile, cfg->key))
		return false;
	/* Standard RDP security (RC4 and a home-made key exchange) is off:
	 * TLS always, NLA inside it when allowed. */
	st->RdpSecurity = FALSE;
	st->UseRdpSecurityLayer = FALSE;
	st->TlsSecurity = cfg->auth != SKYRDP_AUTH_NLA;
	st->NlaSecurity = cfg->auth != SKYRDP_AUTH_TLS;
	st->ExtSecurity = FALSE;
	st->ColorDepth = 32;
	st->RemoteFxCodec = TRUE;
	st->NSCodec = FALSE;
	st->JpegCodec = FALSE;
	st->SurfaceCommandsEnabled = TRUE;
	st->SurfaceFrameMarkerEnabled = TRUE;
	st->FrameMarkerCommandEnabled = TRUE;
	st->SupportGraphicsPipeline = TRUE;
	st->GfxH264 = TRUE;
	st->RefreshRect = TRUE;
	st->SuppressOutput = TRUE;
	st->UnicodeInput = TRUE;
	st->HasHorizontalWheel = FALSE;
	st->HasExtendedMouseEvent = TRUE;
	st->DesktopResize = TRUE;
	st->SupportDisplayControl = TRUE;
	st->AutoReconnectionEnabled = TRUE;

	peer->Logon = on_logon;
	peer->Capabilities = on_capabilities;
	peer->PostConnect = on_post_connect;
	peer->Activate = on_activate;
	if (st->NlaSecurity)
		peer->ComputeNtlmHash = on_ntlm_hash;
	peer->input->SynchronizeEvent = on_sync;
	peer->input->KeyboardEvent = on_key;
	peer->input->UnicodeKeyboardEvent = on_unicode;
	peer->input->MouseEvent = on_mouse;
	peer->input->ExtendedMouseEvent = on_ext_mouse;
	peer->input->FocusInEvent = on_focus_in;
	peer->input->KeyboardPauseEvent = on_pause;
	peer->update->RefreshRect = on_refresh_rect;
	peer->update->SuppressOutput = on_suppress_output;
	peer->update->SurfaceFrameAcknowledge = on_surface_frame_ack;
	return true;
}

int session_run(const struct skyrdp_config *cfg, int fd, const char *peer_addr, bool local,
		bool refuse_it)
{
	freerdp_peer *peer;
	struct session *s;
	uint64_t secs;
	int r;

	winpr_InitializeSSL(WINPR_SSL_INIT_DEFAULT);
	/* Without this the WTS* calls go nowhere (research: a segfault in
	 * WTSOpenServerA). */
	WTSRegisterWtsApiFunctionTable(FreeRDP_InitWtsApi());

	peer = freerdp_peer_new(fd);
	if (!peer) {
		close(fd);
		return 1;
	}
	snprintf(peer->hostname, sizeof(peer->hostname), "%s", peer_addr);
	peer->local = local;
	peer->ContextSize = sizeof(struct session);
	peer->ContextNew = context_new;
	peer->ContextFree = context_free;
	peer->ContextExtra = (void *)cfg;
	if (!freerdp_peer_context_new(peer)) {
		log_err("%s: cannot set up an RDP peer", peer_addr);
		freerdp_peer_free(peer);
		return 1;
	}
	s = (struct session *)peer->context;
	snprintf(s->host, sizeof(s->host), "%s", peer_addr);
	s->refuse = refuse_it;
	if (!configure(s) || !peer->Initialize(peer)) {
		log_err("%s: cannot set up the RDP session", s->host);
		r = -EIO;
		goto out;
	}
	r = session_loop(s);
out:
	if (s->nla_user[0] && !s->authenticated && !s->logon_logged)
		log_warn("%s: NLA logon failed for %s: wrong password, or the client gave up",
			 s->host, s->nla_user);
	if (s->have_arc)
		arc_end(cfg->arc_dir, &s->arc);
	secs = (now_ns() - s->started_ns) / 1000000000ull;
	if (s->peer->connected)
		log_info("%s: %s's session ended after %" PRIu64 " s: %" PRIu64 " frames, %" PRIu64
			 " KiB", s->host, s->user, secs, s->frames, s->bytes / 1024);
	/* Channel threads first (they call back into s), then the peer. */
	gfx_close(s);
	disp_close(s);
	peer->Disconnect(peer);
	freerdp_peer_context_free(peer);
	freerdp_peer_free(peer);
	return r < 0 ? 1 : 0;
}
