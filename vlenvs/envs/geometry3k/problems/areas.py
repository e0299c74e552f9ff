"""Area and perimeter families: rectangles, triangles, trapezoids, circles, right-triangle perimeters."""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from vlenvs.envs.geometry3k.exact import Exact
from vlenvs.envs.geometry3k.figure import Figure
from vlenvs.envs.geometry3k.problems.base import E, Problem, num, pick, ri
from vlenvs.envs.geometry3k.problems.triangles import TRIPLES

PI = Exact.of(1, pi=1)


def polygon_area(rng: np.random.Generator, level: int) -> Problem:
    shape = pick(rng, ("rectangle", "triangle", "parallelogram", "trapezoid") if level else ("rectangle", "triangle"))
    b, h = ri(rng, 3, 15), ri(rng, 3, 12)
    f = Figure()
    if shape == "rectangle":
        f.add("A", (0, 0)), f.add("B", (b, 0)), f.add("C", (b, h)), f.add("D", (0, h))
        f.polygon(*"ABCD")
        f.right_angles += [("A", "B", "D"), ("B", "C", "A")]
        f.lengths += [("A", "B", str(b)), ("B", "C", str(h))]
        ans = E(b * h)
        sol = f"Area of a rectangle = length × width = {b}·{h} = {b * h}."
        wrong = (E(2 * (b + h)), E(Fraction(b * h, 2)), E(b + h))
    elif shape in ("triangle", "parallelogram"):
        shift = ri(rng, 1, max(1, b - 1)) if shape == "triangle" else ri(rng, 1, 5)
        apex = "C" if shape == "triangle" else "D"
        f.add("A", (0, 0)), f.add("B", (b, 0)), f.add(apex, (shift, h)), f.add("_H", (shift, 0))
        if shape == "triangle":
            f.polygon("A", "B", "C")
            ans, sol = (
                E(Fraction(b * h, 2)),
                f"Area of a triangle = ½·base·height = ½·{b}·{h} = {num(E(Fraction(b * h, 2)))}.",
            )
            wrong = (E(b * h), E(b + h), E(Fraction(b * h, 4)))
        else:
            f.add("C", (shift + b, h))
            f.polygon("A", "B", "C", "D")
            ans, sol = E(b * h), f"Area of a parallelogram = base × height = {b}·{h} = {b * h}."
            wrong = (E(Fraction(b * h, 2)), E(2 * (b + h)), E(b * h + b))
        f.path(apex, "_H")
        f.right_angles.append(("_H", "B", apex))
        f.lengths += [("A", "B", str(b)), (apex, "_H", str(h))]
    else:
        top = ri(rng, 2, b + 6)
        if top == b:
            top += 1
        shift = ri(rng, 0, 3)
        f.add("A", (0, 0)), f.add("B", (b, 0)), f.add("C", (shift + top, h)), f.add("D", (shift, h))
        f.add("_H", (shift, 0))
        f.polygon(*"ABCD")
        f.path("D", "_H")
        f.right_angles.append(("_H", "B", "D"))
        f.arrows += [("A", "B", 1), ("D", "C", 1)]
        f.lengths += [("A", "B", str(b)), ("D", "C", str(top)), ("D", "_H", str(h))]
        ans = E(Fraction((b + top) * h, 2))
        sol = f"Area of a trapezoid = ½·(b₁ + b₂)·h = ½·({b} + {top})·{h} = {num(ans)}."
        wrong = (E((b + top) * h), E(b * top), E(Fraction(b * h, 2) + top))
    return Problem(
        "polygon_area", f"Find the area of the {shape}.", ans, "", wrong, sol.replace("₁", "1").replace("₂", "2"), f
    )


def circle_measure(rng: np.random.Generator, level: int) -> Problem:
    r = ri(rng, 2, 15)
    f = Figure()
    f.add("O", (0.0, 0.0)), f.add("A", (float(r), 0.0))
    f.circles.append(("O", float(r)))
    use_diameter = level > 0 and pick(rng, (True, False))
    if use_diameter:
        f.add("B", (-float(r), 0.0))
        f.path("B", "O", "A")
        f.lengths.append(("B", "A", str(2 * r)))
        given = f"The diameter is {2 * r}, so the radius is {r}. "
    else:
        f.path("O", "A")
        f.lengths.append(("O", "A", str(r)))
        given = ""
    if pick(rng, (True, False)):
        ans = PI * (r * r)
        sol = f"{given}Area = πr² = π·{r}² = {num(ans)}."
        wrong = (PI * (2 * r), PI * (4 * r * r), PI * r, E(r * r))
        what = "area"
    else:
        ans = PI * (2 * r)
        sol = f"{given}Circumference = 2πr = 2π·{r} = {num(ans)}."
        wrong = (PI * (r * r), PI * r, PI * (4 * r), E(2 * r))
        what = "circumference"
    return Problem(
        "circle_measure", f"Find the {what} of ⊙O. Give an exact answer in terms of π.", ans, "", wrong, sol, f
    )


def right_triangle_perimeter(rng: np.random.Generator, level: int) -> Problem:
    if level < 2:
        k = ri(rng, 1, 2)
        a, b, _ = (E(v * k) for v in pick(rng, TRIPLES[:4]))
    else:
        a, b = E(ri(rng, 2, 10)), E(ri(rng, 2, 10))
    c = Exact.sqrt((a * a + b * b).rational)
    f = Figure()
    f.add("A", (0.0, float(a))), f.add("B", (float(b), 0.0)), f.add("C", (0.0, 0.0))
    f.polygon("A", "B", "C")
    f.right_angles.append(("C", "B", "A"))
    f.lengths += [("A", "C", num(a)), ("B", "C", num(b))]
    ans = a + b + c
    sol = f"The hypotenuse is √({num(a)}² + {num(b)}²) = {num(c)}, so the perimeter is {num(a)} + {num(b)} + {num(c)} = {num(ans)}."
    wrong = (a + b, a * b / 2, a + b + a + b, ans + 2)
    return Problem(
        "right_triangle_perimeter", "Find the perimeter of △ABC. Give an exact answer.", ans, "", wrong, sol, f
    )


FAMILIES = {
    "polygon_area": polygon_area,
    "circle_measure": circle_measure,
    "right_triangle_perimeter": right_triangle_perimeter,
}
