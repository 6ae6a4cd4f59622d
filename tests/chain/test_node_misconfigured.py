"""Configuration errors are not outages: a wrong password, another network or the devchain in
production raise NodeMisconfigured, which no task retries, the poller records on the cursor,
and /health/ shows. Each test runs on the devchain and on a real Bitcoin Core."""

import pytest

from chain import tasks
from chain.adapter import ChainAdapter, get_adapter
from chain.errors import NodeMisconfigured, NodeUnavailable
from chain.models import ChainCursor

WRONG = "s3cret-wrong"


def test_wrong_password_is_misconfigured_and_never_shows_the_password(chain_node):
    bad = ChainAdapter(url=chain_node.url_with(password=WRONG), network="regtest")
    with pytest.raises(NodeMisconfigured) as exc:
        bad.tip()
    assert not isinstance(exc.value, NodeUnavailable)
    assert "HTTP 401" in str(exc.value) and "credentials" in str(exc.value)
    assert WRONG not in str(exc.value) and WRONG not in repr(bad)
    assert WRONG not in repr(bad.endpoint)


def test_a_node_on_another_network_is_misconfigured(chain_node):
    with pytest.raises(NodeMisconfigured) as exc:
        ChainAdapter(url=chain_node.url, network="mainnet").tip()
    assert "'regtest' node" in str(exc.value) and "'mainnet'" in str(exc.value)
    # the right network passes the same check
    assert ChainAdapter(url=chain_node.url, network="regtest").tip().height == 110


@pytest.mark.django_db
def test_a_poll_with_a_wrong_password_fails_at_once_and_the_cursor_says_why(chain_node,
                                                                            settings):
    settings.BITCOIN_RPC_URL = chain_node.url_with(password=WRONG)
    calls = get_adapter().calls
    result = tasks.poll_chain.apply()
    assert result.failed() and isinstance(result.result, NodeMisconfigured)
    assert get_adapter().calls == calls + 1  # asked once, never retried
    error = ChainCursor.objects.get().last_error
    assert error.startswith("NodeMisconfigured:") and "HTTP 401" in error
    assert WRONG not in error


@pytest.mark.django_db
def test_a_node_that_is_down_is_retried(settings):
    """The contrast: an outage is retried (eagerly here, with backoff in a worker)."""
    settings.BITCOIN_RPC_URL, settings.BITCOIN_RPC_TIMEOUT = "http://u:p@127.0.0.1:9", 1
    calls = get_adapter().calls
    result = tasks.poll_chain.apply()
    assert result.failed() and isinstance(result.result, NodeUnavailable)
    assert get_adapter().calls == calls + 1 + tasks.TASK_OPTIONS["max_retries"]
    assert ChainCursor.objects.get().last_error.startswith("NodeUnavailable:")


def test_chain_tasks_never_retry_a_misconfiguration():
    from intake import tasks as intake_tasks

    assert not issubclass(NodeMisconfigured, NodeUnavailable)
    for task in (tasks.poll_chain, tasks.track_transaction_task,
                 intake_tasks.verify_asset_task):
        assert NodeMisconfigured in task.dont_autoretry_for
        assert not any(issubclass(NodeMisconfigured, e) for e in task.autoretry_for)
