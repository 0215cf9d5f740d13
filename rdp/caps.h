/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/*
 * Which of a client's RDPGFX capability sets (MS-RDPEGFX 2.2.3) skyrdp
 * confirms.  Pure.
 *
 * AVC420 is what skyrdp sends through the graphics pipeline, so the choice
 * is "a capset with AVC": the newest 10.x whose flags do not say
 * AVC_DISABLED (10.1 has no flags field and is skipped), else 8.1 with
 * AVC420_ENABLED.  Without any (FreeRDP's bare /gfx, /gfx:RFX) the newest
 * capset is confirmed with AVC off and the session sends RemoteFX tiles
 * through the pipeline (RDPGFX_CODECID_CAVIDEO, which every version has).
 */

#include <stdbool.h>

#include "util.h"

#include <freerdp/channels/rdpgfx.h>

/* The index into sets of the capset to confirm, with *avc telling whether
 * AVC420 may be used; -1 when none is known (refuse the channel). */
int gfx_caps_choose(const RDPGFX_CAPSET *sets, unsigned n, bool *avc);
