from django.apps import AppConfig


class IntakeConfig(AppConfig):
    name = "intake"
    verbose_name = "Intake: seizure cases, evidence, legal review, the agencies' custody wallets"

    def ready(self) -> None:
        from chain import registry
        from chain.events import AddressPurpose, Purpose

        registry.on_transaction(Purpose.SWEEP, "intake.chain_handlers.sweep_changed")
        registry.on_coins_spent(AddressPurpose.CUSTODY,
                                "intake.chain_handlers.custody_coins_spent")
        registry.on_coins_received(AddressPurpose.CUSTODY,
                                   "intake.chain_handlers.custody_coins_received")
        registry.on_blocks("intake.chain_handlers.blocks_connected")
