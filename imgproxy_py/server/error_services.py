"""The error-tracking services imgproxy reports to besides Sentry: Bugsnag, Honeybadger and
Airbrake, each through its maintained Python SDK, sending from the SDK's own thread.

imgproxy has no setting for these services' addresses; ours (``IMGPROXY_BUGSNAG_ENDPOINT``,
``IMGPROXY_HONEYBADGER_ENDPOINT``, ``IMGPROXY_AIRBRAKE_HOST``) reach an on-premise Bugsnag,
Honeybadger's EU region or an Airbrake-compatible server such as Errbit.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import Any, Protocol

# How long the server's shutdown waits for reports still being sent.
CLOSE_WAIT_SECONDS = 2.0


class ErrorService(Protocol):
    def send(self, exc: Exception, context: dict[str, str]) -> None: ...

    def close(self) -> None: ...


class _PendingSends:
    """Reports still being sent, which the server's shutdown waits for, briefly."""

    def __init__(self) -> None:
        self._futures: set[Future[Any]] = set()

    def track(self, future: Future[Any]) -> None:
        self._futures.add(future)
        future.add_done_callback(self._futures.discard)

    def wait(self) -> None:
        wait(list(self._futures), timeout=CLOSE_WAIT_SECONDS)


class Bugsnag:
    def __init__(self, api_key: str, stage: str, endpoint: str) -> None:
        import bugsnag

        options: dict[str, Any] = {"endpoint": endpoint} if endpoint else {}
        self.client = bugsnag.Client(api_key=api_key, release_stage=stage, asynchronous=True, install_sys_hook=False,
                                     auto_capture_sessions=False, send_environment=False, **options)

    def send(self, exc: Exception, context: dict[str, str]) -> None:
        self.client.notify(exc, context=context.get("path", ""), metadata={"request": context})

    def close(self) -> None:
        self.client.flush(int(CLOSE_WAIT_SECONDS * 1000))  # milliseconds


class Honeybadger:
    # The SDK sends each notice from a thread of its own that nothing can wait for; here the sends
    # go through one worker that the server's shutdown waits for (briefly) before the process ends.

    def __init__(self, api_key: str, environment: str, endpoint: str) -> None:
        from honeybadger import Honeybadger as Client

        self.client = Client()
        options: dict[str, Any] = {"endpoint": endpoint} if endpoint else {}
        self.client.configure(api_key=api_key, environment=environment, force_sync=True, **options)
        self._sender = ThreadPoolExecutor(max_workers=1, thread_name_prefix="honeybadger")
        self._pending = _PendingSends()

    def send(self, exc: Exception, context: dict[str, str]) -> None:
        self._pending.track(self._sender.submit(self.client.notify, exc, context=context))

    def close(self) -> None:
        self._pending.wait()
        self._sender.shutdown(wait=False, cancel_futures=True)


class Airbrake:
    def __init__(self, project_id: int, project_key: str, environment: str, host: str) -> None:
        import pybrake

        options: dict[str, Any] = {"host": host} if host else {}
        self.notifier = pybrake.Notifier(project_id=project_id, project_key=project_key, environment=environment,
                                         performance_stats=False, query_stats=False, queue_stats=False,
                                         remote_config=False, **options)
        self._pending = _PendingSends()

    def send(self, exc: Exception, context: dict[str, str]) -> None:
        notice = self.notifier.build_notice(exc)
        notice["params"]["request"] = context
        self._pending.track(self.notifier.send_notice(notice))  # sent from the SDK's thread pool

    def close(self) -> None:
        # The SDK's close waits for every send without a limit: an unreachable server would hold
        # the shutdown, so the wait is bounded here and the close left to a background thread.
        self._pending.wait()
        threading.Thread(target=self.notifier.close, daemon=True).start()
