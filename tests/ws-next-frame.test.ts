/**
 * graphql-ws `next` messages written as ready frames (src/app/ws-next-frame.ts, ws-server.ts):
 * the bytes are exactly what graphql-ws would serialise and ws would frame, a payload shared by
 * many subscribers is serialised once, and on a real server raw subscribers get those bytes,
 * a `complete` from the client still stops its stream, and the connection stays usable.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { stringifyMessage, MessageType } from 'graphql-ws';
import { NextFrames } from '../src/app/ws-next-frame';
import { startTestServer, type TestServer } from './helpers/test-server';
import { insertRun } from './helpers/seed';
import { appendEvents, finishRun, range } from './helpers/live';

/** ws' own framing of a server's (unmasked, uncompressed, final) text message: the oracle. */
interface SenderStatic {
  frame(data: Buffer, options: Record<string, unknown>): Buffer[];
}
const { Sender } = WebSocket as unknown as { Sender: SenderStatic };
const wsFrame = (text: string) =>
  Buffer.concat(
    Sender.frame(Buffer.from(text), {
      fin: true,
      opcode: 1,
      mask: false,
      readOnly: false,
      rsv1: false,
    }),
  );
const graphqlWsNext = (id: string, payload: object) =>
  stringifyMessage({ id, type: MessageType.Next, payload });

describe('ws next frames', () => {
  it('are the bytes graphql-ws would serialise and ws would frame, at every header size', () => {
    const frames = new NextFrames();
    const sizes = [0, 60, 200, 70_000]; // 7-bit, 16-bit and 64-bit frame lengths
    for (const size of sizes) {
      const payload = {
        data: { runEvents: { seq: 7, type: 'LOG', payload: { text: 'é"\\\n'.repeat(size) } } },
      };
      for (const id of ['1', 'a0b1c2d3-e4f5-4a6b-8c7d-9e0f1a2b3c4d', 'quote"and\\slash', 'ü']) {
        const expected = wsFrame(graphqlWsNext(id, payload));
        assert.deepEqual(frames.frame(id, payload), expected, `size ${size}, id ${id}`);
      }
    }
    const withErrors = { data: null, errors: [{ message: 'no', extensions: { code: 'X' } }] };
    assert.deepEqual(frames.frame('9', withErrors), wsFrame(graphqlWsNext('9', withErrors)));
  });

  it('serialise a payload once: the same id gets the same Buffer, others only their own id', () => {
    const frames = new NextFrames();
    let serialised = 0;
    const payload = {
      data: {
        runEvents: {
          get seq() {
            serialised += 1;
            return 3;
          },
        },
      },
    };
    const first = frames.frame('1', payload);
    assert.equal(frames.frame('1', payload), first, 'the same frame object for the same id');
    const other = frames.frame('2', payload);
    assert.deepEqual(other, wsFrame(graphqlWsNext('2', { data: { runEvents: { seq: 3 } } })));
    assert.equal(serialised, 1, 'the payload was serialised once for both ids');
  });
});

describe('ws next frames on a real server', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer();
  });
  after(async () => {
    await t.close();
  });

  /** A raw graphql-transport-ws connection that keeps every message's text. */
  async function rawSubscriber(runId: string) {
    const socket = new WebSocket(t.url.replace(/^http/, 'ws') + '/graphql', 'graphql-transport-ws');
    const texts: string[] = [];
    const waiters: (() => void)[] = [];
    socket.on('message', (data: Buffer, isBinary: boolean) => {
      assert.equal(isBinary, false, 'a text frame');
      texts.push(data.toString());
      for (const w of waiters.splice(0)) w();
    });
    await new Promise((resolve) => socket.once('open', resolve));
    const until = async (ok: () => boolean) => {
      while (!ok()) await new Promise<void>((resolve) => waiters.push(resolve));
    };
    socket.send(
      JSON.stringify({
        type: 'connection_init',
        payload: { Authorization: `Bearer ${t.keys.read}` },
      }),
    );
    await until(() => texts.some((x) => x.includes('connection_ack')));
    socket.send(
      JSON.stringify({
        id: '1',
        type: 'subscribe',
        payload: {
          query: 'subscription($runId: ID!) { runEvents(runId: $runId) { seq type payload } }',
          variables: { runId },
        },
      }),
    );
    const nexts = () => texts.filter((x) => (JSON.parse(x) as { type: string }).type === 'next');
    return { socket, texts, nexts, until };
  }

  it('sends every subscriber the bytes graphql-ws would, and honours complete', async () => {
    const run = await insertRun(t, { stage: 'RL', status: 'RUNNING' });
    const a = await rawSubscriber(run.id);
    const b = await rawSubscriber(run.id);
    await appendEvents(t, run, [1, 2]);
    await a.until(() => a.nexts().length === 2);
    await b.until(() => b.nexts().length === 2);
    assert.deepEqual(a.nexts(), b.nexts(), 'both subscribers got the same bytes');
    for (const text of a.nexts()) {
      const message = JSON.parse(text) as { id: string; payload: object };
      assert.equal(text, graphqlWsNext(message.id, message.payload));
    }
    assert.deepEqual(
      a
        .nexts()
        .map(
          (x) =>
            (JSON.parse(x) as { payload: { data: { runEvents: { seq: number } } } }).payload.data
              .runEvents.seq,
        ),
      [1, 2],
    );

    // a completes its subscription; b goes on to the end of the run.
    a.socket.send(JSON.stringify({ id: '1', type: 'complete' }));
    a.socket.send(JSON.stringify({ type: 'ping' }));
    await a.until(() => a.texts.some((x) => x.includes('"pong"')));
    await appendEvents(t, run, [3, 4]);
    await finishRun(t, run, 5, 'SUCCEEDED');
    await b.until(() => b.texts.some((x) => x.includes('"complete"')));
    const seqs = (texts: string[]) =>
      texts.map(
        (x) =>
          (JSON.parse(x) as { payload: { data: { runEvents: { seq: number } } } }).payload.data
            .runEvents.seq,
      );
    assert.deepEqual(seqs(b.nexts()), range(1, 5));
    // The pong came after the complete was handled, and b has had everything since: a got
    // nothing after its complete (graphql-ws sends no `complete` for a client's own complete).
    assert.deepEqual(seqs(a.nexts()), [1, 2]);
    assert.ok(!a.texts.some((x) => x.includes('"complete"')));
    assert.equal(a.socket.readyState, WebSocket.OPEN, 'the connection stays open');
    a.socket.close();
    b.socket.close();
  });
});
