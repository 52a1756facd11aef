"""The HorizontalPodAutoscaler controller (upstream pkg/controller/podautoscaler)."""
