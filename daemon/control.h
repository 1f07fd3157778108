/* control: the daemon's control socket. A Unix stream socket on the sd-event loop; each
 * client sends JSON objects one per line ({"cmd":"status",...}) and gets one JSON object
 * line back per request ({"ok":true,...} or {"ok":false,"error":"..."}). The module owns
 * the socket, the connections and the line framing; what a command does is the handler's. */
#pragma once

#include <cjson/cJSON.h>
#include <systemd/sd-event.h>

typedef struct control control;

/* Handles one request. Returns >= 0 with *ret_reply set (the module adds "ok":true if the
 * reply has no "ok"), or a negative errno with *ret_error (malloc'd) for the client. */
typedef int (*control_handler_fn)(const cJSON *request, cJSON **ret_reply, char **ret_error,
                                  void *userdata);

/* Binds path (its directory is created 0755 if missing; a stale socket is replaced),
 * mode 0660. */
int control_new(sd_event *loop, const char *path, control_handler_fn handler, void *userdata,
                control **ret);
control *control_free(control *c);

/* Client side, for cococtl: one request, one reply, with a timeout. *ret is the parsed reply. */
int control_call(const char *path, const cJSON *request, int timeout_ms, cJSON **ret);
