"""Reference data for the demo company and the large benchmark set: names, places, words.

Weights follow real frequencies roughly (Martin and Bernard far ahead, then a long
tail), so a name-prefix search has the selectivity it would have on a real file.
"""

from dataclasses import dataclass

# (surname, weight): the most frequent French surnames, heaviest first.
FRENCH_SURNAMES = [
    ("Martin", 235), ("Bernard", 105), ("Thomas", 96), ("Petit", 92), ("Robert", 91), ("Richard", 89),
    ("Durand", 84), ("Dubois", 83), ("Moreau", 82), ("Laurent", 80), ("Simon", 77), ("Michel", 76),
    ("Lefèvre", 72), ("Leroy", 70), ("Roux", 68), ("David", 67), ("Bertrand", 66), ("Morel", 65),
    ("Fournier", 64), ("Girard", 63), ("Bonnet", 61), ("Dupont", 60), ("Lambert", 59), ("Fontaine", 58),
    ("Rousseau", 57), ("Vincent", 56), ("Muller", 55), ("Lefebvre", 54), ("Faure", 53), ("André", 52),
    ("Mercier", 51), ("Blanc", 50), ("Guérin", 49), ("Boyer", 48), ("Garnier", 47), ("Chevalier", 46),
    ("François", 45), ("Legrand", 44), ("Gauthier", 43), ("Garcia", 43), ("Perrin", 42), ("Robin", 41),
    ("Clément", 40), ("Morin", 40), ("Nicolas", 39), ("Henry", 38), ("Roussel", 38), ("Mathieu", 37),
    ("Gautier", 36), ("Masson", 36), ("Marchand", 35), ("Duval", 35), ("Denis", 34), ("Dumont", 34),
    ("Marie", 33), ("Lemaire", 33), ("Noël", 32), ("Meyer", 32), ("Dufour", 31), ("Meunier", 31),
    ("Brun", 30), ("Blanchard", 30), ("Giraud", 29), ("Joly", 29), ("Rivière", 28), ("Lucas", 28),
    ("Brunet", 27), ("Gaillard", 27), ("Barbier", 26), ("Arnaud", 26), ("Martinez", 26), ("Gérard", 25),
    ("Roche", 25), ("Renard", 24), ("Schmitt", 24), ("Roy", 24), ("Leroux", 23), ("Colin", 23),
    ("Vidal", 23), ("Caron", 22), ("Picard", 22), ("Roger", 22), ("Fabre", 21), ("Aubert", 21),
    ("Lemoine", 21), ("Renaud", 20), ("Dumas", 20), ("Lacroix", 20), ("Olivier", 19), ("Philippe", 19),
    ("Bourgeois", 19), ("Pierre", 19), ("Benoît", 18), ("Rey", 18), ("Leclerc", 18), ("Payet", 18),
    ("Rolland", 17), ("Leclercq", 17), ("Guillaume", 17), ("Lecomte", 17), ("Lopez", 17), ("Jean", 16),
    ("Dupuy", 16), ("Guillot", 16), ("Hubert", 16), ("Berger", 16), ("Carpentier", 15), ("Sanchez", 15),
    ("Dupuis", 15), ("Moulin", 15), ("Louis", 15), ("Deschamps", 15), ("Huet", 14), ("Vasseur", 14),
    ("Perez", 14), ("Boucher", 14), ("Fleury", 14), ("Royer", 14), ("Klein", 13), ("Jacquet", 13),
    ("Adam", 13), ("Paris", 13), ("Poirier", 13), ("Marty", 13), ("Aubry", 13), ("Guyot", 12),
    ("Carré", 12), ("Charles", 12), ("Renault", 12), ("Charpentier", 12), ("Ménard", 12), ("Maillard", 12),
    ("Baron", 11), ("Bertin", 11), ("Bailly", 11), ("Hervé", 11), ("Schneider", 11), ("Fernandez", 11),
    ("Le Gall", 11), ("Collet", 11), ("Léger", 10), ("Bouvier", 10), ("Julien", 10), ("Prévost", 10),
    ("Millet", 10), ("Perrot", 10), ("Daniel", 10), ("Le Roux", 10), ("Cousin", 10), ("Germain", 10),
    ("Breton", 9), ("Besson", 9), ("Langlois", 9), ("Rémy", 9), ("Le Goff", 9), ("Pelletier", 9),
    ("Lévêque", 9), ("Perrier", 9), ("Leblanc", 9), ("Barré", 9), ("Lebrun", 9), ("Marchal", 9),
    ("Weber", 8), ("Mallet", 8), ("Hamon", 8), ("Boulanger", 8), ("Jacob", 8), ("Monnier", 8),
    ("Michaud", 8), ("Rodriguez", 8), ("Guichard", 8), ("Gillet", 8), ("Étienne", 8), ("Grondin", 8),
    ("Poulain", 7), ("Tessier", 7), ("Chevallier", 7), ("Collin", 7), ("Chauvin", 7), ("Da Silva", 7),
    ("Bouchet", 7), ("Gay", 7), ("Lemaître", 7), ("Bénard", 7), ("Maréchal", 7), ("Humbert", 7),
    ("Reynaud", 7), ("Antoine", 7), ("Hoarau", 7), ("Perret", 7), ("Barthélemy", 7), ("Cordier", 7),
    ("Pichon", 6), ("Lejeune", 6), ("Gilbert", 6), ("Lamy", 6), ("Delaunay", 6), ("Pasquier", 6),
    ("Carlier", 6), ("Laporte", 6), ("N'Diaye", 6), ("Benoit", 6), ("Diallo", 6), ("Traoré", 5),
    ("Nguyen", 6), ("Haddad", 5), ("Benali", 5), ("Mansour", 5), ("Kowalski", 4), ("Ferreira", 6),
]

ENGLISH_SURNAMES = [
    ("Smith", 60), ("Jones", 45), ("Taylor", 38), ("Brown", 38), ("Williams", 36), ("Wilson", 30),
    ("Johnson", 28), ("Davies", 28), ("Robinson", 22), ("Wright", 22), ("Thompson", 21), ("Evans", 21),
    ("Walker", 20), ("White", 20), ("Roberts", 19), ("Green", 19), ("Hall", 18), ("Wood", 18),
    ("Jackson", 17), ("Clarke", 17), ("Patel", 16), ("Khan", 14), ("Lewis", 14), ("James", 14),
    ("Phillips", 13), ("Mason", 12), ("Mitchell", 12), ("Rose", 11), ("Davis", 11), ("Rodgers", 10),
    ("O'Brien", 10), ("McDonald", 10), ("Hughes", 10), ("Edwards", 10), ("Turner", 9), ("Cooper", 9),
    ("Murphy", 9), ("Kelly", 9), ("Bennett", 8), ("Ward", 8), ("Morris", 8), ("Price", 8),
]

FRENCH_FIRST_NAMES = {
    "F": [
        ("Marie", 60), ("Nathalie", 30), ("Isabelle", 30), ("Sylvie", 28), ("Catherine", 27), ("Sophie", 26),
        ("Christine", 24), ("Valérie", 23), ("Sandrine", 22), ("Céline", 22), ("Julie", 21), ("Camille", 21),
        ("Aurélie", 20), ("Émilie", 20), ("Laura", 18), ("Léa", 18), ("Manon", 17), ("Chloé", 17),
        ("Sarah", 16), ("Inès", 15), ("Emma", 15), ("Anne", 15), ("Claire", 14), ("Hélène", 14),
        ("Martine", 14), ("Françoise", 13), ("Monique", 12), ("Pauline", 12), ("Lucie", 12), ("Élodie", 11),
        ("Margaux", 10), ("Jade", 10), ("Louise", 10), ("Zoé", 9), ("Agathe", 8), ("Éloïse", 8),
        ("Gaëlle", 7), ("Anaïs", 8), ("Océane", 7), ("Mathilde", 9), ("Charlotte", 9), ("Juliette", 9),
        ("Fatima", 6), ("Yasmine", 6), ("Amina", 5), ("Mélanie", 9), ("Virginie", 9), ("Delphine", 8),
    ],
    "M": [
        ("Jean", 55), ("Philippe", 30), ("Michel", 30), ("Alain", 26), ("Nicolas", 26), ("Pierre", 25),
        ("Christophe", 24), ("Stéphane", 23), ("Éric", 22), ("Frédéric", 21), ("Laurent", 21), ("Julien", 20),
        ("Thomas", 20), ("Sébastien", 19), ("David", 19), ("François", 18), ("Olivier", 18), ("Patrick", 18),
        ("Antoine", 16), ("Alexandre", 16), ("Maxime", 15), ("Lucas", 15), ("Hugo", 14), ("Louis", 14),
        ("Nathan", 13), ("Théo", 13), ("Gabriel", 12), ("Léo", 12), ("Arthur", 11), ("Raphaël", 11),
        ("Mathieu", 11), ("Guillaume", 11), ("Vincent", 11), ("Jérôme", 10), ("Bruno", 10), ("Denis", 9),
        ("Gérard", 9), ("Bernard", 9), ("Yves", 8), ("Noël", 5), ("Mohamed", 8), ("Karim", 6),
        ("Mehdi", 5), ("Benoît", 7), ("Cédric", 8), ("Grégoire", 5), ("Loïc", 7), ("Hervé", 7),
    ],
}

ENGLISH_FIRST_NAMES = {
    "F": [
        ("Emma", 20), ("Olivia", 18), ("Sophie", 15), ("Emily", 15), ("Charlotte", 14), ("Amelia", 12),
        ("Jessica", 12), ("Sarah", 12), ("Hannah", 10), ("Lucy", 10), ("Grace", 9), ("Chloe", 9),
        ("Kate", 8), ("Rachel", 8), ("Helen", 8), ("Margaret", 6),
    ],
    "M": [
        ("James", 20), ("Oliver", 18), ("Jack", 16), ("Harry", 15), ("George", 14), ("William", 14),
        ("Thomas", 12), ("Daniel", 12), ("Matthew", 11), ("Michael", 11), ("David", 10), ("Andrew", 9),
        ("Paul", 9), ("Peter", 8), ("Richard", 8), ("Simon", 7),
    ],
}

# Syllables for the long tail of rarer surnames (about a third of real French people
# carry a surname outside the top few hundred).
SURNAME_HEADS = [
    "Ber", "Char", "Del", "Dur", "Fon", "Gar", "Hu", "Jou", "Lab", "Lam", "Mar", "Mon", "Pel", "Ri",
    "Sa", "Tes", "Vau", "Bou", "Cour", "Gri", "Lec", "Mor", "Pou", "Qué", "Ros", "Tho", "Ver", "Cha",
    "Ga", "Le", "Be", "Ca", "Do", "Fa", "Ja", "Ko", "Na", "Pa", "Ré", "To", "Vi", "Ba", "Mi", "Ro",
]
SURNAME_MIDS = ["", "", "", "n", "r", "l", "ma", "ri", "ti", "vi", "che", "gno", "bel", "val", "mon", "dé"]
SURNAME_TAILS = [
    "ard", "et", "ot", "in", "eau", "ier", "on", "and", "ais", "oux", "ac", "y", "elle", "is", "ant",
    "ès", "ault", "ec", "ic", "ouin", "aud", "ier", "ot", "as", "é",
]

# (city, postal code, store name or "" when the chain has no shop there, weight)
CITIES = [
    ("Paris", "75011", "Maison Prévenance Paris Bastille", 22),
    ("Paris", "75008", "Maison Prévenance Paris Madeleine", 12),
    ("Lyon", "69002", "Maison Prévenance Lyon Bellecour", 10),
    ("Marseille", "13001", "Maison Prévenance Marseille Vieux-Port", 9),
    ("Toulouse", "31000", "Maison Prévenance Toulouse Capitole", 7),
    ("Nice", "06000", "Maison Prévenance Nice Masséna", 5),
    ("Nantes", "44000", "Maison Prévenance Nantes Graslin", 6),
    ("Strasbourg", "67000", "Maison Prévenance Strasbourg Kléber", 5),
    ("Montpellier", "34000", "Maison Prévenance Montpellier Comédie", 4),
    ("Bordeaux", "33000", "Maison Prévenance Bordeaux Sainte-Catherine", 6),
    ("Lille", "59000", "Maison Prévenance Lille Grand-Place", 6),
    ("Rennes", "35000", "Maison Prévenance Rennes République", 4),
    ("Reims", "51100", "", 3),
    ("Grenoble", "38000", "", 3),
    ("Dijon", "21000", "", 2),
    ("Angers", "49000", "", 2),
    ("Tours", "37000", "", 2),
    ("Clermont-Ferrand", "63000", "", 2),
    ("Brest", "29200", "", 2),
    ("Annecy", "74000", "", 2),
    ("Rouen", "76000", "", 2),
    ("Metz", "57000", "", 2),
]
ENGLISH_CITIES = [("London", "SW1A 1AA", "GB"), ("Manchester", "M1 1AE", "GB"), ("Dublin", "D02 X285", "IE")]

STREETS = [
    "rue de la République", "avenue Jean Jaurès", "rue Victor Hugo", "boulevard Gambetta", "rue Pasteur",
    "place de la Mairie", "rue des Lilas", "allée des Tilleuls", "rue du Moulin", "chemin des Vignes",
    "rue Nationale", "avenue de la Gare", "rue de Verdun", "impasse des Roses", "quai des Chartrons",
]
ENGLISH_STREETS = ["High Street", "Station Road", "Church Lane", "Victoria Road", "Park Avenue"]

COMPANIES = [
    "Hôtel Les Glycines", "Restaurant Le Bistrot Gourmand", "Cabinet Durand & Associés", "Atelier Lumière",
    "Crèche Les Petits Loups", "Gîtes du Lubéron", "Agence Immobilière Bellevue", "Studio Archi Nova",
    "Boulangerie Moreau", "Camping Les Pins", "Clinique Vétérinaire des Alpes", "Espace Coworking Le Hub",
    "Résidence Seniors Les Magnolias", "Château de Vaux Events", "The Cosy Cottage B&B", "Le Comptoir Design",
]

EMAIL_DOMAINS = [
    ("gmail.com", 40), ("orange.fr", 14), ("hotmail.fr", 10), ("yahoo.fr", 7), ("free.fr", 7),
    ("sfr.fr", 5), ("laposte.net", 4), ("outlook.fr", 5), ("wanadoo.fr", 3), ("icloud.com", 4), ("proton.me", 1),
]
ENGLISH_EMAIL_DOMAINS = [("gmail.com", 40), ("outlook.com", 15), ("yahoo.co.uk", 10), ("btinternet.com", 6), ("icloud.com", 6)]

SOCIAL_NETWORKS = ["instagram", "facebook", "twitter", "tiktok", "linkedin"]


@dataclass(frozen=True)
class Product:
    """A product as a sentence uses it: its name without an article, its gender and number,
    so the texts can say "du canapé", "de la lampe", "de l'armoire", "des bottines" and
    make adjectives and pronouns agree (demo/grammar.py)."""

    name: str
    feminine: bool = False
    plural: bool = False
    # Whether le/la and de drop their vowel before it ("l'armoire"). None: when the name starts
    # with a vowel; say True for a mute h ("l'huile"), False for an aspirated one ("la housse").
    elides: bool | None = None


PRODUCTS_FR = [
    Product("canapé Lin lavé"), Product("table en chêne massif", feminine=True), Product("rideaux velours", plural=True),
    Product("plaid en laine"), Product("lampe Arc", feminine=True), Product("linge de lit percale"),
    Product("robe portefeuille", feminine=True), Product("manteau en laine"),
    Product("bottines cuir", feminine=True, plural=True), Product("service de table Grès"), Product("tapis berbère"),
    Product("fauteuil Scandi"), Product("parure de bain", feminine=True), Product("vaisselle Terre", feminine=True),
    Product("miroir rotin"), Product("armoire Atelier", feminine=True), Product("édredon en duvet"),
    Product("housse de couette lin", feminine=True, elides=False),
]
PRODUCTS_EN = [
    Product("washed-linen sofa"), Product("solid oak table"), Product("velvet curtains", plural=True),
    Product("wool throw"), Product("Arc lamp"), Product("percale bed linen"), Product("wrap dress"),
    Product("wool coat"), Product("leather ankle boots", plural=True), Product("stoneware dinner set"),
    Product("Berber rug"), Product("Scandi armchair"), Product("Atelier wardrobe"), Product("down duvet"),
]

# French mobile blocks +336 000 to +336 389 and +336 400 to +336 899: all numbers in them are
# valid for the phonenumbers library (some other 06 blocks are unallocated and rejected).
_MOBILE_BLOCKS = [*range(0, 390), *range(400, 900)]
MOBILE_CAPACITY = len(_MOBILE_BLOCKS) * 100_000


def mobile_number(n: int) -> str:
    """The n-th of MOBILE_CAPACITY distinct valid French mobile numbers, in E.164, scattered."""
    # 48271 is prime and does not divide the capacity, so this is a bijection on [0, capacity).
    m = (n * 48271 + 12345) % MOBILE_CAPACITY
    return f"+336{_MOBILE_BLOCKS[m // 100_000]:03d}{m % 100_000:05d}"
