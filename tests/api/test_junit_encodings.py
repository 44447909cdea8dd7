"""JUnit uploads in legacy encodings, and an unknown one, through the HTTP API."""

from __future__ import annotations

from tests.conftest import ApiClient

RUN = "/jobs/J/runs/R"


def test_shift_jis_upload_reads_back_the_japanese_names(api: ApiClient) -> None:
    assert api.put(RUN, json={"status": "success", "payload": "p"}).status_code == 201
    xml = (
        '<?xml version="1.0" encoding="Shift_JIS"?>\n'
        '<testsuite name="ログイン" tests="2">\n'
        '<testcase classname="ログイン" name="正しいパスワード" time="0.2"/>\n'
        '<testcase classname="ログイン" name="誤ったパスワード" time="0.3">'
        '<failure message="期待値と異なる">スタック</failure></testcase>\n'
        "</testsuite>\n"
    ).encode("shift_jis")
    response = api.post_junit(RUN, xml, filename="TEST-ログイン.xml")
    assert response.status_code == 201, response.json
    assert response.json["run"]["counts"]["total"] == 2
    items = api.get(f"{RUN}/tests").json["items"]
    assert {(item["suite"], item["name"], item["status"]) for item in items} == {
        ("ログイン", "正しいパスワード", "passed"),
        ("ログイン", "誤ったパスワード", "failed"),
    }
    [failed] = [item for item in items if item["status"] == "failed"]
    assert failed["message"] == "期待値と異なる\nスタック"


def test_unknown_encoding_is_a_400_naming_the_file(api: ApiClient) -> None:
    assert api.put(RUN, json={"status": "success", "payload": "p"}).status_code == 201
    xml = b'<?xml version="1.0" encoding="x-klingon"?><testsuite name="s"/>'
    response = api.post_junit(RUN, xml, filename="weird.xml")
    assert response.status_code == 400
    error = response.json["error"]
    assert error["code"] == "invalid_junit"
    assert "weird.xml" in error["message"] and "x-klingon" in error["message"]
    assert error["details"]["file"] == "weird.xml"
    assert error["details"]["line"] == 1
    assert api.get(RUN).json["counts"]["total"] == 0


def test_lying_declaration_is_a_400_naming_the_line(api: ApiClient) -> None:
    assert api.put(RUN, json={"status": "success", "payload": "p"}).status_code == 201
    xml = b'<?xml version="1.0" encoding="EUC-JP"?>\n<testsuite name="s">\n<testcase name="\xff"/>'
    response = api.post_junit(RUN, xml, filename="lies.xml")
    assert response.status_code == 400
    assert response.json["error"]["details"]["line"] == 3
