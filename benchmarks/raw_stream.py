"""``raw:1`` streaming: seconds and the server's peak memory for one large file, from a
``local:///`` root and from an http origin on loopback, whole and as one 1000-byte range.

    .venv/bin/python benchmarks/raw_stream.py [--megabytes 300]

The file is random bytes (``work/raw/big.bin``), so no encoding shrinks it.  Peak memory is the
server's VmHWM growth over its idle RSS during each request (Linux: reset before each one).
Output: a table on stdout and ``benchmarks/results/raw-stream-<date>.json``.
"""

from __future__ import annotations

import argparse
import functools
import os
import shlex
import sys
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_common import WORK_DIR, rel, save_results, table_head
from bench_servers import start_imgproxy

CASES = (("local, whole", "local:///big.bin", None), ("local, one range", "local:///big.bin", "bytes=0-999"),
         ("http origin, whole", "{origin}/big.bin", None))


def ensure_file(folder: Path, megabytes: int) -> Path:
    path = folder / "big.bin"
    if not path.exists() or path.stat().st_size != megabytes << 20:
        folder.mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as out:
            for _ in range(megabytes):
                out.write(os.urandom(1 << 20))
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--megabytes", type=int, default=300)
    args = parser.parse_args()
    command = ("python benchmarks/raw_stream.py " + shlex.join(sys.argv[1:])).strip()
    folder = WORK_DIR / "raw"
    ensure_file(folder, args.megabytes)
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(folder))
    origin = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=origin.serve_forever, daemon=True).start()
    server = start_imgproxy(folder, 2, env={"IMGPROXY_ALLOW_LOOPBACK_SOURCE_ADDRESSES": "true"})
    results = []
    try:
        with httpx.Client(timeout=120) as client:
            for title, source, byte_range in CASES:
                url = source.format(origin=f"http://127.0.0.1:{origin.server_address[1]}")
                headers = {"Range": byte_range} if byte_range else {}
                growth = server.peak_growth()
                started = time.perf_counter()
                size = 0
                with client.stream("GET", f"{server.base_url}/unsafe/raw:1/plain/{url}", headers=headers) as response:
                    for chunk in response.iter_raw():
                        size += len(chunk)
                seconds = time.perf_counter() - started
                results.append({"case": title, "status": response.status_code, "bytes": size, "seconds": seconds,
                                "peak_growth_mb": growth()})
    finally:
        server.stop()
        origin.shutdown()
    out = save_results("raw_stream", command, results, megabytes=args.megabytes)
    print(f"$ {command}\n{args.megabytes} MiB of random bytes\n")
    print(table_head("case", "status", "bytes", "seconds", "MiB/s", "server peak memory growth"))
    for r in results:
        rate = r["bytes"] / (1 << 20) / r["seconds"]
        print(f"| {r['case']} | {r['status']} | {r['bytes']} | {r['seconds']:.2f} | {rate:.0f} "
              f"| {r['peak_growth_mb']:.1f} MiB |")
    print(f"\nresults in {rel(out)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
