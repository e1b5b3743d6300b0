"""Classifiers by name. The built-ins register through ``register_classifier``, the same call an
extension makes, so there is one mechanism; a name can be registered once."""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable

from shieldwall.classifiers.base import Classifier
from shieldwall.classifiers.opennsfw import OPENNSFW, OpenNsfwClassifier, require_opennsfw
from shieldwall.domain import ClassifierUnavailableError, InvalidArgumentError

#: Builds a classifier without loading its model (loading is the classifier's ``load``).
ClassifierFactory = Callable[[], Classifier]

_NAME = re.compile(r"[a-z][a-z0-9_-]{0,39}")
_log = logging.getLogger(__name__)


class ClassifierRegistry:
    """Factories by name; safe to use from several threads."""

    def __init__(self) -> None:
        self._factories: dict[str, ClassifierFactory] = {}
        self._lock = threading.Lock()

    def register(self, name: str, factory: ClassifierFactory) -> None:
        """Add ``factory`` under ``name`` (lower case, digits, ``-``/``_``, at most 40 chars);
        raises InvalidArgumentError for a malformed name or one registered already."""
        if not _NAME.fullmatch(name):
            raise InvalidArgumentError(
                f"classifier name {name!r} must be 1-40 lower-case letters, digits, '-' or '_', "
                "starting with a letter"
            )
        with self._lock:
            if name in self._factories:
                raise InvalidArgumentError(f"a classifier named {name!r} is registered already")
            self._factories[name] = factory

    def names(self) -> list[str]:
        """Registered names, sorted."""
        with self._lock:
            return sorted(self._factories)

    def create(self, name: str) -> Classifier:
        """A new, not yet loaded classifier; InvalidArgumentError lists the known names."""
        with self._lock:
            factory = self._factories.get(name)
        if factory is None:
            known = ", ".join(self.names()) or "none"
            raise InvalidArgumentError(f"unknown classifier {name!r}; known: {known}")
        return factory()


def _with_builtins() -> ClassifierRegistry:
    registry = ClassifierRegistry()
    registry.register(OPENNSFW, OpenNsfwClassifier)
    return registry


_REGISTRY = _with_builtins()


def register_classifier(name: str, factory: ClassifierFactory) -> None:
    """Make a classifier available by name to ``create_classifier`` (extensions call this)."""
    _REGISTRY.register(name, factory)


def available_classifiers() -> list[str]:
    """Names ``create_classifier`` accepts, sorted. A name listed may still lack its package."""
    return _REGISTRY.names()


def create_classifier(name: str) -> Classifier:
    """A new classifier by name, model not yet loaded (``load`` raises ClassifierUnavailableError
    when its package is missing)."""
    return _REGISTRY.create(name)


def default_classifier() -> Classifier | None:
    """The Open-NSFW classifier when its package (the ``nsfw`` extra) is installed, else None:
    the service then runs on hashes alone."""
    try:
        require_opennsfw()
    except ClassifierUnavailableError as exc:
        _log.info("no explicit-image classifier; scanning with hashes only: %s", exc)
        return None
    return create_classifier(OPENNSFW)
