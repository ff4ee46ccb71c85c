from dockyard.linux import caps
from dockyard.linux.kernel import RecordingKernel


def test_names_and_masks():
    assert caps.to_mask(["CAP_CHOWN", "CAP_KILL"]) == 1 | 1 << 5
    assert caps.to_mask(["chown"]) == 1
    assert caps.to_mask(["CAP_NOT_A_CAP"]) == 0
    assert caps.to_names(1 << 21) == ["CAP_SYS_ADMIN"]


def test_docker_default_mask():
    docker = ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
              "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
              "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE"]
    assert caps.to_mask(docker) == 0xA80425FB


def test_bounding_set_from_status(tmp_path):
    f = tmp_path / "status"
    f.write_text("Name:\tx\nCapBnd:\t000001fffeffffff\n")
    bnd = caps.bounding_set(str(f))
    assert not bnd >> caps.BY_NAME["CAP_SYS_RESOURCE"] & 1
    assert bnd >> caps.BY_NAME["CAP_SYS_ADMIN"] & 1


def test_recording_kernel_defaults_lack_sys_resource():
    assert not RecordingKernel().bounding_set() >> 24 & 1
