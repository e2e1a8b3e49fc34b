"""The catalog's rules and writes, shared by the REST API, the staff screen and the CSV/XLSX import.

A product's category is free text; `sort_order` orders products inside their category (then
the name). Every write sets `updated_at`, which `orders.catalog_version` watches: the bot's
cached names and aliases follow the next customer message, with nothing to restart.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Annotated, Any

from openpyxl import Workbook
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlalchemy import func
from sqlmodel import Session, select

from core.db import utcnow
from crm.contact_import import Sheet, text_of
from crm.csv_export import safe_cell
from crm.orders import Product
from crm.stores import HHMM_PATTERN, validate_windows, windows_text
from crm.schemas import PatchModel, json_int

MAX_STOCK = 1_000_000_000  # the column is a 32-bit integer on PostgreSQL
Price = json_int(0, 1_000_000_000)  # rupiah
Stock = json_int(0, MAX_STOCK)
Word = Annotated[str, Field(min_length=1, max_length=100)]
Words = Annotated[list[Word], Field(max_length=20)]
VariantPrices = Annotated[dict[Word, Price], Field(max_length=20, description=(
    "what a variant adds to the price in rupiah, by variant name (each one of `variants`); a variant left out "
    "adds nothing"))]


HHMM = Annotated[str, Field(pattern=HHMM_PATTERN, description="local time HH:MM")]
Window = Annotated[list[HHMM], Field(min_length=2, max_length=2)]
Hours = Annotated[list[Window], Field(min_length=1, max_length=10, description=(
    "[start, end] windows in the shop's timezone it is sold in, every day (breakfast 07:00–11:00); an end not "
    "after the start runs past midnight; null: all day"))]


def _windows(value: list | None) -> list[list[str]] | None:
    # Rules the types cannot say: an empty window, or one that starts at 24:00.
    return None if value is None else validate_windows([list(w) for w in value], "available_hours")


class Addon(BaseModel):
    """An extra a customer may add to a product ("Extra shot", "Oat milk"), with its price."""

    model_config = ConfigDict(extra="forbid")

    name: Word
    name_en: str | None = Field(default=None, max_length=100)
    price: Price


Addons = Annotated[list[Addon], Field(max_length=20)]


class ProductCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sku: Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_.-]+$")]
    name: Annotated[str, Field(min_length=1, max_length=200)]
    name_en: str | None = Field(default=None, max_length=200)
    category: str = Field(default="", max_length=100)
    description: str = Field(default="", max_length=1000)
    price: Price
    stock: Stock | None = Field(default=None, description="null = unlimited")
    variants: Words = Field(default=[])
    variant_prices: VariantPrices = Field(default={})
    addons: Addons = Field(default=[])
    available_hours: Hours | None = None
    aliases: Words = Field(default=[])
    image_url: str | None = Field(default=None, max_length=500, pattern=r"^https://")
    active: bool = True

    _check_hours = field_validator("available_hours")(_windows)


class ProductUpdate(PatchModel):
    NULLABLE = frozenset({"name_en", "stock", "image_url", "available_hours"})

    name: str | None = Field(default=None, min_length=1, max_length=200)
    name_en: str | None = Field(default=None, max_length=200)
    category: str | None = Field(default=None, max_length=100)
    description: str | None = Field(default=None, max_length=1000)
    price: Price | None = None
    stock: Stock | None = Field(default=None, description="null = unlimited")
    variants: Words | None = None
    variant_prices: VariantPrices | None = None
    addons: Addons | None = None
    available_hours: Hours | None = None
    aliases: Words | None = None
    image_url: str | None = Field(default=None, max_length=500, pattern=r"^https://")
    active: bool | None = None

    _check_hours = field_validator("available_hours")(_windows)


@dataclass(frozen=True)
class Problem:
    """One field refused: `kind` is required, too_long, too_many, number, range, pattern, taken, unknown_variant,
    duplicate, hours or invalid."""

    field: str
    kind: str
    limit: Any = None
    row: int | None = None  # the import row
    item: str | None = None  # which entry of a list or map field: an add-on's place (1, 2, …), a variant's name


class CatalogError(ValueError):
    """A catalog write refused (nothing written); `problems` name the fields (and the import rows)."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(f"{p.field}: {p.kind}" for p in problems))
        self.problems = problems


_KINDS = {"missing": "required", "string_too_short": "required", "too_short": "required",
          "string_too_long": "too_long", "too_long": "too_many", "int_parsing": "number", "int_type": "number",
          "int_from_float": "number", "greater_than_equal": "range", "less_than_equal": "range",
          "string_pattern_mismatch": "pattern"}


def problems_of(exc: ValidationError, row: int | None = None) -> list[Problem]:
    """The fields a pydantic model refused, in the catalog's few kinds of problem."""
    found = []
    for error in exc.errors():
        name = str(error["loc"][0]) if error["loc"] else ""
        if name == "available_hours":  # whatever is wrong with a window, the remedy is the same
            found.append(Problem(name, "hours", row=row))
            continue
        context = error.get("ctx") or {}
        limit = next((context[key] for key in ("max_length", "le", "ge") if key in context), None)
        place = error["loc"][1] if len(error["loc"]) > 1 else None
        item = str(place + 1) if isinstance(place, int) else place  # an add-on counted from 1, a variant by name
        found.append(Problem(name, _KINDS.get(error["type"], "invalid"), limit, row, item))
    return list(dict.fromkeys(found))


def checked(model: type[BaseModel], values: dict[str, Any], row: int | None = None):
    """`values` as `model`, or CatalogError naming each refused field."""
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        raise CatalogError(problems_of(exc, row)) from None


# --- reading ----------------------------------------------------------------------------


def list_products(*, session: Session, active: bool | None = None) -> list[Product]:
    """Products by category, their sort order, then name (`active` filters when given)."""
    query = select(Product).order_by(Product.category, Product.sort_order, Product.name, Product.id)
    if active is not None:
        query = query.where(Product.active == active)
    return list(session.exec(query).all())


def categories(*, session: Session) -> list[str]:
    """The categories in use, by name."""
    return [c for c in session.exec(select(Product.category).distinct().order_by(Product.category)).all() if c]


# --- writing ----------------------------------------------------------------------------


def _check_options(variants: list[str], variant_prices: dict[str, int], addons: list[dict],
                   row: int | None = None) -> None:
    """Rules across fields: a price for a variant the product has, add-on names used once."""
    problems = [Problem("variant_prices", "unknown_variant", row=row, item=name) for name in variant_prices
                if name not in variants]
    names = [a["name"].casefold() for a in addons]
    problems += [Problem("addons", "duplicate", row=row, item=str(n + 1)) for n, a in enumerate(addons)
                 if a["name"].casefold() in names[:n]]
    if problems:
        raise CatalogError(problems)


def _last_place(session: Session, category: str) -> int:
    top = session.exec(select(func.max(Product.sort_order)).where(Product.category == category)).one()
    return 0 if top is None else top + 1


def create_product(*, session: Session, data: ProductCreate, row: int | None = None) -> Product:
    """Add a product at the end of its category (CatalogError when its sku is taken)."""
    if session.exec(select(Product.id).where(Product.sku == data.sku)).first() is not None:
        raise CatalogError([Problem("sku", "taken", row=row)])
    _check_options(data.variants, data.variant_prices, data.model_dump()["addons"], row)
    product = Product(**data.model_dump(), sort_order=_last_place(session, data.category))
    session.add(product)
    session.flush()
    return product


def update_product(*, session: Session, product: Product, changes: dict[str, Any]) -> Product:
    """Apply checked changes (a ProductUpdate's set fields); a product moved to another category goes last there.

    Variants taken away lose their prices; CatalogError when a price names a variant the product does not have.
    """
    variants = changes.get("variants", product.variants or [])
    if "variant_prices" not in changes and "variants" in changes:
        changes = {**changes, "variant_prices": {k: v for k, v in (product.variant_prices or {}).items()
                                                 if k in variants}}
    _check_options(variants, changes.get("variant_prices", product.variant_prices or {}),
                   changes.get("addons", product.addons or []))
    if "category" in changes and changes["category"] != product.category:
        product.sort_order = _last_place(session, changes["category"])
    for name, value in changes.items():
        setattr(product, name, value)
    product.updated_at = utcnow()
    session.add(product)
    session.flush()
    return product


def move_product(*, session: Session, product: Product, step: int) -> bool:
    """Swap the product with its neighbour above (step -1) or below (+1) in its category; False at an end."""
    rows = [p for p in list_products(session=session) if p.category == product.category]
    at = next(i for i, p in enumerate(rows) if p.id == product.id)
    other = at + step
    if not 0 <= other < len(rows):
        return False
    rows[at], rows[other] = rows[other], rows[at]
    now = utcnow()
    for place, row in enumerate(rows):  # renumbered: equal old numbers (0 for all) still order one way
        if row.sort_order != place or row in (rows[at], rows[other]):
            row.sort_order, row.updated_at = place, now
            session.add(row)
    session.flush()
    return True


def reorder_category(*, session: Session, category: str, product_ids: list[int]) -> bool:
    """Put a category's products in the given order (every one of them, once); False when nothing moved.

    CatalogError when the ids are not exactly the category's products (a stale page: another admin changed it).
    """
    rows = [p for p in list_products(session=session) if p.category == category]
    by_id = {p.id: p for p in rows}
    if sorted(product_ids) != sorted(by_id):
        raise CatalogError([Problem("sort_order", "invalid")])
    now, moved = utcnow(), False
    for place, product_id in enumerate(product_ids):
        product = by_id[product_id]
        if product.sort_order != place:
            product.sort_order, product.updated_at, moved = place, now, True
            session.add(product)
    moved = moved and [p.id for p in rows] != product_ids
    session.flush()
    return moved


def rename_category(*, session: Session, old: str, new: str) -> int:
    """Give the products of category `old` the name `new` (after those already there, same order); how many."""
    new = checked(ProductUpdate, {"category": new.strip()}).category
    rows = [p for p in list_products(session=session) if p.category == old]
    if new != old:
        for product in rows:
            update_product(session=session, product=product, changes={"category": new})
    return len(rows) if new != old else 0


def set_prices(*, session: Session, prices: dict[int, Any]) -> list[tuple[Product, int, int]]:
    """New prices by product id, all or none; returns (product, old, new) for each one changed."""
    problems, changed = [], []
    for product_id, raw in prices.items():
        product = session.get(Product, product_id)
        if product is None:
            continue
        try:
            price = ProductUpdate.model_validate({"price": raw}).price
        except ValidationError as exc:
            problems += [Problem(f"{product.name}", p.kind, p.limit) for p in problems_of(exc)]
            continue
        if price != product.price:
            changed.append((product, product.price, price))
    if problems:
        raise CatalogError(problems)
    for product, _, price in changed:
        update_product(session=session, product=product, changes={"price": price})
    return changed


# --- export and import --------------------------------------------------------------------

HEADER = ["sku", "name", "name_en", "category", "description", "price", "stock", "variants", "aliases", "image_url",
          "active", "sort_order", "addons", "available_hours"]
LISTS = ("aliases",)  # comma-separated in a cell


def export_rows(*, session: Session) -> Iterator[list[Any]]:
    """The catalog as table rows under HEADER (inactive products too), in the screen's order."""
    for p in list_products(session=session):
        yield [p.sku, p.name, p.name_en or "", p.category, p.description, p.price, "" if p.stock is None else p.stock,
               variants_text(p), ", ".join(p.aliases or []), p.image_url or "",
               "yes" if p.active else "no", p.sort_order, addons_text(p), windows_text(p.available_hours or [])]


def xlsx_bytes(header: list[str], rows: Iterable[list[Any]], title: str = "catalog") -> bytes:
    """An XLSX workbook of one sheet, every cell formula-safe."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet(title)
    sheet.append(header)
    for row in rows:
        sheet.append([safe_cell(value) for value in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@dataclass
class ImportSummary:
    """What an import did."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: int = 0


YES, NO = {"yes", "ya", "true", "1", "y"}, {"no", "tidak", "false", "0", "n"}
THOUSANDS = re.compile(r"\d{1,3}(?:[.,]\d{3})+")


def whole_number(text: str) -> Any:
    """Typed digits as an int ("15.000" and "15,000" are fifteen thousand, as shops write rupiah); else the text."""
    text = text.strip().removeprefix("Rp").removeprefix("rp").strip()
    if THOUSANDS.fullmatch(text):
        text = text.replace(".", "").replace(",", "")
    return int(text) if text.isdigit() else text


def words(text: str) -> list[str]:
    """A comma-separated cell or field as a list of its non-empty parts."""
    return [part.strip() for part in text.split(",") if part.strip()]


_LIST_COMMA = re.compile(r"(?<!\d),|,(?!\d{3}(?!\d))")  # a comma, not the one in "+5,000"


def variants_and_prices(text: str) -> tuple[list[str], dict[str, Any]]:
    """Variants as typed, "Regular, Large +5.000": their names, and what those with a "+" add (left to the
    models to refuse when not a number)."""
    names, prices = [], {}
    for part in filter(None, (p.strip() for p in _LIST_COMMA.split(text))):
        name, plus, price = (piece.strip() for piece in part.partition("+"))
        names.append(name)
        if plus:
            prices[name] = whole_number(price)
    return names, prices


def typed_hours(text: str) -> Any:
    """Windows as typed, "07:00-11:00, 17:00-21:00" (empty: all day; left to the models to refuse)."""
    parts = [re.split(r"\s*[-–]\s*", part.strip()) for part in text.split(",") if part.strip()]
    return [part if len(part) == 2 else [text] for part in parts] or None


def typed_addons(text: str) -> list[dict[str, Any]]:
    """Add-ons as written in a cell, "Tambah shot / Extra shot +4000, Susu oat +8000" (left to the models to refuse)."""
    addons = []
    for part in filter(None, (p.strip() for p in _LIST_COMMA.split(text))):
        names, _, price = (piece.strip() for piece in part.partition("+"))
        name, _, name_en = (piece.strip() for piece in names.partition("/"))
        addons.append({"name": name, "name_en": name_en or None, "price": whole_number(price)})
    return addons


def addons_text(product: Product) -> str:
    """A product's add-ons the way a cell holds them: "Tambah shot / Extra shot +4000, Susu oat +8000"."""
    return ", ".join(f"{a['name']}{' / ' + a['name_en'] if a.get('name_en') else ''} +{a['price']}"
                     for a in product.addons or ())


def variants_text(product: Product) -> str:
    """A product's variants the way they are typed: "Regular, Large +5000"."""
    prices = product.variant_prices or {}
    return ", ".join(f"{v} +{prices[v]}" if prices.get(v) else v for v in product.variants or ())


def _cell_value(name: str, raw: Any) -> Any:
    """A cell as the field's value (left to the models to refuse)."""
    text = text_of(raw)
    if name in LISTS:
        return words(text)
    if name == "addons":
        return typed_addons(text)
    if name == "available_hours":
        return typed_hours(text)
    if name == "active":
        return True if text.lower() in YES else False if text.lower() in NO else text
    if name in ("price", "stock", "sort_order"):
        return None if text == "" and name == "stock" else whole_number(text)
    if name in ("name_en", "image_url"):
        return text or None
    return text


def import_catalog(*, session: Session, sheet: Sheet) -> ImportSummary:
    """Create or update products by sku from a sheet under (some of) HEADER; every row or none.

    A refusal (CatalogError) names the problems of every bad row, not only the first one's.
    """
    columns = {i: name.strip().lower() for i, name in enumerate(sheet.header) if name.strip().lower() in HEADER}
    if "sku" not in columns.values():
        raise CatalogError([Problem("sku", "required", row=1)])
    summary, seen, problems = ImportSummary(), set(), []
    for number, cells in enumerate(sheet.rows, start=2):
        values = {name: _cell_value(name, cells[i] if i < len(cells) else None) for i, name in columns.items()}
        if not any(v not in ("", None, []) for v in values.values()):
            continue  # a blank line
        if "variants" in values:  # "Regular, Large +5000": the names and what they add
            values["variants"], values["variant_prices"] = variants_and_prices(text_of(values["variants"]))
        try:
            _import_row(session, values, number, seen, summary)
        except CatalogError as exc:
            problems += exc.problems
    if problems:
        raise CatalogError(problems)
    session.flush()
    return summary


def _import_row(session: Session, values: dict[str, Any], number: int, seen: set[str],
                summary: ImportSummary) -> None:
    sku, sort_order = values.pop("sku"), values.pop("sort_order", None)
    if sku in seen:
        raise CatalogError([Problem("sku", "taken", row=number)])
    seen.add(sku)
    product = session.exec(select(Product).where(Product.sku == sku)).first()
    if product is None:
        product = create_product(session=session, data=checked(ProductCreate, {"sku": sku, **values}, number),
                                 row=number)
        summary.created.append(sku)
    else:
        changes = checked(ProductUpdate, values, number).model_dump(exclude_unset=True)
        changes = {k: v for k, v in changes.items() if getattr(product, k) != v}
        if not changes:
            summary.unchanged += 1
        else:
            update_product(session=session, product=product, changes=changes)
            summary.updated.append(sku)
    if isinstance(sort_order, int) and 0 <= sort_order <= MAX_STOCK and sort_order != product.sort_order:
        product.sort_order, product.updated_at = sort_order, utcnow()  # the bot's cache watches updated_at
        session.add(product)
