/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/*
 * One RDP session: the worker process's state, shared by session.c (the
 * peer, its callbacks, the event loop, input, pointer), gfx.c (RDPGFX and
 * display control) and legacy.c (RemoteFX surface bits).
 *
 * Threads: everything runs on the worker's main thread except FreeRDP's
 * RDPGFX and display-control channel threads, which call gfx.c's
 * callbacks.  Those only post to `posted` under `lock` and wake the main
 * loop through wake_fd; the main thread owns every other field.
 */

/* Before FreeRDP's headers: theirs define MIN/MAX only if still unset. */
#include "util.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <freerdp/freerdp.h>
#include <freerdp/peer.h>
#include <freerdp/server/disp.h>
#include <freerdp/server/rdpgfx.h>

#include "arc.h"
#include "input.h"
#include "pointer.h"
#include "rcc.h"
#include "skyrdp.h"
#include "viewer.h"

/* Damage rectangles per frame (RDPGFX metablock / RemoteFX rects). */
#define SESSION_MAX_RECTS 64
/* Frames in flight before the pacer waits for an acknowledgement. */
#define SESSION_MAX_UNACKED 3

enum session_out {
	OUT_NONE,     /* not active yet */
	OUT_WAIT_GFX, /* active; waiting for the client's RDPGFX caps */
	OUT_GFX,      /* RDPGFX with AVC420 */
	OUT_LEGACY,   /* RemoteFX surface bits */
};

struct session {
	rdpContext ctx; /* first: FreeRDP allocates peer->ContextSize bytes */
	const struct skyrdp_config *cfg;
	freerdp_peer *peer;
	HANDLE vcm;
	char host[64];
	bool refuse;
	uint64_t started_ns;

	/* Logon. */
	char nla_user[ARC_USER_MAX + 1]; /* whose NT hash NLA was given */
	char user[ARC_USER_MAX + 1];     /* who is logged on */
	bool authenticated;
	bool have_arc;
	struct arc_cookie arc;

	/* The VM's display. */
	struct viewer *viewer;
	HANDLE viewer_event;
	struct viewer_mode mode; /* what the encoders are set up for */
	uint32_t width, height;  /* the desktop as the client knows it */
	struct rcc_damage *damage;
	struct rcc_pacer *pacer;
	bool activated, suppressed;
	enum session_out out;
	enum { CAPS_UNKNOWN, CAPS_AVC, CAPS_NO_AVC } gfx_caps;
	uint64_t gfx_deadline_ns;
	bool channels_tried;
	bool mode_pending; /* mode changed, not yet applied */
	uint32_t frame_id;
	uint64_t frames, bytes;

	/* RDPGFX. */
	RdpgfxServerContext *gfx;
	UINT32 gfx_channel_id;
	bool gfx_refused;
	bool gfx_surface;
	bool gfx_avc;
	struct rcc_h264 *h264;

	/* Legacy surface bits. */
	struct rcc_rfx *rfx;
	bool legacy_ack;

	/* Display control. */
	DispServerContext *disp;
	UINT32 disp_channel_id;
	bool want_pending;
	uint32_t want_w, want_h;
	uint64_t want_sent_ns;

	/* Pointer. */
	struct pointer_shape shape;
	bool have_shape, pointer_visible;
	uint64_t last_mouse_ns;
	struct input_mouse mouse;

	/* Posted by the channel threads. */
	pthread_mutex_t lock;
	int wake_fd;
	HANDLE wake_event;
	struct {
		bool caps, caps_avc;
		bool ack;
		uint32_t ack_id, queue_depth;
		bool layout;
		uint32_t layout_w, layout_h;
	} posted;
};

/* session.c: wake the loop after posting (channel threads). */
void session_wake(struct session *s);

/* gfx.c: RDPGFX and display control. */
int gfx_open(struct session *s);
void gfx_close(struct session *s);
int disp_open(struct session *s);
/* The VCM's DVC creation callback (WTSVirtualChannelManagerSetDVCCreationCallback). */
BOOL gfx_dvc_created(void *data, UINT32 id, INT32 status);
void disp_close(struct session *s);
/* After the caps were posted: make the surface (ResetGraphics etc.). */
int gfx_start(struct session *s);
/* The desktop size changed: ResetGraphics and a new surface. */
int gfx_resize(struct session *s);
/* Encode and send the damage; 0 also when there was nothing to send. */
int gfx_send_frame(struct session *s, const struct rcc_surface *surf);

/* legacy.c: RemoteFX surface bits. */
int legacy_start(struct session *s);
void legacy_stop(struct session *s);
int legacy_send_frame(struct session *s, const struct rcc_surface *surf);
