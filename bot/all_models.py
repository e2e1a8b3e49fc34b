"""Imports every module that defines tables, so SQLModel.metadata (Alembic, tests) sees them all."""

from crm import (  # noqa: F401
    alert_emails, alerts, complaints, counter, cross_sell, csat, customer_value, daily_figures, faq, loyalty,
    member_codes, models, orders, phone_alerts, promotions, search_index, shop_settings, stores, webhooks,
)
from broadcasts import models as broadcast_models  # noqa: F401,E402
