"""Install the JavaScript assets the book serves itself, so no page needs a CDN.

By default a Jupyter Book page loads MathJax 3, require.js, the ipywidgets
HTML manager (``embed-amd.js``) and Thebe from public CDNs; offline (a campus
intranet, these machines) equations stay raw and widgets never appear. This
script fetches pinned releases from the npm registry with ``npm pack`` (the
tarball alone, without the packages' build-time dependencies), checks each
tarball against its pinned sha512 integrity, and unpacks the files the pages
need into ``_vendor/`` (git-ignored). ``_config.yml`` lists ``_vendor`` in
``html_static_path``, so every build copies them to ``_build/html/_static/``.

``make assets`` runs it; the book's Sphinx extension (tools/book_offline.py)
also calls :func:`ensure` at the start of every build, which returns at once
when ``_vendor/VERSIONS.json`` already records the pinned versions.

The tests' own browser scripts (axe-core, which tests/test_accessibility.py
injects into every page) come the same way but go to ``_build/test-vendor/``
(:func:`ensure_test_assets`), so the published book does not carry them.
"""

import argparse
import base64
import fnmatch
import hashlib
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENDOR = ROOT / "_vendor"
STAMP = VENDOR / "VERSIONS.json"
TEST_VENDOR = ROOT / "_build" / "test-vendor"


@dataclass(frozen=True)
class Asset:
    """One npm release: which files of its tarball go where under _vendor/."""

    name: str  # the folder under _vendor/ (and so under _static/)
    package: str
    version: str
    integrity: str  # the registry's sha512, as `npm view PKG@VER dist.integrity` prints it
    source: str  # the folder inside the tarball the patterns are relative to
    include: tuple[str, ...]  # fnmatch patterns, relative to ``source``


ASSETS = (
    Asset(
        name="mathjax",
        package="mathjax",
        version="3.2.2",
        integrity="sha512-Bt+SSVU8eBG27zChVewOicYs7Xsdt40qm4+UpHyX7k0/O9NliPc+x77k1/FEsPsjKPZGJvtRZM1vO+geW0OhGw==",
        source="package/es5",
        # The combined TeX/MathML -> CommonHTML component, its web fonts, and
        # what it loads lazily (TeX extensions, the menu, accessibility tools).
        include=(
            "tex-mml-chtml.js",
            "output/chtml/fonts/woff-v2/*",
            "input/tex/extensions/*",
            "ui/*",
            "a11y/*",
            "sre/*",
        ),
    ),
    Asset(
        name="requirejs",
        package="requirejs",
        version="2.3.7",
        integrity="sha512-DouTG8T1WanGok6Qjg2SXuCMzszOo0eHeH9hDZ5Y4x8Je+9JB38HdTLT4/VA8OaUhBa0JPVHJ0pyBkM1z+pDsw==",
        source="package",
        include=("require.js",),
    ),
    Asset(
        # The ipywidgets 8 manager that renders saved widget state in a static page.
        name="html-manager",
        package="@jupyter-widgets/html-manager",
        version="1.0.15",
        integrity="sha512-5thBIV6ymNgmPVOHvzx+gGy8ZSKmSazhtGw4/c4xJDVzRhG9PTeQsRjF3FUTopvFi//SABeNz1yp47bCrJ3CQA==",
        source="package/dist",
        include=("embed-amd.js", "*.woff", "*.woff2", "*.eot", "*.svg", "*.ttf"),
    ),
    Asset(
        # Thebe 0.9 bundles the ipywidgets 8 controls (0.8 only knew ipywidgets 7).
        name="thebe",
        package="thebe",
        version="0.9.3",
        integrity="sha512-Rb/7kVhtlffXra3kIe7OuIGE7awsm2/fGWxw21DiNfnWLnUQiDl9AWqYdshPwZPG/5DzLpsJRPix2xtCPtJmQQ==",
        source="package/lib",
        include=("*.js", "thebe.css"),
    ),
)

# Only the tests load these (never copied into the book).
TEST_ASSETS = (
    Asset(
        # Deque's accessibility rules engine (WCAG 2.1 A/AA checks), injected into each page.
        name="axe-core",
        package="axe-core",
        version="4.14.1",
        integrity="sha512-FHfa+lmNjQZfJz1q8wKqIDwC6DExcHt/pkjNQb09a3NPjCKg2rhu5qb2S4r76ASyFNNtuFooJpZe37OgudVGtQ==",
        source="package",
        include=("axe.min.js", "LICENSE"),
    ),
)


def pinned(assets: tuple[Asset, ...] = ASSETS) -> dict[str, str]:
    return {a.name: f"{a.package}@{a.version} {a.integrity}" for a in assets}


def is_installed(assets: tuple[Asset, ...] = ASSETS, vendor: Path = VENDOR) -> bool:
    try:
        stamp = vendor / STAMP.name
        return json.loads(stamp.read_text(encoding="utf-8")) == pinned(assets)
    except (OSError, ValueError):
        return False


def sri(path: Path) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(path.read_bytes()).digest()).decode()


def npm_pack(asset: Asset, folder: Path) -> Path:
    """Download the release tarball with npm (its cache makes a repeat instant)."""
    npm = shutil.which("npm")
    if npm is None:
        raise SystemExit(
            "npm が見つかりません。Node.js (npm) を入れてから `make assets` を実行してください。"
        )
    spec = f"{asset.package}@{asset.version}"
    result = subprocess.run(
        [npm, "pack", "--json", "--pack-destination", str(folder), spec],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise SystemExit(f"npm pack {spec} failed:\n{result.stderr}")
    tarball = folder / json.loads(result.stdout)[0]["filename"]
    if sri(tarball) != asset.integrity:
        raise SystemExit(f"{tarball.name}: integrity mismatch (expected {asset.integrity})")
    return tarball


def unpack(asset: Asset, tarball: Path, target: Path) -> int:
    count = 0
    prefix = asset.source.rstrip("/") + "/"
    with tarfile.open(tarball, "r:gz") as archive:
        for member in archive.getmembers():
            if not member.isfile() or not member.name.startswith(prefix):
                continue
            relative = member.name[len(prefix) :]
            if not any(fnmatch.fnmatchcase(relative, pattern) for pattern in asset.include):
                continue
            destination = target / relative
            destination.parent.mkdir(parents=True, exist_ok=True)
            with archive.extractfile(member) as source, open(destination, "wb") as out:
                shutil.copyfileobj(source, out)
            count += 1
    if count == 0:
        raise SystemExit(f"{asset.package}: no file matched {asset.include} in {asset.source}")
    return count


def install(
    verbose: bool = True, assets: tuple[Asset, ...] = ASSETS, vendor: Path = VENDOR
) -> None:
    vendor.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix="vendor-", dir=vendor.parent))
    try:
        with tempfile.TemporaryDirectory() as downloads:
            for asset in assets:
                tarball = npm_pack(asset, Path(downloads))
                count = unpack(asset, tarball, staging / asset.name)
                if verbose:
                    where = vendor.relative_to(ROOT) / asset.name
                    print(f"  {asset.package}@{asset.version}: {count} files, {where}")
        (staging / STAMP.name).write_text(
            json.dumps(pinned(assets), indent=2, sort_keys=True) + "\n", encoding="utf-8"
        )
        shutil.rmtree(vendor, ignore_errors=True)
        staging.rename(vendor)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def ensure(verbose: bool = False) -> None:
    """Install the pinned assets unless ``_vendor/`` already has exactly them."""
    if not is_installed():
        install(verbose=verbose)


def ensure_test_assets(verbose: bool = False) -> Path:
    """The tests' browser scripts under ``_build/test-vendor/`` (installed when missing)."""
    if not is_installed(TEST_ASSETS, TEST_VENDOR):
        install(verbose=verbose, assets=TEST_ASSETS, vendor=TEST_VENDOR)
    return TEST_VENDOR


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--force", action="store_true", help="reinstall even if up to date")
    args = parser.parse_args()
    if args.force or not is_installed():
        print("Installing the book's JavaScript assets into _vendor/ ...")
        install()
    else:
        print("_vendor/ is up to date.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
