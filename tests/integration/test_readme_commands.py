"""Every command README.md shows works exactly as written (the house rule), run by this test.

The commands are read from README.md itself, so the README and this test cannot drift: in a
```bash block every line is a command, in a ```console block every line starting with ``$ ``, and
in the prose every inline code span starting with ``.venv/bin/``. They run in README order, each
with ``bash -c`` in a fresh folder that looks like the repository after the install: a copy of
``examples/`` (commands write beside its files), ``bench/``, and ``.venv`` linked to the running
interpreter's environment. What a command exports (``export YIBAO_DATABASE_URL=…``) holds for
the commands after it, as in one terminal.

- A command must exit 0, or — when its comment says ``# refused, exit N`` or ``# exit N: why`` — exactly N.
- The two opening commands (install + serve, install + the whole suite) need a fresh machine and
  the network: their tools are checked to exist in the environment and the named extras in
  pyproject.toml, and their ``.venv/bin/yibao serve`` is started (on a free port) for the commands
  that talk to the server (the HIS client, which reads ``YIBAO_URL``).
- Benchmarks (``bench/*.py``) run for minutes: each runs with the README's arguments and ``--help``
  appended, and every option the README gives must be one the script lists.
- The server ``yibao serve`` starts is probed, then stopped: its health, the sign-in page, and ``/docs`` (served
  with no file from another host); it is started even when no command of the README needs it.
- The quick test command (a ```text block) is checked like the opening ones: its tools exist, the markers it
  selects on are declared in pyproject.toml.
- Every ``yibao …`` synopsis in the prose and the command table (``yibao report --from D --to D …``) names a
  command that exists, and each option it shows is one that command's ``--help`` lists.

``pytest -s`` prints each command's time.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import pytest
import typer

from tests.live import free_port

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
VENV = Path(sys.prefix)
NEEDS_SERVER = ("examples/his_client.py",)
SERVE = ".venv/bin/yibao serve"
SHELL_STATE = {"_", "SHLVL", "PWD", "OLDPWD"}  # variables bash sets by itself
TIMEOUT = 300


@dataclass(frozen=True)
class Command:
    text: str  # as written, without the "$ " prompt
    line: int  # README line number
    fresh_machine: bool  # one of the opening ```bash commands
    suite: bool = False  # the quick test command (```text): checked, not run inside this test run

    @property
    def refused_exit(self) -> int | None:
        """The exit code its ``# refused, exit N`` (or ``# exit N: why``) comment documents (None: it must succeed)."""
        m = re.search(r"#\s*(?P<refused>refused\b)?(?P<rest>.*)$", self.text)
        if m is None:
            return None
        code = re.search(r"\bexit (\d+)", m["rest"])
        if code is None and m["refused"] is None:
            return None
        assert code is not None, f"README line {self.line}: say which exit code a refused command gives: {self.text}"
        return int(code[1])

    @property
    def is_bench(self) -> bool:
        return "bench/" in self.text.split("#")[0]


def readme_commands(text: str) -> list[Command]:
    out: list[Command] = []
    fence: str | None = None
    for n, line in enumerate(text.splitlines(), start=1):
        m = re.match(r"^```(\w*)", line)
        if m:
            fence = None if fence is not None else m[1]
            continue
        if fence in ("bash", "sh", "shell"):
            if line.strip() and not line.lstrip().startswith("#"):
                out.append(Command(line.strip(), n, True))
        elif fence == "text":
            if line.startswith(".venv/bin/"):
                out.append(Command(line.strip(), n, False, suite=True))
        elif fence == "console":
            if line.startswith("$ "):
                out.append(Command(line[2:].strip(), n, False))
        elif fence is None:
            out.extend(Command(span, n, False) for span in re.findall(r"`(\.venv/bin/[^`]+)`", line))
    return out


def test_readme_is_read_as_expected() -> None:
    """The extraction finds what the README shows, so a command cannot hide from the test below."""
    commands = readme_commands(README.read_text(encoding="utf-8"))
    fresh = [c for c in commands if c.fresh_machine]
    assert commands[:2] == fresh and len(fresh) == 2, "the README opens with exactly two copy-paste commands"
    assert all(re.match(r"python3 -m venv \.venv && \.venv/bin/pip install -q (--no-compile )?-e ", c.text) for c in fresh)
    assert fresh[0].text.endswith(SERVE)
    suite = [c for c in commands if c.suite]
    assert len(suite) == 1 and suite[0].text.startswith(".venv/bin/pytest -m ")
    _check_suite(suite[0])
    others = [c for c in commands[2:] if not c.suite]
    assert len(others) >= 25
    assert all(c.text.startswith((".venv/bin/", "export ")) for c in others), [
        c.text for c in others if not c.text.startswith((".venv/bin/", "export "))
    ]
    assert not [c for c in others if re.search(r"<[^>]+>|…", c.text.split("#")[0])], "placeholders left in a command"


def _check_fresh_machine(cmd: Command) -> None:
    """Tools the command runs exist in this environment; the extras it installs exist in pyproject."""
    extras = set(tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["optional-dependencies"])
    for part in cmd.text.split(" && "):
        exe = part.split()[0]
        if exe.startswith(".venv/bin/"):
            assert (VENV / "bin" / exe.removeprefix(".venv/bin/")).exists(), f"README line {cmd.line}: no {exe}"
        m = re.search(r"-e '?\.\[([\w,]+)\]", part)
        if m:
            assert set(m[1].split(",")) <= extras, f"README line {cmd.line}: extras {m[1]} not in pyproject.toml"


def _check_suite(cmd: Command) -> None:
    """The quick test command's tools exist and the markers it selects on are declared."""
    markers = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["pytest"]["ini_options"]["markers"]
    declared = {m.split(":")[0] for m in markers}
    for part in cmd.text.split(" && "):
        exe = part.split()[0]
        assert (VENV / "bin" / exe.removeprefix(".venv/bin/")).exists(), f"README line {cmd.line}: no {exe}"
    selected = re.search(r'-m "([^"]+)"', cmd.text)
    assert selected, f"README line {cmd.line}: the quick command selects tests by marker"
    named = set(re.findall(r"\b(?!not\b|and\b|or\b)(\w+)", selected[1]))
    assert named <= declared, f"README line {cmd.line}: markers {named - declared} not declared in pyproject.toml"


SYNOPSIS = re.compile(r"`(yibao [^`]+)`")


def readme_synopses(text: str) -> list[tuple[int, str]]:
    """Every ``yibao …`` the README shows in its prose and tables (line, text as written)."""
    return [(n, m) for n, line in enumerate(text.splitlines(), start=1) for m in SYNOPSIS.findall(line)]


def _command_paths(synopsis: str) -> list[list[str]]:
    """The sub-command words a synopsis names (``warnings list/show`` is two commands), placeholders left out."""
    words: list[str] = []
    for word in synopsis.split()[1:]:
        if not re.fullmatch(r"[a-z][a-z0-9-]*(/[a-z][a-z0-9-]*)*", word):
            break
        words.append(word)
    paths: list[list[str]] = [[]]
    for word in words:
        paths = [[*p, alt] for p in paths for alt in word.split("/")]
    return paths


@cache
def _cli() -> Any:
    """The command line as its command objects (typer's click: groups have ``commands``, commands ``params``)."""
    from yibao.entrypoints.cli.main import app

    return typer.main.get_command(app)


def _find(path: list[str]) -> tuple[list[str], Any]:
    """The longest prefix of ``path`` that is a command or group (an argument such as ``audit case ID``'s is not)."""
    node, found = _cli(), []
    for word in path:
        sub = getattr(node, "commands", {}).get(word)
        if sub is None:
            break
        node, found = sub, [*found, word]
    return found, node


def _options(command: Any) -> set[str]:
    return {o for p in command.params for o in (*p.opts, *p.secondary_opts)}


def check_synopsis(line: int, synopsis: str) -> None:
    for words in _command_paths(synopsis):
        path, command = _find(words)
        where = f"README line {line}: {synopsis}"
        assert path and not hasattr(command, "commands"), f"{where}: no command `yibao {' '.join(words)}`"
        for option in re.findall(r"(?<![\w-])(--[a-z][\w-]*)", synopsis):
            assert option in _options(command), f"{where}: `yibao {' '.join(path)}` has no option {option}"


def test_every_yibao_synopsis_names_real_commands_and_options() -> None:
    found = readme_synopses(README.read_text(encoding="utf-8"))
    assert len(found) >= 40
    for line, synopsis in found:
        check_synopsis(line, synopsis)
    for wrong in ("yibao report --weekly", "yibao nosuch --x", "yibao warnings"):  # the check can fail
        with pytest.raises(AssertionError):
            check_synopsis(0, wrong)


def _workdir(tmp: Path) -> Path:
    work = tmp / "repo"
    work.mkdir()
    shutil.copytree(ROOT / "examples", work / "examples", ignore=shutil.ignore_patterns("__pycache__"))
    (work / "bench").symlink_to(ROOT / "bench")
    (work / ".venv").symlink_to(VENV)
    return work


def _clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("YIBAO_")}
    env["COLUMNS"] = "120"
    return env


@contextmanager
def _server(work: Path, env: dict[str, str]) -> Iterator[str]:
    """The README's ``.venv/bin/yibao serve`` (on a free port), in the working folder, until the block ends."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = work / "serve.log"
    with (
        log_path.open("wb") as log,
        subprocess.Popen(["bash", "-c", f"exec {SERVE} --port {port}"], cwd=work, env=env, stdout=log, stderr=log) as proc,
    ):
        try:
            deadline = time.monotonic() + 180
            while not _healthy(url):
                assert proc.poll() is None, f"yibao serve exited {proc.returncode}:\n{log_path.read_text()[-3000:]}"
                assert time.monotonic() < deadline, "yibao serve did not answer within 180 s"
                time.sleep(0.25)
            _probe(url)
            yield url
        finally:
            _stop(proc)


def _probe(url: str) -> None:
    """The started server answers its sign-in page and ``/docs``, whose every file is its own."""
    assert httpx.get(f"{url}/login", timeout=10).status_code == 200
    docs = httpx.get(f"{url}/docs", timeout=10)
    assert docs.status_code == 200 and not re.search(r"https?://", docs.text)
    for asset in re.findall(r'(?:src|href)="([^"]+)"', docs.text):
        assert httpx.get(f"{url}{asset}", timeout=30).status_code == 200, asset


def _healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/api/health", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


def _run(cmd: str, work: Path, env: dict[str, str]) -> tuple[subprocess.CompletedProcess[str], dict[str, str]]:
    """``bash -c`` the command; also returns the environment it leaves (its exports)."""
    env_file = work / ".env-after"
    script = f'{cmd}\n__rc=$?; env -0 > "{env_file}"; exit $__rc'
    proc = subprocess.run(["bash", "-c", script], cwd=work, env=env, capture_output=True, text=True, timeout=TIMEOUT)
    after = dict(env)
    if env_file.exists():
        pairs = (item.split("=", 1) for item in env_file.read_text().split("\0") if "=" in item)
        after = {k: v for k, v in pairs if k not in SHELL_STATE}
        env_file.unlink()
    return proc, after


def _fail(cmd: Command, proc: subprocess.CompletedProcess[str], why: str) -> str:
    tail = f"--- stdout ---\n{proc.stdout[-4000:]}\n--- stderr ---\n{proc.stderr[-4000:]}"
    return f"README line {cmd.line}: {cmd.text}\n{why}\n{tail}"


def _check_bench(cmd: Command, work: Path, env: dict[str, str]) -> None:
    proc, _ = _run(f"{cmd.text} --help", work, env)
    assert proc.returncode == 0 and "usage:" in proc.stdout, _fail(cmd, proc, "--help failed")
    for option in re.findall(r"(?<!\S)(--[\w-]+)", cmd.text):
        assert re.search(rf"(?<![\w-]){re.escape(option)}(?![\w-])", proc.stdout), _fail(cmd, proc, f"{option} is not an option")


@pytest.mark.slow
def test_every_readme_command_runs_as_written(tmp_path: Path) -> None:
    commands = readme_commands(README.read_text(encoding="utf-8"))
    work = _workdir(tmp_path)
    fresh_terminal = env = _clean_env()
    started = time.monotonic()
    with ExitStack() as stack:
        url: str | None = None
        for cmd in commands:
            t0 = time.monotonic()
            if cmd.fresh_machine:
                _check_fresh_machine(cmd)
            elif cmd.suite:
                _check_suite(cmd)
            elif cmd.is_bench:
                _check_bench(cmd, work, env)
            else:
                needs_server = any(s in cmd.text for s in NEEDS_SERVER)
                if needs_server and url is None:
                    url = stack.enter_context(_server(work, fresh_terminal))
                proc, after = _run(cmd.text, work, env | {"YIBAO_URL": url} if needs_server and url else env)
                expected = cmd.refused_exit or 0
                assert proc.returncode == expected, _fail(cmd, proc, f"exit {proc.returncode}, expected {expected}")
                if needs_server and "YIBAO_URL" not in env:
                    after.pop("YIBAO_URL", None)
                env = after
            print(f"{time.monotonic() - t0:6.1f} s  README:{cmd.line:<4} {cmd.text}")
        if url is None:  # no command needed the server: the README's `yibao serve` is still started and probed
            stack.enter_context(_server(work, fresh_terminal))
    print(f"{time.monotonic() - started:6.1f} s  all {len(commands)} commands")


def _requirement_names(specs: list[str]) -> set[str]:
    return {re.split(r"[\s<>=!~\[;]", spec, maxsplit=1)[0].lower().replace("_", "-") for spec in specs}


def test_the_examples_run_with_what_the_plain_install_provides() -> None:
    """The README's first command installs yibao without its dev tools; the examples it then runs
    (``examples/his_client.py`` against the server) import only the standard library, yibao and its main dependencies."""
    import ast
    from importlib.metadata import packages_distributions

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    main = _requirement_names(project["dependencies"])
    dev_only = _requirement_names(project["optional-dependencies"]["dev"]) - main
    providers = packages_distributions()
    for path in sorted((ROOT / "examples").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        modules = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        modules |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module and not n.level}
        for module in sorted(modules - set(sys.stdlib_module_names) - {"yibao", "examples", "__future__"}):
            dists = {d.lower().replace("_", "-") for d in providers.get(module, [module])}
            assert dists & main, f"{path.name} imports {module}: not a main dependency (dev only: {sorted(dists & dev_only)})"


def test_ci_runs_the_readmes_test_command() -> None:
    """``.ci/run`` ends with the README's second opening command (install, then the whole suite), word for word."""
    opening = [c.text for c in readme_commands(README.read_text(encoding="utf-8")) if c.fresh_machine]
    ci = [line for line in (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines() if line.strip()]
    assert len(opening) == 2 and "pytest" in opening[1]
    assert ci[-1] == opening[1]
