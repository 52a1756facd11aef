"""SPDY/3.1 framing: the subset kubectl's port-forward speaks (draft-mbelshe-httpbis-spdy-00).

A frame is an 8-byte header and a payload. Control frames start with the bit C=1, the
version (3) and a type; data frames with C=0 and a 31-bit stream id. Both carry 8 bits of
flags and a 24-bit length. Header blocks (in SYN_STREAM, SYN_REPLY, HEADERS) are one zlib
stream per direction for the whole connection, primed with the SPDY/3 dictionary and
flushed (Z_SYNC_FLUSH) after every block: encoder and decoder keep state across frames, so
one Codec belongs to one connection and frames must be encoded in the order they are sent.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field

VERSION = 3
SYN_STREAM, SYN_REPLY, RST_STREAM, SETTINGS = 1, 2, 3, 4
PING, GOAWAY, HEADERS, WINDOW_UPDATE = 6, 7, 8, 9
DATA = 0  # not a control type: marks data frames in Frame.kind
FLAG_FIN = 0x01
# RST_STREAM status codes
PROTOCOL_ERROR, INVALID_STREAM, REFUSED_STREAM, CANCEL, INTERNAL_ERROR = 1, 2, 3, 5, 6
MAX_LENGTH = (1 << 24) - 1

# The dictionary of section 2.6.10.1: length-prefixed words, then a run of common values.
_WORDS = ["options", "head", "post", "put", "delete", "trace", "accept", "accept-charset",
    "accept-encoding", "accept-language", "accept-ranges", "age", "allow", "authorization",
    "cache-control", "connection", "content-base", "content-encoding", "content-language",
    "content-length", "content-location", "content-md5", "content-range", "content-type",
    "date", "etag", "expect", "expires", "from", "host", "if-match", "if-modified-since",
    "if-none-match", "if-range", "if-unmodified-since", "last-modified", "location",
    "max-forwards", "pragma", "proxy-authenticate", "proxy-authorization", "range", "referer",
    "retry-after", "server", "te", "trailer", "transfer-encoding", "upgrade", "user-agent",
    "vary", "via", "warning", "www-authenticate", "method", "get", "status", "200 OK",
    "version", "HTTP/1.1", "url", "public", "set-cookie", "keep-alive", "origin"]
_TAIL = (
    "100101201202205206300302303304305306307402405406407408409410411412413414415416417502504505"
    "203 Non-Authoritative Information204 No Content301 Moved Permanently400 Bad Request"
    "401 Unauthorized403 Forbidden404 Not Found500 Internal Server Error501 Not Implemented"
    "503 Service UnavailableJan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 "
    "Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMTchunked,text/html,image/png,image/jpg,image/gif,"
    "application/xml,application/xhtml+xml,text/plain,text/javascript,publicprivatemax-age="
    "gzip,deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0.")
DICTIONARY = b"".join(struct.pack(">I", len(w)) + w.encode() for w in _WORDS) + _TAIL.encode()


class ProtocolError(ValueError):
    """The peer sent something that is not SPDY/3 (the session must end)."""


Headers = dict[str, str]


@dataclass
class Frame:
    """One decoded frame. `kind` is DATA or a control type; unused fields keep defaults."""

    kind: int
    flags: int = 0
    stream_id: int = 0
    data: bytes = b""
    headers: Headers = field(default_factory=dict)
    status: int = 0          # RST_STREAM and GOAWAY
    ping_id: int = 0
    associated_id: int = 0   # SYN_STREAM

    @property
    def fin(self) -> bool:
        return bool(self.flags & FLAG_FIN)


def _block(headers: Headers) -> bytes:
    out = [struct.pack(">I", len(headers))]
    for name, value in headers.items():
        for part in (name.lower().encode(), value.encode()):
            out.append(struct.pack(">I", len(part)) + part)
    return b"".join(out)


def _unblock(raw: bytes) -> Headers:
    """A header block; repeated values (NUL-separated) keep the first, as Header.Get does."""
    try:
        (count,), pos, out = struct.unpack_from(">I", raw), 4, {}
        for _ in range(count):
            (n,) = struct.unpack_from(">I", raw, pos)
            name = raw[pos + 4:pos + 4 + n].decode()
            pos += 4 + n
            (n,) = struct.unpack_from(">I", raw, pos)
            value = raw[pos + 4:pos + 4 + n].decode()
            pos += 4 + n
            out[name.lower()] = value.split("\0")[0]
    except (struct.error, UnicodeDecodeError) as e:
        raise ProtocolError(f"malformed header block: {e}") from None
    return out


class Codec:
    """Encodes frames to bytes and decodes a byte stream into frames, for one connection."""

    def __init__(self) -> None:
        self._deflate = zlib.compressobj(zdict=DICTIONARY)
        self._inflate = zlib.decompressobj(zdict=DICTIONARY)
        self._buffer = bytearray()

    # --- encoding -----------------------------------------------------------------------

    def _control(self, kind: int, flags: int, payload: bytes) -> bytes:
        return struct.pack(">HHI", 0x8000 | VERSION, kind, (flags << 24) | len(payload)) + payload

    def _compress(self, headers: Headers) -> bytes:
        return self._deflate.compress(_block(headers)) + self._deflate.flush(zlib.Z_SYNC_FLUSH)

    def syn_stream(self, stream_id: int, headers: Headers, *, fin: bool = False) -> bytes:
        payload = struct.pack(">IIH", stream_id, 0, 0) + self._compress(headers)
        return self._control(SYN_STREAM, FLAG_FIN if fin else 0, payload)

    def syn_reply(self, stream_id: int, headers: Headers, *, fin: bool = False) -> bytes:
        payload = struct.pack(">I", stream_id) + self._compress(headers)
        return self._control(SYN_REPLY, FLAG_FIN if fin else 0, payload)

    def data(self, stream_id: int, data: bytes, *, fin: bool = False) -> bytes:
        flags = FLAG_FIN if fin else 0
        return struct.pack(">II", stream_id, (flags << 24) | len(data)) + data

    def rst_stream(self, stream_id: int, status: int) -> bytes:
        return self._control(RST_STREAM, 0, struct.pack(">II", stream_id, status))

    def ping(self, ping_id: int) -> bytes:
        return self._control(PING, 0, struct.pack(">I", ping_id))

    def goaway(self, last_stream_id: int, status: int = 0) -> bytes:
        return self._control(GOAWAY, 0, struct.pack(">II", last_stream_id, status))

    # --- decoding -----------------------------------------------------------------------

    def feed(self, data: bytes) -> list[Frame]:
        """The frames completed by `data` (a frame may span several calls)."""
        self._buffer += data
        frames = []
        while len(self._buffer) >= 8:
            (length,) = struct.unpack_from(">I", self._buffer, 4)
            length &= MAX_LENGTH
            if len(self._buffer) < 8 + length:
                break
            head, payload = bytes(self._buffer[:8]), bytes(self._buffer[8:8 + length])
            del self._buffer[:8 + length]
            frames.append(self._decode(head, payload))
        return frames

    def _decode(self, head: bytes, payload: bytes) -> Frame:
        word, flags = struct.unpack_from(">I", head)[0], head[4]
        if not word & 0x80000000:
            return Frame(DATA, flags, word & 0x7FFFFFFF, payload)
        version, kind = (word >> 16) & 0x7FFF, word & 0xFFFF
        if version != VERSION:
            raise ProtocolError(f"unsupported SPDY version {version}")
        try:
            return self._control_frame(kind, flags, payload)
        except struct.error as e:
            raise ProtocolError(f"short control frame type {kind}: {e}") from None

    def _control_frame(self, kind: int, flags: int, payload: bytes) -> Frame:
        if kind == SYN_STREAM:
            sid, assoc = struct.unpack_from(">II", payload)
            return Frame(kind, flags, sid & 0x7FFFFFFF, headers=self._headers(payload[10:]),
                         associated_id=assoc & 0x7FFFFFFF)
        if kind in (SYN_REPLY, HEADERS):
            (sid,) = struct.unpack_from(">I", payload)
            return Frame(kind, flags, sid & 0x7FFFFFFF, headers=self._headers(payload[4:]))
        if kind in (RST_STREAM, GOAWAY):
            sid, status = struct.unpack_from(">II", payload)
            return Frame(kind, flags, sid & 0x7FFFFFFF, status=status)
        if kind == PING:
            return Frame(kind, flags, ping_id=struct.unpack_from(">I", payload)[0])
        return Frame(kind, flags, data=payload)  # SETTINGS, WINDOW_UPDATE, ...: no state kept

    def _headers(self, compressed: bytes) -> Headers:
        try:
            return _unblock(self._inflate.decompress(compressed))
        except zlib.error as e:
            raise ProtocolError(f"header block does not inflate: {e}") from None
