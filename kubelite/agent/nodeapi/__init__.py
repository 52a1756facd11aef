"""The node agent's own HTTPS API (the kubelet's port): container logs and exec sessions,
reached by the API server's pods/log and pods/exec proxy."""
