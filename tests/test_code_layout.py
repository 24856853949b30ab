"""The shape of the code: short modules, imports in verify/ only go down with no circle,
and no library's private internals."""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("citizen_card", "verify")
FIRST_PARTY = frozenset({*PACKAGES, "tests"})
MAX_MODULE_LINES = 600
# Undocumented internals that were imported before and must not come back; anything
# with a component starting with "_" counts as well.
KNOWN_PRIVATE_MODULES = frozenset({"qrcode.util", "qrcode.base"})

# verify/, bottom first: a module imports only from the layers below its own.
VERIFY_LAYERS: tuple[frozenset[str], ...] = (
    frozenset(
        {
            "verify._cbor",
            "verify.cardnumber",
            "verify.verdict",
            "verify.page_words",
            "verify.page_language",
        }
    ),
    frozenset({"verify.language"}),  # takes a language's direction from page_language
    frozenset({"verify.cose"}),
    frozenset({"verify.trust"}),
    frozenset({"verify.status"}),
    frozenset({"verify.credential"}),
    frozenset({"verify.web", "verify.__main__"}),
)


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(path: Path, root: Path) -> Iterator[str]:
    """Every module ``path`` imports, anywhere in the file (also inside functions and
    ``if TYPE_CHECKING``: an import moved out of sight is still an import)."""
    name = module_name(path, root)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            yield base
            # ``from package import module`` imports the module too.
            yield from (f"{base}.{alias.name}" for alias in node.names)


def import_graph(package_dir: Path) -> dict[str, set[str]]:
    """Module -> the package's own modules it imports."""
    root = package_dir.parent
    modules = {module_name(p, root): p for p in sorted(package_dir.rglob("*.py"))}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets = {m for m in imported_modules(path, root) if m in modules and m != name}
        # Importing a submodule runs its package's __init__ first; that edge is harmless.
        graph[name] = {m for m in targets if not name.startswith(m + ".")}
    return graph


def find_cycle(graph: Mapping[str, set[str]]) -> list[str] | None:
    """One import circle (first module repeated at the end), or None."""
    state: dict[str, str] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = "open"
        stack.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == "open":
                return [*stack[stack.index(target) :], target]
            if target not in state and (found := visit(target)) is not None:
                return found
        stack.pop()
        state[node] = "done"
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)) is not None:
            return found
    return None


def long_modules(package_dir: Path, limit: int = MAX_MODULE_LINES) -> list[str]:
    """``path: lines`` for every Python file under ``package_dir`` longer than ``limit``."""
    return sorted(
        f"{path.relative_to(package_dir.parent)}: {lines}"
        for path in package_dir.rglob("*.py")
        if (lines := len(path.read_text().splitlines())) > limit
    )


def is_private(module: str, first_party: frozenset[str] = FIRST_PARTY) -> bool:
    """A module path outside this project that is some library's internals."""
    parts = module.split(".")
    if parts[0] in first_party:
        return False
    hidden = any(p.startswith("_") and not (p.startswith("__") and p.endswith("__")) for p in parts)
    return hidden or any(module == m or module.startswith(m + ".") for m in KNOWN_PRIVATE_MODULES)


def private_imports(package_dir: Path) -> list[str]:
    """``path imports module`` for each library internal imported under ``package_dir``."""
    root = package_dir.parent
    first_party = FIRST_PARTY | {package_dir.name}
    found: list[str] = []
    for path in package_dir.rglob("*.py"):
        private = {m for m in imported_modules(path, root) if is_private(m, first_party)}
        # "from qrcode.util import QRData" is one import of qrcode.util, not two.
        shortest = {m for m in private if not any(m.startswith(p + ".") for p in private)}
        found.extend(f"{path.relative_to(root)} imports {m}" for m in shortest)
    return sorted(found)


@pytest.mark.parametrize("package", PACKAGES)
def test_no_module_is_over_600_lines(package: str) -> None:
    assert long_modules(ROOT / package) == []


@pytest.mark.parametrize("package", PACKAGES)
def test_no_private_module_of_a_library_is_imported(package: str) -> None:
    assert private_imports(ROOT / package) == []


def test_verify_has_no_import_circle() -> None:
    cycle = find_cycle(import_graph(ROOT / "verify"))
    assert cycle is None, "import circle in verify/: " + " -> ".join(cycle or [])


def test_verify_imports_only_go_down() -> None:
    graph = import_graph(ROOT / "verify")
    layer_of = {module: i for i, layer in enumerate(VERIFY_LAYERS) for module in layer}
    unplaced = sorted(set(graph) - set(layer_of) - {"verify"})
    assert not unplaced, f"add {unplaced} to VERIFY_LAYERS in tests/test_code_layout.py"
    upward = sorted(
        f"{module} imports {target}"
        for module, targets in graph.items()
        for target in targets
        if module in layer_of and target in layer_of and layer_of[target] >= layer_of[module]
    )
    assert not upward, upward


def test_verify_imports_nothing_from_the_issuing_service() -> None:
    root = ROOT
    offenders = sorted(
        f"{module_name(path, root)} imports {target}"
        for path in (ROOT / "verify").rglob("*.py")
        for target in imported_modules(path, root)
        if target == "citizen_card" or target.startswith("citizen_card.")
    )
    assert not offenders, offenders


# ---------------------------------------------------------------------------------------
# The checks above catch what they are for


def _write_package(root: Path, files: Mapping[str, str]) -> Path:
    for relative, source in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source)
    return root / "pkg"


@pytest.mark.parametrize(
    "files",
    [
        # the circle verify/ had: credential -> status -> credential, hidden in a function
        {
            "pkg/__init__.py": "",
            "pkg/credential.py": "from pkg.status import StatusList\n",
            "pkg/status.py": "def late():\n    from pkg import credential\n",
        },
        # relative imports, and a longer circle under TYPE_CHECKING
        {
            "pkg/__init__.py": "",
            "pkg/a.py": "from .b import x\n",
            "pkg/b.py": (
                "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from . import c\n"
            ),
            "pkg/c.py": "import pkg.a\n",
        },
    ],
)
def test_a_circle_is_found(tmp_path: Path, files: Mapping[str, str]) -> None:
    cycle = find_cycle(import_graph(_write_package(tmp_path, files)))
    assert cycle is not None and cycle[0] == cycle[-1] and len(cycle) >= 3


def test_no_circle_in_a_layered_package(tmp_path: Path) -> None:
    package = _write_package(
        tmp_path,
        {
            "pkg/__init__.py": "from pkg.top import main\n",
            "pkg/bottom.py": "import json\n",
            "pkg/middle.py": "from pkg import bottom\n",
            "pkg/top.py": "from .middle import bottom\nfrom pkg.bottom import json\n",
        },
    )
    graph = import_graph(package)
    assert graph["pkg.top"] == {"pkg.middle", "pkg.bottom"}
    assert find_cycle(graph) is None


def test_a_long_module_is_found(tmp_path: Path) -> None:
    package = _write_package(
        tmp_path, {"pkg/__init__.py": "", "pkg/long.py": "x = 1\n" * 601, "pkg/ok.py": "\n" * 600}
    )
    assert long_modules(package) == ["pkg/long.py: 601"]


def test_private_imports_are_found(tmp_path: Path) -> None:
    package = _write_package(
        tmp_path,
        {
            "pkg/__init__.py": "from __future__ import annotations\nfrom verify._cbor import x\n",
            "pkg/a.py": "from qrcode.util import QRData\nimport json\n",
            "pkg/b.py": "def late():\n    from qrcode import base\n    import lib._speedups\n",
            "pkg/c.py": "from zxingcpp import _private_name\nfrom . import _own_helper\n",
        },
    )
    assert private_imports(package) == [
        "pkg/a.py imports qrcode.util",
        "pkg/b.py imports lib._speedups",
        "pkg/b.py imports qrcode.base",
        "pkg/c.py imports zxingcpp._private_name",
    ]
