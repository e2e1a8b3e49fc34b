"""Shop configuration for the NLU, from the settings' ``nlu`` section."""
from __future__ import annotations

from core.settings import get_settings

from .model import DEFAULT_MODEL_PATH


def shop_config() -> dict:
    """-> {"model_path", "extra_examples", "custom_intents"} of this shop."""
    nlu = get_settings().nlu
    return {
        "model_path": str(nlu.model_path or DEFAULT_MODEL_PATH),
        "extra_examples": dict(nlu.extra_examples or {}),
        "custom_intents": dict(nlu.custom_intents or {}),
    }
