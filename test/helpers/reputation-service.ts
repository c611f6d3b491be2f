/**
 * A reputation source for tests: a real HTTP server on 127.0.0.1 whose answer the test
 * chooses per request, with the log of what it was asked (the caller's number, decoded) and
 * requests it holds unanswered until the test lets them go.
 */
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { until } from './patience';

export interface Reply {
  readonly status?: number;
  readonly body: string;
  /** Left unanswered until `release()`. */
  readonly hold?: boolean;
}

export interface ReputationService {
  /** `http://127.0.0.1:<port>/score/{number}`. */
  readonly url: string;
  /** The numbers asked for, in order. */
  readonly asked: string[];
  /** What the next requests get; by default `{"score": 50}`. */
  answer: (number: string) => Reply;
  /** Answers every held request (with what `answer` says now). */
  release(): void;
  /** How many requests are held. */
  readonly holding: number;
  /** Waits until the service has been asked `count` times in all. */
  askedTimes(count: number): Promise<void>;
  close(): Promise<void>;
}

export async function startReputationService(): Promise<ReputationService> {
  const held: (() => void)[] = [];
  const asked: string[] = [];
  const service: ReputationService = {
    url: '',
    asked,
    answer: () => ({ body: '{"score": 50}' }),
    release: () => {
      for (const reply of held.splice(0)) reply();
    },
    get holding() {
      return held.length;
    },
    askedTimes: (count) => until(() => asked.length >= count, `the reputation service to be asked ${count} times (asked ${asked.length})`),
    close: async () => {
      service.release();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const server: Server = createServer((request, response) => {
    const number = decodeURIComponent((request.url ?? '').replace(/^\/score\//, ''));
    asked.push(number);
    const first = service.answer(number);
    const reply = () => {
      // A held request gets what the service answers when it is let go.
      const { status = 200, body } = first.hold ? service.answer(number) : first;
      if (!response.destroyed) response.writeHead(status).end(body);
    };
    if (first.hold) held.push(reply);
    else reply();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return Object.assign(service, { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/score/{number}` });
}
