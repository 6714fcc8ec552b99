"""Licence parsing: SPDX expressions, free-text licence names, trove classifiers and licence texts.

Everything here answers one question, "may this package be trained on?", in three states:
permissive (True), not permissive (False: a known copyleft, proprietary or simply unlisted
licence) and unknown (None). Unknown evidence lets the caller look at the next, weaker kind of
evidence (License field -> classifiers -> licence files); only a definite answer stops the search.
A package is kept only on a definite True, so anything we cannot read is left out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Iterable, Sequence

# The licences the corpus may contain. "BSD" is the generic name that "BSD License" classifiers
# and `License: BSD` fields give; every BSD variant that lacks the advertising clause is fine.
PERMISSIVE: frozenset[str] = frozenset(
    {
        "MIT",
        "MIT-0",
        "X11",
        "MIT-CMU",
        "BSD",
        "BSD-2-Clause",
        "BSD-3-Clause",
        "0BSD",
        "Apache-2.0",
        "ISC",
        "PSF-2.0",
        "Python-2.0",
        "Python-2.0.1",
        "CNRI-Python",
        "Unlicense",
        "Zlib",
        "CC0-1.0",
        "HPND",
        "BlueOak-1.0.0",
        # Boost: as permissive as MIT (no attribution needed in binaries); torch's expression names it.
        "BSL-1.0",
    }
)

# Recognised licences that are not on the list. They are a definite "no" (so no weaker evidence
# overrides them) but with a different reason than copyleft.
KNOWN_OTHER: frozenset[str] = frozenset(
    {
        "Apache-1.0",
        "Apache-1.1",
        "BSD-4-Clause",
        "BSD-1-Clause",
        "WTFPL",
        "Artistic-1.0",
        "Artistic-2.0",
        "CC-BY-3.0",
        "CC-BY-4.0",
        "OFL-1.1",
        "Unicode-DFS-2016",
        "Unicode-3.0",
        "Ruby",
        "Vim",
        "Beerware",
    }
)

# Copyleft / proprietary families, matched on the id prefix so that every version and
# "-only"/"-or-later"/"+" form is covered.
_NON_PERMISSIVE_ID = re.compile(
    r"^(A?GPL|LGPL|GFDL|MPL|EPL|EUPL|CDDL|CPL|OSL|SSPL|BUSL|CPAL|RPL|QPL|Sleepycat|"
    r"CC-BY-(NC|SA|ND)|Elastic|Proprietary|Commercial|UNLICENSED)",
    re.IGNORECASE,
)

# Free-text names that only copyleft or proprietary licences use. Applied to a single licence
# name (never to a comma-separated list, which often mixes several licences).
_NON_PERMISSIVE_WORDS: Sequence[tuple[re.Pattern[str], str]] = (
    (re.compile(r"affero|\bagpl", re.I), "AGPL"),
    (re.compile(r"lesser general public|library general public|\blgpl", re.I), "LGPL"),
    (re.compile(r"general public licen[cs]e|\bgpl", re.I), "GPL"),
    (re.compile(r"mozilla|\bmpl\b", re.I), "MPL"),
    (re.compile(r"eclipse|\bepl\b", re.I), "EPL"),
    (re.compile(r"\bcddl\b|common development and distribution", re.I), "CDDL"),
    (re.compile(r"server side public|\bsspl\b", re.I), "SSPL"),
    (re.compile(r"\beupl\b|european union public", re.I), "EUPL"),
    (re.compile(r"non-?commercial|share-?alike", re.I), "CC-BY-NC-SA"),
    (re.compile(r"proprietary|commercial|all rights reserved|\bunlicensed\b", re.I), "Proprietary"),
)

# SPDX ids in their canonical spelling, looked up case-insensitively.
_CANONICAL: dict[str, str] = {i.lower(): i for i in PERMISSIVE | KNOWN_OTHER}

# Free-text spellings, compared after _alias_key() has lower-cased them and dropped punctuation,
# "license"/"version" and the like.
_ALIASES: dict[str, str] = {
    "mit": "MIT",
    "expat": "MIT",
    "mit expat": "MIT",
    "mit x11": "MIT",
    "mit style": "MIT",
    "mit 0": "MIT-0",
    "mit no attribution": "MIT-0",
    "x11": "X11",
    "bsd": "BSD",
    "bsd style": "BSD",
    "bsd like": "BSD",
    "bsd 2 clause": "BSD-2-Clause",
    "2 clause bsd": "BSD-2-Clause",
    "bsd 2": "BSD-2-Clause",
    "simplified bsd": "BSD-2-Clause",
    "bsd simplified": "BSD-2-Clause",
    "freebsd": "BSD-2-Clause",
    "bsd 2 clause simplified": "BSD-2-Clause",
    "bsd 3 clause": "BSD-3-Clause",
    "3 clause bsd": "BSD-3-Clause",
    "bsd 3": "BSD-3-Clause",
    "new bsd": "BSD-3-Clause",
    "bsd new": "BSD-3-Clause",
    "modified bsd": "BSD-3-Clause",
    "bsd modified": "BSD-3-Clause",
    "revised bsd": "BSD-3-Clause",
    "bsd revised": "BSD-3-Clause",
    "bsd 3 clause new or revised": "BSD-3-Clause",
    "bsd 3 clause new": "BSD-3-Clause",
    "0bsd": "0BSD",
    "bsd zero clause": "0BSD",
    "zero clause bsd": "0BSD",
    "apache": "Apache-2.0",
    "apache 2": "Apache-2.0",
    "apache 2.0": "Apache-2.0",
    "apache2": "Apache-2.0",
    "apache software": "Apache-2.0",
    "apache software 2.0": "Apache-2.0",
    "apache software 2": "Apache-2.0",
    "asl 2": "Apache-2.0",
    "asl 2.0": "Apache-2.0",
    "asl": "Apache-2.0",
    "al 2.0": "Apache-2.0",
    "isc": "ISC",
    "iscl": "ISC",
    "isc iscl": "ISC",
    "psf": "PSF-2.0",
    "psf 2": "PSF-2.0",
    "psf 2.0": "PSF-2.0",
    "psfl": "PSF-2.0",
    "python software foundation": "PSF-2.0",
    "python software foundation 2": "PSF-2.0",
    "python": "Python-2.0",
    "python 2.0": "Python-2.0",
    "cnri python": "CNRI-Python",
    "unlicense": "Unlicense",
    "unlicense unlicense": "Unlicense",
    "zlib": "Zlib",
    "zlib libpng": "Zlib",
    "cc0": "CC0-1.0",
    "cc0 1.0": "CC0-1.0",
    "cc0 1.0 universal": "CC0-1.0",
    "cc0 1.0 universal public domain dedication": "CC0-1.0",
    "hpnd": "HPND",
    "historical permission notice and disclaimer": "HPND",
    "blueoak 1.0.0": "BlueOak-1.0.0",
    "blue oak model": "BlueOak-1.0.0",
    "blue oak model 1.0.0": "BlueOak-1.0.0",
    "boost software": "BSL-1.0",
    "boost software 1.0": "BSL-1.0",
    "wtfpl": "WTFPL",
    # Not on the list, and not a definite "no" either: a LICENSE file may still say Unlicense or CC0.
    "public domain": "Public-Domain",
    "artistic": "Artistic-2.0",
    "artistic 2.0": "Artistic-2.0",
}

_DROP_WORDS = frozenset({"the", "license", "licensed", "licence", "version", "under", "type", "osi", "approved"})


def _alias_key(text: str) -> str:
    text = text.lower().replace("licence", "license")
    text = re.sub(r"\bv(?=\d)", " ", text)  # "v2.0" / "GPLv3" -> "2.0" / "gpl 3"
    words = re.split(r"[^a-z0-9.+]+", text)
    return " ".join(w.strip(".") for w in words if w.strip(".") and w not in _DROP_WORDS)


def _leaf_id(name: str, keywords: bool = True) -> str | None:
    """Map one licence name (an SPDX id or a free-text name) to an id, or None when unrecognised.

    keywords: also recognise copyleft/proprietary families by words in the name; off for text
    that may still be an expression ("MIT OR GPL-3.0" must not read as just "GPL")."""
    name = name.strip().strip("\"'")
    if not name:
        return None
    canonical = _CANONICAL.get(name.lower())
    if canonical:
        return canonical
    if _NON_PERMISSIVE_ID.match(name) and re.fullmatch(r"[A-Za-z0-9.+-]+", name):
        # A copyleft SPDX id such as GPL-3.0-or-later: keep the author's spelling.
        return name
    key = _alias_key(name)
    if key in _ALIASES:
        return _ALIASES[key]
    without_parens = re.sub(r"\([^)]*\)", " ", name)
    if without_parens != name:
        # "ISC License (ISCL)": the bracket repeats the name as an abbreviation.
        key = _alias_key(without_parens)
        if key in _ALIASES:
            return _ALIASES[key]
    return _family_by_words(name) if keywords else None


def _family_by_words(name: str) -> str | None:
    if re.search(r"[,;]", name):
        return None
    for pattern, family in _NON_PERMISSIVE_WORDS:
        if pattern.search(name):
            return family
    return None


def judge_id(licence_id: str | None) -> bool | None:
    """Tri-state verdict for one licence id."""
    if licence_id is None:
        return None
    if licence_id in PERMISSIVE:
        return True
    if licence_id in KNOWN_OTHER or _NON_PERMISSIVE_ID.match(licence_id):
        return False
    return None


# --- SPDX expressions -------------------------------------------------------------------------


@dataclass(frozen=True)
class Leaf:
    text: str  # as written
    licence_id: str | None  # recognised id, None when unknown
    exception: str | None = None  # the "WITH" exception; it never changes the verdict

    def render(self) -> str:
        base = self.licence_id or self.text
        return f"{base} WITH {self.exception}" if self.exception else base

    def verdict(self) -> bool | None:
        return judge_id(self.licence_id)


@dataclass(frozen=True)
class Op:
    op: str  # "AND" | "OR"
    args: tuple["Node", ...]

    def render(self) -> str:
        parts = []
        for arg in self.args:
            text = arg.render()
            # AND binds tighter than OR, so only an OR inside an AND needs brackets.
            if isinstance(arg, Op) and arg.op == "OR" and self.op == "AND":
                text = f"({text})"
            parts.append(text)
        return f" {self.op} ".join(parts)

    def verdict(self) -> bool | None:
        votes = [a.verdict() for a in self.args]
        if self.op == "OR":
            if any(v is True for v in votes):
                return True
            return False if all(v is False for v in votes) else None
        if any(v is False for v in votes):
            return False
        return True if all(v is True for v in votes) else None


Node = Leaf | Op


class ExpressionError(ValueError):
    pass


def _tokenise(text: str) -> list[str]:
    return re.findall(r"\(|\)|[^\s()]+", text)


class _Parser:
    """Recursive descent over SPDX syntax, lenient enough for npm and PyPI habits: operators in any
    case and multi-word licence names ("Apache License 2.0 OR MIT")."""

    def __init__(self, tokens: list[str]) -> None:
        self.tokens = tokens
        self.pos = 0

    def _peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def _is_op(self, token: str | None, op: str) -> bool:
        return token is not None and token.upper() == op

    def parse(self) -> Node:
        node = self._or()
        if self._peek() is not None:
            raise ExpressionError(f"unexpected {self._peek()!r}")
        return node

    def _or(self) -> Node:
        args = [self._and()]
        while self._is_op(self._peek(), "OR"):
            self.pos += 1
            args.append(self._and())
        return args[0] if len(args) == 1 else Op("OR", tuple(args))

    def _and(self) -> Node:
        args = [self._with()]
        while self._is_op(self._peek(), "AND"):
            self.pos += 1
            args.append(self._with())
        return args[0] if len(args) == 1 else Op("AND", tuple(args))

    def _words(self) -> str:
        words = []
        while (tok := self._peek()) is not None and tok not in "()" and tok.upper() not in ("AND", "OR", "WITH"):
            words.append(tok)
            self.pos += 1
        return " ".join(words)

    def _with(self) -> Node:
        node = self._atom()
        if self._is_op(self._peek(), "WITH"):
            self.pos += 1
            exception = self._words()
            if not exception or not isinstance(node, Leaf):
                raise ExpressionError("WITH needs a licence on the left and an exception on the right")
            node = Leaf(node.text, node.licence_id, exception)
        return node

    def _atom(self) -> Node:
        tok = self._peek()
        if tok == "(":
            self.pos += 1
            node = self._or()
            if self._peek() != ")":
                raise ExpressionError("unbalanced parenthesis")
            self.pos += 1
            return node
        words = self._words()
        if not words:
            raise ExpressionError(f"expected a licence at {tok!r}")
        return Leaf(words, _leaf_id(words))


def parse_expression(text: str) -> Node:
    """Parse an SPDX expression or a single free-text licence name."""
    text = text.strip()
    if not text:
        raise ExpressionError("empty licence expression")
    # A whole free-text name first: "ISC License (ISCL)" has brackets that are not grouping, and
    # "Historical Permission Notice and Disclaimer" has an "and" that is not an operator.
    whole = _leaf_id(text, keywords=False)
    if whole is not None:
        return Leaf(text, whole)
    try:
        node = _Parser(_tokenise(text)).parse()
    except ExpressionError:
        node = None
    if node is not None and node.verdict() is not None:
        return node
    # Prose that names a copyleft licence ("GNU Library or Lesser General Public License (LGPL)").
    family = _family_by_words(text)
    if family is not None:
        return Leaf(text, family)
    if node is None:
        raise ExpressionError(f"not a licence expression: {text!r}")
    return node


# --- verdicts ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class LicenceVerdict:
    expression: str  # normalised, e.g. "MIT OR GPL-3.0-only"; "UNKNOWN" when nothing was found
    permissive: bool
    origin: str  # where it was read: "License-Expression", "classifier", "file:LICENSE", ...
    detail: str = ""  # why it was rejected, for the report

    def reason(self) -> str:
        return f"{self.expression} (from {self.origin})" + (f": {self.detail}" if self.detail else "")


def _verdict_from_node(node: Node, origin: str) -> LicenceVerdict | None:
    verdict = node.verdict()
    if verdict is None:
        return None
    expression = node.render()
    detail = "" if verdict else "not a permissive licence"
    return LicenceVerdict(expression, verdict, origin, detail)


def verdict_from_expression(text: str | None, origin: str) -> LicenceVerdict | None:
    """A definite verdict for a declared licence, or None when it says nothing we recognise."""
    if not text or not text.strip():
        return None
    text = text.strip()
    if "\n" in text or len(text) > 300:
        # Some packages paste the whole licence text into the License field.
        return verdict_from_texts([(origin, text)], origin=origin)
    try:
        node = parse_expression(text)
    except ExpressionError:
        node = None
    if node is not None:
        result = _verdict_from_node(node, origin)
        if result is not None:
            return result
    if "/" in text and not re.search(r"\s(and|or|with)\s", text, re.I):
        # Old npm / PyPI habit for dual licensing: "MIT/Apache-2.0".
        parts = [p for p in text.split("/") if p.strip()]
        leaves = tuple(Leaf(p.strip(), _leaf_id(p)) for p in parts)
        if len(leaves) > 1:
            return _verdict_from_node(Op("OR", leaves), origin)
    return None


def verdict_from_classifiers(classifiers: Iterable[str]) -> LicenceVerdict | None:
    """Trove "License ::" classifiers; several of them mean the author offers each (OR)."""
    leaves: list[Leaf] = []
    seen: set[str] = set()
    for classifier in classifiers:
        parts = [p.strip() for p in classifier.split("::")]
        if len(parts) < 2 or parts[0] != "License":
            continue
        name = parts[-1]
        if name == "OSI Approved":
            continue  # says nothing about which licence
        licence_id = _leaf_id(name)
        key = licence_id or name
        if key not in seen:
            seen.add(key)
            leaves.append(Leaf(name, licence_id))
    if not leaves:
        return None
    node: Node = leaves[0] if len(leaves) == 1 else Op("OR", tuple(leaves))
    return _verdict_from_node(node, "classifier")


# --- licence texts ----------------------------------------------------------------------------


def _norm_text(text: str) -> str:
    return " " + " ".join(re.findall(r"[a-z0-9]+", text.lower())) + " "


# (id, phrases that identify it); phrases are in _norm_text form. Order matters only for ties.
_TEXT_MARKERS: Sequence[tuple[str, tuple[str, ...]]] = (
    ("AGPL", ("gnu affero general public license",)),
    ("LGPL", ("gnu lesser general public license", "gnu library general public license")),
    ("GPL", ("gnu general public license",)),
    ("MPL", ("mozilla public license",)),
    ("EPL", ("eclipse public license",)),
    ("CDDL", ("common development and distribution license",)),
    ("SSPL", ("server side public license",)),
    ("PSF-2.0", ("python software foundation license version 2", "psf license agreement")),
    ("Apache-2.0", ("apache license version 2 0", "licensed under the apache license")),
    ("MIT", ("permission is hereby granted free of charge to any person obtaining a copy",)),
    ("BSD", ("redistribution and use in source and binary forms with or without modification are permitted",)),
    (
        "ISC",
        (
            "permission to use copy modify and or distribute this software for any purpose with or without fee",
            "permission to use copy modify and distribute this software for any purpose with or without fee",
        ),
    ),
    ("HPND", ("permission to use copy modify and distribute this software and its documentation for any purpose",)),
    ("Unlicense", ("this is free and unencumbered software released into the public domain",)),
    ("Zlib", ("permission is granted to anyone to use this software for any purpose including commercial applications",)),
    ("CC0-1.0", ("cc0 1 0 universal", "creative commons cc0")),
    ("BlueOak-1.0.0", ("blue oak model license",)),
)


def _refine(licence_id: str, norm: str) -> str:
    """Tell variants apart that share their opening phrase."""
    if licence_id == "BSD":
        if "all advertising materials mentioning" in norm:
            return "BSD-4-Clause"
        if "endorse or promote" in norm or "neither the name" in norm:
            return "BSD-3-Clause"
        return "BSD-2-Clause"
    if licence_id == "MIT" and "shall be included in all copies" not in norm:
        return "MIT-0"
    if licence_id == "ISC" and "provided that the above copyright notice and this permission notice appear in all copies" not in norm:
        return "0BSD"
    return licence_id


def recognise_licence_text(text: str) -> str | None:
    """The licence a LICENSE/COPYING text is, by its wording; None when unrecognised.

    When a file holds several licences (a main one, then those of bundled code), the one that
    starts first is the package's own.
    """
    norm = _norm_text(text)
    best: tuple[int, str] | None = None
    for licence_id, phrases in _TEXT_MARKERS:
        for phrase in phrases:
            pos = norm.find(" " + phrase + " ")
            if pos >= 0 and (best is None or pos < best[0]):
                best = (pos, licence_id)
    if best is None:
        return None
    return _refine(best[1], norm)


def verdict_from_texts(named_texts: Sequence[tuple[str, str]], origin: str | None = None) -> LicenceVerdict | None:
    """Licence files of one package. Several recognised files must all be permissive (AND): a
    package that ships a GPL file next to an MIT one is not one we can use without reading it."""
    leaves: list[Leaf] = []
    names: list[str] = []
    seen: set[str] = set()
    for name, text in named_texts:
        licence_id = recognise_licence_text(text)
        if licence_id is None:
            continue
        names.append(name)
        if licence_id not in seen:
            seen.add(licence_id)
            leaves.append(Leaf(licence_id, licence_id))
    if not leaves:
        return None
    node: Node = leaves[0] if len(leaves) == 1 else Op("AND", tuple(leaves))
    return _verdict_from_node(node, origin or "file:" + ",".join(names))


@dataclass
class LicenceEvidence:
    """What a package says about its licence, strongest first."""

    expression: str | None = None  # License-Expression (PEP 639) or package.json "license"
    declared: str | None = None  # the older free-text License field
    classifiers: list[str] = field(default_factory=list)
    files: list[tuple[str, str]] = field(default_factory=list)  # (name, text) of licence files
    expression_origin: str = "License-Expression"


def resolve_licence(evidence: LicenceEvidence) -> LicenceVerdict:
    """The first definite verdict, strongest evidence first; unknown when there is none."""
    for candidate in (
        lambda: verdict_from_expression(evidence.expression, evidence.expression_origin),
        lambda: verdict_from_expression(evidence.declared, "License"),
        lambda: verdict_from_classifiers(evidence.classifiers),
        lambda: verdict_from_texts(evidence.files),
    ):
        result = candidate()
        if result is not None:
            return result
    said = evidence.expression or evidence.declared
    if said and said.strip() and "\n" not in said.strip():
        return LicenceVerdict(said.strip()[:120], False, "declared", "unrecognised licence")
    if evidence.classifiers:
        return LicenceVerdict("UNKNOWN", False, "classifier", "classifiers name no listed licence: " + "; ".join(evidence.classifiers)[:200])
    if evidence.files:
        return LicenceVerdict("UNKNOWN", False, "files", "licence text not recognised: " + ", ".join(n for n, _ in evidence.files)[:200])
    return LicenceVerdict("UNKNOWN", False, "none", "no licence information")


LICENCE_FILE = re.compile(r"^(LICEN[CS]E|COPYING|COPYRIGHT|UNLICENSE)([._-].*)?$", re.IGNORECASE)


def is_licence_file_name(name: str) -> bool:
    return bool(LICENCE_FILE.match(name))
