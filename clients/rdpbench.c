// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * rdpbench: a headless RDP client (libfreerdp-client2) that measures what a
 * user would see of an animation whose top-left corner carries two rows of
 * sixteen 32x32 black/white cells, most significant bit first: row 1 the
 * frame number mod 65536, row 2 the sender's CLOCK_REALTIME in ms mod 65536
 * (the test guest's `desktop=anim`, tests/bench/anim-x11.c).
 *
 *   rdpbench [--seconds N] [--warmup N] /v:HOST:PORT /u:U /p:P /cert:ignore
 *            /gfx:AVC420 /size:WxH ...
 *
 * The picture is GDI-decoded into gdi->primary_buffer (BGRX32) and sampled
 * at each cell's centre after every EndPaint and graphics-pipeline EndFrame.
 * After the warm-up, for N seconds, it counts distinct frame numbers (fps),
 * the gaps between them (dropped), the latency of each new frame (this
 * host's CLOCK_REALTIME ms minus the stamp, mod 65536: a shared clock is
 * needed), the TCP bytes received (tcp_info) and its own CPU time, then
 * prints one JSON line.  Samples with a cell neither dark nor bright are
 * left out ("unclear"); a frame number that goes back or jumps by more than
 * 3 s of frames restarts the count ("resyncs") instead of counting drops.
 * With --first-frame it measures only how long a logon takes: from the
 * start of the connection (redirections included) to the end of the logon
 * and to the first picture, then disconnects.
 * Exit status: 0, or 1 when it could not connect or saw no frame.
 */

#include <errno.h>
#include <dirent.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <freerdp/freerdp.h>
#include <freerdp/client.h>
#include <freerdp/client/cmdline.h>
#include <freerdp/client/channels.h>
#include <freerdp/client/rdpgfx.h>
#include <freerdp/channels/channels.h>
#include <freerdp/event.h>
#include <freerdp/gdi/gdi.h>
#include <freerdp/gdi/gfx.h>
#include <winpr/synch.h>

#define CELL 32
#define BITS 16
#define MAX_SAMPLES (1 << 20)
#define MAX_GAP 90	/* frames: 3 s at 30 fps */

struct bench {
	rdpClientContext common;	/* first: FreeRDP's client context */
	pcRdpgfxEndFrame gfx_end_frame;	/* the GDI's, which we wrap */
	pEndPaint end_paint;

	int measuring;
	int have_last;
	uint16_t last_frame;
	uint64_t frames;	/* distinct frame numbers seen while measuring */
	uint64_t dropped;	/* frame numbers skipped while measuring */
	uint64_t updates;	/* samples taken while measuring */
	uint64_t bad_latency;	/* stamps more than 32 s off */
	uint64_t unclear;	/* samples with a cell neither black nor white */
	uint64_t resyncs;	/* frame numbers that went back or jumped */
	double *lat;
	size_t nlat;
	uint64_t any_frames;	/* frames seen at all (warm-up included) */
	double first_paint;	/* CLOCK_MONOTONIC of the first picture, or 0 */
};

static double now_s(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint16_t realtime_ms16(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint16_t)((uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

/*
 * One row of cells: BITS bits, MSB at the left; a cell is 1 when bright, 0
 * when dark.  -1 when a cell is neither (a blurred or half-drawn picture).
 */
static int read_row(const rdpGdi *gdi, int row)
{
	int v = 0;
	int y = row * CELL + CELL / 2;

	for (int i = 0; i < BITS; i++) {
		const uint8_t *p = gdi->primary_buffer + (size_t)y * gdi->stride +
				   (size_t)(i * CELL + CELL / 2) * 4;
		unsigned luma = (p[0] + 2u * p[1] + p[2]) / 4;	/* B G R X */

		if (luma > 64 && luma < 192)
			return -1;
		v = v << 1 | (luma >= 128);
	}
	return v;
}

static void sample(struct bench *b)
{
	rdpGdi *gdi = b->common.context.gdi;
	uint16_t frame, stamp, now;
	int f, t;

	if (!gdi || !gdi->primary_buffer)
		return;
	if (!b->first_paint)
		b->first_paint = now_s(CLOCK_MONOTONIC);
	if (gdi->width < BITS * CELL || gdi->height < 2 * CELL)
		return;
	now = realtime_ms16();
	f = read_row(gdi, 0);
	t = read_row(gdi, 1);
	if (b->measuring)
		b->updates++;
	if (f < 0 || t < 0) {
		if (b->measuring)
			b->unclear++;
		return;
	}
	frame = (uint16_t)f;
	stamp = (uint16_t)t;
	if (b->have_last && frame == b->last_frame)
		return;
	if (b->have_last) {
		uint16_t gap = (uint16_t)(frame - b->last_frame);

		/*
		 * A step backwards or a jump of more than MAX_GAP frames is a
		 * misread or a restarted sender, not drops: start again from it.
		 */
		if (gap > MAX_GAP) {
			if (b->measuring)
				b->resyncs++;
		} else if (b->measuring) {
			b->dropped += gap - 1u;
		}
	}
	b->have_last = 1;
	b->last_frame = frame;
	b->any_frames++;
	if (!b->measuring)
		return;
	b->frames++;
	uint16_t lat = (uint16_t)(now - stamp);

	if (lat >= 32768) {
		b->bad_latency++;
		return;
	}
	if (b->nlat < MAX_SAMPLES)
		b->lat[b->nlat++] = lat;
}

static BOOL bench_end_paint(rdpContext *context)
{
	struct bench *b = (struct bench *)context;
	BOOL ok = b->end_paint ? b->end_paint(context) : TRUE;

	sample(b);
	return ok;
}

static UINT bench_end_frame(RdpgfxClientContext *gfx, const RDPGFX_END_FRAME_PDU *pdu)
{
	rdpGdi *gdi = gfx->custom;
	struct bench *b = (struct bench *)gdi->context;
	UINT rc = b->gfx_end_frame ? b->gfx_end_frame(gfx, pdu) : CHANNEL_RC_OK;

	sample(b);
	return rc;
}

static void on_channel_connected(void *ctx, ChannelConnectedEventArgs *e)
{
	rdpContext *context = ctx;
	struct bench *b = ctx;

	if (strcmp(e->name, RDPGFX_DVC_CHANNEL_NAME) == 0) {
		RdpgfxClientContext *gfx = e->pInterface;

		gdi_graphics_pipeline_init(context->gdi, gfx);
		b->gfx_end_frame = gfx->EndFrame;
		gfx->EndFrame = bench_end_frame;
	}
}

static void on_channel_disconnected(void *ctx, ChannelDisconnectedEventArgs *e)
{
	rdpContext *context = ctx;

	if (strcmp(e->name, RDPGFX_DVC_CHANNEL_NAME) == 0)
		gdi_graphics_pipeline_uninit(context->gdi, e->pInterface);
}

static BOOL bench_pre_connect(freerdp *instance)
{
	rdpContext *context = instance->context;

	PubSub_SubscribeChannelConnected(context->pubSub, on_channel_connected);
	PubSub_SubscribeChannelDisconnected(context->pubSub, on_channel_disconnected);
	return freerdp_client_load_addins(context->channels, instance->settings);
}

static BOOL bench_post_connect(freerdp *instance)
{
	struct bench *b = (struct bench *)instance->context;

	if (!gdi_init(instance, PIXEL_FORMAT_BGRX32))
		return FALSE;
	b->end_paint = instance->update->EndPaint;
	instance->update->EndPaint = bench_end_paint;
	return TRUE;
}

static void bench_post_disconnect(freerdp *instance)
{
	gdi_free(instance);
}

/* Certificates: accept whatever the server shows (this is a local benchmark). */
static DWORD bench_verify_certificate(freerdp *instance, const char *host, UINT16 port,
				      const char *common_name, const char *subject,
				      const char *issuer, const char *fingerprint, DWORD flags)
{
	(void)instance; (void)host; (void)port; (void)common_name; (void)subject;
	(void)issuer; (void)fingerprint; (void)flags;
	return 2;	/* accept for this session only */
}

static DWORD bench_verify_changed_certificate(freerdp *instance, const char *host, UINT16 port,
					      const char *common_name, const char *subject,
					      const char *issuer, const char *fingerprint,
					      const char *old_subject, const char *old_issuer,
					      const char *old_fingerprint, DWORD flags)
{
	(void)old_subject; (void)old_issuer; (void)old_fingerprint;
	return bench_verify_certificate(instance, host, port, common_name, subject, issuer,
					fingerprint, flags);
}

static BOOL bench_client_new(freerdp *instance, rdpContext *context)
{
	(void)context;
	instance->PreConnect = bench_pre_connect;
	instance->PostConnect = bench_post_connect;
	instance->PostDisconnect = bench_post_disconnect;
	instance->VerifyCertificateEx = bench_verify_certificate;
	instance->VerifyChangedCertificateEx = bench_verify_changed_certificate;
	return TRUE;
}

/* The TCP bytes received so far on this process's (one) TCP socket. */
static int tcp_fd = -1;

static int find_tcp_fd(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int found = -1;

	if (!d)
		return -1;
	while ((de = readdir(d))) {
		char path[300], link[64];
		ssize_t n;
		int fd = atoi(de->d_name), domain, type;
		socklen_t len = sizeof(int);

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/fd/%s", de->d_name);
		n = readlink(path, link, sizeof(link) - 1);
		if (n <= 0)
			continue;
		link[n] = 0;
		if (strncmp(link, "socket:", 7) != 0)
			continue;
		if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) || (len = sizeof(int),
		    getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len)))
			continue;
		if ((domain == AF_INET || domain == AF_INET6) && type == SOCK_STREAM) {
			found = fd;
			break;
		}
	}
	closedir(d);
	return found;
}

static long long tcp_bytes_received(void)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);

	if (tcp_fd < 0)
		tcp_fd = find_tcp_fd();
	if (tcp_fd < 0)
		return -1;
	memset(&ti, 0, sizeof(ti));
	if (getsockopt(tcp_fd, IPPROTO_TCP, TCP_INFO, &ti, &len) ||
	    len < offsetof(struct tcp_info, tcpi_bytes_received) + sizeof(ti.tcpi_bytes_received))
		return -1;
	return (long long)ti.tcpi_bytes_received;
}

static double cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec +
	       ru.ru_stime.tv_usec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double percentile(const double *v, size_t n, double p)
{
	if (!n)
		return -1;
	size_t i = (size_t)(p * (n - 1) + 0.5);

	return v[i < n ? i : n - 1];
}

static void usage(void)
{
	fprintf(stderr, "usage: rdpbench [--seconds N] [--warmup N] /v:HOST:PORT /u:USER /p:PASS "
		"[/cert:ignore] [/gfx:AVC420] [/size:WxH] [FreeRDP options...]\n"
		"       rdpbench --first-frame [--seconds TIMEOUT] /v:HOST:PORT ...\n");
}

/* --first-frame: wait for the first picture; print the logon and
 * first-picture times in ms from begin. */
static int first_frame_wait(rdpContext *context, struct bench *b, double begin, double timeout)
{
	double connected = now_s(CLOCK_MONOTONIC);

	while (!b->first_paint && !freerdp_shall_disconnect(context->instance) &&
	       now_s(CLOCK_MONOTONIC) - connected < timeout) {
		HANDLE handles[MAXIMUM_WAIT_OBJECTS];
		DWORD n = freerdp_get_event_handles(context, handles, ARRAYSIZE(handles));

		if (!n || WaitForMultipleObjects(n, handles, FALSE, 100) == WAIT_FAILED ||
		    !freerdp_check_event_handles(context))
			break;
	}
	if (!b->first_paint) {
		fprintf(stderr, "rdpbench: no picture within %.0f s of the logon\n", timeout);
		return 1;
	}
	printf("{\"connect_ms\": %.1f, \"first_frame_ms\": %.1f, \"width\": %u, "
	       "\"height\": %u}\n", (connected - begin) * 1000, (b->first_paint - begin) * 1000,
	       context->gdi ? context->gdi->width : 0, context->gdi ? context->gdi->height : 0);
	fflush(stdout);
	return 0;
}

int main(int argc, char **argv)
{
	RDP_CLIENT_ENTRY_POINTS ep = { 0 };
	double seconds = 10, warmup = 2;
	int first_frame = 0;
	char **fargv = calloc((size_t)argc + 1, sizeof(char *));
	int fargc = 0, rc = 1;

	if (!fargv)
		return 1;
	fargv[fargc++] = argv[0];
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--seconds") && i + 1 < argc) {
			seconds = atof(argv[++i]);
		} else if (!strcmp(argv[i], "--warmup") && i + 1 < argc) {
			warmup = atof(argv[++i]);
		} else if (!strcmp(argv[i], "--first-frame")) {
			first_frame = 1;
		} else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage();
			free(fargv);
			return 0;
		} else {
			fargv[fargc++] = argv[i];
		}
	}
	if (seconds <= 0 || warmup < 0) {
		usage();
		free(fargv);
		return 2;
	}

	ep.Size = sizeof(ep);
	ep.Version = RDP_CLIENT_INTERFACE_VERSION;
	ep.ContextSize = sizeof(struct bench);
	ep.ClientNew = bench_client_new;
	rdpContext *context = freerdp_client_context_new(&ep);

	if (!context) {
		free(fargv);
		return 1;
	}
	struct bench *b = (struct bench *)context;

	b->lat = calloc(MAX_SAMPLES, sizeof(double));
	if (!b->lat)
		goto out;
	if (freerdp_client_settings_parse_command_line(context->settings, fargc, fargv, FALSE)) {
		usage();
		rc = 2;
		goto out;
	}
	double begin = now_s(CLOCK_MONOTONIC);

	if (!freerdp_connect(context->instance)) {
		fprintf(stderr, "rdpbench: cannot connect: %s\n",
			freerdp_get_last_error_string(freerdp_get_last_error(context)));
		goto out;
	}
	if (first_frame) {
		rc = first_frame_wait(context, b, begin, seconds);
		freerdp_disconnect(context->instance);
		goto out;
	}

	double start = now_s(CLOCK_MONOTONIC), t0 = start + warmup, t1 = t0 + seconds;
	double cpu0 = 0, mt0 = 0;
	long long bytes0 = -1, bytes1 = -1;
	int phase = 0;	/* 0 warm-up, 1 measuring, 2 done */

	while (!freerdp_shall_disconnect(context->instance)) {
		HANDLE handles[MAXIMUM_WAIT_OBJECTS];
		DWORD n = freerdp_get_event_handles(context, handles, ARRAYSIZE(handles));
		double now = now_s(CLOCK_MONOTONIC);

		if (phase == 0 && now >= t0) {
			phase = 1;
			b->measuring = 1;
			cpu0 = cpu_s();
			mt0 = now;
			bytes0 = tcp_bytes_received();
		} else if (phase == 1 && now >= t1) {
			phase = 2;
			b->measuring = 0;
			break;
		}
		if (!n) {
			fprintf(stderr, "rdpbench: freerdp_get_event_handles failed\n");
			break;
		}
		double until = phase == 0 ? t0 : t1;
		DWORD ms = (DWORD)((until - now) * 1000) + 1;

		if (WaitForMultipleObjects(n, handles, FALSE, ms > 100 ? 100 : ms) == WAIT_FAILED)
			break;
		if (!freerdp_check_event_handles(context)) {
			if (freerdp_get_last_error(context) == FREERDP_ERROR_SUCCESS)
				fprintf(stderr, "rdpbench: freerdp_check_event_handles failed\n");
			break;
		}
	}

	double dur = now_s(CLOCK_MONOTONIC) - mt0, cpu = cpu_s() - cpu0;

	bytes1 = tcp_bytes_received();
	if (phase != 2) {
		fprintf(stderr, "rdpbench: the connection ended early: %s\n",
			freerdp_get_last_error_string(freerdp_get_last_error(context)));
		if (phase == 0)
			dur = 0;
	}
	qsort(b->lat, b->nlat, sizeof(double), cmp_double);
	double mbit = bytes0 >= 0 && bytes1 >= bytes0 && dur > 0 ?
		(double)(bytes1 - bytes0) * 8 / 1e6 / dur : -1;

	printf("{\"seconds\": %.3f, \"width\": %u, \"height\": %u, \"frames\": %llu, "
	       "\"fps\": %.2f, \"dropped\": %llu, \"updates\": %llu, "
	       "\"latency_ms_median\": %.1f, \"latency_ms_p95\": %.1f, \"latency_samples\": %zu, "
	       "\"latency_bad\": %llu, \"unclear\": %llu, \"resyncs\": %llu, "
	       "\"mbit_s\": %.3f, \"bytes\": %lld, \"cpu_s\": %.3f, "
	       "\"cpu_pct\": %.1f, \"complete\": %s}\n",
	       dur, context->gdi ? context->gdi->width : 0, context->gdi ? context->gdi->height : 0,
	       (unsigned long long)b->frames, dur > 0 ? b->frames / dur : 0,
	       (unsigned long long)b->dropped, (unsigned long long)b->updates,
	       percentile(b->lat, b->nlat, 0.5), percentile(b->lat, b->nlat, 0.95), b->nlat,
	       (unsigned long long)b->bad_latency, (unsigned long long)b->unclear,
	       (unsigned long long)b->resyncs, mbit,
	       bytes1 >= 0 && bytes0 >= 0 ? bytes1 - bytes0 : -1, cpu,
	       dur > 0 ? 100 * cpu / dur : 0, phase == 2 ? "true" : "false");
	fflush(stdout);
	rc = phase == 2 && b->frames ? 0 : 1;
	freerdp_disconnect(context->instance);
out:
	free(b->lat);
	freerdp_client_context_free(context);
	free(fargv);
	return rc;
}
