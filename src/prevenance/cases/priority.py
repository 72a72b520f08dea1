"""The priority score: explainable rules, each giving points and a reason; the level follows.

Pure: no database. `services/priority.py` gathers the signals (the customer's orders, the SLA
clock) and stores the result on the case. Every rule is described in
docs/routing-and-priority.md. The figures are a `PriorityConfig` the caller passes in: an
administrator sets them in the admin (models.PrioritySettings), and
`selectors.kept_settings.priority_config()` reads them, kept per process; the defaults below
are the figures a new installation starts with.
"""

import functools
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from functools import lru_cache

from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy

from prevenance.cases.choices import CaseType, Priority
from prevenance.core.choices import Channel
from prevenance.core.text import strip_combining_marks

# Reason codes whose points change with time alone (the periodic refresh recomputes these).
AGE = "age"
SLA_NEAR = "sla_near"
SLA_BREACHED = "sla_breached"
TIME_CODES = frozenset({AGE, SLA_NEAR, SLA_BREACHED})
# Not a rule: what tops the score up to the threshold of a level a person or an SLA breach set.
LEVEL_FLOOR = "level_floor"

LABELS = {
    "customer_value": _("Customer value: %(total)s %(currency)s of orders over 12 months"),
    "vip": _("VIP customer"),
    "case_type": _("Case type: %(type)s"),
    "sentiment_negative": _("Negative tone: %(words)s"),
    "sentiment_positive": _("Positive tone: %(words)s"),
    "exclamations": _("Repeated exclamation marks"),
    "capitals": _("Written in capitals"),
    "churn_threat": _("Threatens to leave: %(words)s"),
    "legal_threat": _("Threatens legal action: %(words)s"),
    "public_channel": _("Public channel: %(channel)s"),
    AGE: ngettext_lazy("Waiting for %(days)s day or more", "Waiting for %(days)s days or more", "days"),
    SLA_NEAR: _("SLA due soon"),
    SLA_BREACHED: _("SLA overdue"),
    LEVEL_FLOOR: _("Priority raised to %(level)s"),
}


# Parameters stored as codes (a case type, a channel, a level) and named in the reader's language
# when shown. Reasons stored before held the name itself, in the language of the process that
# scored the case: a value that is not a code is shown as it was stored.
_CODED_PARAMS = {"type": CaseType, "channel": Channel, "level": Priority}


def _param_text(name: str, value):
    choices = _CODED_PARAMS.get(name)
    if choices is not None and value in choices.values:
        return str(choices(value).label)
    return value


@dataclass(frozen=True)
class Reason:
    code: str
    points: int
    params: Mapping = field(default_factory=dict)

    def label(self) -> str:
        if not self.params:
            return str(LABELS[self.code])
        return LABELS[self.code] % {name: _param_text(name, value) for name, value in self.params.items()}

    def as_dict(self) -> dict:
        """The stored form (Case.priority_reasons): the label in the language active now, and
        the code and parameters (codes, not names) so that `reason_label` shows it in the
        language of whoever reads it."""
        return {"code": self.code, "points": self.points, "label": self.label(), "params": dict(self.params)}


def reason_label(stored: Mapping) -> str:
    """A stored reason's label in the language active now (falls back to the stored text)."""
    if stored.get("code") not in LABELS:
        return str(stored.get("label", ""))
    try:
        return Reason(stored["code"], int(stored.get("points", 0)), stored.get("params") or {}).label()
    except (KeyError, TypeError, ValueError):
        return str(stored.get("label", ""))


@dataclass(frozen=True)
class PriorityConfig:
    """The figures of the rules (models.PrioritySettings holds them; these are its defaults)."""

    # (threshold, points), highest first: orders of the last 12 months in `currency`.
    value_thresholds: tuple = ((5000, 30), (1500, 20), (500, 10))
    currency: str = "EUR"
    vip_points: int = 25
    type_points: Mapping = field(default_factory=lambda: {
        CaseType.COMPLAINT: 20, CaseType.INCIDENT: 20, CaseType.REQUEST: 10, CaseType.QUESTION: 0,
    })
    # Where a customer speaks in front of everyone (social networks, forums): answering fast limits the damage.
    public_channels: tuple = (Channel.SOCIAL, Channel.FORUM)
    public_points: int = 20
    negative_points_per_unit: int = 3
    negative_max: int = 30
    positive_points_per_unit: int = 2
    positive_max: int = 10
    exclamation_points: int = 5
    capitals_points: int = 5
    churn_points: int = 20
    legal_points: int = 25
    # (days waiting, points), highest first.
    age_steps: tuple = ((7, 20), (3, 10), (1, 5))
    sla_near_points: int = 15
    sla_breached_points: int = 30
    # The lowest score of each level; below `normal` is low.
    levels: Mapping = field(default_factory=lambda: {Priority.URGENT: 60, Priority.HIGH: 30, Priority.NORMAL: 0})


# Sentiment --------------------------------------------------------------------------------

# Folded (lower case, no accents). Exact words, then stems that match a word's beginning
# (French inflects: scandaleux, scandaleuse; décu, déçue).
NEGATIVE_WORDS = {
    "bad": 1, "poor": 1, "late": 1, "delay": 1, "delayed": 1, "problem": 1, "issue": 1, "broken": 2, "damaged": 1,
    "angry": 3, "upset": 2, "annoyed": 2, "terrible": 3, "awful": 3, "horrible": 3, "worst": 4, "useless": 3,
    "unacceptable": 4, "ridiculous": 3, "disgusting": 3, "scam": 4, "fraud": 4, "nul": 3, "nulle": 3, "honte": 3,
    "retard": 1, "probleme": 1, "panne": 1, "marre": 3, "colere": 3, "inadmissible": 4, "inacceptable": 4,
    "lamentable": 3, "deplorable": 3, "catastrophe": 3, "catastrophique": 3, "arnaque": 4, "escroc": 4,
    "escroquerie": 4, "incompetent": 3, "incompetents": 3, "inutile": 2, "pire": 3, "plainte": 2,
}
NEGATIVE_STEMS = {
    "furi": 4, "outrag": 4, "disgust": 3, "disappoint": 2, "frustrat": 2, "scandal": 4, "incompeten": 3,
    "decu": 2, "decev": 2, "decept": 2, "mecontent": 3, "insatisf": 2, "enerv": 2, "abim": 1, "honteu": 3,
    "inadmiss": 4, "degout": 3, "cass": 1,
}
POSITIVE_WORDS = {
    "thanks": 1, "thank": 1, "merci": 1, "great": 2, "excellent": 2, "perfect": 2, "parfait": 2, "parfaite": 2,
    "happy": 2, "pleased": 2, "bravo": 2, "super": 1, "genial": 2, "love": 2, "adore": 2, "content": 2, "contente": 2,
    "ravi": 2, "ravie": 2, "satisfied": 2, "satisfait": 2, "satisfaite": 2,
}
# "n'" (elision) is read as "ne" by `fold`; a lone "n" (from "n°") is no negator.
NEGATORS = frozenset({
    "not", "no", "never", "nothing", "without", "ne", "pas", "jamais", "aucun", "aucune", "sans", "rien",
})
INTENSIFIERS = {
    "very": 1.5, "really": 1.5, "so": 1.5, "extremely": 2, "totally": 1.5, "absolutely": 1.5, "completely": 1.5,
    "tres": 1.5, "vraiment": 1.5, "trop": 1.5, "tellement": 1.5, "extremement": 2, "totalement": 1.5,
    "absolument": 1.5, "completement": 1.5, "si": 1.5,
}
NEGATION_WINDOW = 3

# Threats, as word sequences (folded); a word ending in "*" is a stem.
CHURN_PHRASES = (
    # "cancel my order" is a request, not a threat: only what ends the relationship.
    ("resili*",), ("cancel", "my", "subscription*"), ("cancel", "my", "account*"), ("cancel", "my", "contract*"),
    ("cancel", "my", "membership"), ("annuler", "mon", "abonnement*"), ("annuler", "mon", "contrat*"),
    ("fermer", "mon", "compte"), ("close", "my", "account"), ("switch", "to", "another"), ("go", "elsewhere"),
    ("leave", "you"), ("leaving", "you"), ("never", "buy*"), ("never", "order*"), ("aller", "voir", "ailleurs"),
    ("changer", "de", "fournisseur"), ("changer", "d", "operateur"), ("changer", "de", "banque"), ("concurren*",),
    ("competitor*",), ("vous", "quitter"), ("plus", "jamais"),
)
LEGAL_PHRASES = (
    ("avocat*",), ("lawyer*",), ("attorney*",), ("solicitor*",), ("tribunal*",), ("sue",), ("porter", "plainte"),
    ("poursuit*",), ("mise", "en", "demeure"), ("que", "choisir"), ("dgccrf",), ("mediateur",), ("ombudsman",),
    ("small", "claims"), ("trading", "standards"), ("legal", "action"), ("justice",),
    # Taking the matter to a consumers' association or the authorities' reporting site: the same
    # step outside as a lawyer for most customers ("je saisis une association de consommateurs").
    ("association*", "de", "consommateur*"), ("signalconso",), ("consumer*", "association*"),
    ("consumer*", "organi*"), ("consumer", "protection"), ("citizens", "advice"), ("chargeback",),
    ("better", "business", "bureau"),
)
# Threat phrases that are negations themselves: not cancelled by a preceding negator.
_SELF_NEGATING = frozenset({("plus", "jamais"), ("never", "buy*"), ("never", "order*")})

# Punctuation that ends a clause: a negation never reaches past it ("Jamais reçu. Inadmissible.").
# So does a blank line; a single line break does not: plain-text mail is wrapped at about 72
# columns, and "I am not\nhappy" is one clause.
CLAUSE_END = "|"
_TOKEN = re.compile(r"[a-z0-9]+|[.!?;:,]+|\n[ \t\r]*\n")
_CLAUSE_MARKS = frozenset(".!?;:,\n")
# Typographic apostrophes (’ ‘ ʼ), as phones and word processors type them, read as "'".
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'"})
# A number sign is no negation: "n° 4521", "nº 4521", "№ 4521", "No. 4521", "no 4521".
_NUMBER_SIGN = re.compile(r"(?<![\w'])(?:n\s?[°º]|№|no\.?(?=\s?\d))")
_ELISION_NE = re.compile(r"(?<![\w'])n'")
_CAPITAL_WORD = re.compile(r"\b[A-ZÀ-ÖØ-Þ]{3,}\b")
_WORD = re.compile(r"\b[^\W\d_]{3,}\b")


def straight_apostrophes(text: str) -> str:
    return text.translate(_APOSTROPHES)


def fold(text: str) -> str:
    """Lower case, accents removed; typographic apostrophes straightened, "n't" read as
    " not", the elision "n'" as "ne ", and a number sign (n°, nº, No. 4521) as "numero "."""
    text = _NUMBER_SIGN.sub(" numero ", straight_apostrophes(text).casefold())
    decomposed = unicodedata.normalize("NFKD", text)
    folded = strip_combining_marks(decomposed).replace("n't", " not")
    return _ELISION_NE.sub("ne ", folded)


def tokens(text: str) -> list[str]:
    return list(_tokens(text))


@lru_cache(maxsize=32)
def _tokens(text: str) -> tuple[str, ...]:
    # Cached: one case's text is read by the sentiment and by both threat lists in a row.
    # Words, and CLAUSE_END where punctuation ends a clause (no phrase matches across it).
    return tuple(CLAUSE_END if token[0] in _CLAUSE_MARKS else token for token in _TOKEN.findall(fold(text)))


def _negated(words, index: int) -> bool:
    """A negator up to NEGATION_WINDOW words before, in the same clause."""
    for word in reversed(words[max(0, index - NEGATION_WINDOW):index]):
        if word == CLAUSE_END:
            return False
        if word in NEGATORS:
            return True
    return False


def _stem_index(stems) -> tuple[dict[str, object], tuple[int, ...]]:
    """Stems by text, and their lengths longest first: a word's stem is then found with one
    dict look-up per length (a handful) instead of a startswith per stem."""
    return dict(stems), tuple(sorted({len(stem) for stem in dict(stems)}, reverse=True))


def _stem_of(word: str, index: tuple[dict, tuple[int, ...]]):
    by_stem, lengths = index
    size = len(word)  # once, not per length: the intake looks up every word of every message
    for length in lengths:
        if size >= length and (found := by_stem.get(word[:length])) is not None:
            return found
    return None


_NEGATIVE_STEMS = _stem_index(NEGATIVE_STEMS.items())


def _word_weight(word: str) -> int:
    if word in NEGATIVE_WORDS:
        return -NEGATIVE_WORDS[word]
    if word in POSITIVE_WORDS:
        return POSITIVE_WORDS[word]
    weight = _stem_of(word, _NEGATIVE_STEMS)
    return -weight if weight is not None else 0


@dataclass(frozen=True)
class Sentiment:
    polarity: float  # < 0 negative
    negative_words: tuple[str, ...] = ()
    positive_words: tuple[str, ...] = ()


def sentiment(text: str) -> Sentiment:
    """Lexicon polarity with negation ("pas content", "not bad") and intensifiers ("très déçu").

    A negated word counts half, the other way: "not bad" is mildly positive, "pas content"
    plainly negative once the positive weight flips. An intensifier right before a word
    multiplies it."""
    words = _tokens(text)
    polarity, negative, positive = 0.0, [], []
    for index, word in enumerate(words):
        weight = _word_weight(word)
        if not weight:
            continue
        if index and words[index - 1] in INTENSIFIERS:
            weight *= INTENSIFIERS[words[index - 1]]
        if _negated(words, index):
            weight = -weight if weight > 0 else -weight / 2
        polarity += weight
        (negative if weight < 0 else positive).append(word)
    return Sentiment(polarity, tuple(dict.fromkeys(negative)), tuple(dict.fromkeys(positive)))


def _matches_at(words, index: int, phrase: tuple[str, ...]) -> bool:
    if index + len(phrase) > len(words):
        return False
    for word, pattern in zip(words[index:], phrase, strict=False):
        if not (word.startswith(pattern[:-1]) if pattern.endswith("*") else word == pattern):
            return False
    return True


@lru_cache(maxsize=16)
def _phrase_index(phrases: tuple[tuple[str, ...], ...]):
    """The phrases by their first word: exact first words in one dict, stems ("resili*") in a
    stem index. Each word of a text is then checked against the few phrases that can start
    there, not against every phrase (a 45-word message: about 50 checks instead of 800)."""
    exact: dict[str, list] = {}
    stems: dict[str, list] = {}
    for phrase in phrases:  # in the given order, which the reasons keep
        first = phrase[0]
        if first.endswith("*"):
            stems.setdefault(first[:-1], []).append(phrase)
        else:
            exact.setdefault(first, []).append(phrase)
    return exact, _stem_index(stems.items()), {phrase: rank for rank, phrase in enumerate(phrases)}


def _starting_at(word: str, index) -> list:
    exact, (by_stem, lengths), order = index
    candidates = exact.get(word, [])
    # Several stems can begin the same word: take them all, in the phrases' order.
    size = len(word)  # once, not per length (as in _stem_of)
    for length in lengths:
        if size >= length and (found := by_stem.get(word[:length])) is not None:
            candidates = sorted(candidates + found, key=order.__getitem__)
    return candidates


def find_phrases(text: str, phrases: tuple[tuple[str, ...], ...]) -> tuple[str, ...]:
    """The phrases said, and not negated ("je ne veux pas résilier" is no threat)."""
    words = _tokens(text)
    index = _phrase_index(phrases)
    found = []
    for position, word in enumerate(words):
        for phrase in _starting_at(word, index):
            if _matches_at(words, position, phrase) and (phrase in _SELF_NEGATING or not _negated(words, position)):
                found.append(" ".join(words[position:position + len(phrase)]))
    return tuple(dict.fromkeys(found))


def shouting(text: str) -> tuple[bool, bool]:
    """(repeated exclamation marks, written in capitals): "!!" anywhere; three or more words of
    three letters or more in capitals, making at least half of the words."""
    exclaims = "!!" in text.replace(" ", "")
    capitals = _CAPITAL_WORD.findall(text)
    words = _WORD.findall(text)
    return exclaims, len(capitals) >= 3 and len(capitals) * 2 >= len(words)


# The score --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Signals:
    """What the rules read about a case."""

    case_type: str
    channel: str
    text: str = ""
    is_vip: bool = False
    order_total: Decimal = Decimal(0)
    opened_at: datetime | None = None
    now: datetime | None = None
    sla_state: str = ""  # "", "near" or "breached": the earliest running SLA clock


@dataclass(frozen=True)
class Score:
    points: int
    level: str
    reasons: tuple[Reason, ...]

    def stored_reasons(self) -> list[dict]:
        return [reason.as_dict() for reason in self.reasons]


def _step(steps: tuple, value) -> int:
    for limit, points in steps:
        if value >= limit:
            return points
    return 0


def value_rules(signals: Signals, conf: PriorityConfig) -> list[Reason]:
    reasons = []
    if points := _step(conf.value_thresholds, signals.order_total):
        reasons.append(Reason("customer_value", points, {"total": f"{signals.order_total:.0f}", "currency": conf.currency}))
    if signals.is_vip and conf.vip_points:
        reasons.append(Reason("vip", conf.vip_points))
    return reasons


def type_rule(signals: Signals, conf: PriorityConfig) -> list[Reason]:
    points = conf.type_points.get(signals.case_type, 0)
    # The code: the label is named in the reader's language (Reason.label).
    return [Reason("case_type", points, {"type": str(signals.case_type)})] if points else []


_WRITTEN_WORD = re.compile(r"[^\W_]+")


@functools.lru_cache(maxsize=8192)
def _folded_tokens(word: str) -> tuple[str, ...]:
    # Cached: the same few hundred words make most messages, and folding one costs microseconds
    # on the intake's hot path.
    return tuple(_TOKEN.findall(fold(word)))


def as_written(text: str, found) -> str:
    """Words or phrases found in the folded text ("cassee", "porter plainte"), each word spelt
    as its first occurrence in `text` ("cassée", "Porter plainte"), joined by commas: what a
    person reads in a reason. A word the folding made up ("ne" of "n'", "numero" of "n°") or
    that the folding split ("cœur") stays as found."""
    wanted = {word for phrase in found for word in phrase.split()}
    spelt: dict[str, str] = {}
    for match in _WRITTEN_WORD.finditer(straight_apostrophes(text)):
        original = match.group()
        folded = _folded_tokens(original)
        if len(folded) == 1 and folded[0] in wanted:
            spelt.setdefault(folded[0], original)
            if len(spelt) == len(wanted):
                break
    return ", ".join(" ".join(spelt.get(word, word) for word in phrase.split()) for phrase in found)


def text_rules(signals: Signals, conf: PriorityConfig) -> list[Reason]:
    reasons = []
    mood = sentiment(signals.text)
    # The words are matched folded, and named as the customer wrote them.
    if mood.polarity < 0 and (points := min(conf.negative_max, round(-mood.polarity * conf.negative_points_per_unit))):
        reasons.append(Reason("sentiment_negative", points, {"words": as_written(signals.text, mood.negative_words[:3])}))
    # A single "merci" / "thanks" is politeness, not satisfaction: it takes more than one unit.
    elif mood.polarity > 1 and (points := min(conf.positive_max, round(mood.polarity * conf.positive_points_per_unit))):
        reasons.append(Reason("sentiment_positive", -points, {"words": as_written(signals.text, mood.positive_words[:3])}))
    exclaims, capitals = shouting(signals.text)
    if exclaims:
        reasons.append(Reason("exclamations", conf.exclamation_points))
    if capitals:
        reasons.append(Reason("capitals", conf.capitals_points))
    if churn := find_phrases(signals.text, CHURN_PHRASES):
        reasons.append(Reason("churn_threat", conf.churn_points, {"words": as_written(signals.text, churn[:3])}))
    if legal := find_phrases(signals.text, LEGAL_PHRASES):
        reasons.append(Reason("legal_threat", conf.legal_points, {"words": as_written(signals.text, legal[:3])}))
    return reasons


def channel_rule(signals: Signals, conf: PriorityConfig) -> list[Reason]:
    if signals.channel in conf.public_channels and conf.public_points:
        return [Reason("public_channel", conf.public_points, {"channel": str(signals.channel)})]
    return []


def time_rules(signals: Signals, conf: PriorityConfig) -> list[Reason]:
    """Age and SLA time left: the rules that change while nothing happens on the case."""
    reasons = []
    if signals.opened_at is not None and signals.now is not None:
        days = max(timedelta(0), signals.now - signals.opened_at).days
        # The step reached, not the exact age: the stored reason changes when the points do,
        # so the refresh (every 5 minutes) does not rewrite every waiting case (priority services).
        step = next(((limit, points) for limit, points in conf.age_steps if days >= limit), None)
        if step is not None and step[1]:
            reasons.append(Reason(AGE, step[1], {"days": int(step[0])}))
    if signals.sla_state == "breached":
        reasons.append(Reason(SLA_BREACHED, conf.sla_breached_points))
    elif signals.sla_state == "near":
        reasons.append(Reason(SLA_NEAR, conf.sla_near_points))
    return [reason for reason in reasons if reason.points]


RULES = (value_rules, type_rule, text_rules, channel_rule, time_rules)


def level_for(points: int, conf: PriorityConfig) -> str:
    for level in (Priority.URGENT, Priority.HIGH, Priority.NORMAL):
        if points >= conf.levels[level]:
            return level
    return Priority.LOW


def score(signals: Signals, conf: PriorityConfig) -> Score:
    # A rule an administrator gave 0 points says nothing: no reason "Threatens to leave: 0".
    reasons = tuple(reason for rule in RULES for reason in rule(signals, conf) if reason.points)
    points = sum(reason.points for reason in reasons)
    return Score(points=points, level=level_for(points, conf), reasons=reasons)


LEVEL_ORDER = {Priority.LOW: 0, Priority.NORMAL: 1, Priority.HIGH: 2, Priority.URGENT: 3}


def higher_level(first: str, second: str) -> str:
    return first if LEVEL_ORDER.get(first, 0) >= LEVEL_ORDER.get(second, 0) else second


def with_level_floor(reasons: list, level: str, conf: PriorityConfig) -> tuple[int, list[dict]]:
    """The score and stored reasons of a case at `level`. When the rules alone score below
    that level's threshold (a person chose the level, at intake or later, or an SLA breach
    raised it), one reason makes up the difference: the inbox lists the most urgent first by
    score, and an urgent case then comes before every case the rules only found high. A level
    set lower by hand takes the top-up away; the rules' points stay."""
    kept = [dict(reason) for reason in reasons if reason.get("code") != LEVEL_FLOOR]
    points = sum(int(reason.get("points", 0)) for reason in kept)
    threshold = conf.levels.get(level)
    if threshold is not None and points < threshold:
        kept.append(Reason(LEVEL_FLOOR, threshold - points, {"level": str(level)}).as_dict())
        points = threshold
    return points, kept


def with_time_reasons(stored: list, signals: Signals, conf: PriorityConfig) -> tuple[int, list[dict]] | None:
    """The score and stored reasons once the time rules are evaluated again at `signals.now`,
    the other reasons kept as they are; None when the time rules give what is stored."""
    fresh = time_rules(signals, conf)
    before = [(r.get("code"), r.get("points"), r.get("params") or {}) for r in stored if r.get("code") in TIME_CODES]
    if before == [(r.code, r.points, dict(r.params)) for r in fresh]:
        return None  # the usual case: compared without rendering labels
    reasons = [reason for reason in stored if reason.get("code") not in TIME_CODES] + [reason.as_dict() for reason in fresh]
    return sum(int(reason.get("points", 0)) for reason in reasons), reasons
