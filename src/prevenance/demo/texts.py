"""What the demo customers and the company say to each other, in French and in English.

These are data (the content of the demo timelines, in the customer's own language),
not interface strings, so they are not run through gettext. A text about a product names
the grammatical form it needs, `{de_product}` rather than "de {product}" (demo/grammar.py).
"""


def interaction_texts() -> dict[str, dict]:
    return {
        "fr": {
            "order_web": "Commande {ref} passée sur l’e-shop",
            "order_confirmation": "Confirmation de votre commande {ref}",
            "shipped": "Votre commande {ref} est en route : suivez votre colis",
            "order_store": "Achat en magasin ({store})",
            "return": "Demande de retour pour la commande {ref}",
            "after_sales": [
                ("phone", "Appel : {product} livré{e} avec un défaut, demande d’échange"),
                ("email", "Question sur l’entretien {de_product}"),
                ("chat", "Chat : délai de livraison {de_product} dépassé"),
                ("social", "Message Instagram : photo {de_product} dans son salon, très satisfaite"),
                ("email", "Réclamation : colis abîmé, {product} rayé{e}"),
                ("store", "Passage en magasin pour un réglage sur {product}"),
                ("video", "Appel vidéo avec une conseillère pour le montage {de_product}"),
                ("forum", "Avis publié sur le forum : {product}, bon rapport qualité-prix"),
                ("field_visit", "Visite du technicien pour l’installation {de_product}"),
                ("postal", "Courrier reçu : réclamation sur la facture {de_product}"),
            ],
            "before": [
                ("chatbot", "Chatbot : disponibilité {de_product} en magasin"),
                ("chat", "Chat : conseil de taille pour {product}"),
                ("phone", "Appel : réassort {de_product} prévu avant Noël ?"),
                ("email", "Demande de devis pour {product} (livraison et montage)"),
                ("mobile_app", "Ajout {de_product} à la liste d’envies dans l’application"),
                ("web", "Prise de rendez-vous déco en ligne pour {product}"),
                ("social", "Question sur Facebook : {product} existe{t}-{il} en vert sauge ?"),
            ],
            "outbound": [
                ("email", "Newsletter : les soldes d’hiver commencent"),
                ("email", "Newsletter : nouvelle collection printemps"),
                ("sms", "SMS : vente privée réservée aux membres du programme fidélité"),
                ("email", "Enquête de satisfaction après votre visite"),
                ("postal", "Catalogue automne-hiver envoyé par la poste"),
                ("mobile_app", "Notification : votre article favori est de retour en stock"),
                ("phone", "Rappel de courtoisie après votre réclamation"),
            ],
            "rare": [
                ("field_visit", "Visite d’un conseiller à domicile pour un projet d’aménagement"),
                ("forum", "Réponse de la communauté à une question sur le lin lavé"),
                ("video", "Visioconférence : présentation de la collection aux professionnels"),
                ("postal", "Lettre de résiliation de la carte de fidélité"),
            ],
        },
        "en": {
            "order_web": "Order {ref} placed on the e-shop",
            "order_confirmation": "Your order {ref} is confirmed",
            "shipped": "Your order {ref} is on its way: track your parcel",
            "order_store": "In-store purchase ({store})",
            "return": "Return request for order {ref}",
            "after_sales": [
                ("phone", "Call: {product} arrived damaged, asks for an exchange"),
                ("email", "Question about caring for {product}"),
                ("chat", "Chat: delivery of {product} is late"),
                ("social", "Instagram message: loves {product} in her living room"),
                ("email", "Complaint: parcel damaged, {product} scratched"),
                ("video", "Video call with an adviser to assemble {product}"),
                ("forum", "Forum review: {product}, good value for money"),
            ],
            "before": [
                ("chatbot", "Chatbot: {is} {product} available in store?"),
                ("chat", "Chat: size advice for {product}"),
                ("email", "Quote request for {product} (delivery to the UK)"),
                ("mobile_app", "Added {product} to the wish list in the app"),
                ("social", "Twitter question: {does} {product} ship to Ireland?"),
            ],
            "outbound": [
                ("email", "Newsletter: the winter sale starts now"),
                ("email", "Newsletter: the new spring collection"),
                ("sms", "Text: private sale for loyalty members"),
                ("email", "Satisfaction survey after your order"),
                ("phone", "Courtesy call after your complaint"),
            ],
            "rare": [
                ("video", "Video meeting: collection preview for trade customers"),
                ("postal", "Letter closing the loyalty card account"),
                ("forum", "Community answer about washed linen care"),
            ],
        },
    }
