"""The verdict policy: each rule, their order, the TOML file and its errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shieldwall.classifiers import EXPLICIT
from shieldwall.domain import BankKind, Match, PolicyError, RegionEvidence, SignalType, Verdict
from shieldwall.engine import Policy, load_policy, parse_policy
from shieldwall.engine.policy import default_policy_text

BUILTIN = {"record", "quarantine", "notify"}
POLICY = load_policy(None, BUILTIN)
DERIVED = RegionEvidence(40, 1.0, 0.0, (0.3, 0.5, 0.7, 0.95), 0.2)
COPY = RegionEvidence(80, 1.0, 0.0, None, 0.0)


def match(kind: BankKind, signal: SignalType = SignalType.PDQ, **kw: object) -> Match:
    entry = kw.pop("entry_id", 7)
    return Match(f"{kind.value}-bank", kind, entry, signal, 3, **kw)  # type: ignore[arg-type]


def derived(evidence: RegionEvidence = DERIVED) -> Match:
    return match(BankKind.SOURCE, SignalType.REGION, region=evidence)


def codes(decision_reasons: tuple[object, ...]) -> list[str]:
    return [r.code for r in decision_reasons]  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("matches", "scores", "verdict", "code"),
    [
        ([], None, Verdict.ALLOW, "no_rule"),
        ([], {EXPLICIT: 0.1}, Verdict.ALLOW, "no_rule"),
        ([], {EXPLICIT: 0.95}, Verdict.REVIEW, "explicit_no_match"),
        ([match(BankKind.KNOWN)], None, Verdict.BLOCK, "known_match"),
        ([match(BankKind.KNOWN, SignalType.MD5)], {EXPLICIT: 0.0}, Verdict.BLOCK, "known_match"),
        ([derived()], {EXPLICIT: 0.95}, Verdict.BLOCK, "derived_explicit"),
        ([derived()], {EXPLICIT: 0.2}, Verdict.REVIEW, "derived_unconfirmed"),
        ([derived()], None, Verdict.REVIEW, "derived_unconfirmed"),
        ([derived(COPY)], {EXPLICIT: 0.95}, Verdict.ALLOW, "source_copy"),
        ([match(BankKind.SOURCE)], None, Verdict.ALLOW, "source_copy"),
        ([match(BankKind.ALLOW)], {EXPLICIT: 0.99}, Verdict.ALLOW, "allow_match"),
        ([match(BankKind.ALLOW), derived()], {EXPLICIT: 0.99}, Verdict.ALLOW, "allow_match"),
        ([match(BankKind.ALLOW), match(BankKind.KNOWN)], None, Verdict.ALLOW, "allow_match"),
    ],
)
def test_default_rules(
    matches: list[Match], scores: dict[str, float] | None, verdict: Verdict, code: str
) -> None:
    decision = POLICY.decide(matches, scores)
    assert decision.verdict is verdict
    assert code in codes(decision.reasons)
    assert decision.reasons[0].code == code or code != "allow_match"
    assert decision.policy_version == POLICY.label
    assert decision.actions == POLICY.actions[verdict]


def test_explicit_without_match_follows_the_community() -> None:
    text = default_policy_text().replace('without_match = "review"', 'without_match = "allow"')
    adult_ok = parse_policy(text, BUILTIN)
    assert adult_ok.decide([], {EXPLICIT: 0.99}).verdict is Verdict.ALLOW
    strict = parse_policy(text.replace('without_match = "allow"', 'without_match = "block"'))
    assert strict.decide([], {EXPLICIT: 0.99}).verdict is Verdict.BLOCK
    assert adult_ok.label != strict.label != POLICY.label  # the digest tells versions apart


def test_allow_need_not_override_known() -> None:
    text = default_policy_text().replace("overrides_known = true", "overrides_known = false")
    policy = parse_policy(text, BUILTIN)
    decision = policy.decide([match(BankKind.ALLOW), match(BankKind.KNOWN)], None)
    assert decision.verdict is Verdict.BLOCK


def test_threshold_is_inclusive() -> None:
    assert POLICY.decide([], {EXPLICIT: 0.8}).verdict is Verdict.REVIEW
    assert POLICY.decide([], {EXPLICIT: 0.7999}).verdict is Verdict.ALLOW


def test_one_reason_per_entry_strongest_signal_first() -> None:
    matches = [
        match(BankKind.KNOWN, SignalType.PDQ),
        match(BankKind.KNOWN, SignalType.SHA256),
        match(BankKind.KNOWN, SignalType.PDQ, entry_id=8),
    ]
    reasons = POLICY.decide(matches, None).reasons
    assert [(r.code, r.entry_id) for r in reasons] == [("known_match", 7), ("known_match", 8)]
    assert "exact sha256" in reasons[0].message


def test_scores_not_needed_when_a_known_match_blocks() -> None:
    assert not POLICY.needs_scores([match(BankKind.KNOWN)])
    assert POLICY.needs_scores([match(BankKind.KNOWN), match(BankKind.ALLOW)])
    assert POLICY.needs_scores([derived()])
    assert POLICY.needs_scores([])


@given(
    kinds=st.lists(st.sampled_from(list(BankKind)), max_size=4),
    score=st.none() | st.floats(0, 1),
)
def test_verdict_invariants(kinds: list[BankKind], score: float | None) -> None:
    matches = [match(kind, entry_id=i) for i, kind in enumerate(kinds)]
    scores = None if score is None else {EXPLICIT: score}
    decision = POLICY.decide(matches, scores)
    assert decision.reasons, "every verdict says why"
    if BankKind.TEXT in kinds:  # an image allow-list says nothing about the words sent with it
        assert decision.verdict is Verdict.BLOCK
    elif BankKind.ALLOW in kinds:
        assert decision.verdict is Verdict.ALLOW
    elif BankKind.KNOWN in kinds:
        assert decision.verdict is Verdict.BLOCK
    assert decision == POLICY.decide(matches, scores)  # pure


def test_text_match_blocks_beside_an_allowed_image() -> None:
    text = match(BankKind.TEXT, SignalType.TEXT, entry_id=3)
    decision = POLICY.decide([match(BankKind.ALLOW), text], None)
    assert decision.verdict is Verdict.BLOCK
    assert [r.code for r in decision.reasons] == ["allow_match", "text_match"]
    assert "pattern 3 of text bank" in decision.reasons[1].message
    assert not POLICY.needs_scores([text]), "a blocking text match needs no classifier"
    lenient = parse_policy('[text]\nmatch = "review"', BUILTIN)
    assert lenient.decide([text], None).verdict is Verdict.REVIEW
    assert lenient.needs_scores([text])


def test_a_community_chooses_what_explicit_images_get() -> None:
    adult = POLICY.for_community(Verdict.ALLOW)
    assert adult.decide([], {EXPLICIT: 0.95}).verdict is Verdict.ALLOW
    assert POLICY.decide([], {EXPLICIT: 0.95}).verdict is Verdict.REVIEW
    assert adult.label == POLICY.label + ";explicit=allow"
    assert adult.decide([match(BankKind.KNOWN)], None).verdict is Verdict.BLOCK
    assert POLICY.for_community(None) is POLICY
    assert POLICY.for_community(Verdict.REVIEW) is POLICY


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        ("name = = 1", "not valid TOML"),
        ("[explicit]\nthreshold = 1.5", "between 0 and 1"),
        ("[explicit]\nthreshold = true", "wrong type"),
        ('[explicit]\nwithout_match = "delete"', "allow, review or block"),
        ('[actions]\nblock = ["record", "shout"]', "unknown action 'shout'"),
        ("[actions]\nblock = [1]", "list of action names"),
        ("[explicit]\nthreshhold = 0.5", "unknown policy setting 'explicit.threshhold'"),
        ("colour = 'red'", "unknown policy setting 'colour'"),
        ('[text]\nmatch = "delete"', "text.match must be allow, review or block"),
    ],
)
def test_bad_policy_files_name_the_problem(edit: str, message: str) -> None:
    with pytest.raises(PolicyError, match=message):
        parse_policy(edit, BUILTIN)


def test_policy_file_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "policy.toml"
    path.write_text(default_policy_text())
    assert load_policy(path, BUILTIN) == POLICY
    with pytest.raises(PolicyError, match="cannot read"):
        load_policy(tmp_path / "missing.toml")


def test_defaults_equal_the_bundled_file() -> None:
    bundled = load_policy(None, BUILTIN)
    built = Policy(digest=bundled.digest)
    assert built == bundled
