#!/usr/bin/env python3
"""faultproxy.py LISTEN_PORT UPSTREAM_PORT LOG [--reset-over BYTES] [--resets N] [--rate BYTES_PER_S]

A small HTTP proxy on 127.0.0.1 for integration/isulad/check.sh. It forwards every
request to the registry on 127.0.0.1:UPSTREAM_PORT, one request per connection
(it asks both sides for `Connection: close`, so each request is seen on its own).

Fault: the first N (default 1) times a blob GET answers with a body of at least BYTES
(default 10000; configs and small blobs pass untouched), the proxy sends the headers
and half of the body, then resets both connections (RST, SO_LINGER 0). Later requests
for the same blob pass. --resets 0 turns the fault off. --rate throttles every response
body to about BYTES_PER_S per connection (for watching progress). Every request is logged as one line to LOG:
  <method> <path> range=<Range header or -> <status> <pass|reset>
Stops on SIGTERM.
"""
import signal
import socket
import struct
import sys
import threading
import time

HEAD_LIMIT = 64 * 1024


def read_head(sock):
    """Bytes up to and including the blank line, and whatever came after it."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            return None, b""
        data += chunk
        if len(data) > HEAD_LIMIT:
            return None, b""
    end = data.index(b"\r\n\r\n") + 4
    return data[:end], data[end:]


def header(head, name):
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == name:
            return v.strip().decode("latin-1")
    return None


def force_close(head):
    lines = [l for l in head.split(b"\r\n")[:-2]
             if l.partition(b":")[0].strip().lower() not in (b"connection", b"keep-alive")]
    return b"\r\n".join(lines + [b"Connection: close", b"", b""])


def reset(sock):
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    sock.close()


class Proxy:
    def __init__(self, upstream, log, reset_over, resets, rate=0):
        self.upstream = upstream
        self.rate = rate
        self.log = open(log, "a", buffering=1)
        self.reset_over = reset_over
        self.resets_left = resets
        self.reset_paths = set()
        self.lock = threading.Lock()

    def should_reset(self, method, path, status, length):
        if method != "GET" or "/blobs/" not in path or status not in (200, 206):
            return False
        if length is None or length < self.reset_over:
            return False
        with self.lock:
            if self.resets_left <= 0 or path in self.reset_paths:
                return False
            self.resets_left -= 1
            self.reset_paths.add(path)
            return True

    def handle(self, client):
        up = None
        try:
            # a TLS ClientHello (a client trying https first) is not HTTP: close at once,
            # as an HTTP server would, instead of waiting for a request head
            first = client.recv(1, socket.MSG_PEEK)
            if not first or not first.isalpha():
                client.close()
                return
            head, rest = read_head(client)
            if head is None:
                client.close()
                return
            method, path = head.split(b" ")[0:2]
            method, path = method.decode(), path.decode("latin-1")
            rng = header(head, b"range") or "-"
            up = socket.create_connection(("127.0.0.1", self.upstream), timeout=60)
            up.sendall(force_close(head) + rest)
            rhead, body = read_head(up)
            if rhead is None:
                client.close()
                return
            status = int(rhead.split(b" ")[1])
            length = header(rhead, b"content-length")
            length = int(length) if length is not None else None
            cut = self.should_reset(method, path, status, length)
            self.log.write("%s %s range=%s %d %s\n" % (method, path, rng, status,
                                                       "reset" if cut else "pass"))
            client.sendall(force_close(rhead))
            limit = length // 2 if cut else None
            sent = 0
            start = time.monotonic()
            while True:
                if self.rate > 0 and body:
                    ahead = sent / self.rate - (time.monotonic() - start)
                    if ahead > 0:
                        time.sleep(ahead)
                if body:
                    if limit is not None and sent + len(body) >= limit:
                        client.sendall(body[: limit - sent])
                        reset(client)
                        reset(up)
                        return
                    client.sendall(body)
                    sent += len(body)
                body = up.recv(16384 if self.rate > 0 else 65536)
                if not body:
                    break
            client.shutdown(socket.SHUT_WR)
            client.close()
        except OSError:
            client.close()
        finally:
            if up is not None:
                try:
                    up.close()
                except OSError:
                    pass


def main():
    args = sys.argv[1:]
    if len(args) < 3:
        sys.exit(__doc__)
    port, upstream, log = int(args[0]), int(args[1]), args[2]
    opts = dict(zip(args[3::2], args[4::2]))
    proxy = Proxy(upstream, log, int(opts.get("--reset-over", 10000)),
                  int(opts.get("--resets", 1)), int(opts.get("--rate", 0)))
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", port))
    srv.listen(64)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    while True:
        conn, _ = srv.accept()
        threading.Thread(target=proxy.handle, args=(conn,), daemon=True).start()


if __name__ == "__main__":
    main()
