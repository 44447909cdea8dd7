"""Line shapes of real CI logs, and the failure causes the corpus injects (see log_corpus.py).

Every generator takes a seeded ``random.Random`` so a corpus is a pure function of its seed. The
noise (timestamps, hex ids, UUIDs, durations, pod names, paths) varies per line, as in real logs,
so that anything which clusters or normalises lines is tested against realistic variation.

The shapes were modelled on: Prow ``build-log.txt`` (ci-operator ``INFO[...]`` lines, klog
``I1201 ...`` lines, the entrypoint's JSON records, ``+ make`` shell traces), pytest's console
output, ``go test -v`` output with panics and goroutine dumps, apt and pip network failures, kernel
OOM kills, Docker Hub's pull rate limit and GitHub Actions' ``##[error]`` annotations.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

ESC = "\x1b"
RED, GREEN, YELLOW, BOLD, RESET = (f"{ESC}[31m", f"{ESC}[32m", f"{ESC}[33m", f"{ESC}[1m",
                                   f"{ESC}[0m")
BASE_TIME = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)

WORDS = ("apiserver", "reconcile", "watch", "informer", "cache", "router", "ingress", "etcd",
         "scheduler", "kubelet", "operator", "payload", "release", "upgrade", "monitor", "node",
         "network", "storage", "image", "registry", "console", "auth", "oauth", "dns", "proxy")
PACKAGES = ("requests", "urllib3", "pyyaml", "lxml", "numpy", "flask", "marshmallow", "pytest",
            "idna", "certifi", "charset-normalizer", "click", "jinja2", "packaging")
DEBS = ("libssl3", "ca-certificates", "curl", "git", "make", "gcc", "libc6-dev", "jq",
        "python3-venv", "unzip", "openssh-client", "gnupg", "tzdata")


class Noise:
    """Varying tokens of one log: a clock that moves forward, ids, paths, numbers."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.now = BASE_TIME + timedelta(seconds=rng.randrange(0, 30 * 86400))
        self.namespace = "ci-op-" + self.token(8)

    def tick(self) -> datetime:
        self.now += timedelta(microseconds=self.rng.randrange(1000, 4_000_000))
        return self.now

    def token(self, size: int) -> str:
        return "".join(self.rng.choice("abcdefghijklmnopqrstuvwxyz0123456789")
                       for _ in range(size))

    def hex(self, size: int) -> str:
        return f"{self.rng.getrandbits(size * 4):0{size}x}"

    def uuid(self) -> str:
        h = self.hex(32)
        return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:]}"

    def word(self) -> str:
        return self.rng.choice(WORDS)

    def path(self) -> str:
        return f"pkg/{self.word()}/{self.word()}_{self.rng.randrange(1, 40)}.go"

    def ip(self) -> str:
        octets = (self.rng.randrange(256), self.rng.randrange(256), self.rng.randrange(1, 255))
        return "10." + ".".join(map(str, octets))

    def duration(self) -> str:
        return f"{self.rng.randrange(0, 120)}.{self.rng.randrange(1000):03d}s"

    def iso(self) -> str:
        return self.tick().strftime("%Y-%m-%dT%H:%M:%SZ")


# --- noise lines, by log shape ---------------------------------------------------------------

def prow_line(n: Noise) -> str:
    r = n.rng.random()
    if r < 0.3:
        return f"INFO[{n.iso()}] Running step {n.word()}-{n.word()}-{n.token(4)}."
    if r < 0.55:
        t = n.tick()
        return (f"I{t:%m%d %H:%M:%S}.{t.microsecond:06d}   {n.rng.randrange(1, 99999)} "
                f"request.go:{n.rng.randrange(100, 900)}] Waited for {n.duration()} due to "
                f"client-side throttling, not priority and fairness, request: GET:https://api."
                f"{n.namespace}.origin-ci.devcluster.openshift.com:6443/api/v1/namespaces/"
                f"{n.namespace}/pods/{n.word()}-{n.token(5)}")
    if r < 0.7:
        return f"+ make {n.word()} GOFLAGS=-mod=vendor ARTIFACT_DIR=/logs/artifacts/{n.token(6)}"
    if r < 0.82:
        return (f'{{"component":"entrypoint","file":"sigs.k8s.io/prow/pkg/entrypoint/run.go:'
                f'{n.rng.randrange(60, 300)}","func":"sigs.k8s.io/prow/pkg/entrypoint.Options.'
                f'Run","level":"info","msg":"{n.word()} {n.word()} finished","severity":"info",'
                f'"time":"{n.iso()}"}}')
    if r < 0.92:
        return (f"go: downloading github.com/{n.word()}/{n.word()} v0.{n.rng.randrange(40)}."
                f"{n.rng.randrange(20)}")
    return f"INFO[{n.iso()}] Pod {n.word()}-{n.token(5)} succeeded after {n.duration()}"


def pytest_line(n: Noise) -> str:
    module = f"tests/{n.word()}/test_{n.word()}.py"
    percent = n.rng.randrange(0, 100)
    if n.rng.random() < 0.85:
        return (f"{module}::test_{n.word()}_{n.word()}[{n.rng.randrange(64)}] "
                f"{GREEN}PASSED{RESET}{' ' * n.rng.randrange(1, 20)}[{percent:3d}%]")
    return (f"{module}::test_{n.word()}_{n.word()} {YELLOW}SKIPPED{RESET} (needs "
            f"{n.word()}) [{percent:3d}%]")


def go_line(n: Noise) -> str:
    name = f"Test{n.word().title()}{n.word().title()}"
    r = n.rng.random()
    if r < 0.35:
        return f"=== RUN   {name}"
    if r < 0.7:
        return f"--- PASS: {name} ({n.rng.randrange(0, 30)}.{n.rng.randrange(100):02d}s)"
    if r < 0.85:
        return f"    {n.path().rsplit('/', 1)[1]}:{n.rng.randrange(10, 900)}: {n.word()} ready"
    return f"ok  \tgithub.com/openshift/{n.word()}/{n.path().rsplit('/', 1)[0]}\t{n.duration()}"


def apt_line(n: Noise) -> str:
    deb = n.rng.choice(DEBS)
    return (f"Get:{n.rng.randrange(1, 90)} http://deb.debian.org/debian bookworm/main amd64 "
            f"{deb} amd64 {n.rng.randrange(1, 9)}.{n.rng.randrange(20)}-{n.rng.randrange(1, 5)}"
            f" [{n.rng.randrange(10, 9000):,} kB]")


def pip_line(n: Noise) -> str:
    package = n.rng.choice(PACKAGES)
    version = f"{n.rng.randrange(1, 9)}.{n.rng.randrange(40)}.{n.rng.randrange(9)}"
    if n.rng.random() < 0.5:
        return f"Collecting {package}=={version}"
    return (f"  Downloading {package.replace('-', '_')}-{version}-py3-none-any.whl "
            f"({n.rng.randrange(10, 900)} kB)")


def gha_line(n: Noise) -> str:
    t = n.tick()
    stamp = f"{t:%Y-%m-%dT%H:%M:%S}.{t.microsecond:06d}0Z"
    r = n.rng.random()
    if r < 0.2:
        return f"{stamp} ##[group]Run {n.rng.choice(('make', 'npm ci', 'pip install -e .'))}"
    if r < 0.3:
        return f"{stamp} ##[endgroup]"
    return f"{stamp} {n.rng.choice((pytest_line, go_line, pip_line))(n)}"


def long_line(n: Noise) -> str:
    """A minified JSON dump, as ``oc get -o json`` leaves in logs: 8,000 to 30,000 characters."""
    items = []
    while sum(map(len, items)) < n.rng.randrange(8_000, 30_000):
        items.append(f'{{"kind":"Pod","metadata":{{"name":"{n.word()}-{n.token(5)}",'
                     f'"uid":"{n.uuid()}","namespace":"{n.namespace}"}},"status":{{"podIP":'
                     f'"{n.ip()}","phase":"Running"}}}}')
    return '{"apiVersion":"v1","kind":"List","items":[' + ",".join(items) + "]}"


SHAPES: dict[str, Callable[[Noise], str]] = {
    "prow": prow_line, "pytest": pytest_line, "go": go_line, "apt": apt_line, "pip": pip_line,
    "gha": gha_line,
}


# --- causes: the lines a failure leaves, with ground truth ----------------------------------

@dataclass(frozen=True)
class Cause:
    """A failure cause the corpus injects: its lines, the log shape it fits and its class.

    ``expected`` is what a classifier should say with the curated patterns and no breakages:
    ``flaky``, ``infra`` or ``new`` (``new`` also for real bugs that a pattern names, since only
    a known breakage makes them ``known``). ``cluster`` names unexplained causes whose lines
    differ only in noise, so that normalising and clustering them gives one group each.
    """

    name: str
    shape: str
    expected: str
    lines: Callable[[Noise], list[str]]
    cluster: str | None = None


def _dns_apt(n: Noise) -> list[str]:
    return [f"Err:{n.rng.randrange(1, 9)} http://deb.debian.org/debian bookworm InRelease",
            "  Temporary failure resolving 'deb.debian.org'",
            "W: Failed to fetch http://deb.debian.org/debian/dists/bookworm/InRelease  "
            "Temporary failure resolving 'deb.debian.org'",
            "E: Unable to locate package " + n.rng.choice(DEBS)]


def _pip_fetch(n: Noise) -> list[str]:
    package = n.rng.choice(PACKAGES)
    return [f"WARNING: Retrying (Retry(total={n.rng.randrange(5)}, connect=None, read=None, "
            "redirect=None, status=None)) after connection broken by 'ReadTimeoutError(\"HTTPS"
            "ConnectionPool(host='pypi.org', port=443): Read timed out. (read timeout=15)\")': "
            f"/simple/{package}/",
            f"Could not fetch URL https://pypi.org/simple/{package}/: There was a problem "
            f"confirming the ssl certificate: HTTPSConnectionPool(host='pypi.org', port=443)",
            f"{RED}ERROR: Could not find a version that satisfies the requirement {package} "
            f"(from versions: none){RESET}"]


def _conn_reset(n: Noise) -> list[str]:
    return [f"Get \"https://quay.io/v2/openshift/{n.word()}/blobs/sha256:{n.hex(64)}\": read tcp "
            f"{n.ip()}:{n.rng.randrange(30000, 60000)}->52.{n.rng.randrange(256)}.9.44:443: read:"
            " connection reset by peer",
            "curl: (56) Recv failure: Connection reset by peer"]


def _oom(n: Noise) -> list[str]:
    pid = n.rng.randrange(300, 90000)
    return [f"[{n.rng.randrange(1000, 99999)}.{n.rng.randrange(10**6):06d}] Out of memory: "
            f"Killed process {pid} (go) total-vm:{n.rng.randrange(10**6, 10**7)}kB, anon-rss:"
            f"{n.rng.randrange(10**6, 10**7)}kB, file-rss:0kB, shmem-rss:0kB, UID:0",
            f"/bin/bash: line 1: {pid} Killed                  go test ./...",
            f"make: *** [Makefile:{n.rng.randrange(20, 300)}: test] Error 137",
            "error: container exited with exit code 137 (OOMKilled)"]


def _docker_limit(n: Noise) -> list[str]:
    return [f"Pulling image docker.io/library/{n.rng.choice(('golang', 'python', 'node'))}:"
            f"{n.rng.randrange(1, 22)}",
            "Error response from daemon: toomanyrequests: You have reached your pull rate limit."
            " You may increase the limit by authenticating and upgrading: "
            "https://www.docker.com/increase-rate-limit"]


def _prow_timeout(n: Noise) -> list[str]:
    return [f'{{"component":"entrypoint","file":"sigs.k8s.io/prow/pkg/entrypoint/run.go:169",'
            f'"func":"sigs.k8s.io/prow/pkg/entrypoint.Options.ExecuteProcess","level":"error",'
            f'"msg":"Process did not finish before {n.rng.choice((2, 4, 6))}h0m0s timeout",'
            f'"severity":"error","time":"{n.iso()}"}}']


def _git_dns(n: Noise) -> list[str]:
    return [f"Cloning into '/go/src/github.com/openshift/{n.word()}'...",
            f"fatal: unable to access 'https://github.com/openshift/{n.word()}.git/': Could not "
            "resolve host: github.com"]


def _pytest_flaky(n: Noise) -> list[str]:
    return ["=================================== FAILURES ===================================",
            "_____________________________ test_retry_backoff _____________________________",
            "    def test_retry_backoff(server):",
            ">       assert wait_for(server.ready, timeout=5.0)",
            f"{RED}E       AssertionError: timed out after 5.0s waiting for {n.ip()}{RESET}",
            "=========================== short test summary info ============================",
            f"{RED}FAILED{RESET} tests/net/test_retry.py::test_retry_backoff - AssertionError: "
            "timed out after 5.0s",
            f"{RED}========== 1 failed, {n.rng.randrange(50, 900)} passed in {n.duration()} "
            f"=========={RESET}"]


def _go_flaky(n: Noise) -> list[str]:
    return ["=== RUN   TestWatchReconnect",
            f"    watch_test.go:88: timed out waiting for event on {n.uuid()}",
            f"--- FAIL: TestWatchReconnect ({n.rng.randrange(30, 60)}.{n.rng.randrange(100):02d}s)",
            f"FAIL\tgithub.com/openshift/{n.word()}/pkg/watch\t{n.duration()}"]


def _etcd_leader(n: Noise) -> list[str]:
    return [f"E{n.tick():%m%d %H:%M:%S}.000000       1 status.go:71] apiserver received an error "
            "that is not an metav1.Status: rpctypes.EtcdError{code:0xe, desc:\"etcdserver: "
            "leader changed\"}: etcdserver: leader changed"]


def _go_panic(n: Noise) -> list[str]:
    addr = n.hex(6)
    lines = ["panic: runtime error: invalid memory address or nil pointer dereference",
             f"[signal SIGSEGV: segmentation violation code=0x1 addr=0x18 pc=0x{addr}]", "",
             f"goroutine {n.rng.randrange(1, 900)} [running]:"]
    for _ in range(n.rng.randrange(4, 12)):
        lines += [f"github.com/openshift/{n.word()}/{n.path()[:-3]}.(*{n.word().title()})."
                  f"{n.word().title()}(0xc000{n.hex(6)})",
                  f"\t/go/src/github.com/openshift/{n.path()}:{n.rng.randrange(10, 900)} +0x"
                  f"{n.hex(3)}"]
    return [*lines, f"FAIL\tgithub.com/openshift/{n.word()}/pkg/{n.word()}\t{n.duration()}"]


def _go_undefined(n: Noise) -> list[str]:
    return [f"# github.com/openshift/{n.word()}/pkg/{n.word()}",
            f"{n.path()}:{n.rng.randrange(10, 900)}:{n.rng.randrange(2, 80)}: undefined: "
            f"{n.word()}{n.word().title()}",
            f"FAIL\tgithub.com/openshift/{n.word()}/pkg/{n.word()} [build failed]"]


def _module_missing(n: Noise) -> list[str]:
    return ["______________ ERROR collecting tests/test_config.py ______________",
            "ImportError while importing test module '/src/tests/test_config.py'.",
            f"{RED}E   ModuleNotFoundError: No module named 'yaml'{RESET}",
            "!!!!!!!!!!!!!!!!!!! Interrupted: 1 error during collection !!!!!!!!!!!!!!!!!!!!"]


def _new_assert(n: Noise) -> list[str]:
    got, want = n.rng.randrange(100), n.rng.randrange(100, 200)
    return ["=================================== FAILURES ===================================",
            f">       assert len(response.json()['items']) == {want}",
            f"{RED}E       assert {got} == {want}{RESET}",
            f"{RED}FAILED{RESET} tests/api/test_{n.word()}.py::test_lists_every_run - assert "
            f"{got} == {want}"]


def _new_reconcile(n: Noise) -> list[str]:
    return [f"    controller_test.go:{n.rng.randrange(40, 400)}: reconcile {n.namespace}/"
            f"{n.word()}-{n.token(5)}: expected generation {n.rng.randrange(2, 9)}, got "
            f"{n.rng.randrange(0, 2)} (uid {n.uuid()})",
            f"--- FAIL: TestReconcileGeneration ({n.duration()})"]


def _new_keyerror(n: Noise) -> list[str]:
    return ["Traceback (most recent call last):",
            f'  File "/src/{n.word()}/{n.word()}.py", line {n.rng.randrange(10, 900)}, in load',
            "    return self.cache[key]",
            f"KeyError: 'release-4.{n.rng.randrange(10, 20)}-{n.hex(12)}'"]


# The unexplained causes come first: a small corpus then holds each of them twice, and
# clustering has something to cluster.
CAUSES: tuple[Cause, ...] = (
    Cause("unexplained-assert", "pytest", "new", _new_assert, cluster="assert-items"),
    Cause("unexplained-reconcile", "go", "new", _new_reconcile, cluster="reconcile-generation"),
    Cause("unexplained-keyerror", "pip", "new", _new_keyerror, cluster="release-keyerror"),
    Cause("apt-dns", "apt", "infra", _dns_apt),
    Cause("pip-timeout", "pip", "infra", _pip_fetch),
    Cause("connection-reset", "prow", "infra", _conn_reset),
    Cause("oom-kill", "go", "infra", _oom),
    Cause("docker-rate-limit", "prow", "infra", _docker_limit),
    Cause("prow-timeout", "prow", "infra", _prow_timeout),
    Cause("git-dns", "prow", "infra", _git_dns),
    Cause("pytest-flaky-backoff", "pytest", "flaky", _pytest_flaky),
    Cause("go-flaky-watch", "go", "flaky", _go_flaky),
    Cause("etcd-leader-changed", "prow", "flaky", _etcd_leader),
    Cause("go-nil-panic", "go", "new", _go_panic),
    Cause("go-undefined", "go", "new", _go_undefined),
    Cause("python-module-missing", "pytest", "new", _module_missing),
)
