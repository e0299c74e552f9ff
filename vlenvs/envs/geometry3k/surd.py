"""Exact real numbers of the answer grammar, in a canonical form, with hard size bounds.

A :class:`Surd` is a finite sum ``sum_i q_i * prod_j p_j**e_ij * pi**k_i`` with rational ``q_i``, primes
``p_j``, exponents ``e_ij`` in the open interval (0, 1) and integer ``k_i``. Products of distinct prime
roots are linearly independent over the rationals (Besicovitch) and ``pi`` is transcendental, so this
form is unique: two values are equal exactly when their term dictionaries are equal. No floating point
decides equality.

Every operation is bounded: a value has at most :data:`MAX_TERMS` terms, each coefficient at most
:data:`MAX_BITS` bits in numerator and denominator, roots are taken only of rationals whose numerator and
denominator are at most :data:`MAX_RADICAND` (fully factored by trial division by the primes below 10^4),
and every term product or trial division is charged to a per-answer :class:`Budget`. Crossing a bound
raises :class:`Refused` (deterministic, counted in operations, never in time).
"""

from __future__ import annotations

import math
from fractions import Fraction
from functools import lru_cache

#: Most terms a value may have.
MAX_TERMS = 16
#: Most bits of a coefficient's numerator or denominator.
MAX_BITS = 1024
#: Largest numerator / denominator of a rational a root is taken of.
MAX_RADICAND = 10**8
#: Largest |power of pi| in a term.
MAX_PI_POWER = 24
#: Work units one answer may use: a term product costs 1 + its prime roots + its coefficients' 64-bit
#: words, 16 trial divisions cost 1 (a unit is about 2-4 us of CPU on the benchmark machine).
BUDGET = 1500

Roots = tuple[tuple[int, Fraction], ...]  # ((prime, exponent in (0, 1)), ...), sorted by prime
Key = tuple[Roots, int]  # (roots, power of pi)
ONE_KEY: Key = ((), 0)


class Refused(Exception):
    """The answer is outside the grammar or its bounds; ``reason`` says which (a short word)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Budget:
    """Work units left for one answer; spending past zero refuses the answer."""

    __slots__ = ("left",)

    def __init__(self, units: int = BUDGET) -> None:
        self.left = units

    def charge(self, units: int) -> None:
        """Spend ``units``; raises :class:`Refused` ("complexity") when the budget is exhausted."""
        self.left -= units
        if self.left < 0:
            raise Refused("complexity")


class Surd:
    """An exact value ``sum(q * prod(p**e) * pi**k)`` in canonical form; compare with ``==``."""

    __slots__ = ("terms",)

    def __init__(self, terms: dict[Key, Fraction]) -> None:
        self.terms = {k: v for k, v in terms.items() if v}
        if len(self.terms) > MAX_TERMS:
            raise Refused("terms")
        for (_, pi), q in self.terms.items():
            if q.numerator.bit_length() > MAX_BITS or q.denominator.bit_length() > MAX_BITS:
                raise Refused("size")
            if abs(pi) > MAX_PI_POWER:
                raise Refused("exponent")

    @classmethod
    def rational(cls, q: int | Fraction) -> Surd:
        """The rational ``q``."""
        return cls({ONE_KEY: Fraction(q)})

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Surd) and self.terms == other.terms

    def __hash__(self) -> int:
        return hash(frozenset(self.terms.items()))

    def __repr__(self) -> str:
        return f"Surd({self.terms})"

    @property
    def as_rational(self) -> Fraction | None:
        """The value as a Fraction when it is rational, else None."""
        if not self.terms:
            return Fraction(0)
        if len(self.terms) == 1 and ONE_KEY in self.terms:
            return self.terms[ONE_KEY]
        return None

    def __float__(self) -> float:
        """The value in double precision (deterministic: IEEE operations in a fixed order)."""
        total = 0.0
        for (roots, pi), q in sorted(self.terms.items()):
            term = float(q) * math.pi**pi
            for p, e in roots:
                term *= float(p) ** float(e)
            total += term
        return total


PI = Surd({((), 1): Fraction(1)})


@lru_cache(maxsize=1)
def _primes() -> tuple[int, ...]:
    """The primes below 10^4 (enough to factor anything up to 10^8 completely)."""
    n = 10_000
    sieve = bytearray([1]) * n
    sieve[0:2] = b"\x00\x00"
    for i in range(2, int(n**0.5) + 1):
        if sieve[i]:
            sieve[i * i :: i] = bytearray(len(range(i * i, n, i)))
    return tuple(i for i in range(n) if sieve[i])


def factor(n: int, budget: Budget) -> dict[int, int]:
    """Prime factorisation of ``1 <= n <= MAX_RADICAND``."""
    if n > MAX_RADICAND:
        raise Refused("radicand")
    out: dict[int, int] = {}
    tried = 0
    for p in _primes():
        if p * p > n:
            break
        tried += 1
        while n % p == 0:
            n //= p
            out[p] = out.get(p, 0) + 1
    budget.charge(1 + tried // 16)
    if n > 1:  # no factor below sqrt(n): n is prime
        out[n] = out.get(n, 0) + 1
    return out


def _mul_keys(a: Key, b: Key) -> tuple[int, Key]:
    """``a * b`` as (integer carried into the coefficient, key)."""
    if not a[0] or not b[0]:
        return 1, (a[0] or b[0], a[1] + b[1])
    exps = dict(a[0])
    for p, e in b[0]:
        exps[p] = exps.get(p, 0) + e
    carry, roots = 1, []
    for p in sorted(exps):
        e = exps[p]
        if e >= 1:
            carry *= p
            e -= 1
        if e:
            roots.append((p, e))
    return carry, (tuple(roots), a[1] + b[1])


def add(a: Surd, b: Surd, budget: Budget) -> Surd:
    """``a + b``."""
    budget.charge((len(a.terms) + len(b.terms)) * (1 + max(_weight(a), _weight(b))) // 4 + 1)
    acc = dict(a.terms)
    for k, q in b.terms.items():
        acc[k] = acc.get(k, 0) + q
    return Surd(acc)


def neg(a: Surd) -> Surd:
    """``-a``."""
    return Surd({k: -q for k, q in a.terms.items()})


def _weight(a: Surd) -> int:
    """Work of one term of ``a`` in a product: its prime roots plus its coefficient's size in 64-bit words."""
    return max(
        (len(k[0]) + (q.numerator.bit_length() + q.denominator.bit_length()) // 64 for k, q in a.terms.items()),
        default=0,
    )


def mul(a: Surd, b: Surd, budget: Budget) -> Surd:
    """``a * b``."""
    budget.charge(len(a.terms) * len(b.terms) * (1 + _weight(a) + _weight(b)) + 1)
    acc: dict[Key, Fraction] = {}
    for ka, qa in a.terms.items():
        for kb, qb in b.terms.items():
            carry, key = _mul_keys(ka, kb)
            acc[key] = acc.get(key, 0) + qa * qb * carry
    return Surd(acc)


def _invert_term(key: Key, q: Fraction) -> Surd:
    """``1 / (q * key)``: ``p**-e = p**(1-e) / p``."""
    coef = 1 / q
    roots = []
    for p, e in key[0]:
        coef /= p
        roots.append((p, 1 - e))
    return Surd({(tuple(roots), -key[1]): coef})


def inverse(a: Surd, budget: Budget) -> Surd:
    """``1 / a``; a sum is rationalised by multiplying with conjugates, one square root at a time."""
    if not a.terms:
        raise Refused("zero_division")
    num, den = Surd.rational(1), a
    while len(den.terms) > 1:
        half = {p for roots, _ in den.terms for p, e in roots if e == Fraction(1, 2)}
        other = {p for roots, _ in den.terms for p, e in roots if e != Fraction(1, 2)}
        if other or not half:  # cube roots or powers of pi in a sum: outside the grammar
            raise Refused("division")
        p = min(half)
        conj = Surd({k: (-q if any(pp == p for pp, _ in k[0]) else q) for k, q in den.terms.items()})
        num, den = mul(num, conj, budget), mul(den, conj, budget)
    if not den.terms:
        raise Refused("zero_division")
    ((key, q),) = den.terms.items()
    return mul(num, _invert_term(key, q), budget)


def root_of_rational(q: Fraction, n: int, budget: Budget) -> Surd:
    """The real ``n``-th root of a rational (negative only for odd ``n``)."""
    if q == 0:
        return Surd.rational(0)
    sign = 1
    if q < 0:
        if n % 2 == 0:
            raise Refused("not_real")
        sign, q = -1, -q
    coef = Fraction(sign)
    roots: dict[int, Fraction] = {}
    for part, direction in ((q.numerator, 1), (q.denominator, -1)):
        for p, m in factor(part, budget).items():
            e = Fraction(direction * m, n)
            whole = math.floor(e)
            coef *= Fraction(p) ** whole
            if e != whole:
                roots[p] = e - whole
    return Surd({(tuple(sorted(roots.items())), 0): coef})


def power(a: Surd, r: Fraction, budget: Budget) -> Surd:
    """``a ** r`` for a small rational ``r`` (bounds checked by the caller); a sum only to an integer power."""
    if r.denominator == 1:
        n = r.numerator
        if n < 0:
            a, n = inverse(a, budget), -n
        elif n == 0:
            if not a.terms:
                raise Refused("zero_division")  # 0^0
            return Surd.rational(1)
        out, base = Surd.rational(1), a
        while n:
            if n & 1:
                out = mul(out, base, budget)
            n >>= 1
            if n:
                base = mul(base, base, budget)
        return out
    if not a.terms:
        if r < 0:
            raise Refused("zero_division")
        return Surd.rational(0)
    if len(a.terms) != 1:
        raise Refused("nested_root")
    ((roots, pi), q), = a.terms.items()
    if (pi * r).denominator != 1:
        raise Refused("pi_power")
    if q < 0 and r.denominator % 2 == 0:
        raise Refused("not_real")
    out = power(root_of_rational(q, r.denominator, budget), Fraction(r.numerator), budget)
    for p, e in roots:  # (p**e)**r = p**(e*r)
        er = e * r
        whole = math.floor(er)
        frac = er - whole
        part = Surd({(((p, frac),) if frac else (), 0): Fraction(p) ** whole})
        out = mul(out, part, budget)
    return mul(out, Surd({((), int(pi * r)): Fraction(1)}), budget)
