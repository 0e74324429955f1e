"""Everything a TA passes is checked before any submission runs: one line, exit 2."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from handgrad.checks.grade import grade_class, sandbox
from handgrad.checks.grade.demo import learner_source
from handgrad.checks.grade.rubric import parse_rubric
from handgrad.cli import main


def _class(tmp_path: Path) -> Path:
    folder = tmp_path / "subs"
    folder.mkdir()
    (folder / "ann.py").write_text(learner_source(frozenset()))
    return folder


@pytest.mark.parametrize(
    "extra, rubric, needles",
    [
        (["--problem", "mpl"], "", ["unknown problem 'mpl'", "did you mean 'mlp'"]),
        ([], 'problem = "multitsk"', ["unknown problem 'multitsk'", "'multitask'"]),
        ([], 'problem = "multitask"\n[partial]\nbn_factr = 0.5', ["partial.bn_factr"]),
        ([], 'problem = "multitask"\n[points]\nthetaX = 1', ["points.thetaX"]),
        ([], 'problem = "mlp"\n[hints.text]\nno_mask = "hm"\nno_task_x = "x"', ["no_task_x"]),
        ([], 'problem = "multitask"\n[gradescope.tests]\nb9 = "hidden"', ["gradescope.tests.b9"]),
        ([], 'problem = "mlp"\n[partial]\n"grad_z9_for_z1" = 0.5', ["grad_z9_for_z1"]),
    ],
)
def test_bad_input_is_one_line_before_anything_runs(
    tmp_path: Path, capsys, extra: list[str], rubric: str, needles: list[str]
) -> None:
    args = ["grade", str(_class(tmp_path)), "--out", str(tmp_path / "out"), *extra]
    if rubric:
        (tmp_path / "r.toml").write_text(rubric)
        args += ["--rubric", str(tmp_path / "r.toml")]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    for needle in needles:
        assert needle in err, err
    assert not (tmp_path / "out").exists()  # nothing ran, nothing written


def test_without_bubblewrap_grading_stops_unless_trusted(tmp_path: Path, monkeypatch, capsys):
    monkeypatch.setattr(sandbox.shutil, "which", lambda name: None)
    args = ["grade", str(_class(tmp_path)), "--out", str(tmp_path / "out"), "--no-progress"]
    assert main([*args, "--problem", "multitask"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "'bubblewrap'" in err and "--trusted" in err
    assert main([*args, "--problem", "multitask", "--trusted"]) == 0
    assert "isolation: trusted" in capsys.readouterr().out


@pytest.mark.skipif(shutil.which("bwrap") is None, reason="needs bubblewrap")
def test_a_rubric_may_allow_named_imports(tmp_path: Path) -> None:
    folder = _class(tmp_path)
    (folder / "ann.py").write_text("import tqdm\n" + learner_source(frozenset()))
    for allow, total in (([], "0"), (["tqdm"], "8")):
        rubric = parse_rubric({"problem": "multitask", "sandbox": {"allow_imports": allow}})
        out = tmp_path / f"out{len(allow)}"
        result = grade_class(folder, out, rubric=rubric)
        (grade,) = result.summary.grades
        assert f"{grade.total:g}" == total, grade.reason
        if not allow:
            assert "imports tqdm, which grading does not provide" in grade.reason


def test_whole_result_family_ids_are_known_to_the_rubric() -> None:
    from handgrad.checks.grade.rubric import check_rubric

    rubric = parse_rubric(
        {
            "problem": "mlp",
            "partial": {
                "factor:1/sigma": 0.5,
                "factor:3/2": 0.5,
                "grad_z2_for_h1": 0.5,
                "sum_over_axis_1": 0.25,
                "no_1_over_m+factor:(m-1)/m": 0.1,
            },
        }
    )
    check_rubric(rubric, "mlp")  # no error


def test_trusted_and_an_isolation_contradict_each_other(tmp_path: Path, capsys) -> None:
    args = ["grade", str(_class(tmp_path)), "--out", str(tmp_path / "out")]
    with pytest.raises(SystemExit) as e:
        main([*args, "--trusted", "--isolation", "user"])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--isolation: not allowed with argument --trusted" in err
    assert not (tmp_path / "out").exists()
