/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/*
 * Synthetic video, host side (the guest is Linux's hyperv_drm:
 * drivers/gpu/drm/hyperv/hyperv_drm_proto.c; Windows' synthvid speaks the
 * same protocol).  A VMBus device: version negotiation, VRAM location (the
 * guest picks a GPA inside the VMBus MMIO window; skyvm backs it with the
 * VRAM memfd), situation update (mode), supported resolutions, dirty
 * rectangles, pointer position and shape, feature change.
 *
 * Host-initiated resolution changes: hyperv_drm cannot take them (it reads
 * the resolution list once at probe).  vgpu_synthvid_request_resolution()
 * makes the requested size the list's default and sends the list again,
 * unsolicited; a guest that understands it (the test guest) switches and
 * answers with a situation update.  docs/vgpu.md.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "display.h"

struct loop;
struct hv_vmbus;
struct vgpu_synthvid;

#define VGPU_SYNTHVID_CLASS "da0a7802-e377-4aac-8e77-0558eb1073f8"
/* Largest surface we accept: 7680x4320 XRGB8888 must still fit the VRAM. */
#define VGPU_MAX_WIDTH 7680u
#define VGPU_MAX_HEIGHT 4320u

struct vgpu_synthvid_config {
	struct hv_vmbus *vmbus;
	struct loop *loop;
	/* The VRAM: a memfd of vram_size bytes, mapped here read-write.  The
	 * offer's mmio_megabytes is vram_size in MiB. */
	uint8_t *vram;
	size_t vram_size;
	/* The guest's VMBus MMIO window: VRAM_LOCATION must lie inside. */
	uint64_t mmio_base, mmio_size;
	/* Back guest-physical [gpa, gpa + vram_size) with the VRAM (moving it
	 * if it was elsewhere).  0 or -errno. */
	int (*map_vram)(void *data, uint64_t gpa);
	/* The initial resolution (default 1024x768). */
	uint32_t width, height;
	const struct vgpu_display_ops *display; /* may be NULL: headless */
	void *display_data;                     /* for display */
	void *data;                             /* for map_vram */
};

int vgpu_synthvid_new(const struct vgpu_synthvid_config *cfg, struct vgpu_synthvid **ret);
void vgpu_synthvid_free(struct vgpu_synthvid *sv); /* accepts NULL */

/* The current mode (valid=false before the guest set one). */
void vgpu_synthvid_get_mode(struct vgpu_synthvid *sv, struct vgpu_mode *ret);
/* See the top of this file.  -EINVAL for a size out of range or too big
 * for the VRAM, -ENOTCONN before the guest negotiated. */
int vgpu_synthvid_request_resolution(struct vgpu_synthvid *sv, uint32_t width, uint32_t height);

struct vgpu_synthvid_stats {
	bool open, negotiated;
	uint32_t version;         /* major << 16 | minor */
	uint64_t vram_gpa;        /* 0 if not placed */
	uint64_t dirt_messages, dirt_rects, bad_messages;
};
void vgpu_synthvid_get_stats(struct vgpu_synthvid *sv, struct vgpu_synthvid_stats *ret);
