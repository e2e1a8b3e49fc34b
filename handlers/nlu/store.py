"""The models of this process: each loaded once per path; when missing, the shipped model is
copied (or, for a shop with examples of its own, a model trained) and saved first."""
from __future__ import annotations

import os
import threading
from pathlib import Path

from .config import shop_config
from .model import Model, load_model
from .training import data_fingerprint, train

# The default model, trained from the data in the repo (`sapa nlu train --shipped` rebuilds it):
# training it takes minutes (embedding the public data), so a fresh install starts from this.
SHIPPED_MODEL = Path(__file__).resolve().parent / "data" / "model.joblib"

_models: dict[str | None, Model] = {}
_lock = threading.Lock()


def get_model(path: str | os.PathLike | None = None) -> Model:
    """Load the saved model once per path (cached; cheap to call per message).  If the
    file is missing or not a loadable model of this version, save the initial model there
    first (the shipped one, or one trained with the shop's extra and custom intents).
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
                m = initial_model(cfg["extra_examples"], cfg["custom_intents"])
                m.save(p)
            _models[p] = m
        _models[key] = m
    return m


def shipped_model() -> Model | None:
    """The shipped model when it was trained from the data now in the repo, else None."""
    try:
        m = load_model(SHIPPED_MODEL)
    except (FileNotFoundError, ValueError, EOFError, AttributeError, ModuleNotFoundError):
        return None
    return m if m.meta.get("data") == data_fingerprint() else None


def initial_model(extra_examples: dict | None = None, custom_intents: dict | None = None) -> Model:
    """The shipped model for a shop without examples of its own (when current), else one trained now."""
    if not extra_examples and not custom_intents:
        m = shipped_model()
        if m is not None:
            return m
    return train(extra_examples, custom_intents)


def clear_cache() -> None:
    """Forget the loaded models (tests, after retraining)."""
    with _lock:
        _models.clear()
