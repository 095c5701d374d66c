"""InvitationRollup keeps one row per funnel step; business figures per month.

The invitation rollups are rebuilt here from the raw rows, so the funnel and the
response rate are right straight after the migration.
"""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models
from django.db.models import Count, Q
from django.db.models.functions import TruncDate

STEPS = {
    "sent": Q(sent_at__isnull=False),
    "delivered": Q(sent_at__isnull=False, bounced_at__isnull=True),
    "answered": Q(sent_at__isnull=False, bounced_at__isnull=True, response__isnull=False),
    "commented": Q(sent_at__isnull=False, bounced_at__isnull=True, response__isnull=False)
    & ~Q(response__comment=""),
}
DIMENSIONS = ("kind", "agent_id", "team_id", "channel", "category")


def rebuild_invitation_rollups(apps, schema_editor):
    Invitation = apps.get_model("surveys", "Invitation")
    InvitationRollup = apps.get_model("metrics", "InvitationRollup")
    InvitationRollup.objects.all().delete()
    rows = (
        Invitation.objects.filter(sent_at__isnull=False)
        .annotate(day=TruncDate("sent_at"))
        .values("day", *DIMENSIONS)
        .annotate(**{name: Count("pk", filter=q) for name, q in STEPS.items()})
        .order_by()
    )
    InvitationRollup.objects.bulk_create(
        (
            InvitationRollup(
                **{key: row[key] for key in ("day", *DIMENSIONS)}, step=name, count=row[name]
            )
            for row in rows
            for name in STEPS
            if row[name]
        ),
        batch_size=2000,
    )


class Migration(migrations.Migration):

    dependencies = [
        ("metrics", "0001_initial"),
        ("surveys", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveField(model_name="invitationrollup", name="answered"),
        migrations.RemoveField(model_name="invitationrollup", name="delivered"),
        migrations.AddField(
            model_name="invitationrollup",
            name="step",
            field=models.CharField(default="", max_length=20),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="invitationrollup",
            name="count",
            field=models.PositiveIntegerField(default=0),
            preserve_default=False,
        ),
        migrations.AddIndex(
            model_name="invitationrollup",
            index=models.Index(fields=["day", "step"], name="metrics_inv_day_17268b_idx"),
        ),
        migrations.AddIndex(
            model_name="scorerollup",
            index=models.Index(
                fields=["day", "kind", "scale_points", "score"], name="metrics_sco_day_a71351_idx"
            ),
        ),
        migrations.CreateModel(
            name="BusinessFigures",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("month", models.DateField(help_text="The first day of the month.", unique=True)),
                ("customers_start", models.PositiveIntegerField(help_text="Paying customers on the first day.", verbose_name="customers at the start (S)")),
                ("customers_end", models.PositiveIntegerField(help_text="Paying customers on the last day.", verbose_name="customers at the end (E)")),
                ("customers_new", models.PositiveIntegerField(help_text="Customers won during the month.", verbose_name="new customers (N)")),
                ("sales_marketing_spend", models.DecimalField(decimal_places=2, max_digits=14, verbose_name="sales and marketing spend")),
                ("yearly_revenue_per_customer", models.DecimalField(decimal_places=2, max_digits=14, verbose_name="yearly revenue per customer")),
                ("customer_years", models.DecimalField(decimal_places=2, help_text="How many years a customer stays on average.", max_digits=6, verbose_name="years as a customer")),
                ("note", models.TextField(blank=True)),
                ("updated_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("updated_by", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, to=settings.AUTH_USER_MODEL)),
            ],
            options={
                "verbose_name": "business figures",
                "verbose_name_plural": "business figures",
                "ordering": ["-month"],
            },
        ),
        migrations.RunPython(rebuild_invitation_rollups, migrations.RunPython.noop),
    ]
