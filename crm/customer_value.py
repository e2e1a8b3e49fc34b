"""Customer value per contact: RFM scores and segment, historic and predicted CLV, churn risk with its reasons,
favourite category and product — computed in bulk by the clock each night and for one contact after an order changes.

The figures (one `CustomerValue` row per contact with orders that are not cancelled, as of the shop's today):

* **R/F/M.** recency = days since the last order (calendar days in the shop's timezone), frequency = orders,
  monetary = the sum of their totals without the delivery fee. Each is scored 1-5 by the quintile cut-offs over
  the shop's customers (5 = most recent / most orders / most spent); the nightly run stores the cut-offs and the
  per-order run reuses them, so one order never re-scores everybody.
* **Segment** — the standard RFM grid on R and FM = round((F + M) / 2):

  - R 5: FM 1 new, FM 2-3 potential_loyalist, FM 4-5 champions;
  - R 4: FM 1 promising, FM 2-3 potential_loyalist, FM 4-5 loyal;
  - R 3: FM 1-3 need_attention, FM 4-5 loyal;
  - R 2: FM 1-2 hibernating, FM 3-4 at_risk, FM 5 cannot_lose;
  - R 1: FM 1-2 lost, FM 3-4 at_risk, FM 5 cannot_lose.

* **Historic CLV** = monetary. **Predicted 12-month CLV** (`clv`), a rate model in the spirit of BG/NBD +
  Gamma-Gamma, small enough to explain to a shop owner:

  - purchase rate λ = (α + repeat orders) / (β + tenure days): the customer's own rate, shrunk towards the shop's
    (empirical Bayes: α, β are the Gamma prior fitted by the method of moments to the shop's customers' rates);
  - still active: p_alive = exp(-λ · max(0, recency - 1/λ)) — silent for up to one usual gap (1/λ) keeps them
    active; each further usual gap of silence multiplies the chance by e⁻¹;
  - expected order value = (K · shop's average + n · their average) / (K + n), K = 3 orders of trust;
  - clv = p_alive · λ · 365 · expected order value.

* **Churn risk** = probability of no order in the next 30 days (`churn_risk`) and in the next 60 days
  (`churn_risk_60`), each calibrated on the shop's own history by its own model: for a horizon of H days the
  nightly run rebuilds the features as of H days ago and learns whether each customer then ordered in the H days
  after (a scikit-learn logistic regression on log recency, frequency, order value, tenure and "overdue" = recency /
  usual gap) when there are at least MIN_TRAINING customers and MIN_CLASS of each outcome; otherwise the rate
  model above answers: 1 - p_alive · (1 - exp(-H λ)). The reasons stored with it are the features that push the
  30-day risk up for this customer (coefficient × standardised value > 0), largest first. Both backtests come
  from the same single pass over the orders (one more CASE per horizon), so the 60-day model costs a fit, not a read.
* **Favourite** category and product: the ones in most of their order lines (ties: more items, then the name).

Orders count by their current status; an order cancelled later is left out of the past too (the backtest is
an approximation there).
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import JSON, Column, case, delete, func, select
from sqlmodel import Field, Session, SQLModel

from core.db import as_utc, utcnow
from crm.orders import Order, OrderItem, Product
from crm.schemas import RFM_SEGMENTS

SEGMENTS = RFM_SEGMENTS
FEATURES = ("recency", "frequency", "order_value", "tenure", "overdue")
# The rate model's direction for each feature (what pushes the risk up when no regression could be fitted).
RATE_MODEL_SIGNS = {"recency": 1.0, "frequency": -1.0, "order_value": 0.0, "tenure": 0.0, "overdue": 1.0}
HORIZON_DAYS = 30          # churn = no order in this many days (`churn_risk`, the contract's figure)
LONG_HORIZON_DAYS = 60     # `churn_risk_60`: the same question over two months, for slower-buying customers
# Each horizon's churn model, by the key it has in the learned params and the column it fills.
HORIZONS = ((HORIZON_DAYS, "churn", "churn_risk"), (LONG_HORIZON_DAYS, "churn_60", "churn_risk_60"))
CLV_DAYS = 365             # the predicted CLV's horizon
ORDER_VALUE_TRUST = 3      # K: how many orders of their own outweigh the shop's average order value
MIN_TRAINING, MIN_CLASS = 200, 20
DEFAULT_PRIOR = (1.0, 90.0)  # α, β when the shop has too few customers to fit: one order per 90 days
MAX_REASONS = 3
MODEL_ID = 1
INSERT_BATCH = 5_000
STREAM_ROWS = 10_000


class CustomerValue(SQLModel, table=True):
    """A contact's value figures as of `computed_at` (only for contacts with orders)."""

    contact_id: int = Field(primary_key=True, foreign_key="contact.id")
    orders: int
    monetary: int
    recency_days: int
    tenure_days: int
    last_order_at: datetime
    r_score: int
    f_score: int
    m_score: int
    segment: str = Field(max_length=20, index=True)
    historic_clv: int
    predicted_clv: int = Field(index=True)
    churn_risk: float = Field(index=True)
    churn_risk_60: float | None = Field(default=None, index=True)  # None until the first nightly run that fits it
    churn_reasons: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    favourite_category: str | None = Field(default=None, max_length=100, index=True)
    favourite_product: str | None = Field(default=None, max_length=200)
    computed_at: datetime = Field(default_factory=utcnow)


VALUE_TABLE = CustomerValue.__table__


class CustomerValueModel(SQLModel, table=True):
    """What the last nightly run learned (cut-offs, prior, churn model), reused for one contact's recompute."""

    id: int = Field(default=MODEL_ID, primary_key=True)
    params: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    computed_at: datetime = Field(default_factory=utcnow)


@dataclass(slots=True)  # 100k of them (twice) in the nightly run
class History:
    """One customer's order aggregates as of a day: enough for every figure."""

    contact_id: int
    orders: int
    monetary: int
    first_day: date
    last_day: date
    last_order_at: datetime


@dataclass(slots=True)
class Columns:
    """Many customers' order aggregates, one array each (days as ordinals): what the churn model reads.

    The backtests are kept this way from the start (8 bytes a figure): as History objects, two horizons' pasts
    of 100k customers would take the nightly run over its memory budget.
    """

    orders: np.ndarray
    monetary: np.ndarray
    first_day: np.ndarray
    last_day: np.ndarray
    ordered_after: np.ndarray | None = None  # a backtest's: each customer's last order day up to today


def _columns(histories: list[History]) -> Columns:
    count = len(histories)
    return Columns(np.fromiter((h.orders for h in histories), float, count),
                   np.fromiter((h.monetary for h in histories), float, count),
                   np.fromiter((h.first_day.toordinal() for h in histories), float, count),
                   np.fromiter((h.last_day.toordinal() for h in histories), float, count))


def _features(customers: Columns, today: date, usual_gap: float) -> dict[str, np.ndarray]:
    """The churn model's raw features (days and Rupiah) of many customers, one array each."""
    orders = customers.orders
    last = today.toordinal() - customers.last_day
    tenure = today.toordinal() - customers.first_day
    span = tenure - last  # days from the first order to the last
    gap = np.where(orders > 1, span / np.maximum(orders - 1, 1), usual_gap)
    return {"recency": last, "frequency": orders, "order_value": customers.monetary / orders,
            "tenure": tenure, "overdue": last / np.maximum(gap, 1.0)}


# --- reading the orders: a few aggregates for everybody (or one contact) --------------------------


def _day_start(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(), tz)


def _local_day(moment: datetime, tz: ZoneInfo) -> date:
    return as_utc(moment).astimezone(tz).date()


def _histories(session: Session, *, end: datetime, cutoffs: dict[int, datetime], tz: ZoneInfo,
               contact_id: int | None) -> tuple[dict[int, History], dict[int, Columns]]:
    """Per contact: its history up to `end`, and per horizon its history up to that horizon's cutoff (the backtest's
    past) — all in one pass over the orders."""
    spent = Order.total - Order.delivery_fee
    where = [Order.status != "cancelled", Order.created_at < end]
    if contact_id is not None:
        where.append(Order.contact_id == contact_id)
    pasts = []
    for cutoff in cutoffs.values():
        before = Order.created_at < cutoff
        pasts += [func.sum(case((before, 1), else_=0)), func.sum(case((before, spent), else_=0)),
                  func.max(case((before, Order.created_at)))]
    rows = session.execute(
        select(Order.contact_id, func.count(), func.sum(spent), func.min(Order.created_at), func.max(Order.created_at),
               *pasts).where(*where).group_by(Order.contact_id).execution_options(yield_per=STREAM_ROWS))
    now: dict[int, History] = {}
    # Per horizon: orders, monetary, first day, last day, last day up to today — of the customers with a past.
    past = {horizon: tuple(array("d") for _ in range(5)) for horizon in cutoffs}
    for cid, count, total, first, last, *backtests in rows:
        first_day, last_day = _local_day(first, tz), _local_day(last, tz)
        now[cid] = History(cid, count, int(total or 0), first_day, last_day, as_utc(last))
        for index, horizon in enumerate(cutoffs):
            past_count, past_total, past_last = backtests[3 * index:3 * index + 3]
            if past_count:
                if isinstance(past_last, str):  # SQLite loses the column type inside CASE
                    past_last = datetime.fromisoformat(past_last)
                for column, value in zip(past[horizon], (past_count, past_total or 0, first_day.toordinal(),
                                                         _local_day(past_last, tz).toordinal(), last_day.toordinal())):
                    column.append(value)
    return now, {horizon: Columns(*(np.frombuffer(column) for column in columns[:4]),
                                  ordered_after=np.frombuffer(columns[4])) for horizon, columns in past.items()}


def _favourites(session: Session, *, end: datetime, contact_id: int | None) -> dict[int, tuple[str | None, str | None]]:
    """Per contact: (favourite category, favourite product) — chosen in most order lines, then most items, then by name."""
    where = [Order.status != "cancelled", Order.created_at < end]
    if contact_id is not None:
        where.append(Order.contact_id == contact_id)
    # One pass over the lines per (contact, product), streamed in contact order so only the winners are kept;
    # a category's tally is the sum of its products'.
    rows = session.execute(select(Order.contact_id, OrderItem.product_name, Product.category, func.count(),
                                  func.sum(OrderItem.quantity))
                           .select_from(OrderItem).join(Order, Order.id == OrderItem.order_id)
                           .outerjoin(Product, Product.id == OrderItem.product_id)
                           .where(*where).group_by(Order.contact_id, OrderItem.product_name, Product.category)
                           .order_by(Order.contact_id).execution_options(yield_per=STREAM_ROWS))
    found: dict[int, tuple[str | None, str | None]] = {}
    current, products, categories = None, {}, {}
    for cid, name, category, lines, items in rows:
        if cid != current:
            if current is not None:
                found[current] = (_top(categories), _top(products))
            current, products, categories = cid, {}, {}
        for tally, key in ((products, name), (categories, category)):
            if key:
                counts = tally.setdefault(key, [0, 0])
                counts[0] += lines
                counts[1] += items or 0
    if current is not None:
        found[current] = (_top(categories), _top(products))
    return found


def _top(tally: dict[str, list[int]] | None) -> str | None:
    """The key with most lines, then most items, then first by name."""
    if not tally:
        return None
    return min(tally.items(), key=lambda item: (-item[1][0], -item[1][1], item[0]))[0]


# --- learning (nightly) ------------------------------------------------------------------------


def _cuts(values: list[float]) -> list[float]:
    return [float(v) for v in np.quantile(np.asarray(values, dtype=float), [0.2, 0.4, 0.6, 0.8])] if values else []


def _prior(histories: list[History], today: date) -> tuple[float, float]:
    """The Gamma prior (α, β) of purchase rates per day, by the method of moments over the shop's customers."""
    pairs = [(h.orders - 1, (today - h.first_day).days) for h in histories if (today - h.first_day).days > 0]
    if len(pairs) < 20:
        return DEFAULT_PRIOR
    repeats = np.array([p[0] for p in pairs], dtype=float)
    days = np.array([p[1] for p in pairs], dtype=float)
    mean = repeats.sum() / days.sum()
    if mean <= 0:
        return DEFAULT_PRIOR
    # The spread of true rates: the rates' variance less the Poisson noise each observation window adds.
    variance = max(float(np.var(repeats / days)) - mean * float(np.mean(1 / days)), mean * mean / 10)
    beta = mean / variance
    return mean * beta, beta


def _usual_gap(customers: Columns) -> float:
    repeat = customers.orders > 1
    gaps = (customers.last_day[repeat] - customers.first_day[repeat]) / (customers.orders[repeat] - 1)
    return float(np.median(gaps)) if len(gaps) else 30.0


def _transform(features: dict[str, np.ndarray]) -> np.ndarray:
    """The model's inputs: log(1 + feature), one column per feature."""
    return np.log1p(np.maximum(np.column_stack([features[name] for name in FEATURES]), 0.0))


def fit(histories: dict[int, History], past: dict[int, Columns], today: date) -> dict[str, Any]:
    """Learn the cut-offs, the rate prior and each horizon's churn model from the shop's customers (JSON-ready);
    `past` holds, per horizon, the customers' histories as of that many days ago."""
    current = list(histories.values())
    gap = _usual_gap(_columns(current))
    params: dict[str, Any] = {
        "today": today.isoformat(), "usual_gap": gap, "prior": list(_prior(current, today)),
        "order_value": (sum(h.monetary for h in current) / max(sum(h.orders for h in current), 1)),
        "cuts": {"recency": _cuts([(today - h.last_day).days for h in current]),
                 "frequency": _cuts([h.orders for h in current]), "monetary": _cuts([h.monetary for h in current])},
    }
    for horizon, key, _column in HORIZONS:
        params[key] = _fit_horizon(past[horizon], today - timedelta(days=horizon))
    return params


def _fit_horizon(customers: Columns, past_day: date) -> dict[str, Any]:
    """One horizon's churn model: the features as of `past_day` against whether each customer ordered after it."""
    x = _transform(_features(customers, past_day, _usual_gap(customers)))
    churned = (customers.ordered_after <= past_day.toordinal()).astype(int)
    return _fit_churn(x, churned)


def _fit_churn(x: np.ndarray, y: np.ndarray) -> dict[str, Any]:
    """A logistic regression of churn on the backtest features when the history allows; else the rate model."""
    model: dict[str, Any] = {"trained_on": int(len(y)), "base_rate": float(y.mean()) if len(y) else None}
    scale_x = x if len(y) else np.zeros((1, len(FEATURES)))
    mean, std = scale_x.mean(axis=0), scale_x.std(axis=0)
    std[std == 0] = 1.0
    model.update(mean=mean.tolist(), std=std.tolist())
    positives = int(y.sum())
    if len(y) < MIN_TRAINING or min(positives, len(y) - positives) < MIN_CLASS:
        model.update(kind="rate", coef=[RATE_MODEL_SIGNS[name] for name in FEATURES])
        return model
    from sklearn.linear_model import LogisticRegression  # only the nightly run pays for importing scikit-learn

    regression = LogisticRegression(C=1.0, max_iter=500).fit((x - mean) / std, y)
    probabilities = regression.predict_proba((x - mean) / std)[:, 1]
    model.update(kind="logistic", coef=regression.coef_[0].tolist(), intercept=float(regression.intercept_[0]),
                 brier=float(np.mean((probabilities - y) ** 2)), brier_base=float(np.mean((y.mean() - y) ** 2)))
    return model


# --- applying ------------------------------------------------------------------------------------


def segment_of(r: int, f: int, m: int) -> str:
    """The RFM segment of scores (the grid in this module's docstring)."""
    fm = (f + m + 1) // 2
    if r >= 4:
        if fm == 1:
            return "new" if r == 5 else "promising"
        if fm <= 3:
            return "potential_loyalist"
        return "champions" if r == 5 else "loyal"
    if r == 3:
        return "loyal" if fm >= 4 else "need_attention"
    if fm == 5:
        return "cannot_lose"
    if fm >= 3:
        return "at_risk"
    return "hibernating" if r == 2 else "lost"


def _scores(values: np.ndarray, cuts: list[float], higher_is_better: bool = True) -> np.ndarray:
    """1-5 for each value: how many quintile cut-offs it passes."""
    if not cuts:
        return np.full(len(values), 3)
    passed = np.searchsorted(np.asarray(cuts), values, side="left")  # cut-offs strictly below the value
    return 1 + passed if higher_is_better else 5 - passed


def _rows(histories: list[History], favourites: dict[int, tuple[str | None, str | None]], params: dict[str, Any],
          today: date, now: datetime) -> list[dict[str, Any]]:
    """The CustomerValue columns of customers under the learned `params` (vectorised: the nightly run is 100k)."""
    if not histories:
        return []
    cuts, (alpha, beta) = params["cuts"], params["prior"]
    features = _features(_columns(histories), today, params["usual_gap"])
    recency, orders, tenure = features["recency"], features["frequency"], features["tenure"]
    monetary = orders * features["order_value"]
    r = _scores(recency, cuts["recency"], higher_is_better=False)
    f, m = _scores(orders, cuts["frequency"]), _scores(monetary, cuts["monetary"])
    rate = (alpha + orders - 1) / (beta + np.maximum(tenure, 1))
    alive = np.exp(-rate * np.maximum(0.0, recency - 1 / rate))
    order_value = (ORDER_VALUE_TRUST * params["order_value"] + monetary) / (ORDER_VALUE_TRUST + orders)
    clv = np.rint(alive * rate * CLV_DAYS * order_value)
    inputs = _transform(features)
    risks, pushes = {}, None
    for horizon, key, column in HORIZONS:
        if key not in params:  # learned before this horizon existed: the next nightly run fits it
            risks[column] = np.full(len(histories), None)
            continue
        risk, its_pushes = _churn(params[key], inputs, alive, rate, horizon)
        risks[column] = risk
        pushes = its_pushes if pushes is None else pushes
    order = np.argsort(-pushes, axis=1)[:, :MAX_REASONS]
    columns = [features[name] for name in FEATURES]
    rows = []
    for i, history in enumerate(histories):
        reasons = [{"feature": FEATURES[j], "value": round(float(columns[j][i]), 1)}
                   for j in order[i] if pushes[i, j] > 0]
        favourite = favourites.get(history.contact_id, (None, None))
        ri, fi, mi = int(r[i]), int(f[i]), int(m[i])
        rows.append({"contact_id": history.contact_id, "orders": history.orders, "monetary": history.monetary,
                     "recency_days": int(recency[i]), "tenure_days": int(tenure[i]),
                     "last_order_at": history.last_order_at, "r_score": ri, "f_score": fi, "m_score": mi,
                     "segment": segment_of(ri, fi, mi), "historic_clv": history.monetary,
                     "predicted_clv": int(clv[i]), "churn_reasons": reasons,
                     **{column: None if risk[i] is None else float(risk[i]) for column, risk in risks.items()},
                     "favourite_category": favourite[0], "favourite_product": favourite[1], "computed_at": now})
    return rows


def _churn(model: dict[str, Any], inputs: np.ndarray, alive: np.ndarray, rate: np.ndarray,
           horizon: int) -> tuple[np.ndarray, np.ndarray]:
    """One horizon's churn risks (0-1, 4 decimals) and each feature's push on them (for the reasons)."""
    pushes = np.asarray(model["coef"]) * (inputs - np.asarray(model["mean"])) / np.asarray(model["std"])
    if model["kind"] == "logistic":
        risk = 1 / (1 + np.exp(-(pushes.sum(axis=1) + model["intercept"])))
    else:
        risk = 1 - alive * (1 - np.exp(-horizon * rate))
    return np.round(np.clip(risk, 0.0, 1.0), 4), pushes


def _window(now: datetime, tz: ZoneInfo) -> tuple[date, datetime, dict[int, datetime]]:
    """The shop's today, the end of today (orders before it count) and each horizon's backtest cut-off (that many
    days earlier)."""
    today = now.astimezone(tz).date()
    cutoffs = {horizon: _day_start(today - timedelta(days=horizon - 1), tz) for horizon, _key, _column in HORIZONS}
    return today, _day_start(today + timedelta(days=1), tz), cutoffs


def recompute_all(*, session: Session, now: datetime, tz: ZoneInfo) -> dict[str, Any]:
    """The nightly run: learn from every customer's orders and rewrite every contact's row; the learned params."""
    today, end, cutoffs = _window(now, tz)
    histories, past = _histories(session, end=end, cutoffs=cutoffs, tz=tz, contact_id=None)
    favourites = _favourites(session, end=end, contact_id=None)
    params = fit(histories, past, today)
    del past  # the backtests are learned: their memory serves the rows below
    session.execute(delete(CustomerValue))
    customers = list(histories.values())
    for first in range(0, len(customers), INSERT_BATCH):  # in batches: 100k rows of dicts at once cost 100+ MB
        rows = _rows(customers[first:first + INSERT_BATCH], favourites, params, today, now)
        session.execute(VALUE_TABLE.insert(), rows)  # Core: no ORM bookkeeping
    model = session.get(CustomerValueModel, MODEL_ID) or CustomerValueModel(id=MODEL_ID)
    model.params, model.computed_at = params, now
    session.add(model)
    session.flush()
    return params


def recompute_contact(*, session: Session, contact_id: int, now: datetime, tz: ZoneInfo) -> CustomerValue | None:
    """One contact's row again, with the last nightly cut-offs and model (the first time: a full run)."""
    model = session.get(CustomerValueModel, MODEL_ID)
    if model is None:
        recompute_all(session=session, now=now, tz=tz)
        return session.get(CustomerValue, contact_id)
    today, end, _cutoffs = _window(now, tz)
    histories, _ = _histories(session, end=end, cutoffs={}, tz=tz, contact_id=contact_id)
    session.execute(delete(CustomerValue).where(CustomerValue.contact_id == contact_id))
    history = histories.get(contact_id)
    if history is None:  # no orders left that count (the only one was cancelled)
        session.flush()
        return None
    favourites = _favourites(session, end=end, contact_id=contact_id)
    row = CustomerValue(**_rows([history], favourites, model.params, today, now)[0])
    session.add(row)
    session.flush()
    return row


def value_of(*, session: Session, contact_id: int) -> CustomerValue | None:
    """A contact's stored figures (None: no orders)."""
    return session.get(CustomerValue, contact_id)

