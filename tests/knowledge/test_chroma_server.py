"""The knowledge base against a real Chroma server (`chroma run`), as deployments at scale use it."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from kizuki.runtime import Runtime


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def chroma_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    exe = shutil.which("chroma") or str(Path(sys.executable).with_name("chroma"))
    port = _free_port()
    path = tmp_path_factory.mktemp("chroma-server")
    server = subprocess.Popen(  # noqa: S603 - the chroma CLI that ships in the chromadb wheel
        [exe, "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                if httpx.get(f"{url}/api/v2/heartbeat", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert server.poll() is None, "chroma server exited"
            time.sleep(0.25)
        else:
            pytest.fail("chroma server did not start")
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)


SCENARIO = """
import json, sys
from pathlib import Path
from kizuki.core.db import Database
from kizuki.runtime import Runtime
from kizuki.core.settings import Settings
from knowledge.schemas import EntryCreate, SearchRequest

url, db_url, home, other_home, cache = sys.argv[1:6]
db = Database(db_url)
common = {"chroma_url": url, "chroma_collection": "server-test", "database_url": db_url, "cache_home": cache}
rt = Runtime(Settings(home=Path(home), **common), db=db)
rt.knowledge.create(
    EntryCreate(key="e03", kind="faq", title="KAMADOにE03と表示される", body="ふたのセンサーです。", lang="ja"),
    actor="t",
)
first = [h.key for h in rt.knowledge.search(SearchRequest(query="E03が出た")).hits]
other = Runtime(Settings(home=Path(other_home), **common), db=db)
second = [h.key for h in other.knowledge.search(SearchRequest(query="E03が出た")).hits]
print(json.dumps({"first": first, "second": second, "local_chroma": (Path(home) / "chroma").exists()}))
"""


def test_knowledge_on_a_chroma_server(runtime: Runtime, chroma_url: str, tmp_path: Path) -> None:
    """Run in a child process: chromadb's HTTP client leaves sockets for interpreter exit to close."""
    import json

    settings = runtime.settings
    res = subprocess.run(  # noqa: S603 - our own interpreter
        [
            sys.executable,
            "-c",
            SCENARIO,
            chroma_url,
            runtime.db.url,
            str(tmp_path / "a"),
            str(tmp_path / "b"),
            str(settings.cache_dir),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert res.returncode == 0, res.stderr[-2000:]
    out = json.loads(res.stdout.strip().splitlines()[-1])
    assert out["first"] == ["e03"]
    assert out["second"] == ["e03"]  # another process (own home, same database and server) sees the same index
    assert out["local_chroma"] is False  # nothing embedded locally
