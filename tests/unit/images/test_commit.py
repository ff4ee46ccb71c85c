"""images/commit.py: Docker's merge of the commit body over the container's config."""
from __future__ import annotations

import pytest

from dockyard.errors import InvalidParameter
from dockyard.images.commit import merge_config


def test_merge_keeps_unset_fields_and_merges_env():
    base = {"Cmd": ["sh"], "Env": ["PATH=/bin", "A=1"], "Labels": {"x": "1"}, "User": "u"}
    out = merge_config(base, {"Cmd": ["true"], "Env": ["A=2", "B=3"], "Labels": {"y": "2"}, "User": ""})
    assert out == {"Cmd": ["true"], "Env": ["PATH=/bin", "A=2", "B=3"], "Labels": {"x": "1", "y": "2"},
                   "User": "u"}
    assert base["Env"] == ["PATH=/bin", "A=1"]  # the container's record is untouched
    assert merge_config(base, None) == base


def test_merge_refuses_a_non_object():
    with pytest.raises(InvalidParameter):
        merge_config({}, ["x"])
