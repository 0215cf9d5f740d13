/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* What skyctl's parts share: skyctl.c (one VM's sockets, the RDP user
 * store), skyctl-broker.c (the broker's REST API and the cluster CA). */

#include <stdbool.h>
#include <stddef.h>

/* A password into pw (size >= 259): one line from stdin with from_stdin,
 * else asked on the terminal (twice with confirm).  0, or an exit status
 * after a message. */
int skyctl_get_password(const char *what, bool from_stdin, bool confirm, char *pw, size_t size);

/* skyctl login|logout|users|pools|hosts|desktops|jobs|cluster ...:
 * argv[0] is the command.  Returns the exit status. */
int broker_command(int argc, char **argv, bool json);
bool is_broker_command(const char *cmd);
