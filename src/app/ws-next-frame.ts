/**
 * graphql-ws `next` messages as whole WebSocket frames, serialised once per payload: when a
 * run's 1,000 subscribers get the same result object (shared-subscribe.ts), its JSON is built
 * once, and each subscriber's frame is the shared bytes behind its own frame header and id.
 * Subscribers whose ids are equal (many clients number their first subscription "1") share the
 * whole frame, so fanning it out is one `write` of the same Buffer per socket.
 *
 * The bytes are exactly what graphql-ws's stringifyMessage({ id, type: 'next', payload }) and
 * ws's unmasked, uncompressed final text frame would make (tests/ws-next-frame.test.ts).
 */

/** The part after the id: `,"type":"next","payload":<payload>}`, and frames built on it. */
interface SharedPayload {
  tail: Buffer;
  /** Whole frames by subscription id; ids repeat, so few entries. */
  frames: Map<string, Buffer>;
}

/** Ids kept per payload: past it frames are built without caching (random ids never repeat). */
const FRAMES_PER_PAYLOAD = 16;
const HEAD = Buffer.from('{"id":');

/** The WebSocket header of a final, unmasked text frame of `length` bytes (RFC 6455 5.2). */
function frameHeader(length: number): Buffer {
  if (length <= 125) return Buffer.from([0x81, length]);
  if (length <= 0xffff) {
    const header = Buffer.allocUnsafe(4);
    header[0] = 0x81;
    header[1] = 126;
    header.writeUInt16BE(length, 2);
    return header;
  }
  const header = Buffer.allocUnsafe(10);
  header[0] = 0x81;
  header[1] = 127;
  header.writeUInt32BE(Math.floor(length / 2 ** 32), 2);
  header.writeUInt32BE(length >>> 0, 6);
  return header;
}

export class NextFrames {
  /** Per payload object, as long as the object lives (a shared result lives with its event). */
  private readonly shared = new WeakMap<object, SharedPayload>();

  /** The frame carrying `{"id":<id>,"type":"next","payload":<payload>}`. */
  frame(id: string, payload: object): Buffer {
    let entry = this.shared.get(payload);
    if (!entry) {
      entry = {
        tail: Buffer.from(`,"type":"next","payload":${JSON.stringify(payload)}}`),
        frames: new Map(),
      };
      this.shared.set(payload, entry);
    }
    const cached = entry.frames.get(id);
    if (cached) return cached;
    const built = build(id, entry.tail);
    if (entry.frames.size < FRAMES_PER_PAYLOAD) entry.frames.set(id, built);
    return built;
  }
}

function build(id: string, tail: Buffer): Buffer {
  const idJson = JSON.stringify(id);
  const idLength = Buffer.byteLength(idJson);
  const length = HEAD.length + idLength + tail.length;
  const header = frameHeader(length);
  const frame = Buffer.allocUnsafe(header.length + length);
  let at = header.copy(frame, 0);
  at += HEAD.copy(frame, at);
  at += frame.write(idJson, at);
  tail.copy(frame, at);
  return frame;
}
