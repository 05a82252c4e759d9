"""Bulk import of buyers from CSV: preview with bad rows by line, then the good rows imported in
the background, in chunks, with a progress page."""

from unittest import mock

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from buyers import errors, imports
from buyers.models import BulkOperation, Buyer

from .factories import BuyerFactory

pytestmark = pytest.mark.django_db

CSV = (
    "Email,Phone,Name\n"  # line 1
    "ann@example.com,,Ann\n"  # 2 good
    ",+44 20 7946 0958,Bob\n"  # 3 good
    "not-an-email,,Carl\n"  # 4 bad e-mail
    ",,Nobody\n"  # 5 no contact
    "ANN@example.com,,Ann again\n"  # 6 duplicate of line 2
    "taken@example.com,,Taken\n"  # 7 already a buyer
    "\n"
    "dora@example.com,+1 555 0100,Dora\n"  # 9 good
)


def upload(client, text, name="buyers.csv"):
    return client.post(
        reverse("buyers:import"),
        {"file": SimpleUploadedFile(name, text.encode("utf-8"), content_type="text/csv")},
    )


def test_preview_lists_bad_rows_by_line_with_the_reason():
    BuyerFactory(email="taken@example.com")
    preview = imports.read_buyers_csv(CSV)
    assert [row.line for row in preview.good] == [2, 3, 9]
    reasons = {row.line: row.error for row in preview.bad}
    assert reasons == {
        4: "Enter a valid e-mail address.",
        5: "Give an e-mail address or a phone number (one of the two is required).",
        6: "The same e-mail as line 2.",
        7: "Another buyer already has this e-mail address.",
    }


def test_semicolon_files_and_a_byte_order_mark_are_read():
    text = imports.decode_upload("\ufeffemail;name\nann@example.com;Ann\n".encode())
    preview = imports.read_buyers_csv(text)
    assert [(row.email, row.name) for row in preview.good] == [("ann@example.com", "Ann")]


@pytest.mark.parametrize(
    "data",
    [b"", b"first,last\nAnn,Lee\n", "email\nann@example.com\n".encode("utf-16")],
)
def test_unreadable_files_are_refused(data):
    with pytest.raises(errors.ImportFileInvalid):
        imports.read_buyers_csv(imports.decode_upload(data))


def test_preview_then_import_writes_the_good_rows(
    client, staff_user, django_capture_on_commit_callbacks
):
    BuyerFactory(email="taken@example.com")
    client.force_login(staff_user)
    response = upload(client, CSV)
    assert response.status_code == 200
    page = response.content.decode()
    assert "3 good rows" in page and "4 bad rows" in page
    assert "The same e-mail as line 2." in page
    assert Buyer.objects.count() == 1  # a preview writes nothing

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("buyers:import"), {"confirm": "1"})
    page = client.get(response["Location"]).content.decode()
    assert "Importing 3 buyers" in page and "4 bad rows left out at the preview" in page
    assert "Done: 3 · Failed or left as they were: 0" in page
    assert set(Buyer.objects.values_list("email", flat=True)) == {
        "taken@example.com",
        "ann@example.com",
        "",
        "dora@example.com",
    }


def test_a_bad_file_is_shown_beside_the_field(client, staff_user):
    client.force_login(staff_user)
    response = upload(client, "first,last\nAnn,Lee\n")
    assert "must name the columns" in response.context["form"].errors["file"][0]


def test_confirm_without_a_preview_asks_for_the_file_again(client, staff_user):
    client.force_login(staff_user)
    response = client.post(reverse("buyers:import"), {"confirm": "1"}, follow=True)
    assert b"Upload the file again" in response.content


def test_a_row_taken_since_the_preview_is_left_out_and_named_by_its_line(
    client, staff_user, django_capture_on_commit_callbacks
):
    client.force_login(staff_user)
    upload(client, "email\na@example.com\nb@example.com\n")
    # Someone adds b@example.com between the preview and the import.
    BuyerFactory(email="B@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("buyers:import"), {"confirm": "1"})
    page = client.get(response["Location"]).content.decode()
    assert "Done: 1 · Failed or left as they were: 1" in page
    assert "<td>3</td><td>Another buyer already has this e-mail address.</td>" in page
    assert Buyer.objects.filter(email="a@example.com").exists()


def test_a_confirmed_import_is_started_once(client, staff_user, django_capture_on_commit_callbacks):
    client.force_login(staff_user)
    upload(client, "email\na@example.com\n")
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("buyers:import"), {"confirm": "1"})
        again = client.post(reverse("buyers:import"), {"confirm": "1"}, follow=True)
    assert b"Upload the file again" in again.content
    assert Buyer.objects.filter(email="a@example.com").count() == 1


def test_many_rows_are_imported_in_chunks_with_their_progress(
    client, staff_user, settings, django_capture_on_commit_callbacks
):
    settings.BULK_CHUNK_SIZE = 40
    rows = "".join(f"buyer{n}@example.com,,Buyer {n}\n" for n in range(250))
    client.force_login(staff_user)
    upload(client, "email,phone,name\n" + rows)
    chunks = []
    real_import = imports.import_buyers

    def counting(*, rows):
        chunks.append(len(rows))
        return real_import(rows=rows)

    with (
        mock.patch.object(imports, "import_buyers", side_effect=counting),
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = client.post(reverse("buyers:import"), {"confirm": "1"})
    assert chunks == [40] * 6 + [10]
    assert Buyer.objects.count() == 250
    page = client.get(response["Location"]).content.decode()
    assert "250 of 250 rows" in page and "Done: 250" in page


def test_a_database_failure_half_way_leaves_nothing_written():
    rows = imports.read_buyers_csv("email\na@example.com\nb@example.com\n").good
    real_bulk_create = Buyer.objects.bulk_create

    def fail_after_first_batch(objs, batch_size=None):
        real_bulk_create(objs[:1])
        raise RuntimeError("connection lost")

    with (
        mock.patch.object(Buyer.objects, "bulk_create", side_effect=fail_after_first_batch),
        pytest.raises(RuntimeError),
    ):
        imports.import_buyers(rows=rows)
    assert not Buyer.objects.exists()


def test_a_file_over_the_size_limit_is_refused_beside_the_field(client, staff_user, monkeypatch):
    monkeypatch.setattr(imports, "MAX_IMPORT_BYTES", 100)
    client.force_login(staff_user)
    response = upload(client, "email\n" + "a@example.com\n" * 20)
    assert "larger than" in response.context["form"].errors["file"][0]
    assert not Buyer.objects.exists()


def test_a_row_with_a_null_character_is_a_bad_row_and_nothing_of_it_is_imported(
    client, staff_user, django_capture_on_commit_callbacks
):
    client.force_login(staff_user)
    response = upload(client, "email,name\nann@example.com,A\x00nn\nbob@example.com,Bob\n")
    assert [(row.line, row.error) for row in response.context["preview"].bad] == [
        (2, "Null characters are not allowed.")
    ]
    assert b"Null characters are not allowed." in response.content
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("buyers:import"), {"confirm": "1"})
    assert list(Buyer.objects.values_list("email", flat=True)) == ["bob@example.com"]


def test_the_same_phone_twice_in_a_file_or_already_a_buyers_is_refused_on_its_line():
    BuyerFactory(email="", phone="+1 555 0100")
    preview = imports.read_buyers_csv(
        "phone,name\n+1 555 0199,Ann\n+1-555-0199,Bob\n+1 (555) 0100,Cy\n"
    )
    assert [row.line for row in preview.good] == [2]
    assert [(row.line, row.error) for row in preview.bad] == [
        (3, "The same phone as line 2."),
        (4, "Another buyer already has this phone number."),
    ]


def test_a_new_preview_replaces_the_unconfirmed_one(client, staff_user):
    client.force_login(staff_user)
    upload(client, "email\na@example.com\n")
    upload(client, "email\nb@example.com\nc@example.com\n")
    [kept] = BulkOperation.objects.filter(state=BulkOperation.State.PREVIEW)
    assert kept.total == 2 and not Buyer.objects.exists()
