"""The templates and signatures a new installation starts with, in French and English.

Data rather than translated strings: each language's text is written out whole (a gettext
catalogue holds interface strings; these are the brand's words, which an administrator then
edits in the admin). `ensure_default_templates()` is run by `prevenance bootstrap`.
"""

from django.db import transaction

from prevenance.cases.choices import TemplatePurpose
from prevenance.cases.models import ReplyTemplate, Signature

ACKNOWLEDGEMENT = "Accusé de réception / Acknowledgement"
SURVEY = "Enquête de satisfaction / Satisfaction survey"

# (purpose, name, language, subject, body)
DEFAULT_TEMPLATES: list[tuple[str, str, str, str, str]] = [
    (
        TemplatePurpose.ACKNOWLEDGEMENT, ACKNOWLEDGEMENT, "fr", "Nous avons bien reçu votre message",
        "Bonjour {customer_first_name},\n\n"
        "Merci pour votre message\u00a0: nous l’avons bien reçu et enregistré sous la référence {case_reference}.\n\n"
        "Équipe en charge\u00a0: {team_name}\n"
        "Réponse prévue\u00a0: {due_date}\n\n"
        "Pour ajouter une précision, répondez simplement à ce message en gardant la référence dans l’objet.",
    ),
    (
        TemplatePurpose.ACKNOWLEDGEMENT, ACKNOWLEDGEMENT, "en", "We have received your message",
        "Hello {customer_first_name},\n\n"
        "Thank you for your message: we have received it and filed it under the reference {case_reference}.\n\n"
        "Handled by: {team_name}\n"
        "Expected answer: {due_date}\n\n"
        "To add anything, simply reply to this message and keep the reference in the subject.",
    ),
    (
        TemplatePurpose.SURVEY, SURVEY, "fr", "Votre avis sur le traitement de votre demande",
        "Bonjour {customer_first_name},\n\n"
        # No "one click is enough": the link only preselects the answer, the page records it on a
        # second click (docs/templates-and-surveys.md, "The link shows, the page records").
        "Votre demande {case_reference} est résolue. Êtes-vous satisfait(e) de la façon dont nous l’avons traitée\u00a0? "
        "Choisissez votre note, puis confirmez-la sur la page qui s’ouvre\u00a0:\n\n"
        "{survey_links}\n\n"
        "Merci du temps que vous nous accordez.",
    ),
    (
        TemplatePurpose.SURVEY, SURVEY, "en", "How did we handle your request?",
        "Hello {customer_first_name},\n\n"
        "Your request {case_reference} is resolved. How satisfied are you with the way we handled it? "
        "Pick your rating, then confirm it on the page that opens:\n\n"
        "{survey_links}\n\n"
        "Thank you for your time.",
    ),
    (
        TemplatePurpose.REPLY, "Demande de précisions", "fr", "",
        "Bonjour {customer_first_name},\n\n"
        "Merci pour votre message au sujet de «\u00a0{case_subject}\u00a0». Pour vous répondre au mieux, pourriez-vous nous préciser "
        "le numéro de votre commande et joindre une photo si le produit est abîmé\u00a0?\n\n"
        "Dès réception, nous reprenons votre demande {case_reference}.",
    ),
    (
        TemplatePurpose.REPLY, "Asking for details", "en", "",
        "Hello {customer_first_name},\n\n"
        "Thank you for your message about \"{case_subject}\". So that we can help you best, could you tell us your order "
        "number and attach a photo if the product is damaged?\n\n"
        "As soon as we have it, we pick up your request {case_reference} again.",
    ),
    (
        TemplatePurpose.REPLY, "Excuses pour un retard de livraison", "fr", "",
        "Bonjour {customer_first_name},\n\n"
        "Nous sommes désolés du retard de votre commande {order_reference}. Nous avons relancé le transporteur et "
        "nous revenons vers vous dès que nous avons sa réponse.",
    ),
    (
        TemplatePurpose.REPLY, "Apology for a late delivery", "en", "",
        "Hello {customer_first_name},\n\n"
        "We are sorry that your order {order_reference} is late. We have chased the carrier and will come back to you "
        "as soon as they answer.",
    ),
]

# Acknowledgements for the channels where the customer did not write (an agent recorded a call,
# a visit to a store or a technician's visit): "thank you for your message" would read oddly.
# (channel, language, subject, body); chosen before the any-channel one (acknowledgements.py).
CHANNEL_ACKNOWLEDGEMENTS: list[tuple[str, str, str, str]] = [
    (channel, "fr", "Votre demande est enregistrée", f"Bonjour {{customer_first_name}},\n\n{opening_fr} nous avons enregistré votre "
     "demande sous la référence {case_reference}.\n\nÉquipe en charge\u00a0: {team_name}\nRéponse prévue\u00a0: {due_date}\n\n"
     "Pour ajouter une précision, répondez simplement à ce message en gardant la référence dans l’objet.")
    for channel, opening_fr in (
        ("phone", "Suite à votre appel,"), ("store", "Suite à votre passage en magasin,"),
        ("field_visit", "Suite à la visite de notre technicien,"),
    )
] + [
    (channel, "en", "Your request is on file", f"Hello {{customer_first_name}},\n\n{opening_en} we have filed your request under "
     "the reference {case_reference}.\n\nHandled by: {team_name}\nExpected answer: {due_date}\n\n"
     "To add anything, simply reply to this message and keep the reference in the subject.")
    for channel, opening_en in (
        ("phone", "Following your call,"), ("store", "Following your visit to our store,"),
        ("field_visit", "Following our technician's visit,"),
    )
]

# (language, name, tone guidance, sign-off)
DEFAULT_SIGNATURES: list[tuple[str, str, str, str]] = [
    (
        "fr", "Signature de la marque (français)",
        "Écrivez comme une personne, pas comme un service\u00a0: appelez le client par son nom, dites ce que vous allez "
        "faire et pour quand, excusez-vous une fois et sincèrement, sans jargon.",
        "Bien cordialement,\n{agent_first_name}\nLe service client",
    ),
    (
        "en", "Brand signature (English)",
        "Write as a person, not a department: use the customer's name, say what you will do and by when, apologise "
        "once and mean it, no jargon.",
        "Kind regards,\n{agent_first_name}\nCustomer care",
    ),
]


def ensure_default_templates() -> int:
    """Create the default templates and brand-wide signatures that are missing; returns how many.

    Never changes or re-activates a row someone edited: a template is looked up by its unique
    key (purpose, name, language, channel), a signature by "a brand-wide one exists in the
    language". Running it again creates nothing.
    """
    created = 0
    with transaction.atomic():
        rows = [(purpose, name, language, "", subject, body) for purpose, name, language, subject, body in DEFAULT_TEMPLATES]
        rows += [(TemplatePurpose.ACKNOWLEDGEMENT, ACKNOWLEDGEMENT, language, channel, subject, body)
                 for channel, language, subject, body in CHANNEL_ACKNOWLEDGEMENTS]
        for purpose, name, language, channel, subject, body in rows:
            _row, new = ReplyTemplate.objects.get_or_create(
                purpose=purpose, name=name, language=language, channel=channel, defaults={"subject": subject, "body": body},
            )
            created += new
        for language, name, tone, sign_off in DEFAULT_SIGNATURES:
            if not Signature.objects.filter(team__isnull=True, language=language).exists():
                Signature.objects.create(name=name, language=language, tone_guidance=tone, sign_off=sign_off)
                created += 1
    return created
