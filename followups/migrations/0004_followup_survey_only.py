import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("followups", "0003_cases_merged_per_survey")]

    operations = [
        migrations.RemoveField(model_name="followup", name="invitation"),
        migrations.AlterField(
            model_name="followup",
            name="survey",
            field=models.OneToOneField(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="followup",
                to="surveys.survey",
            ),
        ),
    ]
