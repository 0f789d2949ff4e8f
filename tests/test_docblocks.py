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


def test_several_blocks_at_once_and_names_with_dots(tmp_path):
    from petool_utils.report.docblocks import replace_blocks, write_blocks

    text = "<!-- t.a:begin -->\nold a\n<!-- t.a:end -->\nmid\n<!-- t.b:begin -->\nkeep\n<!-- t.b:end -->\n"
    new, found = replace_blocks(text, {"t.a": "new a"})
    assert found == ["t.a", "t.b"] and "new a" in new and "old a" not in new and "keep" in new
    page = tmp_path / "p.md"
    page.write_text(text)
    with pytest.raises(ValueError, match="t.c"):
        write_blocks(page, {"t.a": "x", "t.c": "y"})
    assert page.read_text() == text  # nothing written when a block is missing
