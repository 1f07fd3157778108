#!/usr/bin/env python3
"""A stand-in for Slack's hosted Web API, for tests/t-slack.sh: the only fake the tests use.

It answers as docs.slack.dev describes the methods cocod calls (PROTOCOLS.md 1.4-1.6):
  POST /api/conversations.open   users=U… → {"ok":true,"channel":{"id":"D…"}} (no_op and
                                 already_open when open before); user_not_found for a user
                                 the workspace does not have; users_list_not_supplied
  POST /api/chat.postMessage     channel (an opened DM, or a channel of --channels), text
                                 and/or blocks → {"ok":true,"channel","ts","message"};
                                 channel_not_found, no_text, invalid_blocks
  POST /api/users.info           user=U… (form or query string; Slack takes no JSON here) →
                                 {"ok":true,"user":{"id","team_id","name","deleted",
                                 "is_bot","is_email_confirmed","profile":{"real_name",
                                 "email"}}}, the email only for users given one with
                                 --emails; user_not_found for a user the workspace lacks
  POST /response/…               a response_url (no token needed): 200 "ok"
Every method wants the bot token as "Authorization: Bearer …" (or a form "token" field):
not_authed without one, invalid_auth for another. Bodies are JSON (a missing charset
gives the "missing_charset" warning, as Slack does) or application/x-www-form-urlencoded;
other types get invalid_post_type. Method errors are HTTP 200 with "ok":false.

Socket Mode (PROTOCOLS.md 1.8), with --app-token: tests/fake_slack_socket.py
  POST /api/apps.connections.open  the app-level token as Bearer → {"ok":true,"url":"ws://…"};
                                   the bot token → not_allowed_token_type
and, to drive it (not Slack's): POST /_test/socket/envelope {"type","payload"[,"envelope_id"]}
  delivers an envelope on the newest connection and answers with its ack (waits up to 5 s);
  POST /_test/socket/disconnect {"reason"}; POST /_test/socket/drop (closes the TCP
  connection); GET /_test/socket/state.

Test controls (not Slack's): --mode-file names a JSON file read on every request, e.g.
  {"chat.postMessage": {"status": 429, "retry_after": 30}}   rate limited: HTTP 429 with
                                                              Retry-After and "ratelimited"
  {"conversations.open": {"error": "user_not_found"}}         that method error
Every request is appended to --log as one JSON line: method, path, auth, content type,
the parsed body. It listens on 127.0.0.1 on a port the kernel picks and writes it to
--port-file once listening. Stop it by its PID.
"""
import argparse
import json
import os
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import fake_slack_socket

BLOCK_LIMITS = {"blocks": 50, "section_text": 3000, "actions": 25, "button_text": 75,
                "button_value": 2000, "action_id": 255, "block_id": 255}


def valid_blocks(blocks):
    """Block Kit's limits for the blocks cocod sends (section, context, actions/button)."""
    if not isinstance(blocks, list) or len(blocks) > BLOCK_LIMITS["blocks"]:
        return False
    for b in blocks:
        if not isinstance(b, dict) or b.get("type") not in ("section", "context", "actions", "divider", "header"):
            return False
        if len(b.get("block_id", "")) > BLOCK_LIMITS["block_id"]:
            return False
        if b["type"] == "section":
            t = b.get("text")
            if not isinstance(t, dict) or t.get("type") not in ("mrkdwn", "plain_text"):
                return False
            if not t.get("text") or len(t["text"]) > BLOCK_LIMITS["section_text"]:
                return False
        if b["type"] == "actions":
            els = b.get("elements")
            if not isinstance(els, list) or not 1 <= len(els) <= BLOCK_LIMITS["actions"]:
                return False
            ids = set()
            for e in els:
                if e.get("type") != "button":
                    return False
                t = e.get("text", {})
                if t.get("type") != "plain_text" or not 1 <= len(t.get("text", "")) <= BLOCK_LIMITS["button_text"]:
                    return False
                if len(e.get("value", "")) > BLOCK_LIMITS["button_value"]:
                    return False
                aid = e.get("action_id", "")
                if len(aid) > BLOCK_LIMITS["action_id"] or aid in ids:
                    return False
                ids.add(aid)
    return True


class Slack:
    def __init__(self, token, users, log, mode_file, rooms=(), emails=None, app_token=None):
        self.token, self.users, self.log_path, self.mode_file = token, users, log, mode_file
        self.emails = emails or {}  # user -> the address in their profile
        self.rooms = set(rooms)  # channels (C…) the bot is in
        self.app_token = app_token
        self.log_lock = threading.Lock()
        self.hub = fake_slack_socket.Hub(self.log) if app_token else None
        self.open_dms = {}  # user -> D…
        self.seq = 0
        self.lock = threading.Lock()

    def mode(self, method):
        if not self.mode_file or not os.path.exists(self.mode_file):
            return {}
        with open(self.mode_file) as f:
            text = f.read().strip()
        return json.loads(text).get(method, {}) if text else {}

    def log(self, entry):
        with self.log_lock, open(self.log_path, "a") as f:
            f.write(json.dumps(entry) + "\n")

    def conversations_open(self, args):
        users = args.get("users")
        if not users:
            return {"ok": False, "error": "users_list_not_supplied"}
        ids = [u.strip() for u in str(users).split(",")]
        if len(ids) > 8:
            return {"ok": False, "error": "too_many_users"}
        for u in ids:
            if u not in self.users:
                return {"ok": False, "error": "user_not_found"}
        key = ",".join(sorted(ids))
        if key in self.open_dms:
            return {"ok": True, "no_op": True, "already_open": True, "channel": {"id": self.open_dms[key]}}
        cid = ("D" if len(ids) == 1 else "G") + "%08X" % (len(self.open_dms) + 1)
        self.open_dms[key] = cid
        return {"ok": True, "channel": {"id": cid}}

    def users_info(self, args):
        user = args.get("user")
        if not user:
            return {"ok": False, "error": "user_not_found"}
        if user not in self.users and user not in self.emails:
            return {"ok": False, "error": "user_not_found"}
        profile = {"real_name": user.lower(), "display_name": user.lower()}
        if user in self.emails:
            profile["email"] = self.emails[user]
        return {"ok": True, "user": {"id": user, "team_id": "T0TEST", "name": user.lower(),
                                     "deleted": False, "is_bot": False, "is_email_confirmed": True,
                                     "profile": profile}}

    def chat_post_message(self, args):
        channel = args.get("channel")
        if not channel or (channel not in self.open_dms.values() and channel not in self.rooms):
            return {"ok": False, "error": "channel_not_found"}
        text, blocks = args.get("text"), args.get("blocks")
        if isinstance(blocks, str):  # form-encoded bodies carry blocks as a JSON string
            try:
                blocks = json.loads(blocks)
            except ValueError:
                return {"ok": False, "error": "invalid_blocks_format"}
        if not text and not blocks:
            return {"ok": False, "error": "no_text"}
        if blocks is not None and not valid_blocks(blocks):
            return {"ok": False, "error": "invalid_blocks"}
        if text and len(text) > 40000:
            return {"ok": False, "error": "msg_too_long"}
        self.seq += 1
        ts = "%d.%06d" % (int(time.time()), self.seq)
        msg = {"type": "message", "text": text or "", "user": "U0COCOBOT", "bot_id": "B0COCOBOT", "ts": ts}
        if blocks:
            msg["blocks"] = blocks
        if args.get("thread_ts"):
            msg["thread_ts"] = args["thread_ts"]
        return {"ok": True, "channel": channel, "ts": ts, "message": msg}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-slack"

    def log_message(self, fmt, *a):
        pass

    def reply(self, status, body, headers=()):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        ctype = "application/json; charset=utf-8" if not isinstance(body, bytes) else "text/plain"
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        hub = self.server.slack.hub
        if hub and self.path == "/_test/socket/state":
            self.reply(200, hub.state())
            return
        self.reply(405, b"method_not_allowed")

    def socket_control(self, raw):
        """The test's controls of Socket Mode; never under slack.lock (an ack is awaited)."""
        hub = self.server.slack.hub
        try:
            args = json.loads(raw.decode("utf-8")) if raw else {}
        except (ValueError, UnicodeDecodeError):
            self.reply(400, {"error": "bad json"})
            return
        if self.path == "/_test/socket/envelope":
            self.reply(200, hub.deliver(args, float(args.pop("wait", 5))))
        elif self.path == "/_test/socket/disconnect":
            self.reply(200, hub.disconnect(args.get("reason", "refresh_requested")))
        elif self.path == "/_test/socket/drop":
            self.reply(200, hub.drop())
        else:
            self.reply(404, b"not found")

    def do_POST(self):
        slack = self.server.slack
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        if slack.hub and self.path.startswith("/_test/socket/"):
            self.socket_control(raw)
            return
        ctype = self.headers.get("Content-Type") or ""
        media = ctype.split(";")[0].strip().lower()
        entry = {"path": self.path, "content_type": ctype}
        args, warning = None, None
        if media == "application/json":
            try:
                args = json.loads(raw.decode("utf-8"))
            except (ValueError, UnicodeDecodeError):
                args = None
            if "charset" not in ctype.lower():
                warning = "missing_charset"
        elif media == "application/x-www-form-urlencoded":
            args = {k: v[0] for k, v in urllib.parse.parse_qs(raw.decode("utf-8"), keep_blank_values=True).items()}
        entry["body"] = args
        with slack.lock:
            if self.path.startswith("/response/"):
                entry["method"] = "response_url"
                slack.log(entry)
                self.reply(200, b"ok")
                return
            if not self.path.startswith("/api/"):
                slack.log(entry)
                self.reply(404, b"not found")
                return
            method = self.path[len("/api/"):].split("?")[0]
            entry["method"] = method
            auth = self.headers.get("Authorization")
            token = None
            if auth and auth.startswith("Bearer "):
                token = auth[len("Bearer "):]
            elif isinstance(args, dict) and media != "application/json":
                token = args.get("token")
            entry["auth"] = "ok" if token in (slack.token, slack.app_token) else ("missing" if token is None else "wrong")
            slack.log(entry)
            mode = slack.mode(method)
            if mode.get("status") == 429:
                self.reply(429, {"ok": False, "error": "ratelimited"},
                           [("Retry-After", str(mode.get("retry_after", 30)))])
                return
            if not media:
                self.reply(200, {"ok": False, "error": "missing_post_type"})
                return
            if media not in ("application/json", "application/x-www-form-urlencoded"):
                self.reply(200, {"ok": False, "error": "invalid_post_type"})
                return
            if args is None or not isinstance(args, dict):
                self.reply(200, {"ok": False, "error": "invalid_json" if media == "application/json" else "invalid_form_data"})
                return
            if token is None:
                self.reply(200, {"ok": False, "error": "not_authed"})
                return
            if method == "apps.connections.open":
                # Only an app-level token opens a socket; the bot token is the wrong type.
                if slack.hub and token == slack.app_token:
                    self.reply(200, {"ok": True, "url": slack.hub.new_url()})
                elif token == slack.token:
                    self.reply(200, {"ok": False, "error": "not_allowed_token_type"})
                else:
                    self.reply(200, {"ok": False, "error": "invalid_auth"})
                return
            if token != slack.token:
                self.reply(200, {"ok": False, "error": "invalid_auth"})
                return
            if mode.get("error"):
                self.reply(200, {"ok": False, "error": mode["error"]})
                return
            if method == "conversations.open":
                out = slack.conversations_open(args)
            elif method == "chat.postMessage":
                out = slack.chat_post_message(args)
            elif method == "users.info":
                if media == "application/json":  # as Slack: no JSON for this method
                    out = {"ok": False, "error": "invalid_arguments"}
                else:
                    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(self.path).query))
                    out = slack.users_info({**query, **args})
            else:
                out = {"ok": False, "error": "unknown_method", "req_method": method}
            if warning and out.get("ok"):
                out["warning"] = warning
                out["response_metadata"] = {"warnings": [warning]}
            self.reply(200, out)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port-file", required=True)
    p.add_argument("--log", required=True)
    p.add_argument("--token", required=True)
    p.add_argument("--users", default="", help="comma-separated user ids the workspace has")
    p.add_argument("--channels", default="", help="comma-separated channel ids (C…) the bot is in")
    p.add_argument("--emails", default="", help="USER=address,…: the emails in users' profiles")
    p.add_argument("--mode-file")
    p.add_argument("--app-token", help="the app-level token: enables Socket Mode")
    a = p.parse_args()
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.slack = Slack(a.token, set(u for u in a.users.split(",") if u), a.log, a.mode_file,
                      [c for c in a.channels.split(",") if c],
                      dict(e.split("=", 1) for e in a.emails.split(",") if e), a.app_token)
    tmp = a.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(tmp, a.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
