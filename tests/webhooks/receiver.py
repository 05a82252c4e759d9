"""A small webhook receiver for the integration test and the benchmark, run as its own process:
`python tests/webhooks/receiver.py PORT OUT_FILE [DELAY_MS]`. Answers every POST 200 (after
DELAY_MS), keeps connections alive, and appends each Webhook-Id to OUT_FILE, one a line. With
RECEIVER_CERT and RECEIVER_KEY (PEM files) set, it speaks HTTPS."""

import os
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def main(port: int, out_path: str, delay_ms: int = 0) -> None:
    out = open(out_path, "a", buffering=1)  # noqa: SIM115 (kept open for the server's life)
    lock = threading.Lock()

    class Receiver(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if delay_ms:
                time.sleep(delay_ms / 1000)
            with lock:
                out.write(self.headers.get("Webhook-Id", "") + "\n")
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Receiver)
    server.daemon_threads = True
    server.request_queue_size = 128
    if os.environ.get("RECEIVER_CERT"):
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(os.environ["RECEIVER_CERT"], os.environ["RECEIVER_KEY"])
        server.socket = context.wrap_socket(server.socket, server_side=True)
    print("ready", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 0)
