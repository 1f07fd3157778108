/* channelset: the channels that run in cocod, and the host side of the channel interface
 * (engine/channel.h): for each channel a channel_host with the loop, the core's inbound
 * sink, cursors in the store, HTTP routes on the one ingress and the shared libcurl multi.
 * It makes the running set match [Daemon] Connectors= at start and on every reload:
 * a channel that stays is reconfigured in place (its connections and in-flight sends go on),
 * one that cannot be is restarted, removed ones stop, new ones start. It names no channel:
 * the list is connectors/channels.h. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <systemd/sd-event.h>

#include "config.h"
#include "core.h"
#include "curlloop.h"
#include "http.h"
#include "spool.h"
#include "store.h"

typedef struct channelset channelset;

/* All must outlive the set; the HTTP servers the routes were added to must not (they keep
 * pointers to the set's routes). curl may be NULL (channels then get none). */
int channelset_new(sd_event *loop, store *st, spool *sp, core *co, curlloop *curl,
                   channelset **ret);
channelset *channelset_free(channelset *s);
/* Tests only: the channels that may run are `list` (NULL-terminated, kept, not copied)
 * instead of connectors/channels.h's, so a test can run a channel cocod does not carry
 * (tests/fake-chat.h). The config loader must know the same list
 * (config_register_channels()). Call before the first channelset_apply(). */
void channelset_use_list(channelset *s, const channel_ops *const *list);

/* Makes the running channels those of cfg->connectors (cfg must stay valid until the next
 * call or the free); state_dir is where channels keep their own files. Tells the core and
 * the spool. Returns 0, or the first error (logged; the other channels still run). */
int channelset_apply(channelset *s, const coco_config *cfg, const char *state_dir);

/* Does any running channel need the HTTP ingress (it registered routes)? */
bool channelset_wants_http(const channelset *s);
/* Adds the channels' routes to server (those it already has are skipped). */
int channelset_add_routes(channelset *s, http_server *server);

/* cococtl poll: every channel that can looks for input now; how many messages found. */
int channelset_poll(channelset *s);
/* The core's forget hook (core_forget_fn; userdata is the set). */
int channelset_forget(const char *const *addresses, const char *const *phrases,
                      size_t *ret_erased, void *userdata);
/* The running channels' names, in order (for status). NULL-terminated, malloc'd. */
char **channelset_names(const channelset *s);
