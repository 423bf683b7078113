// One phase of `avesbench node-lookup` (bench/node_lookup_bench.cc runs it
// once per phase and round, and prints the table): `clients` concurrent
// lookup loops in this Node process for `seconds`, after a one-second
// warm-up, printing one JSON line: lookups/s, p50/p99 ms, errors, this
// process's CPU per lookup, and (cached) the server cache's hit rate.
//   node lookup.js PHASE ADDRESS DATABASE_URL KEYS_FILE SQL_FILE CLIENTS
//   SECONDS
// PHASE: pg (node-postgres Pool, max 20, named prepared statement: what a
// backend does alone), single (AvesClient, one GetExercise per get),
// coalesced (AvesClient's coalescing), cached (coalescing, Zipf keys, an
// avesd with its cache on).
import {readFileSync} from 'node:fs';
import {Pool} from 'pg';
import {AvesClient, type ExerciseKey} from '../src';

const [phase, address, databaseUrl, keysFile, sqlFile, clientsText, secondsText] =
    process.argv.slice(2);
const clients = Number(clientsText);
const seconds = Number(secondsText);

// Keys as TSV (user_id, exercise_type, difficulty_level), in Zipf rank order.
const keys: ExerciseKey[] =
    readFileSync(keysFile, 'utf8')
        .split('\n')
        .filter((line) => line.length > 0)
        .map((line) => {
          const [userId, exerciseType, level] = line.split('\t');
          return {userId, exerciseType, difficultyLevel: Number(level)};
        });

const uniform = () => keys[Math.floor(Math.random() * keys.length)];
// Zipf, s = 1.0: rank r with weight 1 / (r + 1), as the C++ phases draw.
const cumulative = new Float64Array(keys.length);
{
  let total = 0;
  for (let r = 0; r < keys.length; ++r) cumulative[r] = total += 1 / (r + 1);
  for (let r = 0; r < keys.length; ++r) cumulative[r] /= total;
}
function zipf(): ExerciseKey {
  const u = Math.random();
  let lo = 0;
  let hi = keys.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (cumulative[mid] < u)
      lo = mid + 1;
    else
      hi = mid;
  }
  return keys[lo];
}

type Lookup = (key: ExerciseKey) => Promise<unknown>;

async function measure(lookup: Lookup, pick: () => ExerciseKey) {
  let recording = false;
  let stop = false;
  const latencies: number[] = [];
  let errors = 0;
  const loop = async () => {
    while (!stop) {
      const started = process.hrtime.bigint();
      try {
        await lookup(pick());
        if (recording)
          latencies.push(Number(process.hrtime.bigint() - started) / 1e6);
      } catch {
        if (recording) errors++;
      }
    }
  };
  const loops = Array.from({length: clients}, loop);
  await new Promise((r) => setTimeout(r, 1000));  // warm-up
  recording = true;
  const cpu = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  recording = false;
  const elapsed = Number(process.hrtime.bigint() - t0) / 1e9;
  const used = process.cpuUsage(cpu);
  const lookups = latencies.length;
  stop = true;
  await Promise.all(loops);
  latencies.sort((a, b) => a - b);
  const at = (q: number) =>
      (lookups ? latencies[Math.min(lookups - 1, Math.floor(q * lookups))] : 0);
  return {
    rps: lookups / elapsed,
    p50_ms: at(0.5),
    p99_ms: at(0.99),
    errors,
    cpu_us_per_lookup: lookups ? (used.user + used.system) / lookups : 0,
  };
}

async function main() {
  if (phase === 'pg') {
    const sql = readFileSync(sqlFile, 'utf8');
    const pool = new Pool({connectionString: databaseUrl, max: 20});
    const result = await measure(
        (k) => pool.query({
          name: 'lookup_exercise',
          text: sql,
          values: [k.userId, k.exerciseType, k.difficultyLevel]
        }),
        uniform,
    );
    await pool.end();
    return result;
  }
  const aves =
      new AvesClient({address, coalescing: {enabled: phase !== 'single'}});
  try {
    const before =
        phase === 'cached' ? await aves.admin.cacheStats() : undefined;
    const result = await measure(
        (k) => aves.cache.get(k), phase === 'cached' ? zipf : uniform);
    if (!before) return {...result, rpcs: aves.cache.coalescerStats.rpcs};
    const after = await aves.admin.cacheStats();
    const hits = Number(
        after.hits - before.hits + after.negativeHits - before.negativeHits);
    const misses = Number(after.misses - before.misses);
    return {
      ...result,
      hit_rate: hits + misses > 0 ? hits / (hits + misses) : 0
    };
  } finally {
    aves.close();
  }
}

main().then(
    (result) => console.log(JSON.stringify(result)),
    (error) => {
      console.error(error);
      process.exit(1);
    },
);
