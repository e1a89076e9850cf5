"""The open model, shared by all views: which checkpoint, its info, and the render thread."""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from pathlib import Path

import torch
from PySide6.QtCore import QCoreApplication, QObject, Signal
from PySide6.QtWidgets import QWidget

from explorer.core.latent.render import ModelInfo, Renderer
from explorer.ui.shell.render_worker import RenderChannel, RenderRequest, RenderResult, RenderThread
from trainer.checkpoint import CheckpointError


@dataclass(frozen=True)
class Focus:
    """The sample the user focused in the Generate view (what sliders and morphs start from)."""

    z: torch.Tensor  # (z_dim,)
    y: torch.Tensor | None  # (n_classes,) class vector, or None
    seed: int | None  # the sample's own seed, when it came from one
    label: str = ""  # what it is when it has no seed (e.g. "your image cat.png")


class ModelSession(QObject):
    """Holds the model being explored. Views connect to ``model_changed`` and render through
    ``request``; nothing outside the render thread touches the generator."""

    model_changed = Signal(object)  # ModelInfo or None
    # Every result and failure, whatever its tag; each is also routed to its tag's channel.
    rendered = Signal(object)  # RenderResult
    failed = Signal(str)
    focus_changed = Signal(object)  # Focus or None
    # The Control view's sliders as one z-space offset sum(alpha_i * d_i), (z_dim,) or None.
    offset_changed = Signal(object)
    # Pick a sample as morph endpoint: ("A" | "B", Focus).
    endpoint_picked = Signal(str, object)
    export_dir_changed = Signal(str)  # the folder of the latest export
    project_image_requested = Signal(str)  # an image file to project into z (File menu)

    def __init__(self, device: str = "cpu", parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.device = device
        self.info: ModelInfo | None = None
        self.focus: Focus | None = None
        self.offset: torch.Tensor | None = None
        self.offset_applies_to_grid = False
        # Where every export dialog opens: the folder of the last export, from any view (the
        # main window keeps it across sessions).
        self.export_dir = Path.home()
        self._render = RenderThread()
        # Each view's channels, by tag; weak: a channel goes with the view that holds it.
        self._channels: dict[str, weakref.WeakSet[RenderChannel]] = {}
        self._render.worker.rendered.connect(self.rendered)
        self._render.worker.failed.connect(self._on_render_failed)
        self.rendered.connect(self._route)
        # Join the render thread before Qt tears down, even if nobody called close().
        app = QCoreApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.close)

    def open_checkpoint(self, path: Path | str) -> ModelInfo:
        """Load a checkpoint or run folder; raises CheckpointError with a user message."""
        try:
            renderer = Renderer.from_checkpoint(Path(path), self.device)
        except CheckpointError:
            raise
        except (OSError, RuntimeError, ValueError) as e:
            raise CheckpointError(f"cannot open {path}: {e}") from None
        self.set_renderer(renderer)
        return renderer.info

    def set_renderer(self, renderer: Renderer) -> None:
        """Switch model. Focus and offset are cleared when the latent space changes shape."""
        old = self.info
        self._render.worker.set_renderer(renderer)
        for channels in self._channels.values():
            for ch in list(channels):
                ch.drop_held()  # made for the model before; each view asks anew below
        self.info = renderer.info
        if old is None or (old.z_dim, old.class_names) != (self.info.z_dim, self.info.class_names):
            self.focus, self.offset = None, None
        self.model_changed.emit(self.info)

    def set_focus(self, focus: Focus | None) -> None:
        self.focus = focus
        self.focus_changed.emit(focus)

    def set_offset(self, offset: torch.Tensor | None, applies_to_grid: bool = False) -> None:
        self.offset = offset
        self.offset_applies_to_grid = applies_to_grid
        self.offset_changed.emit(offset)

    def remember_export(self, path: Path | str) -> None:
        """An export was written to ``path``: the next export dialog opens in its folder."""
        self.export_dir = Path(path).parent
        self.export_dir_changed.emit(str(self.export_dir))

    def pick_endpoint(self, which: str, focus: Focus) -> None:
        self.endpoint_picked.emit(which, focus)

    def channel(self, tag: str, live: bool = False, view: QWidget | None = None
                ) -> RenderChannel:
        """A new channel on ``tag`` for one view, which keeps it (see ``RenderChannel``): the
        view requests through it and receives only the results of its own requests. A preview
        passes itself as ``view``: its requests wait while it is a tab not in front."""
        # Through self.request, looked up at call time, so a spy on it sees every request.
        ch = RenderChannel(tag, lambda req: self.request(req), self.cancel, live, view)
        self._channels.setdefault(tag, weakref.WeakSet()).add(ch)
        return ch

    def request(self, req: RenderRequest) -> int:
        return self._render.worker.request(req)

    def cancel(self, tag: str) -> None:
        self._render.worker.cancel(tag)

    def close(self) -> None:
        self._render.close()

    def _route(self, result: RenderResult) -> None:
        for ch in list(self._channels.get(result.tag, ())):
            ch.deliver(result)

    def _on_render_failed(self, tag: str, stamp: int, message: str) -> None:
        for ch in list(self._channels.get(tag, ())):
            ch.deliver_failure(stamp, message)
        self.failed.emit(message)
