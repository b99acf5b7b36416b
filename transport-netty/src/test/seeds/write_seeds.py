#!/usr/bin/env python3
"""Writes the hand-made seeds of the fuzz targets (the valid hellos, notices and frame streams of the
unit tests, in the input format of FuzzInput) into src/test/resources, where Jazzer replays them.
Run from anywhere: python3 transport-netty/src/test/seeds/write_seeds.py"""
import os, struct

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'resources', 'org', 'stagecrew', 'transport', 'netty')
MAGIC = b'SCRW'


def raw(data, spare_kib=0):
    """One read of exactly these bytes (op&3 = 0)."""
    out = b''
    while True:
        part, data = data[:0xFFFF], data[0xFFFF:]
        out += bytes([(spare_kib << 2) | 0]) + struct.pack('>H', len(part)) + part
        if not data:
            return out


def reads(data, size, spare_kib=0):
    """The same bytes cut into reads of `size` bytes."""
    return b''.join(raw(data[i:i + size], spare_kib) for i in range(0, len(data), size))


def fill(n, value, spare_kib=0, counting=False):
    return bytes([(spare_kib << 2) | (3 if counting else 2)]) + n.to_bytes(3, 'big') + bytes([value])


def frames(*payloads):
    return b''.join(struct.pack('>I', len(p)) + p for p in payloads)


def hello(address, version=1, magic=MAGIC):
    a = address.encode() if isinstance(address, str) else address
    return magic + bytes([version]) + struct.pack('>H', len(a)) + a


def notice(code, detail):
    d = detail.encode() if isinstance(detail, str) else detail
    return MAGIC + bytes([1, code]) + struct.pack('>H', len(d)) + d


def write(target, method, name, data):
    directory = os.path.join(ROOT, target + 'Inputs', method)
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, 'seed-' + name), 'wb') as f:
        f.write(data)


SMALL = frames(b'abc', b'', b'hello', bytes(range(200)))
MAX_512, MAX_65536, MAX_1M = 3, 6, 7

# FrameBatchDecoderFuzzTest: config (bits 0-2 max, bit 3 event loop, bit 4 heap), then reads
T, M = 'FrameBatchDecoderFuzzTest', 'decodesExactlyTheWholeFramesOfAnyStreamCutAnywhere'
write(T, M, 'small-frames-one-read', bytes([MAX_512]) + raw(SMALL))
write(T, M, 'small-frames-byte-by-byte', bytes([MAX_512]) + reads(SMALL, 1))
write(T, M, 'small-frames-cut-in-7s-event-loop', bytes([MAX_512 | 8]) + reads(SMALL, 7))
write(T, M, 'small-frames-heap-reads', bytes([MAX_512 | 16]) + reads(SMALL, 5, 1))
write(T, M, 'too-long-after-frames', bytes([MAX_512]) + raw(SMALL + struct.pack('>I', 4096) + b'xy'))
write(T, M, 'too-long-length-cut', bytes([MAX_512]) + raw(SMALL + b'\x00\x00') + raw(b'\x10\x00'))
write(T, M, 'large-frame-in-reads', bytes([MAX_65536]) + raw(frames(b'a') + struct.pack('>I', 40_000))
      + fill(10_000, 7, 4, True) + fill(30_000, 9, 1) + raw(frames(b'after')))
write(T, M, 'large-frame-header-cut', bytes([MAX_65536 | 8]) + raw(b'\x00\x00') + raw(b'\x9c\x40' + b'z' * 100)
      + fill(39_900, 1, 0, True))
# A large frame trickled in: every read brings a few bytes in a read buffer of 63 KiB (as a slow writer's peer would).
write(T, M, 'large-frame-trickled-into-big-read-buffers', bytes([MAX_65536]) + raw(struct.pack('>I', 40_000) + b'x' * 10, 63)
      + b''.join(raw(b'y' * 3, 63) for _ in range(12)))
write(T, M, 'zero-max-empty-frames', bytes([0]) + raw(frames(b'', b'')) + raw(struct.pack('>I', 1)))

# FrameCodecFuzzTest: decoder of the foreign pipeline, same input as above
T, M = 'FrameCodecFuzzTest', 'decoderEmitsExactlyTheWholeFramesOfAnyStreamCutAnywhere'
write(T, M, 'small-frames-one-read', bytes([MAX_512]) + raw(SMALL))
write(T, M, 'small-frames-byte-by-byte', bytes([MAX_512]) + reads(SMALL, 1))
write(T, M, 'too-long-after-frames', bytes([MAX_512]) + raw(SMALL + struct.pack('>I', 4096) + b'xy'))
write(T, M, 'large-frame-in-reads', bytes([MAX_65536]) + raw(struct.pack('>I', 40_000)) + fill(40_000, 3, 2, True))

# FrameRoundTripFuzzTest: config (bits 0-2 max as above), payload count, payloads, then cut sizes
T, M = 'FrameRoundTripFuzzTest', 'framesEncodedByFrameCodecComeOutOfBothDecodersUnchanged'


def payload_raw(p):
    return bytes([0]) + struct.pack('>H', len(p)) + p


def payload_fill(n, b):
    return bytes([1]) + n.to_bytes(3, 'big') + bytes([b])


def cuts(*sizes):
    return b''.join(struct.pack('>H', s) for s in sizes)


write(T, M, 'small-one-read', bytes([MAX_512, 4]) + b''.join(payload_raw(p) for p in (b'abc', b'', b'hello', bytes(range(200)))))
write(T, M, 'small-cut', bytes([MAX_512, 4]) + b''.join(payload_raw(p) for p in (b'abc', b'', b'hello', bytes(range(200))))
      + cuts(1, 2, 3, 5, 8, 13))
write(T, M, 'large-cut', bytes([MAX_1M, 3]) + payload_fill(40_000, 5) + payload_raw(b'x') + payload_fill(70_000, 6)
      + cuts(3, 30_000, 9_000, 2, 65_535))
write(T, M, 'garbage', bytes([MAX_512, 0]) + cuts(3) + SMALL + struct.pack('>I', 9999))

# HelloHandlerFuzzTest: config (bits 0-2 max), then reads of hello + frames
T, M = 'HelloHandlerFuzzTest', 'answersEveryHelloWithTheRightNoticeAndPassesOnTheRest'
HELLO = hello('/tmp/sender.sock')
write(T, M, 'valid-hello', bytes([MAX_512]) + raw(HELLO))
write(T, M, 'valid-hello-and-frames', bytes([MAX_512]) + raw(HELLO + SMALL))
write(T, M, 'valid-hello-byte-by-byte-and-frames', bytes([MAX_512]) + reads(HELLO + SMALL, 1))
write(T, M, 'abstract-hello', bytes([MAX_512]) + raw(hello(b'\x00stagecrew-abstract')))
write(T, M, 'bad-magic', bytes([MAX_512]) + raw(b'GET / HTTP/1.1\r\n'))
write(T, M, 'bad-version', bytes([MAX_512]) + raw(hello('/tmp/sender.sock', version=9)))
write(T, M, 'address-too-long', bytes([MAX_512]) + raw(MAGIC + b'\x01\x13\x88'))
write(T, M, 'address-beyond-sun-path', bytes([MAX_512]) + raw(hello('/' + 'x' * 200)))
write(T, M, 'address-with-nul', bytes([MAX_512]) + raw(hello(b'/tmp/a\x00b')))
write(T, M, 'incomplete-hello', bytes([MAX_512]) + raw(HELLO[:10]))
write(T, M, 'hello-and-too-long-frame', bytes([MAX_512]) + raw(HELLO + struct.pack('>I', 600)))

# NoticeDecoderFuzzTest: config (unused), then reads
T, M = 'NoticeDecoderFuzzTest', 'reportsEveryNoticeAsTheProtocolSays'
ACCEPT = notice(0, struct.pack('>I', 16 << 20))
for config in (0,):
    write(T, M, f'accepted-{config}', bytes([config]) + raw(ACCEPT))
    write(T, M, f'accepted-byte-by-byte-{config}', bytes([config]) + reads(ACCEPT, 1))
    write(T, M, f'accepted-then-protocol-error-{config}', bytes([config]) + raw(ACCEPT) + raw(notice(5, 'frame length 600 exceeds maxFrameLength 512')))
    write(T, M, f'accepted-then-shutting-down-{config}', bytes([config]) + raw(ACCEPT + notice(6, 'closing')))
    write(T, M, f'accepted-no-maximum-{config}', bytes([config]) + raw(notice(0, b'')))
    for code in range(1, 8):
        write(T, M, f'rejected-{code}-{config}', bytes([config]) + raw(notice(code, 'reason ' + str(code))))
    write(T, M, f'not-stagecrew-{config}', bytes([config]) + raw(b'HTTP/1.1 400 Bad Request\r\n'))
    write(T, M, f'accepted-twice-{config}', bytes([config]) + raw(ACCEPT + ACCEPT))
    write(T, M, f'detail-too-long-{config}', bytes([config]) + raw(MAGIC + b'\x01\x05\x08\x00') + fill(2048, 65))
