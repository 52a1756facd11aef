#!/usr/bin/env bash
# Install the Debian packages kubelite needs, only those missing. Safe to re-run.
set -euo pipefail
need=()
have() { command -v "$1" >/dev/null 2>&1; }
have python3 || need+=(python3 python3-venv)
python3 -c 'import venv, ensurepip' 2>/dev/null || need+=(python3-venv)
have etcd || need+=(etcd-server)
have etcdctl || need+=(etcd-client)
have runc || need+=(runc)                       # the node agent's OCI runtime
have crun || need+=(crun)                       # the faster one, used where the host allows
have busybox || need+=(busybox-static)        # test images are built from its static binary
have docker-registry || need+=(docker-registry) # a local OCI registry for image pull tests
have ip || need+=(iproute2)                     # pod sandbox network namespaces
have nft || need+=(nftables)                    # the service proxy's rules (nft -f)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "missing packages: ${need[*]} (run as root or install them)" >&2
    exit 1
  fi
  echo "installing: ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
if ! have kubectl; then
  echo "kubectl not found: kubelite kubectl and the end-to-end tests need it on PATH" >&2
fi
