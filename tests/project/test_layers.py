"""The layers hold in the source itself: no module imports another project app from inside
a function to dodge an import circle (the one exception is AppConfig.ready, where apps
register their chain handlers), and import-linter's contracts hold."""

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APPS = ("core", "chain", "intake", "custody")


def _function_level_imports():
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            tree = ast.parse(path.read_text(), filename=str(path))
            for func in ast.walk(tree):
                if not isinstance(func, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    continue
                if func.name == "ready" and path.name == "apps.py":
                    continue
                for node in ast.walk(func):
                    if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                        names = [node.module]
                    elif isinstance(node, ast.Import):
                        names = [alias.name for alias in node.names]
                    else:
                        continue
                    for name in names:
                        top = name.split(".")[0]
                        if top in APPS and top != app:
                            yield f"{path.relative_to(ROOT)}:{node.lineno} {func.name}() " \
                                  f"imports {name}"


def test_no_project_app_is_imported_inside_a_function():
    assert list(_function_level_imports()) == []


def test_the_import_contracts_hold():
    result = subprocess.run([str(Path(sys.executable).parent / "lint-imports")], cwd=ROOT,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout
