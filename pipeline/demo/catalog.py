"""The demo's sample catalog: 40 industrial products a shop might sell, as a small website.

Everything is generated reproducibly: product pages with schema.org JSON-LD, category pages, a sitemap
index with a gzipped child sitemap, robots.txt, and product photos drawn with Pillow (JPEG and PNG, in
landscape, portrait and square formats so that the 512 x 512 padding shows).

Like a real shop, it has flaws for the pipeline to catch: a "no image" placeholder shared by three
products, two products showing the very same photo and one a smaller copy of another's, a 64-pixel
thumbnail, a 5:1 banner, a dead image link, and a trade name (`TRADE_NAMES`, the demo's `--regex`) in
titles, one of which is nothing but the trade name.
"""

from __future__ import annotations

import gzip
import html
import io
import json
import math
import random
from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageFilter

from pipeline.testing.server import LocalServer, Reply

COLOURS = {
    "stainless steel": (190, 195, 200),
    "steel": (120, 125, 135),
    "brass": (200, 165, 70),
    "aluminium": (210, 212, 215),
    "polyamide": (40, 40, 45),
    "cast iron": (85, 85, 90),
    "bronze": (170, 110, 50),
    "polyurethane": (230, 140, 40),
    "zinc die-cast": (160, 165, 170),
}


@dataclass(frozen=True)
class Product:
    slug: str
    name: str
    category: str
    material: str
    finish: str
    description: str
    shape: str
    size: tuple[int, int]
    # "own" (drawn), "placeholder", "missing" (a dead link), "same:<slug>" (another product's
    # photo, byte for byte) or "smaller:<slug>" (another product's photo at half size, as JPEG).
    photo: str = "own"


TRADE_NAMES = r"\bprogrip\b"
Row = tuple[str, str, str, str, str, tuple[int, int], str]
FLAWED: list[Row] = [
    ("Threaded rod, zinc plated", "fasteners", "steel", "zinc plated", "rack", (600, 600), "placeholder"),
    ("Forged eye bolt", "fasteners", "steel", "galvanised", "ring", (600, 600), "placeholder"),
    ("Cable gland with lock nut", "fittings", "polyamide", "grey", "nut", (600, 600), "placeholder"),
    (
        "Sealed ball bearing 2RS",
        "bearings",
        "steel",
        "oiled",
        "bearing",
        (600, 600),
        "same:deep-groove-ball-bearing-sealed",
    ),
    (
        "Stainless flange bearing",
        "bearings",
        "stainless steel",
        "polished",
        "bearing",
        (720, 540),
        "smaller:flanged-ball-bearing",
    ),
    ("Spring washer", "fasteners", "steel", "blank", "ring", (64, 64), "own"),
    ("Aluminium profile 40 x 40 slot 8", "profiles", "aluminium", "anodised", "rack", (1500, 300), "own"),
    ("Machine foot, swivel", "levelling", "steel", "zinc plated", "knob", (500, 500), "missing"),
    ("ProGrip ball knob", "knobs", "polyamide", "black", "ball", (450, 450), "own"),
    ("ProGrip", "knobs", "polyamide", "black", "knob", (400, 300), "own"),
]


def _products() -> list[Product]:
    rows = [
        ("Lift-off hinge with removable pin", "hinges", "stainless steel", "brushed", "hinge", (640, 480)),
        ("Butt hinge for doors and cabinets", "hinges", "brass", "polished", "hinge", (500, 500)),
        ("Concealed cabinet hinge", "hinges", "zinc die-cast", "nickel plated", "hinge", (800, 450)),
        ("Heavy-duty weld-on hinge", "hinges", "steel", "black oxide", "hinge", (400, 600)),
        ("Deep groove ball bearing, sealed", "bearings", "steel", "oiled", "bearing", (600, 600)),
        ("Flanged ball bearing", "bearings", "stainless steel", "polished", "bearing", (720, 540)),
        ("Pillow block bearing unit", "bearings", "cast iron", "painted grey", "bearing", (900, 500)),
        ("Plain bearing bush, flanged", "bearings", "bronze", "natural", "bearing", (300, 300)),
        ("Needle roller bearing", "bearings", "steel", "blank", "bearing", (480, 640)),
        ("Horizontal toggle clamp", "clamps", "steel", "zinc plated", "clamp", (640, 400)),
        ("Vertical toggle clamp with red handle", "clamps", "steel", "galvanised", "clamp", (500, 700)),
        ("Push-pull toggle clamp", "clamps", "stainless steel", "brushed", "clamp", (800, 400)),
        ("Screw clamp, quick release", "clamps", "cast iron", "powder coated blue", "clamp", (600, 450)),
        ("Hose clamp with worm drive", "clamps", "stainless steel", "blank", "ring", (350, 350)),
        ("Spur gear with hub", "gears", "steel", "blank", "gear", (600, 600)),
        ("Spur gear, injection moulded", "gears", "polyamide", "black", "gear", (512, 512)),
        ("Bevel gear pair", "gears", "steel", "case hardened", "gear", (700, 500)),
        ("Gear rack, straight toothed", "gears", "steel", "blank", "rack", (1200, 300)),
        ("Worm wheel", "gears", "bronze", "natural", "gear", (450, 450)),
        ("Hydraulic scissor lift table", "lifting", "steel", "powder coated blue", "lift", (800, 600)),
        (
            "Mobile scissor lift table with foot pump",
            "lifting",
            "steel",
            "powder coated yellow",
            "lift",
            (600, 800),
        ),
        ("Swivel castor with brake", "castors", "polyurethane", "orange", "wheel", (500, 600)),
        ("Fixed castor, heavy duty", "castors", "cast iron", "galvanised", "wheel", (600, 500)),
        ("Compression spring", "springs", "steel", "blank", "spring", (300, 700)),
        ("Gas spring with eyelets", "springs", "steel", "black", "rack", (1000, 250)),
        ("Star grip knob", "knobs", "polyamide", "black", "knob", (400, 400)),
        ("Cranked handle, revolving grip", "knobs", "aluminium", "anodised", "knob", (500, 380)),
        ("Cabinet U-handle", "handles", "aluminium", "anodised silver", "rack", (900, 300)),
        ("Hexagon nut, self-locking", "fasteners", "stainless steel", "blank", "nut", (256, 256)),
        ("Wing nut", "fasteners", "brass", "natural", "nut", (320, 240)),
    ]
    products = []
    entries: list[Row] = [(*row, "own") for row in rows] + FLAWED
    for index, (name, category, material, finish, shape, size, photo) in enumerate(entries):
        slug = "-".join(name.lower().replace(",", "").split()[:5])
        description = (
            f"{name} made of {material}, {finish}. Suited for machines, fixtures and industrial equipment. "
            f"Article no. {41000 + index * 17}, delivered ready to install."
        )
        products.append(Product(slug, name, category, material, finish, description, shape, size, photo))
    return products


PRODUCTS = _products()


def draw_product(product: Product, seed: int) -> Image.Image:
    """A photo-like picture: a light studio background, a shaded part in its material's colour."""
    rng = random.Random(seed)
    width, height = product.size
    image = Image.new("RGB", (width, height), (245, 245, 242))
    draw = ImageDraw.Draw(image)
    for y in range(height):  # a soft vertical gradient
        shade = 250 - int(30 * y / height)
        draw.line([(0, y), (width, y)], fill=(shade, shade, shade - 3))
    colour = COLOURS.get(product.material, (150, 150, 150))
    if "blue" in product.finish:
        colour = (40, 90, 170)
    elif "yellow" in product.finish:
        colour = (230, 190, 30)
    elif "black" in product.finish:
        colour = (35, 35, 38)
    cx, cy, r = width / 2, height / 2, min(width, height) * 0.35
    outline = tuple(max(0, c - 60) for c in colour)
    if product.shape in ("bearing", "ring", "wheel"):
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=colour, outline=outline, width=6)
        inner = r * (0.45 if product.shape != "ring" else 0.8)
        draw.ellipse(
            [cx - inner, cy - inner, cx + inner, cy + inner], fill=(235, 235, 232), outline=outline, width=4
        )
    elif product.shape == "gear":
        teeth = rng.randint(14, 24)
        points = []
        for k in range(teeth * 2):
            angle = math.pi * k / teeth
            radius = r if k % 2 == 0 else r * 0.82
            points.append((cx + radius * math.cos(angle), cy + radius * math.sin(angle)))
        draw.polygon(points, fill=colour, outline=outline)
        draw.ellipse([cx - r * 0.2, cy - r * 0.2, cx + r * 0.2, cy + r * 0.2], fill=(235, 235, 232))
    elif product.shape == "clamp":  # a C-frame and its screw
        thick = r * 0.25
        draw.rectangle([cx - r, cy - r, cx - r + thick, cy + r], fill=colour, outline=outline, width=4)
        for top in (cy - r, cy + r - thick):
            draw.rectangle([cx - r, top, cx + r * 0.6, top + thick], fill=colour, outline=outline, width=4)
        draw.line([cx + r * 0.3, cy - r * 1.3, cx + r * 0.3, cy + r * 0.4], fill=(60, 60, 60), width=12)
    elif product.shape == "ball":
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=colour, outline=outline, width=5)
        draw.ellipse([cx - r * 0.5, cy - r * 0.6, cx - r * 0.1, cy - r * 0.2], fill=(120, 120, 125))
        draw.rectangle([cx - r * 0.15, cy + r, cx + r * 0.15, cy + r * 1.4], fill=(150, 150, 150))
    elif product.shape in ("hinge", "lift"):
        draw.rectangle(
            [cx - r * 1.1, cy - r * 0.6, cx - r * 0.05, cy + r * 0.6], fill=colour, outline=outline, width=4
        )
        draw.rectangle(
            [cx + r * 0.05, cy - r * 0.6, cx + r * 1.1, cy + r * 0.6], fill=colour, outline=outline, width=4
        )
        for dy in (-0.3, 0.3):
            for dx in (-0.6, 0.6):
                draw.ellipse(
                    [cx + r * dx - 8, cy + r * dy - 8, cx + r * dx + 8, cy + r * dy + 8], fill=(60, 60, 60)
                )
        if product.shape == "lift":
            draw.line([cx - r, cy + r * 0.6, cx + r, cy - r * 0.6], fill=outline, width=10)
            draw.line([cx - r, cy - r * 0.6, cx + r, cy + r * 0.6], fill=outline, width=10)
    elif product.shape == "spring":
        for k in range(10):
            top = cy - r * 1.2 + k * r * 0.26
            draw.ellipse([cx - r * 0.5, top, cx + r * 0.5, top + r * 0.3], outline=colour, width=8)
    elif product.shape == "nut":
        points = [(cx + r * math.cos(math.pi * k / 3), cy + r * math.sin(math.pi * k / 3)) for k in range(6)]
        draw.polygon(points, fill=colour, outline=outline)
        draw.ellipse([cx - r * 0.45, cy - r * 0.45, cx + r * 0.45, cy + r * 0.45], fill=(235, 235, 232))
    else:  # rack, knob and handle shapes: a bar with rounded ends
        draw.rounded_rectangle(
            [width * 0.1, cy - r * 0.35, width * 0.9, cy + r * 0.35],
            radius=int(r * 0.3),
            fill=colour,
            outline=outline,
            width=5,
        )
    return image.filter(ImageFilter.GaussianBlur(0.8))


def image_bytes(product: Product, index: int) -> tuple[bytes, str]:
    image = draw_product(product, seed=index)
    buffer = io.BytesIO()
    if index % 3 == 0:
        image.save(buffer, "PNG")
        return buffer.getvalue(), "image/png"
    image.save(buffer, "JPEG", quality=90)
    return buffer.getvalue(), "image/jpeg"


def placeholder_image() -> bytes:
    """A shop's "no image" picture: a grey frame with a crossed-out camera."""
    image = Image.new("RGB", (600, 600), (236, 236, 236))
    draw = ImageDraw.Draw(image)
    draw.rectangle([150, 210, 450, 420], outline=(170, 170, 170), width=12)
    draw.ellipse([240, 250, 360, 370], outline=(170, 170, 170), width=12)
    draw.line([120, 480, 480, 150], fill=(170, 170, 170), width=14)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def half_size_jpeg(data: bytes) -> bytes:
    with Image.open(io.BytesIO(data)) as image:
        smaller = image.convert("RGB").resize((image.width // 2, image.height // 2))
    buffer = io.BytesIO()
    smaller.save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


def catalog_images() -> dict[str, tuple[bytes, str] | None]:
    """Each product's image (bytes, content type) by slug; None for a dead link."""
    images: dict[str, tuple[bytes, str] | None] = {}
    placeholder = placeholder_image()
    for index, product in enumerate(PRODUCTS):
        kind, _, other = product.photo.partition(":")
        if kind == "own":
            images[product.slug] = image_bytes(product, index)
        elif kind == "placeholder":
            images[product.slug] = (placeholder, "image/png")
        elif kind == "same":
            images[product.slug] = images[other]
        elif kind == "smaller":
            original = images[other]
            assert original is not None
            images[product.slug] = (half_size_jpeg(original[0]), "image/jpeg")
        else:
            images[product.slug] = None
    return images


def product_page(product: Product, image_url: str) -> bytes:
    data = {
        "@context": "https://schema.org",
        "@type": "Product",
        "name": product.name,
        "image": image_url,
        "description": product.description,
        "material": product.material,
        "additionalProperty": [{"@type": "PropertyValue", "name": "Finish", "value": product.finish}],
        "offers": {"@type": "Offer", "priceCurrency": "EUR", "price": "9.90"},
    }
    title = html.escape(product.name)
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title} | Demo Parts</title>'
        '<meta property="og:type" content="product">'
        f'<script type="application/ld+json">{json.dumps(data)}</script></head>'
        f'<body><h1>{title}</h1><img src="{image_url}" alt="{title}">'
        f"<p>{html.escape(product.description)}</p></body></html>"
    ).encode()


def serve_catalog(server: LocalServer) -> str:
    """Adds the catalog's routes to `server`; returns its sitemap index URL."""
    base = server.base
    html_type = {"Content-Type": "text/html; charset=utf-8"}
    categories = sorted({product.category for product in PRODUCTS})
    for product, image in zip(PRODUCTS, catalog_images().values(), strict=True):
        extension = "png" if image is None or image[1] == "image/png" else "jpg"
        image_path = f"/img/{product.slug}.{extension}"  # a dead link has no route: 404
        if image is not None:
            server.routes[image_path] = Reply(body=image[0], headers={"Content-Type": image[1]})
        server.routes[f"/product/{product.slug}"] = Reply(
            body=product_page(product, image_path), headers=html_type
        )
    for category in categories:
        links = "".join(
            f'<li><a href="/product/{p.slug}">{html.escape(p.name)}</a></li>'
            for p in PRODUCTS
            if p.category == category
        )
        page = (
            f"<!doctype html><html><head><title>{category}</title></head><body><ul>{links}</ul></body></html>"
        )
        server.routes[f"/category/{category}"] = Reply(body=page.encode(), headers=html_type)
    product_urls = "".join(f"<url><loc>{base}/product/{p.slug}</loc></url>" for p in PRODUCTS)
    category_urls = "".join(f"<url><loc>{base}/category/{c}</loc></url>" for c in categories)
    namespace = 'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"'
    server.routes["/sitemaps/products.xml.gz"] = Reply(
        headers={"Content-Type": "application/x-gzip"},
        body=gzip.compress(
            f'<?xml version="1.0"?><urlset {namespace}>{product_urls}</urlset>'.encode(), mtime=0
        ),
    )
    server.routes["/sitemaps/categories.xml"] = Reply(
        headers={"Content-Type": "application/xml"},
        body=f'<?xml version="1.0"?><urlset {namespace}>{category_urls}</urlset>'.encode(),
    )
    server.routes["/sitemap_index.xml"] = Reply(
        headers={"Content-Type": "application/xml"},
        body=(
            f'<?xml version="1.0"?><sitemapindex {namespace}>'
            f"<sitemap><loc>{base}/sitemaps/products.xml.gz</loc></sitemap>"
            f"<sitemap><loc>{base}/sitemaps/categories.xml</loc></sitemap></sitemapindex>"
        ).encode(),
    )
    server.routes["/robots.txt"] = Reply(
        body=f"User-agent: *\nDisallow: /checkout/\nSitemap: {base}/sitemap_index.xml\n".encode()
    )
    return f"{base}/sitemap_index.xml"
