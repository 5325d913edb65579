"""A passphrase file saved with a UTF-8 byte order mark (Windows Notepad) gives the passphrase
without the BOM (security review: the BOM became part of the passphrase)."""

from __future__ import annotations

from alphasms.support.backup import read_passphrase_file


def test_a_bom_is_not_part_of_the_passphrase(tmp_path) -> None:
    path = tmp_path / "pass.txt"
    path.write_bytes(b"\xef\xbb\xbfkorrekt Pferd Batterie\r\n")
    assert read_passphrase_file(path) == "korrekt Pferd Batterie"
    path.write_bytes(b"korrekt Pferd Batterie\n")
    assert read_passphrase_file(path) == "korrekt Pferd Batterie"
