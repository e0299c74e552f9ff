"""Quadrilateral and polygon angle families: angle sum of a quadrilateral, parallelograms, regular
polygons."""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from vlenvs.envs.geometry3k.figure import Figure, Point, polar
from vlenvs.envs.geometry3k.problems.base import DEG, E, Problem, as_linear, equate_text, lin, pick, ri, solve_text

POLYGON_NAMES = {5: "pentagon", 6: "hexagon", 8: "octagon", 9: "nonagon", 10: "decagon", 12: "dodecagon"}


def _intersect(p: Point, u: Point, q: Point, v: Point) -> tuple[float, float] | None:
    """Parameters ``(s, t)`` with ``p + s u = q + t v``, or None for parallel rays."""
    det = u[0] * (-v[1]) - u[1] * (-v[0])
    if abs(det) < 1e-9:
        return None
    dx, dy = q[0] - p[0], q[1] - p[1]
    return (dx * (-v[1]) - dy * (-v[0])) / det, (u[0] * dy - u[1] * dx) / det


def _quad(rng: np.random.Generator) -> tuple[tuple[int, int, int, int], list[Point]]:
    """Four integer angles (sum 360) and a convex counter-clockwise quadrilateral ABCD that has them."""
    while True:
        a, b, d = ri(rng, 60, 120), ri(rng, 60, 120), ri(rng, 60, 120)
        c = 360 - a - b - d
        if not 50 <= c <= 140:
            continue
        pa, pb, pd = (0.0, 0.0), (10.0, 0.0), polar((0.0, 0.0), 6.0 + 4.0 * rng.random(), a)
        u, v = polar((0, 0), 1, 180 - b), polar((0, 0), 1, a + 180 + d)
        st = _intersect(pb, u, pd, v)
        if st and st[0] > 2 and st[1] > 2:
            pc = (pb[0] + st[0] * u[0], pb[1] + st[0] * u[1])
            return (a, b, c, d), [pa, pb, pc, pd]


def _mark_quad(f: Figure, labels: list[str]) -> None:
    names = "ABCD"
    for i, lab in enumerate(labels):
        f.angles.append((names[i], names[(i + 1) % 4], names[i - 1], lab))


def quadrilateral(rng: np.random.Generator, level: int) -> Problem:
    angles, pts = _quad(rng)
    f = Figure()
    for n, p in zip("ABCD", pts):
        f.add(n, p)
    f.polygon(*"ABCD")
    if level == 0:
        k = ri(rng, 0, 3)
        _mark_quad(f, [f"{v}°" if i != k else "x°" for i, v in enumerate(angles)])
        rest = [v for i, v in enumerate(angles) if i != k]
        sol = f"The angles of a quadrilateral add up to 360°, so x = 360 - {' - '.join(map(str, rest))} = {angles[k]}."
        wrong = (E(180 - angles[k]), E(sum(rest) - 180) if sum(rest) > 180 else E(angles[k] + 20), E(angles[k] + 10))
        return Problem("quadrilateral", "Find x.", E(angles[k]), DEG, wrong, sol, f)
    x = ri(rng, 4, 20)
    pairs = [as_linear(rng, v, x, level) for v in angles]
    _mark_quad(f, [f"({lin(*p)})°" for p in pairs])
    sa, sb = sum(p[0] for p in pairs), sum(p[1] for p in pairs)
    sol = f"The angles of a quadrilateral add up to 360°: {solve_text(pairs, 360, x)}."
    wrong = (E(Fraction(180 - sb, sa)), E(Fraction(540 - sb, sa)), E(x + 5), E(x + 2))
    return Problem("quadrilateral", "Find x.", E(x), "", wrong, sol, f)


def parallelogram(rng: np.random.Generator, level: int) -> Problem:
    a = ri(rng, 50, 80) if pick(rng, (True, False)) else ri(rng, 100, 130)
    side, other = 10.0, 5.0 + 4.0 * rng.random()
    pd = polar((0.0, 0.0), other, a)
    f = Figure()
    f.add("A", (0.0, 0.0)), f.add("B", (side, 0.0)), f.add("C", (side + pd[0], pd[1])), f.add("D", pd)
    f.polygon(*"ABCD")
    f.arrows += [("A", "B", 1), ("D", "C", 1), ("A", "D", 2), ("B", "C", 2)]
    opposite = pick(rng, (True, False))
    target, vals = (2 if opposite else 1), (a, 180 - a, a, 180 - a)
    rule = (
        "Opposite angles of a parallelogram are congruent"
        if opposite
        else "Consecutive angles of a parallelogram are supplementary"
    )
    labels = ["", "", "", ""]
    ans_val = vals[target]
    if level == 0:
        labels[0], labels[target] = f"{a}°", "x°"
        sol = f"{rule}, so x = {ans_val}."
        wrong = (E(180 - ans_val), E(360 - 2 * a) if a != 120 else E(ans_val + 15), E(90 + ans_val // 2))
        _mark_quad(f, labels)
        return Problem("parallelogram", "ABCD is a parallelogram. Find x.", E(ans_val), DEG, wrong, sol, f)
    x = ri(rng, 4, 20)
    pa, pt = as_linear(rng, a, x, level), as_linear(rng, ans_val, x, level)
    if opposite and pa[0] == pt[0]:
        pt = (pt[0] + 1, ans_val - (pt[0] + 1) * x)
    labels[0], labels[target] = f"({lin(*pa)})°", f"({lin(*pt)})°"
    _mark_quad(f, labels)
    if opposite:
        sol = f"{rule}: {equate_text(pa, pt, x)}."
        wrong = (E(Fraction(180 - pa[1] - pt[1], pa[0] + pt[0])), E(x + 3), E(a))
    else:
        sol = f"{rule}: ({lin(*pa)}) + ({lin(*pt)}) = 180, so x = {x}."
        wrong = (E(Fraction(pt[1] - pa[1], pa[0] - pt[0])) if pa[0] != pt[0] else E(x + 7), E(x + 3), E(a))
    return Problem("parallelogram", "ABCD is a parallelogram. Find x.", E(x), "", wrong, sol, f)


def regular_polygon(rng: np.random.Generator, level: int) -> Problem:
    n = pick(rng, tuple(POLYGON_NAMES))
    f = Figure()
    names = [chr(ord("A") + i) for i in range(n)]
    rot = 90 - 180 / n
    for i, name in enumerate(names):
        f.add(name, polar((0.0, 0.0), 5.0, rot + 360 * i / n))
    f.polygon(*names)
    f.ticks += [(names[i], names[(i + 1) % n], 1) for i in range(n)]
    interior = Fraction(180 * (n - 2), n)
    ask = pick(rng, ("interior", "exterior", "sum")) if level else "interior"
    poly = POLYGON_NAMES[n]
    if ask == "interior":
        f.angles.append((names[1], names[2], names[0], "x°"))
        ans = E(interior)
        sol = f"Each interior angle of a regular {poly} measures 180°·({n} - 2)/{n} = {ans.text()}°."
        wrong = (E(Fraction(360, n)), E(180 * (n - 2)), E(Fraction(180 * (n - 1), n)), E(interior + 10))
        text = f"The figure is a regular {poly}. Find x."
    elif ask == "exterior":
        ans = E(Fraction(360, n))
        sol = f"The exterior angles of any convex polygon add up to 360°, so each measures 360°/{n} = {ans.text()}°."
        wrong = (E(interior), E(Fraction(180, n)), E(Fraction(360, n - 1)))
        text = f"Find the measure of one exterior angle of the regular {poly}."
    else:
        ans = E(180 * (n - 2))
        sol = f"The interior angles of a {n}-gon add up to 180°·({n} - 2) = {180 * (n - 2)}°."
        wrong = (E(180 * n), E(180 * (n - 1)), E(360 * (n - 2)), E(interior))
        text = f"Find the sum of the measures of the interior angles of the {poly}."
    return Problem("regular_polygon", text, ans, DEG, wrong, sol, f)


FAMILIES = {"quadrilateral": quadrilateral, "parallelogram": parallelogram, "regular_polygon": regular_polygon}
