"""The HTML impact report rendered by a real browser: headless Chromium (Debian's `chromium`).

`make setup` installs Chromium when apt-get is usable; without it these tests are skipped and say why.
The checks read the page as the browser rendered it (the DOM after the report's script ran) and the
pixels of a screenshot, not only the file."""

from __future__ import annotations

import functools
import re
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest
from conftest import SLOW_MACHINE_TIMEOUT_MS

from router.api import Router
from router.replay import core, render

replay = functools.partial(core.replay, router_factory=Router, timeout_ms=SLOW_MACHINE_TIMEOUT_MS)

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (make setup installs Debian's chromium when apt-get is usable)")


def _chromium(tmp: Path, *args: str) -> subprocess.CompletedProcess:
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions",
           "--disable-background-networking", f"--user-data-dir={tmp / 'profile'}", *args]
    return subprocess.run(cmd, capture_output=True, check=False, text=True, timeout=120)


def _visible_text(dom: str) -> str:
    dom = re.sub(r"<script.*?</script>", " ", dom, flags=re.DOTALL)
    dom = re.sub(r"<style.*?</style>", " ", dom, flags=re.DOTALL)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", dom))


def _png_pixels(path: Path) -> tuple[int, int, bytes]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width, height = 8, b"", 0, 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height = struct.unpack(">II", body[:8])
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    return width, height, zlib.decompress(idat)


@pytest.fixture(scope="module")
def report_file(recorded, no_high_end_share, tmp_path_factory):
    folder, _ = recorded
    report = replay(folder, no_high_end_share)
    report.apply_gate("1", ("more-permissive",))
    out = tmp_path_factory.mktemp("html") / "impact.html"
    out.write_text(render.html(report), encoding="utf-8")
    return out, report


def test_rendered_summary(report_file, tmp_path):
    out, report = report_file
    done = _chromium(tmp_path, "--dump-dom", out.as_uri())
    assert done.returncode == 0, done.stderr[-2000:]
    text = _visible_text(done.stdout)
    changed = len(report.changed)
    assert f"Changed decisions: {changed} of {report.compared}" in text
    assert "more permissive: 0" in text
    assert f"CI gate: FAILED - {changed} changed decisions, more than --max-changed 1" in text
    assert f"{changed} of {changed} shown" in text
    for entry in report.changed:
        assert entry.request["requestId"] in text
    assert "escalation-accepted" in text and "no-feasible-candidate" in text
    assert "status changed" in text and "lane/target changed" in text


def test_text_filter_from_the_address(report_file, tmp_path):
    out, report = report_file
    done = _chromium(tmp_path, "--dump-dom", out.as_uri() + "#q=req-agent-035")
    assert done.returncode == 0
    text = _visible_text(done.stdout)
    assert f"1 of {len(report.changed)} shown" in text


def test_screenshot_shows_the_page(report_file, tmp_path):
    out, _ = report_file
    shot = tmp_path / "impact.png"
    done = _chromium(tmp_path, f"--screenshot={shot}", "--window-size=1280,900", "--hide-scrollbars", out.as_uri())
    assert done.returncode == 0 and shot.exists(), done.stderr[-2000:]
    width, height, raw = _png_pixels(shot)
    assert (width, height) == (1280, 900)
    # a rendered page, not a blank one: many distinct byte values, and dark (text) pixels in the top part
    assert len(set(raw)) > 50
    stride = len(raw) // height
    top = raw[: stride * 300]
    assert sum(1 for b in top[::7] if b < 90) > 200
