"""Optional image models behind one protocol: ``Classifier.scores(pixels) -> {"explicit": p}``.

Built-ins: ``opennsfw`` (Yahoo Open-NSFW, the ``nsfw`` extra). Imports domain and media only.
"""

from shieldwall.classifiers.base import (
    EXPLICIT,
    Classifier,
    LazyClassifier,
    check_pixels,
)
from shieldwall.classifiers.opennsfw import (
    INSTALL_HINT,
    OPENNSFW,
    OpenNsfwClassifier,
    require_opennsfw,
)
from shieldwall.classifiers.registry import (
    ClassifierFactory,
    ClassifierRegistry,
    available_classifiers,
    create_classifier,
    default_classifier,
    register_classifier,
)

__all__ = [
    "EXPLICIT",
    "INSTALL_HINT",
    "OPENNSFW",
    "Classifier",
    "ClassifierFactory",
    "ClassifierRegistry",
    "LazyClassifier",
    "OpenNsfwClassifier",
    "available_classifiers",
    "check_pixels",
    "create_classifier",
    "default_classifier",
    "register_classifier",
    "require_opennsfw",
]
