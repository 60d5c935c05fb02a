"""The shipped rules file documents every setting: each field is spelled out with its default."""

from __future__ import annotations

import re

import pytest
import yaml

from voyado_sync.settings import ConfigError
from voyado_sync.identity.rules import IdentityRules, default_rules_path, load_rules


def test_shipped_rules_file_spells_out_every_setting_with_its_default():
    written = yaml.safe_load(default_rules_path().read_text())
    assert set(written) == set(IdentityRules.model_fields)
    shipped, defaults = load_rules(default_rules_path()), IdentityRules()
    # blocked values are the one list the file adds on top of the (empty) built-in default
    assert shipped.model_dump(exclude={"blocked"}) == defaults.model_dump(exclude={"blocked"})
    assert shipped.no_bridge == {"phone": ["email"]}


@pytest.mark.parametrize("text, message", [
    ("limits: {ct_customer_id: 5}\nshared_threshold: 3\n", "strong type 'ct_customer_id' needs a limit of at most"),
    ("limits: {fax: 1}\n", "limits names types not in priority: ['fax']"),
    ("limits: {email: 0}\n", "limits must be >= 1"),
    ("priority: [email, email]\n", "priority lists a type twice"),
    ("limits: [\n", "is not valid YAML"),
])
def test_a_bad_rules_file_is_one_clear_config_error(tmp_path, text, message):
    path = tmp_path / "rules.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_rules(path)
