# The agency's custody wallet now lives in intake (intake 0003); state only, no table change.
from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('custody', '0002_reserve_transfers_ledger'),
        ('intake', '0003_custody_wallet_moves_to_intake'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[migrations.DeleteModel(name='CustodyWallet')],
        ),
    ]
