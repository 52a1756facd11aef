"""The node agent's kubelet: node registration, pod workers, probes, volumes, pod status."""
