"""Generated doc blocks: replaced between their markers, and never appended where no marker is."""

import pytest

from petool_utils.report.docblocks import write_block


def test_block_is_replaced_between_markers_and_the_rest_kept(tmp_path):
    page = tmp_path / "p.md"
    page.write_text("# T\n\n<!-- x:begin -->\nold 1\nold 2\n<!-- x:end -->\n\ntail\n")
    write_block(page, "x", "| a |\n| 1 |\n")
    assert page.read_text() == "# T\n\n<!-- x:begin -->\n| a |\n| 1 |\n<!-- x:end -->\n\ntail\n"
    write_block(page, "x", "new")
    assert page.read_text() == "# T\n\n<!-- x:begin -->\nnew\n<!-- x:end -->\n\ntail\n"


def test_missing_markers_are_an_error_naming_file_and_block(tmp_path):
    page = tmp_path / "p.md"
    page.write_text("no markers\n")
    with pytest.raises(ValueError, match=r"p\.md.*<!-- y:begin -->"):
        write_block(page, "y", "z")
    assert page.read_text() == "no markers\n"
