from chain.schedule import chain_beat_schedule
from config.celery import app


def test_beat_entries_name_registered_tasks_with_expiry():
    import chain.tasks  # noqa: F401 - registers the tasks

    schedule = chain_beat_schedule()
    assert set(schedule) == {"chain-poll", "chain-sweep-due"}
    for entry in schedule.values():
        assert entry["task"] in app.tasks
        assert 0 < entry["schedule"] <= 60
        assert entry["options"]["expires"] >= entry["schedule"]


def test_tasks_are_late_acked_and_retry_on_node_unavailable():
    from chain import tasks
    from chain.errors import NodeUnavailable

    for task in (tasks.poll_chain, tasks.verify_asset_task, tasks.track_transaction_task):
        assert task.acks_late and task.reject_on_worker_lost
        assert NodeUnavailable in task.autoretry_for
        assert task.time_limit and task.soft_time_limit
