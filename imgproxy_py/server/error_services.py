"""The error-tracking services imgproxy reports to besides Sentry: Bugsnag, Honeybadger and
Airbrake, each through its maintained Python SDK, sending from the SDK's own thread.

imgproxy has no setting for these services' addresses; ours (``IMGPROXY_BUGSNAG_ENDPOINT``,
``IMGPROXY_HONEYBADGER_ENDPOINT``, ``IMGPROXY_AIRBRAKE_HOST``) reach an on-premise Bugsnag,
Honeybadger's EU region or an Airbrake-compatible server such as Errbit.
"""

from __future__ import annotations

from typing import Any, Protocol


class ErrorService(Protocol):
    def send(self, exc: Exception, context: dict[str, str]) -> None: ...

    def close(self) -> None: ...


class Bugsnag:
    def __init__(self, api_key: str, stage: str, endpoint: str) -> None:
        import bugsnag

        options: dict[str, Any] = {"endpoint": endpoint} if endpoint else {}
        self.client = bugsnag.Client(api_key=api_key, release_stage=stage, asynchronous=True, install_sys_hook=False,
                                     auto_capture_sessions=False, send_environment=False, **options)

    def send(self, exc: Exception, context: dict[str, str]) -> None:
        self.client.notify(exc, context=context.get("path", ""), metadata={"request": context})

    def close(self) -> None:
        self.client.flush(2000)


class Honeybadger:
    def __init__(self, api_key: str, environment: str, endpoint: str) -> None:
        from honeybadger import Honeybadger as Client

        self.client = Client()
        options: dict[str, Any] = {"endpoint": endpoint} if endpoint else {}
        self.client.configure(api_key=api_key, environment=environment, force_sync=False, **options)

    def send(self, exc: Exception, context: dict[str, str]) -> None:
        self.client.notify(exc, context=context)

    def close(self) -> None:
        events = getattr(self.client, "events_worker", None)
        if events is not None and hasattr(events, "shutdown"):
            events.shutdown()


class Airbrake:
    def __init__(self, project_id: int, project_key: str, environment: str, host: str) -> None:
        import pybrake

        options: dict[str, Any] = {"host": host} if host else {}
        self.notifier = pybrake.Notifier(project_id=project_id, project_key=project_key, environment=environment,
                                         performance_stats=False, query_stats=False, queue_stats=False,
                                         remote_config=False, **options)

    def send(self, exc: Exception, context: dict[str, str]) -> None:
        notice = self.notifier.build_notice(exc)
        notice["params"]["request"] = context
        self.notifier.send_notice(notice)  # from the caller's thread: the handler runs in a worker

    def close(self) -> None:
        self.notifier.close()
