"""What `manage.py up` makes on a first run beside the demo data."""

import pytest

from devtools.management.commands.up import DEMO_AGENT, Command
from surveys.services import agent_upsert

pytestmark = pytest.mark.django_db


def test_it_gives_the_demo_team_lead_a_password_once(client):
    agent_upsert(email=DEMO_AGENT, name="Anna Lindqvist")

    agent, password = Command().demo_agent_ensure()
    again = Command().demo_agent_ensure()

    assert agent == DEMO_AGENT and password
    assert again == (DEMO_AGENT, None)
    assert client.login(username=agent, password=password)


def test_it_prints_no_agent_without_demo_data():
    assert Command().demo_agent_ensure() == (None, None)
