"""Debian kernel packages from the machine's own apt mirror, through a private apt configuration.

The machine's apt state is never touched: lists, cache and sources live under the runner's cache
directory, and apt is pointed at them with -o options. The mirror URI is read from the machine's
apt sources (deb822 *.sources files and one-line *.list files), never written into the project.
"""

import dataclasses
import glob
import os
import re
import subprocess

from .errors import RunnerError

DEBIAN_KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg"
KERNEL_METAPACKAGE = "linux-image-amd64"


@dataclasses.dataclass
class SourceEntry:
    types: list
    uris: list
    suites: list
    components: list
    enabled: bool = True


def parse_deb822(text):
    """Parses a deb822 .sources file into SourceEntry values (comments and folded lines handled)."""
    entries = []
    for stanza in re.split(r"\n\s*\n", text):
        fields = {}
        key = None
        for line in stanza.splitlines():
            if line.startswith("#") or not line.strip():
                continue
            if line[0] in " \t" and key:
                fields[key] += " " + line.strip()
                continue
            key, sep, value = line.partition(":")
            if not sep:
                key = None
                continue
            key = key.strip().lower()
            fields[key] = value.strip()
        if "uris" not in fields:
            continue
        entries.append(
            SourceEntry(
                types=fields.get("types", "").split(),
                uris=fields["uris"].split(),
                suites=fields.get("suites", "").split(),
                components=fields.get("components", "").split(),
                enabled=fields.get("enabled", "yes").lower() not in ("no", "false", "0"),
            )
        )
    return entries


def parse_one_line(text):
    """Parses one-line sources.list syntax: `deb [options] URI suite component...`."""
    entries = []
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        line = re.sub(r"\[[^\]]*\]", " ", line)
        words = line.split()
        if len(words) < 3 or words[0] not in ("deb", "deb-src"):
            continue
        entries.append(SourceEntry([words[0]], [words[1]], [words[2]], words[3:]))
    return entries


def _is_main_archive(entry):
    """True for an enabled binary source of the main Debian archive (not security, not ports)."""
    if not entry.enabled or "deb" not in entry.types or "main" not in entry.components:
        return False
    plain_suites = [s for s in entry.suites if not s.endswith("-security") and "/" not in s]
    return bool(plain_suites)


def read_system_sources(etc_apt="/etc/apt"):
    """All source entries configured on the machine, in apt's reading order."""
    entries = []
    main_list = os.path.join(etc_apt, "sources.list")
    if os.path.isfile(main_list):
        with open(main_list, encoding="utf-8") as f:
            entries += parse_one_line(f.read())
    for path in sorted(glob.glob(os.path.join(etc_apt, "sources.list.d", "*"))):
        with open(path, encoding="utf-8") as f:
            text = f.read()
        if path.endswith(".sources"):
            entries += parse_deb822(text)
        elif path.endswith(".list"):
            entries += parse_one_line(text)
    return entries


def find_debian_mirror(etc_apt="/etc/apt"):
    """The URI of the machine's main Debian archive, e.g. the one serving `bookworm main`."""
    for entry in read_system_sources(etc_apt):
        if not _is_main_archive(entry):
            continue
        for uri in entry.uris:
            if "security" not in uri:
                return uri.rstrip("/")
    raise RunnerError(
        f"no Debian mirror found in {etc_apt}/sources.list or {etc_apt}/sources.list.d/*.sources: "
        "configure apt with a `deb <mirror> <suite> main` source (or pass --mirror URI)"
    )


@dataclasses.dataclass
class KernelPackage:
    suite: str
    name: str  # e.g. linux-image-6.1.0-50-amd64
    version: str  # e.g. 6.1.170-1
    deb_path: str


class PrivateApt:
    """apt-get/apt-cache for one suite with state, cache and sources under `root`."""

    def __init__(self, root, mirror, suite):
        self.root = root
        self.mirror = mirror
        self.suite = suite

    def _paths(self):
        return {
            "sources": os.path.join(self.root, "sources.list"),
            "parts": os.path.join(self.root, "sources.list.d"),
            "prefs": os.path.join(self.root, "preferences.d"),
            "state": os.path.join(self.root, "state"),
            "status": os.path.join(self.root, "state", "status"),
            "cache": os.path.join(self.root, "cache"),
            "debs": os.path.join(self.root, "debs"),
        }

    def options(self):
        p = self._paths()
        opts = {
            "Dir::Etc::sourcelist": p["sources"],
            "Dir::Etc::sourceparts": p["parts"],
            "Dir::Etc::preferencesparts": p["prefs"],
            "Dir::Etc::trusted": DEBIAN_KEYRING,
            "Dir::Etc::trustedparts": p["parts"],
            "Dir::State": p["state"],
            "Dir::State::status": p["status"],
            "Dir::Cache": p["cache"],
            "APT::Architecture": "amd64",
            "APT::Architectures": "amd64",
            "APT::Sandbox::User": "root",
            "Debug::NoLocking": "1",
        }
        return [arg for k, v in opts.items() for arg in ("-o", f"{k}={v}")]

    def sources_line(self):
        return f"deb [signed-by={DEBIAN_KEYRING}] {self.mirror} {self.suite} main\n"

    def prepare(self):
        p = self._paths()
        for d in ("parts", "prefs", "debs"):
            os.makedirs(p[d], exist_ok=True)
        os.makedirs(os.path.join(p["state"], "lists", "partial"), exist_ok=True)
        os.makedirs(os.path.join(p["cache"], "archives", "partial"), exist_ok=True)
        if not os.path.exists(p["status"]):
            open(p["status"], "w").close()
        with open(p["sources"], "w", encoding="utf-8") as f:
            f.write(self.sources_line())

    def _run(self, tool, *args, cwd=None):
        cmd = [tool, *self.options(), *args]
        proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
        if proc.returncode != 0:
            last = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
            raise RunnerError(f"{tool} {' '.join(args)} for {self.suite} failed: {last}")
        return proc.stdout

    def has_lists(self):
        lists = os.path.join(self._paths()["state"], "lists")
        return any("_Packages" in n for n in os.listdir(lists)) if os.path.isdir(lists) else False

    def update(self):
        self._run("apt-get", "-q", "update")
        if not self.has_lists():
            raise RunnerError(f"the mirror {self.mirror} has no `{self.suite} main` for amd64")

    def kernel_package_name(self):
        """The versioned image package the metapackage points at, e.g. linux-image-6.1.0-50-amd64."""
        out = self._run("apt-cache", "depends", KERNEL_METAPACKAGE)
        for line in out.splitlines():
            m = re.match(r"\s*\|?Depends:\s*(linux-image-\S+)", line)
            if m and not m.group(1).endswith("-unsigned"):
                return m.group(1)
        raise RunnerError(f"{KERNEL_METAPACKAGE} in {self.suite} names no linux-image package")

    def candidate_version(self, package):
        out = self._run("apt-cache", "policy", package)
        m = re.search(r"Candidate:\s*(\S+)", out)
        if not m or m.group(1) == "(none)":
            raise RunnerError(f"{package} has no candidate version in {self.suite}")
        return m.group(1)

    def fetch_kernel(self, refresh=False):
        """Downloads (or reuses) the suite's current kernel image package."""
        self.prepare()
        if refresh or not self.has_lists():
            self.update()
        name = self.kernel_package_name()
        version = self.candidate_version(name)
        debs = self._paths()["debs"]
        deb = os.path.join(debs, f"{name}_{version.replace(':', '%3a')}_amd64.deb")
        if not os.path.isfile(deb):
            self._run("apt-get", "-q", "download", f"{name}={version}", cwd=debs)
            if not os.path.isfile(deb):
                raise RunnerError(f"apt-get download {name}={version} left no {deb}")
        return KernelPackage(self.suite, name, version, deb)
