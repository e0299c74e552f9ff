"""Diagram renderer: a :class:`Figure` drawn to scale with pillow, anti-aliased by supersampling.

The figure is drawn at ``SUPERSAMPLE`` times the target size and reduced with a box filter, which gives
smooth lines and text. Labels use Pillow's built-in scalable font (no system fonts, so images are the
same on every machine with the same Pillow); ``√`` is drawn as strokes because that font lacks it.
"""

from __future__ import annotations

import math
import re
from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from vlenvs.envs.geometry3k.figure import Figure, Point

SUPERSAMPLE = 2
INK = (20, 20, 20)
MARK = (200, 40, 40)
LABEL = (20, 40, 160)
BACKGROUND = (255, 255, 255)
_SQRT = re.compile(r"√(\d+)|[^√]+")


@lru_cache(maxsize=16)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def _unit(dx: float, dy: float) -> tuple[float, float]:
    n = math.hypot(dx, dy)
    return (dx / n, dy / n) if n > 1e-12 else (0.0, -1.0)


class _Canvas:
    """Maps figure coordinates (y up) to supersampled pixels (y down) and draws the primitives."""

    def __init__(self, figure: Figure, height: int, width: int) -> None:
        self.fig = figure
        self.w, self.h = width * SUPERSAMPLE, height * SUPERSAMPLE
        self.img = Image.new("RGB", (self.w, self.h), BACKGROUND)
        self.draw = ImageDraw.Draw(self.img)
        self.fs = max(8, int(min(self.w, self.h) * 0.065))
        self.font = _font(self.fs)
        self.lw = max(1, round(min(self.w, self.h) / 160))
        xs, ys = [], []
        for x, y in figure.points.values():
            xs.append(x)
            ys.append(y)
        for c, r in figure.circles:
            cx, cy = figure.points[c]
            xs += [cx - r, cx + r]
            ys += [cy - r, cy + r]
        x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
        margin = 2.2 * self.fs
        span = max(x1 - x0, y1 - y0, 1e-9)
        self.s = min(
            (self.w - 2 * margin) / max(x1 - x0, 1e-9 * span), (self.h - 2 * margin) / max(y1 - y0, 1e-9 * span)
        )
        self.ox = (self.w - self.s * (x1 - x0)) / 2 - self.s * x0
        self.oy = (self.h + self.s * (y1 - y0)) / 2 + self.s * y0
        self.px = {n: self.to_px(p) for n, p in figure.points.items()}
        named = [self.px[n] for n in figure.points if not n.startswith("_")] or list(self.px.values())
        self.centre = (sum(p[0] for p in named) / len(named), sum(p[1] for p in named) / len(named))
        self.boxes: list[tuple[float, float, float, float]] = []  # labels placed so far

    def place(self, candidates: list[tuple[float, float]], text: str, fill: tuple[int, int, int]) -> None:
        """Draw ``text`` at the first candidate centre that overlaps no earlier label and stays on the canvas."""
        half_w, half_h = self.text_width(text) / 2 + 0.1 * self.fs, 0.55 * self.fs
        best, chosen = math.inf, candidates[0]
        for cx, cy in candidates:  # the first free spot, else the least crowded one
            box = (cx - half_w, cy - half_h, cx + half_w, cy + half_h)
            clash = sum(
                max(0.0, min(b[2], box[2]) - max(b[0], box[0])) * max(0.0, min(b[3], box[3]) - max(b[1], box[1]))
                for b in self.boxes
            )
            off_canvas = max(0.0, -box[0]) + max(0.0, -box[1]) + max(0.0, box[2] - self.w) + max(0.0, box[3] - self.h)
            cost = clash + off_canvas * self.fs
            if cost < best:
                best, chosen = cost, (cx, cy)
                if cost == 0:
                    break
        self.boxes.append((chosen[0] - half_w, chosen[1] - half_h, chosen[0] + half_w, chosen[1] + half_h))
        self.label(chosen, text, fill)

    def to_px(self, p: Point) -> tuple[float, float]:
        return (self.ox + self.s * p[0], self.oy - self.s * p[1])

    # ------------------------------------------------------------------ text
    def text_width(self, text: str) -> float:
        width = 0.0
        for m in _SQRT.finditer(text):
            if m.group(1):
                width += 0.55 * self.fs + self.draw.textlength(m.group(1), font=self.font)
            else:
                width += self.draw.textlength(m.group(0), font=self.font)
        return width

    def label(self, centre: tuple[float, float], text: str, fill: tuple[int, int, int] = LABEL) -> None:
        """Draw ``text`` centred on ``centre``; ``√n`` becomes a radical sign over ``n``."""
        x = centre[0] - self.text_width(text) / 2
        y = centre[1]
        top, bottom = y - 0.42 * self.fs, y + 0.45 * self.fs
        for m in _SQRT.finditer(text):
            if m.group(1):
                rad = m.group(1)
                sw, rw = 0.55 * self.fs, self.draw.textlength(rad, font=self.font)
                pts = [
                    (x, y + 0.05 * self.fs),
                    (x + 0.15 * sw, y),
                    (x + 0.45 * sw, bottom),
                    (x + 0.85 * sw, top),
                    (x + sw + rw, top),
                ]
                self.draw.line(pts, fill=fill, width=max(1, self.lw - 1), joint="curve")
                self.draw.text((x + sw, y), rad, font=self.font, fill=fill, anchor="lm")
                x += sw + rw
            else:
                self.draw.text((x, y), m.group(0), font=self.font, fill=fill, anchor="lm")
                x += self.draw.textlength(m.group(0), font=self.font)

    # ----------------------------------------------------------------- marks
    def point_label(self, name: str) -> None:
        p = self.px[name]
        dx = dy = 0.0
        for a, b in self.fig.segments:
            if name in (a, b):
                q = self.px[b if a == name else a]
                ux, uy = _unit(q[0] - p[0], q[1] - p[1])
                dx, dy = dx - ux, dy - uy
        if math.hypot(dx, dy) < 0.3:  # on a straight line or isolated: push away from the centre
            dx, dy = p[0] - self.centre[0], p[1] - self.centre[1]
        ux, uy = _unit(dx, dy)
        self.place([(p[0] + ux * k * self.fs, p[1] + uy * k * self.fs) for k in (0.9, 1.3)], name, INK)

    def angle(self, v: str, a: str, b: str, text: str) -> None:
        pv, pa, pb = self.px[v], self.px[a], self.px[b]
        ta = math.degrees(math.atan2(pv[1] - pa[1], pa[0] - pv[0]))  # figure-orientation angles
        tb = math.degrees(math.atan2(pv[1] - pb[1], pb[0] - pv[0]))
        sweep = (tb - ta) % 360
        r = max(0.9 * self.fs, min(1.6 * self.fs, 0.3 * min(math.dist(pv, pa), math.dist(pv, pb))))
        box = [pv[0] - r, pv[1] - r, pv[0] + r, pv[1] + r]
        self.draw.arc(box, start=-tb, end=-ta, fill=MARK, width=self.lw)
        if text:
            mid = math.radians(ta + sweep / 2)
            # clear the arc by the label's half extent along the bisector, more in narrow angles
            half = abs(math.cos(mid)) * self.text_width(text) / 2 + abs(math.sin(mid)) * 0.5 * self.fs
            rr = r + 0.35 * self.fs + half + (0.5 * self.fs if sweep < 45 else 0)
            spots = [(rr + k * self.fs, mid) for k in (0, 0.5, 1.0, 1.6, 2.4)] + [(0.5 * r + half, mid + math.pi)]
            self.place([(pv[0] + d * math.cos(t), pv[1] - d * math.sin(t)) for d, t in spots], text, MARK)

    def right_angle(self, v: str, a: str, b: str) -> None:
        pv = self.px[v]
        u, w = _unit(self.px[a][0] - pv[0], self.px[a][1] - pv[1]), _unit(self.px[b][0] - pv[0], self.px[b][1] - pv[1])
        d = 0.6 * self.fs
        pts = [
            (pv[0] + d * u[0], pv[1] + d * u[1]),
            (pv[0] + d * (u[0] + w[0]), pv[1] + d * (u[1] + w[1])),
            (pv[0] + d * w[0], pv[1] + d * w[1]),
        ]
        self.draw.line(pts, fill=MARK, width=self.lw)

    def _mid_normal(self, p: str, q: str) -> tuple[tuple[float, float], tuple[float, float], tuple[float, float]]:
        a, b = self.px[p], self.px[q]
        mid = ((a[0] + b[0]) / 2, (a[1] + b[1]) / 2)
        t = _unit(b[0] - a[0], b[1] - a[1])
        n = (-t[1], t[0])
        if (mid[0] - self.centre[0]) * n[0] + (mid[1] - self.centre[1]) * n[1] < 0:
            n = (-n[0], -n[1])
        return mid, t, n

    def length(self, p: str, q: str, text: str) -> None:
        mid, t, n = self._mid_normal(p, q)
        off = 0.55 * self.fs + 0.3 * self.text_width(text) * abs(n[0])
        seg = math.dist(self.px[p], self.px[q])
        spots = [(0, off), (0, off + 0.6 * self.fs), (0.2 * seg, off), (-0.2 * seg, off), (0, -off), (0.3 * seg, off)]
        self.place([(mid[0] + t[0] * a + n[0] * b, mid[1] + t[1] * a + n[1] * b) for a, b in spots], text, LABEL)

    def ticks(self, p: str, q: str, count: int) -> None:
        mid, t, n = self._mid_normal(p, q)
        d, gap = 0.35 * self.fs, 0.25 * self.fs
        for k in range(count):
            s = (k - (count - 1) / 2) * gap
            c = (mid[0] + t[0] * s, mid[1] + t[1] * s)
            self.draw.line(
                [(c[0] - n[0] * d, c[1] - n[1] * d), (c[0] + n[0] * d, c[1] + n[1] * d)], fill=MARK, width=self.lw
            )

    def arrows(self, p: str, q: str, count: int) -> None:
        _, t, n = self._mid_normal(p, q)
        a, b = self.px[p], self.px[q]
        mid = (a[0] + 0.3 * (b[0] - a[0]), a[1] + 0.3 * (b[1] - a[1]))  # off the middle, where labels go
        d, gap = 0.35 * self.fs, 0.3 * self.fs
        for k in range(count):
            s = (k - (count - 1) / 2) * gap
            tip = (mid[0] + t[0] * (s + d / 2), mid[1] + t[1] * (s + d / 2))
            back = (tip[0] - t[0] * d, tip[1] - t[1] * d)
            self.draw.line(
                [(back[0] + n[0] * d, back[1] + n[1] * d), tip, (back[0] - n[0] * d, back[1] - n[1] * d)],
                fill=MARK,
                width=self.lw,
            )


def render_figure(figure: Figure, height: int, width: int) -> np.ndarray:
    """Draw ``figure`` to scale into a ``uint8[height, width, 3]`` image."""
    c = _Canvas(figure, height, width)
    for centre, radius in figure.circles:
        x, y = c.px[centre]
        r = radius * c.s
        c.draw.ellipse([x - r, y - r, x + r, y + r], outline=INK, width=c.lw)
    for a, b in figure.segments:
        c.draw.line([c.px[a], c.px[b]], fill=INK, width=c.lw)
    for name in c.px:
        if not name.startswith("_"):
            c.point_label(name)
    for args in figure.right_angles:
        c.right_angle(*args)
    for args in figure.angles:
        c.angle(*args)
    for p, q, n in figure.ticks:
        c.ticks(p, q, n)
    for p, q, n in figure.arrows:
        c.arrows(p, q, n)
    for p, q, text in figure.lengths:
        c.length(p, q, text)
    dot = 1.2 * c.lw
    for name, (x, y) in c.px.items():
        c.draw.ellipse([x - dot, y - dot, x + dot, y + dot], fill=INK)
    small = c.img.reduce(SUPERSAMPLE) if SUPERSAMPLE > 1 else c.img
    return np.asarray(small, dtype=np.uint8)


def letterbox(image: Image.Image, height: int, width: int) -> np.ndarray:
    """Fit a dataset diagram into ``height x width`` keeping its aspect ratio, padding with white."""
    image = image.convert("RGB")
    scale = min(width / image.width, height / image.height)
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    canvas = Image.new("RGB", (width, height), BACKGROUND)
    canvas.paste(image.resize(size, Image.Resampling.LANCZOS), ((width - size[0]) // 2, (height - size[1]) // 2))
    return np.asarray(canvas, dtype=np.uint8)
