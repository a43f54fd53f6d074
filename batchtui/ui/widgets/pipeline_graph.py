"""The pipeline drawn as boxes and arrows (see `ui.graph`), scrollable when wider than the screen; click a box."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from textual import events
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from batchtui.model import Snapshot
from batchtui.ui import graph
from batchtui.ui.insight import JobInsight

MAX_LINES = 24  # beyond this the graph scrolls, leaving room for the jobs table and the feed


class PipelineGraph(ScrollView):
    DEFAULT_CSS = """
    PipelineGraph { height: auto; scrollbar-size: 1 1; }
    """

    class NodeClicked(Message):
        def __init__(self, job_id: str, double: bool) -> None:
            super().__init__()
            self.job_id = job_id
            self.double = double

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._snap: Snapshot | None = None
        self._selected: str | None = None
        self._now: datetime | None = None
        self._insights: Mapping[str, JobInsight] = {}
        self._layout = graph.Layout(graph.Canvas())

    def show(self, snap: Snapshot, *, selected: str | None, now: datetime,
             insights: Mapping[str, JobInsight]) -> None:
        self._snap, self._selected, self._now, self._insights = snap, selected, now, insights
        self._relayout()

    def select(self, job_id: str | None) -> None:
        """Only the selection moved (the cursor in the jobs table): restyle two boxes, keep the layout."""
        if self._snap is None or self._now is None or job_id == self._selected:
            return
        old, self._selected = self._selected, job_id
        graph.reselect(self._layout, self._snap, old, job_id, self._now, self._insights)
        self.refresh()
        node = self._layout.nodes.get(job_id or "")
        if node is not None:
            self.scroll_to_region(Region(node.x, node.y, node.w, node.h), animate=False, immediate=True)

    def _relayout(self) -> None:
        if self._snap is None or self._now is None:
            return
        width = self.scrollable_content_region.width or self.size.width or 156
        self._layout = graph.layout(self._snap, width, selected=self._selected, now=self._now,
                                    insights=self._insights)
        canvas = self._layout.canvas
        self.virtual_size = Size(canvas.width, canvas.height)
        scrollbar = 1 if canvas.width > width else 0
        self.styles.height = max(1, min(canvas.height, MAX_LINES) + scrollbar)
        self.refresh()
        node = self._layout.nodes.get(self._selected or "")
        if node is not None:
            self.scroll_to_region(Region(node.x, node.y, node.w, node.h), animate=False, immediate=True)

    def on_resize(self, event: events.Resize) -> None:
        self._relayout()

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.scrollable_content_region.width
        segments = self._layout.canvas.segments(y + scroll_y)
        base = self.visual_style.rich_style
        # Canvas cells only carry a foreground: the widget's own background goes under them.
        strip = Strip(segments, self._layout.canvas.width if segments else 0).apply_style(base)
        return strip.crop_extend(scroll_x, scroll_x + width, base)

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        job_id = self._layout.node_at(offset.x + self.scroll_offset.x, offset.y + self.scroll_offset.y)
        if job_id is not None:
            self.post_message(self.NodeClicked(job_id, event.chain >= 2))
