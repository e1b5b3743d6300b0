"""The audit chain: appends from many threads stay one chain; any edit is found and named."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from shieldwall.domain import GENESIS_HASH, AuditEvent, NewAuditEvent, seal, verify_chain
from shieldwall.engine import Runtime
from shieldwall.storage import AuditStore


def new(i: int) -> NewAuditEvent:
    return NewAuditEvent("tester", "thing.happened", f"s{i}", {"i": i, "note": "ünïcode"})


def chain(n: int) -> list[AuditEvent]:
    from datetime import UTC, datetime

    events, prev = [], GENESIS_HASH
    at = datetime(2026, 11, 29, tzinfo=UTC)
    for i in range(n):
        event = seal(new(i), i + 1, at + timedelta(seconds=i), prev)
        events.append(event)
        prev = event.hash
    return events


EDITS = {
    "payload": lambda e: replace(e, payload={**e.payload, "i": -1}),
    "actor": lambda e: replace(e, actor="someone else"),
    "event": lambda e: replace(e, event="other.thing"),
    "time": lambda e: replace(e, at=e.at + timedelta(microseconds=1)),
    "digest": lambda e: replace(e, payload_digest="0" * 64),
    "hash": lambda e: replace(e, hash="f" * 64),
}


@settings(max_examples=200)
@given(n=st.integers(1, 12), data=st.data())
def test_any_edit_is_found_at_the_edited_event(n: int, data: st.DataObject) -> None:
    events = chain(n)
    assert verify_chain(events).ok
    where = data.draw(st.integers(0, n - 1))
    how = data.draw(st.sampled_from(sorted(EDITS)))
    events[where] = EDITS[how](events[where])
    report = verify_chain(events)
    assert report.broken is not None and report.broken.seq == where + 1
    assert report.checked == where


@given(n=st.integers(2, 12), data=st.data())
def test_removed_or_swapped_events_are_found(n: int, data: st.DataObject) -> None:
    events = chain(n)
    i = data.draw(st.integers(0, n - 2))
    removed = events[:i] + events[i + 1 :]
    assert verify_chain(removed).broken is not None
    swapped = list(events)
    swapped[i], swapped[i + 1] = swapped[i + 1], swapped[i]
    assert verify_chain(swapped).broken is not None
    # Cutting the tail is not detectable from the chain alone: the last hash is the anchor.
    assert verify_chain(events[: i + 1]).last_hash != verify_chain(events).last_hash


def test_store_appends_one_chain_from_many_threads(runtime: Runtime) -> None:
    store = AuditStore(runtime.engine)

    def work(k: int) -> None:
        for i in range(10):
            store.append([new(100 * k + i), new(100 * k + i + 50)])

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    events = list(store.iter_events())
    assert [e.seq for e in events] == list(range(1, 81))
    assert verify_chain(events).ok
    assert store.count("thing.happened") == 80


def test_two_stores_on_one_database_do_not_fork_the_chain(runtime: Runtime) -> None:
    # Two processes are two stores with their own locks; the key on seq orders them.
    first, second = AuditStore(runtime.engine), AuditStore(runtime.engine)
    threads = [
        threading.Thread(target=lambda s=s: [s.append([new(i)]) for i in range(15)])
        for s in (first, second)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    events = list(first.iter_events())
    assert len(events) == 30 and verify_chain(events).ok


def test_a_tampered_row_is_named(runtime: Runtime) -> None:
    store = runtime.audit
    for i in range(5):
        store.append([new(i)])
    with runtime.engine.begin() as connection:
        connection.execute(
            text("UPDATE audit_events SET payload = :p WHERE seq = 3"), {"p": '{"i":999}'}
        )
    report = verify_chain(store.iter_events())
    assert report.broken is not None and report.broken.seq == 3
    assert "payload" in report.broken.problem


def test_bank_changes_are_audited_without_hash_values(
    runtime: Runtime, samples: dict[str, bytes]
) -> None:
    runtime.curator.create_bank("b", actor="alice")
    entry = runtime.curator.add_image("b", next(iter(samples.values())), "bob")
    runtime.curator.add_hash("b", entry.signals[0].signal, "ab" * 16, "bob")
    runtime.curator.update_bank("b", pdq_threshold=20, actor="alice")
    runtime.curator.withdraw("b", entry.id, actor="carol")
    events = list(runtime.audit.iter_events())
    assert [(e.actor, e.event) for e in events] == [
        ("alice", "bank.created"),
        ("bob", "entry.added"),
        ("bob", "entry.added"),
        ("alice", "bank.updated"),
        ("carol", "entry.withdrawn"),
    ]
    assert all(e.subject == "bank:b" for e in events)
    stored = {s.value for s in entry.signals}
    for e in events:
        assert not any(value in str(e.payload) for value in stored), e
    assert verify_chain(events).ok


@pytest.mark.parametrize("count", [0, 1])
def test_empty_or_single_chain_verifies(runtime: Runtime, count: int) -> None:
    for i in range(count):
        runtime.audit.append([new(i)])
    report = verify_chain(runtime.audit.iter_events())
    assert report.ok and report.checked == count
