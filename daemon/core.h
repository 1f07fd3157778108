/* core: what turns a config into a co-creation campaign that runs by itself. It owns the
 * round state machine (scheduled → open → closed → digested, then the next occurrence of a
 * recurring round), reminders, digests on close and on the [Digest] schedule, the routing
 * of inbound answers to a member and a round, confirmations, and the admin commands of the
 * control socket. It knows rounds and nothing of protocols: inbound messages come from
 * channels as inbound_msg (channel.h), outbound ones go into the spool for the channel that
 * reaches the member, chosen by capability and address kind, never by name.
 *
 * Time comes from clock_now(); the daemon calls core_tick() when core_next_event() is due,
 * so a test can run weeks of schedule by stepping the test clock. */
#pragma once

#include <cjson/cJSON.h>
#include <stdint.h>

#include "config.h"
#include "channel.h"
#include "secret.h"
#include "spool.h"
#include "store.h"

typedef struct core core;

/* cfg, st and sp must outlive the core (cfg until core_set_config swaps it).
 * template_dirs: NULL-terminated, first match wins (overrides before defaults). */
int core_new(const coco_config *cfg, store *st, spool *sp, const secret *key,
             const char *const *template_dirs, core **ret);
core *core_free(core *c);

/* Every message template the core needs can be found in dirs (NULL-terminated, as given to
 * core_new). Returns 0, or -ENOENT with *ret_error naming the missing ones and the
 * directories searched. */
int core_check_templates(const char *const *dirs, char **ret_error);

/* Swaps in a new config (after a reload). Rounds keep their state by campaign/round id. */
int core_set_config(core *c, const coco_config *cfg);

/* Does everything due at clock_now(): opens, reminders, closes, digests. Returns the number
 * of transitions made. */
int core_tick(core *c);
/* The next instant something is due, or INT64_MAX. */
int64_t core_next_event(core *c);

/* The channels that run, in Connectors= order (the list is copied; the ops must outlive
 * the core). A member's messages go to the first one that reaches members privately
 * (CHANNEL_DM) and for which the member has an address of its kind. */
void core_set_channels(core *c, const channel_ops *const *channels, size_t n);

/* Group commit of everything the loop turn appended (the daemon's post source): the store
 * commit, the confirmations its callbacks queued made durable together (one spool batch),
 * and only then the inbound messages answered done, so a channel drops its copy only once
 * both the answer and its confirmation are on disk. Returns appends completed or -errno. */
int core_commit(core *c);
/* The same, with the store's syncs on its sync thread (store_attach_event()): starts a commit
 * of what is queued and returns; the callbacks, the spool batch and the answers follow on
 * the loop thread once the syncs are done. Does nothing while one is in flight (the post
 * source calls again after it ends) or when nothing is queued; without a sync thread it is
 * core_commit(). core_commit() finishes a commit in flight first. */
void core_commit_start(core *c);

/* An inbound message from a channel; done is called exactly once (channel.h). */
void core_receive(core *c, const inbound_msg *m, inbound_done_fn done, void *userdata);

/* The spool's sent hook (spool_set_sent_hook(); userdata is the core): the remote id of a
 * sent message goes into the conversation index (conversations.jsonl), so that a reply
 * threaded under it finds its round. */
void core_note_sent(const char *channel, const cJSON *msg, const char *remote_id,
                    void *userdata);

/* The member addresses whose mail bounced (core-bounce.c), for `cococtl status`: an array of
 * {"campaign","member","address","bounces","first_at","at","status","diagnostic"}, the
 * latest bounce's status and diagnostic, only addresses the configuration still gives the
 * member. The caller owns it. */
cJSON *core_failing_addresses(core *c);
/* The messages no channel could deliver and that are not tried again (the spool's failed/:
 * a refusal such as an SMTP 550 at RCPT, a Slack user that does not exist), for `cococtl
 * status`: {"count", "list": the latest FAILED_LISTED of them, oldest first, each
 * {"campaign","member" or "room","channel","kind","round","error","at"}}. About an anonymous
 * round (a private message) neither kind nor round is given; a reply to someone who is no
 * member is counted, not listed (its address is a stranger's). The caller owns it
 * (core-bounce.c). */
cJSON *core_failed_deliveries(core *c);
/* Who unsubscribed from a campaign's messages at an address (core-unsub.c), for `cococtl
 * status`: an array of {"campaign","member","address","at","via"}. The caller owns it. */
cJSON *core_unsubscribed(core *c);

/* The messages kept in rejected/messages.jsonl, for `cococtl status`: {"count", "path",
 * "last_at", "last_reason"} (erased ones not counted; no last_* when none). The caller owns
 * it. */
cJSON *core_rejected_summary(core *c);

/* Handles a control request: rounds, open, close, remind, digest, export, forget,
 * resubscribe. Returns
 * -EOPNOTSUPP (without touching the outputs) for a command it does not know. */
int core_control(core *c, const cJSON *req, cJSON **ret_reply, char **ret_error);

/* `cococtl forget` reaches the copies channels keep through this hook, which the daemon
 * sets (it holds the running connectors; the core names none): erase what was sent to or
 * came from one of `addresses`, and what holds one of `phrases` (NULL-terminated lists);
 * *ret_erased (added to) counts what was removed. Without a hook nothing outside the
 * store is touched. */
typedef int (*core_forget_fn)(const char *const *addresses, const char *const *phrases,
                              size_t *ret_erased, void *userdata);
void core_set_forget_hook(core *c, core_forget_fn fn, void *userdata);

