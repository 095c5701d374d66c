import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("followups", "0001_initial"),
        ("surveys", "0011_verbose_names"),
    ]

    operations = [
        # May be empty from here on, so that going back (0004, then 0003 filling it
        # again) can add it to the rows there are.
        migrations.AlterField(
            model_name="followup",
            name="invitation",
            field=models.OneToOneField(
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="followup",
                to="surveys.invitation",
            ),
        ),
        migrations.AddField(
            model_name="followup",
            name="answers_seen",
            field=models.CharField(blank=True, max_length=200),
        ),
        migrations.AddField(
            model_name="followup",
            name="survey",
            field=models.OneToOneField(
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="followup",
                to="surveys.survey",
            ),
        ),
        migrations.AlterField(
            model_name="followupevent",
            name="kind",
            field=models.CharField(
                choices=[
                    ("opened", "Opened"),
                    ("note", "Note"),
                    ("status", "Status changed"),
                    ("outcome", "Outcome changed"),
                    ("owner", "Reassigned"),
                    ("email", "Emailed the customer"),
                    ("escalated", "Escalated"),
                    ("recovery_sent", "Asked the customer whether it was sorted out"),
                    ("recovery_answer", "The customer answered"),
                    ("answer", "The customer changed the answer"),
                    ("discarded", "Held answer discarded"),
                ],
                max_length=20,
            ),
        ),
    ]
