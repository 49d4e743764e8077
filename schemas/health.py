"""Health and readiness responses."""

from marshmallow import Schema, fields


class HealthSchema(Schema):
    """The process is up."""

    status = fields.String(metadata={"example": "ok"})


class MigrationStateSchema(Schema):
    """Where the database schema is versus where the code expects it."""

    current = fields.String(allow_none=True)
    head = fields.String(allow_none=True)


class ReadinessSchema(Schema):
    """Every dependency this instance needs answers."""

    status = fields.String(metadata={"example": "ready"})
    database = fields.String(metadata={"example": "ok"})
    migrations = fields.Nested(MigrationStateSchema)


health_schema = HealthSchema()
readiness_schema = ReadinessSchema()
