# The probe of the monthly rollup's freshness (yishi/appeals/rollup.py): any appeal of a month changed after a time.
# On a large table this takes minutes (about 4 min for 10 M appeals on 2 cores).

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('appeals', '0009_handling_due_include'),
    ]

    operations = [
        migrations.AddIndex(
            model_name='appeal',
            index=models.Index(fields=['month', 'updated_at'], name='appeal_month_updated'),
        ),
    ]
