"""A webhook receiver on 127.0.0.1 and `flask worker` processes, for the tests that deliver
events (tests/test_webhooks.py, the bank test)."""

import io
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


class Receiver:
    """An HTTP server that answers the attempts of the first event it sees by the next of
    `script` ("500", "hang" (for `hang` seconds, then 200), "close" (drops the connection),
    "nul" (200 with a NUL byte in the body), "ok"), then, and every other event, "ok"; it
    records every request: headers, body, when it came and when it was answered."""

    def __init__(self, script=(), hang=2.0, delay=0.0):
        self.script, self.hang, self.delay = list(script), hang, delay
        self.requests, self.lock, self.first = [], threading.Lock(), None
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with receiver.lock:
                    receiver.first = receiver.first or self.headers["webhook-id"]
                    scripted = self.headers["webhook-id"] == receiver.first and receiver.script
                    action = receiver.script.pop(0) if scripted else "ok"
                    seen = {"headers": dict(self.headers), "body": body, "start": time.monotonic(), "action": action}
                    receiver.requests.append(seen)
                if action == "close":
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    self.wfile = io.BytesIO()  # nothing more goes out
                    return
                if action == "hang":
                    time.sleep(receiver.hang)
                time.sleep(receiver.delay)
                code = 500 if action == "500" else 200
                answer = b"o\x00k" if action == "nul" else b"ok" if code == 200 else b"no"
                self.send_response(code)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)
                seen["end"] = time.monotonic()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks?x=1"

    def accepted(self) -> list[dict]:
        with self.lock:
            return [r for r in self.requests if r["action"] in ("ok", "hang", "nul") and "end" in r]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def start_worker(url: str, **env) -> subprocess.Popen:
    """`flask --app wsgi worker` on `url`; what it logs goes to a file (`.log`, read by
    `worker_log`): a pipe nobody reads would stop it once full."""
    log = tempfile.NamedTemporaryFile(prefix="worker-", suffix=".log", delete=False)
    process = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "wsgi", "worker"],
        cwd=ROOT,
        env={
            **os.environ,
            "DATABASE_URL": url,
            "SECRET_KEY": "test",
            "WEBHOOK_ALLOW_PRIVATE": "1",
            "WEBHOOK_RETRY_BASE_S": "0.05",
            **env,
        },
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    process.log = log.name
    log.close()
    return process


def worker_log(p: subprocess.Popen, lines: int = 30) -> str:
    return "\n".join(Path(p.log).read_text(errors="replace").splitlines()[-lines:])


def stop_worker(p: subprocess.Popen) -> None:
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(15)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    Path(p.log).unlink(missing_ok=True)
