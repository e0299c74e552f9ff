"""Circle families: inscribed and central angles, arc length and sector area, intersecting chords,
tangent segments."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

from vlenvs.envs.geometry3k.exact import Exact
from vlenvs.envs.geometry3k.figure import Figure, polar
from vlenvs.envs.geometry3k.problems.base import DEG, E, Problem, as_linear, lin, num, pick, ri

PI = Exact.of(1, pi=1)


def _circle(f: Figure, r: float = 5.0) -> None:
    f.add("O", (0.0, 0.0))
    f.circles.append(("O", r))


def inscribed_angle(rng: np.random.Generator, level: int) -> Problem:
    central = 2 * ri(rng, 20, 80)  # arc AB, degrees
    start = ri(rng, 200, 340)
    f = Figure()
    _circle(f)
    f.add("A", polar((0, 0), 5, start)), f.add("B", polar((0, 0), 5, start + central))
    f.add("C", polar((0, 0), 5, start + central + (360 - central) * (0.3 + 0.4 * rng.random())))
    f.path("A", "C", "B")
    f.path("A", "O", "B")
    find_inscribed = pick(rng, (True, False))
    if level and find_inscribed:
        x = ri(rng, 5, 20)
        p = as_linear(rng, central // 2, x, level)
        f.angles += [("O", "A", "B", f"{central}°"), ("C", "A", "B", f"({lin(*p)})°")]
        sol = (
            f"An inscribed angle is half the central angle on the same arc: {lin(*p)} = {central}/2 = "
            f"{central // 2}, so x = {x}."
        )
        wrong = (E(Fraction(central - p[1], p[0])), E(x + 4), E(central // 2))
        return Problem("inscribed_angle", "Find x.", E(x), "", wrong, sol, f)
    if find_inscribed:
        f.angles += [("O", "A", "B", f"{central}°"), ("C", "A", "B", "x°")]
        ans, sol = (
            E(central // 2),
            f"An inscribed angle is half the central angle on the same arc: x = {central}/2 = {central // 2}.",
        )
        wrong = (E(central), E(180 - central // 2), E(360 - central))
        return Problem("inscribed_angle", "Find x.", ans, DEG, wrong, sol, f)
    f.angles += [("C", "A", "B", f"{central // 2}°")]
    sol = f"The central angle is twice the inscribed angle on the same arc: m∠AOB = 2·{central // 2} = {central}."
    wrong = (E(central // 2), E(180 - central // 2), E(360 - central))
    return Problem("inscribed_angle", "Find m∠AOB.", E(central), DEG, wrong, sol, f)


def arc_length(rng: np.random.Generator, level: int) -> Problem:
    theta = pick(rng, (30, 45, 60, 72, 90, 120, 135, 150, 210, 240, 270) if level else (60, 90, 120, 180))
    r = ri(rng, 2, 12)
    f = Figure()
    _circle(f, r)
    start = ri(rng, 0, 359)
    f.add("A", polar((0, 0), r, start)), f.add("B", polar((0, 0), r, start + theta))
    f.path("A", "O", "B")
    f.angles.append(("O", "A", "B", f"{theta}°"))
    f.lengths.append(("O", "A", str(r)))
    frac = Fraction(theta, 360)
    if pick(rng, (True, False)):
        ans = PI * frac * (2 * r)
        sol = f"Arc length = (θ/360°)·2πr = ({theta}/360)·2π·{r} = {num(ans)}."
        wrong = (PI * frac * r * r, PI * (2 * r), PI * frac * r, E(theta * r))
        return Problem(
            "arc_length", "Find the length of arc AB. Give an exact answer in terms of π.", ans, "", wrong, sol, f
        )
    ans = PI * frac * r * r
    sol = f"Sector area = (θ/360°)·πr² = ({theta}/360)·π·{r}² = {num(ans)}."
    wrong = (PI * frac * (2 * r), PI * r * r, PI * frac * r, PI * frac * r * r * 2)
    return Problem(
        "sector_area", "Find the area of sector AOB. Give an exact answer in terms of π.", ans, "", wrong, sol, f
    )


def intersecting_chords(rng: np.random.Generator, level: int) -> Problem:
    ae, eb = ri(rng, 2, 9), ri(rng, 2, 9)
    power = ae * eb
    divisors = [c for c in range(2, 13) if c != ae and (level or power % c == 0)]
    ce = pick(rng, divisors) if divisors else ae
    ed = Fraction(power, ce)
    # E sits at distance d from the centre on the x axis; a chord through E in direction phi is cut into
    # pieces t1, t2 with t2 - t1 = -2 d cos(phi) and t1 t2 = R^2 - d^2 (the power of E).
    need = max(abs(ae - eb), abs(ce - float(ed))) / 2
    d = need + 0.3 + 0.3 * rng.random()  # E well inside the circle
    radius = math.sqrt(power + d * d)
    f = Figure()
    _circle(f, radius)
    f.add("E", (d, 0.0))
    for (p, q), (near, far), sign in ((("A", "B"), (ae, eb), 1), (("C", "D"), (ce, float(ed)), -1)):
        phi = sign * math.degrees(math.acos((near - far) / (2 * d)))
        u = (math.cos(math.radians(phi)), math.sin(math.radians(phi)))
        f.add(p, (d - near * u[0], -near * u[1])), f.add(q, (d + far * u[0], far * u[1]))
        f.path(p, "E", q)
    f.points["_O"] = f.points.pop("O")
    f.circles[0] = ("_O", radius)
    f.lengths += [("A", "E", str(ae)), ("E", "B", str(eb)), ("C", "E", str(ce)), ("E", "D", "x")]
    sol = f"For intersecting chords AE·EB = CE·ED: {ae}·{eb} = {ce}x, so x = {power}/{ce} = {num(E(ed))}."
    wrong = (E(Fraction(ae * ce, eb)), E(ae + eb - ce), E(Fraction(eb * ce, ae)), E(ed + 1))
    return Problem("intersecting_chords", "Find x.", E(ed), "", wrong, sol, f)


def tangent(rng: np.random.Generator, level: int) -> Problem:
    if level < 2:
        k = ri(rng, 1, 2)
        r, t, d = (v * k for v in pick(rng, ((3, 4, 5), (5, 12, 13), (8, 15, 17), (4, 3, 5), (12, 5, 13))))
        rr, tt, dd = E(r), E(t), E(d)
    else:
        r, t = ri(rng, 2, 10), ri(rng, 2, 12)
        rr, tt, dd = E(r), E(t), Exact.sqrt(r * r + t * t)
    f = Figure()
    _circle(f, float(rr))
    ang = ri(rng, 60, 120)
    f.add("T", polar((0, 0), float(rr), ang))
    f.add("P", polar(f.points["T"], float(tt), ang - 90))
    f.path("O", "T", "P")
    f.path("O", "P")
    f.right_angles.append(("T", "P", "O"))
    if pick(rng, (True, False)):
        f.lengths += [("O", "T", num(rr)), ("T", "P", num(tt)), ("O", "P", "x")]
        ans, sol = (
            dd,
            f"A tangent is perpendicular to the radius at the point of tangency, so x² = {num(rr)}² + {num(tt)}² and x = {num(dd)}.",
        )
        wrong = (rr + tt, Exact.sqrt(abs(r * r - t * t)) if r != t else rr * 2, dd * dd, dd + 1)
    else:
        f.lengths += [("O", "T", num(rr)), ("O", "P", num(dd)), ("T", "P", "x")]
        ans, sol = (
            tt,
            f"A tangent is perpendicular to the radius at the point of tangency, so x² + {num(rr)}² = {num(dd)}² and x = {num(tt)}.",
        )
        wrong = (dd - rr, Exact.sqrt((dd * dd + rr * rr).rational), dd + rr, tt + 1)
    return Problem("tangent", "Segment PT is tangent to ⊙O at T. Find x.", ans, "", wrong, sol, f)


FAMILIES = {
    "inscribed_angle": inscribed_angle,
    "arc_length": arc_length,
    "intersecting_chords": intersecting_chords,
    "tangent": tangent,
}
