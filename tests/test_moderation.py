"""The Moderator without HTTP: failures of a model or an action never lose the decision, and
matching stays right while banks change under many scanning threads."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from api_support import StandIn
from conftest import synthetic_photo, to_bytes
from shieldwall.actions import ActionOutcome, OutcomeStatus, ScanContext
from shieldwall.domain import Verdict, verify_chain
from shieldwall.engine import Runtime, open_runtime
from shieldwall.engine.rwlock import ReadWriteLock
from shieldwall.media import RGBArray


class Broken(StandIn):
    def scores(self, pixels: RGBArray) -> dict[str, float]:
        raise RuntimeError("model exploded")


class Failing:
    name = "page-the-team"

    def run(self, context: ScanContext) -> ActionOutcome:
        raise ConnectionError("pager down")


def test_a_failing_classifier_leaves_a_hash_decision(runtime: Runtime) -> None:
    runtime.moderator.classifier = Broken()
    decision = runtime.moderator.scan(to_bytes(synthetic_photo(1)), source="test")
    assert decision.verdict is Verdict.ALLOW and decision.scores is None
    assert decision.classifier_error == "RuntimeError: model exploded"
    [event] = runtime.audit.for_subject(decision.scan_id)
    assert event.payload["classifier_error"] == "RuntimeError: model exploded"


def test_a_failing_action_is_recorded_and_the_others_run(database_url: str, tmp_path: Path) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text('[actions]\nallow = ["page-the-team", "record"]\n')
    rt = open_runtime(database_url, policy_file=policy, extra_actions=[Failing()])
    try:
        decision = rt.moderator.scan(to_bytes(synthetic_photo(2)), source="test")
        statuses = [(o.action, o.status) for o in decision.outcomes]
        assert statuses == [("page-the-team", OutcomeStatus.FAILED), ("record", OutcomeStatus.DONE)]
        events = rt.audit.for_subject(decision.scan_id)
        assert [e.event for e in events] == [
            "scan.decided",
            "action.page-the-team",
            "action.record",
        ]
        assert events[1].payload == {"status": "failed", "error": "pager down"}
        assert verify_chain(rt.audit.iter_events()).ok
    finally:
        rt.close()


def test_withdrawals_apply_while_many_threads_scan(runtime: Runtime) -> None:
    images = [to_bytes(synthetic_photo(seed)) for seed in range(6)]
    runtime.curator.create_bank("ncii")
    entries = [runtime.curator.add_image("ncii", data, "test") for data in images]
    signals = [runtime.scanner.hash(data) for data in images]
    stop = threading.Event()
    errors: list[str] = []

    def scan_forever() -> None:
        while not stop.is_set():
            for i, s in enumerate(signals):
                found = {m.entry_id for m in runtime.scanner.match(s).matches}
                if not found <= {entries[i].id}:
                    errors.append(f"image {i} matched {found}")

    threads = [threading.Thread(target=scan_forever) for _ in range(4)]
    for t in threads:
        t.start()
    for entry in entries[:3]:
        runtime.curator.withdraw("ncii", entry.id)
        # Effective for every match that starts after withdraw returned.
        assert not runtime.scanner.match(signals[entries.index(entry)]).matches
    stop.set()
    for t in threads:
        t.join()
    assert not errors
    assert all(runtime.scanner.match(s).matches for s in signals[3:])


def test_readers_share_writers_exclude() -> None:
    lock = ReadWriteLock()
    inside: list[str] = []
    overlap = threading.Event()

    def reader() -> None:
        with lock.reading():
            inside.append("r")
            if inside.count("r") >= 2:
                overlap.set()
            overlap.wait(2)
            inside.remove("r")

    def writer() -> None:
        with lock.writing():
            assert not inside, "a writer ran beside a reader"
            inside.append("w")
            time.sleep(0.01)
            inside.remove("w")

    threads = [threading.Thread(target=reader) for _ in range(2)]
    threads += [threading.Thread(target=writer) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(5)
    assert overlap.is_set(), "two readers never held the lock together"
    assert not inside
