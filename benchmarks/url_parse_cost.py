"""What reading a URL costs before any image work: the signature split, the tokenizer, the
options parser and the canonical form (the cache key's and the ETag's), in-process, no HTTP.

    .venv/bin/python benchmarks/url_parse_cost.py [--rounds 5]

Each kind of URL comes in many distinct variants (sizes, sources, cache busters), every one
parsed once per round; a figure is the median over the rounds of the mean microseconds per URL.
The chained row is one 300 KB URL of 42,000 pipelines, whose parsing the server does in a worker
slot (``server/checks.py: LONG_PATH``). Output: a table on stdout and
``benchmarks/results/url-parse-cost-<date>.json``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench_common import save_results, table_head

from imgproxy_py.config import load_config
from imgproxy_py.server.checks import parse_and_verify
from imgproxy_py.server.composition import Services, build_services

SOURCES = ("astronaut.jpg", "chelsea.jpg", "coffee.jpg", "rocket.jpg", "pil123p.png", "iss634.gif")
KINDS = {
    "fit": "rs:fit:{n}:{n}",
    "smart fill to WebP": "rs:fill:{n}:{m}/g:sm/q:80/cb:{i}",
    "face fill, blur, watermark": "rs:fill:{n}:{m}/g:obj:face/bl:2/wm:0.5:soea:10:10:0.2/f:avif",
    "two pipelines, presets": "pr:default/rs:fit:{n}:{n}/-/t:10/pd:{i}:4",
}


def paths(template: str, count: int) -> list[str]:
    return [f"/unsafe/{template.format(n=100 + i, m=50 + i % 97, i=i)}/plain/local:///{SOURCES[i % len(SOURCES)]}"
            for i in range(count)]


def microseconds_per_url(services: Services, urls: list[str]) -> float:
    started = time.perf_counter()
    for path in urls:
        parsed = parse_and_verify(services, path)
        options = services.options.parse(parsed.options, parsed.source.extension, None)
        services.options.canonical(options)
    return (time.perf_counter() - started) / len(urls) * 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--variants", type=int, default=500, help="distinct URLs of each kind (default 500)")
    args = parser.parse_args(argv)
    services = build_services(load_config({"IMGPROXY_PRESETS": "default=q:75"}))
    cases = {kind: paths(template, args.variants) for kind, template in KINDS.items()}
    cases["42,000 chained pipelines (300 KB)"] = ["/unsafe/" + "w:10/-/" * 42_000 + "plain/local:///chelsea.jpg"]
    rows = []
    print(table_head("URL", "distinct URLs", "µs per URL (median of rounds)"))
    for kind, urls in cases.items():
        microseconds_per_url(services, urls[:50])  # warm
        median = statistics.median(microseconds_per_url(services, urls) for _ in range(args.rounds))
        rows.append({"kind": kind, "urls": len(urls), "us_per_url": round(median, 1)})
        print(f"| {kind} | {len(urls)} | {median:,.1f} |", flush=True)
    save_results("url-parse-cost", "python benchmarks/url_parse_cost.py " + " ".join(argv or sys.argv[1:]), rows,
                 rounds=args.rounds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
