"""Several server processes on one port (``IMGPROXY_PROCESSES``): a pre-fork supervisor.

The parent binds the socket, forks the servers and does nothing else: each child builds its
own services (models, libvips, worker slots: one GIL per process) and accepts on the shared
socket, the kernel handing each connection to one of them. A child that dies is replaced (after
a doubling pause when it died young); a child that cannot start (a configuration problem, a port
taken) stops them all. SIGTERM or SIGINT to the parent is passed to every child, whose server
stops accepting and finishes the requests in flight (``IMGPROXY_GRACEFUL_STOP_TIMEOUT``); the
parent returns when the last has exited.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import sys
import time
from collections.abc import Callable
from types import FrameType

log = logging.getLogger("imgproxy_py")

# A child's exit status meaning "this configuration can't start": restarting can't help.
# uvicorn exits with it too when its server cannot start.
EXIT_CANNOT_START = 3
# A child that dies sooner than QUICK_DEATH after its start is replaced only after a pause that
# doubles with each such death in a row (1, 2, 4 ... 30 s), so a crash at start-up does not
# become a fork loop that rebuilds every service again and again.
QUICK_DEATH = 10.0
RESPAWN_BACKOFF = 1.0
MAX_RESPAWN_BACKOFF = 30.0
POLL = 0.1  # seconds between looks at the children
_STOP_SIGNALS = {signal.SIGTERM, signal.SIGINT}


def _die_with_parent() -> None:
    """Linux: the child gets SIGTERM if the supervisor dies, so no server outlives it."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class Supervisor:
    """``serve_child(slot)`` runs in each child; ``slot`` (0 to processes - 1) is the child's
    place, which its replacement takes over; ``child_gone(slot)`` runs here when it exits;
    ``stop_listening`` runs here once on SIGTERM or SIGINT (the parent closes its copy of the
    listening socket, so that new connections are refused while the children drain, not queued
    unanswered)."""

    def __init__(self, processes: int, serve_child: Callable[[int], int],
                 child_gone: Callable[[int], None] = lambda slot: None,
                 stop_listening: Callable[[], None] = lambda: None, reap_all: bool | None = None) -> None:
        self.processes = processes
        # As PID 1 (a container started without an init) every child is reaped, so that orphans
        # handed to us (a RAW worker whose server process was killed) do not stay zombies.
        self.reap_all = os.getpid() == 1 if reap_all is None else reap_all
        self.serve_child = serve_child
        self.child_gone = child_gone
        self.stop_listening = stop_listening
        self.children: dict[int, tuple[float, int]] = {}  # pid -> (start time, slot)
        self.respawns: dict[int, float] = {}  # slot -> when its replacement starts
        self.quick_deaths: dict[int, int] = {}  # slot -> its children's quick deaths in a row
        self.stopping = False
        self.started = 0  # processes forked, replacements included

    def _spawn(self, slot: int) -> None:
        # SIGTERM and SIGINT wait until the child is in self.children (so _stop signals it) and
        # the child has its own default handlers (so the parent's handler never runs there).
        signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
        try:
            pid = os.fork()
            if pid == 0:
                self._child(slot)
            self.children[pid] = (time.monotonic(), slot)
            self.started += 1
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)

    def _child(self, slot: int) -> None:
        for signum in _STOP_SIGNALS:
            signal.signal(signum, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)
        _die_with_parent()
        code = 1
        try:
            code = self.serve_child(slot)
        except SystemExit as exc:  # uvicorn's own exit when its server cannot start
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        except BaseException:  # a child never returns into the supervisor's loop
            log.exception("server process failed")
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)

    def _stop(self, signum: int, _frame: FrameType | None) -> None:
        if not self.stopping:
            log.info("stopping %d server processes (signal %d)", len(self.children), signum)
            self.stop_listening()
        self.stopping = True
        self.respawns.clear()
        for pid in list(self.children):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)

    def run(self) -> int:
        signal.signal(signal.SIGTERM, self._stop)
        signal.signal(signal.SIGINT, self._stop)
        for slot in range(self.processes):
            if not self.stopping:
                self._spawn(slot)
        log.info("supervising %d server processes: %s", self.processes, sorted(self.children))
        result = 0
        while self.children or self.respawns:
            time.sleep(POLL)
            for pid, status in self._exited():
                started, slot = self.children.pop(pid)
                self.child_gone(slot)
                code = os.waitstatus_to_exitcode(status)
                if self.stopping:
                    continue
                if code == EXIT_CANNOT_START:
                    result = 1
                    self._stop(signal.SIGTERM, None)
                    continue
                self._schedule_respawn(pid, slot, code, time.monotonic() - started)
            now = time.monotonic()
            for slot, due in sorted(self.respawns.items()):
                if due <= now and not self.stopping:
                    del self.respawns[slot]
                    self._spawn(slot)
        return result

    def _schedule_respawn(self, pid: int, slot: int, code: int, lived: float) -> None:
        deaths = self.quick_deaths[slot] = self.quick_deaths.get(slot, 0) + 1 if lived < QUICK_DEATH else 0
        pause = 0.0 if deaths == 0 else min(RESPAWN_BACKOFF * 2 ** (deaths - 1), MAX_RESPAWN_BACKOFF)
        log.warning("server process %d exited (%s) after %.1f s; starting a replacement in %.0f s", pid,
                    f"signal {-code}" if code < 0 else f"status {code}", lived, pause)
        self.respawns[slot] = time.monotonic() + pause

    def _exited(self) -> list[tuple[int, int]]:
        """Our children that have exited, reaped; with ``reap_all`` any child (orphans too),
        otherwise only ours (the process may have others, a test's servers)."""
        done = []
        if self.reap_all:
            with contextlib.suppress(ChildProcessError):
                while True:
                    reaped, status = os.waitpid(-1, os.WNOHANG)
                    if not reaped:
                        break
                    if reaped in self.children:
                        done.append((reaped, status))
            return done
        for pid in list(self.children):
            try:
                reaped, status = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                reaped, status = pid, 0
            if reaped:
                done.append((pid, status))
        return done
