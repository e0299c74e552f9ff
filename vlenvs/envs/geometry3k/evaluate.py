"""The exact evaluator of answers: a small recursive-descent parser over a normalised answer that
computes its value as a :class:`~vlenvs.envs.geometry3k.surd.Surd`. Nothing is passed to ``eval``,
``sympify`` or a CAS.

Grammar (after :func:`~vlenvs.envs.geometry3k.answers.normalize`, which drops spaces, ``$``, degree
signs, units, ``\\left``/``\\right`` and maps ``\\cdot``/``\\times``/``×``/``·`` to ``*``)::

    expr     := term (("+" | "-") term)*
    term     := unary (("*" | "/" | "÷" | "\\div") unary | implicit-product power)*
    unary    := ("+" | "-") unary | power
    power    := atom ("^" exponent)?            -- a second "^" right after is refused
    atom     := number | "\\pi" | "pi" | group
              | "\\frac" arg arg | "\\sqrt" ("[" expr "]")? arg | ("√" | "sqrt") arg
    group    := "(" expr ")" | "[" expr "]" | "{" expr "}" | "\\{" expr "\\}"
    arg      := "{" expr "}" | "(" expr ")" | one digit | "\\pi" | "pi"   (√ and sqrt take a whole number)

Bounds (each refusal names its reason in :class:`~vlenvs.envs.geometry3k.surd.Refused`): at most
:data:`MAX_LENGTH` characters, :data:`MAX_NUMBER_DIGITS` digits per number, nesting depth
:data:`MAX_DEPTH`, exponents rational with ``|numerator| <=`` :data:`MAX_EXPONENT` and denominator (root
index) ``<=`` :data:`MAX_ROOT`, plus the value bounds and work budget of :mod:`~vlenvs.envs.geometry3k.surd`.
Together they cap the work per answer (see ``benchmarks/geometry3k_throughput.py`` for the measured worst case).
"""

from __future__ import annotations

import re
from fractions import Fraction

from vlenvs.envs.geometry3k.surd import PI, Budget, Refused, Surd, add, inverse, mul, neg, power, root_of_rational

#: Longest answer evaluated (characters, after normalisation).
MAX_LENGTH = 160
#: Most digits in one number literal.
MAX_NUMBER_DIGITS = 20
#: Deepest nesting of brackets, fractions, roots and exponents.
MAX_DEPTH = 10
#: Largest |numerator| of an exponent.
MAX_EXPONENT = 24
#: Largest root index (``\\sqrt[n]``) and exponent denominator.
MAX_ROOT = 12

_TOKEN = re.compile(r"\d+\.?\d*|\.\d+|\\[A-Za-z]+|\\[{}]|[A-Za-z]+|\*\*|.", re.S)
_OPEN = {"(": ")", "[": "]", "{": "}", "\\{": "\\}", "\\lbrace": "\\rbrace", "\\lbrack": "\\rbrack"}
_MUL = {"*", "\\cdot", "\\times"}
_DIV = {"/", "÷", "\\div"}
_ATOM_START = {"\\pi", "pi", "\\frac", "\\dfrac", "\\tfrac", "\\sqrt", "√", "sqrt", *_OPEN}


def _is_number(tok: str) -> bool:
    return tok[0].isdigit() or (tok[0] == "." and len(tok) > 1)


class _Parser:
    __slots__ = ("toks", "i", "depth", "budget")

    def __init__(self, toks: list[str], budget: Budget) -> None:
        self.toks, self.i, self.depth, self.budget = toks, 0, 0, budget

    def peek(self) -> str | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self) -> str:
        tok = self.peek()
        if tok is None:
            raise Refused("syntax")
        self.i += 1
        return tok

    def enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise Refused("nesting")

    # -------------------------------------------------------------- grammar
    def expr(self) -> Surd:
        value = self.term()
        while self.peek() in ("+", "-"):
            sign = self.take()
            rhs = self.term()
            value = add(value, rhs if sign == "+" else neg(rhs), self.budget)
        return value

    def term(self) -> Surd:
        value = self.unary()
        while True:
            tok = self.peek()
            if tok in _MUL:
                self.take()
                value = mul(value, self.unary(), self.budget)
            elif tok in _DIV:
                self.take()
                value = mul(value, inverse(self.unary(), self.budget), self.budget)
            elif tok is not None and (tok in _ATOM_START or _is_number(tok)):
                value = mul(value, self.power(), self.budget)
            else:
                return value

    def unary(self) -> Surd:
        tok = self.peek()
        if tok in ("+", "-"):
            self.take()
            self.enter()
            value = self.unary()
            self.depth -= 1
            return neg(value) if tok == "-" else value
        return self.power()

    def power(self) -> Surd:
        base = self.atom()
        if self.peek() in ("^", "**"):
            self.take()
            exponent = self.exponent()
            if self.peek() in ("^", "**"):
                raise Refused("exponent")  # a^b^c: ambiguous and a classic blow-up
            base = power(base, exponent, self.budget)
        return base

    def exponent(self) -> Fraction:
        self.enter()
        tok = self.peek()
        if tok in ("+", "-"):
            value = self.unary()
        elif tok is not None and tok[0].isdigit():
            value = self.number(self.take())  # plain text 2^10 means 1024
        else:
            value = self.atom()
        self.depth -= 1
        r = value.as_rational
        if r is None or abs(r.numerator) > MAX_EXPONENT or r.denominator > MAX_ROOT:
            raise Refused("exponent")
        return r

    def atom(self) -> Surd:
        tok = self.take()
        if _is_number(tok):
            return self.number(tok)
        if tok in ("\\pi", "pi"):
            return PI
        if tok in _OPEN:
            return self.group(tok)
        if tok in ("\\frac", "\\dfrac", "\\tfrac"):
            num = self.arg()
            return mul(num, inverse(self.arg(), self.budget), self.budget)
        if tok == "\\sqrt":
            index = 2
            if self.peek() == "[":
                self.take()
                r = self.group("[").as_rational
                if r is None or r.denominator != 1 or not 2 <= r.numerator <= MAX_ROOT:
                    raise Refused("root_index")
                index = r.numerator
            return self.root(self.arg(), index)
        if tok in ("√", "sqrt"):  # plain text: √130 is the root of 130
            nxt = self.peek()
            return self.root(self.number(self.take()) if nxt and _is_number(nxt) else self.arg(), 2)
        if tok.startswith("\\"):
            raise Refused("command")
        if tok.isalpha():
            raise Refused("symbol")
        raise Refused("syntax")

    def root(self, value: Surd, index: int) -> Surd:
        r = value.as_rational
        if r is None:
            return power(value, Fraction(1, index), self.budget)  # a single term, else refused
        return root_of_rational(r, index, self.budget)

    def group(self, opener: str) -> Surd:
        self.enter()
        value = self.expr()
        if self.take() != _OPEN[opener]:
            raise Refused("brackets")
        self.depth -= 1
        return value

    def arg(self) -> Surd:
        tok = self.peek()
        if tok is None:
            raise Refused("syntax")
        if tok in ("{", "("):
            return self.group(self.take())
        if tok[0].isdigit():  # LaTeX reads one digit: \frac12 is 1/2, \sqrt3 is sqrt(3)
            self.toks[self.i] = tok[1:]
            if not self.toks[self.i]:
                self.i += 1
            return Surd.rational(int(tok[0]))
        if tok in ("\\pi", "pi"):
            self.take()
            return PI
        raise Refused("syntax")

    def number(self, tok: str) -> Surd:
        if not any(c.isdigit() for c in tok):
            raise Refused("syntax")
        if sum(c.isdigit() for c in tok) > MAX_NUMBER_DIGITS:
            raise Refused("digits")
        whole, _, frac = tok.partition(".")
        return Surd.rational(Fraction(int(whole or "0") * 10 ** len(frac) + int(frac or "0"), 10 ** len(frac)))


def tokens(s: str) -> list[str]:
    """The tokens of a normalised answer (no whitespace inside)."""
    return _TOKEN.findall(s)


def evaluate(s: str, budget: Budget | None = None) -> Surd:
    """The exact value of the normalised answer ``s``; raises :class:`Refused` outside the grammar/bounds."""
    if not s:
        raise Refused("empty")
    if len(s) > MAX_LENGTH:
        raise Refused("length")
    parser = _Parser(tokens(s), budget or Budget())
    value = parser.expr()
    if parser.peek() is not None:
        tok = parser.peek()
        raise Refused("symbol" if tok.isalpha() else "brackets" if tok in ")]}" else "syntax")
    return value
