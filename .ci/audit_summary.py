"""Read pip-audit's JSON report for CI: a known vulnerability fails the run; a report that
could not be made (no network to the vulnerability service) or that audited nothing (a
package index without vulnerability data) is said plainly and passes, so CI is not red for
lack of network.

    python .ci/audit_summary.py REPORT.json ERRORS.txt
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def summary(report: str, errors: str) -> tuple[int, list[str]]:
    try:
        data = json.loads(Path(report).read_text(encoding="utf-8") or "null")
    except (OSError, ValueError):
        data = None
    if not isinstance(data, dict):
        said = Path(errors).read_text(encoding="utf-8", errors="replace").strip().splitlines()
        why = said[-1][:200] if said else "no report"
        return 0, [f"pip-audit: could not reach its vulnerability service ({why}): NOT CHECKED"]
    dependencies = data.get("dependencies", [])
    lines = [
        f"pip-audit: {dep['name']} {dep['version']}: {vuln['id']} "
        f"(fixed in {', '.join(vuln.get('fix_versions') or ['no release yet'])})"
        for dep in dependencies
        for vuln in dep.get("vulns") or []
    ]
    if lines:
        return 1, lines
    skipped = sum(1 for dep in dependencies if "skip_reason" in dep)
    audited = len(dependencies) - skipped
    if not audited:
        return 0, [
            f"pip-audit: the vulnerability service answered for none of the {skipped} "
            "packages (no vulnerability data reachable from this machine): NOT CHECKED"
        ]
    note = f"; {skipped} could not be audited" if skipped else ""
    return 0, [f"pip-audit: {audited} packages audited, no known vulnerability{note}"]


def main() -> int:
    status, lines = summary(sys.argv[1], sys.argv[2])
    print("\n".join(lines))
    return status


if __name__ == "__main__":
    sys.exit(main())
