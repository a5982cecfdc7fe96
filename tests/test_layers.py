"""The layers of DESIGN.md hold: import-linter's contracts pass, everything below the front ends imports
without Qt (but the reports' PDF writer), and no module of datawrangler is part of an import cycle."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _lint_imports() -> str:
    exe = Path(sys.executable).parent / "lint-imports"
    if exe.exists():
        return str(exe)
    found = shutil.which("lint-imports")
    assert found, "lint-imports (import-linter) is not installed: pip install -e '.[test]'"
    return found


def test_import_linter_contracts_are_kept() -> None:
    proc = subprocess.run([_lint_imports()], cwd=REPO, capture_output=True, text=True, timeout=120)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"lint-imports failed (exit {proc.returncode}):\n{out}"
    # The contracts of pyproject.toml were actually checked, not skipped by a config problem.
    assert "core, store, handoff and app never import Qt KEPT" in out, out
    assert "layers point down KEPT" in out, out
    assert "only store talks to the database libraries KEPT" in out, out


BLOCK_QT_AND_IMPORT_ALL = textwrap.dedent(
    """
    import importlib
    import importlib.abc
    import pkgutil
    import sys

    BLOCKED = ("PySide6", "shiboken6")

    class BlockQt(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in BLOCKED:
                raise ImportError(f"{name} is blocked: this layer must not import Qt")
            return None

    sys.meta_path.insert(0, BlockQt())
    for name in BLOCKED:
        sys.modules.pop(name, None)

    # The finder works: importing Qt fails here.
    try:
        import PySide6  # noqa: F401
    except ImportError:
        pass
    else:
        raise SystemExit("the PySide6 block did not work")

    imported = []
    for top in ("datawrangler.core", "datawrangler.store", "datawrangler.handoff", "datawrangler.app",
                "datawrangler.volumes", "datawrangler.reports"):
        pkg = importlib.import_module(top)
        imported.append(top)
        def onerror(name):
            raise
        for info in pkgutil.walk_packages(pkg.__path__, prefix=top + ".", onerror=onerror):
            if info.name == "datawrangler.reports.pdf":  # the one module that draws with Qt
                continue
            if info.name == "datawrangler.store.migrations.env" or info.name.startswith(
                    "datawrangler.store.migrations.versions"):  # Alembic's scripts: Alembic runs them
                continue
            importlib.import_module(info.name)
            imported.append(info.name)
    leaked = sorted(m for m in sys.modules if m.split(".")[0] in BLOCKED)
    assert not leaked, leaked
    print("\\n".join(imported))
    """
)


def test_everything_below_the_front_ends_imports_without_pyside6() -> None:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    proc = subprocess.run([sys.executable, "-c", BLOCK_QT_AND_IMPORT_ALL], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, f"importing without PySide6 failed:\n{proc.stdout}\n{proc.stderr}"
    imported = set(proc.stdout.split())
    # The walk really reached the modules (a silent empty walk would prove nothing).
    for must in ("datawrangler.core.scan", "datawrangler.core.plan", "datawrangler.core.transfer",
                 "datawrangler.core.hashing", "datawrangler.store", "datawrangler.handoff", "datawrangler.app.offload",
                 "datawrangler.app.isolated", "datawrangler.app.auto", "datawrangler.reports.output"):
        assert must in imported, f"{must} was not imported: {sorted(imported)}"


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    counter = 0
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges.get(root, ()))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on.add(root)
        while work:
            node, it = work[-1]
            nxt = next(it, None)
            if nxt is not None:
                if nxt not in index:
                    index[nxt] = low[nxt] = counter
                    counter += 1
                    stack.append(nxt)
                    on.add(nxt)
                    work.append((nxt, iter(sorted(edges.get(nxt, ())))))
                elif nxt in on:
                    low[node] = min(low[node], index[nxt])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                comp = []
                while True:
                    m = stack.pop()
                    on.discard(m)
                    comp.append(m)
                    if m == node:
                        break
                if len(comp) > 1:
                    out.append(sorted(comp))
    return out


def test_no_import_cycles() -> None:
    """No module imports (at module level or inside a function) a module that imports it back, directly or
    through others: every arrow points one way."""
    import grimp  # import-linter's graph builder

    graph = grimp.build_graph("datawrangler")
    modules = {m for m in graph.modules if m.startswith("datawrangler.")}
    edges = {m: {i for i in graph.find_modules_directly_imported_by(m) if i in modules and i != m} for m in modules}
    # a package's __init__ importing its own submodules is how a package exposes its API, not a cycle
    for m, imported in edges.items():
        edges[m] = {i for i in imported if not i.startswith(m + ".")}
    assert _cycles(edges) == []
    # the check sees real arrows: a known import is in the graph
    assert "datawrangler.core.plan" in edges["datawrangler.app.request"]
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
