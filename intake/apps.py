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

        # The pages people work in: intake's navigation and its "what needs me now".
        from core.web import registry as web

        from .web.home import NAV

        for item in NAV:
            web.nav(item)
        web.work("intake.web.home.needs_me_now")
