/**
 * A local webhook receiver that injects real faults: a scenario plans, per batch partition, what the next
 * requests get (an HTTP 500, a connection reset, an answer slower than the caller's timeout) and the receiver
 * counts the faults it actually injected and the summaries it accepted, by run id.
 */
import http from 'node:http';

/** `http500`: answers 500; `reset`: reads the request and destroys the socket unanswered; `slow`: waits `slowMs`. */
export type WebhookFault = 'http500' | 'reset' | 'slow';

export interface RunDeliveries {
  /** Requests that carried this run's summary. */
  requests: number;
  /** Requests answered 200 (the summary was accepted). */
  delivered: number;
  /** Faults that took effect: a 500 written, a socket reset, a caller that gave up before the slow answer. */
  injected: Record<WebhookFault, number>;
  /** When the first request and the first accepted one arrived (ms since epoch). */
  firstAt?: number;
  deliveredAt?: number;
}

interface Plan {
  steps: WebhookFault[];
  /** What every request after the planned steps gets. */
  then: 'ok' | 'http500';
}

export class WebhookReceiver {
  /** Longer than the webhook activity's 10 s fetch timeout (activities/notify.ts), so a `slow` answer is too late. */
  slowMs = 12_000;
  readonly runs = new Map<string, RunDeliveries>();
  private readonly plans = new Map<string, Plan>();
  private readonly timers = new Set<NodeJS.Timeout>();
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

  /** Plans the answers for runs whose partition starts on `fromDay` (YYYY-MM-DD); unplanned runs get 200. */
  plan(fromDay: string, steps: WebhookFault[], then: Plan['then'] = 'ok'): void {
    this.plans.set(fromDay, { steps: [...steps], then });
  }

  deliveries(runId: string): RunDeliveries {
    return this.runs.get(runId) ?? { requests: 0, delivered: 0, injected: { http500: 0, reset: 0, slow: 0 } };
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      let summary: { runId?: string; partition?: { from?: string } } = {};
      try {
        summary = JSON.parse(body) as typeof summary;
      } catch {
        // counted under "(unreadable)" below: a body that is not a summary is itself a finding
      }
      const run = this.deliveries(summary.runId ?? '(unreadable)');
      this.runs.set(summary.runId ?? '(unreadable)', run);
      run.requests += 1;
      run.firstAt ??= Date.now();
      const accept = () => {
        run.delivered += 1;
        run.deliveredAt ??= Date.now();
        res.writeHead(200).end('ok');
      };
      const plan = this.plans.get(summary.partition?.from?.slice(0, 10) ?? '');
      const step = plan?.steps.shift() ?? (plan?.then === 'http500' ? 'http500' : undefined);
      if (step === 'http500') {
        run.injected.http500 += 1;
        res.writeHead(500).end('injected failure');
      } else if (step === 'reset') {
        run.injected.reset += 1;
        req.socket.destroy();
      } else if (step === 'slow') {
        let answered = false;
        // The caller closing the connection before the answer is the injected timeout; if it waited, it is not.
        res.on('close', () => {
          if (!answered) run.injected.slow += 1;
          answered = true;
        });
        const timer = setTimeout(() => {
          this.timers.delete(timer);
          if (answered) return;
          answered = true;
          accept();
        }, this.slowMs);
        this.timers.add(timer);
      } else {
        accept();
      }
    });
  }

  close(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
