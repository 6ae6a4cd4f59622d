from django.conf import settings

from chain import registry
from chain.errors import NodeUnavailable
from config.celery import app


def test_every_beat_entry_names_a_registered_task_with_expiry():
    app.loader.import_default_modules()
    assert {"chain-poll", "chain-sweep-due", "intake-sweep-due-assets"} <= set(
        settings.CELERY_BEAT_SCHEDULE)
    for entry in settings.CELERY_BEAT_SCHEDULE.values():
        assert entry["task"] in app.tasks, entry["task"]
        assert 0 < entry["options"]["expires"], entry  # a backlog never piles up


def test_chain_tasks_are_late_acked_and_retry_on_node_unavailable():
    from chain import tasks as chain_tasks
    from intake import tasks as intake_tasks

    for task in (chain_tasks.poll_chain, chain_tasks.track_transaction_task,
                 intake_tasks.verify_asset_task):
        assert task.acks_late and task.reject_on_worker_lost
        assert NodeUnavailable in task.autoretry_for
        assert task.time_limit and task.soft_time_limit


def test_every_purpose_has_a_registered_handler_that_imports():
    assert set(registry._tx) == {"sweep", "transfer", "deposit"}
    assert set(registry._spent) == {"custody"}
    assert set(registry._received) == {"custody", "reserve"}
    assert registry._spend_checks == ["custody.chain_handlers.is_approved_spend"]
    assert registry.check_handlers() == []


def test_a_handler_that_cannot_be_imported_fails_the_system_check(monkeypatch):
    monkeypatch.setattr(registry, "_tx", {**registry._tx,
                                          "transfer": ["custody.chain_handlers.typo"]})
    errors = registry.check_handlers()
    assert [e.id for e in errors] == ["chain.E001"]
    assert "custody.chain_handlers.typo" in errors[0].msg
