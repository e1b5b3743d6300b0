"""The classifier protocol, and a base class that owns the lazy, locked model load and the checks
on what goes in and comes out, so that a model only has to say how it loads and how it scores."""

from __future__ import annotations

import math
import threading
from abc import ABC, abstractmethod
from typing import Generic, Protocol, TypeVar, final, runtime_checkable

import numpy as np

from shieldwall.domain import InvalidArgumentError
from shieldwall.media import RGBArray

#: Score key the policy reads: probability in [0, 1] that the image is sexually explicit.
EXPLICIT = "explicit"

#: How far a model's probability may stray outside [0, 1] (float rounding) before it is a bug.
_TOLERANCE = 1e-6

ModelT = TypeVar("ModelT")


@runtime_checkable
class Classifier(Protocol):
    """An image model that scores decoded pixels.

    ``scores`` takes H x W x 3 uint8 RGB pixels as ``shieldwall.media.decode_image`` returns them
    (upright, alpha flattened; callers decode with ``max_side=512``) and returns probabilities in
    [0, 1] by key (``EXPLICIT`` first). Implementations are thread-safe, load their model at most
    once (``load`` eagerly and idempotently, otherwise on the first ``scores`` call), and never keep
    or write the pixels they are given.
    """

    @property
    def name(self) -> str:
        """The registry name, e.g. ``"opennsfw"``; recorded with every score."""
        ...

    def load(self) -> None:
        """Load the model now rather than on the first call; raises ClassifierUnavailableError."""
        ...

    def scores(self, pixels: RGBArray) -> dict[str, float]:
        """Probabilities in [0, 1] by key for one decoded image."""
        ...


def check_pixels(pixels: RGBArray) -> None:
    """Raise InvalidArgumentError unless ``pixels`` is a non-empty H x W x 3 uint8 array."""
    if not isinstance(pixels, np.ndarray):
        raise InvalidArgumentError(f"pixels must be a numpy array, not {type(pixels).__name__}")
    if pixels.dtype != np.uint8 or pixels.ndim != 3 or pixels.shape[2] != 3 or pixels.size == 0:
        raise InvalidArgumentError(
            f"pixels must be a non-empty H x W x 3 uint8 RGB array, got shape {pixels.shape} "
            f"of {pixels.dtype}"
        )


class LazyClassifier(ABC, Generic[ModelT]):
    """Base for classifiers backed by a model object that is slow to load and safe to share.

    Subclasses set ``name`` and implement ``_load`` (build the model; called once, under a lock)
    and ``_scores`` (score checked pixels; called from many threads at once, so the model must
    be safe to call concurrently). ``load`` and ``scores`` are final: the checks live here.
    """

    name: str

    def __init__(self) -> None:
        self._model: ModelT | None = None
        self._lock = threading.Lock()

    @property
    def loaded(self) -> bool:
        """Whether the model has been loaded."""
        return self._model is not None

    @final
    def load(self) -> None:
        self._ensure_model()

    @final
    def scores(self, pixels: RGBArray) -> dict[str, float]:
        check_pixels(pixels)
        raw = self._scores(self._ensure_model(), pixels)
        return {key: self._probability(key, value) for key, value in raw.items()}

    def _ensure_model(self) -> ModelT:
        model = self._model
        if model is None:
            with self._lock:  # double-checked: many threads may arrive before the first load ends
                if self._model is None:
                    self._model = self._load()
                model = self._model
        return model

    def _probability(self, key: str, value: float) -> float:
        number = float(value)
        if not math.isfinite(number) or not -_TOLERANCE <= number <= 1 + _TOLERANCE:
            raise ValueError(f"classifier {self.name} gave {key}={number}, not a probability")
        return min(1.0, max(0.0, number))

    @abstractmethod
    def _load(self) -> ModelT:
        """Build the model; raise ClassifierUnavailableError when its package or file is missing."""

    @abstractmethod
    def _scores(self, model: ModelT, pixels: RGBArray) -> dict[str, float]:
        """Score ``pixels`` (already checked) with ``model``; values are probabilities."""
