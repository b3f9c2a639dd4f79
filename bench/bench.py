"""`make bench`: import time of each function and DynamoDB calls per operation."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import dynamodb_calls  # noqa: E402
import import_times  # noqa: E402

if __name__ == "__main__":
    import_times.main()
    print()
    dynamodb_calls.main()
