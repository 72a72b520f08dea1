"""prevenance import / export on the command line: output and exit codes (documented in docs/csv.md)."""

import io
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from prevenance.customers.models import Customer

DATA = Path(__file__).parent / "data"


def _run(*args):
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command(*args, stdout=out, stderr=err)
        code = 0
    except CommandError as exc:
        err.write(f"{exc}\n")
        code = exc.returncode
    return code, out.getvalue(), err.getvalue()


@pytest.mark.django_db
def test_a_clean_file_exits_0_with_the_counts():
    code, out, err = _run("import", "customers", str(DATA / "customers_fr.csv"))

    assert (code, out, err) == (0, "2 rows: 2 created, 0 updated, 0 unchanged, 0 refused.\n", "")


@pytest.mark.django_db
def test_refused_rows_are_listed_and_exit_2():
    code, out, err = _run("import", "customers", str(DATA / "customers_bad_rows.csv"))

    assert code == 2
    assert out == "6 rows: 2 created, 0 updated, 0 unchanged, 4 refused.\n"
    assert err.splitlines() == [
        "Ignored unknown columns: shoe_size.",
        "line 3, column email: “not-an-email” is not a valid email address.",
        "line 4, column phone: “123” is not a valid phone number.",
        "line 5, column language: “klingon” is not one of: fr, en.",
        "line 6, column birth_date: “31/02/1990” is not a date (use YYYY-MM-DD or DD/MM/YYYY).",
        "line 6, column country: Use a two-letter ISO country code such as FR or GB.",
        "4 rows were refused; the others were imported.",
    ]
    assert Customer.objects.count() == 2


@pytest.mark.django_db
def test_max_errors_limits_the_list_not_the_count():
    code, _out, err = _run("import", "customers", str(DATA / "customers_bad_rows.csv"), "--max-errors", "1")

    assert code == 2
    assert err.splitlines()[1:] == [
        "line 3, column email: “not-an-email” is not a valid email address.",
        "… and 4 more errors.",
        "4 rows were refused; the others were imported.",
    ]


@pytest.mark.django_db
def test_an_unreadable_file_exits_1_and_imports_nothing(tmp_path):
    missing = tmp_path / "nope.csv"

    assert _run("import", "customers", str(missing)) == (
        1, "", f"Cannot read {missing}: No such file or directory\n")
    assert _run("import", "customers", str(DATA / "customers_cp1252.csv"))[::2] == (
        1, "Nothing imported: Line 1 is not valid utf-8 text. If the file comes from Excel or an older Windows "
           "program, try the encoding cp1252 (--encoding cp1252).\n")
    assert Customer.objects.count() == 0


@pytest.mark.django_db
def test_encoding_option():
    code, out, _err = _run("import", "customers", str(DATA / "customers_cp1252.csv"), "--encoding", "cp1252")

    assert (code, out) == (0, "1 rows: 1 created, 0 updated, 0 unchanged, 0 refused.\n")


@pytest.mark.django_db
def test_export_to_stdout():
    _run("import", "customers", str(DATA / "customers_fr.csv"))

    code, out, err = _run("export", "customers", "-")

    assert code == 0
    assert out.splitlines() == [
        "external_id,first_name,last_name,email,phone,language,birth_date,postal_code,city,country,kind,"
        "company_name,address,lifecycle_state,loyalty_card",
        "C-100,Éloïse,Lefèvre,Eloise@Exemple.fr,06 11 22 33 44,fr,1985-07-14,69003,Lyon,FR,person,,,prospect,1234 5678-90",
        "C-101,Gaël,Le Dû,gael@exemple.fr,+33 7 81 22 33 44,en,1999-12-01,29200,Brest,FR,person,,,prospect,",
    ]
    assert err == "2 rows exported.\n"
