"""Where imgproxy_py's CPU goes under run.py's load: py-spy (native frames too) over the server
while wrk sends a workload, then a summary of the samples.

    .venv/bin/pip install py-spy    # not a project dependency
    .venv/bin/python benchmarks/profile_ours.py --only w1,w2,w4 --duration 15

For each workload it writes ``work/profile-<key>.txt`` (py-spy's collapsed stacks) and prints: the
share of samples in libvips/C code, in Python frames (own time), and idle (threads waiting), the
busiest libraries and native functions, and the busiest Python functions.
"""

from __future__ import annotations

import argparse
import collections
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_common import WORK_DIR
from bench_measure import Target, ensure_wrk, load
from bench_servers import start_imgproxy
from bench_sources import ensure_byte_variants, ensure_sources, face_variant_count
from bench_workloads import WORKLOADS, Sources

# Python frames only, without pausing the server; "--native" (pauses it: slower) adds C frames of
# the Python threads (libvips' own worker threads are never sampled: their CPU shows in the
# per-thread CPU split).
PYSPY_MODE = ["--nonblocking"]


def summarize(collapsed: Path, top: int = 12) -> str:
    """Self time of the leaf frames, grouped by library / Python function."""
    leaf_lib: collections.Counter[str] = collections.Counter()
    leaf_fn: collections.Counter[str] = collections.Counter()
    py_fn: collections.Counter[str] = collections.Counter()
    total = 0
    for line in collapsed.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        frames = stack.split(";")
        leaf = frames[-1]
        # py-spy frames: "function (file:line)" for Python, "function (library.so)" for native code.
        where = leaf[leaf.rfind("(") + 1:-1] if leaf.endswith(")") else "?"
        is_python = ".py" in where
        lib = "python code" if is_python else where.split("/")[-1].split(":")[0]
        leaf_lib[lib] += count
        leaf_fn[leaf.split(" (")[0] + f" [{lib}]"] += count
        python_frames = [f for f in frames if ".py:" in f]
        if python_frames:
            py_fn[python_frames[-1].split(":")[0]] += count
    lines = [f"{total} samples"]
    lines.append("by library (leaf frame): " + ", ".join(
        f"{lib} {100 * n / total:.1f}%" for lib, n in leaf_lib.most_common(top)))
    lines.append("busiest leaf functions:")
    lines += [f"  {100 * n / total:5.1f}%  {fn}" for fn, n in leaf_fn.most_common(top)]
    lines.append("innermost Python frame of each sample (who called the native code):")
    lines += [f"  {100 * n / total:5.1f}%  {fn}" for fn, n in py_fn.most_common(top)]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", default="w1,w2,w4")
    parser.add_argument("--duration", type=float, default=15.0)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2 * (os.cpu_count() or 1))
    parser.add_argument("--sources", type=int, default=24)
    parser.add_argument("--rate", type=int, default=67, help="py-spy samples per second")
    args = parser.parse_args(argv)
    pyspy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(pyspy).exists():
        print("py-spy is not installed (not a project dependency): .venv/bin/pip install py-spy", file=sys.stderr)
        return 2
    wrk = ensure_wrk()
    root = ensure_sources(args.sources)
    variants = face_variant_count()
    ensure_byte_variants(variants, args.sources)
    sources = Sources(root, args.sources, variants)
    for w in WORKLOADS:
        if w.key not in args.only.split(","):
            continue
        # One process: py-spy follows one pid (the default runs one per core under a supervisor).
        server = start_imgproxy(root, args.workers, env={"IMGPROXY_PROCESSES": "1"},
                                log_path=WORK_DIR / f"profile-{w.key}.log")
        out = WORK_DIR / f"profile-{w.key}.txt"
        try:
            target = Target(w.ours, sources, w.source)
            load(server, target, wrk=wrk, concurrency=args.concurrency, warmup=2, seconds=2)  # warm
            spy = subprocess.Popen([pyspy, "record", "--pid", str(server.proc.pid), *PYSPY_MODE,
                                    "--threads", "--rate", str(args.rate), "--format", "raw", "--output", str(out),
                                    "--duration", str(round(args.duration))],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            time.sleep(1.0)
            m = load(server, target, wrk=wrk, concurrency=args.concurrency, warmup=0, seconds=args.duration - 1)
            spy.wait(timeout=60)
            print(f"== {w.key} {w.title}: {m.rps:.1f} req/s under py-spy, server CPU {m.server_cpu_pct:.0f}%, "
                  f"{m.cpu_ms_per_req:.1f} CPU ms/req")
            why = spy.stderr.read().decode(errors="replace") if spy.stderr else ""
            print(summarize(out) if out.exists() else f"py-spy wrote nothing: {why}")
        finally:
            server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
