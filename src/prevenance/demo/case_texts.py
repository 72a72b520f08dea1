"""What the demo customers write to customer care, and what agents answer, in French and English.

Data (the content of demo threads, in the customer's own language), not interface strings,
so they are not run through gettext. `{order}` is replaced by one of the customer's orders.
"""

# (case type, channel, subject, message)
CASE_TEXTS = {
    "fr": [
        ("complaint", "email", "Colis abîmé à la livraison",
         "Bonjour,\n\nMa commande {order} est arrivée avec le carton éventré et la table basse est rayée. "
         "Je suis très déçue, c'était un cadeau. Que pouvez-vous faire ?\n\nCordialement"),
        ("complaint", "email", "Toujours pas livré !!!",
         "Cela fait trois semaines que j'attends la commande {order}. Personne ne répond au téléphone. "
         "C'est inadmissible, je vais résilier ma carte de fidélité si rien ne bouge."),
        ("question", "email", "Entretien du canapé en velours",
         "Bonjour, comment nettoyer une tache sur le canapé velours acheté le mois dernier (commande {order}) ? Merci !"),
        ("request", "web", "Changement d'adresse de livraison",
         "Bonjour, je déménage la semaine prochaine : pouvez-vous livrer la commande {order} à ma nouvelle adresse ?"),
        ("request", "phone", "Demande d'échange de taille",
         "Appel de la cliente : le plaid de la commande {order} est trop petit, elle souhaite la taille au-dessus."),
        ("incident", "web", "Paiement débité deux fois",
         "Mon compte a été débité deux fois pour la commande {order}. Merci de rembourser le doublon rapidement."),
        ("complaint", "social", "Service client injoignable",
         "@MaisonPrevenance trois appels, deux emails, aucune réponse pour ma commande {order}. Déçue."),
        ("question", "chat", "Délai de livraison",
         "Bonjour, quel est le délai de livraison pour un buffet en chêne ? Et la livraison est-elle montée ?"),
        ("complaint", "store", "Défaut sur la lampe achetée en magasin",
         "Passage en magasin : la lampe de la commande {order} grésille depuis le premier jour. Cliente agacée."),
        ("request", "field_visit", "Montage de l'armoire à reprendre",
         "Visite du technicien : les portes de l'armoire (commande {order}) ferment mal, réglage à prévoir."),
        ("question", "email", "Facture pour ma commande",
         "Bonjour, pourriez-vous m'envoyer la facture de la commande {order} ? Je ne la trouve pas dans mon espace."),
        ("complaint", "email", "Remboursement non reçu",
         "J'ai renvoyé l'article de la commande {order} il y a un mois et je n'ai toujours pas été remboursé. "
         "Je vais contacter une association de consommateurs."),
    ],
    "en": [
        ("complaint", "email", "Parcel damaged on delivery",
         "Hello,\n\nMy order {order} arrived with the box torn open and the coffee table scratched. "
         "I am very disappointed, it was a present. What can you do?\n\nRegards"),
        ("complaint", "email", "Still not delivered!!!",
         "I have been waiting three weeks for order {order}. Nobody answers the phone. "
         "This is unacceptable, I will cancel my loyalty card if nothing happens."),
        ("question", "email", "Caring for the velvet sofa",
         "Hello, how do I clean a stain on the velvet sofa I bought last month (order {order})? Thanks!"),
        ("request", "web", "Change of delivery address",
         "Hello, I am moving next week: can you deliver order {order} to my new address?"),
        ("request", "phone", "Size exchange",
         "Call from the customer: the throw from order {order} is too small, she would like the next size up."),
        ("incident", "web", "Charged twice",
         "My account was charged twice for order {order}. Please refund the duplicate quickly."),
        ("complaint", "social", "Customer service unreachable",
         "@MaisonPrevenance three calls, two emails, no answer about my order {order}. Disappointed."),
        ("question", "chat", "Delivery time",
         "Hi, how long does delivery take for an oak sideboard? Is assembly included?"),
        ("complaint", "store", "Faulty lamp bought in store",
         "Store visit: the lamp from order {order} has been crackling since day one. Customer annoyed."),
        ("request", "field_visit", "Wardrobe assembly to redo",
         "Technician visit: the wardrobe doors (order {order}) do not close properly, adjustment needed."),
    ],
}

REPLIES = {
    "fr": [
        "Bonjour {first_name},\n\nMerci de nous avoir écrit, et toutes nos excuses pour ce désagrément. "
        "Nous avons vérifié votre dossier et nous revenons vers vous d'ici demain avec une solution.",
        "Bonjour {first_name},\n\nC'est réglé : vous trouverez ci-dessous le détail de ce que nous avons fait. "
        "N'hésitez pas à nous répondre si quelque chose ne vous convient pas.",
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

SURVEY_COMMENTS = {
    "fr": ["Réponse rapide et aimable, merci.", "Il a fallu relancer deux fois.", "Parfait."],
    "en": ["Quick and friendly answer, thank you.", "I had to chase twice.", "Perfect."],
}
