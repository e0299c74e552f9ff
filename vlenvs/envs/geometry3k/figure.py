"""The figure of a generated problem: labelled points and marks in the problem's own coordinates.

A problem family places its points to scale (lengths and angles are the generated values), so the
rendered diagram is consistent with the numbers. Names starting with ``_`` are drawn but not labelled.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field

Point = tuple[float, float]


@dataclass
class Figure:
    """Points, segments, circles and the marks drawn on them (y axis pointing up)."""

    points: dict[str, Point] = field(default_factory=dict)
    segments: list[tuple[str, str]] = field(default_factory=list)
    #: (centre point name, radius) of every circle
    circles: list[tuple[str, float]] = field(default_factory=list)
    #: (vertex, from-point, to-point, label): an arc marking the angle swept counter-clockwise from -> to
    angles: list[tuple[str, str, str, str]] = field(default_factory=list)
    #: (vertex, a, b): a right-angle square at ``vertex`` between rays to ``a`` and ``b``
    right_angles: list[tuple[str, str, str]] = field(default_factory=list)
    #: (p, q, label): a label beside segment pq, on the side away from the figure's centre
    lengths: list[tuple[str, str, str]] = field(default_factory=list)
    #: (p, q, count): tick marks showing equal segments
    ticks: list[tuple[str, str, int]] = field(default_factory=list)
    #: (p, q, count): arrowheads showing parallel segments
    arrows: list[tuple[str, str, int]] = field(default_factory=list)

    def add(self, name: str, xy: Point) -> str:
        """Add a point and return its name."""
        self.points[name] = (float(xy[0]), float(xy[1]))
        return name

    def polygon(self, *names: str) -> None:
        """Add the closed polygon through ``names``."""
        for a, b in zip(names, names[1:] + names[:1]):
            self.segments.append((a, b))

    def path(self, *names: str) -> None:
        """Add the open path through ``names``."""
        self.segments.extend(itertools.pairwise(names))

    def describe(self) -> str:
        """A plain-text account of what is drawn (for the ``ansi`` render mode)."""
        named = [n for n in self.points if not n.startswith("_")]
        lines = [f"points: {', '.join(named)}"] if named else []
        segs = [f"{a}{b}" for a, b in self.segments if not (a.startswith("_") or b.startswith("_"))]
        if segs:
            lines.append(f"segments: {', '.join(segs)}")
        lines += [f"circle centred at {c}" for c, _ in self.circles]
        lines += [f"angle at {v} marked {lab}" for v, _, _, lab in self.angles if lab]
        lines += [f"right angle at {v}" for v, _, _ in self.right_angles]
        lines += [f"{a}{b} marked {lab}" for a, b, lab in self.lengths]
        return "\n".join(lines)


def polar(center: Point, radius: float, degrees: float) -> Point:
    """The point at ``radius`` from ``center`` in direction ``degrees`` (counter-clockwise from +x)."""
    t = math.radians(degrees)
    return (center[0] + radius * math.cos(t), center[1] + radius * math.sin(t))


def lerp(a: Point, b: Point, t: float) -> Point:
    """The point ``a + t (b - a)``."""
    return (a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1]))


def triangle_from_sas(b: float, c: float, angle_a: float) -> tuple[Point, Point, Point]:
    """Vertices A, B, C with A at the origin, AB = ``c`` along +x and angle A = ``angle_a`` degrees, AC = ``b``."""
    return (0.0, 0.0), (c, 0.0), polar((0.0, 0.0), b, angle_a)


def triangle_from_angles(angle_a: float, angle_b: float, base: float = 10.0) -> tuple[Point, Point, Point]:
    """Vertices A, B, C with AB = ``base`` on the x axis and the given angles at A and B (degrees)."""
    angle_c = 180.0 - angle_a - angle_b
    b = base * math.sin(math.radians(angle_b)) / math.sin(math.radians(angle_c))
    return triangle_from_sas(b, base, angle_a)
