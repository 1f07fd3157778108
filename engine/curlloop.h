/* curlloop: libcurl's multi interface driven by the daemon's one sd-event loop. The channels
 * that speak HTTPS (Slack, Matrix) or SMTP submission hand it configured easy handles and
 * get a callback when each transfer is done; nothing blocks the loop.
 *
 * The module owns the multi handle, one sd-event IO source per socket libcurl watches, and
 * one timer. The multi handle keeps a cache of open connections (CURLLOOP_MAX_CONNECTS), so
 * successive transfers to one host reuse a connection, whether they reuse the easy handle or
 * not. The easy handles stay the caller's: curlloop only borrows them while they run.
 *
 * Threading: everything here runs on the loop's thread, callbacks included. */
#pragma once

#include <curl/curl.h>
#include <systemd/sd-event.h>

/* Connections the multi handle keeps open for reuse once their transfers are done. */
#define CURLLOOP_MAX_CONNECTS 32

typedef struct curlloop curlloop;

/* Called once when the transfer of easy is done, successfully or not (result), from the
 * loop (never from inside curlloop_add()). The handle has already been taken out of the
 * multi handle: from here on the caller owns it again and may read its CURLINFO_*, set it up
 * and curlloop_add() it again (its connection then comes from the cache), or
 * curl_easy_cleanup() it. The callback may call curlloop_add(), curlloop_cancel() and
 * curlloop_free(). */
typedef void (*curlloop_done_fn)(CURL *easy, CURLcode result, void *userdata);

/* Creates a curlloop on event (which it references). libcurl is not touched until the first
 * curlloop_add(), which calls curl_global_init() (reference counted by libcurl; Debian's
 * libcurl is built thread-safe, so it may come after threads exist) and makes the multi
 * handle. Returns 0. */
int curlloop_new(sd_event *event, curlloop **ret);

/* Removes every transfer still running (their callbacks are not called; their easy handles
 * remain the caller's to clean up), closes the cached connections and frees c. Accepts NULL.
 * May be called from a done callback. Returns NULL. */
curlloop *curlloop_free(curlloop *c);

/* Starts the transfer of a configured easy handle. CURLOPT_NOSIGNAL is set on it (signals
 * and threads do not mix); CURLOPT_PRIVATE is left to the caller. The callback is never
 * called before this returns, not even for a transfer that fails at once. Returns 0, or
 * -EEXIST if easy is already running here, -EINVAL if libcurl refuses it, -EIO / -ENOMEM if
 * libcurl cannot start (then there is no callback). */
int curlloop_add(curlloop *c, CURL *easy, curlloop_done_fn cb, void *userdata);

/* Stops the transfer of easy: its callback will not be called, and the handle is the
 * caller's again at once. A connection in the middle of a transfer is closed, not reused.
 * Returns 0, or -ENOENT if easy is not running here (for instance, already done). */
int curlloop_cancel(curlloop *c, CURL *easy);

/* Transfers added and not yet done or cancelled. */
unsigned curlloop_running(const curlloop *c);
