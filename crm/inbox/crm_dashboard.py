"""The CRM dashboard's charts: customers, revenue by channel, cohorts, RFM grid, products, loyalty, campaign funnel.

Every chart is a `Chart` in `CHARTS`: a name (its CSV is `?chart=<name>&format=csv`), a title (a words.yaml
key), how it is drawn, and a function (session, period) -> `Table` reading only the daily rows of
crm.daily_figures (today's computed live there) — never the messages or orders themselves. A new chart
is one more entry: a function returning a `Table`.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session

from crm import daily_figures
from crm.inbox.data import InboxError

DEFAULT_DAYS = 90  # a quarter: enough weeks for the trends and three cohorts
MAX_DAYS = 366
TOP_PRODUCTS = 10
COHORT_MONTHS = 12  # months after the first order shown for each cohort
AT_RISK = ("at_risk", "cannot_lose")  # RFM segments counted as "at risk" on the customers chart
LOST = ("hibernating", "lost")
ALL_OFFERS = "*"  # the cross-sell table's first row: every product offered


@dataclass(frozen=True)
class Period:
    """The shop's days `first`..`last` (inclusive, in `tz`) a chart covers."""

    first: date
    last: date
    tz: ZoneInfo
    now: datetime

    @property
    def days(self) -> list[date]:
        return [self.first + timedelta(days=n) for n in range((self.last - self.first).days + 1)]


@dataclass(frozen=True)
class Table:
    """A chart's figures: column names (words.yaml keys) and rows; the first column labels the x axis."""

    columns: list[str]
    rows: list[list]


@dataclass(frozen=True)
class Chart:
    """One card of the dashboard: `kind` is a Chart.js type (line, bar), "table", or "grid" (the RFM grid's cells)."""

    name: str
    title: str
    kind: str
    table: Callable[[Session, Period], Table]
    labels: str = ""  # how the first column reads: day, channel, points_kind, offered or "" (as it is)
    plotted: tuple[int, ...] = (1,)  # the columns drawn (each one series); the table shows them all


def period(*, first: str, last: str, tz: ZoneInfo, now: datetime) -> Period:
    """The period of the `from`/`to` query values (ISO dates; both empty: the last 90 days); InboxError if bad."""
    today = daily_figures.local_day(now, tz)
    try:
        end = date.fromisoformat(last) if last else today
        start = date.fromisoformat(first) if first else end - timedelta(days=DEFAULT_DAYS - 1)
    except ValueError:
        raise InboxError("range_date") from None
    if start > end:
        raise InboxError("range_order")
    if (end - start).days >= MAX_DAYS:
        raise InboxError(f"range_long:{MAX_DAYS}")
    return Period(first=start, last=end, tz=tz, now=now)


def _read(session: Session, p: Period, *metrics: str):
    return daily_figures.read(session=session, metrics=metrics, first=p.first, last=p.last, tz=p.tz, now=p.now)


def customers(session: Session, p: Period) -> Table:
    """Per day: customers with their first order, customers who ordered, and (from the nightly RFM) at risk, lost."""
    figures: dict[date, dict[str, int | None]] = {day: {"new": 0, "active": 0, "at_risk": None, "lost": None}
                                                  for day in p.days}
    for row in _read(session, p, "customers_new", "customers_active"):
        figures[row.day]["new" if row.metric == "customers_new" else "active"] += row.value
    for row in daily_figures.stored(session=session, metrics=["segments"], first=p.first, last=p.last):
        day = figures[row.day]
        group = "at_risk" if row.key in AT_RISK else "lost" if row.key in LOST else None
        if group:
            day[group] = (day[group] or 0) + row.value
    for day in figures.values():  # a day with RFM figures has both (0 when nobody is in a group)
        if day["at_risk"] is not None or day["lost"] is not None:
            day["at_risk"], day["lost"] = day["at_risk"] or 0, day["lost"] or 0
    return Table(["day", "crm_new", "crm_active", "crm_at_risk", "crm_lost"],
                 [[day.isoformat(), f["new"], f["active"], f["at_risk"], f["lost"]] for day, f in figures.items()])


def orders_by_channel(session: Session, p: Period) -> Table:
    """Orders and revenue per channel over the period."""
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for row in _read(session, p, "orders"):
        totals[row.key][0] += row.value
        totals[row.key][1] += int(row.amount)
    return Table(["channel", "crm_orders", "crm_revenue"],
                 [[channel, n, revenue] for channel, (n, revenue) in sorted(totals.items(), key=lambda i: -i[1][1])])


def _months(first: date, last: date) -> list[date]:
    months, month = [], first.replace(day=1)
    while month <= last:
        months.append(month)
        month = (month.replace(day=28) + timedelta(days=4)).replace(day=1)
    return months


def cohorts(session: Session, p: Period) -> Table:
    """Cohort retention: customers by first-order month in the period, and the share ordering in each month after."""
    months = _months(p.first, p.last)
    active: dict[str, Counter] = defaultdict(Counter)  # cohort -> months after its first -> customers
    for row in daily_figures.stored(session=session, metrics=["cohort"], first=months[0], last=p.last):
        start = date.fromisoformat(row.key + "-01")
        after = (row.day.year - start.year) * 12 + row.day.month - start.month
        if months[0] <= start and after <= COHORT_MONTHS:
            active[row.key][after] += row.value
    span = max((max(c) for c in active.values() if c), default=0) + 1
    rows = []
    for month in months:
        key = month.strftime("%Y-%m")
        size = active[key][0] if key in active else 0
        rows.append([key, size] + [round(100 * active[key][k] / size, 1) if size else None for k in range(span)])
    return Table(["crm_cohort", "crm_customers"] + [f"crm_month_n:{k}" for k in range(span)], rows)


def rfm_grid(session: Session, p: Period) -> Table:
    """The RFM grid as of the period's end: customers per recency × frequency score, with the cell's usual segment."""
    cells = {row.key: row for row in daily_figures.latest_snapshot(session=session, metric="rfm", last=p.last)}
    rows = []
    for r in range(5, 0, -1):
        for f in range(1, 6):
            cell = cells.get(f"{r}-{f}")
            rows.append([r, f, cell.value if cell else 0, cell.label if cell else ""])
    return Table(["crm_recency", "crm_frequency", "crm_customers", "rfm_segment"], rows)


def top_products(session: Session, p: Period) -> Table:
    """The products with the most revenue in the period."""
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for row in _read(session, p, "products"):
        totals[row.key][0] += row.value
        totals[row.key][1] += int(row.amount)
    best = sorted(totals.items(), key=lambda item: (-item[1][1], -item[1][0], item[0]))[:TOP_PRODUCTS]
    return Table(["crm_product", "crm_units", "crm_revenue"],
                 [[name, units, revenue] for name, (units, revenue) in best])


def loyalty(session: Session, p: Period) -> Table:
    """Points outstanding at the period's end (the liability) and the points moved in the period, by kind."""
    held = daily_figures.latest_snapshot(session=session, metric="points_outstanding", last=p.last)
    moved = Counter()
    for row in _read(session, p, "points"):
        moved[row.key] += row.value
    rows = [["outstanding", held[0].value if held else 0, int(held[0].amount) if held else 0]]
    rows += [[kind, points, None] for kind, points in sorted(moved.items())]
    return Table(["crm_points_kind", "crm_points", "crm_customers"], rows)


def campaign_funnel(session: Session, p: Period) -> Table:
    """Campaigns first sent in the period: recipients reached, who replied, orders they placed and the revenue."""
    funnel: dict[str, dict] = {}
    for row in daily_figures.stored(session=session, metrics=["campaign_sent", "campaign_replied", "campaign_orders"],
                                    first=p.first, last=p.last):
        item = funnel.setdefault(row.key, {"name": row.label, "day": row.day, "sent": 0, "replied": 0, "orders": 0,
                                           "revenue": 0})
        item[row.metric.removeprefix("campaign_")] = row.value
        if row.metric == "campaign_orders":
            item["revenue"] = int(row.amount)
    ordered = sorted(funnel.values(), key=lambda item: (item["day"], item["name"]))
    return Table(["crm_campaign", "crm_sent", "crm_replied", "crm_orders", "crm_revenue"],
                 [[c["name"], c["sent"], c["replied"], c["orders"], c["revenue"]] for c in ordered])


def cross_sell(session: Session, p: Period) -> Table:
    """Per product offered at the end of a chat order: offers, kept, the attach rate, and the rate without the offer.

    "Without" is the share of orders with no offer, holding a product that leads to it by a rule, that held it
    anyway (crm.cross_sell.attach_rate); the total weighs each product's rate by its offers.
    """
    offers: dict[str, list[float]] = defaultdict(lambda: [0, 0, 0, 0])  # offered, kept, orders without, bought
    for row in _read(session, p, "cross_sell", "cross_sell_without"):
        figures = offers[row.key]
        at = 0 if row.metric == "cross_sell" else 2
        figures[at] += row.value
        figures[at + 1] += row.amount

    def percent(part: float, whole: float) -> float | None:
        return round(100 * part / whole, 1) if whole else None

    columns = ["crm_product", "crm_offered", "crm_kept", "crm_attach_rate", "crm_rate_without"]
    if not offers:
        return Table(columns, [])
    rows = [[name, int(o), int(k), percent(k, o), percent(b, w)]
            for name, (o, k, w, b) in sorted(offers.items(), key=lambda item: (-item[1][0], item[0]))]
    offered, kept = sum(o for o, *_ in offers.values()), sum(k for _o, k, *_ in offers.values())
    weighed = [(o, b / w) for o, _k, w, b in offers.values() if w]
    without = sum(o * rate for o, rate in weighed) / sum(o for o, _ in weighed) if weighed else None
    total = [ALL_OFFERS, int(offered), int(kept), percent(kept, offered), None if without is None else round(100 * without, 1)]
    return Table(columns, [total, *rows])


CHARTS: list[Chart] = [
    Chart("customers", "crm_customers_chart", "line", customers, labels="day", plotted=(1, 2, 3, 4)),
    Chart("orders_by_channel", "crm_orders_by_channel", "bar", orders_by_channel, labels="channel", plotted=(2,)),
    Chart("cohorts", "crm_cohorts", "table", cohorts, labels="month"),
    Chart("rfm", "crm_rfm_grid", "grid", rfm_grid),
    Chart("top_products", "crm_top_products", "bar", top_products, plotted=(2,)),
    Chart("loyalty", "crm_loyalty", "table", loyalty, labels="points_kind"),
    Chart("campaign_funnel", "crm_campaign_funnel", "bar", campaign_funnel, plotted=(1, 2, 3)),
    Chart("cross_sell", "crm_cross_sell", "table", cross_sell, labels="offered"),
]


def chart(name: str) -> Chart | None:
    """The chart called `name`, if any."""
    return next((c for c in CHARTS if c.name == name), None)


def column_title(column: str) -> tuple[str, dict[str, str]]:
    """A column's words.yaml key and its values ("crm_month_n:2" is month +2)."""
    key, _, n = column.partition(":")
    return key, ({"n": n} if n else {})
