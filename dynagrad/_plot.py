"""Line charts as PNG without matplotlib: the training curves ``dynagrad train`` draws when matplotlib is
not installed (with it, ``training_curves`` uses matplotlib).

The drawing is NumPy on an RGB canvas: anti-aliased lines (coverage from each pixel's distance to the
segment), round markers, and text in a built-in 5x7 pixel font scaled up.

>>> import numpy as np
>>> png = line_charts([{"title": "loss", "series": [("train", [1, 2, 3], [0.9, 0.5, 0.3])]}])
>>> png[:4]
b'\\x89PNG'
"""
from __future__ import annotations

import math

import numpy as np

from ._png import encode_png

# A 5x7 font on a 5x9 cell (two rows below the baseline for descenders). '#' is ink.
_GLYPHS = {
    " ": ["....."] * 7,
    "0": [".###.", "#...#", "#..##", "#.#.#", "##..#", "#...#", ".###."],
    "1": ["..#..", ".##..", "..#..", "..#..", "..#..", "..#..", ".###."],
    "2": [".###.", "#...#", "....#", "...#.", "..#..", ".#...", "#####"],
    "3": ["#####", "...#.", "..#..", "...#.", "....#", "#...#", ".###."],
    "4": ["...#.", "..##.", ".#.#.", "#..#.", "#####", "...#.", "...#."],
    "5": ["#####", "#....", "####.", "....#", "....#", "#...#", ".###."],
    "6": ["..##.", ".#...", "#....", "####.", "#...#", "#...#", ".###."],
    "7": ["#####", "....#", "...#.", "..#..", ".#...", ".#...", ".#..."],
    "8": [".###.", "#...#", "#...#", ".###.", "#...#", "#...#", ".###."],
    "9": [".###.", "#...#", "#...#", ".####", "....#", "...#.", ".##.."],
    "a": [".....", ".....", ".###.", "....#", ".####", "#...#", ".####"],
    "b": ["#....", "#....", "#.##.", "##..#", "#...#", "#...#", "####."],
    "c": [".....", ".....", ".###.", "#....", "#....", "#...#", ".###."],
    "d": ["....#", "....#", ".##.#", "#..##", "#...#", "#...#", ".####"],
    "e": [".....", ".....", ".###.", "#...#", "#####", "#....", ".###."],
    "f": ["..##.", ".#..#", ".#...", "###..", ".#...", ".#...", ".#..."],
    "g": [".....", ".....", ".####", "#...#", "#...#", "#...#", ".####", "....#", ".###."],
    "h": ["#....", "#....", "#.##.", "##..#", "#...#", "#...#", "#...#"],
    "i": ["..#..", ".....", ".##..", "..#..", "..#..", "..#..", ".###."],
    "j": ["...#.", ".....", "..##.", "...#.", "...#.", "...#.", "...#.", "#..#.", ".##.."],
    "k": ["#....", "#....", "#..#.", "#.#..", "##...", "#.#..", "#..#."],
    "l": [".##..", "..#..", "..#..", "..#..", "..#..", "..#..", ".###."],
    "m": [".....", ".....", "##.#.", "#.#.#", "#.#.#", "#.#.#", "#.#.#"],
    "n": [".....", ".....", "#.##.", "##..#", "#...#", "#...#", "#...#"],
    "o": [".....", ".....", ".###.", "#...#", "#...#", "#...#", ".###."],
    "p": [".....", ".....", "####.", "#...#", "#...#", "#...#", "####.", "#....", "#...."],
    "q": [".....", ".....", ".####", "#...#", "#...#", "#...#", ".####", "....#", "....#"],
    "r": [".....", ".....", "#.##.", "##..#", "#....", "#....", "#...."],
    "s": [".....", ".....", ".####", "#....", ".###.", "....#", "####."],
    "t": [".#...", ".#...", "###..", ".#...", ".#...", ".#..#", "..##."],
    "u": [".....", ".....", "#...#", "#...#", "#...#", "#..##", ".##.#"],
    "v": [".....", ".....", "#...#", "#...#", "#...#", ".#.#.", "..#.."],
    "w": [".....", ".....", "#...#", "#...#", "#.#.#", "#.#.#", ".#.#."],
    "x": [".....", ".....", "#...#", ".#.#.", "..#..", ".#.#.", "#...#"],
    "y": [".....", ".....", "#...#", "#...#", "#...#", "#...#", ".####", "....#", ".###."],
    "z": [".....", ".....", "#####", "...#.", "..#..", ".#...", "#####"],
    "A": [".###.", "#...#", "#...#", "#####", "#...#", "#...#", "#...#"],
    "B": ["####.", "#...#", "#...#", "####.", "#...#", "#...#", "####."],
    "C": [".###.", "#...#", "#....", "#....", "#....", "#...#", ".###."],
    "D": ["####.", "#...#", "#...#", "#...#", "#...#", "#...#", "####."],
    "E": ["#####", "#....", "#....", "####.", "#....", "#....", "#####"],
    "F": ["#####", "#....", "#....", "####.", "#....", "#....", "#...."],
    "G": [".###.", "#...#", "#....", "#.###", "#...#", "#...#", ".####"],
    "H": ["#...#", "#...#", "#...#", "#####", "#...#", "#...#", "#...#"],
    "I": [".###.", "..#..", "..#..", "..#..", "..#..", "..#..", ".###."],
    "J": ["..###", "...#.", "...#.", "...#.", "...#.", "#..#.", ".##.."],
    "K": ["#...#", "#..#.", "#.#..", "##...", "#.#..", "#..#.", "#...#"],
    "L": ["#....", "#....", "#....", "#....", "#....", "#....", "#####"],
    "M": ["#...#", "##.##", "#.#.#", "#.#.#", "#...#", "#...#", "#...#"],
    "N": ["#...#", "#...#", "##..#", "#.#.#", "#..##", "#...#", "#...#"],
    "O": [".###.", "#...#", "#...#", "#...#", "#...#", "#...#", ".###."],
    "P": ["####.", "#...#", "#...#", "####.", "#....", "#....", "#...."],
    "Q": [".###.", "#...#", "#...#", "#...#", "#.#.#", "#..#.", ".##.#"],
    "R": ["####.", "#...#", "#...#", "####.", "#.#..", "#..#.", "#...#"],
    "S": [".####", "#....", "#....", ".###.", "....#", "....#", "####."],
    "T": ["#####", "..#..", "..#..", "..#..", "..#..", "..#..", "..#.."],
    "U": ["#...#", "#...#", "#...#", "#...#", "#...#", "#...#", ".###."],
    "V": ["#...#", "#...#", "#...#", "#...#", "#...#", ".#.#.", "..#.."],
    "W": ["#...#", "#...#", "#...#", "#.#.#", "#.#.#", "#.#.#", ".#.#."],
    "X": ["#...#", "#...#", ".#.#.", "..#..", ".#.#.", "#...#", "#...#"],
    "Y": ["#...#", "#...#", ".#.#.", "..#..", "..#..", "..#..", "..#.."],
    "Z": ["#####", "....#", "...#.", "..#..", ".#...", "#....", "#####"],
    ".": [".....", ".....", ".....", ".....", ".....", ".##..", ".##.."],
    ",": [".....", ".....", ".....", ".....", ".....", ".##..", ".##..", "..#..", ".#..."],
    ":": [".....", ".##..", ".##..", ".....", ".##..", ".##..", "....."],
    ";": [".....", ".##..", ".##..", ".....", ".##..", ".##..", "..#..", ".#..."],
    "%": ["##...", "##..#", "...#.", "..#..", ".#...", "#..##", "...##"],
    "-": [".....", ".....", ".....", "#####", ".....", ".....", "....."],
    "+": [".....", "..#..", "..#..", "#####", "..#..", "..#..", "....."],
    "=": [".....", ".....", "#####", ".....", "#####", ".....", "....."],
    "(": ["...#.", "..#..", ".#...", ".#...", ".#...", "..#..", "...#."],
    ")": [".#...", "..#..", "...#.", "...#.", "...#.", "..#..", ".#..."],
    "[": [".###.", ".#...", ".#...", ".#...", ".#...", ".#...", ".###."],
    "]": [".###.", "...#.", "...#.", "...#.", "...#.", "...#.", ".###."],
    "<": ["...#.", "..#..", ".#...", "#....", ".#...", "..#..", "...#."],
    ">": [".#...", "..#..", "...#.", "....#", "...#.", "..#..", ".#..."],
    "/": [".....", "....#", "...#.", "..#..", ".#...", "#....", "....."],
    "_": [".....", ".....", ".....", ".....", ".....", ".....", ".....", "#####"],
    "#": [".#.#.", ".#.#.", "#####", ".#.#.", "#####", ".#.#.", ".#.#."],
    "*": [".....", "..#..", "#.#.#", ".###.", "#.#.#", "..#..", "....."],
    "!": ["..#..", "..#..", "..#..", "..#..", "..#..", ".....", "..#.."],
    "?": [".###.", "#...#", "....#", "...#.", "..#..", ".....", "..#.."],
    "'": ["..#..", "..#..", ".#...", ".....", ".....", ".....", "....."],
}
_CELL_W, _CELL_H, _ADVANCE = 5, 9, 6


def _glyph(ch: str) -> np.ndarray:
    rows = _GLYPHS.get(ch) or _GLYPHS["?"]
    g = np.zeros((_CELL_H, _CELL_W), bool)
    for r, line in enumerate(rows):
        g[r] = [c == "#" for c in line]
    return g


_FONT = {ch: _glyph(ch) for ch in _GLYPHS}

PALETTE = [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189), (140, 86, 75)]


class Canvas:
    """An RGB image being drawn on (float values 0..255); ``png()`` encodes it."""

    def __init__(self, width: int, height: int, background=(255, 255, 255)) -> None:
        self.w, self.h = width, height
        self.px = np.empty((height, width, 3), np.float32)
        self.px[:] = background

    def blend(self, mask: np.ndarray, color, y0: int = 0, x0: int = 0) -> None:
        """Paint ``color`` with per-pixel opacity ``mask`` (0..1) whose top-left corner is (x0, y0)."""
        h, w = mask.shape
        ya, xa = max(y0, 0), max(x0, 0)
        yb, xb = min(y0 + h, self.h), min(x0 + w, self.w)
        if ya >= yb or xa >= xb:
            return
        m = mask[ya - y0:yb - y0, xa - x0:xb - x0, None]
        region = self.px[ya:yb, xa:xb]
        region *= 1 - m
        region += m * np.asarray(color, np.float32)

    def rect(self, x0: float, y0: float, x1: float, y1: float, color) -> None:
        xa, ya, xb, yb = int(round(x0)), int(round(y0)), int(round(x1)), int(round(y1))
        self.px[max(ya, 0):max(yb, 0), max(xa, 0):max(xb, 0)] = color

    def polyline(self, xs, ys, color, width: float = 2.0, markers: float = 0.0) -> None:
        """A line through the points, ``width`` pixels thick, with round markers of radius ``markers``."""
        pts = np.column_stack([np.asarray(xs, np.float64), np.asarray(ys, np.float64)])
        pts = pts[np.isfinite(pts).all(axis=1)]
        if len(pts) == 0:
            return
        r = width / 2 + 1
        x0, y0 = int(math.floor(pts[:, 0].min() - r - markers)), int(math.floor(pts[:, 1].min() - r - markers))
        x1, y1 = int(math.ceil(pts[:, 0].max() + r + markers)), int(math.ceil(pts[:, 1].max() + r + markers))
        gx, gy = np.meshgrid(np.arange(x0, x1 + 1) + 0.5, np.arange(y0, y1 + 1) + 0.5)
        dist = np.full(gx.shape, np.inf)
        for (ax, ay), (bx, by) in zip(pts[:-1], pts[1:]):  # distance of each pixel centre to each segment
            dx, dy = bx - ax, by - ay
            length2 = dx * dx + dy * dy
            t = np.clip(((gx - ax) * dx + (gy - ay) * dy) / length2, 0, 1) if length2 else 0.0
            np.minimum(dist, np.hypot(gx - (ax + t * dx), gy - (ay + t * dy)), out=dist)
        cover = np.clip(width / 2 + 0.5 - dist, 0, 1)
        if markers:
            for px, py in pts:
                np.maximum(cover, np.clip(markers + 0.5 - np.hypot(gx - px, gy - py), 0, 1), out=cover)
        self.blend(cover, color, y0, x0)

    def text(self, x: float, y: float, s: str, color=(0, 0, 0), scale: int = 2, anchor: str = "left",
             valign: str = "top", vertical: bool = False) -> None:
        """Write ``s`` with its ``anchor`` (left, center, right) at x and its top (or middle) at y;
        ``vertical`` writes it bottom to top."""
        width = text_width(s, scale)
        mask = np.zeros((_CELL_H * scale, max(width, 1)), np.float32)
        for i, ch in enumerate(s):
            g = _FONT.get(ch, _FONT["?"])
            big = np.kron(g, np.ones((scale, scale), bool))
            mask[:, i * _ADVANCE * scale:i * _ADVANCE * scale + _CELL_W * scale] = big
        if vertical:
            mask = np.rot90(mask)
        h, w = mask.shape
        if vertical:
            left = x - (7 * scale) / 2
            top = {"top": y, "middle": y - h / 2}[valign] if anchor == "left" else y - h / 2
        else:
            left = {"left": x, "center": x - w / 2, "right": x - w}[anchor]
            top = {"top": y, "middle": y - 7 * scale / 2}[valign]
        self.blend(mask, color, int(round(top)), int(round(left)))

    def png(self) -> bytes:
        return encode_png(np.clip(np.rint(self.px), 0, 255).astype(np.uint8))


def text_width(s: str, scale: int = 2) -> int:
    return (len(s) * _ADVANCE - 1) * scale if s else 0


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """Round tick values (steps of 1, 2 or 5 times a power of ten) covering [lo, hi]."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return [0.0, 1.0]
    if hi <= lo:
        lo, hi = lo - 0.5, hi + 0.5
    raw = (hi - lo) / max(count - 1, 1)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    first = math.floor(lo / step + 1e-9) * step
    ticks = []
    v = first
    while v <= hi + step * 1e-9:
        ticks.append(round(v, 12))
        v += step
    if ticks[-1] < hi - 1e-12:
        ticks.append(round(v, 12))
    return ticks


def _fmt(v: float, step: float, percent: bool) -> str:
    if percent:
        v, step = v * 100, step * 100
    decimals = max(0, -int(math.floor(math.log10(step)))) if step > 0 else 0
    s = f"{v:.{min(decimals, 6)}f}"
    return s + ("%" if percent else "")


def line_charts(panels: list[dict], title: str | None = None, panel_size=(440, 320)) -> bytes:
    """PNG bytes of one or more line charts side by side.

    Each panel is ``{"title": str, "xlabel": str, "percent": bool, "series": [(label, xs, ys), ...]}``;
    series take the colours of ``PALETTE`` in order.
    """
    pw, ph = panel_size
    top = 44 if title else 12
    canvas = Canvas(pw * len(panels) + 16, ph + top + 8)
    if title:
        canvas.text(canvas.w / 2, 12, title, scale=2, anchor="center")
    for k, panel in enumerate(panels):
        _panel(canvas, 8 + k * pw, top, pw, ph, panel)
    return canvas.png()


def _panel(c: Canvas, ox: int, oy: int, pw: int, ph: int, panel: dict) -> None:
    series = panel.get("series", [])
    percent = bool(panel.get("percent"))
    xs_all = np.concatenate([np.asarray(s[1], np.float64) for s in series]) if series else np.zeros(1)
    ys_all = np.concatenate([np.asarray(s[2], np.float64) for s in series]) if series else np.zeros(1)
    ys_all = ys_all[np.isfinite(ys_all)]
    ylo, yhi = (float(ys_all.min()), float(ys_all.max())) if ys_all.size else (0.0, 1.0)
    yt = nice_ticks(ylo, yhi)
    xlo, xhi = float(xs_all.min()), float(xs_all.max())
    xt = nice_ticks(xlo, xhi, count=min(8, int(xhi - xlo) + 1 if xhi > xlo else 2))
    xt = [t for t in xt if abs(t - round(t)) < 1e-9] or xt  # epochs: whole numbers only
    ystep = yt[1] - yt[0] if len(yt) > 1 else 1.0
    labels = [_fmt(t, ystep, percent) for t in yt]
    left = ox + 16 + max(text_width(s, 2) for s in labels) + 10
    right, top, bottom = ox + pw - 14, oy + 26, oy + ph - 44
    x0v, x1v = min(xt[0], xlo), max(xt[-1], xhi)
    y0v, y1v = yt[0], yt[-1]

    def X(v):  # noqa: N802
        return left + (np.asarray(v, np.float64) - x0v) / ((x1v - x0v) or 1) * (right - left)

    def Y(v):  # noqa: N802
        return bottom - (np.asarray(v, np.float64) - y0v) / ((y1v - y0v) or 1) * (bottom - top)

    c.text((left + right) / 2, oy + 4, panel.get("title", ""), scale=2, anchor="center")
    for t, s in zip(yt, labels):
        y = float(Y(t))
        c.rect(left, y, right, y + 1, (230, 230, 230))
        c.text(left - 8, y, s, scale=2, anchor="right", valign="middle", color=(60, 60, 60))
    for t in xt:
        x = float(X(t))
        c.rect(x, top, x + 1, bottom, (236, 236, 236))
        c.rect(x, bottom, x + 1, bottom + 5, (60, 60, 60))
        c.text(x, bottom + 9, f"{t:g}", scale=2, anchor="center", color=(60, 60, 60))
    c.rect(left, top, left + 1, bottom + 1, (60, 60, 60))
    c.rect(left, bottom, right + 1, bottom + 1, (60, 60, 60))
    c.rect(right, top, right + 1, bottom + 1, (200, 200, 200))
    c.rect(left, top, right + 1, top + 1, (200, 200, 200))
    if panel.get("xlabel"):
        c.text((left + right) / 2, bottom + 28, panel["xlabel"], scale=2, anchor="center", color=(60, 60, 60))
    for i, (_label, xs, ys) in enumerate(series):
        c.polyline(X(xs), Y(ys), PALETTE[i % len(PALETTE)], width=2.2, markers=3.2 if len(xs) <= 40 else 0)
    # legend in the corner the curves leave most free (top right for falling curves, bottom right for rising)
    if series:
        rising = np.mean([np.asarray(s[2], np.float64)[-1] - np.asarray(s[2], np.float64)[0] for s in series]) > 0
        lw = max(text_width(s[0], 2) for s in series) + 40
        lh = 20 * len(series) + 8
        lx = right - lw - 8
        ly = bottom - lh - 8 if rising else top + 8
        c.rect(lx, ly, lx + lw, ly + lh, (255, 255, 255))
        c.rect(lx, ly, lx + lw, ly + 1, (210, 210, 210))
        c.rect(lx, ly + lh - 1, lx + lw, ly + lh, (210, 210, 210))
        c.rect(lx, ly, lx + 1, ly + lh, (210, 210, 210))
        c.rect(lx + lw - 1, ly, lx + lw, ly + lh, (210, 210, 210))
        for i, (label, _xs, _ys) in enumerate(series):
            yy = ly + 14 + 20 * i
            c.polyline([lx + 8, lx + 26], [yy, yy], PALETTE[i % len(PALETTE)], width=2.2)
            c.text(lx + 32, yy, label, scale=2, valign="middle")


def training_curves(history: list[dict], path: str, title: str | None = None) -> str:
    """Write loss and accuracy per epoch (train and test) as a PNG at ``path``; returns which drew it:
    ``"matplotlib"`` when it is installed, else ``"dynagrad"`` (the built-in plotter above).

    ``history`` rows have ``epoch``, ``loss``, ``test_loss``, ``train_acc`` and ``test_acc``.
    """
    ep = [r["epoch"] for r in history]
    losses = [("train", ep, [r["loss"] for r in history]), ("test", ep, [r["test_loss"] for r in history])]
    accs = [("train", ep, [r["train_acc"] for r in history]), ("test", ep, [r["test_acc"] for r in history])]
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        data = line_charts([{"title": "loss", "xlabel": "epoch", "series": losses},
                            {"title": "accuracy", "xlabel": "epoch", "percent": True, "series": accs}], title)
        with open(path, "wb") as f:
            f.write(data)
        return "dynagrad"
    fig = Figure(figsize=(9, 3.6), dpi=100)  # no pyplot: the caller's matplotlib backend is left alone
    FigureCanvasAgg(fig)
    for k, (name, series) in enumerate((("loss", losses), ("accuracy", accs))):
        ax = fig.add_subplot(1, 2, k + 1)
        for label, xs, ys in series:
            ax.plot(xs, [100 * y for y in ys] if name == "accuracy" else ys, marker="o", markersize=3, label=label)
        ax.set_title(name + (" (%)" if name == "accuracy" else ""))
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, format="png")
    return "matplotlib"
