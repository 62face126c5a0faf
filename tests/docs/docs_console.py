"""Run the ```console blocks of a Markdown page as a new user would, and compare outputs.

The convention (docs/tutorial.md says it to readers too):

- A page opts in with an HTML comment starting `<!-- runnable` (other pages may use
  ```console for illustration only). On such a page, a fenced block whose info string is
  `console` is runnable. In it, a line starting with `$ ` is a command (a line ending in a
  backslash continues on the next one); the lines up to the next command or the end of
  the block are what it prints, stdout and stderr together. Blocks marked `sh`, `text`,
  `yaml` ... are illustrations and never run.
- All runnable blocks of one page run in order, in one fresh temporary directory holding a
  copy of `docs/` (so `docs/examples/...` resolves as it does from a checkout), with
  `LIFECYCLE_DB` unset. Like one terminal session, the working directory and exported
  variables carry over from one command to the next.
- Every command must exit with status 0 (show another status with `; echo "exit $?"`).
- Outputs are compared line by line with trailing spaces dropped, runs of spaces read as
  one (table columns may shift when a masked value is wider), and blank lines at the start
  and end ignored. Volatile parts are masked in the expected output:
    `<timestamp>`  any ISO 8601 instant in UTC, e.g. a recorded_at (when you ran it)
    `<event_id>`   any UUID
    `<...>`        any text within the line
    `...`          alone on a line: any number of lines (also none)

`python tests/docs/docs_console.py PAGE.md` runs a page and prints what each command
printed, volatile instants already masked: a start for writing the expected outputs.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
INSTANT = r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z"
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
PLACEHOLDERS = {"<timestamp>": INSTANT, "<event_id>": UUID, "<...>": ".*?"}
FENCE = re.compile(r"^(`{3,})\s*(\S*)")
MARKER = re.compile(r"<!--\s*runnable\b")
TIMEOUT = 300


@dataclass
class Command:
    text: str  # as run by bash (continuation lines joined by newlines)
    expected: list[str] = field(default_factory=list)
    line: int = 0  # where it is in the page, 1-based

    def __str__(self) -> str:
        return self.text


def runnable(markdown: str) -> bool:
    """Whether the page opts in to having its ```console blocks run."""
    return MARKER.search(markdown) is not None


def parse(markdown: str) -> list[Command]:
    """The commands of every ```console block, in page order."""
    commands: list[Command] = []
    fence: str | None = None
    in_console = False
    current: Command | None = None
    continued = False
    for number, line in enumerate(markdown.splitlines(), start=1):
        match = FENCE.match(line)
        if fence is None:
            if match:
                fence, in_console = match.group(1), match.group(2) == "console"
            continue
        if line.strip() == fence:
            fence, current, continued = None, None, False
            continue
        if not in_console:
            continue
        if continued and current is not None:
            current.text += "\n" + line
            continued = line.endswith("\\")
        elif line.startswith("$ "):
            current = Command(line[2:], line=number)
            commands.append(current)
            continued = line.endswith("\\")
        elif current is not None:
            current.expected.append(line)
        elif line.strip():
            raise ValueError(f"line {number}: output before the first `$ ` command")
    return commands


def _trimmed(lines: list[str]) -> list[str]:
    lines = [line.rstrip() for line in lines]
    while lines and not lines[0]:
        lines.pop(0)
    while lines and not lines[-1]:
        lines.pop()
    return lines


def _line_pattern(expected: str) -> re.Pattern[str]:
    parts = re.split("(" + "|".join(re.escape(p) for p in PLACEHOLDERS) + ")", expected)
    return re.compile("".join(PLACEHOLDERS.get(part) or re.escape(part) for part in parts))


def _squeeze(text: str) -> str:
    return re.sub(" +", " ", text)


def matches(expected: list[str], actual: list[str]) -> bool:
    """Whether `actual` output fits the `expected` lines (see the module docstring)."""
    want, got = _trimmed(expected), _trimmed(actual)

    def fit(i: int, j: int) -> bool:
        if i == len(want):
            return j == len(got)
        if want[i].strip() == "...":
            return any(fit(i + 1, k) for k in range(j, len(got) + 1))
        if j == len(got):
            return False
        pattern = _line_pattern(_squeeze(want[i]))
        return bool(pattern.fullmatch(_squeeze(got[j]))) and fit(i + 1, j + 1)

    return fit(0, 0)


class Session:
    """One terminal session in a fresh directory: cwd and exported variables persist."""

    def __init__(self, home: Path):
        self.home = home
        self.state = home / ".session-state"
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("LIFECYCLE_") and k not in ("COLUMNS", "LINES")}
        env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
        env["PYTHONUNBUFFERED"] = "1"  # stdout and stderr interleave as on a terminal
        self.state.write_text(
            "".join(f"export {k}={shlex.quote(v)}\n" for k, v in sorted(env.items())
                    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", k))
            + f"cd {shlex.quote(str(home))}\n", "utf-8")

    def run(self, command: str) -> tuple[int, list[str]]:
        state = shlex.quote(str(self.state))
        script = (f"set -a\n. {state}\n{command}\n__status=$?\n"
                  f"{{ export -p | grep -v -E '^declare -x (BASH|SHLVL|_=|OLDPWD)'; "
                  f"printf 'cd %q\\n' \"$PWD\"; }} > {state}\nexit $__status\n")
        done = subprocess.run(["bash", "-c", script], env={"PATH": os.environ["PATH"]},
                              stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, timeout=TIMEOUT, cwd=self.home)
        return done.returncode, done.stdout.decode("utf-8", "replace").splitlines()


def fresh_home(base: Path) -> Path:
    """A directory holding a copy of docs/, as a checkout has it."""
    shutil.copytree(ROOT / "docs", base / "docs",
                    ignore=shutil.ignore_patterns("__pycache__", "*.db", "site"))
    return base


def mask(lines: list[str], now: datetime | None = None) -> list[str]:
    """Instants within two days of now (recorded_at, published_at) as `<timestamp>`,
    padded to keep table columns in line."""
    now = now or datetime.now(UTC)

    def replace(match: re.Match[str]) -> str:
        text = match.group(0)
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
        if abs(when - now) > timedelta(days=2):
            return text
        in_table = match.string[match.end():match.end() + 2] == "  "
        return "<timestamp>".ljust(len(text)) if in_table else "<timestamp>"

    return [re.sub(INSTANT, replace, line).rstrip() for line in lines]


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__.split("\n\n")[-1], file=sys.stderr)
        return 2
    page = Path(argv[0])
    with tempfile.TemporaryDirectory() as tmp:
        session = Session(fresh_home(Path(tmp)))
        for command in parse(page.read_text("utf-8")):
            status, output = session.run(command.text)
            print(f"$ {command.text}")
            print("\n".join(mask(output)))
            if status:
                print(f"[exit status {status}]")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
