"""Line lexer of the G-code reader: comments, words, LinuxCNC parameters and expressions.

This is the per-line front end of the general (reference) path of
:mod:`workbench.gcode.reader`. One call to :func:`lex_line` turns one source line into its
words ``[(letter, value, text)]`` and its parameter assignments ``[(key, value)]``.

Semantics (sources):

- Comments: ``( ... )`` and ``;`` to end of line. grbl (``protocol.c``, ``COMMENT_PARENTHESES``)
  and LinuxCNC (``rs274ngc`` ``close_and_downcase``) both end a parenthesised comment at the
  *first* ``)``; text after it is part of the line. With ``nested="allow"`` a ``(`` inside a
  comment opens a nested level that needs its own ``)`` (lenient; not what any controller does).
- Whitespace is ignored everywhere outside comments and letters are case-insensitive (grbl
  ``protocol.c`` strips spaces and upcases; LinuxCNC ``close_and_downcase`` does the same).
- Words: a letter followed by a real value: a number, ``#n``/``#<name>``, ``[expression]`` or
  a unary function (LinuxCNC ``read_real_value``).
- Expressions (LinuxCNC manual, "O Codes / Expressions" and ``interp_read.cc``): binary
  operators, left-associative, precedence ``**`` > ``* / MOD`` > ``+ -`` >
  ``EQ NE GT GE LT LE`` > ``AND OR XOR``; ``EQ``/``NE`` compare with tolerance 0.0001
  (``TOLERANCE_EQUAL`` in ``interp_internal.hh``); ``MOD`` result is made non-negative
  (``execute_binary1``); trigonometry in degrees; ``FIX`` = floor, ``FUP`` = ceil,
  ``ROUND`` = half away from zero; ``ATAN[y]/[x]`` = atan2 in degrees; ``EXISTS[#<name>]``.
- Parameters: numbered ``#1`` .. ``#5602`` (``RS274NGC_MAX_PARAMETERS``) read 0 when never
  set; named ``#<name>`` must be set before being read (LinuxCNC: "named parameter not
  defined"). Assignments ``#1 = value`` are returned, not applied: the reader applies them at
  the end of the line (LinuxCNC: "parameter setting does not take effect until after all
  parameter values on the same line have been found").
"""

from __future__ import annotations

import math
import re
from typing import Callable, Union

from ..errors import GCodeError

ParamKey = Union[int, str]
#: Reads a parameter; raises KeyError when a named parameter is undefined.
ParamGetter = Callable[[ParamKey], float]

MAX_PARAMETER = 5602  # LinuxCNC RS274NGC_MAX_PARAMETERS
TOLERANCE_EQUAL = 0.0001  # LinuxCNC interp_internal.hh

_NUMBER = re.compile(r"(?:\d+\.?\d*|\.\d+)")
_NAME = re.compile(r"[A-Z]+")
_WS = re.compile(r"\s+")

# Binary operators by precedence level (LinuxCNC interp_read.cc precedence()).
_OPS: list[tuple[str, int]] = [
    ("**", 6), ("*", 5), ("/", 5), ("MOD", 5), ("+", 4), ("-", 4),
    ("EQ", 3), ("NE", 3), ("GT", 3), ("GE", 3), ("LT", 3), ("LE", 3),
    ("AND", 2), ("OR", 2), ("XOR", 2),
]

_UNARY = ("ABS", "ACOS", "ASIN", "ATAN", "COS", "EXP", "FIX", "FUP", "ROUND", "LN", "SIN",
          "SQRT", "TAN", "EXISTS")


def strip_comments(raw: str, lineno: int, *, nested: str = "error", strict: bool = True,
                   path: str | None = None) -> str:
    """Remove ``( )`` and ``;`` comments from one source line.

    Args:
        raw: the line without its newline.
        lineno: 1-based line number (for errors).
        nested: ``"error"`` (grbl/LinuxCNC: the first ``)`` ends the comment) or ``"allow"``
            (a ``(`` inside a comment nests and needs its own ``)``).
        strict: when True an unclosed ``(`` is an error (LinuxCNC "unclosed comment"); when
            False it runs to the end of the line (grbl ``protocol.c``).

    Returns:
        The line text outside comments (not yet upcased or stripped of whitespace).

    Raises:
        GCodeError: unclosed comment (strict).
    """
    if "(" not in raw and ";" not in raw:
        return raw
    out: list[str] = []
    i, n = 0, len(raw)
    while i < n:
        p = raw.find("(", i)
        q = raw.find(";", i)
        if q != -1 and (p == -1 or q < p):
            out.append(raw[i:q])
            return "".join(out)
        if p == -1:
            out.append(raw[i:])
            break
        out.append(raw[i:p])
        if nested == "allow":
            depth, k = 1, p + 1
            while k < n and depth:
                ch = raw[k]
                if ch == "(":
                    depth += 1
                elif ch == ")":
                    depth -= 1
                k += 1
            if depth:
                if strict:
                    raise GCodeError("unclosed comment '('", line=lineno, path=path)
                return "".join(out)
            i = k
        else:
            e = raw.find(")", p + 1)
            if e == -1:
                if strict:
                    raise GCodeError("unclosed comment '('", line=lineno, path=path)
                return "".join(out)
            i = e + 1
    return "".join(out)


class _Lexer:
    """Recursive-descent reader of one comment-free, whitespace-free, upcased line."""

    __slots__ = ("s", "pos", "lineno", "get", "path")

    def __init__(self, s: str, lineno: int, get: ParamGetter, path: str | None) -> None:
        self.s = s
        self.pos = 0
        self.lineno = lineno
        self.get = get
        self.path = path

    def error(self, msg: str, word: str | None = None) -> GCodeError:
        return GCodeError(msg, line=self.lineno, word=word, path=self.path)

    def expect(self, ch: str) -> None:
        if self.s.startswith(ch, self.pos):
            self.pos += len(ch)
            return
        got = self.s[self.pos:self.pos + 10] or "end of line"
        raise self.error(f"expected {ch!r} in expression, found {got!r}")

    # -- values -------------------------------------------------------------------------
    def real_value(self) -> float:
        s, pos = self.s, self.pos
        if pos >= len(s):
            raise self.error("missing value at end of line")
        c = s[pos]
        if c == "[":
            self.pos += 1
            v = self.expression()
            self.expect("]")
            return v
        if c == "#":
            return self.param_value()
        if c == "-" or c == "+":
            self.pos += 1
            v = self.real_value()
            return -v if c == "-" else v
        m = _NUMBER.match(s, pos)
        if m:
            self.pos = m.end()
            return float(m.group())
        m = _NAME.match(s, pos)
        if m and m.group() in _UNARY or (m and m.group().startswith(_UNARY)):
            return self.function()
        raise self.error("expected a number, parameter or [expression]",
                         word=s[max(0, pos - 1):pos + 8])

    def function(self) -> float:
        s = self.s
        name = next((f for f in sorted(_UNARY, key=len, reverse=True)
                     if s.startswith(f, self.pos)), None)
        assert name is not None
        self.pos += len(name)
        if name == "EXISTS":
            self.expect("[")
            self.expect("#")
            try:
                key = self.param_key_after_hash()
                self.get(key)
                ok = 1.0
            except KeyError:
                ok = 0.0
            self.expect("]")
            return ok
        self.expect("[")
        a = self.expression()
        self.expect("]")
        if name == "ATAN":
            self.expect("/")
            self.expect("[")
            b = self.expression()
            self.expect("]")
            return math.degrees(math.atan2(a, b))
        try:
            if name == "ABS":
                return abs(a)
            if name == "ACOS":
                return math.degrees(math.acos(a))
            if name == "ASIN":
                return math.degrees(math.asin(a))
            if name == "COS":
                return math.cos(math.radians(a))
            if name == "SIN":
                return math.sin(math.radians(a))
            if name == "TAN":
                return math.tan(math.radians(a))
            if name == "EXP":
                return math.exp(a)
            if name == "FIX":
                return float(math.floor(a))
            if name == "FUP":
                return float(math.ceil(a))
            if name == "ROUND":
                return float(math.floor(abs(a) + 0.5)) * (1.0 if a >= 0 else -1.0)
            if name == "LN":
                return math.log(a)
            if name == "SQRT":
                return math.sqrt(a)
        except (ValueError, OverflowError):
            raise self.error(f"{name}[{a:g}] is out of the function's domain", word=name) from None
        raise self.error(f"unknown function {name}", word=name)  # pragma: no cover

    def param_key_after_hash(self) -> ParamKey:
        s = self.s
        if self.pos < len(s) and s[self.pos] == "<":
            end = s.find(">", self.pos)
            if end == -1:
                raise self.error("named parameter without closing '>'")
            name = s[self.pos + 1:end]
            if not name:
                raise self.error("empty parameter name '#<>'")
            self.pos = end + 1
            return name
        v = self.real_value()
        n = round(v)
        if abs(v - n) > 1e-6 or not 1 <= n <= MAX_PARAMETER:
            raise self.error(f"parameter number {v:g} is not an integer in 1..{MAX_PARAMETER}",
                             word=f"#{v:g}")
        return int(n)

    def param_value(self) -> float:
        self.pos += 1  # '#'
        key = self.param_key_after_hash()
        try:
            return self.get(key)
        except KeyError:
            raise self.error("named parameter is not defined", word=f"#<{key}>") from None

    # -- expressions ----------------------------------------------------------------------
    def op(self) -> tuple[str, int] | None:
        s, pos = self.s, self.pos
        for name, prec in _OPS:
            if s.startswith(name, pos):
                return name, prec
        return None

    def expression(self, min_prec: int = 0) -> float:
        left = self.real_value()
        while True:
            o = self.op()
            if o is None or o[1] <= min_prec:
                return left
            name, prec = o
            self.pos += len(name)
            right = self.expression(prec)  # left associative: bind tighter ops only
            left = self.binary(name, left, right)

    def binary(self, name: str, a: float, b: float) -> float:
        if name == "+":
            return a + b
        if name == "-":
            return a - b
        if name == "*":
            return a * b
        if name == "/":
            if b == 0.0:
                raise self.error("division by zero in expression", word=f"{a:g}/{b:g}")
            return a / b
        if name == "MOD":
            if b == 0.0:
                raise self.error("division by zero in expression (MOD 0)", word=f"{a:g} MOD 0")
            r = math.fmod(a, b)
            return r + abs(b) if r < 0 else r
        if name == "**":
            try:
                r = a ** b
            except (OverflowError, ZeroDivisionError):
                raise self.error("power out of range", word=f"{a:g}**{b:g}") from None
            if isinstance(r, complex):
                raise self.error("negative number to a non-integer power", word=f"{a:g}**{b:g}")
            return float(r)
        if name == "EQ":
            return 1.0 if abs(a - b) < TOLERANCE_EQUAL else 0.0
        if name == "NE":
            return 0.0 if abs(a - b) < TOLERANCE_EQUAL else 1.0
        if name == "GT":
            return 1.0 if a > b else 0.0
        if name == "GE":
            return 1.0 if a >= b else 0.0
        if name == "LT":
            return 1.0 if a < b else 0.0
        if name == "LE":
            return 1.0 if a <= b else 0.0
        if name == "AND":
            return 0.0 if (a == 0.0 or b == 0.0) else 1.0
        if name == "OR":
            return 1.0 if (a != 0.0 or b != 0.0) else 0.0
        if name == "XOR":
            return 1.0 if ((a != 0.0) != (b != 0.0)) else 0.0
        raise self.error(f"unknown operator {name}")  # pragma: no cover

    # -- line -----------------------------------------------------------------------------
    def line(self) -> tuple[list[tuple[str, float, str]], list[tuple[ParamKey, float]]]:
        s = self.s
        words: list[tuple[str, float, str]] = []
        assigns: list[tuple[ParamKey, float]] = []
        n = len(s)
        while self.pos < n:
            c = s[self.pos]
            start = self.pos
            if c == "#":
                self.pos += 1
                key = self.param_key_after_hash()
                self.expect("=")
                assigns.append((key, self.checked(self.real_value(), s[start:self.pos])))
            elif "A" <= c <= "Z":
                self.pos += 1
                if self.pos >= n:
                    raise self.error(f"word {c} has no value", word=c)
                nc = s[self.pos]
                if "A" <= nc <= "Z" and not s.startswith(_UNARY, self.pos):
                    raise self.error(f"word {c} has no value", word=s[start:self.pos + 1])
                v = self.real_value()
                words.append((c, self.checked(v, s[start:self.pos]), s[start:self.pos]))
            else:
                raise self.error("text that is not a G-code word", word=s[start:start + 12])
        return words, assigns

    def checked(self, v: float, text: str) -> float:
        if not math.isfinite(v):
            raise self.error("value is not a finite number", word=text)
        return v


def lex_line(code: str, lineno: int, get: ParamGetter, path: str | None = None
             ) -> tuple[list[tuple[str, float, str]], list[tuple[ParamKey, float]]]:
    """Split one comment-free line into words and parameter assignments.

    Args:
        code: the line with comments removed (see :func:`strip_comments`); whitespace and case
            are normalised here.
        lineno: 1-based line number, for errors.
        get: parameter reader (numbered keys are ints, named keys upper-case strings without
            ``<>``); raises KeyError for an undefined named parameter.

    Returns:
        ``(words, assigns)``: words as ``(letter, value, source_text)`` in line order, values in
        the program's units; assignments as ``(key, value)`` to apply at end of line.

    Raises:
        GCodeError: text that is not a word, a word without value, a malformed expression,
            division by zero, a function outside its domain, an undefined named parameter,
            a non-finite value.
    """
    s = _WS.sub("", code).upper()
    if not s:
        return [], []
    return _Lexer(s, lineno, get, path).line()
