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
