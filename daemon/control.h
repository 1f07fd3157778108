/* control: the daemon's control socket. A Unix stream socket on the sd-event loop; each
 * client sends JSON objects one per line ({"cmd":"status",...}) and gets one JSON object
 * line back per request ({"ok":true,...} or {"ok":false,"error":"..."}). The module owns
 * the socket, the connections and the line framing; what a command does is the handler's. */
#pragma once

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

/* Most connections open at once; at the cap the socket is not accepted from until one
 * closes (newcomers wait in the kernel's backlog). */
#define CONTROL_CONNS_MAX 64
#define CONTROL_NO_GROUP ((gid_t)-1)

typedef struct control control;

/* Handles one request. Returns >= 0 with *ret_reply set (the module adds "ok":true if the
 * reply has no "ok"), or a negative errno with *ret_error (malloc'd) for the client. */
typedef int (*control_handler_fn)(const cJSON *request, cJSON **ret_reply, char **ret_error,
                                  void *userdata);

/* Binds path (its directory is created 0755 if missing; a stale socket is replaced),
 * mode 0660. Only root and the daemon's own uid may use it until control_set_group(). */
int control_new(sd_event *loop, const char *path, control_handler_fn handler, void *userdata,
                control **ret);
control *control_free(control *c);

/* Lets members of group in too (CONTROL_NO_GROUP: nobody else), and gives the socket file
 * that group so they can open it. The policy is set even when the chown fails (-errno):
 * the daemon must itself be in the group to give the file to it. */
int control_set_group(control *c, gid_t group);

/* Who connected, as the kernel saw it at connect() (SO_PEERCRED, SO_PEERGROUPS). */
typedef struct control_peer {
	uid_t uid;
	gid_t gid; /* primary group */
	pid_t pid;
	const gid_t *groups; /* supplementary groups */
	size_t n_groups;
} control_peer;

/* The policy: root, self_uid, or (unless group is CONTROL_NO_GROUP) a member of group,
 * primary or supplementary. */
bool control_peer_allowed(const control_peer *p, uid_t self_uid, gid_t group);

/* Client side, for cococtl: one request, one reply, with a timeout. *ret is the parsed reply. */
int control_call(const char *path, const cJSON *request, int timeout_ms, cJSON **ret);
