# Its own migration: on PostgreSQL the indexes and foreign keys 0012 adds are created when 0012
# commits, which a data change in the same transaction would block ("pending trigger events").
from django.db import migrations

import core.codes


def fill_codes_and_buyers(apps, schema_editor):
    """E-mails sent before: each gets its own code, and the buyer of its access (one UPDATE)."""
    from django.db.models import OuterRef, Subquery

    SentEmail = apps.get_model("buyers", "SentEmail")
    Access = apps.get_model("buyers", "Access")
    SentEmail.objects.filter(access__isnull=False).update(
        buyer_id=Subquery(Access.objects.filter(pk=OuterRef("access_id")).values("buyer_id")[:1])
    )
    taken, batch = set(), []
    for email in SentEmail.objects.only("pk").order_by("pk").iterator(chunk_size=2000):
        code = core.codes.new_public_code()
        while code in taken:
            code = core.codes.new_public_code()
        taken.add(code)
        email.code = code
        batch.append(email)
        if len(batch) >= 2000:
            SentEmail.objects.bulk_update(batch, ["code"])
            batch = []
    SentEmail.objects.bulk_update(batch, ["code"])


class Migration(migrations.Migration):
    dependencies = [("buyers", "0012_sent_emails_keep_bodies_and_buyer_notes")]

    operations = [migrations.RunPython(fill_codes_and_buyers, migrations.RunPython.noop)]
