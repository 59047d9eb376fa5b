"""The import contract (docs/DESIGN.md, "Layers"): foundation <- ledger <- events <- faces, one way, and
no import cycle between modules. Read from the source, every import counted (a function's
own imports too): a dependency is a dependency wherever it is written."""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "wallet_app"
# The faces: what serves people and programs. Nothing below them may import them.
FACES = {
    "wallets",
    "finance",
    "admin",
    "api",
    "auth",
    "error_pages",
    "formatting",
    "cli",
    "health",
    "streaming",
    "statement_pdf",
}


def _module(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports() -> dict[str, set[str]]:
    """module -> the wallet_app modules it imports (from X import y counts as X.y)."""
    found: dict[str, set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        module = _module(path)
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                base = package.split(".")[: len(package.split(".")) - node.level + 1] if node.level else []
                source = ".".join(base + ([node.module] if node.module else []))
                targets = [f"{source}.{alias.name}" for alias in node.names]
            elif isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                continue
            found.setdefault(module, set()).update(t for t in targets if t.startswith("wallet_app."))
    return found


def area(module: str) -> str:
    """wallet_app.ledger.engine -> ledger; the package's own __init__ (the app factory) -> ""."""
    return module.split(".")[1] if "." in module else ""


def area_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for module, targets in imports().items():
        for target in targets:
            a, b = area(module), area(target)
            if a and b and a != b:
                graph.setdefault(a, set()).add(b)
    return graph


def test_the_ledger_and_the_foundation_never_import_a_face():
    graph = area_graph()
    below = [a for a in graph if a not in FACES]
    assert {a: sorted(graph[a] & FACES) for a in below if graph[a] & FACES} == {}


def test_the_foundation_never_imports_the_ledger():
    graph = area_graph()
    below = [a for a in graph if a not in FACES | {"ledger", "events"}]
    assert sorted(a for a in below if graph[a] & {"ledger", "events"}) == []


def test_the_ledger_never_imports_its_events():
    """Events sit on the ledger (they render its objects), below the faces."""
    assert "events" not in area_graph().get("ledger", set())


def module_graph() -> dict[str, set[str]]:
    """module -> the modules it imports (an imported name resolved to the module holding it)."""
    found = imports()
    modules = set(found) | {_module(p) for p in PACKAGE.rglob("*.py")}

    def owner(target: str) -> str:
        while target not in modules:
            target = target.rpartition(".")[0]
        return target

    return {m: {owner(t) for t in targets} - {m} for m, targets in found.items()}


def test_no_import_cycles():
    """The app factory (wallet_app/__init__) aside, which imports every blueprint by design."""
    graph = {m: targets - {"wallet_app"} for m, targets in module_graph().items() if m != "wallet_app"}

    def reaches(start: str, goal: str, seen: set) -> bool:
        return any(n == goal or (n not in seen and reaches(n, goal, seen | {n})) for n in graph.get(start, ()))

    assert sorted(m for m in graph if reaches(m, m, {m})) == []
