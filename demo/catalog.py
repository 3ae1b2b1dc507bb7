"""The deterministic demo catalog, generated product by product from the vocabulary in catalog.json.

Nothing here touches the network or the database (``demo.load`` inserts the result). All randomness
comes from ``random.Random`` instances with fixed seeds, and products are generated one after another,
so ``iter_products(n)`` is the same in every process and its first ``k`` products are exactly
``iter_products(k)``. Products are yielded one at a time: a million of them never sit in memory.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

VOCABULARY = Path(__file__).with_name("catalog.json")


@dataclass(frozen=True)
class SeedCategory:
    slug: str
    name: str
    parent_slug: str | None
    position: int


# (attribute slug, value name): what a product or variant carries of the demo attributes.
SeedAttribute = tuple[str, str]


@dataclass(frozen=True)
class SeedVariant:
    sku: str
    name: str
    price: int
    stock: int
    position: int
    attributes: tuple[SeedAttribute, ...] = ()


@dataclass(frozen=True)
class SeedImage:
    url: str
    alt: str | None


@dataclass(frozen=True)
class SeedProduct:
    slug: str
    name: str
    description: str
    category_slug: str
    images: tuple[SeedImage, ...]
    created_at: datetime
    variants: tuple[SeedVariant, ...]
    attributes: tuple[SeedAttribute, ...] = ()


# (variant name, SKU suffix, price in percent of the product's base price)
_Option = tuple[str, str, int]


@dataclass(frozen=True)
class _Noun:
    label: str
    low: int  # whole currency units
    high: int
    kind: str  # a key of option_tables, or "single" / "colour" / "size_colour" / "shoe_colour"
    features: tuple[str, ...] = ()
    materials: tuple[str, ...] = ()
    adjectives: tuple[str, ...] | None = None  # overrides the category's adjectives


@dataclass(frozen=True)
class _CategorySpec:
    slug: str
    name: str
    parent: str | None
    code: str  # SKU prefix
    weight: int  # share of products
    brands: tuple[str, ...]
    adjectives: tuple[str, ...]
    nouns: tuple[_Noun, ...]
    palette: tuple[str, ...] = ()
    features: tuple[str, ...] = ()  # used when a noun has none
    closers: tuple[str, ...] = ()
    intros: tuple[str, ...] = ()  # overrides generic_intros


@dataclass(frozen=True)
class _Vocabulary:
    seed: int
    base_time: datetime
    image_host: str
    min_price: int
    max_price: int
    out_of_stock_rate: float
    proper_words: tuple[str, ...]
    colour_codes: dict[str, str]
    option_tables: dict[str, tuple[_Option, ...]]
    shoe_sizes: tuple[_Option, ...]
    generic_intros: tuple[str, ...]
    material_lines: tuple[str, ...]
    categories: tuple[_CategorySpec, ...] = field(repr=False)


def _tuples(value: Any) -> Any:
    return tuple(_tuples(item) for item in value) if isinstance(value, list) else value


@cache
def vocabulary() -> _Vocabulary:
    raw = json.loads(VOCABULARY.read_text(encoding="utf-8"))
    raw.pop("_comment", None)
    categories = tuple(
        _CategorySpec(
            **{key: _tuples(value) for key, value in spec.items() if key != "nouns"},
            nouns=tuple(
                _Noun(**{key: _tuples(value) for key, value in noun.items()}) for noun in spec["nouns"]
            ),
        )
        for spec in raw.pop("categories")
    )
    return _Vocabulary(
        **{key: _tuples(value) for key, value in raw.items() if key not in ("base_time", "option_tables")},
        base_time=datetime.fromisoformat(raw["base_time"]),
        option_tables={kind: _tuples(options) for kind, options in raw["option_tables"].items()},
        categories=categories,
    )


def seed_categories() -> tuple[SeedCategory, ...]:
    """Top-level categories first, then their children, with positions among their siblings."""
    specs = vocabulary().categories
    ordered = [spec for spec in specs if spec.parent is None]
    ordered += [spec for spec in specs if spec.parent is not None]
    positions: dict[str | None, int] = {}
    result: list[SeedCategory] = []
    for spec in ordered:
        position = positions.get(spec.parent, 0)
        positions[spec.parent] = position + 1
        result.append(
            SeedCategory(slug=spec.slug, name=spec.name, parent_slug=spec.parent, position=position)
        )
    return tuple(result)


def iter_products(product_count: int) -> Iterator[SeedProduct]:
    """The demo catalog's first ``product_count`` products (the same on every call), one at a time."""
    if product_count < 1:
        raise ValueError("product_count must be at least 1")
    generator = _Generator(vocabulary())
    for _ in range(product_count):
        yield generator.next_product()


_Combo = tuple[str, str | None, _Noun]
_T = TypeVar("_T")


class _Generator:
    """Produces products one at a time; product i depends only on products 0..i-1."""

    def __init__(self, words: _Vocabulary) -> None:
        self._words = words
        self._rng = random.Random(words.seed)
        self._schedule = _category_schedule(words)
        self._combos: dict[int, list[_Combo]] = {}
        self._cursor: dict[int, int] = {}
        self._names: set[str] = set()  # membership tests only; never iterated
        self._slugs: set[str] = set()
        self._index = 0

    def next_product(self) -> SeedProduct:
        i = self._index
        self._index += 1
        rng, words = self._rng, self._words
        spec_index = self._schedule[i % len(self._schedule)]
        spec = words.categories[spec_index]
        brand, _, noun, name = self._unique_name(spec_index)
        slug = self._unique_slug(_slugify(name))
        description, material = _description(words, rng, spec, brand, noun, name)
        return SeedProduct(
            slug=slug,
            name=name,
            description=description,
            category_slug=spec.slug,
            images=_images(words, rng, slug, name),
            created_at=words.base_time + timedelta(hours=i),
            variants=_variants(words, rng, spec, noun, f"{spec.code}-{i + 1:04d}"),
            attributes=(("brand", brand),) + ((("material", material),) if material else ()),
        )

    def _unique_name(self, spec_index: int) -> tuple[str, str | None, _Noun, str]:
        combos = self._combos.get(spec_index)
        if combos is None:
            combos = self._combos[spec_index] = _category_combos(self._words, spec_index)
        while True:
            cursor = self._cursor.get(spec_index, 0)
            self._cursor[spec_index] = cursor + 1
            brand, adjective, noun = combos[cursor % len(combos)]
            edition = cursor // len(combos)
            name = " ".join(part for part in (brand, adjective, noun.label) if part)
            if edition:
                name = f"{name} {_roman(edition + 1)}"
            if name.lower() not in self._names:
                self._names.add(name.lower())
                return brand, adjective, noun, name

    def _unique_slug(self, base: str) -> str:
        slug, counter = base, 1
        while slug in self._slugs:
            counter += 1
            slug = f"{base}-{counter}"
        self._slugs.add(slug)
        return slug


def _category_schedule(words: _Vocabulary) -> list[int]:
    """A fixed, shuffled cycle of category indexes weighted by share; the first entry is Audio."""
    schedule = [index for index, spec in enumerate(words.categories) for _ in range(spec.weight)]
    random.Random(words.seed + 1).shuffle(schedule)
    audio = next(index for index, spec in enumerate(words.categories) if spec.slug == "audio")
    first_audio = schedule.index(audio)
    schedule[0], schedule[first_audio] = schedule[first_audio], schedule[0]
    return schedule


def _category_combos(words: _Vocabulary, spec_index: int) -> list[_Combo]:
    """Every (brand, adjective, noun) name of a category in a fixed shuffled order."""
    spec = words.categories[spec_index]
    combos: list[_Combo] = []
    for noun in spec.nouns:
        noun_words = noun.label.lower().replace("-", " ").split()
        adjectives = spec.adjectives if noun.adjectives is None else noun.adjectives
        for brand in spec.brands:
            for adjective in (None, *adjectives):
                if adjective is not None and adjective.lower() in noun_words:
                    continue
                combos.append((brand, adjective, noun))
    random.Random(words.seed + 100 + spec_index).shuffle(combos)
    if spec.slug == "audio":
        # The very first product of every catalog is a "Bluetooth Speaker" (search tests rely on it).
        first = next(
            k
            for k, (b, a, n) in enumerate(combos)
            if b == "Aurora" and a is None and n.label == "Bluetooth Speaker"
        )
        combos.insert(0, combos.pop(first))
    return combos


def _variants(
    words: _Vocabulary, rng: random.Random, spec: _CategorySpec, noun: _Noun, sku_base: str
) -> tuple[SeedVariant, ...]:
    low, high = noun.low * 100, noun.high * 100
    base = min(rng.randint(low, high), rng.randint(low, high))  # skewed towards the cheaper end
    options = _pick_options(words, rng, spec, noun)
    if noun.kind == "colour" and len(options) > 1 and rng.random() < 0.2:
        name, code, percent = options[-1]
        options[-1] = (name, code, percent + 10)  # a premium finish
    variants: list[SeedVariant] = []
    for position, (name, code, percent) in enumerate(options):
        stock = 0 if rng.random() < words.out_of_stock_rate else rng.randint(1, 200)
        variants.append(
            SeedVariant(
                sku=f"{sku_base}-{code}",
                name=name,
                price=_retail_price(words, base * percent // 100),
                stock=stock,
                position=position,
                attributes=_option_attributes(noun.kind, name),
            )
        )
    return tuple(variants)


def _option_attributes(kind: str, option: str) -> tuple[SeedAttribute, ...]:
    """A variant's colour and size, read off its option name ('Medium / Navy', 'EU 38 / Black', 'Red')."""
    if kind == "colour":
        return (("colour", option),)
    if kind in ("size_colour", "shoe_colour"):
        size, _, colour = option.partition(" / ")
        return (("size", size), ("colour", colour))
    return ()


def seed_attributes() -> dict[str, tuple[str, str, tuple[str, ...]]]:
    """The demo attributes: slug -> (name, input type, value names in order)."""
    words = vocabulary()
    brands = dict.fromkeys(brand for spec in words.categories for brand in spec.brands if brand)
    materials = dict.fromkeys(
        material for spec in words.categories for noun in spec.nouns for material in noun.materials
    )
    sizes = dict.fromkeys(name for name, _, _ in (*words.option_tables["size"], *words.shoe_sizes))
    return {
        "brand": ("Brand", "DROPDOWN", tuple(brands)),
        "colour": ("Colour", "SWATCH", tuple(words.colour_codes)),
        "size": ("Size", "DROPDOWN", tuple(sizes)),
        "material": ("Material", "MULTISELECT", tuple(materials)),
    }


def value_slug(name: str) -> str:
    return _slugify(name)


def _pick_options(words: _Vocabulary, rng: random.Random, spec: _CategorySpec, noun: _Noun) -> list[_Option]:
    if noun.kind == "single":
        return [("Default", "STD", 100)]
    count = rng.choices((1, 2, 3, 4), weights=(25, 30, 25, 20))[0]
    codes = words.colour_codes
    if noun.kind == "colour":
        return [(colour, codes[colour], 100) for colour in _sample_in_order(rng, spec.palette, count)]
    if noun.kind in ("size_colour", "shoe_colour"):
        sizes_table = words.option_tables["size"] if noun.kind == "size_colour" else words.shoe_sizes
        if count == 2:
            shape = rng.choice(((2, 1), (1, 2)))  # two sizes of one colour, or one size in two colours
        elif count == 4:
            shape = rng.choice(((4, 1), (2, 2)))
        else:
            shape = (count, 1)
        sizes = _sample_in_order(rng, sizes_table, shape[0])
        colours = _sample_in_order(rng, spec.palette, shape[1])
        return [
            (f"{size_name} / {colour}", f"{size_code}-{codes[colour]}", percent)
            for colour in colours
            for size_name, size_code, percent in sizes
        ]
    return _sample_in_order(rng, words.option_tables[noun.kind], count)


def _sample_in_order(rng: random.Random, items: tuple[_T, ...], count: int) -> list[_T]:
    picked = sorted(rng.sample(range(len(items)), min(count, len(items))))
    return [items[k] for k in picked]


def _retail_price(words: _Vocabulary, cents: int) -> int:
    """Round to a shop-like price ending in 99 (4.49/4.99 below ten), within [min_price, max_price]."""
    if cents < 1_000:
        price = (cents + 25) // 50 * 50 - 1
    elif cents < 10_000:
        price = (cents + 50) // 100 * 100 - 1
    else:
        price = (cents + 250) // 500 * 500 - 1
    return max(words.min_price, min(words.max_price, price))


def _description(
    words: _Vocabulary, rng: random.Random, spec: _CategorySpec, brand: str, noun: _Noun, name: str
) -> tuple[str, str | None]:
    """The description, and the material it names (if any)."""
    features = noun.features or spec.features
    f1, f2 = rng.sample(features, 2)
    plural = noun.label.endswith("s")
    forms = {
        "name": name,
        "Name": name,
        "brand": brand,
        "noun": _mid_sentence(words, noun.label),
        "f1": f1,
        "f2": f2,
        "s": "" if plural else "s",
        "is": "are" if plural else "is",
        "it": "they" if plural else "it",
        "It": "They" if plural else "It",
        "this": "these" if plural else "this",
        "This": "These" if plural else "This",
    }
    sentences = [rng.choice(spec.intros or words.generic_intros).format(**forms)]
    material = None
    if noun.materials and rng.random() < 0.6:
        material = forms["material"] = rng.choice(noun.materials)
        sentences.append(rng.choice(words.material_lines).format(**forms))
    if spec.closers and rng.random() < 0.55:
        sentences.append(rng.choice(spec.closers))
    return " ".join(sentence[0].upper() + sentence[1:] for sentence in sentences), material


def _images(words: _Vocabulary, rng: random.Random, slug: str, name: str) -> tuple[SeedImage, ...]:
    count = rng.choices((1, 2, 3), weights=(3, 4, 3))[0]
    alts: tuple[str | None, ...] = (
        name,
        f"{name}, detail view",
        None if rng.random() < 0.5 else f"{name} in use",
    )
    return tuple(SeedImage(url=f"{words.image_host}/{slug}/{k + 1}.jpg", alt=alts[k]) for k in range(count))


def _mid_sentence(words: _Vocabulary, label: str) -> str:
    """'Three-Seater Sofa' -> 'three-seater sofa', keeping acronyms and proper words ('USB-C hub')."""
    result = []
    for word in label.split():
        if word in words.proper_words:
            result.append(word)
            continue
        parts = [
            part if part.isupper() or not part[:1].isupper() else part.lower() for part in word.split("-")
        ]
        result.append("-".join(parts))
    return " ".join(result)


def _slugify(text: str) -> str:
    text = text.lower().replace("'", "").replace("&", "and")
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-")


_NUMERALS = (
    (1000, "M"), (900, "CM"), (500, "D"), (400, "CD"), (100, "C"), (90, "XC"), (50, "L"),
    (40, "XL"), (10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I"),
)  # fmt: skip


def _roman(number: int) -> str:
    result = []
    for value, numeral in _NUMERALS:
        while number >= value:
            result.append(numeral)
            number -= value
    return "".join(result)
