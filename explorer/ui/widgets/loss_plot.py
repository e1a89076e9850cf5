"""Live training curves against the generator step. A GAN's: critic + generator loss in one
plot, the critic's score gap in a second (with the gradient penalty, for WGAN-GP; called the
Wasserstein estimate for the WGAN losses), and the critic's overfitting signal r with the
augmentation strength p in a third. A VAE's: its reconstruction error in one plot and its KL
term in a second (``set_kind``, from ``plot_kind``; the kind also follows the data).

Follows the pyqtgraph idioms for long live series: the curve items are created once and updated
with ``setData``; peak downsampling and clip-to-view keep 100k+ points smooth; the data lives in
growing numpy buffers (capacity doubles) so an update never re-converts Python lists.
"""

from __future__ import annotations

import time

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QPaintEvent
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from explorer.ui.widgets.common import PLOT_BACKGROUND
from trainer import losses

SERIES = ("critic_loss", "gen_loss", "gp", "wdist", "r", "aug_p", "recon", "kl")
_STYLE = {  # name -> (legend label, short label, colour, plot index)
    "critic_loss": ("critic loss", "D", "#4e9af1", 0),
    "gen_loss": ("generator loss", "G", "#f28e2b", 0),
    "gp": ("gradient penalty", "GP", "#59a14f", 1),
    "wdist": ("score gap", "gap", "#e15759", 1),  # named per loss: _label
    "r": ("overfitting r", "r", "#b07aa1", 2),
    "aug_p": ("augmentation p", "p", "#edc948", 2),
    "recon": ("reconstruction error (sum of squares per image)", "rec", "#4e9af1", 0),
    "kl": ("KL (nats per image)", "KL", "#f28e2b", 1),
}
# What a plot shows is a "kind": "vae", or a GAN loss's name (trainer/config.py LOSSES).
GAN_KIND = "wgan-gp"  # the kind a GAN's log rows imply when nothing said which loss


def plot_kind(arch: str, loss: str) -> str:
    """The kind of curves a run of this architecture and loss shows."""
    return "vae" if arch == "vae" else loss


def kind_series(kind: str) -> tuple[str, ...]:
    """The series a kind shows: a VAE's two; a GAN's six, less the gradient penalty where its
    loss has none (the column reads 0 there)."""
    if kind == "vae":
        return "recon", "kl"
    return tuple(k for k in SERIES[:6] if k != "gp" or kind in losses.PENALTY_LOSSES)


def _label(kind: str, name: str) -> tuple[str, str]:
    """Legend and short label of a series in a kind: the score gap is named for the loss."""
    if name == "wdist" and kind != "vae":
        return losses.gap_name(kind)
    return _STYLE[name][:2]
R_TARGET_LINE = 0.6  # drawn on the r plot: the target adaptive augmentation steers r to
EMA_ALPHA = 0.05  # weight of a new point in the smoothed curve (~20-step memory)
# Redrawing two plots costs 5-60 ms of GUI thread whatever the point count (axes, grid, text),
# so redraws are spaced to keep that under DRAW_BUDGET of the GUI thread: 20 Hz when drawing is
# cheap, down to a few Hz on a slow machine. The data itself is buffered at once.
MIN_REDRAW_S = 0.05
DRAW_BUDGET = 0.05


def legend_title(entries: list[tuple[str, str]]) -> str:
    """A plot title that names its curves in their colours: ``[(label, "#rrggbb"), ...]``."""
    return "&nbsp;&nbsp;&nbsp;".join(f"<span style='color:{colour}'>&#9473;&#9473;</span>"
                                     f"&nbsp;{label}" for label, colour in entries)


class _TimedPlotArea(pg.GraphicsLayoutWidget):
    """A GraphicsLayoutWidget that measures what its paints cost (smoothed, seconds)."""

    def __init__(self) -> None:
        super().__init__()
        self.paint_s = 0.0

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt override
        t0 = time.perf_counter()
        super().paintEvent(event)
        dt = time.perf_counter() - t0
        self.paint_s = dt if not self.paint_s else 0.8 * self.paint_s + 0.2 * dt


class SeriesBuffer:
    """Columns of float64 that grow by amortised doubling; ``view(name)`` is a no-copy slice."""

    def __init__(self, names: tuple[str, ...], capacity: int = 1024) -> None:
        self.names = names
        self.n = 0
        self._cols = {k: np.empty(capacity) for k in names}

    def __len__(self) -> int:
        return self.n

    def append(self, **cols: np.ndarray) -> None:
        k = len(next(iter(cols.values())))
        if self.n + k > len(self._cols[self.names[0]]):
            cap = max(2 * len(self._cols[self.names[0]]), self.n + k)
            for name, old in self._cols.items():
                new = np.empty(cap)
                new[: self.n] = old[: self.n]
                self._cols[name] = new
        for name in self.names:
            self._cols[name][self.n: self.n + k] = cols[name]
        self.n += k

    def view(self, name: str) -> np.ndarray:
        return self._cols[name][: self.n]

    def last(self, name: str) -> float | None:
        return float(self._cols[name][self.n - 1]) if self.n else None

    def clear(self) -> None:
        self.n = 0


def ema_continue(x: np.ndarray, prev: float | None, n_prev: int,
                 alpha: float = EMA_ALPHA) -> np.ndarray:
    """Exponential moving average of ``x``, continuing from the previous smoothed value after
    ``n_prev`` points. The weight of a new point starts at 1/n (a plain running mean) and
    settles at ``alpha``, so the first, often huge, losses do not drag the curve for long."""
    out = np.empty(len(x), dtype=np.float64)
    acc = 0.0 if prev is None or np.isnan(prev) else prev
    for i, v in enumerate(x.tolist()):  # new points only: a handful per update
        if v != v:  # NaN: a column this producer or log does not have
            out[i] = v
            continue
        acc += max(alpha, 1.0 / (n_prev + i + 1)) * (v - acc)
        out[i] = acc
    return out


class LossPlot(QWidget):
    """Three linked plots of the training curves. Feed it with ``append`` or ``set_data``."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.raw = SeriesBuffer(("step", *SERIES))
        self.smooth = SeriesBuffer(SERIES)
        self.smooth_box = QCheckBox("Smooth (EMA)")
        self.smooth_box.setChecked(True)
        self.smooth_box.setToolTip("Show an exponential moving average over the raw curves "
                                   "(drawn faint behind it)")
        self.smooth_box.toggled.connect(self._on_smoothing_toggled)
        self.follow_box = QCheckBox("Follow")
        self.follow_box.setChecked(True)
        self.follow_box.setToolTip("Keep the whole run in view as it grows (panning or zooming "
                                   "the plot turns this off)")
        self.follow_box.toggled.connect(self._on_follow_toggled)
        self.readout = QLabel("")
        self.readout.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        # A long readout must not force the window wider: it wraps onto a second line instead.
        self.readout.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.readout.setWordWrap(True)

        self._drawn: set[str] = set()
        self.kind = ""  # "gan" or "vae": set by set_kind, or by the first points
        self._last_refresh = -1.0
        self._refresh_s = 0.0  # what the last setData round cost
        self._redraw = QTimer(self)
        self._redraw.setSingleShot(True)
        self._redraw.timeout.connect(self._on_redraw_timeout)
        self.view = _TimedPlotArea()
        self.view.setBackground(PLOT_BACKGROUND)
        self.plots = [self.view.addPlot(row=i, col=0) for i in range(3)]
        for p in self.plots:  # the titles, the legends, are set_kind's
            p.showGrid(x=True, y=True, alpha=0.2)
            p.setDownsampling(auto=True, mode="peak")
            p.setClipToView(True)
            p.setLabel("bottom", "step")
            for side in ("bottom", "left"):  # plain numbers, not "200 (x0.001)" or "5 (x1000)"
                p.getAxis(side).enableAutoSIPrefix(False)
            # The x range is set by _refresh, not auto-ranged: with auto downsampling the data's
            # x bounds depend on the range, and pyqtgraph then re-ranges and repaints forever
            # (measured: 15 paints/s, 75% of a core, idle, at 100k points). The 'A' button would
            # switch that auto-range back on, so it is hidden; "Follow" replaces it.
            p.disableAutoRange(axis="x")
            p.enableAutoRange(axis="y")
            p.setAutoVisible(y=True)
            p.hideButtons()
            p.vb.sigRangeChangedManually.connect(self._on_range_changed_manually)
        self.plots[1].setXLink(self.plots[0])
        self.plots[2].setXLink(self.plots[0])
        # r near 1: the critic is sure of every real image (memorising); augmentation holds it
        # near the target line.
        self.plots[2].addItem(pg.InfiniteLine(R_TARGET_LINE, angle=0, pen=pg.mkPen(
            "#b07aa1", width=1, style=Qt.PenStyle.DashLine)))
        # Created once, updated with setData.
        self.faint_items: dict[str, pg.PlotDataItem] = {}
        self.main_items: dict[str, pg.PlotDataItem] = {}
        for name, (_, _, colour, idx) in _STYLE.items():
            faint = pg.mkColor(colour)
            faint.setAlpha(70)
            self.faint_items[name] = self.plots[idx].plot(pen=pg.mkPen(faint, width=1))
            self.main_items[name] = self.plots[idx].plot(pen=pg.mkPen(colour, width=2))

        # The latest values on their own line: beside the check boxes they were cut off.
        top = QHBoxLayout()
        top.addStretch(1)
        top.addWidget(self.follow_box)
        top.addWidget(self.smooth_box)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(top)
        lay.addWidget(self.readout)
        lay.addWidget(self.view, 1)
        self.set_kind(GAN_KIND)

    def set_kind(self, kind: str) -> None:
        """Show the curves of a kind of run (``plot_kind``): the plots' titles and which plots
        and curves are shown."""
        if kind == self.kind:
            return
        self.kind = kind
        names = kind_series(kind)
        for i, p in enumerate(self.plots):
            # The title is the legend: a legend box inside the plot covered the newest points.
            entries = [(_label(kind, k)[0], _STYLE[k][2]) for k in names if _STYLE[k][3] == i]
            p.setTitle(legend_title(entries), size="9pt")
            p.setVisible(bool(entries))
            # A hidden plot still takes its row's height: give it none.
            p.setMaximumHeight(16777215 if entries else 0)
            p.setMinimumHeight(0)
        for items in (self.main_items, self.faint_items):  # one dict each: both share keys
            for k, item in items.items():
                item.setVisible(k in names)
        self.view.ci.layout.invalidate()

    # --- data ----------------------------------------------------------------------------------
    def append(self, steps: list[int] | np.ndarray, **series: list[float] | np.ndarray) -> None:
        """Add points: ``append(steps, critic_loss=..., gen_loss=..., gp=..., wdist=...,
        r=..., aug_p=...)``; a series that is missing or empty reads as NaN (not drawn)."""
        if not len(steps):
            return
        cols = {k: np.asarray(series.get(k, ()), dtype=np.float64) for k in SERIES}
        for k, v in cols.items():
            if len(v) != len(steps):
                cols[k] = np.full(len(steps), np.nan)
        # Series that have had a value: only these are drawn (an all-NaN curve, a column an old
        # log lacks, keeps pyqtgraph re-ranging and repainting).
        self._drawn |= {k for k, v in cols.items() if not np.isnan(v).all()}
        if self._drawn and not self._drawn & set(kind_series(self.kind)):  # another kind's
            self.set_kind("vae" if self._drawn & set(kind_series("vae")) else GAN_KIND)
        n = len(self.smooth)
        self.smooth.append(**{k: ema_continue(cols[k], self.smooth.last(k), n) for k in SERIES})
        self.raw.append(step=np.asarray(steps, dtype=np.float64), **cols)
        self._request_refresh()

    def set_data(self, log: dict[str, np.ndarray]) -> None:
        """Replace everything with a whole log (``trainer.runlog.read_log`` output)."""
        self.clear()
        if len(log.get("step", ())):
            self.append(log["step"], **{k: log[k] for k in SERIES if k in log})
            self._refresh()  # at once: a whole log arrives when the user opens something

    def clear(self) -> None:
        self.raw.clear()
        self.smooth.clear()
        self._drawn.clear()
        self._refresh()

    @property
    def point_count(self) -> int:
        return len(self.raw)

    @property
    def last_step(self) -> int | None:
        last = self.raw.last("step")
        return None if last is None else int(last)

    # --- drawing -------------------------------------------------------------------------------
    def redraw_interval(self) -> float:
        """Seconds between redraws: their measured cost over the budget, at least 50 ms."""
        return max(MIN_REDRAW_S, (self.view.paint_s + self._refresh_s) / DRAW_BUDGET)

    def _request_refresh(self) -> None:
        if self._redraw.isActive():
            return  # a redraw is already due; it will show these points too
        wait = self.redraw_interval() - (time.monotonic() - self._last_refresh)
        if wait <= 0:
            self._refresh()
        else:
            self._redraw.start(int(wait * 1000) + 1)

    def _on_redraw_timeout(self) -> None:
        self._refresh()

    def _refresh(self) -> None:
        self._redraw.stop()
        t0 = time.perf_counter()
        x = self.raw.view("step")
        smoothing = self.smooth_box.isChecked()
        shown = kind_series(self.kind)
        for name in SERIES:
            # The named (legend) curve shows the smoothed or the raw series; the faint one the raw
            # series behind a smoothed curve. Series this kind does not show stay empty.
            if name not in self._drawn or name not in shown:
                self.main_items[name].setData([], [])
                self.faint_items[name].setData([], [])
                continue
            main = self.smooth if smoothing else self.raw
            self.main_items[name].setData(x, main.view(name))
            self.faint_items[name].setVisible(smoothing)
            if smoothing:
                self.faint_items[name].setData(x, self.raw.view(name))
        if len(self.raw) and self.follow_box.isChecked():
            x0, x1 = float(x[0]), float(x[-1])
            self.plots[0].setXRange(x0, max(x1, x0 + 1), padding=0.02)  # plots[1] is linked
        if len(self.raw):
            vals = "  ".join(f"{_label(self.kind, k)[1]} {self.raw.last(k):+.3f}"
                             for k in shown if not np.isnan(self.raw.last(k)))
            self.readout.setText(f"step {self.last_step}   {vals}")
        else:
            self.readout.setText("")
        self._last_refresh = time.monotonic()
        self._refresh_s = time.perf_counter() - t0

    def _on_smoothing_toggled(self, _on: bool) -> None:
        self._refresh()

    def _on_follow_toggled(self, on: bool) -> None:
        if on:
            self._refresh()

    def _on_range_changed_manually(self, *_: object) -> None:
        self.follow_box.setChecked(False)  # the user is looking somewhere: stay there
