"""Sapa NLU: intent classification (10 core intents + finer intents), language,
negative sentiment and entities for informal Indonesian / English chat messages.

    from handlers.nlu import analyze
    a = analyze("kak mau pesen es kopi susu 2 ya", catalog=["Es Kopi Susu", "Americano"])
    a.intent, a.confidence, a.entities.products

Public API: ``analyze``, ``Analysis``, ``Entities``, ``ProductMention``, ``get_model``,
``train``, ``CORE_INTENTS`` (plus ``Model``, ``load_model``, ``CatalogMatcher``,
``LOW_CONFIDENCE``, ``NEGATIVE_THRESHOLD``).  Importing this package does not import
scikit-learn; only ``train`` does.
"""
from __future__ import annotations

from core.normalize import normalize

from .analyze import Analysis, analyze
from .entities import Entities
from .lang import detect_language
from .model import CORE_INTENTS, DEFAULT_MODEL_PATH, LOW_CONFIDENCE, Model, load_model
from .products import CatalogMatcher, ProductMention, catalog_matcher
from .sentiment import NEGATIVE_THRESHOLD
from .store import get_model
from .training import train

__all__ = [
    "analyze", "Analysis", "Entities", "ProductMention", "get_model", "train", "CORE_INTENTS",
    "Model", "load_model", "CatalogMatcher", "catalog_matcher", "detect_language", "normalize",
    "LOW_CONFIDENCE", "NEGATIVE_THRESHOLD", "DEFAULT_MODEL_PATH",
]
