"""Sources that are no image, from a loopback origin: seconds and the server's peak memory.

    .venv/bin/python benchmarks/hostile_sources.py [--megabytes 512]

Cases: a gzip bomb (``--megabytes`` MiB of zeros sent gzipped, a few MiB on the wire), the same
zeros sent plainly, an HTML page of that size answered with ``200``, and a gzipped JPEG as the
control.  Peak memory is the server's VmHWM growth over its idle RSS during each request (Linux:
reset before each one).  Output: a table on stdout and ``benchmarks/results/hostile-sources-<date>.json``.
"""

from __future__ import annotations

import argparse
import gzip
import shlex
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_common import WORK_DIR, rel, save_results, table_head
from bench_servers import start_imgproxy

JPEG = (Path(__file__).resolve().parents[1] / "imgproxy_py" / "demo" / "chelsea.jpg").read_bytes()


def bodies(megabytes: int) -> dict[str, tuple[bytes, str]]:
    """Path -> (body as sent, its Content-Encoding)."""
    zeros = b"\0" * (megabytes << 20)
    page = (b"<!doctype html><title>Not found</title>" + b"<p>no such photo</p>" * (len(zeros) // 20))[:len(zeros)]
    return {"/bomb.jpg": (gzip.compress(zeros, 1), "gzip"), "/zeros.jpg": (zeros, ""), "/page.jpg": (page, ""),
            "/photo.jpg": (gzip.compress(JPEG), "gzip")}


def origin_for(served: dict[str, tuple[bytes, str]]) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body, encoding = served[self.path]
            self.send_response(200)
            self.send_header("Content-Type", "image/jpeg")
            if encoding:
                self.send_header("Content-Encoding", encoding)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            try:
                self.wfile.write(body)
            except OSError:  # the server stopped reading: what this measures
                pass

        def log_message(self, format: str, *args: object) -> None:
            pass

    origin = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=origin.serve_forever, daemon=True).start()
    return origin


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--megabytes", type=int, default=512)
    args = parser.parse_args()
    command = ("python benchmarks/hostile_sources.py " + shlex.join(sys.argv[1:])).strip()
    served = bodies(args.megabytes)
    origin = origin_for(served)
    base = f"http://127.0.0.1:{origin.server_address[1]}"
    server = start_imgproxy(WORK_DIR, 2, env={"IMGPROXY_ALLOW_LOOPBACK_SOURCE_ADDRESSES": "true",
                                               "IMGPROXY_DOWNLOAD_TIMEOUT": "60", "IMGPROXY_TIMEOUT": "60"})
    results = []
    try:
        with httpx.Client(timeout=120) as client:
            for path, (body, encoding) in served.items():
                growth = server.peak_growth()
                started = time.perf_counter()
                response = client.get(f"{server.base_url}/unsafe/rs:fit:300:300/plain/{base}{path}")
                failed = response.status_code >= 400
                results.append({"source": path, "sent_bytes": len(body), "encoding": encoding or "none",
                                "status": response.status_code,
                                "answer": response.text[:40] if failed else response.headers.get("content-type", ""),
                                "seconds": time.perf_counter() - started,
                                "peak_growth_mb": growth()})
    finally:
        server.stop()
        origin.shutdown()
    out = save_results("hostile_sources", command, results, megabytes=args.megabytes)
    print(f"$ {command}\n")
    print(table_head("source", "bytes sent", "encoding", "status", "answer", "seconds", "server peak memory growth"))
    for r in results:
        print(f"| {r['source']} | {r['sent_bytes']} | {r['encoding']} | {r['status']} | {r['answer']} "
              f"| {r['seconds']:.2f} | {r['peak_growth_mb']:.1f} MiB |")
    print(f"\nresults in {rel(out)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
