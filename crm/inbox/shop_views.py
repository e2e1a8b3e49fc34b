"""The inbox's back-office pages: orders, complaints, the agenda of follow-ups, the dashboard."""

from __future__ import annotations

from datetime import date, datetime

from flask import Response, abort, current_app, flash, redirect, render_template, request, url_for
from sqlmodel import Session

from core.db import session_scope, utcnow
from crm import complaints as complaint_data
from crm import csat, loyalty
from crm import orders as order_data
from crm import stores as store_data
from crm.ids import id_arg
from crm.csv_export import stream_csv
from crm.inbox import crm_dashboard, customer_data, data, shop_data
from crm.inbox.auth import current_staff, permission_required
from crm.inbox.blueprint import back_to, get_or_404, inbox, refused
from crm.inbox.i18n import channel_name, day, error_text, t
from crm.models import FollowUpTask
from crm.shop_settings import load_settings
from crm.web import engine, settings


# --- orders and complaints -----------------------------------------------------------


def _page() -> int:
    return max(0, min(request.args.get("page", 0, type=int), 10_000))


@inbox.get("/orders")
@permission_required("orders.view")
def orders():
    """Orders with status filter and search."""
    status = request.args.get("status", "")
    status = status if status in order_data.STATUSES else ""
    q = request.args.get("q", "").strip()[:100]
    size = settings().inbox.page_size
    with Session(engine()) as db:
        rows, items, counts = shop_data.list_orders(session=db, status=status, q=q, limit=size, offset=_page() * size)
        store_names = {store.id: store.name for store in store_data.list_stores(session=db)}
        payment_labels = {p.code: p.label for p in load_settings(db).payment_methods}
        return render_template("inbox/orders.html", rows=rows, items=items, counts=counts, status=status, q=q,
                               store_names=store_names, payment_labels=payment_labels,
                               statuses=order_data.STATUSES, transitions=order_data.TRANSITIONS, page=_page())


@inbox.post("/orders/<int:order_id>/status")
@permission_required("orders.edit")
def order_status(order_id: int):
    """Change an order's status; the customer is told in their chat."""
    staff = current_staff()
    try:
        with session_scope(engine()) as db:
            order = get_or_404(db, order_data.Order, order_id)
            batch_id = shop_data.change_order_status(session=db, staff=staff, order=order,
                                                     status=request.form.get("status", ""),
                                                     notify=request.form.get("notify", "1") == "1",
                                                     points_rules=loyalty.rules_for(db, settings()))
    except data.InboxError as exc:
        return refused(exc, orders, status=409)
    if batch_id:
        current_app.extensions["sapa.enqueue_batch"](batch_id)
    flash(t("order_updated"), "info")
    return redirect(back_to(url_for("inbox.orders")), 303)


@inbox.get("/complaints")
@permission_required("complaints.view")
def complaints():
    """Complaints with SLA timers; breaches first and highlighted."""
    status = request.args.get("status", "")
    status = status if status in complaint_data.STATUSES else ""
    severity = request.args.get("severity", "")
    severity = severity if severity in complaint_data.SEVERITIES else ""
    breached = request.args.get("breached") == "1"
    size = settings().inbox.page_size
    with Session(engine()) as db:
        rows, counts = shop_data.list_complaints(session=db, status=status, severity=severity, breached=breached,
                                                 limit=size, offset=_page() * size)
        return render_template("inbox/complaints.html", rows=rows, counts=counts, status=status, severity=severity,
                               breached=breached, statuses=complaint_data.STATUSES,
                               severities=complaint_data.SEVERITIES, now=utcnow(), page=_page())


@inbox.post("/complaints/<int:complaint_id>/status")
@permission_required("complaints.edit")
def complaint_status(complaint_id: int):
    """Change a complaint's status; the customer is told in their chat."""
    staff = current_staff()
    try:
        with session_scope(engine()) as db:
            complaint = get_or_404(db, complaint_data.Complaint, complaint_id)
            batch_id = shop_data.change_complaint_status(session=db, staff=staff, complaint=complaint,
                                                         status=request.form.get("status", ""),
                                                         notify=request.form.get("notify", "1") == "1")
    except data.InboxError as exc:
        return refused(exc, complaints)
    if batch_id:
        current_app.extensions["sapa.enqueue_batch"](batch_id)
    flash(t("complaint_updated"), "info")
    return redirect(back_to(url_for("inbox.complaints")), 303)


# --- agenda --------------------------------------------------------------------------


def _today() -> date:
    return datetime.now(settings().tz).date()


@inbox.get("/agenda")
@permission_required("agenda.view")
def agenda():
    """Today's follow-up tasks, the next ones, and today's birthdays."""
    with Session(engine()) as db:
        return render_template("inbox/agenda.html", agenda=customer_data.agenda(session=db, today=_today()),
                               names=data.staff_names(session=db))


@inbox.post("/tasks")
@permission_required("agenda.edit")
def task_add():
    """Add a follow-up task for a contact."""
    staff = current_staff()
    try:
        try:
            due = date.fromisoformat(request.form.get("due_on", ""))
        except ValueError:
            raise data.InboxError("bad_date") from None
        contact_id = id_arg("contact_id", request.form)
        if contact_id is None:
            raise data.InboxError("unknown_contact")
        with session_scope(engine()) as db:
            customer_data.create_task(session=db, staff=staff, contact_id=contact_id, title=request.form.get("title", ""),
                                      due_on=due)
    except data.InboxError as exc:
        return refused(exc, agenda)
    flash(t("task_added"), "info")
    return redirect(back_to(url_for("inbox.agenda")), 303)


@inbox.post("/tasks/<int:task_id>/done")
@permission_required("agenda.edit")
def task_done(task_id: int):
    """Mark a follow-up task done."""
    staff = current_staff()
    with session_scope(engine()) as db:
        task = get_or_404(db, FollowUpTask, task_id)
        customer_data.complete_task(session=db, staff=staff, task=task)
    flash(t("task_done"), "info")
    return redirect(back_to(url_for("inbox.agenda")), 303)


# --- dashboard -----------------------------------------------------------------------


@inbox.get("/dashboard")
@permission_required("dashboard.view")
def dashboard():
    """Support figures with charts."""
    days = request.args.get("days", 30, type=int)
    days = days if days in (7, 30, 90) else 30
    with Session(engine()) as db:
        return render_template("inbox/dashboard.html", figures=shop_data.dashboard(session=db, days=days,
                                                                                   tz=settings().tz),
                               csat=csat.figures(session=db, days=days, tz=settings().tz,
                                                 names=data.staff_names(session=db)))


def _column(column: str) -> str:
    key, values = crm_dashboard.column_title(column)
    return t(key, **values)


def _label(kind: str, value) -> str:
    """A chart's x-axis value in the staff member's words (a day, a channel, a kind of points)."""
    if kind == "day":
        return day(value)
    if kind == "channel":
        return channel_name(value)
    if kind == "points_kind":
        return t("crm_points_outstanding") if value == "outstanding" else t(f"points_kind_{value}")
    if kind == "offered":
        return t("crm_all_offers") if value == crm_dashboard.ALL_OFFERS else str(value)
    return str(value)


def _spec(chart: crm_dashboard.Chart, table: crm_dashboard.Table) -> dict:
    """What the page's script draws: the x labels and one series per plotted column."""
    return {"labels": [_label(chart.labels, row[0]) for row in table.rows],
            "series": [{"label": _column(table.columns[i]), "data": [row[i] for row in table.rows]}
                       for i in chart.plotted]}


@inbox.get("/dashboard/crm")
@permission_required("crm_dashboard.view")
def crm_dashboard_page():
    """CRM figures over a range of the shop's days, one card per chart; `?chart=NAME&format=csv` downloads one."""
    tz, now = settings().tz, utcnow()
    first, last = request.args.get("from", "").strip()[:10], request.args.get("to", "").strip()[:10]
    status = 200
    try:
        period = crm_dashboard.period(first=first, last=last, tz=tz, now=now)
    except data.InboxError as exc:
        if request.args.get("format") == "csv":
            return Response(error_text(str(exc)) + "\n", status=422, mimetype="text/plain")
        flash(error_text(str(exc)), "error")
        period, status = crm_dashboard.period(first="", last="", tz=tz, now=now), 422
    with Session(engine()) as db:
        if request.args.get("format") == "csv":
            chart = crm_dashboard.chart(request.args.get("chart", ""))
            if chart is None:
                abort(404)
            table = chart.table(db, period)
            return Response(stream_csv([_column(c) for c in table.columns], table.rows), mimetype="text/csv",
                            headers={"Content-Disposition": f'attachment; filename="{chart.name}-{period.first}-'
                                                            f'{period.last}.csv"'})
        tables = {chart.name: chart.table(db, period) for chart in crm_dashboard.CHARTS}
    specs = {chart.name: _spec(chart, tables[chart.name]) for chart in crm_dashboard.CHARTS
             if chart.name in tables and chart.kind not in ("table", "grid")}
    page = render_template("inbox/crm_dashboard.html", charts=crm_dashboard.CHARTS, tables=tables, specs=specs,
                           period=period, first=first or period.first.isoformat(),
                           last=last or period.last.isoformat(), column=_column, label=_label,
                           timezone=settings().timezone)
    return page, status
