"""Deterministic demo catalog: categories, products, variants and images as plain data.

Nothing here touches the network or the database (``models.seed`` inserts the result). All randomness
comes from ``random.Random`` instances with fixed seeds, and products are generated one after another,
so ``generate_catalog(n)`` is identical in every process and its first ``k`` products are exactly
``generate_catalog(k)``.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TypeVar

__all__ = [
    "SeedCatalog",
    "SeedCategory",
    "SeedImage",
    "SeedProduct",
    "SeedVariant",
    "generate_catalog",
]


@dataclass(frozen=True)
class SeedCategory:
    slug: str
    name: str
    parent_slug: str | None
    position: int


@dataclass(frozen=True)
class SeedVariant:
    sku: str
    name: str
    price: int
    stock: int
    position: int


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


@dataclass(frozen=True)
class SeedCatalog:
    categories: tuple[SeedCategory, ...]
    products: tuple[SeedProduct, ...]


SEED = 20260101
BASE_TIME = datetime(2026, 1, 1, tzinfo=UTC)
IMAGE_HOST = "https://images.example-shop.test/products"
MIN_PRICE = 299
MAX_PRICE = 249_999
OUT_OF_STOCK_RATE = 0.1

# --------------------------------------------------------------------------------------------------
# Vocabulary
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Noun:
    label: str
    low: int  # whole currency units
    high: int
    kind: str  # a key of _OPTION_TABLES, or "single" / "colour" / "size_colour" / "shoe_colour"
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
    intros: tuple[str, ...] = ()  # overrides _GENERIC_INTROS


_COLOUR_CODES: dict[str, str] = {
    "Black": "BLK",
    "White": "WHT",
    "Silver": "SLV",
    "Graphite": "GRA",
    "Midnight": "MID",
    "Navy": "NVY",
    "Blue": "BLU",
    "Red": "RED",
    "Green": "GRN",
    "Olive": "OLV",
    "Sage": "SAG",
    "Sand": "SND",
    "Grey": "GRY",
    "Charcoal": "CHR",
    "Pink": "PNK",
    "Yellow": "YEL",
    "Orange": "ORG",
    "Teal": "TEL",
    "Burgundy": "BUR",
    "Cream": "CRM",
    "Brown": "BRN",
    "Purple": "PUR",
    "Terracotta": "TER",
    "Natural": "NAT",
    "Stone": "STN",
    "Tan": "TAN",
}

# (variant name, SKU suffix, price in percent of the product's base price)
_Option = tuple[str, str, int]

_APPAREL_SIZES: tuple[_Option, ...] = (
    ("XS", "XS", 100),
    ("Small", "S", 100),
    ("Medium", "M", 100),
    ("Large", "L", 100),
    ("X-Large", "XL", 100),
    ("XX-Large", "XXL", 105),
)
_SHOE_SIZES: tuple[_Option, ...] = tuple((f"EU {size}", str(size), 100) for size in range(37, 47))

_OPTION_TABLES: dict[str, tuple[_Option, ...]] = {
    "size": _APPAREL_SIZES,
    "scent": (
        ("Fig & Cedar", "FIG", 100),
        ("Sea Salt", "SEA", 100),
        ("Amber & Oud", "AMB", 110),
        ("Lavender", "LAV", 100),
        ("Wild Mint", "MNT", 100),
    ),
    "phone_storage": (
        ("128 GB", "128", 100),
        ("256 GB", "256", 115),
        ("512 GB", "512", 138),
        ("1 TB", "1TB", 170),
    ),
    "pc_storage": (
        ("256 GB", "256", 100),
        ("512 GB", "512", 112),
        ("1 TB", "1TB", 130),
        ("2 TB", "2TB", 165),
    ),
    "ssd": (("500 GB", "500", 100), ("1 TB", "1TB", 150), ("2 TB", "2TB", 240), ("4 TB", "4TB", 420)),
    "screen": (
        ("24-inch", "24", 100),
        ("27-inch", "27", 130),
        ("32-inch", "32", 175),
        ("34-inch", "34", 210),
    ),
    "format": (
        ("Paperback", "PB", 100),
        ("Hardcover", "HC", 170),
        ("E-book", "EB", 65),
        ("Audiobook", "AB", 145),
    ),
    "weight": (("250 g", "250G", 100), ("500 g", "500G", 185), ("1 kg", "1KG", 340), ("2 kg", "2KG", 620)),
    "volume": (
        ("15 ml", "15ML", 100),
        ("30 ml", "30ML", 170),
        ("50 ml", "50ML", 250),
        ("100 ml", "100ML", 420),
    ),
    "bottle": (("250 ml", "250ML", 100), ("500 ml", "500ML", 180), ("1 L", "1L", 320), ("3 L", "3L", 820)),
    "bed": (("Single", "SGL", 100), ("Double", "DBL", 130), ("King", "KNG", 155), ("Super King", "SKG", 175)),
    "size3": (("Small", "S", 100), ("Medium", "M", 140), ("Large", "L", 190), ("Extra Large", "XL", 250)),
    "pack": (("Single", "1PK", 100), ("2-Pack", "2PK", 190), ("4-Pack", "4PK", 360), ("6-Pack", "6PK", 520)),
    "finish": (
        ("Natural", "NAT", 100),
        ("Smoked", "SMK", 108),
        ("Whitewashed", "WWH", 104),
        ("Black Stained", "BKS", 104),
    ),
    "pan": (("20 cm", "20CM", 100), ("24 cm", "24CM", 115), ("28 cm", "28CM", 130), ("32 cm", "32CM", 150)),
    "kettlebell": (
        ("8 kg", "8KG", 100),
        ("12 kg", "12KG", 135),
        ("16 kg", "16KG", 170),
        ("24 kg", "24KG", 240),
    ),
    "dumbbell": (("2 x 5 kg", "5KG", 100), ("2 x 10 kg", "10KG", 170), ("2 x 15 kg", "15KG", 240)),
    "blanket": (("5 kg", "5KG", 100), ("7 kg", "7KG", 115), ("9 kg", "9KG", 130)),
    "pieces": (("500 pieces", "500", 100), ("1000 pieces", "1000", 125), ("1500 pieces", "1500", 150)),
    "blocks": (("120 pieces", "120", 100), ("250 pieces", "250", 170), ("500 pieces", "500", 290)),
    "hose": (("15 m", "15M", 100), ("25 m", "25M", 140), ("30 m", "30M", 160), ("50 m", "50M", 240)),
    "litres": (("30 L", "30L", 100), ("45 L", "45L", 120), ("65 L", "65L", 145)),
    "petfood": (("2 kg", "2KG", 100), ("6 kg", "6KG", 240), ("12 kg", "12KG", 420)),
}

_DEVICE_PALETTE = ("Black", "White", "Graphite", "Silver", "Blue")
_HOME_PALETTE = ("Cream", "Sage", "Terracotta", "Charcoal", "Natural", "Stone", "Navy")
_APPAREL_PALETTE = ("Black", "Navy", "White", "Olive", "Sand", "Burgundy", "Grey", "Charcoal", "Blue")
_CLOTHING_BRANDS = ("Northbound", "Fable", "Marlow", "Kinward", "Loomis", "Bristol", "Harbour", "Wren")

_GENERIC_INTROS = (
    "The {name} combine{s} {f1} with {f2}.",
    "Designed for everyday use, the {name} feature{s} {f1} and {f2}.",
    "{This} {noun} pair{s} {f1} with {f2}.",
    "The {name} offer{s} {f1}, along with {f2}.",
)
_MATERIAL_LINES = (
    "{It} {is} made from {material}.",
    "The {noun} {is} crafted from {material} to last for years.",
    "Built from {material}, {it} {is} designed to last.",
)

_CATEGORIES: tuple[_CategorySpec, ...] = (
    # ---------------------------------------------------------------------------------- Electronics
    _CategorySpec(
        slug="electronics",
        name="Electronics",
        parent=None,
        code="ELE",
        weight=2,
        brands=("Voltix", "Nexa", "Lumen", "Corvo", "Helix", "Zentra", "Arcwave", "Polaris"),
        adjectives=("Compact", "Slim", "Pro", "Ultra", "Travel", "Rapid", "Smart"),
        palette=_DEVICE_PALETTE,
        nouns=(
            _Noun(
                "Power Bank",
                25,
                89,
                "colour",
                (
                    "a 20,000 mAh battery",
                    "USB-C Power Delivery fast charging",
                    "a pass-through charging mode",
                ),
                ("recycled aluminium", "flame-retardant polycarbonate"),
            ),
            _Noun(
                "Wireless Charger",
                19,
                69,
                "colour",
                (
                    "Qi-certified 15 W fast charging",
                    "a non-slip silicone surface",
                    "foreign-object detection",
                ),
                ("soft-touch recycled plastic", "anodised aluminium"),
            ),
            _Noun(
                "USB-C Hub",
                29,
                99,
                "colour",
                (
                    "4K HDMI output",
                    "two USB-A 3.2 ports and an SD card reader",
                    "100 W pass-through charging",
                ),
                ("anodised aluminium",),
            ),
            _Noun(
                "Smart Plug",
                12,
                39,
                "pack",
                ("energy-usage monitoring", "scheduling from the companion app", "voice-assistant support"),
                ("flame-retardant polycarbonate",),
            ),
            _Noun(
                "HDMI Cable",
                8,
                29,
                "pack",
                ("support for 4K at 120 Hz", "a braided nylon jacket", "gold-plated connectors"),
                ("oxygen-free copper and braided nylon",),
            ),
            _Noun(
                "Surge Protector",
                19,
                59,
                "single",
                ("six grounded outlets", "two USB-C charging ports", "a 2,400-joule surge rating"),
                ("flame-retardant polycarbonate",),
            ),
            _Noun(
                "Streaming Stick", 29, 79, "single", ("4K HDR playback", "a voice remote", "dual-band Wi-Fi")
            ),
        ),
        closers=(
            "Backed by a two-year limited warranty.",
            "Ships in plastic-free, fully recyclable packaging.",
            "Certified to international electrical safety standards.",
        ),
    ),
    _CategorySpec(
        slug="audio",
        name="Audio",
        parent="electronics",
        code="AUD",
        weight=3,
        brands=("Aurora", "Sonique", "Resonant", "Tidal", "Harmonix", "Cadence", "Northwave", "Basswood"),
        adjectives=("Portable", "Wireless", "Compact", "Pro", "Mini", "Rugged", "Classic"),
        palette=("Black", "White", "Midnight", "Sage", "Red", "Blue", "Sand", "Graphite"),
        nouns=(
            _Noun(
                "Bluetooth Speaker",
                29,
                249,
                "colour",
                (
                    "up to 24 hours of battery life",
                    "an IP67 waterproof and dustproof rating",
                    "rich 360-degree sound",
                    "a party mode for linking a second speaker",
                ),
                ("acoustic-grade recycled fabric", "anodised aluminium and rubberised silicone"),
            ),
            _Noun(
                "Wireless Headphones",
                59,
                399,
                "colour",
                (
                    "active noise cancellation",
                    "40 mm dynamic drivers",
                    "up to 30 hours of playback",
                    "plush memory-foam ear cushions",
                ),
                ("lightweight aluminium and vegan leather",),
            ),
            _Noun(
                "True Wireless Earbuds",
                39,
                279,
                "colour",
                (
                    "a pocket-sized charging case",
                    "intuitive touch controls",
                    "an IPX4 sweat-resistant design",
                    "active noise cancellation",
                ),
            ),
            _Noun(
                "Soundbar",
                99,
                899,
                "colour",
                (
                    "Dolby Atmos support",
                    "a wireless subwoofer",
                    "HDMI eARC connectivity",
                    "a dedicated dialogue mode",
                ),
                ("acoustic fabric and brushed aluminium",),
            ),
            _Noun(
                "Turntable",
                149,
                999,
                "colour",
                ("a belt-driven platter", "a switchable built-in phono preamp", "an aluminium tonearm"),
                ("sustainably sourced walnut veneer", "dense MDF and aluminium"),
            ),
            _Noun(
                "Smart Speaker",
                49,
                299,
                "colour",
                ("a built-in voice assistant", "far-field microphones", "multi-room audio"),
                ("acoustic-grade recycled fabric",),
            ),
            _Noun(
                "Headphone Amplifier",
                99,
                599,
                "single",
                ("a 32-bit/384 kHz DAC", "a balanced 4.4 mm output", "a precision volume knob"),
                ("a machined aluminium chassis",),
                ("Desktop", "Pro", "Studio", "Compact", "Reference"),
            ),
            _Noun(
                "Studio Monitors",
                199,
                1299,
                "colour",
                ("a flat, detailed frequency response", "front-facing bass ports", "balanced XLR inputs"),
                ("damped MDF cabinets",),
                ("Active", "Pro", "Reference", "Compact"),
            ),
        ),
        closers=(
            "Backed by a two-year limited warranty.",
            "Pairs instantly with phones, tablets and laptops.",
            "Firmware updates are delivered through the companion app.",
        ),
    ),
    _CategorySpec(
        slug="computers",
        name="Computers",
        parent="electronics",
        code="CMP",
        weight=3,
        brands=("Quanta", "Vertex", "Nimbus", "Axiom", "Corelane", "Bitforge", "Meridian", "Orbis"),
        adjectives=("Pro", "Air", "Slim", "Ultra", "Creator", "Gaming", "Business"),
        palette=_DEVICE_PALETTE,
        nouns=(
            _Noun(
                "Laptop",
                499,
                1999,
                "pc_storage",
                (
                    "a 14-inch 2.8K OLED display",
                    "up to 18 hours of battery life",
                    "a backlit keyboard",
                    "Wi-Fi 6E and two Thunderbolt ports",
                ),
                ("machined aluminium", "a recycled magnesium alloy"),
            ),
            _Noun(
                "Desktop PC",
                599,
                1799,
                "pc_storage",
                (
                    "a 12-core processor",
                    "a dedicated graphics card",
                    "tool-free upgrade access",
                    "whisper-quiet cooling",
                ),
            ),
            _Noun(
                "Monitor",
                149,
                799,
                "screen",
                (
                    "a 4K IPS panel",
                    "a height-adjustable stand",
                    "USB-C with 90 W charging",
                    "factory colour calibration",
                ),
            ),
            _Noun(
                "Mechanical Keyboard",
                59,
                229,
                "colour",
                ("hot-swappable switches", "PBT double-shot keycaps", "per-key RGB lighting"),
                ("a CNC-machined aluminium case",),
            ),
            _Noun(
                "Wireless Mouse",
                19,
                129,
                "colour",
                (
                    "a 26,000 DPI optical sensor",
                    "up to 70 days of battery life",
                    "an ergonomic sculpted shape",
                ),
                ("textured recycled plastic",),
            ),
            _Noun(
                "External SSD",
                59,
                249,
                "ssd",
                ("read speeds up to 2,000 MB/s", "a drop-resistant rubberised shell", "hardware encryption"),
                ("anodised aluminium",),
            ),
            _Noun(
                "Webcam",
                39,
                199,
                "single",
                ("1080p video at 60 fps", "dual noise-reducing microphones", "a built-in privacy shutter"),
            ),
        ),
        closers=(
            "Backed by a two-year limited warranty.",
            "Compatible with Windows, macOS and Linux.",
            "Ships with the latest firmware preinstalled.",
        ),
    ),
    _CategorySpec(
        slug="phones-tablets",
        name="Phones & Tablets",
        parent="electronics",
        code="PHN",
        weight=2,
        brands=("Pixelon", "Zephyr", "Orion", "Kaito", "Lumio", "Strata", "Vanta", "Juno"),
        adjectives=("Pro", "Lite", "Max", "Plus", "Mini", "Edge"),
        palette=("Black", "White", "Midnight", "Blue", "Green", "Pink", "Silver"),
        nouns=(
            _Noun(
                "Smartphone",
                199,
                1199,
                "phone_storage",
                (
                    "a 6.7-inch 120 Hz AMOLED display",
                    "a 50 MP triple camera system",
                    "all-day battery life",
                    "5G connectivity",
                ),
                ("recycled aluminium and toughened glass",),
            ),
            _Noun(
                "Tablet",
                149,
                999,
                "phone_storage",
                (
                    "an 11-inch 2.5K display",
                    "support for a magnetic stylus",
                    "quad stereo audio",
                    "a fast-charging 8,000 mAh battery",
                ),
                ("recycled aluminium",),
            ),
            _Noun(
                "Phone Case",
                12,
                49,
                "colour",
                (
                    "raised edges that protect the screen and camera",
                    "built-in magnets for wireless charging",
                    "a shock-absorbing frame",
                ),
                ("recycled TPU and polycarbonate", "vegetable-tanned leather"),
            ),
            _Noun(
                "Screen Protector",
                9,
                29,
                "pack",
                ("9H tempered glass", "a fingerprint-resistant coating", "a bubble-free installation frame"),
            ),
            _Noun(
                "Smartwatch",
                99,
                499,
                "colour",
                ("heart-rate and blood-oxygen monitoring", "built-in GPS", "up to 7 days of battery life"),
                ("a titanium case and sapphire glass", "lightweight aluminium"),
            ),
            _Noun(
                "Stylus Pen",
                29,
                129,
                "colour",
                ("4,096 levels of pressure sensitivity", "palm rejection", "magnetic charging"),
            ),
            _Noun(
                "Car Phone Mount",
                15,
                49,
                "single",
                ("a one-handed release", "a strong magnetic grip", "a 360-degree rotating head"),
            ),
        ),
        closers=(
            "Backed by a one-year limited warranty.",
            "Ships in fully recyclable packaging.",
        ),
    ),
    _CategorySpec(
        slug="cameras",
        name="Cameras",
        parent="electronics",
        code="CAM",
        weight=1,
        brands=("Optiq", "Kestrel", "Halide", "Lumora", "Focal", "Prism", "Reflex", "Vantage"),
        adjectives=("Pro", "Compact", "Travel", "Classic", "Elite", "Explorer"),
        palette=("Black", "Silver", "Graphite", "Olive", "Sand"),
        nouns=(
            _Noun(
                "Mirrorless Camera",
                499,
                2299,
                "colour",
                ("a 24 MP full-frame sensor", "5-axis in-body stabilisation", "4K 60p video recording"),
                ("a weather-sealed magnesium alloy",),
            ),
            _Noun(
                "Action Camera",
                149,
                499,
                "single",
                (
                    "5.3K video",
                    "waterproofing to 10 metres without a housing",
                    "horizon-levelling stabilisation",
                ),
            ),
            _Noun(
                "Prime Lens",
                199,
                1499,
                "single",
                ("a fast f/1.8 aperture", "a quiet stepping autofocus motor", "weather-sealed construction"),
                ("a metal barrel and precision-ground glass",),
            ),
            _Noun(
                "Tripod",
                39,
                299,
                "colour",
                (
                    "quick-release leg locks",
                    "a ball head with an Arca-Swiss plate",
                    "a maximum height of 160 cm",
                ),
                ("carbon fibre", "lightweight aluminium"),
            ),
            _Noun(
                "Camera Bag",
                49,
                199,
                "colour",
                ("customisable padded dividers", "a weatherproof shell", "quick side access"),
                ("water-resistant recycled nylon", "waxed canvas"),
            ),
            _Noun(
                "Instant Camera",
                69,
                169,
                "colour",
                ("automatic exposure", "a built-in selfie mirror", "credit-card-sized prints"),
            ),
            _Noun(
                "Camera Drone",
                299,
                1499,
                "single",
                ("a 3-axis gimbal", "up to 34 minutes of flight time", "omnidirectional obstacle sensing"),
            ),
        ),
        closers=(
            "Backed by a two-year limited warranty.",
            "Includes a rechargeable battery and a USB-C cable.",
        ),
    ),
    # ---------------------------------------------------------------------------------- Home
    _CategorySpec(
        slug="home",
        name="Home",
        parent=None,
        code="HOM",
        weight=2,
        brands=("Hearthly", "Maison", "Linden", "Willow", "Casa", "Ember", "Juniper", "Thimble"),
        adjectives=("Classic", "Modern", "Coastal", "Heritage", "Minimal", "Rustic"),
        palette=_HOME_PALETTE,
        nouns=(
            _Noun(
                "Scented Candle",
                12,
                49,
                "scent",
                ("a burn time of around 50 hours", "a clean, slow burn", "a reusable glass vessel"),
                ("natural soy wax with a cotton wick",),
            ),
            _Noun(
                "Ceramic Vase",
                19,
                89,
                "colour",
                ("a reactive glaze finish", "a watertight interior", "a weighted base"),
                ("hand-thrown stoneware",),
            ),
            _Noun(
                "Wall Mirror",
                49,
                299,
                "single",
                (
                    "a slim powder-coated frame",
                    "shatter-resistant safety backing",
                    "pre-fitted hanging hardware",
                ),
                ("solid oak and bevelled glass", "powder-coated steel"),
            ),
            _Noun(
                "Throw Blanket",
                29,
                129,
                "colour",
                ("a chunky cable-knit texture", "fringed edges", "a generous 130 x 170 cm size"),
                ("soft recycled cotton", "a wool and cashmere blend"),
            ),
            _Noun(
                "Table Lamp",
                39,
                249,
                "colour",
                ("a linen drum shade", "a dimmable LED bulb", "an in-line switch"),
                ("glazed ceramic and linen", "brushed brass"),
            ),
            _Noun(
                "Picture Frame",
                9,
                59,
                "colour",
                (
                    "shatterproof acrylic glazing",
                    "an acid-free mount",
                    "hooks for portrait or landscape hanging",
                ),
                ("solid oak", "recycled aluminium"),
            ),
            _Noun(
                "Storage Basket",
                15,
                69,
                "size3",
                ("sturdy carry handles", "a removable cotton liner", "hand-woven construction"),
                ("natural water hyacinth", "seagrass"),
            ),
        ),
        closers=(
            "Each piece is finished by hand, so no two are exactly alike.",
            "Arrives gift-ready in recyclable packaging.",
        ),
    ),
    _CategorySpec(
        slug="kitchen",
        name="Kitchen",
        parent="home",
        code="KIT",
        weight=3,
        brands=("Copperline", "Ferro", "Gusto", "Saltbox", "Cuisio", "Hestia", "Brava", "Tavola"),
        adjectives=("Classic", "Pro", "Everyday", "Artisan", "Heritage", "Essential", "Chef's"),
        palette=("Black", "White", "Cream", "Sage", "Red", "Silver", "Graphite"),
        nouns=(
            _Noun(
                "Chef's Knife",
                29,
                199,
                "single",
                ("a 20 cm high-carbon blade", "a full-tang ergonomic handle", "a razor-sharp 15-degree edge"),
                ("German stainless steel", "Japanese VG-10 steel"),
            ),
            _Noun(
                "Cast Iron Skillet",
                29,
                129,
                "pan",
                ("a pre-seasoned cooking surface", "a helper handle", "oven-safe performance up to 260 C"),
                ("heavy-gauge cast iron",),
            ),
            _Noun(
                "Nonstick Frying Pan",
                24,
                99,
                "pan",
                ("a PFAS-free ceramic coating", "a stay-cool handle", "compatibility with induction hobs"),
                ("forged aluminium",),
            ),
            _Noun(
                "Espresso Machine",
                149,
                1299,
                "colour",
                ("a 15-bar pump", "a steam wand for milk frothing", "a removable 1.8-litre water tank"),
                ("brushed stainless steel",),
            ),
            _Noun(
                "Blender",
                49,
                499,
                "colour",
                ("a 1,400 W motor", "six preset programmes", "a 1.5-litre BPA-free jug"),
                ("stainless steel and Tritan",),
            ),
            _Noun(
                "Chopping Board",
                19,
                79,
                "size3",
                ("a deep juice groove", "non-slip feet", "a reversible design"),
                ("end-grain acacia wood", "sustainably grown bamboo"),
            ),
            _Noun(
                "Dinnerware Set",
                49,
                249,
                "colour",
                (
                    "four dinner plates, side plates and bowls",
                    "a dishwasher- and microwave-safe glaze",
                    "a speckled reactive finish",
                ),
                ("durable stoneware", "fine porcelain"),
            ),
            _Noun(
                "Electric Kettle",
                29,
                149,
                "colour",
                ("a 1.7-litre capacity", "variable temperature control", "a keep-warm function"),
                ("stainless steel", "matte powder-coated steel"),
            ),
        ),
        closers=(
            "Tested in our own kitchen for everyday use.",
            "A thoughtful gift for keen home cooks.",
        ),
    ),
    _CategorySpec(
        slug="furniture",
        name="Furniture",
        parent="home",
        code="FUR",
        weight=2,
        brands=("Nordic", "Fjord", "Alder", "Haven", "Crestwood", "Oakhurst", "Sable", "Linnea"),
        adjectives=("Oak", "Walnut", "Ash", "Mid-Century", "Modern", "Rustic", "Scandi"),
        palette=("Sage", "Charcoal", "Cream", "Navy", "Terracotta", "Stone", "Burgundy"),
        nouns=(
            _Noun(
                "Dining Chair",
                79,
                349,
                "finish",
                ("a curved ergonomic backrest", "a sturdy mortise-and-tenon frame", "felt floor protectors"),
                ("solid hardwood", "FSC-certified timber"),
            ),
            _Noun(
                "Dining Table",
                299,
                1899,
                "finish",
                ("seating for six", "a scratch-resistant lacquered top", "tapered solid wood legs"),
                ("solid hardwood", "FSC-certified timber"),
            ),
            _Noun(
                "Coffee Table",
                129,
                699,
                "finish",
                ("a lower storage shelf", "softly rounded corners", "a hard-wearing oiled finish"),
                ("solid hardwood",),
            ),
            _Noun(
                "Bookcase",
                99,
                599,
                "finish",
                ("five adjustable shelves", "an anti-tip wall fixing kit", "a deep 35 cm shelf depth"),
                ("FSC-certified timber",),
            ),
            _Noun(
                "Bedside Table",
                79,
                299,
                "finish",
                ("a soft-close drawer", "an open shelf", "a discreet cable cut-out"),
                ("solid hardwood",),
            ),
            _Noun(
                "Writing Desk",
                149,
                899,
                "finish",
                ("a built-in cable tray", "a spacious 140 cm work surface", "a slim drawer for stationery"),
                ("solid hardwood", "FSC-certified timber"),
            ),
            _Noun(
                "Three-Seater Sofa",
                599,
                2499,
                "colour",
                (
                    "deep, feather-wrapped seat cushions",
                    "removable washable covers",
                    "a kiln-dried hardwood frame",
                ),
                ("performance boucle", "stain-resistant woven fabric"),
                ("Velvet", "Boucle", "Linen", "Modern", "Mid-Century", "Classic"),
            ),
            _Noun(
                "Armchair",
                249,
                999,
                "colour",
                ("a high, supportive back", "a deep seat", "solid wooden legs"),
                ("soft velvet", "textured boucle", "washed linen"),
                ("Velvet", "Boucle", "Linen", "Modern", "Mid-Century", "Wingback"),
            ),
        ),
        closers=(
            "Delivered to the room of your choice.",
            "Covered by a ten-year frame guarantee.",
        ),
    ),
    _CategorySpec(
        slug="bed-bath",
        name="Bed & Bath",
        parent="home",
        code="BED",
        weight=2,
        brands=("Slumber", "Dreamwell", "Linenhaus", "Serene", "Calma", "Hush", "Brume", "Meadowsweet"),
        adjectives=("Organic", "Luxe", "Classic", "Hotel", "Stonewashed", "Essential"),
        palette=("White", "Cream", "Sage", "Grey", "Navy", "Pink", "Stone"),
        nouns=(
            _Noun(
                "Duvet Cover Set",
                49,
                199,
                "bed",
                ("matching pillowcases", "a hidden button closure", "a crisp 300 thread count"),
                ("organic cotton percale", "stonewashed French linen"),
            ),
            _Noun(
                "Fitted Sheet",
                25,
                89,
                "bed",
                ("deep 35 cm pockets", "fully elasticated edges", "a cool, breathable feel"),
                ("organic cotton percale", "long-staple cotton sateen"),
            ),
            _Noun(
                "Pillow",
                19,
                89,
                "pack",
                ("a medium-firm feel", "hypoallergenic filling", "a removable, washable cover"),
                ("a cotton cover and recycled microfibre",),
            ),
            _Noun(
                "Bath Towel",
                12,
                49,
                "colour",
                ("high absorbency", "a plush 600 gsm weight", "a handy hanging loop"),
                ("Turkish cotton", "zero-twist cotton"),
            ),
            _Noun(
                "Bath Mat",
                15,
                59,
                "colour",
                ("a non-slip backing", "quick-drying fibres", "a plush tufted surface"),
                ("organic cotton",),
            ),
            _Noun(
                "Bathrobe",
                39,
                129,
                "size_colour",
                ("a shawl collar", "deep patch pockets", "a self-tie belt"),
                ("cotton waffle weave", "soft cotton terry"),
            ),
            _Noun(
                "Weighted Blanket",
                69,
                199,
                "blanket",
                (
                    "a breathable removable cover",
                    "evenly distributed glass beads",
                    "corner ties for the cover",
                ),
                ("cotton and glass microbeads",),
            ),
        ),
        closers=(
            "Machine washable at 40 degrees.",
            "OEKO-TEX certified, free from harmful substances.",
        ),
    ),
    # ---------------------------------------------------------------------------------- Clothing
    _CategorySpec(
        slug="clothing",
        name="Clothing",
        parent=None,
        code="CLO",
        weight=2,
        brands=_CLOTHING_BRANDS,
        adjectives=("Classic", "Heritage", "Everyday", "Essential", "Weekend", "Urban", "Signature"),
        palette=("Black", "Navy", "Olive", "Sand", "Brown", "Burgundy", "Grey", "Tan"),
        nouns=(
            _Noun(
                "Beanie",
                15,
                49,
                "colour",
                ("a fold-over cuff", "a close ribbed knit", "a soft brushed lining"),
                ("merino wool", "recycled wool"),
            ),
            _Noun(
                "Scarf",
                19,
                129,
                "colour",
                ("a generous oversized cut", "fringed ends", "a soft brushed finish"),
                ("lambswool", "a cashmere blend"),
            ),
            _Noun(
                "Leather Belt",
                25,
                89,
                "size",
                ("a brushed brass buckle", "hand-finished edges", "a 35 mm width"),
                ("full-grain leather",),
            ),
            _Noun(
                "Tote Bag",
                19,
                99,
                "colour",
                ("an internal zip pocket", "reinforced handles", "a magnetic closure"),
                ("heavyweight organic canvas", "recycled nylon"),
            ),
            _Noun(
                "Backpack",
                49,
                179,
                "colour",
                ("a padded 16-inch laptop sleeve", "water-resistant zips", "a hidden passport pocket"),
                ("recycled nylon", "waxed canvas"),
            ),
            _Noun(
                "Leather Wallet",
                29,
                119,
                "colour",
                ("RFID blocking", "six card slots", "a slim bifold profile"),
                ("vegetable-tanned leather",),
            ),
            _Noun(
                "Sunglasses",
                39,
                199,
                "colour",
                ("polarised UV400 lenses", "spring hinges", "a protective carry case"),
                ("lightweight acetate",),
            ),
        ),
        closers=(
            "Free returns within 30 days.",
            "Designed to be worn season after season.",
        ),
    ),
    _CategorySpec(
        slug="men",
        name="Men",
        parent="clothing",
        code="MEN",
        weight=3,
        brands=_CLOTHING_BRANDS,
        adjectives=("Classic", "Relaxed", "Slim", "Everyday", "Heritage", "Essential", "Weekend"),
        palette=_APPAREL_PALETTE,
        nouns=(
            _Noun(
                "Oxford Shirt",
                39,
                119,
                "size_colour",
                ("a button-down collar", "a tailored fit", "a curved hem"),
                ("organic cotton Oxford cloth",),
            ),
            _Noun(
                "Chino Trousers",
                45,
                129,
                "size_colour",
                ("a tapered leg", "a touch of stretch for comfort", "deep front pockets"),
                ("stretch cotton twill",),
            ),
            _Noun(
                "Crew Neck Tee",
                15,
                45,
                "size_colour",
                ("a relaxed fit", "a reinforced neckline", "pre-shrunk fabric"),
                ("heavyweight organic cotton",),
            ),
            _Noun(
                "Crew Neck Jumper",
                59,
                179,
                "size_colour",
                ("ribbed cuffs and hem", "temperature-regulating fibres", "a fine-gauge knit"),
                ("extra-fine merino wool", "lambswool"),
            ),
            _Noun(
                "Denim Jacket",
                69,
                199,
                "size_colour",
                ("chest flap pockets", "adjustable button cuffs", "a classic trucker cut"),
                ("rigid selvedge denim",),
            ),
            _Noun(
                "Parka",
                129,
                449,
                "size_colour",
                ("a detachable insulated hood", "sealed seams", "a two-way zip"),
                ("a waterproof recycled shell",),
            ),
            _Noun(
                "Hooded Sweatshirt",
                39,
                99,
                "size_colour",
                ("a lined hood", "a kangaroo pocket", "ribbed cuffs"),
                ("brushed-back organic cotton",),
            ),
        ),
        closers=(
            "Machine wash cold and tumble dry low.",
            "Our model is 185 cm tall and wears a size Medium.",
            "Free returns within 30 days.",
        ),
    ),
    _CategorySpec(
        slug="women",
        name="Women",
        parent="clothing",
        code="WOM",
        weight=3,
        brands=_CLOTHING_BRANDS,
        adjectives=("Classic", "Everyday", "Relaxed", "Tailored", "Weekend", "Essential", "Signature"),
        palette=("Black", "Navy", "White", "Cream", "Sage", "Terracotta", "Pink", "Burgundy", "Sand"),
        nouns=(
            _Noun(
                "Wrap Dress",
                59,
                179,
                "size_colour",
                ("a flattering wrap silhouette", "flutter sleeves", "a midi length"),
                ("fluid recycled viscose", "lightweight cotton poplin"),
            ),
            _Noun(
                "Linen Blouse",
                39,
                119,
                "size_colour",
                ("a relaxed fit", "mother-of-pearl buttons", "a softly gathered yoke"),
                ("garment-washed European linen",),
            ),
            _Noun(
                "High-Rise Jeans",
                59,
                149,
                "size_colour",
                ("a straight leg", "a flattering high rise", "classic five-pocket styling"),
                ("organic cotton denim",),
            ),
            _Noun(
                "Cardigan",
                69,
                229,
                "size_colour",
                ("horn-effect buttons", "a cropped length", "ribbed trims"),
                ("soft Mongolian cashmere", "a merino wool blend"),
            ),
            _Noun(
                "Trench Coat",
                129,
                399,
                "size_colour",
                ("a storm flap", "a removable belt", "a water-repellent finish"),
                ("tightly woven cotton gabardine",),
            ),
            _Noun(
                "Pleated Midi Skirt",
                49,
                139,
                "size_colour",
                ("an elasticated waist", "sharp knife pleats", "a swishy midi length"),
                ("recycled satin",),
            ),
            _Noun(
                "Ribbed Tank Top",
                15,
                45,
                "size_colour",
                ("a close, body-skimming fit", "a scoop neck", "a fine rib texture"),
                ("organic cotton with a touch of stretch",),
            ),
            _Noun(
                "Wool Coat",
                149,
                499,
                "size_colour",
                ("a relaxed, dropped shoulder", "deep welt pockets", "a full satin lining"),
                ("an Italian wool blend",),
            ),
        ),
        closers=(
            "Machine wash cold and line dry.",
            "Our model is 175 cm tall and wears a size Small.",
            "Free returns within 30 days.",
        ),
    ),
    _CategorySpec(
        slug="shoes",
        name="Shoes",
        parent="clothing",
        code="SHO",
        weight=2,
        brands=("Stride", "Cobbler & Co", "Tread", "Wayfarer", "Marlow", "Pacer", "Fieldhouse", "Amble"),
        adjectives=("Classic", "Everyday", "Heritage", "Lightweight", "Weekend", "Urban"),
        palette=("Black", "White", "Brown", "Tan", "Navy", "Grey", "Olive"),
        nouns=(
            _Noun(
                "Running Shoes",
                69,
                219,
                "shoe_colour",
                (
                    "a responsive foam midsole",
                    "a breathable engineered-knit upper",
                    "a grippy rubber outsole",
                ),
                ("recycled polyester knit",),
            ),
            _Noun(
                "Chelsea Boots",
                99,
                279,
                "shoe_colour",
                ("elastic side panels", "a pull-on heel tab", "a Goodyear-welted sole"),
                ("water-resistant suede", "full-grain leather"),
            ),
            _Noun(
                "Canvas Sneakers",
                39,
                99,
                "shoe_colour",
                ("a cushioned insole", "a vulcanised rubber sole", "reinforced eyelets"),
                ("organic cotton canvas",),
            ),
            _Noun(
                "Leather Loafers",
                89,
                249,
                "shoe_colour",
                ("a flexible leather sole", "a cushioned footbed", "hand-stitched aprons"),
                ("burnished calf leather",),
            ),
            _Noun(
                "Hiking Boots",
                99,
                299,
                "shoe_colour",
                ("a waterproof breathable membrane", "a lugged rubber outsole", "a padded ankle collar"),
                ("nubuck leather",),
            ),
            _Noun(
                "Slippers",
                25,
                79,
                "shoe_colour",
                ("a memory-foam footbed", "a non-slip indoor-outdoor sole", "a cosy shearling-style lining"),
                ("boiled wool", "soft suede"),
            ),
            _Noun(
                "Sandals",
                29,
                119,
                "shoe_colour",
                ("adjustable straps", "a contoured cork footbed", "a lightweight EVA sole"),
                ("vegetable-tanned leather",),
            ),
        ),
        closers=(
            "True to size; if you are between sizes, we recommend sizing up.",
            "Free returns within 30 days.",
        ),
    ),
    # ---------------------------------------------------------------------------------- Sports
    _CategorySpec(
        slug="sports",
        name="Sports",
        parent=None,
        code="SPO",
        weight=1,
        brands=("Apex", "Summit", "Kinetic", "Velo", "Peak", "Momentum", "Sprint", "Vanguard"),
        adjectives=("Pro", "Elite", "Training", "Performance", "Active", "Club", "Endurance"),
        palette=("Black", "White", "Blue", "Red", "Teal", "Orange", "Yellow"),
        nouns=(
            _Noun(
                "Water Bottle",
                15,
                45,
                "colour",
                ("double-wall vacuum insulation", "a leak-proof flip lid", "a wide mouth for ice cubes"),
                ("18/8 stainless steel",),
            ),
            _Noun(
                "Gym Bag",
                29,
                99,
                "colour",
                ("a ventilated shoe compartment", "a padded shoulder strap", "a water-resistant base"),
                ("recycled ripstop nylon",),
            ),
            _Noun(
                "Tennis Racket",
                49,
                249,
                "single",
                ("a 100 sq in head", "a balanced 300 g frame", "a vibration-dampening grip"),
                ("graphite composite",),
            ),
            _Noun(
                "Football",
                15,
                59,
                "colour",
                ("a thermally bonded panel construction", "FIFA Quality certification", "a butyl bladder"),
            ),
            _Noun(
                "Cycling Helmet",
                49,
                199,
                "size",
                ("a MIPS rotational-impact system", "14 cooling vents", "an easy dial-fit adjuster"),
                ("an in-moulded polycarbonate shell",),
            ),
            _Noun(
                "Bike Light Set",
                19,
                69,
                "single",
                ("a 600-lumen front light", "USB-C rechargeable batteries", "tool-free mounts"),
            ),
        ),
        closers=(
            "Tested by athletes in real training conditions.",
            "Covered by a two-year guarantee.",
        ),
    ),
    _CategorySpec(
        slug="fitness",
        name="Fitness",
        parent="sports",
        code="FIT",
        weight=2,
        brands=("Apex", "Kinetic", "Ironclad", "Flexa", "Corefit", "Pulse", "Forge", "Tempo"),
        adjectives=("Pro", "Home", "Studio", "Essential", "Performance", "Compact"),
        palette=("Black", "Purple", "Teal", "Sage", "Pink", "Blue", "Grey"),
        nouns=(
            _Noun(
                "Yoga Mat",
                25,
                99,
                "colour",
                ("a cushioned 6 mm thickness", "a grippy textured surface", "alignment markings"),
                ("natural tree rubber", "non-toxic TPE"),
            ),
            _Noun(
                "Dumbbell Set",
                49,
                199,
                "dumbbell",
                ("knurled chrome handles", "hexagonal heads that will not roll", "colour-coded weights"),
                ("rubber-coated cast iron",),
            ),
            _Noun(
                "Kettlebell",
                25,
                89,
                "kettlebell",
                ("a wide, smooth handle", "a flat base for stability", "a powder-coated grip"),
                ("single-piece cast iron",),
            ),
            _Noun(
                "Resistance Band Kit",
                15,
                49,
                "single",
                ("five progressive resistance levels", "padded handles and ankle straps", "a door anchor"),
                ("natural latex",),
            ),
            _Noun(
                "Foam Roller",
                19,
                59,
                "colour",
                ("a multi-density textured surface", "a hollow, durable core", "a travel-friendly size"),
                ("high-density EVA foam",),
            ),
            _Noun(
                "Jump Rope",
                9,
                39,
                "colour",
                ("ball-bearing handles", "an adjustable steel cable", "a tangle-free swivel"),
            ),
            _Noun(
                "Pull-Up Bar",
                29,
                89,
                "single",
                ("a 150 kg load rating", "foam-padded grips", "no-drill doorway mounting"),
                ("powder-coated steel",),
            ),
            _Noun(
                "Exercise Bike",
                299,
                1499,
                "single",
                ("32 levels of magnetic resistance", "a near-silent belt drive", "a fully adjustable seat"),
                ("a steel frame",),
            ),
        ),
        closers=(
            "Suitable for home workouts and the gym.",
            "Covered by a two-year guarantee.",
        ),
    ),
    _CategorySpec(
        slug="camping-hiking",
        name="Camping & Hiking",
        parent="sports",
        code="OUT",
        weight=2,
        brands=("Trailhead", "Summit", "Ridgeline", "Basecamp", "Northwild", "Alpen", "Cairn", "Timberline"),
        adjectives=("Ultralight", "Expedition", "Trail", "Alpine", "Explorer", "Backcountry"),
        palette=("Olive", "Orange", "Blue", "Sand", "Grey", "Red"),
        nouns=(
            _Noun(
                "Two-Person Tent",
                129,
                599,
                "colour",
                (
                    "a freestanding pole structure",
                    "two doors and two vestibules",
                    "a 3,000 mm waterproof rating",
                ),
                ("ripstop nylon with aluminium poles",),
            ),
            _Noun(
                "Sleeping Bag",
                59,
                349,
                "colour",
                ("a comfort rating of -5 C", "a draught-excluding collar", "a compression stuff sack"),
                ("responsibly sourced down", "recycled synthetic insulation"),
            ),
            _Noun(
                "Hiking Backpack",
                79,
                299,
                "litres",
                ("an adjustable ventilated back system", "hip-belt pockets", "an integrated rain cover"),
                ("abrasion-resistant recycled nylon",),
            ),
            _Noun(
                "Trekking Poles",
                39,
                149,
                "single",
                ("quick flick-lock adjustment", "cork grips", "carbide tips"),
                ("carbon fibre", "aluminium alloy"),
            ),
            _Noun(
                "Camping Stove",
                39,
                159,
                "single",
                ("piezo ignition", "a 3,000 W burner", "a folding pan support"),
            ),
            _Noun(
                "Headlamp",
                19,
                79,
                "colour",
                ("a 400-lumen beam", "a red night-vision mode", "a USB-C rechargeable battery"),
            ),
            _Noun(
                "Camp Chair",
                39,
                129,
                "colour",
                ("a packed weight under 1 kg", "a breathable mesh back", "a side cup holder"),
                ("aluminium and ripstop polyester",),
            ),
        ),
        closers=(
            "Field-tested on trails across three continents.",
            "Comes with a lifetime repair service.",
        ),
    ),
    # ---------------------------------------------------------------------------------- Books
    _CategorySpec(
        slug="books",
        name="Books",
        parent=None,
        code="BOK",
        weight=1,
        brands=("Folio", "Inkwell", "Marginalia", "Ledger", "Scribe", "Octavo", "Vellum", "Paperwell"),
        adjectives=("Classic", "Everyday", "Studio", "Heritage", "Essential", "Signature"),
        palette=("Black", "Navy", "Sage", "Terracotta", "Burgundy", "Tan", "Cream"),
        nouns=(
            _Noun(
                "Hardcover Notebook",
                12,
                39,
                "colour",
                ("120 gsm acid-free paper", "a lay-flat binding", "a ribbon marker and back pocket"),
                ("a linen-bound board cover",),
            ),
            _Noun(
                "Leather Journal",
                29,
                89,
                "colour",
                ("refillable cotton-paper inserts", "a wrap-around leather tie", "deckled page edges"),
                ("vegetable-tanned leather",),
            ),
            _Noun(
                "Bookmark Set",
                5,
                19,
                "single",
                ("five illustrated designs", "tasselled ends", "a gift envelope"),
                ("thick recycled card",),
            ),
            _Noun(
                "Reading Light",
                15,
                49,
                "colour",
                ("a flexible gooseneck", "three warm-to-cool light modes", "a padded clip"),
                ("soft-touch recycled plastic",),
            ),
            _Noun(
                "Bookends",
                19,
                69,
                "colour",
                ("a weighted, non-slip base", "a sculptural profile", "a protective felt underside"),
                ("cast iron", "solid marble"),
            ),
            _Noun(
                "Fountain Pen",
                25,
                199,
                "colour",
                ("a smooth medium steel nib", "a converter for bottled ink", "a snap-on cap"),
                ("lacquered brass", "resin and brushed steel"),
            ),
            _Noun(
                "Weekly Planner",
                15,
                39,
                "colour",
                ("undated weekly spreads", "monthly overview pages", "a ribbon marker"),
                ("FSC-certified paper",),
            ),
        ),
        closers=(
            "Arrives gift-wrapped on request.",
            "Designed in our London studio.",
        ),
    ),
    _CategorySpec(
        slug="fiction",
        name="Fiction",
        parent="books",
        code="FIC",
        weight=3,
        brands=(
            "The",
            "Beyond the",
            "Return to the",
            "Beneath the",
            "Letters from the",
            "Song of the",
            "After the",
            "Keeper of the",
        ),
        adjectives=(
            "Silent",
            "Hidden",
            "Last",
            "Golden",
            "Winter",
            "Forgotten",
            "Distant",
            "Burning",
            "Glass",
        ),
        nouns=tuple(
            _Noun(label, 9, 29, "format")
            for label in (
                "Harbour",
                "Orchard",
                "Lighthouse",
                "Kingdom",
                "Frontier",
                "Archive",
                "River",
                "Garden",
                "Observatory",
                "Island",
            )
        ),
        features=(
            "a sweeping multi-generational family saga",
            "a tense literary thriller told in alternating voices",
            "a haunting story of memory, loss and second chances",
            "a witty, warm-hearted novel about unlikely friendships",
            "an atmospheric mystery set on a remote coastline",
            "an epic fantasy of rival kingdoms and ancient magic",
            "a quietly devastating coming-of-age story",
            "a gripping historical novel set in 1920s Lisbon",
        ),
        intros=(
            "{name} is {f1}.",
            "In {name}, an acclaimed novelist delivers {f1}.",
            "Critics have called {name} {f1}.",
        ),
        closers=(
            "A book-club favourite, with a reading group guide included.",
            "Perfect for long weekends and late nights.",
            "Now a bestseller in twelve countries.",
        ),
    ),
    _CategorySpec(
        slug="non-fiction",
        name="Non-Fiction",
        parent="books",
        code="NFI",
        weight=2,
        brands=(
            "The Art of",
            "A Short History of",
            "The Science of",
            "Mastering",
            "The Little Book of",
            "Notes on",
            "Understanding",
            "The Joy of",
        ),
        adjectives=("Modern", "Practical", "Everyday", "Simple"),
        nouns=tuple(
            _Noun(label, 12, 35, "format")
            for label in (
                "Sourdough Baking",
                "Personal Finance",
                "Urban Gardening",
                "Stoicism",
                "Data Visualisation",
                "Trail Running",
                "Home Cooking",
                "Photography",
                "Negotiation",
                "Sleep",
                "Woodworking",
                "Architecture",
            )
        ),
        features=(
            "an accessible and practical guide for beginners",
            "a deeply researched yet highly readable account",
            "a clear, jargon-free introduction packed with real-world examples",
            "an inspiring handbook full of step-by-step exercises",
            "a thoughtful exploration of ideas that shape how we live",
        ),
        intros=(
            "{name} is {f1}.",
            "In {name}, a leading expert offers {f1}.",
        ),
        closers=(
            "Includes illustrations, further reading and a full index.",
            "An ideal gift for curious minds.",
        ),
    ),
    # ---------------------------------------------------------------------------------- Other top level
    _CategorySpec(
        slug="toys",
        name="Toys",
        parent=None,
        code="TOY",
        weight=2,
        brands=("Tinker", "Bramble", "Popkin", "Wobble", "Jolly", "Acorn", "Kite", "Pebble"),
        adjectives=("Classic", "Deluxe", "Junior", "Rainbow", "Mini", "Adventure"),
        palette=("Red", "Blue", "Yellow", "Green", "Pink", "Orange"),
        nouns=(
            _Noun(
                "Wooden Train Set",
                29,
                129,
                "single",
                ("40 track pieces", "magnetic carriages", "a tunnel and a level crossing"),
                ("sustainably sourced beech wood",),
            ),
            _Noun(
                "Building Blocks",
                19,
                79,
                "blocks",
                ("bright interlocking pieces", "a storage tub", "an illustrated idea booklet"),
                ("durable, BPA-free plastic",),
            ),
            _Noun(
                "Plush Bear",
                12,
                49,
                "colour",
                ("extra-soft fur", "embroidered eyes", "a cuddly 30 cm size"),
                ("recycled polyester plush",),
            ),
            _Noun(
                "Jigsaw Puzzle",
                12,
                39,
                "pieces",
                (
                    "an illustrated scene by an independent artist",
                    "precision-cut interlocking pieces",
                    "a poster for reference",
                ),
                ("thick recycled board",),
            ),
            _Noun(
                "Remote Control Car",
                29,
                149,
                "colour",
                ("four-wheel drive", "a top speed of 25 km/h", "a rechargeable battery pack"),
            ),
            _Noun(
                "Board Game",
                19,
                59,
                "single",
                ("quick 30-minute games", "rules for two to six players", "beautifully illustrated cards"),
            ),
            _Noun(
                "Doll's House",
                79,
                249,
                "single",
                ("three floors and six rooms", "working shutters", "a starter furniture set"),
                ("FSC-certified wood",),
            ),
            _Noun(
                "Science Kit",
                19,
                69,
                "single",
                ("over 30 hands-on experiments", "child-safe equipment", "an illustrated lab guide"),
            ),
        ),
        closers=(
            "Meets EN71 and ASTM toy safety standards.",
            "Arrives gift-ready in a recyclable box.",
        ),
    ),
    _CategorySpec(
        slug="beauty",
        name="Beauty",
        parent=None,
        code="BEA",
        weight=2,
        brands=("Lumiere", "Petal", "Solenne", "Verde", "Aurelia", "Bloom", "Mira", "Halcyon"),
        adjectives=("Hydrating", "Radiance", "Daily", "Gentle", "Botanical", "Renewing", "Calming"),
        nouns=(
            _Noun(
                "Face Serum",
                19,
                69,
                "volume",
                (
                    "10% niacinamide and zinc",
                    "a lightweight, fast-absorbing texture",
                    "a fragrance-free formula",
                ),
            ),
            _Noun(
                "Moisturiser",
                15,
                59,
                "volume",
                ("ceramides and hyaluronic acid", "a rich yet non-greasy texture", "48-hour hydration"),
            ),
            _Noun(
                "Cleansing Balm",
                15,
                49,
                "volume",
                ("a melting texture that lifts make-up", "cold-pressed plant oils", "a muslin cloth"),
            ),
            _Noun(
                "Hair Oil",
                15,
                45,
                "volume",
                ("argan and camellia oils", "frizz control without weight", "a heat-protecting formula"),
            ),
            _Noun(
                "Body Lotion",
                9,
                35,
                "volume",
                ("shea butter and oat extract", "a quick-absorbing finish", "a soft botanical scent"),
            ),
            _Noun(
                "Lip Balm",
                5,
                15,
                "pack",
                ("nourishing beeswax and vitamin E", "a sheer tint", "SPF 15 protection"),
            ),
            _Noun(
                "Sunscreen SPF 50",
                12,
                39,
                "volume",
                (
                    "broad-spectrum UVA and UVB protection",
                    "an invisible, non-sticky finish",
                    "water resistance for up to 80 minutes",
                ),
            ),
            _Noun(
                "Eau de Parfum",
                49,
                189,
                "volume",
                (
                    "top notes of bergamot and pink pepper",
                    "a warm heart of iris and amber",
                    "a long-lasting base of sandalwood",
                ),
                (),
                ("Noir", "Velvet", "Amber", "Citrus", "Midnight", "Rose"),
            ),
        ),
        closers=(
            "Cruelty-free and never tested on animals.",
            "Free from parabens and synthetic dyes.",
            "Packaged in recyclable glass and aluminium.",
        ),
    ),
    _CategorySpec(
        slug="garden",
        name="Garden",
        parent=None,
        code="GAR",
        weight=2,
        brands=(
            "Greenthumb",
            "Verdant",
            "Sprout",
            "Meadow",
            "Hedgerow",
            "Fernleaf",
            "Rootstock",
            "Bloomfield",
        ),
        adjectives=("Classic", "Heavy-Duty", "Compact", "Heritage", "Essential", "Pro"),
        palette=("Green", "Terracotta", "Stone", "Charcoal", "Sage", "Yellow"),
        nouns=(
            _Noun(
                "Planter",
                15,
                129,
                "size3",
                (
                    "a drainage hole with a removable plug",
                    "a frost-resistant finish",
                    "a tapered modern shape",
                ),
                ("glazed ceramic", "fibre clay"),
            ),
            _Noun(
                "Raised Garden Bed",
                59,
                299,
                "size3",
                ("tool-free assembly", "an open base for deep roots", "rounded safety corners"),
                ("galvanised steel", "untreated larch"),
            ),
            _Noun(
                "Garden Hose",
                19,
                89,
                "hose",
                ("kink-resistant construction", "a seven-pattern spray gun", "brass fittings"),
                ("reinforced PVC",),
            ),
            _Noun(
                "Pruning Shears",
                15,
                69,
                "single",
                ("a precision bypass blade", "a locking safety catch", "ergonomic cushioned grips"),
                ("hardened carbon steel",),
            ),
            _Noun(
                "Watering Can",
                15,
                59,
                "colour",
                ("a 7-litre capacity", "a removable brass rose", "a balanced long spout"),
                ("powder-coated galvanised steel",),
            ),
            _Noun(
                "Bird Feeder",
                15,
                59,
                "single",
                ("a squirrel-resistant cage", "a tool-free refill lid", "a drainage tray"),
                ("recycled plastic and steel",),
            ),
            _Noun(
                "Solar Lanterns",
                19,
                79,
                "pack",
                (
                    "automatic dusk-to-dawn lighting",
                    "up to 10 hours of light per charge",
                    "a warm white glow",
                ),
                ("weatherproof metal and glass",),
            ),
            _Noun(
                "Bistro Set",
                149,
                499,
                "colour",
                ("two folding chairs and a round table", "a weather-resistant finish", "adjustable feet"),
                ("powder-coated steel", "FSC-certified acacia"),
            ),
        ),
        closers=(
            "Built for year-round outdoor use.",
            "Backed by a five-year guarantee.",
        ),
    ),
    _CategorySpec(
        slug="grocery",
        name="Grocery",
        parent=None,
        code="GRO",
        weight=2,
        brands=(
            "Harvest",
            "Millstone",
            "Golden Acre",
            "Orchard Lane",
            "Saltmarsh",
            "Stoneground",
            "Homestead",
            "Larder & Co",
        ),
        adjectives=("Organic", "Artisan", "Small-Batch", "Fair-Trade", "Heritage"),
        intros=(
            "Expect {f1} and {f2} from {this} {noun} by {brand}.",
            "Made by {brand}, {this} {noun} offer{s} {f1} and {f2}.",
            "{Name} bring{s} {f1}, with {f2}.",
        ),
        nouns=(
            _Noun(
                "Coffee Beans",
                6,
                24,
                "weight",
                (
                    "tasting notes of dark chocolate and cherry",
                    "a medium roast profile",
                    "beans roasted in small batches",
                ),
                (),
                ("Single-Origin", "Organic", "Espresso", "Fair-Trade", "Dark Roast"),
            ),
            _Noun(
                "Loose Leaf Tea",
                5,
                19,
                "weight",
                ("whole leaves picked by hand", "a bright, brisk flavour", "a resealable tin"),
            ),
            _Noun(
                "Extra Virgin Olive Oil",
                8,
                29,
                "bottle",
                (
                    "a peppery, grassy finish",
                    "a single estate harvest",
                    "cold extraction within hours of picking",
                ),
            ),
            _Noun(
                "Raw Honey",
                6,
                19,
                "weight",
                ("a rich floral flavour", "honey that is never heated or filtered", "an easy-pour jar"),
            ),
            _Noun(
                "Dark Chocolate Bar",
                3,
                7,
                "pack",
                ("70% single-origin cocoa", "a snap of crunchy sea salt", "a smooth, lingering finish"),
            ),
            _Noun(
                "Granola",
                4,
                11,
                "weight",
                ("toasted oats, almonds and coconut", "a light touch of maple syrup", "no refined sugar"),
            ),
            _Noun(
                "Bronze-Cut Spaghetti",
                3,
                8,
                "pack",
                (
                    "a rough texture that holds sauce",
                    "slow drying at low temperature",
                    "durum wheat semolina",
                ),
            ),
            _Noun(
                "Sea Salt Flakes",
                3,
                9,
                "pack",
                ("crisp pyramid-shaped crystals", "a clean mineral taste", "hand-harvested flakes"),
            ),
            _Noun(
                "Maple Syrup",
                8,
                24,
                "bottle",
                ("a rich amber colour", "a deep caramel flavour", "pure syrup with no additives"),
            ),
        ),
        closers=(
            "Store in a cool, dry place away from direct sunlight.",
            "Sourced directly from independent producers.",
            "Suitable for vegetarians.",
        ),
    ),
    _CategorySpec(
        slug="pets",
        name="Pets",
        parent=None,
        code="PET",
        weight=1,
        brands=("Barkley", "Pawtree", "Woofwell", "Tailwind", "Mossy", "Snout", "Whiskerton", "Fetch & Co"),
        adjectives=("Cosy", "Classic", "Adventure", "Deluxe", "Everyday", "Orthopaedic"),
        palette=("Grey", "Navy", "Sage", "Tan", "Red", "Charcoal"),
        nouns=(
            _Noun(
                "Dog Bed",
                29,
                149,
                "size3",
                ("raised bolster sides", "a removable washable cover", "a non-slip base"),
                ("memory foam and soft faux fur",),
            ),
            _Noun(
                "Cat Tree",
                49,
                199,
                "single",
                ("sisal-wrapped scratching posts", "a cosy hideaway", "two lookout platforms"),
                ("engineered wood and plush fabric",),
            ),
            _Noun(
                "Dog Lead",
                12,
                39,
                "colour",
                ("a padded handle", "a reflective stitch", "a rust-proof clip"),
                ("waterproof webbing", "rope-braided nylon"),
            ),
            _Noun(
                "Pet Bowl Set",
                12,
                45,
                "colour",
                ("two dishwasher-safe bowls", "a non-slip raised stand", "a spill-catching tray"),
                ("stoneware and bamboo", "stainless steel"),
            ),
            _Noun(
                "Chew Toy",
                5,
                19,
                "pack",
                ("a tough, durable design", "a hollow centre for treats", "a floating shape for water play"),
                ("natural rubber",),
            ),
            _Noun(
                "Dog Harness",
                19,
                59,
                "size_colour",
                ("a no-pull front clip", "quick-release buckles", "a padded chest plate"),
                ("breathable air mesh",),
            ),
            _Noun(
                "Grain-Free Dog Food",
                12,
                39,
                "petfood",
                (
                    "60% freshly prepared chicken",
                    "sweet potato and pea for slow-release energy",
                    "added glucosamine for healthy joints",
                ),
            ),
        ),
        closers=(
            "Vet-approved and pet-tested.",
            "Ships in plastic-free packaging.",
        ),
    ),
)

# Words kept as written when a noun is used mid-sentence.
_PROPER_WORDS = ("Bluetooth", "Oxford", "Chelsea", "Doll's", "SPF")

# --------------------------------------------------------------------------------------------------
# Generation
# --------------------------------------------------------------------------------------------------


def generate_catalog(product_count: int = 320) -> SeedCatalog:
    """Return the demo catalog with exactly ``product_count`` products (the same on every call)."""
    if product_count < 1:
        raise ValueError("product_count must be at least 1")
    generator = _Generator()
    products = tuple(generator.next_product() for _ in range(product_count))
    return SeedCatalog(categories=_seed_categories(), products=products)


def _seed_categories() -> tuple[SeedCategory, ...]:
    ordered = [spec for spec in _CATEGORIES if spec.parent is None]
    ordered += [spec for spec in _CATEGORIES if spec.parent is not None]
    positions: dict[str | None, int] = {}
    result: list[SeedCategory] = []
    for spec in ordered:
        position = positions.get(spec.parent, 0)
        positions[spec.parent] = position + 1
        result.append(
            SeedCategory(slug=spec.slug, name=spec.name, parent_slug=spec.parent, position=position)
        )
    return tuple(result)


_Combo = tuple[str, str | None, _Noun]
_T = TypeVar("_T")


class _Generator:
    """Produces products one at a time; product i depends only on products 0..i-1."""

    def __init__(self) -> None:
        self._rng = random.Random(SEED)
        self._schedule = _category_schedule()
        self._combos: dict[int, list[_Combo]] = {}
        self._cursor: dict[int, int] = {}
        self._names: set[str] = set()  # membership tests only; never iterated
        self._slugs: set[str] = set()
        self._index = 0

    def next_product(self) -> SeedProduct:
        i = self._index
        self._index += 1
        rng = self._rng
        spec_index = self._schedule[i % len(self._schedule)]
        spec = _CATEGORIES[spec_index]
        brand, _, noun, name = self._unique_name(spec_index)
        slug = self._unique_slug(_slugify(name))
        return SeedProduct(
            slug=slug,
            name=name,
            description=_description(rng, spec, brand, noun, name),
            category_slug=spec.slug,
            images=_images(rng, slug, name),
            created_at=BASE_TIME + timedelta(hours=i),
            variants=_variants(rng, spec, noun, f"{spec.code}-{i + 1:04d}"),
        )

    def _unique_name(self, spec_index: int) -> tuple[str, str | None, _Noun, str]:
        combos = self._combos.get(spec_index)
        if combos is None:
            combos = self._combos[spec_index] = _category_combos(spec_index)
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


def _category_schedule() -> list[int]:
    """A fixed, shuffled cycle of category indexes weighted by share; the first entry is Audio."""
    schedule = [index for index, spec in enumerate(_CATEGORIES) for _ in range(spec.weight)]
    random.Random(SEED + 1).shuffle(schedule)
    audio = next(index for index, spec in enumerate(_CATEGORIES) if spec.slug == "audio")
    first_audio = schedule.index(audio)
    schedule[0], schedule[first_audio] = schedule[first_audio], schedule[0]
    return schedule


def _category_combos(spec_index: int) -> list[_Combo]:
    """Every (brand, adjective, noun) name of a category in a fixed shuffled order."""
    spec = _CATEGORIES[spec_index]
    combos: list[_Combo] = []
    for noun in spec.nouns:
        noun_words = noun.label.lower().replace("-", " ").split()
        adjectives = spec.adjectives if noun.adjectives is None else noun.adjectives
        for brand in spec.brands:
            for adjective in (None, *adjectives):
                if adjective is not None and adjective.lower() in noun_words:
                    continue
                combos.append((brand, adjective, noun))
    random.Random(SEED + 100 + spec_index).shuffle(combos)
    if spec.slug == "audio":
        # The very first product of every catalog is a "Bluetooth Speaker" (search tests rely on it).
        first = next(
            k
            for k, (b, a, n) in enumerate(combos)
            if b == "Aurora" and a is None and n.label == "Bluetooth Speaker"
        )
        combos.insert(0, combos.pop(first))
    return combos


def _variants(rng: random.Random, spec: _CategorySpec, noun: _Noun, sku_base: str) -> tuple[SeedVariant, ...]:
    low, high = noun.low * 100, noun.high * 100
    base = min(rng.randint(low, high), rng.randint(low, high))  # skewed towards the cheaper end
    options = _pick_options(rng, spec, noun)
    if noun.kind == "colour" and len(options) > 1 and rng.random() < 0.2:
        name, code, percent = options[-1]
        options[-1] = (name, code, percent + 10)  # a premium finish
    variants: list[SeedVariant] = []
    for position, (name, code, percent) in enumerate(options):
        stock = 0 if rng.random() < OUT_OF_STOCK_RATE else rng.randint(1, 200)
        variants.append(
            SeedVariant(
                sku=f"{sku_base}-{code}",
                name=name,
                price=_retail_price(base * percent // 100),
                stock=stock,
                position=position,
            )
        )
    return tuple(variants)


def _pick_options(rng: random.Random, spec: _CategorySpec, noun: _Noun) -> list[_Option]:
    if noun.kind == "single":
        return [("Default", "STD", 100)]
    count = rng.choices((1, 2, 3, 4), weights=(25, 30, 25, 20))[0]
    if noun.kind == "colour":
        return [(colour, _COLOUR_CODES[colour], 100) for colour in _sample_in_order(rng, spec.palette, count)]
    if noun.kind in ("size_colour", "shoe_colour"):
        sizes_table = _APPAREL_SIZES if noun.kind == "size_colour" else _SHOE_SIZES
        if count == 2:
            shape = rng.choice(((2, 1), (1, 2)))  # two sizes of one colour, or one size in two colours
        elif count == 4:
            shape = rng.choice(((4, 1), (2, 2)))
        else:
            shape = (count, 1)
        sizes = _sample_in_order(rng, sizes_table, shape[0])
        colours = _sample_in_order(rng, spec.palette, shape[1])
        return [
            (f"{size_name} / {colour}", f"{size_code}-{_COLOUR_CODES[colour]}", percent)
            for colour in colours
            for size_name, size_code, percent in sizes
        ]
    return _sample_in_order(rng, _OPTION_TABLES[noun.kind], count)


def _sample_in_order(rng: random.Random, items: tuple[_T, ...], count: int) -> list[_T]:
    picked = sorted(rng.sample(range(len(items)), min(count, len(items))))
    return [items[k] for k in picked]


def _retail_price(cents: int) -> int:
    """Round to a shop-like price ending in 99 (4.49/4.99 below ten), within [MIN_PRICE, MAX_PRICE]."""
    if cents < 1_000:
        price = (cents + 25) // 50 * 50 - 1
    elif cents < 10_000:
        price = (cents + 50) // 100 * 100 - 1
    else:
        price = (cents + 250) // 500 * 500 - 1
    return max(MIN_PRICE, min(MAX_PRICE, price))


def _description(rng: random.Random, spec: _CategorySpec, brand: str, noun: _Noun, name: str) -> str:
    features = noun.features or spec.features
    f1, f2 = rng.sample(features, 2)
    plural = noun.label.endswith("s")
    noun_text = _mid_sentence(noun.label)
    words = {
        "name": name,
        "Name": name,
        "brand": brand,
        "noun": noun_text,
        "f1": f1,
        "f2": f2,
        "s": "" if plural else "s",
        "is": "are" if plural else "is",
        "it": "they" if plural else "it",
        "It": "They" if plural else "It",
        "this": "these" if plural else "this",
        "This": "These" if plural else "This",
    }
    sentences = [rng.choice(spec.intros or _GENERIC_INTROS).format(**words)]
    if noun.materials and rng.random() < 0.6:
        words["material"] = rng.choice(noun.materials)
        sentences.append(rng.choice(_MATERIAL_LINES).format(**words))
    if spec.closers and rng.random() < 0.55:
        sentences.append(rng.choice(spec.closers))
    return " ".join(sentence[0].upper() + sentence[1:] for sentence in sentences)


def _images(rng: random.Random, slug: str, name: str) -> tuple[SeedImage, ...]:
    count = rng.choices((1, 2, 3), weights=(3, 4, 3))[0]
    alts: tuple[str | None, ...] = (
        name,
        f"{name}, detail view",
        None if rng.random() < 0.5 else f"{name} in use",
    )
    return tuple(SeedImage(url=f"{IMAGE_HOST}/{slug}/{k + 1}.jpg", alt=alts[k]) for k in range(count))


def _mid_sentence(label: str) -> str:
    """'Three-Seater Sofa' -> 'three-seater sofa', keeping acronyms and proper words ('USB-C hub')."""
    words = []
    for word in label.split():
        if word in _PROPER_WORDS:
            words.append(word)
            continue
        parts = [
            part if part.isupper() or not part[:1].isupper() else part.lower() for part in word.split("-")
        ]
        words.append("-".join(parts))
    return " ".join(words)


def _slugify(text: str) -> str:
    text = text.lower().replace("'", "").replace("&", "and")
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-")


def _roman(number: int) -> str:
    numerals = (
        (1000, "M"),
        (900, "CM"),
        (500, "D"),
        (400, "CD"),
        (100, "C"),
        (90, "XC"),
        (50, "L"),
        (40, "XL"),
        (10, "X"),
        (9, "IX"),
        (5, "V"),
        (4, "IV"),
        (1, "I"),
    )
    result = []
    for value, numeral in numerals:
        while number >= value:
            result.append(numeral)
            number -= value
    return "".join(result)
