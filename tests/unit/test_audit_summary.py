"""CI's reading of pip-audit: a vulnerability fails; no answer from the service passes, said."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

SCRIPT = Path(__file__).resolve().parents[2] / ".ci" / "audit_summary.py"


def load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("audit_summary", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run(tmp_path: Path, report: object, errors: str = "") -> tuple[int, list[str]]:
    (tmp_path / "report.json").write_text("" if report is None else json.dumps(report))
    (tmp_path / "errors.txt").write_text(errors)
    status, lines = load().summary(str(tmp_path / "report.json"), str(tmp_path / "errors.txt"))
    return int(status), list(lines)


def test_a_known_vulnerability_fails_ci(tmp_path: Path) -> None:
    vuln = {"id": "PYSEC-2099-1", "fix_versions": ["2.0"], "aliases": [], "description": ""}
    report = {
        "dependencies": [
            {"name": "good", "version": "1.0", "vulns": []},
            {"name": "bad", "version": "1.0", "vulns": [vuln]},
        ],
        "fixes": [],
    }
    assert run(tmp_path, report) == (1, ["pip-audit: bad 1.0: PYSEC-2099-1 (fixed in 2.0)"])


def test_a_clean_report_passes_and_counts(tmp_path: Path) -> None:
    report = {
        "dependencies": [
            {"name": "good", "version": "1.0", "vulns": []},
            {"name": "gone", "skip_reason": "Dependency not found on PyPI"},
        ]
    }
    status, [line] = run(tmp_path, report)
    assert status == 0 and line == (
        "pip-audit: 1 packages audited, no known vulnerability; 1 could not be audited"
    )


def test_no_answer_from_the_service_passes_and_says_not_checked(tmp_path: Path) -> None:
    status, [line] = run(tmp_path, None, "Traceback ...\nConnectionError: Failed to resolve\n")
    assert status == 0 and "NOT CHECKED" in line and "Failed to resolve" in line
    skipped = {"dependencies": [{"name": "x", "skip_reason": "Dependency not found on PyPI"}]}
    status, [line] = run(tmp_path, skipped)
    assert status == 0 and "none of the 1 packages" in line and "NOT CHECKED" in line
