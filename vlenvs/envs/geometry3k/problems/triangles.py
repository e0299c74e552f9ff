"""Triangle families: angle sum, exterior angle, Pythagoras, special right triangles, similar
triangles, trig ratios."""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from vlenvs.envs.geometry3k.exact import Exact
from vlenvs.envs.geometry3k.figure import Figure, lerp, polar, triangle_from_angles
from vlenvs.envs.geometry3k.problems.base import DEG, E, Problem, as_linear, lin, num, pick, ri, solve_text

TRIPLES = ((3, 4, 5), (5, 12, 13), (8, 15, 17), (7, 24, 25), (6, 8, 10), (9, 12, 15), (20, 21, 29))


def _angles(rng: np.random.Generator) -> tuple[int, int, int]:
    a = ri(rng, 35, 95)
    b = ri(rng, max(30, 80 - a), min(95, 145 - a))  # every angle in 30..100: no sliver triangles
    return a, b, 180 - a - b


def angle_sum(rng: np.random.Generator, level: int) -> Problem:
    a, b, c = _angles(rng)
    f = Figure()
    pa, pb, pc = triangle_from_angles(a, b)
    f.add("A", pa), f.add("B", pb), f.add("C", pc)
    f.polygon("A", "B", "C")
    if level == 0:
        f.angles += [("A", "B", "C", f"{a}°"), ("B", "C", "A", f"{b}°"), ("C", "A", "B", "x°")]
        sol = f"The angles of a triangle add up to 180°, so x = 180 - {a} - {b} = {c}."
        return Problem("angle_sum", "Find x.", E(c), DEG, (E(180 - a), E(a + b), E(abs(a - b) or 45)), sol, f)
    x = ri(rng, 4, 20)
    pairs = [as_linear(rng, v, x, level) for v in (a, b, c)]
    f.angles += [
        ("A", "B", "C", f"({lin(*pairs[0])})°"),
        ("B", "C", "A", f"({lin(*pairs[1])})°"),
        ("C", "A", "B", f"({lin(*pairs[2])})°"),
    ]
    sa, sb = sum(p[0] for p in pairs), sum(p[1] for p in pairs)
    sol = f"The angles of a triangle add up to 180°: {solve_text(pairs, 180, x)}."
    wrong = [E(Fraction(360 - sb, sa)), E(Fraction(90 - sb, sa)), E(x + 5), E(x - 2), E(a)]
    if pick(rng, (True, False)):
        k = pick(rng, range(3))
        val = (a, b, c)[k]
        name = "ABC"[k]
        sol += f" Then m∠{name} = {lin(*pairs[k])} = {val}°."
        return Problem(
            "angle_sum", f"Find m∠{name}.", E(val), DEG, (E(180 - val), E(x), E(val + 10)) + tuple(wrong), sol, f
        )
    return Problem("angle_sum", "Find x.", E(x), "", tuple(wrong), sol, f)


def exterior_angle(rng: np.random.Generator, level: int) -> Problem:
    a, b, c = _angles(rng)
    f = Figure()
    pa, pb, pc = triangle_from_angles(a, b)
    f.add("A", pa), f.add("B", pb), f.add("C", pc), f.add("D", lerp(pa, pb, 1.45))
    f.polygon("A", "B", "C")
    f.path("B", "D")
    ext = a + c
    f.angles += [("A", "B", "C", f"{a}°"), ("C", "A", "B", f"{c}°")]
    sol = f"An exterior angle equals the sum of the two remote interior angles: m∠CBD = {a} + {c} = {ext}°."
    if level == 0:
        f.angles.append(("B", "D", "C", "x°"))
        return Problem("exterior_angle", "Find x.", E(ext), DEG, (E(b), E(180 - a), E(180 - c), E(ext - 10)), sol, f)
    x = ri(rng, 5, 25)
    p = as_linear(rng, ext, x, level)
    f.angles.append(("B", "D", "C", f"({lin(*p)})°"))
    sol += f" So {lin(*p)} = {ext} and x = {x}."
    wrong = (E(Fraction(180 - p[1], p[0])), E(Fraction(b - p[1], p[0])), E(x + 3), E(ext))
    return Problem("exterior_angle", "Find x.", E(x), "", wrong, sol, f)


def _right_triangle(f: Figure, leg_a: float, leg_b: float) -> None:
    """Right angle at C = origin, A up the y axis (CA = leg_a), B along x (CB = leg_b)."""
    f.add("A", (0.0, leg_a)), f.add("B", (leg_b, 0.0)), f.add("C", (0.0, 0.0))
    f.polygon("A", "B", "C")
    f.right_angles.append(("C", "B", "A"))


def pythagoras(rng: np.random.Generator, level: int) -> Problem:
    if level < 2:
        t = pick(rng, TRIPLES)
        k = ri(rng, 1, 3) if t[2] < 20 else 1
        a, b, c = (E(v * k) for v in t)
    else:
        la, lb = ri(rng, 2, 12), ri(rng, 2, 12)
        a, b, c = E(la), E(lb), Exact.sqrt(la * la + lb * lb)
    if pick(rng, (True, False)):
        a, b = b, a
    f = Figure()
    _right_triangle(f, float(a), float(b))
    find_leg = level == 1 and pick(rng, (True, False))
    if find_leg:
        f.lengths += [("A", "C", num(a)), ("B", "C", "x"), ("A", "B", num(c))]
        ans = b
        sol = (
            f"By the Pythagorean theorem, x² + {num(a)}² = {num(c)}², so x = √({num(c * c)} - {num(a * a)}) = {num(b)}."
        )
        wrong = (Exact.sqrt((c * c + a * a).rational), c - a, (c + a) / 2, b + 1)
    else:
        f.lengths += [("A", "C", num(a)), ("B", "C", num(b)), ("A", "B", "x")]
        ans = c
        sol = f"By the Pythagorean theorem, x² = {num(a)}² + {num(b)}² = {num(c * c)}, so x = {num(c)}."
        diff = abs((a * a - b * b).rational)
        wrong = (a + b, Exact.sqrt(diff) if diff else a + 1, c * c, c + 1, c - 1)
    return Problem("pythagoras", "Find x.", ans, "", wrong, sol, f)


def special_right(rng: np.random.Generator, level: int) -> Problem:
    kind = pick(rng, ("30-60-90", "45-45-90"))
    s = E(ri(rng, 2, 12))
    if level == 2:
        s = s * Exact.of(1, pick(rng, (2, 3)))
    f = Figure()
    r2, r3 = Exact.of(1, 2), Exact.of(1, 3)
    if kind == "45-45-90":
        legs, hyp = (s, s), s * r2
        _right_triangle(f, float(s), float(s))
        f.angles.append(("B", "A", "C", "45°"))
        f.ticks += [("A", "C", 1), ("B", "C", 1)]
        rule = "In a 45°-45°-90° triangle the hypotenuse is √2 times a leg"
    else:
        legs, hyp = (s, s * r3), s * 2  # short leg CA opposite the 30° angle at B
        _right_triangle(f, float(legs[0]), float(legs[1]))
        f.angles.append(("B", "A", "C", "30°"))
        rule = "In a 30°-60°-90° triangle the hypotenuse is twice the short leg and the long leg is √3 times it"
    if level == 0 or pick(rng, (True, False)):
        f.lengths += [("A", "C", num(legs[0])), ("A", "B", "x")]
        ans, sol = hyp, f"{rule}, so x = {num(hyp)}."
    else:
        f.lengths += [("A", "B", num(hyp)), ("B", "C", "x")]
        ans, sol = legs[1], f"{rule}, so x = {num(legs[1])}."
    other = r3 if kind == "45-45-90" else r2
    wrong = (ans / (r3 if kind == "30-60-90" else r2) * other, ans * other, ans / 2 * 3, ans + 2, s)
    return Problem("special_right", "Find x.", ans, "", wrong, sol, f)


def similar_triangles(rng: np.random.Generator, level: int) -> Problem:
    q = ri(rng, 3, 6)
    p = ri(rng, 1, q - 1)
    k = ri(rng, 2, 4)
    ad, ab = p * k, q * k  # AD : AB = p : q
    m = ri(rng, max(1, k // 2), 2 * k)  # BC = m q and AB = k q stay comparable, so the figure is not a sliver
    de = m * p
    bc = Fraction(m * q)
    angle_b = ri(rng, 50, 100)
    pa, pb = (0.0, 0.0), (float(ab), 0.0)
    pc = polar(pb, float(bc), 180 - angle_b)  # BC to the same scale as AB
    f = Figure()
    f.add("A", pa), f.add("B", pb), f.add("C", pc)
    t = ad / ab
    f.add("D", lerp(pa, pb, t)), f.add("E", lerp(pa, pc, t))
    f.polygon("A", "B", "C")
    f.path("D", "E")
    f.arrows += [("D", "E", 1), ("B", "C", 1)]
    f.lengths += [("A", "D", str(ad)), ("D", "B", str(ab - ad)), ("D", "E", str(de)), ("B", "C", "x")]
    sol = (
        f"DE ∥ BC, so △ADE ∼ △ABC and DE/BC = AD/AB. AB = {ad} + {ab - ad} = {ab}, "
        f"so x = {de}·{ab}/{ad} = {num(E(bc))}."
    )
    wrong = (E(Fraction(de * (ab - ad), ad)), E(Fraction(de * ad, ab)), E(de + ab - ad), E(bc + 1))
    return Problem("similar_triangles", "Find x.", E(bc), "", wrong, sol, f)


def trig_ratio(rng: np.random.Generator, level: int) -> Problem:
    opp, adj, hyp = pick(rng, TRIPLES)
    if pick(rng, (True, False)):
        opp, adj = adj, opp
    f = Figure()
    _right_triangle(f, float(adj), float(opp))  # angle at A: adjacent CA, opposite CB
    f.lengths += [("A", "C", str(adj)), ("B", "C", str(opp)), ("A", "B", str(hyp))]
    ratios = {"sin": Fraction(opp, hyp), "cos": Fraction(adj, hyp), "tan": Fraction(opp, adj)}
    fn = pick(rng, tuple(ratios)) if level else "sin"
    ans = E(ratios[fn])
    sol = {
        "sin": f"sin A = opposite/hypotenuse = {opp}/{hyp}",
        "cos": f"cos A = adjacent/hypotenuse = {adj}/{hyp}",
        "tan": f"tan A = opposite/adjacent = {opp}/{adj}",
    }[fn]
    sol += "." if sol.endswith(f"= {num(ans)}") else f" = {num(ans)}."
    wrong = tuple(E(v) for k, v in ratios.items() if k != fn) + (E(1 / ratios[fn]), E(Fraction(adj, opp)))
    return Problem("trig_ratio", f"Find {fn} A. Write the answer as a fraction.", ans, "", wrong, sol, f)


FAMILIES = {
    "angle_sum": angle_sum,
    "exterior_angle": exterior_angle,
    "pythagoras": pythagoras,
    "special_right": special_right,
    "similar_triangles": similar_triangles,
    "trig_ratio": trig_ratio,
}
