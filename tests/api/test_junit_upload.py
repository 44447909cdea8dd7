from __future__ import annotations

import gzip
import io

from tests.conftest import ApiClient, junit_xml

RUN = "/jobs/unit/runs/42"


def put_run(api: ApiClient) -> None:
    assert api.put(RUN, json={"status": "success", "payload": "p"}).status_code == 201


def test_raw_xml_upload_attaches_and_resending_is_a_no_op(api: ApiClient) -> None:
    put_run(api)
    xml = junit_xml([("a", "passed"), ("b", "failed"), ("c", "skipped")])
    first = api.post_junit(RUN, xml, filename="junit_01.xml")
    assert first.status_code == 201
    assert first.json["files"][0]["added"] is True
    assert first.json["run"]["counts"]["total"] == 3
    assert first.json["run"]["files"][0]["name"] == "junit_01.xml"
    again = api.post_junit(RUN, xml, filename="junit_01.xml")
    assert again.status_code == 200
    assert again.json["files"][0]["added"] is False
    assert again.json["run"]["counts"] == first.json["run"]["counts"]


def test_gzip_content_encoding_and_gzip_parts(api: ApiClient) -> None:
    put_run(api)
    xml = junit_xml([("a", "passed")])
    assert api.post_junit(RUN, xml, gzipped=True).status_code == 201
    multipart = api.post(f"{RUN}/junit", data={
        "file": (io.BytesIO(gzip.compress(junit_xml([("z", "passed")]))), "junit_02.xml.gz"),
    }, content_type="multipart/form-data")
    assert multipart.status_code == 201
    assert multipart.json["run"]["counts"]["total"] == 2


def test_multipart_with_many_files_merges_retries_into_flakes(api: ApiClient) -> None:
    put_run(api)
    first = junit_xml([("a", "failed"), ("b", "passed")])
    retry = junit_xml([("a", "passed")])
    response = api.post(f"{RUN}/junit", data={
        "files": [(io.BytesIO(first), "junit_01.xml"), (io.BytesIO(retry), "junit_02.xml")],
    }, content_type="multipart/form-data")
    assert response.status_code == 201
    assert [f["added"] for f in response.json["files"]] == [True, True]
    counts = response.json["run"]["counts"]
    assert counts["flaked"] == 1 and counts["passed"] == 1 and counts["total"] == 2


def test_one_malformed_file_refuses_the_whole_request(api: ApiClient) -> None:
    put_run(api)
    good = junit_xml([("a", "passed")])
    bad = b'<?xml version="1.0"?>\n<testsuite name="x">\n<testcase name="t">\n</testsuite>'
    response = api.post(f"{RUN}/junit", data={
        "files": [(io.BytesIO(good), "good.xml"), (io.BytesIO(bad), "broken.xml")],
    }, content_type="multipart/form-data")
    assert response.status_code == 400
    message = response.json["error"]["message"]
    assert "broken.xml" in message and "line" in message
    assert api.get(RUN).json["counts"]["total"] == 0, "the good file was not attached either"


def test_dtd_and_entities_are_refused(api: ApiClient) -> None:
    put_run(api)
    laughs = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
              b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
              b'<testsuite name="&lol2;"/>')
    response = api.post_junit(RUN, laughs)
    assert response.status_code == 400
    assert "DTD" in response.json["error"]["message"] or "DOCTYPE" in response.json["error"][
        "message"]


def test_upload_to_unknown_run_is_404_and_unknown_media_type_415(api: ApiClient) -> None:
    assert api.post_junit("/jobs/unit/runs/404", junit_xml([("a", "passed")])).status_code == 404
    put_run(api)
    response = api.post(f"{RUN}/junit", data=b"{}", headers={"Content-Type": "application/json"})
    assert response.status_code == 415


def test_bad_gzip_is_a_clear_400(api: ApiClient) -> None:
    put_run(api)
    response = api.post(f"{RUN}/junit?filename=x.xml", data=b"\x1f\x8bnot gzip at all",
                        headers={"Content-Type": "application/xml", "Content-Encoding": "gzip"})
    assert response.status_code == 400
    assert "x.xml" in response.json["error"]["message"]
