"""How a process builds its runtime: the real senders and the product's conversation."""

from __future__ import annotations

from bot.senders import SenderRegistry
from core.db import get_engine, session_scope
from crm.faq import search_faq
from core.runtime import Runtime
from core.settings import Settings
from handlers.nlu import get_model
from handlers.router import default_router, nlu_understanding


def build_runtime(settings: Settings) -> Runtime:
    """The runtime for `settings`: engine, senders for the configured channels, the handler chain."""
    understand = nlu_understanding(settings.nlu.model_path, settings.nlu.confidence_threshold)
    return Runtime(settings=settings, engine=get_engine(settings.database_url), senders=SenderRegistry(settings),
                   router=default_router(understand))


def warm_up(rt: Runtime) -> None:
    """Load what a worker's first message would otherwise wait for (the NLU model and its sentence
    encoder, the FAQ index with scikit-learn, SciPy for nearest stores)."""
    # Here, not at the top: SciPy adds ~40 MB to every web process, which never finds a store.
    import scipy.spatial  # noqa: F401 - core.geo imports it only when it builds an index

    get_model(rt.settings.nlu.model_path).embedding("warm up")  # the encoder's weights: ~1.5 s
    with session_scope(rt.engine) as session:
        search_faq(session=session, text="warm up")  # ~1 s the first time: the first question waited for it

