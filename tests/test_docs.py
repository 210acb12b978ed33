"""The docs stand on their own and say what the code does.

- README.md, benchmarks/README.md and docs/*.md point only inside the repository: every
  relative link or image exists, every #anchor names a heading, nothing mentions the
  folders outside the clone that the project was started from.
- docs/article.md: its ``>>>`` examples run as doctests, its table of results is the
  engine's, and the output it quotes from examples/seed_walkthrough.py is that script's.
- README.md and docs/*.md: every time and speed ratio they quote is a figure of
  benchmarks/README.md, whose full runs it comes from.
- README.md: the training loop has ten lines and works, and the Layout lists every file
  in git and nothing that is missing.
"""

from __future__ import annotations

import builtins
import doctest
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from minitorch_scalar import Value

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
ARTICLE = ROOT / "docs" / "article.md"
DOCS = sorted([README, ROOT / "benchmarks" / "README.md", *(ROOT / "docs").glob("*.md")])

# [text](target) and ![alt](target); the target ends at whitespace or ")".
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
OUTSIDE = ("../shared", "/work/", "shared/seeds", "shared/DESIGN")


def fenced_blocks(text: str, language: str) -> list[str]:
    """The bodies of the ```language blocks of a markdown text."""
    return re.findall(rf"^```{language}\n(.*?)^```", text, flags=re.DOTALL | re.MULTILINE)


def section(text: str, heading: str) -> str:
    """The body of the ``## heading`` section."""
    return text.split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]


def anchors(markdown: Path) -> set[str]:
    """The #anchors GitHub gives the headings of a markdown file."""
    found = set()
    text = re.sub(r"^```.*?^```", "", markdown.read_text(encoding="utf-8"), flags=re.S | re.M)
    for heading in re.findall(r"^#+ (.+)$", text, flags=re.MULTILINE):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        found.add(slug)
    return found


def python_env() -> dict[str, str]:
    """The environment for a child Python that imports this checkout's packages."""
    path = os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return os.environ | {"PYTHONPATH": path, "MPLBACKEND": "Agg"}


# ---------------------------------------------------------- links stay inside


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_doc_mentions_the_folders_outside_the_clone(doc: Path) -> None:
    text = doc.read_text(encoding="utf-8")
    assert [s for s in OUTSIDE if s in text] == []


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_and_image_exists_in_the_repository(doc: Path) -> None:
    broken = []
    for target in LINK.findall(doc.read_text(encoding="utf-8")):
        if re.match(r"[a-z]+:", target):  # https:, mailto:: not a path
            continue
        path, _, anchor = target.partition("#")
        file = (doc.parent / path).resolve() if path else doc
        if ROOT not in (file, *file.parents) or not file.exists():
            broken.append(f"{target} (no such file in the repository)")
        elif anchor and file.suffix == ".md" and anchor not in anchors(file):
            broken.append(f"{target} (no heading #{anchor} in {file.name})")
    assert broken == []


def test_the_link_checker_sees_links_and_images() -> None:
    text = "see [a](docs/a.md#x), ![b](b.png) and [c](https://e.org)"
    assert LINK.findall(text) == ["docs/a.md#x", "b.png", "https://e.org"]


# ---------------------------------------------------------- the article's numbers


def test_the_articles_examples_run_as_doctests() -> None:
    text = ARTICLE.read_text(encoding="utf-8")
    blocks = fenced_blocks(text, "pycon")
    assert len(blocks) >= 3  # problems 1 and 2, the program, backward(3)
    test = doctest.DocTestParser().get_doctest(
        "\n".join(blocks), {}, "docs/article.md", str(ARTICLE), 0
    )
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.attempted >= 20
    assert result.failed == 0


def article_program() -> dict[str, Value]:
    """The article's program at x = -2, after backward, every node by the page's name."""
    x = Value(-2.0)
    z = 2 * x
    y1 = z + 5
    s = z * z
    y2 = s.relu() + x + 3
    loss = y1 - y2 + y2 * x
    loss.backward()
    return {"x": x, "z": z, "y1": y1, "s": s, "y2": y2, "loss": loss}


def test_the_articles_table_of_results_is_the_engines() -> None:
    table = section(ARTICLE.read_text(encoding="utf-8"), "The program")
    rows = re.findall(r"^\| (\w+) +\| +(-?\d+) \| +(-?\d+) \|$", table, flags=re.MULTILINE)
    quoted = {name: (float(value), float(grad)) for name, value, grad in rows}
    nodes = article_program()
    assert quoted == {name: (nodes[name].data, nodes[name].grad) for name in quoted}
    assert quoted == {
        "x": (-2.0, 64.0),
        "z": (-4.0, 25.0),
        "y1": (1.0, 1.0),
        "y2": (17.0, -3.0),
        "loss": (-50.0, 1.0),
    }


def hand_steps(text: str) -> dict[str, float]:
    """Check each bullet ``- name = expr = ... = result`` of `text` (every expression
    must give the same number) and return each name's last result."""
    last = {}
    for line in re.findall(r"^- (.+)$", text, flags=re.MULTILINE):
        name, *expressions = (part.strip() for part in line.split(", and")[0].split("="))
        assert expressions and all(re.fullmatch(r"[-+*() \d]+", e) for e in expressions), line
        results = {eval(e) for e in expressions}  # digits, + - * and parentheses only
        assert len(results) == 1, f"{line}: the sides differ: {results}"
        last[name] = results.pop()
    return last


def test_the_articles_steps_by_hand_are_right_and_end_at_the_engines_numbers() -> None:
    text = section(ARTICLE.read_text(encoding="utf-8"), "The program")
    forward = text.split("### Step 1: forward", 1)[1].split("### Step 2", 1)[0]
    backward = text.split("### Step 2: backward", 1)[1].split("### The result", 1)[0]
    nodes = article_program()
    values = hand_steps(forward)
    assert values == {name: node.data for name, node in nodes.items()}
    grads = hand_steps(backward)
    assert grads == {f"grad({name})": node.grad for name, node in nodes.items() if name != "loss"}


def test_the_articles_algebra_gives_its_numbers() -> None:
    """loss = 4x^3 - 3x^2 + 4x + 2 and its derivative 12x^2 - 6x + 4, as the page says."""
    text = ARTICLE.read_text(encoding="utf-8")
    assert "4x^3 - 3x^2 + 4x + 2" in text and "12x^2 - 6x + 4" in text
    for at in (-2.0, 0.5, 3.0):
        x = Value(at)
        z = 2 * x
        y2 = (z * z).relu() + x + 3
        loss = (z + 5) - y2 + y2 * x
        loss.backward()
        assert loss.data == 4 * at**3 - 3 * at**2 + 4 * at + 2
        assert x.grad == 12 * at**2 - 6 * at + 4


def test_the_walkthrough_output_quoted_in_the_article_is_the_scripts(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "examples" / "seed_walkthrough.py"),
            "--out-dir",
            str(tmp_path),
        ],
        cwd=tmp_path,
        env=python_env(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    printed = done.stdout.splitlines()
    quoted = fenced_blocks(ARTICLE.read_text(encoding="utf-8"), "text")
    assert quoted, "the article quotes the script in ```text blocks"
    for block in quoted:
        lines = block.rstrip("\n").splitlines()
        # each quoted block is a run of consecutive lines of the script's output
        starts = [i for i, line in enumerate(printed) if line == lines[0]]
        assert any(printed[i : i + len(lines)] == lines for i in starts), block


# ---------------------------------------------------------- the README's claims


def test_the_training_loop_has_ten_lines_and_learns_the_moons() -> None:
    text = README.read_text(encoding="utf-8")
    loop = text.split("**A training loop in ten lines:**", 1)[1]
    program = fenced_blocks(loop, "python")[0]
    assert len(program.rstrip("\n").splitlines()) == 10
    names: dict = {}
    exec(program, names)
    scores = [s.data for s in names["model"](names["X"])]
    assert all((s > 0) == (label == 1) for s, label in zip(scores, names["y"]))


BENCHMARKS = ROOT / "benchmarks" / "README.md"
QUOTING = [README, *(ROOT / "docs").glob("*.md")]  # every doc but the benchmarks' own

# A measured figure: a time (us, µs, ms, s), a ratio (17x, "12 times faster"), or a
# compiled / PyTorch ratio (0.76 in the Performance table's last column). "8x8" is not
# one: the x must end the word.
TIME = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?) ?(us|µs|ms|s)\b")
RATIO = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)(?:x\b| times (?:faster|slower))")
BARE_RATIO = re.compile(r"\| (0\.\d\d) \(")
IN_SECONDS = {"us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0}


def quoted_figures(text: str) -> list[tuple[str, float, str]]:
    """(figure as written, its value in seconds or as a ratio, its kind) in `text`."""
    text = re.sub(r"^```.*?^```", "", text, flags=re.S | re.M)  # code: not quoted figures
    text = re.sub(r"^(    |\t).*$", "", text, flags=re.M)  # indented code, algebra too
    found = [
        (m.group(0), float(m.group(1)) * IN_SECONDS[m.group(2)], "time")
        for m in TIME.finditer(text)
    ]
    found += [(m.group(0), float(m.group(1)), "ratio") for m in RATIO.finditer(text)]
    found += [(m.group(1), float(m.group(1)), "ratio") for m in BARE_RATIO.finditer(text)]
    return found


def measured_figures() -> dict[str, list[float]]:
    """Every time (in seconds) and ratio that benchmarks/README.md reports, its full
    runs' output included."""
    text = BENCHMARKS.read_text(encoding="utf-8")
    times = [float(m.group(1)) * IN_SECONDS[m.group(2)] for m in TIME.finditer(text)]
    ratios = [float(m.group(1)) for m in RATIO.finditer(text)]
    ratios += [float(n) for n in re.findall(r"(?<=\s)(\d\.\d\d)(?=\s)", text)]  # 0.76
    return {"time": times, "ratio": ratios}


def rounds_to(measured: float, written: str, value: float) -> bool:
    """True if `measured`, rounded as `written` is (to its last decimal shown, or for an
    integer to its last nonzero digit: "130" is two figures), gives `value`."""
    number = re.match(r"\d+(?:\.\d+)?", written).group(0)
    if "." in number:
        places = len(number.split(".")[1])
    else:
        places = -(len(number) - len(number.rstrip("0")))
    scale = value / float(number)  # the unit: 1e-3 for ms, 1 for a ratio
    return round(measured / scale, places) == round(float(number), places)


@pytest.mark.parametrize("doc", QUOTING, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_speed_figure_quoted_comes_from_the_benchmarks_full_runs(doc: Path) -> None:
    """A time or a ratio in the README or the docs is a figure of benchmarks/README.md
    (its latest full runs), rounded as written: 0.68 ms is 681 us, 130x is 131.6x.
    When the benchmark is run again, the figures quoted elsewhere must follow."""
    measured = measured_figures()
    stale = [
        written
        for written, value, kind in quoted_figures(doc.read_text(encoding="utf-8"))
        if not any(rounds_to(m, written, value) for m in measured[kind])
    ]
    assert stale == []


RAISES = re.compile(r"`(Value\([^`]*)` (?:is |raises )?an? `(\w+Error)`")
GIVES = re.compile(r"`(Value\([^`]*)` (?:is|returns|gives) (-?inf|nan)\b")


def engine_claims() -> list[tuple[str, str, str]]:
    """(doc, expression, what it is said to raise or give) for each sentence of a doc
    of the form "`Value(...)...` is a `SomeError`" or "`Value(...)...` is inf"."""
    claims = []
    for doc in DOCS:
        text = re.sub(r"\s+", " ", doc.read_text(encoding="utf-8"))
        name = str(doc.relative_to(ROOT))
        claims += [(name, m.group(1), m.group(2)) for m in RAISES.finditer(text)]
        claims += [(name, m.group(1), m.group(2)) for m in GIVES.finditer(text)]
    return claims


def test_the_engine_claims_are_found() -> None:
    found = {(expression, outcome) for _, expression, outcome in engine_claims()}
    assert ("Value(1000).exp()", "inf") in found
    assert ("Value(1) / 0", "ZeroDivisionError") in found


@pytest.mark.parametrize(("doc", "expression", "outcome"), engine_claims())
def test_what_the_docs_say_an_expression_raises_or_gives_it_does(doc, expression, outcome):
    """docs/design.md once said `Value(1000).exp()` raises OverflowError; it gives inf."""
    names = {"Value": Value}
    if outcome.endswith("Error"):
        with pytest.raises(getattr(builtins, outcome)):
            eval(expression, names)
    else:
        assert str(eval(expression, names).data) == outcome


def test_the_figure_check_catches_a_figure_the_benchmark_never_gave() -> None:
    measured = measured_figures()
    text = "the step takes 9.0 ms, 148x faster; about 65 times faster per sample | 0.07 (c"
    written = [w for w, value, kind in quoted_figures(text)]
    assert written == ["9.0 ms", "148x", "65 times faster", "0.07"]
    for w, value, kind in quoted_figures(text):
        assert not any(rounds_to(m, w, value) for m in measured[kind]), w
    seconds, ratio = measured["time"][0], measured["ratio"][0]  # the run's own, rounded
    rounded = f"{seconds * 1e3:.2f} ms is {seconds * 1e6:.0f} us; {ratio:.1f}x, about {ratio:.0f}x"
    for w, value, kind in quoted_figures(rounded):
        assert any(rounds_to(m, w, value) for m in measured[kind]), w


def layout_paths() -> list[str]:
    """The paths the README's Layout lists, between its two markers."""
    text = README.read_text(encoding="utf-8")
    block = text.split("<!-- layout: start -->", 1)[1].split("<!-- layout: end -->", 1)[0]
    body = fenced_blocks(block, "text")[0]
    return [line.split()[0] for line in body.splitlines() if line.strip()]


def test_every_path_in_the_layout_exists() -> None:
    paths = layout_paths()
    assert len(paths) == len(set(paths)), "a path is listed twice"
    assert [p for p in paths if not (ROOT / p).exists()] == []


def test_the_layout_lists_every_file_and_folder_in_git() -> None:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    done = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        pytest.skip(f"git ls-files failed: {done.stderr.strip()}")
    files = set(done.stdout.splitlines())
    folders = {str(Path(f).parent) + "/" for f in files if "/" in f}
    listed = set(layout_paths())
    missing = sorted((files | folders) - listed)
    assert missing == [], "add these to the README's Layout, before '<!-- layout: end -->'"


def test_the_virtual_environment_the_quickstart_makes_is_ignored_by_git() -> None:
    quickstart = section(README.read_text(encoding="utf-8"), "Quickstart")
    made = re.findall(r"python -m venv (\S+)", quickstart)
    assert made, "the Quickstart makes a virtual environment"
    ignored = (ROOT / ".gitignore").read_text(encoding="utf-8").split()
    for folder in made:
        assert any(pattern.strip("/") == folder for pattern in ignored), folder
