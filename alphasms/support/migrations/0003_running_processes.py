# Written for Django 5.2 (RunningProcess: heartbeat rows of running workers, for backup restore)

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("support", "0002_backup_runs"),
    ]

    operations = [
        migrations.CreateModel(
            name="RunningProcess",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("key", models.CharField(max_length=200, unique=True)),
                ("kind", models.CharField(max_length=16)),
                ("host", models.CharField(max_length=255)),
                ("pid", models.PositiveIntegerField()),
                ("started_at", models.DateTimeField()),
                ("seen_at", models.DateTimeField(db_index=True)),
            ],
            options={
                "verbose_name": "Laufender Prozess",
                "verbose_name_plural": "Laufende Prozesse",
                "ordering": ["-seen_at"],
            },
        ),
    ]
