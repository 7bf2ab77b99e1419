"""Spanish numbers written in words: "dos mil quinientos", "treinta y cinco", "un millón".

Shared by the understanding layer (what a debtor wrote) and the guard (what a draft says).
Tokens are lower case without accents ("veintiun", "millon").
"""

from __future__ import annotations

from collections.abc import Collection

UNITS: dict[str, int] = {
    "cero": 0,
    "uno": 1,
    "un": 1,
    "una": 1,
    "dos": 2,
    "tres": 3,
    "cuatro": 4,
    "cinco": 5,
    "seis": 6,
    "siete": 7,
    "ocho": 8,
    "nueve": 9,
    "diez": 10,
    "once": 11,
    "doce": 12,
    "trece": 13,
    "catorce": 14,
    "quince": 15,
    "dieciseis": 16,
    "diecisiete": 17,
    "dieciocho": 18,
    "diecinueve": 19,
    "veinte": 20,
    "veintiun": 21,
    "veintiuno": 21,
    "veintiuna": 21,
    "veintidos": 22,
    "veintitres": 23,
    "veinticuatro": 24,
    "veinticinco": 25,
    "veintiseis": 26,
    "veintisiete": 27,
    "veintiocho": 28,
    "veintinueve": 29,
}
TENS: dict[str, int] = {
    "treinta": 30,
    "cuarenta": 40,
    "cincuenta": 50,
    "sesenta": 60,
    "setenta": 70,
    "ochenta": 80,
    "noventa": 90,
}
HUNDREDS: dict[str, int] = {
    "cien": 100,
    "ciento": 100,
    "doscientos": 200,
    "doscientas": 200,
    "trescientos": 300,
    "trescientas": 300,
    "cuatrocientos": 400,
    "cuatrocientas": 400,
    "quinientos": 500,
    "quinientas": 500,
    "seiscientos": 600,
    "seiscientas": 600,
    "setecientos": 700,
    "setecientas": 700,
    "ochocientos": 800,
    "ochocientas": 800,
    "novecientos": 900,
    "novecientas": 900,
}
WORD_VALUES: dict[str, int] = {**UNITS, **TENS, **HUNDREDS}
SCALES: dict[str, int] = {"mil": 1000, "millon": 1_000_000, "millones": 1_000_000}


def parse_word_run(
    tokens: list[str], i: int, not_after_mil: Collection[str] = ()
) -> tuple[int, int]:
    """Parse a number in words from index i: (value, index after it).

    "dos tres" stops after "dos"; "mil" followed by a word in `not_after_mil` ("mil gracias")
    is not read as a number.
    """
    total = 0
    current = 0
    j = i
    n = len(tokens)
    prev_val: int | None = None
    while j < n:
        tok = tokens[j]
        if tok in WORD_VALUES:
            if prev_val is not None and prev_val < 10 and tok not in HUNDREDS:
                break  # "dos tres" is two numbers
            val = WORD_VALUES[tok]
            current += val
            prev_val = val
            j += 1
        elif tok == "mil":
            if j + 1 < n and tokens[j + 1] in not_after_mil:
                break
            current = (current or 1) * 1000
            total += current
            current = 0
            prev_val = None
            j += 1
        elif tok in ("millon", "millones"):
            total = (total + current or 1) * 1_000_000
            current = 0
            prev_val = None
            j += 1
        elif (
            tok == "y"
            and prev_val is not None
            and prev_val in TENS.values()
            and j + 1 < n
            and tokens[j + 1] in UNITS
            and UNITS[tokens[j + 1]] < 10
        ):
            j += 1
        else:
            break
    return total + current, j
