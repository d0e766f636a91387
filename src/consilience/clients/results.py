"""What the SDK's activities hand back: frozen results that know their JSON document.

Each activity in this package (open a match, list records, check a receipt, check the web
app, cosign) returns a frozen dataclass. Its ``to_json()`` is the document ``--json`` prints,
key for key and in the same order; the CLI renders the same object for people. Nothing here
carries secrets the result does not already show (attachment bytes stay out of ``to_json``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, TypeAlias, runtime_checkable

if TYPE_CHECKING:
    from consilience.protocol.entry import Attachment

#: A JSON value as ``json.dumps`` writes it.
JsonValue: TypeAlias = "str | int | float | bool | None | list[JsonValue] | dict[str, JsonValue]"
#: A JSON object: what every ``--json`` command prints.
JsonObject: TypeAlias = dict[str, JsonValue]


@runtime_checkable
class Result(Protocol):
    """Anything with a JSON document of its own."""

    def to_json(self) -> JsonObject: ...


@dataclass(frozen=True)
class AttachmentSummary:
    """An attached file as shown: its name, media type and size, never its bytes."""

    name: str
    type: str
    size: int
    #: where it was written on this device, if it was (``counselor open --save-attachments``)
    saved_to: str | None = None

    @classmethod
    def of(cls, attachment: Attachment, saved_to: str | None = None) -> AttachmentSummary:
        return cls(attachment.name, attachment.type, len(attachment.data), saved_to)

    def to_json(self) -> JsonObject:
        doc: JsonObject = {"name": self.name, "type": self.type, "size": self.size}
        if self.saved_to is not None:
            doc["saved_to"] = self.saved_to
        return doc
