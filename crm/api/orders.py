"""REST API for products, orders and complaints; staff status changes notify the customer."""

from __future__ import annotations

from typing import Literal

from flask import current_app, g
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from crm import alerts, catalog
from crm import complaints as complaint_data
from crm import history
from crm import orders as order_data
from crm.api.base import (
    CONTACT_FILTER, ERRORS, OPENAPI_MODELS, OPENAPI_PATHS, ApiError, api, bool_arg, contact_filter, dump, enum_arg,
    enum_param, int_arg, json_body, limit_param, path_param, query_param, read_body, require_token, schema_response,
)
from core.db import session_scope, utcnow
from crm.catalog import ProductCreate, ProductUpdate
from crm.schemas import ComplaintPublic, OrderPublic
from crm.web import engine
from core.texts import STATUS_EMOJI, status_label, text


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
    except (catalog.CatalogError, IntegrityError):  # taken: seen first, or lost the race on the unique key
        raise ApiError(409, f"a product with sku {data.sku!r} exists already") from None


@api.patch("/products/<int:product_id>")
@require_token
def update_product(product_id: int):
    """Change a product (price, stock, active, …)."""
    changes = read_body(ProductUpdate).model_dump(exclude_unset=True)
    with session_scope(engine()) as session:
        product = session.get(order_data.Product, product_id)
        if product is None:
            raise ApiError(404, f"product {product_id} not found")
        return dump(_product_public(catalog.update_product(session=session, product=product, changes=changes)))


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
                                     by=f"api:{g.api_token_name}", note=change.note)
        except order_data.OrderError as exc:
            raise ApiError(409, str(exc), [{"field": "status", "message": str(exc)}]) from None
        if change.notify and order.status != before:
            batch_id = notify_status(session=session, order=order)
        body = _order_public(session, order, with_history=True)
    if batch_id:
        current_app.extensions["sapa.enqueue_batch"](batch_id)
    return dump(body)


def notify_status(*, session: Session, order: order_data.Order) -> str | None:
    """Queue a message telling the customer their order's new status (in their language)."""
    return history.notify_customer(
        session=session, contact_id=order.contact_id, conversation_id=order.conversation_id,
        words=lambda language: text("status_changed", language, number=order.number,
                                    status=status_label(order.status, language),
                                    emoji=STATUS_EMOJI.get(order.status, "")),
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
                        "responses": {"200": schema_response("OrderList"), **ERRORS}}},
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
