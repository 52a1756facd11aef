"""Server-side apply and managedFields tracking, as pure functions on plain dicts.

`server_side_apply` serves PATCH application/apply-patch+yaml; `track_update` records field
ownership for ordinary create/update/patch requests. Modules: fieldset (paths and FieldsV1),
typeinfo (schema merge types), walk (field sets and comparisons), merge (merge and prune),
managed (managedFields entries and conflicts), fieldmanager (the two operations).
"""

from kubelite.api.apply.fieldmanager import server_side_apply, track_update

__all__ = ["server_side_apply", "track_update"]
