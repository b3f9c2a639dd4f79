"""Measure how long importing each function's module takes, over a bare interpreter.

Each sample is a fresh process, so nothing is cached in memory; the median of several samples is
reported. The budget is 300 ms over a bare interpreter, on the machine that runs the script.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FUNCTIONS = sorted(path.parent.name for path in (ROOT / "functions").glob("*/app.py"))
SAMPLES = 7
BUDGET_MS = 300.0

_PROBE = """
import sys, importlib.util
{body}
"""


_CLIENTS_CHECK = """
import sys, importlib.util
sys.path.insert(0, {layer!r})
spec = importlib.util.spec_from_file_location("app", {path!r})
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
print("boto3" in sys.modules, "botocore.client" in sys.modules)
"""


# Lambda's environment marks tracing as enabled, so the tracer takes its real import path.
_ENV = {"PATH": "/usr/bin:/bin", "AWS_REGION": "us-east-1", "AWS_LAMBDA_FUNCTION_NAME": "bench"}


def _run(code: str) -> str:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=_ENV
    ).stdout.strip()


def _wall_ms(code: str) -> float:
    """Return the wall time of a whole fresh interpreter running ``code``."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, env=_ENV)
    return (time.perf_counter() - start) * 1000


def bare_interpreter_ms() -> float:
    return statistics.median(_wall_ms("pass") for _ in range(SAMPLES))


def function_import_ms(name: str) -> float:
    path = str(ROOT / "functions" / name / "app.py")
    body = (
        f"sys.path.insert(0, {str(ROOT / 'layers' / 'shared')!r})\n"
        f"spec = importlib.util.spec_from_file_location('app', {path!r})\n"
        "module = importlib.util.module_from_spec(spec)\n"
        "spec.loader.exec_module(module)"
    )
    return statistics.median(_wall_ms(_PROBE.format(body=body)) for _ in range(SAMPLES))


def clients_created_at_import(name: str) -> str:
    path = str(ROOT / "functions" / name / "app.py")
    return _run(_CLIENTS_CHECK.format(layer=str(ROOT / "layers" / "shared"), path=path))


def main() -> list[tuple[str, float]]:
    bare = bare_interpreter_ms()
    print(f"Import time per function (median of {SAMPLES} fresh processes, Python {sys.version.split()[0]})")
    print(f"  bare interpreter: {bare:.1f} ms (subtracted below); budget {BUDGET_MS:.0f} ms added")
    results = []
    for name in FUNCTIONS:
        added = function_import_ms(name) - bare
        boto3_loaded, client_module_loaded = clients_created_at_import(name).split()
        verdict = "ok" if added <= BUDGET_MS else "OVER BUDGET"
        print(f"  {name:<18} {added:7.1f} ms  {verdict:<11} boto3 imported at import time: {boto3_loaded}")
        results.append((name, added))
    return results


if __name__ == "__main__":
    main()
