from django.apps import AppConfig


class CustodyConfig(AppConfig):
    name = "custody"
    verbose_name = "Reserve: reserve wallets, quorum, transfers, signing, ledger, deposits"

    def ready(self) -> None:
        from core.web import registry as web

        web.valuer("custody.web.hooks.kzt_value")  # KZT beside BTC on the pages
        web.case_links("custody.web.hooks.case_links")  # release orders on a case's page
        from .web import auditor, bank, releases

        bank.register_pages()
        auditor.register_pages()
        releases.register_pages()

        from chain import registry
        from chain.events import AddressPurpose, Purpose

        registry.on_transaction(Purpose.TRANSFER, "custody.chain_handlers.transfer_changed")
        registry.on_transaction(Purpose.DEPOSIT, "custody.chain_handlers.deposit_changed")
        registry.on_coins_received(AddressPurpose.RESERVE, "custody.chain_handlers.deposit_seen")
        registry.on_blocks("custody.chain_handlers.blocks_connected")
        registry.spend_check("custody.chain_handlers.is_approved_spend")
        # A pending transfer whose input vanishes is held at once (after intake's own
        # handlers, which mark the asset).
        registry.on_transaction(Purpose.SWEEP, "custody.chain_handlers.sweep_changed")
        registry.on_coins_spent(AddressPurpose.CUSTODY,
                                "custody.chain_handlers.custody_coins_spent")
        # Services queue tasks by name (core.tasks.enqueue): register them in every process,
        # not only in workers that autodiscover them.
        from . import tasks  # noqa: F401
