"""Step Functions casing ↔ boto3 casing for service integrations.

Step Functions writes ``JobName``/``ContainerOverrides``; boto3's Batch model
says ``jobName``/``containerOverrides``. moto 5.2.x leaves this mapping empty
(DESIGN.md), so the hooks do it, driven by the botocore service model: only
structure member names change, never map keys or values.
"""

from __future__ import annotations

from typing import Any

from botocore.model import ListShape, MapShape, Shape, StructureShape


def to_boto_casing(value: Any, shape: Shape | None) -> Any:
    if isinstance(shape, StructureShape) and isinstance(value, dict):
        members = {name.lower(): name for name in shape.members}
        out = {}
        for key, item in value.items():
            member = members.get(key.lower())
            out[member or key] = to_boto_casing(item, shape.members[member] if member else None)
        return out
    if isinstance(shape, ListShape) and isinstance(value, list):
        return [to_boto_casing(item, shape.member) for item in value]
    if isinstance(shape, MapShape) and isinstance(value, dict):
        return {key: to_boto_casing(item, shape.value) for key, item in value.items()}
    return value


def to_sfn_casing(value: Any, shape: Shape | None) -> Any:
    if isinstance(shape, StructureShape) and isinstance(value, dict):
        out = {}
        for key, item in value.items():
            member_shape = shape.members.get(key)
            name = key[:1].upper() + key[1:] if member_shape is not None else key
            out[name] = to_sfn_casing(item, member_shape)
        return out
    if isinstance(shape, ListShape) and isinstance(value, list):
        return [to_sfn_casing(item, shape.member) for item in value]
    if isinstance(shape, MapShape) and isinstance(value, dict):
        return {key: to_sfn_casing(item, shape.value) for key, item in value.items()}
    return value
