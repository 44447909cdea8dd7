"""Reading a GitHub Actions artifact zip: the files flakegate knows (JUnit ``*.xml`` and the
measurement files of SPEC §9, by name as :mod:`api.services.artifacts_upload` routes them),
bounded in the bytes they inflate to (a zip's own sizes are not trusted), everything else
skipped. Pure: bytes in, uploads out."""

from __future__ import annotations

import io
import zipfile

from api.disruption.artifacts import artifact_kind, is_junit_name
from api.names import FILENAME, FILENAME_MAX
from api.services.junit_upload import Upload

MAX_MEMBERS = 200  # the most files of one artifact attached (a request's part limit)


class ArtifactTooLarge(ValueError):
    """The artifact's known files inflate beyond the budget."""


def known_files(name: str, data: bytes, *, max_bytes: int) -> list[Upload]:
    """The known files in the zip ``data`` of artifact ``name``, at most ``max_bytes`` in all
    once inflated; raises :class:`ArtifactTooLarge` or :class:`zipfile.BadZipFile`."""
    uploads: list[Upload] = []
    left = max_bytes
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for info in archive.infolist():
            path = info.filename
            if info.is_dir() or not (is_junit_name(path) or artifact_kind(path) is not None):
                continue
            if len(path) > FILENAME_MAX or not FILENAME.match(path) or ".." in path.split("/"):
                continue  # a name flakegate could not store: not one of ours
            if len(uploads) == MAX_MEMBERS:
                break
            with archive.open(info) as member:
                body = member.read(left + 1)
            if len(body) > left:
                raise ArtifactTooLarge(f"artifact {name!r} inflates beyond {max_bytes} bytes")
            left -= len(body)
            uploads.append(Upload(path, body))
    return uploads
