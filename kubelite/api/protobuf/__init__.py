"""Kubernetes protobuf request bodies (application/vnd.kubernetes.protobuf) as JSON-shaped dicts.

Use `decode.is_protobuf(content_type)` and `decode.decode(body)`; `encode.encode(obj)`
writes the same format back.
"""
