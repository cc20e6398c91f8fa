"""The deadline's stop for libvips computations in flight (``imaging.kill_switch`` and
``imaging.vips.guarded``): a computation still running at its deadline fails, one that ends in time
is left alone, and each image is killed at its own deadline only."""

from __future__ import annotations

import threading
import time

import pytest
import pyvips

from imgproxy_py.deadline import Deadline
from imgproxy_py.imaging.kill_switch import KILL_SWITCH, KillSwitch
from imgproxy_py.imaging.vips import guarded, materialize

# About 2 s for one libvips thread: far past the deadlines below.
SLOW_SIDE = 2000


def _slow() -> pyvips.Image:
    return pyvips.Image.gaussnoise(SLOW_SIDE, SLOW_SIDE).gaussblur(40)


def test_a_computation_past_its_deadline_is_killed() -> None:
    started = time.monotonic()
    with pytest.raises(pyvips.Error):
        materialize(_slow(), Deadline.after(0.1))
    assert time.monotonic() - started < 1.5  # stopped, not left to finish
    assert KILL_SWITCH.armed_count == 0


def test_an_encoding_that_reads_the_guarded_image_is_killed() -> None:
    with pytest.raises(pyvips.Error), guarded(_slow(), Deadline.after(0.1)) as view:
        view.resize(0.5).jpegsave_buffer(Q=80)


def test_a_computation_that_ends_in_time_is_left_alone() -> None:
    img = pyvips.Image.black(64, 48) + 7
    out = materialize(img, Deadline.after(0.2))
    time.sleep(0.3)  # the deadline passes after the computation: nothing is killed late
    assert (out.width, out.height, out.avg()) == (64, 48, 7.0)
    assert img.avg() == 7.0  # the original, never armed, still computes
    assert KILL_SWITCH.armed_count == 0


def test_a_deadline_already_passed_kills_at_once() -> None:
    with pytest.raises(pyvips.Error):
        materialize(_slow(), Deadline(time.monotonic() - 1))


def test_each_image_is_killed_at_its_own_deadline() -> None:
    switch = KillSwitch()
    outcomes: dict[str, str] = {}

    def run(name: str, img: pyvips.Image, seconds: float) -> None:
        try:
            view = img.copy()  # killed, not the caller's image
            with switch.stopping(lambda: view.set_kill(True), time.monotonic() + seconds):
                view.copy_memory()
            outcomes[name] = "done"
        except pyvips.Error:
            outcomes[name] = "killed"

    # The later deadline is armed first, so the thread must wake earlier for the second one.
    quick = pyvips.Image.gaussnoise(400, 400).gaussblur(4)
    threads = [threading.Thread(target=run, args=("patient", quick, 60.0)),
               threading.Thread(target=run, args=("hurried", _slow(), 0.1))]
    for thread in threads:
        thread.start()
        time.sleep(0.02)
    for thread in threads:
        thread.join(timeout=30)
    assert outcomes == {"patient": "done", "hurried": "killed"}
    assert switch.armed_count == 0


def test_a_cancelled_deadline_kills_at_once() -> None:
    """The client left (``server.disconnect`` cancels the deadline): libvips stops now, not at
    the deadline."""
    deadline = Deadline.after(60)
    threading.Timer(0.1, deadline.cancel).start()
    started = time.monotonic()
    with pytest.raises(pyvips.Error):
        materialize(_slow(), deadline)
    assert time.monotonic() - started < 1.5
    assert KILL_SWITCH.armed_count == 0
