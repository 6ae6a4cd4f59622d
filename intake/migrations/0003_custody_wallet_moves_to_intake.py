# The agency's custody wallet moves from custody to intake (the layer that owns cases and
# their addresses). State only: the table keeps its name, custody_custodywallet.
import uuid

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('core', '0002_audit_append_only'),
        ('intake', '0002_roles'),
        ('custody', '0002_reserve_transfers_ledger'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.CreateModel(
                    name='CustodyWallet',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('public_id', models.UUIDField(default=uuid.uuid4, editable=False, unique=True)),
                        ('network', models.CharField(choices=[('mainnet', 'mainnet'), ('testnet', 'testnet'), ('signet', 'signet'), ('regtest', 'regtest')], max_length=16)),
                        ('label', models.CharField(max_length=200)),
                        ('descriptor', models.TextField(help_text='wsh(sortedmulti(M, xpub…/0/*, …))#checksum')),
                        ('threshold', models.PositiveSmallIntegerField()),
                        ('key_count', models.PositiveSmallIntegerField()),
                        ('next_index', models.PositiveIntegerField(default=0)),
                        ('is_active', models.BooleanField(default=True)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('agency', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='custody_wallets', to='core.agency')),
                    ],
                    options={
                        'db_table': 'custody_custodywallet',
                        'constraints': [models.UniqueConstraint(condition=models.Q(('is_active', True)), fields=('agency', 'network'), name='one_active_custody_wallet_per_agency_network'), models.CheckConstraint(condition=models.Q(('threshold__gte', 1), ('threshold__lte', models.F('key_count'))), name='custody_wallet_threshold_le_keys')],
                    },
                ),
                migrations.AlterField(
                    model_name='seizurecase',
                    name='custody_wallet',
                    field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='cases', to='intake.custodywallet'),
                ),
            ],
        ),
    ]
