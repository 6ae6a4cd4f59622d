import pytest

from tests.support.custody import make_confiscated_case, make_reserve_wallet


@pytest.fixture
def reserve_wallet(admin_user, bank3):
    return make_reserve_wallet(admin=admin_user, approver=bank3)


@pytest.fixture
def case(agency, custody_wallet, legal):
    return make_confiscated_case(agency=agency, custody_wallet=custody_wallet, legal=legal)


@pytest.fixture
def no_chain(monkeypatch):
    """Chain calls replaced: fee estimate 10 sat/vB, broadcasts recorded, watches recorded."""
    from custody import chainio

    calls = {"broadcast": [], "watch": []}

    class Result:
        def __init__(self, txid):
            self.txid, self.accepted, self.already_known = txid, True, False

    def broadcast(raw_hex):
        from embit.transaction import Transaction

        calls["broadcast"].append(raw_hex)
        return Result(Transaction.from_string(raw_hex).txid().hex())

    monkeypatch.setattr(chainio, "fee_rate_sat_vb", lambda: 10)
    monkeypatch.setattr(chainio, "broadcast", broadcast)
    monkeypatch.setattr(chainio, "settlement_paused", lambda: (False, ""))
    monkeypatch.setattr(chainio, "watch_transfer",
                        lambda **kw: calls["watch"].append(kw))
    monkeypatch.setattr(chainio, "custody_utxos", lambda address: pytest.fail(
        "give utxos= explicitly in unit tests"))
    return calls

