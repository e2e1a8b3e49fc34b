"""Products in a message: spans of names and words for them, notes, quantities, and the change each asks for."""
from __future__ import annotations

from dataclasses import dataclass, replace

from core.lexicon import NUMBER_WORDS
from core.normalize import KNOWN

from .order_message import QUANTITY_SKIP, Message, ones, quantities, read_numbers
from .order_terms import DROPPABLE, NOT_HEAD, ProductIndex, words
from .order_words import (
    ADD_MORE, DECREASE, FUNCTION_WORDS, NOTE_AFTER, NOTE_BEFORE, ONLY_AFTER, ONLY_BEFORE, ORDER_NOTE_OBJECTS,
    NO, ORDER_VERBS, REMOVE_AFTER, REMOVE_BEFORE, SET_BEFORE, SET_TO, SWAP_MIDDLE, SWAP_OPEN, VARIANTS, YES,
)


@dataclass(frozen=True)
class ItemChange:
    """One change to the cart the customer asked for.

    op "add" (quantity None: not said, i.e. one), "remove" (quantity None: the whole line) or
    "set" (quantity None: keep the quantity, change the note).
    """
    op: str
    product_id: int | None                 # None when ambiguous (see candidates) or unknown
    candidates: tuple[int, ...] = ()       # ambiguous: "kopi 2" -> the coffee products
    quantity: int | None = None
    note: str | None = None                # "less sugar", "gak pake es", "oat milk", "panas"
    words: str = ""                        # the customer's words for it
    again: bool = False                    # said with "tambah"/"lagi"/"another": more of a line already there
    options: tuple[str, ...] = ()          # the product's variants and add-ons named, as the catalog names them


def product_spans(msg: Message, index: ProductIndex) -> list[tuple[int, int, frozenset[int]]]:
    """Whole product names, English names and aliases, in any word order, typos allowed."""
    forms = [index.form(w) if msg.free[k] and w.isalpha() else None for k, w in enumerate(msg.raw)]
    found: list[tuple[int, int, int, frozenset[int]]] = []
    for i in range(len(msg)):
        if forms[i] is None:
            continue
        for j in range(i + 1, min(len(msg), i + index.max_len + 2) + 1):
            if forms[j - 1] is None:
                if msg.free[j - 1] and msg.raw[j - 1] in ("with", "dengan", "pake", "and", "n"):
                    continue
                break
            key = tuple(f[0] for f in forms[i:j] if f)
            typos = sum(f[1] for f in forms[i:j] if f)
            ids = index.exact.get(key) if len(key) == j - i else None
            score = 3
            if ids is None:
                ids, score = index.bags.get(tuple(sorted(key))), 2
            if ids is None and j - i == 1:
                ids = index.joined.get(key[0])
            if ids:
                found.append((j - i, score - typos, i, j, frozenset(ids)))  # type: ignore[arg-type]
    for i in range(len(msg) - 1):  # two words that only together spell a name, misspelt: "cafe late"
        if all(msg.free[i:i + 2]) and msg.raw[i].isalpha() and msg.raw[i + 1].isalpha() \
                and not any(c[2] <= i < c[3] or c[2] <= i + 1 < c[3] for c in found):
            ids = index.pair(msg.raw[i], msg.raw[i + 1])
            if ids:
                found.append((2, 0, i, i + 2, ids))
    found.sort(key=lambda c: (-c[0], -c[1], c[2]))
    spans = []
    for _, _, i, j, ids in found:
        if all(msg.free[i:j]):
            msg.take(i, j)
            spans.append((i, j, ids))
    return spans


# words that may lead an option after the product: "latte yang large", "latte pake oat milk", "latte + extra shot"
_OPTION_LEAD = frozenset(
    "yang yg size ukuran pake pakai with dengan plus tambah add extra ekstra and dan sama + ,".split())
OptionSpan = tuple[int, int, str, bool]  # start, end, the option's catalog name, said before the product


def option_spans(msg: Message, index: ProductIndex, spans) -> list[OptionSpan]:
    """The variants and add-ons of a product named right around it ("2 large latte", "latte large extra shot"),
    typos and other words for sizes allowed; their tokens are read (no note, no unknown product)."""
    found: list[OptionSpan] = []
    for i, j, ids in spans:
        if len(ids) != 1 or not index.by_id[next(iter(ids))].options:
            continue
        product = next(iter(ids))
        for n in (2, 1):  # before the name: "a large latte"
            if i >= n and all(msg.free[i - n:i]) and (hit := index.option_at(product, msg.raw[i - n:i])) \
                    and hit[0] == n:
                msg.take(i - n, i)
                found.append((i - n, i, hit[1], True))
                break
        k = j
        while k < len(msg):
            while k < len(msg) and msg.free[k] and msg.raw[k].isdigit():
                k += 1  # "latte gede 1 pake oat milk": the quantity stays a quantity
            hit, start = None, k
            while start < len(msg) and msg.free[start]:
                end = start
                while end < len(msg) and msg.free[end] and end - start < 4:
                    end += 1
                if (hit := index.option_at(product, msg.raw[start:end])) or msg.raw[start] not in _OPTION_LEAD:
                    break
                start += 1
            if hit is None:
                break
            msg.take(k, start + hit[0])
            found.append((start, start + hit[0], hit[1], False))
            k = start + hit[0]
    return found


def head_spans(msg: Message, index: ProductIndex) -> list[tuple[int, int, frozenset[int]]]:
    """Single words that point at products ("kopi", "croissants", "teh"): one product, or candidates."""
    spans = []
    k = 0
    while k < len(msg):
        form = index.form(msg.raw[k]) if msg.free[k] and msg.raw[k].isalpha() else None
        ids = index.heads.get(form[0]) if form and (not form[1] or len(msg.raw[k]) >= 5) else None
        if not ids:
            k += 1
            continue
        j, ids = k + 1, set(ids)
        while j < len(msg) and msg.free[j] and (nf := index.form(msg.raw[j])) and ids & index.heads.get(nf[0], set()):
            ids &= index.heads[nf[0]]
            j += 1
        start, end = _named_kind(msg, index, k, j)
        if (start, end) != (k, j):  # "thai tea", "kue lumpur": a product of that kind the shop does not sell
            msg.take(start, end)
            msg.unknown_names.append((start, end))
            k = end
            continue
        msg.take(k, j)
        spans.append((k, j, frozenset(ids)))
        k = j
    return spans


# words that say which one of a kind without naming another product: "kopi gede", "roti biasa"
_PLAIN = frozenset("""
gede jumbo biasa ori original reguler spesial special premium enak mantap best terlaris favorit andalan
""".split())


def _named_kind(msg: Message, index: ProductIndex, i: int, j: int) -> tuple[int, int]:
    """The span grown over unknown words right around a product word ("thai tea", "kue lumpur")."""
    def unknown(k: int) -> bool:
        w = msg.raw[k]
        return msg.free[k] and w.isalpha() and len(w) >= 3 and msg.canon[k] == (w,) and w not in KNOWN \
            and w not in NOT_HEAD and w not in _PLAIN and w not in FUNCTION_WORDS and (w,) not in YES \
            and (w,) not in NO and not msg.separators[k] and index.form(w) is None

    if msg.raw[j - 1].endswith("nya"):  # "kopinya": the one already spoken of, not a new kind
        return i, j
    start, end = i, j
    while start > 0 and i - start < 2 and unknown(start - 1):
        start -= 1
    while end < len(msg) and end - j < 2 and unknown(end):
        end += 1
    return start, end


def joined_names(msg: Message, index: ProductIndex, spans):
    """Neighbouring spans that together name one product ("chocolate" + "toast", "roti bakar" + "coklat")."""
    def name_words(product_id: int) -> set[str]:
        return {w for surface in index.surfaces(product_id) for w in words(surface)}

    def said(i: int, j: int) -> set[str]:
        return {form[0] if (form := index.form(w)) else w for w in msg.raw[i:j]}

    merged: list = []
    for i, j, ids in sorted(spans):
        if merged and merged[-1][1] == i:
            a, _, before = merged[-1]
            both = said(a, j)
            ids_both = frozenset(p for p in before | ids if both <= name_words(p))
            if ids_both:
                merged[-1] = (a, j, ids_both)
                continue
        merged.append((i, j, ids))
    return merged


def with_prefixes(msg: Message, index: ProductIndex, spans):
    """Spans grown over a word like "iced" or "hot" just before them; a note when no name of the product has it."""
    grown = []
    for i, j, ids in spans:
        if i > 0 and msg.free[i - 1] and msg.raw[i - 1] in DROPPABLE:
            i -= 1
            msg.take(i, i + 1)
            named = all(any(msg.raw[i] in words(s) for s in index.surfaces(p)) for p in ids)
            if not named:
                msg.prefix_notes.append((i, i + 1))
        grown.append((i, j, ids))
    return grown


_LIKE = frozenset("seperti kayak kaya kyk spt like as".split())


def note_spans(msg: Message, objects: frozenset, alone: frozenset) -> list[tuple[int, int]]:
    """Modifier phrases: [before words] object [after words] ("gak pake es", "gulanya dikit"), or a word alone
    (not after "seperti"/"like": "seperti biasa" is the usual order, not a plain one)."""
    found = []
    k = 0
    while k < len(msg):
        if not msg.free[k] or (k > 0 and msg.raw[k - 1] in _LIKE):
            k += 1
            continue
        start, end = k, None
        while (step := msg.phrase_at(start, NOTE_BEFORE)) and step < len(msg) and start < step:
            if msg.phrase_at(step, objects) or msg.phrase_at(step, NOTE_BEFORE) or msg.phrase_at(step, alone):
                start = step
            else:
                break
        obj = msg.phrase_at(start, alone) or msg.phrase_at(start, objects)
        if obj is None:
            k += 1
            continue
        end = obj
        while end < len(msg) and (more := msg.phrase_at(end, objects)):
            end = more
        after = msg.phrase_at(end, NOTE_AFTER) if end < len(msg) else None
        plain = start == k and after is None and msg.phrase_at(k, alone) is None
        if plain and not (objects is ORDER_NOTE_OBJECTS and k > 0 and msg.raw[k - 1] in ("no", "tanpa")):
            k += 1
            continue
        end = after or end
        msg.take(k, end)
        found.append((k, end))
        k = end
    return found


def item_changes(msg: Message, spans, notes, *, cart: tuple[int, ...], last_product: int | None,
                 expecting: str | None, target: int | None, options: list[OptionSpan] = ()) -> list[ItemChange]:
    """Each product span as a change (add / remove / set) with its quantity and notes; or, with no
    product named, the change the words make to the last product ("tambah 1 lagi", "less sugar ya")."""
    numbers = read_numbers(msg)
    ops: list[tuple[str, int | None]] = []
    for i, j, _ in spans:
        op, quantity = "add", None
        k = j
        while k < len(msg) and msg.raw[k] in ("nya", "yang", "aja", "ya"):
            k += 1
        if k < len(msg) and (end := msg.phrase_at(k, REMOVE_AFTER)):
            op = "remove"
            msg.take(k, end)
        elif k < len(msg) and (end := msg.phrase_at(k, SET_TO)) and end in numbers:
            op, quantity = "set", numbers[end][1]
            msg.take(k, numbers.pop(end)[0])
        else:
            b = i
            while b > 0 and (b - 1 in numbers or msg.raw[b - 1] in QUANTITY_SKIP | {"yang", "the", "my"}):
                b -= 1
            after = j + (j < len(msg) and msg.raw[j] == "nya")
            if after in numbers and (start := msg.phrase_ending(b, SET_BEFORE)) is not None:  # "make the latte 2"
                op, quantity = "set", numbers[after][1]
                msg.take(start, b)
                msg.take(after, numbers.pop(after)[0])
            elif (start := msg.phrase_ending(b, DECREASE)) is not None:
                op = "remove"
                msg.take(start, b)
            elif (start := msg.phrase_ending(b, REMOVE_BEFORE)) is not None:
                op = "remove"
                msg.take(start, b)
        ops.append((op, quantity, op == "add" and _said_again(msg, numbers, i, j)))
    numbers.update(ones(msg, [(i, j) for i, j, _ in spans]))
    notes = sorted(notes + _variants(msg, spans))
    said = quantities(msg, [(i, j) for i, j, _ in spans], numbers,
                      frozenset(k for a, b in notes + msg.prefix_notes + [o[:2] for o in options] for k in range(a, b)))
    if len(spans) == 1 and said[0] is None and ops[0][0] == "add" and len(numbers) == 1 \
            and msg.raw[start := next(iter(numbers))].isdigit():
        said[0] = numbers[start][1]  # "es kopi susu yg hot bisa? 2 ya": the one number is its quantity
        msg.take(start, numbers[start][0])
    _swaps(msg, spans, ops)
    note_of: dict[int, list[str]] = {}
    product_clauses = {msg.clauses[i] for i, _, _ in spans}
    for a, b in msg.prefix_notes:
        note_of.setdefault(next(n for n, (i, _, _) in enumerate(spans) if i == a), []).append(msg.note(a, b))
    for a, b in notes:
        same = [n for n, (i, _, _) in enumerate(spans) if msg.clauses[i] == msg.clauses[a]]
        near = [n for n in same if spans[n][1] <= a][-1:] or [n for n in same if spans[n][0] >= b][:1] or \
            [n for n, (_, j, _) in enumerate(spans) if j <= a][-1:]
        note_of.setdefault(near[0] if near else -1, []).append(msg.note(_for_one(msg, a, product_clauses), b))
    options_of: dict[int, list[str]] = {}
    for a, b, name, before in options:
        near = [n for n, (i, _, _) in enumerate(spans) if i >= b][:1] if before else \
            [n for n, (_, j, _) in enumerate(spans) if j <= a][-1:]
        if near and name not in options_of.get(near[0], ()):
            options_of.setdefault(near[0], []).append(name)
    changes = []
    for n, ((i, j, ids), (op, quantity, again)) in enumerate(zip(spans, ops)):
        if changes and _topping(msg, spans[n - 1][1], i) and op == "add" and said[n] is None:
            # "croissant with chocolate": what the first comes with, not a second product
            changes[-1] = replace(changes[-1], note=_join([*filter(None, [changes[-1].note]), msg.words(i, j)]))
            continue
        product, candidates = _resolve(ids, cart, last_product, op)
        changes.append(ItemChange(op=op, product_id=product, candidates=candidates,
                                  quantity=quantity if op == "set" else said[n], note=_join(note_of.get(n)),
                                  words=msg.words(i, j), again=again, options=tuple(options_of.get(n, ()))))
    changes = _references_merged(changes)
    if len(changes) == 1 and target in cart and _swapped_to(msg, spans[0][0]) \
            and changes[0].op == "add" and changes[0].product_id not in cart:
        changes.insert(0, ItemChange("remove", target))  # the only line, or the last one spoken of
    if spans or target is None:
        return changes
    change = _change_to_last(msg, numbers, notes, target, expecting)
    return [change] if change else []


_AROUND_ONLY = QUANTITY_SKIP | frozenset(NUMBER_WORDS) | {"the", "my", "yang", "yg", "nya"}


def said_only(msg: Message, spans) -> bool:
    """Whether the products are named as all the customer wants: "cuma latte", "just the latte",
    "kopinya aja deh", "2 latte only" (quantities and "the"/"yang"/"nya" may stand between)."""
    def skippable(k: int) -> bool:
        return msg.raw[k] in _AROUND_ONLY or msg.raw[k].isdigit()

    for i, j, _ in spans:
        b = i
        while b > 0 and skippable(b - 1):
            b -= 1
        k = j
        while k < len(msg) and skippable(k):
            k += 1
        if (b > 0 and msg.phrase_ending(b, ONLY_BEFORE) is not None) or \
                (k < len(msg) and msg.phrase_at(k, ONLY_AFTER, free=False)):
            return True
    return False


def _variants(msg: Message, spans) -> list[tuple[int, int]]:
    """Size or variant words right after a product's name ("croissant biasa", "kopsus yang gede"): its notes."""
    found = []
    for _, j, _ in spans:
        k = j
        while k < len(msg) and msg.raw[k] in ("yang", "yg", "ukuran", "size") and msg.free[k]:
            k += 1
        if k < len(msg) and (end := msg.phrase_at(k, VARIANTS)):
            msg.take(j, end)
            found.append((j, end))
    return found


def _said_again(msg: Message, numbers: dict[int, tuple[int, int]], i: int, j: int) -> bool:
    """True when "tambah"/"add"/"another" comes before the product (numbers between) or "lagi"/"more" after it."""
    b = i
    while b > 0 and (b - 1 in numbers or msg.raw[b - 1] in QUANTITY_SKIP):
        b -= 1
    if msg.phrase_ending(b, ADD_MORE) is not None:
        return True
    k = j + (j < len(msg) and msg.raw[j] == "nya")
    if k in numbers:
        k = numbers[k][0]
    return k < len(msg) and msg.phrase_at(k, ADD_MORE) is not None


def _change_to_last(msg: Message, numbers: dict[int, tuple[int, int]], notes: list[tuple[int, int]], target: int,
                    expecting: str | None) -> ItemChange | None:
    """With no product named: "jadi 3", "kurangin 1", "tambah 1 lagi", "3" (to "how many?") or a note alone,
    all about the last product."""
    free_numbers = [(s, e, v) for s, (e, v) in numbers.items() if all(msg.free[s:e])]
    note = _join([msg.note(a, b) for a, b in notes])
    if set_to := [(i, e) for i, e in msg.find(SET_TO, take=False) if e in numbers]:
        start, end = set_to[0][0], numbers[set_to[0][1]][0]
        msg.take(start, end)
        return ItemChange("set", target, quantity=numbers[set_to[0][1]][1], note=note, words=msg.words(start, end))
    decrease = msg.find(DECREASE, take=False)
    if decrease and free_numbers:
        start, end, quantity = free_numbers[0]
        msg.take(*decrease[0])
        msg.take(start, end)
        return ItemChange("remove", target, quantity=quantity, words=msg.words(min(start, decrease[0][0]),
                                                                             max(end, decrease[0][1])))
    more = msg.find(ADD_MORE, take=False)
    if more and not notes:
        last = max([j for _, j in more] + [e for _, e, _ in free_numbers[:1]])
        for i, j in more + [(s, e) for s, e, _ in free_numbers[:1]]:
            msg.take(i, j)
        return ItemChange("add", target, quantity=free_numbers[0][2] if free_numbers else 1,
                          words=msg.words(more[0][0], last), again=True)
    if expecting == "quantity" and free_numbers:
        start, end, quantity = free_numbers[0]
        msg.take(start, end)
        return ItemChange("set", target, quantity=quantity, note=note, words=msg.words(start, end))
    if notes:
        return ItemChange("set", target, note=note, words=note or "")
    return None


_FOR_ONE = (("yang", "satu"), ("yg", "satu"), ("satunya",), ("one", "of", "them"), ("one", "of", "those"))


_COUNTS = frozenset({"1", "2", "3", "satu", "dua", "tiga", "one", "two", "three"})


def _for_one(msg: Message, a: int, product_clauses: set[int]) -> int:
    """Where a note for one or some of several starts ("yg satu less ice"; "2 latte, 1 yang panas"): the
    staff read it with those words. A count in a product's own clause is its quantity ("kopsus 2 less sugar")."""
    said = next((a - len(words) for words in _FOR_ONE if tuple(msg.raw[max(0, a - len(words)):a]) == words), a)
    if said == a:
        k = a - (a > 0 and msg.raw[a - 1] in ("yang", "yg"))
        if k > 0 and msg.raw[k - 1] in _COUNTS and msg.clauses[k - 1] not in product_clauses:
            return k - 1
    return said


def _topping(msg: Message, end: int, start: int) -> bool:
    """Whether only "with"/"pake" stands between two product spans ("croissant with chocolate")."""
    return start == end + 1 and msg.raw[end] in ("with", "pake", "pakai")


def _swapped_to(msg: Message, i: int) -> bool:
    """Whether the product at token i is what the customer swaps to, the old one unnamed ("ganti jadi croissant")."""
    k = i - (i > 0 and msg.raw[i - 1] in ("the", "a", "an", "one", "yang", "yg"))
    middle = msg.phrase_ending(k, SWAP_MIDDLE)  # "jadi", or "ganti jadi" whole
    if middle is None:
        return msg.phrase_ending(k, SWAP_OPEN) is not None
    if msg.phrase_at(middle, SWAP_OPEN) is not None:
        return True
    while middle > 0 and msg.raw[middle - 1] in ("it", "that", "this", "itu", "nya", "aja"):  # "change it to"
        middle -= 1
    return msg.phrase_ending(middle, SWAP_OPEN) is not None


def _references_merged(changes: list[ItemChange]) -> list[ItemChange]:
    """A product added earlier in the message and named again without a quantity ("2 kopsus sama 1 latte,
    yang kopsus less sugar") is that line again: its note joins the line, no new line is added."""
    merged: list[ItemChange] = []
    for change in changes:
        earlier = next((n for n, c in enumerate(merged) if c.op == "add" and change.op == "add"
                        and change.quantity is None and c.product_id is not None
                        and c.product_id == change.product_id), None)
        if earlier is None:
            merged.append(change)
        elif change.note:
            line = merged[earlier]
            merged[earlier] = replace(line, note=_join([n for n in (line.note, change.note) if n]))
    return merged


def _swaps(msg: Message, spans, ops: list[tuple[str, int | None]]) -> None:
    """"ganti croissant jadi banana bread", "croissantnya diganti banana bread": remove the first, add the second."""
    for n in range(len(spans) - 1):
        (_, a_end, _), (b_start, _, _) = spans[n][:3], spans[n + 1][:3]
        k = a_end
        while k < b_start and msg.raw[k] in ("nya", "aja", "yang"):
            k += 1
        middle = msg.phrase_at(k, SWAP_MIDDLE) if k < b_start else None
        while middle is not None and middle < b_start and msg.raw[middle] in ("a", "an", "the", "yang", "yg"):
            middle += 1
        start = spans[n][0] - (spans[n][0] > 0 and msg.raw[spans[n][0] - 1] in ("the", "my", "yang", "yg"))
        opener = msg.phrase_ending(start, SWAP_OPEN)
        if middle == b_start and (opener is not None or msg.phrase_at(k, SWAP_OPEN)):
            ops[n] = ("remove", None, False)
            msg.take(k, b_start)
            if opener is not None:
                msg.take(opener, start)


def _resolve(ids: frozenset[int], cart, last_product, op) -> tuple[int | None, tuple[int, ...]]:
    """One product, or none and the candidates; the cart decides between candidates it holds one of."""
    if len(ids) == 1:
        return next(iter(ids)), ()
    held = [p for p in cart if p in ids]
    if len(set(held)) == 1:
        return held[0], ()
    if op != "add" and last_product in ids:
        return last_product, ()
    return None, tuple(sorted(ids))


def _join(notes: list[str] | None) -> str | None:
    return ", ".join(notes) if notes else None


def unknown_phrases(msg: Message, expecting: str | None, spans) -> tuple[str, ...]:
    """Product-like phrases left over after a quantity or an order verb ("2 burger vegan"), or as the answer
    to "what would you like?"."""
    numbers = read_numbers(msg)
    starts = set()
    for k in range(len(msg)):
        if not msg.free[k]:
            continue
        if k in numbers:
            starts.add(numbers[k][0])
        elif verb_end := msg.phrase_at(k, ORDER_VERBS, free=False):
            starts.add(verb_end)
        elif k > 0 and msg.is_separator(k) and any(j == k for _, j, _ in spans):
            starts.add(k + 1)
    if expecting == "item" and not spans:
        starts.add(0)
    phrases = [msg.words(i, j) for i, j in msg.unknown_names]
    for start in sorted(starts):
        k = start
        while k < len(msg) and msg.free[k] and (msg.raw[k] in QUANTITY_SKIP or msg.raw[k] in ("a", "an")):
            k += 1
        while k < len(msg) and msg.free[k] and all(w in FUNCTION_WORDS for w in msg.canon[k]) \
                and not msg.is_separator(k) and start == 0:
            k += 1
        end = k
        while end < len(msg) and msg.free[end] and not msg.is_separator(end) and msg.raw[end].isalpha() \
                and not all(w in FUNCTION_WORDS for w in msg.canon[end]) and end - k < 4:
            end += 1
        if end > k:
            phrases.append(msg.words(k, end))
            msg.take(k, end)
    first: dict[str, str] = {}  # "kue lumpur" asked about, then ordered: named back once
    for phrase in phrases:
        first.setdefault(phrase.lower(), phrase)
    return tuple(first.values())
