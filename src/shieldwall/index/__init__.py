"""Hamming-space indexes for PDQ codes (all behind the HammingIndex protocol), ORB keypoints
and text patterns."""

from shieldwall.index.brute_force import BruteForceIndex
from shieldwall.index.faiss_flat import FaissFlatIndex
from shieldwall.index.hamming import (
    CODE_BYTES,
    CodeArray,
    HammingIndex,
    IdArray,
    codes_from_hex,
)
from shieldwall.index.keypoints import KeypointIndex, Neighbours
from shieldwall.index.multi_index import MultiIndexHash
from shieldwall.index.pdq_index import PdqIndex
from shieldwall.index.text_index import TextIndex, TextKey

__all__ = [
    "CODE_BYTES",
    "BruteForceIndex",
    "CodeArray",
    "FaissFlatIndex",
    "HammingIndex",
    "IdArray",
    "KeypointIndex",
    "MultiIndexHash",
    "Neighbours",
    "PdqIndex",
    "TextIndex",
    "TextKey",
    "codes_from_hex",
]
