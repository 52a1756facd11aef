"""SPDY/3.1 framing and the server session, with our own codec acting as the client."""

from __future__ import annotations

import asyncio
import struct
import zlib

import pytest

from kubelite.agent.nodeapi import spdy, spdysession


def test_dictionary_is_the_spdy3_one() -> None:
    # 1423 bytes; a zlib stream names its dictionary by Adler-32, so a wrong byte means
    # the peer cannot inflate our headers (and we cannot inflate theirs).
    assert len(spdy.DICTIONARY) == 1423
    assert zlib.adler32(spdy.DICTIONARY) == 0xE3C6A7C2


def test_frames_round_trip_through_two_codecs() -> None:
    client, server = spdy.Codec(), spdy.Codec()
    wire = b"".join([
        client.syn_stream(1, {"streamType": "error", "port": "80", "requestID": "0"}, fin=True),
        client.syn_stream(3, {"streamtype": "data", "port": "80", "requestid": "0"}),
        client.data(3, b"hello"), client.data(3, b"", fin=True),
        client.rst_stream(3, spdy.CANCEL), client.ping(7), client.goaway(3)])
    frames = server.feed(wire[:5]) + server.feed(wire[5:])  # split mid-frame
    kinds = [(f.kind, f.stream_id, f.fin) for f in frames]
    assert kinds == [(spdy.SYN_STREAM, 1, True), (spdy.SYN_STREAM, 3, False),
                     (spdy.DATA, 3, False), (spdy.DATA, 3, True), (spdy.RST_STREAM, 3, False),
                     (spdy.PING, 0, False), (spdy.GOAWAY, 3, False)]
    assert frames[0].headers == {"streamtype": "error", "port": "80", "requestid": "0"}
    assert frames[1].headers["streamtype"] == "data"   # the zlib state carried over
    assert frames[2].data == b"hello"
    assert (frames[4].status, frames[5].ping_id) == (spdy.CANCEL, 7)


def test_a_header_with_several_values_keeps_the_first() -> None:
    block = struct.pack(">I", 1) + struct.pack(">I", 4) + b"port" + struct.pack(">I", 5) + b"80\x0081"
    deflate = zlib.compressobj(zdict=spdy.DICTIONARY)
    payload = struct.pack(">I", 1) + deflate.compress(block) + deflate.flush(zlib.Z_SYNC_FLUSH)
    frame = struct.pack(">HHI", 0x8003, spdy.SYN_REPLY, len(payload)) + payload
    assert spdy.Codec().feed(frame)[0].headers == {"port": "80"}


@pytest.mark.parametrize("wire", [
    struct.pack(">HHI", 0x8002, spdy.PING, 4) + b"\0\0\0\1",          # SPDY/2
    struct.pack(">HHI", 0x8003, spdy.SYN_REPLY, 6) + b"\0\0\0\1zz",   # not zlib
    struct.pack(">HHI", 0x8003, spdy.RST_STREAM, 2) + b"\0\0",        # too short
], ids=["version", "bad-zlib", "short"])
def test_malformed_input_is_a_protocol_error(wire: bytes) -> None:
    with pytest.raises(spdy.ProtocolError):
        spdy.Codec().feed(wire)


class Peer:
    """A client end: records what the session sends, decoded."""

    def __init__(self) -> None:
        self.codec = spdy.Codec()       # encodes what we send
        self.decoder = spdy.Codec()     # decodes what the session sends
        self.got: list[spdy.Frame] = []
        self.streams: list[spdysession.Stream] = []

    async def send(self, data: bytes) -> None:
        self.got += self.decoder.feed(data)

    def session(self) -> spdysession.Session:
        def check(headers: spdy.Headers) -> str:
            return "" if headers.get("ok") == "yes" else "not ok"
        return spdysession.Session(self.send, check, self.streams.append)


async def test_session_accepts_refuses_pings_and_ends() -> None:
    peer = Peer()
    session = peer.session()
    await session.receive(peer.codec.syn_stream(1, {"ok": "yes"}) +
                          peer.codec.syn_stream(3, {"ok": "no"}) + peer.codec.ping(9))
    assert [(f.kind, f.stream_id) for f in peer.got] == [
        (spdy.SYN_REPLY, 1), (spdy.RST_STREAM, 3), (spdy.PING, 0)]
    assert peer.got[1].status == spdy.REFUSED_STREAM and peer.got[2].ping_id == 9
    [stream] = peer.streams
    await session.receive(peer.codec.data(1, b"abc") + peer.codec.data(1, b"", fin=True))
    assert await stream.reader.read() == b"abc"
    await stream.write(b"x" * (spdysession.CHUNK + 1))
    await stream.close()
    await stream.write(b"after close")   # dropped, as a closed stream takes no data
    data = [f for f in peer.got if f.kind == spdy.DATA]
    assert [len(f.data) for f in data] == [spdysession.CHUNK, 1, 0] and data[-1].fin
    await session.receive(peer.codec.goaway(1))
    assert session.closed and session.done.is_set()


async def test_a_reset_from_the_client_ends_the_stream() -> None:
    peer = Peer()
    session = peer.session()
    await session.receive(peer.codec.syn_stream(1, {"ok": "yes"}))
    [stream] = peer.streams
    await session.receive(peer.codec.rst_stream(1, spdy.CANCEL))
    assert stream.was_reset and await asyncio.wait_for(stream.reader.read(), 1) == b""
    sent = len(peer.got)
    await stream.write(b"late")
    assert len(peer.got) == sent


async def test_garbage_ends_the_session_with_goaway() -> None:
    peer = Peer()
    session = peer.session()
    await session.receive(struct.pack(">HHI", 0x8002, spdy.PING, 4) + b"\0\0\0\1")
    assert session.closed
    assert peer.got[-1].kind == spdy.GOAWAY and peer.got[-1].status == spdy.PROTOCOL_ERROR
