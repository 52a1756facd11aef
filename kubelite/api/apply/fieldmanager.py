"""Server-side apply and managedFields tracking for ordinary writes, on plain dicts.

`server_side_apply` merges an applied configuration onto the live object, prunes what the
applier owned before but no longer applies (unless another manager owns it), detects
conflicts with other managers' fields and records ownership. `track_update` records what a
create/update/patch changed. Both follow upstream's field manager: the tracked set never
holds apiVersion, kind or server-set metadata (name, namespace, uid, resourceVersion,
generation, creationTimestamp, selfLink, managedFields); writes to the main resource do not
track `status` and writes to the status subresource track only `status` (when the type has
a status subresource).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kubelite.api import errors
from kubelite.api.apply import fieldset, managed, merge, typeinfo, walk

BEFORE_FIRST_APPLY = "before-first-apply"
_META = ("name", "namespace", "creationTimestamp", "selfLink", "uid", "clusterName",
         "generation", "managedFields", "resourceVersion")
STRIPPED = frozenset({fieldset.make_path("apiVersion"), fieldset.make_path("kind"),
                      fieldset.make_path("metadata")}
                     | {fieldset.make_path("metadata", m) for m in _META})
_STATUS = fieldset.field("status")

Filter = Callable[[fieldset.FieldSet], fieldset.FieldSet]


def reset_filter(subresource: str, has_status_subresource: bool = True) -> Filter:
    """Which paths a write may own: status only via the status subresource."""
    if not has_status_subresource or subresource not in ("", "status"):
        return lambda paths: set(paths)
    if subresource == "status":
        return lambda paths: {p for p in paths if p[:1] == (_STATUS,)}
    return lambda paths: {p for p in paths if p[:1] != (_STATUS,)}


class _Context:
    """What one request needs while it works out ownership."""

    def __init__(self, schema: dict[str, Any] | None, api_version: str, subresource: str,
                 has_status_subresource: bool) -> None:
        self.shape = typeinfo.root(schema)
        self.builtin = typeinfo.is_builtin(schema)
        self.api_version = api_version
        self.subresource = subresource
        self.keep = reset_filter(subresource, has_status_subresource)
        # The part of an object `keep` can let through, so compare walks only that part.
        self.scope: Callable[[dict[str, Any]], dict[str, Any]] = lambda obj: obj
        if has_status_subresource and subresource == "status":
            self.scope = lambda obj: {"status": obj["status"]} if "status" in obj else {}
        elif has_status_subresource and subresource == "":
            self.scope = lambda obj: {k: v for k, v in obj.items() if k != "status"}

    def compare(self, old: dict[str, Any], new: dict[str, Any]) -> walk.Comparison:
        scope = self.scope
        return walk.compare(scope(old), scope(new), self.shape,
                            builtin=self.builtin).filtered(self.keep)

    def reconcile(self, old: dict[str, Any], new: dict[str, Any], managers: managed.Managers,
                  me: str, *, force: bool) -> walk.Comparison:
        """Take changed fields from other managers (or raise their conflicts) and drop
        removed ones from every set; empty entries go."""
        cmp = self.compare(old, new)
        changed = cmp.modified | cmp.added
        conflicts = {ident: e.fields & changed for ident, e in managers.items()
                     if ident != me and e.fields & changed}
        if conflicts and not force:
            raise managed.conflict_error(conflicts, managers)
        for ident, e in list(managers.items()):
            if ident != me:
                e.fields = e.fields - conflicts.get(ident, set()) - cmp.removed
            if not e.fields:
                del managers[ident]
        return cmp

    def update(self, old: dict[str, Any], new: dict[str, Any], managers: managed.Managers,
               manager: str, now: str) -> None:
        """Record an ordinary write by `manager` (upstream's Update path)."""
        cmp = self.reconcile(old, new, managers, "", force=True)
        owned = (cmp.modified | cmp.added) - STRIPPED
        if not owned:
            return
        ident = managed.identity(manager, managed.UPDATE, self.api_version, self.subresource)
        prev = managers.get(ident)
        managers[ident] = managed.Entry(
            manager, managed.UPDATE, self.api_version, owned | (prev.fields if prev else set()),
            self.subresource, now)
        managed.cap_updaters(managers)


def _rfc3339(now: str) -> str:
    """Second precision, UTC "Z", as metav1.Time serialises."""
    head, _, _ = now.partition(".")
    head = head.removesuffix("Z").split("+")[0]
    return head + "Z"


def _without_managed(obj: dict[str, Any] | None) -> dict[str, Any]:
    """A copy without managedFields; only the top level and metadata are new dicts."""
    out = dict(obj) if obj else {}
    meta = out.get("metadata")
    if isinstance(meta, dict):
        out["metadata"] = {k: v for k, v in meta.items() if k != "managedFields"}
    return out


def _with_managed(obj: dict[str, Any], managers: managed.Managers) -> dict[str, Any]:
    meta = obj.setdefault("metadata", {})
    encoded = managed.encode(managers)
    if encoded:
        meta["managedFields"] = encoded
    else:
        meta.pop("managedFields", None)
    return obj


def _typed_error(obj: dict[str, Any], api_version: str, what: str, err: Exception) -> errors.APIError:
    meta = obj.get("metadata") or {}
    gv = api_version if "/" in api_version else "/" + api_version
    who = f"{meta.get('namespace', '')}/{meta.get('name', '')}; {gv}, Kind={obj.get('kind', '')}"
    return errors.APIError(f"failed to create typed {what} object ({who}): {err}", 500, "InternalError")


def server_side_apply(live: dict[str, Any] | None, applied: dict[str, Any], *, manager: str,
                      force: bool, schema: dict[str, Any] | None, api_version: str, now: str,
                      subresource: str = "", has_status_subresource: bool = True) -> dict[str, Any]:
    """The object after `manager` applies `applied` onto `live` (None: create).

    Raises managed.ApplyConflict (an errors.Conflict) when fields other managers own would
    change and `force` is false; with `force` those fields move to this manager."""
    _check_applied(applied, api_version)
    ctx = _Context(schema, api_version, subresource, has_status_subresource)
    stamp = _rfc3339(now)
    try:
        managers = managed.decode(((live or {}).get("metadata") or {}).get("managedFields"))
    except ValueError as err:
        raise errors.APIError(f"failed to decode managed fields: {err}", 500, "InternalError") from None
    old = _without_managed(live)
    try:
        if not managers and live is not None:
            ctx.update({}, old, managers, BEFORE_FIRST_APPLY, stamp)
        new = _apply(ctx, old, merge.json_copy(applied), managers, manager or "unknown", force)
    except typeinfo.ListItemError as err:
        raise _typed_error(applied, api_version, "patch", err) from None
    me = managers.get(managed.identity(manager or "unknown", managed.APPLY, api_version, subresource))
    if me is not None and new != old:
        me.time = stamp
    return _with_managed(new, managers)


def _check_applied(applied: dict[str, Any], api_version: str) -> None:
    if not isinstance(applied, dict):
        raise errors.BadRequest("the applied configuration must be an object")
    if applied.get("apiVersion") != api_version:
        raise errors.BadRequest(
            "Incorrect version specified in apply patch. "
            f"Specified patch version: {applied.get('apiVersion', '')}, expected: {api_version}")
    if (applied.get("metadata") or {}).get("managedFields") is not None:
        raise errors.BadRequest("metadata.managedFields must be nil")


def _apply(ctx: _Context, old: dict[str, Any], config: dict[str, Any], managers: managed.Managers,
           manager: str, force: bool) -> dict[str, Any]:
    ident = managed.identity(manager, managed.APPLY, ctx.api_version, ctx.subresource)
    merged = merge.merge(old, config, ctx.shape)
    last = managers.get(ident)
    managers[ident] = managed.Entry(manager, managed.APPLY, ctx.api_version,
                                    ctx.keep(walk.to_field_set(config, ctx.shape)),
                                    ctx.subresource, last.time if last else None)
    new = _prune(ctx, merged, managers, last.fields if last else set())
    ctx.reconcile(old, new, managers, ident, force=force)
    entry = managers.get(ident)
    if entry is not None:
        entry.fields -= STRIPPED
        if not entry.fields:
            del managers[ident]
    return new


def _prune(ctx: _Context, merged: dict[str, Any], managers: managed.Managers,
           last: fieldset.FieldSet) -> dict[str, Any]:
    """Drop what the applier owned last time, applies no more, and nobody else owns."""
    if not last:
        return merged
    owned: fieldset.FieldSet = set().union(*(e.fields for e in managers.values()))
    gone = walk.ensure_named(last, ctx.shape) - walk.ensure_named(owned, ctx.shape)
    # Upstream's applier always owns metadata.name at this point, which keeps metadata;
    # guard it here too so a configuration without metadata cannot drop identity fields.
    return merge.remove_items(merged, gone - STRIPPED, ctx.shape)


def track_update(old: dict[str, Any] | None, new: dict[str, Any], *, manager: str,
                 operation: str = managed.UPDATE, api_version: str, now: str, subresource: str = "",
                 schema: dict[str, Any] | None, has_status_subresource: bool = True) -> dict[str, Any]:
    """`new` with managedFields recording what `manager` changed from `old` (None: create).

    The result is a new top-level dict whose nested values other than metadata are `new`'s."""
    if operation != managed.UPDATE:
        raise ValueError(f"track_update records Update operations, not {operation!r}")
    ctx = _Context(schema, api_version, subresource, has_status_subresource)
    managers = _managers_for_update(old, new, subresource)
    out = _without_managed(new)
    if not managers and old is not None and (old.get("metadata") or {}).get("uid"):
        return out  # tracking was switched off for this object: upstream leaves it off
    try:
        ctx.update(_without_managed(old), out, managers, manager or "unknown", _rfc3339(now))
    except typeinfo.ListItemError:
        previous = ((old or {}).get("metadata") or {}).get("managedFields")
        if previous:
            out.setdefault("metadata", {})["managedFields"] = merge.json_copy(previous)
        return out
    return _with_managed(out, managers)


def _managers_for_update(old: dict[str, Any] | None, new: dict[str, Any],
                         subresource: str) -> managed.Managers:
    """Upstream's choice: the request's managedFields when it sends valid ones (an empty list
    resets them), else the stored ones; subresource writes always keep the stored ones."""
    stored = ((old or {}).get("metadata") or {}).get("managedFields")
    if not subresource:
        sent = (new.get("metadata") or {}).get("managedFields")
        if managed.is_reset(sent):
            return {}
        try:
            decoded = managed.decode(sent)
        except ValueError:
            decoded = {}
        if decoded:
            return decoded
    try:
        return managed.decode(stored)
    except ValueError:
        return {}
