"""The marketer's screens in the inbox: segments, campaigns and their results, journeys,
location-based offers, and each staff member's own chat accounts (for test-sends).

Thin views in the inbox's frame (`inbox/base.html`, `permission_required`, `t`, `data.audit`)
over the same functions the REST API and the CLI call: the segment compiler
(`broadcasts.segments`), campaign storage (`broadcasts.campaigns`), rendering
(`broadcasts.campaign_message`) and stats (`broadcasts.results`), and
the launch/resume/winner/preview/quota actions (`broadcasts.actions`). A refused write
re-renders the form with the reason (status 400/409/422) and writes nothing.
One module per job: `segments`, `campaign_form` + `campaigns`, `journeys` (and offers),
`profile`; `base` holds what they share, `words` their texts.
"""

from __future__ import annotations

from flask import Flask

from broadcasts.web import campaigns, journeys, profile, segments
from broadcasts.web.base import marketing
from broadcasts.web.words import WORDS
from crm.inbox import NAV, i18n

# The view modules add their routes to `marketing` when imported; `register` then serves it.
VIEWS = (segments, campaigns, journeys, profile)


def register(app: Flask) -> None:
    """Serve the marketer's screens, add their words to the staff screens' catalog and their navigation entries."""
    i18n.register(WORDS)  # again for a second app: the same words are accepted
    app.register_blueprint(marketing)
    for entry in (("marketing.segments", "nav_segments", "segments.manage"),
                  ("marketing.campaigns", "nav_campaigns", "campaigns.manage"),
                  ("marketing.journeys", "nav_journeys", "campaigns.manage"),
                  ("marketing.offers", "nav_offers", "offers.manage")):
        if entry not in NAV:
            NAV.append(entry)
