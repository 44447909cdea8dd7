"""Schemas of the artifacts upload (SPEC §9)."""

from __future__ import annotations

from marshmallow import Schema, fields

from api.schemas.runs import RunSchema


class ArtifactFileSchema(Schema):
    name = fields.String()
    sha256 = fields.String()
    kind = fields.String()  # junit, disruptions, alerts or cluster-data
    tests = fields.Integer()  # JUnit files: the tests they held; measurement files: 0
    added = fields.Boolean()


class ArtifactsUploadResultSchema(Schema):
    run = fields.Nested(RunSchema)
    files = fields.List(fields.Nested(ArtifactFileSchema))
    names_cut = fields.Integer()
