"""Make the README's screenshots of the reviewer console: `.venv/bin/python docs/screenshots/make.py`.

Starts `kizuki up` (the demo company) on a temporary KIZUKI_HOME and a free port, signs in with the admin token
it prints on first start, and saves the queue and a draft page at 1280×800 as docs/screenshots/queue.png and
draft.png. Needs Debian's Chromium (`apt-get install -y chromium`) and a Japanese font
(`apt-get install -y fonts-ipafont-gothic`), else the demo's Japanese posts show as empty boxes.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
from playwright.sync_api import Page, ViewportSize, sync_playwright

HERE = Path(__file__).resolve().parent
CHROMIUM = os.environ.get("KIZUKI_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT: ViewportSize = {"width": 1280, "height": 800}
OVERPROMISE = "必ず直ります。"
TOKEN = re.compile(r"^\s+(\S{30,})\s*$")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _preflight() -> None:
    if not Path(CHROMIUM).is_file():
        sys.exit(f"Chromium not found at {CHROMIUM}: apt-get install -y chromium (or set KIZUKI_TEST_CHROMIUM)")
    fonts = shutil.which("fc-list")
    if fonts is not None:
        listing = subprocess.run([fonts, ":lang=ja"], capture_output=True, text=True, check=False)  # noqa: S603
        if not listing.stdout.strip():
            sys.exit("no Japanese font: apt-get install -y fonts-ipafont-gothic (the demo's posts are Japanese)")


class Kizuki:
    """`kizuki up` in a subprocess on a temporary home; the admin token it prints on first start."""

    def __init__(self, home: Path, port: int) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("KIZUKI_")}
        env.update(KIZUKI_HOME=str(home), COLUMNS="200", LITELLM_LOCAL_MODEL_COST_MAP="True", NO_COLOR="1")
        exe = Path(sys.executable).with_name("kizuki")
        self.url = f"http://127.0.0.1:{port}"
        self.token: str | None = None
        self.lines: list[str] = []
        self.proc = subprocess.Popen(  # noqa: S603 - our own entry point, no shell
            [str(exe), "up", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        after_banner = False
        for line in self.proc.stdout:
            self.lines.append(line.rstrip())
            if "admin token was created" in line:
                after_banner = True
            elif after_banner and self.token is None and (m := TOKEN.match(line)):
                self.token = m.group(1)

    def wait_ready(self, timeout: float = 300) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                sys.exit("kizuki up stopped:\n" + "\n".join(self.lines[-30:]))
            if self.token is not None:
                try:
                    if httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                        return self.token
                except httpx.HTTPError:
                    pass
            time.sleep(0.5)
        self.stop()
        sys.exit("kizuki up did not get ready in time:\n" + "\n".join(self.lines[-30:]))

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def _showcase_draft(url: str, token: str) -> int:
    """A pending Japanese reply that cites knowledge (the demo is Japanese-first), else any pending reply."""
    res = httpx.get(
        f"{url}/v1/drafts", params={"status": "pending"}, headers={"Authorization": f"Bearer {token}"}, timeout=10
    )
    res.raise_for_status()
    items = res.json()["items"]
    replies = [d for d in items if d.get("action") in ("reply", "reply_and_dm") and d.get("text")]
    if not replies:
        sys.exit("the demo queue has no pending reply to show")
    cited = [d for d in replies if d.get("language") == "ja" and d.get("citations")]
    return int((cited or replies)[0]["id"])


def shoot(page: Page, url: str, token: str, out: Path) -> list[Path]:
    page.goto(f"{url}/signin")
    page.get_by_test_id("signin-token").fill(token)
    page.get_by_test_id("signin-submit").click()
    page.wait_for_url(lambda u: "/signin" not in u)

    page.goto(f"{url}/queue")
    page.get_by_test_id("queue-item").first.wait_for()
    page.wait_for_load_state("networkidle")
    queue = out / "queue.png"
    page.screenshot(path=str(queue))

    draft_id = _showcase_draft(url, token)
    page.goto(f"{url}/drafts/{draft_id}")
    editor = page.get_by_test_id("draft-text")
    editor.wait_for()
    # A reviewer's edit that promises too much: the page re-checks it while typing and highlights the finding.
    editor.fill(editor.input_value().rstrip() + OVERPROMISE)
    page.get_by_test_id("finding").first.wait_for()
    page.wait_for_load_state("networkidle")
    editor.blur()
    draft = out / "draft.png"
    page.screenshot(path=str(draft))
    return [queue, draft]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, default=HERE, help="folder for queue.png and draft.png")
    parser.add_argument("--lang", default="en", choices=["en", "ja"], help="the console's language")
    args = parser.parse_args()
    _preflight()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="kizuki-screenshots-") as home:
        app = Kizuki(Path(home), _free_port())
        try:
            token = app.wait_ready()
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
                locale = "ja-JP" if args.lang == "ja" else "en-GB"
                context = browser.new_context(viewport=VIEWPORT, locale=locale)
                written = shoot(context.new_page(), app.url, token, args.out)
                browser.close()
        finally:
            app.stop()
    for path in written:
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
