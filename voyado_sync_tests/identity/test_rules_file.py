"""The shipped rules file documents every setting: each field is spelled out with its default."""

from __future__ import annotations

import yaml

from voyado_sync.identity.rules import IdentityRules, default_rules_path, load_rules


def test_shipped_rules_file_spells_out_every_setting_with_its_default():
    written = yaml.safe_load(default_rules_path().read_text())
    assert set(written) == set(IdentityRules.model_fields)
    shipped, defaults = load_rules(default_rules_path()), IdentityRules()
    # blocked values are the one list the file adds on top of the (empty) built-in default
    assert shipped.model_dump(exclude={"blocked"}) == defaults.model_dump(exclude={"blocked"})
    assert shipped.no_bridge == {"phone": ["email"]}
