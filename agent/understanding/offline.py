"""Offline understanding: a deterministic, lexicon-based reading of one debtor message.

No model, no network: the same message (with the same agent message and clock) always gives the
same `Understanding`. The LLM path can replace it; this one is the fallback and the baseline.

Decision order (first match wins, objections are collected throughout):

1. opt_out, wrong_person, request_human — always honoured downstream, so they beat everything.
2. Identity answers: digits after "¿los últimos 4 dígitos?", yes after "¿hablo con ...?" -> other;
   a bare "no" after "¿hablo con ...?" -> wrong_person.
3. already_paid.
4. Figures the debtor proposes (amount, date, count, period; "la mitad") -> counteroffer, unless
   they only restate the agent's own offer with a "yes"/choice word -> accept, or hedge a bare
   date ("la semana que viene capaz") -> objection. "Pago hoy" -> pay_now. Hypothetical
   questions ("¿qué pasa si pago después?") -> info_request.
5. An amount or timing objection -> objection.
6. pay_now.
7. An option pick ("la 2", "opción dos", "2️⃣", "la de 3 cuotas") -> accept with figures.option.
8. Explicit refusals -> reject.
9. Explicit acceptance, or a bare "sí / ok / dale / 👍" after a proposal -> accept (with the
   option the agent singled out, if it did: "te destaco la opción 1" + "sí" -> option 1). A yes
   that carries hardship ("sí, pero me quedé sin trabajo") or is "ya no ..." is not one.
10. info_request; then an emotional-only objection; then a bare question -> info_request.
11. Greetings, thanks, noise -> other.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import lru_cache

from agent.understanding import lexicon as lx
from agent.understanding.figures import NUMBER_WORDS, AgentContext, extract, parse_numbers
from agent.understanding.normalize import strip_accents, tokenize
from agent.understanding.schema import Figures, Intent, Objection, Understanding

__all__ = [
    "affirms_identity",
    "bare_option_number",
    "classify",
    "confirms",
    "read_agent_message",
    "wants_full_payment",
]

_OPTION_MARKER_RE = re.compile(
    r"(?:^|[\s:])(?:opcion|option|alternativa)\s*(\d)\s*[:).-]?|(?:^|\n|\s)(\d)\s*[).]\s",
)
_KEYCAP_RE = re.compile(r"([0-9])\ufe0f?\u20e3")
_CAPITAL_NAME_AFTER_NO_SOY = re.compile(r"\b[Nn]o soy ([A-ZÁÉÍÓÚÑ][a-záéíóúñ]+)")
_LUMP_SUM_WORDS = re.compile(r"\b(?:unico|contado|total|un pago|un solo pago|una sola|de una)\b")
_COUNT_UNIT_WORDS = r"(?:cuotas|pagos|plazos|mensualidades|quincenas|meses|partes)"


@lru_cache(maxsize=256)
def read_agent_message(text: str | None) -> AgentContext:
    """Work out what the agent's last message asked: a proposal, options, identity."""
    if not text:
        return AgentContext()
    raw = strip_accents(_KEYCAP_RE.sub(r" \1) ", text).lower())
    tokens = tokenize(text)
    norm = " ".join(tokens)
    ctx = AgentContext(text=norm, question="?" in text)
    ctx.options = _parse_options(raw)
    ctx.highlighted = _highlighted_option(raw, ctx.options)
    ctx.identity_digits = bool(lx.AGENT_IDENTITY_DIGITS.search(norm))
    ctx.identity_name = not ctx.identity_digits and bool(lx.AGENT_IDENTITY_NAME.search(norm))
    ctx.proposal = not ctx.identity_digits and (
        len(ctx.options) >= 2
        or bool(lx.AGENT_PROPOSAL.search(_last_question(norm)))
        or (not ctx.identity_name and bool(lx.AGENT_ASKS_YES.search(norm)))
    )
    return ctx


def _last_question(norm: str) -> str:
    """The agent's last question ("¿confirmas el plan ?"), where a yes/no is being asked."""
    end = norm.rfind("?")
    if end < 0:
        return ""
    start = norm.rfind("¿", 0, end)
    if start < 0:
        start = max(norm.rfind(".", 0, end), norm.rfind("!", 0, end), 0)
    return norm[start : end + 1]


def _parse_options(raw: str) -> dict[int, str]:
    markers: list[tuple[int, int, int]] = []  # (number, start, end)
    expected = 1
    for m in _OPTION_MARKER_RE.finditer(raw):
        num = int(m.group(1) or m.group(2))
        if num == expected:
            markers.append((num, m.start(), m.end()))
            expected += 1
    if len(markers) < 2:
        return {}
    options: dict[int, str] = {}
    for i, (num, _start, end) in enumerate(markers):
        stop = markers[i + 1][1] if i + 1 < len(markers) else len(raw)
        options[num] = " ".join(tokenize(raw[end:stop]))
    return options


_LIST_LINE_RE = re.compile(r"(?:^|\n)\s*\d\s*[).]\s")
_OPTION_MENTION_RE = re.compile(r"\b(?:opcion|option|alternativa)\s*(\d)\b")


def _highlighted_option(raw: str, options: dict[int, str]) -> int | None:
    """The option the agent singled out before listing them all ("te destaco la opción 1").

    Only the text before the list counts, and only when it names exactly one listed option:
    a "sí" to that message means that plan.
    """
    if len(options) < 2:
        return None
    first_line = _LIST_LINE_RE.search(raw)
    preamble = raw[: first_line.start()] if first_line else ""
    named = {int(m.group(1)) for m in _OPTION_MENTION_RE.finditer(preamble)}
    if len(named) == 1 and (number := named.pop()) in options:
        return number
    return None


def _agent_numbers(ctx: AgentContext) -> tuple[set[Decimal], set[int]]:
    """Amounts and counts mentioned by the agent (to tell "ok, las 8 cuotas" from a counter)."""
    tokens = ctx.text.split()
    amounts: set[Decimal] = set()
    counts: set[int] = set()
    for p in parse_numbers(tokens):
        nxt = tokens[p.end] if p.end < len(tokens) else ""
        if re.fullmatch(_COUNT_UNIT_WORDS, nxt):
            counts.add(int(p.value))
        else:
            amounts.add(p.value)
    return amounts, counts


def _option_by_content(tokens: list[str], norm: str, ctx: AgentContext) -> int | None:
    """ "la de 3 cuotas", "dale con las 3 cuotas", "la del pago único" -> the option number."""
    if not ctx.options:
        return None
    if not (lx.CHOOSE_CUE.search(norm) or len(tokens) <= 4):
        return None
    m = re.search(rf"\b(\d{{1,2}}|[a-z]+) {_COUNT_UNIT_WORDS}\b", norm) or re.search(
        r"\b(?:la|las|el|los) (?:de|del) (\d{1,2})\b", norm
    )
    if m:
        qty = m.group(1)
        wanted = qty if qty.isdigit() else None
        if wanted is None:
            value = NUMBER_WORDS.get(qty)
            wanted = str(value) if value else None
        if wanted:
            hits = [
                num
                for num, text in ctx.options.items()
                if re.search(rf"\b{wanted} {_COUNT_UNIT_WORDS}\b", text)
            ]
            if len(hits) == 1:
                return hits[0]
    lump_ref = re.search(r"\b(?:la|el) (?:de|del)\b|^\W*(?:el|la)\b", norm) or len(tokens) <= 4
    if _LUMP_SUM_WORDS.search(norm) and lump_ref:
        hits = [num for num, text in ctx.options.items() if _LUMP_SUM_WORDS.search(text)]
        if len(hits) == 1:
            return hits[0]
    for word in ("quincenal", "mensual", "semanal"):
        if re.search(rf"\b(?:la|el) {word}\b", norm):
            hits = [num for num, text in ctx.options.items() if word in text]
            if len(hits) == 1:
                return hits[0]
    return None


def _only(tokens: list[str], words: frozenset[str], phrases: tuple[str, ...] = ()) -> bool:
    """True when the message is made only of these words/phrases (plus punctuation)."""
    text = " " + " ".join(t for t in tokens if t not in lx.SOFT_TOKENS) + " "
    for phrase in phrases:
        text = text.replace(" " + phrase + " ", " ")
    rest = [t for t in text.split() if t]
    return (
        bool(tokens)
        and all(t in words for t in rest)
        and any(t not in lx.SOFT_TOKENS for t in tokens)
    )


def _starts_with_yes(tokens: list[str]) -> bool:
    words = [t for t in tokens if t not in lx.SOFT_TOKENS]
    if not words:
        return False
    if words[0] in ("si", "ya"):
        # "si pago de contado ..." is "if", not "yes"; "ya no tengo trabajo", "ya pagué" are
        # "already", not "ok"
        at = tokens.index(words[0])
        follower = tokens[at + 1] if at + 1 < len(tokens) else ""
        allowed = lx.YES_WORDS | (_YA_DONE if words[0] == "ya" else frozenset())
        if follower and follower not in lx.SOFT_TOKENS and follower not in allowed:
            return False
    first_two = " ".join(words[:2])
    return words[0] in lx.YES_WORDS - {
        "gracias",
        "pues",
        "entonces",
        "igual",
        "bien",
        "eso",
    } or any(first_two.startswith(p) for p in lx.YES_PHRASES[:8])


_YA_DONE = frozenset({"esta", "estuvo", "quedo", "quedamos"})  # "ya está", "ya quedó": done, ok


def affirms_identity(text: str) -> bool:
    """A yes to "¿hablo con Ana?": "sí", "soy yo", "sí, ella habla"."""
    tokens = tokenize(text)
    norm = " ".join(tokens)
    return _is_pure_yes(tokens) or bool(_SELF_CONFIRM.search(norm))


# An explicit yes anywhere in a confirmation ("bueno, de acuerdo", "claro que sí, confirmo").
_EXPLICIT_YES = re.compile(
    r"(?<!no )\b(?:ok|okay|dale|va|sale|listo|lista|vale|claro|de acuerdo|confirmo|confirmamos|"
    r"confirmado|acepto|aceptamos|aceptado|perfecto|correcto|hagamoslo|adelante|simon|orale|"
    r"me parece bien|esta bien|trato hecho|yes|sure)\b|\bsi(?= ?[,.!]| ?$)"
)
_FULL_PAYMENT = re.compile(
    r"\b(?:todo|toda la deuda|el total|la totalidad|completo|completa|de una vez|de una sola vez|"
    r"de golpe|de contado|un solo pago|pago unico|liquidar\w*|saldar\w*|finiquitar\w*|"
    r"in full|everything)\b"
)


def confirms(text: str) -> bool:
    """An explicit yes: what may turn a restated plan into an agreement.

    Bad news, doubts or anything without an affirmative word ("ya no tengo trabajo", "no sé",
    "mmm") never confirm, whatever else the message says.
    """
    tokens = tokenize(text)
    norm = " ".join(tokens)
    if _is_pure_yes(tokens) or _starts_with_yes(tokens):
        return True
    return _search_affirmed(lx.ACCEPT_STRONG, norm) or _search_affirmed(_EXPLICIT_YES, norm)


def wants_full_payment(text: str) -> bool:
    """The debtor asks to pay the whole balance ("quiero pagar todo de una vez", "liquidarlo")."""
    return _search_affirmed(_FULL_PAYMENT, " ".join(tokenize(text)))


def bare_option_number(text: str) -> int | None:
    """A message that is only a small number ("1", "2️⃣", "3."): an option pick when options are
    on the table (a pressed option button reads the same)."""
    return _bare_option_digit(tokenize(_KEYCAP_RE.sub(r"\1", text or "")))


_SELF_CONFIRM = re.compile(r"\b(?:soy yo|yo soy|el habla|ella habla|con el|con ella)\b")


def _is_pure_yes(tokens: list[str]) -> bool:
    if not _only(tokens, lx.YES_WORDS, lx.YES_PHRASES):
        return False
    words = [t for t in tokens if t not in lx.SOFT_TOKENS]
    return any(w not in {"gracias", "por", "favor", "pues", "entonces", "igual"} for w in words)


def _is_pure_no(tokens: list[str]) -> bool:
    words = [t for t in tokens if t not in lx.SOFT_TOKENS]
    while words and words[0] in ("pues", "bueno", "mmm", "la", "verdad"):
        words = words[1:]
    if not words or words[0] not in {"no", "tampoco", "ninguna", "ninguno", "paso", "nunca"}:
        return False
    return _only(tokens, lx.NO_WORDS, ("asi no", "no gracias", "muchas gracias", "esa tampoco"))


def _already_paid(norm: str) -> bool:
    for m in lx.ALREADY_PAID.finditer(norm):
        conditional = lx.ALREADY_PAID_FUTURE.search(norm[: m.start()])
        if conditional and not m.group(0).startswith("ya "):
            continue
        if lx.ALREADY_PAID_PARTIAL.search(norm[m.end() :]):
            continue
        return True
    return False


def _past_accented(text: str, norm: str) -> bool:
    """ "pagué el 5" (with the accent) is a past payment; "¿y si pagué de más?" is not."""
    m = lx.PAST_ACCENTED.search(text.lower())
    if not m:
        return False
    before = text.lower()[: m.start()]
    return not re.search(r"\b(?:si|cuando|que)\s+$", before) and "?" not in norm


def _wrong_person(norm: str, text: str) -> bool:
    if lx.WRONG_PERSON.search(norm):
        return True
    if _CAPITAL_NAME_AFTER_NO_SOY.search(text):
        return True
    return bool(lx.WRONG_PERSON_WEAK.search(norm)) and not lx.WRONG_PERSON_GUARD.search(norm)


_NEGATED_BEFORE = re.compile(r"\b(?:no|ni|nunca|tampoco|jamas)(?: \w+)? $")


def _search_affirmed(pattern: re.Pattern[str], norm: str) -> bool:
    """A match not preceded by a negation ("no quiero pagar" is not "quiero pagar")."""
    return any(not _NEGATED_BEFORE.search(norm[: m.start()]) for m in pattern.finditer(norm))


def _mostly_figures(tokens: list[str]) -> bool:
    """A bare counter such as "500 al mes", "¿en 6 cuotas?", "12 meses mejor"."""
    filler = {"al", "por", "en", "a", "de", "y", "el", "la", "las", "los", "cada", "mes", "x"}
    other = [
        t
        for t in tokens
        if t not in lx.SOFT_TOKENS and t not in filler and not t[:1].isdigit() and t != "$"
    ]
    return len(other) <= 3


def classify(
    text: str, last_agent_message: str | None = None, now: datetime | None = None
) -> Understanding:
    """Read one debtor message. Deterministic; `now` defaults to the current UTC time."""
    now = now or datetime.now(UTC)
    today: date = now.date()
    tokens = tokenize(text or "")
    norm = " ".join(tokens)
    ctx = read_agent_message(last_agent_message)
    figures, proposed, negated_date = extract(tokens, today, ctx)

    hardship = bool(lx.HARDSHIP.search(norm))
    vulnerability = bool(lx.VULNERABILITY.search(norm))
    dispute = bool(lx.DISPUTE.search(norm))
    amount = dispute or bool(lx.AMOUNT.search(norm))
    timing_strong = bool(lx.TIMING_STRONG.search(norm)) or negated_date
    timing_weak = bool(lx.TIMING_WEAK.search(norm))
    emotional = bool(lx.EMOTION.search(norm)) or hardship or vulnerability

    def objections(counter: bool = False) -> list[Objection]:
        out: set[Objection] = set()
        if amount:
            out.add(Objection.amount)
        if timing_strong or (timing_weak and not counter):
            out.add(Objection.timing)
        if emotional:
            out.add(Objection.emotional)
        return sorted(out)

    def result(intent: Intent, confidence: float, counter: bool = False) -> Understanding:
        return Understanding(
            intent=intent,
            objections=objections(counter),
            figures=figures,
            hardship=hardship,
            vulnerability=vulnerability,
            dispute=dispute,
            confidence=round(max(0.0, min(1.0, confidence)), 2),
        )

    if not tokens:
        return result(Intent.other, 0.3)

    # 1. the intents that always win
    if lx.OPT_OUT.search(norm):
        return result(Intent.opt_out, 0.95)
    if _wrong_person(norm, text):
        return result(Intent.wrong_person, 0.9)
    if lx.REQUEST_HUMAN.search(norm):
        return result(Intent.request_human, 0.9)

    pure_yes = _is_pure_yes(tokens)
    pure_no = _is_pure_no(tokens)

    # 2. identity answers
    if figures.digits and (ctx.identity_digits or len(tokens) <= 8):
        figures.amounts = []
        return result(Intent.other, 0.9)
    if ctx.identity_name:
        if pure_no or (tokens[0] == "no" and not lx.INFO_REQUEST.search(norm)):
            return result(Intent.wrong_person, 0.8)
        if pure_yes or _SELF_CONFIRM.search(norm):
            return result(Intent.other, 0.8)

    # 3. already paid
    if _already_paid(norm) or _past_accented(text, norm):
        return result(Intent.already_paid, 0.9)

    # 4. figures proposed by the debtor
    info_strong = bool(lx.INFO_REQUEST.search(norm))
    content_option = _option_by_content(tokens, norm, ctx)
    if figures.option is None and content_option is not None:
        figures.option = content_option
    only_today = (
        bool(figures.dates)
        and all(d == today for d in figures.dates)
        and not (figures.amounts or figures.installments or figures.period)
    )
    if proposed and only_today and not timing_strong:
        # "pago hoy", "hoy te liquido todo": paying now, not a counter
        if _search_affirmed(lx.PAY_NOW, norm) or re.search(r"\b(?:hoy|ahora|ya)\b", norm):
            if lx.COUNTER_CUE.search(norm) or lx.PAY_NOW.search(norm):
                return result(Intent.pay_now, 0.8)
        elif lx.COUNTER_CUE.search(norm) or _mostly_figures(tokens):
            return result(Intent.counteroffer, 0.7, counter=True)
    real_proposal = proposed and not only_today
    hedged_date = bool(lx.HEDGE.search(norm)) and not (figures.amounts or figures.installments)
    if real_proposal and hedged_date:
        timing_strong = True  # read by objections(): "la semana que viene capaz" is not a promise
        return result(Intent.objection, 0.6)
    if real_proposal and (
        lx.COUNTER_CUE.search(norm) or (_mostly_figures(tokens) and not info_strong)
    ):
        if ctx.proposal and _restates_agent(figures, ctx, norm):
            return result(Intent.accept, 0.85)
        return result(Intent.counteroffer, 0.85, counter=True)

    if _search_affirmed(lx.PARTIAL_OFFER, norm) and not negated_date:
        return result(Intent.counteroffer, 0.7, counter=True)

    if info_strong and lx.INFO_HYPOTHETICAL.search(norm) and "?" in tokens:
        return result(Intent.info_request, 0.75)

    # 5. amount / timing objections
    if amount or timing_strong or timing_weak:
        return result(Intent.objection, 0.85 if (amount or timing_strong) else 0.7)

    # 6. pay now
    if _search_affirmed(lx.PAY_NOW, norm):
        return result(Intent.pay_now, 0.85)

    # 7. option picks
    bare_digit = _bare_option_digit(tokens)
    if figures.option is None and bare_digit is not None and ctx.options:
        figures.option = bare_digit
    asks_about_option = "?" in tokens and bool(
        lx.QUESTION_WORD.search(norm) or re.search(r"\b(?:es|tiene|incluye|hay|lleva|son)\b", norm)
    )
    if figures.option is not None and not pure_no and not info_strong and not asks_about_option:
        if ctx.options or re.search(r"\b(?:opcion|option|alternativa|plan)\b", norm):
            return result(Intent.accept, 0.9)
        if lx.CHOOSE_CUE.search(norm) or len(tokens) <= 3:
            return result(Intent.accept, 0.7)

    # 8. refusals
    if pure_no:
        if ctx.identity_digits:
            return result(Intent.other, 0.5)
        return result(Intent.reject, 0.85 if ctx.proposal else 0.6)
    if lx.REJECT.search(norm) and not info_strong:
        return result(Intent.reject, 0.8)

    # 9. acceptance (bad news is never a yes: "sí, pero me quedé sin trabajo" is read below)
    strong = _search_affirmed(lx.ACCEPT_STRONG, norm)
    says_yes = ctx.proposal and (pure_yes or _starts_with_yes(tokens))
    if strong or (says_yes and not (hardship or vulnerability)):
        no_figures = not (figures.amounts or figures.installments or figures.dates)
        if figures.option is None and ctx.highlighted is not None and no_figures:
            figures.option = ctx.highlighted  # "sí" to "te destaco la opción 1": that plan
        return result(Intent.accept, 0.85 if strong or pure_yes else 0.7)

    # 10. questions and feelings
    if info_strong:
        return result(Intent.info_request, 0.8)
    if lx.REJECT.search(norm):
        return result(Intent.reject, 0.6)
    if emotional:
        return result(Intent.objection, 0.7)
    words = [t for t in tokens if t not in lx.SOFT_TOKENS]
    if (
        "?" in tokens
        and not lx.SMALL_TALK.search(norm)
        and (lx.QUESTION_WORD.search(norm) or len(words) >= 3)
    ):
        return result(Intent.info_request, 0.5)

    # 11. everything else
    if lx.GREETING_OR_THANKS.search(norm) or pure_yes:
        return result(Intent.other, 0.7)
    return result(Intent.other, 0.35)


def _bare_option_digit(tokens: list[str]) -> int | None:
    words = [t for t in tokens if t not in lx.SOFT_TOKENS and t not in lx.YES_WORDS]
    if len(words) == 1 and words[0].isdigit() and 1 <= int(words[0]) <= 9:
        return int(words[0])
    return None


def _restates_agent(figures: Figures, ctx: AgentContext, norm: str) -> bool:
    """True when every figure the debtor gave is one the agent already offered."""
    if re.search(r"\b(?:mejor|pero|y si|que tal|en vez|o sea|puedo|podria|se puede)\b", norm):
        return False
    if not (lx.CHOOSE_CUE.search(norm) or lx.ACCEPT_STRONG.search(norm)):
        return False
    if figures.dates:
        return False
    amounts, counts = _agent_numbers(ctx)
    if any(a not in amounts for a in figures.amounts):
        return False
    return not (figures.installments is not None and figures.installments not in counts)
