"""Review-style resources, answered and never stored: access reviews, whoami, token reviews."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from kubelite.api import registry
from kubelite.apiserver import authz, context, negotiation
from kubelite.apiserver.auth import AUTHN_KEY, User
from kubelite.apiserver.handlers import write
from kubelite.apiserver.requestinfo import RequestInfo

Obj = dict[str, Any]


async def review(ctx: context.Context, request: web.Request, rt: registry.ResourceType,
                 info: RequestInfo, accept: negotiation.Accept) -> web.Response:
    body = await write.body_object(request)
    user: User = request["user"]
    spec = body.get("spec") or {}
    if rt.kind in ("SelfSubjectAccessReview", "SubjectAccessReview", "LocalSubjectAccessReview"):
        subject = user if rt.kind == "SelfSubjectAccessReview" else User(
            spec.get("user", ""), tuple(spec.get("groups") or ()))
        allowed, reason = authz.decide(subject, spec.get("resourceAttributes"),
                                       spec.get("nonResourceAttributes"))
        status: Obj = {"allowed": allowed}
        if reason:
            status["reason"] = reason
    elif rt.kind == "SelfSubjectRulesReview":
        status = authz.rules(user, spec.get("namespace", ""))
    elif rt.kind == "SelfSubjectReview":
        status = {"userInfo": user.info()}
    else:  # TokenReview
        token_user = request.app[AUTHN_KEY].user_for_token(spec.get("token", ""))
        status = {"authenticated": token_user is not None}
        if token_user is not None:
            status["user"] = token_user.info()
    out = {"kind": rt.kind, "apiVersion": rt.api_version,
           "metadata": {"creationTimestamp": None, **(body.get("metadata") or {})},
           "spec": spec, "status": status}
    return negotiation.json_response(out, 201)
