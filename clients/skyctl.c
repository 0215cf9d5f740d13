// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * skyctl: the admin command line for one skyvm, over its control socket
 * (docs/control.md) and its display socket (docs/display.md).  It speaks
 * only those public JSON-lines protocols.
 *
 *   skyctl -s /run/skylight/vm1.sock ic
 *   skyctl vm shutdown vm1 --reason "host patching" --timeout 120
 *   skyctl vm screenshot vm1 screen.png
 *   skyctl vm key vm1 ctrl+alt+del
 *   skyctl user add alice
 */
#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <png.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "ipc.h"
#include "keys.h"
#include "skyctl.h"
#include "users.h"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: skyctl [-s SOCKET] [--json] [--wait SECONDS] COMMAND [options]\n"
		"       skyctl [--json] [--wait SECONDS] vm VERB VM [arguments]\n"
		"       skyctl user VERB [NAME] [--users PATH] [--no-nla] [--password-stdin]\n"
		"Control one skyvm through its control and display sockets, and manage\n"
		"the RDP user store.\n\n"
		"  -s, --socket PATH   the VM's control socket (default $SKYVM_CONTROL)\n"
		"  -j, --json          print the reply as JSON\n"
		"  -t, --wait SECONDS  how long to wait for the reply (default 10)\n\n"
		"Commands:\n"
		"  status              state, vCPUs, memory, exit counts\n"
		"  pause | resume      stop / continue the vCPUs\n"
		"  stop                end the VM now (power cut)\n"
		"  vcpus               where each vCPU is\n"
		"  vmbus               VMBus version, channels and counters\n"
		"  ic                  integration services: heartbeat, time sync, KVP\n"
		"  kvp                 the key/value pairs the guest reported\n"
		"  shutdown [--reboot] [--reason TEXT] [--timeout SECONDS]\n"
		"                      ask the guest to shut down (or restart) cleanly;\n"
		"                      with --timeout, stop it hard if it is still up then\n\n"
		"vm VERB VM: VM names the sockets $SKYLIGHT_RUN_DIR/VM.sock and VM.display\n"
		"(SKYLIGHT_RUN_DIR defaults to $XDG_RUNTIME_DIR/skylight, else /run/skylight);\n"
		"a VM with a '/' is a path prefix (./vm1 means ./vm1.sock, ./vm1.display).\n"
		"  vm status|pause|resume|stop|vcpus|vmbus|ic|kvp|shutdown VM [options]\n"
		"                      the commands above\n"
		"  vm screenshot VM FILE.png\n"
		"                      save the screen (\"-\" writes the PNG to stdout)\n"
		"  vm type VM TEXT     type ASCII text (US layout; a newline is Enter)\n"
		"  vm key VM COMBO...  press and release combos such as ctrl+alt+del, enter,\n"
		"                      shift+f10: ctrl alt shift meta/win, enter esc tab\n"
		"                      backspace space, f1-f12, up down left right, home end\n"
		"                      pgup pgdn ins del, letters, digits, punctuation\n"
		"  vm mouse VM X Y [left|right|middle]\n"
		"                      move the pointer to pixel X,Y (and click)\n"
		"  vm resolution VM WIDTHxHEIGHT\n"
		"                      ask the guest to change its resolution\n\n"
		"user VERB: skyrdp's user store, --users PATH (default\n"
		"$SKYLIGHT_STATE_DIR/users.db, else $XDG_STATE_HOME/skylight/users.db, else\n"
		"/var/lib/skylight/users.db).  Passwords are asked twice on the terminal,\n"
		"or read as one line from stdin with --password-stdin.\n"
		"  user add NAME [--no-nla]     add a user; --no-nla keeps no NT hash, so\n"
		"                               the user can log on over TLS only\n"
		"  user passwd NAME [--no-nla]  set a new password\n"
		"  user del NAME                remove a user\n"
		"  user list                    name, NLA, created\n");
}

static int request(const char *path, struct json_object *req, int wait_ms,
		   struct json_object **ret)
{
	int fd, r;

	r = ipc_connect(path, &fd);
	if (r < 0) {
		fprintf(stderr, "skyctl: cannot connect to %s: %s\n", path, strerror(-r));
		return EX_UNAVAILABLE;
	}
	r = ipc_send(fd, req, NULL, 0);
	if (r >= 0)
		r = ipc_recv_line(fd, ret, wait_ms);
	close(fd);
	if (r < 0) {
		fprintf(stderr, "skyctl: no reply from %s: %s\n", path,
			r == -ETIMEDOUT ? "timed out" : strerror(-r));
		return EX_UNAVAILABLE;
	}
	return 0;
}

static const char *str(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !v)
		return "-";
	return json_object_get_string(v);
}

static void print_ic(struct json_object *res)
{
	static const char *const svcs[] = { "heartbeat", "shutdown", "timesync", "kvp" };

	printf("%-10s %-5s %-8s %9s %9s %7s  %s\n", "SERVICE", "OPEN", "VERSION", "REQUESTS",
	       "ANSWERS", "ERRORS", "DETAIL");
	for (size_t i = 0; i < sizeof(svcs) / sizeof(svcs[0]); i++) {
		struct json_object *s;
		char detail[96] = "";

		if (!json_object_object_get_ex(res, svcs[i], &s))
			continue;
		if (i == 0)
			snprintf(detail, sizeof(detail), "sequence %s, last %s ms ago",
				 str(s, "sequence"), str(s, "age_ms"));
		else if (i == 2)
			snprintf(detail, sizeof(detail), "%s samples", str(s, "samples"));
		else if (i == 3)
			snprintf(detail, sizeof(detail), "%s pairs", str(s, "pairs"));
		printf("%-10s %-5s %-8s %9s %9s %7s  %s\n", svcs[i], str(s, "open"),
		       str(s, "version"), str(s, "requests"), str(s, "responses"), str(s, "errors"),
		       detail);
	}
}

static void print_kvp(struct json_object *res)
{
	struct json_object *pools;

	if (!json_object_object_get_ex(res, "kvp_pairs", &pools))
		return;
	json_object_object_foreach(pools, pool, pairs) {
		json_object_object_foreach(pairs, key, value)
			printf("%s\t%s\t%s\n", pool, key, json_object_get_string(value));
	}
}

static void print_vmbus(struct json_object *res)
{
	struct json_object *chans;

	printf("state %s, version %s, guest errors %s\n", str(res, "state"), str(res, "version"),
	       str(res, "guest_errors"));
	if (!json_object_object_get_ex(res, "channels", &chans))
		return;
	printf("%-6s %-10s %-5s %-36s %s\n", "RELID", "DEVICE", "OPEN", "CLASS", "INSTANCE");
	for (size_t i = 0; i < json_object_array_length(chans); i++) {
		struct json_object *c = json_object_array_get_idx(chans, i);

		printf("%-6s %-10s %-5s %-36s %s\n", str(c, "relid"), str(c, "device"),
		       str(c, "open"), str(c, "class"), str(c, "instance"));
	}
}

/* --- vm VERB VM: where the sockets are ------------------------------------ */

/* VM's socket with this suffix (".sock", ".display"), malloc'd; NULL when
 * out of memory. */
static char *vm_socket(const char *vm, const char *suffix)
{
	const char *dir, *sub = "";
	char *path = NULL;
	int n;

	if (strchr(vm, '/')) {
		n = asprintf(&path, "%s%s", vm, suffix);
	} else {
		dir = getenv("SKYLIGHT_RUN_DIR");
		if (!dir || !*dir) {
			dir = getenv("XDG_RUNTIME_DIR");
			if (!dir || !*dir)
				dir = "/run";
			sub = "/skylight";
		}
		n = asprintf(&path, "%s%s/%s%s", dir, sub, vm, suffix);
	}
	return n < 0 ? NULL : path;
}

/* --- the display socket --------------------------------------------------- */

struct display {
	const char *verb;
	struct ipc_conn *conn;
	int fd;
	bool eof;
	const char *broken; /* what was wrong with a message, or NULL */
	bool hello, have_mode;
	int vram_fd;
	uint64_t vram_size;
	struct {
		bool valid;
		uint64_t width, height, stride, offset;
		char format[16];
	} mode;
	int64_t ping_id, pong_id; /* last sent, last answered */
	unsigned errors;
};

static bool int_member(struct json_object *o, const char *key, uint64_t max, uint64_t *ret)
{
	struct json_object *v;
	int64_t x;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int))
		return false;
	x = json_object_get_int64(v);
	if (x < 0 || (uint64_t)x > max)
		return false;
	*ret = (uint64_t)x;
	return true;
}

static void display_mode(struct display *d, struct json_object *msg)
{
	struct json_object *v;

	d->have_mode = true;
	memset(&d->mode, 0, sizeof(d->mode));
	if (!json_object_object_get_ex(msg, "valid", &v) || !json_object_get_boolean(v))
		return;
	if (!int_member(msg, "width", UINT32_MAX, &d->mode.width) ||
	    !int_member(msg, "height", UINT32_MAX, &d->mode.height) ||
	    !int_member(msg, "stride", UINT32_MAX, &d->mode.stride) ||
	    !int_member(msg, "offset", INT64_MAX, &d->mode.offset) ||
	    !json_object_object_get_ex(msg, "format", &v)) {
		d->broken = "a malformed mode";
		return;
	}
	snprintf(d->mode.format, sizeof(d->mode.format), "%s", json_object_get_string(v));
	d->mode.valid = true;
}

static void display_line(struct ipc_conn *c, struct json_object *msg, int err, int *fds,
			 size_t nfds, void *data)
{
	struct display *d = data;
	struct json_object *v;
	const char *type;
	uint64_t x;

	if (err < 0 || !json_object_object_get_ex(msg, "type", &v)) {
		d->broken = "a malformed message";
		return;
	}
	type = json_object_get_string(v);
	if (!strcmp(type, "hello")) {
		if (d->hello || !int_member(msg, "version", INT32_MAX, &x) || x != 1 ||
		    !int_member(msg, "vram_size", INT64_MAX, &d->vram_size) || nfds != 1) {
			d->broken = "an unsupported hello (skyctl speaks version 1)";
			return;
		}
		d->hello = true;
		d->vram_fd = fds[0];
		fds[0] = -1;
	} else if (!strcmp(type, "mode")) {
		display_mode(d, msg);
	} else if (!strcmp(type, "pong")) {
		if (json_object_object_get_ex(msg, "id", &v) &&
		    json_object_is_type(v, json_type_int))
			d->pong_id = json_object_get_int64(v);
	} else if (!strcmp(type, "error")) {
		/* skyvm's messages name what they refuse. */
		if (json_object_object_get_ex(msg, "message", &v) && v)
			fprintf(stderr, "skyctl: %s\n", json_object_get_string(v));
		else
			fprintf(stderr, "skyctl: %s: skyvm refused a request\n", d->verb);
		d->errors++;
	}
	/* damage, pointer, cursor: not ours to show. */
	(void)c;
}

enum display_until { UNTIL_MODE, UNTIL_PONG };

static bool display_done(const struct display *d, enum display_until until)
{
	if (until == UNTIL_MODE)
		return d->hello && d->have_mode;
	return d->pong_id == d->ping_id;
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Read until the condition holds.  0, or an exit status after a message. */
static int display_wait(struct display *d, enum display_until until, int wait_ms)
{
	int64_t deadline = mono_ms() + wait_ms;

	for (;;) {
		struct pollfd pfd = { .fd = d->fd, .events = POLLIN };
		int64_t left;
		int r;

		if (d->broken) {
			fprintf(stderr, "skyctl: %s: %s on the display socket\n", d->verb,
				d->broken);
			return EX_PROTOCOL;
		}
		if (display_done(d, until))
			return 0;
		if (d->eof) {
			fprintf(stderr, "skyctl: %s: the display socket closed\n", d->verb);
			return EX_UNAVAILABLE;
		}
		left = deadline - mono_ms();
		if (left <= 0) {
			fprintf(stderr, "skyctl: %s: no answer on the display socket: timed out\n",
				d->verb);
			return EX_UNAVAILABLE;
		}
		r = poll(&pfd, 1, (int)left);
		if (r < 0 && errno != EINTR) {
			fprintf(stderr, "skyctl: %s: poll: %s\n", d->verb, strerror(errno));
			return EX_OSERR;
		}
		if (r <= 0)
			continue;
		/* 1 at EOF, -errno for a reset: both end the session. */
		if (ipc_conn_read(d->conn, display_line, d) != 0)
			d->eof = true;
	}
}

static int display_open(struct display *d, const char *vm, const char *verb, int wait_ms)
{
	char *path = vm_socket(vm, ".display");
	int r;

	memset(d, 0, sizeof(*d));
	d->verb = verb;
	d->fd = d->vram_fd = -1;
	if (!path)
		return EX_OSERR;
	r = ipc_connect(path, &d->fd);
	if (r == 0)
		r = ipc_conn_new(d->fd, &d->conn);
	if (r < 0) {
		fprintf(stderr, "skyctl: cannot connect to %s: %s\n", path, strerror(-r));
		if (d->fd >= 0)
			close(d->fd);
		free(path);
		return EX_UNAVAILABLE;
	}
	free(path);
	return display_wait(d, UNTIL_MODE, wait_ms);
}

static void display_close(struct display *d)
{
	ipc_conn_free(d->conn);
	if (d->vram_fd >= 0)
		close(d->vram_fd);
}

static int display_send(struct display *d, struct json_object *msg)
{
	int r = ipc_send(d->fd, msg, NULL, 0);

	json_object_put(msg);
	if (r < 0) {
		fprintf(stderr, "skyctl: %s: cannot send on the display socket: %s\n", d->verb,
			strerror(-r));
		return EX_UNAVAILABLE;
	}
	return 0;
}

static struct json_object *message(const char *type)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "type", json_object_new_string(type));
	return o;
}

/* Wait until skyvm handled everything sent so far; 1 if it refused any. */
static int display_sync(struct display *d, int wait_ms)
{
	struct json_object *ping = message("ping");
	int r;

	json_object_object_add(ping, "id", json_object_new_int64(++d->ping_id));
	r = display_send(d, ping);
	if (r == 0)
		r = display_wait(d, UNTIL_PONG, wait_ms);
	if (r == 0 && d->errors)
		r = 1;
	return r;
}

static int send_key(struct display *d, const struct key_event *ev)
{
	struct json_object *o = message("key");

	json_object_object_add(o, "scancode", json_object_new_int(ev->scancode));
	json_object_object_add(o, "down", json_object_new_boolean(ev->down));
	if (ev->e0)
		json_object_object_add(o, "e0", json_object_new_boolean(true));
	return display_send(d, o);
}

/* Keys go out in batches, each confirmed before the next: the guest's
 * keyboard ring drops what it has no room for. */
#define KEY_BATCH 64

static int send_keys(struct display *d, const struct key_event *ev, size_t n, int wait_ms)
{
	int r = 0;

	for (size_t i = 0; i < n && !r; i++) {
		r = send_key(d, &ev[i]);
		if (!r && (i + 1) % KEY_BATCH == 0)
			r = display_sync(d, wait_ms);
	}
	return r;
}

static int cmd_type(struct display *d, const char *text, int wait_ms)
{
	struct key_event *ev;
	size_t len, bad = 0;
	int n, r;

	len = strlen(text);
	if (len > 1000000) {
		fprintf(stderr, "skyctl: type: the text is too long\n");
		return EX_USAGE;
	}
	ev = calloc(len * KEYS_PER_CHAR_MAX + 1, sizeof(*ev));
	if (!ev)
		return EX_OSERR;
	n = keys_text(text, ev, len * KEYS_PER_CHAR_MAX, &bad);
	if (n < 0) {
		fprintf(stderr, "skyctl: type: cannot type character %zu (byte 0x%02x): "
			"only printable ASCII, newline and tab\n", bad + 1,
			(unsigned char)text[bad]);
		free(ev);
		return EX_USAGE;
	}
	r = send_keys(d, ev, (size_t)n, wait_ms);
	free(ev);
	return r;
}

static int cmd_key(struct display *d, char **args, int nargs, int wait_ms)
{
	struct key_event *ev;
	size_t n = 0;
	int r;

	ev = calloc((size_t)nargs * 2 * KEYS_COMBO_MAX, sizeof(*ev));
	if (!ev)
		return EX_OSERR;
	/* All combos are checked before any is sent. */
	for (int i = 0; i < nargs; i++) {
		r = keys_combo(args[i], ev + n, 2 * KEYS_COMBO_MAX);
		if (r < 0) {
			fprintf(stderr, "skyctl: key: \"%s\": %s\n", args[i],
				r == -ENOENT ? "unknown key name (see skyctl --help)"
					     : "not a combo such as ctrl+alt+del");
			free(ev);
			return EX_USAGE;
		}
		n += (size_t)r;
	}
	r = send_keys(d, ev, n, wait_ms);
	free(ev);
	return r;
}

static bool parse_u32(const char *s, uint32_t max, uint32_t *ret)
{
	char *end;
	unsigned long v;

	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v > max)
		return false;
	*ret = (uint32_t)v;
	return true;
}

static int send_mouse(struct display *d, uint32_t x, uint32_t y, int buttons)
{
	struct json_object *o = message("mouse");

	json_object_object_add(o, "x", json_object_new_int((int)x));
	json_object_object_add(o, "y", json_object_new_int((int)y));
	json_object_object_add(o, "buttons", json_object_new_int(buttons));
	return display_send(d, o);
}

/* Pixel p of n to 0..32767, the last pixel to 32767. */
static uint32_t to_abs(uint32_t p, uint64_t n)
{
	if (n <= 1)
		return 0;
	return (uint32_t)(((uint64_t)p * 32767 + (n - 1) / 2) / (n - 1));
}

static int cmd_mouse(struct display *d, char **args, int nargs)
{
	static const char *const buttons[] = { "left", "right", "middle" };
	uint32_t x, y, ax, ay;
	int button = -1, r;

	if (nargs == 3) {
		for (int i = 0; i < 3; i++)
			if (!strcmp(args[2], buttons[i]))
				button = i;
		if (button < 0) {
			fprintf(stderr, "skyctl: mouse: the button is left, right or middle\n");
			return EX_USAGE;
		}
	}
	if (!d->mode.valid) {
		fprintf(stderr, "skyctl: mouse: the guest has not set a video mode yet\n");
		return 1;
	}
	if (!parse_u32(args[0], UINT32_MAX, &x) || !parse_u32(args[1], UINT32_MAX, &y) ||
	    x >= d->mode.width || y >= d->mode.height) {
		fprintf(stderr, "skyctl: mouse: X Y must be a pixel of the %llux%llu screen\n",
			(unsigned long long)d->mode.width, (unsigned long long)d->mode.height);
		return EX_USAGE;
	}
	ax = to_abs(x, d->mode.width);
	ay = to_abs(y, d->mode.height);
	r = send_mouse(d, ax, ay, 0);
	if (!r && button >= 0) {
		r = send_mouse(d, ax, ay, 1 << button);
		if (!r)
			r = send_mouse(d, ax, ay, 0);
	}
	return r;
}

static int cmd_resolution(struct display *d, const char *size)
{
	const char *x = strchr(size, 'x');
	struct json_object *o;
	uint32_t w, h;
	char *copy;
	bool ok;

	copy = x ? strndup(size, (size_t)(x - size)) : NULL;
	ok = copy && parse_u32(copy, 65535, &w) && parse_u32(x + 1, 65535, &h) && w && h;
	free(copy);
	if (!ok) {
		fprintf(stderr, "skyctl: resolution wants WIDTHxHEIGHT, e.g. 1280x720\n");
		return EX_USAGE;
	}
	o = message("resolution");
	json_object_object_add(o, "width", json_object_new_int((int)w));
	json_object_object_add(o, "height", json_object_new_int((int)h));
	return display_send(d, o);
}

/* XRGB8888 is B, G, R, X in memory: libpng drops the X and swaps B and R. */
static int write_png(FILE *f, const uint8_t *pixels, uint32_t w, uint32_t h, uint64_t stride)
{
	png_structp png;
	png_infop info;

	png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
	if (!png)
		return -ENOMEM;
	info = png_create_info_struct(png);
	if (!info) {
		png_destroy_write_struct(&png, NULL);
		return -ENOMEM;
	}
	if (setjmp(png_jmpbuf(png))) {
		png_destroy_write_struct(&png, &info);
		return -EIO;
	}
	png_init_io(png, f);
	/* Screens compress well at a fast level; 6 costs 3x the time. */
	png_set_compression_level(png, 3);
	png_set_IHDR(png, info, w, h, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
		     PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
	png_write_info(png, info);
	png_set_filler(png, 0, PNG_FILLER_AFTER);
	png_set_bgr(png);
	for (uint32_t y = 0; y < h; y++)
		png_write_row(png, pixels + y * stride);
	png_write_end(png, NULL);
	png_destroy_write_struct(&png, &info);
	return 0;
}

static int cmd_screenshot(struct display *d, const char *out)
{
	struct stat st;
	uint64_t w = d->mode.width, h = d->mode.height, stride = d->mode.stride;
	uint64_t end;
	uint8_t *map;
	FILE *f;
	int r;

	if (!d->mode.valid) {
		fprintf(stderr, "skyctl: screenshot: the guest has not set a video mode yet\n");
		return 1;
	}
	if (strcmp(d->mode.format, "XRGB8888")) {
		fprintf(stderr, "skyctl: screenshot: unknown pixel format \"%s\"\n",
			d->mode.format);
		return 1;
	}
	/* Everything read must lie inside the VRAM we map. */
	end = d->mode.offset + stride * (h - 1) + w * 4;
	if (!w || !h || w > 65535 || h > 65535 || stride < w * 4 || end > d->vram_size ||
	    fstat(d->vram_fd, &st) < 0 || (uint64_t)st.st_size < d->vram_size) {
		fprintf(stderr, "skyctl: screenshot: the mode does not fit the VRAM\n");
		return EX_PROTOCOL;
	}
	map = mmap(NULL, d->vram_size, PROT_READ, MAP_SHARED, d->vram_fd, 0);
	if (map == MAP_FAILED) {
		fprintf(stderr, "skyctl: screenshot: cannot map the VRAM: %s\n", strerror(errno));
		return EX_OSERR;
	}
	f = strcmp(out, "-") ? fopen(out, "wbe") : stdout;
	if (!f) {
		fprintf(stderr, "skyctl: screenshot: %s: %s\n", out, strerror(errno));
		munmap(map, d->vram_size);
		return EX_CANTCREAT;
	}
	r = write_png(f, map + d->mode.offset, (uint32_t)w, (uint32_t)h, stride);
	munmap(map, d->vram_size);
	if (fflush(f) != 0 && r == 0)
		r = -errno;
	if (f != stdout && fclose(f) != 0 && r == 0)
		r = -errno;
	if (r < 0) {
		fprintf(stderr, "skyctl: screenshot: cannot write %s: %s\n", out, strerror(-r));
		if (f != stdout)
			unlink(out);
		return EX_IOERR;
	}
	return 0;
}

static int display_command(const char *verb, const char *vm, char **args, int nargs,
			   int wait_ms)
{
	static const struct {
		const char *verb;
		int min, max;
		const char *want;
	} verbs[] = {
		{ "screenshot", 1, 1, "one FILE (.png, or - for stdout)" },
		{ "type", 1, 1, "one TEXT argument" },
		{ "key", 1, 64, "one or more COMBOs such as ctrl+alt+del" },
		{ "mouse", 2, 3, "X Y [left|right|middle]" },
		{ "resolution", 1, 1, "WIDTHxHEIGHT, e.g. 1280x720" },
	};
	struct display d;
	size_t i;
	int r;

	for (i = 0; strcmp(verb, verbs[i].verb); i++)
		;
	/* Checked before connecting: skyvm need not see a viewer for it. */
	if (nargs < verbs[i].min || nargs > verbs[i].max) {
		fprintf(stderr, "skyctl: %s wants %s\n", verb, verbs[i].want);
		return EX_USAGE;
	}
	r = display_open(&d, vm, verb, wait_ms);
	if (r) {
		display_close(&d);
		return r;
	}
	if (!strcmp(verb, "screenshot"))
		r = cmd_screenshot(&d, args[0]);
	else if (!strcmp(verb, "type"))
		r = cmd_type(&d, args[0], wait_ms);
	else if (!strcmp(verb, "key"))
		r = cmd_key(&d, args, nargs, wait_ms);
	else if (!strcmp(verb, "mouse"))
		r = cmd_mouse(&d, args, nargs);
	else
		r = cmd_resolution(&d, args[0]);
	/* Input is confirmed handled before we exit. */
	if (!r && strcmp(verb, "screenshot"))
		r = display_sync(&d, wait_ms);
	display_close(&d);
	return r;
}

static bool is_display_verb(const char *verb)
{
	static const char *const verbs[] = { "screenshot", "type", "key", "mouse", "resolution" };

	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (!strcmp(verb, verbs[i]))
			return true;
	return false;
}

static bool is_control_command(const char *cmd)
{
	static const char *const cmds[] = { "status", "pause", "resume", "stop", "vcpus",
					    "vmbus", "ic", "kvp", "shutdown" };

	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(cmd, cmds[i]))
			return true;
	return false;
}

/* --- user VERB: skyrdp's user store --------------------------------------- */

/* Creates each missing folder of dir, mode 0700. */
static int mkdir_parents(const char *dir)
{
	char *p = strdup(dir), *s;
	int r = 0;

	if (!p)
		return -ENOMEM;
	for (s = p + 1; r == 0; s++) {
		bool end = !*s;

		if (*s != '/' && !end)
			continue;
		*s = 0;
		if (mkdir(p, 0700) < 0 && errno != EEXIST)
			r = -errno;
		if (end)
			break;
		*s = '/';
	}
	free(p);
	return r;
}

/* The default store (malloc'd) and in *dir its folder (malloc'd). */
static char *users_default_path(char **dir)
{
	const char *state = getenv("SKYLIGHT_STATE_DIR"), *xdg = getenv("XDG_STATE_HOME");
	char *path = NULL;
	int n;

	if (state && *state)
		n = asprintf(dir, "%s", state);
	else if (xdg && *xdg)
		n = asprintf(dir, "%s/skylight", xdg);
	else
		n = asprintf(dir, "/var/lib/skylight");
	if (n < 0) {
		*dir = NULL;
		return NULL;
	}
	if (asprintf(&path, "%s/users.db", *dir) < 0)
		return NULL;
	return path;
}

static struct termios tty_saved;
static volatile sig_atomic_t tty_changed;

/* Ctrl-C at the prompt must not leave the terminal without echo. */
static void tty_restore(int sig)
{
	if (tty_changed)
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &tty_saved);
	signal(sig, SIG_DFL);
	raise(sig);
}

/* A line of stdin without its newline into buf (RDP_USERS_PASSWORD_MAX + 3
 * bytes): 0, -EMSGSIZE when too long, -ENODATA at EOF. */
static int read_line(char *buf, size_t size)
{
	size_t n;
	int c;

	if (!fgets(buf, (int)size, stdin))
		return -ENODATA;
	n = strlen(buf);
	if (n && buf[n - 1] == '\n') {
		buf[--n] = 0;
	} else if (!feof(stdin)) {
		while ((c = getchar()) != EOF && c != '\n')
			;
		return -EMSGSIZE;
	}
	if (n && buf[n - 1] == '\r')
		buf[--n] = 0;
	return n > RDP_USERS_PASSWORD_MAX ? -EMSGSIZE : 0;
}

static int ask_line(const char *prompt, char *buf, size_t size)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };
	struct termios t;
	int r;

	if (tcgetattr(STDIN_FILENO, &tty_saved) < 0)
		return -errno;
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		signal(sigs[i], tty_restore);
	t = tty_saved;
	/* No echo, but the newline still moves the cursor on. */
	t.c_lflag &= ~(tcflag_t)ECHO;
	t.c_lflag |= ECHONL;
	tty_changed = 1;
	/* Echo off before the prompt, as getpass() does: the flush drops
	 * what was typed ahead, not the answer. */
	if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &t) < 0) {
		tty_changed = 0;
		return -errno;
	}
	fputs(prompt, stderr);
	fflush(stderr);
	r = read_line(buf, size);
	tcsetattr(STDIN_FILENO, TCSAFLUSH, &tty_saved);
	tty_changed = 0;
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		signal(sigs[i], SIG_DFL);
	return r;
}

/* The new password into pw: from stdin, or asked twice on the terminal.
 * 0, or an exit status after a message. */
static int get_password(const char *name, bool from_stdin, char *pw, size_t size)
{
	return skyctl_get_password(name, from_stdin, true, pw, size);
}

int skyctl_get_password(const char *name, bool from_stdin, bool confirm, char *pw, size_t size)
{
	char again[RDP_USERS_PASSWORD_MAX + 3], prompt[RDP_USERS_NAME_MAX + 32];
	int r;

	/* Unbuffered: no copy of the password left in stdio's buffer. */
	setvbuf(stdin, NULL, _IONBF, 0);
	if (from_stdin) {
		r = read_line(pw, size);
	} else {
		if (!isatty(STDIN_FILENO)) {
			fprintf(stderr, "skyctl: stdin is not a terminal: "
				"use --password-stdin\n");
			return EX_USAGE;
		}
		snprintf(prompt, sizeof(prompt), "Password for %s: ", name);
		r = ask_line(prompt, pw, size);
		if (r == 0 && confirm)
			r = ask_line("Again: ", again, sizeof(again));
		if (r == 0 && confirm && strcmp(pw, again)) {
			fprintf(stderr, "skyctl: the passwords do not match\n");
			r = 1;
		}
		explicit_bzero(again, sizeof(again));
		if (r == 1)
			return 1;
	}
	if (r == -EMSGSIZE || (r == 0 && !*pw)) {
		fprintf(stderr, "skyctl: a password is 1-%d bytes\n", RDP_USERS_PASSWORD_MAX);
		return EX_DATAERR;
	}
	if (r < 0) {
		fprintf(stderr, "skyctl: no password read: %s\n",
			r == -ENODATA ? "end of input" : strerror(-r));
		return EX_NOINPUT;
	}
	return 0;
}

static void print_user(const char *name, bool nla, int64_t created, void *data)
{
	struct json_object *list = data;
	time_t t = (time_t)created;
	char when[32] = "-";
	struct tm tm;

	if (list) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "name", json_object_new_string(name));
		json_object_object_add(o, "nla", json_object_new_boolean(nla));
		json_object_object_add(o, "created", json_object_new_int64(created));
		json_object_array_add(list, o);
		return;
	}
	if (localtime_r(&t, &tm))
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M", &tm);
	printf("%-24s %-4s %s\n", name, nla ? "yes" : "no", when);
}

static int user_list(struct rdp_users *u, bool json)
{
	struct json_object *list = json ? json_object_new_array() : NULL;
	int r;

	if (!json)
		printf("%-24s %-4s %s\n", "NAME", "NLA", "CREATED");
	r = u ? rdp_users_list(u, print_user, list) : 0;
	if (r < 0) {
		fprintf(stderr, "skyctl: user list: %s\n", strerror(-r));
		json_object_put(list);
		return EX_IOERR;
	}
	if (json)
		printf("%s\n", json_object_to_json_string_ext(list, JSON_C_TO_STRING_PRETTY));
	json_object_put(list);
	return 0;
}

static const char *users_strerror(int r)
{
	switch (r) {
	case -EBADMSG: return "not a user store, or a damaged one";
	case -EPROTONOSUPPORT: return "made by a newer Skylight";
	case -EOPNOTSUPP:
		return "no MD4 for the NT hash (OpenSSL's legacy provider is missing): "
		       "use --no-nla";
	default: return strerror(-r);
	}
}

/* argv[0] is "user"; options may come anywhere after it. */
static int user_command(int argc, char **argv, bool json)
{
	static const struct option opts[] = {
		{ "users", required_argument, NULL, 'u' },
		{ "no-nla", no_argument, NULL, 'n' },
		{ "password-stdin", no_argument, NULL, 'p' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	const char *path = NULL, *verb, *name = NULL;
	bool nla = true, from_stdin = false, add, passwd;
	char pw[RDP_USERS_PASSWORD_MAX + 3], *def = NULL, *dir = NULL;
	struct rdp_users *u = NULL;
	uint8_t h[16];
	int c, want, r;

	optind = 0;
	while ((c = getopt_long(argc, argv, "jh", opts, NULL)) != -1) {
		switch (c) {
		case 'u': path = optarg; break;
		case 'n': nla = false; break;
		case 'p': from_stdin = true; break;
		case 'j': json = true; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return EX_USAGE;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "skyctl: user wants a verb: add, passwd, del or list\n");
		return EX_USAGE;
	}
	verb = argv[optind++];
	add = !strcmp(verb, "add");
	passwd = !strcmp(verb, "passwd");
	if (add || passwd || !strcmp(verb, "del")) {
		want = 1;
	} else if (!strcmp(verb, "list")) {
		want = 0;
	} else {
		fprintf(stderr, "skyctl: unknown user verb \"%s\"\n", verb);
		return EX_USAGE;
	}
	if (argc - optind != want) {
		fprintf(stderr, "skyctl: user %s wants %s\n", verb, want ? "one NAME" : "no NAME");
		return EX_USAGE;
	}
	if (want)
		name = argv[optind];
	if (name && !rdp_users_name_valid(name)) {
		fprintf(stderr, "skyctl: user: \"%s\": a name is 1-%d of A-Z a-z 0-9 . _ -, "
			"not starting with - or .\n", name, RDP_USERS_NAME_MAX);
		return EX_USAGE;
	}
	if ((!nla || from_stdin) && !add && !passwd) {
		fprintf(stderr, "skyctl: --no-nla and --password-stdin go with add and passwd\n");
		return EX_USAGE;
	}
	if (!path) {
		path = def = users_default_path(&dir);
		if (!path) {
			free(dir);
			return EX_OSERR;
		}
	}
	if (add && dir) {
		r = mkdir_parents(dir);
		if (r < 0) {
			fprintf(stderr, "skyctl: user: cannot create %s: %s\n", dir, strerror(-r));
			r = EX_CANTCREAT;
			goto out;
		}
	}
	r = rdp_users_open(path, add, &u);
	if (r == -ENOENT && !add) {
		/* No store yet: no users. */
		if (!strcmp(verb, "list")) {
			r = user_list(NULL, json);
			goto out;
		}
		fprintf(stderr, "skyctl: user %s: no user \"%s\" (no store at %s)\n", verb, name,
			path);
		r = 1;
		goto out;
	}
	if (r < 0) {
		fprintf(stderr, "skyctl: user: %s: %s\n", path, users_strerror(r));
		r = add ? EX_CANTCREAT : EX_NOINPUT;
		goto out;
	}
	if (!name) {
		r = user_list(u, json);
		goto out;
	}
	/* Before asking for a password: does the user exist? */
	r = rdp_users_nt_hash(u, name, h);
	explicit_bzero(h, sizeof(h));
	if (r < 0 && r != -ENOENT && r != -EPERM) {
		fprintf(stderr, "skyctl: user %s: %s: %s\n", verb, path, users_strerror(r));
		r = EX_IOERR;
		goto out;
	}
	if (add && r != -ENOENT) {
		fprintf(stderr, "skyctl: user add: \"%s\" exists (skyctl user passwd changes "
			"a password)\n", name);
		r = 1;
		goto out;
	}
	if (!add && r == -ENOENT) {
		fprintf(stderr, "skyctl: user %s: no user \"%s\"\n", verb, name);
		r = 1;
		goto out;
	}
	if (add || passwd) {
		r = get_password(name, from_stdin, pw, sizeof(pw));
		if (r)
			goto out;
		if (add)
			r = rdp_users_add(u, name, pw, nla);
		else
			r = rdp_users_set_password(u, name, pw, nla);
		explicit_bzero(pw, sizeof(pw));
	} else {
		r = rdp_users_remove(u, name);
	}
	if (r == -EINVAL) {
		fprintf(stderr, "skyctl: user %s: a password is UTF-8 text\n", verb);
		r = EX_DATAERR;
	} else if (r == -EEXIST || r == -ENOENT) {
		/* Someone else got there between our check and now. */
		fprintf(stderr, "skyctl: user %s: \"%s\": %s\n", verb, name,
			r == -EEXIST ? "exists" : "no such user");
		r = 1;
	} else if (r == -EOPNOTSUPP) {
		fprintf(stderr, "skyctl: user %s: %s\n", verb, users_strerror(r));
		r = EX_UNAVAILABLE;
	} else if (r < 0) {
		fprintf(stderr, "skyctl: user %s: %s: %s\n", verb, path, users_strerror(r));
		r = EX_IOERR;
	}
out:
	rdp_users_close(u);
	free(def);
	free(dir);
	return r;
}

static bool parse_wait(const char *arg, long *ret)
{
	char *end;
	long v = strtol(arg, &end, 10);

	if (*end || v < 1 || v > 3600) {
		fprintf(stderr, "skyctl: --wait wants 1-3600 seconds\n");
		return false;
	}
	*ret = v;
	return true;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "wait", required_argument, NULL, 't' },
		{ "reboot", no_argument, NULL, 'r' },
		{ "reason", required_argument, NULL, 'R' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	const char *path = getenv("SKYVM_CONTROL"), *cmd, *wire, *reason = NULL;
	bool json = false, reboot = false;
	long wait_s = 10, timeout = -1;
	struct json_object *req, *reply = NULL, *ok, *res;
	char *end, *vm_path = NULL;
	int c, r;

	while ((c = getopt_long(argc, argv, "+s:jt:h", opts, NULL)) != -1) {
		switch (c) {
		case 's': path = optarg; break;
		case 'j': json = true; break;
		case 't':
			if (!parse_wait(optarg, &wait_s))
				return EX_USAGE;
			break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return EX_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return EX_USAGE;
	}
	cmd = argv[optind++];
	if (!strcmp(cmd, "user"))
		return user_command(argc - optind + 1, argv + optind - 1, json);
	if (is_broker_command(cmd))
		return broker_command(argc - optind + 1, argv + optind - 1, json);
	if (!strcmp(cmd, "vm")) {
		const char *verb, *vm;

		if (argc - optind < 2) {
			fprintf(stderr, "skyctl: vm wants a VERB and a VM\n");
			usage(stderr);
			return EX_USAGE;
		}
		verb = argv[optind++];
		vm = argv[optind++];
		if (!*vm) {
			fprintf(stderr, "skyctl: the VM name is empty\n");
			return EX_USAGE;
		}
		if (is_display_verb(verb)) {
			/* TEXT may start with '-': no options here, only "--". */
			if (optind < argc && !strcmp(argv[optind], "--"))
				optind++;
			return display_command(verb, vm, argv + optind, argc - optind,
					       (int)wait_s * 1000);
		}
		if (!is_control_command(verb)) {
			fprintf(stderr, "skyctl: unknown vm verb \"%s\"\n", verb);
			usage(stderr);
			return EX_USAGE;
		}
		path = vm_path = vm_socket(vm, ".sock");
		if (!path)
			return EX_OSERR;
		cmd = verb;
	} else if (!path) {
		fprintf(stderr, "skyctl: no control socket: use -s PATH or set SKYVM_CONTROL\n");
		usage(stderr);
		return EX_USAGE;
	}
	/* Options after the command: shutdown's, and --json / --wait again. */
	while ((c = getopt_long(argc, argv, "+jt:", opts, NULL)) != -1) {
		switch (c) {
		case 'j': json = true; break;
		case 't':
			if (!parse_wait(optarg, &wait_s))
				return EX_USAGE;
			break;
		case 'r': reboot = true; break;
		case 'R': reason = optarg; break;
		case 'T':
			timeout = strtol(optarg, &end, 10);
			if (*end || timeout < 0 || timeout > 86400) {
				fprintf(stderr, "skyctl: --timeout wants 0-86400 seconds\n");
				return EX_USAGE;
			}
			break;
		default: usage(stderr); return EX_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "skyctl: unexpected argument \"%s\"\n", argv[optind]);
		return EX_USAGE;
	}
	if ((reboot || reason || timeout >= 0) && strcmp(cmd, "shutdown")) {
		fprintf(stderr, "skyctl: --reboot, --reason and --timeout go with shutdown\n");
		return EX_USAGE;
	}
	wire = !strcmp(cmd, "kvp") ? "ic" : cmd;
	req = json_object_new_object();
	json_object_object_add(req, "cmd", json_object_new_string(wire));
	if (reboot)
		json_object_object_add(req, "reboot", json_object_new_boolean(true));
	if (reason)
		json_object_object_add(req, "reason", json_object_new_string(reason));
	if (timeout >= 0)
		json_object_object_add(req, "timeout_s", json_object_new_int64(timeout));
	r = request(path, req, (int)wait_s * 1000, &reply);
	json_object_put(req);
	free(vm_path);
	if (r)
		return r;
	if (!json_object_object_get_ex(reply, "ok", &ok) || !json_object_get_boolean(ok)) {
		fprintf(stderr, "skyctl: %s: %s\n", cmd, str(reply, "error"));
		json_object_put(reply);
		return 1;
	}
	if (!json_object_object_get_ex(reply, "result", &res))
		res = NULL;
	if (json || !res) {
		if (res && json_object_object_length(res))
			printf("%s\n", json_object_to_json_string_ext(res, JSON_C_TO_STRING_PRETTY |
									  JSON_C_TO_STRING_NOSLASHESCAPE));
	} else if (!strcmp(cmd, "ic")) {
		print_ic(res);
	} else if (!strcmp(cmd, "kvp")) {
		print_kvp(res);
	} else if (!strcmp(cmd, "vmbus")) {
		print_vmbus(res);
	} else if (json_object_object_length(res)) {
		printf("%s\n", json_object_to_json_string_ext(res, JSON_C_TO_STRING_PRETTY |
								  JSON_C_TO_STRING_NOSLASHESCAPE));
	}
	json_object_put(reply);
	return 0;
}
