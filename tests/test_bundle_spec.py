"""The PyInstaller spec takes the app's name and version from pyproject.toml (through
packaging/project_meta.py), and the icons it names are well-formed. Fast: the spec is executed with
PyInstaller's build objects replaced by recorders, no bundle is built and PyInstaller need not be installed."""

from __future__ import annotations

import importlib.util
import shutil
import struct
import sys
import tomllib
import types
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGING = ROOT / "packaging"


def load_meta(path: Path = PACKAGING / "project_meta.py") -> types.ModuleType:
    spec = importlib.util.spec_from_file_location("project_meta_under_test", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is made
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[spec.name]
    return module


class Rec:
    """Stands for Analysis, EXE, COLLECT, BUNDLE and the versioninfo classes: keeps its arguments."""

    made: list[Rec]

    def __init__(self, kind: str, *args: Any, **kwargs: Any) -> None:
        self.kind, self.args, self.kwargs = kind, args, kwargs
        self.binaries: list[tuple[str, str, str]] = []
        self.datas: list[tuple[str, str, str]] = []
        self.pure: list[Any] = []
        self.scripts: list[Any] = []
        Rec.made.append(self)


def recorder(kind: str) -> Any:
    return lambda *a, **k: Rec(kind, *a, **k)


def fake_pyinstaller(monkeypatch: pytest.MonkeyPatch, calls: list[tuple[str, Any]]) -> None:
    def hook(name: str) -> Any:
        def call(arg: str, *a: Any, **k: Any) -> list[tuple[str, str]]:
            calls.append((name, arg))
            return [(f"{name}:{arg}", ".")]
        return call

    mods = {
        "PyInstaller": {},
        "PyInstaller.utils": {},
        "PyInstaller.utils.hooks": {n: hook(n) for n in ("collect_data_files", "collect_submodules", "copy_metadata")},
        "PyInstaller.depend": {},
        "PyInstaller.depend.bindepend": {"get_imports": lambda *a, **k: []},
        "PyInstaller.utils.win32": {},
        "PyInstaller.utils.win32.versioninfo": {n: recorder(n) for n in (
            "VSVersionInfo", "FixedFileInfo", "StringFileInfo", "StringTable", "StringStruct", "VarFileInfo",
            "VarStruct")},
    }
    for name, attrs in mods.items():
        m = types.ModuleType(name)
        m.__dict__.update(attrs)
        monkeypatch.setitem(sys.modules, name, m)


def run_spec(monkeypatch: pytest.MonkeyPatch, root: Path, platform: str) -> tuple[list[Rec], list[tuple[str, Any]]]:
    """Execute root/packaging/datawrangler.spec as PyInstaller would on `platform`."""
    calls: list[tuple[str, Any]] = []
    fake_pyinstaller(monkeypatch, calls)
    monkeypatch.setattr(sys, "platform", platform)
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.delitem(sys.modules, "project_meta", raising=False)
    Rec.made = []
    spec = root / "packaging" / "datawrangler.spec"
    env = {"__name__": "__main__", "SPECPATH": str(spec.parent)}
    env.update({k: recorder(k) for k in ("Analysis", "PYZ", "EXE", "COLLECT", "BUNDLE")})
    try:
        exec(compile(spec.read_text(encoding="utf-8"), str(spec), "exec"), env)
    finally:
        sys.modules.pop("project_meta", None)
    return Rec.made, calls


@pytest.fixture
def other_project(tmp_path: Path) -> Path:
    """A copy of packaging/ under a pyproject that names another project at another version."""
    shutil.copytree(PACKAGING, tmp_path / "packaging", ignore=shutil.ignore_patterns("__pycache__"))
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    real = tomllib.loads(text)["project"]
    text = text.replace(f'name = "{real["name"]}"', 'name = "otherapp"', 1)
    text = text.replace(f'version = "{real["version"]}"', 'version = "7.8.9rc2"', 1)
    (tmp_path / "pyproject.toml").write_text(text, encoding="utf-8")
    return tmp_path


def of(made: list[Rec], kind: str) -> list[Rec]:
    return [r for r in made if r.kind == kind]


def test_meta_is_what_pyproject_says() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    meta = load_meta().read()
    assert (meta.name, meta.version) == (project["name"], project["version"])


def test_meta_refuses_a_dynamic_version(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\ndynamic = ["version"]\n', encoding="utf-8")
    with pytest.raises(ValueError, match="version"):
        load_meta().read(tmp_path / "pyproject.toml")


@pytest.mark.parametrize(("version", "numbers"), [
    ("0.1.0", (0, 1, 0, 0)), ("1.2", (1, 2, 0, 0)), ("7.8.9rc2", (7, 8, 9, 0)), ("2024.10.3.1.5", (2024, 10, 3, 1)),
])
def test_numeric_version(version: str, numbers: tuple[int, ...]) -> None:
    assert load_meta().numeric_version(version) == numbers


def test_linux_bundle_is_named_and_versioned_from_pyproject(monkeypatch: pytest.MonkeyPatch,
                                                            other_project: Path) -> None:
    made, calls = run_spec(monkeypatch, other_project, "linux")
    [coll] = of(made, "COLLECT")
    assert coll.kwargs["name"] == "otherapp"
    [exe] = of(made, "EXE")
    assert exe.kwargs["name"] == "otherapp" and exe.kwargs["console"] is True
    assert not of(made, "BUNDLE")
    # the version reaches the bundle through the package's metadata (datawrangler.__version__)
    assert ("copy_metadata", "otherapp") in calls
    assert ("collect_data_files", "datawrangler.resources") in calls
    # the catalog's migration history is read from files by Alembic
    assert ("collect_data_files", "datawrangler.store.migrations") in calls
    [analysis] = of(made, "Analysis")
    assert ("collect_data_files:datawrangler.resources", ".") in analysis.kwargs["datas"]
    assert analysis.args[0] == [str(other_project / "packaging" / "entry.py")]


def test_macos_app_plist_from_pyproject(monkeypatch: pytest.MonkeyPatch, other_project: Path) -> None:
    made, _ = run_spec(monkeypatch, other_project, "darwin")
    [app] = of(made, "BUNDLE")
    plist = app.kwargs["info_plist"]
    assert app.kwargs["name"] == "DataWrangler.app"
    assert app.kwargs["version"] == plist["CFBundleShortVersionString"] == "7.8.9"  # Apple: digits only
    assert plist["CFBundleIdentifier"] == app.kwargs["bundle_identifier"] == "org.datawrangler.DataWrangler"
    assert plist["NSHighResolutionCapable"] is True
    assert plist["LSMinimumSystemVersion"] == "11.0"
    assert Path(app.kwargs["icon"]).name == "datawrangler.icns" and Path(app.kwargs["icon"]).is_file()
    [exe] = of(made, "EXE")
    assert Path(exe.kwargs["entitlements_file"]).is_file()


def test_windows_gui_and_console_executables(monkeypatch: pytest.MonkeyPatch, other_project: Path) -> None:
    made, _ = run_spec(monkeypatch, other_project, "win32")
    exes = {e.kwargs["name"]: e.kwargs for e in of(made, "EXE")}
    assert exes["DataWrangler"]["console"] is False
    assert exes["otherapp-cli"]["console"] is True
    assert {n.lower() for n in exes} == {"datawrangler", "otherapp-cli"}  # distinct on a case-blind filesystem
    assert all(Path(e["icon"]).name == "datawrangler.ico" for e in exes.values())
    [fixed] = of(made, "FixedFileInfo")
    assert fixed.kwargs["filevers"] == (7, 8, 9, 0)
    strings = {s.args[0]: s.args[1] for s in of(made, "StringStruct")}
    assert strings["ProductVersion"] == "7.8.9rc2"
    [coll] = of(made, "COLLECT")
    assert coll.kwargs["name"] == "otherapp"


def test_the_real_spec_names_datawrangler(monkeypatch: pytest.MonkeyPatch) -> None:
    made, _ = run_spec(monkeypatch, ROOT, "linux")
    [coll] = of(made, "COLLECT")
    assert coll.kwargs["name"] == "datawrangler"


def test_ico_holds_png_images_up_to_256() -> None:
    data = (PACKAGING / "icons" / "datawrangler.ico").read_bytes()
    reserved, kind, count = struct.unpack_from("<HHH", data)
    assert (reserved, kind) == (0, 1)
    sizes = set()
    for i in range(count):
        w, _h, _c, _r, _planes, _bpp, length, offset = struct.unpack_from("<BBBBHHII", data, 6 + 16 * i)
        assert data[offset:offset + 8] == b"\x89PNG\r\n\x1a\n" and offset + length <= len(data)
        sizes.add(w or 256)
    assert {16, 32, 48, 256} <= sizes


def test_icns_table_is_consistent() -> None:
    data = (PACKAGING / "icons" / "datawrangler.icns").read_bytes()
    assert data[:4] == b"icns" and struct.unpack_from(">I", data, 4)[0] == len(data)
    kinds, pos = set(), 8
    while pos < len(data):
        kind, length = data[pos:pos + 4].decode("ascii"), struct.unpack_from(">I", data, pos + 4)[0]
        assert data[pos + 8:pos + 16] == b"\x89PNG\r\n\x1a\n"
        kinds.add(kind)
        pos += length
    assert pos == len(data)
    assert {"ic07", "ic08", "ic09", "ic10"} <= kinds  # 128, 256, 512, 1024


def test_desktop_entry_runs_the_window_and_names_the_icon() -> None:
    lines = (PACKAGING / "linux" / "datawrangler.desktop").read_text(encoding="utf-8").splitlines()
    assert lines[0] == "[Desktop Entry]"
    entry = dict(line.split("=", 1) for line in lines[1:] if "=" in line)
    assert entry["Type"] == "Application" and entry["Exec"] == "datawrangler gui"
    assert entry["Icon"] == "datawrangler"
    for n in (16, 32, 48, 128, 256, 512):
        assert (PACKAGING / "icons" / f"datawrangler-{n}.png").is_file()
