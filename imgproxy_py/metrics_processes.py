"""Prometheus over several server processes (``IMGPROXY_PROCESSES`` above 1): one endpoint,
``IMGPROXY_PROMETHEUS_BIND``, with the whole host's figures whichever process answers.

prometheus_client's multiprocess mode: each process writes its counters, histograms and gauges
to memory-mapped files in one folder, and a scrape reads and merges all of them.  The supervisor
makes the folder and binds the endpoint once, before the fork, as it binds the server's socket;
every process answers scrapes on it.  imgproxy's names and labels stay as one process gives them:

- counters and histograms (``requests_total``, ``request_duration_seconds``...) are summed.  The
  files are named by the process's slot, not its pid: a replacement goes on counting from its
  slot's figures, so a dead process's requests stay counted and the folder does not grow;
- gauges of amounts (``workers``, ``requests_in_progress``, ``images_in_progress``, the
  ``vips_*`` bytes and allocations, ``process_resident_memory_bytes``...) are summed over the
  processes alive; ``workers_utilization`` is the host's (busy workers over workers), not a
  sum of percentages; the per-process caches' hit rates keep one series per process (a ``pid``
  label holding the slot); ``process_cpu_seconds_total`` is a counter of the host's CPU.
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from socketserver import ThreadingMixIn
from typing import TYPE_CHECKING, Any, Literal
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry
    from prometheus_client.metrics_core import Metric

# prometheus_client finds the folder in the environment, each time a process opens its files:
# the library's only way; the command line sets it before the fork (nothing of ours reads it).
MULTIPROC_DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"
REFRESH_INTERVAL = 1.0  # seconds between each process's writes of its gauges
GaugeMode = Literal["livesum", "livemin", "liveall"]
# How the processes' gauges merge; a gauge not named here is summed.
GAUGE_MODES: dict[str, GaugeMode] = {"source_cache_hit_rate": "liveall", "result_cache_hit_rate": "liveall"}
BUSY = "workers_busy"  # busy workers: the host's workers_utilization is computed from them
# prometheus_client's process collector's figures: how each merges over the processes.
PROCESS_GAUGES: dict[str, tuple[GaugeMode, str]] = {
    "process_virtual_memory_bytes": ("livesum", "Virtual memory size in bytes."),
    "process_resident_memory_bytes": ("livesum", "Resident memory size in bytes."),
    "process_open_fds": ("livesum", "Number of open file descriptors."),
    "process_max_fds": ("livemin", "Maximum number of open file descriptors."),
    "process_start_time_seconds": ("livemin", "Start time of the process since unix epoch in seconds."),
}


@dataclass(frozen=True)
class SharedPrometheus:
    """The supervisor's part: the folder of every process's files and the endpoint's socket."""

    folder: str
    sock: socket.socket

    @staticmethod
    def prepare(address: tuple[str, int]) -> SharedPrometheus:
        """Raises ``OSError`` when ``address`` (host, port) can't be listened on."""
        family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        sock = socket.create_server(address, family=family)
        sock.setblocking(False)  # every process waits on it: the ones that lose the race go on
        folder = tempfile.mkdtemp(prefix="imgproxy-prometheus-")
        return SharedPrometheus(folder, sock)

    def for_slot(self, slot: int) -> PrometheusSlot:
        return PrometheusSlot(self, slot)

    def slot_gone(self, slot: int) -> None:
        """Its process has exited: its live gauges no longer count (its counters still do)."""
        from prometheus_client.multiprocess import mark_process_dead

        mark_process_dead(slot, self.folder)  # type: ignore[no-untyped-call]

    def close(self) -> None:
        self.sock.close()
        shutil.rmtree(self.folder, ignore_errors=True)


@dataclass(frozen=True)
class PrometheusSlot:
    """A server process's part: its slot names its files."""

    shared: SharedPrometheus
    slot: int

    def write_to_files(self) -> None:
        """Every metric made after this writes to this slot's files (before the first one)."""
        from prometheus_client import values

        slot = self.slot
        values.ValueClass = values.MultiProcessValue(lambda: slot)  # type: ignore[no-untyped-call]

    def host_figures(self, namespace: str, gauge_help: dict[str, str], own: Callable[[str], str],
                     read_gauges: Callable[[], dict[str, float]], registry: CollectorRegistry) -> HostFigures:
        return HostFigures(self.shared.folder, namespace, gauge_help, own, read_gauges, registry)

    def serve(self, registry: CollectorRegistry, before: Callable[[], None]) -> SharedSocketServer:
        return SharedSocketServer.start(self.shared.sock, registry, before)


def _full(namespace: str, name: str) -> str:
    return f"{namespace}_{name}" if namespace else name


class HostFigures:
    """This process's gauges, written to its files by ``refresh``, and the collector that merges
    every process's files for a scrape (``workers_utilization`` computed from the merged sums)."""

    def __init__(self, folder: str, namespace: str, gauge_help: dict[str, str], own: Callable[[str], str],
                 read_gauges: Callable[[], dict[str, float]], registry: CollectorRegistry) -> None:
        from prometheus_client import Counter, Gauge, ProcessCollector
        from prometheus_client.multiprocess import MultiProcessCollector

        self.read_gauges = read_gauges
        self.gauges = {name: Gauge(own(name), doc, namespace=namespace, registry=None,
                                   multiprocess_mode=GAUGE_MODES.get(name, "livesum"))
                       for name, doc in gauge_help.items() if name != "workers_utilization"}
        self.gauges[BUSY] = Gauge(own(BUSY), "Workers busy with a request.", namespace=namespace, registry=None,
                                  multiprocess_mode="livesum")
        self.process = ProcessCollector(namespace=namespace, registry=None)
        self.process_gauges = {name: Gauge(name, doc, namespace=namespace, registry=None, multiprocess_mode=mode)
                               for name, (mode, doc) in PROCESS_GAUGES.items()}
        self.prefix = _full(namespace, "")
        self.cpu = Counter("process_cpu_seconds", "Total user and system CPU time spent in seconds.",
                           namespace=namespace, registry=None)
        self._cpu_seen = 0.0
        self._lock = threading.Lock()  # the loop's refresh and a scrape's may meet
        self.merged = MultiProcessCollector(None, path=folder)  # type: ignore[no-untyped-call]
        self.names = {key: _full(namespace, own(key)) for key in ("workers", BUSY, "workers_utilization")}
        self.utilization_help = gauge_help["workers_utilization"]
        registry.register(self)

    def refresh(self) -> None:
        gauges = self.read_gauges()
        busy = gauges.get("workers_utilization", 0.0) / 100.0 * gauges.get("workers", 0.0)
        with self._lock:
            for name, gauge in self.gauges.items():
                gauge.set(busy if name == BUSY else gauges.get(name, 0.0))
            for family in self.process.collect():
                for sample in family.samples:
                    self._process_sample(sample.name, sample.value)

    async def refresh_every_second(self) -> None:
        while True:
            self.refresh()
            await asyncio.sleep(REFRESH_INTERVAL)

    def _process_sample(self, name: str, value: float) -> None:
        bare = name.removeprefix(self.prefix)
        if bare == "process_cpu_seconds_total":
            # A counter of the host's CPU: this process adds what it used since the last look
            # (its slot's count goes on from a dead predecessor's).
            self.cpu.inc(max(0.0, value - self._cpu_seen))
            self._cpu_seen = max(self._cpu_seen, value)
        elif bare in self.process_gauges:
            self.process_gauges[bare].set(value)

    def collect(self) -> Iterator[Metric]:
        from prometheus_client.core import GaugeMetricFamily

        families: Iterable[Metric] = self.merged.collect()  # type: ignore[no-untyped-call]
        totals = {"workers": 0.0, BUSY: 0.0}
        for family in families:
            for key in totals:
                if family.name == self.names[key]:
                    totals[key] = sum(sample.value for sample in family.samples)
            yield family
        utilization = 100.0 * totals[BUSY] / totals["workers"] if totals["workers"] else 0.0
        yield GaugeMetricFamily(self.names["workers_utilization"], self.utilization_help, value=utilization)


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # scrapes are not worth a log line each
        return None


class SharedSocketServer(ThreadingMixIn, WSGIServer):
    """The metrics endpoint of one process on the socket every process shares."""

    daemon_threads = True

    @classmethod
    def start(cls, sock: socket.socket, registry: CollectorRegistry, before: Callable[[], None]) -> SharedSocketServer:
        from prometheus_client import make_wsgi_app

        metrics_app = make_wsgi_app(registry)

        def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
            before()  # this process's gauges as they are now (the others' are at most a second old)
            return metrics_app(environ, start_response)  # type: ignore[no-any-return]

        host, port = sock.getsockname()[:2]
        server = cls((host, port), _QuietHandler, bind_and_activate=False)
        server.socket.close()
        server.socket = sock
        server.server_name, server.server_port = host, port
        server.setup_environ()
        server.set_app(app)
        threading.Thread(target=server.serve_forever, name="prometheus", daemon=True).start()
        return server

    def get_request(self) -> tuple[socket.socket, Any]:
        conn, address = self.socket.accept()  # BlockingIOError when another process took it
        conn.setblocking(True)
        return conn, address

