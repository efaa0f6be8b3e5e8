"""The one wait helper: deadline, interval, progress lines, and the last state in the error.

The AST check at the bottom keeps it the only one: a loop that sleeps, or a ``while True``,
anywhere else in the package or the tests is a hand-written poll loop.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import pytest_jitera
from pytest_jitera.waiting import Observation, WaitFailed, WaitTimeout, wait_for

ROOT = Path(pytest_jitera.__file__).resolve().parents[1]


class Clock:
    """Virtual time: the helper's sleeps advance it, so nothing here really waits."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_returns_the_value_once_ready() -> None:
    clock = Clock()
    answers = iter([Observation.pending("0/1 ready"), Observation.pending("0/1 ready"), Observation.ready(7)])
    said: list[str] = []
    value = wait_for(
        "web",
        lambda: next(answers),
        timeout=60,
        interval=5,
        progress=said.append,
        clock=clock,
        sleep=clock.sleep,
    )
    assert value == 7
    assert clock.slept == [5, 5]
    assert said == ["web: 0/1 ready (0s)", "web: done"]


def test_timeout_names_the_last_state_seen() -> None:
    clock = Clock()
    states = iter(f"{n}/3 ready" for n in range(100))
    with pytest.raises(WaitTimeout) as info:
        wait_for(
            "rollout",
            lambda: Observation.pending(next(states)),
            timeout=10,
            interval=3,
            hint="kubectl describe",
            clock=clock,
            sleep=clock.sleep,
        )
    assert "rollout: not reached within 10s; last seen: 4/3 ready" in info.value.message
    assert info.value.last == "4/3 ready"
    assert info.value.hint == "kubectl describe"
    assert clock.now == 10


def test_hopeless_state_stops_at_once() -> None:
    clock = Clock()
    with pytest.raises(WaitFailed, match="job/migrate: failed"):
        wait_for(
            "job/migrate", lambda: Observation.hopeless("failed"), timeout=600, clock=clock, sleep=clock.sleep
        )
    assert clock.slept == []


def test_long_unchanged_wait_still_says_something() -> None:
    clock = Clock()
    said: list[str] = []
    with pytest.raises(WaitTimeout):
        wait_for(
            "hook",
            lambda: Observation.pending("active=1"),
            timeout=100,
            interval=10,
            progress=said.append,
            progress_every=30,
            clock=clock,
            sleep=clock.sleep,
        )
    assert said == [
        "hook: active=1 (0s)",
        "hook: active=1 (30s)",
        "hook: active=1 (60s)",
        "hook: active=1 (90s)",
    ]


def _sources() -> list[Path]:
    files = [*sorted((ROOT / "pytest_jitera").rglob("*.py")), *sorted((ROOT / "tests").rglob("*.py"))]
    return [f for f in files if "app" not in f.relative_to(ROOT).parts and f.name != "waiting.py"]


def _sleeps(node: ast.AST) -> bool:
    for inner in ast.walk(node):
        if isinstance(inner, ast.Call):
            func = inner.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name == "sleep":
                return True
    return False


def test_no_hand_written_poll_loop_outside_the_wait_helper() -> None:
    offenders = []
    for path in _sources():
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.While | ast.For | ast.AsyncFor):
                continue
            forever = isinstance(node, ast.While) and isinstance(node.test, ast.Constant) and node.test.value
            if forever or _sleeps(node):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offenders == [], "use pytest_jitera.waiting.wait_for instead of: " + ", ".join(offenders)
