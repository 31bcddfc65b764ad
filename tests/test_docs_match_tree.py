"""The README's Layout section and docs/architecture.md describe the tree as it is, and name no missing path."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
ARCHITECTURE = (ROOT / "docs" / "architecture.md").read_text()


def _packages() -> list[Path]:
    return sorted(p.parent for p in ROOT.glob("*/__init__.py") if p.parent.name != "tests")


def _layout_block() -> str:
    section = README.split("## Layout", 1)[1]
    return section.split("```", 2)[1]


def test_every_top_level_package_and_subpackage_is_in_the_readme_layout_and_the_architecture_page():
    layout = _layout_block()
    for package in _packages():
        assert f"{package.name}/" in layout, f"README Layout does not name {package.name}/"
        assert f"{package.name}/" in ARCHITECTURE, f"docs/architecture.md does not name {package.name}/"
        for sub in sorted(p.parent for p in package.glob("*/__init__.py")):
            assert f"{sub.name}/" in layout, f"README Layout does not name {package.name}/{sub.name}/"


def test_the_layout_names_no_folder_that_is_gone():
    layout = _layout_block()
    for name in re.findall(r"^(\w+)/", layout, flags=re.MULTILINE):
        assert (ROOT / name).is_dir(), f"README Layout names {name}/, which does not exist"


def test_the_architecture_page_shows_the_layers_the_contract_enforces():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    [layers] = [c["layers"] for c in config["contracts"] if c["type"] == "layers"]
    for layer in layers:
        for package in layer.split("|"):
            assert f"{package.strip()}/" in ARCHITECTURE
    for package in config["root_packages"]:
        assert f"{package}/" in ARCHITECTURE


def test_every_repository_path_named_in_the_readme_and_docs_exists():
    roots = "|".join(["hoso", "hosoctl", "producers", "streams", "consumers", "schemas", "zalo_simulator", "tests"])
    pattern = re.compile(rf"`((?:{roots})/[\w./-]*\w)`")
    missing = []
    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for path in pattern.findall(doc.read_text()):
            if not (ROOT / path.split("::")[0]).exists():
                missing.append(f"{doc.name}: {path}")
    assert missing == []
