"""Reading labels in both CSV forms, reporting bad rows by line, and moving labels to sampled moments."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from core.errors import LabelError
from core.labels import LabelSet, read_labels_csv, write_labels_csv


def _csv(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "labels.csv"
    p.write_text(text)
    return p


def test_multi_label_form(tmp_path: Path) -> None:
    lab = read_labels_csv(_csv(tmp_path, "time_s,Tom,Jerry\n0,1,0\n1,1,1\n2,0,0\n"))
    assert lab.names == ("Tom", "Jerry")
    assert lab.times.tolist() == [0.0, 1.0, 2.0]
    assert lab.values.tolist() == [[1, 0], [1, 1], [0, 0]]
    assert lab.lines == (2, 3, 4)


def test_single_label_form_with_none(tmp_path: Path) -> None:
    lab = read_labels_csv(_csv(tmp_path, "time_s,label\n0,Tom\n1,none\n2,Jerry\n3,Tom\n"))
    assert lab.names == ("Jerry", "Tom")
    assert lab.values.tolist() == [[0, 1], [0, 0], [1, 0], [0, 1]]


def test_blank_lines_and_bom_are_accepted(tmp_path: Path) -> None:
    lab = read_labels_csv(_csv(tmp_path, "\ufefftime_s,A\n\n0,1\n\n5,0\n"))
    assert lab.times.tolist() == [0.0, 5.0]


@pytest.mark.parametrize("text, message", [
    pytest.param("time_s,Tom\n0,1\n1,maybe\n", "Line 3: the value 'maybe' for Tom must be 0 or 1.", id="bad-flag"),
    pytest.param("time_s,Tom\n0,1\nabc,0\n", "Line 3: the time 'abc' is not a number", id="bad-time"),
    pytest.param("time_s,Tom\n-1,1\n", "Line 2: the time '-1' must be zero or more", id="negative-time"),
    pytest.param("time_s,Tom,Jerry\n0,1\n", "Line 2: expected 3 values", id="short-row"),
    pytest.param("name,Tom\n0,1\n", "must start with time_s", id="no-time-column"),
    pytest.param("time_s\n0\n", "names no character", id="no-character"),
    pytest.param("time_s,Tom,Tom\n0,1,1\n", "names a character twice", id="duplicate-name"),
    pytest.param("", "is empty", id="empty-file"),
    pytest.param("time_s,label\n0,none\n1,none\n", "every row says none", id="only-none"),
])
def test_bad_labels_name_the_line(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(LabelError) as err:
        read_labels_csv(_csv(tmp_path, text))
    assert message in str(err.value)


def test_binary_file_is_refused(tmp_path: Path) -> None:
    p = tmp_path / "labels.csv"
    p.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(LabelError, match="not a text CSV"):
        read_labels_csv(p)


def test_align_moves_labels_to_nearest_moment_later_rows_win() -> None:
    lab = LabelSet(np.array([0.2, 2.6, 3.4, 2.9]), ("A",), np.array([[1], [1], [0], [0]], np.uint8), (2, 3, 4, 5))
    idx, vals = lab.align(np.arange(0.0, 5.0), every=1.0)
    assert idx.tolist() == [0, 3]
    assert vals.tolist() == [[1], [0]]  # 2.6 and 2.9 both go to 3 s; 3.4 too; the last row (2.9 -> 0) wins


def test_align_reports_a_label_outside_the_video() -> None:
    lab = LabelSet(np.array([1.0, 30.0]), ("A",), np.array([[1], [0]], np.uint8), (2, 3))
    with pytest.raises(LabelError, match="Line 3: time 30 s is outside the video"):
        lab.align(np.arange(0.0, 10.0), every=1.0)


def test_round_trip(tmp_path: Path) -> None:
    lab = LabelSet.from_rows([(0, ["Tom"]), (1.5, ["Tom", "Jerry"]), (3, [])], ["Tom", "Jerry"])
    write_labels_csv(lab, tmp_path / "out.csv")
    back = read_labels_csv(tmp_path / "out.csv")
    assert back.names == lab.names
    assert back.times.tolist() == [0.0, 1.5, 3.0]
    assert back.values.tolist() == lab.values.tolist()


def test_from_rows_refuses_unknown_name() -> None:
    with pytest.raises(LabelError, match="'Spike' is not one of the characters"):
        LabelSet.from_rows([(0, ["Spike"])], ["Tom"])
