"""Cluster DNS: an in-memory zone fed by informers, served over UDP and TCP."""
