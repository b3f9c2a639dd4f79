"""Local stack: runs the SAM application in one process, with moto in place of AWS.

The stack reads ``template.yaml``, creates its tables, bus and topic in an in-process moto
server, serves the template's HTTP API routes on 127.0.0.1 and delivers EventBridge and SNS
events to the functions. ``python -m local run`` serves it; ``python -m local demo`` runs the
walkthrough against it.
"""

from __future__ import annotations

import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
LAYER_PATH = REPO_ROOT / "layers" / "shared"

# Lambda puts the layer's package on the import path. The local stack does the same, so
# `python -m local` works from the repository root without PYTHONPATH.
if str(LAYER_PATH) not in sys.path:
    sys.path.insert(0, str(LAYER_PATH))
