"""Node networking: pod network, service proxy, cluster DNS."""
