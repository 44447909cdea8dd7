"""Reading a GitHub Actions artifact zip: the files flakegate knows (JUnit ``*.xml`` and the
measurement files of SPEC §9, by name as :mod:`api.services.artifacts_upload` routes them),
bounded in the bytes they inflate to (a zip's own sizes are not trusted), everything else
skipped. Pure: bytes in, uploads out.

The zip comes from whoever ran the workflow (a fork's pull request too): a member zipfile cannot
read (encrypted, a compression method it lacks, a corrupt stream) is skipped with a logged
reason, and an archive it cannot even list is a :class:`zipfile.BadZipFile`, so neither is
mistaken for a failure worth retrying."""

from __future__ import annotations

import io
import logging
import zipfile
import zlib

from api.disruption.artifacts import artifact_kind, is_junit_name
from api.names import FILENAME, FILENAME_MAX
from api.services.junit_upload import Upload

log = logging.getLogger(__name__)

MAX_MEMBERS = 200  # the most files of one artifact attached (a request's part limit)
# What reading one member raises when the member, not the archive, is unreadable: encrypted
# (RuntimeError), an unknown compression method (NotImplementedError), a corrupt deflate or
# bzip2 stream (zlib.error, OSError), a truncated one (EOFError), a bad CRC or local header
# (BadZipFile), a header offset out of the file or a name not in its encoding (ValueError);
# lzma raises its LZMAError, an OSError.
_BAD_MEMBER = (RuntimeError, NotImplementedError, zlib.error, EOFError, OSError, ValueError,
               zipfile.BadZipFile)


class ArtifactTooLarge(ValueError):
    """The artifact's known files inflate beyond the budget."""


def known_files(name: str, data: bytes, *, max_bytes: int) -> list[Upload]:
    """The known files in the zip ``data`` of artifact ``name``, at most ``max_bytes`` in all
    once inflated; raises :class:`ArtifactTooLarge` or :class:`zipfile.BadZipFile`."""
    uploads: list[Upload] = []
    left = max_bytes
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (ValueError, OSError, EOFError, NotImplementedError) as err:
        # A mangled central directory surfaces as these too: the same unusable archive.
        raise zipfile.BadZipFile(f"artifact {name!r} is not a readable zip: {err}") from err
    with archive:
        for info in archive.infolist():
            path = info.filename
            if not path or info.is_dir():  # is_dir() of an empty name raises IndexError
                continue
            if not (is_junit_name(path) or artifact_kind(path) is not None):
                continue
            if len(path) > FILENAME_MAX or not FILENAME.match(path) or ".." in path.split("/"):
                continue  # a name flakegate could not store: not one of ours
            if len(uploads) == MAX_MEMBERS:
                break
            try:
                with archive.open(info) as member:
                    body = member.read(left + 1)
            except _BAD_MEMBER as err:
                log.warning("artifact %r: member %r skipped: %s", name, path, err)
                continue
            if len(body) > left:
                raise ArtifactTooLarge(f"artifact {name!r} inflates beyond {max_bytes} bytes")
            left -= len(body)
            uploads.append(Upload(path, body))
    return uploads
