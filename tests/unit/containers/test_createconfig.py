"""Create-body validation and the Docker merge of a container's config with its image's config."""
from __future__ import annotations

from typing import Any

import pytest

from dockyard.containers import createconfig
from dockyard.errors import InvalidParameter

IMAGE = {"config": {"Cmd": ["sh"], "Env": ["PATH=/usr/bin:/bin", "A=image"],
                    "WorkingDir": "/srv", "Labels": {"from": "image", "keep": "1"}}}
IMAGE_EP = {"config": {"Entrypoint": ["/entry.sh"], "Cmd": ["--default"]}}


def build(body: dict[str, Any], image: dict[str, Any] = IMAGE) -> tuple[dict, dict]:
    return createconfig.build({"Image": "busybox", **body}, image)


# --- Entrypoint and Cmd --------------------------------------------------------------------

def test_image_cmd_used_when_neither_given() -> None:
    config, _ = build({})
    assert config["Cmd"] == ["sh"] and config["Entrypoint"] is None
    config, _ = build({}, IMAGE_EP)
    assert config["Entrypoint"] == ["/entry.sh"] and config["Cmd"] == ["--default"]


def test_request_cmd_replaces_image_cmd_and_keeps_image_entrypoint() -> None:
    config, _ = build({"Cmd": ["echo", "hi"]})
    assert config["Cmd"] == ["echo", "hi"] and config["Entrypoint"] is None
    config, _ = build({"Cmd": ["--flag"]}, IMAGE_EP)
    assert config["Entrypoint"] == ["/entry.sh"] and config["Cmd"] == ["--flag"]


def test_request_entrypoint_clears_image_cmd() -> None:
    config, _ = build({"Entrypoint": ["/bin/echo"]}, IMAGE_EP)
    assert config["Entrypoint"] == ["/bin/echo"]
    assert config["Cmd"] is None
    config, _ = build({"Entrypoint": ["/bin/echo"], "Cmd": ["x"]}, IMAGE_EP)
    assert config["Entrypoint"] == ["/bin/echo"] and config["Cmd"] == ["x"]


def test_empty_string_entrypoint_resets_the_image_entrypoint() -> None:
    config, _ = build({"Entrypoint": [""], "Cmd": ["ls", "-l"]}, IMAGE_EP)
    assert not config["Entrypoint"]
    assert config["Cmd"] == ["ls", "-l"]


def test_string_cmd_and_entrypoint_become_one_element_lists() -> None:
    config, _ = build({"Entrypoint": "/bin/sh", "Cmd": "-c"})
    assert config["Entrypoint"] == ["/bin/sh"] and config["Cmd"] == ["-c"]


def test_no_command_specified() -> None:
    with pytest.raises(InvalidParameter, match="^No command specified$"):
        createconfig.build({"Image": "scratch"}, {"config": {}})
    with pytest.raises(InvalidParameter, match="^No command specified$"):
        createconfig.build({"Image": "scratch", "Cmd": []}, {})
    with pytest.raises(InvalidParameter, match="^No command specified$"):
        createconfig.build({"Image": "x", "Entrypoint": [""]}, {"config": {"Entrypoint": ["/e"]}})


def test_non_dict_body_is_rejected() -> None:
    for body in (None, [], "x"):
        with pytest.raises(InvalidParameter):
            createconfig.build(body, IMAGE)


# --- Env, labels and other image defaults --------------------------------------------------

def test_env_merge_overrides_by_key_and_appends_new_keys() -> None:
    config, _ = build({"Env": ["A=request", "B=new", "EMPTY="]})
    assert config["Env"] == ["PATH=/usr/bin:/bin", "A=request", "B=new", "EMPTY="]


def test_env_key_without_value_overrides_too() -> None:
    assert createconfig.merge_env(["A=1", "B=2"], ["A"]) == ["A", "B=2"]


def test_env_without_key_is_rejected() -> None:
    with pytest.raises(InvalidParameter):
        build({"Env": ["=value"]})


def test_labels_merge_and_image_defaults() -> None:
    config, _ = build({"Labels": {"from": "request"}})
    assert config["Labels"] == {"from": "request", "keep": "1"}
    assert config["WorkingDir"] == "/srv"
    config, _ = build({"WorkingDir": "/tmp", "User": "nobody"})
    assert config["WorkingDir"] == "/tmp" and config["User"] == "nobody"


# --- JSON types ----------------------------------------------------------------------------

@pytest.mark.parametrize("body", [
    {"Cmd": 5},
    {"Entrypoint": {"a": 1}},
    {"Env": "A=1"},
    {"Tty": "yes"},
    {"Labels": ["a"]},
    {"StopTimeout": "10"},
    {"StopTimeout": True},
    {"HostConfig": []},
    {"HostConfig": {"Memory": "1g"}},
    {"HostConfig": {"Memory": True}},
    {"HostConfig": {"Privileged": 1}},
    {"HostConfig": {"CapAdd": "NET_ADMIN"}},
    {"HostConfig": {"NetworkMode": 3}},
])
def test_wrong_json_types_are_invalid_parameter(body: dict[str, Any]) -> None:
    with pytest.raises(InvalidParameter, match="cannot unmarshal"):
        build({"Cmd": ["true"], **body} if "Cmd" not in body else body)


def test_list_of_non_strings_is_rejected() -> None:
    with pytest.raises(InvalidParameter):
        build({"Cmd": ["echo", 1]})
    with pytest.raises(InvalidParameter):
        build({"Env": [1]})


def test_null_fields_are_treated_as_absent() -> None:
    config, host = build({"Cmd": None, "Env": None, "HostConfig": None})
    assert config["Cmd"] == ["sh"]
    assert host["NetworkMode"] == "default"


# --- names ---------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["-bad", "a", "x/y", "/", "", "_x", ".x", "has space", "é1"])
def test_invalid_names_are_rejected_with_dockers_message(name: str) -> None:
    with pytest.raises(InvalidParameter) as exc:
        createconfig.validate_name(name)
    assert exc.value.message == (
        f"Invalid container name ({name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed")


@pytest.mark.parametrize("name,stored", [("ab", "ab"), ("/web_1", "web_1"), ("a.b-c_d", "a.b-c_d"),
                                         ("9lives", "9lives")])
def test_valid_names(name: str, stored: str) -> None:
    assert createconfig.validate_name(name) == stored


def test_random_name_avoids_taken_names() -> None:
    taken: set[str] = set()
    for _ in range(50):
        name = createconfig.random_name(taken)
        assert name not in taken
        createconfig.validate_name(name)
        taken.add(name)


# --- HostConfig ----------------------------------------------------------------------------

def test_memory_below_6mb_is_rejected() -> None:
    with pytest.raises(InvalidParameter, match="^Minimum memory limit allowed is 6MB$"):
        build({"HostConfig": {"Memory": 6 * 1024 * 1024 - 1}})
    _, host = build({"HostConfig": {"Memory": 6 * 1024 * 1024}})
    assert host["Memory"] == 6 * 1024 * 1024


def test_negative_resources_are_rejected_but_pids_minus_one_is_unlimited() -> None:
    with pytest.raises(InvalidParameter):
        build({"HostConfig": {"CpuShares": -1}})
    _, host = build({"HostConfig": {"PidsLimit": -1}})
    assert host["PidsLimit"] == -1


@pytest.mark.parametrize("mode", ["bad/name", "-x", "container:"])
def test_malformed_network_mode_is_rejected(mode: str) -> None:
    with pytest.raises(InvalidParameter):
        build({"HostConfig": {"NetworkMode": mode}})


@pytest.mark.parametrize("mode", ["default", "bridge", "host", "none", "container:abc", "mynet"])
def test_supported_network_modes(mode: str) -> None:
    _, host = build({"HostConfig": {"NetworkMode": mode}})
    assert host["NetworkMode"] == mode


def test_nano_cpus_conflicts_with_cpu_period() -> None:
    with pytest.raises(InvalidParameter, match="Conflicting options"):
        build({"HostConfig": {"NanoCpus": 1_000_000_000, "CpuPeriod": 100000}})


def test_host_config_defaults_and_overrides() -> None:
    _, host = build({"HostConfig": {"Privileged": True, "CapAdd": ["NET_ADMIN"]}})
    assert host["Privileged"] is True and host["CapAdd"] == ["NET_ADMIN"]
    assert host["NetworkMode"] == "default"
    assert host["RestartPolicy"] == {"Name": "no", "MaximumRetryCount": 0}
    assert host["LogConfig"]["Type"] == "json-file"
    assert host["ShmSize"] == 64 * 1024 * 1024


@pytest.mark.parametrize("body, message", [
    ({"WorkingDir": "relative/dir"}, "needs to be an absolute path"),
    ({"HostConfig": {"RestartPolicy": {"Name": "sometimes"}}}, "invalid restart policy 'sometimes'"),
    ({"HostConfig": {"Ulimits": [{"Name": "bogus", "Soft": 1, "Hard": 1}]}}, "invalid ulimit type: bogus"),
    ({"HostConfig": {"Ulimits": [{"Name": "nofile", "Soft": 10, "Hard": 5}]}}, "soft limit"),
    ({"HostConfig": {"CpusetCpus": "0-a"}}, "Invalid value 0-a for cpuset cpus"),
    ({"HostConfig": {"CapAdd": ["CAP_BOGUS"]}}, 'unknown capability: "CAP_BOGUS"'),
    ({"HostConfig": {"CapDrop": ["bogus"]}}, 'unknown capability: "bogus"'),
])
def test_values_docker_refuses_at_create(body: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidParameter, match=message.replace("(", r"\(")):
        build(body)


def test_values_docker_accepts_at_create() -> None:
    _, host = build({"WorkingDir": "/w", "HostConfig": {
        "RestartPolicy": {"Name": "on-failure", "MaximumRetryCount": 2}, "CpusetCpus": "0,1-1",
        "CapAdd": ["NET_ADMIN", "ALL"], "CapDrop": ["cap_chown"],
        "Ulimits": [{"Name": "nofile", "Soft": 5, "Hard": 10}]}})
    assert host["RestartPolicy"]["Name"] == "on-failure"
