"""Time to first byte of the 12 MP JPEG through imgproxy_py: from a local S3 server (moto's
standalone server) against the same file from a local HTTP origin.

    .venv/bin/python benchmarks/source_ttfb.py [--repeats 15]

Both stores are on loopback, so the figures compare the two source paths (S3 signing and
the store's answer against a plain GET), not networks.  Requests alternate between the two
sources; medians are printed.  Needs the dev extra (moto, boto3).
"""

from __future__ import annotations

import argparse
import http.client
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_common import ensure_images, table_head
from bench_servers import free_port, start_imgproxy, wait_http

AWS = {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": "us-east-1"}


def ttfb(url: str) -> float:
    """Seconds from sending the request to the first body byte (a fresh connection each time)."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=60)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    started = time.perf_counter()
    connection.request("GET", path)
    response = connection.getresponse()
    response.read(1)
    elapsed = time.perf_counter() - started
    if response.status != 200:
        raise RuntimeError(f"{url}: {response.status} {response.read()[:200]!r}")
    response.read()
    connection.close()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    images = ensure_images()
    size_mb = images.jpeg.stat().st_size / 1e6
    processes: list[subprocess.Popen[bytes]] = []
    try:
        s3_port, http_port = free_port(), free_port()
        env = {**os.environ, **AWS}
        processes.append(subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(s3_port)],
                                          env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        processes.append(subprocess.Popen([sys.executable, "-m", "http.server", "--bind", "127.0.0.1", str(http_port),
                                           "--directory", str(images.folder)],
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        s3_endpoint = f"http://127.0.0.1:{s3_port}"
        wait_http(s3_endpoint + "/moto-api/")
        wait_http(f"http://127.0.0.1:{http_port}/photo.jpg")
        import boto3

        s3 = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1", **{
            "aws_access_key_id": "bench", "aws_secret_access_key": "bench"})
        s3.create_bucket(Bucket="bench")
        # public-read: the direct figure is an anonymous GET, like the http origin's
        s3.put_object(Bucket="bench", Key="photo.jpg", Body=images.jpeg.read_bytes(), ACL="public-read")
        server = start_imgproxy(images.folder, 2, env={
            **AWS, "IMGPROXY_USE_S3": "true", "IMGPROXY_S3_ENDPOINT": s3_endpoint,
            "IMGPROXY_ALLOW_LOOPBACK_SOURCE_ADDRESSES": "true"})
        try:
            sources = {"s3": "s3://bench/photo.jpg", "http": f"http://127.0.0.1:{http_port}/photo.jpg"}
            direct = {"s3": f"{s3_endpoint}/bench/photo.jpg", "http": sources["http"]}
            rows = []
            for label, options in (("raw:1 (the source bytes)", "raw:1"), ("rs:fit:300:300", "rs:fit:300:300")):
                times: dict[str, list[float]] = {"s3": [], "http": []}
                for name in sources:  # warm-up: connections, credentials, libvips
                    ttfb(f"{server.base_url}/unsafe/{options}/plain/{sources[name]}")
                for _ in range(args.repeats):
                    for name, source in sources.items():
                        times[name].append(ttfb(f"{server.base_url}/unsafe/{options}/plain/{source}"))
                rows.append((label, statistics.median(times["s3"]), statistics.median(times["http"])))
            store = {name: statistics.median(ttfb(url) for _ in range(args.repeats)) for name, url in direct.items()}
        finally:
            server.stop()
        print(f"12 MP JPEG ({size_mb:.1f} MB), medians of {args.repeats}, TTFB in ms")
        print(table_head("request", "from s3:// (moto)", "from http://", "difference"))
        print(f"| the store itself, no imgproxy_py | {store['s3'] * 1000:.1f} | {store['http'] * 1000:.1f} | "
              f"{(store['s3'] - store['http']) * 1000:+.1f} |")
        for label, s3_time, http_time in rows:
            print(f"| imgproxy_py {label} | {s3_time * 1000:.1f} | {http_time * 1000:.1f} | "
                  f"{(s3_time - http_time) * 1000:+.1f} |")
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=10)


if __name__ == "__main__":
    main()
