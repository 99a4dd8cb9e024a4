/** A local webhook receiver whose behaviour a scenario sets: answer at once, fail first, or answer slowly. */
import http from 'node:http';

/** `failures` requests answer 503 first; every later one answers 200 after `delayMs`. */
export interface WebhookMode {
  failures: number;
  delayMs: number;
}

export class WebhookReceiver {
  mode: WebhookMode = { failures: 0, delayMs: 0 };
  attempts = 0;
  delivered: unknown[] = [];
  private failuresLeft = 0;
  private constructor(
    private readonly server: http.Server,
    readonly url: string,
  ) {}

  static async start(port: number): Promise<WebhookReceiver> {
    const server = http.createServer();
    const receiver = new WebhookReceiver(server, `http://127.0.0.1:${port}/hook`);
    server.on('request', (req, res) => receiver.handle(req, res));
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    return receiver;
  }

  setMode(mode: WebhookMode): void {
    this.mode = mode;
    this.failuresLeft = mode.failures;
    this.attempts = 0;
    this.delivered = [];
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      this.attempts += 1;
      if (this.failuresLeft > 0) {
        this.failuresLeft -= 1;
        res.writeHead(503).end('try later');
        return;
      }
      const answer = () => {
        this.delivered.push(JSON.parse(body || 'null') as unknown);
        res.writeHead(200).end('ok');
      };
      setTimeout(answer, this.mode.delayMs);
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
