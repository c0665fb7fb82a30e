import { createServer, type Server, type Socket, connect } from 'node:net';

/**
 * A transparent TCP proxy in front of PostgreSQL that counts client round trips: every simple
 * query ('Q') and every extended-protocol Sync ('S') is one request the client waits on. Used to
 * verify the number of round trips an audited mutation costs.
 */
export class PgRoundTripCounter {
  queries = 0;
  syncs = 0;
  private server?: Server;
  private readonly sockets = new Set<Socket>();

  constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  get roundTrips(): number {
    return this.queries + this.syncs;
  }

  reset(): void {
    this.queries = 0;
    this.syncs = 0;
  }

  async listen(): Promise<number> {
    this.server = createServer((client) => this.handle(client));
    await new Promise<void>((r) => this.server?.listen(0, '127.0.0.1', () => r()));
    const address = this.server.address();
    return typeof address === 'object' && address ? address.port : 0;
  }

  private handle(client: Socket): void {
    const upstream = connect(this.targetPort, this.targetHost);
    this.sockets.add(client).add(upstream);
    let buffer = Buffer.alloc(0);
    let started = false;
    client.on('data', (chunk: Buffer) => {
      upstream.write(chunk);
      buffer = Buffer.concat([buffer, chunk]);
      for (;;) {
        if (!started) {
          if (buffer.length < 8) break;
          const len = buffer.readInt32BE(0);
          if (buffer.length < len) break;
          const code = buffer.readInt32BE(4);
          buffer = buffer.subarray(len);
          // SSLRequest / GSSENCRequest come before the real start-up message.
          if (code !== 80877103 && code !== 80877104) started = true;
          continue;
        }
        if (buffer.length < 5) break;
        const len = buffer.readInt32BE(1);
        if (buffer.length < len + 1) break;
        const type = String.fromCharCode(buffer[0]);
        if (type === 'Q') this.queries++;
        else if (type === 'S') this.syncs++;
        buffer = buffer.subarray(len + 1);
      }
    });
    upstream.on('data', (chunk: Buffer) => client.write(chunk));
    const close = (): void => {
      client.destroy();
      upstream.destroy();
      this.sockets.delete(client);
      this.sockets.delete(upstream);
    };
    client.on('close', close).on('error', close);
    upstream.on('close', close).on('error', close);
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}
