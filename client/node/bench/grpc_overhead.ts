// What grpc-js itself costs a Node client: a unary call per batch against a
// message per batch on one open bidirectional stream, both against a
// grpc-js echo server in a child process (no avesd, no database).
//   node dist/bench/grpc_overhead.js [SECONDS=4]
// Prints, per mode, calls (or messages) per second and the client's CPU per
// call and per item (32 items of 60 bytes out, 400 bytes back, 2 in flight).
import * as grpc from '@grpc/grpc-js';
import {fork} from 'node:child_process';

const identity = (b: Buffer) => b;
const unary = {
  path: '/bench.Echo/Unary',
  requestStream: false,
  responseStream: false,
  requestSerialize: identity,
  requestDeserialize: identity,
  responseSerialize: identity,
  responseDeserialize: identity,
};
const bidi = {
  ...unary,
  path: '/bench.Echo/Bidi',
  requestStream: true,
  responseStream: true
};
const kItems = 32;
const request = Buffer.alloc(kItems * 60, 97);
const answer = Buffer.alloc(kItems * 400, 120);

function serve(): void {
  const server = new grpc.Server();
  server.addService({Unary: unary, Bidi: bidi} as grpc.ServiceDefinition, {
    Unary: (_call: unknown, callback: grpc.sendUnaryData<Buffer>) =>
        callback(null, answer),
    Bidi: (call: grpc.ServerDuplexStream<Buffer, Buffer>) => {
      call.on('data', () => call.write(answer));
      call.on('end', () => call.end());
    },
  });
  server.bindAsync(
      '127.0.0.1:0', grpc.ServerCredentials.createInsecure(),
      (_error, port) => process.send!(port));
}

async function measure(
    address: string, mode: 'unary'|'unary_no_deadline'|'bidi',
    seconds: number) {
  const client = new grpc.Client(address, grpc.credentials.createInsecure());
  let done = 0;
  let stop = false;
  let one: () => Promise<void>;
  let stream: grpc.ClientDuplexStream<Buffer, Buffer>|undefined;
  if (mode === 'bidi') {
    stream = client.makeBidiStreamRequest(
        bidi.path, identity, identity, new grpc.Metadata(), {});
    const waiting: (() => void)[] = [];
    stream.on('data', () => waiting.shift()!());
    stream.on('error', () => undefined);
    one = () => new Promise<void>(
        (resolve) => (waiting.push(resolve), stream!.write(request)));
  } else {
    one = () => new Promise<void>(
        (resolve) => client.makeUnaryRequest(
            unary.path,
            identity,
            identity,
            request,
            new grpc.Metadata(),
            mode === 'unary' ? {deadline: Date.now() + 10_000} : {},
            () => resolve(),
            ),
    );
  }
  const loops = [0, 1].map(async () => {
    while (!stop) {
      await one();
      done++;
    }
  });
  await new Promise((r) => setTimeout(r, 1000));
  done = 0;
  const cpu = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const used = process.cpuUsage(cpu);
  const elapsed = Number(process.hrtime.bigint() - t0) / 1e9;
  const calls = done;
  stop = true;
  await Promise.all(loops);
  stream?.end();
  client.close();
  const perCall = (used.user + used.system) / calls;
  return {
    mode,
    per_second: calls / elapsed,
    cpu_us_per_call: perCall,
    cpu_us_per_item: perCall / kItems
  };
}

async function main() {
  if (process.argv[2] === '--serve') return serve();
  const seconds = Number(process.argv[2] ?? 4);
  const child = fork(__filename, ['--serve']);
  const port = await new Promise<number>(
      (resolve) => child.once('message', (m) => resolve(Number(m))));
  try {
    for (const mode of ['unary', 'unary_no_deadline', 'bidi'] as const) {
      console.log(
          JSON.stringify(await measure(`127.0.0.1:${port}`, mode, seconds)));
    }
  } finally {
    child.kill();
  }
}

void main();
