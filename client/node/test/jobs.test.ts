// jobs: the calls, and watch as an async iterator that takes a fresh
// snapshot after avesd's job feed restarts.
import assert from 'node:assert/strict';
import {after, before, describe, test} from 'node:test';
import {type AvesClient, type Job, type JobEvent, JobStatus} from '../src';
import {client, database} from './support';

let aves: AvesClient;
before(() => {
  aves = client();
});
after(() => aves.close());

/** Reads events until `wanted` matches one (bounded: must not hang). */
async function until(
    events: AsyncIterator<JobEvent>,
    wanted: (e: JobEvent) => boolean,
    seen: JobEvent[] = [],
    ): Promise<JobEvent[]> {
  const timeout = new Promise<never>(
      (_, reject) =>
          setTimeout(
              () => reject(new Error(`no matching event in 15 s; saw ${
                  JSON.stringify(seen.map((e) => e.type))}`)),
              15_000)
              .unref(),
  );
  for (;;) {
    const next = await Promise.race([events.next(), timeout]);
    if (next.done) throw new Error('the watch ended');
    seen.push(next.value);
    if (wanted(next.value)) return seen;
  }
}

describe('jobs', () => {
  test(
      'create, progress, errors and lists, with bigint counts, Dates and parsed metadata',
      async () => {
        const job = await aves.jobs.create({
          jobType: 'ai_annotation',
          totalItems: 10,
          metadata: {model: 'claude', n: 1}
        });
        assert.equal(job.status, JobStatus.JOB_STATUS_PENDING);
        assert.equal(job.totalItems, 10n);
        assert.deepEqual(job.metadata, {model: 'claude', n: 1});
        assert.equal(job.createdBy, 'node-admin');
        assert.ok(job.createdAt instanceof Date);
        assert.equal(job.startedAt, undefined);

        const moved = await aves.jobs.updateProgress({
          id: job.id,
          status: JobStatus.JOB_STATUS_PROCESSING,
          processedItemsDelta: 4,
          failedItemsDelta: 1n,
        });
        assert.equal(moved.processedItems, 4n);
        assert.equal(moved.failedItems, 1n);
        assert.ok(moved.startedAt instanceof Date);

        assert.equal(
            await aves.jobs.appendErrors(
                job.id,
                [
                  {itemIndex: 3, errorMessage: 'no bird in the picture'},
                  {itemId: 'img-7', errorMessage: 'blurred'},
                ]),
            2n,
        );
        const errors = await aves.jobs.listErrors(job.id, {pageSize: 1});
        assert.equal(errors.items.length, 1);
        assert.ok(errors.nextPageToken);
        const more = await aves.jobs.listErrors(
            job.id, {pageToken: errors.nextPageToken});
        const all = [...errors.items, ...more.items];
        assert.deepEqual(
            all.map((e) => e.errorMessage).sort(),
            ['blurred', 'no bird in the picture']);
        assert.equal(
            all.find((e) => e.itemId === 'img-7')?.itemIndex, undefined);
        assert.equal(all.find((e) => e.itemIndex === 3n)?.itemId, undefined);

        assert.equal((await aves.jobs.get(job.id)).processedItems, 4n);
        const listed = await aves.jobs.list({
          statuses: [JobStatus.JOB_STATUS_PROCESSING],
          jobType: 'ai_annotation'
        });
        assert.ok(listed.items.some((j: Job) => j.id === job.id));
        const pending =
            await aves.jobs.list({statuses: [JobStatus.JOB_STATUS_PENDING]});
        assert.ok(!pending.items.some((j: Job) => j.id === job.id));
      });

  test(
      'watch: a snapshot, live changes, and a fresh snapshot after the feed restarts',
      async () => {
        const job =
            await aves.jobs.create({jobType: 'watched', totalItems: 100});
        const controller = new AbortController();
        const events = aves.jobs.watch(
            {jobType: 'watched'},
            {signal: controller.signal})[Symbol.asyncIterator]();
        const snapshot =
            await until(events, (e) => e.type === 'snapshot_complete');
        assert.ok(
            snapshot.some((e) => e.type === 'snapshot' && e.job.id === job.id));

        await aves.jobs.updateProgress({
          id: job.id,
          status: JobStatus.JOB_STATUS_PROCESSING,
          processedItemsDelta: 25
        });
        await until(
            events,
            (e) => e.type === 'updated' && e.job.id === job.id &&
                e.job.processedItems === 25n);

        // Cut avesd's listening connection: its watchers end with UNAVAILABLE.
        const pg = await database();
        try {
          const cut = await pg.query(
              // pg_stat_activity is the cluster's: other tests' avesds have
              // theirs.
              'SELECT pg_terminate_backend(pid) FROM pg_stat_activity ' +
                  'WHERE application_name = \'avesd job feed\' AND datname = current_database()',
          );
          assert.equal(cut.rowCount, 1);
        } finally {
          await pg.end();
        }
        const seen = await until(events, (e) => e.type === 'restarted');
        const restarted =
            seen[seen.length - 1] as Extract<JobEvent, {type: 'restarted'}>;
        assert.equal(restarted.error.codeName, 'UNAVAILABLE');
        const again =
            await until(events, (e) => e.type === 'snapshot_complete');
        const fresh =
            again.find((e) => e.type === 'snapshot' && e.job.id === job.id);
        assert.ok(
            fresh && fresh.type === 'snapshot' &&
            fresh.job.processedItems === 25n);

        await aves.jobs.updateProgress({id: job.id, processedItemsDelta: 5});
        await until(
            events,
            (e) => e.type === 'updated' && e.job.id === job.id &&
                e.job.processedItems === 30n);

        controller.abort();
        assert.equal(
            (await events.next()).done, true, 'abort ends the iteration');
      });

  test('breaking out of for-await ends the server\'s stream', async () => {
    const job = await aves.jobs.create({jobType: 'short_watch'});
    let seen = 0;
    for await (const event of aves.jobs.watch({jobType: 'short_watch'})) {
      if (event.type === 'snapshot') {
        assert.equal(event.job.id, job.id);
        seen++;
        break;
      }
    }
    assert.equal(seen, 1);
  });
});
