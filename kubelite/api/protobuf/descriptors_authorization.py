"""Protobuf field tables, authorization.k8s.io/v1: the self-subject reviews `kubectl auth can-i` sends.

Written from the Go struct tags of the Kubernetes 1.32 types; the notation is described
in kubelite.api.protobuf.schema.
"""

from __future__ import annotations

GROUP_VERSION = "authorization.k8s.io/v1"
KINDS: tuple[str, ...] = ("SelfSubjectAccessReview", "SelfSubjectRulesReview")

MESSAGES: dict[str, str] = {
    "FieldSelectorAttributes": "1 rawSelector s; 2 requirements [FieldSelectorRequirement]",
    "LabelSelectorAttributes": "1 rawSelector s; 2 requirements [LabelSelectorRequirement]",
    "NonResourceAttributes": "1 path s; 2 verb s",
    "NonResourceRule": "1 verbs [s]; 2 nonResourceURLs [s]",
    "ResourceAttributes": (
        "1 namespace s; 2 verb s; 3 group s; 4 version s; 5 resource s; 6 subresource s; 7 name s; "
        "8 fieldSelector FieldSelectorAttributes; 9 labelSelector LabelSelectorAttributes"
    ),
    "ResourceRule": "1 verbs [s]; 2 apiGroups [s]; 3 resources [s]; 4 resourceNames [s]",
    "SelfSubjectAccessReview": (
        "1 metadata ObjectMeta; 2 spec SelfSubjectAccessReviewSpec; 3 status SubjectAccessReviewStatus"
    ),
    "SelfSubjectAccessReviewSpec": (
        "1 resourceAttributes ResourceAttributes; 2 nonResourceAttributes NonResourceAttributes"
    ),
    "SelfSubjectRulesReview": (
        "1 metadata ObjectMeta; 2 spec SelfSubjectRulesReviewSpec; 3 status SubjectRulesReviewStatus"
    ),
    "SelfSubjectRulesReviewSpec": "1 namespace s",
    "SubjectAccessReviewStatus": "1 allowed b!; 2 reason s; 3 evaluationError s; 4 denied b",
    "SubjectRulesReviewStatus": (
        "1 resourceRules [ResourceRule]; 2 nonResourceRules [NonResourceRule]; 3 incomplete b!; "
        "4 evaluationError s"
    ),
}
