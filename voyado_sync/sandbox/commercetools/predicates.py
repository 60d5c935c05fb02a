"""Commercetools query predicates (reference §2.2): parse once per request, compile to a Python closure.

Grammar (keywords are case-insensitive; ``not`` binds tighter than ``and``, ``and`` tighter than ``or``)::

    expr    := and ('or' and)*
    and     := unary ('and' unary)*
    unary   := 'not' unary | '(' expr ')' | field tail
    tail    := '(' expr ')'                                   -- descend into an object / array of objects
             | ('=' | '!=' | '<>' | '<' | '<=' | '>' | '>=') value
             | ['not'] 'in' list
             | 'is' ['not'] ('defined' | 'empty')
             | 'contains' ('any' | 'all') list | 'contains' value
             | 'within' 'circle' '(' lng ',' lat ',' radiusMeters ')'
    list    := '(' value (',' value)* ')' | :variable
    value   := "string" | number | true | false | :variable

Semantics follow the (MongoDB-backed) real API: a comparison on an array field matches when any element
matches; ``!=`` and ``not in`` also match documents where the field is absent; DateTime literals compare
as instants whatever their ISO-8601 spelling; input variables (``var.name`` query parameters, strings on
the wire) are coerced to the type of the field they are compared with.

Documents may be evaluated on a *head* (top-level scalars only, complex values replaced by `COMPLEX`):
touching a `COMPLEX` raises `NeedFull` and the caller retries on the parsed document. That keeps the hot
path (``lastModifiedAt`` windows + ``id`` cursor) free of JSON parsing.
"""

from __future__ import annotations

import json
import math
import operator
import re
from dataclasses import dataclass, field as dc_field
from datetime import datetime, timezone
from typing import Any, Callable, Mapping

MISSING: Any = object()
COMPLEX: Any = object()  # stands for an object/array value in a document head


class NeedFull(Exception):
    """The head lacks a complex value the predicate needs: evaluate on the full document."""


class PredicateError(ValueError):
    def __init__(self, message: str, text: str = "", position: int | None = None) -> None:
        if position is not None:
            caret = " " * position + "^"
            message = f"{message} (line 1, column {position + 1}):\n{text}\n{caret}"
        super().__init__(f"Malformed parameter: where: {message}")


# --- DateTime handling --------------------------------------------------------------------------
_DT_LITERAL = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")


def instant_key(value: str) -> str | None:
    """A string that orders like the instant ``value`` denotes, or None when it is no DateTime.

    The API's own spelling (``2024-05-01T10:00:00.000Z``) is mapped by slicing; anything else is parsed.
    """
    if len(value) == 24 and value[23] == "Z" and value[10] == "T" and value[19] == ".":
        return value[:23] + "000"
    if not _DT_LITERAL.match(value):
        return None
    try:
        dt = datetime.fromisoformat(value)
    except ValueError:
        return None
    if dt.tzinfo is not None:
        dt = dt.astimezone(timezone.utc).replace(tzinfo=None)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.%f")


# --- tokens -------------------------------------------------------------------------------------
_TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<string>"(?:[^"\\]|\\.)*")
  | (?P<op><>|!=|<=|>=|=|<|>)
  | (?P<lpar>\() | (?P<rpar>\)) | (?P<comma>,)
  | (?P<var>:[A-Za-z_][A-Za-z0-9_\-]*)
  | (?P<number>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?(?![A-Za-z0-9_\-]))
  | (?P<ident>[A-Za-z0-9_][A-Za-z0-9_\-]*)
""", re.VERBOSE)


@dataclass
class Tok:
    kind: str  # string | op | lpar | rpar | comma | var | number | ident | eof
    text: str
    pos: int

    def kw(self, *words: str) -> bool:
        return self.kind == "ident" and self.text.lower() in words


def tokenize(text: str) -> list[Tok]:
    toks: list[Tok] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m:
            raise PredicateError(f"Syntax error while parsing 'where'. Invalid input '{text[pos]}'", text, pos)
        if m.lastgroup != "ws":
            toks.append(Tok(m.lastgroup or "", m.group(), pos))
        pos = m.end()
    toks.append(Tok("eof", "", len(text)))
    return toks


# --- AST ----------------------------------------------------------------------------------------
@dataclass
class Lit:
    kind: str  # str | num | bool | var
    value: Any
    instant: str | None = None  # instant_key for DateTime-looking strings


@dataclass
class Node:
    kind: str  # or | and | not | nested | cmp | in | defined | empty | contains | within
    field: str = ""
    op: str = ""
    items: list["Node"] = dc_field(default_factory=list)
    lits: list[Lit] = dc_field(default_factory=list)
    negate: bool = False
    numbers: tuple[float, ...] = ()


class _Parser:
    def __init__(self, text: str, variables: Mapping[str, list[str]]) -> None:
        self.text = text
        self.toks = tokenize(text)
        self.i = 0
        self.variables = variables

    @property
    def tok(self) -> Tok:
        return self.toks[self.i]

    def take(self) -> Tok:
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def fail(self, expected: str, tok: Tok | None = None) -> PredicateError:
        tok = tok or self.tok
        found = "end of input" if tok.kind == "eof" else f"'{tok.text}'"
        return PredicateError(f"Syntax error while parsing 'where'. Invalid input {found}, expected {expected}",
                              self.text, tok.pos)

    def expect(self, kind: str, expected: str) -> Tok:
        if self.tok.kind != kind:
            raise self.fail(expected)
        return self.take()

    def parse(self) -> Node:
        if self.tok.kind == "eof":
            raise self.fail("a predicate")
        node = self.parse_or()
        if self.tok.kind != "eof":
            raise self.fail("'and', 'or' or end of input")
        return node

    def parse_or(self) -> Node:
        items = [self.parse_and()]
        while self.tok.kw("or"):
            self.take()
            items.append(self.parse_and())
        return items[0] if len(items) == 1 else Node("or", items=items)

    def parse_and(self) -> Node:
        items = [self.parse_unary()]
        while self.tok.kw("and"):
            self.take()
            items.append(self.parse_unary())
        return items[0] if len(items) == 1 else Node("and", items=items)

    def parse_unary(self) -> Node:
        if self.tok.kw("not"):
            self.take()
            return Node("not", items=[self.parse_unary()])
        if self.tok.kind == "lpar":
            self.take()
            node = self.parse_or()
            self.expect("rpar", "')', 'and' or 'or'")
            return node
        if self.tok.kind != "ident" or self.tok.kw("and", "or"):
            raise self.fail("a field name, 'not' or '('")
        name = self.take().text
        tok = self.tok
        if tok.kind == "lpar":
            self.take()
            inner = self.parse_or()
            self.expect("rpar", "')', 'and' or 'or'")
            return Node("nested", field=name, items=[inner])
        if tok.kind == "op":
            self.take()
            return Node("cmp", field=name, op="!=" if tok.text == "<>" else tok.text, lits=[self.parse_value()])
        if tok.kw("in"):
            self.take()
            return Node("in", field=name, lits=self.parse_list())
        if tok.kw("not"):
            self.take()
            if not self.tok.kw("in"):
                raise self.fail("'in'")
            self.take()
            return Node("in", field=name, lits=self.parse_list(), negate=True)
        if tok.kw("is"):
            self.take()
            negate = False
            if self.tok.kw("not"):
                self.take()
                negate = True
            if self.tok.kw("defined"):
                self.take()
                return Node("defined", field=name, negate=negate)
            if self.tok.kw("empty"):
                self.take()
                return Node("empty", field=name, negate=negate)
            raise self.fail("'defined' or 'empty'")
        if tok.kw("contains"):
            self.take()
            if self.tok.kw("any", "all"):
                mode = self.take().text.lower()
                return Node("contains", field=name, op=mode, lits=self.parse_list())
            return Node("contains", field=name, op="any", lits=[self.parse_value()])
        if tok.kw("within"):
            self.take()
            if not self.tok.kw("circle"):
                raise self.fail("'circle'")
            self.take()
            self.expect("lpar", "'('")
            nums = []
            for i in range(3):
                num = self.expect("number", "a number")
                nums.append(float(num.text))
                if i < 2:
                    self.expect("comma", "','")
            self.expect("rpar", "')'")
            return Node("within", field=name, numbers=tuple(nums))
        raise self.fail("'(', '=', '!=', '<>', '<', '<=', '>', '>=', 'in', 'not in', 'is', 'contains' or 'within'")

    def parse_list(self) -> list[Lit]:
        if self.tok.kind == "var":
            return [Lit("var", v, instant_key(v)) for v in self.variable(self.take())]
        self.expect("lpar", "'(' or an input variable")
        lits = [self.parse_value()]
        while self.tok.kind == "comma":
            self.take()
            lits.append(self.parse_value())
        self.expect("rpar", "',' or ')'")
        return lits

    def parse_value(self) -> Lit:
        tok = self.tok
        if tok.kind == "string":
            self.take()
            try:
                value = json.loads(tok.text)
            except json.JSONDecodeError:
                raise self.fail("a valid string literal", tok) from None
            return Lit("str", value, instant_key(value))
        if tok.kind == "number":
            self.take()
            num = float(tok.text)
            return Lit("num", int(num) if num.is_integer() and re.fullmatch(r"-?\d+", tok.text) else num)
        if tok.kw("true", "false"):
            self.take()
            return Lit("bool", tok.text.lower() == "true")
        if tok.kind == "var":
            self.take()
            values = self.variable(tok)
            if len(values) != 1:
                raise PredicateError(f"Input variable '{tok.text[1:]}' has {len(values)} values where one is "
                                     "expected", self.text, tok.pos)
            return Lit("var", values[0], instant_key(values[0]))
        raise self.fail("a value (string, number, boolean or :variable)")

    def variable(self, tok: Tok) -> list[str]:
        name = tok.text[1:]
        values = self.variables.get(name)
        if not values:
            raise PredicateError(f"Input variable '{name}' is not defined: pass it as query parameter "
                                 f"'var.{name}'", self.text, tok.pos)
        return values


def parse(text: str, variables: Mapping[str, list[str]] | None = None) -> Node:
    return _Parser(text, variables or {}).parse()


# --- compilation --------------------------------------------------------------------------------
Pred = Callable[[Mapping[str, Any]], bool]
Test = Callable[[Any], bool]  # a test on one scalar value

_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
}


def _scalar_test(op: str, lit: Lit) -> Test:
    """``value <op> literal`` for one scalar document value (False on a type mismatch)."""
    cmp = _OPS[op]
    if lit.kind == "bool":
        b = lit.value
        return lambda v: type(v) is bool and cmp(v, b)
    if lit.kind == "num":
        n = lit.value
        return lambda v: type(v) in (int, float) and cmp(v, n)
    if lit.kind == "str":
        s, key = lit.value, lit.instant
        if key is None:
            return lambda v: type(v) is str and cmp(v, s)

        def instant(v: Any) -> bool:
            if type(v) is not str:
                return False
            vk = instant_key(v)
            return cmp(vk, key) if vk is not None else cmp(v, s)
        return instant
    raw, key = lit.value, lit.instant  # input variable: a string that takes the type of the field

    def coerced(v: Any) -> bool:
        t = type(v)
        if t is str:
            if key is not None:
                vk = instant_key(v)
                if vk is not None:
                    return cmp(vk, key)
            return cmp(v, raw)
        if t is bool:
            return raw.lower() in ("true", "false") and cmp(v, raw.lower() == "true")
        if t in (int, float):
            try:
                return cmp(v, float(raw))
            except ValueError:
                return False
        return False
    return coerced


def _any_of(test: Test) -> Test:
    """Lift a scalar test to a document value: arrays match when any element does."""
    def lifted(v: Any) -> bool:
        if v is MISSING or v is None:
            return False
        if v is COMPLEX:
            raise NeedFull
        if type(v) is list:
            return any(lifted(e) for e in v)
        if type(v) is dict:
            return False
        return test(v)
    return lifted


def _eq_any(lits: list[Lit]) -> Test:
    if all(lit.kind == "str" and lit.instant is None for lit in lits):
        strings = frozenset(lit.value for lit in lits)
        return lambda v: type(v) is str and v in strings
    tests = [_scalar_test("=", lit) for lit in lits]
    return lambda v: any(t(v) for t in tests)


def _getter(name: str) -> Callable[[Mapping[str, Any]], Any]:
    def get(d: Mapping[str, Any]) -> Any:
        return d.get(name, MISSING)
    return get


def compile_node(node: Node) -> Pred:
    kind = node.kind
    if kind in ("and", "or"):
        parts = [compile_node(n) for n in node.items]
        if len(parts) == 2:  # the common window/cursor shapes, without generator overhead
            a, b = parts
            return (lambda d: a(d) and b(d)) if kind == "and" else (lambda d: a(d) or b(d))
        if kind == "and":
            return lambda d: all(p(d) for p in parts)
        return lambda d: any(p(d) for p in parts)
    if kind == "not":
        inner = compile_node(node.items[0])
        return lambda d: not inner(d)
    get = _getter(node.field)
    if kind == "nested":
        inner = compile_node(node.items[0])

        def descend(v: Any) -> bool:
            if v is COMPLEX:
                raise NeedFull
            if type(v) is dict:
                return inner(v)
            if type(v) is list:
                return any(descend(e) for e in v)
            return False
        return lambda d: descend(get(d))
    if kind == "cmp":
        op, lit = node.op, node.lits[0]
        if op == "!=":
            eq = _any_of(_scalar_test("=", lit))
            return lambda d: not eq(get(d))
        test = _any_of(_scalar_test(op, lit))
        return lambda d: test(get(d))
    if kind == "in":
        member = _any_of(_eq_any(node.lits))
        if node.negate:
            return lambda d: not member(get(d))
        return lambda d: member(get(d))
    if kind == "defined":
        want = not node.negate
        return lambda d: (get(d) not in (MISSING, None)) is want
    if kind == "empty":
        want = not node.negate

        def empty(d: Mapping[str, Any]) -> bool:
            v = get(d)
            if v is COMPLEX:
                raise NeedFull
            if v is MISSING or v is None:
                return want
            return (isinstance(v, (list, dict)) and len(v) == 0) is want
        return empty
    if kind == "contains":
        tests = [_scalar_test("=", lit) for lit in node.lits]
        combine = all if node.op == "all" else any

        def contains(d: Mapping[str, Any]) -> bool:
            v = get(d)
            if v is COMPLEX:
                raise NeedFull
            if type(v) is not list:
                return False
            return combine(any(t(e) for e in v) for t in tests)
        return contains
    if kind == "within":
        lng, lat, radius = node.numbers

        def within(d: Mapping[str, Any]) -> bool:
            v = get(d)
            if v is COMPLEX:
                raise NeedFull
            try:
                plng, plat = v["coordinates"][:2]
                return _haversine_m(lng, lat, float(plng), float(plat)) <= radius
            except (TypeError, KeyError, ValueError, IndexError):
                return False
        return within
    raise AssertionError(f"unknown node {kind}")


def _haversine_m(lng1: float, lat1: float, lng2: float, lat2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lng2 - lng1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6_371_008.8 * math.asin(math.sqrt(a))


def _needs_full(node: Node) -> bool:
    return node.kind in ("nested", "within") or any(_needs_full(n) for n in node.items)


@dataclass
class Query:
    """All ``where`` parameters of one request, ANDed, compiled once."""

    node: Node | None
    test: Pred | None
    needs_full: bool
    id_after: str | None = None       # lower bound from a top-level ``id > X`` / ``id >= X`` conjunct
    id_after_inclusive: bool = False

    def matches(self, head: Mapping[str, Any], load: Callable[[], Mapping[str, Any]]) -> bool:
        if self.test is None:
            return True
        if self.needs_full:
            return self.test(load())
        try:
            return self.test(head)
        except NeedFull:
            return self.test(load())


def compile_where(wheres: list[str], variables: Mapping[str, list[str]] | None = None) -> Query:
    nodes = [parse(w, variables) for w in wheres]
    if not nodes:
        return Query(None, None, False)
    node = nodes[0] if len(nodes) == 1 else Node("and", items=nodes)
    query = Query(node, compile_node(node), _needs_full(node))
    for conj in _conjuncts(node):
        if conj.kind == "cmp" and conj.field == "id" and conj.op in (">", ">=") and \
                conj.lits[0].kind in ("str", "var"):
            value, inclusive = conj.lits[0].value, conj.op == ">="
            if query.id_after is None or value > query.id_after or (value == query.id_after and not inclusive):
                query.id_after, query.id_after_inclusive = value, inclusive
    return query


def _conjuncts(node: Node) -> list[Node]:
    if node.kind == "and":
        return [c for n in node.items for c in _conjuncts(n)]
    return [node]
