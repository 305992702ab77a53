"""Debian kernel packages from the machine's own apt mirror, through a private apt configuration.

The machine's apt state is never touched: lists, cache and sources live under the runner's cache
directory, and apt is pointed at them with -o options. The mirror URI is read from the machine's
apt sources (deb822 *.sources files and one-line *.list files), never written into the project.
"""

import dataclasses
import glob
import os
import re
import shutil
import subprocess
import tempfile

from .errors import RunnerError

DEBIAN_KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg"
KERNEL_METAPACKAGE = "linux-image-amd64"
# The generic flavour's image packages: linux-image-<ABI>-amd64 (not -cloud-, -rt-, -dbg, -unsigned).
IMAGE_PACKAGE_RE = re.compile(r"linux-image-(\d[0-9A-Za-z.+~-]*?)-amd64")
OTHER_FLAVOURS = ("-cloud", "-rt")


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


def _order(c):
    """dpkg's character order in a version: ~ before everything, letters before the rest."""
    if c == "~":
        return -1
    if c.isalpha():
        return ord(c)
    return ord(c) + 256


def _compare_part(a, b):
    """dpkg's verrevcmp of an upstream version or a revision."""
    while a or b:
        na = re.match(r"\D*", a).group()
        nb = re.match(r"\D*", b).group()
        for i in range(max(len(na), len(nb))):
            ca = _order(na[i]) if i < len(na) else 0
            cb = _order(nb[i]) if i < len(nb) else 0
            if ca != cb:
                return -1 if ca < cb else 1
        a, b = a[len(na):], b[len(nb):]
        da = re.match(r"\d*", a).group()
        db = re.match(r"\d*", b).group()
        if int(da or 0) != int(db or 0):
            return -1 if int(da or 0) < int(db or 0) else 1
        a, b = a[len(da):], b[len(db):]
    return 0


def compare_versions(a, b):
    """Debian version comparison (epoch:upstream-revision), as dpkg --compare-versions: -1, 0, 1."""

    def split(v):
        epoch, _, rest = v.rpartition(":") if ":" in v else ("0", "", v)
        upstream, _, revision = rest.rpartition("-") if "-" in rest else (rest, "", "0")
        return int(epoch or 0), upstream, revision

    ea, ua, ra = split(a)
    eb, ub, rb = split(b)
    if ea != eb:
        return -1 if ea < eb else 1
    return _compare_part(ua, ub) or _compare_part(ra, rb)


def parse_madison(text):
    """`apt-cache madison` lines `PACKAGE | VERSION | URI SUITE/COMP ARCH Packages` -> [(package,
    version)] of binary packages (Sources lines left out)."""
    out = []
    for line in text.splitlines():
        fields = [f.strip() for f in line.split("|")]
        if len(fields) == 3 and fields[2].endswith("Packages") and (fields[0], fields[1]) not in out:
            out.append((fields[0], fields[1]))
    return out


def image_abi(package):
    """`linux-image-6.1.0-28-amd64` -> `6.1.0-28`; None for the metapackages and other flavours."""
    m = IMAGE_PACKAGE_RE.fullmatch(package)
    if not m or m.group(1).endswith(OTHER_FLAVOURS):
        return None
    return m.group(1)


def _prefix_of(pin, text):
    """pin is text, or a prefix of it that does not end inside a number (6.1.0-2 is not 6.1.0-28)."""
    return text == pin or (text.startswith(pin) and not (pin[-1].isdigit() and text[len(pin)].isdigit()))


def match_kernel_version(pin, packages, suite):
    """The (package, version) among `packages` [(package, version)] that `pin` names: an ABI
    prefix (6.1.0-28) or a package version prefix (6.1.119-1); the highest version when several
    match. Raises RunnerError listing the versions there are when none does."""
    images = [(p, v, image_abi(p)) for p, v in packages if image_abi(p)]
    matches = [(p, v) for p, v, abi in images if _prefix_of(pin, abi) or _prefix_of(pin, v)]
    if not matches:
        have = sorted(images, key=lambda i: _VersionKey(i[1]))
        listing = ", ".join(f"{abi} ({v})" for _, v, abi in have) or "no linux-image-*-amd64 at all"
        raise RunnerError(
            f"{suite} has no kernel matching {pin}; the mirror has: {listing} "
            "(pin one of these, or --refresh the lists)"
        )
    return max(matches, key=lambda m: _VersionKey(m[1]))


class _VersionKey:
    def __init__(self, version):
        self.version = version

    def __lt__(self, other):
        return compare_versions(self.version, other.version) < 0


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

    def ensure_lists(self, refresh=False):
        self.prepare()
        if refresh or not self.has_lists():
            self.update()

    def kernel_images(self):
        """[(package, version)] of every linux-image-*-amd64 package the lists hold."""
        names = [n for n in self._run("apt-cache", "pkgnames", "linux-image-").split() if image_abi(n)]
        return parse_madison(self._run("apt-cache", "madison", *sorted(names))) if names else []

    def resolve_pin(self, pin, refresh=False):
        """(package, version) of the kernel `pin` names (see match_kernel_version)."""
        self.ensure_lists(refresh)
        return match_kernel_version(pin, self.kernel_images(), f"{self.suite} on {self.mirror}")

    def fetch_kernel(self, refresh=False, package=None):
        """Downloads (or reuses) a kernel image package: `package` (name, version), else the
        suite's current one (what linux-image-amd64 depends on)."""
        self.ensure_lists(refresh)
        if package:
            name, version = package
        else:
            name = self.kernel_package_name()
            version = self.candidate_version(name)
        debs = self._paths()["debs"]
        filename = f"{name}_{version.replace(':', '%3a')}_amd64.deb"
        deb = os.path.join(debs, filename)
        if not os.path.isfile(deb):
            # Into a directory of its own first: an interrupted download leaves no .deb to reuse.
            tmp = tempfile.mkdtemp(prefix=".download-", dir=debs)
            try:
                self._run("apt-get", "-q", "download", f"{name}={version}", cwd=tmp)
                if not os.path.isfile(os.path.join(tmp, filename)):
                    raise RunnerError(f"apt-get download {name}={version} left no {filename}")
                os.rename(os.path.join(tmp, filename), deb)
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
        return KernelPackage(self.suite, name, version, deb)
