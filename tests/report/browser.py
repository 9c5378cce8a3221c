"""Drive Debian's headless Chromium: the DOM after the page's scripts ran, and screenshots.

No network: the pages are local files and the flags keep Chromium from calling home.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-extensions",
    "--hide-scrollbars",
]
WIDTH = 1600  # the reports are checked (and screenshot) at this window width
ROOT = Path(__file__).resolve().parents[2]
# where the screenshots of the fixture reports go (kept after the run; build/ is git-ignored)
SCREENSHOT_DIR = Path(os.environ.get("A2K_SCREENSHOT_DIR", ROOT / "build" / "screenshots"))


def chromium() -> str:
    found = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        raise RuntimeError(
            "Chromium is not installed: run `scripts/system_packages.sh --test` as root "
            "(or `apt-get install -y chromium`); `make test` does this"
        )
    return found


def _run(arguments: list[str], width: int = WIDTH, height: int = 1000) -> str:
    with tempfile.TemporaryDirectory(prefix="a2k-chromium-") as profile:
        done = subprocess.run(
            [
                chromium(),
                *FLAGS,
                f"--window-size={width},{height}",
                f"--user-data-dir={profile}",
                "--virtual-time-budget=5000",
                *arguments,
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    if done.returncode != 0:
        raise RuntimeError(f"chromium failed ({done.returncode}): {done.stderr[-2000:]}")
    return done.stdout


def dump_dom(page: Path, fragment: str = "") -> str:
    """The DOM after the page's scripts ran; `fragment` (e.g. "selftest-zoom") is the URL's #part."""
    return _run(["--dump-dom", page.resolve().as_uri() + (f"#{fragment}" if fragment else "")])


def screenshot(page: Path, target: Path, height: int = 1000) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    target.unlink(missing_ok=True)
    _run([f"--screenshot={target.resolve()}", page.resolve().as_uri()], height=height)
    return target


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    children: list[Element] = field(default_factory=list)

    def iter(self):
        yield self
        for child in self.children:
            yield from child.iter()

    def find_all(self, tag: str, cls: str | None = None) -> list[Element]:
        return [
            e
            for e in self.iter()
            if e.tag == tag and (cls is None or cls in e.attrs.get("class", "").split())
        ]

    def by_id(self, element_id: str) -> Element:
        return next(e for e in self.iter() if e.attrs.get("id") == element_id)


_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class _TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Element("#root", {})
        self.stack = [self.root]

    def handle_starttag(self, tag, attrs):
        element = Element(tag, {k: v or "" for k, v in attrs})
        self.stack[-1].children.append(element)
        if tag not in _VOID:
            self.stack.append(element)

    def handle_startendtag(self, tag, attrs):
        self.stack[-1].children.append(Element(tag, {k: v or "" for k, v in attrs}))

    def handle_endtag(self, tag):
        for depth in range(len(self.stack) - 1, 0, -1):
            if self.stack[depth].tag == tag:
                del self.stack[depth:]
                return


def parse(html: str) -> Element:
    builder = _TreeBuilder()
    builder.feed(html)
    builder.close()
    return builder.root
