from django.db import migrations


def _key(raw):
    # surveys.rules.category_key as of this migration: case and spacing do not count.
    return " ".join((raw or "").split()).casefold()[:100]


def rollup_categories_fold(apps, schema_editor):
    """The rollups name categories by key too, as the tickets now do (surveys 0018); a
    bucket that now appears twice is summed by every read and merged by the nightly
    rebuild."""
    for model in ("ScoreRollup", "InvitationRollup"):
        rows = apps.get_model("metrics", model).objects
        for raw in rows.exclude(category="").values_list("category", flat=True).distinct():
            if _key(raw) != raw:
                rows.filter(category=raw).update(category=_key(raw))


class Migration(migrations.Migration):
    dependencies = [
        ("metrics", "0011_digests"),
        ("surveys", "0018_categories"),
    ]

    operations = [migrations.RunPython(rollup_categories_fold, migrations.RunPython.noop)]
