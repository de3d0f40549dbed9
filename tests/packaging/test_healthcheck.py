#!/usr/bin/env python3
"""deploy/docker/healthcheck.sh (the image's HEALTHCHECK) against small local HTTP servers:
200 passes; 503, a refused connection, a silent server and a non-HTTP answer fail.

usage: test_healthcheck.py REPO_ROOT
"""
import http.server
import os
import socket
import subprocess
import sys
import threading
import time

script = os.path.join(os.path.abspath(sys.argv[1]), "deploy/docker/healthcheck.sh")
failures = []


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        code = {"/healthz": 200, "/readyz": 503}.get(self.path, 404)
        body = b"ok\n" if code == 200 else b"not ready\n"
        self.send_response(code)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def raw_server(answer):
    """A TCP server that reads the request and writes `answer` (None: never answers)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(4)

    def serve():
        while True:
            try:
                conn, _ = sock.accept()
            except OSError:
                return
            conn.recv(4096)
            if answer is None:
                time.sleep(5)
            else:
                conn.sendall(answer)
            conn.close()

    threading.Thread(target=serve, daemon=True).start()
    return sock


def probe(port, *args):
    env = dict(os.environ, OUROBOROS_METRICS_PORT=str(port), OUROBOROS_HEALTH_TIMEOUT="1")
    started = time.monotonic()
    r = subprocess.run(["bash", script, *args], env=env, capture_output=True, text=True, timeout=20)
    return r.returncode, r.stderr.strip(), time.monotonic() - started


def expect(what, result, rc):
    ok = result[0] == rc
    print(("ok: " if ok else "FAIL: ") + f"{what}: exit {result[0]} (expected {rc}) {result[1]}")
    if not ok:
        failures.append(what)


httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
threading.Thread(target=httpd.serve_forever, daemon=True).start()
port = httpd.server_address[1]
expect("GET /healthz answered 200", probe(port), 0)
expect("GET /readyz answered 503", probe(port, "/readyz"), 1)
expect("unknown path answered 404", probe(port, "/nope"), 1)
httpd.shutdown()

reason_less = raw_server(b"HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n")
expect("status line without reason phrase", probe(reason_less.getsockname()[1]), 0)
garbage = raw_server(b"SSH-2.0-OpenSSH\r\n")
expect("not HTTP", probe(garbage.getsockname()[1]), 1)
silent = raw_server(None)
result = probe(silent.getsockname()[1])
expect("server that never answers", result, 1)
if result[2] > 4:
    print(f"FAIL: the probe waited {result[2]:.1f}s for a silent server (timeout is 1s)")
    failures.append("timeout")

closed = socket.socket()
closed.bind(("127.0.0.1", 0))
closed_port = closed.getsockname()[1]
closed.close()
expect("connection refused", probe(closed_port), 1)

sys.exit(1 if failures else 0)
