"""What the bundles are called and which version they carry, read from pyproject.toml: one source of truth.

Used by datawrangler.spec (PyInstaller executes it with SPECPATH set to this folder) and by
tests/test_bundle_spec.py. Standard library only: it runs in the build venv before anything is imported.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

PACKAGING = Path(__file__).resolve().parent
ROOT = PACKAGING.parent
PYPROJECT = ROOT / "pyproject.toml"

DISPLAY_NAME = "DataWrangler"  # the .app, the Windows GUI executable, the desktop entry
BUNDLE_ID_PREFIX = "org.datawrangler"  # reverse DNS for CFBundleIdentifier
MACOS_MINIMUM = "11.0"  # PySide6 6.6+ wheels need macOS 11 (Big Sur) or later


@dataclass(frozen=True)
class ProjectMeta:
    name: str  # "datawrangler": the one-folder directory, the Linux/CLI executable, the desktop entry's id
    version: str  # as in pyproject, e.g. "0.1.0" or "0.2.0rc1"
    description: str
    display_name: str = DISPLAY_NAME

    @property
    def bundle_id(self) -> str:
        return f"{BUNDLE_ID_PREFIX}.{self.display_name}"

    @property
    def numeric_version(self) -> tuple[int, int, int, int]:
        """The release digits padded to four (Windows VERSIONINFO, CFBundleVersion): "1.2rc1" -> (1, 2, 0, 0)."""
        return numeric_version(self.version)

    @property
    def short_version(self) -> str:
        """CFBundleShortVersionString: three dot-separated integers, nothing else (Apple refuses "0.1.0rc1")."""
        return ".".join(str(n) for n in self.numeric_version[:3])


def numeric_version(version: str) -> tuple[int, int, int, int]:
    m = re.match(r"\s*v?(\d+(?:\.\d+)*)", version)
    if m is None:
        raise ValueError(f"version {version!r} does not start with a release number")
    digits = [int(p) for p in m.group(1).split(".")][:4]
    padded = (*digits, 0, 0, 0, 0)[:4]
    return padded[0], padded[1], padded[2], padded[3]


def read(pyproject: Path = PYPROJECT) -> ProjectMeta:
    """[project] name, version and description; refuses a dynamic version (the spec cannot compute it)."""
    with open(pyproject, "rb") as f:
        project = tomllib.load(f).get("project", {})
    if "version" in project.get("dynamic", []) or "version" not in project:
        raise ValueError(f"{pyproject}: [project] version must be written out for the bundle spec")
    return ProjectMeta(name=project["name"], version=str(project["version"]),
                       description=project.get("description", ""))


if __name__ == "__main__":  # `python3 packaging/project_meta.py` prints "name version", for shell scripts
    meta = read()
    print(meta.name, meta.version)
