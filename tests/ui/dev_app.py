"""Run the dashboard on hand-built snapshots, no AWS: `python tests/ui/dev_app.py [reference|fan_in|wide_chain…]`.

Also the app module the snapshot tests load (`app` below): a frozen clock, so every SVG is stable.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import ui_factory as factory  # noqa: E402

from batchtui.ui.app import BatchtuiApp  # noqa: E402


def make_app(shape: str = "reference", size: int = 10_000) -> BatchtuiApp:
    if shape == "reference":
        source = factory.reference_source(size)
    else:
        source = factory.ScriptedSource([getattr(factory, shape)()])
    return BatchtuiApp(source, refresh_s=3600, clock=lambda: factory.NOW, bell=False)


app = make_app()

if __name__ == "__main__":
    make_app(*(sys.argv[1:2] or ["reference"])).run()
