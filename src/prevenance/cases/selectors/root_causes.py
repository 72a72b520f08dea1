"""The root causes an agent picks from on the case page (the Classification form).

There may be hundreds: the picker offers the active ones only, plus the case's own even when
it was retired since (saving the form must not drop it), grouped under their top-level
category, each group and each cause in reading order. All from one query, whatever their number.
"""

from django.utils.translation import gettext as _

from prevenance.cases.models import RootCause
from prevenance.core.text import search_key

# Between the levels of a cause deeper than a category's child: "Carrier › Late".
LEVELS = " › "
_MAX_DEPTH = 100  # as RootCause.clean: a cycle written around it ends the walk


def reading_order(label: str) -> tuple[str, str]:
    """Sort key of a name as a French or English reader looks for it: case and accents do not
    move it ("Écran" comes between "Douane" and "Facture", not after "Z", as the database's
    byte order on SQLite or a C collation would put it); the name as written breaks ties."""
    return search_key(label), label


def _path(pk: int, rows: dict[int, tuple[str, int | None, bool]]) -> list[int]:
    """The ids from the top-level category down to `pk`."""
    path, hops = [pk], 0
    while (parent := rows[path[0]][1]) is not None and hops < _MAX_DEPTH and parent not in path:
        path.insert(0, parent)
        hops += 1
    return path


def root_cause_choices(current_id: int | None) -> list:
    """Choices for a <select>: (id, label) for a top-level cause that has nothing under it
    shown, then (category, [(id, label), ...]) groups, the category itself first ("Delivery
    (general)"), deeper causes named by their path below the category. The case's own cause,
    when retired, is kept and says so."""
    rows = {pk: (name, parent_id, active) for pk, name, parent_id, active in
            RootCause.objects.values_list("pk", "name", "parent_id", "active")}
    shown: dict[int, list[int]] = {}  # top-level id -> the shown causes' paths below it
    for pk, (_name, _parent, active) in rows.items():
        if active or pk == current_id:
            path = _path(pk, rows)
            shown.setdefault(path[0], []).append(path)

    def label(path: list[int], text: str) -> str:
        return text if rows[path[-1]][2] else _("%(name)s (no longer in use)") % {"name": text}

    alone, groups = [], []
    for top, paths in shown.items():
        top_name = rows[top][0]
        if paths == [[top]]:
            alone.append((top, label([top], top_name)))
            continue
        below = sorted(((path[-1], label(path, LEVELS.join(rows[pk][0] for pk in path[1:]))) for path in paths if len(path) > 1),
                       key=lambda choice: reading_order(choice[1]))
        if [top] in paths:
            below.insert(0, (top, label([top], _("%(name)s (general)") % {"name": top_name})))
        groups.append((top_name, below))
    alone.sort(key=lambda choice: reading_order(choice[1]))
    groups.sort(key=lambda group: reading_order(group[0]))
    return alone + groups
