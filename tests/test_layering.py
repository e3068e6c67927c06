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


def _full_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{a.name}" for a in node.names)
    return names


def test_only_entry_points_import_run_and_nothing_installed_imports_benchmarks() -> None:
    """``scripts -> landmarks.run -> tasks -> landmarks.*``: no library module reaches back up (no cycle)."""
    offenders = []
    for path in sorted((ROOT / "landmarks").rglob("*.py")) + sorted((ROOT / "tasks").rglob("*.py")):
        names = _full_imports(path)
        entry = path.relative_to(ROOT).as_posix() in {"landmarks/run.py", "landmarks/cli.py"}  # what scripts call
        if not entry and any(n == "landmarks.run" or n.startswith("landmarks.run.") for n in names):
            offenders.append(f"{path.relative_to(ROOT)} imports landmarks.run")
        if any(n.split(".")[0] == "benchmarks" for n in names):
            offenders.append(f"{path.relative_to(ROOT)} imports benchmarks (outside the installed package)")
    assert not offenders, offenders
