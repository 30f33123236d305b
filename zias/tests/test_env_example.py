"""Every variable the settings read is documented in .env.example."""

from __future__ import annotations

from zias.tests.envvars import variables_in_env_example, variables_read_by_settings


def test_every_setting_variable_is_documented() -> None:
    read = variables_read_by_settings()
    assert read, "the pattern found no variables; the test would prove nothing"
    assert read - variables_in_env_example() == set()
