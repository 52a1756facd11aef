"""Port-forward throughput of the agent's SPDY side, in one process on loopback.

`sudo python -m bench.portforward [--mib N] [--rounds N]` serves N MiB from a TCP server on
127.0.0.1 and downloads it (a) straight over TCP and (b) through the agent's forwarding
path: a SPDY session whose client side is our own codec, with the error/data stream pair
kubectl opens, the connection made from inside a network namespace (this process's own,
entered with setns as a pod's would be: needs root). WebSocket framing and the API server
hop are not included. Prints the median MiB/s of each and their ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

from kubelite.agent.nodeapi import portforward, spdy, spdysession

POD = portforward.PodNetwork("bench", "/proc/self/ns/net")


async def start_source(size: int) -> asyncio.Server:
    block = b"x" * (1 << 16)

    async def send(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for _ in range(size // len(block)):
            writer.write(block)
            await writer.drain()
        writer.close()
    return await asyncio.start_server(send, "127.0.0.1", 0)


async def direct(port: int) -> int:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    got = len(await reader.read())
    writer.close()
    return got


async def through_spdy(port: int) -> int:
    decoder, codec, got, done = spdy.Codec(), spdy.Codec(), [0], asyncio.Event()

    async def from_server(data: bytes) -> None:
        for f in decoder.feed(data):
            if f.kind == spdy.DATA and f.stream_id == 3:
                got[0] += len(f.data)
                if f.fin:
                    done.set()
    async with asyncio.TaskGroup() as tasks:
        forwarder = portforward.SpdyForwarder(POD, tasks)
        session = spdysession.Session(from_server, portforward.check_stream, forwarder.on_stream)
        headers = {"streamType": "error", "port": str(port), "requestID": "0"}
        await session.receive(codec.syn_stream(1, headers, fin=True))
        headers["streamType"] = "data"
        await session.receive(codec.syn_stream(3, headers))
        await done.wait()
        forwarder.stop()
    return got[0]


async def measure(mib: int, rounds: int) -> None:
    server = await start_source(mib << 20)
    port = server.sockets[0].getsockname()[1]
    rates: dict[str, list[float]] = {"direct": [], "spdy": []}
    for _ in range(rounds):
        for name, run in (("direct", direct), ("spdy", through_spdy)):
            start = time.perf_counter()
            assert await run(port) == mib << 20
            rates[name].append(mib / (time.perf_counter() - start))
    server.close()
    medians = {name: statistics.median(r) for name, r in rates.items()}
    for name, value in medians.items():
        print(f"{name:7s} {value:8.1f} MiB/s (median of {rounds})")
    print(f"spdy/direct {medians['spdy'] / medians['direct']:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    asyncio.run(measure(args.mib, args.rounds))


if __name__ == "__main__":
    main()
