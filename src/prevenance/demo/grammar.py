"""Putting a product into a demo sentence, in French and English, with its articles right.

French contracts and elides its articles ("de" + "le" is "du", "à" + "les" is "aux", "de"
before a vowel is "d'") and makes participles and pronouns agree with the noun, so a
template cannot just paste "la vaisselle Terre" after "de". The templates (demo/texts.py)
name the form they need instead:

- ``{product}``: with its definite article (le canapé, la lampe, l'armoire, les bottines);
- ``{de_product}`` / ``{a_product}``: after "de" / "à" (du canapé, de l'armoire, des
  bottines; au canapé, à la lampe, aux bottines);
- ``{e}``: a past participle's agreement ("livré{e}": livré, livrée, livrés, livrées);
- ``{il}``: the subject pronoun (il, elle, ils, elles);
- ``{t}``: what follows a first-group verb before an inverted pronoun ("existe{t}-{il}":
  existe-t-il, existe-t-elle, existent-ils, existent-elles).

English needs less: ``{product}`` (the sofa, the curtains), ``{is}`` (is/are) and ``{does}``
(does/do).
"""

from prevenance.demo.data import Product

VOWELS = frozenset("aeiouyàâäéèêëîïôöùûüœæ")


def _elides(product: Product) -> bool:
    if product.elides is not None:
        return product.elides
    return product.name[:1].lower() in VOWELS


def french_forms(product: Product) -> dict[str, str]:
    name = product.name
    if product.plural:
        article, de, a = "les ", "des ", "aux "
    elif _elides(product):
        article, de, a = "l'", "de l'", "à l'"
    elif product.feminine:
        article, de, a = "la ", "de la ", "à la "
    else:
        article, de, a = "le ", "du ", "au "
    return {
        "product": article + name,
        "de_product": de + name,
        "a_product": a + name,
        "e": ("e" if product.feminine else "") + ("s" if product.plural else ""),
        "il": ("elle" if product.feminine else "il") + ("s" if product.plural else ""),
        "t": "nt" if product.plural else "-t",
    }


def english_forms(product: Product) -> dict[str, str]:
    return {
        "product": f"the {product.name}",
        "is": "are" if product.plural else "is",
        "does": "do" if product.plural else "does",
    }


def with_product(template: str, product: Product, language: str) -> str:
    """`template` (demo/texts.py) said of `product`, in `language` ("fr" or "en")."""
    return template.format(**(french_forms(product) if language == "fr" else english_forms(product)))
