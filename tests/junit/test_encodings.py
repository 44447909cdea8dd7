"""JUnit files in encodings expat does not decode itself (``api.junit._encoding``)."""

from __future__ import annotations

import codecs
import io

import pytest

from api.domain import TestStatus
from api.junit import JunitParseError, ParsedJunit, parse_junit

# A Japanese/Chinese test name and failure text, as real reports from those projects carry.
NAME = "ログイン画面_テスト"
MESSAGE = "期待値と異なる"
SUITE = "スイート"


def document(
    encoding: str, *, name: str = NAME, message: str = MESSAGE, suite: str = SUITE
) -> str:
    return (
        f'<?xml version="1.0" encoding="{encoding}"?>\n'
        f'<testsuite name="{suite}">\n'
        f'  <testcase classname="{suite}" name="{name}" time="0.5">\n'
        f'    <failure message="{message}">{suite}</failure>\n'
        f"  </testcase>\n"
        f'  <testcase name="ok"/>\n'
        f"</testsuite>\n"
    )


def parse(data: bytes) -> ParsedJunit:
    return parse_junit(data, filename="jp.xml")


@pytest.mark.parametrize(
    ("encoding", "name"),
    [
        ("Shift_JIS", "ログイン画面_テスト"),
        ("EUC-JP", "ログイン画面_テスト"),
        ("GBK", "用户登录_测试"),
        ("GB2312", "用户登录_测试"),
        ("Big5", "使用者登入_測試"),
        ("windows-1252", "café_Ünïcødé_€"),
        ("ISO-8859-15", "café_€"),
        ("KOI8-R", "тест_входа"),
    ],
)
def test_declared_encodings_python_knows_are_read(encoding: str, name: str) -> None:
    suite, message = name[:3], name[::-1]
    xml = document(encoding, name=name, message=message, suite=suite)
    failed, ok = parse(xml.encode(encoding)).tests
    assert (failed.suite, failed.name, failed.status) == (suite, name, TestStatus.FAILED)
    assert failed.message == f"{message}\n{suite}"
    assert failed.duration_s == 0.5
    assert (ok.suite, ok.name) == (suite, "ok")


def test_shift_jis_everywhere_in_the_document() -> None:
    parsed = parse(document("Shift_JIS").encode("shift_jis"))
    failed = parsed.tests[0]
    assert (failed.suite, failed.name, failed.message) == (SUITE, NAME, f"{MESSAGE}\n{SUITE}")


def test_stream_in_tiny_reads_is_transcoded_across_split_characters() -> None:
    data = document("EUC-JP").encode("euc_jp")

    class Trickle(io.RawIOBase):
        def __init__(self) -> None:
            self.buffer = io.BytesIO(data)

        def readable(self) -> bool:
            return True

        def read(self, size: int = -1) -> bytes:
            return self.buffer.read(3)  # splits most two-byte characters

    parsed = parse_junit(Trickle(), filename="jp.xml")  # type: ignore[arg-type]  # raw binary
    assert parsed == parse(data)
    assert parsed.tests[0].name == NAME


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-le", "utf-16-be", "utf-32"])
def test_byte_order_marks(codec: str) -> None:
    text = document("UTF-16" if codec.startswith("utf-16") else "UTF-32")
    data = text.encode(codec)
    if codec in ("utf-16-le", "utf-16-be"):
        data = (codecs.BOM_UTF16_LE if codec.endswith("le") else codecs.BOM_UTF16_BE) + data
    parsed = parse(data)
    assert parsed.tests[0].name == NAME
    assert parsed.tests[0].message == f"{MESSAGE}\n{SUITE}"


def test_utf8_bom_and_undeclared_utf8_are_untouched() -> None:
    text = document("UTF-8")
    assert parse(codecs.BOM_UTF8 + text.encode()).tests[0].name == NAME
    assert parse(text.split("\n", 1)[1].encode()).tests[0].name == NAME


@pytest.mark.parametrize("name", ["x-no-such-encoding", "rot13", "hex", "Shift JIS 2004 bis"])
def test_unknown_or_non_text_encoding_is_a_parse_error(name: str) -> None:
    with pytest.raises(JunitParseError) as caught:
        parse(f'<?xml version="1.0" encoding="{name}"?><testsuite/>'.encode())
    assert caught.value.filename == "jp.xml"
    assert caught.value.line == 1
    assert "unknown encoding" in caught.value.reason and name in caught.value.reason


def test_lying_declaration_names_the_line() -> None:
    # Declared Shift_JIS; line 4 holds bytes that are no Shift_JIS sequence.
    data = (
        b'<?xml version="1.0" encoding="Shift_JIS"?>\n<testsuite name="s">\n'
        b'<testcase name="ok"/>\n<testcase name="\xff\xfe"/>\n</testsuite>\n'
    )
    with pytest.raises(JunitParseError) as caught:
        parse(data)
    assert caught.value.line == 4
    assert "0xFF" in caught.value.reason and "Shift_JIS" in caught.value.reason


def test_utf8_bytes_declared_as_shift_jis_do_not_pass_silently_as_a_500() -> None:
    # UTF-8 Japanese under a Shift_JIS declaration: either mojibake names (the bytes happen to
    # decode) or a parse error; never any other exception.
    try:
        parsed = parse(document("Shift_JIS").encode("utf-8"))
    except JunitParseError as error:
        assert error.line is not None
    else:
        assert parsed.tests[0].name != NAME


def test_truncated_multibyte_character_at_the_end_is_a_parse_error() -> None:
    data = document("Shift_JIS").encode("shift_jis").rstrip() + "テ".encode("shift_jis")[:1]
    with pytest.raises(JunitParseError, match="byte 0x83 is not valid Shift_JIS") as caught:
        parse(data)
    assert caught.value.line == 7


def test_doctype_is_still_refused_in_transcoded_documents() -> None:
    data = (
        '<?xml version="1.0" encoding="Shift_JIS"?>\n'
        '<!DOCTYPE t [<!ENTITY x "テスト">]><testsuite name="&x;"/>'
    ).encode("shift_jis")
    with pytest.raises(JunitParseError, match="DOCTYPE"):
        parse(data)


def test_raw_escape_in_a_transcoded_document_is_tolerated_like_utf8() -> None:
    xml = document("Shift_JIS", message="\x1b[31m赤\x1b[0m")
    assert parse(xml.encode("shift_jis")).tests[0].message == f"赤\n{SUITE}"


def test_malformed_transcoded_document_names_the_line() -> None:
    data = '<?xml version="1.0" encoding="GBK"?>\n<testsuite name="测试">\n<testcase>\n'
    with pytest.raises(JunitParseError) as caught:
        parse((data + "</testsuite>").encode("gbk"))
    assert caught.value.line == 4
