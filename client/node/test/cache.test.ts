// cache: put/get, coalescing counted at the server, each caller's own
// deadline and abort, a bad key failing alone, retries of reads only.
import {status} from '@grpc/grpc-js';
import assert from 'node:assert/strict';
import {after, before, describe, test} from 'node:test';

import {AvesError, type AvesClient, type ExerciseKey} from '../src';
import {client, database, fastReconnect, Proxy, rpcsStarted, uuid} from './support';

let aves: AvesClient;
before(() => {
  aves = client();
});
after(() => aves.close());

const keyOf = (userId: string, difficultyLevel = 2): ExerciseKey => ({
  userId,
  exerciseType: 'visual_discrimination',
  difficultyLevel,
});

async function putMany(n: number): Promise<ExerciseKey[]> {
  const keys = Array.from({length: n}, () => keyOf(uuid()));
  await Promise.all(keys.map(
      (k, i) => aves.cache.put(
          {...k, exerciseData: {n: i, words: ['ave']}, ttlMs: 600_000})));
  return keys;
}

const rejectsWith = (promise: Promise<unknown>, code: status) =>
    assert.rejects(promise, (error: unknown) => {
      assert.ok(error instanceof AvesError, `not an AvesError: ${error}`);
      assert.equal(error.codeName, status[code], error.message);
      return true;
    });

describe('put and get', () => {
  test(
      'a put is read back with its JSON parsed and its times as Dates',
      async () => {
        const key = {...keyOf(uuid()), topic: 'birds'};
        const stored = await aves.cache.put({
          ...key,
          exerciseData: {q: '¿Qué ave?', big: 2 ** 53},
          ttlMs: 60_000
        });
        assert.deepEqual(stored.exerciseData, {q: '¿Qué ave?', big: 2 ** 53});
        assert.ok(stored.createdAt instanceof Date);
        assert.ok(stored.expiresAt instanceof Date);
        const ttl = stored.expiresAt!.getTime() - stored.createdAt.getTime();
        assert.ok(Math.abs(ttl - 60_000) < 1000, `ttl ${ttl} ms`);
        const found = await aves.cache.get(key);
        assert.equal(found?.id, stored.id);
        assert.equal(found?.topic, 'birds');
        assert.deepEqual(found?.exerciseData, stored.exerciseData);
        // Any topic matches an entry with one; another topic does not.
        assert.equal((await aves.cache.get(keyOf(key.userId)))?.id, stored.id);
        assert.equal(await aves.cache.get({...key, topic: 'fish'}), null);
      });

  test('a miss is null, for get and for getMany', async () => {
    assert.equal(await aves.cache.get(keyOf(uuid())), null);
    const [stored] = await putMany(1);
    const results =
        await aves.cache.getMany([keyOf(uuid()), stored, keyOf(uuid())]);
    assert.equal(results.length, 3);
    assert.equal(results[0], null);
    assert.equal(results[1]?.userId, stored.userId);
    assert.equal(results[2], null);
  });
});

describe('coalescing', () => {
  test(
      '64 concurrent gets become few RPCs, each caller getting its own entry',
      async () => {
        const keys = await putMany(64);
        const before = (await rpcsStarted('BatchGetExercises')) +
            (await rpcsStarted('GetExercise'));
        const sent = aves.cache.coalescerStats.rpcs;
        const results = await Promise.all(keys.map((k) => aves.cache.get(k)));
        const rpcs = (await rpcsStarted('BatchGetExercises')) +
            (await rpcsStarted('GetExercise')) - before;
        results.forEach((r, i) => {
          assert.equal(r?.userId, keys[i].userId);
          assert.deepEqual(r?.exerciseData, {n: i, words: ['ave']});
        });
        assert.ok(rpcs >= 1 && rpcs <= 2, `${rpcs} RPCs for 64 gets`);
        assert.equal(aves.cache.coalescerStats.rpcs - sent, rpcs);
      });

  test(
      'duplicate keys are sent once and every caller gets its own copy',
      async () => {
        const [key] = await putMany(1);
        const others = Array.from({length: 5}, () => keyOf(uuid()));
        const keysBefore = aves.cache.coalescerStats.keysSent;
        const results = await Promise.all(
            [...Array(10).fill(key), ...others].map((k) => aves.cache.get(k)));
        assert.equal(aves.cache.coalescerStats.keysSent - keysBefore, 6);
        for (const r of results.slice(0, 10))
          assert.equal(r?.userId, key.userId);
        (results[0]!.exerciseData as {n: number}).n = -1;
        assert.deepEqual(results[1]!.exerciseData, {n: 0, words: ['ave']});
      });

  test('without coalescing each get is one GetExercise', async () => {
    const single = client({coalescing: {enabled: false}});
    try {
      const keys = await putMany(8);
      const before = await rpcsStarted('GetExercise');
      const batches = await rpcsStarted('BatchGetExercises');
      const results = await Promise.all(keys.map((k) => single.cache.get(k)));
      assert.deepEqual(
          results.map((r) => r?.userId), keys.map((k) => k.userId));
      assert.equal((await rpcsStarted('GetExercise')) - before, 8);
      assert.equal(await rpcsStarted('BatchGetExercises'), batches);
    } finally {
      single.close();
    }
  });

  // Misses of fresh keys go to PostgreSQL; an exclusive lock there holds
  // their batch, so one caller's deadline or abort comes while it is out.
  async function withLookupsHeld<T>(body: () => Promise<T>): Promise<T> {
    const pg = await database();
    try {
      await pg.query('BEGIN');
      await pg.query('LOCK TABLE exercise_cache IN ACCESS EXCLUSIVE MODE');
      return await body();
    } finally {
      await pg.query('ROLLBACK');
      await pg.end();
    }
  }

  test('a short deadline fails its caller alone, at its deadline', async () => {
    const [stored] = await putMany(1);
    const fresh = keyOf(uuid());
    await withLookupsHeld(async () => {
      const patient = aves.cache.get(stored, {deadlineMs: 20_000});
      const neighbour = aves.cache.get(fresh, {deadlineMs: 20_000});
      const started = Date.now();
      const hasty = aves.cache.get(keyOf(uuid()), {deadlineMs: 300});
      await rejectsWith(hasty, status.DEADLINE_EXCEEDED);
      assert.ok(
          Date.now() - started < 5000,
          'answered at its deadline, not at the batch\'s end');
      let settled = false;
      void patient.finally(() => (settled = true));
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(settled, false, 'the others\' call goes on');
      return [patient, neighbour];
    }).then(async ([patient, neighbour]) => {
      // The lock is gone: the others' call completes with their answers.
      assert.equal((await patient)?.userId, stored.userId);
      assert.equal(await neighbour, null);
    });
  });

  test(
      'an aborted caller is told CANCELLED and the others still get their answers',
      async () => {
        const keys = await putMany(3);
        const controller = new AbortController();
        const results = await withLookupsHeld(async () => {
          const gets = keys.map(
              (k, i) => aves.cache.get(
                  k, i === 1 ? {signal: controller.signal} : {}));
          await new Promise((r) => setTimeout(r, 100));
          controller.abort(new Error('the learner left'));
          await rejectsWith(gets[1], status.CANCELLED);
          return [gets[0], gets[2]];
        });
        const [first, third] = await Promise.all(results);
        assert.equal(first?.userId, keys[0].userId);
        assert.equal(third?.userId, keys[2].userId);
      });

  test('a signal aborted before the get rejects it at once', async () => {
    await rejectsWith(
        aves.cache.get(keyOf(uuid()), {signal: AbortSignal.abort()}),
        status.CANCELLED);
  });

  test('a bad key fails only its own caller, naming its field', async () => {
    const keys = await putMany(3);
    const gets = [
      aves.cache.get(keys[0]),
      aves.cache.get({...keyOf('not-a-uuid')}),
      aves.cache.get(keys[1]),
      aves.cache.get({...keyOf(uuid(), 9)}),
      aves.cache.get(keys[2]),
    ];
    const settled = await Promise.allSettled(gets);
    for (const i of [0, 2, 4]) {
      assert.equal(settled[i].status, 'fulfilled');
    }
    const bad = settled[1] as PromiseRejectedResult;
    assert.ok(bad.reason instanceof AvesError);
    assert.equal(bad.reason.code, status.INVALID_ARGUMENT);
    assert.ok(
        bad.reason.violation('user_id'),
        JSON.stringify(bad.reason.fieldViolations));
    const level = settled[3] as PromiseRejectedResult;
    assert.ok(
        level.reason.violation('difficulty_level'),
        JSON.stringify(level.reason.fieldViolations));
  });
});

describe('retries', () => {
  test('reads are retried on UNAVAILABLE; writes never are', async () => {
    const proxy = await Proxy.start();
    const viaProxy =
        client({address: proxy.address, channelOptions: fastReconnect});
    const single = client({
      address: proxy.address,
      channelOptions: fastReconnect,
      coalescing: {enabled: false}
    });
    try {
      const [key] = await putMany(1);
      proxy.refuseNext = 2;
      assert.equal(
          (await viaProxy.cache.get(key, {deadlineMs: 10_000}))?.userId,
          key.userId);
      assert.ok(proxy.connections >= 3, `${proxy.connections} connections`);
      viaProxy.close();

      proxy.refuseNext = 1;
      const connections = proxy.connections;
      assert.equal(
          (await single.cache.get(key, {deadlineMs: 10_000}))?.userId,
          key.userId);
      assert.ok(proxy.connections >= connections + 2);
      single.close();

      const writer =
          client({address: proxy.address, channelOptions: fastReconnect});
      proxy.refuseNext = 1;
      const fresh = keyOf(uuid());
      await rejectsWith(
          writer.cache.put({...fresh, exerciseData: {}, ttlMs: 1000}),
          status.UNAVAILABLE);
      writer.close();
      assert.equal(
          await aves.cache.get(fresh), null,
          'the refused write was not sent again');
    } finally {
      viaProxy.close();
      single.close();
      await proxy.close();
    }
  });
});
