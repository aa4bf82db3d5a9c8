/**
 * A loopback HTTP proxy in front of a server, for injecting the failures an S3 client must survive:
 * the first N requests answered `503 SlowDown` (as S3 throttles), every request seen by a hook (to
 * kill the server mid-upload, say). Everything else is passed through byte for byte.
 */
import { createServer, request, type IncomingMessage, type Server } from 'node:http';

export class FlakyProxy {
  /** Requests answered 503 so far, and requests passed on. */
  slowDowns = 0;
  passed = 0;
  /** Answer this many of the coming requests 503 SlowDown. */
  failNext = 0;
  /** Told of every request before it is passed on or failed. */
  onRequest: ((req: IncomingMessage) => void) | null = null;

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  static start(target: string): Promise<FlakyProxy> {
    const to = new URL(target);
    let self: FlakyProxy | null = null;
    const server = createServer((req, res) => {
      const p = self as FlakyProxy;
      p.onRequest?.(req);
      if (p.failNext > 0) {
        p.failNext--;
        p.slowDowns++;
        req.resume();
        req.on('end', () => {
          res.writeHead(503, { 'content-type': 'application/xml' });
          res.end('<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>');
        });
        return;
      }
      p.passed++;
      const up = request({ host: to.hostname, port: to.port, method: req.method, path: req.url, headers: req.headers }, (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      });
      up.on('error', () => res.destroy());
      req.pipe(up);
    });
    return new Promise((resolve) => {
      server.listen(0, '127.0.0.1', () => {
        const a = server.address();
        self = new FlakyProxy(server, typeof a === 'object' && a !== null ? a.port : 0);
        resolve(self);
      });
    });
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
