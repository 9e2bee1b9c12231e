import { createAfterAckGate } from '../../src/platform/slack/afterAck';

const turn = () => new Promise<void>((r) => setImmediate(r));

it('lets follow-ups start in arrival order, at most perTurn per event-loop turn', async () => {
  const gate = createAfterAckGate(3);
  const started: number[] = [];
  const all = Array.from({ length: 8 }, (_, i) => gate().then(() => started.push(i)));
  expect(gate.waiting()).toBe(8);
  expect(started).toEqual([]);
  await turn();
  expect(started).toEqual([0, 1, 2]);
  await turn();
  expect(started).toEqual([0, 1, 2, 3, 4, 5]);
  await Promise.all(all);
  expect(started).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  expect(gate.waiting()).toBe(0);
});

it('without a backlog, a follow-up waits one turn only, and the gate is reusable', async () => {
  const gate = createAfterAckGate(3);
  for (let round = 0; round < 3; round++) {
    let done = false;
    const p = gate().then(() => {
      done = true;
    });
    expect(done).toBe(false);
    await turn();
    await p;
    expect(done).toBe(true);
  }
});

it('lets incoming work that arrives between turns run before the backlog drains', async () => {
  const gate = createAfterAckGate(2);
  const order: string[] = [];
  const followUps = Array.from({ length: 6 }, (_, i) => gate().then(() => order.push(`follow-up ${i}`)));
  // An "incoming request" scheduled like I/O after the first turn: it runs between drains.
  setImmediate(() => setImmediate(() => order.push('ack')));
  await Promise.all(followUps);
  expect(order.indexOf('ack')).toBeGreaterThan(0);
  expect(order.indexOf('ack')).toBeLessThan(order.length - 1);
});
