"""Imports every module that defines tables, so SQLModel.metadata (Alembic, tests) sees them all."""

from crm import alerts, complaints, csat, faq, models, orders, promotions, shop_settings, stores  # noqa: F401
from broadcasts import models as broadcast_models  # noqa: F401,E402
