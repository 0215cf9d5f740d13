// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * The broker's RDP front door (frontdoor.h): a FreeRDP 2 server that never
 * shows a desktop.  One thread accepts (freerdp_listener on a socket of
 * our own); one thread per client runs its connection sequence up to the
 * Capabilities callback, where the Client Info PDU's credentials are in
 * the settings: the broker checks them, finds (or starts) the desktop,
 * has a one-time token delivered to its host, and the client is sent
 * there with a Server Redirection PDU (MS-RDPBCGR 2.2.13.1) whose password
 * is the token.  Then the connection ends.
 *
 * TLS only: the broker keeps scrypt hashes, not the NT hashes NLA's NTLM
 * needs, so a client that offers NLA alone is refused (FreeRDP answers
 * SSL_REQUIRED_BY_SERVER; we peek at its X.224 request to say why).
 *
 * Facts from FreeRDP 2.11.7 (libfreerdp/core):
 *  - nego.c nego_read_request_token_or_cookie() parses only "Cookie:
 *    msts=..." (a routing token, kept with its prefix) and "Cookie:
 *    mstshash=..." (kept, but no API returns it) up to CRLF; anything else
 *    there makes the request fail.
 *  - peer.c calls Logon right after negotiation (TLS: no credentials
 *    yet), and Capabilities after the Client Info PDU and licensing;
 *    returning FALSE from it ends the connection.
 *  - peer.c freerdp_peer_send_server_redirection_pdu() writes the
 *    password as plain UTF-16 (no PK encryption) and has no port field:
 *    the client keeps the port it used.  With a routing token the client
 *    goes back to the same address (connection.c rdp_client_redirect), so
 *    we send none: the target address alone.
 *  - crypto/tls.c tls_accept() reads the certificate and key for every
 *    connection and never frees its references: about 8.5 KiB per TLS
 *    connection with an RSA-2048 key stays allocated (FreeRDP 3 frees
 *    them; tests/e2e/lsan-frontdoor.supp).
 */
#include "frontdoor.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Before FreeRDP's headers: theirs define MIN/MAX only if still unset. */
#include "util.h"

#include <freerdp/error.h>
#include <freerdp/freerdp.h>
#include <freerdp/listener.h>
#include <freerdp/peer.h>
#include <openssl/crypto.h>
#include <winpr/ssl.h>
#include <winpr/synch.h>

#include "log.h"
#include "tokens.h"

LOG_SCOPE("broker.frontdoor");

#define DEFAULT_MAX_CLIENTS 64
#define DEFAULT_RESOLVE_TIMEOUT_S 120
#define DEFAULT_TOKEN_TTL_S 60
/* From connect to credentials checked: a client slower than this (or one
 * that stalls inside FreeRDP's blocking TLS handshake) is cut off. */
#define HANDSHAKE_NS (30 * 1000000000ull)
/* How long to wait for the client's first bytes to peek at. */
#define PEEK_MS 5000

/* RDP_NEG_REQ requestedProtocols (MS-RDPBCGR 2.2.1.1.1). */
#define PROTO_SSL 0x1u
#define PROTO_HYBRID 0x2u
#define PROTO_RDSTLS 0x4u
#define PROTO_HYBRID_EX 0x8u

struct client {
	struct frontdoor *fd;
	freerdp_peer *peer;
	pthread_t thread;
	int sock;
	uint64_t deadline_ns; /* cut off past this, unless in_ops */
	bool in_ops;          /* in the broker's ops (they may take minutes) */
	bool sock_live;       /* sock is still the client's (FreeRDP closes it) */
	bool done;            /* the thread is finished: join it */
	struct client *next;
};

struct frontdoor {
	char *cert, *key;
	unsigned max_clients, resolve_timeout_s, token_ttl_s;
	const struct frontdoor_ops *ops;
	void *data;
	char listen[128];
	freerdp_listener *listener;
	HANDLE stop;
	pthread_t thread;
	bool thread_started;
	pthread_mutex_t lock;
	struct client *clients;
	unsigned nclients;
};

/* The peer's context: FreeRDP allocates peer->ContextSize bytes. */
struct fd_peer {
	rdpContext ctx;
	struct client *client;
	char addr[INET6_ADDRSTRLEN];  /* for ops->authenticate */
	char name[INET6_ADDRSTRLEN + 8]; /* ADDR:PORT, for logs */
	char hint[65];                /* the desktop the routing token names */
	bool asked_nla;               /* its X.224 request offered NLA */
	bool negotiated;              /* TLS is up (Logon was called) */
	bool finished;                /* redirected or refused: nothing more */
};

/* --- pure parts ---------------------------------------------------------- */

/* Desktop names as docs/api.md has them: 1..64 of [A-Za-z0-9._-], not
 * starting with '-' or '.'. */
static bool name_ok(const char *s, size_t len)
{
	size_t i;

	if (!len || len > 64 || s[0] == '-' || s[0] == '.')
		return false;
	for (i = 0; i < len; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return false;
	}
	return true;
}

#define MSTS "Cookie: msts="
#define MSTSHASH "Cookie: mstshash="

int frontdoor_parse_routing_token(const char *token, size_t len, char *out, size_t out_size)
{
	size_t n;

	if (!token || len < sizeof(MSTS) - 1 || memcmp(token, MSTS, sizeof(MSTS) - 1))
		return -EINVAL;
	token += sizeof(MSTS) - 1;
	len -= sizeof(MSTS) - 1;
	/* FreeRDP hands it over without the CRLF; the wire has one. */
	if (len >= 2 && token[len - 2] == '\r' && token[len - 1] == '\n')
		len -= 2;
	n = len;
	if (!name_ok(token, n) || n >= out_size)
		return -EINVAL;
	memcpy(out, token, n);
	out[n] = '\0';
	return 0;
}

int frontdoor_parse_x224(const void *buf, size_t len, struct frontdoor_x224 *ret)
{
	const uint8_t *p = buf, *end, *crlf = NULL;
	struct frontdoor_x224 x = { 0 };
	size_t tpkt, i;

	/* TPKT (RFC 1006): version 3, reserved, length (big-endian). */
	if (len < 4)
		return -EAGAIN;
	if (p[0] != 3 || p[1] != 0)
		return -EINVAL;
	tpkt = (size_t)p[2] << 8 | p[3];
	/* TPKT header, X.224 Connection Request header (X.224 13.3). */
	if (tpkt < 4 + 7)
		return -EINVAL;
	if (len < tpkt)
		return -EAGAIN;
	if (p[4] != tpkt - 5 || (p[5] & 0xf0) != 0xe0)
		return -EINVAL;
	p += 11;
	end = (const uint8_t *)buf + tpkt;
	/* A cookie or routing token up to CRLF (MS-RDPBCGR 2.2.1.1). */
	if ((size_t)(end - p) >= sizeof(MSTS) - 1 && !memcmp(p, "Cookie: ", 8)) {
		for (i = 0; i + 1 < (size_t)(end - p); i++) {
			if (p[i] == '\r' && p[i + 1] == '\n') {
				crlf = p + i;
				break;
			}
		}
		if (!crlf)
			return -EINVAL;
		if ((size_t)(crlf - p) >= sizeof(MSTSHASH) - 1 &&
		    !memcmp(p, MSTSHASH, sizeof(MSTSHASH) - 1)) {
			const uint8_t *c = p + sizeof(MSTSHASH) - 1;
			size_t n = (size_t)(crlf - c);

			/* Kept for the log only: printable, cut to fit. */
			for (i = 0; i < n && i < sizeof(x.cookie) - 1; i++) {
				if (c[i] < 0x20 || c[i] > 0x7e)
					return -EINVAL;
				x.cookie[i] = (char)c[i];
			}
			x.have_cookie = true;
		} else if (!memcmp(p, MSTS, sizeof(MSTS) - 1)) {
			x.routing_token = true;
		} else {
			return -EINVAL;
		}
		p = crlf + 2;
	}
	/* RDP_NEG_REQ (MS-RDPBCGR 2.2.1.1.1): type 1, flags, length 8. */
	if (end - p >= 8) {
		if (p[0] != 1 || p[2] != 8 || p[3] != 0)
			return -EINVAL;
		x.have_protocols = true;
		x.protocols = (uint32_t)p[4] | (uint32_t)p[5] << 8 | (uint32_t)p[6] << 16 |
			      (uint32_t)p[7] << 24;
		p += 8;
	}
	/* An RDP_NEG_CORRELATION_INFO (36 bytes) may follow; nothing else. */
	if (p != end && end - p != 36)
		return -EINVAL;
	*ret = x;
	return 0;
}

/* Bytes a value of a .rdp line may hold: printable ASCII (no CR/LF). */
static bool rdp_value_ok(const char *s, size_t max)
{
	size_t i;

	if (!s || !*s)
		return false;
	for (i = 0; s[i]; i++)
		if (i >= max || s[i] < 0x20 || s[i] > 0x7e)
			return false;
	return true;
}

char *frontdoor_rdp_file(const char *address, const char *user, const char *desktop)
{
	char *out = NULL;

	if (!rdp_value_ok(address, 300) || !user || !name_ok(user, strlen(user)) || !desktop ||
	    !name_ok(desktop, strlen(desktop))) {
		errno = EINVAL;
		return NULL;
	}
	/*
	 * loadbalanceinfo goes out verbatim (plus CRLF) as the X.224
	 * request's routing token (FreeRDP client/common/file.c and
	 * core/nego.c; mstsc does the same), and a FreeRDP server takes only
	 * "Cookie: msts=..." or "Cookie: mstshash=..." there: so the desktop
	 * travels as a routing token of that form.
	 *
	 * enablecredsspsupport:i:0: the front door takes the password over
	 * TLS (it cannot do NLA); the host then gets the token over TLS too.
	 * authentication level:i:2: warn on an unverified certificate.
	 */
	if (asprintf(&out,
		     "full address:s:%s\r\n"
		     "username:s:%s\r\n"
		     "loadbalanceinfo:s:" MSTS "%s\r\n"
		     "enablecredsspsupport:i:0\r\n"
		     "authentication level:i:2\r\n"
		     "prompt for credentials on client:i:1\r\n"
		     "screen mode id:i:2\r\n"
		     "use multimon:i:0\r\n"
		     "dynamic resolution:i:1\r\n"
		     "smart sizing:i:0\r\n"
		     "session bpp:i:32\r\n"
		     "autoreconnection enabled:i:1\r\n"
		     "audiomode:i:2\r\n"
		     "redirectprinters:i:0\r\n"
		     "redirectsmartcards:i:0\r\n",
		     address, user, desktop) < 0)
		return NULL;
	return out;
}

/* --- one client ------------------------------------------------------------- */

static const char *protocols_name(uint32_t p, char *buf, size_t size)
{
	snprintf(buf, size, "%s%s%s%s%s", p & PROTO_SSL ? " TLS" : "",
		 p & PROTO_HYBRID ? " NLA" : "", p & PROTO_HYBRID_EX ? " NLA-EX" : "",
		 p & PROTO_RDSTLS ? " RDSTLS" : "", p ? "" : " standard-RDP");
	return buf[0] == ' ' ? buf + 1 : buf;
}

/* Look at the client's X.224 request before FreeRDP reads it: the
 * mstshash cookie (FreeRDP keeps it to itself) and the security it
 * offers.  Returns false for a client that offers no TLS. */
static bool peek_request(struct fd_peer *c)
{
	uint8_t buf[512];
	struct pollfd pfd = { .fd = c->client->sock, .events = POLLIN };
	struct frontdoor_x224 x;
	char protos[64];
	ssize_t n;
	int r;

	if (poll(&pfd, 1, PEEK_MS) <= 0)
		return true; /* FreeRDP's own timeouts and errors apply */
	n = recv(c->client->sock, buf, sizeof(buf), MSG_PEEK | MSG_DONTWAIT);
	if (n <= 0)
		return true;
	r = frontdoor_parse_x224(buf, (size_t)n, &x);
	if (r < 0) {
		log_debug("%s: X.224 request not understood (%d bytes seen)", c->name, (int)n);
		return true;
	}
	log_info("%s: connected%s%s%s, offers %s", c->name,
		 x.have_cookie ? " (mstshash=" : "", x.have_cookie ? x.cookie : "",
		 x.have_cookie ? ")" : "",
		 x.have_protocols ? protocols_name(x.protocols, protos, sizeof(protos))
				  : "standard-RDP");
	c->asked_nla = x.have_protocols && (x.protocols & (PROTO_HYBRID | PROTO_HYBRID_EX));
	if (!x.have_protocols || !(x.protocols & PROTO_SSL)) {
		log_warn("%s: refused: the client offers no TLS (%s); the front door takes the "
			 "password over TLS only, it cannot do NLA: turn NLA off in the client "
			 "(.rdp enablecredsspsupport:i:0, xfreerdp /sec:tls)", c->name,
			 x.have_protocols ? protocols_name(x.protocols, protos, sizeof(protos))
					  : "standard-RDP");
		return false;
	}
	return true;
}

static void send_errinfo(struct fd_peer *c, UINT32 errinfo)
{
	if (c->ctx.settings->SupportErrorInfoPdu) {
		freerdp_set_error_info(c->ctx.rdp, errinfo);
		freerdp_send_error_info(c->ctx.rdp);
	}
}

static BOOL refuse(struct fd_peer *c, UINT32 errinfo)
{
	send_errinfo(c, errinfo);
	c->finished = true;
	return FALSE;
}

static void set_in_ops(struct fd_peer *c, bool on)
{
	struct frontdoor *fd = c->client->fd;

	pthread_mutex_lock(&fd->lock);
	c->client->in_ops = on;
	pthread_mutex_unlock(&fd->lock);
}

/* After negotiation: the routing token, if any, names the desktop. */
static BOOL on_logon(freerdp_peer *peer, SEC_WINNT_AUTH_IDENTITY *identity, BOOL automatic)
{
	struct fd_peer *c = (struct fd_peer *)peer->context;
	const char *token;
	DWORD len = 0;

	(void)identity, (void)automatic;
	c->negotiated = true;
	token = freerdp_nego_get_routing_token(peer->context, &len);
	if (!token || !len)
		return TRUE;
	if (frontdoor_parse_routing_token(token, len, c->hint, sizeof(c->hint)) < 0) {
		/* Ours carry a desktop name; a load balancer's may not. */
		log_info("%s: a routing token that names no desktop (%u bytes): ignored", c->name,
			 (unsigned)len);
		c->hint[0] = '\0';
		return TRUE;
	}
	log_info("%s: routing token for desktop %s", c->name, c->hint);
	return TRUE;
}

static UINT32 resolve_errinfo(int r)
{
	switch (r) {
	case -ENOENT: return ERRINFO_CB_DESTINATION_NOT_FOUND;
	case -ETIMEDOUT: return ERRINFO_CB_SESSION_ONLINE_VM_BOOT_TIMEOUT;
	case -EHOSTDOWN: return ERRINFO_CB_SESSION_ONLINE_VM_WAKE;
	default: return ERRINFO_CB_SESSION_ONLINE_VM_BOOT;
	}
}

/*
 * The Client Info PDU is in (and licensing done): check the credentials,
 * find the desktop, deliver a token, redirect.  Returning FALSE ends the
 * connection sequence: the client got its redirection or its refusal.
 */
static BOOL on_capabilities(freerdp_peer *peer)
{
	struct fd_peer *c = (struct fd_peer *)peer->context;
	struct frontdoor *fd = c->client->fd;
	rdpSettings *st = peer->settings;
	const char *user = st->Username, *password = st->Password, *domain = st->Domain;
	struct frontdoor_target t;
	char token[TOKENS_MAX_LEN + 1];
	time_t expires;
	BOOL ok;
	int r;

	if (c->finished)
		return FALSE;
	if (!user || !*user) {
		log_warn("%s: refused: no user name", c->name);
		return refuse(c, ERRINFO_SERVER_INSUFFICIENT_PRIVILEGES);
	}
	if (strlen(user) > 64) {
		log_warn("%s: refused: a user name longer than 64 bytes", c->name);
		return refuse(c, ERRINFO_SERVER_INSUFFICIENT_PRIVILEGES);
	}
	if (!password || !*password) {
		/* The front door shows no logon screen to type it into. */
		log_warn("%s: refused: %s gave no password (the client must send it: save it in "
			 "the client or let it prompt)", c->name, user);
		return refuse(c, ERRINFO_SERVER_INSUFFICIENT_PRIVILEGES);
	}

	set_in_ops(c, true);
	r = fd->ops->authenticate(fd->data, c->addr, user, password);
	/* Not needed any more: out of memory as soon as possible. */
	OPENSSL_cleanse(st->Password, strlen(st->Password));
	if (r == -EACCES) {
		log_warn("wrong user name or password for %s from %s", user, c->name);
		ok = refuse(c, ERRINFO_SERVER_INSUFFICIENT_PRIVILEGES);
		goto out;
	}
	if (r == -EAGAIN) {
		log_warn("%s: logon of %s refused: too many failed logons (rate-limited)", c->name,
			 user);
		ok = refuse(c, ERRINFO_SERVER_DENIED_CONNECTION);
		goto out;
	}
	if (r < 0) {
		log_errno(LOG_ERR, r, "%s: checking %s's password failed", c->name, user);
		ok = refuse(c, ERRINFO_SERVER_DENIED_CONNECTION);
		goto out;
	}
	log_info("%s: %s logged on%s%s", c->name, user, c->hint[0] ? ", desktop " : "", c->hint);

	memset(&t, 0, sizeof(t));
	r = fd->ops->resolve(fd->data, user, c->hint[0] ? c->hint : NULL, fd->resolve_timeout_s,
			     &t);
	/* Whatever ops wrote, the strings end inside their arrays. */
	t.host[sizeof(t.host) - 1] = t.rdp_address[sizeof(t.rdp_address) - 1] = '\0';
	t.vm[sizeof(t.vm) - 1] = t.desktop[sizeof(t.desktop) - 1] = '\0';
	if (r < 0) {
		const char *why = r == -ENOENT    ? "they have no such desktop"
				  : r == -ETIMEDOUT ? "the desktop did not start in time"
				  : r == -EHOSTDOWN ? "its host is not responding"
						    : strerror(-r);

		log_warn("%s: %s not sent to %s: %s", c->name, user,
			 c->hint[0] ? c->hint : "a desktop", why);
		ok = refuse(c, resolve_errinfo(r));
		goto out;
	}
	if (!t.rdp_address[0] || !t.vm[0]) {
		log_err("%s: the broker named no address or VM for %s's desktop %s", c->name, user,
			t.desktop);
		ok = refuse(c, ERRINFO_CB_DESTINATION_NOT_FOUND);
		goto out;
	}
	r = tokens_generate(token);
	if (r == 0) {
		expires = time(NULL) + (time_t)fd->token_ttl_s;
		r = fd->ops->issue_token(fd->data, &t, user, token, expires);
	}
	if (r < 0) {
		OPENSSL_cleanse(token, sizeof(token));
		log_errno(LOG_ERR, r, "%s: no one-time token for %s on host %s", c->name, user,
			  t.host);
		ok = refuse(c, ERRINFO_CB_SESSION_ONLINE_VM_WAKE);
		goto out;
	}
	/* No routing token: with one the client would come back here. */
	ok = peer->SendServerRedirection(peer, 0, t.rdp_address, NULL, user,
					 domain && *domain ? domain : NULL, token, NULL, NULL, 0,
					 NULL, 0, NULL);
	OPENSSL_cleanse(token, sizeof(token));
	if (!ok) {
		log_err("%s: sending %s's redirection failed", c->name, user);
	} else {
		log_info("%s: %s sent to desktop %s: VM %s on host %s (%s)", c->name, user,
			 t.desktop[0] ? t.desktop : "?", t.vm, t.host[0] ? t.host : "?",
			 t.rdp_address);
	}
	c->finished = true;
	ok = FALSE;
out:
	set_in_ops(c, false);
	return ok;
}

/* The front door never gets this far: a client past Capabilities is a bug. */
static BOOL on_post_connect(freerdp_peer *peer)
{
	struct fd_peer *c = (struct fd_peer *)peer->context;

	log_err("%s: a client got past the front door's capabilities", c->name);
	return FALSE;
}

static BOOL on_activate(freerdp_peer *peer)
{
	return on_post_connect(peer);
}

static BOOL context_new(freerdp_peer *peer, rdpContext *ctx)
{
	struct fd_peer *c = (struct fd_peer *)ctx;

	c->client = peer->ContextExtra;
	return TRUE;
}

static void context_free(freerdp_peer *peer, rdpContext *ctx)
{
	(void)peer, (void)ctx;
}

static bool configure(struct fd_peer *c)
{
	struct frontdoor *fd = c->client->fd;
	rdpSettings *st = c->ctx.settings;
	freerdp_peer *peer = c->client->peer;

	if (!freerdp_settings_set_string(st, FreeRDP_CertificateFile, fd->cert) ||
	    !freerdp_settings_set_string(st, FreeRDP_PrivateKeyFile, fd->key))
		return false;
	st->RdpSecurity = FALSE;
	st->UseRdpSecurityLayer = FALSE;
	st->TlsSecurity = TRUE;
	st->NlaSecurity = FALSE;
	st->ExtSecurity = FALSE;
	st->ColorDepth = 32;
	peer->Logon = on_logon;
	peer->Capabilities = on_capabilities;
	peer->PostConnect = on_post_connect;
	peer->Activate = on_activate;
	return true;
}

static void peer_name(int sock, struct fd_peer *c)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	unsigned port = 0;

	snprintf(c->addr, sizeof(c->addr), "?");
	if (getpeername(sock, (struct sockaddr *)&ss, &sl) == 0) {
		if (ss.ss_family == AF_INET) {
			const struct sockaddr_in *in = (const struct sockaddr_in *)&ss;

			inet_ntop(AF_INET, &in->sin_addr, c->addr, sizeof(c->addr));
			port = ntohs(in->sin_port);
		} else if (ss.ss_family == AF_INET6) {
			const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&ss;

			inet_ntop(AF_INET6, &in6->sin6_addr, c->addr, sizeof(c->addr));
			port = ntohs(in6->sin6_port);
		}
	}
	snprintf(c->name, sizeof(c->name), "%s:%u", c->addr, port);
}

static void run_client(struct client *cl)
{
	struct frontdoor *fd = cl->fd;
	freerdp_peer *peer = cl->peer;
	struct fd_peer *c;

	peer->ContextSize = sizeof(struct fd_peer);
	peer->ContextNew = context_new;
	peer->ContextFree = context_free;
	peer->ContextExtra = cl;
	if (!freerdp_peer_context_new(peer)) {
		log_err("cannot set up an RDP peer");
		close(cl->sock);
		return;
	}
	c = (struct fd_peer *)peer->context;
	pthread_mutex_lock(&fd->lock);
	cl->sock_live = true;
	pthread_mutex_unlock(&fd->lock);
	peer_name(cl->sock, c);
	if (!peek_request(c))
		c->finished = true; /* FreeRDP answers it with a negotiation failure */
	if (!configure(c) || !peer->Initialize(peer)) {
		log_err("%s: cannot set up the RDP connection", c->name);
		goto out;
	}
	for (;;) {
		HANDLE h[MAXIMUM_WAIT_OBJECTS];
		DWORD n, status;

		n = peer->GetEventHandles(peer, h, MAXIMUM_WAIT_OBJECTS - 1);
		if (!n)
			break;
		h[n++] = fd->stop;
		status = WaitForMultipleObjects(n, h, FALSE, 1000);
		if (status == WAIT_FAILED || WaitForSingleObject(fd->stop, 0) == WAIT_OBJECT_0)
			break;
		if (!peer->CheckFileDescriptor(peer))
			break;
		if (now_ns() > cl->deadline_ns && !c->finished) {
			log_warn("%s: no logon within %llu s: dropped", c->name,
				 HANDSHAKE_NS / 1000000000ull);
			break;
		}
	}
	if (!c->finished && !c->negotiated && c->asked_nla)
		/* FreeRDP clients set to NLA only still offer TLS too, and
		 * hang up when the server picks it. */
		log_warn("%s: the client left when the front door chose TLS: it asked for NLA, "
			 "which the front door cannot do (TLS only: turn NLA off in the client, "
			 ".rdp enablecredsspsupport:i:0, xfreerdp /sec:tls), or it rejected the "
			 "certificate", c->name);
	else if (!c->finished)
		log_info("%s: left without logging on", c->name);
out:
	pthread_mutex_lock(&fd->lock);
	cl->sock_live = false;
	pthread_mutex_unlock(&fd->lock);
	peer->Disconnect(peer);
	freerdp_peer_context_free(peer);
}

static void *client_main(void *data)
{
	struct client *cl = data;
	struct frontdoor *fd = cl->fd;

	run_client(cl);
	freerdp_peer_free(cl->peer);
	pthread_mutex_lock(&fd->lock);
	cl->peer = NULL;
	cl->done = true;
	pthread_mutex_unlock(&fd->lock);
	return NULL;
}

/* --- accepting ------------------------------------------------------------------ */

/* Join finished client threads; cut off clients past their handshake
 * deadline (a client can stall FreeRDP's blocking TLS handshake, where
 * the client thread cannot look at the clock: shutdown() ends the wait). */
static void reap(struct frontdoor *fd, bool all)
{
	struct client **pp, *cl;
	uint64_t now = now_ns();

	for (;;) {
		struct client *done = NULL;

		pthread_mutex_lock(&fd->lock);
		for (pp = &fd->clients; (cl = *pp); pp = &cl->next) {
			if (cl->done || all) {
				*pp = cl->next;
				fd->nclients--;
				done = cl;
				break;
			}
			if (cl->sock_live && !cl->in_ops && now > cl->deadline_ns + 5000000000ull)
				shutdown(cl->sock, SHUT_RDWR);
		}
		pthread_mutex_unlock(&fd->lock);
		if (!done)
			return;
		pthread_join(done->thread, NULL);
		free(done);
	}
}

static BOOL on_accepted(freerdp_listener *listener, freerdp_peer *peer)
{
	struct frontdoor *fd = listener->info;
	struct client *cl;
	int on = 1, idle = 60, intvl = 10, cnt = 6;

	fcntl(peer->sockfd, F_SETFD, FD_CLOEXEC);
	pthread_mutex_lock(&fd->lock);
	if (fd->nclients >= fd->max_clients) {
		pthread_mutex_unlock(&fd->lock);
		log_warn("%s: refused: %u clients at the front door already", peer->hostname,
			 fd->max_clients);
		close(peer->sockfd);
		freerdp_peer_free(peer);
		return TRUE;
	}
	pthread_mutex_unlock(&fd->lock);
	/* A client that vanished frees its thread within about two minutes. */
	setsockopt(peer->sockfd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on));
	setsockopt(peer->sockfd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
	setsockopt(peer->sockfd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl));
	setsockopt(peer->sockfd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
	cl = calloc(1, sizeof(*cl));
	if (!cl)
		goto fail;
	cl->fd = fd;
	cl->peer = peer;
	cl->sock = peer->sockfd;
	cl->deadline_ns = now_ns() + HANDSHAKE_NS;
	pthread_mutex_lock(&fd->lock);
	if (pthread_create(&cl->thread, NULL, client_main, cl) != 0) {
		pthread_mutex_unlock(&fd->lock);
		free(cl);
		goto fail;
	}
	cl->next = fd->clients;
	fd->clients = cl;
	fd->nclients++;
	pthread_mutex_unlock(&fd->lock);
	return TRUE;
fail:
	log_err("%s: refused: out of memory or threads", peer->hostname);
	close(peer->sockfd);
	freerdp_peer_free(peer);
	return TRUE;
}

static void *accept_main(void *data)
{
	struct frontdoor *fd = data;

	for (;;) {
		HANDLE h[MAXIMUM_WAIT_OBJECTS];
		DWORD n, status;

		n = fd->listener->GetEventHandles(fd->listener, h, MAXIMUM_WAIT_OBJECTS - 1);
		if (!n) {
			log_err("the front door's listener has no handles");
			break;
		}
		h[n++] = fd->stop;
		status = WaitForMultipleObjects(n, h, FALSE, 1000);
		if (status == WAIT_FAILED) {
			log_err("the front door's wait failed");
			break;
		}
		if (WaitForSingleObject(fd->stop, 0) == WAIT_OBJECT_0)
			break;
		if (!fd->listener->CheckFileDescriptor(fd->listener))
			log_warn("the front door's accept failed");
		reap(fd, false);
	}
	return NULL;
}

static void frontdoor_free(struct frontdoor *fd)
{
	if (!fd)
		return;
	if (fd->listener) {
		fd->listener->Close(fd->listener);
		freerdp_listener_free(fd->listener);
	}
	if (fd->stop)
		CloseHandle(fd->stop);
	pthread_mutex_destroy(&fd->lock);
	free(fd->cert);
	free(fd->key);
	free(fd);
}

int frontdoor_start(const struct frontdoor_config *cfg, const struct frontdoor_ops *ops,
		    void *data, struct frontdoor **ret)
{
	struct frontdoor *fd;
	int lfd, r;

	if (!cfg || !cfg->listen || !cfg->cert || !cfg->key || !ops || !ops->authenticate ||
	    !ops->resolve || !ops->issue_token || strlen(cfg->listen) >= sizeof(fd->listen))
		return -EINVAL;
	if (access(cfg->cert, R_OK) < 0 || access(cfg->key, R_OK) < 0)
		return -errno;
	winpr_InitializeSSL(WINPR_SSL_INIT_DEFAULT);
	fd = calloc(1, sizeof(*fd));
	if (!fd)
		return -ENOMEM;
	pthread_mutex_init(&fd->lock, NULL);
	snprintf(fd->listen, sizeof(fd->listen), "%s", cfg->listen);
	fd->ops = ops;
	fd->data = data;
	fd->max_clients = cfg->max_clients ? cfg->max_clients : DEFAULT_MAX_CLIENTS;
	fd->resolve_timeout_s = cfg->resolve_timeout_s ? cfg->resolve_timeout_s
						       : DEFAULT_RESOLVE_TIMEOUT_S;
	fd->token_ttl_s = cfg->token_ttl_s ? cfg->token_ttl_s : DEFAULT_TOKEN_TTL_S;
	fd->cert = strdup(cfg->cert);
	fd->key = strdup(cfg->key);
	fd->stop = CreateEventA(NULL, TRUE, FALSE, NULL);
	fd->listener = freerdp_listener_new();
	if (!fd->cert || !fd->key || !fd->stop || !fd->listener) {
		r = -ENOMEM;
		goto fail;
	}
	lfd = tcp_listen(cfg->listen, 64);
	if (lfd < 0) {
		r = lfd;
		goto fail;
	}
	if (!fd->listener->OpenFromSocket(fd->listener, lfd)) {
		close(lfd);
		r = -EIO;
		goto fail;
	}
	fd->listener->info = fd;
	fd->listener->PeerAccepted = on_accepted;
	if (pthread_create(&fd->thread, NULL, accept_main, fd) != 0) {
		r = -EAGAIN;
		goto fail;
	}
	fd->thread_started = true;
	log_info("RDP front door on %s (TLS only, %u clients at once, tokens valid %u s)",
		 fd->listen, fd->max_clients, fd->token_ttl_s);
	*ret = fd;
	return 0;
fail:
	frontdoor_free(fd);
	return r;
}

void frontdoor_stop(struct frontdoor *fd)
{
	if (!fd)
		return;
	SetEvent(fd->stop);
	if (fd->thread_started)
		pthread_join(fd->thread, NULL);
	/* Every client thread sees stop at its next wake-up; one inside the
	 * broker's ops finishes them first. */
	reap(fd, true);
	frontdoor_free(fd);
}