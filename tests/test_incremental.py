"""After an incremental re-crawl only the changes flow on: label answers only new and changed texts,
assemble updates changed samples in place and, with --drop-gone, removes the shop's gone ones."""

import dataclasses

import pytest

from pipeline.demo.catalog import PRODUCTS, product_page, serve_catalog
from pipeline.label.backends.rules import RulesBackend
from pipeline.label.config import LabelConfig
from pipeline.label.stage import checkpoint_path, run_label
from pipeline.testing.server import LocalServer, Reply
from tests.helpers import raw, read_json, run_cli, write_json
from tests.test_crawl import HTML
from tests.test_end_to_end import FAST, ilid, run_catalog


class Counting:
    """The rules backend (no model), recording the image URLs it is asked to label."""

    def __init__(self, interrupt_after: int | None = None):
        self.inner = RulesBackend(LabelConfig(backend="rules"))
        self.name, self.default_batch_size = self.inner.name, 2
        self.labeled: list[str] = []
        self.interrupt_after = interrupt_after

    def label(self, batch):
        if self.interrupt_after is not None and len(self.labeled) >= self.interrupt_after:
            raise KeyboardInterrupt  # Ctrl-C after some batches
        self.labeled += [item.url for item in batch]
        return self.inner.label(batch)


def test_label_answers_only_new_and_changed_products(tmp_path):
    first = [raw(f"http://shop/{n}.jpg", f"Hinge {n}", "stainless steel, brushed") for n in range(4)]
    output = tmp_path / "processed.json"
    run_label(write_json(tmp_path / "pre.json", first), output, LabelConfig(backend="rules"), Counting())
    before = {item["url"]: item for item in read_json(output)}

    second = [
        first[0],
        raw("http://shop/1.jpg", "Ball bearing", "chrome steel"),  # changed text
        first[3],
        raw("http://shop/9.jpg", "Spur gear", "polyamide"),  # new; 2.jpg is gone
        raw("http://shop/0b.jpg", "Hinge 0", "stainless steel, brushed"),  # same text, another image
    ]
    counting = Counting()
    summary = run_label(
        write_json(tmp_path / "pre2.json", second),
        output,
        LabelConfig(backend="rules"),
        counting,
        reuse=output,
    )
    assert sorted(counting.labeled) == ["http://shop/1.jpg", "http://shop/9.jpg"]
    after = read_json(output)
    assert [item["url"] for item in after] == [item["url"] for item in second]
    assert after[0] == before["http://shop/0.jpg"] and after[2] == before["http://shop/3.jpg"]
    assert after[1]["label_short"] != before["http://shop/1.jpg"]["label_short"]
    assert after[4]["url"] == "http://shop/0b.jpg" and after[4]["label_long"] == after[0]["label_long"]
    assert summary.notes["reused"] == 3 and not checkpoint_path(output).exists()


def test_an_interrupted_label_resumes_by_product_text_on_a_reordered_file(tmp_path):
    items = [raw(f"http://shop/{n}.jpg", f"Clamp {n}", "galvanised") for n in range(6)]
    output = tmp_path / "processed.json"
    interrupted = Counting(interrupt_after=2)
    with pytest.raises(KeyboardInterrupt):
        run_label(write_json(tmp_path / "pre.json", items), output, LabelConfig(backend="rules"), interrupted)
    assert len(interrupted.labeled) == 2 and checkpoint_path(output).exists()
    counting = Counting()
    run_label(write_json(tmp_path / "pre2.json", items[::-1]), output, LabelConfig(backend="rules"), counting)
    assert sorted(interrupted.labeled + counting.labeled) == sorted(item["url"] for item in items)
    assert [item["url"] for item in read_json(output)] == [item["url"] for item in items[::-1]]


def postfiltered(url: str, short: str, source_folder: str = "hinge") -> dict:
    return {
        **raw(url, "title", "text"),
        "response": ["..."],
        "label_short": short,
        "label_long": f"{short}, long",
        "description": None,
        "material": "steel",
        "material_finish": None,
        "folder_name": source_folder,
    }


def test_assemble_updates_changed_samples_in_place_and_drops_gone_ones(tmp_path):
    dataset = tmp_path / "dataset.json"
    other = write_json(tmp_path / "other.json", [postfiltered("http://rs/1.jpg", "relay", "relay")])
    assert run_cli("assemble", "-i", other, "--dataset", dataset, "--source-tag", "rs").exit_code == 0
    shop = [postfiltered(f"http://shop/{n}.jpg", f"hinge {n}") for n in range(3)]
    first = write_json(tmp_path / "p1.json", shop)
    assert run_cli("assemble", "-i", first, "--dataset", dataset, "--source-tag", "shop").exit_code == 0
    before = {sample["url"]: sample for sample in read_json(dataset)}

    changed = {**shop[1], "label_short": "brass hinge", "folder_name": "brass_hinge"}
    second = write_json(tmp_path / "p2.json", [shop[0], changed, postfiltered("http://shop/7.jpg", "gear")])
    result = run_cli("assemble", "-i", second, "--dataset", dataset, "--source-tag", "shop", "--drop-gone")
    assert result.exit_code == 0, result.stderr
    after = read_json(dataset)
    assert [sample["url"] for sample in after] == [
        "http://rs/1.jpg",  # another shop's sample: untouched
        "http://shop/0.jpg",
        "http://shop/1.jpg",
        "http://shop/7.jpg",
    ]  # 2.jpg is gone
    assert after[0] == before["http://rs/1.jpg"] and after[1] == before["http://shop/0.jpg"]
    assert after[2] == {**before["http://shop/1.jpg"], "label_short": "brass hinge"}  # same id and image
    stats = read_json(tmp_path / "dataset.json.stats.json")
    assert (stats["updated"], stats["gone"], stats["added"], stats["dataset size"]) == (1, 1, 1, 4)

    result = run_cli("assemble", "-i", second, "--dataset", dataset, "--source-tag", "shop")
    assert result.exit_code == 0 and read_json(dataset) == after  # nothing changed: nothing moves


def test_after_an_incremental_crawl_ilid_run_labels_and_updates_only_the_changed_product(tmp_path):
    """The demo catalog (no lastmod, no validators: every page is fetched and compared) with one product
    rewritten: the re-crawl counts it changed, label answers only it, assemble updates it in place,
    download fetches nothing."""
    with LocalServer() as server:
        sitemap = serve_catalog(server)
        spider = ["-a", f"sitemap={sitemap}", "-a", "product_url=/product/", *FAST]
        first = run_catalog(tmp_path, sitemap)
        assert first.returncode == 0, first.stderr[-3000:]
        before = {sample["url"]: sample for sample in read_json(tmp_path / "dataset.json")}

        product = PRODUCTS[0]
        rewritten = dataclasses.replace(
            product, material="brass", description="Lift-off hinge made of brass."
        )
        route = f"/product/{product.slug}"
        image = next(path for path in server.routes if path.startswith(f"/img/{product.slug}."))
        server.routes[route] = Reply(body=product_page(rewritten, image), headers=HTML)
        raw = tmp_path / "shop_raw.json"
        crawl = ilid("crawl", "structured", "-o", raw, "--since", raw, *spider)
        assert crawl.returncode == 0, crawl.stderr[-3000:]
        stats = read_json(tmp_path / "shop_raw.json.stats.json")
        assert (stats["unchanged"], stats["changed"], stats["new"], stats["gone"]) == (
            len(PRODUCTS) - 1,
            1,
            0,
            0,
        )

        images = sum(path.startswith("/img/") for path in server.requests)
        second = run_catalog(tmp_path, sitemap)
        assert second.returncode == 0, second.stderr[-3000:]
        # No image fetched again but the catalog's dead link, which every run tries once more.
        assert sum(path.startswith("/img/") for path in server.requests) == images + 1
    label = read_json(tmp_path / "shop_processed.json.stats.json")
    assert label["reused"] == len(PRODUCTS) - 1
    assemble = read_json(tmp_path / "dataset.json.stats.json")
    assert (assemble["updated"], assemble["added"], assemble["dataset size"]) == (1, 0, len(PRODUCTS))
    after = {sample["url"]: sample for sample in read_json(tmp_path / "dataset.json")}
    changed = [url for url in after if after[url] != before[url]]
    assert len(changed) == 1 and after[changed[0]]["material"] == "brass"
    assert after[changed[0]]["id"] == before[changed[0]]["id"]
