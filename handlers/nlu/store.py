"""The models of this process: each loaded once per path, trained and saved first when missing."""
from __future__ import annotations

import os
import threading
from pathlib import Path

from .config import shop_config
from .model import Model, load_model
from .training import train

_models: dict[str | None, Model] = {}
_lock = threading.Lock()


def get_model(path: str | os.PathLike | None = None) -> Model:
    """Load the saved model once per path (cached; cheap to call per message).  If the
    file is missing or not a loadable model of this version, train (with the shop's
    extra and custom intents from the settings) and save it first.
    ``path=None`` uses settings ``nlu.model_path`` or ``data/nlu/model.joblib``."""
    key = os.fspath(path) if path is not None else None
    m = _models.get(key)
    if m is not None:
        return m
    cfg = shop_config()
    p = str(Path(key or cfg["model_path"]).resolve())
    with _lock:
        m = _models.get(p)
        if m is None:
            try:
                m = load_model(p)
            except (FileNotFoundError, ValueError, EOFError, AttributeError, ModuleNotFoundError):
                m = train(cfg["extra_examples"], cfg["custom_intents"])
                m.save(p)
            _models[p] = m
        _models[key] = m
    return m


def clear_cache() -> None:
    """Forget the loaded models (tests, after retraining)."""
    with _lock:
        _models.clear()
