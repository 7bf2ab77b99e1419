"""Figures a debtor states in one message: amounts, period, installments, dates, option, digits.

Works on the token list produced by `normalize.tokenize`. Every number is read once and given
exactly one role, so "el 15" is a date, "6 cuotas" a count, "la 2" an option and "4821" (after an
identity question) document digits, never an amount. Money is `Decimal`, never float. Dates are
resolved against `today` and are always today or later.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

from agent.understanding.schema import Figures, Period
from policies.numbers import UNITS, WORD_VALUES, parse_word_run

# --- number words ---------------------------------------------------------------------------

NUMBER_WORDS = UNITS  # "tres" -> 3, for readers outside this module
_ARTICLE_ONE = frozenset({"un", "una", "uno"})
_MIL_NOT_MONEY = frozenset({"gracias", "disculpas", "perdones", "veces", "besos", "bendiciones"})

# Multipliers that close a number phrase: "50 lucas", "2 palos", "1.5k".
_CLOSING_MULTIPLIERS: dict[str, int] = {
    "k": 1000,
    "luca": 1000,
    "lucas": 1000,
    "lucasitas": 1000,
    "luquitas": 1000,
    "palo": 1_000_000,
    "palos": 1_000_000,
    "palitos": 1_000_000,
    "millon": 1_000_000,
    "millones": 1_000_000,
    "melon": 1_000_000,
    "melones": 1_000_000,
}

_CURRENCY_BEFORE = frozenset({"$", "€", "s", "mxn", "cop", "clp", "ars", "pen", "eur"})
_CURRENCY_AFTER = frozenset(
    {
        "pesos",
        "peso",
        "pesitos",
        "soles",
        "sol",
        "euros",
        "euro",
        "€",
        "dolares",
        "dolar",
        "dollars",
        "bolivares",
        "quetzales",
        "colones",
        "lempiras",
        "reales",
        "varos",
        "varitos",
        "mxn",
        "cop",
        "clp",
        "ars",
        "pen",
        "eur",
        "mangos",
        "lana",
        "plata",
        "barras",
    }
)

# What a count is counted in: "6 cuotas", "a 3 meses", "en tres partes".
_COUNT_UNITS = frozenset(
    {
        "cuotas",
        "cuota",
        "cuotitas",
        "pagos",
        "partes",
        "plazos",
        "mensualidades",
        "meses",
        "quincenas",
        "abonos",
        "letras",
        "exhibiciones",
        "parcialidades",
        "installments",
        "payments",
        "months",
    }
)
# Nouns that make a number neither money nor a count we track.
_NON_MONEY_NOUNS = frozenset(
    {
        "dias",
        "dia",
        "semanas",
        "semana",
        "anos",
        "ano",
        "veces",
        "vez",
        "hijos",
        "hijas",
        "ninos",
        "personas",
        "horas",
        "hrs",
        "hs",
        "minutos",
        "min",
        "am",
        "pm",
        "kilos",
        "km",
        "digitos",
        "numeros",
        "days",
        "weeks",
        "years",
        "hours",
        "porciento",
        "%",
    }
)
_ORDINAL_SUFFIX = frozenset(
    {"ro", "ero", "do", "to", "vo", "no", "mo", "er", "st", "nd", "rd", "th"}
)

_MONTHS: dict[str, int] = {
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
}
_WEEKDAYS: dict[str, int] = {
    "lunes": 0,
    "martes": 1,
    "miercoles": 2,
    "jueves": 3,
    "viernes": 4,
    "sabado": 5,
    "domingo": 6,
}
_ORDINAL_OPTIONS: dict[str, int] = {
    "first": 1,
    "second": 2,
    "third": 3,
    "primera": 1,
    "primer": 1,
    "primero": 1,
    "segunda": 2,
    "segundo": 2,
    "tercera": 3,
    "tercer": 3,
    "tercero": 3,
    "cuarta": 4,
    "cuarto": 4,
    "quinta": 5,
    "quinto": 5,
}
_OPTION_MARKERS = frozenset(
    {"la", "opcion", "option", "op", "numero", "num", "plan", "alternativa", "nro"}
)
# After an ordinal these nouns mean "the first payment", not "the first option".
_NOT_OPTION_AFTER = frozenset(
    {
        "cuota",
        "cuotas",
        "vez",
        "semana",
        "quincena",
        "mes",
        "pago",
        "mensualidad",
        "parte",
        "fecha",
        "persona",
        "mitad",
    }
)
_NEGATIONS = frozenset({"no", "imposible", "tampoco", "ni", "nunca", "jamas"})
_CLAUSE_BREAKS = frozenset({",", ".", ";", "!", "?", "¿", "pero", "mejor", "sino", "aunque"})


@dataclass
class NumPhrase:
    """One number as written: a digit group or a spelled-out phrase, with its multiplier."""

    start: int
    end: int  # exclusive token index
    value: Decimal
    multiplier: bool = False
    currency: bool = False
    word: bool = False
    raw: str = ""


@dataclass
class AgentContext:
    """What the agent's previous message was doing, so short replies can be read in context."""

    text: str = ""
    proposal: bool = False  # offered options / a plan / asked for a yes
    options: dict[int, str] = field(default_factory=dict)  # option number -> its text
    highlighted: int | None = None  # the one option the agent singled out before its list
    identity_digits: bool = False  # asked for document digits
    identity_name: bool = False  # asked "¿hablo con ...?"
    question: bool = False


# --- parsing numbers ------------------------------------------------------------------------


def parse_digit_token(tok: str) -> Decimal | None:
    """Read "1,500", "1.500", "1500.50", "1.850.000", "1.500,50" as a Decimal."""
    if not tok or not tok[0].isdigit() or any(c in tok for c in "/:-"):
        return None
    groups = re.split(r"[.,]", tok)
    seps = re.findall(r"[.,]", tok)
    try:
        if not seps:
            return Decimal(tok)
        if len(seps) == 1:
            if len(groups[1]) == 3 and len(groups[0]) <= 3 and groups[0] != "0":
                return Decimal(groups[0] + groups[1])
            return Decimal(groups[0] + "." + groups[1])
        if len(set(seps)) == 1:
            return Decimal("".join(groups))
        return Decimal("".join(groups[:-1]) + "." + groups[-1])
    except InvalidOperation:
        return None


def _is_word_number(tok: str) -> bool:
    return tok in WORD_VALUES or tok in ("mil", "millon", "millones")


def parse_numbers(tokens: list[str]) -> list[NumPhrase]:
    """Find every number phrase in the token list, longest match first."""
    out: list[NumPhrase] = []
    i = 0
    n = len(tokens)
    while i < n:
        tok = tokens[i]
        start = i
        value: Decimal | None = None
        word = False
        multiplier = False
        if tok[0].isdigit():
            value = parse_digit_token(tok)
            if value is None:
                i += 1
                continue
            i += 1
            # "2 mil", "2 mil 500", "2 mil quinientos", "1.5 millones"
            if i < n and tokens[i] == "mil" and not (i + 1 < n and tokens[i + 1] in _MIL_NOT_MONEY):
                value *= 1000
                multiplier = True
                i += 1
                if i < n and tokens[i] in WORD_VALUES and tokens[i] not in _ARTICLE_ONE:
                    rest, j = _parse_word_run(tokens, i)
                    if rest < 1000:
                        value += rest
                        i = j
                elif i < n and tokens[i].isdigit() and int(tokens[i]) < 1000:
                    nxt = tokens[i + 1] if i + 1 < n else ""
                    if nxt not in _COUNT_UNITS and nxt not in _NON_MONEY_NOUNS:
                        value += Decimal(tokens[i])
                        i += 1
        elif tok == "medio" or tok == "media":
            if i + 1 < n and tokens[i + 1] in _CLOSING_MULTIPLIERS and tokens[i + 1] != "k":
                value = Decimal("0.5")
                word = True
                i += 1
            else:
                i += 1
                continue
        elif _is_word_number(tok):
            if tok in _ARTICLE_ONE:
                nxt = tokens[i + 1] if i + 1 < n else ""
                if nxt not in ("mil", "millon") and nxt not in _CLOSING_MULTIPLIERS:
                    i += 1
                    continue
            if tok == "mil" and i + 1 < n and tokens[i + 1] in _MIL_NOT_MONEY:
                i += 1
                continue
            run, j = _parse_word_run(tokens, i)
            value = Decimal(run)
            word = True
            multiplier = any(t in ("mil", "millon", "millones") for t in tokens[i:j])
            i = j
        else:
            i += 1
            continue
        # closing multiplier: lucas, palos, k, millones
        if i < n and tokens[i] in _CLOSING_MULTIPLIERS and (tokens[i] != "k" or not word):
            value *= _CLOSING_MULTIPLIERS[tokens[i]]
            multiplier = True
            i += 1
        phrase = NumPhrase(start=start, end=i, value=value, multiplier=multiplier, word=word)
        phrase.raw = " ".join(tokens[start:i])
        prev = tokens[start - 1] if start > 0 else ""
        nxt = tokens[i] if i < n else ""
        phrase.currency = prev in _CURRENCY_BEFORE or nxt in _CURRENCY_AFTER
        out.append(phrase)
    return out


def _parse_word_run(tokens: list[str], i: int) -> tuple[int, int]:
    return parse_word_run(tokens, i, not_after_mil=_MIL_NOT_MONEY)


# --- dates ----------------------------------------------------------------------------------


def _last_day(year: int, month: int) -> int:
    return calendar.monthrange(year, month)[1]


def _add_months(d: date, months: int) -> tuple[int, int]:
    m = d.month - 1 + months
    return d.year + m // 12, m % 12 + 1


def day_of_month(today: date, day: int, months_ahead: int = 0) -> date:
    """The next date with this day of the month (today counts), or in `months_ahead` months."""
    if months_ahead:
        y, m = _add_months(today, months_ahead)
        return date(y, m, min(day, _last_day(y, m)))
    candidate = date(today.year, today.month, min(day, _last_day(today.year, today.month)))
    if candidate >= today:
        return candidate
    y, m = _add_months(today, 1)
    return date(y, m, min(day, _last_day(y, m)))


def day_and_month(today: date, day: int, month: int, year: int | None = None) -> date | None:
    """ "15 de marzo" / "15/03": this year, or next year once it has passed."""
    if not 1 <= month <= 12 or not 1 <= day <= 31:
        return None
    y = year if year is not None else today.year
    d = date(y, month, min(day, _last_day(y, month)))
    if d < today:
        if year is not None:
            return None  # an explicit past date (a birth date, a past payment)
        d = date(y + 1, month, min(day, _last_day(y + 1, month)))
    return d


def next_weekday(today: date, weekday: int, allow_today: bool) -> date:
    delta = (weekday - today.weekday()) % 7
    if delta == 0 and not allow_today:
        delta = 7
    return today + timedelta(days=delta)


def end_of_month(today: date) -> date:
    return date(today.year, today.month, _last_day(today.year, today.month))


def next_payday(today: date, strictly_after: bool = False) -> date:
    """The next quincena: the 15th or the last day of the month."""
    candidates = [date(today.year, today.month, 15), end_of_month(today)]
    y, m = _add_months(today, 1)
    candidates.append(date(y, m, 15))
    for c in candidates:
        if c > today or (c == today and not strictly_after):
            return c
    return candidates[-1]


# --- the scan -------------------------------------------------------------------------------


@dataclass
class _Found:
    kind: str  # amount | date | count | period | option
    index: int  # token index, for clause negation
    value: object


def _clauses(tokens: list[str]) -> list[int]:
    """Clause id for each token (a new clause starts at punctuation and at "pero")."""
    ids: list[int] = []
    cid = 0
    for tok in tokens:
        if tok in _CLAUSE_BREAKS:
            cid += 1
        ids.append(cid)
    return ids


def _negated_clauses(tokens: list[str], clause_ids: list[int]) -> set[int]:
    neg: set[int] = set()
    for idx, tok in enumerate(tokens):
        if tok in _NEGATIONS:
            nxt = tokens[idx + 1] if idx + 1 < len(tokens) else ""
            nxt2 = tokens[idx + 2] if idx + 2 < len(tokens) else ""
            if tok == "no" and ((nxt == "te" and nxt2 == "preocupes") or nxt == "hay"):
                continue
            neg.add(clause_ids[idx])
    return neg


_PERIOD_PATTERNS: list[tuple[Period, re.Pattern[str]]] = [
    (
        Period.biweekly,
        re.compile(
            r"\b(?:quincenal(?:es|mente)?|cada quincena|por quincena|x quincena|"
            r"cada (?:15|quince) dias|cada (?:2|dos) semanas|every (?:two|2) weeks|biweekly|"
            r"quincenas)\b"
        ),
    ),
    (
        Period.weekly,
        re.compile(
            r"\b(?:semanal(?:es|mente)?|por semana|cada semana|a la semana|weekly|every week|"
            r"a week|per week|cada (?:7|siete) dias|"
            r"cada (?:lunes|martes|miercoles|jueves|viernes|sabado|domingo))\b"
        ),
    ),
    (
        Period.monthly,
        re.compile(
            r"\b(?:al mes(?! (?:que viene|siguiente|proximo))|por mes|cada mes|"
            r"mensual(?:es|mente)?|mensualidad(?:es)?|monthly|a month|per month|every month|"
            r"cada (?:30|treinta) dias)\b"
        ),
    ),
]
_AMOUNT_THEN_QUINCENA = re.compile(r"(?:\d|mil|lucas|k|palos|pesos|soles) (?:a|por) la quincena\b")

_RELATIVE_DATE_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("pasado_manana", re.compile(r"\bpasado manana\b")),
    ("manana", re.compile(r"\bmanana\b")),
    ("hoy", re.compile(r"\b(?:hoy|today)\b")),
    (
        "next_week",
        re.compile(
            r"\b(?:la )?(?:proxima|siguiente|otra) semana\b|\bla semana que viene\b|\bnext week\b"
        ),
    ),
    (
        "end_of_month",
        re.compile(r"\b(?:fin|fines|final|finales) (?:de|del) mes\b|\bend of (?:the )?month\b"),
    ),
    (
        "quincena_next",
        re.compile(r"\b(?:la |esta )?(?:proxima|siguiente|otra) quincena\b"),
    ),
    (
        "quincena",
        re.compile(
            r"\b(?:en|para|a) la quincena\b|\besta quincena\b|"
            r"\bcuando (?:me )?(?:paguen|pague|caiga|llegue|cobre|deposit\w+) la quincena\b"
        ),
    ),
    (
        "weekday",
        re.compile(
            r"\b(?:(este|esta|proximo|el proximo|este proximo|el)\s+)?"
            r"(lunes|martes|miercoles|jueves|viernes|sabado|domingo)\b(?!\s+pasado)"
        ),
    ),
    ("in_days", re.compile(r"\b(?:en|dentro de) (\d{1,2}|[a-z]+) (dias|semanas)\b")),
]
_DATE_PREFIX = frozenset({"el", "dia"})
_DATE_PREFIX_DEL = frozenset({"antes", "partir", "despues"})
_DIGITS_CUE = re.compile(
    r"\b(?:termina|terminan|terminacion|ultimos|digitos|dni|cedula|documento|rut|curp|ine|nie|"
    r"dui|pasaporte|identificacion)\b"
)


def _char_to_token_index(norm: str, pos: int) -> int:
    return norm.count(" ", 0, pos)


def extract(
    tokens: list[str],
    today: date,
    ctx: AgentContext | None = None,
) -> tuple[Figures, bool, bool]:
    """Read the figures in a message.

    Returns ``(figures, proposed, negated_date)``: `proposed` is True when some amount, date,
    count or period sits in a clause that is not negated; `negated_date` is True when a date
    sits in a negated clause ("el 15 no puedo", "este viernes no"), a timing objection.
    """
    ctx = ctx or AgentContext()
    norm = " ".join(tokens)
    clause_ids = _clauses(tokens)
    negated = _negated_clauses(tokens, clause_ids)
    found: list[_Found] = []
    used: set[int] = set()
    figures = Figures()

    # Document digits: a 4+ digit answer to an identity question (or with an explicit cue).
    if ctx.identity_digits or _DIGITS_CUE.search(norm):
        digit_tokens = [i for i, t in enumerate(tokens) if t.isdigit()]
        joined = "".join(tokens[i] for i in digit_tokens)
        short_groups = all(len(tokens[i]) <= 4 for i in digit_tokens)
        single = len(digit_tokens) == 1
        if digit_tokens and len(joined) >= 4 and (single or (short_groups and len(joined) <= 12)):
            figures.digits = joined
            used.update(digit_tokens)

    numbers = [p for p in parse_numbers(tokens) if p.start not in used]
    n = len(tokens)
    for p in numbers:
        prev = tokens[p.start - 1] if p.start > 0 else ""
        prev2 = tokens[p.start - 2] if p.start > 1 else ""
        nxt = tokens[p.end] if p.end < n else ""
        nxt2 = tokens[p.end + 1] if p.end + 1 < n else ""
        nxt3 = tokens[p.end + 2] if p.end + 2 < n else ""
        raw = tokens[p.start]
        if nxt in _ORDINAL_SUFFIX and not p.word:
            # "el 1ro de abril": read past the ordinal suffix
            nxt, nxt2, nxt3 = nxt2, nxt3, (tokens[p.end + 3] if p.end + 3 < n else "")
        small_int = (
            not p.multiplier and p.value == p.value.to_integral_value() and 1 <= p.value <= 31
        )
        if prev in ("hace", "atraso") or nxt in ("%", "porciento"):
            continue
        if prev == "las" and prev2 == "a":
            continue  # "a las 3"
        # "N de marzo", "el 10 del proximo mes", "el 15", "el 1ro"
        if small_int and not p.currency:
            day = int(p.value)
            if nxt == "de" and nxt2 in _MONTHS:
                year = None
                if p.end + 3 < n and nxt3 in ("de", "del") and tokens[p.end + 3].isdigit():
                    year = int(tokens[p.end + 3])
                d = day_and_month(today, day, _MONTHS[nxt2], year)
                if d:
                    found.append(_Found("date", p.start, d))
                continue
            is_date_prefix = prev in _DATE_PREFIX or (prev == "del" and prev2 in _DATE_PREFIX_DEL)
            if is_date_prefix and nxt not in _COUNT_UNITS and nxt not in _NON_MONEY_NOUNS:
                if (
                    nxt in ("del", "de") and nxt2 in ("proximo", "siguiente") and nxt3 == "mes"
                ) or (nxt == "del" and nxt2 == "mes" and nxt3 == "que"):
                    found.append(_Found("date", p.start, day_of_month(today, day, 1)))
                elif nxt == "de" and nxt2 == "cada" and nxt3 == "mes":
                    found.append(_Found("date", p.start, day_of_month(today, day)))
                    found.append(_Found("period", p.start, Period.monthly))
                else:
                    found.append(_Found("date", p.start, day_of_month(today, day)))
                continue
        # "cada 15 dias" is a period, read by the period patterns
        if prev == "cada":
            continue
        # "en 2 veces" (AR/ES) is two installments
        if nxt == "veces" and prev == "en" and not p.currency and 1 < p.value <= 60:
            found.append(_Found("count", p.start, int(p.value)))
            continue
        # counts: "6 cuotas", "a 3 meses", "en tres partes"
        if nxt in _COUNT_UNITS and not p.currency and not p.multiplier:
            if 1 <= p.value <= 120 and p.value == p.value.to_integral_value():
                found.append(_Found("count", p.start, int(p.value)))
                if nxt == "quincenas":
                    found.append(_Found("period", p.start, Period.biweekly))
                elif nxt == "mensualidades":
                    found.append(_Found("period", p.start, Period.monthly))
            continue
        if nxt in _NON_MONEY_NOUNS and not p.currency:
            if prev in ("en", "de") and nxt in ("dias", "semanas") and prev2 != "cada":
                continue  # "en 3 dias" is read by the relative date patterns
            continue
        # options: "la 2", "opcion 3", "el plan 1"
        if (
            prev in _OPTION_MARKERS
            and not p.multiplier
            and not p.currency
            and 1 <= p.value <= 9
            and p.value == p.value.to_integral_value()
        ):
            found.append(_Found("option", p.start, int(p.value)))
            continue
        # years after "de" / "en" / "del"
        if (
            not p.currency
            and not p.multiplier
            and 1990 <= p.value <= 2100
            and (
                (prev in ("de", "del") and prev2 in _MONTHS)
                or prev == "ano"
                or (prev == "en" and 2015 <= p.value <= 2035)
            )
        ):
            continue
        # phone numbers / references
        if raw.isdigit() and len(raw) >= 9 and not p.currency:
            continue
        if (p.value >= 10 or p.currency or p.multiplier) and p.value > 0:
            found.append(_Found("amount", p.start, _clean_decimal(p.value)))

    # "el primero de abril", "el primero del mes que viene"
    for m in re.finditer(
        rf"\b(?:el|dia) primero (?:de ({'|'.join(_MONTHS)})|del (?:proximo|siguiente) mes|"
        r"del mes que viene|de mes)\b",
        norm,
    ):
        idx = _char_to_token_index(norm, m.start())
        if m.group(1):
            d = day_and_month(today, 1, _MONTHS[m.group(1)])
        elif m.group(0).endswith("de mes"):
            d = day_of_month(today, 1)
        else:
            d = day_of_month(today, 1, 1)
        if d:
            found.append(_Found("date", idx, d))

    # dd/mm[/yyyy] tokens
    for idx, tok in enumerate(tokens):
        if idx in used:
            continue
        m = re.fullmatch(r"(\d{1,2})[/-](\d{1,2})(?:[/-](\d{2,4}))?", tok)
        if not m:
            continue
        a, b = int(m.group(1)), int(m.group(2))
        year = None
        if m.group(3):
            year = int(m.group(3))
            if year < 100:
                year += 2000
        day, month = (a, b) if b <= 12 else (b, a)
        d = day_and_month(today, day, month, year)
        if d:
            found.append(_Found("date", idx, d))

    # relative dates
    for kind, pattern in _RELATIVE_DATE_PATTERNS:
        for m in pattern.finditer(norm):
            idx = _char_to_token_index(norm, m.start())
            before = tokens[idx - 1] if idx > 0 else ""
            before2 = tokens[idx - 2] if idx > 1 else ""
            d: date | None = None
            if kind == "pasado_manana":
                d = today + timedelta(days=2)
            elif kind == "manana":
                if before in ("la", "esta", "pasado") or (before == "de" and before2 == "hoy"):
                    continue
                d = today + timedelta(days=1)
            elif kind == "hoy":
                d = today
            elif kind == "next_week":
                d = next_weekday(today, 0, allow_today=False)
            elif kind == "end_of_month":
                d = end_of_month(today)
            elif kind == "quincena_next":
                if before in ("cada", "por"):
                    continue
                d = next_payday(today, strictly_after=True)
            elif kind == "quincena":
                if _AMOUNT_THEN_QUINCENA.search(norm[max(0, m.start() - 12) : m.end()]):
                    found.append(_Found("period", idx, Period.biweekly))
                    continue
                d = next_payday(today)
            elif kind == "weekday":
                if before in ("cada", "los", "todos"):
                    continue
                qualifier = m.group(1) or ""
                wd = _WEEKDAYS[m.group(2)]
                d = next_weekday(today, wd, allow_today=qualifier in ("este", "esta"))
                if qualifier:
                    idx = _char_to_token_index(norm, m.start(2))
            elif kind == "in_days":
                qty_tok = m.group(1)
                qty = int(qty_tok) if qty_tok.isdigit() else UNITS.get(qty_tok)
                if not qty:
                    continue
                d = today + timedelta(days=qty * (7 if m.group(2) == "semanas" else 1))
            if d is not None:
                found.append(_Found("date", idx, d))

    # periods
    for period, pattern in _PERIOD_PATTERNS:
        for m in pattern.finditer(norm):
            found.append(_Found("period", _char_to_token_index(norm, m.start()), period))
    for m in _AMOUNT_THEN_QUINCENA.finditer(norm):
        found.append(_Found("period", _char_to_token_index(norm, m.end() - 1), Period.biweekly))

    # ordinal / spelled option picks: "la segunda", "opcion dos", "la ultima"
    option = _word_option(tokens, ctx)
    if option is not None:
        found.append(_Found("option", 0, option))

    positive = [f for f in found if clause_ids[f.index] not in negated]
    proposal_kinds = {"amount", "date", "count", "period"}
    proposed = any(f.kind in proposal_kinds for f in positive)
    negated_date = any(f.kind == "date" and clause_ids[f.index] in negated for f in found)
    chosen = positive if proposed else found

    amounts: list[Decimal] = []
    dates: list[date] = []
    for f in sorted(chosen, key=lambda f: f.index):
        if f.kind == "amount" and f.value not in amounts:
            amounts.append(f.value)  # type: ignore[arg-type]
        elif f.kind == "date" and f.value not in dates:
            dates.append(f.value)  # type: ignore[arg-type]
        elif f.kind == "count" and figures.installments is None:
            figures.installments = f.value  # type: ignore[assignment]
        elif f.kind == "period" and figures.period is None:
            figures.period = f.value  # type: ignore[assignment]
    for f in found:
        if f.kind == "option" and figures.option is None:
            figures.option = f.value  # type: ignore[assignment]
    figures.amounts = amounts
    figures.dates = sorted(dates)
    return figures, proposed, negated_date


def _clean_decimal(value: Decimal) -> Decimal:
    """Decimal("1500.00") -> Decimal("1500"); Decimal("1500.50") -> Decimal("1500.5")."""
    if value == value.to_integral_value():
        return value.quantize(Decimal(1))
    return value.normalize()


def _word_option(tokens: list[str], ctx: AgentContext) -> int | None:
    n = len(tokens)
    for i, tok in enumerate(tokens):
        nxt = tokens[i + 1] if i + 1 < n else ""
        prev = tokens[i - 1] if i > 0 else ""
        ordinal_pick = tok in _ORDINAL_OPTIONS and nxt not in _NOT_OPTION_AFTER
        if ordinal_pick and (prev in ("la", "el", "opcion", "option", "con", "the") or n <= 3):
            if prev == "el" and nxt in ("de", "del"):
                continue  # "el primero de abril" is a date
            return _ORDINAL_OPTIONS[tok]
        last_pick = tok in ("ultima", "ultimo") and prev in ("la", "el", "opcion")
        if last_pick and ctx.options and nxt not in _NOT_OPTION_AFTER:
            return max(ctx.options)
        if (
            tok in ("opcion", "option", "alternativa")
            and nxt in UNITS
            and 1 <= UNITS[nxt] <= 9
            and nxt not in _ARTICLE_ONE
        ):
            return UNITS[nxt]
        if tok in ("opcion", "option") and nxt in ("uno", "una", "un"):
            return 1
        if tok == "la" and nxt in UNITS and 1 <= UNITS[nxt] <= 9 and nxt not in ("un", "una"):
            after = tokens[i + 2] if i + 2 < n else ""
            if after not in _COUNT_UNITS and after not in ("mil", "de") and ctx.options:
                return UNITS[nxt]
    return None
