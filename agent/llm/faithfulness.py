"""Does a model draft say what the reference message says, and nothing else?

The guard knows which figures a reply may mention at all (every option on the table); a model
rewording one message can still swap them — confirm plan 2 with the figures of plan 1 — or drop
the terms the debtor must see. So a model draft must carry exactly the figures of the reference
it was asked to reword (compared as digit groups: money, dates, counts, percents and option
numbers all carry digits in the templates), and must read as a message to the debtor, not as
an echo of the prompt or a loop. Deterministic, cheap, and only for model drafts: the templates
are the reference.
"""

from __future__ import annotations

import re
from collections import Counter

_DIGITS = re.compile(r"\d(?:[\d.,]*\d)?")
# Words that only appear when a model talks about its instructions instead of to the debtor.
_PROMPT_ECHO = re.compile(
    r"mensaje de referencia|\breferencia aprobad|\bel cliente\b|\bborrador\b|\binstrucci[oó]n",
    re.IGNORECASE,
)
_PLACEHOLDER = re.compile(r"\{[^{}\n]{1,30}\}")  # "{saldo}" copied from a playbook example
MIN_LINE_CHARS = 12  # shorter repeated lines ("Gracias.") are not a loop


def figures(text: str) -> Counter[str]:
    """Digit groups, normalised ("4,320" and "4.320" are the same figure)."""
    return Counter(re.sub(r"[.,]", "", m) for m in _DIGITS.findall(text))


def unfaithful(draft: str, reference: str, literals: tuple[str, ...] = ()) -> list[str]:
    """Why `draft` is not a faithful rewording of `reference` (in Spanish: fed back to the model).

    `literals` are strings quoted as-is whose digits are not figures (the account reference).
    """
    reasons: list[str] = []
    said = figures(_without(draft, literals))
    meant = figures(_without(reference, literals))
    extra = sorted(set(said) - set(meant))
    missing = sorted(set(meant) - set(said))
    if extra:
        reasons.append(f"Incluiste cifras que no están en la referencia: {', '.join(extra)}.")
    if missing:
        reasons.append(f"Faltan cifras de la referencia: {', '.join(missing)}.")
    if _PROMPT_ECHO.search(draft):
        reasons.append("Escribe directamente al cliente, sin hablar de la referencia ni de él.")
    if _PLACEHOLDER.search(draft):
        reasons.append("Quedaron marcadores entre llaves: escribe el mensaje completo.")
    if _repeats(draft):
        reasons.append("Hay frases repetidas.")
    if len(draft) > max(2 * len(reference), len(reference) + 400):
        reasons.append("Es demasiado largo: acórtalo.")
    return reasons


def _without(text: str, literals: tuple[str, ...]) -> str:
    for literal in literals:
        if literal:
            text = text.replace(literal, " ")
    return text


def _repeats(text: str) -> bool:
    parts = [p.strip().lower() for p in re.split(r"[\n.!?]+", text)]
    counts = Counter(p for p in parts if len(p) >= MIN_LINE_CHARS)
    return any(n > 1 for n in counts.values())
