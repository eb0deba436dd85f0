"""What each reliability test measured, kept where a run's artefacts are kept.

Figures go to ``SRN_DATA_DIR/reliability.json`` (one object per test, merged across
the run) whether or not pytest captures output, and are printed too."""

from __future__ import annotations

import fcntl
import json
from pathlib import Path

from django.conf import settings


def report(test: str, **figures) -> dict:
    path = Path(settings.DATA_DIR) / "reliability.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+", encoding="utf-8") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        handle.seek(0)
        text = handle.read()
        kept = json.loads(text) if text.strip() else {}
        kept[f"{test} [{settings.PROFILE}]"] = figures
        handle.seek(0)
        handle.truncate()
        json.dump(kept, handle, indent=2, sort_keys=True)
        handle.write("\n")
    print(f"reliability {test} [{settings.PROFILE}]: {json.dumps(figures, sort_keys=True)}")
    return figures
