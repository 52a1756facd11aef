"""PATCH bodies applied to objects, as pure functions on plain dicts (no HTTP, no storage).

- `jsonpatch.apply(doc, ops)`: RFC 6902 JSON patch (`application/json-patch+json`).
- `mergepatch.apply(doc, patch)`: RFC 7386 JSON merge patch (`application/merge-patch+json`).
- `strategic.apply(doc, patch, schema)`: Kubernetes strategic merge patch
  (`application/strategic-merge-patch+json`), driven by the patch metadata in the schemas.

Every function leaves its inputs untouched and returns a new top-level dict. Only the
path a patch touches is copied: the result shares every untouched subtree with `doc` (and
may share values taken from the patch), so copy a subtree before mutating it in place.

Errors follow the apiserver's mapping of its patch libraries: malformed patches are
`errors.BadRequest`; patches that are well formed but cannot apply are `Unprocessable`
(422 Invalid, with upstream's generic message); the rest of the strategic merge library's
complaints reach clients as `Failed` (500 with the library's text and no reason), as
upstream does for errors it does not translate.
"""

from __future__ import annotations

from kubelite.api import errors

UNPROCESSABLE_MESSAGE = "the server rejected our request due to an error in our request"


class Unprocessable(errors.Invalid):
    """422 Invalid: upstream hides the patch library's text behind a generic message.

    `detail` keeps that text for logs.
    """

    def __init__(self, detail: str) -> None:
        errors.APIError.__init__(self, UNPROCESSABLE_MESSAGE, 422, "Invalid")
        self.detail = detail


class Failed(errors.APIError):
    """A patch error upstream passes through untranslated: 500 with an empty reason."""

    def __init__(self, message: str) -> None:
        super().__init__(message, 500, "")
