"""The service proxy: ClusterIP and NodePort load-balancing with one nftables table."""
