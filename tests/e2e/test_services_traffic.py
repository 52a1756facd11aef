"""Services carry real traffic: the bundled agent's service proxy, real runc containers
(busybox httpd answering its pod's hostname), the real kubectl. ClusterIP by name through
the cluster DNS, spreading and following endpoints, no-endpoint refusal, ClientIP
affinity, NodePort and LoadBalancer (ServiceLB) from the host. Pods' traffic beyond the
cluster is switched off (--no-egress-masquerade), so nothing leaves the machine."""

from __future__ import annotations

import pathlib
import socket
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import yaml

from kubelite.agent.network import bridge
from kubelite.agent.network.proxy import proxier
from tests.e2e import agentenv
from tests.e2e import cluster as cluster_mod
from tests.e2e import test_pod_network as podnet_e2e

NS = "kubelite-svc-e2e"
SERVE = "hostname > /www/index.html; touch /www/ready; exec httpd -f -p 8080 -h /www"
READY = {"httpGet": {"path": "/ready", "port": 8080}, "periodSeconds": 1, "failureThreshold": 1}
DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def sysctls() -> list[str]:
    paths = [pathlib.Path("/proc/sys/" + k.replace(".", "/")) for k in proxier.SYSCTLS]
    return [p.read_text() if p.exists() else "" for p in paths]


@pytest.fixture(scope="module")
def c(tmp_path_factory: pytest.TempPathFactory) -> Iterator[cluster_mod.Cluster]:
    if not agentenv.why_not() and bridge.NAME in podnet_e2e.host_links():
        pytest.skip(f"another kubelite pod network ({bridge.NAME}) is up on this host")
    before = sysctls()
    for cluster in agentenv.running_cluster(tmp_path_factory, NS):
        deploy(cluster)
        cluster.kubectl("apply", "-f", "-", input=agentenv.pod_yaml(
            "client", NS, "exec sleep 3600", grace=1))
        cluster.kubectl("wait", "-n", NS, "pod/client", "--for=condition=Ready",
                        "--timeout=60s", timeout=70)
        yield cluster
        cluster.kubectl("delete", "deployment", "--all", "-n", NS, "--timeout=60s", timeout=70)
    assert sysctls() == before               # forwarding and friends as they were


def deploy(c: cluster_mod.Cluster) -> None:
    """`kubectl create deployment web`, with a readiness probe the test can fail."""
    text = c.kubectl("create", "deployment", "web", f"--image={agentenv.IMAGE}",
                     "--replicas=3", "-n", NS, "--dry-run=client", "-o", "yaml", "--",
                     "sh", "-c", SERVE).stdout
    dep = yaml.safe_load(text)
    pod = dep["spec"]["template"]["spec"]
    pod["terminationGracePeriodSeconds"] = 1
    pod["containers"][0].update(imagePullPolicy="Never", readinessProbe=READY)
    c.kubectl("apply", "-f", "-", input=yaml.safe_dump(dep))
    c.kubectl("expose", "deployment", "web", "--port=80", "--target-port=8080", "-n", NS)
    c.kubectl("rollout", "status", "deployment/web", "-n", NS, "--timeout=90s", timeout=100)
    wait_ready_endpoints(c, "web", 3)


def wait_ready_endpoints(c: cluster_mod.Cluster, svc: str, n: int) -> None:
    def count() -> bool:
        eps = c.kubectl("get", "endpoints", svc, "-n", NS, "--ignore-not-found", "-o",
                        "jsonpath={.subsets[*].addresses[*].ip}").stdout
        return len(eps.split()) == n
    until(f"{n} ready endpoints of {svc}", count, timeout=90)


def web_pods(c: cluster_mod.Cluster) -> list[str]:
    return sorted(p["metadata"]["name"] for p in c.kubectl_json(
        "get", "pods", "-n", NS, "-l", "app=web")["items"]
        if not p["metadata"].get("deletionTimestamp"))


def fetch(c: cluster_mod.Cluster, url: str, n: int = 1, pod: str = "client") -> list[str]:
    """`wget -qO- url` n times inside a pod; each answer (or the error) as one line."""
    script = f"for i in $(seq {n}); do wget -qO- {url} 2>&1 || echo FAILED; done"
    out = c.kubectl("exec", "-n", NS, pod, "--", "sh", "-c", script, timeout=60).stdout
    return out.splitlines()


def until(what: str, check: Callable[[], Any], timeout: float = 30) -> Any:
    """Poll `check` until it returns something true (rules follow the API asynchronously)."""
    deadline = time.monotonic() + timeout
    while True:
        if got := check():
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")


def test_cluster_ip_by_name_spreads_over_every_replica(c: cluster_mod.Cluster) -> None:
    pods = set(web_pods(c))

    def all_seen(url: str, seen: set[str]) -> bool:
        answers = fetch(c, url, 15)
        assert set(answers) <= pods, answers
        seen.update(answers)
        return seen == pods
    for name in ("web", f"web.{NS}.svc.cluster.local"):
        seen: set[str] = set()
        until(f"every replica answering {name}", lambda: all_seen(name, seen))  # noqa: B023
    vip = c.kubectl_json("get", "svc", "web", "-n", NS)["spec"]["clusterIP"]
    assert set(fetch(c, f"{vip}:80", 5)) <= pods
    assert host_get(vip, 80) in pods            # the node reaches VIPs too (route + DNAT)


def test_a_pod_reaches_itself_through_its_service(c: cluster_mod.Cluster) -> None:
    me = web_pods(c)[0]
    until("the pod's own answer through the VIP",
          lambda: me in fetch(c, "web", 15, pod=me) and "FAILED" not in fetch(c, "web", 3, me))


def test_scaled_away_and_unready_pods_leave_rotation(c: cluster_mod.Cluster) -> None:
    unready = web_pods(c)[0]
    c.kubectl("exec", "-n", NS, unready, "--", "rm", "/www/ready")
    c.kubectl("wait", "-n", NS, f"pod/{unready}", "--for=condition=Ready=false",
              "--timeout=30s", timeout=40)
    until("the unready pod out of rotation", lambda: unready not in fetch(c, "web", 20))
    assert set(fetch(c, "web", 20)) <= set(web_pods(c)) - {unready}
    c.kubectl("exec", "-n", NS, unready, "--", "touch", "/www/ready")
    until("the pod back in rotation", lambda: unready in fetch(c, "web", 20))

    c.kubectl("scale", "deployment", "web", "--replicas=1", "-n", NS)
    until("one replica left", lambda: len(web_pods(c)) == 1)
    [left] = web_pods(c)
    until("only the remaining replica answering", lambda: set(fetch(c, "web", 20)) == {left})
    c.kubectl("scale", "deployment", "web", "--replicas=3", "-n", NS)
    wait_ready_endpoints(c, "web", 3)


def test_a_service_without_ready_endpoints_refuses_at_once(c: cluster_mod.Cluster) -> None:
    c.kubectl("create", "service", "clusterip", "nobody", "--tcp=80:8080", "-n", NS)
    answers = until("the empty service in the rules",
                    lambda: [a for a in fetch(c, "nobody", 3) if "bad address" not in a])
    errors = [a for a in answers if a != "FAILED"]
    assert errors and all("Connection refused" in a for a in errors), answers


def test_client_ip_affinity_keeps_a_client_on_one_replica(c: cluster_mod.Cluster) -> None:
    c.kubectl("expose", "deployment", "web", "--name=sticky", "--port=80",
              "--target-port=8080", "--session-affinity=ClientIP", "-n", NS)
    wait_ready_endpoints(c, "sticky", 3)
    answers = until("the sticky service answering", lambda: [
        a for a in fetch(c, "sticky", 20) if a != "FAILED" and "bad address" not in a])
    assert len(set(answers)) == 1 and answers[0] in web_pods(c)
    assert set(fetch(c, "sticky", 20)) == set(answers)


def node_gateway(c: cluster_mod.Cluster) -> str:
    cidr = c.kubectl_json("get", "nodes")["items"][0]["spec"]["podCIDR"]
    return cidr.rsplit(".", 1)[0] + ".1"


def host_get(address: str, port: int) -> str:
    with DIRECT.open(f"http://{address}:{port}/", timeout=5) as r:
        return str(r.read().decode().strip())


def test_node_port_from_the_host_and_the_node_address(c: cluster_mod.Cluster) -> None:
    c.kubectl("expose", "deployment", "web", "--name=web-np", "--type=NodePort", "--port=80",
              "--target-port=8080", "-n", NS)
    port = c.kubectl_json("get", "svc", "web-np", "-n", NS)["spec"]["ports"][0]["nodePort"]
    wait_ready_endpoints(c, "web-np", 3)
    pods = set(web_pods(c))
    gateway = node_gateway(c)
    for address in ("127.0.0.1", gateway):
        until(f"{address}:{port} answering",
              lambda: host_get_or_none(address, port) in pods)  # noqa: B023
    assert set(fetch(c, f"{gateway}:{port}", 5)) <= pods


def host_get_or_none(address: str, port: int) -> str | None:
    try:
        return host_get(address, port)
    except OSError:
        return None


def external_ip(c: cluster_mod.Cluster, name: str) -> str:
    return c.kubectl("get", "svc", name, "-n", NS, "--no-headers").stdout.split()[3]


def test_load_balancer_gets_the_node_address(c: cluster_mod.Cluster) -> None:
    port = cluster_mod.free_port()
    c.kubectl("expose", "deployment", "web", "--name=web-lb", "--type=LoadBalancer",
              f"--port={port}", "--target-port=8080", "-n", NS)
    c.kubectl("wait", "-n", NS, "svc/web-lb", "--timeout=30s",
              "--for=jsonpath={.status.loadBalancer.ingress[0].ip}=127.0.0.1", timeout=40)
    svc = c.kubectl_json("get", "svc", "web-lb", "-n", NS)
    assert svc["status"]["loadBalancer"]["ingress"] == [{"ip": "127.0.0.1", "ipMode": "VIP"}]
    assert external_ip(c, "web-lb") == "127.0.0.1"
    until("the load balancer answering", lambda: host_get_or_none("127.0.0.1", port)
          in set(web_pods(c)))

    c.kubectl("expose", "deployment", "web", "--name=web-lb2", "--type=LoadBalancer",
              f"--port={port}", "--target-port=8080", "-n", NS)
    warning = wait_event(c, "web-lb2", "SyncLoadBalancerFailed")
    assert f"port {port}/TCP is already used by service {NS}/web-lb" in warning
    assert external_ip(c, "web-lb2") == "<pending>"


def test_a_port_held_on_the_node_keeps_the_service_pending(c: cluster_mod.Cluster) -> None:
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        c.kubectl("expose", "deployment", "web", "--name=web-held", "--type=LoadBalancer",
                  f"--port={port}", "--target-port=8080", "-n", NS)
        warning = wait_event(c, "web-held", "SyncLoadBalancerFailed")
        assert f"port {port}/TCP is already in use by a socket listening on the node" in warning
        assert external_ip(c, "web-held") == "<pending>"
    c.kubectl("wait", "-n", NS, "svc/web-held", "--timeout=30s",
              "--for=jsonpath={.status.loadBalancer.ingress[0].ip}=127.0.0.1", timeout=40)


def wait_event(c: cluster_mod.Cluster, name: str, reason: str) -> str:
    def message() -> str:
        events = c.kubectl_json("get", "events", "-n", NS, "--field-selector",
                                f"involvedObject.name={name},reason={reason}")["items"]
        return str(events[0]["message"]) if events else ""
    return str(until(f"{reason} on {name}", message))


def test_the_node_drops_forwarded_traffic_leaving_the_cluster(c: cluster_mod.Cluster) -> None:
    def chain(name: str) -> list[str]:
        out = subprocess.run(["nft", "list", "chain", "ip", "kubelite", name],
                             capture_output=True, text=True, check=True).stdout
        return [line.strip() for line in out.splitlines()]
    # nft prints the pod and service ranges (10.42/16, 10.43/16) merged; on a host that
    # already forwarded, the guard covers what comes from the pod bridge
    assert any(line in ("ip daddr != { 10.42.0.0/15 } drop",
                        f'iifname "{bridge.NAME}" ip daddr != {{ 10.42.0.0/15 }} drop')
               for line in chain("filter-forward"))
    assert not any("masquerade" in line and "saddr" in line for line in chain("nat-postrouting"))
    assert pathlib.Path("/proc/sys/net/ipv4/ip_forward").read_text() == "1\n"
