from django.db import migrations


def create_roles(apps, schema_editor):
    from core.roles import sync_role_groups

    sync_role_groups(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("intake", "0001_initial"),
        ("custody", "0001_initial"),
        ("core", "0002_audit_append_only"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [migrations.RunPython(create_roles, migrations.RunPython.noop)]
