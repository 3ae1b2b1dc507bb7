"""import-catalog and export-catalog as users run them (main.py, against the test's database):
idempotent by slug and SKU, dry run, rejected rows with line numbers, all or nothing unless
--partial, the example file, and a round trip export -> import that changes nothing."""

from __future__ import annotations

import asyncio
import csv
import os
import subprocess
import sys
from pathlib import Path

import httpx

from tests.shop import checkout, global_id, new_cart
from tests.support import RunningServer, graphql, sql

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "demo" / "catalog-example.csv"
HEADER = "product_slug,product_name,description,category,category_name,active,images,sku,variant_name,price,stock,position\n"


async def run(database_env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if key != "TEST_DATABASE_URL"}
    env.update({**database_env, "LOG_LEVEL": "warning", "PAYMENT_SANDBOX": "on"})
    return await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "main.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


async def catalog_state(database_url: str) -> list[tuple]:
    rows = await sql(
        database_url,
        "SELECT p.slug, p.name, p.description, p.is_active, p.images::text, c.slug AS category,"
        " v.sku, v.name AS variant, v.price, v.stock, v.position"
        " FROM product_variants v JOIN products p ON p.id = v.product_id"
        " LEFT JOIN categories c ON c.id = p.category_id ORDER BY v.sku",
    )
    return [tuple(row) for row in rows]


async def test_the_example_file_loads_once_and_again_changes_nothing(
    database_url: str, database_env: dict[str, str], client: httpx.AsyncClient, tmp_path: Path
) -> None:
    dry = await run(database_env, "import-catalog", str(EXAMPLE), "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "dry run, nothing written" in dry.stdout and "products 3 created" in dry.stdout
    assert not await sql(database_url, "SELECT 1 FROM products WHERE slug = 'trail-runner-shoe'")

    first = await run(database_env, "import-catalog", str(EXAMPLE))
    assert first.returncode == 0, first.stderr
    assert "products 3 created" in first.stdout and "variants 5 created" in first.stdout
    before = await catalog_state(database_url)

    again = await run(database_env, "import-catalog", str(EXAMPLE))
    assert "products 0 created, 0 updated; variants 0 created, 0 updated, 5 unchanged" in again.stdout
    assert await catalog_state(database_url) == before

    shoe = await sql(
        database_url,
        "SELECT p.images, p.description, c.name FROM products p JOIN categories c ON c.id = p.category_id"
        " WHERE p.slug = 'trail-runner-shoe'",
    )
    assert shoe[0].images[0] == {
        "url": "https://images.example.com/trail-runner/side.jpg",
        "alt": "Side view",
    }
    assert shoe[0].images[1]["alt"] is None
    assert shoe[0].description.splitlines() == [
        "Light trail shoe with a grippy sole.",
        "Breathable mesh upper.",
    ]
    assert shoe[0].name == "Running shoes"
    flask = await sql(database_url, "SELECT is_active FROM products WHERE slug = 'discontinued-flask'")
    assert flask[0].is_active is False

    # The storefront sees it at once (the catalog cache is dropped by the write).
    body = await graphql(
        client, '{ product(slug: "merino-beanie") { name variants { sku price { amount } } } }'
    )
    assert body["data"]["product"]["variants"][0] == {"sku": "MB-GRY", "price": {"amount": 2499}}

    # Export, import the export: nothing changes; the export has the example's rows.
    out = tmp_path / "export.csv"
    exported = await run(database_env, "export-catalog", str(out))
    assert exported.returncode == 0, exported.stderr
    with out.open(newline="") as stream:
        rows = {row["sku"]: row for row in csv.DictReader(stream)}
    assert rows["TRS-43-BLU"]["price"] == "8999" and rows["TRS-43-BLU"]["category"] == "running-shoes"
    assert rows["SF-500"]["active"] == "false"
    catalog_before = await catalog_state(database_url)
    reimport = await run(database_env, "import-catalog", str(out))
    assert reimport.returncode == 0, reimport.stderr
    assert "products 0 created, 0 updated; variants 0 created, 0 updated" in reimport.stdout, reimport.stdout
    assert await catalog_state(database_url) == catalog_before


async def test_a_bad_file_imports_nothing_unless_partial(
    database_url: str, database_env: dict[str, str], tmp_path: Path
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(
        HEADER
        + "good-one,Good One,,,,true,,G-1,One,100,5,0\n"
        + "Bad Slug,Bad,,,,true,,B-1,One,100,5,0\n"
        + "good-two,Good Two,,,,true,,G-2,One,-3,5,0\n"
        + "good-three,Good Three,,,,maybe,,G-3,One,100,5,0\n"
        + "good-one,Good One,,,,true,,G-1,Again,100,5,0\n"
        + "good-one,Other name,,,,true,,G-4,Two,100,5,0\n"
        + "good-four,Good Four,,,,true,ftp://x/y.jpg,G-5,One,100,5,0\n"
        + "short,row\n"
    )
    refused = await run(database_env, "import-catalog", str(bad))
    assert refused.returncode == 1
    lines = refused.stderr.splitlines()
    assert [line.split(":")[0] for line in lines] == [f"line {n}" for n in (3, 4, 5, 6, 7, 8, 9)], lines
    assert "product_slug: A slug is" in lines[0] and "price" in lines[1] and "active" in lines[2]
    assert "SKU 'G-1' is on line 2 already" in lines[3] and "other product columns on line 2" in lines[4]
    assert "nothing imported" in refused.stdout
    assert not await sql(database_url, "SELECT 1 FROM product_variants WHERE sku LIKE 'G-%'")

    partial = await run(database_env, "import-catalog", str(bad), "--partial")
    assert partial.returncode == 0, partial.stderr
    assert [
        row.sku for row in await sql(database_url, "SELECT sku FROM product_variants WHERE sku LIKE 'G-%'")
    ] == ["G-1"]

    header_only = tmp_path / "header.csv"
    header_only.write_text("sku,price,colour\nA,1,red\n")
    wrong = await run(database_env, "import-catalog", str(header_only))
    assert wrong.returncode == 1 and "line 1: Required columns missing" in wrong.stderr


async def test_stock_never_below_what_checkouts_hold_and_skus_stay_with_their_product(
    database_url: str, database_env: dict[str, str], client: httpx.AsyncClient, tmp_path: Path
) -> None:
    file = tmp_path / "catalog.csv"
    file.write_text(HEADER + "held,Held,,,,true,,H-1,One,100,5,0\nother,Other,,,,true,,O-1,One,100,5,0\n")
    assert (await run(database_env, "import-catalog", str(file))).returncode == 0
    (variant,) = await sql(database_url, "SELECT id FROM product_variants WHERE sku = 'H-1'")
    token = await new_cart(client, global_id("ProductVariant", variant.id), 3)
    await checkout(client, token)
    file.write_text(HEADER + "held,Held,,,,true,,H-1,One,100,2,0\nheld,Held,,,,true,,O-1,One,100,5,0\n")
    refused = await run(database_env, "import-catalog", str(file))
    assert refused.returncode == 1
    assert "line 2: stock 2 is below the 3 unit(s) held by open checkouts" in refused.stderr
    assert "line 3: SKU 'O-1' belongs to product 'other'" in refused.stderr
    (row,) = await sql(database_url, "SELECT stock, reserved FROM product_variants WHERE sku = 'H-1'")
    assert (row.stock, row.reserved) == (5, 3)
    # An empty stock keeps what is there.
    file.write_text(HEADER + "held,Held,,,,true,,H-1,One,150,,0\n")
    assert (await run(database_env, "import-catalog", str(file))).returncode == 0
    (row,) = await sql(database_url, "SELECT stock, price FROM product_variants WHERE sku = 'H-1'")
    assert (row.stock, row.price) == (5, 150)
    # Stock set by the import is in the ledger, as every stock change is; a deleted variant named
    # again comes back.
    await sql(database_url, "UPDATE product_variants SET deleted_at = now() WHERE sku = 'H-1'")
    file.write_text(HEADER + "held,Held,,,,true,,H-1,One,150,9,0\n")
    assert (await run(database_env, "import-catalog", str(file))).returncode == 0
    ledger = await sql(
        database_url,
        "SELECT m.delta, m.quantity_after, m.reason, m.note FROM inventory_movements m"
        " JOIN product_variants v ON v.id = m.variant_id WHERE v.sku = 'H-1' ORDER BY m.id",
    )
    assert [tuple(entry) for entry in ledger] == [
        (5, 5, "initial", "catalog import"),
        (4, 9, "correction", "catalog import"),
    ]
    (row,) = await sql(database_url, "SELECT deleted_at FROM product_variants WHERE sku = 'H-1'")
    assert row.deleted_at is None


async def test_skus_repeated_across_chunks_are_found(
    database_url: str, tmp_path: Path, server: RunningServer
) -> None:
    from domain import catalog_import

    rows = [f"p-{n},P {n},,,,true,,S-{n},One,100,1,0\n" for n in range(catalog_import.CHUNK + 10)]
    rows.append("p-1,P 1,,,,true,,S-1,Again,100,1,0\n")
    report = await catalog_import.import_catalog(server.app.state.engine, [HEADER, *rows])
    assert [(r.line, r.reason) for r in report.rejected] == [
        (catalog_import.CHUNK + 12, "SKU 'S-1' is on line 3 already")
    ]
    assert not report.applied


async def test_attribute_columns_set_exactly_the_values_named_and_export_writes_them(
    database_url: str, server: RunningServer
) -> None:
    import io

    from domain import catalog_export, catalog_import

    engine = server.app.state.engine
    await sql(
        database_url,
        "INSERT INTO attributes (slug, name, input_type) VALUES"
        " ('csv-brand', 'Brand', 'DROPDOWN'), ('csv-colour', 'Colour', 'DROPDOWN'), ('csv-tags', 'Tags', 'MULTISELECT')",
    )
    header = HEADER.rstrip("\n") + ",attribute:csv-brand,attribute:csv-tags,variant_attribute:csv-colour\n"
    rows = [
        "tee,Tee,,,,true,,TEE-R,Red,100,1,0,acme,soft|cotton,red\n",
        "tee,Tee,,,,true,,TEE-B,Blue,100,1,1,acme,soft|cotton,blue\n",
    ]
    first = await catalog_import.import_catalog(engine, [header, *rows])
    assert first.applied and first.attribute_values_changed == 3 + 2, first.summary()
    values = await sql(
        database_url,
        "SELECT a.slug, av.slug AS value FROM product_attribute_values x JOIN attributes a ON a.id = x.attribute_id"
        " JOIN attribute_values av ON av.id = x.value_id JOIN products p ON p.id = x.product_id"
        " WHERE p.slug = 'tee' ORDER BY 1, 2",
    )
    assert [tuple(row) for row in values] == [
        ("csv-brand", "acme"),
        ("csv-tags", "cotton"),
        ("csv-tags", "soft"),
    ]
    again = await catalog_import.import_catalog(engine, [header, *rows])
    assert again.attribute_values_changed == 0 and again.variants_unchanged == 2

    # An empty cell clears; a single-valued attribute takes one value; an unknown attribute is refused.
    changed = [rows[0].replace("soft|cotton", ""), rows[1].replace("soft|cotton", "")]
    assert (await catalog_import.import_catalog(engine, [header, *changed])).attribute_values_changed == 2
    two_brands = await catalog_import.import_catalog(engine, [header, rows[0].replace("acme", "acme|other")])
    assert "attribute:csv-brand: takes one value" in two_brands.rejected[0].reason
    unknown = await catalog_import.import_catalog(
        engine, [HEADER.rstrip("\n") + ",attribute:nope\n", "tee,Tee,,,,true,,TEE-R,Red,100,1,0,x\n"]
    )
    assert "no such attribute" in unknown.rejected[0].reason and not unknown.applied

    out = io.StringIO()
    await catalog_export.export_catalog(engine, out)
    exported = {row["sku"]: row for row in csv.DictReader(io.StringIO(out.getvalue()))}
    assert (
        exported["TEE-B"]["attribute:csv-brand"] == "acme"
        and exported["TEE-B"]["variant_attribute:csv-colour"] == "blue"
    )
