"""Text normalisation for the offline classifier.

Debtor messages arrive with missing or extra accents, shouting, stretched letters ("siiii"),
WhatsApp abbreviations ("xq", "q", "x favor"), regional fillers ("po", "che", "wey") and emoji.
`normalize` turns one message into a lower-case, accent-free, space-separated token string that
the lexicon patterns and the figure extractor both read. Digits and their separators are kept
intact ("$1,500.50", "15/03", "1.850.000") so figures survive.
"""

from __future__ import annotations

import re
import unicodedata

# Emoji that carry meaning in a collections chat, mapped to plain words.
_EMOJI_WORDS: dict[str, str] = {
    "👍": " ok ",
    "👌": " ok ",
    "✅": " ok ",
    "✔": " ok ",
    "☑": " ok ",
    "🤝": " trato hecho ",
    "🙌": " ok ",
    "👎": " no ",
    "❌": " no ",
    "✖": " no ",
    "🚫": " no ",
    "🙏": " por favor ",
    "😢": " emosad ",
    "😭": " emosad ",
    "😞": " emosad ",
    "😔": " emosad ",
    "😩": " emosad ",
    "😫": " emosad ",
    "😟": " emosad ",
    "😰": " emosad ",
    "😥": " emosad ",
    "🥺": " emosad ",
    "💔": " emosad ",
    "☹": " emosad ",
    "🙁": " emosad ",
    "😡": " emoangry ",
    "🤬": " emoangry ",
    "😤": " emoangry ",
    "😠": " emoangry ",
    "💸": " dinero ",
    "💰": " dinero ",
    "💵": " dinero ",
}

_KEYCAP_RE = re.compile(r"([0-9#*])\ufe0f?\u20e3")
_SKIN_TONE_RE = re.compile("[\U0001f3fb-\U0001f3ff\ufe0f\u200d]")
_REPEAT_RE = re.compile(r"([a-z])\1{2,}")
_FINAL_DOUBLE_VOWEL_RE = re.compile(r"([aiou])\1\b")
_TOKEN_RE = re.compile(r"\d+(?:[.,/:-]\d+)*|[a-z]+|[$€%?¿!.,;]")

# Single-token rewrites: WhatsApp abbreviations, common typos, Spanglish.
_ABBREVIATIONS: dict[str, str] = {
    "q": "que",
    "qe": "que",
    "ke": "que",
    "k": "que",
    "xq": "porque",
    "pq": "porque",
    "pk": "porque",
    "xk": "porque",
    "porq": "porque",
    "xque": "porque",
    "tb": "tambien",
    "tmb": "tambien",
    "tbn": "tambien",
    "tmbn": "tambien",
    "x": "por",
    "xfa": "por favor",
    "xfavor": "por favor",
    "xfis": "por favor",
    "porfa": "por favor",
    "porfis": "por favor",
    "porfavor": "por favor",
    "plis": "por favor",
    "pliz": "por favor",
    "pls": "por favor",
    "plz": "por favor",
    "please": "por favor",
    "nose": "no se",
    "ntp": "no te preocupes",
    "sta": "esta",
    "ta": "esta",
    "tas": "estas",
    "toy": "estoy",
    "stoy": "estoy",
    "d": "de",
    "dnd": "donde",
    "cdo": "cuando",
    "cnd": "cuando",
    "dsp": "despues",
    "dps": "despues",
    "dsps": "despues",
    "desp": "despues",
    "bn": "bien",
    "pa": "para",
    "xa": "para",
    "pal": "para el",
    "msj": "mensaje",
    "msg": "mensaje",
    "msjs": "mensajes",
    "mnn": "manana",
    "mna": "manana",
    "mnna": "manana",
    "kiero": "quiero",
    "kien": "quien",
    "kuanto": "cuanto",
    "nesesito": "necesito",
    "nececito": "necesito",
    "ola": "hola",
    "holi": "hola",
    "holis": "hola",
    "oki": "ok",
    "okis": "ok",
    "okey": "ok",
    "okay": "ok",
    "oka": "ok",
    "okas": "ok",
    "okk": "ok",
    "oky": "ok",
    "okp": "ok",
    "okok": "ok ok",
    "grax": "gracias",
    "grs": "gracias",
    "grcs": "gracias",
    "gcs": "gracias",
    "grasias": "gracias",
    "thx": "gracias",
    "thanks": "gracias",
    "thank": "gracias",
    "vdd": "verdad",
    "bno": "bueno",
    "weno": "bueno",
    "nd": "nada",
    "tmpc": "tampoco",
    "orita": "ahorita",
    "horita": "ahorita",
    "ahoritita": "ahorita",
    "ahorititita": "ahorita",
    "sip": "si",
    "sep": "si",
    "sipo": "si",
    "shi": "si",
    "yes": "si",
    "yep": "si",
    "yeah": "si",
    "nop": "no",
    "nope": "no",
    "nel": "no",
    "nelson": "no",
    "nah": "no",
    "nones": "no",
    "nou": "no",
    "noup": "no",
    "sorry": "perdon",
    "sra": "senora",
    "sr": "senor",
    "srta": "senorita",
    "ud": "usted",
    "uds": "ustedes",
    "aki": "aqui",
    "aver": "a ver",
    "ps": "pues",
    "pz": "pues",
    "pos": "pues",
    "wsp": "whatsapp",
    "wpp": "whatsapp",
    "wasap": "whatsapp",
    "dlls": "dolares",
    "dls": "dolares",
    "usd": "dolares",
    "lukas": "lucas",
    "luka": "luca",
    "tenis": "tienes",
    "pasai": "pasas",
    "hno": "hermano",
    "ablar": "hablar",
    "ablo": "hablo",
    "abla": "habla",
    "acesor": "asesor",
    "asesr": "asesor",
    "aora": "ahora",
    "aorita": "ahorita",
    "couta": "cuota",
    "coutas": "cuotas",
    "kuota": "cuota",
    "kuotas": "cuotas",
    "trasferencia": "transferencia",
    "trasferi": "transferi",
    "ise": "hice",
    "aser": "hacer",
    "dinerito": "dinero",
    "payment": "pago",
    "payments": "pagos",
}

# Tokens that carry no meaning for the classifier (regional fillers and vocatives).
_FILLERS = frozenset(
    {
        "wey",
        "we",
        "guey",
        "wei",
        "weon",
        "weona",
        "huevon",
        "huevona",
        "boludo",
        "boluda",
        "che",
        "po",
        "pe",
        "oe",
        "parce",
        "parcero",
        "bro",
        "mijo",
        "mija",
    }
)


_KEEP_DOUBLE = frozenset({"too", "zoo", "boo"})


def _collapse_final_vowel(m: re.Match[str]) -> str:
    """ "sii" -> "si", "noo" -> "no", "holaa" -> "hola"; English "too" stays."""
    start = m.string.rfind(" ", 0, m.start()) + 1
    word = m.string[start : m.end()]
    return m.group(0) if word in _KEEP_DOUBLE else m.group(1)


def strip_accents(text: str) -> str:
    """Drop combining marks: "Pagué mañana" -> "Pague manana"."""
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")


def tokenize(text: str) -> list[str]:
    """Normalise `text` and split it into tokens (words, numbers, a few punctuation marks)."""
    text = _KEYCAP_RE.sub(r" \1 ", text)
    text = _SKIN_TONE_RE.sub("", text)
    for emoji, word in _EMOJI_WORDS.items():
        if emoji in text:
            text = text.replace(emoji, word)
    text = strip_accents(text.lower())
    text = text.replace("ß", "ss")
    text = _REPEAT_RE.sub(r"\1", text)
    text = _FINAL_DOUBLE_VOWEL_RE.sub(_collapse_final_vowel, text)
    tokens: list[str] = []
    for raw in _TOKEN_RE.findall(text):
        if raw in _FILLERS:
            continue
        # "2 k" is a multiplier, not "que".
        if raw == "k" and tokens and tokens[-1][:1].isdigit():
            tokens.append("k")
            continue
        repl = _ABBREVIATIONS.get(raw)
        if repl is None:
            tokens.append(raw)
        else:
            tokens.extend(repl.split())
    return tokens


def normalize(text: str) -> str:
    """Return the normalised token string: ``"Siii, x favor!!"`` -> ``"si , por favor !"``."""
    return " ".join(tokenize(text))
