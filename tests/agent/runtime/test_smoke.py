from kubelite.agent.runtime import logs, oci
from tests.agent.runtime.conftest import ctr, pod


async def test_exit_code_and_logs(runtime: oci.OCIRuntime) -> None:
    sid = await runtime.run_pod_sandbox(pod())
    cid = await runtime.create_container(sid, ctr("c", "sh", "-c", "echo out; echo err >&2; exit 3"))
    await runtime.start_container(cid)
    st = await runtime.wait_container(cid)
    assert (st.state, st.exit_code, st.reason) == ("exited", 3, "Error")
    assert b"".join(logs.read(st.log_path)) == b"out\nerr\n"
