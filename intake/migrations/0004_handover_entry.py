# The physical chain of custody gets a name of its own (HandoverEntry), so "custody" keeps
# one meaning: the coins held at a case's custody address. State only: the table keeps its
# name, intake_custodyentry, and no row moves.
import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('intake', '0003_custody_wallet_moves_to_intake'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.RenameModel(old_name='CustodyEntry', new_name='HandoverEntry'),
                migrations.AlterModelTable(name='handoverentry', table='intake_custodyentry'),
                migrations.AlterModelOptions(
                    name='handoverentry',
                    options={'ordering': ['held_from', 'id'],
                             'verbose_name': 'chain-of-custody handover'},
                ),
                migrations.AlterField(
                    model_name='handoverentry',
                    name='case',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='handovers', to='intake.seizurecase'),
                ),
            ],
        ),
    ]
