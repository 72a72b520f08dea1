"""Every sentence the demo can write, rendered and read for French grammar slips."""

import re
import string

import pytest

from prevenance.demo import data
from prevenance.demo.build import WORDINGS
from prevenance.demo.case_texts import (
    CASE_TEXTS,
    GESTURE_REASONS,
    REPLIES,
    ROOT_CAUSES,
    SURVEY_COMMENTS,
    TAGS,
)
from prevenance.demo.grammar import with_product
from prevenance.demo.texts import interaction_texts

# "de le", "à les", "de un"... and le/la/de/que before a vowel where French elides
# ("de armoire", "la édredon"); a mute h is not checked (the demo has no such word).
FRENCH_SLIPS = re.compile(r"(?i)\b(?:(?:de|à) (?:le|les)\b|(?:de|le|la|que|ne|je) [aeiouyàâäéèêëîïôöùûü])")
FIELDS = {"ref": "MP-2605-000001", "store": "Maison Prévenance Lyon Bellecour", "order": "MP-2605-000001",
          "first_name": "Camille"}


def _placeholders(template: str) -> set[str]:
    return {name for _text, name, _spec, _conv in string.Formatter().parse(template) if name}


def _rendered(template: str, language: str) -> list[str]:
    """`template` with each demo product (when it speaks of one) and the other fields filled in."""
    if "product" in " ".join(_placeholders(template)):
        products = data.PRODUCTS_FR if language == "fr" else data.PRODUCTS_EN
        return [with_product(template.replace("{ref}", FIELDS["ref"]), product, language) for product in products]
    return [template.format(**FIELDS)]


def every_demo_text() -> list[tuple[str, str]]:
    """(language, text) for every text the demo generator can produce."""
    texts = []
    for language, groups in interaction_texts().items():
        for entry in groups.values():
            templates = [entry] if isinstance(entry, str) else [summary for _channel, summary in entry]
            texts += [(language, text) for template in templates for text in _rendered(template, language)]
    for language, cases in CASE_TEXTS.items():
        texts += [(language, text) for case in cases for text in (case.subject, case.body.format(**FIELDS))]
    for language, replies in REPLIES.items():
        texts += [(language, reply.format(**FIELDS)) for reply in replies]
    texts += list(GESTURE_REASONS.items())
    texts += [(language, comment) for language, tones in SURVEY_COMMENTS.items() for comments in tones.values()
              for comment in comments]
    texts += [(language, wording) for fr, en in WORDINGS.values() for language, wording in (("fr", fr), ("en", en))]
    texts += [("fr", name) for name in TAGS]
    texts += [("fr", name) for category, causes in ROOT_CAUSES.items() for name in (category, *causes)]
    return texts


def test_no_demo_text_has_a_french_contraction_or_elision_missing():
    texts = every_demo_text()
    # every interaction template, with each of the 18 French and 14 English products
    assert len(texts) > 400
    slips = [text for language, text in texts if language == "fr" and FRENCH_SLIPS.search(text)]
    assert slips == []
    # and nothing is left unfilled
    assert [text for _language, text in texts if "{" in text or "}" in text] == []


def test_the_slip_detector_catches_the_slips_once_seen():
    for slip in ("Ajout de les bottines cuir", "disponibilité de le tapis berbère", "réglage à le fauteuil",
                 "retour à les magasins", "montage de un meuble", "photo de armoire", "la édredon"):
        assert FRENCH_SLIPS.search(slip), slip
    for fine in ("Ajout des bottines", "de l'armoire", "la lampe", "Demande de devis", "de la table", "au canapé"):
        assert not FRENCH_SLIPS.search(fine), fine


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("vaisselle Terre", "Question sur Facebook : la vaisselle Terre existe-t-elle en vert sauge ?"),
        ("tapis berbère", "Question sur Facebook : le tapis berbère existe-t-il en vert sauge ?"),
        ("bottines cuir", "Question sur Facebook : les bottines cuir existent-elles en vert sauge ?"),
        ("rideaux velours", "Question sur Facebook : les rideaux velours existent-ils en vert sauge ?"),
        ("armoire Atelier", "Question sur Facebook : l'armoire Atelier existe-t-elle en vert sauge ?"),
    ],
)
def test_a_question_about_a_product_agrees_with_it(name, expected):
    product = next(p for p in data.PRODUCTS_FR if p.name == name)
    assert with_product("Question sur Facebook : {product} existe{t}-{il} en vert sauge ?", product, "fr") == expected


def test_articles_contract_elide_and_agree():
    by_name = {p.name: p for p in data.PRODUCTS_FR}
    template = "{product} / {de_product} / {a_product} / livré{e}"
    assert with_product(template, by_name["tapis berbère"], "fr") == "le tapis berbère / du tapis berbère / au tapis berbère / livré"
    assert with_product(template, by_name["lampe Arc"], "fr") == "la lampe Arc / de la lampe Arc / à la lampe Arc / livrée"
    assert with_product(template, by_name["édredon en duvet"], "fr") == "l'édredon en duvet / de l'édredon en duvet / à l'édredon en duvet / livré"
    assert with_product(template, by_name["bottines cuir"], "fr") == "les bottines cuir / des bottines cuir / aux bottines cuir / livrées"
    # an aspirated h keeps its article
    assert with_product(template, by_name["housse de couette lin"], "fr").startswith("la housse de couette lin / de la housse")
    english = {p.name: p for p in data.PRODUCTS_EN}
    assert with_product("{is} {product} in store? {does} {product} ship?", english["velvet curtains"], "en") == (
        "are the velvet curtains in store? do the velvet curtains ship?")
    assert with_product("{is} {product} in store?", english["Arc lamp"], "en") == "is the Arc lamp in store?"


def test_every_case_text_is_filed_under_a_known_tag_and_root_cause():
    for cases in CASE_TEXTS.values():
        for case in cases:
            category, cause = case.root_cause
            assert cause in ROOT_CAUSES[category], case.subject
            assert case.tags and set(case.tags) <= set(TAGS), case.subject
