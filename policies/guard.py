"""Guard v1: checks every outbound draft before it can be sent (pure).

Two families of checks:

- Forbidden language (`forbidden.*`), from the data lexicon `policies/lexicon/forbidden.yaml`:
  threats (seizure, jail, legal action, blacklisting, visits), pressure through third parties,
  insults, shaming, false urgency, impersonation of a court, lawyer or authority. Matching runs
  on a normalised copy of the draft (case, accents, spacing and light obfuscation undone), and
  a negated threat in the same clause ("no habrá ningún embargo") is not a threat. The lexicon
  names shared vocabularies once (`macros`: relatives, workmates, the debtor's places, field
  agents...) and a category may depend on the context (`unless`: "vence hoy" is urgency only
  when no allowed date is today). A pronoun rule counts only after the person it points at
  (`after`: "tu papá ... le vamos a mandar un correo"), and a third-party match about people
  the policy pack excepts is legal (`pack_exceptions`: a guarantor the draft names as such,
  the spouse in the US). A second conjunct with no subject of its own shares a negation
  ("nobody will visit your home or contact your employer"). Outcome: `block`.
- Figures (`figures.*`): every amount, percentage, count of installments, date and bare number
  in the draft must be one the context allows, including counts said with words ("media
  docena de cuotas", "un par de pagos", "en un semestre" of monthly payments, "three easy
  monthly payments", "treinta y seis cuotas", "siete armadas") or by rank ("hasta la sexta
  cuota", "la sexta cuota ... y con eso queda a paz y salvo"); "cada dos semanas" is a frequency,
  not a count, and a date without a year may be the next one. Outcome: `redraft` (a template
  bug or an LLM slip).

`length.*` violations (empty or too long) are also `redraft`.

Speed: lexicon alternations are matched at token starts only and skip the alternatives whose
required words the draft lacks (`_TokenPattern`); word lists are prefix trees (`_trie`);
digit patterns start with the digit. None of this changes what matches.

Rule ids:
    forbidden.threat.seizure, forbidden.threat.jail, forbidden.threat.legal,
    forbidden.threat.blacklist, forbidden.threat.visit, forbidden.pressure.third_party,
    forbidden.insult, forbidden.shaming, forbidden.false_urgency, forbidden.impersonation,
    figures.unknown_amount, figures.wrong_currency, figures.unknown_percent,
    figures.unknown_count, figures.unknown_date, figures.unknown_option,
    figures.unknown_number, length.empty, length.too_long
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path
from re import _constants as _sre  # the regex parser, to read what a lexicon pattern needs
from re import _parser as _sre_parse
from typing import Literal, NamedTuple

import yaml
from babel.numbers import get_decimal_symbol
from pydantic import BaseModel, Field

from policies.numbers import SCALES, TENS, UNITS, WORD_VALUES, parse_word_run

LEXICON_PATH = Path(__file__).parent / "lexicon" / "forbidden.yaml"

Outcome = Literal["pass", "redraft", "block"]

# Never sent, whatever the rewording: the message itself would be the harm. Figures, missing
# disclosures and format slips are `redraft`: the same message, written correctly, is fine.
BLOCKING_FAMILIES = ("forbidden.", "promise.", "identity.")


class GuardContext(BaseModel):
    """Every figure a draft may legitimately contain, plus how to read it."""

    currency: str = "MXN"  # ISO 4217
    locale: str = "es_MX"  # decides how "4.500" / "4,500" is read when ambiguous
    today: date | None = None  # resolves dates written without a year
    allowed_amounts: set[Decimal] = Field(default_factory=set)
    allowed_percentages: set[Decimal] = Field(default_factory=set)  # in points: 15 = 15 %
    allowed_counts: set[int] = Field(default_factory=set)  # installments, payments, days
    # The numbers of payments of the plans on the table (and 1). When given, a count of
    # installments ("8 cuotas") or an installment's rank ("la octava cuota") is checked against
    # these alone: the days past due is a count of days, never of payments.
    installment_counts: set[int] = Field(default_factory=set)
    allowed_dates: set[date] = Field(default_factory=set)
    allowed_options: set[int] = Field(default_factory=set)  # option numbers shown; empty = any
    allowed_numbers: set[Decimal] = Field(default_factory=set)  # other bare numbers allowed
    allowed_literals: set[str] = Field(default_factory=set)  # quoted verbatim (references)
    max_chars: int | None = 4096  # WhatsApp's limit for a text body
    # Conversation facts for the identity, promise and disclosure checks.
    pack: str | None = None  # policy pack code ("mx", "us"...): its disclosure rules apply
    first_contact: bool = False  # this message first discloses the debt: disclosures required
    identity_confirmed: bool = True  # False: nothing about the debt may be said yet
    wrong_party: bool = False  # the person is not the debtor: nothing about the debt, ever
    creditor: str | None = None  # the creditor's name, to be stated on first contact
    interest_free: bool = False  # the offer itself is interest-free, so saying so is true
    button_titles: list[str] = Field(default_factory=list)  # reply buttons sent with the draft

    @property
    def deadline_today(self) -> bool:
        """A date the context allows is today, so "it ends today / tonight" can be true."""
        return self.today is not None and self.today in self.allowed_dates


class Violation(BaseModel):
    rule_id: str
    span: tuple[int, int]  # [start, end) in the draft
    text: str
    message: str


class Verdict(BaseModel):
    outcome: Outcome
    violations: list[Violation] = Field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.outcome == "pass"

    @property
    def rule_ids(self) -> list[str]:
        return sorted({v.rule_id for v in self.violations})


def check(draft: str, context: GuardContext) -> Verdict:
    """Check one draft against the forbidden lexicon and the allowed figures."""
    violations = _length_violations(draft, context)
    if violations:  # empty, or too long to send: it is redrafted whatever else it says
        return Verdict(outcome="redraft", violations=violations)
    violations += find_forbidden(draft, context=context)
    violations += find_figure_violations(draft, context)
    violations += find_conversation_violations(draft, context)
    violations.sort(key=lambda v: (v.span[0], v.span[1], v.rule_id))
    if any(v.rule_id.startswith(BLOCKING_FAMILIES) for v in violations):
        outcome: Outcome = "block"
    elif violations:
        outcome = "redraft"
    else:
        outcome = "pass"
    return Verdict(outcome=outcome, violations=violations)


def _length_violations(draft: str, context: GuardContext) -> list[Violation]:
    if not draft.strip():
        return [
            Violation(
                rule_id="length.empty",
                span=(0, len(draft)),
                text=draft,
                message="The draft is empty.",
            )
        ]
    if context.max_chars is not None and len(draft) > context.max_chars:
        return [
            Violation(
                rule_id="length.too_long",
                span=(context.max_chars, len(draft)),
                text=draft[context.max_chars :],
                message=f"The draft has {len(draft)} characters (limit {context.max_chars}).",
            )
        ]
    return []


# --------------------------------------------------------------------------------------------
# Forbidden language
# --------------------------------------------------------------------------------------------

_MACROS = {"{gap}": r"(?: \w+){0,3}", "{gap6}": r"(?: \w+){0,6}"}
_BOUNDARY = "|"


@dataclass(frozen=True)
class _Category:
    rule_id: str
    message: str
    negatable: bool
    pattern: _TokenPattern
    # "always", or "identity_unconfirmed": only while the person may not be the debtor
    scope: str = "always"
    unless: str | None = None  # a true GuardContext flag of this name makes the match legal
    # A pronoun rule ("le vamos a mandar el link"): it counts only when `after` (the person it
    # refers to, "tu papá") matched in the `within` tokens before it.
    after: _TokenPattern | None = None
    within: int = 0
    # A match about a person the pack excepts (a guarantor, the US spouse...) is legal.
    pack_exceptions: bool = False

    def applies(self, context: GuardContext | None) -> bool:
        if context is None:
            return self.scope == "always"
        if self.unless and getattr(context, self.unless):
            return False
        return self.scope == "always" or not _debtor_confirmed(context)


@dataclass(frozen=True)
class _Roles:
    """Who a pack's third-party exceptions name (lexicon `third_party_roles`)."""

    nouns: tuple[tuple[str, re.Pattern[str]], ...]  # (role, the words naming it: "aval")
    people: re.Pattern[str]  # any person around the debtor ("tu hermano", "el portero")
    statement: str  # "{person} ... figura como {role}": binds a person to a role
    void: re.Pattern[str] | None  # a pressure condition: no exception then ("si no pagas")


@dataclass(frozen=True)
class _Lexicon:
    categories: tuple[_Category, ...]
    allow: _TokenPattern | None
    negators: frozenset[str]
    conditional_before_negator: frozenset[str]
    bridge: frozenset[str]
    conditionals: frozenset[str]
    roles: _Roles | None = None
    finder: _NeedleFinder | None = None  # None: every alternative is run


_MACRO_RE = re.compile(r"\{(\w+)\}")


def _expand(pattern: str, macros: dict[str, str] | None = None) -> str:
    """Replace {gap}, {gap6} and the lexicon's own named vocabularies ({relative}, {place}...).

    A lexicon macro may use other macros; an unknown name is an error in the lexicon.
    """
    for macro, body in _MACROS.items():
        pattern = pattern.replace(macro, body)
    if not macros:
        return pattern
    for _ in range(8):  # macros may nest a few levels
        expanded = _MACRO_RE.sub(lambda m: _macro_body(m, macros), pattern)
        if expanded == pattern:
            return expanded
        pattern = expanded
    raise ValueError(f"lexicon macros nest too deeply: {pattern[:80]}")


def _macro_body(match: re.Match[str], macros: dict[str, str]) -> str:
    name = match.group(1)
    if name.isdigit() or "," in name:  # a regex repeat such as \w{2} is not a macro
        return match.group()
    if name not in macros:
        raise ValueError(f"unknown lexicon macro {{{name}}}")
    return f"(?:{macros[name]})"


def _alternation(patterns: Iterable[str], macros: dict[str, str] | None = None) -> re.Pattern[str]:
    body = "|".join(f"(?:{_expand(p, macros)})" for p in patterns)
    # The normalised draft is tokens joined by single spaces, so a match starts where a space
    # (or the text) ends: the same as a leading \b there, and cheaper to test at every position.
    return re.compile(rf"(?<![^ ])(?:{body})\b")


def _trie(words: Iterable[str]) -> str:
    """One alternation of `words` as a prefix tree, longest reading first.

    Matches exactly what "|".join(sorted(words, key=len, reverse=True)) matches, in the same
    order of preference (a longer word before its prefixes), but the regex engine tests one
    branch per first letter instead of every word at every position.
    """
    tree: dict[str, dict] = {}
    for word in words:
        node = tree
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}  # a word ends here
    return _trie_body(tree)


def _trie_body(node: dict[str, dict]) -> str:
    branches = [re.escape(c) + _trie_body(child) for c, child in sorted(node.items()) if c]
    if "" in node:
        branches.append("")  # ending here is the last choice: longer words first
    if len(branches) == 1:
        return branches[0]
    return "(?:" + "|".join(branches) + ")"


@dataclass(frozen=True)
class _TokenPattern:
    """A lexicon alternation matched at token starts of a normalised draft.

    Each alternative is compiled on its own with a leading space, and run on the draft with
    one space put in front (the regex engine then jumps from space to space, a literal prefix,
    instead of testing a lookbehind at every character). Most alternatives need a word the
    draft does not have (see `_needs`): only the others are run, and their matches are merged
    as one alternation would find them: leftmost first, the earlier alternative at the same
    position, no overlaps. The result is the same as `_alternation`'s.
    """

    regexes: tuple[re.Pattern[str], ...]  # one per alternative, in the lexicon's order
    by_needle: dict[str, tuple[int, ...]]  # a needed string -> the alternatives needing it
    always: frozenset[int]  # alternatives with no known needed string: always run

    @classmethod
    def of(cls, patterns: Iterable[str], macros: dict[str, str] | None = None) -> _TokenPattern:
        expanded = [_expand(p, macros) for p in patterns]
        by_needle: dict[str, list[int]] = {}
        always: set[int] = set()
        for i, pattern in enumerate(expanded):
            needed = _needs(pattern)
            if not needed:
                always.add(i)
            for needle in needed or ():
                by_needle.setdefault(needle, []).append(i)
        return cls(
            tuple(re.compile(rf" (?:{p})\b") for p in expanded),
            {n: tuple(ids) for n, ids in by_needle.items()},
            frozenset(always),
        )

    def scan(self, padded: str, present: set[str] | None) -> list[tuple[int, int, str]]:
        """(start, end, text) of each match in `padded` = " " + norm, in norm's offsets.

        `present`: the needed strings the draft contains (`_NeedleFinder.present`); None runs
        every alternative.
        """
        if present is None:
            active = set(range(len(self.regexes)))
        else:
            active = set(self.always)
            for needle in present:
                active.update(self.by_needle.get(needle, ()))
        if len(active) <= 1:
            found = [m for i in active for m in self.regexes[i].finditer(padded)]
        else:
            found = _merged(sorted(active), self.regexes, padded)
        return [(m.start(), m.end() - 1, m.group()[1:]) for m in found]


def _merged(
    active: Sequence[int], regexes: Sequence[re.Pattern[str]], text: str
) -> list[re.Match[str]]:
    """The matches "|".join(alternatives) would find, from each alternative's own regex.

    Each alternative's next match at or after `pos` is kept until `pos` passes its start;
    the leftmost wins, and at the same start the earlier alternative (the lexicon's order).
    """
    upcoming = {i: regexes[i].search(text) for i in active}
    out: list[re.Match[str]] = []
    pos = 0
    while True:
        best: re.Match[str] | None = None
        for i in active:
            m = upcoming[i]
            if m is not None and m.start() < pos:
                m = upcoming[i] = regexes[i].search(text, pos)
            if m is not None and (best is None or m.start() < best.start()):
                best = m
        if best is None:
            return out
        out.append(best)
        pos = best.end()


@dataclass(frozen=True)
class _NeedleFinder:
    """Finds, in one pass, which of the lexicon's needed strings a draft contains."""

    regex: re.Pattern[str] | None  # a needed string starting at any position (overlapping)
    prefixes: dict[str, tuple[str, ...]]  # a found string -> the needed strings it begins with

    @classmethod
    def of(cls, patterns: Iterable[_TokenPattern]) -> _NeedleFinder:
        needles = {n for p in patterns for n in p.by_needle}
        if not needles:
            return cls(None, {})
        prefixes = {
            n: tuple(n[:k] for k in range(1, len(n) + 1) if n[:k] in needles) for n in needles
        }
        # The longest needle at each position: the shorter ones there are its prefixes.
        return cls(re.compile("(?=(" + _trie(needles) + "))"), prefixes)

    def present(self, padded: str) -> set[str]:
        out: set[str] = set()
        if self.regex is not None:
            for found in set(self.regex.findall(padded)):
                out.update(self.prefixes[found])
        return out


def _needs(pattern: str) -> set[str] | None:
    """Strings of which every match of `pattern` contains one, or None if unknown.

    Read from the parsed regex: a run of literal characters must appear as written; a group
    needs what its best item needs; alternatives need one of their branches' strings; a
    repeat needs its body only when it repeats at least once. Anything else (a class, \\w, a
    lookaround, an inline flag) needs nothing, so it is only ever a reason to run more.
    """
    try:
        parsed = _sre_parse.parse(pattern)
    except Exception:  # an unexpected construct: always run, the regex decides
        return None
    if parsed.state.flags & re.IGNORECASE:
        return None
    return _needed_by_sequence(parsed)


def _needed_by_sequence(items: Iterable[tuple[object, object]]) -> set[str] | None:
    options: list[set[str]] = []
    run: list[str] = []
    for op, av in items:
        if op is _sre.LITERAL:
            run.append(chr(av))  # type: ignore[arg-type]
            continue
        if run:
            options.append({"".join(run)})
            run = []
        needed = _needed_by_item(op, av)
        if needed:
            options.append(needed)
    if run:
        options.append({"".join(run)})
    # The most telling requirement: its shortest string the longest, then the fewest strings.
    return max(options, key=lambda o: (min(map(len, o)), -len(o)), default=None)


def _needed_by_item(op: object, av: object) -> set[str] | None:
    if op is _sre.SUBPATTERN:
        _, add_flags, del_flags, sub = av  # type: ignore[misc]
        return None if add_flags or del_flags else _needed_by_sequence(sub)
    if op is _sre.BRANCH:
        union: set[str] = set()
        for branch in av[1]:  # type: ignore[index]
            needed = _needed_by_sequence(branch)
            if not needed:
                return None
            union |= needed
        return union
    if op in (_sre.MAX_REPEAT, _sre.MIN_REPEAT, _sre.POSSESSIVE_REPEAT):
        low, _, body = av  # type: ignore[misc]
        return _needed_by_sequence(body) if low >= 1 else None
    return None


@lru_cache(maxsize=8)
def load_lexicon(path: Path = LEXICON_PATH) -> _Lexicon:
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    macros = {str(k): str(v) for k, v in (data.get("macros") or {}).items()}
    categories = tuple(
        _Category(
            rule_id=c["id"],
            message=c.get("message", c["id"]),
            negatable=bool(c.get("negatable", False)),
            pattern=_TokenPattern.of(c["patterns"], macros),
            scope=c.get("scope", "always"),
            unless=c.get("unless"),
            after=_TokenPattern.of([c["after"]], macros) if c.get("after") else None,
            within=int(c.get("within", 0)),
            pack_exceptions=bool(c.get("pack_exceptions", False)),
        )
        for c in data["categories"]
    )
    allow = data.get("allow") or []

    def words(key: str) -> frozenset[str]:
        return frozenset(str(w).lower() for w in data.get(key) or [])

    roles = None
    if spec := data.get("third_party_roles"):
        nouns = tuple(
            (str(role), re.compile(rf"\b(?:{_expand(str(body), macros)})\b"))
            for role, body in (spec.get("nouns") or {}).items()
        )
        roles = _Roles(
            nouns=nouns,
            people=_alternation([str(spec["people"])], macros),
            statement=_expand(str(spec["statement"]), macros),
            void=_alternation(spec["void"], macros) if spec.get("void") else None,
        )

    allowed = _TokenPattern.of(allow, macros) if allow else None
    patterns = [c.pattern for c in categories] + [c.after for c in categories if c.after]
    return _Lexicon(
        categories=categories,
        allow=allowed,
        negators=words("negators"),
        conditional_before_negator=words("conditional_before_negator"),
        bridge=words("bridge"),
        conditionals=words("conditionals"),
        roles=roles,
        finder=_NeedleFinder.of(patterns + ([allowed] if allowed else [])),
    )


_WORD_CHAR = r"(?:[^\W_]|[@$\u0300-\u036f])"
_TOKEN_RE = re.compile(
    # "e m b a r g o", "e.m.b.a.r.g.o", "c-4-r-c-e-l": three or more single characters.
    # The separator must repeat exactly, so "a E.M.B.A.R.G.O" keeps "a" apart.
    rf"(?P<spaced>(?<![^\W_]){_WORD_CHAR}(?P<sep>[\s.\-_*·]{{1,3}}){_WORD_CHAR}(?![^\W_])"
    rf"(?:(?P=sep){_WORD_CHAR}(?![^\W_]))+)"
    # a word, possibly with joiners inside ("em-bargo", "c*rcel", "won't")
    rf"|(?P<word>{_WORD_CHAR}+(?:[-_*·'’]+{_WORD_CHAR}+)*)"
    # a clause break
    r"|(?P<boundary>[.,;:!?¿¡()\[\]{}\"“”«»\n\r|/…]+)"
)
_LEET = str.maketrans(
    {"4": "a", "@": "a", "3": "e", "1": "i", "0": "o", "5": "s", "$": "s", "7": "t"}
)
_REPEATS = re.compile(r"(.)\1{2,}")
_NON_WORD = re.compile(r"[\s.\-_*·'’]+")


@lru_cache(maxsize=65536)  # drafts repeat words; normalising is most of a check's time
def _normalise_token(raw: str) -> str:
    text = unicodedata.normalize("NFD", raw.casefold())
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = _NON_WORD.sub("", text)
    if any(c.isalpha() for c in text):
        text = text.translate(_LEET)
    return _REPEATS.sub(r"\1", text)


class _Token(NamedTuple):  # a tuple: built for every word of every draft, so cheap to make
    norm: str
    start: int  # in the draft
    end: int


@lru_cache(maxsize=16)  # the forbidden and the disclosure checks read the same draft's tokens
def _tokenise(draft: str) -> tuple[_Token, ...]:
    return tuple(_tokenise_uncached(draft))


def _tokenise_uncached(draft: str) -> list[_Token]:
    tokens: list[_Token] = []
    for m in _TOKEN_RE.finditer(draft):
        if m.lastgroup == "boundary":
            if not tokens or tokens[-1].norm != _BOUNDARY:
                tokens.append(_Token(_BOUNDARY, m.start(), m.end()))
            continue
        norm = _normalise_token(m.group())
        if norm:
            tokens.append(_Token(norm, m.start(), m.end()))
    return tokens


def find_forbidden(
    draft: str, lexicon: _Lexicon | None = None, context: GuardContext | None = None
) -> list[Violation]:
    """Lexicon violations in a draft (negated threats excluded).

    Without a context only the categories that apply everywhere are checked.
    """
    lex = lexicon or load_lexicon()
    tokens = _tokenise(draft)
    if not tokens:
        return []
    starts: list[int] = []
    pieces: list[str] = []
    pos = 0
    for tok in tokens:
        starts.append(pos)
        pieces.append(tok.norm)
        pos += len(tok.norm) + 1
    norm = " ".join(pieces)

    def token_range(a: int, b: int) -> tuple[int, int]:
        first = bisect.bisect_right(starts, a) - 1
        last = bisect.bisect_right(starts, max(a, b - 1)) - 1
        return first, last

    padded = " " + norm
    present = lex.finder.present(padded) if lex.finder is not None else None
    allowed: list[tuple[int, int]] = []
    if lex.allow is not None:
        allowed = [(a, b) for a, b, _ in lex.allow.scan(padded, present)]
    excepted: _Excepted | None = None

    out: list[Violation] = []
    for cat in lex.categories:
        if not cat.applies(context):
            continue
        antecedents: list[tuple[int, int, str]] | None = None
        if cat.after is not None:
            antecedents = cat.after.scan(padded, present)
            if not antecedents:  # nobody the pronouns could point at
                continue
        for start, end, text in cat.pattern.scan(padded, present):
            if end == start:
                continue
            if any(a <= start and end <= b for a, b in allowed):
                continue
            first, last = token_range(start, end)
            antecedent = ""
            if antecedents is not None:
                found = _antecedent(antecedents, start, first, cat.within, token_range)
                if found is None:
                    continue
                antecedent = found
            if cat.negatable and _is_negated(tokens, first, last, lex, draft):
                continue
            if cat.pack_exceptions and context is not None and context.pack:
                if excepted is None:
                    excepted = _excepted(norm, context.pack, lex.roles)
                if excepted.excuses(f"{antecedent} {text}"):
                    continue
            span = (tokens[first].start, tokens[last].end)
            out.append(
                Violation(
                    rule_id=cat.rule_id,
                    span=span,
                    text=draft[span[0] : span[1]],
                    message=cat.message,
                )
            )
    return out


def _antecedent(
    antecedents: Sequence[tuple[int, int, str]],
    start: int,
    first: int,
    within: int,
    token_range: Callable[[int, int], tuple[int, int]],
) -> str | None:
    """The text of the nearest antecedent ending before `start`, at most `within` tokens back."""
    for a_start, a_end, a_text in reversed(antecedents):
        if a_end > start:
            continue
        _, a_last = token_range(a_start, a_end)
        return a_text if first - a_last <= within else None
    return None


def _pack_exceptions(pack: str) -> frozenset[str]:
    from policies.packs import PackError, load_pack  # packs import nothing from here

    try:
        return frozenset(load_pack(pack).third_party.exceptions)
    except PackError:
        return frozenset()


@dataclass(frozen=True)
class _Excepted:
    """The people a draft may speak of under its pack's third-party exceptions."""

    people: re.Pattern[str] | None  # any person around the debtor
    nouns: tuple[re.Pattern[str], ...] = ()  # the excepted roles the draft names ("aval")
    bound: frozenset[str] = frozenset()  # people named in such a role ("tu hermano ... aval")
    others: bool = True  # the draft also names someone the pack does not except

    def is_excepted(self, person: str) -> bool:
        return person in self.bound or any(n.fullmatch(person) for n in self.nouns)

    def excuses(self, text: str) -> bool:
        """Whether a match (with the person it refers to) is about excepted people only."""
        if self.people is None or not self.nouns:
            return False
        people = [m.group().split()[-1] for m in self.people.finditer(text)]
        if people:
            return all(self.is_excepted(p) for p in people)
        return not self.others  # "le escribimos a él": the person is named elsewhere


@lru_cache(maxsize=256)
def _excepted(norm: str, pack: str, roles: _Roles | None) -> _Excepted:
    exceptions = _pack_exceptions(pack)
    if roles is None or not exceptions or (roles.void and roles.void.search(norm)):
        return _Excepted(None)
    nouns = tuple(p for role, p in roles.nouns if role in exceptions and p.search(norm))
    if not nouns:
        return _Excepted(None)
    role_words = "|".join(n.pattern for n in nouns)
    statement = re.compile(roles.statement.replace("<ROLE>", f"(?:{role_words})"))
    bound = frozenset(m.group("person") for m in statement.finditer(norm))
    excepted = _Excepted(roles.people, nouns, bound)
    people = [m.group().split()[-1] for m in roles.people.finditer(norm)]
    others = any(not excepted.is_excepted(p) for p in people)
    return _Excepted(roles.people, nouns, bound, others)


_PLAIN_NEGATORS = frozenset({"no", "nunca", "jamas"})
# "nadie de Financiera Aurora irá", "ningún gestor de la empresa irá": a negated subject
# followed by who they are.
_NEGATED_SUBJECTS = frozenset({"nadie", "ningun", "ninguna", "ninguno", "nobody", "noone"})
_ORGANISATION_WORDS = frozenset(
    {
        "la", "el", "los", "las", "nuestra", "nuestro", "nuestras", "nuestros", "empresa",
        "equipo", "oficina", "financiera", "banco", "caja", "cooperativa", "tienda", "area",
        "departamento", "cobranza", "cobros", "parte", "personal", "despacho", "agencia",
        "entidad", "our", "the", "company", "team", "staff", "office",
    }
)  # fmt: skip


def _negated_subject(tokens: Sequence[_Token], j: int, draft: str) -> bool:
    """Token j ends "nadie de <the creditor>" / "ningún <noun> de <the creditor>".

    The creditor is a name (capitalised: "Nadie de Caja Huancaruna irá") or an organisation
    word ("nadie de la empresa", "ningún gestor de nuestro equipo"), up to four words; "nadie
    de tu familia sabe que iremos" is not a negated visit.
    """
    for k in range(j, max(-1, j - 5), -1):
        tok = tokens[k]
        if tok.norm == _BOUNDARY:
            return False
        if tok.norm in ("de", "del", "from", "of") and k >= 1:
            if tokens[k - 1].norm in _NEGATED_SUBJECTS or (
                k >= 2 and tokens[k - 2].norm in _NEGATED_SUBJECTS
            ):
                return True
        elif tok.norm not in _ORGANISATION_WORDS and not draft[tok.start : tok.end][:1].isupper():
            return False
    return False


# "Nobody will visit your home or contact your employer", "no vamos a visitarte o llamar a
# tu jefe": a second conjunct with no subject or auxiliary of its own shares the negation of
# the first. In Spanish only an infinitive qualifies ("no pagas o te embargamos" is a threat).
_COORDINATORS_EN = frozenset({"or", "nor"})
_COORDINATORS_ES = frozenset({"o", "u"})
_COORDINATORS = _COORDINATORS_EN | _COORDINATORS_ES
_INFINITIVE_RE = re.compile(r"\w+(?:ar|er|ir)(?:te|le|lo|la|les|los|las|nos|se)?")


def _coordinated_negation(
    tokens: Sequence[_Token], first: int, j: int, lex: _Lexicon, draft: str
) -> bool:
    """Token j is "or"/"o" right before the match: is the conjunct before it negated?"""
    word = tokens[j].norm
    if word in _COORDINATORS_ES and not _INFINITIVE_RE.fullmatch(tokens[first].norm):
        return False
    for k in range(j - 1, max(-1, j - 9), -1):
        if tokens[k].norm == _BOUNDARY:
            return False
        if tokens[k].norm in lex.negators:  # negated there, unless as a condition
            return _is_negated(tokens, k + 1, k + 1, lex, draft)
    return False


def _is_negated(
    tokens: Sequence[_Token], first: int, last: int, lex: _Lexicon, draft: str = ""
) -> bool:
    negated = False
    for j in range(first - 1, max(-1, first - 9), -1):
        word = tokens[j].norm
        if word == _BOUNDARY:
            break
        if (
            j == first - 1
            and word in _COORDINATORS
            and _coordinated_negation(tokens, first, j, lex, draft)
        ):
            negated = True
            break
        if (
            word not in lex.bridge
            and word not in lex.negators
            and _negated_subject(tokens, j, draft)
        ):
            negated = True
            break
        if word in lex.negators:
            before = " ".join(t.norm for t in tokens[max(0, j - 2) : j])
            # "si no pagas", "de no pagar", "en caso no pague" are conditions; "de ninguna
            # manera" and "tu caso no está" are not.
            conditional = word in _PLAIN_NEGATORS and any(
                before == c or before.endswith(" " + c) for c in lex.conditional_before_negator
            )
            negated = not conditional
            break
        if word not in lex.bridge:
            break
    if not negated:
        return False
    # "no habrá embargo si pagas hoy" is still a threat.
    for tok in tokens[last + 1 :]:
        if tok.norm == _BOUNDARY:
            break
        if tok.norm in lex.conditionals:
            return False
    return True


# --------------------------------------------------------------------------------------------
# Figures
# --------------------------------------------------------------------------------------------

_MONTHS = {
    "enero": 1,
    "febrero": 2,
    "marzo": 3,
    "abril": 4,
    "mayo": 5,
    "junio": 6,
    "julio": 7,
    "agosto": 8,
    "septiembre": 9,
    "setiembre": 9,
    "octubre": 10,
    "noviembre": 11,
    "diciembre": 12,
    "ene": 1,
    "feb": 2,
    "mar": 3,
    "abr": 4,
    "may": 5,
    "jun": 6,
    "jul": 7,
    "ago": 8,
    "sept": 9,
    "sep": 9,
    "set": 9,
    "oct": 10,
    "nov": 11,
    "dic": 12,
}
_MONTH_RE = "(?:" + _trie(_MONTHS) + r")\b"
_WEEKDAYS = r"(?:lunes|martes|mi[eé]rcoles|jueves|viernes|s[aá]bado|domingo)"

# Counts and percentages in words ("tres cuotas", "quince por ciento", "treinta y seis
# meses"), from 2 to 100: every "tens y units" compound, not only the common ones.
_COMPOUND_WORDS = {
    f"{tens} y {unit}": tv + uv
    for tens, tv in TENS.items()
    for unit, uv in UNITS.items()
    if 1 <= uv <= 9 and unit not in ("un", "una")
}
_NUMBER_WORDS = (
    {w: v for w, v in WORD_VALUES.items() if 2 <= v <= 100}
    | {"dieciséis": 16, "veintidós": 22, "veintitrés": 23, "veintiséis": 26}
    | _COMPOUND_WORDS
)
_NUMBER_WORDS_RE = "(?:" + _trie(_NUMBER_WORDS) + ")"

_NUM = r"\d\d*(?:[.,']\d+)*"  # "2'784.000": an apostrophe groups thousands in Colombia


# Speed, not meaning: a pattern whose first step is a digit (or a letter) lets the regex engine
# jump to the next digit; a leading lookbehind makes it test every position. So "not after a
# digit or a dot" is written after the first digit, looking back over it: (?<![\d.]\d).
def _num_not_after(chars: str) -> str:
    """_NUM, not preceded by any of the regex class `chars` ("\\d.,")."""
    return rf"\d(?<![{chars}]\d)\d*(?:[.,']\d+)*"


def _codes_not_after_letter() -> str:
    """ "USD|MXN|..." not right after a letter (as (?<![A-Za-z])(?:USD|...) reads)."""
    codes = ("USD", "MXN", "COP", "CLP", "PEN", "ARS", "EUR")
    return "(?:" + "|".join(rf"{c[0]}(?<![A-Za-z]{c[0]}){c[1:]}" for c in codes) + ")"


_CODES = r"(?:USD|MXN|COP|CLP|PEN|ARS|EUR)"
_CODES_NOT_AFTER_LETTER = _codes_not_after_letter()
_NUM_NOT_AFTER_NUMBER = _num_not_after(r"\d.,")
_NUM_NOT_AFTER_WORD = _num_not_after(r"\w.,$€/")
_CURRENCY_WORDS = (
    r"(?:pesos?|soles|d[oó]lares|d[oó]lar|euros?)"
    r"(?:\s+(?:mexicanos|colombianos|chilenos|argentinos|americanos|estadounidenses))?\b"
)
_MULT = r"(?:\s+(?P<mult>millones|mill[oó]n|mil)\b(?:\s+de\b)?)?"

_KEYCAP_RE = re.compile(r"(?P<n>\d{1,2})\ufe0f?\u20e3|(?P<ten>\U0001f51f)")
_OPTION_RE = re.compile(
    r"\b(?:opci[oó]n|alternativa)\s*(?:n[°º.o]\s*|#\s*|n[uú]mero\s*)?(?P<n>\d{1,2})\b",
    re.IGNORECASE,
)
_LINE_NUMBER_RE = re.compile(r"^[ \t]*(?:[-•*]\s*)?(?P<n>\d{1,2})[).](?=\s)", re.MULTILINE)

_ISO_DATE_RE = re.compile(r"(?P<year>\d(?<!\d\d)\d{3})-(?P<month>\d{1,2})-(?P<day>\d{1,2})(?!\d)")
_NUMERIC_DATE_RE = re.compile(
    r"(?P<day>\d(?<![\d.,/]\d)\d?)[/-](?P<month>\d{1,2})(?:[/-](?P<year>\d{4}|\d{2}))?(?![\d/])"
)
_TEXT_DATE_RE = re.compile(
    rf"(?:{_WEEKDAYS}\s*,?\s+)?(?<!\d)(?P<day>\d{{1,2}})(?:º|°|ro|o)?\s+(?:de\s+)?"
    rf"(?P<month>{_MONTH_RE})(?:\s*,?\s+(?:de\s+|del\s+)?(?P<year>\d{{4}})(?!\d))?",
    re.IGNORECASE,
)
_MONTH_FIRST_DATE_RE = re.compile(
    rf"\b(?P<month>{_MONTH_RE})\s+(?P<day>\d{{1,2}})(?!\d)(?!\s*(?:%|de\b))"
    rf"(?:\s*,?\s+(?:de\s+)?(?P<year>\d{{4}})(?!\d))?",
    re.IGNORECASE,
)
_MONEY_PREFIX_RE = re.compile(
    rf"(?P<sym>US\$|U\$S|MX\$|COL\$|CLP\$|CL\$|AR\$|S/\.?|{_CODES_NOT_AFTER_LETTER}|\$|€)"
    rf"\s?(?P<num>{_NUM}){_MULT}(?:\s*(?P<word>(?<![A-Za-z]){_CODES}\b|(?i:{_CURRENCY_WORDS})))?"
)
_MONEY_SUFFIX_RE = re.compile(
    rf"(?P<num>{_NUM_NOT_AFTER_NUMBER}){_MULT}\s*"
    rf"(?P<word>€|(?<![A-Za-z]){_CODES}\b|(?i:{_CURRENCY_WORDS}))"
)
_PERCENT_RE = re.compile(
    rf"(?<![\w.,])(?P<num>{_NUM}|{_NUMBER_WORDS_RE})\s?(?:%|por\s?ciento\b)", re.IGNORECASE
)
# Words that may stand between a count and its noun: "seis cómodas cuotas", "24 cuotas fijas
# mensuales" is read as "24 cuotas".
_COUNT_ADJECTIVES = (
    r"(?:c[oó]mod[oa]s|peque[nñ][oa]s|iguales|sencill[oa]s|fij[oa]s|mensuales|quincenales"
    r"|semanales|bimestrales|consecutiv[oa]s|sucesiv[oa]s|parciales|chiquit[oa]s|accesibles)"
)
# Everything a plan can be counted in, in every country's word: "armadas" (Peru), "tramos",
# "entregas", "fracciones", "giros", "cuotitas".
_COUNT_NOUNS = (
    r"cuotas?|cuotitas|pagos?|pagitos|mensualidad(?:es)?|parcialidad(?:es)?|abonos?|quincenas?"
    r"|meses|mes|semanas?|plazos?|exhibiciones|d[ií]as|partes|letras|dep[oó]sitos|vencimientos"
    r"|a[nñ]os|recibos|pagar[eé]s|transferencias|armadas|tramos|entregas|fracciones|giros"
    r"|cargos"
)
_COUNT_RE = re.compile(
    rf"(?<![\w.,])(?P<num>\d+|{_NUMBER_WORDS_RE})\s+"
    rf"(?:{_COUNT_ADJECTIVES}\s+)?"
    rf"(?P<noun>{_COUNT_NOUNS})\b",
    re.IGNORECASE,
)
# The count nouns that count payments (not days, weeks, months or years).
_INSTALLMENT_NOUN_RE = re.compile(
    r"cuotas?|cuotitas|pagos?|pagitos|mensualidad(?:es)?|parcialidad(?:es)?|abonos?"
    r"|exhibiciones|letras|dep[oó]sitos|vencimientos|recibos|pagar[eé]s|transferencias|armadas"
    r"|tramos|entregas|fracciones|giros|cargos|payments|installments",
    re.IGNORECASE,
)
# A split said without its noun: "lo dividimos en cuatro", "fraccionarlo en 6" (a count; with
# a noun, "en 6 cuotas", the count pass has read it already).
_SPLIT_COUNT_RE = re.compile(
    r"\b(?:divid|fraccion|parti|part[ií]|repart|difer|financ)\w*(?:\s+(?!en\b)\w+){0,4}?\s+en\s+"
    rf"(?P<num>\d{{1,2}}|{_NUMBER_WORDS_RE})\b(?!\s*(?:%|por\s?ciento|de\b|[.,]\d))",
    re.IGNORECASE,
)
_DAY_ONLY_RE = re.compile(
    r"\b(?:el|los|del|al|cada|d[ií]a|d[ií]as)\s+(?:d[ií]as?\s+)?(?P<day>\d{1,2})(?:º|°)?"
    r"(?![\d])(?![.,]\d)"
    # "los 4 últimos dígitos", "los 4 números de tu DNI": a count of characters, not a day
    r"(?!\s+(?:(?:[uú]ltim|primer)\w*|d[ií]gitos?|n[uú]meros|cifras|caracteres)\b)",
    re.IGNORECASE,
)
# Counts said with a collective word: "una docena de cuotas" (12), "media docena" (6), "un par
# de pagos" (2). Only installment nouns: "un par de días" is a vague span, not a figure.
_GROUPS = {"docena": 12, "docenas": 12, "par": 2}
_GROUP_QTY = {"un": 1, "una": 1, "1": 1, "media": Decimal("0.5"), "dos": 2, "2": 2, "tres": 3}
_GROUP_COUNT_RE = re.compile(
    r"(?<![\w])(?P<qty>una|un|1|media|dos|2|tres)\s+(?P<group>docenas?|par)\s+de\s+"
    r"(?:(?:c[oó]modas|peque[nñ]as|iguales|sencillas)\s+)?"
    r"(?P<noun>cuotas|pagos|mensualidades|parcialidades|abonos|quincenas|letras|dep[oó]sitos"
    r"|plazos|exhibiciones|transferencias|recibos|pagar[eé]s|vencimientos|armadas|tramos"
    r"|entregas|fracciones|giros|cuotitas)\b",
    re.IGNORECASE,
)
# A plan's length as a period ("en un semestre", "durante un año y medio") in a draft that
# says how often it pays: months x payments per month is a count of installments.
_PERIOD_MONTHS = {
    "bimestre": 2, "bimestres": 2, "trimestre": 3, "trimestres": 3, "cuatrimestre": 4,
    "cuatrimestres": 4, "semestre": 6, "semestres": 6, "año": 12, "años": 12, "ano": 12,
    "anos": 12,
}  # fmt: skip
_PERIOD_QTY = {"un": 1, "una": 1, "1": 1, "medio": Decimal("0.5"), "dos": 2, "2": 2, "tres": 3}
_PERIOD_RE = re.compile(
    r"\b(?:en|durante|a|por|plazo\s+de|lo\s+largo\s+de|dentro\s+de)\s+(?P<qty>un|una|1|medio|dos|2|tres)"
    r"\s+(?P<period>bimestres?|trimestres?|cuatrimestres?|semestres?|a[nñ]os?)\b"
    r"(?P<half>\s+y\s+medio\b)?",
    re.IGNORECASE,
)
# Without a cadence, a period right after splitting or paying is read as months of monthly
# payments ("fraccionar el importe en un trimestre" is 3 payments).
_PLAN_BEFORE_PERIOD_RE = re.compile(
    r"\b(?:fraccion|divid|difer|repart|financ|pag|cuota|plazo|mensualidad|parcialidad|abono)\w*"
    r"(?:\s+\w+){0,3}\s+$",
    re.IGNORECASE,
)
# An installment named by its rank: "la sexta cuota", "el 3er pago", "the fourth payment".
# "hasta la sexta cuota", "la sexta y última cuota": the plan has that many.
_ORDINALS = {
    "primer": 1, "primera": 1, "primero": 1, "segunda": 2, "segundo": 2, "tercer": 3,
    "tercera": 3, "tercero": 3, "cuarta": 4, "cuarto": 4, "quinta": 5, "quinto": 5,
    "sexta": 6, "sexto": 6, "septima": 7, "septimo": 7, "setima": 7, "setimo": 7,
    "octava": 8, "octavo": 8, "novena": 9, "noveno": 9, "decima": 10, "decimo": 10,
    "undecima": 11, "undecimo": 11, "onceava": 11, "onceavo": 11, "duodecima": 12,
    "duodecimo": 12, "doceava": 12, "doceavo": 12,
    "decimoprimera": 11, "decimoprimero": 11, "decimosegunda": 12, "decimosegundo": 12,
    "decimotercera": 13, "decimotercero": 13, "decimocuarta": 14, "decimocuarto": 14,
    "decimoquinta": 15, "decimoquinto": 15, "decimosexta": 16, "decimosexto": 16,
    "decimoctava": 18, "decimoctavo": 18, "vigesima": 20, "vigesimo": 20,
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7,
    "eighth": 8, "ninth": 9, "tenth": 10, "eleventh": 11, "twelfth": 12,
}  # fmt: skip
_ORDINAL_WORDS = (
    r"(?:s[eé]ptim[oa]|d[eé]cim[oa]|und[eé]cim[oa]|duod[eé]cim[oa]|vig[eé]sim[oa]"
    r"|decimo(?:primer[oa]|segund[oa]|tercer[oa]|cuart[oa]|quint[oa]|sext[oa]|ctav[oa])|"
    + _trie(w for w in _ORDINALS if w.isascii())
    + ")"
)
_ORDINAL_RE = re.compile(
    rf"(?<![\w])(?:(?P<end>hasta|through|until|by)\s+(?:la|el|the)\s+)?"
    rf"(?P<ord>{_ORDINAL_WORDS}|\d{{1,2}}(?:ª|º|°|a|o|ta|to|va|vo|ra|ro|da|do|na|no|er|th|st|nd|rd)\.?)"
    r"\s+(?:(?P<last>y\s+[uú]ltim[oa]|y\s+final|and\s+(?:final|last))\s+)?"
    r"(?P<noun>cuota|pago|mensualidad|parcialidad|abono|quincena|letra|dep[oó]sito|vencimiento"
    r"|payment|installment)\b",
    re.IGNORECASE,
)
_ORDINAL_SUFFIX_RE = re.compile(r"^(\d{1,2})")
_RANK_WORD_RE = re.compile(rf"\b(?:{_ORDINAL_WORDS}|[uú]ltim[oa]s?)\b", re.IGNORECASE)
# After a ranked installment, in the same sentence: the debt is settled with it.
_SENTENCE_END_RE = re.compile(r"[.;!?](?!\d)|\n")
_PLAN_CLOSED_RE = re.compile(
    r"\b(?:(?:queda|quedas|quedar[aá]s?|quedar[ií]as?|quedan)\s+(?:usted\s+)?(?:a\s+paz\s+y\s+salvo"
    r"|al\s+d[ií]a|al\s+corriente|libre|sin\s+deuda|saldad[oa]|liquidad[oa])|paz\s+y\s+salvo"
    r"|termin\w*\s+de\s+pagar|(?:liquidas|liquida|saldas|salda|cancelas|cancela)\s+(?:el\s+total"
    r"|la\s+deuda|todo|tu\s+deuda|su\s+deuda)|(?:se\s+)?cierra\s+(?:el|tu|su)\s+(?:plan|cr[eé]dito"
    r"|deuda|acuerdo|convenio)|(?:es|ser[aá]|ser[ií]a|fue)\s+(?:la|el)\s+[uú]ltim[oa]|paid\s+in\s+full"
    r"|paid\s+off|(?:is|will\s+be|would\s+be)\s+the\s+(?:last|final)\s+one)\b",
    re.IGNORECASE,
)
_ORDINAL_HINT_RE = re.compile(
    r"segund|tercer|cuart|quint|sext|s[eé]ptim|s[eé]tim|octav|noven|d[eé]cim|und[eé]cim|duod"
    r"|onceav|doceav|vig[eé]sim|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth"
    r"|eleventh|twelfth|\d(?:ª|º|°|a|o|ta|to|va|vo|ra|ro|da|do|na|no|er|th|st|nd|rd)\.?\s"
)

_MONTHLY_RE = re.compile(
    r"\b(?:mensual(?:es|mente)?|mensualidad(?:es)?|al\s+mes|cada\s+mes|por\s+mes|mes\s+a\s+mes)\b",
    re.IGNORECASE,
)
_FORTNIGHTLY_RE = re.compile(
    r"\b(?:quincenal(?:es|mente)?|quincenas?|cada\s+quince\s+d[ií]as|cada\s+dos\s+semanas)\b",
    re.IGNORECASE,
)
_BARE_NUMBER_RE = re.compile(_NUM)

# Spelled-out Spanish numbers, for amounts written in words ("seis mil cuatrocientos pesos").
_ACCENTED = ("dieciséis", "veintiún", "veintidós", "veintitrés", "veintiséis", "millón")
_SPELLED_WORD = "(?:" + _trie((*WORD_VALUES, *SCALES, *_ACCENTED)) + ")"
_SPELLED = rf"{_SPELLED_WORD}(?:\s+(?:y\s+)?{_SPELLED_WORD})*"
_SPELLED_MONEY_RE = re.compile(
    rf"(?<![\w])(?P<num>{_SPELLED})\s+(?:de\s+)?(?P<word>{_CURRENCY_WORDS})"
    rf"(?:\s+con\s+(?P<cents>{_SPELLED})(?:\s+(?:centavos|c[eé]ntimos|cents))?)?",
    re.IGNORECASE,
)
# "1,8 millones", "540 lucas": amounts with a multiplier and no currency sign.
_MULTIPLIED_MONEY_RE = re.compile(
    rf"(?P<num>{_NUM_NOT_AFTER_WORD})\s+(?P<mult>millones|mill[oó]n|lucas?|palos?)\b",
    re.IGNORECASE,
)
# "se ahorra la mitad", "un tercio de descuento": a share of the debt written as a fraction.
_FRACTIONS = {"mitad": Decimal(50), "tercio": Decimal("33.33"), "cuarto": Decimal(25)}
_FRACTION_RE = re.compile(
    r"\b(?:ahorr|descuent|rebaj|quit|menos|off)\w*(?:\s+\w+){0,2}?\s+(?:la|una?)\s+"
    r"(?P<fraction>mitad|tercio|cuarto)\b",
    re.IGNORECASE,
)
# "hasta este jueves", "el próximo viernes": a date named by its weekday only.
_WEEKDAY_NUMBERS = {
    "lunes": 0, "martes": 1, "miercoles": 2, "jueves": 3, "viernes": 4, "sabado": 5,
    "domingo": 6,
}  # fmt: skip
_RELATIVE_DAY_RE = re.compile(
    rf"\b(?:este|esta|el|pr[oó]ximo|el\s+pr[oó]ximo|este\s+pr[oó]ximo)\s+(?P<weekday>{_WEEKDAYS})"
    r"\b(?!\s*,?\s*\d)",
    re.IGNORECASE,
)
# English counts in words, every number from two to sixty ("thirteen monthly payments",
# "twenty-one installments").
_ENGLISH_UNITS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9,
}  # fmt: skip
_ENGLISH_TEENS = {
    "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
    "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
}  # fmt: skip
_ENGLISH_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60}
_ENGLISH_NUMBERS = (
    {w: v for w, v in _ENGLISH_UNITS.items() if v >= 2}
    | _ENGLISH_TEENS
    | _ENGLISH_TENS
    | {
        f"{tens}{sep}{unit}": tv + uv
        for tens, tv in _ENGLISH_TENS.items()
        for unit, uv in _ENGLISH_UNITS.items()
        for sep in ("-", " ")
    }
)
_ENGLISH_COUNT_RE = re.compile(
    r"\b(?P<num>"
    + _trie(_ENGLISH_NUMBERS)
    + r")\s+(?:(?!of\b)\w+\s+){0,2}"  # "three easy monthly payments"
    r"(?P<noun>payments|installments|months|weeks)\b",
    re.IGNORECASE,
)
# Before a count, a frequency: "cada dos semanas", "cada 15 días", "every two weeks".
# Counts said as repetitions: "$200.000 x6", "6x", "diez veces", "por seis ocasiones".
_TIMES_RE = re.compile(
    rf"(?<![\w])(?:x\s?(?P<xnum>\d{{1,2}})|(?P<numx>\d{{1,2}})\s?x)(?![\w])"
    rf"|(?<![\w.,])(?P<num>\d{{1,2}}|{_NUMBER_WORDS_RE})\s+(?:veces|ocasiones|times)\b",
    re.IGNORECASE,
)
# What remains of a plan: "te quedan cinco más", "restan 7 cuotas". After a payment fewer
# remain than the plan has, so a remainder is wrong only when it reaches the longest plan.
_REMAINING_RE = re.compile(
    rf"\b(?:quedan|queda|quedarian|quedarán|quedaran|restan|resta|faltan|falta)\s+"
    rf"(?:(?:solo|solamente|s[oó]lo|apenas|[uú]nicamente)\s+)?"
    rf"(?P<num>\d{{1,2}}|{_NUMBER_WORDS_RE})\b(?![.,]\d|\s*%)"
    rf"(?:\s+(?P<noun>{_COUNT_NOUNS}|m[aá]s)\b)?",
    re.IGNORECASE,
)
# A payment already made: "recibimos su pago", "gracias por la cuota de diciembre", "después
# de la cuota del 20", "ya está listo el pago del 15".
_PAID_BEFORE_RE = re.compile(
    r"\b(?:recib\w*|gracias\s+por|despu[eé]s\s+de|ya\s+(?:est[aá]\s+)?(?:list[oa]|pagad[oa]|pag\w*"
    r"|abon\w*|registrad[oa])|pagaste|pag[oó]|abonaste|abon[oó]|received|thanks\s+for|after\s+your)\b",
    re.IGNORECASE,
)
# A plan's months as a range ("$400.000 mensuales de diciembre a agosto"): with one payment a
# month, the months in the range are the payments.
_MONTH_RANGE_RE = re.compile(
    rf"\b(?:de|desde|entre)\s+(?P<a>{_MONTH_RE})\s+(?:a|hasta|y)\s+(?P<b>{_MONTH_RE})"
    r"(?!\s+(?:de\s+)?\d)",
    re.IGNORECASE,
)
# Counts that never come from the account or the offer: which notice this is ("el tercer
# aviso", "the fourth reminder"), how many staff looked at the case ("tres ejecutivos").
_NOTICE_ORDINAL_RE = re.compile(
    rf"(?<![\w])(?P<ord>{_ORDINAL_WORDS}|\d{{1,2}}(?:ª|º|°|er|ro|do|to|vo|no|th|nd|rd)\.?)\s+"
    r"(?P<noun>avisos?|recordatorios?|mensajes?|notificaci[oó]n|notificaciones|intentos?"
    r"|llamados?|llamadas?|requerimientos?|comunicados?|notices?|reminders?|attempts?"
    r"|messages?|warnings?|advertencias?)\b",
    re.IGNORECASE,
)
_STAFF_COUNT_RE = re.compile(
    rf"(?<![\w.,])(?P<num>\d{{1,2}}|{_NUMBER_WORDS_RE})\s+"
    r"(?P<noun>ejecutiv[oa]s|asesor(?:es|as)|gestor(?:es|as)|agentes|abogad[oa]s|analistas"
    r"|supervisor(?:es|as)|cobradores|avisos|recordatorios|notificaciones|intentos"
    r"|llamados|reminders|notices|attempts|agents|lawyers)\b",
    re.IGNORECASE,
)
# An installment's rank said without its noun ("con la octava termina", "the fifth one").
_BARE_ORDINAL_RE = re.compile(
    rf"(?<![\w])(?:la|el|the|con\s+la|con\s+el)\s+(?P<ord>{_ORDINAL_WORDS})(?:\s+one)?\b"
    r"(?!\s+(?:opci|alternativ|vez|veces|semana|mes|d[ií]a|quincena|llamad|aviso|recordatorio"
    r"|option|week|month|day|time|plan|a[nñ]o|year|lugar|paso|step|nivel|piso|grado|persona"
    r"|tercer|parte|mitad)\w*)",
    re.IGNORECASE,
)

_FREQUENCY_BEFORE_RE = re.compile(r"\b(?:cada|every)\s+$", re.IGNORECASE)


_MONTH_HINT_RE = re.compile(_MONTH_RE)  # on lowered text
_CURRENCY_WORD_RE = re.compile(_CURRENCY_WORDS)
_WEEKDAY_HINTS = ("lunes", "martes", "rcoles", "jueves", "viernes", "bado", "domingo")


def _spelled_value(text: str) -> int | None:
    """The value of a spelled-out Spanish number ("ciento setenta y seis mil"), or None."""
    tokens = [_normalise_token(w) for w in text.split()]
    value, end = parse_word_run(tokens, 0)
    return value if end == len(tokens) else None


_FILLER = "\x00"

_PESO_CURRENCIES = frozenset({"MXN", "COP", "CLP", "ARS", "UYU", "DOP", "CUP", "PHP"})


def _currency_of_marker(marker: str) -> frozenset[str] | None:
    """The currencies a symbol, code or word can denote; None = compatible with any."""
    m = marker.strip().lower()
    if m in {"$"}:
        return None
    if m in {"€", "eur"} or m.startswith("euro"):
        return frozenset({"EUR"})
    if m in {"s/", "s/.", "pen", "soles"}:
        return frozenset({"PEN"})
    if m in {"us$", "u$s", "usd"} or m.startswith(("dólar", "dolar")):
        return frozenset({"USD"})
    if m in {"mx$", "mxn"}:
        return frozenset({"MXN"})
    if m in {"col$", "cop"}:
        return frozenset({"COP"})
    if m in {"cl$", "clp$", "clp"}:
        return frozenset({"CLP"})
    if m in {"ar$", "ars"}:
        return frozenset({"ARS"})
    if m.startswith("peso"):
        nationality = m.split()[-1] if " " in m else ""
        by_nationality = {
            "mexicanos": "MXN",
            "colombianos": "COP",
            "chilenos": "CLP",
            "argentinos": "ARS",
        }
        if nationality in by_nationality:
            return frozenset({by_nationality[nationality]})
        return _PESO_CURRENCIES
    return None


def _number_candidates(text: str, locale: str) -> list[Decimal]:
    """Readings of a written number, the locale's preferred one first.

    "4,500" is 4500 in es_MX and may be 4.5 in es_CO; both readings are returned when only
    one separator occurs once before exactly three digits.
    """
    text = text.replace("'", "")
    seps = [c for c in text if c in ".,"]
    try:
        if not seps:
            return [Decimal(text)]
        if len(set(seps)) == 2:
            dec = seps[-1]
            group = "," if dec == "." else "."
            if text.count(dec) > 1:
                return []
            integer, frac = text.rsplit(dec, 1)
            return [Decimal(integer.replace(group, "") + "." + frac)]
        sep = seps[0]
        if len(seps) > 1:
            return [Decimal(text.replace(sep, ""))]
        integer, frac = text.split(sep)
        as_decimal = Decimal(integer + "." + frac)
        if len(frac) != 3:
            return [as_decimal]
        as_thousands = Decimal(integer + frac)
        try:
            decimal_symbol = get_decimal_symbol(locale)
        except Exception:  # unknown locale: read it as es_MX would
            decimal_symbol = "."
        if sep == decimal_symbol:
            return [as_decimal, as_thousands]
        return [as_thousands, as_decimal]
    except InvalidOperation:
        return []


def _fmt(value: Decimal) -> str:
    return format(value.normalize(), "f") if value == value.to_integral_value() else str(value)


class _Scanner:
    """Walks the draft once per figure kind; what one kind claims, later kinds do not see."""

    def __init__(self, draft: str, context: GuardContext):
        self.draft = draft
        self.work = draft
        self.ctx = context
        self.violations: list[Violation] = []
        self.lowered = draft.lower()

    def mentions(self, *words: str) -> bool:
        """A cheap test that a pass's expensive patterns can match at all."""
        return any(w in self.lowered for w in words)

    def take(self, start: int, end: int) -> None:
        self.work = self.work[:start] + _FILLER * (end - start) + self.work[end:]

    def matches(self, pattern: re.Pattern[str]) -> Iterable[re.Match[str]]:
        for m in list(pattern.finditer(self.work)):
            if _FILLER in m.group():  # overlaps something already claimed
                continue
            yield m

    def flag(self, rule_id: str, span: tuple[int, int], message: str) -> None:
        self.violations.append(
            Violation(
                rule_id=rule_id, span=span, text=self.draft[span[0] : span[1]], message=message
            )
        )

    # -- the passes, in order ---------------------------------------------------------------

    def literals(self) -> None:
        lowered = self.work.lower()
        for literal in sorted((s for s in self.ctx.allowed_literals if s), key=len, reverse=True):
            needle = literal.lower()
            start = lowered.find(needle)
            while start != -1:
                self.take(start, start + len(needle))
                start = lowered.find(needle, start + len(needle))

    def options(self) -> None:
        allowed = self.ctx.allowed_options
        patterns = [_LINE_NUMBER_RE]
        if "\u20e3" in self.draft or "\U0001f51f" in self.draft:
            patterns.insert(0, _KEYCAP_RE)
        if self.mentions("opci", "alternativa"):
            patterns.insert(len(patterns) - 1, _OPTION_RE)
        for pattern in patterns:
            for m in self.matches(pattern):
                number = 10 if m.groupdict().get("ten") else int(m.group("n"))
                if allowed and number not in allowed:
                    self.flag(
                        "figures.unknown_option",
                        m.span(),
                        f"Option {number} is not one of the options offered.",
                    )
                self.take(*m.span())

    def dates(self) -> None:
        patterns = [_ISO_DATE_RE, _NUMERIC_DATE_RE]
        if _MONTH_HINT_RE.search(self.lowered):
            patterns += [_TEXT_DATE_RE, _MONTH_FIRST_DATE_RE]
        for pattern in patterns:
            for m in self.matches(pattern):
                month_text = m.group("month")
                month = int(month_text) if month_text.isdigit() else _MONTHS[month_text.lower()]
                day = int(m.group("day"))
                year = m.group("year")
                year_n = None
                if year:
                    year_n = int(year) + (2000 if len(year) == 2 else 0)
                readings = [(day, month)]
                if pattern is _NUMERIC_DATE_RE and self.ctx.locale.endswith("_US"):
                    readings.append((month, day))
                if not any(self._date_allowed(d, mo, year_n) for d, mo in readings):
                    self.flag(
                        "figures.unknown_date", m.span(), "Date not in the offer or the account."
                    )
                self.take(*m.span())

    def _date_allowed(self, day: int, month: int, year: int | None) -> bool:
        allowed = self.ctx.allowed_dates
        if year is not None:
            try:
                return date(year, month, day) in allowed
            except ValueError:
                return False
        today = self.ctx.today
        if today is None:
            return any(d.month == month and d.day == day for d in allowed)
        occurrences = []
        for y in (today.year - 1, today.year, today.year + 1):
            try:
                occurrences.append(date(y, month, day))
            except ValueError:
                continue
        if not occurrences:
            return False
        # The nearest occurrence ("venció el 20 de noviembre") or the next one: a plan's
        # "10 de agosto" in December is next August.
        nearest = min(occurrences, key=lambda d: abs((d - today).days))
        upcoming = min((d for d in occurrences if d >= today), default=nearest)
        return nearest in allowed or upcoming in allowed

    def money(self) -> None:
        for pattern in (_MONEY_PREFIX_RE, _MONEY_SUFFIX_RE):
            for m in self.matches(pattern):
                markers = [g for g in (m.groupdict().get("sym"), m.group("word")) if g]
                wrong = [
                    x
                    for x in markers
                    if (c := _currency_of_marker(x)) is not None
                    and self.ctx.currency.upper() not in c
                ]
                values = self._values(m)
                if wrong:
                    self.flag(
                        "figures.wrong_currency",
                        m.span(),
                        f"Currency {wrong[0]!r} is not {self.ctx.currency}.",
                    )
                else:
                    self._check_amount(m, values)
                self.take(*m.span())

    def _check_amount(self, m: re.Match[str], values: list[Decimal]) -> None:
        if not any(v in self.ctx.allowed_amounts for v in values):
            shown = _fmt(values[0]) if values else m.group("num")
            self.flag(
                "figures.unknown_amount",
                m.span(),
                f"Amount {shown} is not in the offer or the account.",
            )

    def spelled_money(self) -> None:
        if not _CURRENCY_WORD_RE.search(self.lowered):
            return
        for m in self.matches(_SPELLED_MONEY_RE):
            value = _spelled_value(m.group("num"))
            cents = _spelled_value(m.group("cents")) if m.group("cents") else 0
            if value is None or cents is None:
                continue
            amount = Decimal(value) + Decimal(cents) / 100
            if amount not in self.ctx.allowed_amounts:
                self.flag(
                    "figures.unknown_amount",
                    m.span(),
                    f"Amount {_fmt(amount)} (in words) is not in the offer or the account.",
                )
            self.take(*m.span())

    def multiplied_money(self) -> None:
        if not self.mentions("mill", "luca", "palo"):
            return
        for m in self.matches(_MULTIPLIED_MONEY_RE):
            self._check_amount(m, self._values(m))
            self.take(*m.span())

    def fractions(self) -> None:
        if not self.mentions("mitad", "tercio", "cuarto"):
            return
        for m in self.matches(_FRACTION_RE):
            share = _FRACTIONS[m.group("fraction").lower()]
            if not any(abs(p - share) <= 1 for p in self.ctx.allowed_percentages):
                self.flag(
                    "figures.unknown_percent",
                    m.span(),
                    f"A share of {_fmt(share)}% (in words) is not in the offer.",
                )
            self.take(*m.span())

    def relative_days(self) -> None:
        if self.ctx.today is None or not self.mentions(*_WEEKDAY_HINTS):
            return
        for m in self.matches(_RELATIVE_DAY_RE):
            name = unicodedata.normalize("NFD", m.group("weekday").lower())
            weekday = _WEEKDAY_NUMBERS["".join(c for c in name if not unicodedata.combining(c))]
            ahead = (weekday - self.ctx.today.weekday()) % 7 or 7
            candidates = {self.ctx.today + timedelta(days=ahead + 7 * k) for k in (0, 1)}
            if weekday == self.ctx.today.weekday():
                candidates.add(self.ctx.today)
            if not candidates & self.ctx.allowed_dates:
                self.flag(
                    "figures.unknown_date", m.span(), "Weekday date not in the offer or account."
                )
            self.take(*m.span())

    def _is_frequency(self, m: re.Match[str]) -> bool:
        """ "cada dos semanas", "every two weeks": how often, not how many."""
        return bool(_FREQUENCY_BEFORE_RE.search(self.work, max(0, m.start() - 12), m.start()))

    def english_counts(self) -> None:
        if not self.mentions("payments", "installments", "months", "weeks"):
            return
        for m in self.matches(_ENGLISH_COUNT_RE):
            number = _ENGLISH_NUMBERS[m.group("num").lower()]
            if self._is_frequency(m):
                pass
            elif number not in self._counts_for(m.group("noun")):
                self.flag(
                    "figures.unknown_count",
                    m.span(),
                    f"Count {number} ({m.group('noun')}) is not in the offer.",
                )
            self.take(*m.span())

    def _values(self, m: re.Match[str]) -> list[Decimal]:
        mult = (m.group("mult") or "").lower()
        factor = Decimal(1)
        if mult == "mil" or mult.startswith("luca"):
            factor = Decimal(1000)
        elif mult.startswith("mill") or mult.startswith("palo"):
            factor = Decimal(1_000_000)
        return [v * factor for v in _number_candidates(m.group("num"), self.ctx.locale)]

    def percents(self) -> None:
        if not self.mentions("%", "ciento"):
            return
        for m in self.matches(_PERCENT_RE):
            raw = m.group("num")
            word = _NUMBER_WORDS.get(raw.lower())
            values = [Decimal(word)] if word else _number_candidates(raw, self.ctx.locale)
            if not any(v in self.ctx.allowed_percentages for v in values):
                shown = _fmt(values[0]) if values else m.group("num")
                self.flag(
                    "figures.unknown_percent", m.span(), f"Percentage {shown} is not in the offer."
                )
            self.take(*m.span())

    def group_counts(self) -> None:
        if not self.mentions("docena", "par "):
            return
        for m in self.matches(_GROUP_COUNT_RE):
            qty = _GROUP_QTY[m.group("qty").lower()]
            number = qty * _GROUPS[m.group("group").lower()]
            if number not in self._counts_for(m.group("noun")):
                self.flag(
                    "figures.unknown_count",
                    m.span(),
                    f"Count {_fmt(Decimal(number))} ({m.group('noun')}) is not in the offer.",
                )
            self.take(*m.span())

    def period_counts(self) -> None:
        if not self.mentions("mestre", "año", "ano"):
            return
        monthly = bool(_MONTHLY_RE.search(self.draft))
        fortnightly = bool(_FORTNIGHTLY_RE.search(self.draft))
        if monthly and fortnightly:  # two cadences: the period is not one count
            return
        per_month = 2 if fortnightly else 1
        for m in self.matches(_PERIOD_RE):
            if not (monthly or fortnightly) and not _PLAN_BEFORE_PERIOD_RE.search(
                self.work, max(0, m.start() - 40), m.start()
            ):
                continue  # no cadence and no plan: "en un año" is just time
            period = unicodedata.normalize("NFC", m.group("period").lower())
            months = _PERIOD_QTY[m.group("qty").lower()] * _PERIOD_MONTHS[period]
            if m.group("half"):
                months += _PERIOD_MONTHS[period] // 2
            number = months * per_month
            if number != int(number) or int(number) not in self.ctx.allowed_counts:
                self.flag(
                    "figures.unknown_count",
                    m.span(),
                    f"A plan of {m.group().strip()} is {_fmt(Decimal(number))} payments, "
                    "not a count in the offer.",
                )
            self.take(*m.span())

    def _counts_for(self, noun: str) -> set[int]:
        """The counts a noun may be counted in: payments against the plans' numbers of
        payments (when known), anything else (days, months, weeks) against every count."""
        if self.ctx.installment_counts and _INSTALLMENT_NOUN_RE.fullmatch(noun):
            return self.ctx.installment_counts
        return self.ctx.allowed_counts

    def ordinals(self) -> None:
        if not _ORDINAL_HINT_RE.search(self.lowered):  # "la primera cuota" is always allowed
            return
        for m in self.matches(_ORDINAL_RE):
            raw = m.group("ord")
            digits = _ORDINAL_SUFFIX_RE.match(raw)
            number = int(digits.group(1)) if digits else _ORDINALS.get(_normalise_token(raw))
            if number is None:
                continue
            counts = self.ctx.installment_counts or self.ctx.allowed_counts
            if m.group("end") or m.group("last") or self._closes_plan(m.end()):
                wrong = number not in counts  # the plan ends there: that many payments
            else:  # one of the plan's payments: not beyond the longest plan
                wrong = bool(counts) and number > max(counts)
            if wrong:
                self.flag(
                    "figures.unknown_count",
                    m.span(),
                    f"Installment number {number} ({m.group('noun')}) is not in the offer.",
                )
            self.take(*m.span())

    def _closes_plan(self, end: int) -> bool:
        """The sentence after an installment's rank says the plan is done with it ("la sexta
        cuota cae en junio y con eso queda a paz y salvo"): the rank is the plan's length."""
        sentence = _SENTENCE_END_RE.split(self.draft[end : end + 120], maxsplit=1)[0]
        closed = _PLAN_CLOSED_RE.search(sentence)
        # "la segunda vence en abril y con la tercera quedas al día": another rank closes it
        return bool(closed) and not _RANK_WORD_RE.search(sentence, 0, closed.start())

    def _number(self, raw: str) -> int:
        raw = raw.lower()
        return int(raw) if raw.isdigit() else _NUMBER_WORDS[raw]

    def _plan_counts(self) -> set[int]:
        return self.ctx.installment_counts or self.ctx.allowed_counts

    def times_counts(self) -> None:
        if not self.mentions("x", "veces", "ocasiones", "times"):
            return
        for m in self.matches(_TIMES_RE):
            raw = m.group("num") or m.group("xnum") or m.group("numx")
            number = self._number(raw)
            if self._is_frequency(m):
                pass
            elif number not in self._plan_counts():
                self.flag(
                    "figures.unknown_count",
                    m.span(),
                    f"{number} repetitions is not a count in the offer.",
                )
            self.take(*m.span())

    def remaining_counts(self) -> None:
        if not self.mentions("qued", "rest", "falt"):
            return
        for m in self.matches(_REMAINING_RE):
            noun = m.group("noun")
            if (
                noun
                and noun.lower() not in ("más", "mas")
                and not _INSTALLMENT_NOUN_RE.fullmatch(noun)
            ):
                continue  # "quedan 15 días": time, not payments
            number = self._number(m.group("num"))
            counts = self._plan_counts()
            if _PAID_BEFORE_RE.search(self.draft):  # some paid: fewer remain than a plan has
                wrong = bool(counts) and number not in counts and number >= max(counts)
            else:  # nothing paid yet: what remains is a whole plan
                wrong = number not in counts
            if wrong:
                self.flag(
                    "figures.unknown_count",
                    m.span(),
                    f"{number} remaining payments is more than any plan in the offer has.",
                )
            self.take(*m.span())

    def month_ranges(self) -> None:
        if not _MONTHLY_RE.search(self.draft) and not re.search(
            r"\b(?:una|1)\s+(?:cuota|mensualidad|pago)\s+(?:por|al|cada)\s+mes\b", self.lowered
        ):
            return
        if _FORTNIGHTLY_RE.search(self.draft):
            return
        for m in self.matches(_MONTH_RANGE_RE):
            a = _MONTHS.get(_normalise_token(m.group("a")))
            b = _MONTHS.get(_normalise_token(m.group("b")))
            if a is None or b is None:
                continue
            number = (b - a) % 12 + 1
            if number not in self._plan_counts():
                self.flag(
                    "figures.unknown_count",
                    m.span(),
                    f"Monthly payments {m.group().strip()} are {number}, not a count in the offer.",
                )
            self.take(*m.span())

    def notice_counts(self) -> None:
        for m in self.matches(_NOTICE_ORDINAL_RE):
            raw = m.group("ord")
            digits = _ORDINAL_SUFFIX_RE.match(raw)
            number = int(digits.group(1)) if digits else _ORDINALS.get(_normalise_token(raw))
            if number is not None and number >= 2:
                self.flag(
                    "figures.unknown_count",
                    m.span(),
                    f"Counting notices or attempts ({m.group().strip()}) states a count "
                    "that is not in the account or the offer.",
                )
            self.take(*m.span())
        for m in self.matches(_STAFF_COUNT_RE):
            number = self._number(m.group("num"))
            if number >= 2:
                self.flag(
                    "figures.unknown_count",
                    m.span(),
                    f"A count of {m.group('noun')} is not in the account or the offer.",
                )
            self.take(*m.span())

    def bare_ordinals(self) -> None:
        if not _ORDINAL_HINT_RE.search(self.lowered) or not self.mentions(
            "cuota", "pago", "mensualidad", "parcialidad", "abono", "payment", "installment"
        ):
            return
        for m in self.matches(_BARE_ORDINAL_RE):
            number = _ORDINALS.get(_normalise_token(m.group("ord")))
            if number is None:
                continue
            counts = self._plan_counts()
            if self._closes_plan(m.end()):
                wrong = number not in counts
            else:
                wrong = bool(counts) and number > max(counts)
            if wrong:
                self.flag(
                    "figures.unknown_count",
                    m.span(),
                    f"Installment number {number} is not in the offer.",
                )
            self.take(*m.span())

    def counts(self) -> None:
        for m in self.matches(_COUNT_RE):
            raw = m.group("num").lower()
            number = int(raw) if raw.isdigit() else _NUMBER_WORDS[raw]
            if self._is_frequency(m):
                pass
            elif number not in self._counts_for(m.group("noun")):
                self.flag(
                    "figures.unknown_count",
                    m.span(),
                    f"Count {number} ({m.group('noun')}) is not in the offer.",
                )
            self.take(*m.span())

    def split_counts(self) -> None:
        if not self.mentions("divid", "fraccion", "parti", "partí", "repart", "difer", "financ"):
            return
        for m in self.matches(_SPLIT_COUNT_RE):
            raw = m.group("num").lower()
            number = int(raw) if raw.isdigit() else _NUMBER_WORDS[raw]
            if number not in (self.ctx.installment_counts or self.ctx.allowed_counts):
                self.flag(
                    "figures.unknown_count",
                    m.span("num"),
                    f"A split in {number} parts is not a count in the offer.",
                )
            self.take(*m.span("num"))

    def day_only(self) -> None:
        for m in self.matches(_DAY_ONLY_RE):
            day = int(m.group("day"))
            ok = any(d.day == day for d in self.ctx.allowed_dates)
            ok = ok or day in self.ctx.allowed_options
            if not ok:
                span = m.span("day")
                self.flag(
                    "figures.unknown_date",
                    span,
                    f"Day {day} is not the day of any date in the offer.",
                )
            self.take(*m.span())

    def bare_numbers(self) -> None:
        ctx = self.ctx
        allowed: set[Decimal] = set(ctx.allowed_amounts) | set(ctx.allowed_numbers)
        allowed |= set(ctx.allowed_percentages)
        allowed |= {Decimal(n) for n in ctx.allowed_counts | ctx.allowed_options}
        allowed |= {Decimal(d.day) for d in ctx.allowed_dates}
        allowed |= {Decimal(d.year) for d in ctx.allowed_dates}
        for m in self.matches(_BARE_NUMBER_RE):
            values = _number_candidates(m.group(), ctx.locale)
            if not any(v in allowed for v in values):
                self.flag(
                    "figures.unknown_number",
                    m.span(),
                    f"Number {m.group()} matches nothing in the offer or the account.",
                )
            self.take(*m.span())


def find_figure_violations(draft: str, context: GuardContext) -> list[Violation]:
    """Figures in the draft that the context does not allow."""
    scanner = _Scanner(draft, context)
    scanner.literals()
    scanner.options()
    scanner.dates()
    scanner.money()
    scanner.spelled_money()
    scanner.multiplied_money()
    scanner.fractions()
    scanner.relative_days()
    scanner.english_counts()
    scanner.percents()
    scanner.group_counts()
    scanner.period_counts()
    scanner.notice_counts()
    scanner.ordinals()
    scanner.bare_ordinals()
    scanner.remaining_counts()
    scanner.times_counts()
    scanner.month_ranges()
    scanner.counts()
    scanner.split_counts()
    scanner.day_only()
    scanner.bare_numbers()
    return scanner.violations


# --------------------------------------------------------------------------------------------
# Conversation rules: identity, required disclosures, message format
# --------------------------------------------------------------------------------------------

DISCLOSURES_PATH = Path(__file__).parent / "lexicon" / "disclosures.yaml"
# Disclosures a draft can be checked for; a pack's other obligations (a validation notice,
# a contract reference...) belong to the templates that carry them.
CHECKABLE_DISCLOSURES = ("creditor_identity", "amount", "how_to_pay", "opt_out_instruction")
# What the product states on every first contact, whatever the pack: who the debt is with and
# how much it is (in the US the validation information, 12 CFR 1006.34(c), carries both).
FIRST_CONTACT_FLOOR = ("creditor_identity", "amount")
# Without a pack, the first contact also says how to pay. With one, the pack decides: most list
# how_to_pay as a first-contact (or, in Mexico, every-contact) disclosure; the US pack does not
# (Regulation F asks for the validation notice and the debt-collector notice instead).
NO_PACK_FIRST_CONTACT = (*FIRST_CONTACT_FLOOR, "how_to_pay")
MAX_BUTTONS = 3
MAX_BUTTON_TITLE = 20


@dataclass(frozen=True)
class _Disclosure:
    message: str
    pattern: re.Pattern[str]


@lru_cache(maxsize=4)
def _disclosure_patterns(path: Path = DISCLOSURES_PATH) -> dict[str, _Disclosure]:
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    return {
        key: _Disclosure(
            message=spec["message"],
            pattern=re.compile("|".join(f"(?:{p})" for p in spec["patterns"]), re.IGNORECASE),
        )
        for key, spec in data["disclosures"].items()
    }


def _debtor_confirmed(context: GuardContext) -> bool:
    return context.identity_confirmed and not context.wrong_party


def find_conversation_violations(draft: str, context: GuardContext) -> list[Violation]:
    """Debt details told to an unconfirmed person, missing disclosures, format limits."""
    out: list[Violation] = []
    if not _debtor_confirmed(context):
        out += _figures_told_to_unconfirmed(draft)
    elif draft.strip():
        out += _missing_disclosures(draft, context)
    out += _button_violations(context)
    return out


def _money_and_percent_patterns(draft: str) -> list[re.Pattern[str]]:
    """The money and percentage patterns that can match the draft at all (cheap tests first:
    a spelled amount needs a currency word, a multiplied one "mill"/"luca"/"palo")."""
    lowered = draft.lower()
    patterns = [_MONEY_PREFIX_RE, _MONEY_SUFFIX_RE]
    if _CURRENCY_WORD_RE.search(lowered):
        patterns.append(_SPELLED_MONEY_RE)
    if any(w in lowered for w in ("mill", "luca", "palo")):
        patterns.append(_MULTIPLIED_MONEY_RE)
    if "%" in lowered or "ciento" in lowered:
        patterns.append(_PERCENT_RE)
    return patterns


def _money_and_percent_spans(draft: str) -> list[tuple[int, int]]:
    return [m.span() for r in _money_and_percent_patterns(draft) for m in r.finditer(draft)]


def _states_money_or_percent(draft: str) -> bool:
    return any(r.search(draft) for r in _money_and_percent_patterns(draft))


def _figures_told_to_unconfirmed(draft: str) -> list[Violation]:
    return [
        Violation(
            rule_id="identity.debt_disclosed",
            span=span,
            text=draft[span[0] : span[1]],
            message="An amount or percentage told before the right party is confirmed.",
        )
        for span in sorted(set(_money_and_percent_spans(draft)))
    ]


def required_disclosures(context: GuardContext) -> list[str]:
    """The checkable disclosures this draft must carry, from the pack and the product floor."""
    required: list[str] = []
    if context.first_contact:
        required += FIRST_CONTACT_FLOOR if context.pack else NO_PACK_FIRST_CONTACT
    if context.pack:
        from policies.packs import load_pack  # packs import nothing from here; kept lazy

        rules = load_pack(context.pack).required_disclosures
        levels = [rules.every_message]
        if context.first_contact:
            levels += [rules.first_contact, rules.every_contact]
        required += [r.id for level in levels for r in level]
    return [d for d in CHECKABLE_DISCLOSURES if d in required]


def has_disclosure(draft: str, disclosure: str) -> bool:
    """Whether the draft carries a pattern-checked disclosure (how_to_pay, opt_out_instruction)."""
    return bool(_disclosure_patterns()[disclosure].pattern.search(draft))


def _missing_disclosures(draft: str, context: GuardContext) -> list[Violation]:
    end = len(draft)
    missing: list[tuple[str, str]] = []
    for disclosure in required_disclosures(context):
        if disclosure == "creditor_identity":
            if context.creditor and not _names(draft, context.creditor):
                missing.append((disclosure, f"First contact must name {context.creditor}."))
        elif disclosure == "amount":
            if not _states_money_or_percent(draft):
                missing.append((disclosure, "First contact must state the amount owed."))
        elif not has_disclosure(draft, disclosure):
            missing.append((disclosure, _disclosure_patterns()[disclosure].message))
    return [
        Violation(rule_id=f"disclosure.{d}", span=(end, end), text="", message=message)
        for d, message in missing
    ]


def _names(draft: str, name: str) -> bool:
    """Whether the draft names `name` (case, accents and spacing aside)."""
    wanted = " ".join(_normalise_token(w) for w in name.split())
    words = " ".join(t.norm for t in _tokenise(draft) if t.norm != _BOUNDARY)
    return f" {wanted} " in f" {words} "


def _button_violations(context: GuardContext) -> list[Violation]:
    out: list[Violation] = []
    if len(context.button_titles) > MAX_BUTTONS:
        out.append(
            Violation(
                rule_id="format.too_many_buttons",
                span=(0, 0),
                text="",
                message=f"{len(context.button_titles)} reply buttons (WhatsApp allows 3).",
            )
        )
    for title in context.button_titles:
        if len(title) > MAX_BUTTON_TITLE or not title.strip():
            out.append(
                Violation(
                    rule_id="format.button_title",
                    span=(0, 0),
                    text=title,
                    message=f"Button title of {len(title)} characters (1 to 20 allowed).",
                )
            )
    return out
