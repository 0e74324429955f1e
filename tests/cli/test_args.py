import argparse

import pytest

from handgrad.cli import args


@pytest.mark.parametrize(
    ("convert", "text", "value"),
    [
        (args.positive_int, "3", 3),
        (args.non_negative_int, "0", 0),
        (args.positive_float, "1e-3", 1e-3),
        (args.non_negative_float, "0", 0.0),
        (args.probability, "0.5", 0.5),
        (args.int_list, "256, 128", [256, 128]),
    ],
)
def test_good_values(convert, text, value):
    assert convert(text) == value


@pytest.mark.parametrize(
    ("convert", "text", "message"),
    [
        (args.positive_int, "0", "must be ≥ 1, got 0"),
        (args.positive_int, "2.5", "expected a whole number"),
        (args.non_negative_int, "-1", "≥ 0"),
        (args.positive_float, "inf", "positive number"),
        (args.positive_float, "nan", "positive number"),
        (args.positive_float, "x", "expected a number"),
        (args.non_negative_float, "-0.1", "≥ 0"),
        (args.probability, "1", "[0, 1)"),
        (args.int_list, ",", "expected sizes"),
        (args.int_list, "50,0", "≥ 1"),
    ],
)
def test_bad_values_name_the_rule(convert, text, message):
    with pytest.raises(argparse.ArgumentTypeError, match=None) as e:
        convert(text)
    assert message in str(e.value)


def test_default_run_dir_is_under_runs():
    assert args.default_run_dir("mlp").startswith("runs/mlp-")
