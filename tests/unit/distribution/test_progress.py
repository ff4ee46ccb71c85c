from dockyard.distribution.progress import Meter, bar, error, human_size, progress, status


def test_human_size_like_go_units():
    assert human_size(100) == "100B"
    assert human_size(1234) == "1.234kB"
    assert human_size(32768) == "32.77kB"
    assert human_size(2_200_000) == "2.2MB"


def test_bar():
    assert bar(0, 100).startswith("[>" + " " * 50 + "] ")
    assert bar(50, 100) == "[" + "=" * 25 + ">" + " " * 25 + "]      50B/100B"
    assert bar(100, 100).startswith("[" + "=" * 50 + ">]")


def test_messages():
    assert status("Waiting", "abc") == {"status": "Waiting", "progressDetail": {}, "id": "abc"}
    assert status("Digest: x") == {"status": "Digest: x"}
    assert progress("Downloading", "a", 1, 2)["progressDetail"] == {"current": 1, "total": 2}
    assert error("boom") == {"errorDetail": {"message": "boom"}, "error": "boom"}


def test_meter_is_rate_limited_and_reports_the_end():
    out: list[dict] = []
    m = Meter(out.append, "Downloading", "x", 10_000_000)
    for _ in range(10_000):
        m.add(1000)
    assert 1 <= len(out) <= 101
    assert out[-1]["progressDetail"] == {"current": 10_000_000, "total": 10_000_000}
