"""Conversation memory for prompts: a rolling summary plus the last few messages, bounded.

The summary is written by the agent itself, one short line per turn, from what the turn
decided (the debtor's intent and objections, the action taken): no extra model call, and it
cannot drift from what happened. Only the newest lines and messages are kept, each cut to a
length, so a prompt stays under its budget however long the conversation runs.
"""

from __future__ import annotations

import re
from typing import Any

SUMMARY_LINES = 12  # newest turns kept in the summary
RECENT_MESSAGES = 6  # newest messages quoted verbatim
MESSAGE_CHARS = 300  # a quoted message is cut to this
MEMORY_CHARS = 4000  # about 1,100 tokens of Spanish: the whole memory section at most

IDENTITY_PLACEHOLDER = "(dígitos de verificación)"

_INTENTS = {
    "objection": "planteó una objeción",
    "counteroffer": "hizo una contrapropuesta",
    "accept": "aceptó",
    "reject": "rechazó la propuesta",
    "pay_now": "quiso pagar o preguntó cómo pagar",
    "info_request": "pidió información",
    "already_paid": "dijo que ya pagó",
    "wrong_person": "dijo no ser la persona buscada",
    "request_human": "pidió hablar con una persona",
    "opt_out": "pidió no recibir más mensajes",
    "other": "escribió",
}
_OBJECTIONS = {"amount": "monto", "timing": "tiempo", "emotional": "emocional"}
_ACTIONS = {
    "verify_identity": "pedimos confirmar identidad",
    "inform": "informamos saldo y opciones",
    "offer": "presentamos opciones",
    "confirm_plan": "pedimos confirmar un plan",
    "propose_alternative": "propusimos una alternativa",
    "agreement_active": "quedó un acuerdo activo",
    "agreement_pending_approval": "el acuerdo quedó en revisión",
    "await_approval": "seguimos esperando la revisión",
    "acknowledge": "agradecimos",
    "verify_payment": "pasamos el pago a verificación",
    "handoff": "pasamos a una persona",
    "confirm_opt_out": "confirmamos la baja",
    "wrong_party": "nos disculpamos por el error",
    "clarify": "pedimos aclarar",
    "media_not_supported": "pedimos texto en vez de archivos",
}


def summary_line(understanding: dict[str, Any], action: str) -> str:
    """One line for the turn just taken, in Spanish (it is read by the model)."""
    said = _INTENTS.get(str(understanding.get("intent", "")), "escribió")
    objections = [_OBJECTIONS[o] for o in understanding.get("objections", []) if o in _OBJECTIONS]
    if objections:
        said += f" ({', '.join(objections)})"
    if understanding.get("hardship"):
        said += ", con dificultades económicas o de salud"
    did = _ACTIONS.get(action, "respondimos")
    return f"El cliente {said}; {did}."


def rolled(summary: list[str], line: str) -> list[str]:
    """The summary with `line` added, keeping only the newest SUMMARY_LINES."""
    return [*summary, line][-SUMMARY_LINES:]


def memory_text(summary: list[str], history: list[dict[str, str]], turns_before: int = 0) -> str:
    """The memory section of a prompt, never longer than MEMORY_CHARS."""
    parts: list[str] = []
    if summary:
        skipped = max(0, turns_before - len(summary))
        if skipped:
            parts.append(f"(Hubo {skipped} turnos antes de estos.)")
        parts.extend(f"- {line}" for line in summary[-SUMMARY_LINES:])
    recent = history[-RECENT_MESSAGES:]
    if recent:
        parts.append("Últimos mensajes:")
        for item in recent:
            who = "Cliente" if item.get("role") == "debtor" else "Asistente"
            parts.append(f"{who}: {_cut(item.get('text', ''))}")
    text = "\n".join(parts)
    while len(text) > MEMORY_CHARS and len(parts) > 1:
        parts.pop(0)  # the oldest goes first
        text = "\n".join(parts)
    return text[:MEMORY_CHARS]


def is_identity_answer(text: str) -> bool:
    """Only digits ("4821", "48 21"): an answer to the identity question, kept from the model."""
    return re.fullmatch(r"[\d\s.-]{3,}", text.strip()) is not None


def masked(text: str) -> str:
    return IDENTITY_PLACEHOLDER if is_identity_answer(text) else text


def _cut(text: str) -> str:
    flat = " ".join(masked(text).split())
    return flat if len(flat) <= MESSAGE_CHARS else flat[: MESSAGE_CHARS - 1] + "…"
