// What the package's tests share: the avesd the harness started
// (tests/integration/client/node_client_pgtest.cc), tokens of each role,
// the test's own database, the server's RPC counters, a TCP proxy to cut.
import {randomUUID} from 'node:crypto';
import * as net from 'node:net';
import {Client as PgClient} from 'pg';
import {AvesClient, type AvesClientOptions} from '../src';

function required(name: string): string {
  const value = process.env[name];
  if (!value)
    throw new Error(`${
        name} is not set: run these tests through ctest (node_client_pgtest)`);
  return value;
}

export const address = () => required('AVES_ADDRESS');
export const token = (role: string) => required(`AVES_TEST_TOKEN_${role}`);

/** A client of the test's avesd as `role` (admin by default). */
export function client(
    options: Partial<AvesClientOptions>&{role?: string} = {}): AvesClient {
  const {role, ...rest} = options;
  return new AvesClient(
      {address: address(), token: token(role ?? 'admin'), ...rest});
}

/** A connection to the test's own database, for setting up and checking. */
export async function database(): Promise<PgClient> {
  const pg =
      new PgClient({connectionString: required('AVES_TEST_DATABASE_URL')});
  await pg.connect();
  return pg;
}

export const uuid = () => randomUUID();

/**
 * grpc_server_started_total of `method` (e.g. "BatchGetExercises") at avesd.
 */
export async function rpcsStarted(method: string): Promise<number> {
  const response =
      await fetch(`http://${required('AVES_HTTP_ADDRESS')}/metrics`, {
        headers: {authorization: `Bearer ${token('operator')}`},
      });
  if (!response.ok) throw new Error(`/metrics answered ${response.status}`);
  let total = 0;
  for (const line of (await response.text()).split('\n')) {
    if (line.startsWith('grpc_server_started_total{') &&
        line.includes(`grpc_method="${method}"`)) {
      total += Number(line.slice(line.lastIndexOf(' ') + 1));
    }
  }
  return total;
}

/**
 * A TCP proxy in front of avesd: `refuseNext` connections are closed at once
 * (a peer gone), `cut()` drops every open connection (a dropped link).
 */
export class Proxy {
  private readonly server: net.Server;
  private readonly open = new Set<net.Socket>();
  refuseNext = 0;
  connections = 0;

  private constructor(target: {host: string; port: number}) {
    this.server = net.createServer((socket) => {
      this.connections++;
      if (this.refuseNext > 0) {
        this.refuseNext--;
        socket.destroy();
        return;
      }
      const upstream = net.connect(target);
      this.open.add(socket);
      this.open.add(upstream);
      const close = () => {
        socket.destroy();
        upstream.destroy();
        this.open.delete(socket);
        this.open.delete(upstream);
      };
      socket.on('error', close).on('close', close);
      upstream.on('error', close).on('close', close);
      socket.pipe(upstream).pipe(socket);
    });
  }

  static async start(): Promise<Proxy> {
    const [host, port] = address().split(/:(?=\d+$)/);
    const proxy = new Proxy({host, port: Number(port)});
    await new Promise<void>(
        (resolve) => proxy.server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  get address(): string {
    return `127.0.0.1:${(this.server.address() as net.AddressInfo).port}`;
  }

  cut(): void {
    for (const socket of this.open) socket.destroy();
    this.open.clear();
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** grpc-js reconnects fast in tests (its default first back-off is 1 s). */
export const fastReconnect = {
  'grpc.initial_reconnect_backoff_ms': 50,
  'grpc.max_reconnect_backoff_ms': 200,
};
