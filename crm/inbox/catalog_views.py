"""The catalog screen (admins): products by category with photo, price, stock or sold out, aliases, order;
bulk prices; CSV/XLSX export and import.

Every write goes through `crm.catalog`, the same rules as the REST API, in one transaction
with its audit row; a refused form comes back with what was typed and the reasons.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Response, abort, flash, jsonify, redirect, render_template, request, url_for
from sqlmodel import Session

from core.db import session_scope
from crm import catalog
from crm.contact_import import ImportFileError, read_file
from crm.csv_export import stream_csv
from crm.inbox import data
from crm.inbox.auth import current_staff, permission_required
from crm.inbox.blueprint import get_or_404, inbox
from crm.inbox.i18n import CATALOG, current_language, error_text, t
from crm.media import MAX_UPLOAD_BYTES, CheckedImage, MediaError, check_image
from crm.orders import Product, hours_text, options_text
from crm.stores import windows_text
from crm.web import engine, settings

MAX_IMPORT_BYTES = 5 * 1024 * 1024


def problem_text(problem: catalog.Problem) -> str:
    """One refused field in the staff member's words (a bulk price names its product)."""
    key = f"catalog_field_{problem.field}"
    label = t(key) if key in CATALOG else problem.field
    if problem.item:  # "Add-on 2", "Variant price Large"
        label = f"{label} {problem.item}"
    return t("catalog_problem", field=label, reason=t(f"catalog_problem_{problem.kind}", limit=problem.limit))


MAX_SHOWN = 20  # problems listed after a refused import; the rest are counted


def _flash_refusal(exc: catalog.CatalogError) -> None:
    for problem in exc.problems[:MAX_SHOWN]:
        where = t("catalog_row", row=problem.row) + " " if problem.row else ""
        flash(where + problem_text(problem), "error")
    if len(exc.problems) > MAX_SHOWN:
        flash(t("catalog_more_problems", count=len(exc.problems) - MAX_SHOWN), "error")


# --- the list -------------------------------------------------------------------------


def _list_page(status: int = 200):
    with Session(engine()) as db:
        products = catalog.list_products(session=db)
        groups: dict[str, list[Product]] = {}
        for product in products:
            groups.setdefault(product.category, []).append(product)
        return render_template("inbox/catalog.html", groups=groups, form=request.form if status != 200 else {},
                               options_text=lambda product: options_text(product, current_language()),
                               hours_text=hours_text), status


@inbox.get("/catalog")
@permission_required("catalog.manage")
def catalog_list():
    """The products by category, in the order customers see them."""
    return _list_page()


def _product_write(product_id: int, action: str, write) -> Response:
    """Run `write(db, product) -> details` on one product with its audit row; back to the list."""
    with session_scope(engine()) as db:
        product = get_or_404(db, Product, product_id)
        details = write(db, product)
        if details is not None:
            data.audit(session=db, staff=current_staff(), action=action, target_type="product", target_id=product.id,
                       details={"sku": product.sku, **details})
    return redirect(url_for("inbox.catalog_list") + f"#product-{product_id}", 303)


@inbox.post("/catalog/<int:product_id>/move")
@permission_required("catalog.manage")
def catalog_move(product_id: int):
    """Move a product one place up or down inside its category."""
    step = -1 if request.form.get("direction") == "up" else 1
    return _product_write(product_id, "catalog.move", lambda db, product: {"step": step} if catalog.move_product(
        session=db, product=product, step=step) else None)


@inbox.post("/catalog/order")
@permission_required("catalog.manage")
def catalog_reorder():
    """Save the order a category's products were dragged into (JSON {"category", "ids"}); answers JSON."""
    body = request.get_json(silent=True) or {}
    category, ids = body.get("category"), body.get("ids")
    if not isinstance(category, str) or not isinstance(ids, list) or not all(type(i) is int for i in ids):
        return jsonify(error=t("catalog_reorder_stale")), 400
    try:
        with session_scope(engine()) as db:
            moved = catalog.reorder_category(session=db, category=category, product_ids=ids)
            if moved:
                data.audit(session=db, staff=current_staff(), action="catalog.reorder", target_type="product",
                           details={"category": category, "ids": ids})
    except catalog.CatalogError:
        return jsonify(error=t("catalog_reorder_stale")), 409
    return jsonify(moved=moved)


@inbox.post("/catalog/<int:product_id>/sold-out")
@permission_required("catalog.manage")
def catalog_sold_out(product_id: int):
    """Mark a product sold out (stock 0), or available again (unlimited stock)."""
    sold_out = request.form.get("sold_out") == "1"

    def write(db, product):
        before = product.stock
        catalog.update_product(session=db, product=product, changes={"stock": 0 if sold_out else None})
        flash(t("catalog_marked_sold_out" if sold_out else "catalog_marked_available"), "info")
        return {"stock": [before, product.stock]}

    return _product_write(product_id, "catalog.sold_out", write)


@inbox.post("/catalog/<int:product_id>/delete")
@permission_required("catalog.manage")
def catalog_delete(product_id: int):
    """Take a product off sale (it stays in past orders), or put it back on sale."""
    active = request.form.get("active") == "1"

    def write(db, product):
        catalog.update_product(session=db, product=product, changes={"active": active})
        flash(t("catalog_restored" if active else "catalog_removed"), "info")
        return {"active": active}

    return _product_write(product_id, "catalog.restore" if active else "catalog.remove", write)


@inbox.post("/catalog/prices")
@permission_required("catalog.manage")
def catalog_prices():
    """Save every price of the bulk form at once (all or none)."""
    prices = {int(key[6:]): catalog.whole_number(value) for key, value in request.form.items()
              if key.startswith("price_") and key[6:].isdigit()}
    try:
        with session_scope(engine()) as db:
            changed = catalog.set_prices(session=db, prices=prices)
            if changed:
                data.audit(session=db, staff=current_staff(), action="catalog.prices", target_type="product",
                           details={"prices": {p.sku: [old, new] for p, old, new in changed}})
    except catalog.CatalogError as exc:
        _flash_refusal(exc)
        return _list_page(400)
    flash(t("catalog_prices_saved", count=len(changed)), "info")
    return redirect(url_for("inbox.catalog_list"), 303)


@inbox.post("/catalog/category")
@permission_required("catalog.manage")
def catalog_category():
    """Rename a category (to an existing name: the two become one)."""
    old, new = request.form.get("old", ""), request.form.get("new", "")
    try:
        with session_scope(engine()) as db:
            moved = catalog.rename_category(session=db, old=old, new=new)
            if moved:
                data.audit(session=db, staff=current_staff(), action="catalog.category", target_type="product",
                           details={"from": old, "to": new.strip(), "products": moved})
    except catalog.CatalogError as exc:
        _flash_refusal(exc)
        return _list_page(400)
    flash(t("catalog_category_renamed", count=moved), "info")
    return redirect(url_for("inbox.catalog_list"), 303)


# --- one product -------------------------------------------------------------------------


def _typed_values(form) -> dict[str, Any]:
    """The product fields the form describes (checked later by the catalog's models)."""
    stock_mode = form.get("stock_mode", "unlimited")
    stock = None if stock_mode == "unlimited" else 0 if stock_mode == "sold_out" else \
        catalog.whole_number(form.get("stock", ""))
    variants, variant_prices = catalog.variants_and_prices(form.get("variants", ""))
    return {"name": form.get("name", "").strip(), "name_en": form.get("name_en", "").strip() or None,
            "category": form.get("category", "").strip(), "description": form.get("description", "").strip(),
            "price": catalog.whole_number(form.get("price", "")), "stock": stock,
            "variants": variants, "variant_prices": variant_prices, "addons": _addon_rows(form),
            "available_hours": catalog.typed_hours(form.get("available_hours", "")),
            "aliases": catalog.words(form.get("aliases", "")), "active": form.get("active") == "1"}


BLANK_ADDON_ROWS = 2  # empty rows under the product's add-ons; saving gives two more


def _addon_indexes(form) -> list[int]:
    """The numbers of the form's add-on rows (addon_name_0, addon_name_1, …), in order."""
    return sorted(int(key[11:]) for key in form if key.startswith("addon_name_") and key[11:].isdigit())


def _addon_rows(form) -> list[dict[str, Any]]:
    """The add-on rows filled in (name, English name, price), in the form's order; empty rows are skipped."""
    rows = []
    for n in _addon_indexes(form):
        name, name_en = form.get(f"addon_name_{n}", "").strip(), form.get(f"addon_name_en_{n}", "").strip()
        price = form.get(f"addon_price_{n}", "").strip()
        if name or name_en or price:
            rows.append({"name": name, "name_en": name_en or None, "price": catalog.whole_number(price)})
    return rows


def _addon_form_rows(product: Product | None, form) -> list[dict[str, Any]]:
    """The rows the form shows: what was typed (after a refusal) or the product's add-ons, then blank rows."""
    if form is not None:
        rows = [{"name": form.get(f"addon_name_{n}", ""), "name_en": form.get(f"addon_name_en_{n}", ""),
                 "price": form.get(f"addon_price_{n}", "")}
                for n in _addon_indexes(form)]
        rows = [row for row in rows if any(row.values())]
    else:
        rows = [{"name": a["name"], "name_en": a.get("name_en") or "", "price": a["price"]}
                for a in (product.addons if product else None) or []]
    return rows + [{"name": "", "name_en": "", "price": ""}] * BLANK_ADDON_ROWS


def _photo() -> CheckedImage | None:
    """The uploaded photo, checked (MediaError with the reason's key when refused)."""
    upload = request.files.get("photo")
    if upload is None or not upload.filename:
        return None
    # LINE and Telegram fetch a product's photo from our public address: only over https.
    if not settings().public_url.startswith("https://"):
        raise MediaError("catalog_photo_needs_https")
    return check_image(upload.stream.read(MAX_UPLOAD_BYTES + 1))


def _form_page(product: Product | None, status: int = 200):
    with Session(engine()) as db:
        form = request.form if status != 200 else None
        return render_template("inbox/catalog_product.html", product=product,
                               categories=catalog.categories(session=db), form=form,
                               variants_text=catalog.variants_text(product) if product else "",
                               hours_text=windows_text(product.available_hours or []) if product else "",
                               addon_rows=_addon_form_rows(product, form)), status


@inbox.route("/catalog/new", methods=["GET", "POST"])
@permission_required("catalog.manage")
def catalog_new():
    """Add a product."""
    if request.method == "GET":
        return _form_page(None)
    return _save_product(None)


@inbox.route("/catalog/<int:product_id>", methods=["GET", "POST"])
@permission_required("catalog.manage")
def catalog_edit(product_id: int):
    """Change a product."""
    with Session(engine()) as db:
        product = get_or_404(db, Product, product_id)
    if request.method == "GET":
        return _form_page(product)
    return _save_product(product)


def _save_product(existing: Product | None):
    """Create or update from the form: checked, photo kept, audited, in one transaction; else the form again."""
    values = _typed_values(request.form)
    try:
        image = _photo()
        if image is not None:
            values["image_url"] = settings().public_url.rstrip("/") + url_for("media.uploaded", name=image.name)
        elif request.form.get("remove_photo") == "1":
            values["image_url"] = None
        with session_scope(engine()) as db:
            if existing is None:
                data_in = catalog.checked(catalog.ProductCreate, {"sku": request.form.get("sku", "").strip(), **values})
                product = catalog.create_product(session=db, data=data_in)
                action, details = "catalog.add", {"sku": product.sku, "name": product.name}
            else:
                product = db.get(Product, existing.id)
                before = {name: getattr(product, name) for name in values}
                changes = catalog.checked(catalog.ProductUpdate, values).model_dump(exclude_unset=True)
                catalog.update_product(session=db, product=product, changes=changes)
                action = "catalog.edit"
                details = {"sku": product.sku, "changed": {k: [before[k], v] for k, v in changes.items()
                                                           if before[k] != v}}
            data.audit(session=db, staff=current_staff(), action=action, target_type="product", target_id=product.id,
                       details=details)
            if image is not None:
                image.write(settings().media_dir)  # only for a product that is saved; before its commit
            product_id, name = product.id, product.name
    except MediaError as exc:
        flash(error_text(str(exc)), "error")
        return _form_page(existing, 400)
    except catalog.CatalogError as exc:
        _flash_refusal(exc)
        return _form_page(existing, 400)
    flash(t("catalog_saved", name=name), "info")
    return redirect(url_for("inbox.catalog_list") + f"#product-{product_id}", 303)


# --- export and import -------------------------------------------------------------------


@inbox.get("/catalog/export.<fmt>")
@permission_required("catalog.manage")
def catalog_export(fmt: str):
    """The whole catalog as CSV or XLSX (the import reads the same columns back)."""
    if fmt not in ("csv", "xlsx"):
        abort(404)
    with Session(engine()) as db:
        rows = list(catalog.export_rows(session=db))
    if fmt == "csv":
        body, mimetype = "".join(stream_csv(catalog.HEADER, rows)), "text/csv; charset=utf-8"
    else:
        body = catalog.xlsx_bytes(catalog.HEADER, rows)
        mimetype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return Response(body, mimetype=mimetype,
                    headers={"Content-Disposition": f'attachment; filename="catalog.{fmt}"'})


@inbox.post("/catalog/import")
@permission_required("catalog.manage")
def catalog_import():
    """Create and update products by sku from a CSV or XLSX file: every row or none."""
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        flash(t("catalog_import_no_file"), "error")
        return _list_page(400)
    raw = upload.stream.read(MAX_IMPORT_BYTES + 1)
    if len(raw) > MAX_IMPORT_BYTES:
        flash(t("catalog_import_too_large"), "error")
        return _list_page(400)
    try:
        with session_scope(engine()) as db:
            summary = catalog.import_catalog(session=db, sheet=read_file(Path(upload.filename), raw))
            data.audit(session=db, staff=current_staff(), action="catalog.import", target_type="product",
                       details={"file": upload.filename[:200], "created": summary.created,
                                "updated": summary.updated})
    except ImportFileError:
        flash(t("catalog_import_unreadable"), "error")
        return _list_page(400)
    except catalog.CatalogError as exc:
        flash(t("catalog_import_refused"), "error")
        _flash_refusal(exc)
        return _list_page(400)
    flash(t("catalog_imported", created=len(summary.created), updated=len(summary.updated),
            unchanged=summary.unchanged), "info")
    return redirect(url_for("inbox.catalog_list"), 303)
