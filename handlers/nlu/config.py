"""Shop configuration for the NLU, read lazily from ``bot.settings`` when it exists."""
from __future__ import annotations

DEFAULTS = {"model_path": "data/nlu/model.joblib", "extra_examples": {}, "custom_intents": {}}


def shop_config() -> dict:
    """-> {"model_path", "extra_examples", "custom_intents"}; defaults when the settings
    module or its ``nlu`` section is not available."""
    out = dict(DEFAULTS)
    try:
        from core.settings import get_settings  # noqa: PLC0415 - optional, owned by bot/

        nlu = get_settings().nlu
        out["model_path"] = str(getattr(nlu, "model_path", None) or DEFAULTS["model_path"])
        out["extra_examples"] = dict(getattr(nlu, "extra_examples", None) or {})
        out["custom_intents"] = dict(getattr(nlu, "custom_intents", None) or {})
    except (ImportError, AttributeError):
        pass
    return out
