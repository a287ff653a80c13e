"""The terms of the normalised filter AST that every store evaluates (see sites.checker),
and the one definition of CASEI/ACCENTI folding."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from pygeofilter import ast


@dataclass(frozen=True)
class Term:
    """The left side of a normalised predicate: a property, maybe under CASEI/ACCENTI."""

    name: str
    transforms: tuple[str, ...] = ()


@dataclass
class TextSearch(ast.Predicate):
    """Free text: case-insensitive substring of name_zh, name_en, any alias or address_zh."""

    text: str

    def get_sub_nodes(self):
        return []


TEXT_FIELDS = ("name_zh", "name_en", "aliases", "address_zh")


def fold(text: str, transforms) -> str:
    """Apply CASEI / ACCENTI to a text value: the one definition every store uses."""
    for t in transforms:
        if t == "casei":
            text = text.casefold()
        elif t == "accenti":
            text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return text


def and_all(nodes) -> ast.Node | None:
    nodes = [n for n in nodes if n is not None]
    if not nodes:
        return None
    node = nodes[0]
    for nxt in nodes[1:]:
        node = ast.And(node, nxt)
    return node
