"""vlenvs_train's packages import downward only (no cycles): every module's imports, function-level ones
included, read with ``ast``."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import vlenvs_train

ROOT = Path(vlenvs_train.__file__).parent

#: Top to bottom; a package may import only packages of a lower rank (and itself). ``integrations`` sits beside
#: ``train``; ``models`` (the tiny model builder, processor helpers) beside ``chat`` and imports only ``chat``;
#: ``viewer`` (the HTML trajectory viewer) beside ``algos``, below its two users ``train`` and ``evaluation``;
#: ``tinker_api`` (the Tinker-API service) beside ``evaluation``: both use the trainer's pieces.
RANKS = {
    "cli": 9,
    "evaluation": 8,
    "tinker_api": 8,
    "train": 7,
    "integrations": 7,
    "algos": 6,
    "viewer": 6,
    "rollout": 5,
    "policies": 4,
    "adapter": 3,
    "models": 1,
    "chat": 0,
}


def package_of(module: str) -> str | None:
    """``"train"`` of ``"vlenvs_train.train.trainer"``; ``None`` for other packages and the package root."""
    parts = module.split(".")
    if parts[0] != "vlenvs_train" or len(parts) < 2:
        return None
    return parts[1]


def module_name(path: Path) -> str:
    rel = path.relative_to(ROOT.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(tree: ast.AST, module: str, is_package: bool) -> list[tuple[str, int]]:
    """Every module ``tree`` imports (anywhere: top level, functions, ``try``), relative imports resolved."""
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".") if is_package else module.split(".")[:-1]
                base = base[:len(base) - (node.level - 1)]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ""
            out.append((name, node.lineno))
            out += [(f"{name}.{alias.name}", node.lineno) for alias in node.names]  # `from pkg import sub`
    return out


def package_edges() -> list[tuple[str, str, str]]:
    """``(from package, to package, where)`` of every import between two vlenvs_train packages."""
    edges = []
    for path in sorted(ROOT.rglob("*.py")):
        module = module_name(path)
        src = package_of(module) if module != "vlenvs_train.cli" else "cli"
        if src is None:
            continue
        tree = ast.parse(path.read_text(), str(path))
        for name, line in imported_modules(tree, module, path.name == "__init__.py"):
            dst = package_of(name) if name != "vlenvs_train.cli" else "cli"
            if dst is not None and dst != src:
                edges.append((src, dst, f"{path.relative_to(ROOT.parent)}:{line} imports vlenvs_train.{dst}"))
    return list(dict.fromkeys(edges))


def test_every_package_has_a_rank():
    packages = {p.name for p in ROOT.iterdir() if (p / "__init__.py").exists()} | {"cli"}
    assert packages == set(RANKS), f"give new packages a rank in RANKS: {sorted(packages ^ set(RANKS))}"


def test_packages_import_downward_only():
    upward = [where for src, dst, where in package_edges() if RANKS[dst] >= RANKS[src]]
    assert upward == [], "imports that go up or sideways:\n" + "\n".join(upward)


def test_models_import_only_chat():
    bad = [where for src, dst, where in package_edges() if src == "models" and dst != "chat"]
    assert bad == [], "\n".join(bad)


def test_no_cycles_between_packages():
    assert_acyclic(package_edges())


def assert_acyclic(edges: list[tuple[str, str, str]]) -> None:
    graph: dict[str, set[str]] = {}
    for src, dst, _ in edges:
        graph.setdefault(src, set()).add(dst)
    state: dict[str, int] = {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:  # on the current path: a cycle
                cycle = (path + [node])[(path + [node]).index(nxt):] + [nxt]
                pytest.fail("package cycle: " + " -> ".join(cycle))
            if state.get(nxt) is None:
                visit(nxt, path + [node])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [])


@pytest.mark.parametrize("source, expected", [
    ("import vlenvs_train.policies.base\n", ["vlenvs_train.policies.base"]),
    ("def f():\n    from vlenvs_train.train import rollout\n", ["vlenvs_train.train", "vlenvs_train.train.rollout"]),
    ("from ..policies import base\n", ["vlenvs_train.policies", "vlenvs_train.policies.base"]),
])
def test_the_import_reader_sees_function_level_and_relative_imports(source, expected):
    names = [n for n, _ in imported_modules(ast.parse(source), "vlenvs_train.rollout.collect", False)]
    assert names == expected


def test_the_checker_catches_an_upward_import(tmp_path, monkeypatch):
    fake = tmp_path / "vlenvs_train"
    for pkg in RANKS:
        if pkg != "cli":
            (fake / pkg).mkdir(parents=True)
            (fake / pkg / "__init__.py").write_text("")
    (fake / "__init__.py").write_text("")
    (fake / "chat" / "bad.py").write_text("def f():\n    from vlenvs_train.rollout.episodes import EpisodeLoop\n")
    monkeypatch.setattr(__import__(__name__, fromlist=["ROOT"]), "ROOT", fake)
    edges = package_edges()
    assert ("chat", "rollout") in {(s, d) for s, d, _ in edges}
    with pytest.raises(AssertionError, match="chat/bad.py:2"):
        test_packages_import_downward_only()


def test_the_cycle_check_names_the_cycle():
    with pytest.raises(pytest.fail.Exception, match="adapter -> policies -> adapter"):
        assert_acyclic([("adapter", "policies", ""), ("policies", "adapter", ""), ("chat", "adapter", "")])
    assert_acyclic([("train", "rollout", ""), ("rollout", "policies", ""), ("train", "policies", "")])


def test_the_real_graph_is_read():
    pairs = {(s, d) for s, d, _ in package_edges()}
    assert {("train", "rollout"), ("rollout", "adapter"), ("adapter", "chat"), ("models", "chat")} <= pairs
