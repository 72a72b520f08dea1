"""HTML shown to agents is inert; plain text derived from HTML; the new text of replies."""

import pytest

from prevenance.cases.mail.quotes import reply_text
from prevenance.cases.mail.sanitize import html_to_text, sanitize_html


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        ("<p>Bonjour<script>alert(1)</script></p>", "<p>Bonjour</p>"),
        ('<img src="x" onerror="alert(1)">', "<img>"),
        ('<a href=" JaVaScRiPt:alert(1)">lien</a>', '<a rel="noopener noreferrer nofollow">lien</a>'),
        ('<a href="data:text/html;base64,PHNjcmlwdD4=">lien</a>', '<a rel="noopener noreferrer nofollow">lien</a>'),
        ('<a href="/admin/delete">relatif</a>', '<a rel="noopener noreferrer nofollow">relatif</a>'),
        ('<a href="mailto:sc@boutique.fr">écrire</a>', '<a href="mailto:sc@boutique.fr" rel="noopener noreferrer nofollow">écrire</a>'),
        ('<iframe src="https://evil.example">texte de repli</iframe>fin', "fin"),
        ('<svg onload="alert(1)"><circle r="1"/></svg>ok', "ok"),
        ('<form action="https://evil.example"><input name="p"><button>Envoyer</button></form>', ""),
        ('<meta http-equiv="refresh" content="0;url=https://evil.example"><base href="https://evil.example/">x', "x"),
        ('<p style="background:url(https://tracker.example/p.gif)">Texte</p>', "<p>Texte</p>"),
        ('<img src="https://tracker.example/p.gif" alt="pixel">', '<img alt="pixel">'),
        ('<img src="cid:logo@boutique.fr" alt="logo">', '<img src="cid:logo@boutique.fr" alt="logo">'),
        ("<p>a<!-- commentaire --></p>", "<p>a</p>"),
        ("<table><tr><td colspan=2 onclick=x>cellule</td></tr></table>", '<table><tbody><tr><td colspan="2">cellule</td></tr></tbody></table>'),
        ("", ""),
    ],
)
def test_sanitize_html(html, expected):
    assert sanitize_html(html) == expected


def test_html_to_text_keeps_structure_and_marks_quotes():
    html = (
        "<div dir='ltr'>Merci,<br>c'est réglé.<br><br>Paul</div>"
        "<div class='gmail_quote'><div>Le lun. 30 nov. 2026 à 10:00, SC &lt;sc@b.fr&gt; a écrit :<br></div>"
        "<blockquote><p>Bonjour,</p><p>Votre avoir&nbsp;: 30&nbsp;€</p></blockquote></div>"
        "<style>p{}</style><script>x()</script><pre>  ligne   espacée\n  seconde</pre>"
    )

    text = html_to_text(html)

    assert text == (
        "Merci,\nc'est réglé.\n\nPaul\n\nLe lun. 30 nov. 2026 à 10:00, SC <sc@b.fr> a écrit :\n\n"
        "> Bonjour,\n>\n> Votre avoir\xa0: 30\xa0€\n\n  ligne   espacée\n  seconde"
    )
    assert reply_text(text) == "Merci,\nc'est réglé.\n\nPaul"


def test_html_to_text_of_empty_or_broken_html():
    assert html_to_text("") == ""
    assert html_to_text("<p>non fermé <b>gras") == "non fermé gras"
    assert html_to_text("<ul><li>un<li>deux</ul>") == "- un\n- deux"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Merci.\n\nOn Mon, Nov 30, 2026 at 9:00 AM Lumiere <sc@l.co.uk> wrote:\n> old", "Merci."),
        ("Merci.\n\nOn Mon, Nov 30, 2026 at 9:00 AM Lumiere Support <\nsupport@l.co.uk> wrote:\n> old", "Merci."),
        ("Merci.\nLe 30/11/2026 à 10:00, SC a écrit :\nancien texte", "Merci."),
        ("Ok.\n-----Message d'origine-----\nDe : SC\nEnvoyé : lundi\nancien", "Ok."),
        ("Ok.\n\nFrom: SC <sc@b.fr>\nSent: Monday\nTo: Paul\nancien", "Ok."),
        ("Ok.\n\nDe : SC <sc@b.fr>\nDate : lundi 30 novembre\nÀ : Paul\nancien", "Ok."),
        # A sentence starting with "Le" just above the header is the customer's, not the header's.
        ("Le colis est arrivé.\nLe 30 nov. 2026 à 10:00, SC <sc@b.fr> a écrit :\n> old", "Le colis est arrivé."),
        # "De :" without a "Envoyé :" line below is ordinary text.
        ("De : mon côté, tout va bien.\nMerci", "De : mon côté, tout va bien.\nMerci"),
        # Nothing new at all: the whole text stays rather than an empty message.
        ("> seulement une citation", "> seulement une citation"),
        ("", ""),
    ],
)
def test_reply_text(text, expected):
    assert reply_text(text) == expected
