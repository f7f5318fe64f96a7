"""The checked-in Swift test fixtures (Tests/Fixtures/*.json) are exactly what scripts/gen-vectors
writes from the pinned voltdbclient today.

The Swift vector tests only prove that our code agrees with those files; this test proves the
files still agree with the official client, so that neither a hand edit of a fixture nor a change
of the generator or of the client pin can slip through. It needs no server: it runs the generator
(tests/python/gen_vectors.py, the module scripts/gen-vectors runs) into a temporary directory with
this python and compares the results with the committed files.
"""

import difflib
import json
import subprocess
import sys
from pathlib import Path

import pytest

try:
    import voltclient  # noqa: F401 -- the generator needs both client modules
    import voltdbclient  # noqa: F401
except ImportError as e:
    pytest.skip("the fixture freshness check regenerates the vectors with the official VoltDB "
                "client, and this python cannot import it (%s); install "
                "tests/python/requirements.txt (scripts/test and scripts/gen-vectors do so into "
                ".venv)" % e, allow_module_level=True)

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
FIXTURES = REPO / "Tests" / "Fixtures"
GENERATOR = HERE / "gen_vectors.py"
NAMES = ["hashinator-vectors.json", "wire-vectors.json"]
MAX_REPORTED = 20


def leaf_differences(committed, fresh, path="$"):
    """Every JSON path where the two documents differ, with both values, shortest paths first."""
    if type(committed) is not type(fresh):
        return [(path, committed, fresh)]
    if isinstance(committed, dict):
        out = []
        for key in list(committed) + [k for k in fresh if k not in committed]:
            if key not in fresh:
                out.append(("%s.%s" % (path, key), committed[key], "(missing)"))
            elif key not in committed:
                out.append(("%s.%s" % (path, key), "(missing)", fresh[key]))
            else:
                out += leaf_differences(committed[key], fresh[key], "%s.%s" % (path, key))
        return out
    if isinstance(committed, list):
        if len(committed) != len(fresh):
            return [("%s (length)" % path, len(committed), len(fresh))]
        out = []
        for i, (a, b) in enumerate(zip(committed, fresh)):
            out += leaf_differences(a, b, "%s[%d]" % (path, i))
        return out
    return [] if committed == fresh else [(path, committed, fresh)]


def short(value, limit=100):
    text = json.dumps(value, ensure_ascii=True)
    return text if len(text) <= limit else text[:limit] + "... (%d chars)" % len(text)


def summary(name, committed_text, fresh_text):
    """What differs, in terms a reader can act on: the JSON paths and values first (the usual
    cause), then the start of a line diff (which also catches formatting-only drift)."""
    lines = ["%s differs from what scripts/gen-vectors writes now:" % name]
    try:
        diffs = leaf_differences(json.loads(committed_text), json.loads(fresh_text))
    except ValueError as e:
        diffs = []
        lines.append("  the committed file is not valid JSON: %s" % e)
    for path, old, new in diffs[:MAX_REPORTED]:
        lines.append("  %s: committed %s, generated %s" % (path, short(old), short(new)))
    if len(diffs) > MAX_REPORTED:
        lines.append("  ... and %d more differing values" % (len(diffs) - MAX_REPORTED))
    if not diffs:
        lines.append("  same values; the text differs (formatting):")
    text_diff = list(difflib.unified_diff(committed_text.splitlines(), fresh_text.splitlines(),
                                          "committed/" + name, "generated/" + name,
                                          n=0, lineterm=""))
    lines += ["  " + line[:160] for line in text_diff[:MAX_REPORTED]]
    if len(text_diff) > MAX_REPORTED:
        lines.append("  ... (%d diff lines in all)" % len(text_diff))
    return "\n".join(lines)


def test_committed_fixtures_equal_a_fresh_generation(tmp_path):
    done = subprocess.run([sys.executable, str(GENERATOR), str(tmp_path)], cwd=REPO,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=100)
    assert done.returncode == 0, "the generator failed (exit %d):\n%s%s" % (
        done.returncode, done.stdout, done.stderr)

    problems = []
    for name in NAMES:
        committed_path, fresh_path = FIXTURES / name, tmp_path / name
        assert fresh_path.is_file(), "the generator wrote no %s" % name
        if not committed_path.is_file():
            problems.append("%s is not committed under Tests/Fixtures" % name)
            continue
        committed = committed_path.read_text(encoding="ascii")
        fresh = fresh_path.read_text(encoding="ascii")
        if committed != fresh:
            problems.append(summary(name, committed, fresh))
    assert not problems, "\n\n".join(problems) + (
        "\n\nIf the change is intended (generator or client pin changed), run scripts/gen-vectors "
        "and commit Tests/Fixtures; otherwise the committed fixtures were edited by hand.")
