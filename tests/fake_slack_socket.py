"""Slack's Socket Mode for tests/fake-slack.py: a WebSocket server (RFC 6455, written here on
the standard library) that behaves as PROTOCOLS.md 1.8 describes Slack's:

  apps.connections.open (app-level token) hands out ws://127.0.0.1:PORT/link/?ticket=T,
  each ticket good for one connection; the first frame on a connection is
  {"type":"hello",...}; deliveries are envelopes {"envelope_id","type","payload",
  "accepts_response_payload","retry_attempt"}; the app acks each with {"envelope_id"[,
  "payload"]}; Slack may send {"type":"disconnect","reason":...}.

Client frames must be masked (RFC 6455 5.1: the server closes the connection otherwise);
server frames are not. Pings are answered with pongs. The hub is driven by the test through
fake-slack.py's /_test/socket/... routes, and every ack is appended to the call log.
"""
import base64
import hashlib
import json
import os
import socket
import struct
import threading
import time

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


class Conn:
    def __init__(self, hub, sock, number):
        self.hub, self.sock, self.number = hub, sock, number
        self.send_lock = threading.Lock()
        self.open = True

    def send_frame(self, opcode, data):
        head = bytes([0x80 | opcode])
        n = len(data)
        if n < 126:
            head += bytes([n])
        elif n < 65536:
            head += bytes([126]) + struct.pack("!H", n)
        else:
            head += bytes([127]) + struct.pack("!Q", n)
        with self.send_lock:
            self.sock.sendall(head + data)

    def send_json(self, obj):
        self.send_frame(0x1, json.dumps(obj).encode())

    def recv_exact(self, n):
        buf = b""
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise ConnectionError("closed")
            buf += chunk
        return buf

    def read_message(self):
        """One whole message (continuation frames joined); None at a close."""
        parts, first_op = [], None
        while True:
            b0, b1 = self.recv_exact(2)
            fin, op, masked, n = b0 & 0x80, b0 & 0x0F, b1 & 0x80, b1 & 0x7F
            if not masked:
                raise ConnectionError("unmasked client frame")
            if n == 126:
                n = struct.unpack("!H", self.recv_exact(2))[0]
            elif n == 127:
                n = struct.unpack("!Q", self.recv_exact(8))[0]
            mask = self.recv_exact(4)
            data = bytes(b ^ mask[i % 4] for i, b in enumerate(self.recv_exact(n)))
            if op == 0x8:
                try:
                    self.send_frame(0x8, data[:2])
                except OSError:
                    pass
                return None
            if op == 0x9:
                self.send_frame(0xA, data)
                continue
            if op == 0xA:
                continue
            if op in (0x1, 0x2):
                first_op, parts = op, [data]
            elif op == 0x0 and first_op is not None:
                parts.append(data)
            else:
                raise ConnectionError("bad opcode %d" % op)
            if fin:
                return b"".join(parts)

    def serve(self):
        try:
            self.send_json({"type": "hello", "num_connections": len(self.hub.open_conns()),
                            "debug_info": {"host": "fake-slack", "approximate_connection_time": 18060},
                            "connection_info": {"app_id": "A0COCOAPP"}})
            while True:
                msg = self.read_message()
                if msg is None:
                    break
                try:
                    obj = json.loads(msg.decode("utf-8"))
                except (ValueError, UnicodeDecodeError):
                    self.hub.log({"method": "socket_garbage", "connection": self.number})
                    continue
                self.hub.acked(self, obj)
        except (ConnectionError, OSError):
            pass
        finally:
            self.open = False
            try:
                self.sock.close()
            except OSError:
                pass
            self.hub.log({"method": "socket_closed", "connection": self.number})


class Hub:
    def __init__(self, log):
        self.log = log
        self.lock = threading.Lock()
        self.tickets = set()
        self.conns = []
        self.acks = {}  # envelope_id -> [ack objects]
        self.cond = threading.Condition(self.lock)
        self.srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.srv.bind(("127.0.0.1", 0))
        self.srv.listen(16)
        self.port = self.srv.getsockname()[1]
        threading.Thread(target=self.accept_loop, daemon=True).start()

    def open_conns(self):
        return [c for c in self.conns if c.open]

    def new_url(self):
        ticket = base64.urlsafe_b64encode(os.urandom(12)).decode().rstrip("=")
        with self.lock:
            self.tickets.add(ticket)
        return "ws://127.0.0.1:%d/link/?ticket=%s&app_id=A0COCOAPP" % (self.port, ticket)

    def accept_loop(self):
        while True:
            sock, _ = self.srv.accept()
            threading.Thread(target=self.handshake, args=(sock,), daemon=True).start()

    def handshake(self, sock):
        try:
            sock.settimeout(10)
            req = b""
            while b"\r\n\r\n" not in req:
                chunk = sock.recv(4096)
                if not chunk:
                    raise ConnectionError("closed")
                req += chunk
                if len(req) > 16384:
                    raise ConnectionError("headers too big")
            lines = req.split(b"\r\n\r\n")[0].decode("latin-1").split("\r\n")
            method, target, _ = lines[0].split(" ", 2)
            headers = {}
            for line in lines[1:]:
                k, _, v = line.partition(":")
                headers[k.strip().lower()] = v.strip()
            ticket = target.split("ticket=", 1)[1].split("&")[0] if "ticket=" in target else ""
            with self.lock:
                good = ticket in self.tickets
                self.tickets.discard(ticket)
            if (method != "GET" or headers.get("upgrade", "").lower() != "websocket" or
                    headers.get("sec-websocket-version") != "13" or "sec-websocket-key" not in headers):
                sock.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                raise ConnectionError("not a WebSocket handshake")
            if not good:
                self.log({"method": "socket_refused", "reason": "bad or used ticket"})
                sock.sendall(b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                raise ConnectionError("ticket")
            accept = base64.b64encode(hashlib.sha1((headers["sec-websocket-key"] + GUID).encode()).digest()).decode()
            sock.sendall(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                          "Sec-WebSocket-Accept: %s\r\n\r\n" % accept).encode())
            sock.settimeout(None)
        except (ConnectionError, OSError, ValueError, IndexError):
            sock.close()
            return
        with self.lock:
            conn = Conn(self, sock, len(self.conns) + 1)
            self.conns.append(conn)
        self.log({"method": "socket_open", "connection": conn.number})
        conn.serve()

    def acked(self, conn, obj):
        self.log({"method": "socket_ack", "connection": conn.number, "body": obj})
        eid = obj.get("envelope_id") if isinstance(obj, dict) else None
        with self.cond:
            self.acks.setdefault(eid, []).append(obj)
            self.cond.notify_all()

    def newest(self):
        with self.lock:
            live = self.open_conns()
        return live[-1] if live else None

    def deliver(self, envelope, wait):
        """Sends an envelope on the newest connection; returns its first ack (or None)."""
        conn = self.newest()
        if not conn:
            return {"error": "no_connection"}
        eid = envelope.setdefault("envelope_id", base64.b32encode(os.urandom(10)).decode().lower())
        envelope.setdefault("accepts_response_payload", envelope.get("type") == "slash_commands")
        envelope.setdefault("retry_attempt", 0)
        envelope.setdefault("retry_reason", "")
        with self.cond:
            before = len(self.acks.get(eid, []))
        conn.send_json(envelope)
        deadline = time.time() + wait
        with self.cond:
            while len(self.acks.get(eid, [])) <= before and time.time() < deadline:
                self.cond.wait(deadline - time.time())
            got = self.acks.get(eid, [])
            return {"envelope_id": eid, "connection": conn.number,
                    "ack": got[before] if len(got) > before else None}

    def disconnect(self, reason):
        conn = self.newest()
        if not conn:
            return {"error": "no_connection"}
        conn.send_json({"type": "disconnect", "reason": reason,
                        "debug_info": {"host": "fake-slack"}})
        return {"connection": conn.number}

    def drop(self):
        conn = self.newest()
        if not conn:
            return {"error": "no_connection"}
        try:
            conn.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        return {"connection": conn.number}

    def state(self):
        with self.lock:
            return {"open": [c.number for c in self.open_conns()], "opened": len(self.conns)}
