"""Parallel lines cut by a transversal: corresponding, alternate and same-side angles."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

from vlenvs.envs.geometry3k.figure import Figure, polar
from vlenvs.envs.geometry3k.problems.base import DEG, E, Problem, as_linear, equate_text, lin, pick, ri

#: (vertex of region a, region a, vertex of region b, region b) -> name; regions 0..3 go counter-clockwise
#: from the ray pointing right (0: above-right, 1: above-left, 2: below-left, 3: below-right).
RELATIONS = {
    ((0, 0), (1, 0)): "corresponding",
    ((0, 1), (1, 1)): "corresponding",
    ((0, 2), (1, 2)): "corresponding",
    ((0, 3), (1, 3)): "corresponding",
    ((0, 2), (1, 0)): "alternate interior",
    ((0, 3), (1, 1)): "alternate interior",
    ((0, 0), (1, 2)): "alternate exterior",
    ((0, 1), (1, 3)): "alternate exterior",
    ((0, 2), (1, 1)): "same-side interior",
    ((0, 3), (1, 0)): "same-side interior",
    ((0, 0), (1, 3)): "same-side exterior",
    ((0, 1), (1, 2)): "same-side exterior",
}


TEXT = "The lines marked with arrows are parallel. Find x."


def parallel_lines(rng: np.random.Generator, level: int) -> Problem:
    theta = ri(rng, 35, 145)
    while abs(theta - 90) < 12:
        theta = ri(rng, 35, 145)
    gap = 6.0
    f = Figure()
    qx = -gap / math.tan(math.radians(theta))  # the transversal through P meets the lower line here
    top, bot = f.add("P", (0.0, gap)), f.add("Q", (qx, 0.0))
    # endpoints of the two parallel lines and of the transversal
    f.add("_R0", (6.0, gap)), f.add("_L0", (-6.0, gap)), f.add("_R1", (qx + 6.0, 0.0)), f.add("_L1", (qx - 6.0, 0.0))
    f.add("_T0", polar(f.points[top], 3.5, theta)), f.add("_T1", polar(f.points[bot], 3.5, theta + 180))
    f.path("_L0", "P", "_R0")
    f.path("_L1", "Q", "_R1")
    f.path("_T0", "P", "Q", "_T1")
    f.arrows += [("P", "_R0", 1), ("Q", "_R1", 1)]
    rays = {0: ("_R0", "_T0", "_L0", "Q"), 1: ("_R1", "P", "_L1", "_T1")}
    (va, ra), (vb, rb) = pick(rng, list(RELATIONS))
    name = RELATIONS[((va, ra), (vb, rb))]
    if pick(rng, (True, False)):
        (va, ra), (vb, rb) = (vb, rb), (va, ra)

    def measure(region: int) -> int:
        return theta if region % 2 == 0 else 180 - theta

    def mark(vertex: int, region: int, label: str) -> None:
        names = rays[vertex]
        f.angles.append(("PQ"[vertex], names[region], names[(region + 1) % 4], label))

    equal = ra % 2 == rb % 2
    rule = f"The marked angles are {name} angles of parallel lines, so they are " + (
        "congruent" if equal else "supplementary"
    )
    a_val, b_val = measure(ra), measure(rb)
    if level == 0:
        mark(va, ra, f"{a_val}°")
        mark(vb, rb, "x°")
        sol = f"{rule}: x = {b_val}" + ("." if equal else f" = 180 - {a_val}.")
        wrong = (E(180 - b_val), E(90 - b_val if b_val < 90 else b_val - 90), E(b_val + 10))
        return Problem("parallel_lines", TEXT, E(b_val), DEG, wrong, sol, f)
    x = ri(rng, 4, 20)
    pa, pb = as_linear(rng, a_val, x, level), as_linear(rng, b_val, x, level)
    if pa[0] == pb[0]:
        pb = (pb[0] + 1, b_val - (pb[0] + 1) * x)
    mark(va, ra, f"({lin(*pa)})°")
    mark(vb, rb, f"({lin(*pb)})°")
    if equal:
        sol = f"{rule}: {equate_text(pa, pb, x)}."
        other = Fraction(180 - pa[1] - pb[1], pa[0] + pb[0])
    else:
        sol = f"{rule}: ({lin(*pa)}) + ({lin(*pb)}) = 180, so x = {x}."
        other = Fraction(pb[1] - pa[1], pa[0] - pb[0]) if pa[0] != pb[0] else Fraction(0)
    wrong = (E(other) if other > 0 else E(x + 7), E(x + 5), E(a_val), E(x - 3))
    return Problem("parallel_lines", TEXT, E(x), "", wrong, sol, f)


FAMILIES = {"parallel_lines": parallel_lines}
