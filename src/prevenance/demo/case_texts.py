"""What the demo customers write to customer care, and what agents answer, in French and English.

Data (the content of demo threads, in the customer's own language), not interface strings,
so they are not run through gettext. `{order}` is replaced by one of the customer's orders.

Tags and root causes are the company's own filing vocabulary, one name each (the models
have no translations), in French like its teams, routing rules and SLA policies: an agent
files an English customer's case under the same "Livraison > Colis abîmé" as a French one's.
"""

from typing import NamedTuple


class CaseText(NamedTuple):
    type: str
    channel: str
    subject: str
    body: str
    root_cause: tuple[str, str]  # (category, cause) in ROOT_CAUSES
    tags: tuple[str, ...]  # in TAGS


# The root-cause tree: categories and the causes under them.
ROOT_CAUSES = {
    "Livraison": ["Colis abîmé", "Retard transporteur", "Changement d’adresse"],
    "Produit": ["Défaut", "Conseil d’entretien", "Taille inadaptée", "Montage"],
    "Facturation": ["Double prélèvement", "Facture introuvable", "Remboursement en retard"],
    "Service client": ["Délai de réponse"],
    "Information": ["Avant achat"],
}
TAGS = ["Livraison", "Cadeau", "Risque de départ", "Après-vente", "Paiement", "Remboursement", "Montage"]

# What each kind of request is filed under: (its root cause, its tags).
DAMAGED = (("Livraison", "Colis abîmé"), ("Livraison", "Cadeau"))
LATE = (("Livraison", "Retard transporteur"), ("Livraison", "Risque de départ"))
CARE = (("Produit", "Conseil d’entretien"), ("Après-vente",))
ADDRESS = (("Livraison", "Changement d’adresse"), ("Livraison",))
SIZE = (("Produit", "Taille inadaptée"), ("Après-vente",))
CHARGED_TWICE = (("Facturation", "Double prélèvement"), ("Paiement", "Remboursement"))
UNREACHABLE = (("Service client", "Délai de réponse"), ("Risque de départ",))
DELIVERY_TIME = (("Information", "Avant achat"), ("Livraison",))
FAULTY = (("Produit", "Défaut"), ("Après-vente",))
ASSEMBLY = (("Produit", "Montage"), ("Montage", "Après-vente"))
INVOICE = (("Facturation", "Facture introuvable"), ("Paiement",))
REFUND = (("Facturation", "Remboursement en retard"), ("Remboursement", "Risque de départ"))

CASE_TEXTS = {
    "fr": [
        CaseText("complaint", "email", "Colis abîmé à la livraison",
         "Bonjour,\n\nMa commande {order} est arrivée avec le carton éventré et la table basse est rayée. "
         "Je suis très déçue, c'était un cadeau. Que pouvez-vous faire ?\n\nCordialement", *DAMAGED),
        CaseText("complaint", "email", "Toujours pas livré !!!",
         "Cela fait trois semaines que j'attends la commande {order}. Personne ne répond au téléphone. "
         "C'est inadmissible, je vais résilier ma carte de fidélité si rien ne bouge.", *LATE),
        CaseText("question", "email", "Entretien du canapé en velours",
         "Bonjour, comment nettoyer une tache sur le canapé velours acheté le mois dernier (commande {order}) ? Merci !", *CARE),
        CaseText("request", "web", "Changement d'adresse de livraison",
         "Bonjour, je déménage la semaine prochaine : pouvez-vous livrer la commande {order} à ma nouvelle adresse ?", *ADDRESS),
        CaseText("request", "phone", "Demande d’échange de taille",
         "Appel de la cliente : le plaid de la commande {order} est trop petit, elle souhaite la taille au-dessus.", *SIZE),
        CaseText("incident", "web", "Paiement débité deux fois",
         "Mon compte a été débité deux fois pour la commande {order}. Merci de rembourser le doublon rapidement.", *CHARGED_TWICE),
        CaseText("complaint", "social", "Service client injoignable",
         "@MaisonPrevenance trois appels, deux emails, aucune réponse pour ma commande {order}. Déçue.", *UNREACHABLE),
        CaseText("question", "chat", "Délai de livraison",
         "Bonjour, quel est le délai de livraison pour un buffet en chêne ? Le montage est-il compris dans la livraison ?", *DELIVERY_TIME),
        CaseText("complaint", "store", "Défaut sur la lampe achetée en magasin",
         "Passage en magasin : la lampe de la commande {order} grésille depuis le premier jour. Cliente agacée.", *FAULTY),
        CaseText("request", "field_visit", "Montage de l’armoire à reprendre",
         "Visite du technicien : les portes de l’armoire (commande {order}) ferment mal, réglage à prévoir.", *ASSEMBLY),
        CaseText("question", "email", "Facture pour ma commande",
         "Bonjour, pourriez-vous m'envoyer la facture de la commande {order} ? Je ne la trouve pas dans mon espace.", *INVOICE),
        CaseText("complaint", "email", "Remboursement non reçu",
         "J'ai renvoyé l'article de la commande {order} il y a un mois et je n'ai toujours pas été remboursé. "
         "Je vais contacter une association de consommateurs.", *REFUND),
    ],
    "en": [
        CaseText("complaint", "email", "Parcel damaged on delivery",
         "Hello,\n\nMy order {order} arrived with the box torn open and the coffee table scratched. "
         "I am very disappointed, it was a present. What can you do?\n\nRegards", *DAMAGED),
        CaseText("complaint", "email", "Still not delivered!!!",
         "I have been waiting three weeks for order {order}. Nobody answers the phone. "
         "This is unacceptable, I will cancel my loyalty card if nothing happens.", *LATE),
        CaseText("question", "email", "Caring for the velvet sofa",
         "Hello, how do I clean a stain on the velvet sofa I bought last month (order {order})? Thanks!", *CARE),
        CaseText("request", "web", "Change of delivery address",
         "Hello, I am moving next week: can you deliver order {order} to my new address?", *ADDRESS),
        CaseText("request", "phone", "Size exchange",
         "Call from the customer: the throw from order {order} is too small, she would like the next size up.", *SIZE),
        CaseText("incident", "web", "Charged twice",
         "My account was charged twice for order {order}. Please refund the duplicate quickly.", *CHARGED_TWICE),
        CaseText("complaint", "social", "Customer service unreachable",
         "@MaisonPrevenance three calls, two emails, no answer about my order {order}. Disappointed.", *UNREACHABLE),
        CaseText("question", "chat", "Delivery time",
         "Hi, how long does delivery take for an oak sideboard? Is assembly included?", *DELIVERY_TIME),
        CaseText("complaint", "store", "Faulty lamp bought in store",
         "Store visit: the lamp from order {order} has been crackling since day one. Customer annoyed.", *FAULTY),
        CaseText("request", "field_visit", "Wardrobe assembly to redo",
         "Technician visit: the wardrobe doors (order {order}) do not close properly, adjustment needed.", *ASSEMBLY),
    ],
}

REPLIES = {
    "fr": [
        "Bonjour {first_name},\n\nMerci de nous avoir écrit, et toutes nos excuses pour ce désagrément. "
        "Nous avons vérifié votre dossier et nous revenons vers vous d’ici demain avec une solution.",
        "Bonjour {first_name},\n\nC’est réglé : vous trouverez ci-dessous le détail de ce que nous avons fait. "
        "N’hésitez pas à nous répondre si quelque chose ne vous convient pas.",
    ],
    "en": [
        "Hello {first_name},\n\nThank you for writing to us, and our apologies for the trouble. "
        "We have checked your file and will come back to you by tomorrow with a solution.",
        "Hello {first_name},\n\nIt is sorted: the details of what we did are below. "
        "Just reply if anything is not right for you.",
    ],
}

GESTURE_REASONS = {
    "fr": "Geste commercial suite à la réclamation : article abîmé à la livraison.",
    "en": "Commercial gesture after the complaint: item damaged on delivery.",
}

# What customers write in a survey's comment box, by how satisfied they said they were.
SURVEY_COMMENTS = {
    "fr": {
        "happy": [
            "Réponse rapide et aimable, merci.", "Parfait.", "Très bon suivi, je recommande.",
            "Conseillère à l'écoute, problème réglé en une fois.", "Merci pour le geste commercial, c'est apprécié.",
        ],
        "neutral": [
            "Réglé, mais il a fallu attendre plusieurs jours.", "Correct, sans plus.",
            "La réponse est arrivée, mais j'ai dû réexpliquer mon problème.",
        ],
        "unhappy": [
            "Il a fallu relancer deux fois.", "Toujours pas de solution satisfaisante.",
            "Trop long, et personne ne répond au téléphone.", "Réponse toute faite, qui ne correspond pas à ma demande.",
        ],
    },
    "en": {
        "happy": [
            "Quick and friendly answer, thank you.", "Perfect.", "Great follow-up, I would recommend you.",
            "The adviser listened and sorted it out in one go.",
        ],
        "neutral": ["Sorted, but it took several days.", "Fine, nothing more.", "I had to explain my problem again."],
        "unhappy": [
            "I had to chase twice.", "Still no proper solution.", "Far too slow, and nobody answers the phone.",
        ],
    },
}
