/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/*
 * One RDP session: the worker process's state, shared by session.c (the
 * peer, its callbacks, the event loop, input, pointer), gfx.c (RDPGFX and
 * display control), legacy.c (RemoteFX surface bits) and bitmap.c (planar
 * bitmap updates).
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
#include "bands.h"
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
	OUT_LEGACY,   /* RemoteFX surface bits, or planar bitmap updates */
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
	/* NLA was given a one-time token's NT hash (nla_nt): the token
	 * outstanding for nla_user (nla_token), or the one an auto-reconnect
	 * cookie remembers (nla_arc: the client must show that cookie). */
	bool nla_token, nla_arc;
	uint8_t nla_nt[16];
	bool token_nt;       /* the session logged on with nla_nt's token */
	bool logon_logged;   /* why the logon failed is in the log already */
	char vm[ARC_VM_MAX + 1]; /* the session's VM: its token's, else --vm */
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
	unsigned gfx_surfaces; /* surfaces the client has: ids 0 .. gfx_surfaces - 1 */
	bool gfx_avc;
	bool gfx_planar; /* neither AVC nor RemoteFX: planar tiles in the pipeline */
	/* The desktop's bands (bands.h): surface i shows gfx_bands[i], which
	 * AVC420 encodes with h264[i].  One band but for AVC420. */
	unsigned gfx_nbands;
	struct band gfx_bands[BANDS_MAX];
	struct rcc_h264 *h264[BANDS_MAX];

	/* Legacy surface bits, or bitmap updates (legacy_planar).  rfx and
	 * planar also serve the pipeline's RemoteFX and planar frames. */
	struct rcc_rfx *rfx;
	struct rcc_planar *planar;
	bool legacy_ack;
	bool legacy_planar;

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
/* Every band's next H.264 frame is an IDR (a refresh, a new mode). */
void gfx_force_idr(struct session *s);
/* Free the H.264 encoders (the output path changes). */
void gfx_free_h264(struct session *s);

/* legacy.c: RemoteFX surface bits, else bitmap.c's bitmap updates. */
int legacy_start(struct session *s);
void legacy_stop(struct session *s);
int legacy_send_frame(struct session *s, const struct rcc_surface *surf);

/* bitmap.c: planar Bitmap Updates for clients with neither the pipeline
 * nor RemoteFX.  -EPROTONOSUPPORT for a client they cannot serve either. */
int bitmap_start(struct session *s);
int bitmap_send_frame(struct session *s, const struct rcc_surface *surf);
