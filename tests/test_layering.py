"""Dependencies run one way: landmarks never imports tasks, nor hydra/omegaconf outside run.py."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_library_never_imports_tasks_or_hydra() -> None:
    offenders = []
    for path in sorted((ROOT / "landmarks").rglob("*.py")):
        bad = _imports(path) & {"tasks", "hydra", "omegaconf"}
        if path.name == "run.py":
            bad -= {"hydra", "omegaconf"}
        if bad:
            offenders.append(f"{path.relative_to(ROOT)} imports {sorted(bad)}")
    assert not offenders, offenders


def test_scripts_are_thin() -> None:
    for path in (ROOT / "scripts").glob("*.py"):
        if path.name in {"benchmark.py"} or path.parent.name != "scripts":
            continue
        if "hydra.main" in path.read_text():
            assert len(path.read_text().splitlines()) <= 40, path
