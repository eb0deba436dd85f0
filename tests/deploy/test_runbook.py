"""deploy/RUNBOOK.md names commands and files that exist."""

from __future__ import annotations

import re

from django.core.management import get_commands

from tests.deploy.envfiles import DEPLOY, env_example_lines

RUNBOOK = (DEPLOY / "RUNBOOK.md").read_text()


def test_every_management_command_it_names_exists():
    named = set(re.findall(r"(?:django-admin|srn-manage|manage\.py) ([a-z_]+)", RUNBOOK))
    assert {"migrate", "rotate_field_keys", "verify_audit", "audit_checkpoint"} <= named
    assert named - set(get_commands()) == set()


def test_every_deploy_file_in_its_table_exists():
    table = RUNBOOK[
        RUNBOOK.index("| file | what |") : RUNBOOK.index("\n\n", RUNBOOK.index("| file"))
    ]
    first_cells = re.findall(r"^\| ([^|]+) \|", table, re.MULTILINE)[1:]  # after the header
    files = [name for cell in first_cells for name in re.findall(r"`([^`]+)`", cell)]
    assert len(files) >= 8
    for name in files:
        assert (DEPLOY / name.rstrip("/")).exists(), name


def test_every_variable_it_names_is_in_the_env_example():
    documented = set(env_example_lines())
    named = set(re.findall(r"`([A-Z][A-Z0-9_]{3,})(?:`|=)", RUNBOOK))
    assert "FIELD_ENCRYPTION_KEYS" in named
    assert named - documented == set()


def test_first_start_has_one_command_for_the_server_and_it_exists():
    """What tests/deploy/test_runbook_first_start.py runs (in the production pass)."""
    from tests.deploy.test_runbook_first_start import first_start_section, section_commands

    [command] = section_commands(first_start_section())
    assert command.startswith("srn-manage bootstrap_network --agency-slug ")
    assert "bootstrap_network" in get_commands()
