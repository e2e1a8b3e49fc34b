"""REST API for products, orders and complaints; staff status changes notify the customer."""

from __future__ import annotations

from typing import Literal

from flask import current_app, g
from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from crm import alerts, catalog, delivery, loyalty
from crm import complaints as complaint_data
from crm import history
from crm import orders as order_data
from crm.api.base import (
    CONTACT_FILTER, ERRORS, OPENAPI_MODELS, OPENAPI_PATHS, ApiError, api, bool_arg, contact_filter, dump, enum_arg,
    enum_param, int_arg, json_body, limit_param, path_param, query_param, read_body, require_token, schema_response,
)
from core.db import session_scope, utcnow
from crm.catalog import ProductCreate, ProductUpdate
from crm.ids import MAX_ID
from crm.models import Contact
from crm.shop_settings import load_settings
from crm.schemas import ComplaintPublic, OrderPublic
from crm.stores import Store
from crm.web import engine, settings
from core.money import rupiah
from core.texts import status_emoji, status_label, text


class ProductPublic(BaseModel):
    id: int
    sku: str
    name: str
    name_en: str | None
    category: str
    description: str
    price: int
    stock: int | None
    variants: list[str]
    variant_prices: dict[str, int] = Field(description="what a variant adds to the price, by variant name")
    addons: list[catalog.Addon]
    available_hours: list[list[str]] | None = Field(description="[start, end] local-time windows it is sold in "
                                                    "every day; null: all day")
    aliases: list[str]
    image_url: str | None
    active: bool
    sort_order: int


class ProductList(BaseModel):
    items: list[ProductPublic]


class OrderList(BaseModel):
    items: list[OrderPublic]


class OrderUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: Literal["new", "confirmed", "preparing", "shipped", "delivered", "cancelled"]
    note: str | None = Field(default=None, max_length=500)
    notify: bool = True


class OrderLineCreate(BaseModel):
    """One line of a counter purchase: a product by its sku or its id."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"oneOf": [{"required": ["sku"]},
                                                                           {"required": ["product_id"]}]})

    sku: str = Field(default=None, min_length=1, max_length=40)  # not nullable: give it or leave it out
    product_id: int = Field(default=None, ge=1, le=MAX_ID)
    quantity: int = Field(default=1, ge=1, le=999)

    @model_validator(mode="after")
    def _one_product(self) -> "OrderLineCreate":
        if (self.sku is None) == (self.product_id is None):
            raise ValueError("give either sku or product_id")
        return self


class OrderCreate(BaseModel):
    """A purchase at the counter or from a POS, recorded at `status` at once (delivered earns its points)."""

    model_config = ConfigDict(extra="forbid")

    contact_id: int = Field(ge=1, le=MAX_ID)
    items: list[OrderLineCreate] = Field(min_length=1, max_length=100)
    fulfilment: Literal["delivery", "pickup"] = "pickup"
    store_id: int | None = Field(default=None, ge=1, le=MAX_ID, description="the store where it was bought")
    status: Literal["new", "confirmed", "preparing", "shipped", "delivered"] = Field(
        default="delivered", description="delivered: handed over (the points are earned at once)")
    address: str | None = Field(default=None, max_length=500, description="delivery: where to")
    phone: str | None = Field(default=None, max_length=32, description="E.164")
    payment_method: str | None = Field(default=None, max_length=32)
    note: str | None = Field(default=None, max_length=500)
    notify: bool = Field(default=True, description="tell the customer in their chat (status and points)")


class ComplaintList(BaseModel):
    items: list[ComplaintPublic]


class ComplaintUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: Literal["open", "in_progress", "resolved", "closed"]


def _product_public(product: order_data.Product) -> ProductPublic:
    return ProductPublic.model_validate(product, from_attributes=True)


# The API's shapes of an order and a complaint are also the data of their webhook events.
_order_public = order_data.order_public
_complaint_public = complaint_data.complaint_public


# --- products -----------------------------------------------------------------------


@api.get("/products")
@require_token
def list_products():
    """The catalog (inactive products too with `all=true`)."""
    active = None if bool_arg("all") else True
    with Session(engine()) as session:
        return dump(ProductList(items=[_product_public(p) for p in catalog.list_products(session=session,
                                                                                         active=active)]))


@api.post("/products")
@require_token
def create_product():
    """Add a product (at the end of its category)."""
    data = read_body(ProductCreate)
    try:
        with session_scope(engine()) as session:
            return dump(_product_public(catalog.create_product(session=session, data=data))), 201
    except catalog.CatalogError as exc:
        if any(p.kind != "taken" for p in exc.problems):
            raise _refused(exc) from None
        raise ApiError(409, f"a product with sku {data.sku!r} exists already") from None
    except IntegrityError:  # lost the race on the unique key
        raise ApiError(409, f"a product with sku {data.sku!r} exists already") from None


def _refused(exc: catalog.CatalogError) -> ApiError:
    """A rule across fields refused (a price for a variant the product lacks, an add-on named twice)."""
    return ApiError(422, "invalid fields", [{"field": p.field, "message": p.kind + (f": {p.item}" if p.item else "")}
                                            for p in exc.problems])


@api.patch("/products/<int:product_id>")
@require_token
def update_product(product_id: int):
    """Change a product (price, stock, active, …)."""
    changes = read_body(ProductUpdate).model_dump(exclude_unset=True)
    with session_scope(engine()) as session:
        product = session.get(order_data.Product, product_id)
        if product is None:
            raise ApiError(404, f"product {product_id} not found")
        try:
            return dump(_product_public(catalog.update_product(session=session, product=product, changes=changes)))
        except catalog.CatalogError as exc:
            raise _refused(exc) from None


# --- orders -------------------------------------------------------------------------


@api.get("/orders")
@require_token
def list_orders():
    """Orders, newest first, filtered by contact and status."""
    query = select(order_data.Order)
    contact_id = contact_filter()
    if contact_id is not None:
        query = query.where(order_data.Order.contact_id == contact_id)
    status = enum_arg("status", order_data.STATUSES)
    if status:
        query = query.where(order_data.Order.status == status)
    limit = int_arg("limit", 100, 1, 1000)
    with Session(engine()) as session:
        rows = session.exec(query.order_by(order_data.Order.id.desc()).limit(limit)).all()
        return dump(OrderList(items=[_order_public(session, row) for row in rows]))


@api.get("/orders/<int:order_id>")
@require_token
def get_order(order_id: int):
    """One order with its status history."""
    with Session(engine()) as session:
        order = session.get(order_data.Order, order_id)
        if order is None:
            raise ApiError(404, f"order {order_id} not found")
        return dump(_order_public(session, order, with_history=True))


def _counter_lines(session: Session, items: list[OrderLineCreate]) -> list[order_data.CartLine]:
    """The cart of a counter purchase (ApiError 422 naming the line whose product is unknown)."""
    lines = []
    for index, item in enumerate(items):
        if item.sku is not None:
            product = session.exec(select(order_data.Product).where(order_data.Product.sku == item.sku)).first()
        else:
            product = session.get(order_data.Product, item.product_id)
        if product is None or not product.active:
            field = "sku" if item.sku is not None else "product_id"
            message = f"no product on sale has {field} {item.sku if item.sku is not None else item.product_id}"
            raise ApiError(422, message, [{"field": f"items.{index}.{field}", "message": message}])
        lines.append(order_data.CartLine(product.id, item.quantity))
    return lines


@api.post("/orders")
@require_token
def create_order():
    """Record a purchase (at the counter, or from a POS) and move it to `status`; delivered earns the points."""
    data = read_body(OrderCreate)
    by = f"api:{g.api_token_name}"
    with session_scope(engine()) as session:  # an error below rolls everything back: no half-written order
        if session.get(Contact, data.contact_id) is None:
            message = f"contact {data.contact_id} not found"
            raise ApiError(422, message, [{"field": "contact_id", "message": message}])
        lines = _counter_lines(session, data.items)
        try:
            order, batch_id = record_purchase(
                session=session, contact_id=data.contact_id, lines=lines, fulfilment=data.fulfilment,
                store_id=data.store_id, status=data.status, by=by, address=data.address, phone=data.phone,
                payment_method=data.payment_method, note=data.note, notify=data.notify)
        except order_data.OrderError as exc:
            field = {"empty": "items", "unknown_product": "items", "quantity": "items",
                     "out_of_stock": "items", "minimum": "items", "location": "address"}.get(exc.code, exc.code)
            raise ApiError(422, str(exc), [{"field": field, "message": str(exc), "code": exc.code}]) from None
        body = _order_public(session, order, with_history=True)
    if batch_id:
        current_app.extensions["sapa.enqueue_batch"](batch_id)
    return dump(body), 201


def record_purchase(*, session: Session, contact_id: int, lines: list[order_data.CartLine], by: str,
                    fulfilment: str = "pickup", store_id: int | None = None, status: str = "delivered",
                    address: str | None = None, phone: str | None = None, payment_method: str | None = None,
                    note: str | None = None, notify: bool = True) -> tuple[order_data.Order, str | None]:
    """Place a counter purchase at `status` (delivered earns its points); the order, its message's batch id."""
    products = [session.get(order_data.Product, line.product_id) for line in lines]
    # The fee's basis only: an unknown product is refused by place_order with its reason.
    subtotal = sum(product.price * line.quantity for product, line in zip(products, lines) if product is not None)
    store = session.get(Store, store_id) if store_id is not None else None
    fees = delivery.rules_of(store, load_settings(session).delivery)  # the store's own, else the shop's
    fee = delivery.delivery_fee(fees, subtotal, None) if fulfilment == "delivery" else 0
    order = order_data.place_order(
        session=session, contact_id=contact_id, lines=lines, fulfilment=fulfilment, address=address,
        store_id=store_id, channel="counter", delivery_fee=fee, note=note, by=by, phone=phone,
        payment_method=payment_method, tz=settings().tz)
    rules = loyalty.rules_for(session, settings())
    for step in order_data.steps_to(status):
        order_data.change_status(session=session, order=order, status=step, by=by, points_rules=rules)
    batch_id = notify_status(session=session, order=order, at_counter=True) if notify and order.status != "new" \
        else None
    return order, batch_id


@api.patch("/orders/<int:order_id>")
@require_token
def update_order(order_id: int):
    """Change an order's status; the customer is told in their chat."""
    change = read_body(OrderUpdate)
    batch_id = None
    with session_scope(engine()) as session:
        order = session.get(order_data.Order, order_id)
        if order is None:
            raise ApiError(404, f"order {order_id} not found")
        before = order.status
        try:
            order_data.change_status(session=session, order=order, status=change.status,
                                     by=f"api:{g.api_token_name}", note=change.note,
                                     points_rules=loyalty.rules_for(session, settings()))
        except order_data.OrderError as exc:
            raise ApiError(409, str(exc), [{"field": "status", "message": str(exc)}]) from None
        if change.notify and order.status != before:
            batch_id = notify_status(session=session, order=order)
        body = _order_public(session, order, with_history=True)
    if batch_id:
        current_app.extensions["sapa.enqueue_batch"](batch_id)
    return dump(body)


def notify_status(*, session: Session, order: order_data.Order, at_counter: bool = False) -> str | None:
    """Queue a message telling the customer their order's new status (in their language), with the points it earned
    on delivery or lost on a cancel after delivery (so earning is announced once per order); a purchase at the
    counter is thanked for, not "delivered"."""
    kind = {"delivered": "earn", "cancelled": "reverse"}.get(order.status)
    entry = loyalty.order_entry(session=session, order_id=order.id, kind=kind) if kind else None
    points = loyalty.balance(session=session, contact_id=order.contact_id) if entry else None
    stamped, cards = loyalty.order_stamps(session=session, order_id=order.id) if kind == "earn" else (None, [])
    card = loyalty.rules_for(session, settings()).stamps if stamped else None
    held = loyalty.stamps(session=session, contact_id=order.contact_id) if card else 0

    def words(language: str) -> str:
        if at_counter and order.status == "delivered":
            lines = [text("counter_purchase", language, number=order.number, total=rupiah(order.total, language))]
        else:
            lines = [text("status_changed", language, number=order.number,
                          status=status_label(order.status, language, order.fulfilment),
                          emoji=status_emoji(order.status, order.fulfilment))]
        if entry is not None and entry.points:
            key = "points_earned" if entry.kind == "earn" else "points_reversed"
            lines.append(text(key, language, points=str(abs(entry.points)), number=order.number, balance=str(points)))
        if card is not None:
            lines.append(text("stamps_earned", language, stamps=str(stamped.stamps), held=str(held),
                              card=str(card.stamps)))
            lines.extend(text("stamps_full_card", language, code=full.voucher_code) for full in cards)
        return "\n".join(lines)

    return history.notify_customer(
        session=session, contact_id=order.contact_id, conversation_id=order.conversation_id, words=words,
        batch_id=f"order:{order.id}:{order.status}:{utcnow().timestamp():.0f}", intent="order_status")


# --- complaints ---------------------------------------------------------------------


@api.get("/complaints")
@require_token
def list_complaints():
    """Complaints, newest first, filtered by contact and status."""
    query = select(complaint_data.Complaint)
    contact_id = contact_filter()
    if contact_id is not None:
        query = query.where(complaint_data.Complaint.contact_id == contact_id)
    status = enum_arg("status", complaint_data.STATUSES)
    if status:
        query = query.where(complaint_data.Complaint.status == status)
    limit = int_arg("limit", 100, 1, 1000)
    now = utcnow()
    with Session(engine()) as session:
        rows = session.exec(query.order_by(complaint_data.Complaint.id.desc()).limit(limit)).all()
        return dump(ComplaintList(items=[_complaint_public(row, now) for row in rows]))


@api.patch("/complaints/<int:complaint_id>")
@require_token
def update_complaint(complaint_id: int):
    """Change a complaint's status."""
    change = read_body(ComplaintUpdate)
    with session_scope(engine()) as session:
        complaint = session.get(complaint_data.Complaint, complaint_id)
        if complaint is None:
            raise ApiError(404, f"complaint {complaint_id} not found")
        complaint_data.change_complaint_status(session=session, complaint=complaint, status=change.status)
        if complaint.resolved_at is not None:
            alerts.settle(session=session, kinds=alerts.COMPLAINT_KINDS, complaint_id=complaint.id)
        return dump(_complaint_public(complaint, utcnow()))


# --- OpenAPI ------------------------------------------------------------------------

OPENAPI_MODELS.extend([ProductPublic, ProductList, ProductCreate, ProductUpdate, OrderPublic, OrderList, OrderUpdate,
                       OrderCreate, OrderLineCreate,
                       ComplaintPublic, ComplaintList, ComplaintUpdate])
_ID = path_param("id")
OPENAPI_PATHS.update({
    "/products": {
        "get": {"summary": "The product catalog",
                "parameters": [query_param("all", "boolean", description="true: inactive products too")],
                "responses": {"200": schema_response("ProductList"), **ERRORS}},
        "post": {"summary": "Add a product", "requestBody": json_body("ProductCreate"),
                 "responses": {"201": schema_response("ProductPublic"), "409": schema_response("Error"),
                               "422": schema_response("Error"), **ERRORS}}},
    "/products/{id}": {"patch": {"summary": "Change a product", "parameters": [_ID],
                                 "requestBody": json_body("ProductUpdate"),
                                 "responses": {"200": schema_response("ProductPublic"), "404": schema_response("Error"),
                                               "422": schema_response("Error"), **ERRORS}}},
    "/orders": {"get": {"summary": "Orders, newest first",
                        "parameters": [CONTACT_FILTER, enum_param("status", order_data.STATUSES), limit_param(1000)],
                        "responses": {"200": schema_response("OrderList"), **ERRORS}},
               "post": {"summary": "Record a purchase at the counter (delivered: its points are earned at once)",
                        "requestBody": json_body("OrderCreate"),
                        "responses": {"201": schema_response("OrderPublic"), "422": schema_response("Error"),
                                      **ERRORS}}},
    "/orders/{id}": {
        "get": {"summary": "One order with its history", "parameters": [_ID],
                "responses": {"200": schema_response("OrderPublic"), "404": schema_response("Error"), **ERRORS}},
        "patch": {"summary": "Change an order's status (the customer is notified)", "parameters": [_ID],
                  "requestBody": json_body("OrderUpdate"),
                  "responses": {"200": schema_response("OrderPublic"), "404": schema_response("Error"),
                                "409": schema_response("Error"), "422": schema_response("Error"), **ERRORS}}},
    "/complaints": {"get": {"summary": "Complaints, newest first",
                            "parameters": [CONTACT_FILTER, enum_param("status", complaint_data.STATUSES),
                                           limit_param(1000)],
                            "responses": {"200": schema_response("ComplaintList"), **ERRORS}}},
    "/complaints/{id}": {"patch": {"summary": "Change a complaint's status", "parameters": [_ID],
                                   "requestBody": json_body("ComplaintUpdate"),
                                   "responses": {"200": schema_response("ComplaintPublic"), "404": schema_response("Error"),
                                                 "422": schema_response("Error"), **ERRORS}}},
})
