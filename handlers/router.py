"""Routes an inbound event to the first handler that matches; a fallback comes last."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from bot.messages import Inbound, Reply
from handlers.base import Context, Handler

log = logging.getLogger(__name__)


class Router:
    """An ordered list of handlers; the first whose `matches` is true answers.

    The last handler should match everything (the fallback), so every customer message
    gets an answer.
    """

    def __init__(self, handlers: Sequence[Handler]) -> None:
        self.handlers = list(handlers)

    def route(self, inbound: Inbound, ctx: Context) -> list[Reply]:
        """Replies of the first matching handler ([] when none matches)."""
        for handler in self.handlers:
            if handler.matches(inbound, ctx):
                ctx.intent = ctx.intent or handler.name
                return handler.handle(inbound, ctx)
        return []


def default_router() -> Router:
    """The product's handler chain."""
    from handlers.menu import MenuHandler, PostbackMenuHandler
    from handlers.welcome import WelcomeHandler

    return Router([WelcomeHandler(), PostbackMenuHandler(), MenuHandler()])
