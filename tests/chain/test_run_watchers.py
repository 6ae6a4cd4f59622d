"""run_watchers, the embedded default's scheduler: --once exits non-zero when a task failed."""

import pytest
from django.core.management import CommandError, call_command

from chain.adapter import get_adapter
from chain.models import ChainCursor

pytestmark = pytest.mark.django_db


def test_once_succeeds_when_every_task_does(chain_node):
    call_command("run_watchers", "--once")
    assert ChainCursor.objects.get().height == 110
    assert ChainCursor.objects.get().last_error == ""


def test_once_fails_when_the_node_refuses_our_password(chain_node, settings):
    settings.BITCOIN_RPC_URL = chain_node.url_with(password="s3cret-wrong")
    with pytest.raises(CommandError) as exc:
        call_command("run_watchers", "--once")
    assert "chain-poll (NodeMisconfigured: " in str(exc.value)
    assert "s3cret-wrong" not in str(exc.value)


def test_once_does_not_retry_on_the_spot_when_the_node_is_down(settings):
    settings.BITCOIN_RPC_URL, settings.BITCOIN_RPC_TIMEOUT = "http://u:p@127.0.0.1:9", 1
    calls = get_adapter().calls
    with pytest.raises(CommandError) as exc:
        call_command("run_watchers", "--once")
    assert "chain-poll (NodeUnavailable: " in str(exc.value)
    assert get_adapter().calls == calls + 1  # the next round is the retry
