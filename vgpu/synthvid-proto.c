// SPDX-License-Identifier: GPL-3.0-or-later
#include "synthvid-proto.h"

#include <errno.h>
#include <string.h>

#include "synthvid.h"

const char *synthvid_msg_type_name(uint32_t type)
{
	switch (type) {
	case SYNTHVID_ERROR:
		return "error";
	case SYNTHVID_VERSION_REQUEST:
		return "version request";
	case SYNTHVID_VERSION_RESPONSE:
		return "version response";
	case SYNTHVID_VRAM_LOCATION:
		return "VRAM location";
	case SYNTHVID_VRAM_LOCATION_ACK:
		return "VRAM location ack";
	case SYNTHVID_SITUATION_UPDATE:
		return "situation update";
	case SYNTHVID_SITUATION_UPDATE_ACK:
		return "situation update ack";
	case SYNTHVID_POINTER_POSITION:
		return "pointer position";
	case SYNTHVID_POINTER_SHAPE:
		return "pointer shape";
	case SYNTHVID_FEATURE_CHANGE:
		return "feature change";
	case SYNTHVID_DIRT:
		return "dirt";
	case SYNTHVID_RESOLUTION_REQUEST:
		return "resolution request";
	case SYNTHVID_RESOLUTION_RESPONSE:
		return "resolution response";
	default:
		return "unknown";
	}
}

/* The fixed part of each type's body; 0 for types we do not know. */
static size_t body_min(uint32_t type)
{
	switch (type) {
	case SYNTHVID_VERSION_REQUEST:
		return sizeof(struct synthvid_version_req);
	case SYNTHVID_VERSION_RESPONSE:
		return sizeof(struct synthvid_version_resp);
	case SYNTHVID_VRAM_LOCATION:
		return sizeof(struct synthvid_vram_location);
	case SYNTHVID_VRAM_LOCATION_ACK:
		return sizeof(struct synthvid_vram_location_ack);
	case SYNTHVID_SITUATION_UPDATE:
		return sizeof(struct synthvid_situation_update);
	case SYNTHVID_SITUATION_UPDATE_ACK:
		return sizeof(struct synthvid_situation_update_ack);
	case SYNTHVID_POINTER_POSITION:
		return sizeof(struct synthvid_pointer_position);
	case SYNTHVID_POINTER_SHAPE:
		return sizeof(struct synthvid_pointer_shape);
	case SYNTHVID_FEATURE_CHANGE:
		return sizeof(struct synthvid_feature_change);
	case SYNTHVID_DIRT:
		return sizeof(struct synthvid_dirt);
	case SYNTHVID_RESOLUTION_REQUEST:
		return sizeof(struct synthvid_resolution_req);
	case SYNTHVID_RESOLUTION_RESPONSE:
		return sizeof(struct synthvid_resolution_resp);
	default:
		return 0;
	}
}

int synthvid_parse(const uint8_t *buf, size_t len, struct synthvid_msg *m)
{
	struct synthvid_pipe_hdr pipe;
	struct synthvid_msg_hdr vid;
	const uint8_t *b;
	size_t need;

	memset(m, 0, sizeof(*m));
	if (len < SYNTHVID_HDR_SIZE)
		return -EBADMSG;
	memcpy(&pipe, buf, sizeof(pipe));
	memcpy(&vid, buf + sizeof(pipe), sizeof(vid));
	m->type = vid.type; /* for the caller's log, whatever follows */
	/* Linux drops anything but PIPE_MSG_DATA unread (hyperv_receive()). */
	if (pipe.type != SYNTHVID_PIPE_MSG_DATA)
		return -EBADMSG;
	if (pipe.size < sizeof(vid) || pipe.size > len - sizeof(pipe))
		return -EBADMSG;
	if (vid.size < sizeof(vid) || vid.size > pipe.size)
		return -EBADMSG;
	m->body = b = buf + SYNTHVID_HDR_SIZE;
	m->body_len = vid.size - sizeof(vid);
	need = body_min(vid.type);
	if (!need)
		return -ENOTSUP;
	if (m->body_len < need)
		return -EBADMSG;

	switch (vid.type) {
	case SYNTHVID_POINTER_SHAPE:
		memcpy(&m->u.ptr_shape.hdr, b, need);
		m->u.ptr_shape.data = b + need;
		m->u.ptr_shape.data_len = m->body_len - need;
		break;
	case SYNTHVID_DIRT:
		memcpy(&m->u.dirt.hdr, b, need);
		m->u.dirt.rects = b + need;
		/* Never more rects than the message holds. */
		m->u.dirt.nrects = MIN((size_t)m->u.dirt.hdr.dirt_count,
				       (m->body_len - need) / sizeof(struct synthvid_rect));
		break;
	case SYNTHVID_RESOLUTION_RESPONSE:
		memcpy(&m->u.res_resp.hdr, b, need);
		if (m->u.res_resp.hdr.resolution_count > SYNTHVID_MAX_RESOLUTIONS ||
		    m->body_len < need + m->u.res_resp.hdr.resolution_count *
						 sizeof(struct synthvid_resolution))
			return -EBADMSG;
		m->u.res_resp.list = b + need;
		break;
	default:
		memcpy(&m->u, b, need);
		break;
	}
	return 0;
}

void synthvid_dirt_rect(const struct synthvid_msg *m, unsigned i, struct synthvid_rect *ret)
{
	memcpy(ret, m->u.dirt.rects + (size_t)i * sizeof(*ret), sizeof(*ret));
}

unsigned synthvid_clip_dirt(const struct synthvid_msg *m, uint32_t width, uint32_t height,
			    struct vgpu_rect *out)
{
	unsigned n = 0;

	for (unsigned i = 0; i < m->u.dirt.nrects; i++) {
		struct synthvid_rect r;
		int64_t x1, y1, x2, y2;

		synthvid_dirt_rect(m, i, &r);
		x1 = MAX((int64_t)r.x1, 0);
		y1 = MAX((int64_t)r.y1, 0);
		x2 = MIN((int64_t)r.x2, (int64_t)width);
		y2 = MIN((int64_t)r.y2, (int64_t)height);
		if (x2 <= x1 || y2 <= y1)
			continue;
		out[n++] = (struct vgpu_rect){
			.x = x1, .y = y1, .w = x2 - x1, .h = y2 - y1,
		};
	}
	return n;
}

int synthvid_situation_mode(const struct synthvid_situation_update *s, uint64_t vram_size,
			    struct vgpu_mode *ret)
{
	const struct synthvid_video_output *o = &s->video_output[0];
	uint64_t w = o->width_pixels, h = o->height_pixels, pitch = o->pitch_bytes;

	memset(ret, 0, sizeof(*ret));
	if (!s->video_output_count)
		return -EINVAL;
	if (!o->active)
		return 0;
	/* hyperv_drm sets XRGB8888 and pitch * height <= VRAM itself
	 * (hyperv_pipe_check()); 16 bpp was WIN7's, which we refuse. */
	if (o->depth_bits != 32)
		return -EINVAL;
	if (!w || w > VGPU_MAX_WIDTH || !h || h > VGPU_MAX_HEIGHT)
		return -EINVAL;
	if (pitch < w * 4 || pitch > SYNTHVID_MAX_PITCH)
		return -EINVAL;
	if (o->vram_offset > vram_size || pitch * h > vram_size - o->vram_offset)
		return -EINVAL;
	*ret = (struct vgpu_mode){
		.width = w,
		.height = h,
		.stride = pitch,
		.format = VGPU_FORMAT_XRGB8888,
		.vram_offset = o->vram_offset,
		.valid = true,
	};
	return 0;
}

bool synthvid_resolution_ok(uint64_t vram_size, uint32_t width, uint32_t height)
{
	return width && height && width <= VGPU_MAX_WIDTH && height <= VGPU_MAX_HEIGHT &&
	       (uint64_t)width * height * 4 <= vram_size;
}

/* What we offer besides the configured size; hyperv_drm takes the
 * largest width and height as its limits and the default as preferred
 * (hyperv_get_supported_resolution()), Windows lists them. */
static const struct synthvid_resolution standard_sizes[] = {
	{ 800, 600 },   { 1024, 768 },  { 1152, 864 },  { 1280, 720 },  { 1280, 800 },
	{ 1280, 1024 }, { 1366, 768 },  { 1440, 900 },  { 1600, 900 },  { 1600, 1200 },
	{ 1680, 1050 }, { 1920, 1080 }, { 1920, 1200 }, { 2560, 1440 }, { 2560, 1600 },
	{ 3840, 2160 },
};

static bool res_before(const struct synthvid_resolution *a, const struct synthvid_resolution *b)
{
	uint32_t aa = (uint32_t)a->width * a->height, ab = (uint32_t)b->width * b->height;

	return aa < ab || (aa == ab && a->width < b->width);
}

unsigned synthvid_resolutions(uint64_t vram_size, uint32_t want_w, uint32_t want_h, unsigned max,
			      struct synthvid_resolution *out, unsigned *default_index)
{
	struct synthvid_resolution all[ARRAY_SIZE(standard_sizes) + 1];
	struct synthvid_resolution want = { 0, 0 };
	unsigned n = 0, def = 0, keep;

	/* VGPU_MAX_* keep it within the u16 fields. */
	static_assert(VGPU_MAX_WIDTH <= UINT16_MAX && VGPU_MAX_HEIGHT <= UINT16_MAX, "u16 sizes");
	if (synthvid_resolution_ok(vram_size, want_w, want_h))
		want = (struct synthvid_resolution){ want_w, want_h };
	max = MIN(MAX(max, 1u), SYNTHVID_MAX_RESOLUTIONS);
	/* Sorted insertion of the standard sizes that fit, then the default. */
	for (unsigned i = 0; i <= ARRAY_SIZE(standard_sizes); i++) {
		struct synthvid_resolution r = i < ARRAY_SIZE(standard_sizes) ? standard_sizes[i]
									  : want;
		unsigned at = 0;
		bool dup = false;

		if (!synthvid_resolution_ok(vram_size, r.width, r.height))
			continue;
		for (unsigned j = 0; j < n; j++) {
			if (all[j].width == r.width && all[j].height == r.height)
				dup = true;
			if (res_before(&all[j], &r))
				at = j + 1;
		}
		if (dup)
			continue;
		memmove(&all[at + 1], &all[at], (n - at) * sizeof(all[0]));
		all[at] = r;
		n++;
	}
	for (unsigned j = 0; j < n; j++)
		if (all[j].width == want.width && all[j].height == want.height)
			def = j;
	/* Cut to max, the default kept in the last slot if it would go. */
	keep = MIN(n, max);
	memcpy(out, all, keep * sizeof(all[0]));
	if (def >= keep && keep) {
		out[keep - 1] = all[def];
		def = keep - 1;
	}
	*default_index = def;
	return keep;
}

/* ---- EDID ---- */

struct cvt_timing {
	uint32_t clock_khz;
	uint32_t hblank, hfront, hsync;
	uint32_t vblank, vfront, vsync;
};

/* CVT 1.2 reduced blanking (v1) at 60 Hz: 160 pixels of horizontal
 * blanking, at least 460 us of vertical blanking, clock in 250 kHz steps. */
static void cvt_rb(uint32_t w, uint32_t h, struct cvt_timing *t)
{
	const uint64_t frame_ns = 1000000000u / 60, min_vbi_ns = 460000;
	uint64_t line_ns, lines, vtotal;
	uint32_t vsync = 10;

	/* The vsync width tells the aspect ratio (CVT table 3-2). */
	if (h * 4 == w * 3)
		vsync = 4;
	else if (h * 16 == w * 9)
		vsync = 5;
	else if (h * 16 == w * 10)
		vsync = 6;
	else if (h * 5 == w * 4 || h * 15 == w * 9)
		vsync = 7;
	line_ns = (frame_ns - min_vbi_ns) / h;
	lines = min_vbi_ns / (line_ns ? line_ns : 1) + 1;
	lines = MAX(lines, (uint64_t)3 + vsync + 6);
	vtotal = h + lines;
	*t = (struct cvt_timing){
		.clock_khz = (uint32_t)((uint64_t)(w + 160) * vtotal * 60 / 250000 * 250),
		.hblank = 160, .hfront = 48, .hsync = 32,
		.vblank = lines, .vfront = 3, .vsync = vsync,
	};
}

/* Whether an 18-byte detailed timing descriptor can describe w x h. */
static bool dtd_fits(uint32_t w, uint32_t h)
{
	struct cvt_timing t;

	if (!w || !h || w > 4095 || h > 4095)
		return false;
	cvt_rb(w, h, &t);
	return t.clock_khz / 10 <= UINT16_MAX && t.vblank <= 4095;
}

/* Physical size at 96 dpi, in mm. */
static uint32_t px_to_mm(uint32_t px)
{
	return px * 254 / 960;
}

static void put_dtd(uint8_t *d, uint32_t w, uint32_t h)
{
	struct cvt_timing t;
	uint32_t wmm = MIN(px_to_mm(w), 4095u), hmm = MIN(px_to_mm(h), 4095u);
	uint16_t clock;

	cvt_rb(w, h, &t);
	clock = t.clock_khz / 10;
	d[0] = clock;
	d[1] = clock >> 8;
	d[2] = w;
	d[3] = t.hblank;
	d[4] = (w >> 8) << 4 | t.hblank >> 8;
	d[5] = h;
	d[6] = t.vblank;
	d[7] = (h >> 8) << 4 | t.vblank >> 8;
	d[8] = t.hfront;
	d[9] = t.hsync;
	d[10] = (t.vfront & 0xf) << 4 | (t.vsync & 0xf);
	d[11] = (t.hfront >> 8 & 3) << 6 | (t.hsync >> 8 & 3) << 4 | (t.vfront >> 4 & 3) << 2 |
		(t.vsync >> 4 & 3);
	d[12] = wmm;
	d[13] = hmm;
	d[14] = (wmm >> 8) << 4 | hmm >> 8;
	d[15] = d[16] = 0;
	/* Digital separate sync, +hsync -vsync (CVT-RB). */
	d[17] = 0x18 | 0x02;
}

/* A display descriptor: tag, then 13 bytes of text padded as EDID wants. */
static void put_text_descriptor(uint8_t *d, uint8_t tag, const char *s)
{
	size_t n = MIN(strlen(s), (size_t)13);

	memset(d, 0, 18);
	d[3] = tag;
	memcpy(d + 5, s, n);
	if (n < 13) {
		d[5 + n] = '\n';
		memset(d + 6 + n, ' ', 12 - n);
	}
}

/* A standard timing code for w x h at 60 Hz, or false if it has none. */
static bool std_timing(uint32_t w, uint32_t h, uint8_t out[2])
{
	static const struct {
		uint8_t bits, num, den;
	} aspects[] = { { 0, 10, 16 }, { 1, 3, 4 }, { 2, 4, 5 }, { 3, 9, 16 } };

	if (w % 8 || w < 256 || w > 2288)
		return false;
	for (unsigned i = 0; i < ARRAY_SIZE(aspects); i++) {
		uint32_t num = w * aspects[i].num;

		if (num % aspects[i].den == 0 && num / aspects[i].den == h) {
			out[0] = w / 8 - 31;
			out[1] = aspects[i].bits << 6; /* refresh - 60 */
			return true;
		}
	}
	return false;
}

void synthvid_build_edid(uint8_t edid[SYNTHVID_EDID_SIZE], const struct synthvid_resolution *list,
			 unsigned n, unsigned default_index)
{
	static const uint8_t header[8] = { 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0 };
	/* sRGB primaries and white point, as most monitors give them. */
	static const uint8_t srgb[10] = { 0xee, 0x91, 0xa3, 0x54, 0x4c, 0x99, 0x26, 0x0f, 0x50,
					  0x54 };
	uint32_t pw = 0, ph = 0, max_clock_khz = 0, max_hfreq = 0;
	unsigned nstd = 0;
	uint8_t *d, sum = 0;

	memset(edid, 0, SYNTHVID_EDID_SIZE);
	memcpy(edid, header, sizeof(header));
	/* Manufacturer "SKL" (three 5-bit letters, big-endian), product 1. */
	edid[8] = ('S' - '@') << 2 | ('K' - '@') >> 3;
	edid[9] = (('K' - '@') & 7) << 5 | ('L' - '@');
	edid[10] = 1;
	edid[17] = 2024 - 1990; /* week 0: year of manufacture */
	edid[18] = 1;
	edid[19] = 4;
	edid[20] = 0xa0; /* digital, 8 bits per colour */
	edid[23] = 120;  /* gamma 2.2 */
	edid[24] = 0x06; /* sRGB, preferred timing is native, RGB 4:4:4 */
	memcpy(edid + 25, srgb, sizeof(srgb));
	memset(edid + 38, 0x01, 16); /* standard timings: unused */

	/* The preferred timing: the default, or the largest we can describe. */
	if (default_index < n && dtd_fits(list[default_index].width, list[default_index].height)) {
		pw = list[default_index].width;
		ph = list[default_index].height;
	} else {
		for (unsigned i = 0; i < n; i++)
			if (dtd_fits(list[i].width, list[i].height) &&
			    (uint64_t)list[i].width * list[i].height > (uint64_t)pw * ph) {
				pw = list[i].width;
				ph = list[i].height;
			}
	}
	for (unsigned i = 0; i < n; i++) {
		uint32_t w = list[i].width, h = list[i].height;
		struct cvt_timing t;

		if (!w || !h)
			continue;
		cvt_rb(w, h, &t);
		max_clock_khz = MAX(max_clock_khz, t.clock_khz);
		max_hfreq = MAX(max_hfreq, (uint32_t)((uint64_t)t.clock_khz / (w + t.hblank) + 1));
		if (w == 640 && h == 480)
			edid[35] |= 0x20;
		else if (w == 800 && h == 600)
			edid[35] |= 0x01;
		else if (w == 1024 && h == 768)
			edid[36] |= 0x08;
		else if (nstd < 8 && std_timing(w, h, edid + 38 + 2 * nstd))
			nstd++;
	}
	if (pw) {
		edid[21] = MIN((px_to_mm(pw) + 5) / 10, 255u);
		edid[22] = MIN((px_to_mm(ph) + 5) / 10, 255u);
	}

	d = edid + 54;
	if (pw)
		put_dtd(d, pw, ph);
	else
		put_text_descriptor(d, 0x10, "");
	/* Range limits: 50-75 Hz vertically, horizontally and in pixel
	 * clock what the list needs; no secondary timing formula. */
	d += 18;
	memset(d, 0, 18);
	d[3] = 0xfd;
	d[5] = 50;
	d[6] = 75;
	d[7] = 30;
	d[8] = MIN(MAX(max_hfreq, 31u), 255u);
	d[9] = MIN(MAX((max_clock_khz + 9999) / 10000, 1u), 255u);
	d[10] = 0x01;
	d[11] = '\n';
	memset(d + 12, ' ', 6);
	d += 18;
	put_text_descriptor(d, 0xfc, "Skylight");
	d += 18;
	put_text_descriptor(d, 0x10, "");
	memset(d + 5, 0, 13); /* a dummy descriptor is all zeros */

	for (unsigned i = 0; i < SYNTHVID_EDID_SIZE - 1; i++)
		sum += edid[i];
	edid[SYNTHVID_EDID_SIZE - 1] = -sum;
}

/* ---- Encoders ---- */

int synthvid_encode(uint8_t *buf, size_t max, uint32_t type, const void *body, size_t body_len)
{
	struct synthvid_pipe_hdr pipe;
	struct synthvid_msg_hdr vid;

	if (body_len > SYNTHVID_MAX_PACKET - SYNTHVID_HDR_SIZE)
		return -EINVAL;
	if (max < SYNTHVID_HDR_SIZE + body_len)
		return -ENOBUFS;
	vid.type = type;
	vid.size = sizeof(vid) + body_len;
	/* As hyperv_sendpacket(): pipe size = video size. */
	pipe.type = SYNTHVID_PIPE_MSG_DATA;
	pipe.size = vid.size;
	memcpy(buf, &pipe, sizeof(pipe));
	memcpy(buf + sizeof(pipe), &vid, sizeof(vid));
	if (body_len)
		memcpy(buf + SYNTHVID_HDR_SIZE, body, body_len);
	return SYNTHVID_HDR_SIZE + body_len;
}

int synthvid_encode_version_resp(uint8_t *buf, size_t max, uint32_t version, bool accepted)
{
	struct synthvid_version_resp r = {
		.version = version,
		.is_accepted = accepted,
		.max_video_outputs = 1,
	};

	return synthvid_encode(buf, max, SYNTHVID_VERSION_RESPONSE, &r, sizeof(r));
}

int synthvid_encode_vram_ack(uint8_t *buf, size_t max, uint64_t user_ctx)
{
	struct synthvid_vram_location_ack r = { .user_ctx = user_ctx };

	return synthvid_encode(buf, max, SYNTHVID_VRAM_LOCATION_ACK, &r, sizeof(r));
}

int synthvid_encode_situation_ack(uint8_t *buf, size_t max, uint64_t user_ctx)
{
	struct synthvid_situation_update_ack r = { .user_ctx = user_ctx };

	return synthvid_encode(buf, max, SYNTHVID_SITUATION_UPDATE_ACK, &r, sizeof(r));
}

int synthvid_encode_feature_change(uint8_t *buf, size_t max,
				   const struct synthvid_feature_change *f)
{
	return synthvid_encode(buf, max, SYNTHVID_FEATURE_CHANGE, f, sizeof(*f));
}

int synthvid_encode_resolution_resp(uint8_t *buf, size_t max,
				    const uint8_t edid[SYNTHVID_EDID_SIZE],
				    const struct synthvid_resolution *list, unsigned n,
				    unsigned default_index)
{
	uint8_t body[sizeof(struct synthvid_resolution_resp) +
		     SYNTHVID_MAX_RESOLUTIONS * sizeof(struct synthvid_resolution)];
	struct synthvid_resolution_resp r;

	if (!n || n > SYNTHVID_MAX_RESOLUTIONS || default_index >= n)
		return -EINVAL;
	memcpy(r.edid_block, edid, SYNTHVID_EDID_SIZE);
	r.resolution_count = n;
	r.default_resolution_index = default_index;
	/* Unused by Linux; what Hyper-V means by it is not documented. */
	r.is_standard = 0;
	memcpy(body, &r, sizeof(r));
	memcpy(body + sizeof(r), list, n * sizeof(*list));
	return synthvid_encode(buf, max, SYNTHVID_RESOLUTION_RESPONSE, body,
			       sizeof(r) + n * sizeof(*list));
}

/* ---- Pointer shape ---- */

void synthvid_cursor_reset(struct synthvid_cursor *c)
{
	c->width = c->height = c->hot_x = c->hot_y = 0;
	c->filled = 0;
	c->next_part = -1;
}

int synthvid_cursor_add(struct synthvid_cursor *c, const struct synthvid_msg *m)
{
	const struct synthvid_pointer_shape *s = &m->u.ptr_shape.hdr;
	uint32_t total, take;

	if (!s->is_argb) {
		synthvid_cursor_reset(c);
		return -ENOTSUP;
	}
	if (!s->width || s->width > SYNTHVID_CURSOR_MAX || !s->height ||
	    s->height > SYNTHVID_CURSOR_MAX)
		goto bad;
	total = s->width * s->height * 4;

	if (s->part_idx == SYNTHVID_CURSOR_COMPLETE || s->part_idx == 0) {
		if (s->part_idx == SYNTHVID_CURSOR_COMPLETE && m->u.ptr_shape.data_len < total)
			goto bad;
		c->width = s->width;
		c->height = s->height;
		c->hot_x = MIN(s->hot_x, s->width - 1);
		c->hot_y = MIN(s->hot_y, s->height - 1);
		c->filled = 0;
		c->next_part = 1;
	} else if ((int)s->part_idx != c->next_part || s->width != c->width ||
		   s->height != c->height) {
		goto bad;
	} else {
		c->next_part++;
	}
	take = MIN(m->u.ptr_shape.data_len, total - c->filled);
	memcpy(c->argb + c->filled, m->u.ptr_shape.data, take);
	c->filled += take;
	if (c->filled < total)
		return 0;
	c->next_part = -1;
	return 1;
bad:
	synthvid_cursor_reset(c);
	return -EINVAL;
}
