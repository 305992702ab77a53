import os

import pytest

from ovlab_vm import aptmirror
from ovlab_vm.errors import RunnerError

DEB822 = """\
Types: deb
# http://snapshot.example/archive/debian/20250520T000000Z
URIs: http://mirror.example/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://mirror.example/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
"""


def test_deb822_stanzas_and_fields():
    entries = aptmirror.parse_deb822(DEB822)
    assert [e.uris for e in entries] == [["http://mirror.example/debian"], ["http://mirror.example/debian-security"]]
    assert entries[0].suites == ["bookworm", "bookworm-updates"]
    assert entries[0].components == ["main"] and entries[0].types == ["deb"]


def test_deb822_disabled_and_folded():
    text = "Types: deb\nURIs:\n http://a.example/debian\nSuites: trixie\nComponents: main\nEnabled: no\n"
    (entry,) = aptmirror.parse_deb822(text)
    assert entry.uris == ["http://a.example/debian"]
    assert not entry.enabled


def test_one_line_with_options_and_comments():
    text = "# comment\ndeb [arch=amd64 signed-by=/k.gpg] http://b.example/debian bookworm main contrib # x\ndeb-src http://b.example/debian bookworm main\n"
    entries = aptmirror.parse_one_line(text)
    assert entries[0].uris == ["http://b.example/debian"] and entries[0].components == ["main", "contrib"]
    assert entries[1].types == ["deb-src"]


def _etc(tmp_path, files):
    d = tmp_path / "apt"
    (d / "sources.list.d").mkdir(parents=True)
    for name, text in files.items():
        (d / name).write_text(text)
    return str(d)


def test_mirror_from_deb822_skips_security(tmp_path):
    etc = _etc(tmp_path, {"sources.list.d/debian.sources": DEB822.split("\n\n")[1] + "\n\n" + DEB822.split("\n\n")[0]})
    assert aptmirror.find_debian_mirror(etc) == "http://mirror.example/debian"


def test_mirror_ignores_disabled_files_and_sources(tmp_path):
    etc = _etc(
        tmp_path,
        {
            "sources.list.d/other.sources.disabled-by-farm": "Types: deb\nURIs: http://wrong.example/x\nSuites: bookworm\nComponents: main\n",
            "sources.list.d/off.sources": "Types: deb\nURIs: http://off.example/debian\nSuites: bookworm\nComponents: main\nEnabled: no\n",
            "sources.list.d/debian.list": "deb http://right.example/debian/ bookworm main\n",
        },
    )
    assert aptmirror.find_debian_mirror(etc) == "http://right.example/debian"


def test_no_mirror_is_a_clear_error(tmp_path):
    etc = _etc(tmp_path, {"sources.list": "deb-src http://src.example/debian bookworm main\n"})
    with pytest.raises(RunnerError, match="no Debian mirror found.*--mirror"):
        aptmirror.find_debian_mirror(etc)


def test_machine_sources_give_a_mirror():
    if not os.path.isdir("/etc/apt"):
        pytest.skip("no /etc/apt on this machine")
    assert aptmirror.find_debian_mirror().startswith(("http://", "https://", "file:", "mirror+"))


def test_private_apt_keeps_state_out_of_the_machine(tmp_path):
    apt = aptmirror.PrivateApt(str(tmp_path / "trixie"), "http://m.example/debian", "trixie")
    apt.prepare()
    opts = apt.options()
    values = dict(o.split("=", 1) for o in opts[1::2])
    for key in ("Dir::State", "Dir::State::status", "Dir::Cache", "Dir::Etc::sourcelist", "Dir::Etc::sourceparts"):
        assert values[key].startswith(str(tmp_path)), key
    assert (tmp_path / "trixie" / "sources.list").read_text() == (
        f"deb [signed-by={aptmirror.DEBIAN_KEYRING}] http://m.example/debian trixie main\n"
    )
    assert not apt.has_lists()


DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")


def recorded(name):
    with open(os.path.join(DATA, name), encoding="utf-8") as f:
        return f.read()


@pytest.mark.parametrize("a, b, expected", [
    ("6.1.170-3", "6.1.176-1", -1), ("6.12.57-1", "6.1.176-1", 1), ("1.0~rc1", "1.0", -1),
    ("1:1.0", "2.0", 1), ("1.0-1", "1.0-1+b1", -1), ("1.0a", "1.0", 1), ("6.1.119-1", "6.1.119-1", 0),
])
def test_debian_version_order(a, b, expected):
    assert aptmirror.compare_versions(a, b) == expected
    assert aptmirror.compare_versions(b, a) == -expected


def test_madison_of_the_recorded_bookworm_lists():
    # `apt-cache madison $(apt-cache pkgnames linux-image-)` of bookworm main (tests/data/).
    pairs = aptmirror.parse_madison(recorded("bookworm-madison.txt"))
    images = [(p, v) for p, v in pairs if aptmirror.image_abi(p)]
    assert images == [("linux-image-6.1.0-47-amd64", "6.1.170-3"), ("linux-image-6.1.0-50-amd64", "6.1.176-1")]
    assert aptmirror.image_abi("linux-image-6.1.0-50-cloud-amd64") is None
    assert aptmirror.image_abi("linux-image-6.12.57+deb13-amd64") == "6.12.57+deb13"
    assert aptmirror.image_abi("linux-image-amd64") is None


@pytest.mark.parametrize("pin, package, version", [
    ("6.1.0-50", "linux-image-6.1.0-50-amd64", "6.1.176-1"),  # ABI
    ("6.1.0-47", "linux-image-6.1.0-47-amd64", "6.1.170-3"),
    ("6.1.170", "linux-image-6.1.0-47-amd64", "6.1.170-3"),  # upstream version
    ("6.1.170-3", "linux-image-6.1.0-47-amd64", "6.1.170-3"),  # package version
    ("6.1.0", "linux-image-6.1.0-50-amd64", "6.1.176-1"),  # several: the highest
])
def test_pin_matches_recorded_versions(pin, package, version):
    pairs = aptmirror.parse_madison(recorded("bookworm-madison.txt"))
    assert aptmirror.match_kernel_version(pin, pairs, "bookworm") == (package, version)


def test_pin_not_on_the_mirror_lists_what_is():
    pairs = aptmirror.parse_madison(recorded("bookworm-madison.txt"))
    for pin in ("6.1.0-28", "6.1.0-5", "6.1.17"):  # not a prefix that ends inside a number
        with pytest.raises(RunnerError) as e:
            aptmirror.match_kernel_version(pin, pairs, "bookworm on http://m.example/debian")
        assert str(e.value) == (
            f"bookworm on http://m.example/debian has no kernel matching {pin}; the mirror has: "
            "6.1.0-47 (6.1.170-3), 6.1.0-50 (6.1.176-1) (pin one of these, or --refresh the lists)"
        )
        assert "\n" not in str(e.value)


def test_trixie_abi_with_a_plus():
    text = (
        "linux-image-6.12.48+deb13-amd64 | 6.12.48-1 | http://m.example/debian trixie/main amd64 Packages\n"
        "linux-image-6.12.57+deb13-amd64 | 6.12.57-1 | http://m.example/debian trixie/main amd64 Packages\n"
        "linux-image-6.12.57+deb13-rt-amd64 | 6.12.57-1 | http://m.example/debian trixie/main amd64 Packages\n"
        "     linux | 6.12.57-1 | http://m.example/debian trixie/main Sources\n"
    )
    pairs = aptmirror.parse_madison(text)
    assert ("linux", "6.12.57-1") not in pairs
    assert aptmirror.match_kernel_version("6.12.57", pairs, "trixie") == ("linux-image-6.12.57+deb13-amd64", "6.12.57-1")
    assert aptmirror.match_kernel_version("6.12.48+deb13", pairs, "trixie")[1] == "6.12.48-1"


def test_resolve_pin_through_private_apt(tmp_path, monkeypatch):
    apt = aptmirror.PrivateApt(str(tmp_path / "bookworm"), "http://m.example/debian", "bookworm")
    calls = []

    def fake_run(tool, *args, cwd=None):
        calls.append((tool,) + args)
        if args[:1] == ("pkgnames",):
            return recorded("bookworm-pkgnames.txt")
        assert args[0] == "madison"
        wanted = set(args[1:])
        return "".join(line + "\n" for line in recorded("bookworm-madison.txt").splitlines()
                       if line.split("|")[0].strip() in wanted)

    monkeypatch.setattr(apt, "_run", fake_run)
    monkeypatch.setattr(apt, "has_lists", lambda: True)
    assert apt.resolve_pin("6.1.0-47") == ("linux-image-6.1.0-47-amd64", "6.1.170-3")
    # Only the generic flavour's image packages are asked about.
    assert calls[1] == ("apt-cache", "madison", "linux-image-6.1.0-47-amd64", "linux-image-6.1.0-50-amd64")
