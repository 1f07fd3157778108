/* ingress: when and where cocod's HTTP ingress (http.h) runs, across starts and reloads.
 *
 * It runs when [Daemon] Listen= is given, when the service manager passed sockets (socket
 * activation: those are used and Listen= is ignored), or when a running channel registered
 * HTTP routes (channels_http); otherwise nothing listens. A reload keeps the
 * running server (and its connections) unless the address changed: then the new address is
 * bound first and the old server is freed only once that worked, so a bad address leaves
 * the old one serving. Socket-activated sockets are kept for the process's life. */
#pragma once

#include <stdbool.h>
#include <systemd/sd-event.h>

#include "config.h"
#include "http.h"

typedef struct ingress ingress;

/* Registers the routes on a new server; called for every server the ingress makes. */
typedef int (*ingress_routes_fn)(http_server *s, void *userdata);

/* Reads the passed sockets (sd_listen_fds(1), so once per process) and starts the server
 * if it should run. -errno (logged) if it should run and cannot. */
int ingress_new(sd_event *loop, const coco_config *cfg, bool channels_http,
                ingress_routes_fn routes, void *userdata, ingress **ret);
/* After a reload: starts, stops or moves the server as the new config says. On failure
 * (logged) the previous server keeps running. */
int ingress_reload(ingress *g, const coco_config *cfg, bool channels_http);
/* The running server, NULL when none. */
http_server *ingress_server(ingress *g);
ingress *ingress_free(ingress *g);
