"""The threat phrases found by first word (and stem) give what trying every phrase at every
word gave, in the same order, for any text; and the sentiment stems likewise."""

import random

import pytest

from prevenance.cases import priority
from prevenance.cases.priority import (
    CHURN_PHRASES,
    LEGAL_PHRASES,
    NEGATIVE_STEMS,
    find_phrases,
    sentiment,
)


def every_phrase_at_every_word(text: str, phrases) -> tuple[str, ...]:
    """The plain definition, slow: what find_phrases must agree with."""
    words = priority.tokens(text)
    found = []
    for index in range(len(words)):
        for phrase in phrases:
            if priority._matches_at(words, index, phrase) and (
                phrase in priority._SELF_NEGATING or not priority._negated(words, index)
            ):
                found.append(" ".join(words[index:index + len(phrase)]))
    return tuple(dict.fromkeys(found))


def vocabulary() -> list[str]:
    words = {"le", "la", "je", "vais", "you", "my", "Résilier", "AVOCATS", "concurrence", "l'avocat", "merci", ".", ",", "n’", "n°"}
    for phrase in CHURN_PHRASES + LEGAL_PHRASES:
        words.update(word.rstrip("*") + ("ions" if word.endswith("*") else "") for word in phrase)
        words.update(word.rstrip("*") for word in phrase)
    words.update(stem + "eux" for stem in NEGATIVE_STEMS)
    words.update(priority.NEGATORS)
    words.update(priority.INTENSIFIERS)
    return sorted(words)


@pytest.mark.parametrize("seed", range(5))
def test_phrases_match_the_plain_definition_on_random_texts(seed):
    pick = random.Random(seed)
    words = vocabulary()
    for _ in range(400):
        text = " ".join(pick.choice(words) for _ in range(pick.randint(0, 40)))
        for phrases in (CHURN_PHRASES, LEGAL_PHRASES):
            assert find_phrases(text, phrases) == every_phrase_at_every_word(text, phrases), text


def test_two_phrases_starting_at_the_same_word_are_both_found_in_the_given_order():
    phrases = (("never", "order*"), ("never", "buy*"), ("nev*",), ("plus", "jamais"))
    assert find_phrases("I will never buy here", phrases) == ("never buy", "never")
    assert find_phrases("Never ordering again", phrases) == ("never ordering", "never")


def test_a_stem_matches_longer_words_only_from_their_start():
    assert find_phrases("Je vais résilier mon abonnement", CHURN_PHRASES) == ("resilier",)
    assert find_phrases("Une irrésiliable erreur", CHURN_PHRASES) == ()
    assert find_phrases("Mes avocats vous écriront", LEGAL_PHRASES) == ("avocats",)


def test_sentiment_stems_are_found_by_prefix():
    assert sentiment("Je suis très déçue et mécontente").negative_words == ("decue", "mecontente")
    assert sentiment("un produit abimé").polarity == -1
    assert sentiment("decevant").polarity == -2


def test_the_tokens_of_a_text_are_a_fresh_list_for_each_caller():
    first = priority.tokens("Bonjour madame")
    first.append("changed")
    assert priority.tokens("Bonjour madame") == ["bonjour", "madame"]


@pytest.mark.parametrize(("text", "found"), [
    ("Je veux être remboursé sous 48 h ou je saisis une association de consommateurs.", ("association de consommateurs",)),
    ("J'ai écrit à l'UFC-Que Choisir et à SignalConso", ("que choisir", "signalconso")),
    ("I will take this to a consumer association and ask my bank for a chargeback", ("consumer association", "chargeback")),
    ("My consumer rights organisation says otherwise", ()),  # "rights" sits between: no phrase
    ("Je ne saisirai pas d'association de consommateurs", ()),  # a negated threat is no threat
])
def test_going_to_a_consumers_association_or_the_authorities_is_a_legal_threat(text, found):
    assert find_phrases(text, LEGAL_PHRASES) == found
